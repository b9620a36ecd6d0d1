/* The receive buffer with out-of-order reassembly: a byte ring over
 * caller-provided memory. It holds in-order bytes not yet read by the
 * application, followed by a gap-tolerant area where segments that arrived
 * ahead of RCV.NXT wait. Offsets passed to insert are relative to RCV.NXT
 * (offset 0 is the next byte expected). */
#ifndef PTCP_RCVBUF_H
#define PTCP_RCVBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Out-of-order islands tracked. Each lost segment of a flight leaves one:
 * a 4 MiB window (2,900 segments) at 4% random loss, or the 2·BDP flight
 * of a BBR sender at 5% and 250 Mbit/s over 20 ms, holds about 120. With
 * 16 such a flight overflowed the table and the receiver dropped what it
 * could not place; every drop came back as a loss to the sender. */
#define PTCP_RCVBUF_MAX_RANGES 128

struct ptcp_rcvbuf_range {
	uint32_t off;   /* bytes after RCV.NXT */
	uint32_t len;   /* bytes */
};

struct ptcp_rcvbuf {
	uint8_t *mem;       /* cap bytes, owned by the caller */
	size_t cap;         /* bytes */
	size_t head;        /* index in mem of the first unread byte */
	size_t readable;    /* in-order bytes the application can read */
	unsigned n_ranges;  /* valid entries in ranges[] */
	unsigned max_ranges; /* entries it may use: PTCP_RCVBUF_MAX_RANGES from
	                        ptcp_rcvbuf_init (a test may lower it) */
	/* out-of-order islands, disjoint, not adjacent, sorted by recency:
	 * ranges[0] is the one holding the most recently received segment,
	 * whether it extended the island or duplicated part of it (for SACK,
	 * RFC 2018 section 4), offsets relative to RCV.NXT */
	struct ptcp_rcvbuf_range ranges[PTCP_RCVBUF_MAX_RANGES];
};

/* An empty buffer over mem, cap bytes, with the full island table. */
void ptcp_rcvbuf_init(struct ptcp_rcvbuf *rb, uint8_t *mem, size_t cap);

/* Bytes that may still arrive beyond RCV.NXT: cap - readable. This is the
 * receive window to offer. */
static inline size_t ptcp_rcvbuf_window(const struct ptcp_rcvbuf *rb) { return rb->cap - rb->readable; }

/* Stores data[0..n) at offset off after RCV.NXT. Bytes beyond the window
 * are ignored; if the island table is full (max_ranges), an island that cannot be merged
 * is dropped (the sender will retransmit). Returns how many bytes became
 * in-order (RCV.NXT advances by that much); remaining islands are
 * re-based so their offsets stay relative to the new RCV.NXT. */
size_t ptcp_rcvbuf_insert(struct ptcp_rcvbuf *rb, size_t off, const uint8_t *data, size_t n);

/* Finds the first bytes of [off, off + n) (relative to RCV.NXT) that an
 * out-of-order island already holds: a duplicate arrival, for D-SACK
 * (RFC 2883). Returns true and sets *dup_off, *dup_len to the lowest such
 * overlap and *isl to the index of the island holding it, or returns
 * false when none of the bytes is held. */
bool ptcp_rcvbuf_held(const struct ptcp_rcvbuf *rb, size_t off, size_t n, uint32_t *dup_off,
                      uint32_t *dup_len, unsigned *isl);

/* Moves the buffer to mem, cap bytes (cap >= rb->cap): in-order bytes and
 * islands keep their offsets, and the window grows by the difference. The
 * caller frees the old memory. */
void ptcp_rcvbuf_move(struct ptcp_rcvbuf *rb, uint8_t *mem, size_t cap);

/* Copies up to n in-order bytes into out and frees their space; returns
 * the count. */
size_t ptcp_rcvbuf_read(struct ptcp_rcvbuf *rb, void *out, size_t n);

/* The in-order bytes where they are, without a copy: one span, or two
 * where the ring wraps (base[0] first), into base[] and len[]. Returns
 * how many (0: nothing to read). They stay valid until the buffer
 * changes. */
unsigned ptcp_rcvbuf_peek(const struct ptcp_rcvbuf *rb, const uint8_t *base[2], size_t len[2]);

/* Frees the first n in-order bytes (at most what there is), as reading
 * them would; returns the count. */
size_t ptcp_rcvbuf_consume(struct ptcp_rcvbuf *rb, size_t n);

/* Bytes held out of order (sum of the islands). */
size_t ptcp_rcvbuf_ooo_bytes(const struct ptcp_rcvbuf *rb);

#endif
