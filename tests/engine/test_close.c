/* Closing a connection: active close through FIN-WAIT-1, FIN-WAIT-2 and
 * TIME-WAIT, passive close through CLOSE-WAIT and LAST-ACK, simultaneous
 * close through CLOSING (RFC 9293 3.6, figures 12 and 13), FIN
 * retransmission, half-close and abort. MSL is 30 s: TIME-WAIT lasts 60 s. */
#include "script.h"

/* RFC 9293 figure 12, left side. */
static void test_active_close_through_time_wait(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	CHECK_INT(SHUTDOWN(s, 0), 0);
	EXPECT(s, 0, .flags = FIN | ACK, .seq = ISS + 1, .ack = IRS + 1);
	EXPECT_STATE(s, PTCP_FIN_WAIT_1);
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 2);
	EXPECT_NOTHING(s, MS(10));
	EXPECT_STATE(s, PTCP_FIN_WAIT_2);
	INJECT(s, MS(20), .flags = FIN | ACK, .seq = IRS + 1, .ack = ISS + 2);
	EXPECT(s, MS(20), .flags = ACK, .seq = ISS + 2, .ack = IRS + 2);
	EXPECT_STATE(s, PTCP_TIME_WAIT);
	CHECK_EQ(ptcp_conn_expiry(s->c), s->base + MS(20) + SEC(60));
	CHECK(ptcp_conn_recv_eof(s->c));
	EXPECT_NOTHING(s, MS(20) + SEC(60) - 1);
	EXPECT_STATE(s, PTCP_TIME_WAIT);
	EXPECT_NOTHING(s, MS(20) + SEC(60));
	EXPECT_CLOSED(s, 0);
	CHECK_EQ(sc_count_events(s, PTCP_EV_CLOSED, -1), 0);
	EXPECT_PATH(s, "ESTABLISHED>FIN-WAIT-1 FIN-WAIT-1>FIN-WAIT-2 FIN-WAIT-2>TIME-WAIT "
		       "TIME-WAIT>CLOSED");
	CHECK_EQ(ptcp_conn_expiry(s->c), PTCP_TS_NEVER);
	sc_finish(s);
}

/* A FIN that also acknowledges ours: the ACK is processed first (RFC
 * 9293 3.10.7.4 fifth, FIN-WAIT-1: "enter FIN-WAIT-2 and continue
 * processing in that state"), then the FIN (eighth) leads to TIME-WAIT. */
static void test_fin_acking_our_fin_goes_to_time_wait(void)
{
	START(s, NULL, PTCP_FIN_WAIT_1);
	INJECT(s, MS(10), .flags = FIN | ACK, .seq = IRS + 1, .ack = ISS + 2);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 2, .ack = IRS + 2);
	EXPECT_PATH(s, "FIN-WAIT-1>FIN-WAIT-2 FIN-WAIT-2>TIME-WAIT");
	EXPECT_NOTHING(s, MS(10) + SEC(60) - 1);
	EXPECT_NOTHING(s, MS(10) + SEC(60));
	EXPECT_CLOSED(s, 0);
	sc_finish(s);
}

/* RFC 9293 3.10.7.4 eighth, TIME-WAIT: "Remain in the TIME-WAIT state.
 * Restart the 2 MSL time-wait timeout." */
static void test_time_wait_acks_and_restarts_on_retransmitted_fin(void)
{
	START(s, NULL, PTCP_TIME_WAIT);
	INJECT(s, SEC(30), .flags = FIN | ACK, .seq = IRS + 1, .ack = ISS + 2);
	EXPECT(s, SEC(30), .flags = ACK, .seq = ISS + 2, .ack = IRS + 2);
	EXPECT_NOTHING(s, SEC(90) - 1);
	EXPECT_STATE(s, PTCP_TIME_WAIT);
	EXPECT_NOTHING(s, SEC(90));
	EXPECT_CLOSED(s, 0);
	sc_finish(s);
}

static void test_time_wait_lasts_two_msl(void)
{
	struct ptcp_config cfg;

	sc_config(&cfg);
	cfg.msl = MS(1500);
	START(s, &cfg, PTCP_TIME_WAIT);
	EXPECT_NOTHING(s, SEC(3) - 1);
	EXPECT_STATE(s, PTCP_TIME_WAIT);
	EXPECT_NOTHING(s, SEC(3));
	EXPECT_STATE(s, PTCP_CLOSED);
	sc_finish(s);
}

