/* Sequence-number arithmetic modulo 2^32 (RFC 9293 section 3.4).
 *
 * Sequence numbers are never compared with < or > directly: every
 * comparison goes through these helpers, which treat the difference as a
 * signed 32-bit value, so they stay correct across the wrap at 2^32 as long
 * as the two numbers are within 2^31 of each other (which the window sizes
 * guarantee). */
#ifndef PTCP_SEQ_H
#define PTCP_SEQ_H

#include <stdbool.h>
#include <stdint.h>

typedef uint32_t ptcp_seq;

static inline int32_t ptcp_seq_diff(ptcp_seq a, ptcp_seq b)
{
	return (int32_t)(a - b);
}

static inline bool ptcp_seq_lt(ptcp_seq a, ptcp_seq b) { return ptcp_seq_diff(a, b) < 0; }
static inline bool ptcp_seq_le(ptcp_seq a, ptcp_seq b) { return ptcp_seq_diff(a, b) <= 0; }
static inline bool ptcp_seq_gt(ptcp_seq a, ptcp_seq b) { return ptcp_seq_diff(a, b) > 0; }
static inline bool ptcp_seq_ge(ptcp_seq a, ptcp_seq b) { return ptcp_seq_diff(a, b) >= 0; }

/* lo <= x < hi, all modulo 2^32. */
static inline bool ptcp_seq_in(ptcp_seq x, ptcp_seq lo, ptcp_seq hi)
{
	return ptcp_seq_le(lo, x) && ptcp_seq_lt(x, hi);
}

static inline ptcp_seq ptcp_seq_max(ptcp_seq a, ptcp_seq b) { return ptcp_seq_ge(a, b) ? a : b; }
static inline ptcp_seq ptcp_seq_min(ptcp_seq a, ptcp_seq b) { return ptcp_seq_le(a, b) ? a : b; }

#endif
