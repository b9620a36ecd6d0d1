/* The node: one local port, its raw socket, the connection table and the
 * libevent glue around them (node_priv.h has the data flow). The peers'
 * own steps are in peer.c, offload in gso.c, the rendezvous in
 * core/node/rdvflow.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <event2/event.h>
#include <sodium.h>

#include "clock.h"
#include "identity.h"
#include "ip.h"
#include "netdev.h"
#include "node_priv.h"
#include "peerid.h"
#include "pktsock.h"
#include "privs.h"
#include "random.h"
#include "rdvclient.h"
#include "rdvflow.h"
#include "route.h"
#include "segment.h"

#define LINGER_MIN (200 * PTCP_NS_PER_MS)
/* Punching: after a RST from the path, the next SYN within this (or within
 * the RST's round trip, if longer): docs/nat-traversal.md, "NATs on one
 * switch". */
#define PUNCH_RST_GAP (100 * PTCP_NS_PER_US)
/* Punching: the first interval is an eighth of our round trip to the
 * server (both sides fire together within about that much), at least
 * this; then it doubles up to punch_interval. */
#define PUNCH_FIRST_MIN PTCP_NS_PER_MS

/* --- small things ------------------------------------------------------------ */

const char *ptcp_version(void)
{
	return PTCP_VERSION_STR;
}

int ptcp_id_parse(uint8_t id[PTCP_ID_LEN], const char *text, char *err, size_t errlen)
{
	char buf[256];

	if (!id || !text)
		return PTCP_ERR_INVAL;
	if (ptcp_identity_parse_peer(id, text, err ? err : buf, err ? errlen : sizeof(buf)) != 0)
		return PTCP_ERR_INVAL;
	return 0;
}

int ptcp_id_format(const uint8_t id[PTCP_ID_LEN], char *buf, size_t cap)
{
	int n;

	if (!id || !buf)
		return PTCP_ERR_INVAL;
	n = ptcp_peerid_encode(buf, cap, id, NULL);
	return n < 0 ? PTCP_ERR_NOBUF : n;
}

void ptcp_settings_default(ptcp_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->max_peers = 64;
	s->encrypt = true;
	s->handshake_timeout = 10 * PTCP_NS_PER_S;
	s->punch_interval = 200 * PTCP_NS_PER_MS;
	s->punch_window = 10 * PTCP_NS_PER_S;
	s->first_syn_ttl = 2;
	s->connect_wait = 30 * PTCP_NS_PER_S;
	s->sndbuf = 4 * 1024 * 1024;
	s->rcvbuf = 4 * 1024 * 1024;
	s->keepalive_idle = 25 * PTCP_NS_PER_S;
	s->keepalive_interval = 6 * PTCP_NS_PER_S;
	s->keepalive_count = 5;
	s->user_timeout = 60 * PTCP_NS_PER_S;
	s->linger = -1;
	s->gso_auto = true;
	s->log_level = PTCP_LOG_NOTICE;
	s->relay = true;
}

ptcp_ts ptcp_node_now(void)
{
	return ptcp_clock_now();
}

const char *ptcp_node_peer_name(const struct ptcp_peer *p, char *buf, size_t cap)
{
	char id[PTCP_PEERID_TEXT_MAX];

	if (p->has_expect_id && ptcp_peerid_encode(id, sizeof(id), p->expect_id, NULL) > 0)
		snprintf(buf, cap, "%.12s", id);
	else
		ptcp_endpoint_format(&p->remote, buf, (unsigned)cap);
	return buf;
}

uint16_t ptcp_node_mss(uint8_t family)
{
	return family == PTCP_AF_INET6 ? 1500 - 40 - 20 : 1500 - 20 - 20;
}

void ptcp_node_conn_config(const struct ptcp_node *n, const struct ptcp_peer *p,
			   struct ptcp_config *cc)
{
	const ptcp_settings *s = &n->s;
	uint64_t k, t, gap, window;

	ptcp_config_default(cc);
	cc->mss = ptcp_node_mss(p->remote.family);
	cc->sndbuf = s->sndbuf;
	cc->rcvbuf = s->rcvbuf;
	cc->keepalive_idle = s->keepalive_idle;
	cc->keepalive_interval = s->keepalive_interval;
	cc->keepalive_count = s->keepalive_count;
	cc->user_timeout = s->user_timeout;
	/* With the channel, a middlebox that rewrote the peer's ISN is only
	 * reported: the handshake proves who is at the other end anyway. */
	cc->isn_policy = n->s.encrypt ? PTCP_ISN_ACCEPT : PTCP_ISN_REJECT;
	if (p->active || p->accepted)
		return;
	/* Hole punching: SYNs at a fixed pace for the whole window, and a
	 * RST from the peer's NAT (sent before the peer's own SYN opened
	 * it) does not end the attempt but brings the next SYN forward. */
	cc->punching = true;
	cc->syn_interval = s->punch_interval;
	if (p->server_rtt) {
		cc->syn_interval = p->server_rtt / 8 < PUNCH_FIRST_MIN ? PUNCH_FIRST_MIN :
				   p->server_rtt / 8;
		if (cc->syn_interval > s->punch_interval)
			cc->syn_interval = s->punch_interval;
	}
	cc->syn_interval_max = s->punch_interval;
	cc->first_syn_ttl = s->first_syn_ttl;
	cc->syn_rst_gap = PUNCH_RST_GAP;
	/* The SYNs of the schedule that fit in the window, and one more. */
	window = p->open_timeout ? p->open_timeout : s->punch_window;
	for (k = 1, t = 0, gap = cc->syn_interval; t < window && k < 1000000; k++) {
		t += gap;
		gap = gap > s->punch_interval / 2 ? s->punch_interval : 2 * gap;
	}
	cc->syn_retries = (unsigned)k;
}

/* --- output -------------------------------------------------------------------- */

static bool local_drop(int err)
{
	return err == -ENOBUFS || err == -EAGAIN || err == -EHOSTUNREACH || err == -ENETUNREACH;
}

/* Sends tx[0..k). A segment the kernel refuses for good (a firewall's
 * EPERM, say) ends the peer it belongs to; local drops are losses that
 * TCP repairs. */
static void send_gathered(struct ptcp_node *n, struct ptcp_conn **conns, unsigned k)
{
	unsigned done = 0;
	int rv;

	while (done < k) {
		rv = ptcp_rawsock_send_tx(&n->rs, n->tx + done, k - done);
		if (rv > 0) {
			done += (unsigned)rv;
			continue;
		}
		/* The first one of the rest failed: find out why, alone. */
		rv = ptcp_rawsock_send_tx(&n->rs, n->tx + done, 1);
		if (rv == 1) {
			done++;
			continue;
		}
		if (local_drop(rv)) {
			nlog_debug(n, "segment not sent: %s", strerror(-rv));
		} else {
			struct ptcp_peer *p = conns[done] ? ptcp_stack_user(n->stack, conns[done]) : NULL;
			char a[48];

			nlog_warn(n, "cannot send to %s: %s",
				  ptcp_endpoint_format(&n->tx[done].dst, a, sizeof(a)), strerror(-rv));
			if (p && p->phase != PEER_ENDED)
				p->err = p->err ? p->err : PTCP_ERR_SYSTEM;
		}
		done++;
	}
}