static void test_time_wait_plain_ack_changes_nothing(void)
{
	START(s, NULL, PTCP_TIME_WAIT);
	INJECT(s, SEC(10), .flags = ACK, .seq = IRS + 2, .ack = ISS + 2);
	EXPECT_NOTHING(s, SEC(60) - 1);
	EXPECT_NOTHING(s, SEC(60));
	EXPECT_STATE(s, PTCP_CLOSED);
	sc_finish(s);
}

static void test_fin_wait_2_still_receives(void)
{
	START(s, NULL, PTCP_FIN_WAIT_2);
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 2, .len = 300);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 2, .ack = IRS + 301, W(8192 - 300));
	CHECK_INT(RECV(s, MS(20), 1000), 300);
	INJECT(s, MS(30), .flags = FIN | ACK, .seq = IRS + 301, .ack = ISS + 2);
	EXPECT(s, MS(30), .flags = ACK, .seq = ISS + 2, .ack = IRS + 302, WANY);
	EXPECT_STATE(s, PTCP_TIME_WAIT);
	CHECK(ptcp_conn_recv_eof(s->c));
	sc_finish(s);
}

/* Our FIN is retransmitted like data: after RTO, then backing off. */
static void test_fin_retransmitted_in_fin_wait_1(void)
{
	const struct ptcp_event *e;

	START(s, NULL, PTCP_FIN_WAIT_1);
	EXPECT_NOTHING(s, SEC(1) - 1);
	EXPECT(s, SEC(1), .flags = FIN | ACK, .seq = ISS + 1, .ack = IRS + 1);
	e = sc_event(s, PTCP_EV_RETRANSMIT, -1);
	CHECK(e && e->seq == ISS + 1 && e->backoff == 1);
	EXPECT_NOTHING(s, SEC(3) - 1);
	EXPECT(s, SEC(3), .flags = FIN | ACK, .seq = ISS + 1, .ack = IRS + 1);
	INJECT(s, SEC(4), .flags = ACK, .seq = IRS + 1, .ack = ISS + 2);
	EXPECT_STATE(s, PTCP_FIN_WAIT_2);
	/* FIN-WAIT-2 has nothing to retransmit. */
	EXPECT_NOTHING(s, SEC(30));
	sc_finish(s);
}

/* RFC 9293 figure 12, right side, with data sent in CLOSE-WAIT (the
 * half-close: our direction stays open after the peer's FIN). */
static void test_passive_close_with_half_close(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	INJECT(s, 0, .flags = FIN | ACK, .seq = IRS + 1, .ack = ISS + 1);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 2, WANY);
	EXPECT_STATE(s, PTCP_CLOSE_WAIT);
	CHECK(ptcp_conn_recv_eof(s->c));
	CHECK_INT(RECV(s, 0, 100), 0);
	CHECK_INT(SEND(s, MS(10), 100), 100);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 2, .len = 100, WANY);
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 2, .ack = ISS + 101);
	EXPECT_NOTHING(s, MS(20));
	CHECK_EQ(ptcp_conn_send_pending(s->c), 0);
	CHECK_INT(SHUTDOWN(s, MS(30)), 0);
	EXPECT(s, MS(30), .flags = FIN | ACK, .seq = ISS + 101, .ack = IRS + 2, WANY);
	EXPECT_STATE(s, PTCP_LAST_ACK);
	INJECT(s, MS(40), .flags = ACK, .seq = IRS + 2, .ack = ISS + 102);
	EXPECT_NOTHING(s, MS(40));
	EXPECT_CLOSED(s, 0);
	EXPECT_PATH(s, "ESTABLISHED>CLOSE-WAIT CLOSE-WAIT>LAST-ACK LAST-ACK>CLOSED");
	CHECK_EQ(ptcp_conn_expiry(s->c), PTCP_TS_NEVER);
	sc_finish(s);
}

