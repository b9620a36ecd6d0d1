/* Timers and loss recovery: the retransmission timer of RFC 6298 (initial
 * RTO, estimation, backoff, Karn's rule, restart on ACK), the retry limit,
 * fast retransmit and NewReno (RFC 5681, RFC 6582), zero-window probes
 * (RFC 9293 3.8.6.1), window scaling (RFC 7323), the MSS option (RFC 9293
 * 3.7.1), delayed ACKs (RFC 9293 3.8.6.3, RFC 5681 4.2) and keepalive
 * (RFC 9293 3.8.4).
 *
 * The base config uses RTO minimum 1 s, so after the 10 ms handshake the
 * RTO is 1 s whether or not the SYN exchange gave an RTT sample. */
#include <stdlib.h>

#include "script.h"

/* sc_new + peer options + sc_goto, NULL on failure. */
static struct script *start_with(const struct ptcp_config *cfg, uint16_t peer_mss, int peer_ws,
                                 enum ptcp_state st)
{
	struct script *s = sc_new(cfg);

	s->peer_mss = peer_mss;
	s->peer_ws = peer_ws;
	if (!sc_goto(s, st)) {
		sc_finish(s);
		return NULL;
	}
	return s;
}

/* ---- the retransmission timer ------------------------------------------- */

static void test_rto_initial_is_configurable(void)
{
	struct ptcp_config cfg;

	sc_config(&cfg);
	cfg.rto_initial = SEC(3);
	START(s, &cfg, PTCP_SYN_SENT);
	EXPECT_NOTHING(s, SEC(3) - 1);
	EXPECT_SYN(s, SEC(3), SYN, ISS, 0);
	EXPECT_NOTHING(s, SEC(9) - 1);
	EXPECT_SYN(s, SEC(9), SYN, ISS, 0);
	sc_finish(s);
}

/* RFC 6298 (5.5), (5.6): on expiry retransmit the earliest unacknowledged
 * segment and double the RTO. */
static void test_data_rto_doubles(void)
{
	static const unsigned at[] = { 1, 3, 7, 15, 31 };
	const struct ptcp_event *e;
	struct ptcp_stats st;
	unsigned i;

	START(s, NULL, PTCP_ESTABLISHED);
	CHECK_INT(SEND(s, 0, 100), 100);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100);
	for (i = 0; i < 5; i++) {
		EXPECT_NOTHING(s, SEC(at[i]) - 1);
		EXPECT(s, SEC(at[i]), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100);
		e = sc_event(s, PTCP_EV_RETRANSMIT, -1);
		CHECK(e != NULL);
		if (e) {
			CHECK_EQ(e->seq, ISS + 1);
			CHECK_EQ(e->backoff, i + 1);
		}
	}
	st = sc_stats(s);
	CHECK_EQ(st.rto_count, 5);
	CHECK_EQ(st.retransmits, 5);
	CHECK_EQ(st.rto, SEC(32));
	CHECK_EQ(st.bytes_out, 600);
	sc_finish(s);
}

/* RFC 6298 (2.5): a maximum RTO caps the backoff. */
static void test_data_rto_capped_at_rto_max(void)
{
	static const unsigned at[] = { 1, 3, 7, 11, 15 };
	struct ptcp_config cfg;
	unsigned i;

	sc_config(&cfg);
	cfg.rto_max = SEC(4);
	START(s, &cfg, PTCP_ESTABLISHED);
	SEND(s, 0, 100);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100);
	for (i = 0; i < 5; i++) {
		EXPECT_NOTHING(s, SEC(at[i]) - 1);
		EXPECT(s, SEC(at[i]), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100);
	}
	sc_finish(s);
}

/* After data_retries retransmissions the next expiry ends the connection
 * with a timeout (RFC 9293 3.8.3, R2). */
static void test_retry_limit_ends_with_timeout(void)
{
	static const unsigned at[] = { 1, 3, 7 };
	struct ptcp_config cfg;
	unsigned i;

	sc_config(&cfg);
	cfg.data_retries = 3;
	START(s, &cfg, PTCP_ESTABLISHED);
	SEND(s, 0, 100);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100);
	for (i = 0; i < 3; i++)
		EXPECT(s, SEC(at[i]), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100);
	EXPECT_NOTHING(s, SEC(15) - 1);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	ADVANCE(s, SEC(15));
	EXPECT_OPTIONAL(s, SEC(15), .flags = RST, .seq = ISS + 101);
	EXPECT_NOTHING(s, SEC(15));
	EXPECT_CLOSED(s, PTCP_ERR_TIMEOUT);
	CHECK_INT(SEND(s, SEC(16), 1), PTCP_ERR_TIMEOUT);
	EXPECT_NOTHING(s, SEC(100));
	sc_finish(s);
}

/* The user timeout (RFC 9293 3.8.3, RFC 5482) ends a connection whose
 * data has waited too long for an ACK, before the retry limit would: with
 * 10 retries the RTOs come at 1, 3, 7, 15 s...; a 5 s user timeout ends
 * it at 5 s, between two of them, with its own error. */
static void test_user_timeout_ends_before_the_retry_limit(void)
{
	struct ptcp_config cfg;

	sc_config(&cfg);
	cfg.data_retries = 10;
	cfg.user_timeout = SEC(5);
	START(s, &cfg, PTCP_ESTABLISHED);
	SEND(s, 0, 100);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100);
	EXPECT(s, SEC(1), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100);
	EXPECT(s, SEC(3), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100);
	CHECK_INT(ptcp_conn_expiry(s->c) - s->base, SEC(5));
	EXPECT_NOTHING(s, SEC(5) - 1);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	ADVANCE(s, SEC(5));
	EXPECT_OPTIONAL(s, SEC(5), .flags = RST, .seq = ISS + 101);
	EXPECT_NOTHING(s, SEC(5));
	EXPECT_CLOSED(s, PTCP_ERR_USER_TIMEOUT);
	sc_finish(s);
}

