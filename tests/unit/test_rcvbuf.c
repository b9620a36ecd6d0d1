/* Receive buffer with out-of-order islands: hand-worked cases, every
 * combination of three small segments at every head of a 7-byte ring
 * against a bitmap model, and seeded random reassembly of a long stream. */
#include <stdbool.h>
#include <string.h>

#include "check.h"
#include "rcvbuf.h"

/* The test keeps "nxt", the absolute stream position of RCV.NXT, and feeds
 * stream bytes from nxt + off. */
static size_t put(struct ptcp_rcvbuf *rb, size_t nxt, size_t off, size_t n)
{
	uint8_t data[4096];

	check_fill_stream(data, nxt + off, n);
	return ptcp_rcvbuf_insert(rb, off, data, n);
}

/* Reads n bytes and checks they are stream bytes from position from. */
static size_t get_check(struct ptcp_rcvbuf *rb, size_t from, size_t n)
{
	uint8_t out[4096], exp[4096];
	size_t got = ptcp_rcvbuf_read(rb, out, n);

	check_fill_stream(exp, from, got);
	CHECK(memcmp(out, exp, got) == 0);
	return got;
}

static bool has_range(const struct ptcp_rcvbuf *rb, unsigned i, uint32_t off, uint32_t len)
{
	return i < rb->n_ranges && rb->ranges[i].off == off && rb->ranges[i].len == len;
}

static void test_in_order(void)
{
	uint8_t mem[32];
	struct ptcp_rcvbuf rb;
	size_t nxt = 0;

	ptcp_rcvbuf_init(&rb, mem, sizeof(mem));
	CHECK_EQ(ptcp_rcvbuf_window(&rb), 32);
	CHECK_EQ(put(&rb, nxt, 0, 0), 0);
	CHECK_EQ(put(&rb, nxt, 0, 5), 5);
	nxt += 5;
	CHECK_EQ(rb.readable, 5);
	CHECK_EQ(ptcp_rcvbuf_window(&rb), 27);
	CHECK_EQ(rb.n_ranges, 0);
	CHECK_EQ(ptcp_rcvbuf_ooo_bytes(&rb), 0);
	CHECK_EQ(put(&rb, nxt, 0, 7), 7);
	nxt += 7;
	CHECK_EQ(get_check(&rb, 0, 3), 3);
	CHECK_EQ(ptcp_rcvbuf_window(&rb), 23);
	CHECK_EQ(get_check(&rb, 3, 100), 9);
	CHECK_EQ(ptcp_rcvbuf_window(&rb), 32);
	CHECK_EQ(get_check(&rb, 12, 1), 0);
}

static void test_island_then_fill(void)
{
	uint8_t mem[32];
	struct ptcp_rcvbuf rb;

	ptcp_rcvbuf_init(&rb, mem, sizeof(mem));
	CHECK_EQ(put(&rb, 0, 10, 5), 0);
	CHECK(has_range(&rb, 0, 10, 5));
	CHECK_EQ(rb.n_ranges, 1);
	CHECK_EQ(ptcp_rcvbuf_ooo_bytes(&rb), 5);
	CHECK_EQ(rb.readable, 0);
	/* The window is unchanged by out-of-order data: it is still free. */
	CHECK_EQ(ptcp_rcvbuf_window(&rb), 32);
	/* [0, 10) fills the gap exactly: 15 bytes become in order. */
	CHECK_EQ(put(&rb, 0, 0, 10), 15);
	CHECK_EQ(rb.readable, 15);
	CHECK_EQ(rb.n_ranges, 0);
	CHECK_EQ(ptcp_rcvbuf_ooo_bytes(&rb), 0);
	CHECK_EQ(get_check(&rb, 0, 15), 15);
}

