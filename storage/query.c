// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Reader: walks sample blocks overlapping a time range, filters samples by time, process and
 * command, and resolves ids to threads, stacks and frames through caches filled on demand.
 */
#include "storage/query.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "storage/storage_internal.h"

struct rthread {
	int64_t id;
	struct storage_thread t;
	char comm[32];
	char *exe;
	unsigned int match_gen; /* the query generation `matches` was computed for */
	bool matches;
	UT_hash_handle hh;
};

struct rstack {
	int64_t id;
	size_t n;
	enum storage_stack_status status;
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
	int64_t name_id, module_id;
	struct storage_frame f;
	UT_hash_handle hh;
};

struct storage_reader {
	struct storage *db;
	struct rthread *threads;
	struct rstack *stacks;
	struct rstring *strings;
	struct rframe *frames;
	sqlite3_stmt *blocks, *thread, *stack, *frame, *string, *span;
	unsigned int gen; /* bumped by every query, for the per-thread filter cache */
	const struct storage_filter *filter; /* of the running query */
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
		err = storage_prepare(db,
				      "SELECT t.pid, t.tid, t.proc_start, t.comm, p.exe, p.uid"
				      " FROM threads t LEFT JOIN processes p"
				      " ON p.pid = t.pid AND p.proc_start = t.proc_start WHERE "
				      "t.id = ?",
				      &r->thread);
	if (!err)
		err = storage_prepare(db, "SELECT frames, depth, status FROM stacks WHERE id = ?",
				      &r->stack);
	if (!err)
		err = storage_prepare(db,
				      "SELECT kind, name, module, offset, file, line, inlined, "
				      "build_id"
				      " FROM frames WHERE id = ?",
				      &r->frame);
	if (!err)
		err = storage_prepare(db, "SELECT str FROM strings WHERE id = ?", &r->string);
	if (!err)
		/* max(t_end) over all blocks would scan the table (t_end has no index): 170 ms per
		 * call on a day of history, and `ember top` asks at every refresh. Blocks are
		 * flushes written in time order, so the latest end is among the latest starts. */
		err = storage_prepare(db,
				      "SELECT (SELECT min(t_start) FROM blocks),"
				      " (SELECT max(t_end) FROM"
				      " (SELECT t_end FROM blocks ORDER BY t_start DESC LIMIT 64))",
				      &r->span);
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
	if (sqlite3_column_type(r->thread, 4) == SQLITE_TEXT) {
		t->exe = strdup((const char *)sqlite3_column_text(r->thread, 4));
		t->t.exe = t->exe;
	}
	t->t.uid = sqlite3_column_type(r->thread, 5) == SQLITE_NULL
		       ? UINT32_MAX
		       : (uint32_t)sqlite3_column_int64(r->thread, 5);
	sqlite3_reset(r->thread);
	HASH_ADD(hh, r->threads, id, sizeof(id), t);
	return &t->t;
}

int storage_reader__stack(struct storage_reader *r, int64_t id, const int64_t **frames, size_t *n,
			  enum storage_stack_status *status)
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
	s->status = (enum storage_stack_status)sqlite3_column_int(r->stack, 2);
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
	if (status)
		*status = s->status;
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
	int64_t name, module, file, build_id;
	int rc, kind;

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
	kind = sqlite3_column_int(r->frame, 0);
	f->f.kind = kind == STORAGE_FRAME_KERNEL ? STORAGE_FRAME_KERNEL
		    : kind == STORAGE_FRAME_JIT	 ? STORAGE_FRAME_JIT
						 : STORAGE_FRAME_USER;
	name = sqlite3_column_int64(r->frame, 1);
	module = sqlite3_column_int64(r->frame, 2);
	f->name_id = name;
	f->module_id = module;
	f->f.offset = (uint64_t)sqlite3_column_int64(r->frame, 3);
	file = sqlite3_column_int64(r->frame, 4);
	f->f.line = (uint32_t)sqlite3_column_int64(r->frame, 5);
	f->f.inlined = sqlite3_column_int(r->frame, 6) != 0;
	build_id = sqlite3_column_int64(r->frame, 7);
	sqlite3_reset(r->frame);
	f->f.name = lookup_string(r, name);
	f->f.module = lookup_string(r, module);
	f->f.file = lookup_string(r, file);
	f->f.build_id = lookup_string(r, build_id);
	HASH_ADD(hh, r->frames, id, sizeof(id), f);
	return &f->f;
}

