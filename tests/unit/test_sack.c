/* The SACK scoreboard against a bitmap model: random blocks over a
 * 256-byte window placed across the 2^32 wrap. */
#include <string.h>

#include "check.h"
#include "sack.h"

#define SPAN 256u
static const ptcp_seq BASE = 0xffffff80u; /* the window straddles 2^32 */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next(void)
{
	return (uint32_t)check_xorshift64(&rng);
}

static void test_merge_clip_and_advance(void)
{
	struct ptcp_scoreboard sb;

	ptcp_scoreboard_clear(&sb);
	ptcp_scoreboard_add(&sb, BASE + 10, BASE + 20, BASE, BASE + 100);
	ptcp_scoreboard_add(&sb, BASE + 30, BASE + 40, BASE, BASE + 100);
	CHECK_EQ(sb.n, 2);
	ptcp_scoreboard_add(&sb, BASE + 20, BASE + 30, BASE, BASE + 100); /* bridges both */
	CHECK_EQ(sb.n, 1);
	CHECK_EQ(sb.r[0].left, BASE + 10);
	CHECK_EQ(sb.r[0].right, BASE + 40);
	/* Clipped to [una, max); nonsense ignored. */
	ptcp_scoreboard_add(&sb, BASE + 90, BASE + 200, BASE, BASE + 100);
	CHECK_EQ(sb.r[1].right, BASE + 100);
	ptcp_scoreboard_add(&sb, BASE + 60, BASE + 50, BASE, BASE + 100);
	ptcp_scoreboard_add(&sb, BASE - 50, BASE - 10, BASE, BASE + 100);
	CHECK_EQ(sb.n, 2);
	CHECK_EQ(ptcp_scoreboard_above(&sb, BASE), 40);
	CHECK_EQ(ptcp_scoreboard_above(&sb, BASE + 35), 15);
	CHECK_EQ(ptcp_scoreboard_skip(&sb, BASE + 15), BASE + 40);
	CHECK_EQ(ptcp_scoreboard_skip(&sb, BASE + 45), BASE + 45);
	CHECK_EQ(ptcp_scoreboard_gap(&sb, BASE + 45), 45);
	CHECK_EQ(ptcp_scoreboard_gap(&sb, BASE + 95), UINT32_MAX);
	ptcp_scoreboard_advance(&sb, BASE + 15);
	CHECK_EQ(sb.r[0].left, BASE + 15);
	ptcp_scoreboard_advance(&sb, BASE + 95);
	CHECK_EQ(sb.n, 1);
	CHECK_EQ(sb.r[0].left, BASE + 95);
	ptcp_scoreboard_advance(&sb, BASE + 100);
	CHECK_EQ(sb.n, 0);
}

static void test_full_table_forgets_the_highest(void)
{
	struct ptcp_scoreboard sb;
	unsigned i;

	ptcp_scoreboard_clear(&sb);
	for (i = 0; i < PTCP_SCOREBOARD_MAX; i++)
		ptcp_scoreboard_add(&sb, BASE + 10 * i + 5, BASE + 10 * i + 8, BASE, BASE + 200);
	CHECK_EQ(sb.n, PTCP_SCOREBOARD_MAX);
	ptcp_scoreboard_add(&sb, BASE + 150, BASE + 160, BASE, BASE + 200); /* highest: ignored */
	CHECK_EQ(sb.r[PTCP_SCOREBOARD_MAX - 1].left, BASE + 10 * (PTCP_SCOREBOARD_MAX - 1) + 5);
	ptcp_scoreboard_add(&sb, BASE + 1, BASE + 2, BASE, BASE + 200); /* lowest: kept */
	CHECK_EQ(sb.r[0].left, BASE + 1);
	CHECK_EQ(sb.n, PTCP_SCOREBOARD_MAX);
	CHECK_EQ(sb.r[PTCP_SCOREBOARD_MAX - 1].left, BASE + 10 * (PTCP_SCOREBOARD_MAX - 2) + 5);
}

static void test_hole_finding(void)
{
	struct ptcp_scoreboard sb;
	ptcp_seq start;
	uint32_t len;

	ptcp_scoreboard_clear(&sb);
	CHECK(!ptcp_scoreboard_hole(&sb, BASE, &start, &len));
	ptcp_scoreboard_add(&sb, BASE + 10, BASE + 20, BASE, BASE + 100);
	ptcp_scoreboard_add(&sb, BASE + 50, BASE + 60, BASE, BASE + 100);
	CHECK(ptcp_scoreboard_hole(&sb, BASE, &start, &len));
	CHECK_EQ(start, BASE);
	CHECK_EQ(len, 10);
	CHECK(ptcp_scoreboard_hole(&sb, BASE + 12, &start, &len));
	CHECK_EQ(start, BASE + 20);
	CHECK_EQ(len, 30);
	CHECK(!ptcp_scoreboard_hole(&sb, BASE + 55, &start, &len)); /* nothing SACKed above */
}

/* Random adds and advances against a bitmap. */
static void test_random_against_bitmap(void)
{
	unsigned round, op;

	for (round = 0; round < 2000; round++) {
		struct ptcp_scoreboard sb;
		bool held[SPAN];
		ptcp_seq una = BASE;
		unsigned i, ranges;

		memset(held, 0, sizeof(held));
		ptcp_scoreboard_clear(&sb);
		for (op = 0; op < 6; op++) {
			uint32_t l = next() % SPAN, r = l + 1 + next() % 40;

			if (r > SPAN)
				r = SPAN;
			if (next() % 5 == 0) {
				uint32_t a = next() % 64;

				if (una - BASE + a <= SPAN) {
					una += a;
					ptcp_scoreboard_advance(&sb, una);
				}
				continue;
			}
			ptcp_scoreboard_add(&sb, BASE + l, BASE + r, una, BASE + SPAN);
			for (i = l; i < r; i++)
				if (i >= una - BASE)
					held[i] = true;
		}
		for (i = 0; i < una - BASE; i++)
			held[i] = false;
		/* The table holds at most 8 ranges and 6 adds make at most 6:
		 * it must equal the model exactly. */
		for (i = 0, ranges = 0; i < SPAN; i++) {
			bool in = ptcp_scoreboard_skip(&sb, BASE + i) != BASE + i;

			if (in != held[i]) {
				check_fail(__FILE__, __LINE__, "round %u byte %u: model %d table %d", round, i,
					   held[i], in);
				return;
			}
			ranges += held[i] && (i == 0 || !held[i - 1]);
		}
		CHECK_EQ(sb.n, ranges);
		for (i = 1; i < sb.n; i++)
			CHECK(ptcp_seq_lt(sb.r[i - 1].right, sb.r[i].left));
		{
			uint32_t above = 0;

			for (i = 40; i < SPAN; i++)
				above += held[i];
			CHECK_EQ(ptcp_scoreboard_above(&sb, BASE + 40), above);
		}
	}
}

int main(void)
{
	RUN(test_merge_clip_and_advance);
	RUN(test_full_table_forgets_the_highest);
	RUN(test_hole_finding);
	RUN(test_random_against_bitmap);
	return check_summary();
}
