/* RFC 7323 timestamps: negotiation (3.2), the echo rules (4.3), RTT
 * measurement from TSecr (section 4 with RFC 6298), PAWS (5.3, 5.5) and
 * what the 12 option bytes take from every segment's payload.
 *
 * The engine's timestamp clock counts milliseconds of the caller's time
 * from its ISS at the moment it opened; the scripted peer's clock is the
 * absolute time in milliseconds (sc_peer_tsval()). */
#include "script.h"

#define TS_DATA (1460 - 12) /* MSS less the timestamp option */

static struct ptcp_config ts_config(void)
{
	struct ptcp_config cfg;

	sc_config(&cfg);
	cfg.timestamps = true;
	return cfg;
}

/* sc_new + the peer offers timestamps + sc_goto; NULL on failure. */
static struct script *start_ts(const struct ptcp_config *cfg, bool passive, enum ptcp_state st)
{
	struct script *s = sc_new(cfg);

	s->peer_ts = true;
	s->passive = passive;
	if (!sc_goto(s, st)) {
		sc_finish(s);
		return NULL;
	}
	return s;
}

static struct sc_pkt ts_opt(uint32_t val, uint32_t ecr)
{
	struct sc_pkt p = { .optcmp = O_TS };

	p.opt.has_ts = true;
	p.opt.ts_val = val;
	p.opt.ts_ecr = ecr;
	return p;
}

#define TSOPT(val, ecr) .opt = ts_opt((val), (ecr)).opt, .optcmp = O_TS

/* ---- negotiation ---------------------------------------------------------- */

/* Both SYNs carry the option: every later segment does, TSval from our
 * clock and TSecr echoing the peer. */
static void test_negotiated_active(void)
{
	struct ptcp_config cfg = ts_config();
	struct script *s = start_ts(&cfg, false, PTCP_ESTABLISHED);
	uint32_t peer;

	if (!s)
		return;
	peer = sc_peer_tsval(s); /* the SYN-ACK's TSval: TS.Recent now */
	SEND(s, MS(100), 100);
	EXPECT(s, MS(100), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100,
	       TSOPT(sc_engine_tsval(s, MS(100)), peer));
	CHECK_EQ(sc_engine_tsval(s, MS(100)), ISS + 110);
	sc_finish(s);
}

/* The passive side echoes the SYN's TSval in its SYN-ACK. */
static void test_negotiated_passive(void)
{
	struct ptcp_config cfg = ts_config();
	struct script *s = sc_new(&cfg);
	struct ptcp_segment g;
	uint8_t buf[SC_SEG_CAP];
	uint32_t syn_val;

	s->peer_ts = true;
	sc_open_passive(s, 0);
	INJECT(s, MS(10), .flags = SYN, .seq = IRS, .opt = { .has_mss = true, .mss = 1460 });
	syn_val = sc_peer_tsval(s);
	if (sc_take(s, MS(10), &g, buf, NULL)) {
		CHECK_EQ(g.flags, SYN | ACK);
		CHECK(g.opt.has_ts);
		CHECK_EQ(g.opt.ts_ecr, syn_val);
		CHECK_EQ(g.opt.ts_val, ISS); /* the clock starts with the SYN */
	}
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	SEND(s, MS(30), 10);
	EXPECT(s, MS(30), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 10,
	       TSOPT(ISS + 20, (uint32_t)((s->base + MS(20)) / PTCP_NS_PER_MS)));
	sc_finish(s);
}

/* A peer that does not answer with the option: none afterwards, even
 * though our SYN offered it (RFC 7323 3.2). */
static void test_not_negotiated_without_the_peer(void)
{
	struct ptcp_config cfg = ts_config();
	struct ptcp_segment g;
	uint8_t buf[SC_SEG_CAP];

	START(s, &cfg, PTCP_ESTABLISHED);
	SEND(s, MS(10), 100);
	if (sc_take(s, MS(10), &g, buf, NULL))
		CHECK(!g.opt.has_ts);
	/* Segments without the option are fine then. */
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = ISS + 101, .len = 10);
	EXPECT(s, MS(20), .flags = ACK, .seq = ISS + 101, .ack = IRS + 11);
	sc_finish(s);
}

