#include "loss.h"

#include <string.h>

void ptcp_loss_init(struct ptcp_loss *l, struct ptcp_txseg *mem, uint32_t cap,
                    enum ptcp_cc_algo algo, uint32_t smss)
{
	memset(l, 0, sizeof(*l));
	ptcp_txq_init(&l->q, mem, cap);
	ptcp_rack_init(&l->rack);
	ptcp_cc_init(&l->cc, algo, smss);
	ptcp_rate_init(&l->rate);
	l->smss = l->cc.smss;
	l->tlp_ok = true;
	l->reo_at = l->tlp_at = PTCP_TS_NEVER;
}

void ptcp_loss_reset(struct ptcp_loss *l)
{
	struct ptcp_txseg *mem = l->q.v;
	uint32_t cap = l->q.cap, smss = l->smss;

	ptcp_loss_init(l, mem, cap, l->cc.algo, smss);
}

void ptcp_loss_configure(struct ptcp_loss *l, uint32_t smss, bool sack, uint32_t seed)
{
	ptcp_cc_set_smss(&l->cc, smss, seed);
	l->smss = l->cc.smss;
	l->sack = sack;
}

/* RFC 6675 pipe; without SACK the duplicate ACKs stand in for SACKed
 * segments (each says one segment left the network). */
static uint32_t pipe(const struct ptcp_loss *l)
{
	uint32_t p = ptcp_txq_pipe(&l->q);

	return p > l->reno_dup ? p - l->reno_dup : 0;
}

uint32_t ptcp_loss_window(const struct ptcp_loss *l)
{
	uint32_t p;

	/* BBR sets cwnd in recovery itself (packet conservation, then its
	 * model: 4.2.3.4); PRR is for the loss-based ones. */
	if (l->state == PTCP_RECOV_FAST && l->cc.algo != PTCP_CC_BBR)
		return l->prr.quota;
	p = pipe(l);
	return l->cc.cwnd > p ? l->cc.cwnd - p : 0;
}

uint64_t ptcp_loss_pacing(struct ptcp_loss *l, uint64_t srtt, uint32_t *quantum)
{
	if (l->cc.algo != PTCP_CC_BBR) {
		*quantum = 0;
		return 0;
	}
	ptcp_bbr_note_srtt(&l->cc.bbr, srtt);
	*quantum = l->cc.bbr.send_quantum;
	return l->cc.bbr.pacing_rate;
}

void ptcp_loss_check_app_limited(struct ptcp_loss *l, uint32_t unsent)
{
	ptcp_rate_check_app_limited(&l->rate, unsent, l->smss, l->q.npending, pipe(l), l->cc.cwnd);
}

int32_t ptcp_loss_next_seg(const struct ptcp_loss *l, bool no_new_data)
{
	int32_t i;

	if (l->head_due) {
		for (i = 0; i < (int32_t)l->q.n; i++)
			if (!(ptcp_txq_at(&l->q, (uint32_t)i)->flags & PTCP_TXSEG_SACKED))
				return i;
	}
	i = ptcp_txq_next_lost(&l->q);
	if (i >= 0)
		return i;
	if (no_new_data && l->sack && l->state == PTCP_RECOV_FAST && l->q.nsacked) {
		ptcp_seq high = ptcp_txq_high_sacked(&l->q);
		uint32_t k;

		for (k = 0; k < l->q.n; k++) {
			const struct ptcp_txseg *s = ptcp_txq_at(&l->q, k);

			if (!ptcp_seq_lt(s->seq, high))
				break;
			if (!(s->flags & (PTCP_TXSEG_SACKED | PTCP_TXSEG_LOST | PTCP_TXSEG_RETRANS)))
				return (int32_t)k;
		}
	}
	return -1;
}

/* Delivery rate bookkeeping and BBR's per-transmit step (3.6.3) for
 * record i, which just went out. */
