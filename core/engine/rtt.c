#include "rtt.h"

#include "tstamp.h"

/* RFC 6298 section 2: clock granularity G and the variance factor K. The
 * engine's clock is in nanoseconds, but G stays at 1 ms so that a path
 * with almost no jitter does not get an RTO equal to its RTT. */
#define RTT_G (1 * PTCP_NS_PER_MS)
#define RTT_K 4

/* Samples are capped so that 7 * SRTT + R and SRTT + 4 * RTTVAR stay far
 * below 2^64; 2^60 ns is about 36 years, any real RTT is well inside. */
#define RTT_SAMPLE_MAX (UINT64_C(1) << 60)

static uint64_t clamp_rto(const struct ptcp_rtt *r, uint64_t rto)
{
	if (rto < r->min_rto)
		rto = r->min_rto;
	if (rto > r->max_rto)
		rto = r->max_rto;
	return rto;
}

void ptcp_rtt_init(struct ptcp_rtt *r, uint64_t init_rto, uint64_t min_rto, uint64_t max_rto)
{
	r->srtt = 0;
	r->rttvar = 0;
	r->latest = 0;
	r->backoffs = 0;
	r->has_sample = false;
	r->min_rto = min_rto;
	/* An inverted range would make the clamp depend on its order. */
	r->max_rto = max_rto < min_rto ? min_rto : max_rto;
	r->rto = clamp_rto(r, init_rto);
}

void ptcp_rtt_sample(struct ptcp_rtt *r, uint64_t rtt)
{
	uint64_t var;

	if (rtt > RTT_SAMPLE_MAX)
		rtt = RTT_SAMPLE_MAX;
	r->latest = rtt;
	if (!r->has_sample) {
		/* (2.2) */
		r->srtt = rtt;
		r->rttvar = rtt / 2;
		r->has_sample = true;
	} else {
		/* (2.3): RTTVAR first, with the old SRTT; then SRTT.
		 * RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'|,
		 * SRTT <- 7/8 SRTT + 1/8 R'. Both values are at most
		 * RTT_SAMPLE_MAX, so the products cannot overflow. */
		uint64_t diff = r->srtt > rtt ? r->srtt - rtt : rtt - r->srtt;

		r->rttvar = (3 * r->rttvar + diff) / 4;
		r->srtt = (7 * r->srtt + rtt) / 8;
	}
	/* RTO <- SRTT + max(G, K*RTTVAR), then (2.4) and (2.5). A fresh
	 * sample also ends any backoff: section 5 (the note after (5.7))
	 * lets the new RTO "collapse" a backed-off one. */
	var = RTT_K * r->rttvar;
	r->rto = clamp_rto(r, r->srtt + (var > RTT_G ? var : RTT_G));
	r->backoffs = 0;
}

void ptcp_rtt_backoff(struct ptcp_rtt *r)
{
	/* (5.5) RTO <- RTO * 2, with the (2.5) maximum. */
	r->rto = r->rto > r->max_rto / 2 ? r->max_rto : 2 * r->rto;
	r->backoffs++;
}
