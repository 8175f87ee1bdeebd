/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The prefetch thread: reads /proc/PID/maps and opens the mapped files of a process the moment it
 * execs, and again at its first sample (when the dynamic loader has mapped its libraries), on a
 * thread that does nothing else. The collector's own thread processes records in order and may be
 * busy (a flush, the first parse of a large binary) or wait for a CPU on a loaded host; a process
 * that lives 50 ms is gone by then, and with it /proc/PID/maps and map_files. The snapshots wait
 * here, keyed by (pid, start time), until the process tracker takes them.
 */
#ifndef EMBER_PREFETCH_H
#define EMBER_PREFETCH_H

#include <stddef.h>
#include <stdint.h>

#include "symbolizer/procmaps.h"

/* One snapshot: the executable mappings and, per entry, an fd on its file (-1 when none). */
struct prefetched {
	struct procmaps *maps;
	int *fds;	  /* procmaps__count(maps) entries; owned */
	int64_t taken_ns; /* CLOCK_MONOTONIC */
};

struct prefetch;

/*
 * Starts the thread on the `proc_notices` ring buffer (fd borrowed: it must outlive the prefetch).
 * NULL with errno.
 */
struct prefetch *prefetch__new(int notices_fd);

/*
 * Takes the newest snapshot of (pid, start_ns) taken after `after_ns` (CLOCK_MONOTONIC), or NULL.
 * The caller owns it (prefetched__free).
 */
struct prefetched *prefetch__take(struct prefetch *pf, uint32_t pid, uint64_t start_ns,
				  int64_t after_ns);

/* Files the waiting snapshots hold open at most (one fd each, shared by all snapshots). */
#define PREFETCH_MAX_FILES 512

/* Files open now for the waiting snapshots; in *unopened (may be NULL) how many times a file was
 * left unopened because the limit was reached, in *max (may be NULL) the limit:
 * PREFETCH_MAX_FILES, or EMBER_PREFETCH_MAX_FILES from the environment when lower (tests). */
unsigned int prefetch__open_files(struct prefetch *pf, uint64_t *unopened, unsigned int *max);

/* Snapshots taken, and processes gone before the thread could read their maps. */
void prefetch__stats(struct prefetch *pf, uint64_t *taken, uint64_t *missed);

void prefetched__free(struct prefetched *p);

/* Stops and joins the thread; drops the snapshots nobody took. Accepts NULL. */
void prefetch__free(struct prefetch *pf);

#endif
