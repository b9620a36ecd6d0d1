/* The connection table (core/engine/stack.h) as packet scripts: several
 * connections in one table, each a flow of the script harness, with their
 * segments interleaved. Demultiplexing by 4-tuple (remote port, IPv4 and
 * IPv6), listeners and their backlog, the RSTs for segments that match
 * nothing (RFC 9293 3.10.7.1), the limits, release through TIME-WAIT, the
 * orphan timeout and fairness of output. */
#include <string.h>

#include "isn.h"
#include "script.h"

static struct ptcp_endpoint ep4(uint32_t a, uint16_t port)
{
	struct ptcp_endpoint ep;

	ptcp_endpoint_ipv4(&ep, a, port);
	return ep;
}

/* 2001:db8::n */
static struct ptcp_endpoint ep6(uint8_t n, uint16_t port)
{
	struct ptcp_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	ep.family = PTCP_AF_INET6;
	ep.addr[0] = 0x20;
	ep.addr[1] = 0x01;
	ep.addr[2] = 0x0d;
	ep.addr[3] = 0xb8;
	ep.addr[15] = n;
	ep.port = port;
	return ep;
}

#define LOCAL4 ep4(0x0a000001, 4000)
#define PEER4(port) ep4(0x0a000002, (port))

static struct script *flow(struct sc_stack *k, struct ptcp_endpoint l, struct ptcp_endpoint r)
{
	return sc_stack_flow(k, &l, &r, NULL);
}

static struct ptcp_listener *listen_on(struct sc_stack *k, struct ptcp_endpoint l, unsigned backlog)
{
	struct ptcp_listener *lst = NULL;

	CHECK_INT(ptcp_stack_listen(k->st, &lst, &l, backlog, NULL, NULL), 0);
	return lst;
}

/* ---- demultiplexing ------------------------------------------------------ */

/* Two connections that differ only in the remote port: each segment
 * reaches its own, in both directions, interleaved. */
static void test_demux_by_remote_port(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct script *a = flow(k, LOCAL4, PEER4(5000));
	struct script *b = flow(k, LOCAL4, PEER4(5001));
	struct ptcp_stack_stats st;

	b->irs = 9000; /* a crossed delivery would show in the sequence numbers */
	CHECK(sc_goto(a, PTCP_ESTABLISHED));
	CHECK(sc_goto(b, PTCP_ESTABLISHED));
	INJECT(b, MS(10), .flags = ACK, .seq = 9001, .ack = ISS + 1, .len = 100);
	EXPECT(b, MS(10), .flags = ACK, .seq = ISS + 1, .ack = 9101);
	EXPECT_NOTHING(a, MS(10));
	INJECT(a, MS(20), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 300);
	EXPECT(a, MS(20), .flags = ACK, .seq = ISS + 1, .ack = IRS + 301);
	EXPECT_NOTHING(b, MS(20));
	INJECT(b, MS(30), .flags = ACK, .seq = 9101, .ack = ISS + 1, .len = 50);
	EXPECT(b, MS(30), .flags = ACK, .seq = ISS + 1, .ack = 9151);
	CHECK_INT(RECV(a, MS(40), 1000), 300);
	CHECK_INT(RECV(b, MS(40), 1000), 150);
	SEND(a, MS(50), 10);
	SEND(b, MS(50), 20);
	EXPECT(a, MS(50), .flags = ACK | PSH, .seq = ISS + 1, .ack = IRS + 301, .len = 10);
	EXPECT(b, MS(50), .flags = ACK | PSH, .seq = ISS + 1, .ack = 9151, .len = 20);
	INJECT(a, MS(60), .flags = ACK, .seq = IRS + 301, .ack = ISS + 11);
	INJECT(b, MS(60), .flags = ACK, .seq = 9151, .ack = ISS + 21);
	sc_stack_expect_nothing(k, SEC(5));
	st = sc_stack_stats(k);
	CHECK_EQ(st.conns, 2);
	CHECK_EQ(st.by_state[PTCP_ESTABLISHED], 2);
	CHECK_EQ(st.drops[PTCP_STACK_DROP_NO_MATCH], 0);
	CHECK(ptcp_stack_find(k->st, &a->local, &a->remote) == a->c);
	CHECK(ptcp_stack_find(k->st, &b->local, &b->remote) == b->c);
	CHECK(a->c != b->c);
	sc_stack_finish(k);
}

/* An IPv4 and an IPv6 connection with the same ports, and IPv6 addresses
 * whose first four bytes are the IPv4 ones: the family and all sixteen
 * bytes take part in the match. */
static void test_demux_ipv4_ipv6(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct ptcp_endpoint l6 = ep6(1, 4000), r6 = ep6(2, 5000);
	struct script *v4, *v6, *v6b;

	memcpy(l6.addr, (const uint8_t[]){ 10, 0, 0, 1 }, 4);
	memcpy(r6.addr, (const uint8_t[]){ 10, 0, 0, 2 }, 4);
	v4 = flow(k, LOCAL4, PEER4(5000));
	v6 = sc_stack_flow(k, &l6, &r6, NULL);
	r6.addr[15] = 3;
	v6b = sc_stack_flow(k, &l6, &r6, NULL);
	v6->irs = 7000;
	v6b->irs = 8000;
	CHECK(sc_goto(v4, PTCP_ESTABLISHED));
	CHECK(sc_goto(v6, PTCP_ESTABLISHED));
	CHECK(sc_goto(v6b, PTCP_ESTABLISHED));
	INJECT(v6, MS(10), .flags = ACK, .seq = 7001, .ack = ISS + 1, .len = 64);
	EXPECT(v6, MS(10), .flags = ACK, .seq = ISS + 1, .ack = 7065);
	INJECT(v4, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 32);
	EXPECT(v4, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 33);
	INJECT(v6b, MS(10), .flags = ACK, .seq = 8001, .ack = ISS + 1, .len = 16);
	EXPECT(v6b, MS(10), .flags = ACK, .seq = ISS + 1, .ack = 8017);
	CHECK_INT(RECV(v4, MS(20), 100), 32);
	CHECK_INT(RECV(v6, MS(20), 100), 64);
	CHECK_INT(RECV(v6b, MS(20), 100), 16);
	CHECK_EQ(sc_stack_stats(k).conns, 3);
	sc_stack_finish(k);
}

/* ---- listeners ------------------------------------------------------------ */

/* A SYN to a listener makes a half-open connection in SYN-RECEIVED whose
 * ISN is RFC 6528's for the 4-tuple and the time; the ACK completes it
 * into the accept queue. */
