/* The receiver's side of loss recovery: ACK at once for out-of-order and
 * hole-filling segments even with delayed ACKs (RFC 5681 4.2), SACK blocks
 * (RFC 2018 section 4: the most recent island first, as many as fit: 3
 * beside timestamps, 4 without) and D-SACK (RFC 2883: a duplicate is
 * reported once, in the first block, followed by the island it lies in).
 * Segments of 100 bytes keep the numbers small. */
#include "script.h"

static struct script *receiver(bool ts, uint64_t delack)
{
	struct ptcp_config cfg;
	struct script *s;

	sc_config(&cfg);
	cfg.sack = true;
	cfg.timestamps = ts;
	cfg.delack = delack;
	cfg.rcvbuf = 16384;
	s = sc_new(&cfg);
	s->peer_sackp = true;
	s->peer_ts = ts;
	if (!sc_goto(s, PTCP_ESTABLISHED)) {
		sc_finish(s);
		return NULL;
	}
	return s;
}

/* SACK blocks of n ranges given as (left, right) offsets after IRS + 1. */
static struct ptcp_options blocks(unsigned n, const uint32_t *lr)
{
	struct ptcp_options o = { .sack_count = (uint8_t)n };
	unsigned i;

	for (i = 0; i < n; i++) {
		o.sack[i].left = IRS + 1 + lr[2 * i];
		o.sack[i].right = IRS + 1 + lr[2 * i + 1];
	}
	return o;
}

#define SACKS(n, ...) .opt = blocks((n), (const uint32_t[]){ __VA_ARGS__ }), .optcmp = O_SACK

/* A 100-byte segment of the peer's stream at offset off. */
#define DATA(s, t, off) INJECT((s), (t), .flags = ACK, .seq = IRS + 1 + (off), .ack = ISS + 1, .len = 100)

/* ---- when to ACK (RFC 5681 4.2) ---------------------------------------------- */

/* With delayed ACKs on, an in-order segment waits; one that leaves a hole,
 * one that lands beyond it, and the one that fills it are each
 * acknowledged at once, so the sender's loss detection hears of them. */
static void test_out_of_order_and_filling_acked_at_once(void)
{
	struct script *s = receiver(false, MS(200));

	if (!s)
		return;
	DATA(s, MS(10), 0);
	EXPECT_NOTHING(s, MS(20));
	DATA(s, MS(20), 200); /* hole at 100 */
	EXPECT(s, MS(20), .flags = ACK, .seq = ISS + 1, .ack = IRS + 101, SACKS(1, 200, 300));
	DATA(s, MS(30), 300);
	EXPECT(s, MS(30), .flags = ACK, .seq = ISS + 1, .ack = IRS + 101, SACKS(1, 200, 400));
	DATA(s, MS(40), 100); /* fills it */
	EXPECT(s, MS(40), .flags = ACK, .seq = ISS + 1, .ack = IRS + 401, SACKS(0, 0));
	/* In order again: delayed. */
	DATA(s, MS(50), 400);
	EXPECT_NOTHING(s, MS(240));
	EXPECT(s, MS(250), .flags = ACK, .seq = ISS + 1, .ack = IRS + 501);
	sc_finish(s);
}

/* A 100-byte segment at off straight into the connection, with no output
 * after it: how a node that reads a batch of segments and sends once
 * feeds the engine. Returns ptcp_conn_ack_due() after it. */
static bool feed_one(struct script *s, uint32_t off)
{
	static const uint8_t payload[100];
	struct ptcp_segment seg = {
		.sport = s->remote.port, .dport = s->local.port,
		.seq = IRS + 1 + off, .ack = ISS + 1, .flags = PTCP_TH_ACK,
		.wnd = 65535, .payload = payload, .len = sizeof(payload),
	};

	CHECK_INT(ptcp_conn_input(s->c, &seg, NULL, s->now), 0);
	return ptcp_conn_ack_due(s->c);
}

/* A batch with two holes, fed without output in between: the segment
 * that starts an island, the one that starts a second (the first would
 * else drop out of the batch's one ACK once more islands than SACK
 * blocks came), the one that fills a hole and a duplicate each want
 * their ACK out before the next segment; one that only grows the newest
 * island does not, nor does an in-order one. Any ACK sent clears it. */
static void test_ack_due_within_a_batch(void)
{
	struct script *s = receiver(false, 0);
	uint8_t buf[2048];
	struct ptcp_txinfo info;

	if (!s)
		return;
	CHECK(!feed_one(s, 0));        /* in order */
	CHECK(feed_one(s, 200));       /* hole at 100: a new island */
	CHECK(ptcp_conn_output(s->c, buf, sizeof(buf), &info, s->now) > 0);
	CHECK(!ptcp_conn_ack_due(s->c));
	CHECK(!feed_one(s, 300));      /* grows the newest island */
	CHECK(feed_one(s, 500));       /* hole at 400: a second island */
	CHECK(ptcp_conn_output(s->c, buf, sizeof(buf), &info, s->now) > 0);
	CHECK(!feed_one(s, 600));      /* grows the newest island */
	CHECK(feed_one(s, 400));       /* joins the two islands */
	CHECK(ptcp_conn_output(s->c, buf, sizeof(buf), &info, s->now) > 0);
	CHECK(feed_one(s, 300));       /* a duplicate (D-SACK) */
	CHECK(ptcp_conn_output(s->c, buf, sizeof(buf), &info, s->now) > 0);
	CHECK(feed_one(s, 100));       /* fills the last hole */
	CHECK(ptcp_conn_output(s->c, buf, sizeof(buf), &info, s->now) > 0);
	CHECK(!ptcp_conn_ack_due(s->c));
	sc_finish(s);
}

