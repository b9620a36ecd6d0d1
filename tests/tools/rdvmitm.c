/* rdvmitm: malicious rendezvous servers for the tests, on the codec
 * (core/proto/rdvmsg.h) and plain sockets.
 *
 *   rdvmitm relay --listen ADDR:PORT --upstream ADDR:PORT --key DIR
 *                 --present own|upstream [--hold S]
 *     A man in the middle that tries to register its one client at the
 *     upstream (honest) server: it passes the client's HELLO on, and
 *     shows the client the upstream's CHALLENGE with
 *       own       its own key (DIR's) and its own, valid, signature;
 *       upstream  the upstream's key and signature, unchanged;
 *     then passes the client's AUTH up and the answer back, and relays
 *     both ways until one side closes or --hold ends (default 10 s).
 *     Prints "listening", then one line
 *       relay result=registered|refused code=N|client-refused|failed
 *     (refused: the upstream's ERROR; client-refused: the client closed
 *     instead of signing) and exits 0.
 *
 *   rdvmitm server --listen ADDR:PORT --key DIR [--redirect]
 *                  [--start-ms N] [--idle-ms N] [--public ADDR:PORT]
 *                  [--observed ADDR:PORT] [--bad-sig] [--claim ID] [--hold S]
 *     A rendezvous server that registers its clients as rendezvousd does
 *     (DIR's key) and matches a CONNECT with a listener, lying where told:
 *       --redirect     with the oldest listener whose key is not the one
 *                      asked for, telling the asker it is that one (the
 *                      peers' secure channel must refuse the result);
 *       --start-ms N   the MATCH start delay (default 200);
 *       --idle-ms N    the REGISTERED idle timeout (default 60000);
 *       --public EP    the asker's MATCH names EP as the peer's endpoint;
 *       --observed EP  every CHALLENGE names EP as the observed endpoint;
 *       --bad-sig      every CHALLENGE signature has one bit flipped;
 *       --claim ID     the first match tells the listener that the asker
 *                      is ID (at the asker's own endpoint): a server that
 *                      vouches for an id the asker does not hold (the
 *                      listener's secure channel must refuse it); later
 *                      matches are honest.
 *     Prints "listening", then "match asker=ID peer=ID claimed=ID" for
 *     each match (and "told listener asker=ID" after a --claim one); runs
 *     until SIGTERM or --hold S (default 120).
 *
 * Exit status 2 on a usage or setup error. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "identity.h"
#include "peerid.h"
#include "rdvclient.h"
#include "rdvmsg.h"

#include "lib/rdvwire.h"

#define MAX_CLIENTS 32
#define STEP_MS 5000     /* each step of a relay must come within this */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "rdvmitm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static const char *id_str(const uint8_t *key, char buf[PTCP_PEERID_TEXT_MAX])
{
	ptcp_peerid_encode(buf, PTCP_PEERID_TEXT_MAX, key, NULL);
	return buf;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* --- options ------------------------------------------------------------------ */

struct opts {
	struct ptcp_endpoint listen, upstream, public_ep, observed;
	bool has_upstream, has_public, has_observed, redirect, bad_sig, present_own;
	bool has_claim;                  /* --claim: not used yet */
	uint8_t claim[PTCP_RDV_KEY_LEN];
	const char *present;
	struct ptcp_identity id;
	uint32_t start_ms, idle_ms;
	unsigned hold_s;
};

static void endpoint(const char *s, struct ptcp_endpoint *ep)
{
	char err[128];

	if (ptcp_rdv_parse_hostport(s, PTCP_RDV_PORT, ep, err, sizeof(err)) != 0)
		die("%s", err);
}

static uint32_t num(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || !*s || v > 0xffffffffUL)
		die("invalid number: '%s'", s);
	return (uint32_t)v;
}

