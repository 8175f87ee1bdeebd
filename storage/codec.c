// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Sample blocks (see codec.h for the layout). Columns compress far better than rows, and the
 * move-to-front ranks turn "the same thread as before on this CPU" and "the same stack as this
 * thread's previous sample" into runs of small bytes that zstd's entropy coder folds to a few
 * bits: what is left is the information the samples really carry.
 */
#include "storage/codec.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/* Move-to-front list lengths: the threads a CPU ran lately, the stacks a thread had lately. */
#define CODEC_THREAD_MTF 16
#define CODEC_STACK_MTF 32
/* Header flags. */
#define CODEC_F_COUNTS 1u

enum {
	COL_TIME,
	COL_THREAD,
	COL_STACK,
	COL_CGROUP,
	COL_COUNT,
	COL_THREAD_ESC,
	COL_STACK_ESC,
	COL_THREAD_SAME,
	COL_STACK_SAME,
	NCOLS
};

/* A stream of bits, eight to a byte, low bit first. */
struct bitw {
	struct codec_buf *b;
	uint8_t byte;
	unsigned int nbits;
};

static void bit_put(struct bitw *w, bool bit)
{
	w->byte |= (uint8_t)bit << w->nbits;
	if (++w->nbits == 8) {
		codec_buf_bytes(w->b, &w->byte, 1);
		w->byte = 0;
		w->nbits = 0;
	}
}

