// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Schema migrations. Every released schema version N has a step N -> N+1 here, run in its own
 * transaction that ends by setting user_version = N+1, so a database of any earlier version opens
 * by running the steps in turn, and a failure leaves it at the last complete version. A step is
 * frozen once written: it creates the tables of version N+1 as they were then, even if later
 * versions change them again (the next step does that).
 *
 * 1 -> 2: rows (strings, frames, stacks, threads, processes) move into compressed dictionary
 * chunks; processes get ids and threads refer to them; comm and exe become string ids; sample
 * blocks are re-encoded in the block codec's version 2 and get a level.
 *
 * 2 -> 3: the table of the collector's own cost per minute (collector_self), empty.
 *
 * 3 -> 4: stack chunks are re-encoded in segments that decode one without the others (dict.c's
 * stack version 2), so that a reader needing a few stacks of a chunk does not decode it all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "storage/codec.h"
#include "storage/dict.h"
#include "storage/storage_internal.h"

/* Schema 2's tables, frozen. */
static const char schema_v2[] =
    "CREATE TABLE string_chunks(id INTEGER PRIMARY KEY, last INTEGER NOT NULL,"
    " n INTEGER NOT NULL, tier INTEGER NOT NULL, data BLOB NOT NULL);"
    "CREATE TABLE frame_chunks(id INTEGER PRIMARY KEY, last INTEGER NOT NULL,"
    " n INTEGER NOT NULL, tier INTEGER NOT NULL, data BLOB NOT NULL);"
    "CREATE TABLE stack_chunks(id INTEGER PRIMARY KEY, last INTEGER NOT NULL,"
    " n INTEGER NOT NULL, tier INTEGER NOT NULL, data BLOB NOT NULL);"
    "CREATE TABLE process_chunks(id INTEGER PRIMARY KEY, last INTEGER NOT NULL,"
    " n INTEGER NOT NULL, tier INTEGER NOT NULL, data BLOB NOT NULL);"
    "CREATE TABLE thread_chunks(id INTEGER PRIMARY KEY, last INTEGER NOT NULL,"
    " n INTEGER NOT NULL, tier INTEGER NOT NULL, data BLOB NOT NULL);"
    "CREATE TABLE blocks2(id INTEGER PRIMARY KEY, t_start INTEGER NOT NULL,"
    " t_end INTEGER NOT NULL, nsamples INTEGER NOT NULL, level INTEGER NOT NULL,"
    " window INTEGER NOT NULL DEFAULT 0, data BLOB NOT NULL);";

/* Rows of one kind gathered before they are written as one chunk. */
struct rows {
	void *v;
	size_t n, cap, size;
};

static void *rows_add(struct rows *r)
{
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 256;
		void *nv = realloc(r->v, ncap * r->size);

		if (!nv)
			return NULL;
		r->v = nv;
		r->cap = ncap;
	}
	memset((char *)r->v + r->n * r->size, 0, r->size);
	return (char *)r->v + r->n++ * r->size;
}

/* Strings added by the migration (comm and exe of processes and threads). */
struct mstring {
	int64_t id;
	UT_hash_handle hh;
	char str[];
};

struct mproc {
	struct {
		int64_t pid, proc_start;
	} key;
	int64_t id;
	UT_hash_handle hh;
};

struct mctx {
	struct storage *s;
	struct mstring *strings;
	struct mproc *procs;
	struct rows new_strings; /* struct dict_string, pointing into `strings` */
	int64_t next_string, next_proc;
	struct rows procrows; /* struct dict_process */
};

static int64_t intern(struct mctx *m, const char *str)
{
	struct mstring *e;
	struct dict_string *row;
	size_t len;

	if (!str)
		return 0;
	HASH_FIND_STR(m->strings, str, e);
	if (e)
		return e->id;
	len = strlen(str);
	e = malloc(sizeof(*e) + len + 1);
	row = e ? rows_add(&m->new_strings) : NULL;
	if (!row) {
		free(e);
		return -ENOMEM;
	}
	memcpy(e->str, str, len + 1);
	e->id = m->next_string++;
	HASH_ADD_STR(m->strings, str, e);
	row->id = e->id;
	row->str = e->str;
	row->len = (uint32_t)len;
	return e->id;
}

/* Writes rows as chunks of at most 65,536. */
static int write_rows(struct storage *s, enum dict_kind kind, struct rows *r)
{
	int err = 0;

	for (size_t i = 0; !err && i < r->n; i += 65536) {
		size_t n = r->n - i < 65536 ? r->n - i : 65536;
		const void *first = dict_row(kind, r->v, i);

		err = dict_write_chunk(s, kind, first, n, dict_row_id(kind, first),
				       dict_row_id(kind, dict_row(kind, r->v, i + n - 1)), -1,
				       STORAGE_ZSTD_KEEP);
	}
	return err;
}

