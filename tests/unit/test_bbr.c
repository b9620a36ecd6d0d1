/* BBR v1 (draft-cardwell-iccrg-bbr-congestion-control-00) on its own,
 * driven with made-up ACKs: each call below is one round trip's ACK with
 * the delivery rate sample, RTT and flight we choose, so every transition
 * of the state machine can be placed exactly. SMSS 1000, InitialCwnd 4000,
 * rates in bytes per second. */
#include "bbr.h"
#include "check.h"

#define MS_(x) ((ptcp_ts)(x) * PTCP_NS_PER_MS)
#define SMSS 1000u
#define IW 4000u
#define U PTCP_BBR_UNIT

struct bt {
	struct ptcp_bbr b;
	struct ptcp_rate rate;
	uint32_t cwnd;
	ptcp_ts now;
	uint32_t inflight;   /* flight before the next ACK */
};

/* A connection that has not measured anything yet. */
static void bt_new(struct bt *t, uint32_t seed)
{
	ptcp_bbr_init(&t->b, SMSS, IW, seed);
	ptcp_rate_init(&t->rate);
	t->cwnd = IW;
	t->now = MS_(1000);
	t->inflight = IW;
}

/* ... whose handshake measured 10 ms. */
static void bt_init(struct bt *t, uint32_t seed)
{
	bt_new(t, seed);
	ptcp_bbr_note_srtt(&t->b, MS_(10));
}

struct step {
	uint64_t bw;          /* the sample's delivery rate, 0 = none */
	uint64_t rtt;         /* ns */
	uint32_t acked;       /* bytes delivered (default SMSS) */
	uint32_t inflight;    /* flight after the ACK (default: as before) */
	uint32_t lost;
	bool app_limited;
	bool same_round;      /* the ACK does not end a round */
	enum ptcp_bbr_recovery recovery;
	uint64_t dt;          /* ns since the last ACK (default rtt) */
};

/* One ACK: by default one round trip after the last, ending a round. */
static void ack(struct bt *t, const struct step *s)
{
	struct ptcp_rate_sample rs = { 0 };
	uint32_t acked = s->acked ? s->acked : SMSS;
	struct ptcp_bbr_ack a;

	t->now += s->dt ? s->dt : s->rtt;
	rs.has_data = true;
	/* A segment sent when everything before this round's start was
	 * delivered ends the round; one sent earlier does not. */
	rs.prior_delivered = s->same_round ? 0 : t->rate.delivered;
	t->rate.delivered += acked;
	rs.acked_sacked = acked;
	rs.delivery_rate = s->bw;
	rs.interval = s->bw ? s->rtt : 0;
	rs.is_app_limited = s->app_limited;
	rs.has_rtt = s->rtt != 0;
	rs.rtt = s->rtt;
	a = (struct ptcp_bbr_ack){
		.now = t->now, .rate = &t->rate, .rs = &rs, .prior_inflight = t->inflight,
		.inflight = s->inflight ? s->inflight : t->inflight, .lost = s->lost,
		.recovery = s->recovery,
	};
	t->inflight = a.inflight;
	ptcp_bbr_on_ack(&t->b, &t->cwnd, &a);
}

#define ACK(t, ...) ack((t), &(const struct step){ __VA_ARGS__ })

/* 4.3.2.2: Startup doubles the rate each round (pacing gain 2/ln 2) and
 * ends when three rounds in a row brought less than 25% more bandwidth,
 * not before; then Drain (gain ln 2 / 2) until the flight is down to one
 * BDP, then ProbeBW. */
