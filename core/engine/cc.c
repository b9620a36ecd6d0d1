#include "cc.h"

#include <string.h>

/* Used when the caller passes an SMSS of 0: the default send MSS of RFC 9293
 * section 3.7.1 (IPv4), so the window never collapses to zero bytes. */
#define CC_DEFAULT_SMSS 536

/* RFC 9438: C = 0.4 segments per second cubed, beta_cubic = 0.7,
 * alpha_cubic = 3 (1 - beta) / (1 + beta) = 9 / 17. */
#define CUBIC_C_NUM 2
#define CUBIC_C_DEN 5
#define CUBIC_BETA_NUM 7
#define CUBIC_BETA_DEN 10
#define CUBIC_ALPHA_NUM 9
#define CUBIC_ALPHA_DEN 17
/* Time in W(t) is counted in 1/1024 s so the cube stays in 64 bits. */
#define CUBIC_UNITS 1024
#define CUBIC_T_MAX (1u << 18) /* 256 s: far past any useful W(t) */

/* RFC 9406 section 4.3. */
#define HS_L 8                   /* slow start limit, SMSS per ACK (not paced) */
#define HS_MIN_RTT_THRESH (4 * PTCP_NS_PER_MS)
#define HS_MAX_RTT_THRESH (16 * PTCP_NS_PER_MS)
#define HS_MIN_RTT_DIVISOR 8
#define HS_N_RTT_SAMPLE 8
#define HS_CSS_GROWTH_DIVISOR 4
#define HS_CSS_ROUNDS 5

#define RENO_L 2                 /* RFC 3465 byte counting limit, SMSS per ACK */

static uint32_t sat32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* cwnd arithmetic saturates: with window scaling a window may approach
 * 2^30 and a long-lived flow without losses must not wrap to a tiny cwnd. */
static uint32_t sat_add(uint32_t a, uint64_t b)
{
	return sat32((uint64_t)a + b);
}

/* RFC 5681 section 3.1, equation (1), for the loss-based algorithms; for
 * BBR, RFC 6928's min(10*SMSS, max(2*SMSS, 14600)), the initial window of
 * the Linux kernel (all its algorithms) that BBR is measured against. A
 * pacing sender spreads it over the first round trip (BBR 4.2.1) instead
 * of bursting it, and on a 20 ms path it saves Startup almost two of the
 * dozen or so rounds it takes to fill the pipe. */
static uint32_t initial_window(enum ptcp_cc_algo algo, uint32_t smss)
{
	if (algo == PTCP_CC_BBR) {
		uint64_t iw = 2 * (uint64_t)smss > 14600 ? 2 * (uint64_t)smss : 14600;

		return sat32(10 * (uint64_t)smss < iw ? 10 * (uint64_t)smss : iw);
	}
	if (smss > 2190)
		return sat32(2 * (uint64_t)smss);
	if (smss > 1095)
		return 3 * smss;
	return 4 * smss;
}

uint32_t ptcp_cc_cbrt(uint64_t x)
{
	uint32_t lo = 0, hi = 2642246; /* cbrt(2^64) < 2642246 */

	while (lo + 1 < hi) {
		uint64_t mid = (lo + hi) / 2;

		if (mid * mid * mid <= x)
			lo = (uint32_t)mid;
		else
			hi = (uint32_t)mid;
	}
	return lo;
}

void ptcp_cc_init(struct ptcp_cc *cc, enum ptcp_cc_algo algo, uint32_t smss)
{
	memset(cc, 0, sizeof(*cc));
	cc->algo = algo;
	cc->smss = smss ? smss : CC_DEFAULT_SMSS;
	cc->cwnd = initial_window(cc->algo, cc->smss);
	/* RFC 5681 section 3.1: the initial ssthresh "SHOULD be set
	 * arbitrarily high". */
	cc->ssthresh = UINT32_MAX;
	if (algo == PTCP_CC_BBR)
		ptcp_bbr_init(&cc->bbr, cc->smss, cc->cwnd, 0);
}

void ptcp_cc_set_smss(struct ptcp_cc *cc, uint32_t smss, uint32_t seed)
{
	cc->smss = smss ? smss : CC_DEFAULT_SMSS;
	cc->cwnd = initial_window(cc->algo, cc->smss);
	cc->ca_acked = 0;
	if (cc->algo == PTCP_CC_BBR)
		ptcp_bbr_init(&cc->bbr, cc->smss, cc->cwnd, seed);
}

