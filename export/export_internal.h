/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the format modules of export/ share: the aggregation of a slice per (thread, stack[,
 * cgroup]), a time-ordered walk, both reporting progress; the sampling period of each sample from
 * the recordings that took it; and the names frames get in text formats.
 */
#ifndef EMBER_EXPORT_INTERNAL_H
#define EMBER_EXPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export/export.h"

/* ember record's default rate, assumed for samples no recording row accounts for. */
#define EXPORT_DEFAULT_HZ 99

/* The recordings that took a slice's samples, to know each sample's period. */
struct export_rates {
	struct storage_recording *recs; /* owned, by start */
	size_t n;
	size_t cursor; /* the recording of the last lookup: samples come in time order */
};

/* Loads the recordings overlapping f's range. 0 or -errno. Free with export_rates__free. */
int export_rates__load(struct export_rates *r, struct storage_reader *rd,
		       const struct storage_filter *f);
/* The sampling period at time t: the latest recording started at or before t (else the first
 * one; EXPORT_DEFAULT_HZ without any). */
uint64_t export_rates__period_ns(struct export_rates *r, int64_t t);
/* The event name at time t ("cpu-clock", "cycles"). */
const char *export_rates__event(struct export_rates *r, int64_t t);
void export_rates__free(struct export_rates *r);

struct export_entry {
	int64_t thread, stack;
	uint64_t cgroup; /* 0 unless aggregated by cgroup */
	uint64_t count;
	uint64_t weight_ns; /* the sum of the periods of its samples */
};

/* A slice aggregated: entries sorted by thread, stack, cgroup. */
struct export_agg {
	struct export_entry *v;
	size_t n;
	uint64_t total;
	int64_t first_ns, last_ns; /* times of the first and last sample (0 when empty) */
};

/*
 * Aggregates the samples that pass f per (thread, stack), and per cgroup too when by_cgroup.
 * Reports progress through job, mapped onto [pfrom, pto] of the whole export. `rates` may be NULL
 * (weight_ns is then 0). 0 or -errno; an empty slice is not an error (out->total 0).
 */
int export_aggregate(struct export_job *job, const struct storage_filter *f, bool by_cgroup,
		     struct export_rates *rates, double pfrom, double pto, struct export_agg *out);
void export_agg_free(struct export_agg *a);

/* Walks the samples that pass f in time order, like storage_reader__samples, reporting progress
 * mapped onto [pfrom, pto]. */
int export_walk(struct export_job *job, const struct storage_filter *f, double pfrom, double pto,
		storage_sample_fn fn, void *ctx);

/* Replaces ';' and control bytes by '_' in place. */
void export_sanitize(char *s);

/* A growing string. */
struct export_buf {
	char *s;
	size_t len, cap;
};
/* Appends (printf-style); 0 or -ENOMEM. */
__attribute__((format(printf, 2, 3))) int export_buf__printf(struct export_buf *b, const char *fmt,
							     ...);
int export_buf__append(struct export_buf *b, const char *s, size_t n);
void export_buf__free(struct export_buf *b);

#endif
