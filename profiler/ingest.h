/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Ingest: one ring-buffer record in, one stored sample out. Validates the record, finds the
 * process (snapshotting its maps on first sight), symbolizes the stack unless this exact raw stack
 * of this process was seen before, and hands thread, stack and time to the storage writer.
 */
#ifndef EMBER_INGEST_H
#define EMBER_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profiler/proctrack.h"
#include "storage/writer.h"
#include "symbolizer/symbolizer.h"
#include "storage/storage.h"
#include "symbolizer/unwind.h"

struct ingest_stats {
	uint64_t received;  /* records taken from the ring buffer */
	uint64_t malformed; /* records that failed validation: dropped */
	uint64_t errors;    /* records dropped for lack of memory or a database error */
	uint64_t stack_cache_hits;
	uint64_t proc_events; /* exec and exit records */
	/* Samples, by the status of their stack (enum storage_stack_status). */
	uint64_t stack_status[STORAGE_STACK_NO_USER + 1];
};

struct ingest;

/* Borrows all three; they must outlive the ingest. NULL with errno ENOMEM. */
struct ingest *ingest__new(struct storage_writer *w, struct symbolizer *sym, struct proctrack *pt);

/* Whether to store each new process's command line (off by default: they can hold secrets). */
void ingest__set_cmdline(struct ingest *in, bool on);

/*
 * Borrows the unwinder (it must outlive the ingest): records with a stack copy are unwound with it,
 * frame-pointer stacks are classified by it, and each stack is stored with its status. Without one
 * (the default) copies are ignored and stacks stored unclassified.
 */
void ingest__set_unwinder(struct ingest *in, struct unwinder *uw);

/*
 * Ingests one record of `size` bytes. `boot_to_epoch_ns` converts CLOCK_BOOTTIME to the epoch.
 * Returns 0, or -errno when the record was dropped (counted in the stats).
 */
int ingest__record(struct ingest *in, const void *data, size_t size, int64_t boot_to_epoch_ns,
		   int64_t now_ns);

/*
 * Ingests one process event (struct ember_proc_event: exec or exit) of `size` bytes: an exec
 * re-reads the process's maps and pins its new files, an exit releases them. 0 or -errno (counted).
 */
int ingest__proc_event(struct ingest *in, const void *data, size_t size, int64_t boot_to_epoch_ns,
		       int64_t now_ns);

/* Forgets cached raw stacks (call when processes expire, to bound memory). */
void ingest__clear_cache(struct ingest *in);

void ingest__stats(const struct ingest *in, struct ingest_stats *out);

void ingest__free(struct ingest *in);

#endif
