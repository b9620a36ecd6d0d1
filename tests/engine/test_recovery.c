/* The sender's loss recovery with SACK: RFC 6675 (IsLost, pipe, NextSeg),
 * PRR (RFC 6937), RACK-TLP (RFC 8985: the reordering timer, lost
 * retransmissions, tail loss probes), undo of spurious retransmissions
 * (D-SACK, RFC 3708; timestamps, RFC 3522), the retransmission timeout
 * with SACK information, and RFC 3042 limited transmit. Peer MSS 500 keeps
 * the numbers small; the handshake's RTT is 10 ms, and so is every data
 * segment's until a test says otherwise (RTO minimum 1 s). */
#include <string.h>

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

/* ESTABLISHED with SACK on both sides, peer MSS 500; with ts, timestamps
 * on both sides too (488 bytes of payload beside the option). */
static struct script *sack_conn_with(bool ts)
{
	struct ptcp_config cfg;
	struct script *s;

	sc_config(&cfg);
	cfg.sack = true;
	cfg.timestamps = ts;
	s = sc_new(&cfg);
	s->peer_sackp = true;
	s->peer_ts = ts;
	s->peer_mss = 500;
	if (!sc_goto(s, PTCP_ESTABLISHED)) {
		sc_finish(s);
		return NULL;
	}
	return s;
}

static struct script *sack_conn(void)
{
	return sack_conn_with(false);
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

/* In recovery, with no reordering seen, RACK's reordering window is 0
 * (RFC 8985 6.2 step 4): a hole sent before a segment that arrived, and
 * more than that segment's RTT ago, is lost, though RFC 6675's IsLost()
 * alone would wait for DupThresh segments above it. */
static void test_rack_in_recovery_needs_no_dupthresh(void)
{
	ptcp_seq b;
	struct script *s = eight_in_flight(&b);

	if (!s)
		return;
	/* Segments 0 and 6 missing: after the fast retransmit of 0, only
	 * segment 7 lies SACKed above the hole at 6. */
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 1000, 0, 0));
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 1500, 0, 0));
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 2000, 0, 0));
	EXPECT(s, MS(20), .flags = ACK, .seq = b, .ack = IRS + 1, .len = 500);
	INJECT(s, MS(21), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 2500, 0, 0));
	INJECT(s, MS(21), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 3000, 0, 0));
	EXPECT_NOTHING(s, MS(21));
	INJECT(s, MS(21), .flags = ACK, .seq = IRS + 1, .ack = b,
	       .opt = sack2(2, b + 3500, b + 4000, b + 500, b + 3000));
	EXPECT(s, MS(21), .flags = ACK, .seq = b + 3000, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, MS(21));
	CHECK_EQ(sc_stats(s).retransmits, 2);
	sc_finish(s);
}

/* RFC 8985 6.2: two losses with only two segments SACKed above them, too
 * few for DupThresh. RACK waits for the reordering window, min_RTT / 4
 * (2.5 ms) past the delivered segments' RTT, then repairs both well
 * before the 1 s retransmission timeout. */
static void test_rack_timer_repairs_losses_below_dupthresh(void)
{
	struct script *s = sack_conn();
	unsigned i;

	if (!s)
		return;
	SEND(s, 0, 2000);
	for (i = 0; i < 4; i++)
		EXPECT(s, 0, .flags = ACK, .seq = ISS + 1 + 500 * i, .ack = IRS + 1, .len = 500);
	/* Segments 0 and 2 lost. */
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1,
	       .opt = sack2(1, ISS + 501, ISS + 1001, 0, 0));
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1,
	       .opt = sack2(2, ISS + 1501, ISS + 2001, ISS + 501, ISS + 1001));
	EXPECT_NOTHING(s, US(12500) - 1);
	EXPECT(s, US(12500), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, US(12500));
	CHECK_EQ(sc_stats(s).recoveries, 1);
	/* Segment 0 arrives: PRR lets segment 2 go with this ACK. */
	INJECT(s, MS(23), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1001,
	       .opt = sack2(1, ISS + 1501, ISS + 2001, 0, 0));
	EXPECT(s, MS(23), .flags = ACK, .seq = ISS + 1001, .ack = IRS + 1, .len = 500);
	INJECT(s, MS(33), .flags = ACK, .seq = IRS + 1, .ack = ISS + 2001);
	EXPECT_NOTHING(s, SEC(3));
	CHECK_EQ(sc_stats(s).rto_count, 0);
	CHECK_EQ(sc_stats(s).retransmits, 2);
	sc_finish(s);
}

