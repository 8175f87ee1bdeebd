// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The sample block codec: round trip, and corrupt blocks. */
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

TEST_MAIN(TEST(test_roundtrip), TEST(test_corrupt), TEST(test_varint))
