/* Tests of peer identities (core/secure/identity.h) and of the keygen
 * and id subcommands (cli/cmd_identity.c, compiled in directly): where
 * the key goes, the modes of the file and directory whatever the umask,
 * refusing to overwrite, refusing files others may read, every kind of
 * corrupt file, signatures, and the error lines for mistyped peer ids. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "identity.h"
#include "peerid.h"

#include "../../cli/keys.c"

static char base[256];     /* a fresh temporary directory per test */
static char err[8192];

static void fresh_base(void)
{
	char cmd[300];

	if (base[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
		if (system(cmd) != 0)
			check_fail(__FILE__, __LINE__, "cannot remove %s", base);
	}
	strcpy(base, "/tmp/ptcp-identity-XXXXXX");
	if (!mkdtemp(base))
		check_fail(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
}

static void path_of(char *buf, size_t cap, const char *rel)
{
	snprintf(buf, cap, "%s/%s", base, rel);
}

static unsigned mode_of(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return 0xffff;
	return st.st_mode & 07777;
}

static void write_file(const char *path, const char *text, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ(write(fd, text, n), n);
	fchmod(fd, mode);
	close(fd);
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, cap - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static bool contains(const char *s, const char *needle)
{
	if (!strstr(s, needle)) {
		fprintf(stderr, "  '%s' lacks '%s'\n", s, needle);
		return false;
	}
	return true;
}

static void test_default_dir(void)
{
	char buf[256];
	const char *old_home = getenv("HOME"), *old_xdg = getenv("XDG_CONFIG_HOME");
	char home[256] = "", xdg[256] = "";

	if (old_home)
		snprintf(home, sizeof(home), "%s", old_home);
	if (old_xdg)
		snprintf(xdg, sizeof(xdg), "%s", old_xdg);

	setenv("HOME", "/home/alice", 1);
	setenv("XDG_CONFIG_HOME", "/srv/conf", 1);
	CHECK_INT(ptcp_identity_default_dir(buf, sizeof(buf)), 0);
	CHECK(strcmp(buf, "/srv/conf/p2ptcp") == 0);
	/* relative: ignored, as the XDG spec asks */
	setenv("XDG_CONFIG_HOME", "conf", 1);
	CHECK_INT(ptcp_identity_default_dir(buf, sizeof(buf)), 0);
	CHECK(strcmp(buf, "/home/alice/.config/p2ptcp") == 0);
	unsetenv("XDG_CONFIG_HOME");
	CHECK_INT(ptcp_identity_default_dir(buf, sizeof(buf)), 0);
	CHECK(strcmp(buf, "/home/alice/.config/p2ptcp") == 0);
	CHECK_INT(ptcp_identity_default_dir(buf, 10), -ENAMETOOLONG);
	unsetenv("HOME");
	CHECK_INT(ptcp_identity_default_dir(buf, sizeof(buf)), -ENOENT);

	if (old_home)
		setenv("HOME", home, 1);
	if (old_xdg)
		setenv("XDG_CONFIG_HOME", xdg, 1);
}

static void test_save_modes_and_load(void)
{
	struct ptcp_identity id, back;
	char dir[300], file[350], text[1024], pid[PTCP_PEERID_TEXT_MAX];
	mode_t old = umask(0);   /* the modes must not depend on the umask */

	fresh_base();
	path_of(dir, sizeof(dir), "a/b/p2ptcp");
	CHECK_INT(ptcp_identity_generate(&id), 0);
	CHECK_INT(ptcp_identity_save(&id, dir, false, err, sizeof(err)), 0);
	snprintf(file, sizeof(file), "%s/private.key", dir);
	CHECK_EQ(mode_of(file), 0600);
	CHECK_EQ(mode_of(dir), 0700);
	path_of(text, sizeof(text), "a");
	CHECK_EQ(mode_of(text), 0700);
	umask(0777);
	CHECK_INT(ptcp_identity_save(&id, dir, true, err, sizeof(err)), 0);
	CHECK_EQ(mode_of(file), 0600);
	umask(old);

	/* the file holds the peer id as a comment and the seed */
	read_file(file, text, sizeof(text));
	ptcp_peerid_encode(pid, sizeof(pid), id.pk, NULL);
	CHECK(contains(text, pid));
	CHECK(contains(text, "\nseed "));
	/* no temporary file is left behind */
	snprintf(text, sizeof(text), "test $(ls -A '%s' | wc -l) -eq 1", dir);
	CHECK_INT(system(text), 0);

	CHECK_INT(ptcp_identity_load(&back, dir, err, sizeof(err)), 0);
	CHECK(memcmp(back.pk, id.pk, sizeof(id.pk)) == 0);
	CHECK(memcmp(back.sk, id.sk, sizeof(id.sk)) == 0);
	ptcp_identity_wipe(&back);
	for (size_t i = 0; i < sizeof(back.sk); i++)
		CHECK_EQ(back.sk[i], 0);
}

/* A directory that was there is the user's (keygen --dir ~): its mode
 * stays; only the key file is 0600. */
static void test_existing_dir_kept(void)
{
	struct ptcp_identity id;
	char dir[300], file[350];

	fresh_base();
	path_of(dir, sizeof(dir), "p2ptcp");
	CHECK_INT(mkdir(dir, 0755), 0);
	chmod(dir, 0755);
	CHECK_INT(ptcp_identity_generate(&id), 0);
	CHECK_INT(ptcp_identity_save(&id, dir, false, err, sizeof(err)), 0);
	CHECK_EQ(mode_of(dir), 0755);
	snprintf(file, sizeof(file), "%s/private.key", dir);
	CHECK_EQ(mode_of(file), 0600);
	CHECK_INT(chmod(dir, 0751), 0);
	CHECK_INT(ptcp_identity_save(&id, dir, true, err, sizeof(err)), 0);
	CHECK_EQ(mode_of(dir), 0751);
	CHECK_EQ(mode_of(file), 0600);
	/* a file where the directory should be */
	path_of(dir, sizeof(dir), "afile");
	write_file(dir, "x", 1, 0600);
	CHECK(ptcp_identity_save(&id, dir, false, err, sizeof(err)) < 0);
	CHECK(contains(err, "afile"));
}

static void test_refuse_overwrite(void)
{
	struct ptcp_identity a, b, back;
	char dir[300], file[350], before[1024], after[1024];

	fresh_base();
	path_of(dir, sizeof(dir), "p2ptcp");
	snprintf(file, sizeof(file), "%s/private.key", dir);
	CHECK_INT(ptcp_identity_generate(&a), 0);
	CHECK_INT(ptcp_identity_generate(&b), 0);
	CHECK(memcmp(a.pk, b.pk, 32) != 0);
	CHECK_INT(ptcp_identity_save(&a, dir, false, err, sizeof(err)), 0);
	read_file(file, before, sizeof(before));
	CHECK_INT(ptcp_identity_save(&b, dir, false, err, sizeof(err)), -EEXIST);
	CHECK(contains(err, file));
	CHECK(contains(err, "--force"));
	read_file(file, after, sizeof(after));
	CHECK(strcmp(before, after) == 0);
	CHECK_INT(ptcp_identity_load(&back, dir, err, sizeof(err)), 0);
	CHECK(memcmp(back.pk, a.pk, 32) == 0);

	CHECK_INT(ptcp_identity_save(&b, dir, true, err, sizeof(err)), 0);
	CHECK_INT(ptcp_identity_load(&back, dir, err, sizeof(err)), 0);
	CHECK(memcmp(back.pk, b.pk, 32) == 0);
	CHECK_EQ(mode_of(file), 0600);
}

static void test_missing(void)
{
	struct ptcp_identity id;
	char dir[300];

	fresh_base();
	path_of(dir, sizeof(dir), "nothing");
	memset(&id, 0x55, sizeof(id));
	CHECK_INT(ptcp_identity_load(&id, dir, err, sizeof(err)), -ENOENT);
	CHECK(contains(err, "p2ptcp keygen"));
	CHECK(contains(err, dir));
	for (size_t i = 0; i < sizeof(id.sk); i++)
		CHECK_EQ(id.sk[i], 0);
}

static void test_too_open(void)
{
	static const unsigned modes[] = { 0644, 0640, 0604, 0660, 0606, 0700 | 0004, 0620, 0602 };
	struct ptcp_identity id, back;
	char dir[300], file[350];

	fresh_base();
	path_of(dir, sizeof(dir), "p2ptcp");
	snprintf(file, sizeof(file), "%s/private.key", dir);
	CHECK_INT(ptcp_identity_generate(&id), 0);
	CHECK_INT(ptcp_identity_save(&id, dir, false, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		CHECK_INT(chmod(file, modes[i]), 0);
		CHECK_INT(ptcp_identity_load(&back, dir, err, sizeof(err)), -EPERM);
		CHECK(contains(err, "chmod 600"));
		CHECK(contains(err, file));
	}
	CHECK_INT(chmod(file, 0400), 0);
	CHECK_INT(ptcp_identity_load(&back, dir, err, sizeof(err)), 0);
}

static void test_corrupt(void)
{
	static const char good_seed[] =
		"seed 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
	static const struct {
		const char *text;
		const char *why;
	} cases[] = {
		{ "", "empty" },
		{ "# only a comment\n", "no 'seed'" },
		{ "seed 00010203\n", "64 hexadecimal" },
		{ "seed 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1\n", "64 hexadecimal" },
		{ "seed 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0\n", "64 hexadecimal" },
		{ "seed 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1eZZ\n", "not hexadecimal" },
		{ "SEED 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", "64 hexadecimal" },
		{ "seed 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
		  "seed 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", "more than one" },
		{ "-----BEGIN OPENSSH PRIVATE KEY-----\n", "64 hexadecimal" },
		{ "\x01\x02\x03\xff\xfe", "64 hexadecimal" },
	};
	struct ptcp_identity back, ref;
	char dir[300], file[350], text[5000];
	uint8_t seed[32];

	fresh_base();
	path_of(dir, sizeof(dir), "p2ptcp");
	CHECK_INT(mkdir(dir, 0700), 0);
	snprintf(file, sizeof(file), "%s/private.key", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file(file, cases[i].text, strlen(cases[i].text), 0600);
		err[0] = '\0';
		CHECK_INT(ptcp_identity_load(&back, dir, err, sizeof(err)), -EINVAL);
		CHECK(contains(err, "corrupt key file"));
		CHECK(contains(err, file));
		CHECK(contains(err, cases[i].why));
	}
	/* too long */
	memset(text, '#', sizeof(text));
	write_file(file, text, sizeof(text), 0600);
	CHECK_INT(ptcp_identity_load(&back, dir, err, sizeof(err)), -EINVAL);
	CHECK(contains(err, "longer than"));
	/* a directory where the file should be */
	unlink(file);
	CHECK_INT(mkdir(file, 0700), 0);
	CHECK_INT(ptcp_identity_load(&back, dir, err, sizeof(err)), -EINVAL);
	CHECK(contains(err, "not a regular file"));
	rmdir(file);

	/* the accepted variations: comments, blank lines, CRLF, upper-case hex */
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	CHECK_INT(ptcp_identity_from_seed(&ref, seed), 0);
	snprintf(text, sizeof(text), "# x\n\n%s  \r\n# y", good_seed);
	write_file(file, text, strlen(text), 0600);
	CHECK_INT(ptcp_identity_load(&back, dir, err, sizeof(err)), 0);
	CHECK(memcmp(back.pk, ref.pk, 32) == 0);
	snprintf(text, sizeof(text), "seed 000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
	write_file(file, text, strlen(text), 0600);
	CHECK_INT(ptcp_identity_load(&back, dir, err, sizeof(err)), 0);
	CHECK(memcmp(back.pk, ref.pk, 32) == 0);
}

/* RFC 8032 section 7.1, TEST 1: the empty message. */
static void test_rfc8032_vector(void)
{
	static const uint8_t sk[32] = {
		0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
		0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
	};
	static const uint8_t pk[32] = {
		0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
		0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
	};
	static const uint8_t sig_head[8] = { 0xe5, 0x56, 0x43, 0x00, 0xc3, 0x60, 0xac, 0x72 };
	struct ptcp_identity id;
	uint8_t sig[64];

	CHECK_INT(ptcp_identity_from_seed(&id, sk), 0);
	CHECK(memcmp(id.pk, pk, 32) == 0);
	CHECK_INT(ptcp_identity_sign(&id, (const uint8_t *)"", 0, sig), 0);
	CHECK(memcmp(sig, sig_head, 8) == 0);
	CHECK(ptcp_identity_verify(pk, (const uint8_t *)"", 0, sig));
}

static void test_sign_verify(void)
{
	struct ptcp_identity a, b;
	uint8_t msg[100], sig[64], bad_pk[32];

	CHECK_INT(ptcp_identity_generate(&a), 0);
	CHECK_INT(ptcp_identity_generate(&b), 0);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	CHECK_INT(ptcp_identity_sign(&a, msg, sizeof(msg), sig), 0);
	CHECK(ptcp_identity_verify(a.pk, msg, sizeof(msg), sig));
	CHECK(!ptcp_identity_verify(b.pk, msg, sizeof(msg), sig));
	CHECK(!ptcp_identity_verify(a.pk, msg, sizeof(msg) - 1, sig));
	for (size_t bit = 0; bit < 8 * sizeof(msg); bit += 37) {
		msg[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		CHECK(!ptcp_identity_verify(a.pk, msg, sizeof(msg), sig));
		msg[bit / 8] ^= (uint8_t)(1 << (bit % 8));
	}
	for (size_t bit = 0; bit < 512; bit += 29) {
		sig[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		CHECK(!ptcp_identity_verify(a.pk, msg, sizeof(msg), sig));
		sig[bit / 8] ^= (uint8_t)(1 << (bit % 8));
	}
	/* an all-zero "key" is not a usable point */
	memset(bad_pk, 0, sizeof(bad_pk));
	CHECK(!ptcp_identity_verify(bad_pk, msg, sizeof(msg), sig));
}

static void test_parse_peer_messages(void)
{
	struct ptcp_identity id;
	uint8_t key[32];
	char pid[PTCP_PEERID_TEXT_MAX], t[200];

	CHECK_INT(ptcp_identity_generate(&id), 0);
	CHECK_INT(ptcp_identity_peerid(&id, NULL, pid, sizeof(pid), err, sizeof(err)), 0);
	CHECK_INT(ptcp_identity_parse_peer(key, pid, err, sizeof(err)), 0);
	CHECK(memcmp(key, id.pk, 32) == 0);

	snprintf(t, sizeof(t), "%s", pid);
	t[4] = '0';
	CHECK_INT(ptcp_identity_parse_peer(key, t, err, sizeof(err)), -EINVAL);
	CHECK(contains(err, "invalid peer id '"));
	CHECK(contains(err, t));
	CHECK(contains(err, "'0' at position 5"));
	CHECK(contains(err, "did you mean 'o'"));

	snprintf(t, sizeof(t), "%s", pid);
	t[10] = t[10] == 'a' ? 'b' : 'a';
	CHECK_INT(ptcp_identity_parse_peer(key, t, err, sizeof(err)), -EINVAL);
	CHECK(contains(err, t));
	CHECK(contains(err, "checksum"));

	snprintf(t, sizeof(t), "%.54s", pid);
	CHECK_INT(ptcp_identity_parse_peer(key, t, err, sizeof(err)), -EINVAL);
	CHECK(contains(err, "54 characters"));

	snprintf(t, sizeof(t), "box-%sa", pid);
	CHECK_INT(ptcp_identity_parse_peer(key, t, err, sizeof(err)), -EINVAL);
	CHECK(contains(err, "56 characters after the last '-'"));

	CHECK_INT(ptcp_identity_parse_peer(key, "", err, sizeof(err)), -EINVAL);
	CHECK(contains(err, "empty"));

	CHECK_INT(ptcp_identity_peerid(&id, "bad label", pid, sizeof(pid), err, sizeof(err)), -EINVAL);
	CHECK(contains(err, "'bad label'"));
	CHECK_INT(ptcp_identity_peerid(&id, "lab", pid, sizeof(pid), err, sizeof(err)), 0);
	CHECK(strncmp(pid, "lab-", 4) == 0);
}

/* --- the subcommands --------------------------------------------------------- */

/* Runs fn(argv) with stdout and stderr sent to files; returns its exit
 * code and leaves what it printed in out and errout. */
static int run_cmd(int (*fn)(int, char **), char **argv, char *out, size_t outcap,
                   char *errout, size_t errcap)
{
	char opath[300], epath[300];
	int saved_out, saved_err, fd, rc, argc = 0;

	while (argv[argc])
		argc++;
	path_of(opath, sizeof(opath), "stdout");
	path_of(epath, sizeof(epath), "stderr");
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	fd = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 1);
	close(fd);
	fd = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	rc = fn(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	read_file(opath, out, outcap);
	read_file(epath, errout, errcap);
	return rc;
}

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })

static void test_cmd_keygen_and_id(void)
{
	char out[512], eout[1024], first[512], dir[400], xdg[300];
	uint8_t key[32];
	size_t n;

	fresh_base();
	path_of(xdg, sizeof(xdg), "xdg");
	setenv("XDG_CONFIG_HOME", xdg, 1);
	snprintf(dir, sizeof(dir), "%s/p2ptcp/private.key", xdg);

	CHECK_INT(run_cmd(ptcp_cmd_keygen, ARGV("keygen"), first, sizeof(first), eout, sizeof(eout)), 0);
	n = strlen(first);
	CHECK_EQ(n, 56);   /* the id and a newline */
	first[n ? n - 1 : 0] = '\0';
	CHECK_INT(ptcp_identity_parse_peer(key, first, err, sizeof(err)), 0);
	CHECK(contains(eout, dir));
	CHECK_EQ(mode_of(dir), 0600);

	/* id prints the same */
	CHECK_INT(run_cmd(ptcp_cmd_id, ARGV("id"), out, sizeof(out), eout, sizeof(eout)), 0);
	out[strcspn(out, "\n")] = '\0';
	CHECK(strcmp(out, first) == 0);
	CHECK_INT(run_cmd(ptcp_cmd_id, ARGV("id", "--label", "laptop"), out, sizeof(out), eout,
			  sizeof(eout)), 0);
	CHECK(strncmp(out, "laptop-", 7) == 0 && strncmp(out + 7, first, 55) == 0);
	CHECK_INT(run_cmd(ptcp_cmd_id, ARGV("id", "--label=a b"), out, sizeof(out), eout,
			  sizeof(eout)), 2);
	CHECK(contains(eout, "invalid label: 'a b'"));

	/* keygen again: refused, key unchanged */
	CHECK_INT(run_cmd(ptcp_cmd_keygen, ARGV("keygen"), out, sizeof(out), eout, sizeof(eout)), 1);
	CHECK(contains(eout, "--force"));
	CHECK_EQ(out[0], '\0');
	CHECK_INT(run_cmd(ptcp_cmd_id, ARGV("id"), out, sizeof(out), eout, sizeof(eout)), 0);
	CHECK(strncmp(out, first, 55) == 0);

	/* --force: a new id */
	CHECK_INT(run_cmd(ptcp_cmd_keygen, ARGV("keygen", "--force"), out, sizeof(out), eout,
			  sizeof(eout)), 0);
	CHECK(strncmp(out, first, 55) != 0);

	/* too open, then missing */
	chmod(dir, 0644);
	CHECK_INT(run_cmd(ptcp_cmd_id, ARGV("id"), out, sizeof(out), eout, sizeof(eout)), 1);
	CHECK(contains(eout, "p2ptcp: key file"));
	CHECK(contains(eout, "chmod 600"));
	unlink(dir);
	CHECK_INT(run_cmd(ptcp_cmd_id, ARGV("id"), out, sizeof(out), eout, sizeof(eout)), 1);
	CHECK(contains(eout, "run 'p2ptcp keygen' first"));

	/* --dir */
	path_of(dir, sizeof(dir), "elsewhere");
	CHECK_INT(run_cmd(ptcp_cmd_keygen, ARGV("keygen", "--dir", dir), out, sizeof(out), eout,
			  sizeof(eout)), 0);
	strcpy(first, out);
	CHECK_INT(run_cmd(ptcp_cmd_id, ARGV("id", "--dir", dir), out, sizeof(out), eout,
			  sizeof(eout)), 0);
	CHECK(strcmp(out, first) == 0);
	CHECK_EQ(mode_of(dir), 0700);   /* made here */
	/* --dir naming a directory that exists (a home, say): its mode stays */
	path_of(dir, sizeof(dir), "home");
	CHECK_INT(mkdir(dir, 0755), 0);
	CHECK_INT(chmod(dir, 0755), 0);
	CHECK_INT(run_cmd(ptcp_cmd_keygen, ARGV("keygen", "--dir", dir), out, sizeof(out), eout,
			  sizeof(eout)), 0);
	CHECK_EQ(mode_of(dir), 0755);

	/* usage */
	CHECK_INT(run_cmd(ptcp_cmd_keygen, ARGV("keygen", "--help"), out, sizeof(out), eout,
			  sizeof(eout)), 0);
	CHECK(contains(out, "Usage: p2ptcp keygen"));
	CHECK_INT(run_cmd(ptcp_cmd_id, ARGV("id", "-h"), out, sizeof(out), eout, sizeof(eout)), 0);
	CHECK(contains(out, "Usage: p2ptcp id"));
	CHECK_INT(run_cmd(ptcp_cmd_keygen, ARGV("keygen", "--frce"), out, sizeof(out), eout,
			  sizeof(eout)), 2);
	CHECK(contains(eout, "unknown option: '--frce'"));
	CHECK_INT(run_cmd(ptcp_cmd_id, ARGV("id", "--force"), out, sizeof(out), eout, sizeof(eout)), 2);
	CHECK_INT(run_cmd(ptcp_cmd_id, ARGV("id", "--dir"), out, sizeof(out), eout, sizeof(eout)), 2);
	CHECK(contains(eout, "needs a value"));
	CHECK_INT(run_cmd(ptcp_cmd_id, ARGV("id", "extra"), out, sizeof(out), eout, sizeof(eout)), 2);
	CHECK(contains(eout, "unexpected argument: 'extra'"));
	unsetenv("XDG_CONFIG_HOME");
}

int main(void)
{
	RUN(test_default_dir);
	RUN(test_save_modes_and_load);
	RUN(test_existing_dir_kept);
	RUN(test_refuse_overwrite);
	RUN(test_missing);
	RUN(test_too_open);
	RUN(test_corrupt);
	RUN(test_rfc8032_vector);
	RUN(test_sign_verify);
	RUN(test_parse_peer_messages);
	RUN(test_cmd_keygen_and_id);
	fresh_base();
	rmdir(base);
	return check_summary();
}
