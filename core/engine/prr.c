#include "prr.h"

#include <string.h>

void ptcp_prr_start(struct ptcp_prr *p, uint32_t pipe)
{
	memset(p, 0, sizeof(*p));
	/* A recovery always has something in flight; 1 keeps the division
	 * below defined for a degenerate start. */
	p->recover_fs = pipe ? pipe : 1;
}

uint32_t ptcp_prr_on_ack(struct ptcp_prr *p, uint32_t delivered_data, uint32_t pipe,
                         uint32_t ssthresh, uint32_t smss)
{
	int64_t sndcnt;

	p->delivered += delivered_data;
	if (pipe > ssthresh) {
		/* Proportional part: CEIL(prr_delivered * ssthresh / RecoverFS). */
		uint64_t target = ((uint64_t)p->delivered * ssthresh + p->recover_fs - 1) / p->recover_fs;

		sndcnt = (int64_t)target - p->out;
	} else {
		/* Slow start reduction bound. */
		int64_t limit = (int64_t)p->delivered - p->out;

		if (limit < (int64_t)delivered_data)
			limit = delivered_data;
		limit += smss;
		sndcnt = (int64_t)ssthresh - pipe;
		if (sndcnt > limit)
			sndcnt = limit;
	}
	p->quota = sndcnt > 0 ? (uint32_t)(sndcnt > UINT32_MAX ? UINT32_MAX : sndcnt) : 0;
	return p->quota;
}

void ptcp_prr_on_send(struct ptcp_prr *p, uint32_t bytes)
{
	p->out += bytes;
	p->quota = p->quota > bytes ? p->quota - bytes : 0;
}
