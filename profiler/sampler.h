/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The sampler's user-space half: checks what the kernel offers, loads bpf/sampler.bpf.c, opens one
 * perf event per online CPU (hardware cycles when the PMU has them, else cpu-clock), attaches the
 * program to each, and reads its counters. The ring buffer it fills is consumed by the collector.
 */
#ifndef EMBER_SAMPLER_H
#define EMBER_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/types.h> /* the ABI header includes nothing: its types come first */

#include "bpf/ember_abi.h"

#define SAMPLER_FREQ_MIN 1
#define SAMPLER_FREQ_MAX 1000

struct sampler_opts {
	unsigned int freq;    /* samples per second per CPU */
	const uint32_t *pids; /* NULL: every process */
	size_t npids;
	bool no_kernel_stacks, no_user_stacks;
	/* Bytes of user stack copied per sample for DWARF unwinding, up to EMBER_STACK_COPY_MAX;
	 * 0: frame-pointer IPs from the kernel instead. */
	uint32_t stack_copy;
	size_t ringbuf_bytes; /* 0: sized from freq, CPUs and record size */
	/* Do not send exit-time maps (struct ember_maps_event); without this they are sent when
	 * the kernel has the task VMA iterator (6.7), and silently not otherwise. */
	bool no_exit_maps;
};

struct sampler;

/*
 * Checks that sampling can work here: kernel BTF, and root or CAP_BPF + CAP_PERFMON (or
 * CAP_SYS_ADMIN). Returns 0, or -errno with one sentence naming what is missing in `why`.
 * The BTF path is /sys/kernel/btf/vmlinux unless EMBER_BTF_PATH names another (for tests).
 */
int sampler_preflight(char *why, size_t len);

/* The kernel BTF file: EMBER_BTF_PATH when set (tests), else /sys/kernel/btf/vmlinux. */
const char *sampler_btf_path(void);

/* This process's effective capabilities as a bit mask (from /proc/self/status). 0 or -errno. */
int sampler_caps(uint64_t *caps);

/* Whether `caps` allow loading the sampler: CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN. */
bool sampler_caps_can_load(uint64_t caps);
/*
 * The ring buffer size sampler__open picks when opts->ringbuf_bytes is 0, before rounding to a
 * power of two within [1, 256] MiB: enough for the records of `freq` Hz on `ncpus` CPUs with a
 * `stack_copy`-byte stack copy (0: none) while the collector is busy.
 */
size_t sampler_ringbuf_size(unsigned int freq, unsigned int ncpus, uint32_t stack_copy);

/* Loads, opens the perf events and attaches. NULL with errno; the reason is logged. */
struct sampler *sampler__open(const struct sampler_opts *opts);

/* The fd of the `events` ring buffer map. Borrowed. */
int sampler__ringbuf_fd(const struct sampler *s);

/* The fd of the `proc_notices` ring buffer (exec events, first samples and exit-time maps, for
 * the prefetch thread; see profiler/prefetch.h). Borrowed. */
int sampler__notices_fd(const struct sampler *s);

/* Whether exiting processes' maps are sent to `proc_notices` (see struct ember_maps_event). */
bool sampler__exit_maps(const struct sampler *s);

/* "cycles" or "cpu-clock". */
const char *sampler__event(const struct sampler *s);

/* CPUs with an attached event. */
unsigned int sampler__ncpus(const struct sampler *s);

/* Sums the per-CPU counters of enum ember_stat into out. 0 or -errno. */
int sampler__read_stats(const struct sampler *s, uint64_t out[EMBER_STAT__MAX]);

/*
 * Changes the sampling frequency of every attached event (PERF_EVENT_IOC_PERIOD, which needs no
 * capability on an fd we hold). 0, or -errno (-EINVAL above kernel.perf_event_max_sample_rate).
 */
int sampler__set_freq(struct sampler *s, unsigned int freq);

/* Detaches the program from every CPU: no sample is taken after this returns, while the maps
 * (ring buffer, counters) stay readable. Idempotent. */
void sampler__detach(struct sampler *s);

/* Detaches every program and closes every event. Accepts NULL. */
void sampler__free(struct sampler *s);

#endif
