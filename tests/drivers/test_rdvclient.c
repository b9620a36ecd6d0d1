/* Tests of what the rendezvous client accepts from a server
 * (core/rdv/rdvclient.c, compiled in directly, its checks called on a
 * client struct made here, with no socket): the CHALLENGE (observed
 * endpoint, pinned key, the server's signature), WELCOME (the answer to a
 * 0-RTT HELLO0: observed endpoint, the signature under the pinned key, of
 * our own HELLO0), REGISTERED (the idle
 * timeout and max wait within their bounds), MATCH (for our request, an
 * allowed peer that is not us, usable endpoints of our family, the start
 * delay within PTCP_RDV_START_MAX_MS), PONG (for our PINGs, in order) and
 * ERROR (not fatal only for a request). Each refusal's line names the
 * field and quotes the value.
 *
 * Then what the client sends and tells its caller around BUSY, on a
 * client whose messages pile up in a bufferevent without a socket: BUSY
 * replaces an outstanding LISTEN and the server's answer to that LISTEN
 * (ERROR BUSY, or a MATCH made before the server read BUSY) comes first,
 * a LISTEN after BUSY waits for it, BUSY made before registration, BUSY
 * twice or while a CONNECT is outstanding refused locally, and an asker
 * told BUSY. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

#include "../../core/rdv/rdvclient.c"

static struct ptcp_identity me, server, other;
static char msg[512];

static void ep4(struct ptcp_endpoint *ep, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = PTCP_AF_INET;
	ep->addr[0] = a;
	ep->addr[1] = b;
	ep->addr[2] = c;
	ep->addr[3] = d;
	ep->port = port;
}

static void ep6(struct ptcp_endpoint *ep, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = PTCP_AF_INET6;
	ep->addr[0] = 0x20;
	ep->addr[1] = 0x01;
	ep->addr[2] = 0x0d;
	ep->addr[3] = 0xb8;
	ep->addr[15] = 1;
	ep->port = port;
}

/* A client of an IPv4 server that sent its HELLO. */
static void client(struct ptcp_rdv_client *c)
{
	memset(c, 0, sizeof(*c));
	c->cfg.id = &me;
	ep4(&c->cfg.server, 203, 0, 113, 10, 7450);
	c->hello.type = PTCP_RDV_HELLO;
	memcpy(c->hello.hello.key, me.pk, 32);
	memset(c->hello.hello.nonce, 0x42, 32);
	ep4(&c->hello.hello.private_ep, 10, 1, 0, 2, 40000);
}

/* The server's CHALLENGE to c naming observed (NULL: 198.51.100.1:40000),
 * signed by signer as the server key. */
static void challenge(const struct ptcp_rdv_client *c, struct ptcp_rdv_msg *m,
                      const struct ptcp_identity *signer, const struct ptcp_endpoint *observed)
{
	uint8_t t[PTCP_RDV_TRANSCRIPT_LEN];

	memset(m, 0, sizeof(*m));
	m->type = PTCP_RDV_CHALLENGE;
	memcpy(m->challenge.server_key, server.pk, 32);
	memset(m->challenge.nonce, 0x17, 32);
	if (observed)
		m->challenge.observed = *observed;
	else
		ep4(&m->challenge.observed, 198, 51, 100, 1, 40000);
	CHECK_INT(ptcp_rdv_transcript(t, PTCP_RDV_SIGNER_SERVER, &c->hello, m), PTCP_RDV_TRANSCRIPT_LEN);
	CHECK_INT(ptcp_identity_sign(signer, t, sizeof(t), m->challenge.sig), 0);
}

static bool has(const char *text)
{
	if (strstr(msg, text))
		return true;
	check_fail(__FILE__, __LINE__, "'%s' not in '%s'", text, msg);
	return false;
}

