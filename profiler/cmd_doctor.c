// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `ember doctor`: one line per thing recording depends on, each ok, degraded (with the fallback
 * ember uses) or broken (with the fix). Exits 0 when recording can work. Every probe is read-only
 * or creates and closes something of its own (a perf event on itself, a BPF map).
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "profiler/cli.h"
#include "profiler/cmd.h"
#include "profiler/options.h"
#include "profiler/privs.h"
#include "profiler/sampler.h"
#include "storage/query.h"
#include "storage/storage.h"
#include "symbolizer/elfcheck.h"

#define DOCTOR_HOT_BINARIES 5
#define DOCTOR_WINDOW_NS (600ll * 1000000000ll)
#define GIB (1024.0 * 1024 * 1024)

#define CAP_SYSLOG_BIT 34

enum verdict { OK, DEGRADED, BROKEN };

struct doctor {
	unsigned int degraded, broken;
	uint64_t caps;
	bool can_bpf;
};

static const char usage[] = "Usage: ember doctor [options]\n"
			    "\n"
			    "Checks what recording depends on here; each line is ok, degraded "
			    "(with the fallback)\n"
			    "or broken (with the fix). Exits 0 when recording can work.\n"
			    "\n"
			    "Options:\n"
			    "      --db PATH   the database to check (default: as for `ember "
			    "record`)\n"
			    "  -h, --help         this text\n";

