// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The library dlburn loads: one known function, dlburn_spin(), that burns the given milliseconds of
 * the process's CPU time. Built as a shared object with -g (tests/CMakeLists.txt); the e2e test
 * dlopen_exited.sh gives each process its own copy, so that no other process ever maps its file.
 */
#include <time.h>

volatile unsigned long dlburn_sink;

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

__attribute__((noinline)) void dlburn_spin(double ms)
{
	double end = cpu_ms() + ms;
	unsigned long x = dlburn_sink;

	while (cpu_ms() < end)
		for (int i = 0; i < 20000; i++)
			x = x * 2862933555777941757ul + 3037000493ul;
	dlburn_sink = x;
}
