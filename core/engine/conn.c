/* One TCP connection: the RFC 9293 state machine, sans-IO.
 *
 * Layout of this file, one concern per function:
 *   - lifecycle and opens (ptcp_conn_new, open_active, open_passive)
 *   - input: per-state entry points following RFC 9293 section 3.10.7
 *     (closed, listen, syn_sent, then the "otherwise" path for every other
 *     state split into its numbered checks: sequence, RST, SYN, ACK, text,
 *     FIN), with RFC 5961 mitigations woven in where it says
 *   - output: control replies, SYN/SYN-ACK, data and FIN, pure ACKs
 *   - timers: retransmission (RFC 6298), persist, delayed ACK, keepalive,
 *     TIME-WAIT
 *
 * Sequence variables follow RFC 9293 section 3.3.1. One addition: snd_max
 * is the highest sequence number sent plus one. After a retransmission
 * timeout snd_nxt goes back to snd_una (go-back-N) while snd_max remembers
 * how far we had gone, so ACK acceptability is judged against snd_max. */
#include "conn.h"

#include <string.h>

#include "error.h"
#include "loss.h"
#include "pacer.h"
#include "rcvbuf.h"
#include "rtt.h"
#include "sendbuf.h"

#define CTL_QUEUE 4              /* pending control replies (RST, challenge ACK) */
#define DEFAULT_MSS_NO_OPTION 536 /* RFC 9293 3.7.1, MUST-15: no MSS option */
#define MAX_WSCALE 14            /* RFC 7323 section 2.3 */
#define RTO_AFTER_SYN_TIMEOUT (3 * PTCP_NS_PER_S) /* RFC 6298 (5.7) */
#define MAX_BUF (1u << 30)
#define TXQ_MAX 65536            /* segment records at most */
#define BUF_INITIAL (128 * 1024) /* bytes: where the buffers start (auto-tuning) */
#define TS_OPT_LEN 12            /* NOP NOP kind len TSval TSecr (RFC 7323 App. A) */
#define TS_TICK PTCP_NS_PER_MS   /* RFC 7323 5.4: between 1 ms and 1 s per tick */
/* RFC 7323 5.5: TS.Recent is invalid after 24 days without an update. */
#define PAWS_IDLE_MAX (24ULL * 24 * 3600 * PTCP_NS_PER_S)
/* The congestion control of ptcp_config_default(): BBR, which random loss
 * does not slow down and which is as fast as CUBIC without loss (see
 * docs/engine.md, "Loss recovery: measured"). A build may choose another
 * (-DPTCP_CC_DEFAULT=PTCP_CC_CUBIC) to compare them. */
#ifndef PTCP_CC_DEFAULT
#define PTCP_CC_DEFAULT PTCP_CC_BBR
#endif

/* A control segment queued for output: RSTs and (challenge) ACKs whose
 * sequence numbers are fixed when they are decided, not when sent. */
struct ctl {
	uint8_t flags;
	ptcp_seq seq;
	ptcp_seq ack;
	bool addressed;            /* for to, not for the remote endpoint */
	struct ptcp_endpoint to;   /* the sender of the segment it answers */
};

struct ptcp_conn {
	struct ptcp_config cfg;
	struct ptcp_endpoint local;
	struct ptcp_endpoint remote;
	enum ptcp_state state;
	int error;                 /* 0 or enum ptcp_error: why it ended */
	struct ptcp_open open;
	bool passive;              /* reached SYN-RECEIVED from LISTEN */
	bool remote_bound_by_syn;  /* remote was unspecified and a SYN set it */

	/* Send sequence space (RFC 9293 3.3.1). */
	ptcp_seq iss;
	ptcp_seq snd_una;
	ptcp_seq snd_nxt;
	ptcp_seq snd_max;          /* highest sequence number sent + 1 */
	ptcp_seq snd_wl1;
	ptcp_seq snd_wl2;
	uint32_t snd_wnd;          /* bytes, already scaled */
	uint32_t max_snd_wnd;      /* largest window the peer offered, bytes */
	ptcp_seq sb_seq;           /* sequence number of the send buffer's first byte */
	uint16_t snd_mss;          /* largest payload plus options we send,
	                              bytes (the peer's MSS, RFC 9293 3.7.1) */
	uint16_t rcv_mss;          /* largest payload received so far, bytes:
	                              what a "full-sized" segment is (RFC 5681 4.2) */
	uint8_t snd_wscale;        /* shift applied to the peer's window */
	uint8_t rcv_wscale;        /* shift the peer applies to ours */
	bool wscale_ok;            /* both SYNs carried window scale */
	bool sack_ok;              /* both sides allow SACK blocks */
	bool ts_ok;                /* both SYNs carried timestamps (Snd.TS.OK) */
	ptcp_ts ts_epoch;          /* our timestamp clock reads ts_offset here */
	uint32_t ts_offset;        /* TSval at ts_epoch (the ISS: a per-connection
	                              start, so TSvals leak no host uptime) */
	uint32_t ts_recent;        /* TS.Recent (RFC 7323 4.3): TSval to echo */
	ptcp_ts ts_recent_at;      /* when TS.Recent was last set */
	ptcp_seq last_ack_sent;    /* Last.ACK.sent: ACK field we sent last */

	/* Receive sequence space. */
	ptcp_seq irs;
	ptcp_seq rcv_nxt;
	ptcp_seq rcv_adv;          /* right edge of the window last advertised */
	bool rfin_pending;         /* a FIN arrived beyond a hole */
	ptcp_seq rfin_seq;         /* ... and occupies this sequence number */
	bool rfin;                 /* the peer's FIN is in sequence (rcv_nxt counts it) */
	bool dsack_due;            /* report [dsack_left, dsack_right) once, in
	                              the first SACK block (RFC 2883 D-SACK) */
	ptcp_seq dsack_left, dsack_right;
	bool tx_no_csum;           /* this output call's caller fills in the
	                              checksum (PTCP_TXCAP_CSUM) */

	/* Our FIN. */
	bool fin_queued;           /* shutdown() was called */
	ptcp_seq fin_seq;          /* sequence number our FIN occupies */

	struct ptcp_sendbuf sb;
	struct ptcp_rcvbuf rb;

	/* Output wishes. */
	bool syn_due;              /* (re)send SYN or SYN-ACK */
	bool probe_due;            /* the persist timer fired: probe or fill */
	bool probing;              /* a zero-window probe byte is out: SND.MAX
	                              is one past SND.NXT, and that byte is not
	                              in flight (RFC 9293 3.8.6.1: probes are
	                              not data the window took) */
	bool keepalive_due;        /* send a keepalive probe */
	bool ack_now;              /* send an ACK at the next output */
	bool ack_flush;            /* ... and before the caller feeds more
	                              segments: ptcp_conn_ack_due() */
	unsigned unacked_segs;     /* full segments received since our last ACK */
	struct ctl ctl[CTL_QUEUE];
	unsigned n_ctl;
	struct ptcp_endpoint reply_dst; /* what ptcp_txinfo.dst points to */
	unsigned syn_sent_count;   /* SYNs (or SYN-ACKs) sent */

	/* Timers: one deadline each, PTCP_TS_NEVER when off. */
	ptcp_ts pace_at;           /* paced data waits for this (output held it) */
	ptcp_ts rtx_at;
	ptcp_ts persist_at;
	ptcp_ts delack_at;
	ptcp_ts keepalive_at;
	ptcp_ts timewait_at;
	unsigned rto_count;        /* consecutive timeouts without progress */
	ptcp_ts unacked_since;     /* since when data in flight has waited for
	                              an ACK that moves SND.UNA (user timeout);
	                              PTCP_TS_NEVER with nothing in flight */
	unsigned persist_backoff;
	unsigned persist_unanswered; /* persist expiries since the last ACK */
	unsigned keepalive_probes; /* unanswered keepalive probes */
	bool syn_timed_out;        /* for RFC 6298 (5.7) */
	bool rst_seen_punching;
	bool syn_early;            /* rtx_at is a SYN brought forward by a RST
	                              while punching (no backoff, not counted) */
	unsigned syn_rst_count;    /* RST-clocked SYNs sent */
	uint64_t syn_gap;          /* ns: the SYN interval now (syn_interval,
	                              doubled per timeout up to syn_interval_max) */
	ptcp_ts syn_last_at;       /* when the last SYN (or SYN-ACK) went out */
	bool isn_mismatch_seen;

	/* RTT of the SYN (data segments carry their own send times). */
	bool rtt_timing;
	ptcp_seq rtt_seq;          /* timing ends when this is acknowledged */
	ptcp_ts rtt_start;

	struct ptcp_rtt rtt;
	struct ptcp_loss loss;     /* segments in flight, loss recovery, cwnd */
	struct ptcp_pacer pacer;   /* when the next data segment may leave */

	/* Buffer auto-tuning: both rings start at BUF_INITIAL (or the
	 * configured size if smaller) and grow, through the allocator, up to
	 * cfg.sndbuf and cfg.rcvbuf. */
	uint32_t rcv_space;        /* bytes the application read since rcv_space_at */
	ptcp_ts rcv_space_at;      /* start of the current measurement */
	uint32_t rcv_space_last;   /* bytes it read in the measurement before */
	uint64_t rcv_rtt;          /* ns: the receiver's RTT (from TSecr), 0 = none */

	ptcp_ts chack_window;      /* start of the current 1 s challenge ACK window */
	unsigned chack_count;
	ptcp_ts invalid_ack_at;    /* when the last ACK answering a discarded
	                              segment was decided (cfg.invalid_ack_interval),
	                              PTCP_TS_NEVER before the first */

	struct ptcp_stats st;
};

/* ------------------------------------------------------------------ names */

const char *ptcp_state_name(enum ptcp_state s)
{
	static const char *const names[] = {
		[PTCP_CLOSED] = "CLOSED",
		[PTCP_LISTEN] = "LISTEN",
		[PTCP_SYN_SENT] = "SYN-SENT",
		[PTCP_SYN_RECEIVED] = "SYN-RECEIVED",
		[PTCP_ESTABLISHED] = "ESTABLISHED",
		[PTCP_FIN_WAIT_1] = "FIN-WAIT-1",
		[PTCP_FIN_WAIT_2] = "FIN-WAIT-2",
		[PTCP_CLOSE_WAIT] = "CLOSE-WAIT",
		[PTCP_CLOSING] = "CLOSING",
		[PTCP_LAST_ACK] = "LAST-ACK",
		[PTCP_TIME_WAIT] = "TIME-WAIT",
	};
	if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[s];
}

const char *ptcp_drop_name(enum ptcp_drop d)
{
	static const char *const names[] = {
		[PTCP_DROP_MALFORMED] = "malformed",
		[PTCP_DROP_CHECKSUM] = "bad-checksum",
		[PTCP_DROP_PORTS] = "wrong-ports",
		[PTCP_DROP_STATE] = "not-in-this-state",
		[PTCP_DROP_BAD_FLAGS] = "bad-flags",
		[PTCP_DROP_BAD_ACK] = "unacceptable-ack",
		[PTCP_DROP_OUT_OF_WINDOW] = "out-of-window",
		[PTCP_DROP_RST_INVALID] = "rst-out-of-window",
		[PTCP_DROP_RST_CHALLENGED] = "rst-challenged",
		[PTCP_DROP_SYN_CHALLENGED] = "syn-challenged",
		[PTCP_DROP_RST_TIME_WAIT] = "rst-in-time-wait",
		[PTCP_DROP_ISN_MISMATCH] = "isn-mismatch",
		[PTCP_DROP_RST_PUNCHING] = "rst-while-punching",
		[PTCP_DROP_OLD_ACK] = "ack-too-old",
		[PTCP_DROP_NO_SPACE] = "receive-buffer-full",
		[PTCP_DROP_PAWS] = "paws-old-timestamp",
		[PTCP_DROP_NO_TIMESTAMP] = "no-timestamp",
	};
	if ((unsigned)d >= PTCP_DROP__COUNT)
		return "?";
	return names[d];
}

void ptcp_config_default(struct ptcp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->sndbuf = 4 * 1024 * 1024;
	cfg->rcvbuf = 4 * 1024 * 1024;
	cfg->mss = 1460;
	cfg->sack = true;
	cfg->window_scale = true;
	cfg->timestamps = true;
	cfg->cc = PTCP_CC_DEFAULT;
	cfg->rto_initial = 1 * PTCP_NS_PER_S;
	cfg->rto_min = 200 * PTCP_NS_PER_MS;
	cfg->rto_max = 60 * PTCP_NS_PER_S;
	cfg->syn_retries = 6;
	cfg->data_retries = 15;
	cfg->msl = 30 * PTCP_NS_PER_S;
	cfg->keepalive_interval = 75 * PTCP_NS_PER_S;
	cfg->keepalive_count = 9;
	cfg->challenge_ack_limit = 10;
	cfg->invalid_ack_interval = 500 * PTCP_NS_PER_MS;
	cfg->isn_policy = PTCP_ISN_REJECT;
}

/* ------------------------------------------------------------ small helpers */

static void emit_event(struct ptcp_conn *c, struct ptcp_event *ev, ptcp_ts now)
{
	ev->now = now;
	if (c->cfg.on_event)
		c->cfg.on_event(c->cfg.user, c, ev);
}

static void set_state(struct ptcp_conn *c, enum ptcp_state to, ptcp_ts now)
{
	struct ptcp_event ev = { .type = PTCP_EV_STATE, .from = c->state, .to = to };

	if (c->state == to)
		return;
	c->state = to;
	if (to == PTCP_ESTABLISHED && c->st.established_at == 0)
		c->st.established_at = now ? now : 1;
	if (to == PTCP_ESTABLISHED && c->cfg.keepalive_idle)
		c->keepalive_at = ptcp_ts_add(now, c->cfg.keepalive_idle);
	emit_event(c, &ev, now);
}

