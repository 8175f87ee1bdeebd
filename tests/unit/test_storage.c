// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* storage: a real SQLite file written, reopened, read back, and refused when it is not ours. */
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage/admin.h"
#include "storage/storage_internal.h" /* WRITER_*_FLUSHES */
#include "storage/query.h"
#include "storage/storage.h"
#include "storage/storage_internal.h"
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
	struct storage_frame leaf = { .kind = STORAGE_FRAME_USER,
				      .name = "leaf",
				      .module = "/bin/x",
				      .file = "x.c",
				      .line = 42,
				      .inlined = true,
				      .build_id = "abcd" };
	struct storage_frame root = {
		.kind = STORAGE_FRAME_USER, .name = "main", .module = "/bin/x", .offset = 0
	};
	struct storage_frame unk = { .kind = STORAGE_FRAME_KERNEL,
				     .name = NULL,
				     .module = "[kernel.kallsyms]",
				     .offset = 0x1234 };
	struct storage_recording rec = {
		.started_ns = t0, .hz = 99, .ncpus = 2, .event = "cpu-clock"
	};
	int64_t f[3], s1, s2, th;
	int err = -EIO;

	if (!w)
		return -errno;
	f[0] = storage_writer__frame(w, &unk);
	f[1] = storage_writer__frame(w, &leaf);
	f[2] = storage_writer__frame(w, &root);
	s1 = storage_writer__stack(w, f, 3, STORAGE_STACK_COMPLETE);
	s2 = storage_writer__stack(w, f + 1, 2, STORAGE_STACK_TRUNCATED);
	th = storage_writer__thread(w, 42, 43, 777, "worker");
	if (f[0] <= 0 || f[1] <= 0 || f[2] <= 0 || s1 <= 0 || s2 <= 0 || th <= 0 || s1 == s2)
		goto out;
	if (storage_writer__stack(w, f, 3, STORAGE_STACK_COMPLETE) != s1) /* interned */
		goto out;
	storage_writer__process(w, 42, 777, t0 - 5000, 1000, "worker", "/bin/x", t0);
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
	enum storage_stack_status status;
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
	if (!ASSERT_NONNULL(db, "reopen") ||
	    !ASSERT_OK(write_some(db, t0 + 10000000000ll, &s1b), "write again") ||
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
	if (!ASSERT_OK(storage_reader__stack(r, s1, &frames, &n, &status), "stack") ||
	    !ASSERT_EQ(n, 3, "depth") || !ASSERT_EQ(status, STORAGE_STACK_COMPLETE, "status"))
		goto out;
	fr = storage_reader__frame(r, frames[0]);
	if (!ASSERT_NONNULL(fr, "frame") || !ASSERT_NULL(fr->name, "unknown name") ||
	    !ASSERT_EQ(fr->offset, 0x1234, "offset") ||
	    !ASSERT_EQ(fr->kind, STORAGE_FRAME_KERNEL, "kind"))
		goto out;
	fr = storage_reader__frame(r, frames[1]);
	if (!ASSERT_NONNULL(fr, "leaf frame") || !ASSERT_STREQ(fr->file, "x.c", "file") ||
	    !ASSERT_EQ(fr->line, 42, "line") || !ASSERT_TRUE(fr->inlined, "inlined") ||
	    !ASSERT_STREQ(fr->build_id, "abcd", "build-id"))
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
		if (!ASSERT_OK(storage_reader__stack_counts(r, &other, &c, &n, &total), "comm "
											"filter") ||
		    !ASSERT_EQ(total, 0, "no such comm"))
			goto out;
		free(c);
		c = NULL;
		if (!ASSERT_OK(storage_reader__stack_counts(r, &bypid, &c, &n, &total), "pid "
											"filter") ||
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
	if (!ASSERT_NULL(db, "newer schema") ||
	    !ASSERT_EQ(errno, EPROTONOSUPPORT, "EPROTONOSUPPORT"))
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

/*
 * Two processes: pid 10 (exe /usr/bin/app, threads 10 and 11) and pid 20 (exe /opt/other).
 * Stacks, leaf first: A = [work, work, main] (recursion), B = [helper, main], C = [idle_k].
 * Samples (time in seconds from t0): pid 10 tid 10: A@0.1, A@0.2, B@1.5; tid 11: B@1.6;
 * pid 20: C@2.5 (cgroup 7).
 */
static enum test_result test_aggregates(void)
{
	int64_t t0 = 1733550000000000000ll, s = 1000000000ll;
	struct storage_frame work = {
		.kind = STORAGE_FRAME_USER, .name = "work", .module = "/usr/bin/app", .offset = 0
	};
	struct storage_frame mainf = {
		.kind = STORAGE_FRAME_USER, .name = "main", .module = "/usr/bin/app", .offset = 0
	};
	struct storage_frame helper = { .kind = STORAGE_FRAME_USER,
					.name = "helper",
					.module = "/usr/lib/libh.so",
					.offset = 0 };
	struct storage_frame idle = { .kind = STORAGE_FRAME_KERNEL,
				      .name = "idle_k",
				      .module = "[kernel.kallsyms]",
				      .offset = 0 };
	struct storage_recording rec = {
		.started_ns = t0, .hz = 1, .ncpus = 1, .event = "cpu-clock"
	};
	struct storage_function_count *fc = NULL;
	struct storage_task_count *tc = NULL;
	struct storage_reader *r = NULL;
	struct storage_writer *w;
	struct storage *db;
	uint64_t total, *hist = NULL;
	int64_t fw, fm, fh, fi, A, B, C, t10, t11, t20;
	int64_t first, last;
	size_t n;
	enum test_result res = TEST_FAIL;

	fresh_path("agg.db");
	db = storage__open(path, STORAGE_WRITE);
	w = db ? storage_writer__new(db) : NULL;
	if (!ASSERT_NONNULL(w, "writer"))
		goto out;
	fw = storage_writer__frame(w, &work);
	fm = storage_writer__frame(w, &mainf);
	fh = storage_writer__frame(w, &helper);
	fi = storage_writer__frame(w, &idle);
	A = storage_writer__stack(w, (int64_t[]){ fw, fw, fm }, 3, STORAGE_STACK_UNCLASSIFIED);
	B = storage_writer__stack(w, (int64_t[]){ fh, fm }, 2, STORAGE_STACK_UNCLASSIFIED);
	C = storage_writer__stack(w, (int64_t[]){ fi }, 1, STORAGE_STACK_UNCLASSIFIED);
	t10 = storage_writer__thread(w, 10, 10, 5, "app");
	t11 = storage_writer__thread(w, 10, 11, 5, "app-worker");
	t20 = storage_writer__thread(w, 20, 20, 6, "other");
	storage_writer__process(w, 10, 5, t0 - s, 1000, "app", "/usr/bin/app", t0);
	storage_writer__process(w, 20, 6, t0 - s, 0, "other", "/opt/other", t0);
	storage_writer__sample(w, &(struct storage_sample){ t0 + s / 10, t10, A, 1, 0 });
	storage_writer__sample(w, &(struct storage_sample){ t0 + s / 5, t10, A, 1, 0 });
	storage_writer__sample(w, &(struct storage_sample){ t0 + s * 3 / 2, t10, B, 1, 1 });
	storage_writer__sample(w, &(struct storage_sample){ t0 + s * 8 / 5, t11, B, 1, 1 });
	storage_writer__sample(w, &(struct storage_sample){ t0 + s * 5 / 2, t20, C, 7, 0 });
	if (!ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "flush"))
		goto out;
	storage_writer__free(w);
	w = NULL;
	r = storage_reader__new(db);
	if (!ASSERT_NONNULL(r, "reader"))
		goto out;

	if (!ASSERT_OK(storage_reader__span(r, &first, &last), "span") ||
	    !ASSERT_EQ(first, t0 + s / 10, "first") || !ASSERT_EQ(last, t0 + s * 5 / 2, "last"))
		goto out;

	if (!ASSERT_OK(storage_reader__functions(r, &(struct storage_filter){ 0 }, &fc, &n, &total),
		       "functions") ||
	    !ASSERT_EQ(total, 5, "total") || !ASSERT_EQ(n, 4, "four functions"))
		goto out;
	/* Sorted by self: work 2 (total 2, recursion counted once), helper 2, idle 1, main 0/4. */
	if (!ASSERT_TRUE(!strcmp(fc[0].frame->name, "helper") || !strcmp(fc[0].frame->name, "work"),
			 "a function with self 2 first"))
		goto out;
	for (size_t k = 0; k < n; k++) {
		const char *name = fc[k].frame->name;

		if (!strcmp(name, "work") &&
		    !(ASSERT_EQ(fc[k].self, 2, "work self") &&
		      ASSERT_EQ(fc[k].total, 2, "work total: once per sample")))
			goto out;
		if (!strcmp(name, "main") && !(ASSERT_EQ(fc[k].self, 0, "main self") &&
					       ASSERT_EQ(fc[k].total, 4, "main total")))
			goto out;
		if (!strcmp(name, "idle_k") &&
		    !ASSERT_EQ(fc[k].frame->kind, STORAGE_FRAME_KERNEL, "idle is a kernel frame"))
			goto out;
	}

	if (!ASSERT_OK(storage_reader__tasks(r, &(struct storage_filter){ 0 }, false, &tc, &n,
					     &total),
		       "processes") ||
	    !ASSERT_EQ(n, 2, "two processes") || !ASSERT_EQ(tc[0].pid, 10, "busiest first") ||
	    !ASSERT_EQ(tc[0].samples, 4, "pid 10 samples") ||
	    !ASSERT_STREQ(tc[0].comm, "app", "main thread's name") ||
	    !ASSERT_STREQ(tc[0].exe, "/usr/bin/app", "exe") || !ASSERT_EQ(tc[0].uid, 1000, "uid") ||
	    !ASSERT_EQ(tc[0].tid, 0, "no tid for processes"))
		goto out;
	/* pid 10's leaves: work twice, helper twice: the tie goes to the lower frame id. */
	if (!ASSERT_EQ(tc[0].hot_frame, fw < fh ? fw : fh, "hot frame"))
		goto out;
	free(tc);
	tc = NULL;
	if (!ASSERT_OK(storage_reader__tasks(r, &(struct storage_filter){ 0 }, true, &tc, &n,
					     &total),
		       "threads") ||
	    !ASSERT_EQ(n, 3, "three threads") || !ASSERT_EQ(tc[0].tid, 10, "tid 10 first") ||
	    !ASSERT_EQ(tc[0].samples, 3, "tid 10 samples") ||
	    !ASSERT_EQ(tc[0].hot_frame, fw, "tid 10 hot frame"))
		goto out;

	{
		struct storage_filter h = { .from_ns = t0, .to_ns = t0 + 3 * s };

		if (!ASSERT_OK(storage_reader__histogram(r, &h, s, &hist, &n), "histogram") ||
		    !ASSERT_EQ(n, 3, "three buckets") || !ASSERT_EQ(hist[0], 2, "second 0") ||
		    !ASSERT_EQ(hist[1], 2, "second 1") || !ASSERT_EQ(hist[2], 1, "second 2"))
			goto out;
		h.to_ns = h.from_ns;
		if (!ASSERT_EQ(storage_reader__histogram(r, &h, s, &hist, &n), -EINVAL,
			       "empty range"))
			goto out;
	}
	{
		uint32_t tid = 11;
		uint64_t cg = 7;
		struct storage_filter by_tid = { .tids = &tid, .ntids = 1 };
		struct storage_filter by_cg = { .cgroups = &cg, .ncgroups = 1 };
		struct storage_filter by_bin = { .binary = "app" };
		struct storage_filter by_path = { .binary = "/opt/other" };
		struct storage_stack_count *c = NULL;

		if (!ASSERT_OK(storage_reader__stack_counts(r, &by_tid, &c, &n, &total), "tid") ||
		    !ASSERT_EQ(total, 1, "tid 11"))
			goto out;
		free(c);
		if (!ASSERT_OK(storage_reader__stack_counts(r, &by_cg, &c, &n, &total), "cgroup") ||
		    !ASSERT_EQ(total, 1, "cgroup 7") ||
		    !ASSERT_EQ(c[0].stack, C, "cgroup 7's stack"))
			goto out;
		free(c);
		if (!ASSERT_OK(storage_reader__stack_counts(r, &by_bin, &c, &n, &total), "binar"
											 "y") ||
		    !ASSERT_EQ(total, 4, "base name app"))
			goto out;
		free(c);
		if (!ASSERT_OK(storage_reader__stack_counts(r, &by_path, &c, &n, &total), "path") ||
		    !ASSERT_EQ(total, 1, "full path /opt/other"))
			goto out;
		free(c);
	}
	res = TEST_PASS;
out:
	free(fc);
	free(tc);
	free(hist);
	storage_reader__free(r);
	storage_writer__free(w);
	storage__close(db);
	return res;
}

/* storage_writer_active: 0 without a writer, the writer's pid while one holds the file (also
 * seen from another process), 0 again after it closes; -ENOENT for a missing file. */
static enum test_result test_writer_active(void)
{
	struct storage *db;
	int status, pid;

	fresh_path("active.db");
	if (!ASSERT_EQ(storage_writer_active(path), -ENOENT, "missing file"))
		return TEST_FAIL;
	db = storage__open(path, STORAGE_WRITE);
	if (!ASSERT_NONNULL(db, "writer"))
		return TEST_FAIL;
	if (!ASSERT_EQ(storage_writer_active(path), getpid(), "our own lock")) {
		storage__close(db);
		return TEST_FAIL;
	}
	pid = fork();
	if (pid == 0)
		_exit(storage_writer_active(path) == getppid() ? 0 : 1);
	waitpid(pid, &status, 0);
	storage__close(db);
	if (!ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "seen from a child") ||
	    !ASSERT_EQ(storage_writer_active(path), 0, "closed"))
		return TEST_FAIL;
	/* A reader holds no flock: still no writer. */
	db = storage__open(path, STORAGE_READ);
	if (!ASSERT_NONNULL(db, "reader") || !ASSERT_EQ(storage_writer_active(path), 0, "reader"))
		return TEST_FAIL;
	storage__close(db);
	return TEST_PASS;
}

