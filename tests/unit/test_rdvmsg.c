/* Tests of the rendezvous message codec (core/proto/rdvmsg.h): exact
 * bytes of a few messages written out by hand from docs/protocol.md,
 * round trips of every type, every body length other than the valid ones
 * refused (too long as TOO_BIG, too short as MALFORMED), every truncation
 * and every trailing byte refused, stream framing byte by byte,
 * non-canonical bodies (endpoint padding, families, ports, roles, error
 * text) refused, emission that never writes past its buffer, the signed
 * transcripts' layout (each field changes it, the two signers differ),
 * and which endpoints count as usable. The codec is compiled in directly: unit
 * tests link only the engine. */
#include <string.h>

#include "check.h"

#include "../../core/proto/rdvmsg.c"

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static void ep4(struct ptcp_endpoint *ep, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = PTCP_AF_INET;
	ep->addr[0] = a;
	ep->addr[1] = b;
	ep->addr[2] = c;
	ep->addr[3] = d;
	ep->port = port;
}

static void ep6(struct ptcp_endpoint *ep, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = PTCP_AF_INET6;
	ep->addr[0] = 0x20;
	ep->addr[1] = 0x01;
	ep->addr[2] = 0x0d;
	ep->addr[3] = 0xb8;
	ep->addr[15] = 0x42;
	ep->port = port;
}

/* One valid message of each type, with every field set. */
static void sample(struct ptcp_rdv_msg *m, uint8_t type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	switch (type) {
	case PTCP_RDV_HELLO:
		fill(m->hello.key, 32, 1);
		fill(m->hello.nonce, 32, 11);
		ep4(&m->hello.private_ep, 192, 168, 1, 20, 40000);
		break;
	case PTCP_RDV_CHALLENGE:
		fill(m->challenge.server_key, 32, 12);
		fill(m->challenge.nonce, 32, 2);
		ep6(&m->challenge.observed, 40001);
		fill(m->challenge.sig, 64, 13);
		break;
	case PTCP_RDV_AUTH:
		fill(m->auth.sig, 64, 3);
		break;
	case PTCP_RDV_REGISTERED:
		m->registered.idle_ms = 60000;
		m->registered.max_wait_ms = 0x01020304;
		break;
	case PTCP_RDV_LISTEN:
		m->listen.isn = 0xdeadbeef;
		m->listen.n_allow = 3;
		fill(m->listen.allow[0], 3 * 32, 4);
		break;
	case PTCP_RDV_CONNECT:
		fill(m->connect.key, 32, 5);
		m->connect.isn = 0x89abcdef;
		m->connect.wait_ms = 15000;
		break;
	case PTCP_RDV_MATCH:
		fill(m->match.key, 32, 6);
		ep4(&m->match.peer_public, 203, 0, 113, 7, 5555);
		ep6(&m->match.peer_private, 6666);
		m->match.peer_isn = 0x11223344;
		m->match.isn = 0x55667788;
		m->match.role = PTCP_RDV_ROLE_RESPONDER;
		m->match.start_ms = 250;
		break;
	case PTCP_RDV_PING:
	case PTCP_RDV_PONG:
		m->ping.token = 0xcafef00d;
		break;
	case PTCP_RDV_ERROR:
		ptcp_rdv_error_msg(m, PTCP_RDV_E_UNKNOWN_PEER, true, "no such peer");
		break;
	case PTCP_RDV_HELLO0:
		fill(m->hello0.key, 32, 1);
		fill(m->hello0.nonce, 32, 11);
		ep4(&m->hello0.private_ep, 192, 168, 1, 20, 40000);
		m->hello0.time_ms = 0x0000019a2b3c4d5eULL;
		fill(m->hello0.server_key, 32, 12);
		fill(m->hello0.sig, 64, 14);
		break;
	case PTCP_RDV_WELCOME:
		ep6(&m->welcome.observed, 40001);
		fill(m->welcome.sig, 64, 15);
		break;
	}
}

static void check_same(const struct ptcp_rdv_msg *a, const struct ptcp_rdv_msg *b)
{
	/* sample() and parse both start from a zeroed struct */
	CHECK(memcmp(a, b, sizeof(*a)) == 0);
}

static void test_ping_bytes(void)
{
	static const uint8_t want[] = { 'P', 'T', 2, 8, 0, 4, 0xca, 0xfe, 0xf0, 0x0d };
	struct ptcp_rdv_msg m;
	uint8_t buf[64];

	sample(&m, PTCP_RDV_PING);
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), sizeof(want));
	CHECK(memcmp(buf, want, sizeof(want)) == 0);
}

/* REGISTERED: 8 bytes; 9 with the flags byte; 11 with the PROBE flag
 * and the probe port behind it (additions to version 2). A probe port of
 * 0 is no field at all; a length that does not match the flags, or a
 * zero port, does not parse. */
static void test_registered_bytes(void)
{
	static const uint8_t want8[] = { 'P', 'T', 2, 4, 0, 8, 0, 0, 0xea, 0x60, 1, 2, 3, 4 };
	static const uint8_t want11[] = { 'P', 'T', 2, 4, 0, 11, 0, 0, 0xea, 0x60, 1, 2, 3, 4,
					  PTCP_RDV_REG_PROBE, 0x1d, 0x1b };
	uint8_t buf[64], bad[20];
	struct ptcp_rdv_msg m, got;

	sample(&m, PTCP_RDV_REGISTERED);
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), sizeof(want8));
	CHECK(memcmp(buf, want8, sizeof(want8)) == 0);
	CHECK_INT(ptcp_rdv_parse(&got, want8, sizeof(want8)), 0);
	CHECK_EQ(got.registered.probe_port, 0);
	m.registered.probe_port = 7451;
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), sizeof(want11));
	CHECK(memcmp(buf, want11, sizeof(want11)) == 0);
	CHECK_INT(ptcp_rdv_parse(&got, want11, sizeof(want11)), 0);
	CHECK_EQ(got.registered.probe_port, 7451);
	CHECK_EQ(got.registered.flags, 0);   /* PROBE is the codec's, not the caller's */
	CHECK_EQ(got.registered.max_wait_ms, 0x01020304);
	/* with the relay flag too */
	m.registered.flags = PTCP_RDV_REG_RELAY;
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), sizeof(want11));
	CHECK_EQ(buf[14], PTCP_RDV_REG_RELAY | PTCP_RDV_REG_PROBE);
	CHECK_INT(ptcp_rdv_parse(&got, buf, sizeof(want11)), 0);
	CHECK_EQ(got.registered.flags, PTCP_RDV_REG_RELAY);
	CHECK_EQ(got.registered.probe_port, 7451);
	/* a zero port behind PROBE */
	memcpy(bad, want11, sizeof(want11));
	bad[15] = bad[16] = 0;
	CHECK_INT(ptcp_rdv_parse(&got, bad, sizeof(want11)), -PTCP_RDV_E_MALFORMED);
	/* PROBE without its port (9 bytes), and 10 bytes */
	memcpy(bad, want11, sizeof(want11));
	bad[5] = 9;
	CHECK_INT(ptcp_rdv_parse(&got, bad, 6 + 9), -PTCP_RDV_E_MALFORMED);
	bad[5] = 10;
	CHECK_INT(ptcp_rdv_parse(&got, bad, 6 + 10), -PTCP_RDV_E_MALFORMED);
	/* a port behind flags without PROBE, and an unknown flag */
	memcpy(bad, want11, sizeof(want11));
	bad[14] = PTCP_RDV_REG_RELAY;
	CHECK_INT(ptcp_rdv_parse(&got, bad, sizeof(want11)), -PTCP_RDV_E_MALFORMED);
	bad[14] = PTCP_RDV_REG_PROBE | 0x08;
	CHECK_INT(ptcp_rdv_parse(&got, bad, sizeof(want11)), -PTCP_RDV_E_MALFORMED);
}

