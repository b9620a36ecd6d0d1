/* Tests of SipHash-2-4 and of RFC 6528 initial sequence numbers (isn.c). */
#include <string.h>

#include "check.h"
#include "isn.h"

/* SipHash-2-4 with key 00 01 .. 0f of the messages 00 01 .. (n-1), n = 0..63:
 * the reference vectors of the SipHash paper (Appendix A gives n = 15) and
 * its reference implementation's vectors.h, read as little-endian words.
 * Cross-checked against OpenSSL 3 ("openssl mac -macopt size:8 SIPHASH"). */
static const uint64_t vectors[64] = {
	0x726fdb47dd0e0e31ULL, /* 0 */
	0x74f839c593dc67fdULL, /* 1 */
	0x0d6c8009d9a94f5aULL, /* 2 */
	0x85676696d7fb7e2dULL, /* 3 */
	0xcf2794e0277187b7ULL, /* 4 */
	0x18765564cd99a68dULL, /* 5 */
	0xcbc9466e58fee3ceULL, /* 6 */
	0xab0200f58b01d137ULL, /* 7 */
	0x93f5f5799a932462ULL, /* 8 */
	0x9e0082df0ba9e4b0ULL, /* 9 */
	0x7a5dbbc594ddb9f3ULL, /* 10 */
	0xf4b32f46226bada7ULL, /* 11 */
	0x751e8fbc860ee5fbULL, /* 12 */
	0x14ea5627c0843d90ULL, /* 13 */
	0xf723ca908e7af2eeULL, /* 14 */
	0xa129ca6149be45e5ULL, /* 15 */
	0x3f2acc7f57c29bdbULL, /* 16 */
	0x699ae9f52cbe4794ULL, /* 17 */
	0x4bc1b3f0968dd39cULL, /* 18 */
	0xbb6dc91da77961bdULL, /* 19 */
	0xbed65cf21aa2ee98ULL, /* 20 */
	0xd0f2cbb02e3b67c7ULL, /* 21 */
	0x93536795e3a33e88ULL, /* 22 */
	0xa80c038ccd5ccec8ULL, /* 23 */
	0xb8ad50c6f649af94ULL, /* 24 */
	0xbce192de8a85b8eaULL, /* 25 */
	0x17d835b85bbb15f3ULL, /* 26 */
	0x2f2e6163076bcfadULL, /* 27 */
	0xde4daaaca71dc9a5ULL, /* 28 */
	0xa6a2506687956571ULL, /* 29 */
	0xad87a3535c49ef28ULL, /* 30 */
	0x32d892fad841c342ULL, /* 31 */
	0x7127512f72f27cceULL, /* 32 */
	0xa7f32346f95978e3ULL, /* 33 */
	0x12e0b01abb051238ULL, /* 34 */
	0x15e034d40fa197aeULL, /* 35 */
	0x314dffbe0815a3b4ULL, /* 36 */
	0x027990f029623981ULL, /* 37 */
	0xcadcd4e59ef40c4dULL, /* 38 */
	0x9abfd8766a33735cULL, /* 39 */
	0x0e3ea96b5304a7d0ULL, /* 40 */
	0xad0c42d6fc585992ULL, /* 41 */
	0x187306c89bc215a9ULL, /* 42 */
	0xd4a60abcf3792b95ULL, /* 43 */
	0xf935451de4f21df2ULL, /* 44 */
	0xa9538f0419755787ULL, /* 45 */
	0xdb9acddff56ca510ULL, /* 46 */
	0xd06c98cd5c0975ebULL, /* 47 */
	0xe612a3cb9ecba951ULL, /* 48 */
	0xc766e62cfcadaf96ULL, /* 49 */
	0xee64435a9752fe72ULL, /* 50 */
	0xa192d576b245165aULL, /* 51 */
	0x0a8787bf8ecb74b2ULL, /* 52 */
	0x81b3e73d20b49b6fULL, /* 53 */
	0x7fa8220ba3b2eceaULL, /* 54 */
	0x245731c13ca42499ULL, /* 55 */
	0xb78dbfaf3a8d83bdULL, /* 56 */
	0xea1ad565322a1a0bULL, /* 57 */
	0x60e61c23a3795013ULL, /* 58 */
	0x6606d7e446282b93ULL, /* 59 */
	0x6ca4ecb15c5f91e1ULL, /* 60 */
	0x9f626da15c9625f3ULL, /* 61 */
	0xe51b38608ef25f57ULL, /* 62 */
	0x958a324ceb064572ULL, /* 63 */
};