static void test_startup_exits_after_three_rounds_without_growth(void)
{
	static const uint64_t grow[] = { 100000, 200000, 400000, 800000, 1000000 };
	struct bt t;
	size_t i;

	bt_init(&t, 1);
	CHECK_EQ(t.b.state, PTCP_BBR_STARTUP);
	CHECK_EQ(t.b.pacing_gain, 739); /* 2/ln(2) * 256 */
	for (i = 0; i < sizeof(grow) / sizeof(grow[0]); i++) {
		ACK(&t, .bw = grow[i], .rtt = MS_(10), .inflight = 30000);
		CHECK_EQ(t.b.state, PTCP_BBR_STARTUP);
		CHECK_EQ(t.b.btlbw, grow[i]);
		CHECK_EQ(t.b.full_bw_count, 0);
	}
	/* +10%, +9%, +0%: three rounds without 25% growth. */
	ACK(&t, .bw = 1100000, .rtt = MS_(10), .inflight = 30000);
	CHECK_EQ(t.b.full_bw_count, 1);
	ACK(&t, .bw = 1200000, .rtt = MS_(10), .inflight = 30000);
	CHECK_EQ(t.b.full_bw_count, 2);
	CHECK_EQ(t.b.state, PTCP_BBR_STARTUP);
	CHECK(!t.b.filled_pipe);
	ACK(&t, .bw = 1200000, .rtt = MS_(10), .inflight = 30000);
	CHECK(t.b.filled_pipe);
	CHECK_EQ(t.b.state, PTCP_BBR_DRAIN);
	CHECK_EQ(t.b.pacing_gain, 88); /* ln(2)/2 * 256 */
	CHECK_EQ(t.b.cwnd_gain, 739);
	CHECK_EQ(t.b.pacing_rate, 1200000 * 88 / 256);
	/* BDP 12,000 bytes plus three quanta of 2 segments (the pacing rate
	 * is below 24 Mbit/s): Drain ends at 18,000 in flight. */
	CHECK_EQ(ptcp_bbr_inflight(&t.b, U), 18000);
	ACK(&t, .bw = 1200000, .rtt = MS_(10), .inflight = 18001);
	CHECK_EQ(t.b.state, PTCP_BBR_DRAIN);
	ACK(&t, .bw = 1200000, .rtt = MS_(10), .inflight = 18000);
	CHECK_EQ(t.b.state, PTCP_BBR_PROBE_BW);
	CHECK_EQ(t.b.cwnd_gain, 2 * U);
	CHECK(t.b.pacing_gain != U * 3 / 4);
}

/* Application-limited rounds say nothing about the pipe (4.3.2.2): they
 * neither count towards the exit nor, when lower, enter the filter
 * (4.1.1.4). */
static void test_startup_ignores_app_limited_rounds(void)
{
	struct bt t;
	int i;

	bt_init(&t, 1);
	ACK(&t, .bw = 500000, .rtt = MS_(10));
	for (i = 0; i < 5; i++)
		ACK(&t, .bw = 100000, .rtt = MS_(10), .app_limited = true);
	CHECK_EQ(t.b.btlbw, 500000);
	CHECK_EQ(t.b.full_bw_count, 0);
	CHECK_EQ(t.b.state, PTCP_BBR_STARTUP);
	/* A higher app-limited sample is real bandwidth: it counts. */
	ACK(&t, .bw = 900000, .rtt = MS_(10), .app_limited = true);
	CHECK_EQ(t.b.btlbw, 900000);
}

/* Drives t through Startup into ProbeBW at 1 MB/s and 10 ms (BDP 10,000
 * bytes, delivered each round trip): cwnd is then the target, twice the
 * BDP plus three quanta of two segments. */
static void to_probe_bw(struct bt *t, uint32_t seed)
{
	int i;

	bt_init(t, seed);
	ACK(t, .bw = 1000000, .rtt = MS_(10), .inflight = 10000, .acked = 10000);
	for (i = 0; i < 3; i++)
		ACK(t, .bw = 1000000, .rtt = MS_(10), .inflight = 10000, .acked = 10000);
	CHECK_EQ(t->b.state, PTCP_BBR_PROBE_BW);
	CHECK_EQ(t->cwnd, 26000);
}

/* 4.3.4: the gain cycle 5/4, 3/4, then six phases of 1, each at least
 * RTprop long; the probing phase lasts until the flight reached 5/4 BDP
 * (or a loss), the draining one ends as soon as it is down to one BDP. */
