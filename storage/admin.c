// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `ember db info` and `ember db check` (see admin.h). The check keeps every id of every
 * dictionary in bitmaps (a few bits per row), then walks every row and every block once.
 */
#include "storage/admin.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "storage/codec.h"
#include "storage/dict.h"
#include "storage/storage_internal.h"

const char *const storage_dict_names[STORAGE_NDICTS] = { "strings", "frames", "stacks", "processes",
							 "threads" };

_Static_assert(STORAGE_NDICTS == DICT__MAX, "one name per dictionary");

/* The sum of the counts of a rollup block. */
static int rollup_samples(const void *data, size_t len, int64_t t_start, int64_t n, uint64_t *sum)
{
	struct codec_block *b;
	const uint32_t *count;
	int err;

	if (n < 0 || n > CODEC_MAX_SAMPLES)
		return -EBADMSG;
	b = codec_block__open(data, len, t_start, (size_t)n);
	if (!b)
		return -errno;
	err = codec_block__count_col(b, &count);
	for (int64_t i = 0; !err && i < n; i++)
		*sum += count ? count[i] : 1;
	codec_block__free(b);
	return err;
}

static int count_status(enum dict_kind kind, const void *row, void *ctx)
{
	const struct dict_stack *k = row;
	struct storage_info *out = ctx;

	(void)kind;
	if (k->status > STORAGE_STACK_NO_USER)
		return -EBADMSG;
	out->stack_status[k->status]++;
	return 0;
}

