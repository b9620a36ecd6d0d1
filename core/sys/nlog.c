#include <stdio.h>

#include "nlog.h"

void ptcp_vnlog(const struct ptcp_nlog *l, int level, const char *fmt, va_list ap)
{
	char line[1024];

	if (!ptcp_nlog_on(l, level))
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	l->fn(l->user, (enum ptcp_log_level)level, line);
}

void ptcp_nlog(const struct ptcp_nlog *l, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ptcp_vnlog(l, level, fmt, ap);
	va_end(ap);
}
