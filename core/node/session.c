#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <event2/event.h>

#include "clock.h"
#include "error.h"
#include "isn.h"
#include "log.h"
#include "nftguard.h"
#include "pcapw.h"
#include "pktsock.h"
#include "random.h"
#include "rawsock.h"
#include "session.h"
#include "wire.h"

#define IO_BUF (64 * 1024)     /* bytes moved per read(2)/write(2) */
#define RX_BATCH 64            /* packets read per raw-socket wake-up */
#define LINGER_MIN (200 * PTCP_NS_PER_MS)
/* --gso: how often to look for a neighbour entry while there is none, and
 * to look the path up again once frames flow. */
#define GSO_RETRY (100 * PTCP_NS_PER_MS)
#define GSO_REFRESH PTCP_NS_PER_S
#define GSO_FRAME (PTCP_PKTSOCK_HEADROOM + PTCP_PKTSOCK_TCP_MAX)

/* Segmentation offload (cfg.gso), a one-way street: the raw socket until
 * the connection is established and the next hop's MAC is known, then the
 * packet socket for every segment, so that segments never overtake each
 * other on two paths; back to the raw socket for good if the kernel
 * refuses a frame or the path changes. */
enum gso_mode {
	GSO_OFF = 0,    /* not asked for, or given up: the raw socket */
	GSO_WAIT,       /* asked for, not established or no neighbour yet */
	GSO_ON,         /* every segment through the packet socket */
};

struct session {
	const struct ptcp_session_config *cfg;
	struct ptcp_session_result *res;
	struct event_base *base;
	struct event *ev_raw, *ev_timer, *ev_in, *ev_out, *ev_int, *ev_term;
	struct ptcp_conn *conn;
	struct ptcp_wire *w;            /* cfg.wire, or own_wire */
	struct ptcp_wire own_wire;
	ptcp_ts start;

	bool in_poll, out_poll;        /* fd works with epoll */
	bool in_armed, out_armed;      /* its event is added */
	int in_flags, out_flags;       /* fcntl flags to restore, -1 = untouched */
	bool in_eof;                   /* read(2) on in_fd returned 0 */
	bool shut;                     /* ptcp_conn_shutdown() was called */
	bool out_closed;               /* out_fd replaced by /dev/null after EOF */
	bool established;              /* reached ESTABLISHED once */
	bool done;

	ptcp_ts open_deadline;         /* PTCP_TS_NEVER when none */
	ptcp_ts linger_until;          /* set on entering TIME-WAIT */
	ptcp_ts timer_at;              /* what ev_timer is armed for */

	uint8_t *in_buf;               /* bytes read but not yet accepted */
	size_t in_off, in_len;
	uint8_t *out_buf;              /* bytes received but not yet written */
	size_t out_off, out_len;
	uint8_t *rx_buf;               /* PTCP_RAWSOCK_MTU */
	uint8_t *tx_buf;               /* PTCP_RAWSOCK_BATCH buffers of tx_cap */
	size_t tx_cap;
	struct iovec tx_iov[PTCP_RAWSOCK_BATCH];

	enum gso_mode gso;
	struct ptcp_pktsock pk;
	ptcp_ts gso_retry_at;          /* next path look-up in GSO_WAIT */
	ptcp_ts gso_refresh_at;        /* next path refresh in GSO_ON */
	bool gso_told_wait;            /* "no neighbour yet" was logged */
	unsigned gso_max_segs;         /* segments per super-segment */
	uint8_t *gso_buf;              /* PTCP_PKTSOCK_BATCH frames of GSO_FRAME */
	struct iovec gso_iov[PTCP_PKTSOCK_BATCH];
	uint16_t gso_size[PTCP_PKTSOCK_BATCH]; /* per frame: info.gso_size */
	uint8_t gso_ttl[PTCP_PKTSOCK_BATCH];   /* per frame: info.ttl */
	uint64_t gso_frames, gso_segs; /* sent through the packet socket */

	/* cfg.channel: in_buf holds plaintext, sealed into tx_wire; the
	 * stream's bytes go through rx_wire into the channel, and out_buf
	 * holds only plaintext that verified. */
	struct ptcp_channel *ch;
	uint8_t *tx_wire;              /* handshake or records not yet sent */
	size_t tx_wire_off, tx_wire_len;
	uint8_t *rx_wire;              /* received, not yet taken by the channel */
	size_t rx_wire_off, rx_wire_len;
	bool ch_told;                  /* "secure channel established" logged */
	bool ch_end_sent;              /* our end record is in tx_wire or out */
	bool ch_eof_checked;           /* ptcp_channel_input_eof() was called */

	/* Who sent the RST that reset us: the raw socket sees each packet's
	 * IP TTL, which the engine does not. The peer's segments arrive with
	 * the TTL they had minus the hops on the way; a RST from a box on the
	 * path (a NAT that forgot the connection) with the box's own, minus
	 * fewer hops. */
	bool peer_ttl_seen;            /* a non-RST segment from the peer came */
	uint8_t peer_ttl_min, peer_ttl_max;
	bool rst_ttl_seen;             /* the RST that closed the connection */
	uint8_t rst_ttl;
};

/* tx_wire: one IO_BUF of plaintext sealed, or the handshake. */
#define TX_WIRE_CAP (IO_BUF + 8 * PTCP_CHANNEL_RECORD_OVERHEAD + PTCP_CHANNEL_RECORD_WIRE_MAX)

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

void ptcp_session_config_default(struct ptcp_session_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	ptcp_config_default(&cfg->conn);
	cfg->in_fd = STDIN_FILENO;
	cfg->out_fd = STDOUT_FILENO;
	cfg->mark = PTCP_SESSION_MARK;
	cfg->linger = -1;
}

