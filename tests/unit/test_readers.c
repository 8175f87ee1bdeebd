// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Readers beside the writer (two connections, as `ember top` beside `ember record`): a query
 * sees one snapshot even when the writer flushes, merges and prunes during it; the ids a query
 * returned still resolve after the writer pruned them; a reader between queries holds nothing,
 * so the WAL stays within its limit however long the reader lives; after a reader that held a
 * long read lets go, the WAL comes back within its limit.
 */
#include "tests/harness.h"
#include "tests/storage_helpers.h"

/* The WAL is truncated to 4 MiB after checkpoints (storage.c); a transaction may add a little. */
#define WAL_BOUND (8ll << 20)

struct during {
	struct storage_writer *w;
	struct th_gen *g;
	int64_t t0;
	int secs;
	uint64_t seen;
	int err;
	bool done;
};

/* On the first sample of the walk, the writer writes and maintains `secs` more seconds. */
static int write_during(const struct storage_sample *s, void *ctx)
{
	struct during *d = ctx;

	(void)s;
	if (!d->done) {
		struct storage_policy keep = { .rollup_after_ns = -1 };

		d->done = true;
		d->err = th_write(d->w, d->g, d->t0, d->secs, &keep);
	}
	d->seen++;
	return 0;
}

static enum test_result test_snapshot(void)
{
	struct th_gen g = { .procs = 3, .threads = 2, .cpus = 64, .hz = 20, .stacks = 10, .rng = 2 };
	struct storage_policy keep = { .rollup_after_ns = -1 };
	const char *path = th_path("snap.db");
	struct storage *wdb = storage__open(path, STORAGE_WRITE), *rdb = NULL;
	struct storage_writer *w = wdb ? storage_writer__new(wdb) : NULL;
	struct storage_reader *r = NULL;
	struct during d = { 0 };
	int64_t before;
	enum test_result res = TEST_FAIL;

	if (!ASSERT_NONNULL(w, "writer") || !ASSERT_OK(th_write(w, &g, T_EPOCH, 90, &keep), "writ"
											    "e"))
		goto out;
	rdb = storage__open(path, STORAGE_READ);
	r = rdb ? storage_reader__new(rdb) : NULL;
	if (!ASSERT_NONNULL(r, "reader"))
		goto out;
	before = th_count(r, &(struct storage_filter){ 0 });
	/* The writer adds 90 s (and merges two windows) in the middle of the walk. */
	d = (struct during){ .w = w, .g = &g, .t0 = T_EPOCH + 90 * T_NS, .secs = 90 };
	if (!ASSERT_OK(storage_reader__samples(r, &(struct storage_filter){ 0 }, write_during, &d),
		       "walk") ||
	    !ASSERT_OK(d.err, "writing during the walk") ||
	    !ASSERT_EQ(d.seen, before, "the walk saw its snapshot, not the writes"))
		goto out;
	if (!ASSERT_EQ(th_count(r, &(struct storage_filter){ 0 }), 2 * before,
		       "the next query sees them"))
		goto out;
	res = TEST_PASS;
out:
	storage_reader__free(r);
	storage__close(rdb);
	storage_writer__free(w);
	storage__close(wdb);
	return res;
}

static enum test_result test_ids_outlive_pruning(void)
{
	struct th_gen g = {
		.procs = 3, .threads = 2, .cpus = 64, .hz = 20, .stacks = 10, .churn_s = 30, .rng = 4
	};
	struct storage_policy keep = { .rollup_after_ns = -1 };
	struct storage_policy none = { .retention_ns = 1, .rollup_after_ns = -1 };
	const char *path = th_path("prune.db");
	struct storage *wdb = storage__open(path, STORAGE_WRITE), *rdb = NULL;
	struct storage_writer *w = wdb ? storage_writer__new(wdb) : NULL;
	struct storage_reader *r = NULL;
	struct storage_stack_count *c = NULL;
	struct storage_maint_stats ms;
	uint64_t total;
	size_t n = 0;
	enum test_result res = TEST_FAIL;

