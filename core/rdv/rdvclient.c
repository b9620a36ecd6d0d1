/* The client half of the rendezvous protocol: see rdvclient.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "clock.h"
#include "peerid.h"
#include "random.h"
#include "rdvclient.h"

#define REGISTER_TIMEOUT_DEFAULT (10 * PTCP_NS_PER_S)
#define PING_MIN_MS 500u   /* never ping more often, whatever the server says */

enum state {
	ST_CONNECTING,   /* TCP connect in progress */
	ST_HELLO,        /* HELLO sent, waiting for CHALLENGE */
	ST_HELLO0,       /* HELLO0 sent, waiting for WELCOME or CHALLENGE */
	ST_AUTH,         /* AUTH sent, waiting for REGISTERED */
	ST_REGISTERED,
	ST_DEAD,         /* a fatal error was reported; waiting to be freed */
};

enum req {
	REQ_NONE,
	REQ_QUEUED,      /* made before registration: sent on REGISTERED */
	REQ_SENT,        /* waiting for MATCH or ERROR */
};

struct ptcp_rdv_client {
	struct ptcp_rdv_client_config cfg;
	struct bufferevent *bev;
	struct event *timer;
	int fd;                       /* owned until bev takes it */
	enum state state;
	struct ptcp_endpoint local;   /* bound endpoint */
	struct ptcp_endpoint priv;    /* reported private endpoint */
	struct ptcp_endpoint observed;
	struct ptcp_rdv_msg hello;    /* as sent: half of the transcript */
	struct ptcp_rdv_msg hello0;   /* ... and the HELLO0 it rode in */
	bool early;                   /* the request went out behind the HELLO0 */
	bool zrtt_taken;              /* WELCOME came */
	uint8_t server_key[PTCP_RDV_KEY_LEN];   /* once the CHALLENGE verified */
	bool server_key_known;
	uint32_t idle_ms;             /* from REGISTERED */
	bool relays;                  /* ... the server runs a relay */
	uint16_t probe_port;          /* from REGISTERED; 0: none */
	bool predicts;                /* ... it passes NAT port patterns */
	struct ptcp_rdv_pattern pattern;  /* ours, for requests (delta 0: none) */
	ptcp_ts started, last_rx, last_tx;
	ptcp_ts hello_at;             /* when the HELLO went out */
	uint64_t rtt;                 /* ns, HELLO to CHALLENGE (0: not yet) */
	enum req req;
	struct ptcp_rdv_msg req_msg;  /* LISTEN or CONNECT */
	bool busy_wanted;             /* the caller's last word of listen()
	                                 and busy() was busy() */
	bool busy_sent;               /* the server's: BUSY went out after
	                                 the last LISTEN */
	bool replaced_due;            /* the LISTEN that BUSY replaced has its
	                                 answer still coming: it comes first */
	struct ptcp_rdv_msg replaced; /* that LISTEN */
	uint32_t ping_token;          /* of the last PING sent */
	uint32_t pong_token;          /* of the last PONG received */
	bool pipelining;              /* in on_challenged: a request goes out */
	int busy;                     /* callbacks running */
	bool free_pending;            /* freed from inside a callback */
};

/* --- address helpers ---------------------------------------------------------- */

int ptcp_rdv_from_sockaddr(struct ptcp_endpoint *ep, const struct sockaddr *sa, socklen_t len)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(ep, 0, sizeof(*ep));
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		ep->family = PTCP_AF_INET;
		memcpy(ep->addr, &s4->sin_addr, 4);
		ep->port = ntohs(s4->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		/* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d;
		 * they are IPv4 peers and must be told so. */
		if (memcmp(&s6->sin6_addr, mapped, 12) == 0) {
			ep->family = PTCP_AF_INET;
			memcpy(ep->addr, (const uint8_t *)&s6->sin6_addr + 12, 4);
		} else {
			ep->family = PTCP_AF_INET6;
			memcpy(ep->addr, &s6->sin6_addr, 16);
		}
		ep->port = ntohs(s6->sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

int ptcp_rdv_to_sockaddr(const struct ptcp_endpoint *ep, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (ep->family == PTCP_AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, ep->addr, 4);
		s4->sin_port = htons(ep->port);
		return (int)sizeof(*s4);
	}
	if (ep->family == PTCP_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, ep->addr, 16);
		s6->sin6_port = htons(ep->port);
		return (int)sizeof(*s6);
	}
	return -EAFNOSUPPORT;
}

static int parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return -1;
	}
	if (v == 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int ptcp_rdv_parse_hostport(const char *s, uint16_t default_port, struct ptcp_endpoint *ep,
                            char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port_s = NULL, *colon;
	size_t n;

	memset(ep, 0, sizeof(*ep));
	ep->port = default_port;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close)
			goto bad_addr;
		n = (size_t)(close - s - 1);
		if (close[1] == ':')
			port_s = close + 2;
		else if (close[1] != '\0')
			goto bad_addr;
		if (n >= sizeof(host))
			goto bad_addr;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, ep->addr) != 1)
			goto bad_addr;
		ep->family = PTCP_AF_INET6;
	} else {
		colon = strchr(s, ':');
		/* Two colons or more: a bare IPv6 address without a port. */
		if (colon && strchr(colon + 1, ':'))
			colon = NULL;
		n = colon ? (size_t)(colon - s) : strlen(s);
		if (n >= sizeof(host))
			goto bad_addr;
		memcpy(host, s, n);
		host[n] = '\0';
		if (colon)
			port_s = colon + 1;
		if (inet_pton(AF_INET, host, ep->addr) == 1)
			ep->family = PTCP_AF_INET;
		else if (!colon && inet_pton(AF_INET6, host, ep->addr) == 1)
			ep->family = PTCP_AF_INET6;
		else
			goto bad_addr;
	}
	if (port_s && parse_port(port_s, &ep->port) != 0) {
		snprintf(err, errlen, "invalid port: '%s'", port_s);
		return -EINVAL;
	}
	return 0;
