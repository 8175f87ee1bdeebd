// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test workload for a frame without CFI: main -> cfi_outer -> nocfi_mid -> cfi_leaf, where
 * nocfi_mid comes from nocfi_mid.c, built without unwind tables but with a frame pointer (as JIT
 * code often is). DWARF-only unwinding must stop at nocfi_mid (no unwind info); auto mode steps
 * over it with its frame pointer and reaches _start. Usage: nocfi SECONDS
 */
#include <stdlib.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))

volatile unsigned long nocfi_sink;
static double nocfi_end;

unsigned long nocfi_mid(unsigned long (*leaf)(unsigned long), unsigned long n);

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

NOINLINE unsigned long cfi_leaf(unsigned long n)
{
	unsigned long x = nocfi_sink;

	for (unsigned long i = 0; i < n; i++)
		x = x * 6364136223846793005ul + i;
	nocfi_sink = x;
	return x;
}

NOINLINE unsigned long cfi_outer(void)
{
	unsigned long r = 0;

	while (now() < nocfi_end)
		r += nocfi_mid(cfi_leaf, 1000000);
	return r + 1;
}

int main(int argc, char **argv)
{
	nocfi_end = now() + (argc > 1 ? atof(argv[1]) : 10);
	return (int)(cfi_outer() & 1);
}
