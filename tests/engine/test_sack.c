/* The sender's use of the peer's SACK blocks (RFC 2018, RFC 6675):
 * retransmitting the holes the scoreboard shows lost during recovery, not
 * resending what the peer holds after a timeout, and RFC 3042 limited
 * transmit. Peer MSS 500 keeps the numbers small. */
#include "check.h"
#include "script.h"

static struct ptcp_options sack2(unsigned n, ptcp_seq l0, ptcp_seq r0, ptcp_seq l1, ptcp_seq r1)
{
	struct ptcp_options o = { .sack_count = (uint8_t)n };

	o.sack[0].left = l0;
	o.sack[0].right = r0;
	o.sack[1].left = l1;
	o.sack[1].right = r1;
	return o;
}

/* ESTABLISHED with SACK on both sides, peer MSS 500. */
static struct script *sack_conn(void)
{
	struct ptcp_config cfg;
	struct script *s;

	sc_config(&cfg);
	cfg.sack = true;
	s = sc_new(&cfg);
	s->peer_sackp = true;
	s->peer_mss = 500;
	if (!sc_goto(s, PTCP_ESTABLISHED)) {
		sc_finish(s);
		return NULL;
	}
	return s;
}

/* Eight segments of 500 in flight from B = ISS + 2001: the first four
 * segments are sent and acknowledged one by one so slow start opens cwnd
 * from 2000 to 4000. */
static struct script *eight_in_flight(ptcp_seq *base)
{
	struct script *s = sack_conn();
	unsigned i;

	if (!s)
		return NULL;
	SEND(s, 0, 6000);
	for (i = 0; i < 4; i++)
		EXPECT(s, 0, .flags = ACK, .seq = ISS + 1 + 500 * i, .ack = IRS + 1, .len = 500);
	for (i = 0; i < 4; i++) {
		INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 501 + 500 * i);
		EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 2001 + 500 * (2 * i), .ack = IRS + 1,
		       .len = 500);
		EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 2001 + 500 * (2 * i + 1), .ack = IRS + 1,
		       .len = 500);
	}
	EXPECT_NOTHING(s, MS(10));
	CHECK_EQ(sc_stats(s).cwnd, 4000);
	*base = ISS + 2001;
	return s;
}

/* Segments 0 and 2 of eight are lost. The third duplicate ACK retransmits
 * segment 0 (RFC 5681); the fourth, whose SACK blocks show more than
 * 2 * SMSS held above segment 2, retransmits segment 2 at once (RFC 6675
 * IsLost) instead of waiting for the partial ACK as plain NewReno would;
 * the partial ACK then sends nothing more. */
static void test_recovery_retransmits_each_lost_hole_once(void)
{
	ptcp_seq b;
	struct script *s = eight_in_flight(&b);

	if (!s)
		return;
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 1000, 0, 0));
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = b,
	       .opt = sack2(2, b + 1500, b + 2000, b + 500, b + 1000));
	EXPECT_NOTHING(s, MS(20));
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = b,
	       .opt = sack2(2, b + 1500, b + 2500, b + 500, b + 1000));
	EXPECT(s, MS(20), .flags = ACK, .seq = b, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, MS(20));
	INJECT(s, MS(21), .flags = ACK, .seq = IRS + 1, .ack = b,
	       .opt = sack2(2, b + 1500, b + 3000, b + 500, b + 1000));
	EXPECT(s, MS(21), .flags = ACK, .seq = b + 1000, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, MS(21));
	INJECT(s, MS(22), .flags = ACK, .seq = IRS + 1, .ack = b,
	       .opt = sack2(2, b + 1500, b + 3500, b + 500, b + 1000));
	INJECT(s, MS(22), .flags = ACK, .seq = IRS + 1, .ack = b,
	       .opt = sack2(2, b + 1500, b + 4000, b + 500, b + 1000));
	EXPECT_NOTHING(s, MS(22));
	/* The retransmitted segment 0 arrives: a partial ACK up to the hole
	 * that was already resent. */
	INJECT(s, MS(23), .flags = ACK, .seq = IRS + 1, .ack = b + 1000,
	       .opt = sack2(1, b + 1500, b + 4000, 0, 0));
	EXPECT_NOTHING(s, MS(23));
	INJECT(s, MS(24), .flags = ACK, .seq = IRS + 1, .ack = b + 4000);
	EXPECT_NOTHING(s, MS(24));
	CHECK_EQ(sc_stats(s).retransmits, 2);
	CHECK_EQ(ptcp_conn_send_pending(s->c), 0);
	sc_finish(s);
}

