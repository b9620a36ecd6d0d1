#include "txq.h"

#include <string.h>

void ptcp_txq_init(struct ptcp_txq *q, struct ptcp_txseg *mem, uint32_t cap)
{
	memset(q, 0, sizeof(*q));
	q->v = mem;
	q->cap = cap;
}

void ptcp_txq_move(struct ptcp_txq *q, struct ptcp_txseg *mem, uint32_t cap)
{
	uint32_t i;

	for (i = 0; i < q->n && i < cap; i++)
		mem[i] = *ptcp_txq_at(q, i);
	q->v = mem;
	q->cap = cap;
	q->head = 0;
}

ptcp_seq ptcp_txq_end(const struct ptcp_txq *q)
{
	const struct ptcp_txseg *last = ptcp_txq_at(q, q->n - 1);

	return last->seq + last->len;
}

uint32_t ptcp_txq_bytes(const struct ptcp_txq *q)
{
	return q->n ? (uint32_t)(ptcp_txq_end(q) - ptcp_txq_at(q, 0)->seq) : 0;
}

uint32_t ptcp_txq_pipe(const struct ptcp_txq *q)
{
	uint32_t out = ptcp_txq_bytes(q) - q->sacked - q->lost;

	return out + q->retrans;
}

bool ptcp_txq_push(struct ptcp_txq *q, ptcp_seq seq, uint32_t len, bool fin, ptcp_ts now)
{
	struct ptcp_txseg *s;

	if (ptcp_txq_full(q) || len == 0)
		return false;
	q->n++;
	s = ptcp_txq_at(q, q->n - 1);
	memset(s, 0, sizeof(*s));
	s->seq = seq;
	s->len = len;
	s->xmit_ts = now;
	s->flags = fin ? PTCP_TXSEG_FIN : 0;
	return true;
}

/* Takes record s out of the totals (it is dropped, or about to change). */
static void uncount(struct ptcp_txq *q, const struct ptcp_txseg *s)
{
	if (s->flags & PTCP_TXSEG_SACKED) {
		q->sacked -= s->len;
		q->nsacked--;
	} else {
		if (s->flags & PTCP_TXSEG_LOST)
			q->lost -= s->len;
		if (s->flags & PTCP_TXSEG_RETRANS)
			q->retrans -= s->len;
		if ((s->flags & (PTCP_TXSEG_LOST | PTCP_TXSEG_RETRANS)) == PTCP_TXSEG_LOST)
			q->npending--;
	}
	if (s->flags & PTCP_TXSEG_EVER_RETRANS)
		q->nretrans--;
}

static void count(struct ptcp_txq *q, const struct ptcp_txseg *s)
{
	if (s->flags & PTCP_TXSEG_SACKED) {
		q->sacked += s->len;
		q->nsacked++;
	} else {
		if (s->flags & PTCP_TXSEG_LOST)
			q->lost += s->len;
		if (s->flags & PTCP_TXSEG_RETRANS)
			q->retrans += s->len;
		if ((s->flags & (PTCP_TXSEG_LOST | PTCP_TXSEG_RETRANS)) == PTCP_TXSEG_LOST)
			q->npending++;
	}
	if (s->flags & PTCP_TXSEG_EVER_RETRANS)
		q->nretrans++;
}

/* Replaces the flags of record s, keeping the totals right. */
static void set_flags(struct ptcp_txq *q, struct ptcp_txseg *s, uint8_t flags)
{
	uncount(q, s);
	s->flags = flags;
	count(q, s);
}

uint32_t ptcp_txq_ack(struct ptcp_txq *q, ptcp_seq una, ptcp_txq_visit_fn *visit, void *ctx)
{
	uint32_t delivered = 0;

	while (q->n) {
		struct ptcp_txseg *s = ptcp_txq_at(q, 0);
		uint32_t cut;

		if (ptcp_seq_le(una, s->seq))
			break;
		if (!(s->flags & PTCP_TXSEG_SACKED) && visit)
			visit(ctx, s);
		if (ptcp_seq_ge(una, s->seq + s->len)) {
			if (!(s->flags & PTCP_TXSEG_SACKED))
				delivered += s->len;
			uncount(q, s);
			q->head = q->head + 1 == q->cap ? 0 : q->head + 1;
			q->n--;
			continue;
		}
		/* The ACK ends inside this record (the peer took part of it,
		 * say into a window that had shrunk): keep the rest. */
		cut = (uint32_t)(una - s->seq);
		uncount(q, s);
		if (!(s->flags & PTCP_TXSEG_SACKED))
			delivered += cut;
		s->seq = una;
		s->len -= cut;
		/* The visitor took it as delivered: the rest is not again. */
		if (visit)
			s->flags |= PTCP_TXSEG_DELIVERED;
		count(q, s);
		break;
	}
	return delivered;
}

