/* The rendezvous wire protocol, version 2 (docs/protocol.md). */
#include "rdvmsg.h"

#include <string.h>

#include "be.h"

#define HELLO_LEN (PTCP_RDV_KEY_LEN + PTCP_RDV_NONCE_LEN + PTCP_RDV_EP_LEN)
#define CHALLENGE_LEN (PTCP_RDV_KEY_LEN + PTCP_RDV_NONCE_LEN + PTCP_RDV_EP_LEN + PTCP_RDV_SIG_LEN)
#define HELLO0_LEN (HELLO_LEN + 8 + PTCP_RDV_KEY_LEN + PTCP_RDV_SIG_LEN)
#define WELCOME_LEN (PTCP_RDV_EP_LEN + PTCP_RDV_SIG_LEN)
/* ... answering an open HELLO0: the server's key at its end. */
#define WELCOME_KEY_LEN (WELCOME_LEN + PTCP_RDV_KEY_LEN)
#define MATCH_LEN (PTCP_RDV_KEY_LEN + 2 * PTCP_RDV_EP_LEN + 4 + 4 + 1 + 4)
/* ... with the relay offer at its end: the relay's endpoint and token. */
#define MATCH_RELAY_LEN (MATCH_LEN + PTCP_RDV_EP_LEN + PTCP_RDV_TOKEN_LEN)

static const struct {
	uint16_t min, max;   /* body bytes */
} limits[PTCP_RDV_TYPE_MAX + 1] = {
	[PTCP_RDV_HELLO] = { HELLO_LEN, HELLO_LEN },
	[PTCP_RDV_CHALLENGE] = { CHALLENGE_LEN, CHALLENGE_LEN },
	[PTCP_RDV_AUTH] = { PTCP_RDV_SIG_LEN, PTCP_RDV_SIG_LEN },
	[PTCP_RDV_REGISTERED] = { 8, 11 },      /* 9: flags; 11: flags, probe port */
	[PTCP_RDV_LISTEN] = { 5, PTCP_RDV_BODY_MAX },
	[PTCP_RDV_CONNECT] = { PTCP_RDV_KEY_LEN + 8, PTCP_RDV_KEY_LEN + 8 + PTCP_RDV_TAIL_MAX },
	[PTCP_RDV_MATCH] = { MATCH_LEN, MATCH_RELAY_LEN + PTCP_RDV_TAIL_MAX },
	[PTCP_RDV_PING] = { 4, 4 },
	[PTCP_RDV_PONG] = { 4, 4 },
	[PTCP_RDV_ERROR] = { 4, 4 + PTCP_RDV_TEXT_MAX },
	[PTCP_RDV_BUSY] = { 0, 0 },
	[PTCP_RDV_HELLO0] = { HELLO0_LEN, HELLO0_LEN },
	[PTCP_RDV_WELCOME] = { WELCOME_LEN, WELCOME_KEY_LEN },
};

/* --- byte helpers ------------------------------------------------------- */

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= p[i];
	return d == 0;
}

static bool printable(char c)
{
	return c >= 0x20 && c <= 0x7e;
}

static void put_u64(uint8_t *p, uint64_t v)
{
	ptcp_put32(p, (uint32_t)(v >> 32));
	ptcp_put32(p + 4, (uint32_t)v);
}

static uint8_t *put_bytes(uint8_t *p, const void *src, size_t n)
{
	memcpy(p, src, n);
	return p + n;
}

/* --- endpoints ------------------------------------------------------------ */

int ptcp_rdv_endpoint_put(uint8_t out[PTCP_RDV_EP_LEN], const struct ptcp_endpoint *ep)
{
	memset(out, 0, PTCP_RDV_EP_LEN);
	switch (ep->family) {
	case PTCP_AF_NONE:
		return 0;
	case PTCP_AF_INET:
		/* addr[4..15] may hold anything (addr.h): never copy them. */
		memcpy(out + 3, ep->addr, 4);
		break;
	case PTCP_AF_INET6:
		memcpy(out + 3, ep->addr, 16);
		break;
	default:
		return -PTCP_RDV_E_MALFORMED;
	}
	/* An address without a port would not parse back. */
	if (ep->port == 0) {
		memset(out, 0, PTCP_RDV_EP_LEN);
		return -PTCP_RDV_E_MALFORMED;
	}
	out[0] = ep->family;
	ptcp_put16(out + 1, ep->port);
	return 0;
}

