/* The relay protocol, version 1 (docs/protocol.md, "The relay"). */
#include "relaymsg.h"

#include <string.h>

#include "be.h"

_Static_assert(sizeof(PTCP_RELAY_CONTEXT) - 1 == PTCP_RELAY_CONTEXT_LEN, "context length");

static const struct {
	uint16_t min, max;   /* body bytes */
} limits[PTCP_RELAY_TYPE_MAX + 1] = {
	[PTCP_RELAY_JOIN] = { PTCP_RELAY_JOIN_LEN, PTCP_RELAY_JOIN_LEN },
	[PTCP_RELAY_READY] = { 0, 0 },
	[PTCP_RELAY_ERROR] = { 2, 2 + PTCP_RELAY_TEXT_MAX },
};

static bool printable(char c)
{
	return c >= 0x20 && c <= 0x7e;
}

static bool known_type(uint8_t type)
{
	return type >= 1 && type <= PTCP_RELAY_TYPE_MAX;
}

int ptcp_relay_frame(const uint8_t *buf, size_t avail)
{
	uint16_t len;

	if (avail >= 1 && buf[0] != PTCP_RELAY_MAGIC0)
		return -PTCP_RELAY_E_MALFORMED;
	if (avail >= 2 && buf[1] != PTCP_RELAY_MAGIC1)
		return -PTCP_RELAY_E_MALFORMED;
	if (avail >= 3 && buf[2] != PTCP_RELAY_VERSION)
		return -PTCP_RELAY_E_VERSION;
	if (avail >= 4 && !known_type(buf[3]))
		return -PTCP_RELAY_E_MALFORMED;
	if (avail < PTCP_RELAY_HDR_LEN)
		return 0;
	len = ptcp_get16(buf + 4);
	if (len > limits[buf[3]].max)
		return -PTCP_RELAY_E_TOO_BIG;
	if (len < limits[buf[3]].min)
		return -PTCP_RELAY_E_MALFORMED;
	if (avail < (size_t)PTCP_RELAY_HDR_LEN + len)
		return 0;
	return PTCP_RELAY_HDR_LEN + len;
}

int ptcp_relay_parse(struct ptcp_relay_msg *m, const uint8_t *buf, size_t len)
{
	const uint8_t *b = buf + PTCP_RELAY_HDR_LEN;
	int n = ptcp_relay_frame(buf, len);

	if (n < 0)
		return n;
	if (n == 0 || (size_t)n != len)
		return -PTCP_RELAY_E_MALFORMED;
	n -= PTCP_RELAY_HDR_LEN;
	memset(m, 0, sizeof(*m));
	m->type = buf[3];
	switch (m->type) {
	case PTCP_RELAY_JOIN:
		memcpy(m->join.token, b, PTCP_RELAY_TOKEN_LEN);
		memcpy(m->join.key, b + PTCP_RELAY_TOKEN_LEN, PTCP_RELAY_KEY_LEN);
		memcpy(m->join.sig, b + PTCP_RELAY_TOKEN_LEN + PTCP_RELAY_KEY_LEN, PTCP_RELAY_SIG_LEN);
		return 0;
	case PTCP_RELAY_READY:
		return 0;
	case PTCP_RELAY_ERROR:
		m->error.code = ptcp_get16(b);
		if (m->error.code == 0)
			return -PTCP_RELAY_E_MALFORMED;
		m->error.text_len = (uint8_t)(n - 2);
		for (unsigned i = 0; i < m->error.text_len; i++) {
			if (!printable((char)b[2 + i]))
				return -PTCP_RELAY_E_MALFORMED;
			m->error.text[i] = (char)b[2 + i];
		}
		m->error.text[m->error.text_len] = '\0';
		return 0;
	}
	return -PTCP_RELAY_E_MALFORMED;
}

