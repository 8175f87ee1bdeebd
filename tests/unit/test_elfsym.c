// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* elfsym and the symbolizer facade: our own binary, libc, and damaged ELF files. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "symbolizer/elfsym.h"
#include "symbolizer/procmaps.h"
#include "symbolizer/symbolizer.h"
#include "tests/harness.h"

__attribute__((noinline)) int elfsym_test_marker(int x);
__attribute__((noinline)) int elfsym_test_marker(int x)
{
	return x * 3 + 1;
}

static enum test_result test_own_function(void)
{
	struct procmaps *m = procmaps__read(getpid());
	uint64_t addr = (uint64_t)(uintptr_t)elfsym_test_marker, vaddr, off = 99;
	const struct procmaps_entry *e = procmaps__find(m, addr);
	struct elfsym *elf = NULL;
	const uint8_t *id;
	enum test_result r = TEST_FAIL;
	int fd = open("/proc/self/exe", O_RDONLY);

	if (!ASSERT_NONNULL(e, "mapping") || !ASSERT_GE(fd, 0, "open exe"))
		goto out;
	elf = elfsym__read_fd(fd);
	if (!ASSERT_NONNULL(elf, "read") || !ASSERT_GT(elfsym__count(elf), 10, "symbols"))
		goto out;
	if (!ASSERT_OK(elfsym__offset_to_vaddr(elf, addr + 2 - e->start + e->offset, &vaddr), "offs"
											      "et "
											      "to "
											      "vadd"
											      "r"))
		goto out;
	if (!ASSERT_STREQ(elfsym__lookup(elf, vaddr, &off), "elfsym_test_marker", "name") ||
	    !ASSERT_EQ(off, 2, "offset into the function"))
		goto out;
	if (!ASSERT_EQ(elfsym__build_id(elf, &id), 20, "a GNU build-id of 20 bytes"))
		goto out;
	r = TEST_PASS;
out:
	elfsym__free(elf);
	procmaps__free(m);
	if (fd >= 0)
		close(fd);
	return r;
}

static enum test_result test_symbolizer_user(void)
{
	struct procmaps *m = procmaps__read(getpid());
	uint64_t addr = (uint64_t)(uintptr_t)elfsym_test_marker + 1;
	uint64_t libc_addr = (uint64_t)(uintptr_t)getpid;
	struct symbolizer *s = symbolizer__new(NULL);
	struct sym_process *p = s ? symbolizer__process_new(s, getpid()) : NULL;
	struct symbolizer_stats st;
	struct sym_frame f;
	enum test_result r = TEST_FAIL;

	if (!ASSERT_NONNULL(s, "new") || !ASSERT_NONNULL(m, "maps") ||
	    !ASSERT_NONNULL(p, "process"))
		goto out;
	symbolizer__user(s, p, procmaps__find(m, addr), addr, &f, 1);
	if (!ASSERT_STREQ(f.name, "elfsym_test_marker", "own function") ||
	    !ASSERT_EQ(f.kind, SYM_KIND_USER, "user kind"))
		goto out;
	/* libc's exported getpid resolves through .dynsym. */
	symbolizer__user(s, p, procmaps__find(m, libc_addr), libc_addr, &f, 1);
	if (!ASSERT_TRUE(f.name && strstr(f.name, "getpid"), "getpid from libc") ||
	    !ASSERT_TRUE(strstr(f.module, "libc"), "libc module"))
		goto out;
	/* The second lookup into the same file does not parse it again. */
	symbolizer__user(s, p, procmaps__find(m, addr), addr, &f, 1);
	symbolizer__stats(s, &st);
	if (!ASSERT_EQ(st.binaries, 2, "two files parsed once each"))
		goto out;
	r = TEST_PASS;
out:
	symbolizer__process_free(s, p);
	symbolizer__free(s);
	procmaps__free(m);
	return r;
}

/* Writes `len` bytes of `src` (or garbage when src is NULL) to a temp file; returns an fd. */
static int temp_copy(const void *src, size_t len)
{
	char path[] = "/tmp/ember-elf-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	if (write(fd, src, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return fd;
}

static enum test_result test_damaged(void)
{
	int src = open("/proc/self/exe", O_RDONLY), fd;
	static char buf[1 << 22];
	ssize_t n = src >= 0 ? read(src, buf, sizeof(buf)) : -1;
	struct elfsym *elf;

	if (src >= 0)
		close(src);
	if (!ASSERT_GT(n, 4096, "read own exe"))
		return TEST_FAIL;
	/* Truncated at many points: an error or a partial table, never a crash. */
	for (ssize_t cut = 0; cut < n; cut += n / 61 + 1) {
		fd = temp_copy(buf, (size_t)cut);
		if (!ASSERT_GE(fd, 0, "temp"))
			return TEST_FAIL;
		elf = elfsym__read_fd(fd);
		elfsym__free(elf);
		close(fd);
	}
	/* Corrupted section headers: every 97th byte flipped past the ELF header. */
	for (ssize_t i = 64; i < n; i += 97)
		buf[i] ^= 0x5a;
	fd = temp_copy(buf, (size_t)n);
	elf = elfsym__read_fd(fd);
	if (elf) {
		uint64_t off;

		for (uint64_t a = 0; a < 1 << 20; a += 4093)
			elfsym__lookup(elf, a, &off);
	}
	elfsym__free(elf);
	close(fd);
	/* Not an ELF file at all. */
	fd = temp_copy("#!/bin/sh\necho hi\n", 18);
	elf = elfsym__read_fd(fd);
	close(fd);
	if (!ASSERT_NULL(elf, "a script") || !ASSERT_EQ(errno, ENOEXEC, "ENOEXEC"))
		return TEST_FAIL;
	return TEST_PASS;
}

TEST_MAIN(TEST(test_own_function), TEST(test_symbolizer_user), TEST(test_damaged))