int ptcp_rdv_endpoint_get(struct ptcp_endpoint *ep, const uint8_t in[PTCP_RDV_EP_LEN])
{
	memset(ep, 0, sizeof(*ep));
	switch (in[0]) {
	case PTCP_AF_NONE:
		/* One spelling of "unknown": all zero. */
		return all_zero(in, PTCP_RDV_EP_LEN) ? 0 : -PTCP_RDV_E_MALFORMED;
	case PTCP_AF_INET:
		if (!all_zero(in + 3 + 4, 12))
			return -PTCP_RDV_E_MALFORMED;
		break;
	case PTCP_AF_INET6:
		break;
	default:
		return -PTCP_RDV_E_MALFORMED;
	}
	ep->family = in[0];
	ep->port = ptcp_get16(in + 1);
	if (ep->port == 0)
		return -PTCP_RDV_E_MALFORMED;
	memcpy(ep->addr, in + 3, 16);
	return 0;
}

bool ptcp_rdv_endpoint_usable(const struct ptcp_endpoint *ep, uint8_t family)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *a = ep->addr;

	if (ep->family != family || ep->port == 0)
		return false;
	if (family == PTCP_AF_INET)
		/* 0/8, 224/4 multicast, 240/4 and 255.255.255.255 */
		return a[0] != 0 && a[0] < 224;
	if (family == PTCP_AF_INET6)
		return !all_zero(a, 16) && a[0] != 0xff && memcmp(a, mapped, 12) != 0;
	return false;
}

/* --- the prediction tail of requests and MATCH -------------------------- */

/* Parses the n bytes (0, 1 or 5; a request's 0 or 5) after a request's or
 * a MATCH's fixed part: the flags byte (only when some flag is set, only
 * known ones) and the pattern exactly when pattern_flag is among them. */
static int tail_get(const uint8_t *b, unsigned n, uint8_t known, uint8_t pattern_flag,
                    uint8_t *flags, struct ptcp_rdv_pattern *pat)
{
	*flags = 0;
	memset(pat, 0, sizeof(*pat));
	if (n == 0)
		return 0;
	if (b[0] == 0 || (b[0] & ~(known | pattern_flag)))
		return -PTCP_RDV_E_MALFORMED;
	*flags = b[0] & known;
	if (!(b[0] & pattern_flag))
		return n == 1 ? 0 : -PTCP_RDV_E_MALFORMED;
	if (n != PTCP_RDV_TAIL_MAX)
		return -PTCP_RDV_E_MALFORMED;
	pat->last_port = ptcp_get16(b + 1);
	pat->delta = (int16_t)ptcp_get16(b + 3);
	return pat->last_port && pat->delta ? 0 : -PTCP_RDV_E_MALFORMED;
}

/* The length of the tail that flags and pat need, or -1 when they
 * cannot be encoded (an unknown flag, a pattern without a port). */
static int tail_len(uint8_t flags, const struct ptcp_rdv_pattern *pat, uint8_t known)
{
	if (flags & ~known)
		return -1;
	if (pat->delta)
		return pat->last_port ? PTCP_RDV_TAIL_MAX : -1;
	return flags ? 1 : 0;
}

static void tail_put(uint8_t *b, uint8_t flags, const struct ptcp_rdv_pattern *pat,
                     uint8_t pattern_flag)
{
	if (!flags && !pat->delta)
		return;
	b[0] = flags | (pat->delta ? pattern_flag : 0);
	if (!pat->delta)
		return;
	ptcp_put16(b + 1, pat->last_port);
	ptcp_put16(b + 3, (uint16_t)pat->delta);
}

#define REG_KNOWN (PTCP_RDV_REG_RELAY | PTCP_RDV_REG_PREDICT)
#define MATCH_KNOWN PTCP_RDV_MATCH_PREDICTED

/* --- header and framing -------------------------------------------------- */

int ptcp_rdv_body_limits(uint8_t type, uint16_t *min, uint16_t *max)
{
	if (type == 0 || type > PTCP_RDV_TYPE_MAX)
		return -PTCP_RDV_E_MALFORMED;
	*min = limits[type].min;
	*max = limits[type].max;
	return 0;
}

int ptcp_rdv_header_parse(struct ptcp_rdv_header *h, const uint8_t *buf, size_t len)
{
	uint16_t min, max;

	memset(h, 0, sizeof(*h));
	if (len < PTCP_RDV_HDR_LEN || buf[0] != PTCP_RDV_MAGIC0 || buf[1] != PTCP_RDV_MAGIC1)
		return -PTCP_RDV_E_MALFORMED;
	h->version = buf[2];
	if (h->version != PTCP_RDV_VERSION)
		return -PTCP_RDV_E_VERSION;
	h->type = buf[3];
	if (ptcp_rdv_body_limits(h->type, &min, &max) != 0)
		return -PTCP_RDV_E_MALFORMED;
	h->len = ptcp_get16(buf + 4);
	if (h->len > max)
		return -PTCP_RDV_E_TOO_BIG;
	if (h->len < min)
		return -PTCP_RDV_E_MALFORMED;
	return 0;
}

