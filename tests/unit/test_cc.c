/* Congestion control windows, worked out from the RFC formulas: NewReno
 * (RFC 5681 slow start with RFC 3465 byte counting, congestion avoidance,
 * the reduction, the loss window, undo) and CUBIC (RFC 9438: the cubic
 * curve around W_max, the Reno-friendly region, fast convergence, beta;
 * HyStart++ of RFC 9406 in the initial slow start). */
#include "cc.h"
#include "check.h"

#define RENO PTCP_CC_NEWRENO
#define CUBIC PTCP_CC_CUBIC

/* An ACK of acked bytes, cwnd-limited, no RTT sample, at time 0. */
static void ack(struct ptcp_cc *cc, uint32_t acked, bool limited)
{
	struct ptcp_cc_ack a = { .acked = acked, .cwnd_limited = limited };

	ptcp_cc_on_ack(cc, &a);
}

static void test_initial_window(void)
{
	/* RFC 5681 (3.1): 4 segments up to 1095, 3 up to 2190, else 2; for
	 * BBR RFC 6928, min(10 * SMSS, max(2 * SMSS, 14600)), as Linux. */
	static const struct {
		enum ptcp_cc_algo algo;
		uint32_t smss, iw;
	} iw[] = {
		{ RENO, 536, 2144 },          { RENO, 1095, 4380 },
		{ RENO, 1096, 3288 },         { RENO, 2190, 6570 },
		{ RENO, 2191, 4382 },         { RENO, 8960, 17920 },
		{ PTCP_CC_BBR, 1448, 14480 }, { PTCP_CC_BBR, 1460, 14600 },
		{ PTCP_CC_BBR, 8960, 17920 },
	};
	struct ptcp_cc cc;
	size_t i;

	for (i = 0; i < sizeof(iw) / sizeof(iw[0]); i++) {
		ptcp_cc_init(&cc, iw[i].algo, iw[i].smss);
		CHECK_EQ(cc.cwnd, iw[i].iw);
		CHECK_EQ(cc.ssthresh, UINT32_MAX);
		if (iw[i].algo == PTCP_CC_BBR)
			CHECK_EQ(cc.bbr.initial_cwnd, iw[i].iw);
	}
	/* The peer's MSS (and timestamps) arrive before any data. */
	ptcp_cc_init(&cc, RENO, 536);
	ptcp_cc_set_smss(&cc, 1448, 0);
	CHECK_EQ(cc.smss, 1448);
	CHECK_EQ(cc.cwnd, 4344);
	ptcp_cc_init(&cc, PTCP_CC_BBR, 536);
	ptcp_cc_set_smss(&cc, 500, 0);
	CHECK_EQ(cc.cwnd, 5000);
	CHECK_EQ(cc.bbr.initial_cwnd, 5000);
	/* SMSS 0 falls back to 536 instead of a zero window. */
	ptcp_cc_init(&cc, RENO, 0);
	CHECK_EQ(cc.smss, 536);
	CHECK_EQ(cc.cwnd, 2144);
}

static void test_slow_start(void)
{
	struct ptcp_cc cc;
	int i;

	/* SMSS 1000: IW 4000, ssthresh 10000. */
	ptcp_cc_init(&cc, RENO, 1000);
	cc.ssthresh = 10000;
	for (i = 1; i <= 3; i++) {
		ack(&cc, 1000, true);
		CHECK_EQ(cc.cwnd, 4000 + 1000 * (uint32_t)i);
	}
	/* A delayed ACK for two segments adds two (RFC 3465, L = 2). */
	ack(&cc, 2000, true);
	CHECK_EQ(cc.cwnd, 9000);
	/* A small ACK adds what it acks; a stretch ACK at most 2 * SMSS,
	 * and slow start stops at ssthresh. */
	ack(&cc, 500, true);
	CHECK_EQ(cc.cwnd, 9500);
	ack(&cc, 5000, true);
	CHECK_EQ(cc.cwnd, 10000);
	/* cwnd >= ssthresh: congestion avoidance, no growth per ACK. */
	ack(&cc, 1000, true);
	CHECK_EQ(cc.cwnd, 10000);
	CHECK_EQ(cc.ca_acked, 1000);
}