/* ---- slow start ------------------------------------------------------------ */

/* RFC 9406 section 4.2, for each ACK of the initial slow start: rounds of
 * one window, the minimum RTT of each, and the switch to conservative slow
 * start (CSS) when it grows, back when it shrinks, and to congestion
 * avoidance after CSS_ROUNDS rounds of CSS. Returns the growth divisor. */
static unsigned hystart(struct ptcp_cc *cc, const struct ptcp_cc_ack *a)
{
	if (!cc->hs_round || ptcp_seq_ge(a->ack, cc->hs_window_end)) {
		/* A new round: the window sent since the last one began. */
		if (cc->hs_round) {
			cc->hs_last_min = cc->hs_cur_min;
			if (cc->hs_css && ++cc->hs_css_rounds >= HS_CSS_ROUNDS) {
				cc->ssthresh = cc->cwnd;
				cc->hs_done = true;
				cc->hs_css = false;
				cc->hs_exits++;
				return 1;
			}
		}
		cc->hs_round = true;
		cc->hs_window_end = a->snd_nxt;
		cc->hs_cur_min = 0;
		cc->hs_samples = 0;
	}
	if (a->rtt) {
		if (!cc->hs_cur_min || a->rtt < cc->hs_cur_min)
			cc->hs_cur_min = a->rtt;
		cc->hs_samples++;
	}
	if (cc->hs_samples >= HS_N_RTT_SAMPLE && cc->hs_cur_min) {
		if (!cc->hs_css && cc->hs_last_min) {
			uint64_t thresh = cc->hs_last_min / HS_MIN_RTT_DIVISOR;

			if (thresh < HS_MIN_RTT_THRESH)
				thresh = HS_MIN_RTT_THRESH;
			if (thresh > HS_MAX_RTT_THRESH)
				thresh = HS_MAX_RTT_THRESH;
			if (cc->hs_cur_min >= cc->hs_last_min + thresh) {
				cc->hs_css = true;
				cc->hs_css_base = cc->hs_cur_min;
				cc->hs_css_rounds = 0;
			}
		} else if (cc->hs_css && cc->hs_cur_min < cc->hs_css_base) {
			/* The RTT increase was spurious: back to slow start. */
			cc->hs_css = false;
		}
	}
	return cc->hs_css ? HS_CSS_GROWTH_DIVISOR : 1;
}

/* RFC 5681 (2) with byte counting (RFC 3465; HyStart++'s L for CUBIC):
 * cwnd += min(acked, L * SMSS), not beyond ssthresh. */
static void slow_start(struct ptcp_cc *cc, const struct ptcp_cc_ack *a)
{
	unsigned l = RENO_L, div = 1;
	uint64_t inc;

	if (cc->algo == PTCP_CC_CUBIC) {
		l = HS_L;
		if (!cc->hs_done)
			div = hystart(cc, a);
		if (cc->cwnd >= cc->ssthresh)
			return; /* HyStart++ just ended slow start */
	}
	inc = a->acked < (uint64_t)l * cc->smss ? a->acked : (uint64_t)l * cc->smss;
	cc->cwnd = sat_add(cc->cwnd, inc / div);
	if (cc->cwnd > cc->ssthresh)
		cc->cwnd = cc->ssthresh;
}

/* ---- congestion avoidance -------------------------------------------------------- */

/* NewReno, RFC 5681 section 3.1: count the bytes acked and add SMSS each
 * time they reach cwnd, i.e. once per window of data. At most one increase
 * per ACK, since cwnd "MUST NOT be increased by more than SMSS bytes per
 * RTT" and a single (stretch) ACK spans at most one RTT. */
static void reno_ca(struct ptcp_cc *cc, uint32_t acked)
{
	cc->ca_acked = sat_add(cc->ca_acked, acked);
	if (cc->ca_acked < cc->cwnd)
		return;
	cc->ca_acked -= cc->cwnd;
	cc->cwnd = sat_add(cc->cwnd, cc->smss);
	/* Only a stretch ACK covering more than a window gets here; the
	 * surplus must not buy a second increase in the same RTT. */
	if (cc->ca_acked >= cc->cwnd)
		cc->ca_acked = 0;
}

/* RFC 9438 (1): W_cubic(t) = C * (t - K)^3 + W_max, in bytes, t in ns
 * since the epoch began. */
