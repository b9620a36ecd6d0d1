/* The sender's record of every segment it sent that is not cumulatively
 * acknowledged yet: the RFC 6675 scoreboard (what the peer SACKed, what is
 * deemed lost, what was retransmitted) together with the per-segment send
 * time RACK needs (RFC 8985 section 6.1) and the connection's delivery
 * state when it was sent, for delivery rate samples (rate.h).
 *
 * Records are kept in sequence order in a ring over caller-provided memory,
 * one per segment as it went on the wire (a super-segment for offload is
 * recorded piece by piece), and cover [first seq, end) without gaps.
 * Running totals of the SACKed, lost and retransmitted bytes make the
 * RFC 6675 "pipe" a constant-time query. No allocation. */
#ifndef PTCP_TXQ_H
#define PTCP_TXQ_H

#include <stdbool.h>
#include <stdint.h>

#include "seq.h"
#include "tstamp.h"

enum {
	PTCP_TXSEG_SACKED = 1 << 0,       /* the peer said it holds it (RFC 2018) */
	PTCP_TXSEG_LOST = 1 << 1,         /* deemed lost: retransmit it */
	PTCP_TXSEG_RETRANS = 1 << 2,      /* a retransmission of it is in flight */
	PTCP_TXSEG_EVER_RETRANS = 1 << 3, /* it was sent more than once */
	PTCP_TXSEG_FIN = 1 << 4,          /* its last sequence number is the FIN */
	PTCP_TXSEG_DELIVERED = 1 << 5,    /* counted as delivered by the rate
	                                     estimator since it was last sent
	                                     (a SACK mark forgotten and given
	                                     again does not count twice) */
	PTCP_TXSEG_APP_LIMITED = 1 << 6,  /* sent while the application, not
	                                     the network, limited the sender
	                                     (P.is_app_limited) */
};

struct ptcp_txseg {
	ptcp_seq seq;      /* first sequence number */
	uint32_t len;      /* sequence numbers it covers: payload, + 1 with FIN */
	ptcp_ts xmit_ts;   /* ns, when it was last (re)transmitted */
	/* draft-cheng-iccrg-delivery-rate-estimation 3.1: the connection's
	 * delivery state when it was last sent (rate.h fills these in), the
	 * times as ns before xmit_ts (saturating at 4.29 s, which makes any
	 * rate over such an interval negligible anyway). */
	uint32_t delivered_ago;  /* ns, xmit_ts - P.delivered_time */
	uint32_t first_sent_ago; /* ns, xmit_ts - P.first_sent_time */
	uint32_t delivered;      /* bytes, P.delivered (its low 32 bits: an
	                            interval never spans 4 GiB) */
	uint8_t flags;     /* PTCP_TXSEG_* */
};

struct ptcp_txq {
	struct ptcp_txseg *v;  /* cap records, owned by the caller */
	uint32_t cap;
	uint32_t head;         /* index of the first record */
	uint32_t n;            /* records held */
	/* Totals over the records, in sequence numbers (bytes). */
	uint32_t sacked;       /* SACKED */
	uint32_t lost;         /* LOST and not SACKED */
	uint32_t retrans;      /* RETRANS and not SACKED */
	uint32_t nsacked;      /* records SACKED */
	uint32_t nretrans;     /* records with EVER_RETRANS */
	uint32_t npending;     /* records LOST, not RETRANS, not SACKED: to resend */
	uint64_t lost_marked;  /* bytes ever marked lost (a retransmission
	                          lost again counts again): grows only, so
	                          the difference over an ACK is what it lost */
};

/* Called for each record the peer newly acknowledged or SACKed, before it
 * is dropped or marked (RACK's delivery bookkeeping). */
typedef void ptcp_txq_visit_fn(void *ctx, const struct ptcp_txseg *seg);

void ptcp_txq_init(struct ptcp_txq *q, struct ptcp_txseg *mem, uint32_t cap);

