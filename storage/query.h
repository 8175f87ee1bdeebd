/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The read side, shared by `ember export`, `report` and `top`: samples of a time range that pass a
 * filter, aggregated per (thread, stack), and the threads, stacks and frames their ids name. The
 * reader caches what it has looked up; everything it returns is borrowed until
 * storage_reader__free.
 */
#ifndef EMBER_QUERY_H
#define EMBER_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/codec.h"
#include "storage/storage.h"

/* Which samples a query covers. Every list is "any of"; an empty list (n == 0) means any. */
struct storage_filter {
	int64_t from_ns; /* inclusive; 0: from the start */
	int64_t to_ns;	 /* exclusive; 0: to the end */
	const uint32_t *pids;
	size_t npids;
	const uint32_t *tids;
	size_t ntids;
	const uint64_t *cgroups;
	size_t ncgroups;
	const char *comm;   /* NULL: any command (the thread's name, exact match) */
	const char *binary; /* NULL: any; else the process's executable, full path or base name */
};

struct storage_thread {
	uint32_t pid, tid;
	int64_t proc_start;
	const char *comm;
	const char *exe;     /* the process's executable, NULL when unknown */
	uint32_t uid;	     /* the process's real uid (UINT32_MAX when unknown) */
	const char *cmdline; /* the process's command line, NULL unless recorded (--cmdline) */
	int64_t started_ns;  /* the process's start since the epoch, 0 when unknown */
};

struct storage_stack_count {
	int64_t thread;
	int64_t stack;
	uint64_t count;
};

struct storage_reader;

/* `db` must outlive the reader. NULL with errno. */
struct storage_reader *storage_reader__new(struct storage *db);

/* Called for each matching sample; a non-zero return stops the walk and is returned. */
typedef int (*storage_sample_fn)(const struct storage_sample *s, void *ctx);

/*
 * Walks the matching samples, block by block in time order, each block's samples in time order
 * (blocks may overlap a little: a sample can arrive a flush late). History older than the rollup
 * age was kept as per-minute counts: such samples come back once per count, stamped with the
 * start of their minute and cpu STORAGE_CPU_UNKNOWN. The walk is one read transaction: it sees
 * one snapshot, and holds back the WAL's checkpoints until it ends, so `fn` should not block
 * for long. 0, what fn returned, or -errno (-EBADMSG for a corrupt block).
 */
int storage_reader__samples(struct storage_reader *r, const struct storage_filter *f,
			    storage_sample_fn fn, void *ctx);

/*
 * Aggregates the matching samples per (thread, stack). On success *out is an owned array (free())
 * of *n entries sorted by thread then stack, and *total the number of samples.
 */
int storage_reader__stack_counts(struct storage_reader *r, const struct storage_filter *f,
				 struct storage_stack_count **out, size_t *n, uint64_t *total);

/*
 * Per-function totals over the matching samples, like `perf top`: self counts samples whose leaf
 * frame is the function, total those with the function anywhere in the stack (once per sample,
 * however deep the recursion). A function is (kind, name, module); frames without a name are
 * functions of their own. On success *out is an owned array (free()) sorted by self, then total,
 * descending; its frame pointers are borrowed from the reader. *total counts all samples.
 */
struct storage_function_count {
	const struct storage_frame *frame; /* a frame of this function (name, module, kind) */
	int64_t frame_id;		   /* that frame's id */
	uint64_t self, total;
};
int storage_reader__functions(struct storage_reader *r, const struct storage_filter *f,
			      struct storage_function_count **out, size_t *n, uint64_t *total);

/*
 * The same per-function totals over already aggregated counts: `counts` is any subset of what
 * storage_reader__stack_counts returned (one process's threads, say), each entry one
 * (thread, stack) pair. Same ownership and order as storage_reader__functions; *total (may be
 * NULL) is the sum of the counts. 0, -ENOMEM, or an error resolving a stack or frame.
 */
int storage_reader__functions_of(struct storage_reader *r, const struct storage_stack_count *counts,
				 size_t ncounts, struct storage_function_count **out, size_t *n,
				 uint64_t *total);

