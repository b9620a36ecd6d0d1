/* Moving data: in-order and out-of-order reception, duplicates and
 * overlaps (RFC 9293 3.10.7.4, trimming to the window), the receive
 * window closing and reopening with a window update (RFC 9293 3.8.6.2.2),
 * segmentation by MSS and congestion window (RFC 5681 3.1), send-buffer
 * backpressure and the sequence-number wrap. rcvbuf is 8192 bytes, sndbuf
 * 16384, SMSS 1460 (initial window 3 * 1460 = 4380). */
#include "script.h"

#define DATA(s, t, off, n) INJECT(s, t, .flags = ACK, .seq = IRS + 1 + (off), .ack = ISS + 1, .len = (n))
#define ACKED(s, t, upto, w) EXPECT(s, t, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1 + (upto), W(w))

static void test_in_order_data_is_acked_and_readable(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	DATA(s, MS(10), 0, 100);
	ACKED(s, MS(10), 100, 8192 - 100);
	CHECK_EQ(ptcp_conn_recv_ready(s->c), 100);
	DATA(s, MS(20), 100, 200);
	ACKED(s, MS(20), 300, 8192 - 300);
	CHECK_INT(RECV(s, MS(30), 50), 50);
	CHECK_INT(RECV(s, MS(30), 1000), 250);
	CHECK_INT(RECV(s, MS(30), 1000), 0);
	CHECK(!ptcp_conn_recv_eof(s->c));
	CHECK_EQ(sc_stats(s).bytes_in, 300);
	EXPECT_NOTHING(s, SEC(10));
	sc_finish(s);
}

/* Out-of-order data is held, a duplicate ACK goes out at once (RFC 5681
 * 4.2), and the gap filler makes it all readable. The window counts only
 * bytes ready to read. */
static void test_out_of_order_segments_are_reassembled(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	DATA(s, MS(10), 200, 100);
	ACKED(s, MS(10), 0, 8192);
	DATA(s, MS(20), 100, 100);
	ACKED(s, MS(20), 0, 8192);
	CHECK_EQ(ptcp_conn_recv_ready(s->c), 0);
	DATA(s, MS(30), 0, 100);
	ACKED(s, MS(30), 300, 8192 - 300);
	CHECK_INT(RECV(s, MS(40), 1000), 300);
	sc_finish(s);
}

static void test_duplicate_segment_is_acked_not_delivered_twice(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	DATA(s, MS(10), 0, 100);
	ACKED(s, MS(10), 100, 8092);
	DATA(s, MS(20), 0, 100);
	ACKED(s, MS(20), 100, 8092);
	CHECK_EQ(ptcp_conn_recv_ready(s->c), 100);
	CHECK_EQ(sc_stats(s).bytes_in, 100);
	CHECK_INT(RECV(s, MS(30), 1000), 100);
	sc_finish(s);
}

/* A segment that straddles RCV.NXT: only the new part is taken. */
static void test_overlapping_segment_contributes_only_new_bytes(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	DATA(s, MS(10), 0, 100);
	ACKED(s, MS(10), 100, 8092);
	DATA(s, MS(20), 50, 100);
	ACKED(s, MS(20), 150, 8042);
	CHECK_INT(RECV(s, MS(30), 1000), 150);
	CHECK_EQ(sc_stats(s).bytes_in, 150);
	sc_finish(s);
}

static void test_overlapping_out_of_order_islands_merge(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	DATA(s, MS(10), 200, 100);
	ACKED(s, MS(10), 0, 8192);
	DATA(s, MS(20), 100, 150);
	ACKED(s, MS(20), 0, 8192);
	DATA(s, MS(30), 250, 100);
	ACKED(s, MS(30), 0, 8192);
	DATA(s, MS(40), 0, 120);
	ACKED(s, MS(40), 350, 8192 - 350);
	CHECK_INT(RECV(s, MS(50), 1000), 350);
	sc_finish(s);
}

/* A segment reaching past the window is trimmed to it (RFC 9293
 * 3.10.7.4: "trimmed ... to the window"). */
static void test_segment_beyond_window_is_trimmed(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	DATA(s, MS(10), 0, 1460);
	ACKED(s, MS(10), 1460, 8192 - 1460);
	DATA(s, MS(20), 1460, 1460);
	DATA(s, MS(20), 2920, 1460);
	DATA(s, MS(20), 4380, 1460);
	DATA(s, MS(20), 5840, 1460);
	sc_discard(s);
	/* 892 bytes of window left; 1460 offered. */
	DATA(s, MS(30), 7300, 1460);
	ACKED(s, MS(30), 8192, 0);
	CHECK_EQ(ptcp_conn_recv_ready(s->c), 8192);
	CHECK_EQ(sc_stats(s).rcv_wnd, 0);
	CHECK_INT(RECV(s, MS(40), 8192), 8192);
	sc_discard(s);
	sc_finish(s);
}

