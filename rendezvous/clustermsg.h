/* The messages rendezvousd instances pass each other through Redis
 * (pub/sub: each instance reads the channel named after its instance id;
 * docs/protocol.md, "Scale-out on Redis"). A pure codec like rdvmsg.h:
 * lengths first, then the fields into a struct, only the canonical
 * encoding parses, and emit(parse(b)) == b.
 *
 *   header   'P' 'C' version (1) type (1) sender instance id (8)   = 12
 *   REQUEST  reply-to instance (8), request id (8), target key (32),
 *            asker key (32), asker observed endpoint (19), asker private
 *            endpoint (19), asker ISN (4), asker RTT ms (4), wait ms (4)
 *   ANSWER   request id (8), asker key (32), one rendezvous message for
 *            the asker, as rdvmsg.h frames it: a MATCH, or a non-fatal
 *            ERROR
 *   CANCEL   request id (8), asker key (32), target key (32)
 *   REPLACED key (32), the new registration's observed endpoint (19)
 *
 * Integers are big-endian; endpoints are rdvmsg.h's 19-byte form. */
#ifndef PTCP_RDVD_CLUSTERMSG_H
#define PTCP_RDVD_CLUSTERMSG_H

#include <stddef.h>
#include <stdint.h>

#include "rdvmsg.h"

#define PTCP_RDVD_CMSG_VERSION 1
#define PTCP_RDVD_CMSG_HDR_LEN 12
#define PTCP_RDVD_INST_LEN 8          /* instance id: random bytes */
#define PTCP_RDVD_RTT_MAX_MS 10000    /* server.c's RTT_MAX_MS */
/* the longest message: an ANSWER with the longest ERROR */
#define PTCP_RDVD_CMSG_MAX (PTCP_RDVD_CMSG_HDR_LEN + 8 + PTCP_RDV_KEY_LEN + PTCP_RDV_HDR_LEN + 4 + \
			    PTCP_RDV_TEXT_MAX)

enum ptcp_rdvd_cmsg_type {
	PTCP_RDVD_CMSG_REQUEST = 1,    /* a CONNECT for a peer registered at the receiver */
	PTCP_RDVD_CMSG_ANSWER = 2,     /* the answer to a REQUEST, for the asker */
	PTCP_RDVD_CMSG_CANCEL = 3,     /* the asker's request is over: forget it */
	PTCP_RDVD_CMSG_REPLACED = 4,   /* the key registered again at the sender */
};

struct ptcp_rdvd_cmsg {
	uint8_t type;                            /* enum ptcp_rdvd_cmsg_type */
	uint8_t sender[PTCP_RDVD_INST_LEN];
	union {
		struct {
			uint8_t reply_to[PTCP_RDVD_INST_LEN];  /* the asker's instance */
			uint64_t id;                   /* chosen by reply_to */
			uint8_t target[PTCP_RDV_KEY_LEN];
			uint8_t asker[PTCP_RDV_KEY_LEN];
			struct ptcp_endpoint observed; /* never family 0 */
			struct ptcp_endpoint priv;     /* family 0: none */
			uint32_t isn;
			uint32_t rtt_ms;               /* at most PTCP_RDVD_RTT_MAX_MS */
			uint32_t wait_ms;              /* left of the asker's wait */
		} request;
		struct {
			uint64_t id;
			uint8_t asker[PTCP_RDV_KEY_LEN];
			struct ptcp_rdv_msg msg;       /* MATCH, or ERROR without the fatal flag */
		} answer;
		struct {
			uint64_t id;
			uint8_t asker[PTCP_RDV_KEY_LEN];
			uint8_t target[PTCP_RDV_KEY_LEN];
		} cancel;
		struct {
			uint8_t key[PTCP_RDV_KEY_LEN];
			struct ptcp_endpoint observed;
		} replaced;
	};
};

/* Parses exactly one message from buf[0..len). Returns 0,
 * -PTCP_RDV_E_VERSION for another version, or -PTCP_RDV_E_MALFORMED:
 * a wrong magic, an unknown type, a length that is not the type's, a
 * non-canonical endpoint, a REQUEST whose observed endpoint has no
 * family or whose RTT or wait is out of bounds, an ANSWER that does not
 * carry exactly one MATCH or non-fatal ERROR. m is undefined on failure. */
int ptcp_rdvd_cmsg_parse(struct ptcp_rdvd_cmsg *m, const uint8_t *buf, size_t len);

/* Writes m into buf[0..cap). Returns the length, -PTCP_RDV_E_MALFORMED
 * when m breaks a rule parse checks, or -PTCP_RDV_E_NOBUF when cap is
 * too small (PTCP_RDVD_CMSG_MAX always suffices). */
int ptcp_rdvd_cmsg_emit(const struct ptcp_rdvd_cmsg *m, uint8_t *buf, size_t cap);

#endif