static void test_merge_and_recency(void)
{
	uint8_t mem[64];
	struct ptcp_rcvbuf rb;

	ptcp_rcvbuf_init(&rb, mem, sizeof(mem));
	CHECK_EQ(put(&rb, 0, 10, 5), 0);  /* [10,15) */
	CHECK_EQ(put(&rb, 0, 13, 6), 0);  /* overlaps: [10,19) */
	CHECK_EQ(rb.n_ranges, 1);
	CHECK(has_range(&rb, 0, 10, 9));
	CHECK_EQ(put(&rb, 0, 19, 2), 0);  /* adjacent on the right: [10,21) */
	CHECK(has_range(&rb, 0, 10, 11));
	CHECK_EQ(put(&rb, 0, 8, 2), 0);   /* adjacent on the left: [8,21) */
	CHECK(has_range(&rb, 0, 8, 13));
	CHECK_EQ(rb.n_ranges, 1);
	CHECK_EQ(put(&rb, 0, 3, 3), 0);   /* separate: [3,6) goes first */
	CHECK_EQ(rb.n_ranges, 2);
	CHECK(has_range(&rb, 0, 3, 3));
	CHECK(has_range(&rb, 1, 8, 13));
	CHECK_EQ(put(&rb, 0, 30, 1), 0);  /* [30,31) */
	CHECK(has_range(&rb, 0, 30, 1));
	CHECK(has_range(&rb, 1, 3, 3));
	CHECK(has_range(&rb, 2, 8, 13));
	/* A duplicate inside [8,21): RFC 2018 section 4 wants the block
	 * holding the segment just received first. */
	CHECK_EQ(put(&rb, 0, 12, 4), 0);
	CHECK(has_range(&rb, 0, 8, 13));
	CHECK(has_range(&rb, 1, 30, 1));
	CHECK(has_range(&rb, 2, 3, 3));
	/* [6,8) bridges [3,6) and [8,21) into [3,21), which goes first. */
	CHECK_EQ(put(&rb, 0, 6, 2), 0);
	CHECK_EQ(rb.n_ranges, 2);
	CHECK(has_range(&rb, 0, 3, 18));
	CHECK(has_range(&rb, 1, 30, 1));
	/* One segment spanning both islands and the gap between them. */
	CHECK_EQ(put(&rb, 0, 2, 40), 0);
	CHECK_EQ(rb.n_ranges, 1);
	CHECK(has_range(&rb, 0, 2, 40));
	CHECK_EQ(ptcp_rcvbuf_ooo_bytes(&rb), 40);
	CHECK_EQ(put(&rb, 0, 0, 2), 42);
	CHECK_EQ(get_check(&rb, 0, 64), 42);
}

static void test_gap_fill_rebases(void)
{
	uint8_t mem[64];
	struct ptcp_rcvbuf rb;
	size_t nxt = 0;

	ptcp_rcvbuf_init(&rb, mem, sizeof(mem));
	CHECK_EQ(put(&rb, nxt, 25, 3), 0);
	CHECK_EQ(put(&rb, nxt, 5, 5), 0);
	CHECK_EQ(put(&rb, nxt, 15, 5), 0);
	/* recency: [15,20), [5,10), [25,28) */
	CHECK_EQ(put(&rb, nxt, 0, 5), 10);
	nxt += 10;
	CHECK_EQ(rb.readable, 10);
	CHECK_EQ(rb.n_ranges, 2);
	CHECK(has_range(&rb, 0, 5, 5));   /* was [15,20) */
	CHECK(has_range(&rb, 1, 15, 3));  /* was [25,28) */
	CHECK_EQ(ptcp_rcvbuf_window(&rb), 54);
	/* [0,7) overlaps [5,10) and ends short of [15,18). */
	CHECK_EQ(put(&rb, nxt, 0, 7), 10);
	nxt += 10;
	CHECK_EQ(rb.n_ranges, 1);
	CHECK(has_range(&rb, 0, 5, 3));
	/* [0,5) is adjacent to [5,8): both are absorbed. */
	CHECK_EQ(put(&rb, nxt, 0, 5), 8);
	nxt += 8;
	CHECK_EQ(rb.n_ranges, 0);
	CHECK_EQ(rb.readable, 28);
	CHECK_EQ(get_check(&rb, 0, 64), 28);
	CHECK_EQ(nxt, 28);
}

