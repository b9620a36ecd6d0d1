/* rdvpeer: a rendezvous client for the tests, honest or hostile.
 *
 *   rdvpeer keygen DIR            new key in DIR/private.key; prints the peer id
 *   rdvpeer id DIR                prints the peer id of DIR's key
 *   rdvpeer listen  --server ADDR:PORT --key DIR [COMMON] [--allow ID]...
 *   rdvpeer connect ID --server ADDR:PORT --key DIR [COMMON] [--wait MS]
 *   rdvpeer register --server ADDR:PORT --key DIR [COMMON]
 *   rdvpeer serve --server ADDR:PORT --key DIR [COMMON] [--start listen|busy|none]
 *       COMMON: [--local ADDR:PORT] [--isn N] [--private ADDR:PORT|none]
 *               [--delay MS|--on-signal] [--timeout S] [--pin SERVER-ID] [--zrtt]
 *     The honest peer, on core/rdv/rdvclient.c: registers, makes its one
 *     request (--delay MS after registering; --on-signal: at SIGUSR2, for
 *     a test that orders it after another client's step; register makes none and just
 *     stays registered, pinging, until --timeout; --zrtt: in the first
 *     message, 0-RTT, the request right behind it; open without --pin) and
 *     prints, one line each:
 *       registered public=EP local=EP server=SERVER-ID zrtt=0|1
 *       match peer=ID public=EP private=EP peer_isn=N isn=N role=R start_ms=N
 *       error code=N fatal=0|1 msg=TEXT
 *     Exit 0 after a match, 1 after an error, 3 on --timeout (default 20 s;
 *     register: 0 at --timeout, 1 after an error).
 *     serve is a listener that stays: it makes its --start request
 *     (default listen; busy: ptcp_rdv_client_busy()) once registered,
 *     goes on after matches and request failures, and on a signal:
 *       SIGUSR1  busy                         prints "busy rv=N"
 *       SIGUSR2  listen with the next ISN     prints "listen isn=N rv=N"
 *       SIGHUP   listen, busy, listen at once (the second LISTEN waits
 *                for the first one's answer), printing those lines
 *     (ISNs --isn N, N+1, ...; rv: the call's return value). Exit 0 at
 *     --timeout, 1 after a fatal error.
 *
 *   rdvpeer load PAIRS ROUNDS --server ADDR:PORT --server2 ADDR:PORT [--bind ADDR]
 *     Load for make bench: registers PAIRS listeners at --server and
 *     PAIRS askers at --server2 (fresh keys, blocking sockets, one after
 *     another), then ROUNDS times: every listener LISTENs, every asker
 *     CONNECTs for its listener (wait 5 s), and all 2 x PAIRS MATCHes are
 *     read. Prints "load registered=N reg_ms=T matches=M match_ms=T
 *     reg_per_s=X match_per_s=Y"; exit 0 when every MATCH came.
 *
 *   rdvpeer hostile MODE --server ADDR:PORT [--bind ADDR] [OPTIONS]
 *     Misbehaving clients on plain blocking sockets, without the client
 *     library. Single-connection modes print one line
 *       result code=N fatal=0|1 closed=0|1 ms=N text=TEXT
 *     (code and text: the first ERROR's, or 0 and nothing; closed: the
 *     server ended the connection; ms: from the misdeed to the close) and
 *     exit 0 when the
 *     server answered as expected (an ERROR with the expected code and the
 *     close), 1 otherwise:
 *       garbage         4 KiB of random bytes              -> MALFORMED
 *       oversized       a header announcing 65535 bytes    -> TOO_BIG
 *       version         a version-1 header (old client)    -> VERSION
 *       order           AUTH before HELLO                  -> UNEXPECTED
 *       early-connect   CONNECT before HELLO               -> NOT_AUTHORISED
 *       early-busy      BUSY before HELLO                  -> NOT_AUTHORISED
 *       busy-twice      registers, BUSY, BUSY              -> UNEXPECTED
 *       busy-asking     registers two keys, the second asks for the first
 *                       (CONNECT, a 10 s wait) and says BUSY -> UNEXPECTED
 *       drip            a HELLO at one byte per --interval MS (default 300)
 *                                                          -> TIMEOUT
 *       stolen ID       HELLO with ID's key, signed with another key
 *                                                          -> BAD_SIGNATURE
 *       idle N          N connections that say nothing; --hold S (default
 *                       30); prints "idle opened=N closed=M timeout_errors=K"
 *                       once all are closed by the server or the hold ends;
 *                       exit 0 when all N were closed with a TIMEOUT error
 *       flood N         registers N peers with fresh keys and keeps them;
 *                       prints "flood registered=N" and holds for --hold S
 *                       (or until SIGTERM); exit 0 when all N registered
 *       fill N          tries N registrations with fresh keys, from the
 *                       addresses of --bind-file FILE (one a line) in
 *                       turn, each LISTENing once registered with
 *                       --active; keeps those that registered; prints
 *                       "fill registered=R rate_limited=L full=F other=O"
 *                       and holds like flood; exit 0
 *       limits N        opens N connections at once; prints "limits
 *                       accepted=A rate_limited=R full=F other=O"
 *                       (accepted: no error within 300 ms)
 *       zrtt-replay     a fresh key registers in one flight (HELLO0 and a
 *                       CONNECT for an unknown key, --pin SERVER-ID);
 *                       the same bytes again from the same port after a
 *                       reset: prints "zrtt first=T,T,T replay=T,..."
 *                       (the message types that came); exit 0 when the
 *                       first got WELCOME, REGISTERED, ERROR and the
 *                       replay a CHALLENGE and nothing more in 1 s
 *       zrtt-race       a copy of a HELLO0 raced ahead: the first
 *                       connection sends it (and a CONNECT for an unknown
 *                       key) and is registered, the second sends the same
 *                       bytes, is challenged, AUTHs; then a third registers
 *                       the key afresh (a new HELLO0): prints "zrtt
 *                       copy=T,T,T genuine=T then=T copy_end=CODE
 *                       genuine_end=CODE" (0: none within 1 s); exit 0
 *                       when the copy was ended REPLACED (the same first
 *                       flight) and the genuine one, asking nothing, was
 *                       not (unlisted by the third)
 *       zrtt-skew       HELLO0 with our clock moved by --skew MS: prints
 *                       "zrtt answer=T then=T"; exit 0 for CHALLENGE and,
 *                       after our AUTH, REGISTERED
 *       zrtt-otherkey   HELLO0 naming another server key: the same
 *       zrtt-forged     HELLO0 signed by another key than its own
 *                                                          -> BAD_SIGNATURE
 *                       (each zrtt-* mode without --pin: an open HELLO0,
 *                       bound to the server's address; forged is then
 *                       challenged like skew)
 *       zrtt-elsewhere  an open HELLO0 signed for the server at another
 *                       port (a NAT in front of it): challenged like skew
 *       requests N ID   registers a fresh key and sends N CONNECTs for
 *                       ID (wait 0) on the one connection, each after
 *                       the previous one's answer; prints "requests
 *                       answered=A rate_limited=R not_waiting=W
 *                       unknown=U other=O"; exit 0 when all N were
 *                       answered
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "clock.h"
#include "identity.h"
#include "peerid.h"
#include "rdvclient.h"
#include "rdvmsg.h"

#include "lib/rdvwire.h"

static void usage(void)
{
	fprintf(stderr, "usage: rdvpeer keygen DIR | id DIR | listen ... | connect ID ... | "
			"register ... | serve ... | hostile MODE ... (see the comment at the top "
			"of rdvpeer.c)\n");
	exit(2);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rdvpeer: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static const char *ep_str(const struct ptcp_endpoint *ep, char buf[64])
{
	if (ep->family == PTCP_AF_NONE)
		return "none";
	return ptcp_endpoint_format(ep, buf, 64);
}

static const char *id_str(const uint8_t *key, char buf[PTCP_PEERID_TEXT_MAX])
{
	ptcp_peerid_encode(buf, PTCP_PEERID_TEXT_MAX, key, NULL);
	return buf;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* --- options ---------------------------------------------------------------- */

