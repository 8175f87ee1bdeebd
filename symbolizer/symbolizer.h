/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The symbolizer: turns sampled instruction pointers into frames. Kernel IPs resolve through
 * kallsyms (refreshed when modules or BPF programs load); user IPs through the ELF file mapped at
 * that address: DWARF (function, file:line, every inlined call its own frame) where debug info
 * exists, found as gdb finds it, else the ELF symbol tables, else module+offset. Anonymous
 * executable memory resolves through the process's perf map (JIT frames).
 *
 * Three objects:
 *   - struct sym_process: one process as the symbolizer sees it: its root directory (for
 *     containers) and its namespace pid (for the perf map), and the mapped files it pins.
 *   - struct sym_binary: one ELF file, known by its GNU build-id (or a content hash when it has
 *     none), held open by fd, parsed once however many processes and paths map it. The unwinder
 *     shares it: it may open the file through sym_binary__fd() and hang its own per-binary state
 *     on it with sym_binary__set_priv().
 *   - the symbolizer itself: the caches. Parsed tables and resolved addresses, keyed by
 *     (binary, file offset), are bounded by opts.cache_bytes and evicted least-recently-used.
 *     The tables of a binary used in the last SYM_HOT_RESOLVES resolutions are never evicted:
 *     a working set larger than the budget overshoots it (stats.hot_kept counts it) instead of
 *     parsing the same debug info again for every sample.
 *
 * Files named by other processes are hostile input: see symbolizer/safeopen.h for how they are
 * opened. Nothing here blocks on the network; debuginfod, when enabled, runs in a thread of its
 * own and its results are picked up by later lookups.
 */
#ifndef EMBER_SYMBOLIZER_H
#define EMBER_SYMBOLIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "symbolizer/procmaps.h"

enum sym_kind {
	SYM_KIND_USER = 0,
	SYM_KIND_KERNEL = 1,
	SYM_KIND_JIT = 2, /* named from a perf map */
};

/* Frames one address can expand to: the function and its inlined calls. */
#define SYM_MAX_FRAMES 32

/* Resolutions within which a binary counts as in use: its tables stay, whatever the budget. */
#define SYM_HOT_RESOLVES 65536

/*
 * Resolutions after which what none of them used is freed: cached answers, the DWARF units built
 * for lookups, and the tables of binaries not resolved through (all built again when needed; a
 * binary no process maps is closed). Without it, every new address of a binary in use adds an
 * answer and maybe a unit, every binary ever run keeps its tables, and a long-running collector
 * grows toward its budget.
 * About 5 minutes of the soak test (999 Hz, 1,700 resolutions a second), hours at 19 Hz.
 */
#define SYM_IDLE_RESOLVES (1u << 19)

/* Default bound of the symbol caches (--symbol-cache-mb). */
#define SYMBOLIZER_DEFAULT_CACHE_BYTES (256ull << 20)

struct sym_frame {
	const char *name;     /* function name, demangled; NULL when unknown */
	const char *module;   /* binary path, "[kernel.kallsyms]", "[name]" of a module, "[jit]" */
	uint64_t offset;      /* user: the file offset of the IP in module; kernel: IP - symbol, or
				 the IP when unnamed; JIT: IP - symbol start */
	const char *file;     /* source file, NULL when unknown */
	uint32_t line;	      /* source line, 0 when unknown */
	bool inlined;	      /* an inlined call inside the next frame (toward the root) */
	const char *build_id; /* the module's GNU build-id in hex, NULL when it has none */
	enum sym_kind kind;
};