static void test_challenge(void)
{
	struct ptcp_rdv_client c;
	struct ptcp_rdv_msg m;
	struct ptcp_endpoint ep;
	char a[PTCP_PEERID_TEXT_MAX], b[PTCP_PEERID_TEXT_MAX];

	client(&c);
	challenge(&c, &m, &server, NULL);
	CHECK_INT(check_challenge(&c, &m, msg, sizeof(msg)), 0);
	/* pinned to the server's key: fine; to another: refused, both quoted */
	c.cfg.has_server_key = true;
	memcpy(c.cfg.server_key, server.pk, 32);
	CHECK_INT(check_challenge(&c, &m, msg, sizeof(msg)), 0);
	memcpy(c.cfg.server_key, other.pk, 32);
	CHECK_INT(check_challenge(&c, &m, msg, sizeof(msg)), -EKEYREJECTED);
	id_text(server.pk, a);
	id_text(other.pk, b);
	CHECK(has(a) && has(b) && has("203.0.113.10:7450 has the key"));
	c.cfg.has_server_key = false;
	/* the key claimed, but signed by another: refused */
	challenge(&c, &m, &other, NULL);
	CHECK_INT(check_challenge(&c, &m, msg, sizeof(msg)), -EPROTO);
	CHECK(has("its signature does not verify under the key it claims") && has(a));
	/* a signature for another client's nonce: refused */
	challenge(&c, &m, &server, NULL);
	c.hello.hello.nonce[0] ^= 1;
	CHECK_INT(check_challenge(&c, &m, msg, sizeof(msg)), -EPROTO);
	c.hello.hello.nonce[0] ^= 1;
	/* observed endpoints that cannot be ours, properly signed: only the
	 * check refuses them */
	ep6(&ep, 40000);
	challenge(&c, &m, &server, &ep);
	CHECK_INT(check_challenge(&c, &m, msg, sizeof(msg)), -EPROTO);
	CHECK(has("impossible observed endpoint: IPv6 [2001:db8::1]:40000"));
	ep4(&ep, 224, 0, 0, 1, 40000);
	challenge(&c, &m, &server, &ep);
	CHECK_INT(check_challenge(&c, &m, msg, sizeof(msg)), -EPROTO);
	CHECK(has("IPv4 224.0.0.1:40000"));
	ep4(&ep, 0, 0, 0, 0, 40000);
	challenge(&c, &m, &server, &ep);
	CHECK_INT(check_challenge(&c, &m, msg, sizeof(msg)), -EPROTO);
}

/* A client that sent a HELLO0 pinned to server (open: pinning none, for
 * the server at c->cfg.server), and the WELCOME signer makes for it naming
 * observed (NULL: 198.51.100.1:40000), with the server's key when open. */
static void welcome_of(struct ptcp_rdv_client *c, struct ptcp_rdv_msg *m,
                       const struct ptcp_identity *signer, const struct ptcp_endpoint *observed,
                       bool open)
{
	uint8_t t[PTCP_RDV_TRANSCRIPT0_MAX];
	int n;

	client(c);
	c->cfg.has_server_key = !open;
	if (!open)
		memcpy(c->cfg.server_key, server.pk, 32);
	c->hello0.type = PTCP_RDV_HELLO0;
	memcpy(c->hello0.hello0.key, me.pk, 32);
	memset(c->hello0.hello0.nonce, 0x42, 32);
	c->hello0.hello0.private_ep = c->hello.hello.private_ep;
	c->hello0.hello0.time_ms = 1764640000000ull;
	if (!open)
		memcpy(c->hello0.hello0.server_key, server.pk, 32);
	memset(m, 0, sizeof(*m));
	m->type = PTCP_RDV_WELCOME;
	if (observed)
		m->welcome.observed = *observed;
	else
		ep4(&m->welcome.observed, 198, 51, 100, 1, 40000);
	if (open) {
		m->welcome.has_key = 1;
		memcpy(m->welcome.server_key, signer->pk, 32);
	}
	n = ptcp_rdv_transcript0(t, PTCP_RDV_SIGNER_SERVER, &c->hello0, &c->cfg.server,
				 &m->welcome.observed);
	CHECK_INT(n, open ? PTCP_RDV_TRANSCRIPT0_LEN + 19 : PTCP_RDV_TRANSCRIPT0_LEN);
	CHECK_INT(ptcp_identity_sign(signer, t, (size_t)n, m->welcome.sig), 0);
}

