/* Congestion control, RFC 5681 and RFC 6582 NewReno: scenarios with the
 * windows worked out from the RFC formulas. A tiny sender model keeps
 * SND.UNA and SND.NXT so that ACKs and FlightSize are realistic. */
#include "cc.h"
#include "check.h"

struct sender {
	struct ptcp_cc cc;
	ptcp_seq una;  /* SND.UNA */
	ptcp_seq nxt;  /* SND.NXT */
};

static void sender_init(struct sender *s, uint32_t smss, uint32_t ssthresh, ptcp_seq iss)
{
	ptcp_cc_init(&s->cc, smss, ssthresh);
	s->una = iss;
	s->nxt = iss;
}

static void send_bytes(struct sender *s, uint32_t n)
{
	s->nxt += n;
}

/* An ACK for everything before ack. */
static enum ptcp_cc_action ack_to(struct sender *s, ptcp_seq ack)
{
	uint32_t acked = ack - s->una, flight = s->nxt - s->una;
	enum ptcp_cc_action a = ptcp_cc_on_ack(&s->cc, acked, ack, flight, s->nxt);

	s->una = ack;
	return a;
}

static enum ptcp_cc_action dupack(struct sender *s)
{
	return ptcp_cc_on_dupack(&s->cc, s->una, s->nxt - s->una, s->nxt);
}

static void test_initial_window(void)
{
	struct ptcp_cc cc;

	/* RFC 5681 (3.1): 4 segments up to 1095, 3 up to 2190, else 2. */
	ptcp_cc_init(&cc, 536, 0);
	CHECK_EQ(cc.cwnd, 2144);
	CHECK_EQ(cc.ssthresh, UINT32_MAX);
	CHECK(!cc.in_recovery);
	CHECK(!cc.recover_valid);
	CHECK_EQ(cc.dupacks, 0);
	ptcp_cc_init(&cc, 1095, 0);
	CHECK_EQ(cc.cwnd, 4380);
	ptcp_cc_init(&cc, 1096, 0);
	CHECK_EQ(cc.cwnd, 3288);
	ptcp_cc_init(&cc, 1460, 65535);
	CHECK_EQ(cc.cwnd, 4380);
	CHECK_EQ(cc.ssthresh, 65535);
	ptcp_cc_init(&cc, 2190, 0);
	CHECK_EQ(cc.cwnd, 6570);
	ptcp_cc_init(&cc, 2191, 0);
	CHECK_EQ(cc.cwnd, 4382);
	ptcp_cc_init(&cc, 8960, 0);
	CHECK_EQ(cc.cwnd, 17920);
	/* The peer's MSS arrives before any data: recompute IW. */
	ptcp_cc_init(&cc, 536, 0);
	ptcp_cc_set_smss(&cc, 1460);
	CHECK_EQ(cc.smss, 1460);
	CHECK_EQ(cc.cwnd, 4380);
	ptcp_cc_set_smss(&cc, 9000);
	CHECK_EQ(cc.cwnd, 18000);
	/* SMSS 0 falls back to 536 instead of a zero window. */
	ptcp_cc_init(&cc, 0, 0);
	CHECK_EQ(cc.smss, 536);
	CHECK_EQ(cc.cwnd, 2144);
}

static void test_slow_start(void)
{
	struct sender s;
	int i;

	/* SMSS 1000: IW 4000, ssthresh 10000. Each full-sized ACK adds 1000
	 * (RFC 5681 (2)); six ACKs reach ssthresh. */
	sender_init(&s, 1000, 10000, 1);
	send_bytes(&s, 4000);
	for (i = 1; i <= 4; i++) {
		CHECK_EQ(ack_to(&s, s.una + 1000), PTCP_CC_NONE);
		CHECK_EQ(s.cc.cwnd, 4000 + 1000 * (uint32_t)i);
	}
	send_bytes(&s, 8000);
	/* A small ACK adds only what it acks: min(N, SMSS). */
	ack_to(&s, s.una + 500);
	CHECK_EQ(s.cc.cwnd, 8500);
	/* A stretch ACK of 3000 bytes adds at most SMSS. */
	ack_to(&s, s.una + 3000);
	CHECK_EQ(s.cc.cwnd, 9500);
	ack_to(&s, s.una + 1000);
	CHECK_EQ(s.cc.cwnd, 10500);
	CHECK_EQ(s.cc.ca_acked, 0);
	/* cwnd >= ssthresh: congestion avoidance, no growth per ACK. */
	ack_to(&s, s.una + 1000);
	CHECK_EQ(s.cc.cwnd, 10500);
	CHECK_EQ(s.cc.ca_acked, 1000);
}