/* ---- how many blocks --------------------------------------------------------- */

/* Five islands: without timestamps four blocks fit, with them three; the
 * island that just grew comes first (RFC 2018 section 4). */
static void test_block_count_with_and_without_timestamps(void)
{
	for (int ts = 0; ts < 2; ts++) {
		struct script *s = receiver(ts, 0);
		unsigned i;

		if (!s)
			return;
		for (i = 0; i < 5; i++) {
			DATA(s, MS(10), 200 + 200 * i);
			sc_discard(s);
		}
		DATA(s, MS(20), 300); /* grows the first island */
		if (ts)
			EXPECT(s, MS(20), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1,
			       SACKS(3, 200, 500, 1000, 1100, 800, 900));
		else
			EXPECT(s, MS(20), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1,
			       SACKS(4, 200, 500, 1000, 1100, 800, 900, 600, 700));
		sc_finish(s);
	}
}

/* ---- D-SACK (RFC 2883) ----------------------------------------------------------- */

/* A segment wholly below RCV.NXT (a spurious retransmission): its range is
 * the first block (4.1.1), once; the next ACK has none. */
static void test_dsack_below_the_cumulative_ack(void)
{
	struct script *s = receiver(true, 0);

	if (!s)
		return;
	DATA(s, MS(10), 0);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 101, SACKS(0, 0));
	DATA(s, MS(20), 0);
	EXPECT(s, MS(20), .flags = ACK, .seq = ISS + 1, .ack = IRS + 101, SACKS(1, 0, 100));
	DATA(s, MS(30), 100);
	EXPECT(s, MS(30), .flags = ACK, .seq = ISS + 1, .ack = IRS + 201, SACKS(0, 0));
	sc_finish(s);
}

/* A segment that overlaps RCV.NXT: the old part is reported, the new part
 * taken. */
static void test_dsack_partial_overlap(void)
{
	struct script *s = receiver(false, 0);

	if (!s)
		return;
	DATA(s, MS(10), 0);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 101);
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 51, .ack = ISS + 1, .len = 100);
	EXPECT(s, MS(20), .flags = ACK, .seq = ISS + 1, .ack = IRS + 151, SACKS(1, 50, 100));
	CHECK_EQ(ptcp_conn_recv_ready(s->c), 150);
	sc_finish(s);
}

/* A duplicate of out-of-order data: the D-SACK block, then the island
 * holding it (4.1.2), then the other islands. The duplicate counts as the
 * island's most recent arrival, so it stays ahead of older islands. */
static void test_dsack_inside_an_island(void)
{
	struct script *s = receiver(false, 0);

	if (!s)
		return;
	DATA(s, MS(10), 200);
	DATA(s, MS(10), 300);
	DATA(s, MS(10), 600);
	sc_discard(s);
	DATA(s, MS(20), 300);
	EXPECT(s, MS(20), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1,
	       SACKS(3, 300, 400, 200, 400, 600, 700));
	DATA(s, MS(30), 800);
	EXPECT(s, MS(30), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1,
	       SACKS(3, 800, 900, 200, 400, 600, 700));
	sc_finish(s);
}

/* Without SACK there is no D-SACK either. */
static void test_no_dsack_without_sack(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	DATA(s, MS(10), 0);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 101);
	DATA(s, MS(20), 0);
	EXPECT(s, MS(20), .flags = ACK, .seq = ISS + 1, .ack = IRS + 101, SACKS(0, 0));
	sc_finish(s);
}

/* ---- receive window auto-tuning ------------------------------------------------- */

static struct script *tuned(uint32_t rcvbuf)
{
	struct ptcp_config cfg;
	struct script *s;

	sc_config(&cfg);
	cfg.rcvbuf = rcvbuf;
	cfg.window_scale = true;
	s = sc_new(&cfg);
	s->peer_ws = 7;
	if (!sc_goto(s, PTCP_ESTABLISHED)) { /* SRTT 10 ms from the handshake */
		sc_finish(s);
		return NULL;
	}
	return s;
}

/* Feeds n segments of 1000 bytes from stream offset *off at time t, read at
 * once when read is set. */
static void feed(struct script *s, uint64_t t, uint32_t *off, unsigned n, bool read)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		INJECT(s, t, .flags = ACK, .seq = IRS + 1 + *off, .ack = ISS + 1, .len = 1000);
		*off += 1000;
		if (read)
			RECV(s, t, 1000);
	}
	sc_discard(s);
}