static void test_last_ack_retransmits_fin(void)
{
	START(s, NULL, PTCP_LAST_ACK);
	EXPECT_NOTHING(s, SEC(1) - 1);
	EXPECT(s, SEC(1), .flags = FIN | ACK, .seq = ISS + 1, .ack = IRS + 2, WANY);
	EXPECT_NOTHING(s, SEC(3) - 1);
	EXPECT(s, SEC(3), .flags = FIN | ACK, .seq = ISS + 1, .ack = IRS + 2, WANY);
	INJECT(s, SEC(3) + MS(10), .flags = ACK, .seq = IRS + 2, .ack = ISS + 2);
	EXPECT_CLOSED(s, 0);
	EXPECT_NOTHING(s, SEC(100));
	sc_finish(s);
}

/* RFC 9293 figure 13 from one side: FINs cross, CLOSING, then TIME-WAIT. */
static void test_simultaneous_close_through_closing(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	SHUTDOWN(s, 0);
	EXPECT(s, 0, .flags = FIN | ACK, .seq = ISS + 1, .ack = IRS + 1);
	INJECT(s, MS(10), .flags = FIN | ACK, .seq = IRS + 1, .ack = ISS + 1);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 2, .ack = IRS + 2, WANY);
	EXPECT_STATE(s, PTCP_CLOSING);
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 2, .ack = ISS + 2);
	EXPECT_NOTHING(s, MS(20));
	EXPECT_STATE(s, PTCP_TIME_WAIT);
	EXPECT_PATH(s, "ESTABLISHED>FIN-WAIT-1 FIN-WAIT-1>CLOSING CLOSING>TIME-WAIT");
	EXPECT_NOTHING(s, MS(20) + SEC(60) - 1);
	EXPECT_NOTHING(s, MS(20) + SEC(60));
	EXPECT_CLOSED(s, 0);
	sc_finish(s);
}

static void test_closing_retransmits_fin(void)
{
	/* The fixture sent our FIN 10 ms before reaching CLOSING. */
	START(s, NULL, PTCP_CLOSING);
	EXPECT_NOTHING(s, SEC(1) - MS(10) - 1);
	EXPECT(s, SEC(1) - MS(10), .flags = FIN | ACK, .seq = ISS + 1, .ack = IRS + 2, WANY);
	INJECT(s, SEC(2), .flags = ACK, .seq = IRS + 2, .ack = ISS + 2);
	EXPECT_STATE(s, PTCP_TIME_WAIT);
	sc_finish(s);
}

/* RFC 9293 figure 13 with two engines: FIN, FIN, ACK, ACK, and both end
 * in CLOSED after TIME-WAIT. */
static void test_simultaneous_close_two_engines(void)
{
	struct script *a = sc_new(NULL), *b = sc_new_peer(a, NULL);

	sc_open_active(a, 0);
	sc_open_active(b, 0);
	FORWARD(a, b, MS(1));
	FORWARD(b, a, MS(1));
	FORWARD(a, b, MS(2));
	FORWARD(b, a, MS(2));
	EXPECT_STATE(a, PTCP_ESTABLISHED);
	EXPECT_STATE(b, PTCP_ESTABLISHED);
	EXPECT_NOTHING(a, SEC(1));
	EXPECT_NOTHING(b, SEC(1));
	sc_events_clear(a);
	sc_events_clear(b);

	sc_shutdown(a, SEC(1));
	sc_shutdown(b, SEC(1));
	CHECK(FORWARD(a, b, SEC(1) + MS(5)));
	CHECK_EQ(a->last_fwd.flags & ~PSH, FIN | ACK);
	CHECK(FORWARD(b, a, SEC(1) + MS(5)));
	CHECK_EQ(b->last_fwd.flags & ~PSH, FIN | ACK);
	EXPECT_STATE(a, PTCP_CLOSING);
	EXPECT_STATE(b, PTCP_CLOSING);
	CHECK(FORWARD(a, b, SEC(1) + MS(10)));
	CHECK_EQ(a->last_fwd.flags & ~PSH, ACK);
	CHECK_EQ(a->last_fwd.ack, IRS + 2);
	CHECK(FORWARD(b, a, SEC(1) + MS(10)));
	CHECK_EQ(b->last_fwd.ack, ISS + 2);
	EXPECT_STATE(a, PTCP_TIME_WAIT);
	EXPECT_STATE(b, PTCP_TIME_WAIT);
	EXPECT_NOTHING(a, SEC(61) + MS(10) - 1);
	EXPECT_STATE(a, PTCP_TIME_WAIT);
	EXPECT_NOTHING(a, SEC(61) + MS(10));
	EXPECT_NOTHING(b, SEC(61) + MS(10));
	EXPECT_CLOSED(a, 0);
	EXPECT_CLOSED(b, 0);
	EXPECT_PATH(a, "ESTABLISHED>FIN-WAIT-1 FIN-WAIT-1>CLOSING CLOSING>TIME-WAIT TIME-WAIT>CLOSED");
	EXPECT_PATH(b, "ESTABLISHED>FIN-WAIT-1 FIN-WAIT-1>CLOSING CLOSING>TIME-WAIT TIME-WAIT>CLOSED");
	sc_finish(a);
	sc_finish(b);
}