/* An ACK that moves SND.UNA starts the user timeout again for what is
 * still in flight; with nothing in flight it does not run at all. */
static void test_user_timeout_counts_from_the_last_progress(void)
{
	struct ptcp_config cfg;

	sc_config(&cfg);
	cfg.data_retries = 10;
	cfg.user_timeout = SEC(5);
	START(s, &cfg, PTCP_ESTABLISHED);
	SEND(s, 0, 200);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 200);
	EXPECT(s, SEC(1), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 200);
	EXPECT(s, SEC(3), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 200);
	INJECT(s, SEC(4), .flags = ACK, .seq = IRS + 1, .ack = ISS + 101);
	EXPECT_NOTHING(s, SEC(4));
	/* 5 s from the start pass and end nothing: the clock started again
	 * at 4 s (the next retransmission, backed off, is due at 8 s). */
	CHECK_INT(ptcp_conn_expiry(s->c) - s->base, SEC(8));
	ADVANCE(s, SEC(6));
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	INJECT(s, SEC(6), .flags = ACK, .seq = IRS + 1, .ack = ISS + 201);
	EXPECT_NOTHING(s, SEC(6));
	CHECK(ptcp_conn_expiry(s->c) == PTCP_TS_NEVER);
	ADVANCE(s, SEC(60));
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	sc_finish(s);
}

static int take_probe(struct script *s, uint64_t t, ptcp_seq una);

/* A peer that answers zero-window probes is alive: the user timeout does
 * not count a closed window (the persist timer watches it). */
static void test_user_timeout_spares_an_answered_zero_window(void)
{
	struct ptcp_config cfg;
	unsigned i;

	sc_config(&cfg);
	cfg.user_timeout = SEC(5);
	START(s, &cfg, PTCP_ESTABLISHED);
	INJECT(s, 0, .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, W(0));
	SEND(s, 0, 100);
	for (i = 0; i < 6; i++) {
		ptcp_ts exp = ptcp_conn_expiry(s->c);
		uint64_t t;

		CHECK(exp != PTCP_TS_NEVER);
		if (exp == PTCP_TS_NEVER)
			break;
		t = exp - s->base;
		if (take_probe(s, t, ISS + 1) < 0)
			break;
		INJECT(s, t + MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, W(0));
		EXPECT_NOTHING(s, t + MS(10));
		EXPECT_STATE(s, PTCP_ESTABLISHED);
	}
	CHECK(s->now - s->base > SEC(5));
	sc_finish(s);
}

/* An ACK resets the retry count: the limit is on consecutive timeouts. */
static void test_progress_resets_the_retry_count(void)
{
	struct ptcp_config cfg;

	sc_config(&cfg);
	cfg.data_retries = 2;
	START(s, &cfg, PTCP_ESTABLISHED);
	SEND(s, 0, 200);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 200);
	EXPECT(s, SEC(1), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 200);
	EXPECT(s, SEC(3), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 200);
	/* Half of it arrives: progress. Without it the next expiry (7 s)
	 * would end the connection. */
	INJECT(s, SEC(4), .flags = ACK, .seq = IRS + 1, .ack = ISS + 101);
	EXPECT_NOTHING(s, SEC(4));
	if (ptcp_conn_expiry(s->c) != PTCP_TS_NEVER) {
		uint64_t t = ptcp_conn_expiry(s->c) - s->base;

		EXPECT(s, t, .flags = ACK, .seq = ISS + 101, .ack = IRS + 1, .len = 100);
		EXPECT_STATE(s, PTCP_ESTABLISHED);
	} else {
		CHECK(!"no retransmission timer");
	}
	sc_finish(s);
}

/* RFC 6298 (5.2), (5.3): the timer stops when all is acknowledged and
 * restarts (from the ACK) when something is still outstanding. */
static void test_timer_restarts_on_ack_and_stops_when_all_acked(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	SEND(s, 0, 2920);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 1460);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1461, .ack = IRS + 1, .len = 1460);
	INJECT(s, MS(500), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1461);
	/* The ACK lets slow start grow; nothing new to send though. */
	EXPECT_NOTHING(s, MS(1500) - 1);
	EXPECT(s, MS(1500), .flags = ACK, .seq = ISS + 1461, .ack = IRS + 1, .len = 1460);
	INJECT(s, MS(1600), .flags = ACK, .seq = IRS + 1, .ack = ISS + 2921);
	CHECK_EQ(ptcp_conn_expiry(s->c), PTCP_TS_NEVER);
	EXPECT_NOTHING(s, SEC(100));
	sc_finish(s);
}

/* RFC 6298 (2.2), (2.3): the estimate and the RTO follow the samples.
 * The expected values are computed from the stats before the sample, so
 * the test holds whether or not the handshake gave a first sample. */