static void test_congestion_avoidance_per_rtt(void)
{
	struct sender s;
	uint32_t rtt, k, w;

	/* cwnd = ssthresh = 10000, SMSS 1000. Each RTT a full window is sent
	 * and acked per segment; byte counting adds exactly one SMSS per
	 * window (RFC 5681 section 3.1). */
	sender_init(&s, 1000, 10000, 0xfffff000u); /* crosses 2^32 */
	s.cc.cwnd = 10000;
	for (rtt = 0; rtt < 10; rtt++) {
		w = s.cc.cwnd;
		send_bytes(&s, w);
		for (k = 0; k < w / 1000; k++) {
			ack_to(&s, s.una + 1000);
			/* Growth happens only on the window's last ACK. */
			CHECK_EQ(s.cc.cwnd, k + 1 < w / 1000 ? w : w + 1000);
		}
		CHECK_EQ(s.cc.ca_acked, 0);
	}
	CHECK_EQ(s.cc.cwnd, 20000);

	/* Small ACKs of 100 bytes: 100 of them acknowledge one window. */
	sender_init(&s, 1000, 10000, 0);
	s.cc.cwnd = 10000;
	send_bytes(&s, 10000);
	for (k = 0; k < 99; k++)
		ack_to(&s, s.una + 100);
	CHECK_EQ(s.cc.cwnd, 10000);
	CHECK_EQ(s.cc.ca_acked, 9900);
	ack_to(&s, s.una + 100);
	CHECK_EQ(s.cc.cwnd, 11000);

	/* A stretch ACK for two and a half windows is still one SMSS. */
	sender_init(&s, 1000, 10000, 0);
	s.cc.cwnd = 10000;
	send_bytes(&s, 25000);
	ack_to(&s, s.una + 25000);
	CHECK_EQ(s.cc.cwnd, 11000);
	CHECK(s.cc.ca_acked < s.cc.cwnd);
}

/* Sets up SMSS 1000, cwnd 20000 (in CA) with 20 segments outstanding from
 * 5000, and runs the three duplicate ACKs. */
static void enter_recovery(struct sender *s)
{
	sender_init(s, 1000, 15000, 5000);
	s->cc.cwnd = 20000;
	send_bytes(s, 20000);  /* una 5000, nxt 25000 */
	CHECK_EQ(dupack(s), PTCP_CC_NONE);
	CHECK_EQ(dupack(s), PTCP_CC_NONE);
	CHECK_EQ(s->cc.cwnd, 20000);
	CHECK_EQ(dupack(s), PTCP_CC_RETRANSMIT);
}

static void test_fast_retransmit(void)
{
	struct sender s;

	enter_recovery(&s);
	/* RFC 5681 section 3.2 (2) and (3): ssthresh = 20000 / 2 = 10000,
	 * cwnd = 10000 + 3 * 1000. RFC 6582: recover = SND.NXT. */
	CHECK_EQ(s.cc.ssthresh, 10000);
	CHECK_EQ(s.cc.cwnd, 13000);
	CHECK(s.cc.in_recovery);
	CHECK(s.cc.recover_valid);
	CHECK_EQ(s.cc.recover, 25000);
	CHECK_EQ(s.cc.recovery_count, 1);
	/* (4): each further duplicate inflates by SMSS. */
	CHECK_EQ(dupack(&s), PTCP_CC_NONE);
	CHECK_EQ(s.cc.cwnd, 14000);
	CHECK_EQ(dupack(&s), PTCP_CC_NONE);
	CHECK_EQ(s.cc.cwnd, 15000);
	CHECK_EQ(s.cc.ssthresh, 10000);
	CHECK_EQ(s.cc.recovery_count, 1);

	/* The 2*SMSS floor of (4): FlightSize 3000 gives max(1500, 2000). */
	sender_init(&s, 1000, 0, 0);
	send_bytes(&s, 3000);
	dupack(&s);
	dupack(&s);
	CHECK_EQ(dupack(&s), PTCP_CC_RETRANSMIT);
	CHECK_EQ(s.cc.ssthresh, 2000);
	CHECK_EQ(s.cc.cwnd, 5000);
}

