#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "config.h"
#include "log.h"
#include "rdvclient.h"
#include "rdvmsg.h"
#include "relaymsg.h"

#define FILE_MAX (64 * 1024)

const char ptcp_rdvd_usage[] =
	"Usage: rendezvousd [--listen ADDR[:PORT]]... [--config FILE] [OPTIONS]\n"
	"\n"
	"The rendezvous server of p2ptcp: peers register their peer id (proving they\n"
	"hold its key), and two peers that ask for each other are told each other's\n"
	"public and private endpoints, ISNs, roles and a start time, so that both can\n"
	"open their NATs at once (docs/protocol.md).\n"
	"\n"
	"  --listen ADDR[:PORT]      address to listen on; may repeat (default\n"
	"                            0.0.0.0:7450; IPv6 as [ADDR]:PORT)\n"
	"  --config FILE             read settings from FILE first: 'name = value'\n"
	"                            lines with the names below, '#' comments\n"
	"  --key-dir DIR             the server key, DIR/private.key, made on the\n"
	"                            first start (default $STATE_DIRECTORY, else\n"
	"                            " PTCP_RDVD_KEY_DIR ")\n"
	"  --keygen                  make the server key, print its id and stop\n"
	"  --id                      print the id of the server key and stop\n"
	"  --max-clients N           open connections in all (default 16384)\n"
	"  --max-per-addr N          connections from one address, IPv6 per /64\n"
	"                            (default 64; 0 = no limit)\n"
	"  --max-per-ipv4-24 N|P%    connections from one IPv4 /24, as a number or\n"
	"                            a share of max-clients (default 6%; 0 = none)\n"
	"  --max-per-ipv6-56 N|P%    ... from one IPv6 /56 (default 2%)\n"
	"  --max-per-ipv6-48 N|P%    ... from one IPv6 /48 (default 6%)\n"
	"                            (when full, the oldest idle connection, one\n"
	"                            that never asked nor was asked for anything,\n"
	"                            makes room for a new one)\n"
	"  --rate N                  new connections and requests per second per\n"
	"                            address (default 10; 0 = no limit)\n"
	"  --burst N                 ... of which this many at once (default 20)\n"
	"  --idle-timeout S          drop a registered peer silent for S seconds\n"
	"                            (default 60; clients ping at a third of it)\n"
	"  --handshake-timeout S     registration must finish within S (default 10)\n"
	"  --message-timeout S       one message must arrive whole within S\n"
	"                            (default 5; against slow senders)\n"
	"  --max-wait S              longest a request may wait for the other peer\n"
	"                            (default 30)\n"
	"  --start-delay S           base of the delay before both peers' first SYN\n"
	"                            (default 0, at most 10; each side's network\n"
	"                            delay is added, so that both fire together)\n"
	"  --probe-port PORT         answer on PORT of each listen address too, and\n"
	"                            tell registered clients: a client whose NAT\n"
	"                            changed its port looks from the same port\n"
	"                            again there, to tell a NAT that keeps one\n"
	"                            mapping for every destination from one that\n"
	"                            makes a new one per destination (default: none)\n"
	"  --0rtt-window S           register a client that knows our key in its\n"
	"                            first message (0-RTT) when its clock is within\n"
	"                            S of ours (default 10; 0 = always challenge);\n"
	"                            each such message is taken once\n"
	"  --0rtt-cache N            0-RTT nonces remembered, each for twice the\n"
	"                            window (default 65536; when all are in use,\n"
	"                            clients are challenged: a round trip more)\n"
	"  --redis ADDR[:PORT]       share registrations with the other instances\n"
	"                            on this Redis (numeric address; default port\n"
	"                            6379): a peer at any instance is reachable\n"
	"                            from every other\n"
	"  --redis-ttl S             a registration of a vanished instance\n"
	"                            expires after S (default 30)\n"
	"  --relay                   relay the peers of a match whose punching\n"
	"                            fails (off by default); they run their secure\n"
	"                            channel over it, the relay sees sealed bytes\n"
	"  --relay-port PORT         the relay's port on each listen address\n"
	"                            (default 7451)\n"
	"  --relay-streams N         relayed streams at once (default 256)\n"
	"  --relay-rate B            bytes per second each way per stream\n"
	"                            (default 12500000, 100 Mbit/s; 0 = no limit)\n"
	"  --relay-total-rate B      bytes per second each way, all streams\n"
	"                            (default 125000000, 1 Gbit/s; 0 = no limit)\n"
	"  --relay-idle-timeout S    end a stream without a byte for S (default 600)\n"
	"  --relay-handshake-timeout S  accept to JOIN (default 10)\n"
	"  --relay-wait S            how long a match's relay offer lasts, for both\n"
	"                            peers to join (default 60)\n"
	"  --log-level LEVEL         error, warn (default), info or debug\n"
	"  -v, -vv                   info, debug\n"
	"  --syslog                  log to syslog (daemon facility), not stderr\n"
	"  -h, --help                this text\n"
	"  -V, --version             the version\n"
	"\n"
	"SIGINT and SIGTERM stop the server cleanly; SIGUSR1 logs statistics.\n";

