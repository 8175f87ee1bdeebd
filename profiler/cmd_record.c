// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `ember record`: sample every CPU into the database until the duration ends or a signal. Every
 * option is one line of record_options[]: that line makes it a flag, a key of the [record]
 * section of /etc/ember/ember.conf, and a line of --help (profiler/options.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiler/cli.h"
#include "profiler/cmd.h"
#include "profiler/collector.h"
#include "profiler/log.h"
#include "profiler/options.h"

#define RECORD_DEFAULT_FREQ 19
#define RECORD_MAX_PIDS 1024
#define RECORD_DEFAULT_STACK_COPY 16384
#define RECORD_MIN_STACK_COPY 64

/* One parse of the config file and the command line. */
struct record_config {
	struct collector_opts opts;
	uint32_t pids[RECORD_MAX_PIDS];
	char *db; /* owned; NULL: the default database */
	bool verbose;
	bool copy_given; /* --stack-copy was set: an error with --unwind fp */
	char dbbuf[4096];
};

static const char synopsis[] = "Usage: ember record [options]\n"
			       "\n"
			       "Samples the kernel and user stacks of every CPU and writes them to "
			       "the database.\n"
			       "Runs until --duration ends, or until SIGINT (Ctrl-C) or SIGTERM; "
			       "SIGHUP re-reads the\n"
			       "config file. Every option is also a key of the [record] section of "
			       "the config file.\n";

static int set_db(void *ctx, const char *v, char *why, size_t len)
{
	struct record_config *c = ctx;
	char *copy = strdup(v);

	if (!copy)
		return -ENOMEM;
	free(c->db);
	c->db = copy;
	return 0;
}

static int set_freq(void *ctx, const char *v, char *why, size_t len)
{
	struct record_config *c = ctx;
	unsigned long f;

	if (cli_parse_uint(v, SAMPLER_FREQ_MIN, SAMPLER_FREQ_MAX, &f)) {
		snprintf(why, len, "'%s' is not a frequency from %d to %d Hz", v, SAMPLER_FREQ_MIN,
			 SAMPLER_FREQ_MAX);
		return -EINVAL;
	}
	c->opts.sampler.freq = (unsigned int)f;
	return 0;
}

static int set_duration(void *ctx, const char *v, char *why, size_t len)
{
	struct record_config *c = ctx;

	if (cli_parse_seconds(v, &c->opts.duration_s)) {
		snprintf(why, len, "'%s' is not a duration", v);
		return -EINVAL;
	}
	return 0;
}

static int set_pid(void *ctx, const char *v, char *why, size_t len)
{
	struct record_config *c = ctx;
	char *copy, *tok, *save = NULL;
	int err = 0;

	if (!v) {
		c->opts.sampler.npids = 0;
		return 0;
	}
	copy = strdup(v);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		unsigned long pid;

		if (cli_parse_uint(tok, 1, INT_MAX, &pid))
			err = -EINVAL;
		else if (c->opts.sampler.npids >= RECORD_MAX_PIDS)
			err = -E2BIG;
		else
			c->pids[c->opts.sampler.npids++] = (uint32_t)pid;
	}
	if (!tok && !c->opts.sampler.npids)
		err = -EINVAL;
	free(copy);
	if (err == -E2BIG)
		snprintf(why, len, "more than %d processes", RECORD_MAX_PIDS);
	else if (err)
		snprintf(why, len, "'%s' is not a process id (or list)", v);
	return err ? -EINVAL : 0;
}

static int set_max_cpu(void *ctx, const char *v, char *why, size_t len)
{
	struct record_config *c = ctx;
	char *end;
	double pct = strtod(v, &end);

	if (end == v || (*end && strcmp(end, "%")) || !(pct > 0 && pct <= 100)) {
		snprintf(why, len, "'%s' is not a percentage above 0 and at most 100", v);
		return -EINVAL;
	}
	c->opts.max_cpu = pct;
	return 0;
}

static int set_symbol_cache_mb(void *ctx, const char *v, char *why, size_t len)
{
	struct record_config *c = ctx;
	unsigned long mb;

	if (cli_parse_uint(v, 1, 1 << 20, &mb)) {
		snprintf(why, len, "'%s' is not a size in MiB", v);
		return -EINVAL;
	}
	c->opts.symbolizer.cache_bytes = (uint64_t)mb << 20;
	return 0;
}