/* A window the sender did not fill proves nothing (RFC 7661). */
static void test_no_growth_when_not_cwnd_limited(void)
{
	struct ptcp_cc cc;

	ptcp_cc_init(&cc, RENO, 1000);
	ack(&cc, 1000, false);
	CHECK_EQ(cc.cwnd, 4000);
	cc.ssthresh = 4000;
	ack(&cc, 4000, false);
	CHECK_EQ(cc.cwnd, 4000);
	CHECK_EQ(cc.ca_acked, 0);
}

static void test_congestion_avoidance_per_rtt(void)
{
	struct ptcp_cc cc;
	uint32_t rtt, k, w;

	/* cwnd = ssthresh = 10000, SMSS 1000: each window acked segment by
	 * segment adds exactly one SMSS, on its last ACK (RFC 5681 3.1). */
	ptcp_cc_init(&cc, RENO, 1000);
	cc.cwnd = cc.ssthresh = 10000;
	for (rtt = 0; rtt < 10; rtt++) {
		w = cc.cwnd;
		for (k = 0; k < w / 1000; k++) {
			ack(&cc, 1000, true);
			CHECK_EQ(cc.cwnd, k + 1 < w / 1000 ? w : w + 1000);
		}
		CHECK_EQ(cc.ca_acked, 0);
	}
	CHECK_EQ(cc.cwnd, 20000);
	/* A stretch ACK for two and a half windows is still one SMSS. */
	ptcp_cc_init(&cc, RENO, 1000);
	cc.cwnd = cc.ssthresh = 10000;
	ack(&cc, 25000, true);
	CHECK_EQ(cc.cwnd, 11000);
	CHECK(cc.ca_acked < cc.cwnd);
}

/* RFC 5681 (4) / RFC 6675 5 step 4.2: ssthresh = max(FlightSize / 2,
 * 2 * SMSS); cwnd waits for the end of recovery (PRR brings the flight
 * down), then is ssthresh (RFC 6937). */
static void test_congestion_event(void)
{
	struct ptcp_cc cc;

	ptcp_cc_init(&cc, RENO, 1000);
	cc.cwnd = 20000;
	ptcp_cc_on_congestion(&cc, 20000, 0);
	CHECK_EQ(cc.ssthresh, 10000);
	CHECK_EQ(cc.cwnd, 20000);
	CHECK_EQ(cc.reductions, 1);
	ptcp_cc_end_recovery(&cc);
	CHECK_EQ(cc.cwnd, 10000);
	/* A small flight: the floor of two segments. */
	ptcp_cc_on_congestion(&cc, 3000, 0);
	CHECK_EQ(cc.ssthresh, 2000);
}

static void test_rto(void)
{
	struct ptcp_cc cc;

	ptcp_cc_init(&cc, RENO, 1000);
	cc.cwnd = 20000;
	/* RFC 5681 (4): ssthresh = 20000 / 2, cwnd = LW = 1 SMSS. */
	ptcp_cc_on_rto(&cc, 20000, true, 0);
	CHECK_EQ(cc.ssthresh, 10000);
	CHECK_EQ(cc.cwnd, 1000);
	/* The retransmission times out again: ssthresh held constant. */
	ptcp_cc_on_rto(&cc, 1000, false, 0);
	CHECK_EQ(cc.ssthresh, 10000);
	CHECK_EQ(cc.cwnd, 1000);
	/* Slow start from one segment. */
	ack(&cc, 1000, true);
	CHECK_EQ(cc.cwnd, 2000);
}

/* RFC 3522 / RFC 3708: a reduction whose losses were spurious goes back. */
static void test_undo(void)
{
	struct ptcp_cc cc;

	ptcp_cc_init(&cc, RENO, 1000);
	cc.cwnd = 20000;
	cc.ssthresh = 30000;
	ptcp_cc_on_rto(&cc, 20000, true, 0);
	ack(&cc, 1000, true);
	ptcp_cc_undo(&cc);
	CHECK_EQ(cc.cwnd, 20000);
	CHECK_EQ(cc.ssthresh, 30000);
	CHECK_EQ(cc.undos, 1);
	/* Nothing to undo twice. */
	cc.cwnd = 5000;
	ptcp_cc_undo(&cc);
	CHECK_EQ(cc.cwnd, 5000);
	CHECK_EQ(cc.undos, 1);
	/* An undo never shrinks a window that grew meanwhile. */
	ptcp_cc_on_congestion(&cc, 5000, 0);
	cc.cwnd = 40000;
	ptcp_cc_undo(&cc);
	CHECK_EQ(cc.cwnd, 40000);
	CHECK_EQ(cc.ssthresh, 30000);
}