/* Index of the first record that ends after seq (binary search: records
 * are contiguous and in order). q->n when there is none. */
static uint32_t first_ending_after(const struct ptcp_txq *q, ptcp_seq seq)
{
	uint32_t lo = 0, hi = q->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct ptcp_txseg *s = ptcp_txq_at(q, mid);

		if (ptcp_seq_le(s->seq + s->len, seq))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t ptcp_txq_sack(struct ptcp_txq *q, ptcp_seq left, ptcp_seq right,
                       ptcp_txq_visit_fn *visit, void *ctx)
{
	uint32_t i, newly = 0;

	if (!q->n || !ptcp_seq_lt(left, right))
		return 0;
	for (i = first_ending_after(q, left); i < q->n; i++) {
		struct ptcp_txseg *s = ptcp_txq_at(q, i);

		if (ptcp_seq_ge(s->seq, right))
			break;
		if (s->flags & PTCP_TXSEG_SACKED || ptcp_seq_lt(s->seq, left) ||
		    ptcp_seq_gt(s->seq + s->len, right))
			continue;
		if (visit)
			visit(ctx, s);
		newly += s->len;
		set_flags(q, s, (uint8_t)((s->flags | PTCP_TXSEG_SACKED | PTCP_TXSEG_DELIVERED) &
		                          ~PTCP_TXSEG_RETRANS));
	}
	return newly;
}

void ptcp_txq_clear_sacked(struct ptcp_txq *q)
{
	uint32_t i;

	for (i = 0; q->nsacked && i < q->n; i++) {
		struct ptcp_txseg *s = ptcp_txq_at(q, i);

		if (s->flags & PTCP_TXSEG_SACKED)
			set_flags(q, s, (uint8_t)(s->flags & ~PTCP_TXSEG_SACKED));
	}
}

void ptcp_txq_mark_lost(struct ptcp_txq *q, uint32_t i)
{
	struct ptcp_txseg *s = ptcp_txq_at(q, i);

	if (s->flags & PTCP_TXSEG_SACKED)
		return;
	if (!(s->flags & PTCP_TXSEG_LOST) || s->flags & PTCP_TXSEG_RETRANS)
		q->lost_marked += s->len;
	set_flags(q, s, (uint8_t)((s->flags | PTCP_TXSEG_LOST) & ~PTCP_TXSEG_RETRANS));
}

void ptcp_txq_clear_lost(struct ptcp_txq *q)
{
	uint32_t i;

	for (i = 0; q->lost && i < q->n; i++) {
		struct ptcp_txseg *s = ptcp_txq_at(q, i);

		if (s->flags & PTCP_TXSEG_LOST)
			set_flags(q, s, (uint8_t)(s->flags & ~PTCP_TXSEG_LOST));
	}
}

void ptcp_txq_retransmitted(struct ptcp_txq *q, uint32_t i, ptcp_ts now)
{
	struct ptcp_txseg *s = ptcp_txq_at(q, i);

	s->xmit_ts = now;
	s->flags &= (uint8_t)~PTCP_TXSEG_DELIVERED;
	if (!(s->flags & PTCP_TXSEG_SACKED))
		set_flags(q, s, s->flags | PTCP_TXSEG_RETRANS | PTCP_TXSEG_EVER_RETRANS);
}

int32_t ptcp_txq_find(const struct ptcp_txq *q, ptcp_seq seq)
{
	uint32_t i = first_ending_after(q, seq);

	if (i == q->n || ptcp_seq_lt(seq, ptcp_txq_at(q, i)->seq))
		return -1;
	return (int32_t)i;
}

int32_t ptcp_txq_next_lost(const struct ptcp_txq *q)
{
	uint32_t i;

	for (i = 0; q->npending && i < q->n; i++) {
		const struct ptcp_txseg *s = ptcp_txq_at(q, i);

		if ((s->flags & (PTCP_TXSEG_LOST | PTCP_TXSEG_RETRANS | PTCP_TXSEG_SACKED)) ==
		    PTCP_TXSEG_LOST)
			return (int32_t)i;
	}
	return -1;
}

ptcp_seq ptcp_txq_high_sacked(const struct ptcp_txq *q)
{
	uint32_t i;

	for (i = q->n; q->nsacked && i > 0; i--) {
		const struct ptcp_txseg *s = ptcp_txq_at(q, i - 1);

		if (s->flags & PTCP_TXSEG_SACKED)
			return s->seq + s->len;
	}
	return q->n ? ptcp_txq_at(q, 0)->seq : 0;
}
