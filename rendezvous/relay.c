/* rendezvousd --relay: see relay.h and docs/protocol.md, "The relay". */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <sodium.h>

#include "clock.h"
#include "peerid.h"
#include "random.h"
#include "rdvclient.h"
#include "rdvlog.h"
#include "relay.h"
#include "tcplisten.h"

/* Bytes queued towards one side before the other side's reading pauses
 * (and the relay's read-ahead from a side): a peer that never reads
 * holds up its own stream, nothing else. */
#define RELAY_BUF (256 * 1024)
/* Joining connections (accepted, not yet in a stream) from one address. */
#define JOIN_PER_ADDR 8
/* The rate limits' tick. */
#define TICK_MS 50
/* How long a refused connection may take to read its ERROR. */
#define CLOSE_GRACE_MS 1000
/* Refusals logged per second; more are counted and summed up. */
#define REFUSE_LOG_PER_S 10

enum rstate {
	S_JOINING,   /* accepted: its JOIN is awaited (handshake timeout) */
	S_WAITING,   /* joined: the other peer of the match is awaited */
	S_STREAM,    /* in a stream: bytes are copied */
	S_CLOSING,   /* refused: its ERROR goes out, then it is freed */
};

struct rconn;

/* A match's offer: one JOIN per key until it expires. */
struct offer {
	struct offer *prev, *next;
	uint8_t token[PTCP_RELAY_TOKEN_LEN];
	uint8_t key[2][PTCP_RELAY_KEY_LEN];
	uint32_t isn[2];                /* the ISNs of the match, per key */
	bool used[2];                   /* that key joined (once only) */
	struct rconn *joined[2];        /* ... and waits here */
	ptcp_ts expires;
};

struct stream {
	uint64_t id;
	struct rconn *c[2];             /* [side]: the offer's key order */
	uint8_t key[2][PTCP_RELAY_KEY_LEN];
	ptcp_ts opened, active;         /* active: a byte moved last */
	struct event *timer;            /* idle */
};

struct rconn {
	struct ptcp_rdvd_relay *r;
	struct rconn *prev, *next;      /* r->conns */
	struct bufferevent *bev;
	struct event *timer;            /* S_JOINING, S_WAITING, S_CLOSING */
	struct ptcp_endpoint from;
	enum rstate st;
	struct offer *offer;            /* S_WAITING */
	int side;
	struct stream *s;               /* S_STREAM */
	bool eof;                       /* it ended its direction (FIN seen) */
	bool shut;                      /* we passed the other's FIN on to it */
	bool paused;                    /* its reading waits for the other's
	                                   output to drain */
	uint64_t bytes;                 /* copied from it to the other */
};

struct ptcp_rdvd_relay {
	struct event_base *base;
	const struct ptcp_rdvd_config *cfg;
	struct evconnlistener *listeners[PTCP_RDVD_LISTEN_MAX];
	unsigned n_listeners;
	uint16_t port;
	struct offer *offers, *offers_tail;
	unsigned n_offers, max_offers;
	struct rconn *conns;
	unsigned n_joining;             /* S_JOINING + S_WAITING */
	unsigned n_streams;
	struct ev_token_bucket_cfg *stream_rate;   /* NULL: no limit */
	struct ev_token_bucket_cfg *total_rate;
	struct bufferevent_rate_limit_group *group;
	uint64_t next_id;
	ptcp_ts refuse_second;
	unsigned refused_this_second, refused_quiet;
	bool stopping;
	/* counters since the start */
	unsigned long long offered, streams, refused, timeouts, bytes;
};

/* --- small helpers ---------------------------------------------------------------- */

static const char *ep_str(const struct ptcp_endpoint *ep, char buf[64])
{
	return ptcp_endpoint_format(ep, buf, 64);
}

static const char *key_str(const uint8_t *key, char buf[PTCP_PEERID_TEXT_MAX])
{
	ptcp_peerid_encode(buf, PTCP_PEERID_TEXT_MAX, key, NULL);
	return buf;
}

static void arm_ms(struct event *ev, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000) };

	evtimer_add(ev, &tv);
}