struct symbolizer_opts {
	const char *kallsyms_path; /* NULL: /proc/kallsyms */
	const char *modules_path;  /* NULL: /proc/modules (read to notice module loads) */
	const char *proc_root;	   /* NULL: /proc (tests point it elsewhere) */
	const char *debug_dir;	   /* NULL: /usr/lib/debug */
	uint64_t cache_bytes;	   /* 0: SYMBOLIZER_DEFAULT_CACHE_BYTES */
	bool debuginfod;	   /* fetch missing debug info from $DEBUGINFOD_URLS, off the
				      sampling path */
	bool no_map_files;	   /* tests: open mapped files by path only, as after an exit */
	bool one_pass;		   /* one pass over a list of addresses (`ember symbolize`): instead
				      of the LRU answer cache, whose filling costs more than it saves
				      when addresses rarely repeat, a small fixed table remembers the
				      latest answer per slot; nothing idle is freed */
	uint64_t idle_resolves;	   /* 0: SYM_IDLE_RESOLVES (tests make it small) */
};

struct symbolizer_stats {
	unsigned long binaries;	      /* distinct binaries identified (by build-id or hash) */
	unsigned long binary_errors;  /* mapped files that could not be opened or identified */
	unsigned long dwarf_binaries; /* binaries with DWARF found */
	unsigned long elf_errors;     /* ELF/DWARF files or units that failed to parse */
	unsigned long stale_files;    /* opened by path, but another file than the mapping */
	unsigned long kernel_symbols;
	unsigned long kernel_reloads;
	unsigned long perfmap_reads;
	unsigned long debuginfod_found;
	uint64_t cache_hits, cache_misses;
	uint64_t evictions;	/* tables and cached addresses evicted to stay in cache_bytes */
	uint64_t cache_bytes;	/* held now */
	uint64_t tables_read;	/* ELF symbol tables and DWARF read, first time or after eviction */
	uint64_t hot_kept;	/* evictions refused: the tables were in use (see budget, below) */
	uint64_t idle_freed;	/* bytes of answers, DWARF units and tables freed as idle
				   (SYM_IDLE_RESOLVES) */
	uint64_t idle_binaries; /* binaries whose tables were freed as idle (unmapped: closed) */
};

struct symbolizer;
struct sym_process;
struct sym_binary;

/* NULL with errno on failure. A kallsyms that cannot be read is not an error: kernel frames then
 * come back unnamed. */
struct symbolizer *symbolizer__new(const struct symbolizer_opts *opts);

/*
 * Resolves a kernel IP into one frame. Always succeeds: *out is unnamed when no symbol covers ip.
 * Strings are borrowed: valid until the next symbolizer call that resolves or refreshes.
 */
void symbolizer__kernel(struct symbolizer *s, uint64_t ip, struct sym_frame *out);

/*
 * Notices kernel modules or BPF programs loaded since the last check (through the modules file and
 * the highest BPF program id); kallsyms is then read again when a kernel IP lands where new code
 * goes (past the core kernel's text), at most every 5 s, so that hosts loading BPF programs all
 * the time do not make ember read kallsyms all the time. Cheap: call it about once a second.
 * Returns 1 when kallsyms was reloaded since the previous call (cached kernel frames are stale),
 * else 0.
 */
int symbolizer__kernel_refresh(struct symbolizer *s);

/*
 * A process as the symbolizer sees it. Opens /proc/PID/root (kept as a directory fd, so that its
 * files can still be opened inside that root after the process exits) and reads its namespace
 * pid. A process already gone is not an error: it simply has no root. NULL with errno ENOMEM.
 */
struct sym_process *symbolizer__process_new(struct symbolizer *s, int pid);

/*
 * Pins every file-backed executable mapping of `maps` not pinned yet: opens it (through
 * /proc/PID/map_files while the process lives, else by its path inside the process's root,
 * accepted only when the device and inode match the maps line), identifies it by build-id, and
 * keeps it open until symbolizer__process_free, so that samples of a process that exited, or whose
 * binary was deleted or replaced, still resolve. Call it after every maps read. Returns how many
 * mappings could not be opened, or -ENOMEM.
 */
int symbolizer__process_pin(struct symbolizer *s, struct sym_process *p,
			    const struct procmaps *maps);

