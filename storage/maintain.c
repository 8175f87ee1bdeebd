// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Maintenance: what keeps the database compact and bounded while the collector writes it. Every
 * step is one short transaction, and storage_writer__maintain runs steps until its time budget
 * is spent, so the collector's loop never stalls for long:
 *
 *   - windows: flush blocks (one per second, small, fast zstd) are merged into windows aligned to
 *     the clock, sized by the sampling rate to hold about 64k samples (a minute on 64 CPUs at
 *     19 Hz, half an hour on 2); the current window is re-merged every minute, so at most a
 *     minute of history sits in flush blocks;
 *   - chunks: runs of small dictionary chunks (one per flush) are merged into chunks of up to
 *     16k rows, compressed harder;
 *   - retention: blocks entirely older than the retention are deleted; over the size limit, the
 *     oldest blocks go first; blocks older than the rollup age become per-minute counts of
 *     (thread, cgroup, stack);
 *   - pruning: after deletions, the dictionary rows no block refers to any more are removed. It
 *     scans every block's dictionaries a few at a time; what samples use meanwhile (and blocks
 *     merged meanwhile) is added to the referenced set as it happens, so nothing in use is lost;
 *   - vacuum: free pages beyond a little slack go back to the file system (auto_vacuum is
 *     INCREMENTAL), so the file shrinks after deletions instead of only ceasing to grow.
 *
 * The CPU-heavy part of merges (decoding, sorting, compressing hard) runs in a worker thread, one
 * job at a time, on copies of the rows it reads; the caller's thread only plans the job and, when
 * it is done, applies it in a short transaction after checking that its inputs are still there.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/codec.h"
#include "storage/storage_internal.h"

#define NS 1000000000ll
/* A window holds about this many samples. */
#define MAINT_WINDOW_TARGET 65536
/* The current window is merged once it has this many flush blocks (a minute of them). */
#define MAINT_PARTIAL_FLUSHES 60
/* A window is closed this long after its end (samples arrive a flush late). */
#define MAINT_GRACE_NS (10 * NS)
/* Blocks never span more than this: longer windows are split. */
#define MAINT_MAX_SPAN_NS (3600 * NS)
/* A block never holds more than this many samples (or rollup entries). */
#define MAINT_MAX_BLOCK (1u << 20)
/* A dictionary chunk of this many rows is full; merges never make one larger than the maximum. */
#define MAINT_CHUNK_SMALL 32768
#define MAINT_CHUNK_MAX 65536
/* Chunks are merged this many at a time (see chunk_tier). */
#define MAINT_CHUNK_FANOUT 8
/* Deletions per step. */
#define MAINT_DELETE_BATCH 256
/* Blocks scanned per prune step. */
#define MAINT_SCAN_BATCH 64
/* Prune at most this often after deletions (unless the size limit pushes). */
#define MAINT_PRUNE_INTERVAL_NS (3600 * NS)
/* Free pages kept for reuse before vacuuming: this share of the file, and at least 256 KiB. */
#define MAINT_FREE_SLACK_PCT 2
#define MAINT_FREE_SLACK_MIN (256ll << 10)
/* Pages vacuumed per step. */
#define MAINT_VACUUM_PAGES 2048

static const int64_t window_lengths[] = { 60, 120, 300, 600, 900, 1200, 1800, 3600 };

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static int64_t floor_to(int64_t t, int64_t unit)
{
	int64_t q = t / unit;

	return (q - (t % unit < 0)) * unit;
}

static int begin(struct storage_writer *w)
{
	return storage_exec(w->db, "BEGIN IMMEDIATE");
}

