// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * storage maintenance: flush blocks merged into windows and small chunks into large ones without
 * changing a single count; retention deleting old history, pruning the rows only it used and
 * giving the space back; per-minute rollups keeping the counts; the size limit; ids never reused.
 */
#include <sqlite3.h>

#include "tests/harness.h"
#include "tests/storage_helpers.h"

static int64_t sql_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return v;
}

/* Two lists of counts are equal, entry for entry. */
static bool same_entries(const struct storage_stack_count *a, size_t na,
			 const struct storage_stack_count *b, size_t nb)
{
	if (!ASSERT_EQ(na, nb, "same number of entries"))
		return false;
	for (size_t i = 0; i < na; i++)
		if (!ASSERT_EQ(a[i].thread, b[i].thread, "thread") ||
		    !ASSERT_EQ(a[i].stack, b[i].stack, "stack") ||
		    !ASSERT_EQ(a[i].count, b[i].count, "count"))
			return false;
	return true;
}

/* The stack counts of two databases are equal, entry for entry. */
static bool same_counts(const char *a, const char *b, const struct storage_filter *f)
{
	struct storage *da = storage__open(a, STORAGE_READ), *db = storage__open(b, STORAGE_READ);
	struct storage_reader *ra = da ? storage_reader__new(da) : NULL;
	struct storage_reader *rb = db ? storage_reader__new(db) : NULL;
	struct storage_stack_count *ca = NULL, *cb = NULL;
	size_t na = 0, nb = 0;
	uint64_t ta = 0, tb = 0;
	bool ok = false;

	if (!ASSERT_NONNULL(ra, "reader a") || !ASSERT_NONNULL(rb, "reader b") ||
	    !ASSERT_OK(storage_reader__stack_counts(ra, f, &ca, &na, &ta), "counts a") ||
	    !ASSERT_OK(storage_reader__stack_counts(rb, f, &cb, &nb, &tb), "counts b") ||
	    !ASSERT_EQ(ta, tb, "same total"))
		goto out;
	ok = same_entries(ca, na, cb, nb);
out:
	free(ca);
	free(cb);
	storage_reader__free(ra);
	storage_reader__free(rb);
	storage__close(da);
	storage__close(db);
	return ok;
}

/* Writes `secs` seconds of g's history into path (maintained by policy when not NULL). */
static int write_db(const char *path, struct th_gen g, int64_t t0, int secs,
		    const struct storage_policy *policy)
{
	struct storage *db = storage__open(path, STORAGE_WRITE);
	struct storage_writer *w = db ? storage_writer__new(db) : NULL;
	int err = w ? th_write(w, &g, t0, secs, policy) : -errno;

	storage_writer__free(w);
	storage__close(db);
	return err;
}

static enum test_result test_windows_and_chunks(void)
{
	struct th_gen g = { .procs = 5, .threads = 3, .cpus = 64, .hz = 20, .stacks = 40, .rng = 7 };
	struct storage_policy keep = { .rollup_after_ns = -1 };
	const char *raw = th_path("raw.db"), *merged = th_path("merged.db");
	int64_t flushes, windows, chunks;

	/* The same history twice: as flushed, and maintained after every flush. */
	if (!ASSERT_OK(write_db(raw, g, T_EPOCH, 200, NULL), "raw") ||
	    !ASSERT_OK(write_db(merged, g, T_EPOCH, 200, &keep), "maintained"))
		return TEST_FAIL;
	flushes = sql_int(merged, "SELECT count(*) FROM blocks WHERE level = 0");
	windows = sql_int(merged, "SELECT count(*) FROM blocks WHERE level = 1");
	chunks = sql_int(merged, "SELECT count(*) FROM stack_chunks");
	/* 1,280 samples a second: one-minute windows; three are closed at 200 s. */
	if (!ASSERT_EQ(sql_int(raw, "SELECT count(*) FROM blocks WHERE level = 0"), 200,
		       "one flush block a second") ||
	    !ASSERT_GE(windows, 3, "closed windows") || !ASSERT_LE(flushes, 30, "flushes left") ||
	    !ASSERT_CMP(chunks, <, 200, "stack chunks merged") ||
	    !ASSERT_CMP(th_file_size(merged), <, th_file_size(raw), "smaller"))
		return TEST_FAIL;
	/* Nothing changed: every (thread, stack) count, over all and over a cut range. */
	if (!same_counts(raw, merged, &(struct storage_filter){ 0 }) ||
	    !same_counts(raw, merged,
			 &(struct storage_filter){ .from_ns = T_EPOCH + 30 * T_NS + 123456789,
						   .to_ns = T_EPOCH + 130 * T_NS + 5 }) ||
	    !same_counts(raw, merged,
			 &(struct storage_filter){ .pids = (uint32_t[]){ 102 }, .npids = 1 }))
		return TEST_FAIL;
	return TEST_PASS;
}

