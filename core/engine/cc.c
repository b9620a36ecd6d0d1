#include "cc.h"

#include <string.h>

/* Used when the caller passes an SMSS of 0: the default send MSS of RFC 9293
 * section 3.7.1 (IPv4), so the window never collapses to zero bytes. */
#define CC_DEFAULT_SMSS 536

static uint32_t sat32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* cwnd arithmetic saturates: with window scaling a window may approach
 * 2^30 and a long-lived flow without losses must not wrap to a tiny cwnd. */
static uint32_t sat_add(uint32_t a, uint64_t b)
{
	return sat32((uint64_t)a + b);
}

/* RFC 5681 section 3.1, equation (1). */
static uint32_t initial_window(uint32_t smss)
{
	if (smss > 2190)
		return sat32(2 * (uint64_t)smss);
	if (smss > 1095)
		return 3 * smss;
	return 4 * smss;
}

/* RFC 5681 equation (4): ssthresh = max(FlightSize / 2, 2*SMSS). FlightSize,
 * not cwnd (the implementation note under (4)). */
static uint32_t loss_ssthresh(const struct ptcp_cc *cc, uint32_t flight)
{
	uint32_t floor = sat32(2 * (uint64_t)cc->smss);
	uint32_t half = flight / 2;

	return half > floor ? half : floor;
}

void ptcp_cc_init(struct ptcp_cc *cc, uint32_t smss)
{
	memset(cc, 0, sizeof(*cc));
	cc->smss = smss ? smss : CC_DEFAULT_SMSS;
	cc->cwnd = initial_window(cc->smss);
	/* RFC 5681 section 3.1: the initial ssthresh "SHOULD be set
	 * arbitrarily high". */
	cc->ssthresh = UINT32_MAX;
}

void ptcp_cc_set_smss(struct ptcp_cc *cc, uint32_t smss)
{
	cc->smss = smss ? smss : CC_DEFAULT_SMSS;
	cc->cwnd = initial_window(cc->smss);
	cc->ca_acked = 0;
}

/* Congestion avoidance, RFC 5681 section 3.1: count the bytes acked and add
 * SMSS each time they reach cwnd, i.e. once per window of data. At most one
 * increase per ACK, since cwnd "MUST NOT be increased by more than SMSS
 * bytes per RTT" and a single (stretch) ACK spans at most one RTT. */
static void congestion_avoidance(struct ptcp_cc *cc, uint32_t acked)
{
	cc->ca_acked = sat_add(cc->ca_acked, acked);
	if (cc->ca_acked < cc->cwnd)
		return;
	cc->ca_acked -= cc->cwnd;
	cc->cwnd = sat_add(cc->cwnd, cc->smss);
	/* Only a stretch ACK covering more than a window gets here; the
	 * surplus must not buy a second increase in the same RTT. */
	if (cc->ca_acked >= cc->cwnd)
		cc->ca_acked = 0;
}

void ptcp_cc_on_ack(struct ptcp_cc *cc, uint32_t acked, bool cwnd_limited, ptcp_ts now)
{
	(void)now;
	if (acked == 0 || !cwnd_limited)
		return;
	if (cc->cwnd < cc->ssthresh) {
		/* Slow start, RFC 5681 (2) with RFC 3465 appropriate byte
		 * counting, L = 2*SMSS: a delayed ACK for two segments grows
		 * the window by two, as two ACKs would. Not beyond ssthresh. */
		uint32_t inc = acked < 2 * cc->smss ? acked : 2 * cc->smss;

		cc->cwnd = sat_add(cc->cwnd, inc);
		if (cc->cwnd > cc->ssthresh)
			cc->cwnd = cc->ssthresh;
		return;
	}
	congestion_avoidance(cc, acked);
}

static void save_prior(struct ptcp_cc *cc)
{
	cc->prior_cwnd = cc->cwnd;
	cc->prior_ssthresh = cc->ssthresh;
}

void ptcp_cc_on_congestion(struct ptcp_cc *cc, uint32_t flight, ptcp_ts now)
{
	(void)now;
	save_prior(cc);
	cc->ssthresh = loss_ssthresh(cc, flight);
	cc->ca_acked = 0;
	cc->reductions++;
}

void ptcp_cc_end_recovery(struct ptcp_cc *cc)
{
	cc->cwnd = cc->ssthresh;
	cc->ca_acked = 0;
}

void ptcp_cc_on_rto(struct ptcp_cc *cc, uint32_t flight, bool first, ptcp_ts now)
{
	/* RFC 5681 section 3.1: ssthresh per (4) on the first timeout only;
	 * "the value of ssthresh is held constant" when the segment was
	 * already retransmitted by the timer. cwnd = LW = 1 SMSS. */
	if (first) {
		ptcp_cc_on_congestion(cc, flight, now);
	}
	cc->cwnd = cc->smss;
	cc->ca_acked = 0;
}

void ptcp_cc_undo(struct ptcp_cc *cc)
{
	if (!cc->prior_cwnd)
		return;
	if (cc->cwnd < cc->prior_cwnd)
		cc->cwnd = cc->prior_cwnd;
	if (cc->ssthresh < cc->prior_ssthresh)
		cc->ssthresh = cc->prior_ssthresh;
	cc->prior_cwnd = cc->prior_ssthresh = 0;
	cc->ca_acked = 0;
	cc->undos++;
}
