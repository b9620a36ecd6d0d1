/* RTT estimator and RTO, RFC 6298: values worked out by hand from the
 * formulas of section 2, backoff per (5.5), and a check against the real
 * valued formulas over a long random run. */
#include "check.h"
#include "rtt.h"
#include "tstamp.h"

#define MS PTCP_NS_PER_MS
#define S PTCP_NS_PER_S

static void test_init_clamps(void)
{
	struct ptcp_rtt r;

	ptcp_rtt_init(&r, 1 * S, 200 * MS, 60 * S);
	CHECK_EQ(r.rto, 1 * S);
	CHECK(!r.has_sample);
	CHECK_EQ(r.srtt, 0);
	CHECK_EQ(r.rttvar, 0);
	CHECK_EQ(r.backoffs, 0);
	ptcp_rtt_init(&r, 100 * MS, 200 * MS, 60 * S);
	CHECK_EQ(r.rto, 200 * MS);
	ptcp_rtt_init(&r, 120 * S, 200 * MS, 60 * S);
	CHECK_EQ(r.rto, 60 * S);
	/* An inverted range does not let max_rto undercut min_rto. */
	ptcp_rtt_init(&r, 5 * S, 2 * S, 1 * S);
	CHECK_EQ(r.rto, 2 * S);
	CHECK(r.max_rto >= r.min_rto);
}

static void test_first_sample(void)
{
	struct ptcp_rtt r;

	/* (2.2): SRTT = 100 ms, RTTVAR = 50 ms, RTO = 100 + 4 * 50 = 300 ms. */
	ptcp_rtt_init(&r, 1 * S, 200 * MS, 60 * S);
	ptcp_rtt_sample(&r, 100 * MS);
	CHECK(r.has_sample);
	CHECK_EQ(r.srtt, 100 * MS);
	CHECK_EQ(r.rttvar, 50 * MS);
	CHECK_EQ(r.rto, 300 * MS);
	CHECK_EQ(r.latest, 100 * MS);

	/* (2.4): with the RFC's 1 s minimum the same sample gives 1 s. */
	ptcp_rtt_init(&r, 1 * S, 1 * S, 60 * S);
	ptcp_rtt_sample(&r, 100 * MS);
	CHECK_EQ(r.rto, 1 * S);
	CHECK_EQ(r.srtt, 100 * MS);
}

static void test_second_sample(void)
{
	struct ptcp_rtt r;

	/* (2.3), RTTVAR computed with the old SRTT:
	 * RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 37.5 + 25 = 62.5 ms
	 * SRTT   = 7/8 * 100 + 1/8 * 200 = 87.5 + 25 = 112.5 ms
	 * RTO    = 112.5 + 4 * 62.5 = 362.5 ms */
	ptcp_rtt_init(&r, 1 * S, 200 * MS, 60 * S);
	ptcp_rtt_sample(&r, 100 * MS);
	ptcp_rtt_sample(&r, 200 * MS);
	CHECK_EQ(r.srtt, 112500 * PTCP_NS_PER_US);
	CHECK_EQ(r.rttvar, 62500 * PTCP_NS_PER_US);
	CHECK_EQ(r.rto, 362500 * PTCP_NS_PER_US);
	CHECK_EQ(r.latest, 200 * MS);

	/* A smaller third sample: |112.5 - 50| = 62.5, so
	 * RTTVAR = 3/4 * 62.5 + 1/4 * 62.5 = 62.5 ms,
	 * SRTT = 7/8 * 112.5 + 1/8 * 50 = 98.4375 + 6.25 = 104.6875 ms,
	 * RTO = 104.6875 + 250 = 354.6875 ms. */
	ptcp_rtt_sample(&r, 50 * MS);
	CHECK_EQ(r.rttvar, 62500000);
	CHECK_EQ(r.srtt, 104687500);
	CHECK_EQ(r.rto, 354687500);
}

static void test_granularity(void)
{
	struct ptcp_rtt r;
	int i;

	/* Constant 100 ms samples: RTTVAR decays by 3/4 per sample and
	 * reaches 0, and RTO = SRTT + max(G, 0) = 101 ms with G = 1 ms. */
	ptcp_rtt_init(&r, 1 * S, 0, 60 * S);
	for (i = 0; i < 100; i++)
		ptcp_rtt_sample(&r, 100 * MS);
	CHECK_EQ(r.srtt, 100 * MS);
	CHECK_EQ(r.rttvar, 0);
	CHECK_EQ(r.rto, 101 * MS);

	/* After two samples RTTVAR = 37.5 ms, 4 * RTTVAR = 150 ms > G. */
	ptcp_rtt_init(&r, 1 * S, 0, 60 * S);
	ptcp_rtt_sample(&r, 100 * MS);
	ptcp_rtt_sample(&r, 100 * MS);
	CHECK_EQ(r.rttvar, 37500 * PTCP_NS_PER_US);
	CHECK_EQ(r.rto, 250 * MS);

	/* A zero sample: SRTT = RTTVAR = 0, RTO = G. */
	ptcp_rtt_init(&r, 1 * S, 0, 60 * S);
	ptcp_rtt_sample(&r, 0);
	CHECK(r.has_sample);
	CHECK_EQ(r.rto, 1 * MS);
}