/* BUSY has no body: the header alone, and nothing may follow it. */
static void test_busy_bytes(void)
{
	static const uint8_t want[] = { 'P', 'T', 2, 11, 0, 0 };
	uint8_t buf[16], body1[] = { 'P', 'T', 2, 11, 0, 1, 0 };
	struct ptcp_rdv_msg m, back;
	struct ptcp_rdv_header h;

	sample(&m, PTCP_RDV_BUSY);
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), sizeof(want));
	CHECK(memcmp(buf, want, sizeof(want)) == 0);
	CHECK_INT(ptcp_rdv_emit(&m, buf, 5), -PTCP_RDV_E_NOBUF);
	CHECK_INT(ptcp_rdv_frame(want, sizeof(want)), 6);
	CHECK_INT(ptcp_rdv_parse(&back, want, sizeof(want)), 0);
	CHECK_EQ(back.type, PTCP_RDV_BUSY);
	check_same(&m, &back);
	/* a body byte, announced or not, is refused */
	CHECK_INT(ptcp_rdv_header_parse(&h, body1, sizeof(body1)), -PTCP_RDV_E_TOO_BIG);
	CHECK_INT(ptcp_rdv_frame(body1, sizeof(body1)), -PTCP_RDV_E_TOO_BIG);
	CHECK_INT(ptcp_rdv_parse(&back, body1, sizeof(body1)), -PTCP_RDV_E_TOO_BIG);
	memcpy(buf, want, sizeof(want));
	buf[6] = 0;
	CHECK_INT(ptcp_rdv_parse(&back, buf, 7), -PTCP_RDV_E_MALFORMED);
	/* and the code that answers askers of a busy peer is a code of the wire */
	CHECK_EQ(PTCP_RDV_E_BUSY, 17);
	CHECK(PTCP_RDV_E_WIRE_MAX < PTCP_RDV_E_NOBUF);
	ptcp_rdv_error_msg(&m, PTCP_RDV_E_BUSY, false, NULL);
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), 10);
	CHECK(memcmp(buf, (const uint8_t[]){ 'P', 'T', 2, 10, 0, 4, 0, 17, 0, 0 }, 10) == 0);
}

static void test_connect_bytes(void)
{
	struct ptcp_rdv_msg m;
	uint8_t buf[64], want[46];

	sample(&m, PTCP_RDV_CONNECT);
	memcpy(want, (const uint8_t[]){ 'P', 'T', 2, 6, 0, 40 }, 6);
	fill(want + 6, 32, 5);
	memcpy(want + 38, (const uint8_t[]){ 0x89, 0xab, 0xcd, 0xef, 0, 0, 0x3a, 0x98 }, 8);
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), 46);
	CHECK(memcmp(buf, want, 46) == 0);
}

static void test_error_bytes(void)
{
	static const uint8_t want[] = { 'P', 'T', 2, 10, 0, 7, 0, 7, 1, 0, 'a', 'b', 'c' };
	struct ptcp_rdv_msg m;
	uint8_t buf[64];

	ptcp_rdv_error_msg(&m, -PTCP_RDV_E_UNKNOWN_PEER, true, "abc");
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), sizeof(want));
	CHECK(memcmp(buf, want, sizeof(want)) == 0);
}

static void test_match_bytes(void)
{
	struct ptcp_rdv_msg m;
	uint8_t buf[128];
	const uint8_t *b = buf + 6;

	sample(&m, PTCP_RDV_MATCH);
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), 6 + 83);
	CHECK_EQ(buf[4], 0);
	CHECK_EQ(buf[5], 83);
	b += 32;
	/* public: family 4, port 5555 = 0x15b3, 203.0.113.7, zeros */
	CHECK_EQ(b[0], 4);
	CHECK_EQ(b[1], 0x15);
	CHECK_EQ(b[2], 0xb3);
	CHECK(memcmp(b + 3, (const uint8_t[]){ 203, 0, 113, 7 }, 4) == 0);
	for (int i = 7; i < 19; i++)
		CHECK_EQ(b[i], 0);
	b += 19;
	CHECK_EQ(b[0], 6);
	CHECK_EQ(b[1] << 8 | b[2], 6666);
	CHECK_EQ(b[3], 0x20);
	CHECK_EQ(b[18], 0x42);
	b += 19;
	CHECK(memcmp(b, (const uint8_t[]){ 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 2,
					   0, 0, 0, 250 }, 13) == 0);
}

/* MATCH with the relay offer at its end: 83 + 19 + 32 bytes; REGISTERED
 * with its flags byte: 9 (docs/protocol.md, "The relay"). */
static void test_relay_additions_bytes(void)
{
	struct ptcp_rdv_msg m, back;
	uint8_t buf[PTCP_RDV_MSG_MAX], plain[PTCP_RDV_MSG_MAX];
	const uint8_t *b = buf + 6 + 83;
	int n;

	sample(&m, PTCP_RDV_MATCH);
	CHECK_INT(ptcp_rdv_emit(&m, plain, sizeof(plain)), 6 + 83);
	m.match.has_relay = true;
	ep4(&m.match.relay, 203, 0, 113, 10, 7451);
	fill(m.match.relay_token, 32, 77);
	n = ptcp_rdv_emit(&m, buf, sizeof(buf));
	CHECK_INT(n, 6 + 134);
	CHECK_EQ(buf[5], 134);
	/* the first 83 bytes of the body are the plain MATCH's */
	CHECK(memcmp(buf + 6, plain + 6, 83) == 0);
	CHECK_EQ(b[0], 4);
	CHECK_EQ(b[1] << 8 | b[2], 7451);
	CHECK(memcmp(b + 3, (const uint8_t[]){ 203, 0, 113, 10 }, 4) == 0);
	CHECK(memcmp(b + 19, m.match.relay_token, 32) == 0);
	CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n), 0);
	check_same(&m, &back);
	/* an offer without a relay endpoint is refused both ways */
	buf[6 + 83] = 0;
	memset(buf + 6 + 83, 0, 19);
	CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n), -PTCP_RDV_E_MALFORMED);
	memset(&m.match.relay, 0, sizeof(m.match.relay));
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	/* every length between the two forms is refused */
	for (unsigned len = 84; len < 134; len++) {
		memset(buf, 0, sizeof(buf));
		memcpy(buf, plain, 6 + 83);
		buf[5] = (uint8_t)len;
		CHECK_INT(ptcp_rdv_parse(&back, buf, 6 + len), -PTCP_RDV_E_MALFORMED);
	}

	sample(&m, PTCP_RDV_REGISTERED);
	m.registered.flags = PTCP_RDV_REG_RELAY;
	n = ptcp_rdv_emit(&m, buf, sizeof(buf));
	CHECK_INT(n, 6 + 9);
	CHECK_EQ(buf[6 + 8], 1);
	CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n), 0);
	check_same(&m, &back);
	/* the flags byte is there only when a flag is set, and only known ones */
	buf[6 + 8] = 0;
	CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n), -PTCP_RDV_E_MALFORMED);
	buf[6 + 8] = 3;
	CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n), -PTCP_RDV_E_MALFORMED);
	m.registered.flags = 2;
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	m.registered.flags = 0;
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), 6 + 8);
}

