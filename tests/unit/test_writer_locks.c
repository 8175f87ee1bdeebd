// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * storage writer: interning new rows between two flushes must not open one SQLite read
 * transaction per lookup. Each such transaction takes and drops POSIX locks (fcntl F_SETLK) on
 * the database and its -shm file; on a busy host, where most stacks are new, that cost the
 * collector hundreds of microseconds per frame (bench/writer_intern.c). The test counts the lock
 * calls through the unix VFS's documented system-call hook (xSetSystemCall), and checks that a
 * reopened database still gives back the ids of existing rows.
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "storage/storage.h"
#include "storage/writer.h"
#include "tests/harness.h"

#define NFRAMES 1000

static char dir[] = "/tmp/ember-writer-locks-XXXXXX";
static char path[256];
static sqlite3_syscall_ptr real_fcntl;
static long nlocks;

static int counting_fcntl(int fd, int op, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, op);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (op == F_SETLK || op == F_SETLKW)
		nlocks++;
	return ((int (*)(int, int, ...))real_fcntl)(fd, op, arg);
}

/* Interns NFRAMES new frames (one string each) into ids[]; 0 or the first error. */
static int64_t intern_all(struct storage_writer *w, int64_t *ids)
{
	char name[32];

	for (int i = 0; i < NFRAMES; i++) {
		struct storage_frame f = { .kind = STORAGE_FRAME_USER,
					   .name = name,
					   .module = "/bin/busy" };

		snprintf(name, sizeof(name), "fn_%d", i);
		ids[i] = storage_writer__frame(w, &f);
		if (ids[i] <= 0)
			return ids[i] ? ids[i] : -EINVAL;
	}
	return 0;
}

static enum test_result test_one_read_transaction_per_flush(void)
{
	static int64_t first[NFRAMES], again[NFRAMES];
	struct storage_recording rec = { .hz = 99, .ncpus = 1, .event = "cpu-clock" };
	struct storage *db = NULL;
	struct storage_writer *w = NULL;
	enum test_result res = TEST_FAIL;
	long locks;

	snprintf(path, sizeof(path), "%s/w.db", dir);
	db = storage__open(path, STORAGE_WRITE);
	if (!ASSERT_NONNULL(db, "open"))
		goto out;
	w = storage_writer__new(db);
	if (!ASSERT_NONNULL(w, "writer"))
		goto out;
	/* Warm up: the first flush creates the -shm file and the recording row. */
	if (!ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "first flush"))
		goto out;

	nlocks = 0;
	if (!ASSERT_OK(intern_all(w, first), "intern"))
		goto out;
	locks = nlocks;
	/* Before the fix: about four per lookup, two lookups per frame (8000 here). */
	if (!ASSERT_LE(locks, 50, "lock calls while interning 1000 new frames"))
		goto out;
	if (!ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "flush"))
		goto out;
	storage_writer__free(w);
	w = NULL;
	storage__close(db);

	/* Reopened: every frame is found in the database and keeps its id, still cheaply. */
	db = storage__open(path, STORAGE_WRITE);
	if (!ASSERT_NONNULL(db, "reopen"))
		goto out;
	w = storage_writer__new(db);
	if (!ASSERT_NONNULL(w, "writer again"))
		goto out;
	nlocks = 0;
	if (!ASSERT_OK(intern_all(w, again), "intern again"))
		goto out;
	if (!ASSERT_LE(nlocks, 50, "lock calls while finding 1000 existing frames"))
		goto out;
	for (int i = 0; i < NFRAMES; i++)
		if (!ASSERT_EQ(again[i], first[i], "id of an existing frame"))
			goto out;
	/* A flush after lookups (the read transaction must end before the write one). */
	if (!ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "flush after lookups"))
		goto out;
	res = TEST_PASS;
out:
	storage_writer__free(w);
	storage__close(db);
	return res;
}

/* Counts the unix VFS's fcntl lock calls for the whole program, then runs the test. */
int main(int argc, char **argv)
{
	static const struct test_case tests[] = { TEST(test_one_read_transaction_per_flush) };
	sqlite3_vfs *vfs = sqlite3_vfs_find(NULL);
	char cmd[300];
	int r;

	real_fcntl = vfs && vfs->iVersion >= 3 ? vfs->xGetSystemCall(vfs, "fcntl") : NULL;
	if (!real_fcntl ||
	    vfs->xSetSystemCall(vfs, "fcntl", (sqlite3_syscall_ptr)counting_fcntl) != SQLITE_OK) {
		fprintf(stderr, "cannot hook the unix VFS's fcntl\n");
		return 1;
	}
	if (!mkdtemp(dir))
		return 1;
	r = test_run_all(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
	return r;
}
