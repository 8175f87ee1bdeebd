// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Reader: walks sample blocks overlapping a time range, filters samples by time, process and
 * command, and resolves ids to threads, stacks and frames through caches filled on demand.
 */
#include "storage/query.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "storage/storage_internal.h"

struct rthread {
	int64_t id;
	struct storage_thread t;
	char comm[32];
	UT_hash_handle hh;
};

struct rstack {
	int64_t id;
	size_t n;
	UT_hash_handle hh;
	int64_t frames[];
};

struct rstring {
	int64_t id;
	UT_hash_handle hh;
	char str[];
};

struct rframe {
	int64_t id;
	struct storage_frame f;
	UT_hash_handle hh;
};

struct storage_reader {
	struct storage *db;
	struct rthread *threads;
	struct rstack *stacks;
	struct rstring *strings;
	struct rframe *frames;
	sqlite3_stmt *blocks, *thread, *stack, *frame, *string;
};

struct storage_reader *storage_reader__new(struct storage *db)
{
	struct storage_reader *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return NULL;
	r->db = db;
	err = storage_prepare(db,
			      "SELECT t_start, nsamples, encoding, data FROM blocks"
			      " WHERE t_start < ?2 AND t_end >= ?1 ORDER BY t_start",
			      &r->blocks);
	if (!err)
		err = storage_prepare(
		    db, "SELECT pid, tid, proc_start, comm FROM threads WHERE id = ?", &r->thread);
	if (!err)
		err =
		    storage_prepare(db, "SELECT frames, depth FROM stacks WHERE id = ?", &r->stack);
	if (!err)
		err = storage_prepare(
		    db, "SELECT kind, name, module, offset FROM frames WHERE id = ?", &r->frame);
	if (!err)
		err = storage_prepare(db, "SELECT str FROM strings WHERE id = ?", &r->string);
	if (err) {
		storage_reader__free(r);
		errno = -err;
		return NULL;
	}
	return r;
}

const struct storage_thread *storage_reader__thread(struct storage_reader *r, int64_t id)
{
	struct rthread *t;
	const unsigned char *comm;
	int rc;

	HASH_FIND(hh, r->threads, &id, sizeof(id), t);
	if (t)
		return &t->t;
	sqlite3_bind_int64(r->thread, 1, id);
	rc = sqlite3_step(r->thread);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(r->thread);
		errno = rc == SQLITE_DONE ? ENOENT : -storage_errno(rc);
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		sqlite3_reset(r->thread);
		errno = ENOMEM;
		return NULL;
	}
	t->id = id;
	t->t.pid = (uint32_t)sqlite3_column_int64(r->thread, 0);
	t->t.tid = (uint32_t)sqlite3_column_int64(r->thread, 1);
	t->t.proc_start = sqlite3_column_int64(r->thread, 2);
	comm = sqlite3_column_text(r->thread, 3);
	snprintf(t->comm, sizeof(t->comm), "%s", comm ? (const char *)comm : "");
	t->t.comm = t->comm;
	sqlite3_reset(r->thread);
	HASH_ADD(hh, r->threads, id, sizeof(id), t);
	return &t->t;
}

int storage_reader__stack(struct storage_reader *r, int64_t id, const int64_t **frames, size_t *n)
{
	const uint8_t *p, *end;
	struct rstack *s;
	int64_t depth;
	int rc, len;

	HASH_FIND(hh, r->stacks, &id, sizeof(id), s);
	if (s)
		goto found;
	sqlite3_bind_int64(r->stack, 1, id);
	rc = sqlite3_step(r->stack);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(r->stack);
		return rc == SQLITE_DONE ? -ENOENT : storage_errno(rc);
	}
	p = sqlite3_column_blob(r->stack, 0);
	len = sqlite3_column_bytes(r->stack, 0);
	depth = sqlite3_column_int64(r->stack, 1);
	/* Each frame id takes at least one byte: a larger depth is a lie. */
	if (depth < 0 || depth > len) {
		sqlite3_reset(r->stack);
		return -EBADMSG;
	}
	s = malloc(sizeof(*s) + (size_t)depth * sizeof(int64_t));
	if (!s) {
		sqlite3_reset(r->stack);
		return -ENOMEM;
	}
	s->id = id;
	s->n = (size_t)depth;
	end = p + len;
	for (size_t i = 0; i < s->n; i++) {
		uint64_t v;
		size_t used = codec_get_varint(p, end, &v);

		if (!used) {
			free(s);
			sqlite3_reset(r->stack);
			return -EBADMSG;
		}
		s->frames[i] = (int64_t)v;
		p += used;
	}
	sqlite3_reset(r->stack);
	HASH_ADD(hh, r->stacks, id, sizeof(id), s);