static void log_segment(struct ptcp_node *n, const char *dir, const uint8_t *tcp, size_t len,
			const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst)
{
	struct ptcp_segment seg;
	char a[48], b[48], line[256];

	if (!ptcp_nlog_on(&n->log, PTCP_LOG_DEBUG))
		return;
	ptcp_endpoint_format(src, a, sizeof(a));
	ptcp_endpoint_format(dst, b, sizeof(b));
	if (ptcp_segment_parse(&seg, tcp, len, NULL, NULL) != 0)
		snprintf(line, sizeof(line), "malformed, %zu bytes", len);
	else
		ptcp_segment_format(&seg, line, sizeof(line));
	nlog_debug(n, "%s %s > %s: %s", dir, a, b, line);
}

/* Sends everything the table has due: peers with offload first (their
 * connection drained into a packet socket), the rest through the raw
 * socket, PTCP_NODE_TX_BATCH segments per system call. */
static void flush(struct ptcp_node *n, ptcp_ts now)
{
	struct ptcp_conn *conns[PTCP_NODE_TX_BATCH];
	struct ptcp_stack_tx t;
	struct ptcp_peer *p;
	unsigned k = 0;
	uint8_t *buf;
	int len;

	for (p = n->peers; p; p = p->next)
		if (p->gso && p->conn && ptcp_gso_flush(p->gso, now))
			(void)ptcp_stack_touch(n->stack, p->conn, now);
	for (;;) {
		buf = n->tx_buf + (size_t)k * n->tx_cap;
		len = ptcp_stack_output(n->stack, buf, n->tx_cap, &t, now);
		if (len < 0) {
			nlog_error(n, "engine output: %s", ptcp_strerror(len));
			break;
		}
		if (len == 0)
			break;
		log_segment(n, ">", buf, (size_t)len, &t.src, &t.dst);
		if (n->pcap)
			(void)ptcp_pcapw_write_tcp(n->pcap, &t.src, &t.dst, buf, (size_t)len, t.info.ttl);
		n->tx[k].seg = buf;
		n->tx[k].len = (size_t)len;
		n->tx[k].src = t.src;
		n->tx[k].dst = t.dst;
		n->tx[k].ttl = t.info.ttl;
		conns[k] = t.conn;
		if (++k == PTCP_NODE_TX_BATCH) {
			send_gathered(n, conns, k);
			k = 0;
		}
	}
	send_gathered(n, conns, k);
}

/* --- the loop -------------------------------------------------------------------- */

static void settle(struct ptcp_node *n, ptcp_ts now);

static void arm_timer(struct ptcp_node *n)
{
	ptcp_ts at = ptcp_stack_expiry(n->stack), now;
	struct ptcp_peer *p;
	struct timeval tv;
	uint64_t d;

	for (p = n->peers; p; p = p->next)
		at = ptcp_ts_min(at, ptcp_peer_deadline(p));
	if (n->closing && !n->closed_told) {
		at = ptcp_ts_min(at, n->close_deadline);
		if (n->n_peers == 0)
			at = ptcp_ts_min(at, n->linger_until);
	}
	if (at == n->timer_at)
		return;
	n->timer_at = at;
	if (at == PTCP_TS_NEVER) {
		evtimer_del(n->ev_timer);
		return;
	}
	now = ptcp_clock_now();
	d = ptcp_ts_elapsed(at, now);
	/* Round up: waking a microsecond early would find nothing due. */
	d += PTCP_NS_PER_US - 1;
	tv.tv_sec = (time_t)(d / PTCP_NS_PER_S);
	tv.tv_usec = (suseconds_t)(d % PTCP_NS_PER_S / PTCP_NS_PER_US);
	evtimer_add(n->ev_timer, &tv);
}

/* ptcp_node_close(): once every peer has ended and TIME-WAIT had its
 * time, or the deadline passed, tell the application. */
static void close_step(struct ptcp_node *n, ptcp_ts now)
{
	struct ptcp_peer *p;

	if (!n->closing || n->closed_told)
		return;
	if (now >= n->close_deadline) {
		bool failed = false;

		for (p = n->peers; p; p = p->next) {
			if (p->phase != PEER_ENDED && !p->dead) {
				ptcp_peer_fail(p, PTCP_ERR_ABORTED, now);
				failed = true;
			}
		}
		/* The failed peers are reported by the next settle; once they
		 * are, the node is closed (no linger past the deadline). */
		if (failed || n->peers)
			return;
	} else if (n->n_peers > 0 || n->peers || now < n->linger_until) {
		return;
	}
	n->closed_told = true;
	nlog_info(n, "node closed");
	if (n->cb.node_event)
		n->cb.node_event(n, n->user, PTCP_NODE_CLOSED, 0, 0, "");
}

/* Everything that follows any event: each peer's step (which may call
 * the application), the output, the close, the timer. */
static void settle(struct ptcp_node *n, ptcp_ts now)
{
	struct ptcp_peer *p, *next;
	unsigned rounds = 0;

	if (n->in_settle) {
		n->settle_again = true;
		return;
	}
	n->in_settle = true;
	do {
		n->settle_again = false;
		for (p = n->peers; p; p = next) {
			next = p->next;
			ptcp_peer_step(p, now);
		}
		ptcp_rdvflow_step(n->rdv);
		flush(n, now);
		close_step(n, now);
		now = ptcp_clock_now();
	} while (n->settle_again && ++rounds < 8);
	n->in_settle = false;
	if (n->settle_again)
		ptcp_node_kick(n);
	if (!n->closed_told)
		arm_timer(n);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	settle(arg, ptcp_clock_now());
}

void ptcp_node_kick(struct ptcp_node *n)
{
	if (n->in_settle)
		n->settle_again = true;
	else
		event_active(n->ev_kick, EV_TIMEOUT, 0);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct ptcp_node *n = arg;
	ptcp_ts now = ptcp_clock_now();

	(void)fd;
	(void)what;
	n->timer_at = PTCP_TS_NEVER;
	if (now >= ptcp_stack_expiry(n->stack))
		(void)ptcp_stack_handle_expiry(n->stack, now);
	settle(n, now);
}

#define TCP_FLAGS_OFF 13
#define TCP_RST 0x04

/* One received segment into the table (malformed ones are counted there
 * as drops), with the TTL bookkeeping of its peer. */
