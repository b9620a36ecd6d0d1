/* One peer of a node: its connection, its secure channel and the
 * application's reads and writes (node_priv.h has the phases). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "clock.h"
#include "node_priv.h"
#include "peerid.h"
#include "rdvflow.h"
#include "relay.h"

/* tx_wire: the handshake or two full records at a time. */
#define TX_WIRE_CAP (2 * PTCP_CHANNEL_RECORD_WIRE_MAX)
#define RX_WIRE_CAP PTCP_CHANNEL_RECORD_WIRE_MAX
/* A write is worth sealing when this much fits beside the record's header. */
#define SEAL_MIN 512
/* Happy Eyeballs, the responder's side: how long an established attempt
 * waits for the initiator's first bytes while the other attempt is still
 * alive, before it is taken anyway (no channel: nobody may send first). */
#define RESPONDER_GRACE PTCP_NS_PER_S

struct ptcp_peer *ptcp_peer_alloc(struct ptcp_node *n, void *user)
{
	struct ptcp_peer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->node = n;
	p->user = user;
	p->read_blocked = true;
	p->request_deadline = p->start_at = p->open_deadline = PTCP_TS_NEVER;
	p->handshake_deadline = PTCP_TS_NEVER;
	p->info.started = ptcp_clock_now();
	p->next = n->peers;
	if (n->peers)
		n->peers->prev = p;
	n->peers = p;
	n->n_peers++;
	return p;
}

void ptcp_peer_destroy(struct ptcp_peer *p)
{
	struct ptcp_node *n = p->node;

	if (p->conn)
		(void)ptcp_stack_release(n->stack, p->conn, ptcp_clock_now());
	if (p->alt.conn)
		(void)ptcp_stack_release(n->stack, p->alt.conn, ptcp_clock_now());
	for (unsigned i = 0; i < p->cand_opened; i++)
		if (p->cand[i])
			(void)ptcp_stack_release(n->stack, p->cand[i], ptcp_clock_now());
	if (p->rdv_pending && n->rdv)
		ptcp_rdvflow_cancel(n->rdv, p);
	ptcp_gso_free(p->gso);
	ptcp_relay_conn_free(p->relay);
	sodium_memzero(p->relay_token, sizeof(p->relay_token));
	ptcp_channel_free(p->ch);
	free(p->tx_wire);
	free(p->rx_wire);
	if (p->phase != PEER_ENDED)
		n->n_peers--;
	if (p->prev)
		p->prev->next = p->next;
	else
		n->peers = p->next;
	if (p->next)
		p->next->prev = p->prev;
	free(p);
}

/* --- the transport: the engine's connection, or the relay (relay.h) ------------- */

static ptcp_ssize tr_send(struct ptcp_peer *p, const uint8_t *buf, size_t len, ptcp_ts now)
{
	if (p->relay)
		return ptcp_relay_conn_send(p->relay, buf, len);
	return ptcp_conn_send(p->conn, buf, len, now);
}

static ptcp_ssize tr_recv(struct ptcp_peer *p, uint8_t *buf, size_t cap, ptcp_ts now)
{
	if (p->relay)
		return ptcp_relay_conn_recv(p->relay, buf, cap);
	return ptcp_conn_recv(p->conn, buf, cap, now);
}

static size_t tr_recv_ready(const struct ptcp_peer *p)
{
	return p->relay ? ptcp_relay_conn_recv_ready(p->relay) : ptcp_conn_recv_ready(p->conn);
}

static bool tr_recv_eof(const struct ptcp_peer *p)
{
	return p->relay ? ptcp_relay_conn_recv_eof(p->relay) : ptcp_conn_recv_eof(p->conn);
}

static size_t tr_send_space(const struct ptcp_peer *p)
{
	return p->relay ? ptcp_relay_conn_send_space(p->relay) : ptcp_conn_send_space(p->conn);
}

/* The engine's connection has something to send or to say. */
static void tr_touch(struct ptcp_peer *p, ptcp_ts now)
{
	if (!p->relay)
		(void)ptcp_stack_touch(p->node->stack, p->conn, now);
}

static void tr_shutdown(struct ptcp_peer *p, ptcp_ts now)
{
	if (p->relay) {
		ptcp_relay_conn_shutdown(p->relay);
		return;
	}
	(void)ptcp_conn_shutdown(p->conn, now);
	(void)ptcp_stack_touch(p->node->stack, p->conn, now);
}

/* The transport's error once it failed, else 0. */
static int tr_error(const struct ptcp_peer *p)
{
	int rv;

	if (p->relay)
		return (rv = ptcp_relay_conn_status(p->relay, NULL)) < 0 ? rv : 0;
	return ptcp_conn_state(p->conn) == PTCP_CLOSED ? ptcp_conn_error(p->conn) : 0;
}

/* Both directions ended: our FIN out, theirs in. */
static bool tr_done(const struct ptcp_peer *p)
{
	enum ptcp_state st;

	if (p->relay)
		return ptcp_relay_conn_done(p->relay);
	st = ptcp_conn_state(p->conn);
	return st == PTCP_TIME_WAIT || st == PTCP_CLOSED;
}

/* --- the secure channel ------------------------------------------------------ */

/* listen: the proven id must be the one the rendezvous matched us with,
 * and the application must allow it (never on the server's word). */
static bool channel_allow(void *user, const uint8_t pk[PTCP_CHANNEL_PK_BYTES])
{
	struct ptcp_peer *p = user;
	struct ptcp_node *n = p->node;

	if (p->has_expect_id && memcmp(pk, p->expect_id, PTCP_ID_LEN) != 0) {
		nlog_info(n, "the authenticated peer is not the one the rendezvous matched us with");
		return false;
	}
	if (!ptcp_rdvflow_allowed(n->rdv, pk))
		return false;
	return !n->cb.peer_allow || n->cb.peer_allow(n, n->user, pk);
}

/* Makes the channel for p. The role and the ISNs come from the match
 * (ptcp_rdvflow fills them in) or, in direct mode, from the keys. */
static int channel_open(struct ptcp_peer *p, enum ptcp_channel_role role)
{
	struct ptcp_node *n = p->node;
	struct ptcp_channel_config cc;
	int rv;

	memset(&cc, 0, sizeof(cc));
	if (p->relay) {
		/* Over the relay each peer may go on with the MATCH of another
		 * IP version (other ISNs); both carry the one token the relay
		 * paired them by. */
		memcpy(p->binding, PTCP_PEER_RELAY_LABEL, sizeof(PTCP_PEER_RELAY_LABEL) - 1);
		memcpy(p->binding + sizeof(PTCP_PEER_RELAY_LABEL) - 1, p->relay_token,
		       PTCP_RELAY_TOKEN_LEN);
		sodium_memzero(p->relay_token, sizeof(p->relay_token));
		rv = (int)PTCP_PEER_BINDING_MAX;
	} else {
		rv = ptcp_channel_binding_isns(p->binding, role, p->open.isn, p->open.peer_isn);
		if (rv < 0)
			return rv;
	}
	cc.identity_sk = n->id.sk;
	cc.role = role;
	cc.binding = p->binding;
	cc.binding_len = (size_t)rv;
	if (p->listener_side) {
		cc.allow = channel_allow;
		cc.user = p;
	} else {
		cc.peer_pk = p->expect_id;
	}
	p->tx_wire = malloc(TX_WIRE_CAP);
	p->rx_wire = malloc(RX_WIRE_CAP);
	if (!p->tx_wire || !p->rx_wire)
		return PTCP_ERR_NOMEM;
	return ptcp_channel_new(&p->ch, &cc);
}

