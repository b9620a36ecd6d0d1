/* rendezvousd's log: one line per event on stderr (through log.h, with
 * its levels and timestamps) or, with --syslog, to syslog(3) with the
 * daemon facility. */
#ifndef PTCP_RDVD_LOG_H
#define PTCP_RDVD_LOG_H

#include <stdbool.h>

#include "log.h"

/* Sends what follows to syslog (true) or stderr (false), at most level. */
void ptcp_rdvd_log_init(bool use_syslog, int level);

/* Closes syslog if it was opened. */
void ptcp_rdvd_log_close(void);

/* One line at level (enum ptcp_log_level). */
void ptcp_rdvd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define rlog_error(...) ptcp_rdvd_log(PTCP_LOG_ERROR, __VA_ARGS__)
#define rlog_warn(...) ptcp_rdvd_log(PTCP_LOG_WARN, __VA_ARGS__)
#define rlog_info(...) ptcp_rdvd_log(PTCP_LOG_INFO, __VA_ARGS__)
#define rlog_debug(...) ptcp_rdvd_log(PTCP_LOG_DEBUG, __VA_ARGS__)

#endif
