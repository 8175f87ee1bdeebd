// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Stack chunks (storage/dict.c): rows come back as they went in, a stack is had by decoding its
 * segment only, and a damaged blob is refused (never read out of bounds: run under ASan).
 */
#include "storage/codec.h"
#include "storage/dict.h"
#include "tests/harness.h"

#define NSTACKS 3000
#define MAXDEPTH 64

struct fixture {
	struct dict_stack rows[NSTACKS];
	int64_t frames[NSTACKS][MAXDEPTH];
	void *blob;
	size_t len;
};

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Frame ids are drawn from 1..5000 times this: 1 for dense ids (the decoder indexes its table of
 * call edges by frame id), large for ids too sparse for that (it hashes them). */
static int64_t frame_spread = 1;

/* Stacks of a call tree: each extends or branches from an earlier one, as real ones do. */
static int make_fixture(struct fixture *fx)
{
	for (size_t i = 0; i < NSTACKS; i++) {
		struct dict_stack *s = &fx->rows[i];
		uint32_t depth = 1 + (uint32_t)(next() % MAXDEPTH);

		s->id = (int64_t)(i * 2 + 1); /* gaps, as pruning leaves */
		s->status = (uint8_t)(next() % 4);
		s->depth = depth;
		s->frames = fx->frames[i];
		if (i) {
			const struct dict_stack *p = &fx->rows[next() % i];
			uint32_t keep = (uint32_t)(next() % (p->depth + 1));

			if (keep > depth)
				keep = depth;
			/* Leaf first: the root-side `keep` frames are the other stack's. */
			for (uint32_t k = 0; k < keep; k++)
				fx->frames[i][depth - 1 - k] = p->frames[p->depth - 1 - k];
			for (uint32_t k = keep; k < depth; k++)
				fx->frames[i][depth - 1 - k] =
				    1 + (int64_t)(next() % 5000) * frame_spread;
		} else {
			for (uint32_t k = 0; k < depth; k++)
				fx->frames[i][k] = 1 + (int64_t)(next() % 5000) * frame_spread;
		}
	}
	return dict_encode(DICT_STACK, fx->rows, NSTACKS, 3, &fx->blob, &fx->len);
}

struct seen {
	const struct fixture *fx;
	size_t calls, wrong;
	bool got[NSTACKS];
};

static int check_row(enum dict_kind kind, const void *row, void *ctx)
{
	const struct dict_stack *s = row;
	struct seen *sn = ctx;
	const struct dict_stack *want;
	size_t i = (size_t)(s->id - 1) / 2;

	sn->calls++;
	if (kind != DICT_STACK || s->id < 1 || !(s->id & 1) || i >= NSTACKS) {
		sn->wrong++;
		return 0;
	}
	want = &sn->fx->rows[i];
	if (s->status != want->status || s->depth != want->depth ||
	    memcmp(s->frames, want->frames, s->depth * sizeof(*s->frames)))
		sn->wrong++;
	sn->got[i] = true;
	return 0;
}

static int count_row(enum dict_kind kind, const void *row, void *ctx)
{
	(void)kind;
	(void)row;
	++*(size_t *)ctx;
	return 0;
}

static enum test_result test_round_trip(void)
{
	static struct fixture fx;
	static struct seen sn;
	enum test_result r = TEST_FAIL;
	size_t got = 0;

	if (!ASSERT_OK(make_fixture(&fx), "encode"))
		return TEST_FAIL;
	memset(&sn, 0, sizeof(sn));
	sn.fx = &fx;
	if (!ASSERT_OK(dict_decode(DICT_STACK, fx.blob, fx.len, 1, 2 * NSTACKS, NSTACKS, check_row,
				   &sn),
		       "decode") ||
	    !ASSERT_EQ(sn.calls, NSTACKS, "every stack once") ||
	    !ASSERT_EQ(sn.wrong, 0, "as written"))
		goto out;
	for (size_t i = 0; i < NSTACKS; i++)
		got += sn.got[i];
	if (!ASSERT_EQ(got, NSTACKS, "every id"))
		goto out;
	/* The wrong count or range is refused. */
	if (!ASSERT_EQ(dict_decode(DICT_STACK, fx.blob, fx.len, 1, 2 * NSTACKS, NSTACKS - 1,
				   count_row, &got),
		       -EBADMSG, "wrong n") ||
	    !ASSERT_EQ(dict_decode(DICT_STACK, fx.blob, fx.len, 2, 2 * NSTACKS, NSTACKS, count_row,
				   &got),
		       -EBADMSG, "an id out of range"))
		goto out;
	r = TEST_PASS;
out:
	free(fx.blob);
	return r;
}

