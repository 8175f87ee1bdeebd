/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Kernel symbols from /proc/kallsyms: a sorted table of text symbols, with the module each
 * belongs to. The kernel's `__pfx_*` padding symbols are skipped.
 */
#ifndef EMBER_KALLSYMS_H
#define EMBER_KALLSYMS_H

#include <stdint.h>

struct kallsyms;

struct ksym {
	uint64_t addr;
	const char *name;
	const char *module; /* NULL for the kernel image itself */
};

/*
 * Loads a kallsyms-format file (normally "/proc/kallsyms"). NULL with errno on failure: ENOENT,
 * EACCES, ENOMEM, or EPERM when every address reads as zero (kptr_restrict hides them).
 */
struct kallsyms *kallsyms__load(const char *path);

/*
 * The symbol covering `addr` (the last one at or below it), or NULL when addr lies below the first
 * symbol. Borrowed: valid until kallsyms__free.
 */
const struct ksym *kallsyms__find(const struct kallsyms *k, uint64_t addr);

/* The symbol named `name` (a linear scan: for rare lookups), or NULL. Borrowed. */
const struct ksym *kallsyms__lookup_name(const struct kallsyms *k, const char *name);

unsigned long kallsyms__count(const struct kallsyms *k);

void kallsyms__free(struct kallsyms *k);

#endif