int ptcp_rdv_frame(const uint8_t *buf, size_t avail)
{
	struct ptcp_rdv_header h;
	uint16_t min, max;
	int rv;

	/* Judge each header byte as soon as it is there. */
	if (avail >= 1 && buf[0] != PTCP_RDV_MAGIC0)
		return -PTCP_RDV_E_MALFORMED;
	if (avail >= 2 && buf[1] != PTCP_RDV_MAGIC1)
		return -PTCP_RDV_E_MALFORMED;
	if (avail >= 3 && buf[2] != PTCP_RDV_VERSION)
		return -PTCP_RDV_E_VERSION;
	if (avail >= 4 && ptcp_rdv_body_limits(buf[3], &min, &max) != 0)
		return -PTCP_RDV_E_MALFORMED;
	if (avail < PTCP_RDV_HDR_LEN)
		return 0;
	if ((rv = ptcp_rdv_header_parse(&h, buf, avail)) != 0)
		return rv;
	if (avail < (size_t)PTCP_RDV_HDR_LEN + h.len)
		return 0;
	return PTCP_RDV_HDR_LEN + h.len;
}

/* --- bodies --------------------------------------------------------------- */

static int parse_body(struct ptcp_rdv_msg *m, const uint8_t *b, uint16_t n)
{
	uint8_t flags;   /* a request's: none but the wire-only PATTERN */
	int rv;

	switch (m->type) {
	case PTCP_RDV_HELLO:
		memcpy(m->hello.key, b, PTCP_RDV_KEY_LEN);
		memcpy(m->hello.nonce, b + PTCP_RDV_KEY_LEN, PTCP_RDV_NONCE_LEN);
		return ptcp_rdv_endpoint_get(&m->hello.private_ep,
					     b + PTCP_RDV_KEY_LEN + PTCP_RDV_NONCE_LEN);
	case PTCP_RDV_HELLO0:
		memcpy(m->hello0.key, b, PTCP_RDV_KEY_LEN);
		b += PTCP_RDV_KEY_LEN;
		memcpy(m->hello0.nonce, b, PTCP_RDV_NONCE_LEN);
		b += PTCP_RDV_NONCE_LEN;
		if ((rv = ptcp_rdv_endpoint_get(&m->hello0.private_ep, b)) != 0)
			return rv;
		b += PTCP_RDV_EP_LEN;
		m->hello0.time_ms = (uint64_t)ptcp_get32(b) << 32 | ptcp_get32(b + 4);
		memcpy(m->hello0.server_key, b + 8, PTCP_RDV_KEY_LEN);
		memcpy(m->hello0.sig, b + 8 + PTCP_RDV_KEY_LEN, PTCP_RDV_SIG_LEN);
		return 0;
	case PTCP_RDV_WELCOME:
		if ((rv = ptcp_rdv_endpoint_get(&m->welcome.observed, b)) != 0)
			return rv;
		if (m->welcome.observed.family == PTCP_AF_NONE)
			return -PTCP_RDV_E_MALFORMED;
		memcpy(m->welcome.sig, b + PTCP_RDV_EP_LEN, PTCP_RDV_SIG_LEN);
		if (n == WELCOME_LEN)
			return 0;
		if (n != WELCOME_KEY_LEN)
			return -PTCP_RDV_E_MALFORMED;
		m->welcome.has_key = 1;
		memcpy(m->welcome.server_key, b + WELCOME_LEN, PTCP_RDV_KEY_LEN);
		return 0;
	case PTCP_RDV_CHALLENGE:
		memcpy(m->challenge.server_key, b, PTCP_RDV_KEY_LEN);
		b += PTCP_RDV_KEY_LEN;
		memcpy(m->challenge.nonce, b, PTCP_RDV_NONCE_LEN);
		b += PTCP_RDV_NONCE_LEN;
		rv = ptcp_rdv_endpoint_get(&m->challenge.observed, b);
		/* The server always sees some address. */
		if (rv == 0 && m->challenge.observed.family == PTCP_AF_NONE)
			rv = -PTCP_RDV_E_MALFORMED;
		memcpy(m->challenge.sig, b + PTCP_RDV_EP_LEN, PTCP_RDV_SIG_LEN);
		return rv;
	case PTCP_RDV_AUTH:
		memcpy(m->auth.sig, b, PTCP_RDV_SIG_LEN);
		return 0;
	case PTCP_RDV_REGISTERED:
		m->registered.idle_ms = ptcp_get32(b);
		m->registered.max_wait_ms = ptcp_get32(b + 4);
		m->registered.flags = 0;
		m->registered.probe_port = 0;
		if (n == 8)
			return 0;
		/* Only the canonical form: flags present only when some are
		 * set, only the ones this version knows, and the probe port
		 * (never 0) exactly when its flag says so. */
		if (b[8] == 0 || (b[8] & ~(REG_KNOWN | PTCP_RDV_REG_PROBE)))
			return -PTCP_RDV_E_MALFORMED;
		m->registered.flags = b[8] & REG_KNOWN;
		if (!(b[8] & PTCP_RDV_REG_PROBE))
			return n == 9 ? 0 : -PTCP_RDV_E_MALFORMED;
		if (n != 11 || (m->registered.probe_port = ptcp_get16(b + 9)) == 0)
			return -PTCP_RDV_E_MALFORMED;
		return 0;
	case PTCP_RDV_LISTEN:
		m->listen.isn = ptcp_get32(b);
		m->listen.n_allow = b[4];
		if (m->listen.n_allow > PTCP_RDV_ALLOW_MAX ||
		    n < 5 + (unsigned)m->listen.n_allow * PTCP_RDV_KEY_LEN)
			return -PTCP_RDV_E_MALFORMED;
		memcpy(m->listen.allow, b + 5, (size_t)m->listen.n_allow * PTCP_RDV_KEY_LEN);
		return tail_get(b + 5 + m->listen.n_allow * PTCP_RDV_KEY_LEN,
				n - 5u - m->listen.n_allow * PTCP_RDV_KEY_LEN, 0, PTCP_RDV_REQ_PATTERN,
				&flags, &m->listen.pattern);
	case PTCP_RDV_CONNECT:
		memcpy(m->connect.key, b, PTCP_RDV_KEY_LEN);
		m->connect.isn = ptcp_get32(b + PTCP_RDV_KEY_LEN);
		m->connect.wait_ms = ptcp_get32(b + PTCP_RDV_KEY_LEN + 4);
		return tail_get(b + PTCP_RDV_KEY_LEN + 8, n - (PTCP_RDV_KEY_LEN + 8u), 0,
				PTCP_RDV_REQ_PATTERN, &flags, &m->connect.pattern);
	case PTCP_RDV_MATCH:
		memcpy(m->match.key, b, PTCP_RDV_KEY_LEN);
		b += PTCP_RDV_KEY_LEN;
		if ((rv = ptcp_rdv_endpoint_get(&m->match.peer_public, b)) != 0)
			return rv;
		if (m->match.peer_public.family == PTCP_AF_NONE)
			return -PTCP_RDV_E_MALFORMED;
		b += PTCP_RDV_EP_LEN;
		if ((rv = ptcp_rdv_endpoint_get(&m->match.peer_private, b)) != 0)
			return rv;
		b += PTCP_RDV_EP_LEN;
		m->match.peer_isn = ptcp_get32(b);
		m->match.isn = ptcp_get32(b + 4);
		m->match.role = b[8];
		m->match.start_ms = ptcp_get32(b + 9);
		if (m->match.role != PTCP_RDV_ROLE_INITIATOR && m->match.role != PTCP_RDV_ROLE_RESPONDER)
			return -PTCP_RDV_E_MALFORMED;
		b += 13;
		/* The tail is 0, 1 or 5 bytes: shorter than a relay offer. */
		if (n >= MATCH_RELAY_LEN) {
			m->match.has_relay = 1;
			if ((rv = ptcp_rdv_endpoint_get(&m->match.relay, b)) != 0)
				return rv;
			if (m->match.relay.family == PTCP_AF_NONE)
				return -PTCP_RDV_E_MALFORMED;
			memcpy(m->match.relay_token, b + PTCP_RDV_EP_LEN, PTCP_RDV_TOKEN_LEN);
			b += PTCP_RDV_EP_LEN + PTCP_RDV_TOKEN_LEN;
		}
		return tail_get(b, n - (m->match.has_relay ? MATCH_RELAY_LEN : MATCH_LEN), MATCH_KNOWN,
				PTCP_RDV_MATCH_PATTERN, &m->match.flags, &m->match.pattern);
	case PTCP_RDV_PING:
	case PTCP_RDV_PONG:
		m->ping.token = ptcp_get32(b);
		return 0;
	case PTCP_RDV_ERROR:
		m->error.code = ptcp_get16(b);
		m->error.flags = b[2];
		/* b[3] is reserved: zero in version 1. */
		if (m->error.code == 0 || (m->error.flags & ~PTCP_RDV_ERR_FATAL) || b[3] != 0)
			return -PTCP_RDV_E_MALFORMED;
		m->error.text_len = (uint8_t)(n - 4);
		for (unsigned i = 0; i < m->error.text_len; i++) {
			if (!printable((char)b[4 + i]))
				return -PTCP_RDV_E_MALFORMED;
			m->error.text[i] = (char)b[4 + i];
		}
		m->error.text[m->error.text_len] = '\0';
		return 0;
	case PTCP_RDV_BUSY:
		return 0;
	}
	return -PTCP_RDV_E_MALFORMED;
}

