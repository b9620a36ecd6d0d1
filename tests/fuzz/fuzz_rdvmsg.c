/* libFuzzer target for the rendezvous codec (core/proto/rdvmsg.h) and the
 * peer-id text (core/proto/peerid.h).
 *
 * 1. The input as one message: whenever it parses, emitting the struct
 *    gives back exactly the input (the encoding is canonical), the framer
 *    agrees on its length, and one byte less of buffer is refused.
 * 2. The input as a byte stream, cut into messages by the framer as a
 *    server does: every frame the framer accepts has a valid header, the
 *    walk always ends, and a framing error never comes after bytes that
 *    were framed as complete.
 * 3. The input as the fields of a struct to emit: whatever emits parses
 *    back to the same struct.
 * 4. The input as a typed peer id: whatever decodes encodes back to the
 *    same key, and the decoder never reads past the given length.
 * 5. The input as a registration, a HELLO then a CHALLENGE (version 2):
 *    both signers' transcripts differ only in their context string, hold
 *    the server key, both nonces, the client key and both endpoints at
 *    their places, and do not depend on the CHALLENGE's signature; every
 *    endpoint judged usable has that family, a port, and encodes.
 * Any mismatch aborts, which libFuzzer reports as a crash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peerid.h"
#include "rdvmsg.h"

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
	struct ptcp_rdv_msg m, back;
	struct ptcp_rdv_header h;
	uint8_t *out;
	int rv, n;

	rv = ptcp_rdv_parse(&m, data, size);
	if (size >= PTCP_RDV_HDR_LEN && ptcp_rdv_header_parse(&h, data, size) != 0)
		REQUIRE(rv != 0);
	if (rv != 0)
		return;
	REQUIRE(ptcp_rdv_frame(data, size) == (int)size);
	REQUIRE(ptcp_rdv_header_parse(&h, data, size) == 0 && h.type == m.type);
	REQUIRE(m.type != PTCP_RDV_ERROR || m.error.text[m.error.text_len] == '\0');
	/* exactly sized heap output, so ASan sees any write past it */
	out = malloc(size);
	REQUIRE(out);
	REQUIRE(ptcp_rdv_emit(&m, out, size - 1) == -PTCP_RDV_E_NOBUF);
	n = ptcp_rdv_emit(&m, out, size);
	REQUIRE(n == (int)size);
	REQUIRE(memcmp(out, data, size) == 0);
	REQUIRE(ptcp_rdv_parse(&back, out, size) == 0);
	REQUIRE(memcmp(&m, &back, sizeof(m)) == 0);
	free(out);
}

static void stream(const uint8_t *data, size_t size)
{
	size_t off = 0;
	unsigned steps = 0;

	while (off < size) {
		struct ptcp_rdv_header h;
		size_t avail = size - off;
		int n = ptcp_rdv_frame(data + off, avail);

		REQUIRE(++steps <= size);
		if (n <= 0)
			break;
		REQUIRE((size_t)n <= avail && n >= PTCP_RDV_HDR_LEN && n <= PTCP_RDV_MSG_MAX);
		REQUIRE(ptcp_rdv_header_parse(&h, data + off, avail) == 0);
		REQUIRE((size_t)n == (size_t)PTCP_RDV_HDR_LEN + h.len);
		off += (size_t)n;
	}
}

static void struct_input(const uint8_t *data, size_t size)
{
	struct ptcp_rdv_msg m, back;
	uint8_t buf[PTCP_RDV_MSG_MAX];
	int n;

	if (size < sizeof(m))
		return;
	memcpy(&m, data, sizeof(m));
	/* The union's unused parts and the spare address bytes of IPv4
	 * endpoints may hold anything here: compare encodings, not structs. */
	n = ptcp_rdv_emit(&m, buf, sizeof(buf));
	if (n < 0) {
		REQUIRE(n == -PTCP_RDV_E_MALFORMED);
		return;
	}
	REQUIRE(n >= PTCP_RDV_HDR_LEN && n <= PTCP_RDV_MSG_MAX);
	REQUIRE(ptcp_rdv_parse(&back, buf, (size_t)n) == 0);
	REQUIRE(back.type == m.type);
	{
		uint8_t again[PTCP_RDV_MSG_MAX];

		REQUIRE(ptcp_rdv_emit(&back, again, sizeof(again)) == n);
		REQUIRE(memcmp(again, buf, (size_t)n) == 0);
	}
}