/* A full buffer offers a zero window; more data is not taken but answered
 * with an ACK (RFC 9293 3.10.7.4 first: with RCV.WND = 0 no data segment
 * is acceptable). */
static struct script *window_full(void)
{
	struct script *s = sc_start(NULL, PTCP_ESTABLISHED);
	unsigned i;

	if (!s)
		return NULL;
	for (i = 0; i < 5; i++) {
		DATA(s, MS(10), 1460 * i, 1460);
		ACKED(s, MS(10), 1460 * (i + 1), 8192 - 1460 * (i + 1));
	}
	DATA(s, MS(10), 7300, 892);
	ACKED(s, MS(10), 8192, 0);
	return s;
}

static void test_full_buffer_closes_the_window(void)
{
	struct script *s = window_full();

	if (!s)
		return;
	DATA(s, MS(20), 8192, 100);
	ACKED(s, MS(20), 8192, 0);
	CHECK(sc_count_events(s, PTCP_EV_DROP, -1) >= 1);
	CHECK_EQ(ptcp_conn_recv_ready(s->c), 8192);
	/* The peer's one-byte zero-window probe gets the same answer. */
	DATA(s, SEC(1), 8192, 1);
	ACKED(s, SEC(1), 8192, 0);
	CHECK_EQ(sc_stats(s).bytes_in, 8192);
	sc_finish(s);
}

/* Reading opens the window; the update goes out once the window can grow
 * by min(rcvbuf / 2, MSS) = 1460 bytes (RFC 9293 3.8.6.2.2). */
static void test_reading_opens_the_window_with_an_update(void)
{
	struct script *s = window_full();

	if (!s)
		return;
	CHECK_INT(RECV(s, MS(40), 1460), 1460);
	ACKED(s, MS(40), 8192, 1460);
	/* The window is really open: data fits. */
	DATA(s, MS(50), 8192, 1460);
	ACKED(s, MS(50), 8192 + 1460, 0);
	CHECK_INT(RECV(s, MS(60), 10000), 8192);
	ACKED(s, MS(60), 8192 + 1460, 8192);
	sc_finish(s);
}

/* Reads that leave the window below the update threshold send nothing: an
 * ACK that repeats ACK and window is a duplicate ACK to the peer (RFC 9293
 * 3.8.6.2.2; RFC 5681 4.2: no more than one ACK per segment "other than to
 * update the offered window"). */
static void test_small_reads_send_no_window_update(void)
{
	struct script *s = window_full();

	if (!s)
		return;
	CHECK_INT(RECV(s, MS(20), 100), 100);
	EXPECT_NOTHING(s, MS(20));
	CHECK_INT(RECV(s, MS(30), 1300), 1300);
	EXPECT_NOTHING(s, MS(30));
	CHECK_INT(RECV(s, MS(40), 60), 60);
	ACKED(s, MS(40), 8192, 1460);
	sc_finish(s);
}

/* The engine cuts data into segments of SMSS and sends no more than the
 * initial window (RFC 5681 3.1: 3 * SMSS for SMSS 1460). */
static void test_sending_is_segmented_by_mss_and_window(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	CHECK_INT(SEND(s, 0, 3000), 3000);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 1460);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1461, .ack = IRS + 1, .len = 1460);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 2921, .ack = IRS + 1, .len = 80);
	EXPECT_NOTHING(s, 0);
	CHECK_EQ(sc_stats(s).bytes_out, 3000);
	CHECK_EQ(ptcp_conn_send_pending(s->c), 3000);
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 3001);
	EXPECT_NOTHING(s, MS(10));
	CHECK_EQ(ptcp_conn_send_pending(s->c), 0);
	sc_finish(s);
}

/* RFC 5681 3.1 slow start with RFC 3465 byte counting (L = 2 * SMSS):
 * each ACK adds min(acked, 2 * SMSS) to cwnd, so a delayed ACK for two
 * segments counts as the two ACKs it stands for. */
