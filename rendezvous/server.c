/* rendezvousd's server: see server.h and docs/protocol.md. */
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <sodium.h>

#include "addrtab.h"
#include "clock.h"
#include "cluster.h"
#include "identity.h"
#include "peerid.h"
#include "peertab.h"
#include "rdvclient.h"
#include "rdvlog.h"
#include "rdvmsg.h"
#include "relay.h"
#include "replay.h"
#include "server.h"
#include "tcplisten.h"

#define LINGER_NS (1 * PTCP_NS_PER_S)   /* reading and dropping after our FIN */
#define LINGER_MAX 1024                 /* rejected connections lingering at once */
#define OUT_MAX (16 * 1024)             /* bytes queued to a client that does not read */
#define IN_HIGH (4 * PTCP_RDV_MSG_MAX)  /* stop reading beyond this much input */
#define RTT_MAX_MS 10000               /* config.c's start-delay bound counts on it */
#define SWEEP_NS (10 * PTCP_NS_PER_S)
#define WARN_EVERY_NS (10 * PTCP_NS_PER_S)

enum cstate {
	C_NEW,          /* waiting for HELLO */
	C_CHALLENGED,   /* CHALLENGE sent, waiting for AUTH */
	C_REGISTERED,
	C_CLOSING,      /* lingering close; freed at close_deadline or EOF */
};

enum creq {
	R_NONE,
	R_LISTEN,       /* waiting to be asked */
	R_CONNECT,      /* waiting for target to listen or ask for us */
};

struct client {
	struct ptcp_rdvd_peer_node node;   /* first: the key; in the peer
	                                      table of its IP version while
	                                      registered */
	struct ptcp_rdvd_server *srv;
	struct bufferevent *bev;
	struct event *timer;
	struct ptcp_rdvd_addr *addr;       /* NULL for rejected (and evicted)
	                                      connections: not counted */
	struct ptcp_rdvd_addr *net[PTCP_RDVD_NET_LEVELS];  /* the networks
	                                      around addr (NULL: none) */
	struct client *prev, *next;        /* srv->clients */
	struct client *iprev, *inext;      /* srv->idle_*, while idle */
	bool idle;                         /* never made a request nor was
	                                      asked for: evicted first */
	struct ptcp_endpoint observed;     /* source address and port as seen */
	struct ptcp_endpoint priv;         /* as reported in HELLO */
	uint8_t client_nonce[PTCP_RDV_NONCE_LEN];  /* HELLO's */
	uint8_t nonce[PTCP_RDV_NONCE_LEN];         /* our CHALLENGE's */
	uint8_t state;                     /* enum cstate */
	uint8_t req;                       /* enum creq */
	bool registered;                   /* in peers_of(observed.family) */
	bool unlisted;                     /* registered, but the key registered
	                                      again over this IP version (here
	                                      or elsewhere) while this one did
	                                      not listen: out of the directory
	                                      (in srv->unlisted), it may still
	                                      ask, not listen (docs/protocol.md,
	                                      "Registration: proving the
	                                      keys") */
	bool newer_elsewhere;              /* unlisted: at another instance */
	struct ptcp_endpoint newer;        /* unlisted: the newer registration's
	                                      observed endpoint */
	bool busy;                         /* said BUSY, and no LISTEN since:
	                                      askers are told BUSY at once */
	bool fin_sent;                     /* closing: shutdown(SHUT_WR) done */
	bool early_drop;                   /* we challenged a HELLO0: the one
	                                      request that may ride behind it
	                                      is dropped (the client sends it
	                                      again once registered) */
	uint8_t n_allow;
	uint8_t (*allow)[PTCP_RDV_KEY_LEN];  /* LISTEN allow list, or NULL */
	uint32_t isn;                      /* of the pending request */
	struct ptcp_rdv_pattern pattern;   /* ... its NAT's port pattern */
	uint32_t rtt_ms;                   /* CHALLENGE to AUTH; 0-RTT: the
	                                      kernel's of the TCP handshake */
	ptcp_ts accepted, last_msg, partial_since, challenge_sent;
	ptcp_ts req_deadline;              /* R_CONNECT */
	ptcp_ts close_deadline;            /* C_CLOSING */
	struct client *target;             /* R_CONNECT: the peer asked for */
	struct client *wprev, *wnext;      /* in target's waiter list */
	struct client *waiters, *waiters_tail;  /* clients waiting for us,
	                                           oldest first */
	/* --redis (cluster.h): a request that crosses instances */
	bool ghost;                        /* an asker at another instance: no
	                                      connection, here while it waits */
	bool remote;                       /* R_CONNECT for a peer at another
	                                      instance (target NULL) */
	bool routed;                       /* remote: rinst known */
	uint8_t rkey[PTCP_RDV_KEY_LEN];    /* remote: the key asked for */
	uint8_t rinst[PTCP_RDVD_INST_LEN]; /* remote: the peer's instance;
	                                      ghost: the asker's */
	uint64_t rid;                      /* remote: our request id; ghost:
	                                      the asker's instance's */
};

struct ptcp_rdvd_server {
	struct event_base *base;
	struct ptcp_rdvd_config cfg;
	struct ptcp_identity id;           /* the server key: signs CHALLENGEs */
	struct evconnlistener *listeners[2 * PTCP_RDVD_LISTEN_MAX];  /* and probe ports */
	unsigned n_listeners;
	struct event *sweep_timer;
	struct event *resume_timer;        /* re-enables listeners after EMFILE */
	struct ptcp_rdvd_peertab peers[2]; /* registered, [IPv6?]: a key has a
	                                      registration per IP version */
	struct ptcp_rdvd_peertab unlisted; /* the unlisted, of both versions:
	                                      several may share a key */
	struct ptcp_rdvd_addrtab addrs;
	struct client *clients;
	struct client *idle_head, *idle_tail;  /* the idle, oldest first */
	unsigned n_clients;                /* counted against max_clients */
	unsigned net_limit[2][PTCP_RDVD_NET_LEVELS];  /* [IPv6?][level];
	                                                 0: no limit */
	unsigned n_lingering;              /* rejected, closing */
	bool stopping;
	bool replaced_elsewhere;           /* in on_replaced(): leave the directory be */
	ptcp_ts last_full_warn, last_accept_warn, last_evict_warn;
	size_t heap_base;                  /* malloc'd bytes before any client */
	/* counters since the start */
	unsigned long long accepted, rejected_full, rejected_addr, rejected_net, rejected_rate, evicted;
	unsigned long long registrations, matches, errors_sent, bad_signatures, timeouts;
	unsigned long long busy_answers;   /* askers told that their peer is busy */
	/* 0-RTT (docs/protocol.md, "Registration in one flight"); NULL
	 * replay: every HELLO0 is challenged */
	struct ptcp_rdvd_replay *replay;
	unsigned long long zrtt_taken, zrtt_challenged, zrtt_replayed;
	/* --redis (cluster.h); NULL cluster: one instance alone */
	struct ptcp_rdvd_cluster *cluster;
	struct client *ghosts;             /* askers at other instances, waiting */
	struct client *reap;               /* ghosts answered: freed by reap_ev */
	struct event *reap_ev, *refresh_timer;
	unsigned n_ghosts;
	uint64_t next_rid;
	unsigned long long remote_requests;  /* sent to other instances */
	unsigned long long remote_asked;     /* received from them */
	unsigned long long remote_matches;   /* made there for our askers */
	/* --relay (relay.h); NULL: no relay offered */
	struct ptcp_rdvd_relay *relay;
};

/* --- small helpers ------------------------------------------------------------ */

static const char *ep_str(const struct ptcp_endpoint *ep, char buf[64])
{
	return ptcp_endpoint_format(ep, buf, 64);
}

static const char *key_str(const uint8_t *key, char buf[PTCP_PEERID_TEXT_MAX])
{
	ptcp_peerid_encode(buf, PTCP_PEERID_TEXT_MAX, key, NULL);
	return buf;
}

/* The registrations of family: a peer with both registers over both
 * (docs/protocol.md, "Both IP versions"), and one of them replaces only
 * an older one of its own version. */
static struct ptcp_rdvd_peertab *peers_of(struct ptcp_rdvd_server *srv, uint8_t family)
{
	return &srv->peers[family == PTCP_AF_INET6];
}

/* A key's registration, ours (family's) first: a peer registered over
 * the other IP version only is found too, so that the asker hears FAMILY
 * rather than UNKNOWN_PEER. */
static struct ptcp_rdvd_peer_node *find_peer(struct ptcp_rdvd_server *srv, uint8_t family,
					     const uint8_t *key)
{
	struct ptcp_rdvd_peer_node *n = ptcp_rdvd_peertab_find(peers_of(srv, family), key);

	if (!n)
		n = ptcp_rdvd_peertab_find(peers_of(srv, family == PTCP_AF_INET6 ?
						    PTCP_AF_INET : PTCP_AF_INET6), key);
	return n;
}

/* The registration that stands for c's key over c's IP version: c, or
 * (c unlisted) the one listed now, or NULL. */
static struct client *listed_of(struct client *c)
{
	if (!c->unlisted)
		return c;
	return (struct client *)ptcp_rdvd_peertab_find(peers_of(c->srv, c->observed.family),
						       c->node.key);
}

static void rearm(struct client *c, ptcp_ts now)
{
	const struct ptcp_rdvd_config *cfg = &c->srv->cfg;
	ptcp_ts at = PTCP_TS_NEVER;
	struct timeval tv;
	uint64_t d;

	if (c->state == C_CLOSING) {
		at = c->close_deadline;
	} else if (c->ghost) {
		at = c->req_deadline;
	} else {
		if (c->state != C_REGISTERED)
			at = ptcp_ts_add(c->accepted, (uint64_t)cfg->handshake_timeout_ms * PTCP_NS_PER_MS);
		if (c->partial_since)
			at = ptcp_ts_min(at, ptcp_ts_add(c->partial_since,
							 (uint64_t)cfg->message_timeout_ms * PTCP_NS_PER_MS));
		if (c->state == C_REGISTERED)
			at = ptcp_ts_min(at, ptcp_ts_add(c->last_msg,
							 (uint64_t)cfg->idle_timeout_ms * PTCP_NS_PER_MS));
		if (c->req == R_CONNECT)
			at = ptcp_ts_min(at, c->req_deadline);
	}
	d = ptcp_ts_elapsed(at, now);
	tv.tv_sec = (time_t)(d / PTCP_NS_PER_S);
	tv.tv_usec = (suseconds_t)(d % PTCP_NS_PER_S / PTCP_NS_PER_US);
	evtimer_add(c->timer, &tv);
}

/* --- idle connections and the counts ----------------------------------------- */

/* c is no longer idle: it asked for something, was asked for, or closes. */
static void not_idle(struct client *c)
{
	struct ptcp_rdvd_server *srv = c->srv;

	if (!c->idle)
		return;
	if (c->iprev)
		c->iprev->inext = c->inext;
	else
		srv->idle_head = c->inext;
	if (c->inext)
		c->inext->iprev = c->iprev;
	else
		srv->idle_tail = c->iprev;
	c->iprev = c->inext = NULL;
	c->idle = false;
}

