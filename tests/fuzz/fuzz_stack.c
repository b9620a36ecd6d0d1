/* libFuzzer target that drives a connection table (stack.h) with a
 * fuzzer-chosen program over several 4-tuples.
 *
 * The table holds 10.0.0.1 and 2001:db8::1; it may listen on port 4000
 * (on one address or on every one) and dials from port 4001. The harness
 * plays the driver, the application and eight peers (10.0.0.2:5000,
 * 10.0.0.2:5001, 10.0.0.3:5000, [2001:db8::2]:5000, ... and a few with the
 * table's own ports swapped). The input is read as a program; reading past
 * its end gives zeros.
 *
 *   header = config: b0 listener (bit 0 on, bit 1 on every address, bit
 *            2 IPv6 only), b1 backlog (1 + b1 % 8), b2 max_conns
 *            (1 + b2 % 12), b3 bits 0-1 memory bound (none, 2, 5
 *            connections' worth in total, or below one connection), bit 2
 *            reset_unmatched off, bit 3 orphan timeout 3 s, bit 4 SACK,
 *            bit 5 window scale, bit 6 delayed ACK, bit 7 keepalive
 *   op = one byte, op % OP_COUNT:
 *     SEG      tuple u8, flags u8, mode u8, seq u16|u32, ack u16|u32,
 *              wnd u16, [len u16]: a segment from peer tuple % 8 with a
 *              correct checksum; mode bit 0: seq raw u32, else an offset
 *              from the last ACK the table sent that peer; bit 1: ack raw,
 *              else an offset from the highest SEQ it sent; bit 2: SYN
 *              options (MSS, window scale, SACK-permitted); bit 3: a
 *              payload length follows
 *     RAW      tuple u8, ctl u8, len u16, bytes: arbitrary bytes, ctl bit
 *              0 fixes the checksum
 *     TIME     e u8, m u16: advance by (m + 1) << (e % 34) ns, running the
 *              table's timers on the way as a driver does
 *     CONNECT  tuple u8, ctl u8, isn u32, peer isn u32: ptcp_stack_connect
 *              from port 4001 (bit 0 agreed peer ISN, bit 1 no ISN: the
 *              table's own)
 *     ACCEPT   every connection waiting in the accept queue
 *     SEND, RECV  which u8, n u16: on owned connection which % owned
 *     SHUTDOWN, ABORT, RELEASE  which u8
 *     LISTEN   closes the listener, or opens it again
 *     EXPIRE   ptcp_stack_handle_expiry() now, due or not
 * After every op the output is drained as a driver would.
 *
 * Invariants (any violation aborts): every segment out parses back with a
 * valid checksum for the addresses it is sent from and to, goes from one
 * of the table's addresses to one of the peers', and, when it belongs to
 * a connection, that connection is the table's for exactly this 4-tuple;
 * the table's own RSTs answer segments it got; one drain ends after a
 * bounded number of segments; the next deadline is never in the past, is
 * in the future after handling it, and equals the minimum over the
 * connections found by iterating them; the counters by state add up to
 * the connections found; connections never exceed max_conns nor their
 * memory max_mem; what the allocator holds is what the table accounts; a
 * connection the application owns is never freed behind its back, events
 * carry the user pointer it gave; at the end, with an orphan timeout,
 * everything ends by its timers; the table gives back every byte. */
#include <string.h>

#include "error.h"
#include "fuzz.h"
#include "netsim.h"
#include "segment.h"
#include "stack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
	OP_SEG,
	OP_RAW,
	OP_TIME,
	OP_CONNECT,
	OP_ACCEPT,
	OP_SEND,
	OP_RECV,
	OP_SHUTDOWN,
	OP_ABORT,
	OP_RELEASE,
	OP_LISTEN,
	OP_EXPIRE,
	OP_COUNT
};

#define N_PEERS 8
#define OWNED_MAX 16
#define OUT_CAP 4096
#define MAX_PAYLOAD 2048
#define DRAIN_MAX 20000
#define SETTLE_MAX 20000
#define TIME_STEPS_MAX 2000
#define LISTEN_PORT 4000
#define DIAL_PORT 4001

