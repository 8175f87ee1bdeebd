/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The writer: interns strings, frames, stacks, processes and threads (each stored once and
 * referenced by id), buffers samples, and writes everything new in one transaction per flush.
 * Every row of the database's dictionaries is held in memory, loaded when the writer opens, so
 * ids are assigned at once and the ingest path never waits on SQLite. Between flushes,
 * storage_writer__maintain merges small blocks and chunks, applies the retention policy and
 * prunes rows nothing refers to any more, a bounded slice of work at a time.
 */
#ifndef EMBER_WRITER_H
#define EMBER_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/codec.h"
#include "storage/storage.h"

struct storage_writer;

/* `db` must be open in STORAGE_WRITE mode and outlive the writer. NULL with errno on failure
 * (ENOMEM, EBADMSG for a dictionary that does not decode, or another database error).
 * Between two flushes the writer keeps one read transaction open on `db` for its lookups
 * (storage_writer__flush and storage_writer__free end it): nothing else may begin a transaction
 * on the same connection meanwhile. */
struct storage_writer *storage_writer__new(struct storage *db);

/* Ids > 0, or -errno (ENOMEM, EINVAL for a stack deeper than 4096 frames). */
int64_t storage_writer__frame(struct storage_writer *w, const struct storage_frame *f);
/* `frames` leaf first; n may be 0 (a sample with no stack at all). Stacks with the same frames
 * but another status are distinct rows. */
int64_t storage_writer__stack(struct storage_writer *w, const int64_t *frames, size_t n,
			      enum storage_stack_status status);
int64_t storage_writer__thread(struct storage_writer *w, uint32_t pid, uint32_t tid,
			       int64_t proc_start_ns, const char *comm);

/* Records a process the first time it is seen; later calls for the same (pid, proc_start) are
 * ignored. proc_start is the identity (CLOCK_BOOTTIME ns, as given to storage_writer__thread),
 * started_ns the same instant since the epoch. */
int storage_writer__process(struct storage_writer *w, uint32_t pid, int64_t proc_start,
			    int64_t started_ns, uint32_t uid, const char *comm, const char *exe,
			    int64_t seen_ns);

/*
 * Attaches a command line (arguments joined by spaces, at most STORAGE_CMDLINE_MAX bytes kept)
 * to a process recorded by storage_writer__process and not flushed yet; call it only when the
 * user asked for command lines, which can hold secrets. 0, -ENOENT (no such process, or already
 * written), -ENOMEM.
 */
#define STORAGE_CMDLINE_MAX 4096
int storage_writer__process_cmdline(struct storage_writer *w, uint32_t pid, int64_t proc_start,
				    const char *cmdline);

/*
 * Notes that the process (pid, proc_start) exited: no sample will name it again. Shortly after
 * (10 flushes), the writer forgets it and its threads in memory; their rows stay in the
 * database. Unknown processes are ignored.
 */
void storage_writer__process_exit(struct storage_writer *w, uint32_t pid, int64_t proc_start);

/* Buffers one sample until the next flush. 0 or -ENOMEM. */
int storage_writer__sample(struct storage_writer *w, const struct storage_sample *s);

/* Samples buffered and not yet written. */
size_t storage_writer__pending(const struct storage_writer *w);

/*
 * Writes all buffered rows and samples, and the recording's counters, in one transaction.
 * Returns 0, or -errno (-ENOSPC on a full disk). On failure the transaction is rolled back; the
 * interned rows stay queued for the next flush, and the buffered samples are kept unless more
 * than `max_pending` are waiting, in which case they are dropped and added to *dropped.
 */
int storage_writer__flush(struct storage_writer *w, struct storage_recording *rec,
			  size_t max_pending, uint64_t *dropped);

/*
 * Queues a row of the collector's own cost (s->recording is ignored), written in the next
 * flush's transaction with the id of the recording that flush writes; a flush without a
 * recording keeps it queued. While flushes fail, at most 60 rows wait (an hour), the oldest
 * dropped first. Always 0.
 */
int storage_writer__self(struct storage_writer *w, const struct storage_self *s);

/* The rows the writer holds in memory (to intern against), and those it let go. */
struct storage_writer_stats {
	size_t strings, frames, stacks, processes, threads; /* held now */
	uint64_t forgotten_strings, forgotten_frames, forgotten_stacks, forgotten_processes,
	    forgotten_threads; /* let go since the writer opened (their rows stay stored) */
	uint64_t sqlite_bytes; /* what SQLite holds in this process (its page caches, statements) */
};

void storage_writer__stats(const struct storage_writer *w, struct storage_writer_stats *out);

/* What storage_writer__maintain keeps. */
struct storage_policy {
	int64_t retention_ns;	 /* delete history older than this; 0: keep everything */
	int64_t max_bytes;	 /* keep the database file under this size; 0: no limit */
	int64_t rollup_after_ns; /* replace samples older than this by per-minute counts; 0: the
				    default, STORAGE_ROLLUP_AFTER_NS; < 0: never */
};

#define STORAGE_ROLLUP_AFTER_NS (86400ll * 1000000000ll)

/* What one call of storage_writer__maintain did. */
struct storage_maint_stats {
	uint64_t merged_blocks;	   /* flush blocks merged into windows */
	uint64_t rolled_up_blocks; /* blocks replaced by per-minute counts */
	uint64_t deleted_blocks;   /* blocks deleted by --retention or --max-db-size */
	uint64_t merged_chunks;	   /* dictionary chunks merged */
	uint64_t pruned_rows;	   /* strings, frames, stacks, processes, threads removed */
	uint64_t freed_bytes;	   /* returned to the file system by incremental vacuum */
	bool idle;		   /* nothing is left to do for now */
};

/*
 * Runs maintenance steps until `budget_ns` of time is spent or nothing is left to do: merges
 * flush blocks into windows and small dictionary chunks into larger ones; replaces samples older
 * than the policy's rollup age by per-minute counts; deletes history beyond the retention or
 * over the size limit (oldest first); prunes dictionary rows no block refers to; returns free
 * pages to the file system. Each step is its own short transaction, so the collector can call
 * this after every flush with a few milliseconds of budget. `now_ns` is the current time since
 * the epoch. `st` (may be NULL) is filled in. 0 or -errno (-ENOSPC: retried next time).
 */
int storage_writer__maintain(struct storage_writer *w, const struct storage_policy *p,
			     int64_t now_ns, int64_t budget_ns, struct storage_maint_stats *st);

void storage_writer__free(struct storage_writer *w);

#endif