static void on_transmit(struct ptcp_loss *l, uint32_t i, bool nothing_in_flight, ptcp_ts now)
{
	ptcp_rate_on_send(&l->rate, ptcp_txq_at(&l->q, i), nothing_in_flight, now);
	if (l->cc.algo == PTCP_CC_BBR)
		ptcp_bbr_on_transmit(&l->cc.bbr, nothing_in_flight, l->rate.app_limited != 0);
}

void ptcp_loss_sent_new(struct ptcp_loss *l, ptcp_seq seq, uint32_t len, bool fin, ptcp_ts now)
{
	bool idle = ptcp_txq_empty(&l->q);

	if (ptcp_txq_push(&l->q, seq, len, fin, now))
		on_transmit(l, l->q.n - 1, idle, now);
	if (l->state == PTCP_RECOV_FAST)
		ptcp_prr_on_send(&l->prr, len);
}

void ptcp_loss_sent_again(struct ptcp_loss *l, uint32_t i, ptcp_ts now, bool has_ts, uint32_t tsval)
{
	const struct ptcp_txseg *s = ptcp_txq_at(&l->q, i);

	if (l->state == PTCP_RECOV_FAST)
		ptcp_prr_on_send(&l->prr, s->len);
	if (l->undo_armed)
		l->undo_retrans++;
	if (l->eifel_armed && !l->eifel_stamped) {
		/* RFC 3522 step (1): remember the first retransmission. Without
		 * timestamps Eifel cannot tell; only D-SACKs can. */
		if (has_ts) {
			l->eifel_stamped = true;
			l->eifel_seq = s->seq;
			l->eifel_tsval = tsval;
		} else {
			l->eifel_armed = false;
		}
	}
	l->head_due = false;
	ptcp_txq_retransmitted(&l->q, i, now);
	on_transmit(l, i, false, now);
}

/* The reduction was for nothing: back to the window before it, and the
 * segments taken for lost are not (RFC 3522 / RFC 4015 response, RFC
 * 3708), unless keep_lost (they are the next episode's). Retransmissions
 * already sent stay in flight. */
static void undo(struct ptcp_loss *l, bool keep_lost)
{
	ptcp_cc_undo(&l->cc);
	if (!keep_lost)
		ptcp_txq_clear_lost(&l->q);
	l->state = PTCP_RECOV_OPEN;
	l->undo_armed = false;
	l->eifel_armed = false;
	l->head_due = false;
	l->undos++;
}

/* RFC 3522 step (4): this ACK is the first for the retransmitted data
 * and echoes an older transmission than the first retransmission, so
 * nothing was lost. Disarms the check once that ACK came. */
static bool eifel_spurious(struct ptcp_loss *l, const struct ptcp_loss_ack *a, bool advanced)
{
	if (!l->eifel_armed || !l->eifel_stamped || !advanced || !ptcp_seq_gt(a->ack, l->eifel_seq))
		return false;
	l->eifel_armed = false;
	return a->has_tsecr && ptcp_seq_lt(a->tsecr, l->eifel_tsval) && l->undo_armed;
}

/* A reduction starts an episode that a later proof of spuriousness may
 * undo. */
static void arm_undo(struct ptcp_loss *l)
{
	l->undo_marker = l->q.n ? ptcp_txq_at(&l->q, 0)->seq : 0;
	l->undo_armed = true;
	l->undo_retrans = 0;
	l->eifel_armed = true;
	l->eifel_stamped = false;
}

static ptcp_seq first_lost_seq(const struct ptcp_loss *l)
{
	int32_t i = ptcp_txq_next_lost(&l->q);

	return i >= 0 ? ptcp_txq_at(&l->q, (uint32_t)i)->seq : ptcp_txq_at(&l->q, 0)->seq;
}

/* RFC 6675 section 5 step 4 with RFC 6937: RecoveryPoint = HighData,
 * ssthresh from congestion control, PRR from the current pipe. */
