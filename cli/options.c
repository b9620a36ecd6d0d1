#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

#define NS_PER_MS (1000ULL * 1000)
#define NS_PER_S (1000ULL * 1000 * 1000)

int ptcp_cli_parse_port(const char *s, uint16_t *port, char *err, size_t errlen)
{
	unsigned long v;
	char *end;

	/* strtoul would accept " 12", "+12" and "-1"; a port is digits only. */
	if (s[0] < '0' || s[0] > '9')
		goto bad;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		goto bad;
	*port = (uint16_t)v;
	return 0;
bad:
	snprintf(err, errlen, "invalid port: '%s'", s);
	return -1;
}

int ptcp_cli_parse_addr(const char *s, struct ptcp_endpoint *ep, char *err, size_t errlen)
{
	memset(ep, 0, sizeof(*ep));
	if (inet_pton(AF_INET, s, ep->addr) == 1) {
		ep->family = PTCP_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ep->addr) == 1) {
		ep->family = PTCP_AF_INET6;
		return 0;
	}
	memset(ep, 0, sizeof(*ep));
	snprintf(err, errlen, "invalid address: '%s'", s);
	return -1;
}

int ptcp_cli_parse_endpoint(const char *s, struct ptcp_endpoint *ep, char *err, size_t errlen)
{
	char host[64];
	const char *colon = strrchr(s, ':'), *h = s;
	size_t n;
	uint16_t port;

	if (!colon || colon == s || colon[1] == '\0') {
		snprintf(err, errlen, "invalid peer: '%s' (expected ADDR:PORT or [IPV6-ADDR]:PORT)", s);
		return -1;
	}
	n = (size_t)(colon - s);
	if (s[0] == '[') {
		/* "[v6]:port" (RFC 3986 section 3.2.2) */
		if (n < 2 || s[n - 1] != ']') {
			snprintf(err, errlen, "invalid peer: '%s' (expected [IPV6-ADDR]:PORT)", s);
			return -1;
		}
		h = s + 1;
		n -= 2;
	} else if (memchr(s, ':', n)) {
		/* "2001:db8::1:4000": where would the address end? */
		snprintf(err, errlen, "invalid peer: '%s' (an IPv6 address goes in brackets: "
			 "[IPV6-ADDR]:PORT)", s);
		return -1;
	}
	if (n >= sizeof(host)) {
		snprintf(err, errlen, "invalid address: '%.*s'", (int)n, h);
		return -1;
	}
	memcpy(host, h, n);
	host[n] = '\0';
	if (ptcp_cli_parse_addr(host, ep, err, errlen) != 0 ||
	    ptcp_cli_parse_port(colon + 1, &port, err, errlen) != 0)
		return -1;
	/* "[10.0.0.1]:80" is no IPv6 address. */
	if ((s[0] == '[') != (ep->family == PTCP_AF_INET6)) {
		snprintf(err, errlen, "invalid peer: '%s' (brackets are for IPv6 addresses only)", s);
		return -1;
	}
	ep->port = port;
	return 0;
}

int ptcp_cli_parse_u32(const char *s, uint32_t *v, const char *what, char *err, size_t errlen)
{
	unsigned long long x;
	char *end;
	int base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		if (!s[2])
			goto bad;
	}
	if (s[0] < '0' || s[0] > '9')
		goto bad;
	errno = 0;
	x = strtoull(s, &end, base);
	if (errno || *end || x > 0xffffffffULL)
		goto bad;
	*v = (uint32_t)x;
	return 0;
bad:
	snprintf(err, errlen, "invalid %s: '%s'", what, s);
	return -1;
}

int ptcp_cli_parse_duration(const char *s, uint64_t unit_ns, uint64_t max_ns, uint64_t *ns,
                            const char *what, char *err, size_t errlen)
{
	uint64_t whole = 0, frac = 0, scale = 1, total;
	const char *p = s;

	if (*p < '0' || *p > '9')
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (uint64_t)(*p - '0');
		if (whole > max_ns)
			goto bad;
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			goto bad;
		/* Nine digits reach a nanosecond of a second; more are noise. */
		for (; *p >= '0' && *p <= '9'; p++)
			if (scale < NS_PER_S) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				scale *= 10;
			}
	}
	if (*p)
		goto bad;
	if (unit_ns && whole > max_ns / unit_ns)
		goto bad;
	total = whole * unit_ns + frac * unit_ns / scale;
	if (total > max_ns)
		goto bad;
	*ns = total;
	return 0;
bad:
	snprintf(err, errlen, "invalid %s: '%s'", what, s);
	return -1;
}

/* --- the option table ------------------------------------------------------------ */

