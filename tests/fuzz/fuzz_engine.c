/* libFuzzer target that drives one engine with a fuzzer-chosen program.
 *
 * The harness plays the driver and the peer (10.0.0.2:5000) of a
 * connection at 10.0.0.1:4000. The input is read as a program; reading
 * past its end gives zeros, so every input is a valid program.
 *
 *   header  = config (see conn_new), then ops until the input ends
 *   op      = one byte, op % OP_COUNT:
 *     SEG     flags u8, mode u8, seq, ack, wnd u16, [options], [len u16]
 *             A segment built from fields and emitted with a correct
 *             checksum (mode bit 5: wrong source port, bit 6: from another
 *             address). seq and ack are raw u32 or a signed 16-bit offset
 *             from a base the harness tracks (mode bits 0-1 for seq: peer
 *             ISN, RCV.NXT as last acknowledged by the engine, the same in
 *             steps of 16; bits 2-3 for ack: the engine's ISN, the highest
 *             sequence number it sent, its last SEQ). Bit 4: options
 *             follow; bit 7: a payload length follows. Payload byte at
 *             sequence number s is pat(s), so reassembly can be checked.
 *     STRUCT  as SEG, handed in with ptcp_conn_input() (no wire bytes)
 *     RAW     ctl u8, len u16, len bytes: arbitrary bytes; ctl bit 0
 *             fixes the checksum, bit 1 fills the payload with pat()
 *     TIME    e u8, m u16: advance by (m + 1) << (e % 34) ns, running
 *             every timer that falls due on the way, as a driver does
 *     SEND    n u16: the application writes n bytes
 *     RECV    n u16: the application reads up to n bytes
 *     SHUTDOWN, ABORT
 *     NEW     config: frees the connection and makes a new one
 *     EXPIRE  calls ptcp_conn_handle_expiry() now, due or not
 * After every op the output is drained as a driver would.
 *
 * Invariants (any violation aborts): every output segment parses back with
 * a valid checksum and the connection's ports; its sequence range lies in
 * [ISN, ISN + bytes the application wrote + 2] (a RST answering a segment
 * may carry that segment's ACK); its payload is exactly the application's
 * bytes at that offset; SACK blocks lie above its ACK; no SYN+FIN or
 * SYN+RST; the bytes the application reads are the peer's bytes in order;
 * the state and every event are valid; the next expiry never lies in the
 * past and lies in the future right after ptcp_conn_handle_expiry(); one
 * drain ends after a bounded number of segments; send/recv return counts
 * within bounds; with no more input the timers settle (CLOSED or no
 * deadline) after a bounded number of expiries; at the end every byte the
 * engine allocated was freed with the size it asked for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "error.h"
#include "fuzz.h"
#include "netsim.h"
#include "segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
	OP_SEG,
	OP_STRUCT,
	OP_RAW,
	OP_TIME,
	OP_SEND,
	OP_RECV,
	OP_SHUTDOWN,
	OP_ABORT,
	OP_NEW,
	OP_EXPIRE,
	OP_COUNT
};

#define OUT_CAP 4096            /* >= 60 + the largest MSS configured (1460) */
#define MAX_PAYLOAD 2048
#define SETTLE_MAX 10000        /* expiries allowed at the end without input */
#define TIME_STEPS_MAX 2000     /* expiries run by one TIME op */

struct fz {
	struct ptcp_conn *c;
	struct netsim_alloc alloc;
	struct ptcp_config cfg;
	struct ptcp_endpoint local, remote, stranger;
	ptcp_ts now;

	bool opened;            /* the ISN below is the engine's */
	ptcp_seq isn;
	uint64_t app_sent;      /* bytes ptcp_conn_send accepted */
	ptcp_seq peer_isn;      /* the ISN this harness uses as the peer */

	bool has_ack;
	ptcp_seq last_ack;      /* ACK field of the engine's last segment */
	ptcp_seq snd_hi;        /* highest SEQ + SEG.LEN the engine sent */
	ptcp_seq last_seq;      /* SEQ of the engine's last segment */
	ptcp_seq injected_ack;  /* ACK of the segment handed in by this op */
	bool injected;

