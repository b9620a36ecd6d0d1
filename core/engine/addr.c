/* Endpoint helpers: construct, compare and print without socket headers
 * or stdio (the engine stays sans-IO). */
#include "addr.h"

#include <stddef.h>
#include <string.h>

#include "strbuf.h"

void ptcp_endpoint_ipv4(struct ptcp_endpoint *ep, uint32_t a, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = PTCP_AF_INET;
	ep->addr[0] = (uint8_t)(a >> 24);
	ep->addr[1] = (uint8_t)(a >> 16);
	ep->addr[2] = (uint8_t)(a >> 8);
	ep->addr[3] = (uint8_t)a;
	ep->port = port;
}

/* Bytes of addr[] that carry the address. For IPv4 the other twelve are
 * ignored, so an endpoint filled by hand with junk there still compares
 * equal to one from ptcp_endpoint_ipv4(). */
static size_t addr_len(uint8_t family)
{
	return family == PTCP_AF_INET ? 4 : 16;
}

/* A byte loop rather than memcmp() == 0, which clang turns into a call to
 * bcmp, a function the sans-IO check does not allow. */
static bool bytes_equal(const uint8_t *a, const uint8_t *b, size_t n)
{
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

bool ptcp_endpoint_equal(const struct ptcp_endpoint *a, const struct ptcp_endpoint *b)
{
	return a->family == b->family && a->port == b->port &&
	       bytes_equal(a->addr, b->addr, addr_len(a->family));
}

static void out_ipv4(struct ptcp_strbuf *o, const uint8_t *a)
{
	for (int i = 0; i < 4; i++) {
		if (i)
			ptcp_strbuf_ch(o, '.');
		ptcp_strbuf_u64(o, a[i]);
	}
}

/* RFC 5952 section 4.2: the longest run of two or more zero groups becomes
 * "::", the first one on a tie; section 5: IPv4-mapped addresses end in
 * dotted decimal. */
static void out_ipv6(struct ptcp_strbuf *o, const uint8_t *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	unsigned g[8];
	int best = -1, best_len = 1, run = -1;

	if (bytes_equal(a, mapped, sizeof(mapped))) {
		ptcp_strbuf_str(o, "::ffff:");
		out_ipv4(o, a + 12);
		return;
	}
	for (int i = 0; i < 8; i++) {
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
		if (g[i] == 0) {
			if (run < 0)
				run = i;
			if (i - run + 1 > best_len) {
				best = run;
				best_len = i - run + 1;
			}
		} else {
			run = -1;
		}
	}
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			ptcp_strbuf_str(o, "::");
			i += best_len - 1;
			continue;
		}
		if (i && i != best + best_len)
			ptcp_strbuf_ch(o, ':');
		ptcp_strbuf_hex16(o, g[i]);
	}
}

char *ptcp_endpoint_format(const struct ptcp_endpoint *ep, char *buf, unsigned cap)
{
	struct ptcp_strbuf o = { buf, cap, 0 };

	if (cap == 0)
		return buf;
	switch (ep->family) {
	case PTCP_AF_INET:
		out_ipv4(&o, ep->addr);
		break;
	case PTCP_AF_INET6:
		ptcp_strbuf_ch(&o, '[');
		out_ipv6(&o, ep->addr);
		ptcp_strbuf_ch(&o, ']');
		break;
	default:
		/* No address, as for the remote end of a listener. */
		ptcp_strbuf_ch(&o, '*');
		break;
	}
	ptcp_strbuf_ch(&o, ':');
	ptcp_strbuf_u64(&o, ep->port);
	buf[o.pos] = '\0';
	return buf;
}