/* RFC 8985 6.2: a retransmission that is lost again is found by the same
 * rule: a segment sent after it was delivered, more than an RTT has passed
 * since it was sent. It goes again without waiting for the RTO, which
 * would be the only way out for RFC 6675 alone. */
static void test_lost_retransmission_repaired_without_rto(void)
{
	ptcp_seq b;
	struct script *s = eight_in_flight(&b);
	unsigned i;

	if (!s)
		return;
	SEND(s, MS(15), 4000);
	EXPECT_NOTHING(s, MS(15));
	/* Segment 0 lost; SACKs for 1 and 2 let two new segments out
	 * (pipe falls below cwnd), the third is the fast retransmit. */
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 1000, 0, 0));
	EXPECT(s, MS(20), .flags = ACK, .seq = b + 4000, .ack = IRS + 1, .len = 500);
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 1500, 0, 0));
	EXPECT(s, MS(20), .flags = ACK, .seq = b + 4500, .ack = IRS + 1, .len = 500);
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 2000, 0, 0));
	EXPECT(s, MS(20), .flags = ACK, .seq = b, .ack = IRS + 1, .len = 500);
	/* The rest of the first flight arrives; PRR sends new data. */
	INJECT(s, MS(21), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 2500, 0, 0));
	INJECT(s, MS(22), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 3000, 0, 0));
	INJECT(s, MS(23), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 3500, 0, 0));
	EXPECT(s, MS(23), .flags = ACK, .seq = b + 5000, .ack = IRS + 1, .len = 500);
	INJECT(s, MS(24), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 4000, 0, 0));
	EXPECT(s, MS(24), .flags = ACK, .seq = b + 5500, .ack = IRS + 1, .len = 500);
	/* The retransmission was lost too. The first segment sent with it
	 * (at 20 ms) is delivered at 30 ms: 10 ms after the retransmission
	 * went out, RACK calls it lost and sends it again. */
	INJECT(s, MS(30), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 4500, 0, 0));
	EXPECT(s, MS(30), .flags = ACK, .seq = b, .ack = IRS + 1, .len = 500);
	EXPECT(s, MS(30), .flags = ACK, .seq = b + 6000, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, MS(30));
	/* It arrives: everything is acknowledged and recovery ends. */
	INJECT(s, MS(40), .flags = ACK, .seq = IRS + 1, .ack = b + 6500);
	for (i = 0; i < 4; i++)
		EXPECT_OPTIONAL(s, MS(40), .flags = ACK, .seq = b + 6500 + 500 * i, .ack = IRS + 1, .len = 500);
	sc_discard(s);
	CHECK_EQ(sc_stats(s).rto_count, 0);
	CHECK_EQ(sc_stats(s).retransmits, 2);
	CHECK_EQ(sc_stats(s).recoveries, 1);
	sc_finish(s);
}

/* ---- tail loss probes (RFC 8985 section 7) ----------------------------------- */

/* The last two segments are lost: no later segment can reveal them. After
 * 2 * SRTT + 2 ms (22 ms) without an ACK a probe resends the last one;
 * its ACK SACKs it, and RACK finds the other. Repaired 42 ms after the
 * loss instead of at the 1 s RTO. */
static void test_tail_loss_probe_repairs_lost_tail(void)
{
	struct script *s = sack_conn();
	unsigned i;

	if (!s)
		return;
	SEND(s, 0, 2000);
	for (i = 0; i < 4; i++)
		EXPECT(s, 0, .flags = ACK, .seq = ISS + 1 + 500 * i, .ack = IRS + 1, .len = 500);
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 501);
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1001);
	CHECK_EQ(sc_stats(s).srtt, MS(10));
	EXPECT_NOTHING(s, MS(32) - 1);
	EXPECT(s, MS(32), .flags = ACK, .seq = ISS + 1501, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, MS(32));
	CHECK_EQ(sc_stats(s).loss_probes, 1);
	INJECT(s, MS(42), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1001,
	       .opt = sack2(1, ISS + 1501, ISS + 2001, 0, 0));
	EXPECT(s, MS(42), .flags = ACK, .seq = ISS + 1001, .ack = IRS + 1, .len = 500);
	INJECT(s, MS(52), .flags = ACK, .seq = IRS + 1, .ack = ISS + 2001);
	EXPECT_NOTHING(s, SEC(3));
	CHECK_EQ(sc_stats(s).rto_count, 0);
	sc_finish(s);
}

