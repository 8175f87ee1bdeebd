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

int main(int argc, char **argv)
{
	static const struct test_case tests[] = { TEST(test_truncated), TEST(test_flipped_bytes),
						  TEST(test_odd_files), TEST(test_modes) };
	int r;

	if (th_setup())
		return 1;
	r = test_run_all(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	th_teardown();
	return r;
}
