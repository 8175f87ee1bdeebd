/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The writer: interns strings, frames, stacks and threads (each stored once and referenced by
 * id), buffers samples, and writes everything new in one transaction per flush. Ids are assigned
 * in memory at once so the ingest path never waits on SQLite; a miss in the in-memory caches is
 * looked up in the database first, so reopening an existing database reuses its rows.
 */
#ifndef EMBER_WRITER_H
#define EMBER_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "storage/codec.h"
#include "storage/storage.h"

struct storage_writer;

/* `db` must be open in STORAGE_WRITE mode and outlive the writer. NULL with errno on failure. */
struct storage_writer *storage_writer__new(struct storage *db);

/* Ids > 0, or -errno (ENOMEM, or a database error looking up an existing row). */
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

void storage_writer__free(struct storage_writer *w);

#endif