static void test_slow_start_grows_by_acked_bytes(void)
{
	unsigned i;

	START(s, NULL, PTCP_ESTABLISHED);
	SEND(s, 0, 16384);
	for (i = 0; i < 3; i++)
		EXPECT(s, 0, .flags = ACK, .seq = ISS + 1 + 1460 * i, .ack = IRS + 1, .len = 1460);
	EXPECT_NOTHING(s, 0);
	/* One ACK for all three: cwnd 4380 + 2 * 1460, five segments more. */
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1 + 4380);
	CHECK_EQ(sc_stats(s).cwnd, 7300);
	for (i = 3; i < 8; i++)
		EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1 + 1460 * i, .ack = IRS + 1, .len = 1460);
	EXPECT_NOTHING(s, MS(10));
	/* One segment's ACK adds one segment. */
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1 + 5840);
	CHECK_EQ(sc_stats(s).cwnd, 8760);
	sc_discard(s);
	sc_finish(s);
}

/* The peer's window bounds what is in flight. */
static void test_peer_window_limits_sending(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	INJECT(s, 0, .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, W(2000));
	SEND(s, 0, 4000);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 1460);
	EXPECT_NOTHING(s, MS(10));
	/* ACK of the segment, window still 2000: another 1460 fit. */
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1461, W(2000));
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1461, .ack = IRS + 1, .len = 1460);
	EXPECT_NOTHING(s, MS(10));
	CHECK_EQ(sc_stats(s).snd_wnd, 2000);
	sc_discard(s);
	sc_finish(s);
}

static void test_send_buffer_backpressure(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	CHECK_EQ(ptcp_conn_send_space(s->c), 16384);
	CHECK_INT(SEND(s, 0, 20000), 16384);
	CHECK_EQ(ptcp_conn_send_space(s->c), 0);
	CHECK_INT(SEND(s, 0, 1), 0);
	CHECK_EQ(ptcp_conn_send_pending(s->c), 16384);
	sc_discard(s);
	/* Acknowledged bytes free their space. */
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1 + 4380);
	sc_discard(s);
	CHECK_EQ(ptcp_conn_send_space(s->c), 4380);
	CHECK_EQ(ptcp_conn_send_pending(s->c), 16384 - 4380);
	CHECK_INT(SEND(s, MS(20), 5000), 4380);
	sc_discard(s);
	sc_finish(s);
}

/* Data flows both ways: our segments carry the ACK for theirs. */
static void test_data_both_ways_piggybacks_acks(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	SEND(s, 0, 100);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100);
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 101, .len = 50);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 101, .ack = IRS + 51, W(8192 - 50));
	SEND(s, MS(20), 10);
	EXPECT(s, MS(20), .flags = ACK, .seq = ISS + 101, .ack = IRS + 51, .len = 10, W(8192 - 50));
	CHECK_INT(RECV(s, MS(30), 100), 50);
	sc_finish(s);
}

static void test_data_across_the_sequence_wrap(void)
{
	struct script *s = sc_new(NULL);

	s->iss = 0xffffff00u;
	s->irs = 0xffffffc0u;
	if (sc_goto(s, PTCP_ESTABLISHED)) {
		INJECT(s, MS(10), .flags = ACK, .seq = 0xffffffc1u, .ack = 0xffffff01u, .len = 200);
		EXPECT(s, MS(10), .flags = ACK, .seq = 0xffffff01u, .ack = 0xffffffc1u + 200);
		CHECK_INT(RECV(s, MS(20), 1000), 200);
		SEND(s, MS(30), 1000);
		EXPECT(s, MS(30), .flags = ACK, .seq = 0xffffff01u, .ack = 0x89, .len = 1000);
		INJECT(s, MS(40), .flags = ACK, .seq = 0x89, .ack = 0xffffff01u + 1000);
		CHECK_EQ(ptcp_conn_send_pending(s->c), 0);
		/* Out of order across the wrap, too. */
		INJECT(s, MS(50), .flags = ACK, .seq = 0x89 + 100, .ack = 0x2e9, .len = 100);
		EXPECT(s, MS(50), .flags = ACK, .seq = 0x2e9, .ack = 0x89);
		INJECT(s, MS(60), .flags = ACK, .seq = 0x89, .ack = 0x2e9, .len = 100);
		EXPECT(s, MS(60), .flags = ACK, .seq = 0x2e9, .ack = 0x89 + 200);
		CHECK_INT(RECV(s, MS(70), 1000), 200);
	}
	sc_finish(s);
}