/* Where an option applies: each subcommand in each mode. */
#define C_RDV 1u      /* connect <peer-id> */
#define C_DIR 2u      /* connect --peer ADDR:PORT */
#define L_RDV 4u      /* listen through a rendezvous server */
#define L_DIR 8u      /* listen --local-port PORT, direct */
#define RDV (C_RDV | L_RDV)
#define DIR (C_DIR | L_DIR)
#define ALL (RDV | DIR)

enum opt_id {
	O_HELP, O_VERBOSE, O_SYSLOG, O_LOCAL_PORT, O_LOCAL_ADDR, O_TIMEOUT, O_LINGER, O_SNDBUF,
	O_RCVBUF, O_PCAP, O_GSO, O_NO_GSO, O_PUNCH_INTERVAL, O_PUNCH_WINDOW, O_TTL, O_KEEPALIVE,
	O_NO_KEEPALIVE, O_PEER, O_ISN, O_PEER_ISN, O_ACTIVE, O_RENDEZVOUS, O_RENDEZVOUS_KEY,
	O_DIR, O_WAIT, O_ALLOW, O_ALLOW_FILE, O_EXEC, O_FORWARD, O_MAX_PEERS, O_NO_ENCRYPT,
	O_NO_RELAY, O_NO_KNOWN,
};

static const struct opt {
	const char *name;
	enum opt_id id;
	bool value;          /* takes a value */
	unsigned modes;      /* where it applies */
} table[] = {
	{ "--help", O_HELP, false, ALL },
	{ "-h", O_HELP, false, ALL },
	{ "--verbose", O_VERBOSE, false, ALL },
	{ "--syslog", O_SYSLOG, false, ALL },
	{ "--local-port", O_LOCAL_PORT, true, ALL },
	{ "--local-addr", O_LOCAL_ADDR, true, ALL },
	{ "--timeout", O_TIMEOUT, true, C_DIR | L_RDV | L_DIR },
	{ "--linger", O_LINGER, true, ALL },
	{ "--sndbuf", O_SNDBUF, true, ALL },
	{ "--rcvbuf", O_RCVBUF, true, ALL },
	{ "--pcap", O_PCAP, true, ALL },
	{ "--gso", O_GSO, false, ALL },
	{ "--no-gso", O_NO_GSO, false, ALL },
	{ "--punch-interval", O_PUNCH_INTERVAL, true, RDV | C_DIR },
	{ "--punch-window", O_PUNCH_WINDOW, true, RDV },
	{ "--first-syn-ttl", O_TTL, true, RDV | C_DIR },
	{ "--keepalive", O_KEEPALIVE, true, ALL },
	{ "--no-keepalive", O_NO_KEEPALIVE, false, ALL },
	{ "--peer", O_PEER, true, C_DIR },
	{ "--isn", O_ISN, true, C_DIR },
	{ "--peer-isn", O_PEER_ISN, true, C_DIR },
	{ "--active", O_ACTIVE, false, C_DIR },
	{ "--rendezvous", O_RENDEZVOUS, true, RDV },
	{ "--rendezvous-key", O_RENDEZVOUS_KEY, true, RDV },
	{ "--no-known-servers", O_NO_KNOWN, false, RDV },
	{ "--dir", O_DIR, true, RDV },
	{ "--wait", O_WAIT, true, C_RDV },
	{ "--allow", O_ALLOW, true, L_RDV },
	{ "--allow-file", O_ALLOW_FILE, true, L_RDV },
	{ "--exec", O_EXEC, true, L_RDV },
	{ "--forward", O_FORWARD, true, L_RDV },
	{ "--max-peers", O_MAX_PEERS, true, L_RDV },
	{ "--no-encrypt", O_NO_ENCRYPT, false, RDV },
	{ "--no-relay", O_NO_RELAY, false, RDV },
};

#define N_TABLE (sizeof(table) / sizeof(table[0]))

static const struct opt *find_opt(const char *arg, size_t len)
{
	size_t i;

	for (i = 0; i < N_TABLE; i++)
		if (strlen(table[i].name) == len && strncmp(table[i].name, arg, len) == 0)
			return &table[i];
	return NULL;
}

static bool is_verbose(const char *a)
{
	return a[0] == '-' && a[1] == 'v' && strspn(a + 1, "v") == strlen(a + 1);
}

/* --- the config file ------------------------------------------------------------- */

/* Reads "KEY = VALUE" from $XDG_CONFIG_HOME/p2ptcp/config (or DIR/config)
 * into buf. Returns true when found. */
