/* The connection table's timer heap and bookkeeping, checked against a
 * scan of every connection: a seeded property test that drives two tables
 * (A dials B, B dials A, simultaneous opens, data, closes, aborts,
 * releases, a lossy reordering wire, time steps) and after every step
 * compares the table's next deadline with the minimum over its
 * connections, and its counters with what the scan finds; then a scale
 * check with 5,000 connections in one table, where handling the expiry
 * must visit only the connections that are due. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "netsim.h"
#include "stack.h"

#define MS_ ((uint64_t)PTCP_NS_PER_MS)
#define SEC_ ((uint64_t)PTCP_NS_PER_S)
#define OBUF 2048
#define WIRE_MAX 4096
#define OWNED_MAX 256

struct wire_seg {
	int to;                     /* 0 = table A, 1 = table B */
	struct ptcp_endpoint src, dst;
	size_t len;
	uint8_t buf[OBUF];
};

struct side {
	struct ptcp_stack *st;
	struct netsim_alloc alloc;
	struct ptcp_listener *lst;
	struct ptcp_conn *owned[OWNED_MAX]; /* connections the test may use */
	size_t n_owned;
	struct ptcp_endpoint addr;
};

struct world {
	struct side side[2];
	struct wire_seg *wire;
	size_t n_wire;
	struct netsim_rng rng;
	ptcp_ts now;
	bool orphans;               /* the tables have an orphan timeout */
	uint64_t steps, checks, delivered, freed_events;
	bool broken;
};

static void on_stack_event(void *user, struct ptcp_stack *st, const struct ptcp_stack_event *ev)
{
	struct world *w = user;

	(void)st;
	if (ev->type == PTCP_STACK_EV_FREED)
		w->freed_events++;
}

static void side_init(struct world *w, int i, bool orphans)
{
	struct side *s = &w->side[i];
	struct ptcp_stack_config cfg;
	struct ptcp_endpoint any = { .family = PTCP_AF_INET, .port = i ? 5000 : 4000 };

	ptcp_stack_config_default(&cfg);
	cfg.alloc = netsim_alloc_iface(&s->alloc);
	cfg.on_event = on_stack_event;
	cfg.user = w;
	cfg.conn.sndbuf = cfg.conn.rcvbuf = 4096;
	cfg.conn.msl = SEC_;
	cfg.conn.rto_min = 200 * MS_;
	cfg.conn.syn_retries = 3;
	cfg.conn.data_retries = 4;
	cfg.max_conns = 64;
	cfg.orphan_timeout = orphans ? 5 * SEC_ : 0;
	for (int k = 0; k < 16; k++) {
		cfg.hash_key[k] = (uint8_t)(k * 7 + i);
		cfg.isn_secret[k] = (uint8_t)(k * 13 + i);
	}
	CHECK_INT(ptcp_stack_new(&s->st, &cfg), 0);
	ptcp_endpoint_ipv4(&s->addr, i ? 0x0a000002 : 0x0a000001, 0);
	CHECK_INT(ptcp_stack_listen(s->st, &s->lst, &any, 8, NULL, NULL), 0);
}

static void drain(struct world *w, int i)
{
	struct side *s = &w->side[i];

	for (unsigned n = 0; n < 100000; n++) {
		struct wire_seg *g;
		struct ptcp_stack_tx tx;
		uint8_t buf[OBUF];
		int rv = ptcp_stack_output(s->st, buf, sizeof(buf), &tx, w->now);

		if (rv <= 0) {
			CHECK_INT(rv, 0);
			return;
		}
		if (w->n_wire == WIRE_MAX || netsim_rng_below(&w->rng, 10) == 0)
			continue; /* lost */
		g = &w->wire[w->n_wire++];
		g->to = !i;
		g->src = tx.src;
		g->dst = tx.dst;
		g->len = (size_t)rv;
		memcpy(g->buf, buf, (size_t)rv);
	}
	check_fail(__FILE__, __LINE__, "output does not stop");
}

/* The scan: every connection's deadline against the heap's, and the
 * counters against what is there. */