/* HELLO: key, nonce, private endpoint; CHALLENGE: server key, nonce,
 * observed endpoint, signature (docs/protocol.md). */
static void test_hello_challenge_bytes(void)
{
	struct ptcp_rdv_msg m;
	uint8_t buf[PTCP_RDV_MSG_MAX], want[64];

	sample(&m, PTCP_RDV_HELLO);
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), 6 + 83);
	CHECK(memcmp(buf, (const uint8_t[]){ 'P', 'T', 2, 1, 0, 83 }, 6) == 0);
	fill(want, 32, 1);
	CHECK(memcmp(buf + 6, want, 32) == 0);
	fill(want, 32, 11);
	CHECK(memcmp(buf + 6 + 32, want, 32) == 0);
	CHECK(memcmp(buf + 6 + 64, (const uint8_t[]){ 4, 0x9c, 0x40, 192, 168, 1, 20 }, 7) == 0);

	sample(&m, PTCP_RDV_CHALLENGE);
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), 6 + 147);
	CHECK(memcmp(buf, (const uint8_t[]){ 'P', 'T', 2, 2, 0, 147 }, 6) == 0);
	fill(want, 32, 12);
	CHECK(memcmp(buf + 6, want, 32) == 0);
	fill(want, 32, 2);
	CHECK(memcmp(buf + 6 + 32, want, 32) == 0);
	CHECK(memcmp(buf + 6 + 64, (const uint8_t[]){ 6, 0x9c, 0x41, 0x20, 0x01, 0x0d, 0xb8 }, 7) == 0);
	fill(want, 64, 13);
	CHECK(memcmp(buf + 6 + 83, want, 64) == 0);
}

/* HELLO0: HELLO's fields, time (8), server key, signature; WELCOME:
 * observed endpoint, signature (docs/protocol.md, "Registration in one
 * flight"). */
static void test_hello0_welcome_bytes(void)
{
	struct ptcp_rdv_msg m, back;
	uint8_t buf[PTCP_RDV_MSG_MAX], want[64];
	int n;

	sample(&m, PTCP_RDV_HELLO0);
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), 6 + 187);
	CHECK(memcmp(buf, (const uint8_t[]){ 'P', 'T', 2, 12, 0, 187 }, 6) == 0);
	fill(want, 32, 1);
	CHECK(memcmp(buf + 6, want, 32) == 0);
	fill(want, 32, 11);
	CHECK(memcmp(buf + 6 + 32, want, 32) == 0);
	CHECK(memcmp(buf + 6 + 64, (const uint8_t[]){ 4, 0x9c, 0x40, 192, 168, 1, 20 }, 7) == 0);
	CHECK(memcmp(buf + 6 + 83, (const uint8_t[]){ 0, 0, 0x01, 0x9a, 0x2b, 0x3c, 0x4d, 0x5e }, 8) == 0);
	fill(want, 32, 12);
	CHECK(memcmp(buf + 6 + 91, want, 32) == 0);
	fill(want, 64, 14);
	CHECK(memcmp(buf + 6 + 123, want, 64) == 0);
	/* the private endpoint is checked as HELLO's */
	buf[6 + 64 + 8] = 1;   /* IPv4 padding */
	CHECK_INT(ptcp_rdv_parse(&back, buf, 6 + 187), -PTCP_RDV_E_MALFORMED);

	sample(&m, PTCP_RDV_WELCOME);
	n = ptcp_rdv_emit(&m, buf, sizeof(buf));
	CHECK_INT(n, 6 + 83);
	CHECK(memcmp(buf, (const uint8_t[]){ 'P', 'T', 2, 13, 0, 83 }, 6) == 0);
	CHECK(memcmp(buf + 6, (const uint8_t[]){ 6, 0x9c, 0x41, 0x20, 0x01, 0x0d, 0xb8 }, 7) == 0);
	fill(want, 64, 15);
	CHECK(memcmp(buf + 6 + 19, want, 64) == 0);
	/* never family 0: the server always sees some address */
	memset(buf + 6, 0, 19);
	CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n), -PTCP_RDV_E_MALFORMED);
	memset(&m.welcome.observed, 0, sizeof(m.welcome.observed));
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	/* the answer to an open HELLO0: the server's key at the end */
	sample(&m, PTCP_RDV_WELCOME);
	m.welcome.has_key = 1;
	fill(m.welcome.server_key, 32, 16);
	n = ptcp_rdv_emit(&m, buf, sizeof(buf));
	CHECK_INT(n, 6 + 115);
	CHECK(memcmp(buf, (const uint8_t[]){ 'P', 'T', 2, 13, 0, 115 }, 6) == 0);
	fill(want, 32, 16);
	CHECK(memcmp(buf + 6 + 83, want, 32) == 0);
	CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n), 0);
	CHECK(back.welcome.has_key);
	check_same(&back, &m);
	/* a body between the two lengths, or longer */
	buf[5] = 100;
	CHECK_INT(ptcp_rdv_parse(&back, buf, 6 + 100), -PTCP_RDV_E_MALFORMED);
	buf[5] = 116;
	CHECK_INT(ptcp_rdv_parse(&back, buf, 6 + 116), -PTCP_RDV_E_TOO_BIG);
}