/* With a single segment in flight the peer may be holding its ACK back
 * for a second segment: the PTO adds the worst-case delayed ACK, 200 ms
 * (RFC 8985 7.2). */
static void test_probe_waits_for_delayed_ack_of_one_segment(void)
{
	struct script *s = sack_conn();

	if (!s)
		return;
	SEND(s, 0, 500);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, MS(220) - 1);
	EXPECT(s, MS(220), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, MS(1219));
	CHECK_EQ(sc_stats(s).loss_probes, 1);
	/* One probe at a time: the next step is the RTO, a second after the
	 * probe re-armed it (RFC 8985 7.3). */
	EXPECT(s, MS(1220), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 500);
	CHECK_EQ(sc_stats(s).rto_count, 1);
	sc_finish(s);
}

/* A probe is new data when there is some and the peer's window allows,
 * whatever cwnd says (RFC 8985 7.3). */
static void test_probe_sends_new_data(void)
{
	struct script *s = sack_conn();
	unsigned i;

	if (!s)
		return;
	SEND(s, 0, 3000);
	for (i = 0; i < 4; i++)
		EXPECT(s, 0, .flags = ACK, .seq = ISS + 1 + 500 * i, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, MS(22) - 1);
	EXPECT(s, MS(22), .flags = ACK, .seq = ISS + 2001, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, MS(22));
	CHECK_EQ(sc_stats(s).retransmits, 0);
	CHECK_EQ(sc_stats(s).loss_probes, 1);
	sc_discard(s);
	sc_finish(s);
}

/* ---- undo (RFC 3708, RFC 3522) ---------------------------------------------------- */

/* Segment 0 was only late: the fast retransmit was spurious. The
 * retransmission's D-SACK shows every retransmission of the episode
 * arrived twice, so ssthresh and cwnd go back (RFC 3708). */
static void test_dsack_undoes_spurious_recovery(void)
{
	ptcp_seq b;
	struct script *s = eight_in_flight(&b);

	if (!s)
		return;
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 1000, 0, 0));
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 1500, 0, 0));
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 2000, 0, 0));
	EXPECT(s, MS(20), .flags = ACK, .seq = b, .ack = IRS + 1, .len = 500);
	CHECK_EQ(sc_stats(s).ssthresh, 2000);
	/* The late original arrives, then the retransmission: a D-SACK. */
	INJECT(s, MS(21), .flags = ACK, .seq = IRS + 1, .ack = b + 2000);
	INJECT(s, MS(30), .flags = ACK, .seq = IRS + 1, .ack = b + 2000, .opt = sack2(1, b, b + 500, 0, 0));
	CHECK_EQ(sc_stats(s).undos, 1);
	CHECK_EQ(sc_stats(s).dsacks, 1);
	CHECK_EQ(sc_stats(s).ssthresh, UINT32_MAX);
	CHECK_EQ(sc_stats(s).cwnd, 4000);
	sc_discard(s);
	sc_finish(s);
}

/* A retransmission timeout that was spurious (the ACKs were only late):
 * with timestamps, the first ACK after the retransmission echoes the
 * original's TSval, so cwnd goes back to where it was instead of
 * restarting from one segment (Eifel, RFC 3522 with the RFC 4015
 * response). */
