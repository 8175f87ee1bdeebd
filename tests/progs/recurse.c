// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test workload for truncated stacks: recurses DEPTH levels deep, each frame holding FRAME bytes of
 * locals, then spins at the bottom. With DEPTH 300 no stack copy holds it all (large frames) or the
 * unwinder's frame limit comes first (small frames): the stacks are truncated, never complete.
 * Built like nofp_chain (-O2 -fomit-frame-pointer). Usage: recurse DEPTH FRAME SECONDS
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

volatile unsigned long recurse_sink;
static double recurse_end;
static size_t recurse_frame;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static void recurse_spin(void)
{
	unsigned long x = recurse_sink;

	while (now() < recurse_end)
		for (int i = 0; i < 100000; i++)
			x = x * 2862933555777941757ul + 3037000493ul;
	recurse_sink = x;
}

/* Not a tail call: the frame's buffer is used after the call returns. */
__attribute__((noinline)) unsigned long recurse_down(int depth)
{
	volatile char *buf = __builtin_alloca(recurse_frame);
	unsigned long r;

	buf[0] = (char)depth;
	if (depth > 1)
		r = recurse_down(depth - 1);
	else
		recurse_spin(), r = 0;
	return r + buf[0];
}

int main(int argc, char **argv)
{
	int depth = argc > 1 ? atoi(argv[1]) : 300;

	recurse_frame = argc > 2 ? (size_t)atol(argv[2]) : 16;
	if (recurse_frame < 1)
		recurse_frame = 1;
	recurse_end = now() + (argc > 3 ? atof(argv[3]) : 10);
	return (int)(recurse_down(depth) & 1);
}
