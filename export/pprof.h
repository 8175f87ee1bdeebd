/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * pprof: profile.proto (github.com/google/pprof), gzip'd, as `go tool pprof`, Pyroscope and Parca
 * read it. Sample types samples/count and cpu/nanoseconds, period type cpu/nanoseconds; one
 * location per frame (with its inline chain as line entries, innermost first), functions with
 * file names, one mapping per module with its build-id, and labels pid, tid, comm and cgroup on
 * every sample.
 */
#ifndef EMBER_EXPORT_PPROF_H
#define EMBER_EXPORT_PPROF_H

#include "export/export.h"

extern const struct export_format export_pprof_format;

#endif