static void bit_flush(struct bitw *w)
{
	if (w->nbits)
		codec_buf_bytes(w->b, &w->byte, 1);
	w->byte = 0;
	w->nbits = 0;
}

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

	for (unsigned int shift = 0; shift < 64; shift += 7) {
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

static bool buf_reserve(struct codec_buf *b, size_t more)
{
	if (b->err)
		return false;
	if (b->len + more > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		uint8_t *np;

		while (ncap < b->len + more)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (!np) {
			b->err = -ENOMEM;
			return false;
		}
		b->p = np;
		b->cap = ncap;
	}
	return true;
}

void codec_buf_varint(struct codec_buf *b, uint64_t v)
{
	if (buf_reserve(b, 10))
		b->len += codec_put_varint(b->p + b->len, v);
}

void codec_buf_bytes(struct codec_buf *b, const void *p, size_t n)
{
	if (n && buf_reserve(b, n)) {
		memcpy(b->p + b->len, p, n);
		b->len += n;
	}
}

void codec_buf_free(struct codec_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void codec_buf_zstd(struct codec_buf *b, const void *src, size_t n, int level)
{
	size_t bound, zlen;
	uint8_t lenbuf[10];
	ZSTD_CCtx *cctx;
	void *z;

	if (!n) {
		codec_buf_varint(b, 0);
		return;
	}
	bound = ZSTD_compressBound(n);
	z = malloc(bound);
	cctx = ZSTD_createCCtx();
	if (!z || !cctx) {
		free(z);
		ZSTD_freeCCtx(cctx);
		b->err = -ENOMEM;
		return;
	}
	/* A checksum of the content in each frame: flipped bits on disk are found (by readers and
	 * `ember db check`) instead of decoding into wrong samples. 4 bytes a frame. */
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
	zlen = ZSTD_compress2(cctx, z, bound, src, n);
	ZSTD_freeCCtx(cctx);
	if (ZSTD_isError(zlen)) {
		b->err = b->err ? b->err : -EINVAL;
	} else {
		codec_buf_bytes(b, lenbuf, codec_put_varint(lenbuf, zlen));
		codec_buf_bytes(b, z, zlen);
	}
	free(z);
}

int codec_read_zstd(const uint8_t **p, const uint8_t *end, size_t max_out, uint8_t **out,
		    size_t *out_len)
{
	unsigned long long raw_len;
	uint64_t zlen;
	size_t used = codec_get_varint(*p, end, &zlen), r;
	uint8_t *raw;

	if (!used || zlen > (uint64_t)(end - *p - (ptrdiff_t)used))
		return -EBADMSG;
	*p += used;
	if (!zlen) {
		*out = NULL;
		*out_len = 0;
		return 0;
	}
	raw_len = ZSTD_getFrameContentSize(*p, zlen);
	if (raw_len == ZSTD_CONTENTSIZE_UNKNOWN || raw_len == ZSTD_CONTENTSIZE_ERROR ||
	    raw_len > max_out || !raw_len)
		return -EBADMSG;
	raw = malloc(raw_len);
	if (!raw)
		return -ENOMEM;
	r = ZSTD_decompress(raw, raw_len, *p, zlen);
	if (ZSTD_isError(r) || r != raw_len) {
		free(raw);
		return -EBADMSG;
	}
	*p += zlen;
	*out = raw;
	*out_len = raw_len;
	return 0;
}

/* ---- Version 2: encoding. ---- */

struct enc {
	int64_t time_ns;
	uint32_t cpu, tidx, sidx, cidx, count;
};

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_enc(const void *a, const void *b)
{
	const struct enc *x = a, *y = b;

	if (x->cpu != y->cpu)
		return x->cpu < y->cpu ? -1 : 1;
	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? -1 : 1;
	if (x->tidx != y->tidx)
		return x->tidx < y->tidx ? -1 : 1;
	return x->sidx < y->sidx ? -1 : x->sidx > y->sidx;
}

/* Sorts and deduplicates v in place; returns the new length. */
static size_t uniq_i64(int64_t *v, size_t n)
{
	size_t k = 0;

	qsort(v, n, sizeof(*v), cmp_i64);
	for (size_t i = 0; i < n; i++)
		if (!k || v[k - 1] != v[i])
			v[k++] = v[i];
	return k;
}

static size_t uniq_u64(uint64_t *v, size_t n)
{
	size_t k = 0;

	qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < n; i++)
		if (!k || v[k - 1] != v[i])
			v[k++] = v[i];
	return k;
}

static uint32_t find_i64(const int64_t *v, size_t n, int64_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (uint32_t)lo;
}

static uint32_t find_u64(const uint64_t *v, size_t n, uint64_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (uint32_t)lo;
}

/* Floor division: unit boundaries stay aligned for times before the epoch too. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b && (a < 0) != (b < 0)) ? q - 1 : q;
}

/*
 * Move-to-front coding of x in list (len entries, at most cap): a bit in `same` says whether x is
 * at the front already (by far the most frequent case, which a byte per sample would overpay);
 * else its rank - 1 goes to `ranks`, or when absent the escape `cap - 1` to `ranks` and x itself
 * to `esc`. Then x moves to the front.
 */
static void mtf_encode(uint32_t *list, uint32_t *len, uint32_t cap, uint32_t x, struct bitw *same,
		       struct codec_buf *ranks, struct codec_buf *esc)
{
	uint32_t r;

	for (r = 0; r < *len; r++)
		if (list[r] == x)
			break;
	bit_put(same, r == 0 && *len);
	if (r == 0 && *len)
		return;
	if (r < *len) {
		memmove(list + 1, list, r * sizeof(*list));
		list[0] = x;
		codec_buf_varint(ranks, r - 1);
		return;
	}
	codec_buf_varint(ranks, cap - 1);
	codec_buf_varint(esc, x);
	if (*len < cap)
		(*len)++;
	memmove(list + 1, list, (*len - 1) * sizeof(*list));
	list[0] = x;
}

/* A reader over a decompressed section (bits are read from the low end of each byte). */
struct rd {
	const uint8_t *p, *end;
	bool bad;
	unsigned int bit; /* the next bit of *p, for bit streams */
};

static inline bool rd_bit(struct rd *r)
{
	bool v;

	if (r->bad || r->p >= r->end) {
		r->bad = true;
		return false;
	}
	v = (*r->p >> r->bit) & 1;
	if (++r->bit == 8) {
		r->bit = 0;
		r->p++;
	}
	return v;
}

static __attribute__((noinline)) uint64_t rd_varint_long(struct rd *r)
{
	uint64_t v = 0;
	size_t used;

	if (r->bad)
		return 0;
	used = codec_get_varint(r->p, r->end, &v);
	if (!used) {
		r->bad = true;
		return 0;
	}
	r->p += used;
	return v;
}

/* Most varints of the columns are one byte: that case inline. */
static inline uint64_t rd_varint(struct rd *r)
{
	if (r->p < r->end && *r->p < 0x80)
		return *r->p++;
	return rd_varint_long(r);
}

/* The inverse, past the common case (see mtf_decode). */
static __attribute__((noinline)) uint32_t mtf_decode_slow(uint32_t *list, uint32_t *len,
							  uint32_t cap, struct rd *ranks,
							  struct rd *esc, uint32_t dict)
{
	uint64_t code;
	uint32_t x;

	code = rd_varint(ranks) + 1;
	if (code < *len) {
		x = list[code];
		/* Ranks are small: a loop beats a call to memmove. */
		for (uint64_t i = code; i > 0; i--)
			list[i] = list[i - 1];
		list[0] = x;
		return x;
	}
	if (code != cap)
		return UINT32_MAX; /* also a rank past the list */
	code = rd_varint(esc);
	if (code >= dict)
		return UINT32_MAX;
	x = (uint32_t)code;
	if (*len < cap)
		(*len)++;
	memmove(list + 1, list, (*len - 1) * sizeof(*list));
	list[0] = x;
	return x;
}

/* The value coded by the next bit, rank and escape, or UINT32_MAX when the input is out of
 * range for a dictionary of `dict` entries. Most samples repeat the front of their list: that
 * case is one bit and no move, inlined in the decoding loops. */
static inline uint32_t mtf_decode(uint32_t *list, uint32_t *len, uint32_t cap, struct rd *same,
				  struct rd *ranks, struct rd *esc, uint32_t dict)
{
	if (rd_bit(same))
		return *len ? list[0] : UINT32_MAX;
	return mtf_decode_slow(list, len, cap, ranks, esc, dict);
}

int codec_block_encode(const struct storage_sample *v, const uint32_t *counts, size_t n,
		       int64_t t_start_ns, int64_t unit_ns, int level, void **out, size_t *out_len)
{
	struct codec_buf hdr = { 0 }, col[NCOLS] = { { 0 } }, blob = { 0 };
	struct bitw tsame = { .b = &col[COL_THREAD_SAME] }, ssame = { .b = &col[COL_STACK_SAME] };
	int64_t *threads = NULL, *stacks = NULL, base;
	uint64_t *cgroups = NULL;
	uint32_t *tlist = NULL, *tlen = NULL, *cur_cg = NULL, cpu_list[CODEC_THREAD_MTF], cpu_len;
	struct enc *e = NULL;
	size_t k, m, c, runs = 0;
	int err = -ENOMEM;

	if (n > CODEC_MAX_SAMPLES || unit_ns <= 0)
		return -EINVAL;
	base = floor_div(t_start_ns, unit_ns);
	e = malloc((n ? n : 1) * sizeof(*e));
	threads = malloc((n ? n : 1) * sizeof(*threads));
	stacks = malloc((n ? n : 1) * sizeof(*stacks));
	cgroups = malloc((n ? n : 1) * sizeof(*cgroups));
	if (!e || !threads || !stacks || !cgroups)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (v[i].time_ns < t_start_ns || v[i].thread < 0 || v[i].stack < 0 ||
		    (counts && !counts[i])) {
			err = -EINVAL;
			goto out;
		}
		threads[i] = v[i].thread;
		stacks[i] = v[i].stack;
		cgroups[i] = v[i].cgroup;
	}
	k = uniq_i64(threads, n);
	m = uniq_i64(stacks, n);
	c = uniq_u64(cgroups, n);
	for (size_t i = 0; i < n; i++) {
		e[i].time_ns = v[i].time_ns;
		e[i].cpu = v[i].cpu;
		e[i].tidx = find_i64(threads, k, v[i].thread);
		e[i].sidx = find_i64(stacks, m, v[i].stack);
		e[i].cidx = find_u64(cgroups, c, v[i].cgroup);
		e[i].count = counts ? counts[i] : 1;
	}
	qsort(e, n, sizeof(*e), cmp_enc);

	/* The header: count, unit, flags, CPU runs, dictionaries. */
	codec_buf_varint(&hdr, n);
	codec_buf_varint(&hdr, (uint64_t)unit_ns);
	codec_buf_varint(&hdr, counts ? CODEC_F_COUNTS : 0);
	for (size_t i = 0; i < n; i++)
		runs += !i || e[i].cpu != e[i - 1].cpu;
	codec_buf_varint(&hdr, runs);
	for (size_t i = 0, start = 0; i < n; i++) {
		if (i + 1 < n && e[i + 1].cpu == e[i].cpu)
			continue;
		codec_buf_varint(&hdr, e[i].cpu);
		codec_buf_varint(&hdr, i + 1 - start);
		start = i + 1;
	}
	codec_buf_varint(&hdr, k);
	for (size_t i = 0; i < k; i++)
		codec_buf_varint(&hdr, (uint64_t)(threads[i] - (i ? threads[i - 1] : 0)));
	codec_buf_varint(&hdr, m);
	for (size_t i = 0; i < m; i++)
		codec_buf_varint(&hdr, (uint64_t)(stacks[i] - (i ? stacks[i - 1] : 0)));
	codec_buf_varint(&hdr, c);
	for (size_t i = 0; i < c; i++)
		codec_buf_varint(&hdr, cgroups[i] - (i ? cgroups[i - 1] : 0));

	/* The columns. */
	tlist = malloc((k ? k : 1) * CODEC_STACK_MTF * sizeof(*tlist));
	tlen = calloc(k ? k : 1, sizeof(*tlen));
	cur_cg = malloc((k ? k : 1) * sizeof(*cur_cg));
	if (!tlist || !tlen || !cur_cg)
		goto out;
	memset(cur_cg, 0xff, (k ? k : 1) * sizeof(*cur_cg));
	cpu_len = 0;
	for (size_t i = 0; i < n; i++) {
		const struct enc *x = &e[i];
		bool first = !i || x->cpu != e[i - 1].cpu;
		int64_t t = floor_div(x->time_ns, unit_ns) - base;

		if (first) {
			cpu_len = 0;
			codec_buf_varint(&col[COL_TIME], (uint64_t)t);
		} else {
			codec_buf_varint(
			    &col[COL_TIME],
			    (uint64_t)(t - (floor_div(e[i - 1].time_ns, unit_ns) - base)));
		}
		mtf_encode(cpu_list, &cpu_len, CODEC_THREAD_MTF, x->tidx, &tsame, &col[COL_THREAD],
			   &col[COL_THREAD_ESC]);
		mtf_encode(tlist + (size_t)x->tidx * CODEC_STACK_MTF, &tlen[x->tidx],
			   CODEC_STACK_MTF, x->sidx, &ssame, &col[COL_STACK], &col[COL_STACK_ESC]);
		if (cur_cg[x->tidx] == x->cidx) {
			codec_buf_varint(&col[COL_CGROUP], 0);
		} else {
			codec_buf_varint(&col[COL_CGROUP], 1 + (uint64_t)x->cidx);
			cur_cg[x->tidx] = x->cidx;
		}
		if (counts)
			codec_buf_varint(&col[COL_COUNT], x->count);
	}
	bit_flush(&tsame);
	bit_flush(&ssame);
	for (int i = 0; i < NCOLS; i++)
		if (col[i].err)
			hdr.err = col[i].err;
	if (hdr.err) {
		err = hdr.err;
		goto out;
	}

	codec_buf_varint(&blob, CODEC_ENCODING_V2);
	codec_buf_zstd(&blob, hdr.p, hdr.len, level);
	for (int i = 0; i < NCOLS; i++)
		codec_buf_zstd(&blob, col[i].p, col[i].len, level);
	if (blob.err) {
		err = blob.err;
		goto out;
	}
	*out = blob.p;
	*out_len = blob.len;
	blob.p = NULL;
	err = 0;
out:
	codec_buf_free(&blob);
	codec_buf_free(&hdr);
	for (int i = 0; i < NCOLS; i++)
		codec_buf_free(&col[i]);
	free(e);
	free(threads);
	free(stacks);
	free(cgroups);
	free(tlist);
	free(tlen);
	free(cur_cg);
	return err;
}

