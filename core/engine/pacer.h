/* Pacing: data segments leave at a rate instead of in bursts as ACKs open
 * the window (BBR, 4.2.1 of its draft, paces every data segment at its
 * pacing rate). The pacer is a departure time: a segment may leave once
 * the clock has reached it, and each one sent moves it on by its length
 * at the rate. After a pause the time lies in the past and that credit
 * is kept up to one send quantum (4.2.2): so much may leave back to back,
 * which keeps the number of deadlines (and the driver's timer wake-ups)
 * to one per quantum, and no more than that goes out in a burst.
 *
 * Sans-IO like the rest: the caller asks before it sends and reports
 * what it sent; when a segment must wait, ptcp_pacer_next() is the
 * deadline to report. Bytes, bytes per second and nanoseconds. */
#ifndef PTCP_PACER_H
#define PTCP_PACER_H

#include <stdbool.h>
#include <stdint.h>

#include "tstamp.h"

struct ptcp_pacer {
	ptcp_ts next;   /* ns: the next segment may leave from then on */
};

static inline void ptcp_pacer_init(struct ptcp_pacer *p) { p->next = 0; }

/* Whether a segment may leave at now, pacing at rate (0: not paced). */
static inline bool ptcp_pacer_ready(const struct ptcp_pacer *p, uint64_t rate, ptcp_ts now)
{
	return rate == 0 || now >= p->next;
}

/* When the next segment may leave. */
static inline ptcp_ts ptcp_pacer_next(const struct ptcp_pacer *p) { return p->next; }

/* len bytes left at now, pacing at rate with bursts of up to quantum
 * bytes: the next segment leaves len / rate after this one, or at once
 * while the credit built up before now lasts. */
void ptcp_pacer_sent(struct ptcp_pacer *p, uint32_t len, uint64_t rate, uint32_t quantum,
                     ptcp_ts now);

#endif