static void check_side(struct world *w, int i, bool orphans)
{
	struct side *s = &w->side[i];
	struct ptcp_stack_stats st;
	uint64_t by_state[PTCP_TIME_WAIT + 1] = { 0 }, n = 0;
	ptcp_ts min = PTCP_TS_NEVER;
	struct ptcp_conn *c;
	const char *why = "counters";

	w->checks++;
	ptcp_stack_stats(s->st, &st);
	for (c = ptcp_stack_next(s->st, NULL); c; c = ptcp_stack_next(s->st, c)) {
		ptcp_ts own = ptcp_conn_expiry(c), kept = ptcp_stack_conn_expiry(s->st, c);

		n++;
		by_state[ptcp_conn_state(c)]++;
		why = "a connection's deadline in the heap is not its own";
		/* The orphan timeout may only bring a deadline forward. */
		if (orphans ? kept > own : kept != own)
			goto bad;
		if (kept < min)
			min = kept;
		why = "ptcp_stack_find";
		if (ptcp_stack_find(s->st, ptcp_conn_local(c), ptcp_conn_remote(c)) != c)
			goto bad;
		why = "counters";
		if (n > st.conns)
			break;
	}
	if (ptcp_stack_expiry(s->st) != min || n != st.conns ||
	    memcmp(by_state, st.by_state, sizeof(by_state)) != 0 ||
	    s->alloc.live_bytes != st.mem_conns + st.mem_table)
		goto bad;
	if (ptcp_stack_expiry(s->st) < w->now)
		goto bad;
	return;
bad:
	if (!w->broken)
		check_fail(__FILE__, __LINE__,
			   "step %" PRIu64 ", table %c: %s; expiry %" PRIu64 " scan %" PRIu64
			   ", conns %" PRIu64 " scan %" PRIu64 ", live %zu accounted %" PRIu64,
			   w->steps, 'A' + i, why, ptcp_stack_expiry(s->st), min, st.conns, n,
			   s->alloc.live_bytes, st.mem_conns + st.mem_table);
	w->broken = true;
}

static void own(struct side *s, struct ptcp_conn *c)
{
	if (s->n_owned < OWNED_MAX)
		s->owned[s->n_owned++] = c;
	else
		CHECK_INT(ptcp_stack_release(s->st, c, 0), 0);
}

static struct ptcp_conn *pick(struct world *w, struct side *s, size_t *idx)
{
	if (!s->n_owned)
		return NULL;
	*idx = (size_t)netsim_rng_below(&w->rng, s->n_owned);
	return s->owned[*idx];
}