static void welcome(struct ptcp_rdv_client *c, struct ptcp_rdv_msg *m,
                    const struct ptcp_identity *signer, const struct ptcp_endpoint *observed)
{
	welcome_of(c, m, signer, observed, false);
}

static void test_welcome(void)
{
	struct ptcp_rdv_client c;
	struct ptcp_rdv_msg m;
	struct ptcp_endpoint ep;
	char a[PTCP_PEERID_TEXT_MAX];

	welcome(&c, &m, &server, NULL);
	CHECK_INT(check_welcome(&c, &m, msg, sizeof(msg)), 0);
	/* signed by another key than the pinned one */
	welcome(&c, &m, &other, NULL);
	CHECK_INT(check_welcome(&c, &m, msg, sizeof(msg)), -EPROTO);
	id_text(server.pk, a);
	CHECK(has("its WELCOME's signature does not verify under the pinned key") && has(a));
	/* signed for another HELLO0 (nonce, clock) or another endpoint */
	welcome(&c, &m, &server, NULL);
	c.hello0.hello0.nonce[0] ^= 1;
	CHECK_INT(check_welcome(&c, &m, msg, sizeof(msg)), -EPROTO);
	welcome(&c, &m, &server, NULL);
	c.hello0.hello0.time_ms++;
	CHECK_INT(check_welcome(&c, &m, msg, sizeof(msg)), -EPROTO);
	welcome(&c, &m, &server, NULL);
	m.welcome.observed.port++;
	CHECK_INT(check_welcome(&c, &m, msg, sizeof(msg)), -EPROTO);
	/* an observed endpoint that cannot be ours, properly signed */
	ep6(&ep, 40000);
	welcome(&c, &m, &server, &ep);
	CHECK_INT(check_welcome(&c, &m, msg, sizeof(msg)), -EPROTO);
	CHECK(has("WELCOME with an impossible observed endpoint: IPv6 [2001:db8::1]:40000"));
	ep4(&ep, 255, 255, 255, 255, 40000);
	welcome(&c, &m, &server, &ep);
	CHECK_INT(check_welcome(&c, &m, msg, sizeof(msg)), -EPROTO);
	/* a key in the answer to a pinned HELLO0: refused, even the pinned one */
	welcome(&c, &m, &server, NULL);
	m.welcome.has_key = 1;
	memcpy(m.welcome.server_key, server.pk, 32);
	CHECK_INT(check_welcome(&c, &m, msg, sizeof(msg)), -EPROTO);
	CHECK(has("a WELCOME with its key to a HELLO0 that named it"));
}

/* The answer to an open HELLO0: verified under the key it names, which
 * the client then knows; bound to the server's address. */
static void test_welcome_open(void)
{
	struct ptcp_rdv_client c;
	struct ptcp_rdv_msg m;
	uint8_t key[32];
	char a[PTCP_PEERID_TEXT_MAX];

	welcome_of(&c, &m, &server, NULL, true);
	CHECK(ptcp_rdv_hello0_open(&c.hello0));
	CHECK_INT(check_welcome(&c, &m, msg, sizeof(msg)), 0);
	c.state = ST_HELLO0;
	CHECK(!on_welcome(&c, &m));
	CHECK_INT(ptcp_rdv_client_server_key(&c, key), 0);
	CHECK(memcmp(key, server.pk, 32) == 0);
	/* without the key */
	welcome_of(&c, &m, &server, NULL, true);
	m.welcome.has_key = 0;
	CHECK_INT(check_welcome(&c, &m, msg, sizeof(msg)), -EPROTO);
	CHECK(has("a WELCOME without its key to a HELLO0 that pinned none"));
	/* a key that did not sign it */
	welcome_of(&c, &m, &server, NULL, true);
	memcpy(m.welcome.server_key, other.pk, 32);
	CHECK_INT(check_welcome(&c, &m, msg, sizeof(msg)), -EPROTO);
	id_text(other.pk, a);
	CHECK(has("does not verify under its key") && has(a));
	/* signed for the server at another address */
	welcome_of(&c, &m, &server, NULL, true);
	c.cfg.server.port++;
	CHECK_INT(check_welcome(&c, &m, msg, sizeof(msg)), -EPROTO);
}