/* storage_reader__rate: two recordings (99 Hz on 2 CPUs from 0 s to 10 s, 19 Hz on 4 CPUs from
 * 20 s, still running): each range sees those it overlaps. */
static enum test_result test_rate(void)
{
	int64_t t0 = 1733550000000000000ll, s = 1000000000ll;
	struct storage_recording a = { .started_ns = t0, .hz = 99, .ncpus = 2, .event = "x" };
	struct storage_recording b = {
		.started_ns = t0 + 20 * s, .hz = 19, .ncpus = 4, .event = "y"
	};
	struct storage_reader *r = NULL;
	struct storage_writer *w = NULL;
	struct storage *db;
	enum test_result res = TEST_FAIL;
	uint32_t hz = 0, ncpus = 0;

	fresh_path("rate.db");
	db = storage__open(path, STORAGE_WRITE);
	w = db ? storage_writer__new(db) : NULL;
	if (!ASSERT_NONNULL(w, "writer") || !ASSERT_OK(storage_writer__flush(w, &a, 0, NULL), "a"))
		goto out;
	a.ended_ns = t0 + 10 * s;
	if (!ASSERT_OK(storage_writer__flush(w, &a, 0, NULL), "a ends"))
		goto out;
	storage_writer__free(w);
	w = storage_writer__new(db);
	if (!ASSERT_NONNULL(w, "second writer") ||
	    !ASSERT_OK(storage_writer__flush(w, &b, 0, NULL), "b"))
		goto out;
	r = storage_reader__new(db);
	if (!ASSERT_NONNULL(r, "reader"))
		goto out;
	if (!ASSERT_EQ(storage_reader__rate(r, t0 - 5 * s, t0 - s, &hz, &ncpus), -ENODATA,
		       "before any") ||
	    !ASSERT_OK(storage_reader__rate(r, t0 + s, t0 + 2 * s, &hz, &ncpus), "in a") ||
	    !ASSERT_EQ(hz, 99, "a's hz") || !ASSERT_EQ(ncpus, 2, "a's cpus") ||
	    !ASSERT_EQ(storage_reader__rate(r, t0 + 11 * s, t0 + 12 * s, &hz, &ncpus), -ENODATA,
		       "between") ||
	    !ASSERT_OK(storage_reader__rate(r, t0 + 100 * s, 0, &hz, &ncpus), "in b") ||
	    !ASSERT_EQ(hz, 19, "b's hz") || !ASSERT_EQ(ncpus, 4, "b's cpus") ||
	    !ASSERT_OK(storage_reader__rate(r, 0, 0, &hz, &ncpus), "all") ||
	    !ASSERT_EQ(hz, 99, "highest hz") || !ASSERT_EQ(ncpus, 4, "most cpus"))
		goto out;
	res = TEST_PASS;
out:
	storage_reader__free(r);
	storage_writer__free(w);
	storage__close(db);
	return res;
}