struct opts {
	const char *server, *server2, *key_dir, *local, *bind, *private_ep, *peer, *pin, *bind_file, *start;
	bool active, zrtt;
	const char *allow[PTCP_RDV_ALLOW_MAX];
	unsigned n_allow;
	bool has_isn;
	bool on_signal;             /* listen, connect: the request at SIGUSR2 */
	uint32_t isn;
	uint32_t wait_ms;
	unsigned timeout_s, hold_s, interval_ms, delay_ms;
	long skew_ms;
};

static unsigned long num(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || !*s)
		die("invalid %s: '%s'", what, s);
	return v;
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	o->timeout_s = 20;
	o->hold_s = 30;
	o->interval_ms = 300;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (a[0] != '-') {
			if (o->peer)
				die("unexpected argument: '%s'", a);
			o->peer = a;
			continue;
		}
		if (!strcmp(a, "--active")) {
			o->active = true;
			continue;
		}
		if (!strcmp(a, "--zrtt")) {
			o->zrtt = true;
			continue;
		}
		if (!strcmp(a, "--on-signal")) {
			o->on_signal = true;
			continue;
		}
		if (!v)
			die("option '%s' needs a value", a);
		i++;
		if (!strcmp(a, "--server"))
			o->server = v;
		else if (!strcmp(a, "--server2"))
			o->server2 = v;
		else if (!strcmp(a, "--key"))
			o->key_dir = v;
		else if (!strcmp(a, "--local"))
			o->local = v;
		else if (!strcmp(a, "--bind"))
			o->bind = v;
		else if (!strcmp(a, "--private"))
			o->private_ep = v;
		else if (!strcmp(a, "--pin"))
			o->pin = v;
		else if (!strcmp(a, "--bind-file"))
			o->bind_file = v;
		else if (!strcmp(a, "--start"))
			o->start = v;
		else if (!strcmp(a, "--isn")) {
			o->has_isn = true;
			o->isn = (uint32_t)num(v, "ISN");
		} else if (!strcmp(a, "--wait"))
			o->wait_ms = (uint32_t)num(v, "wait");
		else if (!strcmp(a, "--timeout"))
			o->timeout_s = (unsigned)num(v, "timeout");
		else if (!strcmp(a, "--hold"))
			o->hold_s = (unsigned)num(v, "hold");
		else if (!strcmp(a, "--delay"))
			o->delay_ms = (unsigned)num(v, "delay");
		else if (!strcmp(a, "--interval"))
			o->interval_ms = (unsigned)num(v, "interval");
		else if (!strcmp(a, "--skew")) {
			char *end;

			o->skew_ms = strtol(v, &end, 10);
			if (*end || !*v)
				die("invalid skew: '%s'", v);
		}
		else if (!strcmp(a, "--allow")) {
			if (o->n_allow == PTCP_RDV_ALLOW_MAX)
				die("too many --allow");
			o->allow[o->n_allow++] = v;
		} else
			die("unknown option: '%s'", a);
	}
	if (!o->server)
		die("missing --server");
}

static void endpoint_opt(const char *s, uint16_t def_port, struct ptcp_endpoint *ep)
{
	char err[128];

	if (ptcp_rdv_parse_hostport(s, def_port, ep, err, sizeof(err)) != 0)
		die("%s", err);
}

static void load_key(const char *dir, struct ptcp_identity *id)
{
	char err[600];

	if (ptcp_identity_load(id, dir, err, sizeof(err)) != 0)
		die("%s", err);
}

static void parse_id(const char *text, uint8_t key[32])
{
	char err[300];

	if (ptcp_identity_parse_peer(key, text, err, sizeof(err)) != 0)
		die("%s", err);
}

/* --- honest peer ------------------------------------------------------------- */

enum honest_mode { H_LISTEN, H_CONNECT, H_REGISTER, H_SERVE };

struct honest {
	struct event_base *base;
	struct ptcp_rdv_client *client;
	enum honest_mode mode;
	uint8_t allow[PTCP_RDV_ALLOW_MAX][PTCP_RDV_KEY_LEN];
	unsigned n_allow;
	uint8_t target[PTCP_RDV_KEY_LEN];
	uint32_t isn, wait_ms;
	struct event *delay;
	unsigned delay_ms;
	bool start_busy;           /* serve --start busy */
	int rc;
};

/* serve: the calls, each printed with what it returned. */
static void h_busy(struct honest *h)
{
	printf("busy rv=%d\n", ptcp_rdv_client_busy(h->client));
	fflush(stdout);
}

static void h_listen(struct honest *h)
{
	uint32_t isn = h->isn++;

	printf("listen isn=%" PRIu32 " rv=%d\n", isn,
	       ptcp_rdv_client_listen(h->client, isn, (const uint8_t(*)[32])h->allow, h->n_allow));
	fflush(stdout);
}

static void h_signal(evutil_socket_t sig, short what, void *arg)
{
	struct honest *h = arg;

	(void)what;
	if (sig == SIGUSR1) {
		h_busy(h);
	} else if (sig == SIGUSR2) {
		h_listen(h);
	} else {
		h_listen(h);
		h_busy(h);
		h_listen(h);
	}
}

static void h_request(struct honest *h)
{
	int rv = 0;

	if (h->mode == H_SERVE) {
		if (h->start_busy)
			h_busy(h);
		else
			h_listen(h);
		return;
	}
	if (h->mode == H_LISTEN)
		rv = ptcp_rdv_client_listen(h->client, h->isn, (const uint8_t(*)[32])h->allow, h->n_allow);
	else if (h->mode == H_CONNECT)
		rv = ptcp_rdv_client_connect(h->client, h->target, h->isn, h->wait_ms);
	if (rv != 0)
		die("request: %s", strerror(-rv));
}

