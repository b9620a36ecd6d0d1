/* Rendezvous mode: see rdvmode.h and docs/nat-traversal.md.
 *
 * Two phases, each with its own libevent loop:
 *   1. the rendezvous: resolve the server (c-ares), register from the
 *      port the engine will use, check that our NAT keeps ports, ask for
 *      the peer (connect) or wait to be asked (listen), get the MATCH;
 *   2. at the agreed start, the direct-mode session (session.h) from that
 *      same port to the peer's endpoint, both sides punching with a
 *      simultaneous open (RFC 9293 section 3.5) and the agreed ISNs.
 * Before either, the wire (wire.h: the port, the raw socket, the firewall
 * table) is opened, so that missing capabilities or a port in use stop us
 * before anything goes on the network; it is kept, and so the port, for
 * every peer a server serves. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <event2/event.h>

#include "clock.h"
#include "error.h"
#include "fdio.h"
#include "identity.h"
#include "ip.h"
#include "log.h"
#include "options.h"
#include "peerid.h"
#include "privs.h"
#include "random.h"
#include "rdvclient.h"
#include "rdvmode.h"
#include "resolve.h"
#include "session.h"
#include "status.h"
#include "wire.h"

#define RDV_ENV "P2PTCP_RENDEZVOUS"

struct rdv_opts {
	bool listen;
	bool help;
	const char *peer_text;            /* connect: the peer id as typed */
	uint8_t peer_key[PTCP_RDV_KEY_LEN];
	const char *server_text;          /* --rendezvous, env or config,
	                                     without a "<id>@" */
	char server_buf[256];
	bool has_server_key;              /* pinned: --rendezvous-key, <id>@,
	                                     or rendezvous-key in the config */
	uint8_t server_key[PTCP_RDV_KEY_LEN];
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
	const char *exec_cmd;             /* listen --exec CMD */
	const char *forward;              /* listen --forward HOST:PORT */
	char forward_host[256];
	char forward_port[8];
	int verbose;
	bool no_encrypt;                  /* --no-encrypt: plain bytes on the wire */
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
	struct ptcp_wire wire;            /* the engine's port, raw socket, table */
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
	int in_fd, out_fd;                /* the session's: stdin/stdout, or
	                                     the pipes of the served child */
};

/* Set by SIGINT/SIGTERM between the event loops of a server (--exec,
 * --forward); inside them libevent's handlers take the signal. */
static volatile sig_atomic_t stop_signo;

static const char connect_usage[] =
	"Usage: p2ptcp connect <peer-id> [--rendezvous [ID@]HOST[:PORT]] [--dir DIR]\n"
	"                      [--local-port PORT] [--local-addr ADDR] [--wait S]\n"
	"                      [--punch-interval MS] [--punch-window S] [--pcap FILE] [-v]\n"
	"\n"
	"Finds the peer through the rendezvous server, then opens a TCP connection to\n"
	"it through both NATs (hole punching) and relays standard input to the peer and\n"
	"the peer's bytes to standard output (ssh -o ProxyCommand='p2ptcp connect %h').\n"
	"\n"
	"  <peer-id>              the peer's id, as `p2ptcp id` prints it there\n"
	"  --rendezvous [ID@]H[:P]\n"
	"                         the server (default: $" RDV_ENV ", else\n"
	"                         'rendezvous = host:port' in the config file\n"
	"                         $XDG_CONFIG_HOME/p2ptcp/config); a bare domain is\n"
	"                         looked up as SRV _p2ptcp._tcp.<domain> first;\n"
	"                         ID@ pins the server's key, as --rendezvous-key\n"
	"  --rendezvous-key ID    refuse a server whose key is not ID (as\n"
	"                         `rendezvousd --id` prints it; in the config file:\n"
	"                         'rendezvous-key = ID', for its 'rendezvous')\n"
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
	"  --no-encrypt           no secure channel: plain, unauthenticated bytes (for\n"
	"                         interop tests, or your own TLS on top)\n"
	"  -v, -vv                log the rendezvous, states and retransmissions\n"
	"\n"
	"Exit status: 0 clean close, 6 rendezvous failed (server down, unknown peer,\n"
	"not allowed), 7 symmetric NAT, 4 punching timed out, 8 secure channel failed\n"
	"(wrong peer, tampered, truncated); see p2ptcp(1).\n";

