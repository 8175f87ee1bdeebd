/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The symbolizer: turns sampled instruction pointers into frames (function, module). Kernel IPs
 * resolve through kallsyms; user IPs through the ELF symbol tables of the mapped files, which are
 * parsed once per file (device, inode) and cached for the life of the symbolizer, so samples of
 * processes that have exited still resolve. What cannot be named comes back as module + offset.
 */
#ifndef EMBER_SYMBOLIZER_H
#define EMBER_SYMBOLIZER_H

#include <stdint.h>

#include "symbolizer/procmaps.h"

enum sym_kind {
	SYM_KIND_USER = 0,
	SYM_KIND_KERNEL = 1,
};

struct sym_frame {
	const char *name;   /* function name, or NULL when unknown */
	const char *module; /* binary path, "[kernel.kallsyms]" or a kernel module's name */
	uint64_t offset; /* when name is NULL: the offset into the module (file offset for user) */
	enum sym_kind kind;
};

struct symbolizer_opts {
	const char *kallsyms_path; /* NULL: /proc/kallsyms */
	const char *proc_root;	   /* NULL: /proc (tests point it elsewhere) */
};

struct symbolizer_stats {
	unsigned long binaries;	     /* files parsed */
	unsigned long binary_errors; /* files that could not be opened or parsed */
	unsigned long kernel_symbols;
};

/* NULL with errno on failure. A kallsyms that cannot be read is not an error: kernel frames then
 * come back unnamed. */
struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts);

/*
 * Resolves a kernel IP. Always succeeds: *out is unnamed when no symbol covers ip. The strings in
 * *out are borrowed and valid until symbolizer__free.
 */
void symbolizer__kernel(struct symbolizer *s, uint64_t ip, struct sym_frame *out);

/*
 * Resolves a user IP of process `pid` that lies in mapping `map` (from that process's maps
 * snapshot). The mapped file is opened through /proc/<pid>/map_files while the process lives, and
 * through its path after; it is parsed once per (device, inode). Always succeeds; the strings in
 * *out are borrowed and valid until symbolizer__free.
 */
void symbolizer__user(struct symbolizer *s, int pid, const struct procmaps_entry *map, uint64_t ip,
		      struct sym_frame *out);

/*
 * Opens the file behind mapping `map` of process `pid` read-only, the way symbolizer__user does
 * (see there), for other readers of the same files (the unwinder). Returns an fd the caller owns,
 * or -errno.
 */
int symbolizer__open_mapped(struct symbolizer *s, int pid, const struct procmaps_entry *map);

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *out);

void symbolizer__free(struct symbolizer *s);

#endif
