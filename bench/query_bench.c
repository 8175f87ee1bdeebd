// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * query-bench: times the query API (storage/query.h) on a database, as `ember export`, `report`
 * and `top` use it: the aggregated stacks of the whole history, of one process for each hour, the
 * per-function and per-process totals, histograms. Every query runs on a fresh reader (nothing
 * cached, as a new `ember export` would), and the aggregated stacks are resolved as an export
 * resolves them (every thread and stack the counts name is looked up, and the frames of each
 * distinct stack once), and is repeated: the
 * report gives the CPU time of the process (CLOCK_PROCESS_CPUTIME_ID, which a loaded machine
 * disturbs far less than wall time), the wall time, and the samples matched; for the aggregated
 * stacks also the calling thread's own CPU time (the decoder threads run beside it: on an idle
 * machine of c CPUs the wall time is about the larger of it and the process's CPU over c), the
 * CPU time of the naming after the counts (one thread), and a digest of the counts (two builds that
 * answer alike print the same).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/query.h"
#include "storage/storage.h"

#define NS 1000000000ll

static const char usage[] = "Usage: query-bench --db PATH [--repeat N] [--pid PID] [--hour H] "
			    "[--whole]\n"
			    "\n"
			    "Times storage queries on the database: whole history, one process per "
			    "hour, functions,\n"
			    "tasks and histograms. --pid picks the process (default: the busiest "
			    "of the first hour); --hour H times only that process's hour H (from "
			    "0);\n"
			    "--whole only the whole history's stack counts.\n";

struct timing {
	double cpu, wall;
	double caller;	 /* the CPU time of the calling thread alone: the decoders' run beside it */
	double naming;	 /* of the caller's CPU time, what came after the counts: the naming */
	uint64_t digest; /* of the counts, to compare two builds' answers */
};

static double now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum query { Q_STACKS, Q_FUNCTIONS, Q_TASKS, Q_HISTOGRAM };

/* Stack ids met so far (ids are dense and below 2^32). */
struct bitset {
	uint64_t *bits;
	size_t words;
};

/* Whether `id` was met before; marks it. (Out of memory: never met, so nothing is skipped.) */
static bool seen_before(struct bitset *b, int64_t id)
{
	size_t w = (size_t)id / 64;
	bool was;

	if (id < 0)
		return false;
	if (w >= b->words) {
		size_t nw = (w + 1) * 2;
		uint64_t *nb = realloc(b->bits, nw * sizeof(*nb));

		if (!nb)
			return false;
		memset(nb + b->words, 0, (nw - b->words) * sizeof(*nb));
		b->bits = nb;
		b->words = nw;
	}
	was = b->bits[w] >> (id % 64) & 1;
	b->bits[w] |= 1ull << (id % 64);
	return was;
}

