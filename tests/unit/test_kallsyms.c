// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* kallsyms: a synthetic file, and the running kernel's. */
#include <stdio.h>

#include "symbolizer/kallsyms.h"
#include "tests/harness.h"

static enum test_result test_synthetic(void)
{
	char path[] = "/tmp/ember-kallsyms-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	struct kallsyms *k = NULL;
	const struct ksym *s;
	enum test_result r = TEST_FAIL;

	if (!ASSERT_NONNULL(f, "temp file"))
		return TEST_FAIL;
	fputs("ffffffff81000000 T _stext\n"
	      "ffffffff81000ff0 t __pfx_do_thing\n"
	      "ffffffff81001000 t do_thing\n"
	      "ffffffff81002000 D some_data\n"
	      "ffffffff81003000 T other_thing\n"
	      "ffffffffc0000000 t ext4_fn\t[ext4]\n"
	      "ffffffffc0000100 t ext4_fn2\t[ext4]\n"
	      "garbage line\n",
	      f);
	fclose(f);
	k = kallsyms__load(path);
	if (!ASSERT_NONNULL(k, "load"))
		goto out;
	if (!ASSERT_EQ(kallsyms__count(k), 5, "text symbols without __pfx_"))
		goto out;
	s = kallsyms__find(k, 0xffffffff81000ff8);
	if (!ASSERT_STREQ(s ? s->name : NULL, "_stext", "padding belongs to the previous symbol"))
		goto out;
	s = kallsyms__find(k, 0xffffffff81002100);
	if (!ASSERT_STREQ(s ? s->name : NULL, "do_thing", "data symbols are skipped"))
		goto out;
	s = kallsyms__find(k, 0xffffffffc0000104);
	if (!ASSERT_STREQ(s ? s->name : NULL, "ext4_fn2", "module symbol") ||
	    !ASSERT_STREQ(s->module, "ext4", "module name"))
		goto out;
	if (!ASSERT_NULL(kallsyms__find(k, 0x1000), "below the first symbol"))
		goto out;
	r = TEST_PASS;
out:
	kallsyms__free(k);
	unlink(path);
	return r;
}

static enum test_result test_restricted(void)
{
	char path[] = "/tmp/ember-kallsyms-XXXXXX";
	int fd = mkstemp(path);
	struct kallsyms *k;

	if (!ASSERT_GE(fd, 0, "temp file"))
		return TEST_FAIL;
	dprintf(fd, "0000000000000000 T _stext\n0000000000000000 T foo\n");
	close(fd);
	k = kallsyms__load(path);
	unlink(path);
	if (!ASSERT_NULL(k, "all-zero addresses are refused") || !ASSERT_EQ(errno, EPERM, "EPERM"))
		return TEST_FAIL;
	return TEST_PASS;
}

/* The address /proc/kallsyms gives for vfs_read, read independently of kallsyms.c. */
static unsigned long long vfs_read_addr(void)
{
	unsigned long long addr = 0, a;
	char line[512], name[256], type;
	FILE *f = fopen("/proc/kallsyms", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %255s", &a, &type, name) == 3 && !strcmp(name, "vfs_"
											 "read")) {
			addr = a;
			break;
		}
	if (f)
		fclose(f);
	return addr;
}

static enum test_result test_live(void)
{
	struct kallsyms *k = kallsyms__load("/proc/kallsyms");
	unsigned long long addr = vfs_read_addr();
	const struct ksym *s;
	enum test_result r = TEST_FAIL;

	if (!k)
		return errno == EPERM ? test_skip("kptr_restrict hides kernel addresses")
				      : TEST_FAIL;
	if (!ASSERT_GT(kallsyms__count(k), 10000, "a real kernel has many symbols") ||
	    !ASSERT_NEQ(addr, 0, "vfs_read in /proc/kallsyms"))
		goto out;
	s = kallsyms__find(k, addr + 4);
	if (!ASSERT_STREQ(s ? s->name : NULL, "vfs_read", "vfs_read+4") ||
	    !ASSERT_NULL(s->module, "in the kernel image"))
		goto out;
	s = kallsyms__find(k, addr - 1);
	if (!ASSERT_TRUE(s && strncmp(s->name, "__pfx_", 6) && strcmp(s->name, "vfs_read"),
			 "the byte before belongs to another function, never a __pfx_ symbol"))
		goto out;
	r = TEST_PASS;
out:
	kallsyms__free(k);
	return r;
}

TEST_MAIN(TEST(test_synthetic), TEST(test_restricted), TEST(test_live))
