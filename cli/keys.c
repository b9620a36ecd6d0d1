#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "identity.h"
#include "log.h"
#include "peerid.h"
#include "status.h"

/* Exit code when the key cannot be made, read or written. */
#define EXIT_KEY 1

static const char keygen_usage[] =
	"Usage: p2ptcp keygen [--force] [--dir DIR]\n"
	"\n"
	"Makes a new Ed25519 key pair, the identity of this peer, and prints its peer\n"
	"id: the text other peers give to 'p2ptcp connect'. The private key goes to\n"
	"$XDG_CONFIG_HOME/p2ptcp/private.key (default ~/.config/p2ptcp/private.key),\n"
	"mode 0600; a directory made for it gets mode 0700, one that exists keeps\n"
	"its own.\n"
	"\n"
	"  --force      replace an existing key (its peer id stops working)\n"
	"  --dir DIR    keep the key in DIR instead\n"
	"\n"
	"Exit status: 0 done, 1 the key exists (without --force) or cannot be\n"
	"written, 2 bad usage.\n";

static const char id_usage[] =
	"Usage: p2ptcp id [--label NAME] [--dir DIR]\n"
	"\n"
	"Prints the peer id of this peer's key (made by 'p2ptcp keygen'): 55\n"
	"characters of a-z and 2-7 with a checksum, so that a mistyped id is an\n"
	"error rather than another peer.\n"
	"\n"
	"  --label NAME  put 'NAME-' in front, a reminder for people that\n"
	"                programs ignore (1 to 32 of a-z A-Z 0-9 _ . -)\n"
	"  --dir DIR     read the key from DIR instead of\n"
	"                $XDG_CONFIG_HOME/p2ptcp (default ~/.config/p2ptcp)\n"
	"\n"
	"Exit status: 0 done, 1 no key, or it is corrupt or readable by others,\n"
	"2 bad usage.\n";

struct id_opts {
	bool help;
	bool force;
	const char *dir;
	const char *label;
};

static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ptcp_error("%s", msg);
	fprintf(stderr, "See 'p2ptcp help %s'.\n", cmd);
	return PTCP_EXIT_USAGE;
}

/* Options take their value as the next argument or after '='. with_force
 * and with_label say which options this subcommand has. Returns 0 or an
 * exit code. */
static int parse(struct id_opts *o, int argc, char *argv[], bool with_force, bool with_label)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		const char **dest = NULL;
		size_t n;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			o->help = true;
			return 0;
		}
		if (with_force && strcmp(a, "--force") == 0) {
			o->force = true;
			continue;
		}
		eq = strchr(a, '=');
		n = eq ? (size_t)(eq - a) : strlen(a);
		if (n == 5 && strncmp(a, "--dir", 5) == 0)
			dest = &o->dir;
		else if (with_label && n == 7 && strncmp(a, "--label", 7) == 0)
			dest = &o->label;
		if (!dest) {
			if (a[0] == '-')
				return usage_error(argv[0], "unknown option: '%s'", a);
			return usage_error(argv[0], "unexpected argument: '%s'", a);
		}
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return usage_error(argv[0], "option '%s' needs a value", a);
		if (val[0] == '\0')
			return usage_error(argv[0], "empty value for '%s'", a);
		*dest = val;
	}
	return 0;
}

static int resolve_dir(const struct id_opts *o, char *buf, size_t cap)
{
	int rv;

	if (o->dir) {
		if (strlen(o->dir) >= cap) {
			ptcp_error("directory name too long: '%s'", o->dir);
			return -ENAMETOOLONG;
		}
		strcpy(buf, o->dir);
		return 0;
	}
	rv = ptcp_identity_default_dir(buf, cap);
	if (rv == -ENOENT)
		ptcp_error("cannot find the configuration directory: set HOME or XDG_CONFIG_HOME, or use --dir");
	else if (rv != 0)
		ptcp_error("configuration directory name too long");
	return rv;
}

int ptcp_cmd_keygen(int argc, char *argv[])
{
	char dir[PTCP_IDENTITY_PATH_MAX], err[PTCP_IDENTITY_PATH_MAX + 256];
	char pid[PTCP_PEERID_TEXT_MAX];
	struct ptcp_identity id;
	struct id_opts o;
	int rv;

	if ((rv = parse(&o, argc, argv, true, false)) != 0)
		return rv;
	if (o.help) {
		fputs(keygen_usage, stdout);
		return PTCP_EXIT_OK;
	}
	if (resolve_dir(&o, dir, sizeof(dir)) != 0)
		return EXIT_KEY;
	if (ptcp_identity_generate(&id) != 0) {
		ptcp_error("cannot make a key: libsodium failed to start");
		return EXIT_KEY;
	}
	rv = ptcp_identity_save(&id, dir, o.force, err, sizeof(err));
	if (rv == 0)
		rv = ptcp_identity_peerid(&id, NULL, pid, sizeof(pid), err, sizeof(err));
	ptcp_identity_wipe(&id);
	if (rv != 0) {
		ptcp_error("%s", err);
		return EXIT_KEY;
	}
	fprintf(stderr, "p2ptcp: new key in '%s/%s'\n", dir, PTCP_IDENTITY_FILE);
	printf("%s\n", pid);
	return fflush(stdout) == 0 ? PTCP_EXIT_OK : EXIT_KEY;
}

int ptcp_cmd_id(int argc, char *argv[])
{
	char dir[PTCP_IDENTITY_PATH_MAX], err[PTCP_IDENTITY_PATH_MAX + 256];
	char pid[PTCP_PEERID_TEXT_MAX];
	struct ptcp_identity id;
	struct id_opts o;
	int rv;

	if ((rv = parse(&o, argc, argv, false, true)) != 0)
		return rv;
	if (o.help) {
		fputs(id_usage, stdout);
		return PTCP_EXIT_OK;
	}
	/* A bad label is a usage error, found before touching the key. */
	if (o.label && ptcp_peerid_encode(pid, sizeof(pid), (const uint8_t[32]){ 0 }, o.label) < 0)
		return usage_error(argv[0], "invalid label: '%s' (1 to 32 of a-z A-Z 0-9 _ . -)", o.label);
	if (resolve_dir(&o, dir, sizeof(dir)) != 0)
		return EXIT_KEY;
	rv = ptcp_identity_load(&id, dir, err, sizeof(err));
	if (rv == 0)
		rv = ptcp_identity_peerid(&id, o.label, pid, sizeof(pid), err, sizeof(err));
	ptcp_identity_wipe(&id);
	if (rv != 0) {
		ptcp_error("%s", err);
		return EXIT_KEY;
	}
	printf("%s\n", pid);
	return fflush(stdout) == 0 ? PTCP_EXIT_OK : EXIT_KEY;
}
