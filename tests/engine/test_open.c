/* Opening a connection: active, passive and simultaneous open (RFC 9293
 * 3.5, figures 6 and 8), the mixed cases a NAT produces, SYN
 * retransmission, the agreed ISN and its policy, and connection creation
 * errors. */
#include <string.h>

#include "script.h"

static struct ptcp_options mss_opt(uint16_t mss)
{
	return (struct ptcp_options){ .has_mss = true, .mss = mss };
}

/* RFC 9293 figure 6: SYN, SYN-ACK, ACK. */
static void test_active_open_three_way_handshake(void)
{
	struct script *s = sc_new(NULL);
	struct ptcp_stats st;

	CHECK_INT(sc_open_active(s, 0), 0);
	EXPECT_SYN(s, 0, SYN, ISS, 0);
	EXPECT_STATE(s, PTCP_SYN_SENT);
	INJECT(s, MS(10), .flags = SYN | ACK, .seq = IRS, .ack = ISS + 1, .opt = mss_opt(1460));
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	EXPECT_PATH(s, "CLOSED>SYN-SENT SYN-SENT>ESTABLISHED");
	ptcp_conn_stats(s->c, &st);
	CHECK_EQ(st.established_at, s->base + MS(10));
	CHECK_EQ(st.segs_in, 1);
	CHECK_EQ(st.segs_out, 2);
	CHECK_EQ(st.snd_mss, 1460);
	/* Nothing outstanding, no keepalive: no timer at all. */
	CHECK_EQ(ptcp_conn_expiry(s->c), PTCP_TS_NEVER);
	EXPECT_NOTHING(s, SEC(600));
	sc_finish(s);
}

static void test_passive_open_three_way_handshake(void)
{
	struct script *s = sc_new(NULL);

	CHECK_INT(sc_open_passive(s, 0), 0);
	EXPECT_STATE(s, PTCP_LISTEN);
	CHECK_EQ(ptcp_conn_expiry(s->c), PTCP_TS_NEVER);
	EXPECT_NOTHING(s, SEC(5));
	INJECT(s, SEC(5), .flags = SYN, .seq = IRS, .opt = mss_opt(1460));
	EXPECT_SYN(s, SEC(5), SYN | ACK, ISS, IRS + 1);
	EXPECT_STATE(s, PTCP_SYN_RECEIVED);
	INJECT(s, SEC(5) + MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1);
	EXPECT_NOTHING(s, SEC(5) + MS(10));
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	EXPECT_PATH(s, "CLOSED>LISTEN LISTEN>SYN-RECEIVED SYN-RECEIVED>ESTABLISHED");
	EXPECT_NOTHING(s, SEC(100));
	sc_finish(s);
}