static void test_transcript0(void)
{
	uint8_t t[PTCP_RDV_TRANSCRIPT0_MAX] = { 0 }, t2[PTCP_RDV_TRANSCRIPT0_MAX] = { 0 };
	struct ptcp_rdv_msg h0, hello;
	struct ptcp_endpoint obs, obs2;
	uint8_t *fields[] = { h0.hello0.key, h0.hello0.nonce, h0.hello0.server_key };

	sample(&h0, PTCP_RDV_HELLO0);
	ep4(&obs, 198, 51, 100, 1, 40000);
	CHECK_EQ(PTCP_RDV_TRANSCRIPT0_CLIENT_LEN, 32 + 1 + 32 + 32 + 8 + 32 + 19);
	CHECK_EQ(PTCP_RDV_TRANSCRIPT0_LEN, PTCP_RDV_TRANSCRIPT0_CLIENT_LEN + 19);
	CHECK_EQ(sizeof(PTCP_RDV_CONTEXT_SERVER0) - 1, PTCP_RDV_CONTEXT_LEN);
	CHECK_EQ(sizeof(PTCP_RDV_CONTEXT_CLIENT0) - 1, PTCP_RDV_CONTEXT_LEN);
	CHECK_INT(ptcp_rdv_transcript0(t, PTCP_RDV_SIGNER_CLIENT, &h0, NULL, NULL),
		  PTCP_RDV_TRANSCRIPT0_CLIENT_LEN);
	CHECK(memcmp(t, "p2ptcp rendezvous v2 client 0rtt", 32) == 0);
	CHECK_EQ(t[32], 2);
	CHECK(memcmp(t + 33, h0.hello0.server_key, 32) == 0);
	CHECK(memcmp(t + 65, h0.hello0.nonce, 32) == 0);
	CHECK(memcmp(t + 97, (const uint8_t[]){ 0, 0, 0x01, 0x9a, 0x2b, 0x3c, 0x4d, 0x5e }, 8) == 0);
	CHECK(memcmp(t + 105, h0.hello0.key, 32) == 0);
	CHECK_EQ(t[137], 4);
	CHECK_EQ(t[140], 192);
	/* the server's: the same under its context, then the observed endpoint */
	CHECK_INT(ptcp_rdv_transcript0(t2, PTCP_RDV_SIGNER_SERVER, &h0, NULL, &obs), PTCP_RDV_TRANSCRIPT0_LEN);
	CHECK(memcmp(t2, "p2ptcp rendezvous v2 server 0rtt", 32) == 0);
	CHECK(memcmp(t + 32, t2 + 32, PTCP_RDV_TRANSCRIPT0_CLIENT_LEN - 32) == 0);
	CHECK_EQ(t2[PTCP_RDV_TRANSCRIPT0_CLIENT_LEN], 4);
	CHECK_EQ(t2[PTCP_RDV_TRANSCRIPT0_CLIENT_LEN + 3], 198);
	obs2 = obs;
	obs2.port++;
	CHECK_INT(ptcp_rdv_transcript0(t, PTCP_RDV_SIGNER_SERVER, &h0, NULL, &obs2), PTCP_RDV_TRANSCRIPT0_LEN);
	CHECK(memcmp(t, t2, sizeof(t)) != 0);
	/* the signature is not part of it; every other field is */
	CHECK_INT(ptcp_rdv_transcript0(t, PTCP_RDV_SIGNER_CLIENT, &h0, NULL, NULL),
		  PTCP_RDV_TRANSCRIPT0_CLIENT_LEN);
	h0.hello0.sig[3] ^= 1;
	CHECK_INT(ptcp_rdv_transcript0(t2, PTCP_RDV_SIGNER_CLIENT, &h0, NULL, NULL),
		  PTCP_RDV_TRANSCRIPT0_CLIENT_LEN);
	CHECK(memcmp(t, t2, PTCP_RDV_TRANSCRIPT0_CLIENT_LEN) == 0);
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		fields[f][31] ^= 0x80;
		ptcp_rdv_transcript0(t2, PTCP_RDV_SIGNER_CLIENT, &h0, NULL, NULL);
		CHECK(memcmp(t, t2, PTCP_RDV_TRANSCRIPT0_CLIENT_LEN) != 0);
		fields[f][31] ^= 0x80;
	}
	h0.hello0.time_ms++;
	ptcp_rdv_transcript0(t2, PTCP_RDV_SIGNER_CLIENT, &h0, NULL, NULL);
	CHECK(memcmp(t, t2, PTCP_RDV_TRANSCRIPT0_CLIENT_LEN) != 0);
	h0.hello0.time_ms--;
	h0.hello0.private_ep.port++;
	ptcp_rdv_transcript0(t2, PTCP_RDV_SIGNER_CLIENT, &h0, NULL, NULL);
	CHECK(memcmp(t, t2, PTCP_RDV_TRANSCRIPT0_CLIENT_LEN) != 0);
	h0.hello0.private_ep.port--;
	/* refused: the server's without an observed endpoint, another type,
	 * an unknown signer */
	CHECK_INT(ptcp_rdv_transcript0(t2, PTCP_RDV_SIGNER_SERVER, &h0, NULL, NULL), -PTCP_RDV_E_MALFORMED);
	memset(&obs2, 0, sizeof(obs2));
	CHECK_INT(ptcp_rdv_transcript0(t2, PTCP_RDV_SIGNER_SERVER, &h0, NULL, &obs2), -PTCP_RDV_E_MALFORMED);
	CHECK_INT(ptcp_rdv_transcript0(t2, (enum ptcp_rdv_signer)3, &h0, NULL, &obs), -PTCP_RDV_E_MALFORMED);
	sample(&hello, PTCP_RDV_HELLO);
	CHECK_INT(ptcp_rdv_transcript0(t2, PTCP_RDV_SIGNER_CLIENT, &hello, NULL, NULL), -PTCP_RDV_E_MALFORMED);
	/* open (no server key): bound to the server's endpoint instead */
	memset(h0.hello0.server_key, 0, 32);
	CHECK(ptcp_rdv_hello0_open(&h0));
	CHECK_INT(ptcp_rdv_transcript0(t, PTCP_RDV_SIGNER_CLIENT, &h0, NULL, NULL), -PTCP_RDV_E_MALFORMED);
	ep4(&obs2, 203, 0, 113, 10, 7450);
	CHECK_INT(ptcp_rdv_transcript0(t, PTCP_RDV_SIGNER_CLIENT, &h0, &obs2, NULL),
		  PTCP_RDV_TRANSCRIPT0_CLIENT_LEN + 19);
	CHECK_EQ(t[PTCP_RDV_TRANSCRIPT0_CLIENT_LEN], 4);
	CHECK_EQ(t[PTCP_RDV_TRANSCRIPT0_CLIENT_LEN + 3], 203);
	CHECK_INT(ptcp_rdv_transcript0(t2, PTCP_RDV_SIGNER_SERVER, &h0, &obs2, &obs),
		  PTCP_RDV_TRANSCRIPT0_MAX);
	CHECK(memcmp(t + 32, t2 + 32, PTCP_RDV_TRANSCRIPT0_CLIENT_LEN + 19 - 32) == 0);
	CHECK_EQ(t2[PTCP_RDV_TRANSCRIPT0_CLIENT_LEN + 19 + 3], 198);
	obs2.port++;
	CHECK_INT(ptcp_rdv_transcript0(t2, PTCP_RDV_SIGNER_CLIENT, &h0, &obs2, NULL),
		  PTCP_RDV_TRANSCRIPT0_CLIENT_LEN + 19);
	CHECK(memcmp(t, t2, PTCP_RDV_TRANSCRIPT0_CLIENT_LEN + 19) != 0);
	/* a pinned one ignores the server endpoint */
	sample(&h0, PTCP_RDV_HELLO0);
	CHECK(!ptcp_rdv_hello0_open(&h0));
	CHECK_INT(ptcp_rdv_transcript0(t, PTCP_RDV_SIGNER_CLIENT, &h0, NULL, NULL),
		  PTCP_RDV_TRANSCRIPT0_CLIENT_LEN);
	CHECK_INT(ptcp_rdv_transcript0(t2, PTCP_RDV_SIGNER_CLIENT, &h0, &obs2, NULL),
		  PTCP_RDV_TRANSCRIPT0_CLIENT_LEN);
	CHECK(memcmp(t, t2, PTCP_RDV_TRANSCRIPT0_CLIENT_LEN) == 0);
	/* the HELLO a refused HELLO0 goes on with */
	sample(&h0, PTCP_RDV_HELLO0);
	ptcp_rdv_hello_of(&hello, &h0);
	{
		struct ptcp_rdv_msg want;

		sample(&want, PTCP_RDV_HELLO);
		check_same(&hello, &want);
	}
}

/* Port prediction: CONNECT and LISTEN may end in a flags byte (PATTERN
 * only) and the NAT's pattern (port, signed delta); MATCH after its relay
 * offer in flags (PREDICTED, PATTERN) and the peer's pattern
 * (docs/protocol.md, "Port prediction"). */
