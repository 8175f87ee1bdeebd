// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The DWARF unwinder on this very process: a known chain of noinline functions takes a snapshot
 * of its registers and stack (as the BPF sampler would), and the unwinder must find every return
 * address of the chain, in order, up to _start (complete). Then the failures: a copy cut short
 * (truncated, with the frames found so far), a smashed return address (bad frame), a frame without
 * CFI (no unwind info in DWARF mode, a frame-pointer step in auto mode), a corrupted .eh_frame
 * (an error for that binary, never a crash, also under random corruption), and the memo (a hit
 * only when every word the first unwind read is unchanged).
 */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <sys/stat.h>
#include <ucontext.h>
#include <unistd.h>

#include "symbolizer/ehframe.h"
#include "symbolizer/procmaps.h"
#include "symbolizer/unwind.h"
#include "tests/harness.h"

#define NOINLINE __attribute__((noinline))
#define CHAIN 4

struct snap {
	uint64_t regs[UNWIND_NR_REGS];
	uint8_t stack[16384];
	size_t size;
	uint64_t ra[CHAIN]; /* ra[k]: the return address frame k + 1 must show */
	uint64_t ra_trampoline;
};

static struct snap snap;
static uint64_t stack_top;
volatile int test_sink;

/* The end of this thread's stack mapping, from /proc/self/maps. */
static uint64_t find_stack_top(void)
{
	char line[512];
	unsigned long long lo, hi, top = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, "[stack]") && sscanf(line, "%llx-%llx", &lo, &hi) == 2)
			top = hi;
	if (f)
		fclose(f);
	return top;
}

/* Copies our own stack as the BPF program would: byte by byte through volatile reads (no memcpy
 * call) and outside AddressSanitizer's view, whose redzones lie between the frames. */
static __attribute__((no_sanitize("address"))) void copy_stack(uint8_t *dst, uint64_t src, size_t n)
{
	const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)src;

	for (size_t i = 0; i < n; i++)
		dst[i] = p[i];
}

static NOINLINE void take_snapshot(struct snap *s)
{
	/* getcontext's register order differs from DWARF's. */
	static const int map[UNWIND_NR_REGS] = { REG_RAX, REG_RDX, REG_RCX, REG_RBX, REG_RSI,
						 REG_RDI, REG_RBP, REG_RSP, REG_R8,  REG_R9,
						 REG_R10, REG_R11, REG_R12, REG_R13, REG_R14,
						 REG_R15, REG_RIP };
	ucontext_t uc;

	s->ra[0] = (uint64_t)__builtin_return_address(0);
	/* The state right after this call returns: its IP lies in this function, whose CFI
	 * describes the frame at that point. */
	getcontext(&uc);
	for (int i = 0; i < UNWIND_NR_REGS; i++)
		s->regs[i] = (uint64_t)uc.uc_mcontext.gregs[map[i]];
	s->size = stack_top - s->regs[UNWIND_REG_SP];
	if (s->size > sizeof(s->stack))
		s->size = sizeof(s->stack);
	copy_stack(s->stack, s->regs[UNWIND_REG_SP], s->size);
}

/* A chain that neither inlines nor tail-calls (each does work after its call). */
static NOINLINE void chain3(struct snap *s)
{
	s->ra[1] = (uint64_t)__builtin_return_address(0);
	take_snapshot(s);
	test_sink++;
}

static NOINLINE void chain2(struct snap *s)
{
	s->ra[2] = (uint64_t)__builtin_return_address(0);
	chain3(s);
	test_sink++;
}

static NOINLINE void chain1(struct snap *s)
{
	s->ra[3] = (uint64_t)__builtin_return_address(0);
	chain2(s);
	test_sink++;
}

/* A function without CFI that keeps a frame pointer: push rbp; mov rsp, rbp; call fn(arg). */
__asm__(".text\n"
	".globl nocfi_trampoline\n"
	".type nocfi_trampoline, @function\n"
	"nocfi_trampoline:\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	mov %rdi, %rax\n"
	"	mov %rsi, %rdi\n"
	"	call *%rax\n"
	"	pop %rbp\n"
	"	ret\n"
	".size nocfi_trampoline, .-nocfi_trampoline\n");