/* The FIN comes after every byte queued before the shutdown. */
static void test_fin_follows_queued_data(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	SEND(s, 0, 100);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100);
	SHUTDOWN(s, MS(1));
	EXPECT(s, MS(1), .flags = FIN | ACK, .seq = ISS + 101, .ack = IRS + 1);
	CHECK_INT(SEND(s, MS(2), 10), PTCP_ERR_CLOSED);
	CHECK_INT(SHUTDOWN(s, MS(2)), PTCP_ERR_CLOSED);
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 102);
	EXPECT_STATE(s, PTCP_FIN_WAIT_2);
	sc_finish(s);
}

/* Data and FIN in one segment: both are taken and acknowledged at once. */
static void test_peer_fin_with_data(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	INJECT(s, MS(10), .flags = FIN | ACK | PSH, .seq = IRS + 1, .ack = ISS + 1, .len = 100);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 102, WANY);
	EXPECT_STATE(s, PTCP_CLOSE_WAIT);
	CHECK(!ptcp_conn_recv_eof(s->c));
	CHECK_INT(RECV(s, MS(20), 1000), 100);
	CHECK(ptcp_conn_recv_eof(s->c));
	sc_finish(s);
}

/* A FIN that arrives before the data ahead of it is held until the gap
 * fills (RFC 9293 3.10.7.4: segments beyond RCV.NXT are held). */
static void test_fin_after_a_gap_waits_for_the_data(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	INJECT(s, MS(10), .flags = FIN | ACK, .seq = IRS + 101, .ack = ISS + 1, .len = 50);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 100);
	EXPECT(s, MS(20), .flags = ACK, .seq = ISS + 1, .ack = IRS + 152, WANY);
	EXPECT_STATE(s, PTCP_CLOSE_WAIT);
	CHECK_INT(RECV(s, MS(30), 1000), 150);
	CHECK(ptcp_conn_recv_eof(s->c));
	sc_finish(s);
}

/* RFC 9293 3.10.5 ABORT: <SEQ=SND.NXT><CTL=RST>, then CLOSED. */
static void test_abort_sends_rst_and_closes(void)
{
	struct ptcp_segment g;
	uint8_t buf[SC_SEG_CAP];

	START(s, NULL, PTCP_ESTABLISHED);
	CHECK_INT(ABORT(s, MS(10)), 0);
	if (sc_take(s, MS(10), &g, buf, NULL)) {
		CHECK(g.flags & RST);
		CHECK(!(g.flags & (SYN | FIN)));
		CHECK_EQ(g.seq, ISS + 1);
		CHECK(!(g.flags & ACK) || g.ack == IRS + 1);
		CHECK_EQ(g.len, 0);
	}
	EXPECT_CLOSED(s, PTCP_ERR_ABORTED);
	EXPECT_PATH(s, "ESTABLISHED>CLOSED");
	CHECK_EQ(ptcp_conn_expiry(s->c), PTCP_TS_NEVER);
	CHECK_INT(SEND(s, MS(20), 1), PTCP_ERR_ABORTED);
	EXPECT_NOTHING(s, SEC(100));
	sc_finish(s);
}

static void test_abort_rst_carries_snd_nxt_after_data(void)
{
	struct ptcp_segment g;
	uint8_t buf[SC_SEG_CAP];

	START(s, NULL, PTCP_ESTABLISHED);
	SEND(s, 0, 1000);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 1000);
	ABORT(s, MS(5));
	if (sc_take(s, MS(5), &g, buf, NULL)) {
		CHECK(g.flags & RST);
		CHECK_EQ(g.seq, ISS + 1001);
	}
	EXPECT_NOTHING(s, SEC(10));
	EXPECT_CLOSED(s, PTCP_ERR_ABORTED);
	sc_finish(s);
}

