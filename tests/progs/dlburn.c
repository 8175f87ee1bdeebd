// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A short-lived process that loads a library late: burns BEFORE_MS of CPU time in its own
 * main_spin() (so that it is sampled, and its maps perhaps read, before the library exists in
 * them), then dlopens LIBRARY and spends LIB_MS in its dlburn_spin(), then exits at once.
 * Usage: dlburn LIBRARY BEFORE_MS LIB_MS
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

volatile unsigned long main_sink;

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

__attribute__((noinline)) void main_spin(double ms)
{
	double end = cpu_ms() + ms;
	unsigned long x = main_sink;

	while (cpu_ms() < end)
		for (int i = 0; i < 20000; i++)
			x = x * 6364136223846793005ul + 1442695040888963407ul;
	main_sink = x;
}

int main(int argc, char **argv)
{
	void (*spin)(double);
	void *lib;

	if (argc != 4) {
		fprintf(stderr, "usage: dlburn LIBRARY BEFORE_MS LIB_MS\n");
		return 2;
	}
	main_spin(atof(argv[2]));
	lib = dlopen(argv[1], RTLD_NOW);
	*(void **)&spin = lib ? dlsym(lib, "dlburn_spin") : NULL;
	if (!spin) {
		fprintf(stderr, "dlburn: %s\n", dlerror());
		return 1;
	}
	spin(atof(argv[3]));
	return 0;
}
