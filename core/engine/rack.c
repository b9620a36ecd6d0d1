#include "rack.h"

#include <string.h>

void ptcp_rack_init(struct ptcp_rack *r)
{
	memset(r, 0, sizeof(*r));
	r->reo_wnd_mult = 1;
}

/* RACK_sent_after(t1, seq1, t2, seq2): segment 1 was sent after segment 2;
 * segments sent at the same instant are ordered by sequence. */
static bool sent_after(ptcp_ts t1, ptcp_seq seq1, ptcp_ts t2, ptcp_seq seq2)
{
	return t1 > t2 || (t1 == t2 && ptcp_seq_gt(seq1, seq2));
}

void ptcp_rack_delivered(void *ctx, const struct ptcp_txseg *seg)
{
	const struct ptcp_rack_ack *a = ctx;
	struct ptcp_rack *r = a->rack;
	ptcp_seq end = seg->seq + seg->len;
	uint64_t rtt = ptcp_ts_elapsed(a->now, seg->xmit_ts);

	if (seg->flags & PTCP_TXSEG_EVER_RETRANS) {
		/* Step 2: the ACK may be for an earlier copy. An RTT below
		 * min_RTT says so; so does the echo of a cumulative ACK.
		 * Trusting a SACK's echo (TS.Recent, from before the hole)
		 * ignored every retransmission SACKed in a recovery: a lost
		 * retransmission then waited for the RTO. */
		if (a->cumulative && a->has_tsecr && a->ts_tick) {
			uint32_t sent = a->ts_offset +
			                (uint32_t)(ptcp_ts_elapsed(seg->xmit_ts, a->ts_epoch) / a->ts_tick);

			if (ptcp_seq_lt(a->tsecr, sent))
				return;
		}
		if (r->min_rtt && rtt < r->min_rtt)
			return;
	}
	/* Step 1: a windowed minimum (RACK.min_RTT). */
	if (!r->min_rtt || rtt <= r->min_rtt ||
	    ptcp_ts_elapsed(a->now, r->min_rtt_at) > PTCP_RACK_MIN_RTT_WINDOW) {
		r->min_rtt = rtt ? rtt : 1;
		r->min_rtt_at = a->now;
	}
	/* Step 2: the most recently sent of the delivered segments. */
	if (!r->valid || sent_after(seg->xmit_ts, end, r->xmit_ts, r->end_seq)) {
		r->valid = true;
		r->rtt = rtt;
		r->xmit_ts = seg->xmit_ts;
		r->end_seq = end;
		r->advanced = true;
	}
	/* Step 3: an original delivered below one already delivered was
	 * reordered, not lost. */
	if (r->fack_valid && ptcp_seq_lt(end, r->fack)) {
		if (!(seg->flags & PTCP_TXSEG_EVER_RETRANS))
			r->reordering_seen = true;
	} else {
		r->fack = end;
		r->fack_valid = true;
	}
}

void ptcp_rack_update_reo_wnd(struct ptcp_rack *r, bool dsack, ptcp_seq snd_una, ptcp_seq snd_max,
                              bool recovery_ended)
{
	/* Widen the window by min_RTT / 4 at most once per round trip in
	 * which D-SACKs (spurious retransmissions) arrive; keep it wide for
	 * 16 recoveries. */
	if (r->dsack_round_valid && ptcp_seq_ge(snd_una, r->dsack_round))
		r->dsack_round_valid = false;
	if (dsack && !r->dsack_round_valid) {
		r->dsack_round_valid = true;
		r->dsack_round = snd_max;
		r->reo_wnd_mult++;
		r->reo_wnd_persist = PTCP_RACK_REO_WND_PERSIST;
	} else if (recovery_ended && r->reo_wnd_persist) {
		if (--r->reo_wnd_persist == 0)
			r->reo_wnd_mult = 1;
	}
}

uint64_t ptcp_rack_reo_wnd(const struct ptcp_rack *r, bool in_recovery, uint32_t nsacked,
                           uint64_t srtt)
{
	uint64_t w;

	if (!r->reordering_seen && (in_recovery || nsacked >= PTCP_RACK_DUPTHRESH))
		return 0;
	w = (uint64_t)r->reo_wnd_mult * (r->min_rtt / 4);
	return srtt && w > srtt ? srtt : w;
}

uint64_t ptcp_rack_detect_loss(struct ptcp_rack *r, struct ptcp_txq *q, ptcp_ts now,
                               uint64_t reo_wnd, uint32_t *marked)
{
	uint64_t timeout = 0;
	bool only_retrans = false;
	uint32_t i;

	*marked = 0;
	r->advanced = false;
	if (!r->valid)
		return 0;
	for (i = 0; i < q->n; i++) {
		struct ptcp_txseg *s = ptcp_txq_at(q, i);
		uint64_t deadline;

		if (only_retrans && !(s->flags & PTCP_TXSEG_EVER_RETRANS))
			continue;
		/* Delivered, or already waiting for its retransmission. */
		if (s->flags & PTCP_TXSEG_SACKED ||
		    (s->flags & (PTCP_TXSEG_LOST | PTCP_TXSEG_RETRANS)) == PTCP_TXSEG_LOST)
			continue;
		if (!sent_after(r->xmit_ts, r->end_seq, s->xmit_ts, s->seq + s->len)) {
			/* Records never resent go out in sequence order, so no
			 * later one of them was sent before RACK.xmit_ts either;
			 * only retransmissions are left to look at. */
			if (!(s->flags & PTCP_TXSEG_EVER_RETRANS)) {
				if (!q->nretrans)
					break;
				only_retrans = true;
			}
			continue;
		}
		deadline = ptcp_ts_add(ptcp_ts_add(s->xmit_ts, r->rtt), reo_wnd);
		if (deadline <= now) {
			ptcp_txq_mark_lost(q, i);
			(*marked)++;
		} else if (deadline - now > timeout) {
			timeout = deadline - now;
		}
	}
	return timeout;
}

uint32_t ptcp_rack_mark_on_rto(const struct ptcp_rack *r, struct ptcp_txq *q, ptcp_ts now,
                               uint64_t reo_wnd)
{
	uint32_t i, marked = 0;

	for (i = 0; i < q->n; i++) {
		struct ptcp_txseg *s = ptcp_txq_at(q, i);

		if (s->flags & PTCP_TXSEG_SACKED)
			continue;
		if (i == 0 || !r->valid ||
		    ptcp_ts_add(ptcp_ts_add(s->xmit_ts, r->rtt), reo_wnd) <= now) {
			ptcp_txq_mark_lost(q, i);
			marked++;
		}
	}
	return marked;
}

uint64_t ptcp_tlp_pto(uint64_t srtt, bool one_segment, ptcp_ts now, ptcp_ts rto_at)
{
	uint64_t pto = PTCP_NS_PER_S;

	if (srtt) {
		pto = 2 * srtt;
		pto += one_segment ? PTCP_TLP_MAX_ACK_DELAY : PTCP_TLP_MIN_SLACK;
	}
	if (rto_at != PTCP_TS_NEVER && ptcp_ts_add(now, pto) > rto_at)
		pto = ptcp_ts_elapsed(rto_at, now);
	return pto;
}