struct peer {
	struct ptcp_endpoint ep;     /* the peer's address and port */
	int local;                   /* 0 = 10.0.0.1, 1 = 2001:db8::1 */
	bool has_ack;
	ptcp_seq last_ack;           /* ACK of the table's last segment to it */
	ptcp_seq snd_hi;             /* highest SEQ + SEG.LEN the table sent it */
};

struct fz {
	struct ptcp_stack *st;
	struct ptcp_stack_config cfg;
	struct netsim_alloc alloc;
	struct ptcp_listener *lst;
	struct ptcp_endpoint listen_ep;
	bool listen_wanted;
	struct ptcp_endpoint local[2];
	struct peer peer[N_PEERS];
	struct ptcp_conn *owned[OWNED_MAX];
	unsigned n_owned;
	ptcp_ts now;
	bool in_handle;              /* a handle_expiry call is running */
	unsigned rsts_due;           /* segments in that may draw a table RST */
	uint8_t out[OUT_CAP];
	uint8_t buf[8192];
};

/* FUZZ_STACK_TRACE=1 prints every segment in and out and every state
 * change: for reading a crashing input. */
static int trace = -1;

static void trace_seg(const struct fz *f, const char *dir, const struct ptcp_endpoint *a,
                      const struct ptcp_endpoint *b, const uint8_t *buf, size_t n)
{
	struct ptcp_segment seg;
	char line[256], x[48], y[48];

	if (!trace)
		return;
	if (ptcp_segment_parse(&seg, buf, n, NULL, NULL) != 0)
		snprintf(line, sizeof(line), "(%zu bytes, not a segment)", n);
	else
		ptcp_segment_format(&seg, line, sizeof(line));
	fprintf(stderr, "%12.6f %s %s > %s %s\n", (double)f->now / 1e9, dir,
		ptcp_endpoint_format(a, x, sizeof(x)), ptcp_endpoint_format(b, y, sizeof(y)), line);
}

static int owned_index(const struct fz *f, const struct ptcp_conn *c)
{
	for (unsigned i = 0; i < f->n_owned; i++)
		if (f->owned[i] == c)
			return (int)i;
	return -1;
}

static void on_event(void *user, struct ptcp_stack *st, const struct ptcp_stack_event *ev)
{
	struct fz *f = user;
	int i = owned_index(f, ev->conn);

	REQUIRE(st == f->st);
	REQUIRE(ev->conn != NULL);
	REQUIRE(ev->now == f->now);
	if (trace && ev->type == PTCP_STACK_EV_CONN && ev->ev->type == PTCP_EV_STATE)
		fprintf(stderr, "%12.6f     %p %s -> %s\n", (double)f->now / 1e9, (void *)ev->conn,
			ptcp_state_name(ev->ev->from), ptcp_state_name(ev->ev->to));
	if (trace && ev->type != PTCP_STACK_EV_CONN)
		fprintf(stderr, "%12.6f     %p %s\n", (double)f->now / 1e9, (void *)ev->conn,
			ev->type == PTCP_STACK_EV_FREED ? "freed" : "acceptable");
	switch (ev->type) {
	case PTCP_STACK_EV_CONN:
		REQUIRE(ev->ev != NULL);
		REQUIRE(ev->ev->type >= PTCP_EV_STATE && ev->ev->type <= PTCP_EV_CLOSED);
		/* Our user pointer is the slot we keep it in. */
		REQUIRE(i < 0 || ev->conn_user == &f->owned[i]);
		break;
	case PTCP_STACK_EV_ACCEPTABLE:
		REQUIRE(ev->listener != NULL && ev->listener == f->lst);
		REQUIRE(i < 0);
		break;
	case PTCP_STACK_EV_FREED:
		REQUIRE(i < 0); /* never one the application still holds */
		REQUIRE(ev->conn_user == NULL);
		break;
	default:
		REQUIRE(0);
	}
}

/* The peer a 4-tuple belongs to, or -1. */
static int peer_of(const struct fz *f, const struct ptcp_endpoint *local,
                   const struct ptcp_endpoint *remote)
{
	for (int i = 0; i < N_PEERS; i++) {
		struct ptcp_endpoint l = f->local[f->peer[i].local];

		l.port = local->port;
		if (ptcp_endpoint_equal(&f->peer[i].ep, remote) && ptcp_endpoint_equal(&l, local))
			return i;
	}
	return -1;
}

