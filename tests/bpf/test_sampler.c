// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The BPF sampler for real: every configuration of its `const volatile` switches must pass the
 * verifier (it only checks code live for the values it loads with), attach to every CPU, and
 * account for every sample it is given.
 */
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "profiler/sampler.h"
#include "tests/harness.h"

struct seen {
	unsigned long records, own, with_user, with_kernel, bad, proc_events;
	uint32_t pid;
};

static int on_record(void *ctx, void *data, size_t size)
{
	const struct ember_sample *s = data;
	struct seen *seen = ctx;

	/* Process events (exec, exit of any process on the host) share the ring buffer. */
	if (size >= sizeof(__u32) && s->type != EMBER_EVENT_SAMPLE) {
		seen->proc_events += s->type == EMBER_EVENT_EXEC || s->type == EMBER_EVENT_EXIT;
		return 0;
	}
	seen->records++;
	if (size < EMBER_SAMPLE_HEADER_SIZE ||
	    size != EMBER_SAMPLE_HEADER_SIZE + (size_t)(s->nr_kernel + s->nr_user) * 8) {
		seen->bad++;
		return 0;
	}
	seen->own += s->pid == seen->pid;
	seen->with_user += s->nr_user > 0;
	seen->with_kernel += s->nr_kernel > 0;
	return 0;
}

/* Burns CPU half in user space, half in the kernel (reading /dev/zero). */
static void burn(double seconds)
{
	static char buf[1 << 16];
	struct timespec a, b;
	volatile unsigned long x = 0;
	int fd = open("/dev/zero", O_RDONLY);

	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		for (int i = 0; i < 20000; i++)
			x += i;
		if (read(fd, buf, sizeof(buf)) < 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9 < seconds);
	close(fd);
}

static enum test_result run_config(bool filter, bool no_kernel, bool no_user)
{
	uint32_t self = (uint32_t)getpid();
	struct sampler_opts o = {
		.freq = 999,
		.pids = filter ? &self : NULL,
		.npids = filter ? 1 : 0,
		.no_kernel_stacks = no_kernel,
		.no_user_stacks = no_user,
	};
	struct seen seen = { .pid = self };
	struct ring_buffer *rb = NULL;
	uint64_t st[EMBER_STAT__MAX];
	struct sampler *s;
	enum test_result r = TEST_FAIL;
	char what[96];

	snprintf(what, sizeof(what), "filter=%d kernel=%d user=%d", filter, !no_kernel, !no_user);
	s = sampler__open(&o);
	if (!ASSERT_NONNULL(s, what))
		return TEST_FAIL;
	rb = ring_buffer__new(sampler__ringbuf_fd(s), on_record, &seen, NULL);
	if (!ASSERT_NONNULL(rb, "ring buffer"))
		goto out;
	burn(0.3);
	sampler__detach(s);
	ring_buffer__consume(rb);
	if (!ASSERT_OK(sampler__read_stats(s, st), "stats"))
		goto out;
	if (!ASSERT_GT(st[EMBER_STAT_RUNS], 100, what) ||
	    !ASSERT_EQ(st[EMBER_STAT_RUNS],
		       st[EMBER_STAT_SENT] + st[EMBER_STAT_FILTERED] + st[EMBER_STAT_RINGBUF_FULL] +
			   st[EMBER_STAT_ERROR],
		       "every run ends in exactly one counter") ||
	    !ASSERT_EQ(seen.records, st[EMBER_STAT_SENT], "every record sent is received") ||
	    !ASSERT_EQ(seen.proc_events, st[EMBER_STAT_PROC_SENT],
		       "every process event received") ||
	    !ASSERT_EQ(seen.bad, 0, "record sizes match their IP counts"))
		goto out;
	if (filter && !ASSERT_EQ(seen.own, seen.records, "only the filtered pid"))
		goto out;
	if (filter && !ASSERT_GT(st[EMBER_STAT_FILTERED], 0, "other CPUs' samples filtered"))
		goto out;
	if (!ASSERT_TRUE(no_user ? seen.with_user == 0 : seen.with_user > 0, "user stacks") ||
	    !ASSERT_TRUE(no_kernel ? seen.with_kernel == 0 : seen.with_kernel > 0, "kernel stacks"))
		goto out;
	r = TEST_PASS;
out:
	ring_buffer__free(rb);
	sampler__free(s);
	return r;
}

static enum test_result test_all_configs(void)
{
	char why[256];

	if (sampler_preflight(why, sizeof(why)))
		return test_skip(why);
	for (int m = 0; m < 8; m++)
		if (run_config(m & 1, m & 2, m & 4) != TEST_PASS)
			return TEST_FAIL;
	return TEST_PASS;
}

TEST_MAIN(TEST(test_all_configs))
