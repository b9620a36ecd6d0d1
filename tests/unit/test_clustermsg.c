/* Tests of the messages between rendezvousd instances
 * (rendezvous/clustermsg.h): the exact bytes of a REQUEST as
 * docs/protocol.md lays them out, round trips of every type, every
 * truncation and every extra byte refused, a wrong magic, version or
 * type, non-canonical endpoints, REQUEST bounds (no observed endpoint,
 * RTT, wait), ANSWERs that carry anything but one MATCH or one non-fatal
 * ERROR, and emission that never writes past its buffer. The codecs are
 * compiled in directly: unit tests link only the engine. */
#include <string.h>

#include "check.h"

#include "../../core/proto/rdvmsg.c"
#include "../../rendezvous/clustermsg.c"

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static void ep4(struct ptcp_endpoint *ep, uint8_t last, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = PTCP_AF_INET;
	ep->addr[0] = 203;
	ep->addr[1] = 0;
	ep->addr[2] = 113;
	ep->addr[3] = last;
	ep->port = port;
}

static void request(struct ptcp_rdvd_cmsg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = PTCP_RDVD_CMSG_REQUEST;
	fill(m->sender, 8, 1);
	fill(m->request.reply_to, 8, 2);
	m->request.id = 0x0102030405060708ULL;
	fill(m->request.target, 32, 3);
	fill(m->request.asker, 32, 4);
	ep4(&m->request.observed, 1, 40001);
	m->request.isn = 0xdeadbeef;
	m->request.rtt_ms = 25;
	m->request.wait_ms = 30000;
}

static void answer_match(struct ptcp_rdvd_cmsg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = PTCP_RDVD_CMSG_ANSWER;
	fill(m->sender, 8, 5);
	m->answer.id = 7;
	fill(m->answer.asker, 32, 6);
	m->answer.msg.type = PTCP_RDV_MATCH;
	fill(m->answer.msg.match.key, 32, 7);
	ep4(&m->answer.msg.match.peer_public, 2, 40002);
	m->answer.msg.match.peer_isn = 1;
	m->answer.msg.match.isn = 2;
	m->answer.msg.match.role = PTCP_RDV_ROLE_RESPONDER;
	m->answer.msg.match.start_ms = 200;
}

static void others(struct ptcp_rdvd_cmsg *cancel, struct ptcp_rdvd_cmsg *replaced,
                   struct ptcp_rdvd_cmsg *error)
{
	memset(cancel, 0, sizeof(*cancel));
	cancel->type = PTCP_RDVD_CMSG_CANCEL;
	cancel->cancel.id = UINT64_MAX;
	fill(cancel->cancel.asker, 32, 8);
	fill(cancel->cancel.target, 32, 9);
	memset(replaced, 0, sizeof(*replaced));
	replaced->type = PTCP_RDVD_CMSG_REPLACED;
	fill(replaced->replaced.key, 32, 10);
	ep4(&replaced->replaced.observed, 3, 5);
	answer_match(error);
	ptcp_rdv_error_msg(&error->answer.msg, PTCP_RDV_E_BUSY, false, "busy");
}

/* emit, then parse back: the same struct, and emit of that the same bytes */
static void round_trip(const struct ptcp_rdvd_cmsg *m, int want_len)
{
	uint8_t buf[PTCP_RDVD_CMSG_MAX + 1], again[PTCP_RDVD_CMSG_MAX];   /* + 1: the extra byte */
	struct ptcp_rdvd_cmsg back;
	int n = ptcp_rdvd_cmsg_emit(m, buf, sizeof(buf));

	CHECK_INT(n, want_len);
	if (n <= 0)
		return;
	CHECK_INT(ptcp_rdvd_cmsg_parse(&back, buf, (size_t)n), 0);
	CHECK_INT(ptcp_rdvd_cmsg_emit(&back, again, sizeof(again)), n);
	CHECK(memcmp(buf, again, (size_t)n) == 0);
	/* every truncation and one byte more are refused */
	for (int k = 0; k < n; k++)
		CHECK_INT(ptcp_rdvd_cmsg_parse(&back, buf, (size_t)k), -PTCP_RDV_E_MALFORMED);
	buf[n] = 0;
	CHECK_INT(ptcp_rdvd_cmsg_parse(&back, buf, (size_t)n + 1), -PTCP_RDV_E_MALFORMED);
	/* a buffer one byte short: nothing written */
	memset(again, 0xaa, sizeof(again));
	CHECK_INT(ptcp_rdvd_cmsg_emit(m, again, (size_t)n - 1), -PTCP_RDV_E_NOBUF);
	CHECK_EQ(again[0], 0xaa);
}

