/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ember's one log sink. Messages go to stderr prefixed "ember: "; libbpf's own output is routed
 * here too (libbpf_set_print), at debug level unless it is a warning.
 */
#ifndef EMBER_LOG_H
#define EMBER_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_ERROR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/* Messages above this level are dropped. Default LOG_LVL_INFO. */
void log_set_level(enum log_level level);

/* Whether stderr is connected to the systemd journal (JOURNAL_STREAM names it). */
bool log_to_journal(void);

/* Routes libbpf's messages through log_msg. */
void log_setup_libbpf(void);

__attribute__((format(printf, 2, 3))) void log_msg(enum log_level level, const char *fmt, ...);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
