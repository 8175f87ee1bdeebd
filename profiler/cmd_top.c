// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `ember top`: the TUI over the database. When a collector writes the database, top follows it.
 * When none does and this process may record, it starts one in-process: a forked child running
 * collector_run() into the database, its own process group (so ^C and ^Z at the terminal reach
 * only the TUI) with SIGTERM sent when the TUI's process dies (PR_SET_PDEATHSIG), and its stderr
 * on a pipe that the TUI shows on its status line instead of letting it scribble on the screen.
 * A child rather than a thread: collector_run blocks SIGINT/SIGTERM and reads them from a
 * signalfd, which in one process would race with the TUI's own handlers, and the privileged
 * sampling stays apart from the code that draws. Without a collector and without the privilege
 * to record, top shows the history the database holds, and says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "export/export.h"
#include "profiler/cli.h"
#include "profiler/cmd.h"
#include "profiler/collector.h"
#include "profiler/log.h"
#include "storage/query.h"
#include "storage/storage.h"
#include "tui/app.h"

#define TOP_DEFAULT_FREQ 99
#define TOP_MAX_PIDS 1024
#define TOP_MAX_CGROUPS 64
#define RECORDER_START_TIMEOUT_MS 10000
/* The child's exit code when another collector already holds the database. */
#define RECORDER_EXIT_BUSY 3

static const char usage[] =
    "Usage: ember top [options]\n"
    "\n"
    "What the CPUs run, live or from history: processes, functions, a flame graph and a\n"
    "sub-second heatmap. With a collector (`ember record`) writing the database, top follows\n"
    "it; with none, top records in-process itself (as root); with --no-record, or without the\n"
    "privileges to record, it shows the history the database holds. Press ? for the keys.\n"
    "\n"
    "Options:\n"
    "      --db PATH       database (default: /var/lib/ember/ember.db as root, else\n"
    "                      $XDG_STATE_HOME/ember/ember.db if it exists)\n"
    "  -d, --delay T       refresh every T seconds (default 1; 0.5, 2s, ...)\n"
    "  -w, --window T      the time the views cover, up to the newest sample (default 10s)\n"
    "      --from T        start in history, on the range from T ...\n"
    "      --to T          ... to T (default: the window after --from)\n"
    "  -p, --pid PID       only this process (repeatable)\n"
    "      --comm NAME     only threads with this command name\n"
    "      --cgroup CG     only this cgroup: a cgroup2 directory, or its id (repeatable)\n"
    "  -v, --view V        start on: processes, functions, flame, heatmap (or 1 to 4)\n"
    "  -F, --freq HZ       sampling rate when recording in-process, 1 to 1000 (default 99)\n"
    "  -n, --no-record     never record in-process: show what the database holds\n"
    "      --no-color      no colours (NO_COLOR in the environment does the same)\n"
    "  -h, --help          this text\n"
    "\n"
    "Times for --from/--to as for `ember export`: -10m, @EPOCH, 2026-12-07T10:00, 10:00.\n";

/* Frames named as `ember export` names them in folded stacks (what flamegraph.pl users read). */
static char *frame_name(const struct storage_frame *f, char *buf, size_t len)
{
	return export_frame_name(f, false, buf, len);
}

struct recorder {
	pid_t pid;
	int fd; /* read end of the child's stderr */
};

static int parse_view(const char *s, enum tui_view *v)
{
	static const char *const names[] = { "processes", "functions", "flame", "heatmap" };

	for (int i = 0; i < TUI_VIEW__COUNT; i++)
		if (!strcmp(s, names[i]) || (s[0] == '1' + i && !s[1])) {
			*v = (enum tui_view)i;
			return 0;
		}
	return -EINVAL;
}

