/* RST, SYN and ACK robustness: RFC 5961 (blind reset, SYN and data
 * injection), RFC 1337 (TIME-WAIT assassination), RSTs in the opening
 * states (RFC 9293 3.10.7.3, 3.10.7.4) and the hole-punching exception,
 * and ptcp_reset_for() for segments that find no connection. */
#include <string.h>

#include "script.h"

/* RFC 5961 3.2 (2): RST with SEQ = RCV.NXT resets. */
static void test_exact_rst_resets(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	INJECT(s, MS(10), .flags = RST, .seq = IRS + 1);
	EXPECT_NOTHING(s, MS(10));
	EXPECT_CLOSED(s, PTCP_ERR_RESET);
	EXPECT_PATH(s, "ESTABLISHED>CLOSED");
	CHECK_EQ(sc_count_events(s, PTCP_EV_DROP, -1), 0);
	CHECK_INT(SEND(s, MS(20), 1), PTCP_ERR_RESET);
	CHECK_EQ(ptcp_conn_expiry(s->c), PTCP_TS_NEVER);
	EXPECT_NOTHING(s, SEC(100));
	sc_finish(s);
}

static void test_exact_rst_ack_resets(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	INJECT(s, MS(10), .flags = RST | ACK, .seq = IRS + 1, .ack = ISS + 1);
	EXPECT_NOTHING(s, MS(10));
	EXPECT_CLOSED(s, PTCP_ERR_RESET);
	sc_finish(s);
}

/* A reset also ends a connection with unacknowledged data: no
 * retransmission may follow it. */
static void test_reset_stops_retransmission(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	SEND(s, 0, 500);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 500);
	INJECT(s, MS(100), .flags = RST, .seq = IRS + 1);
	EXPECT_NOTHING(s, SEC(60));
	EXPECT_CLOSED(s, PTCP_ERR_RESET);
	sc_finish(s);
}

/* RFC 5961 3.2 (3): in the window but not exact: challenge ACK
 * <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, connection untouched. */