	/* The segment being handed in (SEQ, and whether it has SYN). */
	bool cur_valid, cur_syn;
	ptcp_seq cur_seq;

	/* The receive stream: byte k the application reads must be
	 * pat(irs + 1 + k), irs being the SEQ of the SYN the engine
	 * synchronised to. */
	bool irs_known;
	ptcp_seq irs1;
	uint64_t rcvd;

	uint8_t out[OUT_CAP];
	uint8_t buf[8192];
};

/* FUZZ_ENGINE_TRACE=1 prints every segment in and out and every state
 * change: for reading a crashing input. */
static int trace = -1;

static void trace_seg(const struct fz *f, const char *dir, const struct ptcp_segment *seg)
{
	char line[256];

	if (!trace)
		return;
	ptcp_segment_format(seg, line, sizeof(line));
	fprintf(stderr, "%12.6f %s %s [%s]\n", (double)f->now / 1e9, dir, line,
		ptcp_state_name(ptcp_conn_state(f->c)));
}

/* The byte the peer sends at sequence number s. */
static uint8_t pat(ptcp_seq s)
{
	return (uint8_t)((s * 2654435761u) >> 24);
}

/* The byte the local application writes at stream offset k. */
static uint8_t app_byte(uint64_t k)
{
	return (uint8_t)(((uint32_t)k * 0x9e3779b1u) >> 24 ^ (uint8_t)(k >> 8));
}

static void on_event(void *user, struct ptcp_conn *conn, const struct ptcp_event *ev)
{
	struct fz *f = user;

	(void)conn;
	REQUIRE(ev->type >= PTCP_EV_STATE && ev->type <= PTCP_EV_CLOSED);
	if (trace && ev->type == PTCP_EV_STATE)
		fprintf(stderr, "%12.6f    %s -> %s\n", (double)f->now / 1e9,
			ptcp_state_name(ev->from), ptcp_state_name(ev->to));
	if (trace && ev->type == PTCP_EV_DROP)
		fprintf(stderr, "%12.6f    drop %s\n", (double)f->now / 1e9, ptcp_drop_name(ev->drop));
	if (trace && ev->type == PTCP_EV_CLOSED)
		fprintf(stderr, "%12.6f    closed: %s\n", (double)f->now / 1e9, ptcp_strerror(ev->error));
	switch (ev->type) {
	case PTCP_EV_STATE:
		REQUIRE(ev->from <= PTCP_TIME_WAIT && ev->to <= PTCP_TIME_WAIT);
		REQUIRE(ev->from != ev->to);
		/* Synchronised to a (new) SYN: the one being handed in. */
		if (ev->to == PTCP_SYN_RECEIVED ||
		    (ev->from == PTCP_SYN_SENT && ev->to == PTCP_ESTABLISHED)) {
			REQUIRE(f->cur_valid && f->cur_syn);
			f->irs_known = true;
			f->irs1 = f->cur_seq + 1;
			f->rcvd = 0;
		}
		break;
	case PTCP_EV_DROP:
		REQUIRE(ev->drop < PTCP_DROP__COUNT);
		break;
	case PTCP_EV_CLOSED:
		REQUIRE(ev->error <= 0);
		break;
	default:
		break;
	}
	REQUIRE(ev->now == f->now);
}

