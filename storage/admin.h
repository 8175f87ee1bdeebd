/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Looking after a database: what it holds (`ember db info`) and whether it is sound
 * (`ember db check`). Both read one snapshot, so they work while a collector writes. Pruning and
 * the retention policy are the writer's (storage_writer__maintain in storage/writer.h).
 */
#ifndef EMBER_ADMIN_H
#define EMBER_ADMIN_H

#include <stdint.h>

#include "storage/storage.h"

/* The dictionaries, in this order: strings, frames, stacks, processes, threads. */
#define STORAGE_NDICTS 5
extern const char *const storage_dict_names[STORAGE_NDICTS];

struct storage_info {
	int schema_version;
	char created_by[64];
	int64_t first_ns, last_ns; /* the span of the history; both 0 when it is empty */
	uint64_t samples;	   /* every sample, counting those kept as per-minute counts */
	/* Blocks by level: as flushed, merged into windows, per-minute counts. */
	uint64_t blocks[3];
	uint64_t block_samples[3]; /* samples they stand for */
	uint64_t block_bytes[3];   /* their compressed size */
	uint64_t rows[STORAGE_NDICTS], chunks[STORAGE_NDICTS], chunk_bytes[STORAGE_NDICTS];
	/* Stack rows by enum storage_stack_status: how the user stacks were unwound. */
	uint64_t stack_status[STORAGE_STACK_NO_USER + 1];
	uint64_t recordings;
	int64_t page_size;
	int64_t file_bytes; /* the database file, free pages included */
	int64_t free_bytes; /* free pages inside it, reused before the file grows */
	int64_t wal_bytes;  /* the -wal file beside it (0 when absent) */
};

/* Fills *out. 0 or -errno (-EBADMSG for a database too damaged to tell). */
int storage__info(struct storage *s, struct storage_info *out);

/* Called for every problem found, with one sentence (borrowed for the call). */
typedef void (*storage_problem_fn)(const char *problem, void *ctx);

/*
 * Checks the database: SQLite's integrity_check, then ember's own invariants: every dictionary
 * chunk and every block decodes; chunks do not overlap; every id a row or a block refers to
 * exists; samples lie within their block's times; no id is above the next one to hand out.
 * Returns 0 when the check ran, with *problems set (0: sound), or -errno when it could not run.
 */
int storage__check(struct storage *s, storage_problem_fn fn, void *ctx, uint64_t *problems);

#endif
