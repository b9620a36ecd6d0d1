/* Congestion control: how large the congestion window is, and for BBR how
 * fast to send. Windows in bytes, times in nanoseconds.
 *
 * The connection owns loss detection and recovery (RFC 6675 with RACK,
 * PRR for the sending rate during fast recovery); this module only sets
 * cwnd and ssthresh: growth on ACKs outside recovery, the reduction when a
 * congestion event starts, the loss window after a timeout, and the undo
 * of a reduction the losses behind which proved spurious. Two algorithms:
 *
 *   - CUBIC (RFC 9438, the default): congestion avoidance follows the cubic
 *     W(t) = C (t - K)^3 + W_max around the window of the last congestion
 *     event, never slower than Reno would be (the Reno-friendly region),
 *     with fast convergence and beta 0.7; the initial slow start ends by
 *     HyStart++ (RFC 9406) when the round trip grows, through a
 *     conservative slow start, rather than by a loss.
 *   - NewReno (RFC 5681): slow start with RFC 3465 byte counting (L = 2),
 *     congestion avoidance of one SMSS per window, beta 0.5.
 *   - BBR (bbr.h, version 1): cwnd and a pacing rate from a model of the
 *     path (bottleneck bandwidth and round-trip time) that loss does not
 *     change; it sees every ACK, in recovery too, and ssthresh stays
 *     "arbitrarily high".
 *
 * No floating point: K comes from an integer cube root. */
#ifndef PTCP_CC_H
#define PTCP_CC_H

#include <stdbool.h>
#include <stdint.h>

#include "bbr.h"
#include "rate.h"
#include "seq.h"
#include "tstamp.h"

enum ptcp_cc_algo {
	PTCP_CC_CUBIC = 0,   /* RFC 9438 with HyStart++ (RFC 9406) */
	PTCP_CC_NEWRENO,     /* RFC 5681 */
	PTCP_CC_BBR,         /* BBR v1 (draft-cardwell-iccrg-bbr-congestion-control-00) */
};

struct ptcp_cc {
	enum ptcp_cc_algo algo;
	uint32_t smss;            /* sender maximum segment size, bytes */
	uint32_t cwnd;            /* congestion window, bytes */
	uint32_t ssthresh;        /* slow start threshold, bytes */
	uint32_t ca_acked;        /* NewReno: bytes acked towards the next
	                             cwnd += SMSS (RFC 5681 (3.3)) */
	uint32_t prior_cwnd;      /* cwnd, ssthresh and W_max before the last */
	uint32_t prior_ssthresh;  /* reduction, for undo (prior_cwnd 0 =  */
	uint32_t prior_w_max;     /* nothing to undo) */
	uint32_t reductions;      /* congestion events (statistic) */
	uint32_t undos;           /* reductions undone (statistic) */

	/* CUBIC (RFC 9438 section 4). */
	uint32_t w_max;           /* bytes: cwnd at the last congestion event
	                             (after fast convergence) */
	bool epoch;               /* a congestion avoidance epoch is running */
	ptcp_ts epoch_start;      /* when it began */
	uint32_t cwnd_epoch;      /* cwnd then, bytes */
	uint64_t k;               /* ns: when W(t) reaches W_max again */
	uint64_t w_est;           /* bytes: the Reno-friendly estimate (4.3) */
	uint64_t w_est_frac;      /* remainders of its growth, bytes * cwnd */
	uint64_t ca_frac;         /* remainders of cwnd's growth, bytes * cwnd */

	/* HyStart++ (RFC 9406), in the initial slow start only. */
	bool hs_done;             /* the initial slow start is over */
	bool hs_css;              /* in conservative slow start */
	bool hs_round;            /* a round is being measured */
	ptcp_seq hs_window_end;   /* the round ends when this is acknowledged */
	uint64_t hs_last_min;     /* ns, lastRoundMinRTT (0 = none) */
	uint64_t hs_cur_min;      /* ns, currentRoundMinRTT (0 = none) */
	unsigned hs_samples;      /* rttSampleCount */
	uint64_t hs_css_base;     /* ns, cssBaselineMinRtt */
	unsigned hs_css_rounds;   /* rounds spent in CSS */
	uint32_t hs_exits;        /* slow starts HyStart++ ended (statistic) */

