// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Argument parsing: times, numbers, durations; and folded frame names. */
#include <time.h>

#include "profiler/cli.h"
#include "export/export.h"
#include "tests/harness.h"

static enum test_result test_times(void)
{
	const int64_t now = 1733570000ll * 1000000000ll; /* 2024-12-07T11:13:20Z */
	int64_t t;

	if (!ASSERT_OK(cli_parse_time("now", now, &t), "now") || !ASSERT_EQ(t, now, "now"))
		return TEST_FAIL;
	if (!ASSERT_OK(cli_parse_time("-10m", now, &t), "-10m") ||
	    !ASSERT_EQ(t, now - 600ll * 1000000000ll, "ten minutes ago"))
		return TEST_FAIL;
	if (!ASSERT_OK(cli_parse_time("-1.5h", now, &t), "-1.5h") ||
	    !ASSERT_EQ(t, now - 5400ll * 1000000000ll, "90 minutes ago"))
		return TEST_FAIL;
	if (!ASSERT_OK(cli_parse_time("-250ms", now, &t), "-250ms") ||
	    !ASSERT_EQ(t, now - 250000000ll, "ms"))
		return TEST_FAIL;
	if (!ASSERT_OK(cli_parse_time("@1733570000.25", now, &t), "@epoch") ||
	    !ASSERT_EQ(t, now + 250000000ll, "epoch with fraction"))
		return TEST_FAIL;
	if (!ASSERT_OK(cli_parse_time("2024-12-07T11:13:20Z", now, &t), "ISO UTC") ||
	    !ASSERT_EQ(t, now, "ISO UTC value"))
		return TEST_FAIL;
	if (!ASSERT_OK(cli_parse_time("2024-12-07 11:13:20.5Z", now, &t), "space, fraction") ||
	    !ASSERT_EQ(t, now + 500000000ll, "fraction"))
		return TEST_FAIL;
	if (!ASSERT_OK(cli_parse_time("2024-12-07T11:13Z", now, &t), "no seconds") ||
	    !ASSERT_EQ(t, now - 20ll * 1000000000ll, "minute precision"))
		return TEST_FAIL;
	setenv("TZ", "UTC", 1);
	tzset();
	if (!ASSERT_OK(cli_parse_time("11:13:20", now, &t), "time of day") ||
	    !ASSERT_EQ(t, now, "today at 11:13:20 UTC"))
		return TEST_FAIL;
	if (!ASSERT_OK(cli_parse_time("2024-12-07", now, &t), "date") ||
	    !ASSERT_EQ(t, now - (11 * 3600 + 13 * 60 + 20) * 1000000000ll, "midnight"))
		return TEST_FAIL;
	static const char *const bad[] = { "",	   "yesterday",	 "-",	     "-10x",	    "@",
					   "@abc", "2024-13-45", "11:99:00", "2024-12-07T", "10m",
					   "--5m", "-5m junk" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!ASSERT_EQ(cli_parse_time(bad[i], now, &t), -EINVAL, bad[i]))
			return TEST_FAIL;
	return TEST_PASS;
}

static enum test_result test_numbers(void)
{
	unsigned long v;
	double d;