/* Checks one segment the engine produced. */
static void check_output(struct fz *f, const uint8_t *buf, size_t n)
{
	struct ptcp_segment seg;
	uint32_t seqlen;

	REQUIRE(n >= PTCP_TCP_HDR_MIN && n <= PTCP_TCP_HDR_MAX + (size_t)f->cfg.mss);
	REQUIRE(ptcp_conn_remote(f->c)->family != PTCP_AF_NONE);
	REQUIRE(ptcp_segment_parse(&seg, buf, n, ptcp_conn_local(f->c), ptcp_conn_remote(f->c)) == 0);
	REQUIRE(seg.sport == f->local.port);
	REQUIRE(seg.dport == ptcp_conn_remote(f->c)->port);
	REQUIRE((seg.flags & (PTCP_TH_SYN | PTCP_TH_FIN)) != (PTCP_TH_SYN | PTCP_TH_FIN));
	REQUIRE((seg.flags & (PTCP_TH_SYN | PTCP_TH_RST)) != (PTCP_TH_SYN | PTCP_TH_RST));
	REQUIRE(!(seg.flags & PTCP_TH_SYN) || seg.len == 0);
	REQUIRE(!(seg.flags & PTCP_TH_RST) || seg.len == 0);
	REQUIRE(seg.len <= f->cfg.mss);
	seqlen = ptcp_segment_seqlen(&seg);
	trace_seg(f, "out", &seg);

	if (f->opened) {
		uint32_t start = seg.seq - f->isn, end = start + seqlen;
		bool in_range = start <= end && end <= f->app_sent + 2;

		if (seg.flags & PTCP_TH_RST) {
			/* RFC 9293 3.10.7: a RST answering a segment takes its
			 * SEQ from that segment's ACK, or is <SEQ=0><RST,ACK>. */
			REQUIRE(in_range || (f->injected && seg.seq == f->injected_ack) ||
				(seg.seq == 0 && (seg.flags & PTCP_TH_ACK)));
		} else {
			REQUIRE(in_range);
			/* The payload is the application's bytes at that offset:
			 * offset 0 is ISN + 1. */
			if (seg.len > 0) {
				uint64_t off = (uint32_t)(seg.seq - f->isn - 1);

				REQUIRE(off + seg.len <= f->app_sent);
				for (size_t i = 0; i < seg.len; i++)
					REQUIRE(seg.payload[i] == app_byte(off + i));
			}
		}
	}
	if (seg.flags & PTCP_TH_ACK && !(seg.flags & PTCP_TH_RST)) {
		/* RFC 2018 section 3: SACK blocks report data above the
		 * cumulative ACK. The first may be a D-SACK (RFC 2883 section
		 * 4): a duplicate at or below the ACK, or one inside the
		 * block that follows it. */
		for (unsigned i = 0; i < seg.opt.sack_count; i++) {
			const struct ptcp_sack_block *b = &seg.opt.sack[i];

			REQUIRE(ptcp_seq_lt(b->left, b->right));
			if (i == 0 && ptcp_seq_le(b->right, seg.ack))
				continue;
			if (i == 0 && seg.opt.sack_count > 1 &&
			    ptcp_seq_ge(b->left, seg.opt.sack[1].left) &&
			    ptcp_seq_le(b->right, seg.opt.sack[1].right))
				continue;
			REQUIRE(ptcp_seq_gt(b->left, seg.ack));
		}
		f->has_ack = true;
		f->last_ack = seg.ack;
	}
	if (!(seg.flags & PTCP_TH_RST)) {
		if (ptcp_seq_gt(seg.seq + seqlen, f->snd_hi))
			f->snd_hi = seg.seq + seqlen;
		f->last_seq = seg.seq;
	}
}

/* What a driver does after every call: send everything that is due. */
static void drain(struct fz *f)
{
	/* Segments with payload are bounded by the bytes in the send buffer
	 * (each carries at least one); the rest (control replies, SYN, FIN,
	 * probes, ACK) by a handful. */
	unsigned empty = 0, full = 0;

	if (!f->c)
		return;
	for (;;) {
		struct ptcp_txinfo info = { .ttl = 77 };
		int n = ptcp_conn_output(f->c, f->out, sizeof(f->out), &info, f->now);
		struct ptcp_segment seg;

		REQUIRE(n >= 0);
		if (n == 0)
			break;
		check_output(f, f->out, (size_t)n);
		REQUIRE(ptcp_segment_parse(&seg, f->out, (size_t)n, NULL, NULL) == 0);
		/* A special TTL only ever for a SYN, and only the configured one. */
		REQUIRE(info.ttl == 0 || (info.ttl == f->cfg.first_syn_ttl && (seg.flags & PTCP_TH_SYN)));
		if (seg.len == 0)
			REQUIRE(++empty <= 16);
		else
			REQUIRE(++full <= f->cfg.sndbuf + 2);
	}
	f->injected = false;
}

