/* The sender's loss detection and recovery, sans-IO: what is lost, what to
 * retransmit next, and how much may be sent.
 *
 *   - The segment records (txq.h) are the RFC 6675 scoreboard; "pipe" is
 *     RFC 6675's estimate of the data in flight and replaces FlightSize as
 *     what cwnd limits, in and out of recovery.
 *   - With SACK, losses are found by RACK (RFC 8985 section 6: time based,
 *     also lost retransmissions) and by RFC 6675's IsLost() (DupThresh
 *     SACKed segments above); tail losses by TLP probes (RFC 8985 section
 *     7). Without SACK, by RFC 5681 duplicate ACKs and RFC 6582 partial ACKs.
 *   - A first loss enters fast recovery (RFC 6675 section 5): ssthresh from
 *     congestion control, and the sending rate from PRR (RFC 6937) until
 *     the RecoveryPoint is acknowledged. NextSeg() (RFC 6675 section 4)
 *     picks lost segments first, then new data, then other holes.
 *   - A retransmission timeout marks losses per RFC 8985 6.3, cwnd goes to
 *     one segment, recovery goes on in slow start (RFC 5681, 6298).
 *   - Spurious recoveries are undone: by timestamps (Eifel, RFC 3522: the
 *     ACK of a retransmitted segment echoes its first transmission) or by
 *     D-SACKs for every retransmission of the episode (RFC 3708); D-SACKs
 *     also widen RACK's reordering window.
 *   - Every ACK gives a delivery rate sample (rate.h). With BBR it goes to
 *     congestion control with the bytes in flight and lost, BBR sets the
 *     window in recovery too (no PRR), and its pacing rate is what
 *     ptcp_loss_pacing() reports.
 *
 * Bytes and nanoseconds throughout; no allocation (the caller gives the
 * record memory). */
#ifndef PTCP_LOSS_H
#define PTCP_LOSS_H

#include <stdbool.h>
#include <stdint.h>

#include "cc.h"
#include "prr.h"
#include "rack.h"
#include "rate.h"
#include "segment.h"
#include "txq.h"

enum ptcp_recovery {
	PTCP_RECOV_OPEN = 0,  /* no loss being repaired */
	PTCP_RECOV_FAST,      /* fast recovery (RFC 6675 section 5, PRR) */
	PTCP_RECOV_LOSS,      /* after a retransmission timeout */
};

struct ptcp_loss {
	struct ptcp_txq q;
	struct ptcp_rack rack;
	struct ptcp_prr prr;
	struct ptcp_cc cc;
	struct ptcp_rate rate;    /* delivery rate estimation */
	uint64_t delivery_rate;   /* bytes per second: the last sample (statistic) */
	uint32_t smss;            /* bytes */
	bool sack;                /* the peer sends SACK blocks: RACK-TLP on */
	enum ptcp_recovery state;
	ptcp_seq recover;         /* RecoveryPoint (RFC 6675) / recover (RFC
	                             6582): SND.MAX when the recovery began */
	bool recover_valid;
	unsigned dupacks;         /* consecutive duplicate ACKs */
	uint32_t reno_dup;        /* without SACK: bytes duplicate ACKs say
	                             left the network (taken off pipe) */
	bool head_due;            /* RFC 6298 (5.4): resend the first record
	                             now, whatever cwnd says */
	bool cwnd_limited;        /* the sender had data that cwnd held back */

	/* Undo of a spurious reduction. */
	bool undo_armed;          /* the last reduction may still be undone */
	ptcp_seq undo_marker;     /* SND.UNA when it began: only D-SACKs of
	                             data from there on count */
	uint32_t undo_retrans;    /* its retransmissions no D-SACK has shown
	                             spurious yet */
	bool eifel_armed;         /* the next ACK beyond eifel_seq decides */
	bool eifel_stamped;       /* eifel_tsval is set */
	ptcp_seq eifel_seq;       /* first sequence number retransmitted */
	uint32_t eifel_tsval;     /* TSval of the first retransmission */

	/* Tail loss probe (RFC 8985 section 7). */
	bool tlp_due;             /* the PTO fired: send a probe */
	bool tlp_out;             /* TLP.end_seq is set */
	bool tlp_is_retrans;
	bool tlp_ok;              /* an ACK of new data came since the last probe */
	ptcp_seq tlp_end;         /* TLP.end_seq */

	ptcp_ts reo_at;           /* RACK reordering timer, PTCP_TS_NEVER = off */
	ptcp_ts tlp_at;           /* PTO timer */

	/* Statistics. */
	uint64_t recoveries;      /* fast recoveries entered */
	uint64_t tlp_probes;      /* loss probes sent */
	uint64_t tlp_recoveries;  /* losses a probe repaired (cwnd reduced) */
	uint64_t undos;           /* reductions undone as spurious */
	uint64_t dsacks;          /* D-SACK blocks received */
	uint64_t lost_retransmits;/* retransmissions found lost again (RACK) */
};

/* What the connection knows about one acceptable ACK. */
struct ptcp_loss_ack {
	ptcp_ts now;
	ptcp_seq ack;            /* SEG.ACK, SND.UNA <= ack <= SND.MAX */
	ptcp_seq snd_una;        /* before this ACK */
	ptcp_seq snd_max;        /* highest sequence number sent + 1 */
	bool dupack;             /* a duplicate ACK as RFC 5681 section 2 says */
	unsigned nsack;          /* SACK blocks, as received */
	const struct ptcp_sack_block *sack;
	bool has_tsecr;          /* timestamps are in use and the ACK has one */
	uint32_t tsecr;
	ptcp_ts ts_epoch;        /* the sender's TSval clock reads ts_offset at */
	uint32_t ts_offset;      /* ts_epoch and ticks every ts_tick ns */
	uint64_t ts_tick;
	uint64_t srtt;           /* ns, 0 before a sample */
};

