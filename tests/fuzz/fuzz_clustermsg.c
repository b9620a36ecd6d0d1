/* libFuzzer target for the messages between rendezvousd instances
 * (rendezvous/clustermsg.h), which an instance reads from Redis.
 *
 * 1. The input as one message: whenever it parses, emitting the struct
 *    gives back exactly the input (the encoding is canonical), and a
 *    buffer one byte short is refused without a byte written.
 * 2. The input as the fields of a struct to emit: whatever emits parses
 *    back to a struct that emits the same bytes.
 * Any mismatch aborts, which libFuzzer reports as a crash. */
#include <string.h>

#include "clustermsg.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_message(const uint8_t *data, size_t size)
{
	uint8_t out[PTCP_RDVD_CMSG_MAX];
	struct ptcp_rdvd_cmsg m;
	int n;

	if (ptcp_rdvd_cmsg_parse(&m, data, size) != 0)
		return;
	REQUIRE(size <= PTCP_RDVD_CMSG_MAX);
	n = ptcp_rdvd_cmsg_emit(&m, out, sizeof(out));
	REQUIRE(n == (int)size);
	REQUIRE(memcmp(out, data, size) == 0);
	memset(out, 0xaa, sizeof(out));
	REQUIRE(ptcp_rdvd_cmsg_emit(&m, out, size - 1) == -PTCP_RDV_E_NOBUF);
	REQUIRE(out[0] == 0xaa);
}

static void endpoint(struct reader *r, struct ptcp_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = (uint8_t)(u8(r) % 3 * 2);   /* 0, 2 (unknown) or 4 */
	if (ep->family == 2)
		ep->family = u8(r) & 1 ? PTCP_AF_INET6 : 7;
	for (int i = 0; i < 16; i++)
		ep->addr[i] = u8(r);
	ep->port = u16(r);
}

static void from_fields(const uint8_t *data, size_t size)
{
	struct reader r = { data, size };
	struct ptcp_rdvd_cmsg m, back;
	uint8_t out[PTCP_RDVD_CMSG_MAX], again[PTCP_RDVD_CMSG_MAX];
	int n;

	memset(&m, 0, sizeof(m));
	m.type = (uint8_t)(u8(&r) % 6);
	for (int i = 0; i < PTCP_RDVD_INST_LEN; i++)
		m.sender[i] = u8(&r);
	switch (m.type) {
	case PTCP_RDVD_CMSG_REQUEST:
		for (int i = 0; i < PTCP_RDV_KEY_LEN; i++) {
			m.request.target[i] = u8(&r);
			m.request.asker[i] = u8(&r);
		}
		m.request.id = (uint64_t)u32(&r) << 32 | u32(&r);
		endpoint(&r, &m.request.observed);
		endpoint(&r, &m.request.priv);
		m.request.isn = u32(&r);
		m.request.rtt_ms = u16(&r);
		m.request.wait_ms = u32(&r) % (2 * PTCP_RDV_WAIT_MAX_MS);
		break;
	case PTCP_RDVD_CMSG_ANSWER:
		m.answer.id = u32(&r);
		if (u8(&r) & 1) {
			m.answer.msg.type = PTCP_RDV_MATCH;
			endpoint(&r, &m.answer.msg.match.peer_public);
			endpoint(&r, &m.answer.msg.match.peer_private);
			m.answer.msg.match.role = u8(&r) % 4;
			m.answer.msg.match.start_ms = u32(&r);
		} else {
			char text[PTCP_RDV_TEXT_MAX + 8];
			size_t k = u8(&r) % sizeof(text);

			for (size_t i = 0; i < k; i++)
				text[i] = (char)u8(&r);
			text[k] = '\0';
			ptcp_rdv_error_msg(&m.answer.msg, u8(&r) % 20, u8(&r) & 1, text);
		}
		break;
	case PTCP_RDVD_CMSG_CANCEL:
		m.cancel.id = u32(&r);
		m.cancel.asker[0] = u8(&r);
		break;
	case PTCP_RDVD_CMSG_REPLACED:
		m.replaced.key[0] = u8(&r);
		endpoint(&r, &m.replaced.observed);
		break;
	}
	n = ptcp_rdvd_cmsg_emit(&m, out, sizeof(out));
	if (n < 0)
		return;
	REQUIRE(n <= PTCP_RDVD_CMSG_MAX);
	REQUIRE(ptcp_rdvd_cmsg_parse(&back, out, (size_t)n) == 0);
	REQUIRE(ptcp_rdvd_cmsg_emit(&back, again, sizeof(again)) == n);
	REQUIRE(memcmp(out, again, (size_t)n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one_message(data, size);
	from_fields(data, size);
	return 0;
}
