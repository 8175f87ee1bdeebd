// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* procmaps: parsing real and hostile /proc/PID/maps text. */
#include <errno.h>
#include <unistd.h>

#include "symbolizer/procmaps.h"
#include "tests/harness.h"

static const char sample[] = "55d0c0a00000-55d0c0a02000 r--p 00000000 08:01 1234   /usr/bin/cat\n"
			     "55d0c0a02000-55d0c0a07000 r-xp 00002000 08:01 1234   /usr/bin/cat\n"
			     "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n"
			     "7f1000000000-7f1000100000 r-xp 00028000 fd:02 99 /lib/with "
			     "space/libc.so.6\n"
			     "7ffc00000000-7ffc00002000 r-xp 00000000 00:00 0                      "
			     "    [vdso]\n"
			     "7f2000000000-7f2000001000 r-xp 00000000 00:00 0\n";

static enum test_result test_parse(void)
{
	struct procmaps *m = procmaps__parse(sample, sizeof(sample) - 1);
	const struct procmaps_entry *e;
	enum test_result r = TEST_FAIL;

	if (!ASSERT_NONNULL(m, "parse"))
		return TEST_FAIL;
	if (!ASSERT_EQ(procmaps__count(m), 4, "executable entries only"))
		goto out;
	e = procmaps__find(m, 0x55d0c0a03000);
	if (!ASSERT_NONNULL(e, "find in cat") || !ASSERT_STREQ(e->path, "/usr/bin/cat", "path") ||
	    !ASSERT_EQ(e->offset, 0x2000, "offset") || !ASSERT_EQ(e->inode, 1234, "inode") ||
	    !ASSERT_EQ(e->dev_major, 8, "major") || !ASSERT_EQ(e->dev_minor, 1, "minor"))
		goto out;
	e = procmaps__find(m, 0x7f1000000010);
	if (!ASSERT_NONNULL(e, "find in libc") ||
	    !ASSERT_STREQ(e->path, "/lib/with space/libc.so.6", "path with a space") ||
	    !ASSERT_EQ(e->dev_major, 0xfd, "hex major"))
		goto out;
	e = procmaps__find(m, 0x7ffc00000100);
	if (!ASSERT_NONNULL(e, "vdso") || !ASSERT_STREQ(e->path, "[vdso]", "vdso name"))
		goto out;
	e = procmaps__find(m, 0x7f2000000000);
	if (!ASSERT_NONNULL(e, "anon exec") || !ASSERT_STREQ(e->path, "", "anonymous"))
		goto out;
	if (!ASSERT_NULL(procmaps__find(m, 0x55d0c0a00000), "non-exec mapping is not kept") ||
	    !ASSERT_NULL(procmaps__find(m, 0x55d0c0a07000), "end is exclusive") ||
	    !ASSERT_NULL(procmaps__find(m, 1), "below everything"))
		goto out;
	r = TEST_PASS;
out:
	procmaps__free(m);
	return r;
}

static enum test_result test_hostile(void)
{
	static const char *const bad[] = {
		"zz-10 r-xp 0 0:0 0 x\n",		     /* not hex */
		"10-5 r-xp 00000000 00:00 0 /x\n",	     /* end before start */
		"10-20 r-x\n",				     /* truncated */
		"10000000000000000000-20 r-xp 0 0:0 0 /x\n", /* too many digits */
		"10-20 r-xp 0 0:0 12a /x\n",		     /* inode not decimal */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct procmaps *m = procmaps__parse(bad[i], strlen(bad[i]));

		if (!ASSERT_NULL(m, bad[i]) || !ASSERT_EQ(errno, EINVAL, "errno"))
			return TEST_FAIL;
	}
	/* A NUL inside a path is refused; an empty input is an empty map. */
	{
		static const char nul[] = "10-20 r-xp 0 0:0 1 /a\0b\n";
		struct procmaps *m = procmaps__parse(nul, sizeof(nul) - 1);

		if (!ASSERT_NULL(m, "NUL in path"))
			return TEST_FAIL;
		m = procmaps__parse("", 0);
		if (!ASSERT_NONNULL(m, "empty") || !ASSERT_EQ(procmaps__count(m), 0, "no entries"))
			return TEST_FAIL;
		procmaps__free(m);
	}
	return TEST_PASS;
}