/* The outcome of an ACK, for events and counters. */
struct ptcp_loss_result {
	uint32_t acked;          /* bytes of the records it acknowledged */
	bool entered_recovery;   /* this ACK started fast recovery */
	bool undone;             /* this ACK undid the last reduction */
	ptcp_seq first_lost;     /* when entered_recovery: the first segment lost */
	bool has_rtt;            /* rtt is a sample (Karn's rule allows it) */
	uint64_t rtt;            /* ns: the most recently sent segment this ACK
	                            covers, if it was sent only once */
};

/* Sets up the state with no records; mem holds cap records. */
void ptcp_loss_init(struct ptcp_loss *l, struct ptcp_txseg *mem, uint32_t cap,
                    enum ptcp_cc_algo algo, uint32_t smss);

/* The handshake settled SMSS and whether the peer sends SACK blocks; seed
 * (any value, the ISS say) seeds BBR's gain cycle. */
void ptcp_loss_configure(struct ptcp_loss *l, uint32_t smss, bool sack, uint32_t seed);

/* Bytes the sender may put on the wire now, new data or retransmissions:
 * the PRR quota in fast recovery (BBR: its cwnd), cwnd - pipe otherwise. */
uint32_t ptcp_loss_window(const struct ptcp_loss *l);

/* The rate to pace data at, bytes per second (0: no pacing, as for CUBIC
 * and NewReno), and in *quantum the bytes that may leave back to back
 * (BBR's send quantum, 4.2.2). srtt (ns, 0 = none) gives BBR its initial
 * rate before it has measured one. */
uint64_t ptcp_loss_pacing(struct ptcp_loss *l, uint64_t srtt, uint32_t *quantum);

/* 3.3 of the delivery rate draft: the sender ran out of data to send
 * (unsent: the bytes of new data it may send, which the caller bounds by
 * the peer's window as well as by what the application wrote): the
 * flight marks an application-limited phase, if the congestion window
 * was not what held it back. */
void ptcp_loss_check_app_limited(struct ptcp_loss *l, uint32_t unsent);

/* RFC 6675 NextSeg() for retransmissions: the index of the record to
 * resend now, or -1. In order: the first record after a timeout (5.4 of
 * RFC 6298), then (rule 1) the lowest lost record; with no_new_data and in
 * fast recovery also (rule 3) the lowest hole below the highest SACKed
 * byte not yet resent. Rule 2 (new data) is the caller's. The window is
 * not checked here. */
int32_t ptcp_loss_next_seg(const struct ptcp_loss *l, bool no_new_data);

/* The caller cannot record more than this many new segments now. */
static inline uint32_t ptcp_loss_room(const struct ptcp_loss *l) { return l->q.cap - l->q.n; }

/* A new segment [seq, seq + len) went out at now (len counts a FIN). */
void ptcp_loss_sent_new(struct ptcp_loss *l, ptcp_seq seq, uint32_t len, bool fin, ptcp_ts now);

/* Record i went out again at now, with TSval tsval (if timestamps). */
void ptcp_loss_sent_again(struct ptcp_loss *l, uint32_t i, ptcp_ts now, bool has_ts, uint32_t tsval);

/* New data was waiting and the window held it back (true), or the sender
 * had nothing more to send within the peer's window (false). */
static inline void ptcp_loss_note_limited(struct ptcp_loss *l, bool cwnd_limited)
{
	l->cwnd_limited = cwnd_limited;
}

/* An acceptable ACK (RFC 9293 3.10.7.4): SACK blocks, the cumulative ACK,
 * loss detection, entering and leaving recovery, PRR, undo, TLP. */
void ptcp_loss_on_ack(struct ptcp_loss *l, const struct ptcp_loss_ack *a,
                      struct ptcp_loss_result *r);

/* The retransmission timer expired for data (rto_count: consecutive
 * timeouts, this one included; snd_max as ptcp_loss_ack says). */
void ptcp_loss_on_rto(struct ptcp_loss *l, ptcp_ts now, unsigned rto_count, ptcp_seq snd_max,
                      uint64_t srtt);

/* After sending (not a probe) or an ACK of new data: arms the PTO (RFC
 * 8985 7.2) when a probe may be needed, else disarms it; also in recovery,
 * which the RFC does not do (see loss.c). rto_at is the retransmission
 * timer's deadline. */
void ptcp_loss_schedule_tlp(struct ptcp_loss *l, ptcp_ts now, uint64_t srtt, ptcp_ts rto_at);

/* A probe went out (RFC 8985 7.3): end is SND.NXT after it, retrans tells
 * whether it resent the last segment rather than new data. */
void ptcp_loss_tlp_sent(struct ptcp_loss *l, ptcp_seq end, bool retrans);

/* The earliest of the reordering and PTO timers, or PTCP_TS_NEVER. */
ptcp_ts ptcp_loss_expiry(const struct ptcp_loss *l);

/* Runs the reordering and PTO timers due at now. Returns true when the
 * reordering timer started fast recovery (*first_lost is then set). */
bool ptcp_loss_on_timer(struct ptcp_loss *l, ptcp_ts now, uint64_t srtt, ptcp_seq snd_max,
                        ptcp_ts rto_at, ptcp_seq *first_lost);

/* Forgets all the records and the recovery state (the connection went back
 * to LISTEN or closed). */
void ptcp_loss_reset(struct ptcp_loss *l);

#endif
