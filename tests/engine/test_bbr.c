/* BBR in the connection: pacing (segments leave at the pacing rate, a send
 * quantum back to back, not a window's worth in a burst; the departure
 * time is the connection's expiry, and what is held back goes out when it
 * passes), the window BBR sets in recovery instead of PRR, and loss that
 * does not lower the pacing rate. Peer MSS 500 keeps the numbers small;
 * the handshake's RTT is 10 ms, so the initial pacing rate is
 * InitialCwnd (RFC 6928's 10 x 500 bytes) per 10 ms times 2/ln(2):
 * 1,443,359 B/s, with a send quantum of two segments (between 1.2 and 24
 * Mbit/s). */
#include "bbr.h"
#include "check.h"
#include "script.h"

/* ESTABLISHED with BBR, peer MSS 500; sack on request. */
static struct script *bbr_conn(bool sack)
{
	struct ptcp_config cfg;
	struct script *s;

	sc_config(&cfg);
	cfg.cc = PTCP_CC_BBR;
	cfg.sack = sack;
	cfg.sndbuf = 64 * 1024;
	s = sc_new(&cfg);
	s->peer_sackp = sack;
	s->peer_mss = 500;
	if (!sc_goto(s, PTCP_ESTABLISHED)) {
		sc_finish(s);
		return NULL;
	}
	return s;
}

#define IW_SEGS 10 /* RFC 6928, as Linux: BBR's initial window */

/* The draft's initial pacing rate for IW 5000 bytes and SRTT 10 ms. */
static uint64_t initial_rate(void)
{
	return 500ULL * IW_SEGS * PTCP_NS_PER_S / MS(10) * PTCP_BBR_HIGH_GAIN / PTCP_BBR_UNIT;
}

/* 500 bytes at rate, in ns. */
static uint64_t gap(uint64_t rate)
{
	return 500ULL * PTCP_NS_PER_S / rate;
}

/* The initial window does not go out in one burst: the quantum (two
 * segments) at once, then one segment per 500 bytes at the pacing rate.
 * While a segment waits, its departure time is the expiry. */
static void test_pacing_spreads_the_initial_window(void)
{
	struct script *s = bbr_conn(false);
	uint64_t rate = initial_rate(), g = gap(rate);
	ptcp_seq b = ISS + 1;

	unsigned i;

	if (!s)
		return;
	CHECK_EQ(rate, 1443359);
	SEND(s, 0, 16 * 500);
	CHECK_EQ(sc_stats(s).cwnd, IW_SEGS * 500);
	CHECK_EQ(sc_stats(s).pacing_rate, rate);
	EXPECT(s, 0, .flags = ACK, .seq = b, .ack = IRS + 1, .len = 500);
	EXPECT(s, 0, .flags = ACK, .seq = b + 500, .ack = IRS + 1, .len = 500);
	CHECK_EQ(ptcp_conn_expiry(s->c), s->base + g);
	for (i = 2; i < IW_SEGS; i++) {
		EXPECT_NOTHING(s, (i - 1) * g - 1);
		EXPECT(s, (i - 1) * g, .flags = ACK, .seq = b + 500 * i, .ack = IRS + 1, .len = 500);
	}
	/* The initial window (5000 bytes) is out: nothing more until ACKs,
	 * and no pacing deadline with nothing to pace. */
	CHECK(ptcp_conn_expiry(s->c) > s->base + MS(100));
	EXPECT_NOTHING(s, MS(9));
	sc_discard(s);
	sc_finish(s);
}

/* An ACK that opens the window by twenty segments at once releases them at
 * the pacing rate: two (the quantum the idle time earned) at once, the
 * others a segment time apart. Startup grows cwnd by what is delivered. */
