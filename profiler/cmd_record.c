// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `ember record`: sample every CPU into the database until the duration ends or a signal. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profiler/cli.h"
#include "profiler/cmd.h"
#include "profiler/collector.h"
#include "profiler/log.h"

#define RECORD_DEFAULT_FREQ 19
#define RECORD_MAX_PIDS 1024
#define RECORD_DEFAULT_STACK_COPY 16384
#define RECORD_MIN_STACK_COPY 64

static const char usage[] =
    "Usage: ember record [options]\n"
    "\n"
    "Samples the kernel and user stacks of every CPU and writes them to the database.\n"
    "Runs until --duration ends, or until SIGINT (Ctrl-C) or SIGTERM.\n"
    "\n"
    "Options:\n"
    "  --db PATH         database file (default: /var/lib/ember/ember.db as root,\n"
    "                    else $XDG_STATE_HOME/ember/ember.db)\n"
    "  -F, --freq HZ     samples per second per CPU, 1 to 1000 (default 19)\n"
    "  -d, --duration T  stop after T (seconds, or with a unit: 30s, 5m, 1h)\n"
    "  -p, --pid PID     only sample this process (repeat, or give a comma-separated list)\n"
    "      --unwind M    how user stacks are found: dwarf (from the binaries' call-frame\n"
    "                    information, over a copy of the top of the user stack), fp (frame\n"
    "                    pointers, which Debian's binaries lack), or auto (the default:\n"
    "                    dwarf, and frame pointers for code without call-frame information)\n"
    "      --stack-copy B bytes of user stack copied per sample for dwarf and auto, 64 to\n"
    "                    65536, with a unit if you like (16k; default 16384). Deeper stacks\n"
    "                    are cut where the copy ends, and reported as truncated\n"
    "  --symbol-cache-mb N  bound of the symbol caches (parsed debug info and resolved\n"
    "                    addresses), in MiB; least recently used evicted (default 256)\n"
    "  --debuginfod      fetch missing debug info from $DEBUGINFOD_URLS, in the background\n"
    "  -q, --quiet       no summary at exit\n"
    "  -v, --verbose     debug messages, including libbpf's\n"
    "  -h, --help        this text\n";

static int add_pids(const char *arg, uint32_t *pids, size_t *npids)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		unsigned long v;

		if (cli_parse_uint(tok, 1, INT_MAX, &v))
			err = -EINVAL;
		else if (*npids >= RECORD_MAX_PIDS)
			err = -E2BIG;
		else
			pids[(*npids)++] = (uint32_t)v;
	}
	if (!tok && !*npids)
		err = -EINVAL;
	free(copy);
	return err;
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
	fprintf(stderr,
		"ember: %llu user stacks (%s): %llu complete (%.1f %%), %llu truncated (%.1f %%), "
		"%llu no unwind info (%.1f %%), %llu bad frame (%.1f %%)\n",
		(unsigned long long)total, how, (unsigned long long)st[STORAGE_STACK_COMPLETE],
		share(st[STORAGE_STACK_COMPLETE], total),
		(unsigned long long)st[STORAGE_STACK_TRUNCATED],
		share(st[STORAGE_STACK_TRUNCATED], total),
		(unsigned long long)st[STORAGE_STACK_NO_UNWIND_INFO],
		share(st[STORAGE_STACK_NO_UNWIND_INFO], total),
		(unsigned long long)st[STORAGE_STACK_BAD_FRAME],
		share(st[STORAGE_STACK_BAD_FRAME], total));
}

static void print_summary(const struct collector_summary *s, unsigned int freq)
{
	uint64_t dropped =
	    s->filtered + s->ringbuf_full + s->bpf_errors + s->ingest_errors + s->write_errors;

	fprintf(stderr,
		"ember: %llu samples in %.1f s at %u Hz on %u CPUs (%s): %llu stored, %llu dropped "
		"(ring buffer full %llu, filtered %llu, errors %llu, write errors %llu)\n",
		(unsigned long long)s->delivered, s->seconds, freq, s->ncpus, s->event,
		(unsigned long long)s->stored, (unsigned long long)dropped,
		(unsigned long long)s->ringbuf_full, (unsigned long long)s->filtered,
		(unsigned long long)(s->bpf_errors + s->ingest_errors),
		(unsigned long long)s->write_errors);
}