int storage__info(struct storage *s, struct storage_info *out)
{
	sqlite3_stmt *st = NULL;
	int64_t v = 0, pages = 0, freel = 0;
	struct stat sb;
	char *wal;
	int rc, err;

	memset(out, 0, sizeof(*out));
	err = storage_exec(s, "BEGIN");
	if (err)
		return err;
	err = storage_query_int(s, "PRAGMA user_version", &v);
	out->schema_version = (int)v;
	if (!err)
		err = storage_prepare(s, "SELECT value FROM meta WHERE key = 'created_by'", &st);
	if (!err && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out->created_by, sizeof(out->created_by), "%s",
			 (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	st = NULL;
	if (!err)
		err = storage_query_int(s, "SELECT coalesce(min(t_start), 0) FROM blocks",
					&out->first_ns);
	if (!err)
		err = storage_query_int(s, "SELECT coalesce(max(t_end), 0) FROM blocks",
					&out->last_ns);
	if (!err)
		err = storage_prepare(s,
				      "SELECT level, t_start, nsamples, length(data),"
				      " CASE WHEN level = 2 THEN data END FROM blocks",
				      &st);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int level = sqlite3_column_int(st, 0);
		int64_t n = sqlite3_column_int64(st, 2);
		uint64_t samples = 0;

		if (level < 0 || level > 2 || n < 0) {
			err = -EBADMSG;
			break;
		}
		if (level == STORAGE_LEVEL_ROLLUP)
			err = rollup_samples(sqlite3_column_blob(st, 4),
					     (size_t)sqlite3_column_bytes(st, 4),
					     sqlite3_column_int64(st, 1), n, &samples);
		else
			samples = (uint64_t)n;
		out->blocks[level]++;
		out->block_samples[level] += samples;
		out->block_bytes[level] += (uint64_t)sqlite3_column_int64(st, 3);
		out->samples += samples;
	}
	if (!err && rc != SQLITE_DONE)
		err = storage_errno(rc);
	sqlite3_finalize(st);
	for (int k = 0; !err && k < DICT__MAX; k++) {
		char sql[160];

		snprintf(sql, sizeof(sql),
			 "SELECT count(*), coalesce(sum(n), 0), coalesce(sum(length(data)), 0)"
			 " FROM %s",
			 dict_table[k]);
		err = storage_prepare(s, sql, &st);
		if (!err && sqlite3_step(st) == SQLITE_ROW) {
			out->chunks[k] = (uint64_t)sqlite3_column_int64(st, 0);
			out->rows[k] = (uint64_t)sqlite3_column_int64(st, 1);
			out->chunk_bytes[k] = (uint64_t)sqlite3_column_int64(st, 2);
		}
		sqlite3_finalize(st);
	}
	if (!err)
		err = dict_load_all(s, DICT_STACK, count_status, out);
	if (!err)
		err = storage_query_int(s, "SELECT count(*) FROM recordings", &v);
	out->recordings = (uint64_t)v;
	if (!err)
		err = storage_query_int(s, "PRAGMA page_size", &out->page_size);
	if (!err)
		err = storage_query_int(s, "PRAGMA page_count", &pages);
	if (!err)
		err = storage_query_int(s, "PRAGMA freelist_count", &freel);
	sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (err)
		return err;
	out->file_bytes = pages * out->page_size;
	out->free_bytes = freel * out->page_size;
	if (!stat(s->path, &sb))
		out->file_bytes = sb.st_size;
	if (asprintf(&wal, "%s-wal", s->path) >= 0) {
		if (!stat(wal, &sb))
			out->wal_bytes = sb.st_size;
		free(wal);
	}
	return 0;
}

/* ---- Check. ---- */

struct checker {
	struct storage *s;
	storage_problem_fn fn;
	void *ctx;
	uint64_t problems;
	struct idset ids[DICT__MAX];
	int64_t max_id[DICT__MAX];
	int phase; /* 0: collect ids; 1: check references */
};

__attribute__((format(printf, 2, 3))) static void problem(struct checker *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	c->problems++;
	/* A thousand problems say enough; count the rest. */
	if (c->problems > 1000)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->fn(buf, c->ctx);
}

static void ref(struct checker *c, enum dict_kind kind, int64_t id, enum dict_kind from,
		int64_t from_id)
{
	if (!idset_has(&c->ids[kind], id))
		problem(c, "%s %lld refers to %s %lld, which does not exist", dict_noun[from],
			(long long)from_id, dict_noun[kind], (long long)id);
}

static int check_row(enum dict_kind kind, const void *row, void *ctx)
{
	struct checker *c = ctx;
	int64_t id = dict_row_id(kind, row);

	if (c->phase == 0) {
		if (idset_has(&c->ids[kind], id))
			problem(c, "%s %lld appears twice", dict_noun[kind], (long long)id);
		if (id > c->max_id[kind])
			c->max_id[kind] = id;
		return idset_add(&c->ids[kind], id);
	}
	switch (kind) {
	case DICT_FRAME: {
		const struct dict_frame *f = row;
		int64_t strs[4] = { f->name, f->module, f->file, f->build_id };

		for (int i = 0; i < 4; i++)
			if (strs[i])
				ref(c, DICT_STRING, strs[i], kind, id);
		if (f->kind > 2)
			problem(c, "frame %lld has kind %d", (long long)id, f->kind);
		break;
	}
	case DICT_STACK: {
		const struct dict_stack *k = row;

		for (uint32_t i = 0; i < k->depth; i++)
			ref(c, DICT_FRAME, k->frames[i], kind, id);
		if (k->status > STORAGE_STACK_NO_USER)
			problem(c, "stack %lld has status %d", (long long)id, k->status);
		break;
	}
	case DICT_PROCESS: {
		const struct dict_process *p = row;

		if (p->comm)
			ref(c, DICT_STRING, p->comm, kind, id);
		if (p->exe)
			ref(c, DICT_STRING, p->exe, kind, id);
		if (p->cmdline)
			ref(c, DICT_STRING, p->cmdline, kind, id);
		break;
	}
	case DICT_THREAD: {
		const struct dict_thread *t = row;

		ref(c, DICT_PROCESS, t->process, kind, id);
		if (t->comm)
			ref(c, DICT_STRING, t->comm, kind, id);
		break;
	}
	default:
		break;
	}
	return 0;
}

/* Walks every chunk of every dictionary, one chunk at a time so a bad one does not hide the
 * others. */
static int check_chunks(struct checker *c)
{
	for (int k = 0; k < DICT__MAX; k++) {
		int64_t prev_last = 0;
		sqlite3_stmt *st;
		char sql[128];
		int rc, err;

		snprintf(sql, sizeof(sql), "SELECT id, last, n, data FROM %s ORDER BY id",
			 dict_table[k]);
		err = storage_prepare(c->s, sql, &st);
		if (err)
			return err;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			int64_t first = sqlite3_column_int64(st, 0),
				last = sqlite3_column_int64(st, 1);
			int64_t n = sqlite3_column_int64(st, 2);

			if (c->phase == 0 && first <= prev_last)
				problem(c, "%s chunk %lld overlaps the chunk before it",
					dict_table[k], (long long)first);
			prev_last = last;
			if (n < 0 || n > DICT_MAX_ROWS || last < first) {
				if (c->phase == 0)
					problem(c, "%s chunk %lld: bad bounds", dict_table[k],
						(long long)first);
				continue;
			}
			err = dict_decode(k, sqlite3_column_blob(st, 3),
					  (size_t)sqlite3_column_bytes(st, 3), first, last,
					  (size_t)n, check_row, c);
			if (err == -ENOMEM)
				break;
			if (err && c->phase == 0)
				problem(c, "%s chunk %lld does not decode: %s", dict_table[k],
					(long long)first, storage_strerror(err));
			err = 0;
		}
		sqlite3_finalize(st);
		if (err)
			return err;
		if (rc != SQLITE_DONE) {
			problem(c, "reading %s: %s", dict_table[k], sqlite3_errstr(rc));
			if ((rc & 0xff) == SQLITE_NOMEM)
				return -ENOMEM;
		}
	}
	return 0;
}

