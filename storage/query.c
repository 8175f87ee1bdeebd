// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Reader: walks the sample blocks overlapping a time range, filters them, aggregates, and
 * resolves ids to threads, stacks and frames through caches filled a dictionary chunk at a time.
 *
 * Filters apply to a block's dictionaries first: a thread matches or not once per block (and per
 * query, through a generation number), so the per-sample work is a table lookup, and a block
 * none of whose threads or cgroups match is not decompressed at all. Only the columns a query
 * needs are decompressed: aggregating a block the range covers whole never looks at its times.
 * Per-(thread, stack) counts are gathered per block in a small table over dictionary indices,
 * then merged into the query's table by id.
 */
#include "storage/query.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <uthash.h>

#include "storage/dict.h"
#include "storage/storage_internal.h"

/* Blocks span at most this long (a window of an hour, plus samples arriving a flush late): a
 * range query looks for blocks starting this much before it. */
#define READER_MAX_SPAN_NS (2 * 3600ll * 1000000000ll)

/* Rows by id: ids are dense (the writer hands them out one by one), so a table indexed by id
 * finds a row without hashing; the rows themselves live in the reader's arena. A slot also holds
 * a word of the row (a stack's depth and status): the naming of a day's counts looks millions of
 * stacks up in no particular order, and reading the row's own first line missed the cache a
 * second time. */
struct idslot {
	void *p;
	uint64_t word;
};

struct idtab {
	struct idslot *v;
	size_t n;
};

/* Ids beyond this are not ember's (a damaged chunk): refused rather than indexed. */
#define READER_MAX_ID (1ll << 32)

static const struct idslot *idtab_slot(const struct idtab *t, int64_t id)
{
	return id > 0 && (uint64_t)id < t->n && t->v[id].p ? &t->v[id] : NULL;
}

static void *idtab_get(const struct idtab *t, int64_t id)
{
	return id > 0 && (uint64_t)id < t->n ? t->v[id].p : NULL;
}

