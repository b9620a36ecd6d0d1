/* Every segment kind in every state, at the four positions around the
 * receive window, with the expected reply written as data.
 *
 * Synchronized states (and SYN-RECEIVED, reached passively and by crossing
 * SYNs): the segment carries ACK = SND.NXT (a peer that has seen all we
 * sent) and its sequence number is at one of
 *   L1  RCV.NXT - 1            just left of the window (old)
 *   LE  RCV.NXT                left edge
 *   RE  RCV.NXT + RCV.WND - 1  right edge
 *   R1  RCV.NXT + RCV.WND      just right of the window
 * Data segments carry one byte, so "L1" is entirely old and "RE" fits.
 *
 * The expectations follow RFC 9293 3.10.7.4 (first: sequence check, an
 * unacceptable segment draws <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> unless it
 * has RST; second: RST; fourth: SYN; fifth: ACK; seventh: text; eighth:
 * FIN), RFC 5961 (sections 3.2 and 4.2: exact RST resets, other in-window
 * RSTs and every SYN draw a challenge ACK) and RFC 1337 (RSTs ignored in
 * TIME-WAIT). The illegal mixes (SYN+FIN, SYN+RST, no flags at all) are
 * dropped as conn.h's PTCP_DROP_BAD_FLAGS says: the connection must not
 * move and must not send a RST; an ACK in reply is allowed.
 *
 * CLOSED, LISTEN and SYN-SENT have no receive window: their tables vary
 * the ACK field instead (RFC 9293 3.10.7.1 to 3.10.7.3). */
#include <stdio.h>
#include <string.h>

#include "script.h"

enum kind { K_SYN, K_SYNACK, K_ACK, K_DATA, K_FIN, K_RST, K_RSTACK, K_SYNFIN, K_SYNRST, K_NOFLAGS, K__N };

static const struct {
	const char *name;
	uint8_t flags;
	size_t len;
} kinds[K__N] = {
	[K_SYN] = { "SYN", SYN, 0 },
	[K_SYNACK] = { "SYN-ACK", SYN | ACK, 0 },
	[K_ACK] = { "ACK", ACK, 0 },
	[K_DATA] = { "data", ACK | PSH, 1 },
	[K_FIN] = { "FIN", FIN | ACK, 0 },
	[K_RST] = { "RST", RST, 0 },
	[K_RSTACK] = { "RST-ACK", RST | ACK, 0 },
	[K_SYNFIN] = { "SYN+FIN", SYN | FIN, 0 },
	[K_SYNRST] = { "SYN+RST", SYN | RST, 0 },
	[K_NOFLAGS] = { "no flags", 0, 0 },
};

enum pos { P_L1, P_LE, P_RE, P_R1, P__N };
static const char *const pos_name[P__N] = { "left-1", "left-edge", "right-edge", "right+1" };

/* What the engine sends in reply. */
enum reply {
	NONE,   /* nothing */
	ACKN,   /* <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (unacceptable segment,
	           out-of-order data, duplicate) */
	CHAL,   /* the same segment as a challenge ACK (RFC 5961) */
	ACK1,   /* <SEQ=SND.NXT><ACK=RCV.NXT+1><CTL=ACK>: one byte or FIN taken */
	OPT,    /* nothing or one ACK; no RST (RFC 9293 says "ignore the
	           segment text" after a FIN, or the mix is illegal) */
	EST_OR_ACKN, /* either ESTABLISHED silently or ACKN and no move (a
	           SYN-ACK repeating the peer's SYN in passive SYN-RECEIVED) */
};

#define SAME (-1)
#define SAME_OR_LISTEN (-2)

struct cell {
	enum reply reply;
	int next;   /* enum ptcp_state, or SAME */
};

struct row {
	enum ptcp_state state;
	bool passive;
	struct cell cell[K__N][P__N];
};

#define C(r, n) { r, n }
#define S SAME
#define EST PTCP_ESTABLISHED
#define FW2 PTCP_FIN_WAIT_2
#define CW PTCP_CLOSE_WAIT
#define TW PTCP_TIME_WAIT
#define CL PTCP_CLOSED
#define LI PTCP_LISTEN