static int count_stack_rows(const char *path)
{
	return (int)sql_int(path, "SELECT coalesce(sum(n), 0) FROM stack_chunks");
}

static enum test_result test_retention_prunes_and_shrinks(void)
{
	/* Stacks change every 100 s, so history older than the retention has stacks of its own.
	 * 1,280 samples a second make one-minute windows: retention deletes whole blocks. */
	struct th_gen g = { .procs = 4,
			    .threads = 2,
			    .cpus = 64,
			    .hz = 20,
			    .stacks = 30,
			    .churn_s = 100,
			    .rng = 3 };
	struct storage_policy keep = { .rollup_after_ns = -1 };
	struct storage_policy ret = { .retention_ns = 150 * T_NS, .rollup_after_ns = -1 };
	const char *path = th_path("ret.db");
	struct storage_maint_stats ms;
	struct storage_writer *w = NULL;
	struct storage_reader *r = NULL;
	struct storage *db = NULL;
	int64_t first, last, stacks_before, size_before, next_stack;
	enum test_result res = TEST_FAIL;

	if (!ASSERT_OK(write_db(path, g, T_EPOCH, 600, &keep), "write 600 s"))
		return TEST_FAIL;
	stacks_before = count_stack_rows(path);
	size_before = th_file_size(path);
	next_stack = sql_int(path, "SELECT value FROM meta WHERE key = 'next_stack'");
	db = storage__open(path, STORAGE_WRITE);
	w = db ? storage_writer__new(db) : NULL;
	if (!ASSERT_NONNULL(w, "writer") ||
	    !ASSERT_OK(storage_writer__maintain(w, &ret, T_EPOCH + 600 * T_NS, 0, &ms), "retentio"
											"n"))
		goto out;
	if (!ASSERT_GT(ms.deleted_blocks, 0, "blocks deleted") ||
	    !ASSERT_GT(ms.pruned_rows, 0, "rows pruned") || !ASSERT_TRUE(ms.idle, "all done"))
		goto out;
	r = storage_reader__new(db);
	if (!ASSERT_NONNULL(r, "reader") ||
	    !ASSERT_OK(storage_reader__span(r, &first, &last), "span") ||
	    !ASSERT_GE(first, T_EPOCH + 390 * T_NS, "nothing a window older than the retention") ||
	    !ASSERT_GE(last, T_EPOCH + 599 * T_NS, "the newest kept"))
		goto out;
	/* Only the stacks of the last two epochs are left (5 and part of 4). */
	if (!ASSERT_LE(count_stack_rows(path), stacks_before / 2, "old stacks pruned") ||
	    !ASSERT_GT(count_stack_rows(path), 0, "new stacks kept"))
		goto out;
	{
		const int64_t *frames;
		size_t n;

		/* Stack 1 belonged to the first epoch. */
		if (!ASSERT_EQ(storage_reader__stack(r, 1, &frames, &n, NULL), -ENOENT,
			       "a pruned stack is gone"))
			goto out;
	}
	/* Every sample left still resolves: its thread, its stack, each frame. */
	{
		struct storage_stack_count *c = NULL;
		size_t n = 0;
		uint64_t total;

		if (!ASSERT_OK(storage_reader__stack_counts(r, &(struct storage_filter){ 0 }, &c,
							    &n, &total),
			       "counts"))
			goto out;
		for (size_t i = 0; i < n; i++) {
			const int64_t *frames;
			size_t depth;

			if (!ASSERT_NONNULL(storage_reader__thread(r, c[i].thread), "thread") ||
			    !ASSERT_OK(storage_reader__stack(r, c[i].stack, &frames, &depth, NULL),
				       "stack") ||
			    !ASSERT_NONNULL(storage_reader__frame(r, frames[0]), "frame")) {
				free(c);
				goto out;
			}
		}
		free(c);
	}
	/* Written again, the same stacks get new ids: an id is never given twice. */
	{
		struct th_gen again = g;

		again.samples = 0;
		if (!ASSERT_OK(th_write(w, &again, T_EPOCH + 600 * T_NS, 2, NULL), "more") ||
		    !ASSERT_GE(sql_int(path, "SELECT min(id) FROM stack_chunks WHERE id > 1"), 1,
			       "chunks") ||
		    !ASSERT_GE(sql_int(path, "SELECT value FROM meta WHERE key = 'next_stack'"),
			       next_stack, "the id high-water mark never goes down"))
			goto out;
	}
	storage_reader__free(r);
	r = NULL;
	storage_writer__free(w);
	w = NULL;
	storage__close(db);
	db = NULL;
	/* The space came back: the file is smaller than before the deletions. */
	if (!ASSERT_CMP(th_file_size(path), <, size_before * 3 / 4, "the file shrank"))
		goto out;
	res = TEST_PASS;
out:
	storage_reader__free(r);
	storage_writer__free(w);
	storage__close(db);
	return res;
}