static void test_listener_half_open_and_accept(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct ptcp_listener *lst = listen_on(k, LOCAL4, 4);
	struct script *p = flow(k, LOCAL4, PEER4(5000));
	struct ptcp_conn *c = NULL;
	const struct sc_stack_event *ev;
	struct ptcp_stack_stats st;
	int user;

	p->passive = true;
	CHECK(sc_goto(p, PTCP_SYN_RECEIVED));
	/* sc_goto handed the SYN in 10 ms after the start. */
	CHECK_EQ(p->iss, ptcp_isn_generate(k->cfg.isn_secret, &p->local, &p->remote,
	                                   p->base));
	st = sc_stack_stats(k);
	CHECK_EQ(st.conns, 1);
	CHECK_EQ(st.by_state[PTCP_SYN_RECEIVED], 1);
	CHECK(sc_stack_event(k, PTCP_STACK_EV_ACCEPTABLE, NULL) == NULL);
	CHECK_INT(ptcp_stack_accept(k->st, lst, &c, &user), PTCP_ERR_NOTFOUND);

	INJECT(p, MS(10), .flags = ACK, .seq = IRS + 1, .ack = p->iss + 1);
	EXPECT_NOTHING(p, MS(10));
	EXPECT_STATE(p, PTCP_ESTABLISHED);
	ev = sc_stack_event(k, PTCP_STACK_EV_ACCEPTABLE, p->c);
	CHECK(ev != NULL);
	CHECK(ev && ev->listener == lst);
	CHECK_INT(ptcp_stack_accept(k->st, lst, &c, &user), 0);
	CHECK(c == p->c);
	CHECK(ptcp_stack_user(k->st, c) == &user);
	CHECK_INT(ptcp_stack_accept(k->st, lst, &c, NULL), PTCP_ERR_NOTFOUND);
	CHECK_EQ(sc_stack_stats(k).accepted, 1);

	/* It carries data like any other. */
	INJECT(p, MS(20), .flags = ACK, .seq = IRS + 1, .ack = p->iss + 1, .len = 10);
	EXPECT(p, MS(20), .flags = ACK, .seq = p->iss + 1, .ack = IRS + 11);
	CHECK_INT(RECV(p, MS(30), 100), 10);
	sc_stack_finish(k);
}

/* A retransmitted SYN reaches the half-open connection (its SYN-ACK goes
 * again), not the listener: still one connection. A RST sends it back to
 * LISTEN (RFC 9293 3.10.7.4), which for the table means gone; the peer's
 * next SYN makes a new one. */
static void test_half_open_syn_retransmit_and_rst(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct script *p = flow(k, LOCAL4, PEER4(5000));
	const struct sc_stack_event *ev;
	ptcp_seq iss;

	listen_on(k, LOCAL4, 4);
	p->passive = true;
	CHECK(sc_goto(p, PTCP_SYN_RECEIVED));
	iss = p->iss;
	INJECT(p, MS(100), .flags = SYN, .seq = IRS, .opt = { .has_mss = true, .mss = 1460 });
	EXPECT(p, MS(100), .flags = SYN | ACK, .seq = iss, .ack = IRS + 1, WANY);
	CHECK_EQ(sc_stack_stats(k).conns, 1);
	CHECK_EQ(sc_stack_stats(k).created, 1);

	INJECT(p, MS(200), .flags = RST, .seq = IRS + 1);
	EXPECT_NOTHING(p, MS(200));
	ev = sc_stack_event(k, PTCP_STACK_EV_FREED, NULL);
	CHECK(ev != NULL && ev->flow == 0);
	CHECK(p->c == NULL);
	CHECK_EQ(sc_stack_stats(k).conns, 0);

	/* A new SYN: a new connection (its ISN moved on with the clock). */
	p->irs = IRS + 100000;
	INJECT(p, MS(300), .flags = SYN, .seq = IRS + 100000, .opt = { .has_mss = true, .mss = 1460 });
	CHECK(p->c != NULL);
	EXPECT(p, MS(300), .flags = SYN | ACK,
	       .seq = ptcp_isn_generate(k->cfg.isn_secret, &p->local, &p->remote, p->now),
	       .ack = IRS + 100001, WANY);
	CHECK_EQ(sc_stack_stats(k).created, 2);
	sc_stack_finish(k);
}

/* The same without an output call between the RST and the next SYN: the
 * dead connection must not take the SYN (it would be a released one in
 * SYN-RECEIVED that nobody can accept); the listener does. */
static void test_half_open_rst_then_syn_before_output(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct script *p = flow(k, LOCAL4, PEER4(5000));
	struct ptcp_segment rst = { .sport = 5000, .dport = 4000, .flags = RST, .seq = IRS + 1 };
	struct ptcp_segment syn = { .sport = 5000, .dport = 4000, .flags = SYN, .seq = IRS + 7 };
	uint8_t a[PTCP_TCP_HDR_MAX], b[PTCP_TCP_HDR_MAX];
	const struct sc_stack_event *ev;
	struct ptcp_conn *old;
	int na, nb;

	listen_on(k, LOCAL4, 1);
	p->passive = true;
	CHECK(sc_goto(p, PTCP_SYN_RECEIVED));
	na = ptcp_segment_emit(&rst, a, sizeof(a), &p->remote, &p->local);
	nb = ptcp_segment_emit(&syn, b, sizeof(b), &p->remote, &p->local);
	old = p->c;
	CHECK_INT(ptcp_stack_input(k->st, a, (size_t)na, &p->remote, &p->local, k->now), 0);
	CHECK_INT(ptcp_stack_input(k->st, b, (size_t)nb, &p->remote, &p->local, k->now), 0);
	ev = sc_stack_event(k, PTCP_STACK_EV_FREED, NULL);
	CHECK(ev && ev->conn == old);
	CHECK_EQ(sc_stack_stats(k).created, 2);
	CHECK_EQ(sc_stack_stats(k).conns, 1);
	CHECK_EQ(sc_stack_stats(k).drops[PTCP_STACK_DROP_BACKLOG], 0);
	sc_stack_drain(k);
	CHECK(p->c != NULL);
	EXPECT_STATE(p, PTCP_SYN_RECEIVED);
	EXPECT(p, 0, .flags = SYN | ACK,
	       .seq = ptcp_isn_generate(k->cfg.isn_secret, &p->local, &p->remote, k->now),
	       .ack = IRS + 8, WANY);
	sc_stack_finish(k);
}

/* The SYN-ACK's retransmissions run out: the half-open connection goes
 * without the owner ever hearing of it, and no longer counts against the
 * backlog. */