bad_addr:
	snprintf(err, errlen, "invalid address: '%s'", s);
	return -EINVAL;
}

int ptcp_rdv_socket(const struct ptcp_endpoint *local, const struct ptcp_endpoint *server, int *fd)
{
	struct sockaddr_storage ss;
	struct ptcp_endpoint any;
	int one = 1, s, len, rv;

	if (server->family != PTCP_AF_INET && server->family != PTCP_AF_INET6)
		return -EAFNOSUPPORT;
	if (local->family != PTCP_AF_NONE && local->family != server->family)
		return -EAFNOSUPPORT;
	any = *local;
	if (any.family == PTCP_AF_NONE) {
		memset(any.addr, 0, sizeof(any.addr));
		any.family = server->family;
	}
	len = ptcp_rdv_to_sockaddr(&any, &ss);
	s = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	/* The engine's port reservation (rawsock.h) holds this port with
	 * SO_REUSEPORT, before and after this connection (which may linger
	 * in TIME-WAIT): the kernel lets a socket share it only with
	 * SO_REUSEPORT and our uid. Not SO_REUSEADDR, which would let a
	 * socket of another user bind beside this one and listen. */
	/* IPV6_V6ONLY: an IPv6 socket stays out of IPv4's port space, where
	 * the IPv4 reservation and connection have theirs. */
	if (setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    bind(s, (struct sockaddr *)&ss, (socklen_t)len) != 0) {
		rv = -errno;
		close(s);
		return rv;
	}
	/* TCP Fast Open (RFC 7413): with a cookie from an earlier connection
	 * to this server, connect() returns at once and our first write,
	 * the HELLO or HELLO0 and a request behind it, rides the SYN; without
	 * one the SYN asks for a cookie. A kernel without it (ENOPROTOOPT)
	 * connects as ever. */
	(void)setsockopt(s, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one));
	*fd = s;
	return 0;
}

/* --- the client ------------------------------------------------------------------ */

void ptcp_rdv_client_config_default(struct ptcp_rdv_client_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->fd = -1;
	cfg->register_timeout = REGISTER_TIMEOUT_DEFAULT;
}

static void really_free(struct ptcp_rdv_client *c)
{
	if (c->bev)
		bufferevent_free(c->bev);
	else if (c->fd >= 0)
		close(c->fd);
	if (c->timer)
		event_free(c->timer);
	free(c);
}

/* Callbacks go through these: they return true when the callback freed
 * the client, and the caller must then not touch it again. */
static void enter(struct ptcp_rdv_client *c)
{
	c->busy++;
}

static bool leave(struct ptcp_rdv_client *c)
{
	if (--c->busy == 0 && c->free_pending) {
		really_free(c);
		return true;
	}
	return false;
}

static bool report_error(struct ptcp_rdv_client *c, int code, bool fatal, const char *msg)
{
	enter(c);
	c->cfg.on_error(c, c->cfg.user, code, fatal, msg);
	return leave(c);
}