static int end(struct storage_writer *w, int err)
{
	if (!err)
		err = storage_exec(w->db, "COMMIT");
	if (err && !sqlite3_get_autocommit(w->db->db))
		sqlite3_exec(w->db->db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

/* ---- Samples in and out of blocks. ---- */

struct sbuf {
	struct storage_sample *v;
	uint32_t *count; /* NULL unless rollup entries were read */
	size_t n, cap;
};

static int sbuf_reserve(struct sbuf *b, size_t more, bool counts)
{
	if (b->n + more > b->cap || (counts && !b->count)) {
		size_t ncap = b->cap ? b->cap : 4096;
		struct storage_sample *nv;

		while (ncap < b->n + more)
			ncap *= 2;
		nv = realloc(b->v, ncap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		b->v = nv;
		if (counts || b->count) {
			uint32_t *nc = realloc(b->count, ncap * sizeof(*nc));

			if (!nc)
				return -ENOMEM;
			if (!b->count)
				for (size_t i = 0; i < b->n; i++)
					nc[i] = 1;
			b->count = nc;
		}
		b->cap = ncap;
	}
	return 0;
}

static void sbuf_free(struct sbuf *b)
{
	free(b->v);
	free(b->count);
	memset(b, 0, sizeof(*b));
}

/* Appends the samples (or rollup entries) of one block row. */
static int read_block(struct sbuf *b, const void *data, size_t len, int64_t t_start, int64_t n)
{
	const uint32_t *tidx, *sidx, *cidx, *cpu, *count;
	const int64_t *time, *threads, *stacks;
	const uint64_t *cgroups;
	struct codec_block *cb;
	size_t k, m, c;
	int err;

	if (n < 0 || n > CODEC_MAX_SAMPLES)
		return -EBADMSG;
	cb = codec_block__open(data, len, t_start, (size_t)n);
	if (!cb)
		return -errno;
	err = codec_block__count_col(cb, &count);
	if (!err)
		err = codec_block__time_col(cb, &time);
	if (!err)
		err = codec_block__cpu_col(cb, &cpu);
	if (!err)
		err = codec_block__stack_col(cb, &sidx);
	if (!err)
		err = codec_block__cgroup_col(cb, &cidx);
	if (!err)
		err = codec_block__thread_col(cb, &tidx);
	if (!err)
		err = sbuf_reserve(b, (size_t)n, count != NULL);
	if (err)
		goto out;
	threads = codec_block__threads(cb, &k);
	stacks = codec_block__stacks(cb, &m);
	cgroups = codec_block__cgroups(cb, &c);
	for (size_t i = 0; i < (size_t)n; i++) {
		b->v[b->n] = (struct storage_sample){ .time_ns = time[i],
						      .thread = threads[tidx[i]],
						      .stack = stacks[sidx[i]],
						      .cgroup = cgroups[cidx[i]],
						      .cpu = cpu[i] };
		if (b->count)
			b->count[b->n] = count ? count[i] : 1;
		b->n++;
	}
out:
	codec_block__free(cb);
	return err;
}

/* Adds what a block refers to into the prune's referenced sets, when a prune is scanning. */
static int note_refs(struct storage_writer *w, const struct storage_sample *v, size_t n)
{
	if (!w->prune.active)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (idset_add(&w->prune.ref_stacks, v[i].stack) ||
		    idset_add(&w->prune.ref_threads, v[i].thread)) {
			w->prune.active = false; /* start over later */
			return -ENOMEM;
		}
	return 0;
}

static int cmp_time(const void *a, const void *b)
{
	const struct storage_sample *x = a, *y = b;

	return x->time_ns < y->time_ns ? -1 : x->time_ns > y->time_ns;
}

static int64_t window_length(const struct storage_writer *w)
{
	int64_t n = 0, t0 = INT64_MAX, t1 = INT64_MIN;
	double rate;

	for (size_t i = 0; i < w->nflushes; i++) {
		n += w->flushes[i].n;
		t0 = w->flushes[i].t_start < t0 ? w->flushes[i].t_start : t0;
		t1 = w->flushes[i].t_end > t1 ? w->flushes[i].t_end : t1;
	}
	if (t1 <= t0)
		return window_lengths[0] * NS;
	rate = (double)n / ((double)(t1 - t0) / NS + 1);
	for (size_t i = 0; i < sizeof(window_lengths) / sizeof(window_lengths[0]); i++)
		if (rate * (double)window_lengths[i] >= MAINT_WINDOW_TARGET)
			return window_lengths[i] * NS;
	return 3600 * NS;
}

struct rkey {
	int64_t minute, thread, stack;
	uint64_t cgroup;
};

struct rentry {
	struct rkey key;
	uint64_t count;
	UT_hash_handle hh;
};

static int cmp_rentry(const void *a, const void *b)
{
	const struct rentry *x = *(struct rentry *const *)a, *y = *(struct rentry *const *)b;

	if (x->key.minute != y->key.minute)
		return x->key.minute < y->key.minute ? -1 : 1;
	if (x->key.thread != y->key.thread)
		return x->key.thread < y->key.thread ? -1 : 1;
	return x->key.stack < y->key.stack ? -1 : x->key.stack > y->key.stack;
}

/* ---- Deletions. ---- */

/* Deletes up to a batch of blocks chosen by `where` (bound to `arg`). Returns how many. */
static int delete_blocks(struct storage_writer *w, const char *sql, int64_t arg, int64_t *n)
{
	sqlite3_stmt *st = NULL;
	int err;

	*n = 0;
	err = begin(w);
	if (!err)
		err = storage_errno(sqlite3_prepare_v2(w->db->db, sql, -1, &st, NULL));
	if (!err) {
		sqlite3_bind_int64(st, 1, arg);
		err = storage_step_done(st);
		*n = sqlite3_changes(w->db->db);
	}
	/* The collector's own cost goes with the history it was measured over. */
	if (!err && *n)
		err = storage_exec(w->db, "DELETE FROM collector_self"
					  " WHERE t_ns < (SELECT min(t_start) FROM blocks)");
	sqlite3_finalize(st);
	err = end(w, err);
	if (!err && *n) {
		w->deleted_since_prune += *n;
		err = writer_load_flushes(w);
	}
	return err;
}

static int64_t used_bytes(struct storage_writer *w)
{
	int64_t pages = 0, freel = 0, size = 0;

	if (storage_query_int(w->db, "PRAGMA page_count", &pages) ||
	    storage_query_int(w->db, "PRAGMA freelist_count", &freel) ||
	    storage_query_int(w->db, "PRAGMA page_size", &size))
		return -1;
	return (pages - freel) * size;
}

/* ---- Dictionary chunks. ---- */

struct chunk_info {
	int64_t id, last, n;
	int tier;
};

static int list_chunks(struct storage_writer *w, enum dict_kind kind, int64_t from,
		       struct chunk_info **out, size_t *n)
{
	struct chunk_info *v = NULL;
	size_t cap = 0;
	sqlite3_stmt *st;
	char sql[128];
	int rc, err;

	*n = 0;
	snprintf(sql, sizeof(sql), "SELECT id, last, n, tier FROM %s WHERE id >= ? ORDER BY id",
		 dict_table[kind]);
	err = storage_errno(sqlite3_prepare_v2(w->db->db, sql, -1, &st, NULL));
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, from);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			struct chunk_info *nv;

			cap = cap ? cap * 2 : 256;
			nv = realloc(v, cap * sizeof(*nv));
			if (!nv) {
				err = -ENOMEM;
				break;
			}
			v = nv;
		}
		v[(*n)++] =
		    (struct chunk_info){ sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
					 sqlite3_column_int64(st, 2), sqlite3_column_int(st, 3) };
	}
	if (!err && rc != SQLITE_DONE)
		err = storage_errno(rc);
	sqlite3_finalize(st);
	if (err)
		free(v);
	else
		*out = v;
	return err;
}

/* ---- Jobs: the heavy part of a merge, run by the worker thread. ---- */

enum job_type {
	JOB_CHUNKS, /* merge (or prune) dictionary chunks */
	JOB_WINDOW, /* merge blocks into a window */
	JOB_ROLLUP, /* turn a block into per-minute counts */
};

/* An input: a chunk (id, last, n, tier) or a block (id, t_start, n, level), with its blob. */
struct job_in {
	int64_t id, a, n, b;
	void *data;
	size_t len;
};

/* An output block. */
struct job_out {
	int64_t t_start, t_end, n;
	void *data;
	size_t len;
};

struct job {
	enum job_type type;
	struct job_in *in;
	size_t nin;
	/* JOB_CHUNKS */
	enum dict_kind kind;
	int tier;	   /* of the result (-1 when it is full) */
	struct idset drop; /* rows to leave out */
	bool pruning;	   /* a prune's rewrite, not a merge */
	void *data;	   /* the result: one chunk (NULL when every row was dropped) */
	size_t len, rows, dropped;
	/* JOB_WINDOW, JOB_ROLLUP */
	int64_t window;
	bool closed;
	struct job_out *out;
	size_t nout;
	int err;
};

struct maint_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *job; /* submitted, not yet taken back */
	bool done;	 /* the worker finished `job` */
	bool stop;
};

static void job_free(struct job *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->nin; i++)
		free(j->in[i].data);
	free(j->in);
	for (size_t i = 0; i < j->nout; i++)
		free(j->out[i].data);
	free(j->out);
	free(j->data);
	idset_free(&j->drop);
	free(j);
}

static int job_add_out(struct job *j, const struct storage_sample *v, size_t n, int64_t unit,
		       void *data, size_t len)
{
	struct job_out *no = realloc(j->out, (j->nout + 1) * sizeof(*no));

	if (!no) {
		free(data);
		return -ENOMEM;
	}
	j->out = no;
	j->out[j->nout++] = (struct job_out){ codec_floor(v[0].time_ns, unit),
					      codec_floor(v[n - 1].time_ns, unit), (int64_t)n, data,
					      len };
	return 0;
}

/*
 * Encodes samples (time-sorted; `count` for rollup entries) as output blocks, split so that no
 * block spans more than MAINT_MAX_SPAN_NS or holds more than MAINT_MAX_BLOCK entries.
 */
