// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The BPF sampler for real: every configuration of its `const volatile` switches (pid filter,
 * kernel stacks, user stacks, stack copy size) must pass the verifier (it only checks code live
 * for the values it loads with), attach to every CPU, and account for every sample it is given.
 * With a stack copy, the work runs on a thread whose stack we placed ourselves, below an
 * unreadable guard page, with a known pattern in an outer frame: every copy must hold the
 * registers of that thread, start at its stack pointer, carry the pattern at the right offset, and
 * end exactly at the guard page or at the requested size. A child that exits must leave its
 * executable mappings, as /proc/PID/maps had them, in the notices ring (exit-time maps).
 */
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "profiler/prefetch.h"
#include "profiler/sampler.h"
#include "symbolizer/procmaps.h"
#include "tests/harness.h"

#define WORKER_STACK (256u << 10)
#define PAGE 4096u

static const uint64_t canary_pattern[4] = { 0x0123456789abcdefull, 0xfeedfacecafebeefull,
					    0x1122334455667788ull, 0x8badf00ddeadc0deull };

struct seen {
	unsigned long records, own, with_user, with_kernel, bad, proc_events;
	unsigned long copies, empty_copies, worker_copies, short_copies, canaries, copy_errors;
	uint32_t pid, worker_tid, stack_copy;
	uint64_t stack_lo, stack_hi; /* the worker's stack: [lo, hi), guard page at hi */
	uint64_t canary;	     /* address of the pattern in the worker's outer frame */
};

static int on_record(void *ctx, void *data, size_t size)
{
	const struct ember_sample *s = data;
	struct seen *seen = ctx;
	const uint8_t *copy;
	uint64_t sp, want;

	/* Process events (exec, exit of any process on the host) share the ring buffer. */
	if (size >= sizeof(__u32) && s->type != EMBER_EVENT_SAMPLE) {
		seen->proc_events += s->type == EMBER_EVENT_EXEC || s->type == EMBER_EVENT_EXIT;
		return 0;
	}
	seen->records++;
	if (size < EMBER_SAMPLE_HEADER_SIZE || size != EMBER_SAMPLE_HEADER_SIZE +
							   (size_t)(s->nr_kernel + s->nr_user) * 8 +
							   s->stack_copy_size) {
		seen->bad++;
		return 0;
	}
	seen->own += s->pid == seen->pid;
	seen->with_user += s->nr_user > 0 || s->stack_copy_size > 0;
	seen->with_kernel += s->nr_kernel > 0;
	if (!(s->flags & EMBER_SAMPLE_STACK_COPY)) {
		/* Only kernel threads and idle have no registers. The copy itself may be empty: the
		 * kernel cannot fault pages in from this context, so a stack page that is not
		 * present ends it at once (a sample inside the page fault that brings in a new
		 * thread's first stack page), and in the middle of an exec the saved registers
		 * point into the old address space (other processes do that while we test). In user
		 * mode the page at the stack pointer is nearly always there. */
		if (seen->stack_copy && s->pid && !(s->flags & EMBER_SAMPLE_KTHREAD)) {
			if (!(s->flags & EMBER_SAMPLE_REGS))
				seen->copy_errors++;
			else if (s->pid == seen->pid && (s->flags & EMBER_SAMPLE_USER_MODE))
				seen->empty_copies++;
		}
		return 0;
	}
	seen->copies++;
	if (!(s->flags & EMBER_SAMPLE_REGS) || s->nr_user || !s->stack_copy_size ||
	    s->stack_copy_size > seen->stack_copy)
		seen->copy_errors++;
	if (s->stack_copy_size < seen->stack_copy)
		seen->short_copies++;
	if (s->tid != seen->worker_tid)
		return 0;
	seen->worker_copies++;
	sp = s->regs[EMBER_REG_SP];
	if (sp < seen->stack_lo || sp >= seen->stack_hi) {
		seen->copy_errors++;
		return 0;
	}
	/* The copy ends at the guard page above the stack, or at the size asked for. */
	want = seen->stack_hi - sp < seen->stack_copy ? seen->stack_hi - sp : seen->stack_copy;
	if (s->stack_copy_size != want) {
		fprintf(stderr, "worker copy of %u bytes from sp %#llx, expected %llu\n",
			s->stack_copy_size, (unsigned long long)sp, (unsigned long long)want);
		seen->copy_errors++;
	}
	copy = (const uint8_t *)&s->ips[s->nr_kernel];
	if (seen->canary >= sp &&
	    seen->canary + sizeof(canary_pattern) <= sp + s->stack_copy_size) {
		if (memcmp(copy + (seen->canary - sp), canary_pattern, sizeof(canary_pattern)))
			seen->copy_errors++;
		else
			seen->canaries++;
	}
	return 0;
}