/* ---- Version 2: decoding. ---- */

struct codec_block {
	size_t n;
	int64_t unit_ns, base;
	uint32_t flags;
	size_t nruns;
	uint32_t *run_cpu;
	size_t *run_len;
	int64_t *threads, *stacks;
	uint64_t *cgroups;
	size_t k, m, c;
	/* Compressed columns, borrowed from the blob. */
	const uint8_t *zcol[NCOLS];
	const uint8_t *end;
	/* Decoded columns, NULL until asked for. */
	int64_t *time;
	uint32_t *cpu, *tidx, *sidx, *cidx, *count;
	bool count_done;
};

void codec_block__free(struct codec_block *b)
{
	if (!b)
		return;
	free(b->run_cpu);
	free(b->run_len);
	free(b->threads);
	free(b->stacks);
	free(b->cgroups);
	free(b->time);
	free(b->cpu);
	free(b->tidx);
	free(b->sidx);
	free(b->cidx);
	free(b->count);
	free(b);
}

/*
 * Reads a sorted dictionary of `count` delta-coded values into an owned array: strictly
 * increasing, and at most `limit`.
 */
static uint64_t *rd_dict(struct rd *r, size_t count, size_t max, uint64_t limit)
{
	uint64_t *v, acc = 0;

	if (count > max) {
		r->bad = true;
		return NULL;
	}
	v = malloc((count ? count : 1) * sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		uint64_t d = rd_varint(r);

		if ((i && !d) || d > limit - acc) {
			r->bad = true;
			break;
		}
		acc += d;
		v[i] = acc;
	}
	return v;
}