static void test_passive_open_without_remote_binds_first_peer(void)
{
	struct script *s = sc_new_wildcard(NULL);

	CHECK_INT(sc_open_passive(s, 0), 0);
	INJECT(s, MS(1), .flags = SYN, .seq = IRS, .opt = mss_opt(1460));
	EXPECT_SYN(s, MS(1), SYN | ACK, ISS, IRS + 1);
	CHECK(ptcp_endpoint_equal(ptcp_conn_remote(s->c), &s->remote));
	INJECT(s, MS(2), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	sc_finish(s);
}

/* RFC 9293 figure 8, seen from peer A: lines 2, 3, 5 and 6. */
static void test_simultaneous_open_figure_8(void)
{
	struct script *s = sc_new(NULL);

	sc_open_active(s, 0);
	EXPECT_SYN(s, 0, SYN, ISS, 0);                            /* 2 */
	INJECT(s, MS(10), .flags = SYN, .seq = IRS, .opt = mss_opt(1460)); /* 3 */
	EXPECT_SYN(s, MS(10), SYN | ACK, ISS, IRS + 1);           /* 5 */
	EXPECT_STATE(s, PTCP_SYN_RECEIVED);
	INJECT(s, MS(20), .flags = SYN | ACK, .seq = IRS, .ack = ISS + 1,
	       .opt = mss_opt(1460));                             /* 6 */
	EXPECT_NOTHING(s, MS(20));
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	EXPECT_PATH(s, "CLOSED>SYN-SENT SYN-SENT>SYN-RECEIVED SYN-RECEIVED>ESTABLISHED");
	/* Both SYNs are acknowledged: no retransmission follows. */
	EXPECT_NOTHING(s, SEC(10));
	sc_finish(s);
}

/* Two engines, crossing SYNs: exactly four messages. */
static void test_simultaneous_open_two_engines_four_messages(void)
{
	struct script *a = sc_new(NULL), *b = sc_new_peer(a, NULL);

	sc_open_active(a, 0);
	sc_open_active(b, 0);
	CHECK(FORWARD(a, b, MS(5)));
	CHECK_EQ(a->last_fwd.flags, SYN);
	CHECK(FORWARD(b, a, MS(5)));
	CHECK_EQ(b->last_fwd.flags, SYN);
	EXPECT_STATE(a, PTCP_SYN_RECEIVED);
	EXPECT_STATE(b, PTCP_SYN_RECEIVED);
	CHECK(FORWARD(a, b, MS(10)));
	CHECK_EQ(a->last_fwd.flags & ~PSH, SYN | ACK);
	CHECK_EQ(a->last_fwd.ack, IRS + 1);
	CHECK(FORWARD(b, a, MS(10)));
	CHECK_EQ(b->last_fwd.flags & ~PSH, SYN | ACK);
	CHECK_EQ(b->last_fwd.ack, ISS + 1);
	EXPECT_STATE(a, PTCP_ESTABLISHED);
	EXPECT_STATE(b, PTCP_ESTABLISHED);
	CHECK_EQ(sc_pending(a), 0);
	CHECK_EQ(sc_pending(b), 0);
	EXPECT_NOTHING(a, SEC(10));
	EXPECT_NOTHING(b, SEC(10));
	EXPECT_PATH(a, "CLOSED>SYN-SENT SYN-SENT>SYN-RECEIVED SYN-RECEIVED>ESTABLISHED");
	EXPECT_PATH(b, "CLOSED>SYN-SENT SYN-SENT>SYN-RECEIVED SYN-RECEIVED>ESTABLISHED");
	sc_finish(a);
	sc_finish(b);
}

/* Crossing SYNs, both SYN-ACKs lost: each side retransmits its SYN-ACK
 * (not its SYN) and the retransmissions complete the open. */
static void test_simultaneous_open_with_both_synacks_lost(void)
{
	struct script *a = sc_new(NULL), *b = sc_new_peer(a, NULL);
	ptcp_ts ea, eb;

	sc_open_active(a, 0);
	sc_open_active(b, 0);
	FORWARD(a, b, MS(5));
	FORWARD(b, a, MS(5));
	/* The NATs eat both SYN-ACKs. */
	CHECK_EQ(sc_pending(a), 1);
	CHECK_EQ(sc_pending(b), 1);
	sc_discard(a);
	sc_discard(b);
	ea = ptcp_conn_expiry(a->c);
	eb = ptcp_conn_expiry(b->c);
	CHECK(ea != PTCP_TS_NEVER && ea - a->base <= SEC(1) + MS(5));
	CHECK(eb != PTCP_TS_NEVER && eb - b->base <= SEC(1) + MS(5));
	CHECK(FORWARD(a, b, SEC(2)));
	CHECK_EQ(a->last_fwd.flags & ~PSH, SYN | ACK);
	CHECK_EQ(a->last_fwd.seq, ISS);
	CHECK(FORWARD(b, a, SEC(2)));
	CHECK_EQ(b->last_fwd.flags & ~PSH, SYN | ACK);
	EXPECT_STATE(a, PTCP_ESTABLISHED);
	EXPECT_STATE(b, PTCP_ESTABLISHED);
	EXPECT_NOTHING(a, SEC(30));
	EXPECT_NOTHING(b, SEC(30));
	sc_finish(a);
	sc_finish(b);
}

/* In SYN-RECEIVED after crossing SYNs, what is retransmitted is the
 * SYN-ACK. */
static void test_synack_retransmitted_after_crossing_syns(void)
{
	START(s, NULL, PTCP_SYN_RECEIVED);
	/* Our SYN left 10 ms before the peer's arrived; the timer may run
	 * from either. */
	ADVANCE(s, SEC(1) - MS(10) - 1);
	EXPECT_NOTHING(s, SEC(1) - MS(10) - 1);
	if (ptcp_conn_expiry(s->c) - s->base == SEC(1) - MS(10))
		EXPECT_SYN(s, SEC(1) - MS(10), SYN | ACK, ISS, IRS + 1);
	else
		EXPECT_SYN(s, SEC(1), SYN | ACK, ISS, IRS + 1);
	EXPECT_STATE(s, PTCP_SYN_RECEIVED);
	sc_finish(s);
}

/* Our SYN died in the NAT; the peer's SYN reaches us and our SYN-ACK
 * completes the peer's open, whose ACK completes ours. */
static void test_open_when_our_syn_is_lost(void)
{
	struct script *s = sc_new(NULL);

	sc_open_active(s, 0);
	EXPECT_SYN(s, 0, SYN, ISS, 0);
	INJECT(s, MS(300), .flags = SYN, .seq = IRS, .opt = mss_opt(1460));
	EXPECT_SYN(s, MS(300), SYN | ACK, ISS, IRS + 1);
	INJECT(s, MS(310), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1);
	EXPECT_NOTHING(s, MS(310));
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	EXPECT_PATH(s, "CLOSED>SYN-SENT SYN-SENT>SYN-RECEIVED SYN-RECEIVED>ESTABLISHED");
	EXPECT_NOTHING(s, SEC(10));
	sc_finish(s);
}

/* The peer's SYN died; ours reached it while it was in SYN-SENT, so it
 * answers with a SYN-ACK that arrives in our SYN-SENT. */
static void test_open_when_peer_syn_is_lost_synack_completes(void)
{
	struct script *s = sc_new(NULL);

	sc_open_active(s, 0);
	EXPECT_SYN(s, 0, SYN, ISS, 0);
	INJECT(s, MS(40), .flags = SYN | ACK, .seq = IRS, .ack = ISS + 1, .opt = mss_opt(1460));
	EXPECT(s, MS(40), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	EXPECT_PATH(s, "CLOSED>SYN-SENT SYN-SENT>ESTABLISHED");
	sc_finish(s);
}

/* RFC 6298 (2.1) and (5.5): 1 s, then doubling, capped at rto_max; after
 * syn_retries retransmissions the open fails with a timeout. */
static void test_syn_retransmitted_with_backoff_until_timeout(void)
{
	static const unsigned at[] = { 1, 3, 7, 15, 31, 63 };
	struct script *s = sc_new(NULL);
	const struct ptcp_event *e;
	unsigned i;

	sc_open_active(s, 0);
	EXPECT_SYN(s, 0, SYN, ISS, 0);
	for (i = 0; i < 6; i++) {
		EXPECT_NOTHING(s, SEC(at[i]) - 1);
		EXPECT_SYN(s, SEC(at[i]), SYN, ISS, 0);
		e = sc_event(s, PTCP_EV_RETRANSMIT, -1);
		CHECK(e != NULL);
		if (e) {
			CHECK_EQ(e->seq, ISS);
			CHECK_EQ(e->backoff, i + 1);
		}
	}
	/* The sixth backoff would be 64 s; rto_max caps it at 60 s. */
	EXPECT_NOTHING(s, SEC(123) - 1);
	EXPECT_STATE(s, PTCP_SYN_SENT);
	EXPECT_NOTHING(s, SEC(123));
	EXPECT_CLOSED(s, PTCP_ERR_TIMEOUT);
	CHECK_EQ(ptcp_conn_expiry(s->c), PTCP_TS_NEVER);
	CHECK_INT(ptcp_conn_send(s->c, "x", 1, s->now), PTCP_ERR_TIMEOUT);
	sc_finish(s);
}

static void test_syn_interval_gives_a_fixed_schedule(void)
{
	struct ptcp_config cfg;
	struct script *s;
	unsigned i;

	sc_config(&cfg);
	cfg.syn_interval = MS(500);
	cfg.syn_retries = 4;
	s = sc_new(&cfg);
	sc_open_active(s, 0);
	EXPECT_SYN(s, 0, SYN, ISS, 0);
	for (i = 1; i <= 4; i++) {
		EXPECT_NOTHING(s, MS(500) * i - 1);
		EXPECT_SYN(s, MS(500) * i, SYN, ISS, 0);
	}
	EXPECT_NOTHING(s, MS(2500) - 1);
	EXPECT_STATE(s, PTCP_SYN_SENT);
	EXPECT_NOTHING(s, MS(2500));
	EXPECT_CLOSED(s, PTCP_ERR_TIMEOUT);
	sc_finish(s);
}

/* Punching, tight at first: the interval doubles per SYN up to
 * syn_interval_max. */
static void test_syn_interval_max_backs_off(void)
{
	static const unsigned at_ms[] = { 10, 30, 70, 150, 230, 310 };
	struct ptcp_config cfg;
	struct script *s;
	unsigned i;

	sc_config(&cfg);
	cfg.syn_interval = MS(10);
	cfg.syn_interval_max = MS(80);
	cfg.syn_retries = 6;
	s = sc_new(&cfg);
	sc_open_active(s, 0);
	EXPECT_SYN(s, 0, SYN, ISS, 0);
	for (i = 0; i < sizeof(at_ms) / sizeof(at_ms[0]); i++) {
		EXPECT_NOTHING(s, MS(at_ms[i]) - 1);
		EXPECT_SYN(s, MS(at_ms[i]), SYN, ISS, 0);
	}
	EXPECT_NOTHING(s, MS(390) - 1);
	EXPECT_NOTHING(s, MS(390));
	EXPECT_CLOSED(s, PTCP_ERR_TIMEOUT);
	sc_finish(s);
}

static void test_first_syn_carries_the_configured_ttl(void)
{
	struct ptcp_config cfg;
	struct ptcp_segment seg;
	struct ptcp_txinfo info;
	uint8_t buf[SC_SEG_CAP];
	struct script *s;

	sc_config(&cfg);
	cfg.first_syn_ttl = 3;
	s = sc_new(&cfg);
	sc_open_active(s, 0);
	if (sc_take(s, 0, &seg, buf, &info)) {
		CHECK_EQ(seg.flags, SYN);
		CHECK_EQ(info.ttl, 3);
	}
	if (sc_take(s, SEC(1), &seg, buf, &info)) {
		CHECK_EQ(seg.flags, SYN);
		CHECK_EQ(info.ttl, 0);
	}
	sc_finish(s);
}

static void test_synack_retransmitted_in_syn_received(void)
{
	struct script *s = sc_new(NULL);

	s->passive = true;
	if (!sc_goto(s, PTCP_SYN_RECEIVED)) {
		sc_finish(s);
		return;
	}
	EXPECT_NOTHING(s, SEC(1) - 1);
	EXPECT_SYN(s, SEC(1), SYN | ACK, ISS, IRS + 1);
	EXPECT_NOTHING(s, SEC(3) - 1);
	EXPECT_SYN(s, SEC(3), SYN | ACK, ISS, IRS + 1);
	INJECT(s, SEC(4), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	EXPECT_NOTHING(s, SEC(30));
	sc_finish(s);
}

/* A retransmitted SYN means the peer has not seen our SYN-ACK: the answer
 * must acknowledge its SYN again (a SYN-ACK, or at least an ACK of
 * IRS + 1: RFC 9293 3.10.7.4 first check). */
static void peer_syn_retransmitted(bool passive)
{
	struct script *s = sc_new(NULL);
	struct ptcp_segment seg;
	uint8_t buf[SC_SEG_CAP];

	s->passive = passive;
	if (!sc_goto(s, PTCP_SYN_RECEIVED)) {
		sc_finish(s);
		return;
	}
	INJECT(s, MS(500), .flags = SYN, .seq = IRS, .opt = mss_opt(1460));
	if (sc_take(s, MS(500), &seg, buf, NULL)) {
		CHECK(seg.flags & ACK);
		CHECK_EQ(seg.ack, IRS + 1);
		CHECK(!(seg.flags & (RST | FIN)));
		CHECK_EQ(seg.seq, (seg.flags & SYN) ? ISS : ISS + 1);
	}
	EXPECT_STATE(s, PTCP_SYN_RECEIVED);
	INJECT(s, MS(600), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1);
	EXPECT_NOTHING(s, MS(600));
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	sc_finish(s);
}

static void test_peer_syn_retransmitted_in_passive_syn_received(void)
{
	peer_syn_retransmitted(true);
}

static void test_peer_syn_retransmitted_in_simultaneous_syn_received(void)
{
	peer_syn_retransmitted(false);
}

/* Crossing SYNs through NATs: the peer's SYN-ACK completes our open, ours
 * was lost. What reaches us next in ESTABLISHED is a late copy of a SYN
 * the peer punched earlier (older TSval: PAWS) and the peer's SYN-ACK
 * retransmission (a SYN in a synchronized state: a challenge ACK). Both
 * repeat the SYN we took, and each draws the ACK that completes the
 * peer's open, however close together: the limit on ACKs answering
 * discarded segments (cfg.invalid_ack_interval) must not slow an open. */
static void test_late_peer_syns_after_crossing_syns_are_all_answered(void)
{
	struct ptcp_config cfg;
	struct script *s;
	uint32_t v;

	sc_config(&cfg);
	cfg.timestamps = true;
	s = sc_new(&cfg);
	s->peer_ts = true;
	if (!sc_goto(s, PTCP_SYN_RECEIVED)) {
		sc_finish(s);
		return;
	}
	INJECT(s, 0, .flags = SYN | ACK, .seq = IRS, .ack = ISS + 1, .opt = mss_opt(1460));
	EXPECT_NOTHING(s, 0);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	v = sc_peer_tsval(s);
	INJECT(s, MS(10), .flags = SYN, .seq = IRS,
	       .opt = { .has_mss = true, .mss = 1460, .has_ts = true, .ts_val = v - 5 });
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	EXPECT_DROP(s, PTCP_DROP_PAWS);
	INJECT(s, MS(20), .flags = SYN | ACK, .seq = IRS, .ack = ISS + 1, .opt = mss_opt(1460));
	EXPECT(s, MS(20), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	EXPECT_DROP(s, PTCP_DROP_SYN_CHALLENGED);
	INJECT(s, MS(30), .flags = SYN | ACK, .seq = IRS, .ack = ISS + 1, .opt = mss_opt(1460));
	EXPECT(s, MS(30), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	CHECK_EQ(sc_stats(s).acks_ratelimited, 0);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	EXPECT_NOTHING(s, SEC(10));
	sc_finish(s);
}

/* RFC 9293 3.10.7.3: a SYN-ACK whose ACK is not acceptable draws
 * <SEQ=SEG.ACK><CTL=RST> and the open goes on. */
static void test_synack_with_bad_ack_in_syn_sent_draws_rst(void)
{
	START(s, NULL, PTCP_SYN_SENT);
	INJECT(s, MS(10), .flags = SYN | ACK, .seq = IRS, .ack = ISS + 5);
	EXPECT(s, MS(10), .flags = RST, .seq = ISS + 5);
	EXPECT_DROP(s, PTCP_DROP_BAD_ACK);
	INJECT(s, MS(20), .flags = SYN | ACK, .seq = IRS, .ack = ISS);
	EXPECT(s, MS(20), .flags = RST, .seq = ISS);
	EXPECT_STATE(s, PTCP_SYN_SENT);
	INJECT(s, MS(30), .flags = SYN | ACK, .seq = IRS, .ack = ISS + 1, .opt = mss_opt(1460));
	EXPECT(s, MS(30), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	sc_finish(s);
}

/* RFC 9293 3.10.7.3 fifth: neither SYN nor RST: drop. */
static void test_ack_without_syn_in_syn_sent_is_dropped(void)
{
	START(s, NULL, PTCP_SYN_SENT);
	INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1);
	EXPECT_NOTHING(s, MS(10));
	EXPECT_STATE(s, PTCP_SYN_SENT);
	EXPECT_SYN(s, SEC(1), SYN, ISS, 0);
	sc_finish(s);
}

static void test_data_sent_in_syn_sent_goes_out_when_established(void)
{
	START(s, NULL, PTCP_SYN_SENT);
	CHECK_INT(SEND(s, 0, 100), 100);
	EXPECT_NOTHING(s, MS(10) - 1);
	INJECT(s, MS(10), .flags = SYN | ACK, .seq = IRS, .ack = ISS + 1, .opt = mss_opt(1460));
	/* A pure ACK may come first; the data must follow at once. */
	EXPECT_OPTIONAL(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 100);
	INJECT(s, MS(20), .flags = ACK, .seq = IRS + 1, .ack = ISS + 101);
	CHECK_EQ(ptcp_conn_send_pending(s->c), 0);
	sc_finish(s);
}

/* RFC 9293 3.10.7.3: text on a SYN-ACK is processed from the sixth step
 * on, like text on any segment. */
static void test_data_on_synack_is_delivered(void)
{
	START(s, NULL, PTCP_SYN_SENT);
	INJECT(s, MS(10), .flags = SYN | ACK, .seq = IRS, .ack = ISS + 1, .len = 10,
	       .opt = mss_opt(1460));
	/* The ACK for the SYN alone may come first. */
	EXPECT_OPTIONAL(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, WANY);
	EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 11);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	CHECK_INT(RECV(s, MS(20), 100), 10);
	sc_finish(s);
}

static void test_handshake_across_the_sequence_wrap(void)
{
	struct script *s = sc_new(NULL);

	s->iss = 0xffffffffu;
	s->irs = 0xffffffffu;
	if (sc_goto(s, PTCP_ESTABLISHED)) {
		CHECK_INT(SEND(s, 0, 10), 10);
		EXPECT(s, 0, .flags = ACK, .seq = 0, .ack = 0, .len = 10);
		INJECT(s, MS(10), .flags = ACK, .seq = 0, .ack = 10, .len = 5);
		EXPECT(s, MS(10), .flags = ACK, .seq = 10, .ack = 5);
		CHECK_EQ(ptcp_conn_send_pending(s->c), 0);
	}
	sc_finish(s);
}

/* The same over IPv6: the checksums cover the IPv6 pseudo-header (the
 * harness parses every emitted segment with its checksum checked). */
static void test_handshake_and_data_over_ipv6(void)
{
	struct ptcp_endpoint l = { .family = PTCP_AF_INET6, .port = 4000 };
	struct ptcp_endpoint r = { .family = PTCP_AF_INET6, .port = 5000 };
	struct script *s;

	l.addr[0] = r.addr[0] = 0x20;
	l.addr[1] = r.addr[1] = 0x01;
	l.addr[2] = r.addr[2] = 0x0d;
	l.addr[3] = r.addr[3] = 0xb8;
	l.addr[15] = 1;
	r.addr[15] = 2;
	s = sc_new_endpoints(NULL, &l, &r);
	if (sc_goto(s, PTCP_ESTABLISHED)) {
		INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 700);
		EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 701);
		SEND(s, MS(20), 300);
		EXPECT(s, MS(20), .flags = ACK, .seq = ISS + 1, .ack = IRS + 701, .len = 300);
		CHECK_INT(RECV(s, MS(30), 1000), 700);
	}
	sc_finish(s);
}

/* ---- options in the handshake (RFC 7323 1.3, RFC 2018 2, RFC 9293 3.7.1) */

static void test_syn_offers_window_scale_and_sack_when_configured(void)
{
	struct ptcp_config cfg;
	struct script *s;

	sc_config(&cfg);
	cfg.window_scale = true;
	cfg.sack = true;
	cfg.mss = 1200;
	s = sc_new(&cfg);
	/* The peer offers neither, so nothing gets scaled afterwards. */
	if (sc_goto(s, PTCP_ESTABLISHED)) {
		CHECK_EQ(s->rcv_wscale, 0);
		INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 10);
		EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 11, W(8192 - 10));
	}
	sc_finish(s);
}