/* Hands tx_wire's bytes to the connection while its buffer takes them. */
static void wire_push(struct ptcp_peer *p, ptcp_ts now)
{
	ptcp_ssize k;
	bool moved = false;

	while (p->tx_wire_off < p->tx_wire_len) {
		k = tr_send(p, p->tx_wire + p->tx_wire_off, p->tx_wire_len - p->tx_wire_off, now);
		if (k <= 0)
			break;     /* full, or failed: the step sees the state */
		p->tx_wire_off += (size_t)k;
		moved = true;
	}
	if (p->tx_wire_off == p->tx_wire_len)
		p->tx_wire_off = p->tx_wire_len = 0;
	if (moved)
		tr_touch(p, now);
}

/* Our handshake bytes into tx_wire when it is empty. */
static int handshake_fill(struct ptcp_peer *p)
{
	ptcp_ssize k;

	if (p->tx_wire_len || ptcp_channel_handshake_pending(p->ch) == 0)
		return 0;
	k = ptcp_channel_handshake_output(p->ch, p->tx_wire, TX_WIRE_CAP);
	if (k < 0)
		return (int)k;
	p->tx_wire_off = 0;
	p->tx_wire_len = (size_t)k;
	return 0;
}

/* Feeds the channel from rx_wire and the connection until it holds
 * plaintext, needs more than there is, or fails. Returns 0 or the error. */
static int channel_feed(struct ptcp_peer *p, ptcp_ts now)
{
	ptcp_ssize k;

	for (;;) {
		if (p->rx_wire_off < p->rx_wire_len) {
			k = ptcp_channel_input(p->ch, p->rx_wire + p->rx_wire_off,
					       p->rx_wire_len - p->rx_wire_off);
			if (k < 0)
				return (int)k;
			p->rx_wire_off += (size_t)k;
			if (p->rx_wire_off < p->rx_wire_len)
				return 0;      /* a record's plaintext waits to be read */
			continue;
		}
		p->rx_wire_off = p->rx_wire_len = 0;
		k = tr_recv(p, p->rx_wire, RX_WIRE_CAP, now);
		if (k > 0) {
			tr_touch(p, now);
			p->rx_wire_len = (size_t)k;
			continue;
		}
		if (tr_recv_eof(p) && !p->eof_checked) {
			/* A FIN before the peer's end record is a cut, not an end. */
			p->eof_checked = true;
			return ptcp_channel_input_eof(p->ch);
		}
		return 0;
	}
}

/* --- reporting --------------------------------------------------------------- */

static void fill_info(struct ptcp_peer *p)
{
	struct ptcp_stats st;

	ptcp_endpoint_format(&p->remote, p->info.remote, sizeof(p->info.remote));
	ptcp_endpoint_format(&p->local, p->info.local, sizeof(p->info.local));
	p->info.encrypted = p->ch != NULL;
	if (p->ch && ptcp_channel_peer_pk(p->ch)) {
		memcpy(p->info.id, ptcp_channel_peer_pk(p->ch), PTCP_ID_LEN);
		p->info.id_proven = true;
	} else if (p->has_expect_id) {
		memcpy(p->info.id, p->expect_id, PTCP_ID_LEN);
	}
	if (p->conn) {
		ptcp_conn_stats(p->conn, &st);
		p->info.retransmits = st.retransmits;
		p->info.srtt = st.srtt;
		p->last_rto = st.rto;
	}
}

void ptcp_peer_get_info(const ptcp_peer *p, ptcp_peer_info *info)
{
	fill_info((struct ptcp_peer *)p);
	*info = p->info;
}

/* The one line per session. */
static void log_session(struct ptcp_peer *p)
{
	struct ptcp_node *n = p->node;
	char id[PTCP_PEERID_TEXT_MAX] = "-";
	uint64_t dur = ptcp_ts_elapsed(p->info.ended, p->info.started);

	if ((p->info.id_proven || p->has_expect_id) &&
	    ptcp_peerid_encode(id, sizeof(id), p->info.id, NULL) < 0)
		strcpy(id, "?");
	nlog_notice(n, "session %s %s%s%s: %.1f s, %llu bytes in, %llu out, %s%s", id, p->info.remote,
		    p->info.relayed ? " (relayed)" : "", p->ch ? "" : " (plain)",
		    (double)dur / PTCP_NS_PER_S,
		    (unsigned long long)p->info.bytes_in, (unsigned long long)p->info.bytes_out,
		    p->err ? "ended: " : "closed cleanly", p->err ? ptcp_strerror(p->err) : "");
}

/* The linger a node keeps after p's end for a TIME-WAIT that may need
 * to acknowledge a retransmitted FIN. */
static uint64_t linger_for(const struct ptcp_peer *p)
{
	const ptcp_settings *s = &p->node->s;
	uint64_t t;

	if (s->linger >= 0)
		return (uint64_t)s->linger;
	t = 2 * p->last_rto;
	if (t < 200 * PTCP_NS_PER_MS)
		t = 200 * PTCP_NS_PER_MS;
	if (t > 60 * PTCP_NS_PER_S)
		t = 60 * PTCP_NS_PER_S;
	return t;
}

/* PEER_ENDED: tell the application, hand the connection back, free. */
static void report_end(struct ptcp_peer *p, ptcp_ts now)
{
	struct ptcp_node *n = p->node;
	ptcp_ts linger_end;

	fill_info(p);
	p->info.ended = now;
	/* A request that never got a match is no session (its error is the
	 * application's to report). */
	if (p->remote.family != PTCP_AF_NONE)
		log_session(p);
	if (p->conn) {
		linger_end = ptcp_ts_add(now, linger_for(p));
		if (ptcp_conn_state(p->conn) == PTCP_TIME_WAIT && linger_end > n->linger_until)
			n->linger_until = linger_end;
	}
	if (!p->dead && n->cb.peer_closed)
		n->cb.peer_closed(p, p->user, p->err, &p->info);
	ptcp_peer_destroy(p);
}

void ptcp_peer_fail_detail(struct ptcp_peer *p, int err, ptcp_ts now, const char *detail)
{
	if (p->phase != PEER_ENDED && detail && !p->info.detail[0])
		snprintf(p->info.detail, sizeof(p->info.detail), "%s", detail);
	ptcp_peer_fail(p, err, now);
}