static void step(struct world *w)
{
	int i = (int)netsim_rng_below(&w->rng, 2);
	struct side *s = &w->side[i], *o = &w->side[!i];
	struct ptcp_conn *c;
	uint8_t data[3000];
	size_t idx;

	switch (netsim_rng_below(&w->rng, 12)) {
	case 0: { /* connect, to the peer's listener or as a simultaneous open */
		struct ptcp_endpoint l = s->addr, r = o->addr;
		struct ptcp_open op = { .isn = (ptcp_seq)netsim_rng_next(&w->rng) };

		l.port = (uint16_t)(10000 + netsim_rng_below(&w->rng, 40));
		r.port = i ? 4000 : 5000;
		if (netsim_rng_below(&w->rng, 3) == 0) {
			struct ptcp_open po = { .isn = (ptcp_seq)netsim_rng_next(&w->rng),
			                        .has_peer_isn = true, .peer_isn = op.isn };

			r.port = (uint16_t)(20000 + netsim_rng_below(&w->rng, 10));
			op.has_peer_isn = true;
			op.peer_isn = po.isn;
			if (ptcp_stack_connect(o->st, &c, &r, &l, &po, NULL, NULL, w->now) == 0)
				own(o, c);
		}
		if (ptcp_stack_connect(s->st, &c, &l, &r, &op, NULL, NULL, w->now) == 0)
			own(s, c);
		break;
	}
	case 1:
		while (ptcp_stack_accept(s->st, s->lst, &c, NULL) == 0)
			own(s, c);
		break;
	case 2:
	case 3:
		if ((c = pick(w, s, &idx))) {
			size_t n = (size_t)netsim_rng_range(&w->rng, 1, sizeof(data));

			memset(data, 'x', n);
			ptcp_conn_send(c, data, n, w->now);
			CHECK_INT(ptcp_stack_touch(s->st, c, w->now), 0);
		}
		break;
	case 4:
		if ((c = pick(w, s, &idx))) {
			ptcp_conn_recv(c, data, sizeof(data), w->now);
			CHECK_INT(ptcp_stack_touch(s->st, c, w->now), 0);
		}
		break;
	case 5:
		if ((c = pick(w, s, &idx)) && netsim_rng_below(&w->rng, 3) == 0) {
			ptcp_conn_shutdown(c, w->now);
			CHECK_INT(ptcp_stack_touch(s->st, c, w->now), 0);
		}
		break;
	case 6:
		if ((c = pick(w, s, &idx)) && netsim_rng_below(&w->rng, 8) == 0) {
			ptcp_conn_abort(c, w->now);
			CHECK_INT(ptcp_stack_touch(s->st, c, w->now), 0);
		}
		break;
	case 7:
		if ((c = pick(w, s, &idx)) &&
		    (ptcp_conn_state(c) == PTCP_CLOSED || netsim_rng_below(&w->rng, 2) == 0)) {
			CHECK_INT(ptcp_stack_release(s->st, c, w->now), 0);
			s->owned[idx] = s->owned[--s->n_owned];
		}
		break;
	case 8:
	case 9:
	case 10:
		/* Deliver a random segment in flight (reordering). */
		for (int k = 0; k < 4 && w->n_wire; k++) {
			size_t j = (size_t)netsim_rng_below(&w->rng, w->n_wire);
			struct wire_seg *g = &w->wire[j];

			ptcp_stack_input(w->side[g->to].st, g->buf, g->len, &g->src, &g->dst, w->now);
			w->delivered++;
			if (netsim_rng_below(&w->rng, 2))
				check_side(w, g->to, w->orphans);
			*g = w->wire[--w->n_wire];
		}
		break;
	default: { /* time moves on; the timers that fell due run */
		uint64_t d = netsim_rng_below(&w->rng, 4) == 0 ? netsim_rng_below(&w->rng, 3 * SEC_)
		                                               : netsim_rng_below(&w->rng, 50 * MS_);

		w->now += d;
		for (int k = 0; k < 2; k++)
			if (ptcp_stack_expiry(w->side[k].st) <= w->now)
				CHECK_INT(ptcp_stack_handle_expiry(w->side[k].st, w->now), 0);
		break;
	}
	}
	drain(w, 0);
	drain(w, 1);
}