static void test_half_open_times_out(void)
{
	struct ptcp_stack_config cfg;
	struct sc_stack *k;
	struct script *p;

	sc_stack_config(&cfg);
	cfg.conn.syn_retries = 1;
	k = sc_stack_new(&cfg);
	p = flow(k, LOCAL4, PEER4(5000));
	listen_on(k, LOCAL4, 1);
	p->passive = true;
	CHECK(sc_goto(p, PTCP_SYN_RECEIVED));
	EXPECT(p, SEC(1), .flags = SYN | ACK, .seq = p->iss, .ack = IRS + 1, WANY);
	EXPECT_NOTHING(p, SEC(3) - 1);
	sc_stack_advance(k, SEC(3));
	CHECK(sc_stack_event(k, PTCP_STACK_EV_FREED, NULL) != NULL);
	CHECK_EQ(sc_stack_stats(k).conns, 0);
	CHECK_EQ(ptcp_stack_expiry(k->st), PTCP_TS_NEVER);
	/* The backlog of 1 has room again. */
	INJECT(p, SEC(4), .flags = SYN, .seq = IRS, .opt = { .has_mss = true, .mss = 1460 });
	EXPECT(p, SEC(4), .flags = SYN | ACK,
	       .seq = ptcp_isn_generate(k->cfg.isn_secret, &p->local, &p->remote, p->now),
	       .ack = IRS + 1, WANY);
	sc_stack_finish(k);
}

/* A listener on every address takes IPv4 and IPv6 SYNs; a listener on the
 * exact address wins over it. */
static void test_listener_wildcard(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct ptcp_endpoint any = { .family = PTCP_AF_NONE, .port = 4000 };
	struct ptcp_listener *wild = listen_on(k, any, 8), *exact, *l;
	struct script *p4 = flow(k, ep4(0x0a000009, 4000), PEER4(5000));
	struct script *p6 = flow(k, ep6(1, 4000), ep6(2, 5000));
	struct script *px = flow(k, LOCAL4, PEER4(5000));
	const struct sc_stack_event *ev;
	struct ptcp_conn *c;

	exact = listen_on(k, LOCAL4, 8);
	CHECK_INT(ptcp_stack_listen(k->st, &l, &any, 8, NULL, NULL), PTCP_ERR_EXISTS);
	p4->passive = p6->passive = px->passive = true;
	CHECK(sc_goto(p4, PTCP_ESTABLISHED));
	CHECK(sc_goto(p6, PTCP_ESTABLISHED));
	CHECK(sc_goto(px, PTCP_ESTABLISHED));
	ev = sc_stack_event(k, PTCP_STACK_EV_ACCEPTABLE, p4->c);
	CHECK(ev && ev->listener == wild);
	ev = sc_stack_event(k, PTCP_STACK_EV_ACCEPTABLE, p6->c);
	CHECK(ev && ev->listener == wild);
	ev = sc_stack_event(k, PTCP_STACK_EV_ACCEPTABLE, px->c);
	CHECK(ev && ev->listener == exact);
	CHECK_INT(ptcp_stack_accept(k->st, wild, &c, NULL), 0);
	CHECK(c == p4->c);
	CHECK_INT(ptcp_stack_accept(k->st, wild, &c, NULL), 0);
	CHECK(c == p6->c);
	CHECK_INT(ptcp_stack_accept(k->st, exact, &c, NULL), 0);
	CHECK(c == px->c);
	sc_stack_finish(k);
}

/* With backlog 2, a third SYN while two handshakes are open is dropped
 * and counted, without a reply (the peer retries). Connections waiting in
 * the accept queue count too; accepting one makes room. */
static void test_backlog_full_drops_syn(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct ptcp_listener *lst = listen_on(k, LOCAL4, 2);
	struct script *p[3];
	struct ptcp_conn *c;

	for (int i = 0; i < 3; i++) {
		p[i] = flow(k, LOCAL4, PEER4((uint16_t)(5000 + i)));
		p[i]->passive = true;
	}
	CHECK(sc_goto(p[0], PTCP_SYN_RECEIVED));
	CHECK(sc_goto(p[1], PTCP_SYN_RECEIVED));
	INJECT(p[2], MS(10), .flags = SYN, .seq = IRS, .opt = { .has_mss = true, .mss = 1460 });
	EXPECT_NOTHING(p[2], MS(10));
	CHECK(p[2]->c == NULL);
	CHECK_EQ(sc_stack_stats(k).drops[PTCP_STACK_DROP_BACKLOG], 1);
	CHECK_EQ(sc_stack_stats(k).conns, 2);

	/* Both complete: now two wait for accept, the backlog is still full. */
	INJECT(p[0], MS(20), .flags = ACK, .seq = IRS + 1, .ack = p[0]->iss + 1);
	INJECT(p[1], MS(20), .flags = ACK, .seq = IRS + 1, .ack = p[1]->iss + 1);
	INJECT(p[2], MS(30), .flags = SYN, .seq = IRS, .opt = { .has_mss = true, .mss = 1460 });
	EXPECT_NOTHING(p[2], MS(30));
	CHECK_EQ(sc_stack_stats(k).drops[PTCP_STACK_DROP_BACKLOG], 2);

	CHECK_INT(ptcp_stack_accept(k->st, lst, &c, NULL), 0);
	CHECK(c == p[0]->c);
	INJECT(p[2], MS(40), .flags = SYN, .seq = IRS, .opt = { .has_mss = true, .mss = 1460 });
	CHECK(p[2]->c != NULL);
	EXPECT(p[2], MS(40), .flags = SYN | ACK,
	       .seq = ptcp_isn_generate(k->cfg.isn_secret, &p[2]->local, &p[2]->remote, p[2]->now),
	       .ack = IRS + 1, WANY);
	CHECK_EQ(sc_stack_stats(k).drops[PTCP_STACK_DROP_BACKLOG], 2);
	sc_stack_finish(k);
}

/* RFC 9293 3.10.7.2 at a listener for segments without a connection: a
 * RST is ignored, an ACK draws <SEQ=SEG.ACK><CTL=RST>, a FIN or data
 * without ACK is dropped, a SYN with ACK is an ACK. */
static void test_listener_non_syn(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct script *p = flow(k, LOCAL4, PEER4(5000));

	listen_on(k, LOCAL4, 4);
	INJECT(p, MS(10), .flags = RST, .seq = 77);
	EXPECT_NOTHING(p, MS(10));
	INJECT(p, MS(20), .flags = ACK, .seq = 77, .ack = 555);
	EXPECT(p, MS(20), .flags = RST, .seq = 555);
	INJECT(p, MS(30), .flags = FIN, .seq = 77);
	INJECT(p, MS(30), .flags = PSH, .seq = 77, .len = 10);
	EXPECT_NOTHING(p, MS(30));
	INJECT(p, MS(40), .flags = SYN | ACK, .seq = 77, .ack = 999);
	EXPECT(p, MS(40), .flags = RST, .seq = 999);
	CHECK_EQ(sc_stack_stats(k).conns, 0);
	CHECK_EQ(sc_stack_stats(k).drops[PTCP_STACK_DROP_NO_MATCH], 5);
	CHECK_EQ(sc_stack_stats(k).rsts_out, 2);
	sc_stack_finish(k);
}