void ptcp_peer_note_ttl(struct ptcp_peer *p, uint8_t ttl, bool is_rst, bool reset_now)
{
	if (is_rst) {
		if (reset_now) {
			p->rst_ttl_seen = true;
			p->rst_ttl = ttl;
		}
		return;
	}
	if (!p->peer_ttl_seen || ttl < p->peer_ttl_min)
		p->peer_ttl_min = ttl;
	if (!p->peer_ttl_seen || ttl > p->peer_ttl_max)
		p->peer_ttl_max = ttl;
	p->peer_ttl_seen = true;
}

/* The line for a reset: what the TTLs tell of who sent the RST. */
static void describe_reset(struct ptcp_peer *p)
{
	char ttls[16];

	if (!p->rst_ttl_seen || !p->peer_ttl_seen) {
		snprintf(p->info.detail, sizeof(p->info.detail), "connection reset (by the peer or by a "
			 "box on the path: no segment of the peer's to tell them apart)");
		return;
	}
	if (p->peer_ttl_min == p->peer_ttl_max)
		snprintf(ttls, sizeof(ttls), "%u", p->peer_ttl_min);
	else
		snprintf(ttls, sizeof(ttls), "%u to %u", p->peer_ttl_min, p->peer_ttl_max);
	if (p->rst_ttl >= p->peer_ttl_min && p->rst_ttl <= p->peer_ttl_max)
		snprintf(p->info.detail, sizeof(p->info.detail), "connection reset by the peer (its RST "
			 "came as far as the peer's segments: IP TTL %s)", ttls);
	else
		snprintf(p->info.detail, sizeof(p->info.detail), "connection reset, but not by the peer: "
			 "the RST came with IP TTL %u and the peer's segments with %s, so a box on the path "
			 "sent it (a NAT or firewall that forgot the connection, e.g. after an idle "
			 "timeout, or an attacker)", p->rst_ttl, ttls);
}

/* Aborts c unless closed (a RST only past SYN-SENT: ptcp_conn_abort())
 * and hands it back to the table. */
static void drop_conn(struct ptcp_node *n, struct ptcp_conn *c, ptcp_ts now)
{
	if (ptcp_conn_state(c) != PTCP_CLOSED) {
		(void)ptcp_conn_abort(c, now);
		(void)ptcp_stack_touch(n->stack, c, now);
	}
	(void)ptcp_stack_release(n->stack, c, now);
}

/* The predicted ports not taken: every candidate connection dropped. */
static void drop_cands(struct ptcp_peer *p, ptcp_ts now)
{
	for (unsigned i = 0; i < p->cand_opened; i++) {
		if (p->cand[i])
			drop_conn(p->node, p->cand[i], now);
		p->cand[i] = NULL;
	}
	p->n_cand = p->cand_opened = 0;
}

void ptcp_peer_fail(struct ptcp_peer *p, int err, ptcp_ts now)
{
	struct ptcp_node *n = p->node;
	char name[64];

	if (p->phase == PEER_ENDED)
		return;
	if (err == PTCP_ERR_RESET && !p->info.detail[0])
		describe_reset(p);
	if (p->conn && ptcp_conn_state(p->conn) != PTCP_CLOSED) {
		(void)ptcp_conn_abort(p->conn, now);
		(void)ptcp_stack_touch(n->stack, p->conn, now);
	}
	if (p->alt.conn && ptcp_conn_state(p->alt.conn) != PTCP_CLOSED) {
		(void)ptcp_conn_abort(p->alt.conn, now);
		(void)ptcp_stack_touch(n->stack, p->alt.conn, now);
	}
	drop_cands(p, now);
	if (p->relay) {
		/* Closed at once: the relay ends the other peer's side. */
		ptcp_relay_conn_free(p->relay);
		p->relay = NULL;
	}
	p->err = err;
	p->phase = PEER_ENDED;
	n->n_peers--;
	nlog_info(n, "peer %s: %s", ptcp_node_peer_name(p, name, sizeof(name)),
		  err ? ptcp_strerror(err) : "ended");
	ptcp_node_kick(n);
}

void ptcp_peer_conn_event(struct ptcp_peer *p, const struct ptcp_event *ev)
{
	struct ptcp_node *n = p->node;
	char name[64];

	if (!ptcp_nlog_on(&n->log, PTCP_LOG_INFO))
		goto side;
	ptcp_node_peer_name(p, name, sizeof(name));
	switch (ev->type) {
	case PTCP_EV_STATE:
		nlog_info(n, "%s: state %s -> %s", name, ptcp_state_name(ev->from),
			  ptcp_state_name(ev->to));
		break;
	case PTCP_EV_DROP:
		nlog_info(n, "%s: drop: %s%s", name, ptcp_drop_name(ev->drop),
			  ev->ack_held ? " (its ACK held back by the rate limit)" : "");
		break;
	case PTCP_EV_ISN_MISMATCH:
		nlog_warn(n, "%s: the peer's SYN carries ISN %u, not the agreed %u: %s", name, ev->seq,
			  p->open.peer_isn, ev->accepted ? "accepted" : "ignored");
		break;
	case PTCP_EV_RETRANSMIT:
		nlog_info(n, "%s: retransmission timeout: seq %u, backoff %u", name, ev->seq,
			  ev->backoff);
		break;
	case PTCP_EV_FAST_RETRANSMIT:
		nlog_info(n, "%s: fast retransmit: seq %u", name, ev->seq);
		break;
	case PTCP_EV_CLOSED:
		nlog_info(n, "%s: closed: %s", name, ev->error ? ptcp_strerror(ev->error) : "clean close");
		break;
	default:
		break;
	}
side:
	if (ev->type == PTCP_EV_RETRANSMIT && p->gso)
		ptcp_gso_path_suspect(p->gso);
	ptcp_node_kick(n);
}

/* --- opening ----------------------------------------------------------------- */

/* The secure channel, once the connection it runs on is the one: its
 * binding names that connection's ISNs. */
static int channel_start(struct ptcp_peer *p)
{
	struct ptcp_node *n = p->node;
	enum ptcp_channel_role role;
	int rv;

	if (n->key_wiped)
		return PTCP_ERR_IDENTITY;
	if (p->via_rendezvous) {
		role = p->role;
	} else {
		rv = ptcp_channel_role_from_keys(n->id.pk, p->expect_id);
		if (rv < 0)
			return rv;
		role = (enum ptcp_channel_role)rv;
	}
	rv = channel_open(p, role);
	if (rv != 0)
		return rv;
	/* The channel has its own copy of the key now. */
	if (n->s.forget_key && !n->key_wiped) {
		ptcp_identity_wipe(&n->id);
		n->key_wiped = true;
		nlog_info(n, "identity key wiped from memory (the secure channel holds its own copy)");
	}
	return 0;
}

static const char *version_name(uint8_t family)
{
	return family == PTCP_AF_INET6 ? "IPv6" : "IPv4";
}