/* Whether local is one of the table's addresses and remote one of the
 * peers' (any ports: raw bytes may carry any). */
static bool addrs_known(const struct fz *f, const struct ptcp_endpoint *local,
                        const struct ptcp_endpoint *remote)
{
	for (int i = 0; i < N_PEERS; i++) {
		struct ptcp_endpoint l = f->local[f->peer[i].local], r = f->peer[i].ep;

		l.port = local->port;
		r.port = remote->port;
		if (ptcp_endpoint_equal(&r, remote) && ptcp_endpoint_equal(&l, local))
			return true;
	}
	return false;
}

static void check_output(struct fz *f, const struct ptcp_stack_tx *tx, const uint8_t *buf, size_t n)
{
	struct ptcp_segment seg;
	int p;

	REQUIRE(n >= PTCP_TCP_HDR_MIN && n <= PTCP_TCP_HDR_MAX + (size_t)f->cfg.conn.mss);
	trace_seg(f, tx->conn ? "out" : "RST", &tx->src, &tx->dst, buf, n);
	REQUIRE(ptcp_segment_parse(&seg, buf, n, &tx->src, &tx->dst) == 0);
	REQUIRE(seg.sport == tx->src.port && seg.dport == tx->dst.port);
	REQUIRE(addrs_known(f, &tx->src, &tx->dst));
	p = peer_of(f, &tx->src, &tx->dst);
	REQUIRE((seg.flags & (PTCP_TH_SYN | PTCP_TH_FIN)) != (PTCP_TH_SYN | PTCP_TH_FIN));
	REQUIRE((seg.flags & (PTCP_TH_SYN | PTCP_TH_RST)) != (PTCP_TH_SYN | PTCP_TH_RST));
	if (tx->conn) {
		REQUIRE(ptcp_stack_find(f->st, &tx->src, &tx->dst) == tx->conn);
		REQUIRE(ptcp_endpoint_equal(ptcp_conn_local(tx->conn), &tx->src));
		REQUIRE(ptcp_endpoint_equal(ptcp_conn_remote(tx->conn), &tx->dst));
	} else {
		/* The table's own RST for a segment it got. */
		REQUIRE(seg.flags & PTCP_TH_RST);
		REQUIRE(seg.len == 0);
		REQUIRE(f->cfg.reset_unmatched);
		REQUIRE(f->rsts_due > 0);
		f->rsts_due--;
	}
	if (p < 0)
		return;
	if ((seg.flags & PTCP_TH_ACK) && !(seg.flags & PTCP_TH_RST)) {
		f->peer[p].has_ack = true;
		f->peer[p].last_ack = seg.ack;
	}
	if (!(seg.flags & PTCP_TH_RST) &&
	    ptcp_seq_gt(seg.seq + ptcp_segment_seqlen(&seg), f->peer[p].snd_hi))
		f->peer[p].snd_hi = seg.seq + ptcp_segment_seqlen(&seg);
}

static void drain(struct fz *f)
{
	for (unsigned k = 0;; k++) {
		struct ptcp_stack_tx tx;
		int n = ptcp_stack_output(f->st, f->out, sizeof(f->out), &tx, f->now);

		REQUIRE(n >= 0);
		if (n == 0)
			break;
		REQUIRE(k < DRAIN_MAX);
		check_output(f, &tx, f->out, (size_t)n);
	}
}