static int encode_blocks(struct job *j, const struct storage_sample *v, const uint32_t *count,
			 size_t n, bool rollup, int zlevel)
{
	int err = 0;

	for (size_t i = 0; !err && i < n;) {
		size_t k = i + 1;
		void *data;
		size_t len;

		while (k < n && k - i < MAINT_MAX_BLOCK &&
		       v[k].time_ns - v[i].time_ns < MAINT_MAX_SPAN_NS)
			k++;
		int64_t unit = rollup ? 60 * NS : STORAGE_TIME_UNIT_NS;

		err = codec_block_encode(v + i, count ? count + i : NULL, k - i, v[i].time_ns, unit,
					 zlevel, &data, &len);
		if (!err)
			err = job_add_out(j, v + i, k - i, unit, data, len);
		i = k;
	}
	return err;
}

static int run_window(struct job *j)
{
	struct sbuf b = { 0 };
	int err = 0;

	for (size_t i = 0; !err && i < j->nin; i++)
		err = read_block(&b, j->in[i].data, j->in[i].len, j->in[i].a, j->in[i].n);
	if (!err && b.count)
		err = -EBADMSG; /* a rollup among raw samples */
	if (!err) {
		qsort(b.v, b.n, sizeof(*b.v), cmp_time);
		/* A closed window is compressed hard: it stays. */
		err = encode_blocks(j, b.v, NULL, b.n, false,
				    j->closed ? STORAGE_ZSTD_KEEP : STORAGE_ZSTD_FAST);
	}
	sbuf_free(&b);
	return err;
}

static int run_rollup(struct job *j)
{
	struct rentry *map = NULL, *e, *tmp, **sorted = NULL;
	struct storage_sample *out = NULL;
	uint32_t *counts = NULL;
	struct sbuf b = { 0 };
	size_t n = 0;
	int err = 0;

	for (size_t i = 0; !err && i < j->nin; i++)
		err = read_block(&b, j->in[i].data, j->in[i].len, j->in[i].a, j->in[i].n);
	for (size_t i = 0; i < b.n && !err; i++) {
		struct rkey key = { .minute = floor_to(b.v[i].time_ns, 60 * NS),
				    .thread = b.v[i].thread,
				    .stack = b.v[i].stack,
				    .cgroup = b.v[i].cgroup };

		HASH_FIND(hh, map, &key, sizeof(key), e);
		if (!e) {
			e = calloc(1, sizeof(*e));
			if (!e) {
				err = -ENOMEM;
				break;
			}
			e->key = key;
			HASH_ADD(hh, map, key, sizeof(key), e);
		}
		e->count += b.count ? b.count[i] : 1;
	}
	n = HASH_COUNT(map);
	sorted = malloc((n + 1) * sizeof(*sorted));
	out = malloc((n + 1) * sizeof(*out));
	counts = malloc((n + 1) * sizeof(*counts));
	if (!err && (!sorted || !out || !counts))
		err = -ENOMEM;
	if (!err) {
		size_t i = 0;

		HASH_ITER (hh, map, e, tmp)
			sorted[i++] = e;
		qsort(sorted, n, sizeof(*sorted), cmp_rentry);
		for (i = 0; i < n; i++) {
			out[i] = (struct storage_sample){ .time_ns = sorted[i]->key.minute,
							  .thread = sorted[i]->key.thread,
							  .stack = sorted[i]->key.stack,
							  .cgroup = sorted[i]->key.cgroup,
							  .cpu = STORAGE_CPU_UNKNOWN };
			/* A minute of one thread never holds 2^32 samples. */
			counts[i] = sorted[i]->count > UINT32_MAX ? UINT32_MAX
								  : (uint32_t)sorted[i]->count;
		}
		err = encode_blocks(j, out, counts, n, true, STORAGE_ZSTD_KEEP);
	}
	HASH_ITER (hh, map, e, tmp) {
		HASH_DEL(map, e);
		free(e);
	}
	free(sorted);
	free(out);
	free(counts);
	sbuf_free(&b);
	return err;
}

/* Rows of one kind gathered from chunks, with their own copies of strings and frames. */
struct rowbuf {
	enum dict_kind kind;
	void *rows;
	size_t n, cap;
	struct codec_buf extra;	  /* string bytes or frame ids the rows point into */
	const struct idset *drop; /* rows to leave out, or NULL */
	size_t dropped;
};

static int gather_row(enum dict_kind kind, const void *row, void *ctx)
{
	static const size_t size[DICT__MAX] = {
		sizeof(struct dict_string), sizeof(struct dict_frame), sizeof(struct dict_stack),
		sizeof(struct dict_process), sizeof(struct dict_thread)
	};
	struct rowbuf *b = ctx;
	char *dst;

	if (b->drop && idset_has(b->drop, dict_row_id(kind, row))) {
		b->dropped++;
		return 0;
	}
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 1024;
		void *nv = realloc(b->rows, ncap * size[kind]);

		if (!nv)
			return -ENOMEM;
		b->rows = nv;
		b->cap = ncap;
	}
	dst = (char *)b->rows + b->n++ * size[kind];
	memcpy(dst, row, size[kind]);
	/* Pointers into the chunk become offsets into `extra`, fixed up at the end. */
	if (kind == DICT_STRING) {
		struct dict_string *s = (struct dict_string *)dst;

		s->str = (const char *)(uintptr_t)b->extra.len;
		codec_buf_bytes(&b->extra, ((const struct dict_string *)row)->str, s->len);
	} else if (kind == DICT_STACK) {
		struct dict_stack *s = (struct dict_stack *)dst;

		s->frames = (const int64_t *)(uintptr_t)b->extra.len;
		codec_buf_bytes(&b->extra, ((const struct dict_stack *)row)->frames,
				s->depth * sizeof(int64_t));
	}
	return b->extra.err;
}

static int cmp_stack_id(const void *a, const void *b)
{
	int64_t x = ((const struct dict_stack *)a)->id, y = ((const struct dict_stack *)b)->id;

	return x < y ? -1 : x > y;
}

static void rowbuf_fixup(struct rowbuf *b)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->kind == DICT_STRING) {
			struct dict_string *s = (struct dict_string *)b->rows + i;

			s->str = (const char *)b->extra.p + (uintptr_t)s->str;
		} else if (b->kind == DICT_STACK) {
			struct dict_stack *s = (struct dict_stack *)b->rows + i;

			s->frames = (const int64_t *)(b->extra.p + (uintptr_t)s->frames);
		}
	}
	/* Stack chunks decode in their own order; every chunk is written in id order. */
	if (b->kind == DICT_STACK)
		qsort(b->rows, b->n, sizeof(struct dict_stack), cmp_stack_id);
}

int storage_recode_chunk(enum dict_kind kind, const void *data, size_t len, int64_t first,
			 int64_t last, size_t n, int level, void **out, size_t *out_len)
{
	struct rowbuf b = { .kind = kind };
	int err = dict_decode(kind, data, len, first, last, n, gather_row, &b);

	if (!err) {
		rowbuf_fixup(&b);
		err = dict_encode(kind, b.rows, b.n, level, out, out_len);
	}
	free(b.rows);
	codec_buf_free(&b.extra);
	return err;
}

