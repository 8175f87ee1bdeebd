// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * export-gen: a synthetic history for the export benchmark, written through storage/writer.h as
 * `ember record` writes it: N samples from a host of 64 CPUs at 99 Hz, T threads in T/4
 * processes, S distinct stacks 8 to 40 frames deep that share prefixes (drawn from one random
 * call tree, kernel frames on a third of them). Each process runs a window of 400 stacks
 * (neighbours overlap by half), a few hot and a long tail; a few threads take most samples.
 * Deterministic for a given seed. The storage engineer's gen-history is the general tool; this one
 * only makes the shape the export benchmark needs. Usage: export-gen --db PATH [--samples N]
 * [--stacks S] [--threads T] [--seed X]
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/storage.h"
#include "storage/writer.h"

#define GEN_HZ 99
#define GEN_CPUS 64
#define GEN_FLUSH 65536
#define GEN_FUNCS 4000
#define GEN_KFUNCS 300
#define GEN_MODULES 24
#define GEN_WINDOW 400 /* stacks a process runs */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: fast and good enough for shapes. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static double unit(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "samples", required_argument, NULL, 'n' },
		{ "stacks", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 'x' },
		{ 0 },
	};
	unsigned long long nsamples = 10000000, nstacks = 20000, nthreads = 400, seed = 1;
	const char *path = NULL;
	struct storage_recording rec = { .hz = GEN_HZ, .ncpus = GEN_CPUS, .event = "cpu-clock" };
	int64_t *funcs = NULL, *kfuncs = NULL, *stacks = NULL, *threads = NULL;
	int64_t t0 = 1733550000000000000ll, step = 1000000000ll / (GEN_HZ * GEN_CPUS);
	struct storage_writer *w = NULL;
	struct storage *db = NULL;
	char name[64], module[64];
	int c, err = -EINVAL;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			path = optarg;
			break;
		case 'n':
			nsamples = strtoull(optarg, NULL, 10);
			break;
		case 's':
			nstacks = strtoull(optarg, NULL, 10);
			break;
		case 't':
			nthreads = strtoull(optarg, NULL, 10);
			break;
		case 'x':
			seed = strtoull(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: export-gen --db PATH [--samples N] [--stacks S] "
					"[--threads T] [--seed X]\n");
			return 2;
		}
	}
	if (!path || !nstacks || !nthreads) {
		fprintf(stderr, "export-gen: --db is required; stacks and threads must be > 0\n");
		return 2;
	}
	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	rec.started_ns = t0;
	db = storage__open(path, STORAGE_WRITE);
	w = db ? storage_writer__new(db) : NULL;
	funcs = calloc(GEN_FUNCS, sizeof(*funcs));
	kfuncs = calloc(GEN_KFUNCS, sizeof(*kfuncs));
	stacks = calloc(nstacks, sizeof(*stacks));
	threads = calloc(nthreads, sizeof(*threads));
	if (!w || !funcs || !kfuncs || !stacks || !threads) {
		fprintf(stderr, "export-gen: cannot open %s: %s\n", path, strerror(errno));
		goto out;
	}
	for (int i = 0; i < GEN_FUNCS; i++) {
		struct storage_frame f = { .kind = STORAGE_FRAME_USER,
					   .name = name,
					   .module = module,
					   .file = "gen.c",
					   .line = (uint32_t)(i % 997 + 1) };

		snprintf(name, sizeof(name), "function_%d_%s", i, i % 3 ? "work" : "dispatch");
		snprintf(module, sizeof(module), "/usr/lib/libgen%d.so", i % GEN_MODULES);
		funcs[i] = storage_writer__frame(w, &f);
	}
	for (int i = 0; i < GEN_KFUNCS; i++) {
		struct storage_frame f = { .kind = STORAGE_FRAME_KERNEL,
					   .name = name,
					   .module = "[kernel.kallsyms]" };

		snprintf(name, sizeof(name), "kernel_fn_%d", i);
		kfuncs[i] = storage_writer__frame(w, &f);
	}
	/* Stacks share prefixes: each one copies a random earlier stack's prefix, then grows. */
	{
		int64_t(*path_of)[48] = calloc(nstacks, sizeof(*path_of));
		int *depth = calloc(nstacks, sizeof(*depth));

		if (!path_of || !depth) {
			free(path_of);
			free(depth);
			goto out;
		}
		for (unsigned long long s = 0; s < nstacks; s++) {
			int d = 8 + (int)(rnd() % 25), keep = 0, k = 0;
			int64_t leaf_first[48];

			if (s) {
				unsigned long long from = rnd() % s;

				keep = depth[from] < d ? depth[from] / 2 : d / 2;
				memcpy(path_of[s], path_of[from], (size_t)keep * sizeof(int64_t));
			}
			for (int i = keep; i < d; i++)
				path_of[s][i] = funcs[rnd() % GEN_FUNCS];
			depth[s] = d;
			/* Kernel frames on a third of the stacks, at the leaf end. */
			if (rnd() % 3 == 0)
				for (int i = 0, nk = 3 + (int)(rnd() % 6); i < nk; i++)
					leaf_first[k++] = kfuncs[rnd() % GEN_KFUNCS];
			for (int i = d; i-- > 0;)
				leaf_first[k++] = path_of[s][i];
			stacks[s] =
			    storage_writer__stack(w, leaf_first, (size_t)k, STORAGE_STACK_COMPLETE);
		}
		free(path_of);
		free(depth);
	}
	for (unsigned long long t = 0; t < nthreads; t++) {
		uint32_t pid = 1000 + (uint32_t)(t / 4) * 10, tid = pid + (uint32_t)(t % 4);

		snprintf(name, sizeof(name), "proc%llu%s", t / 4, t % 4 ? "-worker" : "");
		threads[t] = storage_writer__thread(w, pid, tid, (int64_t)pid * 1000, name);
		if (t % 4 == 0)
			storage_writer__process(w, pid, (int64_t)pid * 1000, t0, 1000, name,
						"/usr/bin/gen", t0);
	}
	for (unsigned long long i = 0; i < nsamples; i++) {
		/* Skewed: v^2 puts most samples on the first threads; each process runs its own
		 * window of the stack table, and u^3 puts most of its samples on a few stacks. */
		double u = unit(), v = unit();
		unsigned long long t = (unsigned long long)(v * v * (double)nthreads);
		unsigned long long s =
		    (t / 4 * GEN_WINDOW / 2 + (unsigned long long)(u * u * u * GEN_WINDOW)) %
		    nstacks;
		struct storage_sample smp = { .time_ns = t0 + (int64_t)i * step,
					      .thread = threads[t],
					      .stack = stacks[s],
					      .cgroup = 100 + t / 16,
					      .cpu = (uint32_t)(i % GEN_CPUS) };

		err = storage_writer__sample(w, &smp);
		if (!err && storage_writer__pending(w) >= GEN_FLUSH) {
			rec.delivered = rec.stored + storage_writer__pending(w);
			err = storage_writer__flush(w, &rec, 0, NULL);
		}
		if (err)
			break;
	}
	if (!err) {
		rec.delivered = rec.stored + storage_writer__pending(w);
		rec.ended_ns = t0 + (int64_t)nsamples * step;
		err = storage_writer__flush(w, &rec, 0, NULL);
	}
	if (err)
		fprintf(stderr, "export-gen: %s: %s\n", path, storage_strerror(err));
out:
	free(funcs);
	free(kfuncs);
	free(stacks);
	free(threads);
	storage_writer__free(w);
	storage__close(db);
	return err ? 1 : 0;
}