	if (!ASSERT_OK(cli_parse_uint("99", 1, 1000, &v), "99") || !ASSERT_EQ(v, 99, "value") ||
	    !ASSERT_EQ(cli_parse_uint("0", 1, 1000, &v), -ERANGE, "below min") ||
	    !ASSERT_EQ(cli_parse_uint("1001", 1, 1000, &v), -ERANGE, "above max") ||
	    !ASSERT_EQ(cli_parse_uint("-5", 1, 1000, &v), -EINVAL, "negative") ||
	    !ASSERT_EQ(cli_parse_uint("12abc", 1, 1000, &v), -EINVAL, "junk") ||
	    !ASSERT_EQ(cli_parse_uint("", 1, 1000, &v), -EINVAL, "empty") ||
	    !ASSERT_EQ(cli_parse_uint("99999999999999999999999", 0, ~0ul, &v), -ERANGE, "overflow"))
		return TEST_FAIL;
	if (!ASSERT_OK(cli_parse_bytes("16384", 64, 65536, &v), "16384") ||
	    !ASSERT_EQ(v, 16384, "bytes") ||
	    !ASSERT_OK(cli_parse_bytes("16k", 64, 65536, &v), "16k") ||
	    !ASSERT_EQ(v, 16384, "16k") ||
	    !ASSERT_OK(cli_parse_bytes("64KiB", 64, 65536, &v), "KiB") ||
	    !ASSERT_EQ(v, 65536, "64KiB") ||
	    !ASSERT_EQ(cli_parse_bytes("65k", 64, 65536, &v), -ERANGE, "above max") ||
	    !ASSERT_EQ(cli_parse_bytes("16kb", 64, 65536, &v), -EINVAL, "unknown unit") ||
	    !ASSERT_EQ(cli_parse_bytes("k", 64, 65536, &v), -EINVAL, "no number") ||
	    !ASSERT_EQ(cli_parse_bytes("99999999999999999999M", 0, ~0ul, &v), -ERANGE, "overflow"))
		return TEST_FAIL;
	if (!ASSERT_OK(cli_parse_seconds("2.5", &d), "2.5") || !ASSERT_TRUE(d == 2.5, "2.5 s") ||
	    !ASSERT_OK(cli_parse_seconds("3m", &d), "3m") || !ASSERT_TRUE(d == 180, "180 s") ||
	    !ASSERT_EQ(cli_parse_seconds("0", &d), -EINVAL, "zero") ||
	    !ASSERT_EQ(cli_parse_seconds("-1", &d), -EINVAL, "negative") ||
	    !ASSERT_EQ(cli_parse_seconds("5q", &d), -EINVAL, "bad unit") ||
	    !ASSERT_EQ(cli_parse_seconds("nan", &d), -EINVAL, "nan"))
		return TEST_FAIL;
	return TEST_PASS;
}

static enum test_result test_frame_names(void)
{
	struct storage_frame named = {
		.kind = STORAGE_FRAME_USER, .name = "do_work", .module = "/usr/bin/x", .offset = 0
	};
	struct storage_frame kern = { .kind = STORAGE_FRAME_KERNEL,
				      .name = "vfs_read",
				      .module = "[kernel.kallsyms]",
				      .offset = 0 };
	struct storage_frame unk = { .kind = STORAGE_FRAME_USER,
				     .name = NULL,
				     .module = "/usr/lib/libc.so.6",
				     .offset = 0x2724a };
	struct storage_frame evil = {
		.kind = STORAGE_FRAME_USER, .name = "a;b\nc d", .module = "/x", .offset = 0
	};
	char buf[128];

	if (!ASSERT_STREQ(export_frame_name(&named, false, buf, sizeof(buf)), "do_work", "user") ||
	    !ASSERT_STREQ(export_frame_name(&kern, true, buf, sizeof(buf)), "vfs_read_[k]",
			  "kernel") ||
	    !ASSERT_STREQ(export_frame_name(&unk, false, buf, sizeof(buf)), "libc.so.6+0x2724a",
			  "unknown") ||
	    !ASSERT_STREQ(export_frame_name(&evil, false, buf, sizeof(buf)), "a_b_c d",
			  "separators"))
		return TEST_FAIL;
	named.inlined = true;
	if (!ASSERT_STREQ(export_frame_name(&named, true, buf, sizeof(buf)), "do_work_[i]",
			  "inlined, marked") ||
	    !ASSERT_STREQ(export_frame_name(&named, false, buf, sizeof(buf)), "do_work",
			  "inlined, unmarked"))
		return TEST_FAIL;
	return TEST_PASS;
}

TEST_MAIN(TEST(test_times), TEST(test_numbers), TEST(test_frame_names))
