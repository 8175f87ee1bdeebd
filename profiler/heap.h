/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The collector's allocator, set for a process that runs for months with bursts of allocation.
 * ember is linked with jemalloc (Debian's libjemalloc2): size classes in slabs of their own and
 * free pages given back after a delay keep the resident size at what is in use, where glibc's
 * malloc let it creep up among long-lived chunks (docs/benchmarks.md, the soak test). Sanitizer
 * builds keep glibc's malloc (ASan brings its own), tuned as well as it can be.
 */
#ifndef EMBER_PROFILER_HEAP_H
#define EMBER_PROFILER_HEAP_H

#include <stdint.h>

/* Sets the allocator up for a long-running collector; the operator's MALLOC_CONF (jemalloc) or
 * GLIBC_TUNABLES for malloc (glibc) wins. Call before the collector allocates much. */
void heap_tune(void);
/* Gives the pages no allocation uses back to the system now. */
void heap_release(void);
/* Bytes allocated and in use; 0 when the allocator cannot say. */
uint64_t heap_in_use(void);

#endif