static void fail(struct session *s, enum ptcp_session_status st, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Records the first failure; later ones are consequences of it. */
static void fail(struct session *s, enum ptcp_session_status st, int err, const char *fmt, ...)
{
	va_list ap;

	if (s->res->status == PTCP_SESSION_OK) {
		s->res->status = st;
		if (st == PTCP_SESSION_CONN)
			s->res->conn_error = err;
		else
			s->res->sys_errno = err;
		va_start(ap, fmt);
		vsnprintf(s->res->msg, sizeof(s->res->msg), fmt, ap);
		va_end(ap);
	}
	s->done = true;
	if (s->base)
		event_base_loopbreak(s->base);
}

/* --- logging ------------------------------------------------------------- */

static void on_event(void *user, struct ptcp_conn *conn, const struct ptcp_event *ev)
{
	struct session *s = user;

	(void)conn;
	switch (ev->type) {
	case PTCP_EV_STATE:
		ptcp_info("state %s -> %s", ptcp_state_name(ev->from), ptcp_state_name(ev->to));
		if (ev->to == PTCP_ESTABLISHED && !s->established) {
			s->established = true;
			ptcp_info("established after %.3f ms",
				  (double)ptcp_ts_elapsed(ev->now, s->start) / PTCP_NS_PER_MS);
		}
		break;
	case PTCP_EV_DROP:
		ptcp_info("drop: %s", ptcp_drop_name(ev->drop));
		break;
	case PTCP_EV_ISN_MISMATCH:
		ptcp_warn("the peer's SYN carries ISN %u, not the agreed %u: %s", ev->seq,
			  s->cfg->open.peer_isn, ev->accepted ? "accepted" : "ignored");
		break;
	case PTCP_EV_RETRANSMIT:
		ptcp_info("retransmission timeout: seq %u, backoff %u", ev->seq, ev->backoff);
		/* The next hop may have moved: look again before resending. */
		s->gso_refresh_at = 0;
		break;
	case PTCP_EV_FAST_RETRANSMIT:
		ptcp_info("fast retransmit: seq %u", ev->seq);
		break;
	case PTCP_EV_CLOSED:
		ptcp_info("closed: %s", ev->error ? ptcp_strerror(ev->error) : "clean close");
		break;
	}
}

static void log_segment(const char *dir, const uint8_t *tcp, size_t len,
			const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst)
{
	struct ptcp_segment seg;
	char a[48], b[48], line[256];

	if (!ptcp_log_enabled(PTCP_LOG_DEBUG))
		return;
	ptcp_endpoint_format(src, a, sizeof(a));
	ptcp_endpoint_format(dst, b, sizeof(b));
	if (ptcp_segment_parse(&seg, tcp, len, NULL, NULL) != 0)
		snprintf(line, sizeof(line), "malformed, %zu bytes", len);
	else
		ptcp_segment_format(&seg, line, sizeof(line));
	ptcp_debug("%s %s > %s: %s", dir, a, b, line);
}

/* --- the wire ------------------------------------------------------------ */

/* What a send error means: a local drop is a lost segment that TCP
 * repairs; no route may heal; anything else (a firewall's EPERM, a bad
 * descriptor) will not go away. Returns false on a failure. */
static bool send_error(struct session *s, int rv)
{
	if (rv == -ENOBUFS || rv == -EAGAIN || rv == -EHOSTUNREACH || rv == -ENETUNREACH) {
		ptcp_info("segment not sent: %s", strerror(-rv));
		return true;
	}
	fail(s, PTCP_SESSION_SYSTEM, -rv, "cannot send to the peer: %s", strerror(-rv));
	return false;
}

/* Sends the segments gathered in tx_iov[0..n). */
static bool send_batch(struct session *s, unsigned n)
{
	const struct ptcp_endpoint *remote = ptcp_conn_remote(s->conn);
	int rv;

	if (n == 0)
		return true;
	rv = ptcp_rawsock_send_many(&s->w->rs, remote, s->tx_iov, n);
	if (rv < 0)
		return send_error(s, rv);
	if ((unsigned)rv < n)
		ptcp_info("%u segments not sent: socket buffer full", n - (unsigned)rv);
	return true;
}

/* --- segmentation offload ------------------------------------------------ */

static bool synchronized_state(enum ptcp_state st)
{
	return st != PTCP_CLOSED && st != PTCP_LISTEN && st != PTCP_SYN_SENT &&
	       st != PTCP_SYN_RECEIVED;
}

static void gso_give_up(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Back to the raw socket for good; says why once, at -v. */
static void gso_give_up(struct session *s, const char *fmt, ...)
{
	char why[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	ptcp_info("offload: %s; sending through the raw socket from now on", why);
	s->gso = GSO_OFF;
	ptcp_pktsock_close(&s->pk);
}

/* GSO_WAIT: once the connection is synchronized, find the path and open
 * the packet socket. */
static void gso_try(struct session *s, ptcp_ts now)
{
	struct ptcp_pktsock_path path;
	enum ptcp_pktsock_why why;
	char a[48];
	int rv;

	if (!synchronized_state(ptcp_conn_state(s->conn)) || now < s->gso_retry_at)
		return;
	rv = ptcp_pktsock_route(&s->pk, &s->w->rs.local, ptcp_conn_remote(s->conn), s->cfg->mark,
				&path, &why);
	if (rv == -EAGAIN) {
		/* The kernel resolves the next hop for the raw socket's
		 * segments; we take its answer when it is there. */
		if (!s->gso_told_wait)
			ptcp_info("offload: no neighbour entry for the next hop yet; raw socket until there is one");
		s->gso_told_wait = true;
		s->gso_retry_at = ptcp_ts_add(now, GSO_RETRY);
		return;
	}
	if (rv != 0) {
		gso_give_up(s, "%s",
			    why == PTCP_PKTSOCK_NOT_ETHER ? "the route's interface is not Ethernet" :
			    why == PTCP_PKTSOCK_NOT_UNICAST ? "the peer is not reached by a unicast route" :
			    why == PTCP_PKTSOCK_NO_ROUTE ? "no route to the peer" :
			    strerror(-rv));
		return;
	}
	/* Our frames will bypass this host's xfrm and netfilter: no IPsec
	 * policy or SA may apply, no NAT here may apply, and connection
	 * tracking must stop checking the window. What cannot be asked is
	 * taken as a no: the raw socket, which passes through both, is
	 * always right. */
	rv = ptcp_pktsock_xfrm(&s->w->rs.local, ptcp_conn_remote(s->conn), path.ifindex);
	if (rv == -EXDEV) {
		gso_give_up(s, "an IPsec (xfrm) policy or SA of this host may apply to the connection, "
			    "and frames would bypass it");
		return;
	}
	if (rv != 0) {
		gso_give_up(s, "cannot ask xfrm whether IPsec applies to the connection (%s)",
			    strerror(-rv));
		return;
	}
	rv = ptcp_pktsock_conntrack(&s->w->rs.local, ptcp_conn_remote(s->conn));
	if (rv == -EXDEV) {
		gso_give_up(s, "this host NATs the connection, and frames would bypass the NAT");
		return;
	}
	if (rv != 0 && rv != -ENOENT) {
		gso_give_up(s, "cannot ask conntrack about the connection (%s)", strerror(-rv));
		return;
	}
	if (rv == 0)
		ptcp_info("offload: this host tracks the connection (conntrack); its window check is off for it");
	rv = ptcp_pktsock_start(&s->pk, &path, s->cfg->mark, (uint16_t)ptcp_random_u32());
	if (rv != 0) {
		gso_give_up(s, "cannot open a packet socket on %s: %s", path.ifname, strerror(-rv));
		return;
	}
	s->gso = GSO_ON;
	s->gso_refresh_at = ptcp_ts_add(now, GSO_REFRESH);
	snprintf(a, sizeof(a), "%u.%u.%u.%u", path.next_hop[0], path.next_hop[1],
		 path.next_hop[2], path.next_hop[3]);
	ptcp_info("offload: segments go out as GSO frames on %s (MTU %u) to %s%s at "
		  "%02x:%02x:%02x:%02x:%02x:%02x, up to %u segments each",
		  path.ifname, path.mtu, path.via_gateway ? "gateway " : "", a, path.dst_mac[0],
		  path.dst_mac[1], path.dst_mac[2], path.dst_mac[3], path.dst_mac[4],
		  path.dst_mac[5], s->gso_max_segs);
}

/* Sends frame i of gso_buf (its TCP part) through the raw socket, cut into
 * segments in software. */
static bool gso_send_cut(struct session *s, unsigned i)
{
	const struct ptcp_endpoint *remote = ptcp_conn_remote(s->conn);
	const uint8_t *tcp = (const uint8_t *)s->gso_iov[i].iov_base + PTCP_PKTSOCK_HEADROOM;
	size_t len = s->gso_iov[i].iov_len - PTCP_PKTSOCK_HEADROOM;
	unsigned k;
	int n, rv;

	for (k = 0;; k++) {
		n = ptcp_pktsock_piece(s->tx_buf, s->tx_cap, tcp, len, s->gso_size[i], k,
				       &s->w->rs.local, remote);
		if (n <= 0)
			return true;
		rv = ptcp_rawsock_send(&s->w->rs, remote, s->tx_buf, (size_t)n, s->gso_ttl[i]);
		if (rv < 0 && !send_error(s, rv))
			return false;
	}
}

/* Sends frames [0, n) of gso_buf. If the kernel refuses one, offload ends
 * and that frame and the rest go through the raw socket. */
static bool gso_send(struct session *s, unsigned n)
{
	unsigned done = 0, i;
	int rv;

	while (done < n) {
		rv = ptcp_pktsock_send_many(&s->pk, s->gso_iov + done, n - done);
		if (rv > 0) {
			for (i = done; i < done + (unsigned)rv; i++) {
				s->gso_frames++;
				s->gso_segs += ptcp_pktsock_frame_segs(s->gso_iov[i].iov_base,
								       s->gso_iov[i].iov_len);
			}
			done += (unsigned)rv;
			continue;
		}
		if (rv == 0 || rv == -ENOBUFS || rv == -EAGAIN) {
			/* Lost locally, as on a congested link: TCP repairs it. */
			ptcp_info("%u frames not sent: %s", n - done,
				  rv ? strerror(-rv) : "socket buffer full");
			return true;
		}
		gso_give_up(s, "the kernel refused a frame on %s: %s", s->pk.path.ifname,
			    strerror(-rv));
		for (i = done; i < n; i++)
			if (!gso_send_cut(s, i))
				return false;
		return true;
	}
	return true;
}

/* GSO_ON: drains the engine in super-segments, PTCP_PKTSOCK_BATCH frames
 * per system call. Returns false when offload ended on the way (the
 * caller drains the rest through the raw socket). */
static bool gso_flush(struct session *s, ptcp_ts now)
{
	const struct ptcp_endpoint *local = ptcp_conn_local(s->conn);
	const struct ptcp_endpoint *remote = ptcp_conn_remote(s->conn);
	struct ptcp_txinfo info;
	unsigned k = 0;
	uint8_t *frame;
	int n, len, rv;

	if (now >= s->gso_refresh_at) {
		s->gso_refresh_at = ptcp_ts_add(now, GSO_REFRESH);
		rv = ptcp_pktsock_refresh(&s->pk, s->cfg->mark);
		if (rv == -ENETUNREACH || rv == -EAGAIN || rv == -ENOTSUP) {
			gso_give_up(s, "%s", rv == -EAGAIN ? "the next hop's neighbour entry is no longer valid" :
				    "the route to the peer has changed");
			return false;
		}
		/* Another failure (netlink timed out) leaves the path as it was. */
	}
	for (;;) {
		frame = s->gso_buf + (size_t)k * GSO_FRAME;
		memset(&info, 0, sizeof(info));
		n = ptcp_conn_output_gso(s->conn, frame + PTCP_PKTSOCK_HEADROOM, PTCP_PKTSOCK_TCP_MAX,
					 s->gso_max_segs, &info, now);
		if (n < 0) {
			fail(s, PTCP_SESSION_SYSTEM, EINVAL, "engine output: %s", ptcp_strerror(n));
			return true;
		}
		if (n == 0)
			break;
		log_segment(">", frame + PTCP_PKTSOCK_HEADROOM, (size_t)n, local, remote);
		/* What the engine produced, before its checksum becomes the
		 * pseudo-header sum the kernel wants. */
		if (s->w->pcap)
			(void)ptcp_pcapw_write_tcp(s->w->pcap, local, remote, frame + PTCP_PKTSOCK_HEADROOM,
						   (size_t)n, info.ttl);
		s->gso_iov[k].iov_base = frame;
		s->gso_iov[k].iov_len = PTCP_PKTSOCK_HEADROOM + (size_t)n;
		s->gso_size[k] = info.gso_size;
		s->gso_ttl[k] = info.ttl;
		len = ptcp_pktsock_frame(frame, &s->pk.path, (size_t)n, info.gso_size, s->pk.ip_id,
					 info.ttl);
		if (len < 0) {
			/* Larger than the interface's MTU, say: what was gathered
			 * goes as frames, this one and the rest another way. */
			if (!gso_send(s, k))
				return false;
			if (s->gso == GSO_ON)
				gso_give_up(s, "a segment of %d bytes does not fit a frame on %s (MTU %u)",
					    n, s->pk.path.ifname, s->pk.path.mtu);
			(void)gso_send_cut(s, k);
			return false;
		}
		s->pk.ip_id = (uint16_t)(s->pk.ip_id + ptcp_pktsock_frame_segs(frame, (size_t)len));
		if (++k == PTCP_PKTSOCK_BATCH) {
			if (!gso_send(s, k) || s->gso != GSO_ON)
				return false;
			k = 0;
		}
	}
	if (!gso_send(s, k) || s->gso != GSO_ON)
		return false;
	return true;
}

/* Sends whatever the engine has due, up to PTCP_RAWSOCK_BATCH segments
 * per system call. */
static void flush_tx(struct session *s, ptcp_ts now)
{
	const struct ptcp_endpoint *local = ptcp_conn_local(s->conn);
	const struct ptcp_endpoint *remote = ptcp_conn_remote(s->conn);
	struct ptcp_txinfo info;
	unsigned k = 0;
	uint8_t *buf;
	int n, rv;

	if (s->gso == GSO_WAIT)
		gso_try(s, now);
	if (s->gso == GSO_ON && (gso_flush(s, now) || s->done))
		return;
	for (;;) {
		buf = s->tx_buf + (size_t)k * s->tx_cap;
		memset(&info, 0, sizeof(info));
		n = ptcp_conn_output(s->conn, buf, s->tx_cap, &info, now);
		if (n < 0) {
			fail(s, PTCP_SESSION_SYSTEM, EINVAL, "engine output: %s", ptcp_strerror(n));
			return;
		}
		if (n == 0)
			break;
		log_segment(">", buf, (size_t)n, local, remote);
		if (s->w->pcap)
			(void)ptcp_pcapw_write_tcp(s->w->pcap, local, remote, buf, (size_t)n, info.ttl);
		if (info.ttl) {
			/* A TTL of its own (the first punching SYN): keep the
			 * order, send what is gathered, then this one alone. */
			if (!send_batch(s, k))
				return;
			k = 0;
			rv = ptcp_rawsock_send(&s->w->rs, remote, buf, (size_t)n, info.ttl);
			if (rv < 0 && !send_error(s, rv))
				return;
			continue;
		}
		s->tx_iov[k].iov_base = buf;
		s->tx_iov[k].iov_len = (size_t)n;
		if (++k == PTCP_RAWSOCK_BATCH) {
			if (!send_batch(s, k))
				return;
			k = 0;
		}
	}
	(void)send_batch(s, k);
}

static void on_raw(evutil_socket_t fd, short what, void *arg);
static void settle(struct session *s, ptcp_ts now);

#define TCP_FLAGS_OFF 13
#define TCP_RST 0x04
#define IP_TTL_OFF 8

/* The TTL bookkeeping of one received packet (rx, after the engine took
 * it; before: the state before). */
static void note_ttl(struct session *s, const struct ptcp_rawsock_rx *rx, enum ptcp_state before)
{
	const struct ptcp_endpoint *remote = ptcp_conn_remote(s->conn);
	uint8_t ttl;

	if (rx->ip_len <= IP_TTL_OFF || rx->tcp_len <= TCP_FLAGS_OFF || !remote ||
	    !ptcp_endpoint_equal(&rx->src, remote))
		return;
	ttl = rx->ip[IP_TTL_OFF];
	if (rx->tcp[TCP_FLAGS_OFF] & TCP_RST) {
		if (before != PTCP_CLOSED && ptcp_conn_state(s->conn) == PTCP_CLOSED &&
		    ptcp_conn_error(s->conn) == PTCP_ERR_RESET) {
			s->rst_ttl_seen = true;
			s->rst_ttl = ttl;
		}
		return;
	}
	if (!s->peer_ttl_seen || ttl < s->peer_ttl_min)
		s->peer_ttl_min = ttl;
	if (!s->peer_ttl_seen || ttl > s->peer_ttl_max)
		s->peer_ttl_max = ttl;
	s->peer_ttl_seen = true;
}

/* The line for a reset: what the TTLs tell of who sent the RST. */
static void fail_reset(struct session *s)
{
	char ttls[16];

	if (!s->rst_ttl_seen || !s->peer_ttl_seen) {
		fail(s, PTCP_SESSION_CONN, PTCP_ERR_RESET, "connection reset (by the peer or by a box "
		     "on the path: no segment of the peer's to tell them apart)");
		return;
	}
	if (s->peer_ttl_min == s->peer_ttl_max)
		snprintf(ttls, sizeof(ttls), "%u", s->peer_ttl_min);
	else
		snprintf(ttls, sizeof(ttls), "%u to %u", s->peer_ttl_min, s->peer_ttl_max);
	if (s->rst_ttl >= s->peer_ttl_min && s->rst_ttl <= s->peer_ttl_max)
		fail(s, PTCP_SESSION_CONN, PTCP_ERR_RESET,
		     "connection reset by the peer (its RST came as far as the peer's segments: IP TTL %s)",
		     ttls);
	else
		fail(s, PTCP_SESSION_CONN, PTCP_ERR_RESET,
		     "connection reset, but not by the peer: the RST came with IP TTL %u and the peer's "
		     "segments with %s, so a box on the path sent it (a NAT or firewall that forgot the "
		     "connection, e.g. after an idle timeout, or an attacker)", s->rst_ttl, ttls);
}

static void on_raw(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct ptcp_rawsock_rx rx;
	ptcp_ts now = ptcp_clock_now();
	enum ptcp_state before;
	int i, rv;

	(void)fd;
	(void)what;
	for (i = 0; i < RX_BATCH && !s->done; i++) {
		rv = ptcp_rawsock_recv(&s->w->rs, s->rx_buf, PTCP_RAWSOCK_MTU, &rx);
		if (rv == -EAGAIN)
			break;
		if (rv < 0) {
			fail(s, PTCP_SESSION_SYSTEM, -rv, "cannot read from the raw socket: %s",
			     strerror(-rv));
			return;
		}
		if (rv == 0) {
			ptcp_debug("drop before the engine: %s", rx.why);
			continue;
		}
		log_segment("<", rx.tcp, rx.tcp_len, &rx.src, &rx.dst);
		if (s->w->pcap)
			(void)ptcp_pcapw_write_ip(s->w->pcap, rx.ip, rx.ip_len);
		before = ptcp_conn_state(s->conn);
		/* Malformed segments are reported by the engine as drops. */
		(void)ptcp_conn_input_bytes(s->conn, rx.tcp, rx.tcp_len, &rx.src, now);
		note_ttl(s, &rx, before);
	}
	settle(s, now);
}

/* --- application data ---------------------------------------------------- */

/* True when ptcp_conn_send() may be called (not in CLOSED or LISTEN). */
static bool can_send(struct session *s)
{
	enum ptcp_state st = ptcp_conn_state(s->conn);

	return st != PTCP_CLOSED && st != PTCP_LISTEN && !s->shut;
}

static void channel_fail(struct session *s, int err, ptcp_ts now);

static bool conn_open_for_data(struct session *s)
{
	enum ptcp_state st = ptcp_conn_state(s->conn);

	return st == PTCP_ESTABLISHED || st == PTCP_CLOSE_WAIT;
}

/* cfg.channel: refills tx_wire when it is empty (handshake first, then
 * records of in_buf's plaintext, then the end record once in_fd ended).
 * Returns false after a channel error. */
static bool channel_fill(struct session *s, ptcp_ts now)
{
	ptcp_ssize n;
	size_t taken;

	if (s->tx_wire_off < s->tx_wire_len)
		return true;
	s->tx_wire_off = s->tx_wire_len = 0;
	if (!conn_open_for_data(s) || s->shut)
		return true;
	if (ptcp_channel_handshake_pending(s->ch) > 0) {
		n = ptcp_channel_handshake_output(s->ch, s->tx_wire, TX_WIRE_CAP);
		if (n < 0) {
			channel_fail(s, (int)n, now);
			return false;
		}
		s->tx_wire_len = (size_t)n;
		return true;
	}
	if (!ptcp_channel_is_established(s->ch)) {
		if (ptcp_channel_error(s->ch) != 0) {
			channel_fail(s, ptcp_channel_error(s->ch), now);
			return false;
		}
		return true;
	}
	if (!s->ch_told) {
		s->ch_told = true;
		ptcp_info("secure channel established (%s) after %.3f ms",
			  ptcp_channel_role_name(ptcp_channel_role(s->ch)),
			  (double)ptcp_ts_elapsed(now, s->start) / PTCP_NS_PER_MS);
	}
	if (s->in_off < s->in_len) {
		n = ptcp_channel_seal(s->ch, s->in_buf + s->in_off, s->in_len - s->in_off, &taken,
				      s->tx_wire, TX_WIRE_CAP);
		if (n < 0) {
			channel_fail(s, (int)n, now);
			return false;
		}
		s->in_off += taken;
		if (s->in_off == s->in_len)
			s->in_off = s->in_len = 0;
		s->tx_wire_len = (size_t)n;
		return true;
	}
	if (s->in_eof && !s->ch_end_sent) {
		n = ptcp_channel_close(s->ch, s->tx_wire, TX_WIRE_CAP);
		if (n < 0) {
			channel_fail(s, (int)n, now);
			return false;
		}
		s->ch_end_sent = true;
		s->tx_wire_len = (size_t)n;
	}
	return true;
}

/* cfg.channel: hands handshake bytes and records to the engine while its
 * send buffer takes them. */
static void channel_push(struct session *s, ptcp_ts now)
{
	ptcp_ssize n;

	for (;;) {
		if (!channel_fill(s, now) || s->tx_wire_off == s->tx_wire_len)
			return;
		n = ptcp_conn_send(s->conn, s->tx_wire + s->tx_wire_off,
				   s->tx_wire_len - s->tx_wire_off, now);
		if (n <= 0)
			return;    /* full, or failed: settle() reports why */
		s->tx_wire_off += (size_t)n;
	}
}

/* True when our FIN may follow: with a channel, only after the end
 * record went to the engine. */
static bool ready_to_shut(struct session *s)
{
	if (!s->in_eof || s->in_len != 0)
		return false;
	return !s->ch || (s->ch_end_sent && s->tx_wire_off == s->tx_wire_len);
}

/* Hands bytes already read from in_fd to the engine. */
static void push_in(struct session *s, ptcp_ts now)
{
	ptcp_ssize n;

	if (s->ch) {
		channel_push(s, now);
		return;
	}
	while (s->in_off < s->in_len) {
		n = ptcp_conn_send(s->conn, s->in_buf + s->in_off, s->in_len - s->in_off, now);
		if (n < 0) {
			/* The connection failed; settle() reports why. */
			s->in_off = s->in_len = 0;
			return;
		}
		if (n == 0)
			return;
		s->in_off += (size_t)n;
	}
	s->in_off = s->in_len = 0;
}

/* One read(2) from in_fd, at most what the send buffer can take now.
 * Returns false when nothing more can be read now. */
static bool read_in(struct session *s, ptcp_ts now)
{
	size_t space;
	ssize_t n;

	if (s->in_eof || !can_send(s) || s->in_len > 0)
		return false;
	space = ptcp_conn_send_space(s->conn);
	if (space == 0)
		return false;
	if (space > IO_BUF)
		space = IO_BUF;
	n = read(s->cfg->in_fd, s->in_buf, space);
	if (n < 0) {
		if (errno == EINTR)
			return true;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return false;
		fail(s, PTCP_SESSION_SYSTEM, errno, "cannot read standard input: %s",
		     strerror(errno));
		return false;
	}
	if (n == 0) {
		s->in_eof = true;
		ptcp_info("end of input");
		return false;
	}
	s->in_len = (size_t)n;
	s->in_off = 0;
	push_in(s, now);
	return true;
}

static void on_in(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	ptcp_ts now = ptcp_clock_now();

	(void)fd;
	(void)what;
	(void)read_in(s, now);
	settle(s, now);
}

static void close_out(struct session *s)
{
	int null;

	/* Replace rather than close, so the descriptor number is not reused
	 * by a later open. The reader of a pipe sees end of file now. */
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		if (s->out_flags >= 0)
			(void)fcntl(s->cfg->out_fd, F_SETFL, s->out_flags);
		(void)dup2(null, s->cfg->out_fd);
		close(null);
	}
	s->out_closed = true;
	s->out_poll = false;
	s->out_flags = -1;
	ptcp_info("end of the peer's data");
}

/* cfg.channel: fills out_buf with verified plaintext, feeding the
 * channel from the engine only as fast as out_buf empties. Returns the
 * bytes now in out_buf (0: none ready), or -1 after a channel error. */
static ptcp_ssize channel_pull(struct session *s, ptcp_ts now)
{
	ptcp_ssize n;
	int rv;

	for (;;) {
		n = ptcp_channel_read(s->ch, s->out_buf, IO_BUF);
		if (n < 0) {
			channel_fail(s, (int)n, now);
			return -1;
		}
		if (n > 0)
			return n;
		if (s->rx_wire_off < s->rx_wire_len) {
			n = ptcp_channel_input(s->ch, s->rx_wire + s->rx_wire_off,
					       s->rx_wire_len - s->rx_wire_off);
			if (n < 0) {
				channel_fail(s, (int)n, now);
				return -1;
			}
			s->rx_wire_off += (size_t)n;
			if (n == 0)
				return 0;
			continue;
		}
		s->rx_wire_off = s->rx_wire_len = 0;
		n = ptcp_conn_recv(s->conn, s->rx_wire, IO_BUF, now);
		if (n > 0) {
			s->rx_wire_len = (size_t)n;
			continue;
		}
		if (ptcp_conn_recv_eof(s->conn) && !s->ch_eof_checked) {
			/* A FIN before the peer's end record is a cut, not
			 * an end. */
			s->ch_eof_checked = true;
			rv = ptcp_channel_input_eof(s->ch);
			if (rv != 0) {
				channel_fail(s, rv, now);
				return -1;
			}
		}
		return 0;
	}
}

/* Moves received bytes to out_fd as far as it takes them. */
static void pump_out(struct session *s, ptcp_ts now)
{
	ptcp_ssize n;
	ssize_t w;

	if (s->out_closed)
		return;
	for (;;) {
		if (s->out_off < s->out_len) {
			w = write(s->cfg->out_fd, s->out_buf + s->out_off, s->out_len - s->out_off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN || errno == EWOULDBLOCK)
					return;
				fail(s, PTCP_SESSION_SYSTEM, errno,
				     "cannot write standard output: %s", strerror(errno));
				return;
			}
			s->out_off += (size_t)w;
			continue;
		}
		s->out_off = s->out_len = 0;
		/* Only read from the engine what we can hold: the rest stays
		 * in its receive buffer and the window shrinks. */
		if (s->ch)
			n = channel_pull(s, now);
		else
			n = ptcp_conn_recv(s->conn, s->out_buf, IO_BUF, now);
		if (n <= 0)
			break;
		s->out_len = (size_t)n;
	}
	if (s->ch && s->done)
		return;
	if (s->ch ? ptcp_channel_read_eof(s->ch) && s->ch_eof_checked : ptcp_conn_recv_eof(s->conn))
		close_out(s);
}

static void on_out(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	s->out_armed = false;
	settle(s, ptcp_clock_now());
}

/* --- timers and the end ------------------------------------------------- */

static bool out_drained(struct session *s)
{
	return s->out_closed || (s->out_off == s->out_len && ptcp_conn_recv_ready(s->conn) == 0 &&
				 s->rx_wire_off == s->rx_wire_len);
}

static ptcp_ts linger_time(struct session *s)
{
	struct ptcp_stats st;
	uint64_t t;

	if (s->cfg->linger >= 0)
		return (ptcp_ts)s->cfg->linger;
	/* Long enough for the peer to retransmit its FIN once if our last
	 * ACK was lost, and for us to ACK it again: if we had gone, the
	 * kernel would answer it with a RST. RFC 9293 asks for 2 MSL; a
	 * process that exits cannot hold the port that long usefully. */
	ptcp_conn_stats(s->conn, &st);
	t = 2 * st.rto;
	if (t < LINGER_MIN)
		t = LINGER_MIN;
	if (t > 2 * s->cfg->conn.msl && s->cfg->conn.msl)
		t = 2 * s->cfg->conn.msl;
	return t;
}

static void check_end(struct session *s, ptcp_ts now)
{
	enum ptcp_state st = ptcp_conn_state(s->conn);
	int err;

	if (s->done)
		return;
	if (st == PTCP_CLOSED) {
		err = ptcp_conn_error(s->conn);
		if (err == PTCP_ERR_RESET) {
			fail_reset(s);
			return;
		}
		if (err != 0) {
			fail(s, PTCP_SESSION_CONN, err, "%s", ptcp_strerror(err));
			return;
		}
		/* A clean close: leave once the last bytes are written out. */
		if (out_drained(s)) {
			s->done = true;
			event_base_loopbreak(s->base);
		}
		return;
	}
	if (st == PTCP_TIME_WAIT) {
		if (s->linger_until == PTCP_TS_NEVER) {
			s->linger_until = ptcp_ts_add(now, linger_time(s));
			ptcp_info("TIME-WAIT: leaving in %.0f ms",
				  (double)(s->linger_until - now) / PTCP_NS_PER_MS);
		}
		if (now >= s->linger_until && out_drained(s)) {
			s->done = true;
			event_base_loopbreak(s->base);
		}
		return;
	}
	if (!s->established && now >= s->open_deadline) {
		ptcp_info("no connection after %.1f s: giving up",
			  (double)s->cfg->open_timeout / PTCP_NS_PER_S);
		(void)ptcp_conn_abort(s->conn, now);
		flush_tx(s, now);
		fail(s, PTCP_SESSION_CONN, PTCP_ERR_TIMEOUT, "%s", ptcp_strerror(PTCP_ERR_TIMEOUT));
	}
}

static void arm_timer(struct session *s)
{
	ptcp_ts at = ptcp_conn_expiry(s->conn), now;
	struct timeval tv;
	uint64_t d;

	if (!s->established)
		at = ptcp_ts_min(at, s->open_deadline);
	at = ptcp_ts_min(at, s->linger_until);
	if (at == s->timer_at)
		return;
	s->timer_at = at;
	if (at == PTCP_TS_NEVER) {
		evtimer_del(s->ev_timer);
		return;
	}
	now = ptcp_clock_now();
	d = ptcp_ts_elapsed(at, now);
	/* Round up: waking a microsecond early would find nothing due. */
	d += PTCP_NS_PER_US - 1;
	tv.tv_sec = (time_t)(d / PTCP_NS_PER_S);
	tv.tv_usec = (suseconds_t)(d % PTCP_NS_PER_S / PTCP_NS_PER_US);
	evtimer_add(s->ev_timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	ptcp_ts now = ptcp_clock_now();

	(void)fd;
	(void)what;
	s->timer_at = PTCP_TS_NEVER;
	if (now >= ptcp_conn_expiry(s->conn))
		(void)ptcp_conn_handle_expiry(s->conn, now);
	settle(s, now);
}

static void set_armed(struct event *ev, bool *armed, bool want)
{
	if (want == *armed)
		return;
	if (want)
		event_add(ev, NULL);
	else
		event_del(ev);
	*armed = want;
}

/* Everything that follows any event: move application bytes both ways,
 * send FIN when input ended, send what is due, decide whether we are done,
 * re-arm the timer and the stdio events. */
static void settle(struct session *s, ptcp_ts now)
{
	enum ptcp_state st;
	int guard;

	if (s->done)
		return;
	pump_out(s, now);
	push_in(s, now);
	/* Files and /dev/null are always "ready": read them directly, as
	 * much as the send buffer takes. */
	if (!s->in_poll)
		for (guard = 0; guard < 64 && read_in(s, now); guard++)
			;
	/* The end of a file seen just now still owes the end record. */
	if (s->ch && !s->done)
		push_in(s, now);
	st = ptcp_conn_state(s->conn);
	/* Shutdown in SYN-SENT would drop the connection attempt, so our
	 * FIN waits for the connection to exist (RFC 9293 3.10.4 queues it
	 * in SYN-RECEIVED; we wait until ESTABLISHED either way). */
	if (ready_to_shut(s) && !s->shut && (st == PTCP_ESTABLISHED || st == PTCP_CLOSE_WAIT)) {
		s->shut = true;
		(void)ptcp_conn_shutdown(s->conn, now);
	}
	flush_tx(s, now);
	check_end(s, now);
	if (s->done)
		return;
	arm_timer(s);
	if (s->in_poll)
		set_armed(s->ev_in, &s->in_armed,
			  !s->in_eof && can_send(s) && s->in_len == 0 &&
			  ptcp_conn_send_space(s->conn) > 0 &&
			  (!s->ch || s->tx_wire_off == s->tx_wire_len));
	if (s->out_poll)
		set_armed(s->ev_out, &s->out_armed, s->out_off < s->out_len);
}

/* Ends the connection after a channel error: a RST (there is no alert
 * to send: docs/security.md), and one line that names what happened. */
static void channel_fail(struct session *s, int err, ptcp_ts now)
{
	if (s->done)
		return;
	if (ptcp_conn_state(s->conn) != PTCP_CLOSED) {
		(void)ptcp_conn_abort(s->conn, now);
		flush_tx(s, now);
	}
	if (s->res->status == PTCP_SESSION_OK)
		s->res->channel_error = err;
	/* Plaintext not yet written stays unwritten: the stream it
	 * belongs to is no longer trustworthy as a whole. */
	s->out_off = s->out_len = 0;
	fail(s, PTCP_SESSION_CHANNEL, 0, "secure channel failed: %s; connection reset",
	     ptcp_strerror(err));
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct session *s = arg;
	ptcp_ts now = ptcp_clock_now();
	const char *name = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";

	(void)what;
	ptcp_info("%s: aborting the connection", name);
	if (ptcp_conn_state(s->conn) != PTCP_CLOSED) {
		(void)ptcp_conn_abort(s->conn, now);
		flush_tx(s, now);
	}
	if (s->res->status == PTCP_SESSION_OK)
		s->res->signo = (int)sig;
	fail(s, PTCP_SESSION_SIGNAL, 0, "interrupted by %s; connection reset", name);
}

/* --- setup --------------------------------------------------------------- */

/* Regular files and /dev/null make epoll_ctl fail with EPERM. */
static bool pollable(int fd)
{
	struct epoll_event ev;
	int ep, ok;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return false;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ok = epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0;
	close(ep);
	return ok;
}

static int make_nonblocking(int fd, int *saved)
{
	int fl = fcntl(fd, F_GETFL);

	*saved = -1;
	if (fl < 0)
		return -errno;
	if (fl & O_NONBLOCK)
		return 0;
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return -errno;
	*saved = fl;
	return 0;
}

/* The wire the caller gave, or one of our own. */
static int open_wire(struct session *s)
{
	const struct ptcp_session_config *cfg = s->cfg;
	struct ptcp_wire_config wc;

	if (cfg->wire) {
		s->w = cfg->wire;
		if (!ptcp_wire_ready(s->w)) {
			fail(s, PTCP_SESSION_SYSTEM, EINVAL, "the wire has no local address yet");
			return -1;
		}
	} else {
		memset(&wc, 0, sizeof(wc));
		wc.local = cfg->local;
		wc.mark = cfg->mark;
		wc.pcap_path = cfg->pcap_path;
		wc.gso = cfg->gso;
		if (ptcp_wire_open(&s->own_wire, &wc, s->res) != 0) {
			s->done = true;
			return -1;
		}
		s->w = &s->own_wire;
	}
	s->res->local = s->w->rs.local;
	return 0;
}

/* --gso: the netlink socket for the path look-ups and the frame buffers.
 * The packet socket itself waits for ESTABLISHED (gso_try). Without them
 * the connection still runs, on the raw socket. */
static void open_gso(struct session *s, const struct ptcp_config *cc)
{
	int rv;

	rv = ptcp_pktsock_init(&s->pk);
	if (rv != 0) {
		ptcp_info("offload: no netlink socket (%s); raw socket only", strerror(-rv));
		return;
	}
	/* The packet socket the wire made while we had CAP_NET_RAW. */
	s->pk.fd = s->w->pkt_fd;
	s->w->pkt_fd = -1;
	s->gso_buf = malloc((size_t)GSO_FRAME * PTCP_PKTSOCK_BATCH);
	if (!s->gso_buf) {
		ptcp_info("offload: out of memory for frames; raw socket only");
		ptcp_pktsock_close(&s->pk);
		return;
	}
	/* As many MSS-sized pieces as an IPv4 packet holds beside the largest
	 * TCP header; the engine also stops at the buffer's end. */
	s->gso_max_segs = (PTCP_PKTSOCK_TCP_MAX - PTCP_TCP_HDR_MAX) / cc->mss;
	if (s->gso_max_segs == 0)
		s->gso_max_segs = 1;
	s->gso = GSO_WAIT;
}

static int open_conn(struct session *s)
{
	const struct ptcp_session_config *cfg = s->cfg;
	struct ptcp_config cc = cfg->conn;
	struct ptcp_open o = cfg->open;
	uint8_t secret[16];
	char a[48], b[48];
	int rv;

	cc.alloc.alloc = alloc_libc;
	cc.alloc.free = free_libc;
	cc.alloc.ctx = NULL;
	cc.on_event = on_event;
	cc.user = s;
	rv = ptcp_conn_new(&s->conn, &cc, &s->w->rs.local,
			   cfg->remote.family == PTCP_AF_NONE ? NULL : &cfg->remote);
	if (rv != 0) {
		fail(s, PTCP_SESSION_SYSTEM, rv == PTCP_ERR_NOMEM ? ENOMEM : EINVAL,
		     "cannot create the connection: %s", ptcp_strerror(rv));
		return -1;
	}
	if (!cfg->has_isn) {
		/* RFC 6528 for a known 4-tuple; a LISTEN does not know the peer
		 * yet, and one random ISN serves it as well. */
		if (cfg->passive || cfg->remote.family == PTCP_AF_NONE) {
			o.isn = ptcp_random_u32();
		} else {
			ptcp_random_bytes(secret, sizeof(secret));
			o.isn = ptcp_isn_generate(secret, &s->w->rs.local, &cfg->remote, s->start);
		}
	}
	s->tx_cap = (size_t)PTCP_TCP_HDR_MAX + cc.mss + 64;
	s->tx_buf = malloc(s->tx_cap * PTCP_RAWSOCK_BATCH);
	s->rx_buf = malloc(PTCP_RAWSOCK_MTU);
	s->in_buf = malloc(IO_BUF);
	s->out_buf = malloc(IO_BUF);
	if (!s->tx_buf || !s->rx_buf || !s->in_buf || !s->out_buf) {
		fail(s, PTCP_SESSION_SYSTEM, ENOMEM, "out of memory");
		return -1;
	}
	if (cfg->gso)
		open_gso(s, &cc);
	if (cfg->channel) {
		s->tx_wire = malloc(TX_WIRE_CAP);
		s->rx_wire = malloc(IO_BUF);
		if (!s->tx_wire || !s->rx_wire) {
			fail(s, PTCP_SESSION_SYSTEM, ENOMEM, "out of memory");
			return -1;
		}
		rv = ptcp_channel_new(&s->ch, cfg->channel);
		if (rv != 0) {
			s->ch = NULL;
			fail(s, PTCP_SESSION_SYSTEM, rv == PTCP_ERR_NOMEM ? ENOMEM : EINVAL,
			     "cannot set up the secure channel: %s", ptcp_strerror(rv));
			return -1;
		}
	}

	ptcp_endpoint_format(&s->w->rs.local, a, sizeof(a));
	if (cfg->passive) {
		ptcp_info("listening on %s, ISN %u", a, o.isn);
		rv = ptcp_conn_open_passive(s->conn, &o, s->start);
	} else {
		ptcp_endpoint_format(&cfg->remote, b, sizeof(b));
		ptcp_info("connecting %s -> %s, ISN %u%s", a, b, o.isn,
			  cc.punching ? " (simultaneous open)" : "");
		rv = ptcp_conn_open_active(s->conn, &o, s->start);
	}
	if (rv != 0) {
		fail(s, PTCP_SESSION_SYSTEM, EINVAL, "cannot open the connection: %s",
		     ptcp_strerror(rv));
		return -1;
	}
	return 0;
}

static int open_loop(struct session *s)
{
	const struct ptcp_session_config *cfg = s->cfg;
	struct event_config *ec;

	ec = event_config_new();
	if (!ec)
		goto nomem;
	/* Retransmission timers want better than epoll's millisecond. */
	event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
	s->base = event_base_new_with_config(ec);
	event_config_free(ec);
	if (!s->base)
		goto nomem;

	s->in_poll = pollable(cfg->in_fd);
	s->out_poll = pollable(cfg->out_fd);
	if (s->in_poll)
		(void)make_nonblocking(cfg->in_fd, &s->in_flags);
	if (s->out_poll)
		(void)make_nonblocking(cfg->out_fd, &s->out_flags);

	s->ev_raw = event_new(s->base, s->w->rs.fd, EV_READ | EV_PERSIST, on_raw, s);
	s->ev_timer = evtimer_new(s->base, on_timer, s);
	s->ev_in = event_new(s->base, cfg->in_fd, EV_READ | EV_PERSIST, on_in, s);
	s->ev_out = event_new(s->base, cfg->out_fd, EV_WRITE, on_out, s);
	s->ev_int = evsignal_new(s->base, SIGINT, on_signal, s);
	s->ev_term = evsignal_new(s->base, SIGTERM, on_signal, s);
	if (!s->ev_raw || !s->ev_timer || !s->ev_in || !s->ev_out || !s->ev_int || !s->ev_term)
		goto nomem;
	if (event_add(s->ev_raw, NULL) != 0 || evsignal_add(s->ev_int, NULL) != 0 ||
	    evsignal_add(s->ev_term, NULL) != 0) {
		fail(s, PTCP_SESSION_SYSTEM, EINVAL, "cannot set up the event loop");
		return -1;
	}
	return 0;
nomem:
	fail(s, PTCP_SESSION_SYSTEM, ENOMEM, "cannot set up the event loop: out of memory");
	return -1;
}

static void close_all(struct session *s)
{
	struct event *evs[] = { s->ev_raw, s->ev_timer, s->ev_in, s->ev_out, s->ev_int, s->ev_term };
	size_t i;

	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i])
			event_free(evs[i]);
	if (s->base)
		event_base_free(s->base);
	if (s->in_flags >= 0)
		(void)fcntl(s->cfg->in_fd, F_SETFL, s->in_flags);
	if (s->out_flags >= 0)
		(void)fcntl(s->cfg->out_fd, F_SETFL, s->out_flags);
	if (s->conn) {
		ptcp_conn_stats(s->conn, &s->res->stats);
		ptcp_conn_free(s->conn);
	}
	if (s->w == &s->own_wire)
		ptcp_wire_close(&s->own_wire);
	ptcp_pktsock_close(&s->pk);
	free(s->gso_buf);
	free(s->tx_buf);
	free(s->rx_buf);
	free(s->in_buf);
	free(s->out_buf);
	ptcp_channel_free(s->ch);
	free(s->tx_wire);
	free(s->rx_wire);
}

