// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `ember export`: a slice of history in a format other tools read (export/). Output to a file
 * goes to a temporary file beside it, renamed into place only when complete, so a failed export
 * never leaves a partial file under the requested name.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/export.h"
#include "export/svg.h"
#include "profiler/cli.h"
#include "profiler/cmd.h"
#include "profiler/progress.h"
#include "profiler/slice.h"
#include "storage/query.h"
#include "storage/storage.h"

static const char usage_head[] = "Usage: ember export [options]\n"
				 "\n"
				 "Writes the samples of a time range as a profile.\n"
				 "\n"
				 "Options:\n"
				 "  -f, --format F     output format (default: folded):\n";

static const char usage_tail[] =
    "      --db PATH      database to read (default: as for `ember record`)\n" SLICE_HELP
    "  -o, --output F     write to file F (default: standard output; '-' also means it)\n"
    "folded and svg:\n"
    "      --show-pid     first frame \"comm-PID\"\n"
    "      --show-tid     first frame \"comm-PID/TID\"\n"
    "      --mark-inlined inlined frames end in \"_[i]\"\n"
    "svg:\n"
    "      --title T      the title\n"
    "      --width PX     the width in pixels (default 1200)\n"
    "      --colors P     palette: hot (default), mem, io, red, green, blue, aqua, yellow,\n"
    "                     purple, orange\n"
    "      --reverse      icicle graph: the root at the top (also --inverted)\n"
    "      --diff         differential flame graph of this range against a base range (red\n"
    "                     grew, blue shrank); the base is this slice with:\n" SLICE_DIFF_HELP
    "  -h, --help         this text\n"
    "\n" SLICE_TIME_HELP "\n"
    "Examples:\n"
    "  ember export --from -10m | flamegraph.pl > cpu.svg\n"
    "  ember export --format svg --from -10m -o cpu.svg\n"
    "  ember export --format pprof --pid 4242 -o app.pb.gz && go tool pprof -top app.pb.gz\n"
    "  ember export --format svg --diff --base-from -2h --base-to -1h --from -1h -o diff.svg\n";

static void print_usage(void)
{
	fputs(usage_head, stdout);
	for (size_t i = 0; export_formats[i]; i++)
		printf("                       %-12s %s\n", export_formats[i]->name,
		       export_formats[i]->summary);
	fputs(usage_tail, stdout);
}

enum {
	OPT_DB = 0x2000,
	OPT_SHOW_PID,
	OPT_SHOW_TID,
	OPT_MARK_INLINED,
	OPT_TITLE,
	OPT_WIDTH,
	OPT_COLORS,
	OPT_REVERSE,
};