static void test_probe_bw_cycles_its_gains(void)
{
	static const unsigned cycle[8] = { U * 5 / 4, U * 3 / 4, U, U, U, U, U, U };
	struct bt t;
	unsigned i, start;

	to_probe_bw(&t, 7);
	start = t.b.cycle_index;
	CHECK(start != 1);
	CHECK_EQ(t.b.pacing_gain, cycle[start]);
	/* Walk to the probing phase: a phase of 1 ends after RTprop. */
	for (i = 0; i < 8 && t.b.cycle_index != 0; i++) {
		ACK(&t, .bw = 1000000, .rtt = MS_(10), .dt = MS_(5));
		ACK(&t, .bw = 1000000, .rtt = MS_(10), .dt = MS_(6));
	}
	CHECK_EQ(t.b.cycle_index, 0);
	CHECK_EQ(t.b.pacing_gain, U * 5 / 4);
	CHECK_EQ(t.b.pacing_rate, 1250000);
	/* Longer than RTprop, but the flight is short of 5/4 BDP: go on. */
	ACK(&t, .bw = 1000000, .rtt = MS_(10), .dt = MS_(11), .inflight = 12000);
	CHECK_EQ(t.b.cycle_index, 0);
	/* The flight before the ACK reached Inflight(5/4): next. */
	CHECK_EQ(ptcp_bbr_inflight(&t.b, U * 5 / 4), 12500 + 3 * 2000);
	t.inflight = 18500;
	ACK(&t, .bw = 1000000, .rtt = MS_(10), .dt = MS_(1));
	CHECK_EQ(t.b.cycle_index, 1);
	CHECK_EQ(t.b.pacing_gain, U * 3 / 4);
	CHECK_EQ(t.b.pacing_rate, 750000);
	/* Draining ends early once the flight is down to Inflight(1). */
	t.inflight = 16001;
	ACK(&t, .bw = 1000000, .rtt = MS_(10), .dt = MS_(1));
	CHECK_EQ(t.b.cycle_index, 1);
	t.inflight = 16000;
	ACK(&t, .bw = 1000000, .rtt = MS_(10), .dt = MS_(1));
	CHECK_EQ(t.b.cycle_index, 2);
	CHECK_EQ(t.b.pacing_gain, U);
	/* A loss ends a probe that has lasted RTprop, whatever the flight. */
	for (i = 0; i < 6; i++)
		ACK(&t, .bw = 1000000, .rtt = MS_(10), .dt = MS_(11), .inflight = 10000);
	CHECK_EQ(t.b.cycle_index, 0);
	ACK(&t, .bw = 1000000, .rtt = MS_(10), .dt = MS_(11), .inflight = 10000, .lost = SMSS);
	CHECK_EQ(t.b.cycle_index, 1);
}

/* The phase the cycle starts at comes from the seed and is never the
 * draining one (4.3.4.2). */
static void test_probe_bw_random_start(void)
{
	bool seen[8] = { false };
	uint32_t seed;
	unsigned n = 0, i;

	for (seed = 1; seed <= 64; seed++) {
		struct bt t;

		to_probe_bw(&t, seed);
		CHECK(t.b.cycle_index != 1);
		seen[t.b.cycle_index] = true;
	}
	for (i = 0; i < 8; i++)
		n += seen[i];
	CHECK_EQ(n, 7);
}

/* 4.3.5: RTprop not seen again for 10 s (every sample is higher) sends
 * BBR to ProbeRTT: cwnd 4 segments until the flight is down to that,
 * then 200 ms and a round trip, then ProbeBW with the window from before
 * and RTprop taken anew. */
static void test_probe_rtt_after_min_rtt_filter_len(void)
{
	struct bt t;
	uint32_t before;
	ptcp_ts start;
	int i;

	to_probe_bw(&t, 3);
	CHECK_EQ(t.b.rtprop, MS_(10));
	before = t.cwnd;
	start = t.b.rtprop_stamp;
	/* 12 ms round trips: none refreshes the 10 ms minimum. */
	while (t.now + MS_(12) <= start + PTCP_BBR_RTPROP_LEN) {
		ACK(&t, .bw = 1000000, .rtt = MS_(12), .inflight = 12000);
		CHECK(t.b.state != PTCP_BBR_PROBE_RTT);
	}
	ACK(&t, .bw = 1000000, .rtt = MS_(12), .inflight = 12000);
	CHECK_EQ(t.b.state, PTCP_BBR_PROBE_RTT);
	CHECK_EQ(t.b.probe_rtts, 1);
	CHECK_EQ(t.cwnd, 4 * SMSS);
	CHECK_EQ(t.b.prior_cwnd, before);
	/* The expired minimum takes the new sample. */
	CHECK_EQ(t.b.rtprop, MS_(12));
	CHECK_EQ(t.b.pacing_gain, U);
	/* Its samples are marked application-limited. */
	CHECK(t.rate.app_limited != 0);
	/* Still more than four segments in flight: the 200 ms wait has not
	 * started. (What is sent now carries the application-limited mark,
	 * and so do the samples it brings back.) */
	ACK(&t, .bw = 500000, .rtt = MS_(12), .dt = MS_(12), .inflight = 8000, .app_limited = true);
	CHECK_EQ(t.b.probe_rtt_done_stamp, PTCP_TS_NEVER);
	ACK(&t, .bw = 300000, .rtt = MS_(10), .dt = MS_(10), .inflight = 4000, .app_limited = true);
	CHECK_EQ(t.b.probe_rtt_done_stamp, t.now + MS_(200));
	CHECK_EQ(t.b.rtprop, MS_(10));
	/* 200 ms and a round later it is over. */
	for (i = 0; i < 19; i++) {
		ACK(&t, .bw = 300000, .rtt = MS_(10), .dt = MS_(10), .inflight = 4000, .app_limited = true);
		CHECK_EQ(t.b.state, PTCP_BBR_PROBE_RTT);
		CHECK_EQ(t.cwnd, 4 * SMSS);
	}
	ACK(&t, .bw = 300000, .rtt = MS_(10), .dt = MS_(10) + 1, .inflight = 4000, .app_limited = true);
	CHECK_EQ(t.b.state, PTCP_BBR_PROBE_BW);
	CHECK_EQ(t.b.rtprop_stamp, t.now);
	/* The window from before ProbeRTT; the bandwidth ProbeRTT's low
	 * samples did not touch. */
	CHECK_EQ(t.cwnd, before);
	CHECK_EQ(t.b.btlbw, 1000000);
}