static int run_chunks(struct job *j)
{
	struct rowbuf b = { .kind = j->kind, .drop = j->drop.nwords ? &j->drop : NULL };
	int err = 0;

	for (size_t i = 0; !err && i < j->nin; i++)
		err = dict_decode(j->kind, j->in[i].data, j->in[i].len, j->in[i].id, j->in[i].a,
				  (size_t)j->in[i].n, gather_row, &b);
	j->rows = b.n;
	j->dropped = b.dropped;
	if (!err && b.n) {
		rowbuf_fixup(&b);
		/* A chunk still small will be merged again: compress it hard only when it stays. */
		if (b.n >= MAINT_CHUNK_SMALL)
			j->tier = -1;
		err = dict_encode(j->kind, b.rows, b.n,
				  j->tier < 0 ? STORAGE_ZSTD_KEEP : STORAGE_ZSTD_FAST, &j->data,
				  &j->len);
	}
	free(b.rows);
	codec_buf_free(&b.extra);
	return err;
}

static void run_job(struct job *j)
{
	switch (j->type) {
	case JOB_CHUNKS:
		j->err = run_chunks(j);
		break;
	case JOB_WINDOW:
		j->err = run_window(j);
		break;
	case JOB_ROLLUP:
		j->err = run_rollup(j);
		break;
	}
}

static void *worker_main(void *arg)
{
	struct maint_worker *mw = arg;

	pthread_mutex_lock(&mw->mu);
	for (;;) {
		while (!mw->stop && (!mw->job || mw->done))
			pthread_cond_wait(&mw->cv, &mw->mu);
		if (mw->stop)
			break;
		pthread_mutex_unlock(&mw->mu);
		run_job(mw->job);
		pthread_mutex_lock(&mw->mu);
		mw->done = true;
		pthread_cond_broadcast(&mw->cv);
	}
	pthread_mutex_unlock(&mw->mu);
	return NULL;
}

void maint_worker_free(struct maint_worker *mw)
{
	if (!mw)
		return;
	pthread_mutex_lock(&mw->mu);
	mw->stop = true;
	pthread_cond_broadcast(&mw->cv);
	pthread_mutex_unlock(&mw->mu);
	pthread_join(mw->thread, NULL);
	job_free(mw->job);
	pthread_mutex_destroy(&mw->mu);
	pthread_cond_destroy(&mw->cv);
	free(mw);
}

