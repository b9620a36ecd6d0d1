/* RACK-TLP loss detection (RFC 8985): a segment is lost when one sent
 * later has been delivered and more than an RTT plus a reordering window
 * has passed since it was sent (RACK, section 6); a tail loss, which no
 * later delivery can reveal, draws a probe after two smoothed RTTs (TLP,
 * section 7). Works on the sender's segment records (txq.h); all times in
 * nanoseconds of the caller's clock. */
#ifndef PTCP_RACK_H
#define PTCP_RACK_H

#include <stdbool.h>
#include <stdint.h>

#include "seq.h"
#include "tstamp.h"
#include "txq.h"

#define PTCP_RACK_DUPTHRESH 3              /* RFC 6675 DupThresh */
#define PTCP_RACK_REO_WND_PERSIST 16       /* recoveries a widened window lasts */
#define PTCP_RACK_MIN_RTT_WINDOW (10 * PTCP_NS_PER_S) /* min_RTT filter span */
#define PTCP_TLP_MAX_ACK_DELAY (200 * PTCP_NS_PER_MS) /* WCDelAckT (7.2) */
/* Added to 2*SRTT with more than one segment in flight: on a path whose
 * round trip is well under a millisecond, 2*SRTT alone fires before an ACK
 * that a busy receiver or scheduler merely delayed, and the probe is a
 * spurious retransmission (at the close, one the peer answers after we
 * are gone). Linux adds TCP_TIMEOUT_MIN, two jiffies, for the same. */
#define PTCP_TLP_MIN_SLACK (2 * PTCP_NS_PER_MS)

struct ptcp_rack {
	bool valid;            /* something has been delivered */
	ptcp_ts xmit_ts;       /* RACK.xmit_ts: latest send time of a delivered segment */
	ptcp_seq end_seq;      /* RACK.end_seq: its end */
	uint64_t rtt;          /* RACK.rtt, ns: its round trip */
	uint64_t min_rtt;      /* RACK.min_RTT, ns, 0 = none yet */
	ptcp_ts min_rtt_at;    /* when min_rtt was taken */
	bool fack_valid;
	ptcp_seq fack;         /* RACK.fack: highest end delivered */
	bool reordering_seen;  /* RACK.reordering_seen */
	unsigned reo_wnd_mult; /* RACK.reo_wnd_mult, >= 1 */
	unsigned reo_wnd_persist;
	bool dsack_round_valid;
	ptcp_seq dsack_round;  /* RACK.dsack_round */
	bool advanced;         /* xmit_ts moved since the last loss check */
};

/* What one ACK carries that RACK's delivery bookkeeping needs. */
struct ptcp_rack_ack {
	struct ptcp_rack *rack;
	ptcp_ts now;
	bool has_tsecr;       /* the ACK carries a timestamp echo */
	uint32_t tsecr;       /* its TSecr, in the sender's TSval clock */
	ptcp_ts ts_epoch;     /* the sender's TSval clock: ts_offset at ts_epoch, */
	uint32_t ts_offset;   /* one tick per ts_tick ns */
	uint64_t ts_tick;
	bool cumulative;      /* the segment is below the ACK field, not only
	                         SACKed: only then does TSecr tell its copies
	                         apart (below) */
};

void ptcp_rack_init(struct ptcp_rack *r);

/* RFC 8985 6.2 steps 1 to 3 for one newly delivered segment: the RTT of
 * the most recently sent delivered segment, min_RTT, and whether delivery
 * was out of order. A retransmitted segment counts only when the ACK is
 * not for its earlier copy: an RTT shorter than min_RTT says it is, and so
 * does, for a cumulatively acknowledged one, a TSecr older than its last
 * send. A SACK's TSecr says nothing of the kind: the receiver echoes
 * TS.Recent, which out-of-order segments do not update (RFC 7323 4.3), so
 * while a hole stays open it is older than every retransmission SACKed
 * behind it. ctx is a struct ptcp_rack_ack (a txq visitor). */
void ptcp_rack_delivered(void *ctx, const struct ptcp_txseg *seg);

/* RFC 8985 6.2 step 4: after an ACK, with dsack telling whether it carried
 * a D-SACK; snd_una and snd_max after it; recovery_ended when this ACK
 * ended a recovery. */
void ptcp_rack_update_reo_wnd(struct ptcp_rack *r, bool dsack, ptcp_seq snd_una, ptcp_seq snd_max,
                              bool recovery_ended);

/* The reordering window (RFC 8985 6.2 step 4, RACK_calc_reo_wnd): 0 while
 * no reordering was seen and the sender is in recovery or DupThresh
 * segments are SACKed (the DupThresh rule of RFC 6675), else
 * min(reo_wnd_mult * min_RTT / 4, srtt). */
uint64_t ptcp_rack_reo_wnd(const struct ptcp_rack *r, bool in_recovery, uint32_t nsacked,
                           uint64_t srtt);

/* RFC 8985 6.2 step 5, RACK_detect_loss(): marks lost every record not yet
 * delivered that was sent before the most recently delivered one and more
 * than rtt + reo_wnd ago, lost retransmissions included. Returns the time
 * after which the next such record will be due (arm the reordering timer
 * then), 0 when none is waiting; *marked counts the records marked. */
uint64_t ptcp_rack_detect_loss(struct ptcp_rack *r, struct ptcp_txq *q, ptcp_ts now,
                               uint64_t reo_wnd, uint32_t *marked);

/* RFC 8985 6.3, after a retransmission timeout: the first record, and every
 * other one not SACKed that was sent more than rtt + reo_wnd ago, is
 * lost. Returns the number marked. */
uint32_t ptcp_rack_mark_on_rto(const struct ptcp_rack *r, struct ptcp_txq *q, ptcp_ts now,
                               uint64_t reo_wnd);

/* RFC 8985 7.2 TLP_calc_PTO(): 2 * SRTT (+ the worst-case delayed ACK when
 * only one segment is in flight), 1 s without an RTT sample, and never
 * after the retransmission timer (rto_at). Returns the delay from now. */
uint64_t ptcp_tlp_pto(uint64_t srtt, bool one_segment, ptcp_ts now, ptcp_ts rto_at);

#endif