static void test_rto_follows_rtt_samples(void)
{
	struct ptcp_config cfg;
	struct ptcp_stats st0, st;
	uint64_t r = MS(20), srtt, rttvar, rto, d;

	/* With a tiny minimum the RTO is what the estimate says (after the
	 * 10 ms handshake sample, if taken, 30 ms: the ACK comes before). */
	sc_config(&cfg);
	cfg.rto_min = MS(1);
	START(s, &cfg, PTCP_ESTABLISHED);
	st0 = sc_stats(s);
	SEND(s, 0, 100);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100);
	INJECT(s, r, .flags = ACK, .seq = IRS + 1, .ack = ISS + 101);
	st = sc_stats(s);
	if (st0.srtt == 0) {
		srtt = r;
		rttvar = r / 2;
	} else {
		d = st0.srtt > r ? st0.srtt - r : r - st0.srtt;
		rttvar = (3 * st0.rttvar + d) / 4;
		srtt = (7 * st0.srtt + r) / 8;
	}
	rto = srtt + (4 * rttvar > MS(1) ? 4 * rttvar : MS(1));
	CHECK(llabs((long long)(st.srtt - srtt)) <= 1000);
	CHECK(llabs((long long)(st.rttvar - rttvar)) <= 1000);
	CHECK(llabs((long long)(st.rto - rto)) <= 1000);
	/* The next segment is retransmitted exactly one RTO after it left. */
	SEND(s, SEC(1), 100);
	EXPECT(s, SEC(1), .flags = ACK, .seq = ISS + 101, .ack = IRS + 1, .len = 100);
	EXPECT_NOTHING(s, SEC(1) + st.rto - 1);
	EXPECT(s, SEC(1) + st.rto, .flags = ACK, .seq = ISS + 101, .ack = IRS + 1, .len = 100);
	sc_finish(s);
}

/* Karn's rule (RFC 6298 section 3): no sample from a retransmitted
 * segment. */
static void test_karn_no_sample_from_retransmission(void)
{
	struct ptcp_stats st0, st;

	START(s, NULL, PTCP_ESTABLISHED);
	st0 = sc_stats(s);
	SEND(s, 0, 100);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100);
	EXPECT(s, SEC(1), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100);
	INJECT(s, SEC(1) + MS(5), .flags = ACK, .seq = IRS + 1, .ack = ISS + 101);
	st = sc_stats(s);
	CHECK_EQ(st.srtt, st0.srtt);
	CHECK_EQ(st.rttvar, st0.rttvar);
	sc_finish(s);
}

/* RFC 6298 section 5, last note: the backed-off RTO stays until a new
 * sample is taken from a segment that was not retransmitted. */
static void test_backed_off_rto_kept_until_valid_sample(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	SEND(s, 0, 100);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100);
	EXPECT(s, SEC(1), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100);
	INJECT(s, SEC(1) + MS(5), .flags = ACK, .seq = IRS + 1, .ack = ISS + 101);
	SEND(s, SEC(2), 100);
	EXPECT(s, SEC(2), .flags = ACK, .seq = ISS + 101, .ack = IRS + 1, .len = 100);
	EXPECT_NOTHING(s, SEC(4) - 1);
	EXPECT(s, SEC(4), .flags = ACK, .seq = ISS + 101, .ack = IRS + 1, .len = 100);
	sc_finish(s);
}

/* RFC 5681 (4): after a timeout ssthresh = max(FlightSize / 2, 2 * SMSS)
 * and cwnd = 1 SMSS. */
static void test_rto_collapses_cwnd(void)
{
	struct ptcp_stats st;

	START(s, NULL, PTCP_ESTABLISHED);
	SEND(s, 0, 4380);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 1460);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1461, .ack = IRS + 1, .len = 1460);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 2921, .ack = IRS + 1, .len = 1460);
	CHECK_EQ(sc_stats(s).cwnd, 4380);
	EXPECT(s, SEC(1), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 1460);
	EXPECT_NOTHING(s, SEC(1));
	st = sc_stats(s);
	CHECK_EQ(st.cwnd, 1460);
	CHECK_EQ(st.ssthresh, 2920);
	sc_finish(s);
}

/* RFC 5681 3.1 after a timeout: slow start from one segment; the ACK of
 * the retransmission lets the next two go. */
static void test_slow_start_after_timeout(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	SEND(s, 0, 4380);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 1460);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1461, .ack = IRS + 1, .len = 1460);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 2921, .ack = IRS + 1, .len = 1460);
	EXPECT(s, SEC(1), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 1460);
	EXPECT_NOTHING(s, SEC(1));
	INJECT(s, SEC(1) + MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1461);
	EXPECT(s, SEC(1) + MS(10), .flags = ACK, .seq = ISS + 1461, .ack = IRS + 1, .len = 1460);
	EXPECT(s, SEC(1) + MS(10), .flags = ACK, .seq = ISS + 2921, .ack = IRS + 1, .len = 1460);
	EXPECT_NOTHING(s, SEC(1) + MS(10));
	CHECK_EQ(sc_stats(s).cwnd, 2920);
	sc_finish(s);
}

/* ---- fast retransmit and NewReno ------------------------------------- */

/* SMSS 500: the initial window is 4 * SMSS = 2000 (RFC 5681 (3.1)), four
 * segments, enough for three duplicate ACKs. */
static struct script *four_in_flight(void)
{
	struct script *s = start_with(NULL, 500, -1, PTCP_ESTABLISHED);
	unsigned i;

	if (!s)
		return NULL;
	SEND(s, 0, 2000);
	for (i = 0; i < 4; i++)
		EXPECT(s, 0, .flags = ACK, .seq = ISS + 1 + 500 * i, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, 0);
	return s;
}

/* RFC 5681 3.2: the third duplicate ACK retransmits the missing segment
 * and ssthresh = max(FlightSize / 2, 2 * SMSS). Instead of inflating cwnd
 * per duplicate, PRR (RFC 6937) paces what recovery sends; here each
 * duplicate says a segment left, but no data is left to send. */
