/* Messages between rendezvousd instances: see clustermsg.h. */
#include "clustermsg.h"

#include <string.h>

#include "be.h"

#define REQUEST_LEN (2 * 8 + 2 * PTCP_RDV_KEY_LEN + 2 * PTCP_RDV_EP_LEN + 3 * 4)
#define CANCEL_LEN (8 + 2 * PTCP_RDV_KEY_LEN)
#define REPLACED_LEN (PTCP_RDV_KEY_LEN + PTCP_RDV_EP_LEN)
#define ANSWER_FIXED (8 + PTCP_RDV_KEY_LEN)

static void put64(uint8_t *p, uint64_t v)
{
	ptcp_put32(p, (uint32_t)(v >> 32));
	ptcp_put32(p + 4, (uint32_t)v);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)ptcp_get32(p) << 32 | ptcp_get32(p + 4);
}

/* What an ANSWER may carry: a MATCH, or an ERROR that ends the request
 * only (a fatal one would be the asker's own instance's to send). */
static bool answer_ok(const struct ptcp_rdv_msg *m)
{
	if (m->type == PTCP_RDV_MATCH)
		return true;
	return m->type == PTCP_RDV_ERROR && !(m->error.flags & PTCP_RDV_ERR_FATAL) &&
	       m->error.code >= 1 && m->error.code <= PTCP_RDV_E_WIRE_MAX;
}

static bool request_ok(const struct ptcp_rdvd_cmsg *m)
{
	return m->request.observed.family != PTCP_AF_NONE &&
	       m->request.rtt_ms <= PTCP_RDVD_RTT_MAX_MS && m->request.wait_ms <= PTCP_RDV_WAIT_MAX_MS;
}

int ptcp_rdvd_cmsg_parse(struct ptcp_rdvd_cmsg *m, const uint8_t *buf, size_t len)
{
	const uint8_t *b = buf + PTCP_RDVD_CMSG_HDR_LEN;
	size_t n;

	if (len < PTCP_RDVD_CMSG_HDR_LEN || buf[0] != 'P' || buf[1] != 'C')
		return -PTCP_RDV_E_MALFORMED;
	if (buf[2] != PTCP_RDVD_CMSG_VERSION)
		return -PTCP_RDV_E_VERSION;
	memset(m, 0, sizeof(*m));
	m->type = buf[3];
	memcpy(m->sender, buf + 4, PTCP_RDVD_INST_LEN);
	n = len - PTCP_RDVD_CMSG_HDR_LEN;
	switch (m->type) {
	case PTCP_RDVD_CMSG_REQUEST:
		if (n != REQUEST_LEN)
			return -PTCP_RDV_E_MALFORMED;
		memcpy(m->request.reply_to, b, 8);
		m->request.id = get64(b + 8);
		memcpy(m->request.target, b + 16, PTCP_RDV_KEY_LEN);
		memcpy(m->request.asker, b + 48, PTCP_RDV_KEY_LEN);
		if (ptcp_rdv_endpoint_get(&m->request.observed, b + 80) != 0 ||
		    ptcp_rdv_endpoint_get(&m->request.priv, b + 99) != 0)
			return -PTCP_RDV_E_MALFORMED;
		m->request.isn = ptcp_get32(b + 118);
		m->request.rtt_ms = ptcp_get32(b + 122);
		m->request.wait_ms = ptcp_get32(b + 126);
		return request_ok(m) ? 0 : -PTCP_RDV_E_MALFORMED;
	case PTCP_RDVD_CMSG_ANSWER:
		if (n < ANSWER_FIXED + PTCP_RDV_HDR_LEN)
			return -PTCP_RDV_E_MALFORMED;
		m->answer.id = get64(b);
		memcpy(m->answer.asker, b + 8, PTCP_RDV_KEY_LEN);
		/* exactly one rendezvous message, canonical, and one that may
		 * answer a request */
		if (ptcp_rdv_parse(&m->answer.msg, b + ANSWER_FIXED, n - ANSWER_FIXED) != 0 ||
		    !answer_ok(&m->answer.msg))
			return -PTCP_RDV_E_MALFORMED;
		return 0;
	case PTCP_RDVD_CMSG_CANCEL:
		if (n != CANCEL_LEN)
			return -PTCP_RDV_E_MALFORMED;
		m->cancel.id = get64(b);
		memcpy(m->cancel.asker, b + 8, PTCP_RDV_KEY_LEN);
		memcpy(m->cancel.target, b + 40, PTCP_RDV_KEY_LEN);
		return 0;
	case PTCP_RDVD_CMSG_REPLACED:
		if (n != REPLACED_LEN)
			return -PTCP_RDV_E_MALFORMED;
		memcpy(m->replaced.key, b, PTCP_RDV_KEY_LEN);
		if (ptcp_rdv_endpoint_get(&m->replaced.observed, b + PTCP_RDV_KEY_LEN) != 0)
			return -PTCP_RDV_E_MALFORMED;
		return 0;
	}
	return -PTCP_RDV_E_MALFORMED;
}