enum kind { K_LISTEN, K_REDIS, K_UINT, K_DURATION, K_LEVEL, K_BOOL, K_PATH, K_SHARE };

static const struct opt {
	const char *name;
	enum kind kind;
	size_t off;         /* of the unsigned field */
	unsigned min, max;  /* K_UINT: the value; K_DURATION: milliseconds */
} opts[] = {
	{ "listen", K_LISTEN, 0, 0, 0 },
	{ "max-clients", K_UINT, offsetof(struct ptcp_rdvd_config, max_clients), 1, 1000000 },
	{ "max-per-addr", K_UINT, offsetof(struct ptcp_rdvd_config, max_per_addr), 0, 1000000 },
	{ "max-per-ipv4-24", K_SHARE, offsetof(struct ptcp_rdvd_config, max_per_ipv4_24), 0, 1000000 },
	{ "max-per-ipv6-56", K_SHARE, offsetof(struct ptcp_rdvd_config, max_per_ipv6_56), 0, 1000000 },
	{ "max-per-ipv6-48", K_SHARE, offsetof(struct ptcp_rdvd_config, max_per_ipv6_48), 0, 1000000 },
	{ "rate", K_UINT, offsetof(struct ptcp_rdvd_config, rate), 0, 1000000 },
	{ "burst", K_UINT, offsetof(struct ptcp_rdvd_config, burst), 1, 1000000 },
	{ "idle-timeout", K_DURATION, offsetof(struct ptcp_rdvd_config, idle_timeout_ms),
	  PTCP_RDV_IDLE_MIN_MS, PTCP_RDV_IDLE_MAX_MS },
	{ "handshake-timeout", K_DURATION, offsetof(struct ptcp_rdvd_config, handshake_timeout_ms), 100, 600000 },
	{ "message-timeout", K_DURATION, offsetof(struct ptcp_rdvd_config, message_timeout_ms), 100, 600000 },
	{ "max-wait", K_DURATION, offsetof(struct ptcp_rdvd_config, max_wait_ms), 0, PTCP_RDV_WAIT_MAX_MS },
	/* what clients accept as the MATCH start delay, less the largest
	 * one-way delay the server adds (half of RTT_MAX_MS in server.c) */
	{ "start-delay", K_DURATION, offsetof(struct ptcp_rdvd_config, start_delay_ms), 0,
	  PTCP_RDV_START_MAX_MS - 5000 },
	{ "probe-port", K_UINT, offsetof(struct ptcp_rdvd_config, probe_port), 1, 65535 },
	{ "0rtt-window", K_DURATION, offsetof(struct ptcp_rdvd_config, zrtt_window_ms), 0, 300000 },
	{ "0rtt-cache", K_UINT, offsetof(struct ptcp_rdvd_config, zrtt_cache), 1, 16777216 },
	{ "redis", K_REDIS, 0, 0, 0 },
	{ "redis-ttl", K_DURATION, offsetof(struct ptcp_rdvd_config, redis_ttl_ms), 1000, 3600000 },
	{ "relay", K_BOOL, offsetof(struct ptcp_rdvd_config, relay), 0, 0 },
	{ "relay-port", K_UINT, offsetof(struct ptcp_rdvd_config, relay_port), 1, 65535 },
	{ "relay-streams", K_UINT, offsetof(struct ptcp_rdvd_config, relay_streams), 1, 100000 },
	{ "relay-rate", K_UINT, offsetof(struct ptcp_rdvd_config, relay_rate), 0, 4000000000u },
	{ "relay-total-rate", K_UINT, offsetof(struct ptcp_rdvd_config, relay_total_rate), 0,
	  4000000000u },
	{ "relay-idle-timeout", K_DURATION, offsetof(struct ptcp_rdvd_config, relay_idle_ms), 1000,
	  PTCP_RDV_IDLE_MAX_MS },
	{ "relay-handshake-timeout", K_DURATION, offsetof(struct ptcp_rdvd_config, relay_handshake_ms),
	  100, 600000 },
	{ "relay-wait", K_DURATION, offsetof(struct ptcp_rdvd_config, relay_wait_ms), 1000, 3600000 },
	{ "log-level", K_LEVEL, 0, 0, 0 },
	{ "syslog", K_BOOL, offsetof(struct ptcp_rdvd_config, syslog), 0, 0 },
	{ "key-dir", K_PATH, offsetof(struct ptcp_rdvd_config, key_dir), 0, 0 },
};

