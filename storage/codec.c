// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Sample blocks. Columns compress far better than rows: runs of one thread, one CPU or one stack
 * become repeated bytes that zstd folds away. Layout before compression: varint n, then n times
 * (zigzag delta from the previous time, in microseconds, the first from t_start), n cpus,
 * n threads, n stacks, n cgroups.
 */
#include "storage/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define CODEC_ZSTD_LEVEL 3
/* A block never holds more than this many samples; a larger count is a corrupt block. */
#define CODEC_MAX_SAMPLES (1u << 24)

size_t codec_put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

size_t codec_get_varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;
	size_t n = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (p + n >= end)
			return 0;
		r |= (uint64_t)(p[n] & 0x7f) << shift;
		if (!(p[n++] & 0x80)) {
			*v = r;
			return n;
		}
	}
	return 0;
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

int codec_encode(const struct storage_sample *v, size_t n, int64_t t_start_ns, void **out,
		 size_t *out_len)
{
	size_t raw_cap = 10 + n * 50, len = 0, bound, zlen;
	uint8_t *raw, *z = NULL;
	int64_t prev_us = t_start_ns / 1000;
	int err = 0;

	if (n > CODEC_MAX_SAMPLES)
		return -EINVAL;
	raw = malloc(raw_cap);
	if (!raw)
		return -ENOMEM;
	len += codec_put_varint(raw + len, n);
	for (size_t i = 0; i < n; i++) {
		int64_t us = v[i].time_ns / 1000;

		len += codec_put_varint(raw + len, zigzag(us - prev_us));
		prev_us = us;
	}
	for (size_t i = 0; i < n; i++)
		len += codec_put_varint(raw + len, v[i].cpu);
	for (size_t i = 0; i < n; i++)
		len += codec_put_varint(raw + len, (uint64_t)v[i].thread);
	for (size_t i = 0; i < n; i++)
		len += codec_put_varint(raw + len, (uint64_t)v[i].stack);
	for (size_t i = 0; i < n; i++)
		len += codec_put_varint(raw + len, v[i].cgroup);

	bound = ZSTD_compressBound(len);
	z = malloc(bound);
	if (!z) {
		err = -ENOMEM;
		goto out;
	}
	zlen = ZSTD_compress(z, bound, raw, len, CODEC_ZSTD_LEVEL);
	if (ZSTD_isError(zlen)) {
		err = -EINVAL;
		goto out;
	}
	*out = z;
	*out_len = zlen;
	z = NULL;
out:
	free(z);
	free(raw);
	return err;
}

int codec_decode(const void *data, size_t len, int64_t t_start_ns, size_t expected,
		 struct storage_sample **out)
{
	unsigned long long raw_len = ZSTD_getFrameContentSize(data, len);
	struct storage_sample *v = NULL;
	const uint8_t *p, *end;
	uint8_t *raw = NULL;
	uint64_t n, x;
	int64_t us = t_start_ns / 1000;
	size_t r, i;
	int err = -EBADMSG;

	/* Five varints of at most 10 bytes per sample, plus the count. */
	if (expected > CODEC_MAX_SAMPLES || raw_len == ZSTD_CONTENTSIZE_UNKNOWN ||
	    raw_len == ZSTD_CONTENTSIZE_ERROR || raw_len > 10 + expected * 50)
		return -EBADMSG;
	raw = malloc(raw_len ? raw_len : 1);
	v = calloc(expected ? expected : 1, sizeof(*v));
	if (!raw || !v) {
		err = -ENOMEM;
		goto out;
	}
	r = ZSTD_decompress(raw, raw_len, data, len);
	if (ZSTD_isError(r) || r != raw_len)
		goto out;
	p = raw;
	end = raw + raw_len;
	r = codec_get_varint(p, end, &n);
	if (!r || n != expected)
		goto out;
	p += r;
#define COLUMN(assign)                            \
	for (i = 0; i < n; i++) {                 \
		r = codec_get_varint(p, end, &x); \
		if (!r)                           \
			goto out;                 \
		p += r;                           \
		assign;                           \
	}
	COLUMN((us += unzigzag(x), v[i].time_ns = us * 1000));
	COLUMN(v[i].cpu = (uint32_t)x);
	COLUMN(v[i].thread = (int64_t)x);
	COLUMN(v[i].stack = (int64_t)x);
	COLUMN(v[i].cgroup = x);
#undef COLUMN
	if (p != end)
		goto out;
	*out = v;
	v = NULL;
	err = 0;
out:
	free(raw);
	free(v);
	return err;
}
