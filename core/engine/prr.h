/* Proportional Rate Reduction (RFC 6937): how much may be sent on each ACK
 * during fast recovery, so that the data in flight comes down to ssthresh
 * smoothly (in proportion to what the peer delivers) instead of stopping
 * for half a round trip, and climbs back to it in slow start when losses
 * took it further down (the slow start reduction bound, PRR-SSRB). Bytes
 * throughout. */
#ifndef PTCP_PRR_H
#define PTCP_PRR_H

#include <stdint.h>

struct ptcp_prr {
	uint32_t recover_fs;  /* RecoverFS: pipe when recovery started */
	uint32_t delivered;   /* prr_delivered: bytes delivered since then */
	uint32_t out;         /* prr_out: bytes sent since then */
	uint32_t quota;       /* sndcnt of the last ACK, less what was sent since */
};

/* Recovery begins with pipe bytes in flight. */
void ptcp_prr_start(struct ptcp_prr *p, uint32_t pipe);

/* An ACK during recovery delivered delivered_data bytes (RFC 6937
 * DeliveredData: SND.UNA advance plus newly SACKed bytes); pipe is the
 * flight after it. Sets and returns sndcnt, the bytes that may be sent now:
 * ceil(prr_delivered * ssthresh / RecoverFS) - prr_out while pipe >
 * ssthresh, else min(ssthresh - pipe, max(prr_delivered - prr_out,
 * DeliveredData) + SMSS). */
uint32_t ptcp_prr_on_ack(struct ptcp_prr *p, uint32_t delivered_data, uint32_t pipe,
                         uint32_t ssthresh, uint32_t smss);

/* bytes were sent (new data or a retransmission) during recovery. */
void ptcp_prr_on_send(struct ptcp_prr *p, uint32_t bytes);

#endif
