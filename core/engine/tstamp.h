/* Time inside the engine: a uint64_t of monotonic nanoseconds supplied by
 * the caller. The engine never reads a clock. PTCP_TS_NEVER means "no
 * deadline". Arithmetic saturates instead of wrapping. */
#ifndef PTCP_TSTAMP_H
#define PTCP_TSTAMP_H

#include <stdint.h>

typedef uint64_t ptcp_ts;

#define PTCP_TS_NEVER UINT64_MAX
#define PTCP_NS_PER_US 1000ULL
#define PTCP_NS_PER_MS 1000000ULL
#define PTCP_NS_PER_S 1000000000ULL

/* a + d, saturating at PTCP_TS_NEVER. */
static inline ptcp_ts ptcp_ts_add(ptcp_ts a, uint64_t d)
{
	return a > PTCP_TS_NEVER - d ? PTCP_TS_NEVER : a + d;
}

/* now - then, or 0 if then lies in the future. */
static inline uint64_t ptcp_ts_elapsed(ptcp_ts now, ptcp_ts then)
{
	return now > then ? now - then : 0;
}

static inline ptcp_ts ptcp_ts_min(ptcp_ts a, ptcp_ts b) { return a < b ? a : b; }

#endif