static uint64_t w_cubic(const struct ptcp_cc *cc, uint64_t t)
{
	uint64_t d, delta;
	bool before = t < cc->k;

	d = (before ? cc->k - t : t - cc->k) / (PTCP_NS_PER_S / CUBIC_UNITS);
	if (d > CUBIC_T_MAX)
		d = CUBIC_T_MAX;
	/* C * SMSS * (d / 1024)^3 without overflow: d^3 < 2^54. */
	delta = (((d * d * d) >> 10) * cc->smss * CUBIC_C_NUM) / ((uint64_t)CUBIC_C_DEN << 20);
	if (before)
		return delta < cc->w_max ? cc->w_max - delta : 0;
	return cc->w_max + delta;
}

/* RFC 9438 sections 4.2 to 4.5, for each ACK in congestion avoidance. */
static void cubic_ca(struct ptcp_cc *cc, const struct ptcp_cc_ack *a)
{
	uint64_t rtt = a->srtt ? a->srtt : a->rtt, t, target, w_t, num, den;

	if (!cc->epoch) {
		/* 4.2: a new epoch; K from how far below W_max it starts. */
		cc->epoch = true;
		cc->epoch_start = a->now;
		cc->cwnd_epoch = cc->cwnd;
		cc->w_est = cc->cwnd;
		cc->w_est_frac = cc->ca_frac = 0;
		if (cc->cwnd < cc->w_max) {
			/* K^3 = (W_max - cwnd) / C in segments and seconds; in
			 * 1/1024 s, K^3 * 2^30. */
			uint64_t segs = ((uint64_t)(cc->w_max - cc->cwnd) << 10) / cc->smss;
			uint64_t x = (segs * CUBIC_C_DEN / CUBIC_C_NUM) << 20;

			cc->k = ptcp_cc_cbrt(x) * (PTCP_NS_PER_S / CUBIC_UNITS);
		} else {
			cc->w_max = cc->cwnd;
			cc->k = 0;
		}
	}
	t = ptcp_ts_elapsed(a->now, cc->epoch_start);
	/* The target one RTT ahead, between cwnd and 1.5 cwnd. */
	target = w_cubic(cc, t + rtt);
	if (target < cc->cwnd)
		target = cc->cwnd;
	if (target > cc->cwnd + (uint64_t)cc->cwnd / 2)
		target = cc->cwnd + (uint64_t)cc->cwnd / 2;
	/* 4.3: the Reno-friendly estimate grows alpha SMSS per window,
	 * alpha = 9/17 until it passes W_max, 1 after. */
	num = cc->w_est >= cc->w_max ? 1 : CUBIC_ALPHA_NUM;
	den = cc->w_est >= cc->w_max ? 1 : CUBIC_ALPHA_DEN;
	cc->w_est_frac += (uint64_t)a->acked * cc->smss * num;
	cc->w_est += cc->w_est_frac / ((uint64_t)cc->cwnd * den);
	cc->w_est_frac %= (uint64_t)cc->cwnd * den;
	w_t = w_cubic(cc, t);
	if (w_t < cc->w_est) {
		/* The Reno-friendly region: no slower than Reno. */
		if (cc->w_est > cc->cwnd)
			cc->cwnd = sat32(cc->w_est);
		return;
	}
	/* 4.4, 4.5: concave and convex regions, (target - cwnd) / cwnd per
	 * SMSS acked. */
	cc->ca_frac += (target - cc->cwnd) * a->acked;
	{
		uint64_t inc = cc->ca_frac / cc->cwnd;

		cc->ca_frac %= cc->cwnd;
		if (inc > target - cc->cwnd)
			inc = target - cc->cwnd;
		cc->cwnd = sat_add(cc->cwnd, inc);
	}
}

/* BBR sees every ACK with its rate sample. */
static void bbr_ack(struct ptcp_cc *cc, const struct ptcp_cc_ack *a)
{
	struct ptcp_bbr_ack b = {
		.now = a->now, .rate = a->rate, .rs = a->rs, .prior_inflight = a->prior_inflight,
		.inflight = a->inflight, .lost = a->lost, .recovery = a->recovery,
	};

	ptcp_bbr_on_ack(&cc->bbr, &cc->cwnd, &b);
}

