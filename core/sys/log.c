#include <errno.h>
#include <stdio.h>
#include <syslog.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

static const char *log_prog = "p2ptcp";
static int log_level = PTCP_LOG_WARN;
static ptcp_ts log_start;
static bool log_syslog;

void ptcp_log_set_syslog(bool on)
{
	if (on && !log_syslog)
		openlog(log_prog, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!on && log_syslog)
		closelog();
	log_syslog = on;
}

void ptcp_log_set_prog(const char *prog)
{
	log_prog = prog;
}

void ptcp_log_set_level(int level)
{
	log_level = level;
}

void ptcp_log_set_start(ptcp_ts start)
{
	log_start = start;
}

int ptcp_log_enabled(int level)
{
	return level <= log_level;
}

void ptcp_vlog(int level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n = 0;
	int r;

	if (!ptcp_log_enabled(level))
		return;
	if (log_syslog) {
		static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG };

		vsyslog(prio[level < 0 ? 0 : level > PTCP_LOG_DEBUG ? PTCP_LOG_DEBUG : level], fmt, ap);
		return;
	}
	if (level >= PTCP_LOG_INFO) {
		uint64_t t = ptcp_ts_elapsed(ptcp_clock_now(), log_start);

		r = snprintf(line, sizeof(line), "%s: [%4llu.%06llu] ", log_prog,
			     (unsigned long long)(t / PTCP_NS_PER_S),
			     (unsigned long long)(t % PTCP_NS_PER_S / PTCP_NS_PER_US));
	} else {
		r = snprintf(line, sizeof(line), "%s: ", log_prog);
	}
	if (r > 0)
		n = (size_t)r < sizeof(line) ? (size_t)r : sizeof(line) - 1;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	/* Always end with a newline, even when the message was cut. */
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';

	/* One write keeps the line whole; stderr is unbuffered anyway. */
	while (write(STDERR_FILENO, line, n) < 0 && errno == EINTR)
		;
}

void ptcp_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ptcp_vlog(level, fmt, ap);
	va_end(ap);
}