static bool config_value(const char *dir_opt, const char *key, char *buf, size_t cap)
{
	char dir[4096], path[4200], line[512];
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *k, *v, *e;
	bool found = false;
	FILE *f;

	if (dir_opt)
		snprintf(dir, sizeof(dir), "%s", dir_opt);
	else if (xdg && xdg[0] == '/')
		snprintf(dir, sizeof(dir), "%s/p2ptcp", xdg);
	else if (home && *home)
		snprintf(dir, sizeof(dir), "%s/.config/p2ptcp", home);
	else
		return false;
	snprintf(path, sizeof(path), "%s/config", dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		k = line + strspn(line, " \t");
		if (*k == '#' || !(v = strchr(k, '=')))
			continue;
		for (e = v; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
			;
		*e = '\0';
		if (strcmp(k, key) != 0)
			continue;
		v += 1 + strspn(v + 1, " \t");
		v[strcspn(v, " \t\r\n#")] = '\0';
		if (*v && strlen(v) < cap) {
			snprintf(buf, cap, "%s", v);
			found = true;
		}
	}
	fclose(f);
	return found;
}

/* --- the allow list -------------------------------------------------------------- */

static int allow_add(struct ptcp_cli_opts *o, const char *text, char *err, size_t errlen)
{
	uint8_t (*a)[PTCP_ID_LEN];

	if (o->n_allow == PTCP_CLI_ALLOW_MAX) {
		snprintf(err, errlen, "too many allowed peer ids (at most %d)", PTCP_CLI_ALLOW_MAX);
		return -1;
	}
	a = realloc(o->allow, (o->n_allow + 1) * sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	o->allow = a;
	if (ptcp_id_parse(o->allow[o->n_allow], text, err, errlen) != 0)
		return -1;
	o->n_allow++;
	return 0;
}

int ptcp_cli_read_allow_file(struct ptcp_cli_opts *o, const char *path, char *err, size_t errlen)
{
	char line[512], e2[384];
	unsigned lineno = 0, before = o->n_allow;
	char *t, *end;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "cannot read allow file '%s': %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "#\r\n")] = '\0';
		t = line + strspn(line, " \t");
		for (end = t + strlen(t); end > t && (end[-1] == ' ' || end[-1] == '\t'); end--)
			;
		*end = '\0';
		if (!*t)
			continue;
		if (allow_add(o, t, e2, sizeof(e2)) != 0) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, e2);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	/* An empty list would let anyone in: most likely a mistake. */
	if (o->n_allow == before) {
		snprintf(err, errlen, "allow file '%s' lists no peer id (it would allow anyone: "
			 "leave out --allow-file for that)", path);
		return -1;
	}
	return 0;
}

void ptcp_cli_opts_free(struct ptcp_cli_opts *o)
{
	free(o->allow);
	o->allow = NULL;
	o->n_allow = 0;
}

/* --- parsing ---------------------------------------------------------------------- */

static int parse_bytes(const char *s, uint32_t *v, const char *what, char *err, size_t errlen)
{
	/* The engine takes up to 1 GiB; the window scale follows. */
	if (ptcp_cli_parse_u32(s, v, what, err, errlen) != 0)
		return -1;
	if (*v < 1024 || *v > (1u << 30)) {
		snprintf(err, errlen, "invalid %s: '%s' (1024 to 1073741824 bytes)", what, s);
		return -1;
	}
	return 0;
}

/* HOST:PORT of --forward: the host is looked up for each peer. */
static int parse_forward(struct ptcp_cli_opts *o, const char *v, char *err, size_t errlen)
{
	const char *colon = strrchr(v, ':');
	uint16_t port;

	if (!colon || colon == v || (size_t)(colon - v) >= sizeof(o->forward_host)) {
		snprintf(err, errlen, "invalid --forward: '%s' (expected HOST:PORT)", v);
		return -1;
	}
	if (ptcp_cli_parse_port(colon + 1, &port, err, errlen) != 0)
		return -1;
	snprintf(o->forward_host, sizeof(o->forward_host), "%.*s", (int)(colon - v), v);
	snprintf(o->forward_port, sizeof(o->forward_port), "%u", port);
	o->forward = v;
	return 0;
}

/* Pins the server's key by text (where names the source for errors):
 * refused when it is not an id, or when another pin differs. */
static int pin_key(struct ptcp_cli_opts *o, const char *text, const char *where, char *err,
		   size_t errlen)
{
	uint8_t key[PTCP_ID_LEN];
	char why[256];

	if (ptcp_id_parse(key, text, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", where, why);
		return -1;
	}
	if (o->has_server_key && memcmp(key, o->server_key, sizeof(key)) != 0) {
		snprintf(err, errlen, "%s pins the rendezvous key '%s', but it is pinned as '%s' already",
			 where, text, o->buf_rendezvous_key);
		return -1;
	}
	memcpy(o->server_key, key, sizeof(key));
	o->has_server_key = true;
	(void)ptcp_id_format(key, o->buf_rendezvous_key, sizeof(o->buf_rendezvous_key));
	o->rendezvous_key = o->buf_rendezvous_key;
	return 0;
}

/* Splits "<id>@host[:port]": the id pins the server's key, the rest is
 * the server. */
static int split_pin(struct ptcp_cli_opts *o, const char *where, char *err, size_t errlen)
{
	const char *at = strchr(o->rendezvous, '@');
	char id[PTCP_ID_TEXT_MAX + 1];

	if (!at)
		return 0;
	if ((size_t)(at - o->rendezvous) >= sizeof(id) ||
	    strlen(at + 1) >= sizeof(o->buf_rendezvous)) {
		snprintf(err, errlen, "%s: invalid rendezvous server '%s'", where, o->rendezvous);
		return -1;
	}
	snprintf(id, sizeof(id), "%.*s", (int)(at - o->rendezvous), o->rendezvous);
	if (pin_key(o, id, where, err, errlen) != 0)
		return -1;
	memmove(o->buf_rendezvous, at + 1, strlen(at + 1) + 1);
	o->rendezvous = o->buf_rendezvous;
	return 0;
}

/* The server's record in known_servers, unless turned off: without
 * another pin, its key is the pin (so the registration goes 0-RTT). A
 * pin given otherwise wins (and replaces the record once proven). */
static int settle_known(struct ptcp_cli_opts *o, char *err, size_t errlen)
{
	char v[16];

	if (!o->no_known && config_value(o->dir, "known-servers", v, sizeof(v))) {
		if (strcmp(v, "no") == 0) {
			o->no_known = true;
		} else if (strcmp(v, "yes") != 0) {
			snprintf(err, errlen, "the config file's 'known-servers': invalid value '%s' "
				 "(yes or no)", v);
			return -1;
		}
	}
	if (o->no_known)
		return 0;
	if (ptcp_known_lookup(&o->known, o->dir, o->rendezvous, err, errlen) != 0)
		return -1;
	if (o->known.line && !o->has_server_key) {
		(void)ptcp_id_format(o->known.key, o->buf_rendezvous_key, sizeof(o->buf_rendezvous_key));
		o->rendezvous_key = o->buf_rendezvous_key;
	}
	return 0;
}

/* The server, from the command line, the environment or the config file
 * (whose pin goes with the config's server only), and its "<id>@". */
static int settle_rendezvous(struct ptcp_cli_opts *o, char *err, size_t errlen)
{
	char pin[PTCP_ID_TEXT_MAX + 8];
	const char *where;

	if (o->rendezvous) {
		where = "--rendezvous";
	} else if ((o->rendezvous = getenv(PTCP_CLI_RDV_ENV)) != NULL && *o->rendezvous) {
		where = PTCP_CLI_RDV_ENV;
	} else if (config_value(o->dir, "rendezvous", o->buf_rendezvous, sizeof(o->buf_rendezvous))) {
		o->rendezvous = o->buf_rendezvous;
		where = "the config file's 'rendezvous'";
		if (config_value(o->dir, "rendezvous-key", pin, sizeof(pin)) &&
		    pin_key(o, pin, "the config file's 'rendezvous-key'", err, errlen) != 0)
			return -1;
	} else {
		o->rendezvous = NULL;
		return 0;
	}
	if (split_pin(o, where, err, errlen) != 0)
		return -1;
	return settle_known(o, err, errlen);
}

static int apply(struct ptcp_cli_opts *o, const struct opt *d, const char *v, char *err,
		 size_t errlen)
{
	uint64_t ns;
	uint32_t x;

	switch (d->id) {
	case O_HELP:
		o->help = true;
		return 0;
	case O_VERBOSE:
		o->verbose++;
		return 0;
	case O_SYSLOG:
		o->syslog = true;
		return 0;
	case O_LOCAL_PORT:
		return ptcp_cli_parse_port(v, &o->local_port, err, errlen);
	case O_LOCAL_ADDR:
		o->has_local_addr = true;
		return ptcp_cli_parse_addr(v, &o->local, err, errlen);
	case O_TIMEOUT:
		o->has_timeout = true;
		return ptcp_cli_parse_duration(v, NS_PER_S, 86400 * NS_PER_S, &o->timeout, "timeout",
					       err, errlen);
	case O_LINGER:
		if (ptcp_cli_parse_duration(v, NS_PER_MS, 120 * NS_PER_S, &ns, "linger time", err,
					    errlen) != 0)
			return -1;
		o->linger = (int64_t)ns;
		return 0;
	case O_SNDBUF:
		return parse_bytes(v, &o->sndbuf, "send buffer size", err, errlen);
	case O_RCVBUF:
		return parse_bytes(v, &o->rcvbuf, "receive buffer size", err, errlen);
	case O_PCAP:
		if (!*v) {
			snprintf(err, errlen, "invalid capture file: ''");
			return -1;
		}
		o->pcap = v;
		return 0;
	case O_GSO:
		o->gso = true;
		return 0;
	case O_NO_GSO:
		o->no_gso = true;
		return 0;
	case O_PUNCH_INTERVAL:
		if (ptcp_cli_parse_duration(v, NS_PER_MS, 60 * NS_PER_S, &o->punch_interval,
					    "punch interval", err, errlen) != 0)
			return -1;
		if (o->punch_interval < NS_PER_MS) {
			snprintf(err, errlen, "invalid punch interval: '%s' (at least 1 ms)", v);
			return -1;
		}
		return 0;
	case O_PUNCH_WINDOW:
		if (ptcp_cli_parse_duration(v, NS_PER_S, 3600 * NS_PER_S, &o->punch_window,
					    "punch window", err, errlen) != 0)
			return -1;
		if (o->punch_window == 0) {
			snprintf(err, errlen, "invalid punch window: '%s'", v);
			return -1;
		}
		return 0;
	case O_TTL:
		if (ptcp_cli_parse_u32(v, &x, "TTL", err, errlen) != 0)
			return -1;
		if (x > 255) {
			snprintf(err, errlen, "invalid TTL: '%s' (0 to 255)", v);
			return -1;
		}
		o->has_ttl = true;
		o->first_syn_ttl = (uint8_t)x;
		return 0;
	case O_KEEPALIVE:
		if (ptcp_cli_parse_duration(v, NS_PER_S, 7200 * NS_PER_S, &o->keepalive,
					    "keepalive interval", err, errlen) != 0)
			return -1;
		if (o->keepalive < NS_PER_S) {
			snprintf(err, errlen, "invalid keepalive interval: '%s' (at least 1 s)", v);
			return -1;
		}
		return 0;
	case O_NO_KEEPALIVE:
		o->no_keepalive = true;
		return 0;
	case O_PEER:
		o->has_peer = true;
		return ptcp_cli_parse_endpoint(v, &o->peer, err, errlen);
	case O_ISN:
		o->has_isn = true;
		return ptcp_cli_parse_u32(v, &o->isn, "ISN", err, errlen);
	case O_PEER_ISN:
		o->has_peer_isn = true;
		return ptcp_cli_parse_u32(v, &o->peer_isn, "peer ISN", err, errlen);
	case O_ACTIVE:
		o->active = true;
		return 0;
	case O_RENDEZVOUS:
		if (!*v) {
			snprintf(err, errlen, "invalid rendezvous server: ''");
			return -1;
		}
		o->rendezvous = v;
		return 0;
	case O_RENDEZVOUS_KEY:
		return pin_key(o, v, "--rendezvous-key", err, errlen);
	case O_DIR:
		o->dir = v;
		return 0;
	case O_WAIT:
		return ptcp_cli_parse_duration(v, NS_PER_S, 3600 * NS_PER_S, &o->wait, "wait time", err,
					       errlen);
	case O_ALLOW:
		return allow_add(o, v, err, errlen);
	case O_ALLOW_FILE:
		return ptcp_cli_read_allow_file(o, v, err, errlen);
	case O_EXEC:
		if (!*v) {
			snprintf(err, errlen, "invalid --exec: '' (give a shell command)");
			return -1;
		}
		o->exec_cmd = v;
		return 0;
	case O_FORWARD:
		return parse_forward(o, v, err, errlen);
	case O_MAX_PEERS:
		if (ptcp_cli_parse_u32(v, &x, "peer limit", err, errlen) != 0)
			return -1;
		if (x < 1 || x > 10000) {
			snprintf(err, errlen, "invalid peer limit: '%s' (1 to 10000)", v);
			return -1;
		}
		o->max_peers = x;
		return 0;
	case O_NO_ENCRYPT:
		o->no_encrypt = true;
		return 0;
	case O_NO_RELAY:
		o->no_relay = true;
		return 0;
	case O_NO_KNOWN:
		o->no_known = true;
		return 0;
	}
	return 0;
}

/* The rendezvous server from --rendezvous, the environment or the config
 * file, if any. */
static const char *find_rendezvous(struct ptcp_cli_opts *o, int argc, char *argv[])
{
	const char *v;
	int i;

	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--rendezvous=", 13) == 0)
			return argv[i] + 13;
		if (strcmp(argv[i], "--rendezvous") == 0 && i + 1 < argc)
			return argv[i + 1];
	}
	v = getenv(PTCP_CLI_RDV_ENV);
	if (v && *v)
		return v;
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			break;
	if (config_value(i < argc ? argv[i + 1] : NULL, "rendezvous", o->buf_rendezvous,
			 sizeof(o->buf_rendezvous)))
		return o->buf_rendezvous;
	return NULL;
}

/* Which mode a command line means, from what it holds: a peer id or
 * --peer for connect; for listen, --local-port alone (no server named
 * anywhere, no option of the rendezvous mode) is direct. */
static bool wants_direct(struct ptcp_cli_opts *o, bool listen, int argc, char *argv[])
{
	bool local_port = false, rdv_opt = false, positional = false;
	const struct opt *d;
	const char *eq;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (is_verbose(a))
			continue;
		if (a[0] != '-') {
			positional = true;
			continue;
		}
		eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
		d = find_opt(a, eq ? (size_t)(eq - a) : strlen(a));
		if (!d)
			continue;
		if (d->id == O_PEER)
			return true;
		if (d->id == O_LOCAL_PORT)
			local_port = true;
		if (!(d->modes & DIR))
			rdv_opt = true;
		if (d->value && !eq)
			i++;
	}
	if (!listen)
		return false;
	if (positional || rdv_opt || !local_port)
		return false;
	return !find_rendezvous(o, argc, argv);
}