static void test_dupacks_reset_by_new_ack(void)
{
	struct sender s;

	sender_init(&s, 1000, 0, 0);
	send_bytes(&s, 4000);
	dupack(&s);
	dupack(&s);
	ack_to(&s, 1000);
	CHECK_EQ(s.cc.dupacks, 0);
	CHECK_EQ(dupack(&s), PTCP_CC_NONE);
	CHECK_EQ(dupack(&s), PTCP_CC_NONE);
	CHECK(!s.cc.in_recovery);
	CHECK_EQ(dupack(&s), PTCP_CC_RETRANSMIT);
	CHECK(s.cc.in_recovery);
}

static void test_partial_and_full_ack(void)
{
	struct sender s;

	enter_recovery(&s);
	dupack(&s);
	dupack(&s);                     /* cwnd 15000 */
	/* Partial ACK of 3000 (8000 < recover 25000): deflate by 3000 and
	 * add back SMSS since at least SMSS was acked (RFC 6582 step 3). */
	CHECK_EQ(ack_to(&s, 8000), PTCP_CC_RETRANSMIT);
	CHECK_EQ(s.cc.cwnd, 13000);
	CHECK(s.cc.in_recovery);
	/* A partial ACK of less than SMSS gets no add-back. */
	CHECK_EQ(ack_to(&s, 8500), PTCP_CC_RETRANSMIT);
	CHECK_EQ(s.cc.cwnd, 12500);
	/* Duplicates still inflate in recovery. */
	CHECK_EQ(dupack(&s), PTCP_CC_NONE);
	CHECK_EQ(s.cc.cwnd, 13500);
	/* New data went out during recovery. */
	send_bytes(&s, 5000);           /* nxt 30000 */
	/* Full ACK (covers recover 25000): FlightSize after it is
	 * 30000 - 25000 = 5000, so cwnd = min(10000, 5000 + 1000) = 6000. */
	CHECK_EQ(ack_to(&s, 25000), PTCP_CC_NONE);
	CHECK_EQ(s.cc.cwnd, 6000);
	CHECK(!s.cc.in_recovery);
	CHECK_EQ(s.cc.dupacks, 0);
	CHECK_EQ(s.cc.ssthresh, 10000);
	/* Back in slow start below ssthresh. */
	ack_to(&s, 26000);
	CHECK_EQ(s.cc.cwnd, 7000);

	/* Full ACK with much outstanding: min(ssthresh, 12000 + 1000) =
	 * ssthresh. */
	enter_recovery(&s);
	send_bytes(&s, 12000);          /* nxt 37000 */
	CHECK_EQ(ack_to(&s, 25000), PTCP_CC_NONE);
	CHECK_EQ(s.cc.cwnd, 10000);

	/* Full ACK of everything: max(0, SMSS) + SMSS = 2000. */
	enter_recovery(&s);
	CHECK_EQ(ack_to(&s, 25000), PTCP_CC_NONE);
	CHECK_EQ(s.cc.cwnd, 2000);
	CHECK(!s.cc.in_recovery);

	/* An ACK beyond recover is full as well. */
	enter_recovery(&s);
	send_bytes(&s, 3000);
	CHECK_EQ(ack_to(&s, 26000), PTCP_CC_NONE);
	CHECK_EQ(s.cc.cwnd, 3000);  /* 2000 left + 1000 */
	CHECK(!s.cc.in_recovery);
}

static void test_partial_ack_floor(void)
{
	struct sender s;

	/* A partial ACK for 18 of 20 segments deflates 13000 by 18000: the
	 * window stops at 0 instead of wrapping, then gets SMSS back. */
	enter_recovery(&s);
	CHECK_EQ(ack_to(&s, 23000), PTCP_CC_RETRANSMIT);
	CHECK_EQ(s.cc.cwnd, 1000);
	CHECK(s.cc.in_recovery);
	/* 1000 - 500 with no add-back would leave half a segment; the
	 * window is kept at one SMSS. */
	CHECK_EQ(ack_to(&s, 23500), PTCP_CC_RETRANSMIT);
	CHECK_EQ(s.cc.cwnd, 1000);
}

