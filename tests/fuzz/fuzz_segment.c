/* libFuzzer target for the segment codec.
 *
 * 1. The input is parsed as a segment without addresses and with IPv4 and
 *    IPv6 ones. Whenever it parses, it is re-emitted (without a checksum,
 *    and over both pseudo-headers) and parsed again: the two structs must
 *    be equal and emitting the re-parsed struct must give the same bytes.
 * 2. The input is also read as the fields of a struct (any SACK count, any
 *    option mix) that is emitted and parsed back: everything must survive
 *    except SACK blocks dropped from the end for lack of room.
 * 3. The word-at-a-time checksum of the input must equal a naive 16-bit
 *    one, at every alignment of the input.
 * Any mismatch aborts, which libFuzzer reports as a crash. Output buffers
 * are heap blocks of exactly the announced size, so ASan sees any write
 * past them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                         \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                              \
		}                                                             \
	} while (0)

static void require_same(const struct ptcp_segment *a, const struct ptcp_segment *b,
                         unsigned sack_count)
{
	REQUIRE(a->sport == b->sport);
	REQUIRE(a->dport == b->dport);
	REQUIRE(a->seq == b->seq);
	REQUIRE(a->ack == b->ack);
	REQUIRE(a->flags == b->flags);
	REQUIRE(a->wnd == b->wnd);
	REQUIRE(a->urg == b->urg);
	REQUIRE(a->opt.has_mss == b->opt.has_mss);
	REQUIRE(!a->opt.has_mss || a->opt.mss == b->opt.mss);
	REQUIRE(a->opt.has_wscale == b->opt.has_wscale);
	REQUIRE(!a->opt.has_wscale || a->opt.wscale == b->opt.wscale);
	REQUIRE(a->opt.sack_permitted == b->opt.sack_permitted);
	REQUIRE(a->opt.has_ts == b->opt.has_ts);
	REQUIRE(!a->opt.has_ts || (a->opt.ts_val == b->opt.ts_val && a->opt.ts_ecr == b->opt.ts_ecr));
	REQUIRE(b->opt.sack_count == sack_count);
	for (unsigned i = 0; i < sack_count; i++) {
		REQUIRE(a->opt.sack[i].left == b->opt.sack[i].left);
		REQUIRE(a->opt.sack[i].right == b->opt.sack[i].right);
	}
	REQUIRE(a->len == b->len);
	REQUIRE(a->len == 0 || memcmp(a->payload, b->payload, a->len) == 0);
}

/* Emits seg into an exact-size heap block; returns it, length in *n. */
static uint8_t *emit(const struct ptcp_segment *seg, const struct ptcp_endpoint *src,
                     const struct ptcp_endpoint *dst, size_t *n)
{
	size_t want = ptcp_segment_header_len(seg) + seg->len;
	uint8_t *buf = malloc(want ? want : 1);
	int rv;

	REQUIRE(buf);
	REQUIRE(want >= PTCP_TCP_HDR_MIN && want - seg->len <= PTCP_TCP_HDR_MAX);
	/* One byte short must be refused without writing. */
	REQUIRE(ptcp_segment_emit(seg, buf, want - 1, src, dst) == PTCP_ERR_NOBUF);
	rv = ptcp_segment_emit(seg, buf, want, src, dst);
	REQUIRE(rv >= 0 && (size_t)rv == want);
	*n = want;
	return buf;
}

/* Emit, parse back, compare; then emit the re-parsed struct and require
 * identical bytes. */
static void round_trip(const struct ptcp_segment *seg, const struct ptcp_endpoint *src,
                       const struct ptcp_endpoint *dst, unsigned sack_expect)
{
	struct ptcp_segment back;
	uint8_t *w1, *w2;
	size_t n1, n2;
	int rv;

	w1 = emit(seg, src, dst, &n1);
	rv = ptcp_segment_parse(&back, w1, n1, src, dst);
	if (rv != 0) {
		fprintf(stderr, "re-parse failed: %s\n", ptcp_strerror(rv));
		abort();
	}
	require_same(seg, &back, sack_expect);
	w2 = emit(&back, src, dst, &n2);
	REQUIRE(n1 == n2 && memcmp(w1, w2, n1) == 0);
	if (src && dst)
		REQUIRE(ptcp_tcp_checksum(src, dst, w1, n1) == 0);
	free(w1);
	free(w2);
}

static void endpoints(struct ptcp_endpoint *s4, struct ptcp_endpoint *d4,
                      struct ptcp_endpoint *s6, struct ptcp_endpoint *d6)
{
	ptcp_endpoint_ipv4(s4, 0xc0000201, 40000);
	ptcp_endpoint_ipv4(d4, 0xc6336402, 443);
	memset(s6, 0, sizeof(*s6));
	memset(d6, 0, sizeof(*d6));
	s6->family = d6->family = PTCP_AF_INET6;
	s6->addr[0] = d6->addr[0] = 0x20;
	s6->addr[1] = d6->addr[1] = 0x01;
	s6->addr[15] = 1;
	d6->addr[15] = 2;
}