int ptcp_rdv_parse(struct ptcp_rdv_msg *m, const uint8_t *buf, size_t len)
{
	struct ptcp_rdv_header h;
	int rv;

	if ((rv = ptcp_rdv_header_parse(&h, buf, len)) != 0)
		return rv;
	if (len != (size_t)PTCP_RDV_HDR_LEN + h.len)
		return -PTCP_RDV_E_MALFORMED;
	memset(m, 0, sizeof(*m));
	m->type = h.type;
	return parse_body(m, buf + PTCP_RDV_HDR_LEN, h.len);
}

/* The body length m needs, or a negative code if it cannot be encoded. */
static int body_len(const struct ptcp_rdv_msg *m)
{
	uint16_t min, max;
	int t;

	if (ptcp_rdv_body_limits(m->type, &min, &max) != 0)
		return -PTCP_RDV_E_MALFORMED;
	switch (m->type) {
	case PTCP_RDV_LISTEN:
		if (m->listen.n_allow > PTCP_RDV_ALLOW_MAX)
			return -PTCP_RDV_E_MALFORMED;
		if ((t = tail_len(0, &m->listen.pattern, 0)) < 0)
			return -PTCP_RDV_E_MALFORMED;
		return 5 + m->listen.n_allow * PTCP_RDV_KEY_LEN + t;
	case PTCP_RDV_CONNECT:
		if ((t = tail_len(0, &m->connect.pattern, 0)) < 0)
			return -PTCP_RDV_E_MALFORMED;
		return min + t;
	case PTCP_RDV_ERROR:
		if (m->error.text_len > PTCP_RDV_TEXT_MAX)
			return -PTCP_RDV_E_MALFORMED;
		return 4 + m->error.text_len;
	case PTCP_RDV_WELCOME:
		return m->welcome.has_key ? WELCOME_KEY_LEN : WELCOME_LEN;
	case PTCP_RDV_REGISTERED:
		if (m->registered.probe_port)
			return 11;
		return m->registered.flags ? 9 : 8;
	case PTCP_RDV_MATCH:
		if ((t = tail_len(m->match.flags, &m->match.pattern, MATCH_KNOWN)) < 0)
			return -PTCP_RDV_E_MALFORMED;
		return (m->match.has_relay ? MATCH_RELAY_LEN : MATCH_LEN) + t;
	}
	return min;
}