static enum test_result test_steady_size(void)
{
	/* With a retention, the file stops growing: size after 10 and after 20 minutes. */
	struct th_gen g = {
		.procs = 4, .threads = 2, .cpus = 16, .hz = 20, .stacks = 30, .churn_s = 60, .rng = 5
	};
	struct storage_policy ret = { .retention_ns = 180 * T_NS, .rollup_after_ns = -1 };
	const char *path = th_path("steady.db");
	struct storage *db = storage__open(path, STORAGE_WRITE);
	struct storage_writer *w = db ? storage_writer__new(db) : NULL;
	long long at10, at20;
	enum test_result res = TEST_FAIL;

	if (!ASSERT_NONNULL(w, "writer") || !ASSERT_OK(th_write(w, &g, T_EPOCH, 600, &ret), "first "
											    "10 "
											    "minute"
											    "s"))
		goto out;
	/* Prunes run at most hourly in the collector: force one, as an hour would. */
	if (!ASSERT_OK(storage_writer__maintain(w, &ret, T_EPOCH + 600 * T_NS + 4000 * T_NS, 0,
						NULL),
		       "prune"))
		goto out;
	at10 = th_file_size(path);
	if (!ASSERT_OK(th_write(w, &g, T_EPOCH + 600 * T_NS, 600, &ret), "next 10 minutes") ||
	    !ASSERT_OK(storage_writer__maintain(w, &ret, T_EPOCH + 1200 * T_NS + 8000 * T_NS, 0,
						NULL),
		       "prune again"))
		goto out;
	at20 = th_file_size(path);
	if (!ASSERT_LE(at20, at10 * 12 / 10, "the file does not keep growing"))
		goto out;
	res = TEST_PASS;
out:
	storage_writer__free(w);
	storage__close(db);
	return res;
}

struct walk_stats {
	uint64_t n, unknown_cpu;
	int64_t max_time;
};

static int walk_count(const struct storage_sample *s, void *ctx)
{
	struct walk_stats *ws = ctx;

	ws->n++;
	ws->unknown_cpu += s->cpu == STORAGE_CPU_UNKNOWN;
	if (s->time_ns > ws->max_time)
		ws->max_time = s->time_ns;
	return 0;
}

