/* Peer identities: Ed25519 keys with libsodium, stored as described in
 * identity.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fdio.h"
#include "identity.h"
#include "peerid.h"

#define FILE_MAX 4096   /* bytes; a key file is about 190 */

int ptcp_identity_default_dir(char *buf, size_t cap)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	int n;

	/* The XDG spec: a relative path in the variable is invalid and
	 * must be ignored. */
	if (xdg && xdg[0] == '/')
		n = snprintf(buf, cap, "%s/p2ptcp", xdg);
	else if (home && home[0] != '\0')
		n = snprintf(buf, cap, "%s/.config/p2ptcp", home);
	else
		return -ENOENT;
	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	return 0;
}

int ptcp_identity_from_seed(struct ptcp_identity *id, const uint8_t seed[PTCP_IDENTITY_SEED_LEN])
{
	if (sodium_init() < 0)
		return -EIO;
	if (crypto_sign_seed_keypair(id->pk, id->sk, seed) != 0)
		return -EIO;
	return 0;
}

int ptcp_identity_generate(struct ptcp_identity *id)
{
	uint8_t seed[PTCP_IDENTITY_SEED_LEN];
	int rv;

	if (sodium_init() < 0)
		return -EIO;
	randombytes_buf(seed, sizeof(seed));
	rv = ptcp_identity_from_seed(id, seed);
	sodium_memzero(seed, sizeof(seed));
	return rv;
}

void ptcp_identity_wipe(struct ptcp_identity *id)
{
	sodium_memzero(id, sizeof(*id));
}

int ptcp_identity_sign(const struct ptcp_identity *id, const uint8_t *msg, size_t len,
                       uint8_t sig[PTCP_IDENTITY_SIG_LEN])
{
	if (sodium_init() < 0)
		return -EIO;
	return crypto_sign_detached(sig, NULL, msg, len, id->sk) == 0 ? 0 : -EIO;
}

bool ptcp_identity_verify(const uint8_t pk[PTCP_IDENTITY_PK_LEN], const uint8_t *msg, size_t len,
                          const uint8_t sig[PTCP_IDENTITY_SIG_LEN])
{
	if (sodium_init() < 0)
		return false;
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0;
}

/* --- files --------------------------------------------------------------- */

static int key_path(char *buf, size_t cap, const char *dir, const char *name, char *err,
                    size_t errlen)
{
	int n = snprintf(buf, cap, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= cap) {
		snprintf(err, errlen, "path too long: '%s/%s'", dir, name);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* mkdir -p with mode 0700 for every directory made here. A directory that
 * existed keeps its mode: it is the user's (`keygen --dir ~` must not make
 * a home directory 0700); the key file itself is 0600 in any case. */
static int make_dir(const char *dir, char *err, size_t errlen)
{
	char path[PTCP_IDENTITY_PATH_MAX];
	struct stat st;
	size_t n = strlen(dir);
	int rv;

	if (n == 0 || n >= sizeof(path)) {
		snprintf(err, errlen, "invalid directory: '%s'", dir);
		return n == 0 ? -EINVAL : -ENAMETOOLONG;
	}
	memcpy(path, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) == 0) {
			/* the umask may have taken bits away: set them */
			if (chmod(path, 0700) != 0) {
				rv = -errno;
				snprintf(err, errlen, "cannot set the mode of '%s': %s", path, strerror(errno));
				return rv;
			}
		} else if (errno != EEXIST) {
			rv = -errno;
			snprintf(err, errlen, "cannot create directory '%s': %s", path, strerror(errno));
			return rv;
		}
		if (i < n)
			path[i] = '/';
	}
	if (stat(dir, &st) != 0) {
		rv = -errno;
		snprintf(err, errlen, "cannot use directory '%s': %s", dir, strerror(errno));
		return rv;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "'%s' is not a directory", dir);
		return -ENOTDIR;
	}
	return 0;
}