#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

void ptcp_rdvd_config_default(struct ptcp_rdvd_config *cfg)
{
	const char *state;

	memset(cfg, 0, sizeof(*cfg));
	cfg->max_clients = 16384;
	cfg->max_per_addr = 64;
	/* An attacker with one /56 (256 /64s) filled the whole server
	 * through max-per-addr alone; these make it take 50 /56s, 17 /48s
	 * or 17 IPv4 /24s. */
	cfg->max_per_ipv4_24 = (struct ptcp_rdvd_share){ 6, true };
	cfg->max_per_ipv6_56 = (struct ptcp_rdvd_share){ 2, true };
	cfg->max_per_ipv6_48 = (struct ptcp_rdvd_share){ 6, true };
	cfg->rate = 10;
	cfg->burst = 20;
	cfg->idle_timeout_ms = 60000;
	cfg->handshake_timeout_ms = 10000;
	cfg->message_timeout_ms = 5000;
	cfg->max_wait_ms = 30000;
	cfg->start_delay_ms = 0;
	cfg->zrtt_window_ms = 10000;
	cfg->zrtt_cache = 65536;
	cfg->redis_ttl_ms = 30000;
	cfg->relay_port = PTCP_RELAY_PORT;
	cfg->relay_streams = 256;
	cfg->relay_rate = 12500000;
	cfg->relay_total_rate = 125000000;
	cfg->relay_idle_ms = 600000;
	cfg->relay_handshake_ms = 10000;
	cfg->relay_wait_ms = 60000;
	cfg->log_level = PTCP_LOG_NOTICE;
	state = getenv("STATE_DIRECTORY");
	if (state && state[0] == '/' && strcspn(state, ":") < sizeof(cfg->key_dir))
		snprintf(cfg->key_dir, sizeof(cfg->key_dir), "%.*s", (int)strcspn(state, ":"), state);
	else
		snprintf(cfg->key_dir, sizeof(cfg->key_dir), "%s", PTCP_RDVD_KEY_DIR);
}

static const struct opt *find_opt(const char *name, size_t n)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (strlen(opts[i].name) == n && strncmp(opts[i].name, name, n) == 0)
			return &opts[i];
	return NULL;
}

/* Decimal digits only, within [min, max]. */
static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *v)
{
	unsigned long long x = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		x = x * 10 + (unsigned)(*s - '0');
		if (x > max)
			return -1;
	}
	if (x < min)
		return -1;
	*v = (unsigned)x;
	return 0;
}

/* Seconds with up to three decimals, into milliseconds within [min, max]. */
static int parse_duration(const char *s, unsigned min, unsigned max, unsigned *ms)
{
	unsigned long long x = 0;
	int frac = -1;   /* decimals seen, -1 before the point */

	if (!*s || *s == '.')
		return -1;
	for (; *s; s++) {
		if (*s == '.' && frac < 0) {
			frac = 0;
			continue;
		}
		if (*s < '0' || *s > '9' || frac == 3)
			return -1;
		x = x * 10 + (unsigned)(*s - '0');
		if (frac >= 0)
			frac++;
		if (x > 1000ULL * max)
			return -1;
	}
	if (frac == 0)
		return -1;   /* "5." */
	for (int i = frac < 0 ? 0 : frac; i < 3; i++)
		x *= 10;
	if (x < min || x > max)
		return -1;
	*ms = (unsigned)x;
	return 0;
}

