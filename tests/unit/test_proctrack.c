// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* proctrack: a process's pins (its root, its files) go PROCTRACK_EXIT_GRACE_NS after its exit, by
 * the clock the collector passes in, also when no record comes after the exit (a quiet host). The
 * binaries stay open in the symbolizer's cache, shared by every process that maps them. */
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdlib.h>
#include <string.h>

#include <linux/types.h> /* the ABI header includes nothing: its types come first */

#include "bpf/ember_abi.h"
#include "profiler/prefetch.h"
#include "profiler/proctrack.h"
#include "tests/harness.h"

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

static enum test_result test_exit_releases_pins(void)
{
	struct symbolizer *sym = symbolizer__new(NULL);
	struct proctrack *pt = sym ? proctrack__new(sym, NULL) : NULL;
	enum test_result r = TEST_FAIL;
	const int64_t s = 1000000000ll;
	int before = count_fds(), held;
	struct proc *p;
	bool is_new;
	pid_t child;

	if (!ASSERT_NONNULL(pt, "tracker"))
		goto out;
	child = fork();
	if (child == 0) {
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	if (!ASSERT_TRUE(child > 0, "fork"))
		goto out;
	usleep(200000); /* exec'd, its maps are sleep's */
	p = proctrack__get(pt, (uint32_t)child, 42, 10 * s, &is_new);
	held = count_fds();
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	if (!ASSERT_NONNULL(p, "tracked") || !ASSERT_TRUE(is_new, "new") ||
	    !ASSERT_NONNULL(p->maps, "maps read") || !ASSERT_TRUE(held > before, "files pinned"))
		goto out;
	proctrack__exit(pt, (uint32_t)child, 42, 11 * s);
	/* Within the grace: kept, samples of the rest of its exit may still come. */
	if (!ASSERT_EQ(proctrack__expire(pt, 11 * s + s / 2, 0), 0, "none idle") ||
	    !ASSERT_EQ(proctrack__count(pt), 1, "kept within the grace") ||
	    !ASSERT_EQ(count_fds(), held, "pins kept"))
		goto out;
	/* No record since the exit; the clock alone moves on. */
	if (!ASSERT_EQ(proctrack__expire(pt, 13 * s, 0), 0, "none idle") ||
	    !ASSERT_EQ(proctrack__count(pt), 0, "forgotten after the grace") ||
	    !ASSERT_EQ(count_fds(), held - 1, "its root released"))
		goto out;
	r = TEST_PASS;
out:
	proctrack__free(pt);
	symbolizer__free(sym);
	return r;
}

/* Appends one name of `depth` components (leaf first, NUL-separated in `comps`) to the record. */
static size_t add_name(unsigned char *rec, size_t at, uint32_t map, const char *comps, size_t len,
		       uint16_t depth)
{
	struct ember_map_name h = { .map = map, .size = (uint16_t)len, .depth = depth };

	memcpy(rec + at, &h, sizeof(h));
	memcpy(rec + at + sizeof(h), comps, len);
	return at + sizeof(h) + len;
}

/*
 * The paths of exit-time maps: components put back in order, a file's other mappings named too,
 * and every malformed record (sizes that lie, a component with a slash or "..", a map index out
 * of range) refused whole with -EINVAL.
 */
static enum test_result test_exit_paths(void)
{
	static const char libz[] = "libz.so.1\0x86_64-linux-gnu\0lib\0usr";
	_Alignas(8) unsigned char rec[sizeof(struct ember_maps_event) + EMBER_EXIT_NAMES_MAX];
	struct ember_maps_event *e = (struct ember_maps_event *)rec;
	char *paths[3] = { 0 };
	size_t base, end;
	int n;

	memset(rec, 0, sizeof(rec));
	e->type = EMBER_EVENT_MAPS;
	e->nr = 3;
	for (int i = 0; i < 3; i++)
		e->maps[i] = (struct ember_map){ .start = 0x1000u * (i + 1),
						 .end = 0x1000u * (i + 2),
						 .inode = i == 2 ? 7 : 9,
						 .dev_major = 8 };
	base = EMBER_MAPS_EVENT_HEADER_SIZE + 3 * sizeof(struct ember_map);
	end = add_name(rec, base, 0, libz, sizeof(libz), 4);
	end = add_name(rec, end, 2, "x\0", 2, 1);
	e->names_size = (uint32_t)(end - base);
	n = prefetch_exit_paths(rec, end, paths, 3);
	if (!ASSERT_EQ(n, 3, "named") ||
	    !ASSERT_STREQ(paths[0], "/usr/lib/x86_64-linux-gnu/libz.so.1", "reversed") ||
	    !ASSERT_STREQ(paths[1], "/usr/lib/x86_64-linux-gnu/libz.so.1", "same inode") ||
	    !ASSERT_STREQ(paths[2], "/x", "one component"))
		return TEST_FAIL;
	for (int i = 0; i < 3; i++) {
		free(paths[i]);
		paths[i] = NULL;
	}
	if (!ASSERT_EQ(prefetch_exit_paths(rec, end - 1, paths, 3), -EINVAL, "short record") ||
	    !ASSERT_EQ(prefetch_exit_paths(rec, end + 1, paths, 3), -EINVAL, "long record"))
		return TEST_FAIL;
	/* Each bad name in turn, in the second slot. */
	{
		static const struct {
			const char *comps;
			size_t len;
			uint16_t depth;
			uint32_t map;
		} bad[] = {
			{ "a/b\0", 4, 1, 2 }, { "..\0", 3, 1, 2 },   { "a\0\0", 3, 2, 2 },
			{ "ab", 2, 1, 2 },    { "a\0b\0", 4, 1, 2 }, { "a\0", 2, 0, 2 },
			{ "a\0", 2, 1, 3 },   { "a\0", 2, 1, 99 },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			size_t at = add_name(rec, base, 0, libz, sizeof(libz), 4);

			at = add_name(rec, at, bad[i].map, bad[i].comps, bad[i].len, bad[i].depth);
			e->names_size = (uint32_t)(at - base);
			n = prefetch_exit_paths(rec, at, paths, 3);
			/* A bad path is left unnamed; a bad index or size refuses the record. */
			if (n == -EINVAL ? paths[0] != NULL : (n != 2 || paths[2] != NULL)) {
				fprintf(stderr, "bad name %zu: %d named, %s\n", i, n,
					paths[2] ? paths[2] : "(none)");
				return TEST_FAIL;
			}
			for (int j = 0; j < 3; j++) {
				free(paths[j]);
				paths[j] = NULL;
			}
		}
	}
	/* A size that runs past the names. */
	{
		struct ember_map_name h = { .map = 0, .size = 60000, .depth = 1 };

		memcpy(rec + base, &h, sizeof(h));
		e->names_size = sizeof(h) + 2;
		if (!ASSERT_EQ(prefetch_exit_paths(rec, base + sizeof(h) + 2, paths, 3), -EINVAL,
			       "size past the end"))
			return TEST_FAIL;
	}
	return TEST_PASS;
}

TEST_MAIN(TEST(test_exit_releases_pins), TEST(test_exit_paths))