static void enter_fast_recovery(struct ptcp_loss *l, ptcp_seq snd_max, ptcp_ts now)
{
	l->state = PTCP_RECOV_FAST;
	l->recover = snd_max;
	l->recover_valid = true;
	ptcp_cc_on_congestion(&l->cc, ptcp_txq_bytes(&l->q), now);
	ptcp_prr_start(&l->prr, pipe(l));
	arm_undo(l);
	l->recoveries++;
	l->tlp_due = false;
	l->tlp_at = PTCP_TS_NEVER;
}

/* The first retransmission of a recovery goes at once, whatever PRR says
 * (the fast retransmit of RFC 5681 3.2 step 2). */
static void prr_first_rtx(struct ptcp_loss *l)
{
	if (l->prr.out == 0 && l->prr.quota < l->smss)
		l->prr.quota = l->smss;
}

/* RFC 6675 IsLost(): a segment with DupThresh SACKed segments, or more than
 * (DupThresh - 1) * SMSS SACKed bytes, above it is lost. Only segments not
 * resent yet: a lost retransmission is RACK's to find. */
static void mark_islost(struct ptcp_loss *l)
{
	uint32_t segs = 0, bytes = 0, i;

	for (i = l->q.n; i > 0; i--) {
		struct ptcp_txseg *s = ptcp_txq_at(&l->q, i - 1);

		if (s->flags & PTCP_TXSEG_SACKED) {
			segs++;
			bytes += s->len;
		} else if ((segs >= PTCP_RACK_DUPTHRESH ||
		            bytes > (PTCP_RACK_DUPTHRESH - 1) * l->smss) &&
		           !(s->flags & (PTCP_TXSEG_LOST | PTCP_TXSEG_RETRANS))) {
			ptcp_txq_mark_lost(&l->q, i - 1);
		}
	}
}

/* RACK (RFC 8985 6.2 step 5) when its state moved: marks losses and arms
 * the reordering timer for the segments not yet due. */
static void rack_check(struct ptcp_loss *l, ptcp_ts now, uint64_t srtt)
{
	uint64_t reo = ptcp_rack_reo_wnd(&l->rack, l->state != PTCP_RECOV_OPEN, l->q.nsacked, srtt);
	uint32_t marked;
	uint64_t timeout = ptcp_rack_detect_loss(&l->rack, &l->q, now, reo, &marked);

	l->reo_at = timeout ? ptcp_ts_add(now, timeout) : PTCP_TS_NEVER;
}

/* Loss detection after an ACK. */
static void detect(struct ptcp_loss *l, const struct ptcp_loss_ack *a, bool advanced)
{
	if (!l->q.n)
		return;
	if (!l->sack) {
		struct ptcp_txseg *head = ptcp_txq_at(&l->q, 0);

		/* RFC 5681 3.2: the third duplicate ACK; RFC 6582 3.2 step 5:
		 * a partial ACK in recovery. Either way the first segment. */
		if ((l->state == PTCP_RECOV_OPEN && l->dupacks == PTCP_RACK_DUPTHRESH) ||
		    (l->state == PTCP_RECOV_FAST && advanced && ptcp_seq_lt(a->ack, l->recover))) {
			if (!(head->flags & (PTCP_TXSEG_LOST | PTCP_TXSEG_RETRANS)))
				ptcp_txq_mark_lost(&l->q, 0);
		}
		return;
	}
	if (l->rack.advanced)
		rack_check(l, a->now, a->srtt);
	/* The DupThresh rule yields to RACK's reordering window once the
	 * path has been seen to reorder (RFC 8985 6.2 step 4). */
	if (!l->rack.reordering_seen && l->q.nsacked)
		mark_islost(l);
}

/* D-SACK (RFC 2883 section 4): the first block lies below the cumulative
 * ACK or inside the second block. */
