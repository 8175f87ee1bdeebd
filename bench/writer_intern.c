// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Micro-benchmark of the collector's slow path: what the storage writer costs per new frame and
 * stack, as when a busy host runs many short-lived programs (compilers) whose stacks ember has
 * never seen. Builds NSTACKS stacks of DEPTH frames, every frame new, flushing every FLUSH
 * stacks (the collector flushes once a second), first into a fresh database, then again into
 * the same database reopened (the rows exist: the writer must find and reuse them). Written
 * when the writer looked rows up in SQLite; since schema 2 it holds every row in memory (loaded
 * at open, outside the timing), so "fresh" is interning plus the dictionary chunks each flush
 * writes, and "reopened" is hash-table hits. gen-history --replay measures the whole writer on
 * realistic reuse; this is the case where nothing is reused.
 * Prints CPU nanoseconds per frame for both; deterministic enough to run under
 * `valgrind --tool=callgrind`.
 *
 * usage: writer_intern DB [NSTACKS [DEPTH [FLUSH]]]   (default 2000 30 200)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "storage/storage.h"
#include "storage/writer.h"

static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Returns the first stack id, or -errno. */
static int64_t run(const char *path, int nstacks, int depth, int flush_every, double *ns_per_frame)
{
	struct storage *db = storage__open(path, STORAGE_WRITE);
	struct storage_writer *w = NULL;
	struct storage_recording rec = { .hz = 99, .ncpus = 2, .event = "cpu-clock" };
	int64_t *ids = calloc((size_t)depth, sizeof(*ids)), first = 0, err = 0;
	char name[64];
	double t0;

	if (!db || !ids || !(w = storage_writer__new(db))) {
		err = -errno;
		goto out;
	}
	t0 = cpu_ns();
	for (int s = 0; s < nstacks && !err; s++) {
		for (int d = 0; d < depth; d++) {
			struct storage_frame f = { .kind = STORAGE_FRAME_USER,
						   .name = name,
						   .module = "/usr/lib/gcc/x86_64-linux-gnu/12/"
							     "cc1" };

			snprintf(name, sizeof(name), "function_%d_%d", s, d);
			ids[d] = storage_writer__frame(w, &f);
			if (ids[d] < 0) {
				err = ids[d];
				break;
			}
		}
		if (!err) {
			int64_t id = storage_writer__stack(w, ids, (size_t)depth,
							   STORAGE_STACK_UNCLASSIFIED);
			if (id < 0)
				err = id;
			else if (!first)
				first = id;
		}
		if (!err && (s + 1) % flush_every == 0)
			err = storage_writer__flush(w, &rec, 0, NULL);
	}
	if (!err)
		err = storage_writer__flush(w, &rec, 0, NULL);
	*ns_per_frame = (cpu_ns() - t0) / ((double)nstacks * depth);
out:
	storage_writer__free(w);
	storage__close(db);
	free(ids);
	return err ? err : first;
}

int main(int argc, char **argv)
{
	int nstacks = argc > 2 ? atoi(argv[2]) : 2000, depth = argc > 3 ? atoi(argv[3]) : 30;
	int flush_every = argc > 4 ? atoi(argv[4]) : 200;
	double fresh, again;
	int64_t a, b;

	if (argc < 2 || nstacks < 1 || depth < 1 || flush_every < 1) {
		fprintf(stderr, "usage: writer_intern DB [NSTACKS [DEPTH [FLUSH]]]\n");
		return 2;
	}
	unlink(argv[1]);
	a = run(argv[1], nstacks, depth, flush_every, &fresh);
	b = run(argv[1], nstacks, depth, flush_every, &again);
	if (a < 0 || b < 0) {
		fprintf(stderr, "writer_intern: %s\n", strerror((int)-(a < 0 ? a : b)));
		return 1;
	}
	if (a != b) {
		fprintf(stderr, "writer_intern: reopened database gave stack %lld, not %lld\n",
			(long long)b, (long long)a);
		return 1;
	}
	printf("%d stacks x %d frames, flush every %d stacks: %.0f ns per new frame (fresh "
	       "database), %.0f ns per frame (reopened, rows exist)\n",
	       nstacks, depth, flush_every, fresh, again);
	return 0;
}