/* Not synchronized: no RST to send. */
static void test_abort_in_syn_sent_sends_nothing(void)
{
	START(s, NULL, PTCP_SYN_SENT);
	ABORT(s, MS(10));
	EXPECT_NOTHING(s, SEC(10));
	EXPECT_CLOSED(s, PTCP_ERR_ABORTED);
	sc_finish(s);
}

static void test_abort_in_listen_sends_nothing(void)
{
	START(s, NULL, PTCP_LISTEN);
	ABORT(s, MS(10));
	EXPECT_NOTHING(s, SEC(10));
	EXPECT_STATE(s, PTCP_CLOSED);
	sc_finish(s);
}

static void test_shutdown_in_syn_sent_closes_quietly(void)
{
	START(s, NULL, PTCP_SYN_SENT);
	CHECK_INT(SHUTDOWN(s, MS(10)), 0);
	EXPECT_STATE(s, PTCP_CLOSED);
	CHECK_EQ(ptcp_conn_expiry(s->c), PTCP_TS_NEVER);
	/* No SYN retransmission any more. */
	EXPECT_NOTHING(s, SEC(10));
	sc_finish(s);
}

static void test_shutdown_in_listen_closes(void)
{
	START(s, NULL, PTCP_LISTEN);
	CHECK_INT(SHUTDOWN(s, MS(10)), 0);
	EXPECT_STATE(s, PTCP_CLOSED);
	INJECT(s, MS(20), .flags = SYN, .seq = IRS);
	/* A closed connection answers a SYN with a RST, not a SYN-ACK. */
	EXPECT(s, MS(20), .flags = RST | ACK, .seq = 0, .ack = IRS + 1, WANY);
	EXPECT_STATE(s, PTCP_CLOSED);
	sc_finish(s);
}

/* A CLOSE in SYN-RECEIVED is not lost: the FIN goes out when the
 * handshake completes. RFC 9293 3.10.4 allows this ("queue for processing
 * after entering ESTABLISHED"); sending the FIN at once would put it beside
 * a SYN still unacknowledged, which only the handshake states retransmit. */
static void test_shutdown_in_syn_received_closes(void)
{
	struct script *s = sc_new(NULL);

	s->passive = true;
	if (sc_goto(s, PTCP_SYN_RECEIVED)) {
		CHECK_INT(SHUTDOWN(s, MS(10)), 0);
		EXPECT_NOTHING(s, MS(10));
		INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1);
		EXPECT(s, MS(20), .flags = FIN | ACK, .seq = ISS + 1, .ack = IRS + 1);
		EXPECT_STATE(s, PTCP_FIN_WAIT_1);
		INJECT(s, MS(30), .flags = ACK, .seq = IRS + 1, .ack = ISS + 2);
		EXPECT_STATE(s, PTCP_FIN_WAIT_2);
	}
	sc_finish(s);
}

/* The FIN waits behind data the peer's window holds back. */
static void test_fin_waits_for_data_held_by_the_window(void)
{
	struct ptcp_segment g;
	uint8_t buf[SC_SEG_CAP];

	START(s, NULL, PTCP_ESTABLISHED);
	INJECT(s, 0, .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, W(0));
	SEND(s, 0, 100);
	SHUTDOWN(s, 0);
	EXPECT_NOTHING(s, MS(500));
	INJECT(s, MS(500), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, W(8000));
	if (sc_take(s, MS(500), &g, buf, NULL)) {
		CHECK_EQ(g.seq, ISS + 1);
		CHECK_EQ(g.len, 100);
		if (!(g.flags & FIN))
			EXPECT(s, MS(500), .flags = FIN | ACK, .seq = ISS + 101, .ack = IRS + 1);
	}
	EXPECT_NOTHING(s, MS(500));
	INJECT(s, MS(600), .flags = ACK, .seq = IRS + 1, .ack = ISS + 102);
	EXPECT_STATE(s, PTCP_FIN_WAIT_2);
	sc_finish(s);
}