static void test_timestamps_undo_spurious_timeout(void)
{
	struct script *s = sack_conn_with(true);
	uint32_t first;
	unsigned i;

	if (!s)
		return;
	SEND(s, 0, 976);
	first = sc_engine_tsval(s, 0);
	for (i = 0; i < 2; i++)
		EXPECT(s, 0, .flags = ACK, .seq = ISS + 1 + 488 * i, .ack = IRS + 1, .len = 488);
	/* The probe at 2 * SRTT + 2 ms, then the RTO one second after it. */
	EXPECT(s, MS(22), .flags = ACK, .seq = ISS + 489, .ack = IRS + 1, .len = 488);
	EXPECT(s, MS(1022), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 488);
	CHECK_EQ(sc_stats(s).cwnd, 488);
	INJECT(s, MS(1100), .flags = ACK, .seq = IRS + 1, .ack = ISS + 977,
	       .opt = { .has_ts = true, .ts_val = sc_peer_tsval(s) + 1100, .ts_ecr = first });
	CHECK_EQ(sc_stats(s).undos, 1);
	CHECK_EQ(sc_stats(s).cwnd, 4 * 488);
	CHECK_EQ(sc_stats(s).ssthresh, UINT32_MAX);
	EXPECT_NOTHING(s, SEC(3));
	sc_finish(s);
}

/* The tail of a recovery: the retransmission and the segment sent after
 * it are lost, so no delivery can show RACK the loss. Beyond RFC 8985
 * (which leaves this to the RTO) a probe 2 * SRTT + 2 ms after the last
 * transmission draws an ACK, and RACK resends the lost retransmission: 52
 * ms after the loss instead of a second. */
static void test_probe_in_recovery_finds_lost_retransmission(void)
{
	struct script *s = sack_conn();
	unsigned i;

	if (!s)
		return;
	SEND(s, 0, 3000);
	for (i = 0; i < 4; i++)
		EXPECT(s, 0, .flags = ACK, .seq = ISS + 1 + 500 * i, .ack = IRS + 1, .len = 500);
	/* Segment 0 lost; the SACKs for 1 and 2 take them off pipe and let
	 * the last two segments out; the SACK for 3 starts recovery and the
	 * fast retransmit. */
	for (i = 1; i < 4; i++)
		INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1,
		       .opt = sack2(1, ISS + 501, ISS + 501 + 500 * i, 0, 0));
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 2001, .ack = IRS + 1, .len = 500);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 2501, .ack = IRS + 1, .len = 500);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, MS(10));
	/* All three lost. The probe resends the highest segment not SACKed. */
	EXPECT_NOTHING(s, MS(32) - 1);
	EXPECT(s, MS(32), .flags = ACK, .seq = ISS + 2501, .ack = IRS + 1, .len = 500);
	/* Its SACK shows RACK that the earlier transmissions are lost: the
	 * retransmission of 0 goes again (and 4 with it, as PRR allows). */
	INJECT(s, MS(42), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1,
	       .opt = sack2(2, ISS + 2501, ISS + 3001, ISS + 501, ISS + 2001));
	EXPECT(s, MS(42), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 500);
	EXPECT_OPTIONAL(s, MS(42), .flags = ACK, .seq = ISS + 2001, .ack = IRS + 1, .len = 500);
	INJECT(s, MS(52), .flags = ACK, .seq = IRS + 1, .ack = ISS + 3001);
	sc_discard(s);
	CHECK_EQ(sc_stats(s).rto_count, 0);
	CHECK_EQ(sc_stats(s).loss_probes, 1);
	sc_finish(s);
}

/* The peer's ACK while a hole stays open: SACK blocks, and the TSecr of
 * RFC 7323 4.3, TS.Recent, the TSval of the last segment that advanced
 * its RCV.NXT (ecr), not of the segments the SACK blocks report. */
static struct ptcp_options sack_echo(const struct script *s, unsigned n, ptcp_seq l0, ptcp_seq r0,
                                     ptcp_seq l1, ptcp_seq r1, uint32_t ecr)
{
	struct ptcp_options o = sack2(n, l0, r0, l1, r1);

	o.has_ts = true;
	o.ts_val = sc_peer_tsval(s);
	o.ts_ecr = ecr;
	return o;
}

/* The recovery's tail again, with timestamps. The probe is itself a
 * retransmission, and the ACK that SACKs it echoes the TSval of the first
 * flight (segment 0 never arrived, so TS.Recent stayed there): older than
 * the probe, but not because the probe's earlier copy arrived. RACK must
 * still take the probe as delivered and find the lost retransmission of
 * 0 at once; reading the stale echo as "the first copy arrived" left it
 * to the RTO (a second here, 200 ms and more on real paths: the stalls of
 * the 5% loss rows at 20 ms). */