/* The illegal mixes are the same in every synchronized state. */
#define ILLEGAL                                                                      \
	[K_SYNFIN] = { C(OPT, S), C(OPT, S), C(OPT, S), C(OPT, S) },                 \
	[K_SYNRST] = { C(NONE, S), C(NONE, S), C(NONE, S), C(NONE, S) },             \
	[K_NOFLAGS] = { C(OPT, S), C(OPT, S), C(OPT, S), C(OPT, S) }

/* SYN anywhere in a synchronized state: an ACK, whether the sequence check
 * (outside) or RFC 5961 4.2 (inside) sends it. */
#define SYNS                                                                         \
	[K_SYN] = { C(ACKN, S), C(CHAL, S), C(CHAL, S), C(ACKN, S) },                \
	[K_SYNACK] = { C(ACKN, S), C(CHAL, S), C(CHAL, S), C(ACKN, S) }

/* RFC 5961 3.2: exact RST resets, other in-window RSTs are challenged,
 * RSTs outside are dropped silently. */
#define RSTS(closed)                                                                 \
	[K_RST] = { C(NONE, S), C(NONE, closed), C(CHAL, S), C(NONE, S) },           \
	[K_RSTACK] = { C(NONE, S), C(NONE, closed), C(CHAL, S), C(NONE, S) }