static void run_world(uint64_t seed, unsigned steps, bool orphans)
{
	struct world *w = calloc(1, sizeof(*w));

	if (!w)
		abort();
	w->wire = calloc(WIRE_MAX, sizeof(*w->wire));
	if (!w->wire)
		abort();
	netsim_rng_seed(&w->rng, seed);
	w->now = 1000 * SEC_;
	w->orphans = orphans;
	side_init(w, 0, orphans);
	side_init(w, 1, orphans);
	for (w->steps = 0; w->steps < steps && !w->broken; w->steps++) {
		step(w);
		check_side(w, 0, orphans);
		check_side(w, 1, orphans);
		CHECK(!check_failed() || (w->broken = true));
	}
	for (int i = 0; i < 2; i++) {
		struct side *s = &w->side[i];
		struct ptcp_conn *c;

		while (ptcp_stack_accept(s->st, s->lst, &c, NULL) == 0)
			own(s, c);
		/* Everything goes. With the orphan timeout every connection
		 * must then end by its own timers, in silence; without it a
		 * released one in FIN-WAIT-2 may stay (the table frees it). */
		if (w->orphans)
			while (s->n_owned)
				CHECK_INT(ptcp_stack_release(s->st, s->owned[--s->n_owned], w->now), 0);
	}
	for (int k = 0; k < 5000 && w->orphans && !w->broken; k++) {
		ptcp_ts t = ptcp_ts_min(ptcp_stack_expiry(w->side[0].st), ptcp_stack_expiry(w->side[1].st));
		struct ptcp_stack_stats a, b;

		ptcp_stack_stats(w->side[0].st, &a);
		ptcp_stack_stats(w->side[1].st, &b);
		if (a.conns + b.conns == 0)
			break;
		w->n_wire = 0;
		if (t == PTCP_TS_NEVER) {
			check_fail(__FILE__, __LINE__, "seed %" PRIu64 ": %" PRIu64 "+%" PRIu64
				   " released connections without a deadline", seed, a.conns, b.conns);
			break;
		}
		w->now = t;
		for (int i = 0; i < 2; i++) {
			CHECK_INT(ptcp_stack_handle_expiry(w->side[i].st, w->now), 0);
			drain(w, i);
			check_side(w, i, w->orphans);
		}
	}
	for (int i = 0; i < 2; i++) {
		struct ptcp_stack_stats st;

		ptcp_stack_stats(w->side[i].st, &st);
		if (w->orphans) {
			CHECK_EQ(st.conns, 0);
			CHECK_EQ(st.mem_conns, 0);
			CHECK_EQ(st.created, st.freed);
		}
		ptcp_stack_free(w->side[i].st);
		CHECK_EQ(w->side[i].alloc.live_bytes, 0);
		CHECK_EQ(w->side[i].alloc.live_blocks, 0);
		CHECK_EQ(w->side[i].alloc.bad_frees, 0);
	}
	CHECK(w->broken || w->delivered > steps / 10);
	free(w->wire);
	free(w);
}

/* 120 seeds of 1,500 steps, scanned after every step and in the middle of
 * deliveries. With orphan timeouts off the heap's deadline of each
 * connection is exactly its own. */
static void test_heap_matches_scan(void)
{
	for (uint64_t seed = 1; seed <= 120; seed++)
		run_world(seed, 1500, false);
}

/* The same with orphan timeouts, which may bring deadlines forward; and
 * released connections that nobody closes properly must still end. */
static void test_heap_with_orphans(void)
{
	for (uint64_t seed = 1000; seed < 1060; seed++)
		run_world(seed, 1500, true);
}

/* ---- scale ------------------------------------------------------------------ */

#define SCALE_CONNS 5000

/* 5,000 connections opened 1 ms apart, each with its SYN's retransmission
 * timer 1 s later: at 1 s + 99.5 ms exactly the first 100 are due, and
 * handling the expiry visits those and no other. The memory the table
 * accounts is 5,000 times one connection's, and what the allocator holds
 * is that plus the table's own bookkeeping. */
