/* libFuzzer target for the relay codec (core/proto/relaymsg.h), which
 * parses what anyone on the Internet sends to a relay port.
 *
 * 1. The input as one message: whenever it parses, emitting the struct
 *    gives back exactly the input (canonical encoding), the framer agrees
 *    on its length, and one byte less of buffer is refused.
 * 2. The input as a byte stream cut by the framer as the relay does:
 *    every frame it accepts parses, and the walk ends.
 * 3. The input as the fields of a struct to emit: whatever emits parses
 *    back to the same struct.
 * Any mismatch aborts, which libFuzzer reports as a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relaymsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                              \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                   \
		}                                                                  \
	} while (0)

static void one_message(const uint8_t *data, size_t size)
{
	struct ptcp_relay_msg m, back;
	uint8_t *out;
	int n;

	if (ptcp_relay_parse(&m, data, size) != 0)
		return;
	REQUIRE(ptcp_relay_frame(data, size) == (int)size);
	REQUIRE(m.type != PTCP_RELAY_ERROR || m.error.text[m.error.text_len] == '\0');
	out = malloc(size);
	REQUIRE(out);
	REQUIRE(ptcp_relay_emit(&m, out, size - 1) == -PTCP_RELAY_E_NOBUF);
	n = ptcp_relay_emit(&m, out, size);
	REQUIRE(n == (int)size);
	REQUIRE(memcmp(out, data, size) == 0);
	REQUIRE(ptcp_relay_parse(&back, out, size) == 0);
	REQUIRE(memcmp(&m, &back, sizeof(m)) == 0);
	free(out);
}

static void stream(const uint8_t *data, size_t size)
{
	struct ptcp_relay_msg m;
	size_t off = 0;
	int n;

	while (off < size) {
		n = ptcp_relay_frame(data + off, size - off);
		if (n <= 0)
			break;
		REQUIRE((size_t)n <= size - off && n <= PTCP_RELAY_MSG_MAX);
		REQUIRE(ptcp_relay_parse(&m, data + off, (size_t)n) == 0 ||
			m.type == PTCP_RELAY_ERROR);
		off += (size_t)n;
	}
}

static void from_fields(const uint8_t *data, size_t size)
{
	struct ptcp_relay_msg m, back;
	uint8_t buf[PTCP_RELAY_MSG_MAX];
	int n;

	memset(&m, 0, sizeof(m));
	memcpy(&m, data, size < sizeof(m) ? size : sizeof(m));
	if (m.type == PTCP_RELAY_ERROR && m.error.text_len <= PTCP_RELAY_TEXT_MAX)
		m.error.text[m.error.text_len] = '\0';
	n = ptcp_relay_emit(&m, buf, sizeof(buf));
	if (n < 0)
		return;
	REQUIRE(ptcp_relay_parse(&back, buf, (size_t)n) == 0);
	REQUIRE(ptcp_relay_emit(&back, buf, sizeof(buf)) == n);
	REQUIRE(back.type == m.type);
	if (m.type == PTCP_RELAY_JOIN)
		REQUIRE(memcmp(&m.join, &back.join, sizeof(m.join)) == 0);
	if (m.type == PTCP_RELAY_ERROR)
		REQUIRE(m.error.code == back.error.code && m.error.text_len == back.error.text_len &&
			memcmp(m.error.text, back.error.text, m.error.text_len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one_message(data, size);
	stream(data, size);
	from_fields(data, size);
	return 0;
}