/* Adds d to the connection counts of c's address and networks. */
static void count(struct client *c, int d)
{
	c->addr->conns += (unsigned)d;
	for (unsigned k = 0; k < PTCP_RDVD_NET_LEVELS; k++)
		if (c->net[k])
			c->net[k]->conns += (unsigned)d;
}

/* c stops counting against the limits: from now on it is a rejected
 * connection, lingering. */
static void uncount(struct client *c)
{
	if (!c->addr)
		return;
	count(c, -1);
	c->addr = NULL;
	memset(c->net, 0, sizeof(c->net));
	c->srv->n_clients--;
	c->srv->n_lingering++;
}

/* --- closing ------------------------------------------------------------------ */

static void client_free(struct client *c);
static void request_fail(struct client *w, int code, const char *text);
static void remote_cancel(struct client *c);
static void ghost_answer(struct client *g, const struct ptcp_rdv_msg *m);
static void ghost_timer(struct client *g, ptcp_ts now);
static void remote_connect(struct client *c, const struct ptcp_rdv_msg *in, ptcp_ts now);

/* Removes c from the request structures: its own pending request. */
static void cancel_request(struct client *c)
{
	if (c->remote)
		remote_cancel(c);
	if (c->req == R_CONNECT && c->target) {
		struct client *t = c->target;

		if (c->wprev)
			c->wprev->wnext = c->wnext;
		else
			t->waiters = c->wnext;
		if (c->wnext)
			c->wnext->wprev = c->wprev;
		else
			t->waiters_tail = c->wprev;
		c->wprev = c->wnext = NULL;
		c->target = NULL;
	}
	free(c->allow);
	c->allow = NULL;
	c->n_allow = 0;
	c->req = R_NONE;
}

/* c stops being a peer: out of the table, its request cancelled, and
 * everyone waiting for it told. */
static void unregister(struct client *c)
{
	cancel_request(c);
	c->busy = false;
	while (c->waiters)
		request_fail(c->waiters, PTCP_RDV_E_NOT_WAITING, "the peer went away");
	if (c->unlisted) {
		/* (the directory and Redis name the newer registration) */
		ptcp_rdvd_peertab_remove(&c->srv->unlisted, &c->node);
		c->unlisted = false;
	}
	if (c->registered) {
		struct ptcp_rdvd_peer_node *other;

		ptcp_rdvd_peertab_remove(peers_of(c->srv, c->observed.family), &c->node);
		c->registered = false;
		/* (still registered here over the other IP version: the
		 * directory keeps the key, at that registration) */
		other = ptcp_rdvd_peertab_find(peers_of(c->srv, c->observed.family == PTCP_AF_INET6 ?
							PTCP_AF_INET : PTCP_AF_INET6), c->node.key);
		if (c->srv->replaced_elsewhere)
			;   /* the directory has the key at another instance now */
		else if (c->srv->cluster && other)
			ptcp_rdvd_cluster_register(c->srv->cluster, c->node.key,
						   &((struct client *)other)->observed,
						   &((struct client *)other)->priv);
		else if (c->srv->cluster)
			ptcp_rdvd_cluster_unregister(c->srv->cluster, c->node.key);
	}
}

static void closing_write(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;

	/* Everything we had to say is out: send our FIN. */
	if (!c->fin_sent && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		shutdown(bufferevent_getfd(bev), SHUT_WR);
		c->fin_sent = true;
	}
}

static void closing_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	/* Dropped: reading keeps the kernel from answering with a reset
	 * that could destroy our ERROR before the client read it. */
	evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
}

static void closing_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	client_free(arg);
}

/* Starts the lingering close of c, after linger_ns (0: free at the next
 * timer run, for clients that do not even read). */
static void go_closing(struct client *c, uint64_t linger_ns)
{
	ptcp_ts now = ptcp_clock_now();

	if (c->state == C_CLOSING) {
		if (linger_ns == 0)
			c->close_deadline = now;
		rearm(c, now);
		return;
	}
	unregister(c);
	not_idle(c);
	c->state = C_CLOSING;
	c->close_deadline = ptcp_ts_add(now, linger_ns);
	if (linger_ns > 0) {
		bufferevent_setcb(c->bev, closing_read, closing_write, closing_event, c);
		bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
		closing_write(c->bev, c);
	} else {
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	}
	rearm(c, now);
}

/* Queues m to c. A client that lets OUT_MAX bytes pile up is not reading:
 * it is dropped (at its next timer run, never inside another client's
 * callback). */
static void client_send(struct client *c, const struct ptcp_rdv_msg *m)
{
	uint8_t buf[PTCP_RDV_MSG_MAX];
	struct evbuffer *out;
	int n;

	if (c->ghost) {
		ghost_answer(c, m);
		return;
	}
	if (c->state == C_CLOSING && c->fin_sent)
		return;
	out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) > OUT_MAX) {
		go_closing(c, 0);
		return;
	}
	n = ptcp_rdv_emit(m, buf, sizeof(buf));
	if (n < 0) {
		/* only our own bug could get here */
		rlog_error("cannot encode %s: %s", ptcp_rdv_type_name(m->type), ptcp_rdv_strerror(n));
		return;
	}
	if (bufferevent_write(c->bev, buf, (size_t)n) != 0)
		go_closing(c, 0);
}

static void send_error(struct client *c, int code, bool fatal, const char *text)
{
	struct ptcp_rdv_msg m;

	ptcp_rdv_error_msg(&m, code, fatal, text);
	c->srv->errors_sent++;
	client_send(c, &m);
}

/* A protocol violation or a refusal: a fatal ERROR, then the close. */
static void client_fail(struct client *c, int code, const char *text)
{
	char ep[64];

	if (c->state == C_CLOSING)
		return;
	rlog_debug("%s: closing: %s%s%s", ep_str(&c->observed, ep), ptcp_rdv_strerror(code),
		   text ? ": " : "", text ? text : "");
	send_error(c, code, true, text);
	go_closing(c, LINGER_NS);
}

/* w's request fails, w stays connected. */
static void request_fail(struct client *w, int code, const char *text)
{
	cancel_request(w);
	send_error(w, code, false, text);
}

