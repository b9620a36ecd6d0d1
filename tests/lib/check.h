/* A very small test framework. A test file defines static test functions
 * and a main() that calls check_run() for each, then returns
 * check_summary(). Every failed check prints file:line and the values, and
 * marks the running test failed; the test goes on so one run shows all
 * failures in it. */
#ifndef PTCP_CHECK_H
#define PTCP_CHECK_H

#include <stdbool.h>
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

#endif