void ptcp_cc_on_ack(struct ptcp_cc *cc, const struct ptcp_cc_ack *a)
{
	if (cc->algo == PTCP_CC_BBR) {
		if (a->rate && a->rs)
			bbr_ack(cc, a);
		return;
	}
	if (a->acked == 0 || !a->cwnd_limited)
		return;
	if (cc->cwnd < cc->ssthresh) {
		slow_start(cc, a);
		return;
	}
	if (cc->algo == PTCP_CC_CUBIC)
		cubic_ca(cc, a);
	else
		reno_ca(cc, a->acked);
}

/* ---- reductions -------------------------------------------------------------------- */

void ptcp_cc_on_congestion(struct ptcp_cc *cc, uint32_t flight, ptcp_ts now)
{
	uint32_t floor = sat32(2 * (uint64_t)cc->smss);

	(void)now;
	cc->prior_cwnd = cc->cwnd;
	cc->prior_ssthresh = cc->ssthresh;
	cc->prior_w_max = cc->w_max;
	cc->reductions++;
	if (cc->algo == PTCP_CC_BBR) {
		/* 4.2.3.4: no reduction; the window waits for the recovery's
		 * end, and packet conservation starts with the next ACK. */
		ptcp_bbr_enter_recovery(&cc->bbr, cc->cwnd);
		return;
	}
	cc->ca_acked = 0;
	/* A loss ends the initial slow start, HyStart++ or not. */
	cc->hs_done = true;
	cc->hs_css = false;
	if (cc->algo == PTCP_CC_CUBIC) {
		/* RFC 9438 4.7 fast convergence: a W_max lower than the last
		 * means other flows came; give them room. 4.6: beta. */
		if (cc->cwnd < cc->w_max)
			cc->w_max = (uint32_t)((uint64_t)cc->cwnd * (CUBIC_BETA_DEN + CUBIC_BETA_NUM) /
			                       (2 * CUBIC_BETA_DEN));
		else
			cc->w_max = cc->cwnd;
		cc->ssthresh = (uint32_t)((uint64_t)cc->cwnd * CUBIC_BETA_NUM / CUBIC_BETA_DEN);
		cc->epoch = false;
	} else {
		/* RFC 5681 (4): FlightSize, not cwnd. */
		cc->ssthresh = flight / 2;
	}
	if (cc->ssthresh < floor)
		cc->ssthresh = floor;
}

void ptcp_cc_end_recovery(struct ptcp_cc *cc)
{
	if (cc->algo == PTCP_CC_BBR)
		return;
	cc->cwnd = cc->ssthresh;
	cc->ca_acked = 0;
	cc->epoch = false;
}

void ptcp_cc_on_rto(struct ptcp_cc *cc, uint32_t flight, bool first, ptcp_ts now)
{
	/* RFC 5681 section 3.1: ssthresh per (4) on the first timeout only;
	 * "the value of ssthresh is held constant" when the segment was
	 * already retransmitted by the timer. cwnd = LW = 1 SMSS. */
	if (cc->algo == PTCP_CC_BBR) {
		if (first) {
			cc->prior_cwnd = cc->cwnd;
			cc->reductions++;
		}
		ptcp_bbr_on_rto(&cc->bbr, &cc->cwnd);
		return;
	}
	if (first)
		ptcp_cc_on_congestion(cc, flight, now);
	cc->cwnd = cc->smss;
	cc->ca_acked = 0;
	cc->epoch = false;
}

void ptcp_cc_undo(struct ptcp_cc *cc)
{
	if (!cc->prior_cwnd)
		return;
	if (cc->algo == PTCP_CC_BBR) {
		/* The recovery is over as far as the window goes: the ACK
		 * that ends it brings back the one saved before. */
		cc->prior_cwnd = cc->prior_ssthresh = cc->prior_w_max = 0;
		cc->undos++;
		return;
	}
	if (cc->cwnd < cc->prior_cwnd)
		cc->cwnd = cc->prior_cwnd;
	if (cc->ssthresh < cc->prior_ssthresh)
		cc->ssthresh = cc->prior_ssthresh;
	if (cc->w_max < cc->prior_w_max)
		cc->w_max = cc->prior_w_max;
	cc->prior_cwnd = cc->prior_ssthresh = cc->prior_w_max = 0;
	cc->ca_acked = 0;
	cc->epoch = false;
	if (cc->ssthresh == UINT32_MAX)
		cc->hs_done = false; /* still the initial slow start */
	cc->undos++;
}
