// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `ember report`: the top functions of a slice of history by self and total samples, for the
 * whole host or per process, as aligned text for people or JSON for scripts; with --diff, how
 * each function's share changed between a base slice (another time range, or another process)
 * and this one. Everything comes from storage/'s query API.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uthash.h>

#include "profiler/cli.h"
#include "profiler/cmd.h"
#include "profiler/slice.h"
#include "storage/query.h"
#include "storage/storage.h"

#define REPORT_DEFAULT_TOP 20
#define REPORT_DEFAULT_PROCESSES 5
#define REPORT_NAME_COLUMN 48 /* the function column's widest */

static const char usage[] = "Usage: ember report [options]\n"
			    "\n"
			    "The functions where a time range spent its samples: self (the "
			    "function was running) and\n"
			    "total (it was on the stack), for the whole host or per process; or, "
			    "with --diff, how each\n"
			    "function's share changed against a base range or process.\n"
			    "\n"
			    "Options:\n"
			    "      --db PATH      database to read (default: as for `ember "
			    "record`)\n" SLICE_HELP "  -n, --top N        functions to show "
			    "(default 20; 0: all)\n"
			    "      --by-process   a table per process, the busiest first\n"
			    "      --processes K  with --by-process, how many processes (default "
			    "5; 0: all)\n"
			    "      --json         JSON for scripts instead of text\n"
			    "      --diff         compare with a base slice: this slice "
			    "with\n" SLICE_DIFF_HELP "  -h, --help         this text\n"
			    "\n" SLICE_TIME_HELP "\n"
			    "Examples:\n"
			    "  ember report --from -10m -n 10\n"
			    "  ember report --by-process --json\n"
			    "  ember report --diff --base-from -2h --base-to -1h --from -1h\n";

enum {
	OPT_DB = 0x2000,
	OPT_BY_PROCESS,
	OPT_PROCESSES,
	OPT_JSON,
};

static const char *kind_name(enum storage_frame_kind k)
{
	return k == STORAGE_FRAME_KERNEL ? "kernel" : k == STORAGE_FRAME_JIT ? "jit" : "user";
}

/* A function's printable name: its symbol, or "module+0xOFFSET"; kernel ones end in "_[k]". */
static void fn_name(const struct storage_frame *f, char *buf, size_t len)
{
	const char *mod = f->module ? f->module : "[unknown]", *base = strrchr(mod, '/');

	if (f->name)
		snprintf(buf, len, "%s%s", f->name, f->kind == STORAGE_FRAME_KERNEL ? "_[k]" : "");
	else
		snprintf(buf, len, "%s+0x%" PRIx64, base ? base + 1 : mod, f->offset);
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
}

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static double pct(uint64_t n, uint64_t total)
{
	return total ? 100.0 * (double)n / (double)total : 0;
}

static void fmt_time(int64_t ns, char *buf, size_t len)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (!ns) {
		snprintf(buf, len, "-");
		return;
	}
	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

/* The range a filter covers, the data's span filling in what the filter leaves open. */
static void range_of(struct storage_reader *r, const struct storage_filter *f, int64_t *from,
		     int64_t *to)
{
	int64_t first = 0, last = 0;

	storage_reader__span(r, &first, &last);
	*from = f->from_ns ? f->from_ns : first;
	*to = f->to_ns ? f->to_ns : last;
}

static void text_table(const struct storage_function_count *v, size_t n, uint64_t total,
		       unsigned long top, const char *indent)
{
	size_t shown = top && top < n ? top : n, width = 8;
	char name[512];

	for (size_t i = 0; i < shown; i++) {
		fn_name(v[i].frame, name, sizeof(name));
		if (strlen(name) > width)
			width = strlen(name) < REPORT_NAME_COLUMN ? strlen(name)
								  : REPORT_NAME_COLUMN;
	}
	printf("%s %7s %9s %7s %9s  %-*s  %s\n", indent, "SELF%", "SELF", "TOTAL%", "TOTAL",
	       (int)width, "FUNCTION", "MODULE");
	for (size_t i = 0; i < shown; i++) {
		const char *mod = v[i].frame->module ? v[i].frame->module : "[unknown]";

		fn_name(v[i].frame, name, sizeof(name));
		printf("%s%7.2f%% %9" PRIu64 "%7.2f%% %9" PRIu64 "  %-*s  %s\n", indent,
		       pct(v[i].self, total), v[i].self, pct(v[i].total, total), v[i].total,
		       (int)width, name, mod);
	}
	if (shown < n)
		printf("%s(%zu more functions; -n 0 shows all)\n", indent, n - shown);
}