static int check_blocks(struct checker *c)
{
	sqlite3_stmt *st;
	int rc, err;

	err = storage_prepare(c->s,
			      "SELECT id, t_start, t_end, nsamples, level, data FROM blocks"
			      " ORDER BY id",
			      &st);
	if (err)
		return err;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0), t0 = sqlite3_column_int64(st, 1);
		int64_t t1 = sqlite3_column_int64(st, 2), n = sqlite3_column_int64(st, 3);
		int level = sqlite3_column_int(st, 4);
		const uint32_t *tidx, *sidx, *cidx, *count;
		const int64_t *time, *ids;
		struct codec_block *b;
		size_t k;

		if (level < 0 || level > 2 || n <= 0 || n > CODEC_MAX_SAMPLES || t1 < t0) {
			problem(c, "block %lld: level %d, %lld samples, times %lld..%lld",
				(long long)id, level, (long long)n, (long long)t0, (long long)t1);
			continue;
		}
		b = codec_block__open(sqlite3_column_blob(st, 5),
				      (size_t)sqlite3_column_bytes(st, 5), t0, (size_t)n);
		err = b ? 0 : -errno;
		if (!err)
			err = codec_block__thread_col(b, &tidx);
		if (!err)
			err = codec_block__stack_col(b, &sidx);
		if (!err)
			err = codec_block__cgroup_col(b, &cidx);
		if (!err)
			err = codec_block__time_col(b, &time);
		if (!err)
			err = codec_block__count_col(b, &count);
		if (err == -ENOMEM) {
			codec_block__free(b);
			sqlite3_finalize(st);
			return err;
		}
		if (err) {
			problem(c, "block %lld does not decode: %s", (long long)id,
				storage_strerror(err));
			codec_block__free(b);
			continue;
		}
		if ((level == STORAGE_LEVEL_ROLLUP) != (count != NULL))
			problem(c, "block %lld: level %d %s counts", (long long)id, level,
				count ? "with" : "without");
		for (int64_t i = 0; i < n; i++)
			if (time[i] < t0 || time[i] > t1) {
				problem(c, "block %lld: a sample at %lld outside %lld..%lld",
					(long long)id, (long long)time[i], (long long)t0,
					(long long)t1);
				break;
			}
		ids = codec_block__threads(b, &k);
		for (size_t i = 0; i < k; i++)
			if (!idset_has(&c->ids[DICT_THREAD], ids[i]))
				problem(c, "block %lld refers to thread %lld, which does not exist",
					(long long)id, (long long)ids[i]);
		ids = codec_block__stacks(b, &k);
		for (size_t i = 0; i < k; i++)
			if (!idset_has(&c->ids[DICT_STACK], ids[i]))
				problem(c, "block %lld refers to stack %lld, which does not exist",
					(long long)id, (long long)ids[i]);
		codec_block__free(b);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		problem(c, "reading blocks: %s", sqlite3_errstr(rc));
	return 0;
}

int storage__check(struct storage *s, storage_problem_fn fn, void *ctx, uint64_t *problems)
{
	static const char *const next_key[DICT__MAX] = { "next_string", "next_frame", "next_stack",
							 "next_process", "next_thread" };
	struct checker c = { .s = s, .fn = fn, .ctx = ctx };
	sqlite3_stmt *st = NULL;
	int64_t v = 0;
	int rc, err;

	/* One snapshot for the whole check: a collector may go on writing. */
	err = storage_exec(s, "BEGIN");
	if (err)
		return err;
	err = storage_prepare(s, "PRAGMA integrity_check(100)", &st);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *msg = (const char *)sqlite3_column_text(st, 0);

		if (msg && strcmp(msg, "ok"))
			problem(&c, "SQLite: %s", msg);
	}
	if (!err && rc != SQLITE_DONE)
		problem(&c, "SQLite's integrity check did not finish: %s", sqlite3_errstr(rc));
	sqlite3_finalize(st);
	if (!err && !storage_query_int(s, "PRAGMA application_id", &v) &&
	    v != STORAGE_APPLICATION_ID)
		problem(&c, "application_id is %lld, not ember's", (long long)v);
	if (!err && !storage_query_int(s, "PRAGMA user_version", &v) && v != STORAGE_SCHEMA_VERSION)
		problem(&c, "schema version %lld, expected %d", (long long)v,
			STORAGE_SCHEMA_VERSION);
	if (!err)
		err = check_chunks(&c);
	c.phase = 1;
	if (!err)
		err = check_chunks(&c);
	for (int k = 0; !err && k < DICT__MAX; k++) {
		int64_t next = 0;

		if (!storage_meta_get(s, next_key[k], &next) && next && next <= c.max_id[k])
			problem(&c, "the next %s id (%lld) is not above the largest (%lld)",
				dict_noun[k], (long long)next, (long long)c.max_id[k]);
	}
	if (!err)
		err = check_blocks(&c);
	if (!err)
		err = storage_prepare(s, "SELECT id, delivered, stored FROM recordings", &st);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
		if (sqlite3_column_int64(st, 2) > sqlite3_column_int64(st, 1) &&
		    sqlite3_column_int64(st, 1) > 0)
			problem(&c, "recording %lld stored %lld samples of %lld delivered",
				(long long)sqlite3_column_int64(st, 0),
				(long long)sqlite3_column_int64(st, 2),
				(long long)sqlite3_column_int64(st, 1));
	if (!err)
		sqlite3_finalize(st);
	sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	for (int k = 0; k < DICT__MAX; k++)
		idset_free(&c.ids[k]);
	if (err)
		return err;
	*problems = c.problems;
	return 0;
}
