/* Tests of the segment codec (segment.c) and the endpoint helpers
 * (addr.c): parse, emit, their round trip, every malformed-length class,
 * checksums over IPv4 and IPv6 pseudo-headers, buffer limits. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "segment.h"

/* --- helpers ---------------------------------------------------------------- */

/* The Internet checksum the slow, obvious way (RFC 1071 section 4.1 read
 * literally): 16-bit big-endian words, one at a time, carries folded at the
 * end. Independent of the word-at-a-time code under test. */
static uint32_t naive_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t naive_finish(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint16_t naive_tcp4(const uint8_t *s, const uint8_t *d, const uint8_t *seg, size_t n)
{
	uint8_t ph[12] = { 0 };

	memcpy(ph, s, 4);
	memcpy(ph + 4, d, 4);
	ph[9] = 6;
	ph[10] = (uint8_t)(n >> 8);
	ph[11] = (uint8_t)n;
	return naive_finish(naive_add(naive_add(0, ph, 12), seg, n));
}

static uint16_t naive_tcp6(const uint8_t *s, const uint8_t *d, const uint8_t *seg, size_t n)
{
	uint8_t ph[40] = { 0 };

	memcpy(ph, s, 16);
	memcpy(ph + 16, d, 16);
	ph[34] = (uint8_t)(n >> 8);
	ph[35] = (uint8_t)n;
	ph[39] = 6;
	return naive_finish(naive_add(naive_add(0, ph, 40), seg, n));
}

static void ep6(struct ptcp_endpoint *ep, const char *hex32, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = PTCP_AF_INET6;
	for (int i = 0; i < 16; i++) {
		unsigned v;

		sscanf(hex32 + 2 * i, "%2x", &v);
		ep->addr[i] = (uint8_t)v;
	}
	ep->port = port;
}

/* Field-by-field equality of two parsed segments; payloads by content. */
static void check_same(const struct ptcp_segment *a, const struct ptcp_segment *b)
{
	CHECK_EQ(a->sport, b->sport);
	CHECK_EQ(a->dport, b->dport);
	CHECK_EQ(a->seq, b->seq);
	CHECK_EQ(a->ack, b->ack);
	CHECK_EQ(a->flags, b->flags);
	CHECK_EQ(a->wnd, b->wnd);
	CHECK_EQ(a->urg, b->urg);
	CHECK_EQ(a->opt.has_mss, b->opt.has_mss);
	CHECK_EQ(a->opt.mss, b->opt.mss);
	CHECK_EQ(a->opt.has_wscale, b->opt.has_wscale);
	CHECK_EQ(a->opt.wscale, b->opt.wscale);
	CHECK_EQ(a->opt.sack_permitted, b->opt.sack_permitted);
	CHECK_EQ(a->opt.has_ts, b->opt.has_ts);
	CHECK_EQ(a->opt.ts_val, b->opt.ts_val);
	CHECK_EQ(a->opt.ts_ecr, b->opt.ts_ecr);
	CHECK_EQ(a->opt.sack_count, b->opt.sack_count);
	for (int i = 0; i < a->opt.sack_count && i < PTCP_SACK_MAX; i++) {
		CHECK_EQ(a->opt.sack[i].left, b->opt.sack[i].left);
		CHECK_EQ(a->opt.sack[i].right, b->opt.sack[i].right);
	}
	CHECK_EQ(a->len, b->len);
	if (a->len == b->len && a->len)
		CHECK(memcmp(a->payload, b->payload, a->len) == 0);
}

/* A bare 20-byte header in b[0..20) with the given data offset; the option
 * bytes after it are left to the test. */
static size_t bare(uint8_t *b, unsigned doff_words)
{
	memset(b, 0, PTCP_TCP_HDR_MIN);
	b[0] = 0x9c; b[1] = 0x40;              /* sport 40000 */
	b[2] = 0x00; b[3] = 0x50;              /* dport 80 */
	b[7] = 1;                              /* seq 1 */
	b[12] = (uint8_t)(doff_words << 4);
	b[13] = PTCP_TH_ACK;
	b[14] = 0xff; b[15] = 0xff;
	return doff_words * 4;
}

/* Parses a header with the given option bytes (padded with EOL). */
static int parse_opts(struct ptcp_segment *s, const uint8_t *opts, size_t n)
{
	static uint8_t b[64];
	size_t ol = (n + 3) & ~(size_t)3;
	size_t len = bare(b, (unsigned)(5 + ol / 4));

	memset(b + 20, 0, ol);
	memcpy(b + 20, opts, n);
	return ptcp_segment_parse(s, b, len, NULL, NULL);
}

/* A real-looking Linux SYN, 192.0.2.1:40000 > 198.51.100.2:443, with
 * <mss 1460,sackOK,TS val 691231 ecr 0,nop,wscale 7>. Its checksum 0xe03a
 * was confirmed by "tcpdump -vv" ("cksum 0xe03a (correct)"). */
static const uint8_t syn4[40] = {
	0x9c, 0x40, 0x01, 0xbb, 0x1a, 0x2b, 0x3c, 0x4d, 0x00, 0x00, 0x00, 0x00,
	0xa0, 0x02, 0xfa, 0xf0, 0xe0, 0x3a, 0x00, 0x00,
	0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x0a, 0x8c, 0x1f,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};
static const uint8_t syn4_src[4] = { 192, 0, 2, 1 };
static const uint8_t syn4_dst[4] = { 198, 51, 100, 2 };

/* [P.] with <nop,nop,TS val 100 ecr 200> and "hello" (odd length),
 * [2001:db8::1]:40000 > [2001:db8::2]:80; tcpdump -vv: "cksum 0x2bff
 * (correct)". */
static const uint8_t data6[37] = {
	0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x07, 0xd0,
	0x80, 0x18, 0x01, 0xf6, 0x2b, 0xff, 0x00, 0x00,
	0x01, 0x01, 0x08, 0x0a, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0xc8,
	'h', 'e', 'l', 'l', 'o',
};

static void syn4_eps(struct ptcp_endpoint *s, struct ptcp_endpoint *d)
{
	ptcp_endpoint_ipv4(s, 0xc0000201, 40000);
	ptcp_endpoint_ipv4(d, 0xc6336402, 443);
}

/* --- checksum ----------------------------------------------------------------- */

static void test_checksum_known_ipv4_syn(void)
{
	struct ptcp_endpoint s, d;
	uint8_t b[40];

	syn4_eps(&s, &d);
	/* Independently: the naive sum over the segment with a zero checksum
	 * field gives the value on the wire. */
	memcpy(b, syn4, sizeof(b));
	b[16] = b[17] = 0;
	CHECK_EQ(naive_tcp4(syn4_src, syn4_dst, b, sizeof(b)), 0xe03a);
	CHECK_EQ(ptcp_tcp_checksum(&s, &d, b, sizeof(b)), 0xe03a);
	/* With the field filled in, a correct segment sums to zero. */
	CHECK_EQ(ptcp_tcp_checksum(&s, &d, syn4, sizeof(syn4)), 0);
	CHECK_EQ(naive_tcp4(syn4_src, syn4_dst, syn4, sizeof(syn4)), 0);
}

static void test_checksum_known_ipv6_odd(void)
{
	struct ptcp_endpoint s, d;
	uint8_t b[37];

	ep6(&s, "20010db8000000000000000000000001", 40000);
	ep6(&d, "20010db8000000000000000000000002", 80);
	memcpy(b, data6, sizeof(b));
	b[16] = b[17] = 0;
	CHECK_EQ(naive_tcp6(s.addr, d.addr, b, sizeof(b)), 0x2bff);
	CHECK_EQ(ptcp_tcp_checksum(&s, &d, b, sizeof(b)), 0x2bff);
	CHECK_EQ(ptcp_tcp_checksum(&s, &d, data6, sizeof(data6)), 0);
	/* The same bytes over the IPv4 pseudo-header must not verify. */
	syn4_eps(&s, &d);
	CHECK(ptcp_tcp_checksum(&s, &d, data6, sizeof(data6)) != 0);
}

/* The word-at-a-time sum against the naive one for every length 0..300 at
 * every start alignment 0..7, over pseudo-random bytes including runs of
 * 0xff that force carries. */
static void test_checksum_matches_naive(void)
{
	static uint8_t mem[320 + 8];
	struct ptcp_endpoint s4, d4, s6, d6;
	uint32_t x = 12345;

	syn4_eps(&s4, &d4);
	ep6(&s6, "fe800000000000000000000000000001", 1);
	ep6(&d6, "ffffffffffffffffffffffffffffffff", 2);
	for (size_t i = 0; i < sizeof(mem); i++) {
		x = x * 1103515245u + 12345u;
		mem[i] = (i / 37) % 2 ? 0xff : (uint8_t)(x >> 16);
	}
	for (size_t off = 0; off < 8; off++) {
		for (size_t n = 0; n <= 300; n++) {
			const uint8_t *p = mem + off;

			CHECK_EQ(ptcp_tcp_checksum(NULL, NULL, p, n),
				 naive_finish(naive_add(0, p, n)));
			CHECK_EQ(ptcp_tcp_checksum(&s4, &d4, p, n),
				 naive_tcp4(s4.addr, d4.addr, p, n));
			CHECK_EQ(ptcp_tcp_checksum(&s6, &d6, p, n),
				 naive_tcp6(s6.addr, d6.addr, p, n));
			if (check_failed())
				return;
		}
	}
}

static void test_checksum_all_ones(void)
{
	uint8_t b[1500];

	/* Many 0xffff words: the carries must be folded back in. */
	memset(b, 0xff, sizeof(b));
	CHECK_EQ(ptcp_tcp_checksum(NULL, NULL, b, sizeof(b)), naive_finish(naive_add(0, b, sizeof(b))));
	CHECK_EQ(ptcp_tcp_checksum(NULL, NULL, b, 1), naive_finish(0xff00));
	CHECK_EQ(ptcp_tcp_checksum(NULL, NULL, b, 0), 0xffff);
}

/* --- parse ---------------------------------------------------------------- */

static void test_parse_known_syn(void)
{
	struct ptcp_endpoint s, d;
	struct ptcp_segment seg;
	uint8_t b[40];

	syn4_eps(&s, &d);
	CHECK_INT(ptcp_segment_parse(&seg, syn4, sizeof(syn4), &s, &d), 0);
	CHECK_EQ(seg.sport, 40000);
	CHECK_EQ(seg.dport, 443);
	CHECK_EQ(seg.seq, 0x1a2b3c4d);
	CHECK_EQ(seg.ack, 0);
	CHECK_EQ(seg.flags, PTCP_TH_SYN);
	CHECK_EQ(seg.wnd, 64240);
	CHECK_EQ(seg.urg, 0);
	CHECK(seg.opt.has_mss);
	CHECK_EQ(seg.opt.mss, 1460);
	CHECK(seg.opt.sack_permitted);
	CHECK(seg.opt.has_ts);
	CHECK_EQ(seg.opt.ts_val, 691231);
	CHECK_EQ(seg.opt.ts_ecr, 0);
	CHECK(seg.opt.has_wscale);
	CHECK_EQ(seg.opt.wscale, 7);
	CHECK_EQ(seg.opt.sack_count, 0);
	CHECK_EQ(seg.len, 0);
	CHECK(seg.payload == syn4 + 40);
	CHECK_EQ(ptcp_segment_seqlen(&seg), 1);

	/* One flipped bit anywhere, or the wrong addresses, fail the sum. */
	for (size_t i = 0; i < sizeof(b); i++) {
		memcpy(b, syn4, sizeof(b));
		b[i] ^= 0x01; /* in byte 12 a reserved bit, not the offset */
		CHECK_INT(ptcp_segment_parse(&seg, b, sizeof(b), &s, &d), PTCP_ERR_CHECKSUM);
	}
	CHECK_INT(ptcp_segment_parse(&seg, syn4, sizeof(syn4), &d, &s), 0); /* symmetric sum */
	s.addr[3] = 2;
	CHECK_INT(ptcp_segment_parse(&seg, syn4, sizeof(syn4), &s, &d), PTCP_ERR_CHECKSUM);
	/* Without both addresses the checksum is not looked at. */
	CHECK_INT(ptcp_segment_parse(&seg, syn4, sizeof(syn4), &s, NULL), 0);
	CHECK_INT(ptcp_segment_parse(&seg, syn4, sizeof(syn4), NULL, NULL), 0);
}

static void test_parse_ipv6_data(void)
{
	struct ptcp_endpoint s, d;
	struct ptcp_segment seg;

	ep6(&s, "20010db8000000000000000000000001", 40000);
	ep6(&d, "20010db8000000000000000000000002", 80);
	CHECK_INT(ptcp_segment_parse(&seg, data6, sizeof(data6), &s, &d), 0);
	CHECK_EQ(seg.flags, PTCP_TH_PSH | PTCP_TH_ACK);
	CHECK_EQ(seg.seq, 1000);
	CHECK_EQ(seg.ack, 2000);
	CHECK_EQ(seg.wnd, 502);
	CHECK(seg.opt.has_ts && !seg.opt.has_mss && !seg.opt.sack_permitted);
	CHECK_EQ(seg.opt.ts_val, 100);
	CHECK_EQ(seg.opt.ts_ecr, 200);
	CHECK_EQ(seg.len, 5);
	CHECK(seg.payload == data6 + 32);
	CHECK_EQ(ptcp_segment_seqlen(&seg), 5);
	d.addr[15] = 3;
	CHECK_INT(ptcp_segment_parse(&seg, data6, sizeof(data6), &s, &d), PTCP_ERR_CHECKSUM);
}

static void test_parse_family_mismatch(void)
{
	struct ptcp_endpoint s4, d4, s6;
	struct ptcp_segment seg;
	uint8_t b[64];

	syn4_eps(&s4, &d4);
	ep6(&s6, "20010db8000000000000000000000001", 40000);
	CHECK_INT(ptcp_segment_parse(&seg, syn4, sizeof(syn4), &s6, &d4), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_segment_parse(&seg, syn4, sizeof(syn4), &s4, &s6), PTCP_ERR_INVAL);
	memset(&s6, 0, sizeof(s6)); /* PTCP_AF_NONE */
	CHECK_INT(ptcp_segment_parse(&seg, syn4, sizeof(syn4), &s6, &s6), PTCP_ERR_INVAL);

	memset(&seg, 0, sizeof(seg));
	syn4_eps(&s4, &d4);
	ep6(&s6, "20010db8000000000000000000000001", 40000);
	CHECK_INT(ptcp_segment_emit(&seg, b, sizeof(b), &s4, &s6), PTCP_ERR_INVAL);
	CHECK_INT(ptcp_segment_emit(&seg, b, sizeof(b), &s6, &d4), PTCP_ERR_INVAL);
}

static void test_parse_short_lengths(void)
{
	struct ptcp_segment seg;
	uint8_t b[64];

	memset(b, 0, sizeof(b)); /* options: all EOL */
	bare(b, 5);
	for (size_t n = 0; n < PTCP_TCP_HDR_MIN; n++)
		CHECK_INT(ptcp_segment_parse(&seg, b, n, NULL, NULL), PTCP_ERR_TRUNCATED);
	CHECK_INT(ptcp_segment_parse(&seg, b, 20, NULL, NULL), 0);
}

static void test_parse_bad_offset(void)
{
	struct ptcp_segment seg;
	uint8_t b[64];

	memset(b, 0, sizeof(b)); /* options: all EOL */
	/* Data offset below 5 words. */
	for (unsigned w = 0; w < 5; w++) {
		bare(b, w);
		CHECK_INT(ptcp_segment_parse(&seg, b, 40, NULL, NULL), PTCP_ERR_BAD_OFFSET);
	}
	/* Data offset past the end of the buffer, by one word or more. */
	for (unsigned w = 6; w < 16; w++) {
		bare(b, w);
		CHECK_INT(ptcp_segment_parse(&seg, b, w * 4 - 1, NULL, NULL), PTCP_ERR_BAD_OFFSET);
		CHECK_INT(ptcp_segment_parse(&seg, b, 20, NULL, NULL), PTCP_ERR_BAD_OFFSET);
		CHECK_INT(ptcp_segment_parse(&seg, b, w * 4, NULL, NULL), 0);
	}
	/* The reserved bits next to the offset are ignored. */
	bare(b, 5);
	b[12] |= 0x0f;
	CHECK_INT(ptcp_segment_parse(&seg, b, 20, NULL, NULL), 0);
	CHECK_EQ(seg.len, 0);
}

static void test_parse_bad_options(void)
{
	static const struct {
		const char *what;
		uint8_t opt[12];
		size_t n;
	} bad[] = {
		{ "kind without length byte", { 2 }, 1 },
		{ "unknown kind without length", { 1, 1, 1, 30 }, 4 },
		{ "length 0", { 30, 0, 0, 0 }, 4 },
		{ "length 1", { 30, 1, 0, 0 }, 4 },
		{ "length past header", { 30, 5, 0, 0 }, 4 },
		{ "length past header after NOPs", { 1, 1, 30, 3 }, 4 },
		{ "MSS length 3", { 2, 3, 5, 0 }, 4 },
		{ "MSS length 5", { 2, 5, 5, 0xb4, 0, 0, 0, 0 }, 8 },
		{ "MSS length 2", { 2, 2, 0, 0 }, 4 },
		{ "WS length 2", { 3, 2, 0, 0 }, 4 },
		{ "WS length 4", { 3, 4, 7, 0 }, 4 },
		{ "SACK-perm length 3", { 4, 3, 0, 0 }, 4 },
		{ "SACK-perm length 4", { 4, 4, 0, 0 }, 4 },
		{ "TS length 8", { 8, 8, 0, 0, 0, 0, 0, 0 }, 8 },
		{ "TS length 11", { 8, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 12 },
		{ "SACK length 2", { 5, 2, 0, 0 }, 4 },
		{ "SACK length 9", { 5, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 12 },
		{ "SACK length 11", { 5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 12 },
		{ "bad option after a good one", { 2, 4, 5, 0xb4, 3, 4, 7, 0 }, 8 },
	};
	struct ptcp_segment seg;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rv = parse_opts(&seg, bad[i].opt, bad[i].n);

		if (rv != PTCP_ERR_BAD_OPTION)
			check_fail(__FILE__, __LINE__, "%s: got %d", bad[i].what, rv);
	}
}

static void test_parse_sack_lengths(void)
{
	uint8_t o[40];
	struct ptcp_segment seg;

	/* 1 to 4 blocks are fine; 2 + 8 * n fills at most 34 bytes. */
	for (unsigned n = 1; n <= 4; n++) {
		memset(o, 0, sizeof(o));
		o[0] = 1;
		o[1] = 1;
		o[2] = 5;
		o[3] = (uint8_t)(2 + 8 * n);
		for (unsigned b = 0; b < n; b++) {
			o[4 + 8 * b + 3] = (uint8_t)(10 * b + 1);
			o[4 + 8 * b + 7] = (uint8_t)(10 * b + 5);
		}
		CHECK_INT(parse_opts(&seg, o, 4 + 8 * n), 0);
		CHECK_EQ(seg.opt.sack_count, n);
		CHECK_EQ(seg.opt.sack[n - 1].left, 10 * (n - 1) + 1);
		CHECK_EQ(seg.opt.sack[n - 1].right, 10 * (n - 1) + 5);
	}
	/* Five blocks would need 42 bytes: no header can hold them, so the
	 * length always runs past the end. */
	memset(o, 0, sizeof(o));
	o[0] = 5;
	o[1] = 42;
	CHECK_INT(parse_opts(&seg, o, 40), PTCP_ERR_BAD_OPTION);
}

static void test_parse_option_edges(void)
{
	struct ptcp_segment seg;

	/* EOL ends the list: what follows is not looked at. */
	{
		const uint8_t o[] = { 2, 4, 1, 0x00, 0, 30, 0, 99 };

		CHECK_INT(parse_opts(&seg, o, sizeof(o)), 0);
		CHECK(seg.opt.has_mss);
		CHECK_EQ(seg.opt.mss, 256);
	}
	/* All NOPs, then unknown kinds (experimental 254 with 6 bytes, 30
	 * with just kind and length) skipped by their length. */
	{
		const uint8_t o[] = { 1, 1, 1, 1, 254, 6, 0xf9, 0x89, 1, 2, 30, 2, 3, 3, 9 };

		CHECK_INT(parse_opts(&seg, o, sizeof(o)), 0);
		CHECK(seg.opt.has_wscale);
		CHECK_EQ(seg.opt.wscale, 9);
		CHECK(!seg.opt.has_mss && !seg.opt.has_ts);
	}
	/* An option ending exactly at the end of the header. */
	{
		const uint8_t o[] = { 1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 8 };

		CHECK_INT(parse_opts(&seg, o, sizeof(o)), 0);
		CHECK(seg.opt.has_ts);
		CHECK_EQ(seg.opt.ts_val, 7);
		CHECK_EQ(seg.opt.ts_ecr, 8);
	}
	/* Duplicates: the last one wins, SACK lists are replaced whole. */
	{
		const uint8_t o[] = { 2, 4, 0, 100, 2, 4, 0, 200,
				      5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4,
				      5, 10, 0, 0, 0, 9, 0, 0, 0, 10 };

		CHECK_INT(parse_opts(&seg, o, sizeof(o)), 0);
		CHECK_EQ(seg.opt.mss, 200);
		CHECK_EQ(seg.opt.sack_count, 1);
		CHECK_EQ(seg.opt.sack[0].left, 9);
		CHECK_EQ(seg.opt.sack[0].right, 10);
		CHECK_EQ(seg.opt.sack[1].left, 0);
	}
	/* A wscale above 14 is kept as received; clamping is the engine's. */
	{
		const uint8_t o[] = { 3, 3, 200 };

		CHECK_INT(parse_opts(&seg, o, sizeof(o)), 0);
		CHECK_EQ(seg.opt.wscale, 200);
	}
}

/* Every prefix of a valid segment, each in its own exact-size heap block so
 * ASan reports any read past it. */
static void test_parse_every_prefix(void)
{
	struct ptcp_endpoint s, d;
	struct ptcp_segment seg, full;
	uint8_t wire[200], payload[100];
	int n, hlen;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 1);
	memset(&seg, 0, sizeof(seg));
	seg.sport = 1;
	seg.dport = 2;
	seg.seq = 100;
	seg.ack = 200;
	seg.flags = PTCP_TH_ACK | PTCP_TH_PSH;
	seg.wnd = 1000;
	seg.opt.has_ts = true;
	seg.opt.ts_val = 5;
	seg.opt.sack_count = 2;
	seg.opt.sack[0] = (struct ptcp_sack_block){ 300, 400 };
	seg.opt.sack[1] = (struct ptcp_sack_block){ 500, 600 };
	seg.payload = payload;
	seg.len = sizeof(payload);
	syn4_eps(&s, &d);
	n = ptcp_segment_emit(&seg, wire, sizeof(wire), &s, &d);
	hlen = (int)ptcp_segment_header_len(&seg);
	CHECK_INT(hlen, 20 + 12 + 20);
	CHECK_INT(n, hlen + (int)sizeof(payload));
	CHECK_INT(ptcp_segment_parse(&full, wire, (size_t)n, &s, &d), 0);

	for (int k = 0; k <= n; k++) {
		uint8_t *p = malloc(k ? (size_t)k : 1);
		int rv, rv2;

		memcpy(p, wire, (size_t)k);
		rv = ptcp_segment_parse(&seg, p, (size_t)k, NULL, NULL);
		rv2 = ptcp_segment_parse(&seg, p, (size_t)k, &s, &d);
		if (k < 20) {
			CHECK_INT(rv, PTCP_ERR_TRUNCATED);
			CHECK_INT(rv2, PTCP_ERR_TRUNCATED);
		} else if (k < hlen) {
			CHECK_INT(rv, PTCP_ERR_BAD_OFFSET);
			CHECK_INT(rv2, PTCP_ERR_BAD_OFFSET);
		} else {
			/* Header complete: without addresses a shorter payload
			 * is all that can be seen; the checksum notices. */
			CHECK_INT(ptcp_segment_parse(&seg, p, (size_t)k, NULL, NULL), 0);
			CHECK_EQ(seg.len, (size_t)(k - hlen));
			CHECK(seg.payload == p + hlen);
			CHECK_INT(rv2, k == n ? 0 : PTCP_ERR_CHECKSUM);
		}
		free(p);
		if (check_failed())
			break;
	}
}

/* --- emit ------------------------------------------------------------------- */

static void test_emit_linux_syn_bytes(void)
{
	struct ptcp_endpoint s, d;
	struct ptcp_segment seg;
	uint8_t b[64];

	/* Rebuild syn4 from its meaning: byte-exact, checksum included. */
	memset(&seg, 0, sizeof(seg));
	seg.sport = 40000;
	seg.dport = 443;
	seg.seq = 0x1a2b3c4d;
	seg.flags = PTCP_TH_SYN;
	seg.wnd = 64240;
	seg.opt.has_mss = true;
	seg.opt.mss = 1460;
	seg.opt.sack_permitted = true;
	seg.opt.has_ts = true;
	seg.opt.ts_val = 691231;
	seg.opt.has_wscale = true;
	seg.opt.wscale = 7;
	syn4_eps(&s, &d);
	CHECK_EQ(ptcp_segment_header_len(&seg), 40);
	memset(b, 0xaa, sizeof(b));
	CHECK_INT(ptcp_segment_emit(&seg, b, sizeof(b), &s, &d), 40);
	CHECK(memcmp(b, syn4, 40) == 0);
	CHECK_EQ(b[40], 0xaa); /* nothing written past the segment */

	/* Without addresses the checksum field is zero. */
	CHECK_INT(ptcp_segment_emit(&seg, b, sizeof(b), NULL, NULL), 40);
	CHECK_EQ(b[16], 0);
	CHECK_EQ(b[17], 0);
	CHECK(memcmp(b + 18, syn4 + 18, 22) == 0);
}

static void test_emit_option_layouts(void)
{
	struct ptcp_segment seg;
	uint8_t b[64];

	/* SYN with SACK-permitted but no timestamps: NOP NOP before it. */
	memset(&seg, 0, sizeof(seg));
	seg.flags = PTCP_TH_SYN;
	seg.opt.has_mss = true;
	seg.opt.mss = 1460;
	seg.opt.sack_permitted = true;
	seg.opt.has_wscale = true;
	seg.opt.wscale = 7;
	{
		const uint8_t want[] = { 2, 4, 5, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7 };

		CHECK_INT(ptcp_segment_emit(&seg, b, sizeof(b), NULL, NULL), 32);
		CHECK_EQ(b[12], 8 << 4);
		CHECK(memcmp(b + 20, want, sizeof(want)) == 0);
	}
	/* SYN with timestamps but no SACK-permitted. */
	seg.opt.sack_permitted = false;
	seg.opt.has_ts = true;
	seg.opt.ts_val = 0x01020304;
	seg.opt.ts_ecr = 0x05060708;
	{
		const uint8_t want[] = { 2, 4, 5, 0xb4, 1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 3, 3, 7 };

		CHECK_INT(ptcp_segment_emit(&seg, b, sizeof(b), NULL, NULL), 40);
		CHECK(memcmp(b + 20, want, sizeof(want)) == 0);
	}
	/* An ACK with timestamps and two SACK blocks, as Linux sends it. */
	memset(&seg, 0, sizeof(seg));
	seg.flags = PTCP_TH_ACK;
	seg.opt.has_ts = true;
	seg.opt.ts_val = 9;
	seg.opt.ts_ecr = 10;
	seg.opt.sack_count = 2;
	seg.opt.sack[0] = (struct ptcp_sack_block){ 0x11111111, 0x22222222 };
	seg.opt.sack[1] = (struct ptcp_sack_block){ 0x33333333, 0x44444444 };
	{
		const uint8_t want[] = { 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 10,
					 1, 1, 5, 18, 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22,
					 0x33, 0x33, 0x33, 0x33, 0x44, 0x44, 0x44, 0x44 };

		CHECK_INT(ptcp_segment_emit(&seg, b, sizeof(b), NULL, NULL), 52);
		CHECK_EQ(b[12], 13 << 4);
		CHECK_EQ(b[13], PTCP_TH_ACK);
		CHECK(memcmp(b + 20, want, sizeof(want)) == 0);
	}
	/* No options: a bare 20-byte header. */
	memset(&seg, 0, sizeof(seg));
	seg.flags = PTCP_TH_RST;
	CHECK_EQ(ptcp_segment_header_len(&seg), 20);
	CHECK_INT(ptcp_segment_emit(&seg, b, 20, NULL, NULL), 20);
	CHECK_EQ(b[12], 5 << 4);
}

static void test_emit_sack_truncation(void)
{
	struct ptcp_segment seg, back;
	uint8_t b[80];

	memset(&seg, 0, sizeof(seg));
	seg.flags = PTCP_TH_ACK;
	for (int i = 0; i < 4; i++)
		seg.opt.sack[i] = (struct ptcp_sack_block){ (ptcp_seq)(1000 * i + 1), (ptcp_seq)(1000 * i + 500) };
	seg.opt.sack_count = 4;

	/* Four blocks alone fit: 2 NOPs + 2 + 32 = 36 bytes. */
	CHECK_EQ(ptcp_segment_header_len(&seg), 56);
	CHECK_INT(ptcp_segment_emit(&seg, b, sizeof(b), NULL, NULL), 56);
	CHECK_INT(ptcp_segment_parse(&back, b, 56, NULL, NULL), 0);
	CHECK_EQ(back.opt.sack_count, 4);

	/* With timestamps only three fit (12 + 4 + 24 = 40), as in Linux. */
	seg.opt.has_ts = true;
	seg.opt.ts_val = 77;
	CHECK_EQ(ptcp_segment_header_len(&seg), 60);
	CHECK_INT(ptcp_segment_emit(&seg, b, sizeof(b), NULL, NULL), 60);
	CHECK_INT(ptcp_segment_parse(&back, b, 60, NULL, NULL), 0);
	CHECK_EQ(back.opt.sack_count, 3);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(back.opt.sack[i].left, seg.opt.sack[i].left);
		CHECK_EQ(back.opt.sack[i].right, seg.opt.sack[i].right);
	}
	CHECK(back.opt.has_ts);
	CHECK_EQ(back.opt.ts_val, 77);

	/* Every SYN option plus SACK: 20 bytes of options leave room for two. */
	seg.opt.has_mss = true;
	seg.opt.sack_permitted = true;
	seg.opt.has_wscale = true;
	CHECK_EQ(ptcp_segment_header_len(&seg), 60);
	CHECK_INT(ptcp_segment_emit(&seg, b, sizeof(b), NULL, NULL), 60);
	CHECK_INT(ptcp_segment_parse(&back, b, 60, NULL, NULL), 0);
	CHECK_EQ(back.opt.sack_count, 2);
	CHECK(back.opt.has_mss && back.opt.sack_permitted && back.opt.has_wscale && back.opt.has_ts);

	/* A count above PTCP_SACK_MAX is clamped, never read past sack[]. */
	memset(&seg.opt, 0, sizeof(seg.opt));
	seg.opt.sack_count = 200;
	CHECK_EQ(ptcp_segment_header_len(&seg), 56);
}

/* A segment the aligned layout cannot hold but the parser accepts: MSS,
 * timestamps and three SACK blocks in exactly 40 bytes (the aligned form
 * would need 44). Emit falls back to the compact layout and loses nothing. */
static void test_emit_compact_fallback(void)
{
	const uint8_t o[40] = {
		2, 4, 0x05, 0xb4,
		8, 10, 0, 0, 0, 1, 0, 0, 0, 2,
		5, 26, 0, 0, 0, 10, 0, 0, 0, 20, 0, 0, 0, 30, 0, 0, 0, 40,
		0, 0, 0, 50, 0, 0, 0, 60,
	};
	uint8_t in[60], out[64];
	struct ptcp_segment a, b;
	int n;

	bare(in, 15);
	memcpy(in + 20, o, sizeof(o));
	CHECK_INT(ptcp_segment_parse(&a, in, sizeof(in), NULL, NULL), 0);
	CHECK_EQ(a.opt.sack_count, 3);
	CHECK_EQ(a.opt.sack[2].right, 60);
	CHECK_EQ(ptcp_segment_header_len(&a), 60);
	n = ptcp_segment_emit(&a, out, sizeof(out), NULL, NULL);
	CHECK_INT(n, 60);
	/* Compact: the options follow each other with no NOP between. */
	CHECK(memcmp(out + 20, o, sizeof(o)) == 0);
	CHECK_INT(ptcp_segment_parse(&b, out, (size_t)n, NULL, NULL), 0);
	check_same(&a, &b);
}

static void test_emit_nobuf(void)
{
	struct ptcp_endpoint s, d;
	struct ptcp_segment seg;
	uint8_t data[10] = "0123456789";
	int n;

	memset(&seg, 0, sizeof(seg));
	seg.flags = PTCP_TH_ACK | PTCP_TH_PSH;
	seg.opt.has_ts = true;
	seg.payload = data;
	seg.len = sizeof(data);
	syn4_eps(&s, &d);
	/* Each cap in its own exact-size block: ASan catches any write past. */
	for (size_t cap = 0; cap < 42; cap++) {
		uint8_t *b = malloc(cap ? cap : 1);

		CHECK_INT(ptcp_segment_emit(&seg, b, cap, &s, &d), PTCP_ERR_NOBUF);
		free(b);
	}
	{
		uint8_t *b = malloc(42);

		n = ptcp_segment_emit(&seg, b, 42, &s, &d);
		CHECK_INT(n, 42);
		CHECK(memcmp(b + 32, data, 10) == 0);
		free(b);
	}
	/* A payload length with no payload is refused. */
	seg.payload = NULL;
	{
		uint8_t b[64];

		CHECK_INT(ptcp_segment_emit(&seg, b, sizeof(b), NULL, NULL), PTCP_ERR_INVAL);
	}
}

/* Emit then parse gives back the same struct, for every kind of segment,
 * with and without the checksum, over IPv4 and IPv6. */
static void test_round_trips(void)
{
	static uint8_t payload[1460];
	struct ptcp_segment t[8];
	struct ptcp_endpoint s4, d4, s6, d6;
	size_t nt = 0;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i ^ (i >> 8));
	memset(t, 0, sizeof(t));
	/* SYN, every option. */
	t[nt].sport = 40000; t[nt].dport = 443; t[nt].seq = 0xfffffff0u;
	t[nt].flags = PTCP_TH_SYN; t[nt].wnd = 64240;
	t[nt].opt.has_mss = true; t[nt].opt.mss = 1460;
	t[nt].opt.sack_permitted = true;
	t[nt].opt.has_ts = true; t[nt].opt.ts_val = 0xdeadbeef;
	t[nt].opt.has_wscale = true; t[nt].opt.wscale = 14;
	nt++;
	/* SYN-ACK without timestamps. */
	t[nt].sport = 443; t[nt].dport = 40000; t[nt].seq = 7; t[nt].ack = 0xfffffff1u;
	t[nt].flags = PTCP_TH_SYN | PTCP_TH_ACK; t[nt].wnd = 65535;
	t[nt].opt.has_mss = true; t[nt].opt.mss = 1400;
	t[nt].opt.sack_permitted = true;
	t[nt].opt.has_wscale = true; t[nt].opt.wscale = 0;
	nt++;
	/* Full-sized data segment. */
	t[nt].sport = 1; t[nt].dport = 65535; t[nt].seq = 8; t[nt].ack = 1;
	t[nt].flags = PTCP_TH_ACK | PTCP_TH_PSH; t[nt].wnd = 502;
	t[nt].opt.has_ts = true; t[nt].opt.ts_val = 1; t[nt].opt.ts_ecr = 2;
	t[nt].payload = payload; t[nt].len = sizeof(payload);
	nt++;
	/* Odd-length data with urgent pointer and ECN flags. */
	t[nt].sport = 5; t[nt].dport = 6; t[nt].seq = 0x80000000u; t[nt].ack = 0x7fffffffu;
	t[nt].flags = PTCP_TH_ACK | PTCP_TH_URG | PTCP_TH_ECE | PTCP_TH_CWR; t[nt].urg = 3;
	t[nt].payload = payload + 1; t[nt].len = 7;
	nt++;
	/* Duplicate ACK with four SACK blocks. */
	t[nt].flags = PTCP_TH_ACK; t[nt].ack = 100; t[nt].wnd = 1;
	t[nt].opt.sack_count = 4;
	for (int i = 0; i < 4; i++)
		t[nt].opt.sack[i] = (struct ptcp_sack_block){ (ptcp_seq)(200 + 100 * i), (ptcp_seq)(250 + 100 * i) };
	nt++;
	/* FIN-ACK. */
	t[nt].flags = PTCP_TH_FIN | PTCP_TH_ACK; t[nt].seq = 10; t[nt].ack = 20;
	nt++;
	/* RST, no options. */
	t[nt].flags = PTCP_TH_RST; t[nt].seq = 0xffffffffu;
	nt++;
	/* No flags at all. */
	nt++;

	ptcp_endpoint_ipv4(&s4, 0x0a000001, 1);
	ptcp_endpoint_ipv4(&d4, 0x0a000002, 2);
	ep6(&s6, "20010db8000000000000000000000001", 1);
	ep6(&d6, "20010db8ffffffffffffffffffffffff", 2);
	for (size_t i = 0; i < nt; i++) {
		const struct ptcp_endpoint *src[3] = { NULL, &s4, &s6 };
		const struct ptcp_endpoint *dst[3] = { NULL, &d4, &d6 };

		for (int f = 0; f < 3; f++) {
			static uint8_t wire[1600];
			struct ptcp_segment back;
			int n = ptcp_segment_emit(&t[i], wire, sizeof(wire), src[f], dst[f]);

			CHECK_INT(n, (int)(ptcp_segment_header_len(&t[i]) + t[i].len));
			CHECK_INT(ptcp_segment_parse(&back, wire, (size_t)n, src[f], dst[f]), 0);
			check_same(&t[i], &back);
			if (f) /* a checksummed segment also verifies naively */
				CHECK_EQ(f == 1 ? naive_tcp4(s4.addr, d4.addr, wire, (size_t)n)
						: naive_tcp6(s6.addr, d6.addr, wire, (size_t)n), 0);
		}
		if (check_failed()) {
			fprintf(stderr, "  (round trip %zu)\n", i);
			return;
		}
	}
}