static void test_request_bytes(void)
{
	struct ptcp_rdvd_cmsg m, back;
	uint8_t buf[PTCP_RDVD_CMSG_MAX];
	int n;

	request(&m);
	n = ptcp_rdvd_cmsg_emit(&m, buf, sizeof(buf));
	CHECK_INT(n, 12 + 130);
	CHECK(buf[0] == 'P' && buf[1] == 'C' && buf[2] == 1 && buf[3] == 1);
	CHECK(memcmp(buf + 4, m.sender, 8) == 0);
	CHECK(memcmp(buf + 12, m.request.reply_to, 8) == 0);
	CHECK_EQ(buf[20], 0x01);
	CHECK_EQ(buf[27], 0x08);
	CHECK(memcmp(buf + 28, m.request.target, 32) == 0);
	CHECK(memcmp(buf + 60, m.request.asker, 32) == 0);
	/* observed endpoint: family 4, port 40001 (0x9c41), 203.0.113.1 */
	CHECK_EQ(buf[92], 4);
	CHECK_EQ(buf[93], 0x9c);
	CHECK_EQ(buf[94], 0x41);
	CHECK_EQ(buf[95], 203);
	CHECK_EQ(buf[98], 1);
	/* private endpoint: none, all zero */
	for (int i = 111; i < 130; i++)
		CHECK_EQ(buf[i], 0);
	CHECK_EQ(buf[130], 0xde);
	CHECK_EQ(buf[133], 0xef);
	CHECK_EQ(buf[137], 25);
	CHECK_EQ(buf[140], 0x75);   /* 30000 = 0x7530 */
	CHECK_EQ(buf[141], 0x30);
	CHECK_INT(ptcp_rdvd_cmsg_parse(&back, buf, (size_t)n), 0);
	CHECK_EQ(back.request.id, m.request.id);
	CHECK_EQ(back.request.isn, m.request.isn);
	CHECK_EQ(back.request.wait_ms, 30000);
	CHECK(ptcp_endpoint_equal(&back.request.observed, &m.request.observed));
	CHECK_EQ(back.request.priv.family, PTCP_AF_NONE);
}

static void test_round_trips(void)
{
	struct ptcp_rdvd_cmsg m, c, r, e;

	request(&m);
	round_trip(&m, 12 + 130);
	ep4(&m.request.priv, 9, 9);
	round_trip(&m, 12 + 130);
	answer_match(&m);
	round_trip(&m, 12 + 40 + 6 + 83);
	others(&c, &r, &e);
	round_trip(&c, 12 + 72);
	round_trip(&r, 12 + 51);
	round_trip(&e, 12 + 40 + 6 + 4 + 4);
	/* the longest ERROR text fits PTCP_RDVD_CMSG_MAX */
	ptcp_rdv_error_msg(&e.answer.msg, PTCP_RDV_E_NOT_WAITING, false,
			   "0123456789012345678901234567890123456789012345678901234567890123456789"
			   "01234567890123456789012345678901234567890123456789");
	CHECK_EQ(e.answer.msg.error.text_len, PTCP_RDV_TEXT_MAX);
	round_trip(&e, PTCP_RDVD_CMSG_MAX);
}