static void test_eof_after_fin_and_drained_data(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	DATA(s, MS(10), 0, 100);
	ACKED(s, MS(10), 100, 8092);
	INJECT(s, MS(20), .flags = FIN | ACK, .seq = IRS + 101, .ack = ISS + 1);
	EXPECT(s, MS(20), .flags = ACK, .seq = ISS + 1, .ack = IRS + 102, WANY);
	CHECK(!ptcp_conn_recv_eof(s->c));
	CHECK_INT(RECV(s, MS(30), 60), 60);
	CHECK(!ptcp_conn_recv_eof(s->c));
	CHECK_INT(RECV(s, MS(30), 60), 40);
	CHECK(ptcp_conn_recv_eof(s->c));
	CHECK_INT(RECV(s, MS(30), 60), 0);
	sc_finish(s);
}

/* Counters see every segment in and out. */
static void test_segment_counters(void)
{
	struct ptcp_stats st0, st;

	START(s, NULL, PTCP_ESTABLISHED);
	st0 = sc_stats(s);
	DATA(s, MS(10), 0, 10);
	ACKED(s, MS(10), 10, 8182);
	SEND(s, MS(20), 5);
	EXPECT(s, MS(20), .flags = ACK, .seq = ISS + 1, .ack = IRS + 11, .len = 5);
	st = sc_stats(s);
	CHECK_EQ(st.segs_in, st0.segs_in + 1);
	CHECK_EQ(st.segs_out, st0.segs_out + 2);
	CHECK_EQ(st.bytes_in, 10);
	CHECK_EQ(st.bytes_out, 5);
	sc_finish(s);
}

/* RFC 9293 3.10.7.4 first: with a zero receive window "special allowance
 * should be made to accept valid ACKs": the ACK on the peer's probe still
 * acknowledges our data. */
static void test_zero_window_still_takes_acks(void)
{
	struct script *s = window_full();

	if (!s)
		return;
	SEND(s, MS(20), 100);
	EXPECT(s, MS(20), .flags = ACK, .seq = ISS + 1, .ack = IRS + 8193, .len = 100, W(0));
	DATA(s, MS(30), 8192, 0);
	INJECT(s, MS(40), .flags = ACK, .seq = IRS + 8193, .ack = ISS + 101, .len = 1);
	EXPECT(s, MS(40), .flags = ACK, .seq = ISS + 101, .ack = IRS + 8193, W(0));
	CHECK_EQ(ptcp_conn_send_pending(s->c), 0);
	CHECK_EQ(ptcp_conn_expiry(s->c), PTCP_TS_NEVER);
	sc_finish(s);
}

/* RFC 2018 4: with SACK permitted, an ACK for out-of-order data reports
 * the islands, the one holding the latest segment first. */
static struct ptcp_options sack(unsigned n, ptcp_seq l0, ptcp_seq r0, ptcp_seq l1, ptcp_seq r1)
{
	struct ptcp_options o = { .sack_count = (uint8_t)n };

	o.sack[0].left = l0;
	o.sack[0].right = r0;
	o.sack[1].left = l1;
	o.sack[1].right = r1;
	return o;
}

static void test_sack_blocks_report_out_of_order_data(void)
{
	struct ptcp_config cfg;
	struct script *s;

	sc_config(&cfg);
	cfg.sack = true;
	s = sc_new(&cfg);
	s->peer_sackp = true;
	if (sc_goto(s, PTCP_ESTABLISHED)) {
		DATA(s, MS(10), 200, 100);
		EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .optcmp = O_SACK,
		       .opt = sack(1, IRS + 201, IRS + 301, 0, 0));
		DATA(s, MS(20), 400, 100);
		EXPECT(s, MS(20), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .optcmp = O_SACK,
		       .opt = sack(2, IRS + 401, IRS + 501, IRS + 201, IRS + 301));
		DATA(s, MS(30), 0, 200);
		EXPECT(s, MS(30), .flags = ACK, .seq = ISS + 1, .ack = IRS + 301, .optcmp = O_SACK,
		       .opt = sack(1, IRS + 401, IRS + 501, 0, 0));
		DATA(s, MS(40), 300, 100);
		EXPECT(s, MS(40), .flags = ACK, .seq = ISS + 1, .ack = IRS + 501, .optcmp = O_SACK,
		       .opt = sack(0, 0, 0, 0, 0));
		CHECK_INT(RECV(s, MS(50), 1000), 500);
	}
	sc_finish(s);
}

/* RFC 2018 2: no SACK blocks unless the peer's SYN permitted them. */
static void test_no_sack_blocks_without_permission(void)
{
	struct ptcp_config cfg;

	sc_config(&cfg);
	cfg.sack = true;
	START(s, &cfg, PTCP_ESTABLISHED);
	DATA(s, MS(10), 200, 100);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .optcmp = O_SACK | O_SACKP);
	sc_finish(s);
}

