/* Congestion control windows: RFC 5681 slow start (with RFC 3465 byte
 * counting) and congestion avoidance, the reduction of a congestion event,
 * the loss window after a timeout and the undo of a spurious reduction,
 * worked out from the RFC formulas. */
#include "cc.h"
#include "check.h"

static void test_initial_window(void)
{
	struct ptcp_cc cc;

	/* RFC 5681 (3.1): 4 segments up to 1095, 3 up to 2190, else 2. */
	ptcp_cc_init(&cc, 536);
	CHECK_EQ(cc.cwnd, 2144);
	CHECK_EQ(cc.ssthresh, UINT32_MAX);
	ptcp_cc_init(&cc, 1095);
	CHECK_EQ(cc.cwnd, 4380);
	ptcp_cc_init(&cc, 1096);
	CHECK_EQ(cc.cwnd, 3288);
	ptcp_cc_init(&cc, 2190);
	CHECK_EQ(cc.cwnd, 6570);
	ptcp_cc_init(&cc, 2191);
	CHECK_EQ(cc.cwnd, 4382);
	ptcp_cc_init(&cc, 8960);
	CHECK_EQ(cc.cwnd, 17920);
	/* The peer's MSS (and timestamps) arrive before any data. */
	ptcp_cc_init(&cc, 536);
	ptcp_cc_set_smss(&cc, 1448);
	CHECK_EQ(cc.smss, 1448);
	CHECK_EQ(cc.cwnd, 4344);
	/* SMSS 0 falls back to 536 instead of a zero window. */
	ptcp_cc_init(&cc, 0);
	CHECK_EQ(cc.smss, 536);
	CHECK_EQ(cc.cwnd, 2144);
}

static void test_slow_start(void)
{
	struct ptcp_cc cc;
	int i;

	/* SMSS 1000: IW 4000, ssthresh 10000. */
	ptcp_cc_init(&cc, 1000);
	cc.ssthresh = 10000;
	for (i = 1; i <= 3; i++) {
		ptcp_cc_on_ack(&cc, 1000, true, 0);
		CHECK_EQ(cc.cwnd, 4000 + 1000 * (uint32_t)i);
	}
	/* A delayed ACK for two segments adds two (RFC 3465, L = 2). */
	ptcp_cc_on_ack(&cc, 2000, true, 0);
	CHECK_EQ(cc.cwnd, 9000);
	/* A small ACK adds what it acks; a stretch ACK at most 2 * SMSS,
	 * and slow start stops at ssthresh. */
	ptcp_cc_on_ack(&cc, 500, true, 0);
	CHECK_EQ(cc.cwnd, 9500);
	ptcp_cc_on_ack(&cc, 5000, true, 0);
	CHECK_EQ(cc.cwnd, 10000);
	/* cwnd >= ssthresh: congestion avoidance, no growth per ACK. */
	ptcp_cc_on_ack(&cc, 1000, true, 0);
	CHECK_EQ(cc.cwnd, 10000);
	CHECK_EQ(cc.ca_acked, 1000);
}

/* A window the sender did not fill proves nothing (RFC 7661). */
static void test_no_growth_when_not_cwnd_limited(void)
{
	struct ptcp_cc cc;

	ptcp_cc_init(&cc, 1000);
	ptcp_cc_on_ack(&cc, 1000, false, 0);
	CHECK_EQ(cc.cwnd, 4000);
	cc.ssthresh = 4000;
	ptcp_cc_on_ack(&cc, 4000, false, 0);
	CHECK_EQ(cc.cwnd, 4000);
	CHECK_EQ(cc.ca_acked, 0);
}

static void test_congestion_avoidance_per_rtt(void)
{
	struct ptcp_cc cc;
	uint32_t rtt, k, w;

	/* cwnd = ssthresh = 10000, SMSS 1000: each window acked segment by
	 * segment adds exactly one SMSS, on its last ACK (RFC 5681 3.1). */
	ptcp_cc_init(&cc, 1000);
	cc.cwnd = cc.ssthresh = 10000;
	for (rtt = 0; rtt < 10; rtt++) {
		w = cc.cwnd;
		for (k = 0; k < w / 1000; k++) {
			ptcp_cc_on_ack(&cc, 1000, true, 0);
			CHECK_EQ(cc.cwnd, k + 1 < w / 1000 ? w : w + 1000);
		}
		CHECK_EQ(cc.ca_acked, 0);
	}
	CHECK_EQ(cc.cwnd, 20000);
	/* A stretch ACK for two and a half windows is still one SMSS. */
	ptcp_cc_init(&cc, 1000);
	cc.cwnd = cc.ssthresh = 10000;
	ptcp_cc_on_ack(&cc, 25000, true, 0);
	CHECK_EQ(cc.cwnd, 11000);
	CHECK(cc.ca_acked < cc.cwnd);
}

/* RFC 5681 (4) / RFC 6675 5 step 4.2: ssthresh = max(FlightSize / 2,
 * 2 * SMSS); cwnd waits for the end of recovery (PRR brings the flight
 * down), then is ssthresh (RFC 6937). */
static void test_congestion_event(void)
{
	struct ptcp_cc cc;

	ptcp_cc_init(&cc, 1000);
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

	ptcp_cc_init(&cc, 1000);
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
	ptcp_cc_on_ack(&cc, 1000, true, 0);
	CHECK_EQ(cc.cwnd, 2000);
}

/* RFC 3522 / RFC 3708: a reduction whose losses were spurious goes back. */
static void test_undo(void)
{
	struct ptcp_cc cc;

	ptcp_cc_init(&cc, 1000);
	cc.cwnd = 20000;
	cc.ssthresh = 30000;
	ptcp_cc_on_rto(&cc, 20000, true, 0);
	ptcp_cc_on_ack(&cc, 1000, true, 0);
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
	ptcp_cc_init(&cc, 0xc0000000u);
	CHECK_EQ(cc.cwnd, UINT32_MAX);
	/* Slow start at the top. */
	ptcp_cc_init(&cc, 1000);
	cc.cwnd = UINT32_MAX - 10;
	ptcp_cc_on_ack(&cc, 1000, true, 0);
	CHECK_EQ(cc.cwnd, UINT32_MAX);
	/* Congestion avoidance at the top (cwnd == ssthresh). */
	for (i = 0; i < 3; i++)
		ptcp_cc_on_ack(&cc, UINT32_MAX, true, 0);
	CHECK_EQ(cc.cwnd, UINT32_MAX);
	CHECK(cc.ca_acked < cc.cwnd);
	/* The loss floor with a huge SMSS: 2 * SMSS saturates. */
	ptcp_cc_init(&cc, 0x80000000u);
	ptcp_cc_on_congestion(&cc, UINT32_MAX, 0);
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
	return check_summary();
}