static void test_window_truncation(void)
{
	uint8_t mem[16 + 8];
	struct ptcp_rcvbuf rb;
	size_t nxt = 0, i;
	bool guard_ok = true;

	memset(mem, 0xa5, sizeof(mem));
	ptcp_rcvbuf_init(&rb, mem, 16);
	/* Only [10,16) of [10,20) fits. */
	CHECK_EQ(put(&rb, nxt, 10, 10), 0);
	CHECK(has_range(&rb, 0, 10, 6));
	/* Entirely beyond the window, or starting at its right edge. */
	CHECK_EQ(put(&rb, nxt, 16, 4), 0);
	CHECK_EQ(put(&rb, nxt, 1000, 4), 0);
	CHECK_EQ(rb.n_ranges, 1);
	CHECK_EQ(put(&rb, nxt, 0, 4), 4);
	nxt += 4;
	CHECK_EQ(ptcp_rcvbuf_window(&rb), 12);
	CHECK(has_range(&rb, 0, 6, 6));
	/* [0,20) is cut to the window of 12 and absorbs the island. */
	CHECK_EQ(put(&rb, nxt, 0, 20), 12);
	nxt += 12;
	CHECK_EQ(ptcp_rcvbuf_window(&rb), 0);
	CHECK_EQ(put(&rb, nxt, 0, 1), 0);
	for (i = 16; i < sizeof(mem); i++)
		guard_ok = guard_ok && mem[i] == 0xa5;
	CHECK(guard_ok);
	CHECK_EQ(get_check(&rb, 0, 5), 5);
	/* Reading opens the window again; the next bytes wrap around. */
	CHECK_EQ(ptcp_rcvbuf_window(&rb), 5);
	CHECK_EQ(put(&rb, nxt, 2, 9), 0);
	CHECK(has_range(&rb, 0, 2, 3));
	CHECK_EQ(put(&rb, nxt, 0, 2), 5);
	nxt += 5;
	CHECK_EQ(get_check(&rb, 5, 16), 16);
	for (i = 16; i < sizeof(mem); i++)
		guard_ok = guard_ok && mem[i] == 0xa5;
	CHECK(guard_ok);
}

/* The table's limit, whatever its size: MAX one-byte islands at 2, 4, ...,
 * 2·MAX fill it; F is past them all. */
#define MAX PTCP_RCVBUF_MAX_RANGES
#define F (2 * MAX + 8)

static void test_table_full(void)
{
	static uint8_t mem[4 * MAX + 64];
	struct ptcp_rcvbuf rb;
	unsigned i;
	size_t nxt = 0;

	ptcp_rcvbuf_init(&rb, mem, sizeof(mem));
	CHECK_EQ(rb.max_ranges, MAX);
	for (i = 1; i <= MAX; i++)
		CHECK_EQ(put(&rb, nxt, 2 * i, 1), 0);
	CHECK_EQ(rb.n_ranges, MAX);
	CHECK(has_range(&rb, 0, 2 * MAX, 1));
	/* No slot for [F,F+5): dropped. */
	CHECK_EQ(put(&rb, nxt, F, 5), 0);
	CHECK_EQ(rb.n_ranges, MAX);
	CHECK_EQ(ptcp_rcvbuf_ooo_bytes(&rb), MAX);
	CHECK(has_range(&rb, 0, 2 * MAX, 1));
	/* But a segment that merges is kept: it extends the last island. */
	CHECK_EQ(put(&rb, nxt, 2 * MAX + 1, 2), 0);
	CHECK(has_range(&rb, 0, 2 * MAX, 3));
	CHECK_EQ(rb.n_ranges, MAX);
	/* [3,4) joins [2,3) and [4,5): one slot is freed. */
	CHECK_EQ(put(&rb, nxt, 3, 1), 0);
	CHECK_EQ(rb.n_ranges, MAX - 1);
	CHECK(has_range(&rb, 0, 2, 3));
	CHECK_EQ(put(&rb, nxt, F, 5), 0);
	CHECK(has_range(&rb, 0, F, 5));
	CHECK_EQ(rb.n_ranges, MAX);
	/* In-order data needs no slot even with a full table: [0,1) is
	 * separated from [2,5) by the byte at 1. */
	CHECK_EQ(put(&rb, nxt, F + 7, 1), 0); /* dropped */
	CHECK_EQ(put(&rb, nxt, 0, 1), 1);
	nxt += 1;
	CHECK_EQ(rb.n_ranges, MAX);
	CHECK(has_range(&rb, 0, F - 1, 5)); /* re-based by 1 */
	/* Fill everything from RCV.NXT to F + 4 in one segment. */
	CHECK_EQ(put(&rb, nxt, 0, F + 4), F + 4);
	nxt += F + 4;
	CHECK_EQ(rb.n_ranges, 0);
	CHECK_EQ(get_check(&rb, 0, sizeof(mem)), F + 5);
}