static void test_saturation(void)
{
	struct ptcp_cc cc;
	int i;

	/* IW of 2 * 3 GB saturates. */
	ptcp_cc_init(&cc, RENO, 0xc0000000u);
	CHECK_EQ(cc.cwnd, UINT32_MAX);
	/* Slow start at the top. */
	ptcp_cc_init(&cc, RENO, 1000);
	cc.cwnd = UINT32_MAX - 10;
	ack(&cc, 1000, true);
	CHECK_EQ(cc.cwnd, UINT32_MAX);
	/* Congestion avoidance at the top (cwnd == ssthresh). */
	for (i = 0; i < 3; i++)
		ack(&cc, UINT32_MAX, true);
	CHECK_EQ(cc.cwnd, UINT32_MAX);
	CHECK(cc.ca_acked < cc.cwnd);
	/* The loss floor with a huge SMSS: 2 * SMSS saturates. */
	ptcp_cc_init(&cc, RENO, 0x80000000u);
	ptcp_cc_on_congestion(&cc, UINT32_MAX, 0);
	CHECK_EQ(cc.ssthresh, UINT32_MAX);
}

/* ---- CUBIC (RFC 9438) --------------------------------------------------------- */

static void test_cube_root(void)
{
	uint64_t x;

	CHECK_EQ(ptcp_cc_cbrt(0), 0);
	CHECK_EQ(ptcp_cc_cbrt(7), 1);
	CHECK_EQ(ptcp_cc_cbrt(8), 2);
	CHECK_EQ(ptcp_cc_cbrt(1000000), 100);
	CHECK_EQ(ptcp_cc_cbrt(999999), 99);
	CHECK_EQ(ptcp_cc_cbrt(UINT64_MAX), 2642245);
	for (x = 1; x < 2000000; x = x * 3 + 1) {
		uint64_t r = ptcp_cc_cbrt(x);

		CHECK(r * r * r <= x && (r + 1) * (r + 1) * (r + 1) > x);
	}
}

/* 4.6, 4.7: beta 0.7 of cwnd; fast convergence when W_max falls. */
static void test_cubic_reduction(void)
{
	struct ptcp_cc cc;

	ptcp_cc_init(&cc, CUBIC, 1000);
	cc.cwnd = 100000;
	ptcp_cc_on_congestion(&cc, 60000, 0); /* cwnd, not FlightSize */
	CHECK_EQ(cc.ssthresh, 70000);
	CHECK_EQ(cc.w_max, 100000);
	ptcp_cc_end_recovery(&cc);
	CHECK_EQ(cc.cwnd, 70000);
	/* The next event at a lower window: W_max = cwnd * (1 + 0.7) / 2. */
	cc.cwnd = 80000;
	ptcp_cc_on_congestion(&cc, 80000, 0);
	CHECK_EQ(cc.w_max, 68000);
	CHECK_EQ(cc.ssthresh, 56000);
	/* Undo brings W_max back too (4.9). */
	ptcp_cc_undo(&cc);
	CHECK_EQ(cc.w_max, 100000);
	CHECK_EQ(cc.cwnd, 80000);
	/* The floor of two segments. */
	cc.cwnd = 2500;
	ptcp_cc_on_congestion(&cc, 2500, 0);
	CHECK_EQ(cc.ssthresh, 2000);
}

/* Feeds one window of ACKs (one per SMSS) at time t with RTT rtt. */
static void cubic_round(struct ptcp_cc *cc, ptcp_ts t, uint64_t rtt)
{
	uint32_t w = cc->cwnd, done;

	for (done = 0; done < w; done += cc->smss) {
		struct ptcp_cc_ack a = { .acked = cc->smss, .cwnd_limited = true, .now = t,
		                         .rtt = rtt, .srtt = rtt };

		ptcp_cc_on_ack(cc, &a);
	}
}

/* 4.2: after a reduction from W_max = 1000 segments to 700, the window
 * climbs back along the cubic, reaching W_max at K = cbrt(300 / 0.4) =
 * 9.09 s, concave before (fast, then slowing) and convex after. RTT 100 ms,
 * far from the Reno-friendly region. */