/* Process churn past 16k processes and 128k frames and stacks: a thread, process, frame or stack
 * seen again keeps its row (no duplicate, same id). */
static enum test_result test_churn_caches(void)
{
	struct storage_recording rec = {
		.started_ns = 1733550000000000000ll, .hz = 19, .ncpus = 1, .event = "x"
	};
	struct storage_writer *w = NULL;
	struct storage *db;
	enum test_result res = TEST_FAIL;
	int64_t first = 0, again, first_frame = 0, first_stack = 0;
	struct storage_info info;

	fresh_path("churn.db");
	db = storage__open(path, STORAGE_WRITE);
	w = db ? storage_writer__new(db) : NULL;
	if (!ASSERT_NONNULL(w, "writer"))
		goto out;
	for (uint32_t pid = 1; pid <= 40000; pid++) {
		int64_t id = storage_writer__thread(w, pid, pid, pid * 10, "churn");

		if (!ASSERT_GT(id, 0, "thread") ||
		    !ASSERT_OK(storage_writer__process(w, pid, pid * 10, pid, 0, "churn", NULL, 1),
			       "process"))
			goto out;
		if (pid == 1)
			first = id;
		if (pid % 5000 == 0 && !ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "flush"))
			goto out;
	}
	/* Frames and stacks of code seen once (unnamed, by offset), past their caches' limits. */
	for (uint64_t off = 1; off <= 140000; off++) {
		struct storage_frame fr = { .kind = STORAGE_FRAME_USER,
					    .module = "churn.so",
					    .offset = off };
		int64_t fid = storage_writer__frame(w, &fr), sid;

		if (!ASSERT_GT(fid, 0, "frame"))
			goto out;
		sid = storage_writer__stack(w, &fid, 1, STORAGE_STACK_COMPLETE);
		if (!ASSERT_GT(sid, 0, "stack"))
			goto out;
		if (off == 1) {
			first_frame = fid;
			first_stack = sid;
		}
		if (off % 20000 == 0 && !ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "flus"
											    "h"))
			goto out;
	}
	{
		struct storage_frame fr = { .kind = STORAGE_FRAME_USER,
					    .module = "churn.so",
					    .offset = 1 };
		int64_t fid = storage_writer__frame(w, &fr);

		if (!ASSERT_EQ(fid, first_frame,
			       "the first frame's id after the caches were emptied") ||
		    !ASSERT_EQ(storage_writer__stack(w, &fid, 1, STORAGE_STACK_COMPLETE),
			       first_stack, "the first stack's id after the caches were emptied"))
			goto out;
	}
	again = storage_writer__thread(w, 1, 1, 10, "churn");
	if (!ASSERT_EQ(again, first, "the first thread's id after the caches were emptied") ||
	    !ASSERT_OK(storage_writer__process(w, 1, 10, 1, 0, "churn", NULL, 1), "process "
										  "again") ||
	    !ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "last flush"))
		goto out;
	/* One row each: nothing was written twice (rows by dictionary: strings, frames, stacks,
	 * processes, threads). */
	if (!ASSERT_OK(storage__info(db, &info), "info") ||
	    !ASSERT_EQ(info.rows[4], 40000, "thread rows") ||
	    !ASSERT_EQ(info.rows[3], 40000, "process rows") ||
	    !ASSERT_EQ(info.rows[1], 140000, "frame rows") ||
	    !ASSERT_EQ(info.rows[2], 140000, "stack rows") ||
	    !ASSERT_EQ(info.stack_status[STORAGE_STACK_COMPLETE], 140000, "complete stacks"))
		goto out;
	res = TEST_PASS;
out:
	storage_writer__free(w);
	storage__close(db);
	return res;
}

/* Recordings overlapping a range, and per-function totals over a subset of stack counts. */
static enum test_result test_recordings_functions_of(void)
{
	int64_t t0 = 1733550000000000000ll, s = 1000000000ll;
	struct storage_frame leaf = { .kind = STORAGE_FRAME_USER, .name = "leaf", .module = "/x" };
	struct storage_frame root = { .kind = STORAGE_FRAME_USER, .name = "root", .module = "/x" };
	struct storage_recording r1 = {
		.started_ns = t0, .hz = 99, .ncpus = 2, .event = "cycles", .hostname = "h1"
	};
	struct storage_recording r2 = {
		.started_ns = t0 + 10 * s, .hz = 49, .ncpus = 2, .event = "cpu-clock"
	};
	struct storage_stack_count *c = NULL;
	struct storage_function_count *fc = NULL;
	struct storage_recording *recs = NULL;
	struct storage_reader *r = NULL;
	struct storage_writer *w = NULL;
	struct storage *db;
	int64_t fl, fr, st1, st2, th1, th2;
	uint64_t total = 0;
	size_t n, nfc;
	enum test_result res = TEST_FAIL;

	fresh_path("recs.db");
	db = storage__open(path, STORAGE_WRITE);
	w = db ? storage_writer__new(db) : NULL;
	if (!ASSERT_NONNULL(w, "writer"))
		goto out;
	fl = storage_writer__frame(w, &leaf);
	fr = storage_writer__frame(w, &root);
	st1 = storage_writer__stack(w, (int64_t[]){ fl, fr }, 2, STORAGE_STACK_COMPLETE);
	st2 = storage_writer__stack(w, (int64_t[]){ fr }, 1, STORAGE_STACK_COMPLETE);
	th1 = storage_writer__thread(w, 1, 1, 5, "one");
	th2 = storage_writer__thread(w, 2, 2, 5, "two");
	storage_writer__sample(w, &(struct storage_sample){ t0 + 1, th1, st1, 0, 0 });
	storage_writer__sample(w, &(struct storage_sample){ t0 + 2, th1, st2, 0, 0 });
	storage_writer__sample(w, &(struct storage_sample){ t0 + 3, th2, st1, 0, 0 });
	r1.ended_ns = t0 + 5 * s;
	if (!ASSERT_OK(storage_writer__flush(w, &r1, 0, NULL), "flush 1"))
		goto out;
	storage_writer__free(w);
	/* A second run, still going (ended_ns 0). */
	w = storage_writer__new(db);
	if (!ASSERT_NONNULL(w, "writer 2") ||
	    !ASSERT_OK(storage_writer__flush(w, &r2, 0, NULL), "flush 2"))
		goto out;
	r = storage_reader__new(db);
	if (!ASSERT_NONNULL(r, "reader"))
		goto out;