/* A sample at or below RTprop within 10 s keeps BBR out of ProbeRTT. */
static void test_fresh_min_rtt_avoids_probe_rtt(void)
{
	struct bt t;
	int i;

	to_probe_bw(&t, 3);
	for (i = 0; i < 3000; i++)
		ACK(&t, .bw = 1000000, .rtt = i % 500 ? MS_(12) : MS_(10), .inflight = 12000);
	CHECK(t.now > MS_(1000) + 3 * PTCP_BBR_RTPROP_LEN);
	CHECK_EQ(t.b.probe_rtts, 0);
	CHECK(t.b.state == PTCP_BBR_PROBE_BW);
}

/* Loss is no congestion signal (4.2.3.4): the bandwidth and the pacing
 * rate stay; cwnd loses the bytes lost and grows back with what the next
 * ACKs deliver, up to the target. */
static void test_loss_leaves_the_rate(void)
{
	struct bt t;
	uint64_t rate;
	uint32_t target;

	to_probe_bw(&t, 5);
	ACK(&t, .bw = 1000000, .rtt = MS_(10), .inflight = 10000, .dt = MS_(11));
	target = t.b.target_cwnd;
	CHECK_EQ(t.cwnd, target);
	rate = t.b.pacing_rate;
	ACK(&t, .bw = 1000000, .rtt = MS_(10), .inflight = 10000, .lost = 3 * SMSS, .same_round = true,
	    .dt = MS_(1));
	CHECK_EQ(t.cwnd, target - 3 * SMSS + SMSS);
	CHECK_EQ(t.b.btlbw, 1000000);
	CHECK_EQ(t.b.pacing_rate, rate);
	ACK(&t, .bw = 1000000, .rtt = MS_(10), .inflight = 10000, .acked = 3 * SMSS,
	    .same_round = true, .dt = MS_(1));
	CHECK_EQ(t.cwnd, target);
}

/* Fast recovery: the first round conserves packets (the flight plus what
 * each ACK delivers), then the window grows to the target again; when the
 * recovery ends the window from before it comes back (and the target
 * bounds it at the next ACK). */
static void test_fast_recovery_conserves_then_restores(void)
{
	struct bt t;
	uint32_t before;

	to_probe_bw(&t, 5);
	ACK(&t, .bw = 1000000, .rtt = MS_(10), .inflight = 10000, .dt = MS_(11));
	before = t.cwnd;
	ptcp_bbr_enter_recovery(&t.b, t.cwnd);
	CHECK_EQ(t.b.prior_cwnd, before);
	ACK(&t, .bw = 1000000, .rtt = MS_(10), .inflight = 7000, .lost = 2 * SMSS, .same_round = true,
	    .recovery = PTCP_BBR_RECOV_FAST, .dt = MS_(1));
	CHECK(t.b.packet_conservation);
	CHECK_EQ(t.cwnd, 7000 + SMSS);
	ACK(&t, .bw = 1000000, .rtt = MS_(10), .inflight = 7000, .same_round = true,
	    .recovery = PTCP_BBR_RECOV_FAST, .dt = MS_(1));
	CHECK_EQ(t.cwnd, 8000);
	/* A segment sent after recovery began is delivered: a round is over,
	 * conservation ends, growth resumes. */
	ACK(&t, .bw = 1000000, .rtt = MS_(10), .inflight = 7000, .acked = 2 * SMSS,
	    .recovery = PTCP_BBR_RECOV_FAST, .dt = MS_(10));
	CHECK(!t.b.packet_conservation);
	CHECK_EQ(t.cwnd, 10000);
	ACK(&t, .bw = 1000000, .rtt = MS_(10), .inflight = 9000, .same_round = true,
	    .recovery = PTCP_BBR_RECOV_NONE, .dt = MS_(1));
	CHECK_EQ(t.cwnd, before);
	CHECK_EQ(t.b.pacing_rate, 1000000);
}