/* Hands a job to the worker (started on first use). 0 or -errno (the job is freed). */
static int submit(struct storage_writer *w, struct job *j)
{
	struct maint_worker *mw = w->worker;
	sigset_t all, old;
	int err;

	if (!mw) {
		mw = calloc(1, sizeof(*mw));
		if (!mw) {
			job_free(j);
			return -ENOMEM;
		}
		pthread_mutex_init(&mw->mu, NULL);
		pthread_cond_init(&mw->cv, NULL);
		/* The worker takes no signals: the collector waits for them on a signalfd. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		err = -pthread_create(&mw->thread, NULL, worker_main, mw);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (err) {
			pthread_mutex_destroy(&mw->mu);
			pthread_cond_destroy(&mw->cv);
			free(mw);
			job_free(j);
			return err;
		}
		w->worker = mw;
	}
	pthread_mutex_lock(&mw->mu);
	mw->job = j;
	mw->done = false;
	pthread_cond_broadcast(&mw->cv);
	pthread_mutex_unlock(&mw->mu);
	return 0;
}

/* The job in the worker's hands: finished (returned, now the caller's), or NULL. With `wait`,
 * waits for it. */
static struct job *take(struct storage_writer *w, bool wait, bool *busy)
{
	struct maint_worker *mw = w->worker;
	struct job *j = NULL;

	*busy = false;
	if (!mw)
		return NULL;
	pthread_mutex_lock(&mw->mu);
	while (wait && mw->job && !mw->done)
		pthread_cond_wait(&mw->cv, &mw->mu);
	if (mw->job && mw->done) {
		j = mw->job;
		mw->job = NULL;
	}
	*busy = mw->job != NULL;
	pthread_mutex_unlock(&mw->mu);
	return j;
}

/* Copies the blob of column `col` of the current row of st into in. */
static int copy_blob(sqlite3_stmt *st, int col, struct job_in *in)
{
	int len = sqlite3_column_bytes(st, col);
	const void *p = sqlite3_column_blob(st, col);

	in->len = (size_t)len;
	in->data = malloc(in->len + 1);
	if (!in->data)
		return -ENOMEM;
	if (len)
		memcpy(in->data, p, in->len);
	return 0;
}

/* Adds the rows of blocks selected by st (id, t_start, nsamples, level, data) to the job. */
static int add_block_inputs(struct job *j, sqlite3_stmt *st, size_t max)
{
	int rc, err = 0;

	while (!err && j->nin < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct job_in *ni = realloc(j->in, (j->nin + 1) * sizeof(*ni)), *in;

		if (!ni)
			return -ENOMEM;
		j->in = ni;
		in = &j->in[j->nin];
		memset(in, 0, sizeof(*in));
		in->id = sqlite3_column_int64(st, 0);
		in->a = sqlite3_column_int64(st, 1);
		in->n = sqlite3_column_int64(st, 2);
		in->b = sqlite3_column_int64(st, 3);
		err = copy_blob(st, 4, in);
		if (!err)
			j->nin++;
	}
	if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = storage_errno(rc);
	return err;
}

/* ---- Planning jobs (in the caller's thread, reading only). ---- */

/* The oldest window with flush blocks, when due. NULL (and *err) when none is. */
static struct job *plan_window(struct storage_writer *w, int64_t now_ns, int *err)
{
	int64_t len, wstart = INT64_MAX, wend;
	size_t nin = 0;
	sqlite3_stmt *sel = NULL;
	struct job *j;
	bool closed;

	*err = 0;
	if (!w->nflushes)
		return NULL;
	len = window_length(w);
	for (size_t i = 0; i < w->nflushes; i++) {
		int64_t s = floor_to(w->flushes[i].t_start, len);

		wstart = s < wstart ? s : wstart;
	}
	wend = wstart + len;
	for (size_t i = 0; i < w->nflushes; i++)
		nin += floor_to(w->flushes[i].t_start, len) == wstart;
	/* A long window is merged every minute while it fills (quickly), then once more when it
	 * closes (compressed hard). */
	closed = now_ns >= wend + MAINT_GRACE_NS;
	if (!closed && (nin < MAINT_PARTIAL_FLUSHES || len <= 2 * MAINT_PARTIAL_FLUSHES * NS))
		return NULL;
	j = calloc(1, sizeof(*j));
	if (!j) {
		*err = -ENOMEM;
		return NULL;
	}
	j->type = JOB_WINDOW;
	j->window = wstart;
	j->closed = closed;
	/* Its flush blocks, and the window block an earlier merge made of it (blocks.window names
	 * the window: late samples can make a window's block start before the window). */
	*err = storage_prepare(w->db,
			       "SELECT id, t_start, nsamples, level, data FROM blocks WHERE"
			       " (level = 0 AND t_start >= ?1 AND t_start < ?2) OR"
			       " (level = 1 AND window = ?1)",
			       &sel);
	if (!*err) {
		sqlite3_bind_int64(sel, 1, wstart);
		sqlite3_bind_int64(sel, 2, wend);
		*err = add_block_inputs(j, sel, SIZE_MAX);
	}
	sqlite3_finalize(sel);
	if (*err || !j->nin) {
		job_free(j);
		return NULL;
	}
	return j;
}

/* The oldest raw block wholly older than the cutoff, to be rolled up. */
static struct job *plan_rollup(struct storage_writer *w, int64_t cutoff, int *err)
{
	sqlite3_stmt *sel = NULL;
	struct job *j = calloc(1, sizeof(*j));

	*err = j ? 0 : -ENOMEM;
	if (!j)
		return NULL;
	j->type = JOB_ROLLUP;
	*err = storage_prepare(w->db,
			       "SELECT id, t_start, nsamples, level, data FROM blocks WHERE level "
			       "<= 1"
			       " AND t_end < ? ORDER BY t_start LIMIT 1",
			       &sel);
	if (!*err) {
		sqlite3_bind_int64(sel, 1, cutoff);
		*err = add_block_inputs(j, sel, 1);
	}
	sqlite3_finalize(sel);
	if (*err || !j->nin) {
		job_free(j);
		return NULL;
	}
	return j;
}

/* Loads the blobs of chunks v[0..n) of `kind` into a job. */
static struct job *chunk_job(struct storage_writer *w, enum dict_kind kind,
			     const struct chunk_info *v, size_t n, int tier, int *err)
{
	struct job *j = calloc(1, sizeof(*j));
	sqlite3_stmt *st = NULL;
	char sql[128];

	*err = -ENOMEM;
	if (!j || !(j->in = calloc(n, sizeof(*j->in))))
		goto fail;
	j->type = JOB_CHUNKS;
	j->kind = kind;
	j->tier = tier;
	snprintf(sql, sizeof(sql), "SELECT data FROM %s WHERE id = ?", dict_table[kind]);
	*err = storage_errno(sqlite3_prepare_v2(w->db->db, sql, -1, &st, NULL));
	for (size_t i = 0; !*err && i < n; i++) {
		int rc;

		sqlite3_bind_int64(st, 1, v[i].id);
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			*err = rc == SQLITE_DONE ? -ENOENT : storage_errno(rc);
			break;
		}
		j->in[i] = (struct job_in){ v[i].id, v[i].last, v[i].n, v[i].tier, NULL, 0 };
		*err = copy_blob(st, 0, &j->in[i]);
		sqlite3_reset(st);
		j->nin = i + 1;
	}
	sqlite3_finalize(st);
	if (*err)
		goto fail;
	/* During a prune's rewrite, a merge drops the dead rows too. */
	if (w->prune.active && w->prune.phase == 1 && w->prune.dead[kind].nwords) {
		j->drop.bits = malloc(w->prune.dead[kind].nwords * sizeof(uint64_t));
		if (!j->drop.bits) {
			*err = -ENOMEM;
			goto fail;
		}
		memcpy(j->drop.bits, w->prune.dead[kind].bits,
		       w->prune.dead[kind].nwords * sizeof(uint64_t));
		j->drop.nwords = w->prune.dead[kind].nwords;
	}
	return j;
fail:
	job_free(j);
	return NULL;
}

/*
 * A run of chunks to merge: MAINT_CHUNK_FANOUT neighbours of the same tier become one chunk of
 * the next tier (fewer, at least two, when that many would exceed MAINT_CHUNK_MAX rows), like a
 * counter in base MAINT_CHUNK_FANOUT: every row is rewritten once per tier, a handful of times in
 * all. A chunk of MAINT_CHUNK_SMALL rows or more is full (tier -1) and stays as it is. Chunks are
 * neighbours when no chunk lies between them: a merged chunk covers the id ranges of its parts.
 */
static struct job *plan_chunks(struct storage_writer *w, int *err)
{
	*err = 0;
	for (int kind = 0; kind < DICT__MAX; kind++) {
		struct chunk_info *v = NULL;
		size_t n = 0, run = 0, rows = 0;

		*err = list_chunks(w, kind, 0, &v, &n);
		if (*err)
			return NULL;
		for (size_t i = 0; i <= n; i++) {
			bool joins = i < n && run && v[i].tier == v[i - 1].tier &&
				     rows + (size_t)v[i].n <= MAINT_CHUNK_MAX;

			if (joins) {
				run++;
				rows += (size_t)v[i].n;
			}
			if (run >= MAINT_CHUNK_FANOUT ||
			    (!joins && run >= 2 && i < n && v[i].tier == v[i - 1].tier)) {
				size_t last = joins ? i : i - 1;
				struct job *j = chunk_job(w, kind, v + last + 1 - run, run,
							  v[last].tier + 1, err);

				free(v);
				return j;
			}
			if (!joins) {
				run = i < n && v[i].tier >= 0 ? 1 : 0;
				rows = run ? (size_t)v[i].n : 0;
			}
		}
		free(v);
	}
	return NULL;
}

/* ---- Applying finished jobs (one short write transaction each). ---- */

/* Whether the chunk row still is as the job read it. */
static int chunk_unchanged(struct storage_writer *w, enum dict_kind kind, const struct job_in *in)
{
	sqlite3_stmt *st;
	char sql[128];
	int rc, same;

	snprintf(sql, sizeof(sql), "SELECT last, n, tier FROM %s WHERE id = ?", dict_table[kind]);
	rc = sqlite3_prepare_v2(w->db->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return storage_errno(rc);
	sqlite3_bind_int64(st, 1, in->id);
	rc = sqlite3_step(st);
	same = rc == SQLITE_ROW && sqlite3_column_int64(st, 0) == in->a &&
	       sqlite3_column_int64(st, 1) == in->n && sqlite3_column_int64(st, 2) == in->b;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? same : storage_errno(rc);
}

static int apply_chunks(struct storage_writer *w, struct job *j, struct storage_maint_stats *st)
{
	sqlite3_stmt *del = NULL, *ins = NULL;
	char sql[160];
	int err, same = 1;

	err = begin(w);
	for (size_t i = 0; !err && same == 1 && i < j->nin; i++) {
		same = chunk_unchanged(w, j->kind, &j->in[i]);
		if (same < 0)
			err = same;
	}
	if (!err && same == 1) {
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id >= ? AND id <= ?",
			 dict_table[j->kind]);
		err = storage_errno(sqlite3_prepare_v2(w->db->db, sql, -1, &del, NULL));
	}
	if (!err && same == 1) {
		sqlite3_bind_int64(del, 1, j->in[0].id);
		sqlite3_bind_int64(del, 2, j->in[j->nin - 1].id);
		err = storage_step_done(del);
	}
	if (!err && same == 1 && j->data) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO %s(id, last, n, tier, data) VALUES(?, ?, ?, ?, ?)",
			 dict_table[j->kind]);
		err = storage_errno(sqlite3_prepare_v2(w->db->db, sql, -1, &ins, NULL));
		if (!err) {
			sqlite3_bind_int64(ins, 1, j->in[0].id);
			sqlite3_bind_int64(ins, 2, j->in[j->nin - 1].a);
			sqlite3_bind_int64(ins, 3, (int64_t)j->rows);
			sqlite3_bind_int(ins, 4, j->tier);
			sqlite3_bind_blob(ins, 5, j->data, (int)j->len, SQLITE_STATIC);
			err = storage_step_done(ins);
		}
	}
	sqlite3_finalize(del);
	sqlite3_finalize(ins);
	err = end(w, err);
	if (!err && same == 1) {
		if (!j->pruning)
			st->merged_chunks += j->nin;
	}
	return err;
}

