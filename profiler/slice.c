// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Time range and filter options shared by the subcommands that read history. */
#include "profiler/slice.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "profiler/cli.h"

#define SLICE_MAX_LIST 4096

static int push32(uint32_t **v, size_t *n, uint32_t x)
{
	uint32_t *nv;

	if (*n >= SLICE_MAX_LIST)
		return -E2BIG;
	nv = realloc(*v, (*n + 1) * sizeof(**v));
	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = x;
	*v = nv;
	return 0;
}

int slice_add_pid(struct slice *s, const char *cmd, const char *opt, const char *arg)
{
	unsigned long v;
	int err;

	if (cli_parse_uint(arg, 0, INT_MAX, &v))
		return cli_usage_error(cmd, "%s: '%s' is not a process id", opt, arg);
	err = push32(&s->pids, &s->f.npids, (uint32_t)v);
	if (err)
		return cli_usage_error(cmd, "%s: too many values", opt);
	s->f.pids = s->pids;
	return 0;
}

/* A cgroup: its id (the inode of its directory in cgroup2), or a path to that directory. */
static int parse_cgroup(const char *arg, uint64_t *id)
{
	char path[PATH_MAX];
	struct stat st;
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (*arg >= '0' && *arg <= '9' && !*end && !errno) {
		*id = v;
		return 0;
	}
	if (arg[0] == '/' && !strncmp(arg, "/sys/fs/cgroup", 14))
		snprintf(path, sizeof(path), "%s", arg);
	else
		snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", arg[0] == '/' ? arg + 1 : arg);
	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return -ENOENT;
	/* cgroup2: the id the kernel reports (bpf_get_current_cgroup_id) is the inode number. */
	*id = (uint64_t)st.st_ino;
	return 0;
}

int slice_option(struct slice *s, const char *cmd, int c, const char *arg, int64_t now_ns)
{
	unsigned long v;
	uint64_t cg, *ncg;

	switch (c) {
	case SLICE_OPT_FROM:
		if (cli_parse_time(arg, now_ns, &s->f.from_ns))
			return cli_usage_error(cmd, "--from: '%s' is not a time", arg);
		return 0;
	case SLICE_OPT_TO:
		if (cli_parse_time(arg, now_ns, &s->f.to_ns))
			return cli_usage_error(cmd, "--to: '%s' is not a time", arg);
		return 0;
	case 'p':
	case SLICE_OPT_PID:
		return slice_add_pid(s, cmd, "--pid", arg);
	case SLICE_OPT_TID:
		if (cli_parse_uint(arg, 0, INT_MAX, &v))
			return cli_usage_error(cmd, "--tid: '%s' is not a thread id", arg);
		if (push32(&s->tids, &s->f.ntids, (uint32_t)v))
			return cli_usage_error(cmd, "--tid: too many values");
		s->f.tids = s->tids;
		return 0;
	case SLICE_OPT_COMM:
		if (!*arg)
			return cli_usage_error(cmd, "--comm: the name is empty");
		s->f.comm = arg;
		return 0;
	case SLICE_OPT_BINARY:
		if (!*arg)
			return cli_usage_error(cmd, "--binary: the name is empty");
		s->f.binary = arg;
		return 0;
	case SLICE_OPT_CGROUP:
		if (parse_cgroup(arg, &cg))
			return cli_usage_error(cmd,
					       "--cgroup: '%s' is neither a cgroup id nor an "
					       "existing "
					       "cgroup directory",
					       arg);
		if (s->f.ncgroups >= SLICE_MAX_LIST)
			return cli_usage_error(cmd, "--cgroup: too many values");
		ncg = realloc(s->cgroups, (s->f.ncgroups + 1) * sizeof(*ncg));
		if (!ncg)
			return cli_usage_error(cmd, "out of memory");
		ncg[s->f.ncgroups++] = cg;
		s->cgroups = ncg;
		s->f.cgroups = ncg;
		return 0;
	default:
		return 1;
	}
}

int slice_check(const struct slice *s, const char *cmd)
{
	if (s->f.from_ns && s->f.to_ns && s->f.to_ns <= s->f.from_ns)
		return cli_usage_error(cmd, "the range is empty: --to is not after --from");
	return 0;
}

static void *dup_array(const void *v, size_t n, size_t size, int *err)
{
	void *d;

	if (!n)
		return NULL;
	d = malloc(n * size);
	if (!d)
		*err = -ENOMEM;
	else
		memcpy(d, v, n * size);
	return d;
}

int slice_copy(struct slice *to, const struct slice *from)
{
	int err = 0;

	memset(to, 0, sizeof(*to));
	to->f = from->f;
	to->pids = dup_array(from->pids, from->f.npids, sizeof(*to->pids), &err);
	to->tids = dup_array(from->tids, from->f.ntids, sizeof(*to->tids), &err);
	to->cgroups = dup_array(from->cgroups, from->f.ncgroups, sizeof(*to->cgroups), &err);
	to->f.pids = to->pids;
	to->f.tids = to->tids;
	to->f.cgroups = to->cgroups;
	if (err)
		slice_free(to);
	return err;
}

void slice_free(struct slice *s)
{
	free(s->pids);
	free(s->tids);
	free(s->cgroups);
	memset(s, 0, sizeof(*s));
}

int slice_diff_option(struct slice_diff *d, const char *cmd, int c, const char *arg, int64_t now_ns)
{
	switch (c) {
	case SLICE_OPT_DIFF:
		d->on = true;
		return 0;
	case SLICE_OPT_BASE_FROM:
	case SLICE_OPT_BASE_TO:
		if (cli_parse_time(arg, now_ns, c == SLICE_OPT_BASE_FROM ? &d->from_ns : &d->to_ns))
			return cli_usage_error(
			    cmd, "%s: '%s' is not a time",
			    c == SLICE_OPT_BASE_FROM ? "--base-from" : "--base-to", arg);
		return 0;
	case SLICE_OPT_BASE_PID:
		return slice_add_pid(&d->pids, cmd, "--base-pid", arg);
	default:
		return 1;
	}
}

int slice_diff_base(struct slice_diff *d, const char *cmd, const struct slice *target,
		    struct slice *base)
{
	bool any = d->from_ns || d->to_ns || d->pids.f.npids;

	if (!d->on && any)
		return cli_usage_error(cmd, "--base-from, --base-to and --base-pid need --diff");
	if (d->on && !any)
		return cli_usage_error(cmd, "--diff needs a base: --base-from/--base-to or "
					    "--base-pid");
	if (!d->on)
		return 0;
	if (slice_copy(base, target)) {
		fprintf(stderr, "ember %s: out of memory\n", cmd);
		return EXIT_RUNTIME;
	}
	if (d->from_ns || d->to_ns) {
		base->f.from_ns = d->from_ns;
		base->f.to_ns = d->to_ns;
	}
	if (d->pids.f.npids) {
		free(base->pids);
		base->pids = d->pids.pids;
		base->f.pids = base->pids;
		base->f.npids = d->pids.f.npids;
		d->pids.pids = NULL;
		d->pids.f.npids = 0;
	}
	if (base->f.from_ns && base->f.to_ns && base->f.to_ns <= base->f.from_ns)
		return cli_usage_error(cmd, "the base range is empty: --base-to is not after "
					    "--base-from");
	return 0;
}

void slice_diff_free(struct slice_diff *d)
{
	slice_free(&d->pids);
	memset(d, 0, sizeof(*d));
}

int64_t slice_now_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}
