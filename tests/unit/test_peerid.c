/* Tests of the peer-id text encoding (core/proto/peerid.h): the CRC's
 * check value, vectors computed independently (Python's base64.b32encode
 * and a CRC-16/CCITT-FALSE of its own), round trips with and without a
 * label and in upper case, and that every single-character typo, every
 * swap of two neighbours, every dropped or doubled character is an error.
 * The codec is compiled in directly: unit tests link only the engine. */
#include <string.h>

#include "check.h"

#include "../../core/proto/peerid.c"

static const char alpha[] = "abcdefghijklmnopqrstuvwxyz234567";

/* xorshift32: reproducible keys. */
static uint32_t rng = 0x12345678;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void random_key(uint8_t key[32])
{
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)next();
}

static int decode(uint8_t key[32], const char *s, size_t *pos)
{
	return ptcp_peerid_decode(key, s, strlen(s), pos);
}

static void test_crc_check_value(void)
{
	CHECK_EQ(ptcp_peerid_crc16((const uint8_t *)"123456789", 9), 0x29b1);
	CHECK_EQ(ptcp_peerid_crc16(NULL, 0), 0xffff);
}

static void test_vectors(void)
{
	uint8_t key[32], back[32];
	char out[PTCP_PEERID_TEXT_MAX];

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	CHECK_INT(ptcp_peerid_encode(out, sizeof(out), key, NULL), 55);
	CHECK(strcmp(out, "aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypshmy") == 0);
	CHECK_INT(decode(back, out, NULL), 0);
	CHECK(memcmp(back, key, 32) == 0);

	memset(key, 0, sizeof(key));
	CHECK_INT(ptcp_peerid_encode(out, sizeof(out), key, NULL), 55);
	CHECK(strcmp(out, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaapcta") == 0);
	memset(back, 0xee, sizeof(back));
	CHECK_INT(decode(back, out, NULL), 0);
	CHECK(memcmp(back, key, 32) == 0);
}

static void test_round_trips(void)
{
	uint8_t key[32], back[32];
	char out[PTCP_PEERID_TEXT_MAX];
	char upper[PTCP_PEERID_TEXT_MAX];

	for (int n = 0; n < 1000; n++) {
		random_key(key);
		CHECK_INT(ptcp_peerid_encode(out, sizeof(out), key, NULL), 55);
		CHECK_EQ(strlen(out), 55);
		for (size_t i = 0; i < 55; i++)
			CHECK(strchr(alpha, out[i]) != NULL);
		memset(back, 0, sizeof(back));
		CHECK_INT(decode(back, out, NULL), 0);
		CHECK(memcmp(back, key, 32) == 0);

		for (size_t i = 0; i <= 55; i++)
			upper[i] = (char)(out[i] >= 'a' && out[i] <= 'z' ? out[i] - 32 : out[i]);
		memset(back, 0, sizeof(back));
		CHECK_INT(decode(back, upper, NULL), 0);
		CHECK(memcmp(back, key, 32) == 0);

		CHECK_INT(ptcp_peerid_encode(out, sizeof(out), key, "home-Box_2.lan"), 15 + 55);
		CHECK(strncmp(out, "home-Box_2.lan-", 15) == 0);
		memset(back, 0, sizeof(back));
		CHECK_INT(decode(back, out, NULL), 0);
		CHECK(memcmp(back, key, 32) == 0);
		if (check_failed())
			return;
	}
}

/* Every one-character substitution in the key part, to every other
 * base32 character and to characters outside the alphabet, is an error;
 * so is every swap of two different neighbours. Case changes are not
 * typos. */
static void test_typos_detected(void)
{
	static const char others[] = "01890-+_ ./\x7f\xc3";
	uint8_t key[32], back[32];
	char id[PTCP_PEERID_TEXT_MAX], t[PTCP_PEERID_TEXT_MAX];
	unsigned tried = 0;
	size_t pos;
	int rv;

	for (int n = 0; n < 40; n++) {
		random_key(key);
		ptcp_peerid_encode(id, sizeof(id), key, NULL);
		for (size_t i = 0; i < 55; i++) {
			for (size_t a = 0; a < 32; a++) {
				if (alpha[a] == id[i])
					continue;
				memcpy(t, id, 56);
				t[i] = alpha[a];
				rv = decode(back, t, &pos);
				tried++;
				if (rv == 0) {
					check_fail(__FILE__, __LINE__, "typo at %zu ('%c' for '%c') decoded",
						   i, alpha[a], id[i]);
					return;
				}
				CHECK(rv == PTCP_PEERID_E_CHECKSUM || rv == PTCP_PEERID_E_PADDING);
			}
			for (size_t a = 0; a < sizeof(others) - 1; a++) {
				memcpy(t, id, 56);
				t[i] = others[a];
				rv = decode(back, t, &pos);
				if (others[a] == '-') {
					/* now a label of i chars and a short key part */
					CHECK_INT(rv, PTCP_PEERID_E_LENGTH);
				} else {
					CHECK_INT(rv, PTCP_PEERID_E_CHAR);
					CHECK_EQ(pos, i);
				}
			}
			if (i + 1 < 55 && id[i] != id[i + 1]) {
				memcpy(t, id, 56);
				t[i] = id[i + 1];
				t[i + 1] = id[i];
				rv = decode(back, t, NULL);
				tried++;
				if (rv == 0) {
					check_fail(__FILE__, __LINE__, "swap at %zu decoded", i);
					return;
				}
			}
		}
	}
	CHECK(tried > 40 * 55 * 31);
}

static void test_length_errors(void)
{
	uint8_t key[32], back[32];
	char id[PTCP_PEERID_TEXT_MAX], t[PTCP_PEERID_TEXT_MAX + 2];

	random_key(key);
	ptcp_peerid_encode(id, sizeof(id), key, NULL);
	CHECK_INT(decode(back, "", NULL), PTCP_PEERID_E_EMPTY);
	for (size_t i = 0; i < 55; i++) {
		/* drop character i */
		memcpy(t, id, i);
		memcpy(t + i, id + i + 1, 55 - i);
		CHECK_INT(decode(back, t, NULL), PTCP_PEERID_E_LENGTH);
		/* double character i */
		memcpy(t, id, i + 1);
		memcpy(t + i + 1, id + i, 56 - i);
		CHECK_INT(decode(back, t, NULL), PTCP_PEERID_E_LENGTH);
	}
	for (size_t n = 1; n < 55; n++)
		CHECK_INT(ptcp_peerid_decode(back, id, n, NULL), PTCP_PEERID_E_LENGTH);
	/* an explicit length: bytes after it are not looked at */
	memcpy(t, id, 56);
	t[55] = 'x';
	t[56] = '\0';
	CHECK_INT(ptcp_peerid_decode(back, t, 55, NULL), 0);
	CHECK_INT(decode(back, t, NULL), PTCP_PEERID_E_LENGTH);
	/* a label with a key part one short */
	snprintf(t, sizeof(t), "lab-%.54s", id);
	CHECK_INT(decode(back, t, NULL), PTCP_PEERID_E_LENGTH);
}

static void test_padding(void)
{
	uint8_t key[32], back[32];
	char id[PTCP_PEERID_TEXT_MAX];
	size_t pos = 0;
	int v;

	random_key(key);
	ptcp_peerid_encode(id, sizeof(id), key, NULL);
	/* The last character's low three bits are zero: a, e, i, ... */
	v = (int)(strchr(alpha, id[54]) - alpha);
	CHECK_EQ(v & 7, 0);
	id[54] = alpha[v | 1];
	CHECK_INT(decode(back, id, &pos), PTCP_PEERID_E_PADDING);
	CHECK_EQ(pos, 54);
}

static void test_labels(void)
{
	uint8_t key[32], back[32], orig[32];
	char id[PTCP_PEERID_TEXT_MAX], t[200];
	char long_label[40];
	size_t pos;

	random_key(key);
	memcpy(orig, key, 32);
	ptcp_peerid_encode(id, sizeof(id), key, NULL);

	snprintf(t, sizeof(t), "a-%s", id);
	CHECK_INT(decode(back, t, NULL), 0);
	snprintf(t, sizeof(t), "-%s", id);
	CHECK_INT(decode(back, t, &pos), PTCP_PEERID_E_LABEL);
	CHECK_EQ(pos, 0);
	snprintf(t, sizeof(t), "my box-%s", id);
	CHECK_INT(decode(back, t, &pos), PTCP_PEERID_E_LABEL);
	CHECK_EQ(pos, 2);
	snprintf(t, sizeof(t), "a--%s", id);
	CHECK_INT(decode(back, t, NULL), 0);

	memset(long_label, 'x', sizeof(long_label));
	long_label[32] = '\0';
	snprintf(t, sizeof(t), "%s-%s", long_label, id);
	CHECK_INT(decode(back, t, NULL), 0);
	CHECK_INT(ptcp_peerid_encode(t, sizeof(t), key, long_label), 32 + 1 + 55);
	long_label[32] = 'x';
	long_label[33] = '\0';
	snprintf(t, sizeof(t), "%s-%s", long_label, id);
	CHECK_INT(decode(back, t, NULL), PTCP_PEERID_E_LABEL);
	CHECK_INT(ptcp_peerid_encode(t, sizeof(t), key, long_label), PTCP_PEERID_E_LABEL);
	CHECK_INT(ptcp_peerid_encode(t, sizeof(t), key, ""), PTCP_PEERID_E_LABEL);
	CHECK_INT(ptcp_peerid_encode(t, sizeof(t), key, "a b"), PTCP_PEERID_E_LABEL);
	CHECK_INT(ptcp_peerid_encode(t, sizeof(t), key, "a:b"), PTCP_PEERID_E_LABEL);
	/* the output key is left alone on every failure */
	memset(back, 0xaa, sizeof(back));
	snprintf(t, sizeof(t), "x y-%s", id);
	CHECK(decode(back, t, NULL) != 0);
	id[3] = id[3] == 'a' ? 'b' : 'a';
	CHECK_INT(decode(back, id, NULL), PTCP_PEERID_E_CHECKSUM);
	for (int i = 0; i < 32; i++)
		CHECK_EQ(back[i], 0xaa);
	CHECK(memcmp(key, orig, 32) == 0);
}

static void test_encode_nobuf(void)
{
	uint8_t key[32];
	char out[PTCP_PEERID_TEXT_MAX];

	random_key(key);
	memset(out, 'z', sizeof(out));
	CHECK_INT(ptcp_peerid_encode(out, 55, key, NULL), PTCP_PEERID_E_NOBUF);
	CHECK_EQ(out[0], '\0');
	CHECK_EQ(out[1], 'z');
	CHECK_INT(ptcp_peerid_encode(out, 56, key, NULL), 55);
	CHECK_INT(ptcp_peerid_encode(out, 56 + 3, key, "abc"), PTCP_PEERID_E_NOBUF);
	CHECK_INT(ptcp_peerid_encode(out, 56 + 4, key, "abc"), 59);
	CHECK_INT(ptcp_peerid_encode(out, 0, key, NULL), PTCP_PEERID_E_NOBUF);
}

static void test_strerror(void)
{
	for (int e = PTCP_PEERID_E_NOBUF; e < 0; e++)
		CHECK(strcmp(ptcp_peerid_strerror(e), "unknown error") != 0);
	CHECK(strcmp(ptcp_peerid_strerror(0), "unknown error") == 0);
	CHECK(strcmp(ptcp_peerid_strerror(-99), "unknown error") == 0);
}

int main(void)
{
	RUN(test_crc_check_value);
	RUN(test_vectors);
	RUN(test_round_trips);
	RUN(test_typos_detected);
	RUN(test_length_errors);
	RUN(test_padding);
	RUN(test_labels);
	RUN(test_encode_nobuf);
	RUN(test_strerror);
	return check_summary();
}