static void stop_timers(struct ptcp_conn *c)
{
	c->pace_at = PTCP_TS_NEVER;
	c->rtx_at = PTCP_TS_NEVER;
	c->syn_early = false;
	c->unacked_since = PTCP_TS_NEVER;
	c->loss.reo_at = c->loss.tlp_at = PTCP_TS_NEVER;
	c->persist_at = PTCP_TS_NEVER;
	c->delack_at = PTCP_TS_NEVER;
	c->keepalive_at = PTCP_TS_NEVER;
	c->timewait_at = PTCP_TS_NEVER;
}

/* Enters CLOSED for good, recording why (0 = clean). Pending control
 * replies (a RST from abort) are kept so they still go out. */
static void close_with(struct ptcp_conn *c, int error, ptcp_ts now)
{
	struct ptcp_event ev = { .type = PTCP_EV_CLOSED };

	if (c->state == PTCP_CLOSED && c->error)
		return;
	if (error && !c->error)
		c->error = error;
	stop_timers(c);
	c->syn_due = c->probe_due = c->keepalive_due = false;
	c->ack_now = false;
	set_state(c, PTCP_CLOSED, now);
	ev.error = c->error;
	emit_event(c, &ev, now);
}

static void drop(struct ptcp_conn *c, enum ptcp_drop why, ptcp_ts now)
{
	struct ptcp_event ev = { .type = PTCP_EV_DROP, .drop = why };

	c->st.drops[why]++;
	emit_event(c, &ev, now);
}

/* Queues a control segment for the remote endpoint or, when to is given,
 * for that endpoint (a LISTEN with no remote answering its sender). */
static void queue_reply(struct ptcp_conn *c, uint8_t flags, ptcp_seq seq, ptcp_seq ack,
                        const struct ptcp_endpoint *to)
{
	struct ctl k = { .flags = flags, .seq = seq, .ack = ack };

	if (c->n_ctl == CTL_QUEUE)
		return; /* a burst of replies is pointless; drop the excess */
	if (c->remote.family == PTCP_AF_NONE) {
		/* A wildcard LISTEN: only the segment's sender can be told. */
		if (!to || to->family != c->local.family)
			return;
		k.addressed = true;
		k.to = *to;
	}
	c->ctl[c->n_ctl++] = k;
}

static void queue_ctl(struct ptcp_conn *c, uint8_t flags, ptcp_seq seq, ptcp_seq ack)
{
	queue_reply(c, flags, seq, ack, NULL);
}

/* <SEQ=SEG.ACK><CTL=RST>: the reply to an unacceptable ACK before the
 * connection is synchronized (RFC 9293 3.10.7.2, 3.10.7.3, 3.10.7.4). */
static void reply_rst_to_ack(struct ptcp_conn *c, const struct ptcp_segment *seg)
{
	queue_ctl(c, PTCP_TH_RST, seg->ack, 0);
}

/* How a segment discarded as unacceptable is answered (drop_answer). */
enum answer {
	/* An ACK (RFC 9293 3.10.7.4 first check, RFC 7323 5.3 R1): rate
	 * limited unless the segment carried text or a FIN. */
	ANSWER_ACK,
	/* An ACK for an ACK field outside SND.UNA - MAX.SND.WND .. SND.MAX
	 * (RFC 9293 3.10.7.4 fifth check, RFC 5961 5.2): always limited. */
	ANSWER_BAD_ACK,
	/* A challenge ACK <SEQ=SND.MAX><ACK=RCV.NXT> (RFC 5961 3.2, 4.2):
	 * always limited, and within cfg.challenge_ack_limit per second. */
	ANSWER_CHALLENGE,
};

/* Whether the answer to seg is subject to cfg.invalid_ack_interval. A
 * repeat of the peer's SYN (SEG.SEQ = IRS: hole punching sends several,
 * and late ones arrive after ESTABLISHED, as do the retransmitted SYN-ACKs
 * of a peer whose own open has not completed) is its handshake still
 * going on: our ACK is what ends it, and holding it back would slow the
 * open. Otherwise, as Linux decides (tcp_oow_rate_limited(): "data packets
 * without SYNs are not likely part of an ACK loop"), discarded text and
 * FINs are answered every time: the ACK of data we hold is what the
 * sender's recovery waits for (with its D-SACK), and a peer in LAST-ACK
 * waits for the ACK of the FIN it retransmits into our TIME-WAIT. */
static bool answer_limited(const struct ptcp_conn *c, const struct ptcp_segment *seg,
                           enum answer how)
{
	if (seg->flags & PTCP_TH_SYN && seg->seq == c->irs)
		return false;
	if (how != ANSWER_ACK || seg->flags & PTCP_TH_SYN)
		return true;
	return seg->len == 0 && !(seg->flags & PTCP_TH_FIN);
}

/* RFC 5961 section 7, applied as Linux applies its tcp_invalid_ratelimit
 * to every such ACK: at most one per cfg.invalid_ack_interval answers the
 * segments we discard. Two ends that disagree about the sequence space
 * would otherwise answer each other's ACKs for ever, and a sender of junk
 * would have each of its segments reflected. Returns whether one may go
 * now, and if so starts the next interval. */
static bool invalid_ack_allowed(struct ptcp_conn *c, ptcp_ts now)
{
	uint64_t iv = c->cfg.invalid_ack_interval;

	/* A time before the last one (the caller's clock went back) starts
	 * afresh rather than holding every ACK back until it catches up. */
	if (iv && c->invalid_ack_at != PTCP_TS_NEVER && now >= c->invalid_ack_at &&
	    now - c->invalid_ack_at < iv)
		return false;
	c->invalid_ack_at = now;
	return true;
}

/* RFC 5961 section 7: at most cfg.challenge_ack_limit challenge ACKs per
 * second and connection. Returns whether one more may go now. */
static bool challenge_budget(struct ptcp_conn *c, ptcp_ts now)
{
	if (ptcp_ts_elapsed(now, c->chack_window) >= PTCP_NS_PER_S || now < c->chack_window) {
		c->chack_window = now;
		c->chack_count = 0;
	}
	if (c->chack_count >= c->cfg.challenge_ack_limit)
		return false;
	c->chack_count++;
	return true;
}

/* Drops seg as unacceptable (why) and answers it as how says, unless a
 * rate limit holds the answer back: then it is counted in
 * acks_ratelimited, and the drop event says so (ack_held). */
static void drop_answer(struct ptcp_conn *c, enum ptcp_drop why, const struct ptcp_segment *seg,
                        enum answer how, ptcp_ts now)
{
	struct ptcp_event ev = { .type = PTCP_EV_DROP, .drop = why };
	bool send = !answer_limited(c, seg, how) || invalid_ack_allowed(c, now);

	if (send && how == ANSWER_CHALLENGE)
		send = challenge_budget(c, now);
	if (!send) {
		c->st.acks_ratelimited++;
		ev.ack_held = true;
	} else if (how == ANSWER_CHALLENGE) {
		c->st.challenge_acks++;
		queue_ctl(c, PTCP_TH_ACK, c->snd_max, c->rcv_nxt);
	} else {
		c->ack_now = true;
	}
	c->st.drops[why]++;
	emit_event(c, &ev, now);
}

static bool synchronized(enum ptcp_state s)
{
	return s >= PTCP_ESTABLISHED;
}

/* States in which we may still send data and our FIN. */
static bool can_send_data(enum ptcp_state s)
{
	return s == PTCP_ESTABLISHED || s == PTCP_CLOSE_WAIT || s == PTCP_FIN_WAIT_1 ||
	       s == PTCP_CLOSING || s == PTCP_LAST_ACK;
}

static bool fin_acked(const struct ptcp_conn *c)
{
	return c->fin_queued && ptcp_seq_gt(c->snd_una, c->fin_seq);
}

static void arm_rtx(struct ptcp_conn *c, ptcp_ts now)
{
	uint64_t rto = c->rtt.rto;

	if (!synchronized(c->state) && c->cfg.syn_interval)
		rto = c->syn_gap ? c->syn_gap : c->cfg.syn_interval; /* hole punching */
	c->rtx_at = ptcp_ts_add(now, rto);
	c->syn_early = false;
}

static uint8_t wscale_for(uint32_t buf)
{
	uint8_t s = 0;

	while (s < MAX_WSCALE && (buf >> s) > 0xffff)
		s++;
	return s;
}

/* SMSS (RFC 5681 section 2): the data a full segment carries, the peer's
 * MSS less the options every segment has (timestamps). */
static uint32_t smss(const struct ptcp_conn *c)
{
	return c->snd_mss - (c->ts_ok ? TS_OPT_LEN : 0);
}

/* Our timestamp clock (RFC 7323 5.4): milliseconds derived from the
 * caller's now, starting at ts_offset when the connection opened. */
static uint32_t ts_now(const struct ptcp_conn *c, ptcp_ts now)
{
	return c->ts_offset + (uint32_t)(ptcp_ts_elapsed(now, c->ts_epoch) / TS_TICK);
}

/* ---------------------------------------------------------------- lifecycle */

static void *conn_alloc(const struct ptcp_config *cfg, size_t size)
{
	return cfg->alloc.alloc(cfg->alloc.ctx, size);
}

static void conn_release(const struct ptcp_config *cfg, void *p, size_t size)
{
	if (p)
		cfg->alloc.free(cfg->alloc.ctx, p, size);
}

/* Segment records for a send buffer of bytes: one per 512 bytes plus some
 * (smaller segments than that wait for ACKs to free records). */
static uint32_t txq_cap_for(size_t bytes)
{
	size_t n = bytes / 512 + 64;

	return (uint32_t)(n < TXQ_MAX ? n : TXQ_MAX);
}

/* The smallest power-of-two multiple of have at least want, at most max. */
static size_t grown(size_t have, size_t want, size_t max)
{
	while (have < want && have < max)
		have = have > max / 2 ? max : have * 2;
	return have;
}

/* Grows the send buffer (and the segment records with it) so it holds
 * twice the congestion window, up to cfg.sndbuf: with less, the sender
 * could not keep a window in flight while the application refills it.
 * Nothing changes when the allocator refuses. */
static void grow_sndbuf(struct ptcp_conn *c)
{
	size_t want = 2 * (size_t)c->loss.cc.cwnd, cap;
	uint32_t txcap;
	uint8_t *mem;

	if (c->sb.cap >= c->cfg.sndbuf || want <= c->sb.cap)
		return;
	cap = grown(c->sb.cap, want, c->cfg.sndbuf);
	txcap = txq_cap_for(cap);
	if (txcap > c->loss.q.cap) {
		struct ptcp_txseg *t = conn_alloc(&c->cfg, txcap * sizeof(*t)), *old = c->loss.q.v;
		uint32_t old_cap = c->loss.q.cap;

		if (!t)
			return;
		ptcp_txq_move(&c->loss.q, t, txcap);
		conn_release(&c->cfg, old, (size_t)old_cap * sizeof(*t));
	}
	mem = conn_alloc(&c->cfg, cap);
	if (mem) {
		uint8_t *old = c->sb.mem;
		size_t old_cap = c->sb.cap;

		ptcp_sendbuf_move(&c->sb, mem, cap);
		conn_release(&c->cfg, old, old_cap);
	}
}

/* Receive window auto-tuning (as Linux's dynamic right-sizing): once per
 * round trip, the buffer is made to hold twice what the application read
 * in the last one (and some segments more), so the window never limits a
 * sender the application keeps up with; up to cfg.rcvbuf. When the reads
 * grew since the round trip before, the sender is still speeding up
 * (slow start doubles per round, BBR's Startup nearly triples): the
 * window must be ahead of it, since the ACKs sent now set what it sends
 * in the round after; so it grows by twice that rate of increase too
 * (Linux's tcp_rcv_space_adjust does the same). */
static void autotune_rcvbuf(struct ptcp_conn *c, size_t n, ptcp_ts now)
{
	uint64_t rtt = c->rcv_rtt ? c->rcv_rtt : c->rtt.srtt;
	size_t want, cap;
	uint8_t *mem;

	c->rcv_space += (uint32_t)n;
	if (ptcp_ts_elapsed(now, c->rcv_space_at) < (rtt > PTCP_NS_PER_MS ? rtt : PTCP_NS_PER_MS))
		return;
	want = 2 * (size_t)c->rcv_space + 16 * (size_t)c->cfg.mss;
	if (c->rcv_space_last && c->rcv_space > c->rcv_space_last)
		want += 2 * (uint64_t)want * (c->rcv_space - c->rcv_space_last) / c->rcv_space_last;
	/* The first read only starts the measurements: no rate to compare. */
	c->rcv_space_last = c->rcv_space_at ? c->rcv_space : 0;
	c->rcv_space = 0;
	c->rcv_space_at = now;
	if (c->rb.cap >= c->cfg.rcvbuf || want <= c->rb.cap)
		return;
	cap = grown(c->rb.cap, want, c->cfg.rcvbuf);
	mem = conn_alloc(&c->cfg, cap);
	if (mem) {
		uint8_t *old = c->rb.mem;
		size_t old_cap = c->rb.cap;

		ptcp_rcvbuf_move(&c->rb, mem, cap);
		conn_release(&c->cfg, old, old_cap);
	}
}