static void json_functions(const struct storage_function_count *v, size_t n, uint64_t total,
			   unsigned long top)
{
	size_t shown = top && top < n ? top : n;
	char name[512];

	printf("[");
	for (size_t i = 0; i < shown; i++) {
		fn_name(v[i].frame, name, sizeof(name));
		printf("%s\n{\"name\":", i ? "," : "");
		json_str(stdout, name);
		printf(",\"module\":");
		json_str(stdout, v[i].frame->module);
		printf(",\"kind\":\"%s\",\"self\":%" PRIu64 ",\"total\":%" PRIu64 ",\"self_pct\":%."
		       "4f,\"total_"
		       "pct\":%.4f}",
		       kind_name(v[i].frame->kind), v[i].self, v[i].total, pct(v[i].self, total),
		       pct(v[i].total, total));
	}
	printf("]");
}

struct report {
	struct storage_reader *r;
	unsigned long top, processes;
	bool json, by_process;
};

static int report_host(struct report *rp, const struct storage_filter *f)
{
	struct storage_function_count *v = NULL;
	uint64_t total = 0;
	int64_t from, to;
	char a[32], b[32];
	size_t n;
	int err;

	err = storage_reader__functions(rp->r, f, &v, &n, &total);
	if (err)
		return err;
	if (!total) {
		free(v);
		return -ENODATA;
	}
	range_of(rp->r, f, &from, &to);
	if (rp->json) {
		printf("{\"from_ns\":%" PRId64 ",\"to_ns\":%" PRId64 ",\"samples\":%" PRIu64 ",\"fu"
		       "nctio"
		       "ns\""
		       ":",
		       from, to, total);
		json_functions(v, n, total, rp->top);
		printf("}\n");
	} else {
		fmt_time(from, a, sizeof(a));
		fmt_time(to, b, sizeof(b));
		printf("%" PRIu64 " samples from %s to %s\n\n", total, a, b);
		text_table(v, n, total, rp->top, "");
	}
	free(v);
	return 0;
}