static void test_scale(void)
{
	struct netsim_alloc alloc = { 0 };
	struct ptcp_stack_config cfg;
	struct ptcp_stack_stats st;
	struct ptcp_stack *stk;
	struct ptcp_endpoint l, r;
	struct ptcp_conn **conns = calloc(SCALE_CONNS, sizeof(*conns));
	struct ptcp_stack_tx tx;
	uint8_t buf[OBUF];
	ptcp_ts t0 = 1000 * SEC_;
	uint64_t one = 0, syns = 0, visits;
	unsigned i;

	if (!conns)
		abort();
	ptcp_stack_config_default(&cfg);
	cfg.alloc = netsim_alloc_iface(&alloc);
	cfg.conn.sndbuf = cfg.conn.rcvbuf = 2048;
	cfg.conn.rto_initial = SEC_;
	cfg.max_conns = SCALE_CONNS;
	CHECK_INT(ptcp_stack_new(&stk, &cfg), 0);
	ptcp_endpoint_ipv4(&l, 0x0a000001, 4000);
	for (i = 0; i < SCALE_CONNS; i++) {
		ptcp_ts now = t0 + i * MS_;

		ptcp_endpoint_ipv4(&r, 0x0a010000 + i / 1000, (uint16_t)(10000 + i % 1000));
		CHECK_INT(ptcp_stack_connect(stk, &conns[i], &l, &r, &(struct ptcp_open){ .isn = i },
		                             NULL, NULL, now), 0);
		while (ptcp_stack_output(stk, buf, sizeof(buf), &tx, now) > 0)
			syns++;
		if (i == 0) {
			ptcp_stack_stats(stk, &st);
			one = st.mem_conns;
		}
	}
	CHECK_EQ(syns, SCALE_CONNS);
	ptcp_endpoint_ipv4(&r, 0x0a010000, 10000);
	CHECK_INT(ptcp_stack_connect(stk, &(struct ptcp_conn *){ NULL }, &l, &r, NULL, NULL, NULL, t0),
	          PTCP_ERR_EXISTS);
	r.port = 9999;
	CHECK_INT(ptcp_stack_connect(stk, &(struct ptcp_conn *){ NULL }, &l, &r, NULL, NULL, NULL, t0),
	          PTCP_ERR_CONN_LIMIT);

	ptcp_stack_stats(stk, &st);
	CHECK_EQ(st.conns, SCALE_CONNS);
	CHECK_EQ(st.by_state[PTCP_SYN_SENT], SCALE_CONNS);
	CHECK_EQ(st.mem_conns, SCALE_CONNS * one);
	/* Both buffers, the connection's state and its 68 segment records
	 * (32 bytes each, with the delivery rate fields): under 5.25 KiB
	 * beside the buffers (5136 bytes with the limit on ACKs answering
	 * discarded segments: its interval, counter and last time). */
	CHECK(one > 2 * 2048 && one < 2 * 2048 + 5376);
	CHECK_EQ(alloc.live_bytes, st.mem_conns + st.mem_table);
	/* The bookkeeping is small beside the connections: under 200 bytes
	 * each. */
	CHECK(st.mem_table < SCALE_CONNS * 200);
	CHECK_EQ(ptcp_stack_expiry(stk), t0 + SEC_);
	for (i = 0; i < SCALE_CONNS; i += 997)
		CHECK(ptcp_stack_find(stk, ptcp_conn_local(conns[i]), ptcp_conn_remote(conns[i])) ==
		      conns[i]);

	visits = st.expiry_visits;
	CHECK_INT(ptcp_stack_handle_expiry(stk, t0 + SEC_ + 99 * MS_ + MS_ / 2), 0);
	ptcp_stack_stats(stk, &st);
	CHECK_EQ(st.expiry_visits - visits, 100);
	syns = 0;
	while (ptcp_stack_output(stk, buf, sizeof(buf), &tx, t0 + SEC_ + 100 * MS_) > 0)
		syns++;
	CHECK_EQ(syns, 100);
	/* The next deadline is the 101st connection's first one. */
	CHECK_EQ(ptcp_stack_expiry(stk), t0 + SEC_ + 100 * MS_);
	/* Nothing is due before it: a call visits nobody. */
	visits = st.expiry_visits;
	CHECK_INT(ptcp_stack_handle_expiry(stk, t0 + SEC_ + 100 * MS_ - 1), 0);
	ptcp_stack_stats(stk, &st);
	CHECK_EQ(st.expiry_visits, visits);

	/* Releasing them all (SYN-SENT: closed at once) frees everything. */
	for (i = 0; i < SCALE_CONNS; i++)
		CHECK_INT(ptcp_stack_release(stk, conns[i], t0 + 2 * SEC_), 0);
	while (ptcp_stack_output(stk, buf, sizeof(buf), &tx, t0 + 2 * SEC_) > 0)
		;
	ptcp_stack_stats(stk, &st);
	CHECK_EQ(st.conns, 0);
	CHECK_EQ(st.mem_conns, 0);
	CHECK_EQ(st.freed, SCALE_CONNS);
	CHECK_EQ(ptcp_stack_expiry(stk), PTCP_TS_NEVER);
	ptcp_stack_free(stk);
	CHECK_EQ(alloc.live_bytes, 0);
	CHECK_EQ(alloc.bad_frees, 0);
	free(conns);
}

int main(void)
{
	RUN(test_heap_matches_scan);
	RUN(test_heap_with_orphans);
	RUN(test_scale);
	return check_summary();
}