static bool is_dsack(const struct ptcp_loss_ack *a)
{
	const struct ptcp_sack_block *b = a->sack;

	if (!a->nsack || !ptcp_seq_lt(b[0].left, b[0].right))
		return false;
	if (ptcp_seq_le(b[0].right, a->ack))
		return true;
	return a->nsack >= 2 && ptcp_seq_ge(b[0].left, b[1].left) && ptcp_seq_le(b[0].right, b[1].right);
}

/* What an ACK delivered, segment by segment: RACK's bookkeeping, the
 * delivery rate sample, and (cumulatively acknowledged ones) the RTT of
 * the newest segment sent once (Karn's rule). */
struct ack_visit {
	struct ptcp_rack_ack ra;
	struct ptcp_loss *l;
	struct ptcp_rate_sample rs;
	struct ptcp_loss_result *r;
};

static void sack_delivered(void *ctx, const struct ptcp_txseg *seg)
{
	struct ack_visit *v = ctx;

	ptcp_rate_delivered(&v->l->rate, &v->rs, seg, v->ra.now);
	ptcp_rack_delivered(&v->ra, seg);
}

static void cum_delivered(void *ctx, const struct ptcp_txseg *seg)
{
	struct ack_visit *v = ctx;

	if (!(seg->flags & PTCP_TXSEG_EVER_RETRANS)) {
		v->r->has_rtt = true;
		v->r->rtt = ptcp_ts_elapsed(v->ra.now, seg->xmit_ts);
	}
	v->ra.cumulative = true;
	sack_delivered(ctx, seg);
	v->ra.cumulative = false;
}

/* The SACK blocks of an ACK: D-SACK accounting, then the scoreboard, lowest
 * block first so RACK sees deliveries in order. Returns the bytes newly
 * SACKed; *dsack tells whether block 0 was a D-SACK. */
static uint32_t take_sack(struct ptcp_loss *l, const struct ptcp_loss_ack *a,
                          struct ack_visit *v, bool *dsack)
{
	struct ptcp_sack_block b[PTCP_SACK_MAX];
	unsigned n = 0, i, j, k = 0;
	uint32_t newly = 0;

	*dsack = is_dsack(a);
	if (*dsack) {
		const struct ptcp_sack_block *d = &a->sack[0];
		uint32_t segs = ((uint32_t)(d->right - d->left) + l->smss - 1) / l->smss;

		l->dsacks++;
		k = 1;
		/* RFC 3708: each retransmission the peer got twice was not
		 * needed; all of them: the episode was spurious. Only
		 * duplicates of data this episode resent count. */
		if (l->undo_armed && l->undo_retrans && ptcp_seq_ge(d->left, l->undo_marker)) {
			l->undo_retrans -= segs < l->undo_retrans ? segs : l->undo_retrans;
			if (l->undo_retrans == 0)
				undo(l, false);
		}
	}
	for (i = k; i < a->nsack && n < PTCP_SACK_MAX; i++) {
		/* RFC 2018: a block beyond what was sent is invalid. */
		if (!ptcp_seq_lt(a->sack[i].left, a->sack[i].right) ||
		    ptcp_seq_gt(a->sack[i].right, a->snd_max))
			continue;
		b[n++] = a->sack[i];
	}
	for (i = 1; i < n; i++) {
		struct ptcp_sack_block t = b[i];

		for (j = i; j > 0 && ptcp_seq_lt(t.left, b[j - 1].left); j--)
			b[j] = b[j - 1];
		b[j] = t;
	}
	for (i = 0; i < n; i++)
		newly += ptcp_txq_sack(&l->q, b[i].left, b[i].right, sack_delivered, v);
	return newly;
}

/* RFC 8985 7.4: what the ACK says about an outstanding probe. A probe that
 * resent the last segment and was the only copy to arrive repaired a loss:
 * the congestion response is a one-time reduction. */