static const struct row rows[] = {
	{ PTCP_SYN_RECEIVED, true, {
		/* RFC 9293 3.10.7.4 fourth: a SYN in the window of a
		 * passively opened SYN-RECEIVED returns it to LISTEN. */
		[K_SYN] = { C(ACKN, S), C(NONE, LI), C(NONE, LI), C(ACKN, S) },
		[K_SYNACK] = { C(EST_OR_ACKN, S), C(NONE, LI), C(NONE, LI), C(ACKN, S) },
		[K_ACK] = { C(ACKN, S), C(NONE, EST), C(NONE, EST), C(ACKN, S) },
		[K_DATA] = { C(ACKN, S), C(ACK1, EST), C(ACKN, EST), C(ACKN, S) },
		[K_FIN] = { C(ACKN, S), C(ACK1, CW), C(ACKN, EST), C(ACKN, S) },
		/* second: an exact RST returns a passive open to LISTEN */
		RSTS(LI),
		/* SYN+FIN: dropped as illegal, or taken as the SYN it
		 * carries (fourth: back to LISTEN) */
		[K_SYNFIN] = { C(OPT, S), C(OPT, SAME_OR_LISTEN), C(OPT, SAME_OR_LISTEN), C(OPT, S) },
		[K_SYNRST] = { C(NONE, S), C(NONE, S), C(NONE, S), C(NONE, S) },
		[K_NOFLAGS] = { C(OPT, S), C(OPT, S), C(OPT, S), C(OPT, S) } } },
	{ PTCP_SYN_RECEIVED, false, {
		/* Crossing SYNs: the peer's SYN-ACK repeats its SYN at IRS,
		 * just left of the window, and completes the open (figure 8
		 * line 6). */
		[K_SYN] = { C(ACKN, S), C(CHAL, S), C(CHAL, S), C(ACKN, S) },
		[K_SYNACK] = { C(NONE, EST), C(CHAL, S), C(CHAL, S), C(ACKN, S) },
		[K_ACK] = { C(ACKN, S), C(NONE, EST), C(NONE, EST), C(ACKN, S) },
		[K_DATA] = { C(ACKN, S), C(ACK1, EST), C(ACKN, EST), C(ACKN, S) },
		[K_FIN] = { C(ACKN, S), C(ACK1, CW), C(ACKN, EST), C(ACKN, S) },
		/* an exact RST refuses an active open */
		RSTS(CL),
		ILLEGAL } },
	{ PTCP_ESTABLISHED, false, {
		SYNS,
		[K_ACK] = { C(ACKN, S), C(NONE, S), C(NONE, S), C(ACKN, S) },
		[K_DATA] = { C(ACKN, S), C(ACK1, S), C(ACKN, S), C(ACKN, S) },
		[K_FIN] = { C(ACKN, S), C(ACK1, CW), C(ACKN, S), C(ACKN, S) },
		RSTS(CL),
		ILLEGAL } },
	{ PTCP_FIN_WAIT_1, false, {
		/* ACK = SND.NXT acknowledges our FIN once the segment is
		 * acceptable. */
		SYNS,
		[K_ACK] = { C(ACKN, S), C(NONE, FW2), C(NONE, FW2), C(ACKN, S) },
		[K_DATA] = { C(ACKN, S), C(ACK1, FW2), C(ACKN, FW2), C(ACKN, S) },
		[K_FIN] = { C(ACKN, S), C(ACK1, TW), C(ACKN, FW2), C(ACKN, S) },
		RSTS(CL),
		ILLEGAL } },
	{ PTCP_FIN_WAIT_2, false, {
		SYNS,
		[K_ACK] = { C(ACKN, S), C(NONE, S), C(NONE, S), C(ACKN, S) },
		[K_DATA] = { C(ACKN, S), C(ACK1, S), C(ACKN, S), C(ACKN, S) },
		[K_FIN] = { C(ACKN, S), C(ACK1, TW), C(ACKN, S), C(ACKN, S) },
		RSTS(CL),
		ILLEGAL } },
	{ PTCP_CLOSE_WAIT, false, {
		/* L1 is where the peer's FIN was: a retransmitted FIN gets
		 * an ACK. Text after the FIN is ignored (seventh). */
		SYNS,
		[K_ACK] = { C(ACKN, S), C(NONE, S), C(NONE, S), C(ACKN, S) },
		[K_DATA] = { C(ACKN, S), C(OPT, S), C(OPT, S), C(ACKN, S) },
		[K_FIN] = { C(ACKN, S), C(OPT, S), C(OPT, S), C(ACKN, S) },
		RSTS(CL),
		ILLEGAL } },
	{ PTCP_CLOSING, false, {
		SYNS,
		[K_ACK] = { C(ACKN, S), C(NONE, TW), C(NONE, TW), C(ACKN, S) },
		[K_DATA] = { C(ACKN, S), C(OPT, TW), C(OPT, TW), C(ACKN, S) },
		[K_FIN] = { C(ACKN, S), C(OPT, TW), C(OPT, TW), C(ACKN, S) },
		RSTS(CL),
		ILLEGAL } },
	{ PTCP_LAST_ACK, false, {
		SYNS,
		[K_ACK] = { C(ACKN, S), C(NONE, CL), C(NONE, CL), C(ACKN, S) },
		[K_DATA] = { C(ACKN, S), C(OPT, CL), C(OPT, CL), C(ACKN, S) },
		[K_FIN] = { C(ACKN, S), C(OPT, CL), C(OPT, CL), C(ACKN, S) },
		RSTS(CL),
		ILLEGAL } },
	{ PTCP_TIME_WAIT, false, {
		SYNS,
		[K_ACK] = { C(ACKN, S), C(NONE, S), C(NONE, S), C(ACKN, S) },
		[K_DATA] = { C(ACKN, S), C(OPT, S), C(OPT, S), C(ACKN, S) },
		[K_FIN] = { C(ACKN, S), C(OPT, S), C(OPT, S), C(ACKN, S) },
		/* RFC 1337: never let a RST end TIME-WAIT */
		[K_RST] = { C(NONE, S), C(NONE, S), C(NONE, S), C(NONE, S) },
		[K_RSTACK] = { C(NONE, S), C(NONE, S), C(NONE, S), C(NONE, S) },
		ILLEGAL } },
};

enum dropx { D_DC, D_NO, D_ANY, D_CHAL };

/* Whether the segment must be reported as dropped: everything the
 * connection discards is, nothing it takes in is. */
static enum dropx drop_expected(const struct row *r, enum kind k, enum pos p, const struct cell *c)
{
	if (c->reply == CHAL)
		return r->state == PTCP_SYN_RECEIVED ? D_ANY : D_CHAL;
	/* In SYN-RECEIVED a repeated SYN is answered, not dropped. */
	if (r->state == PTCP_SYN_RECEIVED && (kinds[k].flags & SYN) && !(kinds[k].flags & RST) &&
	    (p == P_L1 || k == K_SYNFIN))
		return D_DC;
	if (k == K_SYNFIN || k == K_SYNRST || k == K_NOFLAGS)
		return D_ANY;
	if (c->reply == EST_OR_ACKN || c->reply == OPT)
		return D_DC;
	if (p == P_L1 || p == P_R1)
		return r->state == PTCP_SYN_RECEIVED && k == K_SYNACK ? D_DC : D_ANY;
	if (c->reply == ACK1 || (k == K_ACK && c->reply == NONE))
		return D_NO;
	if ((k == K_RST || k == K_RSTACK) && r->state == PTCP_TIME_WAIT)
		return D_ANY;
	return D_DC;
}