static void test_fast_retransmit_on_third_dupack(void)
{
	const struct ptcp_event *e;
	struct script *s = four_in_flight();
	struct ptcp_stats st;

	if (!s)
		return;
	CHECK_EQ(sc_stats(s).cwnd, 2000);
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1);
	EXPECT_NOTHING(s, MS(20));
	INJECT(s, MS(21), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1);
	EXPECT_NOTHING(s, MS(21));
	INJECT(s, MS(22), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1);
	EXPECT(s, MS(22), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, MS(22));
	e = sc_event(s, PTCP_EV_FAST_RETRANSMIT, -1);
	CHECK(e && e->seq == ISS + 1);
	st = sc_stats(s);
	CHECK_EQ(st.dup_acks, 3);
	CHECK_EQ(st.fast_retransmits, 1);
	CHECK_EQ(st.recoveries, 1);
	CHECK_EQ(st.ssthresh, 1000);
	/* A fourth one: nothing more to send, and no second retransmission. */
	INJECT(s, MS(23), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1);
	EXPECT_NOTHING(s, MS(23));
	CHECK_EQ(sc_stats(s).retransmits, 1);
	/* The full ACK ends recovery with cwnd = ssthresh (RFC 6937). */
	INJECT(s, MS(40), .flags = ACK, .seq = IRS + 1, .ack = ISS + 2001);
	CHECK_EQ(sc_stats(s).cwnd, 1000);
	sc_finish(s);
}

/* RFC 6582 3.2 step 5: a partial ACK retransmits the next hole at once; a
 * full ACK ends recovery with cwnd = min(ssthresh, FlightSize + SMSS)
 * (here both options of step 6 give 1000). */
static void test_newreno_partial_ack_retransmits_next_hole(void)
{
	const struct ptcp_event *e;
	struct script *s = four_in_flight();
	unsigned i;

	if (!s)
		return;
	for (i = 0; i < 3; i++)
		INJECT(s, MS(20 + i), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1);
	EXPECT(s, MS(22), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 500);
	sc_events_clear(s);
	INJECT(s, MS(40), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1001);
	EXPECT(s, MS(40), .flags = ACK, .seq = ISS + 1001, .ack = IRS + 1, .len = 500);
	EXPECT_NOTHING(s, MS(40));
	e = sc_event(s, PTCP_EV_FAST_RETRANSMIT, -1);
	CHECK(e && e->seq == ISS + 1001);
	CHECK_EQ(sc_stats(s).fast_retransmits, 2);
	INJECT(s, MS(60), .flags = ACK, .seq = IRS + 1, .ack = ISS + 2001);
	EXPECT_NOTHING(s, MS(60));
	CHECK_EQ(sc_stats(s).cwnd, 1000);
	CHECK_EQ(ptcp_conn_send_pending(s->c), 0);
	CHECK_EQ(ptcp_conn_expiry(s->c), PTCP_TS_NEVER);
	sc_finish(s);
}

/* RFC 5681 section 2 (e): an ACK that changes the window is not a
 * duplicate. */
static void test_window_updates_are_not_dupacks(void)
{
	struct script *s = four_in_flight();
	unsigned i;

	if (!s)
		return;
	for (i = 0; i < 3; i++) {
		INJECT(s, MS(20 + i), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, W(60000 + i));
		EXPECT_NOTHING(s, MS(20 + i));
	}
	CHECK_EQ(sc_stats(s).fast_retransmits, 0);
	sc_finish(s);
}

/* RFC 5681 section 2 (b): segments that carry data are not duplicate
 * ACKs either. */
static void test_data_segments_are_not_dupacks(void)
{
	struct script *s = four_in_flight();
	unsigned i;

	if (!s)
		return;
	for (i = 0; i < 3; i++) {
		INJECT(s, MS(20 + i), .flags = ACK, .seq = IRS + 1 + 10 * i, .ack = ISS + 1, .len = 10);
		EXPECT(s, MS(20 + i), .flags = ACK, .seq = ISS + 2001, .ack = IRS + 11 + 10 * i);
	}
	EXPECT_NOTHING(s, MS(30));
	CHECK_EQ(sc_stats(s).fast_retransmits, 0);
	sc_finish(s);
}

/* ---- zero window --------------------------------------------------------- */

/* A zero-window probe is one byte of new data at SND.NXT, or an empty
 * segment at SND.UNA - 1; both make the peer answer with its window.
 * Returns the payload bytes it carried, -1 if it was not a probe. */
static int take_probe(struct script *s, uint64_t t, ptcp_seq una)
{
	struct ptcp_segment g;
	uint8_t buf[SC_SEG_CAP];

	if (!sc_take(s, t, &g, buf, NULL))
		return -1;
	if ((g.flags & ~PSH) != ACK || g.ack != IRS + 1)
		goto bad;
	if (g.len == 1 && g.seq == una && g.payload[0] == sc_pattern_local(una - ISS - 1))
		return 1;
	if (g.len == 0 && g.seq == una - 1)
		return 0;
bad:
	CHECK(!"not a zero-window probe");
	return -1;
}

/* RFC 9293 3.8.6.1: the first probe after one RTO of zero window
 * (SHLD-29), then the interval between probes grows exponentially
 * (SHLD-30); an opened window lets the data go. */