/* ---- segments that match nothing -------------------------------------------- */

/* RFC 9293 3.10.7.1: an ACK draws <SEQ=SEG.ACK><CTL=RST>; anything else
 * but a RST draws <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; a RST draws
 * nothing. Next to a live connection on the same local port. */
static void test_unmatched_draws_rst(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct script *live = flow(k, LOCAL4, PEER4(5000));
	struct script *u = flow(k, LOCAL4, PEER4(6000));
	struct script *u6 = flow(k, ep6(1, 4000), ep6(2, 5000));

	CHECK(sc_goto(live, PTCP_ESTABLISHED));
	INJECT(u, MS(10), .flags = ACK, .seq = 100, .ack = 200);
	EXPECT(u, MS(10), .flags = RST, .seq = 200);
	INJECT(u, MS(20), .flags = ACK, .seq = 100, .ack = 200, .len = 30);
	EXPECT(u, MS(20), .flags = RST, .seq = 200);
	INJECT(u, MS(30), .flags = SYN, .seq = 100);
	EXPECT(u, MS(30), .flags = RST | ACK, .seq = 0, .ack = 101);
	INJECT(u, MS(40), .flags = FIN | PSH, .seq = 100, .len = 9);
	EXPECT(u, MS(40), .flags = RST | ACK, .seq = 0, .ack = 110);
	INJECT(u, MS(50), .flags = RST, .seq = 100);
	INJECT(u, MS(50), .flags = RST | ACK, .seq = 100, .ack = 5);
	EXPECT_NOTHING(u, MS(50));
	INJECT(u6, MS(60), .flags = ACK, .seq = 1, .ack = 0xfffffff0u);
	EXPECT(u6, MS(60), .flags = RST, .seq = 0xfffffff0u);
	EXPECT_NOTHING(live, MS(60));
	EXPECT_STATE(live, PTCP_ESTABLISHED);
	CHECK_EQ(sc_stack_stats(k).drops[PTCP_STACK_DROP_NO_MATCH], 7);
	CHECK_EQ(sc_stack_stats(k).rsts_out, 5);
	CHECK_EQ(sc_stack_stats(k).conns, 1);
	sc_stack_finish(k);
}

/* With reset_unmatched off the table keeps quiet (the kernel's own TCP
 * may own such flows on the same port), but still counts. */
static void test_unmatched_quiet(void)
{
	struct ptcp_stack_config cfg;
	struct sc_stack *k;
	struct script *u;

	sc_stack_config(&cfg);
	cfg.reset_unmatched = false;
	k = sc_stack_new(&cfg);
	u = flow(k, LOCAL4, PEER4(6000));
	INJECT(u, MS(10), .flags = ACK, .seq = 100, .ack = 200);
	INJECT(u, MS(20), .flags = SYN, .seq = 100);
	INJECT(u, MS(30), .flags = ACK, .seq = 100, .ack = 200, .len = 30);
	EXPECT_NOTHING(u, MS(30));
	CHECK_EQ(sc_stack_stats(k).drops[PTCP_STACK_DROP_NO_MATCH], 3);
	CHECK_EQ(sc_stack_stats(k).rsts_out, 0);
	sc_stack_finish(k);
}

/* A burst of junk overflows the bounded RST queue: the excess is counted,
 * not queued; the queue drains in order. */
static void test_rst_queue_bounded(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct script *u = flow(k, LOCAL4, PEER4(6000));
	uint8_t buf[PTCP_TCP_HDR_MIN];
	struct ptcp_segment seg = { .sport = 6000, .dport = 4000, .flags = ACK };
	struct ptcp_stack_stats st;
	unsigned i;

	for (i = 0; i < 40; i++) {
		seg.ack = 1000 + i;
		CHECK_INT(ptcp_segment_emit(&seg, buf, sizeof(buf), &u->remote, &u->local), 20);
		CHECK_INT(ptcp_stack_input(k->st, buf, sizeof(buf), &u->remote, &u->local, k->now), 0);
	}
	st = sc_stack_stats(k);
	CHECK_EQ(st.drops[PTCP_STACK_DROP_NO_MATCH], 40);
	CHECK(st.drops[PTCP_STACK_DROP_RST_QUEUE] > 0);
	sc_stack_drain(k);
	for (i = 0; i < 40 - st.drops[PTCP_STACK_DROP_RST_QUEUE]; i++)
		EXPECT(u, 0, .flags = RST, .seq = 1000 + i);
	EXPECT_NOTHING(u, MS(1));
	sc_stack_finish(k);
}

/* A bad checksum or a truncated header never reaches a connection and
 * draws nothing. */
static void test_bad_segments_counted(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct script *a = flow(k, LOCAL4, PEER4(5000));
	uint8_t buf[PTCP_TCP_HDR_MIN];
	struct ptcp_segment seg = { .sport = 5000, .dport = 4000, .flags = RST, .seq = IRS + 1 };

	CHECK(sc_goto(a, PTCP_ESTABLISHED));
	CHECK_INT(ptcp_segment_emit(&seg, buf, sizeof(buf), &a->remote, &a->local), 20);
	buf[16] ^= 1;
	CHECK_INT(sc_inject_raw(a, MS(10), buf, sizeof(buf)), PTCP_ERR_CHECKSUM);
	CHECK_INT(sc_inject_raw(a, MS(10), buf, 12), PTCP_ERR_TRUNCATED);
	EXPECT_NOTHING(a, MS(10));
	EXPECT_STATE(a, PTCP_ESTABLISHED);
	CHECK_EQ(sc_stack_stats(k).drops[PTCP_STACK_DROP_CHECKSUM], 1);
	CHECK_EQ(sc_stack_stats(k).drops[PTCP_STACK_DROP_MALFORMED], 1);
	sc_stack_finish(k);
}

/* ptcp_stack_input_verified(): the driver vouches for the checksum (the
 * kernel verified it, or sent the segment with it left to offload), so a
 * field the engine would reject goes through; everything else as before. */