static void client_free(struct client *c)
{
	struct ptcp_rdvd_server *srv = c->srv;

	unregister(c);
	not_idle(c);
	if (c->addr) {
		count(c, -1);
		srv->n_clients--;
	} else {
		srv->n_lingering--;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	bufferevent_free(c->bev);
	event_free(c->timer);
	free(c);
}

/* --- the protocol ----------------------------------------------------------------- */

/* The HELLO c sent and the CHALLENGE we answered it with (without its
 * signature): the two halves of the registration transcript. */
static void registration(const struct client *c, struct ptcp_rdv_msg *hello,
                         struct ptcp_rdv_msg *challenge)
{
	memset(hello, 0, sizeof(*hello));
	hello->type = PTCP_RDV_HELLO;
	memcpy(hello->hello.key, c->node.key, PTCP_RDV_KEY_LEN);
	memcpy(hello->hello.nonce, c->client_nonce, PTCP_RDV_NONCE_LEN);
	hello->hello.private_ep = c->priv;
	memset(challenge, 0, sizeof(*challenge));
	challenge->type = PTCP_RDV_CHALLENGE;
	memcpy(challenge->challenge.server_key, c->srv->id.pk, PTCP_RDV_KEY_LEN);
	memcpy(challenge->challenge.nonce, c->nonce, PTCP_RDV_NONCE_LEN);
	challenge->challenge.observed = c->observed;
}

/* Answers the HELLO (or a HELLO0 we do not take) that c sent. */
static void challenge(struct client *c, const struct ptcp_rdv_msg *in, ptcp_ts now)
{
	uint8_t t[PTCP_RDV_TRANSCRIPT_LEN];
	struct ptcp_rdv_msg hello, m;

	memcpy(c->node.key, in->hello.key, PTCP_RDV_KEY_LEN);
	memcpy(c->client_nonce, in->hello.nonce, PTCP_RDV_NONCE_LEN);
	c->priv = in->hello.private_ep;
	/* A fresh challenge for every connection: a signature is good for
	 * this one only. */
	randombytes_buf(c->nonce, sizeof(c->nonce));
	registration(c, &hello, &m);
	/* Our signature shows the client that the holder of our key answers
	 * its own fresh nonce: what a client that pinned the key checks. */
	if (ptcp_rdv_transcript(t, PTCP_RDV_SIGNER_SERVER, &hello, &m) < 0 ||
	    ptcp_identity_sign(&c->srv->id, t, sizeof(t), m.challenge.sig) != 0) {
		client_fail(c, PTCP_RDV_E_INTERNAL, "cannot sign the challenge");
		return;
	}
	client_send(c, &m);
	c->state = C_CHALLENGED;
	c->challenge_sent = now;
}

static void on_hello(struct client *c, const struct ptcp_rdv_msg *in, ptcp_ts now)
{
	if (c->state != C_NEW) {
		client_fail(c, PTCP_RDV_E_UNEXPECTED, "HELLO was already sent");
		return;
	}
	challenge(c, in, now);
}

/* The text of the REPLACED that ends a registration of a key that
 * registered again from newer (elsewhere: at another instance). */
static const char *replaced_text(char text[96], const struct ptcp_endpoint *newer, bool elsewhere)
{
	char ep[64];

	snprintf(text, 96, "registered again from %s%s", ep_str(newer, ep),
		 elsewhere ? " (at another instance)" : "");
	return text;
}

/* Whether old, a registration of a key that registers again, ends with
 * REPLACED (else it is unlisted: unlist()). A listener does, or one that
 * said BUSY (a listener at its limit): the newer registration takes its
 * peers. So does one made from the same first flight as the newer one
 * (nonce: its client nonce, NULL when unknown): a copy of a HELLO0 that
 * raced ahead of the genuine one, which was challenged and proved itself
 * (docs/security.md). Any other is a client of the key that asks, or
 * will: several `p2ptcp connect` of one identity at once each register,
 * and none may lose its request to the next one. */
static bool ends_replaced(const struct client *old, const uint8_t *nonce)
{
	return old->req == R_LISTEN || old->busy ||
	       (nonce && memcmp(old->client_nonce, nonce, PTCP_RDV_NONCE_LEN) == 0);
}

/* c leaves the directory for a newer registration of its key, from
 * newer (elsewhere: at another instance), and stays connected: its own
 * request goes on, it may make more, and a LISTEN or BUSY of its ends it
 * with REPLACED (refuse_unlisted()). Those waiting for it have moved on
 * already. */
static void unlist(struct client *c, const struct ptcp_endpoint *newer, bool elsewhere)
{
	char id[PTCP_PEERID_TEXT_MAX], ep[64], ep2[64];

	ptcp_rdvd_peertab_remove(peers_of(c->srv, c->observed.family), &c->node);
	c->registered = false;
	ptcp_rdvd_peertab_insert(&c->srv->unlisted, &c->node);
	c->unlisted = true;
	c->newer = *newer;
	c->newer_elsewhere = elsewhere;
	rlog_info("%s at %s unlisted: registered again from %s%s; it may still ask",
		  key_str(c->node.key, id), ep_str(&c->observed, ep), ep_str(newer, ep2),
		  elsewhere ? " (at another instance)" : "");
}

/* c, just authenticated, takes the place of old with the same key. */
static void replace(struct client *old, struct client *c)
{
	char text[96];

	/* Those waiting for the key now wait for the new connection. */
	for (struct client *w = old->waiters; w; w = w->wnext)
		w->target = c;
	c->waiters = old->waiters;
	c->waiters_tail = old->waiters_tail;
	old->waiters = old->waiters_tail = NULL;
	if (c->waiters)
		not_idle(c);   /* asked for already */
	if (ends_replaced(old, c->client_nonce))
		client_fail(old, PTCP_RDV_E_REPLACED, replaced_text(text, &c->observed, false));
	else
		unlist(old, &c->observed, false);
}

/* An unlisted registration may ask, not listen: its LISTEN or BUSY (what
 * names the message) ends it with the REPLACED that a listener would
 * have had at once. True when c was refused so. */
static bool refuse_unlisted(struct client *c, const char *what)
{
	char text[96], ep[64];

	if (!c->unlisted)
		return false;
	rlog_debug("%s: %s after the key registered again: replaced", ep_str(&c->observed, ep), what);
	client_fail(c, PTCP_RDV_E_REPLACED, replaced_text(text, &c->newer, c->newer_elsewhere));
	return true;
}

static void enter_registered(struct client *c);

static void on_auth(struct client *c, const struct ptcp_rdv_msg *in, ptcp_ts now)
{
	struct ptcp_rdvd_server *srv = c->srv;
	uint8_t t[PTCP_RDV_TRANSCRIPT_LEN];
	struct ptcp_rdv_msg m, hello;
	uint64_t rtt;

	if (c->state != C_CHALLENGED) {
		client_fail(c, PTCP_RDV_E_UNEXPECTED,
			    c->state == C_NEW ? "AUTH before HELLO" : "already registered");
		return;
	}
	/* The client signed our key: a signature it made for another server
	 * (relayed here by a man in the middle) does not verify. */
	registration(c, &hello, &m);
	if (ptcp_rdv_transcript(t, PTCP_RDV_SIGNER_CLIENT, &hello, &m) < 0 ||
	    !ptcp_identity_verify(c->node.key, t, sizeof(t), in->auth.sig)) {
		srv->bad_signatures++;
		client_fail(c, PTCP_RDV_E_BAD_SIGNATURE,
			    "the signature does not match the key of the peer id and this server's key");
		return;
	}
	rtt = ptcp_ts_elapsed(now, c->challenge_sent) / PTCP_NS_PER_MS;
	c->rtt_ms = rtt > RTT_MAX_MS ? RTT_MAX_MS : (uint32_t)rtt;
	c->early_drop = false;
	enter_registered(c);
}

/* c proved its key (AUTH, or a HELLO0 taken): it is registered. */
static void enter_registered(struct client *c)
{
	struct ptcp_rdvd_server *srv = c->srv;
	struct ptcp_rdvd_peer_node *old;
	struct ptcp_rdv_msg m;
	char id[PTCP_PEERID_TEXT_MAX], ep[64], ep2[64];

	old = ptcp_rdvd_peertab_find(peers_of(srv, c->observed.family), c->node.key);
	if (old)
		replace((struct client *)old, c);
	ptcp_rdvd_peertab_insert(peers_of(srv, c->observed.family), &c->node);
	c->registered = true;
	if (srv->cluster)
		ptcp_rdvd_cluster_register(srv->cluster, c->node.key, &c->observed, &c->priv);
	c->state = C_REGISTERED;
	srv->registrations++;
	memset(&m, 0, sizeof(m));
	m.type = PTCP_RDV_REGISTERED;
	m.registered.idle_ms = srv->cfg.idle_timeout_ms;
	m.registered.max_wait_ms = srv->cfg.max_wait_ms;
	m.registered.flags = srv->relay ? PTCP_RDV_REG_RELAY : 0;
	/* Port prediction needs the probe port's second look: with it, and
	 * only to clients of this version (as the probe port itself). */
	if (srv->cfg.probe_port)
		m.registered.flags |= PTCP_RDV_REG_PREDICT;
	m.registered.probe_port = (uint16_t)srv->cfg.probe_port;
	client_send(c, &m);
	rlog_info("registered %s at %s (private %s)%s%s", key_str(c->node.key, id),
		  ep_str(&c->observed, ep), ep_str(&c->priv, ep2), old ? ", replacing" : "",
		  c->state == C_REGISTERED && c->challenge_sent == 0 ? ", 0-RTT" : "");
}

/* The local endpoint of c's connection: where it reached us. */
static int local_of(const struct client *c, struct ptcp_endpoint *ep)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (!c->bev || getsockname(bufferevent_getfd(c->bev), (struct sockaddr *)&ss, &len) != 0)
		return -1;
	return ptcp_rdv_from_sockaddr(ep, (struct sockaddr *)&ss, len);
}

/* Why a HELLO0 is not taken as it is, or NULL: it names our key (or
 * none: an open one, bound to our address instead), we keep
 * a replay cache (not with --redis: the other instances could take the
 * same nonce), its clock is within the window of ours, and our view of
 * its port is the port it claims (its NAT kept the port: the client
 * needs no probe before its request). */
static const char *zrtt_refusal(const struct client *c, const struct ptcp_rdv_msg *in)
{
	const struct ptcp_rdvd_server *srv = c->srv;
	uint64_t ours = ptcp_clock_wall() / PTCP_NS_PER_MS, theirs = in->hello0.time_ms;
	uint64_t skew = ours > theirs ? ours - theirs : theirs - ours;

	if (!ptcp_rdv_hello0_open(in) && memcmp(in->hello0.server_key, srv->id.pk, PTCP_RDV_KEY_LEN) != 0)
		return "it names another server key";
	if (!srv->replay)
		return srv->cfg.has_redis ? "not with --redis" : "0-RTT is off (--0rtt-window 0)";
	if (skew > srv->cfg.zrtt_window_ms)
		return "its clock is off by more than the window";
	if (in->hello0.private_ep.family != c->observed.family ||
	    in->hello0.private_ep.port != c->observed.port)
		return "its NAT changed the port";
	return NULL;
}

/* The kernel's round trip of c's TCP handshake, in ms: a HELLO0 taken
 * leaves no round trip of ours to measure. 0 when unknown. */
static uint32_t handshake_rtt_ms(const struct client *c)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
		return 0;
	return ti.tcpi_rtt / 1000 > RTT_MAX_MS ? RTT_MAX_MS : ti.tcpi_rtt / 1000;
}

static void on_hello0(struct client *c, const struct ptcp_rdv_msg *in, ptcp_ts now)
{
	struct ptcp_rdvd_server *srv = c->srv;
	uint8_t t[PTCP_RDV_TRANSCRIPT0_MAX];
	struct ptcp_rdv_msg hello, m;
	struct ptcp_endpoint ours = { 0 };
	const char *why;
	bool open;
	char ep[64];
	int n;

	if (c->state != C_NEW) {
		client_fail(c, PTCP_RDV_E_UNEXPECTED, "HELLO0 after HELLO");
		return;
	}
	why = zrtt_refusal(c, in);
	open = ptcp_rdv_hello0_open(in);
	if (!why && open && local_of(c, &ours) != 0)
		why = "an open one, and we cannot tell our own address";
	/* The client signed our key (or, open, our address as it reached
	 * us), its nonce and its clock: one made for another server does not
	 * verify, and each is taken once. An open one that does not verify
	 * may be honest: a NAT or proxy in front of us shows the client
	 * another address. */
	if (!why) {
		n = ptcp_rdv_transcript0(t, PTCP_RDV_SIGNER_CLIENT, in, &ours, NULL);
		if (n < 0 || !ptcp_identity_verify(in->hello0.key, t, (size_t)n, in->hello0.sig)) {
			if (!open) {
				srv->bad_signatures++;
				client_fail(c, PTCP_RDV_E_BAD_SIGNATURE,
					    "the 0-RTT signature does not match the key of the peer id "
					    "and this server's key");
				return;
			}
			why = "an open one whose signature does not verify for the address it "
			      "reached us at (a NAT or proxy in front of us, or a forgery)";
		} else {
			switch (ptcp_rdvd_replay_take(srv->replay, in->hello0.nonce, now)) {
			case PTCP_RDVD_REPLAY_FRESH:
				break;
			case PTCP_RDVD_REPLAY_SEEN:
				srv->zrtt_replayed++;
				why = "its nonce was taken before (a replay)";
				rlog_info("%s: a 0-RTT HELLO replayed: challenged",
					  ep_str(&c->observed, ep));
				break;
			case PTCP_RDVD_REPLAY_FULL:
				why = "the 0-RTT cache is full";
				break;
			}
		}
	}
	if (why) {
		/* Go on the 1-RTT way; the request that may follow was sent
		 * before the client knew, and it sends it again. */
		srv->zrtt_challenged++;
		rlog_debug("%s: HELLO0 challenged: %s", ep_str(&c->observed, ep), why);
		ptcp_rdv_hello_of(&hello, in);
		c->early_drop = true;
		challenge(c, &hello, now);
		return;
	}
	memcpy(c->node.key, in->hello0.key, PTCP_RDV_KEY_LEN);
	memcpy(c->client_nonce, in->hello0.nonce, PTCP_RDV_NONCE_LEN);
	c->priv = in->hello0.private_ep;
	/* The client knows our key, or (open) learns it here; our signature
	 * of its nonce shows that its holder answers. */
	memset(&m, 0, sizeof(m));
	m.type = PTCP_RDV_WELCOME;
	m.welcome.observed = c->observed;
	if (open) {
		m.welcome.has_key = 1;
		memcpy(m.welcome.server_key, srv->id.pk, PTCP_RDV_KEY_LEN);
	}
	n = ptcp_rdv_transcript0(t, PTCP_RDV_SIGNER_SERVER, in, &ours, &c->observed);
	if (n < 0 || ptcp_identity_sign(&srv->id, t, (size_t)n, m.welcome.sig) != 0) {
		client_fail(c, PTCP_RDV_E_INTERNAL, "cannot sign the welcome");
		return;
	}
	client_send(c, &m);
	c->rtt_ms = handshake_rtt_ms(c);
	srv->zrtt_taken++;
	enter_registered(c);
}

/* The start delay for a side whose one-way delay is own, when the far
 * side's is far: within what clients accept. */
static uint32_t start_ms(const struct ptcp_rdvd_server *srv, uint32_t far, uint32_t own)
{
	uint32_t ms = srv->cfg.start_delay_ms + far - own;

	return ms < PTCP_RDV_START_MAX_MS ? ms : PTCP_RDV_START_MAX_MS;
}