static bool same_host(const struct ptcp_endpoint *a, const struct ptcp_endpoint *b)
{
	return a->family == b->family &&
	       memcmp(a->addr, b->addr, a->family == PTCP_AF_INET ? 4 : 16) == 0;
}

static int other(int side)
{
	return !side;
}

/* --- offers ----------------------------------------------------------------------- */

static void offer_free(struct ptcp_rdvd_relay *r, struct offer *o)
{
	for (int k = 0; k < 2; k++)
		if (o->joined[k])
			o->joined[k]->offer = NULL;
	if (o->prev)
		o->prev->next = o->next;
	else
		r->offers = o->next;
	if (o->next)
		o->next->prev = o->prev;
	else
		r->offers_tail = o->prev;
	r->n_offers--;
	sodium_memzero(o->token, sizeof(o->token));
	free(o);
}

/* Expired offers with nobody waiting on them go (a waiting peer's own
 * timer ends its offer). */
static void offers_sweep(struct ptcp_rdvd_relay *r, ptcp_ts now)
{
	struct offer *o = r->offers, *next;

	for (; o; o = next) {
		next = o->next;
		if (o->expires <= now && !o->joined[0] && !o->joined[1])
			offer_free(r, o);
	}
}

/* The open offer of the other IP version's match of the same two peers:
 * the same keys, and one side's ISN the same (an asker sends one ISN over
 * both versions; two requests of one asker have two). Both MATCHes then
 * carry one token, so the peers meet whichever match each goes on with,
 * also when one of them joined already (a symmetric NAT goes at once). */
static struct offer *same_pair(struct ptcp_rdvd_relay *r, const uint8_t *a, uint32_t isn_a,
                               const uint8_t *b, uint32_t isn_b, ptcp_ts now)
{
	for (struct offer *o = r->offers; o; o = o->next) {
		int k;

		if (o->expires <= now)
			continue;
		if (memcmp(o->key[0], a, PTCP_RELAY_KEY_LEN) == 0 &&
		    memcmp(o->key[1], b, PTCP_RELAY_KEY_LEN) == 0)
			k = 0;
		else if (memcmp(o->key[0], b, PTCP_RELAY_KEY_LEN) == 0 &&
			 memcmp(o->key[1], a, PTCP_RELAY_KEY_LEN) == 0)
			k = 1;
		else
			continue;
		if (o->isn[k] == isn_a || o->isn[!k] == isn_b)
			return o;
	}
	return NULL;
}

int ptcp_rdvd_relay_offer(struct ptcp_rdvd_relay *r, const uint8_t a[PTCP_RELAY_KEY_LEN],
                          uint32_t isn_a, const uint8_t b[PTCP_RELAY_KEY_LEN], uint32_t isn_b,
                          uint8_t token[PTCP_RELAY_TOKEN_LEN])
{
	ptcp_ts now = ptcp_clock_now();
	struct offer *o;

	if (r->stopping)
		return -ENOBUFS;
	offers_sweep(r, now);
	if ((o = same_pair(r, a, isn_a, b, isn_b, now)) != NULL) {
		memcpy(token, o->token, PTCP_RELAY_TOKEN_LEN);
		return 0;
	}
	if (r->n_offers >= r->max_offers)
		return -ENOBUFS;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	ptcp_random_bytes(o->token, sizeof(o->token));
	memcpy(o->key[0], a, PTCP_RELAY_KEY_LEN);
	memcpy(o->key[1], b, PTCP_RELAY_KEY_LEN);
	o->isn[0] = isn_a;
	o->isn[1] = isn_b;
	o->expires = ptcp_ts_add(now, (uint64_t)r->cfg->relay_wait_ms * PTCP_NS_PER_MS);
	o->prev = r->offers_tail;
	if (r->offers_tail)
		r->offers_tail->next = o;
	else
		r->offers = o;
	r->offers_tail = o;
	r->n_offers++;
	r->offered++;
	memcpy(token, o->token, PTCP_RELAY_TOKEN_LEN);
	return 0;
}

void ptcp_rdvd_relay_endpoint(const struct ptcp_rdvd_relay *r, const struct ptcp_endpoint *local,
                              struct ptcp_endpoint *out)
{
	*out = *local;
	out->port = r->port;
}

