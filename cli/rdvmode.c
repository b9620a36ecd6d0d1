/* Rendezvous mode: see rdvmode.h and docs/nat-traversal.md.
 *
 * Two phases, each with its own libevent loop:
 *   1. the rendezvous: resolve the server (c-ares), register from the
 *      port the engine will use, check that our NAT keeps ports, ask for
 *      the peer (connect) or wait to be asked (listen), get the MATCH;
 *   2. at the agreed start, the direct-mode session (session.h) from that
 *      same port to the peer's endpoint, both sides punching with a
 *      simultaneous open (RFC 9293 section 3.5) and the agreed ISNs. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "clock.h"
#include "error.h"
#include "identity.h"
#include "log.h"
#include "options.h"
#include "peerid.h"
#include "random.h"
#include "rdvclient.h"
#include "rdvmode.h"
#include "resolve.h"
#include "session.h"
#include "status.h"

#define RDV_ENV "P2PTCP_RENDEZVOUS"

struct rdv_opts {
	bool listen;
	bool help;
	const char *peer_text;            /* connect: the peer id as typed */
	uint8_t peer_key[PTCP_RDV_KEY_LEN];
	const char *server_text;          /* --rendezvous, env or config */
	char server_buf[256];
	uint8_t allow[PTCP_RDV_ALLOW_MAX][PTCP_RDV_KEY_LEN];
	unsigned n_allow;
	const char *dir;                  /* --dir: identity directory */
	uint16_t local_port;              /* 0: the kernel picks */
	bool has_local_addr;
	struct ptcp_endpoint local_addr;
	uint64_t punch_interval;          /* ns between SYNs */
	uint64_t punch_window;            /* ns of punching before giving up */
	uint64_t wait;                    /* connect: ns the server may hold
	                                     the request for the peer */
	uint64_t timeout;                 /* listen: ns to wait for a peer,
	                                     0 = forever */
	int64_t linger;
	uint8_t first_syn_ttl;
	uint32_t sndbuf, rcvbuf;
	const char *pcap;
	int verbose;
};

struct rdv {
	struct rdv_opts *o;
	struct event_base *base;
	struct ptcp_identity id;
	struct ptcp_identity probe_id;    /* throwaway key of the NAT probe */
	struct ptcp_resolve *res;
	struct ptcp_rdv_client *c;
	struct ptcp_rdv_client *probe;
	struct event *deadline, *ev_int, *ev_term;
	struct ptcp_endpoint servers[PTCP_RESOLVE_MAX];
	unsigned n_servers, cur;
	struct ptcp_endpoint local;       /* the rendezvous socket's, = the engine's */
	struct ptcp_endpoint observed;    /* as the server saw us */
	bool rewritten;                   /* observed port != local port */
	uint32_t isn;
	bool matched;
	struct ptcp_rdv_match m;
	bool done;
	int exit;
	char msg[640];
	ptcp_ts t0;
};

static const char connect_usage[] =
	"Usage: p2ptcp connect <peer-id> [--rendezvous HOST[:PORT]] [--dir DIR]\n"
	"                      [--local-port PORT] [--local-addr ADDR] [--wait S]\n"
	"                      [--punch-interval MS] [--punch-window S] [--pcap FILE] [-v]\n"
	"\n"
	"Finds the peer through the rendezvous server, then opens a TCP connection to\n"
	"it through both NATs (hole punching) and relays standard input to the peer and\n"
	"the peer's bytes to standard output (ssh -o ProxyCommand='p2ptcp connect %h').\n"
	"\n"
	"  <peer-id>              the peer's id, as `p2ptcp id` prints it there\n"
	"  --rendezvous H[:P]     the server (default: $" RDV_ENV ", else\n"
	"                         'rendezvous = host:port' in the config file\n"
	"                         $XDG_CONFIG_HOME/p2ptcp/config); a bare domain is\n"
	"                         looked up as SRV _p2ptcp._tcp.<domain> first\n"
	"  --dir DIR              where our key is (default $XDG_CONFIG_HOME/p2ptcp)\n"
	"  --local-port PORT      our TCP port (default: any free port)\n"
	"  --local-addr ADDR      our address (default: the route's to the server)\n"
	"  --wait S               how long the peer may take to show up (default 30)\n"
	"  --punch-interval MS    SYN repetition while punching (default 200)\n"
	"  --punch-window S       give up punching after S seconds (default 10)\n"
	"  --first-syn-ttl N      IP TTL of the first SYN only (default 2: it opens our\n"
	"                         NAT and dies before the peer's; 0: off)\n"
	"  --linger MS            time in TIME-WAIT before exiting (default: 2 RTO)\n"
	"  --sndbuf/--rcvbuf B    send/receive buffer in bytes (default 262144)\n"
	"  --pcap FILE            write every segment sent and received to FILE (pcap)\n"
	"  -v, -vv                log the rendezvous, states and retransmissions\n"
	"\n"
	"Exit status: 0 clean close, 6 rendezvous failed (server down, unknown peer,\n"
	"not allowed), 7 symmetric NAT, 4 punching timed out; see p2ptcp(1).\n";