static void parse_opts(struct opts *o, bool relay, int argc, char **argv)
{
	char err[600];
	bool has_listen = false, has_key = false;

	memset(o, 0, sizeof(*o));
	o->start_ms = 200;
	o->idle_ms = 60000;
	o->hold_s = relay ? 10 : 120;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--redirect")) {
			o->redirect = true;
			continue;
		}
		if (!strcmp(a, "--bad-sig")) {
			o->bad_sig = true;
			continue;
		}
		if (!v)
			die("option '%s' needs a value", a);
		i++;
		if (!strcmp(a, "--listen")) {
			endpoint(v, &o->listen);
			has_listen = true;
		} else if (!strcmp(a, "--upstream")) {
			endpoint(v, &o->upstream);
			o->has_upstream = true;
		} else if (!strcmp(a, "--key")) {
			if (ptcp_identity_load(&o->id, v, err, sizeof(err)) != 0)
				die("%s", err);
			has_key = true;
		} else if (!strcmp(a, "--present")) {
			if (strcmp(v, "own") != 0 && strcmp(v, "upstream") != 0)
				die("--present: own or upstream, not '%s'", v);
			o->present_own = !strcmp(v, "own");
			o->present = v;
		} else if (!strcmp(a, "--public")) {
			endpoint(v, &o->public_ep);
			o->has_public = true;
		} else if (!strcmp(a, "--observed")) {
			endpoint(v, &o->observed);
			o->has_observed = true;
		} else if (!strcmp(a, "--claim")) {
			if (ptcp_identity_parse_peer(o->claim, v, err, sizeof(err)) != 0)
				die("--claim: %s", err);
			o->has_claim = true;
		} else if (!strcmp(a, "--start-ms")) {
			o->start_ms = num(v);
		} else if (!strcmp(a, "--idle-ms")) {
			o->idle_ms = num(v);
		} else if (!strcmp(a, "--hold")) {
			o->hold_s = num(v);
		} else {
			die("unknown option: '%s'", a);
		}
	}
	if (!has_listen || !has_key)
		die("missing --listen or --key");
	if (relay && (!o->has_upstream || !o->present))
		die("relay needs --upstream and --present");
}

/* A CHALLENGE signed with our key over the transcript of hello and it. */
static void sign_challenge(const struct opts *o, const struct ptcp_rdv_msg *hello,
                           struct ptcp_rdv_msg *ch)
{
	uint8_t t[PTCP_RDV_TRANSCRIPT_LEN];

	memcpy(ch->challenge.server_key, o->id.pk, PTCP_RDV_KEY_LEN);
	if (ptcp_rdv_transcript(t, PTCP_RDV_SIGNER_SERVER, hello, ch) < 0 ||
	    ptcp_identity_sign(&o->id, t, sizeof(t), ch->challenge.sig) != 0)
		die("cannot sign a challenge");
	if (o->bad_sig)
		ch->challenge.sig[7] ^= 0x10;
}

static int accept_within(int lfd, unsigned s)
{
	struct pollfd p = { lfd, POLLIN, 0 };

	if (poll(&p, 1, (int)(s * 1000)) <= 0)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* --- relay ---------------------------------------------------------------------- */

/* Copies bytes both ways until one side closes or the hold ends. */
static void pump(int a, int b, uint64_t end)
{
	uint8_t buf[4096];

	while (!stop && rdvwire_now_ms() < end) {
		struct pollfd p[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };

		if (poll(p, 2, 200) <= 0)
			continue;
		for (int k = 0; k < 2; k++) {
			ssize_t n;

			if (!p[k].revents)
				continue;
			n = recv(p[k].fd, buf, sizeof(buf), 0);
			if (n <= 0 || rdvwire_send_all(p[1 - k].fd, buf, (size_t)n) != 0)
				return;
		}
	}
}

static int cmd_relay(int argc, char **argv)
{
	struct ptcp_rdv_msg hello, ch, m;
	struct opts o;
	char id[PTCP_PEERID_TEXT_MAX];
	int lfd, c, u;

	parse_opts(&o, true, argc, argv);
	if ((lfd = rdvwire_listen(&o.listen)) < 0)
		die("cannot listen: %s", strerror(-lfd));
	say("listening");
	if ((c = accept_within(lfd, o.hold_s)) < 0)
		die("no client within %u s", o.hold_s);
	if (rdvwire_recv(c, &hello, STEP_MS) != 1 || hello.type != PTCP_RDV_HELLO)
		die("the client sent no HELLO");
	say("relay hello key=%s", id_str(hello.hello.key, id));
	if ((u = rdvwire_dial(&o.upstream, NULL)) < 0)
		die("cannot reach the upstream: %s", strerror(-u));
	/* the client's HELLO, nonce and all: the upstream's CHALLENGE is
	 * then for it */
	if (rdvwire_send(u, &hello) != 0 || rdvwire_recv(u, &ch, STEP_MS) != 1 ||
	    ch.type != PTCP_RDV_CHALLENGE)
		die("the upstream sent no CHALLENGE");
	if (o.present_own)
		sign_challenge(&o, &hello, &ch);
	if (rdvwire_send(c, &ch) != 0)
		die("cannot write to the client");
	if (rdvwire_recv(c, &m, STEP_MS) != 1 || m.type != PTCP_RDV_AUTH) {
		say("relay result=client-refused");
		return 0;
	}
	if (rdvwire_send(u, &m) != 0 || rdvwire_recv(u, &m, STEP_MS) != 1) {
		say("relay result=failed");
		return 0;
	}
	if (m.type == PTCP_RDV_REGISTERED)
		say("relay result=registered");
	else if (m.type == PTCP_RDV_ERROR)
		say("relay result=refused code=%u", (unsigned)m.error.code);
	else
		say("relay result=failed");
	rdvwire_send(c, &m);
	pump(c, u, rdvwire_now_ms() + (uint64_t)o.hold_s * 1000);
	close(c);
	close(u);
	close(lfd);
	return 0;
}

/* --- server ---------------------------------------------------------------------- */

enum cstate { C_NEW, C_CHALLENGED, C_REGISTERED };

struct client {
	int fd;                          /* -1: free slot */
	enum cstate state;
	unsigned long order;             /* accept order: lower is older */
	uint8_t in[PTCP_RDV_MSG_MAX];
	size_t have;
	struct ptcp_rdv_msg hello, challenge;
	struct ptcp_endpoint observed;
	bool listening;
	uint32_t isn;                    /* of the LISTEN */
};

static struct client clients[MAX_CLIENTS];

static void drop(struct client *c)
{
	close(c->fd);
	c->fd = -1;
}

static void fail(struct client *c, int code, const char *text)
{
	struct ptcp_rdv_msg m;

	ptcp_rdv_error_msg(&m, code, true, text);
	rdvwire_send(c->fd, &m);
	drop(c);
}

/* The listener CONNECT(key) from asker is matched with, or NULL. */
static struct client *target_of(const struct opts *o, const struct client *asker, const uint8_t *key)
{
	struct client *best = NULL;

	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *t = &clients[i];
		bool is_key;

		if (t->fd < 0 || t == asker || !t->listening)
			continue;
		is_key = memcmp(t->hello.hello.key, key, PTCP_RDV_KEY_LEN) == 0;
		if (is_key == o->redirect)
			continue;
		if (!best || t->order < best->order)
			best = t;
	}
	return best;
}