/* The table against a scan of its connections. */
static void check_table(struct fz *f)
{
	struct ptcp_stack_stats st;
	uint64_t by_state[PTCP_TIME_WAIT + 1] = { 0 }, n = 0;
	ptcp_ts min = PTCP_TS_NEVER;
	struct ptcp_conn *c;

	ptcp_stack_stats(f->st, &st);
	for (c = ptcp_stack_next(f->st, NULL); c; c = ptcp_stack_next(f->st, c)) {
		ptcp_ts kept = ptcp_stack_conn_expiry(f->st, c);

		REQUIRE(++n <= st.conns);
		REQUIRE((unsigned)ptcp_conn_state(c) <= PTCP_TIME_WAIT);
		by_state[ptcp_conn_state(c)]++;
		REQUIRE(kept <= ptcp_conn_expiry(c));
		if (!f->cfg.orphan_timeout)
			REQUIRE(kept == ptcp_conn_expiry(c));
		if (kept < min)
			min = kept;
		REQUIRE(ptcp_stack_find(f->st, ptcp_conn_local(c), ptcp_conn_remote(c)) == c);
		REQUIRE(addrs_known(f, ptcp_conn_local(c), ptcp_conn_remote(c)));
		REQUIRE(ptcp_conn_local(c)->port == LISTEN_PORT || ptcp_conn_local(c)->port == DIAL_PORT);
	}
	REQUIRE(n == st.conns);
	REQUIRE(memcmp(by_state, st.by_state, sizeof(by_state)) == 0);
	REQUIRE(st.conns <= f->cfg.max_conns);
	REQUIRE(st.created - st.freed == st.conns);
	REQUIRE(st.released <= st.conns);
	REQUIRE(st.mem_conns <= f->cfg.max_mem);
	REQUIRE(f->alloc.live_bytes == st.mem_conns + st.mem_table);
	REQUIRE(ptcp_stack_expiry(f->st) == min);
	REQUIRE(min >= f->now);
	for (unsigned i = 0; i < f->n_owned; i++) {
		REQUIRE(ptcp_stack_user(f->st, f->owned[i]) == &f->owned[i]);
		REQUIRE(ptcp_conn_send_pending(f->owned[i]) <= f->cfg.conn.sndbuf);
		REQUIRE(ptcp_conn_recv_ready(f->owned[i]) <= f->cfg.conn.rcvbuf);
	}
}

/* The application holds c now: its user pointer is its slot. */
static void own(struct fz *f, struct ptcp_conn *c)
{
	if (f->n_owned == OWNED_MAX) {
		REQUIRE(ptcp_stack_release(f->st, c, f->now) == 0);
		return;
	}
	f->owned[f->n_owned] = c;
	REQUIRE(ptcp_stack_set_user(f->st, c, &f->owned[f->n_owned]) == 0);
	f->n_owned++;
}

static void disown(struct fz *f, unsigned i)
{
	f->n_owned--;
	if (i != f->n_owned) {
		f->owned[i] = f->owned[f->n_owned];
		REQUIRE(ptcp_stack_set_user(f->st, f->owned[i], &f->owned[i]) == 0);
	}
}

static void expire(struct fz *f)
{
	REQUIRE(ptcp_stack_handle_expiry(f->st, f->now) == 0);
	REQUIRE(ptcp_stack_expiry(f->st) > f->now);
	drain(f);
}

static void listen_toggle(struct fz *f)
{
	if (f->lst) {
		REQUIRE(ptcp_stack_listen_close(f->st, f->lst, f->now) == 0);
		f->lst = NULL;
		return;
	}
	REQUIRE(ptcp_stack_listen(f->st, &f->lst, &f->listen_ep, f->cfg.max_conns, NULL, NULL) == 0);
}