/*
 * As symbolizer__process_pin, for a maps snapshot taken earlier by someone else along with an fd
 * per entry on its file (-1 when none; the profiler's prefetch thread opens them while the
 * process lives): files not known yet are identified from those fds (each fd used is taken and
 * set to -1; the caller closes the rest). Returns how many mappings stay unresolvable, or -ENOMEM.
 */
int symbolizer__process_adopt(struct symbolizer *s, struct sym_process *p,
			      const struct procmaps *maps, int *fds);

/* Releases the process's pins (its binaries stay cached while the cache has room). Accepts NULL. */
void symbolizer__process_free(struct symbolizer *s, struct sym_process *p);

/*
 * Resolves a user IP of process `p` lying in mapping `map` (from its maps snapshot; NULL when the
 * IP is in no known mapping) into 1 to `max` frames, innermost first: the code at ip, then each
 * function it is inlined into; only the last is not inlined. Always returns at least one frame
 * (module+offset when nothing names the address). Strings are borrowed: valid until the next
 * symbolizer call that resolves, refreshes or frees a process.
 */
int symbolizer__user(struct symbolizer *s, struct sym_process *p, const struct procmaps_entry *map,
		     uint64_t ip, struct sym_frame *out, int max);

/*
 * Resolves an address of an ELF file given by path, as `addr2line -e` does: `vaddr` is an ELF
 * virtual address. The file is identified and cached like a mapped one. Returns the number of
 * frames (at least 1), or -errno when the file cannot be opened or is not ELF.
 */
int symbolizer__file(struct symbolizer *s, const char *path, uint64_t vaddr, struct sym_frame *out,
		     int max);

/*
 * The binary in the ELF file at `path` (a host path), opened and identified like a mapped file and
 * pinned by the symbolizer itself, or NULL with errno (ENOENT..., ENOEXEC when not ELF). Borrowed:
 * valid until symbolizer__free.
 */
struct sym_binary *symbolizer__open_file(struct symbolizer *s, const char *path);

/* Resolves ELF virtual address `vaddr` of binary `b`, as symbolizer__file, without the path
 * lookup: at least 1 frame. */
int symbolizer__binary_vaddr(struct symbolizer *s, struct sym_binary *b, uint64_t vaddr,
			     struct sym_frame *out, int max);

/*
 * The binary mapped at `map` in process `p`, pinned by p (opened and identified on first use), or
 * NULL with errno when the file cannot be opened or identified. Borrowed: valid until `p` is freed.
 */
struct sym_binary *symbolizer__binary(struct symbolizer *s, struct sym_process *p,
				      const struct procmaps_entry *map);

/*
 * Opens the file behind mapping `map` of process `pid` read-only, the way symbolizer__user does
 * (map_files, else the path inside the process's root, checked against the maps line's device and
 * inode; see symbolizer__process_pin), for other readers of the same files (the unwinder). A file
 * some process pins is reopened from its pinned fd, so this works after the process exited.
 * Returns an fd the caller owns, or -errno.
 */
int symbolizer__open_mapped(struct symbolizer *s, int pid, const struct procmaps_entry *map);

/* An fd open on the binary's ELF file (read-only, regular). Borrowed: do not close it. */
int sym_binary__fd(const struct sym_binary *b);
/* The path it was first seen under (inside its process's root). */
const char *sym_binary__path(const struct sym_binary *b);
/* Its GNU build-id; the length (0 when it has none). */
size_t sym_binary__build_id(const struct sym_binary *b, const uint8_t **id);
/* File offset (as maps gives it) to ELF virtual address: 0, or -ENOENT outside every PT_LOAD. */
int sym_binary__offset_to_vaddr(const struct sym_binary *b, uint64_t file_offset, uint64_t *vaddr);
/*
 * One slot of private state for another module (the unwinder's per-binary CFI cache): set it once;
 * `release` is called when the binary leaves the cache. sym_binary__priv returns it or NULL.
 */
void sym_binary__set_priv(struct sym_binary *b, void *priv, void (*release)(void *priv));
void *sym_binary__priv(const struct sym_binary *b);

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *out);

void symbolizer__free(struct symbolizer *s);

#endif
