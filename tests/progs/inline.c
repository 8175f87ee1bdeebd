// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test program for symbol accuracy: built with -O2 -g, so that mix() is inlined into inner(),
 * inner() into outer() and outer() into work() and main(), giving inline chains three deep whose
 * every level has its own call-site line. tests/e2e/addr2line.sh compares what ember says about
 * each instruction with eu-addr2line -i -f. Usage: inline [N]
 */
#include <stdio.h>
#include <stdlib.h>

static inline unsigned long mix(unsigned long x)
{
	return x * 6364136223846793005ul + 1442695040888963407ul;
}

static inline unsigned long inner(unsigned long x, int n)
{
	for (int i = 0; i < n; i++)
		x = mix(x) ^ (x >> 7);
	return x;
}

static inline unsigned long outer(unsigned long x, int n)
{
	x = inner(x, n);
	x ^= inner(x + 1, n / 2);
	return x;
}

__attribute__((noinline)) unsigned long work(unsigned long x, int n)
{
	return outer(x, n) + outer(x ^ 5, n);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10;

	printf("%lu\n", work((unsigned long)argc, n) + outer((unsigned long)n, 3));
	return 0;
}