/* With --relay, the relay offer at the end of both MATCHes: a token for
 * these two keys, and the relay at the address each peer reached us at.
 * Not for a peer at another instance (its relay would be that
 * instance's). */
static void offer_relay(struct ptcp_rdvd_server *srv, const struct client *i, const struct client *r,
                        struct ptcp_rdv_msg *mi, struct ptcp_rdv_msg *mr)
{
	struct ptcp_endpoint li, lr;
	uint8_t token[PTCP_RDV_TOKEN_LEN];

	if (!srv->relay || i->ghost || r->ghost || local_of(i, &li) != 0 || local_of(r, &lr) != 0)
		return;
	if (ptcp_rdvd_relay_offer(srv->relay, i->node.key, i->isn, r->node.key, r->isn, token) != 0) {
		rlog_warn("relay: as many offers open as allowed; a match goes without one");
		return;
	}
	mi->match.has_relay = mr->match.has_relay = 1;
	ptcp_rdvd_relay_endpoint(srv->relay, &li, &mi->match.relay);
	ptcp_rdvd_relay_endpoint(srv->relay, &lr, &mr->match.relay);
	memcpy(mi->match.relay_token, token, sizeof(token));
	memcpy(mr->match.relay_token, token, sizeof(token));
	sodium_memzero(token, sizeof(token));
}

/* Port prediction in self's MATCH (m): when one side's NAT is
 * symmetric with a pattern and the other's is not, the other gets the
 * pattern to aim at and the symmetric side the word that it is aimed at.
 * Every client here can take them (a pattern comes only from a server
 * that says PREDICT, and a client that refuses PREDICT has left at
 * REGISTERED). Both symmetric: nothing (relay or error, on each side);
 * not across instances, whose MATCH carries no tail. */
static void predict(const struct client *self, const struct client *peer,
                    struct ptcp_rdv_msg *m)
{
	if (self->ghost || peer->ghost || !self->srv->cfg.probe_port)
		return;
	if (peer->pattern.delta && !self->pattern.delta)
		m->match.pattern = peer->pattern;
	else if (self->pattern.delta && !peer->pattern.delta)
		m->match.flags |= PTCP_RDV_MATCH_PREDICTED;
}

/* Tells both peers about each other; i is the initiator. */
static void match(struct client *i, struct client *r)
{
	struct ptcp_rdvd_server *srv = i->srv;
	uint32_t owd_i = i->rtt_ms / 2, owd_r = r->rtt_ms / 2;
	uint32_t far = owd_i > owd_r ? owd_i : owd_r;
	struct ptcp_rdv_msg mi, mr;
	char a[PTCP_PEERID_TEXT_MAX], b[PTCP_PEERID_TEXT_MAX], ea[64], eb[64];

	memset(&mi, 0, sizeof(mi));
	mi.type = PTCP_RDV_MATCH;
	memcpy(mi.match.key, r->node.key, PTCP_RDV_KEY_LEN);
	mi.match.peer_public = r->observed;
	mi.match.peer_private = r->priv;
	mi.match.peer_isn = r->isn;
	mi.match.isn = i->isn;
	mi.match.role = PTCP_RDV_ROLE_INITIATOR;
	/* Both should fire when the later MATCH has arrived, about the same
	 * moment: each waits the base delay plus the difference between the
	 * far side's one-way delay and its own (half the handshake RTT). */
	mi.match.start_ms = start_ms(srv, far, owd_i);

	memset(&mr, 0, sizeof(mr));
	mr.type = PTCP_RDV_MATCH;
	memcpy(mr.match.key, i->node.key, PTCP_RDV_KEY_LEN);
	mr.match.peer_public = i->observed;
	mr.match.peer_private = i->priv;
	mr.match.peer_isn = i->isn;
	mr.match.isn = r->isn;
	mr.match.role = PTCP_RDV_ROLE_RESPONDER;
	mr.match.start_ms = start_ms(srv, far, owd_r);
	offer_relay(srv, i, r, &mi, &mr);
	predict(i, r, &mi);
	predict(r, i, &mr);

	cancel_request(i);
	cancel_request(r);
	client_send(i, &mi);
	client_send(r, &mr);
	srv->matches++;
	rlog_info("match %s at %s (initiator) with %s at %s", key_str(i->node.key, a),
		  ep_str(&i->observed, ea), key_str(r->node.key, b), ep_str(&r->observed, eb));
}

/* Why a request for peer t fails when t uses the other IP version. */
static const char *family_text(const struct client *t)
{
	return t->observed.family == PTCP_AF_INET6 ? "the peer is registered over IPv6, you over IPv4"
						   : "the peer is registered over IPv4, you over IPv6";
}

static bool allowed(const struct client *listener, const uint8_t *key)
{
	if (listener->n_allow == 0)
		return true;
	for (unsigned k = 0; k < listener->n_allow; k++)
		if (memcmp(listener->allow[k], key, PTCP_RDV_KEY_LEN) == 0)
			return true;
	return false;
}

/* Checks common to LISTEN and CONNECT (type). Returns false when c may
 * not make a request now (and has been told). A LISTEN that gets this far
 * ends c's busy state, even if the rate limit then refuses it: the
 * client's last word is LISTEN, so its next BUSY is not one too many. */
static bool may_request(struct client *c, uint8_t type, ptcp_ts now)
{
	const char *what = ptcp_rdv_type_name(type);
	char text[64], id[PTCP_PEERID_TEXT_MAX], ep[64];

	if (c->state != C_REGISTERED) {
		snprintf(text, sizeof(text), "%s before registration", what);
		client_fail(c, PTCP_RDV_E_NOT_AUTHORISED, text);
		return false;
	}
	if (c->req != R_NONE) {
		snprintf(text, sizeof(text), "%s while a request is pending", what);
		client_fail(c, PTCP_RDV_E_UNEXPECTED, text);
		return false;
	}
	if (type == PTCP_RDV_LISTEN && refuse_unlisted(c, what))
		return false;
	if (type == PTCP_RDV_LISTEN && c->busy) {
		c->busy = false;
		rlog_info("%s at %s takes peers again", key_str(c->node.key, id),
			  ep_str(&c->observed, ep));
	}
	if (!ptcp_rdvd_addr_take(&c->srv->addrs, c->addr, now)) {
		c->srv->rejected_rate++;
		send_error(c, PTCP_RDV_E_RATE_LIMITED, false, "too many requests from your address");
		return false;
	}
	not_idle(c);
	return true;
}

/* w asked for t, which is busy: w's request fails at once (a waiter of
 * a key that registered again over the other IP version learns that
 * instead, as on_listen() tells it). */
static void tell_busy(struct client *w, const struct client *t)
{
	char id[PTCP_PEERID_TEXT_MAX], ep[64];

	if (w->observed.family != t->observed.family) {
		request_fail(w, PTCP_RDV_E_FAMILY, family_text(t));
		return;
	}
	w->srv->busy_answers++;
	rlog_debug("%s: told that %s is busy", ep_str(&w->observed, ep), key_str(t->node.key, id));
	request_fail(w, PTCP_RDV_E_BUSY, NULL);
}

/* BUSY: c serves as many peers as it will. Its pending LISTEN ends with
 * ERROR BUSY (the answer every LISTEN gets, so the client knows no MATCH
 * for it follows), and those waiting for c, and those who ask for it
 * until its next LISTEN, are told BUSY at once. BUSY goes where a LISTEN
 * could: after registration, not while c's own CONNECT is pending (an
 * asker is not a listener), and not twice. It costs no token: it takes
 * nothing from the server. */
static void on_busy(struct client *c)
{
	char id[PTCP_PEERID_TEXT_MAX], ep[64];
	unsigned told = 0;

	if (c->state != C_REGISTERED) {
		client_fail(c, PTCP_RDV_E_NOT_AUTHORISED, "BUSY before registration");
		return;
	}
	if (c->req == R_CONNECT) {
		client_fail(c, PTCP_RDV_E_UNEXPECTED,
			    "BUSY while a CONNECT is pending: only a listener can be busy");
		return;
	}
	if (c->busy) {
		client_fail(c, PTCP_RDV_E_UNEXPECTED, "BUSY twice: busy already (a LISTEN ends it)");
		return;
	}
	if (refuse_unlisted(c, "BUSY"))
		return;
	not_idle(c);   /* a service at its limit: anything but idle */
	c->busy = true;
	if (c->req == R_LISTEN)
		request_fail(c, PTCP_RDV_E_BUSY, "your LISTEN is cancelled: you said BUSY");
	for (; c->waiters; told++)
		tell_busy(c->waiters, c);
	rlog_info("%s at %s is busy: takes no peers until it listens again (%u waiting told)",
		  key_str(c->node.key, id), ep_str(&c->observed, ep), told);
}

static void on_listen(struct client *c, const struct ptcp_rdv_msg *in, ptcp_ts now)
{
	struct client *w, *next;

	if (!may_request(c, PTCP_RDV_LISTEN, now))
		return;
	if (in->listen.n_allow) {
		c->allow = malloc((size_t)in->listen.n_allow * PTCP_RDV_KEY_LEN);
		if (!c->allow) {
			send_error(c, PTCP_RDV_E_INTERNAL, false, "out of memory");
			return;
		}
		memcpy(c->allow, in->listen.allow, (size_t)in->listen.n_allow * PTCP_RDV_KEY_LEN);
		c->n_allow = in->listen.n_allow;
	}
	c->req = R_LISTEN;
	c->isn = in->listen.isn;
	c->pattern = in->listen.pattern;
	/* The oldest waiter we allow gets us; those we do not allow learn it
	 * now rather than at the end of their wait. */
	for (w = c->waiters; w; w = next) {
		next = w->wnext;
		/* (waiters of a key that registered again, over the other IP
		 * version) */
		if (w->observed.family != c->observed.family) {
			request_fail(w, PTCP_RDV_E_FAMILY, family_text(c));
			continue;
		}
		if (allowed(c, w->node.key)) {
			match(w, c);
			return;
		}
		request_fail(w, PTCP_RDV_E_NOT_AUTHORISED, "the peer does not accept connections from us");
	}
}

/* c asks for t (found here) with its ISN, waiting up to wait_ms: the
 * rules of docs/protocol.md, "Asking for a peer", after the lookup. c may
 * be a ghost (an asker at another instance). */
