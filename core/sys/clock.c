#include <time.h>

#include "clock.h"

static uint64_t read_clock(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * PTCP_NS_PER_S + (uint64_t)ts.tv_nsec;
}

ptcp_ts ptcp_clock_now(void)
{
	return read_clock(CLOCK_MONOTONIC);
}

uint64_t ptcp_clock_wall(void)
{
	return read_clock(CLOCK_REALTIME);
}
