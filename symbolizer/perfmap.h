/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Perf maps: the "START SIZE name" text files that JITs write to /tmp/perf-PID.map (node
 * --perf-basic-prof, Python 3.12 -X perf, Java perf-map agents) to name the code they generate.
 * The file belongs to the profiled process and is hostile input: lines are parsed strictly, a bad
 * line is skipped and counted, names are cut at PERFMAP_NAME_MAX bytes.
 */
#ifndef EMBER_PERFMAP_H
#define EMBER_PERFMAP_H

#include <stddef.h>
#include <stdint.h>

#define PERFMAP_NAME_MAX 1024
#define PERFMAP_MAX_BYTES (64u << 20)

struct perfmap;

/* An empty map. NULL with errno ENOMEM. */
struct perfmap *perfmap__new(void);

/*
 * Parses `len` bytes of perf-map text (need not end in a newline; an unterminated last line is
 * ignored, since the JIT may be writing it) and replaces the map's entries with them. Returns 0 or
 * -ENOMEM (the map is then unchanged). Entries written later win over earlier ones at the same
 * start address, as JITs reuse code memory.
 */
int perfmap__parse(struct perfmap *pm, const char *text, size_t len);

/*
 * The name covering `addr`, and the offset of addr into its symbol, or NULL. Borrowed: valid until
 * the next perfmap__parse or perfmap__free.
 */
const char *perfmap__find(const struct perfmap *pm, uint64_t addr, uint64_t *offset);

size_t perfmap__count(const struct perfmap *pm);
/* Lines that did not parse in the last perfmap__parse. */
size_t perfmap__bad_lines(const struct perfmap *pm);
size_t perfmap__bytes(const struct perfmap *pm);

void perfmap__free(struct perfmap *pm);

#endif