static void test_synack_omits_options_the_peer_did_not_offer(void)
{
	struct ptcp_config cfg;
	struct script *s;

	sc_config(&cfg);
	cfg.window_scale = true;
	cfg.sack = true;
	s = sc_new(&cfg);
	s->passive = true;
	/* sc_expect_syn checks the SYN-ACK has neither option. */
	CHECK(sc_goto(s, PTCP_SYN_RECEIVED));
	sc_finish(s);
}

static void test_synack_answers_offered_options(void)
{
	struct ptcp_config cfg;
	struct script *s;

	sc_config(&cfg);
	cfg.window_scale = true;
	cfg.sack = true;
	cfg.rcvbuf = 1 << 20;
	s = sc_new(&cfg);
	s->passive = true;
	s->peer_ws = 4;
	s->peer_sackp = true;
	if (sc_goto(s, PTCP_ESTABLISHED)) {
		/* 1 MiB needs a shift of at least 5 to fit in 16 bits (the
		 * buffer starts at 128 KiB and may grow to 1 MiB). */
		CHECK(s->rcv_wscale >= 5);
		CHECK(s->rcv_wscale <= 14);
		CHECK_EQ(sc_stats(s).rcvbuf, 128 * 1024);
		INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 100);
		EXPECT(s, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 101,
		       W(((128u << 10) - 100) >> s->rcv_wscale));
	}
	sc_finish(s);
}