static void test_input_verified_skips_checksum(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct script *a = flow(k, LOCAL4, PEER4(5000));
	struct script *u = flow(k, LOCAL4, PEER4(6000));
	uint8_t buf[PTCP_TCP_HDR_MIN];
	struct ptcp_segment seg = { .sport = 5000, .dport = 4000, .flags = RST, .seq = IRS + 1 };

	CHECK(sc_goto(a, PTCP_ESTABLISHED));
	CHECK_INT(ptcp_segment_emit(&seg, buf, sizeof(buf), &a->remote, &a->local), 20);
	buf[16] ^= 1;
	CHECK_INT(ptcp_stack_input(k->st, buf, sizeof(buf), &a->remote, &a->local, k->now),
		  PTCP_ERR_CHECKSUM);
	EXPECT_STATE(a, PTCP_ESTABLISHED);
	/* Other segments still go where they belong: an ACK of nobody's
	 * draws its RST. */
	seg = (struct ptcp_segment){ .sport = 6000, .dport = 4000, .flags = ACK, .seq = 1, .ack = 77 };
	{
		uint8_t b2[PTCP_TCP_HDR_MIN];

		CHECK_INT(ptcp_segment_emit(&seg, b2, sizeof(b2), NULL, NULL), 20);
		CHECK_INT(ptcp_stack_input_verified(k->st, b2, sizeof(b2), &u->remote, &u->local, k->now),
			  0);
		sc_stack_drain(k);
		EXPECT(u, 0, .flags = RST, .seq = 77);
	}
	CHECK_INT(ptcp_stack_input_verified(k->st, buf, sizeof(buf), &a->remote, &a->local, k->now), 0);
	EXPECT_STATE(a, PTCP_CLOSED);
	CHECK_INT(ptcp_stack_input_verified(k->st, buf, 12, &a->remote, &a->local, k->now),
		  PTCP_ERR_TRUNCATED);
	CHECK_EQ(sc_stack_stats(k).drops[PTCP_STACK_DROP_CHECKSUM], 1);
	sc_stack_finish(k);
}

/* ---- active opens ------------------------------------------------------------ */

/* Hole punching: an active open with agreed ISNs into a table that also
 * listens on the port. The peer's crossing SYN goes to the connection,
 * not the listener (RFC 9293 figure 8). */
static void test_simultaneous_open_beside_listener(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct script *a = flow(k, LOCAL4, PEER4(5000));

	listen_on(k, LOCAL4, 4);
	a->has_peer_isn = true;
	CHECK(sc_goto(a, PTCP_SYN_RECEIVED));
	INJECT(a, MS(10), .flags = SYN | ACK, .seq = IRS, .ack = ISS + 1,
	       .opt = { .has_mss = true, .mss = 1460 });
	EXPECT_NOTHING(a, MS(10));
	EXPECT_STATE(a, PTCP_ESTABLISHED);
	CHECK(sc_stack_event(k, PTCP_STACK_EV_ACCEPTABLE, NULL) == NULL);
	CHECK_EQ(sc_stack_stats(k).conns, 1);
	sc_stack_finish(k);
}

/* Events carry the user pointer given to connect; a release drops it. */
static void test_connect_user_and_errors(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct script *a = flow(k, LOCAL4, PEER4(5000));
	struct ptcp_endpoint l = LOCAL4, r = PEER4(5000), any = ep4(0, 4000), r6 = ep6(2, 5000);
	struct ptcp_conn *c = NULL, *dup = (struct ptcp_conn *)&l;

	CHECK_INT(sc_open_active(a, 0), 0);
	EXPECT_SYN(a, 0, SYN, ISS, 0);
	CHECK(ptcp_stack_user(k->st, a->c) == a);
	CHECK_INT(ptcp_stack_connect(k->st, &dup, &l, &r, NULL, NULL, NULL, 0), PTCP_ERR_EXISTS);
	CHECK(dup == NULL);
	CHECK_INT(ptcp_stack_connect(k->st, &c, &any, &r, NULL, NULL, NULL, 0), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_stack_connect(k->st, &c, &l, &r6, NULL, NULL, NULL, 0), PTCP_ERR_INVAL);
	r.port = 0;
	CHECK_INT(ptcp_stack_connect(k->st, &c, &l, &r, NULL, NULL, NULL, 0), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_stack_set_user(k->st, a->c, &l), 0);
	CHECK(ptcp_stack_user(k->st, a->c) == &l);
	CHECK_INT(ptcp_stack_touch(k->st, (struct ptcp_conn *)NULL, 0), PTCP_ERR_NOTFOUND);
	CHECK_INT(ptcp_stack_release(k->st, a->c, 0), 0);
	/* In SYN-SENT the release's shutdown deletes the TCB (RFC 9293
	 * 3.10.4); the table frees it at the next output. */
	CHECK(a->c != NULL);
	sc_stack_drain(k);
	CHECK(a->c == NULL);
	CHECK(sc_stack_event(k, PTCP_STACK_EV_FREED, NULL) != NULL);
	CHECK_EQ(sc_stack_stats(k).conns, 0);
	sc_stack_finish(k);
}

/* An active open without an ISN gets RFC 6528's from the table's secret. */
static void test_connect_generates_isn(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct script *a = flow(k, LOCAL4, PEER4(5000));
	struct ptcp_conn *c;

	sc_stack_advance(k, MS(123));
	CHECK_INT(ptcp_stack_connect(k->st, &c, &a->local, &a->remote, NULL, NULL, NULL, k->now), 0);
	sc_stack_drain(k);
	EXPECT_SYN(a, MS(123), SYN,
	           ptcp_isn_generate(k->cfg.isn_secret, &a->local, &a->remote, k->now), 0);
	sc_stack_finish(k);
}

/* ---- limits ------------------------------------------------------------------- */

/* max_conns: a connect beyond it is refused with PTCP_ERR_CONN_LIMIT, a
 * SYN to a listener dropped and counted; a freed connection makes room. */
static void test_conn_limit(void)
{
	struct ptcp_stack_config cfg;
	struct sc_stack *k;
	struct script *a, *b, *p;
	struct ptcp_conn *c;
	struct ptcp_endpoint r3 = PEER4(5003);

	sc_stack_config(&cfg);
	cfg.max_conns = 2;
	k = sc_stack_new(&cfg);
	a = flow(k, LOCAL4, PEER4(5001));
	b = flow(k, LOCAL4, PEER4(5002));
	p = flow(k, LOCAL4, PEER4(5000));
	listen_on(k, LOCAL4, 8);
	CHECK(sc_goto(a, PTCP_ESTABLISHED));
	CHECK(sc_goto(b, PTCP_ESTABLISHED));
	CHECK_INT(ptcp_stack_connect(k->st, &c, &a->local, &r3, NULL, NULL, NULL, k->now),
	          PTCP_ERR_CONN_LIMIT);
	CHECK(strcmp(ptcp_strerror(PTCP_ERR_CONN_LIMIT), "unknown error") != 0);
	INJECT(p, MS(10), .flags = SYN, .seq = IRS, .opt = { .has_mss = true, .mss = 1460 });
	EXPECT_NOTHING(p, MS(10));
	CHECK_EQ(sc_stack_stats(k).drops[PTCP_STACK_DROP_CONN_LIMIT], 1);

	/* a goes: reset by its peer, released, freed. */
	INJECT(a, MS(20), .flags = RST, .seq = IRS + 1);
	CHECK_INT(ptcp_stack_release(k->st, a->c, k->now), 0);
	sc_stack_drain(k);
	CHECK(a->c == NULL);
	p->passive = true;
	CHECK(sc_goto(p, PTCP_ESTABLISHED));
	CHECK_EQ(sc_stack_stats(k).conns, 2);
	sc_stack_finish(k);
}