static void test_zero_window_probes_then_window_opens(void)
{
	uint64_t t, prev = SEC(1), iv, first_iv = SEC(1), last_iv = SEC(1);
	unsigned i;
	int n;

	START(s, NULL, PTCP_ESTABLISHED);
	INJECT(s, 0, .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, W(0));
	EXPECT_NOTHING(s, 0);
	CHECK_EQ(sc_stats(s).snd_wnd, 0);
	CHECK_INT(SEND(s, 0, 100), 100);
	EXPECT_NOTHING(s, SEC(1) - 1);
	n = take_probe(s, SEC(1), ISS + 1);
	for (i = 0; i < 5 && n >= 0; i++) {
		if (ptcp_conn_expiry(s->c) == PTCP_TS_NEVER) {
			CHECK(!"no persist timer");
			break;
		}
		t = ptcp_conn_expiry(s->c) - s->base;
		iv = t - prev;
		CHECK(iv >= last_iv);
		CHECK_INT(take_probe(s, t, ISS + 1), n);
		prev = t;
		last_iv = iv;
	}
	CHECK(last_iv >= 4 * first_iv);
	if (n < 0) {
		sc_finish(s);
		return;
	}
	/* The window opens (acknowledging the probe byte if there was one). */
	t = prev + MS(500);
	INJECT(s, t, .flags = ACK, .seq = IRS + 1, .ack = ISS + 1 + (uint32_t)n, W(1000));
	EXPECT(s, t, .flags = ACK, .seq = ISS + 1 + (uint32_t)n, .ack = IRS + 1,
	       .len = 100 - (size_t)n);
	INJECT(s, t + MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 101, W(1000));
	CHECK_EQ(ptcp_conn_send_pending(s->c), 0);
	EXPECT_NOTHING(s, t + SEC(60));
	sc_finish(s);
}

/* Probes that go unanswered (lost, or the peer silent) are not losses
 * (RFC 9293 3.8.6.1, RFC 5681 3.1): the persist timer backs off on its own
 * schedule, cwnd and the RTO stay as they were, and the connection is not
 * timed out before data_retries of them went unanswered in a row. When the
 * window opens, the data goes at once: the window update draws the first
 * window of data in the same instant. */
static void test_unanswered_probes_are_not_losses(void)
{
	static const unsigned at[] = { 1, 3, 7, 15 };
	struct ptcp_stats st0, st;
	struct ptcp_config cfg;
	unsigned i;

	sc_config(&cfg);
	cfg.data_retries = 4;
	START(s, &cfg, PTCP_ESTABLISHED);
	INJECT(s, 0, .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, W(0));
	st0 = sc_stats(s);
	CHECK_INT(SEND(s, 0, 10000), 10000);
	for (i = 0; i < 4; i++) {
		EXPECT_NOTHING(s, SEC(at[i]) - 1);
		CHECK_INT(take_probe(s, SEC(at[i]), ISS + 1), 1);
	}
	st = sc_stats(s);
	CHECK_EQ(st.rto_count, 0);
	CHECK_EQ(st.window_probes, 4);
	CHECK_EQ(st.cwnd, st0.cwnd);
	CHECK_EQ(st.rto, st0.rto);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	/* The window opens 0.5 s after the last probe (which the peer did
	 * not take): the initial window of 3 segments leaves at once, the
	 * probe byte first again. */
	INJECT(s, MS(15500), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, W(8000));
	EXPECT(s, MS(15500), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 1460);
	EXPECT(s, MS(15500), .flags = ACK, .seq = ISS + 1461, .ack = IRS + 1, .len = 1460);
	EXPECT(s, MS(15500), .flags = ACK, .seq = ISS + 2921, .ack = IRS + 1, .len = 1460);
	EXPECT_NOTHING(s, MS(15600));
	INJECT(s, MS(15600), .flags = ACK, .seq = IRS + 1, .ack = ISS + 4381, W(8000));
	EXPECT(s, MS(15600), .flags = ACK, .seq = ISS + 4381, .ack = IRS + 1, .len = 1460);
	sc_discard(s);
	st = sc_stats(s);
	CHECK_EQ(st.rto_count, 0);
	CHECK_EQ(st.retransmits, 0);
	sc_finish(s);
}

/* A probe the peer takes (its buffer had room) is acknowledged like data;
 * with the window still closed the next probe comes one RTO later, not
 * backed off, since the peer made progress. */
static void test_probe_byte_taken_by_the_peer(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	INJECT(s, 0, .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, W(0));
	SEND(s, 0, 100);
	CHECK_INT(take_probe(s, SEC(1), ISS + 1), 1);
	CHECK_INT(take_probe(s, SEC(3), ISS + 1), 1);
	INJECT(s, MS(3100), .flags = ACK, .seq = IRS + 1, .ack = ISS + 2, W(0));
	EXPECT_NOTHING(s, MS(4100) - 1);
	CHECK_INT(take_probe(s, MS(4100), ISS + 2), 1);
	INJECT(s, MS(4200), .flags = ACK, .seq = IRS + 1, .ack = ISS + 2, W(1000));
	EXPECT(s, MS(4200), .flags = ACK, .seq = ISS + 2, .ack = IRS + 1, .len = 99);
	CHECK_EQ(sc_stats(s).rto_count, 0);
	sc_finish(s);
}

/* RFC 9293 3.8.6.2.1, sender-side silly window avoidance: with a usable
 * window below one MSS and more data queued than fits, nothing goes out
 * at once; at the override timeout (0.1 to 1 s) the data that fits is
 * sent, not a one-byte probe. */