found:
	*frames = s->frames;
	*n = s->n;
	return 0;
}

static const char *lookup_string(struct storage_reader *r, int64_t id)
{
	const unsigned char *text;
	struct rstring *s;
	size_t len;

	if (!id)
		return NULL;
	HASH_FIND(hh, r->strings, &id, sizeof(id), s);
	if (s)
		return s->str;
	sqlite3_bind_int64(r->string, 1, id);
	if (sqlite3_step(r->string) != SQLITE_ROW) {
		sqlite3_reset(r->string);
		return "[missing string]";
	}
	text = sqlite3_column_text(r->string, 0);
	len = (size_t)sqlite3_column_bytes(r->string, 0);
	s = malloc(sizeof(*s) + len + 1);
	if (!s) {
		sqlite3_reset(r->string);
		return "[out of memory]";
	}
	s->id = id;
	memcpy(s->str, text ? (const char *)text : "", len);
	s->str[len] = '\0';
	sqlite3_reset(r->string);
	HASH_ADD(hh, r->strings, id, sizeof(id), s);
	return s->str;
}

const struct storage_frame *storage_reader__frame(struct storage_reader *r, int64_t id)
{
	struct rframe *f;
	int64_t name, module;
	int rc;

	HASH_FIND(hh, r->frames, &id, sizeof(id), f);
	if (f)
		return &f->f;
	sqlite3_bind_int64(r->frame, 1, id);
	rc = sqlite3_step(r->frame);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(r->frame);
		errno = rc == SQLITE_DONE ? ENOENT : -storage_errno(rc);
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		sqlite3_reset(r->frame);
		errno = ENOMEM;
		return NULL;
	}
	f->id = id;
	f->f.kind = sqlite3_column_int(r->frame, 0) == STORAGE_FRAME_KERNEL ? STORAGE_FRAME_KERNEL
									    : STORAGE_FRAME_USER;
	name = sqlite3_column_int64(r->frame, 1);
	module = sqlite3_column_int64(r->frame, 2);
	f->f.offset = (uint64_t)sqlite3_column_int64(r->frame, 3);
	sqlite3_reset(r->frame);
	f->f.name = lookup_string(r, name);
	f->f.module = lookup_string(r, module);
	HASH_ADD(hh, r->frames, id, sizeof(id), f);
	return &f->f;
}

static bool thread_matches(struct storage_reader *r, const struct storage_filter *f, int64_t id)
{
	const struct storage_thread *t;
	bool ok = false;

	if (!f->npids && !f->comm)
		return true;
	t = storage_reader__thread(r, id);
	if (!t)
		return false;
	for (size_t i = 0; i < f->npids && !ok; i++)
		ok = t->pid == f->pids[i];
	if (f->npids && !ok)
		return false;
	return !f->comm || !strcmp(f->comm, t->comm);
}