static void test_ack_opening_the_window_is_paced(void)
{
	struct script *s = bbr_conn(false);
	uint64_t rate = initial_rate(), g = gap(rate), t;
	ptcp_seq b = ISS + 1;
	unsigned i;

	if (!s)
		return;
	SEND(s, 0, 16000);
	for (i = 0; i < IW_SEGS; i++)
		EXPECT(s, i < 2 ? 0 : (i - 1) * g, .flags = ACK, .seq = b + 500 * i, .ack = IRS + 1,
		       .len = 500);
	EXPECT_NOTHING(s, MS(12));
	/* All ten acknowledged together: cwnd 5000 + 5000, twenty segments
	 * may be in flight. The delivery rate (5000 bytes over 12 ms) is
	 * below the initial rate, which Startup keeps. */
	INJECT(s, MS(12), .flags = ACK, .seq = IRS + 1, .ack = b + 5000);
	CHECK_EQ(sc_stats(s).cwnd, 10000);
	CHECK_EQ(sc_stats(s).pacing_rate, rate);
	EXPECT(s, MS(12), .flags = ACK, .seq = b + 5000, .ack = IRS + 1, .len = 500);
	EXPECT(s, MS(12), .flags = ACK, .seq = b + 5500, .ack = IRS + 1, .len = 500);
	for (i = 2, t = MS(12); i < 2 * IW_SEGS; i++) {
		t += g;
		EXPECT_NOTHING(s, t - 1);
		EXPECT(s, t, .flags = ACK, .seq = b + 5000 + 500 * i, .ack = IRS + 1, .len = 500);
	}
	EXPECT_NOTHING(s, MS(20));
	CHECK_EQ(sc_stats(s).pipe, 10000);
	sc_discard(s);
	sc_finish(s);
}

/* Paced data waiting does not hold back an ACK the connection owes: data
 * that arrives while the next segment waits is acknowledged at once. */
static void test_pacing_does_not_delay_acks(void)
{
	struct script *s = bbr_conn(false);
	uint64_t g = gap(initial_rate());
	ptcp_seq b = ISS + 1;

	if (!s)
		return;
	SEND(s, 0, 8000);
	EXPECT(s, 0, .flags = ACK, .seq = b, .ack = IRS + 1, .len = 500);
	EXPECT(s, 0, .flags = ACK, .seq = b + 500, .ack = IRS + 1, .len = 500);
	INJECT(s, g / 2, .flags = ACK, .seq = IRS + 1, .ack = b, .len = 100);
	EXPECT(s, g / 2, .flags = ACK, .seq = b + 1000, .ack = IRS + 101);
	EXPECT(s, g, .flags = ACK, .seq = b + 1000, .ack = IRS + 101, .len = 500);
	sc_discard(s);
	sc_finish(s);
}

/* One segment of the second flight is lost (SACK shows the nine after
 * it). Recovery does not use PRR: BBR's window is the flight plus what the
 * ACK delivered (packet conservation, 4.2.3.4), and the pacing rate stays
 * as it was: the loss is not taken for congestion. When the recovery ends
 * the window from before it comes back. */