/* A fatal error: drop the connection, tell the caller once. */
static bool die(struct ptcp_rdv_client *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool die(struct ptcp_rdv_client *c, int code, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	if (c->state == ST_DEAD)
		return false;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->state = ST_DEAD;
	c->req = REQ_NONE;
	c->replaced_due = false;
	if (c->bev) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	event_del(c->timer);
	return report_error(c, code, true, msg);
}

static const char *server_name(const struct ptcp_rdv_client *c, char *buf, unsigned cap)
{
	return ptcp_endpoint_format(&c->cfg.server, buf, cap);
}

static int send_msg(struct ptcp_rdv_client *c, const struct ptcp_rdv_msg *m)
{
	uint8_t buf[PTCP_RDV_MSG_MAX];
	int n = ptcp_rdv_emit(m, buf, sizeof(buf));

	if (n < 0)
		return -EINVAL;
	if (bufferevent_write(c->bev, buf, (size_t)n) != 0)
		return -ENOMEM;
	c->last_tx = ptcp_clock_now();
	return 0;
}

/* ns between PINGs: a third of the server's idle timeout. */
static uint64_t ping_interval(const struct ptcp_rdv_client *c)
{
	uint64_t ms = (uint64_t)c->idle_ms / 3;

	return (ms < PING_MIN_MS ? PING_MIN_MS : ms) * PTCP_NS_PER_MS;
}

/* Arms the one timer at the next deadline of the current state. */
static void rearm(struct ptcp_rdv_client *c)
{
	ptcp_ts now = ptcp_clock_now(), at;
	uint64_t d;
	struct timeval tv;

	if (c->state == ST_DEAD)
		return;
	if (c->state != ST_REGISTERED) {
		at = ptcp_ts_add(c->started, c->cfg.register_timeout);
	} else {
		at = ptcp_ts_min(ptcp_ts_add(c->last_tx, ping_interval(c)),
				 ptcp_ts_add(c->last_rx, (uint64_t)c->idle_ms * PTCP_NS_PER_MS));
	}
	d = ptcp_ts_elapsed(at, now);
	tv.tv_sec = (time_t)(d / PTCP_NS_PER_S);
	tv.tv_usec = (suseconds_t)(d % PTCP_NS_PER_S / PTCP_NS_PER_US);
	event_add(c->timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ptcp_rdv_client *c = arg;
	ptcp_ts now = ptcp_clock_now();
	char name[64];
	struct ptcp_rdv_msg m;

	(void)fd;
	(void)what;
	if (c->state == ST_DEAD)
		return;
	if (c->state != ST_REGISTERED) {
		if (now >= ptcp_ts_add(c->started, c->cfg.register_timeout)) {
			die(c, -ETIMEDOUT, "rendezvous server %s: no registration within %llu s",
			    server_name(c, name, sizeof(name)),
			    (unsigned long long)(c->cfg.register_timeout / PTCP_NS_PER_S));
			return;
		}
	} else {
		if (now >= ptcp_ts_add(c->last_rx, (uint64_t)c->idle_ms * PTCP_NS_PER_MS)) {
			die(c, -ETIMEDOUT, "rendezvous server %s stopped answering",
			    server_name(c, name, sizeof(name)));
			return;
		}
		if (now >= ptcp_ts_add(c->last_tx, ping_interval(c))) {
			memset(&m, 0, sizeof(m));
			m.type = PTCP_RDV_PING;
			m.ping.token = ++c->ping_token;
			if (send_msg(c, &m) != 0) {
				die(c, -ENOMEM, "out of memory");
				return;
			}
		}
	}
	rearm(c);
}

static bool send_request(struct ptcp_rdv_client *c)
{
	struct ptcp_rdv_msg *r = &c->req_msg;

	/* Our pattern only to a server that said it passes them: an older
	 * one would refuse the longer request. (A request behind the AUTH
	 * goes before REGISTERED says; it never has one: we know our NAT
	 * kept our port.) */
	if (c->state == ST_REGISTERED && c->predicts) {
		if (r->type == PTCP_RDV_LISTEN)
			r->listen.pattern = c->pattern;
		else
			r->connect.pattern = c->pattern;
	}
	if (send_msg(c, &c->req_msg) != 0)
		return die(c, -ENOMEM, "out of memory");
	c->req = REQ_SENT;
	if (c->req_msg.type == PTCP_RDV_LISTEN)
		c->busy_sent = false;   /* a LISTEN ends BUSY */
	return false;
}

static bool send_busy(struct ptcp_rdv_client *c)
{
	struct ptcp_rdv_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PTCP_RDV_BUSY;
	if (send_msg(c, &m) != 0)
		return die(c, -ENOMEM, "out of memory");
	c->busy_sent = true;
	return false;
}

/* Sends what waits: a BUSY made before registration, then a request
 * made before registration or while the answer to a replaced LISTEN was
 * still coming. (Answers come in the order of the requests, and an ERROR
 * does not say which request it answers: so a request never overtakes
 * an answer still due.) Returns true when the client is gone. */
static bool flush(struct ptcp_rdv_client *c)
{
	/* From on_challenged: the request follows the AUTH. */
	if (c->state == ST_AUTH && c->pipelining && c->req == REQ_QUEUED && !c->busy_wanted)
		return send_request(c);
	if (c->state != ST_REGISTERED || c->replaced_due)
		return false;
	if (c->busy_wanted && !c->busy_sent && send_busy(c))
		return true;
	if (c->state == ST_REGISTERED && c->req == REQ_QUEUED)
		return send_request(c);
	return false;
}

/* The request that the next MATCH or non-fatal ERROR answers: the LISTEN
 * that BUSY replaced, while its answer is due (a MATCH the server made
 * before it read BUSY, or the ERROR BUSY that cancels it), else the
 * request sent; NULL when none is. */
static const struct ptcp_rdv_msg *answered(const struct ptcp_rdv_client *c)
{
	if (c->replaced_due)
		return &c->replaced;
	return c->req == REQ_SENT ? &c->req_msg : NULL;
}

/* --- checking what the server sends ------------------------------------------ */

/* The sentence for a code from the wire; codes from 0x100 on are local
 * and never sent, so a server that sends one is not believed. */
static const char *error_what(uint16_t code)
{
	return code < PTCP_RDV_E_NOBUF ? ptcp_rdv_strerror(code) : "unknown error";
}

static const char *id_text(const uint8_t key[PTCP_RDV_KEY_LEN], char buf[PTCP_PEERID_TEXT_MAX])
{
	if (ptcp_peerid_encode(buf, PTCP_PEERID_TEXT_MAX, key, NULL) < 0)
		buf[0] = '\0';
	return buf;
}

/* "203.0.113.1:5000", or "[family N] ..." when the family is not ours. */
static const char *ep_text(const struct ptcp_endpoint *ep, char buf[80])
{
	char a[64];

	if (ep->family == PTCP_AF_NONE)
		return "none";
	ptcp_endpoint_format(ep, a, sizeof(a));
	snprintf(buf, 80, "%s%s", ep->family == PTCP_AF_INET6 ? "IPv6 " : "IPv4 ", a);
	return buf;
}

/* The CHALLENGE, before we sign: the endpoint the server saw must be one
 * of ours, its key the pinned one (if any), and its signature of the
 * transcript must verify under that key. Returns 0, or -EKEYREJECTED or
 * -EPROTO with one line in msg. */
static int check_challenge(const struct ptcp_rdv_client *c, const struct ptcp_rdv_msg *in,
                           char *msg, size_t cap)
{
	uint8_t t[PTCP_RDV_TRANSCRIPT_LEN];
	char name[64], a[PTCP_PEERID_TEXT_MAX], b[PTCP_PEERID_TEXT_MAX], e[80];

	server_name(c, name, sizeof(name));
	if (!ptcp_rdv_endpoint_usable(&in->challenge.observed, c->cfg.server.family)) {
		snprintf(msg, cap, "rendezvous server %s sent a CHALLENGE with an impossible observed "
			 "endpoint: %s", name, ep_text(&in->challenge.observed, e));
		return -EPROTO;
	}
	if (c->cfg.has_server_key &&
	    memcmp(in->challenge.server_key, c->cfg.server_key, PTCP_RDV_KEY_LEN) != 0) {
		snprintf(msg, cap, "rendezvous server %s has the key %s, not the pinned key %s "
			 "(another server, or one in the middle)", name,
			 id_text(in->challenge.server_key, a), id_text(c->cfg.server_key, b));
		return -EKEYREJECTED;
	}
	if (ptcp_rdv_transcript(t, PTCP_RDV_SIGNER_SERVER, &c->hello, in) < 0 ||
	    !ptcp_identity_verify(in->challenge.server_key, t, sizeof(t), in->challenge.sig)) {
		snprintf(msg, cap, "rendezvous server %s: its signature does not verify under the key "
			 "it claims, %s (an impostor, or a server in the middle?)", name,
			 id_text(in->challenge.server_key, a));
		return -EPROTO;
	}
	return 0;
}

/* REGISTERED: the limits within the bounds of rdvmsg.h. */
static int check_registered(const struct ptcp_rdv_client *c, const struct ptcp_rdv_msg *in,
                            char *msg, size_t cap)
{
	char name[64];

	server_name(c, name, sizeof(name));
	if (in->registered.idle_ms < PTCP_RDV_IDLE_MIN_MS || in->registered.idle_ms > PTCP_RDV_IDLE_MAX_MS) {
		snprintf(msg, cap, "rendezvous server %s sent an idle timeout of %u ms (%u to %u)", name,
			 (unsigned)in->registered.idle_ms, PTCP_RDV_IDLE_MIN_MS, PTCP_RDV_IDLE_MAX_MS);
		return -EPROTO;
	}
	if (in->registered.max_wait_ms > PTCP_RDV_WAIT_MAX_MS) {
		snprintf(msg, cap, "rendezvous server %s sent a max wait of %u ms (at most %u)", name,
			 (unsigned)in->registered.max_wait_ms, PTCP_RDV_WAIT_MAX_MS);
		return -EPROTO;
	}
	return 0;
}

/* A MATCH: for our request (our ISN echoed; the peer we asked for, or
 * one on our allow list; never ourselves), the peer's endpoints of our
 * family and usable, the start delay within its bound. */
static int check_match(const struct ptcp_rdv_client *c, const struct ptcp_rdv_msg *in, char *msg,
                       size_t cap)
{
	const struct ptcp_rdv_msg *r = answered(c);
	uint8_t family = c->cfg.server.family;
	char name[64], id[PTCP_PEERID_TEXT_MAX], e[80];
	uint32_t our_isn;
	bool allowed;

	server_name(c, name, sizeof(name));
	if (!r) {
		snprintf(msg, cap, "rendezvous server %s sent a MATCH nobody asked for", name);
		return -EPROTO;
	}
	our_isn = r->type == PTCP_RDV_LISTEN ? r->listen.isn : r->connect.isn;
	allowed = r->type == PTCP_RDV_CONNECT || r->listen.n_allow == 0;
	if (in->match.isn != our_isn ||
	    (r->type == PTCP_RDV_CONNECT && memcmp(in->match.key, r->connect.key, PTCP_RDV_KEY_LEN) != 0)) {
		snprintf(msg, cap, "rendezvous server %s sent a MATCH for another request", name);
		return -EPROTO;
	}
	for (unsigned k = 0; !allowed && k < r->listen.n_allow; k++)
		allowed = memcmp(in->match.key, r->listen.allow[k], PTCP_RDV_KEY_LEN) == 0;
	if (!allowed || memcmp(in->match.key, c->cfg.id->pk, PTCP_RDV_KEY_LEN) == 0) {
		snprintf(msg, cap, "rendezvous server %s sent a MATCH with peer %s, %s", name,
			 id_text(in->match.key, id), allowed ? "our own id" : "not on our allow list");
		return -EPROTO;
	}
	if (!ptcp_rdv_endpoint_usable(&in->match.peer_public, family)) {
		snprintf(msg, cap, "rendezvous server %s sent a MATCH with an impossible public endpoint "
			 "of the peer: %s", name, ep_text(&in->match.peer_public, e));
		return -EPROTO;
	}
	if (in->match.peer_private.family != PTCP_AF_NONE &&
	    !ptcp_rdv_endpoint_usable(&in->match.peer_private, family)) {
		snprintf(msg, cap, "rendezvous server %s sent a MATCH with an impossible private endpoint "
			 "of the peer: %s", name, ep_text(&in->match.peer_private, e));
		return -EPROTO;
	}
	if (in->match.start_ms > PTCP_RDV_START_MAX_MS) {
		snprintf(msg, cap, "rendezvous server %s sent a MATCH with a start delay of %u ms "
			 "(at most %u)", name, (unsigned)in->match.start_ms, PTCP_RDV_START_MAX_MS);
		return -EPROTO;
	}
	if (in->match.has_relay && !c->relays) {
		snprintf(msg, cap, "rendezvous server %s sent a MATCH with a relay offer, but its "
			 "REGISTERED said it has no relay", name);
		return -EPROTO;
	}
	if ((in->match.flags || in->match.pattern.delta) && !c->predicts) {
		snprintf(msg, cap, "rendezvous server %s sent a MATCH with port prediction, but its "
			 "REGISTERED said it does not predict", name);
		return -EPROTO;
	}
	if (in->match.has_relay && !ptcp_rdv_endpoint_usable(&in->match.relay, family)) {
		snprintf(msg, cap, "rendezvous server %s sent a MATCH with an impossible relay "
			 "endpoint: %s", name, ep_text(&in->match.relay, e));
		return -EPROTO;
	}
	return 0;
}

/* --- the protocol ------------------------------------------------------------ */

/* The server's key is proven and we are (as good as) registered: the
 * caller may pipeline its request. withdrawn: the request that rode
 * behind our HELLO0 was dropped; it follows the AUTH when our NAT kept
 * the port, else it is the caller's again (-EAGAIN). Returns true when
 * the client is gone. */
static bool challenged(struct ptcp_rdv_client *c, bool withdrawn)
{
	if (c->cfg.on_challenged) {
		enter(c);
		c->pipelining = true;
		c->cfg.on_challenged(c, c->cfg.user, &c->observed);
		c->pipelining = false;
		if (leave(c))
			return true;
		if (c->state == ST_DEAD)
			return false;
	}
	if (!withdrawn || c->req != REQ_QUEUED)
		return false;
	if (c->observed.port == c->local.port) {
		bool gone;

		c->pipelining = true;
		gone = flush(c);
		if (!gone)
			c->pipelining = false;
		return gone;
	}
	c->req = REQ_NONE;
	return report_error(c, -EAGAIN, false,
			    "rendezvous server challenged our 0-RTT HELLO and our NAT changed the "
			    "port: the request waits for the NAT probe");
}

static bool on_challenge(struct ptcp_rdv_client *c, const struct ptcp_rdv_msg *in)
{
	uint8_t t[PTCP_RDV_TRANSCRIPT_LEN];
	struct ptcp_rdv_msg m;
	bool withdrawn = c->early;
	char msg[384];
	int rv;

	if ((rv = check_challenge(c, in, msg, sizeof(msg))) != 0)
		return die(c, rv, "%s", msg);
	/* The server challenged our HELLO0 and dropped the request behind
	 * it: that one is ours to send again. */
	if (withdrawn) {
		c->early = false;
		c->req = REQ_QUEUED;
	}
	memcpy(c->server_key, in->challenge.server_key, PTCP_RDV_KEY_LEN);
	c->server_key_known = true;
	c->observed = in->challenge.observed;
	/* Our signature names this server's key and nonce: good for this
	 * registration with this server only. */
	if (ptcp_rdv_transcript(t, PTCP_RDV_SIGNER_CLIENT, &c->hello, in) < 0)
		return die(c, -EPROTO, "rendezvous server sent an unusable challenge");
	memset(&m, 0, sizeof(m));
	m.type = PTCP_RDV_AUTH;
	if (ptcp_identity_sign(c->cfg.id, t, sizeof(t), m.auth.sig) != 0)
		return die(c, -EIO, "cannot sign the challenge: libsodium failed");
	if (send_msg(c, &m) != 0)
		return die(c, -ENOMEM, "out of memory");
	c->state = ST_AUTH;
	return challenged(c, withdrawn);
}

/* WELCOME, the answer to our HELLO0: the endpoint the server saw must be
 * one of ours, and its signature of our HELLO0 and that endpoint must
 * verify under the pinned key, or, after an open HELLO0, under the key it
 * names (which a pinned one must not). Returns 0 or -EPROTO with one line
 * in msg. */
static int check_welcome(const struct ptcp_rdv_client *c, const struct ptcp_rdv_msg *in, char *msg,
                         size_t cap)
{
	uint8_t t[PTCP_RDV_TRANSCRIPT0_MAX];
	char name[64], e[80], a[PTCP_PEERID_TEXT_MAX];
	bool open = ptcp_rdv_hello0_open(&c->hello0);
	const uint8_t *key = open ? in->welcome.server_key : c->cfg.server_key;
	int n;

	server_name(c, name, sizeof(name));
	if (!ptcp_rdv_endpoint_usable(&in->welcome.observed, c->cfg.server.family)) {
		snprintf(msg, cap, "rendezvous server %s sent a WELCOME with an impossible observed "
			 "endpoint: %s", name, ep_text(&in->welcome.observed, e));
		return -EPROTO;
	}
	if (open != (in->welcome.has_key != 0)) {
		snprintf(msg, cap, "rendezvous server %s sent a WELCOME %s its key to a HELLO0 %s",
			 name, in->welcome.has_key ? "with" : "without",
			 open ? "that pinned none" : "that named it");
		return -EPROTO;
	}
	n = ptcp_rdv_transcript0(t, PTCP_RDV_SIGNER_SERVER, &c->hello0, &c->cfg.server,
				 &in->welcome.observed);
	if (n < 0 || !ptcp_identity_verify(key, t, (size_t)n, in->welcome.sig)) {
		snprintf(msg, cap, "rendezvous server %s: its WELCOME's signature does not verify under "
			 "%s key %s (an impostor, or a server in the middle?)", name,
			 open ? "its" : "the pinned", id_text(key, a));
		return -EPROTO;
	}
	return 0;
}

/* WELCOME: the server took our HELLO0, and we are registered. */
static bool on_welcome(struct ptcp_rdv_client *c, const struct ptcp_rdv_msg *in)
{
	char msg[384];
	int rv;

	if ((rv = check_welcome(c, in, msg, sizeof(msg))) != 0)
		return die(c, rv, "%s", msg);
	memcpy(c->server_key, in->welcome.has_key ? in->welcome.server_key : c->cfg.server_key,
	       PTCP_RDV_KEY_LEN);
	c->server_key_known = true;
	c->observed = in->welcome.observed;
	c->zrtt_taken = true;
	c->early = false;
	c->state = ST_AUTH;   /* REGISTERED comes next */
	return challenged(c, false);
}

static bool on_registered(struct ptcp_rdv_client *c, const struct ptcp_rdv_msg *in)
{
	char msg[384];
	int rv;

	if ((rv = check_registered(c, in, msg, sizeof(msg))) != 0)
		return die(c, rv, "%s", msg);
	c->idle_ms = in->registered.idle_ms;
	c->relays = (in->registered.flags & PTCP_RDV_REG_RELAY) != 0;
	c->probe_port = in->registered.probe_port;
	c->predicts = (in->registered.flags & PTCP_RDV_REG_PREDICT) != 0;
	/* An idle timeout of 0 would make us ping without pause. */
	if (c->idle_ms < 3 * PING_MIN_MS)
		c->idle_ms = 3 * PING_MIN_MS;
	c->state = ST_REGISTERED;
	if (c->cfg.on_registered) {
		enter(c);
		c->cfg.on_registered(c, c->cfg.user, &c->observed);
		if (leave(c))
			return true;
		if (c->state == ST_DEAD)
			return false;
	}
	return flush(c);
}

static bool on_match(struct ptcp_rdv_client *c, const struct ptcp_rdv_msg *in, ptcp_ts now)
{
	struct ptcp_rdv_match m;
	char msg[384];
	int rv;

	if ((rv = check_match(c, in, msg, sizeof(msg))) != 0)
		return die(c, rv, "%s", msg);
	memset(&m, 0, sizeof(m));
	memcpy(m.peer_key, in->match.key, PTCP_RDV_KEY_LEN);
	m.peer_public = in->match.peer_public;
	m.peer_private = in->match.peer_private;
	m.peer_isn = in->match.peer_isn;
	m.isn = in->match.isn;
	m.role = (enum ptcp_rdv_role)in->match.role;
	m.start_ms = in->match.start_ms;
	m.start = ptcp_ts_add(now, (uint64_t)in->match.start_ms * PTCP_NS_PER_MS);
	m.self_public = c->observed;
	m.self_private = c->priv;
	m.has_relay = in->match.has_relay != 0;
	m.relay = in->match.relay;
	memcpy(m.relay_token, in->match.relay_token, PTCP_RDV_TOKEN_LEN);
	m.server_rtt = c->rtt;
	m.predicted = (in->match.flags & PTCP_RDV_MATCH_PREDICTED) != 0;
	m.peer_pattern = in->match.pattern;
	if (c->replaced_due) {
		/* The server matched the LISTEN before it read our BUSY: a
		 * peer like any other, who punches now. Then what waited for
		 * this answer goes out. */
		c->replaced_due = false;
		if (flush(c))
			return true;
		if (c->state == ST_DEAD)
			return false;
	} else {
		c->req = REQ_NONE;
	}
	enter(c);
	if (c->cfg.on_match)
		c->cfg.on_match(c, c->cfg.user, &m);
	return leave(c);
}

/* A PONG answers one of our PINGs, in order. */
static int check_pong(const struct ptcp_rdv_client *c, const struct ptcp_rdv_msg *in, char *msg,
                      size_t cap)
{
	char name[64];

	if ((int32_t)(in->ping.token - c->pong_token) <= 0 ||
	    (int32_t)(in->ping.token - c->ping_token) > 0) {
		snprintf(msg, cap, "rendezvous server %s sent a PONG for no PING of ours (token %u)",
			 server_name(c, name, sizeof(name)), (unsigned)in->ping.token);
		return -EPROTO;
	}
	return 0;
}

/* An ERROR without the fatal flag fails a request: there must be one. */
static int check_error(const struct ptcp_rdv_client *c, const struct ptcp_rdv_msg *in, char *msg,
                       size_t cap)
{
	char name[64];

	if (!(in->error.flags & PTCP_RDV_ERR_FATAL) && !answered(c)) {
		snprintf(msg, cap, "rendezvous server %s sent a non-fatal ERROR (%s) with no request "
			 "pending", server_name(c, name, sizeof(name)), error_what(in->error.code));
		return -EPROTO;
	}
	return 0;
}

static bool on_pong(struct ptcp_rdv_client *c, const struct ptcp_rdv_msg *in)
{
	char msg[384];
	int rv;

	if ((rv = check_pong(c, in, msg, sizeof(msg))) != 0)
		return die(c, rv, "%s", msg);
	c->pong_token = in->ping.token;
	return false;
}

static bool on_server_error(struct ptcp_rdv_client *c, const struct ptcp_rdv_msg *in)
{
	char msg[384], name[64];
	bool fatal = in->error.flags & PTCP_RDV_ERR_FATAL;
	int rv;

	if ((rv = check_error(c, in, msg, sizeof(msg))) != 0)
		return die(c, rv, "%s", msg);
	snprintf(msg, sizeof(msg), "rendezvous server %s: %s%s%s", server_name(c, name, sizeof(name)),
		 error_what(in->error.code), in->error.text_len ? ": " : "", in->error.text);
	if (fatal && c->state == ST_HELLO0 &&
	    (in->error.code == PTCP_RDV_E_MALFORMED || in->error.code == PTCP_RDV_E_TOO_BIG ||
	     in->error.code == PTCP_RDV_E_UNEXPECTED)) {
		/* A server older than HELLO0 takes it for garbage. */
		return die(c, -EPROTONOSUPPORT, "%s (it does not take a 0-RTT HELLO)", msg);
	}
	if (fatal)
		return die(c, in->error.code, "%s", msg);
	if (c->replaced_due) {
		/* The end of the LISTEN that BUSY replaced (ERROR BUSY: the
		 * server cancelled it): the caller withdrew it, and hears
		 * nothing. What waited for this answer goes out. */
		c->replaced_due = false;
		return flush(c);
	}
	c->req = REQ_NONE;
	return report_error(c, in->error.code, false, msg);
}

/* One message from the server. Returns true when the client is gone. */
static bool dispatch(struct ptcp_rdv_client *c, const struct ptcp_rdv_msg *m, ptcp_ts now)
{
	c->last_rx = now;
	switch (m->type) {
	case PTCP_RDV_CHALLENGE:
		if (c->state == ST_HELLO || c->state == ST_HELLO0) {
			c->rtt = ptcp_ts_elapsed(now, c->hello_at);
			return on_challenge(c, m);
		}
		break;
	case PTCP_RDV_WELCOME:
		if (c->state == ST_HELLO0) {
			c->rtt = ptcp_ts_elapsed(now, c->hello_at);
			return on_welcome(c, m);
		}
		break;
	case PTCP_RDV_REGISTERED:
		if (c->state == ST_AUTH)
			return on_registered(c, m);
		break;
	case PTCP_RDV_MATCH:
		if (c->state == ST_REGISTERED)
			return on_match(c, m, now);
		break;
	case PTCP_RDV_PONG:
		if (c->state == ST_REGISTERED)
			return on_pong(c, m);
		break;
	case PTCP_RDV_ERROR:
		return on_server_error(c, m);
	}
	return die(c, -EPROTO, "rendezvous server sent %s out of order", ptcp_rdv_type_name(m->type));
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct ptcp_rdv_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct ptcp_rdv_msg m;
	ptcp_ts now = ptcp_clock_now();
	char name[64];
	size_t avail;
	int n, rv;

	while (c->state != ST_DEAD && (avail = evbuffer_get_length(in)) > 0) {
		size_t want = avail < PTCP_RDV_MSG_MAX ? avail : PTCP_RDV_MSG_MAX;
		const uint8_t *p = evbuffer_pullup(in, (ssize_t)want);

		n = ptcp_rdv_frame(p, want);
		if (n == 0)
			break;
		if (n < 0 || (rv = ptcp_rdv_parse(&m, p, (size_t)n)) != 0) {
			rv = n < 0 ? n : rv;
			if (rv == -PTCP_RDV_E_VERSION)
				die(c, -EPROTO, "rendezvous server %s speaks another protocol version",
				    server_name(c, name, sizeof(name)));
			else
				die(c, -EPROTO, "rendezvous server %s sent a bad message: %s",
				    server_name(c, name, sizeof(name)), ptcp_rdv_strerror(rv));
			return;
		}
		evbuffer_drain(in, (size_t)n);
		if (dispatch(c, &m, now))
			return;
	}
	rearm(c);
}

/* 0-RTT needs a private endpoint that is our socket's: the server takes
 * the HELLO0 only when it sees the port we claim. Without the server's
 * key pinned the HELLO0 is open: bound to the server's address. */
static bool zrtt_possible(const struct ptcp_rdv_client *c)
{
	return c->cfg.zrtt && c->priv.family == c->local.family &&
	       c->priv.port == c->local.port && c->local.port != 0;
}

/* The HELLO0 made of c->hello, our clock and the pinned key (none: open,
 * for the server at the address we reached), signed;
 * then the request, if one is made. Returns true when the client is
 * gone. */
static bool send_hello0(struct ptcp_rdv_client *c)
{
	uint8_t t[PTCP_RDV_TRANSCRIPT0_MAX];
	struct ptcp_rdv_msg *m = &c->hello0;
	int n;

	memset(m, 0, sizeof(*m));
	m->type = PTCP_RDV_HELLO0;
	memcpy(m->hello0.key, c->hello.hello.key, PTCP_RDV_KEY_LEN);
	memcpy(m->hello0.nonce, c->hello.hello.nonce, PTCP_RDV_NONCE_LEN);
	m->hello0.private_ep = c->hello.hello.private_ep;
	m->hello0.time_ms = ptcp_clock_wall() / PTCP_NS_PER_MS;
	if (c->cfg.has_server_key)
		memcpy(m->hello0.server_key, c->cfg.server_key, PTCP_RDV_KEY_LEN);
	n = ptcp_rdv_transcript0(t, PTCP_RDV_SIGNER_CLIENT, m, &c->cfg.server, NULL);
	if (n < 0)
		return die(c, -EINVAL, "cannot encode HELLO0 (bad private endpoint?)");
	if (ptcp_identity_sign(c->cfg.id, t, (size_t)n, m->hello0.sig) != 0)
		return die(c, -EIO, "cannot sign the HELLO0: libsodium failed");
	if (send_msg(c, m) != 0)
		return die(c, -EINVAL, "cannot encode HELLO0");
	c->state = ST_HELLO0;
	if (c->req == REQ_QUEUED && !c->busy_wanted) {
		c->early = true;
		return send_request(c);
	}
	return false;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct ptcp_rdv_client *c = arg;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct ptcp_rdv_msg m;
	char name[64];
	int err;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (getsockname(bufferevent_getfd(c->bev), (struct sockaddr *)&ss, &len) == 0)
			ptcp_rdv_from_sockaddr(&c->local, (struct sockaddr *)&ss, len);
		c->priv = c->cfg.has_private ? c->cfg.private_ep : c->local;
		memset(&m, 0, sizeof(m));
		m.type = PTCP_RDV_HELLO;
		memcpy(m.hello.key, c->cfg.id->pk, PTCP_RDV_KEY_LEN);
		/* The server signs this: its signature is then for us, now. */
		ptcp_random_bytes(m.hello.nonce, sizeof(m.hello.nonce));
		m.hello.private_ep = c->priv;
		c->hello = m;
		c->hello_at = ptcp_clock_now();
		if (zrtt_possible(c)) {
			if (send_hello0(c))
				return;
		} else if (send_msg(c, &m) != 0) {
			die(c, -EINVAL, "cannot encode HELLO (bad private endpoint?)");
			return;
		} else {
			c->state = ST_HELLO;
		}
		bufferevent_enable(c->bev, EV_READ);
		rearm(c);
		return;
	}
	server_name(c, name, sizeof(name));
	if (what & BEV_EVENT_EOF) {
		die(c, -ECONNRESET, "rendezvous server %s closed the connection", name);
		return;
	}
	err = EVUTIL_SOCKET_ERROR();
	if (err == 0)
		err = ECONNRESET;
	/* With a Fast Open cookie connect() returns at once and a refusal
	 * comes after our first write: it is still a connect that failed. */
	if (c->state == ST_CONNECTING || err == ECONNREFUSED)
		die(c, -err, "cannot connect to rendezvous server %s: %s", name, strerror(err));
	else
		die(c, -err, "rendezvous server %s: %s", name, strerror(err));
}

int ptcp_rdv_client_new(struct ptcp_rdv_client **out, const struct ptcp_rdv_client_config *cfg)
{
	struct ptcp_rdv_client *c;
	struct sockaddr_storage ss;
	int len, rv;

	*out = NULL;
	if (!cfg->base || !cfg->id || !cfg->on_error || cfg->server.port == 0)
		return -EINVAL;
	len = ptcp_rdv_to_sockaddr(&cfg->server, &ss);
	if (len < 0)
		return -EINVAL;
	if (ptcp_random_init() != 0)
		return -EIO;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	if (c->cfg.register_timeout == 0)
		c->cfg.register_timeout = REGISTER_TIMEOUT_DEFAULT;
	c->fd = cfg->fd;
	c->started = c->last_rx = c->last_tx = ptcp_clock_now();
	if (c->fd < 0 && (rv = ptcp_rdv_socket(&cfg->local, &cfg->server, &c->fd)) != 0) {
		c->fd = -1;
		goto fail;
	}
	rv = -ENOMEM;
	c->timer = evtimer_new(cfg->base, on_timer, c);
	if (!c->timer)
		goto fail;
	/* Deferred callbacks: nothing runs inside this call, even when the
	 * connect fails at once. */
	c->bev = bufferevent_socket_new(cfg->base, c->fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!c->bev)
		goto fail;
	c->fd = -1;
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	/* A server message is at most PTCP_RDV_MSG_MAX bytes and we take them
	 * as they come; this only stops a flood from growing the buffer. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 4 * PTCP_RDV_MSG_MAX);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss, len) != 0) {
		rv = errno ? -errno : -ECONNREFUSED;
		goto fail;
	}
	rearm(c);
	*out = c;
	return 0;
fail:
	really_free(c);
	return rv;
}

void ptcp_rdv_client_free(struct ptcp_rdv_client *c)
{
	if (!c)
		return;
	if (c->busy) {
		c->free_pending = true;
		/* stop everything now; the memory goes when the callback returns */
		c->state = ST_DEAD;
		if (c->bev) {
			bufferevent_free(c->bev);
			c->bev = NULL;
		}
		event_del(c->timer);
		return;
	}
	really_free(c);
}