static void test_cubic_curve(void)
{
	const uint64_t rtt = 100 * PTCP_NS_PER_MS;
	struct ptcp_cc cc;
	uint32_t at_1s = 0, at_k = 0, at_k2 = 0, prev = 0;
	ptcp_ts t;

	ptcp_cc_init(&cc, CUBIC, 1000);
	cc.cwnd = 1000000;
	cc.hs_done = true;
	ptcp_cc_on_congestion(&cc, cc.cwnd, 0);
	ptcp_cc_end_recovery(&cc);
	CHECK_EQ(cc.cwnd, 700000);
	for (t = 0; t <= 12 * PTCP_NS_PER_S; t += rtt) {
		cubic_round(&cc, t, rtt);
		CHECK(cc.cwnd >= prev);
		prev = cc.cwnd;
		if (t == 1 * PTCP_NS_PER_S)
			at_1s = cc.cwnd;
		if (t == 9100 * PTCP_NS_PER_MS)
			at_k = cc.cwnd;
		if (t == 11 * PTCP_NS_PER_S)
			at_k2 = cc.cwnd;
	}
	/* cbrt(750) = 9.0856 s */
	CHECK(cc.k >= 9080 * PTCP_NS_PER_MS && cc.k <= 9090 * PTCP_NS_PER_MS);
	/* W(1 s + RTT) = 0.4 (1.1 - 9.09)^3 + 1000 = 796 segments. */
	CHECK(at_1s > 780000 && at_1s < 810000);
	/* At K the window is at W_max (within what one RTT adds). */
	CHECK(at_k > 990000 && at_k < 1010000);
	/* 2 s past K: W(2.0 s) = 1003 segments; convex from there. */
	CHECK(at_k2 > 1001000 && at_k2 < 1010000);
	CHECK(cc.cwnd > 1008000); /* W(12.1 s) = 1011 segments */
}

/* 4.3: on a short round trip Reno would grow faster than the cubic near
 * W_max: cwnd follows the Reno-friendly estimate, alpha = 9/17 SMSS per
 * round trip (beta 0.7 would otherwise be unfair to Reno flows) until it
 * passes W_max, then one SMSS per round trip. */
static void test_cubic_reno_friendly(void)
{
	const uint64_t rtt = PTCP_NS_PER_MS;
	struct ptcp_cc cc;
	ptcp_ts t;

	ptcp_cc_init(&cc, CUBIC, 1000);
	cc.cwnd = 20000;
	cc.hs_done = true;
	ptcp_cc_on_congestion(&cc, cc.cwnd, 0);
	ptcp_cc_end_recovery(&cc); /* 14 segments, W_max 20, K = 2.47 s */
	for (t = 0; t < 10 * rtt; t += rtt)
		cubic_round(&cc, t, rtt);
	/* 10 round trips * 9/17 = 5.3 segments more. */
	CHECK(cc.cwnd >= 14000 + 5000 && cc.cwnd <= 14000 + 5600);
	for (; t < 110 * rtt; t += rtt)
		cubic_round(&cc, t, rtt);
	/* Past W_max after about 11 round trips, then one per round trip:
	 * the cubic alone (K = 2.47 s) would still be below 20 segments. */
	CHECK(cc.cwnd >= 20000 + 97000 && cc.cwnd <= 20000 + 101000);
	CHECK(cc.k / PTCP_NS_PER_MS >= 2460 && cc.k / PTCP_NS_PER_MS <= 2470);
}

/* CUBIC's slow start takes up to 8 SMSS per ACK (RFC 9406's L for a
 * sender that does not pace). */
static void test_cubic_slow_start_limit(void)
{
	struct ptcp_cc cc;

	ptcp_cc_init(&cc, CUBIC, 1000);
	ack(&cc, 20000, true);
	CHECK_EQ(cc.cwnd, 4000 + 8000);
	ptcp_cc_init(&cc, RENO, 1000);
	ack(&cc, 20000, true);
	CHECK_EQ(cc.cwnd, 4000 + 2000);
}

/* ---- HyStart++ (RFC 9406) ------------------------------------------------------ */

/* One round of slow start as HyStart++ counts them: ACKs of one SMSS,
 * each with RTT rtt, each answered by as much new data as cwnd allows,
 * until the next ACK would reach the end of the round (SND.NXT when the
 * round began) and so begin the next. */
