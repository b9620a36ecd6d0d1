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
	struct in_addr a;
	struct in6_addr a6;

	memset(ep, 0, sizeof(*ep));
	if (inet_pton(AF_INET, s, &a) == 1) {
		ep->family = PTCP_AF_INET;
		memcpy(ep->addr, &a, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1)
		snprintf(err, errlen, "IPv6 is not supported yet: '%s'", s);
	else
		snprintf(err, errlen, "invalid address: '%s'", s);
	return -1;
}

int ptcp_cli_parse_endpoint(const char *s, struct ptcp_endpoint *ep, char *err, size_t errlen)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t n;
	uint16_t port;

	if (!colon || colon == s || colon[1] == '\0') {
		snprintf(err, errlen, "invalid peer: '%s' (expected ADDR:PORT)", s);
		return -1;
	}
	n = (size_t)(colon - s);
	/* "[v6]:port" one day; for now it gets the IPv6 message. */
	if (s[0] == '[' && n >= 2 && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n >= sizeof(host)) {
		snprintf(err, errlen, "invalid address: '%.*s'", (int)n, s);
		return -1;
	}
	memcpy(host, s, n);
	host[n] = '\0';
	if (ptcp_cli_parse_addr(host, ep, err, errlen) != 0 ||
	    ptcp_cli_parse_port(colon + 1, &port, err, errlen) != 0)
		return -1;
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

enum opt_id {
	OPT_LOCAL_PORT, OPT_LOCAL_ADDR, OPT_PEER, OPT_ISN, OPT_PEER_ISN, OPT_ACTIVE,
	OPT_PUNCH, OPT_TIMEOUT, OPT_PCAP, OPT_LINGER, OPT_TTL, OPT_SNDBUF, OPT_RCVBUF,
	OPT_GSO, OPT_HELP,
};

static const struct option_def {
	const char *name;
	enum opt_id id;
	bool value;       /* takes a value */
	bool connect;     /* allowed for connect */
	bool listen;      /* allowed for listen */
} options[] = {
	{ "--local-port", OPT_LOCAL_PORT, true, true, true },
	{ "--local-addr", OPT_LOCAL_ADDR, true, true, true },
	{ "--peer", OPT_PEER, true, true, false },
	{ "--isn", OPT_ISN, true, true, true },
	{ "--peer-isn", OPT_PEER_ISN, true, true, false },
	{ "--active", OPT_ACTIVE, false, true, false },
	{ "--punch-interval", OPT_PUNCH, true, true, false },
	{ "--timeout", OPT_TIMEOUT, true, true, true },
	{ "--pcap", OPT_PCAP, true, true, true },
	{ "--linger", OPT_LINGER, true, true, true },
	{ "--first-syn-ttl", OPT_TTL, true, true, false },
	{ "--sndbuf", OPT_SNDBUF, true, true, true },
	{ "--rcvbuf", OPT_RCVBUF, true, true, true },
	{ "--gso", OPT_GSO, false, true, true },
	{ "--help", OPT_HELP, false, true, true },
	{ "-h", OPT_HELP, false, true, true },
};

/* Options of rendezvous mode (cli/rdvmode.c), which a command line without
 * a peer id or a rendezvous server reaches us with. */
static const char *const rdv_options[] = {
	"--rendezvous", "--allow", "--dir", "--wait", "--punch-window", "--exec", "--forward",
	"--no-encrypt",
};

static bool rdv_option(const char *arg, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(rdv_options) / sizeof(rdv_options[0]); i++)
		if (strlen(rdv_options[i]) == len && strncmp(rdv_options[i], arg, len) == 0)
			return true;
	return false;
}

#define NO_SERVER_HELP "give --rendezvous HOST[:PORT], set P2PTCP_RENDEZVOUS, or put " \
	"'rendezvous = HOST:PORT' in the config file ($XDG_CONFIG_HOME/p2ptcp/config)"

static const struct option_def *find_option(const char *arg, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (strlen(options[i].name) == len && strncmp(options[i].name, arg, len) == 0)
			return &options[i];
	return NULL;
}

static int parse_bytes(const char *s, uint32_t *v, const char *what, char *err, size_t errlen)
{
	/* The engine takes 1 byte .. 1 GiB; the window scale follows. */
	if (ptcp_cli_parse_u32(s, v, what, err, errlen) != 0)
		return -1;
	if (*v < 1024 || *v > (1u << 30)) {
		snprintf(err, errlen, "invalid %s: '%s' (1024 to 1073741824 bytes)", what, s);
		return -1;
	}
	return 0;
}

