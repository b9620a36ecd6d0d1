/* Congestion control: RFC 5681 slow start and congestion avoidance with
 * fast retransmit, and RFC 6582 NewReno fast recovery. Windows in bytes.
 *
 * The connection owns the sequence space and the retransmission; this
 * module only decides windows and tells the caller when to retransmit. */
#ifndef PTCP_CC_H
#define PTCP_CC_H

#include <stdbool.h>
#include <stdint.h>

#include "seq.h"

enum ptcp_cc_action {
	PTCP_CC_NONE = 0,
	PTCP_CC_RETRANSMIT = 1, /* retransmit the segment at SND.UNA now */
};

struct ptcp_cc {
	uint32_t smss;        /* sender maximum segment size, bytes */
	uint32_t cwnd;        /* congestion window, bytes */
	uint32_t ssthresh;    /* slow start threshold, bytes */
	uint32_t ca_acked;    /* bytes acked towards the next cwnd += SMSS in
	                         congestion avoidance (RFC 5681 (3.3) byte counting) */
	unsigned dupacks;     /* consecutive duplicate ACKs */
	bool in_recovery;     /* in NewReno fast recovery */
	ptcp_seq recover;     /* RFC 6582 "recover": highest seq sent when
	                         recovery or an RTO began */
	bool recover_valid;   /* recover has been set at least once */
	uint32_t recovery_count;  /* fast recoveries entered (statistic) */
};

/* Initial state: IW from RFC 5681 (3.1): 4*SMSS if SMSS <= 1095, 3*SMSS
 * if <= 2190, else 2*SMSS. ssthresh starts "arbitrarily high" (UINT32_MAX
 * or the given initial_ssthresh if non-zero). */
void ptcp_cc_init(struct ptcp_cc *cc, uint32_t smss, uint32_t initial_ssthresh);

/* An ACK advanced SND.UNA by acked bytes to ack. flight is FlightSize
 * (SND.NXT - SND.UNA) before this ACK; snd_nxt the current SND.NXT.
 *
 * Outside recovery: slow start (cwnd += min(acked, SMSS)) below ssthresh,
 * else congestion avoidance (cwnd += SMSS per cwnd bytes acked), and the
 * duplicate ACK count resets. In recovery (RFC 6582 section 3.2 step 3): a
 * full ACK (ack covers recover) sets cwnd = min(ssthresh, max(flight -
 * acked, SMSS) + SMSS) and leaves recovery, returning PTCP_CC_NONE; a
 * partial ACK deflates cwnd by acked, adds back SMSS if acked >= SMSS and
 * returns PTCP_CC_RETRANSMIT. */
enum ptcp_cc_action ptcp_cc_on_ack(struct ptcp_cc *cc, uint32_t acked, ptcp_seq ack,
                                   uint32_t flight, ptcp_seq snd_nxt);

/* A duplicate ACK as RFC 5681 section 2 defines it (the caller checks the
 * five conditions). snd_una is the duplicated ACK value.
 *
 * On the third one, outside recovery, and if the ACK covers more than
 * recover or recover was never set (RFC 6582 section 3.2 step 2): ssthresh =
 * max(flight/2, 2*SMSS), recover = snd_nxt, cwnd = ssthresh + 3*SMSS, enter
 * recovery and return PTCP_CC_RETRANSMIT. The RFC's test is ack - 1 >
 * recover with recover the highest byte sent; recover here is one past it
 * (SND.NXT), so the same test reads snd_una > recover (exact, not an
 * approximation). Later duplicates in recovery inflate cwnd by SMSS (RFC
 * 5681 section 3.2 step 4). Returns PTCP_CC_NONE otherwise. */
enum ptcp_cc_action ptcp_cc_on_dupack(struct ptcp_cc *cc, ptcp_seq snd_una, uint32_t flight,
                                      ptcp_seq snd_nxt);

/* A retransmission timeout: ssthresh = max(flight/2, 2*SMSS) (RFC 5681
 * (4)), cwnd = 1 SMSS (loss window), leave recovery, recover = snd_nxt
 * (RFC 6582 section 3.2 step 4 and section 4; never moved backwards, so a
 * caller that rewound SND.NXT for go-back-N does no harm). Only the
 * first timeout for a segment should reduce ssthresh: pass first = false
 * for repeated timeouts of the same segment (RFC 5681 (4) note). */
void ptcp_cc_on_rto(struct ptcp_cc *cc, uint32_t flight, ptcp_seq snd_nxt, bool first);

/* In recovery, bytes were retransmitted into a hole in place of new data:
 * they use up the window inflation of the duplicate ACK that let them out
 * (cwnd -= bytes, never below one SMSS). */
void ptcp_cc_spend(struct ptcp_cc *cc, uint32_t bytes);

/* The send MSS changed (e.g. after the peer's MSS option was seen before any
 * data was sent): recompute the initial window. */
void ptcp_cc_set_smss(struct ptcp_cc *cc, uint32_t smss);

#endif
