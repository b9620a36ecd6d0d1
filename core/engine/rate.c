#include "rate.h"

#include <string.h>

void ptcp_rate_init(struct ptcp_rate *r)
{
	memset(r, 0, sizeof(*r));
}

/* ns from then to now, saturated to 32 bits. */
static uint32_t ago(ptcp_ts now, ptcp_ts then)
{
	uint64_t d = ptcp_ts_elapsed(now, then);

	return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

void ptcp_rate_on_send(struct ptcp_rate *r, struct ptcp_txseg *seg, bool nothing_in_flight,
                       ptcp_ts now)
{
	/* With nothing in flight there is no delivery to measure from: the
	 * interval starts with this segment. */
	if (nothing_in_flight)
		r->first_sent_time = r->delivered_time = now;
	seg->first_sent_ago = ago(now, r->first_sent_time);
	seg->delivered_ago = ago(now, r->delivered_time);
	seg->delivered = (uint32_t)r->delivered;
	if (r->app_limited)
		seg->flags |= PTCP_TXSEG_APP_LIMITED;
	else
		seg->flags &= (uint8_t)~PTCP_TXSEG_APP_LIMITED;
}

void ptcp_rate_sample_begin(struct ptcp_rate_sample *rs)
{
	memset(rs, 0, sizeof(*rs));
}

/* C.delivered when seg was sent, from the 32 bits it keeps: the count has
 * grown since by less than 4 GiB. */
static uint64_t delivered_at_send(const struct ptcp_rate *r, const struct ptcp_txseg *seg)
{
	return r->delivered - (uint32_t)((uint32_t)r->delivered - seg->delivered);
}

void ptcp_rate_delivered(struct ptcp_rate *r, struct ptcp_rate_sample *rs,
                         const struct ptcp_txseg *seg, ptcp_ts now)
{
	uint64_t prior;
	ptcp_seq end = seg->seq + seg->len;

	if (seg->flags & PTCP_TXSEG_DELIVERED)
		return;
	prior = delivered_at_send(r, seg);
	r->delivered += seg->len;
	r->delivered_time = now;
	rs->acked_sacked += seg->len;
	if (!(seg->flags & PTCP_TXSEG_EVER_RETRANS) && (!rs->has_rtt || seg->xmit_ts >= rs->rtt_sent)) {
		rs->has_rtt = true;
		rs->rtt = ptcp_ts_elapsed(now, seg->xmit_ts);
		rs->rtt_sent = seg->xmit_ts;
	}
	/* The sample belongs to the most recently sent segment delivered (the
	 * draft's "P.delivered > rs.prior_delivered", with segments of one
	 * flight told apart by their send time, then sequence). */
	if (rs->has_data && (prior < rs->prior_delivered ||
	                     (prior == rs->prior_delivered &&
	                      (seg->xmit_ts < rs->newest_sent ||
	                       (seg->xmit_ts == rs->newest_sent && ptcp_seq_lt(end, rs->newest_end))))))
		return;
	rs->has_data = true;
	rs->prior_delivered = prior;
	rs->prior_time = seg->xmit_ts - seg->delivered_ago;
	rs->newest_sent = seg->xmit_ts;
	rs->newest_end = end;
	rs->is_app_limited = seg->flags & PTCP_TXSEG_APP_LIMITED;
	rs->send_elapsed = seg->first_sent_ago;
	rs->ack_elapsed = ptcp_ts_elapsed(now, rs->prior_time);
	/* The next interval starts where this one's newest segment left. */
	r->first_sent_time = seg->xmit_ts;
}

bool ptcp_rate_sample_end(struct ptcp_rate *r, struct ptcp_rate_sample *rs, uint64_t min_rtt)
{
	uint64_t interval;

	if (r->app_limited && r->delivered > r->app_limited)
		r->app_limited = 0;
	rs->interval = 0;
	rs->delivery_rate = 0;
	if (!rs->has_data)
		return false;
	rs->delivered = r->delivered - rs->prior_delivered;
	/* The slower of the send and the ACK rates: ACKs bunched up on the
	 * way back, or a sender that sent in a burst, would overstate it. */
	interval = rs->send_elapsed > rs->ack_elapsed ? rs->send_elapsed : rs->ack_elapsed;
	if (interval == 0 || interval < min_rtt)
		return false;
	rs->interval = interval;
	/* The segments of one interval were in flight together: fewer than
	 * 2^32 bytes, and 1e9 < 2^30, so the product fits. */
	if (rs->delivered > UINT32_MAX)
		rs->delivered = UINT32_MAX;
	rs->delivery_rate = rs->delivered * PTCP_NS_PER_S / interval;
	return true;
}

void ptcp_rate_check_app_limited(struct ptcp_rate *r, uint32_t unsent, uint32_t smss,
                                 uint32_t npending, uint32_t pipe, uint32_t cwnd)
{
	if (unsent < smss && npending == 0 && pipe < cwnd) {
		uint64_t mark = r->delivered + pipe;

		r->app_limited = mark ? mark : 1;
	}
}