/* Memory: a connection whose buffers pass max_conn_mem is refused with
 * PTCP_ERR_MEM_LIMIT, as is one that would take the total past max_mem;
 * what the table accounts is exactly what the connections hold. */
static void test_mem_limits(void)
{
	struct ptcp_stack_config cfg;
	struct ptcp_config big;
	struct sc_stack *k;
	struct script *a, *p, *f, *g;
	struct ptcp_conn *c;
	struct ptcp_endpoint r = PEER4(6000);
	struct ptcp_stack_stats st;
	uint64_t one;

	sc_stack_config(&cfg);
	cfg.max_conn_mem = 64 * 1024;
	k = sc_stack_new(&cfg);
	a = flow(k, LOCAL4, PEER4(5001));
	p = flow(k, LOCAL4, PEER4(5000));
	CHECK(sc_goto(a, PTCP_ESTABLISHED));
	st = sc_stack_stats(k);
	one = st.mem_conns;
	/* The connection's state and both buffers, nothing else. */
	CHECK(one > cfg.conn.sndbuf + cfg.conn.rcvbuf);
	CHECK(one < cfg.conn.sndbuf + cfg.conn.rcvbuf + 8192);
	CHECK_EQ(k->alloc.live_bytes, st.mem_conns + st.mem_table);

	big = cfg.conn;
	big.rcvbuf = 64 * 1024;
	CHECK_INT(ptcp_stack_connect(k->st, &c, &a->local, &r, NULL, &big, NULL, k->now),
	          PTCP_ERR_MEM_LIMIT);
	CHECK(strcmp(ptcp_strerror(PTCP_ERR_MEM_LIMIT), "unknown error") != 0);
	CHECK_EQ(sc_stack_stats(k).mem_conns, one);
	CHECK_EQ(k->alloc.live_bytes, sc_stack_stats(k).mem_conns + sc_stack_stats(k).mem_table);
	sc_stack_finish(k);

	/* Room for exactly two connections in total. */
	sc_stack_config(&cfg);
	cfg.max_mem = 2 * one + one / 2;
	k = sc_stack_new(&cfg);
	a = flow(k, LOCAL4, PEER4(5001));
	p = flow(k, LOCAL4, PEER4(5000));
	f = flow(k, LOCAL4, PEER4(6000));
	g = flow(k, LOCAL4, PEER4(6001));
	listen_on(k, LOCAL4, 8);
	CHECK(sc_goto(a, PTCP_ESTABLISHED));
	CHECK_INT(sc_open_active(f, 0), 0);
	EXPECT_SYN(f, 0, SYN, ISS, 0);
	CHECK_INT(sc_open_active(g, 0), PTCP_ERR_MEM_LIMIT);
	CHECK(g->c == NULL);
	INJECT(p, MS(10), .flags = SYN, .seq = IRS, .opt = { .has_mss = true, .mss = 1460 });
	EXPECT_NOTHING(p, MS(10));
	CHECK(p->c == NULL);
	st = sc_stack_stats(k);
	CHECK_EQ(st.drops[PTCP_STACK_DROP_MEM_LIMIT], 1);
	CHECK_EQ(st.mem_conns, 2 * one);
	CHECK_EQ(k->alloc.live_bytes, st.mem_conns + st.mem_table);
	/* f goes (SYN-SENT: at once); then g fits. */
	CHECK_INT(ptcp_stack_release(k->st, f->c, k->now), 0);
	sc_stack_drain(k);
	CHECK(f->c == NULL);
	CHECK_EQ(sc_stack_stats(k).mem_conns, one);
	CHECK_INT(sc_open_active(g, MS(20)), 0);
	EXPECT_SYN(g, MS(20), SYN, ISS, 0);
	sc_stack_finish(k);
}

/* ---- release, TIME-WAIT, orphans --------------------------------------------- */

/* The active closer releases its connection in TIME-WAIT: the table keeps
 * it, a retransmitted FIN is answered again (and restarts the 2 MSL), and
 * it is freed when TIME-WAIT ends. */
static void test_release_in_time_wait(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct script *a = flow(k, LOCAL4, PEER4(5000));
	struct script *b = flow(k, LOCAL4, PEER4(5001));
	struct ptcp_stack_stats st;
	size_t live;

	CHECK(sc_goto(b, PTCP_ESTABLISHED));
	CHECK(sc_goto(a, PTCP_TIME_WAIT));
	live = k->alloc.live_bytes;
	CHECK_INT(ptcp_stack_release(k->st, a->c, k->now), 0);
	CHECK_INT(ptcp_stack_release(k->st, a->c, k->now), PTCP_ERR_NOTFOUND);
	CHECK_INT(ptcp_stack_touch(k->st, a->c, k->now), PTCP_ERR_NOTFOUND);
	EXPECT_NOTHING(a, SEC(10));
	INJECT(a, SEC(10), .flags = FIN | ACK, .seq = IRS + 1, .ack = ISS + 2);
	EXPECT(a, SEC(10), .flags = ACK, .seq = ISS + 2, .ack = IRS + 2);
	EXPECT_STATE(a, PTCP_TIME_WAIT);
	st = sc_stack_stats(k);
	CHECK_EQ(st.by_state[PTCP_TIME_WAIT], 1);
	CHECK_EQ(st.released, 1);
	EXPECT_NOTHING(a, SEC(70) - 1);
	CHECK(a->c != NULL);
	sc_stack_advance(k, SEC(70));
	CHECK(sc_stack_event(k, PTCP_STACK_EV_FREED, NULL) != NULL);
	CHECK(a->c == NULL);
	st = sc_stack_stats(k);
	CHECK_EQ(st.conns, 1);
	CHECK_EQ(st.released, 0);
	CHECK_EQ(st.by_state[PTCP_TIME_WAIT], 0);
	CHECK_EQ(st.freed, 1);
	CHECK(k->alloc.live_bytes < live);
	/* Gone: a segment now draws the table's RST. */
	INJECT(a, SEC(71), .flags = FIN | ACK, .seq = IRS + 1, .ack = ISS + 2);
	EXPECT(a, SEC(71), .flags = RST, .seq = ISS + 2);
	EXPECT_STATE(b, PTCP_ESTABLISHED);
	sc_stack_finish(k);
}

/* Released while ESTABLISHED: the table sends the FIN, the close goes on
 * without the owner, and a peer that closes too ends it (LAST-ACK side
 * here: the peer's FIN first). */
