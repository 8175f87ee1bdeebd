/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Helpers shared by the subcommands: database paths, time and number arguments, exit codes. */
#ifndef EMBER_CLI_H
#define EMBER_CLI_H

#include <stddef.h>
#include <stdint.h>

/* Exit codes: 0 success, 1 failure at run time, 2 bad usage (as getopt-style tools do). */
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

enum cli_db_use {
	CLI_DB_WRITE, /* the collector's database */
	CLI_DB_READ,  /* for readers: the user's own database if it exists, else the system one */
};

/* The default database: /var/lib/ember/ember.db as root, else $XDG_STATE_HOME/ember/ember.db
 * (~/.local/state when unset). Returns buf. */
const char *cli_default_db(enum cli_db_use use, char *buf, size_t len);

/*
 * Parses a time for --from/--to into ns since the epoch: "now"; relative "-10m", "-30s", "-2h",
 * "-1d", "-500ms"; "@EPOCH[.frac]"; "YYYY-MM-DD[ T]HH:MM[:SS[.frac]]" or "YYYY-MM-DD" or
 * "HH:MM[:SS]" (today), in local time, or UTC with a trailing "Z". 0 or -EINVAL.
 */
int cli_parse_time(const char *s, int64_t now_ns, int64_t *out_ns);

/* Parses a whole unsigned decimal in [min, max]. 0 or -EINVAL / -ERANGE. */
int cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/* cli_parse_size within [min, max]: "16384", "16k", "16KiB", "1M". 0, -EINVAL or -ERANGE. */
int cli_parse_bytes(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/* Parses a positive duration in seconds ("5", "2.5", "10s", "3m", "1h"). 0 or -EINVAL. */
int cli_parse_seconds(const char *s, double *out);

/* Parses a size in bytes: a whole number with an optional K, M, G or T suffix (powers of 1024,
 * an optional trailing "B" or "iB"). 0, -EINVAL (not a size) or -ERANGE (too large). */
int cli_parse_size(const char *s, int64_t *out);

/* Prints "ember <cmd>: <msg>" and a pointer to --help on stderr; returns EXIT_USAGE. */
__attribute__((format(printf, 2, 3))) int cli_usage_error(const char *cmd, const char *fmt, ...);

#endif
