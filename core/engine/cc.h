/* Congestion control: how large the congestion window is. Windows in
 * bytes, times in nanoseconds.
 *
 * The connection owns loss detection and recovery (RFC 6675 with RACK,
 * PRR for the sending rate during fast recovery); this module only sets
 * cwnd and ssthresh: growth on ACKs outside recovery (RFC 5681 slow start
 * with RFC 3465 byte counting, then congestion avoidance), the reduction
 * when a congestion event starts, the loss window after a timeout, and the
 * undo of a reduction the losses behind which proved spurious. */
#ifndef PTCP_CC_H
#define PTCP_CC_H

#include <stdbool.h>
#include <stdint.h>

#include "tstamp.h"

struct ptcp_cc {
	uint32_t smss;            /* sender maximum segment size, bytes */
	uint32_t cwnd;            /* congestion window, bytes */
	uint32_t ssthresh;        /* slow start threshold, bytes */
	uint32_t ca_acked;        /* bytes acked towards the next cwnd += SMSS in
	                             congestion avoidance (RFC 5681 (3.3)) */
	uint32_t prior_cwnd;      /* cwnd and ssthresh before the last reduction, */
	uint32_t prior_ssthresh;  /* for undo (0 = nothing to undo) */
	uint32_t reductions;      /* congestion events (statistic) */
	uint32_t undos;           /* reductions undone (statistic) */
};

/* Initial state: IW from RFC 5681 (3.1): 4*SMSS if SMSS <= 1095, 3*SMSS
 * if <= 2190, else 2*SMSS; ssthresh "arbitrarily high" (UINT32_MAX). */
void ptcp_cc_init(struct ptcp_cc *cc, uint32_t smss);

/* The send MSS changed before any data was sent (the peer's MSS option and
 * timestamps are known): recompute the initial window. */
void ptcp_cc_set_smss(struct ptcp_cc *cc, uint32_t smss);

/* An ACK outside fast recovery newly acknowledged acked bytes.
 * cwnd_limited tells whether the sender had been using its window: a
 * window it did not fill proves nothing and does not grow (RFC 7661).
 * Below ssthresh slow start, cwnd += min(acked, 2 * SMSS) (RFC 3465 L=2);
 * above, congestion avoidance, SMSS per cwnd bytes acked. */
void ptcp_cc_on_ack(struct ptcp_cc *cc, uint32_t acked, bool cwnd_limited, ptcp_ts now);

/* A congestion event begins (fast recovery entered, or a tail loss that a
 * probe repaired): ssthresh = max(flight / 2, 2 * SMSS) (RFC 5681 (4),
 * RFC 6675 section 5 step 4.2). cwnd is left for the recovery to bring
 * down (PRR); the state before is kept for ptcp_cc_undo(). */
void ptcp_cc_on_congestion(struct ptcp_cc *cc, uint32_t flight, ptcp_ts now);

/* Fast recovery ended: cwnd = ssthresh (RFC 6937). */
void ptcp_cc_end_recovery(struct ptcp_cc *cc);

/* A retransmission timeout: ssthresh as for a congestion event on the
 * first timeout of an episode only (first), cwnd = 1 SMSS (the loss
 * window, RFC 5681 section 3.1). */
void ptcp_cc_on_rto(struct ptcp_cc *cc, uint32_t flight, bool first, ptcp_ts now);

/* The losses behind the last reduction were spurious (RFC 3522, RFC 3708):
 * cwnd and ssthresh go back to at least what they were before it. */
void ptcp_cc_undo(struct ptcp_cc *cc);

#endif
