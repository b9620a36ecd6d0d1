/* Packet-script harness: see script.h. */
#include "script.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Script time 0 lies well after the engine's time 0 so that nothing in a
 * test happens at the suspicious absolute time 0. */
#define SC_EPOCH SEC(1000)

/* ---- the test allocator ----------------------------------------------- */

static void *talloc_alloc(void *ctx, size_t size)
{
	struct talloc *a = ctx;
	void *p;

	a->calls++;
	if (a->fail_at && a->calls == a->fail_at) {
		a->refused++;
		return NULL;
	}
	p = malloc(size ? size : 1);
	if (!p)
		abort();
	/* Garbage, so code that relies on zeroed memory shows up. */
	memset(p, 0xa5, size);
	if (a->n_blocks == a->cap_blocks) {
		a->cap_blocks = a->cap_blocks ? 2 * a->cap_blocks : 16;
		a->blocks = realloc(a->blocks, a->cap_blocks * sizeof(*a->blocks));
		if (!a->blocks)
			abort();
	}
	a->blocks[a->n_blocks++] = (struct talloc_block){ p, size };
	a->allocs++;
	a->live_bytes += size;
	if (a->live_bytes > a->peak_bytes)
		a->peak_bytes = a->live_bytes;
	return p;
}

static void talloc_free(void *ctx, void *ptr, size_t size)
{
	struct talloc *a = ctx;
	size_t i;

	if (!ptr)
		return;
	for (i = 0; i < a->n_blocks; i++)
		if (a->blocks[i].ptr == ptr)
			break;
	if (i == a->n_blocks) {
		a->bad_frees++;
		check_fail(__FILE__, __LINE__, "free of a pointer that was not allocated (or twice)");
		return;
	}
	if (a->blocks[i].size != size) {
		a->bad_frees++;
		check_fail(__FILE__, __LINE__, "free with size %zu of a block of %zu bytes", size,
			   a->blocks[i].size);
	}
	a->live_bytes -= a->blocks[i].size;
	memset(ptr, 0x5a, a->blocks[i].size);
	free(ptr);
	a->blocks[i] = a->blocks[--a->n_blocks];
	a->frees++;
}

void talloc_init(struct talloc *a)
{
	memset(a, 0, sizeof(*a));
}

struct ptcp_alloc talloc_iface(struct talloc *a)
{
	return (struct ptcp_alloc){ .alloc = talloc_alloc, .free = talloc_free, .ctx = a };
}

size_t talloc_live(const struct talloc *a)
{
	return a->n_blocks;
}

void talloc_release(struct talloc *a)
{
	free(a->blocks);
	a->blocks = NULL;
	a->n_blocks = a->cap_blocks = 0;
}

/* ---- helpers ------------------------------------------------------------ */

uint8_t sc_pattern_local(uint64_t off)
{
	return (uint8_t)(off * 131 + (off >> 8) * 7 + 0x11);
}

uint8_t sc_pattern_remote(uint64_t off)
{
	return (uint8_t)(off * 197 + (off >> 8) * 13 + 0x5c);
}

static double rel(const struct script *s, ptcp_ts abs)
{
	return (double)(int64_t)(abs - s->base) / 1e9;
}

/* Reports a failure at the step's location (file NULL: here), after the
 * fixture's name ctx if one runs, and counts it. */