/* "N" within [0, max] or "P%" within [0, 100]. */
static int parse_share(const char *s, unsigned max, struct ptcp_rdvd_share *share)
{
	size_t n = strlen(s);
	char num[16];

	if (n > 1 && n < sizeof(num) && s[n - 1] == '%') {
		memcpy(num, s, n - 1);
		num[n - 1] = '\0';
		share->percent = true;
		return parse_uint(num, 0, 100, &share->value);
	}
	share->percent = false;
	return parse_uint(s, 0, max, &share->value);
}

unsigned ptcp_rdvd_share_limit(const struct ptcp_rdvd_share *s, unsigned max_clients)
{
	unsigned long long v;

	if (!s->percent || s->value == 0)
		return s->value;
	v = ((unsigned long long)max_clients * s->value + 99) / 100;
	return v ? (unsigned)v : 1;
}

static int parse_level(const char *s, int *level)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (int i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0 || (s[0] == '0' + i && s[1] == '\0')) {
			*level = i;
			return 0;
		}
	}
	return -1;
}

static int parse_bool(const char *s, bool *b)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "on") || !strcmp(s, "1"))
		*b = true;
	else if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "off") || !strcmp(s, "0"))
		*b = false;
	else
		return -1;
	return 0;
}

/* Applies one setting. where is "" on the command line and "FILE:N: " in
 * the file; dash is "--" on the command line. */
