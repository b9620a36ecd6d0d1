/* Delivery rate estimation (draft-cheng-iccrg-delivery-rate-estimation-00)
 * on known schedules: a flow paced at 1 MB/s (1000-byte segments every
 * millisecond, ACKed 10 ms after they left) must measure 1 MB/s once the
 * pipe is full; ACKs that bunch up on the way back must not make it
 * measure more; a segment SACKed and then acknowledged counts once; the
 * application-limited marks start and end where 3.3 says. */
#include "check.h"
#include "rate.h"

#define MS_(x) ((ptcp_ts)(x) * PTCP_NS_PER_MS)
#define SEG 1000u
#define BASE 5000u  /* first sequence number */

struct path {
	struct ptcp_txseg mem[256];
	struct ptcp_txq q;
	struct ptcp_rate r;
	ptcp_seq next;
};

static void path_init(struct path *p)
{
	ptcp_txq_init(&p->q, p->mem, 256);
	ptcp_rate_init(&p->r);
	p->next = BASE;
}

/* Segment number k (SEG bytes) leaves at now. */
static void send_seg(struct path *p, ptcp_ts now)
{
	bool idle = ptcp_txq_empty(&p->q);

	CHECK(ptcp_txq_push(&p->q, p->next, SEG, false, now));
	ptcp_rate_on_send(&p->r, ptcp_txq_at(&p->q, p->q.n - 1), idle, now);
	p->next += SEG;
}

struct visit {
	struct path *p;
	struct ptcp_rate_sample rs;
	ptcp_ts now;
};

static void delivered(void *ctx, const struct ptcp_txseg *seg)
{
	struct visit *v = ctx;

	ptcp_rate_delivered(&v->p->r, &v->rs, seg, v->now);
}

/* An ACK at now for segments [0, k) cumulatively and, if sack_to > sack_from,
 * segments [sack_from, sack_to) by SACK; the sample with min_rtt. */
static struct ptcp_rate_sample ack(struct path *p, unsigned k, unsigned sack_from, unsigned sack_to,
                                   ptcp_ts now, uint64_t min_rtt, bool *has)
{
	struct visit v = { .p = p, .now = now };

	ptcp_rate_sample_begin(&v.rs);
	if (sack_to > sack_from)
		ptcp_txq_sack(&p->q, BASE + SEG * sack_from, BASE + SEG * sack_to, delivered, &v);
	ptcp_txq_ack(&p->q, BASE + SEG * k, delivered, &v);
	*has = ptcp_rate_sample_end(&p->r, &v.rs, min_rtt);
	return v.rs;
}

/* Segment k leaves at k ms and its ACK comes back at k + 10 ms; at each
 * millisecond the ACK is taken before the send. Once the pipe holds ten
 * segments every sample is 10,000 bytes over 10 ms: 1 MB/s exactly. */
static void test_paced_flow_measures_its_rate(void)
{
	struct path p;
	unsigned t;
	bool has;

	path_init(&p);
	for (t = 0; t <= 60; t++) {
		if (t >= 10) {
			struct ptcp_rate_sample rs = ack(&p, t - 9, 0, 0, MS_(t), MS_(10), &has);

			CHECK(has);
			CHECK_EQ(rs.acked_sacked, SEG);
			CHECK_EQ(rs.rtt, MS_(10));
			if (t == 10) {
				/* The first: one segment over its own 10 ms. */
				CHECK_EQ(rs.delivered, SEG);
				CHECK_EQ(rs.interval, MS_(10));
				CHECK_EQ(rs.delivery_rate, 100000);
			} else if (t == 15) {
				/* Sent before anything was delivered: six segments
				 * since the start, 15 ms ago. */
				CHECK_EQ(rs.delivered, 6 * SEG);
				CHECK_EQ(rs.interval, MS_(15));
				CHECK_EQ(rs.delivery_rate, 400000);
			} else if (t >= 20) {
				CHECK_EQ(rs.delivered, 10 * SEG);
				CHECK_EQ(rs.interval, MS_(10));
				CHECK_EQ(rs.delivery_rate, 1000000);
				CHECK(!rs.is_app_limited);
			}
		}
		send_seg(&p, MS_(t));
	}
	CHECK_EQ(p.r.delivered, 51 * SEG);
}

/* Five ACKs held up on the way back arrive at the same instant (ACK
 * compression): their inter-arrival time is zero, but each sample's
 * interval is at least its segment's flight (send_elapsed), so none
 * claims more than the 1 MB/s the sender sent at. The next, on time,
 * measures 1 MB/s again. */
static void test_bunched_acks_do_not_overstate(void)
{
	struct path p;
	unsigned t, k;
	bool has;

	path_init(&p);
	for (t = 0; t <= 40; t++) {
		if (t >= 10 && (t < 30 || t > 35))
			(void)ack(&p, t - 9, 0, 0, MS_(t), MS_(10), &has);
		if (t == 35) {
			/* The ACKs of segments 20 to 25, due at 30 to 35 ms. */
			for (k = 20; k <= 25; k++) {
				struct ptcp_rate_sample rs = ack(&p, k + 1, 0, 0, MS_(35), MS_(10), &has);

				CHECK(has);
				CHECK(rs.delivery_rate <= 1000000);
				CHECK(rs.delivery_rate > 600000);
			}
		}
		send_seg(&p, MS_(t));
	}
	{
		/* On time again: segment 31's ACK at 41 ms. */
		struct ptcp_rate_sample rs = ack(&p, 32, 0, 0, MS_(41), MS_(10), &has);

		CHECK(has);
		CHECK_EQ(rs.delivery_rate, 1000000);
	}
}