static int idtab_put(struct idtab *t, int64_t id, void *p, uint64_t word)
{
	if (id <= 0 || id >= READER_MAX_ID)
		return -EBADMSG;
	if ((uint64_t)id >= t->n) {
		size_t n = t->n ? t->n : 1024;
		struct idslot *nv;

		while (n <= (uint64_t)id)
			n *= 2;
		nv = realloc(t->v, n * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		memset(nv + t->n, 0, (n - t->n) * sizeof(*nv));
		t->v = nv;
		t->n = n;
	}
	t->v[id] = (struct idslot){ p, word };
	return 0;
}

/* A bump allocator: rows are never freed one by one, only all at once with the reader. */
struct arena {
	char *cur;
	size_t left;
	void **blocks;
	size_t nblocks;
};

#define ARENA_BLOCK (1u << 20)

static void *arena_alloc(struct arena *a, size_t size)
{
	void *p;

	size = (size + 15) & ~(size_t)15;
	if (size > a->left) {
		size_t bs = size > ARENA_BLOCK ? size : ARENA_BLOCK;
		void **nb = realloc(a->blocks, (a->nblocks + 1) * sizeof(*nb));

		if (!nb)
			return NULL;
		a->blocks = nb;
		a->cur = malloc(bs);
		if (!a->cur) {
			a->left = 0;
			return NULL;
		}
		a->blocks[a->nblocks++] = a->cur;
		a->left = bs;
	}
	p = a->cur;
	a->cur += size;
	a->left -= size;
	return p;
}

static void arena_free(struct arena *a)
{
	for (size_t i = 0; i < a->nblocks; i++)
		free(a->blocks[i]);
	free(a->blocks);
	memset(a, 0, sizeof(*a));
}

struct rstring {
	char str[1];
};

struct rprocess {
	struct dict_process row;
};

struct rthread {
	int64_t id;
	struct dict_thread row;
	struct storage_thread t;
	bool resolved;
	unsigned int match_gen; /* the query generation `matches` was computed for */
	bool matches;
};

/*
 * A frame row. Equal rows can have several ids (the writer forgets idle rows and strings in
 * memory, and interns them again with new ids: the same text under two string ids), so lists
 * group frames by content, never by id: `same` is the first frame this reader met with equal
 * content, `func` the first with the same function (kind, name and module text; content for a
 * frame without a name). Both 0 until canon_frame computes them.
 */
struct rframe {
	int64_t id;
	struct dict_frame row;
	struct storage_frame f;
	bool resolved;
	int64_t same, func;
};

/* A content key (see rframe) and the first frame id met with it. */
struct rcanon {
	int64_t id;
	UT_hash_handle hh;
	size_t len;
	uint8_t key[];
};

/*
 * Stack chunks hold tens of thousands of stacks, of which a query may need a few: during a query
 * they stay open (decompressed) while partly decoded, so that each segment is decoded once, at
 * most READER_OPEN_CHUNKS of them and READER_OPEN_BYTES (beyond which the least recently used
 * closes; one reopened later is decompressed again). A chunk whose every segment was decoded
 * closes, and every chunk at the end of the query.
 */
#define READER_OPEN_CHUNKS 64
#define READER_OPEN_BYTES (64u << 20)

struct storage_reader {
	struct storage *db;
	struct idtab tab[DICT__MAX]; /* rows by id, per dictionary */
	struct arena arena;
	void *chunk_stmt[DICT__MAX];
	struct dict_stacks *open[READER_OPEN_CHUNKS]; /* least recently used first */
	size_t nopen;
	sqlite3_stmt *blocks, *span;
	unsigned int gen;     /* bumped by every query, for the per-thread filter cache */
	int snapshot_depth;   /* nested query calls share one read transaction */
	struct rcanon *canon; /* frames by content (entries in the arena) */
	struct codec_buf key; /* canon_frame's scratch */
};

/* ---- Snapshots. ---- */

/* Opens the read transaction of a query (or joins the one already open). */
static void snapshot_begin(struct storage_reader *r)
{
	if (!r->snapshot_depth++)
		sqlite3_exec(r->db->db, "BEGIN", NULL, NULL, NULL);
}

static void close_stacks(struct storage_reader *r, size_t i);

static void snapshot_end(struct storage_reader *r)
{
	if (--r->snapshot_depth)
		return;
	sqlite3_exec(r->db->db, "COMMIT", NULL, NULL, NULL);
	/* Between queries the rows cached are enough: the chunks opened for them go (a reader
	 * that lives long, as `ember top`'s, would hold them for nothing). */
	while (r->nopen)
		close_stacks(r, r->nopen - 1);
}

struct storage_reader *storage_reader__new(struct storage *db)
{
	struct storage_reader *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return NULL;
	r->db = db;
	err = storage_prepare(db,
			      "SELECT t_start, t_end, nsamples, level, data FROM blocks"
			      " WHERE t_start >= ?1 AND t_start < ?2 AND t_end >= ?3"
			      " ORDER BY t_start, id",
			      &r->blocks);
	if (!err)
		/* max(t_end) over all blocks would scan the table (t_end has no index): 170 ms per
		 * call on a day of history, and `ember top` asks at every refresh. Blocks are
		 * written in time order, so the latest end is among the latest starts. */
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

/* ---- Dictionary caches. ---- */

static int cache_row(enum dict_kind kind, const void *row, void *ctx)
{
	struct storage_reader *r = ctx;
	int64_t id = dict_row_id(kind, row);
	void *e;

	if (idtab_get(&r->tab[kind], id))
		return 0;
	switch (kind) {
	case DICT_STRING: {
		const struct dict_string *s = row;
		struct rstring *rs = arena_alloc(&r->arena, s->len + 1);

		if (rs) {
			memcpy(rs->str, s->str, s->len);
			rs->str[s->len] = '\0';
		}
		e = rs;
		break;
	}
	case DICT_PROCESS: {
		struct rprocess *p = arena_alloc(&r->arena, sizeof(*p));

		if (p)
			p->row = *(const struct dict_process *)row;
		e = p;
		break;
	}
	case DICT_THREAD: {
		struct rthread *t = arena_alloc(&r->arena, sizeof(*t));

		if (t) {
			memset(t, 0, sizeof(*t));
			t->id = id;
			t->row = *(const struct dict_thread *)row;
		}
		e = t;
		break;
	}
	case DICT_STACK: {
		const struct dict_stack *k = row;
		int64_t *frames = arena_alloc(&r->arena, (k->depth + 1) * sizeof(int64_t));

		if (!frames)
			return -ENOMEM;
		memcpy(frames, k->frames, k->depth * sizeof(int64_t));
		return idtab_put(&r->tab[kind], id, frames,
				 (uint64_t)k->depth | (uint64_t)k->status << 32);
	}
	case DICT_FRAME: {
		struct rframe *f = arena_alloc(&r->arena, sizeof(*f));

		if (f) {
			memset(f, 0, sizeof(*f));
			f->id = id;
			f->row = *(const struct dict_frame *)row;
		}
		e = f;
		break;
	}
	default:
		return -EINVAL;
	}
	return e ? idtab_put(&r->tab[kind], id, e, 0) : -ENOMEM;
}

/* Loads the chunk holding `id` into the caches. 0, -ENOENT or -errno. */
static int load_chunk(struct storage_reader *r, enum dict_kind kind, int64_t id)
{
	int err;

	if (id <= 0)
		return -ENOENT;
	snapshot_begin(r);
	err = dict_load_chunk_of(r->db, kind, id, &r->chunk_stmt[kind], cache_row, r);
	snapshot_end(r);
	return err;
}

static void close_stacks(struct storage_reader *r, size_t i)
{
	dict_stacks_free(r->open[i]);
	memmove(&r->open[i], &r->open[i + 1], (r->nopen - i - 1) * sizeof(r->open[0]));
	r->nopen--;
}

/* Decodes the segment of the stack chunk holding `id` into the caches. 0, -ENOENT or -errno. */
static int load_stack(struct storage_reader *r, int64_t id)
{
	struct dict_stacks *c = NULL;
	size_t i, bytes = 0;
	int err = 0;

	if (id <= 0)
		return -ENOENT;
	/* The chunk stays open until the end of the query holding the snapshot, this one if
	 * none. */
	snapshot_begin(r);
	for (i = r->nopen; i-- > 0;)
		if (dict_stacks_covers(r->open[i], id)) {
			c = r->open[i];
			memmove(&r->open[i], &r->open[i + 1],
				(r->nopen - i - 1) * sizeof(r->open[0]));
			r->open[r->nopen - 1] = c;
			break;
		}
	if (!c) {
		err = dict_stacks_load(r->db, id, &r->chunk_stmt[DICT_STACK], &c);
		if (err)
			goto out;
		if (r->nopen == READER_OPEN_CHUNKS)
			close_stacks(r, 0);
		r->open[r->nopen++] = c;
	}
	err = dict_stacks_decode_of(c, id, cache_row, r);
	if (dict_stacks_done(c)) {
		close_stacks(r, r->nopen - 1);
		goto out;
	}
	for (i = 0; i < r->nopen; i++)
		bytes += dict_stacks_bytes(r->open[i]);
	while (bytes > READER_OPEN_BYTES && r->nopen > 1) {
		bytes -= dict_stacks_bytes(r->open[0]);
		close_stacks(r, 0);
	}
out:
	snapshot_end(r);
	return err;
}

#define CACHE_GET(kind, idp, out) ((out) = idtab_get(&r->tab[kind], *(idp)))

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Brings the stacks of ids[] into the cache in id order: the stacks of one chunk one after the
 * other, so each chunk is opened once. 0 or -ENOMEM (stacks that fail to load are left out:
 * their lookup reports it).
 */
static int prefetch_stacks(struct storage_reader *r, const int64_t *ids, size_t n)
{
	int64_t *miss = malloc((n + 1) * sizeof(*miss));
	size_t m = 0;
	int err = 0;

	if (!miss)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (ids[i] > 0 && !idtab_get(&r->tab[DICT_STACK], ids[i]))
			miss[m++] = ids[i];
	qsort(miss, m, sizeof(*miss), cmp_id);
	for (size_t i = 0; i < m && !err; i++)
		if ((!i || miss[i] != miss[i - 1]) && !idtab_get(&r->tab[DICT_STACK], miss[i]) &&
		    load_stack(r, miss[i]) == -ENOMEM)
			err = -ENOMEM;
	free(miss);
	return err;
}

static const char *lookup_string(struct storage_reader *r, int64_t id)
{
	struct rstring *s;

	if (!id)
		return NULL;
	CACHE_GET(DICT_STRING, &id, s);
	if (!s && !load_chunk(r, DICT_STRING, id))
		CACHE_GET(DICT_STRING, &id, s);
	return s ? s->str : "[missing string]";
}

static struct rprocess *lookup_process(struct storage_reader *r, int64_t id)
{
	struct rprocess *p;

	CACHE_GET(DICT_PROCESS, &id, p);
	if (!p && !load_chunk(r, DICT_PROCESS, id))
		CACHE_GET(DICT_PROCESS, &id, p);
	return p;
}

static struct rthread *lookup_thread(struct storage_reader *r, int64_t id)
{
	struct rthread *t;
	struct rprocess *p;
	int err = 0;

	CACHE_GET(DICT_THREAD, &id, t);
	if (!t) {
		err = load_chunk(r, DICT_THREAD, id);
		if (!err)
			CACHE_GET(DICT_THREAD, &id, t);
		if (!t) {
			errno = err && err != -ENOENT ? -err : ENOENT;
			return NULL;
		}
	}
	if (t->resolved)
		return t;
	p = lookup_process(r, t->row.process);
	t->t.tid = t->row.tid;
	t->t.comm = lookup_string(r, t->row.comm);
	if (!t->t.comm)
		t->t.comm = "";
	if (p) {
		t->t.pid = p->row.pid;
		t->t.proc_start = p->row.proc_start;
		t->t.exe = lookup_string(r, p->row.exe);
		t->t.cmdline = lookup_string(r, p->row.cmdline);
		t->t.uid = p->row.uid;
		t->t.started_ns = p->row.uid == UINT32_MAX && !p->row.exe ? 0 : p->row.started_ns;
	} else {
		t->t.uid = UINT32_MAX;
	}
	t->resolved = true;
	return t;
}

const struct storage_thread *storage_reader__thread(struct storage_reader *r, int64_t id)
{
	struct rthread *t = lookup_thread(r, id);

	return t ? &t->t : NULL;
}

int storage_reader__stack(struct storage_reader *r, int64_t id, const int64_t **frames, size_t *n,
			  enum storage_stack_status *status)
{
	const struct idslot *s = idtab_slot(&r->tab[DICT_STACK], id);
	int err;

	if (!s) {
		err = load_stack(r, id);
		if (err)
			return err;
		s = idtab_slot(&r->tab[DICT_STACK], id);
		if (!s)
			return -ENOENT;
	}
	/* The word: depth, status << 32 (see cache_row). */
	*frames = s->p;
	*n = (uint32_t)s->word;
	if (status)
		*status = (enum storage_stack_status)(s->word >> 32);
	return 0;
}

static struct rframe *lookup_frame(struct storage_reader *r, int64_t id)
{
	struct rframe *f;
	int err = 0;

	CACHE_GET(DICT_FRAME, &id, f);
	if (!f) {
		err = load_chunk(r, DICT_FRAME, id);
		if (!err)
			CACHE_GET(DICT_FRAME, &id, f);
		if (!f) {
			errno = err && err != -ENOENT ? -err : ENOENT;
			return NULL;
		}
	}
	if (!f->resolved) {
		f->f.kind = (enum storage_frame_kind)f->row.kind;
		f->f.name = lookup_string(r, f->row.name);
		f->f.module = lookup_string(r, f->row.module);
		f->f.offset = f->row.offset;
		f->f.file = lookup_string(r, f->row.file);
		f->f.line = f->row.line;
		f->f.inlined = f->row.inlined;
		f->f.build_id = lookup_string(r, f->row.build_id);
		f->resolved = true;
	}
	return f;
}

const struct storage_frame *storage_reader__frame(struct storage_reader *r, int64_t id)
{
	struct rframe *f = lookup_frame(r, id);

	return f ? &f->f : NULL;
}

/* Appends a string to a content key: NULL and "" differ, and no text can run into the next. */
static void key_str(struct codec_buf *b, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	codec_buf_varint(b, s ? len + 1 : 0);
	codec_buf_bytes(b, s, len);
}

/* The first frame id this reader met with the key in r->key, `id` when it is the first. */
static int64_t canon_of(struct storage_reader *r, int64_t id)
{
	struct rcanon *c;

	if (r->key.err)
		return -ENOMEM;
	HASH_FIND(hh, r->canon, r->key.p, r->key.len, c);
	if (c)
		return c->id;
	c = arena_alloc(&r->arena, sizeof(*c) + r->key.len);
	if (!c)
		return -ENOMEM;
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->len = r->key.len;
	memcpy(c->key, r->key.p, r->key.len);
	HASH_ADD(hh, r->canon, key, c->len, c);
	return id;
}

/* Fills in f->same and f->func (see rframe). 0 or -ENOMEM. */
static int canon_frame(struct storage_reader *r, struct rframe *f)
{
	int64_t id;

	if (f->same)
		return 0;
	r->key.len = 0;
	codec_buf_bytes(&r->key, "e", 1);
	codec_buf_varint(&r->key, f->row.kind);
	key_str(&r->key, f->f.name);
	key_str(&r->key, f->f.module);
	codec_buf_varint(&r->key, f->f.offset);
	key_str(&r->key, f->f.file);
	codec_buf_varint(&r->key, f->f.line);
	codec_buf_varint(&r->key, f->f.inlined);
	key_str(&r->key, f->f.build_id);
	id = canon_of(r, f->id);
	if (id < 0)
		return (int)id;
	f->same = id;
	if (f->f.name) {
		r->key.len = 0;
		codec_buf_bytes(&r->key, "f", 1);
		codec_buf_varint(&r->key, f->row.kind);
		key_str(&r->key, f->f.name);
		key_str(&r->key, f->f.module);
		id = canon_of(r, f->id);
		if (id < 0) {
			f->same = 0;
			return (int)id;
		}
	}
	f->func = id;
	return 0;
}

/* Frame `id` with its `same` and `func` filled in; NULL with errno. */
static struct rframe *lookup_canon(struct storage_reader *r, int64_t id)
{
	struct rframe *f = lookup_frame(r, id);
	int err;

	if (f && (err = canon_frame(r, f))) {
		errno = -err;
		return NULL;
	}
	return f;
}

int64_t storage_reader__frame_same(struct storage_reader *r, int64_t id)
{
	struct rframe *f = lookup_canon(r, id);

	return f ? f->same : -errno;
}

/* ---- Filters. ---- */

static bool in_list32(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static bool filter_on_threads(const struct storage_filter *f)
{
	return f->npids || f->ntids || f->comm || f->binary;
}

/* Whether thread `id` passes the filter; a thread the database lacks does not. */
static bool thread_matches(struct storage_reader *r, const struct storage_filter *f, int64_t id)
{
	struct rthread *rt;
	const struct storage_thread *t;
	bool ok;

	if (!filter_on_threads(f))
		return true;
	rt = lookup_thread(r, id);
	if (!rt)
		return false;
	if (rt->match_gen == r->gen)
		return rt->matches;
	t = &rt->t;
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

static bool cgroup_in(const struct storage_filter *f, uint64_t cgroup)
{
	for (size_t i = 0; i < f->ncgroups; i++)
		if (f->cgroups[i] == cgroup)
			return true;
	return false;
}

/* ---- Walking blocks. ---- */

/*
 * One block of a walk, with everything decoded that the filter needs: `keep` says per sample
 * whether it matches (NULL: all do), the other columns are NULL unless asked for.
 */
struct wblk {
	struct codec_block *b;
	size_t n;
	const int64_t *threads, *stacks;
	size_t nstacks;
	const uint64_t *cgroups;
	const uint32_t *tidx, *sidx, *cidx, *cpu, *count;
	const int64_t *time;
	uint8_t *keep;
	int level;
};

enum {
	NEED_STACK = 1,
	NEED_TIME = 2,
	NEED_ALL = 4, /* every column (the sample walk) */
};

typedef int (*block_fn)(struct storage_reader *r, struct wblk *wb, void *ctx);

/*
 * Calls fn for each block overlapping the filter's range with at least one thread and cgroup
 * that match, in one read transaction. 0, what fn returned, or -errno.
 */
static int walk_blocks(struct storage_reader *r, const struct storage_filter *f, int need,
		       block_fn fn, void *ctx)
{
	int64_t from = f->from_ns, to = f->to_ns ? f->to_ns : INT64_MAX;
	uint8_t *tmatch = NULL, *cmatch = NULL;
	size_t tcap = 0, ccap = 0;
	int rc = SQLITE_DONE, err = 0;

	r->gen++;
	snapshot_begin(r);
	sqlite3_bind_int64(r->blocks, 1,
			   from > INT64_MIN + READER_MAX_SPAN_NS ? from - READER_MAX_SPAN_NS
								 : INT64_MIN);
	sqlite3_bind_int64(r->blocks, 2, to);
	sqlite3_bind_int64(r->blocks, 3, from);
	while (!err && (rc = sqlite3_step(r->blocks)) == SQLITE_ROW) {
		int64_t t_start = sqlite3_column_int64(r->blocks, 0);
		int64_t t_end = sqlite3_column_int64(r->blocks, 1);
		int64_t n = sqlite3_column_int64(r->blocks, 2);
		struct wblk wb = { .level = sqlite3_column_int(r->blocks, 3) };
		bool whole = t_start >= from && t_end < to, any = false, filter_cg = f->ncgroups;
		size_t k, m, c;

		if (n < 0 || n > CODEC_MAX_SAMPLES || wb.level < STORAGE_LEVEL_FLUSH ||
		    wb.level > STORAGE_LEVEL_ROLLUP) {
			err = -EBADMSG;
			break;
		}
		wb.b = codec_block__open(sqlite3_column_blob(r->blocks, 4),
					 (size_t)sqlite3_column_bytes(r->blocks, 4), t_start,
					 (size_t)n);
		if (!wb.b) {
			err = -errno;
			break;
		}
		wb.n = (size_t)n;
		wb.threads = codec_block__threads(wb.b, &k);
		wb.stacks = codec_block__stacks(wb.b, &m);
		wb.nstacks = m;
		wb.cgroups = codec_block__cgroups(wb.b, &c);
		/* Dictionaries are sorted: their last ids are the largest. */
		if ((k && wb.threads[k - 1] >= READER_MAX_ID) ||
		    (m && wb.stacks[m - 1] >= READER_MAX_ID)) {
			codec_block__free(wb.b);
			err = -EBADMSG;
			break;
		}
		if (k > tcap || c > ccap) {
			uint8_t *nt = realloc(tmatch, k + 1), *nc;

			if (nt)
				tmatch = nt;
			nc = realloc(cmatch, c + 1);
			if (nc)
				cmatch = nc;
			if (!nt || !nc) {
				err = -ENOMEM;
				codec_block__free(wb.b);
				break;
			}
			tcap = k > tcap ? k : tcap;
			ccap = c > ccap ? c : ccap;
		}
		for (size_t i = 0; i < k; i++)
			any |= (tmatch[i] = thread_matches(r, f, wb.threads[i]));
		if (any && filter_cg) {
			any = false;
			for (size_t i = 0; i < c; i++)
				any |= (cmatch[i] = cgroup_in(f, wb.cgroups[i]));
		}
		if (!any) {
			codec_block__free(wb.b);
			continue;
		}
		err = codec_block__thread_col(wb.b, &wb.tidx);
		if (!err && (need & (NEED_STACK | NEED_ALL)))
			err = codec_block__stack_col(wb.b, &wb.sidx);
		if (!err && (!whole || (need & (NEED_TIME | NEED_ALL))))
			err = codec_block__time_col(wb.b, &wb.time);
		if (!err && (filter_cg || (need & NEED_ALL)))
			err = codec_block__cgroup_col(wb.b, &wb.cidx);
		if (!err && (need & NEED_ALL))
			err = codec_block__cpu_col(wb.b, &wb.cpu);
		if (!err)
			err = codec_block__count_col(wb.b, &wb.count);
		if (!err && (filter_on_threads(f) || filter_cg || !whole)) {
			wb.keep = malloc(wb.n + 1);
			if (!wb.keep)
				err = -ENOMEM;
			for (size_t i = 0; !err && i < wb.n; i++)
				wb.keep[i] = tmatch[wb.tidx[i]] &&
					     (!filter_cg || cmatch[wb.cidx[i]]) &&
					     (whole || (wb.time[i] >= from && wb.time[i] < to));
		}
		if (!err)
			err = fn(r, &wb, ctx);
		free(wb.keep);
		codec_block__free(wb.b);
	}
	if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = storage_errno(rc);
	sqlite3_reset(r->blocks);
	snapshot_end(r);
	free(tmatch);
	free(cmatch);
	return err;
}

/* ---- Samples. ---- */

struct sample_walk {
	storage_sample_fn fn;
	void *ctx;
	uint32_t *order;
	size_t cap;
};

static const int64_t *sort_time;

static int cmp_by_time(const void *a, const void *b)
{
	int64_t x = sort_time[*(const uint32_t *)a], y = sort_time[*(const uint32_t *)b];

	if (x != y)
		return x < y ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static int sample_block(struct storage_reader *r, struct wblk *wb, void *ctx)
{
	struct sample_walk *sw = ctx;
	size_t n = 0;
	int err = 0;

	if (wb->n > sw->cap) {
		uint32_t *no = realloc(sw->order, wb->n * sizeof(*no));

		if (!no)
			return -ENOMEM;
		sw->order = no;
		sw->cap = wb->n;
	}
	for (size_t i = 0; i < wb->n; i++)
		if (!wb->keep || wb->keep[i])
			sw->order[n++] = (uint32_t)i;
	/* The stacks its samples will be asked for, chunk by chunk. */
	err = prefetch_stacks(r, wb->stacks, wb->nstacks);
	if (err)
		return err;
	/* The block is in (cpu, time) order; a walk is in time order. */
	sort_time = wb->time;
	qsort(sw->order, n, sizeof(*sw->order), cmp_by_time);
	for (size_t j = 0; j < n && !err; j++) {
		uint32_t i = sw->order[j];
		struct storage_sample s = {
			.time_ns = wb->time[i],
			.thread = wb->threads[wb->tidx[i]],
			.stack = wb->stacks[wb->sidx[i]],
			.cgroup = wb->cgroups[wb->cidx[i]],
			.cpu = wb->cpu[i],
		};
		uint32_t times = wb->count ? wb->count[i] : 1;

		while (times-- && !err)
			err = sw->fn(&s, sw->ctx);
	}
	return err;
}

int storage_reader__samples(struct storage_reader *r, const struct storage_filter *f,
			    storage_sample_fn fn, void *ctx)
{
	struct sample_walk sw = { .fn = fn, .ctx = ctx };
	int err = walk_blocks(r, f, NEED_ALL, sample_block, &sw);

	free(sw.order);
	return err;
}

/* ---- Aggregation per (thread, stack). ---- */

/*
 * An open-addressing table of counts keyed by two ids below 2^32 packed into one word (a key of
 * 0 marks an empty slot, so the first id is never 0): 16 bytes a slot, Fibonacci hashing.
 */
struct agg_slot {
	uint64_t key, count;
};

struct agg {
	struct agg_slot *slots;
	size_t mask, used;
	unsigned int shift; /* 64 - log2(slots) */
	uint64_t total;
	uint32_t *filled; /* with `track`, the slots in use, so a reset clears only those */
	bool track;
};

static inline uint64_t agg_key(uint64_t a, uint64_t b)
{
	return a << 32 | b;
}

static inline size_t agg_slot_of(const struct agg *g, uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> g->shift);
}

static int agg_grow(struct agg *g)
{
	size_t ncap = g->slots ? (g->mask + 1) * 2 : 1024, k = 0;
	struct agg_slot *ns = calloc(ncap, sizeof(*ns)), *old = g->slots;
	uint32_t *nf = g->track ? malloc(ncap / 2 * sizeof(*nf)) : NULL;
	size_t omask = g->mask;

	if (!ns || (g->track && !nf)) {
		free(ns);
		free(nf);
		return -ENOMEM;
	}
	g->slots = ns;
	g->mask = ncap - 1;
	g->shift = 64;
	for (size_t c = ncap; c > 1; c >>= 1)
		g->shift--;
	for (size_t i = 0; old && i <= omask; i++) {
		size_t j;

		if (!old[i].key)
			continue;
		for (j = agg_slot_of(g, old[i].key); ns[j].key; j = (j + 1) & g->mask)
			;
		ns[j] = old[i];
		if (nf)
			nf[k++] = (uint32_t)j;
	}
	free(old);
	free(g->filled);
	g->filled = nf;
	return 0;
}

/* Adds `count` to the entry (a, b); a in [1, 2^32), b below 2^32. */
static inline int agg_add(struct agg *g, uint64_t a, uint64_t b, uint64_t count)
{
	uint64_t key = agg_key(a, b);
	size_t j;

	if ((g->used + 1) * 2 > g->mask + 1 && agg_grow(g))
		return -ENOMEM;
	for (j = agg_slot_of(g, key); g->slots[j].key; j = (j + 1) & g->mask)
		if (g->slots[j].key == key) {
			g->slots[j].count += count;
			g->total += count;
			return 0;
		}
	g->slots[j] = (struct agg_slot){ key, count };
	if (g->track)
		g->filled[g->used] = (uint32_t)j;
	g->used++;
	g->total += count;
	return 0;
}

/* Empties the table, keeping its memory: only the slots in use are cleared (a block's table is
 * reset for every block, and may have grown far larger than the next block needs). */
static void agg_reset(struct agg *g)
{
	if (g->track)
		for (size_t i = 0; i < g->used; i++)
			g->slots[g->filled[i]].key = 0;
	else if (g->slots)
		memset(g->slots, 0, (g->mask + 1) * sizeof(*g->slots));
	g->used = 0;
	g->total = 0;
}

static void agg_free(struct agg *g)
{
	free(g->slots);
	free(g->filled);
	memset(g, 0, sizeof(*g));
}

static int cmp_slot(const void *a, const void *b)
{
	uint64_t x = ((const struct agg_slot *)a)->key, y = ((const struct agg_slot *)b)->key;

	return x < y ? -1 : x > y;
}

/*
 * Sorts n slots by key: least significant digit first, 16 bits at a time over the bits that
 * are used (ids below 2^32 each); a few thousand by comparisons (the digits' counters would cost
 * more than the slots). 0 or -ENOMEM.
 */
static int sort_slots(struct agg_slot *v, size_t n)
{
	struct agg_slot *tmp, *src = v, *dst;
	uint64_t all = 0;
	size_t *count;

	if (n < 4096) {
		qsort(v, n, sizeof(*v), cmp_slot);
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		all |= v[i].key;
	tmp = malloc((n + 1) * sizeof(*tmp));
	count = malloc(65536 * sizeof(*count));
	if (!tmp || !count) {
		free(tmp);
		free(count);
		return -ENOMEM;
	}
	dst = tmp;
	for (unsigned int shift = 0; shift < 64 && (all >> shift); shift += 16) {
		size_t sum = 0;

		memset(count, 0, 65536 * sizeof(*count));
		for (size_t i = 0; i < n; i++)
			count[(src[i].key >> shift) & 0xffff]++;
		for (size_t d = 0; d < 65536; d++) {
			size_t c = count[d];

			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i].key >> shift) & 0xffff]++] = src[i];
		dst = src;
		src = src == v ? tmp : v;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(*v));
	free(tmp);
	free(count);
	return 0;
}

/* Resolves the threads and stacks of counts in the current snapshot (see query.h). */
static int prefetch(struct storage_reader *r, const struct storage_stack_count *v, size_t n)
{
	int64_t *ids = malloc((n + 1) * sizeof(*ids));
	int err = ids ? 0 : -ENOMEM;

	for (size_t i = 0; !err && i < n; i++) {
		if ((!i || v[i].thread != v[i - 1].thread) && !lookup_thread(r, v[i].thread) &&
		    errno != ENOENT)
			err = -errno;
		ids[i] = v[i].stack;
	}
	if (!err)
		err = prefetch_stacks(r, ids, n);
	free(ids);
	return err;
}

/* ---- Counting in parallel. ---- */

/*
 * Aggregating a day of samples is mostly decoding the thread and stack columns of every block:
 * work that is independent per block. The caller's thread reads the blocks (SQLite, the filter's
 * thread matches, which may look rows up) and hands each to decoder threads, one per CPU (at most
 * READER_MAX_WORKERS); each decodes its block and counts it into a table of its own, and the
 * caller merges the tables. Blobs are copied out of SQLite, so the read transaction's snapshot
 * is what every decoder sees.
 */
#define READER_MAX_WORKERS 4

struct cjob {
	void *blob;
	struct codec_block *b;
	size_t n;
	uint8_t *tmatch, *cmatch; /* per dictionary entry, owned */
	int64_t from, to;
	bool whole, filter;
	/* the result: keys thread << 32 | stack, with counts */
	struct agg_slot *out;
	size_t nout;
	uint64_t total;
	int err;
	struct cjob *next;
};

/*
 * The counts so far, as runs sorted by key with each key once: a finished block's counts come
 * sorted, and runs are merged as a binary counter adds (a run of 2^i blocks meets another of as
 * many), so each count is copied about log2(blocks) times, sequentially. Merging into one hash
 * table of the day's millions of pairs missed the cache on nearly every count, and needed a sort
 * at the end.
 */
#define RUNS_MAX 64

struct runs {
	struct agg_slot *v[RUNS_MAX];
	size_t n[RUNS_MAX];
	unsigned int level[RUNS_MAX];
	size_t nruns;
	uint64_t total;
};

static void runs_free(struct runs *rs)
{
	for (size_t i = 0; i < rs->nruns; i++)
		free(rs->v[i]);
	memset(rs, 0, sizeof(*rs));
}

/* Merges the last two runs into one. 0 or -ENOMEM. */
static int runs_merge_top(struct runs *rs)
{
	size_t i = rs->nruns - 2, na = rs->n[i], nb = rs->n[i + 1], n = 0, x = 0, y = 0;
	const struct agg_slot *a = rs->v[i], *b = rs->v[i + 1];
	struct agg_slot *out = malloc((na + nb + 1) * sizeof(*out));

	if (!out)
		return -ENOMEM;
	while (x < na && y < nb) {
		if (a[x].key < b[y].key) {
			out[n++] = a[x++];
		} else if (b[y].key < a[x].key) {
			out[n++] = b[y++];
		} else {
			out[n] = a[x++];
			out[n++].count += b[y++].count;
		}
	}
	memcpy(out + n, a + x, (na - x) * sizeof(*out));
	n += na - x;
	memcpy(out + n, b + y, (nb - y) * sizeof(*out));
	n += nb - y;
	free(rs->v[i]);
	free(rs->v[i + 1]);
	rs->v[i] = out;
	rs->n[i] = n;
	rs->level[i]++;
	rs->nruns--;
	return 0;
}

/* Takes the sorted run v[n] (owned) in. 0 or -ENOMEM (v freed). */
static int runs_push(struct runs *rs, struct agg_slot *v, size_t n)
{
	int err = 0;

	if (!n) {
		free(v);
		return 0;
	}
	/* Runs of equal level merge; the levels shrink down the stack, so it holds at most
	 * log2(blocks) + 1 runs. */
	if (rs->nruns == RUNS_MAX && (err = runs_merge_top(rs))) {
		free(v);
		return err;
	}
	rs->v[rs->nruns] = v;
	rs->n[rs->nruns] = n;
	rs->level[rs->nruns++] = 0;
	while (!err && rs->nruns > 1 && rs->level[rs->nruns - 2] <= rs->level[rs->nruns - 1])
		err = runs_merge_top(rs);
	return err;
}

/* Merges every run into one: rs->v[0] of rs->n[0] counts (none when rs->nruns is 0). */
static int runs_finish(struct runs *rs)
{
	int err = 0;

	while (!err && rs->nruns > 1)
		err = runs_merge_top(rs);
	return err;
}

struct cpool {
	pthread_mutex_t mu;
	pthread_cond_t cv_todo, cv_done;
	struct cjob *todo, **todo_tail, *done;
	size_t inflight;
	bool stop;
};

static void cjob_free(struct cjob *j)
{
	if (!j)
		return;
	codec_block__free(j->b);
	free(j->blob);
	free(j->tmatch);
	free(j->cmatch);
	free(j->out);
	free(j);
}

/* The widest digit of the sort of a block's keys (see radix_sort_u32). */
#define RADIX_BITS 14

/* A decoder's scratch, kept from block to block: the table that counts blocks of counts, the
 * buffers that sort the others. */
struct cscratch {
	struct agg local;
	uint32_t *keys, *tmp;
	size_t cap;
	uint32_t count[1u << RADIX_BITS];
};

static void cscratch_free(struct cscratch *sc)
{
	agg_free(&sc->local);
	free(sc->keys);
	free(sc->tmp);
	memset(sc, 0, sizeof(*sc));
}

/* A block's decoded columns and dictionaries, as its counting reads them (NULL: not needed). */
struct ccols {
	const uint32_t *tidx, *sidx, *cidx, *count;
	const int64_t *time, *threads, *stacks;
	size_t k, m; /* threads and stacks in the block's dictionaries */
};

/* Whether the block's sample i is one the query counts. */
static inline bool cjob_wants(const struct cjob *j, const struct ccols *c, size_t i)
{
	return !j->filter || (j->tmatch[c->tidx[i]] && (!c->cidx || j->cmatch[c->cidx[i]]) &&
			      (!c->time || (c->time[i] >= j->from && c->time[i] < j->to)));
}

/*
 * Sorts n keys no greater than max, least significant digit first, in passes of at most
 * RADIX_BITS bits: as few as the keys need when they are many (a whole block's keys have about 27
 * bits: two passes, where digits of 11 bits took three), narrower digits when they are few (a
 * block filtered down to one process: clearing 16,384 counters twice cost more than a third pass
 * over a few thousand keys). `count` holds 2^RADIX_BITS counters. Returns the buffer holding the
 * result: a or tmp.
 */
static uint32_t *radix_sort_u32(uint32_t *a, uint32_t *tmp, size_t n, uint32_t max, uint32_t *count)
{
	unsigned int bits = 0, passes = 0, digit = 0;
	size_t best = SIZE_MAX;

	while (bits < 32 && (max >> bits))
		bits++;
	/* A pass costs about its counters plus two touches a key. */
	for (unsigned int d = 8; bits && d <= RADIX_BITS; d++) {
		unsigned int np = (bits + d - 1) / d;
		size_t cost = np * (((size_t)1 << d) + 2 * n);

		if (cost < best) {
			best = cost;
			passes = np;
		}
	}
	digit = passes ? (bits + passes - 1) / passes : 0;
	for (unsigned int p = 0; p < passes; p++) {
		unsigned int shift = p * digit;
		uint32_t sum = 0, mask = (1u << digit) - 1, *t;

		memset(count, 0, ((size_t)mask + 1) * sizeof(*count));
		for (size_t i = 0; i < n; i++)
			count[(a[i] >> shift) & mask]++;
		for (size_t d = 0; d <= mask; d++) {
			uint32_t c = count[d];

			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[(a[i] >> shift) & mask]++] = a[i];
		t = a;
		a = tmp;
		tmp = t;
	}
	return a;
}

/*
 * Counts a block of single samples by sorting: each sample's (thread, stack) as one key below
 * k * m, sorted, equal keys counted in one pass. A table of a block's distinct pairs (tens of
 * thousands) misses the cache on nearly every sample; the sort's passes are sequential.
 */
static int cjob_count_sorted(struct cjob *j, struct cscratch *sc, const struct ccols *c)
{
	size_t n = 0, nout = 0, m = c->m;
	uint32_t *keys;

	if (j->n > sc->cap) {
		uint32_t *nk = realloc(sc->keys, j->n * sizeof(*nk)), *nt;

		if (!nk)
			return -ENOMEM;
		sc->keys = nk;
		nt = realloc(sc->tmp, j->n * sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		sc->tmp = nt;
		sc->cap = j->n;
	}
	for (size_t i = 0; i < j->n; i++)
		if (cjob_wants(j, c, i))
			sc->keys[n++] = c->tidx[i] * (uint32_t)m + c->sidx[i];
	keys = radix_sort_u32(sc->keys, sc->tmp, n, (uint32_t)(c->k * m - 1), sc->count);
	for (size_t i = 0; i < n; i++)
		nout += !i || keys[i] != keys[i - 1];
	if (nout && !(j->out = malloc(nout * sizeof(*j->out))))
		return -ENOMEM;
	nout = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && keys[i] == keys[i - 1]) {
			j->out[nout - 1].count++;
			continue;
		}
		j->out[nout++] = (struct agg_slot){ agg_key((uint64_t)c->threads[keys[i] / m],
							    (uint64_t)c->stacks[keys[i] % m]),
						    1 };
	}
	j->nout = nout;
	j->total = n;
	return 0;
}

/* Counts a block through a table: blocks with a count column (history rolled up), or whose
 * threads times stacks do not fit a 32-bit key. */
static int cjob_count_table(struct cjob *j, struct agg *local, const struct ccols *c)
{
	const uint32_t *tidx = c->tidx, *sidx = c->sidx, *count = c->count;
	uint32_t run_t = UINT32_MAX, run_s = 0;
	uint64_t run = 0;
	int err = 0;

	agg_reset(local);
	local->track = true;
	/* Runs of one thread in one stack are counted first: rolled-up rows of one minute. */
	for (size_t i = 0; !err && i < j->n; i++) {
		if (!cjob_wants(j, c, i))
			continue;
		if (tidx[i] != run_t || sidx[i] != run_s) {
			if (run)
				err = agg_add(local, 1 + (uint64_t)run_t, run_s, run);
			run_t = tidx[i];
			run_s = sidx[i];
			run = 0;
		}
		run += count ? count[i] : 1;
	}
	if (!err && run)
		err = agg_add(local, 1 + (uint64_t)run_t, run_s, run);
	if (!err && local->used && !(j->out = malloc(local->used * sizeof(*j->out))))
		err = -ENOMEM;
	for (size_t i = 0; !err && i < local->used; i++) {
		const struct agg_slot *sl = &local->slots[local->filled[i]];

		j->out[i].key = agg_key((uint64_t)c->threads[(sl->key >> 32) - 1],
					(uint64_t)c->stacks[(uint32_t)sl->key]);
		j->out[i].count = sl->count;
	}
	/* Sorted, as the counts of every block are (see struct runs). */
	if (!err)
		err = sort_slots(j->out, local->used);
	j->nout = err ? 0 : local->used;
	j->total = err ? 0 : local->total;
	return err;
}

/* Decodes and counts one block, into j->out. */
static void cjob_run(struct cjob *j, struct cscratch *sc)
{
	struct ccols c = { 0 };
	int err;

	c.threads = codec_block__threads(j->b, &c.k);
	c.stacks = codec_block__stacks(j->b, &c.m);
	err = codec_block__thread_col(j->b, &c.tidx);
	if (!err)
		err = codec_block__stack_col(j->b, &c.sidx);
	if (!err && !j->whole)
		err = codec_block__time_col(j->b, &c.time);
	if (!err && j->cmatch)
		err = codec_block__cgroup_col(j->b, &c.cidx);
	if (!err)
		err = codec_block__count_col(j->b, &c.count);
	if (!err && !c.count && c.k && c.m && (uint64_t)c.k * c.m <= UINT32_MAX)
		err = cjob_count_sorted(j, sc, &c);
	else if (!err)
		err = cjob_count_table(j, &sc->local, &c);
	if (err) {
		free(j->out);
		j->out = NULL;
		j->nout = 0;
		j->total = 0;
	}
	j->err = err;
	/* The columns are not needed any more: free them here, in parallel too. */
	codec_block__free(j->b);
	j->b = NULL;
	free(j->blob);
	j->blob = NULL;
}

static void *cpool_worker(void *arg)
{
	struct cpool *p = arg;
	struct cscratch sc;

	memset(&sc, 0, sizeof(sc));
	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct cjob *j;

		while (!p->todo && !p->stop)
			pthread_cond_wait(&p->cv_todo, &p->mu);
		if (!p->todo)
			break;
		j = p->todo;
		p->todo = j->next;
		if (!p->todo)
			p->todo_tail = &p->todo;
		pthread_mutex_unlock(&p->mu);
		cjob_run(j, &sc);
		pthread_mutex_lock(&p->mu);
		j->next = p->done;
		p->done = j;
		pthread_cond_signal(&p->cv_done);
	}
	pthread_mutex_unlock(&p->mu);
	cscratch_free(&sc);
	return NULL;
}