static const char listen_usage[] =
	"Usage: p2ptcp listen [--allow <peer-id>]... [--rendezvous HOST[:PORT]] [--dir DIR]\n"
	"                     [--local-port PORT] [--timeout S] [--punch-window S] [-v]\n"
	"\n"
	"Registers with the rendezvous server and waits for one peer to ask for us, then\n"
	"connects to it through both NATs and relays standard input and output, like\n"
	"nc -l. (--exec and --forward are not implemented yet.)\n"
	"\n"
	"  --allow <peer-id>      only this peer may connect (up to 8; default: anyone)\n"
	"  --timeout S            give up when no peer came within S seconds\n"
	"  other options as for `p2ptcp connect`\n";

/* --- options --------------------------------------------------------------- */

static const char *const valued[] = {
	"--rendezvous", "--allow", "--dir", "--local-port", "--local-addr", "--wait",
	"--punch-interval", "--punch-window", "--timeout", "--linger", "--first-syn-ttl",
	"--sndbuf", "--rcvbuf", "--pcap",
	/* direct mode's, so that their values are not taken for a peer id */
	"--peer", "--isn", "--peer-isn",
};

static bool takes_value(const char *a)
{
	size_t i;

	for (i = 0; i < sizeof(valued) / sizeof(valued[0]); i++)
		if (strcmp(a, valued[i]) == 0)
			return true;
	return false;
}