static void h_delayed(evutil_socket_t fd, short what, void *arg)
{
	/* (also the one SIGUSR2 of --on-signal) */
	(void)fd;
	(void)what;
	h_request(arg);
}

static void h_registered(struct ptcp_rdv_client *c, void *user, const struct ptcp_endpoint *obs)
{
	struct ptcp_endpoint local;
	uint8_t key[PTCP_RDV_KEY_LEN];
	char a[64], b[64], id[PTCP_PEERID_TEXT_MAX];
	struct honest *h = user;

	if (ptcp_rdv_client_local(c, &local) != 0)
		memset(&local, 0, sizeof(local));
	if (ptcp_rdv_client_server_key(c, key) != 0)
		memset(key, 0, sizeof(key));
	printf("registered public=%s local=%s server=%s zrtt=%d\n", ep_str(obs, a), ep_str(&local, b),
	       id_str(key, id), ptcp_rdv_client_zrtt(c));
	fflush(stdout);
	if (h->delay) {
		struct timeval tv = { h->delay_ms / 1000, h->delay_ms % 1000 * 1000 };

		evtimer_add(h->delay, &tv);
	}
}

static void h_match(struct ptcp_rdv_client *c, void *user, const struct ptcp_rdv_match *m)
{
	struct honest *h = user;
	char id[PTCP_PEERID_TEXT_MAX], a[64], b[64];

	(void)c;
	printf("match peer=%s public=%s private=%s peer_isn=%" PRIu32 " isn=%" PRIu32
	       " role=%s start_ms=%" PRIu32 "\n", id_str(m->peer_key, id), ep_str(&m->peer_public, a),
	       ep_str(&m->peer_private, b), m->peer_isn, m->isn,
	       m->role == PTCP_RDV_ROLE_INITIATOR ? "initiator" : "responder", m->start_ms);
	fflush(stdout);
	if (h->mode == H_SERVE)
		return;   /* stays: the next LISTEN is the test's to ask for */
	h->rc = 0;
	event_base_loopbreak(h->base);
}

static void h_error(struct ptcp_rdv_client *c, void *user, int code, bool fatal, const char *msg)
{
	struct honest *h = user;

	(void)c;
	printf("error code=%d fatal=%d msg=%s\n", code, fatal, msg);
	fflush(stdout);
	if (h->mode == H_SERVE && !fatal)
		return;
	h->rc = 1;
	event_base_loopbreak(h->base);
}

static void h_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct honest *h = arg;

	(void)fd;
	(void)what;
	printf("timeout\n");
	fflush(stdout);
	h->rc = h->mode == H_REGISTER || h->mode == H_SERVE ? 0 : 3;
	event_base_loopbreak(h->base);
}

static int cmd_honest(enum honest_mode mode, int argc, char **argv)
{
	struct ptcp_rdv_client_config cfg;
	struct ptcp_identity id;
	struct honest h = { .rc = 3, .mode = mode };
	struct event *timer, *sigs[3] = { NULL, NULL, NULL };
	static const int signos[3] = { SIGUSR1, SIGUSR2, SIGHUP };
	struct timeval tv;
	struct opts o;
	int rv;

	parse_opts(&o, argc, argv);
	if (!o.key_dir)
		die("missing --key");
	if (mode != H_CONNECT && o.peer)
		die("unexpected argument: '%s'", o.peer);
	if (o.start && mode != H_SERVE)
		die("--start is for serve");
	if (o.start && strcmp(o.start, "busy") != 0 && strcmp(o.start, "listen") != 0 &&
	    strcmp(o.start, "none") != 0)
		die("invalid --start: '%s' (listen, busy or none)", o.start);
	h.start_busy = o.start && !strcmp(o.start, "busy");
	if (mode == H_CONNECT && !o.peer)
		die("connect needs a peer id");
	if (o.on_signal && (o.delay_ms || (mode != H_LISTEN && mode != H_CONNECT)))
		die("--on-signal is for listen and connect, without --delay");
	load_key(o.key_dir, &id);
	for (unsigned i = 0; i < o.n_allow; i++)
		parse_id(o.allow[i], h.allow[i]);
	h.n_allow = o.n_allow;
	if (mode == H_CONNECT)
		parse_id(o.peer, h.target);
	h.isn = o.has_isn ? o.isn : randombytes_random();
	h.wait_ms = o.wait_ms;

	ptcp_rdv_client_config_default(&cfg);
	h.base = cfg.base = event_base_new();
	if (!h.base)
		die("libevent failed");
	cfg.id = &id;
	endpoint_opt(o.server, PTCP_RDV_PORT, &cfg.server);
	if (o.local) {
		/* As the engine's driver will: make the socket on the port the
		 * peer connection is to use, and hand it to the client. Without
		 * --local the client makes one on any port itself. */
		endpoint_opt(o.local, 0, &cfg.local);
		rv = ptcp_rdv_socket(&cfg.local, &cfg.server, &cfg.fd);
		if (rv != 0) {
			printf("error code=%d fatal=1 msg=cannot bind: %s\n", rv, strerror(-rv));
			return 1;
		}
	}
	if (o.private_ep) {
		cfg.has_private = true;
		if (strcmp(o.private_ep, "none") != 0)
			endpoint_opt(o.private_ep, 0, &cfg.private_ep);
	}
	if (o.pin) {
		parse_id(o.pin, cfg.server_key);
		cfg.has_server_key = true;
	}
	cfg.zrtt = o.zrtt;
	cfg.on_registered = h_registered;
	cfg.on_match = h_match;
	cfg.on_error = h_error;
	cfg.user = &h;
	rv = ptcp_rdv_client_new(&h.client, &cfg);
	if (rv != 0) {
		printf("error code=%d fatal=1 msg=cannot start: %s\n", rv, strerror(-rv));
		return 1;
	}
	if (mode == H_SERVE) {
		for (int i = 0; i < 3; i++) {
			sigs[i] = evsignal_new(h.base, signos[i], h_signal, &h);
			if (!sigs[i] || event_add(sigs[i], NULL) != 0)
				die("libevent failed");
		}
	}
	if (mode == H_SERVE && o.start && !strcmp(o.start, "none")) {
		/* registers only: the signals make the requests */
	} else if (o.on_signal) {
		/* one shot (no EV_PERSIST); before registration the client
		 * sends it once registered, as always */
		sigs[0] = event_new(h.base, SIGUSR2, EV_SIGNAL, h_delayed, &h);
		if (!sigs[0] || event_add(sigs[0], NULL) != 0)
			die("libevent failed");
	} else if (o.delay_ms && mode != H_REGISTER) {
		h.delay = evtimer_new(h.base, h_delayed, &h);
		h.delay_ms = o.delay_ms;
	} else if (mode != H_REGISTER) {
		/* made before registration: the client sends it when registered */
		h_request(&h);
	}
	timer = evtimer_new(h.base, h_timeout, &h);
	tv.tv_sec = o.timeout_s;
	tv.tv_usec = 0;
	evtimer_add(timer, &tv);
	event_base_dispatch(h.base);
	ptcp_rdv_client_free(h.client);
	event_free(timer);
	for (int i = 0; i < 3; i++)
		if (sigs[i])
			event_free(sigs[i]);
	if (h.delay)
		event_free(h.delay);
	event_base_free(h.base);
	ptcp_identity_wipe(&id);
	return h.rc;
}