static void match(struct opts *o, struct client *a, struct client *l, const uint8_t *claimed,
                  uint32_t isn)
{
	struct ptcp_rdv_msg ma, ml;
	char x[PTCP_PEERID_TEXT_MAX], y[PTCP_PEERID_TEXT_MAX], z[PTCP_PEERID_TEXT_MAX];
	bool lie = o->has_claim;

	memset(&ma, 0, sizeof(ma));
	ma.type = PTCP_RDV_MATCH;
	memcpy(ma.match.key, claimed, PTCP_RDV_KEY_LEN);
	ma.match.peer_public = o->has_public ? o->public_ep : l->observed;
	ma.match.peer_private = l->hello.hello.private_ep;
	ma.match.peer_isn = l->isn;
	ma.match.isn = isn;
	ma.match.role = PTCP_RDV_ROLE_INITIATOR;
	ma.match.start_ms = o->start_ms;
	memset(&ml, 0, sizeof(ml));
	ml.type = PTCP_RDV_MATCH;
	memcpy(ml.match.key, lie ? o->claim : a->hello.hello.key, PTCP_RDV_KEY_LEN);
	ml.match.peer_public = a->observed;
	ml.match.peer_private = a->hello.hello.private_ep;
	ml.match.peer_isn = isn;
	ml.match.isn = l->isn;
	ml.match.role = PTCP_RDV_ROLE_RESPONDER;
	ml.match.start_ms = o->start_ms;
	rdvwire_send(a->fd, &ma);
	rdvwire_send(l->fd, &ml);
	l->listening = false;
	say("match asker=%s peer=%s claimed=%s", id_str(a->hello.hello.key, x),
	    id_str(l->hello.hello.key, y), id_str(claimed, z));
	if (lie) {
		o->has_claim = false;
		say("told listener asker=%s", id_str(o->claim, x));
	}
}