static void peer_id(const uint8_t *data, size_t size)
{
	uint8_t key[PTCP_PEERID_KEY_LEN], key2[PTCP_PEERID_KEY_LEN];
	char text[PTCP_PEERID_TEXT_MAX];
	char *copy;
	size_t pos;
	int rv;

	/* an exact copy, so a read past size is seen */
	copy = malloc(size ? size : 1);
	REQUIRE(copy);
	memcpy(copy, data, size);
	rv = ptcp_peerid_decode(key, copy, size, &pos);
	REQUIRE(pos <= size);
	if (rv == 0) {
		REQUIRE(ptcp_peerid_encode(text, sizeof(text), key, NULL) == PTCP_PEERID_CHARS);
		REQUIRE(ptcp_peerid_decode(key2, text, PTCP_PEERID_CHARS, NULL) == 0);
		REQUIRE(memcmp(key, key2, sizeof(key)) == 0);
		/* the key part of the input is the encoding, up to case */
		for (size_t i = 0; i < PTCP_PEERID_CHARS; i++) {
			char c = copy[size - PTCP_PEERID_CHARS + i];

			REQUIRE((c >= 'A' && c <= 'Z' ? c + 32 : c) == text[i]);
		}
	} else {
		REQUIRE(rv >= PTCP_PEERID_E_LABEL && rv <= PTCP_PEERID_E_EMPTY);
	}
	free(copy);
}

static void check_usable(const struct ptcp_endpoint *ep)
{
	uint8_t enc[PTCP_RDV_EP_LEN];

	for (unsigned f = 0; f <= 6; f++) {
		if (!ptcp_rdv_endpoint_usable(ep, (uint8_t)f))
			continue;
		REQUIRE(f == ep->family && f != PTCP_AF_NONE && ep->port != 0);
		REQUIRE(ptcp_rdv_endpoint_put(enc, ep) == 0);
	}
}

static void registration(const uint8_t *data, size_t size)
{
	struct ptcp_rdv_msg hello, ch;
	uint8_t ts[PTCP_RDV_TRANSCRIPT_LEN], tc[PTCP_RDV_TRANSCRIPT_LEN], ep[PTCP_RDV_EP_LEN];
	int n = ptcp_rdv_frame(data, size), n2;

	if (n <= 0 || ptcp_rdv_parse(&hello, data, (size_t)n) != 0 || hello.type != PTCP_RDV_HELLO)
		return;
	check_usable(&hello.hello.private_ep);
	n2 = ptcp_rdv_frame(data + n, size - (size_t)n);
	if (n2 <= 0 || ptcp_rdv_parse(&ch, data + n, (size_t)n2) != 0 || ch.type != PTCP_RDV_CHALLENGE)
		return;
	check_usable(&ch.challenge.observed);
	REQUIRE(ptcp_rdv_transcript(ts, PTCP_RDV_SIGNER_SERVER, &hello, &ch) == PTCP_RDV_TRANSCRIPT_LEN);
	REQUIRE(ptcp_rdv_transcript(tc, PTCP_RDV_SIGNER_CLIENT, &hello, &ch) == PTCP_RDV_TRANSCRIPT_LEN);
	REQUIRE(memcmp(ts, PTCP_RDV_CONTEXT_SERVER, PTCP_RDV_CONTEXT_LEN) == 0);
	REQUIRE(memcmp(tc, PTCP_RDV_CONTEXT_CLIENT, PTCP_RDV_CONTEXT_LEN) == 0);
	REQUIRE(memcmp(ts + PTCP_RDV_CONTEXT_LEN, tc + PTCP_RDV_CONTEXT_LEN,
		       PTCP_RDV_TRANSCRIPT_LEN - PTCP_RDV_CONTEXT_LEN) == 0);
	REQUIRE(tc[32] == PTCP_RDV_VERSION);
	REQUIRE(memcmp(tc + 33, ch.challenge.server_key, 32) == 0);
	REQUIRE(memcmp(tc + 65, hello.hello.nonce, 32) == 0);
	REQUIRE(memcmp(tc + 97, ch.challenge.nonce, 32) == 0);
	REQUIRE(memcmp(tc + 129, hello.hello.key, 32) == 0);
	REQUIRE(ptcp_rdv_endpoint_put(ep, &ch.challenge.observed) == 0 && memcmp(tc + 161, ep, 19) == 0);
	REQUIRE(ptcp_rdv_endpoint_put(ep, &hello.hello.private_ep) == 0 && memcmp(tc + 180, ep, 19) == 0);
	/* the signature is not signed */
	ch.challenge.sig[0] ^= 1;
	REQUIRE(ptcp_rdv_transcript(ts, PTCP_RDV_SIGNER_CLIENT, &hello, &ch) == PTCP_RDV_TRANSCRIPT_LEN);
	REQUIRE(memcmp(ts, tc, sizeof(tc)) == 0);
	/* the messages in the wrong places are refused */
	REQUIRE(ptcp_rdv_transcript(ts, PTCP_RDV_SIGNER_CLIENT, &ch, &hello) == -PTCP_RDV_E_MALFORMED);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one_message(data, size);
	stream(data, size);
	struct_input(data, size);
	peer_id(data, size);
	registration(data, size);
	return 0;
}
