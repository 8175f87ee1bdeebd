// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The log sink: stderr, one line per message. */
#include "profiler/log.h"

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum log_level max_level = LOG_LVL_INFO;

void log_set_level(enum log_level level)
{
	max_level = level;
}

static void vlog(enum log_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	size_t len;

	if (level > max_level)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	len = strlen(buf);
	while (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	fprintf(stderr, "ember: %s%s\n", level == LOG_LVL_WARN ? "warning: " : "", buf);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf warns about many recoverable things while probing: keep them at debug unless the
	 * user asked for verbosity. */
	vlog(LOG_LVL_DEBUG, fmt, ap);
	return 0;
}

void log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