/* ---- the agreed ISN ------------------------------------------------------ */

static void test_agreed_isn_opens_without_event(void)
{
	struct script *s = sc_new(NULL);

	s->has_peer_isn = true;
	CHECK(sc_goto(s, PTCP_SYN_RECEIVED));
	CHECK_EQ(sc_count_events(s, PTCP_EV_ISN_MISMATCH, -1), 0);
	INJECT(s, MS(10), .flags = SYN | ACK, .seq = IRS, .ack = ISS + 1);
	EXPECT_STATE(s, PTCP_ESTABLISHED);
	CHECK_EQ(sc_count_events(s, PTCP_EV_ISN_MISMATCH, -1), 0);
	sc_finish(s);
}

static void test_isn_mismatch_rejected_syn_is_dropped_and_reported(void)
{
	const struct ptcp_event *e;
	struct script *s = sc_new(NULL);

	s->has_peer_isn = true;
	if (sc_goto(s, PTCP_SYN_SENT)) {
		INJECT(s, MS(100), .flags = SYN, .seq = IRS + 777, .opt = mss_opt(1460));
		EXPECT_NOTHING(s, MS(100));
		EXPECT_STATE(s, PTCP_SYN_SENT);
		EXPECT_DROP(s, PTCP_DROP_ISN_MISMATCH);
		e = sc_event(s, PTCP_EV_ISN_MISMATCH, -1);
		CHECK(e != NULL);
		if (e) {
			CHECK_EQ(e->seq, IRS + 777);
			CHECK(!e->accepted);
		}
		/* The agreed SYN still opens the connection. */
		INJECT(s, MS(200), .flags = SYN, .seq = IRS, .opt = mss_opt(1460));
		EXPECT_SYN(s, MS(200), SYN | ACK, ISS, IRS + 1);
		EXPECT_STATE(s, PTCP_SYN_RECEIVED);
	}
	sc_finish(s);
}

