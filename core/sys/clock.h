/* The driver's clock: the monotonic nanoseconds the engine expects as
 * `now`, and wall-clock time where a file format wants it (pcap). */
#ifndef PTCP_CLOCK_H
#define PTCP_CLOCK_H

#include <stdint.h>

#include "tstamp.h"

/* CLOCK_MONOTONIC in nanoseconds. Never fails on Linux; returns 0 if the
 * clock is unavailable. */
ptcp_ts ptcp_clock_now(void);

/* CLOCK_REALTIME in nanoseconds since the Unix epoch (for pcap records). */
uint64_t ptcp_clock_wall(void);

#endif
