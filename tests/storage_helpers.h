/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Helpers for the storage tests: a temporary directory, and a small deterministic writer of
 * history (a few processes, threads and stacks, one flush per simulated second) whose exact
 * content the tests can recompute.
 */
#ifndef EMBER_TEST_STORAGE_HELPERS_H
#define EMBER_TEST_STORAGE_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/query.h"
#include "storage/storage.h"
#include "storage/writer.h"

#define T_NS 1000000000ll
/* A fixed instant, so tests do not depend on the clock: 2024-12-07T05:40:00Z. */
#define T_EPOCH 1733550000000000000ll

static char th_dir[] = "/tmp/ember-storage-test-XXXXXX";

static inline const char *th_path(const char *name)
{
	static char buf[8][512];
	static int next;
	char *p = buf[next++ % 8];

	snprintf(p, 512, "%s/%s", th_dir, name);
	return p;
}

static inline int th_setup(void)
{
	return mkdtemp(th_dir) ? 0 : -1;
}

static inline void th_teardown(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", th_dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", th_dir);
}

static inline long long th_file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (long long)st.st_size;
}

/*
 * The synthetic history of the tests: `procs` processes of `threads` threads; every second
 * every CPU takes `hz` samples; the stack of a sample is chosen among `stacks` stacks per
 * process family (frames named f<k>_<i>); stacks of process family `epoch_of(t)` change every
 * `churn_s` seconds, so old stacks stop being used (what pruning removes).
 */
struct th_gen {
	int procs, threads, cpus, hz, stacks;
	int churn_s; /* 0: the same stacks for ever */
	uint64_t samples;
	uint64_t rng;
};

static inline uint64_t th_rand(struct th_gen *g)
{
	g->rng = g->rng * 6364136223846793005ull + 1442695040888963407ull;
	return g->rng >> 33;
}

/* Writes seconds [t0, t0 + secs) as one flush per second, calling maintain after each (with
 * `policy`, when not NULL). 0 or -errno. */
static inline int th_write(struct storage_writer *w, struct th_gen *g, int64_t t0, int secs,
			   const struct storage_policy *policy)
{
	struct storage_recording rec = { .started_ns = t0,
					 .hz = (uint32_t)g->hz,
					 .ncpus = (uint32_t)g->cpus,
					 .event = "cpu-clock" };

	for (int s = 0; s < secs; s++) {
		int64_t t = t0 + s * T_NS;
		int epoch = g->churn_s ? (int)((t / T_NS) / g->churn_s) : 0;
		int err;

		for (int cpu = 0; cpu < g->cpus; cpu++) {
			for (int k = 0; k < g->hz; k++) {
				int p = (int)(th_rand(g) % (uint64_t)g->procs);
				int th = (int)(th_rand(g) % (uint64_t)g->threads);
				int st = (int)(th_rand(g) % (uint64_t)g->stacks);
				char comm[16], name[64], mod[32];
				int64_t frames[3], tid, sid;
				struct storage_frame f = { .kind = STORAGE_FRAME_USER };
				struct storage_sample smp;

				snprintf(comm, sizeof(comm), "proc%d", p);
				snprintf(mod, sizeof(mod), "/usr/bin/proc%d", p);
				err = storage_writer__process(w, 100 + (uint32_t)p, 1000 + p,
							      T_EPOCH - 3600 * T_NS, 1000, comm,
							      mod, t);
				if (err)
					return err;
				tid = storage_writer__thread(w, 100 + (uint32_t)p,
							     (uint32_t)(100 + p * 100 + th),
							     1000 + p, comm);
				f.module = mod;
				for (int d = 0; d < 3; d++) {
					snprintf(name, sizeof(name), "f%d_%d_e%d_d%d", p, st, epoch,
						 d);
					f.name = d == 2 ? "main" : name;
					frames[d] = storage_writer__frame(w, &f);
					if (frames[d] < 0)
						return (int)frames[d];
				}
				sid = storage_writer__stack(w, frames, 3, STORAGE_STACK_COMPLETE);
				if (tid < 0 || sid < 0)
					return tid < 0 ? (int)tid : (int)sid;
				smp = (struct storage_sample){
					.time_ns = t + (int64_t)k * (T_NS / g->hz) +
						   (int64_t)cpu * 1000000,
					.thread = tid,
					.stack = sid,
					.cgroup = 10 + (uint64_t)p,
					.cpu = (uint32_t)cpu,
				};
				err = storage_writer__sample(w, &smp);
				if (err)
					return err;
				g->samples++;
			}
		}
		rec.delivered = g->samples;
		err = storage_writer__flush(w, &rec, 0, NULL);
		if (!err && policy)
			err = storage_writer__maintain(w, policy, t + T_NS, 0, NULL);
		if (err)
			return err;
	}
	return 0;
}

/* The number of samples a query of the whole history finds. */
static inline int64_t th_count(struct storage_reader *r, const struct storage_filter *f)
{
	struct storage_stack_count *c = NULL;
	uint64_t total = 0;
	size_t n;
	int err = storage_reader__stack_counts(r, f, &c, &n, &total);

	free(c);
	return err ? err : (int64_t)total;
}

#endif
