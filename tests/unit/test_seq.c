/* Tests of sequence-number arithmetic modulo 2^32 (seq.h, RFC 9293
 * section 3.4): comparisons across the wrap, window membership at its
 * edges, and SEG.LEN. */
#include <string.h>

#include "check.h"
#include "segment.h"
#include "seq.h"

static void test_diff(void)
{
	CHECK_INT(ptcp_seq_diff(5, 3), 2);
	CHECK_INT(ptcp_seq_diff(3, 5), -2);
	CHECK_INT(ptcp_seq_diff(0, 0xffffffffu), 1);
	CHECK_INT(ptcp_seq_diff(0xffffffffu, 0), -1);
	CHECK_INT(ptcp_seq_diff(10, 0xfffffff6u), 20);
	CHECK_INT(ptcp_seq_diff(0x7fffffffu, 0), 0x7fffffff);
	/* Exactly 2^31 apart: the difference is INT32_MIN either way. */
	CHECK_INT(ptcp_seq_diff(0x80000000u, 0), INT32_MIN);
	CHECK_INT(ptcp_seq_diff(0, 0x80000000u), INT32_MIN);
}

static void test_compare_without_wrap(void)
{
	CHECK(ptcp_seq_lt(1, 2));
	CHECK(!ptcp_seq_lt(2, 1));
	CHECK(!ptcp_seq_lt(2, 2));
	CHECK(ptcp_seq_le(2, 2));
	CHECK(ptcp_seq_le(1, 2));
	CHECK(!ptcp_seq_le(3, 2));
	CHECK(ptcp_seq_gt(3, 2));
	CHECK(!ptcp_seq_gt(2, 2));
	CHECK(ptcp_seq_ge(2, 2));
	CHECK(!ptcp_seq_ge(1, 2));
}

static void test_compare_across_wrap(void)
{
	/* 0xffffffff comes just before 0, so it is "less" though larger as
	 * an integer: a plain < would get every one of these wrong. */
	CHECK(ptcp_seq_lt(0xffffffffu, 0));
	CHECK(ptcp_seq_gt(0, 0xffffffffu));
	CHECK(ptcp_seq_lt(0xfffffff0u, 0x10));
	CHECK(ptcp_seq_le(0xfffffff0u, 0x10));
	CHECK(ptcp_seq_ge(0x10, 0xfffffff0u));
	CHECK(!ptcp_seq_ge(0xfffffff0u, 0x10));
	/* Up to 2^31 - 1 ahead counts as "later", from any starting point. */
	for (uint64_t base = 0; base <= 0xffffffffu; base += 0x0fffffffu) {
		ptcp_seq b = (ptcp_seq)base;

		CHECK(ptcp_seq_gt(b + 1, b));
		CHECK(ptcp_seq_gt(b + 0x7fffffffu, b));
		CHECK(ptcp_seq_lt(b - 0x7fffffffu, b));
		CHECK(ptcp_seq_lt(b, b + 0x7fffffffu));
		/* Antisymmetry: exactly one of lt, eq, gt holds. */
		CHECK_INT(ptcp_seq_lt(b, b + 12345) + (b == b + 12345) + ptcp_seq_gt(b, b + 12345), 1);
	}
}

static void test_max_min(void)
{
	CHECK_EQ(ptcp_seq_max(0xfffffffeu, 3), 3);
	CHECK_EQ(ptcp_seq_min(0xfffffffeu, 3), 0xfffffffeu);
	CHECK_EQ(ptcp_seq_max(3, 0xfffffffeu), 3);
	CHECK_EQ(ptcp_seq_min(3, 0xfffffffeu), 0xfffffffeu);
	CHECK_EQ(ptcp_seq_max(7, 7), 7);
	CHECK_EQ(ptcp_seq_min(100, 200), 100);
}

/* lo <= x < hi at the edges of a window, with and without the wrap. */
static void test_in_window_edges(void)
{
	static const ptcp_seq los[] = { 0, 1000, 0xffffff00u, 0xfffffffeu, 0x7fffff00u };
	const uint32_t wnd = 0x200;

	for (size_t i = 0; i < sizeof(los) / sizeof(los[0]); i++) {
		ptcp_seq lo = los[i], hi = lo + wnd;

		CHECK(!ptcp_seq_in(lo - 1, lo, hi));   /* just left of it */
		CHECK(ptcp_seq_in(lo, lo, hi));        /* left edge */
		CHECK(ptcp_seq_in(lo + 1, lo, hi));
		CHECK(ptcp_seq_in(hi - 1, lo, hi));    /* last inside */
		CHECK(!ptcp_seq_in(hi, lo, hi));       /* right edge: outside */
		CHECK(!ptcp_seq_in(hi + 1, lo, hi));   /* just right of it */
		CHECK(!ptcp_seq_in(lo + 0x80000000u, lo, hi));
	}
	/* A window straddling zero contains both sides of the wrap. */
	CHECK(ptcp_seq_in(0xffffffffu, 0xfffffff0u, 0x10));
	CHECK(ptcp_seq_in(0, 0xfffffff0u, 0x10));
	CHECK(ptcp_seq_in(0xf, 0xfffffff0u, 0x10));
	CHECK(!ptcp_seq_in(0x10, 0xfffffff0u, 0x10));
	CHECK(!ptcp_seq_in(0xffffffefu, 0xfffffff0u, 0x10));
	/* An empty window (lo == hi) contains nothing. */
	CHECK(!ptcp_seq_in(5, 5, 5));
	CHECK(!ptcp_seq_in(4, 5, 5));
	CHECK(!ptcp_seq_in(0, 0, 0));
}

static void test_segment_seqlen(void)
{
	struct ptcp_segment s;

	memset(&s, 0, sizeof(s));
	CHECK_EQ(ptcp_segment_seqlen(&s), 0);
	s.flags = PTCP_TH_SYN;
	CHECK_EQ(ptcp_segment_seqlen(&s), 1);
	s.flags = PTCP_TH_SYN | PTCP_TH_FIN | PTCP_TH_ACK;
	CHECK_EQ(ptcp_segment_seqlen(&s), 2);
	s.len = 1000;
	CHECK_EQ(ptcp_segment_seqlen(&s), 1002);
	s.flags = PTCP_TH_ACK | PTCP_TH_RST;
	CHECK_EQ(ptcp_segment_seqlen(&s), 1000);
	/* The end of a segment near the wrap lands past zero. */
	s.seq = 0xfffffc00u;
	s.len = 0x400;
	s.flags = PTCP_TH_FIN;
	CHECK_EQ(s.seq + ptcp_segment_seqlen(&s), 0x1u);
	CHECK(ptcp_seq_gt(s.seq + ptcp_segment_seqlen(&s), s.seq));
}

int main(void)
{
	RUN(test_diff);
	RUN(test_compare_without_wrap);
	RUN(test_compare_across_wrap);
	RUN(test_max_min);
	RUN(test_in_window_edges);
	RUN(test_segment_seqlen);
	return check_summary();
}
