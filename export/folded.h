/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The folded stack format that flamegraph.pl reads: one line per distinct stack,
 * "comm;root;...;leaf COUNT", user frames root first, then kernel frames marked "_[k]". With
 * options the first frame is "comm-PID" or "comm-PID/TID" (as stackcollapse-perf.pl --pid/--tid
 * write it) and inlined frames end in "_[i]". The SVG flame graph is drawn from the same lines.
 */
#ifndef EMBER_EXPORT_FOLDED_H
#define EMBER_EXPORT_FOLDED_H

#include <stddef.h>
#include <stdint.h>

#include "export/export.h"

extern const struct export_format export_folded_format;

struct export_line {
	uint64_t count;
	char *text; /* "comm;root;...;leaf", owned by the set */
};

/* Distinct lines sorted by text (strcmp). */
struct export_lines {
	struct export_line *v;
	size_t n;
	uint64_t total;
};

/*
 * The folded lines of the samples that pass f, with job->opt's naming options; progress maps onto
 * [pfrom, pto]. 0 (an empty slice gives n == 0) or -errno. Free with export_lines_free.
 */
int export_folded_lines(struct export_job *job, const struct storage_filter *f, double pfrom,
			double pto, struct export_lines *out);
void export_lines_free(struct export_lines *l);

#endif