	if (!ASSERT_NONNULL(w, "writer") || !ASSERT_OK(th_write(w, &g, T_EPOCH, 120, &keep), "writ"
											     "e"))
		goto out;
	rdb = storage__open(path, STORAGE_READ);
	r = rdb ? storage_reader__new(rdb) : NULL;
	if (!ASSERT_NONNULL(r, "reader") ||
	    !ASSERT_OK(storage_reader__stack_counts(r, &(struct storage_filter){ 0 }, &c, &n,
						    &total),
		       "counts"))
		goto out;
	/* Now the writer deletes everything and prunes every row. */
	if (!ASSERT_OK(storage_writer__maintain(w, &none, T_EPOCH + 9000 * T_NS, 0, &ms), "delete "
											  "all") ||
	    !ASSERT_GT(ms.pruned_rows, 0, "rows pruned") ||
	    !ASSERT_EQ(th_count(r, &(struct storage_filter){ 0 }), 0, "nothing left"))
		goto out;
	for (size_t i = 0; i < n; i++) {
		const int64_t *frames;
		size_t depth;

		if (!ASSERT_NONNULL(storage_reader__thread(r, c[i].thread), "thread still known") ||
		    !ASSERT_OK(storage_reader__stack(r, c[i].stack, &frames, &depth, NULL), "stack "
											    "still "
											    "know"
											    "n"))
			goto out;
	}
	res = TEST_PASS;
out:
	free(c);
	storage_reader__free(r);
	storage__close(rdb);
	storage_writer__free(w);
	storage__close(wdb);
	return res;
}

struct holder {
	struct storage_writer *w;
	struct th_gen *g;
	int64_t t0;
	const char *wal;
	long long max_wal;
	int err;
	bool done;
};

static int hold_read(const struct storage_sample *s, void *ctx)
{
	struct holder *h = ctx;
	struct storage_policy keep = { .rollup_after_ns = -1 };

	(void)s;
	if (h->done)
		return 0;
	h->done = true;
	/* While this walk holds its snapshot, the writer goes on for five minutes. */
	h->err = th_write(h->w, h->g, h->t0, 300, &keep);
	h->max_wal = th_file_size(h->wal);
	return 1; /* and the walk ends */
}

static enum test_result test_wal_bounded(void)
{
	struct th_gen g = {
		.procs = 6, .threads = 4, .cpus = 64, .hz = 20, .stacks = 200, .rng = 6
	};
	struct storage_policy keep = { .rollup_after_ns = -1 };
	const char *path = th_path("wal.db"), *wal = th_path("wal.db-wal");
	struct storage *wdb = storage__open(path, STORAGE_WRITE), *rdb = NULL;
	struct storage_writer *w = wdb ? storage_writer__new(wdb) : NULL;
	struct storage_reader *r = NULL;
	struct holder h = { 0 };
	long long max_wal = 0;
	enum test_result res = TEST_FAIL;

	rdb = storage__open(path, STORAGE_READ);
	r = rdb ? storage_reader__new(rdb) : NULL;
	if (!ASSERT_NONNULL(w, "writer") || !ASSERT_NONNULL(r, "reader"))
		goto out;
	/* A reader that lives long and queries now and then: 10 minutes of writes. */
	for (int m = 0; m < 10; m++) {
		if (!ASSERT_OK(th_write(w, &g, T_EPOCH + m * 60 * T_NS, 60, &keep), "write") ||
		    !ASSERT_GT(th_count(r, &(struct storage_filter){ 0 }), 0, "query"))
			goto out;
		if (th_file_size(wal) > max_wal)
			max_wal = th_file_size(wal);
	}
	if (!ASSERT_LE(max_wal, WAL_BOUND, "the WAL stays bounded beside a live reader"))
		goto out;
	/* A reader that holds one read while the writer writes 5 minutes: the WAL grows while it
	 * holds, then comes back within bounds. */
	h = (struct holder){ .w = w, .g = &g, .t0 = T_EPOCH + 600 * T_NS, .wal = wal };
	if (!ASSERT_EQ(storage_reader__samples(r, &(struct storage_filter){ 0 }, hold_read, &h), 1,
		       "walk") ||
	    !ASSERT_OK(h.err, "writes during the read"))
		goto out;
	fprintf(stderr, "WAL during a held read: %lld bytes\n", h.max_wal);
	if (!ASSERT_OK(th_write(w, &g, T_EPOCH + 900 * T_NS, 120, &keep), "write after"))
		goto out;
	if (!ASSERT_LE(th_file_size(wal), WAL_BOUND, "the WAL back within bounds"))
		goto out;
	res = TEST_PASS;
out:
	storage_reader__free(r);
	storage__close(rdb);
	storage_writer__free(w);
	storage__close(wdb);
	return res;
}

int main(int argc, char **argv)
{
	static const struct test_case tests[] = { TEST(test_snapshot),
						  TEST(test_ids_outlive_pruning),
						  TEST(test_wal_bounded) };
	int r;

	if (th_setup())
		return 1;
	r = test_run_all(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	th_teardown();
	return r;
}