	if (!ASSERT_OK(storage_reader__recordings(r, 0, 0, &recs, &n), "all") ||
	    !ASSERT_EQ(n, 2, "two runs") || !ASSERT_EQ(recs[0].hz, 99, "first hz") ||
	    !ASSERT_STREQ(recs[0].event, "cycles", "event") ||
	    !ASSERT_STREQ(recs[0].hostname, "h1", "hostname") ||
	    !ASSERT_NULL(recs[1].hostname, "no hostname") ||
	    !ASSERT_EQ(recs[1].hz, 49, "second hz") ||
	    !ASSERT_EQ(recs[0].ended_ns, t0 + 5 * s, "ended"))
		goto out;
	free(recs);
	recs = NULL;
	if (!ASSERT_OK(storage_reader__recordings(r, t0 + 6 * s, t0 + 7 * s, &recs, &n), "gap") ||
	    !ASSERT_EQ(n, 0, "nothing in the gap"))
		goto out;
	free(recs);
	recs = NULL;
	if (!ASSERT_OK(storage_reader__recordings(r, t0 + 20 * s, 0, &recs, &n), "later") ||
	    !ASSERT_EQ(n, 1, "the running one") || !ASSERT_EQ(recs[0].hz, 49, "its hz"))
		goto out;

	/* Only thread 1's entries: root (self 1, total 2) sorts before leaf (self 1, total 1). */
	if (!ASSERT_OK(storage_reader__stack_counts(r, &(struct storage_filter){ 0 }, &c, &n,
						    &total),
		       "counts") ||
	    !ASSERT_EQ(total, 3, "total") || !ASSERT_EQ(n, 3, "three pairs"))
		goto out;
	for (n = 0; n < 3 && c[n].thread == th1; n++)
		;
	if (!ASSERT_EQ(n, 2, "thread 1 pairs") ||
	    !ASSERT_OK(storage_reader__functions_of(r, c, n, &fc, &nfc, &total), "functions_of") ||
	    !ASSERT_EQ(total, 2, "subset total") || !ASSERT_EQ(nfc, 2, "two functions") ||
	    !ASSERT_STREQ(fc[0].frame->name, "root", "order") ||
	    !ASSERT_EQ(fc[0].self, 1, "root self") || !ASSERT_EQ(fc[0].total, 2, "root total") ||
	    !ASSERT_EQ(fc[1].self, 1, "leaf self") || !ASSERT_EQ(fc[1].total, 1, "leaf total"))
		goto out;
	res = TEST_PASS;
out:
	free(fc);
	free(c);
	free(recs);
	storage_reader__free(r);
	storage_writer__free(w);
	storage__close(db);
	return res;
}

#define FULL_NS 1000000000ll
#define FULL_EPOCH 1733550000000000000ll

static void count_problem(const char *problem, void *ctx)
{
	fprintf(stderr, "problem: %s\n", problem);
	(*(int *)ctx)++;
}

/* Buffers `n` samples of one thread, each on a stack of new frames (so a flush needs pages). */
static int add_new_stacks(struct storage_writer *w, int64_t thread, int64_t t, int second, int n)
{
	for (int i = 0; i < n; i++) {
		struct storage_frame f = { .kind = STORAGE_FRAME_USER, .module = "/usr/bin/full" };
		struct storage_sample smp = { .time_ns = t + i * 1000000ll, .thread = thread };
		char name[64];
		int64_t frames[2];

		snprintf(name, sizeof(name), "function_number_%d_of_second_%d", i, second);
		f.name = name;
		frames[0] = storage_writer__frame(w, &f);
		f.name = "main";
		frames[1] = storage_writer__frame(w, &f);
		smp.stack = storage_writer__stack(w, frames, 2, STORAGE_STACK_COMPLETE);
		if (frames[0] < 0 || smp.stack < 0)
			return -ENOMEM;
		if (storage_writer__sample(w, &smp))
			return -ENOMEM;
	}
	return 0;
}

/*
 * A full disk at the storage level, without root (PRAGMA max_page_count stands in for the file
 * system: SQLite reports both as SQLITE_FULL): a flush fails with -ENOSPC and keeps its samples
 * up to max_pending, dropping and counting the rest; maintenance fails without harm; once space
 * returns the next flush writes everything kept, and the database passes storage__check. The
 * collector's side (its message, retries, summary) is e2e_diskfull.
 */
static enum test_result test_disk_full(void)
{
	struct storage_recording rec = {
		.started_ns = FULL_EPOCH, .hz = 99, .ncpus = 1, .event = "cpu-clock"
	};
	const size_t max_pending = 1500;
	struct storage_filter all = { 0 };
	struct storage_writer *w = NULL;
	struct storage_reader *r = NULL;
	struct storage *db;
	enum test_result res = TEST_FAIL;
	uint64_t dropped = 0, added = 0, problems = 0, total = 0;
	struct storage_stack_count *counts = NULL;
	int64_t pages, thread, t = FULL_EPOCH;
	size_t n;
	int err, full = 0, nproblems = 0, second = 0;
	char sql[64];

	fresh_path("full.db");
	db = storage__open(path, STORAGE_WRITE);
	w = db ? storage_writer__new(db) : NULL;
	if (!ASSERT_NONNULL(w, "writer"))
		goto out;
	thread = storage_writer__thread(w, 42, 42, 1000, "full");
	if (!ASSERT_GT(thread, 0, "thread"))
		goto out;
	/* Ten seconds that fit. */
	for (; second < 10; second++, t += FULL_NS) {
		if (!ASSERT_OK(add_new_stacks(w, thread, t, second, 200), "samples") ||
		    !ASSERT_OK(storage_writer__flush(w, &rec, max_pending, &dropped), "flush"))
			goto out;
		added += 200;
	}
	/* The disk is full: not one page more. */
	if (!ASSERT_OK(storage_query_int(db, "PRAGMA page_count", &pages), "page_count"))
		goto out;
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count=%lld", (long long)pages);
	if (!ASSERT_OK(storage_exec(db, sql), "cap the file"))
		goto out;
	for (; second < 20; second++, t += FULL_NS) {
		if (!ASSERT_OK(add_new_stacks(w, thread, t, second, 500), "samples"))
			goto out;
		added += 500;
		err = storage_writer__flush(w, &rec, max_pending, &dropped);
		if (err && !ASSERT_EQ(err, -ENOSPC, "a full disk is ENOSPC"))
			goto out;
		full += err == -ENOSPC;
		if (!ASSERT_LE(storage_writer__pending(w), max_pending, "pending within the bound"))
			goto out;
		err = storage_writer__maintain(w, NULL, t + FULL_NS, 0, NULL);
		if (err && !ASSERT_EQ(err, -ENOSPC, "maintenance on a full disk"))
			goto out;
	}
	if (!ASSERT_EQ(full, 10, "every flush failed while full") ||
	    !ASSERT_GT(dropped, 0, "samples beyond max_pending dropped") ||
	    !ASSERT_EQ(added, rec.stored + dropped + storage_writer__pending(w),
		       "every sample stored, pending or counted as dropped"))
		goto out;
	/* Space returns: the next flush writes what was kept. */
	if (!ASSERT_OK(storage_exec(db, "PRAGMA max_page_count=1073741823"), "uncap") ||
	    !ASSERT_OK(storage_writer__flush(w, &rec, max_pending, &dropped), "flush after") ||
	    !ASSERT_EQ(storage_writer__pending(w), 0, "nothing pending") ||
	    !ASSERT_EQ(added, rec.stored + dropped, "stored and dropped") ||
	    !ASSERT_OK(storage_writer__maintain(w, NULL, t + FULL_NS, 0, NULL), "maintenance "
										"after"))
		goto out;
	storage_writer__free(w);
	w = NULL;
	r = storage_reader__new(db);
	if (!ASSERT_NONNULL(r, "reader") ||
	    !ASSERT_OK(storage_reader__stack_counts(r, &all, &counts, &n, &total), "query") ||
	    !ASSERT_EQ(total, rec.stored, "the samples are there") ||
	    !ASSERT_OK(storage__check(db, count_problem, &nproblems, &problems), "check") ||
	    !ASSERT_EQ(problems, 0, "no problems"))
		goto out;
	res = TEST_PASS;
out:
	free(counts);
	storage_reader__free(r);
	storage_writer__free(w);
	storage__close(db);
	return res;
}