/* Burns `seconds` of this thread's CPU time (not wall time: the machine is shared), half in user
 * space, half in the kernel (reading /dev/zero). */
static void burn(double seconds)
{
	static __thread char buf[1 << 14];
	struct timespec a, b;
	volatile unsigned long x = 0;
	int fd = open("/dev/zero", O_RDONLY);

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	do {
		for (int i = 0; i < 20000; i++)
			x += i;
		if (read(fd, buf, sizeof(buf)) < 0)
			break;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	} while ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9 < seconds);
	close(fd);
}

struct worker_arg {
	struct seen *seen;
	double seconds;
	int done;
};

static __attribute__((noinline)) void *worker(void *p)
{
	struct worker_arg *a = p;
	volatile uint64_t canary[4];

	for (int i = 0; i < 4; i++)
		canary[i] = canary_pattern[i];
	a->seen->canary = (uint64_t)(uintptr_t)canary;
	__atomic_store_n(&a->seen->worker_tid, (uint32_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	burn(a->seconds);
	__atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
	return (void *)(uintptr_t)canary[0];
}

/*
 * Runs burn() on a thread whose stack is [lo, hi) of a mapping with an unreadable page at hi.
 * glibc puts the thread's control block and static TLS (burn's 16 KiB buffer among it) at the top
 * of a stack given with pthread_attr_setstack, so about 20 KiB lie between the worker's stack
 * pointer and the guard page: copies of 512 bytes and 16 KiB are whole, one of 64 KiB ends at the
 * guard page.
 */
static int burn_on_worker(struct seen *seen, double seconds, struct ring_buffer *rb)
{
	struct worker_arg a = { seen, seconds, 0 };
	size_t len = WORKER_STACK + PAGE;
	pthread_attr_t attr;
	pthread_t t;
	uint8_t *m;
	int err;

	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -errno;
	if (mprotect(m + WORKER_STACK, PAGE, PROT_NONE)) {
		err = -errno;
		goto out;
	}
	seen->stack_lo = (uint64_t)(uintptr_t)m;
	seen->stack_hi = (uint64_t)(uintptr_t)(m + WORKER_STACK);
	pthread_attr_init(&attr);
	err = -pthread_attr_setstack(&attr, m, WORKER_STACK);
	if (!err)
		err = -pthread_create(&t, &attr, worker, &a);
	pthread_attr_destroy(&attr);
	if (!err) {
		/* Drain meanwhile, as the collector would: on a busy machine the burn takes far
		 * longer in wall time than in CPU time, and other CPUs keep sampling. */
		while (!__atomic_load_n(&a.done, __ATOMIC_ACQUIRE))
			ring_buffer__poll(rb, 50);
		pthread_join(t, NULL);
	}
out:
	munmap(m, len);
	return err;
}

static enum test_result run_config(bool filter, bool no_kernel, bool no_user, uint32_t stack_copy,
				   bool no_exit_maps)
{
	uint32_t self = (uint32_t)getpid();
	struct sampler_opts o = {
		.freq = 999,
		.pids = filter ? &self : NULL,
		.npids = filter ? 1 : 0,
		.no_kernel_stacks = no_kernel,
		.no_user_stacks = no_user,
		.stack_copy = stack_copy,
		.no_exit_maps = no_exit_maps,
	};
	struct seen seen = { .pid = self, .stack_copy = no_user ? 0 : stack_copy };
	struct ring_buffer *rb = NULL;
	uint64_t st[EMBER_STAT__MAX];
	struct sampler *s;
	enum test_result r = TEST_FAIL;
	char what[128];

	snprintf(what, sizeof(what), "filter=%d kernel=%d user=%d stack_copy=%u exit_maps=%d",
		 filter, !no_kernel, !no_user, stack_copy, !no_exit_maps);
	s = sampler__open(&o);
	if (!ASSERT_NONNULL(s, what))
		return TEST_FAIL;
	/* This kernel (6.18, as CI's) has the task VMA iterator: no silent fallback here. */
	if (!ASSERT_EQ(sampler__exit_maps(s), !no_exit_maps, "exit-time maps loaded"))
		goto out;
	rb = ring_buffer__new(sampler__ringbuf_fd(s), on_record, &seen, NULL);
	if (!ASSERT_NONNULL(rb, "ring buffer"))
		goto out;
	if (!ASSERT_OK(burn_on_worker(&seen, 0.15, rb), "worker thread"))
		goto out;
	sampler__detach(s);
	ring_buffer__consume(rb);
	if (!ASSERT_OK(sampler__read_stats(s, st), "stats"))
		goto out;
	if (!ASSERT_GT(st[EMBER_STAT_RUNS], 100, what) ||
	    !ASSERT_EQ(st[EMBER_STAT_RUNS],
		       st[EMBER_STAT_SENT] + st[EMBER_STAT_FILTERED] + st[EMBER_STAT_RINGBUF_FULL] +
			   st[EMBER_STAT_ERROR],
		       "every run ends in exactly one counter") ||
	    !ASSERT_EQ(st[EMBER_STAT_RINGBUF_FULL], 0, "ring buffer sized for the records") ||
	    !ASSERT_EQ(seen.records, st[EMBER_STAT_SENT], "every record sent is received") ||
	    !ASSERT_EQ(seen.proc_events, st[EMBER_STAT_PROC_SENT],
		       "every process event received") ||
	    !ASSERT_EQ(seen.bad, 0, "record sizes match their IP counts and copy"))
		goto out;
	if (filter && !ASSERT_EQ(seen.own, seen.records, "only the filtered pid"))
		goto out;
	if (filter && !ASSERT_GT(st[EMBER_STAT_FILTERED], 0, "other CPUs' samples filtered"))
		goto out;
	if (!ASSERT_TRUE(no_user ? seen.with_user == 0 : seen.with_user > 0, "user stacks") ||
	    !ASSERT_TRUE(no_kernel ? seen.with_kernel == 0 : seen.with_kernel > 0, "kernel stacks"))
		goto out;
	if (!seen.stack_copy) {
		if (!ASSERT_EQ(seen.copies, 0, "no stack copy unless asked"))
			goto out;
		r = TEST_PASS;
		goto out;
	}
	if (!ASSERT_EQ(seen.copy_errors, 0, what) ||
	    !ASSERT_LE(seen.empty_copies, seen.copies / 100 + 1,
		       "at most 1 % of our user-mode copies empty") ||
	    !ASSERT_GT(seen.worker_copies, 40, "copies of the worker thread's stack") ||
	    !ASSERT_GT(seen.canaries + (seen.stack_copy < PAGE), 0,
		       "copies holding the outer frame's pattern"))
		goto out;
	/* Short copies happen exactly when a fault ended them (guard page, top of a stack). */
	if (!ASSERT_GE(st[EMBER_STAT_STACK_COPY_FAULT], seen.short_copies, "faults counted"))
		goto out;
	if (seen.stack_copy == EMBER_STACK_COPY_MAX &&
	    !ASSERT_GT(seen.short_copies, 0, "the guard page ends 64 KiB copies"))
		goto out;
	r = TEST_PASS;
out:
	ring_buffer__free(rb);
	sampler__free(s);
	return r;
}

static enum test_result test_all_configs(void)
{
	/* No copy (frame pointers); less than one chunk; the default; a stack deeper than the
	 * worker's (the copy ends at the guard page); the largest. */
	static const uint32_t copies[] = { 0, 512, 16384, 65536 };
	char why[256];

	if (sampler_preflight(why, sizeof(why)))
		return test_skip(why);
	for (size_t c = 0; c < sizeof(copies) / sizeof(copies[0]); c++)
		for (int m = 0; m < 8; m++)
			/* The exit program depends on the filter and exit_maps only: both
			 * combinations with every copy size. */
			if (run_config(m & 1, m & 2, m & 4, copies[c], (m ^ (m >> 1)) & 1) !=
			    TEST_PASS)
				return TEST_FAIL;
	return TEST_PASS;
}

/* A copy larger than the ABI allows is refused before anything is loaded. */
static enum test_result test_copy_too_large(void)
{
	struct sampler_opts o = { .freq = 99, .stack_copy = EMBER_STACK_COPY_MAX + 8 };
	char why[256];
	struct sampler *s;

	if (sampler_preflight(why, sizeof(why)))
		return test_skip(why);
	s = sampler__open(&o);
	if (!ASSERT_NULL(s, "oversized copy refused") || !ASSERT_EQ(errno, EINVAL, "errno"))
		return TEST_FAIL;
	return TEST_PASS;
}

struct exit_seen {
	pid_t child;
	unsigned long events;
	union { /* the record, names after maps[nr] */
		struct ember_maps_event e;
		unsigned char raw[sizeof(struct ember_maps_event) + EMBER_EXIT_NAMES_MAX];
	};
	size_t size;
};

static int on_notice(void *ctx, void *data, size_t size)
{
	const struct ember_maps_event *e = data;
	struct exit_seen *seen = ctx;

	if (size < EMBER_MAPS_EVENT_HEADER_SIZE || e->type != EMBER_EVENT_MAPS ||
	    e->pid != (uint32_t)seen->child)
		return 0;
	seen->events++;
	seen->size = size;
	memcpy(seen->raw, e, size < sizeof(seen->raw) ? size : 0);
	return 0;
}

/*
 * A child that exits leaves its executable mappings in `proc_notices`: as many as /proc/PID/maps
 * listed just before (file mappings and the vdso), with the same ranges, offsets, devices,
 * inodes and paths, and the record exactly as long as its entries and names.
 */
static enum test_result test_exit_maps(void)
{
	struct sampler_opts o = { .freq = 99 };
	struct exit_seen seen = { 0 };
	struct procmaps *maps = NULL;
	struct ring_buffer *rb = NULL;
	enum test_result r = TEST_FAIL;
	int go[2] = { -1, -1 }, status;
	char *paths[EMBER_MAX_EXIT_MAPS] = { 0 };
	size_t want = 0, matched = 0;
	struct sampler *s;
	char why[256];

	if (sampler_preflight(why, sizeof(why)))
		return test_skip(why);
	s = sampler__open(&o);
	if (!ASSERT_NONNULL(s, "sampler") || !ASSERT_TRUE(sampler__exit_maps(s), "exit maps on"))
		goto out;
	rb = ring_buffer__new(sampler__notices_fd(s), on_notice, &seen, NULL);
	if (!ASSERT_NONNULL(rb, "notices ring") || !ASSERT_OK(pipe(go), "pipe"))
		goto out;
	seen.child = fork();
	if (seen.child == 0) {
		char c;

		close(go[1]);
		_exit(read(go[0], &c, 1) == 1 ? 0 : 1);
	}
	if (!ASSERT_GT(seen.child, 0, "fork"))
		goto out;
	close(go[0]);
	go[0] = -1;
	maps = procmaps__read(seen.child);
	if (write(go[1], "x", 1) != 1 || waitpid(seen.child, &status, 0) != seen.child)
		goto out;
	ring_buffer__consume(rb);
	if (!ASSERT_NONNULL(maps, "child's maps") || !ASSERT_EQ(seen.events, 1, "one maps event") ||
	    !ASSERT_EQ(seen.size,
		       EMBER_MAPS_EVENT_HEADER_SIZE + seen.e.nr * sizeof(seen.e.maps[0]) +
			   seen.e.names_size,
		       "record size") ||
	    !ASSERT_EQ(seen.e.flags, 0, "not truncated") ||
	    !ASSERT_EQ(prefetch_exit_paths(&seen.e, seen.size, paths, EMBER_MAX_EXIT_MAPS),
		       (int)seen.e.nr - 1, "every file named (all but the vdso)"))
		goto out;
	for (size_t i = 0; i < procmaps__count(maps); i++) {
		const struct procmaps_entry *m = procmaps__entry(maps, i);
		bool vdso = !strcmp(m->path, "[vdso]");

		if (!m->inode && !vdso)
			continue; /* [vsyscall], anonymous code: not sent */
		want++;
		for (uint32_t j = 0; j < seen.e.nr; j++) {
			const struct ember_map *x = &seen.e.maps[j];

			if (x->start == m->start && x->end == m->end && x->offset == m->offset &&
			    x->inode == m->inode && x->dev_major == m->dev_major &&
			    x->dev_minor == m->dev_minor && (!vdso || x->start == seen.e.vdso) &&
			    (vdso ? !paths[j] : paths[j] && !strcmp(paths[j], m->path)))
				matched++;
		}
	}
	if (!ASSERT_GT(want, 2, "executable file mappings (ours, libc, ld.so)") ||
	    !ASSERT_EQ(seen.e.nr, want, "entries") ||
	    !ASSERT_EQ(matched, want, "entries as in maps"))
		goto out;
	r = TEST_PASS;
out:
	if (go[0] >= 0)
		close(go[0]);
	if (go[1] >= 0)
		close(go[1]);
	for (size_t i = 0; i < EMBER_MAX_EXIT_MAPS; i++)
		free(paths[i]);
	procmaps__free(maps);
	ring_buffer__free(rb);
	sampler__free(s);
	return r;
}

TEST_MAIN(TEST(test_all_configs), TEST(test_copy_too_large), TEST(test_exit_maps))