/* --- hostile clients: plain blocking sockets --------------------------------------- */

static struct ptcp_endpoint server_ep, bind_ep;
static bool has_bind;

static int hconnect(void)
{
	return rdvwire_dial(&server_ep, has_bind ? &bind_ep : NULL);
}

/* After a misdeed: waits up to timeout_ms for an ERROR and the close;
 * prints the result line; returns the exit code (0 when the code is
 * want and the server closed). */
static int expect_close_since(int fd, int want, int timeout_ms, uint64_t start)
{
	struct ptcp_rdv_msg m;
	int code = 0, fatal = 0, closed = 0, rv;
	char text[PTCP_RDV_TEXT_MAX + 1] = "";

	while (!closed && rdvwire_now_ms() - start < (uint64_t)timeout_ms) {
		rv = rdvwire_recv(fd, &m, (int)(timeout_ms - (int)(rdvwire_now_ms() - start)));
		if (rv == 1 && m.type == PTCP_RDV_ERROR && code == 0) {
			code = m.error.code;
			fatal = m.error.flags & PTCP_RDV_ERR_FATAL;
			memcpy(text, m.error.text, sizeof(text));
		} else if (rv == 0) {
			closed = 1;
		} else if (rv < 0 && rv != -EINTR && rv != -EPROTO) {
			break;
		}
	}
	printf("result code=%d fatal=%d closed=%d ms=%llu text=%s\n", code, fatal, closed,
	       (unsigned long long)(rdvwire_now_ms() - start), text);
	fflush(stdout);
	close(fd);
	return code == want && fatal && closed ? 0 : 1;
}

static int expect_close(int fd, int want, int timeout_ms)
{
	return expect_close_since(fd, want, timeout_ms, rdvwire_now_ms());
}

static int must_connect(void)
{
	int fd = hconnect();

	if (fd < 0)
		die("connect: %s", strerror(-fd));
	return fd;
}

/* Sends HELLO for key (a fresh nonce, no private endpoint), waits for
 * the CHALLENGE and answers it with signer's signature of the
 * transcript. Returns 0, minus the code of an ERROR that came instead,
 * or -1 when nothing came. */
static int hello_and_auth(int fd, const uint8_t key[32], const struct ptcp_identity *signer)
{
	uint8_t t[PTCP_RDV_TRANSCRIPT_LEN];
	struct ptcp_rdv_msg hello, m;

	memset(&hello, 0, sizeof(hello));
	hello.type = PTCP_RDV_HELLO;
	memcpy(hello.hello.key, key, 32);
	randombytes_buf(hello.hello.nonce, sizeof(hello.hello.nonce));
	if (rdvwire_send(fd, &hello) != 0 || rdvwire_recv(fd, &m, 5000) != 1)
		return -1;
	if (m.type != PTCP_RDV_CHALLENGE)
		return m.type == PTCP_RDV_ERROR ? -(int)m.error.code : -1;
	ptcp_rdv_transcript(t, PTCP_RDV_SIGNER_CLIENT, &hello, &m);
	memset(&m, 0, sizeof(m));
	m.type = PTCP_RDV_AUTH;
	ptcp_identity_sign(signer, t, sizeof(t), m.auth.sig);
	return rdvwire_send(fd, &m) == 0 ? 0 : -1;
}

/* --- 0-RTT ------------------------------------------------------------------------ */

/* A HELLO0 for id from fd's local endpoint, naming server_key, with our
 * clock moved by skew_ms, signed by signer, emitted into wire (its
 * length returned), then a CONNECT for an unknown key behind it. */
static int zrtt_hello(int fd, const struct ptcp_identity *id, const uint8_t server_key[32],
                      long skew_ms, const struct ptcp_identity *signer, struct ptcp_rdv_msg *h0,
                      uint8_t wire[2 * PTCP_RDV_MSG_MAX], int port_shift)
{
	uint8_t t[PTCP_RDV_TRANSCRIPT0_MAX];
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct ptcp_endpoint srv = { 0 };
	struct ptcp_rdv_msg c;
	int n, k;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    ptcp_rdv_from_sockaddr(&srv, (struct sockaddr *)&ss, len) != 0)
		die("getpeername: %s", strerror(errno));
	srv.port = (uint16_t)(srv.port + port_shift);
	len = sizeof(ss);
	memset(h0, 0, sizeof(*h0));
	h0->type = PTCP_RDV_HELLO0;
	memcpy(h0->hello0.key, id->pk, 32);
	randombytes_buf(h0->hello0.nonce, sizeof(h0->hello0.nonce));
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    ptcp_rdv_from_sockaddr(&h0->hello0.private_ep, (struct sockaddr *)&ss, len) != 0)
		die("getsockname: %s", strerror(errno));
	h0->hello0.time_ms = (uint64_t)((int64_t)(ptcp_clock_wall() / PTCP_NS_PER_MS) + skew_ms);
	memcpy(h0->hello0.server_key, server_key, 32);
	n = ptcp_rdv_transcript0(t, PTCP_RDV_SIGNER_CLIENT, h0, &srv, NULL);
	ptcp_identity_sign(signer, t, (size_t)n, h0->hello0.sig);
	n = ptcp_rdv_emit(h0, wire, PTCP_RDV_MSG_MAX);
	memset(&c, 0, sizeof(c));
	c.type = PTCP_RDV_CONNECT;
	randombytes_buf(c.connect.key, sizeof(c.connect.key));
	c.connect.wait_ms = 0;
	k = ptcp_rdv_emit(&c, wire + n, PTCP_RDV_MSG_MAX);
	if (n < 0 || k < 0)
		die("cannot encode HELLO0");
	if (rdvwire_send_all(fd, wire, (size_t)(n + k)) != 0)
		die("send: %s", strerror(errno));
	return n + k;
}

/* The types of the messages that come within ms (at most 8), as
 * "T,T,T" into out; the last message in *last. */
static void zrtt_collect(int fd, int ms, char *out, size_t cap, struct ptcp_rdv_msg *last)
{
	uint64_t end = rdvwire_now_ms() + (uint64_t)ms;
	struct ptcp_rdv_msg m;
	size_t k = 0;

	out[0] = '\0';
	for (int i = 0; i < 8 && rdvwire_now_ms() < end; i++) {
		if (rdvwire_recv(fd, &m, (int)(end - rdvwire_now_ms())) != 1)
			break;
		k += (size_t)snprintf(out + k, cap - k, "%s%s", k ? "," : "", ptcp_rdv_type_name(m.type));
		if (last)
			*last = m;
		if (k >= cap)
			break;
		/* what answers the HELLO0: no more is due but the early answer */
		if (m.type == PTCP_RDV_CHALLENGE && ms > 1000)
			break;
	}
	if (!out[0])
		snprintf(out, cap, "none");
}