/* Turned off: no option in our SYN-ACK, and the peer's are ignored. */
static void test_off_by_config(void)
{
	struct ptcp_config cfg;
	struct ptcp_segment g;
	uint8_t buf[SC_SEG_CAP];
	struct script *s;

	sc_config(&cfg);
	s = start_ts(&cfg, true, PTCP_ESTABLISHED); /* sc_expect_syn checks the SYN-ACK */
	if (!s)
		return;
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 5);
	if (sc_take(s, MS(10), &g, buf, NULL)) {
		CHECK(!g.opt.has_ts);
		CHECK_EQ(g.ack, IRS + 6);
	}
	sc_finish(s);
}

/* ---- the echo rules (RFC 7323 4.3) ------------------------------------------- */

/* With delayed ACKs, the ACK echoes the earliest segment it covers (case
 * A of 4.3); an out-of-order segment does not move TS.Recent (case C), the
 * segment that fills the hole does. */
static void test_echo_rules(void)
{
	struct ptcp_config cfg = ts_config();
	struct script *s;
	uint32_t first;

	cfg.delack = MS(200);
	cfg.rcvbuf = 16384;
	s = start_ts(&cfg, false, PTCP_ESTABLISHED);
	if (!s)
		return;
	INJECT(s, MS(100), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = TS_DATA);
	first = sc_peer_tsval(s);
	EXPECT_NOTHING(s, MS(150));
	INJECT(s, MS(150), .flags = ACK, .seq = IRS + 1 + TS_DATA, .ack = ISS + 1, .len = TS_DATA);
	EXPECT(s, MS(150), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1 + 2 * TS_DATA, WANY,
	       TSOPT(sc_engine_tsval(s, MS(150)), first));
	/* A hole: the out-of-order segment is acknowledged at once with the
	 * old echo. */
	INJECT(s, MS(200), .flags = ACK, .seq = IRS + 1 + 3 * TS_DATA, .ack = ISS + 1, .len = 100);
	EXPECT(s, MS(200), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1 + 2 * TS_DATA, WANY,
	       TSOPT(sc_engine_tsval(s, MS(200)), first));
	INJECT(s, MS(250), .flags = ACK, .seq = IRS + 1 + 2 * TS_DATA, .ack = ISS + 1, .len = TS_DATA);
	EXPECT(s, MS(250), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1 + 3 * TS_DATA + 100, WANY,
	       TSOPT(sc_engine_tsval(s, MS(250)), sc_peer_tsval(s)));
	sc_finish(s);
}

/* ---- RTT measurement (RFC 7323 section 4) ---------------------------------- */

/* Without timestamps Karn's rule forbids a sample from a retransmitted
 * segment; TSecr says which transmission the ACK answers, so the engine
 * measures the retransmission's round trip. */
static void test_rtt_sample_after_retransmission(void)
{
	struct ptcp_config cfg = ts_config();
	struct script *s = start_ts(&cfg, false, PTCP_ESTABLISHED);
	struct ptcp_stats st0, st;
	uint32_t recent;

	if (!s)
		return;
	st0 = sc_stats(s);
	CHECK_EQ(st0.srtt, MS(10)); /* the handshake's sample */
	recent = sc_peer_tsval(s);
	SEND(s, 0, 100);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100);
	EXPECT(s, SEC(1), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100,
	       TSOPT(sc_engine_tsval(s, SEC(1)), recent));
	/* s->ts_echo is now the retransmission's TSval. */
	INJECT(s, MS(1250), .flags = ACK, .seq = IRS + 1, .ack = ISS + 101);
	st = sc_stats(s);
	CHECK_EQ(st.rtt_samples, st0.rtt_samples + 1);
	CHECK_EQ(st.srtt, (7 * MS(10) + MS(250)) / 8); /* RFC 6298 (2.3) */
	sc_finish(s);
}

/* A sample on every ACK of new data, not one per round trip; ACKs that
 * acknowledge nothing new give none (RFC 7323 4.2). */