static const char listen_usage[] =
	"Usage: p2ptcp listen [--allow <peer-id>]... [--exec CMD | --forward HOST:PORT]\n"
	"                     [--rendezvous [ID@]HOST[:PORT]] [--dir DIR]\n"
	"                     [--local-port PORT] [--timeout S] [--punch-window S] [-v]\n"
	"\n"
	"Registers with the rendezvous server and waits for one peer to ask for us, then\n"
	"connects to it through both NATs and relays standard input and output, like\n"
	"nc -l. With --exec or --forward it serves peers one after another until\n"
	"SIGINT or SIGTERM (then exit status 0 if no connection was in progress).\n"
	"\n"
	"  --allow <peer-id>      only this peer may connect (up to 8; default: anyone)\n"
	"  --exec CMD             for each peer, run /bin/sh -c CMD with its standard\n"
	"                         input and output connected to the peer; the\n"
	"                         environment has P2PTCP_PEER_ID and P2PTCP_PEER_ADDR\n"
	"  --forward HOST:PORT    for each peer, relay to a TCP connection to HOST:PORT\n"
	"                         (e.g. 127.0.0.1:22 for ssh)\n"
	"  --timeout S            give up when no peer came within S seconds\n"
	"  other options as for `p2ptcp connect`\n";

/* --- options --------------------------------------------------------------- */

static const char *const valued[] = {
	"--rendezvous", "--rendezvous-key", "--allow", "--dir", "--local-port", "--local-addr", "--wait",
	"--punch-interval", "--punch-window", "--timeout", "--linger", "--first-syn-ttl",
	"--sndbuf", "--rcvbuf", "--pcap", "--exec", "--forward",
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

/* Reads "name = value" from the config file into buf. */
static bool config_value(const char *name, char *buf, size_t cap)
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
		if (strcmp(k, name) != 0)
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
		else if (opt_is(a, "--rendezvous") || opt_is(a, "--rendezvous-key") || opt_is(a, "--allow"))
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
	return listen && !local_port && config_value("rendezvous", buf, sizeof(buf));
}

/* HOST:PORT of --forward: the host is looked up for each peer. */
static int parse_forward(struct rdv_opts *o, const char *v, char *err, size_t errlen)
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

/* The server's key pinned by text (where names the source for errors):
 * refused when it is not an id, or when another pin differs. */