/* One stack costs its segment, not its chunk; a segment is decoded once. */
static enum test_result test_one_segment(void)
{
	static struct fixture fx;
	static struct seen sn;
	struct dict_stacks *c = NULL;
	enum test_result r = TEST_FAIL;
	size_t before;

	if (!ASSERT_OK(make_fixture(&fx), "encode") ||
	    !ASSERT_OK(dict_stacks_open(fx.blob, fx.len, 1, 2 * NSTACKS, NSTACKS, &c), "open"))
		goto out;
	memset(&sn, 0, sizeof(sn));
	sn.fx = &fx;
	if (!ASSERT_TRUE(dict_stacks_covers(c, 1) && dict_stacks_covers(c, 2 * NSTACKS) &&
			     !dict_stacks_covers(c, 2 * NSTACKS + 1),
			 "covers its range") ||
	    !ASSERT_OK(dict_stacks_decode_of(c, 2 * 1234 + 1, check_row, &sn), "decode one"))
		goto out;
	if (!ASSERT_TRUE(sn.got[1234], "the stack asked for") ||
	    !ASSERT_LE(sn.calls, 256, "at most a segment") ||
	    !ASSERT_GE(sn.calls, 2, "a segment") || !ASSERT_EQ(sn.wrong, 0, "as written") ||
	    !ASSERT_TRUE(!dict_stacks_done(c), "not done"))
		goto out;
	before = sn.calls;
	if (!ASSERT_OK(dict_stacks_decode_of(c, 2 * 1234 + 1, check_row, &sn), "again") ||
	    !ASSERT_EQ(sn.calls, before, "decoded once") ||
	    !ASSERT_EQ(dict_stacks_decode_of(c, 2, check_row, &sn), -ENOENT, "an id not there") ||
	    !ASSERT_EQ(dict_stacks_decode_of(c, 2 * NSTACKS + 1, check_row, &sn), -ENOENT,
		       "an id out of range") ||
	    !ASSERT_OK(dict_stacks_decode_all(c, check_row, &sn), "the rest") ||
	    !ASSERT_EQ(sn.calls, NSTACKS, "every stack once in all") ||
	    !ASSERT_EQ(sn.wrong, 0, "as written") || !ASSERT_TRUE(dict_stacks_done(c), "done"))
		goto out;
	r = TEST_PASS;
out:
	dict_stacks_free(c);
	free(fx.blob);
	return r;
}

/* A damaged chunk, decoded whole and one segment of it: refused or decoded, never a crash or a
 * bad read. Counts in *accepted the chunks decoded whole. */
static bool refused_or_decoded(const void *blob, size_t len, size_t *accepted)
{
	struct dict_stacks *c = NULL;
	size_t rows = 0;
	int err;

	err = dict_decode(DICT_STACK, blob, len, 1, 2 * NSTACKS, NSTACKS, count_row, &rows);
	if (!ASSERT_TRUE(err == 0 || err == -EBADMSG, "refused or decoded"))
		return false;
	*accepted += !err;
	if (dict_stacks_open(blob, len, 1, 2 * NSTACKS, NSTACKS, &c))
		return true;
	err = dict_stacks_decode_of(c, 1 + 2 * (int64_t)(next() % NSTACKS), count_row, &rows);
	dict_stacks_free(c);
	return ASSERT_TRUE(err == 0 || err == -EBADMSG || err == -ENOENT, "one segment refused or "
									  "decoded");
}

/* Every truncation and many corruptions: refused or decoded, never a crash or a bad read. */
static enum test_result test_damaged(void)
{
	static struct fixture fx;
	enum test_result r = TEST_FAIL;
	uint8_t *copy = NULL;
	size_t rows, accepted = 0;
	int err;

	if (!ASSERT_OK(make_fixture(&fx), "encode"))
		return TEST_FAIL;
	copy = malloc(fx.len);
	if (!ASSERT_NONNULL(copy, "copy"))
		goto out;
	for (size_t len = 0; len < fx.len; len += 1 + len / 64) {
		rows = 0;
		err = dict_decode(DICT_STACK, fx.blob, len, 1, 2 * NSTACKS, NSTACKS, count_row,
				  &rows);
		if (!ASSERT_EQ(err, -EBADMSG, "a truncated chunk"))
			goto out;
	}
	for (int round = 0; round < 400; round++) {
		memcpy(copy, fx.blob, fx.len);
		for (int k = 0; k < 1 + round % 4; k++)
			copy[next() % fx.len] ^= (uint8_t)(1 + next() % 255);
		if (!refused_or_decoded(copy, fx.len, &accepted))
			goto out;
	}
	printf("damaged: %zu of 400 corrupted chunks still decoded\n", accepted);
	r = TEST_PASS;
out:
	free(copy);
	free(fx.blob);
	return r;
}