static void test_isn_mismatch_rejected_synack_is_dropped(void)
{
	struct script *s = sc_new(NULL);

	s->has_peer_isn = true;
	if (sc_goto(s, PTCP_SYN_SENT)) {
		INJECT(s, MS(100), .flags = SYN | ACK, .seq = IRS - 40000, .ack = ISS + 1);
		EXPECT_NOTHING(s, MS(100));
		EXPECT_STATE(s, PTCP_SYN_SENT);
		CHECK_EQ(sc_count_events(s, PTCP_EV_ISN_MISMATCH, -1), 1);
		EXPECT_DROP(s, PTCP_DROP_ISN_MISMATCH);
	}
	sc_finish(s);
}

static void test_isn_mismatch_rejected_then_timeout_says_mismatch(void)
{
	struct ptcp_config cfg;
	struct script *s;

	sc_config(&cfg);
	cfg.syn_retries = 1;
	s = sc_new(&cfg);
	s->has_peer_isn = true;
	if (sc_goto(s, PTCP_SYN_SENT)) {
		INJECT(s, MS(500), .flags = SYN, .seq = IRS + 1, .opt = mss_opt(1460));
		EXPECT_NOTHING(s, MS(500));
		EXPECT_SYN(s, SEC(1), SYN, ISS, 0);
		EXPECT_NOTHING(s, SEC(3));
		EXPECT_CLOSED(s, PTCP_ERR_ISN_MISMATCH);
	}
	sc_finish(s);
}

