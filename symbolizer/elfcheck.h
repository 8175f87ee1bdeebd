/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What a binary offers the unwinder and the symbolizer, for `ember doctor`: frame pointers (a
 * heuristic over function prologues), unwind tables (.eh_frame / .debug_frame), a symbol table,
 * and DWARF debug info in the file or in a separate debug file found by build-id or debuglink
 * under /usr/lib/debug.
 */
#ifndef EMBER_ELFCHECK_H
#define EMBER_ELFCHECK_H

#include <stdbool.h>

struct elfcheck {
	bool frame_pointers; /* most sampled function prologues set up %rbp (x86-64) */
	unsigned int prologues_checked, prologues_with_fp;
	bool unwind_tables;   /* .eh_frame or .debug_frame with content */
	bool symtab;	      /* .symtab (not only .dynsym) */
	bool debug_info;      /* .debug_info here or in a separate debug file */
	char debug_file[512]; /* the separate debug file, "" when none */
};

/*
 * Inspects the ELF file at path (opened read-only and non-blocking; only regular files). Returns
 * 0, or -errno (-ENOEXEC when it is not ELF). The frame-pointer heuristic only knows x86-64: on
 * other machines frame_pointers stays false and prologues_checked 0.
 */
int elfcheck_file(const char *path, struct elfcheck *out);

#endif
