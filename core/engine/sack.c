#include "sack.h"

#include <string.h>

void ptcp_scoreboard_clear(struct ptcp_scoreboard *sb)
{
	sb->n = 0;
}

static void remove_at(struct ptcp_scoreboard *sb, unsigned i)
{
	memmove(&sb->r[i], &sb->r[i + 1], (sb->n - i - 1) * sizeof(sb->r[0]));
	sb->n--;
}

void ptcp_scoreboard_add(struct ptcp_scoreboard *sb, ptcp_seq left, ptcp_seq right,
                         ptcp_seq una, ptcp_seq max)
{
	unsigned i, at;

	if (ptcp_seq_lt(left, una))
		left = una;
	if (ptcp_seq_gt(right, max))
		right = max;
	if (!ptcp_seq_lt(left, right))
		return;
	/* Absorb every range that overlaps or touches [left, right). */
	for (i = 0; i < sb->n;) {
		if (ptcp_seq_le(sb->r[i].left, right) && ptcp_seq_le(left, sb->r[i].right)) {
			left = ptcp_seq_min(left, sb->r[i].left);
			right = ptcp_seq_max(right, sb->r[i].right);
			remove_at(sb, i);
		} else {
			i++;
		}
	}
	for (at = 0; at < sb->n && ptcp_seq_lt(sb->r[at].left, left); at++)
		;
	if (sb->n == PTCP_SCOREBOARD_MAX) {
		if (at == sb->n)
			return; /* the new range is the highest: it goes */
		sb->n--;    /* forget the highest */
	}
	memmove(&sb->r[at + 1], &sb->r[at], (sb->n - at) * sizeof(sb->r[0]));
	sb->r[at].left = left;
	sb->r[at].right = right;
	sb->n++;
}

void ptcp_scoreboard_advance(struct ptcp_scoreboard *sb, ptcp_seq una)
{
	while (sb->n > 0 && ptcp_seq_le(sb->r[0].right, una))
		remove_at(sb, 0);
	if (sb->n > 0 && ptcp_seq_lt(sb->r[0].left, una))
		sb->r[0].left = una;
}

uint32_t ptcp_scoreboard_above(const struct ptcp_scoreboard *sb, ptcp_seq seq)
{
	uint32_t sum = 0;
	unsigned i;

	for (i = 0; i < sb->n; i++) {
		if (ptcp_seq_le(sb->r[i].right, seq))
			continue;
		sum += (uint32_t)(sb->r[i].right - ptcp_seq_max(sb->r[i].left, seq));
	}
	return sum;
}

ptcp_seq ptcp_scoreboard_skip(const struct ptcp_scoreboard *sb, ptcp_seq seq)
{
	unsigned i;

	for (i = 0; i < sb->n; i++)
		if (ptcp_seq_in(seq, sb->r[i].left, sb->r[i].right))
			return sb->r[i].right;
	return seq;
}

uint32_t ptcp_scoreboard_gap(const struct ptcp_scoreboard *sb, ptcp_seq seq)
{
	unsigned i;

	for (i = 0; i < sb->n; i++)
		if (ptcp_seq_gt(sb->r[i].left, seq))
			return (uint32_t)(sb->r[i].left - seq);
	return UINT32_MAX;
}

bool ptcp_scoreboard_hole(const struct ptcp_scoreboard *sb, ptcp_seq from, ptcp_seq *start,
                          uint32_t *len)
{
	ptcp_seq s = ptcp_scoreboard_skip(sb, from);
	uint32_t gap = ptcp_scoreboard_gap(sb, s);

	if (gap == UINT32_MAX)
		return false; /* nothing SACKed above: not a hole, just unacknowledged */
	*start = s;
	*len = gap;
	return true;
}
