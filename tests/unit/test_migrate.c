// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Schema migrations: a database written by schema 1 (tests/data/schema_v1.sql, made by the
 * writer of that time) and the same upgraded to schema 2 (tests/data/schema_v2.sql) open for
 * writing, become the current schema, and read back with every sample, stack, frame, thread and
 * process they held; a reader alone does not upgrade them but says they need to be. Upgraded,
 * they take new samples and the collector's own cost.
 */
#include <sqlite3.h>

#include "tests/harness.h"
#include "tests/storage_helpers.h"

#ifndef EMBER_TEST_DATA
#error "EMBER_TEST_DATA must name tests/data"
#endif

/* Builds a database from an SQL text file. 0 or -1. */
static int load_sql(const char *sql_path, const char *db_path)
{
	FILE *f = fopen(sql_path, "r");
	char *sql = NULL, *msg = NULL;
	size_t len = 0;
	sqlite3 *db = NULL;
	int rc = -1;

	if (!f)
		return -1;
	if (getdelim(&sql, &len, '\0', f) < 0)
		goto out;
	if (sqlite3_open(db_path, &db) != SQLITE_OK)
		goto out;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", sql_path, msg);
		goto out;
	}
	rc = 0;
out:
	sqlite3_free(msg);
	sqlite3_close(db);
	free(sql);
	fclose(f);
	return rc;
}

static int64_t pragma(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return v;
}

/* The stack of `id` as "name;name;..." leaf first, with status. */
static const char *stack_names(struct storage_reader *r, int64_t id,
			       enum storage_stack_status *status)
{
	static char buf[512];
	const int64_t *frames;
	size_t n, len = 0;

	buf[0] = '\0';
	if (storage_reader__stack(r, id, &frames, &n, status))
		return "[no stack]";
	for (size_t i = 0; i < n; i++) {
		const struct storage_frame *f = storage_reader__frame(r, frames[i]);

		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? ";" : "",
					f && f->name ? f->name : "?");
	}
	return buf;
}

/* A fixture of schema `version`: loaded, refused by a reader, upgraded by a writer, and read
 * back whole. */
static enum test_result check_fixture(const char *sql, int version, const char *path)
{
	struct storage *db = NULL;
	struct storage_reader *r = NULL;
	struct storage_stack_count *c = NULL;
	size_t n = 0;
	uint64_t total = 0, a = 0, b = 0, cc = 0, d = 0;
	int64_t first, last;
	enum test_result res = TEST_FAIL;