/* A flight with a loss in every twentieth segment (5% random loss, evenly
 * spread) over a 4 MiB window: every segment that arrives is kept until
 * the table's limit, one island per hole, so the sender sees only the
 * real losses. With the 16 islands the table once had, a BBR sender's
 * flight at 5% loss lost every segment past the 16th hole at the
 * receiver. */
static void test_lossy_flight_is_held(void)
{
	enum { SEG = 1448, EVERY = 20, HOLES = 120 };
	static uint8_t mem[4 << 20];
	struct ptcp_rcvbuf rb;
	size_t nxt = 0, held = 0;
	unsigned i;

	ptcp_rcvbuf_init(&rb, mem, sizeof(mem));
	for (i = 0; i < HOLES * EVERY; i++) {
		if (i % EVERY == 0)
			continue; /* lost */
		CHECK_EQ(put(&rb, nxt, (size_t)i * SEG, SEG), 0);
		held += SEG;
	}
	CHECK_EQ(rb.n_ranges, HOLES);
	CHECK_EQ(ptcp_rcvbuf_ooo_bytes(&rb), held);
	/* The retransmissions fill the holes in order: all of it readable. */
	for (i = 0; i < HOLES * EVERY; i += EVERY) {
		size_t adv = put(&rb, nxt, (size_t)i * SEG - nxt, SEG);

		CHECK_EQ(adv, (size_t)EVERY * SEG);
		nxt += adv;
	}
	CHECK_EQ(rb.n_ranges, 0);
	CHECK_EQ(rb.readable, (size_t)HOLES * EVERY * SEG);
}

/* A bitmap reference model of the window: have[i] for the byte i after
 * RCV.NXT, stamp[i] the time of the last insert that reached the island
 * holding it (for the recency order). The table never fills here. */
#define SMALL_CAP 7

struct model {
	bool have[SMALL_CAP];
	unsigned stamp[SMALL_CAP];
	size_t readable;
};

static size_t model_insert(struct model *m, size_t off, size_t n, unsigned t)
{
	size_t win = SMALL_CAP - m->readable, e, lo, hi, adv, i;

	if (n == 0 || off >= win)
		return 0;
	e = off + n < win ? off + n : win;
	for (i = off; i < e; i++)
		m->have[i] = true;
	lo = off;
	while (lo > 0 && m->have[lo - 1])
		lo--;
	hi = e;
	while (hi < win && m->have[hi])
		hi++;
	for (i = lo; i < hi; i++)
		m->stamp[i] = t;
	adv = 0;
	while (adv < win && m->have[adv])
		adv++;
	for (i = 0; i + adv < SMALL_CAP; i++) {
		m->have[i] = m->have[i + adv];
		m->stamp[i] = m->stamp[i + adv];
	}
	for (; i < SMALL_CAP; i++)
		m->have[i] = false;
	m->readable += adv;
	return adv;
}

/* Compares islands with the model's runs: same set, ordered by recency,
 * and the ring holds the right stream bytes in each. */
