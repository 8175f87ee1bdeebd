// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "profiler/heap.h"

#ifdef EMBER_JEMALLOC
#include <jemalloc/jemalloc.h>

#define STR_(x) #x
#define STR(x) STR_(x)

/*
 * jemalloc's defaults suit the collector: an arena per CPU's worth of threads (the collector's
 * main loop and the prefetch thread allocate apart), dirty pages returned ten seconds after
 * their last use. No background thread: it would start before the collector drops its
 * capabilities and keep them (privs.c, every thread's sets are checked).
 */
void heap_tune(void)
{
}

void heap_release(void)
{
	/* Every arena: its unused dirty and muzzy pages go back now. */
	mallctl("arena." STR(MALLCTL_ARENAS_ALL) ".purge", NULL, NULL, NULL, 0);
}

uint64_t heap_in_use(void)
{
	uint64_t epoch = 1;
	size_t allocated = 0, len = sizeof(allocated), elen = sizeof(epoch);

	/* The statistics are a snapshot taken at each new epoch. */
	if (mallctl("epoch", &epoch, &elen, &epoch, elen) ||
	    mallctl("stats.allocated", &allocated, &len, NULL, 0))
		return 0;
	return allocated;
}

#else
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

/*
 * glibc's malloc: one arena (each thread that allocates otherwise gets its own, which keeps its
 * free pages), and blocks of 128 KiB and more always mmapped, so that they go back to the system
 * when freed (the default threshold grows to 32 MiB after the first such block is freed, and big
 * blocks then land in the heap among small ones).
 */
void heap_tune(void)
{
	const char *t = getenv("GLIBC_TUNABLES");

	if (t && strstr(t, "glibc.malloc."))
		return;
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
}

void heap_release(void)
{
	malloc_trim(0);
}

uint64_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}
#endif