static void test_rtt_sample_on_every_ack(void)
{
	struct ptcp_config cfg = ts_config();
	struct script *s = start_ts(&cfg, false, PTCP_ESTABLISHED);
	struct ptcp_stats st0;
	uint32_t v[3];
	int i;

	if (!s)
		return;
	st0 = sc_stats(s);
	for (i = 0; i < 3; i++) {
		SEND(s, MS(10 * i), 100);
		v[i] = sc_engine_tsval(s, MS(10 * i));
		EXPECT(s, MS(10 * i), .flags = ACK, .seq = ISS + 1 + 100 * (uint32_t)i, .ack = IRS + 1,
		       .len = 100);
	}
	for (i = 0; i < 3; i++)
		INJECT(s, MS(100 + 10 * i), .flags = ACK, .seq = IRS + 1, .ack = ISS + 101 + 100 * (uint32_t)i,
		       .opt = ts_opt(sc_peer_tsval(s), v[i]).opt);
	INJECT(s, MS(200), .flags = ACK, .seq = IRS + 1, .ack = ISS + 301, .opt = ts_opt(sc_peer_tsval(s), v[2]).opt);
	CHECK_EQ(sc_stats(s).rtt_samples, st0.rtt_samples + 3);
	{
		/* every sample said 100 ms; the first one (handshake) 10 ms */
		uint64_t srtt = MS(10);

		for (i = 0; i < 3; i++)
			srtt = (7 * srtt + MS(100)) / 8;
		CHECK_EQ(sc_stats(s).srtt, srtt);
	}
	sc_finish(s);
}

/* ---- PAWS (RFC 7323 5.3) ----------------------------------------------------- */

/* An old duplicate whose sequence numbers look new (inside the window)
 * but whose TSval is older than TS.Recent is dropped with an ACK; the
 * same bytes with a current timestamp are then taken. */
static void test_paws_drops_old_duplicate(void)
{
	struct ptcp_config cfg = ts_config();
	struct script *s = start_ts(&cfg, false, PTCP_ESTABLISHED);
	uint32_t recent;

	if (!s)
		return;
	INJECT(s, MS(100), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 100);
	recent = sc_peer_tsval(s);
	EXPECT(s, MS(100), .flags = ACK, .seq = ISS + 1, .ack = IRS + 101);
	INJECT(s, MS(200), .flags = ACK, .seq = IRS + 101, .ack = ISS + 1, .len = 100,
	       .opt = ts_opt(recent - 5, 0).opt);
	EXPECT(s, MS(200), .flags = ACK, .seq = ISS + 1, .ack = IRS + 101);
	EXPECT_DROP(s, PTCP_DROP_PAWS);
	CHECK_EQ(ptcp_conn_recv_ready(s->c), 100);
	/* Equal to TS.Recent is not older: accepted. */
	INJECT(s, MS(300), .flags = ACK, .seq = IRS + 101, .ack = ISS + 1, .len = 100,
	       .opt = ts_opt(recent, 0).opt);
	EXPECT(s, MS(300), .flags = ACK, .seq = ISS + 1, .ack = IRS + 201);
	CHECK_EQ(ptcp_conn_recv_ready(s->c), 200);
	CHECK_EQ(sc_stats(s).drops[PTCP_DROP_PAWS], 1);
	sc_finish(s);
}

/* The comparison is modulo 2^32 (RFC 7323 5.2): a TSval just past the wrap
 * is newer than one just before it. */