static void compare_model(const struct ptcp_rcvbuf *rb, const struct model *m, size_t nxt)
{
	size_t win = SMALL_CAP - m->readable, i, runs = 0, ooo = 0;
	unsigned r, last_stamp = ~0u;

	CHECK_EQ(rb->readable, m->readable);
	CHECK_EQ(ptcp_rcvbuf_window(rb), win);
	for (i = 0; i < win; i++) {
		if (m->have[i] && (i == 0 || !m->have[i - 1]))
			runs++;
		ooo += m->have[i];
	}
	CHECK_EQ(rb->n_ranges, runs);
	CHECK_EQ(ptcp_rcvbuf_ooo_bytes(rb), ooo);
	for (r = 0; r < rb->n_ranges; r++) {
		size_t off = rb->ranges[r].off, len = rb->ranges[r].len, k;

		CHECK(len > 0 && off > 0 && off + len <= win);
		if (off == 0 || len == 0 || off + len > win)
			return;
		/* A maximal run of the model. */
		CHECK(!m->have[off - 1]);
		CHECK(off + len == win || !m->have[off + len]);
		for (k = off; k < off + len; k++) {
			size_t pos = (rb->head + rb->readable + k) % SMALL_CAP;

			CHECK(m->have[k]);
			CHECK_EQ(rb->mem[pos], check_stream_byte(nxt + k));
		}
		CHECK(m->stamp[off] < last_stamp);
		last_stamp = m->stamp[off];
	}
}

static void test_small_exhaustive(void)
{
	uint8_t mem[SMALL_CAP];
	static const size_t preloads[] = { 0, 3 };
	size_t head, p, a, b, c;
	unsigned cases = 0;

	for (head = 0; head < SMALL_CAP; head++)
	for (p = 0; p < sizeof(preloads) / sizeof(preloads[0]); p++)
	for (a = 0; a < 40; a++)
	for (b = 0; b < 40; b++)
	for (c = 0; c < 40; c++) {
		const size_t segs[3][2] = {
			{ a / 5, a % 5 }, { b / 5, b % 5 }, { c / 5, c % 5 },
		};
		struct ptcp_rcvbuf rb;
		struct model m;
		size_t nxt, base, s, got;

		memset(&m, 0, sizeof(m));
		memset(mem, 0, sizeof(mem));
		ptcp_rcvbuf_init(&rb, mem, SMALL_CAP);
		/* Put head at its position, then hold preload unread bytes. */
		CHECK_EQ(put(&rb, 0, 0, head), head);
		CHECK_EQ(get_check(&rb, 0, head), head);
		CHECK_EQ(rb.head, head);
		CHECK_EQ(put(&rb, head, 0, preloads[p]), preloads[p]);
		base = head;
		nxt = head + preloads[p];
		m.readable = preloads[p];
		for (s = 0; s < 3; s++) {
			size_t exp = model_insert(&m, segs[s][0], segs[s][1], (unsigned)s + 1);

			CHECK_EQ(put(&rb, nxt, segs[s][0], segs[s][1]), exp);
			nxt += exp;
			compare_model(&rb, &m, nxt);
		}
		/* Read in chunks of 3, which straddle the wrap for most heads. */
		while ((got = get_check(&rb, base, 3)) > 0)
			base += got;
		CHECK_EQ(base, nxt);
		cases++;
		if (check_failed())
			return;
	}
	CHECK_EQ(cases, SMALL_CAP * 2 * 40 * 40 * 40);
}

/* Random slices of a long stream, in random order with duplicates, some
 * beyond the window, the application reading at random moments. A bitmap
 * over absolute positions (mod cap) gives the expected advance, including
 * the drops when the island table is full. */
#define RANDOM_MAX_RANGES 16