static unsigned hs_round(struct ptcp_cc *cc, ptcp_seq *una, ptcp_seq *nxt, uint64_t rtt)
{
	bool first = true;
	unsigned n = 0;

	if (ptcp_seq_lt(*nxt, *una + cc->cwnd))
		*nxt = *una + cc->cwnd;
	while (first || !ptcp_seq_ge(*una + cc->smss, cc->hs_window_end)) {
		struct ptcp_cc_ack a = { .acked = cc->smss, .cwnd_limited = true, .rtt = rtt,
		                         .srtt = rtt };

		*una += cc->smss;
		a.ack = *una;
		a.snd_nxt = *nxt;
		ptcp_cc_on_ack(cc, &a);
		*nxt = *una + cc->cwnd; /* the answer to this ACK */
		first = false;
		n++;
		if (cc->hs_done)
			break;
	}
	return n;
}

/* The round trip grows by more than max(4 ms, min(lastRoundMinRTT / 8,
 * 16 ms)): conservative slow start, a quarter of the growth; if it holds
 * for 5 rounds, congestion avoidance from there (ssthresh = cwnd). */
static void test_hystart_exit(void)
{
	const uint64_t ms = PTCP_NS_PER_MS;
	struct ptcp_cc cc;
	ptcp_seq una = 1, nxt = 1;
	uint32_t before;
	int i;

	unsigned n;

	ptcp_cc_init(&cc, CUBIC, 1000);
	cc.cwnd = 10000; /* enough ACKs per round for the 8 samples */
	/* Slow start: one SMSS per SMSS acked. */
	before = cc.cwnd;
	n = hs_round(&cc, &una, &nxt, 20 * ms);
	CHECK_EQ(cc.cwnd, before + n * 1000);
	before = cc.cwnd;
	n = hs_round(&cc, &una, &nxt, 20 * ms);
	CHECK(!cc.hs_css);
	CHECK_EQ(cc.cwnd, before + n * 1000);
	/* +3 ms: less than 4 ms, still slow start. */
	before = cc.cwnd;
	n = hs_round(&cc, &una, &nxt, 23 * ms);
	CHECK(!cc.hs_css);
	CHECK_EQ(cc.cwnd, before + n * 1000);
	/* +4 ms over the last round's 23: CSS from the 8th sample on (7
	 * ACKs at full growth, the rest at a quarter). */
	before = cc.cwnd;
	n = hs_round(&cc, &una, &nxt, 27 * ms);
	CHECK(cc.hs_css);
	CHECK(n > 8);
	CHECK_EQ(cc.cwnd, before + 7 * 1000 + (n - 7) * 250);
	before = cc.cwnd;
	n = hs_round(&cc, &una, &nxt, 27 * ms);
	CHECK_EQ(cc.cwnd, before + n * 250); /* growth / 4 */
	for (i = 0; i < 4; i++)
		hs_round(&cc, &una, &nxt, 27 * ms);
	CHECK(!cc.hs_css);
	CHECK(cc.hs_done);
	CHECK_EQ(cc.hs_exits, 1);
	CHECK(cc.ssthresh != UINT32_MAX);
	CHECK(cc.cwnd >= cc.ssthresh);
}

/* An RTT rise that goes away: back to slow start (RFC 9406 4.2). */
static void test_hystart_spurious_css(void)
{
	const uint64_t ms = PTCP_NS_PER_MS;
	struct ptcp_cc cc;
	ptcp_seq una = 1, nxt = 1;
	uint32_t before;

	ptcp_cc_init(&cc, CUBIC, 1000);
	cc.cwnd = 10000;
	hs_round(&cc, &una, &nxt, 20 * ms);
	hs_round(&cc, &una, &nxt, 30 * ms);
	CHECK(cc.hs_css);
	hs_round(&cc, &una, &nxt, 20 * ms);
	CHECK(!cc.hs_css);
	before = cc.cwnd;
	{
		unsigned n = hs_round(&cc, &una, &nxt, 20 * ms);

		CHECK_EQ(cc.cwnd, before + n * 1000);
	}
	CHECK_EQ(cc.ssthresh, UINT32_MAX);
}

int main(void)
{
	RUN(test_initial_window);
	RUN(test_slow_start);
	RUN(test_no_growth_when_not_cwnd_limited);
	RUN(test_congestion_avoidance_per_rtt);
	RUN(test_congestion_event);
	RUN(test_rto);
	RUN(test_undo);
	RUN(test_saturation);
	RUN(test_cube_root);
	RUN(test_cubic_reduction);
	RUN(test_cubic_curve);
	RUN(test_cubic_reno_friendly);
	RUN(test_cubic_slow_start_limit);
	RUN(test_hystart_exit);
	RUN(test_hystart_spurious_css);
	return check_summary();
}
