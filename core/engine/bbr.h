/* BBR congestion control, version 1 as draft-cardwell-iccrg-bbr-congestion-
 * control-00 specifies it (the algorithm Linux ships as tcp_bbr.c, the
 * kernel's "bbr"). Section numbers below are that draft's.
 *
 * BBR keeps a model of the path instead of reacting to loss: the
 * bottleneck bandwidth BtlBw (the windowed maximum of the delivery rate
 * samples of rate.h over 10 round trips, 4.1.1) and the round-trip
 * propagation time RTprop (the windowed minimum RTT over 10 s, 4.1.2).
 * It sends at pacing_gain * BtlBw (4.2.1) and keeps at most cwnd_gain *
 * BtlBw * RTprop (plus three send quanta) in flight (4.2.3). A state
 * machine sets the gains (4.3): Startup doubles the rate each round until
 * BtlBw stops growing by 25% for three rounds, Drain empties the queue
 * that made, ProbeBW cycles 5/4, 3/4, then 1 for six round trips to find
 * more bandwidth and give back what it queued, and ProbeRTT drops to four
 * segments for 200 ms when RTprop has not been seen for 10 s.
 *
 * Loss is not a congestion signal in this version: a random loss leaves
 * the rate alone. It costs only what was lost (cwnd less the bytes marked
 * lost, 4.2.3.4), packet conservation in the first round of a fast
 * recovery, and after a timeout a restart from one segment; the window
 * from before comes back when the recovery ends.
 *
 * Why version 1 and not the IETF's BBRv3 (draft-ietf-ccwg-bbr): v3 takes
 * a loss rate above 2% per round for congestion and cuts its bounds by
 * 30% for it, and lowers inflight_lo on every round with any loss until
 * the next probe; on a path with 5% random loss (or 1% on a long one) it
 * behaves like a loss-based sender again, which is what this engine needs
 * to get away from, and the kernel sender it is measured against is v1.
 *
 * Integer arithmetic: rates in bytes per second, times in nanoseconds,
 * gains in 1/256 (BBR_UNIT). Sans-IO: the caller passes every input, and
 * the gain cycle's random phase comes from a seed it supplies. */
#ifndef PTCP_BBR_H
#define PTCP_BBR_H

#include <stdbool.h>
#include <stdint.h>

#include "rate.h"
#include "tstamp.h"

#define PTCP_BBR_UNIT 256                                  /* gain 1.0 */
#define PTCP_BBR_HIGH_GAIN (PTCP_BBR_UNIT * 2885 / 1000 + 1) /* 2/ln(2) (4.3.2) */
#define PTCP_BBR_DRAIN_GAIN (PTCP_BBR_UNIT * 1000 / 2885)  /* its inverse (4.3.3) */
#define PTCP_BBR_CWND_GAIN (2 * PTCP_BBR_UNIT)             /* ProbeBW (4.3.4) */
#define PTCP_BBR_CYCLE_LEN 8                               /* BBRGainCycleLen */
#define PTCP_BBR_BTLBW_ROUNDS 10                           /* BtlBwFilterLen */
#define PTCP_BBR_RTPROP_LEN (10 * PTCP_NS_PER_S)           /* RTpropFilterLen */
#define PTCP_BBR_PROBE_RTT_TIME (200 * PTCP_NS_PER_MS)     /* ProbeRTTDuration */
#define PTCP_BBR_MIN_PIPE_SEGS 4                           /* BBRMinPipeCwnd */
#define PTCP_BBR_FULL_BW_ROUNDS 3                          /* rounds without growth */

enum ptcp_bbr_state {
	PTCP_BBR_STARTUP = 0,
	PTCP_BBR_DRAIN,
	PTCP_BBR_PROBE_BW,
	PTCP_BBR_PROBE_RTT,
};

/* "Startup", "Drain", "ProbeBW", "ProbeRTT"; "?" out of range. */
const char *ptcp_bbr_state_name(enum ptcp_bbr_state s);

/* A windowed maximum over the last win units of time: the best, second
 * and third best samples of three sub-windows (Kathleen Nichols' filter),
 * so the maximum expires without keeping every sample. */
struct ptcp_bbr_filter {
	struct {
		uint64_t t, v;
	} s[3];
};

/* Returns the maximum over (t - win, t] after taking sample v at time t. */
uint64_t ptcp_bbr_filter_max(struct ptcp_bbr_filter *f, uint64_t win, uint64_t t, uint64_t v);

/* What loss recovery is doing, as BBR sees it. */
enum ptcp_bbr_recovery {
	PTCP_BBR_RECOV_NONE = 0,
	PTCP_BBR_RECOV_FAST,      /* fast recovery */
	PTCP_BBR_RECOV_RTO,       /* after a retransmission timeout */
};