static bool is_ack_to(const struct ptcp_segment *g, ptcp_seq seq, ptcp_seq ack)
{
	return (g->flags & ~PSH) == ACK && g->seq == seq && g->ack == ack && g->len == 0;
}

/* In SYN-RECEIVED our SYN is unacknowledged: a SYN-ACK retransmission is
 * as good a reply as the bare ACK. */
static bool is_synack(const struct script *s, const struct ptcp_segment *g, ptcp_seq ack)
{
	return (g->flags & ~PSH) == (SYN | ACK) && g->seq == s->iss && g->ack == ack && !g->len;
}

static void run_cell(const struct row *r, enum kind k, enum pos p)
{
	const struct cell *c = &r->cell[k][p];
	enum ptcp_state want = c->next < 0 ? r->state : (enum ptcp_state)c->next;
	struct script *s = sc_new(NULL);
	ptcp_seq snd_nxt, rcv_nxt, seq;
	struct ptcp_segment g;
	uint8_t buf[SC_SEG_CAP];
	char ctx[96], f[160];
	enum ptcp_state got;
	bool synrcvd = r->state == PTCP_SYN_RECEIVED;
	size_t drops;
	uint64_t chal0;
	struct ptcp_stats st;
	enum dropx dx;
	uint32_t wnd;

	s->passive = r->passive;
	SC_AT(s);
	if (!sc_goto(s, r->state)) {
		sc_finish(s);
		return;
	}
	snprintf(ctx, sizeof(ctx), "%s%s, %s at %s", ptcp_state_name(r->state),
		 r->state == PTCP_SYN_RECEIVED ? (r->passive ? " (passive)" : " (crossing SYNs)") : "",
		 kinds[k].name, pos_name[p]);
	s->ctx = ctx;
	snd_nxt = s->snd_nxt;
	rcv_nxt = s->rcv_nxt;
	ptcp_conn_stats(s->c, &st);
	chal0 = st.challenge_acks;
	/* The window is 8192 bytes, or one less after the peer's FIN if the
	 * engine keeps the right edge in place (RFC 9293 3.8.6.2.2). */
	wnd = st.rcv_wnd;
	if (wnd != 8192 && wnd != 8191)
		check_fail(__FILE__, __LINE__, "%s: RCV.WND %u, expected 8192", ctx, wnd);
	seq = p == P_L1 ? rcv_nxt - 1 : p == P_LE ? rcv_nxt : p == P_RE ? rcv_nxt + wnd - 1 : rcv_nxt + wnd;

	sc_inject(s, 0, PKT(.flags = kinds[k].flags, .seq = seq, .ack = snd_nxt, .len = kinds[k].len));

	switch (c->reply) {
	case NONE:
		sc_expect_nothing(s, 0);
		break;
	case ACKN:
	case CHAL:
		if (!sc_take(s, 0, &g, buf, NULL))
			break;
		if (!is_ack_to(&g, snd_nxt, rcv_nxt) && !(synrcvd && is_synack(s, &g, rcv_nxt)))
			check_fail(__FILE__, __LINE__, "%s: expected [.] seq %u ack %u, got %s", ctx,
				   snd_nxt, rcv_nxt, ptcp_segment_format(&g, f, sizeof(f)));
		else if (!(g.flags & SYN) && !sc_window_ok(s, &g))
			check_fail(__FILE__, __LINE__, "%s: window %u, expected %u", ctx, g.wnd,
				   sc_expected_window(s, false));
		break;
	case ACK1:
		if (!sc_take(s, 0, &g, buf, NULL))
			break;
		if (!is_ack_to(&g, snd_nxt, rcv_nxt + 1))
			check_fail(__FILE__, __LINE__, "%s: expected [.] seq %u ack %u, got %s", ctx,
				   snd_nxt, rcv_nxt + 1, ptcp_segment_format(&g, f, sizeof(f)));
		else if (!sc_window_ok(s, &g))
			check_fail(__FILE__, __LINE__, "%s: window %u, expected %u", ctx, g.wnd,
				   sc_expected_window(s, false));
		break;
	case OPT:
		if (!sc_pending(s) || !sc_take(s, 0, &g, buf, NULL))
			break;
		if (!is_ack_to(&g, snd_nxt, rcv_nxt) && !is_ack_to(&g, snd_nxt, rcv_nxt + 1) &&
		    !(synrcvd && is_synack(s, &g, rcv_nxt)))
			check_fail(__FILE__, __LINE__, "%s: expected nothing or an ACK, got %s", ctx,
				   ptcp_segment_format(&g, f, sizeof(f)));
		break;
	case EST_OR_ACKN:
		if (ptcp_conn_state(s->c) == PTCP_ESTABLISHED) {
			want = PTCP_ESTABLISHED;
			sc_expect_nothing(s, 0);
		} else if (sc_take(s, 0, &g, buf, NULL) && !is_ack_to(&g, snd_nxt, rcv_nxt) &&
			   !is_synack(s, &g, rcv_nxt)) {
			check_fail(__FILE__, __LINE__, "%s: expected ESTABLISHED or an ACK, got %s",
				   ctx, ptcp_segment_format(&g, f, sizeof(f)));
		}
		break;
	}
	sc_expect_nothing(s, 0);

	got = ptcp_conn_state(s->c);
	if (c->next == SAME_OR_LISTEN && got == PTCP_LISTEN)
		want = got;
	if (got != want)
		check_fail(__FILE__, __LINE__, "%s: state %s, expected %s", ctx, ptcp_state_name(got),
			   ptcp_state_name(want));
	/* RFC 9293 3.10.7.4 second: "connection refused" for an active
	 * SYN-RECEIVED, "connection reset" up to CLOSE-WAIT; CLOSING and
	 * LAST-ACK just close. */
	if (want == PTCP_CLOSED && (k == K_RST || k == K_RSTACK) &&
	    r->state != PTCP_CLOSING && r->state != PTCP_LAST_ACK) {
		int err = r->state == PTCP_SYN_RECEIVED ? PTCP_ERR_REFUSED : PTCP_ERR_RESET;

		if (ptcp_conn_error(s->c) != err)
			check_fail(__FILE__, __LINE__, "%s: error \"%s\", expected \"%s\"", ctx,
				   ptcp_strerror(ptcp_conn_error(s->c)), ptcp_strerror(err));
	}

	dx = drop_expected(r, k, p, c);
	drops = sc_count_events(s, PTCP_EV_DROP, -1);
	if (dx == D_NO && drops)
		check_fail(__FILE__, __LINE__, "%s: the segment was taken but a drop (%s) was reported",
			   ctx, ptcp_drop_name(sc_event(s, PTCP_EV_DROP, -1)->drop));
	if (dx == D_ANY && !drops)
		check_fail(__FILE__, __LINE__, "%s: the segment was discarded without a drop event", ctx);
	if (dx == D_CHAL) {
		enum ptcp_drop d = k == K_SYN || k == K_SYNACK ? PTCP_DROP_SYN_CHALLENGED
							    : PTCP_DROP_RST_CHALLENGED;
		if (!sc_event(s, PTCP_EV_DROP, (int)d))
			check_fail(__FILE__, __LINE__, "%s: expected drop reason %s", ctx,
				   ptcp_drop_name(d));
		ptcp_conn_stats(s->c, &st);
		if (st.challenge_acks != chal0 + 1)
			check_fail(__FILE__, __LINE__, "%s: challenge_acks %llu, expected %llu", ctx,
				   (unsigned long long)st.challenge_acks,
				   (unsigned long long)chal0 + 1);
	}
	s->ctx = NULL;
	sc_finish(s);
}