static void input_one(struct ptcp_node *n, const struct ptcp_rawsock_rx *rx, ptcp_ts now)
{
	struct ptcp_conn *c = ptcp_stack_find(n->stack, &rx->dst, &rx->src);
	struct ptcp_peer *p = c ? ptcp_stack_user(n->stack, c) : NULL;
	enum ptcp_state before = c ? ptcp_conn_state(c) : PTCP_CLOSED;
	bool rst;

	if (rx->csum_verified)
		(void)ptcp_stack_input_verified(n->stack, rx->tcp, rx->tcp_len, &rx->src, &rx->dst, now);
	else
		(void)ptcp_stack_input(n->stack, rx->tcp, rx->tcp_len, &rx->src, &rx->dst, now);
	/* The batch's one ACK would hide an out-of-order island from the
	 * sender (ptcp_conn_ack_due()): this one goes out now. */
	if (c && ptcp_conn_ack_due(c))
		flush(n, now);
	if (!p || rx->tcp_len <= TCP_FLAGS_OFF)
		return;
	rst = rx->tcp[TCP_FLAGS_OFF] & TCP_RST;
	ptcp_peer_note_ttl(p, rx->ttl, rst,
			   rst && before != PTCP_CLOSED && ptcp_conn_state(c) == PTCP_CLOSED &&
			   ptcp_conn_error(c) == PTCP_ERR_RESET);
}

/* What one raw socket (ring false) or the receive ring has, up to
 * PTCP_NODE_RX_BATCH packets, read PTCP_RAWSOCK_RECV_MANY at a time;
 * nothing is sent before the whole batch is in (the settle after it
 * flushes, so the ACK decision sees every segment of the batch). */
static void receive(struct ptcp_node *n, uint8_t family, bool ring)
{
	struct ptcp_rawsock_rx rx[PTCP_RAWSOCK_RECV_MANY];
	ptcp_ts now = ptcp_clock_now();
	unsigned got = 0;
	int k, rv;

	while (got < PTCP_NODE_RX_BATCH) {
		if (ring)
			rv = ptcp_rxring_recv_many(&n->ring, PTCP_RAWSOCK_RECV_MANY, rx);
		else
			rv = ptcp_rawsock_recv_many(&n->rs, family, n->rx_buf, PTCP_RAWSOCK_MTU,
						    PTCP_RAWSOCK_RECV_MANY, rx);
		if (rv == -EAGAIN)
			break;
		if (rv < 0) {
			nlog_error(n, "cannot read from the raw socket: %s", strerror(-rv));
			break;
		}
		got += (unsigned)rv;
		for (k = 0; k < rv; k++) {
			const struct ptcp_rawsock_rx *r = &rx[k];

			if (!r->tcp) {
				nlog_debug(n, "drop before the engine: %s", r->why);
				continue;
			}
			/* The kernel's own TCP carries our rendezvous connection
			 * on this port: its segments are not ours to answer. */
			if (n->rdv && ptcp_rdvflow_owns(n->rdv, &r->src, &r->dst))
				continue;
			log_segment(n, "<", r->tcp, r->tcp_len, &r->src, &r->dst);
			/* The capture shows a local kernel's partial checksum
			 * completed (the engine does not need it: csum_verified). */
			if (n->pcap && r->csum_verified)
				(void)ptcp_tcp_checksum_complete((uint8_t *)(uintptr_t)r->tcp, r->tcp_len,
								 &r->src, &r->dst);
			/* IPv6 comes without its header: the capture gets one made. */
			if (n->pcap && r->ip)
				(void)ptcp_pcapw_write_ip(n->pcap, r->ip, r->ip_len);
			else if (n->pcap)
				(void)ptcp_pcapw_write_tcp(n->pcap, &r->src, &r->dst, r->tcp, r->tcp_len,
							   r->ttl);
			input_one(n, r, now);
		}
		/* The ring stops short after a packet read from its socket's
		 * queue (ptcp_rxring_recv_many()): more may be ready. */
		if (!ring && rv < PTCP_RAWSOCK_RECV_MANY)
			break;
	}
	if (ring)
		ptcp_rxring_release(&n->ring);
}

/* Either raw socket woke us: all are read before anything is decided,
 * IPv6 first, so that two attempts at a peer (Happy Eyeballs) whose
 * segments came together are judged together, and a tie goes to IPv6;
 * the ring's data before the raw socket's ACKs and RSTs, which came after
 * it or in between. The ring woke us: only the ring, which needs no
 * system call to find empty, where the raw sockets need a recvmmsg()
 * each: the ring wakes us per packet when it is not busy, and a raw
 * socket with something to read wakes us itself. */
static void on_raw(evutil_socket_t fd, short what, void *arg)
{
	struct ptcp_node *n = arg;

	(void)what;
	if (n->ring.fd >= 0 && fd == n->ring.fd) {
		receive(n, PTCP_AF_INET, true);
		settle(n, ptcp_clock_now());
		return;
	}
	if (ptcp_rawsock_has(&n->rs, PTCP_AF_INET6))
		receive(n, PTCP_AF_INET6, false);
	if (n->ring.fd >= 0)
		receive(n, PTCP_AF_INET, true);
	if (ptcp_rawsock_has(&n->rs, PTCP_AF_INET))
		receive(n, PTCP_AF_INET, false);
	settle(n, ptcp_clock_now());
}

/* Events of the table. Only bookkeeping here: the table is inside one of
 * its calls, so everything that feeds a connection or calls the
 * application waits for the next peer step. */
static void on_stack_event(void *user, struct ptcp_stack *st, const struct ptcp_stack_event *ev)
{
	struct ptcp_node *n = user;
	struct ptcp_peer *p = ev->conn_user;
	struct ptcp_conn *c;

	(void)st;
	switch (ev->type) {
	case PTCP_STACK_EV_CONN:
		if (p)
			ptcp_peer_conn_event(p, ev->ev);
		break;
	case PTCP_STACK_EV_ACCEPTABLE:
		p = ptcp_peer_alloc(n, n->user);
		if (!p || ptcp_stack_accept(n->stack, ev->listener, &c, p) != 0) {
			if (p)
				ptcp_peer_destroy(p);
			break;
		}
		p->conn = c;
		p->accepted = true;
		p->local = *ptcp_conn_local(c);
		p->remote = *ptcp_conn_remote(c);
		p->phase = PEER_OPENING;
		/* More than the application wants at once: refused. */
		if (n->closing || n->n_peers > n->s.max_peers)
			p->err = PTCP_ERR_BUSY;
		break;
	case PTCP_STACK_EV_FREED:
		break;
	}
}

/* --- creating and freeing ---------------------------------------------------------- */

static void *alloc_libc(void *ctx, size_t size)
{
	(void)ctx;
	return malloc(size);
}

static void free_libc(void *ctx, void *ptr, size_t size)
{
	(void)ctx;
	(void)size;
	free(ptr);
}

