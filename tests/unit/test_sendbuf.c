/* Send buffer: the ring against a linear reference model, wrap-around at
 * every head position of a small ring, and a long streaming run. */
#include <string.h>

#include "check.h"
#include "sendbuf.h"

static void test_basic(void)
{
	uint8_t mem[16], out[32], exp[32];
	struct ptcp_sendbuf sb;

	ptcp_sendbuf_init(&sb, mem, sizeof(mem));
	CHECK_EQ(ptcp_sendbuf_len(&sb), 0);
	CHECK_EQ(ptcp_sendbuf_space(&sb), 16);
	check_fill_stream(exp, 0, 10);
	CHECK_EQ(ptcp_sendbuf_write(&sb, exp, 10), 10);
	CHECK_EQ(ptcp_sendbuf_len(&sb), 10);
	CHECK_EQ(ptcp_sendbuf_space(&sb), 6);

	memset(out, 0, sizeof(out));
	CHECK_EQ(ptcp_sendbuf_peek(&sb, 0, out, 10), 10);
	CHECK(memcmp(out, exp, 10) == 0);
	/* Peeking past the end returns only what is held. */
	CHECK_EQ(ptcp_sendbuf_peek(&sb, 4, out, 100), 6);
	CHECK(memcmp(out, exp + 4, 6) == 0);
	CHECK_EQ(ptcp_sendbuf_peek(&sb, 10, out, 1), 0);
	CHECK_EQ(ptcp_sendbuf_peek(&sb, 11, out, 1), 0);
	CHECK_EQ(ptcp_sendbuf_peek(&sb, 3, out, 0), 0);
	/* Peeking does not consume. */
	CHECK_EQ(ptcp_sendbuf_len(&sb), 10);

	ptcp_sendbuf_consume(&sb, 4);
	CHECK_EQ(sb.head, 4);
	CHECK_EQ(ptcp_sendbuf_len(&sb), 6);
	CHECK_EQ(ptcp_sendbuf_peek(&sb, 0, out, 6), 6);
	CHECK(memcmp(out, exp + 4, 6) == 0);
}

static void test_full_and_empty(void)
{
	uint8_t mem[8], data[20], out[20];
	struct ptcp_sendbuf sb;

	check_fill_stream(data, 100, sizeof(data));
	ptcp_sendbuf_init(&sb, mem, sizeof(mem));
	CHECK_EQ(ptcp_sendbuf_write(&sb, data, 20), 8);
	CHECK_EQ(ptcp_sendbuf_space(&sb), 0);
	CHECK_EQ(ptcp_sendbuf_write(&sb, data, 1), 0);
	CHECK_EQ(ptcp_sendbuf_write(&sb, data, 0), 0);
	ptcp_sendbuf_consume(&sb, 8);
	CHECK_EQ(ptcp_sendbuf_len(&sb), 0);
	CHECK_EQ(sb.head, 0); /* wrapped exactly once around */
	CHECK_EQ(ptcp_sendbuf_peek(&sb, 0, out, 1), 0);
	/* consume(0) on an empty ring is harmless. */
	ptcp_sendbuf_consume(&sb, 0);
	CHECK_EQ(ptcp_sendbuf_len(&sb), 0);

	/* A zero-capacity ring accepts nothing and never divides by zero. */
	ptcp_sendbuf_init(&sb, NULL, 0);
	CHECK_EQ(ptcp_sendbuf_write(&sb, data, 5), 0);
	CHECK_EQ(ptcp_sendbuf_peek(&sb, 0, out, 5), 0);
	ptcp_sendbuf_consume(&sb, 0);
	CHECK_EQ(sb.head, 0);
}

/* Every head position of a 7-byte ring, every fill level, every write size,
 * then every peek window and every consume: compared with a linear model
 * (the model holds stream bytes [base, base + len)). */
#define SMALL_CAP 7