static void log_stats(const struct ptcp_stats *st)
{
	ptcp_info("segments in %llu, out %llu; bytes in %llu, out %llu; retransmitted %llu "
		  "(%llu timeouts, %llu fast); srtt %.3f ms",
		  (unsigned long long)st->segs_in, (unsigned long long)st->segs_out,
		  (unsigned long long)st->bytes_in, (unsigned long long)st->bytes_out,
		  (unsigned long long)st->retransmits, (unsigned long long)st->rto_count,
		  (unsigned long long)st->fast_retransmits, (double)st->srtt / PTCP_NS_PER_MS);
}

int ptcp_session_run(const struct ptcp_session_config *cfg, struct ptcp_session_result *res)
{
	struct session s;
	void (*old_pipe)(int);

	memset(res, 0, sizeof(*res));
	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	s.res = res;
	ptcp_wire_init(&s.own_wire);
	s.w = &s.own_wire;
	s.pk.fd = s.pk.nl = -1;
	s.in_flags = s.out_flags = -1;
	s.linger_until = PTCP_TS_NEVER;
	s.timer_at = PTCP_TS_NEVER;
	s.start = ptcp_clock_now();
	s.open_deadline = cfg->open_timeout ? ptcp_ts_add(s.start, cfg->open_timeout) : PTCP_TS_NEVER;

	/* A reader of stdout that goes away must show up as EPIPE from
	 * write(2), not kill us before we can reset the connection. */
	old_pipe = signal(SIGPIPE, SIG_IGN);
	if (ptcp_random_init() != 0)
		fail(&s, PTCP_SESSION_SYSTEM, EIO, "libsodium cannot initialise its random source");
	else if (open_wire(&s) == 0 && open_loop(&s) == 0 && open_conn(&s) == 0) {
		if (cfg->on_ready)
			cfg->on_ready(cfg->user);
		settle(&s, ptcp_clock_now());
		if (!s.done)
			event_base_dispatch(s.base);
	}
	if (s.w->pcap)
		(void)ptcp_pcapw_flush(s.w->pcap);
	close_all(&s);
	signal(SIGPIPE, old_pipe);
	if (s.conn)
		log_stats(&res->stats);
	if (s.gso_frames)
		ptcp_info("offload: %llu frames through the packet socket carried %llu segments",
			  (unsigned long long)s.gso_frames, (unsigned long long)s.gso_segs);
	return res->status == PTCP_SESSION_OK ? 0 : -1;
}