static void setup(struct fz *f, struct reader *r)
{
	uint8_t b0 = u8(r), b1 = u8(r), b2 = u8(r), b3 = u8(r);
	static const uint32_t v4[] = { 0x0a000002, 0x0a000002, 0x0a000003, 0x0a000004 };
	static const uint16_t ports[] = { 5000, 5001, 5000, 4000 };
	int rv;

	ptcp_endpoint_ipv4(&f->local[0], 0x0a000001, 0);
	memset(&f->local[1], 0, sizeof(f->local[1]));
	f->local[1].family = PTCP_AF_INET6;
	memcpy(f->local[1].addr, (const uint8_t[]){ 0x20, 0x01, 0x0d, 0xb8 }, 4);
	f->local[1].addr[15] = 1;
	for (int i = 0; i < N_PEERS; i++) {
		struct peer *p = &f->peer[i];

		if (i < 4) {
			ptcp_endpoint_ipv4(&p->ep, v4[i], ports[i]);
		} else {
			p->ep = f->local[1];
			p->ep.addr[15] = (uint8_t)(2 + (i & 1));
			p->ep.port = ports[i - 4];
			p->local = 1;
		}
	}

	ptcp_stack_config_default(&f->cfg);
	f->cfg.alloc = netsim_alloc_iface(&f->alloc);
	f->cfg.on_event = on_event;
	f->cfg.user = f;
	for (int i = 0; i < 16; i++) {
		f->cfg.hash_key[i] = (uint8_t)(i * 31 + 7);
		f->cfg.isn_secret[i] = (uint8_t)(i * 17 + 3);
	}
	f->cfg.conn.sndbuf = 4096;
	f->cfg.conn.rcvbuf = 2048;
	f->cfg.conn.msl = PTCP_NS_PER_S;
	f->cfg.conn.syn_retries = 3;
	f->cfg.conn.data_retries = 5;
	f->cfg.conn.sack = b3 & 16;
	f->cfg.conn.window_scale = b3 & 32;
	f->cfg.conn.delack = (b3 & 64) ? 40 * PTCP_NS_PER_MS : 0;
	if (b3 & 128) {
		f->cfg.conn.keepalive_idle = 2 * PTCP_NS_PER_S;
		f->cfg.conn.keepalive_interval = PTCP_NS_PER_S;
		f->cfg.conn.keepalive_count = 2;
	}
	f->cfg.max_conns = 1 + b2 % 12;
	switch (b3 & 3) {
	case 1:
		f->cfg.max_mem = 2 * 8192;
		break;
	case 2:
		f->cfg.max_mem = 5 * 8192;
		break;
	case 3:
		f->cfg.max_conn_mem = 4096;
		break;
	default:
		break;
	}
	f->cfg.reset_unmatched = !(b3 & 4);
	f->cfg.orphan_timeout = (b3 & 8) ? 3 * PTCP_NS_PER_S : 0;
	rv = ptcp_stack_new(&f->st, &f->cfg);
	REQUIRE(rv == 0);

	memset(&f->listen_ep, 0, sizeof(f->listen_ep));
	f->listen_ep.port = LISTEN_PORT;
	if (!(b0 & 2))
		f->listen_ep = f->local[(b0 & 4) ? 1 : 0];
	else if (b0 & 4)
		f->listen_ep.family = PTCP_AF_INET6; /* :: */
	f->listen_ep.port = LISTEN_PORT;
	if (b0 & 1)
		REQUIRE(ptcp_stack_listen(f->st, &f->lst, &f->listen_ep, 1 + b1 % 8, NULL, NULL) == 0);
}

static ptcp_seq rel(struct reader *r, ptcp_seq base)
{
	return base + (uint32_t)(int32_t)(int16_t)u16(r);
}

static void op_seg(struct fz *f, struct reader *r)
{
	struct peer *p = &f->peer[u8(r) % N_PEERS];
	struct ptcp_segment seg;
	struct ptcp_endpoint dst = f->local[p->local];
	uint8_t mode, wire[PTCP_TCP_HDR_MAX + MAX_PAYLOAD];
	int n;

	memset(&seg, 0, sizeof(seg));
	seg.flags = u8(r);
	mode = u8(r);
	seg.seq = (mode & 1) ? u32(r) : rel(r, p->has_ack ? p->last_ack : 0);
	seg.ack = (mode & 2) ? u32(r) : rel(r, p->snd_hi);
	seg.wnd = u16(r);
	if (mode & 4) {
		seg.opt.has_mss = true;
		seg.opt.mss = 1460;
		seg.opt.has_wscale = true;
		seg.opt.wscale = 7;
		seg.opt.sack_permitted = true;
	}
	if (mode & 8) {
		seg.len = u16(r) % MAX_PAYLOAD;
		for (size_t i = 0; i < seg.len; i++)
			f->buf[i] = (uint8_t)(seg.seq + i);
		seg.payload = f->buf;
	}
	seg.sport = p->ep.port;
	seg.dport = (mode & 16) ? DIAL_PORT : LISTEN_PORT;
	dst.port = seg.dport;
	n = ptcp_segment_emit(&seg, wire, sizeof(wire), &p->ep, &dst);
	REQUIRE(n > 0);
	f->rsts_due++;
	trace_seg(f, "in ", &p->ep, &dst, wire, (size_t)n);
	REQUIRE(ptcp_stack_input(f->st, wire, (size_t)n, &p->ep, &dst, f->now) == 0);
}

