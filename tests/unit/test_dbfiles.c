// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Database files that are not what they should be: truncated copies, flipped bytes, FIFOs, empty
 * files. Opening them fails with EBADMSG, or, when the damage is deeper than the header, every
 * query fails cleanly or answers; nothing crashes or reads out of bounds (the test runs under
 * ASan too).
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "tests/harness.h"
#include "tests/storage_helpers.h"

static int copy_file(const char *from, const char *to, long long len)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	long long done = 0;
	ssize_t n;
	int err = 0;

	if (in < 0 || out < 0)
		err = -1;
	while (!err && (len < 0 || done < len) &&
	       (n = read(in, buf,
			 len < 0 || len - done > (long long)sizeof(buf) ? sizeof(buf)
									: (size_t)(len - done))) >
		   0) {
		if (write(out, buf, (size_t)n) != n)
			err = -1;
		done += n;
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return err;
}

static const char *good_db(void)
{
	static char path[512];
	struct th_gen g = { .procs = 4, .threads = 3, .cpus = 8, .hz = 10, .stacks = 20, .rng = 9 };
	struct storage *db;
	struct storage_writer *w;
	int err;

	if (path[0])
		return path;
	snprintf(path, sizeof(path), "%s", th_path("good.db"));
	db = storage__open(path, STORAGE_WRITE);
	w = db ? storage_writer__new(db) : NULL;
	err = w ? th_write(w, &g, T_EPOCH, 120, NULL) : -1;
	if (!err)
		err = storage_writer__maintain(w, NULL, T_EPOCH + 7200 * T_NS, 0, NULL);
	storage_writer__free(w);
	storage__close(db);
	if (err)
		path[0] = '\0';
	return err ? NULL : path;
}

static int noop(const struct storage_sample *s, void *ctx)
{
	(*(uint64_t *)ctx)++;
	return 0;
}

/* Runs every kind of query; returns how many answered without error. */
static int exercise(struct storage *db)
{
	struct storage_reader *r = storage_reader__new(db);
	struct storage_filter all = { 0 },
			      range = { .from_ns = T_EPOCH, .to_ns = T_EPOCH + 3600 * T_NS };
	struct storage_stack_count *c = NULL;
	struct storage_function_count *fc = NULL;
	struct storage_task_count *tc = NULL;
	uint64_t total, *h = NULL, walked = 0;
	int64_t a, b;
	size_t n;
	int ok = 0;

	if (!r)
		return 0;
	if (!storage_reader__stack_counts(r, &all, &c, &n, &total)) {
		ok++;
		for (size_t i = 0; i < n; i++) {
			const int64_t *frames;
			size_t depth;

			storage_reader__thread(r, c[i].thread);
			if (!storage_reader__stack(r, c[i].stack, &frames, &depth, NULL))
				for (size_t d = 0; d < depth; d++)
					storage_reader__frame(r, frames[d]);
		}
	}
	ok += !storage_reader__functions(r, &all, &fc, &n, &total);
	ok += !storage_reader__tasks(r, &all, true, &tc, &n, &total);
	ok += !storage_reader__histogram(r, &range, T_NS, &h, &n);
	ok += !storage_reader__samples(r, &all, noop, &walked);
	ok += !storage_reader__span(r, &a, &b);
	free(c);
	free(fc);
	free(tc);
	free(h);
	storage_reader__free(r);
	return ok;
}

static enum test_result test_truncated(void)
{
	const char *good = good_db();
	char cut[512];
	long long size;
	struct storage *db;

	if (!ASSERT_NONNULL(good, "a database"))
		return TEST_FAIL;
	snprintf(cut, sizeof(cut), "%s", th_path("cut.db"));
	size = th_file_size(good);
	for (long long len = 50; len < size; len = len * 3 + 7) {
		if (!ASSERT_OK(copy_file(good, cut, len), "copy"))
			return TEST_FAIL;
		unlink(th_path("cut.db-wal"));
		unlink(th_path("cut.db-shm"));
		db = storage__open(cut, STORAGE_READ);
		if (!ASSERT_NULL(db, "a truncated copy") || !ASSERT_EQ(errno, EBADMSG, "EBADMSG"))
			return TEST_FAIL;
		db = storage__open(cut, STORAGE_WRITE);
		if (!ASSERT_NULL(db, "a truncated copy, for writing") ||
		    !ASSERT_EQ(errno, EBADMSG, "EBADMSG"))
			return TEST_FAIL;
	}
	return TEST_PASS;
}