int ptcp_peer_start(struct ptcp_peer *p, ptcp_ts now)
{
	struct ptcp_node *n = p->node;
	struct ptcp_config cc;
	char a[48], b[48];
	int rv;

	if (n->s.encrypt) {
		if (n->key_wiped)
			return PTCP_ERR_IDENTITY;
		if (!p->via_rendezvous && (rv = ptcp_channel_role_from_keys(n->id.pk, p->expect_id)) < 0)
			return rv;
	}
	/* Without the channel the key only signed our registration. */
	if (!n->s.encrypt && n->s.forget_key && n->has_id && !n->key_wiped) {
		ptcp_identity_wipe(&n->id);
		n->key_wiped = true;
		nlog_info(n, "identity key wiped from memory (no secure channel needs it)");
	}
	ptcp_node_conn_config(n, p, &cc);
	/* Predicted ports, either way: no SYN clocked by a RST. Here a
	 * RST from the peer's NAT also undoes our NAT's mapping, and each
	 * SYN after it takes our symmetric NAT's next port: SYNs as fast as
	 * RSTs would walk it out of the peer's window. */
	if (p->n_cand || p->aimed_at)
		cc.syn_rst_gap = 0;
	if (p->aimed_at && cc.syn_interval && cc.syn_interval < PTCP_PEER_AIMED_FIRST_GAP) {
		cc.syn_interval = PTCP_PEER_AIMED_FIRST_GAP;
		if (cc.syn_interval_max < cc.syn_interval)
			cc.syn_interval_max = cc.syn_interval;
	}
	if (p->n_cand)
		p->cand_next = ptcp_ts_add(now, PTCP_PEER_PREDICT_GAP);
	rv = ptcp_stack_connect(n->stack, &p->conn, &p->local, &p->remote,
				p->isn_from_table ? NULL : &p->open, &cc, p, now);
	if (rv != 0) {
		p->conn = NULL;
		nlog_error(n, "cannot open a connection to %s: %s",
			   ptcp_endpoint_format(&p->remote, a, sizeof(a)), ptcp_strerror(rv));
		return rv;
	}
	p->phase = PEER_OPENING;
	if (!p->active)
		p->open_deadline = ptcp_ts_add(now, p->open_timeout ? p->open_timeout : n->s.punch_window);
	else if (p->open_timeout)
		p->open_deadline = ptcp_ts_add(now, p->open_timeout);
	nlog_info(n, "connecting %s -> %s%s", ptcp_endpoint_format(&p->local, a, sizeof(a)),
		  ptcp_endpoint_format(&p->remote, b, sizeof(b)),
		  p->active ? "" : " (simultaneous open)");
	return 0;
}

bool ptcp_peer_has_family(const struct ptcp_peer *p, uint8_t family)
{
	return (p->phase != PEER_REQUESTED && p->remote.family == family) ||
	       (p->alt.on && p->alt.remote.family == family);
}

static bool synchronized(enum ptcp_state st)
{
	return st != PTCP_CLOSED && st != PTCP_LISTEN && st != PTCP_SYN_SENT &&
	       st != PTCP_SYN_RECEIVED;
}

/* The first attempt and the second change places. */
static void swap_alt(struct ptcp_peer *p)
{
	struct peer_alt first = p->alt;

	first.conn = p->conn;
	first.local = p->local;
	first.remote = p->remote;
	first.open = p->open;
	first.synced_at = p->synced_at;
	first.start_at = p->start_at;
	first.started = p->conn != NULL;
	p->conn = p->alt.conn;
	p->local = p->alt.local;
	p->remote = p->alt.remote;
	p->open = p->alt.open;
	p->synced_at = p->alt.synced_at;
	p->start_at = p->alt.start_at;
	p->alt = first;
}

int ptcp_peer_add_alt(struct ptcp_peer *p, const struct ptcp_endpoint *local,
		      const struct ptcp_endpoint *remote, const struct ptcp_open *open,
		      ptcp_ts start_at)
{
	char name[64], a[48];

	if ((p->phase != PEER_SCHEDULED && p->phase != PEER_OPENING) || p->alt.on ||
	    ptcp_peer_has_family(p, remote->family))
		return PTCP_ERR_STATE;
	memset(&p->alt, 0, sizeof(p->alt));
	p->alt.on = true;
	p->alt.local = *local;
	p->alt.remote = *remote;
	p->alt.open = *open;
	p->alt.start_at = start_at;
	/* The one that fires first is the first. */
	if (p->phase == PEER_SCHEDULED && start_at < p->start_at)
		swap_alt(p);
	nlog_info(p->node, "%s: also over %s, at %s: both at once (Happy Eyeballs)",
		  ptcp_node_peer_name(p, name, sizeof(name)), version_name(remote->family),
		  ptcp_endpoint_format(remote, a, sizeof(a)));
	return 0;
}

void ptcp_peer_predict(struct ptcp_peer *p, uint16_t last_port, int16_t delta)
{
	char name[64];
	long port;
	unsigned k;

	p->n_cand = p->cand_opened = 0;
	p->cand_family = p->remote.family;
	for (k = 1; k <= PTCP_PEER_PREDICT_PORTS; k++) {
		port = (long)last_port + (long)k * delta;
		if (port < 1 || port > 65535)
			break;
		if (k == 1)
			p->remote.port = (uint16_t)port;
		else
			p->cand_port[p->n_cand++] = (uint16_t)port;
	}
	nlog_info(p->node, "%s: its NAT is symmetric with sequential ports (last %u, step %d): "
		  "punching ports %u to %ld at once", ptcp_node_peer_name(p, name, sizeof(name)),
		  last_port, delta, p->remote.port, (long)last_port + (long)(k - 1) * delta);
}

/* PEER_OPENING with predicted ports: opens the next candidate when due
 * (one per PTCP_PEER_PREDICT_GAP: a bounded burst, not a port scan),
 * lets closed ones go, and when one is synchronized (or conn failed and
 * one still punches) makes it conn. */
static void step_cands(struct ptcp_peer *p, ptcp_ts now)
{
	struct ptcp_node *n = p->node;
	struct ptcp_endpoint remote;
	struct ptcp_config cc;
	int take, sync = -1, live = -1;

	if (p->n_cand == 0)
		return;
	/* The attempt over the other IP version is the first now: the
	 * predicted ports were for this one's peer endpoint. */
	if (p->remote.family != p->cand_family) {
		drop_cands(p, now);
		return;
	}
	if (p->cand_opened < p->n_cand && now >= p->cand_next) {
		unsigned i = p->cand_opened++;

		remote = p->remote;
		remote.port = p->cand_port[i];
		ptcp_node_conn_config(n, p, &cc);
		/* A RST from the peer's NAT to a port it did not give is the
		 * rule here, not a sign: no SYN storm clocked by them
		 * (ptcp_peer_start). */
		cc.syn_rst_gap = 0;
		if (ptcp_stack_connect(n->stack, &p->cand[i], &p->local, &remote, &p->open, &cc, p,
				       now) != 0)
			p->cand[i] = NULL;
		p->cand_next = ptcp_ts_add(now, PTCP_PEER_PREDICT_GAP);
	}
	for (unsigned i = 0; i < p->cand_opened; i++) {
		if (!p->cand[i])
			continue;
		if (ptcp_conn_state(p->cand[i]) == PTCP_CLOSED) {
			(void)ptcp_stack_release(n->stack, p->cand[i], now);
			p->cand[i] = NULL;
		} else if (synchronized(ptcp_conn_state(p->cand[i]))) {
			sync = (int)i;
		} else if (live < 0) {
			live = (int)i;
		}
	}
	if (synchronized(ptcp_conn_state(p->conn)))
		return;
	if (sync >= 0)
		take = sync;
	else if (ptcp_conn_state(p->conn) == PTCP_CLOSED && live >= 0)
		take = live;
	else
		return;
	/* That candidate is the connection: the others go quietly (no RST
	 * from SYN-SENT); their NAT entries time out. */
	if (p->conn)
		drop_conn(n, p->conn, now);
	p->conn = p->cand[take];
	p->remote.port = p->cand_port[take];
	p->cand[take] = NULL;
}