/* The first ERROR's code on fd within ms (0: none), and whether fd
 * was closed after it. */
static int zrtt_error(int fd, int ms, bool *closed)
{
	uint64_t end = rdvwire_now_ms() + (uint64_t)ms;
	struct ptcp_rdv_msg m;
	int code = 0, rv;

	*closed = false;
	while (rdvwire_now_ms() < end) {
		rv = rdvwire_recv(fd, &m, (int)(end - rdvwire_now_ms()));
		if (rv == 0) {
			*closed = true;
			break;
		}
		if (rv < 0 && rv != -EINTR)
			break;
		if (rv == 1 && m.type == PTCP_RDV_ERROR && !code)
			code = m.error.code;
	}
	return code;
}

/* zrtt-race (see the top of the file). */
static int zrtt_race(const struct ptcp_identity *id, const uint8_t skey[32])
{
	struct ptcp_rdv_msg h0, h3, m, hello;
	uint8_t wire[2 * PTCP_RDV_MSG_MAX], wire3[2 * PTCP_RDV_MSG_MAX], t[PTCP_RDV_TRANSCRIPT_LEN];
	char copy[128], genuine[128], then[128];
	int copy_fd = must_connect(), fd = must_connect(), fd3 = must_connect(), n, copy_end, end;
	bool copy_closed, closed;

	n = zrtt_hello(copy_fd, id, skey, 0, id, &h0, wire, 0);
	zrtt_collect(copy_fd, 1000, copy, sizeof(copy), NULL);
	/* the same bytes (from another port: challenged either way) */
	rdvwire_send_all(fd, wire, (size_t)n);
	zrtt_collect(fd, 5000, genuine, sizeof(genuine), &m);
	if (m.type != PTCP_RDV_CHALLENGE) {
		printf("zrtt copy=%s genuine=%s then=none\n", copy, genuine);
		return 1;
	}
	ptcp_rdv_hello_of(&hello, &h0);
	ptcp_rdv_transcript(t, PTCP_RDV_SIGNER_CLIENT, &hello, &m);
	memset(&m, 0, sizeof(m));
	m.type = PTCP_RDV_AUTH;
	ptcp_identity_sign(id, t, sizeof(t), m.auth.sig);
	rdvwire_send(fd, &m);
	zrtt_collect(fd, 1000, then, sizeof(then), NULL);
	copy_end = zrtt_error(copy_fd, 1000, &copy_closed);
	/* a registration of its own (a fresh nonce): the genuine one, asking
	 * nothing, is unlisted, not ended */
	zrtt_hello(fd3, id, skey, 0, id, &h3, wire3, 0);
	end = zrtt_error(fd, 1000, &closed);
	printf("zrtt copy=%s genuine=%s then=%s copy_end=%d genuine_end=%d\n", copy, genuine, then,
	       copy_end, end);
	fflush(stdout);
	close(copy_fd);
	close(fd);
	close(fd3);
	return !strcmp(copy, "WELCOME,REGISTERED,ERROR") && !strcmp(genuine, "CHALLENGE") &&
	       !strcmp(then, "REGISTERED") && copy_end == PTCP_RDV_E_REPLACED && copy_closed &&
	       end == 0 && !closed ? 0 : 1;
}

static int hostile_zrtt(const char *mode, const struct opts *o)
{
	struct ptcp_identity id, other;
	struct ptcp_rdv_msg h0, m, hello;
	uint8_t skey[32], wire[2 * PTCP_RDV_MSG_MAX], t[PTCP_RDV_TRANSCRIPT_LEN];
	char first[128], again[128];
	int fd, n;

	memset(skey, 0, sizeof(skey));
	if (o->pin)
		parse_id(o->pin, skey);
	ptcp_identity_generate(&id);
	ptcp_identity_generate(&other);
	fd = must_connect();
	if (!strcmp(mode, "zrtt-forged") && o->pin) {
		zrtt_hello(fd, &id, skey, 0, &other, &h0, wire, 0);
		return expect_close(fd, PTCP_RDV_E_BAD_SIGNATURE, 5000);
	}
	if (!strcmp(mode, "zrtt-replay")) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct ptcp_endpoint local;
		struct linger lg = { 1, 0 };

		n = zrtt_hello(fd, &id, skey, 0, &id, &h0, wire, 0);
		zrtt_collect(fd, 1000, first, sizeof(first), NULL);
		getsockname(fd, (struct sockaddr *)&ss, &len);
		ptcp_rdv_from_sockaddr(&local, (struct sockaddr *)&ss, len);
		/* a reset leaves no 4-tuple behind: the same one again */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		fd = rdvwire_dial(&server_ep, &local);
		if (fd < 0)
			die("connect again from port %u: %s", local.port, strerror(-fd));
		rdvwire_send_all(fd, wire, (size_t)n);
		zrtt_collect(fd, 1000, again, sizeof(again), NULL);
		printf("zrtt first=%s replay=%s\n", first, again);
		close(fd);
		return !strcmp(first, "WELCOME,REGISTERED,ERROR") && !strcmp(again, "CHALLENGE") ? 0 : 1;
	}
	if (!strcmp(mode, "zrtt-race"))
		return zrtt_race(&id, skey);
	if (!strcmp(mode, "zrtt-otherkey"))
		randombytes_buf(skey, sizeof(skey));
	else if (strcmp(mode, "zrtt-skew") != 0 && strcmp(mode, "zrtt-elsewhere") != 0 &&
		 strcmp(mode, "zrtt-forged") != 0)
		die("unknown hostile mode '%s'", mode);
	if (!strcmp(mode, "zrtt-elsewhere") && o->pin)
		die("zrtt-elsewhere is an open HELLO0: no --pin");
	zrtt_hello(fd, &id, skey, o->skew_ms, !strcmp(mode, "zrtt-forged") ? &other : &id, &h0, wire,
		   !strcmp(mode, "zrtt-elsewhere") ? 1 : 0);
	zrtt_collect(fd, 5000, first, sizeof(first), &m);
	if (m.type != PTCP_RDV_CHALLENGE) {
		printf("zrtt answer=%s then=none\n", first);
		return 1;
	}
	/* on the 1-RTT way: our AUTH; the CONNECT behind the HELLO0 was
	 * dropped, so REGISTERED is all that comes */
	ptcp_rdv_hello_of(&hello, &h0);
	ptcp_rdv_transcript(t, PTCP_RDV_SIGNER_CLIENT, &hello, &m);
	memset(&m, 0, sizeof(m));
	m.type = PTCP_RDV_AUTH;
	ptcp_identity_sign(&id, t, sizeof(t), m.auth.sig);
	rdvwire_send(fd, &m);
	zrtt_collect(fd, 1000, again, sizeof(again), NULL);
	printf("zrtt answer=%s then=%s\n", first, again);
	close(fd);
	return !strcmp(first, "CHALLENGE") && !strcmp(again, "REGISTERED") ? 0 : 1;
}

