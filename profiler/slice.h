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
	SLICE_OPT_DIFF,
	SLICE_OPT_BASE_FROM,
	SLICE_OPT_BASE_TO,
	SLICE_OPT_BASE_PID,
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

/* --diff and the base slice: the slice itself with another range or other processes. */
#define SLICE_DIFF_LONGOPTS                                                \
	{ "diff", no_argument, NULL, SLICE_OPT_DIFF },                     \
	    { "base-from", required_argument, NULL, SLICE_OPT_BASE_FROM }, \
	    { "base-to", required_argument, NULL, SLICE_OPT_BASE_TO },     \
	{                                                                  \
		"base-pid", required_argument, NULL, SLICE_OPT_BASE_PID    \
	}

#define SLICE_DIFF_HELP                           \
	"      --base-from T  the base's start\n" \
	"      --base-to T    the base's end\n"   \
	"      --base-pid PID the base's process (repeatable; compares two processes)\n"

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

struct slice_diff {
	bool on;		/* --diff */
	int64_t from_ns, to_ns; /* --base-from, --base-to (0: unset) */
	struct slice pids;	/* --base-pid, in pids.f */
};

/* Like slice_option, for SLICE_DIFF_LONGOPTS. */
int slice_diff_option(struct slice_diff *d, const char *cmd, int c, const char *arg,
		      int64_t now_ns);

/*
 * Once all options are in: checks that --diff and the base options come together and that the
 * base range is not empty, and makes `base` (owned: slice_free) from `target` with the base's
 * range and processes. Returns 0 (base untouched without --diff), EXIT_USAGE after a message, or
 * EXIT_RUNTIME when out of memory.
 */
int slice_diff_base(struct slice_diff *d, const char *cmd, const struct slice *target,
		    struct slice *base);

void slice_diff_free(struct slice_diff *d);

/* Now, in ns since the epoch, as --from and --to read it. */
int64_t slice_now_ns(void);

#endif