	if (!ASSERT_OK(load_sql(sql, path), "load the fixture") ||
	    !ASSERT_EQ(pragma(path, "PRAGMA user_version"), version, "the fixture's schema"))
		return TEST_FAIL;
	/* A reader does not upgrade it. */
	db = storage__open(path, STORAGE_READ);
	if (!ASSERT_NULL(db, "reader refuses") || !ASSERT_EQ(errno, EPROTO, "EPROTO"))
		goto out;
	db = storage__open(path, STORAGE_WRITE);
	if (!ASSERT_NONNULL(db, "writer migrates"))
		goto out;
	storage__close(db);
	if (!ASSERT_EQ(pragma(path, "PRAGMA user_version"), STORAGE_SCHEMA_VERSION, "current") ||
	    !ASSERT_EQ(pragma(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'stacks'"), 0,
		       "old tables gone") ||
	    !ASSERT_EQ(pragma(path, "SELECT count(*) FROM collector_self"), 0,
		       "schema 3's table, empty") ||
	    !ASSERT_GT(pragma(path, "SELECT count(*) FROM stack_chunks"), 0, "stack chunks") ||
	    !ASSERT_EQ(pragma(path, "SELECT count(*) FROM stack_chunks WHERE"
				    " substr(data, 1, 1) = x'01'"),
		       0, "schema 4: stack chunks in segments") ||
	    !ASSERT_EQ(pragma(path, "SELECT count(*) FROM pragma_integrity_check WHERE"
				    " integrity_check = 'ok'"),
		       1, "integrity") ||
	    !ASSERT_EQ(pragma(path, "SELECT value FROM meta WHERE key = 'migrated_from_1'"), 1,
		       "noted"))
		goto out;

	db = storage__open(path, STORAGE_READ);
	r = db ? storage_reader__new(db) : NULL;
	if (!ASSERT_NONNULL(r, "reader") ||
	    !ASSERT_OK(storage_reader__stack_counts(r, &(struct storage_filter){ 0 }, &c, &n,
						    &total),
		       "counts") ||
	    !ASSERT_EQ(total, 600, "every sample"))
		goto out;
	for (size_t i = 0; i < n; i++) {
		enum storage_stack_status status;
		const char *names = stack_names(r, c[i].stack, &status);
		const struct storage_thread *t = storage_reader__thread(r, c[i].thread);

		if (!ASSERT_NONNULL(t, "thread"))
			goto out;
		if (!strcmp(names, "inlined_helper;work;main")) {
			a += c[i].count;
			if (!ASSERT_EQ(status, STORAGE_STACK_COMPLETE, "A complete") ||
			    !ASSERT_EQ(t->pid, 10, "A in pid 10") ||
			    !ASSERT_STREQ(t->exe, "/usr/bin/app", "exe") ||
			    !ASSERT_EQ(t->uid, 1000, "uid") ||
			    !ASSERT_EQ(t->proc_start, 5000, "process start"))
				goto out;
		} else if (!strcmp(names, "do_syscall_64;?;work;main")) {
			b += c[i].count;
			if (!ASSERT_EQ(status, STORAGE_STACK_TRUNCATED, "B truncated"))
				goto out;
		} else if (!strcmp(names, "default_idle")) {
			cc += c[i].count;
			if (!ASSERT_EQ(t->pid, 0, "idle") ||
			    !ASSERT_STREQ(t->comm, "swapper/1", "comm"))
				goto out;
		} else if (!strcmp(names, "LFoo;::bar")) {
			d += c[i].count;
			if (!ASSERT_STREQ(t->comm, "C2 Compiler", "comm") ||
			    !ASSERT_EQ(t->tid, 31, "tid") || !ASSERT_NULL(t->exe, "no exe"))
				goto out;
		} else {
			fprintf(stderr, "unexpected stack %s\n", names);
			goto out;
		}
	}
	if (!ASSERT_EQ(a, 150, "A") || !ASSERT_EQ(b, 150, "B") || !ASSERT_EQ(cc, 240, "C") ||
	    !ASSERT_EQ(d, 60, "D"))
		goto out;
	/* Frame details survive: inline flag, file, line, build-id, offsets, kinds. */
	{
		const int64_t *frames;
		const struct storage_frame *f;
		size_t depth;

		for (size_t i = 0; i < n; i++) {
			enum storage_stack_status status;

			if (strcmp(stack_names(r, c[i].stack, &status), "do_syscall_64;?;work;"
									"main"))
				continue;
			storage_reader__stack(r, c[i].stack, &frames, &depth, NULL);
			f = storage_reader__frame(r, frames[0]);
			if (!ASSERT_EQ(f->kind, STORAGE_FRAME_KERNEL, "kernel frame"))
				goto out;
			f = storage_reader__frame(r, frames[1]);
			if (!ASSERT_NULL(f->name, "unnamed") ||
			    !ASSERT_EQ(f->offset, 0x1234, "offset") ||
			    !ASSERT_STREQ(f->module, "/usr/lib/libx.so", "module"))
				goto out;
			f = storage_reader__frame(r, frames[2]);
			if (!ASSERT_STREQ(f->file, "app.c", "file") ||
			    !ASSERT_EQ(f->line, 42, "line") ||
			    !ASSERT_STREQ(f->build_id, "abcdef0123", "build-id"))
				goto out;
			break;
		}
	}
	/* Times are kept to the millisecond; the span covers every sample. */
	if (!ASSERT_OK(storage_reader__span(r, &first, &last), "span") ||
	    !ASSERT_EQ(first, T_EPOCH, "first") ||
	    !ASSERT_EQ(last, T_EPOCH + 20 * T_NS + 99 * 100000000ll, "last") ||
	    !ASSERT_EQ(th_count(r, &(struct storage_filter){ .from_ns = first, .to_ns = last + 1 }),
		       600, "all within the span"))
		goto out;
	{
		struct storage_recording *rec = NULL;
		size_t nrec = 0;

		if (!ASSERT_OK(storage_reader__recordings(r, 0, 0, &rec, &nrec), "recordings") ||
		    !ASSERT_EQ(nrec, 1, "one") || !ASSERT_EQ(rec[0].stored, 600, "stored") ||
		    !ASSERT_STREQ(rec[0].hostname, "fixture", "hostname")) {
			free(rec);
			goto out;
		}
		free(rec);
	}
	res = TEST_PASS;
out:
	free(c);
	storage_reader__free(r);
	storage__close(db);
	return res;
}

static enum test_result test_v1_fixture(void)
{
	return check_fixture(EMBER_TEST_DATA "/schema_v1.sql", 1, th_path("v1.db"));
}

/* Schema 2 (the v1 fixture as the schema 2 code upgraded it) to the current one. */
static enum test_result test_v2_fixture(void)
{
	return check_fixture(EMBER_TEST_DATA "/schema_v2.sql", 2, th_path("v2.db"));
}

/* A migrated database takes new data, and maintenance merges the migrated blocks. */
static enum test_result test_v1_then_write(void)
{
	const char *path = th_path("v1w.db");
	struct th_gen g = { .procs = 2, .threads = 2, .cpus = 4, .hz = 10, .stacks = 5, .rng = 1 };
	struct storage *db = NULL;
	struct storage_writer *w = NULL;
	struct storage_reader *r = NULL;
	enum test_result res = TEST_FAIL;

