/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The read side, shared by `ember export`, `report` and `top`: samples of a time range that pass a
 * filter, aggregated per (thread, stack), and the threads, stacks and frames their ids name. The
 * reader caches what it has looked up; everything it returns is borrowed until
 * storage_reader__free.
 */
#ifndef EMBER_QUERY_H
#define EMBER_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "storage/codec.h"
#include "storage/storage.h"

struct storage_filter {
	int64_t from_ns;      /* inclusive; 0: from the start */
	int64_t to_ns;	      /* exclusive; 0: to the end */
	const uint32_t *pids; /* NULL: any process */
	size_t npids;
	const char *comm; /* NULL: any command */
};

struct storage_thread {
	uint32_t pid, tid;
	int64_t proc_start;
	const char *comm;
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

/* Walks the matching samples, block by block in time order. 0 or -errno (-EBADMSG for a corrupt
 * block). */
int storage_reader__samples(struct storage_reader *r, const struct storage_filter *f,
			    storage_sample_fn fn, void *ctx);

/*
 * Aggregates the matching samples per (thread, stack). On success *out is an owned array (free())
 * of *n entries sorted by thread then stack, and *total the number of samples.
 */
int storage_reader__stack_counts(struct storage_reader *r, const struct storage_filter *f,
				 struct storage_stack_count **out, size_t *n, uint64_t *total);

/* NULL with errno ENOENT for an unknown id. */
const struct storage_thread *storage_reader__thread(struct storage_reader *r, int64_t id);

/* The frame ids of a stack, leaf first. 0, -ENOENT or -EBADMSG. */
int storage_reader__stack(struct storage_reader *r, int64_t id, const int64_t **frames, size_t *n);

/* NULL with errno ENOENT for an unknown id. */
const struct storage_frame *storage_reader__frame(struct storage_reader *r, int64_t id);

void storage_reader__free(struct storage_reader *r);

#endif