static void ask(struct client *c, struct client *t, uint32_t isn, uint32_t wait_ms, ptcp_ts now)
{
	struct ptcp_rdvd_server *srv = c->srv;
	uint32_t wait;

	not_idle(t);   /* asked for: someone wants it */
	if (t->observed.family != c->observed.family) {
		send_error(c, PTCP_RDV_E_FAMILY, false, family_text(t));
		return;
	}
	c->isn = isn;
	if (t->req == R_LISTEN) {
		if (!allowed(t, c->node.key)) {
			send_error(c, PTCP_RDV_E_NOT_AUTHORISED, false,
				   "the peer does not accept connections from us");
			return;
		}
		match(c, t);
		return;
	}
	if (t->req == R_CONNECT && t->target && t->target == listed_of(c)) {
		/* Both asked for each other (t for c's key, which may be
		 * listed at a newer registration now): the lower key
		 * initiates. */
		if (memcmp(c->node.key, t->node.key, PTCP_RDV_KEY_LEN) < 0)
			match(c, t);
		else
			match(t, c);
		return;
	}
	if (t->busy) {
		tell_busy(c, t);
		return;
	}
	wait = wait_ms < srv->cfg.max_wait_ms ? wait_ms : srv->cfg.max_wait_ms;
	if (wait == 0) {
		send_error(c, PTCP_RDV_E_NOT_WAITING, false, NULL);
		return;
	}
	c->req = R_CONNECT;
	c->target = t;
	c->req_deadline = ptcp_ts_add(now, (uint64_t)wait * PTCP_NS_PER_MS);
	c->wprev = t->waiters_tail;
	c->wnext = NULL;
	if (t->waiters_tail)
		t->waiters_tail->wnext = c;
	else
		t->waiters = c;
	t->waiters_tail = c;
}

static void on_connect(struct client *c, const struct ptcp_rdv_msg *in, ptcp_ts now)
{
	struct ptcp_rdvd_peer_node *n;

	if (!may_request(c, PTCP_RDV_CONNECT, now))
		return;
	if (memcmp(in->connect.key, c->node.key, PTCP_RDV_KEY_LEN) == 0) {
		send_error(c, PTCP_RDV_E_SELF, false, NULL);
		return;
	}
	c->pattern = in->connect.pattern;
	n = find_peer(c->srv, c->observed.family, in->connect.key);
	if (!n) {
		/* not here: at another instance, or nowhere */
		remote_connect(c, in, now);
		return;
	}
	ask(c, (struct client *)n, in->connect.isn, in->connect.wait_ms, now);
}

static void on_ping(struct client *c, const struct ptcp_rdv_msg *in)
{
	struct ptcp_rdv_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PTCP_RDV_PONG;
	m.ping.token = in->ping.token;
	client_send(c, &m);
}

static void handle(struct client *c, const struct ptcp_rdv_msg *m, ptcp_ts now)
{
	char text[64];

	switch (m->type) {
	case PTCP_RDV_HELLO:
		on_hello(c, m, now);
		return;
	case PTCP_RDV_HELLO0:
		on_hello0(c, m, now);
		return;
	case PTCP_RDV_AUTH:
		on_auth(c, m, now);
		return;
	}
	if (c->early_drop && c->state == C_CHALLENGED &&
	    (m->type == PTCP_RDV_LISTEN || m->type == PTCP_RDV_CONNECT)) {
		c->early_drop = false;
		return;
	}
	switch (m->type) {
	case PTCP_RDV_LISTEN:
		on_listen(c, m, now);
		return;
	case PTCP_RDV_CONNECT:
		on_connect(c, m, now);
		return;
	case PTCP_RDV_PING:
		on_ping(c, m);
		return;
	case PTCP_RDV_BUSY:
		on_busy(c);
		return;
	}
	snprintf(text, sizeof(text), "%s is a server message", ptcp_rdv_type_name(m->type));
	client_fail(c, PTCP_RDV_E_UNEXPECTED, text);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	ptcp_ts now = ptcp_clock_now();
	struct ptcp_rdv_msg m;
	bool consumed = false;
	size_t avail;
	int n, rv;

	while (c->state != C_CLOSING && (avail = evbuffer_get_length(in)) > 0) {
		size_t want = avail < PTCP_RDV_MSG_MAX ? avail : PTCP_RDV_MSG_MAX;
		const uint8_t *p = evbuffer_pullup(in, (ssize_t)want);

		n = ptcp_rdv_frame(p, want);
		if (n == 0)
			break;
		rv = n < 0 ? n : ptcp_rdv_parse(&m, p, (size_t)n);
		if (rv != 0) {
			client_fail(c, -rv, rv == -PTCP_RDV_E_VERSION ? "this server speaks version 2" : NULL);
			return;
		}
		evbuffer_drain(in, (size_t)n);
		consumed = true;
		c->last_msg = now;
		handle(c, &m, now);
	}
	if (c->state == C_CLOSING)
		return;
	/* A message that has begun must end within message-timeout. */
	if (evbuffer_get_length(in) == 0)
		c->partial_since = 0;
	else if (consumed || c->partial_since == 0)
		c->partial_since = now;
	rearm(c, now);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;
	char ep[64];

	(void)bev;
	rlog_debug("%s: %s", ep_str(&c->observed, ep),
		   what & BEV_EVENT_EOF ? "closed by the client" : "connection error");
	client_free(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	const struct ptcp_rdvd_config *cfg = &c->srv->cfg;
	ptcp_ts now = ptcp_clock_now();
	char text[96];

	(void)fd;
	(void)what;
	if (c->ghost) {
		ghost_timer(c, now);
		return;
	}
	if (c->state == C_CLOSING) {
		if (now >= c->close_deadline)
			client_free(c);
		else
			rearm(c, now);
		return;
	}
	if (c->state != C_REGISTERED &&
	    now >= ptcp_ts_add(c->accepted, (uint64_t)cfg->handshake_timeout_ms * PTCP_NS_PER_MS)) {
		snprintf(text, sizeof(text), "registration not finished within %u ms",
			 cfg->handshake_timeout_ms);
		c->srv->timeouts++;
		client_fail(c, PTCP_RDV_E_TIMEOUT, text);
		return;
	}
	if (c->partial_since &&
	    now >= ptcp_ts_add(c->partial_since, (uint64_t)cfg->message_timeout_ms * PTCP_NS_PER_MS)) {
		snprintf(text, sizeof(text), "message not finished within %u ms", cfg->message_timeout_ms);
		c->srv->timeouts++;
		client_fail(c, PTCP_RDV_E_TIMEOUT, text);
		return;
	}
	if (c->state == C_REGISTERED &&
	    now >= ptcp_ts_add(c->last_msg, (uint64_t)cfg->idle_timeout_ms * PTCP_NS_PER_MS)) {
		snprintf(text, sizeof(text), "silent for %u ms", cfg->idle_timeout_ms);
		c->srv->timeouts++;
		client_fail(c, PTCP_RDV_E_TIMEOUT, text);
		return;
	}
	if (c->req == R_CONNECT && now >= c->req_deadline)
		request_fail(c, PTCP_RDV_E_NOT_WAITING, "the peer did not ask for us in time");
	rearm(c, now);
}

/* --- accepting ------------------------------------------------------------------ */

/* A new client on fd from ep. With addr (and net, the networks around
 * it), it counts against the limits and starts idle; without, it is a
 * rejected connection that only lingers. */
static struct client *client_new(struct ptcp_rdvd_server *srv, evutil_socket_t fd,
                                 const struct ptcp_endpoint *ep, struct ptcp_rdvd_addr *addr,
                                 struct ptcp_rdvd_addr *const net[PTCP_RDVD_NET_LEVELS], ptcp_ts now)
{
	struct client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->srv = srv;
	c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->timer = evtimer_new(srv->base, on_timer, c);
	if (!c->bev || !c->timer) {
		if (c->bev)
			bufferevent_free(c->bev);   /* closes fd */
		else
			close(fd);
		if (c->timer)
			event_free(c->timer);
		free(c);
		return NULL;
	}
	c->observed = *ep;
	c->accepted = c->last_msg = now;
	c->addr = addr;
	if (addr) {
		memcpy(c->net, net, sizeof(c->net));
		count(c, 1);
		srv->n_clients++;
		c->idle = true;
		c->iprev = srv->idle_tail;
		if (srv->idle_tail)
			srv->idle_tail->inext = c;
		else
			srv->idle_head = c;
		srv->idle_tail = c;
	} else {
		srv->n_lingering++;
	}
	c->next = srv->clients;
	if (srv->clients)
		srv->clients->prev = c;
	srv->clients = c;
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, IN_HIGH);
	bufferevent_enable(c->bev, EV_READ);
	return c;
}

/* Refuses a connection with an ERROR that the client can read. */
static void reject(struct ptcp_rdvd_server *srv, evutil_socket_t fd, const struct ptcp_endpoint *ep,
                   int code, const char *text, ptcp_ts now)
{
	struct client *c;

	if (srv->n_lingering >= LINGER_MAX) {
		close(fd);
		return;
	}
	c = client_new(srv, fd, ep, NULL, NULL, now);
	if (c)
		client_fail(c, code, text);
}

/* The server is full: the oldest idle connection (one that has neither
 * made a request nor been asked for, registered or not) makes room. It
 * stops counting at once and gets a SERVER_FULL error. False when no
 * connection is idle. */
static bool evict_idle(struct ptcp_rdvd_server *srv)
{
	struct client *c = srv->idle_head;
	ptcp_ts now = ptcp_clock_now();
	char ep[64];

	if (!c)
		return false;
	srv->evicted++;
	if (ptcp_ts_elapsed(now, srv->last_evict_warn) >= WARN_EVERY_NS || !srv->last_evict_warn) {
		rlog_warn("server full (%u clients): closing the oldest idle connections to make room "
			  "(%llu so far)", srv->n_clients, srv->evicted);
		srv->last_evict_warn = now;
	}
	rlog_debug("%s: evicted: idle while the server is full", ep_str(&c->observed, ep));
	not_idle(c);
	uncount(c);
	if (srv->n_lingering > LINGER_MAX)
		go_closing(c, 0);
	else
		client_fail(c, PTCP_RDV_E_SERVER_FULL, "idle while the server is full: closed to make room");
	return true;
}

/* Refuses ep when one of the networks around it has its share: true
 * (and it has been told). */
static bool net_full(struct ptcp_rdvd_server *srv, evutil_socket_t fd, const struct ptcp_endpoint *ep,
                     struct ptcp_rdvd_addr *const net[PTCP_RDVD_NET_LEVELS], ptcp_ts now)
{
	const unsigned *limit = srv->net_limit[ep->family == PTCP_AF_INET6];
	char text[96];

	for (unsigned k = 0; k < PTCP_RDVD_NET_LEVELS; k++) {
		if (!net[k] || !limit[k] || net[k]->conns < limit[k])
			continue;
		srv->rejected_net++;
		snprintf(text, sizeof(text), "too many connections from your network (%s /%u, limit %u)",
			 ep->family == PTCP_AF_INET6 ? "IPv6" : "IPv4",
			 PTCP_RDVD_NET_PLEN(ep->family, k), limit[k]);
		reject(srv, fd, ep, PTCP_RDV_E_RATE_LIMITED, text, now);
		return true;
	}
	return false;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
	struct ptcp_rdvd_server *srv = arg;
	struct ptcp_endpoint ep;
	struct ptcp_rdvd_addr *a, *net[PTCP_RDVD_NET_LEVELS];
	ptcp_ts now = ptcp_clock_now();
	char text[96], eps[64];
	struct client *c;
	bool room = true;