int cmd_record(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'D' },
		{ "freq", required_argument, NULL, 'F' },
		{ "duration", required_argument, NULL, 'd' },
		{ "pid", required_argument, NULL, 'p' },
		{ "unwind", required_argument, NULL, 'U' },
		{ "stack-copy", required_argument, NULL, 'S' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "symbol-cache-mb", required_argument, NULL, 'M' },
		{ "debuginfod", no_argument, NULL, 'I' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct collector_opts opts = { 0 };
	struct collector_summary sum;
	static uint32_t pids[RECORD_MAX_PIDS];
	char dbbuf[4096], why[512];
	bool copy_given = false;
	unsigned long v;
	int c, err;

	opts.sampler.freq = RECORD_DEFAULT_FREQ;
	opts.sampler.stack_copy = RECORD_DEFAULT_STACK_COPY;
	opts.unwind = UNWIND_MODE_AUTO;
	opts.sampler.pids = pids;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":F:d:p:qvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'D':
			opts.db_path = optarg;
			break;
		case 'F':
			if (cli_parse_uint(optarg, SAMPLER_FREQ_MIN, SAMPLER_FREQ_MAX, &v))
				return cli_usage_error("record",
						       "-F: '%s' is not a frequency from %d to %d "
						       "Hz",
						       optarg, SAMPLER_FREQ_MIN, SAMPLER_FREQ_MAX);
			opts.sampler.freq = (unsigned int)v;
			break;
		case 'd':
			if (cli_parse_seconds(optarg, &opts.duration_s))
				return cli_usage_error(
				    "record", "--duration: '%s' is not a duration", optarg);
			break;
		case 'p':
			if (add_pids(optarg, pids, &opts.sampler.npids))
				return cli_usage_error(
				    "record", "--pid: '%s' is not a process id (or list)", optarg);
			break;
		case 'U':
			if (!strcmp(optarg, "auto"))
				opts.unwind = UNWIND_MODE_AUTO;
			else if (!strcmp(optarg, "dwarf"))
				opts.unwind = UNWIND_MODE_DWARF;
			else if (!strcmp(optarg, "fp"))
				opts.unwind = UNWIND_MODE_FP;
			else
				return cli_usage_error(
				    "record", "--unwind: '%s' is not dwarf, fp or auto", optarg);
			break;
		case 'S':
			if (cli_parse_bytes(optarg, RECORD_MIN_STACK_COPY, EMBER_STACK_COPY_MAX,
					    &v))
				return cli_usage_error("record",
						       "--stack-copy: '%s' is not a size from %d "
						       "to %d "
						       "bytes",
						       optarg, RECORD_MIN_STACK_COPY,
						       EMBER_STACK_COPY_MAX);
			opts.sampler.stack_copy = (uint32_t)v;
			copy_given = true;
			break;
		case 'q':
			opts.quiet = true;
			break;
		case 'M':
			if (cli_parse_uint(optarg, 1, 1 << 20, &v))
				return cli_usage_error("record",
						       "--symbol-cache-mb: '%s' is not a size in "
						       "MiB",
						       optarg);
			opts.symbolizer.cache_bytes = (uint64_t)v << 20;
			break;
		case 'I':
			opts.symbolizer.debuginfod = true;
			break;
		case 'v':
			log_set_level(LOG_LVL_DEBUG);
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			return cli_usage_error("record", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("record", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("record", "unexpected argument '%s'", argv[optind]);
	if (copy_given && opts.unwind == UNWIND_MODE_FP)
		return cli_usage_error("record", "--stack-copy needs --unwind dwarf or auto");
	if (!opts.db_path)
		opts.db_path = cli_default_db(CLI_DB_WRITE, dbbuf, sizeof(dbbuf));

	err = sampler_preflight(why, sizeof(why));
	if (err) {
		fprintf(stderr, "ember record: %s\n", why);
		return EXIT_RUNTIME;
	}
	log_setup_libbpf();
	err = collector_run(&opts, &sum);
	if (err)
		return EXIT_RUNTIME;
	if (!opts.quiet) {
		print_summary(&sum, opts.sampler.freq);
		print_unwind_summary(&sum);
	}
	return 0;
}
