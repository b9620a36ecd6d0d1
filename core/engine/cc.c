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

void ptcp_cc_init(struct ptcp_cc *cc, uint32_t smss, uint32_t initial_ssthresh)
{
	memset(cc, 0, sizeof(*cc));
	cc->smss = smss ? smss : CC_DEFAULT_SMSS;
	cc->cwnd = initial_window(cc->smss);
	/* RFC 5681 section 3.1: the initial ssthresh "SHOULD be set
	 * arbitrarily high". */
	cc->ssthresh = initial_ssthresh ? initial_ssthresh : UINT32_MAX;
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

enum ptcp_cc_action ptcp_cc_on_ack(struct ptcp_cc *cc, uint32_t acked, ptcp_seq ack,
                                   uint32_t flight, ptcp_seq snd_nxt)
{
	(void)snd_nxt;
	if (acked == 0)
		return PTCP_CC_NONE;
	cc->dupacks = 0;

	if (cc->in_recovery) {
		if (ptcp_seq_ge(ack, cc->recover)) {
			/* RFC 6582 section 3.2 step 3, full acknowledgment:
			 * deflate with option (1), min(ssthresh,
			 * max(FlightSize, SMSS) + SMSS), FlightSize being what
			 * is outstanding after this ACK. */
			uint32_t left = flight > acked ? flight - acked : 0;
			uint64_t w = (uint64_t)(left > cc->smss ? left : cc->smss) + cc->smss;

			cc->cwnd = w < cc->ssthresh ? (uint32_t)w : cc->ssthresh;
			cc->in_recovery = false;
			cc->ca_acked = 0;
			return PTCP_CC_NONE;
		}
		/* Partial acknowledgment: deflate by the amount acked, add
		 * back one SMSS if at least one SMSS was acked, and
		 * retransmit the first unacknowledged segment. */
		cc->cwnd = cc->cwnd > acked ? cc->cwnd - acked : 0;
		if (acked >= cc->smss)
			cc->cwnd = sat_add(cc->cwnd, cc->smss);
		/* Not in the RFC: a partial ACK covering most of an inflated
		 * window could leave cwnd below one segment, which would stall
		 * the new data the RFC wants sent. */
		if (cc->cwnd < cc->smss)
			cc->cwnd = cc->smss;
		return PTCP_CC_RETRANSMIT;
	}

	if (cc->cwnd < cc->ssthresh) {
		/* Slow start, RFC 5681 equation (2): cwnd += min(N, SMSS). */
		cc->cwnd = sat_add(cc->cwnd, acked < cc->smss ? acked : cc->smss);
	} else {
		congestion_avoidance(cc, acked);
	}
	return PTCP_CC_NONE;
}

enum ptcp_cc_action ptcp_cc_on_dupack(struct ptcp_cc *cc, ptcp_seq snd_una, uint32_t flight,
                                      ptcp_seq snd_nxt)
{
	if (cc->dupacks != (unsigned)-1)
		cc->dupacks++;

	if (cc->in_recovery) {
		/* RFC 5681 section 3.2 step 4 (kept by RFC 6582 section 3.2
		 * step 3): each further duplicate means a segment left the
		 * network, so inflate by one SMSS. */
		cc->cwnd = sat_add(cc->cwnd, cc->smss);
		return PTCP_CC_NONE;
	}
	if (cc->dupacks != 3)
		return PTCP_CC_NONE;

	/* RFC 6582 section 3.2 step 2: only when the cumulative ACK covers
	 * more than recover, i.e. ack - 1 > recover with recover the highest
	 * byte sent. recover here holds the sequence number after that byte
	 * (SND.NXT then), so the test is snd_una > recover. Otherwise these
	 * duplicates belong to data sent before the last recovery or RTO and
	 * ssthresh is left alone. */
	if (cc->recover_valid && !ptcp_seq_gt(snd_una, cc->recover))
		return PTCP_CC_NONE;

	/* RFC 5681 section 3.2 steps 2 and 3. */
	cc->ssthresh = loss_ssthresh(cc, flight);
	cc->cwnd = sat_add(cc->ssthresh, 3 * (uint64_t)cc->smss);
	cc->recover = snd_nxt;
	cc->recover_valid = true;
	cc->in_recovery = true;
	cc->ca_acked = 0;
	cc->recovery_count++;
	return PTCP_CC_RETRANSMIT;
}

void ptcp_cc_on_rto(struct ptcp_cc *cc, uint32_t flight, ptcp_seq snd_nxt, bool first)
{
	/* RFC 5681 section 3.1: ssthresh per (4) on the first timeout only;
	 * "the value of ssthresh is held constant" when the segment was
	 * already retransmitted by the timer. cwnd = LW = 1 SMSS. */
	if (first)
		cc->ssthresh = loss_ssthresh(cc, flight);
	cc->cwnd = cc->smss;
	cc->ca_acked = 0;
	cc->dupacks = 0;
	cc->in_recovery = false;
	/* RFC 6582 section 3.2 step 4: recover = the highest sequence number
	 * transmitted. A caller that rewinds SND.NXT for go-back-N would pass
	 * a smaller value, so recover never moves backwards. */
	if (!cc->recover_valid || ptcp_seq_gt(snd_nxt, cc->recover))
		cc->recover = snd_nxt;
	cc->recover_valid = true;
}

void ptcp_cc_spend(struct ptcp_cc *cc, uint32_t bytes)
{
	cc->cwnd = cc->cwnd > bytes + cc->smss ? cc->cwnd - bytes : cc->smss;
}