static void check_conn(struct fz *f)
{
	ptcp_ts exp;

	if (!f->c)
		return;
	REQUIRE((unsigned)ptcp_conn_state(f->c) <= PTCP_TIME_WAIT);
	REQUIRE(ptcp_conn_error(f->c) <= 0);
	exp = ptcp_conn_expiry(f->c);
	REQUIRE(exp >= f->now);
	REQUIRE(ptcp_conn_recv_ready(f->c) <= f->cfg.rcvbuf);
	REQUIRE(ptcp_conn_send_pending(f->c) <= f->cfg.sndbuf);
	REQUIRE(ptcp_conn_send_space(f->c) + ptcp_conn_send_pending(f->c) <= f->cfg.sndbuf);
	if (ptcp_conn_state(f->c) == PTCP_CLOSED || ptcp_conn_state(f->c) == PTCP_LISTEN)
		REQUIRE(ptcp_conn_send_space(f->c) == 0);
}

static void conn_free(struct fz *f)
{
	if (!f->c)
		return;
	ptcp_conn_free(f->c);
	f->c = NULL;
	REQUIRE(f->alloc.live_bytes == 0 && f->alloc.live_blocks == 0);
	REQUIRE(f->alloc.bad_frees == 0);
}

/* Config bytes:
 *   b0: bits 0-1 opening (0 active, 1 active with the peer's ISN agreed,
 *       2 passive, 3 passive with no remote), 2 ISN policy accept, 3 SACK,
 *       4 window scale, 5 delayed ACK, 6 punching, 7 keepalive
 *   b1: sndbuf 256 << (bits 0-2), rcvbuf 256 << (bits 3-5), bit 6 fixed
 *       SYN interval, bit 7 first SYN TTL
 *   b2: MSS 64 + b2 * 1396 / 255
 *   b3: SYN retries bits 0-2, data retries bits 3-6, bit 7 no open at all
 *   u32 our ISN, u32 the peer's ISN; our ISN's two low bits also pick the
 *   congestion control: 1 CUBIC, 2 NewReno, else the default (BBR) */
static void conn_new(struct fz *f, struct reader *r)
{
	uint8_t b0 = u8(r), b1 = u8(r), b2 = u8(r), b3 = u8(r);
	struct ptcp_open o;
	unsigned mode = b0 & 3;
	int rv;

	conn_free(f);
	ptcp_config_default(&f->cfg);
	f->cfg.alloc = netsim_alloc_iface(&f->alloc);
	f->cfg.on_event = on_event;
	f->cfg.user = f;
	f->cfg.isn_policy = (b0 & 4) ? PTCP_ISN_ACCEPT : PTCP_ISN_REJECT;
	f->cfg.sack = b0 & 8;
	f->cfg.window_scale = b0 & 16;
	f->cfg.delack = (b0 & 32) ? 40 * PTCP_NS_PER_MS : 0;
	f->cfg.punching = b0 & 64;
	if (b0 & 128) {
		f->cfg.keepalive_idle = 2 * PTCP_NS_PER_S;
		f->cfg.keepalive_interval = PTCP_NS_PER_S;
		f->cfg.keepalive_count = 3;
	}
	f->cfg.sndbuf = 256u << (b1 & 7);
	f->cfg.rcvbuf = 256u << ((b1 >> 3) & 7);
	if (b1 & 64)
		f->cfg.syn_interval = 500 * PTCP_NS_PER_MS;
	if (b1 & 128)
		f->cfg.first_syn_ttl = 3;
	f->cfg.mss = (uint16_t)(64 + b2 * (1460 - 64) / 255);
	f->cfg.syn_retries = b3 & 7;
	f->cfg.data_retries = (b3 >> 3) & 15;
	f->cfg.msl = PTCP_NS_PER_S;

	memset(&o, 0, sizeof(o));
	o.isn = u32(r);
	f->peer_isn = u32(r);
	if ((o.isn & 3) == 1)
		f->cfg.cc = PTCP_CC_CUBIC;
	else if ((o.isn & 3) == 2)
		f->cfg.cc = PTCP_CC_NEWRENO;
	if (mode == 1) {
		o.has_peer_isn = true;
		o.peer_isn = f->peer_isn;
	}
	rv = ptcp_conn_new(&f->c, &f->cfg, &f->local, mode == 3 ? NULL : &f->remote);
	REQUIRE(rv == 0);
	f->opened = false;
	f->app_sent = 0;
	f->has_ack = false;
	f->irs_known = false;
	f->rcvd = 0;
	f->snd_hi = f->last_seq = o.isn;
	if (b3 & 128)
		return;
	f->isn = o.isn;
	f->opened = true;
	if (mode <= 1)
		REQUIRE(ptcp_conn_open_active(f->c, &o, f->now) == 0);
	else
		REQUIRE(ptcp_conn_open_passive(f->c, &o, f->now) == 0);
}

