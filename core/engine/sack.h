/* The sender's SACK scoreboard (RFC 2018, RFC 6675 section 3): which bytes
 * above SND.UNA the peer reported holding. The connection uses it to
 * retransmit only holes during recovery and to skip what the peer holds
 * when it goes back after a timeout. Fixed size, no allocation. */
#ifndef PTCP_SACK_H
#define PTCP_SACK_H

#include <stdbool.h>
#include <stdint.h>

#include "segment.h"
#include "seq.h"

#define PTCP_SCOREBOARD_MAX 8  /* disjoint SACKed ranges remembered */

struct ptcp_scoreboard {
	unsigned n;   /* valid entries in r[] */
	/* sorted by sequence, disjoint and not adjacent; right is exclusive */
	struct ptcp_sack_block r[PTCP_SCOREBOARD_MAX];
};

void ptcp_scoreboard_clear(struct ptcp_scoreboard *sb);

/* Records that the peer holds [left, right), clipped to [una, max) (a block
 * outside that range, or with right <= left, says nothing and is ignored:
 * RFC 2018 blocks are advisory). Overlapping and adjacent ranges merge;
 * when the table is full the highest range is forgotten, since the lowest
 * holes matter first. */
void ptcp_scoreboard_add(struct ptcp_scoreboard *sb, ptcp_seq left, ptcp_seq right,
                         ptcp_seq una, ptcp_seq max);

/* Forgets everything below una (SND.UNA advanced). */
void ptcp_scoreboard_advance(struct ptcp_scoreboard *sb, ptcp_seq una);

/* Bytes SACKed above seq (for RFC 6675's IsLost()). */
uint32_t ptcp_scoreboard_above(const struct ptcp_scoreboard *sb, ptcp_seq seq);

/* If seq lies in a SACKed range, the end of that range; otherwise seq. */
ptcp_seq ptcp_scoreboard_skip(const struct ptcp_scoreboard *sb, ptcp_seq seq);

/* Bytes from seq (not SACKed) to the start of the next SACKed range above
 * it, or UINT32_MAX if there is none. */
uint32_t ptcp_scoreboard_gap(const struct ptcp_scoreboard *sb, ptcp_seq seq);

/* The first hole at or above from: a byte not SACKed that lies below a
 * SACKed one. Returns true and sets *start and *len (bytes up to the next
 * SACKed range), or false when there is no such hole. */
bool ptcp_scoreboard_hole(const struct ptcp_scoreboard *sb, ptcp_seq from, ptcp_seq *start,
                          uint32_t *len);

#endif