static int pin_key(struct rdv_opts *o, const char *text, const char *where, char *err, size_t errlen)
{
	uint8_t key[PTCP_RDV_KEY_LEN];
	char why[256], a[PTCP_PEERID_TEXT_MAX];

	if (ptcp_identity_parse_peer(key, text, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", where, why);
		return -1;
	}
	if (o->has_server_key && memcmp(key, o->server_key, sizeof(key)) != 0) {
		ptcp_peerid_encode(a, sizeof(a), o->server_key, NULL);
		snprintf(err, errlen, "%s pins the rendezvous key '%s', but it is pinned as '%s' already",
			 where, text, a);
		return -1;
	}
	memcpy(o->server_key, key, sizeof(key));
	o->has_server_key = true;
	return 0;
}

/* Splits "<id>@host[:port]": the id pins the server's key, the rest is
 * the server. */
static int split_pin(struct rdv_opts *o, const char *where, char *err, size_t errlen)
{
	const char *at = strchr(o->server_text, '@');
	char id[PTCP_PEERID_TEXT_MAX + 1];

	if (!at)
		return 0;
	if ((size_t)(at - o->server_text) >= sizeof(id) || strlen(at + 1) >= sizeof(o->server_buf)) {
		snprintf(err, errlen, "%s: invalid rendezvous server '%s'", where, o->server_text);
		return -1;
	}
	snprintf(id, sizeof(id), "%.*s", (int)(at - o->server_text), o->server_text);
	if (pin_key(o, id, where, err, errlen) != 0)
		return -1;
	memmove(o->server_buf, at + 1, strlen(at + 1) + 1);
	o->server_text = o->server_buf;
	return 0;
}

static int parse_opts(struct rdv_opts *o, bool listen, int argc, char *argv[], char *err,
                      size_t errlen)
{
	char e2[256], pin[PTCP_PEERID_TEXT_MAX + 8];
	const char *where = NULL;
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
		if (strcmp(a, "--no-encrypt") == 0) {
			o->no_encrypt = true;
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
		} else if (opt_is(a, "--rendezvous-key")) {
			if (pin_key(o, v, "--rendezvous-key", err, errlen) != 0)
				return -1;
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
		} else if (opt_is(a, "--exec") && listen) {
			o->exec_cmd = v;
		} else if (opt_is(a, "--forward") && listen) {
			if (parse_forward(o, v, err, errlen) != 0)
				return -1;
		} else {
			/* --peer, --isn, ... belong to direct mode */
			snprintf(e2, sizeof(e2), "%.*s", (int)(eq ? (size_t)(eq - a) : strlen(a)), a);
			snprintf(err, errlen, "option '%s' is not used with a rendezvous server", e2);
			return -1;
		}
	}
	if (o->exec_cmd && o->forward) {
		snprintf(err, errlen, "--exec '%s' and --forward '%s' exclude each other",
			 o->exec_cmd, o->forward);
		return -1;
	}
	if (!listen && !o->peer_text) {
		snprintf(err, errlen, "missing <peer-id> (or --peer ADDR:PORT for direct mode)");
		return -1;
	}
	if (o->server_text) {
		where = "--rendezvous";
	} else if ((o->server_text = getenv(RDV_ENV)) != NULL) {
		where = RDV_ENV;
	} else if (config_value("rendezvous", o->server_buf, sizeof(o->server_buf))) {
		o->server_text = o->server_buf;
		where = "the config file's 'rendezvous'";
		/* the config's pin goes with the config's server only */
		if (config_value("rendezvous-key", pin, sizeof(pin)) &&
		    pin_key(o, pin, "the config file's 'rendezvous-key'", err, errlen) != 0)
			return -1;
	}
	if (!o->server_text || !*o->server_text) {
		snprintf(err, errlen, "no rendezvous server: give --rendezvous HOST[:PORT], set "
			 RDV_ENV ", or put 'rendezvous = HOST:PORT' in the config file");
		return -1;
	}
	return split_pin(o, where, err, errlen);
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

/* The client's own lines already name the server ("rendezvous server X
 * sent a bad message: ...", "cannot connect to rendezvous server X:
 * ..."): they are said as they are; only a line that does not gets the
 * server in front. Returns msg or buf. */
static const char *about_server(struct rdv *r, const char *msg, char *buf, size_t cap)
{
	if (strstr(msg, "rendezvous server"))
		return msg;
	snprintf(buf, cap, "rendezvous server %s: %s", server_str(r), msg);
	return buf;
}

static void on_error(struct ptcp_rdv_client *c, void *user, int code, bool fatal, const char *msg)
{
	struct rdv *r = user;
	const char *peer = r->o->peer_text;
	char line[512];

	if (c == r->probe) {
		/* The probe only refines the diagnosis: go on without it. */
		ptcp_info("NAT probe failed: %s", msg);
		ptcp_rdv_client_free(r->probe);
		r->probe = NULL;
		send_request(r);
		return;
	}
	if (fatal && code < 0 && !ptcp_rdv_client_registered(c) && r->cur + 1 < r->n_servers) {
		ptcp_info("%s; trying the next address", about_server(r, msg, line, sizeof(line)));
		ptcp_rdv_client_free(c);
		r->c = NULL;
		r->cur++;
		start_client(r);
		return;
	}
	switch (code) {
	case -EKEYREJECTED:
		fail(r, PTCP_EXIT_RENDEZVOUS, "%s", msg);
		break;
	case -ECONNREFUSED:
		fail(r, PTCP_EXIT_RENDEZVOUS,
		     "rendezvous server %s refused the connection (is rendezvousd running there?)",
		     server_str(r));
		break;
	case -EHOSTUNREACH:
	case -ENETUNREACH:
		fail(r, PTCP_EXIT_RENDEZVOUS, "rendezvous server %s is not reachable: %s",
		     server_str(r), strerror(-code));
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
		/* -ETIMEDOUT too: the connect, the registration or a silent
		 * server; the client's line says which. */
		fail(r, PTCP_EXIT_RENDEZVOUS, "%s", about_server(r, msg, line, sizeof(line)));
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
	uint8_t key[PTCP_RDV_KEY_LEN];
	char a[64], b[64], id[PTCP_PEERID_TEXT_MAX];

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
	if (ptcp_rdv_client_server_key(c, key) == 0 && ptcp_peerid_encode(id, sizeof(id), key, NULL) > 0)
		ptcp_info("the rendezvous server's key is %s (%s)", id,
			  r->o->has_server_key ? "pinned" : "not pinned: --rendezvous-key pins it");
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
	cfg.has_server_key = r->o->has_server_key;
	memcpy(cfg.server_key, r->o->server_key, PTCP_RDV_KEY_LEN);
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
	/* The wire's port (and its address, once known: --local-addr, or
	 * the last round's): the server must see the engine's mapping. */
	cfg.local = r->wire.rs.local;
	cfg.has_server_key = r->o->has_server_key;
	memcpy(cfg.server_key, r->o->server_key, PTCP_RDV_KEY_LEN);
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
		fail(r, PTCP_EXIT_SYSTEM, "local port %u is in use", cfg.local.port);
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
	stop_signo = (int)sig;
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
	if (stop_signo) {
		/* It came before libevent took the signals over. */
		fail(r, PTCP_EXIT_SIGNAL + (int)stop_signo, "interrupted by signal %d",
		     (int)stop_signo);
		return r->exit;
	}
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
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stop_signo)
		;
}

/* Where our SYNs go: the peer's public endpoint, as the server saw it;
 * its private one (as the peer itself declares it) only when both
 * conditions hold:
 *   - both public addresses are equal: both behind one NAT, which few
 *     NATs hairpin (the only case it is needed);
 *   - it is in a private or link-local range (ptcp_ip_is_private()),
 *     with a port.
 * Otherwise a peer could make us send SYNs to any host and port it names:
 * our own loopback, a public address, or a LAN host when it only seems
 * to share our NAT. Returns what was chosen; *why says why a declared
 * private endpoint was not used (NULL when it was, or none was given). */
static const struct ptcp_endpoint *choose_remote(const struct ptcp_rdv_match *m, const char **why)
{
	*why = NULL;
	if (m->peer_private.family == PTCP_AF_NONE)
		return &m->peer_public;
	if (!same_addr(&m->peer_public, &m->self_public)) {
		*why = "we do not share a public address";
		return &m->peer_public;
	}
	if (!ptcp_ip_is_private(&m->peer_private) || m->peer_private.port == 0) {
		*why = "it is not a private or link-local address";
		return &m->peer_public;
	}
	return &m->peer_private;
}

/* listen --allow, checked against the id the secure channel proved (its
 * signature verified), never against the rendezvous's word for it; the
 * proven id must also be the one the rendezvous matched us with. */
static bool channel_allow(void *user, const uint8_t pk[PTCP_CHANNEL_PK_BYTES])
{
	const struct rdv *r = user;
	unsigned i;

	if (memcmp(pk, r->m.peer_key, PTCP_CHANNEL_PK_BYTES) != 0) {
		ptcp_info("the authenticated peer is not the one the rendezvous matched us with");
		return false;
	}
	for (i = 0; i < r->o->n_allow; i++)
		if (memcmp(pk, r->o->allow[i], PTCP_CHANNEL_PK_BYTES) == 0)
			return true;
	return false;
}

/* Fills *ch for the session: our key, the peer's id from the MATCH (or
 * the allow list), the role from the MATCH, and the two agreed ISNs as
 * the channel binding (docs/security.md). */
static int channel_config(struct rdv *r, struct ptcp_channel_config *ch, uint8_t binding[8])
{
	enum ptcp_channel_role role = r->m.role == PTCP_RDV_ROLE_INITIATOR ?
				      PTCP_CHANNEL_INITIATOR : PTCP_CHANNEL_RESPONDER;
	int rv;

	memset(ch, 0, sizeof(*ch));
	rv = ptcp_channel_binding_isns(binding, role, r->m.isn, r->m.peer_isn);
	if (rv < 0)
		return rv;
	ch->identity_sk = r->id.sk;
	ch->role = role;
	ch->binding = binding;
	ch->binding_len = (size_t)rv;
	if (r->o->listen && r->o->n_allow > 0) {
		ch->allow = channel_allow;
		ch->user = r;
	} else {
		ch->peer_pk = r->m.peer_key;
	}
	return 0;
}

/* session on_ready, for a one-shot connect or listen: the channel has
 * its own copy of our key (which it wipes after its one signature), and
 * the rendezvous is over, so ours goes now instead of at exit. */
static void wipe_identity(void *user)
{
	struct rdv *r = user;

	ptcp_identity_wipe(&r->id);
	ptcp_info("identity key wiped from memory (the channel signs with its own copy)");
}

static int punch(struct rdv *r)
{
	const struct rdv_opts *o = r->o;
	struct ptcp_session_config cfg;
	struct ptcp_session_result res;
	struct ptcp_channel_config chcfg;
	uint8_t binding[8];
	char a[64], b[64], pid[PTCP_PEERID_TEXT_MAX];
	const struct ptcp_endpoint *to;
	const char *why;
	uint64_t n;

	ptcp_session_config_default(&cfg);
	/* The raw socket learns our address from the rendezvous socket. */
	if (ptcp_wire_set_addr(&r->wire, &r->local, &res) != 0) {
		ptcp_error("%s", res.msg);
		return ptcp_cli_exit_code(&res);
	}
	cfg.wire = &r->wire;
	cfg.local = r->local;
	to = choose_remote(&r->m, &why);
	cfg.remote = *to;
	if (why)
		ptcp_info("not using the private endpoint %s the peer declared: %s",
			  ptcp_endpoint_format(&r->m.peer_private, a, sizeof(a)), why);
	else if (to == &r->m.peer_private)
		ptcp_info("the peer is behind our own NAT: using its private endpoint");
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
	/* A server needs the key again for every registration and handshake;
	 * a one-shot connect or listen does not. */
	if (!o->exec_cmd && !o->forward) {
		cfg.on_ready = wipe_identity;
		cfg.user = r;
	}
	cfg.in_fd = r->in_fd;
	cfg.out_fd = r->out_fd;
	if (o->sndbuf)
		cfg.conn.sndbuf = o->sndbuf;
	if (o->rcvbuf)
		cfg.conn.rcvbuf = o->rcvbuf;
	cfg.conn.first_syn_ttl = o->first_syn_ttl;
	/* With the channel, a middlebox that rewrote the peer's ISN is only
	 * reported: the handshake still proves who is at the other end. */
	if (!o->no_encrypt) {
		if (channel_config(r, &chcfg, binding) != 0) {
			ptcp_error("cannot set up the secure channel: bad role from the rendezvous");
			return PTCP_EXIT_CHANNEL;
		}
		cfg.channel = &chcfg;
		cfg.conn.isn_policy = PTCP_ISN_ACCEPT;
	} else {
		cfg.conn.isn_policy = PTCP_ISN_REJECT;
		ptcp_info("--no-encrypt: the bytes go on the wire as they are, unauthenticated");
	}
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
	if (res.status == PTCP_SESSION_SIGNAL)
		stop_signo = res.signo ? res.signo : SIGTERM;
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
			   (double)o->punch_window / PTCP_NS_PER_S,
			   ptcp_endpoint_format(&cfg.remote, b, sizeof(b)));
		return PTCP_EXIT_TIMEOUT;
	}
	ptcp_error("%s", res.msg);
	return ptcp_cli_exit_code(&res);
}