static int check(struct ptcp_cli_opts *o, char *err, size_t errlen)
{
	if (o->direct) {
		if (o->local_port == 0) {
			snprintf(err, errlen, "missing --local-port");
			return -1;
		}
		if (!o->listen && o->active && o->punch_interval) {
			snprintf(err, errlen, "--punch-interval applies to simultaneous open, not --active");
			return -1;
		}
		if (o->has_local_addr && memcmp(o->local.addr, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0) {
			snprintf(err, errlen, "invalid address: '%s' (give the address the peer sends to)",
				 o->local.family == PTCP_AF_INET6 ? "::" : "0.0.0.0");
			return -1;
		}
		if (o->has_local_addr && o->has_peer && o->local.family != o->peer.family) {
			char a[48], b[48];

			snprintf(err, errlen, "--local-addr %s and --peer %s: not of one IP version",
				 ptcp_endpoint_format(&o->local, a, sizeof(a)),
				 ptcp_endpoint_format(&o->peer, b, sizeof(b)));
			return -1;
		}
		return 0;
	}
	if (o->has_timeout && (o->exec_cmd || o->forward)) {
		snprintf(err, errlen, "--timeout is for a listen that serves one peer: a service "
			 "(--exec, --forward) runs until it is stopped");
		return -1;
	}
	if (o->exec_cmd && o->forward) {
		snprintf(err, errlen, "--exec '%s' and --forward '%s' exclude each other", o->exec_cmd,
			 o->forward);
		return -1;
	}
	if (!o->listen && !o->peer_text) {
		snprintf(err, errlen, "missing <peer-id>: `p2ptcp connect <peer-id>` (or "
			 "`--peer ADDR:PORT --local-port PORT` for direct mode)");
		return -1;
	}
	if (!o->rendezvous || !*o->rendezvous) {
		snprintf(err, errlen, "no rendezvous server: %s needs one: give --rendezvous "
			 "HOST[:PORT], set " PTCP_CLI_RDV_ENV ", or put 'rendezvous = HOST:PORT' in the "
			 "config file%s",
			 o->listen ? (o->exec_cmd ? "listen --exec" : o->forward ? "listen --forward" :
				      "listen") : "connect <peer-id>",
			 o->listen && !o->exec_cmd && !o->forward ?
			 " (or --local-port PORT for direct mode)" : "");
		return -1;
	}
	return 0;
}

static const char *mode_name(bool listen, bool direct)
{
	if (listen)
		return direct ? "listen --local-port (direct mode)" : "listen through a rendezvous server";
	return direct ? "connect --peer (direct mode)" : "connect <peer-id>";
}

int ptcp_cli_parse(struct ptcp_cli_opts *o, bool listen, int argc, char *argv[], char *err,
                   size_t errlen)
{
	const struct opt *d;
	const char *arg, *eq, *v;
	unsigned mode;
	int i;

	memset(o, 0, sizeof(*o));
	o->listen = listen;
	o->linger = -1;
	o->direct = wants_direct(o, listen, argc, argv);
	mode = listen ? (o->direct ? L_DIR : L_RDV) : (o->direct ? C_DIR : C_RDV);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			o->help = true;
			return 0;
		}
	}
	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (is_verbose(arg)) {
			o->verbose += (int)strlen(arg + 1);
			continue;
		}
		if (arg[0] != '-' || arg[1] == '\0') {
			if (listen || o->direct || o->peer_text) {
				snprintf(err, errlen, "unexpected argument: '%s'", arg);
				return -1;
			}
			o->peer_text = arg;
			if (ptcp_id_parse(o->peer_id, arg, err, errlen) != 0)
				return -1;
			continue;
		}
		eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
		d = find_opt(arg, eq ? (size_t)(eq - arg) : strlen(arg));
		if (!d) {
			snprintf(err, errlen, "unknown option for %s: '%s'", listen ? "listen" : "connect",
				 arg);
			return -1;
		}
		if (!(d->modes & mode)) {
			if (d->modes & (listen ? L_RDV : C_RDV))
				snprintf(err, errlen, "option '%s' needs a rendezvous server (%s is in direct "
					 "mode: give --rendezvous HOST[:PORT])", d->name,
					 mode_name(listen, true));
			else if (d->modes & (listen ? L_DIR : C_DIR))
				snprintf(err, errlen, "option '%s' belongs to direct mode, not to %s", d->name,
					 mode_name(listen, false));
			else
				snprintf(err, errlen, "option '%s' is not for %s", d->name,
					 listen ? "listen" : "connect");
			return -1;
		}
		if (!d->value) {
			if (eq) {
				snprintf(err, errlen, "option '%s' takes no value", d->name);
				return -1;
			}
			v = NULL;
		} else if (eq) {
			v = eq + 1;
		} else if (i + 1 < argc) {
			v = argv[++i];
		} else {
			snprintf(err, errlen, "option '%s' needs a value", d->name);
			return -1;
		}
		if (apply(o, d, v, err, errlen) != 0)
			return -1;
	}
	if (!o->direct && settle_rendezvous(o, err, errlen) != 0)
		return -1;
	return check(o, err, errlen);
}

