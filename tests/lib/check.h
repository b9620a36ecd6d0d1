/* A very small test framework. A test file defines static test functions
 * and a main() that calls check_run() for each, then returns
 * check_summary(). Every failed check prints file:line and the values, and
 * marks the running test failed; the test goes on so one run shows all
 * failures in it. */
#ifndef PTCP_CHECK_H
#define PTCP_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

void check_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void check_run(const char *name, void (*fn)(void));
int check_summary(void);
/* True when the running test has failed so far. */
bool check_failed(void);

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond))                                               \
			check_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); \
	} while (0)

#define CHECK_EQ(a, b)                                                           \
	do {                                                                     \
		unsigned long long check_a_ = (unsigned long long)(a);           \
		unsigned long long check_b_ = (unsigned long long)(b);           \
		if (check_a_ != check_b_)                                        \
			check_fail(__FILE__, __LINE__, "%s == %s: %llu != %llu", \
				   #a, #b, check_a_, check_b_);                  \
	} while (0)

#define CHECK_INT(a, b)                                                          \
	do {                                                                     \
		long long check_a_ = (long long)(a);                             \
		long long check_b_ = (long long)(b);                             \
		if (check_a_ != check_b_)                                        \
			check_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", \
				   #a, #b, check_a_, check_b_);                  \
	} while (0)

#define RUN(fn) check_run(#fn, fn)

struct ptcp_endpoint;

/* *ep = [2001:db8::<last>]:port, in the documentation prefix (RFC 3849)
 * the tests give IPv6 endpoints. Returns ep. */
struct ptcp_endpoint *check_ep6(struct ptcp_endpoint *ep, uint16_t last, uint16_t port);

/* *ep = 10.0.0.<last>:port, the tests' IPv4 LAN. Returns ep. */
struct ptcp_endpoint *check_ep4(struct ptcp_endpoint *ep, uint8_t last, uint16_t port);

/* xorshift64: a reproducible pseudo-random sequence for tests (no libc
 * rand, no clock). *s must start non-zero. */
static inline uint64_t check_xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Byte number i of a deterministic test stream, and n of them from byte
 * number from into out. */
static inline uint8_t check_stream_byte(size_t i)
{
	return (uint8_t)(i * 131u + (i >> 8) * 7u + 17u);
}

static inline void check_fill_stream(uint8_t *out, size_t from, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = check_stream_byte(from + i);
}

#endif