/* --- format ----------------------------------------------------------------- */

static void test_format(void)
{
	struct ptcp_segment seg;
	char buf[200];

	memset(&seg, 0, sizeof(seg));
	seg.flags = PTCP_TH_SYN | PTCP_TH_ACK;
	seg.seq = 100;
	seg.ack = 201;
	seg.wnd = 65535;
	seg.opt.has_mss = true;
	seg.opt.mss = 1460;
	seg.opt.has_wscale = true;
	seg.opt.wscale = 7;
	CHECK(strcmp(ptcp_segment_format(&seg, buf, sizeof(buf)),
		     "[S.] seq 100 ack 201 win 65535 len 0 <mss 1460,ws 7>") == 0);

	memset(&seg, 0, sizeof(seg));
	seg.flags = PTCP_TH_FIN | PTCP_TH_PSH | PTCP_TH_ACK;
	seg.seq = 4294967295u;
	seg.ack = 1;
	seg.wnd = 3;
	seg.len = 12;
	seg.opt.has_ts = true;
	seg.opt.ts_val = 5;
	seg.opt.ts_ecr = 6;
	seg.opt.sack_count = 2;
	seg.opt.sack[0] = (struct ptcp_sack_block){ 10, 20 };
	seg.opt.sack[1] = (struct ptcp_sack_block){ 30, 40 };
	ptcp_segment_format(&seg, buf, sizeof(buf));
	CHECK(strcmp(buf, "[FP.] seq 4294967295 ack 1 win 3 len 12 "
			  "<TS val 5 ecr 6,sack 2 {10:20}{30:40}>") == 0);

	memset(&seg, 0, sizeof(seg));
	ptcp_segment_format(&seg, buf, sizeof(buf));
	CHECK(strcmp(buf, "[none] seq 0 win 0 len 0") == 0);
	seg.flags = PTCP_TH_RST;
	ptcp_segment_format(&seg, buf, sizeof(buf));
	CHECK(strcmp(buf, "[R] seq 0 win 0 len 0") == 0);

	/* Truncation: always a terminated prefix; cap 0 writes nothing. */
	memset(buf, 'x', sizeof(buf));
	ptcp_segment_format(&seg, buf, 5);
	CHECK(strcmp(buf, "[R] ") == 0);
	CHECK_EQ(buf[5], 'x');
	ptcp_segment_format(&seg, buf, 1);
	CHECK_EQ(buf[0], '\0');
	buf[0] = 'x';
	ptcp_segment_format(&seg, buf, 0);
	CHECK_EQ(buf[0], 'x');
}