/* RFC 6675 IsLost: a hole with no more than 2 * SMSS SACKed above it is
 * not yet lost (it may be reordering), so nothing beyond the fast
 * retransmit goes out. */
static void test_hole_with_little_sacked_above_waits(void)
{
	ptcp_seq b;
	struct script *s = eight_in_flight(&b);

	if (!s)
		return;
	/* Segments 0 and 6 missing: after the fast retransmit of 0, only one
	 * segment (7) lies SACKed above the hole at 6. */
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 1000, 0, 0));
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 1500, 0, 0));
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 2000, 0, 0));
	EXPECT(s, MS(20), .flags = ACK, .seq = b, .ack = IRS + 1, .len = 500);
	INJECT(s, MS(21), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 2500, 0, 0));
	INJECT(s, MS(21), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 3000, 0, 0));
	INJECT(s, MS(21), .flags = ACK, .seq = IRS + 1, .ack = b,
	       .opt = sack2(2, b + 3500, b + 4000, b + 500, b + 3000));
	EXPECT_NOTHING(s, MS(21));
	CHECK_EQ(sc_stats(s).retransmits, 1);
	sc_finish(s);
}

/* After a retransmission timeout the sender goes back to SND.UNA but does
 * not resend what the peer's SACK blocks said it holds. */
static void test_go_back_after_timeout_skips_sacked_data(void)
{
	struct script *s = sack_conn();

	if (!s)
		return;
	SEND(s, 0, 2000);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 500);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 501, .ack = IRS + 1, .len = 500);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1001, .ack = IRS + 1, .len = 500);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1501, .ack = IRS + 1, .len = 500);
	/* Segments 0 and 2 lost: two duplicate ACKs, too few to recover. */
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1,
	       .opt = sack2(1, ISS + 501, ISS + 1001, 0, 0));
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1,
	       .opt = sack2(2, ISS + 1501, ISS + 2001, ISS + 501, ISS + 1001));
	EXPECT_NOTHING(s, SEC(1) - 1);
	EXPECT(s, SEC(1), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, SEC(1));
	/* Segment 0 arrives: the ACK covers 0 and 1; cwnd 2 SMSS now allows
	 * two segments, but only segment 2 is missing: segment 3 is held. */
	INJECT(s, SEC(1) + MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1001,
	       .opt = sack2(1, ISS + 1501, ISS + 2001, 0, 0));
	EXPECT(s, SEC(1) + MS(10), .flags = ACK, .seq = ISS + 1001, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, SEC(1) + MS(10));
	INJECT(s, SEC(1) + MS(20), .flags = ACK, .seq = IRS + 1, .ack = ISS + 2001);
	EXPECT_NOTHING(s, SEC(2));
	CHECK_EQ(sc_stats(s).retransmits, 2);
	sc_finish(s);
}

/* RFC 3042: the first and second duplicate ACKs each let one new segment
 * out, if the peer's window allows, without changing cwnd. */
static void test_limited_transmit_sends_new_data_on_first_dupacks(void)
{
	struct script *s = sack_conn();

	if (!s)
		return;
	SEND(s, 0, 3000);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 500);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 501, .ack = IRS + 1, .len = 500);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1001, .ack = IRS + 1, .len = 500);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1501, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, 0);
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1,
	       .opt = sack2(1, ISS + 501, ISS + 1001, 0, 0));
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 2001, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, MS(10));
	INJECT(s, MS(11), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1,
	       .opt = sack2(1, ISS + 501, ISS + 1501, 0, 0));
	EXPECT(s, MS(11), .flags = ACK, .seq = ISS + 2501, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, MS(11));
	CHECK_EQ(sc_stats(s).cwnd, 2000);
	/* The third one is fast retransmit, as usual. */
	INJECT(s, MS(12), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1,
	       .opt = sack2(1, ISS + 501, ISS + 2001, 0, 0));
	EXPECT(s, MS(12), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 500);
	sc_finish(s);
}

int main(void)
{
	RUN(test_recovery_retransmits_each_lost_hole_once);
	RUN(test_hole_with_little_sacked_above_waits);
	RUN(test_go_back_after_timeout_skips_sacked_data);
	RUN(test_limited_transmit_sends_new_data_on_first_dupacks);
	return check_summary();
}