/* Merges finished jobs into `all`; waits until at most `keep` are in flight. */
static int cpool_collect(struct cpool *p, struct runs *all, size_t keep)
{
	int err = 0;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct cjob *done = p->done;

		p->done = NULL;
		pthread_mutex_unlock(&p->mu);
		while (done) {
			struct cjob *j = done;

			done = j->next;
			if (!err)
				err = j->err;
			if (!err) {
				all->total += j->total;
				err = runs_push(all, j->out, j->nout);
				j->out = NULL;
			}
			cjob_free(j);
			pthread_mutex_lock(&p->mu);
			p->inflight--;
			pthread_mutex_unlock(&p->mu);
		}
		pthread_mutex_lock(&p->mu);
		if (p->inflight <= keep && !p->done)
			break;
		if (!p->done)
			pthread_cond_wait(&p->cv_done, &p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return err;
}

static int count_parallel(struct storage_reader *r, const struct storage_filter *f,
			  struct runs *all)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int nworkers = ncpu < 1 ? 1 : ncpu > READER_MAX_WORKERS ? READER_MAX_WORKERS : (int)ncpu;
	int64_t from = f->from_ns, to = f->to_ns ? f->to_ns : INT64_MAX;
	pthread_t workers[READER_MAX_WORKERS];
	struct cpool p = { .todo_tail = &p.todo };
	int started = 0, rc = SQLITE_DONE, err = 0;
	int64_t *ahead = NULL;
	size_t ahead_n, ahead_cap = 0;
	sigset_t all_signals, old;

	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv_todo, NULL);
	pthread_cond_init(&p.cv_done, NULL);
	/* Decoders take no signals: the caller's handlers and signalfds stay the caller's. */
	sigfillset(&all_signals);
	pthread_sigmask(SIG_SETMASK, &all_signals, &old);
	for (; started < nworkers; started++)
		if (pthread_create(&workers[started], NULL, cpool_worker, &p))
			break;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	r->gen++;
	snapshot_begin(r);
	sqlite3_bind_int64(r->blocks, 1,
			   from > INT64_MIN + READER_MAX_SPAN_NS ? from - READER_MAX_SPAN_NS
								 : INT64_MIN);
	sqlite3_bind_int64(r->blocks, 2, to);
	sqlite3_bind_int64(r->blocks, 3, from);
	while (!err && (rc = sqlite3_step(r->blocks)) == SQLITE_ROW) {
		int64_t t_start = sqlite3_column_int64(r->blocks, 0);
		int64_t t_end = sqlite3_column_int64(r->blocks, 1);
		int64_t n = sqlite3_column_int64(r->blocks, 2);
		int level = sqlite3_column_int(r->blocks, 3);
		size_t len = (size_t)sqlite3_column_bytes(r->blocks, 4), k, m, c;
		const int64_t *threads, *stacks;
		const uint64_t *cgroups;
		bool any = false;
		struct cjob *j;

		if (n < 0 || n > CODEC_MAX_SAMPLES || level < STORAGE_LEVEL_FLUSH ||
		    level > STORAGE_LEVEL_ROLLUP) {
			err = -EBADMSG;
			break;
		}
		j = calloc(1, sizeof(*j));
		if (!j || !(j->blob = malloc(len + 1))) {
			free(j);
			err = -ENOMEM;
			break;
		}
		memcpy(j->blob, sqlite3_column_blob(r->blocks, 4), len);
		j->n = (size_t)n;
		j->from = from;
		j->to = to;
		j->whole = t_start >= from && t_end < to;
		j->b = codec_block__open(j->blob, len, t_start, j->n);
		if (!j->b) {
			err = -errno;
			cjob_free(j);
			break;
		}
		threads = codec_block__threads(j->b, &k);
		stacks = codec_block__stacks(j->b, &m);
		cgroups = codec_block__cgroups(j->b, &c);
		if ((k && threads[k - 1] >= READER_MAX_ID) ||
		    (m && stacks[m - 1] >= READER_MAX_ID)) {
			err = -EBADMSG;
			cjob_free(j);
			break;
		}
		j->filter = filter_on_threads(f) || f->ncgroups || !j->whole;
		j->tmatch = malloc(k + 1);
		j->cmatch = f->ncgroups ? malloc(c + 1) : NULL;
		if (!j->tmatch || (f->ncgroups && !j->cmatch)) {
			err = -ENOMEM;
			cjob_free(j);
			break;
		}
		for (size_t i = 0; i < k; i++)
			any |= (j->tmatch[i] = thread_matches(r, f, threads[i]));
		if (any && j->cmatch) {
			any = false;
			for (size_t i = 0; i < c; i++)
				any |= (j->cmatch[i] = cgroup_in(f, cgroups[i]));
		}
		if (!any) {
			cjob_free(j);
			continue;
		}
		if (!started) {
			/* No decoder threads: decode right here. */
			struct cscratch sc;

			memset(&sc, 0, sizeof(sc));
			cjob_run(j, &sc);
			cscratch_free(&sc);
			pthread_mutex_lock(&p.mu);
			j->next = p.done;
			p.done = j;
			p.inflight++;
			pthread_mutex_unlock(&p.mu);
			err = cpool_collect(&p, all, 0);
			continue;
		}
		/* A block counted whole names every stack of its dictionary: while the decoders
		 * count it, this thread brings those stacks in (from a copy: the block is the
		 * decoder's now). */
		ahead_n = 0;
		if (!j->filter && m) {
			int64_t *na = ahead_cap >= m ? ahead : realloc(ahead, m * sizeof(*ahead));

			if (na) {
				ahead = na;
				ahead_cap = ahead_cap >= m ? ahead_cap : m;
				memcpy(ahead, stacks, m * sizeof(*ahead));
				ahead_n = m;
			}
		}
		pthread_mutex_lock(&p.mu);
		j->next = NULL;
		*p.todo_tail = j;
		p.todo_tail = &j->next;
		p.inflight++;
		pthread_cond_signal(&p.cv_todo);
		pthread_mutex_unlock(&p.mu);
		if (ahead_n)
			err = prefetch_stacks(r, ahead, ahead_n);
		/* A few blocks ahead of the decoders at most: bounded memory. */
		if (!err)
			err = cpool_collect(&p, all, 2 * (size_t)started);
	}
	if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = storage_errno(rc);
	sqlite3_reset(r->blocks);
	/* Wait for what is in flight (merging it, or dropping it after an error). */
	{
		int e = cpool_collect(&p, all, 0);

		if (!err)
			err = e;
	}
	pthread_mutex_lock(&p.mu);
	p.stop = true;
	pthread_cond_broadcast(&p.cv_todo);
	pthread_mutex_unlock(&p.mu);
	for (int i = 0; i < started; i++)
		pthread_join(workers[i], NULL);
	snapshot_end(r);
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.cv_todo);
	pthread_cond_destroy(&p.cv_done);
	free(ahead);
	return err;
}