static void test_small_window_is_filled_after_override_timeout(void)
{
	struct ptcp_segment g;
	uint8_t buf[SC_SEG_CAP];
	ptcp_ts exp;

	START(s, NULL, PTCP_ESTABLISHED);
	INJECT(s, 0, .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, W(800));
	SEND(s, 0, 2000);
	EXPECT_NOTHING(s, 0);
	exp = ptcp_conn_expiry(s->c);
	CHECK(exp != PTCP_TS_NEVER && exp - s->base >= MS(100) && exp - s->base <= SEC(1));
	if (exp != PTCP_TS_NEVER && sc_take(s, exp - s->base, &g, buf, NULL)) {
		CHECK_EQ(g.seq, ISS + 1);
		CHECK_EQ(g.len, 800);
	}
	sc_discard(s);
	sc_finish(s);
}

/* A peer that answers none of data_retries probes in a row is gone: the
 * next persist expiry ends the connection with a timeout, as unanswered
 * retransmissions would (without this a silent peer behind a closed window
 * held the connection for ever). */
static void test_silent_peer_behind_zero_window_times_out(void)
{
	static const unsigned at[] = { 1, 3, 7 };
	struct ptcp_config cfg;
	unsigned i;

	sc_config(&cfg);
	cfg.data_retries = 3;
	START(s, &cfg, PTCP_ESTABLISHED);
	INJECT(s, 0, .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, W(0));
	SEND(s, 0, 100);
	for (i = 0; i < 3; i++) {
		EXPECT_NOTHING(s, SEC(at[i]) - 1);
		CHECK_INT(take_probe(s, SEC(at[i]), ISS + 1), 1);
	}
	EXPECT_NOTHING(s, SEC(15) - 1);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	ADVANCE(s, SEC(15));
	EXPECT_OPTIONAL(s, SEC(15), .flags = RST, .seq = ISS + 1);
	EXPECT_NOTHING(s, SEC(15));
	EXPECT_CLOSED(s, PTCP_ERR_TIMEOUT);
	sc_finish(s);
}

/* As long as the peer answers the probes with a zero window, the
 * connection is kept, beyond the retry limit (RFC 9293 3.8.6.1: MUST NOT
 * close while the receiver keeps advertising a zero window). */
static void test_zero_window_persists_while_answered(void)
{
	struct ptcp_config cfg;
	unsigned i;

	sc_config(&cfg);
	cfg.data_retries = 2;
	START(s, &cfg, PTCP_ESTABLISHED);
	INJECT(s, 0, .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, W(0));
	SEND(s, 0, 100);
	for (i = 0; i < 8; i++) {
		ptcp_ts exp = ptcp_conn_expiry(s->c);
		uint64_t t;

		CHECK(exp != PTCP_TS_NEVER);
		if (exp == PTCP_TS_NEVER)
			break;
		t = exp - s->base;
		if (take_probe(s, t, ISS + 1) < 0)
			break;
		INJECT(s, t + MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, W(0));
		EXPECT_NOTHING(s, t + MS(10));
		EXPECT_STATE(s, PTCP_ESTABLISHED);
	}
	sc_finish(s);
}

/* ---- window scaling (RFC 7323) ------------------------------------------ */

static void test_window_scale_in_both_directions(void)
{
	struct ptcp_config cfg;
	struct script *s;

	sc_config(&cfg);
	cfg.window_scale = true;
	cfg.rcvbuf = 262144;
	s = start_with(&cfg, 1460, 3, PTCP_ESTABLISHED);
	if (!s)
		return;
	/* Ours: the SYN offered a shift big enough for 256 KiB. Theirs: the
	 * SYN-ACK's window was not scaled (RFC 7323 2.2). */
	CHECK(s->rcv_wscale >= 3 && s->rcv_wscale <= 14);
	CHECK_EQ(sc_stats(s).rcv_wnd, 131072); /* auto-tuning starts at 128 KiB */
	CHECK_EQ(sc_stats(s).snd_wnd, 65535);
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 1000);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1001,
	       W((131072 - 1000) >> s->rcv_wscale));
	/* Theirs: every window after the SYN-ACK is scaled: 200 << 3 is
	 * 1600, room for one full segment. */
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1001, .ack = ISS + 1, W(200));
	CHECK_EQ(sc_stats(s).snd_wnd, 1600);
	SEND(s, MS(30), 2000);
	EXPECT(s, MS(30), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1001, .len = 1460);
	EXPECT_NOTHING(s, MS(30));
	sc_finish(s);
}

/* RFC 7323 2.2: "The window field in a segment where the SYN bit is set
 * (i.e., a <SYN> or <SYN,ACK>) MUST NOT be scaled." */
static void test_window_of_peer_synack_is_not_scaled(void)
{
	struct ptcp_config cfg;
	struct script *s;

	sc_config(&cfg);
	cfg.window_scale = true;
	s = start_with(&cfg, 1460, 3, PTCP_ESTABLISHED);
	if (!s)
		return;
	CHECK_EQ(sc_stats(s).snd_wnd, 65535);
	sc_finish(s);
}

static void test_window_of_peer_syn_is_not_scaled(void)
{
	struct ptcp_config cfg;
	struct script *s;

	sc_config(&cfg);
	cfg.window_scale = true;
	s = sc_new(&cfg);
	s->passive = true;
	s->peer_ws = 3;
	if (sc_goto(s, PTCP_SYN_RECEIVED))
		CHECK_EQ(sc_stats(s).snd_wnd, 65535);
	sc_finish(s);
}