static const uint8_t key00[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

static void test_siphash_vectors(void)
{
	uint8_t msg[64];

	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	for (size_t n = 0; n < 64; n++) {
		uint64_t h = ptcp_siphash24(key00, msg, n);

		if (h != vectors[n])
			check_fail(__FILE__, __LINE__, "length %zu: %016llx != %016llx", n,
				   (unsigned long long)h, (unsigned long long)vectors[n]);
	}
	/* The paper's worked example, spelled out. */
	CHECK_EQ(ptcp_siphash24(key00, msg, 15), 0xa129ca6149be45e5ULL);
	CHECK_EQ(ptcp_siphash24(key00, NULL, 0), 0x726fdb47dd0e0e31ULL);
}

/* The message need not be aligned. */
static void test_siphash_unaligned(void)
{
	uint8_t buf[80];

	for (size_t off = 1; off < 8; off++) {
		for (int i = 0; i < 63; i++)
			buf[off + (size_t)i] = (uint8_t)i;
		CHECK_EQ(ptcp_siphash24(key00, buf + off, 63), vectors[63]);
		CHECK_EQ(ptcp_siphash24(key00, buf + off, 8), vectors[8]);
	}
}

/* Messages longer than 255 bytes, where only len mod 256 enters the last
 * word; message bytes i mod 256. Values from OpenSSL 3 as above. */
static void test_siphash_long(void)
{
	static const struct {
		size_t n;
		uint64_t h;
	} t[] = {
		{ 200, 0x10849fe512591651ULL },
		{ 256, 0x999d0526d2a7bfd7ULL },
		{ 1000, 0xdb9b3ed69e31c9a6ULL },
	};
	uint8_t msg[1000];

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK_EQ(ptcp_siphash24(key00, msg, t[i].n), t[i].h);
}

static void test_siphash_key_matters(void)
{
	uint8_t k[16];

	memcpy(k, key00, 16);
	k[15] ^= 1;
	CHECK(ptcp_siphash24(k, "", 0) != vectors[0]);
	k[15] ^= 1;
	k[0] ^= 0x80;
	CHECK(ptcp_siphash24(k, "", 0) != vectors[0]);
}

static void pair4(struct ptcp_endpoint *l, struct ptcp_endpoint *r)
{
	ptcp_endpoint_ipv4(l, 0xc0000201, 40000);
	ptcp_endpoint_ipv4(r, 0xc6336402, 443);
}

/* M ticks once every 4 microseconds (RFC 6528 section 3). */
static void test_isn_clock(void)
{
	struct ptcp_endpoint l, r;
	uint32_t base;

	pair4(&l, &r);
	base = ptcp_isn_generate(key00, &l, &r, 0);
	CHECK_EQ(ptcp_isn_generate(key00, &l, &r, 0), base);
	CHECK_EQ(ptcp_isn_generate(key00, &l, &r, 3999), base);
	CHECK_EQ(ptcp_isn_generate(key00, &l, &r, 4000), base + 1);
	CHECK_EQ(ptcp_isn_generate(key00, &l, &r, 7999), base + 1);
	CHECK_EQ(ptcp_isn_generate(key00, &l, &r, PTCP_NS_PER_S), base + 250000);
	/* M wraps modulo 2^32 after 4 us * 2^32, about 4.77 hours. */
	CHECK_EQ(ptcp_isn_generate(key00, &l, &r, 4000ULL << 32), base);
	CHECK_EQ(ptcp_isn_generate(key00, &l, &r, (4000ULL << 32) + 4000 * 5), base + 5);
	for (uint64_t t = 1; t < (1ULL << 60); t = t * 3 + 17)
		CHECK_EQ(ptcp_isn_generate(key00, &l, &r, t), (uint32_t)(base + t / 4000));
}

/* F depends on every part of the 4-tuple and on the key. */
static void test_isn_tuple(void)
{
	struct ptcp_endpoint l, r, l2;
	uint8_t k[16];
	uint32_t base;

	pair4(&l, &r);
	base = ptcp_isn_generate(key00, &l, &r, 123456789);
	l2 = l;
	l2.port++;
	CHECK(ptcp_isn_generate(key00, &l2, &r, 123456789) != base);
	l2 = l;
	l2.addr[3] ^= 1;
	CHECK(ptcp_isn_generate(key00, &l2, &r, 123456789) != base);
	l2 = r;
	l2.port = 444;
	CHECK(ptcp_isn_generate(key00, &l, &l2, 123456789) != base);
	/* The two directions of a connection get unrelated ISNs. */
	CHECK(ptcp_isn_generate(key00, &r, &l, 123456789) != base);
	memcpy(k, key00, 16);
	k[7] ^= 0x40;
	CHECK(ptcp_isn_generate(k, &l, &r, 123456789) != base);
	/* Bytes beyond an IPv4 address do not take part. */
	l2 = l;
	l2.addr[12] = 0x55;
	CHECK_EQ(ptcp_isn_generate(key00, &l2, &r, 123456789), base);
}

static void test_isn_ipv6(void)
{
	struct ptcp_endpoint l, r, l4, r4;
	uint32_t base;

	memset(&l, 0, sizeof(l));
	memset(&r, 0, sizeof(r));
	l.family = r.family = PTCP_AF_INET6;
	l.addr[0] = r.addr[0] = 0x20;
	l.addr[1] = r.addr[1] = 0x01;
	l.addr[15] = 1;
	r.addr[15] = 2;
	l.port = 1000;
	r.port = 2000;
	base = ptcp_isn_generate(key00, &l, &r, 0);
	CHECK_EQ(ptcp_isn_generate(key00, &l, &r, 40000), base + 10);
	r.addr[8] = 1; /* a byte in the middle of the address */
	CHECK(ptcp_isn_generate(key00, &l, &r, 0) != base);

	/* An IPv6 tuple and an IPv4 one with the same leading bytes differ. */
	memcpy(&l4, &l, sizeof(l4));
	memcpy(&r4, &r, sizeof(r4));
	l4.family = r4.family = PTCP_AF_INET;
	CHECK(ptcp_isn_generate(key00, &l4, &r4, 0) != ptcp_isn_generate(key00, &l, &r, 0));
}

/* Over many tuples the ISNs look uniform: each of 16 buckets of the top
 * four bits gets a fair share (a loose bound; a broken F that ignores the
 * tuple puts everything in one bucket). */
static void test_isn_spread(void)
{
	struct ptcp_endpoint l, r;
	unsigned bucket[16] = { 0 };

	pair4(&l, &r);
	for (unsigned p = 0; p < 1600; p++) {
		l.port = (uint16_t)(10000 + p);
		bucket[ptcp_isn_generate(key00, &l, &r, 0) >> 28]++;
	}
	for (int i = 0; i < 16; i++)
		CHECK(bucket[i] > 50 && bucket[i] < 150);
}

/* The table's 4-tuple hash is F itself: the ISN at time 0 is its low 32
 * bits, so the ISNs computed before it existed stay the same. It covers
 * exactly the bytes that count for the family. */
static void test_tuple_hash(void)
{
	struct ptcp_endpoint l, r, l2;
	uint64_t h;

	pair4(&l, &r);
	h = ptcp_tuple_hash(key00, &l, &r);
	CHECK_EQ((uint32_t)h, ptcp_isn_generate(key00, &l, &r, 0));
	CHECK_EQ(ptcp_tuple_hash(key00, &l, &r), h);
	l2 = l;
	l2.addr[9] = 0x77; /* beyond the IPv4 address */
	CHECK_EQ(ptcp_tuple_hash(key00, &l2, &r), h);
	l2 = r;
	l2.port++;
	CHECK(ptcp_tuple_hash(key00, &l, &l2) != h);
	CHECK(ptcp_tuple_hash(key00, &r, &l) != h);
	l2 = l;
	l2.family = PTCP_AF_INET6;
	r.family = PTCP_AF_INET6;
	CHECK(ptcp_tuple_hash(key00, &l2, &r) != h);
}

int main(void)
{
	RUN(test_siphash_vectors);
	RUN(test_siphash_unaligned);
	RUN(test_siphash_long);
	RUN(test_siphash_key_matters);
	RUN(test_isn_clock);
	RUN(test_isn_tuple);
	RUN(test_isn_ipv6);
	RUN(test_isn_spread);
	RUN(test_tuple_hash);
	return check_summary();
}