static void test_header(void)
{
	struct ptcp_rdvd_cmsg m, back;
	uint8_t buf[PTCP_RDVD_CMSG_MAX];
	int n;

	request(&m);
	n = ptcp_rdvd_cmsg_emit(&m, buf, sizeof(buf));
	buf[0] = 'X';
	CHECK_INT(ptcp_rdvd_cmsg_parse(&back, buf, (size_t)n), -PTCP_RDV_E_MALFORMED);
	buf[0] = 'P';
	buf[2] = 2;
	CHECK_INT(ptcp_rdvd_cmsg_parse(&back, buf, (size_t)n), -PTCP_RDV_E_VERSION);
	buf[2] = 1;
	for (unsigned t = 0; t < 256; t++) {
		if (t >= PTCP_RDVD_CMSG_REQUEST && t <= PTCP_RDVD_CMSG_REPLACED)
			continue;
		buf[3] = (uint8_t)t;
		CHECK_INT(ptcp_rdvd_cmsg_parse(&back, buf, (size_t)n), -PTCP_RDV_E_MALFORMED);
	}
	m.type = 9;
	CHECK_INT(ptcp_rdvd_cmsg_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
}

static void test_request_bounds(void)
{
	struct ptcp_rdvd_cmsg m, back;
	uint8_t buf[PTCP_RDVD_CMSG_MAX];
	int n;

	request(&m);
	m.request.rtt_ms = PTCP_RDVD_RTT_MAX_MS;
	CHECK(ptcp_rdvd_cmsg_emit(&m, buf, sizeof(buf)) > 0);
	m.request.rtt_ms = PTCP_RDVD_RTT_MAX_MS + 1;
	CHECK_INT(ptcp_rdvd_cmsg_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	request(&m);
	m.request.wait_ms = PTCP_RDV_WAIT_MAX_MS + 1;
	CHECK_INT(ptcp_rdvd_cmsg_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	request(&m);
	m.request.observed.family = PTCP_AF_NONE;
	memset(m.request.observed.addr, 0, 16);
	m.request.observed.port = 0;
	CHECK_INT(ptcp_rdvd_cmsg_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	/* the same on the wire: each rule holds when parsing too */
	request(&m);
	n = ptcp_rdvd_cmsg_emit(&m, buf, sizeof(buf));
	buf[12 + 122 + 2] = 0x27;   /* RTT 0x2711 = 10001 */
	buf[12 + 122 + 3] = 0x11;
	CHECK_INT(ptcp_rdvd_cmsg_parse(&back, buf, (size_t)n), -PTCP_RDV_E_MALFORMED);
	n = ptcp_rdvd_cmsg_emit(&m, buf, sizeof(buf));
	memset(buf + 12 + 80, 0, 19);   /* observed: none */
	CHECK_INT(ptcp_rdvd_cmsg_parse(&back, buf, (size_t)n), -PTCP_RDV_E_MALFORMED);
	n = ptcp_rdvd_cmsg_emit(&m, buf, sizeof(buf));
	buf[12 + 80 + 18] = 1;          /* IPv4 with padding */
	CHECK_INT(ptcp_rdvd_cmsg_parse(&back, buf, (size_t)n), -PTCP_RDV_E_MALFORMED);
	n = ptcp_rdvd_cmsg_emit(&m, buf, sizeof(buf));
	buf[12 + 99] = 5;               /* private: unknown family */
	CHECK_INT(ptcp_rdvd_cmsg_parse(&back, buf, (size_t)n), -PTCP_RDV_E_MALFORMED);
}

static void test_answer_content(void)
{
	struct ptcp_rdvd_cmsg m, back;
	uint8_t buf[PTCP_RDVD_CMSG_MAX + 8];
	struct ptcp_rdv_msg ping;
	int n, k;

	/* a fatal ERROR, an unknown code, a PING: not answers */
	answer_match(&m);
	ptcp_rdv_error_msg(&m.answer.msg, PTCP_RDV_E_BUSY, true, NULL);
	CHECK_INT(ptcp_rdvd_cmsg_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	ptcp_rdv_error_msg(&m.answer.msg, PTCP_RDV_E_WIRE_MAX + 1, false, NULL);
	CHECK_INT(ptcp_rdvd_cmsg_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	memset(&m.answer.msg, 0, sizeof(m.answer.msg));
	m.answer.msg.type = PTCP_RDV_PING;
	CHECK_INT(ptcp_rdvd_cmsg_emit(&m, buf, sizeof(buf)), -PTCP_RDV_E_MALFORMED);
	/* on the wire: a PING in place of the MATCH, and a MATCH with a
	 * second message after it */
	answer_match(&m);
	n = ptcp_rdvd_cmsg_emit(&m, buf, sizeof(buf));
	memset(&ping, 0, sizeof(ping));
	ping.type = PTCP_RDV_PING;
	k = ptcp_rdv_emit(&ping, buf + 52, sizeof(buf) - 52);
	CHECK_INT(ptcp_rdvd_cmsg_parse(&back, buf, 52 + (size_t)k), -PTCP_RDV_E_MALFORMED);
	n = ptcp_rdvd_cmsg_emit(&m, buf, sizeof(buf));
	k = ptcp_rdv_emit(&ping, buf + n, sizeof(buf) - (size_t)n);
	CHECK_INT(ptcp_rdvd_cmsg_parse(&back, buf, (size_t)(n + k)), -PTCP_RDV_E_MALFORMED);
	/* a MATCH whose role is not canonical */
	n = ptcp_rdvd_cmsg_emit(&m, buf, sizeof(buf));
	buf[52 + 6 + 32 + 38 + 8] = 3;
	CHECK_INT(ptcp_rdvd_cmsg_parse(&back, buf, (size_t)n), -PTCP_RDV_E_MALFORMED);
}

int main(void)
{
	RUN(test_request_bytes);
	RUN(test_round_trips);
	RUN(test_header);
	RUN(test_request_bounds);
	RUN(test_answer_content);
	return check_summary();
}
