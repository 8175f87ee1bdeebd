// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Loading and attaching the sampler. The event is probed at run time: hardware cycles first, then
 * the cpu-clock software event (this is what VMs without a PMU give). CPUs that answer ENODEV are
 * offline and skipped.
 */
#include "profiler/sampler.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "profiler/log.h"
#include "sampler.skel.h"

_Static_assert(sizeof(struct ember_sample) == EMBER_SAMPLE_HEADER_SIZE + EMBER_MAX_IPS * 8,
	       "ember_sample layout changed: update EMBER_SAMPLE_HEADER_SIZE");
_Static_assert(__builtin_offsetof(struct ember_sample, ips) == EMBER_SAMPLE_HEADER_SIZE, "ips[] "
											 "must "
											 "follow "
											 "the "
											 "header");

_Static_assert(sizeof(struct ember_proc_event) == EMBER_PROC_EVENT_SIZE, "ember_proc_event layout");
_Static_assert(sizeof(struct ember_map) == EMBER_MAP_SIZE, "ember_map layout");
_Static_assert(__builtin_offsetof(struct ember_maps_event, maps) == EMBER_MAPS_EVENT_HEADER_SIZE,
	       "ember_maps_event header");
_Static_assert(sizeof(struct ember_map_name) == EMBER_MAP_NAME_SIZE, "ember_map_name layout");

#define CAP_SYS_ADMIN_BIT 21
#define CAP_PERFMON_BIT 38
#define CAP_BPF_BIT 39

struct sampler {
	struct sampler_bpf *skel;
	int *fds; /* perf event per CPU, -1 when skipped */
	struct bpf_link **links;
	struct bpf_link *exec_link, *exit_link;
	int nr_cpus;	/* possible CPUs: the size of fds and links */
	bool exit_maps; /* the exit program sends exit-time maps */
	unsigned int attached;
	const char *event;
};

