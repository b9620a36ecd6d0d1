/* Wire codec for TCP segments (RFC 9293 section 3.1, options from RFC 9293,
 * RFC 7323 and RFC 2018).
 *
 * Parsing checks every length first and only then fills a plain struct, so
 * nothing read from a parsed segment can be out of bounds. Emitting writes
 * exactly the bytes the struct describes. A "segment" here is the TCP header
 * plus payload, without the IP header; the IP addresses come in separately
 * for the pseudo-header checksum. */
#ifndef PTCP_SEGMENT_H
#define PTCP_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "seq.h"

#define PTCP_TH_FIN 0x01
#define PTCP_TH_SYN 0x02
#define PTCP_TH_RST 0x04
#define PTCP_TH_PSH 0x08
#define PTCP_TH_ACK 0x10
#define PTCP_TH_URG 0x20
#define PTCP_TH_ECE 0x40
#define PTCP_TH_CWR 0x80

#define PTCP_TCP_HDR_MIN 20   /* bytes, without options */
#define PTCP_TCP_HDR_MAX 60   /* bytes, with 40 bytes of options */
#define PTCP_SACK_MAX 4       /* blocks that fit in 40 option bytes */

/* Option kinds (IANA "TCP Option Kind Numbers"). */
enum {
	PTCP_OPT_EOL = 0,
	PTCP_OPT_NOP = 1,
	PTCP_OPT_MSS = 2,
	PTCP_OPT_WSCALE = 3,
	PTCP_OPT_SACK_PERM = 4,
	PTCP_OPT_SACK = 5,
	PTCP_OPT_TS = 8,
};

struct ptcp_sack_block {
	ptcp_seq left;   /* first sequence number of the block */
	ptcp_seq right;  /* sequence number just after the block */
};

struct ptcp_options {
	bool has_mss;
	bool has_wscale;
	bool sack_permitted;
	bool has_ts;
	uint16_t mss;        /* bytes */
	uint8_t wscale;      /* shift count as received (may exceed 14; the
	                        engine clamps it, RFC 7323 section 2.3) */
	uint8_t sack_count;  /* valid entries in sack[] */
	struct ptcp_sack_block sack[PTCP_SACK_MAX];
	uint32_t ts_val;
	uint32_t ts_ecr;
};

struct ptcp_segment {
	uint16_t sport;        /* host order */
	uint16_t dport;        /* host order */
	ptcp_seq seq;
	ptcp_seq ack;
	uint8_t flags;         /* PTCP_TH_* */
	uint16_t wnd;          /* as on the wire, not scaled */
	uint16_t urg;          /* urgent pointer, as on the wire */
	struct ptcp_options opt;
	const uint8_t *payload;/* parse: points into the parsed buffer */
	size_t len;            /* payload bytes */
};

/* SEG.LEN of RFC 9293: payload bytes plus one for SYN and one for FIN. */
static inline uint32_t ptcp_segment_seqlen(const struct ptcp_segment *s)
{
	return (uint32_t)s->len + !!(s->flags & PTCP_TH_SYN) + !!(s->flags & PTCP_TH_FIN);
}

/* Parses the TCP segment in buf[0..len).
 *
 * src and dst are the IP source and destination of the packet that carried
 * it; when both are non-NULL the checksum over the IPv4 or IPv6
 * pseudo-header is verified. Unknown options are skipped by their length;
 * an option of a known kind with the wrong length, or any option whose
 * length runs past the header, is rejected. seg->payload points into buf.
 *
 * Returns 0, or PTCP_ERR_TRUNCATED (len < 20), PTCP_ERR_BAD_OFFSET (data
 * offset < 5 or past len), PTCP_ERR_BAD_OPTION, PTCP_ERR_CHECKSUM,
 * PTCP_ERR_INVAL (src and dst of different families). */
int ptcp_segment_parse(struct ptcp_segment *seg, const uint8_t *buf, size_t len,
                       const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst);

/* Header length in bytes that ptcp_segment_emit() will write for seg
 * (20 plus options padded to 4 bytes). SACK blocks that do not fit in the
 * 40 option bytes beside the other options are left out. */
size_t ptcp_segment_header_len(const struct ptcp_segment *seg);

/* Writes seg (header, options, seg->len bytes from seg->payload) into
 * buf[0..cap). With src and dst non-NULL the checksum is computed over
 * their pseudo-header, otherwise the checksum field is 0.
 *
 * Option layout follows common practice so middleboxes see familiar
 * segments: MSS, SACK-permitted, timestamps, NOP, window scale; timestamps
 * and SACK blocks preceded by NOPs for 4-byte alignment.
 *
 * Returns the number of bytes written, or PTCP_ERR_NOBUF if cap is too
 * small, PTCP_ERR_INVAL if src and dst differ in family. */
int ptcp_segment_emit(const struct ptcp_segment *seg, uint8_t *buf, size_t cap,
                      const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst);

/* The Internet checksum (RFC 1071) of the pseudo-header for src and dst
 * with protocol TCP and the given length, plus data[0..len). A segment whose
 * checksum field is correct gives 0 here. */
uint16_t ptcp_tcp_checksum(const struct ptcp_endpoint *src, const struct ptcp_endpoint *dst,
                           const uint8_t *data, size_t len);

/* Formats a one-line summary like tcpdump's ("[S.] seq 100 ack 201 win 65535
 * len 0 <mss 1460,ws 7>") into buf; always NUL-terminated when cap > 0.
 * Returns buf. */
char *ptcp_segment_format(const struct ptcp_segment *seg, char *buf, size_t cap);

#endif