int ptcp_rdv_emit(const struct ptcp_rdv_msg *m, uint8_t *buf, size_t cap)
{
	uint8_t body[PTCP_RDV_BODY_MAX];
	uint8_t *b = body;
	int n = body_len(m);

	if (n < 0)
		return n;
	/* Encode into a scratch body first: nothing reaches buf unless the
	 * whole message is valid and fits. */
	switch (m->type) {
	case PTCP_RDV_HELLO:
		memcpy(b, m->hello.key, PTCP_RDV_KEY_LEN);
		memcpy(b + PTCP_RDV_KEY_LEN, m->hello.nonce, PTCP_RDV_NONCE_LEN);
		if (ptcp_rdv_endpoint_put(b + PTCP_RDV_KEY_LEN + PTCP_RDV_NONCE_LEN,
					  &m->hello.private_ep) != 0)
			return -PTCP_RDV_E_MALFORMED;
		break;
	case PTCP_RDV_HELLO0:
		memcpy(b, m->hello0.key, PTCP_RDV_KEY_LEN);
		b += PTCP_RDV_KEY_LEN;
		memcpy(b, m->hello0.nonce, PTCP_RDV_NONCE_LEN);
		b += PTCP_RDV_NONCE_LEN;
		if (ptcp_rdv_endpoint_put(b, &m->hello0.private_ep) != 0)
			return -PTCP_RDV_E_MALFORMED;
		b += PTCP_RDV_EP_LEN;
		put_u64(b, m->hello0.time_ms);
		memcpy(b + 8, m->hello0.server_key, PTCP_RDV_KEY_LEN);
		memcpy(b + 8 + PTCP_RDV_KEY_LEN, m->hello0.sig, PTCP_RDV_SIG_LEN);
		break;
	case PTCP_RDV_WELCOME:
		if (m->welcome.observed.family == PTCP_AF_NONE ||
		    ptcp_rdv_endpoint_put(b, &m->welcome.observed) != 0)
			return -PTCP_RDV_E_MALFORMED;
		memcpy(b + PTCP_RDV_EP_LEN, m->welcome.sig, PTCP_RDV_SIG_LEN);
		if (m->welcome.has_key)
			memcpy(b + WELCOME_LEN, m->welcome.server_key, PTCP_RDV_KEY_LEN);
		break;
	case PTCP_RDV_CHALLENGE:
		memcpy(b, m->challenge.server_key, PTCP_RDV_KEY_LEN);
		b += PTCP_RDV_KEY_LEN;
		memcpy(b, m->challenge.nonce, PTCP_RDV_NONCE_LEN);
		b += PTCP_RDV_NONCE_LEN;
		if (m->challenge.observed.family == PTCP_AF_NONE ||
		    ptcp_rdv_endpoint_put(b, &m->challenge.observed) != 0)
			return -PTCP_RDV_E_MALFORMED;
		memcpy(b + PTCP_RDV_EP_LEN, m->challenge.sig, PTCP_RDV_SIG_LEN);
		break;
	case PTCP_RDV_AUTH:
		memcpy(b, m->auth.sig, PTCP_RDV_SIG_LEN);
		break;
	case PTCP_RDV_REGISTERED:
		ptcp_put32(b, m->registered.idle_ms);
		ptcp_put32(b + 4, m->registered.max_wait_ms);
		if (m->registered.flags & ~REG_KNOWN)
			return -PTCP_RDV_E_MALFORMED;
		if (m->registered.flags || m->registered.probe_port)
			b[8] = m->registered.flags | (m->registered.probe_port ? PTCP_RDV_REG_PROBE : 0);
		if (m->registered.probe_port)
			ptcp_put16(b + 9, m->registered.probe_port);
		break;
	case PTCP_RDV_LISTEN:
		ptcp_put32(b, m->listen.isn);
		b[4] = m->listen.n_allow;
		memcpy(b + 5, m->listen.allow, (size_t)m->listen.n_allow * PTCP_RDV_KEY_LEN);
		tail_put(b + 5 + m->listen.n_allow * PTCP_RDV_KEY_LEN, 0, &m->listen.pattern,
			 PTCP_RDV_REQ_PATTERN);
		break;
	case PTCP_RDV_CONNECT:
		memcpy(b, m->connect.key, PTCP_RDV_KEY_LEN);
		ptcp_put32(b + PTCP_RDV_KEY_LEN, m->connect.isn);
		ptcp_put32(b + PTCP_RDV_KEY_LEN + 4, m->connect.wait_ms);
		tail_put(b + PTCP_RDV_KEY_LEN + 8, 0, &m->connect.pattern, PTCP_RDV_REQ_PATTERN);
		break;
	case PTCP_RDV_MATCH:
		if (m->match.role != PTCP_RDV_ROLE_INITIATOR && m->match.role != PTCP_RDV_ROLE_RESPONDER)
			return -PTCP_RDV_E_MALFORMED;
		memcpy(b, m->match.key, PTCP_RDV_KEY_LEN);
		b += PTCP_RDV_KEY_LEN;
		if (m->match.peer_public.family == PTCP_AF_NONE ||
		    ptcp_rdv_endpoint_put(b, &m->match.peer_public) != 0 ||
		    ptcp_rdv_endpoint_put(b + PTCP_RDV_EP_LEN, &m->match.peer_private) != 0)
			return -PTCP_RDV_E_MALFORMED;
		b += 2 * PTCP_RDV_EP_LEN;
		ptcp_put32(b, m->match.peer_isn);
		ptcp_put32(b + 4, m->match.isn);
		b[8] = m->match.role;
		ptcp_put32(b + 9, m->match.start_ms);
		b += 13;
		if (m->match.has_relay) {
			if (m->match.relay.family == PTCP_AF_NONE ||
			    ptcp_rdv_endpoint_put(b, &m->match.relay) != 0)
				return -PTCP_RDV_E_MALFORMED;
			memcpy(b + PTCP_RDV_EP_LEN, m->match.relay_token, PTCP_RDV_TOKEN_LEN);
			b += PTCP_RDV_EP_LEN + PTCP_RDV_TOKEN_LEN;
		}
		tail_put(b, m->match.flags, &m->match.pattern, PTCP_RDV_MATCH_PATTERN);
		break;
	case PTCP_RDV_PING:
	case PTCP_RDV_PONG:
		ptcp_put32(b, m->ping.token);
		break;
	case PTCP_RDV_ERROR:
		if (m->error.code == 0 || (m->error.flags & ~PTCP_RDV_ERR_FATAL))
			return -PTCP_RDV_E_MALFORMED;
		ptcp_put16(b, m->error.code);
		b[2] = m->error.flags;
		b[3] = 0;
		for (unsigned i = 0; i < m->error.text_len; i++) {
			if (!printable(m->error.text[i]))
				return -PTCP_RDV_E_MALFORMED;
			b[4 + i] = (uint8_t)m->error.text[i];
		}
		break;
	case PTCP_RDV_BUSY:
		break;
	}
	if (cap < (size_t)PTCP_RDV_HDR_LEN + (size_t)n)
		return -PTCP_RDV_E_NOBUF;
	buf[0] = PTCP_RDV_MAGIC0;
	buf[1] = PTCP_RDV_MAGIC1;
	buf[2] = PTCP_RDV_VERSION;
	buf[3] = m->type;
	ptcp_put16(buf + 4, (uint16_t)n);
	memcpy(buf + PTCP_RDV_HDR_LEN, body, (size_t)n);
	return PTCP_RDV_HDR_LEN + n;
}