static void op_raw(struct fz *f, struct reader *r)
{
	struct peer *p = &f->peer[u8(r) % N_PEERS];
	uint8_t ctl = u8(r);
	size_t len = u16(r) % (PTCP_TCP_HDR_MAX + MAX_PAYLOAD);
	uint8_t wire[PTCP_TCP_HDR_MAX + MAX_PAYLOAD];
	const struct ptcp_endpoint *dst = &f->local[p->local];
	int rv;

	for (size_t i = 0; i < len; i++)
		wire[i] = u8(r);
	if (ctl & 1)
		fuzz_fix_checksum(wire, len, &p->ep, dst);
	f->rsts_due++;
	trace_seg(f, "raw", &p->ep, dst, wire, len);
	rv = ptcp_stack_input(f->st, wire, len, &p->ep, dst, f->now);
	REQUIRE(rv <= 0);
	if (rv == 0)
		REQUIRE(len >= PTCP_TCP_HDR_MIN && ptcp_tcp_checksum(&p->ep, dst, wire, len) == 0);
}

static void op_time(struct fz *f, struct reader *r)
{
	uint8_t e = u8(r);
	uint64_t d = ((uint64_t)u16(r) + 1) << (e % 34);
	ptcp_ts target = ptcp_ts_add(f->now, d);

	for (unsigned steps = 0; steps < TIME_STEPS_MAX; steps++) {
		ptcp_ts exp = ptcp_stack_expiry(f->st);

		REQUIRE(exp >= f->now);
		if (exp > target)
			break;
		f->now = exp;
		expire(f);
	}
	if (ptcp_stack_expiry(f->st) > target)
		f->now = target;
}

static void op_connect(struct fz *f, struct reader *r)
{
	struct peer *p = &f->peer[u8(r) % N_PEERS];
	uint8_t ctl = u8(r);
	struct ptcp_open o = { .isn = u32(r) };
	struct ptcp_endpoint l = f->local[p->local];
	struct ptcp_conn *c;
	int rv;

	o.peer_isn = u32(r);
	o.has_peer_isn = ctl & 1;
	l.port = DIAL_PORT;
	rv = ptcp_stack_connect(f->st, &c, &l, &p->ep, (ctl & 2) ? NULL : &o, NULL, NULL, f->now);
	REQUIRE(rv == 0 || rv == PTCP_ERR_EXISTS || rv == PTCP_ERR_CONN_LIMIT ||
	        rv == PTCP_ERR_MEM_LIMIT);
	if (rv == 0) {
		REQUIRE(c != NULL && ptcp_conn_state(c) == PTCP_SYN_SENT);
		p->has_ack = false;
		p->snd_hi = (ctl & 2) ? 0 : o.isn;
		own(f, c);
	} else {
		REQUIRE(c == NULL);
	}
}

static struct ptcp_conn *pick(struct fz *f, struct reader *r, unsigned *i)
{
	uint8_t which = u8(r);

	if (!f->n_owned)
		return NULL;
	*i = which % f->n_owned;
	return f->owned[*i];
}

static void op_app(struct fz *f, struct reader *r, int op)
{
	unsigned i;
	struct ptcp_conn *c = pick(f, r, &i);
	size_t n = op == OP_SEND || op == OP_RECV ? u16(r) % sizeof(f->buf) : 0;
	ptcp_ssize got;

	if (!c)
		return;
	switch (op) {
	case OP_SEND:
		memset(f->buf, 'd', n);
		got = ptcp_conn_send(c, f->buf, n, f->now);
		REQUIRE(got <= (ptcp_ssize)n);
		break;
	case OP_RECV:
		got = ptcp_conn_recv(c, f->buf, n, f->now);
		REQUIRE(got <= (ptcp_ssize)n);
		break;
	case OP_SHUTDOWN:
		ptcp_conn_shutdown(c, f->now);
		break;
	case OP_ABORT:
		REQUIRE(ptcp_conn_abort(c, f->now) == 0);
		REQUIRE(ptcp_conn_state(c) == PTCP_CLOSED);
		break;
	case OP_RELEASE:
		disown(f, i);
		REQUIRE(ptcp_stack_release(f->st, c, f->now) == 0);
		REQUIRE(ptcp_stack_release(f->st, c, f->now) == PTCP_ERR_NOTFOUND);
		REQUIRE(ptcp_stack_touch(f->st, c, f->now) == PTCP_ERR_NOTFOUND);
		return;
	}
	REQUIRE(ptcp_stack_touch(f->st, c, f->now) == 0);
}

