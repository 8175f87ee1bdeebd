// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The collector loop. The BPF program wakes us only when the ring buffer is a quarter full; a
 * 200 ms timer drains it otherwise, so a quiet host costs five wake-ups a second. Every fifth tick
 * (one second) buffered samples are written in one transaction.
 */
#include "profiler/collector.h"

#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "profiler/ingest.h"
#include "profiler/log.h"
#include "profiler/prefetch.h"
#include "profiler/privs.h"
#include "profiler/proctrack.h"
#include "storage/writer.h"
#include "symbolizer/symbolizer.h"
#include "symbolizer/unwind.h"

#define TICK_NS 200000000ll
#define TICKS_PER_FLUSH 5
/* Processes not sampled for this long are forgotten (their samples are already resolved). */
#define PROC_EXPIRE_NS (120ll * 1000000000ll)
/* Samples kept for retry while the database refuses writes (e.g. disk full): about a minute at
 * 1000 Hz on 64 CPUs is too much; cap by count (80 MB of them). */
#define MAX_PENDING_SAMPLES 2000000
/* Maintenance (merges, retention, pruning) gets this much time after each flush, and this much
 * at exit; its heavy work runs in the storage worker thread meanwhile. */
#define MAINT_BUDGET_NS 20000000ll
#define MAINT_FINAL_BUDGET_NS 2000000000ll

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
	const struct collector_opts *opts;
	int last_write_err, last_maint_err;
	uint64_t dropped_since_ok; /* samples dropped since writes last worked */
	struct utsname uts;
	int64_t self_cpu, self_wall;	 /* --max-cpu: the start of the current window */
	struct storage_self self;	 /* the last interval measured */
	unsigned int budget;		 /* records left in this consume(); 0: unlimited */
	int64_t minute_wall, minute_cpu; /* the start of the current interval */
	uint64_t minute_delivered, minute_dropped;
	unsigned int self_rows; /* intervals measured */
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

/*
 * Records taken per ring_buffer__consume() in the loop. libbpf 1.1 consumes until the ring is
 * empty, so a producer faster than us (a flood of samples) would keep the loop from ever seeing
 * SIGTERM; a negative return from the callback stops it after the record (which is consumed).
 */
#define CONSUME_BUDGET 65536

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
	return c->budget && !--c->budget ? -EAGAIN : 0;
}