static void test_prediction_tail_bytes(void)
{
	struct ptcp_rdv_msg m, back;
	uint8_t buf[PTCP_RDV_MSG_MAX];
	int n;

	sample(&m, PTCP_RDV_CONNECT);
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), 6 + 40);
	m.connect.pattern.last_port = 40002;
	m.connect.pattern.delta = -2;
	n = ptcp_rdv_emit(&m, buf, sizeof(buf));
	CHECK_INT(n, 6 + 45);
	CHECK(memcmp(buf + 6 + 40, (const uint8_t[]){ 2, 0x9c, 0x42, 0xff, 0xfe }, 5) == 0);
	CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n), 0);
	check_same(&m, &back);
	CHECK_EQ(back.connect.pattern.delta, -2);
	/* unknown flags (MATCH's PREDICTED among them), a zero flags byte, a
	 * flags byte alone, a pattern cut short or with a zero delta: refused */
	buf[6 + 40] = 3;
	CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n), -PTCP_RDV_E_MALFORMED);
	buf[6 + 40] = 2;
	buf[6 + 44] = 0;
	buf[6 + 43] = 0;
	CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n), -PTCP_RDV_E_MALFORMED);
	buf[5] = 41;
	buf[6 + 40] = 0;
	CHECK_INT(ptcp_rdv_parse(&back, buf, 6 + 41), -PTCP_RDV_E_MALFORMED);
	buf[6 + 40] = 2;
	CHECK_INT(ptcp_rdv_parse(&back, buf, 6 + 41), -PTCP_RDV_E_MALFORMED);
	buf[6 + 40] = 1;
	CHECK_INT(ptcp_rdv_parse(&back, buf, 6 + 41), -PTCP_RDV_E_MALFORMED);
	m.connect.pattern.last_port = 0;
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	m.connect.pattern.delta = 0;
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), 6 + 40);

	sample(&m, PTCP_RDV_LISTEN);
	m.listen.pattern.last_port = 1025;
	m.listen.pattern.delta = 1;
	n = ptcp_rdv_emit(&m, buf, sizeof(buf));
	CHECK_INT(n, 6 + 5 + 96 + 5);
	CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n), 0);
	check_same(&m, &back);
	m.listen.n_allow = PTCP_RDV_ALLOW_MAX;
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), PTCP_RDV_MSG_MAX);

	/* MATCH: the tail after the relay offer, or right after the fixed part */
	sample(&m, PTCP_RDV_MATCH);
	m.match.flags = PTCP_RDV_MATCH_PREDICTED;
	n = ptcp_rdv_emit(&m, buf, sizeof(buf));
	CHECK_INT(n, 6 + 84);
	CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n), 0);
	check_same(&m, &back);
	m.match.flags = 0;
	m.match.pattern.last_port = 5000;
	m.match.pattern.delta = 3;
	m.match.has_relay = true;
	ep4(&m.match.relay, 203, 0, 113, 10, 7451);
	n = ptcp_rdv_emit(&m, buf, sizeof(buf));
	CHECK_INT(n, 6 + 139);
	CHECK(memcmp(buf + 6 + 134, (const uint8_t[]){ 2, 0x13, 0x88, 0, 3 }, 5) == 0);
	CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n), 0);
	check_same(&m, &back);
	buf[6 + 134] = 1;   /* a flag of requests, not of MATCH */
	buf[6 + 134] = 4;
	CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n), -PTCP_RDV_E_MALFORMED);
}

static void test_round_trip_all_types(void)
{
	struct ptcp_rdv_msg m, back;
	uint8_t buf[PTCP_RDV_MSG_MAX], again[PTCP_RDV_MSG_MAX];
	int n;

	for (uint8_t t = 1; t <= PTCP_RDV_TYPE_MAX; t++) {
		sample(&m, t);
		n = ptcp_rdv_emit(&m, buf, sizeof(buf));
		CHECK(n >= PTCP_RDV_HDR_LEN);
		if (n < PTCP_RDV_HDR_LEN)
			continue;
		CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n), 0);
		check_same(&m, &back);
		CHECK_INT(ptcp_rdv_emit(&back, again, sizeof(again)), n);
		CHECK(memcmp(buf, again, (size_t)n) == 0);
		CHECK_INT(ptcp_rdv_frame(buf, (size_t)n), n);
	}
	/* LISTEN with no and with the most keys, ERROR with the longest text */
	sample(&m, PTCP_RDV_LISTEN);
	for (unsigned k = 0; k <= PTCP_RDV_ALLOW_MAX; k++) {
		m.listen.n_allow = (uint8_t)k;
		n = ptcp_rdv_emit(&m, buf, sizeof(buf));
		CHECK_INT(n, 6 + 5 + 32 * (int)k);
		CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n), 0);
		CHECK_EQ(back.listen.n_allow, k);
		CHECK(memcmp(back.listen.allow, m.listen.allow, 32 * k) == 0);
	}
	ptcp_rdv_error_msg(&m, PTCP_RDV_E_TIMEOUT, false,
			   "0123456789012345678901234567890123456789012345678901234567890123456789"
			   "0123456789012345678901234567890123456789012345678901234567890123456789");
	CHECK_EQ(m.error.text_len, PTCP_RDV_TEXT_MAX);
	n = ptcp_rdv_emit(&m, buf, sizeof(buf));
	CHECK_INT(n, 6 + 4 + PTCP_RDV_TEXT_MAX);
	CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n), 0);
	check_same(&m, &back);
	CHECK_EQ(back.error.flags, 0);
}

/* For every type, every body length from 0 to 65535 in the header:
 * exactly the valid ones are accepted by header_parse, longer ones are
 * TOO_BIG and shorter ones MALFORMED. */
static void test_every_length(void)
{
	uint8_t h[6] = { 'P', 'T', PTCP_RDV_VERSION, 0, 0, 0 };
	struct ptcp_rdv_header hdr;
	uint16_t min, max;
	unsigned ok;
	int rv;

	for (uint8_t t = 1; t <= PTCP_RDV_TYPE_MAX; t++) {
		CHECK_INT(ptcp_rdv_body_limits(t, &min, &max), 0);
		CHECK(max <= PTCP_RDV_BODY_MAX);
		h[3] = t;
		ok = 0;
		for (unsigned len = 0; len <= 0xffff; len++) {
			h[4] = (uint8_t)(len >> 8);
			h[5] = (uint8_t)len;
			rv = ptcp_rdv_header_parse(&hdr, h, 6);
			if (len > max)
				CHECK_INT(rv, -PTCP_RDV_E_TOO_BIG);
			else if (len < min)
				CHECK_INT(rv, -PTCP_RDV_E_MALFORMED);
			else {
				CHECK_INT(rv, 0);
				CHECK_EQ(hdr.len, len);
				CHECK_EQ(hdr.type, t);
				ok++;
			}
			/* the framer says the same as soon as the header is in */
			if (rv != 0)
				CHECK_INT(ptcp_rdv_frame(h, 6), rv);
			if (check_failed())
				return;
		}
		CHECK_EQ(ok, (unsigned)(max - min + 1));
	}
	/* within the LISTEN range only 5 + 32 n parses */
	for (unsigned len = 5; len <= PTCP_RDV_BODY_MAX; len++) {
		uint8_t msg[PTCP_RDV_MSG_MAX];
		struct ptcp_rdv_msg m;

		memset(msg, 0, sizeof(msg));
		memcpy(msg, (const uint8_t[]){ 'P', 'T', PTCP_RDV_VERSION, PTCP_RDV_LISTEN, 0, (uint8_t)len }, 6);
		msg[4] = (uint8_t)(len >> 8);
		msg[6 + 4] = (uint8_t)((len - 5) / 32);
		rv = ptcp_rdv_parse(&m, msg, 6 + len);
		CHECK_INT(rv, (len - 5) % 32 == 0 ? 0 : -PTCP_RDV_E_MALFORMED);
	}
}