static enum test_result test_flipped_bytes(void)
{
	const char *good = good_db();
	char bad[512];
	long long size;
	uint64_t rng = 42;
	int opened = 0, answered = 0;

	if (!ASSERT_NONNULL(good, "a database"))
		return TEST_FAIL;
	snprintf(bad, sizeof(bad), "%s", th_path("bad.db"));
	size = th_file_size(good);
	for (int round = 0; round < 60; round++) {
		struct storage *db;
		int fd;

		if (!ASSERT_OK(copy_file(good, bad, -1), "copy"))
			return TEST_FAIL;
		unlink(th_path("bad.db-wal"));
		unlink(th_path("bad.db-shm"));
		fd = open(bad, O_RDWR);
		for (int k = 0; k < 1 + round % 16; k++) {
			unsigned char byte;
			off_t at;

			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			/* Past the 100-byte header, which the open checks itself. */
			at = 100 + (off_t)((rng >> 20) % (uint64_t)(size - 100));
			if (pread(fd, &byte, 1, at) == 1) {
				byte ^= (unsigned char)(1 + (rng >> 56) % 255);
				if (pwrite(fd, &byte, 1, at) != 1)
					return TEST_FAIL;
			}
		}
		close(fd);
		db = storage__open(bad, round % 2 ? STORAGE_WRITE : STORAGE_READ);
		if (!db)
			continue;
		opened++;
		answered += exercise(db);
		if (round % 2) {
			struct storage_writer *w = storage_writer__new(db);

			/* Loading damaged dictionaries fails cleanly or works. */
			if (w)
				storage_writer__maintain(w, NULL, T_EPOCH + 9000 * T_NS, 0, NULL);
			storage_writer__free(w);
		}
		storage__close(db);
	}
	fprintf(stderr, "damaged copies: %d opened, %d queries answered\n", opened, answered);
	return TEST_PASS;
}

static enum test_result test_odd_files(void)
{
	const char *fifo = th_path("fifo.db"), *empty = th_path("empty.db");
	struct storage *db;
	int fd;

	if (!ASSERT_OK(mkfifo(fifo, 0600), "mkfifo"))
		return TEST_FAIL;
	db = storage__open(fifo, STORAGE_READ);
	if (!ASSERT_NULL(db, "a FIFO to read") || !ASSERT_EQ(errno, EBADMSG, "EBADMSG"))
		return TEST_FAIL;
	db = storage__open(fifo, STORAGE_WRITE);
	if (!ASSERT_NULL(db, "a FIFO to write") || !ASSERT_EQ(errno, EBADMSG, "EBADMSG"))
		return TEST_FAIL;
	fd = open(empty, O_CREAT | O_WRONLY, 0640);
	close(fd);
	db = storage__open(empty, STORAGE_READ);
	if (!ASSERT_NULL(db, "an empty file to read") || !ASSERT_EQ(errno, EBADMSG, "EBADMSG"))
		return TEST_FAIL;
	return TEST_PASS;
}

/* Files are created 0640, and a world-readable database file is made private again. */
static enum test_result test_modes(void)
{
	const char *path = th_path("modes/sub/m.db");
	struct storage *db;
	struct stat st;

	db = storage__open(path, STORAGE_WRITE);
	if (!ASSERT_NONNULL(db, "create"))
		return TEST_FAIL;
	storage__close(db);
	if (!ASSERT_OK(stat(path, &st), "stat") || !ASSERT_EQ(st.st_mode & 0777, 0640, "0640") ||
	    !ASSERT_OK(stat(th_path("modes/sub"), &st), "stat dir") ||
	    !ASSERT_EQ(st.st_mode & 0007, 0, "directory not for others") ||
	    !ASSERT_OK(stat(th_path("modes/sub/m.db-wal"), &st), "-wal kept") ||
	    !ASSERT_EQ(st.st_mode & 0777, 0640, "-wal 0640") ||
	    !ASSERT_OK(stat(th_path("modes/sub/m.db-shm"), &st), "-shm kept") ||
	    !ASSERT_EQ(st.st_mode & 0777, 0640, "-shm 0640"))
		return TEST_FAIL;
	chmod(path, 0644);
	db = storage__open(path, STORAGE_WRITE);
	storage__close(db);
	if (!ASSERT_OK(stat(path, &st), "stat") || !ASSERT_EQ(st.st_mode & 0777, 0640, "private"))
		return TEST_FAIL;
	return TEST_PASS;
}