/* The buffer starts at 128 KiB and, once per round trip, is made to hold
 * twice what the application read in the last one (plus 16 segments), in
 * powers of two up to cfg.rcvbuf; the window offered grows with it. */
static void test_receive_window_grows_with_the_reader(void)
{
	struct script *s = tuned(1 << 20);
	uint32_t off = 0;
	struct ptcp_segment g;
	uint8_t buf[SC_SEG_CAP];

	if (!s)
		return;
	CHECK_EQ(sc_stats(s).rcvbuf, 128 * 1024);
	feed(s, MS(1), &off, 1, true);   /* starts the measurement */
	feed(s, MS(5), &off, 100, true); /* 100 KB in the round trip */
	CHECK_EQ(sc_stats(s).rcvbuf, 128 * 1024);
	INJECT(s, MS(12), .flags = ACK, .seq = IRS + 1 + off, .ack = ISS + 1, .len = 1000);
	off += 1000;
	RECV(s, MS(12), 1000);
	CHECK_EQ(sc_stats(s).rcvbuf, 256 * 1024);
	/* The ACK of that segment offered what was free then; the window
	 * update after the read offers the grown buffer. */
	sc_take(s, MS(12), &g, buf, NULL);
	if (sc_take(s, MS(12), &g, buf, NULL))
		CHECK_EQ((uint32_t)g.wnd << s->rcv_wscale, 256 * 1024);
	/* 300 KB in the next one: 1 MiB, the bound. */
	feed(s, MS(15), &off, 100, true);
	feed(s, MS(16), &off, 100, true);
	feed(s, MS(17), &off, 100, true);
	feed(s, MS(30), &off, 1, true);
	CHECK_EQ(sc_stats(s).rcvbuf, 1 << 20);
	sc_finish(s);
}

/* A reader that takes twice as much as in the round trip before has a
 * sender that is still speeding up (slow start, BBR's Startup): the
 * buffer grows by twice that rate of increase on top of twice the reads
 * (as Linux's tcp_rcv_space_adjust), so the window the ACKs offer now is
 * not what limits the sender in the next round trip. */
static void test_receive_window_runs_ahead_of_a_faster_sender(void)
{
	struct script *s = tuned(4 << 20);
	uint32_t off = 0;

	if (!s)
		return;
	feed(s, MS(1), &off, 1, true);   /* starts the measurement */
	feed(s, MS(5), &off, 50, true);
	feed(s, MS(12), &off, 1, true);  /* 51 KB: 128 KiB still holds 2 x that */
	CHECK_EQ(sc_stats(s).rcvbuf, 128 * 1024);
	feed(s, MS(15), &off, 100, true);
	feed(s, MS(23), &off, 1, true);
	/* 101 KB after 51: 2 x 101 KB + 16 segments = 225 KB, plus twice
	 * that times (101 - 51) / 51: 666 KB, so 1 MiB (2 x the reads alone
	 * would have made it 256 KiB). */
	CHECK_EQ(sc_stats(s).rcvbuf, 1 << 20);
	/* Steady reads add nothing more. */
	feed(s, MS(30), &off, 101, true);
	feed(s, MS(34), &off, 1, true);
	CHECK_EQ(sc_stats(s).rcvbuf, 1 << 20);
	sc_finish(s);
}

/* An application that does not read is not helped by a bigger window. */
static void test_receive_window_stays_for_a_slow_reader(void)
{
	struct script *s = tuned(1 << 20);
	uint32_t off = 0;

	if (!s)
		return;
	feed(s, MS(1), &off, 1, true);
	feed(s, MS(5), &off, 100, false);
	feed(s, MS(20), &off, 10, false);
	RECV(s, MS(20), 1000);
	CHECK_EQ(sc_stats(s).rcvbuf, 128 * 1024);
	sc_discard(s);
	sc_finish(s);
}

/* The growth stops at cfg.rcvbuf, also when that is not a power of two. */
static void test_receive_window_bounded_by_rcvbuf(void)
{
	struct script *s = tuned(200000);
	uint32_t off = 0;

	if (!s)
		return;
	feed(s, MS(1), &off, 1, true);
	feed(s, MS(5), &off, 120, true);
	feed(s, MS(12), &off, 1, true);
	CHECK_EQ(sc_stats(s).rcvbuf, 200000);
	sc_finish(s);
}

int main(void)
{
	RUN(test_out_of_order_and_filling_acked_at_once);
	RUN(test_ack_due_within_a_batch);
	RUN(test_block_count_with_and_without_timestamps);
	RUN(test_dsack_below_the_cumulative_ack);
	RUN(test_dsack_partial_overlap);
	RUN(test_dsack_inside_an_island);
	RUN(test_no_dsack_without_sack);
	RUN(test_receive_window_grows_with_the_reader);
	RUN(test_receive_window_runs_ahead_of_a_faster_sender);
	RUN(test_receive_window_stays_for_a_slow_reader);
	RUN(test_receive_window_bounded_by_rcvbuf);
	return check_summary();
}