static int apply(struct ptcp_rdvd_config *cfg, const struct opt *o, const char *val,
                 const char *where, const char *dash, char *err, size_t errlen)
{
	char why[128];
	/* only K_UINT and K_DURATION use it: o->off is an unsigned there */
	unsigned *field = o->kind == K_UINT || o->kind == K_DURATION ?
			  (unsigned *)(void *)((char *)cfg + o->off) : NULL;

	switch (o->kind) {
	case K_LISTEN:
		if (cfg->n_listen == PTCP_RDVD_LISTEN_MAX) {
			snprintf(err, errlen, "%stoo many listen addresses (at most %d)", where,
				 PTCP_RDVD_LISTEN_MAX);
			return -1;
		}
		if (ptcp_rdv_parse_hostport(val, PTCP_RDV_PORT, &cfg->listen[cfg->n_listen], why,
					    sizeof(why)) != 0) {
			snprintf(err, errlen, "%s%slisten: %s", where, dash, why);
			return -1;
		}
		cfg->n_listen++;
		return 0;
	case K_REDIS:
		if (ptcp_rdv_parse_hostport(val, PTCP_RDVD_REDIS_PORT, &cfg->redis, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s%sredis: %s", where, dash, why);
			return -1;
		}
		cfg->has_redis = true;
		return 0;
	case K_UINT:
		if (parse_uint(val, o->min, o->max, field) == 0)
			return 0;
		snprintf(err, errlen, "%sinvalid value for %s%s: '%s' (%u to %u)", where, dash, o->name,
			 val, o->min, o->max);
		return -1;
	case K_DURATION:
		if (parse_duration(val, o->min, o->max, field) == 0)
			return 0;
		snprintf(err, errlen, "%sinvalid value for %s%s: '%s' (seconds, %u.%03u to %u)", where,
			 dash, o->name, val, o->min / 1000, o->min % 1000, o->max / 1000);
		return -1;
	case K_LEVEL:
		if (parse_level(val, &cfg->log_level) == 0)
			return 0;
		snprintf(err, errlen, "%sinvalid value for %slog-level: '%s' (error, warn, info or debug)",
			 where, dash, val);
		return -1;
	case K_BOOL:
		if (parse_bool(val, (bool *)(void *)((char *)cfg + o->off)) == 0)
			return 0;
		snprintf(err, errlen, "%sinvalid value for %s%s: '%s' (yes or no)", where, dash, o->name, val);
		return -1;
	case K_SHARE:
		if (parse_share(val, o->max, (struct ptcp_rdvd_share *)(void *)((char *)cfg + o->off)) == 0)
			return 0;
		snprintf(err, errlen, "%sinvalid value for %s%s: '%s' (0 to %u, or a share of "
			 "max-clients, 0%% to 100%%)", where, dash, o->name, val, o->max);
		return -1;
	case K_PATH:
		if (*val && strlen(val) < PTCP_RDVD_PATH_MAX - 16) {
			snprintf((char *)cfg + o->off, PTCP_RDVD_PATH_MAX, "%s", val);
			return 0;
		}
		snprintf(err, errlen, "%sinvalid value for %s%s: '%s' (a directory)", where, dash,
			 o->name, val);
		return -1;
	}
	return -1;
}

static char *trim(char *s, char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

static int load_file(struct ptcp_rdvd_config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text, *line, *next;
	char where[512];
	size_t n;
	int lineno = 0, rv = 0;

	if (!f) {
		snprintf(err, errlen, "cannot read config file '%s': %s", path, strerror(errno));
		return -1;
	}
	text = malloc(FILE_MAX + 1);
	if (!text) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = fread(text, 1, FILE_MAX + 1, f);
	if (ferror(f) || n > FILE_MAX) {
		snprintf(err, errlen, "cannot read config file '%s': %s", path,
			 ferror(f) ? strerror(errno) : "longer than 64 KiB");
		rv = -1;
		goto out;
	}
	text[n] = '\0';
	if (memchr(text, '\0', n)) {
		snprintf(err, errlen, "config file '%s' is not text", path);
		rv = -1;
		goto out;
	}
	for (line = text; line && *line; line = next) {
		char *end = strchr(line, '\n'), *hash, *eq, *key, *val;
		const struct opt *o;

		next = end ? end + 1 : NULL;
		if (!end)
			end = line + strlen(line);
		lineno++;
		hash = memchr(line, '#', (size_t)(end - line));
		if (hash)
			end = hash;
		snprintf(where, sizeof(where), "%s:%d: ", path, lineno);
		eq = memchr(line, '=', (size_t)(end - line));
		if (!eq) {
			char *t = trim(line, end);

			if (*t == '\0')
				continue;
			snprintf(err, errlen, "%sexpected 'name = value', got '%s'", where, t);
			rv = -1;
			break;
		}
		key = trim(line, eq);
		val = trim(eq + 1, end);
		o = find_opt(key, strlen(key));
		if (!o) {
			snprintf(err, errlen, "%sunknown setting '%s'", where, key);
			rv = -1;
			break;
		}
		if ((rv = apply(cfg, o, val, where, "", err, errlen)) != 0)
			break;
	}
out:
	free(text);
	fclose(f);
	return rv;
}

int ptcp_rdvd_config_parse(struct ptcp_rdvd_config *cfg, int argc, char *argv[],
                           char *err, size_t errlen)
{
	bool cli_listen = false;
	int i;

	/* The file first, wherever --config stands, so the command line wins. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "option '--config' needs a value");
				return -1;
			}
			cfg->config_path = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			cfg->config_path = argv[i] + 9;
		}
	}
	if (cfg->config_path && load_file(cfg, cfg->config_path, err, errlen) != 0)
		return -1;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *eq, *val;
		const struct opt *o;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			cfg->help = true;
			return 0;
		}
		if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			cfg->version = true;
			return 0;
		}
		if (a[0] == '-' && a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1)) {
			cfg->log_level += (int)strlen(a + 1);
			if (cfg->log_level > PTCP_LOG_DEBUG)
				cfg->log_level = PTCP_LOG_DEBUG;
			continue;
		}
		if (!strcmp(a, "--config")) {
			i++;
			continue;
		}
		if (!strncmp(a, "--config=", 9))
			continue;
		if (!strcmp(a, "--syslog") || !strcmp(a, "--relay")) {
			*(a[2] == 's' ? &cfg->syslog : &cfg->relay) = true;
			continue;
		}
		if (!strcmp(a, "--keygen") || !strcmp(a, "--id")) {
			*(a[2] == 'k' ? &cfg->keygen : &cfg->show_id) = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument: '%s'", a);
			return -1;
		}
		eq = strchr(a, '=');
		o = find_opt(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
		if (!o || o->kind == K_BOOL) {
			snprintf(err, errlen, "unknown option: '%s'", a);
			return -1;
		}
		if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			snprintf(err, errlen, "option '%s' needs a value", a);
			return -1;
		}
		if (o->kind == K_LISTEN && !cli_listen) {
			cli_listen = true;
			cfg->n_listen = 0;
		}
		if (apply(cfg, o, val, "", "--", err, errlen) != 0)
			return -1;
	}
	return 0;
}