static int hostile_simple(const char *mode, const struct opts *o)
{
	struct ptcp_rdv_msg m;
	uint8_t buf[4096];
	int fd = must_connect();

	memset(&m, 0, sizeof(m));
	if (!strcmp(mode, "garbage")) {
		randombytes_buf(buf, sizeof(buf));
		buf[0] = 'G';   /* never the magic by chance */
		rdvwire_send_all(fd, buf, sizeof(buf));
		return expect_close(fd, PTCP_RDV_E_MALFORMED, 5000);
	}
	if (!strcmp(mode, "oversized")) {
		const uint8_t h[6] = { 'P', 'T', PTCP_RDV_VERSION, PTCP_RDV_HELLO, 0xff, 0xff };

		rdvwire_send_all(fd, h, sizeof(h));
		return expect_close(fd, PTCP_RDV_E_TOO_BIG, 5000);
	}
	if (!strcmp(mode, "version")) {
		const uint8_t h[6] = { 'P', 'T', 1, PTCP_RDV_HELLO, 0, 51 };

		rdvwire_send_all(fd, h, sizeof(h));
		return expect_close(fd, PTCP_RDV_E_VERSION, 5000);
	}
	if (!strcmp(mode, "order")) {
		m.type = PTCP_RDV_AUTH;
		rdvwire_send(fd, &m);
		return expect_close(fd, PTCP_RDV_E_UNEXPECTED, 5000);
	}
	if (!strcmp(mode, "early-connect")) {
		m.type = PTCP_RDV_CONNECT;
		m.connect.wait_ms = 1000;
		rdvwire_send(fd, &m);
		return expect_close(fd, PTCP_RDV_E_NOT_AUTHORISED, 5000);
	}
	if (!strcmp(mode, "early-busy")) {
		m.type = PTCP_RDV_BUSY;
		rdvwire_send(fd, &m);
		return expect_close(fd, PTCP_RDV_E_NOT_AUTHORISED, 5000);
	}
	if (!strcmp(mode, "drip")) {
		uint8_t hello[PTCP_RDV_MSG_MAX];
		uint64_t start = rdvwire_now_ms();
		int n;

		m.type = PTCP_RDV_HELLO;
		randombytes_buf(m.hello.key, sizeof(m.hello.key));
		n = ptcp_rdv_emit(&m, hello, sizeof(hello));
		/* one byte at a time until the server gives up */
		for (int i = 0; i < n; i++) {
			struct pollfd p = { fd, POLLIN, 0 };

			if (rdvwire_send_all(fd, hello + i, 1) != 0)
				break;
			if (poll(&p, 1, (int)o->interval_ms) > 0)
				break;   /* the server spoke or closed */
		}
		return expect_close_since(fd, PTCP_RDV_E_TIMEOUT, 60000, start);
	}
	if (!strcmp(mode, "stolen")) {
		struct ptcp_identity thief;
		uint8_t victim[32];

		if (!o->peer)
			die("stolen needs the victim's peer id");
		parse_id(o->peer, victim);
		ptcp_identity_generate(&thief);
		/* the right transcript for the victim's key, but our signature */
		if (hello_and_auth(fd, victim, &thief) != 0) {
			printf("result code=0 fatal=0 closed=0 ms=0 (no challenge)\n");
			return 1;
		}
		return expect_close(fd, PTCP_RDV_E_BAD_SIGNATURE, 5000);
	}
	close(fd);
	die("unknown hostile mode '%s'", mode);
}

static int hostile_idle(unsigned n, const struct opts *o)
{
	struct pollfd *p = calloc(n, sizeof(*p));
	uint64_t end = rdvwire_now_ms() + (uint64_t)o->hold_s * 1000;
	unsigned opened = 0, closed = 0, timeouts = 0;

	if (!p)
		die("out of memory");
	raise_fd_limit();
	for (unsigned i = 0; i < n; i++) {
		int fd = hconnect();

		if (fd < 0) {
			fprintf(stderr, "rdvpeer: connection %u: %s\n", i, strerror(-fd));
			break;
		}
		p[opened].fd = fd;
		p[opened].events = POLLIN;
		opened++;
	}
	printf("idle opened=%u\n", opened);
	fflush(stdout);
	while (closed < opened && rdvwire_now_ms() < end) {
		int r = poll(p, opened, 200);

		if (r <= 0)
			continue;
		for (unsigned i = 0; i < opened; i++) {
			struct ptcp_rdv_msg m;
			int rv;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			rv = rdvwire_recv(p[i].fd, &m, 1000);
			if (rv == 1) {
				if (m.type == PTCP_RDV_ERROR && m.error.code == PTCP_RDV_E_TIMEOUT)
					timeouts++;
				continue;
			}
			close(p[i].fd);
			p[i].fd = -1;
			closed++;
		}
	}
	printf("idle opened=%u closed=%u timeout_errors=%u\n", opened, closed, timeouts);
	fflush(stdout);
	for (unsigned i = 0; i < opened; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	free(p);
	return opened == n && closed == n && timeouts == n ? 0 : 1;
}

/* One honest registration of id on a blocking socket from bind (NULL:
 * --bind's address), with a LISTEN after it when active. Returns the fd,
 * or minus the code of the server's ERROR, or -1 without one. */
static int register_one(const struct ptcp_identity *id, const struct ptcp_endpoint *bind, bool active)
{
	struct ptcp_rdv_msg m;
	int fd = bind ? rdvwire_dial(&server_ep, bind) : hconnect(), rv = -1;

	if (fd < 0)
		return -1;
	if ((rv = hello_and_auth(fd, id->pk, id)) != 0)
		goto fail;
	rv = -1;
	if (rdvwire_recv(fd, &m, 5000) != 1)
		goto fail;
	if (m.type != PTCP_RDV_REGISTERED) {
		if (m.type == PTCP_RDV_ERROR)
			rv = -(int)m.error.code;
		goto fail;
	}
	if (active) {
		memset(&m, 0, sizeof(m));
		m.type = PTCP_RDV_LISTEN;
		m.listen.isn = randombytes_random();
		if (rdvwire_send(fd, &m) != 0)
			goto fail;
	}
	return fd;
fail:
	close(fd);
	return rv;
}

/* The addresses of a --bind-file, one a line. Returns how many. */
static unsigned read_binds(const char *path, struct ptcp_endpoint **out)
{
	FILE *f = fopen(path, "r");
	char line[128];
	unsigned n = 0, cap = 0;
	struct ptcp_endpoint *eps = NULL;

	if (!f)
		die("cannot read '%s': %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, " \t\r\n")] = '\0';
		if (!line[0])
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			eps = realloc(eps, cap * sizeof(*eps));
			if (!eps)
				die("out of memory");
		}
		endpoint_opt(line, 0, &eps[n]);
		eps[n++].port = 0;
	}
	fclose(f);
	if (n == 0)
		die("no addresses in '%s'", path);
	*out = eps;
	return n;
}