static int apply(struct ptcp_cli_direct *o, const struct option_def *d, const char *v,
		 bool *seen_punch, char *err, size_t errlen)
{
	uint64_t ns;
	uint32_t x;

	switch (d->id) {
	case OPT_LOCAL_PORT:
		return ptcp_cli_parse_port(v, &o->local_port, err, errlen);
	case OPT_LOCAL_ADDR:
		o->has_local_addr = true;
		return ptcp_cli_parse_addr(v, &o->local, err, errlen);
	case OPT_PEER:
		o->has_peer = true;
		return ptcp_cli_parse_endpoint(v, &o->peer, err, errlen);
	case OPT_ISN:
		o->has_isn = true;
		return ptcp_cli_parse_u32(v, &o->isn, "ISN", err, errlen);
	case OPT_PEER_ISN:
		o->has_peer_isn = true;
		return ptcp_cli_parse_u32(v, &o->peer_isn, "peer ISN", err, errlen);
	case OPT_ACTIVE:
		o->active = true;
		return 0;
	case OPT_PUNCH:
		*seen_punch = true;
		if (ptcp_cli_parse_duration(v, NS_PER_MS, 60 * NS_PER_S, &o->punch_interval,
					    "punch interval", err, errlen) != 0)
			return -1;
		if (o->punch_interval < NS_PER_MS) {
			snprintf(err, errlen, "invalid punch interval: '%s' (at least 1 ms)", v);
			return -1;
		}
		return 0;
	case OPT_TIMEOUT:
		return ptcp_cli_parse_duration(v, NS_PER_S, 86400 * NS_PER_S, &o->timeout,
					       "timeout", err, errlen);
	case OPT_PCAP:
		if (!*v) {
			snprintf(err, errlen, "invalid capture file: ''");
			return -1;
		}
		o->pcap = v;
		return 0;
	case OPT_LINGER:
		if (ptcp_cli_parse_duration(v, NS_PER_MS, 120 * NS_PER_S, &ns, "linger time",
					    err, errlen) != 0)
			return -1;
		o->linger = (int64_t)ns;
		return 0;
	case OPT_TTL:
		if (ptcp_cli_parse_u32(v, &x, "TTL", err, errlen) != 0)
			return -1;
		if (x < 1 || x > 255) {
			snprintf(err, errlen, "invalid TTL: '%s' (1 to 255)", v);
			return -1;
		}
		o->first_syn_ttl = (uint8_t)x;
		return 0;
	case OPT_SNDBUF:
		return parse_bytes(v, &o->sndbuf, "send buffer size", err, errlen);
	case OPT_RCVBUF:
		return parse_bytes(v, &o->rcvbuf, "receive buffer size", err, errlen);
	case OPT_GSO:
		o->gso = true;
		return 0;
	case OPT_HELP:
		o->help = true;
		return 0;
	}
	return 0;
}

static int check(struct ptcp_cli_direct *o, bool seen_punch, bool seen_timeout,
		 char *err, size_t errlen)
{
	if (o->has_local_addr && memcmp(o->local.addr, "\0\0\0\0", 4) == 0) {
		snprintf(err, errlen, "invalid address: '0.0.0.0' (give the address the peer sends to)");
		return -1;
	}
	/* Nothing of direct mode: the peer-id forms are what a new user
	 * wants. */
	if (o->listen && o->local_port == 0) {
		snprintf(err, errlen, "no rendezvous server to listen through: " NO_SERVER_HELP
			 "; or --local-port PORT to listen without one");
		return -1;
	}
	if (!o->listen && o->local_port == 0 && !o->has_peer) {
		snprintf(err, errlen, "missing <peer-id>: p2ptcp connect <peer-id> connects through a "
			 "rendezvous server; --peer ADDR:PORT --local-port PORT connects directly");
		return -1;
	}
	if (o->local_port == 0) {
		snprintf(err, errlen, "missing --local-port");
		return -1;
	}
	if (o->listen)
		return 0;
	if (!o->has_peer) {
		snprintf(err, errlen, "missing --peer");
		return -1;
	}
	if (o->active && seen_punch) {
		snprintf(err, errlen, "--punch-interval applies to simultaneous open, not --active");
		return -1;
	}
	if (!seen_timeout)
		o->timeout = PTCP_CLI_CONNECT_TIMEOUT_DEFAULT;
	return 0;
}

int ptcp_cli_parse_direct(struct ptcp_cli_direct *o, bool listen, int argc, char *argv[],
                          char *err, size_t errlen)
{
	bool seen_punch = false, seen_timeout = false;
	const struct option_def *d;
	const char *arg, *eq, *v;
	size_t nlen;
	int i;

	memset(o, 0, sizeof(*o));
	o->listen = listen;
	o->punch_interval = PTCP_CLI_PUNCH_INTERVAL_DEFAULT;
	o->linger = -1;

	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (arg[0] == '-' && arg[1] == 'v' && strspn(arg + 1, "v") == strlen(arg + 1)) {
			o->verbose += (int)strlen(arg + 1);
			continue;
		}
		if (strcmp(arg, "--verbose") == 0) {
			o->verbose++;
			continue;
		}
		eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
		nlen = eq ? (size_t)(eq - arg) : strlen(arg);
		d = find_option(arg, nlen);
		if (!d && rdv_option(arg, nlen)) {
			if (listen)
				snprintf(err, errlen, "'%.*s' needs a rendezvous server: " NO_SERVER_HELP,
					 (int)nlen, arg);
			else
				snprintf(err, errlen, "'%.*s' is for connecting by peer id: p2ptcp connect "
					 "<peer-id> [--rendezvous HOST[:PORT]] ...", (int)nlen, arg);
			return -1;
		}
		if (!d || !(listen ? d->listen : d->connect)) {
			if (arg[0] == '-')
				snprintf(err, errlen, "unknown option for %s: '%s'",
					 listen ? "listen" : "connect", arg);
			else
				snprintf(err, errlen, "unexpected argument: '%s'", arg);
			return -1;
		}
		if (d->id == OPT_HELP) {
			o->help = true;
			return 0;
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
		if (d->id == OPT_TIMEOUT)
			seen_timeout = true;
		if (apply(o, d, v, &seen_punch, err, errlen) != 0)
			return -1;
	}
	return check(o, seen_punch, seen_timeout, err, errlen);
}