/* req_msg is made: send it now, or when registered and no answer to a
 * replaced LISTEN is due any more. */
static int request(struct ptcp_rdv_client *c)
{
	c->req = REQ_QUEUED;
	if (flush(c))
		return -ENOTCONN;
	return c->state == ST_DEAD ? -ENOTCONN : 0;
}

int ptcp_rdv_client_listen(struct ptcp_rdv_client *c, uint32_t isn,
                           const uint8_t (*allow)[PTCP_RDV_KEY_LEN], unsigned n_allow)
{
	if (n_allow > PTCP_RDV_ALLOW_MAX || (n_allow > 0 && !allow))
		return -EINVAL;
	if (c->state == ST_DEAD)
		return -ENOTCONN;
	if (c->req != REQ_NONE)
		return -EBUSY;
	c->busy_wanted = false;
	memset(&c->req_msg, 0, sizeof(c->req_msg));
	c->req_msg.type = PTCP_RDV_LISTEN;
	c->req_msg.listen.isn = isn;
	c->req_msg.listen.n_allow = (uint8_t)n_allow;
	if (n_allow)
		memcpy(c->req_msg.listen.allow, allow, (size_t)n_allow * PTCP_RDV_KEY_LEN);
	return request(c);
}

int ptcp_rdv_client_connect(struct ptcp_rdv_client *c, const uint8_t key[PTCP_RDV_KEY_LEN],
                            uint32_t isn, uint32_t wait_ms)
{
	if (c->state == ST_DEAD)
		return -ENOTCONN;
	if (c->req != REQ_NONE)
		return -EBUSY;
	memset(&c->req_msg, 0, sizeof(c->req_msg));
	c->req_msg.type = PTCP_RDV_CONNECT;
	memcpy(c->req_msg.connect.key, key, PTCP_RDV_KEY_LEN);
	c->req_msg.connect.isn = isn;
	c->req_msg.connect.wait_ms = wait_ms;
	return request(c);
}

