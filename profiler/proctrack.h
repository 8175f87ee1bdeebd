/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The process tracker: one entry per process identity (pid, start time), holding the snapshot of
 * its executable mappings taken when it was first seen, so that its samples still resolve after
 * it exits. A sampled address outside every known mapping (a dlopen, an exec) re-reads the maps,
 * at most once per PROCTRACK_REREAD_NS per process.
 */
#ifndef EMBER_PROCTRACK_H
#define EMBER_PROCTRACK_H

#include <stdbool.h>
#include <stdint.h>

#include "symbolizer/procmaps.h"

#define PROCTRACK_REREAD_NS 100000000ll /* 100 ms */

struct proc {
	uint32_t pid;
	uint64_t start_ns;		    /* CLOCK_BOOTTIME, as the sampler reports it */
	struct procmaps *maps;		    /* NULL when the process was gone before we looked */
	char *exe;			    /* NULL when unknown */
	int64_t maps_read_ns, last_seen_ns; /* CLOCK_MONOTONIC */
};

struct proctrack;

/* NULL with errno ENOMEM. */
struct proctrack *proctrack__new(void);

/*
 * The entry for (pid, start_ns), created (and its maps read) on first sight, in which case *is_new
 * is set. NULL with errno ENOMEM. Borrowed: valid until proctrack__expire or proctrack__free.
 */
struct proc *proctrack__get(struct proctrack *pt, uint32_t pid, uint64_t start_ns, int64_t now_ns,
			    bool *is_new);

/* The mapping holding `ip`, re-reading the maps once on a miss (see above). NULL if none. */
const struct procmaps_entry *proctrack__find_map(struct proctrack *pt, struct proc *p, uint64_t ip,
						 int64_t now_ns);

/* Forgets processes not seen since `cutoff_ns`. Returns how many were dropped. */
unsigned int proctrack__expire(struct proctrack *pt, int64_t cutoff_ns);

unsigned int proctrack__count(const struct proctrack *pt);

void proctrack__free(struct proctrack *pt);

#endif
