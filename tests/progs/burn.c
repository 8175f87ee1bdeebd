// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A short-lived process: burns CPU in burn_spin() for the given milliseconds of its own CPU time,
 * then exits. tests/e2e/short_lived.sh starts twenty of these a second. Usage: burn MS
 */
#include <stdlib.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))

volatile unsigned long burn_sink;

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

NOINLINE void burn_spin(double ms)
{
	double end = cpu_ms() + ms;
	unsigned long x = burn_sink;

	while (cpu_ms() < end)
		for (int i = 0; i < 20000; i++)
			x = x * 2862933555777941757ul + 3037000493ul;
	burn_sink = x;
}

int main(int argc, char **argv)
{
	burn_spin(argc > 1 ? atof(argv[1]) : 50);
	return 0;
}