static bool opt_is(const char *a, const char *name)
{
	size_t n = strlen(name);

	return strncmp(a, name, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

/* Reads "rendezvous = host:port" from the config file into buf. */
static bool config_server(char *buf, size_t cap)
{
	char dir[PTCP_IDENTITY_PATH_MAX], path[PTCP_IDENTITY_PATH_MAX + 16], line[512];
	char *k, *v, *e;
	bool found = false;
	FILE *f;

	if (ptcp_identity_default_dir(dir, sizeof(dir)) != 0)
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
		if (strcmp(k, "rendezvous") != 0)
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

bool ptcp_rdv_mode_wanted(int argc, char *argv[], bool listen)
{
	bool peer = false, local_port = false, rdv = false;
	char buf[256];
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (opt_is(a, "--peer"))
			peer = true;
		else if (opt_is(a, "--local-port"))
			local_port = true;
		else if (opt_is(a, "--rendezvous") || opt_is(a, "--allow"))
			rdv = true;
		if (a[0] != '-') {
			rdv = true;     /* a peer id */
		} else if (takes_value(a)) {
			i++;
		}
	}
	if (peer)
		return false;
	if (rdv || getenv(RDV_ENV))
		return true;
	return listen && !local_port && config_server(buf, sizeof(buf));
}

static int parse_opts(struct rdv_opts *o, bool listen, int argc, char *argv[], char *err,
                      size_t errlen)
{
	char e2[256];
	uint64_t ns;
	uint32_t u;
	int i;

	memset(o, 0, sizeof(*o));
	o->listen = listen;
	o->punch_interval = 200 * PTCP_NS_PER_MS;
	o->punch_window = 10 * PTCP_NS_PER_S;
	o->wait = 30 * PTCP_NS_PER_S;
	o->linger = -1;
	o->first_syn_ttl = 2;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			o->help = true;
			return 0;
		}
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL, *eq;

		if (a[0] == '-' && a[1] == 'v' && a[strspn(a + 1, "v") + 1] == '\0') {
			o->verbose += (int)strlen(a) - 1;
			continue;
		}
		if (a[0] != '-') {
			if (listen || o->peer_text) {
				snprintf(err, errlen, "unexpected argument: '%s'", a);
				return -1;
			}
			o->peer_text = a;
			if (ptcp_identity_parse_peer(o->peer_key, a, err, errlen) != 0)
				return -1;
			continue;
		}
		eq = strchr(a, '=');
		if (!takes_value(a) && !(eq && a[0] == '-' && a[1] == '-')) {
			snprintf(err, errlen, "unknown option: '%s'", a);
			return -1;
		}
		if (eq) {
			v = eq + 1;
		} else if (i + 1 < argc) {
			v = argv[++i];
		} else {
			snprintf(err, errlen, "option '%s' needs a value", a);
			return -1;
		}
		if (opt_is(a, "--rendezvous")) {
			o->server_text = v;
		} else if (opt_is(a, "--allow") && listen) {
			if (o->n_allow == PTCP_RDV_ALLOW_MAX) {
				snprintf(err, errlen, "too many --allow (at most %d)", PTCP_RDV_ALLOW_MAX);
				return -1;
			}
			if (ptcp_identity_parse_peer(o->allow[o->n_allow], v, err, errlen) != 0)
				return -1;
			o->n_allow++;
		} else if (opt_is(a, "--dir")) {
			o->dir = v;
		} else if (opt_is(a, "--local-port")) {
			if (ptcp_cli_parse_port(v, &o->local_port, err, errlen) != 0)
				return -1;
		} else if (opt_is(a, "--local-addr")) {
			if (ptcp_cli_parse_addr(v, &o->local_addr, err, errlen) != 0)
				return -1;
			o->has_local_addr = true;
		} else if (opt_is(a, "--wait") && !listen) {
			if (ptcp_cli_parse_duration(v, PTCP_NS_PER_S, 3600 * PTCP_NS_PER_S, &o->wait,
						    "wait time", err, errlen) != 0)
				return -1;
		} else if (opt_is(a, "--punch-interval")) {
			if (ptcp_cli_parse_duration(v, PTCP_NS_PER_MS, 60 * PTCP_NS_PER_S, &o->punch_interval,
						    "punch interval", err, errlen) != 0)
				return -1;
			if (o->punch_interval < PTCP_NS_PER_MS) {
				snprintf(err, errlen, "invalid punch interval: '%s'", v);
				return -1;
			}
		} else if (opt_is(a, "--punch-window")) {
			if (ptcp_cli_parse_duration(v, PTCP_NS_PER_S, 3600 * PTCP_NS_PER_S, &o->punch_window,
						    "punch window", err, errlen) != 0)
				return -1;
			if (o->punch_window == 0) {
				snprintf(err, errlen, "invalid punch window: '%s'", v);
				return -1;
			}
		} else if (opt_is(a, "--timeout") && listen) {
			if (ptcp_cli_parse_duration(v, PTCP_NS_PER_S, 86400 * PTCP_NS_PER_S, &o->timeout,
						    "timeout", err, errlen) != 0)
				return -1;
		} else if (opt_is(a, "--linger")) {
			if (ptcp_cli_parse_duration(v, PTCP_NS_PER_MS, 120 * PTCP_NS_PER_S, &ns, "linger time",
						    err, errlen) != 0)
				return -1;
			o->linger = (int64_t)ns;
		} else if (opt_is(a, "--first-syn-ttl")) {
			if (ptcp_cli_parse_u32(v, &u, "TTL", err, errlen) != 0)
				return -1;
			if (u > 255) {
				snprintf(err, errlen, "invalid TTL: '%s'", v);
				return -1;
			}
			o->first_syn_ttl = (uint8_t)u;
		} else if (opt_is(a, "--sndbuf") || opt_is(a, "--rcvbuf")) {
			if (ptcp_cli_parse_u32(v, &u, "buffer size", err, errlen) != 0)
				return -1;
			*(opt_is(a, "--sndbuf") ? &o->sndbuf : &o->rcvbuf) = u;
		} else if (opt_is(a, "--pcap")) {
			o->pcap = v;
		} else {
			/* --peer, --isn, ... belong to direct mode */
			snprintf(e2, sizeof(e2), "%.*s", (int)(eq ? (size_t)(eq - a) : strlen(a)), a);
			snprintf(err, errlen, "option '%s' is not used with a rendezvous server", e2);
			return -1;
		}
	}
	if (!listen && !o->peer_text) {
		snprintf(err, errlen, "missing <peer-id> (or --peer ADDR:PORT for direct mode)");
		return -1;
	}
	if (!o->server_text)
		o->server_text = getenv(RDV_ENV);
	if (!o->server_text && config_server(o->server_buf, sizeof(o->server_buf)))
		o->server_text = o->server_buf;
	if (!o->server_text || !*o->server_text) {
		snprintf(err, errlen, "no rendezvous server: give --rendezvous HOST[:PORT], set "
			 RDV_ENV ", or put 'rendezvous = HOST:PORT' in the config file");
		return -1;
	}
	return 0;
}