int storage_reader__stack_counts(struct storage_reader *r, const struct storage_filter *f,
				 struct storage_stack_count **out, size_t *n, uint64_t *total)
{
	struct storage_stack_count *v = NULL;
	struct runs all;
	uint64_t sum;
	size_t k = 0;
	int err;

	memset(&all, 0, sizeof(all));
	snapshot_begin(r);
	err = count_parallel(r, f, &all);
	if (!err)
		err = runs_finish(&all);
	k = !err && all.nruns ? all.n[0] : 0;
	if (!err && !(v = malloc((k + 1) * sizeof(*v))))
		err = -ENOMEM;
	/* In (thread, stack) order already: the key is thread << 32 | stack. */
	for (size_t j = 0; !err && j < k; j++)
		v[j] = (struct storage_stack_count){ (int64_t)(all.v[0][j].key >> 32),
						     (int64_t)(uint32_t)all.v[0][j].key,
						     all.v[0][j].count };
	sum = all.total;
	runs_free(&all);
	if (!err)
		err = prefetch(r, v, k);
	snapshot_end(r);
	if (err) {
		free(v);
	} else {
		*out = v;
		*n = k;
		if (total)
			*total = sum;
	}
	return err;
}

/* ---- Per-function totals. ---- */

/* A function: the first frame of its name and module (their text), see rframe's `func`. */
struct fn_entry {
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

int storage_reader__functions(struct storage_reader *r, const struct storage_filter *f,
			      struct storage_function_count **out, size_t *n, uint64_t *total)
{
	struct storage_stack_count *counts = NULL;
	size_t ncounts;
	uint64_t all = 0;
	int err;