/* --- endpoints -------------------------------------------------------------- */

static void test_endpoint_ipv4(void)
{
	struct ptcp_endpoint a, b;
	char buf[48];

	ptcp_endpoint_ipv4(&a, 0x0a000001, 4000);
	CHECK_EQ(a.family, PTCP_AF_INET);
	CHECK_EQ(a.addr[0], 10);
	CHECK_EQ(a.addr[3], 1);
	CHECK_EQ(a.port, 4000);
	CHECK(strcmp(ptcp_endpoint_format(&a, buf, sizeof(buf)), "10.0.0.1:4000") == 0);
	ptcp_endpoint_ipv4(&b, 0xffffffff, 65535);
	CHECK(strcmp(ptcp_endpoint_format(&b, buf, sizeof(buf)), "255.255.255.255:65535") == 0);

	CHECK(!ptcp_endpoint_equal(&a, &b));
	ptcp_endpoint_ipv4(&b, 0x0a000001, 4000);
	CHECK(ptcp_endpoint_equal(&a, &b));
	b.addr[10] = 9; /* beyond the IPv4 bytes: ignored */
	CHECK(ptcp_endpoint_equal(&a, &b));
	b.port = 4001;
	CHECK(!ptcp_endpoint_equal(&a, &b));
	b.port = 4000;
	b.addr[3] = 2;
	CHECK(!ptcp_endpoint_equal(&a, &b));
	b.addr[3] = 1;
	b.family = PTCP_AF_INET6;
	CHECK(!ptcp_endpoint_equal(&a, &b));

	memset(buf, 'x', sizeof(buf));
	ptcp_endpoint_format(&a, buf, 5);
	CHECK(strcmp(buf, "10.0") == 0);
	memset(&a, 0, sizeof(a));
	CHECK(strcmp(ptcp_endpoint_format(&a, buf, sizeof(buf)), "*:0") == 0);
}