struct codec_block *codec_block__open(const void *data, size_t len, int64_t t_start_ns,
				      size_t expected)
{
	const uint8_t *p = data, *end = p + len;
	struct codec_block *b = NULL;
	uint8_t *hraw = NULL;
	size_t hlen, total = 0;
	uint64_t version;
	struct rd r;
	int err = -EBADMSG;

	if (expected > CODEC_MAX_SAMPLES || !len)
		goto fail;
	p += codec_get_varint(p, end, &version);
	if (p == data || version != CODEC_ENCODING_V2)
		goto fail;
	b = calloc(1, sizeof(*b));
	if (!b) {
		err = -ENOMEM;
		goto fail;
	}
	err = codec_read_zstd(&p, end, 10 * (4 * expected + 32), &hraw, &hlen);
	if (err)
		goto fail;
	err = -EBADMSG;
	r = (struct rd){ hraw, hraw + hlen, !hraw, 0 };
	b->n = rd_varint(&r);
	b->unit_ns = (int64_t)rd_varint(&r);
	b->flags = (uint32_t)rd_varint(&r);
	b->nruns = rd_varint(&r);
	if (r.bad || b->n != expected || b->unit_ns <= 0 || b->nruns > b->n ||
	    (b->flags & ~CODEC_F_COUNTS))
		goto fail;
	b->base = floor_div(t_start_ns, b->unit_ns);
	b->run_cpu = malloc((b->nruns + 1) * sizeof(*b->run_cpu));
	b->run_len = malloc((b->nruns + 1) * sizeof(*b->run_len));
	if (!b->run_cpu || !b->run_len) {
		err = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < b->nruns; i++) {
		uint64_t cpu = rd_varint(&r), cnt = rd_varint(&r);

		if (cpu > UINT32_MAX || !cnt || cnt > b->n - total ||
		    (i && cpu <= b->run_cpu[i - 1]))
			goto fail;
		b->run_cpu[i] = (uint32_t)cpu;
		b->run_len[i] = (size_t)cnt;
		total += (size_t)cnt;
	}
	if (total != b->n)
		goto fail;
	b->k = rd_varint(&r);
	b->threads = (int64_t *)rd_dict(&r, b->k, b->n, INT64_MAX);
	if (r.bad || !b->threads)
		goto nomem_or_bad;
	b->m = rd_varint(&r);
	b->stacks = (int64_t *)rd_dict(&r, b->m, b->n, INT64_MAX);
	if (r.bad || !b->stacks)
		goto nomem_or_bad;
	b->c = rd_varint(&r);
	b->cgroups = rd_dict(&r, b->c, b->n, UINT64_MAX);
	if (r.bad || !b->cgroups)
		goto nomem_or_bad;
	if (r.p != r.end)
		goto fail;
	/* Locate the columns without decompressing them. */
	for (int i = 0; i < NCOLS; i++) {
		uint64_t zlen;
		size_t used = codec_get_varint(p, end, &zlen);

		if (!used || zlen > (uint64_t)(end - p - (ptrdiff_t)used))
			goto fail;
		b->zcol[i] = p;
		p += used + zlen;
	}
	if (p != end)
		goto fail;
	b->end = end;
	free(hraw);
	return b;
nomem_or_bad:
	err = r.bad ? -EBADMSG : -ENOMEM;
fail:
	free(hraw);
	codec_block__free(b);
	errno = -err;
	return NULL;
}

