#include "bbr.h"

#include <string.h>

/* 4.2.2: pacing rates below which the send quantum is one, then two
 * segments (1.2 and 24 Mbit/s), and its bound above: 64 KB. */
#define QUANTUM_1_SEG_RATE (1200000 / 8)
#define QUANTUM_2_SEG_RATE (24000000 / 8)
#define QUANTUM_MAX (64 * 1024)
#define QUANTUM_TIME PTCP_NS_PER_MS  /* 1 ms of the pacing rate */
#define NO_RTT UINT64_MAX

/* 4.3.4.3 pacing_gain_cycle: probe with 5/4, drain with 3/4, cruise. */
static const unsigned gain_cycle[PTCP_BBR_CYCLE_LEN] = {
	PTCP_BBR_UNIT * 5 / 4, PTCP_BBR_UNIT * 3 / 4, PTCP_BBR_UNIT, PTCP_BBR_UNIT,
	PTCP_BBR_UNIT,         PTCP_BBR_UNIT,         PTCP_BBR_UNIT, PTCP_BBR_UNIT,
};

const char *ptcp_bbr_state_name(enum ptcp_bbr_state s)
{
	static const char *const names[] = {
		[PTCP_BBR_STARTUP] = "Startup",
		[PTCP_BBR_DRAIN] = "Drain",
		[PTCP_BBR_PROBE_BW] = "ProbeBW",
		[PTCP_BBR_PROBE_RTT] = "ProbeRTT",
	};
	if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[s];
}

static uint32_t sat32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static uint32_t min32(uint32_t a, uint32_t b) { return a < b ? a : b; }
static uint32_t max32(uint32_t a, uint32_t b) { return a > b ? a : b; }

/* ---- the windowed maximum -------------------------------------------------- */

uint64_t ptcp_bbr_filter_max(struct ptcp_bbr_filter *f, uint64_t win, uint64_t t, uint64_t v)
{
	uint64_t dt;

	/* A new best, or nothing in the window any more: start over. */
	if (v >= f->s[0].v || t - f->s[2].t > win) {
		f->s[0].t = f->s[1].t = f->s[2].t = t;
		f->s[0].v = f->s[1].v = f->s[2].v = v;
		return v;
	}
	if (v >= f->s[1].v) {
		f->s[1].t = f->s[2].t = t;
		f->s[1].v = f->s[2].v = v;
	} else if (v >= f->s[2].v) {
		f->s[2].t = t;
		f->s[2].v = v;
	}
	/* The best has aged out: the second and third move up (twice, when
	 * the second is as old). A best that stays put for a quarter (then
	 * half) of the window hands the later sub-windows to newer samples,
	 * so the ones behind it are never older than they need to be. */
	dt = t - f->s[0].t;
	if (dt > win) {
		f->s[0] = f->s[1];
		f->s[1] = f->s[2];
		f->s[2].t = t;
		f->s[2].v = v;
		if (t - f->s[0].t > win) {
			f->s[0] = f->s[1];
			f->s[1] = f->s[2];
		}
	} else if (f->s[1].t == f->s[0].t && dt > win / 4) {
		f->s[1].t = f->s[2].t = t;
		f->s[1].v = f->s[2].v = v;
	} else if (f->s[2].t == f->s[1].t && dt > win / 2) {
		f->s[2].t = t;
		f->s[2].v = v;
	}
	return f->s[0].v;
}

/* ---- helpers ---------------------------------------------------------------- */

static uint32_t next_random(struct ptcp_bbr *b)
{
	uint32_t x = b->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	b->rng = x;
	return x;
}

/* rate * gain (bytes per second). */
static uint64_t with_gain(uint64_t rate, unsigned gain)
{
	if (rate > UINT64_MAX / PTCP_BBR_UNIT / 4)
		return rate;
	return rate * gain / PTCP_BBR_UNIT;
}

uint32_t ptcp_bbr_inflight(const struct ptcp_bbr *b, unsigned gain)
{
	uint64_t bdp;

	if (b->rtprop == NO_RTT)
		return b->initial_cwnd;
	/* BtlBw (B/s) * RTprop (ns) / 1e9 in microseconds so that it stays
	 * in 64 bits: 2^34 B/s (137 Gbit/s) times 2^24 us (16 s). */
	bdp = b->btlbw * (b->rtprop / PTCP_NS_PER_US) / (PTCP_NS_PER_S / PTCP_NS_PER_US);
	return sat32((uint64_t)gain * bdp / PTCP_BBR_UNIT + 3 * (uint64_t)b->send_quantum);
}

/* 4.2.1 BBRSetPacingRateWithGain(): never below the initial rate until
 * Startup has filled the pipe. */