/* ptcp_conn_output needs room for 60 + MSS bytes; a short buffer loses
 * nothing. */
static void test_output_into_short_buffer_fails_without_loss(void)
{
	uint8_t small[100];

	START(s, NULL, PTCP_ESTABLISHED);
	CHECK_INT(ptcp_conn_send(s->c, "hello", 5, s->now), 5);
	CHECK_INT(ptcp_conn_output(s->c, small, sizeof(small), NULL, s->now), PTCP_ERR_NOBUF);
	/* An empty send: the harness drains the output after it. */
	SEND(s, 0, 0);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 5, .data = "hello");
	sc_finish(s);
}

/* The send buffer starts at 128 KiB and grows (through the allocator) to
 * twice cwnd as cwnd grows, up to cfg.sndbuf, so the application can keep
 * a window in flight and the next one queued. */
static void test_send_buffer_grows_with_cwnd(void)
{
	struct ptcp_config cfg;
	struct script *s;
	struct ptcp_segment g;
	uint8_t buf[SC_SEG_CAP];
	size_t queued = 0;
	unsigned round, allocs;
	ptcp_seq top = ISS + 1, acked = ISS + 1;

	sc_config(&cfg);
	cfg.sndbuf = 1 << 20;
	cfg.window_scale = true;
	s = sc_new(&cfg);
	s->peer_ws = 7; /* a peer window of 8 MiB */
	if (!sc_goto(s, PTCP_ESTABLISHED)) {
		sc_finish(s);
		return;
	}
	CHECK_EQ(sc_stats(s).sndbuf, 128 * 1024);
	allocs = (unsigned)s->alloc.allocs;
	/* Every millisecond: the application fills the buffer, the peer
	 * acknowledges everything sent (slow start doubles cwnd). */
	for (round = 0; round < 10 && sc_stats(s).cwnd < (1 << 19); round++) {
		queued += (size_t)SEND(s, MS(round), 1 << 20);
		while (sc_pending(s) && sc_take(s, MS(round), &g, buf, NULL))
			top = g.seq + (uint32_t)g.len;
		/* One ACK per segment: slow start doubles cwnd per round. */
		while (ptcp_seq_lt(acked, top)) {
			acked += ptcp_seq_diff(top, acked) < 1460 ? (uint32_t)ptcp_seq_diff(top, acked) : 1460;
			INJECT(s, MS(round), .flags = ACK, .seq = IRS + 1, .ack = acked);
		}
		/* What the ACKs released is acknowledged next round. */
		while (sc_pending(s) && sc_take(s, MS(round), &g, buf, NULL))
			top = g.seq + (uint32_t)g.len;
		CHECK(sc_stats(s).sndbuf >= 2 * sc_stats(s).cwnd ||
		      sc_stats(s).sndbuf == 1 << 20);
	}
	sc_discard(s);
	CHECK_EQ(sc_stats(s).sndbuf, 1 << 20);
	CHECK(sc_stats(s).cwnd >= (1 << 19));
	CHECK(s->alloc.allocs > allocs); /* it grew through the allocator */
	CHECK(queued > (1 << 20));
	sc_finish(s); /* and everything was freed with its size */
}

int main(void)
{
	RUN(test_in_order_data_is_acked_and_readable);
	RUN(test_out_of_order_segments_are_reassembled);
	RUN(test_duplicate_segment_is_acked_not_delivered_twice);
	RUN(test_overlapping_segment_contributes_only_new_bytes);
	RUN(test_overlapping_out_of_order_islands_merge);
	RUN(test_segment_beyond_window_is_trimmed);
	RUN(test_full_buffer_closes_the_window);
	RUN(test_reading_opens_the_window_with_an_update);
	RUN(test_small_reads_send_no_window_update);
	RUN(test_zero_window_still_takes_acks);
	RUN(test_sending_is_segmented_by_mss_and_window);
	RUN(test_slow_start_grows_by_acked_bytes);
	RUN(test_peer_window_limits_sending);
	RUN(test_send_buffer_backpressure);
	RUN(test_send_buffer_grows_with_cwnd);
	RUN(test_data_both_ways_piggybacks_acks);
	RUN(test_data_across_the_sequence_wrap);
	RUN(test_eof_after_fin_and_drained_data);
	RUN(test_segment_counters);
	RUN(test_sack_blocks_report_out_of_order_data);
	RUN(test_no_sack_blocks_without_permission);
	RUN(test_output_into_short_buffer_fails_without_loss);
	return check_summary();
}