static void test_registered(void)
{
	static const struct {
		uint32_t idle, wait;
		int want;
		const char *text;
	} cases[] = {
		{ 60000, 30000, 0, NULL },
		{ 1000, 0, 0, NULL },
		{ 86400000, 3600000, 0, NULL },
		{ 999, 0, -EPROTO, "idle timeout of 999 ms (1000 to 86400000)" },
		{ 0, 0, -EPROTO, "idle timeout of 0 ms" },
		{ 86400001, 0, -EPROTO, "idle timeout of 86400001 ms" },
		{ 0xffffffff, 0, -EPROTO, "idle timeout of 4294967295 ms" },
		{ 60000, 3600001, -EPROTO, "max wait of 3600001 ms (at most 3600000)" },
	};
	struct ptcp_rdv_client c;
	struct ptcp_rdv_msg m;

	client(&c);
	memset(&m, 0, sizeof(m));
	m.type = PTCP_RDV_REGISTERED;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		m.registered.idle_ms = cases[i].idle;
		m.registered.max_wait_ms = cases[i].wait;
		msg[0] = '\0';
		CHECK_INT(check_registered(&c, &m, msg, sizeof(msg)), cases[i].want);
		if (cases[i].text)
			CHECK(has(cases[i].text));
	}
}

/* c asked for other's key (CONNECT, ISN 5); m is a good answer. */
static void connect_match(struct ptcp_rdv_client *c, struct ptcp_rdv_msg *m)
{
	client(c);
	c->state = ST_REGISTERED;
	c->req = REQ_SENT;
	c->req_msg.type = PTCP_RDV_CONNECT;
	memcpy(c->req_msg.connect.key, other.pk, 32);
	c->req_msg.connect.isn = 5;
	memset(m, 0, sizeof(*m));
	m->type = PTCP_RDV_MATCH;
	memcpy(m->match.key, other.pk, 32);
	ep4(&m->match.peer_public, 203, 0, 113, 2, 41000);
	ep4(&m->match.peer_private, 10, 2, 0, 2, 41000);
	m->match.peer_isn = 9;
	m->match.isn = 5;
	m->match.role = PTCP_RDV_ROLE_INITIATOR;
	m->match.start_ms = 200;
}