void ptcp_rdv_error_msg(struct ptcp_rdv_msg *m, int code, bool fatal, const char *text)
{
	unsigned n = 0;

	memset(m, 0, sizeof(*m));
	m->type = PTCP_RDV_ERROR;
	m->error.code = (uint16_t)(code < 0 ? -code : code);
	m->error.flags = fatal ? PTCP_RDV_ERR_FATAL : 0;
	if (text) {
		for (; n < PTCP_RDV_TEXT_MAX && text[n]; n++)
			m->error.text[n] = printable(text[n]) ? text[n] : '?';
	}
	m->error.text[n] = '\0';
	m->error.text_len = (uint8_t)n;
}

/* What every transcript begins with: its context string, the version,
 * the server's key and the client's nonce. Returns the end. */
static uint8_t *transcript_head(uint8_t *p, const char *context, const uint8_t *server_key,
                                const uint8_t *client_nonce)
{
	p = put_bytes(p, context, PTCP_RDV_CONTEXT_LEN);
	*p++ = PTCP_RDV_VERSION;
	p = put_bytes(p, server_key, PTCP_RDV_KEY_LEN);
	return put_bytes(p, client_nonce, PTCP_RDV_NONCE_LEN);
}

int ptcp_rdv_transcript(uint8_t out[PTCP_RDV_TRANSCRIPT_LEN], enum ptcp_rdv_signer signer,
                        const struct ptcp_rdv_msg *hello, const struct ptcp_rdv_msg *challenge)
{
	uint8_t *p;

	if (hello->type != PTCP_RDV_HELLO || challenge->type != PTCP_RDV_CHALLENGE ||
	    (signer != PTCP_RDV_SIGNER_SERVER && signer != PTCP_RDV_SIGNER_CLIENT))
		return -PTCP_RDV_E_MALFORMED;
	p = transcript_head(out, signer == PTCP_RDV_SIGNER_SERVER ? PTCP_RDV_CONTEXT_SERVER
								  : PTCP_RDV_CONTEXT_CLIENT,
			    challenge->challenge.server_key, hello->hello.nonce);
	p = put_bytes(p, challenge->challenge.nonce, PTCP_RDV_NONCE_LEN);
	p = put_bytes(p, hello->hello.key, PTCP_RDV_KEY_LEN);
	if (ptcp_rdv_endpoint_put(p, &challenge->challenge.observed) != 0 ||
	    ptcp_rdv_endpoint_put(p + PTCP_RDV_EP_LEN, &hello->hello.private_ep) != 0)
		return -PTCP_RDV_E_MALFORMED;
	return PTCP_RDV_TRANSCRIPT_LEN;
}

