#include <stdarg.h>
#include <syslog.h>

#include "clock.h"
#include "rdvlog.h"

static bool log_syslog;

void ptcp_rdvd_log_init(bool use_syslog, int level)
{
	log_syslog = use_syslog;
	ptcp_log_set_prog("rendezvousd");
	ptcp_log_set_level(level);
	ptcp_log_set_start(ptcp_clock_now());
	if (use_syslog)
		openlog("rendezvousd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void ptcp_rdvd_log_close(void)
{
	if (log_syslog)
		closelog();
}

void ptcp_rdvd_log(int level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG };
	va_list ap;

	if (!ptcp_log_enabled(level))
		return;
	va_start(ap, fmt);
	if (log_syslog)
		vsyslog(prio[level < 0 ? 0 : level > PTCP_LOG_DEBUG ? PTCP_LOG_DEBUG : level], fmt, ap);
	else
		ptcp_vlog(level, fmt, ap);
	va_end(ap);
}