size_t codec_block__n(const struct codec_block *b)
{
	return b->n;
}

int64_t codec_block__unit(const struct codec_block *b)
{
	return b->unit_ns;
}

const int64_t *codec_block__threads(const struct codec_block *b, size_t *k)
{
	*k = b->k;
	return b->threads;
}

const int64_t *codec_block__stacks(const struct codec_block *b, size_t *m)
{
	*m = b->m;
	return b->stacks;
}

const uint64_t *codec_block__cgroups(const struct codec_block *b, size_t *c)
{
	*c = b->c;
	return b->cgroups;
}

/* Decompresses column i into a reader over an owned buffer (*raw). */
static int open_col(struct codec_block *b, int i, uint8_t **raw, struct rd *r)
{
	const uint8_t *p = b->zcol[i];
	size_t len;
	int err = codec_read_zstd(&p, b->end, 10 * b->n + 16, raw, &len);

	if (err)
		return err;
	*r = (struct rd){ *raw, *raw + len, false, 0 };
	return 0;
}

/* A bit stream of n bits ends within its last byte. */
static int finish_bits(struct rd *r, uint8_t *raw, size_t n)
{
	bool ok = !r->bad && (size_t)(r->end - raw) == (n + 7) / 8 * (raw != NULL);

	free(raw);
	return ok ? 0 : -EBADMSG;
}

