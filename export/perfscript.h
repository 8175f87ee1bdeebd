/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * perf-script: text in the layout of `perf script` for a recording with call graphs, every
 * sample in time order with its timestamp (seconds since the epoch), which FlameScope and
 * stackcollapse-perf.pl read:
 *   comm PID/TID [CPU] SECONDS.MICROS: PERIOD EVENT:
 *   <TAB>ADDRESS SYMBOL (DSO)      leaf first, one line per frame
 *   (an empty line)
 */
#ifndef EMBER_EXPORT_PERFSCRIPT_H
#define EMBER_EXPORT_PERFSCRIPT_H

#include "export/export.h"

extern const struct export_format export_perfscript_format;

#endif