	if (!ASSERT_OK(load_sql(EMBER_TEST_DATA "/schema_v1.sql", path), "load the fixture"))
		return TEST_FAIL;
	db = storage__open(path, STORAGE_WRITE);
	w = db ? storage_writer__new(db) : NULL;
	if (!ASSERT_NONNULL(w, "writer") ||
	    !ASSERT_OK(th_write(w, &g, T_EPOCH + 100 * T_NS, 30, NULL), "write") ||
	    !ASSERT_OK(storage_writer__maintain(w, NULL, T_EPOCH + 4 * 3600 * T_NS, 0, NULL), "main"
											      "tai"
											      "n"))
		goto out;
	r = storage_reader__new(db);
	if (!ASSERT_NONNULL(r, "reader") ||
	    !ASSERT_EQ(th_count(r, &(struct storage_filter){ 0 }), 600 + 4 * 10 * 30, "all") ||
	    !ASSERT_EQ(pragma(path, "SELECT count(*) FROM blocks WHERE level = 0"), 0,
		       "flushes merged"))
		goto out;
	res = TEST_PASS;
out:
	storage_reader__free(r);
	storage_writer__free(w);
	storage__close(db);
	return res;
}

/* A database upgraded from schema 2 takes the collector's own cost with its next recording. */
static enum test_result test_v2_then_self(void)
{
	const char *path = th_path("v2s.db");
	struct storage_recording rec = {
		.started_ns = T_EPOCH + 100 * T_NS, .hz = 99, .ncpus = 2, .event = "cpu-clock"
	};
	struct storage_self self = { .time_ns = T_EPOCH + 160 * T_NS,
				     .span_ns = 60 * T_NS,
				     .cpu_pct = 1.5,
				     .rss_kib = 1024,
				     .samples_per_s = 198,
				     .hz = 99 },
			    got;
	struct storage *db = NULL;
	struct storage_writer *w = NULL;
	struct storage_reader *r = NULL;
	enum test_result res = TEST_FAIL;

	if (!ASSERT_OK(load_sql(EMBER_TEST_DATA "/schema_v2.sql", path), "load the fixture"))
		return TEST_FAIL;
	db = storage__open(path, STORAGE_WRITE);
	w = db ? storage_writer__new(db) : NULL;
	if (!ASSERT_NONNULL(w, "writer") || !ASSERT_OK(storage_writer__self(w, &self), "self") ||
	    !ASSERT_OK(storage_writer__flush(w, &rec, 0, NULL), "flush"))
		goto out;
	r = storage_reader__new(db);
	if (!ASSERT_NONNULL(r, "reader") ||
	    !ASSERT_OK(storage_reader__self_latest(r, &got), "latest") ||
	    !ASSERT_EQ(got.recording, 2, "the new recording, after the fixture's") ||
	    !ASSERT_EQ(got.time_ns, self.time_ns, "time"))
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
	static const struct test_case tests[] = { TEST(test_v1_fixture), TEST(test_v2_fixture),
						  TEST(test_v1_then_write),
						  TEST(test_v2_then_self) };
	int r;

	if (th_setup())
		return 1;
	r = test_run_all(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	th_teardown();
	return r;
}