struct ptcp_bbr {
	enum ptcp_bbr_state state;
	uint32_t smss;              /* bytes */
	uint32_t initial_cwnd;      /* bytes, InitialCwnd */

	/* The model (4.1). */
	struct ptcp_bbr_filter bw_filter; /* delivery rates by round count */
	uint64_t btlbw;             /* BBR.BtlBw, bytes per second (0: no sample) */
	uint64_t rtprop;            /* BBR.RTprop, ns; UINT64_MAX: none yet */
	ptcp_ts rtprop_stamp;       /* when it was taken */
	bool rtprop_expired;        /* not refreshed for RTpropFilterLen */
	uint64_t round_count;       /* BBR.round_count: packet-timed round trips */
	uint64_t next_round_delivered; /* C.delivered that ends this round */
	bool round_start;           /* this ACK started a round */

	/* Startup's end (4.3.2). */
	bool filled_pipe;
	uint64_t full_bw;           /* bytes per second */
	unsigned full_bw_count;

	/* ProbeBW (4.3.4) and ProbeRTT (4.3.5). */
	unsigned cycle_index;
	ptcp_ts cycle_stamp;
	ptcp_ts probe_rtt_done_stamp; /* PTCP_TS_NEVER: not started */
	bool probe_rtt_round_done;
	bool idle_restart;

	/* Control parameters (4.2). */
	unsigned pacing_gain;       /* in PTCP_BBR_UNIT */
	unsigned cwnd_gain;
	uint64_t pacing_rate;       /* bytes per second */
	bool pacing_from_srtt;      /* the initial rate used an SRTT (4.2.1) */
	uint32_t send_quantum;      /* bytes (4.2.2) */
	uint32_t target_cwnd;       /* bytes (4.2.3.2) */
	uint32_t prior_cwnd;        /* bytes, saved for after recovery or ProbeRTT */
	bool packet_conservation;   /* first round of a fast recovery */
	enum ptcp_bbr_recovery prev_recovery; /* as of the last ACK */

	uint32_t rng;               /* xorshift32 state for the gain cycle */
	uint64_t probe_rtts;        /* ProbeRTT episodes (statistic) */
};

/* What one ACK tells BBR. */
struct ptcp_bbr_ack {
	ptcp_ts now;
	struct ptcp_rate *rate;            /* the connection's estimator (ProbeRTT
	                                      marks its samples app-limited) */
	const struct ptcp_rate_sample *rs; /* this ACK's sample */
	uint32_t prior_inflight;           /* bytes in flight before the ACK */
	uint32_t inflight;                 /* ... and after it */
	uint32_t lost;                     /* bytes this ACK found lost */
	enum ptcp_bbr_recovery recovery;   /* loss recovery after the ACK */
};

/* BBROnConnectionInit() (4.3.1): Startup, no model, the initial pacing
 * rate from initial_cwnd over 1 ms until an SRTT is known. seed picks
 * the gain cycle's phases (any value). */
void ptcp_bbr_init(struct ptcp_bbr *b, uint32_t smss, uint32_t initial_cwnd, uint32_t seed);

/* BBRUpdateOnACK() (3.6.2): the model and the state machine, then pacing
 * rate, send quantum and *cwnd (bytes). */
void ptcp_bbr_on_ack(struct ptcp_bbr *b, uint32_t *cwnd, const struct ptcp_bbr_ack *a);

/* BBROnTransmit() (3.6.3), as data goes out: nothing_in_flight and
 * app_limited (C.app_limited != 0) detect a restart from idle (4.3.4.4). */
void ptcp_bbr_on_transmit(struct ptcp_bbr *b, bool nothing_in_flight, bool app_limited);

/* The connection has an SRTT (ns, 0 = none yet): before any bandwidth
 * sample, the initial pacing rate is InitialCwnd per SRTT (4.2.1), not per
 * the 1 ms assumed without one. */
void ptcp_bbr_note_srtt(struct ptcp_bbr *b, uint64_t srtt);

/* Fast recovery begins: BBRSaveCwnd() (4.2.3.4); the next ACK applies
 * packet conservation. */
void ptcp_bbr_enter_recovery(struct ptcp_bbr *b, uint32_t cwnd);

/* A retransmission timeout (4.2.3.4): the window is saved, *cwnd = one
 * segment; the ACK that ends the recovery restores it. */
void ptcp_bbr_on_rto(struct ptcp_bbr *b, uint32_t *cwnd);

/* BBRInflight(gain) (4.2.3.2): gain * BtlBw * RTprop plus three send
 * quanta, in bytes; InitialCwnd before an RTT sample. */
uint32_t ptcp_bbr_inflight(const struct ptcp_bbr *b, unsigned gain);

#endif