/* Adds the dictionaries of an encoded block to the prune's referenced sets. */
static int note_block(struct storage_writer *w, const struct job_out *o)
{
	struct codec_block *b;
	const int64_t *ids;
	size_t k;
	int err = 0;

	if (!w->prune.active)
		return 0;
	b = codec_block__open(o->data, o->len, o->t_start, (size_t)o->n);
	if (!b)
		return -errno;
	ids = codec_block__threads(b, &k);
	for (size_t i = 0; i < k && !err; i++)
		err = idset_add(&w->prune.ref_threads, ids[i]);
	ids = codec_block__stacks(b, &k);
	for (size_t i = 0; i < k && !err; i++)
		err = idset_add(&w->prune.ref_stacks, ids[i]);
	codec_block__free(b);
	if (err)
		w->prune.active = false; /* start over later */
	return err;
}

static int apply_blocks(struct storage_writer *w, struct job *j, struct storage_maint_stats *st)
{
	sqlite3_stmt *chk = NULL, *del = NULL, *ins = NULL;
	bool all_there = true;
	int err, level = j->type == JOB_ROLLUP ? STORAGE_LEVEL_ROLLUP : STORAGE_LEVEL_WINDOW;

	err = begin(w);
	if (!err)
		err = storage_prepare(w->db, "SELECT 1 FROM blocks WHERE id = ?", &chk);
	if (!err)
		err = storage_prepare(w->db, "DELETE FROM blocks WHERE id = ?", &del);
	if (!err)
		err = storage_prepare(w->db,
				      "INSERT INTO blocks(t_start, t_end, nsamples, level, window, "
				      "data)"
				      " VALUES(?, ?, ?, ?, ?, ?)",
				      &ins);
	/* Retention may have deleted an input meanwhile: then the result is dropped. */
	for (size_t i = 0; !err && all_there && i < j->nin; i++) {
		int rc;

		sqlite3_bind_int64(chk, 1, j->in[i].id);
		rc = sqlite3_step(chk);
		all_there = rc == SQLITE_ROW;
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			err = storage_errno(rc);
		sqlite3_reset(chk);
	}
	for (size_t i = 0; !err && all_there && i < j->nin; i++) {
		sqlite3_bind_int64(del, 1, j->in[i].id);
		err = storage_step_done(del);
	}
	for (size_t i = 0; !err && all_there && i < j->nout; i++) {
		sqlite3_bind_int64(ins, 1, j->out[i].t_start);
		sqlite3_bind_int64(ins, 2, j->out[i].t_end);
		sqlite3_bind_int64(ins, 3, j->out[i].n);
		sqlite3_bind_int(ins, 4, level);
		sqlite3_bind_int64(ins, 5, level == STORAGE_LEVEL_WINDOW ? j->window : 0);
		sqlite3_bind_blob(ins, 6, j->out[i].data, (int)j->out[i].len, SQLITE_STATIC);
		err = storage_step_done(ins);
	}
	sqlite3_finalize(chk);
	sqlite3_finalize(del);
	sqlite3_finalize(ins);
	err = end(w, err);
	if (err || !all_there)
		return err;
	for (size_t i = 0; i < j->nout; i++)
		note_block(w, &j->out[i]);
	if (j->type == JOB_WINDOW) {
		size_t k = 0;

		for (size_t i = 0; i < w->nflushes; i++) {
			bool merged = false;

			for (size_t m = 0; m < j->nin && !merged; m++)
				merged = j->in[m].id == w->flushes[i].id;
			if (merged)
				st->merged_blocks++;
			else
				w->flushes[k++] = w->flushes[i];
		}
		w->nflushes = k;
	} else {
		st->rolled_up_blocks += j->nin;
		err = writer_load_flushes(w);
	}
	return err;
}

static int apply(struct storage_writer *w, struct job *j, struct storage_maint_stats *st)
{
	int err = j->err;

	if (!err)
		err = j->type == JOB_CHUNKS ? apply_chunks(w, j, st) : apply_blocks(w, j, st);
	if (j->pruning && !err)
		st->pruned_rows += j->dropped;
	job_free(j);
	return err;
}

/* ---- Pruning. ---- */

static int prune_start(struct storage_writer *w)
{
	struct wprune *p = &w->prune;
	int err;

	idset_free(&p->ref_stacks);
	idset_free(&p->ref_threads);
	for (int k = 0; k < DICT__MAX; k++)
		idset_free(&p->dead[k]);
	err = storage_query_int(w->db, "SELECT coalesce(max(id), 0) FROM blocks", &p->scan_end);
	if (err)
		return err;
	p->scan_next = 0;
	p->phase = 0;
	p->kind = DICT_THREAD;
	p->chunk_next = 0;
	p->active = true;
	/* Samples waiting for the next flush refer to rows too. */
	err = note_refs(w, w->samples, w->nsamples);
	w->deleted_since_prune = 0;
	return err;
}

