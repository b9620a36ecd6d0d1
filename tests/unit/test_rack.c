/* RACK-TLP (RFC 8985) on its own: the delivery bookkeeping (step 2 and
 * the ambiguity rules for retransmissions, step 3 reordering), the
 * reordering window (step 4, with D-SACK rounds), loss detection with its
 * timer (step 5), the marks after a timeout (6.3) and the PTO (7.2). Times
 * in ms for readability. */
#include "check.h"
#include "rack.h"

#define T(ms) ((ptcp_ts)(ms) * PTCP_NS_PER_MS)

struct fixture {
	struct ptcp_txseg mem[32];
	struct ptcp_txq q;
	struct ptcp_rack r;
};

/* n records of 100 bytes from seq 1000, record i sent at sent[i] ms. */
static void setup(struct fixture *f, unsigned n, const unsigned *sent)
{
	unsigned i;

	ptcp_txq_init(&f->q, f->mem, 32);
	ptcp_rack_init(&f->r);
	for (i = 0; i < n; i++)
		ptcp_txq_push(&f->q, 1000 + 100 * i, 100, false, T(sent[i]));
}

static void sack_at(struct fixture *f, unsigned i, unsigned now_ms)
{
	struct ptcp_rack_ack a = { .rack = &f->r, .now = T(now_ms) };

	ptcp_txq_sack(&f->q, 1000 + 100 * i, 1100 + 100 * i, ptcp_rack_delivered, &a);
}

static void test_most_recent_delivery_wins(void)
{
	static const unsigned sent[] = { 0, 0, 5, 5 };
	struct fixture f;

	setup(&f, 4, sent);
	CHECK(!f.r.valid);
	sack_at(&f, 3, 20);
	CHECK(f.r.valid);
	CHECK_EQ(f.r.xmit_ts, T(5));
	CHECK_EQ(f.r.end_seq, 1400);
	CHECK_EQ(f.r.rtt, T(15));
	CHECK_EQ(f.r.min_rtt, T(15));
	/* An earlier-sent segment delivered later: RACK keeps segment 3 but
	 * it was out of order (step 3), and min_RTT drops. */
	sack_at(&f, 1, 12);
	CHECK_EQ(f.r.end_seq, 1400);
	CHECK(f.r.reordering_seen);
	CHECK_EQ(f.r.min_rtt, T(12));
	/* Same send time: the higher sequence is the more recent. */
	sack_at(&f, 2, 21);
	CHECK_EQ(f.r.end_seq, 1400);
}

/* Step 2: a retransmitted segment's delivery may be its earlier copy's. */
static void test_retransmission_ambiguity(void)
{
	static const unsigned sent[] = { 0, 0 };
	struct fixture f;
	struct ptcp_rack_ack a;

	setup(&f, 2, sent);
	sack_at(&f, 1, 10); /* min_RTT 10 ms */
	ptcp_txq_retransmitted(&f.q, 0, T(50));
	/* Delivered 3 ms after the retransmission: faster than min_RTT, so
	 * the first copy arrived: ignored. */
	a = (struct ptcp_rack_ack){ .rack = &f.r, .now = T(53) };
	ptcp_rack_delivered(&a, ptcp_txq_at(&f.q, 0));
	CHECK_EQ(f.r.xmit_ts, T(0));
	/* With timestamps, a cumulative ACK's echo older than the
	 * retransmission says so too (TSval clock: 1 tick per ms from 0 at
	 * time 0). */
	a = (struct ptcp_rack_ack){ .rack = &f.r, .now = T(70), .has_tsecr = true, .tsecr = 20,
	                            .ts_epoch = 0, .ts_offset = 0, .ts_tick = PTCP_NS_PER_MS,
	                            .cumulative = true };
	ptcp_rack_delivered(&a, ptcp_txq_at(&f.q, 0));
	CHECK_EQ(f.r.xmit_ts, T(0));
	/* An echo of the retransmission itself counts. */
	a.tsecr = 50;
	ptcp_rack_delivered(&a, ptcp_txq_at(&f.q, 0));
	CHECK_EQ(f.r.xmit_ts, T(50));
	CHECK_EQ(f.r.rtt, T(20));
}