/* Starts the second attempt's connection. */
static int start_alt(struct ptcp_peer *p, ptcp_ts now)
{
	struct ptcp_node *n = p->node;
	struct ptcp_config cc;
	ptcp_ts until;
	char a[48], b[48];
	int rv;

	ptcp_node_conn_config(n, p, &cc);
	cc.mss = ptcp_node_mss(p->alt.remote.family);
	rv = ptcp_stack_connect(n->stack, &p->alt.conn, &p->alt.local, &p->alt.remote, &p->alt.open,
				&cc, p, now);
	if (rv != 0) {
		p->alt.conn = NULL;
		return rv;
	}
	p->alt.started = true;
	until = ptcp_ts_add(now, p->open_timeout ? p->open_timeout : n->s.punch_window);
	if (until > p->open_deadline || p->open_deadline == PTCP_TS_NEVER)
		p->open_deadline = until;
	nlog_info(n, "connecting %s -> %s (simultaneous open, %s beside %s)",
		  ptcp_endpoint_format(&p->alt.local, a, sizeof(a)),
		  ptcp_endpoint_format(&p->alt.remote, b, sizeof(b)), version_name(p->alt.remote.family),
		  version_name(p->remote.family));
	return 0;
}

/* The second attempt is given up: reset (it may be established on the
 * other side, which then hears it is not the one) and handed back. */
static void drop_alt(struct ptcp_peer *p, ptcp_ts now, const char *why)
{
	struct ptcp_node *n = p->node;
	char name[64];

	if (p->alt.conn)
		drop_conn(n, p->alt.conn, now);
	nlog_info(n, "%s: %s attempt %s", ptcp_node_peer_name(p, name, sizeof(name)),
		  version_name(p->alt.remote.family), why);
	memset(&p->alt, 0, sizeof(p->alt));
}

/* Which attempt is the connection, once one is synchronized: 1 the
 * first, 2 the second, 0 not yet. The initiator of the match decides:
 * the first one synchronized (IPv6 when both are at once), and it resets
 * the other. The responder takes the one the initiator's bytes arrive on
 * (with the channel the initiator speaks first), or the only one left,
 * or after RESPONDER_GRACE the one synchronized. */
static int choose(struct ptcp_peer *p, bool sync1, bool sync2, ptcp_ts now)
{
	bool first6 = p->remote.family == PTCP_AF_INET6;

	if (!sync1 && !sync2)
		return 0;
	if (!p->alt.on)
		return 1;
	if (p->role != PTCP_CHANNEL_RESPONDER) {
		if (sync1 && sync2)
			return first6 ? 1 : 2;
		return sync1 ? 1 : 2;
	}
	if (sync1 && (ptcp_conn_recv_ready(p->conn) > 0 || ptcp_conn_recv_eof(p->conn)))
		return 1;
	if (sync2 && (ptcp_conn_recv_ready(p->alt.conn) > 0 || ptcp_conn_recv_eof(p->alt.conn)))
		return 2;
	if (sync1 && sync2 && now >= ptcp_ts_add(p->synced_at < p->alt.synced_at ? p->synced_at :
						   p->alt.synced_at, RESPONDER_GRACE))
		return first6 ? 1 : 2;
	if (sync1 && !sync2 && now >= ptcp_ts_add(p->synced_at, RESPONDER_GRACE))
		return 1;
	if (sync2 && !sync1 && now >= ptcp_ts_add(p->alt.synced_at, RESPONDER_GRACE))
		return 2;
	return 0;
}

/* PEER_OPENING with a second attempt: start it when due, let a failed one
 * go, and decide once one is synchronized. Returns true when p->conn is
 * the connection to go on with (the other is gone), false to wait. */
static bool step_alt(struct ptcp_peer *p, ptcp_ts now)
{
	char why[96];
	bool sync1, sync2;
	int rv, c;

	if (!p->alt.on)
		return true;
	if (!p->alt.started && now >= p->alt.start_at && (rv = start_alt(p, now)) != 0) {
		snprintf(why, sizeof(why), "cannot start: %s", ptcp_strerror(rv));
		drop_alt(p, now, why);
		return true;
	}
	/* The first attempt failed: the second goes on alone (at once, if it
	 * has not started yet). */
	if (ptcp_conn_state(p->conn) == PTCP_CLOSED) {
		int err = ptcp_conn_error(p->conn);

		swap_alt(p);
		if (!p->conn && (rv = ptcp_peer_start(p, now)) != 0)
			return true;     /* p->conn is NULL: failed below */
		snprintf(why, sizeof(why), "failed (%s): going on over %s alone",
			 err ? ptcp_strerror(err) : "closed", version_name(p->remote.family));
		drop_alt(p, now, why);
		return true;
	}
	if (p->alt.started && ptcp_conn_state(p->alt.conn) == PTCP_CLOSED) {
		int err = ptcp_conn_error(p->alt.conn);

		snprintf(why, sizeof(why), "failed (%s)", err ? ptcp_strerror(err) : "closed");
		drop_alt(p, now, why);
		return true;
	}
	sync1 = synchronized(ptcp_conn_state(p->conn));
	sync2 = p->alt.started && synchronized(ptcp_conn_state(p->alt.conn));
	if (sync1 && !p->synced_at)
		p->synced_at = now;
	if (sync2 && !p->alt.synced_at)
		p->alt.synced_at = now;
	c = choose(p, sync1, sync2, now);
	if (c == 0)
		return false;
	if (c == 2)
		swap_alt(p);
	snprintf(why, sizeof(why), "dropped: %s is the connection (%s)", version_name(p->remote.family),
		 p->role == PTCP_CHANNEL_RESPONDER ? "the initiator's choice" : "synchronized first");
	drop_alt(p, now, why);
	return true;
}

/* --- the steps ------------------------------------------------------------------ */

