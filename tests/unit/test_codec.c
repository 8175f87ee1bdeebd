// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The sample block codecs: round trips (version 1, version 2, rollups), and corrupt blocks. */
#include "storage/codec.h"
#include "tests/harness.h"

static enum test_result test_roundtrip(void)
{
	enum { N = 5000 };
	static struct storage_sample in[N];
	struct storage_sample *out = NULL;
	int64_t t0 = 1733550000000000000ll;
	size_t len;
	void *data;
	int err;

	for (int i = 0; i < N; i++) {
		in[i].time_ns = t0 + (int64_t)i * 10101000 + (i % 7) * 1000;
		in[i].cpu = (uint32_t)(i % 64);
		in[i].thread = 1 + i % 13;
		in[i].stack = 1 + (i * 7919) % 401;
		in[i].cgroup = i % 3 ? 4242 : 1;
	}
	err = codec_encode(in, N, t0, &data, &len);
	if (!ASSERT_OK(err, "encode"))
		return TEST_FAIL;
	err = codec_decode(data, len, t0, N, &out);
	free(data);
	if (!ASSERT_OK(err, "decode"))
		return TEST_FAIL;
	for (int i = 0; i < N; i++) {
		if (!ASSERT_EQ(out[i].time_ns, in[i].time_ns, "time (microsecond resolution)") ||
		    !ASSERT_EQ(out[i].cpu, in[i].cpu, "cpu") ||
		    !ASSERT_EQ(out[i].thread, in[i].thread, "thread") ||
		    !ASSERT_EQ(out[i].stack, in[i].stack, "stack") ||
		    !ASSERT_EQ(out[i].cgroup, in[i].cgroup, "cgroup")) {
			free(out);
			return TEST_FAIL;
		}
	}
	free(out);
	return TEST_PASS;
}

static enum test_result test_corrupt(void)
{
	struct storage_sample in[3] = { { 1000, 1, 1, 0, 0 },
					{ 2000, 1, 2, 0, 1 },
					{ 3000, 2, 3, 0, 0 } };
	struct storage_sample *out = NULL;
	uint8_t *data;
	size_t len;

	if (!ASSERT_OK(codec_encode(in, 3, 0, (void **)&data, &len), "encode"))
		return TEST_FAIL;
	if (!ASSERT_EQ(codec_decode(data, len, 0, 4, &out), -EBADMSG, "wrong count"))
		return TEST_FAIL;
	if (!ASSERT_EQ(codec_decode(data, len - 1, 0, 3, &out), -EBADMSG, "truncated"))
		return TEST_FAIL;
	for (size_t i = 0; i < len; i++) {
		data[i] ^= 0xff;
		if (!codec_decode(data, len, 0, 3, &out))
			free(out); /* a flip may still decode; it must never crash */
		data[i] ^= 0xff;
	}
	if (!ASSERT_EQ(codec_decode("garbage", 7, 0, 3, &out), -EBADMSG, "not zstd"))
		return TEST_FAIL;
	free(data);
	return TEST_PASS;
}

static enum test_result test_varint(void)
{
	uint64_t vals[] = { 0, 1, 127, 128, 300, 1ull << 35, UINT64_MAX };
	uint8_t buf[10];

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint64_t v;
		size_t n = codec_put_varint(buf, vals[i]);

		if (!ASSERT_EQ(codec_get_varint(buf, buf + n, &v), n, "length") ||
		    !ASSERT_TRUE(v == vals[i], "value") ||
		    !ASSERT_EQ(codec_get_varint(buf, buf + n - 1, &v), 0, "cut short"))
			return TEST_FAIL;
	}
	return TEST_PASS;
}

/* Version 2: sorted by (cpu, time) inside, times at the unit, every field back. */
static enum test_result test_v2_roundtrip(void)
{
	enum { N = 20000 };
	static struct storage_sample in[N];
	static uint32_t counts[N];
	struct storage_sample *out = NULL;
	const uint32_t *tidx, *sidx, *cidx, *cpu, *count;
	const int64_t *time, *threads, *stacks;
	const uint64_t *cgroups;
	struct codec_block *b;
	int64_t t0 = 1733550000123456789ll, unit = 1000000;
	uint64_t seen = 0, sum = 0;
	size_t len, k, m, c;
	void *data;

	for (int i = 0; i < N; i++) {
		in[i].time_ns = t0 + (int64_t)(i / 64) * 52631578 + (i % 7) * 1000;
		in[i].cpu = (uint32_t)(i % 64);
		in[i].thread = 1 + (i * 31) % 500;
		in[i].stack = 1 + (i * 7919) % 4001 + (i % 3 ? 0 : 1000000000000ll);
		in[i].cgroup = i % 5 ? 4242 : UINT64_MAX - 3;
		counts[i] = 1 + i % 9;
		sum += counts[i];
	}
	if (!ASSERT_OK(codec_block_encode(in, NULL, N, t0, unit, 9, &data, &len), "encode"))
		return TEST_FAIL;
	if (!ASSERT_OK(codec_decode(data, len, t0, N, &out), "decode")) {
		free(data);
		return TEST_FAIL;
	}
	free(data);
	/* Every input sample is in the output once (the order is the block's). */
	for (int i = 0; i < N; i++) {
		bool found = false;

		for (int j = (int)in[i].cpu; j < N && !found; j += 1) {
			const struct storage_sample *o = &out[j];

			found = o->cpu == in[i].cpu && o->thread == in[i].thread &&
				o->stack == in[i].stack && o->cgroup == in[i].cgroup &&
				o->time_ns == codec_floor(in[i].time_ns, unit);
			if (found)
				break;
		}
		for (int j = 0; j < N && !found; j++) {
			const struct storage_sample *o = &out[j];

			found = o->cpu == in[i].cpu && o->thread == in[i].thread &&
				o->stack == in[i].stack && o->cgroup == in[i].cgroup &&
				o->time_ns == codec_floor(in[i].time_ns, unit);
		}
		if (!ASSERT_TRUE(found, "sample back")) {
			free(out);
			return TEST_FAIL;
		}
		seen++;
	}
	for (int j = 1; j < N; j++)
		if (!ASSERT_TRUE(out[j - 1].cpu < out[j].cpu ||
				     (out[j - 1].cpu == out[j].cpu &&
				      out[j - 1].time_ns <= out[j].time_ns),
				 "(cpu, time) order")) {
			free(out);
			return TEST_FAIL;
		}
	free(out);