void nocfi_trampoline(void (*fn)(struct snap *), struct snap *arg);

static NOINLINE void nocfi_leaf(struct snap *s)
{
	s->ra_trampoline = (uint64_t)__builtin_return_address(0);
	take_snapshot(s);
	test_sink++;
}

/* ---- the unwinder's file opener for tests: the path, or a substitute for one file ---- */

static const char *substitute_from, *substitute_to;

static int open_file(void *ctx, int pid, const struct procmaps_entry *m)
{
	const char *path = m->path;
	int fd;

	if (substitute_from && !strcmp(path, substitute_from))
		path = substitute_to;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static unsigned int nerrors;
static char last_error[512];

static void on_error(void *ctx, const char *path, const char *why)
{
	nerrors++;
	snprintf(last_error, sizeof(last_error), "%s: %s", path, why);
}

static struct unwinder *new_unwinder(enum unwind_mode mode, bool no_memo)
{
	struct unwinder_opts o = {
		.mode = mode, .open_file = open_file, .binary_error = on_error, .no_memo = no_memo
	};

	return unwinder__new(&o);
}

static struct procmaps *maps;
static uint64_t maps_version = 1;
static char exe_path[4096];
static int copy_file(const char *from, const char *to);

static void sample_of(const struct snap *s, struct unwind_sample *us)
{
	*us = (struct unwind_sample){
		.pid = (uint32_t)getpid(),
		.tid = (uint32_t)getpid(),
		.start_ns = 1,
		.maps = maps,
		.maps_version = maps_version,
		.regs = s->regs,
		.stack = s->stack,
		.stack_size = s->size,
	};
}

static void dump(const struct unwind_result *r)
{
	fprintf(stderr, "status %d, %zu frames:", r->status, r->n);
	for (size_t i = 0; i < r->n; i++)
		fprintf(stderr, " %#llx%s", (unsigned long long)r->ips[i],
			r->flags[i] & UNWIND_FRAME_EXACT ? "!" : "");
	fprintf(stderr, "\n");
}

static bool chain_found(const struct unwind_result *r, const struct snap *s)
{
	if (r->n < CHAIN + 1 || r->ips[0] != s->regs[UNWIND_REG_IP] ||
	    !(r->flags[0] & UNWIND_FRAME_EXACT))
		return false;
	for (int k = 0; k < CHAIN; k++)
		if (r->ips[k + 1] != s->ra[k] || (r->flags[k + 1] & UNWIND_FRAME_EXACT))
			return false;
	return true;
}

static enum test_result test_complete_chain(void)
{
	struct unwind_result r;
	struct unwind_sample us;
	struct unwinder_stats st;

	for (int mode = UNWIND_MODE_AUTO; mode <= UNWIND_MODE_DWARF; mode++) {
		struct unwinder *u = new_unwinder(mode, false);

		if (!ASSERT_NONNULL(u, "unwinder"))
			return TEST_FAIL;
		chain1(&snap);
		sample_of(&snap, &us);
		if (!ASSERT_OK(unwinder__unwind(u, &us, &r), "unwind"))
			goto fail;
		if (!ASSERT_TRUE(chain_found(&r, &snap), "the chain's return addresses in order") ||
		    !ASSERT_EQ(r.status, UNWIND_COMPLETE, "reached _start") ||
		    !ASSERT_LE(r.n, 16, "and stopped there")) {
			dump(&r);
			goto fail;
		}
		unwinder__stats(u, &st);
		if (!ASSERT_EQ(st.binary_errors, 0, "every binary usable") ||
		    !ASSERT_GE(st.binaries, 3, "exe, libc, vdso at least"))
			goto fail;
		unwinder__free(u);
		continue;
	fail:
		unwinder__free(u);
		return TEST_FAIL;
	}
	return TEST_PASS;
}

/* Replaces every word `from` in the copy by `to`; returns how many. */
static int smash(struct snap *s, uint64_t from, uint64_t to)
{
	int n = 0;

	for (size_t slot = 0; slot + 8 <= s->size; slot += 8)
		if (!memcmp(s->stack + slot, &from, 8)) {
			memcpy(s->stack + slot, &to, 8);
			n++;
		}
	return n;
}

static enum test_result test_truncated_and_bad(void)
{
	struct unwinder *u = new_unwinder(UNWIND_MODE_DWARF, true);
	struct unwind_result full, r;
	struct unwind_sample us;
	enum test_result ret = TEST_FAIL;
	struct snap *cut = malloc(sizeof(*cut));
	uint64_t junk = 0x1234;

	if (!ASSERT_NONNULL(u, "unwinder") || !ASSERT_NONNULL(cut, "alloc"))
		goto out;
	chain1(&snap);
	sample_of(&snap, &us);
	unwinder__unwind(u, &us, &full);
	if (!ASSERT_EQ(full.status, UNWIND_COMPLETE, "full copy"))
		goto out;

	/* A copy ending inside the chain: the frames before the end, then truncated. */
	*cut = snap;
	cut->size = 48;
	sample_of(cut, &us);
	unwinder__unwind(u, &us, &r);
	if (!ASSERT_EQ(r.status, UNWIND_TRUNCATED, "48-byte copy") ||
	    !ASSERT_GE(r.n, 1, "at least the sampled frame") ||
	    !ASSERT_CMP(r.n, <, full.n, "fewer") ||
	    !ASSERT_OK(memcmp(r.ips, full.ips, r.n * 8), "a prefix of the full stack")) {
		dump(&r);
		goto out;
	}

	/* The return address chain2 returns to, smashed wherever its value lies on the stack (its
	 * slot among them; instrumented builds keep more copies): frames up to chain2, then a bad
	 * frame. */
	*cut = snap;
	if (!ASSERT_GT(smash(cut, snap.ra[2], junk), 0, "the return address is on the stack"))
		goto out;
	sample_of(cut, &us);
	unwinder__unwind(u, &us, &r);
	if (!ASSERT_EQ(r.status, UNWIND_BAD_FRAME, "smashed return address") ||
	    !ASSERT_GE(r.n, 3, "frames before it kept") ||
	    !ASSERT_OK(memcmp(r.ips, full.ips, 3 * 8), "those frames are right")) {
		dump(&r);
		goto out;
	}
	ret = TEST_PASS;
out:
	free(cut);
	unwinder__free(u);
	return ret;
}

static enum test_result test_no_cfi(void)
{
	struct unwinder *dw = new_unwinder(UNWIND_MODE_DWARF, true);
	struct unwinder *au = new_unwinder(UNWIND_MODE_AUTO, true);
	struct unwind_result r;
	struct unwind_sample us;
	enum test_result ret = TEST_FAIL;

	if (!ASSERT_NONNULL(dw, "dwarf") || !ASSERT_NONNULL(au, "auto"))
		goto out;
	nocfi_trampoline(nocfi_leaf, &snap);
	sample_of(&snap, &us);
	unwinder__unwind(dw, &us, &r);
	/* take_snapshot, nocfi_leaf, then the trampoline: no CFI, the stack ends there. */
	if (!ASSERT_EQ(r.status, UNWIND_NO_INFO, "dwarf mode") || !ASSERT_EQ(r.n, 3, "frames") ||
	    !ASSERT_EQ(r.ips[2], snap.ra_trampoline, "the trampoline's frame is the last")) {
		dump(&r);
		goto out;
	}
	unwinder__unwind(au, &us, &r);
	/* Auto mode steps over the trampoline with its frame pointer and goes on to _start. */
	if (!ASSERT_EQ(r.status, UNWIND_COMPLETE, "auto mode") || !ASSERT_GT(r.n, 5, "frames") ||
	    !ASSERT_EQ(r.ips[2], snap.ra_trampoline, "through the trampoline")) {
		dump(&r);
		goto out;
	}
	ret = TEST_PASS;
out:
	unwinder__free(dw);
	unwinder__free(au);
	return ret;
}

static enum test_result test_memo(void)
{
	struct unwinder *u = new_unwinder(UNWIND_MODE_AUTO, false);
	struct unwind_result a, b;
	struct unwind_sample us;
	struct unwinder_stats st;
	enum test_result ret = TEST_FAIL;
	uint64_t junk = 0x4321;

	if (!ASSERT_NONNULL(u, "unwinder"))
		return TEST_FAIL;
	chain1(&snap);
	sample_of(&snap, &us);
	unwinder__unwind(u, &us, &a);
	unwinder__unwind(u, &us, &b);
	unwinder__stats(u, &st);
	if (!ASSERT_EQ(st.memo_hits, 1, "the same sample again is a hit") ||
	    !ASSERT_EQ(a.n, b.n, "same depth") ||
	    !ASSERT_OK(memcmp(a.ips, b.ips, a.n * 8), "ips") ||
	    !ASSERT_EQ(a.status, b.status, "status"))
		goto out;
	/* A word the unwind did not need changes: still a hit. The lowest word of the copy lies in
	 * take_snapshot's own frame below any saved register or return address. */
	snap.stack[0] ^= 0xff;
	unwinder__unwind(u, &us, &b);
	unwinder__stats(u, &st);
	if (!ASSERT_EQ(st.memo_hits, 2, "an unread word changed: still a hit"))
		goto out;
	/* A return address it read changes: no hit, and the new stack differs. */
	smash(&snap, snap.ra[2], junk);
	unwinder__unwind(u, &us, &b);
	unwinder__stats(u, &st);
	if (!ASSERT_EQ(st.memo_hits, 2, "a read word changed: a miss") ||
	    !ASSERT_EQ(b.status, UNWIND_BAD_FRAME, "and the new result")) {
		dump(&b);
		goto out;
	}
	ret = TEST_PASS;
out:
	unwinder__free(u);
	return ret;
}

/*
 * Unwind tables are read once per binary: a second process mapping the same files, and a third
 * mapping a copy of the executable under another inode (same build-id), open nothing new.
 */
static enum test_result test_binaries_shared(void)
{
	struct unwinder *u = new_unwinder(UNWIND_MODE_AUTO, true);
	char copy[] = "/tmp/ember-test-unwind-copy-XXXXXX", *text = NULL, line[8192];
	struct unwinder_stats st1, st2, st3;
	struct procmaps *other = NULL;
	struct unwind_result r;
	struct unwind_sample us;
	enum test_result ret = TEST_FAIL;
	size_t len = 0, cap = 0;
	FILE *f = NULL;
	int fd = mkstemp(copy);
	ssize_t n;

	if (!ASSERT_NONNULL(u, "unwinder") || !ASSERT_GE(fd, 0, "temporary file"))
		goto out;
	close(fd);
	n = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
	if (!ASSERT_GT(n, 0, "own path"))
		goto out;
	exe_path[n] = '\0';
	chain1(&snap);
	sample_of(&snap, &us);
	unwinder__unwind(u, &us, &r);
	unwinder__stats(u, &st1);
	us.start_ns = 2; /* another process, the same files */
	unwinder__unwind(u, &us, &r);
	unwinder__stats(u, &st2);
	if (!ASSERT_EQ(r.status, UNWIND_COMPLETE, "second process") ||
	    !ASSERT_EQ(st2.processes, 2, "two address spaces") ||
	    !ASSERT_EQ(st2.binaries, st1.binaries, "no binary opened twice"))
		goto out;

	/* A third process whose executable is a copy (another inode, the same build-id). */
	if (!ASSERT_OK(copy_file(exe_path, copy), "copy"))
		goto out;
	f = fopen("/proc/self/maps", "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, exe_path), *ino;
		size_t l;

		if (p) {
			/* "start-end perms offset dev inode path": rewrite inode and path. */
			ino = line;
			for (int field = 0; field < 4; field++)
				ino = strchr(ino, ' ') + 1;
			snprintf(ino, sizeof(line) - (size_t)(ino - line), "999999999 %s\n", copy);
		}
		l = strlen(line);
		if (len + l + 1 > cap) {
			cap = (len + l + 1) * 2;
			text = realloc(text, cap);
			if (!text)
				goto out;
		}
		memcpy(text + len, line, l + 1);
		len += l;
	}
	other = text ? procmaps__parse(text, len) : NULL;
	if (!ASSERT_NONNULL(other, "rewritten maps"))
		goto out;
	substitute_from = copy;
	substitute_to = copy;
	us.start_ns = 3;
	us.maps = other;
	us.maps_version = 2;
	unwinder__unwind(u, &us, &r);
	unwinder__stats(u, &st3);
	if (!ASSERT_EQ(r.status, UNWIND_COMPLETE, "through the copy") ||
	    !ASSERT_EQ(st3.binaries, st1.binaries, "the copy shares the binary by build-id"))
		goto out;
	ret = TEST_PASS;
out:
	substitute_from = NULL;
	if (f)
		fclose(f);
	free(text);
	procmaps__free(other);
	unlink(copy);
	unwinder__free(u);
	return ret;
}

/*
 * Binaries go with the last address space that reports them, after the same grace as processes:
 * the collector met hundreds of binaries an hour on a busy host (new builds, new tests) and kept
 * every one's unwind sections for its whole life. One still reported by a live process stays.
 */
static enum test_result test_binaries_expire(void)
{
	struct unwinder *u = new_unwinder(UNWIND_MODE_AUTO, true);
	struct unwinder_stats st1, st2, st3, st4;
	struct unwind_result r;
	struct unwind_sample us;
	enum test_result ret = TEST_FAIL;

	if (!ASSERT_NONNULL(u, "unwinder"))
		goto out;
	chain1(&snap);
	sample_of(&snap, &us);
	unwinder__touch(u, 100);
	unwinder__unwind(u, &us, &r);
	unwinder__stats(u, &st1);
	if (!ASSERT_EQ(r.status, UNWIND_COMPLETE, "unwound") ||
	    !ASSERT_GE(st1.binaries_held, 2, "exe and libc held") ||
	    !ASSERT_GE(st1.files_held, 2, "their files"))
		goto out;
	/* The process goes idle; its binaries are kept for the grace period after that. */
	unwinder__touch(u, 200);
	if (!ASSERT_EQ(unwinder__expire(u, 150), 1, "the idle address space expires"))
		goto out;
	unwinder__stats(u, &st2);
	if (!ASSERT_EQ(st2.procs_held, 0, "no address space") ||
	    !ASSERT_EQ(st2.binaries_held, st1.binaries_held, "binaries kept within the grace"))
		goto out;
	unwinder__touch(u, 400);
	unwinder__expire(u, 300);
	unwinder__stats(u, &st3);
	if (!ASSERT_EQ(st3.binaries_held, 0, "binaries no process used since the cutoff go") ||
	    !ASSERT_EQ(st3.files_held, 0, "and their files") ||
	    !ASSERT_EQ(st3.binaries_freed, st1.binaries_held, "counted"))
		goto out;
	/* They come back when a process maps them again, and stay while it lives. */
	us.start_ns = 2;
	unwinder__touch(u, 500);
	unwinder__unwind(u, &us, &r);
	unwinder__touch(u, 10000);
	unwinder__unwind(u, &us, &r);
	unwinder__expire(u, 5000);
	unwinder__stats(u, &st4);
	if (!ASSERT_EQ(r.status, UNWIND_COMPLETE, "unwound again") ||
	    !ASSERT_EQ(st4.binaries_held, st1.binaries_held, "held again, while in use") ||
	    !ASSERT_EQ(st4.procs_held, 1, "the live address space stays"))
		goto out;
	ret = TEST_PASS;
out:
	unwinder__free(u);
	return ret;
}

/* ---- corrupted .eh_frame ---- */

struct section {
	uint64_t offset, size, addr;
};

static int find_sections(const char *path, struct section *eh, struct section *hdr)
{
	int fd = open(path, O_RDONLY);
	Elf *e;
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	int found = 0;

	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (e && !elf_getshdrstrndx(e, &shstrndx)) {
		while ((scn = elf_nextscn(e, scn))) {
			GElf_Shdr sh;
			const char *n;

			if (!gelf_getshdr(scn, &sh))
				break;
			n = elf_strptr(e, shstrndx, sh.sh_name);
			if (n && !strcmp(n, ".eh_frame")) {
				*eh = (struct section){ sh.sh_offset, sh.sh_size, sh.sh_addr };
				found |= 1;
			} else if (n && !strcmp(n, ".eh_frame_hdr")) {
				*hdr = (struct section){ sh.sh_offset, sh.sh_size, sh.sh_addr };
				found |= 2;
			}
		}
	}
	elf_end(e);
	close(fd);
	return found == 3 ? 0 : -ENOENT;
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ssize_t n;
	int err = in < 0 || out < 0 ? -EIO : 0;

	while (!err && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			err = -EIO;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return err;
}

static int patch(const char *path, uint64_t off, const void *bytes, size_t n)
{
	int fd = open(path, O_WRONLY);
	int err = fd < 0 || pwrite(fd, bytes, n, (off_t)off) != (ssize_t)n ? -EIO : 0;

	if (fd >= 0)
		close(fd);
	return err;
}

/* Unwinds the chain with the executable replaced by `corrupt`; the status must be one of the
 * failures, and the collector (us) alive. */
static int unwind_with(const char *corrupt, enum unwind_mode mode, struct unwind_result *r)
{
	struct unwinder *u = new_unwinder(mode, true);
	struct unwind_sample us;

	if (!u)
		return -ENOMEM;
	substitute_from = exe_path;
	substitute_to = corrupt;
	chain1(&snap);
	sample_of(&snap, &us);
	unwinder__unwind(u, &us, r);
	unwinder__free(u);
	substitute_from = NULL;
	return 0;
}

static enum test_result test_corrupt_eh_frame(void)
{
	char path[] = "/tmp/ember-test-unwind-XXXXXX";
	struct section eh = { 0 }, hdr = { 0 };
	struct unwind_result r;
	enum test_result ret = TEST_FAIL;
	uint32_t huge = 0x7ffffff0, zero = 0;
	unsigned int seed = 12345;
	int fd = mkstemp(path), rounds;
	ssize_t n;

	if (!ASSERT_GE(fd, 0, "temporary file"))
		return TEST_FAIL;
	close(fd);
	n = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
	if (!ASSERT_GT(n, 0, "own path"))
		goto out;
	exe_path[n] = '\0';
	if (!ASSERT_OK(find_sections(exe_path, &eh, &hdr), ".eh_frame and .eh_frame_hdr"))
		goto out;

	/* A record length running past the section: the check catches it, one error for the
	 * binary, and its frames have no unwind information. The record patched is one in the
	 * middle, found by walking the real records. */
	{
		int efd = open(exe_path, O_RDONLY);
		uint8_t *buf = malloc(eh.size);
		uint64_t off = 0;

		if (efd < 0 || !buf ||
		    pread(efd, buf, eh.size, (off_t)eh.offset) != (ssize_t)eh.size) {
			free(buf);
			if (efd >= 0)
				close(efd);
			goto out;
		}
		close(efd);
		while (off + 4 <= eh.size && off < eh.size / 2) {
			uint32_t len;

			memcpy(&len, buf + off, 4);
			if (!len)
				break;
			off += 4 + len;
		}
		free(buf);
		if (!ASSERT_OK(copy_file(exe_path, path), "copy") ||
		    !ASSERT_OK(patch(path, eh.offset + off, &huge, 4), "patch length"))
			goto out;
	}
	nerrors = 0;
	if (!ASSERT_OK(unwind_with(path, UNWIND_MODE_DWARF, &r), "unwind"))
		goto out;
	if (!ASSERT_EQ(nerrors, 1, "one error for the binary") ||
	    !ASSERT_TRUE(strstr(last_error, "malformed .eh_frame") != NULL, last_error) ||
	    !ASSERT_EQ(r.status, UNWIND_NO_INFO, "its frames have no unwind info") ||
	    !ASSERT_EQ(r.n, 1, "the sampled frame is kept")) {
		dump(&r);
		goto out;
	}
	/* The header's table pointing nowhere. */
	if (!ASSERT_OK(copy_file(exe_path, path), "copy") ||
	    !ASSERT_OK(patch(path, hdr.offset + 12 + 4, &zero, 4), "patch table"))
		goto out;
	nerrors = 0;
	unwind_with(path, UNWIND_MODE_AUTO, &r);
	if (!ASSERT_EQ(nerrors, 1, "bad .eh_frame_hdr table: an error"))
		goto out;

	/* Random damage inside the records and the table: whatever the check lets through, libdw
	 * must survive and the stack must come back classified. */
	/* EMBER_FUZZ_ROUNDS raises the count for a longer soak. */
	rounds = getenv("EMBER_FUZZ_ROUNDS") ? atoi(getenv("EMBER_FUZZ_ROUNDS")) : 200;
	for (int round = 0; round < rounds; round++) {
		/* One round in four damages the header's table instead. */
		const struct section *sec = round % 4 == 3 ? &hdr : &eh;
		uint8_t junk[32];
		uint64_t at = sec->offset + rand_r(&seed) % (sec->size - sizeof(junk));
		size_t len = 1 + rand_r(&seed) % sizeof(junk);

		for (size_t i = 0; i < len; i++)
			junk[i] = (uint8_t)rand_r(&seed);
		if (!ASSERT_OK(copy_file(exe_path, path), "copy") ||
		    !ASSERT_OK(patch(path, at, junk, len), "patch"))
			goto out;
		if (!ASSERT_OK(unwind_with(path, round & 1 ? UNWIND_MODE_AUTO : UNWIND_MODE_DWARF,
					   &r),
			       "unwind") ||
		    !ASSERT_CMP(r.status, <, UNWIND_STATUS__COUNT, "classified") ||
		    !ASSERT_GE(r.n, 1, "the sampled frame at least"))
			goto out;
	}
	ret = TEST_PASS;
out:
	unlink(path);
	return ret;
}

static enum test_result test_ehframe_check(void)
{
	uint8_t eh[64] = { 0 };
	char why[256];

	/* A CIE (version 1, "zR") and an FDE pointing back at it, then the terminator. */
	uint32_t cie_len = 16, fde_len = 20;

	memcpy(eh, &cie_len, 4);
	eh[8] = 1;
	memcpy(eh + 9, "zR", 3);
	memcpy(eh + 20, &fde_len, 4);
	{
		uint32_t ptr = 24; /* from the FDE's id field (offset 24) back to offset 0 */

		memcpy(eh + 24, &ptr, 4);
	}
	if (!ASSERT_OK(ehframe_check(eh, 48, 0x1000, NULL, 0, 0, why, sizeof(why)), why))
		return TEST_FAIL;
	/* The FDE pointing into the middle of the CIE. */
	{
		uint32_t ptr = 20;

		memcpy(eh + 24, &ptr, 4);
	}
	if (!ASSERT_EQ(ehframe_check(eh, 48, 0x1000, NULL, 0, 0, why, sizeof(why)), -EBADMSG,
		       "FDE pointing at no CIE") ||
	    !ASSERT_TRUE(strstr(why, "points at no CIE") != NULL, why))
		return TEST_FAIL;
	/* A CIE with version 9. */
	eh[8] = 9;
	if (!ASSERT_EQ(ehframe_check(eh, 48, 0x1000, NULL, 0, 0, why, sizeof(why)), -EBADMSG,
		       "bad version"))
		return TEST_FAIL;
	/* A length past the end. */
	eh[8] = 1;
	cie_len = 1000;
	memcpy(eh, &cie_len, 4);
	if (!ASSERT_EQ(ehframe_check(eh, 48, 0x1000, NULL, 0, 0, why, sizeof(why)), -EBADMSG,
		       "length past the end"))
		return TEST_FAIL;
	return TEST_PASS;
}

static void setup(void) __attribute__((constructor));
static void setup(void)
{
	stack_top = find_stack_top();
	maps = procmaps__read(getpid());
	if (!stack_top || !maps) {
		fprintf(stderr, "cannot read /proc/self/maps\n");
		exit(1);
	}
}

static void teardown(void) __attribute__((destructor));
static void teardown(void)
{
	procmaps__free(maps);
}

TEST_MAIN(TEST(test_ehframe_check), TEST(test_binaries_expire), TEST(test_complete_chain),
	  TEST(test_truncated_and_bad), TEST(test_no_cfi), TEST(test_memo),
	  TEST(test_binaries_shared), TEST(test_corrupt_eh_frame))
