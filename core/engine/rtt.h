/* Round-trip time estimation and retransmission timeout, RFC 6298.
 * All times in nanoseconds. */
#ifndef PTCP_RTT_H
#define PTCP_RTT_H

#include <stdbool.h>
#include <stdint.h>

struct ptcp_rtt {
	uint64_t srtt;      /* smoothed RTT, ns; 0 until the first sample */
	uint64_t rttvar;    /* RTT variation, ns */
	uint64_t rto;       /* current RTO including backoff, ns */
	uint64_t min_rto;   /* lower bound, ns (RFC 6298 (2.4) says 1 s; Linux uses 200 ms) */
	uint64_t max_rto;   /* upper bound, ns (at least 60 s per (2.5)) */
	uint64_t latest;    /* most recent sample, ns */
	unsigned backoffs;  /* times the RTO was doubled since the last sample */
	bool has_sample;
};

/* Sets the estimator to its initial state: RTO = init_rto (RFC 6298 (2.1)),
 * clamped to [min_rto, max_rto]. */
void ptcp_rtt_init(struct ptcp_rtt *r, uint64_t init_rto, uint64_t min_rto, uint64_t max_rto);

/* Feeds one RTT measurement (ns). The first sample sets SRTT = R,
 * RTTVAR = R/2 (2.2); later ones use alpha = 1/8, beta = 1/4 (2.3).
 * RTO = SRTT + max(G, 4*RTTVAR) with G = 1 ms, clamped to [min_rto,
 * max_rto]. Clears the backoff. The caller applies Karn's rule: it never
 * passes a sample taken from a retransmitted segment. */
void ptcp_rtt_sample(struct ptcp_rtt *r, uint64_t rtt);

/* Doubles the RTO after a retransmission timeout (5.5), capped at max_rto. */
void ptcp_rtt_backoff(struct ptcp_rtt *r);

#endif
