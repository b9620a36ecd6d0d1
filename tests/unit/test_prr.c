/* Proportional Rate Reduction (RFC 6937): the proportional part while pipe
 * is above ssthresh, the slow start reduction bound below it, and the
 * examples of the RFC's section 6 (one segment of 1 SMSS per ACK). */
#include "check.h"
#include "prr.h"

#define MSS 1000

/* RFC 6937 section 6, figure 1: 20 segments in flight, one lost, ssthresh
 * 10: after the fast retransmit PRR sends one segment for every other
 * ACK, so the flight falls smoothly from 20 to 10 segments. */
static void test_proportional_part(void)
{
	struct ptcp_prr p;
	uint32_t pipe = 19 * MSS, sent = 0, i;

	ptcp_prr_start(&p, 20 * MSS);
	for (i = 0; i < 19; i++) {
		uint32_t q;

		pipe -= MSS; /* one segment delivered */
		q = ptcp_prr_on_ack(&p, MSS, pipe, 10 * MSS, MSS);
		while (q >= MSS) {
			ptcp_prr_on_send(&p, MSS);
			pipe += MSS;
			sent += MSS;
			q = p.quota;
		}
	}
	/* ceil(19 * 10 / 20) = 10 segments for 19 delivered. */
	CHECK_EQ(sent, 10 * MSS);
	CHECK_EQ(pipe, 10 * MSS);
	CHECK_EQ(p.delivered, 19 * MSS);
}

/* Below ssthresh (many losses) PRR-SSRB climbs back like slow start: at
 * most what was delivered plus one segment per ACK, never past ssthresh. */
static void test_slow_start_reduction_bound(void)
{
	struct ptcp_prr p;

	ptcp_prr_start(&p, 20 * MSS);
	/* pipe 4 after heavy losses, ssthresh 10: a delivery of one segment
	 * allows two. */
	CHECK_EQ(ptcp_prr_on_ack(&p, MSS, 4 * MSS, 10 * MSS, MSS), 2 * MSS);
	ptcp_prr_on_send(&p, 2 * MSS);
	CHECK_EQ(p.quota, 0);
	/* pipe 9: only up to ssthresh. */
	CHECK_EQ(ptcp_prr_on_ack(&p, 3 * MSS, 9 * MSS, 10 * MSS, MSS), 1 * MSS);
	/* At ssthresh: nothing. */
	CHECK_EQ(ptcp_prr_on_ack(&p, MSS, 10 * MSS, 10 * MSS, MSS), 0);
}

/* Quota the sender did not use is not kept beyond the next ACK's. */
static void test_quota_is_per_ack(void)
{
	struct ptcp_prr p;

	ptcp_prr_start(&p, 10 * MSS);
	CHECK_EQ(ptcp_prr_on_ack(&p, 2 * MSS, 8 * MSS, 5 * MSS, MSS), MSS);
	/* Not used; the next ACK recomputes from the totals. */
	CHECK_EQ(ptcp_prr_on_ack(&p, 2 * MSS, 6 * MSS, 5 * MSS, MSS), 2 * MSS);
	ptcp_prr_on_send(&p, 500);
	CHECK_EQ(p.quota, 1500);
	CHECK_EQ(p.out, 500);
}

int main(void)
{
	RUN(test_proportional_part);
	RUN(test_slow_start_reduction_bound);
	RUN(test_quota_is_per_ack);
	return check_summary();
}