/* --- serving peers in turn (--exec, --forward) ------------------------------------ */

/* The --forward relay, in the child: our stdin/stdout (the session's
 * pipes) to a kernel TCP connection to HOST:PORT. End of stdin (the
 * peer's FIN) becomes shutdown(SHUT_WR), the target's end of stream
 * closes stdout (our FIN to the peer). A target that cannot be reached
 * closes both at once: the peer gets an empty connection, not a hang. */
static int forward_relay(const struct rdv_opts *o)
{
	struct addrinfo hints, *ai = NULL, *p;
	struct pollfd pf[2];
	char buf[65536];
	bool in_open = true, sock_open = true;
	int fd = -1, rv;
	ssize_t n;

	signal(SIGPIPE, SIG_IGN);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	rv = getaddrinfo(o->forward_host, o->forward_port, &hints, &ai);
	if (rv != 0) {
		ptcp_error("--forward %s: %s", o->forward, gai_strerror(rv));
		return 1;
	}
	for (p = ai; p && fd < 0; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol);
		if (fd >= 0 && connect(fd, p->ai_addr, p->ai_addrlen) != 0) {
			rv = errno;
			close(fd);
			fd = -1;
			errno = rv;
		}
	}
	freeaddrinfo(ai);
	if (fd < 0) {
		ptcp_error("--forward %s: cannot connect: %s", o->forward, strerror(errno));
		return 1;
	}
	ptcp_info("forwarding to %s", o->forward);
	while (in_open || sock_open) {
		pf[0].fd = in_open ? STDIN_FILENO : -1;
		pf[0].events = POLLIN;
		pf[1].fd = sock_open ? fd : -1;
		pf[1].events = POLLIN;
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (in_open && pf[0].revents) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				if (n < 0 && errno == EINTR)
					continue;
				in_open = false;
				(void)shutdown(fd, SHUT_WR);
			} else if (ptcp_write_all(fd, buf, (size_t)n) != 0) {
				return 1;
			}
		}
		if (sock_open && pf[1].revents) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0) {
				if (n < 0 && errno == EINTR)
					continue;
				sock_open = false;
				close(STDOUT_FILENO);
			} else if (ptcp_write_all(STDOUT_FILENO, buf, (size_t)n) != 0) {
				return 1;
			}
		}
	}
	close(fd);
	return 0;
}