static void test_isn_mismatch_accepted_synchronizes_and_reports(void)
{
	const struct ptcp_event *e;
	struct ptcp_config cfg;
	struct script *s;

	sc_config(&cfg);
	cfg.isn_policy = PTCP_ISN_ACCEPT;
	s = sc_new(&cfg);
	s->has_peer_isn = true;
	if (sc_goto(s, PTCP_SYN_SENT)) {
		INJECT(s, MS(100), .flags = SYN, .seq = IRS + 777, .opt = mss_opt(1460));
		EXPECT_SYN(s, MS(100), SYN | ACK, ISS, IRS + 778);
		e = sc_event(s, PTCP_EV_ISN_MISMATCH, -1);
		CHECK(e != NULL);
		if (e) {
			CHECK_EQ(e->seq, IRS + 777);
			CHECK(e->accepted);
		}
		INJECT(s, MS(200), .flags = ACK, .seq = IRS + 778, .ack = ISS + 1);
		EXPECT_STATE(s, PTCP_ESTABLISHED);
	}
	sc_finish(s);
}

static void test_isn_mismatch_in_listen_rejected(void)
{
	struct script *s = sc_new(NULL);

	s->has_peer_isn = true;
	if (sc_goto(s, PTCP_LISTEN)) {
		INJECT(s, MS(100), .flags = SYN, .seq = IRS + 1, .opt = mss_opt(1460));
		EXPECT_NOTHING(s, MS(100));
		EXPECT_STATE(s, PTCP_LISTEN);
		CHECK_EQ(sc_count_events(s, PTCP_EV_ISN_MISMATCH, -1), 1);
		INJECT(s, MS(200), .flags = SYN, .seq = IRS, .opt = mss_opt(1460));
		EXPECT_SYN(s, MS(200), SYN | ACK, ISS, IRS + 1);
	}
	sc_finish(s);
}