static void random_run(uint64_t seed, size_t cap, size_t total)
{
	static uint8_t mem[8192], data[4096], out[8192], exp[8192];
	static bool have[8192];
	struct ptcp_rcvbuf rb;
	size_t nxt = 0, rd = 0;
	unsigned long iter = 0, drops = 0, max_ranges = 0;

	memset(have, 0, sizeof(have));
	ptcp_rcvbuf_init(&rb, mem, cap);
	/* A small table, so that these windows fill it and the drops of a
	 * full table are exercised too. */
	rb.max_ranges = RANDOM_MAX_RANGES;
	while (rd < total && iter++ < 5000000) {
		uint64_t r = check_xorshift64(&seed);
		size_t win = ptcp_rcvbuf_window(&rb);

		if (r % 8 < 5) {
			size_t off = (size_t)(check_xorshift64(&seed) % (win + 64));
			size_t n = (r >> 8) % 4 ? (size_t)(check_xorshift64(&seed) % 20) + 1 :
						  (size_t)(check_xorshift64(&seed) % 1400) + 1;
			size_t e, i, adv = 0, runs = 0;
			bool touch, ok;

			if ((r >> 16) % 16 == 0)
				off = 0;
			if (nxt + off >= total)
				continue;
			if (n > total - nxt - off)
				n = total - nxt - off;
			/* Model: clip, drop if it neither starts at RCV.NXT nor
			 * touches an island while the table is full. */
			e = off < win ? (off + n < win ? off + n : win) : off;
			touch = false;
			for (i = off > 0 ? off - 1 : 0; i < e + 1 && i < win; i++)
				touch = touch || have[(nxt + i) % cap];
			if (off > 0 && off < win && !touch)
				for (i = 0; i < win; i++)
					runs += have[(nxt + i) % cap] && (i == 0 || !have[(nxt + i - 1) % cap]);
			ok = off < win && (off == 0 || touch || runs < RANDOM_MAX_RANGES);
			if (off < win && !ok)
				drops++;
			if (ok) {
				for (i = off; i < e; i++)
					have[(nxt + i) % cap] = true;
				while (adv < win && have[(nxt + adv) % cap]) {
					have[(nxt + adv) % cap] = false;
					adv++;
				}
			}
			check_fill_stream(data, nxt + off, n);
			CHECK_EQ(ptcp_rcvbuf_insert(&rb, off, data, n), adv);
			nxt += adv;
		} else {
			size_t n = (size_t)(check_xorshift64(&seed) % (cap + 10)), got;

			got = ptcp_rcvbuf_read(&rb, out, n);
			CHECK_EQ(got, n < rb.readable + got ? n : rb.readable + got);
			check_fill_stream(exp, rd, got);
			CHECK(memcmp(out, exp, got) == 0);
			rd += got;
		}
		if (rb.n_ranges > max_ranges)
			max_ranges = rb.n_ranges;
		CHECK_EQ(rd + rb.readable, nxt);
		/* Island invariants and contents. */
		{
			size_t w = ptcp_rcvbuf_window(&rb), sum = 0;
			unsigned a, b;

			for (a = 0; a < rb.n_ranges; a++) {
				size_t o = rb.ranges[a].off, l = rb.ranges[a].len, k;

				CHECK(o > 0 && l > 0 && o + l <= w);
				for (b = a + 1; b < rb.n_ranges; b++) {
					size_t o2 = rb.ranges[b].off, l2 = rb.ranges[b].len;

					CHECK(o + l < o2 || o2 + l2 < o);
				}
				for (k = o; k < o + l; k++) {
					CHECK(have[(nxt + k) % cap]);
					CHECK_EQ(mem[(rb.head + rb.readable + k) % cap], check_stream_byte(nxt + k));
					if (check_failed())
						return;
				}
				sum += l;
			}
			CHECK_EQ(ptcp_rcvbuf_ooo_bytes(&rb), sum);
		}
		if (check_failed())
			return;
	}
	CHECK_EQ(rd, total);
	/* The run must have exercised the full table. */
	CHECK_EQ(max_ranges, RANDOM_MAX_RANGES);
	CHECK(drops > 0);
}

static void test_random_reassembly(void)
{
	uint64_t seed;

	for (seed = 1; seed <= 12; seed++) {
		random_run(seed * 0x2545f4914f6cdd1dull, 1000 + (size_t)seed * 577, 100000);
		if (check_failed())
			return;
	}
}

/* ptcp_rcvbuf_held finds the lowest part of a new arrival that an island
 * already holds (for D-SACK), and nothing for bytes no island has. */
static void test_held(void)
{
	uint8_t mem[64];
	struct ptcp_rcvbuf rb;
	uint32_t off, len;
	unsigned isl;

	ptcp_rcvbuf_init(&rb, mem, sizeof(mem));
	put(&rb, 0, 10, 5);   /* [10, 15) */
	put(&rb, 0, 30, 10);  /* [30, 40), now ranges[0] */
	CHECK(!ptcp_rcvbuf_held(&rb, 0, 10, &off, &len, &isl));
	CHECK(!ptcp_rcvbuf_held(&rb, 15, 15, &off, &len, &isl));
	CHECK(ptcp_rcvbuf_held(&rb, 12, 30, &off, &len, &isl));
	CHECK_EQ(off, 12);
	CHECK_EQ(len, 3);
	CHECK_EQ(isl, 1);
	CHECK(ptcp_rcvbuf_held(&rb, 20, 15, &off, &len, &isl));
	CHECK_EQ(off, 30);
	CHECK_EQ(len, 5);
	CHECK_EQ(isl, 0);
	CHECK(ptcp_rcvbuf_held(&rb, 31, 2, &off, &len, &isl));
	CHECK_EQ(off, 31);
	CHECK_EQ(len, 2);
}