/* Without the peer's option neither side scales. */
static void test_window_scale_unused_without_peer_option(void)
{
	struct ptcp_config cfg;
	struct script *s;

	sc_config(&cfg);
	cfg.window_scale = true;
	cfg.rcvbuf = 262144;
	s = start_with(&cfg, 1460, -1, PTCP_ESTABLISHED);
	if (!s)
		return;
	CHECK_EQ(s->rcv_wscale, 0);
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 1000, W(1600));
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1001, W(65535));
	CHECK_EQ(sc_stats(s).snd_wnd, 1600);
	SEND(s, MS(20), 2000);
	EXPECT(s, MS(20), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1001, W(65535), .len = 1460);
	EXPECT_NOTHING(s, MS(20));
	sc_finish(s);
}

/* RFC 7323 2.3: a shift above 14 is used as 14. */
static void test_window_scale_clamped_to_14(void)
{
	struct ptcp_config cfg;
	struct script *s;

	sc_config(&cfg);
	cfg.window_scale = true;
	s = start_with(&cfg, 1460, 15, PTCP_ESTABLISHED);
	if (!s)
		return;
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, W(1));
	CHECK_EQ(sc_stats(s).snd_wnd, 16384);
	sc_finish(s);
}

/* ---- MSS (RFC 9293 3.7.1) ---------------------------------------------- */

static void test_mss_from_peer_option(void)
{
	struct script *s = start_with(NULL, 1000, -1, PTCP_ESTABLISHED);

	if (!s)
		return;
	CHECK_EQ(sc_stats(s).snd_mss, 1000);
	SEND(s, 0, 3000);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 1000);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1001, .ack = IRS + 1, .len = 1000);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 2001, .ack = IRS + 1, .len = 1000);
	EXPECT_NOTHING(s, 0);
	sc_finish(s);
}

/* Without the option the peer's MSS is 536 (RFC 9293 3.7.1, MUST-15); the
 * initial window is then 4 * 536 (RFC 5681 (3.1)). */
static void test_mss_defaults_to_536_without_option(void)
{
	struct script *s = start_with(NULL, 0, -1, PTCP_ESTABLISHED);
	unsigned i;

	if (!s)
		return;
	CHECK_EQ(sc_stats(s).snd_mss, 536);
	CHECK_EQ(sc_stats(s).cwnd, 2144);
	SEND(s, 0, 3000);
	for (i = 0; i < 4; i++)
		EXPECT(s, 0, .flags = ACK, .seq = ISS + 1 + 536 * i, .ack = IRS + 1, .len = 536);
	EXPECT_NOTHING(s, 0);
	sc_finish(s);
}

/* Our own MSS bounds what we send even if the peer allows more. */
static void test_mss_capped_by_our_mss(void)
{
	struct script *s = start_with(NULL, 9000, -1, PTCP_ESTABLISHED);

	if (!s)
		return;
	CHECK_EQ(sc_stats(s).snd_mss, 1460);
	SEND(s, 0, 2000);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 1460);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1461, .ack = IRS + 1, .len = 540);
	sc_finish(s);
}

/* ---- delayed ACK ------------------------------------------------------- */

static struct script *delack_established(void)
{
	struct ptcp_config cfg;

	sc_config(&cfg);
	cfg.delack = MS(200);
	return sc_start(&cfg, PTCP_ESTABLISHED);
}

static void test_delayed_ack_waits_for_the_timer(void)
{
	struct script *s = delack_established();

	if (!s)
		return;
	INJECT(s, 0, .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 100);
	EXPECT_NOTHING(s, MS(200) - 1);
	EXPECT(s, MS(200), .flags = ACK, .seq = ISS + 1, .ack = IRS + 101);
	EXPECT_NOTHING(s, SEC(10));
	sc_finish(s);
}

/* RFC 5681 4.2: an ACK for at least every second full-sized segment. */
static void test_delayed_ack_every_second_full_segment(void)
{
	struct script *s = delack_established();

	if (!s)
		return;
	INJECT(s, 0, .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 1460);
	EXPECT_NOTHING(s, MS(1));
	INJECT(s, MS(1), .flags = ACK, .seq = IRS + 1461, .ack = ISS + 1, .len = 1460);
	EXPECT(s, MS(1), .flags = ACK, .seq = ISS + 1, .ack = IRS + 2921);
	EXPECT_NOTHING(s, SEC(1));
	sc_finish(s);
}

/* RFC 5681 4.2: out-of-order data is acknowledged at once. */
static void test_delayed_ack_not_for_out_of_order(void)
{
	struct script *s = delack_established();

	if (!s)
		return;
	INJECT(s, 0, .flags = ACK, .seq = IRS + 101, .ack = ISS + 1, .len = 100);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	/* ... and so is the segment that fills the gap. */
	INJECT(s, MS(5), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 100);
	EXPECT(s, MS(5), .flags = ACK, .seq = ISS + 1, .ack = IRS + 201);
	EXPECT_NOTHING(s, SEC(1));
	sc_finish(s);
}

/* A delayed ACK rides on data we send before the timer. */
static void test_delayed_ack_piggybacks_on_data(void)
{
	struct script *s = delack_established();

	if (!s)
		return;
	INJECT(s, 0, .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 100);
	SEND(s, MS(50), 10);
	EXPECT(s, MS(50), .flags = ACK, .seq = ISS + 1, .ack = IRS + 101, .len = 10);
	INJECT(s, MS(60), .flags = ACK, .seq = IRS + 101, .ack = ISS + 11);
	EXPECT_NOTHING(s, SEC(1));
	sc_finish(s);
}

/* ---- keepalive (RFC 9293 3.8.4) ---------------------------------------- */