static void test_match(void)
{
	struct ptcp_rdv_client c;
	struct ptcp_rdv_msg m;

	connect_match(&c, &m);
	CHECK_INT(check_match(&c, &m, msg, sizeof(msg)), 0);
	/* the start delay: its bound, and beyond */
	m.match.start_ms = PTCP_RDV_START_MAX_MS;
	CHECK_INT(check_match(&c, &m, msg, sizeof(msg)), 0);
	m.match.start_ms = PTCP_RDV_START_MAX_MS + 1;
	CHECK_INT(check_match(&c, &m, msg, sizeof(msg)), -EPROTO);
	CHECK(has("a MATCH with a start delay of 15001 ms (at most 15000)"));
	m.match.start_ms = 0xffffffff;
	CHECK_INT(check_match(&c, &m, msg, sizeof(msg)), -EPROTO);
	CHECK(has("start delay of 4294967295 ms"));
	/* the peer's endpoints */
	connect_match(&c, &m);
	ep6(&m.match.peer_public, 41000);
	CHECK_INT(check_match(&c, &m, msg, sizeof(msg)), -EPROTO);
	CHECK(has("impossible public endpoint of the peer: IPv6 [2001:db8::1]:41000"));
	ep4(&m.match.peer_public, 255, 255, 255, 255, 41000);
	CHECK_INT(check_match(&c, &m, msg, sizeof(msg)), -EPROTO);
	CHECK(has("IPv4 255.255.255.255:41000"));
	connect_match(&c, &m);
	ep6(&m.match.peer_private, 41000);
	CHECK_INT(check_match(&c, &m, msg, sizeof(msg)), -EPROTO);
	CHECK(has("impossible private endpoint of the peer: IPv6"));
	memset(&m.match.peer_private, 0, sizeof(m.match.peer_private));
	CHECK_INT(check_match(&c, &m, msg, sizeof(msg)), 0);   /* none: fine */
	/* not for our request */
	connect_match(&c, &m);
	m.match.isn = 6;
	CHECK_INT(check_match(&c, &m, msg, sizeof(msg)), -EPROTO);
	CHECK(has("a MATCH for another request"));
	connect_match(&c, &m);
	memcpy(m.match.key, server.pk, 32);
	CHECK_INT(check_match(&c, &m, msg, sizeof(msg)), -EPROTO);
	connect_match(&c, &m);
	c.req = REQ_NONE;
	CHECK_INT(check_match(&c, &m, msg, sizeof(msg)), -EPROTO);
	CHECK(has("a MATCH nobody asked for"));
	/* a listener: anyone but us; with an allow list, only those on it */
	connect_match(&c, &m);
	memset(&c.req_msg, 0, sizeof(c.req_msg));
	c.req_msg.type = PTCP_RDV_LISTEN;
	c.req_msg.listen.isn = 5;
	CHECK_INT(check_match(&c, &m, msg, sizeof(msg)), 0);
	memcpy(m.match.key, me.pk, 32);
	CHECK_INT(check_match(&c, &m, msg, sizeof(msg)), -EPROTO);
	CHECK(has("our own id"));
	c.req_msg.listen.n_allow = 1;
	memcpy(c.req_msg.listen.allow[0], server.pk, 32);
	memcpy(m.match.key, other.pk, 32);
	CHECK_INT(check_match(&c, &m, msg, sizeof(msg)), -EPROTO);
	CHECK(has("not on our allow list"));
	memcpy(m.match.key, server.pk, 32);
	CHECK_INT(check_match(&c, &m, msg, sizeof(msg)), 0);
}

static void test_pong_and_error(void)
{
	struct ptcp_rdv_client c;
	struct ptcp_rdv_msg m;

	client(&c);
	memset(&m, 0, sizeof(m));
	m.type = PTCP_RDV_PONG;
	/* no PING yet: no PONG either */
	CHECK_INT(check_pong(&c, &m, msg, sizeof(msg)), -EPROTO);
	CHECK(has("a PONG for no PING of ours (token 0)"));
	c.ping_token = 2;    /* PINGs 1 and 2 sent */
	m.ping.token = 3;
	CHECK_INT(check_pong(&c, &m, msg, sizeof(msg)), -EPROTO);
	m.ping.token = 1;
	CHECK_INT(check_pong(&c, &m, msg, sizeof(msg)), 0);
	c.pong_token = 1;
	CHECK_INT(check_pong(&c, &m, msg, sizeof(msg)), -EPROTO);   /* 1 again */
	m.ping.token = 2;
	CHECK_INT(check_pong(&c, &m, msg, sizeof(msg)), 0);

	ptcp_rdv_error_msg(&m, PTCP_RDV_E_NOT_WAITING, false, NULL);
	CHECK_INT(check_error(&c, &m, msg, sizeof(msg)), -EPROTO);
	CHECK(has("a non-fatal ERROR (peer not waiting"));
	c.req = REQ_SENT;
	CHECK_INT(check_error(&c, &m, msg, sizeof(msg)), 0);
	c.req = REQ_NONE;
	ptcp_rdv_error_msg(&m, PTCP_RDV_E_SHUTDOWN, true, NULL);
	CHECK_INT(check_error(&c, &m, msg, sizeof(msg)), 0);
	/* a local code is no sentence of ours */
	CHECK(strcmp(error_what(PTCP_RDV_E_NOBUF), "unknown error") == 0);
	CHECK(strcmp(error_what(PTCP_RDV_E_FAMILY), ptcp_rdv_strerror(PTCP_RDV_E_FAMILY)) == 0);
}

/* --- BUSY: what goes out, what the caller hears ------------------------------ */

static struct event_base *base;

static struct {
	int matches, errors;
	uint32_t isn;      /* of the last match */
	int code;          /* of the last error */
	bool fatal;
	char msg[400];
} seen;

