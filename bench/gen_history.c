// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * gen-history: writes synthetic profiling history through storage/writer.h, the way `ember record`
 * does (one transaction per simulated second), so that storage, queries, exports and the TUI can
 * be measured on hours or days of data without waiting for them.
 *
 * The host it simulates is built to reuse stacks the way real hosts do: programs are call graphs
 * whose edges have Zipf-distributed weights (a few hot paths, a long tail); a thread tends to stay
 * on its CPU and to repeat the stacks of its current phase; idle CPUs sit in a handful of idle
 * stacks; services live long, compiler jobs come and go; syscalls and interrupts add kernel
 * frames. Everything derives from --seed: the same arguments give the same database contents.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "profiler/cli.h"
#include "storage/storage.h"
#include "storage/writer.h"

#define NS 1000000000ll
#define MAX_DEPTH 96
#define MAX_USER_DEPTH 64
#define RECENT_STACKS 8

/*
 * The shape of the simulated code, calibrated so that an hour on 64 CPUs at 19 Hz (4.4 M samples)
 * holds about 117,000 distinct stacks of 22 frames on average (2.7 % of the samples bring a new
 * stack): Zipf exponents of the callee choice at each call and of a program's entry points; the
 * chance to stop (be the leaf) at the top of a program, growing with depth; the chance that a
 * sample repeats one of the thread's last RECENT_STACKS stacks.
 */
#define GEN_CALLEE_ZIPF 3.0
#define GEN_ENTRY_ZIPF 2.0
#define GEN_STOP_BASE 0.01
#define GEN_STOP_DEPTH 0.05
#define GEN_PHASE_REUSE 0.9
/* A busy CPU keeps its thread to the next tick, or after idling takes it up again (the
 * scheduler wakes a thread on the CPU it last ran on), with these probabilities. */
#define GEN_STAY 0.75
#define GEN_RESUME 0.6

static const char usage[] =
    "Usage: gen-history --db PATH [options]\n"
    "\n"
    "Writes synthetic CPU-profile history through ember's storage writer, one transaction per\n"
    "simulated second, like `ember record`. The same options and seed give the same data.\n"
    "\n"
    "Options:\n"
    "  --db PATH          database to create or extend (required)\n"
    "  -d, --duration T   simulated time to write (30s, 10m, 1h, 1d; default 1h)\n"
    "  -n, --samples N    stop after N samples instead\n"
    "  --cpus N           simulated CPUs (default 64)\n"
    "  -F, --freq HZ      samples per second per CPU (default 19)\n"
    "  --busy FRAC        fraction of CPU time not idle, 0 to 1 (default 0.5)\n"
    "  --start T          time of the first sample (default: so the history ends now;\n"
    "                     any time ember export --from takes: -1d, @EPOCH, 2026-12-07T10:00)\n"
    "  --seed N           random seed (default 1)\n"
    "  --retention T      delete history older than T (as ember record --retention)\n"
    "  --max-db-size N    keep the database under N bytes (K, M, G suffixes)\n"
    "  --rollup-after T   keep history older than T as per-minute counts (default 1d)\n"
    "  --no-maintain      never merge, roll up or prune (flush blocks only)\n"
    "  --realtime         pace the writes at the simulated rate (for tests with live readers)\n"
    "  --ack              print 'ack FLUSH SAMPLES' on stdout after every committed flush\n"
    "  --stats            print the distinct stacks, frames and threads at the end\n"
    "  -q, --quiet        no summary\n"
    "  -h, --help         this text\n"
    "\n"
    "Example: gen-history --db /tmp/day.db --duration 1d --cpus 64 -F 19\n";

