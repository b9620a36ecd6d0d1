/* Tests of the relay message codec (core/proto/relaymsg.h): exact bytes
 * written out by hand from docs/protocol.md ("The relay"), round trips,
 * every length of every type, early refusal of a bad header byte by
 * byte, non-canonical bodies, emission that never writes past its buffer,
 * and the signed transcript's layout. Compiled in directly: unit tests
 * link only the engine. */
#include <string.h>

#include "check.h"

#include "../../core/proto/relaymsg.c"

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static void sample(struct ptcp_relay_msg *m, uint8_t type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	if (type == PTCP_RELAY_JOIN) {
		fill(m->join.token, 32, 1);
		fill(m->join.key, 32, 2);
		fill(m->join.sig, 64, 3);
	} else if (type == PTCP_RELAY_ERROR) {
		ptcp_relay_error_msg(m, PTCP_RELAY_E_UNKNOWN_TOKEN, "no such token");
	}
}

static void test_bytes(void)
{
	struct ptcp_relay_msg m;
	uint8_t buf[PTCP_RELAY_MSG_MAX];

	sample(&m, PTCP_RELAY_JOIN);
	CHECK_INT(ptcp_relay_emit(&m, buf, sizeof(buf)), 6 + 128);
	CHECK(memcmp(buf, (const uint8_t[]){ 'P', 'R', 1, 1, 0, 128 }, 6) == 0);
	CHECK(memcmp(buf + 6, m.join.token, 32) == 0);
	CHECK(memcmp(buf + 38, m.join.key, 32) == 0);
	CHECK(memcmp(buf + 70, m.join.sig, 64) == 0);

	sample(&m, PTCP_RELAY_READY);
	CHECK_INT(ptcp_relay_emit(&m, buf, sizeof(buf)), 6);
	CHECK(memcmp(buf, (const uint8_t[]){ 'P', 'R', 1, 2, 0, 0 }, 6) == 0);

	sample(&m, PTCP_RELAY_ERROR);
	CHECK_INT(ptcp_relay_emit(&m, buf, sizeof(buf)), 6 + 2 + 13);
	CHECK(memcmp(buf, (const uint8_t[]){ 'P', 'R', 1, 3, 0, 15, 0, 4 }, 8) == 0);
	CHECK(memcmp(buf + 8, "no such token", 13) == 0);
}

static void test_round_trip(void)
{
	struct ptcp_relay_msg m, back;
	uint8_t buf[PTCP_RELAY_MSG_MAX + 1], again[PTCP_RELAY_MSG_MAX]; /* + 1: a trailing byte */
	int n;

	for (uint8_t t = 1; t <= PTCP_RELAY_TYPE_MAX; t++) {
		sample(&m, t);
		n = ptcp_relay_emit(&m, buf, sizeof(buf));
		CHECK(n >= PTCP_RELAY_HDR_LEN);
		if (n < PTCP_RELAY_HDR_LEN)
			continue;
		CHECK_INT(ptcp_relay_frame(buf, (size_t)n), n);
		CHECK_INT(ptcp_relay_parse(&back, buf, (size_t)n), 0);
		CHECK(memcmp(&m, &back, sizeof(m)) == 0);
		CHECK_INT(ptcp_relay_emit(&back, again, sizeof(again)), n);
		CHECK(memcmp(buf, again, (size_t)n) == 0);
		/* every truncation waits, every trailing byte is refused */
		for (int k = 0; k < n; k++) {
			CHECK_INT(ptcp_relay_frame(buf, (size_t)k), 0);
			CHECK(ptcp_relay_parse(&back, buf, (size_t)k) < 0);
		}
		buf[n] = 0;
		CHECK_INT(ptcp_relay_parse(&back, buf, (size_t)n + 1), -PTCP_RELAY_E_MALFORMED);
	}
	ptcp_relay_error_msg(&m, PTCP_RELAY_E_FULL,
			     "0123456789012345678901234567890123456789012345678901234567890123456789"
			     "0123456789012345678901234567890123456789012345678901234567890123456789");
	CHECK_EQ(m.error.text_len, PTCP_RELAY_TEXT_MAX);
	n = ptcp_relay_emit(&m, buf, sizeof(buf));
	CHECK_INT(n, 6 + 2 + PTCP_RELAY_TEXT_MAX);
	CHECK_INT(ptcp_relay_parse(&back, buf, (size_t)n), 0);
	CHECK(memcmp(&m, &back, sizeof(m)) == 0);
}

/* Every body length of every type in the header: exactly the valid ones
 * pass the framer, longer ones are TOO_BIG, shorter ones MALFORMED. */
static void test_every_length(void)
{
	uint8_t h[6] = { 'P', 'R', PTCP_RELAY_VERSION, 0, 0, 0 };
	static const unsigned lo[] = { 0, 128, 0, 2 }, hi[] = { 0, 128, 0, 122 };
	int rv;

	for (uint8_t t = 1; t <= PTCP_RELAY_TYPE_MAX; t++) {
		h[3] = t;
		for (unsigned len = 0; len <= 0xffff; len++) {
			h[4] = (uint8_t)(len >> 8);
			h[5] = (uint8_t)len;
			rv = ptcp_relay_frame(h, 6);
			if (len > hi[t])
				CHECK_INT(rv, -PTCP_RELAY_E_TOO_BIG);
			else if (len < lo[t])
				CHECK_INT(rv, -PTCP_RELAY_E_MALFORMED);
			else
				CHECK_INT(rv, len == 0 ? 6 : 0);
			if (check_failed())
				return;
		}
	}
}