static int finish_col(struct rd *r, uint8_t *raw)
{
	bool ok = !r->bad && r->p == r->end;

	free(raw);
	return ok ? 0 : -EBADMSG;
}

/* A column coded as move-to-front ranks: its values, its escapes and its "same as before" bits. */
struct mtf_cols {
	uint8_t *raw, *eraw, *sraw;
	struct rd r, e, same;
};

/* Opens the three columns from `col` (COL_THREAD or COL_STACK) on. 0 or -errno (nothing held). */
static int open_mtf_cols(struct codec_block *b, int col, int esc, int same, struct mtf_cols *m)
{
	int err;

	memset(m, 0, sizeof(*m));
	err = open_col(b, col, &m->raw, &m->r);
	if (!err)
		err = open_col(b, esc, &m->eraw, &m->e);
	if (!err)
		err = open_col(b, same, &m->sraw, &m->same);
	if (err) {
		free(m->raw);
		free(m->eraw);
	}
	return err;
}

/* Frees the columns; 0 when all three were read exactly to their ends, else -EBADMSG. */
static int finish_mtf_cols(struct mtf_cols *m, size_t n)
{
	int err;

	if (m->e.bad || m->same.bad)
		m->r.bad = true;
	err = finish_bits(&m->same, m->sraw, n);
	err = finish_col(&m->e, m->eraw) ? -EBADMSG : err;
	return finish_col(&m->r, m->raw) ? -EBADMSG : err;
}

int codec_block__time_col(struct codec_block *b, const int64_t **col)
{
	uint8_t *raw = NULL;
	struct rd r;
	size_t i = 0;
	int err;

	if (b->time)
		goto done;
	b->time = malloc((b->n + 1) * sizeof(*b->time));
	if (!b->time)
		return -ENOMEM;
	err = open_col(b, COL_TIME, &raw, &r);
	if (err)
		goto fail;
	for (size_t run = 0; run < b->nruns; run++) {
		int64_t t = 0;

		for (size_t j = 0; j < b->run_len[run]; j++, i++) {
			uint64_t d = rd_varint(&r);

			/* Bounded so that (base + t) * unit cannot overflow. */
			if (d > (uint64_t)INT64_MAX / 4 / (uint64_t)b->unit_ns - (uint64_t)t) {
				r.bad = true;
				break;
			}
			t += (int64_t)d;
			b->time[i] = (b->base + t) * b->unit_ns;
		}
	}
	err = finish_col(&r, raw);
	if (err)
		goto fail;
done:
	*col = b->time;
	return 0;
fail:
	free(b->time);
	b->time = NULL;
	return err;
}

int codec_block__cpu_col(struct codec_block *b, const uint32_t **col)
{
	size_t i = 0;

	if (!b->cpu) {
		b->cpu = malloc((b->n + 1) * sizeof(*b->cpu));
		if (!b->cpu)
			return -ENOMEM;
		for (size_t run = 0; run < b->nruns; run++)
			for (size_t j = 0; j < b->run_len[run]; j++)
				b->cpu[i++] = b->run_cpu[run];
	}
	*col = b->cpu;
	return 0;
}

int codec_block__thread_col(struct codec_block *b, const uint32_t **col)
{
	uint32_t list[CODEC_THREAD_MTF], len;
	struct mtf_cols m;
	size_t i = 0;
	int err;

	if (b->tidx)
		goto done;
	b->tidx = malloc((b->n + 1) * sizeof(*b->tidx));
	if (!b->tidx)
		return -ENOMEM;
	err = open_mtf_cols(b, COL_THREAD, COL_THREAD_ESC, COL_THREAD_SAME, &m);
	if (err)
		goto fail;
	for (size_t run = 0; run < b->nruns && !m.r.bad; run++) {
		len = 0;
		for (size_t j = 0; j < b->run_len[run]; j++, i++) {
			uint32_t x = mtf_decode(list, &len, CODEC_THREAD_MTF, &m.same, &m.r, &m.e,
						(uint32_t)b->k);

			if (x == UINT32_MAX) {
				m.r.bad = true;
				break;
			}
			b->tidx[i] = x;
		}
	}
	err = finish_mtf_cols(&m, b->n);
	if (err)
		goto fail;
done:
	*col = b->tidx;
	return 0;
fail:
	free(b->tidx);
	b->tidx = NULL;
	return err;
}