/* The collector's own cost: queued rows go out with the next flush that writes the recording,
 * tied to it; the reader gives the newest and those of a range. */
static enum test_result test_self_rows(void)
{
	int64_t t0 = 1733550000000000000ll, s = 1000000000ll;
	struct storage_recording rec = { .started_ns = t0, .hz = 999, .ncpus = 2, .event = "x" };
	struct storage_self a = { .time_ns = t0 + 10 * s,
				  .span_ns = 10 * s,
				  .cpu_pct = 2.5,
				  .rss_kib = 40960,
				  .heap_kib = 20480,
				  .samples_per_s = 1998.0,
				  .dropped = 3,
				  .hz = 999 },
			    b = a, got, *v = NULL;
	struct storage_writer *w = NULL;
	struct storage_reader *r = NULL;
	struct storage *db, *rdb = NULL;
	enum test_result res = TEST_FAIL;
	size_t n = 0;

	fresh_path("self.db");
	db = storage__open(path, STORAGE_WRITE);
	w = db ? storage_writer__new(db) : NULL;
	rdb = w ? storage__open(path, STORAGE_READ) : NULL;
	r = rdb ? storage_reader__new(rdb) : NULL;
	if (!ASSERT_NONNULL(r, "reader") ||
	    !ASSERT_EQ(storage_reader__self_latest(r, &got), -ENODATA, "none yet") ||
	    !ASSERT_OK(storage_writer__self(w, &a), "queue") ||
	    /* A flush without a recording keeps it queued. */
	    !ASSERT_OK(storage_writer__flush(w, NULL, 0, NULL), "flush without a recording") ||
	    !ASSERT_EQ(storage_reader__self_latest(r, &got), -ENODATA, "still queued") ||
	    !ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "flush"))
		goto out;
	b.time_ns = t0 + 70 * s;
	b.span_ns = 60 * s;
	b.cpu_pct = 1.25;
	b.rss_kib = 41000;
	b.dropped = 0;
	if (!ASSERT_OK(storage_writer__self(w, &b), "queue b") ||
	    !ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "flush b") ||
	    !ASSERT_OK(storage_reader__self_latest(r, &got), "latest") ||
	    !ASSERT_EQ(got.time_ns, b.time_ns, "newest") ||
	    !ASSERT_EQ(got.span_ns, 60 * s, "span") ||
	    !ASSERT_EQ(got.recording, 1, "tied to the recording") ||
	    !ASSERT_EQ(got.rss_kib, 41000, "rss") || !ASSERT_EQ(got.heap_kib, 20480, "heap") ||
	    !ASSERT_EQ(got.hz, 999, "hz") || !ASSERT_EQ(got.dropped, 0, "dropped") ||
	    !ASSERT_TRUE(got.cpu_pct == 1.25 && got.samples_per_s == 1998.0, "cpu, samples/s") ||
	    !ASSERT_OK(storage_reader__self(r, 0, 0, &v, &n), "all") || !ASSERT_EQ(n, 2, "two") ||
	    !ASSERT_EQ(v[0].time_ns, a.time_ns, "in time order") ||
	    !ASSERT_EQ(v[0].dropped, 3, "a's drops"))
		goto out;
	free(v);
	v = NULL;
	if (!ASSERT_OK(storage_reader__self(r, t0 + 11 * s, 0, &v, &n), "range") ||
	    !ASSERT_EQ(n, 1, "one in the range") || !ASSERT_EQ(v[0].time_ns, b.time_ns, "b"))
		goto out;
	free(v);
	v = NULL;
	if (!ASSERT_OK(storage_reader__self(r, t0, t0 + 10 * s, &v, &n), "before a") ||
	    !ASSERT_EQ(n, 0, "none: the end is exclusive"))
		goto out;
	res = TEST_PASS;
out:
	free(v);
	storage_reader__free(r);
	storage__close(rdb);
	storage_writer__free(w);
	storage__close(db);
	return res;
}

static void print_problem(const char *problem, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "check: %s\n", problem);
}

/*
 * Under process churn the writer's memory stays bounded: processes that exited are forgotten in
 * memory with their threads (a thread seen again gets new rows), idle ones after
 * WRITER_IDLE_FLUSHES; their rows stay readable, and pruning keeps the strings they name.
 */
static enum test_result test_forget_exited(void)
{
	int64_t t0 = 1733550000000000000ll, s = 1000000000ll, first = 0, idle = 0, again;
	struct storage_recording rec = { .started_ns = t0, .hz = 19, .ncpus = 1, .event = "x" };
	struct storage_policy pol = { .retention_ns = 3600 * s };
	struct storage_writer *w = NULL;
	struct storage_reader *r = NULL;
	const struct storage_thread *t;
	struct storage *db, *rdb = NULL;
	struct storage_info info;
	enum test_result res = TEST_FAIL;
	uint64_t problems = 1;
	int64_t frame, stack;

	fresh_path("forget.db");
	db = storage__open(path, STORAGE_WRITE);
	w = db ? storage_writer__new(db) : NULL;
	if (!ASSERT_NONNULL(w, "writer"))
		goto out;
	frame = storage_writer__frame(w, &(struct storage_frame){ .name = "f", .module = "m" });
	stack = storage_writer__stack(w, &frame, 1, STORAGE_STACK_COMPLETE);
	/* An old block for retention to delete, so that pruning runs later. */
	if (!ASSERT_OK(storage_writer__sample(
			   w,
			   &(struct storage_sample){
			       t0, storage_writer__thread(w, 9999, 9999, 1, "old"), stack, 0, 0 }),
		       "old sample") ||
	    !ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "old flush"))
		goto out;
	for (uint32_t pid = 1; pid <= 1000; pid++) {
		char exe[32];
		int64_t th;

		snprintf(exe, sizeof(exe), "/usr/bin/churn%u", pid);
		if (!ASSERT_OK(storage_writer__process(w, pid, pid * 10, t0, 0, "churn", exe, t0),
			       "process"))
			goto out;
		th = storage_writer__thread(w, pid, pid, pid * 10, "churn");
		if (!ASSERT_GT(th, 0, "thread") ||
		    !ASSERT_OK(storage_writer__sample(w,
						      &(struct storage_sample){ t0 + 7200 * s + pid,
										th, stack, 0, 0 }),
			       "sample"))
			goto out;
		if (pid == 1)
			first = th;
		if (pid == 1000)
			idle = th;
		else
			storage_writer__process_exit(w, pid, pid * 10);
	}
	for (int i = 0; i < 2 * WRITER_EXITED_FLUSHES + WRITER_SWEEP_FLUSHES; i++)
		if (!ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "flush"))
			goto out;
	/* Forgotten: the same thread again is a new row; the idle one is still known. */
	again = storage_writer__thread(w, 1, 1, 10, "churn");
	if (!ASSERT_GT(again, first, "an exited process's thread has new rows") ||
	    !ASSERT_EQ(storage_writer__thread(w, 1000, 1000, 10000, "churn"), idle,
		       "a running one is kept"))
		goto out;
	for (int i = 0; i < WRITER_IDLE_FLUSHES + WRITER_SWEEP_FLUSHES; i++)
		if (!ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "idle flush"))
			goto out;
	if (!ASSERT_GT(storage_writer__thread(w, 1000, 1000, 10000, "churn"), idle,
		       "an idle process is forgotten too") ||
	    !ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "flush"))
		goto out;
	/* Retention deletes the old block and pruning runs: the forgotten rows' strings stay. */
	if (!ASSERT_OK(storage_writer__maintain(w, &pol, t0 + 7300 * s, 0, NULL), "maintain") ||
	    !ASSERT_OK(storage__check(db, print_problem, NULL, &problems), "check") ||
	    !ASSERT_EQ(problems, 0, "no problems") ||
	    !ASSERT_OK(storage__info(db, &info), "info") ||
	    !ASSERT_EQ(info.rows[4], 1002, "thread rows: one more each for pids 1 and 1000"))
		goto out;
	rdb = storage__open(path, STORAGE_READ);
	r = rdb ? storage_reader__new(rdb) : NULL;
	t = r ? storage_reader__thread(r, first) : NULL;
	if (!ASSERT_NONNULL(t, "the forgotten thread reads back") || !ASSERT_EQ(t->pid, 1, "pid") ||
	    !ASSERT_STREQ(t->exe, "/usr/bin/churn1", "its exe") ||
	    !ASSERT_STREQ(t->comm, "churn", "comm"))
		goto out;
	res = TEST_PASS;
