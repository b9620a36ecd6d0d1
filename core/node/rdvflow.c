/* A node's rendezvous workflow: see rdvflow.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "clock.h"
#include "identity.h"
#include "ip.h"
#include "node_priv.h"
#include "random.h"
#include "rdvclient.h"
#include "rdvflow.h"
#include "resolve.h"

#define REGISTER_TIMEOUT (10 * PTCP_NS_PER_S)
#define PROBE_TIMEOUT (5 * PTCP_NS_PER_S)
#define RESOLVE_TIMEOUT_MS 5000
#define BACKOFF_MIN PTCP_NS_PER_S
#define BACKOFF_MAX (60 * PTCP_NS_PER_S)
/* The largest step between two ports a symmetric NAT gives to our
 * connections one after the other that is taken for a sequential
 * allocator (Linux's `snat to ... numgen inc` steps by 1; a random one
 * lands within 32 of the last port twice with odds of about 1 in 4
 * million). */
#define PREDICT_DELTA_MAX 32

/* The workflow as a whole. */
enum flow_state {
	F_IDLE = 0,     /* nothing asked yet, or every registration went away
	                   (connect) */
	F_RESOLVING,    /* c-ares looks the server up */
	F_RUNNING,      /* the registrations of each IP version do their part */
	F_BACKOFF,      /* listening, every registration went away: ev_retry is
	                   armed */
	F_FAILED,       /* cannot work (symmetric NAT, key wiped): nothing more
	                   is tried */
};

/* One registration: over one IP version, from the node's port. */
enum reg_state {
	R_OFF = 0,      /* not this round: no server address of the version,
	                   or the node has none */
	R_REGISTERING,  /* connected or connecting, not registered yet */
	R_PROBING,      /* registered; our NAT rewrote the port: second look */
	R_READY,        /* registered: requests go out */
	R_BACKOFF,      /* listening, gone while the other stays: ev_retry */
	R_DOWN,         /* gone, or cannot work here (a symmetric NAT) */
};

#define NREG PTCP_RAWSOCK_NFAM   /* [0] IPv4, [1] IPv6, as rawsock.h */

struct reg {
	struct ptcp_rdvflow *f;
	unsigned idx;                       /* in f->reg[]; its bit in rdv_todo */
	uint8_t family;
	enum reg_state st;
	struct ptcp_endpoint servers[PTCP_RESOLVE_MAX];  /* of this version */
	unsigned n_servers, cur;
	struct ptcp_rdv_client *c;          /* the registration */
	struct ptcp_rdv_client *probe;      /* the NAT probe, under probe_id */
	bool probe_same_port;               /* ... from our port to the server's
	                                       probe port (else from a second
	                                       port of ours to its port) */
	struct ptcp_identity probe_id;
	uint8_t probe_step;                 /* 1: the first look; 2: the second
	                                       sample, from a second port of
	                                       ours to the probe port */
	uint16_t probe_seen;                /* the first look's observed port */
	bool predictable;                   /* our NAT is symmetric with
	                                       sequential ports: pattern is in
	                                       our requests, and a match whose
	                                       peer aims at them is punched */
	struct ptcp_rdv_pattern pattern;
	struct ptcp_endpoint local;         /* the rendezvous socket's */
	struct ptcp_endpoint observed;      /* ... as the server saw it */
	bool up;                            /* registered, counted in n_registered */
	bool busy;                          /* listening at max_peers: we said BUSY */
	bool request_out;                   /* a LISTEN or CONNECT is with the server */
	uint32_t isn;                       /* ... with this ISN of ours */
	struct ptcp_peer *out_peer;         /* ... for this peer (CONNECT; NULL
	                                       once that peer went away: its
	                                       answer is then dropped) */
	struct event *ev_retry;             /* R_BACKOFF; R_REGISTERING without
	                                       a client: reconnect_soon() */
	uint64_t backoff;                   /* ns of the next wait */
	bool replaced;                      /* the server said REPLACED: another
	                                       registration of our key took
	                                       this one's place */
	bool no_zrtt;                       /* the server does not take HELLO0
	                                       (older than 0-RTT): register
	                                       the 1-RTT way */
	unsigned reconnects;                /* ... tries from our port since */
	bool symmetric;                     /* our NAT is symmetric, and the
	                                       server relays: matches over this
	                                       registration go to the relay at
	                                       once (relay.h) */
};

struct ptcp_rdvflow {
	struct ptcp_node *n;
	enum flow_state st;
	char host[256];                     /* the server as given, split */
	uint16_t port;
	bool numeric;
	struct ptcp_endpoint numeric_ep;
	struct ptcp_resolve *res;
	struct reg reg[NREG];
	unsigned n_registered;              /* registrations up: the node's
	                                       REGISTERED comes with the first */
	bool has_server_key;                /* the server's key is pinned */
	uint8_t server_key[PTCP_ID_LEN];
	bool has_proven_key;                /* a registration proved the
	                                       server's key: proven_key (the
	                                       latest one's) */
	uint8_t proven_key[PTCP_ID_LEN];

	bool listening;
	uint8_t (*allow)[PTCP_ID_LEN];
	unsigned n_allow;

	struct ptcp_peer **queue;           /* connect requests not sent over
	                                       every registration yet, oldest
	                                       first */
	unsigned n_queue, cap_queue;

	struct event *ev_retry;
	uint64_t backoff;                   /* ns of the next wait */
	int last_err;
};

static void start(struct ptcp_rdvflow *f);
static void pump(struct ptcp_rdvflow *f);
static void connect_client(struct reg *r);
static bool reconnect_soon(struct reg *r);

static const char *version_name(uint8_t family)
{
	return family == PTCP_AF_INET6 ? "IPv6" : "IPv4";
}

static const char *server_str(const struct reg *r, char *buf, size_t cap)
{
	if (r->n_servers == 0)
		snprintf(buf, cap, "%s", r->f->n->s.rendezvous);
	else
		ptcp_endpoint_format(&r->servers[r->cur], buf, (unsigned)cap);
	return buf;
}

static bool alive(const struct reg *r)
{
	return r->st == R_REGISTERING || r->st == R_PROBING || r->st == R_READY;
}

/* The registrations that may still answer a request: a bit each. */
static uint8_t alive_mask(const struct ptcp_rdvflow *f)
{
	uint8_t m = 0;

	for (unsigned i = 0; i < NREG; i++)
		if (alive(&f->reg[i]))
			m |= (uint8_t)(1u << i);
	return m;
}

/* The server's codes and the client's local errors, as the library's. */
static int map_code(int code)
{
	switch (code) {
	case PTCP_RDV_E_UNKNOWN_PEER:
		return PTCP_ERR_UNKNOWN_PEER;
	case PTCP_RDV_E_NOT_AUTHORISED:
		return PTCP_ERR_NOT_AUTHORISED;
	case PTCP_RDV_E_NOT_WAITING:
		return PTCP_ERR_NOT_WAITING;
	case PTCP_RDV_E_SELF:
		return PTCP_ERR_SELF;
	case PTCP_RDV_E_BUSY:
		return PTCP_ERR_BUSY;
	case PTCP_RDV_E_FAMILY:
		return PTCP_ERR_FAMILY;
	case -ECONNREFUSED:
	case -ETIMEDOUT:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
	case -ECONNRESET:
		return PTCP_ERR_RDV_UNREACHABLE;
	case -EPROTO:
		return PTCP_ERR_RDV_PROTOCOL;
	case -EKEYREJECTED:
		return PTCP_ERR_RDV_KEY;
	default:
		return code < 0 ? PTCP_ERR_RDV_UNREACHABLE : PTCP_ERR_RDV_REFUSED;
	}
}