static void handle(struct opts *o, struct client *c, const struct ptcp_rdv_msg *in)
{
	uint8_t t[PTCP_RDV_TRANSCRIPT_LEN];
	struct ptcp_rdv_msg m;
	struct client *l;

	memset(&m, 0, sizeof(m));
	if (in->type == PTCP_RDV_HELLO && c->state == C_NEW) {
		c->hello = *in;
		m.type = PTCP_RDV_CHALLENGE;
		randombytes_buf(m.challenge.nonce, sizeof(m.challenge.nonce));
		m.challenge.observed = o->has_observed ? o->observed : c->observed;
		sign_challenge(o, &c->hello, &m);
		c->challenge = m;
		c->state = C_CHALLENGED;
		rdvwire_send(c->fd, &m);
	} else if (in->type == PTCP_RDV_AUTH && c->state == C_CHALLENGED) {
		if (ptcp_rdv_transcript(t, PTCP_RDV_SIGNER_CLIENT, &c->hello, &c->challenge) < 0 ||
		    !ptcp_identity_verify(c->hello.hello.key, t, sizeof(t), in->auth.sig)) {
			fail(c, PTCP_RDV_E_BAD_SIGNATURE, NULL);
			return;
		}
		m.type = PTCP_RDV_REGISTERED;
		m.registered.idle_ms = o->idle_ms;
		m.registered.max_wait_ms = 30000;
		c->state = C_REGISTERED;
		rdvwire_send(c->fd, &m);
	} else if (in->type == PTCP_RDV_LISTEN && c->state == C_REGISTERED) {
		c->listening = true;
		c->isn = in->listen.isn;
	} else if (in->type == PTCP_RDV_CONNECT && c->state == C_REGISTERED) {
		l = target_of(o, c, in->connect.key);
		if (l) {
			match(o, c, l, in->connect.key, in->connect.isn);
		} else {
			ptcp_rdv_error_msg(&m, PTCP_RDV_E_UNKNOWN_PEER, false, NULL);
			rdvwire_send(c->fd, &m);
		}
	} else if (in->type == PTCP_RDV_PING) {
		m.type = PTCP_RDV_PONG;
		m.ping.token = in->ping.token;
		rdvwire_send(c->fd, &m);
	} else {
		fail(c, PTCP_RDV_E_UNEXPECTED, NULL);
	}
}

/* Reads what c sent and handles every whole message. */
static void on_readable(struct opts *o, struct client *c)
{
	struct ptcp_rdv_msg m;
	ssize_t n = recv(c->fd, c->in + c->have, sizeof(c->in) - c->have, 0);
	int len;

	if (n <= 0) {
		drop(c);
		return;
	}
	c->have += (size_t)n;
	while (c->fd >= 0 && (len = ptcp_rdv_frame(c->in, c->have)) != 0) {
		if (len < 0 || ptcp_rdv_parse(&m, c->in, (size_t)len) != 0) {
			fail(c, PTCP_RDV_E_MALFORMED, NULL);
			return;
		}
		memmove(c->in, c->in + len, c->have - (size_t)len);
		c->have -= (size_t)len;
		handle(o, c, &m);
	}
}

static void on_accept(int lfd)
{
	static unsigned long order;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &clients[i];

		if (c->fd >= 0)
			continue;
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->order = ++order;
		ptcp_rdv_from_sockaddr(&c->observed, (struct sockaddr *)&ss, len);
		return;
	}
	close(fd);
}

static int cmd_server(int argc, char **argv)
{
	struct pollfd p[MAX_CLIENTS + 1];
	struct client *at[MAX_CLIENTS + 1];
	struct opts o;
	uint64_t end;
	int lfd;

	parse_opts(&o, false, argc, argv);
	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	if ((lfd = rdvwire_listen(&o.listen)) < 0)
		die("cannot listen: %s", strerror(-lfd));
	say("listening");
	end = rdvwire_now_ms() + (uint64_t)o.hold_s * 1000;
	while (!stop && rdvwire_now_ms() < end) {
		nfds_t n = 0;

		p[n].fd = lfd;
		p[n].events = POLLIN;
		at[n++] = NULL;
		for (int i = 0; i < MAX_CLIENTS; i++) {
			if (clients[i].fd < 0)
				continue;
			p[n].fd = clients[i].fd;
			p[n].events = POLLIN;
			at[n++] = &clients[i];
		}
		if (poll(p, n, 200) <= 0)
			continue;
		for (nfds_t k = 0; k < n; k++) {
			if (!p[k].revents)
				continue;
			if (at[k])
				on_readable(&o, at[k]);
			else
				on_accept(lfd);
		}
	}
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			drop(&clients[i]);
	close(lfd);
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		die("libsodium failed");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	if (argc >= 2 && !strcmp(argv[1], "relay"))
		return cmd_relay(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "server"))
		return cmd_server(argc - 2, argv + 2);
	fprintf(stderr, "usage: rdvmitm relay ... | server ... (see the comment at the top of "
			"rdvmitm.c)\n");
	return 2;
}