	(void)l;
	if (srv->stopping || ptcp_rdv_from_sockaddr(&ep, sa, (socklen_t)len) != 0) {
		close(fd);
		return;
	}
	a = ptcp_rdvd_addrtab_get(&srv->addrs, &ep, PTCP_RDVD_HOST_PLEN(ep.family), now);
	for (unsigned k = 0; k < PTCP_RDVD_NET_LEVELS; k++) {
		unsigned plen = PTCP_RDVD_NET_PLEN(ep.family, k);

		net[k] = plen ? ptcp_rdvd_addrtab_get(&srv->addrs, &ep, plen, now) : NULL;
		room = room && (net[k] || !plen);
	}
	if (!a || !room) {
		srv->rejected_full++;
		reject(srv, fd, &ep, PTCP_RDV_E_SERVER_FULL, "too many client addresses", now);
		return;
	}
	if (srv->cfg.max_per_addr && a->conns >= srv->cfg.max_per_addr) {
		srv->rejected_addr++;
		snprintf(text, sizeof(text), "too many connections from your address (limit %u)",
			 srv->cfg.max_per_addr);
		reject(srv, fd, &ep, PTCP_RDV_E_RATE_LIMITED, text, now);
		return;
	}
	if (net_full(srv, fd, &ep, net, now))
		return;
	if (!ptcp_rdvd_addr_take(&srv->addrs, a, now)) {
		srv->rejected_rate++;
		reject(srv, fd, &ep, PTCP_RDV_E_RATE_LIMITED, "too many new connections from your address",
		       now);
		return;
	}
	if (srv->n_clients >= srv->cfg.max_clients && !evict_idle(srv)) {
		srv->rejected_full++;
		if (ptcp_ts_elapsed(now, srv->last_full_warn) >= WARN_EVERY_NS || !srv->last_full_warn) {
			rlog_warn("server full (%u clients, none idle): refusing connections",
				  srv->n_clients);
			srv->last_full_warn = now;
		}
		reject(srv, fd, &ep, PTCP_RDV_E_SERVER_FULL, NULL, now);
		return;
	}
	c = client_new(srv, fd, &ep, a, net, now);
	if (!c)
		return;
	srv->accepted++;
	rlog_debug("%s: connected", ep_str(&ep, eps));
	rearm(c, now);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct ptcp_rdvd_server *srv = arg;

	(void)fd;
	(void)what;
	for (unsigned i = 0; i < srv->n_listeners; i++)
		evconnlistener_enable(srv->listeners[i]);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
	struct ptcp_rdvd_server *srv = arg;
	int err = EVUTIL_SOCKET_ERROR();
	ptcp_ts now = ptcp_clock_now();
	struct timeval tv = { 1, 0 };

	(void)l;
	/* Out of descriptors or memory: pause accepting rather than spin. */
	if (ptcp_ts_elapsed(now, srv->last_accept_warn) >= WARN_EVERY_NS || !srv->last_accept_warn) {
		rlog_warn("accept: %s; pausing for a second", strerror(err));
		srv->last_accept_warn = now;
	}
	for (unsigned i = 0; i < srv->n_listeners; i++)
		evconnlistener_disable(srv->listeners[i]);
	evtimer_add(srv->resume_timer, &tv);
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct ptcp_rdvd_server *srv = arg;
	struct timeval tv = { SWEEP_NS / PTCP_NS_PER_S, 0 };

	(void)fd;
	(void)what;
	ptcp_rdvd_addrtab_sweep(&srv->addrs, ptcp_clock_now());
	evtimer_add(srv->sweep_timer, &tv);
}

static int open_listener(struct ptcp_rdvd_server *srv, const struct ptcp_endpoint *ep)
{
	struct evconnlistener *l;
	int rv;

	l = ptcp_rdvd_listen(srv->base, ep, NULL, on_accept, on_accept_error, srv, &rv);
	if (!l)
		return rv;
	srv->listeners[srv->n_listeners++] = l;
	return 0;
}

/* --- peers at other instances (--redis, cluster.h) ---------------------------------
 *
 * A CONNECT for a key that is not registered here goes, as a REQUEST, to
 * the instance that has it (REMOTE_GRACE after its wait, a request that
 * heard nothing fails here on its own). There the asker becomes a ghost:
 * a struct client without a connection, which waits in the peer's waiter
 * list like a local asker, so that every rule (allow lists, BUSY, the
 * wait, roles and start delays) is the one code above. What client_send()
 * would write to a ghost goes back as an ANSWER; the ghost is then freed
 * from an event of its own (never inside the code that answered it). */

#define REMOTE_GRACE_MS 2000

static void ghost_retire(struct client *g)
{
	struct ptcp_rdvd_server *srv = g->srv;

	if (g->prev)
		g->prev->next = g->next;
	else
		srv->ghosts = g->next;
	if (g->next)
		g->next->prev = g->prev;
	srv->n_ghosts--;
	evtimer_del(g->timer);
	g->prev = NULL;
	g->next = srv->reap;
	srv->reap = g;
	event_active(srv->reap_ev, 0, 0);
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct ptcp_rdvd_server *srv = arg;
	struct client *g;

	(void)fd;
	(void)what;
	while ((g = srv->reap)) {
		srv->reap = g->next;
		event_free(g->timer);
		free(g);
	}
}

/* A ghost's request is over without an answer: the asker's instance
 * cancelled it, or the link is lost. */
static void ghost_drop(struct client *g)
{
	cancel_request(g);
	ghost_retire(g);
}

static void ghost_answer(struct client *g, const struct ptcp_rdv_msg *m)
{
	struct ptcp_rdvd_cmsg a;

	memset(&a, 0, sizeof(a));
	a.type = PTCP_RDVD_CMSG_ANSWER;
	a.answer.id = g->rid;
	memcpy(a.answer.asker, g->node.key, PTCP_RDV_KEY_LEN);
	a.answer.msg = *m;
	if (ptcp_rdvd_cluster_send(g->srv->cluster, g->rinst, &a) != 0)
		rlog_debug("cannot answer a remote request: the link to Redis is down");
	ghost_retire(g);
}

static void ghost_timer(struct client *g, ptcp_ts now)
{
	if (g->req == R_CONNECT && now >= g->req_deadline)
		request_fail(g, PTCP_RDV_E_NOT_WAITING, "the peer did not ask for us in time");
	else if (g->req == R_CONNECT)
		rearm(g, now);
}

static uint32_t wait_left(const struct client *c, ptcp_ts now)
{
	uint64_t ms = ptcp_ts_elapsed(c->req_deadline, now) / PTCP_NS_PER_MS;

	return ms > PTCP_RDV_WAIT_MAX_MS ? PTCP_RDV_WAIT_MAX_MS : (uint32_t)ms;
}

/* The REQUEST that asks for key on behalf of c (a local asker, or a
 * ghost being passed on), with wait ms left. */
static void request_msg(struct ptcp_rdvd_cmsg *m, const struct client *c, const uint8_t *key,
                        const uint8_t *reply_to, uint64_t id, uint32_t wait)
{
	memset(m, 0, sizeof(*m));
	m->type = PTCP_RDVD_CMSG_REQUEST;
	memcpy(m->request.reply_to, reply_to, PTCP_RDVD_INST_LEN);
	m->request.id = id;
	memcpy(m->request.target, key, PTCP_RDV_KEY_LEN);
	memcpy(m->request.asker, c->node.key, PTCP_RDV_KEY_LEN);
	m->request.observed = c->observed;
	m->request.priv = c->priv;
	m->request.isn = c->isn;
	m->request.rtt_ms = c->rtt_ms;
	m->request.wait_ms = wait;
}

/* c's own request for a peer at another instance ends here (answered,
 * matched, or c goes away): that instance forgets its ghost. */
static void send_cancel(struct ptcp_rdvd_server *srv, const uint8_t *inst, uint64_t id,
                        const uint8_t *asker, const uint8_t *target)
{
	struct ptcp_rdvd_cmsg m;

	memset(&m, 0, sizeof(m));
	m.type = PTCP_RDVD_CMSG_CANCEL;
	m.cancel.id = id;
	memcpy(m.cancel.asker, asker, PTCP_RDV_KEY_LEN);
	memcpy(m.cancel.target, target, PTCP_RDV_KEY_LEN);
	ptcp_rdvd_cluster_send(srv->cluster, inst, &m);
}

static void remote_cancel(struct client *c)
{
	c->remote = false;
	if (c->routed && c->srv->cluster)
		send_cancel(c->srv, c->rinst, c->rid, c->node.key, c->rkey);
}

/* c's request ends with an answer from the other instance: no CANCEL. */
static void remote_answered(struct client *c)
{
	c->remote = false;
	cancel_request(c);
}

/* CONNECT for a key not registered here. */
static void remote_connect(struct client *c, const struct ptcp_rdv_msg *in, ptcp_ts now)
{
	struct ptcp_rdvd_server *srv = c->srv;
	struct client *listed;
	struct ptcp_rdvd_cmsg m;
	uint32_t wait;

	if (!srv->cluster) {
		send_error(c, PTCP_RDV_E_UNKNOWN_PEER, false, NULL);
		return;
	}
	c->isn = in->connect.isn;
	/* The peer asked for us from its instance and waits here (for our
	 * key's listed registration, if we are unlisted): both asked for
	 * each other (ask() for a peer here), the lower key initiates. */
	listed = listed_of(c);
	for (struct client *w = listed ? listed->waiters : NULL; w; w = w->wnext) {
		if (w->ghost && memcmp(w->node.key, in->connect.key, PTCP_RDV_KEY_LEN) == 0) {
			if (w->observed.family != c->observed.family)
				break;   /* ask() for the peer tells it FAMILY */
			if (memcmp(c->node.key, w->node.key, PTCP_RDV_KEY_LEN) < 0)
				match(c, w);
			else
				match(w, c);
			return;
		}
	}
	if (!ptcp_rdvd_cluster_up(srv->cluster)) {
		send_error(c, PTCP_RDV_E_UNKNOWN_PEER, false,
			   "not registered here, and the other instances are out of reach");
		return;
	}
	wait = in->connect.wait_ms < srv->cfg.max_wait_ms ? in->connect.wait_ms : srv->cfg.max_wait_ms;
	c->req = R_CONNECT;
	c->target = NULL;
	c->remote = true;
	c->routed = false;
	memcpy(c->rkey, in->connect.key, PTCP_RDV_KEY_LEN);
	c->rid = ++srv->next_rid;
	c->req_deadline = ptcp_ts_add(now, ((uint64_t)wait + REMOTE_GRACE_MS) * PTCP_NS_PER_MS);
	request_msg(&m, c, c->rkey, ptcp_rdvd_cluster_id(srv->cluster), c->rid, wait);
	if (ptcp_rdvd_cluster_route(srv->cluster, &m) != 0) {
		c->remote = false;
		cancel_request(c);
		send_error(c, PTCP_RDV_E_UNKNOWN_PEER, false,
			   "not registered here, and the other instances are out of reach");
		return;
	}
	srv->remote_requests++;
}

/* c, pending for a remote peer, by the asker's key and request id:
 * listed, or unlisted. */