	snapshot_begin(r);
	err = storage_reader__stack_counts(r, f, &counts, &ncounts, &all);
	if (!err)
		err = storage_reader__functions_of(r, counts, ncounts, out, n, NULL);
	snapshot_end(r);
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
	struct agg by_stack = { 0 };
	size_t i = 0, k = 0;
	uint64_t all = 0;
	int err = 0;

	/* Threads do not matter here: count per stack first, then walk each stack once. */
	for (size_t c = 0; !err && c < ncounts; c++) {
		all += counts[c].count;
		err = counts[c].stack > 0 && counts[c].stack < READER_MAX_ID
			  ? agg_add(&by_stack, (uint64_t)counts[c].stack, 0, counts[c].count)
			  : -EINVAL;
	}
	snapshot_begin(r);
	for (size_t j = 0; !err && by_stack.used && j <= by_stack.mask; j++) {
		const struct agg_slot *s = &by_stack.slots[j];
		const int64_t *frames;
		size_t depth;

		if (!s->key)
			continue;
		k++;
		err = storage_reader__stack(r, (int64_t)(s->key >> 32), &frames, &depth, NULL);
		for (size_t d = 0; !err && d < depth; d++) {
			struct rframe *rf = lookup_canon(r, frames[d]);

			if (!rf) {
				err = -errno;
				break;
			}
			HASH_FIND(hh, map, &rf->func, sizeof(rf->func), e);
			if (!e) {
				e = calloc(1, sizeof(*e));
				if (!e) {
					err = -ENOMEM;
					break;
				}
				e->frame_id = rf->func;
				HASH_ADD(hh, map, frame_id, sizeof(e->frame_id), e);
			}
			if (d == 0)
				e->self += s->count;
			if (e->mark != k) {
				e->total += s->count;
				e->mark = k;
			}
		}
	}
	snapshot_end(r);
	agg_free(&by_stack);
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

/* ---- Per-process and per-thread totals. ---- */

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
	size_t ncounts = 0, i = 0;
	uint64_t all = 0;
	int err;