/* A SACK's echo is TS.Recent, which stays at the segment before the hole
 * (RFC 7323 4.3): older than any retransmission SACKed behind the hole,
 * and no sign that an earlier copy arrived. Only min_RTT decides there. */
static void test_sack_echo_is_not_ambiguity(void)
{
	static const unsigned sent[] = { 0, 0, 0 };
	struct fixture f;
	struct ptcp_rack_ack a;

	setup(&f, 3, sent);
	sack_at(&f, 2, 10); /* min_RTT 10 ms */
	ptcp_txq_retransmitted(&f.q, 1, T(50));
	a = (struct ptcp_rack_ack){ .rack = &f.r, .now = T(62), .has_tsecr = true, .tsecr = 0,
	                            .ts_epoch = 0, .ts_offset = 0, .ts_tick = PTCP_NS_PER_MS };
	ptcp_txq_sack(&f.q, 1100, 1200, ptcp_rack_delivered, &a);
	CHECK_EQ(f.r.xmit_ts, T(50));
	CHECK_EQ(f.r.rtt, T(12));
}

static void test_reordering_window(void)
{
	struct ptcp_rack r;

	ptcp_rack_init(&r);
	r.min_rtt = T(40);
	/* No reordering seen: 0 in recovery or with DupThresh SACKed. */
	CHECK_EQ(ptcp_rack_reo_wnd(&r, true, 0, T(50)), 0);
	CHECK_EQ(ptcp_rack_reo_wnd(&r, false, 3, T(50)), 0);
	CHECK_EQ(ptcp_rack_reo_wnd(&r, false, 2, T(50)), T(10));
	r.reordering_seen = true;
	CHECK_EQ(ptcp_rack_reo_wnd(&r, true, 5, T(50)), T(10));
	/* A D-SACK widens it by min_RTT / 4, once per round trip. */
	ptcp_rack_update_reo_wnd(&r, true, 100, 200, false);
	CHECK_EQ(r.reo_wnd_mult, 2);
	ptcp_rack_update_reo_wnd(&r, true, 150, 300, false);
	CHECK_EQ(r.reo_wnd_mult, 2);
	ptcp_rack_update_reo_wnd(&r, true, 200, 300, false);
	CHECK_EQ(r.reo_wnd_mult, 3);
	CHECK_EQ(ptcp_rack_reo_wnd(&r, false, 0, T(50)), T(30));
	/* Bounded by SRTT. */
	CHECK_EQ(ptcp_rack_reo_wnd(&r, false, 0, T(20)), T(20));
	/* After 16 recoveries without D-SACK it is back to one quarter. */
	for (int i = 0; i < 16; i++)
		ptcp_rack_update_reo_wnd(&r, false, 400, 500, true);
	CHECK_EQ(r.reo_wnd_mult, 1);
}