static ptcp_seq rel(struct reader *r, ptcp_seq base)
{
	return base + (uint32_t)(int32_t)(int16_t)u16(r);
}

/* Builds a segment from the program; payload goes into f->buf. */
static void build_segment(struct fz *f, struct reader *r, struct ptcp_segment *seg, bool *stranger)
{
	uint8_t mode;
	ptcp_seq rcv = f->has_ack ? f->last_ack : f->peer_isn + 1;

	memset(seg, 0, sizeof(*seg));
	seg->flags = u8(r);
	mode = u8(r);
	switch (mode & 3) {
	case 0:
		seg->seq = u32(r);
		break;
	case 1:
		seg->seq = rel(r, f->peer_isn);
		break;
	case 2:
		seg->seq = rel(r, rcv);
		break;
	default:
		seg->seq = rcv + (uint32_t)((int32_t)(int16_t)u16(r) * 16);
		break;
	}
	switch ((mode >> 2) & 3) {
	case 0:
		seg->ack = u32(r);
		break;
	case 1:
		seg->ack = rel(r, f->isn);
		break;
	case 2:
		seg->ack = rel(r, f->snd_hi);
		break;
	default:
		seg->ack = rel(r, f->last_seq);
		break;
	}
	seg->wnd = u16(r);
	if (mode & 16) {
		uint8_t m = u8(r);
		unsigned nsack = (m >> 4) & 7;

		if (m & 1) {
			seg->opt.has_mss = true;
			seg->opt.mss = u16(r);
		}
		if (m & 2) {
			seg->opt.has_wscale = true;
			seg->opt.wscale = u8(r);
		}
		seg->opt.sack_permitted = m & 4;
		if (m & 8) {
			seg->opt.has_ts = true;
			seg->opt.ts_val = u32(r);
			seg->opt.ts_ecr = u32(r);
		}
		if (nsack > PTCP_SACK_MAX)
			nsack = PTCP_SACK_MAX;
		for (unsigned i = 0; i < nsack; i++) {
			seg->opt.sack[i].left = rel(r, f->snd_hi);
			seg->opt.sack[i].right = seg->opt.sack[i].left + u16(r);
		}
		seg->opt.sack_count = (uint8_t)nsack;
	}
	seg->sport = f->remote.port ^ ((mode & 32) ? 1 : 0);
	seg->dport = f->local.port;
	*stranger = mode & 64;
	if (mode & 128) {
		ptcp_seq s0 = seg->seq + !!(seg->flags & PTCP_TH_SYN);

		seg->len = u16(r) % MAX_PAYLOAD;
		for (size_t i = 0; i < seg->len; i++)
			f->buf[i] = pat(s0 + (uint32_t)i);
		seg->payload = f->buf;
	}
}