/* A timeout: one segment, then growth by what is delivered (the pipe is
 * full, so up to the target), and the old window when it is over. */
static void test_rto_restarts_from_one_segment(void)
{
	struct bt t;
	uint32_t before;

	to_probe_bw(&t, 5);
	before = t.cwnd;
	ptcp_bbr_on_rto(&t.b, &t.cwnd);
	CHECK_EQ(t.cwnd, SMSS);
	CHECK_EQ(t.b.prior_cwnd, before);
	ACK(&t, .bw = 100000, .rtt = MS_(10), .inflight = SMSS, .recovery = PTCP_BBR_RECOV_RTO);
	CHECK_EQ(t.cwnd, 4 * SMSS); /* the floor, BBRMinPipeCwnd */
	ACK(&t, .bw = 100000, .rtt = MS_(10), .inflight = SMSS, .acked = 4 * SMSS,
	    .recovery = PTCP_BBR_RECOV_RTO);
	CHECK_EQ(t.cwnd, 8 * SMSS);
	ACK(&t, .bw = 100000, .rtt = MS_(10), .inflight = SMSS, .recovery = PTCP_BBR_RECOV_NONE);
	CHECK_EQ(t.cwnd, before);
	CHECK_EQ(t.b.btlbw, 1000000);
}

/* The BtlBw filter is a maximum over 10 rounds: a lower rate replaces a
 * higher one only once the higher one is 10 rounds old. */
static void test_btlbw_max_filter(void)
{
	struct ptcp_bbr_filter f = { 0 };
	uint64_t t;

	CHECK_EQ(ptcp_bbr_filter_max(&f, 10, 1, 1000), 1000);
	for (t = 2; t <= 11; t++)
		CHECK_EQ(ptcp_bbr_filter_max(&f, 10, t, 500 + t), 1000);
	CHECK_EQ(ptcp_bbr_filter_max(&f, 10, 12, 400), 511);
	/* A new maximum takes over at once. */
	CHECK_EQ(ptcp_bbr_filter_max(&f, 10, 13, 2000), 2000);
	/* Nothing for longer than the window: the next sample is all. */
	CHECK_EQ(ptcp_bbr_filter_max(&f, 10, 40, 300), 300);
}

/* 4.2.2: one segment below 1.2 Mbit/s, two below 24 Mbit/s, else 1 ms of
 * the rate up to 64 KB; 4.2.1: before a sample the pacing rate is
 * InitialCwnd per SRTT times the Startup gain. */
static void test_quantum_and_initial_rate(void)
{
	struct bt t;

	bt_new(&t, 1);
	CHECK_EQ(t.b.pacing_rate, (uint64_t)IW * 1000 * 739 / 256); /* per 1 ms */
	ptcp_bbr_note_srtt(&t.b, MS_(200));
	CHECK_EQ(t.b.pacing_rate, (uint64_t)IW * 5 * 739 / 256);
	CHECK_EQ(t.b.send_quantum, SMSS);
	ptcp_bbr_note_srtt(&t.b, MS_(1)); /* only the first SRTT counts */
	CHECK_EQ(t.b.pacing_rate, (uint64_t)IW * 5 * 739 / 256);
	ACK(&t, .bw = 200000, .rtt = MS_(10));
	CHECK_EQ(t.b.send_quantum, 2 * SMSS);
	ACK(&t, .bw = 5000000, .rtt = MS_(10));
	CHECK_EQ(t.b.send_quantum, 5000000ULL * 739 / 256 / 1000);
	ACK(&t, .bw = 100000000, .rtt = MS_(10));
	CHECK_EQ(t.b.send_quantum, 64 * 1024);
}

int main(void)
{
	RUN(test_startup_exits_after_three_rounds_without_growth);
	RUN(test_startup_ignores_app_limited_rounds);
	RUN(test_probe_bw_cycles_its_gains);
	RUN(test_probe_bw_random_start);
	RUN(test_probe_rtt_after_min_rtt_filter_len);
	RUN(test_fresh_min_rtt_avoids_probe_rtt);
	RUN(test_loss_leaves_the_rate);
	RUN(test_fast_recovery_conserves_then_restores);
	RUN(test_rto_restarts_from_one_segment);
	RUN(test_btlbw_max_filter);
	RUN(test_quantum_and_initial_rate);
	return check_summary();
}