/* The bytes, size and mode of a file, to see that nothing touched it. */
struct snapshot {
	char data[65536];
	ssize_t len;
	mode_t mode;
};

static int snap(const char *path, struct snapshot *out)
{
	struct stat st;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	out->len = read(fd, out->data, sizeof(out->data));
	close(fd);
	if (out->len < 0 || stat(path, &st))
		return -1;
	out->mode = st.st_mode;
	return 0;
}

/*
 * A writer given a file that is not its own (another program's SQLite database, a database of a
 * newer ember) refuses it and leaves it exactly as it was: no switch to WAL, no -wal or -shm
 * beside it, no change of mode. (ember record once switched such a file to WAL and made it 0640
 * before it looked at whose it was.)
 */
static enum test_result test_foreign_untouched(void)
{
	const char *good = good_db(), *foreign = th_path("foreign.db"),
		   *newer = th_path("newer.db");
	static struct snapshot before, after;
	const char *files[] = { foreign, newer };
	const int expect[] = { EBADMSG, EPROTONOSUPPORT };
	struct storage *db;
	sqlite3 *s = NULL;
	char side[600];

	if (!ASSERT_NONNULL(good, "a database") ||
	    !ASSERT_EQ(sqlite3_open(foreign, &s), SQLITE_OK, "create a foreign database") ||
	    !ASSERT_EQ(sqlite3_exec(s, "CREATE TABLE t(x); INSERT INTO t VALUES(1);", NULL, NULL,
				    NULL),
		       SQLITE_OK, "fill it"))
		return TEST_FAIL;
	sqlite3_close(s);
	/* A newer ember's database: this one's, with a higher schema version, rollback journal. */
	if (!ASSERT_OK(copy_file(good, newer, -1), "copy") ||
	    !ASSERT_EQ(sqlite3_open(newer, &s), SQLITE_OK, "open the copy") ||
	    !ASSERT_EQ(sqlite3_exec(s, "PRAGMA journal_mode=DELETE; PRAGMA user_version=99", NULL,
				    NULL, NULL),
		       SQLITE_OK, "make it newer"))
		return TEST_FAIL;
	sqlite3_close(s);
	for (size_t i = 0; i < 2; i++) {
		chmod(files[i], 0644);
		if (!ASSERT_OK(snap(files[i], &before), "read the file"))
			return TEST_FAIL;
		db = storage__open(files[i], STORAGE_WRITE);
		if (!ASSERT_NULL(db, files[i]) || !ASSERT_EQ(errno, expect[i], "the error"))
			return TEST_FAIL;
		if (!ASSERT_OK(snap(files[i], &after), "read it again") ||
		    !ASSERT_EQ(after.len, before.len, "same size") ||
		    !ASSERT_OK(memcmp(after.data, before.data, (size_t)before.len), "same bytes") ||
		    !ASSERT_EQ(after.mode, before.mode, "same mode"))
			return TEST_FAIL;
		snprintf(side, sizeof(side), "%s-wal", files[i]);
		if (!ASSERT_NEQ(access(side, F_OK), 0, "no -wal made"))
			return TEST_FAIL;
		snprintf(side, sizeof(side), "%s-shm", files[i]);
		if (!ASSERT_NEQ(access(side, F_OK), 0, "no -shm made"))
			return TEST_FAIL;
	}
	return TEST_PASS;
}

int main(int argc, char **argv)
{
	static const struct test_case tests[] = { TEST(test_truncated), TEST(test_flipped_bytes),
						  TEST(test_odd_files), TEST(test_modes),
						  TEST(test_foreign_untouched) };
	int r;

	if (th_setup())
		return 1;
	r = test_run_all(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	th_teardown();
	return r;
}
