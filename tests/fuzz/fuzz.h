/* What the libFuzzer targets share: an invariant that aborts, and a reader
 * of the input as a program. Reading past the end gives zeros, so every
 * input is a valid program. */
#ifndef PTCP_FUZZ_H
#define PTCP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "segment.h"

#define REQUIRE(cond)                                                              \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
				__LINE__, #cond);                                  \
			abort();                                                   \
		}                                                                  \
	} while (0)

struct reader {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t u8(struct reader *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static inline uint16_t u16(struct reader *r)
{
	uint16_t hi = u8(r);

	return (uint16_t)(hi << 8 | u8(r));
}

static inline uint32_t u32(struct reader *r)
{
	uint32_t hi = u16(r);

	return hi << 16 | u16(r);
}

/* Puts the right checksum for src -> dst into the TCP header in
 * wire[0..len) (nothing if it is shorter than a header). */
static inline void fuzz_fix_checksum(uint8_t *wire, size_t len, const struct ptcp_endpoint *src,
                                     const struct ptcp_endpoint *dst)
{
	uint16_t sum;

	if (len < PTCP_TCP_HDR_MIN)
		return;
	wire[16] = wire[17] = 0;
	sum = ptcp_tcp_checksum(src, dst, wire, len);
	wire[16] = (uint8_t)(sum >> 8);
	wire[17] = (uint8_t)sum;
}

#endif