int ptcp_conn_new(struct ptcp_conn **out, const struct ptcp_config *cfg,
                  const struct ptcp_endpoint *local, const struct ptcp_endpoint *remote)
{
	struct ptcp_conn *c;

	if (!out || !cfg || !local || !cfg->alloc.alloc || !cfg->alloc.free)
		return PTCP_ERR_INVAL;
	*out = NULL;
	if (cfg->sndbuf == 0 || cfg->sndbuf > MAX_BUF || cfg->rcvbuf == 0 || cfg->rcvbuf > MAX_BUF ||
	    cfg->mss < 64 || cfg->rto_min == 0 || cfg->rto_max < cfg->rto_min ||
	    (cfg->cc != PTCP_CC_CUBIC && cfg->cc != PTCP_CC_NEWRENO && cfg->cc != PTCP_CC_BBR))
		return PTCP_ERR_INVAL;
	if (local->family != PTCP_AF_INET && local->family != PTCP_AF_INET6)
		return PTCP_ERR_INVAL;
	if (remote && remote->family != PTCP_AF_NONE && remote->family != local->family)
		return PTCP_ERR_INVAL;

	c = conn_alloc(cfg, sizeof(*c));
	if (!c)
		return PTCP_ERR_NOMEM;
	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	c->local = *local;
	if (remote)
		c->remote = *remote;
	{
		size_t snd = cfg->sndbuf < BUF_INITIAL ? cfg->sndbuf : BUF_INITIAL;
		size_t rcv = cfg->rcvbuf < BUF_INITIAL ? cfg->rcvbuf : BUF_INITIAL;
		uint32_t txcap = txq_cap_for(snd);
		uint8_t *sndmem = conn_alloc(cfg, snd);
		uint8_t *rcvmem = sndmem ? conn_alloc(cfg, rcv) : NULL;
		struct ptcp_txseg *txmem = rcvmem ? conn_alloc(cfg, txcap * sizeof(*txmem)) : NULL;

		ptcp_sendbuf_init(&c->sb, sndmem, snd);
		ptcp_rcvbuf_init(&c->rb, rcvmem, rcv);
		ptcp_loss_init(&c->loss, txmem, txcap, cfg->cc, DEFAULT_MSS_NO_OPTION);
		if (!txmem) {
			ptcp_conn_free(c);
			return PTCP_ERR_NOMEM;
		}
	}
	ptcp_rtt_init(&c->rtt, cfg->rto_initial, cfg->rto_min, cfg->rto_max);
	c->snd_mss = DEFAULT_MSS_NO_OPTION < cfg->mss ? DEFAULT_MSS_NO_OPTION : cfg->mss;
	ptcp_loss_configure(&c->loss, c->snd_mss, false, 0);
	c->rcv_wscale = cfg->window_scale ? wscale_for(cfg->rcvbuf) : 0;
	c->state = PTCP_CLOSED;
	c->invalid_ack_at = PTCP_TS_NEVER;
	stop_timers(c);
	*out = c;
	return 0;
}

void ptcp_conn_free(struct ptcp_conn *c)
{
	struct ptcp_config cfg;

	if (!c)
		return;
	cfg = c->cfg;
	conn_release(&cfg, c->loss.q.v, (size_t)c->loss.q.cap * sizeof(*c->loss.q.v));
	conn_release(&cfg, c->rb.mem, c->rb.cap);
	conn_release(&cfg, c->sb.mem, c->sb.cap);
	conn_release(&cfg, c, sizeof(*c));
}

static void init_send_space(struct ptcp_conn *c, ptcp_seq isn, ptcp_ts now)
{
	c->ts_epoch = now;
	c->ts_offset = isn;
	c->iss = isn;
	c->snd_una = isn;
	c->snd_nxt = isn + 1; /* the SYN */
	c->snd_max = isn;
	c->sb_seq = isn + 1;
}

int ptcp_conn_open_active(struct ptcp_conn *c, const struct ptcp_open *o, ptcp_ts now)
{
	if (!c || !o)
		return PTCP_ERR_INVAL;
	if (c->state != PTCP_CLOSED || c->error || c->remote.family == PTCP_AF_NONE || c->remote.port == 0)
		return PTCP_ERR_STATE;
	c->open = *o;
	init_send_space(c, o->isn, now);
	c->syn_due = true;
	c->passive = false;
	set_state(c, PTCP_SYN_SENT, now);
	return 0;
}

int ptcp_conn_open_passive(struct ptcp_conn *c, const struct ptcp_open *o, ptcp_ts now)
{
	if (!c || !o)
		return PTCP_ERR_INVAL;
	if (c->state != PTCP_CLOSED || c->error)
		return PTCP_ERR_STATE;
	c->open = *o;
	c->passive = true;
	set_state(c, PTCP_LISTEN, now);
	return 0;
}

/* ------------------------------------------------------------ option intake */

/* Takes the options of the peer's SYN (RFC 9293 3.7.1 for MSS, RFC 7323
 * section 2 for window scale, RFC 2018 for SACK-permitted). */
static void take_syn_options(struct ptcp_conn *c, const struct ptcp_segment *seg, ptcp_ts now)
{
	uint32_t mss = seg->opt.has_mss ? seg->opt.mss : DEFAULT_MSS_NO_OPTION;

	if (mss > c->cfg.mss)
		mss = c->cfg.mss;
	if (mss < 64)
		mss = 64; /* a hostile MSS of 1 would make us send a byte per segment */
	c->snd_mss = (uint16_t)mss;
	/* RFC 7323 3.2: timestamps only if both SYNs carry them. The option
	 * then takes 12 bytes of every segment: SMSS is what remains for
	 * data (RFC 5681 section 2: SMSS excludes options). */
	c->ts_ok = c->cfg.timestamps && seg->opt.has_ts;
	if (c->ts_ok) {
		c->ts_recent = seg->opt.ts_val;
		c->ts_recent_at = now;
	}
	/* The ISNs seed BBR's gain cycle: flows do not probe in step. */
	ptcp_loss_configure(&c->loss, mss - (c->ts_ok ? TS_OPT_LEN : 0),
	                    c->cfg.sack && seg->opt.sack_permitted, c->open.isn ^ seg->seq);
	c->wscale_ok = c->cfg.window_scale && seg->opt.has_wscale;
	if (c->wscale_ok) {
		/* RFC 7323 2.3: values above 14 are treated as 14. */
		c->snd_wscale = seg->opt.wscale > MAX_WSCALE ? MAX_WSCALE : seg->opt.wscale;
	} else {
		c->snd_wscale = 0;
		c->rcv_wscale = 0;
	}
	c->sack_ok = c->cfg.sack && seg->opt.sack_permitted;
}

/* The agreed-ISN check for a SYN. Returns false if the SYN must be dropped. */
static bool isn_acceptable(struct ptcp_conn *c, const struct ptcp_segment *seg, ptcp_ts now)
{
	struct ptcp_event ev = { .type = PTCP_EV_ISN_MISMATCH, .seq = seg->seq };

	if (!c->open.has_peer_isn || seg->seq == c->open.peer_isn)
		return true;
	c->isn_mismatch_seen = true;
	ev.accepted = c->cfg.isn_policy == PTCP_ISN_ACCEPT;
	emit_event(c, &ev, now);
	if (!ev.accepted) {
		drop(c, PTCP_DROP_ISN_MISMATCH, now);
		return false;
	}
	return true;
}

/* The peer's SYN was accepted: synchronize to its sequence space. */
static void take_peer_syn(struct ptcp_conn *c, const struct ptcp_segment *seg, ptcp_ts now)
{
	c->irs = seg->seq;
	c->rcv_nxt = seg->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	take_syn_options(c, seg, now);
	/* RFC 7323 2.2: the window of a SYN is never scaled. */
	c->snd_wnd = seg->wnd;
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = seg->seq;
	c->snd_wl2 = seg->ack;
}

/* --------------------------------------------------------------- ACK intake */

/* An ACK of new data: an RTT sample (RFC 6298 section 3, on every such ACK).
 * The SYN's timer gives one for the handshake; after that the most recently
 * sent segment this ACK covers does, with the caller's clock resolution,
 * when it was sent only once (Karn's rule); else, with timestamps, TSecr
 * does (RFC 7323 section 4: the echo names the transmission, so a
 * retransmitted segment measures too), at the option's 1 ms resolution. */
static void rtt_on_ack(struct ptcp_conn *c, const struct ptcp_segment *seg,
                       const struct ptcp_loss_result *lr, ptcp_ts now)
{
	if (c->rtt_timing && ptcp_seq_ge(seg->ack, c->rtt_seq)) {
		c->rtt_timing = false;
		c->st.rtt_samples++;
		ptcp_rtt_sample(&c->rtt, ptcp_ts_elapsed(now, c->rtt_start));
		return;
	}
	if (lr && lr->has_rtt) {
		c->st.rtt_samples++;
		ptcp_rtt_sample(&c->rtt, lr->rtt);
		return;
	}
	if (c->ts_ok && seg->opt.has_ts) {
		int32_t ticks = (int32_t)(ts_now(c, now) - seg->opt.ts_ecr);

		/* An echo from the future, or from before this connection's
		 * clock started, is no measurement. */
		if (ticks < 0 || (uint64_t)ticks > ptcp_ts_elapsed(now, c->ts_epoch) / TS_TICK)
			return;
		c->st.rtt_samples++;
		ptcp_rtt_sample(&c->rtt, (uint64_t)ticks * TS_TICK);
	}
}

/* SEG.ACK advanced SND.UNA: free acknowledged bytes, take an RTT sample,
 * restart or stop the retransmission timer (RFC 6298 (5.2), (5.3)). */
static void ack_advance(struct ptcp_conn *c, const struct ptcp_segment *seg,
                        const struct ptcp_loss_result *lr, ptcp_ts now)
{
	ptcp_seq ack = seg->ack;
	size_t data_acked;

	if (ptcp_seq_gt(ack, c->sb_seq)) {
		data_acked = (size_t)(uint32_t)(ack - c->sb_seq);
		if (data_acked > ptcp_sendbuf_len(&c->sb))
			data_acked = ptcp_sendbuf_len(&c->sb);
		ptcp_sendbuf_consume(&c->sb, data_acked);
		c->sb_seq += (uint32_t)data_acked;
	}
	c->snd_una = ack;
	if (ptcp_seq_lt(c->snd_nxt, ack))
		c->snd_nxt = ack;
	rtt_on_ack(c, seg, lr, now);
	c->rto_count = 0;
	/* Progress: the user timeout counts again from now for what is still
	 * in flight (a zero-window probe byte is not: a peer that answers
	 * probes is alive, and the persist timer watches it). */
	c->unacked_since = ptcp_txq_empty(&c->loss.q) ? PTCP_TS_NEVER : now;
	if (c->persist_backoff || c->persist_at != PTCP_TS_NEVER) {
		/* The peer took data (a probe byte, say): it is alive, so the
		 * next probe, if the window stays shut, starts the schedule
		 * again (output re-arms the timer). */
		c->persist_backoff = 0;
		c->persist_at = PTCP_TS_NEVER;
	}
	if (c->probing && ptcp_seq_ge(c->snd_una, c->snd_max))
		c->probing = false;
	/* Only segments in flight are the RTO's: a probe byte alone is the
	 * persist timer's. */
	if (ptcp_txq_empty(&c->loss.q)) {
		c->rtx_at = PTCP_TS_NEVER;
		c->syn_early = false;
	} else {
		arm_rtx(c, now);
	}
}

/* RFC 5681 section 2: a duplicate ACK acknowledges nothing new, carries no
 * data, no SYN or FIN, does not move the window, and data is outstanding. */
static bool is_dupack(const struct ptcp_conn *c, const struct ptcp_segment *seg, uint32_t wnd)
{
	/* Not while the window is closed: then every answer to a probe
	 * looks like a duplicate. */
	return seg->ack == c->snd_una && seg->len == 0 &&
	       !(seg->flags & (PTCP_TH_SYN | PTCP_TH_FIN)) && wnd == c->snd_wnd &&
	       !ptcp_txq_empty(&c->loss.q) && c->snd_wnd != 0;
}

static void fast_retransmit_event(struct ptcp_conn *c, ptcp_seq seq, ptcp_ts now)
{
	struct ptcp_event ev = { .type = PTCP_EV_FAST_RETRANSMIT, .seq = seq };

	emit_event(c, &ev, now);
}

/* The ACK part of processing in synchronized states (RFC 9293 3.10.7.4,
 * fifth check, with RFC 5961 section 5.2): the loss recovery module takes
 * the cumulative ACK and the SACK blocks, then the window. Returns false
 * when the segment must be dropped. */
static bool process_ack(struct ptcp_conn *c, const struct ptcp_segment *seg, ptcp_ts now)
{
	uint32_t wnd = (uint32_t)seg->wnd << c->snd_wscale;
	bool advanced = ptcp_seq_gt(seg->ack, c->snd_una);
	struct ptcp_loss_result lr;
	struct ptcp_loss_ack la;

	if (ptcp_seq_gt(seg->ack, c->snd_max)) {
		/* Acknowledges something not yet sent. */
		drop_answer(c, PTCP_DROP_BAD_ACK, seg, ANSWER_BAD_ACK, now);
		return false;
	}
	if (ptcp_seq_lt(seg->ack, c->snd_una - c->max_snd_wnd)) {
		/* RFC 5961 5.2: too old to be a real duplicate. */
		drop_answer(c, PTCP_DROP_OLD_ACK, seg, ANSWER_BAD_ACK, now);
		return false;
	}
	if (ptcp_seq_lt(seg->ack, c->snd_una))
		return true; /* an old ACK: nothing in it for the sender */
	/* Nothing outstanding, nothing new acknowledged and no SACK blocks
	 * (a D-SACK may still undo): loss recovery and congestion control
	 * have nothing to learn, as Linux's tcp_ack() goes past them when
	 * nothing was in flight (its no_queue path). Every segment of a
	 * transfer carries such an ACK to its receiver. */
	if (!advanced && c->snd_una == c->snd_max && !(c->sack_ok && seg->opt.sack_count))
		goto window;

	la = (struct ptcp_loss_ack){
		.now = now, .ack = seg->ack, .snd_una = c->snd_una, .snd_max = c->snd_max,
		.dupack = !advanced && is_dupack(c, seg, wnd),
		.nsack = c->sack_ok ? seg->opt.sack_count : 0, .sack = seg->opt.sack,
		.has_tsecr = c->ts_ok && seg->opt.has_ts, .tsecr = seg->opt.ts_ecr,
		.ts_epoch = c->ts_epoch, .ts_offset = c->ts_offset, .ts_tick = TS_TICK,
		.srtt = c->rtt.srtt,
	};
	if (la.dupack)
		c->st.dup_acks++;
	ptcp_loss_on_ack(&c->loss, &la, &lr);
	if (advanced) {
		ack_advance(c, seg, &lr, now);
		grow_sndbuf(c);
	}
	if (advanced)
		ptcp_loss_schedule_tlp(&c->loss, now, c->rtt.srtt, c->rtx_at);

window:
	/* Window update (RFC 9293 3.10.7.4): only from a segment at least as
	 * new as the one that last set it. */
	if (ptcp_seq_lt(c->snd_wl1, seg->seq) ||
	    (c->snd_wl1 == seg->seq && ptcp_seq_le(c->snd_wl2, seg->ack))) {
		bool was_zero = c->snd_wnd == 0;

		c->snd_wnd = wnd;
		if (wnd > c->max_snd_wnd)
			c->max_snd_wnd = wnd;
		c->snd_wl1 = seg->seq;
		c->snd_wl2 = seg->ack;
		if (was_zero && wnd > 0) {
			c->persist_at = PTCP_TS_NEVER;
			c->persist_backoff = 0;
		}
	}
	/* The peer answers while our probes hit a closed window: it is alive
	 * (RFC 1122 4.2.2.17: keep probing as long as it acknowledges). */
	c->persist_unanswered = 0;
	if (c->snd_wnd == 0)
		c->rto_count = 0;
	return true;
}

