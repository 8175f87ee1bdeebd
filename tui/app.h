/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `ember top`'s screen: the event loop that owns the terminal, refreshes the model on a timer,
 * reads keys and mouse clicks, switches between the views (processes, functions, flame graph,
 * heatmap) and draws one frame at a time (erase, draw, one refresh: no flicker). The caller opens
 * the database; this module only reads it, through the model.
 */
#ifndef EMBER_TUI_APP_H
#define EMBER_TUI_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/query.h"
#include "tui/model.h"

enum tui_view {
	TUI_VIEW_PROCS,
	TUI_VIEW_FUNCS,
	TUI_VIEW_FLAME,
	TUI_VIEW_HEATMAP,
	TUI_VIEW__COUNT,
};

struct tui_opts {
	struct storage_reader *reader; /* borrowed for the run */
	model_frame_name_fn frame_name;
	const char *db_path;
	int64_t refresh_ns;		     /* 0: one second */
	int64_t window_ns;		     /* 0: ten seconds */
	int64_t from_ns, to_ns;		     /* start on this range of history; 0, 0: live */
	const struct storage_filter *filter; /* NULL: everything; copied */
	enum tui_view view;
	bool mono;	    /* no colours */
	int recorder_fd;    /* -1, or a pipe of the in-process recorder's messages (a line each) */
	const char *source; /* what writes the database, for the header ("collector 1234") */
	bool following;	    /* a collector or the in-process recorder writes the database */
	const char *note;   /* shown on the status line at start; NULL for none */
	const char *trace_path; /* append timing lines here (benchmarks); NULL for none */
};

struct tui_result {
	int signal;	 /* the termination signal that ended the run, 0 for none */
	char error[512]; /* why the run failed, when tui_run returns < 0 */
};

/*
 * Runs the TUI until the user quits or a termination signal arrives. The terminal is restored
 * before it returns, whatever happened. Returns 0 (res->signal says whether a signal ended it),
 * -ENOTTY when stdin or stdout is not a terminal, or another -errno with res->error set (a
 * database that cannot be read, no memory).
 */
int tui_run(const struct tui_opts *o, struct tui_result *res);

/*
 * A cgroup as the filter takes it: a decimal id, or a cgroup2 directory as /proc/PID/cgroup names
 * it ("/system.slice/x.service", under /sys/fs/cgroup) or by its full path; the directory's inode
 * number is the id the sampler records. 0 or -ENOENT.
 */
int tui_cgroup_id(const char *s, uint64_t *id);

#endif