static void seen_match(struct ptcp_rdv_client *c, void *user, const struct ptcp_rdv_match *m)
{
	(void)c;
	(void)user;
	seen.matches++;
	seen.isn = m->isn;
}

static void seen_error(struct ptcp_rdv_client *c, void *user, int code, bool fatal, const char *text)
{
	(void)c;
	(void)user;
	seen.errors++;
	seen.code = code;
	seen.fatal = fatal;
	snprintf(seen.msg, sizeof(seen.msg), "%s", text);
}

/* c as after its HELLO (registered: as after REGISTERED), sending into a
 * bufferevent without a socket (its writes stay in the output buffer). */
static void wired(struct ptcp_rdv_client *c, bool registered)
{
	client(c);
	c->cfg.base = base;
	c->cfg.on_match = seen_match;
	c->cfg.on_error = seen_error;
	c->fd = -1;
	c->bev = bufferevent_socket_new(base, -1, 0);
	c->timer = evtimer_new(base, on_timer, c);
	CHECK(c->bev && c->timer);
	bufferevent_disable(c->bev, EV_WRITE);   /* no socket to flush to */
	evbuffer_unfreeze(bufferevent_get_output(c->bev), 1);   /* sent() reads it */
	c->state = registered ? ST_REGISTERED : ST_AUTH;
	c->idle_ms = 60000;
	memset(&seen, 0, sizeof(seen));
}

static void unwire(struct ptcp_rdv_client *c)
{
	if (c->bev)
		bufferevent_free(c->bev);
	event_free(c->timer);
}

/* The types of the messages c sent since the last call, "LISTEN BUSY";
 * *last (if not NULL) is the last of them. */
static const char *sent(struct ptcp_rdv_client *c, struct ptcp_rdv_msg *last)
{
	static char out[256];
	struct evbuffer *b = c->bev ? bufferevent_get_output(c->bev) : NULL;
	uint8_t buf[PTCP_RDV_MSG_MAX];
	struct ptcp_rdv_msg m;
	size_t len, n;

	out[0] = '\0';
	while (b && (len = evbuffer_get_length(b)) > 0) {
		n = len < sizeof(buf) ? len : sizeof(buf);
		evbuffer_copyout(b, buf, n);
		if (ptcp_rdv_frame(buf, n) <= 0 ||
		    ptcp_rdv_parse(&m, buf, (size_t)ptcp_rdv_frame(buf, n)) != 0) {
			check_fail(__FILE__, __LINE__, "the client sent a bad message");
			break;
		}
		evbuffer_drain(b, (size_t)ptcp_rdv_frame(buf, n));
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", out[0] ? " " : "",
			 ptcp_rdv_type_name(m.type));
		if (last)
			*last = m;
	}
	return out;
}

#define SENT(c, want)                                                                      \
	do {                                                                               \
		const char *got_ = sent((c), NULL);                                        \
		if (strcmp(got_, (want)) != 0)                                             \
			check_fail(__FILE__, __LINE__, "sent '%s', want '%s'", got_, (want)); \
	} while (0)

/* The server's MATCH for our LISTEN with ISN isn, from other. */
static void listen_match(struct ptcp_rdv_msg *m, uint32_t isn)
{
	memset(m, 0, sizeof(*m));
	m->type = PTCP_RDV_MATCH;
	memcpy(m->match.key, other.pk, 32);
	ep4(&m->match.peer_public, 203, 0, 113, 2, 41000);
	m->match.peer_isn = 9;
	m->match.isn = isn;
	m->match.role = PTCP_RDV_ROLE_RESPONDER;
	m->match.start_ms = 200;
}

static void server_says(struct ptcp_rdv_client *c, const struct ptcp_rdv_msg *m)
{
	CHECK(!dispatch(c, m, ptcp_clock_now()));
}

/* LISTEN, then BUSY: the server cancels the LISTEN with ERROR BUSY, which
 * the caller does not hear; a LISTEN made meanwhile waits for that answer
 * and then goes out, and its MATCH is delivered. */