static void test_zero_capacity(void)
{
	struct ptcp_rcvbuf rb;
	uint8_t data[4] = { 1, 2, 3, 4 }, out[4];

	ptcp_rcvbuf_init(&rb, NULL, 0);
	CHECK_EQ(ptcp_rcvbuf_window(&rb), 0);
	CHECK_EQ(ptcp_rcvbuf_insert(&rb, 0, data, 4), 0);
	CHECK_EQ(ptcp_rcvbuf_read(&rb, out, 4), 0);
	CHECK_EQ(rb.n_ranges, 0);
}

/* peek lends the readable bytes where they are: one span, two where the
 * ring wraps, never the islands beyond; consume frees them as a read
 * would, partly too, and the window opens by as much. */
static void test_peek_consume(void)
{
	uint8_t mem[16], exp[16];
	struct ptcp_rcvbuf rb;
	const uint8_t *base[2];
	size_t len[2], nxt = 0, rd = 0;   /* stream positions: RCV.NXT, first unread */

	ptcp_rcvbuf_init(&rb, mem, sizeof(mem));
	CHECK_EQ(ptcp_rcvbuf_peek(&rb, base, len), 0);
	CHECK_EQ(put(&rb, nxt, 0, 10), 10);
	nxt += 10;
	CHECK_EQ(ptcp_rcvbuf_peek(&rb, base, len), 1);
	CHECK(base[0] == mem && len[0] == 10);
	CHECK_EQ(ptcp_rcvbuf_consume(&rb, 4), 4);
	rd += 4;
	CHECK_EQ(ptcp_rcvbuf_window(&rb), 10);
	/* 8 more: to the end of the ring and 2 from its start; an island
	 * beyond them is not lent */
	CHECK_EQ(put(&rb, nxt, 0, 8), 8);
	nxt += 8;
	CHECK_EQ(put(&rb, nxt, 1, 1), 0);
	CHECK_EQ(ptcp_rcvbuf_peek(&rb, base, len), 2);
	CHECK(base[0] == mem + 4 && len[0] == 12 && base[1] == mem && len[1] == 2);
	check_fill_stream(exp, rd, 14);
	CHECK(memcmp(base[0], exp, 12) == 0 && memcmp(base[1], exp + 12, 2) == 0);
	CHECK_EQ(ptcp_rcvbuf_consume(&rb, 13), 13);
	rd += 13;
	CHECK_EQ(ptcp_rcvbuf_window(&rb), 15);
	CHECK_EQ(ptcp_rcvbuf_peek(&rb, base, len), 1);
	CHECK(base[0] == mem + 1 && len[0] == 1);
	/* more than there is: what there is */
	CHECK_EQ(ptcp_rcvbuf_consume(&rb, 5), 1);
	rd += 1;
	CHECK_EQ(ptcp_rcvbuf_peek(&rb, base, len), 0);
	CHECK(has_range(&rb, 0, 1, 1));
	/* the hole filled: a read after the peeks gets the same stream */
	CHECK_EQ(put(&rb, nxt, 0, 1), 2);
	nxt += 2;
	CHECK_EQ(get_check(&rb, rd, 2), 2);
	CHECK_EQ(rd + 2, nxt);
}

int main(void)
{
	RUN(test_in_order);
	RUN(test_peek_consume);
	RUN(test_island_then_fill);
	RUN(test_merge_and_recency);
	RUN(test_gap_fill_rebases);
	RUN(test_window_truncation);
	RUN(test_table_full);
	RUN(test_lossy_flight_is_held);
	RUN(test_zero_capacity);
	RUN(test_held);
	RUN(test_small_exhaustive);
	RUN(test_random_reassembly);
	return check_summary();
}
