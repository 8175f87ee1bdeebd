// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test workload that spends its time in the kernel: main -> spin_loop -> spin_read, which reads
 * /dev/zero with a raw `syscall` instruction (so the user stack needs no libc frame). The kernel
 * part of its samples must show the read path (vfs_read, read_zero...). Usage: syscall_spin SECONDS
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static char buf[1 << 20];

NOINLINE long spin_read(int fd)
{
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"((long)SYS_read), "D"((long)fd), "S"(buf), "d"(sizeof(buf))
			 : "rcx", "r11", "memory");
	return ret;
}

NOINLINE void spin_loop(int fd, double end)
{
	struct timespec ts;

	do {
		if (spin_read(fd) < 0)
			exit(1);
		clock_gettime(CLOCK_MONOTONIC, &ts);
	} while (ts.tv_sec + ts.tv_nsec / 1e9 < end);
}

int main(int argc, char **argv)
{
	struct timespec ts;
	int fd = open("/dev/zero", O_RDONLY);

	if (fd < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	spin_loop(fd, ts.tv_sec + ts.tv_nsec / 1e9 + (argc > 1 ? atof(argv[1]) : 10));
	return 0;
}