static void test_release_closes(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct script *a = flow(k, LOCAL4, PEER4(5000));

	CHECK(sc_goto(a, PTCP_CLOSE_WAIT));
	CHECK_INT(ptcp_stack_release(k->st, a->c, k->now), 0);
	sc_stack_drain(k);
	EXPECT(a, 0, .flags = FIN | ACK, .seq = ISS + 1, .ack = IRS + 2);
	EXPECT_STATE(a, PTCP_LAST_ACK);
	INJECT(a, MS(10), .flags = ACK, .seq = IRS + 2, .ack = ISS + 2);
	CHECK(a->c == NULL);
	CHECK(sc_stack_event(k, PTCP_STACK_EV_FREED, NULL) != NULL);
	CHECK_EQ(sc_stack_stats(k).conns, 0);
	sc_stack_finish(k);
}

/* Released with data nobody read, or data arriving after the release:
 * a RST tells the peer it was lost (RFC 1122 4.2.2.13). */
static void test_release_with_unread_data_resets(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct script *a = flow(k, LOCAL4, PEER4(5000));
	struct script *b = flow(k, LOCAL4, PEER4(5001));

	CHECK(sc_goto(a, PTCP_ESTABLISHED));
	CHECK(sc_goto(b, PTCP_ESTABLISHED));
	INJECT(a, MS(10), .flags = ACK, .seq = IRS + 1, .ack = ISS + 1, .len = 10);
	EXPECT(a, MS(10), .flags = ACK, .seq = ISS + 1, .ack = IRS + 11);
	CHECK_INT(ptcp_stack_release(k->st, a->c, k->now), 0);
	sc_stack_drain(k);
	EXPECT(a, MS(10), .flags = RST, .seq = ISS + 1);
	CHECK(a->c == NULL);

	/* b: released after a clean shutdown, then the peer sends data. */
	CHECK_INT(SHUTDOWN(b, MS(20)), 0);
	EXPECT(b, MS(20), .flags = FIN | ACK, .seq = ISS + 1, .ack = IRS + 1);
	CHECK_INT(ptcp_stack_release(k->st, b->c, k->now), 0);
	INJECT(b, MS(30), .flags = ACK, .seq = IRS + 1, .ack = ISS + 2, .len = 5);
	EXPECT(b, MS(30), .flags = RST, .seq = ISS + 2);
	CHECK(b->c == NULL);
	CHECK_EQ(sc_stack_stats(k).conns, 0);
	sc_stack_finish(k);
}

/* A peer that acknowledges our FIN and never sends its own would keep a
 * released connection in FIN-WAIT-2 for ever: the orphan timeout aborts
 * it. One in TIME-WAIT is left to its own end. */
static void test_orphan_timeout(void)
{
	struct ptcp_stack_config cfg;
	struct sc_stack *k;
	struct script *a, *b;

	sc_stack_config(&cfg);
	cfg.orphan_timeout = SEC(20);
	cfg.conn.msl = SEC(30);
	k = sc_stack_new(&cfg);
	a = flow(k, LOCAL4, PEER4(5000));
	b = flow(k, LOCAL4, PEER4(5001));
	CHECK(sc_goto(b, PTCP_TIME_WAIT));
	CHECK(sc_goto(a, PTCP_FIN_WAIT_2));
	CHECK_INT(ptcp_stack_release(k->st, a->c, k->now), 0);
	CHECK_INT(ptcp_stack_release(k->st, b->c, k->now), 0);
	CHECK_EQ(ptcp_stack_conn_expiry(k->st, a->c), k->now + SEC(20));
	EXPECT_NOTHING(a, SEC(20) - 1);
	EXPECT(a, SEC(20), .flags = RST, .seq = ISS + 2);
	CHECK(a->c == NULL);
	CHECK_EQ(sc_stack_stats(k).orphans_aborted, 1);
	/* b's TIME-WAIT began 20 ms before the release and ends at 2 MSL. */
	CHECK(b->c != NULL);
	EXPECT_STATE(b, PTCP_TIME_WAIT);
	sc_stack_expect_nothing(k, SEC(60));
	CHECK(b->c == NULL);
	CHECK_EQ(sc_stack_stats(k).orphans_aborted, 1);
	CHECK_EQ(sc_stack_stats(k).conns, 0);
	sc_stack_finish(k);
}

/* Closing a listener resets its half-open connections and those nobody
 * accepted; an accepted one carries on. */
static void test_listen_close(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct ptcp_listener *lst = listen_on(k, LOCAL4, 8);
	struct script *p[3];
	struct ptcp_conn *c;

	for (int i = 0; i < 3; i++) {
		p[i] = flow(k, LOCAL4, PEER4((uint16_t)(5000 + i)));
		p[i]->passive = true;
	}
	CHECK(sc_goto(p[0], PTCP_ESTABLISHED));
	CHECK(sc_goto(p[1], PTCP_ESTABLISHED));
	CHECK(sc_goto(p[2], PTCP_SYN_RECEIVED));
	CHECK_INT(ptcp_stack_accept(k->st, lst, &c, NULL), 0);
	CHECK(c == p[0]->c);
	CHECK_INT(ptcp_stack_listen_close(k->st, lst, k->now), 0);
	sc_stack_drain(k);
	EXPECT(p[1], 0, .flags = RST, .seq = p[1]->iss + 1);
	EXPECT(p[2], 0, .flags = RST, .seq = p[2]->iss + 1);
	CHECK(p[1]->c == NULL && p[2]->c == NULL);
	EXPECT_STATE(p[0], PTCP_ESTABLISHED);
	CHECK_EQ(sc_stack_stats(k).listeners, 0);
	CHECK_EQ(sc_stack_stats(k).conns, 1);
	CHECK_INT(ptcp_stack_listen_close(k->st, lst, k->now), PTCP_ERR_NOTFOUND);
	/* The port has no listener now: a SYN draws a RST. */
	INJECT(p[1], MS(10), .flags = SYN, .seq = IRS);
	EXPECT(p[1], MS(10), .flags = RST | ACK, .seq = 0, .ack = IRS + 1);
	sc_stack_finish(k);
}

/* ---- output ------------------------------------------------------------------- */

/* A bulk sender with a full window of segments and an interactive
 * connection with one small write: the small one goes out second, not
 * after the bulk (round-robin, one segment per turn). */