static void test_no_second_recovery(void)
{
	struct sender s;

	enter_recovery(&s);
	/* Full ACK at recover = 25000, then more data and three dupacks at
	 * SND.UNA = 25000. ack - 1 = 24999, the highest byte sent when
	 * recovery began, does not cover more than recover (RFC 6582 section
	 * 3.2 step 2): no new recovery, ssthresh unchanged. */
	ack_to(&s, 25000);
	send_bytes(&s, 4000);
	CHECK_EQ(s.cc.cwnd, 2000);
	CHECK_EQ(dupack(&s), PTCP_CC_NONE);
	CHECK_EQ(dupack(&s), PTCP_CC_NONE);
	CHECK_EQ(dupack(&s), PTCP_CC_NONE);
	CHECK_EQ(dupack(&s), PTCP_CC_NONE);
	CHECK(!s.cc.in_recovery);
	CHECK_EQ(s.cc.ssthresh, 10000);
	CHECK_EQ(s.cc.cwnd, 2000);
	CHECK_EQ(s.cc.recovery_count, 1);
	/* One byte beyond recover acked: the next triple counts. */
	ack_to(&s, 25001);
	dupack(&s);
	dupack(&s);
	CHECK_EQ(dupack(&s), PTCP_CC_RETRANSMIT);
	CHECK_EQ(s.cc.recovery_count, 2);
	CHECK_EQ(s.cc.recover, 29000);
	/* FlightSize 29000 - 25001 = 3999: ssthresh = max(1999, 2000). */
	CHECK_EQ(s.cc.ssthresh, 2000);
}

static void test_rto(void)
{
	struct sender s;

	sender_init(&s, 1000, 0, 100);
	s.cc.cwnd = 20000;
	send_bytes(&s, 20000);
	/* RFC 5681 (4): ssthresh = 20000 / 2, cwnd = LW = 1 SMSS. */
	ptcp_cc_on_rto(&s.cc, s.nxt - s.una, s.nxt, true);
	CHECK_EQ(s.cc.ssthresh, 10000);
	CHECK_EQ(s.cc.cwnd, 1000);
	CHECK(s.cc.recover_valid);
	CHECK_EQ(s.cc.recover, 20100);
	/* The retransmission times out again: ssthresh held constant. */
	ptcp_cc_on_rto(&s.cc, 1000, s.nxt, false);
	CHECK_EQ(s.cc.ssthresh, 10000);
	CHECK_EQ(s.cc.cwnd, 1000);
	/* Slow start from one segment. */
	ack_to(&s, 1100);
	CHECK_EQ(s.cc.cwnd, 2000);
	/* Duplicates of data sent before the timeout (RFC 6582 section 4):
	 * SND.UNA 1100 is below recover, no fast retransmit. */
	CHECK_EQ(dupack(&s), PTCP_CC_NONE);
	CHECK_EQ(dupack(&s), PTCP_CC_NONE);
	CHECK_EQ(dupack(&s), PTCP_CC_NONE);
	CHECK(!s.cc.in_recovery);
	CHECK_EQ(s.cc.cwnd, 2000);
	CHECK_EQ(s.cc.ssthresh, 10000);

	/* An RTO in the middle of fast recovery ends it. */
	enter_recovery(&s);
	ptcp_cc_on_rto(&s.cc, s.nxt - s.una, s.nxt, true);
	CHECK(!s.cc.in_recovery);
	CHECK_EQ(s.cc.cwnd, 1000);
	CHECK_EQ(s.cc.dupacks, 0);
	/* recover never moves back when the caller rewinds SND.NXT. */
	ptcp_cc_on_rto(&s.cc, 1000, s.una + 1000, false);
	CHECK_EQ(s.cc.recover, 25000);
}

static void test_first_recovery_needs_no_recover(void)
{
	struct sender s;

	/* recover was never set: the first triple always counts, even at
	 * sequence numbers that look "below" an uninitialised recover. */
	sender_init(&s, 1000, 0, 0x80000000u);
	send_bytes(&s, 8000);
	dupack(&s);
	dupack(&s);
	CHECK_EQ(dupack(&s), PTCP_CC_RETRANSMIT);
}

