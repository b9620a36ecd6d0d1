#include "rcvbuf.h"

#include <stdbool.h>
#include <string.h>

/* Index in mem of the byte off bytes after head, for off <= cap, without
 * computing head + off (which could overflow for a huge cap). */
static size_t ring_pos(size_t head, size_t off, size_t cap)
{
	return off < cap - head ? head + off : off - (cap - head);
}

void ptcp_rcvbuf_init(struct ptcp_rcvbuf *rb, uint8_t *mem, size_t cap)
{
	memset(rb, 0, sizeof(*rb));
	rb->mem = mem;
	rb->cap = cap;
	rb->max_ranges = PTCP_RCVBUF_MAX_RANGES;
}

/* Removes ranges[i], keeping the recency order of the others. */
static void range_remove(struct ptcp_rcvbuf *rb, unsigned i)
{
	rb->n_ranges--;
	if (i < rb->n_ranges)
		memmove(&rb->ranges[i], &rb->ranges[i + 1],
			(rb->n_ranges - i) * sizeof(rb->ranges[0]));
}

/* Copies n bytes to the window position off (relative to RCV.NXT, so
 * readable + off bytes after head). The caller has made sure the bytes lie
 * inside the window; at most two copies because the ring wraps once. */
static void store(struct ptcp_rcvbuf *rb, size_t off, const uint8_t *data, size_t n)
{
	size_t pos = ring_pos(rb->head, rb->readable + off, rb->cap);
	size_t first = rb->cap - pos;

	if (first > n)
		first = n;
	memcpy(rb->mem + pos, data, first);
	if (n > first)
		memcpy(rb->mem, data + first, n - first);
}

size_t ptcp_rcvbuf_insert(struct ptcp_rcvbuf *rb, size_t off, const uint8_t *data, size_t n)
{
	size_t win = rb->cap - rb->readable;
	uint32_t s, e, lo, hi;
	unsigned i, merged = 0;
	bool contained = false;

	/* Island offsets are 32-bit, as is the TCP window (at most 2^30
	 * with window scaling, RFC 7323 section 2.3). */
	if (win > UINT32_MAX)
		win = UINT32_MAX;
	if (n == 0 || off >= win)
		return 0;
	/* RFC 9293 section 3.10.7.4: only the part inside the window is kept. */
	if (n > win - off)
		n = win - off;
	s = (uint32_t)off;
	e = (uint32_t)(off + n);

	/* Union of the new bytes with every island that overlaps or touches
	 * them. Islands are pairwise disjoint and non-adjacent, so an island
	 * can only join the union by touching the new bytes themselves: one
	 * pass finds them all. */
	lo = s;
	hi = e;
	for (i = 0; i < rb->n_ranges; i++) {
		uint32_t ro = rb->ranges[i].off, re = ro + rb->ranges[i].len;

		if (ro > e || re < s)
			continue;
		if (ro <= s && re >= e)
			contained = true;
		if (ro < lo)
			lo = ro;
		if (re > hi)
			hi = re;
		merged++;
	}

	if (s > 0 && merged == 0 && rb->n_ranges >= rb->max_ranges)
		return 0; /* no slot for a new island: the sender will retransmit */

	/* A duplicate of bytes already held changes nothing in mem. */
	if (!contained)
		store(rb, off, data, n);

	/* Drop the merged islands; the union replaces them. */
	for (i = 0; i < rb->n_ranges;) {
		uint32_t ro = rb->ranges[i].off, re = ro + rb->ranges[i].len;

		if (ro > e || re < s)
			i++;
		else
			range_remove(rb, i);
	}

	if (lo > 0) {
		/* Still out of order. RFC 2018 section 4: the first SACK block
		 * reports the block holding the segment just received, so the
		 * union goes to the front. */
		memmove(&rb->ranges[1], &rb->ranges[0], rb->n_ranges * sizeof(rb->ranges[0]));
		rb->ranges[0].off = lo;
		rb->ranges[0].len = hi - lo;
		rb->n_ranges++;
		return 0;
	}

	/* The bytes start at RCV.NXT: [0, hi) is in order now, including every
	 * island that became contiguous. The rest move down by hi so that
	 * their offsets stay relative to the new RCV.NXT; none starts at or
	 * before hi, else it would have been merged. */
	rb->readable += hi;
	for (i = 0; i < rb->n_ranges; i++)
		rb->ranges[i].off -= hi;
	return hi;
}

bool ptcp_rcvbuf_held(const struct ptcp_rcvbuf *rb, size_t off, size_t n, uint32_t *dup_off,
                      uint32_t *dup_len, unsigned *isl)
{
	uint64_t s = off, e = (uint64_t)off + n;
	bool found = false;
	unsigned i;

	for (i = 0; i < rb->n_ranges; i++) {
		uint64_t ro = rb->ranges[i].off, re = ro + rb->ranges[i].len;
		uint64_t lo = ro > s ? ro : s, hi = re < e ? re : e;

		if (lo >= hi || (found && lo >= *dup_off))
			continue;
		found = true;
		*dup_off = (uint32_t)lo;
		*dup_len = (uint32_t)(hi - lo);
		*isl = i;
	}
	return found;
}

void ptcp_rcvbuf_move(struct ptcp_rcvbuf *rb, uint8_t *mem, size_t cap)
{
	size_t first = rb->cap - rb->head;

	/* The whole old ring in order from head: readable bytes first, then
	 * the window with whatever islands it holds. */
	memcpy(mem, rb->mem + rb->head, first);
	memcpy(mem + first, rb->mem, rb->head);
	rb->mem = mem;
	rb->cap = cap;
	rb->head = 0;
}

unsigned ptcp_rcvbuf_peek(const struct ptcp_rcvbuf *rb, const uint8_t *base[2], size_t len[2])
{
	size_t first = rb->cap - rb->head;

	if (rb->readable == 0)
		return 0;
	base[0] = rb->mem + rb->head;
	if (first >= rb->readable) {
		len[0] = rb->readable;
		return 1;
	}
	len[0] = first;
	base[1] = rb->mem;
	len[1] = rb->readable - first;
	return 2;
}

size_t ptcp_rcvbuf_consume(struct ptcp_rcvbuf *rb, size_t n)
{
	if (n > rb->readable)
		n = rb->readable;
	/* The islands keep their place: head + readable does not move. */
	rb->head = ring_pos(rb->head, n, rb->cap);
	rb->readable -= n;
	return n;
}

size_t ptcp_rcvbuf_read(struct ptcp_rcvbuf *rb, void *out, size_t n)
{
	const uint8_t *base[2];
	size_t len[2], done = 0;
	unsigned k = ptcp_rcvbuf_peek(rb, base, len);

	for (unsigned i = 0; i < k && done < n; i++) {
		size_t m = len[i] < n - done ? len[i] : n - done;

		memcpy((uint8_t *)out + done, base[i], m);
		done += m;
	}
	return ptcp_rcvbuf_consume(rb, done);
}

size_t ptcp_rcvbuf_ooo_bytes(const struct ptcp_rcvbuf *rb)
{
	size_t sum = 0;
	unsigned i;

	for (i = 0; i < rb->n_ranges; i++)
		sum += rb->ranges[i].len;
	return sum;
}