static enum test_result test_rollups(void)
{
	struct th_gen g = { .procs = 3, .threads = 2, .cpus = 8, .hz = 10, .stacks = 6, .rng = 11 };
	struct storage_policy keep = { .rollup_after_ns = -1 };
	struct storage_policy roll = { .rollup_after_ns = 300 * T_NS };
	const char *raw = th_path("roll-raw.db"), *path = th_path("roll.db");
	struct storage *db = NULL, *dr = NULL;
	struct storage_writer *w = NULL;
	struct storage_reader *r = NULL, *rr = NULL;
	uint64_t *h = NULL, *hr = NULL;
	size_t nh, nhr;
	struct walk_stats ws = { 0 };
	enum test_result res = TEST_FAIL;
	struct storage_filter all = { .from_ns = T_EPOCH, .to_ns = T_EPOCH + 900 * T_NS };

	if (!ASSERT_OK(write_db(raw, g, T_EPOCH, 900, &keep), "raw") ||
	    !ASSERT_OK(write_db(path, g, T_EPOCH, 900, &keep), "copy"))
		return TEST_FAIL;
	db = storage__open(path, STORAGE_WRITE);
	w = db ? storage_writer__new(db) : NULL;
	if (!ASSERT_NONNULL(w, "writer") ||
	    !ASSERT_OK(storage_writer__maintain(w, &roll, T_EPOCH + 900 * T_NS, 0, NULL), "roll "
											  "up"))
		goto out;
	storage_writer__free(w);
	w = NULL;
	if (!ASSERT_GT(sql_int(path, "SELECT count(*) FROM blocks WHERE level = 2"), 0,
		       "rollup blocks") ||
	    !ASSERT_EQ(sql_int(path, "SELECT count(*) FROM blocks WHERE level < 2 AND t_end < "
				     "1733550600000000000"),
		       0, "nothing raw older than the rollup age"))
		goto out;
	/* The same counts per (thread, stack), by process and by cgroup too. */
	if (!same_counts(raw, path, &(struct storage_filter){ 0 }) ||
	    !same_counts(raw, path,
			 &(struct storage_filter){ .pids = (uint32_t[]){ 101 }, .npids = 1 }) ||
	    !same_counts(raw, path,
			 &(struct storage_filter){ .cgroups = (uint64_t[]){ 12 },
						   .ncgroups = 1 }) ||
	    !same_counts(raw, path,
			 &(struct storage_filter){ .tids = (uint32_t[]){ 201 }, .ntids = 1 }))
		goto out;
	/* Per minute the histogram is the same. */
	dr = storage__open(raw, STORAGE_READ);
	rr = dr ? storage_reader__new(dr) : NULL;
	r = storage_reader__new(db);
	if (!ASSERT_NONNULL(rr, "raw reader") || !ASSERT_NONNULL(r, "reader") ||
	    !ASSERT_OK(storage_reader__histogram(r, &all, 60 * T_NS, &h, &nh), "histogram") ||
	    !ASSERT_OK(storage_reader__histogram(rr, &all, 60 * T_NS, &hr, &nhr), "raw histogram"))
		goto out;
	for (size_t i = 0; i < nh; i++)
		if (!ASSERT_EQ(h[i], hr[i], "minute"))
			goto out;
	/* The sample walk gives every sample, the old ones at the start of their minute (blocks
	 * are rolled up whole: 80 samples a second make 15-minute windows here). */
	if (!ASSERT_OK(storage_reader__samples(r, &(struct storage_filter){ 0 }, walk_count, &ws),
		       "walk") ||
	    !ASSERT_EQ(ws.n, 8 * 10 * 900, "every sample") ||
	    !ASSERT_GT(ws.unknown_cpu, 0, "old samples have no cpu") ||
	    !ASSERT_CMP(ws.unknown_cpu, <, ws.n, "recent ones have"))
		goto out;
	res = TEST_PASS;
out:
	free(h);
	free(hr);
	storage_reader__free(r);
	storage_reader__free(rr);
	storage_writer__free(w);
	storage__close(db);
	storage__close(dr);
	return res;
}

/* Every (thread, stack) a sample walk meets, in the order the walk meets them. */
struct pair_list {
	struct storage_stack_count *v;
	size_t n, cap;
};