static void test_paws_across_the_wrap(void)
{
	struct ptcp_config cfg = ts_config();
	struct script *s = start_ts(&cfg, false, PTCP_ESTABLISHED);
	uint32_t v;

	if (!s)
		return;
	/* Walk the peer's clock up to just below 2^32 in steps of less than
	 * 2^31, each newer than the last. */
	v = sc_peer_tsval(s) + 0x70000000u;
	INJECT(s, MS(100), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 10, .opt = ts_opt(v, 0).opt);
	EXPECT(s, MS(100), .flags = ACK, .seq = ISS + 1, .ack = IRS + 11);
	INJECT(s, MS(150), .flags = ACK, .seq = IRS + 11, .ack = ISS + 1, .len = 10,
	       .opt = ts_opt(v + 0x70000000u, 0).opt);
	EXPECT(s, MS(150), .flags = ACK, .seq = ISS + 1, .ack = IRS + 21);
	INJECT(s, MS(200), .flags = ACK, .seq = IRS + 21, .ack = ISS + 1, .len = 10,
	       .opt = ts_opt(0xfffffff0u, 0).opt);
	EXPECT(s, MS(200), .flags = ACK, .seq = ISS + 1, .ack = IRS + 31);
	INJECT(s, MS(300), .flags = ACK, .seq = IRS + 31, .ack = ISS + 1, .len = 10,
	       .opt = ts_opt(0x10, 0).opt);
	EXPECT(s, MS(300), .flags = ACK, .seq = ISS + 1, .ack = IRS + 41);
	INJECT(s, MS(400), .flags = ACK, .seq = IRS + 41, .ack = ISS + 1, .len = 10,
	       .opt = ts_opt(0xfffffff8u, 0).opt);
	EXPECT(s, MS(400), .flags = ACK, .seq = ISS + 1, .ack = IRS + 41);
	EXPECT_DROP(s, PTCP_DROP_PAWS);
	sc_finish(s);
}

/* A RST is acceptable whatever its timestamp (RFC 7323 5.2). */
static void test_paws_exempts_rst(void)
{
	struct ptcp_config cfg = ts_config();
	struct script *s = start_ts(&cfg, false, PTCP_ESTABLISHED);

	if (!s)
		return;
	INJECT(s, MS(100), .flags = RST, .seq = IRS + 1, .opt = ts_opt(1, 0).opt);
	EXPECT_CLOSED(s, PTCP_ERR_RESET);
	sc_finish(s);
}

/* RFC 7323 5.5: after 24 days without an update TS.Recent is invalid, so a
 * peer whose clock has moved on by more than half its range is heard. */
static void test_paws_idle_24_days(void)
{
	struct ptcp_config cfg = ts_config();
	struct script *s = start_ts(&cfg, false, PTCP_ESTABLISHED);
	uint64_t day = SEC(24 * 3600);
	uint32_t recent;

	if (!s)
		return;
	INJECT(s, MS(100), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 10);
	recent = sc_peer_tsval(s);
	EXPECT(s, MS(100), .flags = ACK, .seq = ISS + 1, .ack = IRS + 11);
	INJECT(s, 23 * day, .flags = ACK, .seq = IRS + 11, .ack = ISS + 1, .len = 10,
	       .opt = ts_opt(recent - 0x7fffffffu, 0).opt);
	EXPECT(s, 23 * day, .flags = ACK, .seq = ISS + 1, .ack = IRS + 11);
	EXPECT_DROP(s, PTCP_DROP_PAWS);
	INJECT(s, 25 * day, .flags = ACK, .seq = IRS + 11, .ack = ISS + 1, .len = 10,
	       .opt = ts_opt(recent - 0x7fffffffu, 0).opt);
	EXPECT(s, 25 * day, .flags = ACK, .seq = ISS + 1, .ack = IRS + 21);
	sc_finish(s);
}

/* TIME-WAIT: an old duplicate (TSval older than TS.Recent) repeated draws
 * one ACK per cfg.invalid_ack_interval (RFC 5961 section 7, as Linux's
 * tcp_timewait_state_process() limits it), every one with interval 0; it
 * does not restart the 2 MSL. */
static void paws_in_time_wait(uint64_t interval)
{
	static const unsigned at[] = { 100, 200, 300, 400, 599, 600, 700, 1099, 1100 };
	struct ptcp_config cfg = ts_config();
	struct script *s;
	uint32_t old;
	unsigned i, held = 0;

	cfg.invalid_ack_interval = interval;
	s = start_ts(&cfg, false, PTCP_TIME_WAIT);
	if (!s)
		return;
	old = sc_peer_tsval(s) - 1000;
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		bool answered = !interval || at[i] == 100 || at[i] == 600 || at[i] == 1100;

		INJECT(s, MS(at[i]), .flags = ACK, .seq = IRS + 2, .ack = ISS + 2,
		       .opt = ts_opt(old, 0).opt);
		if (answered)
			EXPECT(s, MS(at[i]), .flags = ACK, .seq = ISS + 2, .ack = IRS + 2);
		else
			EXPECT_NOTHING(s, MS(at[i]));
		held += !answered;
	}
	CHECK_EQ(sc_stats(s).drops[PTCP_DROP_PAWS], 9);
	CHECK_EQ(sc_stats(s).acks_ratelimited, held);
	CHECK_EQ(held, interval ? 6 : 0);
	EXPECT_NOTHING(s, SEC(60) - 1);
	EXPECT_STATE(s, PTCP_TIME_WAIT);
	EXPECT_NOTHING(s, SEC(60));
	EXPECT_CLOSED(s, 0);
	sc_finish(s);
}