/* ---- API errors ------------------------------------------------------- */

static void test_conn_new_rejects_bad_config(void)
{
	struct ptcp_endpoint local, remote, remote6;
	struct ptcp_conn *c = NULL;
	struct ptcp_config cfg;
	struct talloc a;

	talloc_init(&a);
	ptcp_endpoint_ipv4(&local, 0x0a000001, 4000);
	ptcp_endpoint_ipv4(&remote, 0x0a000002, 5000);
	memset(&remote6, 0, sizeof(remote6));
	remote6.family = PTCP_AF_INET6;
	remote6.addr[15] = 1;
	remote6.port = 5000;

	sc_config(&cfg);
	CHECK_INT(ptcp_conn_new(&c, &cfg, &local, &remote), PTCP_ERR_INVAL); /* no allocator */
	cfg.alloc = talloc_iface(&a);
	cfg.rcvbuf = 0;
	CHECK_INT(ptcp_conn_new(&c, &cfg, &local, &remote), PTCP_ERR_INVAL);
	sc_config(&cfg);
	cfg.alloc = talloc_iface(&a);
	cfg.sndbuf = (1u << 30) + 1;
	CHECK_INT(ptcp_conn_new(&c, &cfg, &local, &remote), PTCP_ERR_INVAL);
	sc_config(&cfg);
	cfg.alloc = talloc_iface(&a);
	cfg.mss = 63;
	CHECK_INT(ptcp_conn_new(&c, &cfg, &local, &remote), PTCP_ERR_INVAL);
	sc_config(&cfg);
	cfg.alloc = talloc_iface(&a);
	cfg.cc = (enum ptcp_cc_algo)7;
	CHECK_INT(ptcp_conn_new(&c, &cfg, &local, &remote), PTCP_ERR_INVAL);
	sc_config(&cfg);
	cfg.alloc = talloc_iface(&a);
	CHECK_INT(ptcp_conn_new(&c, &cfg, &local, &remote6), PTCP_ERR_INVAL);
	CHECK_EQ(talloc_live(&a), 0);
	CHECK_INT(ptcp_conn_new(&c, &cfg, &local, &remote), 0);
	CHECK(c != NULL);
	CHECK_EQ(ptcp_conn_state(c), PTCP_CLOSED);
	ptcp_conn_free(c);
	CHECK_EQ(talloc_live(&a), 0);
	CHECK_EQ(a.bad_frees, 0);
	ptcp_conn_free(NULL);
	talloc_release(&a);
}

static void test_conn_new_fails_cleanly_on_every_allocation(void)
{
	struct ptcp_endpoint local, remote;
	struct ptcp_config cfg;
	struct ptcp_conn *c;
	unsigned long n, k;
	struct talloc a;

	ptcp_endpoint_ipv4(&local, 0x0a000001, 4000);
	ptcp_endpoint_ipv4(&remote, 0x0a000002, 5000);
	sc_config(&cfg);
	talloc_init(&a);
	cfg.alloc = talloc_iface(&a);
	CHECK_INT(ptcp_conn_new(&c, &cfg, &local, &remote), 0);
	n = a.allocs;
	CHECK(n >= 1);
	ptcp_conn_free(c);
	talloc_release(&a);
	for (k = 1; k <= n; k++) {
		talloc_init(&a);
		a.fail_at = k;
		cfg.alloc = talloc_iface(&a);
		c = NULL;
		CHECK_INT(ptcp_conn_new(&c, &cfg, &local, &remote), PTCP_ERR_NOMEM);
		CHECK_EQ(a.refused, 1);
		CHECK_EQ(talloc_live(&a), 0);
		CHECK_EQ(a.bad_frees, 0);
		talloc_release(&a);
	}
}