static void run_row(enum ptcp_state state, bool passive)
{
	size_t i;
	int k, p;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (rows[i].state != state || rows[i].passive != passive)
			continue;
		for (k = 0; k < K__N; k++)
			for (p = 0; p < P__N; p++)
				run_cell(&rows[i], (enum kind)k, (enum pos)p);
		return;
	}
	CHECK(!"no row");
}

static void test_matrix_syn_received_passive(void) { run_row(PTCP_SYN_RECEIVED, true); }
static void test_matrix_syn_received_crossing(void) { run_row(PTCP_SYN_RECEIVED, false); }
static void test_matrix_established(void) { run_row(PTCP_ESTABLISHED, false); }
static void test_matrix_fin_wait_1(void) { run_row(PTCP_FIN_WAIT_1, false); }
static void test_matrix_fin_wait_2(void) { run_row(PTCP_FIN_WAIT_2, false); }
static void test_matrix_close_wait(void) { run_row(PTCP_CLOSE_WAIT, false); }
static void test_matrix_closing(void) { run_row(PTCP_CLOSING, false); }
static void test_matrix_last_ack(void) { run_row(PTCP_LAST_ACK, false); }
static void test_matrix_time_wait(void) { run_row(PTCP_TIME_WAIT, false); }

/* ---- states without a receive window ------------------------------------ */