static void test_header_errors(void)
{
	struct ptcp_rdv_header h;
	uint8_t b[6] = { 'P', 'T', PTCP_RDV_VERSION, PTCP_RDV_PING, 0, 4 };

	CHECK_INT(ptcp_rdv_header_parse(&h, b, 6), 0);
	for (size_t n = 0; n < 6; n++)
		CHECK_INT(ptcp_rdv_header_parse(&h, b, n), -PTCP_RDV_E_MALFORMED);
	b[0] = 'p';
	CHECK_INT(ptcp_rdv_header_parse(&h, b, 6), -PTCP_RDV_E_MALFORMED);
	b[0] = 'P';
	b[1] = 't';
	CHECK_INT(ptcp_rdv_header_parse(&h, b, 6), -PTCP_RDV_E_MALFORMED);
	b[1] = 'T';
	for (unsigned v = 0; v < 256; v++) {
		b[2] = (uint8_t)v;
		CHECK_INT(ptcp_rdv_header_parse(&h, b, 6), v == PTCP_RDV_VERSION ? 0 : -PTCP_RDV_E_VERSION);
	}
	b[2] = PTCP_RDV_VERSION;
	for (unsigned t = 0; t < 256; t++) {
		uint16_t min, max;

		b[3] = (uint8_t)t;
		if (t >= 1 && t <= PTCP_RDV_TYPE_MAX)
			continue;
		CHECK_INT(ptcp_rdv_header_parse(&h, b, 6), -PTCP_RDV_E_MALFORMED);
		CHECK_INT(ptcp_rdv_body_limits((uint8_t)t, &min, &max), -PTCP_RDV_E_MALFORMED);
	}
	/* a version-1 or -3 header with an unknown type is a version mismatch */
	memcpy(b, (const uint8_t[]){ 'P', 'T', 1, 200, 0xff, 0xff }, 6);
	CHECK_INT(ptcp_rdv_header_parse(&h, b, 6), -PTCP_RDV_E_VERSION);
	b[2] = 3;
	CHECK_INT(ptcp_rdv_header_parse(&h, b, 6), -PTCP_RDV_E_VERSION);
}

/* Every prefix of every sample message frames as "need more", the whole
 * as its length, with extra bytes after it as the same length; parse
 * refuses every prefix and every message with bytes after it. */
static void test_framing_and_truncation(void)
{
	struct ptcp_rdv_msg m, back;
	uint8_t buf[PTCP_RDV_MSG_MAX + 8];
	int n;

	for (uint8_t t = 1; t <= PTCP_RDV_TYPE_MAX; t++) {
		sample(&m, t);
		n = ptcp_rdv_emit(&m, buf, PTCP_RDV_MSG_MAX);
		CHECK(n > 0);
		for (int k = 0; k < n; k++) {
			CHECK_INT(ptcp_rdv_frame(buf, (size_t)k), 0);
			CHECK(ptcp_rdv_parse(&back, buf, (size_t)k) < 0);
		}
		memset(buf + n, 'P', 8);
		CHECK_INT(ptcp_rdv_frame(buf, (size_t)n + 8), n);
		CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n + 1), -PTCP_RDV_E_MALFORMED);
	}
}

static void test_frame_rejects_early(void)
{
	uint8_t b[6];

	b[0] = 'G';
	CHECK_INT(ptcp_rdv_frame(b, 1), -PTCP_RDV_E_MALFORMED);
	b[0] = 'P';
	b[1] = 'X';
	CHECK_INT(ptcp_rdv_frame(b, 2), -PTCP_RDV_E_MALFORMED);
	b[1] = 'T';
	b[2] = 1;   /* version 1 */
	CHECK_INT(ptcp_rdv_frame(b, 3), -PTCP_RDV_E_VERSION);
	b[2] = PTCP_RDV_VERSION;
	b[3] = 0;
	CHECK_INT(ptcp_rdv_frame(b, 4), -PTCP_RDV_E_MALFORMED);
	b[3] = PTCP_RDV_HELLO;
	CHECK_INT(ptcp_rdv_frame(b, 4), 0);
	b[4] = 0xff;
	CHECK_INT(ptcp_rdv_frame(b, 5), 0);   /* the length is not whole yet */
	b[5] = 0xff;
	CHECK_INT(ptcp_rdv_frame(b, 6), -PTCP_RDV_E_TOO_BIG);
	CHECK_INT(ptcp_rdv_frame(b, 0), 0);
}

/* Emits m, then lets corrupt() change the bytes and expects parse to
 * refuse them with MALFORMED. */
static void expect_refused(uint8_t type, void (*corrupt)(uint8_t *body), int line)
{
	struct ptcp_rdv_msg m, back;
	uint8_t buf[PTCP_RDV_MSG_MAX];
	int n, rv;

	sample(&m, type);
	n = ptcp_rdv_emit(&m, buf, sizeof(buf));
	corrupt(buf + PTCP_RDV_HDR_LEN);
	rv = ptcp_rdv_parse(&back, buf, (size_t)n);
	if (rv != -PTCP_RDV_E_MALFORMED)
		check_fail(__FILE__, line, "corrupted %s parsed with %d", ptcp_rdv_type_name(type), rv);
}

static void hello_v4_padding(uint8_t *b) { b[64 + 3 + 4 + 5] = 1; }
static void hello_family_5(uint8_t *b) { b[64] = 5; }
static void hello_port_0(uint8_t *b) { b[65] = 0; b[66] = 0; }
static void hello_none_with_port(uint8_t *b) { b[64] = 0; b[67] = 0; b[68] = 0; b[69] = 0; b[70] = 0; }
static void challenge_none(uint8_t *b) { memset(b + 64, 0, 19); }
static void challenge_family_4_padding(uint8_t *b) { b[64] = 4; }
static void match_public_none(uint8_t *b) { memset(b + 32, 0, 19); }
static void match_private_family(uint8_t *b) { b[32 + 19] = 7; }
static void match_role_0(uint8_t *b) { b[32 + 38 + 8] = 0; }
static void match_role_3(uint8_t *b) { b[32 + 38 + 8] = 3; }
static void listen_count_high(uint8_t *b) { b[4] = 4; }
static void listen_count_low(uint8_t *b) { b[4] = 2; }
static void listen_count_9(uint8_t *b) { b[4] = 9; }
static void error_code_0(uint8_t *b) { b[0] = 0; b[1] = 0; }
static void error_flags(uint8_t *b) { b[2] = 2; }
static void error_reserved(uint8_t *b) { b[3] = 1; }
static void error_text_ctl(uint8_t *b) { b[5] = '\n'; }
static void error_text_high(uint8_t *b) { b[6] = 0x80; }
static void error_text_nul(uint8_t *b) { b[4] = 0; }