/* An answer about the peer itself, the same over either IP version: the
 * other registration's is not waited for. Not BUSY: a listener says it
 * once matched with us over the other version, and our request over this
 * one may hear it before that match arrives. */
static bool final_answer(int err)
{
	return err == PTCP_ERR_UNKNOWN_PEER || err == PTCP_ERR_NOT_AUTHORISED || err == PTCP_ERR_SELF;
}

/* --- the connect requests ------------------------------------------------------ */

/* Puts p at position i of the queue (0: first in line; n_queue: last),
 * growing it as needed. */
static int queue_insert(struct ptcp_rdvflow *f, unsigned i, struct ptcp_peer *p)
{
	struct ptcp_peer **q;

	if (f->n_queue == f->cap_queue) {
		unsigned cap = f->cap_queue ? f->cap_queue * 2 : 4;

		q = realloc(f->queue, cap * sizeof(*q));
		if (!q)
			return PTCP_ERR_NOMEM;
		f->queue = q;
		f->cap_queue = cap;
	}
	memmove(f->queue + i + 1, f->queue + i, (f->n_queue - i) * sizeof(f->queue[0]));
	f->queue[i] = p;
	f->n_queue++;
	return 0;
}

static void queue_pop(struct ptcp_rdvflow *f, unsigned i)
{
	memmove(f->queue + i, f->queue + i + 1, (f->n_queue - i - 1) * sizeof(f->queue[0]));
	f->n_queue--;
}

static void queue_remove(struct ptcp_rdvflow *f, const struct ptcp_peer *p)
{
	for (unsigned i = 0; i < f->n_queue; i++) {
		if (f->queue[i] == p) {
			queue_pop(f, i);
			return;
		}
	}
}

/* p is done with the rendezvous: out of the queue, and no registration's
 * answer is for it any more (one that comes is dropped). */
static void forget_peer(struct ptcp_rdvflow *f, struct ptcp_peer *p)
{
	for (unsigned i = 0; i < NREG; i++)
		if (f->reg[i].out_peer == p)
			f->reg[i].out_peer = NULL;
	queue_remove(f, p);
	p->rdv_todo = p->rdv_out = 0;
	p->rdv_pending = false;
}

/* p's request failed for good: err and the detail line. */
static void fail_peer(struct ptcp_rdvflow *f, struct ptcp_peer *p, int err, const char *detail)
{
	forget_peer(f, p);
	if (p->phase == PEER_REQUESTED)
		ptcp_peer_fail_detail(p, err, ptcp_clock_now(), detail);
}

/* Notes one registration's failure for p. FAMILY says the least (the
 * other version may answer better): it does not replace another. */
static void note_err(struct ptcp_peer *p, int err, const char *detail)
{
	if (p->rdv_err && err == PTCP_ERR_FAMILY && p->rdv_err != PTCP_ERR_FAMILY)
		return;
	p->rdv_err = err;
	snprintf(p->info.detail, sizeof(p->info.detail), "%.*s", (int)sizeof(p->info.detail) - 1,
		 detail);
}

/* A request that is neither waiting to be sent nor out over a
 * registration that lives is over: it fails with the best reason heard
 * (a match would have scheduled it). */
static void settle_peer(struct ptcp_rdvflow *f, struct ptcp_peer *p)
{
	char detail[sizeof(p->info.detail)];

	if (f->st != F_RUNNING || p->phase != PEER_REQUESTED)
		return;
	p->rdv_todo &= alive_mask(f);
	if (p->rdv_todo || p->rdv_out)
		return;
	snprintf(detail, sizeof(detail), "%s", p->info.detail);
	p->info.detail[0] = '\0';
	fail_peer(f, p, p->rdv_err ? p->rdv_err : PTCP_ERR_RDV_UNREACHABLE,
		  detail[0] ? detail : "no rendezvous registration is left to ask for the peer");
}

/* Every request waiting or out, settled against the registrations alive. */
static void settle_all(struct ptcp_rdvflow *f)
{
	unsigned i = 0;

	while (i < f->n_queue) {
		unsigned before = f->n_queue;

		settle_peer(f, f->queue[i]);
		if (f->n_queue == before)
			i++;
	}
	for (i = 0; i < NREG; i++)
		if (f->reg[i].out_peer)
			settle_peer(f, f->reg[i].out_peer);
}

/* Every connect request waiting or out fails with err and detail. */
static void fail_requests(struct ptcp_rdvflow *f, int err, const char *detail)
{
	for (unsigned i = 0; i < NREG; i++) {
		f->reg[i].request_out = false;
		if (f->reg[i].out_peer)
			fail_peer(f, f->reg[i].out_peer, err, detail);
	}
	while (f->n_queue)
		fail_peer(f, f->queue[0], err, detail);
}

/* One line about a failure of the rendezvous: the server as we reach it,
 * and what went wrong, in the words a user needs. */
static void describe(const struct reg *r, int code, const char *msg, char *buf, size_t cap)
{
	char s[64];

	server_str(r, s, sizeof(s));
	switch (code) {
	case -ECONNREFUSED:
		snprintf(buf, cap, "rendezvous server %s refused the connection (is rendezvousd running "
			 "there?)", s);
		break;
	case -ETIMEDOUT:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
		snprintf(buf, cap, "rendezvous server %s is not reachable: %s", s, msg);
		break;
	case -EKEYREJECTED:
		snprintf(buf, cap, "%s", msg);
		break;
	default:
		/* The client's own lines may already name the server. */
		if (strstr(msg, "rendezvous server") == msg)
			snprintf(buf, cap, "%s", msg);
		else
			snprintf(buf, cap, "rendezvous server %s: %s", s, msg);
		break;
	}
}

/* --- losing the server --------------------------------------------------------- */

static void drop_clients(struct reg *r)
{
	struct ptcp_rdvflow *f = r->f;

	if (r->up) {
		r->up = false;
		f->n_registered--;
	}
	ptcp_rdv_client_free(r->probe);
	ptcp_rdv_client_free(r->c);
	r->probe = r->c = NULL;
	ptcp_identity_wipe(&r->probe_id);
	r->request_out = false;
	r->busy = false;
	if (r->ev_retry)
		evtimer_del(r->ev_retry);
}

/* The wait before trying again: 1 s doubling to 60 s, each with up to a
 * fifth more at random, so that the listeners of a restarted server do
 * not return at once. */
static uint64_t next_wait(uint64_t *backoff)
{
	uint64_t wait = *backoff ? *backoff : BACKOFF_MIN;

	*backoff = wait * 2 > BACKOFF_MAX ? BACKOFF_MAX : wait * 2;
	return wait + ptcp_random_u32() % (wait / 5 + 1);
}

static void arm(struct event *ev, uint64_t wait)
{
	struct timeval tv = { (time_t)(wait / PTCP_NS_PER_S),
			      (suseconds_t)(wait % PTCP_NS_PER_S / PTCP_NS_PER_US) };

	evtimer_add(ev, &tv);
}