/* --- usage ------------------------------------------------------------------------- */

static const char connect_usage[] =
	"Usage: p2ptcp connect <peer-id> [--rendezvous [ID@]HOST[:PORT]] [options]\n"
	"       p2ptcp connect --peer ADDR:PORT --local-port PORT [options]   (direct mode)\n"
	"\n"
	"Connects to a peer and relays standard input to it and its bytes to standard\n"
	"output, as ssh's ProxyCommand wants: ssh -o ProxyCommand='p2ptcp connect %h' <peer-id>.\n"
	"By peer id, the rendezvous server introduces the two peers; their SYNs cross\n"
	"(TCP simultaneous open) through both NATs, and the secure channel proves the\n"
	"peer's id and encrypts the stream. End of input (or SIGHUP) closes cleanly.\n"
	"\n"
	"  <peer-id>                the peer's id, as `p2ptcp id` prints it there\n"
	"  --rendezvous [ID@]HOST[:PORT]\n"
	"                           the server (default: $" PTCP_CLI_RDV_ENV ", else\n"
	"                           'rendezvous = HOST:PORT' in $XDG_CONFIG_HOME/p2ptcp/config);\n"
	"                           a bare domain is looked up as SRV _p2ptcp._tcp.<domain>;\n"
	"                           ID@ pins the server's key, as --rendezvous-key does\n"
	"  --rendezvous-key ID      refuse a server whose key is not ID (`rendezvousd --id`\n"
	"                           prints it; in the config file 'rendezvous-key = ID'\n"
	"                           pins the config file's 'rendezvous')\n"
	"  --no-known-servers       neither pin nor record the server's key in\n"
	"                           known_servers (by default the key a server proved on\n"
	"                           first contact is recorded there and pinned from then\n"
	"                           on: 'known-servers = no' in the config file turns it off)\n"
	"  --dir DIR                where our key is (default $XDG_CONFIG_HOME/p2ptcp)\n"
	"  --wait S                 how long the peer may take to accept (default 30)\n"
	"  --punch-interval MS      longest interval between SYNs while punching:\n"
	"                           by peer id they start at 1/8 of the round trip\n"
	"                           to the server (at least 1 ms) and double up to\n"
	"                           it (default 200; direct mode: 500, fixed)\n"
	"  --punch-window S         give up punching after S seconds (default 10)\n"
	"  --first-syn-ttl N        IP TTL of the first SYN only (default 2; direct\n"
	"                           mode: 0, off)\n"
	"  --no-encrypt             plain, unauthenticated bytes (interop tests; never\n"
	"                           relayed)\n"
	"  --no-relay               when punching fails, do not fall back to the\n"
	"                           rendezvous server's relay (rendezvousd --relay;\n"
	"                           the secure channel runs end to end through it)\n"
	"\n"
	"Direct mode (each side told the other's public endpoint by hand):\n"
	"  --peer ADDR:PORT         the peer's address and port as we reach them\n"
	"                           ([IPV6-ADDR]:PORT for IPv6)\n"
	"  --isn N / --peer-isn M   our ISN / the ISN the peer's SYN must carry\n"
	"  --active                 plain three-way handshake to a listening peer\n"
	"  --timeout S              give up if not connected after S seconds (default 30)\n"
	"\n"
	"Both modes:\n"
	"  --local-port PORT        our TCP port (direct mode: required; by peer id:\n"
	"                           default any free port)\n"
	"  --local-addr ADDR        our address, IPv4 or IPv6 (default: each\n"
	"                           connection's route's, both IP versions)\n"
	"  --keepalive S            idle seconds before keepalive probes (default 25);\n"
	"                           --no-keepalive: none\n"
	"  --linger MS              time in TIME-WAIT before exiting (default: 2 RTO)\n"
	"  --sndbuf/--rcvbuf BYTES  the most the buffers grow to (default 4194304; they\n"
	"                           start at 131072 and grow with the path)\n"
	"  --pcap FILE              write every segment to FILE (pcap, mode 0600)\n"
	"  --gso                    segmentation offload through a packet socket even where\n"
	"                           this host has firewall, NAT or IPsec rules (what we send\n"
	"                           then bypasses them: docs/driver.md); without it offload\n"
	"                           is on only where the host has none\n"
	"  --no-gso                 no offload at all: every segment through the raw socket\n"
	"  --syslog                 log to syslog instead of standard error\n"
	"  -v, -vv                  log steps, states, retransmissions; -vv every segment\n"
	"\n"
	"Exit status: 0 clean close; 4 timed out (punching, connecting, or the peer\n"
	"stopped answering keepalives); 5 reset; 6 the rendezvous failed (server down,\n"
	"unknown peer, not allowed, busy); 7 symmetric NAT (and no relay); 8 the secure\n"
	"channel failed; 9 the relay failed (unreachable, refused, the peer did not\n"
	"come); 77 missing privileges; see p2ptcp(1).\n";