bool ptcp_rdv_hello0_open(const struct ptcp_rdv_msg *hello0)
{
	return all_zero(hello0->hello0.server_key, PTCP_RDV_KEY_LEN);
}

int ptcp_rdv_transcript0(uint8_t out[PTCP_RDV_TRANSCRIPT0_MAX], enum ptcp_rdv_signer signer,
                         const struct ptcp_rdv_msg *hello0, const struct ptcp_endpoint *server_ep,
                         const struct ptcp_endpoint *observed)
{
	uint8_t *p;
	bool open;

	if (hello0->type != PTCP_RDV_HELLO0 ||
	    (signer != PTCP_RDV_SIGNER_SERVER && signer != PTCP_RDV_SIGNER_CLIENT) ||
	    (signer == PTCP_RDV_SIGNER_SERVER && (!observed || observed->family == PTCP_AF_NONE)))
		return -PTCP_RDV_E_MALFORMED;
	open = ptcp_rdv_hello0_open(hello0);
	if (open && (!server_ep || server_ep->family == PTCP_AF_NONE))
		return -PTCP_RDV_E_MALFORMED;
	p = transcript_head(out, signer == PTCP_RDV_SIGNER_SERVER ? PTCP_RDV_CONTEXT_SERVER0
								  : PTCP_RDV_CONTEXT_CLIENT0,
			    hello0->hello0.server_key, hello0->hello0.nonce);
	put_u64(p, hello0->hello0.time_ms);
	p = put_bytes(p + 8, hello0->hello0.key, PTCP_RDV_KEY_LEN);
	if (ptcp_rdv_endpoint_put(p, &hello0->hello0.private_ep) != 0)
		return -PTCP_RDV_E_MALFORMED;
	p += PTCP_RDV_EP_LEN;
	/* Open: bound to the server by where the client reached it. */
	if (open) {
		if (ptcp_rdv_endpoint_put(p, server_ep) != 0)
			return -PTCP_RDV_E_MALFORMED;
		p += PTCP_RDV_EP_LEN;
	}
	if (signer == PTCP_RDV_SIGNER_SERVER) {
		if (ptcp_rdv_endpoint_put(p, observed) != 0)
			return -PTCP_RDV_E_MALFORMED;
		p += PTCP_RDV_EP_LEN;
	}
	return (int)(p - out);
}

