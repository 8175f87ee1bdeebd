// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark workload: burns CPU at the bottom of deep call stacks, as real programs do. Each
 * iteration descends DEPTH levels through two alternating noinline functions (the choice at each
 * of the last four levels follows the iteration counter, so the profile holds a few dozen distinct
 * stacks, not one and not millions), then spends most of its time in one of two arithmetic leaves
 * and one part in eight in read(2) from /dev/zero, so kernel stacks appear under user ones. Built
 * with frame pointers (clang, leaf frame pointers too), like the test programs.
 *
 * usage: deep_stack [SECONDS [DEPTH]]   (default: until killed, depth 24)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static volatile unsigned long sink;
static int zero_fd = -1;

NOINLINE static void leaf_mul(unsigned long n)
{
	unsigned long x = sink;

	for (unsigned long i = 0; i < n; i++)
		x = x * 6364136223846793005ul + 1442695040888963407ul;
	sink = x;
}

NOINLINE static void leaf_xor(unsigned long n)
{
	unsigned long x = sink;

	for (unsigned long i = 0; i < n; i++)
		x ^= (x << 13) ^ (x >> 7) ^ i;
	sink = x;
}

NOINLINE static void leaf_read(void)
{
	char buf[4096];

	for (int i = 0; i < 64; i++)
		if (read(zero_fd, buf, sizeof(buf)) < 0)
			abort();
	sink += (unsigned char)buf[7];
}

NOINLINE static void bottom(unsigned long it)
{
	if (it % 8 == 0)
		leaf_read();
	else if (it % 2)
		leaf_mul(20000);
	else
		leaf_xor(20000);
}

NOINLINE static void level_b(int d, unsigned long it);

NOINLINE static void level_a(int d, unsigned long it)
{
	if (d == 0)
		bottom(it);
	else if (d <= 4 && ((it >> d) & 1))
		level_b(d - 1, it);
	else
		level_a(d - 1, it);
	sink++; /* keeps the call from becoming a tail call */
}

NOINLINE static void level_b(int d, unsigned long it)
{
	if (d == 0)
		bottom(it);
	else if (d <= 4 && ((it >> d) & 1))
		level_b(d - 1, it);
	else
		level_a(d - 1, it);
	sink++;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 0, end;
	int depth = argc > 2 ? atoi(argv[2]) : 24;

	if (depth < 1 || depth > 1000 || seconds < 0) {
		fprintf(stderr, "usage: deep_stack [SECONDS [DEPTH]]\n");
		return 2;
	}
	zero_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (zero_fd < 0) {
		perror("deep_stack: /dev/zero");
		return 1;
	}
	end = now() + seconds;
	for (unsigned long it = 0; seconds == 0 || (it % 64 != 0 || now() < end); it++)
		level_a(depth, it);
	return 0;
}