/* A keepalive probe is <SEQ=SND.NXT-1><ACK=RCV.NXT>, with or without one
 * garbage byte. */
static bool take_keepalive(struct script *s, uint64_t t, ptcp_seq rcv_nxt)
{
	struct ptcp_segment g;
	uint8_t buf[SC_SEG_CAP];

	if (!sc_take(s, t, &g, buf, NULL))
		return false;
	if ((g.flags & ~PSH) == ACK && g.seq == ISS && g.ack == rcv_nxt && g.len <= 1)
		return true;
	CHECK(!"not a keepalive probe");
	return false;
}

static struct script *keepalive_established(void)
{
	struct ptcp_config cfg;

	sc_config(&cfg);
	cfg.keepalive_idle = SEC(10);
	cfg.keepalive_interval = SEC(2);
	cfg.keepalive_count = 3;
	return sc_start(&cfg, PTCP_ESTABLISHED);
}

static void test_keepalive_probe_answered_keeps_connection(void)
{
	struct script *s = keepalive_established();

	if (!s)
		return;
	EXPECT_NOTHING(s, SEC(10) - 1);
	CHECK(take_keepalive(s, SEC(10), IRS + 1));
	INJECT(s, SEC(10) + MS(100), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1);
	EXPECT_NOTHING(s, SEC(20) + MS(100) - 1);
	CHECK(take_keepalive(s, SEC(20) + MS(100), IRS + 1));
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	sc_discard(s);
	sc_finish(s);
}

static void test_keepalive_unanswered_ends_connection(void)
{
	struct script *s = keepalive_established();

	if (!s)
		return;
	CHECK(take_keepalive(s, SEC(10), IRS + 1));
	EXPECT_NOTHING(s, SEC(12) - 1);
	CHECK(take_keepalive(s, SEC(12), IRS + 1));
	EXPECT_NOTHING(s, SEC(14) - 1);
	CHECK(take_keepalive(s, SEC(14), IRS + 1));
	EXPECT_NOTHING(s, SEC(16) - 1);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	ADVANCE(s, SEC(16));
	EXPECT_OPTIONAL(s, SEC(16), .flags = RST, .seq = ISS + 1);
	EXPECT_NOTHING(s, SEC(16));
	EXPECT_CLOSED(s, PTCP_ERR_KEEPALIVE);
	sc_finish(s);
}

/* Data received counts as activity: no probe while the peer talks. */
static void test_keepalive_idle_counts_from_last_segment(void)
{
	struct script *s = keepalive_established();

	if (!s)
		return;
	INJECT(s, SEC(8), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 10);
	EXPECT(s, SEC(8), .flags = ACK, .seq = ISS + 1, .ack = IRS + 11);
	EXPECT_NOTHING(s, SEC(18) - 1);
	CHECK(take_keepalive(s, SEC(18), IRS + 11));
	sc_finish(s);
}

static void test_no_keepalive_by_default(void)
{
	START(s, NULL, PTCP_ESTABLISHED);
	CHECK_EQ(ptcp_conn_expiry(s->c), PTCP_TS_NEVER);
	EXPECT_NOTHING(s, SEC(7200));
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	sc_finish(s);
}

int main(void)
{
	RUN(test_rto_initial_is_configurable);
	RUN(test_data_rto_doubles);
	RUN(test_data_rto_capped_at_rto_max);
	RUN(test_retry_limit_ends_with_timeout);
	RUN(test_user_timeout_ends_before_the_retry_limit);
	RUN(test_user_timeout_counts_from_the_last_progress);
	RUN(test_user_timeout_spares_an_answered_zero_window);
	RUN(test_progress_resets_the_retry_count);
	RUN(test_timer_restarts_on_ack_and_stops_when_all_acked);
	RUN(test_rto_follows_rtt_samples);
	RUN(test_karn_no_sample_from_retransmission);
	RUN(test_backed_off_rto_kept_until_valid_sample);
	RUN(test_rto_collapses_cwnd);
	RUN(test_slow_start_after_timeout);
	RUN(test_fast_retransmit_on_third_dupack);
	RUN(test_newreno_partial_ack_retransmits_next_hole);
	RUN(test_window_updates_are_not_dupacks);
	RUN(test_data_segments_are_not_dupacks);
	RUN(test_zero_window_probes_then_window_opens);
	RUN(test_silent_peer_behind_zero_window_times_out);
	RUN(test_zero_window_persists_while_answered);
	RUN(test_unanswered_probes_are_not_losses);
	RUN(test_probe_byte_taken_by_the_peer);
	RUN(test_small_window_is_filled_after_override_timeout);
	RUN(test_window_scale_in_both_directions);
	RUN(test_window_scale_unused_without_peer_option);
	RUN(test_window_of_peer_synack_is_not_scaled);
	RUN(test_window_of_peer_syn_is_not_scaled);
	RUN(test_window_scale_clamped_to_14);
	RUN(test_mss_from_peer_option);
	RUN(test_mss_defaults_to_536_without_option);
	RUN(test_mss_capped_by_our_mss);
	RUN(test_delayed_ack_waits_for_the_timer);
	RUN(test_delayed_ack_every_second_full_segment);
	RUN(test_delayed_ack_not_for_out_of_order);
	RUN(test_delayed_ack_piggybacks_on_data);
	RUN(test_keepalive_probe_answered_keeps_connection);
	RUN(test_keepalive_unanswered_ends_connection);
	RUN(test_keepalive_idle_counts_from_last_segment);
	RUN(test_no_keepalive_by_default);
	return check_summary();
}