	struct ptcp_bbr bbr;      /* BBR's model and state (PTCP_CC_BBR only) */
};

/* What one ACK tells congestion control: CUBIC and NewReno get the ACKs
 * that advance SND.UNA outside fast recovery, BBR every acceptable one. */
struct ptcp_cc_ack {
	uint32_t acked;           /* bytes newly acknowledged or SACKed */
	bool cwnd_limited;        /* the sender had been using its window: one
	                             it did not fill does not grow (RFC 7661) */
	ptcp_ts now;
	uint64_t rtt;             /* ns: an RTT sample from this ACK, 0 = none */
	uint64_t srtt;            /* ns */
	ptcp_seq ack;             /* SND.UNA after the ACK */
	ptcp_seq snd_nxt;         /* SND.NXT: where a new round ends */
	/* BBR only: */
	struct ptcp_rate *rate;   /* the delivery rate estimator */
	const struct ptcp_rate_sample *rs; /* this ACK's sample */
	uint32_t prior_inflight;  /* bytes in flight (pipe) before the ACK */
	uint32_t inflight;        /* ... and after it */
	uint32_t lost;            /* bytes the ACK found lost */
	enum ptcp_bbr_recovery recovery; /* loss recovery after the ACK */
};

/* Initial state: IW from RFC 5681 (3.1): 4*SMSS if SMSS <= 1095, 3*SMSS
 * if <= 2190, else 2*SMSS; for BBR from RFC 6928: min(10*SMSS,
 * max(2*SMSS, 14600)); ssthresh "arbitrarily high" (UINT32_MAX). */
void ptcp_cc_init(struct ptcp_cc *cc, enum ptcp_cc_algo algo, uint32_t smss);

/* The send MSS changed before any data was sent (the peer's MSS option and
 * timestamps are known): recompute the initial window. seed (any value)
 * picks BBR's gain cycle phases. */
void ptcp_cc_set_smss(struct ptcp_cc *cc, uint32_t smss, uint32_t seed);

/* An ACK outside fast recovery: slow start below ssthresh (HyStart++ for
 * CUBIC, RFC 3465 byte counting for NewReno), congestion avoidance above.
 * For BBR any acceptable ACK: the model, the state machine, cwnd and the
 * pacing rate (ptcp_bbr_on_ack). */
void ptcp_cc_on_ack(struct ptcp_cc *cc, const struct ptcp_cc_ack *a);

/* A congestion event begins (fast recovery entered, or a tail loss that a
 * probe repaired). NewReno: ssthresh = max(flight / 2, 2 * SMSS) (RFC 5681
 * (4)). CUBIC: W_max = cwnd (less with fast convergence), ssthresh =
 * max(0.7 cwnd, 2 * SMSS) (RFC 9438 4.6, 4.7). cwnd is left for the
 * recovery to bring down (PRR); the state before is kept for undo. BBR
 * only saves cwnd for after the recovery; the ACKs do the rest. */
void ptcp_cc_on_congestion(struct ptcp_cc *cc, uint32_t flight, ptcp_ts now);

/* Fast recovery ended: cwnd = ssthresh (RFC 6937); BBR restores its
 * window on the ACK instead. */
void ptcp_cc_end_recovery(struct ptcp_cc *cc);

/* A retransmission timeout: a congestion event on the first timeout of an
 * episode only (first), then cwnd = 1 SMSS (the loss window, RFC 5681
 * section 3.1; RFC 9438 4.8; BBR 4.2.3.4). */
void ptcp_cc_on_rto(struct ptcp_cc *cc, uint32_t flight, bool first, ptcp_ts now);

/* The losses behind the last reduction were spurious (RFC 3522, RFC 3708;
 * RFC 9438 4.9): cwnd, ssthresh and W_max go back to at least what they
 * were before it. BBR's window comes back as the recovery ends. */
void ptcp_cc_undo(struct ptcp_cc *cc);

/* The integer cube root, floor(cbrt(x)). */
uint32_t ptcp_cc_cbrt(uint64_t x);

#endif
