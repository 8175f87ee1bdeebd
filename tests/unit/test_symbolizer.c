// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The symbolizer against real files and processes: DWARF inline chains, libc through libc6-dbg,
 * identity by build-id, the LRU bound, a binary replaced on disk, a process in its own mount
 * namespace, a symlink planted to escape a root, a FIFO at a mapped path, perf maps (JIT frames),
 * kallsyms refresh, and demangling. PROGS names the built test programs.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "symbolizer/demangle.h"
#include "symbolizer/elfsym.h"
#include "symbolizer/perfmap.h"
#include "symbolizer/procmaps.h"
#include "symbolizer/safeopen.h"
#include "symbolizer/symbolizer.h"
#include "tests/harness.h"

static const char *progs(void)
{
	const char *p = getenv("PROGS");

	return p && *p ? p : "tests/progs";
}

/* The ELF virtual address of `sym` in `path` (from its .symtab), or 0. */
static uint64_t sym_vaddr(const char *path, const char *sym)
{
	char cmd[512], line[256];
	uint64_t v = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "nm '%s' 2>/dev/null", path);
	f = popen(cmd, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char name[200], type;
		unsigned long long a;

		if (sscanf(line, "%llx %c %199s", &a, &type, name) == 3 && !strcmp(name, sym))
			v = a;
	}
	pclose(f);
	return v;
}

/* sym_vaddr, remembered for the last (path, sym) asked: loops ask it many times. */
static uint64_t sym_vaddr_cached(const char *path, const char *sym)
{
	static char last[4096 + 256];
	static uint64_t v;
	char key[sizeof(last)];

	snprintf(key, sizeof(key), "%s:%s", path, sym);
	if (strcmp(key, last)) {
		v = sym_vaddr(path, sym);
		memcpy(last, key, sizeof(last));
	}
	return v;
}

static int copy_file(const char *from, const char *to)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
	return system(cmd) ? -EIO : 0;
}

