// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The collector loop. The BPF program wakes us only when the ring buffer is a quarter full; a
 * 200 ms timer drains it otherwise, so a quiet host costs five wake-ups a second. Every fifth tick
 * (one second) buffered samples are written in one transaction.
 */
#include "profiler/collector.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "profiler/ingest.h"
#include "profiler/log.h"
#include "profiler/prefetch.h"
#include "profiler/proctrack.h"
#include "storage/writer.h"
#include "symbolizer/symbolizer.h"
#include "symbolizer/unwind.h"

#define TICK_NS 200000000ll
#define TICKS_PER_FLUSH 5
/* Processes not sampled for this long are forgotten (their samples are already resolved). */
#define PROC_EXPIRE_NS (120ll * 1000000000ll)
/* Samples kept for retry while the database refuses writes (e.g. disk full): about a minute at
 * 1000 Hz on 64 CPUs is too much; cap by count. */
#define MAX_PENDING_SAMPLES 2000000

struct collector {
	struct sampler *sampler;
	struct storage *db;
	struct storage_writer *writer;
	struct symbolizer *sym;
	struct proctrack *pt;
	struct prefetch *pf;
	struct unwinder *uw;
	struct ingest *ingest;
	struct ring_buffer *rb;
	struct storage_recording rec;
	int64_t boot_to_epoch;
	int64_t now; /* CLOCK_MONOTONIC at the current tick */
	int last_write_err;
	struct utsname uts;
};

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Offset from CLOCK_BOOTTIME (the sampler's clock) to the epoch, refreshed every flush so that a
 * clock step is followed. */
static int64_t boot_to_epoch(void)
{
	int64_t b0 = clock_ns(CLOCK_BOOTTIME), r = clock_ns(CLOCK_REALTIME),
		b1 = clock_ns(CLOCK_BOOTTIME);

	return r - (b0 + (b1 - b0) / 2);
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct collector *c = ctx;
	__u32 type = 0;

	/* Every record starts with its type. A dropped record is counted in the ingest stats;
	 * keep consuming. */
	if (size >= sizeof(type))
		memcpy(&type, data, sizeof(type));
	if (type == EMBER_EVENT_EXEC || type == EMBER_EVENT_EXIT)
		ingest__proc_event(c->ingest, data, size, c->boot_to_epoch, c->now);
	else
		ingest__record(c->ingest, data, size, c->boot_to_epoch, c->now);
	return 0;
}

static void update_counters(struct collector *c)
{
	uint64_t st[EMBER_STAT__MAX];
	struct ingest_stats is;

	ingest__stats(c->ingest, &is);
	c->rec.ingest_errors = is.malformed + is.errors;

	if (sampler__read_stats(c->sampler, st))
		return;
	c->rec.delivered = st[EMBER_STAT_RUNS];
	c->rec.filtered = st[EMBER_STAT_FILTERED];
	c->rec.ringbuf_full = st[EMBER_STAT_RINGBUF_FULL];
	c->rec.bpf_errors = st[EMBER_STAT_ERROR];
}

static void flush(struct collector *c, bool final)
{
	uint64_t dropped = 0;
	int err;

	update_counters(c);
	if (final)
		c->rec.ended_ns = clock_ns(CLOCK_REALTIME);
	err = storage_writer__flush(c->writer, &c->rec, final ? 0 : MAX_PENDING_SAMPLES, &dropped);
	c->rec.write_errors += dropped;
	if (err && err != c->last_write_err)
		log_error("cannot write to the database %s: %s (%s); samples are kept and retried",
			  storage__path(c->db), storage_strerror(err), storage__errmsg(c->db));
	else if (!err && c->last_write_err)
		log_info("writing to the database works again");
	c->last_write_err = err;
	c->boot_to_epoch = boot_to_epoch();
}

static void collector_free(struct collector *c)
{
	ring_buffer__free(c->rb);
	prefetch__free(c->pf);
	sampler__free(c->sampler);
	ingest__free(c->ingest);
	unwinder__free(c->uw);
	proctrack__free(c->pt);
	symbolizer__free(c->sym);
	storage_writer__free(c->writer);
	storage__close(c->db);
}

static int open_mapped(void *ctx, int pid, const struct procmaps_entry *map)
{
	return symbolizer__open_mapped(ctx, pid, map);
}

static void unwind_binary_error(void *ctx, const char *path, const char *why)
{
	log_warn("cannot unwind through %s: %s", path, why);
}

/*
 * The unwinder and the sampler for the requested mode. Auto falls back to frame pointers, with a
 * warning, when this build has no DWARF unwinder or the kernel refuses the stack copy; dwarf does
 * not. Returns 0 or -errno (logged); *mode and *stack_copy say what runs.
 */
static int start_sampling(struct collector *c, const struct collector_opts *opts,
			  enum unwind_mode *mode, uint32_t *stack_copy)
{
	struct unwinder_opts uo = { .mode = opts->unwind,
				    .open_file = open_mapped,
				    .binary_error = unwind_binary_error,
				    .ctx = c->sym,
				    /* For tests: check every memo answer by unwinding again. */
				    .verify_memo = getenv("EMBER_UNWIND_VERIFY") != NULL };
	struct sampler_opts so = opts->sampler;
	int err;

	*mode = opts->unwind;
	c->uw = unwinder__new(&uo);
	if (!c->uw && *mode != UNWIND_MODE_FP) {
		err = -errno;
		if (*mode == UNWIND_MODE_DWARF || err != -ENOTSUP) {
			log_error("cannot set up DWARF unwinding: %s", strerror(-err));
			return err;
		}
		log_warn("this build has no DWARF unwinder: user stacks by frame pointers");
		*mode = UNWIND_MODE_FP;
	}
	so.stack_copy = *mode == UNWIND_MODE_FP ? 0 : opts->sampler.stack_copy;
	c->sampler = sampler__open(&so);
	/* The verifier's refusals (an older kernel without bpf_task_pt_regs, say): EACCES, EINVAL.
	 */
	if (!c->sampler && *mode == UNWIND_MODE_AUTO && (errno == EACCES || errno == EINVAL)) {
		log_warn("the kernel refused the user stack copy: user stacks by frame pointers");
		*mode = UNWIND_MODE_FP;
		so.stack_copy = 0;
		c->sampler = sampler__open(&so);
	}
	if (!c->sampler)
		return -errno;
	*stack_copy = so.stack_copy;
	return 0;
}

static int add_fd(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int collector_run(const struct collector_opts *opts, struct collector_summary *sum)
{
	struct collector c = { 0 };
	struct itimerspec its = { .it_interval = { 0, TICK_NS }, .it_value = { 0, TICK_NS } };
	int epfd = -1, tfd = -1, sfd = -1, rbfd, err = 0;
	int64_t start_mono, end_mono = 0;
	unsigned long ticks = 0;
	enum unwind_mode mode;
	uint32_t stack_copy = 0;
	sigset_t mask, oldmask;
	struct ingest_stats is;
	bool running = true;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);

	c.db = storage__open(opts->db_path, STORAGE_WRITE);
	if (!c.db) {
		err = -errno;
		log_error("cannot open the database %s: %s", opts->db_path, storage_strerror(err));
		goto out;
	}
	c.writer = storage_writer__new(c.db);
	c.sym = symbolizer__new(&opts->symbolizer);
	if (!c.writer || !c.sym) {
		err = -errno;
		log_error("cannot set up the collector: %s", strerror(-err));
		goto out;
	}

	err = start_sampling(&c, opts, &mode, &stack_copy);
	if (err)
		goto out;
	/* Records wait in the ring buffers until the loop below starts. */
	c.pf = prefetch__new(sampler__notices_fd(c.sampler));
	if (!c.pf)
		log_warn("no prefetch thread (%s): short-lived processes may lose their symbols",
			 strerror(errno));
	c.pt = proctrack__new(c.sym, c.pf);
	c.ingest = c.pt ? ingest__new(c.writer, c.sym, c.pt) : NULL;
	if (!c.ingest) {
		err = -ENOMEM;
		goto out;
	}
	ingest__set_unwinder(c.ingest, c.uw);
	c.rb = ring_buffer__new(sampler__ringbuf_fd(c.sampler), on_record, &c, NULL);
	if (!c.rb) {
		err = -errno;
		log_error("cannot map the ring buffer: %s", strerror(-err));
		goto out;
	}
	rbfd = ring_buffer__epoll_fd(c.rb);

	uname(&c.uts);
	c.rec.started_ns = clock_ns(CLOCK_REALTIME);
	c.rec.hz = opts->sampler.freq;
	c.rec.ncpus = sampler__ncpus(c.sampler);
	c.rec.event = sampler__event(c.sampler);
	c.rec.hostname = c.uts.nodename;
	c.rec.kernel = c.uts.release;
	c.boot_to_epoch = boot_to_epoch();

	epfd = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (epfd < 0 || tfd < 0 || sfd < 0 || timerfd_settime(tfd, 0, &its, NULL)) {
		err = -errno;
		log_error("cannot set up the event loop: %s", strerror(-err));
		goto out;
	}
	err = add_fd(epfd, rbfd);
	if (!err)
		err = add_fd(epfd, tfd);
	if (!err)
		err = add_fd(epfd, sfd);
	if (err)
		goto out;

	start_mono = clock_ns(CLOCK_MONOTONIC);
	if (opts->duration_s > 0)
		end_mono = start_mono + (int64_t)(opts->duration_s * 1e9);
	log_debug("sampling at %u Hz on %u CPUs with %s", opts->sampler.freq, c.rec.ncpus,
		  c.rec.event);

	while (running) {
		struct epoll_event evs[4];
		int n = epoll_wait(epfd, evs, 4, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			log_error("epoll_wait: %s", strerror(-err));
			break;
		}
		c.now = clock_ns(CLOCK_MONOTONIC);
		if (c.uw)
			unwinder__touch(c.uw, c.now);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == rbfd) {
				ring_buffer__consume(c.rb);
			} else if (fd == tfd) {
				uint64_t exp;

				if (read(tfd, &exp, sizeof(exp)) < 0)
					continue;
				ring_buffer__consume(c.rb);
				ticks += exp;
				if (ticks >= TICKS_PER_FLUSH) {
					ticks = 0;
					flush(&c, false);
					if (proctrack__expire(c.pt, c.now - PROC_EXPIRE_NS))
						ingest__clear_cache(c.ingest);
					if (c.uw)
						unwinder__expire(c.uw, c.now - PROC_EXPIRE_NS);
					/* New modules or BPF programs: new kernel text. */
					if (symbolizer__kernel_refresh(c.sym) > 0)
						ingest__clear_cache(c.ingest);
				}
				if (end_mono && c.now >= end_mono)
					running = false;
			} else if (fd == sfd) {
				struct signalfd_siginfo si;

				if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					log_debug("signal %u: stopping", si.ssi_signo);
					running = false;
				}
			}
		}
	}

	/* Stop sampling first, then take everything still in the ring, then write it all. */
	sampler__detach(c.sampler);
	c.now = clock_ns(CLOCK_MONOTONIC);
	ring_buffer__consume(c.rb);
	flush(&c, true);
	{
		struct symbolizer_stats st;
		uint64_t taken = 0, missed = 0;

		symbolizer__stats(c.sym, &st);
		if (c.pf)
			prefetch__stats(c.pf, &taken, &missed);
		log_debug("symbolizer: %lu binaries (%lu with DWARF), %lu unopenable, %lu stale, "
			  "%lu "
			  "ELF/DWARF errors; %llu cached answers used, %llu resolved, %llu "
			  "evicted; "
			  "%lu kallsyms loads; prefetched maps %llu, missed %llu",
			  st.binaries, st.dwarf_binaries, st.binary_errors, st.stale_files,
			  st.elf_errors, (unsigned long long)st.cache_hits,
			  (unsigned long long)st.cache_misses, (unsigned long long)st.evictions,
			  st.kernel_reloads, (unsigned long long)taken, (unsigned long long)missed);
	}
	if (sum) {
		memset(sum, 0, sizeof(*sum));
		sum->delivered = c.rec.delivered;
		sum->stored = c.rec.stored;
		sum->filtered = c.rec.filtered;
		sum->ringbuf_full = c.rec.ringbuf_full;
		sum->bpf_errors = c.rec.bpf_errors;
		sum->ingest_errors = c.rec.ingest_errors;
		sum->write_errors = c.rec.write_errors + storage_writer__pending(c.writer);
		sum->seconds = (double)(c.now - start_mono) / 1e9;
		sum->ncpus = c.rec.ncpus;
		sum->event = c.rec.event;
		sum->unwind = mode;
		sum->stack_copy = stack_copy;
		ingest__stats(c.ingest, &is);
		memcpy(sum->stack_status, is.stack_status, sizeof(sum->stack_status));
		if (c.uw) {
			struct unwinder_stats us;

			unwinder__stats(c.uw, &us);
			sum->unwound = us.samples;
			sum->unwind_memo_hits = us.memo_hits;
			sum->unwind_memo_mismatches = us.memo_mismatches;
			log_debug("unwinder: %llu stacks unwound, %llu with callers from the memo "
				  "(%llu contradicted); %lu address spaces, %lu binaries, %lu "
				  "unusable",
				  (unsigned long long)us.samples, (unsigned long long)us.memo_hits,
				  (unsigned long long)us.memo_mismatches, us.processes, us.binaries,
				  us.binary_errors);
		}
	}
	err = 0;
out:
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	if (epfd >= 0)
		close(epfd);
	collector_free(&c);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	return err;
}