static int set_unwind(void *ctx, const char *v, char *why, size_t len)
{
	struct record_config *c = ctx;

	if (!strcmp(v, "auto"))
		c->opts.unwind = UNWIND_MODE_AUTO;
	else if (!strcmp(v, "dwarf"))
		c->opts.unwind = UNWIND_MODE_DWARF;
	else if (!strcmp(v, "fp"))
		c->opts.unwind = UNWIND_MODE_FP;
	else {
		snprintf(why, len, "'%s' is not dwarf, fp or auto", v);
		return -EINVAL;
	}
	return 0;
}

static int set_stack_copy(void *ctx, const char *v, char *why, size_t len)
{
	struct record_config *c = ctx;
	unsigned long b;

	if (cli_parse_bytes(v, RECORD_MIN_STACK_COPY, EMBER_STACK_COPY_MAX, &b)) {
		snprintf(why, len, "'%s' is not a size from %d to %d bytes", v,
			 RECORD_MIN_STACK_COPY, EMBER_STACK_COPY_MAX);
		return -EINVAL;
	}
	c->opts.sampler.stack_copy = (uint32_t)b;
	c->copy_given = true;
	return 0;
}

static int set_retention(void *ctx, const char *v, char *why, size_t len)
{
	struct record_config *c = ctx;
	double secs;

	if (cli_parse_seconds(v, &secs)) {
		snprintf(why, len, "'%s' is not a duration", v);
		return -EINVAL;
	}
	c->opts.policy.retention_ns = (int64_t)(secs * 1e9);
	return 0;
}

static int set_max_db_size(void *ctx, const char *v, char *why, size_t len)
{
	struct record_config *c = ctx;

	if (cli_parse_size(v, &c->opts.policy.max_bytes)) {
		snprintf(why, len, "'%s' is not a size", v);
		return -EINVAL;
	}
	return 0;
}

static int set_rollup_after(void *ctx, const char *v, char *why, size_t len)
{
	struct record_config *c = ctx;
	double secs;

	if (!strcmp(v, "0")) {
		c->opts.policy.rollup_after_ns = -1;
		return 0;
	}
	if (cli_parse_seconds(v, &secs)) {
		snprintf(why, len, "'%s' is not a duration", v);
		return -EINVAL;
	}
	c->opts.policy.rollup_after_ns = (int64_t)(secs * 1e9);
	return 0;
}

static int set_max_pending(void *ctx, const char *v, char *why, size_t len)
{
	struct record_config *c = ctx;
	unsigned long n;

	if (cli_parse_uint(v, 1, 1ul << 32, &n)) {
		snprintf(why, len, "'%s' is not a count", v);
		return -EINVAL;
	}
	c->opts.max_pending = n;
	return 0;
}

static int set_debuginfod(void *ctx, const char *v, char *why, size_t len);

static int set_bool(bool *b, const char *v, char *why, size_t len)
{
	if (options_parse_bool(v, b)) {
		snprintf(why, len, "'%s' is not true or false", v);
		return -EINVAL;
	}
	return 0;
}

static int set_quiet(void *ctx, const char *v, char *why, size_t len)
{
	return set_bool(&((struct record_config *)ctx)->opts.quiet, v, why, len);
}

static int set_verbose(void *ctx, const char *v, char *why, size_t len)
{
	return set_bool(&((struct record_config *)ctx)->verbose, v, why, len);
}

static int set_cmdline(void *ctx, const char *v, char *why, size_t len)
{
	return set_bool(&((struct record_config *)ctx)->opts.cmdline, v, why, len);
}

static int set_debuginfod(void *ctx, const char *v, char *why, size_t len)
{
	return set_bool(&((struct record_config *)ctx)->opts.symbolizer.debuginfod, v, why, len);
}