static void test_paws_in_time_wait_one_ack_per_interval(void)
{
	paws_in_time_wait(MS(500));
}

static void test_paws_in_time_wait_without_interval(void)
{
	paws_in_time_wait(0);
}

/* RFC 7323 3.2: once agreed, a non-RST segment without the option is
 * dropped silently. */
static void test_segment_without_option_dropped(void)
{
	struct ptcp_config cfg = ts_config();
	struct script *s = start_ts(&cfg, false, PTCP_ESTABLISHED);

	if (!s)
		return;
	INJECT(s, MS(100), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 10, .no_ts = true);
	EXPECT_NOTHING(s, MS(200));
	EXPECT_DROP(s, PTCP_DROP_NO_TIMESTAMP);
	CHECK_EQ(ptcp_conn_recv_ready(s->c), 0);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	sc_finish(s);
}

/* ---- segment sizes -------------------------------------------------------------- */

/* The option's 12 bytes come out of every segment's payload (RFC 9293
 * 3.7.1): with an MSS of 1460 a full segment carries 1448 bytes, and the
 * initial window is three of those (RFC 5681 SMSS excludes options). */
static void test_payload_is_mss_less_option(void)
{
	struct ptcp_config cfg = ts_config();
	struct script *s = start_ts(&cfg, false, PTCP_ESTABLISHED);

	if (!s)
		return;
	SEND(s, 0, 10000);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = TS_DATA);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1 + TS_DATA, .ack = IRS + 1, .len = TS_DATA);
	EXPECT(s, 0, .flags = ACK, .seq = ISS + 1 + 2 * TS_DATA, .ack = IRS + 1, .len = TS_DATA);
	EXPECT_NOTHING(s, MS(10));
	CHECK_EQ(sc_stats(s).cwnd, 3 * TS_DATA);
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1 + TS_DATA);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1 + 3 * TS_DATA, .ack = IRS + 1, .len = TS_DATA);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1 + 4 * TS_DATA, .ack = IRS + 1, .len = TS_DATA);
	sc_discard(s);
	sc_finish(s);
}

/* A RST of ours carries the option too (RFC 7323 3.2: SHOULD). */
static void test_abort_rst_carries_timestamp(void)
{
	struct ptcp_config cfg = ts_config();
	struct script *s = start_ts(&cfg, false, PTCP_ESTABLISHED);
	struct ptcp_segment g;
	uint8_t buf[SC_SEG_CAP];

	if (!s)
		return;
	ABORT(s, MS(50));
	if (sc_take(s, MS(50), &g, buf, NULL)) {
		CHECK_EQ(g.flags, RST);
		CHECK(g.opt.has_ts);
		CHECK_EQ(g.opt.ts_val, sc_engine_tsval(s, MS(50)));
	}
	sc_finish(s);
}

int main(void)
{
	RUN(test_negotiated_active);
	RUN(test_negotiated_passive);
	RUN(test_not_negotiated_without_the_peer);
	RUN(test_off_by_config);
	RUN(test_echo_rules);
	RUN(test_rtt_sample_after_retransmission);
	RUN(test_rtt_sample_on_every_ack);
	RUN(test_paws_drops_old_duplicate);
	RUN(test_paws_across_the_wrap);
	RUN(test_paws_exempts_rst);
	RUN(test_paws_idle_24_days);
	RUN(test_paws_in_time_wait_one_ack_per_interval);
	RUN(test_paws_in_time_wait_without_interval);
	RUN(test_segment_without_option_dropped);
	RUN(test_payload_is_mss_less_option);
	RUN(test_abort_rst_carries_timestamp);
	return check_summary();
}
