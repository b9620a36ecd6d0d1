/* A node's log: lines go to the application's callback, never to a
 * stream of the library's own. No global state: each node has one. */
#ifndef PTCP_NLOG_H
#define PTCP_NLOG_H

#include <stdarg.h>
#include <stdbool.h>

#include "error.h"

struct ptcp_nlog {
	void (*fn)(void *user, enum ptcp_log_level level, const char *line);
	void *user;
	int level;   /* the most verbose enum ptcp_log_level passed on */
};

/* True when lines of this level reach the callback (to skip formatting). */
static inline bool ptcp_nlog_on(const struct ptcp_nlog *l, int level)
{
	return l->fn && level <= l->level;
}

/* Formats one line (at most 1023 bytes, cut if longer) and passes it on. */
void ptcp_nlog(const struct ptcp_nlog *l, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void ptcp_vnlog(const struct ptcp_nlog *l, int level, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#endif