static void go_open(struct ptcp_peer *p, ptcp_ts now)
{
	struct ptcp_node *n = p->node;
	char name[64], id[PTCP_PEERID_TEXT_MAX];

	p->phase = PEER_OPEN;
	p->info.opened = now;
	if (p->ch) {
		if (ptcp_peerid_encode(id, sizeof(id), ptcp_channel_peer_pk(p->ch), NULL) < 0)
			id[0] = '\0';
		nlog_info(n, "%s: secure channel established (%s) with %s after %.3f ms",
			  ptcp_node_peer_name(p, name, sizeof(name)),
			  ptcp_channel_role_name(ptcp_channel_role(p->ch)), id,
			  (double)ptcp_ts_elapsed(now, p->info.established) / PTCP_NS_PER_MS);
	}
	if (n->cb.peer_open)
		n->cb.peer_open(p, p->user);
}

/* The secure channel's handshake starts over the transport now in
 * place (the engine's connection once synchronized, or the relay's
 * stream once READY); without encryption the peer is open. */
static void go_handshake(struct ptcp_peer *p, ptcp_ts now)
{
	struct ptcp_node *n = p->node;
	int rv;

	if (n->s.encrypt) {
		if ((rv = channel_start(p)) != 0) {
			ptcp_peer_fail(p, rv, now);
			return;
		}
		p->phase = PEER_HANDSHAKE;
		p->handshake_deadline = ptcp_ts_add(now, n->s.handshake_timeout);
	} else {
		go_open(p, now);
	}
}

/* Punching gave up (or cannot work: relay_at_once): to the relay the
 * MATCH offered, if there is one and we may (settings.relay; only with
 * the channel, so that the relay sees sealed records alone). The
 * engine's attempts are reset. Returns true when p goes on (relaying,
 * or failed for good with the relay's reason). */
static bool relay_fallback(struct ptcp_peer *p, ptcp_ts now)
{
	struct ptcp_node *n = p->node;
	char name[64], a[48];
	int rv;

	if (!p->has_relay_offer || !n->s.relay || !n->s.encrypt || !p->via_rendezvous || p->active ||
	    p->accepted)
		return false;
	if (p->alt.on)
		drop_alt(p, now, "dropped: going to the relay");
	drop_cands(p, now);
	if (p->conn) {
		drop_conn(n, p->conn, now);
		p->conn = NULL;
	}
	p->open_deadline = PTCP_TS_NEVER;
	/* The token stays for the channel's binding (channel_open). */
	rv = ptcp_relay_conn_new(&p->relay, n, &p->relay_ep, p->relay_token, now);
	p->has_relay_offer = false;
	if (rv != 0) {
		ptcp_peer_fail(p, rv, now);
		return true;
	}
	p->info.relayed = true;
	p->remote = p->relay_ep;
	memset(&p->local, 0, sizeof(p->local));
	p->phase = PEER_RELAYING;
	nlog_info(n, "%s: %s: relayed through %s", ptcp_node_peer_name(p, name, sizeof(name)),
		  p->relay_at_once ? "our NAT is symmetric" : "punching failed",
		  ptcp_endpoint_format(&p->relay_ep, a, sizeof(a)));
	return true;
}

static void step_relaying(struct ptcp_peer *p, ptcp_ts now)
{
	struct ptcp_node *n = p->node;
	const char *detail;
	char name[64];
	int rv = ptcp_relay_conn_status(p->relay, &detail);

	if (rv < 0) {
		ptcp_peer_fail_detail(p, rv, now, detail);
		return;
	}
	if (rv == 0) {
		if (now >= ptcp_relay_conn_deadline(p->relay))
			ptcp_peer_fail_detail(p, PTCP_ERR_RELAY_TIMEOUT, now,
					      "the peer did not come to the relay in time");
		return;
	}
	ptcp_relay_conn_endpoints(p->relay, &p->local, &p->remote);
	p->info.established = now;
	nlog_info(n, "%s: relayed stream open after %.3f ms", ptcp_node_peer_name(p, name, sizeof(name)),
		  (double)ptcp_ts_elapsed(now, p->info.started) / PTCP_NS_PER_MS);
	go_handshake(p, now);
}

/* The open's deadline passed: a timeout, or, after our NAT rewrote our
 * port at registration, most likely a symmetric NAT. */
static void open_timed_out(struct ptcp_peer *p, ptcp_ts now)
{
	struct ptcp_node *n = p->node;
	struct ptcp_endpoint ours, seen;
	char name[64], why[256];

	ptcp_node_peer_name(p, name, sizeof(name));
	nlog_info(n, "%s: no connection after %.1f s: giving up", name,
		  (double)ptcp_ts_elapsed(now, p->info.started) / PTCP_NS_PER_S);
	if (relay_fallback(p, now))
		return;
	if (!p->via_rendezvous || p->active || p->accepted) {
		ptcp_peer_fail(p, PTCP_ERR_TIMEOUT, now);
	} else if (ptcp_rdvflow_rewritten(n->rdv, p->remote.family, &ours, &seen)) {
		/* The port the server saw is not the one our SYNs to the peer
		 * leave from: the peer aimed at a port its NAT does not map to
		 * us. */
		snprintf(why, sizeof(why), "no connection after %.0f s of punching: our NAT rewrote "
			 "our port %u to %u, so the peer's SYNs were aimed at a port it does not map "
			 "to us: likely a symmetric NAT, through which hole punching cannot work",
			 (double)n->s.punch_window / PTCP_NS_PER_S, ours.port, seen.port);
		ptcp_peer_fail_detail(p, PTCP_ERR_SYMMETRIC_NAT, now, why);
	} else {
		ptcp_peer_fail(p, PTCP_ERR_PUNCH_TIMEOUT, now);
	}
}

static void step_opening(struct ptcp_peer *p, ptcp_ts now)
{
	struct ptcp_node *n = p->node;
	enum ptcp_state st;
	char name[64];

	step_cands(p, now);
	if (!step_alt(p, now)) {
		if (now >= p->open_deadline)
			goto timeout;
		return;
	}
	if (!p->conn) {
		ptcp_peer_fail(p, PTCP_ERR_SYSTEM, now);
		return;
	}
	st = ptcp_conn_state(p->conn);

	if (st == PTCP_CLOSED) {
		int err = ptcp_conn_error(p->conn);

		ptcp_peer_fail(p, err ? err : PTCP_ERR_RESET, now);
		return;
	}
	if (synchronized(st)) {
		if (p->n_cand)
			nlog_info(n, "%s: predicted port %u answered",
				  ptcp_node_peer_name(p, name, sizeof(name)), p->remote.port);
		drop_cands(p, now);
		p->info.established = now;
		nlog_info(n, "%s: established after %.3f ms", ptcp_node_peer_name(p, name, sizeof(name)),
			  (double)ptcp_ts_elapsed(now, p->info.started) / PTCP_NS_PER_MS);
		p->open_deadline = PTCP_TS_NEVER;
		if (n->s.gso && p->remote.family != PTCP_AF_INET)
			nlog_info(n, "%s: offload (--gso) is IPv4 only: this IPv6 peer goes through the "
				  "raw socket", name);
		else if (n->s.gso && !p->gso && ptcp_gso_new(&p->gso, p) != 0)
			p->gso = NULL;
		go_handshake(p, now);
		return;
	}
	if (now >= p->open_deadline) {
timeout:
		open_timed_out(p, now);
	}
}

