/* The send buffer: a byte ring over caller-provided memory holding the
 * bytes from SND.UNA onwards, sent or not yet sent. Offsets are relative to
 * the first unacknowledged byte. */
#ifndef PTCP_SENDBUF_H
#define PTCP_SENDBUF_H

#include <stddef.h>
#include <stdint.h>

struct ptcp_sendbuf {
	uint8_t *mem;   /* cap bytes, owned by the caller */
	size_t cap;     /* bytes */
	size_t head;    /* index in mem of the first unacknowledged byte */
	size_t len;     /* bytes held */
};

void ptcp_sendbuf_init(struct ptcp_sendbuf *sb, uint8_t *mem, size_t cap);

/* Appends up to n bytes of data; returns how many fit (0 when full). */
size_t ptcp_sendbuf_write(struct ptcp_sendbuf *sb, const void *data, size_t n);

/* Copies up to n bytes starting off bytes after the first unacknowledged
 * byte into out; returns the count copied (less than n at the end). */
size_t ptcp_sendbuf_peek(const struct ptcp_sendbuf *sb, size_t off, void *out, size_t n);

/* Moves the contents to mem (cap bytes, cap >= the bytes held), which the
 * buffer uses from now on; the caller frees the old memory. */
void ptcp_sendbuf_move(struct ptcp_sendbuf *sb, uint8_t *mem, size_t cap);

/* Drops n acknowledged bytes from the front (n <= len). */
void ptcp_sendbuf_consume(struct ptcp_sendbuf *sb, size_t n);

static inline size_t ptcp_sendbuf_len(const struct ptcp_sendbuf *sb) { return sb->len; }
static inline size_t ptcp_sendbuf_space(const struct ptcp_sendbuf *sb) { return sb->cap - sb->len; }

#endif
