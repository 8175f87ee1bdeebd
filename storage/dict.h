/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Dictionary chunks: the rows that samples refer to by id (strings, frames, stacks, processes,
 * threads), stored many to a blob. A row table costs SQLite a cell, a record header and an index
 * entry per row; a chunk is one row holding thousands of rows as zstd-compressed columns, so the
 * dictionaries of an hour of a busy host take a fraction of a byte per sample. A chunk covers the
 * ids [id, last] of its table (chunks never overlap) and holds n rows in that range: rows are
 * only ever added with new ids and deleted by pruning, never changed.
 *
 * Internal to storage/: the writer keeps every row in memory and writes new ones as a chunk per
 * flush; the reader loads the chunk of an id it needs; maintenance merges small chunks and
 * removes pruned rows. Decoding treats the blob as untrusted.
 */
#ifndef EMBER_DICT_H
#define EMBER_DICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct storage;

enum dict_kind {
	DICT_STRING,
	DICT_FRAME,
	DICT_STACK,
	DICT_PROCESS,
	DICT_THREAD,
	DICT__MAX,
};

/* The table of each kind ("string_chunks", ...) and a singular noun for messages. */
extern const char *const dict_table[DICT__MAX];
extern const char *const dict_noun[DICT__MAX];

/* At most this many rows in one chunk, this many frames in one stack, bytes in one string. */
#define DICT_MAX_ROWS (1u << 20)
#define DICT_MAX_DEPTH 4096
#define DICT_MAX_STRING (1u << 20)

/* String ids are 0 for "none" in the rows that refer to them. */
struct dict_string {
	int64_t id;
	const char *str; /* not NUL-terminated on decode: use len */
	uint32_t len;
};

struct dict_frame {
	int64_t id;
	uint8_t kind; /* enum storage_frame_kind */
	bool inlined;
	uint32_t line;
	int64_t name, module, file, build_id; /* string ids */
	uint64_t offset;
};

struct dict_stack {
	int64_t id;
	uint8_t status; /* enum storage_stack_status */
	uint32_t depth;
	const int64_t *frames; /* leaf first */
};

struct dict_process {
	int64_t id;
	uint32_t pid, uid; /* uid UINT32_MAX when unknown */
	int64_t proc_start, started_ns, seen_ns;
	int64_t comm, exe, cmdline; /* string ids */
};

struct dict_thread {
	int64_t id;
	int64_t process; /* dict_process id */
	uint32_t tid;
	int64_t comm; /* string id */
};

/* Pointer to the i-th row of an array of rows of `kind`. */
const void *dict_row(enum dict_kind kind, const void *rows, size_t i);
int64_t dict_row_id(enum dict_kind kind, const void *row);

/*
 * Encodes n rows of `kind` (sorted by id, ids > 0 and unique) at zstd `level`. On success returns
 * 0 and an owned blob in *out (free()); -EINVAL for bad rows, -ENOMEM.
 */
int dict_encode(enum dict_kind kind, const void *rows, size_t n, int level, void **out,
		size_t *len);

/* Called for each decoded row (borrowed for the call); a non-zero return stops and is returned. */
typedef int (*dict_row_fn)(enum dict_kind kind, const void *row, void *ctx);

/*
 * Decodes a chunk of `kind` whose rows must have ids in [first, last], n of them. 0, what fn
 * returned, -EBADMSG for a malformed chunk, -ENOMEM.
 */
int dict_decode(enum dict_kind kind, const void *data, size_t len, int64_t first, int64_t last,
		size_t n, dict_row_fn fn, void *ctx);

/*
 * A stack chunk opened for decoding part by part. Stacks are stored in segments (of a few hundred)
 * that decode independently, so a reader that needs a few stacks of a chunk of tens of thousands
 * decodes a few segments, not the chunk. (Chunks written before segments are one segment.)
 */
struct dict_stacks;

/* Opens (decompresses and checks the framing of) a stack chunk: see dict_decode for the
 * arguments. 0 and *out (dict_stacks_free), -EBADMSG for a malformed chunk, -ENOMEM. */
int dict_stacks_open(const void *data, size_t len, int64_t first, int64_t last, size_t n,
		     struct dict_stacks **out);

/* Whether `id` is within the ids the chunk covers ([first, last]). */
bool dict_stacks_covers(const struct dict_stacks *c, int64_t id);

/*
 * Decodes the segment holding stack `id`, calling fn for each of its stacks, unless it was
 * decoded before (then 0 and no call). -ENOENT when the chunk has no such stack, what fn
 * returned, -EBADMSG for a malformed segment, -ENOMEM.
 */
int dict_stacks_decode_of(struct dict_stacks *c, int64_t id, dict_row_fn fn, void *ctx);

/* As dict_stacks_decode_of, for every segment not decoded yet. */
int dict_stacks_decode_all(struct dict_stacks *c, dict_row_fn fn, void *ctx);

/* Whether every segment was decoded (nothing more to get from the chunk). */
bool dict_stacks_done(const struct dict_stacks *c);

/* The memory the opened chunk holds, in bytes. */
size_t dict_stacks_bytes(const struct dict_stacks *c);

void dict_stacks_free(struct dict_stacks *c);

/*
 * Writes n rows (sorted by id) as one chunk covering [first, last] (first <= the first id,
 * last >= the last), of merge `tier`, compressed at zstd `level`. 0 or -errno. Must run inside a
 * write transaction.
 */
int dict_write_chunk(struct storage *db, enum dict_kind kind, const void *rows, size_t n,
		     int64_t first, int64_t last, int tier, int level);

/* Calls fn for every row of every chunk of `kind`, in chunk order. 0 or -errno. */
int dict_load_all(struct storage *db, enum dict_kind kind, dict_row_fn fn, void *ctx);

/*
 * Calls fn for every row of the chunk covering `id`. 0, -ENOENT when no chunk covers it, or
 * -errno. `stmt` caches the prepared lookup (NULL at first; the caller finalizes it).
 */
int dict_load_chunk_of(struct storage *db, enum dict_kind kind, int64_t id, void **stmt,
		       dict_row_fn fn, void *ctx);

/* Opens the stack chunk covering `id` (see dict_stacks_open). 0, -ENOENT when no chunk covers it,
 * or -errno. `stmt` as for dict_load_chunk_of. */
int dict_stacks_load(struct storage *db, int64_t id, void **stmt, struct dict_stacks **out);

#endif
