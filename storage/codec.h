/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The sample block codec: a window of samples stored as columns of LEB128 varints (times as
 * zigzag deltas in microseconds, then cpu, thread, stack and cgroup), compressed with zstd.
 * Decoding treats the blob as untrusted: every length is checked.
 */
#ifndef EMBER_CODEC_H
#define EMBER_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define CODEC_ENCODING_V1 1

struct storage_sample {
	int64_t time_ns; /* since the epoch */
	int64_t thread;	 /* threads.id */
	int64_t stack;	 /* stacks.id */
	uint64_t cgroup;
	uint32_t cpu;
};

/*
 * Encodes n samples (sorted by time or not) with times relative to t_start_ns. On success returns
 * 0 and an owned buffer in *out (free()) of *out_len bytes; -ENOMEM or -EINVAL otherwise.
 */
int codec_encode(const struct storage_sample *v, size_t n, int64_t t_start_ns, void **out,
		 size_t *out_len);

/*
 * Decodes a block written by codec_encode. `expected` is the sample count stored beside it.
 * Returns 0 and an owned array in *out (free()), or -EBADMSG for a malformed block, -ENOMEM.
 */
int codec_decode(const void *data, size_t len, int64_t t_start_ns, size_t expected,
		 struct storage_sample **out);

/* LEB128 helpers, shared with the stack encoding. put returns the bytes written (at most 10);
 * get returns the bytes read, or 0 when the input ends or overflows. */
size_t codec_put_varint(uint8_t *p, uint64_t v);
size_t codec_get_varint(const uint8_t *p, const uint8_t *end, uint64_t *v);

#endif