/* Part 1: the input as wire bytes. */
static void wire_input(const uint8_t *data, size_t size)
{
	struct ptcp_endpoint s4, d4, s6, d6;
	struct ptcp_segment seg, tmp;
	char line[200];
	int rv, rv4, rv6;

	endpoints(&s4, &d4, &s6, &d6);
	rv = ptcp_segment_parse(&seg, data, size, NULL, NULL);
	rv4 = ptcp_segment_parse(&tmp, data, size, &s4, &d4);
	rv6 = ptcp_segment_parse(&tmp, data, size, &s6, &d6);
	/* A verified checksum changes nothing else about the verdict. */
	if (rv4 == 0 || rv6 == 0)
		REQUIRE(rv == 0);
	/* Length errors come before the checksum. */
	if (rv == PTCP_ERR_TRUNCATED || rv == PTCP_ERR_BAD_OFFSET)
		REQUIRE(rv4 == rv && rv6 == rv);
	if (rv != 0)
		return;
	REQUIRE(seg.payload >= data && seg.payload + seg.len == data + size);
	REQUIRE(seg.opt.sack_count <= PTCP_SACK_MAX);
	ptcp_segment_format(&seg, line, sizeof(line));
	REQUIRE(strlen(line) < sizeof(line));

	/* Every segment that parsed is emitted back with all its options. */
	round_trip(&seg, NULL, NULL, seg.opt.sack_count);
	round_trip(&seg, &s4, &d4, seg.opt.sack_count);
	round_trip(&seg, &s6, &d6, seg.opt.sack_count);
}

/* Part 2: the input as a struct to emit. */
static void struct_input(const uint8_t *data, size_t size)
{
	struct ptcp_endpoint s4, d4, s6, d6;
	struct ptcp_segment seg, back;
	const uint8_t *p = data;
	uint8_t *w;
	size_t n, i;
	unsigned want_sack;

	if (size < 64)
		return;
	endpoints(&s4, &d4, &s6, &d6);
	memset(&seg, 0, sizeof(seg));
	seg.sport = (uint16_t)(p[0] << 8 | p[1]);
	seg.dport = (uint16_t)(p[2] << 8 | p[3]);
	memcpy(&seg.seq, p + 4, 4);
	memcpy(&seg.ack, p + 8, 4);
	seg.flags = p[12];
	seg.wnd = (uint16_t)(p[13] << 8 | p[14]);
	seg.urg = (uint16_t)(p[15] << 8 | p[16]);
	seg.opt.has_mss = p[17] & 1;
	seg.opt.has_wscale = p[17] & 2;
	seg.opt.sack_permitted = p[17] & 4;
	seg.opt.has_ts = p[17] & 8;
	seg.opt.sack_count = p[18]; /* deliberately unbounded */
	seg.opt.mss = (uint16_t)(p[19] << 8 | p[20]);
	seg.opt.wscale = p[21];
	memcpy(&seg.opt.ts_val, p + 22, 4);
	memcpy(&seg.opt.ts_ecr, p + 26, 4);
	memcpy(seg.opt.sack, p + 30, sizeof(seg.opt.sack)); /* 32 bytes */
	seg.payload = p + 62;
	seg.len = size - 62;

	/* How many SACK blocks survive is the emitter's choice; it must be a
	 * prefix of the list, and all of them when the count is small. */
	w = emit(&seg, NULL, NULL, &n);
	REQUIRE(ptcp_segment_parse(&back, w, n, NULL, NULL) == 0);
	want_sack = back.opt.sack_count;
	REQUIRE(want_sack <= (seg.opt.sack_count > PTCP_SACK_MAX ? PTCP_SACK_MAX : seg.opt.sack_count));
	/* Two blocks always fit beside every other option. */
	REQUIRE(want_sack >= (seg.opt.sack_count > 2 ? 2 : seg.opt.sack_count));
	free(w);
	for (i = 0; i < 3; i++) {
		const struct ptcp_endpoint *src = i == 0 ? NULL : i == 1 ? &s4 : &s6;
		const struct ptcp_endpoint *dst = i == 0 ? NULL : i == 1 ? &d4 : &d6;

		round_trip(&seg, src, dst, want_sack);
	}
}

/* RFC 1071 read literally: big-endian 16-bit words, odd byte padded. */
static uint16_t naive_checksum(const uint8_t *p, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Part 3: the checksum against the naive one. */
static void checksum_input(const uint8_t *data, size_t size)
{
	uint16_t want = naive_checksum(data, size);
	uint8_t *copy;

	REQUIRE(ptcp_tcp_checksum(NULL, NULL, data, size) == want);
	/* The same bytes at a start address of each remainder mod 8. */
	copy = malloc(size + 8);
	REQUIRE(copy);
	for (size_t off = 1; off < 8; off++) {
		memcpy(copy + off, data, size);
		REQUIRE(ptcp_tcp_checksum(NULL, NULL, copy + off, size) == want);
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wire_input(data, size);
	struct_input(data, size);
	checksum_input(data, size);
	return 0;
}
