/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the views show, read through storage/'s query API: the selection (a time range that
 * follows the newest sample when live, filters, kernel-only or user-only frames, idle shown or
 * not) and the data derived from it: processes or threads with their CPU, sparkline and hottest
 * function; functions with self and total; callers and callees; the flame graph's stacks; the
 * heatmap's counts. Frames are merged into functions (same kind, name and module), numbered with
 * ids that stay the same for the model's life, so a view can keep its place across refreshes.
 * The only module of tui/ that queries the database (app.c asks storage/ only whether a writer
 * still holds it).
 */
#ifndef EMBER_TUI_MODEL_H
#define EMBER_TUI_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/query.h"
#include "tui/flame.h"

#define MODEL_NO_FUNC UINT32_MAX
#define MODEL_SPARK_CELLS 10

/* The display name of a frame, written into buf (returns buf); given by the caller so that the
 * TUI names frames exactly as `ember export` does. */
typedef char *(*model_frame_name_fn)(const struct storage_frame *f, char *buf, size_t len);

enum model_kind {
	MODEL_KIND_USER,
	MODEL_KIND_KERNEL,
	MODEL_KIND_INLINED,
	MODEL_KIND_JIT,
	MODEL_KIND_UNKNOWN, /* a frame without a name: module+offset */
	MODEL_KIND_PROCESS, /* the flame graph's first level: the command */
	MODEL_KIND__COUNT,
};

enum model_frames {
	MODEL_FRAMES_ALL,
	MODEL_FRAMES_KERNEL, /* only kernel frames; samples without any are left out */
	MODEL_FRAMES_USER,   /* only user frames (user, inlined, JIT, unknown) */
};

struct model_func {
	const char *name;   /* display name, owned by the model */
	const char *module; /* NULL when unknown */
	const char *file;   /* source file of the first frame seen, NULL when unknown */
	enum model_kind kind;
};

struct model_task {
	uint32_t pid, tid; /* tid 0 for a process */
	int64_t proc_start;
	const char *comm, *exe; /* exe NULL when unknown */
	uint32_t uid;		/* UINT32_MAX when unknown */
	uint64_t samples;
	uint32_t hot_func; /* the function most often at the leaf, MODEL_NO_FUNC if none */
	uint64_t spark[MODEL_SPARK_CELLS];
};

struct model_fcount {
	uint32_t func;
	uint64_t self, total;
};

/* The selection's time and what the data covers. */
struct model_info {
	bool live;		   /* the range follows the newest sample */
	int64_t from_ns, to_ns;	   /* the selection, [from, to) */
	int64_t first_ns, last_ns; /* the first and last samples stored (0 when empty) */
	uint32_t hz, ncpus;	   /* of the recordings in the range; 0 when unknown */
	uint64_t samples;	   /* in the selection, after filters and frame mode */
	uint64_t idle;		   /* idle samples in the range (shown or not) */
	uint64_t all;		   /* every sample in the range that passed the filter */
	size_t stacks;		   /* distinct (thread, stack) pairs in the range */
	int64_t spark_bucket_ns;   /* the time of one sparkline cell */
};

struct model;

/*
 * A model over the reader `r` (borrowed; must outlive the model), naming frames with `name`.
 * Starts live with a window of `window_ns`. NULL with errno.
 */
struct model *model__new(struct storage_reader *r, model_frame_name_fn name, int64_t window_ns);

/*
 * Brings the data up to date: when live, moves the range to the newest sample; then recomputes
 * what changed since the last call (nothing when neither the data nor the selection moved).
 * Returns 1 when the data changed, 0 when not, or -errno from the storage (the reason in
 * storage_strerror).
 */
int model__refresh(struct model *m);

/* Whether the selection changed since the last refresh (model__refresh would recompute). */
bool model__stale(const struct model *m);

/* The selection's time, and the totals of the last refresh. */
const struct model_info *model__info(const struct model *m);

/* Follows the newest sample again, with the current window length. */
void model__go_live(struct model *m);
/* A fixed range [from, to) (history). */
void model__set_range(struct model *m, int64_t from_ns, int64_t to_ns);
/* The length of the window; a fixed range keeps its end and moves its start. */
void model__set_window(struct model *m, int64_t window_ns);
int64_t model__window(const struct model *m);

/*
 * The filter every query uses, copied (lists and strings included). Narrowing to one process or
 * thread (model__narrow) is kept apart from it.
 */
int model__set_filter(struct model *m, const struct storage_filter *f);
const struct storage_filter *model__filter(const struct model *m);
/* Narrows every view to one process (tid 0) or thread, or widens again (pid 0, tid 0). */
void model__narrow(struct model *m, uint32_t pid, uint32_t tid);
void model__narrowed(const struct model *m, uint32_t *pid, uint32_t *tid);
void model__set_frames(struct model *m, enum model_frames frames);
enum model_frames model__frames(const struct model *m);
void model__show_idle(struct model *m, bool show);
bool model__idle_shown(const struct model *m);

/* Function `id`; NULL for an unknown id. Borrowed for the model's life. */
const struct model_func *model__func(const struct model *m, uint32_t id);
uint32_t model__nfuncs(const struct model *m);

/* Processes (by_thread false) or threads of the selection, by samples descending. Borrowed until
 * the next refresh; NULL with errno (ENOMEM, or from the storage) on failure. */
const struct model_task *model__tasks(struct model *m, bool by_thread, size_t *n);

/* Functions of the selection, by self descending. Borrowed until the next refresh; NULL with
 * errno on failure. */
const struct model_fcount *model__functions(struct model *m, size_t *n);

/*
 * The callers and callees of function `func` over the selection, each by samples descending:
 * callers[i].self counts the samples where callers[i].func called `func` (MODEL_NO_FUNC: `func`
 * is the outermost frame); callees likewise (MODEL_NO_FUNC: samples in `func` itself). Recursion
 * counts once per sample, at the outermost call. Owned arrays (free()); 0 or -ENOMEM.
 */
int model__neighbours(struct model *m, uint32_t func, struct model_fcount **callers,
		      size_t *ncallers, struct model_fcount **callees, size_t *ncallees);

/*
 * The flame tree of the selection: the command, then the frames from the root to the leaf; or,
 * reversed, the leaf first down to the root and the command last. Functions of one kind and name
 * are one node whatever their module, as flamegraph.pl merges folded names; node funcs are the
 * first such function's id. Built on first use after each
 * refresh; borrowed until the next refresh. NULL with errno on failure.
 */
const struct flame_tree *model__flame(struct model *m, bool reversed);

/*
 * Sample counts of the heatmap: cols seconds from t0_ns, rows per second, column by column
 * (counts[col * rows + row]). Follows the filter, idle and frame mode like the other views.
 * Owned array (free()); 0 or -errno.
 */
int model__heatmap(struct model *m, int64_t t0_ns, int cols, int rows, uint64_t **counts);

void model__free(struct model *m);

#endif