int ptcp_identity_save(const struct ptcp_identity *id, const char *dir, bool force,
                       char *err, size_t errlen)
{
	char path[PTCP_IDENTITY_PATH_MAX], tmp[PTCP_IDENTITY_PATH_MAX];
	char text[512], hex[2 * PTCP_IDENTITY_SEED_LEN + 1], pid[PTCP_PEERID_TEXT_MAX];
	int fd, dfd, rv, n;

	if ((rv = key_path(path, sizeof(path), dir, PTCP_IDENTITY_FILE, err, errlen)) != 0 ||
	    (rv = key_path(tmp, sizeof(tmp), dir, "." PTCP_IDENTITY_FILE ".XXXXXX", err, errlen)) != 0)
		return rv;
	if (!force && access(path, F_OK) == 0) {
		snprintf(err, errlen, "'%s' exists; use --force to replace it (its peer id is then lost)",
			 path);
		return -EEXIST;
	}
	if ((rv = make_dir(dir, err, errlen)) != 0)
		return rv;

	/* sk holds the seed first (libsodium's layout). */
	sodium_bin2hex(hex, sizeof(hex), id->sk, PTCP_IDENTITY_SEED_LEN);
	ptcp_peerid_encode(pid, sizeof(pid), id->pk, NULL);
	n = snprintf(text, sizeof(text),
		     "# p2ptcp identity: an Ed25519 private key. Keep it secret.\n"
		     "# peer id: %s\n"
		     "seed %s\n", pid, hex);
	sodium_memzero(hex, sizeof(hex));

	fd = mkstemp(tmp);
	if (fd < 0) {
		rv = -errno;
		snprintf(err, errlen, "cannot create a file in '%s': %s", dir, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0600) != 0 || (rv = ptcp_write_all(fd, text, (size_t)n)) != 0 || fsync(fd) != 0) {
		rv = rv ? rv : -errno;
		snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(-rv));
		close(fd);
		unlink(tmp);
		goto out;
	}
	if (close(fd) != 0) {
		rv = -errno;
		snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	/* link() fails on an existing name: the check above could race with
	 * another keygen, this one cannot. */
	if (force ? rename(tmp, path) != 0 : link(tmp, path) != 0) {
		rv = -errno;
		if (rv == -EEXIST)
			snprintf(err, errlen, "'%s' exists; use --force to replace it (its peer id is then lost)",
				 path);
		else
			snprintf(err, errlen, "cannot create '%s': %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (!force)
		unlink(tmp);
	/* make the new name durable too */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rv = 0;
out:
	sodium_memzero(text, sizeof(text));
	return rv;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Finds the one "seed <64 hex>" line in text. Returns 0 or -EINVAL with
 * why in *why. */
static int parse_key_file(char *text, size_t len, uint8_t seed[PTCP_IDENTITY_SEED_LEN],
                          const char **why)
{
	size_t i = 0, line = 0;
	int found = 0;

	while (i < len) {
		size_t end = i, ws;

		while (end < len && text[end] != '\n')
			end++;
		line++;
		/* trailing spaces and a CR from an editor are harmless */
		ws = end;
		while (ws > i && (text[ws - 1] == ' ' || text[ws - 1] == '\t' || text[ws - 1] == '\r'))
			ws--;
		if (ws == i || text[i] == '#') {
			i = end + 1;
			continue;
		}
		if (ws - i != 5 + 2 * PTCP_IDENTITY_SEED_LEN || memcmp(text + i, "seed ", 5) != 0) {
			*why = "a line is not 'seed' and 64 hexadecimal digits";
			return -EINVAL;
		}
		if (found) {
			*why = "more than one 'seed' line";
			return -EINVAL;
		}
		for (size_t k = 0; k < PTCP_IDENTITY_SEED_LEN; k++) {
			int hi = hexval(text[i + 5 + 2 * k]), lo = hexval(text[i + 6 + 2 * k]);

			if (hi < 0 || lo < 0) {
				*why = "the seed is not hexadecimal";
				return -EINVAL;
			}
			seed[k] = (uint8_t)(hi << 4 | lo);
		}
		found = 1;
		i = end + 1;
	}
	if (!found) {
		*why = len == 0 ? "the file is empty" : "no 'seed' line";
		return -EINVAL;
	}
	return 0;
}

int ptcp_identity_load(struct ptcp_identity *id, const char *dir, char *err, size_t errlen)
{
	char path[PTCP_IDENTITY_PATH_MAX], text[FILE_MAX + 1];
	uint8_t seed[PTCP_IDENTITY_SEED_LEN];
	const char *why = "";
	struct stat st;
	size_t len = 0;
	int fd, rv;

	ptcp_identity_wipe(id);
	if ((rv = key_path(path, sizeof(path), dir, PTCP_IDENTITY_FILE, err, errlen)) != 0)
		return rv;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rv = -errno;
		if (rv == -ENOENT)
			snprintf(err, errlen, "no identity in '%s': run 'p2ptcp keygen' first", dir);
		else
			snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return rv;
	}
	if (fstat(fd, &st) != 0) {
		rv = -errno;
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "corrupt key file '%s': not a regular file", path);
		rv = -EINVAL;
		goto out;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen,
			 "key file '%s' has mode %04o: group or others may read it; "
			 "run 'chmod 600 %s' (and consider the key compromised)",
			 path, (unsigned)(st.st_mode & 07777), path);
		rv = -EPERM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, text + len, sizeof(text) - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rv = -errno;
			snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > FILE_MAX) {
			snprintf(err, errlen, "corrupt key file '%s': longer than %d bytes", path, FILE_MAX);
			rv = -EINVAL;
			goto out;
		}
	}
	if ((rv = parse_key_file(text, len, seed, &why)) != 0) {
		snprintf(err, errlen, "corrupt key file '%s': %s", path, why);
		goto out;
	}
	if ((rv = ptcp_identity_from_seed(id, seed)) != 0)
		snprintf(err, errlen, "cannot derive the key of '%s': libsodium failed", path);
