#include "pacer.h"

/* ns that bytes take at rate (bytes per second, > 0). */
static uint64_t duration(uint64_t bytes, uint64_t rate)
{
	return bytes * PTCP_NS_PER_S / rate;
}

void ptcp_pacer_sent(struct ptcp_pacer *p, uint32_t len, uint64_t rate, uint32_t quantum,
                     ptcp_ts now)
{
	ptcp_ts base = p->next;
	uint64_t credit;

	if (rate == 0)
		return;
	/* Credit of at most a quantum, this segment included: after a
	 * pause, quantum bytes leave at once and the next waits. */
	credit = quantum > len ? duration(quantum - len, rate) : 0;
	if (ptcp_ts_add(base, credit) < now)
		base = now - credit;
	p->next = ptcp_ts_add(base, duration(len, rate));
}