static void step_handshake(struct ptcp_peer *p, ptcp_ts now)
{
	bool broken = p->relay ? tr_error(p) != 0 : ptcp_conn_state(p->conn) == PTCP_CLOSED;
	int rv;

	if (broken) {
		rv = tr_error(p);
		ptcp_peer_fail(p, rv ? rv : PTCP_ERR_CH_HANDSHAKE_EOF, now);
		return;
	}
	if ((rv = handshake_fill(p)) != 0)
		goto fail;
	wire_push(p, now);
	if ((rv = channel_feed(p, now)) != 0)
		goto fail;
	/* Our AUTH follows the peer's HELLO. */
	if ((rv = handshake_fill(p)) != 0)
		goto fail;
	wire_push(p, now);
	if ((rv = ptcp_channel_error(p->ch)) != 0)
		goto fail;
	if (ptcp_channel_is_established(p->ch)) {
		p->handshake_deadline = PTCP_TS_NEVER;
		go_open(p, now);
		return;
	}
	if (now >= p->handshake_deadline)
		ptcp_peer_fail(p, PTCP_ERR_HANDSHAKE_TIMEOUT, now);
	return;
fail:
	ptcp_peer_fail(p, rv, now);
}

/* Something to read: bytes, or the end, since read last returned 0. */
static bool readable(const struct ptcp_peer *p)
{
	if (p->eof_delivered)
		return false;
	return tr_recv_ready(p) > 0 || tr_recv_eof(p) || p->rx_wire_off < p->rx_wire_len;
}

static bool writable(const struct ptcp_peer *p)
{
	size_t space = tr_send_space(p);

	if (!p->ch)
		return space > 0;
	return p->tx_wire_len == 0 && space >= PTCP_CHANNEL_RECORD_OVERHEAD + SEAL_MIN;
}

/* The application's shutdown: the end record (with the channel), then
 * our FIN once everything before it is in the connection. */
static int step_shutdown(struct ptcp_peer *p, ptcp_ts now)
{
	ptcp_ssize k;

	if (!p->shut_wanted || p->shut_done)
		return 0;
	if (p->ch) {
		if (!p->end_sealed) {
			if (p->tx_wire_len)
				return 0;
			k = ptcp_channel_close(p->ch, p->tx_wire, TX_WIRE_CAP);
			if (k < 0)
				return (int)k;
			p->end_sealed = true;
			p->tx_wire_off = 0;
			p->tx_wire_len = (size_t)k;
			wire_push(p, now);
		}
		if (p->tx_wire_len)
			return 0;
	}
	p->shut_done = true;
	tr_shutdown(p, now);
	return 0;
}

static void step_open(struct ptcp_peer *p, ptcp_ts now)
{
	struct ptcp_node *n = p->node;
	int rv;

	if (p->ch)
		wire_push(p, now);
	if ((rv = step_shutdown(p, now)) != 0) {
		ptcp_peer_fail(p, rv, now);
		return;
	}
	if ((rv = tr_error(p)) != 0) {
		ptcp_peer_fail(p, rv, now);
		return;
	}
	if (p->read_blocked && readable(p)) {
		p->read_blocked = false;
		if (n->cb.peer_readable)
			n->cb.peer_readable(p, p->user);
		if (p->dead || p->phase != PEER_OPEN)
			return;
	}
	if (p->write_blocked && writable(p)) {
		p->write_blocked = false;
		if (n->cb.peer_writable)
			n->cb.peer_writable(p, p->user);
		if (p->dead || p->phase != PEER_OPEN)
			return;
	}
	/* Both directions ended cleanly and the application has the end. */
	if (tr_done(p) && p->eof_delivered && p->shut_done) {
		p->phase = PEER_ENDED;
		n->n_peers--;
		p->err = 0;
	}
}

void ptcp_peer_step(struct ptcp_peer *p, ptcp_ts now)
{
	enum peer_phase before;
	int guard = 0;

	if (p->dead) {
		if (p->conn && ptcp_conn_state(p->conn) != PTCP_CLOSED) {
			(void)ptcp_conn_abort(p->conn, now);
			(void)ptcp_stack_touch(p->node->stack, p->conn, now);
		}
		ptcp_peer_destroy(p);
		return;
	}
	/* A peer that came to us (a match, or an accepted connection): the
	 * application hears of it first. */
	if ((p->listener_side || p->accepted) && !p->told_new && p->phase != PEER_ENDED) {
		p->told_new = true;
		if (!p->err && p->node->cb.peer_new)
			p->node->cb.peer_new(p, p->user);
		if (p->dead) {
			ptcp_peer_step(p, now);
			return;
		}
	}
	do {
		before = p->phase;
		if (p->err && p->phase != PEER_ENDED) {
			ptcp_peer_fail(p, p->err, now);
			continue;
		}
		switch (p->phase) {
		case PEER_REQUESTED:
			if (now >= p->request_deadline) {
				nlog_info(p->node, "no answer from the rendezvous server in time");
				ptcp_peer_fail(p, PTCP_ERR_RDV_UNREACHABLE, now);
			}
			break;
		case PEER_SCHEDULED:
			if (now >= p->start_at && !(p->relay_at_once && relay_fallback(p, now))) {
				int rv = ptcp_peer_start(p, now);

				if (rv != 0)
					ptcp_peer_fail(p, rv, now);
			}
			break;
		case PEER_OPENING:
			step_opening(p, now);
			break;
		case PEER_RELAYING:
			step_relaying(p, now);
			break;
		case PEER_HANDSHAKE:
			step_handshake(p, now);
			break;
		case PEER_OPEN:
			step_open(p, now);
			break;
		case PEER_ENDED:
			report_end(p, now);
			return;
		}
		if (p->dead) {
			ptcp_peer_step(p, now);
			return;
		}
	} while (p->phase != before && ++guard < 8);
}

ptcp_ts ptcp_peer_deadline(const struct ptcp_peer *p)
{
	switch (p->phase) {
	case PEER_REQUESTED:
		return p->request_deadline;
	case PEER_SCHEDULED:
		return p->start_at;
	case PEER_OPENING:
		if (p->cand_opened < p->n_cand)
			return ptcp_ts_min(p->open_deadline, p->cand_next);
		if (p->alt.on && !p->alt.started)
			return ptcp_ts_min(p->open_deadline, p->alt.start_at);
		if (p->alt.on && p->role == PTCP_CHANNEL_RESPONDER) {
			ptcp_ts t = p->open_deadline;

			if (p->synced_at)
				t = ptcp_ts_min(t, ptcp_ts_add(p->synced_at, RESPONDER_GRACE));
			if (p->alt.synced_at)
				t = ptcp_ts_min(t, ptcp_ts_add(p->alt.synced_at, RESPONDER_GRACE));
			return t;
		}
		return p->open_deadline;
	case PEER_RELAYING:
		return ptcp_relay_conn_deadline(p->relay);
	case PEER_HANDSHAKE:
		return p->handshake_deadline;
	default:
		return PTCP_TS_NEVER;
	}
}