/* The command line, for the profile's metadata. */
static char *join_args(int argc, char **argv)
{
	size_t len = strlen("ember ") + 1;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	strcpy(s, "ember");
	for (int i = 0; i < argc; i++) {
		strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

int cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "db", required_argument, NULL, OPT_DB },
		SLICE_LONGOPTS,
		{ "output", required_argument, NULL, 'o' },
		{ "show-pid", no_argument, NULL, OPT_SHOW_PID },
		{ "show-tid", no_argument, NULL, OPT_SHOW_TID },
		{ "mark-inlined", no_argument, NULL, OPT_MARK_INLINED },
		{ "title", required_argument, NULL, OPT_TITLE },
		{ "width", required_argument, NULL, OPT_WIDTH },
		{ "colors", required_argument, NULL, OPT_COLORS },
		{ "reverse", no_argument, NULL, OPT_REVERSE },
		{ "inverted", no_argument, NULL, OPT_REVERSE },
		SLICE_DIFF_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct slice slice = { 0 }, base = { 0 };
	struct slice_diff sd = { 0 };
	struct export_options opt = { 0 };
	struct export_job job = { .opt = &opt };
	const struct export_format *fmt;
	const char *db_path = NULL, *output = NULL, *format = "folded";
	int64_t now_ns = slice_now_ns();
	char dbbuf[4096], *tmp_path = NULL, *command = NULL, *resolved = NULL;
	struct stat st;
	struct storage_reader *reader = NULL;
	struct progress *bar = NULL;
	struct storage *db = NULL;
	bool palette_ok = false;
	FILE *out = stdout;
	unsigned long v;
	int c, r, err, ret = EXIT_USAGE;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:p:o:h", longopts, NULL)) != -1) {
		r = slice_option(&slice, "export", c, optarg, now_ns);

		if (r == 1)
			r = slice_diff_option(&sd, "export", c, optarg, now_ns);

		if (r == 0)
			continue;
		if (r != 1)
			goto out;
		switch (c) {
		case 'f':
			format = optarg;
			break;
		case OPT_DB:
			db_path = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case OPT_SHOW_PID:
			opt.show_pid = true;
			break;
		case OPT_SHOW_TID:
			opt.show_tid = true;
			break;
		case OPT_MARK_INLINED:
			opt.mark_inlined = true;
			break;
		case OPT_TITLE:
			opt.title = optarg;
			break;
		case OPT_WIDTH:
			if (cli_parse_uint(optarg, 100, 100000, &v)) {
				cli_usage_error("export",
						"--width: '%s' is not a width from 100 to "
						"100000 pixels",
						optarg);
				goto out;
			}
			opt.width = (unsigned int)v;
			break;
		case OPT_COLORS:
			opt.colors = optarg;
			break;
		case OPT_REVERSE:
			opt.reverse = true;
			break;
		case 'h':
			print_usage();
			ret = 0;
			goto out;
		case ':':
			cli_usage_error("export", "option '%s' needs a value", argv[optind - 1]);
			goto out;
		default:
			cli_usage_error("export", "unknown option '%s'", argv[optind - 1]);
			goto out;
		}
	}
	if (optind < argc) {
		cli_usage_error("export", "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	fmt = export_format_find(format);
	if (!fmt) {
		char known[256] = "";

		for (size_t i = 0; export_formats[i]; i++)
			snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
				 i ? ", " : "", export_formats[i]->name);
		cli_usage_error("export", "unknown format '%s' (known: %s)", format, known);
		goto out;
	}
	for (size_t i = 0; export_svg_palettes[i]; i++)
		palette_ok |= opt.colors && !strcmp(opt.colors, export_svg_palettes[i]);
	if (opt.colors && !palette_ok) {
		cli_usage_error("export", "--colors: unknown palette '%s'", opt.colors);
		goto out;
	}
	if (sd.on && !fmt->diff) {
		cli_usage_error("export",
				"--diff: the %s format has no differential form (svg has)",
				fmt->name);
		goto out;
	}
	if (slice_check(&slice, "export"))
		goto out;
	r = slice_diff_base(&sd, "export", &slice, &base);
	if (r) {
		ret = r;
		goto out;
	}
	if (sd.on)
		job.base = &base.f;
	ret = EXIT_RUNTIME;
	if (!db_path)
		db_path = cli_default_db(CLI_DB_READ, dbbuf, sizeof(dbbuf));
	command = join_args(argc, argv);
	opt.command = command;

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
	if (output && strcmp(output, "-") && !stat(output, &st) && !S_ISREG(st.st_mode)) {
		/* A device or a FIFO (-o /dev/null, a named pipe) is written in place: renaming a
		 * file over it would replace the device node. */
		out = fopen(output, "w");
		if (!out) {
			fprintf(stderr, "ember export: cannot write %s: %s\n", output,
				strerror(errno));
			goto out;
		}
	} else if (output && strcmp(output, "-")) {
		int fd;

		/* Through a symlink, the file it names is replaced, not the link. */
		resolved = realpath(output, NULL);
		if (resolved)
			output = resolved;
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
	} else if (!strcmp(fmt->name, "pprof") && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "ember export: pprof is binary; name a file with -o, or pipe it\n");
		out = NULL;
		goto out;
	}
	bar = progress__new("ember export");
	job.reader = reader;
	job.filter = &slice.f;
	job.progress = bar ? progress__update : NULL;
	job.progress_ctx = bar;
	err = fmt->write(out, &job);
	progress__free(bar);
	if (!err && fflush(out))
		err = -errno;
	if (err == -ENODATA)
		fprintf(stderr,
			"ember export: no samples match in %s for this %srange and filter\n",
			db_path, sd.on && job.nsamples ? "base " : "");
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
	free(resolved);
	free(command);
	storage_reader__free(reader);
	storage__close(db);
	slice_free(&slice);
	slice_free(&base);
	slice_diff_free(&sd);
	return ret;
}