/* ---------------------------------------------------------------- text, FIN */

/* A duplicate of data we hold arrived: report it in the next ACK (RFC 2883
 * section 4), which goes out at once. Only the most recent one counts. */
static void note_duplicate(struct ptcp_conn *c, ptcp_seq left, ptcp_seq right)
{
	if (!c->sack_ok || !ptcp_seq_lt(left, right))
		return;
	c->dsack_due = true;
	c->dsack_left = left;
	c->dsack_right = right;
	c->ack_now = true;
}

static bool rcv_window_acceptable(const struct ptcp_conn *c, ptcp_seq seq, uint32_t seglen)
{
	uint32_t wnd = (uint32_t)ptcp_rcvbuf_window(&c->rb);

	/* RFC 9293 3.10.7.4, the four cases of the acceptability test. */
	if (seglen == 0) {
		if (wnd == 0)
			return seq == c->rcv_nxt;
		return ptcp_seq_in(seq, c->rcv_nxt, c->rcv_nxt + wnd);
	}
	if (wnd == 0)
		return false;
	return ptcp_seq_in(seq, c->rcv_nxt, c->rcv_nxt + wnd) ||
	       ptcp_seq_in(seq + seglen - 1, c->rcv_nxt, c->rcv_nxt + wnd);
}

static void ack_soon(struct ptcp_conn *c, bool full_segment, ptcp_ts now)
{
	if (!c->cfg.delack) {
		c->ack_now = true;
		return;
	}
	/* RFC 9293 3.8.6.3 (MUST-58): ACK at least every second full segment;
	 * RFC 5681 4.2: within 500 ms. */
	if (full_segment && ++c->unacked_segs >= 2) {
		c->ack_now = true;
		return;
	}
	if (c->delack_at == PTCP_TS_NEVER)
		c->delack_at = ptcp_ts_add(now, c->cfg.delack);
}

/* The peer's FIN is now in sequence: RFC 9293 3.10.7.4, eighth check. */
static void process_fin(struct ptcp_conn *c, ptcp_ts now)
{
	c->rfin = true;
	c->rfin_pending = false;
	c->rcv_nxt++;
	c->ack_now = true;
	switch (c->state) {
	case PTCP_SYN_RECEIVED:
	case PTCP_ESTABLISHED:
		set_state(c, PTCP_CLOSE_WAIT, now);
		break;
	case PTCP_FIN_WAIT_1:
		if (fin_acked(c)) {
			set_state(c, PTCP_TIME_WAIT, now);
			stop_timers(c);
			c->timewait_at = ptcp_ts_add(now, 2 * c->cfg.msl);
		} else {
			set_state(c, PTCP_CLOSING, now);
		}
		break;
	case PTCP_FIN_WAIT_2:
		set_state(c, PTCP_TIME_WAIT, now);
		stop_timers(c);
		c->timewait_at = ptcp_ts_add(now, 2 * c->cfg.msl);
		break;
	default:
		break;
	}
}

/* Segment text and FIN (seventh and eighth checks). seg has been trimmed
 * to the window: seq >= RCV.NXT. */
static void process_text(struct ptcp_conn *c, const struct ptcp_segment *seg, ptcp_ts now)
{
	bool fin = seg->flags & PTCP_TH_FIN;

	if (seg->len > 0 && !c->rfin &&
	    (c->state == PTCP_ESTABLISHED || c->state == PTCP_FIN_WAIT_1 ||
	     c->state == PTCP_FIN_WAIT_2)) {
		size_t off = (uint32_t)(seg->seq - c->rcv_nxt);
		bool had_holes = c->rb.n_ranges > 0;
		unsigned islands_before = c->rb.n_ranges;
		uint32_t dup_off, dup_len;
		unsigned isl;
		size_t adv;
		bool dup;

		dup = ptcp_rcvbuf_held(&c->rb, off, seg->len, &dup_off, &dup_len, &isl);
		if (dup)
			note_duplicate(c, c->rcv_nxt + dup_off, c->rcv_nxt + dup_off + dup_len);
		adv = ptcp_rcvbuf_insert(&c->rb, off, seg->payload, seg->len);

		c->rcv_nxt += (uint32_t)adv;
		c->st.bytes_in += adv;
		if (adv && c->ts_ok && seg->opt.has_ts) {
			/* The receiver's RTT for auto-tuning: the echo of one of
			 * our ACKs came back with the data it released. */
			int32_t ticks = (int32_t)(ts_now(c, now) - seg->opt.ts_ecr);

			if (ticks > 0 && (uint64_t)ticks <= ptcp_ts_elapsed(now, c->ts_epoch) / TS_TICK) {
				uint64_t rtt = (uint64_t)ticks * TS_TICK;

				c->rcv_rtt = c->rcv_rtt ? (7 * c->rcv_rtt + rtt) / 8 : rtt;
			}
		}
		if (off > 0 || had_holes || adv == 0) {
			/* Out of order, or filling a hole: ACK at once (RFC 5681
			 * 4.2) so the sender's loss recovery sees it. A segment
			 * that only grows the newest island changes nothing the
			 * next ACK's first SACK block would not say; one that
			 * starts, joins or fills an island, or repeats data,
			 * changes what an ACK held back for the rest of a batch
			 * would say: with three blocks (RFC 2018, beside
			 * timestamps) a batch with more holes than that would
			 * never report some islands, and the sender would take
			 * delivered segments for lost. */
			c->ack_now = true;
			if (c->rb.n_ranges != islands_before || (adv > 0 && had_holes) || dup)
				c->ack_flush = true;
		} else {
			if (seg->len > c->rcv_mss)
				c->rcv_mss = (uint16_t)(seg->len < c->cfg.mss ? seg->len : c->cfg.mss);
			ack_soon(c, seg->len >= c->rcv_mss, now);
		}
	}

	if (fin && !c->rfin) {
		ptcp_seq fseq = seg->seq + (uint32_t)seg->len;

		if (c->state == PTCP_CLOSED || c->state == PTCP_LISTEN || c->state == PTCP_SYN_SENT)
			return;
		if (!c->rfin_pending) {
			c->rfin_pending = true;
			c->rfin_seq = fseq;
		}
		c->ack_now = true;
	}
	if (c->rfin_pending && c->rfin_seq == c->rcv_nxt)
		process_fin(c, now);
}

/* Cuts off the part of seg before RCV.NXT (a SYN there is dropped with it)
 * and the part past the right window edge (with its FIN). */
static void trim_to_window(const struct ptcp_conn *c, struct ptcp_segment *seg)
{
	uint32_t wnd = (uint32_t)ptcp_rcvbuf_window(&c->rb);

	if (seg->flags & PTCP_TH_SYN && ptcp_seq_lt(seg->seq, c->rcv_nxt)) {
		seg->flags &= (uint8_t)~PTCP_TH_SYN;
		seg->seq++;
	}
	if (ptcp_seq_lt(seg->seq, c->rcv_nxt)) {
		uint32_t skip = (uint32_t)(c->rcv_nxt - seg->seq);

		if (skip >= seg->len) {
			/* Only the FIN (if any) can be new. */
			if (skip > seg->len)
				seg->flags &= (uint8_t)~PTCP_TH_FIN;
			skip = (uint32_t)seg->len;
		}
		seg->payload += skip;
		seg->len -= skip;
		seg->seq += skip;
	}
	if (seg->len > 0 || seg->flags & PTCP_TH_FIN) {
		ptcp_seq edge = c->rcv_nxt + wnd;
		uint32_t room = ptcp_seq_gt(edge, seg->seq) ? (uint32_t)(edge - seg->seq) : 0;

		/* A FIN right at the edge is kept: it takes no buffer space. */
		if (seg->len > room) {
			seg->len = room;
			seg->flags &= (uint8_t)~PTCP_TH_FIN;
		}
	}
}

/* --------------------------------------------------------- input, per state */

static void input_closed(struct ptcp_conn *c, const struct ptcp_segment *seg, ptcp_ts now)
{
	struct ptcp_segment rst;

	/* RFC 9293 3.10.7.1: a segment for a connection that does not exist
	 * draws a RST, unless it is one. */
	drop(c, PTCP_DROP_STATE, now);
	if (ptcp_reset_for(seg, &rst))
		queue_ctl(c, rst.flags, rst.seq, rst.ack);
}

static void input_listen(struct ptcp_conn *c, const struct ptcp_segment *seg,
                         const struct ptcp_endpoint *src, ptcp_ts now)
{
	/* RFC 9293 3.10.7.2. */
	if (seg->flags & PTCP_TH_RST) {
		drop(c, PTCP_DROP_STATE, now);
		return;
	}
	if (seg->flags & PTCP_TH_ACK) {
		/* <SEQ=SEG.ACK><CTL=RST>, to the sender even when no remote is
		 * bound yet (the driver must honour PTCP_TXCAP_DST for that). */
		struct ptcp_endpoint from;

		drop(c, PTCP_DROP_BAD_ACK, now);
		if (src) {
			from = *src;
			from.port = seg->sport;
		}
		queue_reply(c, PTCP_TH_RST, seg->ack, 0, src ? &from : NULL);
		return;
	}
	if (!(seg->flags & PTCP_TH_SYN)) {
		drop(c, PTCP_DROP_STATE, now);
		return;
	}
	if (seg->flags & PTCP_TH_FIN) {
		drop(c, PTCP_DROP_BAD_FLAGS, now);
		return;
	}
	if (!isn_acceptable(c, seg, now))
		return;
	if (c->remote.family == PTCP_AF_NONE) {
		if (!src || src->family != c->local.family) {
			drop(c, PTCP_DROP_PORTS, now);
			return;
		}
		c->remote = *src;
		c->remote.port = seg->sport;
		c->remote_bound_by_syn = true;
	}
	take_peer_syn(c, seg, now);
	init_send_space(c, c->open.isn, now);
	c->syn_due = true;
	set_state(c, PTCP_SYN_RECEIVED, now);
	/* Data in a SYN is not kept (we never offer TFO); the peer resends it. */
}

/* RST-clocked SYNs while punching: at most SYN_RST_MAX per connection
 * (then only the schedule's), and the floor of their pace, syn_rst_gap,
 * doubles after every SYN_RST_STEP of them, up to 128 times: a bound on
 * what a NAT pair that never lets them cross costs. */
#define SYN_RST_MAX 8192
#define SYN_RST_STEP 512
#define SYN_RST_DOUBLINGS 7

/* A pseudo-random number for the n-th SYN of c: the engine has no random
 * source of its own, but the ISN is random (and differs per side). */