static int migrate_strings(struct mctx *m, struct rows *out)
{
	sqlite3_stmt *st;
	int rc, err = storage_prepare(m->s, "SELECT id, str FROM strings ORDER BY id", &st);

	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *str = (const char *)sqlite3_column_text(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		struct mstring *e = malloc(sizeof(*e) + len + 1);
		struct dict_string *row = e ? rows_add(out) : NULL;

		if (!row) {
			free(e);
			err = -ENOMEM;
			break;
		}
		memcpy(e->str, str ? str : "", len);
		e->str[len] = '\0';
		e->id = sqlite3_column_int64(st, 0);
		HASH_ADD_STR(m->strings, str, e);
		row->id = e->id;
		row->str = e->str;
		row->len = (uint32_t)len;
		if (e->id >= m->next_string)
			m->next_string = e->id + 1;
	}
	if (!err && rc != SQLITE_DONE)
		err = storage_errno(rc);
	sqlite3_finalize(st);
	return err;
}

static int migrate_frames(struct storage *s)
{
	struct rows r = { .size = sizeof(struct dict_frame) };
	sqlite3_stmt *st;
	int rc, err = storage_prepare(s,
				      "SELECT id, kind, name, module, offset, file, line, inlined,"
				      " build_id FROM frames ORDER BY id",
				      &st);

	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct dict_frame *f = rows_add(&r);

		if (!f) {
			err = -ENOMEM;
			break;
		}
		f->id = sqlite3_column_int64(st, 0);
		f->kind = (uint8_t)sqlite3_column_int(st, 1);
		f->name = sqlite3_column_int64(st, 2);
		f->module = sqlite3_column_int64(st, 3);
		f->offset = (uint64_t)sqlite3_column_int64(st, 4);
		f->file = sqlite3_column_int64(st, 5);
		f->line = (uint32_t)sqlite3_column_int64(st, 6);
		f->inlined = sqlite3_column_int(st, 7) != 0;
		f->build_id = sqlite3_column_int64(st, 8);
		if (f->kind > 2)
			err = -EBADMSG;
	}
	if (!err && rc != SQLITE_DONE)
		err = storage_errno(rc);
	sqlite3_finalize(st);
	if (!err)
		err = write_rows(s, DICT_FRAME, &r);
	free(r.v);
	return err;
}

static int migrate_stacks(struct storage *s)
{
	struct rows r = { .size = sizeof(struct dict_stack) };
	int64_t *frames = NULL;
	size_t nframes = 0, cap = 0;
	sqlite3_stmt *st;
	int rc, err = storage_prepare(s, "SELECT id, depth, status, frames FROM stacks ORDER BY id",
				      &st);

	/* Two passes over one frames array: rows point into it once it stops moving. */
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const uint8_t *p = sqlite3_column_blob(st, 3), *end;
		int64_t depth = sqlite3_column_int64(st, 1);
		struct dict_stack *k = rows_add(&r);

		end = p + sqlite3_column_bytes(st, 3);
		if (!k || depth < 0 || depth > DICT_MAX_DEPTH) {
			err = k ? -EBADMSG : -ENOMEM;
			break;
		}
		if (nframes + (size_t)depth > cap) {
			int64_t *nf;

			cap = (nframes + (size_t)depth) * 2 + 64;
			nf = realloc(frames, cap * sizeof(*frames));
			if (!nf) {
				err = -ENOMEM;
				break;
			}
			frames = nf;
		}
		k->id = sqlite3_column_int64(st, 0);
		k->status = (uint8_t)sqlite3_column_int(st, 2);
		k->depth = (uint32_t)depth;
		k->frames = (const int64_t *)(uintptr_t)nframes; /* an offset until the end */
		for (int64_t d = 0; d < depth; d++) {
			uint64_t v;
			size_t used = codec_get_varint(p, end, &v);

			if (!used) {
				err = -EBADMSG;
				break;
			}
			p += used;
			frames[nframes++] = (int64_t)v;
		}
	}
	if (!err && rc != SQLITE_DONE)
		err = storage_errno(rc);
	sqlite3_finalize(st);
	for (size_t i = 0; !err && i < r.n; i++) {
		struct dict_stack *k = (struct dict_stack *)r.v + i;

		k->frames = frames + (uintptr_t)k->frames;
	}
	if (!err)
		err = write_rows(s, DICT_STACK, &r);
	free(frames);
	free(r.v);
	return err;
}