static void test_endpoint_ipv6(void)
{
	static const struct {
		const char *hex, *want;
	} t[] = {
		{ "20010db8000000000000000000000001", "[2001:db8::1]:80" },
		{ "00000000000000000000000000000000", "[::]:80" },
		{ "00000000000000000000000000000001", "[::1]:80" },
		{ "fe800000000000000000000000000000", "[fe80::]:80" },
		{ "00010000000000020000000000000003", "[1:0:0:2::3]:80" },
		{ "00010000000200000000000000030000", "[1:0:2::3:0]:80" },
		{ "20010db8000100020003000400050006", "[2001:db8:1:2:3:4:5:6]:80" },
		{ "20010db8000000010001000100010001", "[2001:db8:0:1:1:1:1:1]:80" },
		{ "00010000000000020000000000030004", "[1::2:0:0:3:4]:80" },
		{ "ffffffffffffffffffffffffffffffff", "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:80" },
		{ "00000000000000000000ffffc0000201", "[::ffff:192.0.2.1]:80" },
	};
	struct ptcp_endpoint a, b;
	char buf[48];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ep6(&a, t[i].hex, 80);
		ptcp_endpoint_format(&a, buf, sizeof(buf));
		if (strcmp(buf, t[i].want) != 0)
			check_fail(__FILE__, __LINE__, "%s: got %s", t[i].want, buf);
	}
	/* The longest form with the longest port fits in 48 bytes. */
	ep6(&a, "ffffffffffffffffffffffffffffffff", 65535);
	ptcp_endpoint_format(&a, buf, sizeof(buf));
	CHECK_EQ(strlen(buf), 47);
	ep6(&b, "ffffffffffffffffffffffffffffffff", 65535);
	CHECK(ptcp_endpoint_equal(&a, &b));
	b.addr[15] = 0xfe; /* IPv6 compares all 16 bytes */
	CHECK(!ptcp_endpoint_equal(&a, &b));
}

int main(void)
{
	RUN(test_checksum_known_ipv4_syn);
	RUN(test_checksum_known_ipv6_odd);
	RUN(test_checksum_matches_naive);
	RUN(test_checksum_all_ones);
	RUN(test_parse_known_syn);
	RUN(test_parse_ipv6_data);
	RUN(test_parse_family_mismatch);
	RUN(test_parse_short_lengths);
	RUN(test_parse_bad_offset);
	RUN(test_parse_bad_options);
	RUN(test_parse_sack_lengths);
	RUN(test_parse_option_edges);
	RUN(test_parse_every_prefix);
	RUN(test_emit_linux_syn_bytes);
	RUN(test_emit_option_layouts);
	RUN(test_emit_sack_truncation);
	RUN(test_emit_compact_fallback);
	RUN(test_emit_nobuf);
	RUN(test_round_trips);
	RUN(test_format);
	RUN(test_endpoint_ipv4);
	RUN(test_endpoint_ipv6);
	return check_summary();
}
