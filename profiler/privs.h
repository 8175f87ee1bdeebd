/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Least privilege for the collector. Loading the BPF sampler and opening system-wide perf events
 * need CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN); once they are loaded and attached, the fds are
 * all the collector needs of them. What it still needs is to read other processes' memory maps and
 * the files they map, for symbolization (see docs/service.md for the experiment behind each):
 *
 *   CAP_SYS_PTRACE        /proc/PID/maps, /proc/PID/exe and /proc/PID/map_files of processes of
 *                         other users and of non-dumpable ones (ptrace "read" access checks)
 *   CAP_CHECKPOINT_RESTORE  opening /proc/PID/map_files entries at all (the kernel asks for it, or
 *                         CAP_SYS_ADMIN, since 5.9): files deleted or in another mount namespace
 *   CAP_DAC_READ_SEARCH   reading mapped ELF files that are not world-readable (0700 home
 *                         directories, 0750 application directories)
 *   CAP_SYSLOG            kernel symbol addresses in /proc/kallsyms, which the symbolizer reads
 *                         again when the kernel's modules change (without it, and with
 *                         perf_event_paranoid above 1, the addresses read as 0)
 *
 * Every other capability is dropped from the effective, permitted, inheritable, ambient and (when
 * CAP_SETPCAP allows it) bounding sets of the calling thread. Capabilities are per thread: call
 * this before the collector starts any thread (the prefetch and debuginfod threads start after).
 */
#ifndef EMBER_PRIVS_H
#define EMBER_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The kept set as a mask of capability bits (1 << CAP_SYS_PTRACE | ...). */
uint64_t privs_kept_mask(void);

/*
 * Drops every capability but the kept ones (those of them the process has). Returns 0, or -errno
 * with a sentence in `why`. `bounding_narrowed` (may be NULL) says whether the bounding set could
 * be narrowed too (it needs CAP_SETPCAP, which is then dropped as well).
 */
int privs_drop(bool *bounding_narrowed, char *why, size_t len);

/* Writes the names of the capabilities in `mask` ("cap_bpf,cap_perfmon", "none") into buf. */
const char *privs_names(uint64_t mask, char *buf, size_t len);

#endif