/* A segment SACKed first and then covered by the cumulative ACK counts
 * once; a SACK mark forgotten (RFC 2018 section 8) and given again does
 * not count twice; a retransmission is a new transmission and counts
 * when it arrives. */
static void test_each_segment_counts_once(void)
{
	struct path p;
	struct ptcp_rate_sample rs;
	unsigned i;
	bool has;

	path_init(&p);
	for (i = 0; i < 4; i++)
		send_seg(&p, MS_(i));
	rs = ack(&p, 0, 2, 3, MS_(12), 0, &has);
	CHECK_EQ(rs.acked_sacked, SEG);
	CHECK_EQ(p.r.delivered, SEG);
	ptcp_txq_clear_sacked(&p.q);
	rs = ack(&p, 0, 2, 3, MS_(13), 0, &has);
	CHECK_EQ(rs.acked_sacked, 0);
	CHECK(!has);
	CHECK_EQ(p.r.delivered, SEG);
	/* Segment 0 is resent, then everything is acknowledged: 0, 1 and 3
	 * are new; the retransmitted 0 measures no RTT (Karn). */
	ptcp_txq_retransmitted(&p.q, 0, MS_(14));
	ptcp_rate_on_send(&p.r, ptcp_txq_at(&p.q, 0), false, MS_(14));
	rs = ack(&p, 4, 0, 0, MS_(24), 0, &has);
	CHECK_EQ(rs.acked_sacked, 3 * SEG);
	CHECK_EQ(p.r.delivered, 4 * SEG);
	CHECK(rs.has_rtt);
	CHECK_EQ(rs.rtt, MS_(24) - MS_(3));
	/* The newest transmission among them carries the sample: the
	 * retransmission at 14 ms, sent when one segment had been delivered
	 * (at 12 ms, segment 2, sent at 2 ms): 3000 bytes over 12 ms. */
	CHECK(has);
	CHECK_EQ(rs.delivered, 3 * SEG);
	CHECK_EQ(rs.interval, MS_(12));
	CHECK_EQ(rs.delivery_rate, 250000);
}

/* 3.3: the application stops with the window not full. The data then in
 * flight ends the application-limited phase: segments sent until it is
 * delivered carry the mark, and so do their samples. */
static void test_app_limited_phase(void)
{
	struct path p;
	struct ptcp_rate_sample rs;
	unsigned i;
	bool has;

	path_init(&p);
	for (i = 0; i < 4; i++)
		send_seg(&p, MS_(i));
	/* Not limited: a full segment waits, or the window is full. */
	ptcp_rate_check_app_limited(&p.r, SEG, SEG, 0, 4 * SEG, 10 * SEG);
	CHECK_EQ(p.r.app_limited, 0);
	ptcp_rate_check_app_limited(&p.r, 0, SEG, 0, 4 * SEG, 4 * SEG);
	CHECK_EQ(p.r.app_limited, 0);
	ptcp_rate_check_app_limited(&p.r, 0, SEG, 1, 4 * SEG, 10 * SEG);
	CHECK_EQ(p.r.app_limited, 0);
	/* Limited: the mark is what is delivered plus what is in flight. */
	ptcp_rate_check_app_limited(&p.r, 100, SEG, 0, 4 * SEG, 10 * SEG);
	CHECK_EQ(p.r.app_limited, 4 * SEG);
	send_seg(&p, MS_(5));
	CHECK(ptcp_txq_at(&p.q, 4)->flags & PTCP_TXSEG_APP_LIMITED);
	CHECK(!(ptcp_txq_at(&p.q, 3)->flags & PTCP_TXSEG_APP_LIMITED));
	/* Segment 3 (sent before) gives an unmarked sample; delivering it
	 * reaches the mark but does not pass it. */
	rs = ack(&p, 4, 0, 0, MS_(13), 0, &has);
	CHECK(has);
	CHECK(!rs.is_app_limited);
	CHECK_EQ(p.r.app_limited, 4 * SEG);
	/* Segment 4's sample is marked; delivered now passes the mark, which
	 * ends the phase. */
	rs = ack(&p, 5, 0, 0, MS_(15), 0, &has);
	CHECK(has);
	CHECK(rs.is_app_limited);
	CHECK_EQ(p.r.app_limited, 0);
	send_seg(&p, MS_(16));
	CHECK(!(ptcp_txq_at(&p.q, 0)->flags & PTCP_TXSEG_APP_LIMITED));
}

/* An interval shorter than the minimum RTT is no sample (a burst of ACKs
 * after a silence would overstate the rate); with nothing delivered there
 * is none either. */
static void test_short_interval_is_no_sample(void)
{
	struct path p;
	struct ptcp_rate_sample rs;
	bool has;

	path_init(&p);
	send_seg(&p, MS_(0));
	send_seg(&p, MS_(1));
	rs = ack(&p, 1, 0, 0, MS_(5), MS_(10), &has);
	CHECK(!has);
	CHECK_EQ(rs.interval, 0);
	CHECK_EQ(rs.delivery_rate, 0);
	CHECK_EQ(p.r.delivered, SEG);
	rs = ack(&p, 1, 0, 0, MS_(6), 0, &has);
	CHECK(!has);
	CHECK(!rs.has_data);
	rs = ack(&p, 2, 0, 0, MS_(12), MS_(10), &has);
	CHECK(has);
	CHECK_EQ(rs.delivered, 2 * SEG);
	CHECK_EQ(rs.interval, MS_(12));
}

int main(void)
{
	RUN(test_paced_flow_measures_its_rate);
	RUN(test_bunched_acks_do_not_overstate);
	RUN(test_each_segment_counts_once);
	RUN(test_app_limited_phase);
	RUN(test_short_interval_is_no_sample);
	return check_summary();
}
