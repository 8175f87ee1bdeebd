/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Opening files named by other processes. A path in /proc/PID/maps or a perf map is hostile: it
 * may lie in another mount namespace, lead through a symlink planted to escape a container's root,
 * or name a FIFO that would block a plain open() forever. Every open here is non-blocking, takes
 * regular files only, and refuses files above a size cap.
 */
#ifndef EMBER_SAFEOPEN_H
#define EMBER_SAFEOPEN_H

#include <stdint.h>
#include <sys/types.h>

/*
 * Opens `path` (absolute) read-only inside the directory tree of `rootfd`, as the process whose
 * root it is would see it: with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so ".." and
 * absolute symlinks stay inside that root, /proc magic links are refused, and O_NOFOLLOW refuses a
 * symlink as the last component. Returns an fd, or -errno: -EINVAL for something that is not a
 * regular file (FIFO, device, directory), -EFBIG above `max_size` bytes, -ENOSYS on kernels
 * without openat2 (nothing is opened then: there is no safe fallback).
 */
int safeopen_in_root(int rootfd, const char *path, uint64_t max_size);

/*
 * Opens a path that must be followed as a magic link (/proc/PID/map_files/..., /proc/PID/exe), or
 * a trusted host path (/usr/lib/debug/...). Same checks on the result as above.
 */
int safeopen_path(const char *path, uint64_t max_size);

/* 0 when fd is a regular file of at most max_size bytes; -EINVAL / -EFBIG / -errno otherwise. */
int safeopen_check(int fd, uint64_t max_size);

#endif