static void op_seg(struct fz *f, struct reader *r, bool as_struct)
{
	struct ptcp_segment seg, rst;
	const struct ptcp_endpoint *src;
	bool stranger;

	build_segment(f, r, &seg, &stranger);
	src = stranger ? &f->stranger : &f->remote;
	/* ptcp_reset_for never answers a RST and always answers the rest. */
	REQUIRE(ptcp_reset_for(&seg, &rst) == !(seg.flags & PTCP_TH_RST));
	f->injected = true;
	f->injected_ack = seg.ack;
	trace_seg(f, stranger ? "in*" : "in ", &seg);
	f->cur_valid = true;
	f->cur_seq = seg.seq;
	f->cur_syn = seg.flags & PTCP_TH_SYN;
	if (as_struct) {
		REQUIRE(ptcp_conn_input(f->c, &seg, src, f->now) == 0);
	} else {
		uint8_t wire[PTCP_TCP_HDR_MAX + MAX_PAYLOAD];
		int n = ptcp_segment_emit(&seg, wire, sizeof(wire), src, &f->local);

		REQUIRE(n > 0);
		REQUIRE(ptcp_conn_input_bytes(f->c, wire, (size_t)n, src, f->now) == 0);
	}
	f->cur_valid = false;
}

static void op_raw(struct fz *f, struct reader *r)
{
	uint8_t ctl = u8(r);
	size_t len = u16(r) % (PTCP_TCP_HDR_MAX + MAX_PAYLOAD);
	uint8_t wire[PTCP_TCP_HDR_MAX + MAX_PAYLOAD];
	int rv;

	for (size_t i = 0; i < len; i++)
		wire[i] = u8(r);
	if ((ctl & 2) && len >= PTCP_TCP_HDR_MIN) {
		size_t doff = (size_t)(wire[12] >> 4) * 4;
		ptcp_seq s = (ptcp_seq)wire[4] << 24 | (ptcp_seq)wire[5] << 16 |
		             (ptcp_seq)wire[6] << 8 | wire[7];

		s += !!(wire[13] & PTCP_TH_SYN);
		for (size_t i = doff; i < len; i++)
			wire[i] = pat(s + (uint32_t)(i - doff));
	}
	if ((ctl & 1) && len >= PTCP_TCP_HDR_MIN) {
		fuzz_fix_checksum(wire, len, &f->remote, &f->local);
		REQUIRE(ptcp_tcp_checksum(&f->remote, &f->local, wire, len) == 0);
	}
	if (len >= 12) {
		f->injected = true;
		f->injected_ack = (ptcp_seq)wire[8] << 24 | (ptcp_seq)wire[9] << 16 |
		                  (ptcp_seq)wire[10] << 8 | wire[11];
	}
	if (len >= PTCP_TCP_HDR_MIN) {
		f->cur_valid = true;
		f->cur_seq = (ptcp_seq)wire[4] << 24 | (ptcp_seq)wire[5] << 16 |
		             (ptcp_seq)wire[6] << 8 | wire[7];
		f->cur_syn = wire[13] & PTCP_TH_SYN;
	}
	rv = ptcp_conn_input_bytes(f->c, wire, len, &f->remote, f->now);
	f->cur_valid = false;
	REQUIRE(rv <= 0);
	/* Whatever the engine took had a valid checksum. */
	if (rv == 0)
		REQUIRE(len >= PTCP_TCP_HDR_MIN &&
		        ptcp_tcp_checksum(&f->remote, &f->local, wire, len) == 0);
}

/* Runs the timers due at f->now, as a driver's timer callback does. */
static void expire(struct fz *f)
{
	REQUIRE(ptcp_conn_handle_expiry(f->c, f->now) == 0);
	REQUIRE(ptcp_conn_expiry(f->c) > f->now);
	drain(f);
}

static void op_time(struct fz *f, struct reader *r)
{
	uint8_t e = u8(r);
	uint64_t d = ((uint64_t)u16(r) + 1) << (e % 34);
	ptcp_ts target = ptcp_ts_add(f->now, d);
	unsigned steps = 0;

	for (;;) {
		ptcp_ts exp = ptcp_conn_expiry(f->c);

		REQUIRE(exp >= f->now);
		if (exp > target || steps++ >= TIME_STEPS_MAX)
			break;
		f->now = exp;
		expire(f);
	}
	f->now = target;
	if (ptcp_conn_expiry(f->c) <= f->now)
		expire(f);
}