/* splitmix64: small, fast, good enough, and identical everywhere. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double rndf(void)
{
	return (double)(rnd() >> 11) / (double)(1ull << 53);
}

static uint32_t rndn(uint32_t n)
{
	return n ? (uint32_t)(rnd() % n) : 0;
}

/* An index in [0, n) drawn from a Zipf(s) law: low indices are the hot ones. */
static uint32_t zipf(const double *cum, uint32_t n)
{
	double x = rndf() * cum[n - 1];
	uint32_t lo = 0, hi = n - 1;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (cum[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static double *zipf_table(uint32_t n, double s)
{
	double *cum = malloc(n * sizeof(*cum)), acc = 0;

	if (!cum)
		abort();
	for (uint32_t i = 0; i < n; i++) {
		acc += 1.0 / pow(i + 1, s);
		cum[i] = acc;
	}
	return cum;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p) {
		fprintf(stderr, "gen-history: out of memory\n");
		exit(1);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		abort();
	return p;
}

/* ---- The universe: modules, functions, call graphs. ---- */

struct module {
	char *path;
	char build_id[41];
	enum storage_frame_kind kind;
	uint32_t first, nfuncs; /* functions [first, first + nfuncs) */
	uint32_t nlevels;
	uint32_t nentries; /* the functions a thread of this program starts from */
	double *entry_cum; /* their Zipf weights */
};

struct func {
	char *name;
	char *file;
	uint32_t module;
	uint32_t level;
	uint32_t line; /* first line of the body */
	uint32_t ncallees;
	uint32_t *callees;   /* function indices, hottest first */
	double *cum;	     /* Zipf weights of the callees */
	int64_t *call_frame; /* the frame of this function at each call site, 0 until interned */
	uint32_t nleaf;	     /* hot lines when this function is the leaf */
	int64_t *leaf_frame;
	double stop;  /* probability of stopping here (being the leaf) */
	bool syscall; /* a leaf that enters the kernel */
};

static int64_t max_stack, max_frame; /* for --stats */
static uint64_t depth_sum, nnew;
static struct module *modules;
static uint32_t nmodules, cap_modules;
static struct func *funcs;
static uint32_t nfuncs, cap_funcs;

static const char *const syl[] = { "alloc", "buf",   "cache",  "conn",	"ctx",	 "data",   "exec",
				   "fetch", "file",  "flush",  "frame", "hash",	 "heap",   "index",
				   "init",  "io",    "item",   "key",	"list",	 "lock",   "log",
				   "map",   "merge", "msg",    "node",	"page",	 "parse",  "plan",
				   "pool",  "proc",  "query",  "queue", "read",	 "rel",	   "req",
				   "scan",  "sched", "send",   "sort",	"state", "stream", "sync",
				   "table", "task",  "thread", "tree",	"tuple", "update", "value",
				   "wait",  "walk",  "write" };
#define NSYL (sizeof(syl) / sizeof(syl[0]))

static void make_name(char *buf, size_t len, const char *style, uint32_t i)
{
	const char *a = syl[rndn(NSYL)], *b = syl[rndn(NSYL)], *c = syl[rndn(NSYL)];

	if (!strcmp(style, "c++"))
		snprintf(buf, len, "%s::%sImpl::%s_%s(%s const&, unsigned long)", a, b, c,
			 syl[i % NSYL], syl[(i / NSYL) % NSYL]);
	else if (!strcmp(style, "java"))
		snprintf(buf, len, "Lorg/%s/%s/%sService;::%s%u", a, b, c, syl[i % NSYL], i % 97);
	else
		snprintf(buf, len, "%s_%s_%s%u", a, b, c, i % 50);
}

/*
 * Adds a module of n functions in `levels` levels; a function of level l calls functions of
 * levels l+1 and l+2 of the same module, and with probability `lib_p` an entry function of one of
 * `libs`.
 */
static uint32_t add_module(const char *path, enum storage_frame_kind kind, uint32_t n,
			   uint32_t levels, const char *style)
{
	struct module *m;
	char name[256], file[128];

	if (nmodules == cap_modules) {
		cap_modules = cap_modules ? cap_modules * 2 : 32;
		modules = realloc(modules, cap_modules * sizeof(*modules));
		if (!modules)
			abort();
	}
	if (nfuncs + n > cap_funcs) {
		cap_funcs = (nfuncs + n) * 2;
		funcs = realloc(funcs, cap_funcs * sizeof(*funcs));
		if (!funcs)
			abort();
	}
	m = &modules[nmodules];
	memset(m, 0, sizeof(*m));
	m->path = xstrdup(path);
	for (int i = 0; i < 40; i++)
		m->build_id[i] = "0123456789abcdef"[rndn(16)];
	m->kind = kind;
	m->first = nfuncs;
	m->nfuncs = n;
	m->nlevels = levels;
	m->nentries = n / 16 + 1;
	m->entry_cum = zipf_table(m->nentries, GEN_ENTRY_ZIPF);
	for (uint32_t i = 0; i < n; i++) {
		struct func *f = &funcs[nfuncs + i];

		memset(f, 0, sizeof(*f));
		make_name(name, sizeof(name), style, i);
		f->name = xstrdup(name);
		snprintf(file, sizeof(file), "src/%s/%s.c", syl[(i / 23) % NSYL],
			 syl[(i / 7) % NSYL]);
		f->file = kind == STORAGE_FRAME_JIT ? NULL : xstrdup(file);
		f->module = nmodules;
		/* Few functions near the top, many deep down. */
		f->level = (uint32_t)(levels * sqrt((double)i / n));
		f->line = 10 + rndn(3000);
	}
	nfuncs += n;
	return nmodules++;
}

/* The functions of module m at level l: [*lo, *hi). */
static void level_range(uint32_t m, uint32_t l, uint32_t *lo, uint32_t *hi)
{
	const struct module *mod = &modules[m];
	uint32_t a = mod->first, b = mod->first + mod->nfuncs;

	while (a < b && funcs[a].level < l)
		a++;
	*lo = a;
	while (a < b && funcs[a].level == l)
		a++;
	*hi = a;
}

/* Wires the call graph of module m; `libs` are the modules it may call into. */
static void wire_module(uint32_t m, const uint32_t *libs, uint32_t nlibs, double lib_p,
			double syscall_p)
{
	const struct module *mod = &modules[m];

	for (uint32_t i = mod->first; i < mod->first + mod->nfuncs; i++) {
		struct func *f = &funcs[i];
		uint32_t lo, hi;

		level_range(m, f->level + 1, &lo, &hi);
		if (hi == lo)
			level_range(m, f->level + 2, &lo, &hi);
		f->ncallees = hi > lo ? 1 + rndn(6) : 0;
		if (nlibs && f->ncallees && rndf() < lib_p)
			f->ncallees++;
		f->callees = xcalloc(f->ncallees, sizeof(*f->callees));
		for (uint32_t k = 0; k < f->ncallees; k++) {
			if (hi > lo && (k + 1 < f->ncallees || !nlibs || rndf() >= lib_p)) {
				f->callees[k] = lo + rndn(hi - lo);
			} else {
				const struct module *lib = &modules[libs[rndn(nlibs)]];

				/* Library entry points: the first (top-level) functions. */
				f->callees[k] = lib->first + rndn(lib->nfuncs / 8 + 1);
			}
		}
		f->cum = zipf_table(f->ncallees ? f->ncallees : 1, GEN_CALLEE_ZIPF);
		f->call_frame = xcalloc(f->ncallees, sizeof(*f->call_frame));
		f->nleaf = 1 + rndn(4);
		f->leaf_frame = xcalloc(f->nleaf, sizeof(*f->leaf_frame));
		f->stop = f->ncallees
			      ? GEN_STOP_BASE + GEN_STOP_DEPTH * f->level / (double)mod->nlevels
			      : 1.0;
		f->syscall = rndf() < syscall_p;
	}
}

static int64_t frame_of(struct storage_writer *w, uint32_t fi, uint32_t line)
{
	const struct func *f = &funcs[fi];
	const struct module *m = &modules[f->module];
	struct storage_frame sf = {
		.kind = m->kind,
		.name = f->name,
		.module = m->path,
		.file = f->file,
		.line = f->file ? line : 0,
		.build_id = m->kind == STORAGE_FRAME_USER ? m->build_id : NULL,
	};
	int64_t id = storage_writer__frame(w, &sf);

	if (id > max_frame)
		max_frame = id;
	if (id < 0) {
		fprintf(stderr, "gen-history: interning a frame: %s\n", storage_strerror((int)id));
		exit(1);
	}
	return id;
}

/*
 * A random walk from function `root` down the call graph, appending frames root first to
 * path[*n]. Stops at a leaf, at the depth cap, or by the function's stop probability.
 */
static uint32_t walk(struct storage_writer *w, uint32_t root, int64_t *path, size_t *n, size_t cap)
{
	uint32_t fi = root;

	for (;;) {
		struct func *f = &funcs[fi];
		uint32_t k;

		if (!f->ncallees || *n + 1 >= cap || rndf() < f->stop) {
			uint32_t l = rndn(f->nleaf);

			if (!f->leaf_frame[l])
				f->leaf_frame[l] = frame_of(w, fi, f->line + 3 + 7 * l);
			path[(*n)++] = f->leaf_frame[l];
			return fi;
		}
		k = zipf(f->cum, f->ncallees);
		if (!f->call_frame[k])
			f->call_frame[k] = frame_of(w, fi, f->line + 1 + 2 * k);
		path[(*n)++] = f->call_frame[k];
		fi = f->callees[k];
	}
}

/* ---- The host: programs, processes, threads, CPUs. ---- */

struct program {
	const char *comm;
	uint32_t module; /* its main binary */
	uint32_t nprocs_min, nprocs_max, threads;
	double weight;	 /* CPU demand per thread */
	double lifetime; /* seconds; 0: lives for ever */
	double spawn;	 /* new processes per second when short-lived */
	uint64_t cgroup;
	bool kthread;
};

struct thread {
	uint32_t pid, tid;
	int64_t proc_start;
	uint32_t program;
	char comm[16];
	int64_t dies_ns; /* 0: never */
	int64_t recent[RECENT_STACKS];
	uint32_t nrecent;
	bool registered;
	bool dead;
};

static struct program programs[16];
static uint32_t nprograms;
static struct thread *threads;
static uint32_t nthreads, cap_threads;
static double *thread_cum; /* cumulative CPU demand of the live threads */
static uint32_t *live;	   /* indices of live threads */
static uint32_t nlive;
static bool live_dirty = true;
static uint32_t next_pid = 1000;
static uint32_t kernel_mod, syscall_entry, irq_entry, kthread_entry;
static uint32_t libc_mod;
static int64_t boot_epoch_ns; /* the simulated boot, in epoch ns */

static void spawn_process(uint32_t p, int64_t now_ns)
{
	const struct program *pr = &programs[p];
	uint32_t pid = next_pid++;
	int64_t dies =
	    pr->lifetime > 0 ? now_ns + (int64_t)(pr->lifetime * (0.2 + 1.6 * rndf()) * NS) : 0;

	for (uint32_t t = 0; t < pr->threads; t++) {
		struct thread *th;

		if (nthreads == cap_threads) {
			cap_threads = cap_threads ? cap_threads * 2 : 1024;
			threads = realloc(threads, cap_threads * sizeof(*threads));
			if (!threads)
				abort();
		}
		th = &threads[nthreads++];
		memset(th, 0, sizeof(*th));
		th->pid = pid;
		th->tid = t ? next_pid++ : pid;
		th->proc_start = now_ns - boot_epoch_ns;
		th->program = p;
		th->dies_ns = dies;
		if (t && pr->threads > 1)
			snprintf(th->comm, sizeof(th->comm), "%.10s-%u", pr->comm, t % 1000);
		else
			snprintf(th->comm, sizeof(th->comm), "%s", pr->comm);
	}
	live_dirty = true;
}

static void rebuild_live(void)
{
	double acc = 0;

	free(live);
	free(thread_cum);
	live = xcalloc(nthreads, sizeof(*live));
	thread_cum = xcalloc(nthreads, sizeof(*thread_cum));
	nlive = 0;
	for (uint32_t i = 0; i < nthreads; i++) {
		if (threads[i].dead)
			continue;
		acc += programs[threads[i].program].weight;
		live[nlive] = i;
		thread_cum[nlive++] = acc;
	}
	live_dirty = false;
}

/* Ends processes whose time has come and starts short-lived ones, once per simulated second. */
static void churn(int64_t now_ns)
{
	for (uint32_t i = 0; i < nthreads; i++)
		if (!threads[i].dead && threads[i].dies_ns && threads[i].dies_ns <= now_ns) {
			threads[i].dead = true;
			live_dirty = true;
		}
	for (uint32_t p = 0; p < nprograms; p++) {
		double s = programs[p].spawn;

		while (s > 0 && rndf() < s) {
			spawn_process(p, now_ns);
			s -= 1;
		}
	}
	if (live_dirty)
		rebuild_live();
}

static void setup_universe(uint32_t ncpus)
{
	uint32_t libs[4], pylib, jvm, cc1, lib_ssl, libstdcxx, m;

	kernel_mod = add_module("[kernel.kallsyms]", STORAGE_FRAME_KERNEL, 2500, 12, "c");
	libc_mod =
	    add_module("/usr/lib/x86_64-linux-gnu/libc.so.6", STORAGE_FRAME_USER, 400, 4, "c");
	libstdcxx = add_module("/usr/lib/x86_64-linux-gnu/libstdc++.so.6", STORAGE_FRAME_USER, 600,
			       5, "c++");
	lib_ssl =
	    add_module("/usr/lib/x86_64-linux-gnu/libcrypto.so.3", STORAGE_FRAME_USER, 500, 5, "c");
	pylib = add_module("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", STORAGE_FRAME_USER,
			   2000, 24, "c");
	jvm = add_module("/tmp/perf-jit.map", STORAGE_FRAME_JIT, 4000, 28, "java");
	cc1 = add_module("/usr/libexec/gcc/x86_64-linux-gnu/12/cc1", STORAGE_FRAME_USER, 6000, 30,
			 "c");

	wire_module(kernel_mod, NULL, 0, 0, 0);
	wire_module(libc_mod, NULL, 0, 0, 0.25);
	libs[0] = libc_mod;
	wire_module(libstdcxx, libs, 1, 0.2, 0);
	wire_module(lib_ssl, libs, 1, 0.1, 0);
	wire_module(pylib, libs, 1, 0.15, 0);
	wire_module(jvm, libs, 1, 0.05, 0);
	wire_module(cc1, libs, 1, 0.1, 0);
	syscall_entry = modules[kernel_mod].first + 1;
	irq_entry = modules[kernel_mod].first + 2;
	kthread_entry = modules[kernel_mod].first + 3;
	libs[1] = libstdcxx;
	libs[2] = lib_ssl;

	/* comm, binary, processes, threads, weight, lifetime, spawn rate, cgroup */
#define PROGRAM(c, mod, lo, hi, th, wt, life, sp, cg)               \
	programs[nprograms++] = (struct program){ .comm = c,        \
						  .module = mod,    \
						  .nprocs_min = lo, \
						  .nprocs_max = hi, \
						  .threads = th,    \
						  .weight = wt,     \
						  .lifetime = life, \
						  .spawn = sp,      \
						  .cgroup = cg }
	m = add_module("/usr/lib/postgresql/15/bin/postgres", STORAGE_FRAME_USER, 3000, 26, "c");
	wire_module(m, libs, 3, 0.1, 0.05);
	PROGRAM("postgres", m, 24, 24, 1, 1.0, 0, 0, 0x1001);
	m = add_module("/usr/sbin/nginx", STORAGE_FRAME_USER, 500, 14, "c");
	wire_module(m, libs, 3, 0.3, 0.15);
	PROGRAM("nginx", m, 8, 8, 1, 0.8, 0, 0, 0x1002);
	PROGRAM("python3", pylib, 6, 6, 4, 0.7, 0, 0, 0x1003);
	PROGRAM("java", jvm, 1, 1, 48, 0.5, 0, 0, 0x1004);
	m = add_module("/usr/bin/redis-server", STORAGE_FRAME_USER, 800, 14, "c");
	wire_module(m, libs, 3, 0.2, 0.1);
	PROGRAM("redis-server", m, 1, 1, 4, 1.0, 0, 0, 0x1005);
	m = add_module("/usr/bin/envoy", STORAGE_FRAME_USER, 5000, 30, "c++");
	wire_module(m, libs + 1, 2, 0.2, 0.05);
	PROGRAM("envoy", m, 1, 1, 16, 0.6, 0, 0, 0x1006);
	/* A build: compiler jobs of a few seconds each, about ncpus / 16 new ones a second. */
	PROGRAM("cc1", cc1, 0, 0, 1, 3.0, 4.0, ncpus / 16.0, 0x2001);
	m = add_module("/usr/bin/make", STORAGE_FRAME_USER, 200, 8, "c");
	wire_module(m, libs, 1, 0.3, 0.3);
	PROGRAM("make", m, 0, 0, 1, 0.3, 2.0, ncpus / 64.0, 0x2001);
	m = add_module("/usr/lib/systemd/systemd-journald", STORAGE_FRAME_USER, 300, 10, "c");
	wire_module(m, libs, 1, 0.3, 0.3);
	PROGRAM("systemd-journal", m, 1, 1, 1, 0.2, 0, 0, 0x1007);
	/* Kernel threads: kworkers and ksoftirqd, one per CPU, light. */
	PROGRAM("kworker/u8:2", kernel_mod, ncpus, ncpus, 1, 0.05, 0, 0, 1);
	programs[nprograms - 1].kthread = true;
#undef PROGRAM
}

/* The stack of one sample of thread th (leaf first into out). Returns the depth. */
static size_t make_stack(struct storage_writer *w, struct thread *th, int64_t *out)
{
	const struct program *pr = &programs[th->program];
	int64_t path[MAX_DEPTH];
	size_t n = 0, k = 0;
	uint32_t leaf;

	if (pr->kthread) {
		walk(w, kthread_entry, path, &n, 24);
	} else {
		const struct module *mod = &modules[pr->module];
		uint32_t entry = mod->first + zipf(mod->entry_cum, mod->nentries);

		/* _start -> __libc_start_main -> main-ish entry. */
		path[n++] = frame_of(w, modules[libc_mod].first + 5, 100);
		leaf = walk(w, entry, path, &n, MAX_USER_DEPTH);
		if (funcs[leaf].syscall || rndf() < 0.02) {
			uint32_t kentry = funcs[leaf].syscall ? syscall_entry : irq_entry;

			walk(w, kentry, path, &n, MAX_DEPTH);
		}
	}
	/* Leaf first. */
	for (size_t i = n; i > 0; i--)
		out[k++] = path[i - 1];
	return k;
}

static int64_t stack_of(struct storage_writer *w, struct thread *th)
{
	int64_t frames[MAX_DEPTH], id;
	size_t n;

	/* A thread mostly repeats the stacks of its current phase. */
	if (th->nrecent && rndf() < GEN_PHASE_REUSE)
		return th->recent[rndn(th->nrecent)];
	n = make_stack(w, th, frames);
	id = storage_writer__stack(w, frames, n, STORAGE_STACK_COMPLETE);
	if (id < 0) {
		fprintf(stderr, "gen-history: interning a stack: %s\n", storage_strerror((int)id));
		exit(1);
	}
	if (id > max_stack) {
		max_stack = id;
		depth_sum += n;
		nnew++;
	}
	if (th->nrecent < RECENT_STACKS)
		th->recent[th->nrecent++] = id;
	else
		th->recent[rndn(RECENT_STACKS)] = id;
	if (rndf() < 0.01)
		th->nrecent = 0; /* a new phase */
	return id;
}

/* swapper's stacks, leaf first: three idle routines at the leaf, the boot CPU's own root. */
static int64_t idle_stack(struct storage_writer *w, uint32_t cpu, uint32_t variant)
{
	static int64_t cache[2][3];
	uint32_t k0 = modules[kernel_mod].first, boot = cpu == 0;
	int64_t frames[6];

	if (cache[boot][variant])
		return cache[boot][variant];
	frames[0] = frame_of(w, k0 + 4 + variant, 50);
	for (uint32_t i = 1; i < 5; i++)
		frames[i] = frame_of(w, k0 + 10 + i, 50 + i);
	frames[5] = frame_of(w, k0 + (boot ? 21 : 20), 60);
	cache[boot][variant] = storage_writer__stack(w, frames, 6, STORAGE_STACK_NO_USER);
	return cache[boot][variant];
}

struct cpu_state {
	int64_t phase_ns;
	int32_t last; /* the thread that ran last (index into threads), -1 none yet */
	bool idle;    /* idle at the previous tick */
	uint32_t idle_variant;
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'D' },
		{ "duration", required_argument, NULL, 'd' },
		{ "samples", required_argument, NULL, 'n' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "freq", required_argument, NULL, 'F' },
		{ "busy", required_argument, NULL, 'b' },
		{ "start", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "retention", required_argument, NULL, 'R' },
		{ "max-db-size", required_argument, NULL, 'M' },
		{ "rollup-after", required_argument, NULL, 'U' },
		{ "no-maintain", no_argument, NULL, 'N' },
		{ "realtime", no_argument, NULL, 'r' },
		{ "ack", no_argument, NULL, 'a' },
		{ "stats", no_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *db_path = NULL;
	double duration = 3600, busy = 0.5;
	unsigned long ncpus = 64, hz = 19, seed = 1, max_samples = 0;
	bool realtime = false, ack = false, stats = false, quiet = false, maintain = true;
	struct storage_policy policy = { 0 };
	struct storage_maint_stats ms;
	double secs;
	int64_t now_ns, start_ns = 0, period, t, end_ns;
	struct storage_recording rec = { .event = "cpu-clock", .hostname = "synthetic" };
	struct timespec ts, cpu0, cpu1;
	struct storage_writer *w = NULL;
	struct storage *db = NULL;
	struct cpu_state *cpus;
	uint64_t total = 0, flushes = 0, swapper_ids = 0;
	int64_t maint_ns = 0, maint_max_ns = 0;
	int64_t *swapper;
	int c, err;
	char *end;

	clock_gettime(CLOCK_REALTIME, &ts);
	now_ns = (int64_t)ts.tv_sec * NS + ts.tv_nsec;
	while ((c = getopt_long(argc, argv, "d:n:F:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'D':
			db_path = optarg;
			break;
		case 'd':
			if (cli_parse_seconds(optarg, &duration))
				return cli_usage_error("gen-history", "bad --duration '%s'",
						       optarg);
			break;
		case 'n':
			if (cli_parse_uint(optarg, 1, ULONG_MAX, &max_samples))
				return cli_usage_error("gen-history", "bad --samples '%s'", optarg);
			duration = 1e9;
			break;
		case 'c':
			if (cli_parse_uint(optarg, 1, 1024, &ncpus))
				return cli_usage_error("gen-history", "bad --cpus '%s'", optarg);
			break;
		case 'F':
			if (cli_parse_uint(optarg, 1, 10000, &hz))
				return cli_usage_error("gen-history", "bad --freq '%s'", optarg);
			break;
		case 'b':
			busy = strtod(optarg, &end);
			if (*end || busy < 0 || busy > 1)
				return cli_usage_error("gen-history", "bad --busy '%s'", optarg);
			break;
		case 's':
			if (cli_parse_time(optarg, now_ns, &start_ns))
				return cli_usage_error("gen-history", "bad --start '%s'", optarg);
			break;
		case 'S':
			if (cli_parse_uint(optarg, 0, ULONG_MAX, &seed))
				return cli_usage_error("gen-history", "bad --seed '%s'", optarg);
			break;
		case 'R':
			if (cli_parse_seconds(optarg, &secs))
				return cli_usage_error("gen-history", "bad --retention '%s'",
						       optarg);
			policy.retention_ns = (int64_t)(secs * 1e9);
			break;
		case 'U':
			if (cli_parse_seconds(optarg, &secs))
				return cli_usage_error("gen-history", "bad --rollup-after '%s'",
						       optarg);
			policy.rollup_after_ns = (int64_t)(secs * 1e9);
			break;
		case 'M':
			if (cli_parse_size(optarg, &policy.max_bytes))
				return cli_usage_error("gen-history", "bad --max-db-size '%s'",
						       optarg);
			break;
		case 'N':
			maintain = false;
			break;
		case 'r':
			realtime = true;
			break;
		case 'a':
			ack = true;
			break;
		case 't':
			stats = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return cli_usage_error("gen-history", "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (!db_path || optind < argc)
		return cli_usage_error("gen-history", "--db PATH is required, and nothing else");
	if (!start_ns)
		start_ns = realtime ? now_ns : now_ns - (int64_t)(duration * NS);
	end_ns = start_ns + (int64_t)(duration * NS);
	rng_state = seed;
	boot_epoch_ns = start_ns - 86400 * NS;
	period = NS / (int64_t)hz;

	db = storage__open(db_path, STORAGE_WRITE);
	if (!db) {
		fprintf(stderr, "gen-history: cannot open %s: %s\n", db_path,
			storage_strerror(errno));
		return 1;
	}
	w = storage_writer__new(db);
	if (!w) {
		fprintf(stderr, "gen-history: cannot write %s: %s\n", db_path, storage__errmsg(db));
		storage__close(db);
		return 1;
	}
	rec.started_ns = start_ns;
	rec.hz = (uint32_t)hz;
	rec.ncpus = (uint32_t)ncpus;

	setup_universe((uint32_t)ncpus);
	for (uint32_t p = 0; p < nprograms; p++) {
		uint32_t n = programs[p].nprocs_min +
			     rndn(programs[p].nprocs_max - programs[p].nprocs_min + 1);

		for (uint32_t i = 0; i < n; i++)
			spawn_process(p, start_ns - (int64_t)rndn(3600) * NS);
	}
	rebuild_live();
	cpus = xcalloc(ncpus, sizeof(*cpus));
	swapper = xcalloc(ncpus, sizeof(*swapper));
	for (uint32_t i = 0; i < ncpus; i++) {
		cpus[i].phase_ns = rndn((uint32_t)period);
		cpus[i].last = -1;
	}

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
	for (t = start_ns; t < end_ns && (!max_samples || total < max_samples); t += NS) {
		churn(t);
		/* Every CPU's ticks of this second. */
		for (uint32_t cpu = 0; cpu < ncpus; cpu++) {
			struct cpu_state *cs = &cpus[cpu];
			int64_t tick = t + cs->phase_ns;

			for (; tick < t + NS; tick += period) {
				struct storage_sample s = { .cpu = cpu };
				struct thread *th;

				s.time_ns = tick + (int64_t)rndn(40000) - 20000;
				if (rndf() >= busy) {
					if (!swapper[cpu]) {
						char comm[16];

						snprintf(comm, sizeof(comm), "swapper/%u", cpu);
						swapper[cpu] =
						    storage_writer__thread(w, 0, 0, 0, comm);
						swapper_ids++;
					}
					if (rndf() < 0.05)
						cs->idle_variant = rndn(3);
					s.thread = swapper[cpu];
					s.stack = idle_stack(w, cpu, cs->idle_variant);
					s.cgroup = 1;
					cs->idle = true;
				} else {
					int32_t pick = cs->last;
					double stay = cs->idle ? GEN_RESUME : GEN_STAY;

					if (pick < 0 || threads[pick].dead || rndf() >= stay)
						pick = (int32_t)live[zipf(thread_cum, nlive)];
					cs->last = pick;
					cs->idle = false;
					th = &threads[pick];
					if (!th->registered) {
						const struct program *pr = &programs[th->program];

						if (!pr->kthread)
							storage_writer__process(
							    w, th->pid, th->proc_start,
							    th->proc_start + boot_epoch_ns, 1000,
							    pr->comm, modules[pr->module].path,
							    s.time_ns);
						th->registered = true;
					}
					s.thread = storage_writer__thread(w, th->pid, th->tid,
									  th->proc_start, th->comm);
					s.stack = stack_of(w, th);
					s.cgroup = programs[th->program].cgroup;
				}
				if (s.thread < 0 || s.stack < 0) {
					fprintf(stderr, "gen-history: interning failed\n");
					return 1;
				}
				err = storage_writer__sample(w, &s);
				if (err) {
					fprintf(stderr, "gen-history: %s\n", strerror(-err));
					return 1;
				}
				total++;
			}
			cs->phase_ns = tick - (t + NS);
		}
		if (realtime) {
			struct timespec until = { .tv_sec = (t + NS) / NS,
						  .tv_nsec = (t + NS) % NS };

			clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &until, NULL);
		}
		rec.delivered = total;
		err = storage_writer__flush(w, &rec, 1u << 30, NULL);
		if (err) {
			fprintf(stderr, "gen-history: flush: %s (%s)\n", storage_strerror(err),
				storage__errmsg(db));
			if (!realtime)
				return 1;
			continue;
		}
		flushes++;
		if (maintain) {
			struct timespec m0, m1;
			int64_t took;

			clock_gettime(CLOCK_MONOTONIC, &m0);
			/* Simulated time runs far faster than the real thing: let maintenance
			 * finish what is due every simulated second, as it would in real time. */
			err = storage_writer__maintain(w, &policy, t + NS, realtime ? 50000000 : 0,
						       &ms);
			clock_gettime(CLOCK_MONOTONIC, &m1);
			took = (int64_t)(m1.tv_sec - m0.tv_sec) * NS + (m1.tv_nsec - m0.tv_nsec);
			maint_ns += took;
			maint_max_ns = took > maint_max_ns ? took : maint_max_ns;
			if (err)
				fprintf(stderr, "gen-history: maintenance: %s (%s)\n",
					storage_strerror(err), storage__errmsg(db));
		}
		if (ack) {
			printf("ack %llu %llu\n", (unsigned long long)flushes,
			       (unsigned long long)rec.stored);
			fflush(stdout);
		}
	}
	rec.ended_ns = t;
	err = storage_writer__flush(w, &rec, 0, NULL);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
	if (err)
		fprintf(stderr, "gen-history: final flush: %s\n", storage_strerror(err));
	if (!quiet) {
		double cpu_s = (double)(cpu1.tv_sec - cpu0.tv_sec) +
			       (double)(cpu1.tv_nsec - cpu0.tv_nsec) / 1e9;

		fprintf(stderr,
			"gen-history: %llu samples, %.0f s of history on %lu CPUs at %lu Hz, "
			"%llu flushes, %.2f CPU s (%.0f samples/s)\n",
			(unsigned long long)total, (double)(t - start_ns) / 1e9, ncpus, hz,
			(unsigned long long)flushes, cpu_s, cpu_s > 0 ? (double)total / cpu_s : 0);
		if (maintain)
			fprintf(stderr,
				"gen-history: maintenance took %.2f s in all (wall clock), %.0f ms "
				"at most in one call\n",
				(double)maint_ns / 1e9, (double)maint_max_ns / 1e6);
	}
	if (stats)
		printf("stacks %lld, mean depth of new stacks %.1f, frames %lld\n",
		       (long long)max_stack, nnew ? (double)depth_sum / nnew : 0.0,
		       (long long)max_frame);
	if (stats)
		printf("threads %u (+%llu idle), processes spawned %u\n", nthreads,
		       (unsigned long long)swapper_ids, next_pid - 1000);
	storage_writer__free(w);
	storage__close(db);
	free(cpus);
	free(swapper);
	return err ? 1 : 0;
}
