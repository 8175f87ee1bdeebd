// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test workload for DWARF unwinding: built with -O2 -fomit-frame-pointer, so frame pointers tell
 * nothing, main calls a known chain of 20 noinline functions, nofp_f01 -> ... -> nofp_f20, and the
 * leaf spins there until the time is up, reading the clock through the vdso now and then. Every
 * sample of the process (after start-up) must show main;nofp_f01;...;nofp_f20 in that order.
 * Usage: nofp_chain SECONDS
 */
#include <stdlib.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))

volatile unsigned long nofp_sink;
static double nofp_end;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* through the vdso */
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

NOINLINE unsigned long nofp_f20(unsigned long n)
{
	unsigned long x = nofp_sink;

	while (now() < nofp_end)
		for (unsigned long i = 0; i < n; i++)
			x = x * 6364136223846793005ul + i;
	nofp_sink = x;
	return x;
}

/* Each link does work after its call, so that no call becomes a jump (a tail call would drop the
 * caller's frame, and rightly so). */
#define LINK(name, next, k)                          \
	NOINLINE unsigned long name(unsigned long n) \
	{                                            \
		unsigned long r = next(n);           \
		nofp_sink += k;                      \
		return r + k;                        \
	}

LINK(nofp_f19, nofp_f20, 19)
LINK(nofp_f18, nofp_f19, 18)
LINK(nofp_f17, nofp_f18, 17)
LINK(nofp_f16, nofp_f17, 16)
LINK(nofp_f15, nofp_f16, 15)
LINK(nofp_f14, nofp_f15, 14)
LINK(nofp_f13, nofp_f14, 13)
LINK(nofp_f12, nofp_f13, 12)
LINK(nofp_f11, nofp_f12, 11)
LINK(nofp_f10, nofp_f11, 10)
LINK(nofp_f09, nofp_f10, 9)
LINK(nofp_f08, nofp_f09, 8)
LINK(nofp_f07, nofp_f08, 7)
LINK(nofp_f06, nofp_f07, 6)
LINK(nofp_f05, nofp_f06, 5)
LINK(nofp_f04, nofp_f05, 4)
LINK(nofp_f03, nofp_f04, 3)
LINK(nofp_f02, nofp_f03, 2)
LINK(nofp_f01, nofp_f02, 1)

int main(int argc, char **argv)
{
	nofp_end = now() + (argc > 1 ? atof(argv[1]) : 10);
	return (int)(nofp_f01(20000) & 1);
}
