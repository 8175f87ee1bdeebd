/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The prefetch thread: reads /proc/PID/maps and opens the mapped files of a process the moment it
 * execs, and again at its first sample (when the dynamic loader has mapped its libraries), on a
 * thread that does nothing else. The collector's own thread processes records in order and may be
 * busy (a flush, the first parse of a large binary) or wait for a CPU on a loaded host; a process
 * that lives 50 ms is gone by then, and with it /proc/PID/maps and map_files. The snapshots wait
 * here, keyed by (pid, start time), until the process tracker takes them.
 *
 * This thread can be late too (a starved host): the process may exit before it reads anything. So
 * the kernel also sends each process's executable mappings as it exits (struct ember_maps_event,
 * before its exit event), and they become the process's final snapshot here. A process whose maps
 * read empty or missing has exited, so its exit-time maps are in the ring already:
 * prefetch__sync() drains the ring on the caller's thread, and the snapshot is there to take,
 * however late this thread runs.
 */
#ifndef EMBER_PREFETCH_H
#define EMBER_PREFETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbolizer/procmaps.h"

/* One snapshot: the executable mappings and, per entry, an fd on its file (-1 when none). */
struct prefetched {
	struct procmaps *maps;
	int *fds;	   /* procmaps__count(maps) entries; owned */
	int64_t taken_ns;  /* CLOCK_MONOTONIC */
	bool final;	   /* from the exit-time maps: files may be known by device and inode only
			      (an empty path; see procmaps_entry_is_file) */
	uint64_t image_ns; /* CLOCK_BOOTTIME of the exec that made the image these maps are of;
			      0: unknown. Records older than that belong to the image before. */
};

struct prefetch;

/*
 * Starts the thread on the `proc_notices` ring buffer (fd borrowed: it must outlive the prefetch).
 * NULL with errno.
 */
struct prefetch *prefetch__new(int notices_fd);

/*
 * Takes the newest snapshot of (pid, start_ns) taken after `after_ns` (CLOCK_MONOTONIC), or NULL.
 * A snapshot of an image made after `at_ns` (CLOCK_BOOTTIME: the time of the record being
 * handled, a sample before the exec, say) stays for a later caller. The caller owns it
 * (prefetched__free).
 */
struct prefetched *prefetch__take(struct prefetch *pf, uint32_t pid, uint64_t start_ns,
				  int64_t after_ns, uint64_t at_ns);

/* The fds the waiting snapshots may hold at most; past it, snapshots keep maps without fds. */
#define PREFETCH_MAX_FILES 512

/* Fds the waiting snapshots hold now; in *unopened (may be NULL) how many files were left
 * unopened at the limit, in *max (may be NULL) the limit: PREFETCH_MAX_FILES, or
 * EMBER_PREFETCH_MAX_FILES from the environment when lower (tests). */
unsigned int prefetch__open_files(struct prefetch *pf, uint64_t *unopened, unsigned int *max);

/*
 * Handles every notice waiting in the ring now, on the caller's thread (the thread's own consume
 * is locked out meanwhile). Call it before prefetch__take when the process has exited: its
 * exit-time maps are then in the table. Accepts NULL.
 */
void prefetch__sync(struct prefetch *pf);

/* Snapshots taken, processes gone before the thread could read their maps, and exit-time maps
 * received. */
void prefetch__stats(struct prefetch *pf, uint64_t *taken, uint64_t *missed, uint64_t *exit_maps);

void prefetched__free(struct prefetched *p);

/*
 * The paths an exit-time maps record (struct ember_maps_event of `size` bytes, hostile: checked)
 * carries: paths[i], for each of its first `n` entries, becomes an owned string ("/usr/lib/...",
 * components put back in order) or stays NULL. An entry takes the path of the named entry with its
 * device and inode. Returns the entries named, or -EINVAL for a malformed record (nothing named),
 * -ENOMEM. The caller frees the strings.
 */
int prefetch_exit_paths(const void *record, size_t size, char **paths, size_t n);

/* Stops and joins the thread; drops the snapshots nobody took. Accepts NULL. */
void prefetch__free(struct prefetch *pf);

#endif
