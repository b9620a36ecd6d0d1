/* Peer ids: base32 (RFC 4648 section 6, lower case, no padding) of the
 * public key and its CRC-16. See peerid.h for the format. */
#include "peerid.h"

#include <string.h>

#define RAW_LEN (PTCP_PEERID_KEY_LEN + 2)   /* key + CRC, bytes */

static const char alphabet[32] = "abcdefghijklmnopqrstuvwxyz234567";

uint16_t ptcp_peerid_crc16(const uint8_t *p, size_t n)
{
	uint16_t crc = 0xffff;

	for (size_t i = 0; i < n; i++) {
		crc ^= (uint16_t)(p[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
	}
	return crc;
}

/* The 5-bit value of a base32 character, either case, or -1. */
static int b32_value(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

static int label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* Checks label[0..n): returns 0 or the offset of the first bad character
 * plus one (n + 1 when it is merely too long or empty). */
static size_t label_check(const char *label, size_t n)
{
	if (n == 0 || n > PTCP_PEERID_LABEL_MAX)
		return n + 1;
	for (size_t i = 0; i < n; i++)
		if (!label_char(label[i]))
			return i + 1;
	return 0;
}

int ptcp_peerid_encode(char *out, size_t cap, const uint8_t key[PTCP_PEERID_KEY_LEN],
                       const char *label)
{
	uint8_t raw[RAW_LEN];
	size_t label_len = 0, need, pos = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	uint16_t crc;

	if (label) {
		/* No strlen in here: count with a bound one past the limit. */
		while (label_len <= PTCP_PEERID_LABEL_MAX && label[label_len])
			label_len++;
		if (label_check(label, label_len) != 0)
			return PTCP_PEERID_E_LABEL;
	}
	need = (label ? label_len + 1 : 0) + PTCP_PEERID_CHARS + 1;
	if (cap < need) {
		if (cap > 0)
			out[0] = '\0';
		return PTCP_PEERID_E_NOBUF;
	}
	if (label) {
		memcpy(out, label, label_len);
		out[label_len] = '-';
		pos = label_len + 1;
	}

	memcpy(raw, key, PTCP_PEERID_KEY_LEN);
	crc = ptcp_peerid_crc16(key, PTCP_PEERID_KEY_LEN);
	raw[PTCP_PEERID_KEY_LEN] = (uint8_t)(crc >> 8);
	raw[PTCP_PEERID_KEY_LEN + 1] = (uint8_t)crc;
	for (size_t i = 0; i < RAW_LEN; i++) {
		acc = acc << 8 | raw[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[pos++] = alphabet[(acc >> bits) & 31];
		}
	}
	/* 272 bits leave 2 over: they go in the high bits of the last
	 * character, its low 3 bits are zero (RFC 4648 section 6). */
	if (bits > 0)
		out[pos++] = alphabet[(acc << (5 - bits)) & 31];
	out[pos] = '\0';
	return (int)pos;
}

int ptcp_peerid_decode(uint8_t key[PTCP_PEERID_KEY_LEN], const char *text, size_t len,
                       size_t *bad_pos)
{
	uint8_t raw[RAW_LEN];
	const char *b32 = text;
	size_t start = 0, out = 0, bad;
	uint32_t acc = 0;
	unsigned bits = 0;
	uint16_t crc;
	int v;

	if (bad_pos)
		*bad_pos = len;
	if (len == 0)
		return PTCP_PEERID_E_EMPTY;
	/* The key part never holds a '-', so the last one ends the label. */
	for (size_t i = len; i > 0; i--) {
		if (text[i - 1] == '-') {
			start = i;
			break;
		}
	}
	if (len - start != PTCP_PEERID_CHARS)
		return PTCP_PEERID_E_LENGTH;
	if (start > 0 && (bad = label_check(text, start - 1)) != 0) {
		if (bad_pos)
			*bad_pos = bad <= start - 1 ? bad - 1 : 0;
		return PTCP_PEERID_E_LABEL;
	}
	b32 = text + start;

	for (size_t i = 0; i < PTCP_PEERID_CHARS; i++) {
		v = b32_value(b32[i]);
		if (v < 0) {
			if (bad_pos)
				*bad_pos = start + i;
			return PTCP_PEERID_E_CHAR;
		}
		acc = acc << 5 | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			raw[out++] = (uint8_t)(acc >> bits);
		}
	}
	/* 55 * 5 = 275 bits: 272 of data and 3 that must be zero, so that
	 * each id has exactly one spelling (up to case). */
	if (out != RAW_LEN || bits != 3 || (acc & 7) != 0) {
		if (bad_pos)
			*bad_pos = len - 1;
		return PTCP_PEERID_E_PADDING;
	}
	crc = ptcp_peerid_crc16(raw, PTCP_PEERID_KEY_LEN);
	if (raw[PTCP_PEERID_KEY_LEN] != (uint8_t)(crc >> 8) ||
	    raw[PTCP_PEERID_KEY_LEN + 1] != (uint8_t)crc)
		return PTCP_PEERID_E_CHECKSUM;
	memcpy(key, raw, PTCP_PEERID_KEY_LEN);
	return 0;
}

const char *ptcp_peerid_strerror(int err)
{
	switch (err) {
	case PTCP_PEERID_E_EMPTY: return "empty peer id";
	case PTCP_PEERID_E_LENGTH: return "wrong length (a peer id has 55 characters after the optional 'label-')";
	case PTCP_PEERID_E_CHAR: return "invalid character (peer ids use only a-z and 2-7)";
	case PTCP_PEERID_E_PADDING: return "impossible last character (mistyped?)";
	case PTCP_PEERID_E_CHECKSUM: return "bad checksum (mistyped?)";
	case PTCP_PEERID_E_LABEL: return "invalid label (1 to 32 of a-z A-Z 0-9 _ . - before the id)";
	case PTCP_PEERID_E_NOBUF: return "output buffer too small";
	}
	return "unknown error";
}