/* Per process: one aggregation, split by process, then functions per part. */
static int report_processes(struct report *rp, const struct storage_filter *f)
{
	struct storage_stack_count *counts = NULL, *part = NULL;
	struct storage_task_count *tasks = NULL;
	uint64_t total = 0, ttotal;
	size_t ncounts, ntasks, shown;
	int64_t from, to;
	char a[32], b[32];
	int err;

	err = storage_reader__tasks(rp->r, f, false, &tasks, &ntasks, &ttotal);
	if (!err)
		err = storage_reader__stack_counts(rp->r, f, &counts, &ncounts, &total);
	if (err)
		goto out;
	if (!total) {
		err = -ENODATA;
		goto out;
	}
	part = calloc(ncounts + 1, sizeof(*part));
	if (!part) {
		err = -ENOMEM;
		goto out;
	}
	range_of(rp->r, f, &from, &to);
	shown = rp->processes && rp->processes < ntasks ? rp->processes : ntasks;
	if (rp->json)
		printf("{\"from_ns\":%" PRId64 ",\"to_ns\":%" PRId64 ",\"samples\":%" PRIu64 ",\"pr"
		       "ocess"
		       "es\":"
		       "[",
		       from, to, total);
	else {
		fmt_time(from, a, sizeof(a));
		fmt_time(to, b, sizeof(b));
		printf("%" PRIu64 " samples from %s to %s, %zu processes\n", total, a, b, ntasks);
	}
	for (size_t t = 0; t < shown; t++) {
		const struct storage_task_count *task = &tasks[t];
		struct storage_function_count *v = NULL;
		size_t np = 0, n;
		uint64_t ptotal;

		for (size_t k = 0; k < ncounts; k++) {
			const struct storage_thread *th =
			    storage_reader__thread(rp->r, counts[k].thread);

			if (th && th->pid == task->pid && th->proc_start == task->proc_start)
				part[np++] = counts[k];
		}
		err = storage_reader__functions_of(rp->r, part, np, &v, &n, &ptotal);
		if (err)
			goto out;
		if (rp->json) {
			printf("%s\n{\"pid\":%u,\"comm\":", t ? "," : "", task->pid);
			json_str(stdout, task->comm);
			printf(",\"exe\":");
			if (task->exe)
				json_str(stdout, task->exe);
			else
				printf("null");
			printf(",\"samples\":%" PRIu64 ",\"pct\":%.4f,\"functions\":", ptotal,
			       pct(ptotal, total));
			json_functions(v, n, ptotal, rp->top);
			printf("}");
		} else {
			printf("\npid %u %s%s%s%s: %" PRIu64 " samples (%.2f%% of all)\n",
			       task->pid, task->comm, task->exe ? " (" : "",
			       task->exe ? task->exe : "", task->exe ? ")" : "", ptotal,
			       pct(ptotal, total));
			text_table(v, n, ptotal, rp->top, "  ");
		}
		free(v);
	}
	if (rp->json)
		printf("]}\n");
	else if (shown < ntasks)
		printf("\n(%zu more processes; --processes 0 shows all)\n", ntasks - shown);
out:
	free(part);
	free(counts);
	free(tasks);
	return err;
}

/* A function in a diff: matched across the two slices by (kind, name or offset, module). */
struct dfn {
	UT_hash_handle hh;
	const struct storage_frame *frame;
	uint64_t self, total, base_self, base_total;
	double dself, dtotal; /* change in share, percentage points */
	char key[];
};

static int dfn_add(struct dfn **map, const struct storage_function_count *c, bool base)
{
	const struct storage_frame *f = c->frame;
	char key[1200];
	struct dfn *e;
	int len;

	len = snprintf(key, sizeof(key), "%d\x1f%s\x1f%" PRIx64 "\x1f%s", (int)f->kind,
		       f->name ? f->name : "", f->name ? 0 : f->offset, f->module ? f->module : "");
	if (len < 0 || (size_t)len >= sizeof(key))
		len = (int)sizeof(key) - 1;
	HASH_FIND(hh, *map, key, (size_t)len, e);
	if (!e) {
		e = calloc(1, sizeof(*e) + (size_t)len + 1);
		if (!e)
			return -ENOMEM;
		memcpy(e->key, key, (size_t)len);
		e->frame = f;
		HASH_ADD(hh, *map, key, (size_t)len, e);
	}
	if (base) {
		e->base_self += c->self;
		e->base_total += c->total;
	} else {
		e->self += c->self;
		e->total += c->total;
	}
	return 0;
}

static int cmp_dfn(const void *x, const void *y)
{
	const struct dfn *a = *(struct dfn *const *)x, *b = *(struct dfn *const *)y;

	if (fabs(a->dself) != fabs(b->dself))
		return fabs(a->dself) > fabs(b->dself) ? -1 : 1;
	if (fabs(a->dtotal) != fabs(b->dtotal))
		return fabs(a->dtotal) > fabs(b->dtotal) ? -1 : 1;
	return strcmp(a->key, b->key);
}