static void tlp_on_ack(struct ptcp_loss *l, const struct ptcp_loss_ack *a, bool dsack)
{
	bool repaired = false;

	if (!l->tlp_out || !ptcp_seq_ge(a->ack, l->tlp_end))
		return;
	if (!l->tlp_is_retrans) {
		l->tlp_out = false;
	} else if ((dsack && a->sack[0].right == l->tlp_end) || (a->dupack && a->nsack == 0)) {
		l->tlp_out = false; /* both copies arrived: no loss */
	} else if (ptcp_seq_gt(a->ack, l->tlp_end)) {
		l->tlp_out = false;
		repaired = true;
	}
	if (repaired && l->state == PTCP_RECOV_OPEN) {
		ptcp_cc_on_congestion(&l->cc, ptcp_txq_bytes(&l->q), a->now);
		ptcp_cc_end_recovery(&l->cc);
		arm_undo(l);
		l->eifel_armed = false;
		l->tlp_recoveries++;
	}
}

/* What congestion control learns from an ACK: CUBIC and NewReno outside
 * fast recovery when SND.UNA advanced (RFC 5681 3.1: also after a
 * timeout), BBR from every ACK with its rate sample. */
static void cc_on_ack(struct ptcp_loss *l, const struct ptcp_loss_ack *a,
                      const struct ptcp_loss_result *r, const struct ack_visit *v,
                      uint32_t delivered, bool limited, bool advanced, bool ended,
                      uint32_t prior_inflight, uint32_t lost)
{
	struct ptcp_cc_ack ca = {
		.acked = delivered, .cwnd_limited = limited, .now = a->now,
		.rtt = r->has_rtt ? r->rtt : 0, .srtt = a->srtt, .ack = a->ack,
		.snd_nxt = a->snd_max,
	};

	if (l->cc.algo == PTCP_CC_BBR) {
		ca.rate = &l->rate;
		ca.rs = &v->rs;
		ca.prior_inflight = prior_inflight;
		ca.inflight = pipe(l);
		ca.lost = lost;
		ca.recovery = l->state == PTCP_RECOV_FAST   ? PTCP_BBR_RECOV_FAST
		              : l->state == PTCP_RECOV_LOSS ? PTCP_BBR_RECOV_RTO
		                                            : PTCP_BBR_RECOV_NONE;
		ptcp_cc_on_ack(&l->cc, &ca);
		return;
	}
	if (advanced && l->state != PTCP_RECOV_FAST && !ended)
		ptcp_cc_on_ack(&l->cc, &ca);
}

void ptcp_loss_on_ack(struct ptcp_loss *l, const struct ptcp_loss_ack *a,
                      struct ptcp_loss_result *r)
{
	struct ack_visit cv = {
		.ra = { .rack = &l->rack, .now = a->now, .has_tsecr = a->has_tsecr, .tsecr = a->tsecr,
		        .ts_epoch = a->ts_epoch, .ts_offset = a->ts_offset, .ts_tick = a->ts_tick },
		.l = l,
		.r = r,
	};
	uint32_t prior_inflight = pipe(l);
	uint64_t lost_before = l->q.lost_marked;
	bool advanced = ptcp_seq_gt(a->ack, a->snd_una), dsack = false, ended = false;
	/* cwnd was in use: data waited for it, or (in slow start, as Linux
	 * counts it) at least half of it was in flight. */
	bool limited = l->cwnd_limited ||
	               (l->cc.cwnd < l->cc.ssthresh && 2 * (uint64_t)pipe(l) >= l->cc.cwnd);
	uint64_t undos = l->undos;
	uint32_t delivered = 0;

