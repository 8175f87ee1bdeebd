// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* proctrack: a process's pins (its root, its files) go PROCTRACK_EXIT_GRACE_NS after its exit, by
 * the clock the collector passes in, also when no record comes after the exit (a quiet host). The
 * binaries stay open in the symbolizer's cache, shared by every process that maps them. */
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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

TEST_MAIN(TEST(test_exit_releases_pins))