/* The one table of record's options: a new option is one line here (and its set function). */
static const struct option_spec record_options[] = {
	{ "db", 0, "PATH", 0, set_db,
	  "database file (default: /var/lib/ember/ember.db as root,\nelse "
	  "$XDG_STATE_HOME/ember/ember.db)" },
	{ "freq", 'F', "HZ", 0, set_freq, "samples per second per CPU, 1 to 1000 (default 19)" },
	{ "duration", 'd', "T", 0, set_duration,
	  "stop after T (seconds, or with a unit: 30s, 5m, 1h)" },
	{ "pid", 'p', "PID", OPTION_LIST, set_pid,
	  "only sample this process (repeat, or give a comma-separated\nlist)" },
	{ "unwind", 0, "MODE", 0, set_unwind,
	  "how user stacks are found: dwarf (from the binaries' call-frame\ninformation, over a "
	  "copy "
	  "of the top of the user stack), fp (frame\npointers, which Debian's binaries lack), or "
	  "auto "
	  "(the default:\ndwarf, and frame pointers for code without call-frame information)" },
	{ "stack-copy", 0, "BYTES", 0, set_stack_copy,
	  "bytes of user stack copied per sample for dwarf and auto, 64 to\n65536, with a unit if "
	  "you like (16k; default 16384). Deeper stacks\nare cut where the copy ends, and reported "
	  "as truncated" },
	{ "retention", 0, "T", 0, set_retention,
	  "delete history older than T (30m, 12h, 7d; default: keep it all)" },
	{ "max-db-size", 0, "N", 0, set_max_db_size,
	  "keep the database under N bytes (K, M, G: 500M, 2G), deleting the\noldest history "
	  "first" },
	{ "rollup-after", 0, "T", 0, set_rollup_after,
	  "keep history older than T as per-minute counts (default 1d, 0: never)" },
	{ "cmdline", 0, NULL, 0, set_cmdline,
	  "store each process's command line (off by default: command lines\ncan hold secrets, and "
	  "the database is readable by its group)" },
	{ "max-pending", 0, "N", 0, set_max_pending,
	  "samples kept in memory while the database refuses writes (a full\ndisk), beyond which "
	  "they are dropped and counted (default 2000000)" },
	{ "max-cpu", 0, "PERCENT", 0, set_max_cpu,
	  "lower the sampling rate when ember's own CPU time exceeds\nPERCENT of one CPU" },
	{ "symbol-cache-mb", 0, "N", 0, set_symbol_cache_mb,
	  "bound of the symbol caches (parsed debug info and resolved\naddresses), in MiB; least "
	  "recently used evicted (default 256)" },
	{ "debuginfod", 0, NULL, 0, set_debuginfod,
	  "fetch missing debug info from $DEBUGINFOD_URLS, in the background" },
	{ "quiet", 'q', NULL, 0, set_quiet, "no summary at exit" },
	{ "verbose", 'v', NULL, 0, set_verbose, "debug messages, including libbpf's" },
};

static const struct options record_cmd = {
	.cmd = "record",
	.synopsis = synopsis,
	.specs = record_options,
	.nspecs = sizeof(record_options) / sizeof(record_options[0]),
	.section = "record",
};

static void config_init(struct record_config *c)
{
	memset(c, 0, sizeof(*c));
	c->opts.sampler.freq = RECORD_DEFAULT_FREQ;
	c->opts.sampler.pids = c->pids;
	c->opts.sampler.stack_copy = RECORD_DEFAULT_STACK_COPY;
	c->opts.unwind = UNWIND_MODE_AUTO;
}

static void config_fini(struct record_config *c)
{
	free(c->db);
	c->db = NULL;
}

/* Checks the values together and fills the fields that follow from them. 0 or -EINVAL. */
static int config_finish(struct record_config *c, char *why, size_t len)
{
	if (c->copy_given && c->opts.unwind == UNWIND_MODE_FP) {
		snprintf(why, len, "--stack-copy needs --unwind dwarf or auto");
		return -EINVAL;
	}
	c->opts.db_path = c->db ? c->db : cli_default_db(CLI_DB_WRITE, c->dbbuf, sizeof(c->dbbuf));
	return 0;
}

int record_check_config(const char *path, char *db, size_t dblen, char *why, size_t len)
{
	struct record_config *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	config_init(c);
	err = options_read_config(&record_cmd, path, c, why, len);
	if (!err)
		err = config_finish(c, why, len);
	if (!err)
		snprintf(db, dblen, "%s", c->opts.db_path);
	config_fini(c);
	free(c);
	return err;
}

/* SIGHUP: the config file and the original command line, parsed again into the spare slot. */
struct record_reload {
	struct record_config slots[2];
	int cur;
	int argc;
	char **argv;
};