	memset(r, 0, sizeof(*r));
	ptcp_rate_sample_begin(&cv.rs);
	if (advanced) {
		uint32_t adv = (uint32_t)(a->ack - a->snd_una);

		r->acked = ptcp_txq_ack(&l->q, a->ack, cum_delivered, &cv);
		delivered += r->acked;
		l->dupacks = 0;
		/* Without SACK: one segment of the advance filled the hole,
		 * the rest is data the duplicate ACKs already counted. */
		if (l->reno_dup) {
			uint32_t eaten = adv > l->smss ? adv - l->smss : 0;

			l->reno_dup = eaten < l->reno_dup ? l->reno_dup - eaten : 0;
		}
		l->tlp_ok = true;
	} else if (a->dupack) {
		l->dupacks++;
		if (!l->sack && l->reno_dup + l->smss <= ptcp_txq_bytes(&l->q)) {
			/* RFC 6937: DeliveredData is one SMSS per duplicate. */
			l->reno_dup += l->smss;
			delivered += l->smss;
		}
	}
	if (l->sack && a->nsack)
		delivered += take_sack(l, a, &cv, &dsack);

	detect(l, a, advanced);

	if (l->state == PTCP_RECOV_FAST && ptcp_seq_ge(a->ack, l->recover)) {
		/* RFC 6937: cwnd = ssthresh at the end of recovery. */
		ptcp_cc_end_recovery(&l->cc);
		l->state = PTCP_RECOV_OPEN;
		ended = true;
	} else if (l->state == PTCP_RECOV_LOSS && ptcp_seq_ge(a->ack, l->recover)) {
		l->state = PTCP_RECOV_OPEN;
		ended = true;
	}
	/* The ACK that ends an episode is judged for it before a next one
	 * (below) arms the check again: the window goes back to where it
	 * was, and only the segments taken for lost beyond the recovery
	 * point (this ACK's, for the next episode) stay so. */
	if (ended && eifel_spurious(l, a, advanced))
		undo(l, l->q.npending > 0);
	/* Losses beyond the recovery point of the one that just ended start
	 * the next recovery with the same ACK, as Linux's
	 * tcp_fastretrans_alert() does. Checked before the end, they were
	 * resent outside any recovery: no congestion event for CUBIC and
	 * NewReno (RFC 5681 wants one for a loss after the recovery point),
	 * and for BBR the window saved before recovery came back, and the
	 * next loss cut it to the flight (packet conservation, 4.2.3.4 of
	 * its draft): at 5% loss every round trip or two, so Startup's
	 * window could not grow. Now BBR sees one recovery follow the other
	 * and conserves packets in the first round of the first only. */
	if (l->state == PTCP_RECOV_OPEN && l->q.npending) {
		r->first_lost = first_lost_seq(l);
		enter_fast_recovery(l, a->snd_max, a->now);
		r->entered_recovery = true;
	}
	if (l->state == PTCP_RECOV_FAST) {
		ptcp_prr_on_ack(&l->prr, delivered, pipe(l), l->cc.ssthresh, l->smss);
		prr_first_rtx(l);
	}

	/* Eifel (RFC 3522 step 4) within an episode, or at the end of one
	 * that no other followed. */
	if (eifel_spurious(l, a, advanced))
		undo(l, false);
	r->undone = l->undos != undos;

	if (ptcp_rate_sample_end(&l->rate, &cv.rs, l->rack.min_rtt))
		l->delivery_rate = cv.rs.delivery_rate;
	cc_on_ack(l, a, r, &cv, delivered, limited, advanced, ended, prior_inflight,
	          (uint32_t)(l->q.lost_marked - lost_before));

	tlp_on_ack(l, a, dsack);
	ptcp_rack_update_reo_wnd(&l->rack, dsack, a->ack, a->snd_max, ended);
	if (!l->q.n)
		l->reo_at = PTCP_TS_NEVER;
}