	snapshot_begin(r);
	err = storage_reader__stack_counts(r, f, &counts, &ncounts, &all);
	for (size_t k = 0; !err && k < ncounts; k++) {
		const struct storage_thread *th = storage_reader__thread(r, counts[k].thread);
		const int64_t *frames;
		struct leaf_entry lkey;
		struct rframe *leaf;
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
		/* Equal leaf frames under two ids are one frame (see rframe). */
		leaf = lookup_canon(r, frames[0]);
		if (!leaf) {
			err = -errno;
			break;
		}
		memset(&lkey.key, 0, sizeof(lkey.key));
		lkey.key.task = key;
		lkey.key.frame = leaf->same;
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
	snapshot_end(r);
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

/* ---- Histograms. ---- */

struct histogram {
	uint64_t *counts;
	size_t n;
	int64_t from, bucket;
};

static int histogram_block(struct storage_reader *r, struct wblk *wb, void *ctx)
{
	struct histogram *h = ctx;

	for (size_t i = 0; i < wb->n; i++) {
		int64_t b;

		if (wb->keep && !wb->keep[i])
			continue;
		b = (wb->time[i] - h->from) / h->bucket;
		if (wb->time[i] >= h->from && (uint64_t)b < h->n)
			h->counts[b] += wb->count ? wb->count[i] : 1;
	}
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
	nb = (f->to_ns - f->from_ns) / bucket_ns + ((f->to_ns - f->from_ns) % bucket_ns != 0);
	if (nb > STORAGE_MAX_BUCKETS)
		return -EINVAL;
	h.n = (size_t)nb;
	h.counts = calloc(h.n + 1, sizeof(*h.counts));
	if (!h.counts)
		return -ENOMEM;
	err = walk_blocks(r, f, NEED_TIME, histogram_block, &h);
	if (err) {
		free(h.counts);
		return err;
	}
	*counts = h.counts;
	*n = h.n;
	return 0;
}

/* ---- Recordings and the span. ---- */

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

/* ---- The collector's own cost. ---- */

#define SELF_COLUMNS \
	"recording, t_ns, span_ns, cpu_pct, rss_kib, heap_kib, samples_per_s, dropped, hz"

static void self_row(sqlite3_stmt *st, struct storage_self *s)
{
	s->recording = sqlite3_column_int64(st, 0);
	s->time_ns = sqlite3_column_int64(st, 1);
	s->span_ns = sqlite3_column_int64(st, 2);
	s->cpu_pct = sqlite3_column_double(st, 3);
	s->rss_kib = (uint64_t)sqlite3_column_int64(st, 4);
	s->heap_kib = (uint64_t)sqlite3_column_int64(st, 5);
	s->samples_per_s = sqlite3_column_double(st, 6);
	s->dropped = (uint64_t)sqlite3_column_int64(st, 7);
	s->hz = (uint32_t)sqlite3_column_int64(st, 8);
}

int storage_reader__self(struct storage_reader *r, int64_t from_ns, int64_t to_ns,
			 struct storage_self **out, size_t *n)
{
	struct storage_self *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	sqlite3_stmt *st = NULL;
	int rc, err;

	*out = NULL;
	*n = 0;
	err = storage_errno(sqlite3_prepare_v2(r->db->db,
					       "SELECT " SELF_COLUMNS " FROM collector_self"
					       " WHERE t_ns >= ?1 AND t_ns < ?2 ORDER BY t_ns,"
					       " recording",
					       -1, &st, NULL));
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, from_ns);
	sqlite3_bind_int64(st, 2, to_ns ? to_ns : INT64_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				err = -ENOMEM;
				goto out;
			}
			v = nv;
		}
		self_row(st, &v[cnt++]);
	}
	if (rc != SQLITE_DONE) {
		err = storage_errno(rc);
		goto out;
	}
	*out = v;
	*n = cnt;
	v = NULL;
out:
	free(v);
	sqlite3_finalize(st);
	return err;
}

int storage_reader__self_latest(struct storage_reader *r, struct storage_self *out)
{
	sqlite3_stmt *st = NULL;
	int rc, err;

	err = storage_errno(sqlite3_prepare_v2(r->db->db,
					       "SELECT " SELF_COLUMNS " FROM collector_self"
					       " ORDER BY t_ns DESC, recording DESC LIMIT 1",
					       -1, &st, NULL));
	if (err)
		return err;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		self_row(st, out);
	else
		err = rc == SQLITE_DONE ? -ENODATA : storage_errno(rc);
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

void storage_reader__free(struct storage_reader *r)
{
	if (!r)
		return;
	while (r->snapshot_depth > 0)
		snapshot_end(r);
	for (int k = 0; k < DICT__MAX; k++) {
		free(r->tab[k].v);
		sqlite3_finalize(r->chunk_stmt[k]);
	}
	while (r->nopen)
		close_stacks(r, r->nopen - 1);
	HASH_CLEAR(hh, r->canon);
	codec_buf_free(&r->key);
	arena_free(&r->arena);
	sqlite3_finalize(r->blocks);
	sqlite3_finalize(r->span);
	free(r);
}