static void set_pacing_rate(struct ptcp_bbr *b, unsigned gain)
{
	uint64_t rate = with_gain(b->btlbw, gain);

	if (b->filled_pipe || rate > b->pacing_rate)
		b->pacing_rate = rate;
}

/* 4.2.1 BBRInitPacingRate(): InitialCwnd per SRTT (1 ms without one),
 * times the Startup gain. */
static void init_pacing_rate(struct ptcp_bbr *b, uint64_t srtt)
{
	uint64_t rtt = srtt ? srtt : PTCP_NS_PER_MS;

	b->pacing_rate = with_gain((uint64_t)b->initial_cwnd * PTCP_NS_PER_S / rtt, b->pacing_gain);
}

/* 4.2.2 BBRSetSendQuantum(). */
static void set_send_quantum(struct ptcp_bbr *b)
{
	if (b->pacing_rate < QUANTUM_1_SEG_RATE)
		b->send_quantum = b->smss;
	else if (b->pacing_rate < QUANTUM_2_SEG_RATE)
		b->send_quantum = 2 * b->smss;
	else
		b->send_quantum = min32(sat32(b->pacing_rate / (PTCP_NS_PER_S / QUANTUM_TIME)),
		                        QUANTUM_MAX);
}

/* 4.2.3.4 BBRSaveCwnd(): in recovery or ProbeRTT the window is already
 * cut, so the one saved before stays unless this one is larger. */
static void save_cwnd(struct ptcp_bbr *b, uint32_t cwnd)
{
	if (b->prev_recovery == PTCP_BBR_RECOV_NONE && b->state != PTCP_BBR_PROBE_RTT)
		b->prior_cwnd = cwnd;
	else
		b->prior_cwnd = max32(b->prior_cwnd, cwnd);
}

/* 4.2.3.4 BBRRestoreCwnd(). */
static void restore_cwnd(const struct ptcp_bbr *b, uint32_t *cwnd)
{
	*cwnd = max32(*cwnd, b->prior_cwnd);
}

/* ---- the state machine (4.3) -------------------------------------------------- */

static void enter_startup(struct ptcp_bbr *b)
{
	b->state = PTCP_BBR_STARTUP;
	b->pacing_gain = PTCP_BBR_HIGH_GAIN;
	b->cwnd_gain = PTCP_BBR_HIGH_GAIN;
}

static void enter_drain(struct ptcp_bbr *b)
{
	b->state = PTCP_BBR_DRAIN;
	b->pacing_gain = PTCP_BBR_DRAIN_GAIN;
	b->cwnd_gain = PTCP_BBR_HIGH_GAIN;
}

/* 4.3.4.3 BBRAdvanceCyclePhase(). */
static void advance_cycle_phase(struct ptcp_bbr *b, ptcp_ts now)
{
	b->cycle_stamp = now;
	b->cycle_index = (b->cycle_index + 1) % PTCP_BBR_CYCLE_LEN;
	b->pacing_gain = gain_cycle[b->cycle_index];
}

/* 4.3.4.2: the cycle starts at a random phase other than the 3/4 one, so
 * that flows sharing a bottleneck do not probe in step. */
static void enter_probe_bw(struct ptcp_bbr *b, ptcp_ts now)
{
	b->state = PTCP_BBR_PROBE_BW;
	b->pacing_gain = PTCP_BBR_UNIT;
	b->cwnd_gain = PTCP_BBR_CWND_GAIN;
	b->cycle_index = PTCP_BBR_CYCLE_LEN - 1 - next_random(b) % (PTCP_BBR_CYCLE_LEN - 1);
	advance_cycle_phase(b, now);
}

static void enter_probe_rtt(struct ptcp_bbr *b)
{
	b->state = PTCP_BBR_PROBE_RTT;
	b->pacing_gain = PTCP_BBR_UNIT;
	b->cwnd_gain = PTCP_BBR_UNIT;
	b->probe_rtts++;
}

static void exit_probe_rtt(struct ptcp_bbr *b, ptcp_ts now)
{
	if (b->filled_pipe)
		enter_probe_bw(b, now);
	else
		enter_startup(b);
}

void ptcp_bbr_init(struct ptcp_bbr *b, uint32_t smss, uint32_t initial_cwnd, uint32_t seed)
{
	memset(b, 0, sizeof(*b));
	b->smss = smss;
	b->initial_cwnd = initial_cwnd;
	b->rtprop = NO_RTT;
	b->probe_rtt_done_stamp = PTCP_TS_NEVER;
	b->rng = seed ? seed : 0x9e3779b9u;
	enter_startup(b);
	init_pacing_rate(b, 0);
	set_send_quantum(b);
	b->target_cwnd = initial_cwnd;
}

/* 4.1.1.3 BBRUpdateRound(): a round ends when a segment sent after the
 * last round's end is delivered. */