	/* A rollup: counts kept, no cpu. */
	for (int i = 0; i < N; i++)
		in[i].cpu = STORAGE_CPU_UNKNOWN;
	if (!ASSERT_OK(codec_block_encode(in, counts, N, t0, 60000000000ll, 9, &data, &len), "encod"
											     "e "
											     "rollu"
											     "p"))
		return TEST_FAIL;
	b = codec_block__open(data, len, t0, N);
	if (!ASSERT_NONNULL(b, "open rollup") ||
	    !ASSERT_OK(codec_block__count_col(b, &count), "counts") ||
	    !ASSERT_NONNULL(count, "a count column") ||
	    !ASSERT_OK(codec_block__thread_col(b, &tidx), "threads") ||
	    !ASSERT_OK(codec_block__stack_col(b, &sidx), "stacks") ||
	    !ASSERT_OK(codec_block__cgroup_col(b, &cidx), "cgroups") ||
	    !ASSERT_OK(codec_block__cpu_col(b, &cpu), "cpus") ||
	    !ASSERT_OK(codec_block__time_col(b, &time), "times")) {
		codec_block__free(b);
		free(data);
		return TEST_FAIL;
	}
	threads = codec_block__threads(b, &k);
	stacks = codec_block__stacks(b, &m);
	cgroups = codec_block__cgroups(b, &c);
	{
		uint64_t got = 0;

		for (int i = 0; i < N; i++)
			got += count[i];
		if (!ASSERT_EQ(got, sum, "counts add up") || !ASSERT_EQ(k, 500, "threads") ||
		    !ASSERT_EQ(c, 2, "cgroups") || !ASSERT_EQ(cgroups[1], UINT64_MAX - 3, "big") ||
		    !ASSERT_EQ(cpu[0], STORAGE_CPU_UNKNOWN, "no cpu") ||
		    !ASSERT_EQ(time[0] % 60000000000ll, 0, "minutes") ||
		    !ASSERT_TRUE(threads[tidx[0]] > 0 && stacks[sidx[0]] > 0, "ids")) {
			codec_block__free(b);
			free(data);
			return TEST_FAIL;
		}
	}
	codec_block__free(b);
	/* Rollup entries are not samples. */
	if (!ASSERT_EQ(codec_decode(data, len, t0, N, &out), -EBADMSG, "no samples from counts")) {
		free(data);
		return TEST_FAIL;
	}
	free(data);
	return TEST_PASS;
}

static enum test_result test_v2_corrupt(void)
{
	enum { N = 3000 };
	static struct storage_sample in[N];
	struct storage_sample *out = NULL;
	int64_t t0 = 1733550000000000000ll;
	uint8_t *data;
	size_t len;
	int decoded = 0;

	for (int i = 0; i < N; i++)
		in[i] = (struct storage_sample){ t0 + i * 1000000ll, 1 + i % 17, 1 + i % 101,
						 (uint64_t)(i % 3), (uint32_t)(i % 4) };
	if (!ASSERT_OK(codec_block_encode(in, NULL, N, t0, 1000000, 3, (void **)&data, &len), "enco"
											      "de"))
		return TEST_FAIL;
	if (!ASSERT_EQ(codec_decode(data, len, t0, N + 1, &out), -EBADMSG, "wrong count") ||
	    !ASSERT_EQ(codec_decode(data, len - 1, t0, N, &out), -EBADMSG, "truncated") ||
	    !ASSERT_EQ(codec_decode(data, 1, t0, N, &out), -EBADMSG, "a byte") ||
	    !ASSERT_EQ(codec_decode(data, 0, t0, N, &out), -EBADMSG, "nothing") ||
	    !ASSERT_NULL(codec_block__open(data, len, t0, N + 5), "open with a wrong count")) {
		free(data);
		return TEST_FAIL;
	}
	/* Every single byte flipped, every way: decodes (a flip can be harmless) or says EBADMSG;
	 * never crashes (ASan watches). */
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			int err;

			data[i] ^= (uint8_t)(1u << bit);
			err = codec_decode(data, len, t0, N, &out);
			if (!err) {
				decoded++;
				free(out);
			} else if (!ASSERT_EQ(err, -EBADMSG, "EBADMSG")) {
				free(data);
				return TEST_FAIL;
			}
			data[i] ^= (uint8_t)(1u << bit);
		}
	}
	fprintf(stderr, "%d of %zu one-bit flips still decode\n", decoded, len * 8);
	free(data);
	return TEST_PASS;
}

TEST_MAIN(TEST(test_roundtrip), TEST(test_corrupt), TEST(test_varint), TEST(test_v2_roundtrip),
	  TEST(test_v2_corrupt))