/* --- the rendezvous phase ----------------------------------------------------- */

static void fail(struct rdv *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records the first failure and stops the loop. */
static void fail(struct rdv *r, int code, const char *fmt, ...)
{
	va_list ap;

	if (!r->done) {
		r->exit = code;
		va_start(ap, fmt);
		vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
		va_end(ap);
	}
	r->done = true;
	event_base_loopbreak(r->base);
}

static const char *server_str(struct rdv *r)
{
	static char b[64];

	if (r->n_servers == 0)
		return r->o->server_text;
	ptcp_endpoint_format(&r->servers[r->cur], b, sizeof(b));
	return b;
}

static const char *our_id(struct rdv *r)
{
	static char b[PTCP_PEERID_TEXT_MAX];

	if (ptcp_peerid_encode(b, sizeof(b), r->id.pk, NULL) < 0)
		b[0] = '\0';
	return b;
}

static void start_client(struct rdv *r);

static void send_request(struct rdv *r)
{
	int rv;

	r->isn = ptcp_random_u32();
	if (r->o->listen) {
		rv = ptcp_rdv_client_listen(r->c, r->isn, (const uint8_t(*)[PTCP_RDV_KEY_LEN])r->o->allow,
					    r->o->n_allow);
		ptcp_info("waiting for a peer to ask for %s", our_id(r));
	} else {
		rv = ptcp_rdv_client_connect(r->c, r->o->peer_key, r->isn,
					     (uint32_t)(r->o->wait / PTCP_NS_PER_MS));
		ptcp_info("asking for peer %s", r->o->peer_text);
	}
	if (rv != 0)
		fail(r, PTCP_EXIT_RENDEZVOUS, "cannot send the request to the rendezvous server %s: %s",
		     server_str(r), strerror(-rv));
}

static void on_error(struct ptcp_rdv_client *c, void *user, int code, bool fatal, const char *msg)
{
	struct rdv *r = user;
	const char *peer = r->o->peer_text;

	if (c == r->probe) {
		/* The probe only refines the diagnosis: go on without it. */
		ptcp_info("NAT probe failed: %s", msg);
		ptcp_rdv_client_free(r->probe);
		r->probe = NULL;
		send_request(r);
		return;
	}
	if (fatal && code < 0 && !ptcp_rdv_client_registered(c) && r->cur + 1 < r->n_servers) {
		ptcp_info("rendezvous server %s: %s; trying the next address", server_str(r), msg);
		ptcp_rdv_client_free(c);
		r->c = NULL;
		r->cur++;
		start_client(r);
		return;
	}
	switch (code) {
	case -ECONNREFUSED:
		fail(r, PTCP_EXIT_RENDEZVOUS,
		     "rendezvous server %s refused the connection (is rendezvousd running there?)",
		     server_str(r));
		break;
	case -ETIMEDOUT:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
		fail(r, PTCP_EXIT_RENDEZVOUS, "rendezvous server %s is not reachable: %s",
		     server_str(r), msg);
		break;
	case PTCP_RDV_E_UNKNOWN_PEER:
		fail(r, PTCP_EXIT_RENDEZVOUS,
		     "unknown peer '%s': it is not registered with the rendezvous server %s "
		     "(is `p2ptcp listen` running there?)", peer, server_str(r));
		break;
	case PTCP_RDV_E_NOT_AUTHORISED:
		fail(r, PTCP_EXIT_RENDEZVOUS,
		     "peer '%s' does not allow us: our peer id %s is not in its --allow list",
		     peer ? peer : "?", our_id(r));
		break;
	case PTCP_RDV_E_NOT_WAITING:
		fail(r, PTCP_EXIT_RENDEZVOUS,
		     "peer '%s' is registered but neither listened nor asked for us within %.0f s",
		     peer, (double)r->o->wait / PTCP_NS_PER_S);
		break;
	case PTCP_RDV_E_SELF:
		fail(r, PTCP_EXIT_RENDEZVOUS, "'%s' is our own peer id", peer);
		break;
	default:
		fail(r, PTCP_EXIT_RENDEZVOUS, "rendezvous server %s: %s", server_str(r), msg);
		break;
	}
	(void)fatal;
}

static void on_probe_registered(struct rdv *r, const struct ptcp_endpoint *observed)
{
	struct ptcp_endpoint local;
	int rv = ptcp_rdv_client_local(r->probe, &local);

	ptcp_rdv_client_free(r->probe);
	r->probe = NULL;
	if (rv == 0 && observed->port != local.port) {
		/* Two connections, two rewritten ports: the NAT picks a port
		 * per connection, so the port the server saw for the first
		 * one is not the one our SYNs to the peer will leave from. */
		fail(r, PTCP_EXIT_SYMMETRIC,
		     "symmetric NAT: hole punching cannot work through it (our NAT gave our "
		     "connections from ports %u and %u the ports %u and %u)",
		     r->local.port, local.port, r->observed.port, observed->port);
		return;
	}
	ptcp_info("NAT probe: port %u kept; only our first port was taken", local.port);
	send_request(r);
}

static void on_registered(struct ptcp_rdv_client *c, void *user, const struct ptcp_endpoint *observed)
{
	struct rdv *r = user;
	struct ptcp_rdv_client_config cfg;
	char a[64], b[64];

	if (c == r->probe) {
		on_probe_registered(r, observed);
		return;
	}
	if (ptcp_rdv_client_local(c, &r->local) != 0) {
		fail(r, PTCP_EXIT_SYSTEM, "cannot read the rendezvous socket's address");
		return;
	}
	r->observed = *observed;
	ptcp_info("registered with %s from %s as %s, seen as %s", server_str(r),
		  ptcp_endpoint_format(&r->local, a, sizeof(a)), our_id(r),
		  ptcp_endpoint_format(observed, b, sizeof(b)));
	if (observed->port == r->local.port) {
		send_request(r);
		return;
	}
	/* Our NAT changed the port. Ask once more from another port, under
	 * a throwaway key (registering ours twice would replace the first
	 * registration), to tell a one-off collision from a NAT that
	 * changes every port. */
	r->rewritten = true;
	ptcp_info("our NAT rewrote port %u to %u: probing from a second port", r->local.port,
		  observed->port);
	ptcp_rdv_client_config_default(&cfg);
	cfg.base = r->base;
	cfg.id = &r->probe_id;
	cfg.server = r->servers[r->cur];
	cfg.local = r->local;
	cfg.local.port = 0;
	cfg.register_timeout = 5 * PTCP_NS_PER_S;
	cfg.on_registered = on_registered;
	cfg.on_match = NULL;
	cfg.on_error = on_error;
	cfg.user = r;
	if (ptcp_identity_generate(&r->probe_id) != 0 || ptcp_rdv_client_new(&r->probe, &cfg) != 0) {
		r->probe = NULL;
		send_request(r);
	}
}

static void on_match(struct ptcp_rdv_client *c, void *user, const struct ptcp_rdv_match *m)
{
	struct rdv *r = user;

	if (c == r->probe)
		return;
	if (m->isn != r->isn || (!r->o->listen && memcmp(m->peer_key, r->o->peer_key,
							 PTCP_RDV_KEY_LEN) != 0)) {
		fail(r, PTCP_EXIT_RENDEZVOUS,
		     "rendezvous server %s sent a match that is not for our request", server_str(r));
		return;
	}
	r->m = *m;
	r->matched = true;
	/* The rendezvous connection is done: its socket goes (FIN, then
	 * TIME-WAIT beside the engine's port reservation, see
	 * docs/nat-traversal.md). */
	ptcp_rdv_client_free(c);
	r->c = NULL;
	r->done = true;
	event_base_loopbreak(r->base);
}

static void start_client(struct rdv *r)
{
	struct ptcp_rdv_client_config cfg;
	int rv;

	ptcp_rdv_client_config_default(&cfg);
	cfg.base = r->base;
	cfg.id = &r->id;
	cfg.server = r->servers[r->cur];
	if (r->o->has_local_addr)
		cfg.local = r->o->local_addr;
	cfg.local.port = r->o->local_port;
	cfg.register_timeout = 10 * PTCP_NS_PER_S;
	cfg.on_registered = on_registered;
	cfg.on_match = on_match;
	cfg.on_error = on_error;
	cfg.user = r;
	ptcp_info("connecting to the rendezvous server %s", server_str(r));
	rv = ptcp_rdv_client_new(&r->c, &cfg);
	if (rv == 0)
		return;
	r->c = NULL;
	if (rv == -EADDRINUSE) {
		fail(r, PTCP_EXIT_SYSTEM, "local port %u is in use", r->o->local_port);
	} else if (r->cur + 1 < r->n_servers) {
		r->cur++;
		start_client(r);
	} else {
		fail(r, PTCP_EXIT_RENDEZVOUS, "cannot connect to the rendezvous server %s: %s",
		     server_str(r), strerror(-rv));
	}
}

static void on_resolved(void *user, const struct ptcp_endpoint *eps, unsigned n, const char *msg)
{
	struct rdv *r = user;

	/* eps and msg live in the resolver: use them before freeing it. */
	if (n == 0)
		fail(r, PTCP_EXIT_RENDEZVOUS, "rendezvous server: %s", msg);
	/* The engine speaks IPv4 only so far. */
	for (unsigned i = 0; i < n; i++)
		if (eps[i].family == PTCP_AF_INET)
			r->servers[r->n_servers++] = eps[i];
	ptcp_resolve_free(r->res);
	r->res = NULL;
	if (n == 0)
		return;
	if (r->n_servers == 0) {
		fail(r, PTCP_EXIT_RENDEZVOUS, "rendezvous server '%s' has only IPv6 addresses: "
		     "IPv6 is not supported yet", r->o->server_text);
		return;
	}
	start_client(r);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct rdv *r = arg;

	(void)fd;
	(void)what;
	if (r->o->listen)
		fail(r, PTCP_EXIT_TIMEOUT, "no peer asked for us within %.0f s",
		     (double)r->o->timeout / PTCP_NS_PER_S);
	else
		fail(r, PTCP_EXIT_RENDEZVOUS, "no answer from the rendezvous server %s in time",
		     server_str(r));
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct rdv *r = arg;

	(void)what;
	fail(r, PTCP_EXIT_SIGNAL + (int)sig, "interrupted by signal %d", (int)sig);
}

/* Runs phase 1. Returns 0 with r->m filled, or the exit code. */
static int rendezvous(struct rdv *r)
{
	struct timeval tv;
	uint64_t limit;
	char host[256], err[300];
	uint16_t port;
	int rv;

	r->base = event_base_new();
	r->deadline = r->base ? evtimer_new(r->base, on_deadline, r) : NULL;
	r->ev_int = r->base ? evsignal_new(r->base, SIGINT, on_signal, r) : NULL;
	r->ev_term = r->base ? evsignal_new(r->base, SIGTERM, on_signal, r) : NULL;
	if (!r->deadline || !r->ev_int || !r->ev_term) {
		fail(r, PTCP_EXIT_SYSTEM, "cannot set up the event loop");
		return r->exit;
	}
	evsignal_add(r->ev_int, NULL);
	evsignal_add(r->ev_term, NULL);
	limit = r->o->listen ? r->o->timeout : 20 * PTCP_NS_PER_S + r->o->wait;
	if (limit) {
		tv.tv_sec = (time_t)(limit / PTCP_NS_PER_S);
		tv.tv_usec = (suseconds_t)(limit % PTCP_NS_PER_S / 1000);
		evtimer_add(r->deadline, &tv);
	}

	if (ptcp_rdv_parse_hostport(r->o->server_text, PTCP_RDV_PORT, &r->servers[0], err,
				    sizeof(err)) == 0) {
		r->n_servers = 1;    /* a numeric address: nothing to resolve */
		start_client(r);
	} else if (ptcp_resolve_split(r->o->server_text, host, sizeof(host), &port, err,
				      sizeof(err)) != 0) {
		fail(r, PTCP_EXIT_USAGE, "%s", err);
	} else if ((rv = ptcp_resolve_start(&r->res, r->base, host, port, PTCP_RDV_PORT, 5000,
					    on_resolved, r)) != 0) {
		fail(r, PTCP_EXIT_RENDEZVOUS, "cannot resolve '%s': %s", host, strerror(-rv));
	}
	if (!r->done)
		event_base_dispatch(r->base);
	return r->matched ? 0 : r->exit;
}

static void rendezvous_free(struct rdv *r)
{
	ptcp_resolve_free(r->res);
	ptcp_rdv_client_free(r->probe);
	ptcp_rdv_client_free(r->c);
	if (r->deadline)
		event_free(r->deadline);
	if (r->ev_int)
		event_free(r->ev_int);
	if (r->ev_term)
		event_free(r->ev_term);
	if (r->base)
		event_base_free(r->base);
	r->res = NULL;
	r->probe = r->c = NULL;
	r->base = NULL;
}

/* --- the punching phase ---------------------------------------------------------- */

static bool same_addr(const struct ptcp_endpoint *a, const struct ptcp_endpoint *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static void sleep_until(ptcp_ts at)
{
	ptcp_ts now = ptcp_clock_now();
	struct timespec ts;

	if (at <= now)
		return;
	ts.tv_sec = (time_t)((at - now) / PTCP_NS_PER_S);
	ts.tv_nsec = (long)((at - now) % PTCP_NS_PER_S);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int punch(struct rdv *r)
{
	const struct rdv_opts *o = r->o;
	struct ptcp_session_config cfg;
	struct ptcp_session_result res;
	char a[64], b[64], pid[PTCP_PEERID_TEXT_MAX];
	uint64_t n;

	ptcp_session_config_default(&cfg);
	cfg.local = r->local;
	cfg.remote = r->m.peer_public;
	/* Both behind the same NAT: its outside address is the same for
	 * both, and few NATs hairpin, so go to the private endpoint. */
	if (same_addr(&r->m.peer_public, &r->m.self_public) &&
	    r->m.peer_private.family != PTCP_AF_NONE) {
		cfg.remote = r->m.peer_private;
		ptcp_info("the peer is behind our own NAT: using its private endpoint");
	}
	if (ptcp_peerid_encode(pid, sizeof(pid), r->m.peer_key, NULL) < 0)
		pid[0] = '\0';
	ptcp_info("matched with %s at %s (ISN %u, ours %u, %s); punching in %u ms", pid,
		  ptcp_endpoint_format(&cfg.remote, a, sizeof(a)), r->m.peer_isn, r->m.isn,
		  r->m.role == PTCP_RDV_ROLE_INITIATOR ? "initiator" : "responder", r->m.start_ms);
	cfg.passive = false;
	cfg.has_isn = true;
	cfg.open.isn = r->m.isn;
	cfg.open.has_peer_isn = true;
	cfg.open.peer_isn = r->m.peer_isn;
	cfg.open_timeout = o->punch_window;
	cfg.linger = o->linger;
	cfg.pcap_path = o->pcap;
	if (o->sndbuf)
		cfg.conn.sndbuf = o->sndbuf;
	if (o->rcvbuf)
		cfg.conn.rcvbuf = o->rcvbuf;
	cfg.conn.first_syn_ttl = o->first_syn_ttl;
	/* Hole punching: SYNs at a fixed pace for the whole window, and RSTs
	 * from the peer's NAT (sent before the peer's own SYN opened it) do
	 * not end the attempt. */
	cfg.conn.punching = true;
	cfg.conn.syn_interval = o->punch_interval;
	n = o->punch_window / o->punch_interval + 1;
	cfg.conn.syn_retries = n > 1000000 ? 1000000 : (unsigned)n;

	/* The start delay lines our first SYN up with the peer's. */
	sleep_until(r->m.start);
	ptcp_info("punching from %s to %s", ptcp_endpoint_format(&cfg.local, a, sizeof(a)),
		  ptcp_endpoint_format(&cfg.remote, b, sizeof(b)));
	if (ptcp_session_run(&cfg, &res) == 0)
		return PTCP_EXIT_OK;
	if (res.status == PTCP_SESSION_CONN && res.conn_error == PTCP_ERR_TIMEOUT) {
		if (r->rewritten) {
			ptcp_error("no connection after %.0f s of punching: our NAT rewrote our port "
				   "%u to %u, so the peer's SYNs were aimed at a port it does not "
				   "map to us: likely a symmetric NAT, through which hole punching "
				   "cannot work", (double)o->punch_window / PTCP_NS_PER_S, r->local.port,
				   r->observed.port);
			return PTCP_EXIT_SYMMETRIC;
		}
		ptcp_error("no connection after %.0f s of punching to %s: the peer's NAT may give "
			   "each connection a new port (symmetric NAT) or drop every inbound SYN",
			   (double)o->punch_window / PTCP_NS_PER_S, a);
		return PTCP_EXIT_TIMEOUT;
	}
	ptcp_error("%s", res.msg);
	return ptcp_cli_exit_code(&res);
}

/* --- the subcommands ------------------------------------------------------------ */

static int run(int argc, char *argv[], bool listen)
{
	char dir[PTCP_IDENTITY_PATH_MAX], err[512];
	struct rdv_opts o;
	struct rdv r;
	int rv;

	memset(&r, 0, sizeof(r));
	r.t0 = ptcp_clock_now();
	ptcp_log_set_start(r.t0);
	if (parse_opts(&o, listen, argc, argv, err, sizeof(err)) != 0) {
		ptcp_error("%s", err);
		fprintf(stderr, "See 'p2ptcp %s --help'.\n",
			listen ? "listen --rendezvous HOST" : "connect <peer-id>");
		return PTCP_EXIT_USAGE;
	}
	if (o.help) {
		fputs(listen ? listen_usage : connect_usage, stdout);
		return PTCP_EXIT_OK;
	}
	ptcp_log_set_level(PTCP_LOG_WARN + o.verbose);
	r.o = &o;
	if (ptcp_random_init() != 0) {
		ptcp_error("libsodium cannot initialise its random source");
		return PTCP_EXIT_SYSTEM;
	}
	if (o.dir) {
		snprintf(dir, sizeof(dir), "%s", o.dir);
	} else if (ptcp_identity_default_dir(dir, sizeof(dir)) != 0) {
		ptcp_error("no key directory: set HOME or XDG_CONFIG_HOME, or give --dir");
		return PTCP_EXIT_USAGE;
	}
	if (ptcp_identity_load(&r.id, dir, err, sizeof(err)) != 0) {
		ptcp_error("%s", err);
		return PTCP_EXIT_CONN;
	}
	rv = rendezvous(&r);
	rendezvous_free(&r);
	ptcp_identity_wipe(&r.probe_id);
	if (rv == 0)
		rv = punch(&r);
	else
		ptcp_error("%s", r.msg);
	ptcp_identity_wipe(&r.id);
	return rv;
}

int ptcp_cmd_rdv_connect(int argc, char *argv[])
{
	return run(argc, argv, false);
}

int ptcp_cmd_rdv_listen(int argc, char *argv[])
{
	return run(argc, argv, true);
}