int ptcp_rdv_client_busy(struct ptcp_rdv_client *c)
{
	if (c->state == ST_DEAD)
		return -ENOTCONN;
	if (c->req != REQ_NONE && c->req_msg.type == PTCP_RDV_CONNECT)
		return -EBUSY;
	if (c->busy_wanted)
		return -EALREADY;
	c->busy_wanted = true;
	if (c->req == REQ_SENT) {
		/* BUSY replaces the LISTEN on the wire; its answer comes
		 * all the same, before any other */
		c->replaced = c->req_msg;
		c->replaced_due = true;
	}
	c->req = REQ_NONE;   /* a LISTEN not sent yet is dropped */
	/* Before registration flush() sends it; and when the server has
	 * our BUSY already (a LISTEN was queued behind a replaced one), it
	 * needs no second. */
	if (c->state != ST_REGISTERED || c->busy_sent)
		return 0;
	if (send_busy(c))
		return -ENOTCONN;
	return c->state == ST_DEAD ? -ENOTCONN : 0;
}

bool ptcp_rdv_client_predicts(const struct ptcp_rdv_client *c)
{
	return c->state == ST_REGISTERED && c->predicts;
}

void ptcp_rdv_client_set_pattern(struct ptcp_rdv_client *c, const struct ptcp_rdv_pattern *pat)
{
	if (pat)
		c->pattern = *pat;
	else
		memset(&c->pattern, 0, sizeof(c->pattern));
}