out:
	storage_reader__free(r);
	storage__close(rdb);
	storage_writer__free(w);
	storage__close(db);
	return res;
}

/*
 * Frames and stacks no one interned or sampled for WRITER_ROW_IDLE_FLUSHES are forgotten in
 * memory (new code comes all the time on a busy host: the soak grew 27,000 stacks a minute,
 * 208 MiB an hour); a stack samples keep naming stays, with its frames, though nothing interns
 * it (the ingest's cache answers for it). A forgotten row interned again gets a new id; the
 * forgotten rows stay readable, and pruning keeps what they name: frame C, still in memory, only
 * a forgotten stack uses, and the strings of forgotten frame B.
 */
static enum test_result test_forget_idle_rows(void)
{
	int64_t t0 = 1733550000000000000ll, s = 1000000000ll, a, b, c, hot, cold, cstack, th;
	struct storage_recording rec = { .started_ns = t0, .hz = 19, .ncpus = 1, .event = "x" };
	struct storage_frame fa = { .name = "hot", .module = "m" },
			     fb = { .name = "cold", .module = "m2", .file = "cold.c", .line = 7 },
			     fc = { .name = "kept", .module = "m" };
	struct storage_policy pol = { .retention_ns = 3600 * s };
	struct storage_writer_stats ws;
	struct storage_writer *w = NULL;
	struct storage_reader *r = NULL;
	const struct storage_frame *fr;
	struct storage *db, *rdb = NULL;
	enum test_result res = TEST_FAIL;
	const int64_t *frames;
	uint64_t problems = 1;
	size_t depth;

	fresh_path("forget_rows.db");
	db = storage__open(path, STORAGE_WRITE);
	w = db ? storage_writer__new(db) : NULL;
	if (!ASSERT_NONNULL(w, "writer"))
		goto out;
	a = storage_writer__frame(w, &fa);
	b = storage_writer__frame(w, &fb);
	c = storage_writer__frame(w, &fc);
	hot = storage_writer__stack(w, &a, 1, STORAGE_STACK_COMPLETE);
	cold = storage_writer__stack(w, &b, 1, STORAGE_STACK_COMPLETE);
	cstack = storage_writer__stack(w, &c, 1, STORAGE_STACK_COMPLETE);
	th = storage_writer__thread(w, 1, 1, 10, "t");
	/* An old block for retention to delete (so that pruning runs), and recent ones naming
	 * every stack. */
	if (!ASSERT_GT(th, 0, "thread") ||
	    !ASSERT_OK(storage_writer__sample(w, &(struct storage_sample){ t0, th, hot, 0, 0 }),
		       "old sample") ||
	    !ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "old flush") ||
	    !ASSERT_OK(storage_writer__sample(w, &(struct storage_sample){ t0 + 7200 * s, th, cold,
									   0, 0 }),
		       "cold sample") ||
	    !ASSERT_OK(storage_writer__sample(w, &(struct storage_sample){ t0 + 7200 * s + 1, th,
									   cstack, 0, 0 }),
		       "sample of c") ||
	    !ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "flush"))
		goto out;
	for (int i = 0; i < WRITER_ROW_IDLE_FLUSHES + WRITER_SWEEP_FLUSHES; i++) {
		/* `hot` only sampled, by id; frame c only interned. */
		if (!ASSERT_OK(storage_writer__sample(
				   w, &(struct storage_sample){ t0 + 7201 * s + i, th, hot, 0, 0 }),
			       "hot sample") ||
		    !ASSERT_EQ(storage_writer__frame(w, &fc), c, "c stays") ||
		    !ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "flush"))
			goto out;
	}
	storage_writer__stats(w, &ws);
	if (!ASSERT_EQ(ws.stacks, 1, "one stack held: the sampled one") ||
	    !ASSERT_EQ(ws.forgotten_stacks, 2, "the other two forgotten") ||
	    !ASSERT_EQ(ws.frames, 2, "frames held: the sampled stack's, and c") ||
	    !ASSERT_EQ(ws.forgotten_frames, 1, "b forgotten") ||
	    !ASSERT_EQ(storage_writer__frame(w, &fa), a, "the hot stack's frame keeps its id") ||
	    !ASSERT_EQ(storage_writer__stack(w, &a, 1, STORAGE_STACK_COMPLETE), hot,
		       "the hot stack keeps its id") ||
	    !ASSERT_GT(storage_writer__stack(w, &c, 1, STORAGE_STACK_COMPLETE), cstack,
		       "a forgotten stack interned again is a new row") ||
	    !ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "flush"))
		goto out;
	/* Retention deletes the old block; pruning must keep c and b's strings. */
	if (!ASSERT_OK(storage_writer__maintain(w, &pol, t0 + 7300 * s, 0, NULL), "maintain") ||
	    !ASSERT_OK(storage__check(db, print_problem, NULL, &problems), "check") ||
	    !ASSERT_EQ(problems, 0, "no problems"))
		goto out;
	rdb = storage__open(path, STORAGE_READ);
	r = rdb ? storage_reader__new(rdb) : NULL;
	if (!ASSERT_NONNULL(r, "reader") ||
	    !ASSERT_OK(storage_reader__stack(r, cold, &frames, &depth, NULL), "cold stack") ||
	    !ASSERT_EQ(depth, 1, "depth") || !ASSERT_EQ(frames[0], b, "frame b"))
		goto out;
	fr = storage_reader__frame(r, b);
	if (!ASSERT_NONNULL(fr, "frame b reads back") || !ASSERT_STREQ(fr->name, "cold", "name") ||
	    !ASSERT_STREQ(fr->file, "cold.c", "file"))
		goto out;
	res = TEST_PASS;
out:
	storage_reader__free(r);
	storage__close(rdb);
	storage_writer__free(w);
	storage__close(db);
	return res;
}

/*
 * A frame forgotten and interned again is two equal rows. A later writer loads both: pruning
 * must judge each by its id. It kept only the first in memory, so when the first died (its stack
 * only in a deleted block) it pruned the strings the second, still in use, names (`ember db
 * check`: "frame N refers to string M, which does not exist", in e2e_db after gen-history).
 */
static enum test_result test_equal_rows_reopened(void)
{
	int64_t t0 = 1733550000000000000ll, s = 1000000000ll, fx, fx2, sx, sx2, th;
	struct storage_recording rec = { .started_ns = t0, .hz = 19, .ncpus = 1, .event = "x" };
	struct storage_frame f = { .name = "twice", .module = "twice.so", .file = "twice.c" };
	struct storage_policy pol = { .retention_ns = 3600 * s };
	struct storage_writer *w = NULL;
	struct storage *db = NULL;
	enum test_result res = TEST_FAIL;
	uint64_t problems = 1;