static int copy_str(char **dst, const char **field)
{
	if (!*field)
		return 0;
	*dst = strdup(*field);
	if (!*dst)
		return PTCP_ERR_NOMEM;
	*field = *dst;
	return 0;
}

static int check_settings(struct ptcp_node *n)
{
	const ptcp_settings *s = &n->s;

	if (s->max_peers == 0 || s->max_peers > 100000) {
		nlog_error(n, "invalid max_peers: %u (1 to 100000)", s->max_peers);
		return PTCP_ERR_INVAL;
	}
	if (s->punch_interval < PTCP_NS_PER_MS || s->punch_window == 0) {
		nlog_error(n, "invalid punching schedule: interval %llu ns, window %llu ns",
			   (unsigned long long)s->punch_interval, (unsigned long long)s->punch_window);
		return PTCP_ERR_INVAL;
	}
	if (s->keepalive_idle && (s->keepalive_interval == 0 || s->keepalive_count == 0)) {
		nlog_error(n, "invalid keepalive: an interval and a count are needed");
		return PTCP_ERR_INVAL;
	}
	return 0;
}

static int open_identity(struct ptcp_node *n)
{
	char dir[PTCP_IDENTITY_PATH_MAX], err[512];

	if (!n->s.rendezvous && !n->s.encrypt)
		return 0;
	if (n->s.key_dir) {
		snprintf(dir, sizeof(dir), "%s", n->s.key_dir);
	} else if (ptcp_identity_default_dir(dir, sizeof(dir)) != 0) {
		nlog_error(n, "no key directory: set HOME or XDG_CONFIG_HOME, or give one");
		return PTCP_ERR_IDENTITY;
	}
	if (ptcp_identity_load(&n->id, dir, err, sizeof(err)) != 0) {
		nlog_error(n, "%s", err);
		return PTCP_ERR_IDENTITY;
	}
	n->has_id = true;
	if (ptcp_peerid_encode(n->id_text, sizeof(n->id_text), n->id.pk, NULL) < 0)
		n->id_text[0] = '\0';
	return 0;
}

static const char setcap_hint[] =
	"run as root or `setcap cap_net_raw,cap_net_admin+ep` on the program";

/* Where the ring may be bound to ETH_P_ALL with the ingress table behind
 * it (nftguard.h), so that its segments skip this host's IP input: the
 * ring then sees each packet on every device it passes, before the
 * host's tc and netdev ingress rules, so only where every device is one
 * that a packet ends on (no bridge, bond or VRF port, no device under a
 * VLAN, macvlan or ipvlan: netdev.h) and there are no such rules. Fills
 * devs[] and names[] (PTCP_NFTGUARD_INGRESS_DEVS at most) and returns
 * their number, or 0 with why said. */
static int ingress_devices(struct ptcp_node *n, struct ptcp_netdev *devs, const char **names, char *why,
			   size_t cap)
{
	unsigned nd = 0, total = 0;
	char what[160];
	int rv;

	if (!n->guard.quiet) {
		snprintf(why, cap, "no prerouting chain here");
		return 0;
	}
	rv = ptcp_netdev_ingress_qdisc(what, sizeof(what));
	if (rv != 0) {
		snprintf(why, cap, rv > 0 ? "%s, which a ring on every protocol would see packets before"
					  : "cannot list the qdiscs: %s", what);
		return 0;
	}
	rv = ptcp_nftguard_others_ingress(&n->guard, what, sizeof(what));
	if (rv != 0) {
		snprintf(why, cap, rv > 0 ? "%s, which a ring on every protocol would see packets before"
					  : "cannot list the chains: %s", what);
		return 0;
	}
	rv = ptcp_netdev_ring_devices(devs, PTCP_NFTGUARD_INGRESS_DEVS, &nd, &total, what, sizeof(what));
	if (rv != 0) {
		snprintf(why, cap, "devices: %s", what);
		return 0;
	}
	if (nd == 0 || nd != total) {
		snprintf(why, cap, "%u of this host's %u devices are a port of another or under another "
			 "(bridge, bond, VRF, VLAN): a ring on every protocol would see their packets twice",
			 total - nd, total);
		return 0;
	}
	for (unsigned k = 0; k < nd; k++)
		names[k] = devs[k].name;
	return (int)nd;
}

/* IPv4 segments with a payload or FIN come through the packet ring
 * (rxring.h) where offload is on by default: the host has no rules that
 * the ring's packets, taken before netfilter, would bypass (gso.c). A
 * host that forwards IPv4 gets it only with our address given
 * (--local-addr), which the ring then checks: its packet socket sees the
 * packets it forwards for others as its own. The raw socket keeps the
 * port, sends, and receives only the others, so none comes twice.
 * Any failure leaves the raw socket receiving all. */
static void open_ring(struct ptcp_node *n)
{
	struct ptcp_rawsock_fam *f = &n->rs.fam[PTCP_RAWSOCK_V4];
	static const uint8_t any4[4];
	bool any = memcmp(f->local.addr, any4, 4) == 0;
	char which[96], to[64] = "", why[256] = "";
	struct ptcp_netdev devs[PTCP_NFTGUARD_INGRESS_DEVS];
	const char *names[PTCP_NFTGUARD_INGRESS_DEVS];
	int rv, fwd, nd;

	if (f->fd < 0)
		return;
	if (!n->gso_auto) {
		nlog_info(n, "receive: IPv4 through the raw socket (a packet ring only where offload is "
			  "on by default)");
		return;
	}
	fwd = ptcp_rxring_host_forwards(which, sizeof(which));
	if (fwd != 0 && any) {
		nlog_info(n, "receive: IPv4 through the raw socket (%s%s: a packet ring would take "
			  "the packets this host forwards for others; with --local-addr it checks the address)",
			  fwd > 0 ? "this host forwards IPv4, " : "cannot tell whether this host forwards IPv4",
			  fwd > 0 ? which : "");
		return;
	}
	nd = ingress_devices(n, devs, names, why, sizeof(why));
	rv = ptcp_rxring_open(&n->ring, &f->local, nd > 0);
	if (rv == 0 && (rv = ptcp_rawsock_no_payload(&n->rs)) != 0)
		ptcp_rxring_close(&n->ring);
	if (rv != 0) {
		nlog_info(n, "receive: IPv4 through the raw socket (no packet ring: %s)", strerror(-rv));
		return;
	}
	if (!any) {
		char a[48];

		snprintf(to, sizeof(to), " to %s", inet_ntop(AF_INET, f->local.addr, a, sizeof(a)));
	}
	nlog_info(n, "receive: IPv4 through a packet ring (TPACKET_V2, %u frames of %u bytes) for "
		  "segments with data%s%s, before this host's netfilter, the raw socket for the others%s",
		  PTCP_RXRING_FRAMES, PTCP_RXRING_FRAME, to, fwd != 0 ? " (this host forwards IPv4)" : "",
		  n->rs.fam[PTCP_RAWSOCK_V6].fd >= 0 ? "; IPv6 through the raw socket" : "");
	if (nd > 0 && (rv = ptcp_nftguard_ingress(&n->guard, &f->local, PTCP_NODE_MARK, names,
						  (unsigned)nd, why, sizeof(why))) != 0) {
		/* The ring on ETH_P_ALL without the table is the ring on
		 * ETH_P_IP, seen earlier: it stays. */
		nlog_info(n, "receive: the ring's segments go through IP input as well (no ingress table: "
			  "%s)", why);
		return;
	}
	if (nd > 0) {
		char list[PTCP_NFTGUARD_INGRESS_DEVS * (IF_NAMESIZE + 1)] = "";
		size_t used = 0;

		for (int i = 0; i < nd; i++)
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? " " : "",
						 names[i]);
		nlog_info(n, "receive: the ring takes IPv4 off the device first; table inet %s drops "
			  "its segments with data behind it, before IP input (devices: %s)",
			  n->guard.ring_table, list);
	} else {
		nlog_info(n, "receive: the ring's segments go through IP input as well (%s)", why);
	}
}