static enum test_result test_self(void)
{
	struct procmaps *m = procmaps__read(getpid());
	const struct procmaps_entry *e;
	bool ok;

	if (!ASSERT_NONNULL(m, "read own maps"))
		return TEST_FAIL;
	e = procmaps__find(m, (uint64_t)(uintptr_t)test_self);
	ok = ASSERT_NONNULL(e, "own code is mapped") &&
	     ASSERT_TRUE(strstr(e->path, "test_procmaps"), "path");
	procmaps__free(m);
	if (!ok)
		return TEST_FAIL;
	m = procmaps__read(0x7ffffff0);
	if (!ASSERT_NULL(m, "no such process") || !ASSERT_EQ(errno, ENOENT, "ENOENT"))
		return TEST_FAIL;
	return TEST_PASS;
}

/* Maps built from the kernel's exit-time entries: sorted, a file known by device and inode only
 * named from other maps, the rest left nameless; a bad range refused. */
static enum test_result test_named(void)
{
	struct procmaps_entry v[] = {
		{ .start = 0x7f1000000000,
		  .end = 0x7f1000100000,
		  .offset = 0x28000,
		  .inode = 99,
		  .dev_major = 0xfd,
		  .dev_minor = 2,
		  .path = "" },
		{ .start = 0x55d0c0a02000,
		  .end = 0x55d0c0a07000,
		  .offset = 0x2000,
		  .inode = 1234,
		  .dev_major = 8,
		  .dev_minor = 1,
		  .path = "" },
		{ .start = 0x7e0000000000, .end = 0x7e0000001000, .inode = 77, .path = NULL },
	};
	struct procmaps *names = procmaps__parse(sample, sizeof(sample) - 1), *raw, *m = NULL;
	const struct procmaps_entry *e;
	enum test_result r = TEST_FAIL;

	raw = procmaps__new(v, 3);
	if (!ASSERT_NONNULL(names, "parse") || !ASSERT_NONNULL(raw, "new") ||
	    !ASSERT_EQ(procmaps__count(raw), 3, "entries") ||
	    !ASSERT_EQ(procmaps__entry(raw, 0)->start, 0x55d0c0a02000, "sorted"))
		goto out;
	m = procmaps__named(raw, names);
	if (!ASSERT_NONNULL(m, "named"))
		goto out;
	e = procmaps__find(m, 0x55d0c0a03000);
	if (!ASSERT_NONNULL(e, "cat") || !ASSERT_STREQ(e->path, "/usr/bin/cat", "named") ||
	    !ASSERT_TRUE(procmaps_entry_is_file(e), "a file"))
		goto out;
	e = procmaps__find(m, 0x7f1000000010);
	if (!ASSERT_NONNULL(e, "libc") ||
	    !ASSERT_STREQ(e->path, "/lib/with space/libc.so.6", "named, same dev and inode"))
		goto out;
	e = procmaps__find(m, 0x7e0000000000);
	if (!ASSERT_NONNULL(e, "unnamed") || !ASSERT_STREQ(e->path, "", "no name known") ||
	    !ASSERT_TRUE(procmaps_entry_is_file(e), "still a file, by device and inode"))
		goto out;
	procmaps__free(m);
	v[0].end = v[0].start;
	m = procmaps__new(v, 3);
	if (!ASSERT_NULL(m, "empty range refused") || !ASSERT_EQ(errno, EINVAL, "errno"))
		goto out;
	r = TEST_PASS;
out:
	procmaps__free(m);
	procmaps__free(raw);
	procmaps__free(names);
	return r;
}

TEST_MAIN(TEST(test_parse), TEST(test_hostile), TEST(test_self), TEST(test_named))