static void test_backoff(void)
{
	struct ptcp_rtt r;

	ptcp_rtt_init(&r, 1 * S, 200 * MS, 60 * S);
	ptcp_rtt_backoff(&r);
	CHECK_EQ(r.rto, 2 * S);
	ptcp_rtt_backoff(&r);
	ptcp_rtt_backoff(&r);
	ptcp_rtt_backoff(&r);
	ptcp_rtt_backoff(&r);
	CHECK_EQ(r.rto, 32 * S);
	CHECK_EQ(r.backoffs, 5);
	/* (5.5) with the (2.5) maximum: 64 s is capped to 60 s, and stays. */
	ptcp_rtt_backoff(&r);
	CHECK_EQ(r.rto, 60 * S);
	ptcp_rtt_backoff(&r);
	CHECK_EQ(r.rto, 60 * S);
	CHECK_EQ(r.backoffs, 7);
	/* A new measurement collapses the RTO and clears the backoff. */
	ptcp_rtt_sample(&r, 100 * MS);
	CHECK_EQ(r.rto, 300 * MS);
	CHECK_EQ(r.backoffs, 0);
	ptcp_rtt_backoff(&r);
	CHECK_EQ(r.rto, 600 * MS);

	/* No overflow when max_rto is the largest value. */
	ptcp_rtt_init(&r, UINT64_MAX / 2 + 5, 0, UINT64_MAX);
	ptcp_rtt_backoff(&r);
	CHECK_EQ(r.rto, UINT64_MAX);
	ptcp_rtt_backoff(&r);
	CHECK_EQ(r.rto, UINT64_MAX);
}

static void test_long_rtts(void)
{
	struct ptcp_rtt r;
	uint64_t prev;

	/* Minutes, in ns: 5 min then 10 min.
	 * SRTT = 300 s, RTTVAR = 150 s; then
	 * RTTVAR = 3/4 * 150 + 1/4 * 300 = 187.5 s,
	 * SRTT = 7/8 * 300 + 1/8 * 600 = 337.5 s,
	 * RTO = 337.5 + 750 = 1087.5 s (max 1 h). */
	ptcp_rtt_init(&r, 1 * S, 1 * S, 3600 * S);
	ptcp_rtt_sample(&r, 300 * S);
	CHECK_EQ(r.rto, 900 * S);
	ptcp_rtt_sample(&r, 600 * S);
	CHECK_EQ(r.rttvar, 187500 * MS);
	CHECK_EQ(r.srtt, 337500 * MS);
	CHECK_EQ(r.rto, 1087500 * MS);

	/* An absurd sample does not wrap any value around. */
	prev = r.srtt;
	ptcp_rtt_sample(&r, UINT64_MAX);
	CHECK(r.srtt > prev);
	CHECK(r.rttvar > 187500 * MS);
	CHECK_EQ(r.rto, 3600 * S);
	ptcp_rtt_init(&r, 1 * S, 1 * S, UINT64_MAX);
	ptcp_rtt_sample(&r, UINT64_MAX);
	ptcp_rtt_sample(&r, UINT64_MAX);
	CHECK(r.rto >= r.srtt);
	CHECK(r.srtt >= (UINT64_C(1) << 59));
}

/* 10000 random samples between 1 ms and 2 min: the integer estimator stays
 * within a few ns of the formulas of (2.3) in floating point. */
static void test_matches_real_formulas(void)
{
	struct ptcp_rtt r;
	uint64_t seed = 0x1234567887654321ull;
	double srtt = 0, rttvar = 0, d;
	int i;

	ptcp_rtt_init(&r, 1 * S, 0, 3600 * S);
	for (i = 0; i < 10000; i++) {
		uint64_t x = check_xorshift64(&seed);
		/* Mostly around 50 ms with jitter, sometimes a long outlier. */
		uint64_t rtt = x % 16 ? 50 * MS + x % (20 * MS) : 1 * MS + x % (120 * S);

		if (i == 0) {
			srtt = (double)rtt;
			rttvar = srtt / 2;
		} else {
			d = srtt - (double)rtt;
			rttvar = 0.75 * rttvar + 0.25 * (d < 0 ? -d : d);
			srtt = 0.875 * srtt + 0.125 * (double)rtt;
		}
		ptcp_rtt_sample(&r, rtt);
		d = (double)r.srtt - srtt;
		CHECK(d > -16 && d < 16);
		d = (double)r.rttvar - rttvar;
		CHECK(d > -16 && d < 16);
		if (check_failed())
			return;
	}
}

int main(void)
{
	RUN(test_init_clamps);
	RUN(test_first_sample);
	RUN(test_second_sample);
	RUN(test_granularity);
	RUN(test_backoff);
	RUN(test_long_rtts);
	RUN(test_matches_real_formulas);
	return check_summary();
}
