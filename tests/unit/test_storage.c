// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* storage: a real SQLite file written, reopened, read back, and refused when it is not ours. */
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/query.h"
#include "storage/storage.h"
#include "storage/writer.h"
#include "tests/harness.h"

static char dir[] = "/tmp/ember-storage-XXXXXX";
static char path[256];

static void fresh_path(const char *name)
{
	snprintf(path, sizeof(path), "%s/%s", dir, name);
}

/* Writes two samples on one stack and one on another; returns 0 on success. */
static int write_some(struct storage *db, int64_t t0, int64_t *stack_out)
{
	struct storage_writer *w = storage_writer__new(db);
	struct storage_frame leaf = { STORAGE_FRAME_USER, "leaf", "/bin/x", 0 };
	struct storage_frame root = { STORAGE_FRAME_USER, "main", "/bin/x", 0 };
	struct storage_frame unk = { STORAGE_FRAME_KERNEL, NULL, "[kernel.kallsyms]", 0x1234 };
	struct storage_recording rec = { .started_ns = t0, .hz = 99, .ncpus = 2, .event = "cpu-clock" };
	int64_t f[3], s1, s2, th;
	int err = -EIO;

	if (!w)
		return -errno;
	f[0] = storage_writer__frame(w, &unk);
	f[1] = storage_writer__frame(w, &leaf);
	f[2] = storage_writer__frame(w, &root);
	s1 = storage_writer__stack(w, f, 3);
	s2 = storage_writer__stack(w, f + 1, 2);
	th = storage_writer__thread(w, 42, 43, 777, "worker");
	if (f[0] <= 0 || f[1] <= 0 || f[2] <= 0 || s1 <= 0 || s2 <= 0 || th <= 0 || s1 == s2)
		goto out;
	if (storage_writer__stack(w, f, 3) != s1) /* interned */
		goto out;
	storage_writer__process(w, 42, 777, "worker", "/bin/x", t0);
	storage_writer__sample(w, &(struct storage_sample){ t0 + 1000, th, s1, 5, 0 });
	storage_writer__sample(w, &(struct storage_sample){ t0 + 2000, th, s1, 5, 1 });
	storage_writer__sample(w, &(struct storage_sample){ t0 + 3000000000ll, th, s2, 5, 1 });
	rec.delivered = 3;
	err = storage_writer__flush(w, &rec, 0, NULL);
	if (!err && rec.stored != 3)
		err = -EIO;
	*stack_out = s1;
out:
	storage_writer__free(w);
	return err;
}

static enum test_result test_roundtrip(void)
{
	int64_t t0 = 1733550000000000000ll, s1 = 0, s1b = 0;
	struct storage_reader *r = NULL;
	struct storage_stack_count *c = NULL;
	struct storage_filter all = { 0 }, early = { .to_ns = t0 + 1000000000ll };
	const struct storage_thread *t;
	const struct storage_frame *fr;
	const int64_t *frames;
	struct storage *db;
	uint64_t total = 0;
	size_t n = 0;
	enum test_result res = TEST_FAIL;
	struct stat st;

	fresh_path("rt.db");
	db = storage__open(path, STORAGE_WRITE);
	if (!ASSERT_NONNULL(db, "open for writing") || !ASSERT_OK(write_some(db, t0, &s1), "write"))
		goto out;
	if (!ASSERT_OK(stat(path, &st), "stat") || !ASSERT_EQ(st.st_mode & 0777, 0640, "mode 0640"))
		goto out;
	storage__close(db);
	/* Reopened, the same stack gets the same id: rows are found in the file, not duplicated. */
	db = storage__open(path, STORAGE_WRITE);
	if (!ASSERT_NONNULL(db, "reopen") || !ASSERT_OK(write_some(db, t0 + 10000000000ll, &s1b), "write again") ||
	    !ASSERT_EQ(s1b, s1, "same stack id after reopening"))
		goto out;
	storage__close(db);