static void test_detect_loss_and_timer(void)
{
	static const unsigned sent[] = { 0, 2, 4, 6, 8 };
	struct fixture f;
	uint32_t marked;
	uint64_t wait;

	setup(&f, 5, sent);
	sack_at(&f, 4, 18); /* RACK: sent at 8, RTT 10 */
	/* At 18 with a window of 5: segment 0 is due at 0 + 10 + 5 = 15,
	 * segment 1 at 17; 2 at 19 and 3 at 21 are not yet. */
	wait = ptcp_rack_detect_loss(&f.r, &f.q, T(18), T(5), &marked);
	CHECK_EQ(marked, 2);
	CHECK(ptcp_txq_at(&f.q, 0)->flags & PTCP_TXSEG_LOST);
	CHECK(ptcp_txq_at(&f.q, 1)->flags & PTCP_TXSEG_LOST);
	CHECK(!(ptcp_txq_at(&f.q, 2)->flags & PTCP_TXSEG_LOST));
	CHECK_EQ(wait, T(3)); /* the latest of those waiting */
	CHECK(!f.r.advanced);
	wait = ptcp_rack_detect_loss(&f.r, &f.q, T(21), T(5), &marked);
	CHECK_EQ(marked, 2);
	CHECK_EQ(wait, 0);
	/* A lost retransmission: segment 0 resent at 30, then segment 1's
	 * retransmission (at 31) is delivered at 41: 0 is lost again. */
	ptcp_txq_retransmitted(&f.q, 0, T(30));
	ptcp_txq_retransmitted(&f.q, 1, T(31));
	{
		struct ptcp_rack_ack a = { .rack = &f.r, .now = T(41) };

		ptcp_txq_sack(&f.q, 1100, 1200, ptcp_rack_delivered, &a);
	}
	wait = ptcp_rack_detect_loss(&f.r, &f.q, T(41), 0, &marked);
	CHECK_EQ(marked, 1);
	CHECK_INT(ptcp_txq_next_lost(&f.q), 0);
}

static void test_marks_after_timeout(void)
{
	static const unsigned sent[] = { 0, 100, 191, 195 };
	struct fixture f;

	setup(&f, 4, sent);
	sack_at(&f, 3, 205); /* RACK.rtt 10 */
	/* At 200 + 0: the head always; 1 (100 + 10 <= 200) too; 2 not. */
	CHECK_EQ(ptcp_rack_mark_on_rto(&f.r, &f.q, T(200), 0), 2);
	CHECK(ptcp_txq_at(&f.q, 0)->flags & PTCP_TXSEG_LOST);
	CHECK(ptcp_txq_at(&f.q, 1)->flags & PTCP_TXSEG_LOST);
	CHECK(!(ptcp_txq_at(&f.q, 2)->flags & PTCP_TXSEG_LOST));
	CHECK(!(ptcp_txq_at(&f.q, 3)->flags & PTCP_TXSEG_LOST)); /* SACKed */
}

static void test_pto(void)
{
	/* 2 * SRTT + 2 ms; + 200 ms instead for a single segment; 1 s without
	 * SRTT; never after the RTO. */
	CHECK_EQ(ptcp_tlp_pto(T(30), false, T(1000), PTCP_TS_NEVER), T(62));
	CHECK_EQ(ptcp_tlp_pto(T(30), true, T(1000), PTCP_TS_NEVER), T(260));
	CHECK_EQ(ptcp_tlp_pto(0, false, T(1000), PTCP_TS_NEVER), T(1000));
	CHECK_EQ(ptcp_tlp_pto(T(30), true, T(1000), T(1100)), T(100));
}

static void test_pto_slack(void)
{
	const uint64_t us = PTCP_NS_PER_US;

	/* The slack is what keeps a sub-millisecond path from probing before
	 * a merely delayed ACK: 2 * 200 us + 2 ms, not 400 us. */
	CHECK_EQ(PTCP_TLP_MIN_SLACK, T(2));
	CHECK_EQ(ptcp_tlp_pto(200 * us, false, T(1000), PTCP_TS_NEVER),
		 400 * us + T(2));
	/* The single-segment delayed-ACK allowance replaces it, not adds. */
	CHECK_EQ(ptcp_tlp_pto(200 * us, true, T(1000), PTCP_TS_NEVER),
		 400 * us + T(200));
	/* The RTO still bounds it: an RTO 1 ms away cuts the slack short. */
	CHECK_EQ(ptcp_tlp_pto(200 * us, false, T(1000), T(1001)), T(1));
}

int main(void)
{
	RUN(test_most_recent_delivery_wins);
	RUN(test_retransmission_ambiguity);
	RUN(test_sack_echo_is_not_ambiguity);
	RUN(test_reordering_window);
	RUN(test_detect_loss_and_timer);
	RUN(test_marks_after_timeout);
	RUN(test_pto);
	RUN(test_pto_slack);
	return check_summary();
}