static void accept_all(struct fz *f)
{
	struct ptcp_conn *c;

	while (f->lst && ptcp_stack_accept(f->st, f->lst, &c, NULL) == 0) {
		REQUIRE(ptcp_conn_state(c) >= PTCP_ESTABLISHED || ptcp_conn_state(c) == PTCP_CLOSED);
		own(f, c);
	}
}

/* No more input: everything goes, and with an orphan timeout every
 * connection must end by its own timers. */
static void settle(struct fz *f)
{
	struct ptcp_stack_stats st;

	accept_all(f);
	while (f->n_owned) {
		struct ptcp_conn *c = f->owned[f->n_owned - 1];

		disown(f, f->n_owned - 1);
		REQUIRE(ptcp_stack_release(f->st, c, f->now) == 0);
	}
	drain(f);
	for (unsigned i = 0; i < SETTLE_MAX; i++) {
		ptcp_ts exp = ptcp_stack_expiry(f->st);

		if (exp == PTCP_TS_NEVER)
			break;
		f->now = exp;
		f->rsts_due = 0; /* silence: the table answers nothing now */
		expire(f);
		check_table(f);
	}
	ptcp_stack_stats(f->st, &st);
	if (trace)
		fprintf(stderr, "end: %llu connections, created %llu, drops no-match %llu backlog %llu"
			" limit %llu memory %llu, rsts %llu\n", (unsigned long long)st.conns,
			(unsigned long long)st.created, (unsigned long long)st.drops[PTCP_STACK_DROP_NO_MATCH],
			(unsigned long long)st.drops[PTCP_STACK_DROP_BACKLOG],
			(unsigned long long)st.drops[PTCP_STACK_DROP_CONN_LIMIT],
			(unsigned long long)st.drops[PTCP_STACK_DROP_MEM_LIMIT],
			(unsigned long long)st.rsts_out);
	if (f->cfg.orphan_timeout) {
		if (st.conns != 0)
			fprintf(stderr, "%llu connections left after settling\n",
				(unsigned long long)st.conns);
		REQUIRE(st.conns == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz f;
	struct reader r = { data, size };

	if (trace < 0)
		trace = getenv("FUZZ_STACK_TRACE") != NULL;
	memset(&f, 0, sizeof(f));
	f.now = PTCP_NS_PER_S;
	setup(&f, &r);
	check_table(&f);
	while (r.n > 0) {
		uint8_t op = u8(&r) % OP_COUNT;

		switch (op) {
		case OP_SEG:
			op_seg(&f, &r);
			break;
		case OP_RAW:
			op_raw(&f, &r);
			break;
		case OP_TIME:
			op_time(&f, &r);
			break;
		case OP_CONNECT:
			op_connect(&f, &r);
			break;
		case OP_ACCEPT:
			accept_all(&f);
			break;
		case OP_LISTEN:
			listen_toggle(&f);
			break;
		case OP_EXPIRE:
			REQUIRE(ptcp_stack_handle_expiry(f.st, f.now) == 0);
			break;
		default:
			op_app(&f, &r, op);
			break;
		}
		drain(&f);
		f.rsts_due = 0;
		check_table(&f);
	}
	settle(&f);
	ptcp_stack_free(f.st);
	REQUIRE(f.alloc.live_bytes == 0 && f.alloc.live_blocks == 0);
	REQUIRE(f.alloc.bad_frees == 0);
	return 0;
}
