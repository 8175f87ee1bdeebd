// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `ember db`: look after the database. `info` says what it holds and what it costs, `check` runs
 * SQLite's integrity check and ember's own invariants, `prune` applies a retention policy now.
 * info and check read one snapshot and work while a collector writes; prune needs the writer's
 * lock (a running collector applies its own policy).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "profiler/cli.h"
#include "profiler/cmd.h"
#include "storage/admin.h"
#include "storage/query.h"
#include "storage/storage.h"
#include "storage/writer.h"

static const char usage[] =
    "Usage: ember db <command> [options]\n"
    "\n"
    "Commands:\n"
    "  info    what the database holds: time span, samples, size, bytes per sample\n"
    "  check   SQLite's integrity check and ember's own invariants (exit 1 on a problem)\n"
    "  prune   apply a retention policy now: merge, roll up, delete, prune, give space back\n"
    "\n"
    "Options:\n"
    "      --db PATH           the database (default: as for `ember record`)\n"
    "      --retention T       prune: delete history older than T (30m, 12h, 7d)\n"
    "      --max-db-size SIZE  prune: delete the oldest history until the file is under SIZE\n"
    "                          (bytes, or with K, M, G: 500M, 2G)\n"
    "      --rollup-after T    prune: keep history older than T as per-minute counts\n"
    "                          (default 1d; 0 never)\n"
    "  -h, --help              this text\n"
    "\n"
    "A running collector applies its own --retention and --max-db-size; `ember db prune`\n"
    "is for a database no collector writes.\n";