	db = storage__open(path, STORAGE_READ);
	r = db ? storage_reader__new(db) : NULL;
	if (!ASSERT_NONNULL(r, "reader"))
		goto out;
	if (!ASSERT_OK(storage_reader__stack_counts(r, &all, &c, &n, &total), "counts") ||
	    !ASSERT_EQ(total, 6, "all samples") || !ASSERT_EQ(n, 2, "two distinct stacks"))
		goto out;
	free(c);
	c = NULL;
	if (!ASSERT_OK(storage_reader__stack_counts(r, &early, &c, &n, &total), "range") ||
	    !ASSERT_EQ(total, 2, "first second only") || !ASSERT_EQ(c[0].stack, s1, "stack") ||
	    !ASSERT_EQ(c[0].count, 2, "count"))
		goto out;
	t = storage_reader__thread(r, c[0].thread);
	if (!ASSERT_NONNULL(t, "thread") || !ASSERT_STREQ(t->comm, "worker", "comm") ||
	    !ASSERT_EQ(t->pid, 42, "pid") || !ASSERT_EQ(t->tid, 43, "tid"))
		goto out;
	if (!ASSERT_OK(storage_reader__stack(r, s1, &frames, &n), "stack") || !ASSERT_EQ(n, 3, "depth"))
		goto out;
	fr = storage_reader__frame(r, frames[0]);
	if (!ASSERT_NONNULL(fr, "frame") || !ASSERT_NULL(fr->name, "unknown name") ||
	    !ASSERT_EQ(fr->offset, 0x1234, "offset") || !ASSERT_EQ(fr->kind, STORAGE_FRAME_KERNEL, "kind"))
		goto out;
	fr = storage_reader__frame(r, frames[2]);
	if (!ASSERT_STREQ(fr ? fr->name : NULL, "main", "root frame"))
		goto out;
	{
		struct storage_filter other = { .comm = "nope" };
		uint32_t pid = 42;
		struct storage_filter bypid = { .pids = &pid, .npids = 1 };

		free(c);
		c = NULL;
		if (!ASSERT_OK(storage_reader__stack_counts(r, &other, &c, &n, &total), "comm filter") ||
		    !ASSERT_EQ(total, 0, "no such comm"))
			goto out;
		free(c);
		c = NULL;
		if (!ASSERT_OK(storage_reader__stack_counts(r, &bypid, &c, &n, &total), "pid filter") ||
		    !ASSERT_EQ(total, 6, "pid 42"))
			goto out;
	}
	res = TEST_PASS;
out:
	free(c);
	storage_reader__free(r);
	storage__close(db);
	return res;
}

static enum test_result test_refusals(void)
{
	struct storage *db, *db2;
	sqlite3 *raw;
	int fd;

	/* A second writer on the same file. */
	fresh_path("busy.db");
	db = storage__open(path, STORAGE_WRITE);
	db2 = storage__open(path, STORAGE_WRITE);
	if (!ASSERT_NONNULL(db, "first writer") || !ASSERT_NULL(db2, "second writer") ||
	    !ASSERT_EQ(errno, EBUSY, "EBUSY"))
		return TEST_FAIL;
	storage__close(db);

	/* A newer schema. */
	fresh_path("newer.db");
	db = storage__open(path, STORAGE_WRITE);
	storage__close(db);
	if (!ASSERT_EQ(sqlite3_open(path, &raw), SQLITE_OK, "raw open"))
		return TEST_FAIL;
	sqlite3_exec(raw, "PRAGMA user_version=99", NULL, NULL, NULL);
	sqlite3_close(raw);
	db = storage__open(path, STORAGE_READ);
	if (!ASSERT_NULL(db, "newer schema") || !ASSERT_EQ(errno, EPROTONOSUPPORT, "EPROTONOSUPPORT"))
		return TEST_FAIL;

	/* A foreign SQLite database, and a text file. */
	fresh_path("foreign.db");
	sqlite3_open(path, &raw);
	sqlite3_exec(raw, "CREATE TABLE t(x)", NULL, NULL, NULL);
	sqlite3_close(raw);
	db = storage__open(path, STORAGE_WRITE);
	if (!ASSERT_NULL(db, "foreign db") || !ASSERT_EQ(errno, EBADMSG, "EBADMSG"))
		return TEST_FAIL;
	fresh_path("text.db");
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	for (int i = 0; i < 100; i++)
		dprintf(fd, "this is not a database, line %d\n", i);
	close(fd);
	db = storage__open(path, STORAGE_READ);
	if (!ASSERT_NULL(db, "text file") || !ASSERT_EQ(errno, EBADMSG, "EBADMSG"))
		return TEST_FAIL;

	/* Missing file for a reader; a directory; a path under a file. */
	fresh_path("missing.db");
	db = storage__open(path, STORAGE_READ);
	if (!ASSERT_NULL(db, "missing") || !ASSERT_EQ(errno, ENOENT, "ENOENT"))
		return TEST_FAIL;
	db = storage__open(dir, STORAGE_WRITE);
	if (!ASSERT_NULL(db, "a directory"))
		return TEST_FAIL;
	fresh_path("text.db/sub/x.db");
	db = storage__open(path, STORAGE_WRITE);
	if (!ASSERT_NULL(db, "under a file") || !ASSERT_EQ(errno, ENOTDIR, "ENOTDIR"))
		return TEST_FAIL;
	return TEST_PASS;
}

int main(int argc, char **argv)
{
	static const struct test_case tests[] = { TEST(test_roundtrip), TEST(test_refusals) };
	char cmd[300];
	int r;

	if (!mkdtemp(dir))
		return 1;
	r = test_run_all(tests, 2, argc, argv);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
	return r;
}