static void test_busy_replaces_listen(void)
{
	struct ptcp_rdv_client c;
	struct ptcp_rdv_msg m, last;

	wired(&c, true);
	CHECK_INT(ptcp_rdv_client_listen(&c, 1, NULL, 0), 0);
	SENT(&c, "LISTEN");
	CHECK_INT(ptcp_rdv_client_busy(&c), 0);
	SENT(&c, "BUSY");
	CHECK_INT(ptcp_rdv_client_busy(&c), -EALREADY);
	SENT(&c, "");
	CHECK_INT(ptcp_rdv_client_listen(&c, 2, NULL, 0), 0);
	CHECK_INT(ptcp_rdv_client_listen(&c, 3, NULL, 0), -EBUSY);
	SENT(&c, "");   /* not before the first LISTEN's answer */
	ptcp_rdv_error_msg(&m, PTCP_RDV_E_BUSY, false, "your LISTEN is cancelled: you said BUSY");
	server_says(&c, &m);
	CHECK_INT(seen.errors, 0);
	CHECK_INT(seen.matches, 0);
	CHECK(strcmp(sent(&c, &last), "LISTEN") == 0 && last.listen.isn == 2);
	/* a MATCH for the cancelled LISTEN would be no answer to anything */
	listen_match(&m, 1);
	CHECK(!dispatch(&c, &m, ptcp_clock_now()) && seen.errors == 1 && seen.fatal &&
	      seen.code == -EPROTO && strstr(seen.msg, "a MATCH for another request"));
	unwire(&c);

	/* the same with the MATCH for the new LISTEN */
	wired(&c, true);
	CHECK_INT(ptcp_rdv_client_listen(&c, 1, NULL, 0), 0);
	CHECK_INT(ptcp_rdv_client_busy(&c), 0);
	CHECK_INT(ptcp_rdv_client_listen(&c, 2, NULL, 0), 0);
	SENT(&c, "LISTEN BUSY");
	ptcp_rdv_error_msg(&m, PTCP_RDV_E_BUSY, false, NULL);
	server_says(&c, &m);
	SENT(&c, "LISTEN");
	listen_match(&m, 2);
	server_says(&c, &m);
	CHECK_INT(seen.matches, 1);
	CHECK_INT(seen.isn, 2);
	CHECK_INT(seen.errors, 0);
	/* and busy again: nothing outstanding, so BUSY alone */
	CHECK_INT(ptcp_rdv_client_busy(&c), 0);
	SENT(&c, "BUSY");
	unwire(&c);
}

/* The server matched the LISTEN before it read BUSY: that MATCH is the
 * LISTEN's answer (delivered: the peer punches), and no ERROR follows;
 * one that did would answer nothing. */
static void test_busy_race_with_match(void)
{
	struct ptcp_rdv_client c;
	struct ptcp_rdv_msg m;

	wired(&c, true);
	CHECK_INT(ptcp_rdv_client_listen(&c, 7, NULL, 0), 0);
	CHECK_INT(ptcp_rdv_client_busy(&c), 0);
	CHECK_INT(ptcp_rdv_client_listen(&c, 8, NULL, 0), 0);   /* waits for the answer */
	SENT(&c, "LISTEN BUSY");
	listen_match(&m, 7);
	server_says(&c, &m);
	CHECK_INT(seen.matches, 1);
	CHECK_INT(seen.isn, 7);
	SENT(&c, "LISTEN");          /* LISTEN 8 goes out now */
	listen_match(&m, 8);
	server_says(&c, &m);
	CHECK_INT(seen.matches, 2);
	CHECK_INT(seen.isn, 8);
	/* a non-fatal ERROR now answers nothing: the server broke the rules */
	ptcp_rdv_error_msg(&m, PTCP_RDV_E_BUSY, false, NULL);
	CHECK(!dispatch(&c, &m, ptcp_clock_now()));
	CHECK(seen.errors == 1 && seen.fatal && seen.code == -EPROTO &&
	      strstr(seen.msg, "non-fatal ERROR (peer busy"));
	CHECK_INT(ptcp_rdv_client_busy(&c), -ENOTCONN);
	unwire(&c);

	/* the replaced LISTEN's allow list still judges its MATCH */
	wired(&c, true);
	CHECK_INT(ptcp_rdv_client_listen(&c, 7, (const uint8_t(*)[32])server.pk, 1), 0);
	CHECK_INT(ptcp_rdv_client_busy(&c), 0);
	listen_match(&m, 7);    /* from other, who is not on it */
	CHECK(!dispatch(&c, &m, ptcp_clock_now()));
	CHECK(seen.matches == 0 && seen.errors == 1 && strstr(seen.msg, "not on our allow list"));
	unwire(&c);
}