static void test_noncanonical_bodies(void)
{
	expect_refused(PTCP_RDV_HELLO, hello_v4_padding, __LINE__);
	expect_refused(PTCP_RDV_HELLO, hello_family_5, __LINE__);
	expect_refused(PTCP_RDV_HELLO, hello_port_0, __LINE__);
	expect_refused(PTCP_RDV_HELLO, hello_none_with_port, __LINE__);
	expect_refused(PTCP_RDV_CHALLENGE, challenge_none, __LINE__);
	expect_refused(PTCP_RDV_CHALLENGE, challenge_family_4_padding, __LINE__);
	expect_refused(PTCP_RDV_MATCH, match_public_none, __LINE__);
	expect_refused(PTCP_RDV_MATCH, match_private_family, __LINE__);
	expect_refused(PTCP_RDV_MATCH, match_role_0, __LINE__);
	expect_refused(PTCP_RDV_MATCH, match_role_3, __LINE__);
	expect_refused(PTCP_RDV_LISTEN, listen_count_high, __LINE__);
	expect_refused(PTCP_RDV_LISTEN, listen_count_low, __LINE__);
	expect_refused(PTCP_RDV_LISTEN, listen_count_9, __LINE__);
	expect_refused(PTCP_RDV_ERROR, error_code_0, __LINE__);
	expect_refused(PTCP_RDV_ERROR, error_flags, __LINE__);
	expect_refused(PTCP_RDV_ERROR, error_reserved, __LINE__);
	expect_refused(PTCP_RDV_ERROR, error_text_ctl, __LINE__);
	expect_refused(PTCP_RDV_ERROR, error_text_high, __LINE__);
	expect_refused(PTCP_RDV_ERROR, error_text_nul, __LINE__);
}

static void test_hello_none_private(void)
{
	struct ptcp_rdv_msg m, back;
	uint8_t buf[PTCP_RDV_MSG_MAX];
	int n;

	sample(&m, PTCP_RDV_HELLO);
	memset(&m.hello.private_ep, 0, sizeof(m.hello.private_ep));
	n = ptcp_rdv_emit(&m, buf, sizeof(buf));
	CHECK_INT(n, 6 + 83);
	CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n), 0);
	CHECK_EQ(back.hello.private_ep.family, PTCP_AF_NONE);
	/* junk in the unused part of an IPv4 address is not sent */
	sample(&m, PTCP_RDV_HELLO);
	memset(m.hello.private_ep.addr + 4, 0xab, 12);
	n = ptcp_rdv_emit(&m, buf, sizeof(buf));
	CHECK_INT(ptcp_rdv_parse(&back, buf, (size_t)n), 0);
	for (int i = 4; i < 16; i++)
		CHECK_EQ(back.hello.private_ep.addr[i], 0);
}

static void test_emit_refuses(void)
{
	struct ptcp_rdv_msg m;
	uint8_t buf[PTCP_RDV_MSG_MAX];

	memset(buf, 0x5a, sizeof(buf));
	sample(&m, PTCP_RDV_HELLO);
	m.hello.private_ep.family = 5;
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	sample(&m, PTCP_RDV_HELLO);
	m.hello.private_ep.port = 0;
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	sample(&m, PTCP_RDV_CHALLENGE);
	memset(&m.challenge.observed, 0, sizeof(m.challenge.observed));
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	sample(&m, PTCP_RDV_MATCH);
	m.match.role = 0;
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	sample(&m, PTCP_RDV_LISTEN);
	m.listen.n_allow = PTCP_RDV_ALLOW_MAX + 1;
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	sample(&m, PTCP_RDV_ERROR);
	m.error.text_len = PTCP_RDV_TEXT_MAX + 1;
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	sample(&m, PTCP_RDV_ERROR);
	m.error.text[0] = '\t';
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	sample(&m, PTCP_RDV_ERROR);
	m.error.code = 0;
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	m.type = 0;
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	m.type = PTCP_RDV_TYPE_MAX + 1;
	CHECK_INT(ptcp_rdv_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	/* nothing was written by any refused call */
	for (size_t i = 0; i < sizeof(buf); i++)
		CHECK_EQ(buf[i], 0x5a);
}

static void test_emit_nobuf(void)
{
	struct ptcp_rdv_msg m;
	uint8_t buf[PTCP_RDV_MSG_MAX + 1];
	int n;

	for (uint8_t t = 1; t <= PTCP_RDV_TYPE_MAX; t++) {
		sample(&m, t);
		n = ptcp_rdv_emit(&m, buf, sizeof(buf));
		memset(buf, 0x5a, sizeof(buf));
		CHECK_INT(ptcp_rdv_emit(&m, buf, (size_t)n - 1), -PTCP_RDV_E_NOBUF);
		CHECK_INT(ptcp_rdv_emit(&m, buf, 0), -PTCP_RDV_E_NOBUF);
		for (size_t i = 0; i < sizeof(buf); i++)
			CHECK_EQ(buf[i], 0x5a);
		CHECK_INT(ptcp_rdv_emit(&m, buf, (size_t)n), n);
		CHECK_EQ(buf[n], 0x5a);
	}
}

static void test_error_msg_sanitises(void)
{
	struct ptcp_rdv_msg m;

	ptcp_rdv_error_msg(&m, PTCP_RDV_E_MALFORMED, true, "bad\x1b[31m\n");
	CHECK(strcmp(m.error.text, "bad?[31m?") == 0);
	CHECK_EQ(m.error.code, PTCP_RDV_E_MALFORMED);
	CHECK_EQ(m.error.flags, PTCP_RDV_ERR_FATAL);
	ptcp_rdv_error_msg(&m, PTCP_RDV_E_MALFORMED, false, NULL);
	CHECK_EQ(m.error.text_len, 0);
	CHECK_EQ(m.error.text[0], '\0');
}

static void test_transcript(void)
{
	uint8_t t[PTCP_RDV_TRANSCRIPT_LEN], t2[PTCP_RDV_TRANSCRIPT_LEN];
	struct ptcp_rdv_msg hello, ch, m;
	uint8_t *fields[] = { hello.hello.key, hello.hello.nonce, ch.challenge.server_key,
			      ch.challenge.nonce };

	sample(&hello, PTCP_RDV_HELLO);
	sample(&ch, PTCP_RDV_CHALLENGE);
	ep4(&ch.challenge.observed, 198, 51, 100, 1, 1234);
	CHECK_EQ(PTCP_RDV_TRANSCRIPT_LEN, 32 + 1 + 32 + 32 + 32 + 32 + 38);
	CHECK_EQ(sizeof(PTCP_RDV_CONTEXT_SERVER) - 1, PTCP_RDV_CONTEXT_LEN);
	CHECK_EQ(sizeof(PTCP_RDV_CONTEXT_CLIENT) - 1, PTCP_RDV_CONTEXT_LEN);
	CHECK_INT(ptcp_rdv_transcript(t, PTCP_RDV_SIGNER_CLIENT, &hello, &ch), PTCP_RDV_TRANSCRIPT_LEN);
	CHECK(memcmp(t, "p2ptcp rendezvous v2 client auth", 32) == 0);
	CHECK_EQ(t[32], 2);
	CHECK(memcmp(t + 33, ch.challenge.server_key, 32) == 0);
	CHECK(memcmp(t + 65, hello.hello.nonce, 32) == 0);
	CHECK(memcmp(t + 97, ch.challenge.nonce, 32) == 0);
	CHECK(memcmp(t + 129, hello.hello.key, 32) == 0);
	CHECK_EQ(t[161], 4);
	CHECK_EQ(t[164], 198);
	CHECK_EQ(t[180], 4);
	CHECK_EQ(t[183], 192);
	/* the server signs the same fields under its own context */
	CHECK_INT(ptcp_rdv_transcript(t2, PTCP_RDV_SIGNER_SERVER, &hello, &ch), PTCP_RDV_TRANSCRIPT_LEN);
	CHECK(memcmp(t2, "p2ptcp rendezvous v2 server auth", 32) == 0);
	CHECK(memcmp(t + 32, t2 + 32, sizeof(t) - 32) == 0);
	/* the signature is not part of it */
	ch.challenge.sig[5] ^= 1;
	CHECK_INT(ptcp_rdv_transcript(t2, PTCP_RDV_SIGNER_CLIENT, &hello, &ch), PTCP_RDV_TRANSCRIPT_LEN);
	CHECK(memcmp(t, t2, sizeof(t)) == 0);
	/* each key and nonce, and each endpoint, changes it */
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		fields[f][31] ^= 0x80;
		CHECK_INT(ptcp_rdv_transcript(t2, PTCP_RDV_SIGNER_CLIENT, &hello, &ch),
			  PTCP_RDV_TRANSCRIPT_LEN);
		CHECK(memcmp(t, t2, sizeof(t)) != 0);
		fields[f][31] ^= 0x80;
	}
	ch.challenge.observed.port++;
	CHECK_INT(ptcp_rdv_transcript(t2, PTCP_RDV_SIGNER_CLIENT, &hello, &ch), PTCP_RDV_TRANSCRIPT_LEN);
	CHECK(memcmp(t, t2, sizeof(t)) != 0);
	ch.challenge.observed.port--;
	hello.hello.private_ep.addr[3]++;
	CHECK_INT(ptcp_rdv_transcript(t2, PTCP_RDV_SIGNER_CLIENT, &hello, &ch), PTCP_RDV_TRANSCRIPT_LEN);
	CHECK(memcmp(t, t2, sizeof(t)) != 0);
	/* refused: a bad endpoint, a swapped message, an unknown signer */
	hello.hello.private_ep.family = 9;
	CHECK_INT(ptcp_rdv_transcript(t2, PTCP_RDV_SIGNER_CLIENT, &hello, &ch), -PTCP_RDV_E_MALFORMED);
	sample(&hello, PTCP_RDV_HELLO);
	CHECK_INT(ptcp_rdv_transcript(t2, PTCP_RDV_SIGNER_CLIENT, &ch, &hello), -PTCP_RDV_E_MALFORMED);
	sample(&m, PTCP_RDV_AUTH);
	CHECK_INT(ptcp_rdv_transcript(t2, PTCP_RDV_SIGNER_CLIENT, &hello, &m), -PTCP_RDV_E_MALFORMED);
	CHECK_INT(ptcp_rdv_transcript(t2, (enum ptcp_rdv_signer)3, &hello, &ch), -PTCP_RDV_E_MALFORMED);
}

