/* One-line messages on stderr.
 *
 * Errors are always shown as "p2ptcp: <message>". With -v (PTCP_LOG_INFO)
 * and -vv (PTCP_LOG_DEBUG) the driver adds lines that carry the time
 * since the program started: "p2ptcp: [  0.012345] state SYN-SENT ->
 * ESTABLISHED". A message is written with one write(2), so lines from
 * several processes sharing a terminal do not interleave. */
#ifndef PTCP_LOG_H
#define PTCP_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include "error.h"
#include "tstamp.h"

/* Levels: enum ptcp_log_level of the public header (error.h includes it). */

/* Sets the program name put before every line (default "p2ptcp"); the
 * string is not copied. */
void ptcp_log_set_prog(const char *prog);

/* Sends lines to syslog (facility daemon, the program name as ident)
 * instead of stderr, from now on; false goes back to stderr. */
void ptcp_log_set_syslog(bool on);

/* Sets the most verbose level shown (default PTCP_LOG_WARN). */
void ptcp_log_set_level(int level);

/* Sets the time (monotonic ns) that timestamps count from. */
void ptcp_log_set_start(ptcp_ts start);

/* True when messages of this level are shown (to skip formatting work). */
int ptcp_log_enabled(int level);

/* Writes one line at level. ERROR and WARN lines have no timestamp, the
 * others are stamped with the time since ptcp_log_set_start(). A trailing
 * newline is added. */
void ptcp_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As ptcp_log() with a va_list. */
void ptcp_vlog(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#define ptcp_error(...) ptcp_log(PTCP_LOG_ERROR, __VA_ARGS__)
#define ptcp_warn(...) ptcp_log(PTCP_LOG_WARN, __VA_ARGS__)
#define ptcp_info(...) ptcp_log(PTCP_LOG_INFO, __VA_ARGS__)
#define ptcp_debug(...) ptcp_log(PTCP_LOG_DEBUG, __VA_ARGS__)

#endif