int storage_reader__samples(struct storage_reader *r, const struct storage_filter *f,
			    storage_sample_fn fn, void *ctx)
{
	int64_t from = f->from_ns, to = f->to_ns ? f->to_ns : INT64_MAX;
	int rc, err = 0;

	sqlite3_bind_int64(r->blocks, 1, from);
	sqlite3_bind_int64(r->blocks, 2, to);
	while (!err && (rc = sqlite3_step(r->blocks)) == SQLITE_ROW) {
		int64_t t_start = sqlite3_column_int64(r->blocks, 0);
		int64_t n = sqlite3_column_int64(r->blocks, 1);
		struct storage_sample *v;

		if (sqlite3_column_int(r->blocks, 2) != CODEC_ENCODING_V1 || n < 0) {
			err = -EBADMSG;
			break;
		}
		err = codec_decode(sqlite3_column_blob(r->blocks, 3),
				   (size_t)sqlite3_column_bytes(r->blocks, 3), t_start, (size_t)n,
				   &v);
		if (err)
			break;
		for (int64_t i = 0; i < n && !err; i++) {
			if (v[i].time_ns < from || v[i].time_ns >= to ||
			    !thread_matches(r, f, v[i].thread))
				continue;
			err = fn(&v[i], ctx);
		}
		free(v);
	}
	if (!err && rc != SQLITE_DONE)
		err = storage_errno(rc);
	sqlite3_reset(r->blocks);
	return err;
}

struct agg_entry {
	struct {
		int64_t thread, stack;
	} key;
	uint64_t count;
	UT_hash_handle hh;
};

struct agg {
	struct agg_entry *map;
	uint64_t total;
};

static int agg_add(const struct storage_sample *s, void *ctx)
{
	struct agg *a = ctx;
	struct agg_entry *e, key;

	memset(&key.key, 0, sizeof(key.key));
	key.key.thread = s->thread;
	key.key.stack = s->stack;
	HASH_FIND(hh, a->map, &key.key, sizeof(key.key), e);
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->key = key.key;
		HASH_ADD(hh, a->map, key, sizeof(e->key), e);
	}
	e->count++;
	a->total++;
	return 0;
}

static int cmp_count(const void *x, const void *y)
{
	const struct storage_stack_count *a = x, *b = y;

	if (a->thread != b->thread)
		return a->thread < b->thread ? -1 : 1;
	return a->stack < b->stack ? -1 : a->stack > b->stack;
}

int storage_reader__stack_counts(struct storage_reader *r, const struct storage_filter *f,
				 struct storage_stack_count **out, size_t *n, uint64_t *total)
{
	struct agg a = { 0 };
	struct agg_entry *e, *tmp;
	struct storage_stack_count *v = NULL;
	size_t i = 0;
	int err;

	err = storage_reader__samples(r, f, agg_add, &a);
	if (!err) {
		v = malloc((HASH_COUNT(a.map) + 1) * sizeof(*v));
		if (!v)
			err = -ENOMEM;
	}
	HASH_ITER (hh, a.map, e, tmp) {
		if (v) {
			v[i].thread = e->key.thread;
			v[i].stack = e->key.stack;
			v[i].count = e->count;
			i++;
		}
		HASH_DEL(a.map, e);
		free(e);
	}
	if (err)
		return err;
	qsort(v, i, sizeof(*v), cmp_count);
	*out = v;
	*n = i;
	if (total)
		*total = a.total;
	return 0;
}

void storage_reader__free(struct storage_reader *r)
{
	struct rthread *t, *tt;
	struct rstack *s, *ts;
	struct rstring *g, *tg;
	struct rframe *f, *tf;

	if (!r)
		return;
	HASH_ITER (hh, r->threads, t, tt) {
		HASH_DEL(r->threads, t);
		free(t);
	}
	HASH_ITER (hh, r->stacks, s, ts) {
		HASH_DEL(r->stacks, s);
		free(s);
	}
	HASH_ITER (hh, r->strings, g, tg) {
		HASH_DEL(r->strings, g);
		free(g);
	}
	HASH_ITER (hh, r->frames, f, tf) {
		HASH_DEL(r->frames, f);
		free(f);
	}
	sqlite3_finalize(r->blocks);
	sqlite3_finalize(r->thread);
	sqlite3_finalize(r->stack);
	sqlite3_finalize(r->frame);
	sqlite3_finalize(r->string);
	free(r);
}