	fresh_path("equal_rows.db");
	db = storage__open(path, STORAGE_WRITE);
	w = db ? storage_writer__new(db) : NULL;
	if (!ASSERT_NONNULL(w, "writer"))
		goto out;
	fx = storage_writer__frame(w, &f);
	sx = storage_writer__stack(w, &fx, 1, STORAGE_STACK_COMPLETE);
	th = storage_writer__thread(w, 1, 1, 10, "t");
	if (!ASSERT_OK(storage_writer__sample(w, &(struct storage_sample){ t0, th, sx, 0, 0 }),
		       "old sample"))
		goto out;
	for (int i = 0; i < WRITER_ROW_IDLE_FLUSHES + WRITER_SWEEP_FLUSHES; i++)
		if (!ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "flush"))
			goto out;
	fx2 = storage_writer__frame(w, &f);
	sx2 = storage_writer__stack(w, &fx2, 1, STORAGE_STACK_COMPLETE);
	th = storage_writer__thread(w, 1, 1, 10, "t");
	if (!ASSERT_GT(fx2, fx, "forgotten, interned again: a new frame") ||
	    !ASSERT_GT(sx2, sx, "and a new stack") ||
	    !ASSERT_OK(
		storage_writer__sample(w, &(struct storage_sample){ t0 + 7200 * s, th, sx2, 0, 0 }),
		"recent sample") ||
	    !ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "flush"))
		goto out;
	storage_writer__free(w);
	/* Another writer: the old block goes, and with it the first frame and stack. */
	w = storage_writer__new(db);
	if (!ASSERT_NONNULL(w, "second writer") ||
	    !ASSERT_OK(storage_writer__maintain(w, &pol, t0 + 7300 * s, 0, NULL), "maintain") ||
	    !ASSERT_OK(storage__check(db, print_problem, NULL, &problems), "check") ||
	    !ASSERT_EQ(problems, 0, "no problems"))
		goto out;
	res = TEST_PASS;
out:
	storage_writer__free(w);
	storage__close(db);
	return res;
}

/* A database in the test directory with its writer, and a reader opened on it when asked. */
struct fixture {
	struct storage *db, *rdb;
	struct storage_writer *w;
	struct storage_reader *r;
};

/* A fresh database `name` and a writer on it; false when either fails. */
static bool fixture_open(struct fixture *x, const char *name)
{
	memset(x, 0, sizeof(*x));
	fresh_path(name);
	x->db = storage__open(path, STORAGE_WRITE);
	x->w = x->db ? storage_writer__new(x->db) : NULL;
	return ASSERT_NONNULL(x->w, "writer");
}

/* A reader on the database as it is now (the one before, if any, closed). */
static struct storage_reader *fixture_reader(struct fixture *x)
{
	storage_reader__free(x->r);
	storage__close(x->rdb);
	x->rdb = storage__open(path, STORAGE_READ);
	x->r = x->rdb ? storage_reader__new(x->rdb) : NULL;
	return x->r;
}

static void fixture_close(struct fixture *x)
{
	storage_reader__free(x->r);
	storage__close(x->rdb);
	storage_writer__free(x->w);
	storage__close(x->db);
}

/* Samples `n` times (thread, stack) at time t. */
static bool sample_n(struct storage_writer *w, int64_t t, int64_t thread, int64_t stack, int n)
{
	for (int i = 0; i < n; i++)
		if (!ASSERT_OK(storage_writer__sample(w, &(struct storage_sample){ t + i, thread,
										   stack, 0, 0 }),
			       "sample"))
			return false;
	return true;
}

/* Flushes `n` times (nothing sampled: rows go idle). */
static bool flush_n(struct storage_writer *w, struct storage_recording *rec, int n)
{
	for (int i = 0; i < n; i++)
		if (!ASSERT_OK(storage_writer__flush(w, rec, 0, NULL), "flush"))
			return false;
	return true;
}

/* The stack of one frame `f`, and the frame's id in *frame. */
static int64_t one_frame_stack(struct storage_writer *w, const struct storage_frame *f,
			       int64_t *frame)
{
	*frame = storage_writer__frame(w, f);
	return storage_writer__stack(w, frame, 1, STORAGE_STACK_COMPLETE);
}

/*
 * Strings no row in memory names and nobody interned for WRITER_ROW_IDLE_FLUSHES are forgotten
 * in memory (the soak's last growth: function names of new code, 13,000 an hour); interned
 * again, the same text is a new row. Pruning stays right: the first writer keeps what forgotten
 * rows name; a second writer loads the equal strings apart and prunes the dead copies only.
 */
static enum test_result test_forget_idle_strings(void)
{
	int64_t t0 = 1733550000000000000ll, s = 1000000000ll, fx, fx2, sx, sx2, kc, ks, th, th2;
	struct storage_recording rec = { .started_ns = t0, .hz = 19, .ncpus = 1, .event = "x" };
	struct storage_frame f = { .name = "gone", .module = "gone.so", .file = "gone.c" },
			     fk = { .name = "kept", .module = "kept.so" };
	struct storage_policy pol = { .retention_ns = 3600 * s };
	struct storage_writer_stats ws;
	const struct storage_frame *fr;
	const struct storage_thread *t;
	enum test_result res = TEST_FAIL;
	struct storage_info info;
	uint64_t problems = 1, strings_before;
	struct fixture x;

	if (!fixture_open(&x, "forget_strings.db"))
		goto out;
	sx = one_frame_stack(x.w, &f, &fx);
	ks = one_frame_stack(x.w, &fk, &kc);
	th = storage_writer__thread(x.w, 1, 1, 10, "olden");
	storage_writer__process_exit(x.w, 1, 10);
	/* The old block (retention deletes it), one for the second writer's retention, a recent
	 * one. */
	if (!ASSERT_GT(th, 0, "thread") || !sample_n(x.w, t0, th, sx, 1) ||
	    !flush_n(x.w, &rec, 1) || !sample_n(x.w, t0 + 7200 * s, th, ks, 1) ||
	    !flush_n(x.w, &rec, 1) || !ASSERT_OK(storage__info(x.db, &info), "info"))
		goto out;
	strings_before = info.rows[0];
	/* "kept" interned all along keeps its strings; the rest goes idle. */
	for (int i = 0; i < WRITER_ROW_IDLE_FLUSHES + WRITER_SWEEP_FLUSHES; i++)
		if (!ASSERT_EQ(storage_writer__frame(x.w, &fk), kc, "kept stays") ||
		    !flush_n(x.w, &rec, 1))
			goto out;
	storage_writer__stats(x.w, &ws);
	if (!ASSERT_EQ(ws.forgotten_strings, 4, "gone, gone.so, gone.c and olden forgotten") ||
	    !ASSERT_EQ(ws.strings, 2, "held: kept, kept.so"))
		goto out;
	sx2 = one_frame_stack(x.w, &f, &fx2);
	th2 = storage_writer__thread(x.w, 2, 2, 20, "olden");
	if (!ASSERT_GT(fx2, fx, "a new frame") || !ASSERT_GT(th2, th, "a new thread") ||
	    !sample_n(x.w, t0 + 10000 * s, th2, sx2, 1) || !flush_n(x.w, &rec, 1) ||
	    !ASSERT_OK(storage__info(x.db, &info), "info") ||
	    !ASSERT_EQ(info.rows[0], strings_before + 4, "the same four texts again, as new rows"))
		goto out;
	/* Pruning in this writer: the old block goes; its forgotten rows and strings stay. */
	if (!ASSERT_OK(storage_writer__maintain(x.w, &pol, t0 + 7300 * s, 0, NULL), "maintain") ||
	    !ASSERT_OK(storage__check(x.db, print_problem, NULL, &problems), "check") ||
	    !ASSERT_EQ(problems, 0, "no problems"))
		goto out;
	fr = fixture_reader(&x) ? storage_reader__frame(x.r, fx) : NULL;
	if (!ASSERT_NONNULL(fr, "the forgotten frame reads back") ||
	    !ASSERT_STREQ(fr->name, "gone", "its name") ||
	    !ASSERT_STREQ(fr->file, "gone.c", "file"))
		goto out;
	fr = storage_reader__frame(x.r, fx2);
	if (!ASSERT_NONNULL(fr, "the new frame reads back") ||
	    !ASSERT_STREQ(fr->name, "gone", "its name") ||
	    !ASSERT_STREQ(fr->module, "gone.so", "module"))
		goto out;
	storage_writer__free(x.w);
	/* A second writer loads both copies of each text and prunes the first, dead with the block
	 * at t0 + 7200 s, and keeps the second. */
	x.w = storage_writer__new(x.db);
	problems = 1;
	if (!ASSERT_NONNULL(x.w, "second writer") ||
	    !ASSERT_OK(storage_writer__maintain(x.w, &pol, t0 + 10900 * s, 0, NULL), "maintain") ||
	    !ASSERT_OK(storage__check(x.db, print_problem, NULL, &problems), "check") ||
	    !ASSERT_EQ(problems, 0, "no problems") ||
	    !ASSERT_OK(storage__info(x.db, &info), "info") ||
	    !ASSERT_EQ(info.rows[0], 4, "strings left: the second copies"))
		goto out;
	fr = fixture_reader(&x) ? storage_reader__frame(x.r, fx2) : NULL;
	t = x.r ? storage_reader__thread(x.r, th2) : NULL;
	if (ASSERT_NONNULL(fr, "the new frame reads back") &&
	    ASSERT_STREQ(fr->file, "gone.c", "file") && ASSERT_NONNULL(t, "the new thread") &&
	    ASSERT_STREQ(t->comm, "olden", "comm"))
		res = TEST_PASS;
out:
	fixture_close(&x);
	return res;
}

