// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * flame-bench: the cost of the flame graph's pure parts (tui/flame.c) on synthetic stacks: building
 * the tree from N distinct stacks, laying it out (what every key press in the flame view redoes
 * when the zoom or the width changes), and marking a search. Stacks come from a call graph with
 * Zipf-distributed callees (a few hot paths, a long tail) and Zipf-distributed counts, so the tree
 * shares prefixes the way real profiles do. Deterministic for a seed; CPU time per operation,
 * the median of several rounds, with its range.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tui/flame.h"

#define MAX_DEPTH 64
#define FANOUT 12
#define ROUNDS 7

static uint64_t rng = 1;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* 0 .. n-1, Zipf-like with exponent s (inverse transform over a precomputed table). */
static unsigned int zipf(const double *cdf, unsigned int n)
{
	double u = (double)(rnd() >> 11) / (double)(1ull << 53);
	unsigned int lo = 0, hi = n - 1;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void zipf_table(double *cdf, unsigned int n, double s)
{
	double sum = 0;

	for (unsigned int i = 0; i < n; i++)
		sum += 1.0 / pow(i + 1, s);
	for (unsigned int i = 0, acc = 0; i < n; i++) {
		double v = 1.0 / pow(i + 1, s) / sum;

		cdf[i] = (i ? cdf[i - 1] : 0) + v;
		(void)acc;
	}
	cdf[n - 1] = 1.0;
}

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, double *v, int n, const char *unit)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	printf("%-34s median %9.3f %s  (range %.3f .. %.3f)\n", what, v[n / 2], unit, v[0],
	       v[n - 1]);
}

/* A stack's hash, to keep them distinct. */
static uint64_t hash_stack(const uint32_t *f, uint32_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ f[i]) * 1099511628211ull;
	return h ^ n;
}

int main(int argc, char **argv)
{
	size_t nstacks = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	uint32_t nfuncs = 50000, width = argc > 2 ? (uint32_t)atoi(argv[2]) : 200;
	double callee_cdf[FANOUT], count_cdf[1000], t[ROUNDS];
	struct flame_stack *stacks = calloc(nstacks, sizeof(*stacks));
	uint32_t *frames = malloc(nstacks * MAX_DEPTH * sizeof(*frames));
	size_t tab = 1;
	uint64_t *seen, total = 0, frames_total = 0;
	struct flame_rects r = { 0 };
	struct flame_tree *tree = NULL;
	uint8_t *fm = calloc(nfuncs, 1), *nm = NULL;

	while (tab < nstacks * 2)
		tab <<= 1;
	seen = calloc(tab, sizeof(*seen));
	if (!stacks || !frames || !seen || !fm || !nstacks || width < 1) {
		fprintf(stderr, "usage: flame-bench [STACKS [WIDTH]]\n");
		return 2;
	}
	zipf_table(callee_cdf, FANOUT, 1.5);
	zipf_table(count_cdf, 1000, 1.2);
	for (size_t i = 0; i < nstacks;) {
		uint32_t *f = frames + i * MAX_DEPTH, depth = 0, fn = (uint32_t)(rnd() % 40);
		uint64_t h;
		size_t slot;

		/* Descend from one of 40 programs' entry points; each function's callees are a
		 * fixed pseudo-random set, chosen with Zipf weights; stop with a chance growing
		 * with depth. */
		while (depth < MAX_DEPTH) {
			f[depth++] = fn;
			if (depth > 8 && rnd() % 1000 < (depth - 8) * 12)
				break;
			fn = (uint32_t)((fn * 2654435761u + 97u * (zipf(callee_cdf, FANOUT) + 1)) %
					nfuncs);
		}
		h = hash_stack(f, depth);
		for (slot = h & (tab - 1); seen[slot] && seen[slot] != h;
		     slot = (slot + 1) & (tab - 1))
			;
		if (seen[slot] == h)
			continue; /* not distinct */
		seen[slot] = h;
		stacks[i].funcs = f;
		stacks[i].depth = depth;
		stacks[i].count = 1 + zipf(count_cdf, 1000) / 10;
		total += stacks[i].count;
		frames_total += depth;
		i++;
	}
	printf("%zu distinct stacks, %llu samples, mean depth %.1f, width %u cells\n", nstacks,
	       (unsigned long long)total, (double)frames_total / (double)nstacks, width);

	for (int k = 0; k < ROUNDS; k++) {
		double t0 = cpu_ms();

		flame_tree__free(tree);
		tree = flame_tree__new(stacks, nstacks);
		t[k] = cpu_ms() - t0;
		if (!tree) {
			perror("flame_tree__new");
			return 1;
		}
	}
	printf("%u nodes, depth %u\n", flame_tree__count(tree), flame_tree__max_depth(tree));
	report("build the tree", t, ROUNDS, "ms");

	for (int k = 0; k < ROUNDS; k++) {
		double t0 = cpu_ms();

		for (int j = 0; j < 100; j++)
			flame_layout(tree, FLAME_ROOT, (int)width, &r);
		t[k] = (cpu_ms() - t0) / 100;
	}
	printf("%zu rectangles at the root\n", r.n);
	report("layout, whole graph", t, ROUNDS, "ms");

	/* Zoomed on frames a user would pick: the laid-out ones, in turn. */
	for (int k = 0; k < ROUNDS; k++) {
		struct flame_rects z = { 0 };
		double t0;
		size_t n = r.n;

		t0 = cpu_ms();
		for (size_t j = 0; j < 200; j++)
			flame_layout(tree, r.v[(j * 7919) % n].node, (int)width, &z);
		t[k] = (cpu_ms() - t0) / 200;
		flame_rects_free(&z);
	}
	report("layout, zoomed", t, ROUNDS, "ms");

	for (uint32_t i = 0; i < nfuncs; i += 10)
		fm[i] = 1;
	nm = malloc(flame_tree__count(tree));
	for (int k = 0; k < ROUNDS; k++) {
		double t0 = cpu_ms();
		uint64_t matched = flame_match(tree, fm, nfuncs, nm);

		t[k] = cpu_ms() - t0;
		if (!k)
			printf("search of 10%% of the functions matches %.1f%% of the samples\n",
			       100.0 * (double)matched / (double)total);
	}
	report("mark a search", t, ROUNDS, "ms");

	flame_rects_free(&r);
	flame_tree__free(tree);
	free(nm);
	free(fm);
	free(seen);
	free(frames);
	free(stacks);
	return 0;
}