/* The ACK field of the injected segment. */
enum ackv { A_GOOD, A_LOW, A_HIGH, A__N };
static const char *const ack_name[A__N] = { "ACK=ISS+1", "ACK=ISS", "ACK=ISS+2" };

enum ureply {
	U_NONE,
	U_SYNACK,   /* <SEQ=ISS><ACK=IRS+1><CTL=SYN,ACK> */
	U_ACK,      /* <SEQ=ISS+1><ACK=IRS+1><CTL=ACK> */
	U_RST,      /* <SEQ=SEG.ACK><CTL=RST> */
};

struct ucell {
	enum ureply reply;
	int next;
};

/* RFC 9293 3.10.7.3, SYN-SENT, for ACK = ISS+1 (acceptable), ISS and
 * ISS+2 (both unacceptable: SEG.ACK =< ISS or > SND.NXT). */
static const struct ucell syn_sent[K__N][A__N] = {
	/* crossing SYN: SYN-RECEIVED, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
	 * (the ACK field of a segment without ACK is ignored) */
	[K_SYN] = { { U_SYNACK, PTCP_SYN_RECEIVED }, { U_SYNACK, PTCP_SYN_RECEIVED },
		    { U_SYNACK, PTCP_SYN_RECEIVED } },
	[K_SYNACK] = { { U_ACK, EST }, { U_RST, S }, { U_RST, S } },
	/* fifth: neither SYN nor RST, drop */
	[K_ACK] = { { U_NONE, S }, { U_RST, S }, { U_RST, S } },
	[K_DATA] = { { U_NONE, S }, { U_RST, S }, { U_RST, S } },
	[K_FIN] = { { U_NONE, S }, { U_RST, S }, { U_RST, S } },
	/* a RST without ACK is dropped */
	[K_RST] = { { U_NONE, S }, { U_NONE, S }, { U_NONE, S } },
	/* with an acceptable ACK it refuses the connection; with a bad ACK
	 * it is dropped (never answer a RST) */
	[K_RSTACK] = { { U_NONE, CL }, { U_NONE, S }, { U_NONE, S } },
	[K_SYNFIN] = { { U_NONE, S }, { U_NONE, S }, { U_NONE, S } },
	[K_SYNRST] = { { U_NONE, S }, { U_NONE, S }, { U_NONE, S } },
	[K_NOFLAGS] = { { U_NONE, S }, { U_NONE, S }, { U_NONE, S } },
};

/* RFC 9293 3.10.7.2, LISTEN: RSTs ignored, any ACK draws
 * <SEQ=SEG.ACK><CTL=RST>, a SYN opens. */
static const struct ucell listen_tab[K__N] = {
	[K_SYN] = { U_SYNACK, PTCP_SYN_RECEIVED },
	[K_SYNACK] = { U_RST, S },
	[K_ACK] = { U_RST, S },
	[K_DATA] = { U_RST, S },
	[K_FIN] = { U_RST, S },
	[K_RST] = { U_NONE, S },
	[K_RSTACK] = { U_NONE, S },
	[K_SYNFIN] = { U_NONE, S },
	[K_SYNRST] = { U_NONE, S },
	[K_NOFLAGS] = { U_NONE, S },
};