/* --- connections ------------------------------------------------------------------ */

static void conn_free(struct rconn *c)
{
	struct ptcp_rdvd_relay *r = c->r;

	if (c->st == S_JOINING || c->st == S_WAITING)
		r->n_joining--;
	if (c->offer && c->offer->joined[c->side] == c)
		c->offer->joined[c->side] = NULL;
	if (c->bev) {
		if (r->group)
			bufferevent_remove_from_rate_limit_group(c->bev);
		bufferevent_free(c->bev);
	}
	if (c->timer)
		event_free(c->timer);
	if (c->prev)
		c->prev->next = c->next;
	else
		r->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
}

/* One log line for a refusal, at most REFUSE_LOG_PER_S a second (a
 * flood of bad joins must not flood the log). */
static void log_refusal(struct ptcp_rdvd_relay *r, const struct ptcp_endpoint *from, int code,
                        const char *text)
{
	ptcp_ts now = ptcp_clock_now();
	char ep[64];

	r->refused++;
	if (now >= ptcp_ts_add(r->refuse_second, PTCP_NS_PER_S)) {
		if (r->refused_quiet)
			ptcp_rdvd_log(PTCP_LOG_NOTICE, "relay: %u more joins refused in the last second",
				      r->refused_quiet);
		r->refuse_second = now;
		r->refused_this_second = 0;
		r->refused_quiet = 0;
	}
	if (r->refused_this_second++ >= REFUSE_LOG_PER_S) {
		r->refused_quiet++;
		return;
	}
	ptcp_rdvd_log(PTCP_LOG_NOTICE, "relay: refused %s: %s (%s)", ep_str(from, ep), text,
		      ptcp_relay_strerror(code));
}

/* Sends ERROR(code, text), then closes: once it is out, or after
 * CLOSE_GRACE_MS, or when the peer goes. */
static void refuse(struct rconn *c, int code, const char *text)
{
	struct ptcp_relay_msg m;
	uint8_t buf[PTCP_RELAY_MSG_MAX];
	int n;

	log_refusal(c->r, &c->from, code, text);
	if (c->st == S_JOINING || c->st == S_WAITING)
		c->r->n_joining--;
	if (c->offer && c->offer->joined[c->side] == c)
		c->offer->joined[c->side] = NULL;
	c->offer = NULL;
	c->st = S_CLOSING;
	ptcp_relay_error_msg(&m, code, text);
	n = ptcp_relay_emit(&m, buf, sizeof(buf));
	bufferevent_disable(c->bev, EV_READ);
	if (n <= 0 || bufferevent_write(c->bev, buf, (size_t)n) != 0) {
		conn_free(c);
		return;
	}
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	event_del(c->timer);
	arm_ms(c->timer, CLOSE_GRACE_MS);
}

/* --- streams ---------------------------------------------------------------------- */

static void stream_close(struct stream *s, const char *why)
{
	struct ptcp_rdvd_relay *r = s->c[0]->r;
	char a[PTCP_PEERID_TEXT_MAX], b[PTCP_PEERID_TEXT_MAX], ea[64], eb[64];
	ptcp_ts now = ptcp_clock_now();

	ptcp_rdvd_log(PTCP_LOG_NOTICE,
		      "relay stream %llu: %s at %s <-> %s at %s, %.1f s, %llu bytes and %llu bytes, "
		      "closed: %s",
		      (unsigned long long)s->id, key_str(s->key[0], a), ep_str(&s->c[0]->from, ea),
		      key_str(s->key[1], b), ep_str(&s->c[1]->from, eb),
		      (double)ptcp_ts_elapsed(now, s->opened) / PTCP_NS_PER_S,
		      (unsigned long long)s->c[0]->bytes, (unsigned long long)s->c[1]->bytes, why);
	r->bytes += s->c[0]->bytes + s->c[1]->bytes;
	r->n_streams--;
	conn_free(s->c[0]);
	conn_free(s->c[1]);
	event_free(s->timer);
	free(s);
}

static struct rconn *peer_of(const struct rconn *c)
{
	return c->s->c[other(c->side)];
}

/* Moves what c sent to the other side's output; pauses c's reading while
 * that output holds RELAY_BUF or more. */
