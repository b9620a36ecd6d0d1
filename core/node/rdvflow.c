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

enum flow_state {
	F_IDLE = 0,     /* nothing asked yet, or the server went away (connect) */
	F_RESOLVING,    /* c-ares looks the server up */
	F_REGISTERING,  /* connected or connecting, not registered yet */
	F_PROBING,      /* registered; our NAT rewrote the port: second look */
	F_READY,        /* registered: requests go out */
	F_BACKOFF,      /* listening, the server went away: ev_retry is armed */
	F_FAILED,       /* cannot work (symmetric NAT): nothing more is tried */
};

struct ptcp_rdvflow {
	struct ptcp_node *n;
	enum flow_state st;
	char host[256];                     /* the server as given, split */
	uint16_t port;
	bool numeric;
	struct ptcp_endpoint servers[PTCP_RESOLVE_MAX];
	unsigned n_servers, cur;
	struct ptcp_resolve *res;
	struct ptcp_rdv_client *c;          /* the registration */
	struct ptcp_rdv_client *probe;      /* the NAT probe, under probe_id */
	struct ptcp_identity probe_id;
	struct ptcp_endpoint local;         /* the rendezvous socket's */
	struct ptcp_endpoint observed;      /* ... as the server saw it */
	bool rewritten;                     /* observed port != ours */
	bool has_server_key;                /* the server's key is pinned */
	uint8_t server_key[PTCP_ID_LEN];

	bool listening;
	uint8_t (*allow)[PTCP_ID_LEN];
	unsigned n_allow;

	bool busy;                          /* listening at max_peers: we said BUSY */
	bool request_out;                   /* a LISTEN or CONNECT is with the server */
	uint32_t isn;                       /* ... with this ISN of ours */
	struct ptcp_peer *out_peer;         /* ... for this peer (CONNECT; NULL
	                                       once that peer went away: its
	                                       answer is then dropped) */
	struct ptcp_peer **queue;           /* connect requests waiting, oldest first */
	unsigned n_queue, cap_queue;

	struct event *ev_retry;
	uint64_t backoff;                   /* ns of the next wait */
	int last_err;
};

static void start(struct ptcp_rdvflow *f);
static void pump(struct ptcp_rdvflow *f);