/* The process id of (pid, proc_start), created (with what is known) when not yet seen. */
static int64_t process_id(struct mctx *m, int64_t pid, int64_t proc_start, const char *comm)
{
	struct mproc *e, key = { .key = { pid, proc_start } };
	struct dict_process *row;

	HASH_FIND(hh, m->procs, &key.key, sizeof(key.key), e);
	if (e)
		return e->id;
	e = calloc(1, sizeof(*e));
	row = e ? rows_add(&m->procrows) : NULL;
	if (!row) {
		free(e);
		return -ENOMEM;
	}
	e->key = key.key;
	e->id = m->next_proc++;
	HASH_ADD(hh, m->procs, key, sizeof(e->key), e);
	row->id = e->id;
	row->pid = (uint32_t)pid;
	row->proc_start = row->started_ns = row->seen_ns = proc_start;
	row->uid = UINT32_MAX;
	row->comm = intern(m, comm);
	return row->comm < 0 ? row->comm : e->id;
}

static int migrate_processes(struct mctx *m)
{
	sqlite3_stmt *st;
	int rc, err = storage_prepare(m->s,
				      "SELECT pid, proc_start, started_ns, uid, comm, exe,"
				      " first_seen_ns FROM processes ORDER BY first_seen_ns, pid",
				      &st);

	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = process_id(m, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
					(const char *)sqlite3_column_text(st, 4));
		struct dict_process *row;

		if (id < 0) {
			err = (int)id;
			break;
		}
		row = (struct dict_process *)m->procrows.v + (id - 1);
		row->started_ns = sqlite3_column_int64(st, 2);
		row->uid = (uint32_t)sqlite3_column_int64(st, 3);
		row->exe = intern(m, (const char *)sqlite3_column_text(st, 5));
		row->seen_ns = sqlite3_column_int64(st, 6);
		if (row->exe < 0)
			err = (int)row->exe;
	}
	if (!err && rc != SQLITE_DONE)
		err = storage_errno(rc);
	sqlite3_finalize(st);
	return err;
}

static int migrate_threads(struct mctx *m)
{
	struct rows r = { .size = sizeof(struct dict_thread) };
	sqlite3_stmt *st;
	int rc, err = storage_prepare(
		    m->s, "SELECT id, pid, tid, proc_start, comm FROM threads ORDER BY id", &st);

	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *comm = (const char *)sqlite3_column_text(st, 4);
		struct dict_thread *t = rows_add(&r);

		if (!t) {
			err = -ENOMEM;
			break;
		}
		t->id = sqlite3_column_int64(st, 0);
		t->tid = (uint32_t)sqlite3_column_int64(st, 2);
		t->process =
		    process_id(m, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 3), comm);
		t->comm = intern(m, comm);
		if (t->process < 0 || t->comm < 0)
			err = -ENOMEM;
	}
	if (!err && rc != SQLITE_DONE)
		err = storage_errno(rc);
	sqlite3_finalize(st);
	if (!err)
		err = write_rows(m->s, DICT_THREAD, &r);
	free(r.v);
	return err;
}

static int migrate_blocks(struct storage *s)
{
	sqlite3_stmt *st, *ins;
	int rc,
	    err = storage_prepare(s, "SELECT t_start, nsamples, data FROM blocks ORDER BY id", &st);

	if (err)
		return err;
	err = storage_prepare(s,
			      "INSERT INTO blocks2(t_start, t_end, nsamples, level, data)"
			      " VALUES(?, ?, ?, 0, ?)",
			      &ins);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t n = sqlite3_column_int64(st, 1), t0, t1;
		struct storage_sample *v = NULL;
		size_t len;
		void *data;

		if (n <= 0 || n > CODEC_MAX_SAMPLES) {
			err = n ? -EBADMSG : 0;
			continue;
		}
		err = codec_decode(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2),
				   sqlite3_column_int64(st, 0), (size_t)n, &v);
		if (err)
			break;
		t0 = t1 = v[0].time_ns;
		for (int64_t i = 1; i < n; i++) {
			t0 = v[i].time_ns < t0 ? v[i].time_ns : t0;
			t1 = v[i].time_ns > t1 ? v[i].time_ns : t1;
		}
		err = codec_block_encode(v, NULL, (size_t)n, t0, STORAGE_TIME_UNIT_NS,
					 STORAGE_ZSTD_KEEP, &data, &len);
		free(v);
		if (err)
			break;
		sqlite3_bind_int64(ins, 1, codec_floor(t0, STORAGE_TIME_UNIT_NS));
		sqlite3_bind_int64(ins, 2, codec_floor(t1, STORAGE_TIME_UNIT_NS));
		sqlite3_bind_int64(ins, 3, n);
		sqlite3_bind_blob(ins, 4, data, (int)len, free);
		err = storage_step_done(ins);
	}
	if (!err && rc != SQLITE_DONE)
		err = storage_errno(rc);
	sqlite3_finalize(st);
	sqlite3_finalize(ins);
	return err;
}