static void run_ucell(enum ptcp_state state, enum kind k, ptcp_seq ack, const char *ackn,
                      const struct ucell *c)
{
	enum ptcp_state want = c->next == SAME ? state : (enum ptcp_state)c->next;
	struct script *s = sc_new(NULL);
	char ctx[96];

	SC_AT(s);
	if (!sc_goto(s, state)) {
		sc_finish(s);
		return;
	}
	snprintf(ctx, sizeof(ctx), "%s, %s %s", ptcp_state_name(state), kinds[k].name, ackn);
	s->ctx = ctx;
	sc_inject(s, 0, PKT(.flags = kinds[k].flags, .seq = IRS, .ack = ack, .len = kinds[k].len,
			    .opt = { .has_mss = !!(kinds[k].flags & SYN), .mss = 1460 }));
	switch (c->reply) {
	case U_NONE:
		break;
	case U_SYNACK:
		sc_expect_syn(s, 0, SYN | ACK, ISS, IRS + 1);
		break;
	case U_ACK:
		sc_expect(s, 0, PKT(.flags = ACK, .seq = ISS + 1, .ack = IRS + 1));
		break;
	case U_RST:
		sc_expect(s, 0, PKT(.flags = RST, .seq = ack));
		break;
	}
	sc_expect_nothing(s, 0);
	sc_expect_state(s, want);
	if (c->reply == U_NONE && want == state && !sc_count_events(s, PTCP_EV_DROP, -1))
		check_fail(__FILE__, __LINE__, "%s: the segment was discarded without a drop event", ctx);
	if (state == PTCP_SYN_SENT && k == K_RSTACK && want == PTCP_CLOSED &&
	    ptcp_conn_error(s->c) != PTCP_ERR_REFUSED)
		check_fail(__FILE__, __LINE__, "%s: error \"%s\", expected \"connection refused\"",
			   ctx, ptcp_strerror(ptcp_conn_error(s->c)));
	s->ctx = NULL;
	sc_finish(s);
}

static void test_table_syn_sent(void)
{
	static const ptcp_seq acks[A__N] = { ISS + 1, ISS, ISS + 2 };
	int k, a;

	for (k = 0; k < K__N; k++)
		for (a = 0; a < A__N; a++)
			run_ucell(PTCP_SYN_SENT, (enum kind)k, acks[a], ack_name[a], &syn_sent[k][a]);
}

static void test_table_listen(void)
{
	int k;

	for (k = 0; k < K__N; k++)
		run_ucell(PTCP_LISTEN, (enum kind)k, 777777, "ACK=777777", &listen_tab[k]);
}

/* RFC 9293 3.10.7.1: in CLOSED all data is discarded, a RST is ignored
 * and anything else draws <SEQ=SEG.ACK><CTL=RST> if it has ACK, else
 * <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. */
static void test_table_closed(void)
{
	int k;

	for (k = 0; k < K__N; k++) {
		struct script *s = sc_new(NULL);
		uint8_t fl = kinds[k].flags;
		char ctx[64];

		SC_AT(s);
		snprintf(ctx, sizeof(ctx), "CLOSED, %s", kinds[k].name);
		s->ctx = ctx;
		sc_inject(s, 0, PKT(.flags = fl, .seq = IRS, .ack = 777777, .len = kinds[k].len));
		if (fl & RST)
			;
		else if (fl & ACK)
			sc_expect(s, 0, PKT(.flags = RST, .seq = 777777));
		else
			sc_expect(s, 0, PKT(.flags = RST | ACK, .seq = 0, WANY,
					    .ack = IRS + kinds[k].len + !!(fl & SYN) + !!(fl & FIN)));
		sc_expect_nothing(s, 0);
		sc_expect_state(s, PTCP_CLOSED);
		if (!sc_event(s, PTCP_EV_DROP, PTCP_DROP_STATE))
			check_fail(__FILE__, __LINE__, "%s: expected a drop event \"%s\"", ctx,
				   ptcp_drop_name(PTCP_DROP_STATE));
		s->ctx = NULL;
		sc_finish(s);
	}
}

int main(void)
{
	RUN(test_matrix_syn_received_passive);
	RUN(test_matrix_syn_received_crossing);
	RUN(test_matrix_established);
	RUN(test_matrix_fin_wait_1);
	RUN(test_matrix_fin_wait_2);
	RUN(test_matrix_close_wait);
	RUN(test_matrix_closing);
	RUN(test_matrix_last_ack);
	RUN(test_matrix_time_wait);
	RUN(test_table_syn_sent);
	RUN(test_table_listen);
	RUN(test_table_closed);
	return check_summary();
}