/* Starts the child that serves the matched peer (r->m): /bin/sh -c CMD
 * or the forward relay, with pipes for its stdin and stdout, which become
 * the session's out_fd and in_fd. The child gets a process group of its
 * own, so that a terminal's ^C reaches the server (which resets the
 * connection and then ends the child) and not a half-served command.
 * Returns its pid, or -1 (logged). */
static pid_t spawn_child(struct rdv *r)
{
	int to_child[2], from_child[2];
	char id[PTCP_PEERID_TEXT_MAX], addr[64];
	pid_t pid;

	if (ptcp_peerid_encode(id, sizeof(id), r->m.peer_key, NULL) < 0)
		id[0] = '\0';
	ptcp_endpoint_format(&r->m.peer_public, addr, sizeof(addr));
	if (pipe2(to_child, O_CLOEXEC) != 0)
		goto fail0;
	if (pipe2(from_child, O_CLOEXEC) != 0)
		goto fail1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		goto fail2;
	if (pid == 0) {
		(void)setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (dup2(to_child[0], STDIN_FILENO) < 0 || dup2(from_child[1], STDOUT_FILENO) < 0)
			_exit(127);
		close(to_child[0]);
		close(to_child[1]);
		close(from_child[0]);
		close(from_child[1]);
		if (r->o->exec_cmd) {
			setenv("P2PTCP_PEER_ID", id, 1);
			setenv("P2PTCP_PEER_ADDR", addr, 1);
			execl("/bin/sh", "sh", "-c", r->o->exec_cmd, (char *)NULL);
			ptcp_error("cannot run /bin/sh: %s", strerror(errno));
			_exit(127);
		}
		_exit(forward_relay(r->o));
	}
	close(to_child[0]);
	close(from_child[1]);
	r->out_fd = to_child[1];
	r->in_fd = from_child[0];
	return pid;
fail2:
	close(from_child[0]);
	close(from_child[1]);
fail1:
	close(to_child[0]);
	close(to_child[1]);
fail0:
	ptcp_error("cannot start the child for peer %s: %s", id, strerror(errno));
	return -1;
}