int codec_block__stack_col(struct codec_block *b, const uint32_t **col)
{
	const uint32_t *tidx;
	uint32_t *lists = NULL, *lens = NULL;
	struct mtf_cols m;
	int err;

	if (b->sidx)
		goto done;
	err = codec_block__thread_col(b, &tidx);
	if (err)
		return err;
	b->sidx = malloc((b->n + 1) * sizeof(*b->sidx));
	lists = malloc((b->k + 1) * CODEC_STACK_MTF * sizeof(*lists));
	lens = calloc(b->k + 1, sizeof(*lens));
	if (!b->sidx || !lists || !lens) {
		err = -ENOMEM;
		goto fail;
	}
	err = open_mtf_cols(b, COL_STACK, COL_STACK_ESC, COL_STACK_SAME, &m);
	if (err)
		goto fail;
	for (size_t i = 0; i < b->n; i++) {
		uint32_t t = tidx[i];
		uint32_t x = mtf_decode(lists + (size_t)t * CODEC_STACK_MTF, &lens[t],
					CODEC_STACK_MTF, &m.same, &m.r, &m.e, (uint32_t)b->m);

		if (x == UINT32_MAX) {
			m.r.bad = true;
			break;
		}
		b->sidx[i] = x;
	}
	err = finish_mtf_cols(&m, b->n);
	if (err)
		goto fail;
	free(lists);
	free(lens);
done:
	*col = b->sidx;
	return 0;
fail:
	free(lists);
	free(lens);
	free(b->sidx);
	b->sidx = NULL;
	return err;
}

int codec_block__cgroup_col(struct codec_block *b, const uint32_t **col)
{
	const uint32_t *tidx;
	uint32_t *cur = NULL;
	uint8_t *raw = NULL;
	struct rd r;
	int err;

	if (b->cidx)
		goto done;
	err = codec_block__thread_col(b, &tidx);
	if (err)
		return err;
	b->cidx = malloc((b->n + 1) * sizeof(*b->cidx));
	cur = malloc((b->k + 1) * sizeof(*cur));
	if (!b->cidx || !cur) {
		err = -ENOMEM;
		goto fail;
	}
	memset(cur, 0xff, (b->k + 1) * sizeof(*cur));
	err = open_col(b, COL_CGROUP, &raw, &r);
	if (err)
		goto fail;
	for (size_t i = 0; i < b->n; i++) {
		uint64_t code = rd_varint(&r);
		uint32_t t = tidx[i];

		if (code) {
			if (code > b->c) {
				r.bad = true;
				break;
			}
			cur[t] = (uint32_t)(code - 1);
		} else if (cur[t] == UINT32_MAX) {
			r.bad = true; /* "the same as before" with no before */
			break;
		}
		b->cidx[i] = cur[t];
	}
	err = finish_col(&r, raw);
	if (err)
		goto fail;
	free(cur);
done:
	*col = b->cidx;
	return 0;
fail:
	free(cur);
	free(b->cidx);
	b->cidx = NULL;
	return err;
}

int codec_block__count_col(struct codec_block *b, const uint32_t **col)
{
	uint8_t *raw = NULL;
	struct rd r;
	int err;

	if (!(b->flags & CODEC_F_COUNTS)) {
		*col = NULL;
		return 0;
	}
	if (b->count)
		goto done;
	b->count = malloc((b->n + 1) * sizeof(*b->count));
	if (!b->count)
		return -ENOMEM;
	err = open_col(b, COL_COUNT, &raw, &r);
	if (err)
		goto fail;
	for (size_t i = 0; i < b->n; i++) {
		uint64_t x = rd_varint(&r);

		if (!x || x > UINT32_MAX) {
			r.bad = true;
			break;
		}
		b->count[i] = (uint32_t)x;
	}
	err = finish_col(&r, raw);
	if (err)
		goto fail;
done:
	*col = b->count;
	return 0;
fail:
	free(b->count);
	b->count = NULL;
	return err;
}

/* ---- Version 1. ---- */

