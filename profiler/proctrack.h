/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The process tracker: one entry per process identity (pid, start time), holding the snapshot of
 * its executable mappings taken when it was first seen and again after each exec, and the
 * symbolizer's view of it (its root, and the mapped files it pins open), so that its samples still
 * resolve after it exits or its binaries are deleted. A sampled address outside every known
 * mapping (a dlopen) re-reads the maps, at most once per PROCTRACK_REREAD_NS per process, and at
 * once for the first miss after an exec (the maps read at exec time predate the dynamic loader's
 * work). An exit releases the pins PROCTRACK_EXIT_GRACE_NS later: the exit tracepoint fires in
 * the middle of do_exit(), and samples of the rest of it (tearing down the address space, with
 * the user registers still in libc's _exit) come after the exit event.
 *
 * When a process is gone before its maps could be read here, the snapshot the prefetch thread
 * took stands in: the kernel's exit-time maps, else one read at its exec or first sample.
 */
#ifndef EMBER_PROCTRACK_H
#define EMBER_PROCTRACK_H

#include <stdbool.h>
#include <stdint.h>

#include "profiler/prefetch.h"
#include "symbolizer/procmaps.h"
#include "symbolizer/symbolizer.h"

#define PROCTRACK_REREAD_NS 100000000ll	     /* 100 ms */
#define PROCTRACK_EXIT_GRACE_NS 1000000000ll /* 1 s */

struct proc {
	uint32_t pid;
	uint64_t start_ns;		    /* CLOCK_BOOTTIME, as the sampler reports it */
	struct procmaps *maps;		    /* NULL when the process was gone before we looked */
	char *exe;			    /* NULL when unknown */
	int64_t maps_read_ns, last_seen_ns; /* CLOCK_MONOTONIC */
	int64_t maps_taken_ns;		    /* when the maps held were read (here or prefetched) */
	struct sym_process *sym;	    /* root and pinned files; NULL after exit */
	bool reread_on_miss;		    /* maps read at exec: re-read on the first miss */
	uint32_t image;			    /* exec count: the same IPs mean other code after one */
	int64_t exit_ns;		    /* CLOCK_MONOTONIC of its exit event; 0: alive */
};

struct proctrack;

/*
 * Borrows `sym` and `pf` (NULL: no prefetch thread); they must outlive the tracker. When a
 * process is gone before its maps could be read here, the prefetch thread's snapshot (taken at its
 * exec or first sample) stands in. NULL with errno ENOMEM.
 */
struct proctrack *proctrack__new(struct symbolizer *sym, struct prefetch *pf);

/*
 * The time (CLOCK_BOOTTIME, as records carry it) of the record about to be handled: a snapshot of
 * an image made after it (a sample taken before its process's exec) is left for later records.
 */
void proctrack__set_record_time(struct proctrack *pt, uint64_t boot_ns);

/*
 * The entry for (pid, start_ns), created (and its maps read) on first sight, in which case *is_new
 * is set. NULL with errno ENOMEM. Borrowed: valid until proctrack__expire or proctrack__free.
 */
struct proc *proctrack__get(struct proctrack *pt, uint32_t pid, uint64_t start_ns, int64_t now_ns,
			    bool *is_new);

/* The mapping holding `ip`, re-reading the maps once on a miss (see above). NULL if none. */
const struct procmaps_entry *proctrack__find_map(struct proctrack *pt, struct proc *p, uint64_t ip,
						 int64_t now_ns);

/*
 * An exec event of (pid, start_ns): the process keeps its identity but not its mappings. Reads the
 * maps again (creating the entry if new; *is_new tells) and pins the new files. NULL with errno
 * ENOMEM.
 */
struct proc *proctrack__exec(struct proctrack *pt, uint32_t pid, uint64_t start_ns, int64_t now_ns,
			     bool *is_new);

/* An exit event: the process's pinned files are released, and it is forgotten,
 * PROCTRACK_EXIT_GRACE_NS after `now_ns` (by proctrack__expire). */
void proctrack__exit(struct proctrack *pt, uint32_t pid, uint64_t start_ns, int64_t now_ns);

/* Forgets processes not seen since `cutoff_ns`, and those that exited more than
 * PROCTRACK_EXIT_GRACE_NS before `now_ns` (CLOCK_MONOTONIC, every record up to it handled).
 * Returns how many were dropped of the first kind (the second is routine). */
unsigned int proctrack__expire(struct proctrack *pt, int64_t now_ns, int64_t cutoff_ns);

unsigned int proctrack__count(const struct proctrack *pt);

void proctrack__free(struct proctrack *pt);

#endif