/* Scans a batch of blocks' dictionaries. Returns 1 when the scan is complete. */
static int prune_scan(struct storage_writer *w)
{
	struct wprune *p = &w->prune;
	sqlite3_stmt *st;
	int rc, err, seen = 0;

	err = storage_prepare(w->db,
			      "SELECT id, t_start, nsamples, data FROM blocks WHERE id >= ? AND id "
			      "<= ?"
			      " ORDER BY id LIMIT " STR(MAINT_SCAN_BATCH),
			      &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, p->scan_next);
	sqlite3_bind_int64(st, 2, p->scan_end);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t n = sqlite3_column_int64(st, 2);
		struct codec_block *b;
		const int64_t *ids;
		size_t k;

		seen++;
		p->scan_next = sqlite3_column_int64(st, 0) + 1;
		b = n >= 0 && n <= CODEC_MAX_SAMPLES
			? codec_block__open(sqlite3_column_blob(st, 3),
					    (size_t)sqlite3_column_bytes(st, 3),
					    sqlite3_column_int64(st, 1), (size_t)n)
			: NULL;
		if (!b) {
			/* A block that does not decode keeps nothing alive; `ember db check`
			 * reports it. */
			continue;
		}
		ids = codec_block__threads(b, &k);
		for (size_t i = 0; i < k && !err; i++)
			err = idset_add(&p->ref_threads, ids[i]);
		ids = codec_block__stacks(b, &k);
		for (size_t i = 0; i < k && !err; i++)
			err = idset_add(&p->ref_stacks, ids[i]);
		codec_block__free(b);
	}
	if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = storage_errno(rc);
	sqlite3_finalize(st);
	if (err)
		return err;
	return seen < MAINT_SCAN_BATCH || p->scan_next > p->scan_end;
}

/* Decides which rows die, and forgets them in memory. */
static int prune_decide(struct storage_writer *w, struct storage_maint_stats *st)
{
	struct wprune *p = &w->prune;
	struct idset live_frames = { 0 }, live_strings = { 0 }, live_procs = { 0 };
	struct wstack *k, *tk;
	struct wthread *t, *tt;
	struct wprocess *pr, *tp;
	struct wframe *f, *tf;
	struct wstring *s, *ts;
	int err = 0;

	/* The list of processes no thread named yet keeps only those: the others may die here. */
	{
		size_t kept = 0;

		for (size_t i = 0; i < w->npending; i++)
			if (!w->pending[i]->id)
				w->pending[kept++] = w->pending[i];
		w->npending = kept;
	}
	/* Rows not written yet are in use by what is about to be written. */
	for (size_t i = 0; i < w->dirty[DICT_STACK].n && !err; i++)
		err = idset_add(&p->ref_stacks, ((struct wstack *)w->dirty[DICT_STACK].v[i])->id);
	for (size_t i = 0; i < w->dirty[DICT_THREAD].n && !err; i++)
		err =
		    idset_add(&p->ref_threads, ((struct wthread *)w->dirty[DICT_THREAD].v[i])->id);
	for (size_t i = 0; i < w->dirty[DICT_PROCESS].n && !err; i++)
		err = idset_add(&live_procs, ((struct wprocess *)w->dirty[DICT_PROCESS].v[i])->id);
	for (size_t i = 0; i < w->dirty[DICT_FRAME].n && !err; i++)
		err = idset_add(&live_frames, ((struct wframe *)w->dirty[DICT_FRAME].v[i])->id);
	for (size_t i = 0; i < w->dirty[DICT_STRING].n && !err; i++)
		err = idset_add(&live_strings, ((struct wstring *)w->dirty[DICT_STRING].v[i])->id);
	/* Rows the writer forgot in memory still name their strings and frames (writer.c, sweep
	 * and sweep_rows). */
	if (!err)
		err = idset_union(&live_strings, &w->forgotten_strings);
	if (!err)
		err = idset_union(&live_frames, &w->forgotten_frames);
	if (err)
		goto out;
	HASH_ITER (hh, w->stacks, k, tk) {
		const uint8_t *q = k->key + 1, *qend = k->key + k->len;

		if (!idset_has(&p->ref_stacks, k->id)) {
			err = idset_add(&p->dead[DICT_STACK], k->id);
			if (err)
				goto out;
			continue;
		}
		for (uint32_t d = 0; d < k->depth && !err; d++) {
			uint64_t fid = 0;

			q += codec_get_varint(q, qend, &fid);
			err = idset_add(&live_frames, (int64_t)fid);
		}
	}
	HASH_ITER (hh, w->threads, t, tt) {
		if (!idset_has(&p->ref_threads, t->id))
			err = idset_add(&p->dead[DICT_THREAD], t->id);
		else if (idset_add(&live_procs, t->process) || idset_add(&live_strings, t->comm))
			err = -ENOMEM;
		if (err)
			goto out;
	}
	HASH_ITER (hh, w->processes, pr, tp) {
		if (!pr->id)
			continue; /* not written yet: no thread named it */
		if (!idset_has(&live_procs, pr->id))
			err = idset_add(&p->dead[DICT_PROCESS], pr->id);
		else if (idset_add(&live_strings, pr->row.comm) ||
			 idset_add(&live_strings, pr->row.exe) ||
			 idset_add(&live_strings, pr->row.cmdline))
			err = -ENOMEM;
		if (err)
			goto out;
	}
	HASH_ITER (hh, w->frames, f, tf) {
		if (!idset_has(&live_frames, f->id))
			err = idset_add(&p->dead[DICT_FRAME], f->id);
		else if (idset_add(&live_strings, f->key.name) ||
			 idset_add(&live_strings, f->key.module) ||
			 idset_add(&live_strings, f->key.file) ||
			 idset_add(&live_strings, f->key.build_id))
			err = -ENOMEM;
		if (err)
			goto out;
	}
	HASH_ITER (hh, w->strings, s, ts) {
		if (!idset_has(&live_strings, s->id)) {
			err = idset_add(&p->dead[DICT_STRING], s->id);
			if (err)
				goto out;
		}
	}
	/* Nothing dirty can be dead (dirty rows are in use), so forgetting is safe. */
	HASH_ITER (hh, w->stacks, k, tk)
		if (idset_has(&p->dead[DICT_STACK], k->id)) {
			HASH_DEL(w->stacks, k);
			free(k);
		}
	HASH_ITER (hh, w->threads, t, tt)
		if (idset_has(&p->dead[DICT_THREAD], t->id)) {
			HASH_DEL(w->threads, t);
			free(t);
		}
	HASH_ITER (hh, w->processes, pr, tp)
		if (pr->id && idset_has(&p->dead[DICT_PROCESS], pr->id)) {
			HASH_DEL(w->processes, pr);
			free(pr);
		}
	HASH_ITER (hh, w->frames, f, tf)
		if (idset_has(&p->dead[DICT_FRAME], f->id)) {
			HASH_DEL(w->frames, f);
			free(f);
		}
	HASH_ITER (hh, w->strings, s, ts)
		if (idset_has(&p->dead[DICT_STRING], s->id)) {
			HASH_DEL(w->strings, s);
			free(s);
		}
out:
	idset_free(&live_frames);
	idset_free(&live_strings);
	idset_free(&live_procs);
	return err;
}

/* Whether the set holds an id in [lo, hi]. */
static bool idset_any(const struct idset *s, int64_t lo, int64_t hi)
{
	for (int64_t id = lo; id <= hi; id++) {
		size_t word = (size_t)id / 64;

		if (word >= s->nwords)
			return false;
		if (!(id % 64) && !s->bits[word] && hi - id >= 63) {
			id += 63;
			continue;
		}
		if (s->bits[word] >> (id % 64) & 1)
			return true;
	}
	return false;
}

