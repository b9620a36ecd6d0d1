#include "sendbuf.h"

#include <string.h>

/* Index in mem of the byte off bytes after head, for off <= cap. Written so
 * that head + off cannot overflow whatever cap is. */
static size_t ring_pos(size_t head, size_t off, size_t cap)
{
	return off < cap - head ? head + off : off - (cap - head);
}

void ptcp_sendbuf_init(struct ptcp_sendbuf *sb, uint8_t *mem, size_t cap)
{
	sb->mem = mem;
	sb->cap = cap;
	sb->head = 0;
	sb->len = 0;
}

size_t ptcp_sendbuf_write(struct ptcp_sendbuf *sb, const void *data, size_t n)
{
	const uint8_t *src = data;
	size_t space = sb->cap - sb->len;
	size_t tail, first;

	if (n > space)
		n = space;
	if (n == 0)
		return 0;
	tail = ring_pos(sb->head, sb->len, sb->cap);
	/* At most two copies: up to the end of mem, then from its start. */
	first = sb->cap - tail;
	if (first > n)
		first = n;
	memcpy(sb->mem + tail, src, first);
	if (n > first)
		memcpy(sb->mem, src + first, n - first);
	sb->len += n;
	return n;
}

size_t ptcp_sendbuf_peek(const struct ptcp_sendbuf *sb, size_t off, void *out, size_t n)
{
	uint8_t *dst = out;
	size_t start, first;

	if (off >= sb->len)
		return 0;
	if (n > sb->len - off)
		n = sb->len - off;
	if (n == 0)
		return 0;
	start = ring_pos(sb->head, off, sb->cap);
	first = sb->cap - start;
	if (first > n)
		first = n;
	memcpy(dst, sb->mem + start, first);
	if (n > first)
		memcpy(dst + first, sb->mem, n - first);
	return n;
}

void ptcp_sendbuf_move(struct ptcp_sendbuf *sb, uint8_t *mem, size_t cap)
{
	size_t n = ptcp_sendbuf_peek(sb, 0, mem, sb->len < cap ? sb->len : cap);

	sb->mem = mem;
	sb->cap = cap;
	sb->head = 0;
	sb->len = n;
}

void ptcp_sendbuf_consume(struct ptcp_sendbuf *sb, size_t n)
{
	/* The contract says n <= len; clamping keeps a buggy caller from
	 * corrupting the ring. */
	if (n > sb->len)
		n = sb->len;
	sb->head = ring_pos(sb->head, n, sb->cap);
	sb->len -= n;
}
