/* SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012) and RFC 6528 initial sequence numbers. */
#include "isn.h"

#include <string.h>

static uint64_t rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

/* SipHash reads its key and message as little-endian words on every host. */
static uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* One SipRound (paper, section 2.1). */
static void sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13);
	v[1] ^= v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17);
	v[1] ^= v[2];
	v[2] = rotl(v[2], 32);
}

uint64_t ptcp_siphash24(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
	uint64_t v[4] = {
		k0 ^ 0x736f6d6570736575ULL, /* "somepseu" */
		k1 ^ 0x646f72616e646f6dULL, /* "dorandom" */
		k0 ^ 0x6c7967656e657261ULL, /* "lygenera" */
		k1 ^ 0x7465646279746573ULL, /* "tedbytes" */
	};
	uint64_t m;
	size_t left;

	/* Compression: c = 2 rounds per 8-byte word. */
	for (left = len; left >= 8; left -= 8, p += 8) {
		m = load_le64(p);
		v[3] ^= m;
		sipround(v);
		sipround(v);
		v[0] ^= m;
	}
	/* The last word holds the remaining bytes and len mod 256 in its top
	 * byte. */
	m = (uint64_t)(len & 0xff) << 56;
	for (size_t i = 0; i < left; i++)
		m |= (uint64_t)p[i] << (8 * i);
	v[3] ^= m;
	sipround(v);
	sipround(v);
	v[0] ^= m;

	/* Finalization: d = 4 rounds. */
	v[2] ^= 0xff;
	sipround(v);
	sipround(v);
	sipround(v);
	sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* Appends the family, address and port of ep to msg at *n. */
static void put_endpoint(uint8_t *msg, size_t *n, const struct ptcp_endpoint *ep)
{
	size_t alen = ep->family == PTCP_AF_INET ? 4 : 16;

	msg[(*n)++] = ep->family;
	memcpy(msg + *n, ep->addr, alen);
	*n += alen;
	msg[(*n)++] = (uint8_t)(ep->port >> 8);
	msg[(*n)++] = (uint8_t)ep->port;
}

uint64_t ptcp_tuple_hash(const uint8_t key[16], const struct ptcp_endpoint *local,
                         const struct ptcp_endpoint *remote)
{
	uint8_t msg[2 * (1 + 16 + 2)];
	size_t n = 0;

	put_endpoint(msg, &n, local);
	put_endpoint(msg, &n, remote);
	return ptcp_siphash24(key, msg, n);
}

uint32_t ptcp_isn_generate(const uint8_t key[16], const struct ptcp_endpoint *local,
                           const struct ptcp_endpoint *remote, ptcp_ts now)
{
	uint32_t m, f;

	/* RFC 6528 section 3: ISN = M + F(localip, localport, remoteip,
	 * remoteport, secretkey), M a timer ticking every 4 microseconds,
	 * F a PRF (SipHash here, rather than the MD5 the RFC gives as an
	 * example). Both are taken modulo 2^32. */
	m = (uint32_t)(now / (4 * PTCP_NS_PER_US));
	f = (uint32_t)ptcp_tuple_hash(key, local, remote);
	return m + f;
}