/* The same inside the compression: zstd's checksum refuses a damaged frame before the stack
 * decoder sees it, so here the decompressed streams are damaged and compressed again. */
static enum test_result test_damaged_inside(void)
{
	static struct fixture fx;
	enum test_result r = TEST_FAIL;
	const uint8_t *p, *end;
	uint8_t *raw = NULL, *eraw = NULL;
	size_t raw_len, eraw_len, head, accepted = 0;
	uint64_t v;

	if (!ASSERT_OK(make_fixture(&fx), "encode"))
		return TEST_FAIL;
	p = fx.blob;
	end = p + fx.len;
	for (int i = 0; i < 3; i++) /* version, kind, n */
		p += codec_get_varint(p, end, &v);
	head = (size_t)(p - (const uint8_t *)fx.blob);
	if (!ASSERT_OK(codec_read_zstd(&p, end, 1u << 26, &raw, &raw_len), "structure") ||
	    !ASSERT_OK(codec_read_zstd(&p, end, 1u << 26, &eraw, &eraw_len), "escapes"))
		goto out;
	for (int round = 0; round < 600; round++) {
		struct codec_buf b = { 0 };
		uint8_t *r2 = malloc(raw_len), *e2 = malloc(eraw_len + 1);

		if (!ASSERT_TRUE(r2 && e2, "copies")) {
			free(r2);
			free(e2);
			goto out;
		}
		memcpy(r2, raw, raw_len);
		memcpy(e2, eraw, eraw_len);
		for (int k = 0; k < 1 + round % 3; k++) {
			if (round % 5 == 4 && eraw_len)
				e2[next() % eraw_len] ^= (uint8_t)(1 + next() % 255);
			else
				r2[next() % raw_len] ^= (uint8_t)(1 + next() % 255);
		}
		codec_buf_bytes(&b, fx.blob, head);
		/* Sometimes cut short too. */
		codec_buf_zstd(&b, r2, round % 7 == 6 ? raw_len - next() % raw_len : raw_len, 1);
		codec_buf_zstd(&b, e2, eraw_len, 1);
		free(r2);
		free(e2);
		if (!ASSERT_OK(b.err, "rebuild")) {
			codec_buf_free(&b);
			goto out;
		}
		if (!refused_or_decoded(b.p, b.len, &accepted)) {
			codec_buf_free(&b);
			goto out;
		}
		codec_buf_free(&b);
	}
	printf("damaged inside: %zu of 600 still decoded (frame ids changed)\n", accepted);
	if (!ASSERT_TRUE(accepted < 600, "damage is noticed"))
		goto out;
	r = TEST_PASS;
out:
	free(raw);
	free(eraw);
	free(fx.blob);
	return r;
}

/* A chunk of one stack as deep as stacks go, every frame new: the largest chunk for its count
 * of stacks (a flush can hold just that: a deep recursion seen once). */
static enum test_result test_deepest(void)
{
	static int64_t frames[DICT_MAX_DEPTH];
	struct dict_stack k = { .id = 7, .depth = DICT_MAX_DEPTH, .frames = frames };
	enum test_result r = TEST_FAIL;
	size_t rows = 0, len;
	void *blob = NULL;

	for (size_t i = 0; i < DICT_MAX_DEPTH; i++)
		frames[i] = 1000000 + (int64_t)(next() % 1000000);
	if (!ASSERT_OK(dict_encode(DICT_STACK, &k, 1, 3, &blob, &len), "encode") ||
	    !ASSERT_OK(dict_decode(DICT_STACK, blob, len, 7, 7, 1, count_row, &rows), "decode") ||
	    !ASSERT_EQ(rows, 1, "one stack"))
		goto out;
	r = TEST_PASS;
out:
	free(blob);
	return r;
}

/* The same with frame ids too sparse to index an array by. */
static enum test_result test_sparse_frames(void)
{
	enum test_result r;

	frame_spread = 1000003;
	r = test_round_trip();
	if (r == TEST_PASS)
		r = test_one_segment();
	frame_spread = 1;
	return r;
}

TEST_MAIN(TEST(test_round_trip), TEST(test_one_segment), TEST(test_damaged),
	  TEST(test_damaged_inside), TEST(test_sparse_frames), TEST(test_deepest))