static struct client *remote_asker(struct ptcp_rdvd_server *srv, const uint8_t *key, uint64_t id)
{
	struct ptcp_rdvd_peer_node *n;

	for (int f = 0; f < 2; f++) {
		struct client *c = (struct client *)ptcp_rdvd_peertab_find(&srv->peers[f], key);

		if (c && c->req == R_CONNECT && c->remote && c->rid == id)
			return c;
	}
	for (n = ptcp_rdvd_peertab_find(&srv->unlisted, key); n;
	     n = ptcp_rdvd_peertab_next(&srv->unlisted, n)) {
		struct client *c = (struct client *)n;

		if (c->req == R_CONNECT && c->remote && c->rid == id)
			return c;
	}
	return NULL;
}

static void cl_routed(void *user, const uint8_t asker[PTCP_RDV_KEY_LEN],
                      const uint8_t target[PTCP_RDV_KEY_LEN], uint64_t id, int result,
                      const uint8_t inst[PTCP_RDVD_INST_LEN])
{
	struct ptcp_rdvd_server *srv = user;
	struct client *c = remote_asker(srv, asker, id);

	if (!c && result == PTCP_RDVD_ROUTE_SENT && srv->cluster) {
		/* The asker went away (or its request ended) before we knew
		 * where the request went: the ghost there must not wait for
		 * a listener (if the ANSWER came first, nobody is found). */
		send_cancel(srv, inst, id, asker, target);
		return;
	}
	if (!c)
		return;
	switch (result) {
	case PTCP_RDVD_ROUTE_SENT:
		c->routed = true;
		memcpy(c->rinst, inst, PTCP_RDVD_INST_LEN);
		return;
	case PTCP_RDVD_ROUTE_UNKNOWN:
		remote_answered(c);
		send_error(c, PTCP_RDV_E_UNKNOWN_PEER, false, NULL);
		return;
	case PTCP_RDVD_ROUTE_GONE:
		remote_answered(c);
		send_error(c, PTCP_RDV_E_UNKNOWN_PEER, false, "its instance is gone");
		return;
	default:
		remote_answered(c);
		send_error(c, PTCP_RDV_E_UNKNOWN_PEER, false,
			   "not registered here, and the other instances are out of reach");
	}
}

/* Whether c asks for ghost g's key at another instance, over g's IP
 * version: both asked for each other. */
static bool asks_remote_for(const struct client *c, const struct client *g)
{
	return c->req == R_CONNECT && c->remote && memcmp(c->rkey, g->node.key, PTCP_RDV_KEY_LEN) == 0 &&
	       c->observed.family == g->observed.family;
}

/* Of the registrations of t's key here (t, the listed one, first; then
 * the unlisted), the one that asks for g at another instance, or NULL. */
static struct client *asking_for_ghost(struct ptcp_rdvd_server *srv, struct client *t,
                                       const struct client *g)
{
	struct ptcp_rdvd_peer_node *n;

	if (asks_remote_for(t, g))
		return t;
	for (n = ptcp_rdvd_peertab_find(&srv->unlisted, t->node.key); n;
	     n = ptcp_rdvd_peertab_next(&srv->unlisted, n))
		if (asks_remote_for((struct client *)n, g))
			return (struct client *)n;
	return NULL;
}

static void on_request(struct ptcp_rdvd_server *srv, const struct ptcp_rdvd_cmsg *m, ptcp_ts now)
{
	struct ptcp_rdvd_peer_node *n;
	struct client *g, *t, *asker;

	srv->remote_asked++;
	g = srv->n_ghosts < srv->cfg.max_clients ? calloc(1, sizeof(*g)) : NULL;
	if (g)
		g->timer = evtimer_new(srv->base, on_timer, g);
	if (!g || !g->timer) {
		struct ptcp_rdvd_cmsg a;

		free(g);
		memset(&a, 0, sizeof(a));
		a.type = PTCP_RDVD_CMSG_ANSWER;
		a.answer.id = m->request.id;
		memcpy(a.answer.asker, m->request.asker, PTCP_RDV_KEY_LEN);
		ptcp_rdv_error_msg(&a.answer.msg, PTCP_RDV_E_INTERNAL, false,
				   "too many requests waiting at the peer's instance");
		ptcp_rdvd_cluster_send(srv->cluster, m->request.reply_to, &a);
		return;
	}
	g->srv = srv;
	g->ghost = true;
	g->state = C_REGISTERED;
	memcpy(g->node.key, m->request.asker, PTCP_RDV_KEY_LEN);
	g->observed = m->request.observed;
	g->priv = m->request.priv;
	g->isn = m->request.isn;
	g->rtt_ms = m->request.rtt_ms;
	memcpy(g->rinst, m->request.reply_to, PTCP_RDVD_INST_LEN);
	g->rid = m->request.id;
	g->accepted = g->last_msg = now;
	g->next = srv->ghosts;
	if (srv->ghosts)
		srv->ghosts->prev = g;
	srv->ghosts = g;
	srv->n_ghosts++;
	n = find_peer(srv, g->observed.family, m->request.target);
	if (!n || memcmp(m->request.target, m->request.asker, PTCP_RDV_KEY_LEN) == 0) {
		send_error(g, PTCP_RDV_E_UNKNOWN_PEER, false, NULL);
		return;
	}
	t = (struct client *)n;
	if ((asker = asking_for_ghost(srv, t, g))) {
		/* Both asked for each other across instances, and both
		 * instances may see it: the instance of the lower key (the
		 * initiator) matches, the other forgets the ghost. */
		not_idle(asker);
		if (memcmp(asker->node.key, g->node.key, PTCP_RDV_KEY_LEN) < 0)
			match(asker, g);
		else
			ghost_drop(g);
		return;
	}
	ask(g, t, m->request.isn, m->request.wait_ms, now);
	if (g->ghost && g->req == R_CONNECT)
		rearm(g, now);
}

static void on_answer(struct ptcp_rdvd_server *srv, const struct ptcp_rdvd_cmsg *m)
{
	const struct ptcp_rdv_msg *a = &m->answer.msg;
	struct client *c = remote_asker(srv, m->answer.asker, m->answer.id);
	char id[PTCP_PEERID_TEXT_MAX], b[PTCP_PEERID_TEXT_MAX], ep[64], ep2[64];

	if (!c)
		return;   /* c timed out, went away, or matched here meanwhile */
	if (a->type == PTCP_RDV_ERROR) {
		remote_answered(c);
		send_error(c, a->error.code, false, a->error.text_len ? a->error.text : NULL);
		return;
	}
	/* (instances are trusted, but a match for another peer or ISN would
	 * be a bug there, and the client would refuse it anyway) */
	if (memcmp(a->match.key, c->rkey, PTCP_RDV_KEY_LEN) != 0 || a->match.isn != c->isn) {
		rlog_error("dropped a MATCH from another instance: not for the request it answers");
		return;
	}
	remote_answered(c);
	client_send(c, a);
	srv->remote_matches++;
	rlog_info("match %s at %s with %s at %s (at another instance)", key_str(c->node.key, id),
		  ep_str(&c->observed, ep), key_str(a->match.key, b), ep_str(&a->match.peer_public, ep2));
}

static void on_cancel(struct ptcp_rdvd_server *srv, const struct ptcp_rdvd_cmsg *m)
{
	for (int f = 0; f < 2; f++) {
		struct client *t = (struct client *)ptcp_rdvd_peertab_find(&srv->peers[f],
									   m->cancel.target);

		for (struct client *w = t ? t->waiters : NULL; w; w = w->wnext) {
			if (w->ghost && w->rid == m->cancel.id &&
			    memcmp(w->rinst, m->sender, PTCP_RDVD_INST_LEN) == 0 &&
			    memcmp(w->node.key, m->cancel.asker, PTCP_RDV_KEY_LEN) == 0) {
				ghost_drop(w);
				return;
			}
		}
	}
}

/* The key registered again at instance inst: those waiting for our
 * registration of it now wait there, as those waiting for a key
 * replaced here wait for the new connection, and ours ends with REPLACED
 * or is unlisted as for a registration here (ends_replaced(); a copy of
 * a first flight cannot reach two instances: no 0-RTT with --redis).
 * (The directory knows one instance per key: a peer registered over both
 * IP versions, at two instances, keeps the later one.) */
static void replaced_by(struct ptcp_rdvd_server *srv, struct client *old,
			const struct ptcp_rdvd_cmsg *m, ptcp_ts now)
{
	struct ptcp_rdvd_cmsg q;
	char text[96];
	struct client *w;

	while ((w = old->waiters)) {
		uint32_t wait = wait_left(w, now);
		uint64_t id = w->ghost ? w->rid : ++srv->next_rid;

		request_msg(&q, w, m->replaced.key, w->ghost ? w->rinst : ptcp_rdvd_cluster_id(srv->cluster),
			    id, wait);
		cancel_request(w);
		if (w->ghost) {
			ptcp_rdvd_cluster_send(srv->cluster, m->sender, &q);
			ghost_retire(w);
			continue;
		}
		if (ptcp_rdvd_cluster_send(srv->cluster, m->sender, &q) != 0) {
			send_error(w, PTCP_RDV_E_NOT_WAITING, false, "the peer went away");
			continue;
		}
		w->req = R_CONNECT;
		w->remote = w->routed = true;
		memcpy(w->rkey, m->replaced.key, PTCP_RDV_KEY_LEN);
		memcpy(w->rinst, m->sender, PTCP_RDVD_INST_LEN);
		w->rid = id;
		w->req_deadline = ptcp_ts_add(w->req_deadline, (uint64_t)REMOTE_GRACE_MS * PTCP_NS_PER_MS);
		rearm(w, now);
		srv->remote_requests++;
	}
	if (ends_replaced(old, NULL))
		client_fail(old, PTCP_RDV_E_REPLACED, replaced_text(text, &m->replaced.observed, true));
	else
		unlist(old, &m->replaced.observed, true);
}

static void on_replaced(struct ptcp_rdvd_server *srv, const struct ptcp_rdvd_cmsg *m, ptcp_ts now)
{
	srv->replaced_elsewhere = true;
	for (int f = 0; f < 2; f++) {
		struct ptcp_rdvd_peer_node *n = ptcp_rdvd_peertab_find(&srv->peers[f], m->replaced.key);

		if (n)
			replaced_by(srv, (struct client *)n, m, now);
	}
	srv->replaced_elsewhere = false;
}

static void cl_message(void *user, const struct ptcp_rdvd_cmsg *m)
{
	struct ptcp_rdvd_server *srv = user;
	ptcp_ts now = ptcp_clock_now();

	if (srv->stopping)
		return;
	switch (m->type) {
	case PTCP_RDVD_CMSG_REQUEST:
		on_request(srv, m, now);
		return;
	case PTCP_RDVD_CMSG_ANSWER:
		on_answer(srv, m);
		return;
	case PTCP_RDVD_CMSG_CANCEL:
		on_cancel(srv, m);
		return;
	case PTCP_RDVD_CMSG_REPLACED:
		on_replaced(srv, m, now);
		return;
	}
}