/* Every registration is gone (or never came): requests fail; a listening
 * node tries again later. err is the library's error, msg the detail. */
static void lost(struct ptcp_rdvflow *f, int err, const char *msg)
{
	struct ptcp_node *n = f->n;
	uint64_t wait;

	for (unsigned i = 0; i < NREG; i++) {
		drop_clients(&f->reg[i]);
		f->reg[i].st = R_OFF;
	}
	f->n_registered = 0;
	f->last_err = err;
	fail_requests(f, err, msg);
	if (!f->listening) {
		nlog_info(n, "%s", msg);
		f->st = err == PTCP_ERR_SYMMETRIC_NAT ? F_FAILED : F_IDLE;
		return;
	}
	if (n->key_wiped) {
		/* A one-shot listener that has its peer needs the server no more. */
		nlog_info(n, "%s; not registering again (our key is wiped)", msg);
		f->st = F_FAILED;
		return;
	}
	if (err == PTCP_ERR_SYMMETRIC_NAT) {
		f->st = F_FAILED;
		if (n->cb.node_event)
			n->cb.node_event(n, n->user, PTCP_NODE_RDV_LOST, err, 0, msg);
		return;
	}
	wait = next_wait(&f->backoff);
	nlog_warn(n, "%s; registering again in %.1f s", msg, (double)wait / PTCP_NS_PER_S);
	f->st = F_BACKOFF;
	arm(f->ev_retry, wait);
	if (n->cb.node_event)
		n->cb.node_event(n, n->user, PTCP_NODE_RDV_LOST, err, wait, msg);
}

/* One registration is gone. While the other lives, a listener tries this
 * one again by itself with backoff, and requests go on over the other;
 * when none is left, the node has lost the server (lost()). */
static void reg_lost(struct reg *r, int err, const char *msg)
{
	struct ptcp_rdvflow *f = r->f;
	struct ptcp_node *n = f->n;
	const struct reg *o = &f->reg[!r->idx];
	struct ptcp_peer *p = r->out_peer;
	uint64_t wait;

	if (!alive(o) && o->st != R_BACKOFF) {
		lost(f, err, msg);
		return;
	}
	drop_clients(r);
	r->out_peer = NULL;
	r->st = R_DOWN;
	if (p) {
		p->rdv_out &= (uint8_t)~(1u << r->idx);
		note_err(p, err, msg);
	}
	/* REPLACED while the other version's registration lives: our key is
	 * registered again over this version elsewhere, or (a server with one
	 * table for both versions) over the other one; trying again would
	 * push that one out in turn. */
	if (f->listening && !n->key_wiped && err != PTCP_ERR_SYMMETRIC_NAT && !r->replaced) {
		wait = next_wait(&r->backoff);
		nlog_warn(n, "%s; registering over %s again in %.1f s (%s stays)", msg,
			  version_name(r->family), (double)wait / PTCP_NS_PER_S, version_name(o->family));
		r->st = R_BACKOFF;
		arm(r->ev_retry, wait);
	} else {
		nlog_info(n, "%s; going on over %s", msg, version_name(o->family));
	}
	settle_all(f);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct ptcp_rdvflow *f = arg;

	(void)fd;
	(void)what;
	f->st = F_IDLE;
	start(f);
	ptcp_node_kick(f->n);
}

static void on_reg_retry(evutil_socket_t fd, short what, void *arg)
{
	struct reg *r = arg;

	(void)fd;
	(void)what;
	if (r->f->st != F_RUNNING)
		return;
	if (r->st == R_REGISTERING && !r->c) {
		/* reconnect_soon() */
		connect_client(r);
		ptcp_node_kick(r->f->n);
		return;
	}
	if (r->st != R_BACKOFF)
		return;
	r->cur = 0;
	connect_client(r);
	ptcp_node_kick(r->f->n);
}

/* --- a match -------------------------------------------------------------------- */