static int report_diff(struct report *rp, const struct storage_filter *f,
		       const struct storage_filter *bf)
{
	struct storage_function_count *v = NULL, *bv = NULL;
	struct dfn *map = NULL, *e, *tmp, **sorted = NULL;
	uint64_t total = 0, btotal = 0;
	size_t n = 0, bn = 0, nd = 0, shown, width = 8;
	int64_t from, to, bfrom, bto;
	char a[32], b[32], c[32], d[32], name[512];
	int err;

	err = storage_reader__functions(rp->r, f, &v, &n, &total);
	if (!err)
		err = storage_reader__functions(rp->r, bf, &bv, &bn, &btotal);
	if (err)
		goto out;
	if (!total || !btotal) {
		err = -ENODATA;
		goto out;
	}
	for (size_t i = 0; !err && i < n; i++)
		err = dfn_add(&map, &v[i], false);
	for (size_t i = 0; !err && i < bn; i++)
		err = dfn_add(&map, &bv[i], true);
	sorted = calloc(HASH_COUNT(map) + 1, sizeof(*sorted));
	if (err || !sorted) {
		err = err ? err : -ENOMEM;
		goto out;
	}
	HASH_ITER (hh, map, e, tmp) {
		e->dself = pct(e->self, total) - pct(e->base_self, btotal);
		e->dtotal = pct(e->total, total) - pct(e->base_total, btotal);
		sorted[nd++] = e;
	}
	qsort(sorted, nd, sizeof(*sorted), cmp_dfn);
	shown = rp->top && rp->top < nd ? rp->top : nd;
	range_of(rp->r, f, &from, &to);
	range_of(rp->r, bf, &bfrom, &bto);
	if (rp->json) {
		printf("{\"from_ns\":%" PRId64 ",\"to_ns\":%" PRId64 ",\"samples\":%" PRIu64
		       ",\"base_from_ns\":%" PRId64 ",\"base_to_ns\":%" PRId64 ",\"base_samples\":"
		       "%" PRIu64 ",\"funct"
		       "ions\":"
		       "[",
		       from, to, total, bfrom, bto, btotal);
		for (size_t i = 0; i < shown; i++) {
			e = sorted[i];
			fn_name(e->frame, name, sizeof(name));
			printf("%s\n{\"name\":", i ? "," : "");
			json_str(stdout, name);
			printf(",\"module\":");
			json_str(stdout, e->frame->module);
			printf(",\"kind\":\"%s\",\"self\":%" PRIu64 ",\"base_self\":%" PRIu64
			       ",\"total\":%" PRIu64 ",\"base_total\":%" PRIu64 ",\"self_pct\":%."
			       "4f,\"base_self_"
			       "pct\":%.4f,\"self_"
			       "change\":%.4f"
			       ",\"total_pct\":%.4f,\"base_total_pct\":%.4f,\"total_change\":%.4f}",
			       kind_name(e->frame->kind), e->self, e->base_self, e->total,
			       e->base_total, pct(e->self, total), pct(e->base_self, btotal),
			       e->dself, pct(e->total, total), pct(e->base_total, btotal),
			       e->dtotal);
		}
		printf("]}\n");
		goto out;
	}
	fmt_time(from, a, sizeof(a));
	fmt_time(to, b, sizeof(b));
	fmt_time(bfrom, c, sizeof(c));
	fmt_time(bto, d, sizeof(d));
	printf("%" PRIu64 " samples from %s to %s against %" PRIu64 " in the base, from %s to %s\n"
	       "Shares are percentages of each slice's samples; CHANGE is in percentage "
	       "points.\n\n",
	       total, a, b, btotal, c, d);
	for (size_t i = 0; i < shown; i++) {
		fn_name(sorted[i]->frame, name, sizeof(name));
		if (strlen(name) > width)
			width = strlen(name) < REPORT_NAME_COLUMN ? strlen(name)
								  : REPORT_NAME_COLUMN;
	}
	printf("%8s %7s %8s  %8s %7s %8s  %-*s  %s\n", "BASE", "SELF%", "CHANGE", "BASE", "TOTAL%",
	       "CHANGE", (int)width, "FUNCTION", "MODULE");
	for (size_t i = 0; i < shown; i++) {
		e = sorted[i];
		fn_name(e->frame, name, sizeof(name));
		printf("%7.2f%% %6.2f%% %+8.2f  %7.2f%% %6.2f%% %+8.2f  %-*s  %s\n",
		       pct(e->base_self, btotal), pct(e->self, total), e->dself,
		       pct(e->base_total, btotal), pct(e->total, total), e->dtotal, (int)width,
		       name, e->frame->module ? e->frame->module : "[unknown]");
	}
	if (shown < nd)
		printf("(%zu more functions; -n 0 shows all)\n", nd - shown);
out:
	HASH_ITER (hh, map, e, tmp) {
		HASH_DEL(map, e);
		free(e);
	}
	free(sorted);
	free(v);
	free(bv);
	return err;
}