static void forward(struct rconn *c)
{
	struct rconn *o = peer_of(c);
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(o->bev);
	size_t n = evbuffer_get_length(in);

	if (n) {
		if (evbuffer_add_buffer(out, in) != 0)
			return;
		c->bytes += n;
		c->s->active = ptcp_clock_now();
	}
	if (!c->paused && evbuffer_get_length(out) >= RELAY_BUF) {
		c->paused = true;
		bufferevent_disable(c->bev, EV_READ);
	}
}

/* c's FIN, once everything before it reached the other side's socket,
 * goes on to that side; both ways done ends the stream. Returns true
 * when the stream is gone. */
static bool pass_fin(struct rconn *c)
{
	struct rconn *o = peer_of(c);

	if (c->eof && !o->shut && evbuffer_get_length(bufferevent_get_output(o->bev)) == 0) {
		o->shut = true;
		shutdown(bufferevent_getfd(o->bev), SHUT_WR);
	}
	if (c->shut && o->shut) {
		stream_close(c->s, "both peers closed");
		return true;
	}
	return false;
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct stream *s = arg;
	const struct ptcp_rdvd_config *cfg = s->c[0]->r->cfg;
	uint64_t idle = (uint64_t)cfg->relay_idle_ms * PTCP_NS_PER_MS;
	ptcp_ts now = ptcp_clock_now();
	char why[64];

	(void)fd;
	(void)what;
	if (now >= ptcp_ts_add(s->active, idle)) {
		s->c[0]->r->timeouts++;
		snprintf(why, sizeof(why), "idle for %.0f s", (double)idle / PTCP_NS_PER_S);
		stream_close(s, why);
		return;
	}
	arm_ms(s->timer, (ptcp_ts_add(s->active, idle) - now) / PTCP_NS_PER_MS + 1);
}

static void on_stream_read(struct rconn *c)
{
	forward(c);
}

static void on_stream_write(struct rconn *o)
{
	struct rconn *c = peer_of(o);

	if (c->paused && evbuffer_get_length(bufferevent_get_output(o->bev)) <= RELAY_BUF / 2) {
		c->paused = false;
		bufferevent_enable(c->bev, EV_READ);
		forward(c);
	}
	pass_fin(c);
}

static void on_stream_event(struct rconn *c, short what)
{
	char why[128];

	if (what & BEV_EVENT_EOF) {
		forward(c);
		c->eof = true;
		pass_fin(c);
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
		snprintf(why, sizeof(why), "the connection of side %d broke (%s)", c->side + 1,
			 strerror(EVUTIL_SOCKET_ERROR()));
		stream_close(c->s, why);
	}
}

/* Both peers of o are in: a stream, if there is room. */
static void pair(struct ptcp_rdvd_relay *r, struct offer *o)
{
	struct ptcp_relay_msg m;
	uint8_t buf[PTCP_RELAY_HDR_LEN];
	struct stream *s;
	struct rconn *c[2] = { o->joined[0], o->joined[1] };
	char text[96], a[PTCP_PEERID_TEXT_MAX], b[PTCP_PEERID_TEXT_MAX], ea[64], eb[64];

	if (r->n_streams >= r->cfg->relay_streams || !(s = calloc(1, sizeof(*s)))) {
		snprintf(text, sizeof(text), "as many streams as allowed (%u)", r->cfg->relay_streams);
		offer_free(r, o);
		refuse(c[0], PTCP_RELAY_E_FULL, text);
		refuse(c[1], PTCP_RELAY_E_FULL, text);
		return;
	}
	s->timer = evtimer_new(r->base, on_idle, s);
	if (!s->timer) {
		free(s);
		offer_free(r, o);
		refuse(c[0], PTCP_RELAY_E_FULL, "out of memory");
		refuse(c[1], PTCP_RELAY_E_FULL, "out of memory");
		return;
	}
	s->id = ++r->next_id;
	memcpy(s->key, o->key, sizeof(s->key));
	s->opened = s->active = ptcp_clock_now();
	offer_free(r, o);
	r->n_streams++;
	r->streams++;
	memset(&m, 0, sizeof(m));
	m.type = PTCP_RELAY_READY;
	(void)ptcp_relay_emit(&m, buf, sizeof(buf));
	for (int k = 0; k < 2; k++) {
		s->c[k] = c[k];
		c[k]->s = s;
		c[k]->st = S_STREAM;
		r->n_joining--;
		event_del(c[k]->timer);
		if (r->stream_rate)
			bufferevent_set_rate_limit(c[k]->bev, r->stream_rate);
		if (r->group)
			bufferevent_add_to_rate_limit_group(c[k]->bev, r->group);
		bufferevent_setwatermark(c[k]->bev, EV_READ, 0, RELAY_BUF);
		bufferevent_setwatermark(c[k]->bev, EV_WRITE, RELAY_BUF / 2, 0);
		bufferevent_write(c[k]->bev, buf, sizeof(buf));
	}
	rlog_info("relay stream %llu: %s at %s <-> %s at %s, opened", (unsigned long long)s->id,
		  key_str(s->key[0], a), ep_str(&c[0]->from, ea), key_str(s->key[1], b),
		  ep_str(&c[1]->from, eb));
	arm_ms(s->timer, r->cfg->relay_idle_ms);
	/* Bytes that came after a JOIN wait in its input. */
	for (int k = 0; k < 2; k++) {
		bufferevent_enable(c[k]->bev, EV_READ);
		forward(c[k]);
	}
}