/* The row of `name` (NULL: the frame without a name) in a function list, or NULL. */
static const struct storage_function_count *function_row(const struct storage_function_count *v,
							 size_t n, const char *name, size_t *rows)
{
	const struct storage_function_count *found = NULL;

	*rows = 0;
	for (size_t i = 0; i < n; i++)
		if (name ? v[i].frame->name && !strcmp(v[i].frame->name, name)
			 : !v[i].frame->name) {
			found = &v[i];
			(*rows)++;
		}
	return found;
}

/* Whether the functions under filter `f` are one row of `self` samples. */
static bool one_function(struct storage_reader *r, const struct storage_filter *f, uint64_t self)
{
	struct storage_function_count *fc = NULL;
	uint64_t total;
	size_t n = 0;
	bool ok = ASSERT_OK(storage_reader__functions(r, f, &fc, &n, &total), "functions") &&
		  ASSERT_EQ(n, 1, "one function") && ASSERT_EQ(fc[0].self, self, "its samples");

	free(fc);
	return ok;
}

/*
 * The same text under two string ids (a string forgotten by the writer and interned again) is
 * one thing to every reader: one function with the counts of both, one binary and one command
 * for the filters, and an unnamed frame stored twice is one frame, in the function list and as a
 * process's hottest frame (it was split by id: pid 9's "other", 3 samples, beat its 2 + 2).
 */
static enum test_result test_group_by_text(void)
{
	int64_t t0 = 1733550000000000000ll, s = 1000000000ll, fa, fu, fo, sa, su, so, t1, t9;
	struct storage_recording rec = { .started_ns = t0, .hz = 19, .ncpus = 1, .event = "x" };
	struct storage_frame a = { .name = "fn", .module = "m" },
			     u = { .module = "lib.so", .offset = 0x40 },
			     o = { .name = "other", .module = "m" };
	struct storage_function_count *fc = NULL;
	struct storage_task_count *tc = NULL;
	const struct storage_function_count *row;
	struct storage_writer_stats ws;
	const struct storage_frame *fr;
	enum test_result res = TEST_FAIL;
	size_t n = 0, rows, nt = 0;
	struct fixture x;
	uint64_t total;

	if (!fixture_open(&x, "group_by_text.db") ||
	    !ASSERT_OK(storage_writer__process(x.w, 1, 10, t0, 0, "worker", "/usr/bin/w", t0), "pro"
											       "ces"
											       "s"))
		goto out;
	sa = one_frame_stack(x.w, &a, &fa);
	su = one_frame_stack(x.w, &u, &fu);
	so = one_frame_stack(x.w, &o, &fo);
	t1 = storage_writer__thread(x.w, 1, 1, 10, "worker");
	t9 = storage_writer__thread(x.w, 9, 9, 90, "steady");
	storage_writer__process_exit(x.w, 1, 10);
	if (!sample_n(x.w, t0, t1, sa, 3) || !sample_n(x.w, t0 + s, t9, su, 2) ||
	    !sample_n(x.w, t0 + 2 * s, t9, so, 3) ||
	    !flush_n(x.w, &rec, WRITER_ROW_IDLE_FLUSHES + WRITER_SWEEP_FLUSHES + 1))
		goto out;
	storage_writer__stats(x.w, &ws);
	if (!ASSERT_GE(ws.forgotten_strings, 5, "fn, m, lib.so, worker, /usr/bin/w forgotten"))
		goto out;
	/* Everything again: new frames, stacks, strings; pid 1 is a new process. */
	if (!ASSERT_OK(storage_writer__process(x.w, 1, 11, t0, 0, "worker", "/usr/bin/w", t0), "pro"
											       "ces"
											       "s "
											       "aga"
											       "i"
											       "n"))
		goto out;
	sa = one_frame_stack(x.w, &a, &fa);
	su = one_frame_stack(x.w, &u, &fu);
	t1 = storage_writer__thread(x.w, 1, 1, 11, "worker");
	if (!sample_n(x.w, t0 + 100 * s, t1, sa, 2) || !sample_n(x.w, t0 + 101 * s, t9, su, 2) ||
	    !flush_n(x.w, &rec, 1))
		goto out;
	if (!ASSERT_NONNULL(fixture_reader(&x), "reader") ||
	    !ASSERT_OK(storage_reader__functions(x.r, &(struct storage_filter){ 0 }, &fc, &n,
						 &total),
		       "functions"))
		goto out;
	row = function_row(fc, n, "fn", &rows);
	if (!ASSERT_EQ(rows, 1, "fn: one row") ||
	    !ASSERT_EQ(row->self, 5, "fn: both ids' samples") ||
	    !ASSERT_EQ(fc[0].self, 5, "fn first in the top list"))
		goto out;
	row = function_row(fc, n, NULL, &rows);
	if (!ASSERT_EQ(rows, 1, "the unnamed frame: one row") ||
	    !ASSERT_EQ(row->self, 4, "its samples under both ids") ||
	    !ASSERT_EQ(total, 12, "all samples"))
		goto out;
	/* Filters by command and by binary cover both string ids of the text. */
	if (!one_function(x.r, &(struct storage_filter){ .comm = "worker" }, 5) ||
	    !one_function(x.r, &(struct storage_filter){ .binary = "w" }, 5))
		goto out;
	/* pid 9's hottest leaf: the unnamed frame, 2 + 2 samples, over other's 3. */
	if (!ASSERT_OK(storage_reader__tasks(
			   x.r, &(struct storage_filter){ .pids = (uint32_t[]){ 9 }, .npids = 1 },
			   false, &tc, &nt, &total),
		       "tasks") ||
	    !ASSERT_EQ(nt, 1, "one process"))
		goto out;
	fr = storage_reader__frame(x.r, tc[0].hot_frame);
	if (ASSERT_NONNULL(fr, "hot frame") && ASSERT_NULL(fr->name, "the unnamed frame") &&
	    ASSERT_STREQ(fr->module, "lib.so", "its module"))
		res = TEST_PASS;
out:
	free(fc);
	free(tc);
	fixture_close(&x);
	return res;
}

int main(int argc, char **argv)
{
	static const struct test_case tests[] = { TEST(test_roundtrip),
						  TEST(test_refusals),
						  TEST(test_aggregates),
						  TEST(test_writer_active),
						  TEST(test_rate),
						  TEST(test_recordings_functions_of),
						  TEST(test_churn_caches),
						  TEST(test_self_rows),
						  TEST(test_forget_exited),
						  TEST(test_forget_idle_rows),
						  TEST(test_equal_rows_reopened),
						  TEST(test_forget_idle_strings),
						  TEST(test_group_by_text),
						  TEST(test_disk_full) };
	char cmd[300];
	int r;

	if (!mkdtemp(dir))
		return 1;
	r = test_run_all(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "could not remove %s\n", dir);
	return r;
}