/* The ring's -v line at its end: how many packets it took. */
static void log_ring_counts(struct ptcp_node *n)
{
	if (n->ring.frames > 0)
		nlog_info(n, "receive ring: %llu packets, %llu of them larger than a frame (read from "
			  "the socket's queue)", (unsigned long long)n->ring.frames,
			  (unsigned long long)n->ring.copied);
}

/* A ring on every address sees what the host forwards for others as its
 * own (open_ring()): once the host forwards IPv4, the raw socket takes
 * all our segments again (first, so that none is missed: one may come
 * twice, which TCP drops), what the ring holds is read, and it closes. */
static void close_ring(struct ptcp_node *n, const char *which)
{
	int rv = ptcp_rawsock_all_segments(&n->rs);

	if (rv != 0) {
		nlog_warn(n, "this host forwards IPv4 now (%s), but the raw socket cannot take all "
			  "segments back (%s): the packet ring stays", which, strerror(-rv));
		return;
	}
	/* Then nothing is dropped behind the ring any more, and what it
	 * has is read. */
	ptcp_nftguard_ingress_remove(&n->guard);
	receive(n, PTCP_AF_INET, true);
	if (n->ev_ring) {
		event_free(n->ev_ring);
		n->ev_ring = NULL;
	}
	nlog_info(n, "receive: this host forwards IPv4 now (%s): the packet ring, which would take "
		  "the packets it forwards for others, is closed; IPv4 through the raw socket", which);
	log_ring_counts(n);
	ptcp_rxring_close(&n->ring);
	settle(n, ptcp_clock_now());
}

static void on_fwd_check(evutil_socket_t fd, short what, void *arg)
{
	struct ptcp_node *n = arg;
	char which[96] = "";

	(void)fd;
	(void)what;
	if (n->ring.fd < 0 || ptcp_rxring_host_forwards(which, sizeof(which)) == 0)
		return;
	event_del(n->ev_fwd);
	close_ring(n, which[0] ? which : "cannot tell: no /proc/sys");
}

/* The port (reservation and lock), the raw socket, the firewall table,
 * the capture, with --gso the packet socket, the receive ring: all that needs
 * privileges, before anything goes on the network. */
static int open_wire(struct ptcp_node *n)
{
	const struct ptcp_portlock_holder *h = &n->rs.holder;
	struct ptcp_endpoint local;
	static const uint8_t zero[16];
	struct ptcp_endpoint guarded[PTCP_RAWSOCK_NFAM];
	char err[256], a[48];
	unsigned ng = 0;
	int i, rv;

	/* An address of ours: its family alone. None: both families, on
	 * every address. */
	memset(&local, 0, sizeof(local));
	if (n->s.local_addr) {
		if (inet_pton(AF_INET, n->s.local_addr, local.addr) == 1)
			local.family = PTCP_AF_INET;
		else if (inet_pton(AF_INET6, n->s.local_addr, local.addr) == 1)
			local.family = PTCP_AF_INET6;
		if (local.family == PTCP_AF_NONE || memcmp(local.addr, zero, 16) == 0) {
			nlog_error(n, "invalid local address: '%s'", n->s.local_addr);
			return PTCP_ERR_INVAL;
		}
	}
	local.port = n->s.local_port;
	ptcp_endpoint_format(&local, a, sizeof(a));
	rv = ptcp_rawsock_open(&n->rs, &local, PTCP_NODE_MARK);
	/* Without an address of our own the node takes its port on every
	 * address and sends each segment from its connection's. */
	if (rv == 0 && !n->s.local_addr)
		rv = ptcp_rawsock_set_any(&n->rs);
	switch (rv) {
	case 0:
		break;
	case -EPERM:
	case -EACCES:
		nlog_error(n, "raw sockets need CAP_NET_RAW (and CAP_NET_ADMIN for the firewall rule): %s",
			   setcap_hint);
		return PTCP_ERR_PERM;
	case -EBUSY:
		if (h->known)
			nlog_error(n, "local port %u is already served by another p2ptcp (pid %ld, uid %lu)",
				   n->s.local_port, (long)h->pid, (unsigned long)h->uid);
		else
			nlog_error(n, "local port %u is already served by another p2ptcp", n->s.local_port);
		return PTCP_ERR_PORT_SERVED;
	case -EADDRINUSE:
		nlog_error(n, "local port %u is in use by another program", n->s.local_port);
		return PTCP_ERR_ADDRINUSE;
	case -EADDRNOTAVAIL:
		nlog_error(n, "local address %s is not an address of this host", n->s.local_addr);
		return PTCP_ERR_ADDRNOTAVAIL;
	default:
		nlog_error(n, "cannot use local endpoint %s: %s", a, strerror(-rv));
		return PTCP_ERR_SYSTEM;
	}
	if (!n->s.local_addr && n->rs.v6_error)
		nlog_info(n, "IPv4 only: this host has no IPv6 (%s)", strerror(-n->rs.v6_error));
	if (n->rs.tap_error)
		nlog_info(n, "no checksum tap (%s): IPv4 segments whose checksum a local kernel left to "
			  "offload will be dropped", strerror(-n->rs.tap_error));
	for (i = 0; i < PTCP_RAWSOCK_NFAM; i++)
		if (n->rs.fam[i].fd >= 0)
			guarded[ng++] = n->rs.fam[i].local;
	rv = ptcp_nftguard_install(&n->guard, guarded, ng, PTCP_NODE_MARK, err, sizeof(err));
	if (rv == -EPERM) {
		nlog_error(n, "the firewall rule needs CAP_NET_ADMIN: %s", setcap_hint);
		return PTCP_ERR_PERM;
	}
	if (rv != 0) {
		nlog_error(n, "cannot install firewall rule (nftables): %s; the kernel would reset the "
			   "connection", err);
		return PTCP_ERR_FIREWALL;
	}
	nlog_info(n, "firewall: table inet %s drops the kernel's RSTs from port %u (%s)", n->guard.table,
		  n->rs.port, ng == 2 ? "IPv4 and IPv6" : guarded[0].family == PTCP_AF_INET6 ? "IPv6" : "IPv4");
	if (!n->guard.quiet)
		nlog_info(n, "firewall: the kernel's TCP still sees our segments (no prerouting chain "
			  "here): each one draws a RST, which the table drops");
	if (n->s.pcap_path) {
		rv = ptcp_pcapw_open(&n->pcap, n->s.pcap_path, err, sizeof(err));
		if (rv != 0) {
			nlog_error(n, "cannot write capture '%s': %s", n->s.pcap_path, err);
			return PTCP_ERR_SYSTEM;
		}
	}
	/* Offload by default where this host would not have seen our
	 * segments anyway (gso.c); asked now, while we may. */
	n->gso_forced = n->s.gso;
	if (!n->s.gso && n->s.gso_auto && n->rs.fam[PTCP_RAWSOCK_V4].fd >= 0)
		ptcp_gso_host_check(n);
	/* The packet socket needs CAP_NET_RAW, which is gone once the node
	 * runs: it is made now, for the first peer that offloads. */
	if (n->s.gso && (rv = ptcp_pktsock_socket(&n->pkt_fd, PTCP_NODE_MARK)) != 0)
		nlog_info(n, "offload: cannot make a packet socket (%s); raw socket only", strerror(-rv));
	open_ring(n);
	return 0;
}