static const struct collector_opts *reload_config(void *arg)
{
	struct record_reload *r = arg;
	struct record_config *next = &r->slots[!r->cur];
	char why[256];

	config_fini(next);
	config_init(next);
	if (options_parse(&record_cmd, r->argc, r->argv, next, NULL))
		return NULL; /* the reason is logged; the running configuration stays */
	if (config_finish(next, why, sizeof(why))) {
		log_error("%s", why);
		return NULL;
	}
	next->opts.reload = reload_config;
	next->opts.reload_arg = r;
	log_set_level(next->verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	r->cur = !r->cur;
	return &next->opts;
}

static void print_summary(const struct collector_summary *s, unsigned int freq)
{
	uint64_t dropped =
	    s->filtered + s->ringbuf_full + s->bpf_errors + s->ingest_errors + s->write_errors;

	log_info("%llu samples in %.1f s at %u Hz on %u CPUs (%s): %llu stored, %llu dropped "
		 "(ring buffer full %llu, filtered %llu, errors %llu, write errors %llu)",
		 (unsigned long long)s->delivered, s->seconds, freq, s->ncpus, s->event,
		 (unsigned long long)s->stored, (unsigned long long)dropped,
		 (unsigned long long)s->ringbuf_full, (unsigned long long)s->filtered,
		 (unsigned long long)(s->bpf_errors + s->ingest_errors),
		 (unsigned long long)s->write_errors);
}

static double share(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* The second summary line: how the user stacks of the stored samples ended. */
static void print_unwind_summary(const struct collector_summary *s)
{
	const uint64_t *st = s->stack_status;
	uint64_t total = st[STORAGE_STACK_COMPLETE] + st[STORAGE_STACK_TRUNCATED] +
			 st[STORAGE_STACK_NO_UNWIND_INFO] + st[STORAGE_STACK_BAD_FRAME];
	char how[64];

	if (s->unwind == UNWIND_MODE_FP)
		snprintf(how, sizeof(how), "frame pointers");
	else
		snprintf(how, sizeof(how), "%s, %u-byte stack copies",
			 s->unwind == UNWIND_MODE_DWARF ? "dwarf" : "auto", s->stack_copy);
	log_info("%llu user stacks (%s): %llu complete (%.1f %%), %llu truncated (%.1f %%), %llu "
		 "no unwind info (%.1f %%), %llu bad frame (%.1f %%)",
		 (unsigned long long)total, how, (unsigned long long)st[STORAGE_STACK_COMPLETE],
		 share(st[STORAGE_STACK_COMPLETE], total),
		 (unsigned long long)st[STORAGE_STACK_TRUNCATED],
		 share(st[STORAGE_STACK_TRUNCATED], total),
		 (unsigned long long)st[STORAGE_STACK_NO_UNWIND_INFO],
		 share(st[STORAGE_STACK_NO_UNWIND_INFO], total),
		 (unsigned long long)st[STORAGE_STACK_BAD_FRAME],
		 share(st[STORAGE_STACK_BAD_FRAME], total));
}

int cmd_record(int argc, char **argv)
{
	static struct record_reload r;
	struct record_config *cfg = &r.slots[0];
	struct collector_summary sum;
	char why[512];
	int err, ret;

	config_init(&r.slots[0]);
	config_init(&r.slots[1]);
	r.argc = argc;
	r.argv = argv;
	err = options_parse(&record_cmd, argc, argv, cfg, NULL);
	if (err) {
		ret = options_exit_code(err);
		goto out;
	}
	if (config_finish(cfg, why, sizeof(why))) {
		ret = cli_usage_error("record", "%s", why);
		goto out;
	}
	log_set_level(cfg->verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	cfg->opts.reload = reload_config;
	cfg->opts.reload_arg = &r;

	err = sampler_preflight(why, sizeof(why));
	if (err) {
		log_error("%s", why);
		ret = EXIT_RUNTIME;
		goto out;
	}
	log_setup_libbpf();
	err = collector_run(&cfg->opts, &sum);
	if (err) {
		ret = EXIT_RUNTIME;
		goto out;
	}
	if (!r.slots[r.cur].opts.quiet) {
		print_summary(&sum, sum.freq);
		print_unwind_summary(&sum);
	}
	ret = 0;
out:
	config_fini(&r.slots[0]);
	config_fini(&r.slots[1]);
	return ret;
}