int cmd_report(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, OPT_DB },
		SLICE_LONGOPTS,
		{ "top", required_argument, NULL, 'n' },
		{ "by-process", no_argument, NULL, OPT_BY_PROCESS },
		{ "processes", required_argument, NULL, OPT_PROCESSES },
		{ "json", no_argument, NULL, OPT_JSON },
		SLICE_DIFF_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct report rp = { .top = REPORT_DEFAULT_TOP, .processes = REPORT_DEFAULT_PROCESSES };
	struct slice slice = { 0 }, base = { 0 };
	struct slice_diff sd = { 0 };
	int64_t now_ns = slice_now_ns();
	const char *db_path = NULL;
	struct storage *db = NULL;
	char dbbuf[4096];
	unsigned long v;
	int c, r, err, ret = EXIT_USAGE;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:n:h", longopts, NULL)) != -1) {
		r = slice_option(&slice, "report", c, optarg, now_ns);

		if (r == 1)
			r = slice_diff_option(&sd, "report", c, optarg, now_ns);

		if (r == 0)
			continue;
		if (r != 1)
			goto out;
		switch (c) {
		case OPT_DB:
			db_path = optarg;
			break;
		case 'n':
		case OPT_PROCESSES:
			if (cli_parse_uint(optarg, 0, 1000000, &v)) {
				cli_usage_error("report", "%s: '%s' is not a count",
						c == 'n' ? "--top" : "--processes", optarg);
				goto out;
			}
			*(c == 'n' ? &rp.top : &rp.processes) = v;
			break;
		case OPT_BY_PROCESS:
			rp.by_process = true;
			break;
		case OPT_JSON:
			rp.json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			ret = 0;
			goto out;
		case ':':
			cli_usage_error("report", "option '%s' needs a value", argv[optind - 1]);
			goto out;
		default:
			cli_usage_error("report", "unknown option '%s'", argv[optind - 1]);
			goto out;
		}
	}
	if (optind < argc) {
		cli_usage_error("report", "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (slice_check(&slice, "report"))
		goto out;
	if (sd.on && rp.by_process) {
		cli_usage_error("report", "--diff compares whole slices: drop --by-process, or "
					  "name processes with --pid and --base-pid");
		goto out;
	}
	r = slice_diff_base(&sd, "report", &slice, &base);
	if (r) {
		ret = r;
		goto out;
	}
	ret = EXIT_RUNTIME;
	if (!db_path)
		db_path = cli_default_db(CLI_DB_READ, dbbuf, sizeof(dbbuf));
	db = storage__open(db_path, STORAGE_READ);
	if (!db) {
		fprintf(stderr, "ember report: cannot open the database %s: %s\n", db_path,
			storage_strerror(errno));
		goto out;
	}
	rp.r = storage_reader__new(db);
	if (!rp.r) {
		fprintf(stderr, "ember report: cannot read %s: %s\n", db_path, storage__errmsg(db));
		goto out;
	}
	err = sd.on	      ? report_diff(&rp, &slice.f, &base.f)
	      : rp.by_process ? report_processes(&rp, &slice.f)
			      : report_host(&rp, &slice.f);
	if (!err && fflush(stdout))
		err = -errno;
	if (err == -ENODATA)
		fprintf(stderr,
			"ember report: no samples match in %s for this %srange and filter\n",
			db_path, sd.on ? "(or the base) " : "");
	else if (err)
		fprintf(stderr, "ember report: %s\n", storage_strerror(err));
	if (!err)
		ret = 0;
out:
	storage_reader__free(rp.r);
	storage__close(db);
	slice_free(&slice);
	slice_free(&base);
	slice_diff_free(&sd);
	return ret;
}