static void check_against_model(const struct ptcp_sendbuf *sb, size_t base, size_t len)
{
	uint8_t out[SMALL_CAP + 2], exp[SMALL_CAP + 2];
	size_t off, n;

	CHECK_EQ(ptcp_sendbuf_len(sb), len);
	CHECK_EQ(ptcp_sendbuf_space(sb), SMALL_CAP - len);
	for (off = 0; off <= SMALL_CAP; off++) {
		for (n = 0; n <= SMALL_CAP + 1; n++) {
			size_t want = off >= len ? 0 : (n < len - off ? n : len - off);

			memset(out, 0xee, sizeof(out));
			CHECK_EQ(ptcp_sendbuf_peek(sb, off, out, n), want);
			check_fill_stream(exp, base + off, want);
			CHECK(memcmp(out, exp, want) == 0);
			/* Nothing written past the returned count. */
			CHECK(want == sizeof(out) || out[want] == 0xee);
		}
	}
}

static void test_wrap_exhaustive(void)
{
	uint8_t mem[SMALL_CAP], data[SMALL_CAP + 2];
	size_t head, pre, n, k;

	for (head = 0; head < SMALL_CAP; head++) {
		for (pre = 0; pre <= SMALL_CAP; pre++) {
			for (n = 0; n <= SMALL_CAP + 1; n++) {
				for (k = 0; k <= SMALL_CAP; k++) {
					struct ptcp_sendbuf sb;
					size_t base = 0, len, fit;

					ptcp_sendbuf_init(&sb, mem, sizeof(mem));
					memset(mem, 0, sizeof(mem));
					/* Move head to its position with stream bytes. */
					check_fill_stream(data, 0, head);
					CHECK_EQ(ptcp_sendbuf_write(&sb, data, head), head);
					ptcp_sendbuf_consume(&sb, head);
					base = head;
					CHECK_EQ(sb.head, head);
					check_fill_stream(data, base, pre);
					CHECK_EQ(ptcp_sendbuf_write(&sb, data, pre), pre);
					len = pre;

					fit = n < SMALL_CAP - len ? n : SMALL_CAP - len;
					check_fill_stream(data, base + len, n);
					CHECK_EQ(ptcp_sendbuf_write(&sb, data, n), fit);
					len += fit;
					check_against_model(&sb, base, len);

					if (k > len)
						continue;
					ptcp_sendbuf_consume(&sb, k);
					base += k;
					len -= k;
					CHECK_EQ(sb.head, base % SMALL_CAP);
					check_against_model(&sb, base, len);
					if (check_failed())
						return;
				}
			}
		}
	}
}

/* A long stream through a ring of odd size with random write, peek and
 * consume sizes, as a bulk sender would use it. */
static void test_streaming(void)
{
	static uint8_t mem[1021], data[4096], out[4096], exp[4096];
	struct ptcp_sendbuf sb;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	size_t written = 0, acked = 0, total = 2000000;
	unsigned iter = 0;

	ptcp_sendbuf_init(&sb, mem, sizeof(mem));
	while (acked < total && iter++ < 1000000) {
		size_t n = (size_t)(check_xorshift64(&seed) % 1500) + 1, got, off;

		if (n > total - written)
			n = total - written;
		check_fill_stream(data, written, n);
		got = ptcp_sendbuf_write(&sb, data, n);
		CHECK_EQ(got, n < sizeof(mem) - (written - acked) ? n : sizeof(mem) - (written - acked));
		written += got;

		/* Peek a random slice, as a (re)transmission would. */
		off = (size_t)(check_xorshift64(&seed) % (sb.len + 1));
		n = (size_t)(check_xorshift64(&seed) % 1500);
		got = ptcp_sendbuf_peek(&sb, off, out, n);
		CHECK_EQ(got, n < sb.len - off ? n : sb.len - off);
		check_fill_stream(exp, acked + off, got);
		CHECK(memcmp(out, exp, got) == 0);

		n = (size_t)(check_xorshift64(&seed) % (sb.len + 1));
		ptcp_sendbuf_consume(&sb, n);
		acked += n;
		CHECK_EQ(ptcp_sendbuf_len(&sb), written - acked);
		if (check_failed())
			return;
	}
	CHECK_EQ(acked, total);
}

int main(void)
{
	RUN(test_basic);
	RUN(test_full_and_empty);
	RUN(test_wrap_exhaustive);
	RUN(test_streaming);
	return check_summary();
}