static bool same_addr(const struct ptcp_endpoint *a, const struct ptcp_endpoint *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* Where the SYNs of a match go: the peer's public endpoint, or its
 * private one when both sit behind one NAT. */
static struct ptcp_endpoint match_remote(struct ptcp_rdvflow *f, const struct ptcp_rdv_match *m)
{
	struct ptcp_node *n = f->n;
	const char *why = NULL;
	char a[48];

	/* Both behind the same NAT: its outside address is the same for
	 * both, and few NATs hairpin, so go to the private endpoint. Only
	 * then, and only to a private or link-local address: the peer
	 * declares it itself, and must not aim our SYNs anywhere else. */
	if (m->peer_private.family == PTCP_AF_NONE)
		return m->peer_public;
	if (!same_addr(&m->peer_public, &m->self_public))
		why = "we do not share a public address";
	else if (!ptcp_ip_is_private(&m->peer_private) || m->peer_private.port == 0)
		why = "it is not a private or link-local address";
	if (!why) {
		nlog_info(n, "the peer is behind our own NAT: using its private endpoint");
		return m->peer_private;
	}
	nlog_info(n, "not using the private endpoint %s the peer declared: %s",
		  ptcp_endpoint_format(&m->peer_private, a, sizeof(a)), why);
	return m->peer_public;
}

static enum ptcp_channel_role role_of(const struct ptcp_rdv_match *m)
{
	return m->role == PTCP_RDV_ROLE_INITIATOR ? PTCP_CHANNEL_INITIATOR : PTCP_CHANNEL_RESPONDER;
}

/* Fills p from r's match and schedules its first SYN. */
static void schedule(struct reg *r, struct ptcp_peer *p, const struct ptcp_rdv_match *m)
{
	struct ptcp_node *n = r->f->n;
	char a[48], name[64];

	memcpy(p->expect_id, m->peer_key, PTCP_ID_LEN);
	p->has_expect_id = true;
	p->via_rendezvous = true;
	p->role = role_of(m);
	p->open.isn = m->isn;
	p->open.has_peer_isn = true;
	p->open.peer_isn = m->peer_isn;
	p->local = r->local;
	p->local.port = n->rs.port;
	p->remote = match_remote(r->f, m);
	p->start_at = m->start;
	p->has_relay_offer = m->has_relay;
	if (m->has_relay) {
		p->relay_ep = m->relay;
		memcpy(p->relay_token, m->relay_token, sizeof(p->relay_token));
	}
	p->relay_at_once = r->symmetric;
	if (m->peer_pattern.delta && ptcp_endpoint_equal(&p->remote, &m->peer_public))
		ptcp_peer_predict(p, m->peer_pattern.last_port, m->peer_pattern.delta);
	/* Our NAT is symmetric with sequential ports: punch when the peer
	 * aims at them, else relay (or fail, below). */
	if (r->predictable && !m->predicted)
		p->relay_at_once = n->s.relay && n->s.encrypt && p->has_relay_offer;
	p->aimed_at = r->predictable && m->predicted;
	/* Nothing to punch: no start delay to keep. */
	if (p->relay_at_once && p->has_relay_offer)
		p->start_at = ptcp_clock_now();
	p->server_rtt = m->server_rtt;
	p->phase = PEER_SCHEDULED;
	p->info.started = ptcp_clock_now();
	nlog_info(n, "matched with %s at %s over %s (ISN %u, ours %u, %s); punching in %u ms",
		  ptcp_node_peer_name(p, name, sizeof(name)),
		  ptcp_endpoint_format(&p->remote, a, sizeof(a)), version_name(r->family),
		  m->peer_isn, m->isn, m->role == PTCP_RDV_ROLE_INITIATOR ? "initiator" : "responder",
		  m->start_ms);
	if (r->predictable && !m->predicted && !p->relay_at_once)
		ptcp_peer_fail_detail(p, PTCP_ERR_SYMMETRIC_NAT, ptcp_clock_now(),
				      "symmetric NAT: hole punching cannot work through it (our NAT "
				      "gives sequential ports, but the peer cannot aim at them: its "
				      "NAT is symmetric too, or it is at another rendezvous "
				      "instance)");
}

/* r's match for a peer that has one over the other IP version already:
 * its second attempt. Returns 0 or PTCP_ERR_STATE (too late: the first
 * attempt is chosen or ended; or the roles differ). */
static int second(struct reg *r, struct ptcp_peer *p, const struct ptcp_rdv_match *m)
{
	struct ptcp_endpoint local = r->local, remote;
	struct ptcp_open open;

	if (p->role != role_of(m))
		return PTCP_ERR_STATE;
	memset(&open, 0, sizeof(open));
	open.isn = m->isn;
	open.has_peer_isn = true;
	open.peer_isn = m->peer_isn;
	local.port = r->f->n->rs.port;
	remote = match_remote(r->f, m);
	return ptcp_peer_add_alt(p, &local, &remote, &open, m->start);
}

/* A listening node's peer of which m is the match over the other IP
 * version: the same key, and the ISN the asker sends over both. */
static struct ptcp_peer *same_asker(struct ptcp_node *n, const struct ptcp_rdv_match *m)
{
	for (struct ptcp_peer *p = n->peers; p; p = p->next)
		if (p->listener_side && p->has_expect_id && !p->dead && p->phase != PEER_ENDED &&
		    memcmp(p->expect_id, m->peer_key, PTCP_ID_LEN) == 0 &&
		    p->open.peer_isn == m->peer_isn)
			return p;
	return NULL;
}

static struct reg *reg_of(struct ptcp_rdvflow *f, const struct ptcp_rdv_client *c)
{
	for (unsigned i = 0; i < NREG; i++)
		if (c && (f->reg[i].c == c || f->reg[i].probe == c))
			return &f->reg[i];
	return NULL;
}

/* A listening node's match: a new peer, or the second attempt at one. */
static void listener_match(struct reg *r, const struct ptcp_rdv_match *m)
{
	struct ptcp_node *n = r->f->n;
	struct ptcp_peer *p = same_asker(n, m);
	char name[64];

	if (p) {
		if (second(r, p, m) != 0)
			nlog_info(n, "%s: a match over %s came too late: dropped",
				  ptcp_node_peer_name(p, name, sizeof(name)), version_name(r->family));
		return;
	}
	p = ptcp_peer_alloc(n, n->user);
	if (!p) {
		nlog_error(n, "out of memory for a new peer");
		return;
	}
	p->listener_side = true;
	schedule(r, p, m);
	/* A match the server made just before it read our BUSY: the far peer
	 * is punching already, so it is served, one over the limit; beyond
	 * that it is refused. */
	if (n->closing || n->n_peers > n->s.max_peers + 1)
		p->err = PTCP_ERR_BUSY;
}

static void on_match(struct ptcp_rdv_client *c, void *user, const struct ptcp_rdv_match *m)
{
	struct ptcp_rdvflow *f = user;
	struct ptcp_node *n = f->n;
	struct reg *r = reg_of(f, c);
	struct ptcp_peer *p;
	char s[64], name[64];

	if (!r || c != r->c)
		return;
	r->request_out = false;
	if (m->isn != r->isn) {
		reg_lost(r, PTCP_ERR_RDV_PROTOCOL, "the rendezvous server sent a match that is not for our request");
		ptcp_node_kick(n);
		return;
	}
	if (f->listening) {
		listener_match(r, m);
	} else if ((p = r->out_peer) != NULL) {
		if (memcmp(m->peer_key, p->expect_id, PTCP_ID_LEN) != 0) {
			nlog_error(n, "rendezvous server %s sent a match for another peer than asked",
				   server_str(r, s, sizeof(s)));
			reg_lost(r, PTCP_ERR_RDV_PROTOCOL, "the rendezvous server sent a match for another peer");
			ptcp_node_kick(n);
			return;
		}
		r->out_peer = NULL;
		p->rdv_out &= (uint8_t)~(1u << r->idx);
		if (p->phase == PEER_REQUESTED) {
			p->info.detail[0] = '\0';
			schedule(r, p, m);
		} else if (second(r, p, m) != 0) {
			nlog_info(n, "%s: a match over %s came too late: dropped",
				  ptcp_node_peer_name(p, name, sizeof(name)), version_name(r->family));
		}
		if (!p->rdv_todo && !p->rdv_out)
			forget_peer(f, p);
	} else {
		nlog_info(n, "a match for a request whose peer went away: dropped");
	}
	pump(f);
	ptcp_node_kick(n);
}

/* --- requests --------------------------------------------------------------------- */

/* A listening node's peer, matched over one version, that a match over
 * family may still join (ptcp_peer_add_alt() would take it). */
static bool awaits_second(const struct ptcp_node *n, uint8_t family)
{
	for (const struct ptcp_peer *p = n->peers; p; p = p->next)
		if (p->listener_side && !p->dead && !p->alt.on && p->remote.family != family &&
		    (p->phase == PEER_SCHEDULED || p->phase == PEER_OPENING))
			return true;
	return false;
}

/* The oldest connect request that r has not sent yet. */
static struct ptcp_peer *next_request(struct ptcp_rdvflow *f, const struct reg *r)
{
	for (unsigned i = 0; i < f->n_queue; i++)
		if (f->queue[i]->rdv_todo & (1u << r->idx))
			return f->queue[i];
	return NULL;
}

/* Sends r's oldest connect request not sent over it yet, if any: when
 * ready, or (0-RTT) right behind the HELLO0. */
static void ask_next(struct reg *r)
{
	struct ptcp_rdvflow *f = r->f;
	struct ptcp_node *n = f->n;
	struct ptcp_peer *p = next_request(f, r);
	char s[64], name[64];
	int rv;

	if (!p || r->request_out)
		return;
	/* One ISN for the peer over every version: by it the listener
	 * tells the second match of a peer from a new peer. */
	r->isn = p->open.isn;
	p->rdv_todo &= (uint8_t)~(1u << r->idx);
	if (!p->rdv_todo)
		queue_remove(f, p);
	rv = ptcp_rdv_client_connect(r->c, p->expect_id, r->isn,
				     (uint32_t)(n->s.connect_wait / PTCP_NS_PER_MS));
	if (rv != 0) {
		reg_lost(r, PTCP_ERR_RDV_UNREACHABLE, "cannot send the request to the rendezvous server");
		return;
	}
	p->rdv_out |= (uint8_t)(1u << r->idx);
	r->out_peer = p;
	r->request_out = true;
	nlog_info(n, "asking %s for peer %s%s", server_str(r, s, sizeof(s)),
		  ptcp_node_peer_name(p, name, sizeof(name)),
		  r->st == R_REGISTERING ? " (0-RTT: behind the HELLO)" : "");
}

/* The server challenged our HELLO0 and dropped the request behind it,
 * and our NAT changed the port: the request waits again, for the probe
 * (first in line: it is the oldest). */
static void ask_again(struct reg *r)
{
	struct ptcp_rdvflow *f = r->f;
	struct ptcp_peer *p = r->out_peer;
	bool queued = false;

	r->request_out = false;
	r->out_peer = NULL;
	if (!p)
		return;
	p->rdv_out &= (uint8_t)~(1u << r->idx);
	for (unsigned i = 0; i < f->n_queue; i++)
		queued |= f->queue[i] == p;
	if (!queued && queue_insert(f, 0, p) != 0) {
		fail_peer(f, p, PTCP_ERR_NOMEM, "out of memory");
		return;
	}
	p->rdv_todo |= (uint8_t)(1u << r->idx);
}

static void pump_reg(struct reg *r)
{
	struct ptcp_rdvflow *f = r->f;
	struct ptcp_node *n = f->n;
	int rv;

	if (r->st != R_READY)
		return;
	/* A listener serving as many peers as it will says BUSY (which
	 * replaces its LISTEN at the server: askers hear "busy" at once),
	 * and listens again when a peer has ended. Not over a version whose
	 * match a new peer may still get (its asker asks over both), until
	 * it has that match or no use for it. */
	if (f->listening && n->n_peers >= n->s.max_peers && !awaits_second(n, r->family)) {
		if (!r->busy && ptcp_rdv_client_busy(r->c) == 0) {
			r->busy = true;
			r->request_out = false;
			nlog_info(n, "serving %u peers, the most we take: busy (%s)", n->n_peers,
				  version_name(r->family));
		}
		return;
	}
	if (r->request_out)
		return;
	if (!f->listening) {
		ask_next(r);
		return;
	}
	r->isn = ptcp_random_u32();
	rv = ptcp_rdv_client_listen(r->c, r->isn, (const uint8_t(*)[PTCP_RDV_KEY_LEN])f->allow,
				    f->n_allow <= PTCP_RDV_ALLOW_MAX ? f->n_allow : 0);
	if (rv == 0) {
		if (r->busy)
			nlog_info(n, "a peer has ended: taking peers again (%s)",
				  version_name(r->family));
		r->busy = false;
		nlog_info(n, "waiting for a peer to ask for %s (%s)", n->id_text,
			  version_name(r->family));
	} else {
		reg_lost(r, PTCP_ERR_RDV_UNREACHABLE, "cannot send the request to the rendezvous server");
		return;
	}
	r->request_out = true;
}

static void pump(struct ptcp_rdvflow *f)
{
	if (f->st == F_IDLE && (f->listening || f->n_queue)) {
		start(f);
		return;
	}
	if (f->st != F_RUNNING)
		return;
	for (unsigned i = 0; i < NREG; i++)
		pump_reg(&f->reg[i]);
}

/* --- registration --------------------------------------------------------------- */

/* A connect request of ours failed over r (not fatally). */
static void request_failed(struct reg *r, int err, const char *line)
{
	struct ptcp_rdvflow *f = r->f;
	struct ptcp_peer *p = r->out_peer;

	r->out_peer = NULL;
	nlog_info(f->n, "%s", line);
	if (!p)
		return;
	p->rdv_out &= (uint8_t)~(1u << r->idx);
	if (p->phase != PEER_REQUESTED) {
		/* matched over the other version already */
		if (!p->rdv_todo && !p->rdv_out)
			forget_peer(f, p);
	} else if (final_answer(err)) {
		fail_peer(f, p, err, line);
	} else {
		note_err(p, err, line);
		settle_peer(f, p);
	}
}

/* A new connection from our port to the same server: once the old one's
 * 4-tuple is free (our FIN acknowledged, a round trip after the close),
 * 10 ms after the close, doubling while connect() finds it in use
 * (EADDRNOTAVAIL), 8 times at most (2.5 s). Returns false when no more
 * is tried. */
static bool reconnect_soon(struct reg *r)
{
	if (r->reconnects >= 8)
		return false;
	arm(r->ev_retry, (10ull << r->reconnects++) * PTCP_NS_PER_MS);
	return true;
}

static void on_error(struct ptcp_rdv_client *c, void *user, int code, bool fatal, const char *msg)
{
	struct ptcp_rdvflow *f = user;
	struct ptcp_node *n = f->n;
	struct reg *r = reg_of(f, c);
	char s[64], line[512];

	if (!r)
		return;
	if (c == r->probe) {
		/* The probe only refines the diagnosis: go on without it. */
		nlog_info(n, "NAT probe failed: %s", msg);
		ptcp_rdv_client_free(r->probe);
		r->probe = NULL;
		ptcp_identity_wipe(&r->probe_id);
		r->st = R_READY;
		pump(f);
		return;
	}
	if (!fatal && code == -EAGAIN) {
		nlog_info(n, "%s", msg);
		ask_again(r);
		return;
	}
	if (fatal && code == -EPROTONOSUPPORT && !r->no_zrtt) {
		nlog_info(n, "%s; registering again the 1-RTT way", msg);
		ptcp_rdv_client_free(r->c);
		r->c = NULL;
		ask_again(r);
		r->no_zrtt = true;
		r->reconnects = 0;
		reconnect_soon(r);
		return;
	}
	if (fatal && code < 0 && !ptcp_rdv_client_registered(c) && r->cur + 1 < r->n_servers) {
		nlog_info(n, "rendezvous server %s: %s; trying the next address",
			  server_str(r, s, sizeof(s)), msg);
		ptcp_rdv_client_free(r->c);
		r->c = NULL;
		r->cur++;
		connect_client(r);
		return;
	}
	describe(r, code, msg, line, sizeof(line));
	if (fatal) {
		r->replaced = code == PTCP_RDV_E_REPLACED;
		reg_lost(r, map_code(code), line);
		ptcp_node_kick(n);
		return;
	}
	/* Only the request failed. */
	r->request_out = false;
	if (f->listening) {
		reg_lost(r, map_code(code), line);
	} else {
		request_failed(r, map_code(code), line);
		pump(f);
	}
	ptcp_node_kick(n);
}

/* A symmetric NAT with a server that relays (and settings.relay): the
 * registration stays, and its matches go to the relay without punching. */
static bool relay_instead(struct reg *r, const char *msg)
{
	struct ptcp_node *n = r->f->n;

	if (!n->s.relay || !n->s.encrypt || !ptcp_rdv_client_relays(r->c))
		return false;
	nlog_notice(n, "%s; peers will be relayed by the rendezvous server", msg);
	r->symmetric = true;
	r->st = R_READY;
	pump(r->f);
	return true;
}

static void on_challenged(struct ptcp_rdv_client *c, void *user,
                          const struct ptcp_endpoint *observed);
static void on_registered(struct ptcp_rdv_client *c, void *user,
                          const struct ptcp_endpoint *observed);

/* The NAT probe under a throwaway key: step 1 from our own port to the
 * probe port (or, without one, from a second port to the main port);
 * step 2 from a second port to the probe port. Returns 0 or an error
 * (no probe then). */
static int start_probe(struct reg *r, uint8_t step)
{
	struct ptcp_rdvflow *f = r->f;
	struct ptcp_rdv_client_config cfg;

	ptcp_rdv_client_config_default(&cfg);
	cfg.base = f->n->base;
	cfg.id = &r->probe_id;
	cfg.server = r->servers[r->cur];
	cfg.local = r->local;
	if (r->probe_same_port) {
		cfg.server.port = ptcp_rdv_client_probe_port(r->c);
		cfg.on_challenged = on_challenged;
	}
	if (!r->probe_same_port || step == 2)
		cfg.local.port = 0;
	cfg.has_server_key = f->has_server_key;
	memcpy(cfg.server_key, f->server_key, PTCP_ID_LEN);
	cfg.register_timeout = PROBE_TIMEOUT;
	cfg.on_registered = on_registered;
	cfg.on_error = on_error;
	cfg.user = f;
	r->st = R_PROBING;
	r->probe_step = step;
	if (ptcp_identity_generate(&r->probe_id) != 0 || ptcp_rdv_client_new(&r->probe, &cfg) != 0) {
		r->probe = NULL;
		ptcp_identity_wipe(&r->probe_id);
		return PTCP_ERR_SYSTEM;
	}
	return 0;
}

static void on_probe_registered(struct reg *r, const struct ptcp_endpoint *observed)
{
	struct ptcp_endpoint local;
	char msg[256];
	int rv = ptcp_rdv_client_local(r->probe, &local);

	ptcp_rdv_client_free(r->probe);
	r->probe = NULL;
	ptcp_identity_wipe(&r->probe_id);
	if (rv == 0 && observed->port != local.port) {
		/* Two connections, two rewritten ports: the NAT picks a port
		 * per connection, so the port the server saw for the first
		 * one is not the one our SYNs to the peer will leave from. */
		snprintf(msg, sizeof(msg),
			 "symmetric NAT: hole punching cannot work through it (our NAT gave our "
			 "connections from ports %u and %u the ports %u and %u)",
			 r->local.port, local.port, r->observed.port, observed->port);
		if (relay_instead(r, msg))
			return;
		reg_lost(r, PTCP_ERR_SYMMETRIC_NAT, msg);
		return;
	}
	nlog_info(r->f->n, "NAT probe: port %u kept; only our first port was taken", local.port);
	r->st = R_READY;
	pump(r->f);
}

/* A symmetric NAT: relayed, or the end (exit status 7). */
static void symmetric(struct reg *r, const char *msg)
{
	if (!relay_instead(r, msg))
		reg_lost(r, PTCP_ERR_SYMMETRIC_NAT, msg);
}

static int iabs(int v)
{
	return v < 0 ? -v : v;
}

static int gcd(int a, int b)
{
	while (b) {
		int t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* The second sample, from a second port of ours to the probe port: two
 * small steps the same way are a sequential allocator, which the peer
 * can aim at; its step is their greatest common divisor (other flows
 * through the NAT may have taken ports between our samples: steps of 3
 * and 2 are an allocator of 1). Anything else is random, and punching
 * cannot work. */
static void on_second_sample(struct reg *r, uint16_t port)
{
	struct ptcp_node *n = r->f->n;
	int d1 = (int)r->probe_seen - (int)r->observed.port, d2 = (int)port - (int)r->probe_seen;
	char msg[320];

	if (d2 != 0 && (d1 > 0) == (d2 > 0) && iabs(d2) <= PREDICT_DELTA_MAX) {
		r->pattern.last_port = port;
		r->pattern.delta = (int16_t)(d1 < 0 ? -gcd(iabs(d1), iabs(d2)) : gcd(iabs(d1), iabs(d2)));
		r->predictable = true;
		ptcp_rdv_client_set_pattern(r->c, &r->pattern);
		nlog_notice(n, "symmetric NAT with sequential ports (%u, %u, %u: step %d): a peer "
			    "will aim at the ports it predicts for us", r->observed.port, r->probe_seen,
			    port, r->pattern.delta);
		r->st = R_READY;
		pump(r->f);
		return;
	}
	snprintf(msg, sizeof(msg),
		 "symmetric NAT: hole punching cannot work through it (our NAT gave our connections "
		 "to the server the ports %u, %u and %u: a new mapping per destination, not "
		 "sequential)", r->observed.port, r->probe_seen, port);
	symmetric(r, msg);
}

/* The probe from our own port to the server's probe port: the same
 * mapping as towards its main port is one mapping for every destination
 * (RFC 4787 endpoint-independent mapping, port-translating): the port the
 * server saw is the one the peer must aim at, and punching works. Another
 * one is a new mapping per destination: symmetric; a small step is looked
 * at again for a pattern (on_second_sample), a server permitting. */
static void on_probe_challenged(struct reg *r, const struct ptcp_endpoint *observed)
{
	uint16_t port = observed->port;
	int delta = (int)port - (int)r->observed.port;
	char msg[320];

	ptcp_rdv_client_free(r->probe);
	r->probe = NULL;
	ptcp_identity_wipe(&r->probe_id);
	if (r->probe_step == 2) {
		on_second_sample(r, port);
		return;
	}
	if (port != r->observed.port) {
		if (ptcp_rdv_client_predicts(r->c) && iabs(delta) <= PREDICT_DELTA_MAX) {
			r->probe_seen = port;
			nlog_info(r->f->n, "NAT probe: our port %u is %u towards the probe port (%u "
				  "towards the main port): a second sample from another port",
				  r->local.port, port, r->observed.port);
			if (start_probe(r, 2) == 0)
				return;
		}
		snprintf(msg, sizeof(msg),
			 "symmetric NAT: hole punching cannot work through it (our NAT mapped our port "
			 "%u to %u towards the server's port %u and to %u towards its probe port %u: "
			 "a new mapping per destination, delta %d)",
			 r->local.port, r->observed.port, r->servers[r->cur].port, port,
			 ptcp_rdv_client_probe_port(r->c), delta);
		symmetric(r, msg);
		return;
	}
	nlog_info(r->f->n, "NAT probe: our port %u is %u towards the probe port too: one mapping for "
		  "every destination (endpoint-independent, port-translating)", r->local.port, port);
	r->st = R_READY;
	pump(r->f);
}

/* The CHALLENGE came: when our NAT kept our port (no probe needed), a
 * connect request goes out behind the AUTH, a round trip sooner. */
static void on_challenged(struct ptcp_rdv_client *c, void *user, const struct ptcp_endpoint *observed)
{
	struct ptcp_rdvflow *f = user;
	struct reg *r = reg_of(f, c);

	if (r && c == r->probe && r->probe_same_port) {
		on_probe_challenged(r, observed);
		ptcp_node_kick(f->n);
		return;
	}
	if (!r || c == r->probe || f->listening || r->st != R_REGISTERING)
		return;
	if (ptcp_rdv_client_local(c, &r->local) != 0 || observed->port != r->local.port)
		return;
	r->st = R_READY;
	pump_reg(r);
}

static void on_registered(struct ptcp_rdv_client *c, void *user, const struct ptcp_endpoint *observed)
{
	struct ptcp_rdvflow *f = user;
	struct ptcp_node *n = f->n;
	struct reg *r = reg_of(f, c);
	char a[64], b[64], s[64];

	if (!r)
		return;
	if (c == r->probe) {
		on_probe_registered(r, observed);
		ptcp_node_kick(n);
		return;
	}
	if (ptcp_rdv_client_local(c, &r->local) != 0) {
		reg_lost(r, PTCP_ERR_SYSTEM, "cannot read the rendezvous socket's address");
		return;
	}
	r->observed = *observed;
	r->backoff = 0;
	r->replaced = false;
	r->symmetric = false;
	r->predictable = false;
	memset(&r->pattern, 0, sizeof(r->pattern));
	f->backoff = 0;
	{
		uint8_t key[PTCP_ID_LEN];
		char id[PTCP_ID_TEXT_MAX];

		if (ptcp_rdv_client_server_key(c, key) == 0) {
			memcpy(f->proven_key, key, PTCP_ID_LEN);
			f->has_proven_key = true;
			if (ptcp_id_format(key, id, sizeof(id)) > 0)
				nlog_info(n, "the rendezvous server's key is %s (%s)", id,
					  f->has_server_key ? "pinned" :
					  "not pinned: --rendezvous-key pins it");
		}
	}
	nlog_info(n, "registered with %s from %s as %s, seen as %s%s%s", server_str(r, s, sizeof(s)),
		  ptcp_endpoint_format(&r->local, a, sizeof(a)), n->id_text,
		  ptcp_endpoint_format(observed, b, sizeof(b)),
		  ptcp_rdv_client_zrtt(c) ? " (0-RTT: in one flight)" : "",
		  ptcp_rdv_client_fastopen(c) ? " (TCP Fast Open: our first flight rode the SYN)" : "");
	if (f->listening)
		nlog_notice(n, "registered with %s as %s", server_str(r, s, sizeof(s)), n->id_text);
	r->up = true;
	if (f->n_registered++ == 0 && n->cb.node_event)
		n->cb.node_event(n, n->user, PTCP_NODE_REGISTERED, 0, 0, "");
	if (observed->port == r->local.port) {
		r->st = R_READY;
		pump(f);
		return;
	}
	/* Our NAT changed the port. Ask once more under a throwaway key
	 * (registering ours twice would replace the first registration):
	 * with a probe port, from this port to that one (the CHALLENGE says
	 * enough), to tell one mapping for every destination from a new one
	 * per destination; without, from another port, to tell a one-off
	 * collision from a NAT that changes every port. */
	r->probe_same_port = ptcp_rdv_client_probe_port(c) != 0;
	if (r->probe_same_port)
		nlog_info(n, "our NAT rewrote port %u to %u: looking from it at the server's probe "
			  "port %u", r->local.port, observed->port, ptcp_rdv_client_probe_port(c));
	else
		nlog_info(n, "our NAT rewrote port %u to %u: probing from a second port",
			  r->local.port, observed->port);
	if (start_probe(r, 1) != 0) {
		r->st = R_READY;
		pump(f);
	}
}

static void connect_client(struct reg *r)
{
	struct ptcp_rdvflow *f = r->f;
	struct ptcp_node *n = f->n;
	struct ptcp_rdv_client_config cfg;
	char s[64], msg[512];
	int rv;

	ptcp_rdv_client_config_default(&cfg);
	cfg.base = n->base;
	cfg.id = &n->id;
	cfg.server = r->servers[r->cur];
	/* Our port, and our address if the node has one. */
	memset(&cfg.local, 0, sizeof(cfg.local));
	if (n->s.local_addr)
		cfg.local = n->rs.fam[r->idx].local;
	cfg.local.port = n->rs.port;
	cfg.has_server_key = f->has_server_key;
	memcpy(cfg.server_key, f->server_key, PTCP_ID_LEN);
	cfg.register_timeout = REGISTER_TIMEOUT;
	cfg.zrtt = !r->no_zrtt;
	cfg.on_challenged = on_challenged;
	cfg.on_registered = on_registered;
	cfg.on_match = on_match;
	cfg.on_error = on_error;
	cfg.user = f;
	r->st = R_REGISTERING;
	nlog_info(n, "connecting to the rendezvous server %s%s", server_str(r, s, sizeof(s)),
		  !cfg.zrtt ? ""
		  : f->has_server_key ? " (0-RTT: its key is pinned)"
				      : " (0-RTT, open: for the server at that address)");
	rv = ptcp_rdv_client_new(&r->c, &cfg);
	if (rv == -EADDRNOTAVAIL && r->no_zrtt && reconnect_soon(r)) {
		r->c = NULL;
		return;
	}
	if (rv == 0) {
		/* The request goes out right behind the HELLO0; the server
		 * drops it if it challenges instead, and the client gives
		 * it back then. */
		if (cfg.zrtt && !f->listening)
			ask_next(r);
		return;
	}
	r->c = NULL;
	if (r->cur + 1 < r->n_servers) {
		r->cur++;
		connect_client(r);
		return;
	}
	describe(r, rv, strerror(-rv), msg, sizeof(msg));
	reg_lost(r, PTCP_ERR_RDV_UNREACHABLE, msg);
}

/* The server's addresses, sorted into the registrations of their IP
 * versions (of the node's own versions); each registration starts. */
static void run(struct ptcp_rdvflow *f, const struct ptcp_endpoint *eps, unsigned cnt)
{
	struct ptcp_node *n = f->n;
	const char *have, *lack;
	unsigned i, started = 0;
	char m[300];

	for (i = 0; i < NREG; i++) {
		f->reg[i].n_servers = f->reg[i].cur = 0;
		f->reg[i].st = R_OFF;
	}
	for (i = 0; i < cnt; i++) {
		int k = ptcp_rawsock_index(eps[i].family);

		if (k < 0 || !ptcp_rawsock_has(&n->rs, eps[i].family) ||
		    f->reg[k].n_servers == PTCP_RESOLVE_MAX)
			continue;
		f->reg[k].servers[f->reg[k].n_servers++] = eps[i];
	}
	f->st = F_RUNNING;
	/* Both are marked before either starts: a registration that fails
	 * at once must see that the other is coming. */
	for (i = 0; i < NREG; i++)
		if (f->reg[i].n_servers)
			f->reg[i].st = R_REGISTERING;
	for (i = 0; i < NREG && f->st == F_RUNNING; i++) {
		if (f->reg[i].n_servers == 0)
			continue;
		started++;
		connect_client(&f->reg[i]);
	}
	if (started == 0) {
		have = eps[0].family == PTCP_AF_INET6 ? "IPv6" : "IPv4";
		lack = ptcp_rawsock_has(&n->rs, PTCP_AF_INET) ? "IPv6" : "IPv4";
		snprintf(m, sizeof(m), "rendezvous server '%s' has only %s addresses, and this node "
			 "has no %s", n->s.rendezvous, have, lack);
		lost(f, PTCP_ERR_RDV_RESOLVE, m);
		return;
	}
	if (f->st != F_RUNNING)
		return;   /* lost() on the way */
	settle_all(f);
	pump(f);
}

static void on_resolved(void *user, const struct ptcp_endpoint *eps, unsigned cnt, const char *msg)
{
	struct ptcp_rdvflow *f = user;
	struct ptcp_endpoint copy[PTCP_RESOLVE_MAX];
	char m[300];

	/* eps and msg live in the resolver: use them before freeing it. */
	if (cnt == 0) {
		snprintf(m, sizeof(m), "rendezvous server: %s", msg);
		ptcp_resolve_free(f->res);
		f->res = NULL;
		lost(f, PTCP_ERR_RDV_RESOLVE, m);
		ptcp_node_kick(f->n);
		return;
	}
	if (cnt > PTCP_RESOLVE_MAX)
		cnt = PTCP_RESOLVE_MAX;
	memcpy(copy, eps, cnt * sizeof(copy[0]));
	ptcp_resolve_free(f->res);
	f->res = NULL;
	run(f, copy, cnt);
	ptcp_node_kick(f->n);
}

static void start(struct ptcp_rdvflow *f)
{
	struct ptcp_node *n = f->n;
	int rv;

	if (f->st != F_IDLE)
		return;
	/* settings.forget_key: no key, no registration. */
	if (n->key_wiped) {
		f->st = F_FAILED;
		f->last_err = PTCP_ERR_IDENTITY;
		fail_requests(f, PTCP_ERR_IDENTITY, "our key was wiped after the first peer "
			      "(forget_key): no more registrations");
		return;
	}
	if (f->numeric) {
		run(f, &f->numeric_ep, 1);
		return;
	}
	f->st = F_RESOLVING;
	rv = ptcp_resolve_start(&f->res, n->base, f->host, f->port, PTCP_RDV_PORT, RESOLVE_TIMEOUT_MS,
				on_resolved, f);
	if (rv != 0) {
		f->res = NULL;
		lost(f, PTCP_ERR_RDV_RESOLVE, "cannot start the name look-up");
	}
}

/* --- the interface ------------------------------------------------------------------- */

int ptcp_rdvflow_new(struct ptcp_rdvflow **out, struct ptcp_node *n)
{
	struct ptcp_rdvflow *f;
	char err[300];

	*out = NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return PTCP_ERR_NOMEM;
	f->n = n;
	for (unsigned i = 0; i < NREG; i++) {
		f->reg[i].f = f;
		f->reg[i].idx = i;
		f->reg[i].family = i == PTCP_RAWSOCK_V4 ? PTCP_AF_INET : PTCP_AF_INET6;
	}
	if (ptcp_rdv_parse_hostport(n->s.rendezvous, PTCP_RDV_PORT, &f->numeric_ep, err,
				    sizeof(err)) == 0) {
		f->numeric = true;
	} else if (ptcp_resolve_split(n->s.rendezvous, f->host, sizeof(f->host), &f->port, err,
				      sizeof(err)) != 0) {
		nlog_error(n, "%s", err);
		free(f);
		return PTCP_ERR_INVAL;
	}
	if (n->s.rendezvous_key) {
		if (ptcp_id_parse(f->server_key, n->s.rendezvous_key, err, sizeof(err)) != 0) {
			nlog_error(n, "the rendezvous server's key: %s", err);
			free(f);
			return PTCP_ERR_INVAL;
		}
		f->has_server_key = true;
	}
	f->ev_retry = evtimer_new(n->base, on_retry, f);
	for (unsigned i = 0; i < NREG; i++)
		f->reg[i].ev_retry = evtimer_new(n->base, on_reg_retry, &f->reg[i]);
	if (!f->ev_retry || !f->reg[0].ev_retry || !f->reg[1].ev_retry) {
		ptcp_rdvflow_free(f);
		return PTCP_ERR_NOMEM;
	}
	*out = f;
	return 0;
}

void ptcp_rdvflow_free(struct ptcp_rdvflow *f)
{
	if (!f)
		return;
	ptcp_resolve_free(f->res);
	for (unsigned i = 0; i < NREG; i++) {
		drop_clients(&f->reg[i]);
		if (f->reg[i].out_peer)
			forget_peer(f, f->reg[i].out_peer);
		if (f->reg[i].ev_retry)
			event_free(f->reg[i].ev_retry);
	}
	while (f->n_queue)
		forget_peer(f, f->queue[0]);
	if (f->ev_retry)
		event_free(f->ev_retry);
	free(f->queue);
	free(f->allow);
	free(f);
}

int ptcp_rdvflow_server_key(const struct ptcp_rdvflow *f, uint8_t key[PTCP_ID_LEN])
{
	if (!f->has_proven_key)
		return PTCP_ERR_STATE;
	memcpy(key, f->proven_key, PTCP_ID_LEN);
	return 0;
}

int ptcp_rdvflow_listen(struct ptcp_rdvflow *f, const uint8_t (*allow)[PTCP_ID_LEN],
			unsigned n_allow)
{
	if (f->listening || f->n_queue)
		return PTCP_ERR_STATE;
	if (n_allow) {
		f->allow = malloc((size_t)n_allow * PTCP_ID_LEN);
		if (!f->allow)
			return PTCP_ERR_NOMEM;
		memcpy(f->allow, allow, (size_t)n_allow * PTCP_ID_LEN);
		f->n_allow = n_allow;
	}
	f->listening = true;
	pump(f);
	return 0;
}

int ptcp_rdvflow_connect(struct ptcp_rdvflow *f, struct ptcp_peer *p)
{
	if (f->listening)
		return PTCP_ERR_STATE;
	if (f->st == F_FAILED)
		return f->last_err;
	if (queue_insert(f, f->n_queue, p) != 0)
		return PTCP_ERR_NOMEM;
	p->rdv_pending = true;
	/* Over every registration there is or will be, with one ISN. */
	p->rdv_todo = 0;
	for (unsigned i = 0; i < NREG; i++)
		if (f->st == F_RUNNING ? alive(&f->reg[i]) : ptcp_rawsock_has(&f->n->rs, f->reg[i].family))
			p->rdv_todo |= (uint8_t)(1u << i);
	p->rdv_out = 0;
	p->rdv_err = 0;
	p->open.isn = ptcp_random_u32();
	pump(f);
	settle_peer(f, p);
	return 0;
}

void ptcp_rdvflow_cancel(struct ptcp_rdvflow *f, struct ptcp_peer *p)
{
	/* A request that is out cannot be taken back: its match, if it
	 * comes, finds no peer and is dropped. */
	forget_peer(f, p);
}

void ptcp_rdvflow_step(struct ptcp_rdvflow *f)
{
	if (f && f->listening)
		pump(f);
}

bool ptcp_rdvflow_owns(const struct ptcp_rdvflow *f, const struct ptcp_endpoint *src,
		       const struct ptcp_endpoint *dst)
{
	if (!f || dst->port != f->n->rs.port)
		return false;
	for (unsigned i = 0; i < NREG; i++) {
		const struct reg *r = &f->reg[i];

		if (r->c && r->n_servers && ptcp_endpoint_equal(src, &r->servers[r->cur]))
			return true;
	}
	return false;
}

bool ptcp_rdvflow_rewritten(const struct ptcp_rdvflow *f, uint8_t family, struct ptcp_endpoint *local,
			    struct ptcp_endpoint *observed)
{
	unsigned i;

	for (i = 0; f && i < NREG; i++) {
		const struct reg *r = &f->reg[i];

		if (r->family != family || r->observed.family == PTCP_AF_NONE ||
		    r->observed.port == r->local.port)
			continue;
		*local = r->local;
		*observed = r->observed;
		return true;
	}
	return false;
}

bool ptcp_rdvflow_allowed(const struct ptcp_rdvflow *f, const uint8_t pk[PTCP_ID_LEN])
{
	unsigned i;

	if (!f || f->n_allow == 0)
		return true;
	for (i = 0; i < f->n_allow; i++)
		if (memcmp(pk, f->allow[i], PTCP_ID_LEN) == 0)
			return true;
	return false;
}