/* --- the application's calls ------------------------------------------------------ */

static int usable(const struct ptcp_peer *p)
{
	if (p->dead || p->phase == PEER_ENDED)
		return p->err ? p->err : PTCP_ERR_CLOSED;
	if (p->phase != PEER_OPEN)
		return PTCP_ERR_STATE;
	return 0;
}

ssize_t ptcp_peer_write(ptcp_peer *p, const void *buf, size_t len)
{
	const uint8_t *in = buf;
	size_t done = 0, space, chunk, taken;
	ptcp_ts now;
	ptcp_ssize k;
	int rv;

	if ((rv = usable(p)) != 0)
		return rv;
	if (p->shut_wanted)
		return PTCP_ERR_CLOSED;
	if (len == 0)
		return 0;
	now = ptcp_clock_now();
	if (!p->ch) {
		k = tr_send(p, buf, len, now);
		if (k < 0)
			return k;
		done = (size_t)k;
	} else {
		wire_push(p, now);
		while (done < len && p->tx_wire_len == 0) {
			space = tr_send_space(p);
			if (space < PTCP_CHANNEL_RECORD_OVERHEAD + SEAL_MIN &&
			    space < PTCP_CHANNEL_RECORD_OVERHEAD + (len - done))
				break;
			/* Seal no more than the connection takes now, so the
			 * record goes straight in. */
			chunk = len - done;
			if (chunk > space - PTCP_CHANNEL_RECORD_OVERHEAD)
				chunk = space - PTCP_CHANNEL_RECORD_OVERHEAD;
			k = ptcp_channel_seal(p->ch, in + done, chunk, &taken, p->tx_wire, TX_WIRE_CAP);
			if (k < 0) {
				ptcp_peer_fail(p, (int)k, now);
				return k;
			}
			p->tx_wire_off = 0;
			p->tx_wire_len = (size_t)k;
			done += taken;
			wire_push(p, now);
		}
	}
	if (done < len)
		p->write_blocked = true;
	p->info.bytes_out += done;
	tr_touch(p, now);
	ptcp_node_kick(p->node);
	return (ssize_t)done;
}

static ssize_t nothing_to_read(struct ptcp_peer *p);

/* What a read answers before it looks: the end, once it was delivered,
 * or why the peer cannot be read. */
static int read_gate(const struct ptcp_peer *p)
{
	if (p->eof_delivered && !p->dead)
		return PTCP_ERR_EOF;
	return usable(p);
}

ssize_t ptcp_peer_read(ptcp_peer *p, void *buf, size_t cap)
{
	ptcp_ts now;
	ptcp_ssize k;
	int rv;

	if ((rv = read_gate(p)) != 0)
		return rv;
	now = ptcp_clock_now();
	if (!p->ch) {
		k = tr_recv(p, buf, cap, now);
		if (k > 0) {
			tr_touch(p, now);
			ptcp_node_kick(p->node);
		}
	} else {
		/* Plaintext the channel holds; else feed it what the connection
		 * has (which stops once a record verified) and look again. */
		k = ptcp_channel_read(p->ch, buf, cap);
		if (k == 0 && !p->eof_checked) {
			rv = channel_feed(p, now);
			k = rv != 0 ? rv : ptcp_channel_read(p->ch, buf, cap);
		}
		if (k < 0) {
			ptcp_peer_fail(p, (int)k, now);
			return k;
		}
		ptcp_node_kick(p->node);
	}
	if (k > 0) {
		p->info.bytes_in += (uint64_t)k;
		return k;
	}
	return nothing_to_read(p);
}

/* Nothing to read now: the end of the peer's stream, or wait. */
static ssize_t nothing_to_read(struct ptcp_peer *p)
{
	if (p->ch ? p->eof_checked && ptcp_channel_read_eof(p->ch) : tr_recv_eof(p)) {
		p->eof_delivered = true;
		ptcp_node_kick(p->node);
		return PTCP_ERR_EOF;
	}
	p->read_blocked = true;
	return 0;
}

ssize_t ptcp_peer_peek(ptcp_peer *p, struct iovec iov[2], int *iovcnt)
{
	const uint8_t *base[2];
	size_t len[2], total = 0;
	unsigned n = 0;
	ptcp_ssize k;
	int rv;

	*iovcnt = 0;
	if ((rv = read_gate(p)) != 0)
		return rv;
	if (p->ch) {
		/* The record being read; else feed the channel, as a read does. */
		k = ptcp_channel_peek(p->ch, &base[0]);
		if (k == 0 && !p->eof_checked) {
			rv = channel_feed(p, ptcp_clock_now());
			k = rv != 0 ? rv : ptcp_channel_peek(p->ch, &base[0]);
		}
		if (k < 0) {
			ptcp_peer_fail(p, (int)k, ptcp_clock_now());
			return k;
		}
		len[0] = (size_t)k;
		n = k > 0;
	} else {
		n = p->relay ? ptcp_relay_conn_recv_peek(p->relay, base, len)
			     : ptcp_conn_recv_peek(p->conn, base, len);
	}
	for (unsigned i = 0; i < n; i++) {
		iov[i].iov_base = (void *)(uintptr_t)base[i];
		iov[i].iov_len = len[i];
		total += len[i];
	}
	*iovcnt = (int)n;
	return total > 0 ? (ssize_t)total : nothing_to_read(p);
}

int ptcp_peer_consume(ptcp_peer *p, size_t n)
{
	ptcp_ts now;
	ptcp_ssize k;
	int rv;

	if ((rv = usable(p)) != 0)
		return rv;
	if (n == 0)
		return 0;
	now = ptcp_clock_now();
	if (p->ch)
		k = ptcp_channel_consume(p->ch, n);
	else if (p->relay)
		k = ptcp_relay_conn_recv_consume(p->relay, n);
	else
		k = ptcp_conn_recv_consume(p->conn, n, now);
	if (k < 0) {
		/* More than was lent is the caller's mistake, not the peer's. */
		if (k != PTCP_ERR_INVAL)
			ptcp_peer_fail(p, (int)k, now);
		return (int)k;
	}
	if (!p->ch)
		tr_touch(p, now);
	ptcp_node_kick(p->node);
	p->info.bytes_in += n;
	return 0;
}

int ptcp_peer_shutdown(ptcp_peer *p)
{
	int rv = usable(p);

	if (rv != 0 && rv != PTCP_ERR_STATE)
		return rv;
	if (p->shut_wanted)
		return PTCP_ERR_CLOSED;
	p->shut_wanted = true;
	ptcp_node_kick(p->node);
	return 0;
}

void ptcp_peer_close(ptcp_peer *p)
{
	if (!p || p->dead)
		return;
	p->dead = true;
	ptcp_node_kick(p->node);
}

void ptcp_peer_set_user(ptcp_peer *p, void *user)
{
	p->user = user;
}

void *ptcp_peer_get_user(const ptcp_peer *p)
{
	return p->user;
}

ptcp_node *ptcp_peer_node(const ptcp_peer *p)
{
	return p->node;
}