static void test_in_window_rst_draws_challenge_ack(void)
{
	struct ptcp_stats st;

	START(s, NULL, PTCP_ESTABLISHED);
	INJECT(s, MS(10), .flags = RST, .seq = IRS + 100);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	EXPECT_DROP(s, PTCP_DROP_RST_CHALLENGED);
	/* The next one once cfg.invalid_ack_interval (500 ms) has passed. */
	INJECT(s, MS(510), .flags = RST | ACK, .seq = IRS + 8192, .ack = ISS + 1);
	EXPECT(s, MS(510), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	ptcp_conn_stats(s->c, &st);
	CHECK_EQ(st.challenge_acks, 2);
	CHECK_EQ(st.drops[PTCP_DROP_RST_CHALLENGED], 2);
	/* The peer, if it really meant it, resets with the exact sequence. */
	INJECT(s, MS(520), .flags = RST, .seq = IRS + 1);
	EXPECT_CLOSED(s, PTCP_ERR_RESET);
	sc_finish(s);
}

/* RFC 5961 3.2 (1): outside the window: silently dropped. */
static void test_rst_outside_window_is_ignored(void)
{
	struct ptcp_stats st;

	START(s, NULL, PTCP_ESTABLISHED);
	INJECT(s, MS(10), .flags = RST, .seq = IRS);
	INJECT(s, MS(20), .flags = RST, .seq = IRS + 1 + 8192);
	INJECT(s, MS(30), .flags = RST | ACK, .seq = IRS + 0x40000000u, .ack = ISS + 1);
	EXPECT_NOTHING(s, MS(30));
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	ptcp_conn_stats(s->c, &st);
	CHECK_EQ(st.drops[PTCP_DROP_RST_INVALID], 3);
	CHECK_EQ(st.challenge_acks, 0);
	sc_finish(s);
}

/* RFC 5961 section 7: at most challenge_ack_limit challenge ACKs per
 * second; the limit never stops an exact RST. (Without the interval
 * between them, cfg.invalid_ack_interval: tested below.) */
static void test_challenge_acks_are_rate_limited(void)
{
	struct ptcp_config cfg;
	struct ptcp_stats st;
	unsigned i;

	sc_config(&cfg);
	cfg.challenge_ack_limit = 3;
	cfg.invalid_ack_interval = 0;
	START(s, &cfg, PTCP_ESTABLISHED);
	for (i = 0; i < 3; i++) {
		INJECT(s, MS(10 + i), .flags = RST, .seq = IRS + 50 + i);
		EXPECT(s, MS(10 + i), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	}
	for (i = 3; i < 6; i++) {
		INJECT(s, MS(10 + i), .flags = RST, .seq = IRS + 50 + i);
		EXPECT_NOTHING(s, MS(10 + i));
	}
	ptcp_conn_stats(s->c, &st);
	CHECK_EQ(st.challenge_acks, 3);
	CHECK_EQ(st.acks_ratelimited, 3);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	/* A second later the budget is back. */
	INJECT(s, MS(1100), .flags = RST, .seq = IRS + 99);
	EXPECT(s, MS(1100), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	for (i = 0; i < 2; i++) {
		INJECT(s, MS(1101), .flags = RST, .seq = IRS + 99);
		EXPECT(s, MS(1101), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	}
	INJECT(s, MS(1110), .flags = RST, .seq = IRS + 99);
	EXPECT_NOTHING(s, MS(1110));
	INJECT(s, MS(1120), .flags = RST, .seq = IRS + 1);
	EXPECT_CLOSED(s, PTCP_ERR_RESET);
	sc_finish(s);
}

/* SYN and RST challenges draw from the same budget. */
static void test_challenge_limit_shared_by_syn_and_rst(void)
{
	struct ptcp_config cfg;

	sc_config(&cfg);
	cfg.challenge_ack_limit = 2;
	cfg.invalid_ack_interval = 0;
	START(s, &cfg, PTCP_ESTABLISHED);
	INJECT(s, MS(10), .flags = SYN, .seq = IRS + 500);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	INJECT(s, MS(11), .flags = RST, .seq = IRS + 500);
	EXPECT(s, MS(11), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	INJECT(s, MS(12), .flags = SYN, .seq = IRS + 500);
	EXPECT_NOTHING(s, MS(12));
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	sc_finish(s);
}

/* RFC 5961 4.2: any SYN in a synchronized state draws a challenge ACK and
 * is dropped, whatever its sequence number. (10 ms apart: without
 * cfg.invalid_ack_interval, tested below.) */
static void test_syn_in_established_draws_challenge_ack(void)
{
	static const uint32_t seqs[] = { IRS, IRS + 1, IRS + 4000, IRS + 100000, IRS - 100000 };
	struct ptcp_config cfg;
	unsigned i;

	sc_config(&cfg);
	cfg.invalid_ack_interval = 0;
	START(s, &cfg, PTCP_ESTABLISHED);
	for (i = 0; i < 5; i++) {
		INJECT(s, MS(10 * (i + 1)), .flags = SYN, .seq = seqs[i]);
		EXPECT(s, MS(10 * (i + 1)), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
		EXPECT_STATE(s, PTCP_ESTABLISHED);
	}
	INJECT(s, MS(100), .flags = SYN | ACK, .seq = IRS + 10, .ack = ISS + 1);
	EXPECT(s, MS(100), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	CHECK(sc_count_events(s, PTCP_EV_DROP, PTCP_DROP_SYN_CHALLENGED) >= 2);
	/* A SYN must not deliver the data it carries. */
	INJECT(s, MS(110), .flags = SYN, .seq = IRS, .len = 20);
	EXPECT(s, MS(110), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	CHECK_EQ(ptcp_conn_recv_ready(s->c), 0);
	sc_finish(s);
}

static void test_syn_in_fin_wait_2_draws_challenge_ack(void)
{
	START(s, NULL, PTCP_FIN_WAIT_2);
	INJECT(s, MS(10), .flags = SYN, .seq = IRS + 1);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 2, .ack = IRS + 1);
	EXPECT_STATE(s, PTCP_FIN_WAIT_2);
	sc_finish(s);
}

/* RFC 1337: a RST must not end TIME-WAIT early, even with the exact
 * sequence number. */
static void test_rst_ignored_in_time_wait(void)
{
	START(s, NULL, PTCP_TIME_WAIT);
	INJECT(s, SEC(1), .flags = RST, .seq = IRS + 2);
	INJECT(s, SEC(2), .flags = RST | ACK, .seq = IRS + 2, .ack = ISS + 2);
	EXPECT_NOTHING(s, SEC(2));
	EXPECT_STATE(s, PTCP_TIME_WAIT);
	CHECK(sc_count_events(s, PTCP_EV_DROP, PTCP_DROP_RST_TIME_WAIT) == 2);
	EXPECT_NOTHING(s, SEC(60) - 1);
	EXPECT_STATE(s, PTCP_TIME_WAIT);
	EXPECT_NOTHING(s, SEC(60));
	EXPECT_CLOSED(s, 0);
	sc_finish(s);
}

/* RFC 9293 3.10.7.3: a RST whose ACK acknowledges our SYN refuses the
 * connection. */
static void test_rst_to_our_syn_refuses(void)
{
	START(s, NULL, PTCP_SYN_SENT);
	INJECT(s, MS(10), .flags = RST | ACK, .seq = 0, .ack = ISS + 1);
	EXPECT_NOTHING(s, SEC(10));
	EXPECT_CLOSED(s, PTCP_ERR_REFUSED);
	EXPECT_PATH(s, "SYN-SENT>CLOSED");
	sc_finish(s);
}

static void test_rst_without_ack_in_syn_sent_is_ignored(void)
{
	START(s, NULL, PTCP_SYN_SENT);
	INJECT(s, MS(10), .flags = RST, .seq = 0);
	EXPECT_NOTHING(s, MS(10));
	EXPECT_STATE(s, PTCP_SYN_SENT);
	EXPECT_SYN(s, SEC(1), SYN, ISS, 0);
	sc_finish(s);
}

static void test_rst_with_wrong_ack_in_syn_sent_is_ignored(void)
{
	START(s, NULL, PTCP_SYN_SENT);
	INJECT(s, MS(10), .flags = RST | ACK, .seq = 0, .ack = ISS + 2);
	INJECT(s, MS(20), .flags = RST | ACK, .seq = 0, .ack = ISS);
	EXPECT_NOTHING(s, MS(20));
	EXPECT_STATE(s, PTCP_SYN_SENT);
	sc_finish(s);
}

/* Hole punching: the peer's NAT may answer our first SYN with a RST before
 * the peer's own SYN has opened it. The attempt goes on. */
static void test_rst_while_punching_keeps_trying(void)
{
	struct ptcp_config cfg;

	sc_config(&cfg);
	cfg.punching = true;
	START(s, &cfg, PTCP_SYN_SENT);
	INJECT(s, MS(100), .flags = RST | ACK, .seq = 0, .ack = ISS + 1);
	EXPECT_NOTHING(s, MS(100));
	EXPECT_STATE(s, PTCP_SYN_SENT);
	EXPECT_DROP(s, PTCP_DROP_RST_PUNCHING);
	EXPECT_SYN(s, SEC(1), SYN, ISS, 0);
	INJECT(s, MS(1500), .flags = SYN, .seq = IRS, .opt = { .has_mss = true, .mss = 1460 });
	EXPECT_SYN(s, MS(1500), SYN | ACK, ISS, IRS + 1);
	INJECT(s, MS(1510), .flags = SYN | ACK, .seq = IRS, .ack = ISS + 1);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	EXPECT_NOTHING(s, SEC(10));
	sc_finish(s);
}

/* Punching with syn_rst_gap: the RST undid our NAT's mapping, so the next
 * SYN comes at once (a pseudo-random moment within the time the RST took,
 * here 10 ms), the same SYN, and the schedule goes on from it. */
static void test_rst_while_punching_brings_the_syn_forward(void)
{
	struct ptcp_config cfg;
	struct ptcp_stats st;
	ptcp_ts t;

	sc_config(&cfg);
	cfg.punching = true;
	cfg.syn_interval = MS(200);
	cfg.syn_rst_gap = MS(1);
	cfg.syn_retries = 100;
	START(s, &cfg, PTCP_SYN_SENT);
	INJECT(s, MS(10), .flags = RST | ACK, .seq = 0, .ack = ISS + 1);
	EXPECT_DROP(s, PTCP_DROP_RST_PUNCHING);
	t = ptcp_conn_expiry(s->c) - s->base;
	CHECK(t >= MS(10) && t < MS(20));
	/* A second RST before it changes nothing. */
	INJECT(s, MS(10), .flags = RST | ACK, .seq = 0, .ack = ISS + 1);
	CHECK_EQ(ptcp_conn_expiry(s->c) - s->base, t);
	EXPECT_NOTHING(s, t - 1);
	EXPECT_SYN(s, t, SYN, ISS, 0);
	EXPECT_STATE(s, PTCP_SYN_SENT);
	EXPECT_NOTHING(s, t + MS(200) - 1);
	EXPECT_SYN(s, t + MS(200), SYN, ISS, 0);
	ptcp_conn_stats(s->c, &st);
	CHECK_EQ(st.retransmits, 2);
	sc_finish(s);
}

/* RST-clocked SYNs come within syn_rst_gap, a floor that doubles after
 * every 512 of them (up to 128 times), and at most 8192 per connection:
 * then a RST is only dropped, and the schedule's SYNs come at their times. */
static void test_rst_clocked_syns_are_bounded(void)
{
	struct ptcp_config cfg;
	ptcp_ts t = 0, rst, regular;
	uint64_t floor;
	unsigned i;

	sc_config(&cfg);
	cfg.punching = true;
	cfg.syn_interval = SEC(60);
	cfg.syn_rst_gap = US(100);
	cfg.syn_retries = 100;
	START(s, &cfg, PTCP_SYN_SENT);
	for (i = 0; i < 8192; i++) {
		if (s->n_ev > 1000)
			s->n_ev = s->trans_seen = 0;  /* only the segments matter here */
		floor = US(100) << (i / 512 < 7 ? i / 512 : 7);
		rst = t + US(20);
		INJECT(s, rst, .flags = RST | ACK, .seq = 0, .ack = ISS + 1);
		t = ptcp_conn_expiry(s->c) - s->base;
		if (t < rst || t >= rst + floor) {
			CHECK(t >= rst && t < rst + floor);
			break;
		}
		EXPECT_SYN(s, t, SYN, ISS, 0);
	}
	regular = t + SEC(60);
	INJECT(s, t + US(20), .flags = RST | ACK, .seq = 0, .ack = ISS + 1);
	EXPECT_DROP(s, PTCP_DROP_RST_PUNCHING);
	CHECK_EQ(ptcp_conn_expiry(s->c) - s->base, regular);
	EXPECT_NOTHING(s, regular - 1);
	EXPECT_SYN(s, regular, SYN, ISS, 0);
	INJECT(s, regular + US(20), .flags = RST | ACK, .seq = 0, .ack = ISS + 1);
	CHECK_EQ(ptcp_conn_expiry(s->c) - s->base, regular + SEC(60));
	sc_finish(s);
}

/* A simultaneous open's SYN-ACK refused by a NAT (the RST's SEQ is the
 * ACK our SYN-ACK carried): while punching, "not yet" as well; without
 * punching, RFC 9293 3.10.7.4: the connection is refused. */
static void test_rst_in_active_syn_received(void)
{
	struct ptcp_config cfg;
	ptcp_ts t;

	sc_config(&cfg);
	cfg.punching = true;
	cfg.syn_interval = MS(200);
	cfg.syn_rst_gap = MS(1);
	cfg.syn_retries = 100;
	START(s, &cfg, PTCP_SYN_SENT);
	INJECT(s, MS(10), .flags = SYN, .seq = IRS, .opt = { .has_mss = true, .mss = 1460 });
	EXPECT_SYN(s, MS(10), SYN | ACK, ISS, IRS + 1);
	EXPECT_STATE(s, PTCP_SYN_RECEIVED);
	INJECT(s, MS(20), .flags = RST, .seq = IRS + 1);
	EXPECT_STATE(s, PTCP_SYN_RECEIVED);
	EXPECT_DROP(s, PTCP_DROP_RST_PUNCHING);
	t = ptcp_conn_expiry(s->c) - s->base;
	CHECK(t >= MS(20) && t < MS(30));
	EXPECT_SYN(s, t, SYN | ACK, ISS, IRS + 1);
	INJECT(s, t + MS(1), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	sc_finish(s);

	START(s2, NULL, PTCP_SYN_SENT);
	INJECT(s2, MS(10), .flags = SYN, .seq = IRS, .opt = { .has_mss = true, .mss = 1460 });
	EXPECT_SYN(s2, MS(10), SYN | ACK, ISS, IRS + 1);
	INJECT(s2, MS(20), .flags = RST, .seq = IRS + 1);
	EXPECT_CLOSED(s2, PTCP_ERR_REFUSED);
	sc_finish(s2);
}

/* RFC 9293 3.10.7.4 second, SYN-RECEIVED: a passive open goes back to
 * LISTEN and can then take another SYN. */
static void test_rst_in_passive_syn_received_returns_to_listen(void)
{
	struct ptcp_segment g;
	uint8_t buf[SC_SEG_CAP];
	struct script *s = sc_new(NULL);

	s->passive = true;
	if (sc_goto(s, PTCP_SYN_RECEIVED)) {
		INJECT(s, MS(10), .flags = RST, .seq = IRS + 1);
		EXPECT_NOTHING(s, MS(10));
		EXPECT_STATE(s, PTCP_LISTEN);
		EXPECT_PATH(s, "SYN-RECEIVED>LISTEN");
		/* LISTEN has no retransmission to do. */
		EXPECT_NOTHING(s, SEC(10));
		INJECT(s, SEC(10), .flags = SYN, .seq = 9000, .opt = { .has_mss = true, .mss = 1460 });
		if (sc_take(s, SEC(10), &g, buf, NULL)) {
			CHECK_EQ(g.flags & ~PSH, SYN | ACK);
			CHECK_EQ(g.ack, 9001);
		}
		EXPECT_STATE(s, PTCP_SYN_RECEIVED);
	}
	sc_discard(s);
	sc_finish(s);
}

/* ... an active open (crossing SYNs) is refused. */
static void test_rst_in_crossing_syn_received_refuses(void)
{
	START(s, NULL, PTCP_SYN_RECEIVED);
	INJECT(s, MS(10), .flags = RST, .seq = IRS + 1);
	EXPECT_NOTHING(s, SEC(10));
	EXPECT_CLOSED(s, PTCP_ERR_REFUSED);
	sc_finish(s);
}

/* RFC 9293 3.10.7.4 fifth, ESTABLISHED: an ACK of something not yet sent
 * draws an ACK and the segment, data included, is dropped. */
static void test_ack_of_unsent_data_is_dropped_with_ack(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 50, .len = 100);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	EXPECT_DROP(s, PTCP_DROP_BAD_ACK);
	CHECK_EQ(ptcp_conn_recv_ready(s->c), 0);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	sc_finish(s);
}

/* RFC 5961 5.2: an ACK older than SND.UNA - MAX.SND.WND is a blind data
 * injection: ACK and drop. One within the range is just old: its data is
 * taken. MAX.SND.WND is 65535 here. */
static void test_too_old_ack_is_dropped_with_ack(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1 - 70000, .len = 100);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	EXPECT_DROP(s, PTCP_DROP_OLD_ACK);
	CHECK_EQ(ptcp_conn_recv_ready(s->c), 0);
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1 - 60000, .len = 100);
	EXPECT(s, MS(20), .flags = ACK, .seq = ISS + 1, .ack = IRS + 101);
	CHECK_EQ(ptcp_conn_recv_ready(s->c), 100);
	sc_finish(s);
}

/* ---- the rate limit on ACKs that answer discarded segments ------------------ */

/* RFC 5961 section 7, Linux's tcp_invalid_ratelimit: at most one ACK per
 * cfg.invalid_ack_interval (500 ms) answers segments discarded as out of
 * window; the others are counted, and their drop events say so. Zero-length
 * segments just left (RCV.NXT - 1) and just right (RCV.NXT + RCV.WND) of the
 * window, 50 ms apart. */
static void test_out_of_window_burst_draws_one_ack(void)
{
	const struct ptcp_event *ev;
	struct ptcp_stats st;
	unsigned i;

	START(s, NULL, PTCP_ESTABLISHED);
	for (i = 0; i < 10; i++) {
		INJECT(s, MS(10 + 50 * i), .flags = ACK, .seq = i % 2 ? IRS + 1 + 8192 : IRS,
		       .ack = ISS + 1);
		if (i == 0)
			EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	}
	EXPECT_NOTHING(s, MS(509));
	st = sc_stats(s);
	CHECK_EQ(st.drops[PTCP_DROP_OUT_OF_WINDOW], 10);
	CHECK_EQ(st.acks_ratelimited, 9);
	ev = sc_event(s, PTCP_EV_DROP, PTCP_DROP_OUT_OF_WINDOW);
	CHECK(ev && !ev->ack_held);
	for (i = 1; i < 10; i++) {
		ev = sc_event(s, PTCP_EV_DROP, PTCP_DROP_OUT_OF_WINDOW);
		CHECK(ev && ev->ack_held);
	}
	/* The interval after the last one answered, the next one is. */
	INJECT(s, MS(510), .flags = ACK, .seq = IRS, .ack = ISS + 1);
	EXPECT(s, MS(510), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	INJECT(s, MS(1009), .flags = ACK, .seq = IRS, .ack = ISS + 1);
	EXPECT_NOTHING(s, MS(1009));
	INJECT(s, MS(1010), .flags = ACK, .seq = IRS + 1 + 8192, .ack = ISS + 1);
	EXPECT(s, MS(1010), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	CHECK_EQ(sc_stats(s).acks_ratelimited, 10);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	sc_finish(s);
}

/* invalid_ack_interval 0: every one is answered, as before the limit. */
static void test_no_interval_answers_every_one(void)
{
	struct ptcp_config cfg;
	unsigned i;

	sc_config(&cfg);
	cfg.invalid_ack_interval = 0;
	START(s, &cfg, PTCP_ESTABLISHED);
	for (i = 0; i < 10; i++) {
		INJECT(s, MS(10 + i), .flags = ACK, .seq = i % 2 ? IRS + 1 + 8192 : IRS, .ack = ISS + 1);
		EXPECT(s, MS(10 + i), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	}
	CHECK_EQ(sc_stats(s).drops[PTCP_DROP_OUT_OF_WINDOW], 10);
	CHECK_EQ(sc_stats(s).acks_ratelimited, 0);
	sc_finish(s);
}

/* Text that arrived before (a retransmission whose ACK was lost) is
 * answered every time: the sender's recovery waits for that ACK, and an
 * ACK loop is made of segments without text. Such answers do not start an
 * interval: the next empty segment is answered. */
static void test_discarded_text_is_answered_every_time(void)
{
	unsigned i;

	START(s, NULL, PTCP_ESTABLISHED);
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 100);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 101);
	for (i = 0; i < 3; i++) {
		INJECT(s, MS(20 + 10 * i), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 100);
		EXPECT(s, MS(20 + 10 * i), .flags = ACK, .seq = ISS + 1, .ack = IRS + 101);
	}
	CHECK_EQ(sc_stats(s).drops[PTCP_DROP_OUT_OF_WINDOW], 3);
	CHECK_EQ(ptcp_conn_recv_ready(s->c), 100);
	INJECT(s, MS(60), .flags = ACK, .seq = IRS + 100, .ack = ISS + 1);
	EXPECT(s, MS(60), .flags = ACK, .seq = ISS + 1, .ack = IRS + 101);
	INJECT(s, MS(70), .flags = ACK, .seq = IRS + 100, .ack = ISS + 1);
	EXPECT_NOTHING(s, MS(70));
	/* Text again, within that interval: still answered. */
	INJECT(s, MS(80), .flags = ACK, .seq = IRS + 51, .ack = ISS + 1, .len = 50);
	EXPECT(s, MS(80), .flags = ACK, .seq = ISS + 1, .ack = IRS + 101);
	CHECK_EQ(sc_stats(s).acks_ratelimited, 1);
	sc_finish(s);
}

/* TIME-WAIT: the peer in LAST-ACK retransmits its FIN until it hears the
 * ACK; each retransmission is answered, however close together. */
static void test_time_wait_answers_every_retransmitted_fin(void)
{
	unsigned i;

	START(s, NULL, PTCP_TIME_WAIT);
	for (i = 0; i < 3; i++) {
		INJECT(s, MS(100 + 100 * i), .flags = FIN | ACK, .seq = IRS + 1, .ack = ISS + 2);
		EXPECT(s, MS(100 + 100 * i), .flags = ACK, .seq = ISS + 2, .ack = IRS + 2);
	}
	CHECK_EQ(sc_stats(s).acks_ratelimited, 0);
	EXPECT_STATE(s, PTCP_TIME_WAIT);
	sc_finish(s);
}

/* One limiter per connection for every such answer: an ACK of unsent
 * data, an ACK older than SND.UNA - MAX.SND.WND (both even with text: RFC
 * 5961 5.2 is about injected data) and a challenged RST share it. */
static void test_bad_acks_and_challenges_share_the_limit(void)
{
	struct ptcp_stats st;

	START(s, NULL, PTCP_ESTABLISHED);
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 50, .len = 100);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1 - 70000, .len = 100);
	INJECT(s, MS(30), .flags = ACK, .seq = IRS + 1, .ack = ISS + 50);
	INJECT(s, MS(40), .flags = RST, .seq = IRS + 100);
	EXPECT_NOTHING(s, MS(500));
	st = sc_stats(s);
	CHECK_EQ(st.drops[PTCP_DROP_BAD_ACK], 2);
	CHECK_EQ(st.drops[PTCP_DROP_OLD_ACK], 1);
	CHECK_EQ(st.drops[PTCP_DROP_RST_CHALLENGED], 1);
	CHECK_EQ(st.acks_ratelimited, 3);
	CHECK_EQ(st.challenge_acks, 0);
	CHECK_EQ(ptcp_conn_recv_ready(s->c), 0);
	INJECT(s, MS(510), .flags = RST, .seq = IRS + 100);
	EXPECT(s, MS(510), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	CHECK_EQ(sc_stats(s).challenge_acks, 1);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	sc_finish(s);
}

/* A repeat of the peer's SYN (SEQ = IRS: a late copy of a punched SYN, or
 * the SYN-ACK of a peer that has not heard our ACK) is its handshake still
 * going on: the challenge ACK that ends it goes out every time (within
 * challenge_ack_limit) and does not start an interval. A SYN with another
 * sequence number is limited. */
static void test_peer_syn_repeat_is_answered_every_time(void)
{
	struct ptcp_stats st;
	unsigned i;

	START(s, NULL, PTCP_ESTABLISHED);
	for (i = 0; i < 3; i++) {
		INJECT(s, MS(10 + 10 * i), .flags = i == 1 ? SYN : SYN | ACK, .seq = IRS, .ack = ISS + 1);
		EXPECT(s, MS(10 + 10 * i), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	}
	INJECT(s, MS(40), .flags = ACK, .seq = IRS, .ack = ISS + 1);
	EXPECT(s, MS(40), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	INJECT(s, MS(50), .flags = SYN, .seq = IRS + 100000);
	EXPECT_NOTHING(s, MS(50));
	INJECT(s, MS(60), .flags = SYN | ACK, .seq = IRS, .ack = ISS + 1);
	EXPECT(s, MS(60), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	st = sc_stats(s);
	CHECK_EQ(st.challenge_acks, 4);
	CHECK_EQ(st.drops[PTCP_DROP_SYN_CHALLENGED], 5);
	CHECK_EQ(st.acks_ratelimited, 1);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	sc_finish(s);
}

/* RFC 9293 3.10.7.4 fifth, SYN-RECEIVED: an unacceptable ACK draws
 * <SEQ=SEG.ACK><CTL=RST> and the open goes on. */
static void test_bad_ack_in_syn_received_draws_rst(void)
{
	struct script *s = sc_new(NULL);

	s->passive = true;
	if (sc_goto(s, PTCP_SYN_RECEIVED)) {
		INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 5);
		EXPECT(s, MS(10), .flags = RST, .seq = ISS + 5);
		EXPECT_STATE(s, PTCP_SYN_RECEIVED);
		INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1);
		EXPECT_STATE(s, PTCP_ESTABLISHED);
	}
	sc_finish(s);
}

/* RFC 9293 3.10.7.2: in LISTEN any ACK draws <SEQ=SEG.ACK><CTL=RST>. */
static void test_ack_in_listen_draws_rst(void)
{
	START(s, NULL, PTCP_LISTEN);
	INJECT(s, MS(10), .flags = ACK, .seq = 12345, .ack = 67890);
	EXPECT(s, MS(10), .flags = RST, .seq = 67890);
	EXPECT_STATE(s, PTCP_LISTEN);
	sc_finish(s);
}

/* The same for a LISTEN that accepts any peer: the RST goes to the ACK's
 * sender, through ptcp_txinfo.dst, when the driver can address it
 * (PTCP_TXCAP_DST); a driver that cannot gets nothing to send. */
static void test_ack_in_wildcard_listen_draws_addressed_rst(void)
{
	struct script *s = sc_new_wildcard(NULL);
	struct ptcp_segment g;
	struct ptcp_txinfo info;
	uint8_t buf[SC_SEG_CAP];

	s->tx_caps = PTCP_TXCAP_DST;
	if (!sc_goto(s, PTCP_LISTEN)) {
		sc_finish(s);
		return;
	}
	INJECT(s, MS(10), .flags = ACK, .seq = 12345, .ack = 67890);
	if (sc_take(s, MS(10), &g, buf, &info)) {
		CHECK_EQ(g.flags, RST);
		CHECK_EQ(g.seq, 67890);
		CHECK_EQ(g.dport, 5000);
		CHECK(info.dst != NULL);
		if (info.dst)
			CHECK(ptcp_endpoint_equal(info.dst, &s->remote));
	}
	EXPECT_STATE(s, PTCP_LISTEN);
	CHECK(ptcp_conn_remote(s->c)->family == PTCP_AF_NONE);
	/* Without the capability the reply is dropped, never misaddressed. */
	s->tx_caps = 0;
	INJECT(s, MS(20), .flags = ACK, .seq = 12345, .ack = 67891);
	EXPECT_NOTHING(s, MS(30));
	EXPECT_STATE(s, PTCP_LISTEN);
	/* A SYN is still taken after all this. */
	INJECT(s, MS(40), .flags = SYN, .seq = IRS);
	EXPECT_STATE(s, PTCP_SYN_RECEIVED);
	sc_discard(s);
	sc_finish(s);
}

/* A segment with a bad checksum never reaches the state machine. */
static void test_rst_with_bad_checksum_is_dropped(void)
{
	struct ptcp_segment seg = { .sport = 5000, .dport = 4000, .seq = IRS + 1, .flags = RST };
	uint8_t buf[64];
	int n;

	START(s, NULL, PTCP_ESTABLISHED);
	n = ptcp_segment_emit(&seg, buf, sizeof(buf), &s->remote, &s->local);
	CHECK(n == 20);
	buf[17] ^= 0x40;
	CHECK_INT(sc_inject_raw(s, MS(10), buf, 20), PTCP_ERR_CHECKSUM);
	EXPECT_NOTHING(s, MS(10));
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	EXPECT_DROP(s, PTCP_DROP_CHECKSUM);
	/* A truncated header is reported as malformed. */
	buf[17] ^= 0x40;
	CHECK(sc_inject_raw(s, MS(20), buf, 12) < 0);
	EXPECT_DROP(s, PTCP_DROP_MALFORMED);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	sc_finish(s);
}

/* A segment for other ports is not ours. */
static void test_segment_for_other_ports_is_dropped(void)
{
	struct ptcp_segment seg = { .sport = 5001, .dport = 4000, .seq = IRS + 1, .flags = RST };
	uint8_t buf[64];
	int n;

	START(s, NULL, PTCP_ESTABLISHED);
	n = ptcp_segment_emit(&seg, buf, sizeof(buf), &s->remote, &s->local);
	CHECK(n == 20);
	CHECK_INT(sc_inject_raw(s, MS(10), buf, (size_t)n), 0);
	EXPECT_NOTHING(s, MS(10));
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	EXPECT_DROP(s, PTCP_DROP_PORTS);
	sc_finish(s);
}

/* ---- ptcp_reset_for (RFC 9293 3.10.7.1) -------------------------------- */

static void test_reset_for_segment_with_ack(void)
{
	struct ptcp_segment in = { .sport = 5000, .dport = 4000, .seq = 77, .ack = 4242,
				   .flags = ACK | PSH, .len = 10 }, rst;

	memset(&rst, 0xff, sizeof(rst));
	CHECK_INT(ptcp_reset_for(&in, &rst), 1);
	CHECK_EQ(rst.flags, RST);
	CHECK_EQ(rst.seq, 4242);
	CHECK_EQ(rst.sport, 4000);
	CHECK_EQ(rst.dport, 5000);
	CHECK_EQ(rst.len, 0);
}

static void test_reset_for_segment_without_ack(void)
{
	struct ptcp_segment syn = { .sport = 5000, .dport = 4000, .seq = 0xffffffffu,
				    .flags = SYN }, rst;
	struct ptcp_segment fin = { .sport = 5000, .dport = 4000, .seq = 100, .flags = FIN,
				    .len = 7 };

	CHECK_INT(ptcp_reset_for(&syn, &rst), 1);
	CHECK_EQ(rst.flags, RST | ACK);
	CHECK_EQ(rst.seq, 0);
	CHECK_EQ(rst.ack, 0); /* SEG.SEQ + 1, wrapped */
	CHECK_INT(ptcp_reset_for(&fin, &rst), 1);
	CHECK_EQ(rst.ack, 108);
	CHECK_EQ(rst.len, 0);
}

static void test_reset_for_rst_is_nothing(void)
{
	struct ptcp_segment in = { .sport = 5000, .dport = 4000, .seq = 1, .flags = RST }, rst;
	struct ptcp_segment in2 = { .sport = 5000, .dport = 4000, .seq = 1, .ack = 2,
				    .flags = RST | ACK };

	CHECK_INT(ptcp_reset_for(&in, &rst), 0);
	CHECK_INT(ptcp_reset_for(&in2, &rst), 0);
}

int main(void)
{
	RUN(test_exact_rst_resets);
	RUN(test_exact_rst_ack_resets);
	RUN(test_reset_stops_retransmission);
	RUN(test_in_window_rst_draws_challenge_ack);
	RUN(test_rst_outside_window_is_ignored);
	RUN(test_challenge_acks_are_rate_limited);
	RUN(test_challenge_limit_shared_by_syn_and_rst);
	RUN(test_syn_in_established_draws_challenge_ack);
	RUN(test_syn_in_fin_wait_2_draws_challenge_ack);
	RUN(test_rst_ignored_in_time_wait);
	RUN(test_rst_to_our_syn_refuses);
	RUN(test_rst_without_ack_in_syn_sent_is_ignored);
	RUN(test_rst_with_wrong_ack_in_syn_sent_is_ignored);
	RUN(test_rst_while_punching_keeps_trying);
	RUN(test_rst_while_punching_brings_the_syn_forward);
	RUN(test_rst_clocked_syns_are_bounded);
	RUN(test_rst_in_active_syn_received);
	RUN(test_rst_in_passive_syn_received_returns_to_listen);
	RUN(test_rst_in_crossing_syn_received_refuses);
	RUN(test_ack_of_unsent_data_is_dropped_with_ack);
	RUN(test_too_old_ack_is_dropped_with_ack);
	RUN(test_out_of_window_burst_draws_one_ack);
	RUN(test_no_interval_answers_every_one);
	RUN(test_discarded_text_is_answered_every_time);
	RUN(test_time_wait_answers_every_retransmitted_fin);
	RUN(test_bad_acks_and_challenges_share_the_limit);
	RUN(test_peer_syn_repeat_is_answered_every_time);
	RUN(test_bad_ack_in_syn_received_draws_rst);
	RUN(test_ack_in_listen_draws_rst);
	RUN(test_ack_in_wildcard_listen_draws_addressed_rst);
	RUN(test_rst_with_bad_checksum_is_dropped);
	RUN(test_segment_for_other_ports_is_dropped);
	RUN(test_reset_for_segment_with_ack);
	RUN(test_reset_for_segment_without_ack);
	RUN(test_reset_for_rst_is_nothing);
	return check_summary();
}