static void op_send(struct fz *f, struct reader *r)
{
	size_t n = u16(r);
	ptcp_ssize got;

	for (size_t i = 0; i < n && i < sizeof(f->buf); i++)
		f->buf[i] = app_byte(f->app_sent + i);
	if (n > sizeof(f->buf))
		n = sizeof(f->buf);
	got = ptcp_conn_send(f->c, f->buf, n, f->now);
	if (got < 0)
		return;
	REQUIRE((size_t)got <= n);
	/* Bytes written before open are not part of any sequence space. */
	if (f->opened)
		f->app_sent += (uint64_t)got;
	else
		REQUIRE(got == 0);
}

static void op_recv(struct fz *f, struct reader *r)
{
	size_t cap = u16(r) % sizeof(f->buf);
	ptcp_ssize got = ptcp_conn_recv(f->c, f->buf, cap, f->now);

	if (got < 0)
		return;
	REQUIRE((size_t)got <= cap);
	if (got == 0)
		return;
	/* Data can only arrive after synchronising to a SYN. */
	REQUIRE(f->irs_known);
	for (ptcp_ssize i = 0; i < got; i++)
		REQUIRE(f->buf[i] == pat(f->irs1 + (uint32_t)(f->rcvd + (uint64_t)i)));
	f->rcvd += (uint64_t)got;
}

/* No more input: the timers must settle within a bounded number of
 * expiries (retries end, TIME-WAIT ends, keepalive gives up). */
static void settle(struct fz *f)
{
	for (unsigned i = 0; i < SETTLE_MAX; i++) {
		ptcp_ts exp = ptcp_conn_expiry(f->c);

		if (exp == PTCP_TS_NEVER)
			return;
		REQUIRE(exp >= f->now);
		f->now = exp;
		expire(f);
		check_conn(f);
	}
	fprintf(stderr, "timers still running after %d expiries, state %s\n", SETTLE_MAX,
		ptcp_state_name(ptcp_conn_state(f->c)));
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz f;
	struct reader r = { data, size };

	if (trace < 0)
		trace = getenv("FUZZ_ENGINE_TRACE") != NULL;
	memset(&f, 0, sizeof(f));
	ptcp_endpoint_ipv4(&f.local, 0x0a000001, 4000);
	ptcp_endpoint_ipv4(&f.remote, 0x0a000002, 5000);
	ptcp_endpoint_ipv4(&f.stranger, 0x0a000003, 5000);
	f.now = PTCP_NS_PER_S;

	conn_new(&f, &r);
	drain(&f);
	check_conn(&f);
	while (r.n > 0) {
		uint8_t op = u8(&r) % OP_COUNT;

		if (trace && op != OP_SEG && op != OP_STRUCT)
			fprintf(stderr, "%12.6f op %d\n", (double)f.now / 1e9, op);

		switch (op) {
		case OP_SEG:
			op_seg(&f, &r, false);
			break;
		case OP_STRUCT:
			op_seg(&f, &r, true);
			break;
		case OP_RAW:
			op_raw(&f, &r);
			break;
		case OP_TIME:
			op_time(&f, &r);
			break;
		case OP_SEND:
			op_send(&f, &r);
			break;
		case OP_RECV:
			op_recv(&f, &r);
			break;
		case OP_SHUTDOWN:
			ptcp_conn_shutdown(f.c, f.now);
			break;
		case OP_ABORT:
			REQUIRE(ptcp_conn_abort(f.c, f.now) == 0);
			REQUIRE(ptcp_conn_state(f.c) == PTCP_CLOSED);
			break;
		case OP_NEW:
			conn_new(&f, &r);
			break;
		case OP_EXPIRE:
			REQUIRE(ptcp_conn_handle_expiry(f.c, f.now) == 0);
			break;
		}
		drain(&f);
		check_conn(&f);
	}
	settle(&f);
	conn_free(&f);
	return 0;
}
