/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Sample block codecs. A block is a window of samples stored as one blob; decoding treats the blob
 * as untrusted: every length, count and index is checked.
 *
 * Version 2 (what the writer produces) sorts the samples by (cpu, time) and stores:
 *   - a header: the sample count, the time unit, the runs of each CPU, and the block's
 *     dictionaries (the distinct thread ids, stack ids and cgroups it references, sorted);
 *   - one zstd frame per column, so a query decompresses only the columns it needs:
 *       time:   per CPU, time deltas in the block's unit (regular ticks become one repeated value);
 *       thread: per CPU, the rank of the thread in that CPU's move-to-front list (0: the thread
 *               that ran last on this CPU), or an escape to a dictionary index;
 *       stack:  per thread, the rank of the stack in that thread's move-to-front list (0: the same
 *               stack as its previous sample), or an escape to a dictionary index;
 *       cgroup: 0 when the sample's cgroup is its thread's current one, else 1 + dictionary index;
 *       count:  per-minute rollups only: how many samples each entry stands for.
 * A per-minute rollup is the same layout with a one-minute unit, no CPU, and the count column.
 *
 * Version 1 (schema 1 databases, read only for migration) is a single zstd frame of varint
 * columns: time deltas in microseconds, cpu, thread, stack, cgroup.
 */
#ifndef EMBER_CODEC_H
#define EMBER_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define CODEC_ENCODING_V1 1
#define CODEC_ENCODING_V2 2

/* The cpu of samples that were aggregated away (per-minute rollups). */
#define STORAGE_CPU_UNKNOWN UINT32_MAX

/* A block never holds more than this many samples (or rollup entries). */
#define CODEC_MAX_SAMPLES (1u << 24)

struct storage_sample {
	int64_t time_ns; /* since the epoch */
	int64_t thread;	 /* threads.id */
	int64_t stack;	 /* stacks.id */
	uint64_t cgroup;
	uint32_t cpu;
};

/*
 * Encodes n samples (in any order) as a version 2 block. Times are kept at `unit_ns` resolution
 * (rounded down), relative to t_start_ns, which must not be after any sample. `counts` is NULL
 * for raw samples, or the weight of each entry for a rollup. `level` is zstd's compression level.
 * On success returns 0 and an owned buffer in *out (free()) of *out_len bytes; -EINVAL (a count
 * or time out of range) or -ENOMEM.
 */
int codec_block_encode(const struct storage_sample *v, const uint32_t *counts, size_t n,
		       int64_t t_start_ns, int64_t unit_ns, int level, void **out, size_t *out_len);

/*
 * A version 2 block opened for reading: the header is decoded at once, each column on first use.
 * The block borrows `data`, which must stay valid until codec_block__free. Columns are in block
 * order, sorted by (cpu, time); dictionary indices refer to the arrays codec_block__threads,
 * __stacks and __cgroups return. Everything returned is borrowed from the block.
 */
struct codec_block;

/* NULL with errno EBADMSG (malformed, or not `expected` samples) or ENOMEM. */
struct codec_block *codec_block__open(const void *data, size_t len, int64_t t_start_ns,
				      size_t expected);
size_t codec_block__n(const struct codec_block *b);
int64_t codec_block__unit(const struct codec_block *b);
const int64_t *codec_block__threads(const struct codec_block *b, size_t *k);
const int64_t *codec_block__stacks(const struct codec_block *b, size_t *m);
const uint64_t *codec_block__cgroups(const struct codec_block *b, size_t *c);
/* Each returns 0 and the column in *col, or -EBADMSG / -ENOMEM. */
int codec_block__time_col(struct codec_block *b, const int64_t **col);
int codec_block__cpu_col(struct codec_block *b, const uint32_t **col);
int codec_block__thread_col(struct codec_block *b, const uint32_t **col);
int codec_block__stack_col(struct codec_block *b, const uint32_t **col);
int codec_block__cgroup_col(struct codec_block *b, const uint32_t **col);
/* NULL in *col when every entry counts once (raw samples). */
int codec_block__count_col(struct codec_block *b, const uint32_t **col);
void codec_block__free(struct codec_block *b);

/*
 * Decodes a whole block, version 1 or 2, into samples in block order (per-minute rollup entries
 * are not samples: -EBADMSG). `expected` is the sample count stored beside it. Returns 0 and an
 * owned array in *out (free()), or -EBADMSG for a malformed block, -ENOMEM.
 */
int codec_decode(const void *data, size_t len, int64_t t_start_ns, size_t expected,
		 struct storage_sample **out);

/*
 * Encodes n samples as a version 1 block (microsecond times, one frame), as schema 1 stored them.
 * Kept so tests can build schema 1 databases to migrate. 0, -ENOMEM or -EINVAL.
 */
int codec_encode(const struct storage_sample *v, size_t n, int64_t t_start_ns, void **out,
		 size_t *out_len);

/* LEB128 helpers, shared with the stack encoding. put returns the bytes written (at most 10);
 * get returns the bytes read, or 0 when the input ends or overflows. */
size_t codec_put_varint(uint8_t *p, uint64_t v);
size_t codec_get_varint(const uint8_t *p, const uint8_t *end, uint64_t *v);

/* A growable byte buffer for building blobs. Functions return 0 or -ENOMEM; after a failure the
 * buffer is marked and later appends do nothing, so callers check once at the end. */
struct codec_buf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

void codec_buf_varint(struct codec_buf *b, uint64_t v);
void codec_buf_bytes(struct codec_buf *b, const void *p, size_t n);
void codec_buf_free(struct codec_buf *b);

/*
 * Appends zstd(src) at `level` to b, preceded by its compressed length as a varint. An empty src
 * is stored as length 0.
 */
void codec_buf_zstd(struct codec_buf *b, const void *src, size_t n, int level);

/*
 * Reads one frame written by codec_buf_zstd at *p (advanced past it), decompressing at most
 * `max_out` bytes into an owned buffer (*out, *out_len; *out NULL for an empty frame).
 * -EBADMSG or -ENOMEM.
 */
int codec_read_zstd(const uint8_t **p, const uint8_t *end, size_t max_out, uint8_t **out,
		    size_t *out_len);

/* t rounded down to a multiple of unit (also for times before the epoch): what a block stores
 * of a time, and so what its row's t_start and t_end must say. */
static inline int64_t codec_floor(int64_t t, int64_t unit)
{
	int64_t q = t / unit;

	return (q - (t % unit < 0)) * unit;
}

/* zigzag: signed to unsigned so small magnitudes stay small varints. */
static inline uint64_t codec_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t codec_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#endif