/* The engine allocates only when the connection is created. */
static void test_no_allocation_after_creation(void)
{
	struct script *s = sc_new(NULL);
	unsigned long calls = s->alloc.calls;

	if (sc_goto(s, PTCP_ESTABLISHED)) {
		SEND(s, 0, 5000);
		sc_discard(s);
		INJECT(s, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1 + 4380, .len = 1000);
		sc_discard(s);
		RECV(s, MS(20), 1000);
		sc_discard(s);
		SHUTDOWN(s, MS(30));
		sc_discard(s);
		CHECK_EQ(s->alloc.calls, calls);
	}
	sc_discard(s);
	sc_finish(s);
}

static void test_open_in_wrong_state_fails(void)
{
	struct ptcp_open o = { .isn = ISS };
	struct script *s = sc_new(NULL), *w = sc_new_wildcard(NULL);

	CHECK_INT(ptcp_conn_send(s->c, "x", 1, s->now), PTCP_ERR_STATE);
	CHECK_INT(sc_open_active(s, 0), 0);
	EXPECT_SYN(s, 0, SYN, ISS, 0);
	CHECK_INT(ptcp_conn_open_active(s->c, &o, s->now), PTCP_ERR_STATE);
	CHECK_INT(ptcp_conn_open_passive(s->c, &o, s->now), PTCP_ERR_STATE);
	EXPECT_NOTHING(s, 0);
	/* An active open needs a remote endpoint. */
	CHECK_INT(ptcp_conn_open_active(w->c, &o, w->now), PTCP_ERR_STATE);
	CHECK_EQ(ptcp_conn_state(w->c), PTCP_CLOSED);
	CHECK_INT(sc_open_passive(w, 0), 0);
	CHECK_INT(ptcp_conn_send(w->c, "x", 1, w->now), PTCP_ERR_STATE);
	sc_finish(s);
	sc_finish(w);
}

static void test_state_and_drop_names(void)
{
	static const char *const names[] = {
		"CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
		"FIN-WAIT-2", "CLOSE-WAIT", "CLOSING", "LAST-ACK", "TIME-WAIT",
	};
	unsigned i;

	for (i = 0; i < 11; i++)
		CHECK(strcmp(ptcp_state_name((enum ptcp_state)i), names[i]) == 0);
	CHECK(strcmp(ptcp_state_name((enum ptcp_state)11), "?") == 0);
	for (i = 0; i < PTCP_DROP__COUNT; i++)
		CHECK(ptcp_drop_name((enum ptcp_drop)i) != NULL);
}

int main(void)
{
	RUN(test_active_open_three_way_handshake);
	RUN(test_passive_open_three_way_handshake);
	RUN(test_passive_open_without_remote_binds_first_peer);
	RUN(test_simultaneous_open_figure_8);
	RUN(test_simultaneous_open_two_engines_four_messages);
	RUN(test_simultaneous_open_with_both_synacks_lost);
	RUN(test_synack_retransmitted_after_crossing_syns);
	RUN(test_open_when_our_syn_is_lost);
	RUN(test_open_when_peer_syn_is_lost_synack_completes);
	RUN(test_syn_retransmitted_with_backoff_until_timeout);
	RUN(test_syn_interval_gives_a_fixed_schedule);
	RUN(test_syn_interval_max_backs_off);
	RUN(test_first_syn_carries_the_configured_ttl);
	RUN(test_synack_retransmitted_in_syn_received);
	RUN(test_peer_syn_retransmitted_in_passive_syn_received);
	RUN(test_peer_syn_retransmitted_in_simultaneous_syn_received);
	RUN(test_late_peer_syns_after_crossing_syns_are_all_answered);
	RUN(test_synack_with_bad_ack_in_syn_sent_draws_rst);
	RUN(test_ack_without_syn_in_syn_sent_is_dropped);
	RUN(test_data_sent_in_syn_sent_goes_out_when_established);
	RUN(test_data_on_synack_is_delivered);
	RUN(test_handshake_across_the_sequence_wrap);
	RUN(test_handshake_and_data_over_ipv6);
	RUN(test_syn_offers_window_scale_and_sack_when_configured);
	RUN(test_synack_omits_options_the_peer_did_not_offer);
	RUN(test_synack_answers_offered_options);
	RUN(test_agreed_isn_opens_without_event);
	RUN(test_isn_mismatch_rejected_syn_is_dropped_and_reported);
	RUN(test_isn_mismatch_rejected_synack_is_dropped);
	RUN(test_isn_mismatch_rejected_then_timeout_says_mismatch);
	RUN(test_isn_mismatch_accepted_synchronizes_and_reports);
	RUN(test_isn_mismatch_in_listen_rejected);
	RUN(test_conn_new_rejects_bad_config);
	RUN(test_conn_new_fails_cleanly_on_every_allocation);
	RUN(test_no_allocation_after_creation);
	RUN(test_open_in_wrong_state_fails);
	RUN(test_state_and_drop_names);
	return check_summary();
}