out:
	close(fd);
	sodium_memzero(text, sizeof(text));
	sodium_memzero(seed, sizeof(seed));
	if (rv != 0)
		ptcp_identity_wipe(id);
	return rv;
}

/* --- peer ids -------------------------------------------------------------- */

int ptcp_identity_peerid(const struct ptcp_identity *id, const char *label, char *out, size_t cap,
                         char *err, size_t errlen)
{
	int rv = ptcp_peerid_encode(out, cap, id->pk, label);

	if (rv < 0) {
		if (rv == PTCP_PEERID_E_LABEL)
			snprintf(err, errlen, "invalid label: '%s' (1 to %d of a-z A-Z 0-9 _ . -)",
				 label ? label : "", PTCP_PEERID_LABEL_MAX);
		else
			snprintf(err, errlen, "peer id: %s", ptcp_peerid_strerror(rv));
		return -EINVAL;
	}
	return 0;
}

/* What a mistyped character probably was. */
static char lookalike(char c)
{
	switch (c) {
	case '0': return 'o';
	case '1': return 'l';
	case '8': return 'b';
	case '9': return 'g';
	}
	return 0;
}

int ptcp_identity_parse_peer(uint8_t key[PTCP_IDENTITY_PK_LEN], const char *text,
                             char *err, size_t errlen)
{
	size_t len = strlen(text), pos = 0;
	int rv = ptcp_peerid_decode(key, text, len, &pos);
	char c;

	if (rv == 0)
		return 0;
	switch (rv) {
	case PTCP_PEERID_E_CHAR:
		c = text[pos];
		if (lookalike(c))
			snprintf(err, errlen, "invalid peer id '%s': invalid character '%c' at position %zu "
				 "(peer ids use only a-z and 2-7; did you mean '%c'?)",
				 text, c, pos + 1, lookalike(c));
		else if (c > 0x20 && c < 0x7f)
			snprintf(err, errlen, "invalid peer id '%s': invalid character '%c' at position %zu "
				 "(peer ids use only a-z and 2-7)", text, c, pos + 1);
		else
			snprintf(err, errlen, "invalid peer id '%s': invalid character 0x%02x at position %zu "
				 "(peer ids use only a-z and 2-7)", text, (unsigned char)c, pos + 1);
		break;
	case PTCP_PEERID_E_LENGTH: {
		const char *dash = strrchr(text, '-');
		size_t n = dash ? strlen(dash + 1) : len;

		snprintf(err, errlen, "invalid peer id '%s': %zu characters%s, a peer id has %d "
			 "(a character missing or doubled?)", text, n, dash ? " after the last '-'" : "",
			 PTCP_PEERID_CHARS);
		break;
	}
	default:
		snprintf(err, errlen, "invalid peer id '%s': %s", text, ptcp_peerid_strerror(rv));
		break;
	}
	return -EINVAL;
}