/* Everything privileged exists: the rest of the node's life parses what
 * the network sends, with as little as possible (privs.h). With --gso
 * conntrack, xfrm and the neighbour table are asked later, which needs
 * CAP_NET_ADMIN; a rendezvous socket on a port below 1024 needs
 * CAP_NET_BIND_SERVICE for every registration. */
static int drop_privileges(struct ptcp_node *n)
{
	uint64_t keep = 0;
	char err[256];
	int rv;

	if (n->gso_forced)
		keep |= PTCP_PRIVS_NET_ADMIN;
	if (n->s.rendezvous && ptcp_privs_port_is_privileged(n->rs.port))
		keep |= PTCP_PRIVS_NET_BIND_SERVICE;
	rv = ptcp_privs_drop(keep, !n->s.keep_bounding_set, err, sizeof(err));
	if (rv != 0) {
		nlog_error(n, "%s", err);
		return PTCP_ERR_SYSTEM;
	}
	nlog_info(n, "privileges: %s", keep == 0 ? "none kept" :
		  keep == PTCP_PRIVS_NET_ADMIN ? "kept only CAP_NET_ADMIN (--gso)" :
		  keep == PTCP_PRIVS_NET_BIND_SERVICE ? "kept only CAP_NET_BIND_SERVICE (a low port)" :
		  "kept only CAP_NET_ADMIN and CAP_NET_BIND_SERVICE");
	return 0;
}

static int open_stack(struct ptcp_node *n)
{
	struct ptcp_stack_config sc;
	int rv;

	ptcp_stack_config_default(&sc);
	sc.alloc.alloc = alloc_libc;
	sc.alloc.free = free_libc;
	sc.on_event = on_stack_event;
	sc.user = n;
	sc.conn.sndbuf = n->s.sndbuf;
	sc.conn.rcvbuf = n->s.rcvbuf;
	ptcp_random_bytes(sc.hash_key, sizeof(sc.hash_key));
	ptcp_random_bytes(sc.isn_secret, sizeof(sc.isn_secret));
	/* Peers at once, and room for as many again in TIME-WAIT; each
	 * connection's buffers may grow to their bounds (auto-tuning). */
	sc.max_conns = n->s.max_peers * 2 + 8;
	sc.max_conn_mem = (uint64_t)n->s.sndbuf + n->s.rcvbuf + 64 * 1024;
	/* With a rendezvous server the kernel's own connection to it shares
	 * our port, and unknown flows (scans, stale punching) get silence. */
	sc.reset_unmatched = n->s.rendezvous == NULL;
	rv = ptcp_stack_new(&n->stack, &sc);
	sodium_memzero(sc.isn_secret, sizeof(sc.isn_secret));
	if (rv != 0) {
		nlog_error(n, "cannot create the connection table: %s", ptcp_strerror(rv));
		return rv;
	}
	return 0;
}

static int open_loop(struct ptcp_node *n)
{
	int i;

	n->ev_timer = evtimer_new(n->base, on_timer, n);
	n->ev_kick = event_new(n->base, -1, 0, on_kick, n);
	n->tx_cap = (size_t)PTCP_TCP_HDR_MAX + 1460 + 64;
	n->tx_buf = malloc(n->tx_cap * PTCP_NODE_TX_BATCH);
	n->rx_buf = malloc((size_t)PTCP_RAWSOCK_MTU * PTCP_RAWSOCK_RECV_MANY);
	if (!n->ev_timer || !n->ev_kick || !n->tx_buf || !n->rx_buf)
		return PTCP_ERR_NOMEM;
	for (i = 0; i < PTCP_RAWSOCK_NFAM; i++) {
		if (n->rs.fam[i].fd < 0)
			continue;
		n->ev_raw[i] = event_new(n->base, n->rs.fam[i].fd, EV_READ | EV_PERSIST, on_raw, n);
		if (!n->ev_raw[i])
			return PTCP_ERR_NOMEM;
		if (event_add(n->ev_raw[i], NULL) != 0) {
			nlog_error(n, "cannot add the raw socket to the event loop");
			return PTCP_ERR_SYSTEM;
		}
	}
	if (n->ring.fd >= 0) {
		static const uint8_t any4[4];
		const struct timeval second = { 1, 0 };

		n->ev_ring = event_new(n->base, n->ring.fd, EV_READ | EV_PERSIST, on_raw, n);
		if (!n->ev_ring)
			return PTCP_ERR_NOMEM;
		if (event_add(n->ev_ring, NULL) != 0) {
			nlog_error(n, "cannot add the receive ring to the event loop");
			return PTCP_ERR_SYSTEM;
		}
		/* On every address: watch for forwarding (close_ring()). */
		if (memcmp(n->rs.fam[PTCP_RAWSOCK_V4].local.addr, any4, 4) == 0) {
			n->ev_fwd = event_new(n->base, -1, EV_PERSIST, on_fwd_check, n);
			if (!n->ev_fwd || event_add(n->ev_fwd, &second) != 0)
				return PTCP_ERR_NOMEM;
		}
	}
	return 0;
}