static void test_sack_echo_does_not_hide_delivered_retransmission(void)
{
	struct script *s = sack_conn_with(true);
	uint32_t ecr;
	unsigned i;

	if (!s)
		return;
	ecr = sc_engine_tsval(s, 0);
	SEND(s, 0, 6 * 488);
	for (i = 0; i < 4; i++)
		EXPECT(s, 0, .flags = ACK, .seq = ISS + 1 + 488 * i, .ack = IRS + 1, .len = 488);
	/* Segment 0 lost: the SACKs of 1 to 3 let 4 and 5 out, and the
	 * fast retransmit of 0. */
	for (i = 1; i < 4; i++)
		INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1,
		       .opt = sack_echo(s, 1, ISS + 489, ISS + 489 + 488 * i, 0, 0, ecr));
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1 + 4 * 488, .ack = IRS + 1, .len = 488);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1 + 5 * 488, .ack = IRS + 1, .len = 488);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 488);
	EXPECT_NOTHING(s, MS(10));
	/* All three lost; the probe resends segment 5. */
	EXPECT_NOTHING(s, MS(32) - 1);
	EXPECT(s, MS(32), .flags = ACK, .seq = ISS + 1 + 5 * 488, .ack = IRS + 1, .len = 488);
	INJECT(s, MS(42), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1,
	       .opt = sack_echo(s, 2, ISS + 1 + 5 * 488, ISS + 1 + 6 * 488, ISS + 489,
	                        ISS + 1 + 4 * 488, ecr));
	EXPECT(s, MS(42), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 488);
	EXPECT_OPTIONAL(s, MS(42), .flags = ACK, .seq = ISS + 1 + 4 * 488, .ack = IRS + 1, .len = 488);
	INJECT(s, MS(52), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1 + 6 * 488);
	sc_discard(s);
	CHECK_EQ(sc_stats(s).rto_count, 0);
	CHECK_EQ(sc_stats(s).loss_probes, 1);
	sc_finish(s);
}

/* ---- the retransmission timeout with SACK -------------------------------------------- */

/* RFC 8985 6.3: after a timeout every segment not SACKed and older than
 * RACK's RTT is lost and resent in slow start from one segment; what the
 * peer SACKed is not resent (RFC 6675 5.1 keeps the scoreboard). */
static void test_timeout_skips_sacked_data(void)
{
	struct script *s = sack_conn();
	unsigned i;

	if (!s)
		return;
	SEND(s, 0, 2000);
	for (i = 0; i < 4; i++)
		EXPECT(s, 0, .flags = ACK, .seq = ISS + 1 + 500 * i, .ack = IRS + 1, .len = 500);
	/* Only segment 3 arrives; RACK resends segment 0 at 12.5 ms, and
	 * that is lost too, as is everything else for a while: also the
	 * probe that recovery sends 2 * SRTT + 2 ms later (the highest segment not
	 * SACKed, to draw an ACK that would show RACK the lost one). */
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1,
	       .opt = sack2(1, ISS + 1501, ISS + 2001, 0, 0));
	EXPECT(s, US(12500), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, US(34500) - 1);
	EXPECT(s, US(34500), .flags = ACK, .seq = ISS + 1001, .ack = IRS + 1, .len = 500);
	CHECK_EQ(sc_stats(s).loss_probes, 1);
	/* The probe re-armed the retransmission timer (RFC 8985 7.3). */
	EXPECT_NOTHING(s, US(1034500) - 1);
	EXPECT(s, US(1034500), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, US(1034500));
	CHECK_EQ(sc_stats(s).cwnd, 500);
	INJECT(s, MS(1040), .flags = ACK, .seq = IRS + 1, .ack = ISS + 501,
	       .opt = sack2(1, ISS + 1501, ISS + 2001, 0, 0));
	EXPECT(s, MS(1040), .flags = ACK, .seq = ISS + 501, .ack = IRS + 1, .len = 500);
	EXPECT(s, MS(1040), .flags = ACK, .seq = ISS + 1001, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, MS(1040));
	INJECT(s, MS(1050), .flags = ACK, .seq = IRS + 1, .ack = ISS + 2001);
	EXPECT_NOTHING(s, SEC(5));
	CHECK_EQ(sc_stats(s).retransmits, 5);
	sc_finish(s);
}

/* ---- congestion control --------------------------------------------------------- */