/* RFC 9293 3.10.5 ABORT: a RST in SYN-RECEIVED too; in CLOSING, LAST-ACK
 * and TIME-WAIT just delete the TCB. */
static void test_abort_in_syn_received_sends_rst(void)
{
	struct ptcp_segment g;
	uint8_t buf[SC_SEG_CAP];
	struct script *s = sc_new(NULL);

	s->passive = true;
	if (sc_goto(s, PTCP_SYN_RECEIVED)) {
		ABORT(s, MS(10));
		if (sc_take(s, MS(10), &g, buf, NULL)) {
			CHECK(g.flags & RST);
			CHECK_EQ(g.seq, ISS + 1);
		}
		EXPECT_STATE(s, PTCP_CLOSED);
	}
	sc_finish(s);
}

static void abort_without_rst(enum ptcp_state st)
{
	START(s, NULL, st);
	CHECK_INT(ABORT(s, MS(10)), 0);
	EXPECT_NOTHING(s, SEC(100));
	EXPECT_CLOSED(s, PTCP_ERR_ABORTED);
	sc_finish(s);
}

static void test_abort_in_closing_sends_nothing(void) { abort_without_rst(PTCP_CLOSING); }
static void test_abort_in_last_ack_sends_nothing(void) { abort_without_rst(PTCP_LAST_ACK); }

static void test_abort_in_time_wait_sends_nothing(void)
{
	START(s, NULL, PTCP_TIME_WAIT);
	CHECK_INT(ABORT(s, MS(10)), 0);
	EXPECT_NOTHING(s, SEC(100));
	EXPECT_CLOSED(s, PTCP_ERR_ABORTED);
	sc_finish(s);
}

/* FIN retransmissions give up like data and end the connection. */
static void test_fin_retransmission_gives_up(void)
{
	struct ptcp_config cfg;
	unsigned at[] = { 1, 3 };
	unsigned i;

	sc_config(&cfg);
	cfg.data_retries = 2;
	START(s, &cfg, PTCP_FIN_WAIT_1);
	for (i = 0; i < 2; i++)
		EXPECT(s, SEC(at[i]), .flags = FIN | ACK, .seq = ISS + 1, .ack = IRS + 1);
	EXPECT_NOTHING(s, SEC(7) - 1);
	EXPECT_STATE(s, PTCP_FIN_WAIT_1);
	ADVANCE(s, SEC(7));
	EXPECT_OPTIONAL(s, SEC(7), .flags = RST, .seq = ISS + 2);
	EXPECT_CLOSED(s, PTCP_ERR_TIMEOUT);
	EXPECT_NOTHING(s, SEC(100));
	sc_finish(s);
}

int main(void)
{
	RUN(test_active_close_through_time_wait);
	RUN(test_fin_acking_our_fin_goes_to_time_wait);
	RUN(test_time_wait_acks_and_restarts_on_retransmitted_fin);
	RUN(test_time_wait_lasts_two_msl);
	RUN(test_time_wait_plain_ack_changes_nothing);
	RUN(test_fin_wait_2_still_receives);
	RUN(test_fin_retransmitted_in_fin_wait_1);
	RUN(test_passive_close_with_half_close);
	RUN(test_last_ack_retransmits_fin);
	RUN(test_simultaneous_close_through_closing);
	RUN(test_closing_retransmits_fin);
	RUN(test_simultaneous_close_two_engines);
	RUN(test_fin_follows_queued_data);
	RUN(test_peer_fin_with_data);
	RUN(test_fin_after_a_gap_waits_for_the_data);
	RUN(test_abort_sends_rst_and_closes);
	RUN(test_abort_rst_carries_snd_nxt_after_data);
	RUN(test_abort_in_syn_sent_sends_nothing);
	RUN(test_abort_in_listen_sends_nothing);
	RUN(test_shutdown_in_syn_sent_closes_quietly);
	RUN(test_shutdown_in_listen_closes);
	RUN(test_fin_retransmission_gives_up);
	RUN(test_shutdown_in_syn_received_closes);
	RUN(test_fin_waits_for_data_held_by_the_window);
	RUN(test_abort_in_syn_received_sends_rst);
	RUN(test_abort_in_time_wait_sends_nothing);
	RUN(test_abort_in_closing_sends_nothing);
	RUN(test_abort_in_last_ack_sends_nothing);
	return check_summary();
}
