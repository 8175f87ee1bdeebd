/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * speedscope: its JSON file format (https://www.speedscope.app/file-format-schema.json), one
 * sampled profile per thread, busiest first. Weights are nanoseconds and every sample sits at its
 * own time: a thread's profile starts at its first sample, each sample weighs its sampling period,
 * and the time a thread was not sampled is an empty sample, so speedscope's "Time Order" view is
 * the real timeline of the slice.
 */
#ifndef EMBER_EXPORT_SPEEDSCOPE_H
#define EMBER_EXPORT_SPEEDSCOPE_H

#include "export/export.h"

extern const struct export_format export_speedscope_format;

#endif