void ptcp_loss_on_rto(struct ptcp_loss *l, ptcp_ts now, unsigned rto_count, ptcp_seq snd_max,
                      uint64_t srtt)
{
	/* RFC 5681 3.1: ssthresh only on the first timeout of an episode (a
	 * later one without progress keeps it), and not when fast recovery
	 * already reduced it for the same losses. */
	bool first = l->state == PTCP_RECOV_OPEN || (l->state == PTCP_RECOV_LOSS && rto_count == 1);

	if (first)
		arm_undo(l);
	ptcp_cc_on_rto(&l->cc, ptcp_txq_bytes(&l->q), first, now);
	l->state = PTCP_RECOV_LOSS;
	l->recover = snd_max;
	l->recover_valid = true;
	/* A second timeout in a row may mean the peer dropped what it had
	 * SACKed (RFC 2018 section 8): resend all of it. */
	if (rto_count >= 2)
		ptcp_txq_clear_sacked(&l->q);
	ptcp_rack_mark_on_rto(&l->rack, &l->q, now,
	                      ptcp_rack_reo_wnd(&l->rack, true, l->q.nsacked, srtt));
	l->head_due = l->q.n > 0;
	l->dupacks = 0;
	l->reno_dup = 0;
	l->tlp_out = l->tlp_due = false;
	l->tlp_at = l->reo_at = PTCP_TS_NEVER;
}

void ptcp_loss_schedule_tlp(struct ptcp_loss *l, ptcp_ts now, uint64_t srtt, ptcp_ts rto_at)
{
	/* RFC 8985 7.2: one probe at a time, and not while RACK's timer
	 * runs (it decides first); in the open state only with nothing
	 * SACKed (those are RACK's too).
	 *
	 * Beyond the RFC, which leaves recovery to the RTO: the PTO also runs
	 * in fast recovery and after a timeout. When the last retransmissions
	 * and everything sent after them are lost, or their ACKs are, no
	 * later delivery can show RACK the loss and only the RTO (200 ms and
	 * more) would follow; a probe after 2 * SRTT draws the ACK that does.
	 * It costs one segment per ACK of new data at most, like the open
	 * state's probe, and never changes cwnd there. */
	bool ok = l->sack && l->q.n && !l->tlp_out && l->tlp_ok && l->reo_at == PTCP_TS_NEVER;

	if (ok && l->state == PTCP_RECOV_OPEN && l->q.nsacked)
		ok = false;
	l->tlp_at = ok ? ptcp_ts_add(now, ptcp_tlp_pto(srtt, l->q.n == 1, now, rto_at))
	               : PTCP_TS_NEVER;
}

void ptcp_loss_tlp_sent(struct ptcp_loss *l, ptcp_seq end, bool retrans)
{
	l->tlp_due = false;
	l->tlp_out = true;
	l->tlp_ok = false;
	l->tlp_end = end;
	l->tlp_is_retrans = retrans;
	l->tlp_at = PTCP_TS_NEVER;
	l->tlp_probes++;
}

ptcp_ts ptcp_loss_expiry(const struct ptcp_loss *l)
{
	return ptcp_ts_min(l->reo_at, l->tlp_at);
}

bool ptcp_loss_on_timer(struct ptcp_loss *l, ptcp_ts now, uint64_t srtt, ptcp_seq snd_max,
                        ptcp_ts rto_at, ptcp_seq *first_lost)
{
	bool entered = false;

	if (l->reo_at <= now) {
		l->reo_at = PTCP_TS_NEVER;
		rack_check(l, now, srtt);
		if (l->state == PTCP_RECOV_OPEN && l->q.npending) {
			*first_lost = first_lost_seq(l);
			enter_fast_recovery(l, snd_max, now);
			entered = true;
		}
		/* No ACK came to give PRR a quota: let one segment go. */
		if (l->state == PTCP_RECOV_FAST && l->q.npending && l->prr.quota < l->smss)
			l->prr.quota = l->smss;
		/* With nothing (more) lost, a probe may be due later. */
		if (l->reo_at == PTCP_TS_NEVER)
			ptcp_loss_schedule_tlp(l, now, srtt, rto_at);
	}
	if (l->tlp_at <= now) {
		l->tlp_at = PTCP_TS_NEVER;
		if (l->q.n && !l->tlp_out)
			l->tlp_due = true;
	}
	return entered;
}