/* ---- Vacuum. ---- */

static int vacuum_step(struct storage_writer *w, int64_t max_bytes, struct storage_maint_stats *st,
		       bool *done)
{
	int64_t pages = 0, freel = 0, size = 0, slack, keep;
	char sql[64];
	int err;

	*done = true;
	err = storage_query_int(w->db, "PRAGMA page_count", &pages);
	if (!err)
		err = storage_query_int(w->db, "PRAGMA freelist_count", &freel);
	if (!err)
		err = storage_query_int(w->db, "PRAGMA page_size", &size);
	if (err || size <= 0)
		return err;
	slack = pages * size * MAINT_FREE_SLACK_PCT / 100;
	if (slack < MAINT_FREE_SLACK_MIN)
		slack = MAINT_FREE_SLACK_MIN;
	/* Under a size limit, keep no more free space than the limit leaves. */
	if (max_bytes && slack > max_bytes - (pages - freel) * size)
		slack = max_bytes - (pages - freel) * size;
	keep = slack > 0 ? slack / size : 0;
	if (freel <= keep)
		return 0;
	snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%lld)",
		 (long long)(freel - keep < MAINT_VACUUM_PAGES ? freel - keep
							       : MAINT_VACUUM_PAGES));
	err = storage_exec(w->db, sql);
	if (!err) {
		int64_t after = freel;

		storage_query_int(w->db, "PRAGMA freelist_count", &after);
		st->freed_bytes += (uint64_t)((freel - after) * size);
		*done = after <= keep;
	}
	return err;
}

/* ---- Pruning, continued. ---- */

/* Rewrites the next chunk holding dead rows, through the worker. Returns 1 when none is left. */
static int prune_rewrite(struct storage_writer *w, bool *submitted)
{
	struct wprune *p = &w->prune;

	*submitted = false;
	while (p->kind >= 0) {
		struct chunk_info *v = NULL;
		size_t n = 0;
		int err = list_chunks(w, p->kind, p->chunk_next, &v, &n);

		if (err)
			return err;
		for (size_t i = 0; i < n; i++) {
			struct job *j;

			if (!idset_any(&p->dead[p->kind], v[i].id, v[i].last))
				continue;
			p->chunk_next = v[i].id + 1;
			j = chunk_job(w, p->kind, v + i, 1, v[i].tier, &err);
			free(v);
			if (!j)
				return err;
			j->pruning = true;
			err = submit(w, j);
			*submitted = !err;
			return err;
		}
		free(v);
		p->kind--;
		p->chunk_next = 0;
	}
	return 1;
}

static void prune_end(struct storage_writer *w)
{
	struct wprune *p = &w->prune;

	p->active = false;
	idset_free(&p->ref_stacks);
	idset_free(&p->ref_threads);
	for (int k = 0; k < DICT__MAX; k++)
		idset_free(&p->dead[k]);
}

int storage_writer__maintain(struct storage_writer *w, const struct storage_policy *p,
			     int64_t now_ns, int64_t budget_ns, struct storage_maint_stats *st)
{
	static const struct storage_policy none = { 0 };
	struct storage_maint_stats dummy;
	int64_t deadline = mono_ns() + budget_ns, rollup_after, n;
	bool unlimited = budget_ns <= 0, late = false, busy = false, pushed = false;
	int r = 0;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (!p)
		p = &none;
	rollup_after = p->rollup_after_ns ? p->rollup_after_ns : STORAGE_ROLLUP_AFTER_NS;
	for (;;) {
		bool progress = false;
		struct job *j;

		if (!unlimited && mono_ns() >= deadline) {
			late = true;
			break;
		}
		/* A finished merge first: its transaction is short, the work was done aside. */
		j = take(w, unlimited, &busy);
		if (j) {
			r = apply(w, j, st);
			if (r)
				break;
			continue;
		}
		/* Retention: history beyond the retention, then the oldest over the size limit
		 * (never the last minute, which no limit can be about). */
		if (p->retention_ns > 0) {
			r = delete_blocks(
			    w,
			    "DELETE FROM blocks WHERE id IN (SELECT id FROM blocks"
			    " WHERE t_end < ? ORDER BY t_start LIMIT " STR(MAINT_DELETE_BATCH) ")",
			    now_ns - p->retention_ns, &n);
			if (r)
				break;
			st->deleted_blocks += (uint64_t)n;
			progress |= n > 0;
		}
		if (p->max_bytes > 0) {
			int64_t used = used_bytes(w);

			/* Aim a little below the limit, so the next minutes do not cross it. */
			if (used > p->max_bytes * 95 / 100) {
				r = delete_blocks(w,
						  "DELETE FROM blocks WHERE id IN (SELECT id FROM"
						  " blocks WHERE t_end < ? ORDER BY t_start LIMIT "
						  "16)",
						  now_ns - 60 * NS, &n);
				if (r)
					break;
				st->deleted_blocks += (uint64_t)n;
				pushed |= n > 0;
				progress |= n > 0;
			}
		}
		/* One job at a time for the worker: windows, rollups, chunk merges, prune rewrites.
		 */
		if (!busy) {
			int err = 0;

			j = plan_window(w, now_ns, &err);
			if (!j && !err && rollup_after > 0)
				j = plan_rollup(w, now_ns - rollup_after, &err);
			if (!j && !err)
				j = plan_chunks(w, &err);
			if (err) {
				r = err;
				break;
			}
			if (j) {
				r = submit(w, j);
				if (r)
					break;
				busy = progress = true;
			} else if (w->prune.active && w->prune.phase == 1) {
				bool submitted;

				r = prune_rewrite(w, &submitted);
				if (r < 0)
					break;
				if (r == 1)
					prune_end(w);
				busy = submitted;
				progress = true;
				r = 0;
			}
		}
		/* Pruning after deletions: at most hourly, unless the size limit pushes. */
		if (!w->prune.active && w->deleted_since_prune &&
		    (pushed || now_ns - w->last_prune_ns >= MAINT_PRUNE_INTERVAL_NS || unlimited)) {
			r = prune_start(w);
			if (r)
				break;
			w->last_prune_ns = now_ns;
			progress = true;
		}
		if (w->prune.active && w->prune.phase == 0) {
			r = prune_scan(w);
			if (r == 1) {
				r = prune_decide(w, st);
				w->prune.phase = 1;
				w->prune.kind = DICT__MAX - 1;
				w->prune.chunk_next = 0;
			}
			if (r < 0)
				break;
			r = 0;
			progress = true;
		}
		if (!progress) {
			bool done = false;
			uint64_t before = st->freed_bytes;

			r = vacuum_step(w, p->max_bytes, st, &done);
			if (r || done || st->freed_bytes == before) {
				if (!r && unlimited && busy)
					continue; /* wait for the worker */
				break;
			}
		}
	}
	if (r < 0)
		return r;
	st->idle = !late && !busy && !w->prune.active;
	return 0;
}