/* Starts `argv` with stdout to /dev/null; returns its pid. */
static pid_t spawn(char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static void reap(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* Waits until `pid` has `path` mapped executable; returns its maps or NULL. */
static struct procmaps *wait_mapped(pid_t pid, const char *path)
{
	for (int i = 0; i < 200; i++) {
		struct procmaps *m = procmaps__read(pid);

		for (size_t j = 0; m && j < procmaps__count(m); j++)
			if (strstr(procmaps__entry(m, j)->path, path))
				return m;
		procmaps__free(m);
		usleep(10000);
	}
	return NULL;
}

/* The mapping of `m` whose path contains `path`, holding file offset `off`. */
static const struct procmaps_entry *map_of(const struct procmaps *m, const char *path, uint64_t off)
{
	for (size_t j = 0; j < procmaps__count(m); j++) {
		const struct procmaps_entry *e = procmaps__entry(m, j);

		if (strstr(e->path, path) && off >= e->offset &&
		    off - e->offset < e->end - e->start)
			return e;
	}
	return NULL;
}

/* The runtime address of ELF vaddr `v` of the file `path` in process maps `m`, mapped under a path
 * containing `mapped` (through its PT_LOAD). */
static uint64_t runtime_addr(const struct procmaps *m, const char *path, const char *mapped,
			     uint64_t v)
{
	int fd = open(path, O_RDONLY);
	struct elfsym *e = fd >= 0 ? elfsym__read_fd(fd) : NULL;
	const struct procmaps_entry *me;
	uint64_t off, addr = 0;

	if (e && !elfsym__vaddr_to_offset(e, v, &off) && (me = map_of(m, mapped, off)))
		addr = me->start + off - me->offset;
	elfsym__free(e);
	if (fd >= 0)
		close(fd);
	return addr;
}

/* The inline program: its inlined functions come back as frames marked inlined, innermost first,
 * with the call-site lines of each level; the last frame is the real function. */
static enum test_result test_inline_chain(void)
{
	struct symbolizer *s = symbolizer__new(NULL);
	struct sym_frame f[SYM_MAX_FRAMES];
	char path[512];
	uint64_t work;
	int n, deepest = 0;
	enum test_result r = TEST_FAIL;

	snprintf(path, sizeof(path), "%s/inline", progs());
	work = sym_vaddr(path, "work");
	if (!ASSERT_NONNULL(s, "new") || !ASSERT_GT(work, 0, "work() in the inline program"))
		goto out;
	/* Somewhere in work() an address sits three inlines deep: mix in inner in outer. */
	for (uint64_t a = work; a < work + 256; a++) {
		n = symbolizer__file(s, path, a, f, SYM_MAX_FRAMES);
		if (!ASSERT_GE(n, 1, "frames"))
			goto out;
		if (!ASSERT_STREQ(f[n - 1].name, "work", "outermost is work") ||
		    !ASSERT_TRUE(!f[n - 1].inlined, "work is not inlined"))
			goto out;
		for (int i = 0; i < n - 1; i++)
			if (!ASSERT_TRUE(f[i].inlined, "inner frames are inlined"))
				goto out;
		if (n == 4) {
			if (!ASSERT_STREQ(f[0].name, "mix", "innermost") ||
			    !ASSERT_STREQ(f[1].name, "inner", "level 2") ||
			    !ASSERT_STREQ(f[2].name, "outer", "level 3") ||
			    !ASSERT_TRUE(f[0].file && strstr(f[0].file, "inline.c"), "file") ||
			    !ASSERT_EQ(f[0].line, 13, "mix's line") ||
			    !ASSERT_EQ(f[1].line, 19, "call of mix in inner") ||
			    !ASSERT_TRUE(f[2].line == 25 || f[2].line == 26, "call of inner in "
									     "outer") ||
			    !ASSERT_EQ(f[3].line, 32, "call of outer in work") ||
			    !ASSERT_TRUE(f[0].build_id && strlen(f[0].build_id) == 40, "build-id"))
				goto out;
		}
		deepest = n > deepest ? n : deepest;
	}
	if (!ASSERT_EQ(deepest, 4, "a three-deep inline chain"))
		goto out;
	r = TEST_PASS;
out:
	symbolizer__free(s);
	return r;
}

/* libc through libc6-dbg (by build-id): full names of static functions, file and line. */
static enum test_result test_libc_debuginfo(void)
{
	struct symbolizer *s = symbolizer__new(NULL);
	struct procmaps *m = procmaps__read(getpid());
	struct sym_process *p = s ? symbolizer__process_new(s, getpid()) : NULL;
	/* libc's own qsort: under ASan, `qsort` names the sanitizer's interceptor. */
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	uint64_t addr = (uint64_t)(uintptr_t)(libc ? dlsym(libc, "qsort") : NULL);
	struct sym_frame f[SYM_MAX_FRAMES];
	struct symbolizer_stats st;
	enum test_result r = TEST_FAIL;
	int n;

	if (!ASSERT_NONNULL(p, "process") || !ASSERT_NONNULL(m, "maps") ||
	    !ASSERT_GT(addr, 0, "libc's qsort"))
		goto out;
	n = symbolizer__user(s, p, procmaps__find(m, addr), addr, f, SYM_MAX_FRAMES);
	symbolizer__stats(s, &st);
	if (!st.dwarf_binaries) {
		r = test_skip("no debug info for libc: install libc6-dbg");
		goto out;
	}
	if (!ASSERT_GE(n, 1, "frames") || !ASSERT_TRUE(strstr(f[n - 1].name, "qsort"), "qsort") ||
	    !ASSERT_TRUE(f[0].file && strstr(f[0].file, "msort.c"), "msort.c") ||
	    !ASSERT_GT(f[0].line, 0, "a line"))
		goto out;
	/* The same address again is a cache hit: (build-id generation, file offset) -> frames. */
	n = symbolizer__user(s, p, procmaps__find(m, addr), addr, f, SYM_MAX_FRAMES);
	symbolizer__stats(s, &st);
	if (!ASSERT_EQ(st.cache_hits, 1, "a cache hit") ||
	    !ASSERT_EQ(st.cache_misses, 1, "one miss") ||
	    !ASSERT_TRUE(strstr(f[n - 1].name, "qsort"), "same answer"))
		goto out;
	r = TEST_PASS;
out:
	if (libc)
		dlclose(libc);
	symbolizer__process_free(s, p);
	symbolizer__free(s);
	procmaps__free(m);
	return r;
}

/*
 * What the last idle_resolves resolutions did not use is freed: cached answers and libc's DWARF
 * units (a collector that ran for a day held every unit any address had ever needed), and the
 * tables of a binary not resolved through (this test's own; every binary a host ever ran kept
 * them). Asked again, the units and tables are built again and give the same answers; the strings
 * answers from libc handed out before point to stay valid (ASan would see a use after free).
 */
static enum test_result test_idle_freed(void)
{
	static const char *const fns[] = { "qsort",	"bsearch", "getenv",   "strtol",
					   "fopen",	"fclose",  "opendir",  "readdir",
					   "sprintf",	"regcomp", "getpwnam", "iconv_open",
					   "setlocale", "strftime" };
	enum { N = sizeof(fns) / sizeof(fns[0]) };
	struct symbolizer_opts o = { .idle_resolves = 1024 };
	struct symbolizer *s = symbolizer__new(&o);
	struct procmaps *m = procmaps__read(getpid());
	struct sym_process *p = s ? symbolizer__process_new(s, getpid()) : NULL;
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	struct sym_frame f[SYM_MAX_FRAMES], before[N];
	struct symbolizer_stats st;
	uint64_t addr[N], held, self = (uint64_t)(uintptr_t)test_idle_freed, tables;
	char self_name[64];
	enum test_result r = TEST_FAIL;
	int n;

	if (!ASSERT_NONNULL(p, "process") || !ASSERT_NONNULL(m, "maps") ||
	    !ASSERT_NONNULL(libc, "libc"))
		goto out;
	n = symbolizer__user(s, p, procmaps__find(m, self), self, f, SYM_MAX_FRAMES);
	if (!ASSERT_GE(n, 1, "this test named") || !ASSERT_NONNULL(f[n - 1].name, "its name"))
		goto out;
	/* Valid until the next call only: this binary's tables are about to go. */
	snprintf(self_name, sizeof(self_name), "%s", f[n - 1].name);
	for (int i = 0; i < N; i++) {
		addr[i] = (uint64_t)(uintptr_t)dlsym(libc, fns[i]) + 4;
		n = symbolizer__user(s, p, procmaps__find(m, addr[i]), addr[i], f, SYM_MAX_FRAMES);
		if (!ASSERT_GE(n, 1, fns[i]))
			goto out;
		before[i] = f[0];
	}
	symbolizer__stats(s, &st);
	if (!st.dwarf_binaries) {
		r = test_skip("no debug info for libc: install libc6-dbg");
		goto out;
	}
	held = st.cache_bytes;
	/* Three idle periods of one address: everything else goes. */
	for (int i = 0; i < 3 * 1024; i++)
		symbolizer__user(s, p, procmaps__find(m, addr[0]), addr[0], f, SYM_MAX_FRAMES);
	symbolizer__stats(s, &st);
	if (!ASSERT_GE(st.idle_freed, 64 << 10, "answers and units freed as idle") ||
	    !ASSERT_LE(st.cache_bytes + (64 << 10), held, "held less") ||
	    !ASSERT_GE(st.idle_binaries, 1, "the tables of this test, not resolved through, freed"))
		goto out;
	tables = st.tables_read;
	n = symbolizer__user(s, p, procmaps__find(m, self), self, f, SYM_MAX_FRAMES);
	symbolizer__stats(s, &st);
	if (!ASSERT_GE(n, 1, "this test named again") ||
	    !ASSERT_STREQ(f[n - 1].name, self_name, "the same name") ||
	    !ASSERT_GE(st.tables_read, tables + 1, "its tables read again"))
		goto out;
	for (int i = 0; i < N; i++) {
		n = symbolizer__user(s, p, procmaps__find(m, addr[i]), addr[i], f, SYM_MAX_FRAMES);
		if (!ASSERT_GE(n, 1, fns[i]) || !ASSERT_STREQ(f[0].name, before[i].name, fns[i]) ||
		    !ASSERT_STREQ(f[0].file, before[i].file, "the same file") ||
		    !ASSERT_EQ(f[0].line, before[i].line, "the same line"))
			goto out;
	}
	symbolizer__stats(s, &st);
	if (!ASSERT_EQ(st.elf_errors, 0, "no unit failed to build again"))
		goto out;
	r = TEST_PASS;
out:
	if (libc)
		dlclose(libc);
	symbolizer__process_free(s, p);
	symbolizer__free(s);
	procmaps__free(m);
	return r;
}

/* Two copies of one binary are one binary (one build-id), parsed once; a tiny cache bound evicts
 * and still answers right. */
static enum test_result test_identity_and_lru(void)
{
	struct symbolizer_opts o = { .cache_bytes = 64 << 10 };
	struct symbolizer *s = symbolizer__new(&o);
	char src[512], copy[] = "/tmp/ember-sym-copy-XXXXXX", self[4096];
	struct sym_frame f[SYM_MAX_FRAMES];
	struct symbolizer_stats st;
	uint64_t leaf;
	enum test_result r = TEST_FAIL;
	int fd = mkstemp(copy), n;

	snprintf(src, sizeof(src), "%s/chain", progs());
	leaf = sym_vaddr(src, "chain_leaf_a");
	/* Our own binary by its real path: "/proc/self/exe" would be nm's in sym_vaddr. */
	if (!ASSERT_NONNULL(realpath("/proc/self/exe", self), "own path") ||
	    !ASSERT_GE(fd, 0, "temp") || !ASSERT_OK(copy_file(src, copy), "copy") ||
	    !ASSERT_GT(leaf, 0, "chain_leaf_a"))
		goto out;
	for (int round = 0; round < 3; round++) {
		n = symbolizer__file(s, round & 1 ? copy : src, leaf + 1, f, SYM_MAX_FRAMES);
		if (!ASSERT_GE(n, 1, "frames") ||
		    !ASSERT_STREQ(f[n - 1].name, "chain_leaf_a", "name"))
			goto out;
		/* Another binary in between, used long enough for chain to be out of use: its
		 * next miss pushes chain's tables out of 64 KiB. */
		for (int i = 0; i <= SYM_HOT_RESOLVES; i++)
			n = symbolizer__file(s, self, sym_vaddr_cached(self, "main"), f,
					     SYM_MAX_FRAMES);
		if (!ASSERT_STREQ(f[n - 1].name, "main", "our main"))
			goto out;
		n = symbolizer__file(s, self, sym_vaddr_cached(self, "main") + 1 + round, f,
				     SYM_MAX_FRAMES);
		if (!ASSERT_STREQ(f[n - 1].name, "main", "inside our main"))
			goto out;
	}
	symbolizer__stats(s, &st);
	if (!ASSERT_EQ(st.binaries, 2, "the copy is the same binary") ||
	    !ASSERT_GT(st.evictions, 0, "evictions under a 64 KiB bound") ||
	    !ASSERT_LE(st.cache_bytes, 4 << 20, "the bound holds (one binary's tables at most)"))
		goto out;
	r = TEST_PASS;
out:
	symbolizer__free(s);
	if (fd >= 0) {
		close(fd);
		unlink(copy);
	}
	return r;
}

/*
 * Two binaries whose tables together exceed the budget, used alternately (as a stack runs through
 * python3 and libc): each is parsed once, not once per use. Before the tables in use were spared,
 * every resolution evicted the other binary's tables and the next one read them again (the
 * collector stopped flushing at --symbol-cache-mb 32, re-reading DWARF sample after sample).
 */
static enum test_result test_budget_no_thrash(void)
{
	struct symbolizer_opts o = { .cache_bytes = 64 << 10 };
	struct symbolizer *s = symbolizer__new(&o);
	char src[512], self[4096];
	struct sym_frame f[SYM_MAX_FRAMES];
	struct symbolizer_stats st;
	uint64_t leaf, own;
	enum test_result r = TEST_FAIL;
	int n;

	snprintf(src, sizeof(src), "%s/chain", progs());
	leaf = sym_vaddr(src, "chain_leaf_a");
	if (!ASSERT_NONNULL(s, "symbolizer") ||
	    !ASSERT_NONNULL(realpath("/proc/self/exe", self), "own path") ||
	    !ASSERT_GT(leaf, 0, "chain_leaf_a"))
		goto out;
	own = sym_vaddr(self, "main");
	if (!ASSERT_GT(own, 0, "our main"))
		goto out;
	for (int i = 0; i < 200; i++) {
		/* A new address each time: every call misses the answer cache and needs tables. */
		n = symbolizer__file(s, src, leaf + 1 + (i % 4), f, SYM_MAX_FRAMES);
		if (!ASSERT_GE(n, 1, "frames") ||
		    !ASSERT_STREQ(f[n - 1].name, "chain_leaf_a", "chain's name"))
			goto out;
		n = symbolizer__file(s, self, own + 1 + (i % 4), f, SYM_MAX_FRAMES);
		if (!ASSERT_GE(n, 1, "frames") || !ASSERT_STREQ(f[n - 1].name, "main", "our main"))
			goto out;
	}
	symbolizer__stats(s, &st);
	/* Each binary: its ELF tables, maybe its DWARF and a debug file's symbols, once. */
	if (!ASSERT_LE(st.tables_read, 6, "tables read once per binary, not per use") ||
	    !ASSERT_GT(st.hot_kept, 0, "the budget was exceeded, and said so") ||
	    !ASSERT_GT(st.cache_bytes, 64 << 10, "the working set overshoots the budget"))
		goto out;
	r = TEST_PASS;
out:
	symbolizer__free(s);
	return r;
}

/* A binary replaced on disk while it runs: map_files reaches the mapped (old) file; by path the
 * new file is refused (device/inode differ) instead of giving wrong names. */
static enum test_result test_replaced_binary(void)
{
	char dir[] = "/tmp/ember-sym-repl-XXXXXX", app[600], tmp[600], src[512], other[512];
	struct sym_frame f[SYM_MAX_FRAMES];
	struct symbolizer *s = NULL, *s2 = NULL;
	struct sym_process *p = NULL, *p2 = NULL;
	struct symbolizer_opts no_mf = { .no_map_files = true };
	struct symbolizer_stats st;
	struct procmaps *m = NULL;
	enum test_result r = TEST_FAIL;
	uint64_t addr;
	pid_t pid = -1;
	int n;

	if (!mkdtemp(dir))
		return TEST_FAIL;
	snprintf(src, sizeof(src), "%s/chain", progs());
	snprintf(other, sizeof(other), "%s/syscall_spin", progs());
	snprintf(app, sizeof(app), "%s/app", dir);
	snprintf(tmp, sizeof(tmp), "%s/app.new", dir);
	if (!ASSERT_OK(copy_file(src, app), "copy"))
		goto out;
	pid = spawn((char *const[]){ app, "10", NULL });
	m = wait_mapped(pid, "/app");
	if (!ASSERT_NONNULL(m, "maps of the child"))
		goto out;
	if (!ASSERT_OK(copy_file(other, tmp), "copy") || !ASSERT_OK(rename(tmp, app), "replace"))
		goto out;
	addr = runtime_addr(m, src, "/app", sym_vaddr(src, "chain_leaf_b")) + 4;
	s = symbolizer__new(NULL);
	p = s ? symbolizer__process_new(s, pid) : NULL;
	if (!ASSERT_NONNULL(p, "process") || !ASSERT_GT(addr, 4, "address"))
		goto out;
	n = symbolizer__user(s, p, procmaps__find(m, addr), addr, f, SYM_MAX_FRAMES);
	if (getuid() == 0 &&
	    !ASSERT_STREQ(f[n - 1].name, "chain_leaf_b", "the mapped file, through map_files"))
		goto out;
	/* Without map_files (as after an exit), the path now holds another file: refused. */
	s2 = symbolizer__new(&no_mf);
	p2 = s2 ? symbolizer__process_new(s2, pid) : NULL;
	if (!ASSERT_NONNULL(p2, "process"))
		goto out;
	n = symbolizer__user(s2, p2, procmaps__find(m, addr), addr, f, SYM_MAX_FRAMES);
	symbolizer__stats(s2, &st);
	if (!ASSERT_EQ(n, 1, "one frame") || !ASSERT_NULL(f[0].name, "no name from the new file") ||
	    !ASSERT_EQ(st.stale_files, 1, "counted as stale") ||
	    !ASSERT_TRUE(strstr(f[0].module, "/app"), "module+offset"))
		goto out;
	r = TEST_PASS;
out:
	symbolizer__process_free(s, p);
	symbolizer__process_free(s2, p2);
	symbolizer__free(s);
	symbolizer__free(s2);
	procmaps__free(m);
	reap(pid);
	unlink(app);
	rmdir(dir);
	return r;
}

/* A process in its own mount namespace runs its own copy of a binary from a tmpfs the host does
 * not see: found through /proc/PID/root (map_files off), resolving to the copy's symbols. */
static enum test_result test_mount_namespace(void)
{
	char dir[] = "/tmp/ember-sym-ns-XXXXXX", script[2048], path[600], src[512];
	struct symbolizer_opts no_mf = { .no_map_files = true };
	struct sym_frame f[SYM_MAX_FRAMES];
	struct symbolizer *s = NULL;
	struct sym_process *p = NULL;
	struct procmaps *m = NULL;
	enum test_result r = TEST_FAIL;
	uint64_t addr;
	pid_t pid = -1;
	int n;

	if (getuid() != 0)
		return test_skip("unshare -m needs root");
	if (access("/usr/bin/unshare", X_OK))
		return test_skip("unshare (util-linux) is not installed");
	if (!mkdtemp(dir))
		return TEST_FAIL;
	snprintf(src, sizeof(src), "%s/chain", progs());
	snprintf(path, sizeof(path), "%s/chain", dir);
	snprintf(script, sizeof(script), "mount -t tmpfs none '%s' && cp '%s' '%s' && exec '%s' 10",
		 dir, src, path, path);
	pid = spawn((char *const[]){ "/usr/bin/unshare", "-m", "--propagation", "private",
				     "/bin/sh", "-c", script, NULL });
	m = wait_mapped(pid, path);
	if (!ASSERT_NONNULL(m, "the namespaced process maps its copy") ||
	    !ASSERT_TRUE(access(path, F_OK) != 0, "the host does not see the copy"))
		goto out;
	addr = runtime_addr(m, src, path, sym_vaddr(src, "chain_mid2")) + 1;
	s = symbolizer__new(&no_mf);
	p = s ? symbolizer__process_new(s, pid) : NULL;
	if (!ASSERT_NONNULL(p, "process") || !ASSERT_GT(addr, 1, "address"))
		goto out;
	n = symbolizer__user(s, p, procmaps__find(m, addr), addr, f, SYM_MAX_FRAMES);
	if (!ASSERT_STREQ(f[n - 1].name, "chain_mid2", "symbol of the namespace's copy"))
		goto out;
	/* After the process exits, the pinned file still resolves. */
	reap(pid);
	pid = -1;
	n = symbolizer__user(s, p, procmaps__find(m, addr + 1), addr + 1, f, SYM_MAX_FRAMES);
	if (!ASSERT_STREQ(f[n - 1].name, "chain_mid2", "pinned after exit"))
		goto out;
	/* The unwinder opens the same file through the pin, after the exit too. */
	{
		const struct procmaps_entry *me = procmaps__find(m, addr);
		int fd = symbolizer__open_mapped(s, pid > 0 ? pid : 1 << 30, me);
		struct stat st;

		if (!ASSERT_GE(fd, 0, "open_mapped after exit") ||
		    !ASSERT_OK(fstat(fd, &st), "fstat") ||
		    !ASSERT_EQ(st.st_ino, me->inode, "the mapped file")) {
			if (fd >= 0)
				close(fd);
			goto out;
		}
		close(fd);
	}
	r = TEST_PASS;
out:
	symbolizer__process_free(s, p);
	symbolizer__free(s);
	procmaps__free(m);
	reap(pid);
	rmdir(dir);
	return r;
}

/* Symlinks planted in a root to reach host files are resolved inside that root; a final symlink,
 * a FIFO and a directory are refused; nothing blocks. */
static enum test_result test_hostile_paths(void)
{
	char root[] = "/tmp/ember-sym-root-XXXXXX", p1[600], p2[600], p3[600], p4[600];
	struct symbolizer_opts no_mf = { .no_map_files = true };
	struct procmaps_entry fake = { 0x1000, 0x2000, 0, 0, 0, 0, NULL };
	struct sym_frame f[SYM_MAX_FRAMES];
	struct symbolizer *s = NULL;
	struct sym_process *p = NULL;
	enum test_result r = TEST_FAIL;
	struct stat st;
	int rootfd = -1, fd;

	if (!mkdtemp(root))
		return TEST_FAIL;
	snprintf(p1, sizeof(p1), "%s/etc", root);
	snprintf(p2, sizeof(p2), "%s/escape", root);
	snprintf(p3, sizeof(p3), "%s/up", root);
	snprintf(p4, sizeof(p4), "%s/fifo", root);
	if (mkdir(p1, 0755) || symlink("/etc/passwd", p2) || symlink("../../../../etc", p3) ||
	    mkfifo(p4, 0600))
		goto out;
	rootfd = open(root, O_PATH | O_DIRECTORY);
	fd = safeopen_in_root(rootfd, "/escape", 1 << 20);
	if (fd == -ENOSYS) {
		r = test_skip("no openat2 on this kernel");
		goto out;
	}
	if (!ASSERT_TRUE(fd < 0, "a final symlink is refused (O_NOFOLLOW)"))
		goto out;
	/* "/up/passwd": up -> ../../../../etc climbs no higher than the root: root/etc/passwd. */
	fd = safeopen_in_root(rootfd, "/up/passwd", 1 << 20);
	if (!ASSERT_EQ(fd, -ENOENT, "a symlink cannot climb out of the root"))
		goto out;
	fd = safeopen_in_root(rootfd, "/proc/self/root/etc/passwd", 1 << 20);
	if (!ASSERT_TRUE(fd < 0, "no way out through /proc"))
		goto out;
	alarm(10); /* a FIFO that blocked the open would hang here: fail loudly instead */
	fd = safeopen_in_root(rootfd, "/fifo", 1 << 20);
	if (!ASSERT_EQ(fd, -EINVAL, "a FIFO is refused, without blocking") ||
	    !ASSERT_EQ(safeopen_in_root(rootfd, "/etc", 1 << 20), -EINVAL, "a directory"))
		goto out;
	/* Through the symbolizer: a mapping naming the FIFO resolves as module+offset, at once. */
	if (stat(p4, &st))
		goto out;
	fake.path = p4;
	fake.inode = st.st_ino;
	fake.dev_major = major(st.st_dev);
	fake.dev_minor = minor(st.st_dev);
	s = symbolizer__new(&no_mf);
	p = s ? symbolizer__process_new(s, getpid()) : NULL;
	if (!ASSERT_NONNULL(p, "process") ||
	    !ASSERT_EQ(symbolizer__user(s, p, &fake, 0x1800, f, SYM_MAX_FRAMES), 1, "one frame") ||
	    !ASSERT_NULL(f[0].name, "unnamed") || !ASSERT_EQ(f[0].offset, 0x800, "offset"))
		goto out;
	alarm(0);
	r = TEST_PASS;
out:
	symbolizer__process_free(s, p);
	symbolizer__free(s);
	if (rootfd >= 0)
		close(rootfd);
	unlink(p2);
	unlink(p3);
	unlink(p4);
	rmdir(p1);
	rmdir(root);
	return r;
}

/* JIT code: anonymous executable memory named by /tmp/perf-PID.map, re-read when it grows. */
static enum test_result test_perf_map(void)
{
	struct sym_frame f[SYM_MAX_FRAMES];
	struct symbolizer *s = symbolizer__new(NULL);
	struct sym_process *p = s ? symbolizer__process_new(s, getpid()) : NULL;
	struct procmaps *m = NULL;
	enum test_result r = TEST_FAIL;
	char path[64];
	uint64_t base;
	void *code;
	FILE *pm;

	code = mmap(NULL, 8192, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!ASSERT_TRUE(code != MAP_FAILED, "mmap") || !ASSERT_NONNULL(p, "process"))
		goto out;
	base = (uint64_t)(uintptr_t)code;
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", getpid());
	pm = fopen(path, "w");
	if (!pm)
		goto out;
	fprintf(pm, "%llx 100 LazyCompile:~hot /app.js:3\n", (unsigned long long)base);
	fprintf(pm, "garbage line\n");
	fclose(pm);
	m = procmaps__read(getpid());
	if (!ASSERT_EQ(symbolizer__user(s, p, procmaps__find(m, base + 0x10), base + 0x10, f, 4), 1,
		       "one frame") ||
	    !ASSERT_STREQ(f[0].name, "LazyCompile:~hot /app.js:3", "JIT name") ||
	    !ASSERT_EQ(f[0].kind, SYM_KIND_JIT, "JIT kind") ||
	    !ASSERT_EQ(f[0].offset, 0x10, "offset"))
		goto out;
	/* The JIT appends: the map grows and the new code resolves. */
	pm = fopen(path, "a");
	if (!pm)
		goto out;
	fprintf(pm, "%llx 80 py::later:/x.py\n", (unsigned long long)base + 0x1000);
	fclose(pm);
	symbolizer__user(s, p, procmaps__find(m, base + 0x1008), base + 0x1008, f, 4);
	if (!ASSERT_STREQ(f[0].name, "py::later:/x.py", "re-read after growth"))
		goto out;
	/* JIT code in a file mapping that is no ELF file (a memfd, as double-mapping JITs use). */
	{
		int mfd = memfd_create("jit-code", MFD_CLOEXEC);
		void *jit = MAP_FAILED;
		uint64_t jb;

		if (mfd >= 0 && !ftruncate(mfd, 4096))
			jit = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, mfd, 0);
		if (!ASSERT_TRUE(jit != MAP_FAILED, "memfd mapping"))
			goto out;
		jb = (uint64_t)(uintptr_t)jit;
		pm = fopen(path, "a");
		if (pm) {
			fprintf(pm, "%llx 40 jit_in_memfd\n", (unsigned long long)jb);
			fclose(pm);
		}
		procmaps__free(m);
		m = procmaps__read(getpid());
		symbolizer__user(s, p, procmaps__find(m, jb + 4), jb + 4, f, 4);
		munmap(jit, 4096);
		close(mfd);
		if (!ASSERT_STREQ(f[0].name, "jit_in_memfd", "perf map over a memfd mapping") ||
		    !ASSERT_EQ(f[0].kind, SYM_KIND_JIT, "JIT kind"))
			goto out;
	}
	/* Past every entry: unnamed, anonymous memory. */
	symbolizer__user(s, p, procmaps__find(m, base + 0x1f00), base + 0x1f00, f, 4);
	if (!ASSERT_NULL(f[0].name, "uncovered address") ||
	    !ASSERT_EQ(f[0].kind, SYM_KIND_USER, "kind"))
		goto out;
	r = TEST_PASS;
out:
	unlink(path);
	if (code != MAP_FAILED)
		munmap(code, 8192);
	procmaps__free(m);
	symbolizer__process_free(s, p);
	symbolizer__free(s);
	return r;
}

static enum test_result test_perfmap_parser(void)
{
	static const char text[] = "1000 10 first\n"
				   "0x2000 0x20 second with spaces\n"
				   "1000 10 first again\n"
				   "zz 10 bad\n"
				   "3000 0 zero size\n"
				   "4000 10 \n"
				   "ffffffffffffffff 10 wraps\n"
				   "5000 10 unterminated";
	struct perfmap *pm = perfmap__new();
	uint64_t off;
	enum test_result r = TEST_FAIL;

	if (!ASSERT_OK(perfmap__parse(pm, text, sizeof(text) - 1), "parse") ||
	    !ASSERT_EQ(perfmap__count(pm), 2, "two good addresses") ||
	    !ASSERT_EQ(perfmap__bad_lines(pm), 4, "four bad lines") ||
	    !ASSERT_STREQ(perfmap__find(pm, 0x1005, &off), "first again", "the later entry wins") ||
	    !ASSERT_EQ(off, 5, "offset") ||
	    !ASSERT_STREQ(perfmap__find(pm, 0x201f, &off), "second with spaces", "0x, spaces") ||
	    !ASSERT_NULL(perfmap__find(pm, 0x2020, &off), "end is exclusive") ||
	    !ASSERT_NULL(perfmap__find(pm, 0x5000, &off), "a line still being written is ignored"))
		goto out;
	r = TEST_PASS;
out:
	perfmap__free(pm);
	return r;
}

/* kallsyms is reloaded when the module list changes (a module or BPF program loaded). */
static enum test_result test_kernel_refresh(void)
{
	char ks[] = "/tmp/ember-ksyms-XXXXXX", mods[] = "/tmp/ember-mods-XXXXXX";
	struct symbolizer_opts o = { .kallsyms_path = ks, .modules_path = mods };
	int kfd = mkstemp(ks), mfd = mkstemp(mods);
	struct symbolizer *s = NULL;
	enum test_result r = TEST_FAIL;
	struct sym_frame f;
	FILE *k;

	if (kfd < 0 || mfd < 0)
		goto out;
	k = fopen(ks, "w");
	fputs("ffffffff81000000 T _stext\nffffffff81000100 T schedule\nffffffff81800000 T _etext\n",
	      k);
	fclose(k);
	s = symbolizer__new(&o);
	symbolizer__kernel(s, 0xffffffff81000110ull, &f);
	if (!ASSERT_STREQ(f.name, "schedule", "core kernel") ||
	    /* 0 unless a BPF program loaded meanwhile (other tests run beside this one) */
	    !ASSERT_GE(symbolizer__kernel_refresh(s), 0, "refresh"))
		goto out;
	k = fopen(ks, "w");
	fputs("ffffffff81000000 T _stext\nffffffff81000100 T schedule\nffffffff81800000 T _etext\n"
	      "ffffffffc0001000 t my_probe\t[mymod]\n",
	      k);
	fclose(k);
	k = fopen(mods, "w");
	fputs("mymod 16384 0 - Live 0xffffffffc0001000\n", k);
	fclose(k);
	/* Noticed, but read only when an address needs it: a core kernel one does not. */
	if (!ASSERT_EQ(symbolizer__kernel_refresh(s), 0, "not read yet"))
		goto out;
	symbolizer__kernel(s, 0xffffffff81000110ull, &f);
	if (!ASSERT_EQ(symbolizer__kernel_refresh(s), 0, "a core address needs no reload"))
		goto out;
	symbolizer__kernel(s, 0xffffffffc0001010ull, &f);
	if (!ASSERT_STREQ(f.name, "my_probe", "the module's symbol") ||
	    !ASSERT_STREQ(f.module, "[mymod]", "the module") ||
	    !ASSERT_EQ(symbolizer__kernel_refresh(s), 1, "reloaded"))
		goto out;
	r = TEST_PASS;
out:
	symbolizer__free(s);
	if (kfd >= 0) {
		close(kfd);
		unlink(ks);
	}
	if (mfd >= 0) {
		close(mfd);
		unlink(mods);
	}
	return r;
}

/* debuginfod, when enabled: a binary stripped of its DWARF resolves with ELF names at first, and
 * with file:line once the worker thread fetched the debug info (here from a file:// server). */
static enum test_result test_debuginfod(void)
{
	char dir[] = "/tmp/ember-dbgd-XXXXXX", cmd[4096], stripped[600], url[700], src[512];
	struct symbolizer_opts o = { .debuginfod = true, .debug_dir = "/nonexistent" };
	struct sym_frame f[SYM_MAX_FRAMES];
	struct symbolizer *s = NULL;
	struct symbolizer_stats st;
	enum test_result r = TEST_FAIL;
	uint64_t work;
	int n = 0;

	if (!mkdtemp(dir))
		return TEST_FAIL;
	snprintf(src, sizeof(src), "%s/inline", progs());
	snprintf(stripped, sizeof(stripped), "%s/inline.stripped", dir);
	/* The server's layout: buildid/<hex>/debuginfo. */
	snprintf(cmd, sizeof(cmd),
		 "id=$(readelf -n '%s' | awk '/Build ID/ { print $3 }') && "
		 "mkdir -p '%s/srv/buildid/'$id '%s/cache' && cp '%s' "
		 "'%s/srv/buildid/'$id/debuginfo && "
		 "objcopy --strip-debug '%s' '%s'",
		 src, dir, dir, src, dir, src, stripped);
	if (!ASSERT_OK(system(cmd), "server layout"))
		goto out;
	snprintf(url, sizeof(url), "file://%s/srv", dir);
	setenv("DEBUGINFOD_URLS", url, 1);
	snprintf(cmd, sizeof(cmd), "%s/cache", dir);
	setenv("DEBUGINFOD_CACHE_PATH", cmd, 1);
	s = symbolizer__new(&o);
	work = sym_vaddr(src, "work");
	if (!ASSERT_NONNULL(s, "new") || !ASSERT_GT(work, 0, "work"))
		goto out;
	n = symbolizer__file(s, stripped, work + 8, f, SYM_MAX_FRAMES);
	if (!ASSERT_STREQ(f[n - 1].name, "work", "the ELF name at once") ||
	    !ASSERT_NULL(f[0].file, "no DWARF yet: nothing blocks on the fetch"))
		goto out;
	for (int i = 0; i < 100 && !f[0].file; i++) {
		usleep(50000);
		n = symbolizer__file(s, stripped, work + 8, f, SYM_MAX_FRAMES);
	}
	symbolizer__stats(s, &st);
	if (!ASSERT_TRUE(f[0].file && strstr(f[0].file, "inline.c"), "file:line once fetched") ||
	    !ASSERT_EQ(st.debuginfod_found, 1, "counted"))
		goto out;
	r = TEST_PASS;
out:
	unsetenv("DEBUGINFOD_URLS");
	unsetenv("DEBUGINFOD_CACHE_PATH");
	symbolizer__free(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		r = TEST_FAIL;
	return r;
}

/* gdb's other ways: a .gnu_debuglink to a debug file beside the binary (checked by build-id), and
 * a binary without a build-id known by a hash of its content (two copies: one binary). */
static enum test_result test_debuglink_and_content_hash(void)
{
	char dir[] = "/tmp/ember-dlink-XXXXXX", cmd[4096], bin[600], nobid[600], nobid2[600],
	     src[512];
	struct symbolizer_opts o = { .debug_dir = "/nonexistent" };
	struct sym_frame f[SYM_MAX_FRAMES];
	struct symbolizer *s = NULL;
	struct symbolizer_stats st;
	enum test_result r = TEST_FAIL;
	uint64_t work;
	int n;

	if (!mkdtemp(dir))
		return TEST_FAIL;
	snprintf(src, sizeof(src), "%s/inline", progs());
	snprintf(bin, sizeof(bin), "%s/app", dir);
	snprintf(nobid, sizeof(nobid), "%s/nobid", dir);
	snprintf(nobid2, sizeof(nobid2), "%s/nobid2", dir);
	/* objcopy computes the debuglink CRC from a file in the current directory: cd there. */
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && objcopy --only-keep-debug '%s' app.debug && "
		 "objcopy --strip-debug --add-gnu-debuglink=app.debug '%s' app && "
		 "objcopy --strip-debug --remove-section .note.gnu.build-id '%s' nobid && "
		 "cp nobid nobid2",
		 dir, src, src, src);
	if (!ASSERT_OK(system(cmd), "objcopy"))
		goto out;
	s = symbolizer__new(&o);
	work = sym_vaddr(src, "work");
	if (!ASSERT_NONNULL(s, "new") || !ASSERT_GT(work, 0, "work"))
		goto out;
	n = symbolizer__file(s, bin, work + 8, f, SYM_MAX_FRAMES);
	if (!ASSERT_STREQ(f[n - 1].name, "work", "name") ||
	    !ASSERT_TRUE(f[0].file && strstr(f[0].file, "inline.c"), "file:line via the debuglink"))
		goto out;
	symbolizer__file(s, nobid, work + 8, f, SYM_MAX_FRAMES);
	n = symbolizer__file(s, nobid2, work + 8, f, SYM_MAX_FRAMES);
	symbolizer__stats(s, &st);
	if (!ASSERT_STREQ(f[n - 1].name, "work", "ELF name without a build-id") ||
	    !ASSERT_NULL(f[0].build_id, "no build-id to report") ||
	    !ASSERT_EQ(st.binaries, 2, "app, and one binary for both copies without a build-id") ||
	    !ASSERT_EQ(st.cache_hits, 1, "the copy answered from the first one's cache"))
		goto out;
	r = TEST_PASS;
out:
	symbolizer__free(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		r = TEST_FAIL;
	return r;
}

static enum test_result test_demangle(void)
{
	char *cxx = demangle("_ZN3foo3barEi"), *rust = demangle("_ZN4core3fmt5write17h0123456789abc"
								"defE");
	char *v0 = demangle("_RNvCs1234_7mycrate4main"), *c = demangle("main");
	enum test_result r = TEST_FAIL;

	if (ASSERT_STREQ(cxx, "foo::bar(int)", "C++") &&
	    ASSERT_STREQ(rust, "core::fmt::write", "Rust legacy, hash dropped") &&
	    ASSERT_STREQ(v0, "mycrate::main", "Rust v0") && ASSERT_NULL(c, "C stays as it is"))
		r = TEST_PASS;
	free(cxx);
	free(rust);
	free(v0);
	return r;
}

TEST_MAIN(TEST(test_inline_chain), TEST(test_libc_debuginfo), TEST(test_idle_freed),
	  TEST(test_identity_and_lru), TEST(test_budget_no_thrash), TEST(test_replaced_binary),
	  TEST(test_mount_namespace), TEST(test_hostile_paths), TEST(test_perf_map),
	  TEST(test_perfmap_parser), TEST(test_kernel_refresh), TEST(test_debuginfod),
	  TEST(test_debuglink_and_content_hash), TEST(test_demangle))