static const char listen_usage[] =
	"Usage: p2ptcp listen [--allow <peer-id>]... [--exec CMD | --forward HOST:PORT]\n"
	"                     [--rendezvous [ID@]HOST[:PORT]] [options]\n"
	"       p2ptcp listen --local-port PORT [options]                 (direct mode)\n"
	"\n"
	"Registers with the rendezvous server and serves peers that ask for us. With\n"
	"--exec or --forward it is a service: every allowed peer at once (up to\n"
	"--max-peers), each with its own command or forwarded connection, started only\n"
	"once the secure channel proved the peer's id; it keeps its registration (and\n"
	"registers again after the server restarts) until SIGINT or SIGTERM. Without\n"
	"them it serves one peer on standard input and output, like nc -l.\n"
	"\n"
	"  --allow <peer-id>        only this peer may connect (repeatable; default: anyone)\n"
	"  --allow-file FILE        peer ids allowed, one per line ('#' comments)\n"
	"  --exec CMD               for each peer, /bin/sh -c CMD with its standard input\n"
	"                           and output connected to the peer; its environment has\n"
	"                           P2PTCP_PEER_ID (proven, unless --no-encrypt) and\n"
	"                           P2PTCP_PEER_ADDR\n"
	"  --forward HOST:PORT      for each peer, a TCP connection to HOST:PORT\n"
	"                           (127.0.0.1:22 for ssh)\n"
	"  --max-peers N            peers served at once (default 64); more are told\n"
	"                           we are busy\n"
	"  --timeout S              without --exec/--forward: give up when no peer came\n"
	"  --rendezvous, --rendezvous-key, --no-known-servers, --dir, --punch-*,\n"
	"  --first-syn-ttl, --no-encrypt, --no-relay, --local-port, --local-addr: as for\n"
	"  connect\n"
	"\n"
	"Direct mode: --local-port PORT [--local-addr ADDR] [--timeout S]\n"
	"accepts one connection (a kernel client's, say) and relays standard input and\n"
	"output.\n"
	"\n"
	"Both modes: --keepalive, --linger, --sndbuf, --rcvbuf, --pcap, --gso, --no-gso, --syslog,\n"
	"-v, as for connect.\n"
	"\n"
	"Exit status: as for connect; the service exits 0 on SIGINT or SIGTERM (128 +\n"
	"the signal if it was serving peers), 7 for a symmetric NAT; see p2ptcp(1).\n";

const char *ptcp_cli_usage(bool listen, bool direct)
{
	(void)direct;
	return listen ? listen_usage : connect_usage;
}
