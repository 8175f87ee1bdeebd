/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The folded stack format that flamegraph.pl reads: one line per distinct stack,
 * "comm;root;...;leaf COUNT", user frames root first, then kernel frames marked "_[k]".
 */
#ifndef EMBER_FOLDED_H
#define EMBER_FOLDED_H

#include <stdio.h>

#include "storage/query.h"

/*
 * Writes the samples that pass `filter` to `out`, one line per distinct (comm, stack), sorted.
 * Returns 0 with *nsamples set, or -errno (-ENODATA when nothing matched: nothing is written).
 */
int folded_write(FILE *out, struct storage_reader *r, const struct storage_filter *filter,
		 unsigned long long *nsamples);

/*
 * Formats one frame as the folded format names it into buf: the function, or
 * "module+0xOFFSET" (module's base name) when unknown; kernel frames get "_[k]". Characters that
 * would break the format (';', newlines, other control bytes) become '_'. Returns buf.
 */
char *folded_frame_name(const struct storage_frame *f, char *buf, size_t len);

#endif