/* Waits up to ms for the child; true once it is reaped. */
static bool reap(pid_t pid, int ms, int *status)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int i;

	for (i = 0; i <= ms / 20; i++) {
		pid_t w = waitpid(pid, status, WNOHANG);

		if (w == pid || (w < 0 && errno == ECHILD))
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

/* Closes the session's ends of the pipes (the child sees end of file on
 * its stdin and EPIPE on its stdout), then waits for the child a little
 * and ends its process group if it lingers. */
static void finish_child(struct rdv *r, pid_t pid, bool clean)
{
	int status = 0;

	close(r->in_fd);
	close(r->out_fd);
	r->in_fd = STDIN_FILENO;
	r->out_fd = STDOUT_FILENO;
	if (!reap(pid, clean ? 2000 : 200, &status)) {
		(void)kill(-pid, SIGTERM);
		if (!reap(pid, 1000, &status)) {
			(void)kill(-pid, SIGKILL);
			(void)reap(pid, 1000, &status);
		}
	}
	if (WIFEXITED(status))
		ptcp_info("child %d exited with status %d", (int)pid, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		ptcp_info("child %d killed by signal %d", (int)pid, WTERMSIG(status));
}

static void on_stop_signal(int sig)
{
	stop_signo = sig;
}

/* Clears what one round of rendezvous and punching left in r. */
static void reset_round(struct rdv *r)
{
	r->n_servers = r->cur = 0;
	r->rewritten = false;
	r->matched = false;
	r->done = false;
	r->exit = 0;
	r->msg[0] = '\0';
	memset(&r->m, 0, sizeof(r->m));
	memset(&r->local, 0, sizeof(r->local));
	memset(&r->observed, 0, sizeof(r->observed));
}

/* listen --exec / --forward: register, wait for a peer, serve it with a
 * child, and again, until a signal. Every round registers from the
 * wire's port, which stays ours (and the firewall table up) from the
 * first round to the last, so no round needs privileges again: the new
 * rendezvous connection shares the port with the reservation and with
 * the last round's connection in TIME-WAIT (SO_REUSEPORT), the new
 * peer's flow is a conntrack tuple of its own, and the server observes
 * the mapping anew each round (the NAT check runs again). */
static int serve(struct rdv *r)
{
	struct sigaction sa;
	unsigned served = 0, failed = 0;
	bool in_session_signal = false;
	int rv;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	for (;;) {
		pid_t pid;

		reset_round(r);
		rv = stop_signo ? PTCP_EXIT_SIGNAL + (int)stop_signo : rendezvous(r);
		rendezvous_free(r);
		ptcp_identity_wipe(&r->probe_id);
		if (rv != 0) {
			if (stop_signo || rv > PTCP_EXIT_SIGNAL)
				break;
			ptcp_error("%s", r->msg);
			return rv;
		}
		pid = spawn_child(r);
		if (pid < 0) {
			/* Serve an empty connection rather than none. */
			r->in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			r->out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		}
		rv = punch(r);
		if (pid >= 0) {
			finish_child(r, pid, rv == PTCP_EXIT_OK);
		} else {
			close(r->in_fd);
			close(r->out_fd);
			r->in_fd = STDIN_FILENO;
			r->out_fd = STDOUT_FILENO;
		}
		if (rv == PTCP_EXIT_OK) {
			served++;
			ptcp_info("peer served (%u so far); waiting for the next", served);
		} else if (rv > PTCP_EXIT_SIGNAL) {
			in_session_signal = true;
			break;
		} else {
			failed++;
			ptcp_info("session failed (exit status %d); waiting for the next peer", rv);
		}
	}
	ptcp_info("stopped by signal %d after %u peers served, %u failed", (int)stop_signo, served,
		  failed);
	/* A stop asked for between peers is the normal end of a server; one
	 * that reset a connection in progress says so in the status. */
	return in_session_signal ? PTCP_EXIT_SIGNAL + (int)stop_signo : PTCP_EXIT_OK;
}

/* --- the subcommands ------------------------------------------------------------ */

/* The port (--local-port, or one the kernel picks), the raw socket and
 * the firewall table, before anything goes on the network: without the
 * capabilities, or with the port in use, we stop here and not after the
 * rendezvous. The address comes from --local-addr, or later from the
 * rendezvous socket. Then every capability goes, before the first byte
 * from the server is read: the wire serves every round of a server, and
 * only a port below ip_unprivileged_port_start keeps
 * CAP_NET_BIND_SERVICE (each round binds a rendezvous socket to it).
 * --exec keeps the bounding set and may gain privileges by exec, so that
 * the commands it runs are as they would be without p2ptcp. Returns 0 or
 * the exit code (the line is printed). */
static int open_wire(struct rdv *r)
{
	struct ptcp_session_result res;
	struct ptcp_wire_config wc;
	uint64_t keep = 0;
	char err[256];

	memset(&wc, 0, sizeof(wc));
	memset(&res, 0, sizeof(res));
	if (r->o->has_local_addr)
		wc.local = r->o->local_addr;
	wc.local.family = PTCP_AF_INET;
	wc.local.port = r->o->local_port;
	wc.mark = PTCP_SESSION_MARK;
	wc.pcap_path = r->o->pcap;
	if (ptcp_wire_open(&r->wire, &wc, &res) != 0) {
		ptcp_error("%s", res.msg);
		return ptcp_cli_exit_code(&res);
	}
	if (ptcp_privs_port_is_privileged(r->wire.rs.local.port))
		keep = PTCP_PRIVS_NET_BIND_SERVICE;
	if (ptcp_privs_drop(keep, !r->o->exec_cmd, err, sizeof(err)) != 0) {
		ptcp_error("%s", err);
		ptcp_wire_close(&r->wire);
		return PTCP_EXIT_SYSTEM;
	}
	ptcp_info("privileges: %s%s", keep ? "kept only CAP_NET_BIND_SERVICE (port below 1024)" :
		  "none kept", r->o->exec_cmd ? "; --exec may still run privileged commands" : "");
	return 0;
}

static int run(int argc, char *argv[], bool listen)
{
	char dir[PTCP_IDENTITY_PATH_MAX], err[512];
	struct rdv_opts o;
	struct rdv r;
	int rv;

	memset(&r, 0, sizeof(r));
	ptcp_wire_init(&r.wire);
	r.in_fd = STDIN_FILENO;
	r.out_fd = STDOUT_FILENO;
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
	ptcp_log_set_level(PTCP_LOG_NOTICE + o.verbose);
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
	if ((rv = open_wire(&r)) != 0) {
		ptcp_identity_wipe(&r.id);
		return rv;
	}
	if (o.exec_cmd || o.forward) {
		rv = serve(&r);
	} else {
		rv = rendezvous(&r);
		rendezvous_free(&r);
		ptcp_identity_wipe(&r.probe_id);
		if (rv == 0)
			rv = punch(&r);
		else
			ptcp_error("%s", r.msg);
	}
	ptcp_identity_wipe(&r.id);
	ptcp_wire_close(&r.wire);
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