/* Drains the ring, at most CONSUME_BUDGET records, so that signals and timers get their turn. */
static void consume(struct collector *c)
{
	c->budget = CONSUME_BUDGET;
	ring_buffer__consume(c->rb);
	c->budget = 0;
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
	size_t max_pending = c->opts->max_pending ? c->opts->max_pending : MAX_PENDING_SAMPLES;
	uint64_t dropped = 0;
	int err;

	update_counters(c);
	if (final)
		c->rec.ended_ns = clock_ns(CLOCK_REALTIME);
	err = storage_writer__flush(c->writer, &c->rec, final ? 0 : max_pending, &dropped);
	c->rec.write_errors += dropped;
	c->dropped_since_ok += dropped;
	if (err && err != c->last_write_err)
		log_error("cannot write to the database %s: %s (%s); samples are kept and retried "
			  "(up to %zu, then dropped and counted)",
			  storage__path(c->db), storage_strerror(err), storage__errmsg(c->db),
			  max_pending);
	if (dropped)
		log_error("dropped %llu samples the database could not take",
			  (unsigned long long)dropped);
	if (!err)
		log_debug("flushed: %llu samples stored", (unsigned long long)c->rec.stored);
	if (!err && c->last_write_err) {
		log_info("writing to the database works again (%llu samples were dropped "
			 "meanwhile)",
			 (unsigned long long)c->dropped_since_ok);
		c->dropped_since_ok = 0;
	}
	c->last_write_err = err;
	c->boot_to_epoch = boot_to_epoch();
	/* Merges, retention and pruning, a slice at a time; they retry after errors (a full disk
	 * frees up when retention deletes). */
	if (!err) {
		int merr =
		    storage_writer__maintain(c->writer, &c->opts->policy, clock_ns(CLOCK_REALTIME),
					     final ? MAINT_FINAL_BUDGET_NS : MAINT_BUDGET_NS, NULL);

		if (merr && merr != c->last_maint_err)
			log_error("database maintenance of %s failed: %s (%s); retried later",
				  storage__path(c->db), storage_strerror(merr),
				  storage__errmsg(c->db));
		c->last_maint_err = merr;
	}
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

/* ---- running as a service: privileges and SIGHUP ---- */

/* After the sampler is attached: keep only what symbolization needs (profiler/privs.h). */
static int drop_privileges(void)
{
	char why[256], names[256];
	bool bounds = false;
	int err;

	err = privs_drop(&bounds, why, sizeof(why));
	if (err) {
		log_error("%s", why);
		return err;
	}
	log_debug("capabilities after start-up: %s%s",
		  privs_names(privs_kept_mask(), names, sizeof(names)),
		  bounds ? "" : " (bounding set unchanged: no CAP_SETPCAP)");
	return 0;
}

/* Applies what a reload can change in a running collector; returns the options now in force. */
static const struct collector_opts *reload(struct collector *c, const struct collector_opts *cur)
{
	const struct collector_opts *next = cur->reload(cur->reload_arg);
	int err;

	if (!next) {
		log_error("SIGHUP: the new configuration is invalid; going on with the old one");
		return cur;
	}
	if (next->sampler.freq != c->rec.hz) {
		err = sampler__set_freq(c->sampler, next->sampler.freq);
		if (err) {
			log_error("SIGHUP: cannot change the frequency to %u Hz: %s",
				  next->sampler.freq, strerror(-err));
		} else {
			log_info("SIGHUP: sampling at %u Hz (was %u Hz)", next->sampler.freq,
				 c->rec.hz);
			c->rec.hz = next->sampler.freq;
		}
	}
	if (strcmp(next->db_path, cur->db_path))
		log_warn("SIGHUP: db changed; it takes effect at the next start");
	if (next->sampler.npids != cur->sampler.npids ||
	    memcmp(next->sampler.pids, cur->sampler.pids,
		   next->sampler.npids * sizeof(*next->sampler.pids)))
		log_warn("SIGHUP: pid changed; it takes effect at the next start");
	if (next->duration_s != cur->duration_s)
		log_warn("SIGHUP: duration changed; it takes effect at the next start");
	if (memcmp(&next->policy, &cur->policy, sizeof(next->policy)) ||
	    next->max_pending != cur->max_pending)
		log_info("SIGHUP: retention, size limit, rollups and max-pending apply from the "
			 "next "
			 "flush");
	if (next->cmdline != cur->cmdline) {
		ingest__set_cmdline(c->ingest, next->cmdline);
		log_info("SIGHUP: command lines %s stored for new processes",
			 next->cmdline ? "are" : "are no longer");
	}
	if (next->unwind != cur->unwind || next->sampler.stack_copy != cur->sampler.stack_copy)
		log_warn("SIGHUP: unwind or stack-copy changed; it takes effect at the next start");
	log_info("SIGHUP: configuration reloaded");
	return next;
}

/*
 * --max-cpu: every window, the collector's own CPU time (all its threads, exact ns) against the
 * wall time; above the limit the sampling rate drops in proportion, with a margin, and says so.
 * The BPF program's cost is charged to the interrupted tasks, not to us: this bounds user space.
 */
#define SELF_WINDOW_NS (5ll * 1000000000ll)

static void check_own_cpu(struct collector *c, const struct collector_opts *opts)
{
	int64_t cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	double pct;
	unsigned int hz;

	if (!c->self_wall || c->now - c->self_wall < SELF_WINDOW_NS) {
		if (!c->self_wall) {
			c->self_cpu = cpu;
			c->self_wall = c->now;
		}
		return;
	}
	pct = 100.0 * (double)(cpu - c->self_cpu) / (double)(c->now - c->self_wall);
	c->self_cpu = cpu;
	c->self_wall = c->now;
	if (opts->max_cpu <= 0 || pct <= opts->max_cpu || c->rec.hz <= SAMPLER_FREQ_MIN)
		return;
	hz = (unsigned int)((double)c->rec.hz * opts->max_cpu / pct * 0.9);
	if (hz < SAMPLER_FREQ_MIN)
		hz = SAMPLER_FREQ_MIN;
	if (hz >= c->rec.hz)
		hz = c->rec.hz - 1;
	if (sampler__set_freq(c->sampler, hz))
		return;
	log_warn("ember's own CPU use is %.2f%% of a CPU, above --max-cpu %.2f%%: sampling at %u "
		 "Hz (was %u Hz)",
		 pct, opts->max_cpu, hz, c->rec.hz);
	c->rec.hz = hz;
}

/* Resident memory of this process in KiB (/proc/self/statm), 0 when unreadable. */
static uint64_t self_rss_kib(void)
{
	unsigned long long size, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f) {
		if (fscanf(f, "%llu %llu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
}

/*
 * Self-observability: what the collector itself cost (CPU, memory) and what it carried (samples
 * per second, drops), once a minute, stored in the database with the next flush. The first
 * interval is SELF_FIRST_NS, so that a collector just started shows its cost soon (ember top's
 * status line); the last, partial, is measured at exit (`final`), so that every run has a row.
 */
/* Open file descriptors of this process (/proc/self/fd), 0 when unreadable. */
static unsigned int self_fds(void)
{
	unsigned int n = 0;
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");

	if (!dir)
		return 0;
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.';
	closedir(dir);
	return n > 0 ? n - 1 : 0; /* not the directory's own fd */
}

/* Samples lost so far, for any reason (those --pid filters out are not lost). */
static uint64_t samples_lost(const struct collector *c)
{
	return c->rec.ringbuf_full + c->rec.bpf_errors + c->rec.ingest_errors + c->rec.write_errors;
}

#define SELF_FIRST_NS (10ll * 1000000000ll)
#define SELF_INTERVAL_NS (60ll * 1000000000ll)

static void self_interval(struct collector *c, bool final)
{
	uint64_t dropped = samples_lost(c);
	int64_t cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID), wall = c->now;
	struct symbolizer_stats ss;
	struct mallinfo2 mi;
	double secs;

	if (wall - c->minute_wall < (c->self_rows ? SELF_INTERVAL_NS : SELF_FIRST_NS) &&
	    !(final && wall > c->minute_wall))
		return;
	/* Processes expire and the writer empties its caches in bulk: give the freed pages back,
	 * so that the resident size follows what is in use instead of its high-water mark. */
	if (!final)
		malloc_trim(0);
	secs = (double)(wall - c->minute_wall) / 1e9;
	mi = mallinfo2();
	c->self.time_ns = clock_ns(CLOCK_REALTIME);
	c->self.span_ns = wall - c->minute_wall;
	c->self.cpu_pct = 100.0 * (double)(cpu - c->minute_cpu) / (double)(wall - c->minute_wall);
	c->self.rss_kib = self_rss_kib();
	c->self.heap_kib = (mi.uordblks + mi.hblkhd) / 1024;
	c->self.samples_per_s = (double)(c->rec.delivered - c->minute_delivered) / secs;
	c->self.dropped = dropped - c->minute_dropped;
	c->self.hz = c->rec.hz;
	storage_writer__self(c->writer, &c->self);
	c->self_rows++;
	symbolizer__stats(c->sym, &ss);
	log_debug("self: %.2f%% of a CPU, %llu KiB resident (%llu KiB of heap in use, %lu "
		  "binaries parsed), %.1f samples/s, %llu dropped in the last %.0f s; %u fds open "
		  "(%u by prefetch), %u processes tracked",
		  c->self.cpu_pct, (unsigned long long)c->self.rss_kib,
		  (unsigned long long)c->self.heap_kib, ss.binaries, c->self.samples_per_s,
		  (unsigned long long)c->self.dropped, secs, self_fds(),
		  c->pf ? prefetch__open_files(c->pf, NULL, NULL) : 0, proctrack__count(c->pt));
	{
		/* What the heap holds, by owner: where growth shows first. */
		struct storage_writer_stats ws;
		struct unwinder_stats us = { 0 };

		storage_writer__stats(c->writer, &ws);
		if (c->uw)
			unwinder__stats(c->uw, &us);
		log_debug("held: writer %zu strings, %zu frames, %zu stacks, %zu processes, "
			  "%zu threads (forgotten: %llu strings, %llu frames, %llu stacks, %llu "
			  "processes), SQLite %llu KiB; symbolizer %llu KiB (%llu tables read, "
			  "%llu evictions refused, %llu KiB freed as idle, with the tables of %llu "
			  "binaries); unwinder %lu binaries, %lu files, %lu address spaces; "
			  "malloc's "
			  "heap %zu KiB, %zu KiB of it free in %zu chunks",
			  ws.strings, ws.frames, ws.stacks, ws.processes, ws.threads,
			  (unsigned long long)ws.forgotten_strings,
			  (unsigned long long)ws.forgotten_frames,
			  (unsigned long long)ws.forgotten_stacks,
			  (unsigned long long)ws.forgotten_processes,
			  (unsigned long long)(ws.sqlite_bytes >> 10),
			  (unsigned long long)(ss.cache_bytes >> 10),
			  (unsigned long long)ss.tables_read, (unsigned long long)ss.hot_kept,
			  (unsigned long long)(ss.idle_freed >> 10),
			  (unsigned long long)ss.idle_binaries, us.binaries_held, us.files_held,
			  us.procs_held, mi.arena >> 10, mi.fordblks >> 10, mi.ordblks);
	}
	c->minute_wall = wall;
	c->minute_cpu = cpu;
	c->minute_delivered = c->rec.delivered;
	c->minute_dropped = dropped;
}

/* The unwinder is made before the symbolizer (which starts threads only after the privileges
 * are dropped): it reaches the symbolizer through the collector. */
static int open_mapped(void *ctx, int pid, const struct procmaps_entry *map)
{
	struct collector *c = ctx;

	return symbolizer__open_mapped(c->sym, pid, map);
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
				    .ctx = c,
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

/* The collector holds an fd per process it tracks and per binary it caches (thousands on a busy
 * host): the soft limit of open files (1024 by default) goes up to the hard one. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		log_debug("cannot raise the limit of open files: %s", strerror(errno));
}

/*
 * glibc's malloc, set for a process that runs for months with bursts of allocation: one arena
 * (each thread that allocates otherwise gets its own, which keeps its free pages), and blocks of
 * 128 KiB and more always mmapped, so that they go back to the system when freed (the default
 * threshold grows to 32 MiB after the first such block is freed, and big blocks then land in the
 * heap among small ones). Measured in the soak test side by side with the defaults: resident
 * memory 7 % lower for as much heap in use, and no more CPU (docs/benchmarks.md, run 10). An
 * operator's GLIBC_TUNABLES for malloc wins.
 */
static void tune_malloc(void)
{
	const char *t = getenv("GLIBC_TUNABLES");

	if (t && strstr(t, "glibc.malloc."))
		return;
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
}

int collector_run(const struct collector_opts *opts, struct collector_summary *sum)
{
	struct collector c = { .opts = opts };
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
	if (opts->reload)
		sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &oldmask);
	raise_nofile();
	tune_malloc();

	c.db = storage__open(opts->db_path, STORAGE_WRITE);
	if (!c.db) {
		err = -errno;
		log_error("cannot open the database %s: %s", opts->db_path, storage_strerror(err));
		goto out;
	}
	c.writer = storage_writer__new(c.db);
	if (!c.writer) {
		err = -errno;
		log_error("cannot set up the collector: %s", strerror(-err));
		goto out;
	}

	err = start_sampling(&c, opts, &mode, &stack_copy);
	if (err)
		goto out;
	/* The run (and --duration) starts when sampling does: the set-up below may take a while
	 * on a loaded host, and the samples it waits through are the run's. */
	start_mono = clock_ns(CLOCK_MONOTONIC);
	/* Loaded and attached: from here on the collector keeps only what symbolization needs.
	 * Capabilities are per thread, so this comes before any thread starts (the symbolizer's
	 * debuginfod worker, the prefetch thread). */
	err = drop_privileges();
	if (err)
		goto out;
	c.sym = symbolizer__new(&opts->symbolizer);
	if (!c.sym) {
		err = -errno;
		log_error("cannot set up the symbolizer: %s", strerror(-err));
		goto out;
	}
	/* Records wait in the ring buffers until the loop below starts. */
	c.pf = prefetch__new(sampler__notices_fd(c.sampler));
	if (!c.pf)
		log_warn("no prefetch thread (%s): short-lived processes may lose their symbols",
			 strerror(errno));
	c.pt = proctrack__new(c.sym, c.pf);
	c.ingest = c.pt ? ingest__new(c.writer, c.sym, c.pt) : NULL;
	if (c.ingest)
		ingest__set_cmdline(c.ingest, opts->cmdline);
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

	if (opts->duration_s > 0)
		end_mono = start_mono + (int64_t)(opts->duration_s * 1e9);
	log_debug("sampling at %u Hz on %u CPUs with %s", opts->sampler.freq, c.rec.ncpus,
		  c.rec.event);
	/* The collector's own cost is measured from here: the set-up above is not the steady
	 * state. */
	update_counters(&c);
	c.minute_wall = clock_ns(CLOCK_MONOTONIC);
	c.minute_cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	c.minute_delivered = c.rec.delivered;
	c.minute_dropped = samples_lost(&c);

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
				consume(&c);
			} else if (fd == tfd) {
				uint64_t exp;

				if (read(tfd, &exp, sizeof(exp)) < 0)
					continue;
				consume(&c);
				ticks += exp;
				if (ticks >= TICKS_PER_FLUSH) {
					ticks = 0;
					flush(&c, false);
					check_own_cpu(&c, opts);
					self_interval(&c, false);
					if (proctrack__expire(c.pt, c.now, c.now - PROC_EXPIRE_NS))
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

				if (read(sfd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP) {
					opts = reload(&c, opts);
					c.opts = opts;
					continue;
				}
				log_debug("signal %u: stopping", si.ssi_signo);
				running = false;
			}
		}
	}

	/* Stop sampling first, then take everything still in the ring, then write it all. */
	sampler__detach(c.sampler);
	c.now = clock_ns(CLOCK_MONOTONIC);
	ring_buffer__consume(c.rb);
	/* The last, partial interval of the collector's own cost goes into the final flush. */
	update_counters(&c);
	self_interval(&c, true);
	flush(&c, true);
	{
		struct symbolizer_stats st;
		uint64_t taken = 0, missed = 0, exit_maps = 0, unopened = 0;
		unsigned int pf_files = 0, pf_max = PREFETCH_MAX_FILES;

		symbolizer__stats(c.sym, &st);
		if (c.pf) {
			prefetch__stats(c.pf, &taken, &missed, &exit_maps);
			pf_files = prefetch__open_files(c.pf, &unopened, &pf_max);
		}
		log_debug("symbolizer: %lu binaries (%lu with DWARF), %lu unopenable, %lu stale, "
			  "%lu "
			  "ELF/DWARF errors; %llu cached answers used, %llu resolved, %llu "
			  "evicted; "
			  "%lu kallsyms loads; prefetched maps %llu, missed %llu, exit-time maps "
			  "%llu; prefetch fds open %u (at most %u), files left unopened %llu",
			  st.binaries, st.dwarf_binaries, st.binary_errors, st.stale_files,
			  st.elf_errors, (unsigned long long)st.cache_hits,
			  (unsigned long long)st.cache_misses, (unsigned long long)st.evictions,
			  st.kernel_reloads, (unsigned long long)taken, (unsigned long long)missed,
			  (unsigned long long)exit_maps, pf_files, pf_max,
			  (unsigned long long)unopened);
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
		sum->freq = c.rec.hz;
		sum->self = c.self;
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
