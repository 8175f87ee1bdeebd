// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A library loaded after the process was first seen: waits, then dlopens libz and spends its time
 * in libz's adler32(), which lies outside every mapping of the first maps snapshot, then sleeps
 * (alive, so that a collector lagging behind can still read its maps). Usage:
 * dlopen_spin WAIT_SECONDS SPIN_SECONDS [LINGER_SECONDS]
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static unsigned char buf[1 << 16];
	unsigned long (*adler)(unsigned long, const unsigned char *, unsigned int);
	double wait = argc > 1 ? atof(argv[1]) : 1, spin = argc > 2 ? atof(argv[2]) : 2, end;
	unsigned long sum = 1;
	void *z;

	/* Burn the wait in our own code, so that the process is sampled (and its maps read). */
	for (end = now() + wait; now() < end;)
		sum = sum * 31 + 7;
	z = dlopen("libz.so.1", RTLD_NOW);
	adler =
	    z ? (unsigned long (*)(unsigned long, const unsigned char *, unsigned int))dlsym(z, "ad"
												"le"
												"r3"
												"2")
	      : NULL;
	if (!adler)
		return 1;
	for (end = now() + spin; now() < end;)
		sum = adler(sum, buf, sizeof(buf));
	printf("%lu\n", sum & 1);
	fflush(stdout);
	sleep(argc > 3 ? (unsigned int)atoi(argv[3]) : 0);
	return 0;
}