int ptcp_node_new(ptcp_node **out, struct event_base *base, const ptcp_settings *settings,
		  const ptcp_callbacks *cb, void *user)
{
	struct ptcp_node *n;
	char a[48];
	int rv;

	if (!out || !base || !settings)
		return PTCP_ERR_INVAL;
	*out = NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return PTCP_ERR_NOMEM;
	n->base = base;
	n->s = *settings;
	if (cb)
		n->cb = *cb;
	n->user = user;
	n->log.fn = n->cb.log;
	n->log.user = user;
	n->log.level = (int)n->s.log_level;
	n->t0 = ptcp_clock_now();
	n->timer_at = PTCP_TS_NEVER;
	n->linger_until = 0;
	for (int i = 0; i < PTCP_RAWSOCK_NFAM; i++)
		n->rs.fam[i].fd = n->rs.fam[i].reserve_fd = -1;
	n->rs.lock_fd = -1;
	n->pkt_fd = -1;
	ptcp_rxring_init(&n->ring);
	if ((rv = copy_str(&n->str_key_dir, &n->s.key_dir)) != 0 ||
	    (rv = copy_str(&n->str_rendezvous, &n->s.rendezvous)) != 0 ||
	    (rv = copy_str(&n->str_rendezvous_key, &n->s.rendezvous_key)) != 0 ||
	    (rv = copy_str(&n->str_local_addr, &n->s.local_addr)) != 0 ||
	    (rv = copy_str(&n->str_pcap, &n->s.pcap_path)) != 0)
		goto fail;
	if ((rv = check_settings(n)) != 0)
		goto fail;
	if (ptcp_random_init() != 0) {
		nlog_error(n, "libsodium cannot initialise");
		rv = PTCP_ERR_CH_CRYPTO;
		goto fail;
	}
	if ((rv = open_identity(n)) != 0 || (rv = open_wire(n)) != 0 || (rv = open_stack(n)) != 0 ||
	    (rv = open_loop(n)) != 0)
		goto fail;
	if (n->s.rendezvous) {
		rv = ptcp_rdvflow_new(&n->rdv, n);
		if (rv != 0)
			goto fail;
	}
	if ((rv = drop_privileges(n)) != 0)
		goto fail;
	ptcp_node_local(n, a, sizeof(a));
	nlog_info(n, "node on %s%s%s", a,
		  n->has_id ? ", peer id " : "", n->has_id ? n->id_text : "");
	*out = n;
	return 0;
fail:
	ptcp_node_free(n);
	return rv;
}

void ptcp_node_free(ptcp_node *n)
{
	struct ptcp_peer *p;
	ptcp_ts now;

	if (!n)
		return;
	now = ptcp_clock_now();
	/* Resets for every open connection, sent before the socket goes. */
	if (n->stack) {
		for (p = n->peers; p; p = p->next) {
			if (p->conn && ptcp_conn_state(p->conn) != PTCP_CLOSED) {
				(void)ptcp_conn_abort(p->conn, now);
				(void)ptcp_stack_touch(n->stack, p->conn, now);
			}
			if (p->alt.conn && ptcp_conn_state(p->alt.conn) != PTCP_CLOSED) {
				(void)ptcp_conn_abort(p->alt.conn, now);
				(void)ptcp_stack_touch(n->stack, p->alt.conn, now);
			}
		}
		if (n->tx_buf)
			flush(n, now);
	}
	while (n->peers) {
		n->peers->conn = n->peers->alt.conn = NULL;   /* the table frees them below */
		ptcp_peer_destroy(n->peers);
	}
	ptcp_rdvflow_free(n->rdv);
	ptcp_stack_free(n->stack);
	for (int i = 0; i < PTCP_RAWSOCK_NFAM; i++)
		if (n->ev_raw[i])
			event_free(n->ev_raw[i]);
	if (n->ev_ring)
		event_free(n->ev_ring);
	if (n->ev_fwd)
		event_free(n->ev_fwd);
	if (n->ev_timer)
		event_free(n->ev_timer);
	if (n->ev_kick)
		event_free(n->ev_kick);
	if (n->pcap) {
		(void)ptcp_pcapw_flush(n->pcap);
		ptcp_pcapw_close(n->pcap);
	}
	ptcp_nftguard_remove(&n->guard);
	log_ring_counts(n);
	ptcp_rxring_close(&n->ring);
	ptcp_rawsock_close(&n->rs);
	if (n->pkt_fd >= 0)
		close(n->pkt_fd);
	if (n->has_id)
		ptcp_identity_wipe(&n->id);
	free(n->tx_buf);
	free(n->rx_buf);
	free(n->str_key_dir);
	free(n->str_rendezvous);
	free(n->str_rendezvous_key);
	free(n->str_local_addr);
	free(n->str_pcap);
	free(n);
}

int ptcp_node_close(ptcp_node *n, uint64_t timeout)
{
	struct ptcp_peer *p;
	ptcp_ts now = ptcp_clock_now();

	if (n->closing)
		return PTCP_ERR_STATE;
	n->closing = true;
	n->close_deadline = ptcp_ts_add(now, timeout);
	if (n->linger_until < now)
		n->linger_until = now;
	nlog_info(n, "closing: %u peers to end", n->n_peers);
	ptcp_rdvflow_free(n->rdv);
	n->rdv = NULL;
	for (int i = 0; i < PTCP_RAWSOCK_NFAM; i++) {
		if (n->listener[i])
			(void)ptcp_stack_listen_close(n->stack, n->listener[i], now);
		n->listener[i] = NULL;
	}
	for (p = n->peers; p; p = p->next) {
		if (p->phase == PEER_OPEN)
			p->shut_wanted = true;
		else if (p->phase != PEER_ENDED && !p->dead)
			ptcp_peer_fail(p, PTCP_ERR_ABORTED, now);
	}
	ptcp_node_kick(n);
	return 0;
}

/* --- direct mode ------------------------------------------------------------------ */