static bool in_list32(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static bool thread_matches(struct storage_reader *r, const struct storage_filter *f, int64_t id)
{
	const struct storage_thread *t;
	struct rthread *rt;
	bool ok;

	if (!f->npids && !f->ntids && !f->comm && !f->binary)
		return true;
	t = storage_reader__thread(r, id);
	if (!t)
		return false;
	rt = (struct rthread *)((char *)t - offsetof(struct rthread, t));
	if (rt->match_gen == r->gen)
		return rt->matches;
	ok = (!f->npids || in_list32(f->pids, f->npids, t->pid)) &&
	     (!f->ntids || in_list32(f->tids, f->ntids, t->tid)) &&
	     (!f->comm || !strcmp(f->comm, t->comm));
	if (ok && f->binary) {
		const char *base = t->exe ? strrchr(t->exe, '/') : NULL;

		ok = t->exe &&
		     (!strcmp(t->exe, f->binary) || (base && !strcmp(base + 1, f->binary)));
	}
	rt->match_gen = r->gen;
	rt->matches = ok;
	return ok;
}

static bool cgroup_matches(const struct storage_filter *f, uint64_t cgroup)
{
	for (size_t i = 0; i < f->ncgroups; i++)
		if (f->cgroups[i] == cgroup)
			return true;
	return !f->ncgroups;
}

int storage_reader__samples(struct storage_reader *r, const struct storage_filter *f,
			    storage_sample_fn fn, void *ctx)
{
	int64_t from = f->from_ns, to = f->to_ns ? f->to_ns : INT64_MAX;
	int rc, err = 0;

	r->gen++;
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
			    !cgroup_matches(f, v[i].cgroup) || !thread_matches(r, f, v[i].thread))
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

/* Function identity: (kind, name, module) string ids; an unnamed frame is its own function. */
struct fn_key {
	int64_t kind, name, module, frame;
};

struct fn_entry {
	struct fn_key key;
	int64_t frame_id;
	uint64_t self, total;
	size_t mark; /* last stack (index + 1) that counted this function's total */
	UT_hash_handle hh;
};

static int cmp_function(const void *x, const void *y)
{
	const struct storage_function_count *a = x, *b = y;

	if (a->self != b->self)
		return a->self > b->self ? -1 : 1;
	if (a->total != b->total)
		return a->total > b->total ? -1 : 1;
	return a->frame_id < b->frame_id ? -1 : a->frame_id > b->frame_id;
}

static struct rframe *rframe_of(struct storage_reader *r, int64_t id)
{
	const struct storage_frame *f = storage_reader__frame(r, id);

	return f ? (struct rframe *)((char *)f - offsetof(struct rframe, f)) : NULL;
}

int storage_reader__functions(struct storage_reader *r, const struct storage_filter *f,
			      struct storage_function_count **out, size_t *n, uint64_t *total)
{
	struct storage_stack_count *counts = NULL;
	size_t ncounts;
	uint64_t all = 0;
	int err;

	err = storage_reader__stack_counts(r, f, &counts, &ncounts, &all);
	if (!err)
		err = storage_reader__functions_of(r, counts, ncounts, out, n, NULL);
	free(counts);
	if (!err && total)
		*total = all;
	return err;
}

int storage_reader__functions_of(struct storage_reader *r, const struct storage_stack_count *counts,
				 size_t ncounts, struct storage_function_count **out, size_t *n,
				 uint64_t *total)
{
	struct fn_entry *map = NULL, *e, *tmp;
	struct storage_function_count *v = NULL;
	size_t i = 0;
	uint64_t all = 0;
	int err = 0;

	for (size_t k = 0; !err && k < ncounts; k++) {
		const int64_t *frames;
		size_t depth;

		all += counts[k].count;
		err = storage_reader__stack(r, counts[k].stack, &frames, &depth, NULL);
		for (size_t d = 0; !err && d < depth; d++) {
			struct rframe *rf = rframe_of(r, frames[d]);
			struct fn_key key;

			if (!rf) {
				err = -errno;
				break;
			}
			memset(&key, 0, sizeof(key));
			key.kind = rf->f.kind;
			key.name = rf->name_id;
			key.module = rf->module_id;
			key.frame = rf->name_id ? 0 : rf->id;
			HASH_FIND(hh, map, &key, sizeof(key), e);
			if (!e) {
				e = calloc(1, sizeof(*e));
				if (!e) {
					err = -ENOMEM;
					break;
				}
				e->key = key;
				e->frame_id = rf->id;
				HASH_ADD(hh, map, key, sizeof(key), e);
			}
			if (d == 0)
				e->self += counts[k].count;
			if (e->mark != k + 1) {
				e->total += counts[k].count;
				e->mark = k + 1;
			}
		}
	}
	if (!err) {
		v = malloc((HASH_COUNT(map) + 1) * sizeof(*v));
		if (!v)
			err = -ENOMEM;
	}
	HASH_ITER (hh, map, e, tmp) {
		if (v && !err) {
			v[i].frame_id = e->frame_id;
			v[i].frame = storage_reader__frame(r, e->frame_id);
			v[i].self = e->self;
			v[i].total = e->total;
			i++;
		}
		HASH_DEL(map, e);
		free(e);
	}
	if (err) {
		free(v);
		return err;
	}
	qsort(v, i, sizeof(*v), cmp_function);
	*out = v;
	*n = i;
	if (total)
		*total = all;
	return 0;
}

struct task_key {
	uint32_t pid, tid;
	int64_t proc_start;
};

struct task_entry {
	struct task_key key;
	struct storage_task_count c;
	uint64_t hot_count;
	UT_hash_handle hh;
};

struct leaf_entry {
	struct {
		struct task_key task;
		int64_t frame;
	} key;
	uint64_t count;
	UT_hash_handle hh;
};

static int cmp_task(const void *x, const void *y)
{
	const struct storage_task_count *a = x, *b = y;

	if (a->samples != b->samples)
		return a->samples > b->samples ? -1 : 1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

int storage_reader__tasks(struct storage_reader *r, const struct storage_filter *f, bool by_thread,
			  struct storage_task_count **out, size_t *n, uint64_t *total)
{
	struct storage_stack_count *counts = NULL;
	struct task_entry *tasks = NULL, *t, *ttmp;
	struct leaf_entry *leaves = NULL, *l, *ltmp;
	struct storage_task_count *v = NULL;
	size_t ncounts, i = 0;
	uint64_t all = 0;
	int err;

	err = storage_reader__stack_counts(r, f, &counts, &ncounts, &all);
	for (size_t k = 0; !err && k < ncounts; k++) {
		const struct storage_thread *th = storage_reader__thread(r, counts[k].thread);
		const int64_t *frames;
		struct task_key key;
		size_t depth;

		if (!th) {
			err = -errno;
			break;
		}
		memset(&key, 0, sizeof(key));
		key.pid = th->pid;
		key.tid = by_thread ? th->tid : 0;
		key.proc_start = th->proc_start;
		HASH_FIND(hh, tasks, &key, sizeof(key), t);
		if (!t) {
			t = calloc(1, sizeof(*t));
			if (!t) {
				err = -ENOMEM;
				break;
			}
			t->key = key;
			t->c.pid = key.pid;
			t->c.tid = key.tid;
			t->c.proc_start = key.proc_start;
			t->c.comm = th->comm;
			t->c.exe = th->exe;
			t->c.uid = th->uid;
			HASH_ADD(hh, tasks, key, sizeof(key), t);
		}
		/* A process is named after its main thread when that thread was sampled. */
		if (!by_thread && th->tid == th->pid)
			t->c.comm = th->comm;
		t->c.samples += counts[k].count;

		err = storage_reader__stack(r, counts[k].stack, &frames, &depth, NULL);
		if (err || !depth)
			continue;
		{
			struct leaf_entry lkey;

			memset(&lkey.key, 0, sizeof(lkey.key));
			lkey.key.task = key;
			lkey.key.frame = frames[0];
			HASH_FIND(hh, leaves, &lkey.key, sizeof(lkey.key), l);
			if (!l) {
				l = calloc(1, sizeof(*l));
				if (!l) {
					err = -ENOMEM;
					break;
				}
				l->key = lkey.key;
				HASH_ADD(hh, leaves, key, sizeof(l->key), l);
			}
			l->count += counts[k].count;
			if (l->count > t->hot_count ||
			    (l->count == t->hot_count && l->key.frame < t->c.hot_frame)) {
				t->hot_count = l->count;
				t->c.hot_frame = l->key.frame;
			}
		}
	}
	if (!err) {
		v = malloc((HASH_COUNT(tasks) + 1) * sizeof(*v));
		if (!v)
			err = -ENOMEM;
	}
	HASH_ITER (hh, tasks, t, ttmp) {
		if (v && !err)
			v[i++] = t->c;
		HASH_DEL(tasks, t);
		free(t);
	}
	HASH_ITER (hh, leaves, l, ltmp) {
		HASH_DEL(leaves, l);
		free(l);
	}
	free(counts);
	if (err) {
		free(v);
		return err;
	}
	qsort(v, i, sizeof(*v), cmp_task);
	*out = v;
	*n = i;
	if (total)
		*total = all;
	return 0;
}

struct histogram {
	uint64_t *counts;
	size_t n;
	int64_t from, bucket;
};

static int histogram_add(const struct storage_sample *s, void *ctx)
{
	struct histogram *h = ctx;
	int64_t i = (s->time_ns - h->from) / h->bucket;

	if (i >= 0 && (size_t)i < h->n)
		h->counts[i]++;
	return 0;
}

int storage_reader__histogram(struct storage_reader *r, const struct storage_filter *f,
			      int64_t bucket_ns, uint64_t **counts, size_t *n)
{
	struct histogram h = { .from = f->from_ns, .bucket = bucket_ns };
	int64_t nb;
	int err;

	if (bucket_ns <= 0 || f->to_ns <= f->from_ns)
		return -EINVAL;
	nb = (f->to_ns - f->from_ns + bucket_ns - 1) / bucket_ns;
	if (nb > STORAGE_MAX_BUCKETS)
		return -EINVAL;
	h.n = (size_t)nb;
	h.counts = calloc(h.n + 1, sizeof(*h.counts));
	if (!h.counts)
		return -ENOMEM;
	err = storage_reader__samples(r, f, histogram_add, &h);
	if (err) {
		free(h.counts);
		return err;
	}
	*counts = h.counts;
	*n = h.n;
	return 0;
}

int storage_reader__recordings(struct storage_reader *r, int64_t from_ns, int64_t to_ns,
			       struct storage_recording **out, size_t *n)
{
	static const char sql[] = "SELECT started_ns, ended_ns, hz, ncpus, event, hostname, "
				  "kernel, delivered, stored,"
				  " filtered, ringbuf_full, bpf_errors, ingest_errors, "
				  "write_errors FROM recordings"
				  " WHERE started_ns < ?2 AND (ended_ns IS NULL OR ended_ns = 0 OR "
				  "ended_ns >= ?1)"
				  " ORDER BY started_ns, id";
	struct storage_recording *v = NULL, *nv;
	sqlite3_stmt *st = NULL;
	size_t cnt = 0, strbytes = 0;
	char *p;
	int rc, err;

	/* Two steps: count rows and string bytes, then copy into one allocation. Rare enough (once
	 * per export) not to keep a prepared statement. */
	err = storage_prepare(r->db, sql, &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, from_ns);
	sqlite3_bind_int64(st, 2, to_ns ? to_ns : INT64_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cnt++;
		for (int c = 4; c <= 6; c++)
			strbytes += (size_t)sqlite3_column_bytes(st, c) + 1;
	}
	if (rc != SQLITE_DONE) {
		err = storage_errno(rc);
		goto out;
	}
	sqlite3_reset(st);
	v = calloc(1, (cnt + 1) * sizeof(*v) + strbytes);
	if (!v) {
		err = -ENOMEM;
		goto out;
	}
	p = (char *)(v + cnt + 1);
	nv = v;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && nv < v + cnt) {
		const char **strs[3] = { &nv->event, &nv->hostname, &nv->kernel };

		nv->started_ns = sqlite3_column_int64(st, 0);
		nv->ended_ns = sqlite3_column_int64(st, 1);
		nv->hz = (uint32_t)sqlite3_column_int64(st, 2);
		nv->ncpus = (uint32_t)sqlite3_column_int64(st, 3);
		for (int c = 4; c <= 6; c++) {
			size_t len = (size_t)sqlite3_column_bytes(st, c);

			if (sqlite3_column_type(st, c) == SQLITE_NULL)
				continue;
			memcpy(p, sqlite3_column_text(st, c), len);
			p[len] = '\0';
			*strs[c - 4] = p;
			p += len + 1;
		}
		nv->delivered = (uint64_t)sqlite3_column_int64(st, 7);
		nv->stored = (uint64_t)sqlite3_column_int64(st, 8);
		nv->filtered = (uint64_t)sqlite3_column_int64(st, 9);
		nv->ringbuf_full = (uint64_t)sqlite3_column_int64(st, 10);
		nv->bpf_errors = (uint64_t)sqlite3_column_int64(st, 11);
		nv->ingest_errors = (uint64_t)sqlite3_column_int64(st, 12);
		nv->write_errors = (uint64_t)sqlite3_column_int64(st, 13);
		nv++;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		err = storage_errno(rc);
		goto out;
	}
	*out = v;
	*n = (size_t)(nv - v);
	v = NULL;
out:
	free(v);
	sqlite3_finalize(st);
	return err;
}

int storage_reader__span(struct storage_reader *r, int64_t *first_ns, int64_t *last_ns)
{
	int rc = sqlite3_step(r->span), err = 0;

	if (rc != SQLITE_ROW)
		err = storage_errno(rc);
	else if (sqlite3_column_type(r->span, 0) == SQLITE_NULL)
		err = -ENODATA;
	else {
		*first_ns = sqlite3_column_int64(r->span, 0);
		*last_ns = sqlite3_column_int64(r->span, 1);
	}
	sqlite3_reset(r->span);
	return err;
}

int storage_reader__rate(struct storage_reader *r, int64_t from_ns, int64_t to_ns, uint32_t *hz,
			 uint32_t *ncpus)
{
	struct storage_recording *v;
	size_t n;
	int err = storage_reader__recordings(r, from_ns, to_ns, &v, &n);

	if (err)
		return err;
	if (!n) {
		free(v);
		return -ENODATA;
	}
	*hz = *ncpus = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].hz > *hz)
			*hz = v[i].hz;
		if (v[i].ncpus > *ncpus)
			*ncpus = v[i].ncpus;
	}
	free(v);
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
		free(t->exe);
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
	sqlite3_finalize(r->span);
	free(r);
}