static const char *server_str(const struct ptcp_rdvflow *f, char *buf, size_t cap)
{
	if (f->n_servers == 0)
		snprintf(buf, cap, "%s", f->n->s.rendezvous);
	else
		ptcp_endpoint_format(&f->servers[f->cur], buf, (unsigned)cap);
	return buf;
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

/* --- the queue of connect requests ------------------------------------------- */

static void queue_pop(struct ptcp_rdvflow *f, unsigned i)
{
	memmove(f->queue + i, f->queue + i + 1, (f->n_queue - i - 1) * sizeof(f->queue[0]));
	f->n_queue--;
}

/* Every connect request waiting or out fails with err and detail. */
static void fail_requests(struct ptcp_rdvflow *f, int err, const char *detail)
{
	ptcp_ts now = ptcp_clock_now();

	if (f->out_peer) {
		f->out_peer->rdv_pending = false;
		ptcp_peer_fail_detail(f->out_peer, err, now, detail);
		f->out_peer = NULL;
	}
	while (f->n_queue) {
		struct ptcp_peer *p = f->queue[0];

		queue_pop(f, 0);
		p->rdv_pending = false;
		ptcp_peer_fail_detail(p, err, now, detail);
	}
	f->request_out = false;
}

/* One line about a failure of the rendezvous: the server as we reach it,
 * and what went wrong, in the words a user needs. */
static void describe(const struct ptcp_rdvflow *f, int code, const char *msg, char *buf, size_t cap)
{
	char s[64];

	server_str(f, s, sizeof(s));
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

static void drop_clients(struct ptcp_rdvflow *f)
{
	ptcp_rdv_client_free(f->probe);
	ptcp_rdv_client_free(f->c);
	f->probe = f->c = NULL;
	ptcp_identity_wipe(&f->probe_id);
	f->request_out = false;
	f->busy = false;
}

/* The registration is gone (or never came): requests fail; a listening
 * node tries again later. err is the library's error, msg the detail. */
static void lost(struct ptcp_rdvflow *f, int err, const char *msg)
{
	struct ptcp_node *n = f->n;
	char s[64];
	uint64_t wait;

	drop_clients(f);
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
	/* 1 s, doubling to 60 s, each with up to a fifth more at random, so
	 * that the listeners of a restarted server do not return at once. */
	wait = f->backoff ? f->backoff : BACKOFF_MIN;
	f->backoff = wait * 2 > BACKOFF_MAX ? BACKOFF_MAX : wait * 2;
	wait += ptcp_random_u32() % (wait / 5 + 1);
	nlog_warn(n, "%s; registering again in %.1f s", msg, (double)wait / PTCP_NS_PER_S);
	(void)s;
	f->st = F_BACKOFF;
	{
		struct timeval tv = { (time_t)(wait / PTCP_NS_PER_S),
				      (suseconds_t)(wait % PTCP_NS_PER_S / PTCP_NS_PER_US) };

		evtimer_add(f->ev_retry, &tv);
	}
	if (n->cb.node_event)
		n->cb.node_event(n, n->user, PTCP_NODE_RDV_LOST, err, wait, msg);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct ptcp_rdvflow *f = arg;

	(void)fd;
	(void)what;
	f->st = F_IDLE;
	f->n_servers = f->cur = 0;
	start(f);
	ptcp_node_kick(f->n);
}

/* --- a match -------------------------------------------------------------------- */

static bool same_addr(const struct ptcp_endpoint *a, const struct ptcp_endpoint *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

/* Fills p from the match and schedules its first SYN. */
static void schedule(struct ptcp_rdvflow *f, struct ptcp_peer *p, const struct ptcp_rdv_match *m)
{
	struct ptcp_node *n = f->n;
	char a[48], name[64];

	memcpy(p->expect_id, m->peer_key, PTCP_ID_LEN);
	p->has_expect_id = true;
	p->via_rendezvous = true;
	p->role = m->role == PTCP_RDV_ROLE_INITIATOR ? PTCP_CHANNEL_INITIATOR : PTCP_CHANNEL_RESPONDER;
	p->open.isn = m->isn;
	p->open.has_peer_isn = true;
	p->open.peer_isn = m->peer_isn;
	p->local = f->local;
	p->local.port = n->rs.port;
	p->remote = m->peer_public;
	/* Both behind the same NAT: its outside address is the same for
	 * both, and few NATs hairpin, so go to the private endpoint. Only
	 * then, and only to a private or link-local address: the peer
	 * declares it itself, and must not aim our SYNs anywhere else. */
	if (m->peer_private.family != PTCP_AF_NONE) {
		const char *why = NULL;

		if (!same_addr(&m->peer_public, &m->self_public))
			why = "we do not share a public address";
		else if (!ptcp_ip_is_private(&m->peer_private) || m->peer_private.port == 0)
			why = "it is not a private or link-local address";
		if (why) {
			nlog_info(n, "not using the private endpoint %s the peer declared: %s",
				  ptcp_endpoint_format(&m->peer_private, a, sizeof(a)), why);
		} else {
			p->remote = m->peer_private;
			nlog_info(n, "the peer is behind our own NAT: using its private endpoint");
		}
	}
	p->start_at = m->start;
	p->phase = PEER_SCHEDULED;
	p->info.started = ptcp_clock_now();
	nlog_info(n, "matched with %s at %s (ISN %u, ours %u, %s); punching in %u ms",
		  ptcp_node_peer_name(p, name, sizeof(name)),
		  ptcp_endpoint_format(&p->remote, a, sizeof(a)), m->peer_isn, m->isn,
		  m->role == PTCP_RDV_ROLE_INITIATOR ? "initiator" : "responder", m->start_ms);
}

static void on_match(struct ptcp_rdv_client *c, void *user, const struct ptcp_rdv_match *m)
{
	struct ptcp_rdvflow *f = user;
	struct ptcp_node *n = f->n;
	struct ptcp_peer *p;
	char s[64];

	if (c != f->c)
		return;
	f->request_out = false;
	if (m->isn != f->isn) {
		lost(f, PTCP_ERR_RDV_PROTOCOL, "the rendezvous server sent a match that is not for our request");
		return;
	}
	if (f->listening) {
		p = ptcp_peer_alloc(n, n->user);
		if (!p) {
			nlog_error(n, "out of memory for a new peer");
		} else {
			p->listener_side = true;
			schedule(f, p, m);
			/* A match the server made just before it read our BUSY:
			 * the far peer is punching already, so it is served, one
			 * over the limit; beyond that it is refused. */
			if (n->closing || n->n_peers > n->s.max_peers + 1)
				p->err = PTCP_ERR_BUSY;
		}
	} else if (f->out_peer) {
		p = f->out_peer;
		if (memcmp(m->peer_key, p->expect_id, PTCP_ID_LEN) != 0) {
			nlog_error(n, "rendezvous server %s sent a match for another peer than asked",
				   server_str(f, s, sizeof(s)));
			lost(f, PTCP_ERR_RDV_PROTOCOL, "the rendezvous server sent a match for another peer");
			return;
		}
		f->out_peer = NULL;
		p->rdv_pending = false;
		schedule(f, p, m);
	} else {
		nlog_info(n, "a match for a request whose peer went away: dropped");
	}
	pump(f);
	ptcp_node_kick(n);
}

/* --- requests --------------------------------------------------------------------- */

static void pump(struct ptcp_rdvflow *f)
{
	struct ptcp_node *n = f->n;
	struct ptcp_peer *p;
	char s[64];
	int rv;

	if (f->st == F_IDLE && (f->listening || f->n_queue || f->out_peer)) {
		start(f);
		return;
	}
	if (f->st != F_READY)
		return;
	/* A listener serving as many peers as it will says BUSY (which
	 * replaces its LISTEN at the server: askers hear "busy" at once),
	 * and listens again when a peer has ended. */
	if (f->listening && n->n_peers >= n->s.max_peers) {
		if (!f->busy && ptcp_rdv_client_busy(f->c) == 0) {
			f->busy = true;
			f->request_out = false;
			nlog_info(n, "serving %u peers, the most we take: busy", n->n_peers);
		}
		return;
	}
	if (f->request_out)
		return;
	f->isn = ptcp_random_u32();
	if (f->listening) {
		rv = ptcp_rdv_client_listen(f->c, f->isn,
					    (const uint8_t(*)[PTCP_RDV_KEY_LEN])f->allow,
					    f->n_allow <= PTCP_RDV_ALLOW_MAX ? f->n_allow : 0);
		if (rv == 0) {
			if (f->busy)
				nlog_info(n, "a peer has ended: taking peers again");
			f->busy = false;
			nlog_info(n, "waiting for a peer to ask for %s", n->id_text);
		}
	} else if (f->n_queue) {
		p = f->queue[0];
		queue_pop(f, 0);
		f->out_peer = p;
		rv = ptcp_rdv_client_connect(f->c, p->expect_id, f->isn,
					     (uint32_t)(n->s.connect_wait / PTCP_NS_PER_MS));
		if (rv == 0)
			nlog_info(n, "asking %s for peer %s", server_str(f, s, sizeof(s)),
				  ptcp_node_peer_name(p, s + 32, sizeof(s) - 32));
	} else {
		return;
	}
	if (rv != 0) {
		lost(f, PTCP_ERR_RDV_UNREACHABLE, "cannot send the request to the rendezvous server");
		return;
	}
	f->request_out = true;
}

/* --- registration --------------------------------------------------------------- */

static void connect_client(struct ptcp_rdvflow *f);

static void on_error(struct ptcp_rdv_client *c, void *user, int code, bool fatal, const char *msg)
{
	struct ptcp_rdvflow *f = user;
	struct ptcp_node *n = f->n;
	char s[64], line[512];

	if (c == f->probe) {
		/* The probe only refines the diagnosis: go on without it. */
		nlog_info(n, "NAT probe failed: %s", msg);
		ptcp_rdv_client_free(f->probe);
		f->probe = NULL;
		ptcp_identity_wipe(&f->probe_id);
		f->st = F_READY;
		pump(f);
		return;
	}
	if (fatal && code < 0 && !ptcp_rdv_client_registered(c) && f->cur + 1 < f->n_servers) {
		nlog_info(n, "rendezvous server %s: %s; trying the next address",
			  server_str(f, s, sizeof(s)), msg);
		ptcp_rdv_client_free(f->c);
		f->c = NULL;
		f->cur++;
		connect_client(f);
		return;
	}
	describe(f, code, msg, line, sizeof(line));
	if (fatal) {
		lost(f, map_code(code), line);
		ptcp_node_kick(n);
		return;
	}
	/* Only the request failed. */
	f->request_out = false;
	if (f->listening) {
		lost(f, map_code(code), line);
	} else {
		struct ptcp_peer *p = f->out_peer;

		f->out_peer = NULL;
		nlog_info(n, "%s", line);
		if (p) {
			p->rdv_pending = false;
			ptcp_peer_fail_detail(p, map_code(code), ptcp_clock_now(), line);
		}
		pump(f);
	}
	ptcp_node_kick(n);
}

static void on_probe_registered(struct ptcp_rdvflow *f, const struct ptcp_endpoint *observed)
{
	struct ptcp_endpoint local;
	char msg[256];
	int rv = ptcp_rdv_client_local(f->probe, &local);

	ptcp_rdv_client_free(f->probe);
	f->probe = NULL;
	ptcp_identity_wipe(&f->probe_id);
	if (rv == 0 && observed->port != local.port) {
		/* Two connections, two rewritten ports: the NAT picks a port
		 * per connection, so the port the server saw for the first
		 * one is not the one our SYNs to the peer will leave from. */
		snprintf(msg, sizeof(msg),
			 "symmetric NAT: hole punching cannot work through it (our NAT gave our "
			 "connections from ports %u and %u the ports %u and %u)",
			 f->local.port, local.port, f->observed.port, observed->port);
		lost(f, PTCP_ERR_SYMMETRIC_NAT, msg);
		return;
	}
	nlog_info(f->n, "NAT probe: port %u kept; only our first port was taken", local.port);
	f->st = F_READY;
	pump(f);
}

static void on_registered(struct ptcp_rdv_client *c, void *user, const struct ptcp_endpoint *observed)
{
	struct ptcp_rdvflow *f = user;
	struct ptcp_node *n = f->n;
	struct ptcp_rdv_client_config cfg;
	char a[64], b[64], s[64];

	if (c == f->probe) {
		on_probe_registered(f, observed);
		ptcp_node_kick(n);
		return;
	}
	if (ptcp_rdv_client_local(c, &f->local) != 0) {
		lost(f, PTCP_ERR_SYSTEM, "cannot read the rendezvous socket's address");
		return;
	}
	f->observed = *observed;
	f->backoff = 0;
	{
		uint8_t key[PTCP_ID_LEN];
		char id[PTCP_ID_TEXT_MAX];

		if (ptcp_rdv_client_server_key(c, key) == 0 && ptcp_id_format(key, id, sizeof(id)) > 0)
			nlog_info(n, "the rendezvous server's key is %s (%s)", id,
				  f->has_server_key ? "pinned" : "not pinned: --rendezvous-key pins it");
	}
	nlog_info(n, "registered with %s from %s as %s, seen as %s", server_str(f, s, sizeof(s)),
		  ptcp_endpoint_format(&f->local, a, sizeof(a)), n->id_text,
		  ptcp_endpoint_format(observed, b, sizeof(b)));
	if (f->listening)
		nlog_notice(n, "registered with %s as %s", server_str(f, s, sizeof(s)), n->id_text);
	if (n->cb.node_event)
		n->cb.node_event(n, n->user, PTCP_NODE_REGISTERED, 0, 0, "");
	if (observed->port == f->local.port) {
		f->rewritten = false;
		f->st = F_READY;
		pump(f);
		return;
	}
	/* Our NAT changed the port. Ask once more from another port, under
	 * a throwaway key (registering ours twice would replace the first
	 * registration), to tell a one-off collision from a NAT that
	 * changes every port. */
	f->rewritten = true;
	nlog_info(n, "our NAT rewrote port %u to %u: probing from a second port", f->local.port,
		  observed->port);
	ptcp_rdv_client_config_default(&cfg);
	cfg.base = n->base;
	cfg.id = &f->probe_id;
	cfg.server = f->servers[f->cur];
	cfg.local = f->local;
	cfg.local.port = 0;
	cfg.has_server_key = f->has_server_key;
	memcpy(cfg.server_key, f->server_key, PTCP_ID_LEN);
	cfg.register_timeout = PROBE_TIMEOUT;
	cfg.on_registered = on_registered;
	cfg.on_error = on_error;
	cfg.user = f;
	f->st = F_PROBING;
	if (ptcp_identity_generate(&f->probe_id) != 0 || ptcp_rdv_client_new(&f->probe, &cfg) != 0) {
		f->probe = NULL;
		f->st = F_READY;
		pump(f);
	}
}

static void connect_client(struct ptcp_rdvflow *f)
{
	struct ptcp_node *n = f->n;
	struct ptcp_rdv_client_config cfg;
	char s[64], msg[512];
	int rv;

	ptcp_rdv_client_config_default(&cfg);
	cfg.base = n->base;
	cfg.id = &n->id;
	cfg.server = f->servers[f->cur];
	/* Our port, and our address if the node has one. */
	memset(&cfg.local, 0, sizeof(cfg.local));
	if (n->s.local_addr && ptcp_rawsock_index(cfg.server.family) >= 0)
		cfg.local = n->rs.fam[ptcp_rawsock_index(cfg.server.family)].local;
	cfg.local.port = n->rs.port;
	cfg.has_server_key = f->has_server_key;
	memcpy(cfg.server_key, f->server_key, PTCP_ID_LEN);
	cfg.register_timeout = REGISTER_TIMEOUT;
	cfg.on_registered = on_registered;
	cfg.on_match = on_match;
	cfg.on_error = on_error;
	cfg.user = f;
	f->st = F_REGISTERING;
	nlog_info(n, "connecting to the rendezvous server %s", server_str(f, s, sizeof(s)));
	rv = ptcp_rdv_client_new(&f->c, &cfg);
	if (rv == 0)
		return;
	f->c = NULL;
	if (f->cur + 1 < f->n_servers) {
		f->cur++;
		connect_client(f);
		return;
	}
	describe(f, rv, strerror(-rv), msg, sizeof(msg));
	lost(f, PTCP_ERR_RDV_UNREACHABLE, msg);
}

static void on_resolved(void *user, const struct ptcp_endpoint *eps, unsigned cnt, const char *msg)
{
	struct ptcp_rdvflow *f = user;
	unsigned i;

	/* eps and msg live in the resolver: use them before freeing it. */
	f->n_servers = 0;
	for (i = 0; i < cnt && f->n_servers < PTCP_RESOLVE_MAX; i++)
		if (eps[i].family == PTCP_AF_INET)   /* the engine is IPv4 only so far */
			f->servers[f->n_servers++] = eps[i];
	if (f->n_servers == 0) {
		char m[300];

		if (cnt == 0)
			snprintf(m, sizeof(m), "rendezvous server: %s", msg);
		else
			snprintf(m, sizeof(m), "rendezvous server '%s' has only IPv6 addresses: IPv6 is "
				 "not supported yet", f->n->s.rendezvous);
		ptcp_resolve_free(f->res);
		f->res = NULL;
		lost(f, PTCP_ERR_RDV_RESOLVE, m);
		ptcp_node_kick(f->n);
		return;
	}
	ptcp_resolve_free(f->res);
	f->res = NULL;
	f->cur = 0;
	connect_client(f);
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
		f->n_servers = 1;
		f->cur = 0;
		connect_client(f);
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
	if (ptcp_rdv_parse_hostport(n->s.rendezvous, PTCP_RDV_PORT, &f->servers[0], err,
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
	if (!f->ev_retry) {
		free(f);
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
	drop_clients(f);
	if (f->out_peer)
		f->out_peer->rdv_pending = false;
	while (f->n_queue) {
		f->queue[0]->rdv_pending = false;
		queue_pop(f, 0);
	}
	if (f->ev_retry)
		event_free(f->ev_retry);
	free(f->queue);
	free(f->allow);
	free(f);
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
	struct ptcp_peer **q;

	if (f->listening)
		return PTCP_ERR_STATE;
	if (f->st == F_FAILED)
		return f->last_err;
	if (f->n_queue == f->cap_queue) {
		unsigned cap = f->cap_queue ? f->cap_queue * 2 : 4;

		q = realloc(f->queue, cap * sizeof(*q));
		if (!q)
			return PTCP_ERR_NOMEM;
		f->queue = q;
		f->cap_queue = cap;
	}
	f->queue[f->n_queue++] = p;
	p->rdv_pending = true;
	pump(f);
	return 0;
}

void ptcp_rdvflow_cancel(struct ptcp_rdvflow *f, struct ptcp_peer *p)
{
	unsigned i;

	/* The request that is out cannot be taken back: its match, if it
	 * comes, finds no peer and is dropped. */
	if (f->out_peer == p)
		f->out_peer = NULL;
	for (i = 0; i < f->n_queue; i++) {
		if (f->queue[i] == p) {
			queue_pop(f, i);
			break;
		}
	}
	p->rdv_pending = false;
}

void ptcp_rdvflow_step(struct ptcp_rdvflow *f)
{
	if (f && f->listening)
		pump(f);
}

bool ptcp_rdvflow_owns(const struct ptcp_rdvflow *f, const struct ptcp_endpoint *src,
		       const struct ptcp_endpoint *dst)
{
	if (!f || !f->c || f->n_servers == 0)
		return false;
	return ptcp_endpoint_equal(src, &f->servers[f->cur]) && dst->port == f->n->rs.port;
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