static void test_recovery_keeps_the_rate(void)
{
	struct script *s = bbr_conn(true);
	uint64_t rate = initial_rate(), g = gap(rate);
	struct ptcp_options o = { .sack_count = 1 };
	ptcp_seq b = ISS + 1;
	unsigned i;

	if (!s)
		return;
	SEND(s, 0, 2 * IW_SEGS * 500);
	for (i = 0; i < IW_SEGS; i++)
		EXPECT(s, i < 2 ? 0 : (i - 1) * g, .flags = ACK, .seq = b + 500 * i, .ack = IRS + 1,
		       .len = 500);
	/* The second flight: the other ten segments. */
	INJECT(s, MS(12), .flags = ACK, .seq = IRS + 1, .ack = b + 5000);
	for (i = IW_SEGS; i < 2 * IW_SEGS; i++)
		EXPECT(s, MS(12) + (i < IW_SEGS + 2 ? 0 : (i - IW_SEGS - 1) * g), .flags = ACK,
		       .seq = b + 500 * i, .ack = IRS + 1, .len = 500);
	sc_discard(s);
	/* b + 5000 is lost; the next three arrive, and the third SACK starts
	 * the recovery: 3000 in flight (six segments neither SACKed nor
	 * lost) plus the 500 delivered. */
	for (i = 1; i < 4; i++) {
		o.sack[0].left = b + 5500;
		o.sack[0].right = b + 5500 + 500 * i;
		INJECT(s, MS(23), .flags = ACK, .seq = IRS + 1, .ack = b + 5000, .opt = o);
		CHECK_EQ(sc_stats(s).recoveries, i == 3);
	}
	CHECK_EQ(sc_stats(s).cwnd, 3000 + 500);
	CHECK_EQ(sc_stats(s).pacing_rate, rate);
	CHECK_EQ(sc_stats(s).ssthresh, UINT32_MAX);
	EXPECT(s, MS(23), .flags = ACK, .seq = b + 5000, .ack = IRS + 1, .len = 500);
	sc_discard(s);
	/* The cumulative ACK of all twenty ends the recovery: the window from
	 * before it (10000, and 500 for each of the first two SACKs: Startup
	 * grows by what is delivered) comes back, plus Startup's growth for
	 * what this ACK delivered: the retransmission and the six segments
	 * not SACKed. */
	INJECT(s, MS(33), .flags = ACK, .seq = IRS + 1, .ack = b + 10000);
	CHECK_EQ(sc_stats(s).recoveries, 1);
	CHECK_EQ(sc_stats(s).pacing_rate, rate);
	CHECK_EQ(sc_stats(s).retransmits, 1);
	CHECK_EQ(sc_stats(s).cwnd, 11000 + 3500);
	sc_discard(s);
	sc_finish(s);
}

/* Lets time run to t (script time), dropping what the connection sends on
 * the way unchecked: for tests about the rates and windows, not the
 * segments' times. */
static void run_to(struct script *s, uint64_t t)
{
	for (;;) {
		ptcp_ts exp = ptcp_conn_expiry(s->c);

		sc_discard(s);
		if (exp > s->base + t || exp < s->now)
			break;
		ADVANCE(s, exp - s->base);
	}
	ADVANCE(s, t);
	sc_discard(s);
}

/* A receiver's window that holds the sender back is not a full pipe.
 * The peer offers 5000 bytes and ACKs each flight 10 ms after it left:
 * every round then delivers 5000 bytes, and with cwnd above the window
 * the rounds are application-limited for the delivery rate (the peer's
 * window counts as the application, RFC 9438 5.8), so their flat rates
 * do not make three rounds without growth (4.3.2.2): Startup goes on.
 * When the window opens, the next rounds measure more and Startup is
 * still there to double the rate. (A Linux receiver behind a lossy path
 * grows its window that slowly: Startup used to end at the window's
 * rate, half the path's or less.) */
static void test_receive_window_does_not_fill_the_pipe(void)
{
	struct script *s = bbr_conn(false);
	ptcp_seq una = ISS + 1;
	uint64_t t = 0, held;
	unsigned round;

	if (!s)
		return;
	s->peer_wnd = 5000;
	SEND(s, 0, 64000);
	run_to(s, MS(9));
	for (round = 1; round <= 8; round++) {
		t = MS(10) * round;
		una += 5000;
		INJECT(s, t, .flags = ACK, .seq = IRS + 1, .ack = una);
		run_to(s, t + MS(9));
		/* One window in flight, no more: the peer's window held it. */
		CHECK_EQ(sc_stats(s).pipe, 5000);
		CHECK(sc_stats(s).cwnd > 5000);
		CHECK_EQ(sc_stats(s).bbr_state, PTCP_BBR_STARTUP);
	}
	held = sc_stats(s).bbr_btlbw;
	CHECK(held > 0);
	/* The window opens: Startup fills what cwnd and the pacing rate allow. */
	s->peer_wnd = 65535;
	for (round = 9; round <= 10; round++) {
		t = MS(10) * round;
		run_to(s, t);
		una += sc_stats(s).pipe;
		INJECT(s, t, .flags = ACK, .seq = IRS + 1, .ack = una);
		SEND(s, t, 64000 - ptcp_conn_send_pending(s->c));
	}
	run_to(s, t + MS(9));
	CHECK_EQ(sc_stats(s).bbr_state, PTCP_BBR_STARTUP);
	CHECK(sc_stats(s).bbr_btlbw > 2 * held);
	CHECK(sc_stats(s).pipe > 2 * 5000);
	sc_finish(s);
}