/* --- joining ---------------------------------------------------------------------- */

static struct offer *find_offer(struct ptcp_rdvd_relay *r, const uint8_t *token)
{
	for (struct offer *o = r->offers; o; o = o->next)
		if (sodium_memcmp(o->token, token, PTCP_RELAY_TOKEN_LEN) == 0)
			return o;
	return NULL;
}

static void join(struct rconn *c, const struct ptcp_relay_msg *m)
{
	struct ptcp_rdvd_relay *r = c->r;
	uint8_t t[PTCP_RELAY_TRANSCRIPT_LEN];
	ptcp_ts now = ptcp_clock_now();
	struct offer *o = find_offer(r, m->join.token);
	int side;

	if (!o || o->expires <= now) {
		refuse(c, PTCP_RELAY_E_UNKNOWN_TOKEN, o ? "the token has expired" :
		       "no match has this token");
		return;
	}
	if (memcmp(m->join.key, o->key[0], PTCP_RELAY_KEY_LEN) == 0)
		side = 0;
	else if (memcmp(m->join.key, o->key[1], PTCP_RELAY_KEY_LEN) == 0)
		side = 1;
	else {
		refuse(c, PTCP_RELAY_E_BAD_SIGNATURE, "the key is not one of the match's peers");
		return;
	}
	ptcp_relay_transcript(t, m->join.token, m->join.key);
	if (crypto_sign_verify_detached(m->join.sig, t, sizeof(t), m->join.key) != 0) {
		refuse(c, PTCP_RELAY_E_BAD_SIGNATURE, "the signature does not verify");
		return;
	}
	if (o->used[side]) {
		refuse(c, PTCP_RELAY_E_UNKNOWN_TOKEN, "this peer joined with the token already");
		return;
	}
	o->used[side] = true;
	o->joined[side] = c;
	c->offer = o;
	c->side = side;
	c->st = S_WAITING;
	/* Nothing more is read until the stream starts. */
	bufferevent_disable(c->bev, EV_READ);
	event_del(c->timer);
	if (o->joined[other(side)]) {
		pair(r, o);
		return;
	}
	arm_ms(c->timer, (o->expires - now) / PTCP_NS_PER_MS + 1);
}

static void on_joining_read(struct rconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t len = evbuffer_get_length(in), n = len < PTCP_RELAY_MSG_MAX ? len : PTCP_RELAY_MSG_MAX;
	const uint8_t *p = evbuffer_pullup(in, (ssize_t)n);
	struct ptcp_relay_msg m;
	int rv;

	if (!p)
		return;
	rv = ptcp_relay_frame(p, n);
	if (rv == 0)
		return;
	if (rv > 0)
		rv = ptcp_relay_parse(&m, p, (size_t)rv) == 0 ? rv : -PTCP_RELAY_E_MALFORMED;
	if (rv > 0 && m.type != PTCP_RELAY_JOIN)
		rv = -PTCP_RELAY_E_MALFORMED;
	if (rv < 0) {
		refuse(c, -rv, "not a JOIN of relay protocol version 1");
		return;
	}
	evbuffer_drain(in, (size_t)rv);
	join(c, &m);
}