int ptcp_relay_emit(const struct ptcp_relay_msg *m, uint8_t *buf, size_t cap)
{
	uint8_t body[PTCP_RELAY_BODY_MAX];
	size_t n = 0;

	switch (m->type) {
	case PTCP_RELAY_JOIN:
		memcpy(body, m->join.token, PTCP_RELAY_TOKEN_LEN);
		memcpy(body + PTCP_RELAY_TOKEN_LEN, m->join.key, PTCP_RELAY_KEY_LEN);
		memcpy(body + PTCP_RELAY_TOKEN_LEN + PTCP_RELAY_KEY_LEN, m->join.sig, PTCP_RELAY_SIG_LEN);
		n = PTCP_RELAY_JOIN_LEN;
		break;
	case PTCP_RELAY_READY:
		break;
	case PTCP_RELAY_ERROR:
		if (m->error.code == 0 || m->error.text_len > PTCP_RELAY_TEXT_MAX)
			return -PTCP_RELAY_E_MALFORMED;
		ptcp_put16(body, m->error.code);
		for (unsigned i = 0; i < m->error.text_len; i++) {
			if (!printable(m->error.text[i]))
				return -PTCP_RELAY_E_MALFORMED;
			body[2 + i] = (uint8_t)m->error.text[i];
		}
		n = 2 + (size_t)m->error.text_len;
		break;
	default:
		return -PTCP_RELAY_E_MALFORMED;
	}
	if (cap < PTCP_RELAY_HDR_LEN + n)
		return -PTCP_RELAY_E_NOBUF;
	buf[0] = PTCP_RELAY_MAGIC0;
	buf[1] = PTCP_RELAY_MAGIC1;
	buf[2] = PTCP_RELAY_VERSION;
	buf[3] = m->type;
	ptcp_put16(buf + 4, (uint16_t)n);
	memcpy(buf + PTCP_RELAY_HDR_LEN, body, n);
	return (int)(PTCP_RELAY_HDR_LEN + n);
}

void ptcp_relay_error_msg(struct ptcp_relay_msg *m, int code, const char *text)
{
	unsigned n = 0;

	memset(m, 0, sizeof(*m));
	m->type = PTCP_RELAY_ERROR;
	m->error.code = (uint16_t)(code < 0 ? -code : code);
	if (text)
		for (; n < PTCP_RELAY_TEXT_MAX && text[n]; n++)
			m->error.text[n] = printable(text[n]) ? text[n] : '?';
	m->error.text[n] = '\0';
	m->error.text_len = (uint8_t)n;
}

void ptcp_relay_transcript(uint8_t out[PTCP_RELAY_TRANSCRIPT_LEN],
                           const uint8_t token[PTCP_RELAY_TOKEN_LEN],
                           const uint8_t key[PTCP_RELAY_KEY_LEN])
{
	memcpy(out, PTCP_RELAY_CONTEXT, PTCP_RELAY_CONTEXT_LEN);
	out[PTCP_RELAY_CONTEXT_LEN] = PTCP_RELAY_VERSION;
	memcpy(out + PTCP_RELAY_CONTEXT_LEN + 1, token, PTCP_RELAY_TOKEN_LEN);
	memcpy(out + PTCP_RELAY_CONTEXT_LEN + 1 + PTCP_RELAY_TOKEN_LEN, key, PTCP_RELAY_KEY_LEN);
}

const char *ptcp_relay_strerror(int code)
{
	switch (code < 0 ? -code : code) {
	case PTCP_RELAY_E_MALFORMED:
		return "malformed relay message";
	case PTCP_RELAY_E_TOO_BIG:
		return "relay message too big";
	case PTCP_RELAY_E_VERSION:
		return "relay protocol version mismatch";
	case PTCP_RELAY_E_UNKNOWN_TOKEN:
		return "unknown, expired or used relay token";
	case PTCP_RELAY_E_BAD_SIGNATURE:
		return "relay join not signed by a peer of the match";
	case PTCP_RELAY_E_FULL:
		return "the relay is full";
	case PTCP_RELAY_E_TIMEOUT:
		return "relay timeout";
	case PTCP_RELAY_E_SHUTDOWN:
		return "the relay is stopping";
	case PTCP_RELAY_E_NOBUF:
		return "output buffer too small";
	default:
		return "unknown error";
	}
}