/* Before registration, a BUSY waits for it (a LISTEN not sent yet is
 * dropped); a CONNECT made after it follows it. Only a listener is busy:
 * with a CONNECT outstanding, busy() is refused and nothing is sent. */
static void test_busy_when(void)
{
	struct ptcp_rdv_client c;
	struct ptcp_rdv_msg m, last;

	wired(&c, false);
	CHECK_INT(ptcp_rdv_client_listen(&c, 1, NULL, 0), 0);
	CHECK_INT(ptcp_rdv_client_busy(&c), 0);
	CHECK_INT(ptcp_rdv_client_busy(&c), -EALREADY);
	SENT(&c, "");
	memset(&m, 0, sizeof(m));
	m.type = PTCP_RDV_REGISTERED;
	m.registered.idle_ms = 60000;
	server_says(&c, &m);
	SENT(&c, "BUSY");
	unwire(&c);

	wired(&c, false);
	CHECK_INT(ptcp_rdv_client_busy(&c), 0);
	CHECK_INT(ptcp_rdv_client_connect(&c, other.pk, 5, 1000), 0);
	m.type = PTCP_RDV_REGISTERED;
	server_says(&c, &m);
	CHECK(strcmp(sent(&c, &last), "BUSY CONNECT") == 0 && last.connect.isn == 5);
	unwire(&c);

	/* an asker cannot be busy, a busy peer may still ask */
	wired(&c, true);
	CHECK_INT(ptcp_rdv_client_connect(&c, other.pk, 5, 1000), 0);
	CHECK_INT(ptcp_rdv_client_busy(&c), -EBUSY);
	SENT(&c, "CONNECT");
	unwire(&c);
	wired(&c, false);
	CHECK_INT(ptcp_rdv_client_connect(&c, other.pk, 5, 1000), 0);
	CHECK_INT(ptcp_rdv_client_busy(&c), -EBUSY);   /* queued counts */
	unwire(&c);
}

/* An asker of a busy peer: a non-fatal request failure with the code, and
 * free to ask again. */
static void test_asker_told_busy(void)
{
	struct ptcp_rdv_client c;
	struct ptcp_rdv_msg m;

	wired(&c, true);
	CHECK_INT(ptcp_rdv_client_connect(&c, other.pk, 5, 30000), 0);
	SENT(&c, "CONNECT");
	ptcp_rdv_error_msg(&m, PTCP_RDV_E_BUSY, false, NULL);
	server_says(&c, &m);
	CHECK_INT(seen.errors, 1);
	CHECK_INT(seen.code, PTCP_RDV_E_BUSY);
	CHECK(!seen.fatal);
	CHECK(strstr(seen.msg, "203.0.113.10:7450: peer busy (it serves as many peers as it will)"));
	CHECK_INT(ptcp_rdv_client_connect(&c, other.pk, 6, 30000), 0);
	SENT(&c, "CONNECT");
	unwire(&c);
}

int main(void)
{
	CHECK_INT(ptcp_identity_generate(&me), 0);
	CHECK_INT(ptcp_identity_generate(&server), 0);
	CHECK_INT(ptcp_identity_generate(&other), 0);
	RUN(test_challenge);
	RUN(test_welcome);
	RUN(test_welcome_open);
	RUN(test_registered);
	RUN(test_match);
	RUN(test_pong_and_error);
	base = event_base_new();
	CHECK(base != NULL);
	RUN(test_busy_replaces_listen);
	RUN(test_busy_race_with_match);
	RUN(test_busy_when);
	RUN(test_asker_told_busy);
	event_base_free(base);
	return check_summary();
}
