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

/* One parse of the config file and the command line. */
struct record_config {
	struct collector_opts opts;
	uint32_t pids[RECORD_MAX_PIDS];
	char *db; /* owned; NULL: the default database */
	bool verbose;
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
}

static void config_fini(struct record_config *c)
{
	free(c->db);
	c->db = NULL;
}

/* Fills the fields that follow from the parsed values. */
static void config_finish(struct record_config *c)
{
	c->opts.db_path = c->db ? c->db : cli_default_db(CLI_DB_WRITE, c->dbbuf, sizeof(c->dbbuf));
}

int record_check_config(const char *path, char *db, size_t dblen, char *why, size_t len)
{
	struct record_config *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	config_init(c);
	err = options_read_config(&record_cmd, path, c, why, len);
	if (!err) {
		config_finish(c);
		snprintf(db, dblen, "%s", c->opts.db_path);
	}
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

	config_fini(next);
	config_init(next);
	if (options_parse(&record_cmd, r->argc, r->argv, next, NULL))
		return NULL; /* the reason is logged; the running configuration stays */
	config_finish(next);
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
	config_finish(cfg);
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
	if (!r.slots[r.cur].opts.quiet)
		print_summary(&sum, sum.freq);
	ret = 0;
out:
	config_fini(&r.slots[0]);
	config_fini(&r.slots[1]);
	return ret;
}