/* The default is BBR (tests/engine/test_bbr.c). CUBIC (RFC 9438): the
 * same loss as in test_dsack_undoes_spurious_recovery takes ssthresh to
 * 0.7 cwnd, not to half the flight as NewReno does. */
static void test_cubic_reduces_to_seven_tenths(void)
{
	struct ptcp_config cfg;
	struct script *s;
	ptcp_seq b = ISS + 1;
	unsigned i;

	ptcp_config_default(&cfg);
	CHECK_EQ(cfg.cc, PTCP_CC_BBR);
	sc_config(&cfg);
	cfg.sack = true;
	cfg.cc = PTCP_CC_CUBIC;
	s = sc_new(&cfg);
	s->peer_sackp = true;
	s->peer_mss = 500;
	if (!sc_goto(s, PTCP_ESTABLISHED)) {
		sc_finish(s);
		return;
	}
	SEND(s, 0, 2000);
	for (i = 0; i < 4; i++)
		EXPECT(s, 0, .flags = ACK, .seq = b + 500 * i, .ack = IRS + 1, .len = 500);
	for (i = 1; i < 4; i++)
		INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = b,
		       .opt = sack2(1, b + 500, b + 500 + 500 * i, 0, 0));
	EXPECT(s, MS(10), .flags = ACK, .seq = b, .ack = IRS + 1, .len = 500);
	CHECK_EQ(sc_stats(s).ssthresh, 2000 * 7 / 10);
	sc_discard(s);
	sc_finish(s);
}

/* ---- PRR (RFC 6937) ---------------------------------------------------------------- */

/* One loss in a window of eight: recovery does not stop sending for half
 * a round trip (as cwnd = ssthresh at once would), nor keep the old rate:
 * while pipe is above ssthresh it sends ssthresh / RecoverFS of what is
 * delivered, then one for one. */
/* Segment 0 of eight was only late, and segment 10, sent during the
 * fast recovery for it, is lost. The ACK that ends the recovery (the late
 * original arrived: it echoes the original's TSval, older than the
 * retransmission's) also shows segment 10 lost beyond the recovery
 * point, so it starts the next recovery at once. Eifel judges the ending
 * episode first: its reduction is undone (RFC 3522, the RFC 4015
 * response), and only then does the new recovery reduce, from the
 * restored window. */
static void test_eifel_judges_the_recovery_an_ack_ends(void)
{
	struct script *s = sack_conn_with(true);
	const uint32_t L = 488;
	struct ptcp_options o;
	ptcp_seq b;
	uint32_t orig;
	unsigned i;

	if (!s)
		return;
	SEND(s, 0, 24 * L);
	for (i = 0; i < 4; i++)
		EXPECT(s, 0, .flags = ACK, .seq = ISS + 1 + L * i, .ack = IRS + 1, .len = L);
	/* slow start: eight in flight from b, sent at 10 ms */
	for (i = 0; i < 4; i++)
		INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1 + L * (i + 1));
	b = ISS + 1 + 4 * L;
	for (i = 0; i < 8; i++)
		EXPECT(s, MS(10), .flags = ACK, .seq = b + L * i, .ack = IRS + 1, .len = L);
	orig = sc_engine_tsval(s, MS(10));
	/* segment 0 is late: limited transmit sends 8 and 9, the third
	 * duplicate ACK retransmits 0, PRR sends 10 and 11 */
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + L, b + 2 * L, 0, 0));
	EXPECT(s, MS(20), .flags = ACK, .seq = b + 8 * L, .ack = IRS + 1, .len = L);
	INJECT(s, MS(21), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + L, b + 3 * L, 0, 0));
	EXPECT(s, MS(21), .flags = ACK, .seq = b + 9 * L, .ack = IRS + 1, .len = L);
	INJECT(s, MS(22), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + L, b + 4 * L, 0, 0));
	EXPECT(s, MS(22), .flags = ACK, .seq = b, .ack = IRS + 1, .len = L);
	CHECK_EQ(sc_stats(s).recoveries, 1);
	CHECK(sc_stats(s).ssthresh < 8 * L);
	for (i = 4; i <= 7; i++) {
		INJECT(s, MS(19 + i), .flags = ACK, .seq = IRS + 1, .ack = b,
		       .opt = sack2(1, b + L, b + L * (i + 1), 0, 0));
		if (i >= 6)
			EXPECT(s, MS(19 + i), .flags = ACK, .seq = b + (4 + i) * L, .ack = IRS + 1, .len = L);
	}
	/* 8 and 9 arrive: PRR sends 12 and 13 */
	for (i = 8; i <= 9; i++) {
		INJECT(s, MS(22 + i), .flags = ACK, .seq = IRS + 1, .ack = b,
		       .opt = sack2(1, b + L, b + L * (i + 1), 0, 0));
		EXPECT(s, MS(22 + i), .flags = ACK, .seq = b + (4 + i) * L, .ack = IRS + 1, .len = L);
	}
	/* the late original: everything to the recovery point (the end of
	 * 9), the original's TSval echoed, 11 to 13 held, 10 missing */
	memset(&o, 0, sizeof(o));
	o.has_ts = true;
	o.ts_val = sc_peer_tsval(s) + 33;
	o.ts_ecr = orig;
	o.sack_count = 1;
	o.sack[0].left = b + 11 * L;
	o.sack[0].right = b + 14 * L;
	INJECT(s, MS(33), .flags = ACK, .seq = IRS + 1, .ack = b + 10 * L, .opt = o);
	CHECK_EQ(sc_stats(s).undos, 1);
	CHECK_EQ(sc_stats(s).recoveries, 2);
	/* the next recovery resends 10 at once */
	EXPECT(s, MS(33), .flags = ACK, .seq = b + 10 * L, .ack = IRS + 1, .len = L);
	sc_discard(s);
	sc_finish(s);
}