static void update_round(struct ptcp_bbr *b, const struct ptcp_bbr_ack *a)
{
	b->round_start = false;
	if (!a->rs->has_data || a->rs->prior_delivered < b->next_round_delivered)
		return;
	b->next_round_delivered = a->rate->delivered;
	b->round_count++;
	b->round_start = true;
	/* 4.2.3.4: packet conservation lasts one round of fast recovery. */
	b->packet_conservation = false;
}

/* 4.1.1.5 BBRUpdateBtlBw(): application-limited samples count only when
 * they show more than the filter holds. */
static void update_btlbw(struct ptcp_bbr *b, const struct ptcp_bbr_ack *a)
{
	const struct ptcp_rate_sample *rs = a->rs;

	update_round(b, a);
	if (rs->delivery_rate && (rs->delivery_rate >= b->btlbw || !rs->is_app_limited))
		b->btlbw = ptcp_bbr_filter_max(&b->bw_filter, PTCP_BBR_BTLBW_ROUNDS, b->round_count,
		                               rs->delivery_rate);
}

/* 4.3.4.3 BBRIsNextCyclePhase(): each phase lasts at least RTprop; the
 * probe goes on until it put its extra in flight (or saw a loss), the
 * drain ends early once the extra is out. */
static bool is_next_cycle_phase(const struct ptcp_bbr *b, const struct ptcp_bbr_ack *a)
{
	bool full_length = b->rtprop != NO_RTT && ptcp_ts_elapsed(a->now, b->cycle_stamp) > b->rtprop;

	if (b->pacing_gain == PTCP_BBR_UNIT)
		return full_length;
	if (b->pacing_gain > PTCP_BBR_UNIT)
		return full_length && (a->lost > 0 || a->prior_inflight >= ptcp_bbr_inflight(b, b->pacing_gain));
	return full_length || a->prior_inflight <= ptcp_bbr_inflight(b, PTCP_BBR_UNIT);
}

/* 4.3.2.2 BBRCheckFullPipe(): three rounds in a row without 25% more
 * bandwidth (not limited by the application) fill the pipe. */
static void check_full_pipe(struct ptcp_bbr *b, const struct ptcp_rate_sample *rs)
{
	if (b->filled_pipe || !b->round_start || rs->is_app_limited)
		return;
	if (b->btlbw >= b->full_bw + b->full_bw / 4) {
		b->full_bw = b->btlbw;
		b->full_bw_count = 0;
		return;
	}
	if (++b->full_bw_count >= PTCP_BBR_FULL_BW_ROUNDS)
		b->filled_pipe = true;
}

/* 4.3.3 BBRCheckDrain(). */
static void check_drain(struct ptcp_bbr *b, const struct ptcp_bbr_ack *a)
{
	if (b->state == PTCP_BBR_STARTUP && b->filled_pipe)
		enter_drain(b);
	if (b->state == PTCP_BBR_DRAIN && a->inflight <= ptcp_bbr_inflight(b, PTCP_BBR_UNIT))
		enter_probe_bw(b, a->now);
}

/* 4.1.2.3 BBRUpdateRTprop(). The first sample starts the filter (the
 * draft stamps the connection's start; the engine is not told when
 * that is). */
static void update_rtprop(struct ptcp_bbr *b, const struct ptcp_bbr_ack *a)
{
	const struct ptcp_rate_sample *rs = a->rs;

	b->rtprop_expired = b->rtprop != NO_RTT &&
	                    ptcp_ts_elapsed(a->now, b->rtprop_stamp) > PTCP_BBR_RTPROP_LEN;
	if (rs->has_rtt && (rs->rtt <= b->rtprop || b->rtprop_expired)) {
		b->rtprop = rs->rtt ? rs->rtt : 1;
		b->rtprop_stamp = a->now;
	}
}

/* 4.3.5 BBRHandleProbeRTT(): at most four segments in flight for 200 ms
 * and a round trip, then back to where it was. Its low delivery rates
 * are marked application-limited so they do not drag BtlBw down. */
static void handle_probe_rtt(struct ptcp_bbr *b, uint32_t *cwnd, const struct ptcp_bbr_ack *a)
{
	uint64_t mark = a->rate->delivered + a->inflight;

	a->rate->app_limited = mark ? mark : 1;
	if (b->probe_rtt_done_stamp == PTCP_TS_NEVER &&
	    a->inflight <= PTCP_BBR_MIN_PIPE_SEGS * b->smss) {
		b->probe_rtt_done_stamp = ptcp_ts_add(a->now, PTCP_BBR_PROBE_RTT_TIME);
		b->probe_rtt_round_done = false;
		b->next_round_delivered = a->rate->delivered;
	} else if (b->probe_rtt_done_stamp != PTCP_TS_NEVER) {
		if (b->round_start)
			b->probe_rtt_round_done = true;
		if (b->probe_rtt_round_done && a->now > b->probe_rtt_done_stamp) {
			b->rtprop_stamp = a->now;
			restore_cwnd(b, cwnd);
			exit_probe_rtt(b, a->now);
		}
	}
}