int ptcp_rdvd_cmsg_emit(const struct ptcp_rdvd_cmsg *m, uint8_t *buf, size_t cap)
{
	uint8_t tmp[PTCP_RDVD_CMSG_MAX], *b = tmp + PTCP_RDVD_CMSG_HDR_LEN;
	size_t n;
	int k;

	switch (m->type) {
	case PTCP_RDVD_CMSG_REQUEST:
		if (!request_ok(m))
			return -PTCP_RDV_E_MALFORMED;
		memcpy(b, m->request.reply_to, 8);
		put64(b + 8, m->request.id);
		memcpy(b + 16, m->request.target, PTCP_RDV_KEY_LEN);
		memcpy(b + 48, m->request.asker, PTCP_RDV_KEY_LEN);
		if (ptcp_rdv_endpoint_put(b + 80, &m->request.observed) != 0 ||
		    ptcp_rdv_endpoint_put(b + 99, &m->request.priv) != 0)
			return -PTCP_RDV_E_MALFORMED;
		ptcp_put32(b + 118, m->request.isn);
		ptcp_put32(b + 122, m->request.rtt_ms);
		ptcp_put32(b + 126, m->request.wait_ms);
		n = REQUEST_LEN;
		break;
	case PTCP_RDVD_CMSG_ANSWER:
		if (!answer_ok(&m->answer.msg))
			return -PTCP_RDV_E_MALFORMED;
		put64(b, m->answer.id);
		memcpy(b + 8, m->answer.asker, PTCP_RDV_KEY_LEN);
		k = ptcp_rdv_emit(&m->answer.msg, b + ANSWER_FIXED,
				  sizeof(tmp) - PTCP_RDVD_CMSG_HDR_LEN - ANSWER_FIXED);
		if (k < 0)
			return k == -PTCP_RDV_E_NOBUF ? -PTCP_RDV_E_MALFORMED : k;
		n = ANSWER_FIXED + (size_t)k;
		break;
	case PTCP_RDVD_CMSG_CANCEL:
		put64(b, m->cancel.id);
		memcpy(b + 8, m->cancel.asker, PTCP_RDV_KEY_LEN);
		memcpy(b + 40, m->cancel.target, PTCP_RDV_KEY_LEN);
		n = CANCEL_LEN;
		break;
	case PTCP_RDVD_CMSG_REPLACED:
		memcpy(b, m->replaced.key, PTCP_RDV_KEY_LEN);
		if (ptcp_rdv_endpoint_put(b + PTCP_RDV_KEY_LEN, &m->replaced.observed) != 0)
			return -PTCP_RDV_E_MALFORMED;
		n = REPLACED_LEN;
		break;
	default:
		return -PTCP_RDV_E_MALFORMED;
	}
	n += PTCP_RDVD_CMSG_HDR_LEN;
	if (cap < n)
		return -PTCP_RDV_E_NOBUF;
	tmp[0] = 'P';
	tmp[1] = 'C';
	tmp[2] = PTCP_RDVD_CMSG_VERSION;
	tmp[3] = m->type;
	memcpy(tmp + 4, m->sender, PTCP_RDVD_INST_LEN);
	memcpy(buf, tmp, n);
	return (int)n;
}
