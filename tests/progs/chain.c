// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test workload with a known call chain: main -> chain_run -> chain_mid1 -> chain_mid2, which
 * calls chain_leaf_a and chain_leaf_b; leaf_b does twice the work of leaf_a, so a profile must
 * show them at 1:2. Built with frame pointers (leaf ones too: clang honours
 * -mno-omit-leaf-frame-pointer, gcc 12 does not). Usage: chain SECONDS
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))

volatile unsigned long chain_sink;

/* Distinct constants keep the two leaves from being folded into one function. */
NOINLINE void chain_leaf_a(unsigned long n)
{
	unsigned long x = chain_sink;

	for (unsigned long i = 0; i < n; i++)
		x = x * 6364136223846793005ul + 1442695040888963407ul;
	chain_sink = x;
}

NOINLINE void chain_leaf_b(unsigned long n)
{
	unsigned long x = chain_sink;

	for (unsigned long i = 0; i < n; i++)
		x = x * 2862933555777941757ul + 3037000493ul;
	chain_sink = x;
}

NOINLINE void chain_mid2(unsigned long n)
{
	chain_leaf_a(n);
	chain_leaf_b(2 * n);
}

NOINLINE void chain_mid1(unsigned long n)
{
	chain_mid2(n);
}

NOINLINE void chain_run(unsigned long n)
{
	chain_mid1(n);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double end = now() + (argc > 1 ? atof(argv[1]) : 10);

	/* About 0.3 ms per leaf_a call: irregular against any sampling period. */
	while (now() < end)
		chain_run(317000);
	printf("%lu\n", chain_sink & 1);
	return 0;
}
