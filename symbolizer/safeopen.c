// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * openat2 has no glibc wrapper in Debian 12 (glibc 2.36): it is called through syscall(2) with the
 * kernel's struct open_how.
 */
#include "symbolizer/safeopen.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int safeopen_check(int fd, uint64_t max_size)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uint64_t)st.st_size > max_size)
		return -EFBIG;
	return 0;
}

static int finish(int fd, uint64_t max_size)
{
	int err;

	if (fd < 0)
		return -errno;
	err = safeopen_check(fd, max_size);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int safeopen_in_root(int rootfd, const char *path, uint64_t max_size)
{
	struct open_how how;

	if (!path || path[0] != '/')
		return -EINVAL;
	memset(&how, 0, sizeof(how));
	/* O_NONBLOCK: a FIFO planted at the path must not block; it is then refused as non-regular.
	 */
	how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	return finish((int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how)), max_size);
}

int safeopen_path(const char *path, uint64_t max_size)
{
	return finish(open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY), max_size);
}
