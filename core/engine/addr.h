/* Endpoints as the engine sees them: an address family, the address bytes
 * in network order and a port in host order. No socket headers needed. */
#ifndef PTCP_ADDR_H
#define PTCP_ADDR_H

#include <stdbool.h>
#include <stdint.h>

enum ptcp_family {
	PTCP_AF_NONE = 0, /* unspecified (e.g. a LISTEN's remote end) */
	PTCP_AF_INET = 4,
	PTCP_AF_INET6 = 6,
};

struct ptcp_endpoint {
	uint8_t family;    /* enum ptcp_family */
	uint8_t addr[16];  /* network order; IPv4 uses addr[0..3] */
	uint16_t port;     /* host order */
};

/* Fills *ep with an IPv4 endpoint. a is the address as a host-order
 * integer (0x0a000001 for 10.0.0.1). */
void ptcp_endpoint_ipv4(struct ptcp_endpoint *ep, uint32_t a, uint16_t port);

/* True when both family, address and port are equal. */
bool ptcp_endpoint_equal(const struct ptcp_endpoint *a, const struct ptcp_endpoint *b);

/* Writes "10.0.0.1:4000" or "[2001:db8::1]:4000" into buf (always
 * NUL-terminated when cap > 0). Returns buf. 48 bytes always suffice. */
char *ptcp_endpoint_format(const struct ptcp_endpoint *ep, char *buf, unsigned cap);

#endif