static volatile sig_atomic_t stop_flag;

static void on_term(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int hostile_flood(unsigned n, const struct opts *o)
{
	unsigned ok = 0;
	int *fds = calloc(n, sizeof(int));
	uint64_t end;

	if (!fds)
		die("out of memory");
	raise_fd_limit();
	signal(SIGTERM, on_term);
	for (unsigned i = 0; i < n && !stop_flag; i++) {
		struct ptcp_identity id;

		ptcp_identity_generate(&id);
		fds[i] = register_one(&id, NULL, false);
		if (fds[i] < 0) {
			fprintf(stderr, "rdvpeer: registration %u failed\n", i);
			break;
		}
		ok++;
	}
	printf("flood registered=%u\n", ok);
	fflush(stdout);
	end = rdvwire_now_ms() + (uint64_t)o->hold_s * 1000;
	while (!stop_flag && rdvwire_now_ms() < end)
		usleep(100 * 1000);
	for (unsigned i = 0; i < ok; i++)
		close(fds[i]);
	free(fds);
	return ok == n ? 0 : 1;
}

static int hostile_fill(unsigned n, const struct opts *o)
{
	unsigned ok = 0, limited = 0, full = 0, other = 0, nb;
	struct ptcp_endpoint *binds;
	int *fds = calloc(n, sizeof(int));
	uint64_t end;

	if (!fds)
		die("out of memory");
	if (!o->bind_file)
		die("fill needs --bind-file");
	nb = read_binds(o->bind_file, &binds);
	raise_fd_limit();
	signal(SIGTERM, on_term);
	for (unsigned i = 0; i < n && !stop_flag; i++) {
		struct ptcp_identity id;
		int fd;

		ptcp_identity_generate(&id);
		fd = register_one(&id, &binds[i % nb], o->active);
		if (fd >= 0)
			fds[ok++] = fd;
		else if (fd == -PTCP_RDV_E_RATE_LIMITED)
			limited++;
		else if (fd == -PTCP_RDV_E_SERVER_FULL)
			full++;
		else
			other++;
	}
	printf("fill registered=%u rate_limited=%u full=%u other=%u\n", ok, limited, full, other);
	fflush(stdout);
	end = rdvwire_now_ms() + (uint64_t)o->hold_s * 1000;
	while (!stop_flag && rdvwire_now_ms() < end)
		usleep(100 * 1000);
	for (unsigned i = 0; i < ok; i++)
		close(fds[i]);
	free(fds);
	free(binds);
	return 0;
}

static int hostile_limits(unsigned n)
{
	unsigned accepted = 0, limited = 0, full = 0, other = 0;
	int *fds = calloc(n, sizeof(int));

	if (!fds)
		die("out of memory");
	raise_fd_limit();
	for (unsigned i = 0; i < n; i++)
		fds[i] = hconnect();
	for (unsigned i = 0; i < n; i++) {
		struct ptcp_rdv_msg m;
		int rv;

		if (fds[i] < 0) {
			other++;
			continue;
		}
		rv = rdvwire_recv(fds[i], &m, 300);
		if (rv == -ETIMEDOUT)
			accepted++;
		else if (rv == 1 && m.type == PTCP_RDV_ERROR && m.error.code == PTCP_RDV_E_RATE_LIMITED)
			limited++;
		else if (rv == 1 && m.type == PTCP_RDV_ERROR && m.error.code == PTCP_RDV_E_SERVER_FULL)
			full++;
		else
			other++;
	}
	printf("limits accepted=%u rate_limited=%u full=%u other=%u\n", accepted, limited, full, other);
	fflush(stdout);
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return 0;
}

/* N requests on one registered connection, for the rate limit. */
static int hostile_requests(unsigned n, const char *peer)
{
	unsigned answered = 0, limited = 0, not_waiting = 0, unknown = 0, other = 0;
	struct ptcp_identity a;
	struct ptcp_rdv_msg m;
	uint8_t key[32];
	int fd;

	parse_id(peer, key);
	ptcp_identity_generate(&a);
	if ((fd = register_one(&a, NULL, false)) < 0)
		die("cannot register: %d", fd);
	for (unsigned i = 0; i < n; i++) {
		memset(&m, 0, sizeof(m));
		m.type = PTCP_RDV_CONNECT;
		memcpy(m.connect.key, key, 32);
		if (rdvwire_send(fd, &m) != 0 || rdvwire_recv(fd, &m, 5000) != 1)
			break;
		answered++;
		if (m.type != PTCP_RDV_ERROR)
			other++;
		else if (m.error.code == PTCP_RDV_E_RATE_LIMITED)
			limited++;
		else if (m.error.code == PTCP_RDV_E_NOT_WAITING)
			not_waiting++;
		else if (m.error.code == PTCP_RDV_E_UNKNOWN_PEER)
			unknown++;
		else
			other++;
	}
	printf("requests answered=%u rate_limited=%u not_waiting=%u unknown=%u other=%u\n", answered,
	       limited, not_waiting, unknown, other);
	fflush(stdout);
	close(fd);
	return answered == n ? 0 : 1;
}

/* BUSY where it does not belong, on registered connections. */
static int hostile_busy(const char *mode)
{
	struct ptcp_identity a, t;
	struct ptcp_rdv_msg m;
	int fd, target = -1, rc;

	ptcp_identity_generate(&a);
	if (!strcmp(mode, "busy-asking")) {
		/* a peer that is registered and neither listens nor asks: a
		 * CONNECT for it waits */
		ptcp_identity_generate(&t);
		if ((target = register_one(&t, NULL, false)) < 0)
			die("cannot register the target: %d", target);
	}
	if ((fd = register_one(&a, NULL, false)) < 0)
		die("cannot register: %d", fd);
	memset(&m, 0, sizeof(m));
	if (target >= 0) {
		m.type = PTCP_RDV_CONNECT;
		memcpy(m.connect.key, t.pk, 32);
		m.connect.wait_ms = 10000;
		rdvwire_send(fd, &m);
		memset(&m, 0, sizeof(m));
	}
	m.type = PTCP_RDV_BUSY;
	rdvwire_send(fd, &m);
	if (!strcmp(mode, "busy-twice"))
		rdvwire_send(fd, &m);
	rc = expect_close(fd, PTCP_RDV_E_UNEXPECTED, 5000);
	if (target >= 0)
		close(target);
	return rc;
}

static int cmd_hostile(int argc, char **argv)
{
	struct opts o;
	const char *mode;
	int skip;

	if (argc < 1)
		usage();
	mode = argv[0];
	/* requests N ID: two words before the options */
	skip = !strcmp(mode, "requests") ? 3 : 1;
	if (argc < skip)
		die("%s needs a count and a peer id", mode);
	parse_opts(&o, argc - skip, argv + skip);
	endpoint_opt(o.server, PTCP_RDV_PORT, &server_ep);
	if (o.bind) {
		endpoint_opt(o.bind, 0, &bind_ep);
		bind_ep.port = 0;
		has_bind = true;
	}
	if (!strcmp(mode, "idle"))
		return hostile_idle((unsigned)num(o.peer ? o.peer : "", "count"), &o);
	if (!strcmp(mode, "flood"))
		return hostile_flood((unsigned)num(o.peer ? o.peer : "", "count"), &o);
	if (!strcmp(mode, "fill"))
		return hostile_fill((unsigned)num(o.peer ? o.peer : "", "count"), &o);
	if (!strcmp(mode, "limits"))
		return hostile_limits((unsigned)num(o.peer ? o.peer : "", "count"));
	if (!strcmp(mode, "requests"))
		return hostile_requests((unsigned)num(argv[1], "count"), argv[2]);
	if (!strcmp(mode, "busy-twice") || !strcmp(mode, "busy-asking"))
		return hostile_busy(mode);
	if (!strncmp(mode, "zrtt-", 5))
		return hostile_zrtt(mode, &o);
	return hostile_simple(mode, &o);
}

/* --- load ------------------------------------------------------------------------ */

/* Reads one MATCH from each of the n fds within 10 s. Returns how many. */
static unsigned read_matches(const int *fds, unsigned n)
{
	struct pollfd *p = calloc(n, sizeof(*p));
	uint64_t end = rdvwire_now_ms() + 10000;
	unsigned got = 0;

	if (!p)
		die("out of memory");
	for (unsigned i = 0; i < n; i++) {
		p[i].fd = fds[i];
		p[i].events = POLLIN;
	}
	while (got < n && rdvwire_now_ms() < end) {
		if (poll(p, n, 200) <= 0)
			continue;
		for (unsigned i = 0; i < n; i++) {
			struct ptcp_rdv_msg m;

			if (p[i].fd < 0 || !p[i].revents)
				continue;
			if (rdvwire_recv(p[i].fd, &m, 1000) != 1 || m.type != PTCP_RDV_MATCH) {
				fprintf(stderr, "rdvpeer: load: connection %u: %s\n", i,
					m.type == PTCP_RDV_ERROR ? m.error.text : "no MATCH");
				p[i].fd = -1;
				continue;
			}
			p[i].fd = -1;   /* one MATCH each per round */
			got++;
		}
	}
	free(p);
	return got;
}

static int cmd_load(int argc, char **argv)
{
	struct ptcp_endpoint s1, s2;
	struct ptcp_identity *ids;
	struct opts o;
	unsigned pairs, rounds, matches = 0;
	int *fds;
	uint64_t t0, t1, t2;

	if (argc < 2)
		usage();
	pairs = (unsigned)num(argv[0], "pairs");
	rounds = (unsigned)num(argv[1], "rounds");
	parse_opts(&o, argc - 2, argv + 2);
	if (!o.server2 || pairs == 0)
		die("load needs --server2 and at least one pair");
	endpoint_opt(o.server, PTCP_RDV_PORT, &s1);
	endpoint_opt(o.server2, PTCP_RDV_PORT, &s2);
	if (o.bind) {
		endpoint_opt(o.bind, 0, &bind_ep);
		bind_ep.port = 0;
		has_bind = true;
	}
	raise_fd_limit();
	ids = calloc(2 * pairs, sizeof(*ids));
	fds = calloc(2 * pairs, sizeof(*fds));
	if (!ids || !fds)
		die("out of memory");
	/* fds[0..pairs): listeners at s1; fds[pairs..2 pairs): askers at s2 */
	t0 = rdvwire_now_ms();
	for (unsigned i = 0; i < 2 * pairs; i++) {
		ptcp_identity_generate(&ids[i]);
		server_ep = i < pairs ? s1 : s2;
		if ((fds[i] = register_one(&ids[i], NULL, false)) < 0)
			die("registration %u failed: %d", i, fds[i]);
	}
	t1 = rdvwire_now_ms();
	for (unsigned r = 0; r < rounds; r++) {
		for (unsigned i = 0; i < 2 * pairs; i++) {
			struct ptcp_rdv_msg m;

			memset(&m, 0, sizeof(m));
			if (i < pairs) {
				m.type = PTCP_RDV_LISTEN;
				m.listen.isn = r;
			} else {
				m.type = PTCP_RDV_CONNECT;
				memcpy(m.connect.key, ids[i - pairs].pk, 32);
				m.connect.isn = r;
				m.connect.wait_ms = 5000;
			}
			if (rdvwire_send(fds[i], &m) != 0)
				die("send: connection %u", i);
		}
		matches += read_matches(fds, 2 * pairs) / 2;
	}
	t2 = rdvwire_now_ms();
	printf("load registered=%u reg_ms=%llu matches=%u match_ms=%llu reg_per_s=%.0f match_per_s=%.0f\n",
	       2 * pairs, (unsigned long long)(t1 - t0), matches, (unsigned long long)(t2 - t1),
	       2e3 * pairs / (double)(t1 - t0 ? t1 - t0 : 1), 1e3 * matches / (double)(t2 - t1 ? t2 - t1 : 1));
	fflush(stdout);
	for (unsigned i = 0; i < 2 * pairs; i++) {
		close(fds[i]);
		ptcp_identity_wipe(&ids[i]);
	}
	free(fds);
	free(ids);
	return matches == pairs * rounds ? 0 : 1;
}

/* --- keys ----------------------------------------------------------------------- */

static int cmd_keygen(const char *dir)
{
	struct ptcp_identity id;
	char err[600], pid[PTCP_PEERID_TEXT_MAX];

	if (ptcp_identity_generate(&id) != 0 || ptcp_identity_save(&id, dir, true, err, sizeof(err)) != 0)
		die("keygen: %s", err);
	printf("%s\n", id_str(id.pk, pid));
	return 0;
}

static int cmd_id(const char *dir)
{
	struct ptcp_identity id;
	char pid[PTCP_PEERID_TEXT_MAX];

	load_key(dir, &id);
	printf("%s\n", id_str(id.pk, pid));
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		die("libsodium failed");
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "keygen") && argc == 3)
		return cmd_keygen(argv[2]);
	if (!strcmp(argv[1], "id") && argc == 3)
		return cmd_id(argv[2]);
	if (!strcmp(argv[1], "listen"))
		return cmd_honest(H_LISTEN, argc - 2, argv + 2);
	if (!strcmp(argv[1], "connect"))
		return cmd_honest(H_CONNECT, argc - 2, argv + 2);
	if (!strcmp(argv[1], "register"))
		return cmd_honest(H_REGISTER, argc - 2, argv + 2);
	if (!strcmp(argv[1], "serve"))
		return cmd_honest(H_SERVE, argc - 2, argv + 2);
	if (!strcmp(argv[1], "hostile"))
		return cmd_hostile(argc - 2, argv + 2);
	if (!strcmp(argv[1], "load"))
		return cmd_load(argc - 2, argv + 2);
	usage();
}
