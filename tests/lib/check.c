#include "check.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static int passed, failed;
static bool current_failed;
static const char *current_name;

void check_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (!current_failed)
		fprintf(stderr, "FAIL %s\n", current_name ? current_name : "?");
	current_failed = true;
	fprintf(stderr, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool check_failed(void)
{
	return current_failed;
}

void check_run(const char *name, void (*fn)(void))
{
	current_name = name;
	current_failed = false;
	fn();
	if (current_failed)
		failed++;
	else
		passed++;
	if (getenv("CHECK_VERBOSE"))
		fprintf(stderr, "%s %s\n", current_failed ? "FAIL" : "ok  ", name);
	current_name = NULL;
}

int check_summary(void)
{
	/* Machine-readable line for tests/run.sh. */
	printf("check: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

struct ptcp_endpoint *check_ep4(struct ptcp_endpoint *ep, uint8_t last, uint16_t port)
{
	memset(ep, 0, sizeof(*ep));
	ep->family = PTCP_AF_INET;
	ep->addr[0] = 10;
	ep->addr[3] = last;
	ep->port = port;
	return ep;
}

struct ptcp_endpoint *check_ep6(struct ptcp_endpoint *ep, uint16_t last, uint16_t port)
{
	static const uint8_t prefix[4] = { 0x20, 0x01, 0x0d, 0xb8 };

	memset(ep, 0, sizeof(*ep));
	ep->family = PTCP_AF_INET6;
	memcpy(ep->addr, prefix, sizeof(prefix));
	ep->addr[14] = (uint8_t)(last >> 8);
	ep->addr[15] = (uint8_t)last;
	ep->port = port;
	return ep;
}
