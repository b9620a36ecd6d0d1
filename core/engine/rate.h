/* Delivery rate estimation (draft-cheng-iccrg-delivery-rate-estimation-00):
 * from each ACK, the rate at which the network delivered the data of the
 * most recently sent segment it covers, over the interval from that
 * segment's send to its delivery. Model-based congestion control (BBR,
 * bbr.h) takes its bottleneck bandwidth from these samples.
 *
 * Each segment record (txq.h) keeps the connection's delivery state when
 * it was sent (ptcp_rate_on_send); the ACK that delivers it takes the
 * sample from the newest one (ptcp_rate_delivered, once per segment), and
 * ptcp_rate_sample_end() turns that into a rate. Intervals in which the
 * application, not the network, limited the sender are marked so (3.3):
 * their rates say how much the sender offered, not what the path takes.
 *
 * Bytes, nanoseconds, bytes per second; no allocation, no clock. */
#ifndef PTCP_RATE_H
#define PTCP_RATE_H

#include <stdbool.h>
#include <stdint.h>

#include "tstamp.h"
#include "txq.h"

struct ptcp_rate {
	uint64_t delivered;        /* C.delivered: bytes ACKed or SACKed so far */
	ptcp_ts delivered_time;    /* C.delivered_time: when it last grew, ns */
	ptcp_ts first_sent_time;   /* C.first_sent_time: send time of the
	                              segment the current interval starts at */
	uint64_t app_limited;      /* C.app_limited: 0, or the delivered count
	                              after which the application-limited
	                              phase is over */
};

/* One ACK's sample. ptcp_rate_sample_begin() clears it, each newly
 * delivered segment adds to it, ptcp_rate_sample_end() completes it. */
struct ptcp_rate_sample {
	bool has_data;             /* a segment was newly delivered */
	uint64_t prior_delivered;  /* rs.prior_delivered: C.delivered when the
	                              newest of them was sent */
	ptcp_ts prior_time;        /* rs.prior_time: C.delivered_time then */
	ptcp_ts newest_sent;       /* when the newest of them was sent */
	ptcp_seq newest_end;       /* ... and where it ended (ties) */
	uint64_t send_elapsed;     /* ns, its send time - P.first_sent_time */
	uint64_t ack_elapsed;      /* ns, now - P.delivered_time */
	bool is_app_limited;       /* rs.is_app_limited */
	uint32_t acked_sacked;     /* bytes this ACK newly delivered */
	uint64_t rtt;              /* ns: RTT of the newest segment delivered
	                              that was sent only once */
	ptcp_ts rtt_sent;          /* ... when that one was sent */
	bool has_rtt;              /* rtt is set */
	/* Set by ptcp_rate_sample_end(): */
	uint64_t delivered;        /* rs.delivered: bytes over the interval */
	uint64_t interval;         /* rs.interval, ns; 0 = no sample */
	uint64_t delivery_rate;    /* rs.delivery_rate, bytes per second; 0 = none */
};

void ptcp_rate_init(struct ptcp_rate *r);

/* 3.1, for every transmission and retransmission of seg at now (after
 * it was pushed or marked retransmitted): nothing_in_flight says whether
 * no other data was outstanding, which starts a new interval. */
void ptcp_rate_on_send(struct ptcp_rate *r, struct ptcp_txseg *seg, bool nothing_in_flight,
                       ptcp_ts now);

void ptcp_rate_sample_begin(struct ptcp_rate_sample *rs);

/* 3.2 UpdateRateSample(), for a segment an ACK newly delivered (cumulatively
 * or by SACK), called before the segment is dropped or marked. A segment
 * already counted since it was last sent (PTCP_TXSEG_DELIVERED) is
 * skipped. */
void ptcp_rate_delivered(struct ptcp_rate *r, struct ptcp_rate_sample *rs,
                         const struct ptcp_txseg *seg, ptcp_ts now);

/* 3.2 GenerateRateSample(), once the ACK's segments are taken: ends an
 * application-limited phase that was delivered, and computes the rate
 * over max(send_elapsed, ack_elapsed). No sample (rs->interval 0) without
 * a delivered segment, or over an interval shorter than min_rtt (ns; ACK
 * compression would overstate the rate). Returns whether there is one. */
bool ptcp_rate_sample_end(struct ptcp_rate *r, struct ptcp_rate_sample *rs, uint64_t min_rtt);

/* 3.3 CheckIfApplicationLimited(): when the sender has less than a segment
 * of new data (unsent < smss), nothing waiting to be retransmitted, and a
 * window it does not fill (pipe < cwnd), the data in flight marks the end
 * of an application-limited phase. */
void ptcp_rate_check_app_limited(struct ptcp_rate *r, uint32_t unsent, uint32_t smss,
                                 uint32_t npending, uint32_t pipe, uint32_t cwnd);

#endif
