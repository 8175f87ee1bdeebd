/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The function symbols of one ELF file (.symtab, else .dynsym; C++ and Rust names demangled), its
 * build-id, its .gnu_debuglink and its loadable segments, read once with libelf into sorted tables.
 * The file comes from another process and is hostile input: every offset and size is checked
 * against the file, and a malformed file is an error for that file alone.
 */
#ifndef EMBER_ELFSYM_H
#define EMBER_ELFSYM_H

#include <stddef.h>
#include <stdint.h>

#define ELFSYM_BUILD_ID_MAX 64

struct elfsym;

/*
 * Reads the ELF file open on `fd` (the caller keeps ownership of fd; it is not needed after the
 * call). Returns an owned object, or NULL with errno: ENOEXEC for something that is not a usable
 * ELF file, EFBIG beyond the size cap, ENOMEM.
 */
struct elfsym *elfsym__read_fd(int fd);

/*
 * Translates a file offset (as /proc/PID/maps gives it) to the ELF virtual address the symbols
 * use. Returns 0 and sets *vaddr, or -ENOENT when no loadable segment holds the offset.
 */
int elfsym__offset_to_vaddr(const struct elfsym *e, uint64_t file_offset, uint64_t *vaddr);

/* The reverse: an ELF virtual address to its file offset. 0, or -ENOENT. */
int elfsym__vaddr_to_offset(const struct elfsym *e, uint64_t vaddr, uint64_t *file_offset);

/*
 * The function containing `vaddr`: its name (borrowed, valid until elfsym__free) and the offset
 * of vaddr into it. NULL when no sized symbol covers the address.
 */
const char *elfsym__lookup(const struct elfsym *e, uint64_t vaddr, uint64_t *sym_offset);

/* The GNU build-id; returns its length in bytes (0 when the file has none). Borrowed. */
size_t elfsym__build_id(const struct elfsym *e, const uint8_t **id);

/* The file name .gnu_debuglink names (no directory part), or NULL. Borrowed. */
const char *elfsym__debuglink(const struct elfsym *e);

/* Memory held by the tables, in bytes. */
size_t elfsym__bytes(const struct elfsym *e);

size_t elfsym__count(const struct elfsym *e);

void elfsym__free(struct elfsym *e);

#endif