/* --- callbacks -------------------------------------------------------------------- */

static void on_read(struct bufferevent *bev, void *arg)
{
	struct rconn *c = arg;

	(void)bev;
	if (c->st == S_JOINING)
		on_joining_read(c);
	else if (c->st == S_STREAM)
		on_stream_read(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct rconn *c = arg;

	if (c->st == S_CLOSING && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(c);
	else if (c->st == S_STREAM)
		on_stream_write(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct rconn *c = arg;
	char ep[64];

	(void)bev;
	if (c->st == S_STREAM) {
		on_stream_event(c, what);
		return;
	}
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if (c->st == S_WAITING)
		rlog_info("relay: %s left before the other peer came", ep_str(&c->from, ep));
	conn_free(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct rconn *c = arg;
	char text[80];

	(void)fd;
	(void)what;
	switch (c->st) {
	case S_JOINING:
		c->r->timeouts++;
		snprintf(text, sizeof(text), "no JOIN within %.1f s",
			 (double)c->r->cfg->relay_handshake_ms / 1000);
		refuse(c, PTCP_RELAY_E_TIMEOUT, text);
		break;
	case S_WAITING: {
		struct offer *o = c->offer;

		c->r->timeouts++;
		snprintf(text, sizeof(text), "the other peer did not come within %.0f s",
			 (double)c->r->cfg->relay_wait_ms / 1000);
		refuse(c, PTCP_RELAY_E_TIMEOUT, text);
		if (o)
			offer_free(c->r, o);
		break;
	}
	case S_CLOSING:
		conn_free(c);
		break;
	case S_STREAM:
		break;
	}
}

static unsigned joining_from(const struct ptcp_rdvd_relay *r, const struct ptcp_endpoint *ep)
{
	unsigned n = 0;

	for (const struct rconn *c = r->conns; c; c = c->next)
		if ((c->st == S_JOINING || c->st == S_WAITING) && same_host(&c->from, ep))
			n++;
	return n;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
	struct ptcp_rdvd_relay *r = arg;
	struct rconn *c;
	struct ptcp_endpoint ep;
	const char *full = NULL;
	char text[96];

	(void)l;
	if (r->stopping || ptcp_rdv_from_sockaddr(&ep, sa, (socklen_t)len) != 0) {
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->r = r;
	c->from = ep;
	c->st = S_JOINING;
	c->bev = bufferevent_socket_new(r->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->timer = evtimer_new(r->base, on_timer, c);
	c->next = r->conns;
	if (r->conns)
		r->conns->prev = c;
	r->conns = c;
	r->n_joining++;
	if (!c->bev || !c->timer) {
		if (!c->bev)
			close(fd);
		conn_free(c);
		return;
	}
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	/* A JOIN at most is read ahead of the parser. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, PTCP_RELAY_MSG_MAX);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (r->n_joining > 2 * r->cfg->relay_streams) {
		snprintf(text, sizeof(text), "as many joining connections as allowed (%u)",
			 2 * r->cfg->relay_streams);
		full = text;
	} else if (joining_from(r, &ep) > JOIN_PER_ADDR) {
		snprintf(text, sizeof(text), "as many joining connections from your address as "
			 "allowed (%u)", JOIN_PER_ADDR);
		full = text;
	}
	if (full) {
		refuse(c, PTCP_RELAY_E_FULL, full);
		return;
	}
	arm_ms(c->timer, r->cfg->relay_handshake_ms);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	/* EMFILE and the like: the next accept is tried when the loop
	 * comes back; say it once per occurrence at warn. */
	rlog_warn("relay: accept failed: %s", strerror(EVUTIL_SOCKET_ERROR()));
}

/* --- the relay as a whole --------------------------------------------------------- */

static int open_listener(struct ptcp_rdvd_relay *r, const struct ptcp_endpoint *at)
{
	struct ptcp_endpoint ep = *at;
	struct evconnlistener *l;
	int rv;

	ep.port = r->port;
	l = ptcp_rdvd_listen(r->base, &ep, "relay", on_accept, on_accept_error, r, &rv);
	if (!l)
		return rv;
	r->listeners[r->n_listeners++] = l;
	return 0;
}

/* A token bucket of rate bytes a second, refilled every TICK_MS. */
static struct ev_token_bucket_cfg *bucket(unsigned rate)
{
	struct timeval tick = { 0, TICK_MS * 1000 };
	size_t per_tick = (size_t)rate / (1000 / TICK_MS);

	if (per_tick < 1)
		per_tick = 1;
	/* A burst of two ticks, so that a full tick is never lost to
	 * rounding. */
	return ev_token_bucket_cfg_new(per_tick, 2 * per_tick, per_tick, 2 * per_tick, &tick);
}

int ptcp_rdvd_relay_new(struct ptcp_rdvd_relay **out, struct event_base *base,
                        const struct ptcp_rdvd_config *cfg)
{
	struct ptcp_rdvd_relay *r;
	struct ptcp_endpoint def;
	int rv = -ENOMEM;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->base = base;
	r->cfg = cfg;
	r->port = cfg->relay_port;
	r->max_offers = 4 * cfg->relay_streams;
	if (cfg->relay_rate && !(r->stream_rate = bucket(cfg->relay_rate)))
		goto fail;
	if (cfg->relay_total_rate) {
		r->total_rate = bucket(cfg->relay_total_rate);
		if (!r->total_rate || !(r->group = bufferevent_rate_limit_group_new(base, r->total_rate)))
			goto fail;
	}
	if (cfg->n_listen == 0) {
		ptcp_endpoint_ipv4(&def, 0, r->port);
		if ((rv = open_listener(r, &def)) != 0)
			goto fail;
	}
	for (unsigned i = 0; i < cfg->n_listen; i++)
		if ((rv = open_listener(r, &cfg->listen[i])) != 0)
			goto fail;
	*out = r;
	return 0;
fail:
	ptcp_rdvd_relay_free(r);
	return rv;
}

void ptcp_rdvd_relay_stop(struct ptcp_rdvd_relay *r)
{
	struct rconn *c;

	if (!r)
		return;
	r->stopping = true;
	for (unsigned i = 0; i < r->n_listeners; i++)
		evconnlistener_free(r->listeners[i]);
	r->n_listeners = 0;
	/* From the head each time: a stream's close frees two connections. */
	for (;;) {
		for (c = r->conns; c && c->st == S_CLOSING; c = c->next)
			;
		if (!c)
			break;
		if (c->st == S_STREAM)
			stream_close(c->s, "the server is stopping");
		else
			refuse(c, PTCP_RELAY_E_SHUTDOWN, "the server is stopping");
	}
}

void ptcp_rdvd_relay_free(struct ptcp_rdvd_relay *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->n_listeners; i++)
		evconnlistener_free(r->listeners[i]);
	while (r->conns) {
		struct rconn *c = r->conns;

		if (c->st == S_STREAM) {
			struct stream *s = c->s;

			conn_free(s->c[0]);
			conn_free(s->c[1]);
			event_free(s->timer);
			free(s);
		} else {
			conn_free(c);
		}
	}
	while (r->offers)
		offer_free(r, r->offers);
	if (r->group)
		bufferevent_rate_limit_group_free(r->group);
	if (r->total_rate)
		ev_token_bucket_cfg_free(r->total_rate);
	if (r->stream_rate)
		ev_token_bucket_cfg_free(r->stream_rate);
	free(r);
}

int ptcp_rdvd_relay_stats(const struct ptcp_rdvd_relay *r, char *buf, size_t cap)
{
	return snprintf(buf, cap, " relay_streams=%u relay_joining=%u relay_offers=%u "
			"relay_offered=%llu relay_opened=%llu relay_refused=%llu relay_timeouts=%llu "
			"relay_bytes=%llu", r->n_streams, r->n_joining, r->n_offers, r->offered,
			r->streams, r->refused, r->timeouts, r->bytes);
}