static inline bool ptcp_txq_empty(const struct ptcp_txq *q) { return q->n == 0; }
static inline bool ptcp_txq_full(const struct ptcp_txq *q) { return q->n == q->cap; }

/* The i-th record (0 = the lowest); i < q->n. */
static inline struct ptcp_txseg *ptcp_txq_at(const struct ptcp_txq *q, uint32_t i)
{
	uint32_t k = q->head + i;

	return &q->v[k >= q->cap ? k - q->cap : k];
}

/* Moves the records to mem, which holds cap >= q->n of them. The caller
 * frees the old memory. */
void ptcp_txq_move(struct ptcp_txq *q, struct ptcp_txseg *mem, uint32_t cap);

/* Sequence number after the last record (only when not empty). */
ptcp_seq ptcp_txq_end(const struct ptcp_txq *q);

/* Bytes the records cover (FlightSize as RFC 5681 counts it). */
uint32_t ptcp_txq_bytes(const struct ptcp_txq *q);

/* RFC 6675 section 4 SetPipe(): bytes the sender thinks are in the network:
 * every byte not SACKed and not deemed lost, plus every byte whose
 * retransmission is in flight. */
uint32_t ptcp_txq_pipe(const struct ptcp_txq *q);

/* Appends a record for [seq, seq + len) sent at now; seq must be the end of
 * the last record (any value when empty). Its rate fields are zero, for
 * the caller to fill in. Returns false when the ring is full (or len is
 * 0): the caller sends nothing then. */
bool ptcp_txq_push(struct ptcp_txq *q, ptcp_seq seq, uint32_t len, bool fin, ptcp_ts now);

/* The cumulative ACK reached una: drops the records below it and trims a
 * record it cuts (the rest is then marked DELIVERED when there is a
 * visitor). visit (optional) sees every record that was not SACKed
 * before, as it was. Returns the bytes that became acknowledged and had
 * not been SACKed (RFC 6937 DeliveredData's share of the ACK). */
uint32_t ptcp_txq_ack(struct ptcp_txq *q, ptcp_seq una, ptcp_txq_visit_fn *visit, void *ctx);

/* The peer SACKed [left, right): every record inside it that was not SACKed
 * is marked so, and DELIVERED (a record only partly inside stays as it
 * is: it will be resent whole if it is lost). visit sees each before it
 * is marked. Returns the bytes newly SACKed. */
uint32_t ptcp_txq_sack(struct ptcp_txq *q, ptcp_seq left, ptcp_seq right,
                       ptcp_txq_visit_fn *visit, void *ctx);

/* Forgets every SACK mark (the peer may have reneged, RFC 2018 section 8). */
void ptcp_txq_clear_sacked(struct ptcp_txq *q);

/* Marks record i lost. A lost retransmission is lost again: its RETRANS mark
 * goes, so it is resent. No effect on a SACKed record. */
void ptcp_txq_mark_lost(struct ptcp_txq *q, uint32_t i);

/* Clears every LOST mark (the losses were spurious: undo). */
void ptcp_txq_clear_lost(struct ptcp_txq *q);

/* Record i was retransmitted at now (it may be counted as delivered
 * again: its DELIVERED mark goes). */
void ptcp_txq_retransmitted(struct ptcp_txq *q, uint32_t i, ptcp_ts now);

/* Index of the record holding seq, or -1. */
int32_t ptcp_txq_find(const struct ptcp_txq *q, ptcp_seq seq);

/* Index of the lowest record that is LOST and neither SACKed nor being
 * retransmitted (RFC 6675 NextSeg() rule 1), or -1. */
int32_t ptcp_txq_next_lost(const struct ptcp_txq *q);

/* Sequence number after the highest SACKed byte, or the first record's seq
 * when nothing is SACKed. */
ptcp_seq ptcp_txq_high_sacked(const struct ptcp_txq *q);

#endif