int sampler_caps(uint64_t *caps)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "CapEff:", 7)) {
			*caps = strtoull(line + 7, NULL, 16);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

const char *sampler_btf_path(void)
{
	const char *btf = getenv("EMBER_BTF_PATH");

	return btf && *btf ? btf : "/sys/kernel/btf/vmlinux";
}

bool sampler_caps_can_load(uint64_t caps)
{
	return (caps & (1ull << CAP_SYS_ADMIN_BIT)) ||
	       ((caps & (1ull << CAP_BPF_BIT)) && (caps & (1ull << CAP_PERFMON_BIT)));
}

int sampler_preflight(char *why, size_t len)
{
	const char *btf = sampler_btf_path();
	uint64_t caps = 0;

	if (access(btf, R_OK)) {
		snprintf(why, len,
			 "this kernel has no BTF type information (%s is missing): ember needs a "
			 "kernel built with CONFIG_DEBUG_INFO_BTF=y",
			 btf);
		return -ENOTSUP;
	}
	if (sampler_caps(&caps)) {
		snprintf(why, len,
			 "cannot read this process's capabilities from /proc/self/status");
		return -EPERM;
	}
	if (!sampler_caps_can_load(caps)) {
		bool bpf = caps & (1ull << CAP_BPF_BIT), perfmon = caps & (1ull << CAP_PERFMON_BIT);

		snprintf(why, len,
			 "recording needs root, or the capabilities CAP_BPF and CAP_PERFMON (this "
			 "process lacks %s)",
			 bpf	   ? "CAP_PERFMON"
			 : perfmon ? "CAP_BPF"
				   : "both");
		return -EPERM;
	}
	return 0;
}

/* Parses a CPU list such as "0-3,8,10-11" into a mask of nr entries. */
static int read_online_cpus(bool *online, int nr)
{
	char buf[4096], *p, *end;
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	size_t len;

	if (!f)
		return -errno;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	for (p = buf; *p && *p != '\n';) {
		long a = strtol(p, &end, 10), b = a;

		if (end == p)
			return -EINVAL;
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p)
				return -EINVAL;
		}
		for (long c = a; c <= b && c < nr; c++)
			if (c >= 0)
				online[c] = true;
		p = end;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int open_event(int cpu, unsigned int freq, bool hardware)
{
	struct perf_event_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = hardware ? PERF_TYPE_HARDWARE : PERF_TYPE_SOFTWARE;
	attr.config = hardware ? PERF_COUNT_HW_CPU_CYCLES : PERF_COUNT_SW_CPU_CLOCK;
	attr.freq = 1;
	attr.sample_freq = freq;
	fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static size_t round_pow2(size_t v)
{
	size_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

size_t sampler_ringbuf_size(unsigned int freq, unsigned int ncpus, uint32_t stack_copy)
{
	/* Without a copy: the largest record (kernel and user IPs). With one: kernel IPs (user IPs
	 * are not taken) and a full copy, since most stacks have more than the copy size mapped. */
	size_t rec = stack_copy ? EMBER_SAMPLE_HEADER_SIZE + EMBER_MAX_KERNEL_IPS * 8 + stack_copy
				: sizeof(struct ember_sample);
	/* Seconds of samples the ring holds while the collector is busy elsewhere: a flush, or the
	 * first look at a large binary, takes it away from the ring for up to a few hundred ms.
	 * With a copy the records are 10 times larger and unwinding adds to the collector's work,
	 * so it gets a second; without, a quarter second as before. */
	double seconds = stack_copy ? 1.0 : 0.25;

	return (size_t)((double)freq * ncpus * rec * seconds);
}

/* Opens and loads the skeleton into s->skel for `opts`, with a ring of `rb` bytes. 0 or -errno;
 * on failure s->skel is NULL. */
static int load(struct sampler *s, const struct sampler_opts *opts, size_t rb)
{
	int err;

	s->skel = sampler_bpf__open();
	if (!s->skel) {
		err = -errno;
		log_error("cannot open the BPF sampler: %s", strerror(-err));
		return err;
	}
	s->skel->rodata->filter_pids = opts->npids > 0;
	s->skel->rodata->kernel_stacks = !opts->no_kernel_stacks;
	s->skel->rodata->user_stacks = !opts->no_user_stacks;
	s->skel->rodata->stack_copy = opts->stack_copy;
	s->skel->rodata->wakeup_bytes = rb / 4;
	s->skel->rodata->exit_maps = s->exit_maps;
	/* One scratch record per possible CPU (the program indexes it by CPU). */
	err = bpf_map__set_max_entries(s->skel->maps.scratch, (__u32)s->nr_cpus);
	if (!err)
		err = bpf_map__set_max_entries(s->skel->maps.events, (__u32)rb);
	if (!err && opts->npids)
		err = bpf_map__set_max_entries(s->skel->maps.pids, (__u32)opts->npids);
	if (err) {
		log_error("cannot size the BPF maps: %s", strerror(-err));
		goto fail;
	}
	err = sampler_bpf__load(s->skel);
	if (!err)
		return 0;
fail:
	sampler_bpf__destroy(s->skel);
	s->skel = NULL;
	return err;
}

struct sampler *sampler__open(const struct sampler_opts *opts)
{
	struct sampler *s;
	bool *online = NULL, hardware = true;
	size_t rb;
	int err = 0, cpu, ncpu_online = 0;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->nr_cpus = libbpf_num_possible_cpus();
	if (s->nr_cpus <= 0) {
		err = s->nr_cpus ? s->nr_cpus : -EINVAL;
		goto fail;
	}
	s->fds = malloc(s->nr_cpus * sizeof(*s->fds));
	s->links = calloc(s->nr_cpus, sizeof(*s->links));
	online = calloc(s->nr_cpus, sizeof(*online));
	if (!s->fds || !s->links || !online) {
		err = -ENOMEM;
		goto fail;
	}
	for (cpu = 0; cpu < s->nr_cpus; cpu++)
		s->fds[cpu] = -1;
	err = read_online_cpus(online, s->nr_cpus);
	if (err) {
		log_error("cannot read the online CPUs: %s", strerror(-err));
		goto fail;
	}
	for (cpu = 0; cpu < s->nr_cpus; cpu++)
		ncpu_online += online[cpu];

	if (opts->stack_copy > EMBER_STACK_COPY_MAX) {
		err = -EINVAL;
		log_error("a stack copy of %u bytes is above the limit of %u", opts->stack_copy,
			  EMBER_STACK_COPY_MAX);
		goto fail;
	}
	rb = opts->ringbuf_bytes;
	if (!rb)
		rb = sampler_ringbuf_size(opts->freq, (unsigned int)ncpu_online, opts->stack_copy);
	rb = round_pow2(rb < (1u << 20) ? 1u << 20 : rb > (256u << 20) ? 256u << 20 : rb);
	s->exit_maps = !opts->no_exit_maps;
	err = load(s, opts, rb);
	if (err && s->exit_maps && err != -ENOMEM) {
		/* A kernel without the task VMA iterator (before 6.7) refuses the exit program:
		 * sample without exit-time maps, from /proc alone. */
		log_warn("the kernel refused the exit-time maps (%s): samples of processes that "
			 "exit "
			 "before their maps are read may lose their symbols",
			 strerror(-err));
		s->exit_maps = false;
		err = load(s, opts, rb);
	}
	if (err) {
		log_error("the kernel refused the BPF sampler: %s (run with -v for the verifier "
			  "log)",
			  strerror(-err));
		goto fail;
	}
	for (size_t i = 0; i < opts->npids; i++) {
		__u8 one = 1;

		err = bpf_map_update_elem(bpf_map__fd(s->skel->maps.pids), &opts->pids[i], &one,
					  BPF_ANY);
		if (err) {
			err = -errno;
			log_error("cannot add pid %u to the filter: %s", opts->pids[i],
				  strerror(-err));
			goto fail;
		}
	}

	/* Process events first, so that no sample comes before the exec of its process. */
	s->exec_link = bpf_program__attach(s->skel->progs.on_exec);
	s->exit_link = s->exec_link ? bpf_program__attach(s->skel->progs.on_exit) : NULL;
	if (!s->exit_link) {
		err = -errno;
		log_error("cannot attach the process-event tracepoints: %s", strerror(-err));
		goto fail;
	}

	for (cpu = 0; cpu < s->nr_cpus; cpu++) {
		int fd;

		if (!online[cpu])
			continue;
		fd = open_event(cpu, opts->freq, hardware);
		if (fd < 0 && hardware && cpu == 0) {
			/* No PMU (VMs): fall back to the cpu-clock software event everywhere. */
			log_debug("hardware cycles unavailable (%s), using cpu-clock",
				  strerror(-fd));
			hardware = false;
			fd = open_event(cpu, opts->freq, false);
		}
		if (fd == -ENODEV)
			continue; /* went offline meanwhile */
		if (fd < 0) {
			err = fd;
			log_error("cannot open a perf event on CPU %d: %s", cpu, strerror(-err));
			goto fail;
		}
		s->fds[cpu] = fd;
		s->links[cpu] = bpf_program__attach_perf_event(s->skel->progs.on_sample, fd);
		if (!s->links[cpu]) {
			err = -errno;
			log_error("cannot attach the sampler on CPU %d: %s", cpu, strerror(-err));
			goto fail;
		}
		s->attached++;
	}
	if (!s->attached) {
		err = -ENODEV;
		log_error("no online CPU accepted a perf event");
		goto fail;
	}
	s->event = hardware ? "cycles" : "cpu-clock";
	free(online);
	return s;
fail:
	free(online);
	sampler__free(s);
	errno = -err;
	return NULL;
}

int sampler__ringbuf_fd(const struct sampler *s)
{
	return bpf_map__fd(s->skel->maps.events);
}

int sampler__notices_fd(const struct sampler *s)
{
	return bpf_map__fd(s->skel->maps.proc_notices);
}

bool sampler__exit_maps(const struct sampler *s)
{
	return s->exit_maps;
}

const char *sampler__event(const struct sampler *s)
{
	return s->event;
}

unsigned int sampler__ncpus(const struct sampler *s)
{
	return s->attached;
}

int sampler__read_stats(const struct sampler *s, uint64_t out[EMBER_STAT__MAX])
{
	int fd = bpf_map__fd(s->skel->maps.stats);
	uint64_t *vals = calloc(s->nr_cpus, sizeof(*vals));

	if (!vals)
		return -ENOMEM;
	for (__u32 i = 0; i < EMBER_STAT__MAX; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, vals)) {
			int err = -errno;

			free(vals);
			return err;
		}
		for (int c = 0; c < s->nr_cpus; c++)
			out[i] += vals[c];
	}
	free(vals);
	return 0;
}

int sampler__set_freq(struct sampler *s, unsigned int freq)
{
	/*
	 * For hardware events opened with attr.freq the kernel takes the argument as the new
	 * sample_freq. The cpu-clock event is an hrtimer: at creation the kernel turns the
	 * frequency into a fixed period in ns and clears attr.freq, so it takes the argument as a
	 * period; 200 meant as Hz would be a sample every 200 ns.
	 */
	uint64_t f = strcmp(s->event, "cycles") ? 1000000000ull / freq : freq;

	for (int cpu = 0; cpu < s->nr_cpus; cpu++)
		if (s->fds[cpu] >= 0 && ioctl(s->fds[cpu], PERF_EVENT_IOC_PERIOD, &f))
			return -errno;
	return 0;
}

void sampler__detach(struct sampler *s)
{
	bpf_link__destroy(s->exec_link);
	bpf_link__destroy(s->exit_link);
	s->exec_link = s->exit_link = NULL;
	for (int cpu = 0; s->links && cpu < s->nr_cpus; cpu++) {
		bpf_link__destroy(s->links[cpu]);
		s->links[cpu] = NULL;
	}
	for (int cpu = 0; s->fds && cpu < s->nr_cpus; cpu++) {
		if (s->fds[cpu] >= 0)
			close(s->fds[cpu]);
		s->fds[cpu] = -1;
	}
}

void sampler__free(struct sampler *s)
{
	if (!s)
		return;
	sampler__detach(s);
	sampler_bpf__destroy(s->skel);
	free(s->links);
	free(s->fds);
	free(s);
}