static int migrate_1_to_2(struct storage *s)
{
	struct mctx m = { .s = s, .next_string = 1, .next_proc = 1 };
	struct rows strings = { .size = sizeof(struct dict_string) };
	struct mstring *e, *tmp;
	struct mproc *p, *ptmp;
	int err;

	m.new_strings.size = sizeof(struct dict_string);
	m.procrows.size = sizeof(struct dict_process);
	err = storage_exec(s, schema_v2);
	if (!err)
		err = migrate_strings(&m, &strings);
	if (!err)
		err = write_rows(s, DICT_STRING, &strings);
	if (!err)
		err = migrate_frames(s);
	if (!err)
		err = migrate_stacks(s);
	if (!err)
		err = migrate_processes(&m);
	if (!err)
		err = migrate_threads(&m);
	if (!err)
		err = write_rows(s, DICT_PROCESS, &m.procrows);
	if (!err)
		err = write_rows(s, DICT_STRING, &m.new_strings);
	if (!err)
		err = migrate_blocks(s);
	if (!err)
		err = storage_exec(s, "DROP TABLE strings; DROP TABLE frames; DROP TABLE stacks;"
				      "DROP TABLE threads; DROP TABLE processes; DROP TABLE blocks;"
				      "ALTER TABLE blocks2 RENAME TO blocks;"
				      "CREATE INDEX blocks_time ON blocks(t_start);"
				      "INSERT OR REPLACE INTO meta VALUES('migrated_from_1', 1);");
	HASH_ITER (hh, m.strings, e, tmp) {
		HASH_DEL(m.strings, e);
		free(e);
	}
	HASH_ITER (hh, m.procs, p, ptmp) {
		HASH_DEL(m.procs, p);
		free(p);
	}
	free(strings.v);
	free(m.new_strings.v);
	free(m.procrows.v);
	return err;
}

/* Schema 3's new table, frozen. */
static const char schema_v3[] =
    "CREATE TABLE collector_self(recording INTEGER NOT NULL REFERENCES recordings(id),"
    " t_ns INTEGER NOT NULL, span_ns INTEGER NOT NULL, cpu_pct REAL NOT NULL,"
    " rss_kib INTEGER NOT NULL, heap_kib INTEGER NOT NULL, samples_per_s REAL NOT NULL,"
    " dropped INTEGER NOT NULL, hz INTEGER NOT NULL, PRIMARY KEY(recording, t_ns))"
    " WITHOUT ROWID;"
    "CREATE INDEX collector_self_time ON collector_self(t_ns);";

static int migrate_2_to_3(struct storage *s)
{
	return storage_exec(s, schema_v3);
}

static int migrate_3_to_4(struct storage *s)
{
	sqlite3_stmt *sel = NULL, *upd = NULL;
	int rc = SQLITE_DONE, err;

	err = storage_prepare(s, "SELECT id, last, n, data FROM stack_chunks ORDER BY id", &sel);
	if (!err)
		err = storage_prepare(s, "UPDATE stack_chunks SET data = ? WHERE id = ?", &upd);
	while (!err && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
		const uint8_t *data = sqlite3_column_blob(sel, 3);
		int64_t first = sqlite3_column_int64(sel, 0), last = sqlite3_column_int64(sel, 1);
		int64_t n = sqlite3_column_int64(sel, 2);
		int len = sqlite3_column_bytes(sel, 3);
		void *blob;
		size_t blen;

		/* Version 1 starts with the byte 1 (a varint); anything else is left as it is. */
		if (len < 1 || data[0] != 1)
			continue;
		if (n < 0 || n > DICT_MAX_ROWS) {
			err = -EBADMSG;
			break;
		}
		err = storage_recode_chunk(DICT_STACK, data, (size_t)len, first, last, (size_t)n,
					   STORAGE_ZSTD_KEEP, &blob, &blen);
		if (err)
			break;
		sqlite3_bind_blob(upd, 1, blob, (int)blen, free);
		sqlite3_bind_int64(upd, 2, first);
		err = storage_step_done(upd);
	}
	if (!err && rc != SQLITE_DONE)
		err = storage_errno(rc);
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	return err;
}

static int (*const steps[])(struct storage *s) = {
	[1] = migrate_1_to_2,
	[2] = migrate_2_to_3,
	[3] = migrate_3_to_4,
};

int storage_migrate(struct storage *s, int from)
{
	int err = 0;

	for (int v = from; !err && v < STORAGE_SCHEMA_VERSION; v++) {
		char sql[64];

		if (v < 1 || (size_t)v >= sizeof(steps) / sizeof(steps[0]) || !steps[v])
			return -EBADMSG;
		err = storage_exec(s, "BEGIN IMMEDIATE");
		if (err)
			break;
		err = steps[v](s);
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", v + 1);
		if (!err)
			err = storage_exec(s, sql);
		if (!err)
			err = storage_exec(s, "COMMIT");
		if (err)
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	return err;
}