static void vfail(unsigned long *fails, const char *file, int line, const char *ctx,
                  const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void vfail(unsigned long *fails, const char *file, int line, const char *ctx,
                  const char *fmt, va_list ap)
{
	char msg[1024];

	(*fails)++;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	check_fail(file ? file : __FILE__, file ? line : __LINE__, "%s%s%s", ctx ? ctx : "",
		   ctx ? ": " : "", msg);
}

static void fail_at(unsigned long *fails, const char *file, int line, const char *ctx,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void fail_at(unsigned long *fails, const char *file, int line, const char *ctx,
                    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(fails, file, line, ctx, fmt, ap);
	va_end(ap);
}

/* Leaks and bad frees the test allocator saw, as failures. */
static void check_talloc(const struct talloc *a, unsigned long *fails, const char *file, int line,
                         const char *ctx)
{
	if (talloc_live(a))
		fail_at(fails, file, line, ctx, "%zu block(s) (%zu bytes) leaked", talloc_live(a),
			a->live_bytes);
	if (a->bad_frees)
		fail_at(fails, file, line, ctx, "%lu bad free(s)", a->bad_frees);
}

static void sc_fail(struct script *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sc_fail(struct script *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(&s->fails, s->file, s->line, s->ctx, fmt, ap);
	va_end(ap);
}

void sc_at(struct script *s, const char *file, int line)
{
	/* Inside a fixture, keep pointing at the line that started it. */
	if (s->ctx)
		return;
	s->file = file;
	s->line = line;
	if (s->stack) {
		s->stack->file = file;
		s->stack->line = line;
	}
}

static void on_event(void *user, struct ptcp_conn *conn, const struct ptcp_event *ev)
{
	struct script *s = user;

	if (conn != s->c && s->c) {
		sc_fail(s, "event for another connection");
		return;
	}
	if (s->n_ev == SC_MAX_EVENTS) {
		s->ev_overflow++;
		return;
	}
	s->ev[s->n_ev].ev = *ev;
	s->ev[s->n_ev].seen = false;
	s->n_ev++;
}

void sc_config(struct ptcp_config *cfg)
{
	ptcp_config_default(cfg);
	cfg->sndbuf = 16384;
	cfg->rcvbuf = 8192;
	cfg->mss = 1460;
	cfg->sack = false;
	cfg->window_scale = false;
	cfg->timestamps = false;
	cfg->cc = PTCP_CC_NEWRENO;
	cfg->rto_initial = SEC(1);
	cfg->rto_min = SEC(1);
	cfg->rto_max = SEC(60);
	cfg->syn_retries = 6;
	cfg->data_retries = 15;
	cfg->syn_interval = 0;
	cfg->punching = false;
	cfg->first_syn_ttl = 0;
	cfg->msl = SEC(30);
	cfg->delack = 0;
	cfg->keepalive_idle = 0;
	cfg->keepalive_interval = 0;
	cfg->keepalive_count = 0;
	cfg->challenge_ack_limit = 10;
	cfg->invalid_ack_interval = MS(500);
	cfg->isn_policy = PTCP_ISN_REJECT;
}

static struct script *alloc_script(const struct ptcp_config *cfg)
{
	struct script *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	s->q = calloc(SC_MAX_QUEUE, sizeof(*s->q));
	s->ev = calloc(SC_MAX_EVENTS, sizeof(*s->ev));
	if (!s->q || !s->ev)
		abort();
	if (cfg)
		s->cfg = *cfg;
	else
		sc_config(&s->cfg);
	talloc_init(&s->alloc);
	s->cfg.alloc = talloc_iface(&s->alloc);
	s->cfg.on_event = on_event;
	s->cfg.user = s;
	s->base = s->now = SC_EPOCH;
	s->iss = ISS;
	s->irs = IRS;
	s->peer_mss = 1460;
	s->peer_ws = -1;
	s->peer_wnd = 65535;
	ptcp_endpoint_ipv4(&s->local, 0x0a000001, 4000);
	ptcp_endpoint_ipv4(&s->remote, 0x0a000002, 5000);
	return s;
}

static struct script *create_conn(struct script *s)
{
	int rv = ptcp_conn_new(&s->c, &s->cfg, &s->local, s->wildcard ? NULL : &s->remote);

	if (rv != 0) {
		fprintf(stderr, "ptcp_conn_new: %s\n", ptcp_strerror(rv));
		abort();
	}
	return s;
}

struct script *sc_new(const struct ptcp_config *cfg)
{
	return create_conn(alloc_script(cfg));
}

struct script *sc_new_endpoints(const struct ptcp_config *cfg, const struct ptcp_endpoint *local,
                                const struct ptcp_endpoint *remote)
{
	struct script *s = alloc_script(cfg);

	s->local = *local;
	s->remote = *remote;
	return create_conn(s);
}

struct script *sc_new_wildcard(const struct ptcp_config *cfg)
{
	struct script *s = alloc_script(cfg);

	s->wildcard = true;
	return create_conn(s);
}

struct script *sc_new_peer(struct script *a, const struct ptcp_config *cfg)
{
	struct script *s = alloc_script(cfg);

	a->link = s->link = true;
	s->local = a->remote;
	s->remote = a->local;
	s->iss = a->irs;
	s->irs = a->iss;
	s->base = a->base;
	s->now = a->now;
	return create_conn(s);
}

/* ---- output queue ----------------------------------------------------- */

/* The receive buffer the engine has now (it starts below cfg.rcvbuf when
 * that is large, and grows). */
static size_t rcvbuf_now(const struct script *s)
{
	struct ptcp_stats st;

	if (!s->c)
		return s->cfg.rcvbuf;
	ptcp_conn_stats(s->c, &st);
	return st.rcvbuf;
}

static bool parse_out(struct script *s, const struct sc_out *o, struct ptcp_segment *seg)
{
	int rv = ptcp_segment_parse(seg, o->buf, o->len, &s->local, &s->remote);

	if (rv != 0) {
		sc_fail(s, "t=%.3f: the engine emitted a segment that does not parse: %s",
			rel(s, o->at), ptcp_strerror(rv));
		return false;
	}
	if (seg->sport != s->local.port || seg->dport != s->remote.port) {
		sc_fail(s, "t=%.3f: segment with ports %u>%u, expected %u>%u", rel(s, o->at),
			seg->sport, seg->dport, s->local.port, s->remote.port);
		return false;
	}
	return true;
}

/* Records the free space when o was emitted and the right edge advertised
 * before it, then the right edge o advertises. */
static void note_window(struct script *s, struct sc_out *o)
{
	size_t ready = s->c ? ptcp_conn_recv_ready(s->c) : 0, cap = rcvbuf_now(s);
	struct ptcp_segment seg;

	o->free = ready < cap ? cap - ready : 0;
	o->has_edge = s->has_edge;
	o->prev_edge = s->edge;
	if (ptcp_segment_parse(&seg, o->buf, o->len, &s->local, &s->remote) != 0 ||
	    !(seg.flags & ACK) || (seg.flags & RST))
		return;
	s->has_edge = true;
	s->edge = seg.ack + ((uint32_t)seg.wnd << ((seg.flags & SYN) ? 0 : s->rcv_wscale));
}

static bool window_ok(const struct script *s, const struct sc_out *o, const struct ptcp_segment *g)
{
	unsigned shift = (g->flags & SYN) ? 0 : s->rcv_wscale;
	size_t full = o->free >> shift, thresh;
	uint64_t adv = (uint64_t)g->wnd << shift;
	int32_t keep;

	if (full > 65535)
		full = 65535;
	if (g->wnd == full)
		return true;
	if (!o->has_edge || (g->flags & SYN))
		return false;
	keep = ptcp_seq_diff(o->prev_edge, g->ack);
	if (keep < 0 || adv > (uint64_t)keep || (uint64_t)keep - adv >= (1u << shift) ||
	    adv > o->free)
		return false;
	thresh = rcvbuf_now(s) / 2 < s->cfg.mss ? rcvbuf_now(s) / 2 : s->cfg.mss;
	return o->free - adv < thresh;
}

bool sc_window_ok(const struct script *s, const struct ptcp_segment *g)
{
	return window_ok(s, &s->taken, g);
}

static void stack_drain(struct sc_stack *k);

static void drain(struct script *s)
{
	unsigned n;

	if (s->stack) {
		stack_drain(s->stack);
		return;
	}
	if (!s->c)
		return;
	for (n = 0;; n++) {
		struct sc_out *o;
		int rv;

		if (n == 1000) {
			sc_fail(s, "t=%.3f: ptcp_conn_output does not stop emitting", rel(s, s->now));
			return;
		}
		if (s->q_len == SC_MAX_QUEUE) {
			sc_fail(s, "t=%.3f: more than %d segments emitted and not expected",
				rel(s, s->now), SC_MAX_QUEUE);
			s->q_len = 0;
		}
		o = &s->q[s->q_len];
		memset(&o->info, 0, sizeof(o->info));
		o->info.caps = s->tx_caps;
		rv = ptcp_conn_output(s->c, o->buf, sizeof(o->buf), &o->info, s->now);
		if (rv == 0)
			return;
		if (rv < 0) {
			sc_fail(s, "t=%.3f: ptcp_conn_output: %s", rel(s, s->now), ptcp_strerror(rv));
			return;
		}
		if ((size_t)rv > sizeof(o->buf)) {
			sc_fail(s, "ptcp_conn_output returned %d > cap", rv);
			return;
		}
		o->len = (size_t)rv;
		o->at = s->now;
		note_window(s, o);
		{
			struct ptcp_segment g;

			if (ptcp_segment_parse(&g, o->buf, o->len, NULL, NULL) == 0 && g.opt.has_ts)
				s->ts_echo = g.opt.ts_val;
		}
		s->q_len++;
	}
}

static void pop(struct script *s)
{
	memmove(&s->q[0], &s->q[1], (s->q_len - 1) * sizeof(s->q[0]));
	s->q_len--;
}

/* Every queued segment is one the script did not expect. */
static void flush_unexpected(struct script *s)
{
	while (s->q_len) {
		struct ptcp_segment seg;
		char fmt[256];

		if (parse_out(s, &s->q[0], &seg))
			sc_fail(s, "t=%.3f: unexpected segment %s", rel(s, s->q[0].at),
				ptcp_segment_format(&seg, fmt, sizeof(fmt)));
		pop(s);
	}
}

void sc_discard(struct script *s)
{
	s->q_len = 0;
}

size_t sc_pending(const struct script *s)
{
	return s->q_len;
}

/* ---- time ------------------------------------------------------------ */

static void stack_advance(struct sc_stack *k, ptcp_ts target);

void sc_advance(struct script *s, uint64_t t)
{
	ptcp_ts target = s->base + t;
	unsigned guard;

	if (s->stack) {
		stack_advance(s->stack, target);
		return;
	}
	if (target < s->now) {
		sc_fail(s, "script goes back in time: t=%.3f after t=%.3f", rel(s, target),
			rel(s, s->now));
		return;
	}
	for (guard = 0; s->c; guard++) {
		ptcp_ts exp = ptcp_conn_expiry(s->c);

		if (exp > target)
			break;
		if (guard == 100000) {
			sc_fail(s, "t=%.3f: the expiry does not move on (stuck at %.3f)",
				rel(s, s->now), rel(s, exp));
			break;
		}
		if (exp < s->now)
			exp = s->now;
		if (exp > s->now) {
			if (!s->link)
				flush_unexpected(s);
			s->now = exp;
		}
		ptcp_conn_handle_expiry(s->c, s->now);
		drain(s);
		/* Whatever was due has run: a deadline that is still not in
		 * the future would make a driver spin. */
		if (ptcp_conn_expiry(s->c) <= s->now) {
			sc_fail(s, "t=%.3f: after handle_expiry the expiry (%.3f) is not after now",
				rel(s, s->now), rel(s, ptcp_conn_expiry(s->c)));
			break;
		}
	}
	if (target > s->now) {
		if (!s->link)
			flush_unexpected(s);
		s->now = target;
	}
}

/* ---- building and comparing segments ------------------------------------ */

/* The payload of p: its data, or the pattern at the stream offset its
 * sequence number stands for. */
static void payload_of(const struct script *s, const struct sc_pkt *p, bool local, uint8_t *out)
{
	uint32_t off;
	size_t i;

	if (p->data) {
		memcpy(out, p->data, p->len);
		return;
	}
	off = (uint32_t)(p->seq + !!(p->flags & SYN) - ((local ? s->iss : s->irs) + 1));
	for (i = 0; i < p->len; i++)
		out[i] = local ? sc_pattern_local((uint32_t)(off + i))
			       : sc_pattern_remote((uint32_t)(off + i));
}

static void pkt_to_seg(const struct script *s, const struct sc_pkt *p, bool from_peer,
                       struct ptcp_segment *seg, uint8_t *payload)
{
	memset(seg, 0, sizeof(*seg));
	seg->sport = from_peer ? s->remote.port : s->local.port;
	seg->dport = from_peer ? s->local.port : s->remote.port;
	seg->seq = p->seq;
	seg->ack = p->ack;
	seg->flags = p->flags;
	if (from_peer)
		seg->wnd = p->win_set ? p->win : s->peer_wnd;
	else
		seg->wnd = p->win_set ? p->win : sc_expected_window(s, p->flags & SYN);
	seg->opt = p->opt;
	if (from_peer && s->peer_ts && !p->no_ts && !p->opt.has_ts && !(p->flags & RST)) {
		seg->opt.has_ts = true;
		seg->opt.ts_val = sc_peer_tsval(s);
		seg->opt.ts_ecr = (p->flags & ACK) ? s->ts_echo : 0;
	}
	payload_of(s, p, !from_peer, payload);
	seg->payload = payload;
	seg->len = p->len;
}

uint32_t sc_peer_tsval(const struct script *s)
{
	return (uint32_t)(s->now / PTCP_NS_PER_MS);
}

uint32_t sc_engine_tsval(const struct script *s, uint64_t t)
{
	return s->iss + (uint32_t)((s->base + t - s->ts_epoch) / PTCP_NS_PER_MS);
}

uint16_t sc_expected_window(const struct script *s, bool syn)
{
	size_t avail = rcvbuf_now(s);
	size_t ready = s->c ? ptcp_conn_recv_ready(s->c) : 0;

	avail = ready < avail ? avail - ready : 0;
	if (!syn)
		avail >>= s->rcv_wscale;
	return avail > 65535 ? 65535 : (uint16_t)avail;
}

/* Hands the bytes in as they came from s->remote to s->local. */
static int input_bytes(struct script *s, const uint8_t *buf, size_t len)
{
	if (s->stack)
		return ptcp_stack_input(s->stack->st, buf, len, &s->remote, &s->local, s->now);
	return ptcp_conn_input_bytes(s->c, buf, len, s->wildcard ? &s->remote : NULL, s->now);
}

static void inject_bytes(struct script *s, const uint8_t *buf, size_t len, bool want_ok)
{
	int rv = input_bytes(s, buf, len);

	if (rv != 0 && want_ok)
		sc_fail(s, "t=%.3f: ptcp_conn_input_bytes: %s", rel(s, s->now), ptcp_strerror(rv));
	drain(s);
}

void sc_inject(struct script *s, uint64_t t, const struct sc_pkt *p)
{
	static uint8_t payload[65536];
	uint8_t buf[PTCP_TCP_HDR_MAX + sizeof(payload)];
	struct ptcp_segment seg;
	int n;

	sc_advance(s, t);
	if (p->len > sizeof(payload)) {
		sc_fail(s, "payload too long");
		return;
	}
	pkt_to_seg(s, p, true, &seg, payload);
	n = ptcp_segment_emit(&seg, buf, sizeof(buf), &s->remote, &s->local);
	if (n < 0) {
		sc_fail(s, "cannot emit the injected segment: %s", ptcp_strerror(n));
		return;
	}
	inject_bytes(s, buf, (size_t)n, true);
}

int sc_inject_raw(struct script *s, uint64_t t, const uint8_t *buf, size_t len)
{
	int rv;

	sc_advance(s, t);
	rv = input_bytes(s, buf, len);
	drain(s);
	return rv;
}

static bool opt_matches(const struct sc_pkt *p, const struct ptcp_options *g, char *why, size_t cap)
{
	const struct ptcp_options *e = &p->opt;

	if ((p->optcmp & O_MSS) && (e->has_mss != g->has_mss || (e->has_mss && e->mss != g->mss))) {
		snprintf(why, cap, "MSS option");
		return false;
	}
	if ((p->optcmp & O_WS) &&
	    (e->has_wscale != g->has_wscale || (e->has_wscale && e->wscale != g->wscale))) {
		snprintf(why, cap, "window scale option");
		return false;
	}
	if ((p->optcmp & O_SACKP) && e->sack_permitted != g->sack_permitted) {
		snprintf(why, cap, "SACK-permitted option");
		return false;
	}
	if ((p->optcmp & O_TS) && (e->has_ts != g->has_ts ||
				   (e->has_ts && (e->ts_val != g->ts_val || e->ts_ecr != g->ts_ecr)))) {
		snprintf(why, cap, "timestamp option");
		return false;
	}
	if (p->optcmp & O_SACK) {
		unsigned i;

		if (e->sack_count != g->sack_count) {
			snprintf(why, cap, "SACK block count");
			return false;
		}
		for (i = 0; i < e->sack_count; i++)
			if (e->sack[i].left != g->sack[i].left || e->sack[i].right != g->sack[i].right) {
				snprintf(why, cap, "SACK block %u", i);
				return false;
			}
	}
	return true;
}

static bool matches(const struct script *s, const struct sc_pkt *p, const struct sc_out *o,
                    const struct ptcp_segment *g, char *why, size_t cap)
{
	uint8_t want[SC_SEG_CAP];
	size_t i;

	if ((g->flags & ~PSH) != (p->flags & ~PSH)) {
		snprintf(why, cap, "flags");
		return false;
	}
	if (g->seq != p->seq) {
		snprintf(why, cap, "seq (off by %" PRId32 ")", ptcp_seq_diff(g->seq, p->seq));
		return false;
	}
	if ((p->flags & ACK) && g->ack != p->ack) {
		snprintf(why, cap, "ack (off by %" PRId32 ")", ptcp_seq_diff(g->ack, p->ack));
		return false;
	}
	if (!(p->flags & RST) && !p->win_any) {
		uint16_t w = p->win_set ? p->win : sc_expected_window(s, p->flags & SYN);

		if (p->win_set ? g->wnd != w : !window_ok(s, o, g)) {
			snprintf(why, cap, "window %u, expected %u", g->wnd, w);
			return false;
		}
	}
	if (g->len != p->len) {
		snprintf(why, cap, "payload length");
		return false;
	}
	if (p->len > sizeof(want)) {
		snprintf(why, cap, "expected payload too long");
		return false;
	}
	payload_of(s, p, true, want);
	for (i = 0; i < p->len; i++)
		if (g->payload[i] != want[i]) {
			snprintf(why, cap, "payload byte %zu is 0x%02x, expected 0x%02x", i,
				 g->payload[i], want[i]);
			return false;
		}
	return opt_matches(p, &g->opt, why, cap);
}

static void describe_expected(const struct script *s, const struct sc_pkt *p, char *buf, size_t cap)
{
	uint8_t payload[SC_SEG_CAP];
	struct ptcp_segment seg;
	struct sc_pkt q = *p;

	if (q.len > sizeof(payload))
		q.len = 0;
	pkt_to_seg(s, &q, false, &seg, payload);
	if (!(q.flags & ACK))
		seg.ack = 0;
	ptcp_segment_format(&seg, buf, cap);
	if (q.win_any || (q.flags & RST))
		strncat(buf, " (any window)", cap - strlen(buf) - 1);
}

void sc_expect(struct script *s, uint64_t t, const struct sc_pkt *p)
{
	char want[256], got[256], why[128];
	struct ptcp_segment seg;

	sc_advance(s, t);
	describe_expected(s, p, want, sizeof(want));
	if (!s->q_len) {
		sc_fail(s, "t=%.3f: expected %s, got nothing", rel(s, s->now), want);
		return;
	}
	if (parse_out(s, &s->q[0], &seg) && !matches(s, p, &s->q[0], &seg, why, sizeof(why)))
		sc_fail(s, "t=%.3f: expected %s\n      got      %s  (%s differs)", rel(s, s->now),
			want, ptcp_segment_format(&seg, got, sizeof(got)), why);
	pop(s);
}

bool sc_expect_optional(struct script *s, uint64_t t, const struct sc_pkt *p)
{
	struct ptcp_segment seg;
	char why[128];

	sc_advance(s, t);
	if (!s->q_len)
		return false;
	if (parse_out(s, &s->q[0], &seg) && matches(s, p, &s->q[0], &seg, why, sizeof(why))) {
		pop(s);
		return true;
	}
	return false;
}

void sc_expect_nothing(struct script *s, uint64_t t)
{
	sc_advance(s, t);
	flush_unexpected(s);
}

bool sc_take(struct script *s, uint64_t t, struct ptcp_segment *seg, uint8_t *buf,
             struct ptcp_txinfo *info)
{
	bool ok;

	sc_advance(s, t);
	if (!s->q_len) {
		sc_fail(s, "t=%.3f: expected a segment, got nothing", rel(s, s->now));
		return false;
	}
	memcpy(buf, s->q[0].buf, s->q[0].len);
	if (info)
		*info = s->q[0].info;
	s->taken = s->q[0];
	ok = ptcp_segment_parse(seg, buf, s->q[0].len, &s->local, &s->remote) == 0;
	if (!ok)
		sc_fail(s, "t=%.3f: the engine emitted a segment that does not parse",
			rel(s, s->now));
	pop(s);
	return ok;
}

bool sc_forward(struct script *from, struct script *to, uint64_t t)
{
	static struct sc_out o;

	/* A segment emitted earlier is in flight until t: take it before time
	 * moves on for its sender. */
	if (!from->q_len)
		sc_advance(from, t);
	sc_advance(to, t);
	if (!from->q_len)
		return false;
	o = from->q[0];
	pop(from);
	if (parse_out(from, &o, &from->last_fwd))
		from->last_fwd.payload = NULL;
	inject_bytes(to, o.buf, o.len, true);
	return true;
}

bool sc_expect_syn(struct script *s, uint64_t t, uint8_t flags, ptcp_seq seq, ptcp_seq ack)
{
	bool peer_ws = s->peer_ws >= 0, synack = flags & ACK;
	uint8_t buf[SC_SEG_CAP];
	struct ptcp_segment g;
	char fmt[256];
	bool ok = true;

	if (!sc_take(s, t, &g, buf, NULL))
		return false;
	ptcp_segment_format(&g, fmt, sizeof(fmt));
	if ((g.flags & ~PSH) != flags || g.seq != seq || (synack && g.ack != ack) || g.len) {
		sc_fail(s, "t=%.3f: expected [%s] seq %" PRIu32 " ack %" PRIu32 ", got %s",
			rel(s, s->now), synack ? "S." : "S", seq, synack ? ack : 0, fmt);
		return false;
	}
	if (g.wnd != sc_expected_window(s, true)) {
		sc_fail(s, "t=%.3f: SYN window %u, expected %u (RFC 7323 2.2: never scaled): %s",
			rel(s, s->now), g.wnd, sc_expected_window(s, true), fmt);
		ok = false;
	}
	if (!g.opt.has_mss || g.opt.mss != s->cfg.mss) {
		sc_fail(s, "t=%.3f: SYN must carry MSS %u: %s", rel(s, s->now), s->cfg.mss, fmt);
		ok = false;
	}
	if (g.opt.has_wscale != (s->cfg.window_scale && (!synack || peer_ws))) {
		sc_fail(s, "t=%.3f: window scale option %s expected (RFC 7323 1.3): %s",
			rel(s, s->now), g.opt.has_wscale ? "not" : "", fmt);
		ok = false;
	}
	if (g.opt.sack_permitted != (s->cfg.sack && (!synack || s->peer_sackp))) {
		sc_fail(s, "t=%.3f: SACK-permitted %s expected (RFC 2018 2): %s", rel(s, s->now),
			g.opt.sack_permitted ? "not" : "", fmt);
		ok = false;
	}
	if (g.opt.has_ts != (s->cfg.timestamps && (!synack || s->peer_ts)) ||
	    (g.opt.has_ts && !synack && g.opt.ts_ecr != 0)) {
		sc_fail(s, "t=%.3f: timestamps %s expected (RFC 7323 3.2): %s", rel(s, s->now),
			g.opt.has_ts ? "not" : "", fmt);
		ok = false;
	}
	if (g.opt.has_wscale && peer_ws)
		s->rcv_wscale = g.opt.wscale > 14 ? 14 : g.opt.wscale;
	return ok;
}

/* ---- application calls ------------------------------------------------- */

/* After an application call: a flow tells its table, then everything
 * that is due goes out. */
static void app_done(struct script *s)
{
	if (s->stack && s->c) {
		int rv = ptcp_stack_touch(s->stack->st, s->c, s->now);

		if (rv != 0)
			sc_fail(s, "ptcp_stack_touch: %s", ptcp_strerror(rv));
	}
	drain(s);
}

ptcp_ssize sc_send(struct script *s, uint64_t t, size_t n)
{
	uint8_t *data = malloc(n ? n : 1);
	ptcp_ssize rv;
	size_t i;

	if (!data)
		abort();
	sc_advance(s, t);
	for (i = 0; i < n; i++)
		data[i] = sc_pattern_local(s->sent + i);
	rv = ptcp_conn_send(s->c, data, n, s->now);
	if (rv > 0)
		s->sent += (uint64_t)rv;
	free(data);
	app_done(s);
	return rv;
}

ptcp_ssize sc_recv(struct script *s, uint64_t t, size_t n)
{
	uint8_t *data = malloc(n ? n : 1);
	ptcp_ssize rv, i;

	if (!data)
		abort();
	sc_advance(s, t);
	rv = ptcp_conn_recv(s->c, data, n, s->now);
	if (rv > (ptcp_ssize)n)
		sc_fail(s, "ptcp_conn_recv returned %td > %zu", rv, n);
	for (i = 0; i < rv && i < (ptcp_ssize)n; i++)
		if (data[i] != sc_pattern_remote(s->rcvd + (uint64_t)i)) {
			sc_fail(s, "t=%.3f: received byte at stream offset %" PRIu64
				" is 0x%02x, expected 0x%02x", rel(s, s->now), s->rcvd + (uint64_t)i,
				data[i], sc_pattern_remote(s->rcvd + (uint64_t)i));
			break;
		}
	if (rv > 0)
		s->rcvd += (uint64_t)rv;
	free(data);
	app_done(s);
	return rv;
}

int sc_shutdown(struct script *s, uint64_t t)
{
	int rv;

	sc_advance(s, t);
	rv = ptcp_conn_shutdown(s->c, s->now);
	app_done(s);
	return rv;
}

int sc_abort(struct script *s, uint64_t t)
{
	int rv;

	sc_advance(s, t);
	rv = ptcp_conn_abort(s->c, s->now);
	app_done(s);
	return rv;
}

static struct ptcp_open open_args(const struct script *s)
{
	return (struct ptcp_open){
		.isn = s->iss, .has_peer_isn = s->has_peer_isn, .peer_isn = s->irs,
	};
}

int sc_open_active(struct script *s, uint64_t t)
{
	struct ptcp_open o = open_args(s);
	int rv;

	sc_advance(s, t);
	s->ts_epoch = s->now;
	if (s->stack)
		rv = ptcp_stack_connect(s->stack->st, &s->c, &s->local, &s->remote, &o, &s->cfg, s,
		                        s->now);
	else
		rv = ptcp_conn_open_active(s->c, &o, s->now);
	drain(s);
	return rv;
}

int sc_open_passive(struct script *s, uint64_t t)
{
	struct ptcp_open o = open_args(s);
	int rv;

	sc_advance(s, t);
	if (s->stack) {
		sc_fail(s, "a flow opens passively through a listener (ptcp_stack_listen)");
		return PTCP_ERR_STATE;
	}
	rv = ptcp_conn_open_passive(s->c, &o, s->now);
	drain(s);
	return rv;
}

/* ---- events ---------------------------------------------------------- */

void sc_transitions(struct script *s, char *buf, size_t cap)
{
	size_t i, used = 0;

	buf[0] = 0;
	for (i = s->trans_seen; i < s->n_ev; i++) {
		const struct ptcp_event *e = &s->ev[i].ev;
		int n;

		if (e->type != PTCP_EV_STATE)
			continue;
		n = snprintf(buf + used, cap - used, "%s%s>%s", used ? " " : "",
			     ptcp_state_name(e->from), ptcp_state_name(e->to));
		if (n < 0 || (size_t)n >= cap - used)
			break;
		used += (size_t)n;
	}
	s->trans_seen = s->n_ev;
}

static bool event_is(const struct sc_event *e, enum ptcp_event_type type, int drop)
{
	return !e->seen && e->ev.type == type &&
	       (type != PTCP_EV_DROP || drop < 0 || e->ev.drop == (enum ptcp_drop)drop);
}

const struct ptcp_event *sc_event(struct script *s, enum ptcp_event_type type, int drop)
{
	size_t i;

	for (i = 0; i < s->n_ev; i++)
		if (event_is(&s->ev[i], type, drop)) {
			s->ev[i].seen = true;
			return &s->ev[i].ev;
		}
	return NULL;
}

size_t sc_count_events(const struct script *s, enum ptcp_event_type type, int drop)
{
	size_t i, n = 0;

	for (i = 0; i < s->n_ev; i++)
		n += event_is(&s->ev[i], type, drop);
	return n;
}

void sc_events_clear(struct script *s)
{
	size_t i;

	for (i = 0; i < s->n_ev; i++)
		s->ev[i].seen = true;
	s->trans_seen = s->n_ev;
}

void sc_expect_state(struct script *s, enum ptcp_state st)
{
	enum ptcp_state got = ptcp_conn_state(s->c);

	if (got != st)
		sc_fail(s, "t=%.3f: state %s, expected %s", rel(s, s->now), ptcp_state_name(got),
			ptcp_state_name(st));
}

void sc_expect_path(struct script *s, const char *path)
{
	char got[1024];

	sc_transitions(s, got, sizeof(got));
	if (strcmp(got, path) != 0)
		sc_fail(s, "t=%.3f: transitions \"%s\", expected \"%s\"", rel(s, s->now), got, path);
}

void sc_expect_drop(struct script *s, enum ptcp_drop d)
{
	if (!sc_event(s, PTCP_EV_DROP, (int)d)) {
		const struct ptcp_event *other = sc_event(s, PTCP_EV_DROP, -1);

		sc_fail(s, "t=%.3f: expected a drop event \"%s\", got %s", rel(s, s->now),
			ptcp_drop_name(d), other ? ptcp_drop_name(other->drop) : "none");
	}
}

void sc_expect_closed(struct script *s, int error)
{
	const struct ptcp_event *e = sc_event(s, PTCP_EV_CLOSED, -1);

	if (!e)
		sc_fail(s, "t=%.3f: expected an EV_CLOSED event (%s)", rel(s, s->now),
			ptcp_strerror(error));
	else if (e->error != error)
		sc_fail(s, "t=%.3f: EV_CLOSED with \"%s\", expected \"%s\"", rel(s, s->now),
			ptcp_strerror(e->error), ptcp_strerror(error));
	if (ptcp_conn_state(s->c) != PTCP_CLOSED)
		sc_fail(s, "t=%.3f: state %s after EV_CLOSED", rel(s, s->now),
			ptcp_state_name(ptcp_conn_state(s->c)));
	if (ptcp_conn_error(s->c) != error)
		sc_fail(s, "t=%.3f: ptcp_conn_error() is \"%s\", expected \"%s\"", rel(s, s->now),
			ptcp_strerror(ptcp_conn_error(s->c)), ptcp_strerror(error));
}

/* ---- fixtures ---------------------------------------------------------- */

static struct sc_pkt peer_syn(const struct script *s, uint8_t flags, ptcp_seq ack)
{
	struct sc_pkt p = { .flags = flags, .seq = s->irs, .ack = ack };

	if (s->peer_mss) {
		p.opt.has_mss = true;
		p.opt.mss = s->peer_mss;
	}
	if (s->peer_ws >= 0) {
		p.opt.has_wscale = true;
		p.opt.wscale = (uint8_t)s->peer_ws;
	}
	p.opt.sack_permitted = s->peer_sackp;
	p.no_ts = !s->peer_ts;
	return p;
}

static bool step_ok(struct script *s, enum ptcp_state st, unsigned long fails)
{
	if (s->fails != fails)
		return false;
	if (ptcp_conn_state(s->c) != st) {
		sc_fail(s, "reached %s instead of %s", ptcp_state_name(ptcp_conn_state(s->c)),
			ptcp_state_name(st));
		return false;
	}
	return true;
}

bool sc_goto(struct script *s, enum ptcp_state st)
{
	static char ctx[64];
	ptcp_seq iss = s->iss, irs = s->irs;
	uint64_t t = s->now - s->base;
	unsigned long fails0 = s->fails;
	bool ok = false;
	struct sc_pkt p;

	snprintf(ctx, sizeof(ctx), "sc_goto(%s)", ptcp_state_name(st));
	s->ctx = ctx;
	s->snd_una = s->snd_nxt = iss;
	s->rcv_nxt = irs;

	if (st == PTCP_CLOSED) {
		ok = true;
		goto out;
	}
	if (s->stack && (st == PTCP_LISTEN || s->passive)) {
		if (st == PTCP_LISTEN) {
			sc_fail(s, "a flow has no LISTEN of its own: its table listens");
			goto out;
		}
		/* The table's listener answers with an ISN of its own (RFC
		 * 6528): learn it from the SYN-ACK. */
		p = peer_syn(s, SYN, 0);
		sc_inject(s, t += MS(10), &p);
		if (s->q_len > 0) {
			struct ptcp_segment g;

			if (parse_out(s, &s->q[0], &g))
				s->iss = iss = g.seq;
		}
		if (!sc_expect_syn(s, t, SYN | ACK, iss, irs + 1) || !step_ok(s, PTCP_SYN_RECEIVED, fails0))
			goto out;
		s->snd_una = iss;
		s->snd_nxt = iss + 1;
		s->rcv_nxt = irs + 1;
		if (st == PTCP_SYN_RECEIVED) {
			ok = true;
			goto out;
		}
		INJECT(s, t += MS(10), .flags = ACK, .seq = irs + 1, .ack = iss + 1);
		sc_expect_nothing(s, t);
	} else if (st == PTCP_LISTEN || s->passive) {
		if (sc_open_passive(s, t) != 0) {
			sc_fail(s, "ptcp_conn_open_passive failed");
			goto out;
		}
		if (!step_ok(s, PTCP_LISTEN, fails0))
			goto out;
		if (st == PTCP_LISTEN) {
			ok = true;
			goto out;
		}
		p = peer_syn(s, SYN, 0);
		sc_inject(s, t += MS(10), &p);
		s->ts_epoch = s->now; /* a LISTEN's clock starts with the SYN */
		if (!sc_expect_syn(s, t, SYN | ACK, iss, irs + 1) || !step_ok(s, PTCP_SYN_RECEIVED, fails0))
			goto out;
		s->snd_nxt = iss + 1;
		s->rcv_nxt = irs + 1;
		if (st == PTCP_SYN_RECEIVED) {
			ok = true;
			goto out;
		}
		INJECT(s, t += MS(10), .flags = ACK, .seq = irs + 1, .ack = iss + 1);
		sc_expect_nothing(s, t);
	} else {
		if (sc_open_active(s, t) != 0) {
			sc_fail(s, "ptcp_conn_open_active failed");
			goto out;
		}
		if (!sc_expect_syn(s, t, SYN, iss, 0) || !step_ok(s, PTCP_SYN_SENT, fails0))
			goto out;
		s->snd_nxt = iss + 1;
		if (st == PTCP_SYN_SENT) {
			ok = true;
			goto out;
		}
		s->rcv_nxt = irs + 1;
		if (st == PTCP_SYN_RECEIVED) {
			/* Crossing SYNs: RFC 9293 figure 8, line 3. */
			p = peer_syn(s, SYN, 0);
			sc_inject(s, t += MS(10), &p);
			ok = sc_expect_syn(s, t, SYN | ACK, iss, irs + 1) &&
			     step_ok(s, PTCP_SYN_RECEIVED, fails0);
			goto out;
		}
		p = peer_syn(s, SYN | ACK, iss + 1);
		sc_inject(s, t += MS(10), &p);
		EXPECT(s, t, .flags = ACK, .seq = iss + 1, .ack = irs + 1);
	}
	if (!step_ok(s, PTCP_ESTABLISHED, fails0))
		goto out;
	s->snd_una = iss + 1;
	if (st == PTCP_ESTABLISHED) {
		ok = true;
		goto out;
	}

	if (st == PTCP_CLOSE_WAIT || st == PTCP_LAST_ACK) {
		INJECT(s, t += MS(10), .flags = FIN | ACK, .seq = irs + 1, .ack = iss + 1);
		EXPECT(s, t, .flags = ACK, .seq = iss + 1, .ack = irs + 2);
		s->rcv_nxt = irs + 2;
		if (!step_ok(s, PTCP_CLOSE_WAIT, fails0))
			goto out;
		if (st == PTCP_CLOSE_WAIT) {
			ok = true;
			goto out;
		}
		sc_shutdown(s, t += MS(10));
		EXPECT(s, t, .flags = FIN | ACK, .seq = iss + 1, .ack = irs + 2);
		s->snd_nxt = iss + 2;
		ok = step_ok(s, PTCP_LAST_ACK, fails0);
		goto out;
	}

	/* FIN-WAIT-1 and what follows it. */
	sc_shutdown(s, t += MS(10));
	EXPECT(s, t, .flags = FIN | ACK, .seq = iss + 1, .ack = irs + 1);
	s->snd_nxt = iss + 2;
	if (!step_ok(s, PTCP_FIN_WAIT_1, fails0))
		goto out;
	if (st == PTCP_FIN_WAIT_1) {
		ok = true;
		goto out;
	}
	if (st == PTCP_CLOSING) {
		/* The peer's FIN crosses ours: it does not acknowledge it. */
		INJECT(s, t += MS(10), .flags = FIN | ACK, .seq = irs + 1, .ack = iss + 1);
		EXPECT(s, t, .flags = ACK, .seq = iss + 2, .ack = irs + 2);
		s->rcv_nxt = irs + 2;
		ok = step_ok(s, PTCP_CLOSING, fails0);
		goto out;
	}
	INJECT(s, t += MS(10), .flags = ACK, .seq = irs + 1, .ack = iss + 2);
	sc_expect_nothing(s, t);
	s->snd_una = iss + 2;
	if (!step_ok(s, PTCP_FIN_WAIT_2, fails0))
		goto out;
	if (st == PTCP_FIN_WAIT_2) {
		ok = true;
		goto out;
	}
	if (st == PTCP_TIME_WAIT) {
		INJECT(s, t += MS(10), .flags = FIN | ACK, .seq = irs + 1, .ack = iss + 2);
		EXPECT(s, t, .flags = ACK, .seq = iss + 2, .ack = irs + 2);
		s->rcv_nxt = irs + 2;
		ok = step_ok(s, PTCP_TIME_WAIT, fails0);
		goto out;
	}
	sc_fail(s, "no fixture for this state");
out:
	s->ctx = NULL;
	if (ok) {
		sc_events_clear(s);
		s->base = s->now;
		if (s->stack) {
			s->stack->base = s->now;
			for (size_t i = 0; i < s->stack->n_flows; i++)
				s->stack->flows[i]->base = s->now;
		}
	}
	if (!ok)
		s->broken = true;
	return ok;
}

struct script *sc_start(const struct ptcp_config *cfg, enum ptcp_state state)
{
	struct script *s = sc_new(cfg);

	if (!sc_goto(s, state)) {
		sc_finish(s);
		return NULL;
	}
	return s;
}

static void free_script(struct script *s)
{
	if (s->ev_overflow)
		sc_fail(s, "event log overflowed by %zu", s->ev_overflow);
	talloc_release(&s->alloc);
	free(s->q);
	free(s->ev);
	free(s);
}

void sc_finish(struct script *s)
{
	if (!s)
		return;
	flush_unexpected(s);
	if (s->stack)
		return; /* the table owns the connection: sc_stack_finish() */
	ptcp_conn_free(s->c);
	s->c = NULL;
	check_talloc(&s->alloc, &s->fails, s->file, s->line, s->ctx);
	free_script(s);
}

struct ptcp_stats sc_stats(const struct script *s)
{
	struct ptcp_stats st;

	ptcp_conn_stats(s->c, &st);
	return st;
}

/* ---- many connections in one table ------------------------------------ */

static void sk_fail(struct sc_stack *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sk_fail(struct sc_stack *k, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(&k->fails, k->file, k->line, NULL, fmt, ap);
	va_end(ap);
}

static double sk_rel(const struct sc_stack *k, ptcp_ts abs)
{
	return (double)(int64_t)(abs - k->base) / 1e9;
}

static int flow_index(const struct sc_stack *k, const struct script *s)
{
	for (size_t i = 0; i < k->n_flows; i++)
		if (k->flows[i] == s)
			return (int)i;
	return -1;
}

/* The flow of a connection: the one bound to it, else one without a
 * connection whose endpoints it has (then it is bound to it). */
static struct script *flow_of_conn(struct sc_stack *k, struct ptcp_conn *c)
{
	for (size_t i = 0; i < k->n_flows; i++)
		if (k->flows[i]->c == c)
			return k->flows[i];
	for (size_t i = 0; i < k->n_flows; i++) {
		struct script *s = k->flows[i];

		if (!s->c && ptcp_endpoint_equal(&s->local, ptcp_conn_local(c)) &&
		    ptcp_endpoint_equal(&s->remote, ptcp_conn_remote(c))) {
			s->c = c;
			return s;
		}
	}
	return NULL;
}

static void stack_event(void *user, struct ptcp_stack *st, const struct ptcp_stack_event *ev)
{
	struct sc_stack *k = user;
	struct script *s = flow_of_conn(k, ev->conn);

	(void)st;
	if (ev->type == PTCP_STACK_EV_CONN) {
		if (!s)
			sk_fail(k, "t=%.3f: an event of a connection that belongs to no flow",
				sk_rel(k, ev->now));
		else
			on_event(s, ev->conn, ev->ev);
		return;
	}
	if (k->n_ev == SC_MAX_STACK_EVENTS) {
		sk_fail(k, "too many table events");
		return;
	}
	k->ev[k->n_ev++] = (struct sc_stack_event){
		.type = ev->type, .conn = ev->conn, .listener = ev->listener,
		.flow = s ? flow_index(k, s) : -1,
	};
	if (ev->type == PTCP_STACK_EV_FREED && s)
		s->c = NULL;
}

static struct script *flow_of_segment(struct sc_stack *k, const struct ptcp_stack_tx *tx)
{
	for (size_t i = 0; i < k->n_flows; i++)
		if (ptcp_endpoint_equal(&k->flows[i]->local, &tx->src) &&
		    ptcp_endpoint_equal(&k->flows[i]->remote, &tx->dst))
			return k->flows[i];
	return NULL;
}

static void stack_drain(struct sc_stack *k)
{
	static uint8_t buf[SC_SEG_CAP];

	for (unsigned n = 0;; n++) {
		struct ptcp_stack_tx tx;
		struct script *s;
		struct sc_out *o;
		char a[48], b[48];
		int rv;

		if (n == 100000) {
			sk_fail(k, "t=%.3f: ptcp_stack_output does not stop emitting", sk_rel(k, k->now));
			return;
		}
		rv = ptcp_stack_output(k->st, buf, sizeof(buf), &tx, k->now);
		if (rv == 0)
			return;
		if (rv < 0) {
			sk_fail(k, "t=%.3f: ptcp_stack_output: %s", sk_rel(k, k->now), ptcp_strerror(rv));
			return;
		}
		s = flow_of_segment(k, &tx);
		if (k->n_order < SC_MAX_ORDER)
			k->order[k->n_order++] = s ? flow_index(k, s) : -1;
		if (!s) {
			sk_fail(k, "t=%.3f: a segment from %s to %s, which is no flow", sk_rel(k, k->now),
				ptcp_endpoint_format(&tx.src, a, sizeof(a)),
				ptcp_endpoint_format(&tx.dst, b, sizeof(b)));
			continue;
		}
		if (tx.conn && s->c && tx.conn != s->c)
			sc_fail(s, "t=%.3f: a segment of another connection on this flow", rel(s, k->now));
		if (s->q_len == SC_MAX_QUEUE) {
			sc_fail(s, "t=%.3f: more than %d segments emitted and not expected",
				rel(s, k->now), SC_MAX_QUEUE);
			s->q_len = 0;
		}
		o = &s->q[s->q_len];
		memcpy(o->buf, buf, (size_t)rv);
		o->len = (size_t)rv;
		o->info = tx.info;
		o->at = k->now;
		note_window(s, o);
		s->q_len++;
	}
}

static void flush_all(struct sc_stack *k)
{
	for (size_t i = 0; i < k->n_flows; i++)
		flush_unexpected(k->flows[i]);
}

static void sync_clocks(struct sc_stack *k)
{
	for (size_t i = 0; i < k->n_flows; i++)
		k->flows[i]->now = k->now;
}

static void stack_advance(struct sc_stack *k, ptcp_ts target)
{
	unsigned guard;

	if (target < k->now) {
		sk_fail(k, "script goes back in time: t=%.3f after t=%.3f", sk_rel(k, target),
			sk_rel(k, k->now));
		return;
	}
	for (guard = 0;; guard++) {
		ptcp_ts exp = ptcp_stack_expiry(k->st);

		if (exp > target)
			break;
		if (guard == 1000000) {
			sk_fail(k, "t=%.3f: the table's expiry does not move on", sk_rel(k, k->now));
			break;
		}
		if (exp < k->now) {
			sk_fail(k, "t=%.3f: the table's expiry %.3f lies in the past", sk_rel(k, k->now),
				sk_rel(k, exp));
			exp = k->now;
		}
		if (exp > k->now) {
			flush_all(k);
			k->now = exp;
			sync_clocks(k);
		}
		ptcp_stack_handle_expiry(k->st, k->now);
		stack_drain(k);
		if (ptcp_stack_expiry(k->st) <= k->now) {
			sk_fail(k, "t=%.3f: after handle_expiry the table's expiry is not after now",
				sk_rel(k, k->now));
			break;
		}
	}
	if (target > k->now) {
		flush_all(k);
		k->now = target;
	}
	sync_clocks(k);
}

void sc_stack_config(struct ptcp_stack_config *cfg)
{
	ptcp_stack_config_default(cfg);
	sc_config(&cfg->conn);
	for (int i = 0; i < 16; i++) {
		cfg->hash_key[i] = (uint8_t)(i + 1);
		cfg->isn_secret[i] = (uint8_t)(0x41 + i);
	}
}

struct sc_stack *sc_stack_new(const struct ptcp_stack_config *cfg)
{
	struct sc_stack *k = calloc(1, sizeof(*k));
	int rv;

	if (!k)
		abort();
	if (cfg)
		k->cfg = *cfg;
	else
		sc_stack_config(&k->cfg);
	talloc_init(&k->alloc);
	k->cfg.alloc = talloc_iface(&k->alloc);
	k->cfg.on_event = stack_event;
	k->cfg.user = k;
	k->base = k->now = SC_EPOCH;
	rv = ptcp_stack_new(&k->st, &k->cfg);
	if (rv != 0) {
		fprintf(stderr, "ptcp_stack_new: %s\n", ptcp_strerror(rv));
		abort();
	}
	return k;
}

struct script *sc_stack_flow(struct sc_stack *k, const struct ptcp_endpoint *local,
                             const struct ptcp_endpoint *remote, const struct ptcp_config *cfg)
{
	struct script *s = alloc_script(cfg ? cfg : &k->cfg.conn);

	if (k->n_flows == SC_MAX_FLOWS) {
		fprintf(stderr, "more than %d flows\n", SC_MAX_FLOWS);
		abort();
	}
	s->stack = k;
	s->local = *local;
	s->remote = *remote;
	s->base = k->base;
	s->now = k->now;
	k->flows[k->n_flows++] = s;
	return s;
}

void sc_stack_expect_nothing(struct sc_stack *k, uint64_t t)
{
	stack_advance(k, k->base + t);
	flush_all(k);
}

void sc_stack_drain(struct sc_stack *k)
{
	stack_drain(k);
}

void sc_stack_advance(struct sc_stack *k, uint64_t t)
{
	stack_advance(k, k->base + t);
}

const struct sc_stack_event *sc_stack_event(struct sc_stack *k, enum ptcp_stack_event_type type,
                                            const struct ptcp_conn *conn)
{
	for (size_t i = 0; i < k->n_ev; i++) {
		struct sc_stack_event *e = &k->ev[i];

		if (!e->seen && e->type == type && (!conn || e->conn == conn)) {
			e->seen = true;
			return e;
		}
	}
	return NULL;
}

struct ptcp_stack_stats sc_stack_stats(const struct sc_stack *k)
{
	struct ptcp_stack_stats st;

	ptcp_stack_stats(k->st, &st);
	return st;
}

void sc_stack_finish(struct sc_stack *k)
{
	if (!k)
		return;
	flush_all(k);
	for (size_t i = 0; i < k->n_flows; i++)
		free_script(k->flows[i]);
	k->n_flows = 0;
	ptcp_stack_free(k->st);
	check_talloc(&k->alloc, &k->fails, k->file, k->line, NULL);
	talloc_release(&k->alloc);
	free(k);
}