static void test_header_early(void)
{
	CHECK_INT(ptcp_relay_frame((const uint8_t *)"X", 1), -PTCP_RELAY_E_MALFORMED);
	CHECK_INT(ptcp_relay_frame((const uint8_t *)"PT", 2), -PTCP_RELAY_E_MALFORMED);
	CHECK_INT(ptcp_relay_frame((const uint8_t[]){ 'P', 'R', 2 }, 3), -PTCP_RELAY_E_VERSION);
	CHECK_INT(ptcp_relay_frame((const uint8_t[]){ 'P', 'R', 1, 0 }, 4), -PTCP_RELAY_E_MALFORMED);
	CHECK_INT(ptcp_relay_frame((const uint8_t[]){ 'P', 'R', 1, 4 }, 4), -PTCP_RELAY_E_MALFORMED);
	CHECK_INT(ptcp_relay_frame((const uint8_t[]){ 'P', 'R', 1, 1 }, 4), 0);
	/* a rendezvous message on the relay port is refused at its magic */
	CHECK_INT(ptcp_relay_frame((const uint8_t[]){ 'P', 'T', 2, 1, 0, 83 }, 6),
		  -PTCP_RELAY_E_MALFORMED);
}

static void test_noncanonical(void)
{
	struct ptcp_relay_msg m;
	uint8_t buf[PTCP_RELAY_MSG_MAX];
	int n;

	sample(&m, PTCP_RELAY_ERROR);
	n = ptcp_relay_emit(&m, buf, sizeof(buf));
	buf[6] = buf[7] = 0;                      /* code 0 */
	CHECK_INT(ptcp_relay_parse(&m, buf, (size_t)n), -PTCP_RELAY_E_MALFORMED);
	sample(&m, PTCP_RELAY_ERROR);
	n = ptcp_relay_emit(&m, buf, sizeof(buf));
	buf[9] = 0x07;                            /* a control byte */
	CHECK_INT(ptcp_relay_parse(&m, buf, (size_t)n), -PTCP_RELAY_E_MALFORMED);
	buf[9] = 0x80;
	CHECK_INT(ptcp_relay_parse(&m, buf, (size_t)n), -PTCP_RELAY_E_MALFORMED);
}

static void test_emit_refuses(void)
{
	struct ptcp_relay_msg m;
	uint8_t buf[PTCP_RELAY_MSG_MAX + 8];

	memset(&m, 0, sizeof(m));
	m.type = 9;
	CHECK_INT(ptcp_relay_emit(&m, buf, sizeof(buf)), -PTCP_RELAY_E_MALFORMED);
	sample(&m, PTCP_RELAY_ERROR);
	m.error.code = 0;
	CHECK_INT(ptcp_relay_emit(&m, buf, sizeof(buf)), -PTCP_RELAY_E_MALFORMED);
	sample(&m, PTCP_RELAY_ERROR);
	m.error.text[0] = '\n';
	CHECK_INT(ptcp_relay_emit(&m, buf, sizeof(buf)), -PTCP_RELAY_E_MALFORMED);
	sample(&m, PTCP_RELAY_ERROR);
	m.error.text_len = PTCP_RELAY_TEXT_MAX + 1;
	CHECK_INT(ptcp_relay_emit(&m, buf, sizeof(buf)), -PTCP_RELAY_E_MALFORMED);
	/* too small: nothing written */
	sample(&m, PTCP_RELAY_JOIN);
	memset(buf, 0xaa, sizeof(buf));
	CHECK_INT(ptcp_relay_emit(&m, buf, 6 + 127), -PTCP_RELAY_E_NOBUF);
	for (size_t i = 0; i < sizeof(buf); i++)
		CHECK_EQ(buf[i], 0xaa);
	CHECK_INT(ptcp_relay_emit(&m, buf, 6 + 128), 6 + 128);
	/* error text sanitised */
	ptcp_relay_error_msg(&m, -PTCP_RELAY_E_TIMEOUT, "a\nb");
	CHECK_EQ(m.error.code, PTCP_RELAY_E_TIMEOUT);
	CHECK(strcmp(m.error.text, "a?b") == 0);
}

static void test_transcript(void)
{
	uint8_t token[32], key[32], t[PTCP_RELAY_TRANSCRIPT_LEN], u[PTCP_RELAY_TRANSCRIPT_LEN];

	fill(token, 32, 5);
	fill(key, 32, 6);
	ptcp_relay_transcript(t, token, key);
	CHECK_INT(PTCP_RELAY_TRANSCRIPT_LEN, 97);
	CHECK(memcmp(t, "p2ptcp relay v1 join, peer proof", 32) == 0);
	CHECK_EQ(t[32], 1);
	CHECK(memcmp(t + 33, token, 32) == 0);
	CHECK(memcmp(t + 65, key, 32) == 0);
	/* each field changes it */
	key[31] ^= 1;
	ptcp_relay_transcript(u, token, key);
	CHECK(memcmp(t, u, sizeof(t)) != 0);
	key[31] ^= 1;
	token[0] ^= 1;
	ptcp_relay_transcript(u, token, key);
	CHECK(memcmp(t, u, sizeof(t)) != 0);
}

static void test_names(void)
{
	for (int c = 1; c <= PTCP_RELAY_E_SHUTDOWN; c++)
		CHECK(strcmp(ptcp_relay_strerror(c), "unknown error") != 0);
	CHECK(strcmp(ptcp_relay_strerror(0), "unknown error") == 0);
	CHECK(strcmp(ptcp_relay_strerror(-PTCP_RELAY_E_FULL), "the relay is full") == 0);
}

int main(void)
{
	RUN(test_bytes);
	RUN(test_round_trip);
	RUN(test_every_length);
	RUN(test_header_early);
	RUN(test_noncanonical);
	RUN(test_emit_refuses);
	RUN(test_transcript);
	RUN(test_names);
	return check_summary();
}