int codec_encode(const struct storage_sample *v, size_t n, int64_t t_start_ns, void **out,
		 size_t *out_len)
{
	struct codec_buf raw = { 0 }, blob = { 0 };
	int64_t prev_us = t_start_ns / 1000;
	unsigned long long zlen;

	if (n > CODEC_MAX_SAMPLES)
		return -EINVAL;
	codec_buf_varint(&raw, n);
	for (size_t i = 0; i < n; i++) {
		int64_t us = v[i].time_ns / 1000;

		codec_buf_varint(&raw, codec_zigzag(us - prev_us));
		prev_us = us;
	}
	for (size_t i = 0; i < n; i++)
		codec_buf_varint(&raw, v[i].cpu);
	for (size_t i = 0; i < n; i++)
		codec_buf_varint(&raw, (uint64_t)v[i].thread);
	for (size_t i = 0; i < n; i++)
		codec_buf_varint(&raw, (uint64_t)v[i].stack);
	for (size_t i = 0; i < n; i++)
		codec_buf_varint(&raw, v[i].cgroup);
	/* Version 1 is one bare zstd frame: write it, then drop the length prefix. */
	codec_buf_zstd(&blob, raw.p, raw.len, 3);
	codec_buf_free(&raw);
	if (blob.err) {
		codec_buf_free(&blob);
		return blob.err;
	}
	{
		const uint8_t *p = blob.p;
		uint64_t len = 0;
		size_t used = codec_get_varint(p, p + blob.len, &len);

		zlen = len;
		memmove(blob.p, blob.p + used, zlen);
	}
	*out = blob.p;
	*out_len = zlen;
	return 0;
}

static int decode_v1(const void *data, size_t len, int64_t t_start_ns, size_t expected,
		     struct storage_sample **out)
{
	unsigned long long raw_len = ZSTD_getFrameContentSize(data, len);
	struct storage_sample *v = NULL;
	uint8_t *raw = NULL;
	int64_t us = t_start_ns / 1000;
	size_t r;
	struct rd rd;
	int err = -EBADMSG;

	/* Five varints of at most 10 bytes per sample, plus the count. */
	if (raw_len == ZSTD_CONTENTSIZE_UNKNOWN || raw_len == ZSTD_CONTENTSIZE_ERROR ||
	    raw_len > 10 + expected * 50)
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
	rd = (struct rd){ raw, raw + raw_len, false, 0 };
	if (rd_varint(&rd) != expected || rd.bad)
		goto out;
	for (size_t i = 0; i < expected; i++) {
		us += codec_unzigzag(rd_varint(&rd));
		v[i].time_ns = us * 1000;
	}
	for (size_t i = 0; i < expected; i++)
		v[i].cpu = (uint32_t)rd_varint(&rd);
	for (size_t i = 0; i < expected; i++)
		v[i].thread = (int64_t)rd_varint(&rd);
	for (size_t i = 0; i < expected; i++)
		v[i].stack = (int64_t)rd_varint(&rd);
	for (size_t i = 0; i < expected; i++)
		v[i].cgroup = rd_varint(&rd);
	if (rd.bad || rd.p != rd.end)
		goto out;
	*out = v;
	v = NULL;
	err = 0;
out:
	free(raw);
	free(v);
	return err;
}

int codec_decode(const void *data, size_t len, int64_t t_start_ns, size_t expected,
		 struct storage_sample **out)
{
	const uint32_t *tidx, *sidx, *cidx, *cpu, *count;
	const int64_t *time;
	struct codec_block *b;
	struct storage_sample *v;
	int err;

	if (expected > CODEC_MAX_SAMPLES)
		return -EBADMSG;
	/* A version 1 block is a bare zstd frame, which starts with the zstd magic 0xFD2FB528;
	 * version 2 starts with the byte 2. */
	if (len >= 4 && !memcmp(data, "\x28\xb5\x2f\xfd", 4))
		return decode_v1(data, len, t_start_ns, expected, out);
	b = codec_block__open(data, len, t_start_ns, expected);
	if (!b)
		return -errno;
	err = codec_block__count_col(b, &count);
	if (!err && count)
		err = -EBADMSG;
	if (!err)
		err = codec_block__time_col(b, &time);
	if (!err)
		err = codec_block__cpu_col(b, &cpu);
	if (!err)
		err = codec_block__stack_col(b, &sidx);
	if (!err)
		err = codec_block__cgroup_col(b, &cidx);
	if (!err)
		err = codec_block__thread_col(b, &tidx);
	if (err) {
		codec_block__free(b);
		return err;
	}
	v = malloc((b->n + 1) * sizeof(*v));
	if (!v) {
		codec_block__free(b);
		return -ENOMEM;
	}
	for (size_t i = 0; i < b->n; i++) {
		v[i].time_ns = time[i];
		v[i].cpu = cpu[i];
		v[i].thread = b->threads[tidx[i]];
		v[i].stack = b->stacks[sidx[i]];
		v[i].cgroup = b->cgroups[cidx[i]];
	}
	codec_block__free(b);
	*out = v;
	return 0;
}
