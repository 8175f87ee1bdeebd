// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `ember export`: a slice of history in a format other tools read. Output to a file goes to a
 * temporary file beside it, renamed into place only when complete, so a failed export never
 * leaves a partial file under the requested name.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "profiler/cli.h"
#include "profiler/cmd.h"
#include "profiler/folded.h"
#include "storage/query.h"
#include "storage/storage.h"

#define EXPORT_MAX_PIDS 1024

static const char usage[] =
    "Usage: ember export [options]\n"
    "\n"
    "Writes the samples of a time range as a profile.\n"
    "\n"
    "Options:\n"
    "  -f, --format F   output format: folded (flamegraph.pl's input; the default)\n"
    "      --db PATH    database to read (default: as for `ember record`)\n"
    "      --from T     start of the range (default: the first sample)\n"
    "      --to T       end of the range (default: the last sample)\n"
    "  -p, --pid PID    only this process (repeatable)\n"
    "      --comm NAME  only threads with this command name\n"
    "  -o, --output F   write to file F (default: standard output; '-' also means it)\n"
    "  -h, --help       this text\n"
    "\n"
    "Times: now, -30s, -10m, -2h, -1d (relative), @1733550000 (epoch seconds),\n"
    "2026-12-07T10:00:00, 2026-12-07 10:00, 10:00 (local time; add Z for UTC).\n"
    "\n"
    "Example: ember export --from -10m | flamegraph.pl > cpu.svg\n";

int cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "db", required_argument, NULL, 'D' },
		{ "from", required_argument, NULL, 'A' },
		{ "to", required_argument, NULL, 'B' },
		{ "pid", required_argument, NULL, 'p' },
		{ "comm", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static uint32_t pids[EXPORT_MAX_PIDS];
	struct storage_filter filter = { .pids = pids };
	const char *db_path = NULL, *output = NULL, *format = "folded";
	char dbbuf[4096], *tmp_path = NULL;
	struct storage_reader *reader = NULL;
	struct storage *db = NULL;
	unsigned long long nsamples = 0;
	struct timespec now;
	int64_t now_ns;
	FILE *out = stdout;
	unsigned long v;
	int c, err, ret = EXIT_RUNTIME;

	clock_gettime(CLOCK_REALTIME, &now);
	now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:p:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			format = optarg;
			break;
		case 'D':
			db_path = optarg;
			break;
		case 'A':
			if (cli_parse_time(optarg, now_ns, &filter.from_ns))
				return cli_usage_error("export", "--from: '%s' is not a time",
						       optarg);
			break;
		case 'B':
			if (cli_parse_time(optarg, now_ns, &filter.to_ns))
				return cli_usage_error("export", "--to: '%s' is not a time",
						       optarg);
			break;
		case 'p':
			if (cli_parse_uint(optarg, 0, INT_MAX, &v))
				return cli_usage_error("export", "--pid: '%s' is not a process id",
						       optarg);
			if (filter.npids == EXPORT_MAX_PIDS)
				return cli_usage_error("export", "too many --pid options");
			pids[filter.npids++] = (uint32_t)v;
			break;
		case 'c':
			filter.comm = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			return cli_usage_error("export", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("export", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("export", "unexpected argument '%s'", argv[optind]);
	if (strcmp(format, "folded"))
		return cli_usage_error("export", "unknown format '%s' (known: folded)", format);
	if (filter.from_ns && filter.to_ns && filter.to_ns <= filter.from_ns)
		return cli_usage_error("export", "the range is empty: --to is not after --from");
	if (!db_path)
		db_path = cli_default_db(CLI_DB_READ, dbbuf, sizeof(dbbuf));

	db = storage__open(db_path, STORAGE_READ);
	if (!db) {
		fprintf(stderr, "ember export: cannot open the database %s: %s\n", db_path,
			storage_strerror(errno));
		goto out;
	}
	reader = storage_reader__new(db);
	if (!reader) {
		fprintf(stderr, "ember export: cannot read %s: %s\n", db_path, storage__errmsg(db));
		goto out;
	}
	if (output && strcmp(output, "-")) {
		int fd;

		if (asprintf(&tmp_path, "%s.tmp.XXXXXX", output) < 0) {
			tmp_path = NULL;
			goto out;
		}
		fd = mkstemp(tmp_path);
		if (fd < 0 || !(out = fdopen(fd, "w"))) {
			fprintf(stderr, "ember export: cannot write %s: %s\n", output,
				strerror(errno));
			if (fd >= 0)
				close(fd);
			out = NULL;
			free(tmp_path);
			tmp_path = NULL;
			goto out;
		}
	}
	err = folded_write(out, reader, &filter, &nsamples);
	if (!err && fflush(out))
		err = -errno;
	if (err == -ENODATA)
		fprintf(stderr, "ember export: no samples match in %s for this range and filter\n",
			db_path);
	else if (err)
		fprintf(stderr, "ember export: %s: %s\n", output ? output : "stdout",
			storage_strerror(err));
	if (tmp_path) {
		if (fclose(out) && !err)
			err = -errno;
		out = NULL;
		if (!err && rename(tmp_path, output)) {
			err = -errno;
			fprintf(stderr, "ember export: cannot write %s: %s\n", output,
				strerror(-err));
		}
		if (err)
			unlink(tmp_path);
	}
	if (!err)
		ret = 0;
out:
	if (out && out != stdout)
		fclose(out);
	free(tmp_path);
	storage_reader__free(reader);
	storage__close(db);
	return ret;
}
