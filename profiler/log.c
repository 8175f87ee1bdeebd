// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The log sink: stderr, one line per message. When stderr is the journal's stream (systemd sets
 * JOURNAL_STREAM to its device:inode), each line starts with the sd-daemon priority prefix
 * ("<3>" error, "<4>" warning, "<6>" info, "<7>" debug) instead of "ember: ", which the journal
 * already shows as the identifier; no libsystemd is needed for that.
 */
#include "profiler/log.h"

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static enum log_level max_level = LOG_LVL_INFO;
static int journal = -1; /* -1: not checked yet */

bool log_to_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (journal < 0)
		journal = env && sscanf(env, "%llu:%llu", &dev, &ino) == 2 && !fstat(2, &st) &&
			  st.st_dev == dev && st.st_ino == ino;
	return journal;
}

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
	if (log_to_journal()) {
		static const char prio[] = { '3', '4', '6', '7' };

		fprintf(stderr, "<%c>%s%s\n", prio[level], level == LOG_LVL_WARN ? "warning: " : "",
			buf);
	} else {
		fprintf(stderr, "ember: %s%s\n", level == LOG_LVL_WARN ? "warning: " : "", buf);
	}
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