/* Losses past the end of one fast recovery start the next with the same
 * ACK (as Linux does): the window saved before recovery 1 does not come
 * back for one ACK, only to be cut to the flight (packet conservation,
 * 4.2.3.4) when the next ACK starts recovery 2, as it was at every
 * episode while random loss brought one after the other. The second
 * flight (twenty segments) loses its first: three SACKed segments start
 * recovery 1, with its point at the flight's end; new data goes out as
 * the SACKs come, and the first of it is lost too. The ACK that ends
 * recovery 1 also shows three segments held above that one: recovery 2
 * begins at once. A loss after that is part of recovery 2: the window
 * still grows by what each ACK delivers, less what it found lost. */
static void test_back_to_back_recoveries_keep_the_window(void)
{
	struct script *s = bbr_conn(true);
	struct ptcp_options o = { .sack_count = 1 };
	ptcp_seq b = ISS + 1;
	uint32_t cwnd;

	if (!s)
		return;
	SEND(s, 0, 64000);
	run_to(s, MS(10));
	/* The second flight: cwnd 10000 and the peer's window say twenty. */
	s->peer_wnd = 10000;
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = b + 5000);
	run_to(s, MS(20));
	CHECK_EQ(sc_stats(s).pipe, 10000);
	/* b + 5000 lost: recovery 1, up to b + 15000. The window opens. */
	s->peer_wnd = 30000;
	o.sack[0].left = b + 5500;
	o.sack[0].right = b + 7000;
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = b + 5000, .opt = o);
	CHECK_EQ(sc_stats(s).recoveries, 1);
	run_to(s, MS(21));
	o.sack[0].right = b + 15000;
	INJECT(s, MS(21), .flags = ACK, .seq = IRS + 1, .ack = b + 5000, .opt = o);
	run_to(s, MS(30));
	/* The retransmission arrived, b + 15000 did not, the three after it
	 * did: recovery 1 is over and recovery 2 starts with the same ACK. */
	o.sack[0].left = b + 15500;
	o.sack[0].right = b + 17000;
	INJECT(s, MS(30), .flags = ACK, .seq = IRS + 1, .ack = b + 15000, .opt = o);
	CHECK_EQ(sc_stats(s).recoveries, 2);
	run_to(s, MS(31));
	o.sack[0].right = b + 17500;
	INJECT(s, MS(31), .flags = ACK, .seq = IRS + 1, .ack = b + 15000, .opt = o);
	run_to(s, MS(32));
	cwnd = sc_stats(s).cwnd;
	/* Another loss: b + 17500, with three segments above it. */
	o.sack[1].left = b + 18000;
	o.sack[1].right = b + 19500;
	o.sack_count = 2;
	INJECT(s, MS(32), .flags = ACK, .seq = IRS + 1, .ack = b + 15000, .opt = o);
	CHECK_EQ(sc_stats(s).recoveries, 2);
	CHECK_EQ(sc_stats(s).cwnd, cwnd + 1500 - 500);
	run_to(s, MS(40));
	sc_finish(s);
}

int main(void)
{
	RUN(test_pacing_spreads_the_initial_window);
	RUN(test_ack_opening_the_window_is_paced);
	RUN(test_pacing_does_not_delay_acks);
	RUN(test_recovery_keeps_the_rate);
	RUN(test_receive_window_does_not_fill_the_pipe);
	RUN(test_back_to_back_recoveries_keep_the_window);
	return check_summary();
}