/* Starts the in-process recorder. 0 or -errno (the reason logged). */
static int recorder_start(struct recorder *r, const char *db_path, unsigned int freq)
{
	pid_t parent = getpid();
	int p[2];

	if (pipe2(p, O_CLOEXEC)) {
		fprintf(stderr, "ember top: cannot create a pipe: %s\n", strerror(errno));
		return -errno;
	}
	fflush(NULL);
	r->pid = fork();
	if (r->pid < 0) {
		int err = -errno;

		fprintf(stderr, "ember top: cannot start the recorder: %s\n", strerror(-err));
		close(p[0]);
		close(p[1]);
		return err;
	}
	if (r->pid == 0) {
		struct collector_opts opts = { .db_path = db_path };
		struct collector_summary sum;
		int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC), err;

		/* Ends with the TUI, however the TUI ends. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(EXIT_RUNTIME);
		setpgid(0, 0);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		opts.sampler.freq = freq;
		opts.quiet = true;
		log_setup_libbpf();
		err = collector_run(&opts, &sum);
		if (!err)
			fprintf(stderr,
				"ember top: recorded %llu samples in %.1f s at %u Hz: %llu "
				"stored\n",
				(unsigned long long)sum.delivered, sum.seconds, freq,
				(unsigned long long)sum.stored);
		fflush(NULL);
		_exit(err == -EBUSY ? RECORDER_EXIT_BUSY : err ? EXIT_RUNTIME : 0);
	}
	close(p[1]);
	r->fd = p[0];
	return 0;
}

/* Copies what the recorder wrote and has not been shown to stderr. */
static void recorder_drain(struct recorder *r)
{
	char buf[4096];
	ssize_t n;

	if (r->fd < 0)
		return;
	fcntl(r->fd, F_SETFL, fcntl(r->fd, F_GETFL) & ~O_NONBLOCK);
	while ((n = read(r->fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stderr) != (size_t)n)
			break;
}

/* Stops the recorder (its last flush is written) and returns its exit status. */
static int recorder_stop(struct recorder *r)
{
	int status = 0;

	if (r->pid <= 0)
		return 0;
	kill(r->pid, SIGTERM);
	recorder_drain(r);
	while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->pid = 0;
	return status;
}

/*
 * Waits until the database opens for reading (the recorder creates it at once, before loading
 * BPF). Returns the open database, or NULL when the recorder exited first (*status set) or the
 * wait timed out.
 */
static struct storage *recorder_wait(struct recorder *r, const char *db_path, int *status)
{
	for (int waited = 0; waited < RECORDER_START_TIMEOUT_MS; waited += 50) {
		struct storage *db;

		if (waitpid(r->pid, status, WNOHANG) == r->pid) {
			r->pid = 0;
			return NULL;
		}
		db = storage__open(db_path, STORAGE_READ);
		if (db)
			return db;
		poll(NULL, 0, 50);
	}
	*status = -1;
	return NULL;
}

int cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'D' },
		{ "delay", required_argument, NULL, 'd' },
		{ "window", required_argument, NULL, 'w' },
		{ "from", required_argument, NULL, 'A' },
		{ "to", required_argument, NULL, 'B' },
		{ "pid", required_argument, NULL, 'p' },
		{ "comm", required_argument, NULL, 'c' },
		{ "cgroup", required_argument, NULL, 'C' },
		{ "view", required_argument, NULL, 'v' },
		{ "freq", required_argument, NULL, 'F' },
		{ "no-record", no_argument, NULL, 'n' },
		{ "no-color", no_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static uint32_t pids[TOP_MAX_PIDS];
	static uint64_t cgroups[TOP_MAX_CGROUPS];
	struct storage_filter filter = { .pids = pids, .cgroups = cgroups };
	struct tui_opts o = { .frame_name = frame_name, .recorder_fd = -1 };
	struct recorder rec = { .pid = 0, .fd = -1 };
	struct storage_reader *reader = NULL;
	struct storage *db = NULL;
	struct tui_result res;
	const char *db_path = NULL;
	char dbbuf[4096], why[512], note[1024], source[128];
	unsigned int freq = TOP_DEFAULT_FREQ;
	bool no_record = false;
	double secs;
	unsigned long v;
	int64_t now_ns;
	struct timespec now;
	int c, err, writer, ret = EXIT_RUNTIME;

	clock_gettime(CLOCK_REALTIME, &now);
	now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:w:p:v:F:nh", longopts, NULL)) != -1) {
		switch (c) {
		case 'D':
			db_path = optarg;
			break;
		case 'd':
			if (cli_parse_seconds(optarg, &secs) || secs < 0.05)
				return cli_usage_error(
				    "top", "-d: '%s' is not a delay of 0.05 s or more", optarg);
			o.refresh_ns = (int64_t)(secs * 1e9);
			break;
		case 'w':
			if (cli_parse_seconds(optarg, &secs) || secs < 1)
				return cli_usage_error(
				    "top", "-w: '%s' is not a window of 1 s or more", optarg);
			o.window_ns = (int64_t)(secs * 1e9);
			break;
		case 'A':
			if (cli_parse_time(optarg, now_ns, &o.from_ns))
				return cli_usage_error("top", "--from: '%s' is not a time", optarg);
			break;
		case 'B':
			if (cli_parse_time(optarg, now_ns, &o.to_ns))
				return cli_usage_error("top", "--to: '%s' is not a time", optarg);
			break;
		case 'p':
			if (cli_parse_uint(optarg, 0, INT_MAX, &v))
				return cli_usage_error("top", "--pid: '%s' is not a process id",
						       optarg);
			if (filter.npids == TOP_MAX_PIDS)
				return cli_usage_error("top", "too many --pid options");
			pids[filter.npids++] = (uint32_t)v;
			break;
		case 'c':
			filter.comm = optarg;
			break;
		case 'C':
			if (filter.ncgroups == TOP_MAX_CGROUPS)
				return cli_usage_error("top", "too many --cgroup options");
			if (tui_cgroup_id(optarg, &cgroups[filter.ncgroups]))
				return cli_usage_error("top",
						       "--cgroup: '%s' is neither a cgroup "
						       "directory nor an id",
						       optarg);
			filter.ncgroups++;
			break;
		case 'v':
			if (parse_view(optarg, &o.view))
				return cli_usage_error("top",
						       "--view: '%s' is not one of processes, "
						       "functions, flame, heatmap",
						       optarg);
			break;
		case 'F':
			if (cli_parse_uint(optarg, SAMPLER_FREQ_MIN, SAMPLER_FREQ_MAX, &v))
				return cli_usage_error("top",
						       "-F: '%s' is not a frequency from %d to %d "
						       "Hz",
						       optarg, SAMPLER_FREQ_MIN, SAMPLER_FREQ_MAX);
			freq = (unsigned int)v;
			break;
		case 'n':
			no_record = true;
			break;
		case 'M':
			o.mono = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			return cli_usage_error("top", "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cli_usage_error("top", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("top", "unexpected argument '%s'", argv[optind]);
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "ember top: standard input and output must be a terminal; for text "
				"use "
				"`ember report`, for files `ember export`\n");
		return EXIT_USAGE;
	}
	if (o.from_ns && !o.to_ns)
		o.to_ns = o.from_ns + (o.window_ns ? o.window_ns : 10000000000ll);
	if (o.to_ns && !o.from_ns)
		o.from_ns = o.to_ns - (o.window_ns ? o.window_ns : 10000000000ll);
	if (o.to_ns && o.to_ns <= o.from_ns)
		return cli_usage_error("top", "the range is empty: --to is not after --from");
	if (!db_path)
		db_path = cli_default_db(CLI_DB_READ, dbbuf, sizeof(dbbuf));

	writer = storage_writer_active(db_path);
	if (writer > 0) {
		snprintf(source, sizeof(source), "collector %d", writer);
		o.following = true;
	} else if (!no_record && !o.to_ns && !sampler_preflight(why, sizeof(why))) {
		int status = 0;

		fprintf(stderr, "ember top: no collector is writing %s: recording in-process\n",
			db_path);
		if (recorder_start(&rec, db_path, freq))
			goto out;
		o.recorder_fd = rec.fd;
		db = recorder_wait(&rec, db_path, &status);
		if (!db && status != -1 && WIFEXITED(status) &&
		    WEXITSTATUS(status) == RECORDER_EXIT_BUSY) {
			/* A collector started meanwhile (or its lock was not seen): follow it. */
			recorder_stop(&rec);
			o.recorder_fd = -1;
			snprintf(source, sizeof(source), "collector");
			o.following = true;
		} else if (!db) {
			recorder_stop(&rec);
			fprintf(stderr, "ember top: the in-process recorder %s\n",
				status == -1 ? "did not create the database in time" : "failed");
			goto out;
		} else {
			snprintf(source, sizeof(source), "recording at %u Hz", freq);
			o.following = true;
		}
	} else {
		if (!no_record && !o.to_ns && access(db_path, F_OK)) {
			fprintf(stderr,
				"ember top: no collector is writing %s, and ember top cannot "
				"record "
				"itself: %s\nStart `ember record` as root, or run `ember top` as "
				"root.\n",
				db_path, why);
			goto out;
		}
		if (!no_record && !o.to_ns) {
			snprintf(note, sizeof(note),
				 "No collector is running and recording needs privileges (%s): "
				 "showing the stored history",
				 why);
			o.note = note;
		}
		snprintf(source, sizeof(source), "history");
	}
	if (!db)
		db = storage__open(db_path, STORAGE_READ);
	if (!db) {
		err = errno;
		fprintf(stderr, "ember top: cannot open the database %s: %s\n", db_path,
			storage_strerror(err));
		goto out;
	}
	reader = storage_reader__new(db);
	if (!reader) {
		fprintf(stderr, "ember top: cannot read %s: %s\n", db_path, storage__errmsg(db));
		goto out;
	}
	o.reader = reader;
	o.db_path = db_path;
	o.filter = &filter;
	o.source = source;
	o.trace_path = getenv("EMBER_TOP_TRACE");
	err = tui_run(&o, &res);
	recorder_stop(&rec);
	if (err) {
		fprintf(stderr, "ember top: %s\n", res.error);
		goto out;
	}
	/* SIGINT, SIGTERM and SIGHUP end top as q does, and as they end `ember record`: exit 0. */
	ret = 0;
out:
	recorder_stop(&rec);
	storage_reader__free(reader);
	storage__close(db);
	return ret;
}