static void test_output_fairness(void)
{
	struct ptcp_config cfg;
	struct sc_stack *k;
	struct script *bulk, *chat;
	size_t first;
	int seen_chat = -1, bulk_segs = 0;

	sc_config(&cfg);
	cfg.sndbuf = 64 * 1024;
	{
		struct ptcp_stack_config scfg;

		sc_stack_config(&scfg);
		scfg.conn = cfg;
		k = sc_stack_new(&scfg);
	}
	bulk = flow(k, LOCAL4, PEER4(5000));
	chat = flow(k, LOCAL4, PEER4(5001));
	CHECK(sc_goto(bulk, PTCP_ESTABLISHED));
	CHECK(sc_goto(chat, PTCP_ESTABLISHED));
	/* Both write before the driver drains. */
	{
		uint8_t data[20000];

		for (size_t i = 0; i < sizeof(data); i++)
			data[i] = sc_pattern_local(i);
		CHECK_INT(ptcp_conn_send(bulk->c, data, sizeof(data), k->now), (ptcp_ssize)sizeof(data));
		bulk->sent = sizeof(data);
		CHECK_INT(ptcp_conn_send(chat->c, data, 5, k->now), 5);
		chat->sent = 5;
	}
	CHECK_INT(ptcp_stack_touch(k->st, bulk->c, k->now), 0);
	CHECK_INT(ptcp_stack_touch(k->st, chat->c, k->now), 0);
	first = k->n_order;
	sc_stack_drain(k);
	for (size_t i = first; i < k->n_order; i++) {
		if (k->order[i] == 1 && seen_chat < 0)
			seen_chat = (int)(i - first);
		bulk_segs += k->order[i] == 0;
	}
	CHECK_INT(seen_chat, 1);
	CHECK(bulk_segs >= 3); /* the initial window: RFC 5681 3.1 */
	EXPECT(bulk, 0, .flags = ACK, .seq = ISS + 1, .ack = IRS + 1, .len = 1460);
	EXPECT(chat, 0, .flags = ACK | PSH, .seq = ISS + 1, .ack = IRS + 1, .len = 5);
	sc_discard(bulk);
	sc_stack_finish(k);
}

/* A buffer too small for the connection whose turn it is: an error, and
 * the segment is still there for a larger one. */
static void test_output_nobuf_keeps_turn(void)
{
	struct sc_stack *k = sc_stack_new(NULL);
	struct script *a = flow(k, LOCAL4, PEER4(5000));
	struct ptcp_stack_tx tx;
	uint8_t small[100];

	CHECK_INT(ptcp_stack_connect(k->st, &a->c, &a->local, &a->remote,
	                             &(struct ptcp_open){ .isn = ISS }, NULL, a, k->now), 0);
	CHECK_INT(ptcp_stack_output(k->st, small, sizeof(small), &tx, k->now), PTCP_ERR_NOBUF);
	CHECK_INT(ptcp_stack_output(k->st, small, sizeof(small), NULL, k->now), PTCP_ERR_INVAL);
	sc_stack_drain(k);
	EXPECT_SYN(a, 0, SYN, ISS, 0);
	sc_stack_finish(k);
}

/* ---- the API's edges ----------------------------------------------------------- */

static void test_invalid_arguments(void)
{
	struct ptcp_stack_config cfg;
	struct ptcp_stack *st;
	struct sc_stack *k;
	struct ptcp_listener *l;
	struct ptcp_endpoint ep = LOCAL4;

	sc_stack_config(&cfg);
	CHECK_INT(ptcp_stack_new(&st, &cfg), PTCP_ERR_INVAL); /* no allocator */
	k = sc_stack_new(NULL);
	cfg.alloc = k->cfg.alloc;
	cfg.max_conns = 0;
	CHECK_INT(ptcp_stack_new(&st, &cfg), PTCP_ERR_INVAL);
	cfg.max_conns = 1;
	cfg.conn.mss = 10;
	CHECK_INT(ptcp_stack_new(&st, &cfg), PTCP_ERR_INVAL);
	CHECK(st == NULL);
	cfg.conn.mss = 1460;
	cfg.max_mem = 0;
	CHECK_INT(ptcp_stack_new(&st, &cfg), PTCP_ERR_INVAL);

	ep.port = 0;
	CHECK_INT(ptcp_stack_listen(k->st, &l, &ep, 4, NULL, NULL), PTCP_ERR_INVAL);
	ep.port = 4000;
	CHECK_INT(ptcp_stack_listen(k->st, &l, &ep, 0, NULL, NULL), PTCP_ERR_INVAL);
	cfg.conn.sndbuf = 0;
	CHECK_INT(ptcp_stack_listen(k->st, &l, &ep, 4, &cfg.conn, NULL), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_stack_listen(k->st, &l, &ep, 4, NULL, NULL), 0);
	CHECK_INT(ptcp_stack_listen(k->st, &l, &ep, 4, NULL, NULL), PTCP_ERR_EXISTS);
	CHECK_INT(ptcp_stack_accept(k->st, (struct ptcp_listener *)&ep, &(struct ptcp_conn *){ NULL }, NULL),
	          PTCP_ERR_NOTFOUND);
	CHECK_INT(ptcp_stack_input(k->st, (const uint8_t *)"", 0, &ep, &(struct ptcp_endpoint){ 0 }, 0),
	          PTCP_ERR_INVAL);
	CHECK_INT(ptcp_stack_handle_expiry(NULL, 0), PTCP_ERR_INVAL);
	CHECK_EQ(ptcp_stack_expiry(k->st), PTCP_TS_NEVER);
	CHECK(ptcp_stack_next(k->st, NULL) == NULL);
	CHECK(strcmp(ptcp_stack_drop_name(PTCP_STACK_DROP_BACKLOG), "backlog-full") == 0);
	CHECK(strcmp(ptcp_stack_drop_name(PTCP_STACK_DROP__COUNT), "?") == 0);
	for (int d = 0; d < PTCP_STACK_DROP__COUNT; d++)
		CHECK(strcmp(ptcp_stack_drop_name((enum ptcp_stack_drop)d), "?") != 0);
	sc_stack_finish(k);
}

int main(void)
{
	RUN(test_demux_by_remote_port);
	RUN(test_demux_ipv4_ipv6);
	RUN(test_listener_half_open_and_accept);
	RUN(test_half_open_syn_retransmit_and_rst);
	RUN(test_half_open_rst_then_syn_before_output);
	RUN(test_half_open_times_out);
	RUN(test_listener_wildcard);
	RUN(test_backlog_full_drops_syn);
	RUN(test_listener_non_syn);
	RUN(test_unmatched_draws_rst);
	RUN(test_unmatched_quiet);
	RUN(test_rst_queue_bounded);
	RUN(test_bad_segments_counted);
	RUN(test_input_verified_skips_checksum);
	RUN(test_simultaneous_open_beside_listener);
	RUN(test_connect_user_and_errors);
	RUN(test_connect_generates_isn);
	RUN(test_conn_limit);
	RUN(test_mem_limits);
	RUN(test_release_in_time_wait);
	RUN(test_release_closes);
	RUN(test_release_with_unread_data_resets);
	RUN(test_orphan_timeout);
	RUN(test_listen_close);
	RUN(test_output_fairness);
	RUN(test_output_nobuf_keeps_turn);
	RUN(test_invalid_arguments);
	return check_summary();
}