static void test_prr_paces_recovery(void)
{
	ptcp_seq b;
	struct script *s = eight_in_flight(&b);
	unsigned i;

	if (!s)
		return;
	SEND(s, MS(15), 8000);
	INJECT(s, MS(21), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 1000, 0, 0));
	EXPECT(s, MS(21), .flags = ACK, .seq = b + 4000, .ack = IRS + 1, .len = 500);
	INJECT(s, MS(22), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 1500, 0, 0));
	EXPECT(s, MS(22), .flags = ACK, .seq = b + 4500, .ack = IRS + 1, .len = 500);
	INJECT(s, MS(23), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 2000, 0, 0));
	EXPECT(s, MS(23), .flags = ACK, .seq = b, .ack = IRS + 1, .len = 500);
	CHECK_EQ(sc_stats(s).ssthresh, 2500);
	/* pipe 3500 > ssthresh: the next two ACKs send nothing ... */
	INJECT(s, MS(24), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 2500, 0, 0));
	INJECT(s, MS(25), .flags = ACK, .seq = IRS + 1, .ack = b, .opt = sack2(1, b + 500, b + 3000, 0, 0));
	EXPECT_NOTHING(s, MS(25));
	/* ... then pipe is at ssthresh and each delivery lets one go. */
	for (i = 0; i < 2; i++) {
		INJECT(s, MS(26 + i), .flags = ACK, .seq = IRS + 1, .ack = b,
		       .opt = sack2(1, b + 500, b + 3500 + 500 * i, 0, 0));
		EXPECT(s, MS(26 + i), .flags = ACK, .seq = b + 5000 + 500 * i, .ack = IRS + 1, .len = 500);
		CHECK_EQ(sc_stats(s).pipe, 2500);
	}
	sc_discard(s);
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
	RUN(test_rack_in_recovery_needs_no_dupthresh);
	RUN(test_rack_timer_repairs_losses_below_dupthresh);
	RUN(test_lost_retransmission_repaired_without_rto);
	RUN(test_tail_loss_probe_repairs_lost_tail);
	RUN(test_probe_waits_for_delayed_ack_of_one_segment);
	RUN(test_probe_sends_new_data);
	RUN(test_dsack_undoes_spurious_recovery);
	RUN(test_timestamps_undo_spurious_timeout);
	RUN(test_probe_in_recovery_finds_lost_retransmission);
	RUN(test_sack_echo_does_not_hide_delivered_retransmission);
	RUN(test_timeout_skips_sacked_data);
	RUN(test_prr_paces_recovery);
	RUN(test_cubic_reduces_to_seven_tenths);
	RUN(test_limited_transmit_sends_new_data_on_first_dupacks);
	RUN(test_eifel_judges_the_recovery_an_ack_ends);
	return check_summary();
}