static void test_endpoint_usable(void)
{
	struct ptcp_endpoint ep;

	ep4(&ep, 203, 0, 113, 7, 5555);
	CHECK(ptcp_rdv_endpoint_usable(&ep, PTCP_AF_INET));
	CHECK(!ptcp_rdv_endpoint_usable(&ep, PTCP_AF_INET6));
	CHECK(!ptcp_rdv_endpoint_usable(&ep, PTCP_AF_NONE));
	ep4(&ep, 127, 0, 0, 2, 1);
	CHECK(ptcp_rdv_endpoint_usable(&ep, PTCP_AF_INET));   /* loopback: a test server */
	ep4(&ep, 223, 255, 255, 255, 1);
	CHECK(ptcp_rdv_endpoint_usable(&ep, PTCP_AF_INET));
	ep4(&ep, 203, 0, 113, 7, 0);
	CHECK(!ptcp_rdv_endpoint_usable(&ep, PTCP_AF_INET));
	ep4(&ep, 0, 0, 0, 0, 80);
	CHECK(!ptcp_rdv_endpoint_usable(&ep, PTCP_AF_INET));
	ep4(&ep, 0, 1, 2, 3, 80);
	CHECK(!ptcp_rdv_endpoint_usable(&ep, PTCP_AF_INET));
	ep4(&ep, 224, 0, 0, 1, 80);
	CHECK(!ptcp_rdv_endpoint_usable(&ep, PTCP_AF_INET));
	ep4(&ep, 240, 0, 0, 1, 80);
	CHECK(!ptcp_rdv_endpoint_usable(&ep, PTCP_AF_INET));
	ep4(&ep, 255, 255, 255, 255, 80);
	CHECK(!ptcp_rdv_endpoint_usable(&ep, PTCP_AF_INET));
	ep6(&ep, 443);
	CHECK(ptcp_rdv_endpoint_usable(&ep, PTCP_AF_INET6));
	CHECK(!ptcp_rdv_endpoint_usable(&ep, PTCP_AF_INET));
	memset(ep.addr, 0, 16);
	CHECK(!ptcp_rdv_endpoint_usable(&ep, PTCP_AF_INET6));   /* :: */
	ep.addr[15] = 1;
	CHECK(ptcp_rdv_endpoint_usable(&ep, PTCP_AF_INET6));    /* ::1 */
	ep.addr[0] = 0xff;
	CHECK(!ptcp_rdv_endpoint_usable(&ep, PTCP_AF_INET6));   /* ff00::/8 */
	memset(ep.addr, 0, 16);
	ep.addr[10] = ep.addr[11] = 0xff;
	ep.addr[12] = 192;
	ep.addr[15] = 1;
	CHECK(!ptcp_rdv_endpoint_usable(&ep, PTCP_AF_INET6));   /* ::ffff:192.0.0.1 */
	memset(&ep, 0, sizeof(ep));
	CHECK(!ptcp_rdv_endpoint_usable(&ep, PTCP_AF_NONE));
}

static void test_names(void)
{
	for (int c = 1; c <= PTCP_RDV_E_WIRE_MAX; c++) {
		CHECK(strcmp(ptcp_rdv_strerror(c), "unknown error") != 0);
		CHECK(strcmp(ptcp_rdv_strerror(-c), ptcp_rdv_strerror(c)) == 0);
	}
	CHECK(strcmp(ptcp_rdv_strerror(PTCP_RDV_E_NOBUF), "unknown error") != 0);
	CHECK(strcmp(ptcp_rdv_strerror(999), "unknown error") == 0);
	CHECK(strcmp(ptcp_rdv_strerror(PTCP_RDV_E_WIRE_MAX + 1), "unknown error") == 0);
	CHECK(strstr(ptcp_rdv_strerror(-PTCP_RDV_E_BUSY), "serves as many peers as it will") != NULL);
	for (int t = 1; t <= PTCP_RDV_TYPE_MAX; t++)
		CHECK(strcmp(ptcp_rdv_type_name(t), "?") != 0);
	CHECK(strcmp(ptcp_rdv_type_name(0), "?") == 0);
	CHECK(strcmp(ptcp_rdv_type_name(PTCP_RDV_BUSY), "BUSY") == 0);
	CHECK(strcmp(ptcp_rdv_type_name(PTCP_RDV_TYPE_MAX + 1), "?") == 0);
}

int main(void)
{
	RUN(test_ping_bytes);
	RUN(test_busy_bytes);
	RUN(test_registered_bytes);
	RUN(test_connect_bytes);
	RUN(test_error_bytes);
	RUN(test_match_bytes);
	RUN(test_hello_challenge_bytes);
	RUN(test_relay_additions_bytes);
	RUN(test_hello0_welcome_bytes);
	RUN(test_transcript0);
	RUN(test_prediction_tail_bytes);
	RUN(test_round_trip_all_types);
	RUN(test_every_length);
	RUN(test_header_errors);
	RUN(test_framing_and_truncation);
	RUN(test_frame_rejects_early);
	RUN(test_noncanonical_bodies);
	RUN(test_hello_none_private);
	RUN(test_emit_refuses);
	RUN(test_emit_nobuf);
	RUN(test_error_msg_sanitises);
	RUN(test_transcript);
	RUN(test_endpoint_usable);
	RUN(test_names);
	return check_summary();
}