static void test_sequence_wrap(void)
{
	struct sender s;

	/* Recovery with recover just past 2^32. */
	sender_init(&s, 1000, 0, 0xffffc000u);
	s.cc.cwnd = 20000;
	send_bytes(&s, 20000);          /* nxt = 0x00000e20 */
	dupack(&s);
	dupack(&s);
	CHECK_EQ(dupack(&s), PTCP_CC_RETRANSMIT);
	CHECK_EQ(s.cc.recover, 0x00000e20u);
	CHECK_EQ(ack_to(&s, 0xfffff000u), PTCP_CC_RETRANSMIT);  /* partial */
	CHECK_EQ(ack_to(&s, 0x00000e20u), PTCP_CC_NONE);        /* full */
	CHECK(!s.cc.in_recovery);
	send_bytes(&s, 5000);
	dupack(&s);
	dupack(&s);
	CHECK_EQ(dupack(&s), PTCP_CC_NONE);  /* snd_una == recover */
	ack_to(&s, 0x00001000u);
	dupack(&s);
	dupack(&s);
	CHECK_EQ(dupack(&s), PTCP_CC_RETRANSMIT);
}

static void test_saturation(void)
{
	struct ptcp_cc cc;
	int i;

	/* IW of 2 * 3 GB saturates. */
	ptcp_cc_init(&cc, 0xc0000000u, 0);
	CHECK_EQ(cc.cwnd, UINT32_MAX);

	/* Slow start at the top. */
	ptcp_cc_init(&cc, 1000, 0);
	cc.cwnd = UINT32_MAX - 10;
	ptcp_cc_on_ack(&cc, 1000, 1000, 1000, 1000);
	CHECK_EQ(cc.cwnd, UINT32_MAX);
	/* Congestion avoidance at the top (cwnd == ssthresh). */
	for (i = 0; i < 3; i++)
		ptcp_cc_on_ack(&cc, UINT32_MAX, 0, UINT32_MAX, 0);
	CHECK_EQ(cc.cwnd, UINT32_MAX);
	CHECK(cc.ca_acked < cc.cwnd);

	/* Fast retransmit with the largest FlightSize and a huge SMSS:
	 * ssthresh + 3 * SMSS saturates, then inflation stays there. */
	ptcp_cc_init(&cc, 0x80000000u, 0);
	ptcp_cc_on_dupack(&cc, 0, UINT32_MAX, 100);
	ptcp_cc_on_dupack(&cc, 0, UINT32_MAX, 100);
	CHECK_EQ(ptcp_cc_on_dupack(&cc, 0, UINT32_MAX, 100), PTCP_CC_RETRANSMIT);
	CHECK_EQ(cc.ssthresh, UINT32_MAX); /* 2 * SMSS = 2^32, saturated */
	CHECK_EQ(cc.cwnd, UINT32_MAX);
	ptcp_cc_on_dupack(&cc, 0, UINT32_MAX, 100);
	CHECK_EQ(cc.cwnd, UINT32_MAX);

	ptcp_cc_init(&cc, 1000, 0);
	cc.in_recovery = true;
	cc.recover_valid = true;
	cc.recover = 5000;
	cc.cwnd = UINT32_MAX - 500;
	ptcp_cc_on_dupack(&cc, 0, 5000, 5000);
	CHECK_EQ(cc.cwnd, UINT32_MAX);
	/* Partial ACK at the top: deflate 1000, add back 1000. */
	CHECK_EQ(ptcp_cc_on_ack(&cc, 1000, 1000, 5000, 5000), PTCP_CC_RETRANSMIT);
	CHECK_EQ(cc.cwnd, UINT32_MAX);
}

int main(void)
{
	RUN(test_initial_window);
	RUN(test_slow_start);
	RUN(test_congestion_avoidance_per_rtt);
	RUN(test_fast_retransmit);
	RUN(test_dupacks_reset_by_new_ack);
	RUN(test_partial_and_full_ack);
	RUN(test_partial_ack_floor);
	RUN(test_no_second_recovery);
	RUN(test_rto);
	RUN(test_first_recovery_needs_no_recover);
	RUN(test_sequence_wrap);
	RUN(test_saturation);
	return check_summary();
}