int ptcp_node_connect_direct(ptcp_node *n, const ptcp_direct *d, void *peer_user, ptcp_peer **out)
{
	struct ptcp_peer *p;
	char a[48];
	int rv;

	if (!n || !d || !out || !d->remote)
		return PTCP_ERR_INVAL;
	*out = NULL;
	if (n->closing)
		return PTCP_ERR_STATE;
	if (n->n_peers >= n->s.max_peers)
		return PTCP_ERR_CONN_LIMIT;
	if (n->s.encrypt && !d->peer_id) {
		nlog_error(n, "direct mode with encryption needs the peer's id");
		return PTCP_ERR_INVAL;
	}
	p = ptcp_peer_alloc(n, peer_user);
	if (!p)
		return PTCP_ERR_NOMEM;
	if (ptcp_rdv_from_sockaddr(&p->remote, d->remote, (socklen_t)d->remote_len) != 0 ||
	    p->remote.port == 0) {
		nlog_error(n, "direct mode: the peer must be an IPv4 or IPv6 address with a port");
		rv = PTCP_ERR_INVAL;
		goto fail;
	}
	if (!ptcp_rawsock_has(&n->rs, p->remote.family)) {
		nlog_error(n, "direct mode: the peer %s is %s, and this node has no %s (%s)",
			   ptcp_endpoint_format(&p->remote, a, sizeof(a)),
			   p->remote.family == PTCP_AF_INET6 ? "IPv6" : "IPv4",
			   p->remote.family == PTCP_AF_INET6 ? "IPv6" : "IPv4",
			   n->s.local_addr ? "its local address is of the other family" :
			   "the host has none");
		rv = PTCP_ERR_INVAL;
		goto fail;
	}
	/* Our address towards the peer: the route's source unless the
	 * node was given one. */
	if (n->s.local_addr) {
		p->local = n->rs.fam[ptcp_rawsock_index(p->remote.family)].local;
	} else if ((rv = ptcp_route_source(&p->remote, &p->local)) != 0) {
		nlog_error(n, "no route to %s: %s", ptcp_endpoint_format(&p->remote, a, sizeof(a)),
			   strerror(-rv));
		rv = PTCP_ERR_SYSTEM;
		goto fail;
	}
	p->local.port = n->rs.port;
	p->active = d->active;
	p->open_timeout = d->open_timeout;
	p->open.isn = d->has_isn ? d->isn : ptcp_random_u32();
	p->open.has_peer_isn = d->has_peer_isn;
	p->open.peer_isn = d->peer_isn;
	if (d->peer_id) {
		memcpy(p->expect_id, d->peer_id, PTCP_ID_LEN);
		p->has_expect_id = true;
	}
	/* Nothing agreed: the table draws an RFC 6528 ISN for the 4-tuple. */
	p->isn_from_table = !d->has_isn && !d->has_peer_isn;
	rv = ptcp_peer_start(p, ptcp_clock_now());
	if (rv != 0)
		goto fail;
	*out = p;
	ptcp_node_kick(n);
	return 0;
fail:
	ptcp_peer_destroy(p);
	return rv;
}

int ptcp_node_listen_direct(ptcp_node *n, unsigned backlog)
{
	struct ptcp_config cc;
	struct ptcp_peer probe;
	char a[48];
	int i, rv;

	if (!n || backlog == 0)
		return PTCP_ERR_INVAL;
	if (n->listener[0] || n->listener[1] || n->closing)
		return PTCP_ERR_STATE;
	if (n->s.encrypt) {
		nlog_error(n, "direct listening is without encryption only");
		return PTCP_ERR_INVAL;
	}
	/* A listener per family: each with its family's MSS. */
	for (i = 0; i < PTCP_RAWSOCK_NFAM; i++) {
		if (n->rs.fam[i].fd < 0)
			continue;
		memset(&probe, 0, sizeof(probe));
		probe.accepted = true;
		probe.remote.family = n->rs.fam[i].local.family;
		ptcp_node_conn_config(n, &probe, &cc);
		rv = ptcp_stack_listen(n->stack, &n->listener[i], &n->rs.fam[i].local, backlog, &cc, NULL);
		if (rv != 0) {
			nlog_error(n, "cannot listen on %s: %s",
				   ptcp_endpoint_format(&n->rs.fam[i].local, a, sizeof(a)), ptcp_strerror(rv));
			return rv;
		}
		nlog_info(n, "listening on %s", ptcp_endpoint_format(&n->rs.fam[i].local, a, sizeof(a)));
	}
	return 0;
}

/* --- through the rendezvous server ---------------------------------------------------- */

int ptcp_node_listen(ptcp_node *n, const uint8_t (*allow)[PTCP_ID_LEN], unsigned n_allow)
{
	int rv;

	if (!n || (n_allow && !allow))
		return PTCP_ERR_INVAL;
	if (!n->rdv)
		return PTCP_ERR_NO_RENDEZVOUS;
	if (n->listening || n->closing)
		return PTCP_ERR_STATE;
	rv = ptcp_rdvflow_listen(n->rdv, allow, n_allow);
	if (rv != 0)
		return rv;
	n->listening = true;
	ptcp_node_kick(n);
	return 0;
}

int ptcp_node_connect(ptcp_node *n, const uint8_t id[PTCP_ID_LEN], void *peer_user, ptcp_peer **out)
{
	struct ptcp_peer *p;
	int rv;

	if (!n || !id || !out)
		return PTCP_ERR_INVAL;
	*out = NULL;
	if (!n->rdv)
		return PTCP_ERR_NO_RENDEZVOUS;
	if (n->closing || n->listening)
		return PTCP_ERR_STATE;
	if (memcmp(id, n->id.pk, PTCP_ID_LEN) == 0)
		return PTCP_ERR_SELF;
	if (n->n_peers >= n->s.max_peers)
		return PTCP_ERR_CONN_LIMIT;
	p = ptcp_peer_alloc(n, peer_user);
	if (!p)
		return PTCP_ERR_NOMEM;
	memcpy(p->expect_id, id, PTCP_ID_LEN);
	p->has_expect_id = true;
	p->via_rendezvous = true;
	p->phase = PEER_REQUESTED;
	/* Registering and the server's wait for the peer, with a margin. */
	p->request_deadline = ptcp_ts_add(ptcp_clock_now(), n->s.connect_wait + 20 * PTCP_NS_PER_S);
	rv = ptcp_rdvflow_connect(n->rdv, p);
	if (rv != 0) {
		ptcp_peer_destroy(p);
		return rv;
	}
	*out = p;
	ptcp_node_kick(n);
	return 0;
}

/* --- queries ------------------------------------------------------------------------ */

int ptcp_node_local(const ptcp_node *n, char *buf, size_t cap)
{
	struct ptcp_endpoint ep;
	char a[48];

	/* Both families: "*:PORT". */
	memset(&ep, 0, sizeof(ep));
	ep.port = n->rs.port;
	if (n->rs.fam[PTCP_RAWSOCK_V4].fd < 0)
		ep = n->rs.fam[PTCP_RAWSOCK_V6].local;
	else if (n->rs.fam[PTCP_RAWSOCK_V6].fd < 0)
		ep = n->rs.fam[PTCP_RAWSOCK_V4].local;
	ptcp_endpoint_format(&ep, a, sizeof(a));
	return snprintf(buf, cap, "%s", a);
}

int ptcp_node_id(const ptcp_node *n, uint8_t id[PTCP_ID_LEN])
{
	if (!n->has_id)
		return PTCP_ERR_STATE;
	memcpy(id, n->id.pk, PTCP_ID_LEN);
	return 0;
}

int ptcp_node_rendezvous_key(const ptcp_node *n, uint8_t id[PTCP_ID_LEN])
{
	if (!n->rdv)
		return PTCP_ERR_NO_RENDEZVOUS;
	return ptcp_rdvflow_server_key(n->rdv, id);
}

unsigned ptcp_node_peer_count(const ptcp_node *n)
{
	return n->n_peers;
}