/* The link is up: Redis may have lost everything (a restart), so every
 * peer here is recorded again. */
static void cl_up(void *user)
{
	struct ptcp_rdvd_server *srv = user;

	for (struct client *c = srv->clients; c; c = c->next)
		if (c->registered)
			ptcp_rdvd_cluster_register(srv->cluster, c->node.key, &c->observed, &c->priv);
}

/* The link is lost: no answer can come from, or go to, another
 * instance. Ghosts go; our askers for remote peers are told now. */
static void cl_down(void *user)
{
	struct ptcp_rdvd_server *srv = user;

	while (srv->ghosts)
		ghost_drop(srv->ghosts);
	for (struct client *c = srv->clients; c; c = c->next) {
		if (c->req == R_CONNECT && c->remote) {
			c->remote = false;
			request_fail(c, PTCP_RDV_E_NOT_WAITING, "lost the link to the peer's instance");
		}
	}
}

/* Every third of the TTL: our registrations stay alive in Redis. */
static void on_refresh(evutil_socket_t fd, short what, void *arg)
{
	struct ptcp_rdvd_server *srv = arg;
	unsigned ms = srv->cfg.redis_ttl_ms / 3;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000) };

	(void)fd;
	(void)what;
	if (ptcp_rdvd_cluster_up(srv->cluster))
		for (struct client *c = srv->clients; c; c = c->next)
			if (c->registered)
				ptcp_rdvd_cluster_refresh(srv->cluster, c->node.key, &c->observed, &c->priv);
	evtimer_add(srv->refresh_timer, &tv);
}

static const struct ptcp_rdvd_cluster_ops cluster_ops = {
	.up = cl_up,
	.down = cl_down,
	.message = cl_message,
	.routed = cl_routed,
};

static int cluster_start(struct ptcp_rdvd_server *srv)
{
	struct ptcp_rdvd_cluster_config cc = {
		.redis = srv->cfg.redis,
		.ttl_ms = srv->cfg.redis_ttl_ms,
		/* a refresh of every peer at once, and the requests beside it */
		.max_pending = 2 * srv->cfg.max_clients + 4096,
	};
	struct timeval tv = { 0, 0 };
	int rv;

	srv->reap_ev = event_new(srv->base, -1, 0, on_reap, srv);
	srv->refresh_timer = evtimer_new(srv->base, on_refresh, srv);
	if (!srv->reap_ev || !srv->refresh_timer)
		return -ENOMEM;
	if ((rv = ptcp_rdvd_cluster_new(&srv->cluster, srv->base, &cc, &cluster_ops, srv)) != 0)
		return rv;
	tv.tv_sec = (time_t)(srv->cfg.redis_ttl_ms / 3 / 1000);
	tv.tv_usec = (suseconds_t)(srv->cfg.redis_ttl_ms / 3 % 1000 * 1000);
	evtimer_add(srv->refresh_timer, &tv);
	return 0;
}

static void cluster_stop(struct ptcp_rdvd_server *srv)
{
	/* first the link (its pending callbacks find the server whole) */
	ptcp_rdvd_cluster_free(srv->cluster);
	srv->cluster = NULL;
	while (srv->ghosts)
		ghost_drop(srv->ghosts);
	if (srv->reap_ev) {
		on_reap(-1, 0, srv);
		event_free(srv->reap_ev);
	}
	if (srv->refresh_timer)
		event_free(srv->refresh_timer);
}

int ptcp_rdvd_server_new(struct ptcp_rdvd_server **out, struct event_base *base,
                         const struct ptcp_rdvd_config *cfg, const struct ptcp_identity *id)
{
	struct ptcp_rdvd_server *srv;
	struct ptcp_endpoint def;
	struct timeval tv = { SWEEP_NS / PTCP_NS_PER_S, 0 };
	int rv = -ENOMEM;

	*out = NULL;
	if (sodium_init() < 0) {
		rlog_error("libsodium cannot start");
		return -EIO;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->base = base;
	srv->cfg = *cfg;
	srv->id = *id;
	if (ptcp_rdvd_peertab_init(&srv->peers[0]) != 0 || ptcp_rdvd_peertab_init(&srv->peers[1]) != 0 ||
	    ptcp_rdvd_peertab_init(&srv->unlisted) != 0 ||
	    ptcp_rdvd_addrtab_init(&srv->addrs, cfg->rate, cfg->burst,
				   (size_t)cfg->max_clients * (1 + PTCP_RDVD_NET_LEVELS) * 2) != 0)
		goto fail;
	srv->net_limit[0][0] = ptcp_rdvd_share_limit(&cfg->max_per_ipv4_24, cfg->max_clients);
	srv->net_limit[1][0] = ptcp_rdvd_share_limit(&cfg->max_per_ipv6_56, cfg->max_clients);
	srv->net_limit[1][1] = ptcp_rdvd_share_limit(&cfg->max_per_ipv6_48, cfg->max_clients);
	srv->sweep_timer = evtimer_new(base, on_sweep, srv);
	srv->resume_timer = evtimer_new(base, on_resume, srv);
	if (!srv->sweep_timer || !srv->resume_timer)
		goto fail;
	evtimer_add(srv->sweep_timer, &tv);
	ptcp_endpoint_ipv4(&def, 0, PTCP_RDV_PORT);
	if (cfg->n_listen == 0) {
		if ((rv = open_listener(srv, &def)) != 0)
			goto fail;
	}
	for (unsigned i = 0; i < cfg->n_listen; i++)
		if ((rv = open_listener(srv, &cfg->listen[i])) != 0)
			goto fail;
	/* The probe port: the same protocol on another port of the same
	 * addresses; a client only reads the CHALLENGE's observed endpoint
	 * there (docs/protocol.md, "The probe port"). */
	for (unsigned i = 0; cfg->probe_port && i < (cfg->n_listen ? cfg->n_listen : 1); i++) {
		struct ptcp_endpoint ep = cfg->n_listen ? cfg->listen[i] : def;

		ep.port = (uint16_t)cfg->probe_port;
		if ((rv = open_listener(srv, &ep)) != 0)
			goto fail;
	}
	if (cfg->has_redis && (rv = cluster_start(srv)) != 0)
		goto fail;
	if (cfg->relay && (rv = ptcp_rdvd_relay_new(&srv->relay, base, &srv->cfg)) != 0)
		goto fail;
	/* A HELLO0 is good while its clock is within the window of ours: a
	 * nonce taken now could come again until twice the window has
	 * passed (replay.h). */
	if (cfg->zrtt_window_ms && !cfg->has_redis &&
	    (rv = ptcp_rdvd_replay_new(&srv->replay, cfg->zrtt_cache,
				       2 * (uint64_t)cfg->zrtt_window_ms * PTCP_NS_PER_MS)) != 0)
		goto fail;
	srv->heap_base = mallinfo2().uordblks;
	*out = srv;
	return 0;
fail:
	ptcp_rdvd_server_free(srv);
	return rv;
}

void ptcp_rdvd_server_stop(struct ptcp_rdvd_server *srv)
{
	srv->stopping = true;
	for (unsigned i = 0; i < srv->n_listeners; i++)
		evconnlistener_free(srv->listeners[i]);
	srv->n_listeners = 0;
	for (struct client *c = srv->clients; c; c = c->next)
		client_fail(c, PTCP_RDV_E_SHUTDOWN, NULL);
	ptcp_rdvd_relay_stop(srv->relay);
}

void ptcp_rdvd_server_free(struct ptcp_rdvd_server *srv)
{
	if (!srv)
		return;
	cluster_stop(srv);
	ptcp_rdvd_relay_free(srv->relay);
	ptcp_rdvd_replay_free(srv->replay);
	while (srv->clients)
		client_free(srv->clients);
	for (unsigned i = 0; i < srv->n_listeners; i++)
		evconnlistener_free(srv->listeners[i]);
	if (srv->sweep_timer)
		event_free(srv->sweep_timer);
	if (srv->resume_timer)
		event_free(srv->resume_timer);
	for (int i = 0; i < 2; i++)
		if (srv->peers[i].buckets)
			ptcp_rdvd_peertab_free(&srv->peers[i]);
	if (srv->unlisted.buckets)
		ptcp_rdvd_peertab_free(&srv->unlisted);
	if (srv->addrs.buckets)
		ptcp_rdvd_addrtab_free(&srv->addrs);
	ptcp_identity_wipe(&srv->id);
	free(srv);
}

void ptcp_rdvd_server_log_stats(struct ptcp_rdvd_server *srv)
{
	unsigned handshaking = 0, closing = 0, listening = 0, waiting = 0, busy = 0, idle = 0;
	size_t heap = mallinfo2().uordblks;
	size_t used = heap > srv->heap_base ? heap - srv->heap_base : 0;
	char cl[512] = "";

	if (srv->cluster) {
		int n = snprintf(cl, sizeof(cl), " ghosts=%u remote_requests=%llu remote_asked=%llu "
				 "remote_matches=%llu", srv->n_ghosts, srv->remote_requests,
				 srv->remote_asked, srv->remote_matches);

		if (n > 0 && (size_t)n < sizeof(cl))
			ptcp_rdvd_cluster_stats(srv->cluster, cl + n, sizeof(cl) - (size_t)n);
	}
	if (srv->relay) {
		size_t k = strlen(cl);

		ptcp_rdvd_relay_stats(srv->relay, cl + k, sizeof(cl) - k);
	}
	for (struct client *c = srv->clients; c; c = c->next) {
		if (c->state == C_CLOSING)
			closing++;
		else if (c->state != C_REGISTERED)
			handshaking++;
		idle += c->idle;
		busy += c->busy;
		if (c->req == R_LISTEN)
			listening++;
		else if (c->req == R_CONNECT)
			waiting++;
	}
	rlog_warn("stats: clients=%u registered=%zu unlisted=%zu handshaking=%u closing=%u listening=%u "
		  "waiting=%u busy=%u idle=%u addresses=%zu accepted=%llu registrations=%llu "
		  "matches=%llu busy_answers=%llu rejected_full=%llu rejected_addr=%llu rejected_net=%llu rejected_rate=%llu "
		  "evicted=%llu bad_signatures=%llu zrtt_taken=%llu zrtt_challenged=%llu "
		  "zrtt_replayed=%llu timeouts=%llu errors_sent=%llu heap_bytes=%zu heap_per_client=%zu%s",
		  srv->n_clients, srv->peers[0].count + srv->peers[1].count, srv->unlisted.count,
		  handshaking, closing,
		  listening, waiting, busy, idle,
		  srv->addrs.count, srv->accepted, srv->registrations, srv->matches, srv->busy_answers,
		  srv->rejected_full, srv->rejected_addr, srv->rejected_net, srv->rejected_rate,
		  srv->evicted, srv->bad_signatures, srv->zrtt_taken, srv->zrtt_challenged,
		  srv->zrtt_replayed,
		  srv->timeouts, srv->errors_sent, used,
		  srv->n_clients ? used / srv->n_clients : (size_t)0, cl);
}