__attribute__((format(printf, 4, 5))) static void report(struct doctor *d, enum verdict v,
							 const char *what, const char *fmt, ...)
{
	static const char *const names[] = { "ok", "degraded", "broken" };
	va_list ap;

	d->degraded += v == DEGRADED;
	d->broken += v == BROKEN;
	printf("%-9s %-20s ", names[v], what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static int read_long(const char *path, long *v)
{
	FILE *f = fopen(path, "re");
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%ld", v) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

/* The config file `ember record` reads; the database it names is the one checked below. */
static void check_config(struct doctor *d, const char *path, char *db, size_t dblen)
{
	char why[600];
	int err = record_check_config(path, db, dblen, why, sizeof(why));

	if (!err)
		report(d, OK, "config", "%s", path);
	else if (err == -ENOENT)
		report(d, OK, "config", "%s does not exist: the defaults apply", path);
	else
		report(d, BROKEN, "config",
		       "%s; ember record refuses to start; fix: correct the "
		       "file (see ember.conf(5))",
		       why);
}

static void check_kernel(struct doctor *d)
{
	struct utsname u;
	int major = 0, minor = 0;

	uname(&u);
	sscanf(u.release, "%d.%d", &major, &minor);
	if (major > 5 || (major == 5 && minor >= 8))
		report(d, OK, "kernel", "%s (ember needs 5.8 or later)", u.release);
	else
		report(d, BROKEN, "kernel",
		       "%s: ember needs 5.8 or later (BPF ring buffer, CAP_BPF); "
		       "fix: upgrade the kernel",
		       u.release);
}

static void check_btf(struct doctor *d)
{
	const char *btf = sampler_btf_path();

	if (!access(btf, R_OK))
		report(d, OK, "btf", "%s", btf);
	else
		report(d, BROKEN, "btf",
		       "%s is missing: the sampler needs the kernel's BTF; fix: a "
		       "kernel built with CONFIG_DEBUG_INFO_BTF=y",
		       btf);
}

static void check_paranoid(struct doctor *d)
{
	long v;

	if (read_long("/proc/sys/kernel/perf_event_paranoid", &v))
		report(d, BROKEN, "perf_event_paranoid",
		       "no perf events in this kernel; fix: a "
		       "kernel built with CONFIG_PERF_EVENTS=y");
	else
		report(d, OK, "perf_event_paranoid", "%ld (ember's CAP_PERFMON overrides it)", v);
}

static void check_kptr(struct doctor *d)
{
	char line[256];
	long v = -1;
	bool readable = false;
	FILE *f;

	read_long("/proc/sys/kernel/kptr_restrict", &v);
	f = fopen("/proc/kallsyms", "re");
	for (int i = 0; f && i < 100 && fgets(line, sizeof(line), f); i++)
		if (strtoull(line, NULL, 16)) {
			readable = true;
			break;
		}
	if (f)
		fclose(f);
	if (readable)
		report(d, OK, "kptr_restrict", "%ld: kernel symbol addresses are readable", v);
	else if (v >= 2)
		report(d, DEGRADED, "kptr_restrict",
		       "%ld hides kernel addresses even from root: "
		       "kernel frames are shown as addresses; fix: sysctl kernel.kptr_restrict=1",
		       v);
	else if (!(d->caps & (1ull << CAP_SYSLOG_BIT)))
		report(d, DEGRADED, "kptr_restrict",
		       "%ld: this process cannot read kernel addresses "
		       "(no CAP_SYSLOG); the collector can as root or as ember.service",
		       v);
	else
		report(d, DEGRADED, "kptr_restrict",
		       "%ld, but /proc/kallsyms shows no addresses: "
		       "kernel frames are shown as addresses",
		       v);
}

static void check_caps(struct doctor *d)
{
	uint64_t missing = privs_kept_mask() & ~d->caps;
	char names[256];

	d->can_bpf = sampler_caps_can_load(d->caps);
	if (!d->can_bpf)
		report(d, BROKEN, "capabilities",
		       "this process cannot load the sampler (needs "
		       "CAP_BPF and CAP_PERFMON); fix: run as root, or use the service "
		       "(systemctl start ember)");
	else if (missing)
		report(d, DEGRADED, "capabilities",
		       "can record, but without %s: processes of other "
		       "users, private binaries or replaced binaries are not symbolized",
		       privs_names(missing, names, sizeof(names)));
	else
		report(d, OK, "capabilities", "can load the sampler; keeps %s after start-up",
		       privs_names(privs_kept_mask(), names, sizeof(names)));
}

static int open_self_event(__u32 type, __u64 config)
{
	struct perf_event_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = type;
	attr.config = config;
	attr.exclude_kernel = 1;
	attr.exclude_hv = 1;
	attr.disabled = 1;
	/* On this process only, user mode only: allowed without privileges up to paranoid 2. */
	return (int)syscall(__NR_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

static void check_event(struct doctor *d)
{
	int fd = open_self_event(PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES), err = errno;

	if (fd >= 0) {
		close(fd);
		report(d, OK, "event", "hardware cycles");
		return;
	}
	fd = open_self_event(PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK);
	if (fd >= 0) {
		close(fd);
		report(d, DEGRADED, "event",
		       "no hardware cycles (%s: no PMU, as in most VMs); ember "
		       "samples with the cpu-clock timer instead",
		       strerror(err));
	} else if (d->can_bpf) {
		report(d, BROKEN, "event",
		       "no perf event opens here (%s); fix: a kernel with "
		       "CONFIG_PERF_EVENTS and the cpu-clock event",
		       strerror(errno));
	} else {
		report(d, DEGRADED, "event",
		       "not checked: perf_event_paranoid forbids even a "
		       "per-process event to this user (run ember doctor as root)");
	}
}

static void check_ringbuf(struct doctor *d)
{
	int r;

	libbpf_set_print(NULL);
	r = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
	if (r == 1)
		report(d, OK, "ring buffer", "BPF ring buffers work");
	else if (r == 0)
		report(d, BROKEN, "ring buffer",
		       "this kernel has no BPF ring buffer; fix: a 5.8 or "
		       "later kernel");
	else if (!d->can_bpf)
		report(d, DEGRADED, "ring buffer",
		       "not checked: creating a BPF map needs CAP_BPF "
		       "(run ember doctor as root)");
	else
		report(d, BROKEN, "ring buffer", "cannot create a BPF ring buffer: %s",
		       strerror(-r));
}

/* The executables of the processes that used the most CPU: from the database's last ten minutes,
 * else from /proc over half a second. Fills paths[]; returns how many, and where from. */
struct hot {
	char path[512];
	unsigned long long weight;
};

static size_t hot_from_db(const char *db_path, struct hot *hot, size_t max)
{
	struct storage *db = storage__open(db_path, STORAGE_READ);
	struct storage_reader *r = db ? storage_reader__new(db) : NULL;
	struct storage_filter f = { 0 };
	struct storage_task_count *t = NULL;
	size_t n = 0, nt = 0;
	uint64_t total;
	int64_t first, last;

	if (!r || storage_reader__span(r, &first, &last))
		goto out;
	f.from_ns = last - DOCTOR_WINDOW_NS;
	if (storage_reader__tasks(r, &f, false, &t, &nt, &total))
		goto out;
	for (size_t i = 0; i < nt && n < max; i++) {
		bool dup = false;

		if (!t[i].exe || t[i].exe[0] != '/')
			continue;
		for (size_t j = 0; j < n; j++)
			dup |= !strcmp(hot[j].path, t[i].exe);
		if (dup)
			continue;
		snprintf(hot[n].path, sizeof(hot[n].path), "%s", t[i].exe);
		hot[n++].weight = t[i].samples;
	}
out:
	free(t);
	storage_reader__free(r);
	storage__close(db);
	return n;
}

struct proc_cpu {
	int pid;
	unsigned long long ticks;
};

/* CPU ticks of every process, in /proc's order (ascending pids). */
static size_t read_proc_cpu(struct proc_cpu *p, size_t max)
{
	char path[300], buf[1024], *s;
	DIR *dir = opendir("/proc");
	struct dirent *de;
	size_t n = 0;
	FILE *f;

	while (dir && n < max && (de = readdir(dir))) {
		unsigned long long ut, st;
		int pid = atoi(de->d_name);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		s = fgets(buf, sizeof(buf), f);
		fclose(f);
		/* The comm field may hold spaces and parentheses: fields follow the last ')'. */
		if (!s || !(s = strrchr(buf, ')')))
			continue;
		if (sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			   &st) != 2)
			continue;
		p[n].pid = pid;
		p[n++].ticks = ut + st;
	}
	if (dir)
		closedir(dir);
	return n;
}

static int by_weight(const void *a, const void *b)
{
	const struct hot *x = a, *y = b;

	return x->weight < y->weight ? 1 : x->weight > y->weight ? -1 : 0;
}

static size_t hot_from_proc(struct hot *hot, size_t max)
{
	enum { MAXP = 65536 };
	struct proc_cpu *a = calloc(MAXP, sizeof(*a)), *b = calloc(MAXP, sizeof(*b));
	struct hot *all = calloc(MAXP, sizeof(*all));
	size_t na, nb, n = 0, nall = 0;
	struct timespec half = { 0, 500000000 };

	if (!a || !b || !all)
		goto out;
	na = read_proc_cpu(a, MAXP);
	nanosleep(&half, NULL);
	nb = read_proc_cpu(b, MAXP);
	for (size_t i = 0, j = 0; i < nb; i++) {
		char exe[64];
		ssize_t len;

		while (j < na && a[j].pid < b[i].pid)
			j++;
		if (j >= na || a[j].pid != b[i].pid || b[i].ticks <= a[j].ticks ||
		    b[i].pid == getpid())
			continue;
		snprintf(exe, sizeof(exe), "/proc/%d/exe", b[i].pid);
		len = readlink(exe, all[nall].path, sizeof(all[nall].path) - 1);
		if (len <= 0)
			continue;
		all[nall].path[len] = '\0';
		all[nall++].weight = b[i].ticks - a[j].ticks;
	}
	qsort(all, nall, sizeof(*all), by_weight);
	for (size_t i = 0; i < nall && n < max; i++) {
		bool dup = false;

		for (size_t j = 0; j < n; j++)
			dup |= !strcmp(hot[j].path, all[i].path);
		if (!dup && !strstr(all[i].path, " (deleted)"))
			hot[n++] = all[i];
	}
out:
	free(a);
	free(b);
	free(all);
	return n;
}

static void check_binaries(struct doctor *d, const char *db_path)
{
	struct hot hot[DOCTOR_HOT_BINARIES];
	const char *from = "the database's last 10 minutes";
	size_t n = hot_from_db(db_path, hot, DOCTOR_HOT_BINARIES);

	if (!n) {
		n = hot_from_proc(hot, DOCTOR_HOT_BINARIES);
		from = "/proc, over half a second";
	}
	if (!n) {
		report(d, OK, "binaries", "no busy process to check (from %s)", from);
		return;
	}
	printf("%-9s %-20s the %zu busiest executables, from %s:\n", "", "binaries", n, from);
	for (size_t i = 0; i < n; i++) {
		struct elfcheck c;
		char what[64];
		const char *base = strrchr(hot[i].path, '/');
		int err = elfcheck_file(hot[i].path, &c);

		snprintf(what, sizeof(what), "  %.40s", base ? base + 1 : hot[i].path);
		if (err) {
			report(d, DEGRADED, what, "%s: cannot inspect it (%s)", hot[i].path,
			       strerror(-err));
			continue;
		}
		if (c.frame_pointers && c.debug_info) {
			report(d, OK, what, "%s: frame pointers, %sdebug info%s%s", hot[i].path,
			       c.unwind_tables ? "unwind tables, " : "",
			       c.debug_file[0] ? " in " : "", c.debug_file);
			continue;
		}
		report(d, DEGRADED, what, "%s: %s; %s; %s", hot[i].path,
		       c.frame_pointers	 ? "frame pointers"
		       : c.unwind_tables ? "no frame pointers (stacks through it need DWARF "
					   "unwinding from its "
					   ".eh_frame)"
					 : "no frame pointers and no unwind tables (stacks through "
					   "it stop there)",
		       c.unwind_tables ? "unwind tables" : "no unwind tables",
		       c.debug_info ? "debug info"
		       : c.symtab   ? "no debug info (function names only, no file:line; install "
				      "its -dbg or -dbgsym package)"
				    : "no debug info and no symbol table (exported names only)");
	}
}

static void check_space(struct doctor *d, const char *db_path)
{
	char *copy = strdup(db_path), *dir = copy ? dirname(copy) : NULL;
	struct statvfs sv;
	double free_b;

	/* The nearest directory that exists: ember record creates the rest. */
	while (dir && statvfs(dir, &sv) && strcmp(dir, "/") && strcmp(dir, "."))
		dir = dirname(dir);
	if (!dir || statvfs(dir, &sv)) {
		report(d, BROKEN, "free space", "cannot check %s", db_path);
		free(copy);
		return;
	}
	free_b = (double)sv.f_bavail * (double)sv.f_frsize;
	if (free_b >= GIB)
		report(d, OK, "free space", "%.1f GiB free for %s", free_b / GIB, db_path);
	else if (free_b >= 100.0 * 1024 * 1024)
		report(d, DEGRADED, "free space",
		       "only %.0f MiB free for %s: when it fills, ember "
		       "keeps samples in memory and retries; fix: free space, or --db elsewhere",
		       free_b / 1024 / 1024, db_path);
	else
		report(d, BROKEN, "free space",
		       "%.0f MiB free for %s; fix: free space, or --db "
		       "elsewhere",
		       free_b / 1024 / 1024, db_path);
	free(copy);
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'D' },
		{ "config", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct doctor d = { 0 };
	const char *db_path = NULL, *config = options_default_config();
	char dbbuf[4096], confdb[4096] = "";
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'D':
			db_path = optarg;
			break;
		case 'C':
			config = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			return cli_usage_error("doctor", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("doctor", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("doctor", "unexpected argument '%s'", argv[optind]);
	sampler_caps(&d.caps);

	check_config(&d, config, confdb, sizeof(confdb));
	if (!db_path)
		db_path = confdb[0] ? confdb : cli_default_db(CLI_DB_WRITE, dbbuf, sizeof(dbbuf));
	check_kernel(&d);
	check_btf(&d);
	check_paranoid(&d);
	check_kptr(&d);
	check_caps(&d);
	check_event(&d);
	check_ringbuf(&d);
	check_binaries(&d, db_path);
	check_space(&d, db_path);
	if (d.broken)
		printf("\nrecording cannot work here: %u broken, %u degraded\n", d.broken,
		       d.degraded);
	else
		printf("\nrecording can work here%s (%u degraded)\n",
		       d.degraded ? ", with the fallbacks above" : "", d.degraded);
	return d.broken ? EXIT_RUNTIME : 0;
}