static int collect_pair(const struct storage_sample *s, void *ctx)
{
	struct pair_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 1024;
		struct storage_stack_count *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct storage_stack_count){ s->thread, s->stack, 1 };
	return 0;
}

static int cmp_pair(const void *a, const void *b)
{
	const struct storage_stack_count *x = a, *y = b;

	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* The stack counts of f are the sample walk's samples counted per (thread, stack): sorted by
 * thread then stack, each pair once, counts summed across every block the pair appears in. */
static bool counts_match_samples(const char *path, const struct storage_filter *f)
{
	struct storage *db = storage__open(path, STORAGE_READ);
	struct storage_reader *r = db ? storage_reader__new(db) : NULL;
	struct storage_stack_count *c = NULL;
	struct pair_list l = { 0 };
	size_t n = 0, k = 0;
	uint64_t total = 0;
	bool ok = false;

	if (!ASSERT_NONNULL(r, "reader") ||
	    !ASSERT_OK(storage_reader__stack_counts(r, f, &c, &n, &total), "counts") ||
	    !ASSERT_OK(storage_reader__samples(r, f, collect_pair, &l), "walk") ||
	    !ASSERT_EQ(total, l.n, "total") || !ASSERT_GT(l.n, 0, "samples"))
		goto out;
	qsort(l.v, l.n, sizeof(*l.v), cmp_pair);
	for (size_t i = 0; i < l.n; i++) {
		if (i && !cmp_pair(&l.v[i], &l.v[k - 1])) {
			l.v[k - 1].count++;
			continue;
		}
		l.v[k++] = l.v[i];
	}
	ok = same_entries(c, n, l.v, k);
out:
	free(c);
	free(l.v);
	storage_reader__free(r);
	storage__close(db);
	return ok;
}

/*
 * The aggregation merges each block's counts with every other block's (blocks are counted apart,
 * on decoder threads, and merged as sorted runs): the same pairs recur in every one of a few
 * hundred blocks, flush blocks and windows and per-minute rollups mixed, under every filter.
 */
static enum test_result test_counts_match_samples(void)
{
	struct th_gen g = { .procs = 5, .threads = 4, .cpus = 8, .hz = 10, .stacks = 40, .rng = 7 };
	struct storage_policy keep = { .rollup_after_ns = -1 };
	struct storage_policy roll = { .rollup_after_ns = 300 * T_NS };
	const char *path = th_path("counts.db");
	struct storage *db = NULL;
	struct storage_writer *w = NULL;
	enum test_result res = TEST_FAIL;
	const struct storage_filter filters[] = {
		{ 0 },
		{ .from_ns = T_EPOCH + 65 * T_NS + T_NS / 2, .to_ns = T_EPOCH + 701 * T_NS },
		{ .pids = (uint32_t[]){ 101, 103 }, .npids = 2 },
		{ .tids = (uint32_t[]){ 201 }, .ntids = 1, .from_ns = T_EPOCH + 100 * T_NS },
		{ .cgroups = (uint64_t[]){ 12 }, .ncgroups = 1 },
	};

	if (!ASSERT_OK(write_db(path, g, T_EPOCH, 900, &keep), "write"))
		return TEST_FAIL;
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		if (!counts_match_samples(path, &filters[i]))
			return TEST_FAIL;
	/* Older history rolled up (the windows of T_EPOCH's first 600 s): blocks of counts, counted
	 * another way, among raw ones. */
	db = storage__open(path, STORAGE_WRITE);
	w = db ? storage_writer__new(db) : NULL;
	if (!ASSERT_NONNULL(w, "writer") ||
	    !ASSERT_OK(storage_writer__maintain(w, &roll, T_EPOCH + 900 * T_NS, 0, NULL), "roll"))
		goto out;
	storage_writer__free(w);
	w = NULL;
	storage__close(db);
	db = NULL;
	if (!ASSERT_GT(sql_int(path, "SELECT count(*) FROM blocks WHERE level = 2"), 0, "rolled") ||
	    !ASSERT_GT(sql_int(path, "SELECT count(*) FROM blocks WHERE level < 2"), 0, "raw"))
		goto out;
	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		if (!counts_match_samples(path, &filters[i]))
			goto out;
	res = TEST_PASS;
out:
	storage_writer__free(w);
	storage__close(db);
	return res;
}

static enum test_result test_size_limit(void)
{
	struct th_gen g = { .procs = 6,
			    .threads = 4,
			    .cpus = 32,
			    .hz = 20,
			    .stacks = 60,
			    .churn_s = 120,
			    .rng = 13 };
	struct storage_policy keep = { .rollup_after_ns = -1 };
	struct storage_policy lim = { .rollup_after_ns = -1 };
	const char *path = th_path("limit.db");
	struct storage *db = NULL;
	struct storage_writer *w = NULL;
	struct storage_reader *r = NULL;
	int64_t first, last;
	long long full;
	enum test_result res = TEST_FAIL;

	if (!ASSERT_OK(write_db(path, g, T_EPOCH, 900, &keep), "write"))
		return TEST_FAIL;
	full = th_file_size(path);
	lim.max_bytes = full / 3;
	db = storage__open(path, STORAGE_WRITE);
	w = db ? storage_writer__new(db) : NULL;
	if (!ASSERT_NONNULL(w, "writer") ||
	    !ASSERT_OK(storage_writer__maintain(w, &lim, T_EPOCH + 900 * T_NS, 0, NULL), "limit"))
		goto out;
	storage_writer__free(w);
	w = NULL;
	storage__close(db);
	db = NULL;
	if (!ASSERT_LE(th_file_size(path), lim.max_bytes, "under the limit"))
		goto out;
	db = storage__open(path, STORAGE_READ);
	r = db ? storage_reader__new(db) : NULL;
	if (!ASSERT_NONNULL(r, "reader") ||
	    !ASSERT_OK(storage_reader__span(r, &first, &last), "span") ||
	    !ASSERT_GE(last, T_EPOCH + 899 * T_NS, "the newest history kept") ||
	    !ASSERT_GT(first, T_EPOCH + 300 * T_NS, "the oldest went first"))
		goto out;
	res = TEST_PASS;
out:
	storage_reader__free(r);
	storage_writer__free(w);
	storage__close(db);
	return res;
}

static enum test_result test_cmdline(void)
{
	const char *path = th_path("cmdline.db");
	struct storage *db = storage__open(path, STORAGE_WRITE);
	struct storage_writer *w = db ? storage_writer__new(db) : NULL;
	struct storage_frame f = { .kind = STORAGE_FRAME_USER, .name = "main", .module = "/bin/x" };
	struct storage_reader *r = NULL;
	const struct storage_thread *t;
	int64_t th1, th2, st;
	enum test_result res = TEST_FAIL;

	if (!ASSERT_NONNULL(w, "writer"))
		goto out;
	storage_writer__process(w, 7, 70, T_EPOCH, 0, "x", "/bin/x", T_EPOCH);
	storage_writer__process(w, 8, 80, T_EPOCH, 0, "y", "/bin/y", T_EPOCH);
	if (!ASSERT_OK(storage_writer__process_cmdline(w, 7, 70, "x --password=hunter2"), "cmdlin"
											  "e") ||
	    !ASSERT_EQ(storage_writer__process_cmdline(w, 9, 90, "nope"), -ENOENT, "unknown"))
		goto out;
	th1 = storage_writer__thread(w, 7, 7, 70, "x");
	th2 = storage_writer__thread(w, 8, 8, 80, "y");
	st = storage_writer__stack(w, (int64_t[]){ storage_writer__frame(w, &f) }, 1,
				   STORAGE_STACK_COMPLETE);
	storage_writer__sample(w, &(struct storage_sample){ T_EPOCH, th1, st, 0, 0 });
	storage_writer__sample(w, &(struct storage_sample){ T_EPOCH + 1, th2, st, 0, 0 });
	if (!ASSERT_OK(storage_writer__flush(w, NULL, 0, NULL), "flush") ||
	    !ASSERT_EQ(storage_writer__process_cmdline(w, 7, 70, "late"), -ENOENT, "written"))
		goto out;
	r = storage_reader__new(db);
	t = r ? storage_reader__thread(r, th1) : NULL;
	if (!ASSERT_NONNULL(t, "thread") ||
	    !ASSERT_STREQ(t->cmdline, "x --password=hunter2", "command line") ||
	    !ASSERT_EQ(t->started_ns, T_EPOCH, "start"))
		goto out;
	t = storage_reader__thread(r, th2);
	if (!ASSERT_NONNULL(t, "thread 2") || !ASSERT_NULL(t->cmdline, "none unless asked"))
		goto out;
	res = TEST_PASS;
out:
	storage_reader__free(r);
	storage_writer__free(w);
	storage__close(db);
	return res;
}

/* Processes reported by exec events but never sampled are not written (a build starts dozens a
 * second), and are forgotten after a while; one sampled later keeps what was reported. */
static enum test_result test_unsampled_processes(void)
{
	const char *path = th_path("procs.db");
	struct storage *db = storage__open(path, STORAGE_WRITE);
	struct storage_writer *w = db ? storage_writer__new(db) : NULL;
	struct storage_frame f = { .kind = STORAGE_FRAME_USER,
				   .name = "main",
				   .module = "/bin/cc" };
	struct storage_reader *r = NULL;
	const struct storage_thread *t;
	int64_t st, th = 0;
	enum test_result res = TEST_FAIL;

	if (!ASSERT_NONNULL(w, "writer"))
		goto out;
	st = storage_writer__stack(w, (int64_t[]){ storage_writer__frame(w, &f) }, 1,
				   STORAGE_STACK_COMPLETE);
	for (uint32_t pid = 1000; pid < 3000; pid++)
		storage_writer__process(w, pid, pid * 10, T_EPOCH, 1000, "cc1", "/usr/bin/cc1",
					T_EPOCH);
	for (int i = 0; i < 700; i++) {
		/* Process 2999 gets its first sample at flush 300: it was still remembered. */
		if (i == 300) {
			th = storage_writer__thread(w, 2999, 2999, 29990, "cc1");
			storage_writer__sample(w,
					       &(struct storage_sample){ T_EPOCH, th, st, 0, 0 });
		}
		if (!ASSERT_OK(storage_writer__flush(w, NULL, 0, NULL), "flush"))
			goto out;
	}
	if (!ASSERT_EQ(sql_int(path, "SELECT coalesce(sum(n), 0) FROM process_chunks"), 1,
		       "only the sampled process written"))
		goto out;
	r = storage_reader__new(db);
	t = r ? storage_reader__thread(r, th) : NULL;
	if (!ASSERT_NONNULL(t, "thread") || !ASSERT_STREQ(t->exe, "/usr/bin/cc1", "exe kept") ||
	    !ASSERT_EQ(t->uid, 1000, "uid kept") || !ASSERT_EQ(t->started_ns, T_EPOCH, "start"))
		goto out;
	/* Forgotten after 600 flushes: a thread of one now makes a process with what it knows. */
	th = storage_writer__thread(w, 1000, 1000, 10000, "cc1");
	storage_writer__sample(w, &(struct storage_sample){ T_EPOCH + 1, th, st, 0, 0 });
	if (!ASSERT_OK(storage_writer__flush(w, NULL, 0, NULL), "flush") ||
	    !ASSERT_EQ(sql_int(path, "SELECT coalesce(sum(n), 0) FROM process_chunks"), 2,
		       "two processes"))
		goto out;
	res = TEST_PASS;
out:
	storage_reader__free(r);
	storage_writer__free(w);
	storage__close(db);
	return res;
}

int main(int argc, char **argv)
{
	static const struct test_case tests[] = {
		TEST(test_windows_and_chunks),	TEST(test_retention_prunes_and_shrinks),
		TEST(test_steady_size),		TEST(test_rollups),
		TEST(test_size_limit),		TEST(test_cmdline),
		TEST(test_unsampled_processes), TEST(test_counts_match_samples),
	};
	int r;

	if (th_setup())
		return 1;
	r = test_run_all(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	th_teardown();
	return r;
}