void ptcp_rdv_hello_of(struct ptcp_rdv_msg *hello, const struct ptcp_rdv_msg *hello0)
{
	memset(hello, 0, sizeof(*hello));
	hello->type = PTCP_RDV_HELLO;
	memcpy(hello->hello.key, hello0->hello0.key, PTCP_RDV_KEY_LEN);
	memcpy(hello->hello.nonce, hello0->hello0.nonce, PTCP_RDV_NONCE_LEN);
	hello->hello.private_ep = hello0->hello0.private_ep;
}

const char *ptcp_rdv_strerror(int code)
{
	switch (code < 0 ? -code : code) {
	case PTCP_RDV_E_MALFORMED: return "malformed message";
	case PTCP_RDV_E_TOO_BIG: return "message too long";
	case PTCP_RDV_E_VERSION: return "protocol version mismatch";
	case PTCP_RDV_E_UNEXPECTED: return "message out of order";
	case PTCP_RDV_E_NOT_AUTHORISED: return "not authorised";
	case PTCP_RDV_E_BAD_SIGNATURE: return "bad signature (the key does not match the peer id)";
	case PTCP_RDV_E_UNKNOWN_PEER: return "unknown peer (not registered with the rendezvous server)";
	case PTCP_RDV_E_NOT_WAITING: return "peer not waiting (registered, but not listening for us)";
	case PTCP_RDV_E_RATE_LIMITED: return "rate limited (too many connections or requests from this address)";
	case PTCP_RDV_E_SERVER_FULL: return "rendezvous server full";
	case PTCP_RDV_E_TIMEOUT: return "timed out";
	case PTCP_RDV_E_REPLACED: return "replaced by a newer registration of the same peer id";
	case PTCP_RDV_E_SELF: return "cannot connect to our own peer id";
	case PTCP_RDV_E_SHUTDOWN: return "rendezvous server shutting down";
	case PTCP_RDV_E_INTERNAL: return "rendezvous server internal error";
	case PTCP_RDV_E_FAMILY: return "the peer uses the other IP version";
	case PTCP_RDV_E_BUSY: return "peer busy (it serves as many peers as it will)";
	case PTCP_RDV_E_NOBUF: return "output buffer too small";
	}
	return "unknown error";
}

const char *ptcp_rdv_type_name(int type)
{
	switch (type) {
	case PTCP_RDV_HELLO: return "HELLO";
	case PTCP_RDV_CHALLENGE: return "CHALLENGE";
	case PTCP_RDV_AUTH: return "AUTH";
	case PTCP_RDV_REGISTERED: return "REGISTERED";
	case PTCP_RDV_LISTEN: return "LISTEN";
	case PTCP_RDV_CONNECT: return "CONNECT";
	case PTCP_RDV_MATCH: return "MATCH";
	case PTCP_RDV_PING: return "PING";
	case PTCP_RDV_PONG: return "PONG";
	case PTCP_RDV_ERROR: return "ERROR";
	case PTCP_RDV_BUSY: return "BUSY";
	case PTCP_RDV_HELLO0: return "HELLO0";
	case PTCP_RDV_WELCOME: return "WELCOME";
	}
	return "?";
}