static void human_bytes(char *buf, size_t len, double v)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static void human_time(char *buf, size_t len, int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

static void human_span(char *buf, size_t len, int64_t ns)
{
	int64_t s = ns / 1000000000;

	if (s >= 86400)
		snprintf(buf, len, "%lldd %lldh %lldm", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600), (long long)(s % 3600 / 60));
	else if (s >= 3600)
		snprintf(buf, len, "%lldh %lldm", (long long)(s / 3600),
			 (long long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%lldm %llds", (long long)(s / 60), (long long)(s % 60));
}

static double per_sample(uint64_t bytes, uint64_t samples)
{
	return samples ? (double)bytes / (double)samples : 0;
}

/* The collector's own cost, its newest row (of the running collector, or the last one). */
static void print_self(struct storage *db)
{
	struct storage_reader *r = storage_reader__new(db);
	struct storage_self s;
	char a[64], b[64], t[64];
	int err = r ? storage_reader__self_latest(r, &s) : -errno;

	if (err == -ENODATA)
		printf("collector    no measurement of its own cost yet\n");
	else if (err)
		printf("collector    cannot read its own cost: %s\n", storage_strerror(err));
	if (err) {
		storage_reader__free(r);
		return;
	}
	human_bytes(a, sizeof(a), (double)s.rss_kib * 1024);
	human_bytes(b, sizeof(b), (double)s.heap_kib * 1024);
	human_time(t, sizeof(t), s.time_ns);
	printf("collector    %.2f%% of a CPU, %s resident (%s of heap), %.1f samples/s at %u Hz, "
	       "%llu dropped: its own cost over the %.0f s to %s (recording %lld)\n",
	       s.cpu_pct, a, b, s.samples_per_s, s.hz, (unsigned long long)s.dropped,
	       (double)s.span_ns / 1e9, t, (long long)s.recording);
	storage_reader__free(r);
}

static int db_info(struct storage *db, const char *path)
{
	struct storage_info in;
	char a[64], b[64], c[64];
	uint64_t dict_bytes = 0;
	int writer = storage_writer_active(path);
	int err = storage__info(db, &in);

	if (err) {
		fprintf(stderr, "ember db info: cannot read %s: %s\n", path, storage_strerror(err));
		return EXIT_RUNTIME;
	}
	printf("database     %s (schema %d%s%s)\n", path, in.schema_version,
	       in.created_by[0] ? ", created by " : "", in.created_by);
	if (writer > 0)
		printf("writer       pid %d is recording into it\n", writer);
	else
		printf("writer       none\n");
	if (in.samples) {
		human_time(a, sizeof(a), in.first_ns);
		human_time(b, sizeof(b), in.last_ns);
		human_span(c, sizeof(c), in.last_ns - in.first_ns);
		printf("history      %s to %s (%s)\n", a, b, c);
	} else {
		printf("history      empty\n");
	}
	printf("samples      %llu: %llu in %llu windows, %llu in %llu flushes not merged yet, "
	       "%llu as per-minute counts in %llu blocks\n",
	       (unsigned long long)in.samples, (unsigned long long)in.block_samples[1],
	       (unsigned long long)in.blocks[1], (unsigned long long)in.block_samples[0],
	       (unsigned long long)in.blocks[0], (unsigned long long)in.block_samples[2],
	       (unsigned long long)in.blocks[2]);
	human_bytes(a, sizeof(a), (double)in.file_bytes);
	human_bytes(b, sizeof(b), (double)in.wal_bytes);
	human_bytes(c, sizeof(c), (double)in.free_bytes);
	printf("size         %s (%s of it free for reuse), WAL %s: %.2f bytes per sample\n", a, c,
	       b, per_sample((uint64_t)in.file_bytes, in.samples));
	human_bytes(a, sizeof(a),
		    (double)(in.block_bytes[0] + in.block_bytes[1] + in.block_bytes[2]));
	printf("  samples    %s (%.2f bytes per sample)\n", a,
	       per_sample(in.block_bytes[0] + in.block_bytes[1] + in.block_bytes[2], in.samples));
	for (int k = 0; k < STORAGE_NDICTS; k++) {
		dict_bytes += in.chunk_bytes[k];
		human_bytes(a, sizeof(a), (double)in.chunk_bytes[k]);
		printf("  %-10s %llu in %llu chunks, %s (%.2f bytes per sample)\n",
		       storage_dict_names[k], (unsigned long long)in.rows[k],
		       (unsigned long long)in.chunks[k], a,
		       per_sample(in.chunk_bytes[k], in.samples));
	}
	printf("user stacks  %llu complete, %llu truncated, %llu no unwind info, %llu bad frame, "
	       "%llu by frame pointers, %llu kernel only (distinct stacks)\n",
	       (unsigned long long)in.stack_status[STORAGE_STACK_COMPLETE],
	       (unsigned long long)in.stack_status[STORAGE_STACK_TRUNCATED],
	       (unsigned long long)in.stack_status[STORAGE_STACK_NO_UNWIND_INFO],
	       (unsigned long long)in.stack_status[STORAGE_STACK_BAD_FRAME],
	       (unsigned long long)in.stack_status[STORAGE_STACK_UNCLASSIFIED],
	       (unsigned long long)in.stack_status[STORAGE_STACK_NO_USER]);
	printf("recordings   %llu\n", (unsigned long long)in.recordings);
	print_self(db);
	return 0;
}

static void print_problem(const char *problem, void *ctx)
{
	(void)ctx;
	printf("problem: %s\n", problem);
}

static int db_check(struct storage *db, const char *path)
{
	uint64_t problems = 0;
	int err = storage__check(db, print_problem, NULL, &problems);

	if (err) {
		fprintf(stderr, "ember db check: cannot check %s: %s\n", path,
			storage_strerror(err));
		return EXIT_RUNTIME;
	}
	if (problems) {
		fprintf(stderr, "ember db check: %s: %llu problem%s\n", path,
			(unsigned long long)problems, problems == 1 ? "" : "s");
		return EXIT_RUNTIME;
	}
	printf("%s: ok\n", path);
	return 0;
}

static int db_prune(const char *path, const struct storage_policy *p)
{
	struct storage_maint_stats st;
	struct storage_writer *w;
	struct storage *db;
	struct timespec now;
	char freed[32];
	int err;

	db = storage__open(path, STORAGE_WRITE);
	if (!db) {
		err = -errno;
		fprintf(stderr, "ember db prune: cannot open %s for writing: %s%s\n", path,
			storage_strerror(err),
			err == -EBUSY ? " (it applies its own --retention and --max-db-size)" : "");
		return EXIT_RUNTIME;
	}
	w = storage_writer__new(db);
	if (!w) {
		err = -errno;
		fprintf(stderr, "ember db prune: cannot load %s: %s\n", path,
			storage_strerror(err));
		storage__close(db);
		return EXIT_RUNTIME;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	/* No time budget: everything due is done before it returns. */
	err =
	    storage_writer__maintain(w, p, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec, 0, &st);
	storage_writer__free(w);
	storage__close(db);
	if (err) {
		fprintf(stderr, "ember db prune: %s: %s\n", path, storage_strerror(err));
		return EXIT_RUNTIME;
	}
	human_bytes(freed, sizeof(freed), (double)st.freed_bytes);
	printf("%s: %llu blocks deleted, %llu rolled up to per-minute counts, %llu flushes "
	       "merged, %llu chunks merged, %llu rows pruned, %s given back\n",
	       path, (unsigned long long)st.deleted_blocks, (unsigned long long)st.rolled_up_blocks,
	       (unsigned long long)st.merged_blocks, (unsigned long long)st.merged_chunks,
	       (unsigned long long)st.pruned_rows, freed);
	return 0;
}

/* Opens for reading; a database of an older schema is upgraded first when we may write it. */
static struct storage *open_read(const char *cmd, const char *path)
{
	struct storage *db = storage__open(path, STORAGE_READ);
	int err = db ? 0 : -errno;

	if (err == -EPROTO || err == -EROFS) {
		/* Opening it for writing once upgrades it (and makes its -wal and -shm). */
		struct storage *w = storage__open(path, STORAGE_WRITE);

		if (w) {
			storage__close(w);
			db = storage__open(path, STORAGE_READ);
			err = db ? 0 : -errno;
		}
	}
	if (!db)
		fprintf(stderr, "ember db %s: cannot open the database %s: %s\n", cmd, path,
			storage_strerror(err));
	return db;
}

int cmd_db(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'D' },
		{ "retention", required_argument, NULL, 'R' },
		{ "max-db-size", required_argument, NULL, 'M' },
		{ "rollup-after", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct storage_policy policy = { 0 };
	const char *path = NULL, *cmd;
	char dbbuf[4096];
	struct storage *db;
	double secs;
	int c, ret;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	cmd = argv[1];
	if (strcmp(cmd, "info") && strcmp(cmd, "check") && strcmp(cmd, "prune"))
		return cli_usage_error("db", "unknown command '%s' (info, check, prune)", cmd);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'D':
			path = optarg;
			break;
		case 'R':
			if (cli_parse_seconds(optarg, &secs))
				return cli_usage_error("db", "--retention: '%s' is not a duration",
						       optarg);
			policy.retention_ns = (int64_t)(secs * 1e9);
			break;
		case 'M':
			if (cli_parse_size(optarg, &policy.max_bytes))
				return cli_usage_error("db", "--max-db-size: '%s' is not a size",
						       optarg);
			break;
		case 'U':
			if (!strcmp(optarg, "0"))
				policy.rollup_after_ns = -1;
			else if (cli_parse_seconds(optarg, &secs))
				return cli_usage_error(
				    "db", "--rollup-after: '%s' is not a duration", optarg);
			else
				policy.rollup_after_ns = (int64_t)(secs * 1e9);
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			return cli_usage_error("db", "option '%s' needs a value", argv[optind]);
		default:
			return cli_usage_error("db", "unknown option '%s'", argv[optind]);
		}
	}
	if (optind + 1 < argc)
		return cli_usage_error("db", "unexpected argument '%s'", argv[optind + 1]);
	if (strcmp(cmd, "prune") &&
	    (policy.retention_ns || policy.max_bytes || policy.rollup_after_ns))
		return cli_usage_error("db", "--retention, --max-db-size and --rollup-after are "
					     "options of prune");
	if (!path)
		path = cli_default_db(!strcmp(cmd, "prune") ? CLI_DB_WRITE : CLI_DB_READ, dbbuf,
				      sizeof(dbbuf));
	if (!strcmp(cmd, "prune"))
		return db_prune(path, &policy);
	db = open_read(cmd, path);
	if (!db)
		return EXIT_RUNTIME;
	ret = !strcmp(cmd, "info") ? db_info(db, path) : db_check(db, path);
	storage__close(db);
	return ret;
}