/*
 * Per-process (or, with by_thread, per-thread) sample counts over the matching samples, with the
 * frame most often at the leaf. A process is (pid, start time). On success *out is an owned
 * array (free()) sorted by samples, descending; comm and exe strings are borrowed from the reader.
 */
struct storage_task_count {
	uint32_t pid, tid; /* tid 0 when counting processes */
	int64_t proc_start;
	const char *comm;
	const char *exe; /* NULL when unknown */
	uint32_t uid;
	uint64_t samples;
	int64_t hot_frame; /* frame id most often at the leaf, 0 if none */
};
int storage_reader__tasks(struct storage_reader *r, const struct storage_filter *f, bool by_thread,
			  struct storage_task_count **out, size_t *n, uint64_t *total);

/*
 * Sample counts per time bucket: (*counts)[i] counts the matching samples in
 * [f->from_ns + i * bucket_ns, f->from_ns + (i + 1) * bucket_ns). f->from_ns and f->to_ns must be
 * set (use storage_reader__span). On success *counts is an owned array (free()) of *n entries.
 * -EINVAL for a bucket_ns <= 0 or more than STORAGE_MAX_BUCKETS buckets.
 */
#define STORAGE_MAX_BUCKETS (1u << 24)
int storage_reader__histogram(struct storage_reader *r, const struct storage_filter *f,
			      int64_t bucket_ns, uint64_t **counts, size_t *n);

/*
 * The recordings (`ember record` runs) whose time overlaps [from_ns, to_ns) (0: unbounded), in
 * order of start; a run still going (ended_ns 0) overlaps everything after its start. On success
 * *out is an owned array (free()) of *n entries whose strings live in the same allocation.
 * 0, -ENOMEM or a database error.
 */
int storage_reader__recordings(struct storage_reader *r, int64_t from_ns, int64_t to_ns,
			       struct storage_recording **out, size_t *n);

/*
 * The collector's own cost (storage/storage.h, struct storage_self): the rows whose interval ends
 * in [from_ns, to_ns) (to_ns 0: to the end), in time order, as an owned array (free()) of *n
 * entries (NULL and 0 when none). 0, -ENOMEM or a database error.
 */
int storage_reader__self(struct storage_reader *r, int64_t from_ns, int64_t to_ns,
			 struct storage_self **out, size_t *n);

/* The newest row of the collector's own cost, of any recording. 0, -ENODATA when there is none,
 * or a database error. */
int storage_reader__self_latest(struct storage_reader *r, struct storage_self *out);

/* The times of the first and last stored samples (ns since the epoch). -ENODATA when empty. */
int storage_reader__span(struct storage_reader *r, int64_t *first_ns, int64_t *last_ns);

/*
 * The sampling rate of the recordings that overlap [from_ns, to_ns) (to_ns 0: to the end): the
 * highest hz and the largest CPU count among them, so samples can be turned into CPU time. A
 * recording still running (or killed before its end was written) overlaps everything after its
 * start. 0, -ENODATA when no recording overlaps, or -errno.
 */
int storage_reader__rate(struct storage_reader *r, int64_t from_ns, int64_t to_ns, uint32_t *hz,
			 uint32_t *ncpus);

/* NULL with errno ENOENT for an unknown id. */
const struct storage_thread *storage_reader__thread(struct storage_reader *r, int64_t id);

/* The frame ids of a stack, leaf first, and its status (status may be NULL). 0, -ENOENT or
 * -EBADMSG. */
int storage_reader__stack(struct storage_reader *r, int64_t id, const int64_t **frames, size_t *n,
			  enum storage_stack_status *status);

/* NULL with errno ENOENT for an unknown id. */
const struct storage_frame *storage_reader__frame(struct storage_reader *r, int64_t id);

/*
 * Equal frames can be stored under several ids (the writer forgets idle rows and strings in
 * memory and interns them again as new rows, equal in content, even in text under other string
 * ids). This is the id of the first frame this reader met whose content equals frame `id`'s (kind
 * and the text of every field): what a list of frames keys by, so that equal frames are one
 * entry. The functions, tasks and filters above already group by content. > 0, or -ENOENT,
 * -ENOMEM, -EBADMSG.
 */
int64_t storage_reader__frame_same(struct storage_reader *r, int64_t id);

void storage_reader__free(struct storage_reader *r);

#endif