/* Runs one query on a fresh reader; returns the samples it matched, or -errno. */
static int64_t run(struct storage *db, enum query q, const struct storage_filter *f,
		   struct timing *t)
{
	double c0 = now(CLOCK_PROCESS_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
	double t0 = now(CLOCK_THREAD_CPUTIME_ID);
	struct storage_reader *r = storage_reader__new(db);
	uint64_t total = 0;
	size_t n = 0;
	int err;

	if (!r)
		return -errno;
	switch (q) {
	case Q_STACKS: {
		struct storage_stack_count *v = NULL;
		struct bitset seen = { 0 };

		err = storage_reader__stack_counts(r, f, &v, &n, &total);
		t->naming = now(CLOCK_THREAD_CPUTIME_ID);
		for (size_t i = 0; !err && i < n; i++)
			t->digest = (t->digest ^ ((uint64_t)v[i].thread << 40 ^
						  (uint64_t)v[i].stack << 16 ^ v[i].count)) *
				    0x100000001b3ull;
		/* What a consumer needs next: the threads and stacks named, each distinct stack's
		 * frames once (as exports do: the text of a stack is built once and reused for
		 * every thread that ran it). */
		for (size_t i = 0; !err && i < n; i++) {
			const int64_t *frames;
			size_t depth;

			if (!storage_reader__thread(r, v[i].thread))
				err = -errno;
			else if (!(err = storage_reader__stack(r, v[i].stack, &frames, &depth,
							       NULL)) &&
				 !seen_before(&seen, v[i].stack))
				for (size_t d = 0; !err && d < depth; d++)
					if (!storage_reader__frame(r, frames[d]))
						err = -errno;
		}
		free(v);
		free(seen.bits);
		break;
	}
	case Q_FUNCTIONS: {
		struct storage_function_count *v = NULL;

		err = storage_reader__functions(r, f, &v, &n, &total);
		free(v);
		break;
	}
	case Q_TASKS: {
		struct storage_task_count *v = NULL;

		err = storage_reader__tasks(r, f, false, &v, &n, &total);
		free(v);
		break;
	}
	case Q_HISTOGRAM: {
		uint64_t *h = NULL;

		err = storage_reader__histogram(r, f, 60 * NS, &h, &n);
		for (size_t i = 0; i < n; i++)
			total += h[i];
		free(h);
		break;
	}
	default:
		err = -EINVAL;
	}
	storage_reader__free(r);
	t->cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
	t->caller = now(CLOCK_THREAD_CPUTIME_ID) - t0;
	t->wall = now(CLOCK_MONOTONIC) - w0;
	if (t->naming)
		t->naming = t0 + t->caller - t->naming;
	return err ? err : (int64_t)total;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Runs a query `repeat` times and prints the median and range of its CPU and wall times. */
static int bench(struct storage *db, const char *name, enum query q, const struct storage_filter *f,
		 int repeat)
{
	double cpu[64], wall[64], naming[64], caller[64];
	int64_t matched = 0;
	uint64_t digest = 0;

	for (int i = 0; i < repeat; i++) {
		struct timing t = { 0 };

		matched = run(db, q, f, &t);
		if (matched < 0) {
			fprintf(stderr, "query-bench: %s: %s\n", name,
				storage_strerror((int)matched));
			return -1;
		}
		cpu[i] = t.cpu;
		wall[i] = t.wall;
		naming[i] = t.naming;
		caller[i] = t.caller;
		digest = t.digest;
	}
	qsort(cpu, (size_t)repeat, sizeof(*cpu), cmp_double);
	qsort(wall, (size_t)repeat, sizeof(*wall), cmp_double);
	qsort(naming, (size_t)repeat, sizeof(*naming), cmp_double);
	qsort(caller, (size_t)repeat, sizeof(*caller), cmp_double);
	printf("%-44s %12lld samples  cpu %7.3f s (%.3f-%.3f)  wall %7.3f s (%.3f-%.3f)", name,
	       (long long)matched, cpu[repeat / 2], cpu[0], cpu[repeat - 1], wall[repeat / 2],
	       wall[0], wall[repeat - 1]);
	if (q == Q_STACKS)
		printf("  caller cpu %.3f s  naming %.3f s  digest %016llx", caller[repeat / 2],
		       naming[repeat / 2], (unsigned long long)digest);
	putchar('\n');
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'D' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "pid", required_argument, NULL, 'p' },
		{ "hour", required_argument, NULL, 'H' },
		{ "whole", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = NULL;
	int repeat = 3, c;
	uint32_t pid = 0;
	int64_t only_hour = -1;
	bool whole = false;
	char comm[64] = "?";
	int64_t first, last, hours;
	struct storage_filter all = { 0 }, f;
	struct storage_reader *r;
	struct storage *db;
	double worst = 0;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'D':
			path = optarg;
			break;
		case 'r':
			repeat = atoi(optarg);
			break;
		case 'p':
			pid = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'H':
			only_hour = strtoll(optarg, NULL, 10);
			break;
		case 'w':
			whole = true;
			break;
		default:
			fputs(usage, c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	if (!path || repeat < 1 || repeat > 64) {
		fputs(usage, stderr);
		return 2;
	}
	db = storage__open(path, STORAGE_READ);
	if (!db) {
		fprintf(stderr, "query-bench: %s: %s\n", path, storage_strerror(errno));
		return 1;
	}
	r = storage_reader__new(db);
	if (!r || storage_reader__span(r, &first, &last)) {
		fprintf(stderr, "query-bench: %s: no history\n", path);
		return 1;
	}
	/* The hour of the last sample counts too. */
	hours = (last - first) / (3600 * NS) + 1;
	if (!pid) {
		struct storage_filter h1 = { .from_ns = first, .to_ns = first + 3600 * NS };
		struct storage_task_count *t = NULL;
		size_t n = 0;

		if (!storage_reader__tasks(r, &h1, false, &t, &n, NULL) && n) {
			/* The busiest process that is not the idle one. */
			for (size_t i = 0; i < n && !pid; i++) {
				pid = t[i].pid;
				if (pid && t[i].comm)
					snprintf(comm, sizeof(comm), "%s", t[i].comm);
			}
		}
		free(t);
	}
	storage_reader__free(r);
	printf("%s: %.1f hours of history; process %u (%s)\n", path,
	       (double)(last - first) / 3600e9, pid, comm);
	if (only_hour < 0 && bench(db, "stack counts, everything", Q_STACKS, &all, repeat))
		return 1;
	if (whole)
		goto done;
	for (int64_t h = only_hour >= 0 ? only_hour : 0;
	     h < (only_hour >= 0 ? only_hour + 1 : hours); h++) {
		double c0 = now(CLOCK_PROCESS_CPUTIME_ID);
		char name[64];

		f = (struct storage_filter){ .from_ns = first + h * 3600 * NS,
					     .to_ns = first + (h + 1) * 3600 * NS,
					     .pids = &pid,
					     .npids = 1 };
		snprintf(name, sizeof(name), "stack counts, process %u, hour %lld", pid,
			 (long long)h);
		if (bench(db, name, Q_STACKS, &f, repeat))
			return 1;
		if ((now(CLOCK_PROCESS_CPUTIME_ID) - c0) / repeat > worst)
			worst = (now(CLOCK_PROCESS_CPUTIME_ID) - c0) / repeat;
	}
	printf("%-44s cpu %.3f s (the mean of the slowest hour)\n", "slowest process-hour", worst);
	if (only_hour >= 0)
		goto done;
	f = (struct storage_filter){ .pids = &pid, .npids = 1 };
	if (bench(db, "stack counts, process, everything", Q_STACKS, &f, repeat))
		return 1;
	if (bench(db, "functions, everything", Q_FUNCTIONS, &all, repeat) ||
	    bench(db, "processes, everything", Q_TASKS, &all, repeat))
		return 1;
	f = (struct storage_filter){ .from_ns = first, .to_ns = last + 1 };
	if (bench(db, "histogram by minute, everything", Q_HISTOGRAM, &f, repeat))
		return 1;
done:
	storage__close(db);
	return 0;
}