bool ptcp_rdv_client_relays(const struct ptcp_rdv_client *c)
{
	return c->state == ST_REGISTERED && c->relays;
}

bool ptcp_rdv_client_zrtt(const struct ptcp_rdv_client *c)
{
	return c->zrtt_taken;
}

bool ptcp_rdv_client_registered(const struct ptcp_rdv_client *c)
{
	return c->state == ST_REGISTERED;
}

int ptcp_rdv_client_server_key(const struct ptcp_rdv_client *c, uint8_t key[PTCP_RDV_KEY_LEN])
{
	if (!c->server_key_known)
		return -ENOTCONN;
	memcpy(key, c->server_key, PTCP_RDV_KEY_LEN);
	return 0;
}

bool ptcp_rdv_client_fastopen(const struct ptcp_rdv_client *c)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	return c->bev && getsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
	       (ti.tcpi_options & TCPI_OPT_SYN_DATA);
}

uint16_t ptcp_rdv_client_probe_port(const struct ptcp_rdv_client *c)
{
	return c->probe_port;
}

int ptcp_rdv_client_local(const struct ptcp_rdv_client *c, struct ptcp_endpoint *local)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = c->bev ? bufferevent_getfd(c->bev) : c->fd;

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -ENOTCONN;
	return ptcp_rdv_from_sockaddr(local, (struct sockaddr *)&ss, len);
}
