/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A slice of history as the command line names it, shared by `ember export` and `ember report`:
 * --from/--to and the filters --pid, --tid, --comm, --cgroup and --binary, parsed into a
 * storage_filter. Subcommands put SLICE_LONGOPTS in their option table and hand every option to
 * slice_option first.
 */
#ifndef EMBER_SLICE_H
#define EMBER_SLICE_H

#include <getopt.h>
#include <stdint.h>

#include "storage/query.h"

enum {
	SLICE_OPT_FROM = 0x1000,
	SLICE_OPT_TO,
	SLICE_OPT_PID,
	SLICE_OPT_TID,
	SLICE_OPT_COMM,
	SLICE_OPT_CGROUP,
	SLICE_OPT_BINARY,
};

#define SLICE_LONGOPTS                                               \
	{ "from", required_argument, NULL, SLICE_OPT_FROM },         \
	    { "to", required_argument, NULL, SLICE_OPT_TO },         \
	    { "pid", required_argument, NULL, SLICE_OPT_PID },       \
	    { "tid", required_argument, NULL, SLICE_OPT_TID },       \
	    { "comm", required_argument, NULL, SLICE_OPT_COMM },     \
	    { "cgroup", required_argument, NULL, SLICE_OPT_CGROUP }, \
	{                                                            \
		"binary", required_argument, NULL, SLICE_OPT_BINARY  \
	}

#define SLICE_HELP                                                                         \
	"      --from T       start of the range (default: the first sample)\n"            \
	"      --to T         end of the range (default: the last sample)\n"               \
	"  -p, --pid PID      only this process (repeatable)\n"                            \
	"      --tid TID      only this thread (repeatable)\n"                             \
	"      --comm NAME    only threads with this command name\n"                       \
	"      --cgroup CG    only this cgroup: its id, or its path (absolute, or under\n" \
	"                     /sys/fs/cgroup) while it exists (repeatable)\n"              \
	"      --binary EXE   only processes of this executable (full path or base name)\n"

#define SLICE_TIME_HELP                                                               \
	"Times: now, -30s, -10m, -2h, -1d (relative), @1733550000 (epoch seconds),\n" \
	"2026-12-07T10:00:00, 2026-12-07 10:00, 10:00 (local time; add Z for UTC).\n"

struct slice {
	struct storage_filter f; /* its lists point into the arrays below */
	uint32_t *pids, *tids;
	uint64_t *cgroups;
};

/*
 * Takes option `c` (from getopt_long, with SLICE_LONGOPTS; -p maps to SLICE_OPT_PID too) with
 * argument `arg`. Returns 0 when taken, 1 when `c` is not a slice option, or EXIT_USAGE after a
 * message naming `cmd` when the value is bad.
 */
int slice_option(struct slice *s, const char *cmd, int c, const char *arg, int64_t now_ns);

/* Sets a list of pids (replacing any) from one option value; 0 or EXIT_USAGE with a message. */
int slice_add_pid(struct slice *s, const char *cmd, const char *opt, const char *arg);

/* Checks the range once all options are in: EXIT_USAGE with a message when it is empty. */
int slice_check(const struct slice *s, const char *cmd);

/* A copy of `from` (its own lists); 0 or -ENOMEM. */
int slice_copy(struct slice *to, const struct slice *from);

void slice_free(struct slice *s);

/* Now, in ns since the epoch, as --from and --to read it. */
int64_t slice_now_ns(void);

#endif
