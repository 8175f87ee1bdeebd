/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Parser for /proc/PID/maps. The text comes from another process's address space and may name
 * files with any bytes in them: it is treated as hostile input. Only executable mappings are kept,
 * since only they can hold a sampled instruction pointer.
 */
#ifndef EMBER_PROCMAPS_H
#define EMBER_PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct procmaps_entry {
	uint64_t start;
	uint64_t end;	 /* exclusive */
	uint64_t offset; /* file offset of `start` */
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	const char *path; /* "" for anonymous memory; "[vdso]" and friends as the kernel names them;
			     "" with a non-zero inode: a file known by device and inode only (maps
			     the kernel sent as a process exited, struct ember_maps_event) */
};

/* Whether the entry maps a file (by path, or known by device and inode only). */
static inline bool procmaps_entry_is_file(const struct procmaps_entry *e)
{
	return e->inode && (e->path[0] == '/' || e->path[0] == '\0');
}

struct procmaps;

/*
 * Parses the text of a maps file (`len` bytes, need not be NUL-terminated). Returns an owned
 * object, or NULL with errno EINVAL for a malformed line or ENOMEM.
 */
struct procmaps *procmaps__parse(const char *text, size_t len);

/*
 * Builds maps from `n` executable mappings (copied, paths too; a NULL path is ""). Returns an owned
 * object, or NULL with errno EINVAL (an empty or inverted range) or ENOMEM.
 */
struct procmaps *procmaps__new(const struct procmaps_entry *v, size_t n);

/*
 * A copy of `m` in which each file known by device and inode only takes the path of an entry of
 * `names` (NULL: none) for the same device and inode, when there is one. NULL with errno ENOMEM.
 */
struct procmaps *procmaps__named(const struct procmaps *m, const struct procmaps *names);

/* Reads and parses /proc/<pid>/maps. NULL with errno (ENOENT when the process is gone). */
struct procmaps *procmaps__read(int pid);

/* The executable mapping holding `addr`, or NULL. Borrowed: valid until procmaps__free. */
const struct procmaps_entry *procmaps__find(const struct procmaps *m, uint64_t addr);

size_t procmaps__count(const struct procmaps *m);
const struct procmaps_entry *procmaps__entry(const struct procmaps *m, size_t i);

void procmaps__free(struct procmaps *m);

#endif