/* 4.3.5 BBRCheckProbeRTT(). */
static void check_probe_rtt(struct ptcp_bbr *b, uint32_t *cwnd, const struct ptcp_bbr_ack *a)
{
	if (b->state != PTCP_BBR_PROBE_RTT && b->rtprop_expired && !b->idle_restart) {
		save_cwnd(b, *cwnd);
		enter_probe_rtt(b);
		b->probe_rtt_done_stamp = PTCP_TS_NEVER;
	}
	if (b->state == PTCP_BBR_PROBE_RTT)
		handle_probe_rtt(b, cwnd, a);
	b->idle_restart = false;
}

/* 4.2.3.4 to 4.2.3.6 BBRSetCwnd(): losses come off cwnd; the first round
 * of a fast recovery conserves packets (one out per one delivered); out
 * of recovery the window saved before it comes back; otherwise cwnd grows
 * by what was delivered towards the target, and in Startup without bound
 * while below it. ProbeRTT caps it. */
static void set_cwnd(struct ptcp_bbr *b, uint32_t *cwnd, const struct ptcp_bbr_ack *a)
{
	uint32_t cw = *cwnd, acked = a->rs->acked_sacked, floor = PTCP_BBR_MIN_PIPE_SEGS * b->smss;

	b->target_cwnd = ptcp_bbr_inflight(b, b->cwnd_gain);
	if (a->lost)
		cw = cw > a->lost + b->smss ? cw - a->lost : b->smss;
	if (a->recovery == PTCP_BBR_RECOV_FAST && b->prev_recovery != PTCP_BBR_RECOV_FAST) {
		/* The first round starts now; what was in flight stays. */
		b->packet_conservation = true;
		b->next_round_delivered = a->rate->delivered;
		cw = sat32((uint64_t)a->inflight + max32(acked, b->smss));
	} else if (a->recovery == PTCP_BBR_RECOV_NONE && b->prev_recovery != PTCP_BBR_RECOV_NONE) {
		cw = max32(cw, b->prior_cwnd);
		b->packet_conservation = false;
	}
	b->prev_recovery = a->recovery;
	if (b->packet_conservation) {
		cw = max32(cw, sat32((uint64_t)a->inflight + acked));
	} else {
		if (b->filled_pipe)
			cw = min32(sat32((uint64_t)cw + acked), b->target_cwnd);
		else if (cw < b->target_cwnd || a->rate->delivered < b->initial_cwnd)
			cw = sat32((uint64_t)cw + acked);
		cw = max32(cw, floor);
	}
	if (b->state == PTCP_BBR_PROBE_RTT)
		cw = min32(cw, floor);
	*cwnd = cw;
}

void ptcp_bbr_on_ack(struct ptcp_bbr *b, uint32_t *cwnd, const struct ptcp_bbr_ack *a)
{
	/* 3.6.2 BBRUpdateModelAndState(). */
	update_btlbw(b, a);
	if (b->state == PTCP_BBR_PROBE_BW && is_next_cycle_phase(b, a))
		advance_cycle_phase(b, a->now);
	check_full_pipe(b, a->rs);
	check_drain(b, a);
	update_rtprop(b, a);
	check_probe_rtt(b, cwnd, a);
	/* BBRUpdateControlParameters(). */
	set_pacing_rate(b, b->pacing_gain);
	set_send_quantum(b);
	set_cwnd(b, cwnd, a);
}

void ptcp_bbr_note_srtt(struct ptcp_bbr *b, uint64_t srtt)
{
	if (b->pacing_from_srtt || !srtt || b->btlbw)
		return;
	b->pacing_from_srtt = true;
	init_pacing_rate(b, srtt);
	set_send_quantum(b);
}

void ptcp_bbr_on_transmit(struct ptcp_bbr *b, bool nothing_in_flight, bool app_limited)
{
	/* 4.3.4.4 BBRHandleRestartFromIdle(): resume at the estimated rate,
	 * not a probing or draining one. */
	if (nothing_in_flight && app_limited) {
		b->idle_restart = true;
		if (b->state == PTCP_BBR_PROBE_BW)
			set_pacing_rate(b, PTCP_BBR_UNIT);
	}
}

void ptcp_bbr_enter_recovery(struct ptcp_bbr *b, uint32_t cwnd)
{
	save_cwnd(b, cwnd);
}

void ptcp_bbr_on_rto(struct ptcp_bbr *b, uint32_t *cwnd)
{
	save_cwnd(b, *cwnd);
	*cwnd = b->smss;
	b->packet_conservation = false;
	b->prev_recovery = PTCP_BBR_RECOV_RTO;
}