static uint32_t syn_rand(const struct ptcp_conn *c, uint32_t n)
{
	uint32_t x = c->iss + n * 0x9e3779b9u;

	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

/* Hole punching: a RST from the path (the peer's NAT, which had no mapping
 * yet) is "not yet", not the end. On its way back it passed our NAT, which
 * dropped the mapping our SYN made (Linux conntrack forgets an unassured
 * entry on a RST), so the peer's SYN is refused until our next SYN makes
 * it again: the two SYNs must be between the NATs at the same time. Send
 * ours again soon, at a pseudo-random moment within the time the RST took
 * or the floor (syn_rst_gap, doubling as above), whichever is longer, so
 * that two sides whose schedules would keep the same phase (each refusing
 * the other) do not: one SYN per RST, so never faster than the path's
 * round trip. */
static void rst_while_punching(struct ptcp_conn *c, ptcp_ts now)
{
	uint64_t span = ptcp_ts_elapsed(now, c->syn_last_at), floor;
	unsigned k = c->syn_rst_count / SYN_RST_STEP;
	ptcp_ts at;

	c->rst_seen_punching = true;
	drop(c, PTCP_DROP_RST_PUNCHING, now);
	if (!c->cfg.syn_rst_gap || c->syn_due || c->syn_early || c->syn_rst_count >= SYN_RST_MAX)
		return;
	floor = c->cfg.syn_rst_gap << (k < SYN_RST_DOUBLINGS ? k : SYN_RST_DOUBLINGS);
	if (span < floor)
		span = floor;
	at = ptcp_ts_add(now, syn_rand(c, c->syn_sent_count) % span);
	if (at < c->rtx_at) {
		c->syn_rst_count++;
		c->rtx_at = at;
		c->syn_early = true;
	}
}

static void input_syn_sent(struct ptcp_conn *c, const struct ptcp_segment *seg, ptcp_ts now)
{
	bool ack_ok = false;

	/* RFC 9293 3.10.7.3, first check: the ACK bit. */
	if (seg->flags & PTCP_TH_ACK) {
		if (ptcp_seq_le(seg->ack, c->iss) || ptcp_seq_gt(seg->ack, c->snd_nxt)) {
			drop(c, PTCP_DROP_BAD_ACK, now);
			if (!(seg->flags & PTCP_TH_RST))
				reply_rst_to_ack(c, seg);
			return;
		}
		ack_ok = true; /* SND.UNA < SEG.ACK <= SND.NXT */
	}
	/* Second check: RST. Only with an acceptable ACK (RFC 5961 3.2). */
	if (seg->flags & PTCP_TH_RST) {
		if (!ack_ok) {
			drop(c, PTCP_DROP_RST_INVALID, now);
			return;
		}
		if (c->cfg.punching) {
			/* The peer's NAT may refuse our SYN before the peer's own
			 * SYN has opened it; keep punching. */
			rst_while_punching(c, now);
			return;
		}
		close_with(c, PTCP_ERR_REFUSED, now);
		return;
	}
	/* Fourth check: SYN. */
	if (!(seg->flags & PTCP_TH_SYN)) {
		drop(c, PTCP_DROP_STATE, now);
		return;
	}
	if (seg->flags & PTCP_TH_FIN) {
		drop(c, PTCP_DROP_BAD_FLAGS, now);
		return;
	}
	if (!isn_acceptable(c, seg, now))
		return;
	take_peer_syn(c, seg, now);
	if (ack_ok) {
		/* SYN-ACK to our SYN: the three-way handshake completes. */
		ack_advance(c, seg, NULL, now);
		c->snd_wl2 = seg->ack;
		c->syn_due = false;
		c->ack_now = true;
		set_state(c, PTCP_ESTABLISHED, now);
		if (c->syn_timed_out && !c->rtt.has_sample && c->rtt.rto < RTO_AFTER_SYN_TIMEOUT)
			c->rtt.rto = RTO_AFTER_SYN_TIMEOUT;
		if (c->fin_queued)
			set_state(c, PTCP_FIN_WAIT_1, now);
		/* Text or a FIN on the SYN-ACK: continue at the sixth step. */
		if (seg->len > 0 || seg->flags & PTCP_TH_FIN) {
			struct ptcp_segment rest = *seg;

			trim_to_window(c, &rest);
			process_text(c, &rest, now);
		}
		return;
	}
	/* A bare SYN crossed ours: simultaneous open (RFC 9293 figure 8).
	 * Answer with SYN-ACK <SEQ=ISS><ACK=RCV.NXT>; our SYN stays
	 * outstanding. */
	c->syn_due = true;
	set_state(c, PTCP_SYN_RECEIVED, now);
}

/* A connection from a passive OPEN in SYN-RECEIVED returns to LISTEN on a
 * RST or a new SYN (RFC 9293 3.10.7.4, second and fourth checks). */
static void back_to_listen(struct ptcp_conn *c, ptcp_ts now)
{
	if (c->remote_bound_by_syn) {
		c->remote.family = PTCP_AF_NONE;
		c->remote_bound_by_syn = false;
	}
	c->syn_due = false;
	c->syn_sent_count = 0;
	c->rtx_at = PTCP_TS_NEVER;
	c->syn_early = false;
	c->rto_count = 0;
	c->n_ctl = 0;
	c->rtt_timing = false;
	c->invalid_ack_at = PTCP_TS_NEVER; /* the next peer owes us nothing */
	ptcp_loss_reset(&c->loss);
	ptcp_rcvbuf_init(&c->rb, c->rb.mem, c->rb.cap);
	set_state(c, PTCP_LISTEN, now);
}

/* RFC 9293 3.10.7.4, second check, with RFC 5961 section 3.2. Returns true
 * when the segment was consumed (the caller stops). */
static bool check_rst(struct ptcp_conn *c, const struct ptcp_segment *seg, ptcp_ts now)
{
	if (!(seg->flags & PTCP_TH_RST))
		return false;
	if (c->state == PTCP_TIME_WAIT) {
		/* RFC 1337: a RST must not cut TIME-WAIT short. */
		drop(c, PTCP_DROP_RST_TIME_WAIT, now);
		return true;
	}
	if (seg->seq != c->rcv_nxt) {
		/* In the window (the caller checked) but not exact. */
		drop_answer(c, PTCP_DROP_RST_CHALLENGED, seg, ANSWER_CHALLENGE, now);
		return true;
	}
	switch (c->state) {
	case PTCP_SYN_RECEIVED:
		if (c->passive) {
			back_to_listen(c, now);
			return true;
		}
		if (c->cfg.punching) {
			/* A simultaneous open's SYN-ACK refused by a NAT whose
			 * mapping a RST had just closed: as in SYN-SENT. */
			rst_while_punching(c, now);
			return true;
		}
		close_with(c, PTCP_ERR_REFUSED, now);
		return true;
	case PTCP_CLOSING:
	case PTCP_LAST_ACK:
		close_with(c, 0, now);
		return true;
	default:
		close_with(c, PTCP_ERR_RESET, now);
		return true;
	}
}

/* RFC 7323 5.3 R1 (PAWS) and 3.2, before the sequence check: true when the
 * segment must be dropped. A RST is exempt (5.2: acceptable whatever its
 * timestamp). */
static bool paws_reject(struct ptcp_conn *c, const struct ptcp_segment *seg, ptcp_ts now)
{
	if (!c->ts_ok || seg->flags & PTCP_TH_RST)
		return false;
	if (!seg->opt.has_ts) {
		/* 3.2: SHOULD silently drop (never abort for it). */
		drop(c, PTCP_DROP_NO_TIMESTAMP, now);
		return true;
	}
	/* 5.5: after 24 days without an update TS.Recent is no longer
	 * comparable (the peer's clock may have wrapped half way). */
	if (ptcp_ts_elapsed(now, c->ts_recent_at) >= PAWS_IDLE_MAX)
		return false;
	if (!ptcp_seq_lt(seg->opt.ts_val, c->ts_recent))
		return false;
	/* An old duplicate: not acceptable, and answered with an ACK so a
	 * half-open connection is still noticed. */
	drop_answer(c, PTCP_DROP_PAWS, seg, ANSWER_ACK, now);
	return true;
}

/* RFC 7323 5.3 R3 (with 4.3): an acceptable segment that starts at or
 * before Last.ACK.sent and is not older than TS.Recent sets TS.Recent, so
 * the next ACK echoes the segment that advanced the window (or, after a
 * delayed ACK, the earliest one it covers). */
static void update_ts_recent(struct ptcp_conn *c, const struct ptcp_segment *seg, ptcp_ts now)
{
	if (!c->ts_ok || !seg->opt.has_ts || seg->flags & PTCP_TH_RST)
		return;
	if (ptcp_seq_ge(seg->opt.ts_val, c->ts_recent) && ptcp_seq_le(seg->seq, c->last_ack_sent)) {
		c->ts_recent = seg->opt.ts_val;
		c->ts_recent_at = now;
	}
}

/* Everything after LISTEN and SYN-SENT: RFC 9293 3.10.7.4. */
static void input_other(struct ptcp_conn *c, struct ptcp_segment *seg, ptcp_ts now)
{
	uint32_t seglen = ptcp_segment_seqlen(seg);

	if ((seg->flags & (PTCP_TH_SYN | PTCP_TH_RST)) == (PTCP_TH_SYN | PTCP_TH_RST)) {
		drop(c, PTCP_DROP_BAD_FLAGS, now);
		return;
	}

	if (c->state == PTCP_SYN_RECEIVED && seg->flags & PTCP_TH_SYN && seg->seq == c->irs) {
		if (!(seg->flags & PTCP_TH_ACK)) {
			/* The peer retransmitted its SYN: our SYN-ACK was lost or
			 * is late. Resend it now rather than at our timeout. */
			c->syn_due = true;
			c->rtt_timing = false; /* Karn */
			c->st.retransmits++;
			return;
		}
		/* Simultaneous open, message 6/7 of RFC 9293 figure 8: the
		 * peer's SYN-ACK repeats the SYN we already took. Its ACK is
		 * what matters; the SYN is a duplicate and draws no reply. */
		seg->flags &= (uint8_t)~PTCP_TH_SYN;
		seg->seq++;
		seglen--;
	}

	if (paws_reject(c, seg, now))
		return;

	/* First check: sequence number. With a zero receive window no
	 * segment is acceptable, but valid ACKs and RSTs still are (RFC 9293
	 * 3.10.7.4): such a segment goes on with its text trimmed away. */
	if (!rcv_window_acceptable(c, seg->seq, seglen) &&
	    !(ptcp_rcvbuf_window(&c->rb) == 0 && seg->seq == c->rcv_nxt &&
	      !(seg->flags & PTCP_TH_SYN))) {
		if (seg->flags & PTCP_TH_RST) {
			drop(c, PTCP_DROP_RST_INVALID, now);
			return;
		}
		if (seg->flags & PTCP_TH_SYN && synchronized(c->state)) {
			/* RFC 5961 4.2: any SYN in a synchronized state. */
			drop_answer(c, PTCP_DROP_SYN_CHALLENGED, seg, ANSWER_CHALLENGE, now);
			return;
		}
		drop_answer(c, PTCP_DROP_OUT_OF_WINDOW, seg, ANSWER_ACK, now);
		/* All of it arrived before: a D-SACK says so (RFC 2883 4.1.1). */
		if (seg->len > 0 && ptcp_seq_le(seg->seq + (uint32_t)seg->len, c->rcv_nxt))
			note_duplicate(c, seg->seq, seg->seq + (uint32_t)seg->len);
		if (c->state == PTCP_TIME_WAIT && seg->flags & PTCP_TH_FIN) {
			/* The peer retransmitted its FIN: acknowledge it again
			 * and restart the 2 MSL timeout (RFC 9293 3.10.7.4,
			 * eighth check, TIME-WAIT). */
			c->timewait_at = ptcp_ts_add(now, 2 * c->cfg.msl);
		}
		return;
	}

	update_ts_recent(c, seg, now);

	/* Second check: RST. */
	if (check_rst(c, seg, now))
		return;

	/* Fourth check: SYN (RFC 5961 4.2 replaces RFC 793's reset). */
	if (seg->flags & PTCP_TH_SYN) {
		if (c->state == PTCP_SYN_RECEIVED && c->passive) {
			back_to_listen(c, now);
			return;
		}
		drop_answer(c, PTCP_DROP_SYN_CHALLENGED, seg, ANSWER_CHALLENGE, now);
		return;
	}

	/* Fifth check: ACK. */
	if (!(seg->flags & PTCP_TH_ACK)) {
		drop(c, PTCP_DROP_BAD_FLAGS, now);
		return;
	}
	if (c->state == PTCP_SYN_RECEIVED) {
		if (!ptcp_seq_gt(seg->ack, c->snd_una) || ptcp_seq_gt(seg->ack, c->snd_nxt)) {
			drop(c, PTCP_DROP_BAD_ACK, now);
			reply_rst_to_ack(c, seg);
			return;
		}
		c->syn_due = false;
		set_state(c, PTCP_ESTABLISHED, now);
		if (c->syn_timed_out && !c->rtt.has_sample && c->rtt.rto < RTO_AFTER_SYN_TIMEOUT)
			c->rtt.rto = RTO_AFTER_SYN_TIMEOUT;
		/* SND.WND from this segment (RFC 9293 3.10.7.4, SYN-RECEIVED). */
		c->snd_wnd = (uint32_t)seg->wnd << c->snd_wscale;
		if (c->snd_wnd > c->max_snd_wnd)
			c->max_snd_wnd = c->snd_wnd;
		c->snd_wl1 = seg->seq;
		c->snd_wl2 = seg->ack;
		if (c->fin_queued)
			set_state(c, PTCP_FIN_WAIT_1, now);
	}
	if (!process_ack(c, seg, now))
		return;

	switch (c->state) {
	case PTCP_FIN_WAIT_1:
		if (fin_acked(c))
			set_state(c, PTCP_FIN_WAIT_2, now);
		break;
	case PTCP_CLOSING:
		if (fin_acked(c)) {
			set_state(c, PTCP_TIME_WAIT, now);
			stop_timers(c);
			c->timewait_at = ptcp_ts_add(now, 2 * c->cfg.msl);
		}
		break;
	case PTCP_LAST_ACK:
		if (fin_acked(c)) {
			close_with(c, 0, now);
			return;
		}
		break;
	default:
		break;
	}

	/* Sixth check, URG: urgent data is delivered in line (RFC 6093 advises
	 * against using it). Seventh and eighth: text and FIN. A front part
	 * that arrived before is a duplicate to report (RFC 2883 4.1.1). */
	if (seg->len > 0 && ptcp_seq_lt(seg->seq, c->rcv_nxt))
		note_duplicate(c, seg->seq, ptcp_seq_min(seg->seq + (uint32_t)seg->len, c->rcv_nxt));
	trim_to_window(c, seg);
	if (seglen > 0 && ptcp_segment_seqlen(seg) == 0) {
		/* Text that did not fit (a closed window): tell the peer. */
		drop(c, PTCP_DROP_NO_SPACE, now);
		c->ack_now = true;
	}
	process_text(c, seg, now);
}

int ptcp_conn_input(struct ptcp_conn *c, const struct ptcp_segment *in,
                    const struct ptcp_endpoint *src, ptcp_ts now)
{
	struct ptcp_segment seg;

	if (!c || !in)
		return PTCP_ERR_INVAL;
	c->st.segs_in++;
	if (in->dport != c->local.port ||
	    (c->remote.family != PTCP_AF_NONE && in->sport != c->remote.port)) {
		drop(c, PTCP_DROP_PORTS, now);
		return 0;
	}
	seg = *in;
	if (synchronized(c->state) && c->cfg.keepalive_idle) {
		c->keepalive_probes = 0;
		c->keepalive_at = ptcp_ts_add(now, c->cfg.keepalive_idle);
	}
	switch (c->state) {
	case PTCP_CLOSED:
		input_closed(c, &seg, now);
		break;
	case PTCP_LISTEN:
		input_listen(c, &seg, src, now);
		break;
	case PTCP_SYN_SENT:
		input_syn_sent(c, &seg, now);
		break;
	default:
		input_other(c, &seg, now);
		break;
	}
	return 0;
}

int ptcp_conn_input_bytes(struct ptcp_conn *c, const uint8_t *buf, size_t len,
                          const struct ptcp_endpoint *src, ptcp_ts now)
{
	struct ptcp_segment seg;
	const struct ptcp_endpoint *from;
	int rv;

	if (!c || (!buf && len))
		return PTCP_ERR_INVAL;
	from = src ? src : &c->remote;
	if (from->family == PTCP_AF_NONE)
		return PTCP_ERR_INVAL;
	rv = ptcp_segment_parse(&seg, buf, len, from, &c->local);
	if (rv != 0) {
		drop(c, rv == PTCP_ERR_CHECKSUM ? PTCP_DROP_CHECKSUM : PTCP_DROP_MALFORMED, now);
		return rv;
	}
	if (c->remote.family != PTCP_AF_NONE && src && !ptcp_endpoint_equal(src, &c->remote)) {
		/* Compare addresses only: the port check is in input. */
		struct ptcp_endpoint a = *src;

		a.port = c->remote.port;
		if (!ptcp_endpoint_equal(&a, &c->remote)) {
			drop(c, PTCP_DROP_PORTS, now);
			return 0;
		}
	}
	return ptcp_conn_input(c, &seg, from, now);
}

/* ------------------------------------------------------------------- output */

/* The window to advertise, with receiver-side silly window syndrome
 * avoidance (RFC 9293 3.8.6.2.2): the right edge moves only by at least
 * min(RCV.BUFF/2, MSS), and never backwards. Returns bytes (unscaled). */
static uint32_t advertised_window(struct ptcp_conn *c)
{
	uint32_t avail = (uint32_t)ptcp_rcvbuf_window(&c->rb);
	ptcp_seq edge = c->rcv_nxt + avail;
	uint32_t half = (uint32_t)(c->rb.cap / 2);
	uint32_t step = half < c->cfg.mss ? half : c->cfg.mss;
	uint32_t max = (uint32_t)0xffff << c->rcv_wscale;

	if (ptcp_seq_ge(edge, c->rcv_adv + step) || ptcp_seq_lt(c->rcv_adv, c->rcv_nxt))
		c->rcv_adv = edge;
	avail = ptcp_seq_gt(c->rcv_adv, c->rcv_nxt) ? (uint32_t)(c->rcv_adv - c->rcv_nxt) : 0;
	if (avail > max)
		avail = max;
	return avail;
}

/* The SACK blocks of an ACK (RFC 2018 section 4): a pending D-SACK first,
 * followed by the island it lies in, if any (RFC 2883 section 4); then the
 * islands, the one holding the most recent arrival first. The codec keeps
 * as many as fit beside the other options: 3 with timestamps, 4 without. */
static void fill_sack(struct ptcp_conn *c, struct ptcp_segment *seg)
{
	unsigned i, n = 0, skip = PTCP_RCVBUF_MAX_RANGES;

	if (!c->sack_ok)
		return;
	if (c->dsack_due) {
		seg->opt.sack[n].left = c->dsack_left;
		seg->opt.sack[n++].right = c->dsack_right;
		for (i = 0; i < c->rb.n_ranges; i++) {
			ptcp_seq l = c->rcv_nxt + c->rb.ranges[i].off;

			if (ptcp_seq_le(l, c->dsack_left) &&
			    ptcp_seq_ge(l + c->rb.ranges[i].len, c->dsack_right)) {
				skip = i;
				seg->opt.sack[n].left = l;
				seg->opt.sack[n++].right = l + c->rb.ranges[i].len;
				break;
			}
		}
	}
	for (i = 0; i < c->rb.n_ranges && n < PTCP_SACK_MAX; i++) {
		if (i == skip)
			continue;
		seg->opt.sack[n].left = c->rcv_nxt + c->rb.ranges[i].off;
		seg->opt.sack[n++].right = c->rcv_nxt + c->rb.ranges[i].off + c->rb.ranges[i].len;
	}
	seg->opt.sack_count = (uint8_t)n;
}

/* Fills the fields every segment of this connection shares. */
static void seg_init(struct ptcp_conn *c, struct ptcp_segment *seg, uint8_t flags, ptcp_seq seq,
                     ptcp_ts now)
{
	memset(seg, 0, sizeof(*seg));
	seg->sport = c->local.port;
	seg->dport = c->remote.port;
	seg->flags = flags;
	seg->seq = seq;
	/* RFC 7323 3.2: once agreed, in every segment (a RST too: SHOULD);
	 * TSecr is TS.Recent (4.3). A SYN sets its own. */
	if (c->ts_ok && !(flags & PTCP_TH_SYN)) {
		seg->opt.has_ts = true;
		seg->opt.ts_val = ts_now(c, now);
		seg->opt.ts_ecr = c->ts_recent;
	}
	if (flags & PTCP_TH_ACK) {
		uint32_t w = advertised_window(c);

		seg->ack = c->rcv_nxt;
		/* RFC 7323 2.2: a SYN's window is never scaled. */
		seg->wnd = (uint16_t)((flags & PTCP_TH_SYN) ? (w > 0xffff ? 0xffff : w)
		                                             : w >> c->rcv_wscale);
	}
}

static int finish(struct ptcp_conn *c, struct ptcp_segment *seg, uint8_t *buf, size_t cap)
{
	int n = c->tx_no_csum ? ptcp_segment_emit(seg, buf, cap, NULL, NULL)
			      : ptcp_segment_emit(seg, buf, cap, &c->local, &c->remote);

	if (n < 0)
		return n;
	c->st.segs_out++;
	if (c->dsack_due && seg->opt.sack_count && seg->opt.sack[0].left == c->dsack_left &&
	    seg->opt.sack[0].right == c->dsack_right)
		c->dsack_due = false; /* reported once (RFC 2883 section 4) */
	if (seg->flags & PTCP_TH_ACK) {
		c->last_ack_sent = seg->ack;
		/* Any ACK we send satisfies pending ACK wishes. */
		c->ack_now = false;
		c->ack_flush = false;
		c->unacked_segs = 0;
		c->delack_at = PTCP_TS_NEVER;
	}
	return n;
}

/* The next queued control segment, 0 when none is left (an addressed one
 * the caller cannot send is discarded). */
static int emit_ctl(struct ptcp_conn *c, uint8_t *buf, size_t cap, struct ptcp_txinfo *info,
                    ptcp_ts now)
{
	struct ptcp_segment seg;
	struct ctl k;
	int n;

	do {
		if (c->n_ctl == 0)
			return 0;
		k = c->ctl[0];
		memmove(&c->ctl[0], &c->ctl[1], (c->n_ctl - 1) * sizeof(c->ctl[0]));
		c->n_ctl--;
	} while (k.addressed && !(info && info->caps & PTCP_TXCAP_DST));
	if (k.addressed) {
		/* Only RSTs are addressed (to a sender we are not bound to). */
		memset(&seg, 0, sizeof(seg));
		seg.sport = c->local.port;
		seg.dport = k.to.port;
		seg.flags = k.flags;
		seg.seq = k.seq;
		n = ptcp_segment_emit(&seg, buf, cap, &c->local, &k.to);
		if (n > 0) {
			c->st.segs_out++;
			c->reply_dst = k.to;
			info->dst = &c->reply_dst;
		}
		return n;
	}
	if (k.flags & PTCP_TH_ACK) {
		seg_init(c, &seg, k.flags, k.seq, now);
		seg.ack = k.ack;
		fill_sack(c, &seg);
	} else {
		seg_init(c, &seg, k.flags, k.seq, now);
	}
	return finish(c, &seg, buf, cap);
}

static int emit_syn(struct ptcp_conn *c, uint8_t *buf, size_t cap, struct ptcp_txinfo *info,
                    ptcp_ts now)
{
	struct ptcp_segment seg;
	bool synack = c->state == PTCP_SYN_RECEIVED;
	int n;

	seg_init(c, &seg, synack ? PTCP_TH_SYN | PTCP_TH_ACK : PTCP_TH_SYN, c->iss, now);
	if (!synack)
		seg.wnd = (uint16_t)(c->rb.cap > 0xffff ? 0xffff : c->rb.cap);
	seg.opt.has_mss = true;
	seg.opt.mss = c->cfg.mss;
	/* In a SYN-ACK, offer window scale and SACK only if the peer did
	 * (RFC 7323 1.3, RFC 2018); a SYN (also the crossing one of a
	 * simultaneous open) offers what we support. */
	if (synack) {
		seg.opt.has_wscale = c->wscale_ok;
		seg.opt.sack_permitted = c->sack_ok;
	} else {
		seg.opt.has_wscale = c->cfg.window_scale;
		seg.opt.sack_permitted = c->cfg.sack;
	}
	seg.opt.wscale = c->rcv_wscale;
	/* RFC 7323 3.2: a SYN may offer timestamps (TSecr 0, not echoed yet);
	 * a SYN-ACK carries them only if the peer's SYN did. */
	if (synack ? c->ts_ok : c->cfg.timestamps) {
		seg.opt.has_ts = true;
		seg.opt.ts_val = ts_now(c, now);
		seg.opt.ts_ecr = synack ? c->ts_recent : 0;
	}
	n = finish(c, &seg, buf, cap);
	if (n < 0)
		return n;
	if (info && c->syn_sent_count == 0 && c->cfg.first_syn_ttl)
		info->ttl = c->cfg.first_syn_ttl;
	c->syn_due = false;
	c->syn_last_at = now;
	if (c->syn_sent_count++ == 0) {
		c->rtt_timing = true;
		c->rtt_seq = c->iss + 1;
		c->rtt_start = now;
	}
	if (ptcp_seq_lt(c->snd_max, c->iss + 1))
		c->snd_max = c->iss + 1;
	if (c->rtx_at == PTCP_TS_NEVER)
		arm_rtx(c, now);
	return n;
}

/* Builds the data (and/or FIN) segment at seq with up to len payload bytes,
 * reading the payload from the send buffer straight into buf. rec is -1
 * for new data, which may span max_segs segments of the same size (a
 * super-segment for segmentation offload; info->gso_size then says where
 * to cut it), or the index of the segment record being sent again, whole.
 * Records the new segments, or the retransmission, with loss recovery. */
static int emit_data(struct ptcp_conn *c, uint8_t *buf, size_t cap, ptcp_seq seq, uint32_t len,
                     unsigned max_segs, int32_t rec, struct ptcp_txinfo *info, ptcp_ts now)
{
	struct ptcp_segment seg;
	size_t off = (uint32_t)(seq - c->sb_seq);
	size_t buffered = ptcp_sendbuf_len(&c->sb);
	bool again = rec >= 0, fin;
	size_t hlen;
	uint32_t room, end;
	int n;

	seg_init(c, &seg, PTCP_TH_ACK, seq, now);
	fill_sack(c, &seg);
	hlen = ptcp_segment_header_len(&seg);
	/* Options take room from the payload (RFC 9293 3.7.1). A record goes
	 * out whole: if SACK blocks leave too little room for it, they stay
	 * for the next ACK (the timestamp option alone always fits, since
	 * the record was cut with it). */
	room = c->snd_mss - (uint32_t)(hlen - PTCP_TCP_HDR_MIN);
	if (again && len > room) {
		seg.opt.sack_count = 0;
		hlen = ptcp_segment_header_len(&seg);
		room = c->snd_mss - (uint32_t)(hlen - PTCP_TCP_HDR_MIN);
	}
	if (len > room * max_segs)
		len = room * max_segs;
	if (len > cap - hlen)
		len = (uint32_t)((cap - hlen) / room * room);
	if (len > 0) {
		len = (uint32_t)ptcp_sendbuf_peek(&c->sb, off, buf + hlen, len);
		seg.payload = buf + hlen;
		seg.len = len;
		seg.flags |= PTCP_TH_PSH * (off + len == buffered);
	}
	if (again)
		fin = ptcp_txq_at(&c->loss.q, (uint32_t)rec)->flags & PTCP_TXSEG_FIN;
	else
		fin = c->fin_queued && seq + len == c->fin_seq;
	if (fin)
		seg.flags |= PTCP_TH_FIN;
	if (seg.len == 0 && !fin)
		return 0;
	n = finish(c, &seg, buf, cap);
	if (n < 0)
		return n;
	if (info && len > room)
		info->gso_size = (uint16_t)room;

	c->st.bytes_out += seg.len;
	end = seq + ptcp_segment_seqlen(&seg);
	if (again) {
		c->st.retransmits++;
		ptcp_loss_sent_again(&c->loss, (uint32_t)rec, now, c->ts_ok, seg.opt.ts_val);
	} else {
		/* One record per piece the wire will carry; the FIN goes with
		 * the last. */
		ptcp_seq p = seq;
		uint32_t left = len;

		do {
			uint32_t piece = left < room ? left : room;

			left -= piece;
			ptcp_loss_sent_new(&c->loss, p, piece + (fin && !left), fin && !left, now);
			p += piece + (fin && !left);
		} while (left);
		c->probing = false; /* the probe byte, if any, went with this data */
		if (c->unacked_since == PTCP_TS_NEVER)
			c->unacked_since = now;
		if (ptcp_seq_gt(end, c->snd_nxt))
			c->snd_nxt = end;
		if (ptcp_seq_gt(end, c->snd_max))
			c->snd_max = end;
	}
	if (c->rtx_at == PTCP_TS_NEVER)
		arm_rtx(c, now); /* RFC 6298 (5.1) */
	return n;
}

/* A zero-window probe (RFC 9293 3.8.6.1): one byte of new data past the
 * closed window, which the peer answers with its window. The byte is not
 * in flight: SND.NXT stays before it (only SND.MAX remembers it, so an ACK
 * of it is acceptable), no RTT is timed on it and the retransmission
 * timer is not armed for it. Unanswered probes are repeated by the persist
 * timer with its own backoff; they are not losses (RFC 5681 3.1): no cwnd
 * collapse, no RTO backoff. When the window opens the byte goes out again
 * with the data behind it. */
static int send_probe(struct ptcp_conn *c, uint8_t *buf, size_t cap, ptcp_ts now)
{
	struct ptcp_segment seg;
	size_t off = (uint32_t)(c->snd_nxt - c->sb_seq);
	size_t hlen;
	uint64_t t = c->rtt.rto;
	unsigned i;
	int n;

	seg_init(c, &seg, PTCP_TH_ACK, c->snd_nxt, now);
	fill_sack(c, &seg);
	hlen = ptcp_segment_header_len(&seg);
	if (ptcp_sendbuf_peek(&c->sb, off, buf + hlen, 1) != 1)
		return 0;
	seg.payload = buf + hlen;
	seg.len = 1;
	n = finish(c, &seg, buf, cap);
	if (n < 0)
		return n;
	c->st.bytes_out++;
	c->st.window_probes++;
	c->probing = true;
	if (ptcp_seq_lt(c->snd_max, c->snd_nxt + 1))
		c->snd_max = c->snd_nxt + 1;
	/* SHLD-30: the interval between probes grows exponentially. */
	for (i = 0; i < c->persist_backoff && t < c->cfg.rto_max; i++)
		t *= 2;
	c->persist_at = ptcp_ts_add(now, t < c->cfg.rto_max ? t : c->cfg.rto_max);
	return n;
}

/* Bytes of the send buffer not sent yet (the FIN is not data). */
static uint32_t unsent_bytes(const struct ptcp_conn *c)
{
	ptcp_seq end = c->sb_seq + (uint32_t)ptcp_sendbuf_len(&c->sb);

	return ptcp_seq_lt(c->snd_nxt, end) ? (uint32_t)(end - c->snd_nxt) : 0;
}

/* New bytes the peer's window still takes beyond SND.NXT. */
static uint32_t rwnd_room(const struct ptcp_conn *c)
{
	ptcp_seq edge = c->snd_una + c->snd_wnd;

	return ptcp_seq_gt(edge, c->snd_nxt) ? (uint32_t)(edge - c->snd_nxt) : 0;
}

/* How many new bytes may go out now within win (the congestion window's
 * room or the PRR quota) and the peer's window, and whether to send them
 * (sender-side silly window avoidance, RFC 9293 3.8.6.2.1, without Nagle:
 * we act as with TCP_NODELAY, the driver writes whole pipe reads). */
static uint32_t sendable(const struct ptcp_conn *c, uint32_t win)
{
	uint32_t unsent = unsent_bytes(c), usable = rwnd_room(c), n;

	if (usable > win)
		usable = win;
	n = unsent < usable ? unsent : usable;
	if (n == 0)
		return 0;
	if (n >= smss(c) || n == unsent || n >= c->max_snd_wnd / 2)
		return n;
	return 0;
}

/* Sends record i again (whole). */
static int retransmit(struct ptcp_conn *c, uint8_t *buf, size_t cap, uint32_t i,
                      struct ptcp_txinfo *info, ptcp_ts now)
{
	const struct ptcp_txseg *r = ptcp_txq_at(&c->loss.q, i);
	ptcp_seq seq = r->seq;
	bool head = c->loss.head_due;
	int rv = emit_data(c, buf, cap, seq, r->len - !!(r->flags & PTCP_TXSEG_FIN), 1, (int32_t)i,
	                   info, now);

	if (rv > 0 && !head) {
		c->st.fast_retransmits++;
		fast_retransmit_event(c, seq, now);
	}
	return rv;
}

/* RFC 8985 7.3: the PTO fired. A new segment if one may go (whatever cwnd
 * says), else the last segment again; then the RTO, not another PTO. */
static int send_tlp(struct ptcp_conn *c, uint8_t *buf, size_t cap, struct ptcp_txinfo *info,
                    ptcp_ts now)
{
	struct ptcp_loss *l = &c->loss;
	uint32_t n = unsent_bytes(c), room = rwnd_room(c);
	int rv;

	l->tlp_due = false;
	if (ptcp_txq_empty(&l->q))
		return 0;
	if (n && room && ptcp_loss_room(l)) {
		if (n > room)
			n = room;
		rv = emit_data(c, buf, cap, c->snd_nxt, n < smss(c) ? n : smss(c), 1, -1, info, now);
		if (rv > 0)
			ptcp_loss_tlp_sent(l, c->snd_nxt, false);
	} else {
		/* The highest segment the peer has not reported holding. */
		uint32_t i = l->q.n;

		while (i > 0 && ptcp_txq_at(&l->q, i - 1)->flags & PTCP_TXSEG_SACKED)
			i--;
		if (i == 0)
			return 0;
		rv = retransmit(c, buf, cap, i - 1, info, now);
		if (rv > 0)
			ptcp_loss_tlp_sent(l, c->snd_nxt, true);
	}
	arm_rtx(c, now);
	return rv;
}

/* Pacing (pacer.h): whether a data segment may leave now. When not, the
 * output holds it and the pacing deadline becomes the connection's next
 * expiry. */
static bool pace_ok(struct ptcp_conn *c, uint64_t rate, ptcp_ts now)
{
	if (ptcp_pacer_ready(&c->pacer, rate, now))
		return true;
	c->pace_at = ptcp_pacer_next(&c->pacer);
	return false;
}

/* A data segment of n bytes (header included) left at now: the next
 * departure, at the rate as it is after this transmission. */
static void paced(struct ptcp_conn *c, const uint8_t *seg, int n, ptcp_ts now)
{
	uint32_t hlen = (uint32_t)(seg[12] >> 4) * 4, quantum;
	uint64_t rate = ptcp_loss_pacing(&c->loss, c->rtt.srtt, &quantum);

	if (rate && n > 0 && (uint32_t)n > hlen)
		ptcp_pacer_sent(&c->pacer, (uint32_t)n - hlen, rate, quantum, now);
}

/* Data, retransmissions and the FIN, in RFC 6675 NextSeg() order: a due
 * probe, lost segments (rule 1), new data (rule 2), other holes (rule 3);
 * then the zero-window probe and the persist timer. Data segments leave
 * at the pacing rate, if congestion control sets one. Returns the
 * segment's length or 0. */
static int send_data(struct ptcp_conn *c, uint8_t *buf, size_t cap, unsigned max_segs,
                     struct ptcp_txinfo *info, ptcp_ts now)
{
	struct ptcp_loss *l = &c->loss;
	bool fin_unsent = c->fin_queued && ptcp_seq_le(c->snd_nxt, c->fin_seq);
	uint32_t unsent = unsent_bytes(c), win, n, quantum;
	uint64_t rate = ptcp_loss_pacing(l, c->rtt.srtt, &quantum);
	int32_t i;
	int rv;

	c->pace_at = PTCP_TS_NEVER;
	if (l->tlp_due) {
		if (!pace_ok(c, rate, now))
			return 0;
		if ((rv = send_tlp(c, buf, cap, info, now)) != 0) {
			paced(c, buf, rv, now);
			return rv;
		}
	}
	win = ptcp_loss_window(l);
	i = ptcp_loss_next_seg(l, unsent == 0 || rwnd_room(c) == 0);
	if (i >= 0) {
		const struct ptcp_txseg *r = ptcp_txq_at(&l->q, (uint32_t)i);

		/* RFC 6298 (5.4) resends the first segment whatever the window
		 * says; otherwise a whole segment must fit (RFC 6675 (C.5)). */
		if (l->head_due || win >= r->len) {
			if (!pace_ok(c, rate, now))
				return 0;
			rv = retransmit(c, buf, cap, (uint32_t)i, info, now);
			if (rv > 0) {
				paced(c, buf, rv, now);
				ptcp_loss_schedule_tlp(l, now, c->rtt.srtt, c->rtx_at);
			}
			return rv;
		}
		ptcp_loss_note_limited(l, true);
		return 0;
	}
	if (c->probe_due) {
		/* The persist timer fired. With a zero window: a probe of
		 * one new byte (RFC 9293 3.8.6.1). With a small one: the
		 * sender SWS override timeout, send what fits (3.8.6.2.1). */
		uint32_t usable = c->snd_wnd < l->cc.cwnd ? c->snd_wnd : l->cc.cwnd;

		c->probe_due = false;
		if (unsent && c->snd_nxt == c->snd_una) {
			if (usable == 0)
				return send_probe(c, buf, cap, now);
			return emit_data(c, buf, cap, c->snd_nxt, usable, 1, -1, info, now);
		}
	}
	n = ptcp_loss_room(l) ? sendable(c, win) : 0;
	if (n > 0) {
		if (!pace_ok(c, rate, now))
			return 0;
		if (max_segs > ptcp_loss_room(l))
			max_segs = ptcp_loss_room(l);
		/* A paced super-segment is at most a send quantum. */
		if (rate && max_segs > 1 && max_segs > quantum / smss(c))
			max_segs = quantum / smss(c) ? quantum / smss(c) : 1;
		rv = emit_data(c, buf, cap, c->snd_nxt, n, max_segs, -1, info, now);
		if (rv > 0) {
			paced(c, buf, rv, now);
			ptcp_loss_schedule_tlp(l, now, c->rtt.srtt, c->rtx_at);
		}
		return rv;
	}
	/* Was it cwnd (or PRR) that held data back, or the peer's window and
	 * the application? Only the first says anything about cwnd (RFC 7661);
	 * the others make delivery rate samples application-limited: a sender
	 * the peer's window holds back measures the receiver, not the path
	 * (RFC 9438 5.8 counts a flow limited by the receiver's window as
	 * application-limited too). Beyond the delivery rate draft and Linux,
	 * whose BBR counts such rounds towards a full pipe: a Linux receiver
	 * behind a lossy path grows its window slowly (its autotuning follows
	 * what the application read in order), and Startup took three rounds
	 * held at the window for the path's bandwidth. */
	ptcp_loss_note_limited(l, unsent > 0 && rwnd_room(c) > win);
	ptcp_loss_check_app_limited(l, unsent < rwnd_room(c) ? unsent : rwnd_room(c));
	if (fin_unsent && c->snd_nxt == c->fin_seq && unsent == 0 && ptcp_loss_room(l)) {
		rv = emit_data(c, buf, cap, c->snd_nxt, 0, 1, -1, info, now);
		if (rv > 0)
			ptcp_loss_schedule_tlp(l, now, c->rtt.srtt, c->rtx_at);
		return rv;
	}
	/* Data waits on a closed (or silly small) window with nothing in
	 * flight to bring an ACK (a probe byte is not in flight): the
	 * persist timer will probe. */
	if (unsent && ptcp_txq_empty(&l->q) && c->persist_at == PTCP_TS_NEVER) {
		uint64_t t = c->rtt.rto;
		unsigned k;

		for (k = 0; k < c->persist_backoff && t < c->cfg.rto_max; k++)
			t *= 2;
		c->persist_at = ptcp_ts_add(now, t < c->cfg.rto_max ? t : c->cfg.rto_max);
	}
	return 0;
}

static int emit_pure_ack(struct ptcp_conn *c, uint8_t *buf, size_t cap, ptcp_ts now)
{
	struct ptcp_segment seg;

	/* SND.MAX, not SND.NXT: the peer may hold a zero-window probe byte
	 * beyond SND.NXT, and would find an ACK stamped with SND.NXT
	 * unacceptable and never read its ACK field (when the sender went back
	 * to SND.UNA after a timeout, both ends could deadlock so: seen in the
	 * simulation). */
	seg_init(c, &seg, PTCP_TH_ACK, c->snd_max, now);
	fill_sack(c, &seg);
	return finish(c, &seg, buf, cap);
}

int ptcp_conn_output(struct ptcp_conn *c, uint8_t *buf, size_t cap, struct ptcp_txinfo *info,
                     ptcp_ts now)
{
	return ptcp_conn_output_gso(c, buf, cap, 1, info, now);
}

int ptcp_conn_output_gso(struct ptcp_conn *c, uint8_t *buf, size_t cap, unsigned max_segs,
                         struct ptcp_txinfo *info, ptcp_ts now)
{
	int rv;

	if (!c || !buf || max_segs == 0)
		return PTCP_ERR_INVAL;
	if (cap < (size_t)PTCP_TCP_HDR_MAX + c->cfg.mss)
		return PTCP_ERR_NOBUF;
	if (info) {
		info->ttl = 0;
		info->gso_size = 0;
		info->dst = NULL;
	}
	if (c->pace_at <= now)
		c->pace_at = PTCP_TS_NEVER; /* due: send_data decides again */
	c->tx_no_csum = info && (info->caps & PTCP_TXCAP_CSUM);

	if (c->n_ctl > 0 && (rv = emit_ctl(c, buf, cap, info, now)) != 0)
		return rv;
	if (c->state == PTCP_CLOSED || c->state == PTCP_LISTEN)
		return 0;
	if (c->syn_due && (c->state == PTCP_SYN_SENT || c->state == PTCP_SYN_RECEIVED))
		return emit_syn(c, buf, cap, info, now);

	if (can_send_data(c->state) && (rv = send_data(c, buf, cap, max_segs, info, now)) != 0)
		return rv;
	if (c->keepalive_due) {
		struct ptcp_segment seg;

		/* <SEQ=SND.MAX-1>: an old byte the peer must acknowledge. */
		c->keepalive_due = false;
		seg_init(c, &seg, PTCP_TH_ACK, c->snd_max - 1, now);
		return finish(c, &seg, buf, cap);
	}
	if (c->ack_now)
		return emit_pure_ack(c, buf, cap, now);
	return 0;
}

/* ------------------------------------------------------------------- timers */

/* When the user timeout ends the connection, or PTCP_TS_NEVER. */
static ptcp_ts user_timeout_at(const struct ptcp_conn *c)
{
	if (!c->cfg.user_timeout || c->unacked_since == PTCP_TS_NEVER || c->state == PTCP_CLOSED ||
	    c->state == PTCP_TIME_WAIT)
		return PTCP_TS_NEVER;
	return ptcp_ts_add(c->unacked_since, c->cfg.user_timeout);
}

ptcp_ts ptcp_conn_expiry(const struct ptcp_conn *c)
{
	ptcp_ts t;

	if (!c)
		return PTCP_TS_NEVER;
	t = ptcp_ts_min(c->rtx_at, c->persist_at);
	t = ptcp_ts_min(t, c->pace_at);
	t = ptcp_ts_min(t, c->delack_at);
	t = ptcp_ts_min(t, c->keepalive_at);
	t = ptcp_ts_min(t, ptcp_loss_expiry(&c->loss));
	t = ptcp_ts_min(t, user_timeout_at(c));
	return ptcp_ts_min(t, c->timewait_at);
}

static void on_rtx_timeout(struct ptcp_conn *c, ptcp_ts now)
{
	struct ptcp_event ev = { .type = PTCP_EV_RETRANSMIT, .seq = c->snd_una };
	bool handshake = c->state == PTCP_SYN_SENT || c->state == PTCP_SYN_RECEIVED;
	unsigned limit = handshake ? c->cfg.syn_retries : c->cfg.data_retries;

	c->rtx_at = PTCP_TS_NEVER;
	if (ptcp_txq_empty(&c->loss.q) && !handshake)
		return;
	if (c->syn_early && handshake) {
		/* A SYN brought forward by a RST while punching. */
		c->st.retransmits++;
		c->syn_due = true;
		arm_rtx(c, now);
		return;
	}
	if (c->rto_count >= limit) {
		int err = PTCP_ERR_TIMEOUT;

		if (handshake && c->isn_mismatch_seen)
			err = PTCP_ERR_ISN_MISMATCH;
		close_with(c, err, now);
		return;
	}
	c->rto_count++;
	c->st.rto_count++;
	ev.backoff = c->rto_count;
	emit_event(c, &ev, now);
	c->rtt_timing = false; /* Karn */
	if (handshake) {
		c->st.retransmits++;
		c->syn_timed_out = true;
		c->syn_due = true;
		if (!c->cfg.syn_interval) {
			ptcp_rtt_backoff(&c->rtt);
		} else if (c->cfg.syn_interval_max) {
			/* Punching: tight at first, then backing off. */
			if (!c->syn_gap)
				c->syn_gap = c->cfg.syn_interval;
			c->syn_gap = c->syn_gap > c->cfg.syn_interval_max / 2 ?
				     c->cfg.syn_interval_max : 2 * c->syn_gap;
			if (c->syn_gap < c->cfg.syn_interval)
				c->syn_gap = c->cfg.syn_interval;
		}
		arm_rtx(c, now);
		return;
	}
	/* RFC 6298 (5.4)-(5.6) and RFC 5681 (4): retransmit the earliest
	 * segment, back off, collapse the window; the losses RFC 8985 6.3
	 * marks are then resent in slow start. */
	ptcp_loss_on_rto(&c->loss, now, c->rto_count, c->snd_max, c->rtt.srtt);
	ptcp_rtt_backoff(&c->rtt);
	arm_rtx(c, now);
}

int ptcp_conn_handle_expiry(struct ptcp_conn *c, ptcp_ts now)
{
	if (!c)
		return PTCP_ERR_INVAL;
	if (c->timewait_at <= now) {
		c->timewait_at = PTCP_TS_NEVER;
		close_with(c, 0, now);
		return 0;
	}
	/* RFC 9293 3.8.3: data not delivered within the user timeout ends
	 * the connection, whatever the retransmission count says. */
	if (user_timeout_at(c) <= now) {
		close_with(c, PTCP_ERR_USER_TIMEOUT, now);
		return 0;
	}
	/* Paced data is due: the next output sends it. */
	if (c->pace_at <= now)
		c->pace_at = PTCP_TS_NEVER;
	if (c->rtx_at <= now)
		on_rtx_timeout(c, now);
	if (c->state == PTCP_CLOSED)
		return 0;
	if (ptcp_loss_expiry(&c->loss) <= now) {
		ptcp_seq first;

		/* RACK's reordering timer found a loss, or the PTO fired; what
		 * that sends reports itself (PTCP_EV_FAST_RETRANSMIT). */
		(void)ptcp_loss_on_timer(&c->loss, now, c->rtt.srtt, c->snd_max, c->rtx_at, &first);
	}
	if (c->persist_at <= now) {
		/* A peer that stopped answering our probes altogether is gone
		 * (RFC 1122 4.2.2.17 only asks to probe while it answers): the
		 * same limit as for unanswered retransmissions. */
		if (c->persist_unanswered >= c->cfg.data_retries) {
			close_with(c, PTCP_ERR_TIMEOUT, now);
			return 0;
		}
		c->persist_unanswered++;
		c->persist_at = PTCP_TS_NEVER;
		c->probe_due = true;
		c->persist_backoff++;
	}
	if (c->delack_at <= now) {
		c->delack_at = PTCP_TS_NEVER;
		c->ack_now = true;
	}
	if (c->keepalive_at <= now) {
		if (c->snd_una != c->snd_max) {
			/* Not idle: retransmissions watch the peer. */
			c->keepalive_at = ptcp_ts_add(now, c->cfg.keepalive_idle);
			return 0;
		}
		if (c->keepalive_probes >= c->cfg.keepalive_count) {
			close_with(c, PTCP_ERR_KEEPALIVE, now);
			return 0;
		}
		c->keepalive_probes++;
		c->keepalive_due = true;
		c->keepalive_at = ptcp_ts_add(now, c->cfg.keepalive_interval);
	}
	return 0;
}

/* -------------------------------------------------------------- application */

ptcp_ssize ptcp_conn_send(struct ptcp_conn *c, const void *data, size_t len, ptcp_ts now)
{
	(void)now;
	if (!c || (!data && len))
		return PTCP_ERR_INVAL;
	if (c->state == PTCP_CLOSED)
		return c->error ? c->error : PTCP_ERR_STATE;
	if (c->state == PTCP_LISTEN)
		return PTCP_ERR_STATE;
	if (c->fin_queued)
		return PTCP_ERR_CLOSED;
	if (len > ptcp_sendbuf_space(&c->sb))
		grow_sndbuf(c);
	return (ptcp_ssize)ptcp_sendbuf_write(&c->sb, data, len);
}

/* The application took n bytes out of the receive buffer. */
static ptcp_ssize after_read(struct ptcp_conn *c, size_t n, ptcp_ts now)
{
	ptcp_seq before;
	uint32_t step;

	if (n == 0 || c->rfin || !synchronized(c->state))
		return (ptcp_ssize)n;
	autotune_rcvbuf(c, n, now);
	/* Reading opened the window. Tell the peer once the right edge can
	 * move by what advertised_window() lets it move (RFC 9293 3.8.6.2.2):
	 * after a zero window as soon as that is possible, otherwise when it
	 * moves by two segments (or half the buffer), so that reads do not
	 * turn into a stream of window updates the peer takes for duplicate
	 * ACKs. */
	before = c->rcv_adv;
	step = before == c->rcv_nxt ? 1u : 2u;
	step *= c->cfg.mss;
	if (step > c->rb.cap / 2)
		step = (uint32_t)(c->rb.cap / 2);
	if (ptcp_seq_ge(c->rcv_nxt + (uint32_t)ptcp_rcvbuf_window(&c->rb), before + step))
		c->ack_now = true;
	return (ptcp_ssize)n;
}

ptcp_ssize ptcp_conn_recv(struct ptcp_conn *c, void *buf, size_t cap, ptcp_ts now)
{
	if (!c || (!buf && cap))
		return PTCP_ERR_INVAL;
	return after_read(c, ptcp_rcvbuf_read(&c->rb, buf, cap), now);
}

unsigned ptcp_conn_recv_peek(const struct ptcp_conn *c, const uint8_t *base[2], size_t len[2])
{
	return c ? ptcp_rcvbuf_peek(&c->rb, base, len) : 0;
}

ptcp_ssize ptcp_conn_recv_consume(struct ptcp_conn *c, size_t n, ptcp_ts now)
{
	if (!c || n > c->rb.readable)
		return PTCP_ERR_INVAL;
	return after_read(c, ptcp_rcvbuf_consume(&c->rb, n), now);
}

bool ptcp_conn_recv_eof(const struct ptcp_conn *c)
{
	return c && c->rfin && c->rb.readable == 0;
}

size_t ptcp_conn_recv_ready(const struct ptcp_conn *c)
{
	return c ? c->rb.readable : 0;
}

size_t ptcp_conn_send_space(const struct ptcp_conn *c)
{
	if (!c || c->fin_queued || c->state == PTCP_CLOSED || c->state == PTCP_LISTEN)
		return 0;
	return ptcp_sendbuf_space(&c->sb);
}

size_t ptcp_conn_send_pending(const struct ptcp_conn *c)
{
	return c ? ptcp_sendbuf_len(&c->sb) : 0;
}

int ptcp_conn_shutdown(struct ptcp_conn *c, ptcp_ts now)
{
	if (!c)
		return PTCP_ERR_INVAL;
	if (c->fin_queued)
		return PTCP_ERR_CLOSED;
	switch (c->state) {
	case PTCP_CLOSED:
		return c->error ? c->error : PTCP_ERR_CLOSED;
	case PTCP_LISTEN:
	case PTCP_SYN_SENT:
		/* RFC 9293 3.10.4: delete the TCB. */
		close_with(c, 0, now);
		return 0;
	default:
		break;
	}
	c->fin_queued = true;
	c->fin_seq = c->sb_seq + (uint32_t)ptcp_sendbuf_len(&c->sb);
	if (c->state == PTCP_ESTABLISHED)
		set_state(c, PTCP_FIN_WAIT_1, now);
	else if (c->state == PTCP_CLOSE_WAIT)
		set_state(c, PTCP_LAST_ACK, now);
	/* SYN-RECEIVED: the FIN waits for ESTABLISHED (RFC 9293 3.10.4). */
	return 0;
}

int ptcp_conn_abort(struct ptcp_conn *c, ptcp_ts now)
{
	if (!c)
		return PTCP_ERR_INVAL;
	c->n_ctl = 0;
	/* RFC 9293 3.10.5: <SEQ=SND.NXT><CTL=RST> (SND.MAX here, see
	 * emit_pure_ack) from SYN-RECEIVED,
	 * ESTABLISHED, FIN-WAIT-1/2 and CLOSE-WAIT; CLOSING, LAST-ACK and
	 * TIME-WAIT are just deleted. */
	switch (c->state) {
	case PTCP_SYN_RECEIVED:
	case PTCP_ESTABLISHED:
	case PTCP_FIN_WAIT_1:
	case PTCP_FIN_WAIT_2:
	case PTCP_CLOSE_WAIT:
		queue_ctl(c, PTCP_TH_RST, c->snd_max, 0);
		break;
	default:
		break;
	}
	if (c->state != PTCP_CLOSED)
		close_with(c, PTCP_ERR_ABORTED, now);
	return 0;
}

/* ------------------------------------------------------------------ queries */

enum ptcp_state ptcp_conn_state(const struct ptcp_conn *c)
{
	return c ? c->state : PTCP_CLOSED;
}

int ptcp_conn_error(const struct ptcp_conn *c)
{
	return c ? c->error : PTCP_ERR_INVAL;
}

void ptcp_conn_stats(const struct ptcp_conn *c, struct ptcp_stats *st)
{
	if (!c || !st)
		return;
	*st = c->st;
	st->srtt = c->rtt.srtt;
	st->rttvar = c->rtt.rttvar;
	st->rto = c->rtt.rto;
	st->cwnd = c->loss.cc.cwnd;
	st->ssthresh = c->loss.cc.ssthresh;
	st->delivery_rate = c->loss.delivery_rate;
	if (c->loss.cc.algo == PTCP_CC_BBR) {
		const struct ptcp_bbr *b = &c->loss.cc.bbr;

		st->pacing_rate = b->pacing_rate;
		st->bbr_btlbw = b->btlbw;
		st->bbr_min_rtt = b->rtprop == UINT64_MAX ? 0 : b->rtprop;
		st->bbr_probe_rtts = b->probe_rtts;
		st->bbr_state = (uint8_t)b->state;
	}
	st->recoveries = c->loss.recoveries;
	st->loss_probes = c->loss.tlp_probes;
	st->undos = c->loss.undos;
	st->dsacks = c->loss.dsacks;
	st->pipe = ptcp_txq_pipe(&c->loss.q);
	st->snd_wnd = c->snd_wnd;
	st->rcv_wnd = (uint32_t)ptcp_rcvbuf_window(&c->rb);
	st->sndbuf = (uint32_t)c->sb.cap;
	st->rcvbuf = (uint32_t)c->rb.cap;
	st->snd_mss = c->snd_mss;
}

const struct ptcp_endpoint *ptcp_conn_local(const struct ptcp_conn *c)
{
	return &c->local;
}

const struct ptcp_endpoint *ptcp_conn_remote(const struct ptcp_conn *c)
{
	return &c->remote;
}

bool ptcp_conn_ack_due(const struct ptcp_conn *c)
{
	return c && c->ack_flush;
}

void *ptcp_conn_event_user(const struct ptcp_conn *c, ptcp_event_fn *fn)
{
	return c->cfg.on_event == fn ? c->cfg.user : NULL;
}

int ptcp_reset_for(const struct ptcp_segment *seg, struct ptcp_segment *rst)
{
	if (seg->flags & PTCP_TH_RST)
		return 0;
	memset(rst, 0, sizeof(*rst));
	rst->sport = seg->dport;
	rst->dport = seg->sport;
	if (seg->flags & PTCP_TH_ACK) {
		rst->flags = PTCP_TH_RST;
		rst->seq = seg->ack;
	} else {
		rst->flags = PTCP_TH_RST | PTCP_TH_ACK;
		rst->seq = 0;
		rst->ack = seg->seq + ptcp_segment_seqlen(seg);
	}
	return 1;
}
