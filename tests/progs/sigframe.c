// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test workload for unwinding through signal frames: main -> sig_outer -> sig_spin spins, and a
 * profiling timer delivers SIGPROF every 10 ms of CPU time to sig_handler, which spends about half
 * the time in sig_handler_work. Samples there must unwind through the kernel's signal frame
 * (glibc's __restore_rt) into sig_spin and on to _start. Built like nofp_chain.
 * Usage: sigframe SECONDS
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

volatile unsigned long sig_sink;
static volatile sig_atomic_t sig_done;

NOINLINE void sig_handler_work(void)
{
	unsigned long x = sig_sink;

	for (int i = 0; i < 30000000; i++)
		x = x * 6364136223846793005ul + 1442695040888963407ul;
	sig_sink = x;
}

NOINLINE void sig_handler(int sig)
{
	(void)sig;
	sig_handler_work();
	sig_sink++;
}

NOINLINE void sig_spin(void)
{
	unsigned long x = sig_sink;

	while (!sig_done)
		for (int i = 0; i < 1000; i++)
			x = x * 2862933555777941757ul + 3037000493ul;
	sig_sink = x;
}

NOINLINE void sig_outer(void)
{
	sig_spin();
	sig_sink++;
}

static void on_alarm(int sig)
{
	(void)sig;
	sig_done = 1;
}

int main(int argc, char **argv)
{
	struct itimerval it = { { 0, 10000 }, { 0, 10000 } };
	double secs = argc > 1 ? atof(argv[1]) : 10;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sig_handler;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGPROF, &sa, NULL);
	signal(SIGALRM, on_alarm);
	alarm((unsigned int)(secs + 0.999));
	setitimer(ITIMER_PROF, &it, NULL);
	sig_outer();
	return 0;
}
