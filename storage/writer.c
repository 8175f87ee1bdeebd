// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The database writer. Every row of the dictionaries lives in an in-memory hash table (uthash)
 * with its id, loaded from the database's chunks when the writer opens; rows created since the
 * last successful flush are also on a dirty list and are written as one chunk per dictionary in
 * the flush transaction, beside the block of samples. Ids come from the high-water marks kept in
 * meta: there is one writer per database (the flock in storage.c), so nobody else hands them
 * out, and an id is never handed out twice, even after its row was pruned (a reader may still
 * hold the old row in its cache).
 */
#include "storage/writer.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/storage_internal.h"

/* Samples per flush block: bounds the memory a reader needs to decode one block. */
#define WRITER_BLOCK_MAX 65536
/* SQLite's page cache of the writer's connection, KiB (a plain number: it is pasted into SQL). */
#define WRITER_CACHE_KIB 512

static const char *const next_key[DICT__MAX] = {
	[DICT_STRING] = "next_string",	 [DICT_FRAME] = "next_frame",	[DICT_STACK] = "next_stack",
	[DICT_PROCESS] = "next_process", [DICT_THREAD] = "next_thread",
};

/* Makes room for `words` words of bits. 0 or -ENOMEM. */
static int idset_grow(struct idset *s, size_t words)
{
	size_t n = s->nwords ? s->nwords : 64;
	uint64_t *nb;

	if (words <= s->nwords)
		return 0;
	while (n < words)
		n *= 2;
	nb = realloc(s->bits, n * sizeof(*nb));
	if (!nb)
		return -ENOMEM;
	memset(nb + s->nwords, 0, (n - s->nwords) * sizeof(*nb));
	s->bits = nb;
	s->nwords = n;
	return 0;
}

int idset_add(struct idset *s, int64_t id)
{
	size_t word = (size_t)id / 64;

	if (id < 0)
		return -EINVAL;
	if (idset_grow(s, word + 1))
		return -ENOMEM;
	s->bits[word] |= 1ull << (id % 64);
	return 0;
}

bool idset_has(const struct idset *s, int64_t id)
{
	size_t word = (size_t)id / 64;

	return id >= 0 && word < s->nwords && (s->bits[word] >> (id % 64) & 1);
}

int idset_union(struct idset *dst, const struct idset *src)
{
	if (idset_grow(dst, src->nwords))
		return -ENOMEM;
	for (size_t i = 0; i < src->nwords; i++)
		dst->bits[i] |= src->bits[i];
	return 0;
}

void idset_clear(struct idset *s)
{
	if (s->nwords)
		memset(s->bits, 0, s->nwords * sizeof(*s->bits));
}

void idset_free(struct idset *s)
{
	free(s->bits);
	s->bits = NULL;
	s->nwords = 0;
}

static int dirty_push(struct wdirty *d, void *row)
{
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 256;
		void **nv = realloc(d->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		d->v = nv;
		d->cap = ncap;
	}
	d->v[d->n++] = row;
	return 0;
}

int writer_note_flush(struct storage_writer *w, int64_t id, int64_t t_start, int64_t t_end,
		      int64_t n)
{
	if (w->nflushes == w->flushes_cap) {
		size_t ncap = w->flushes_cap ? w->flushes_cap * 2 : 64;
		struct wblock *nv = realloc(w->flushes, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		w->flushes = nv;
		w->flushes_cap = ncap;
	}
	w->flushes[w->nflushes++] = (struct wblock){ id, t_start, t_end, n };
	return 0;
}

/* ---- Loading the dictionaries. ---- */

/* Rows by id while loading: threads name their process and comm by id. */
struct loader {
	struct storage_writer *w;
	struct wstring **strings; /* by id */
	size_t nstrings;
	struct wprocess **procs; /* by id */
	size_t nprocs;
	int64_t max_id[DICT__MAX];
};

static int grow_index(void ***v, size_t *n, int64_t id)
{
	size_t want = (size_t)id + 1;

	if (id <= 0 || id > (1ll << 40))
		return -EBADMSG;
	if (want > *n) {
		size_t ncap = *n ? *n : 1024;
		void **nv;

		while (ncap < want)
			ncap *= 2;
		nv = realloc(*v, ncap * sizeof(**v));
		if (!nv)
			return -ENOMEM;
		memset(nv + *n, 0, (ncap - *n) * sizeof(**v));
		*v = nv;
		*n = ncap;
	}
	return 0;
}

static int load_row(enum dict_kind kind, const void *row, void *ctx)
{
	struct loader *l = ctx;
	struct storage_writer *w = l->w;
	int64_t id = dict_row_id(kind, row);
	int err;

	if (id > l->max_id[kind])
		l->max_id[kind] = id;
	switch (kind) {
	case DICT_STRING: {
		const struct dict_string *r = row;
		struct wstring *e;

		err = grow_index((void ***)&l->strings, &l->nstrings, id);
		if (err)
			return err;
		if (l->strings[id] || memchr(r->str, 0, r->len))
			return -EBADMSG;
		e = malloc(sizeof(*e) + r->len + 1);
		if (!e)
			return -ENOMEM;
		memcpy(e->str, r->str, r->len);
		e->str[r->len] = '\0';
		e->len = r->len;
		e->id = id;
		e->used = 0;
		/* Equal strings (one forgotten in memory and interned again) are all kept, as
		 * frames are: pruning decides each by its id. Interning finds either. */
		HASH_ADD(hh, w->strings, str, r->len, e);
		l->strings[id] = e;
		return 0;
	}
	case DICT_FRAME: {
		const struct dict_frame *r = row;
		struct wframe *e = calloc(1, sizeof(*e));

		if (!e)
			return -ENOMEM;
		e->id = id;
		e->key.kind = r->kind;
		e->key.name = r->name;
		e->key.module = r->module;
		e->key.offset = r->offset;
		e->key.file = r->file;
		e->key.line = r->line;
		e->key.inlined = r->inlined;
		e->key.build_id = r->build_id;
		/* Equal rows (a row forgotten in memory and interned again) are all kept: pruning
		 * decides each by its id and must see what each names. Interning finds either. */
		HASH_ADD(hh, w->frames, key, sizeof(e->key), e);
		return 0;
	}
	case DICT_STACK: {
		const struct dict_stack *r = row;
		uint8_t buf[1 + DICT_MAX_DEPTH * 10];
		struct wstack *e;
		size_t len = 1;

		buf[0] = r->status;
		for (uint32_t i = 0; i < r->depth; i++)
			len += codec_put_varint(buf + len, (uint64_t)r->frames[i]);
		e = malloc(sizeof(*e) + len);
		if (!e)
			return -ENOMEM;
		memcpy(e->key, buf, len);
		e->len = (uint32_t)len;
		e->depth = r->depth;
		e->id = id;
		e->used = 0;
		HASH_ADD_KEYPTR(hh, w->stacks, e->key, len, e);
		return 0;
	}
	case DICT_PROCESS: {
		const struct dict_process *r = row;
		struct wprocess *e = calloc(1, sizeof(*e));

		if (!e)
			return -ENOMEM;
		err = grow_index((void ***)&l->procs, &l->nprocs, id);
		if (err) {
			free(e);
			return err;
		}
		e->key.pid = r->pid;
		e->key.proc_start = r->proc_start;
		e->id = id;
		e->row = *r;
		e->written = true;
		l->procs[id] = e;
		HASH_ADD(hh, w->processes, key, sizeof(e->key), e);
		return 0;
	}
	case DICT_THREAD: {
		const struct dict_thread *r = row;
		struct wprocess *p;
		struct wstring *comm;
		struct wthread *e;

		if (r->process <= 0 || (size_t)r->process >= l->nprocs || !l->procs[r->process] ||
		    r->comm <= 0 || (size_t)r->comm >= l->nstrings || !l->strings[r->comm])
			return -EBADMSG;
		p = l->procs[r->process];
		comm = l->strings[r->comm];
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->id = id;
		e->process = r->process;
		e->comm = r->comm;
		e->key.pid = p->key.pid;
		e->key.tid = r->tid;
		e->key.proc_start = p->key.proc_start;
		strncpy(e->key.comm, comm->str, sizeof(e->key.comm) - 1);
		HASH_ADD(hh, w->threads, key, sizeof(e->key), e);
		return 0;
	}
	default:
		return -EINVAL;
	}
}

int writer_load_flushes(struct storage_writer *w)
{
	sqlite3_stmt *st;
	int rc, err = storage_prepare(w->db,
				      "SELECT id, t_start, t_end, nsamples FROM blocks"
				      " WHERE level = 0 ORDER BY id",
				      &st);

	w->nflushes = 0;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
		err = writer_note_flush(w, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
					sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3));
	if (!err && rc != SQLITE_DONE)
		err = storage_errno(rc);
	sqlite3_finalize(st);
	return err;
}

struct storage_writer *storage_writer__new(struct storage *db)
{
	struct storage_writer *w = calloc(1, sizeof(*w));
	struct loader l = { .w = w };
	int err = 0;

	if (!w)
		return NULL;
	w->db = db;
	/* One read transaction: the chunks of all dictionaries from one snapshot. */
	err = storage_exec(db, "BEGIN");
	for (int k = 0; !err && k < DICT__MAX; k++)
		err = dict_load_all(db, k, load_row, &l);
	for (int k = 0; !err && k < DICT__MAX; k++) {
		int64_t stored = 0;

		err = storage_meta_get(db, next_key[k], &stored);
		w->next_id[k] = stored > l.max_id[k] ? stored : l.max_id[k] + 1;
		w->written_next[k] = stored;
	}
	if (!err)
		err = writer_load_flushes(w);
	sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL);
	free(l.strings);
	free(l.procs);
	if (err)
		goto fail;
	err = storage_prepare(db,
			      "INSERT INTO blocks(t_start, t_end, nsamples, level, data)"
			      " VALUES(?, ?, ?, 0, ?)",
			      &w->ins_block);
	if (!err)
		err = storage_prepare(db,
				      "INSERT INTO recordings(started_ns, hz, ncpus, event,"
				      " hostname, kernel) VALUES(?, ?, ?, ?, ?, ?)",
				      &w->ins_recording);
	if (!err)
		err = storage_prepare(db,
				      "UPDATE recordings SET ended_ns = ?, delivered = ?,"
				      " stored = ?, filtered = ?, ringbuf_full = ?, bpf_errors = ?,"
				      " ingest_errors = ?, write_errors = ? WHERE id = ?",
				      &w->upd_recording);
	if (!err)
		err = storage_prepare(db,
				      "INSERT OR REPLACE INTO collector_self(recording, t_ns,"
				      " span_ns, cpu_pct, rss_kib, heap_kib, samples_per_s,"
				      " dropped, hz) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
				      &w->ins_self);
	/* The writer appends, and reads back only the last minutes' blocks: SQLite's default page
	 * cache (2 MiB) would fill with pages it never reads again, slowly (the soak: 75 KiB a
	 * minute at 999 Hz, most of a day at 19 Hz), and look like growth. */
	if (!err)
		err = storage_exec(db, "PRAGMA cache_size=-" STR(WRITER_CACHE_KIB));
	if (err)
		goto fail;
	return w;
fail:
	storage_writer__free(w);
	errno = -err;
	return NULL;
}

/* ---- Interning. ---- */

static int64_t intern_string(struct storage_writer *w, const char *s)
{
	struct wstring *e;
	size_t len;

	if (!s)
		return 0;
	len = strlen(s);
	if (len > DICT_MAX_STRING)
		len = DICT_MAX_STRING;
	HASH_FIND(hh, w->strings, s, len, e);
	if (e) {
		e->used = w->nflush;
		return e->id;
	}
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	memcpy(e->str, s, len);
	e->str[len] = '\0';
	e->len = (uint32_t)len;
	e->used = w->nflush;
	e->id = w->next_id[DICT_STRING];
	if (dirty_push(&w->dirty[DICT_STRING], e)) {
		free(e);
		return -ENOMEM;
	}
	w->next_id[DICT_STRING]++;
	HASH_ADD(hh, w->strings, str, len, e);
	return e->id;
}

int64_t storage_writer__frame(struct storage_writer *w, const struct storage_frame *f)
{
	struct wframe_key key = { 0 };
	struct wframe *e;

	key.kind = f->kind;
	key.name = intern_string(w, f->name);
	if (key.name < 0)
		return key.name;
	key.module = intern_string(w, f->module);
	if (key.module < 0)
		return key.module;
	key.offset = f->name ? 0 : f->offset;
	key.file = intern_string(w, f->file);
	if (key.file < 0)
		return key.file;
	key.build_id = intern_string(w, f->build_id);
	if (key.build_id < 0)
		return key.build_id;
	key.line = f->line;
	key.inlined = f->inlined;
	HASH_FIND(hh, w->frames, &key, sizeof(key), e);
	if (e) {
		e->used = w->nflush;
		return e->id;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = key;
	e->used = w->nflush;
	e->id = w->next_id[DICT_FRAME];
	if (dirty_push(&w->dirty[DICT_FRAME], e)) {
		free(e);
		return -ENOMEM;
	}
	w->next_id[DICT_FRAME]++;
	HASH_ADD(hh, w->frames, key, sizeof(key), e);
	return e->id;
}

int64_t storage_writer__stack(struct storage_writer *w, const int64_t *frames, size_t n,
			      enum storage_stack_status status)
{
	uint8_t stackbuf[2048], *buf = stackbuf;
	struct wstack *e;
	size_t len = 1;
	int64_t id;

	if (n > DICT_MAX_DEPTH)
		return -EINVAL;
	if (1 + n * 10 > sizeof(stackbuf)) {
		buf = malloc(1 + n * 10);
		if (!buf)
			return -ENOMEM;
	}
	buf[0] = (uint8_t)status;
	for (size_t i = 0; i < n; i++)
		len += codec_put_varint(buf + len, (uint64_t)frames[i]);
	HASH_FIND(hh, w->stacks, buf, len, e);
	if (e) {
		e->used = w->nflush;
		id = e->id;
		goto out;
	}
	e = malloc(sizeof(*e) + len);
	if (!e) {
		id = -ENOMEM;
		goto out;
	}
	e->used = w->nflush;
	memcpy(e->key, buf, len);
	e->len = (uint32_t)len;
	e->depth = (uint32_t)n;
	e->id = w->next_id[DICT_STACK];
	if (dirty_push(&w->dirty[DICT_STACK], e)) {
		free(e);
		id = -ENOMEM;
		goto out;
	}
	w->next_id[DICT_STACK]++;
	HASH_ADD_KEYPTR(hh, w->stacks, e->key, len, e);
	id = e->id;
out:
	if (buf != stackbuf)
		free(buf);
	return id;
}

static void process_free(struct wprocess *e)
{
	if (!e)
		return;
	free(e->comm);
	free(e->exe);
	free(e->cmdline);
	free(e);
}

/* Gives a process its id and row (interning its strings) and queues it for the next flush. */
static int activate_process(struct storage_writer *w, struct wprocess *e)
{
	int64_t comm = intern_string(w, e->comm ? e->comm : "");
	int64_t exe = intern_string(w, e->exe);
	int64_t cmdline = intern_string(w, e->cmdline);

	if (comm < 0 || exe < 0 || cmdline < 0)
		return -ENOMEM;
	if (dirty_push(&w->dirty[DICT_PROCESS], e))
		return -ENOMEM;
	e->id = w->next_id[DICT_PROCESS]++;
	e->row.id = e->id;
	e->row.comm = comm;
	e->row.exe = exe;
	e->row.cmdline = cmdline;
	free(e->comm);
	free(e->exe);
	free(e->cmdline);
	e->comm = e->exe = e->cmdline = NULL;
	return 0;
}

/* The process (pid, proc_start); created (not yet written) when not known and `create`. */
static struct wprocess *find_process(struct storage_writer *w, uint32_t pid, int64_t proc_start,
				     const char *comm, bool create)
{
	struct wprocess_key key = { .pid = pid, .proc_start = proc_start };
	struct wprocess *e;

	HASH_FIND(hh, w->processes, &key, sizeof(key), e);
	if (e || !create)
		return e;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->key = key;
	e->row.pid = pid;
	e->row.uid = UINT32_MAX;
	e->row.proc_start = proc_start;
	e->comm = strdup(comm ? comm : "");
	e->registered = w->nflush;
	if (!e->comm) {
		free(e);
		return NULL;
	}
	HASH_ADD(hh, w->processes, key, sizeof(key), e);
	return e;
}

int64_t storage_writer__thread(struct storage_writer *w, uint32_t pid, uint32_t tid,
			       int64_t proc_start_ns, const char *comm)
{
	struct wthread_key key;
	struct wprocess *p;
	struct wthread *e;
	int64_t comm_id;

	memset(&key, 0, sizeof(key));
	key.pid = pid;
	key.tid = tid;
	key.proc_start = proc_start_ns;
	strncpy(key.comm, comm ? comm : "", sizeof(key.comm) - 1);
	HASH_FIND(hh, w->threads, &key, sizeof(key), e);
	if (e) {
		e->used = w->nflush;
		return e->id;
	}
	p = find_process(w, pid, proc_start_ns, key.comm, true);
	if (!p || (!p->id && activate_process(w, p)))
		return -ENOMEM;
	comm_id = intern_string(w, key.comm);
	if (comm_id < 0)
		return comm_id;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = key;
	e->id = w->next_id[DICT_THREAD];
	e->used = w->nflush;
	e->process = p->id;
	e->comm = comm_id;
	if (dirty_push(&w->dirty[DICT_THREAD], e)) {
		free(e);
		return -ENOMEM;
	}
	w->next_id[DICT_THREAD]++;
	HASH_ADD(hh, w->threads, key, sizeof(key), e);
	return e->id;
}

int storage_writer__process(struct storage_writer *w, uint32_t pid, int64_t proc_start,
			    int64_t started_ns, uint32_t uid, const char *comm, const char *exe,
			    int64_t seen_ns)
{
	struct wprocess *e = find_process(w, pid, proc_start, NULL, false);
	bool created = false;

	/* Known already: its row is written, or its details are in; only a process a thread
	 * created (no details yet) takes them. */
	if (e && (e->written || e->row.uid != UINT32_MAX))
		return 0;
	if (!e) {
		if (w->npending == w->pending_cap) {
			size_t ncap = w->pending_cap ? w->pending_cap * 2 : 256;
			struct wprocess **nv = realloc(w->pending, ncap * sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			w->pending = nv;
			w->pending_cap = ncap;
		}
		e = find_process(w, pid, proc_start, comm, true);
		if (!e)
			return -ENOMEM;
		created = true;
	}
	e->row.started_ns = started_ns;
	e->row.uid = uid;
	e->row.seen_ns = seen_ns;
	if (e->id) {
		/* Already has its row (a thread came first): intern the details into it. */
		int64_t comm_id = intern_string(w, comm ? comm : ""),
			exe_id = intern_string(w, exe);

		if (comm_id < 0 || exe_id < 0)
			return -ENOMEM;
		e->row.comm = comm_id;
		e->row.exe = exe_id;
		return 0;
	}
	if (!created) {
		free(e->comm);
		e->comm = strdup(comm ? comm : "");
		if (!e->comm)
			return -ENOMEM;
	}
	free(e->exe);
	e->exe = exe ? strdup(exe) : NULL;
	if (exe && !e->exe)
		return -ENOMEM;
	if (created)
		w->pending[w->npending++] = e;
	return 0;
}

int storage_writer__process_cmdline(struct storage_writer *w, uint32_t pid, int64_t proc_start,
				    const char *cmdline)
{
	struct wprocess *e = find_process(w, pid, proc_start, NULL, false);
	char buf[STORAGE_CMDLINE_MAX + 1];
	int64_t id;

	if (!e || e->written)
		return -ENOENT;
	snprintf(buf, sizeof(buf), "%s", cmdline ? cmdline : "");
	if (!e->id) {
		free(e->cmdline);
		e->cmdline = strdup(buf);
		return e->cmdline ? 0 : -ENOMEM;
	}
	id = intern_string(w, buf);
	if (id < 0)
		return (int)id;
	e->row.cmdline = id;
	return 0;
}

void storage_writer__process_exit(struct storage_writer *w, uint32_t pid, int64_t proc_start)
{
	struct wprocess *e = find_process(w, pid, proc_start, NULL, false);

	if (e && !e->exited)
		e->exited = w->nflush + 1;
}

static struct wprocess *thread_process(struct storage_writer *w, const struct wthread *t)
{
	return find_process(w, t->key.pid, t->key.proc_start, NULL, false);
}

/* Whether a written process may be forgotten now (sweep() computed p->used). */
static bool forgettable(const struct storage_writer *w, const struct wprocess *p)
{
	return p->written && ((p->exited && w->nflush >= p->exited + WRITER_EXITED_FLUSHES) ||
			      w->nflush >= p->used + WRITER_IDLE_FLUSHES);
}

/*
 * Forgets, in memory, the written processes that exited or went idle, with all their threads
 * (a thread is never forgotten without its process, so no process in memory is named by a
 * forgotten thread, which pruning could not see). Runs after a successful flush: nothing is dirty.
 */
static void sweep(struct storage_writer *w)
{
	struct wprocess *p, *tp;
	struct wthread *t, *tt;

	HASH_ITER (hh, w->processes, p, tp)
		p->used = p->exited ? p->exited - 1 : 0;
	HASH_ITER (hh, w->threads, t, tt) {
		p = thread_process(w, t);
		if (p && t->used > p->used)
			p->used = t->used;
	}
	HASH_ITER (hh, w->threads, t, tt) {
		p = thread_process(w, t);
		/* A thread whose process is not in memory (pruned): it goes when idle. */
		if (p ? !forgettable(w, p) : w->nflush < t->used + WRITER_IDLE_FLUSHES)
			continue;
		if (idset_add(&w->forgotten_strings, t->comm))
			return; /* no memory: keep it, and the rest, for now */
		HASH_DEL(w->threads, t);
		free(t);
		w->forgotten_threads++;
	}
	HASH_ITER (hh, w->processes, p, tp) {
		if (!forgettable(w, p))
			continue;
		if (idset_add(&w->forgotten_strings, p->row.comm) ||
		    idset_add(&w->forgotten_strings, p->row.exe) ||
		    idset_add(&w->forgotten_strings, p->row.cmdline))
			return;
		HASH_DEL(w->processes, p);
		process_free(p);
		w->forgotten_processes++;
	}
}

/*
 * Forgets, in memory, the frames and stacks not interned for WRITER_ROW_IDLE_FLUSHES (see there).
 * Runs after a successful flush: nothing is dirty. A stack's frames are marked before it goes, a
 * frame's strings before it goes; on no memory the row stays (and the rest, for now).
 */
static void sweep_rows(struct storage_writer *w)
{
	struct wstack *k, *tk;
	struct wframe *f, *tf;

	bool ok = true;

	HASH_ITER (hh, w->stacks, k, tk) {
		const uint8_t *q = k->key + 1, *qend = k->key + k->len;
		bool sampled = idset_has(&w->used_stacks, k->id);
		int err = 0;

		if (sampled)
			k->used = w->nflush;
		else if (k->used + WRITER_ROW_IDLE_FLUSHES > w->nflush)
			continue;
		/* A stack in use marks its frames in use; one forgotten keeps them from pruning. */
		for (uint32_t d = 0; d < k->depth && !err; d++) {
			uint64_t fid = 0;

			q += codec_get_varint(q, qend, &fid);
			err = idset_add(sampled ? &w->used_frames : &w->forgotten_frames,
					(int64_t)fid);
		}
		if (err) {
			ok = false; /* no memory: forget nothing more this time */
			break;
		}
		if (sampled)
			continue;
		HASH_DEL(w->stacks, k);
		free(k);
		w->forgotten_stack_rows++;
	}
	HASH_ITER (hh, w->frames, f, tf) {
		if (idset_has(&w->used_frames, f->id))
			f->used = w->nflush;
		if (!ok || f->used + WRITER_ROW_IDLE_FLUSHES > w->nflush)
			continue;
		if (idset_add(&w->forgotten_strings, f->key.name) ||
		    idset_add(&w->forgotten_strings, f->key.module) ||
		    idset_add(&w->forgotten_strings, f->key.file) ||
		    idset_add(&w->forgotten_strings, f->key.build_id))
			return;
		HASH_DEL(w->frames, f);
		free(f);
		w->forgotten_frame_rows++;
	}
	idset_clear(&w->used_stacks);
	idset_clear(&w->used_frames);
}

/*
 * Forgets, in memory, the strings no row held in memory names and nobody interned for
 * WRITER_ROW_IDLE_FLUSHES (a forgotten row's strings are in forgotten_strings already, kept from
 * pruning). Runs after sweep and sweep_rows, after a successful flush: nothing is dirty. On no
 * memory nothing is forgotten this time.
 */
static void sweep_strings(struct storage_writer *w)
{
	struct idset named = { 0 };
	struct wprocess *p, *tp;
	struct wthread *t, *tt;
	struct wframe *f, *tf;
	struct wstring *s, *ts;
	int err = 0;

	HASH_ITER (hh, w->frames, f, tf)
		if (idset_add(&named, f->key.name) || idset_add(&named, f->key.module) ||
		    idset_add(&named, f->key.file) || idset_add(&named, f->key.build_id))
			err = -ENOMEM;
	HASH_ITER (hh, w->threads, t, tt)
		if (idset_add(&named, t->comm))
			err = -ENOMEM;
	HASH_ITER (hh, w->processes, p, tp)
		if (p->id && (idset_add(&named, p->row.comm) || idset_add(&named, p->row.exe) ||
			      idset_add(&named, p->row.cmdline)))
			err = -ENOMEM;
	if (err)
		goto out;
	HASH_ITER (hh, w->strings, s, ts) {
		if (idset_has(&named, s->id) || s->used + WRITER_ROW_IDLE_FLUSHES > w->nflush)
			continue;
		HASH_DEL(w->strings, s);
		free(s);
		w->forgotten_string_rows++;
	}
out:
	idset_free(&named);
}

/* Forgets the processes registered long ago that no thread ever named (never written). */
static void expire_pending(struct storage_writer *w)
{
	size_t k = 0;

	for (size_t i = 0; i < w->npending; i++) {
		struct wprocess *e = w->pending[i];

		if (e->id)
			continue; /* named by a thread since: an ordinary process now */
		if (e->registered + WRITER_PROCESS_PENDING > w->nflush) {
			w->pending[k++] = e;
			continue;
		}
		HASH_DEL(w->processes, e);
		process_free(e);
	}
	w->npending = k;
}

int storage_writer__sample(struct storage_writer *w, const struct storage_sample *s)
{
	if (w->nsamples == w->samples_cap) {
		size_t ncap = w->samples_cap ? w->samples_cap * 2 : 4096;
		struct storage_sample *nv = realloc(w->samples, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		w->samples = nv;
		w->samples_cap = ncap;
	}
	/* While a prune scans the blocks, what is used now must survive it. */
	if (w->prune.active && (idset_add(&w->prune.ref_stacks, s->stack) ||
				idset_add(&w->prune.ref_threads, s->thread)))
		w->prune.active = false; /* no memory to track it: start over later */
	/* Not an error when it fails: the stack may only be forgotten early (and get a new id). */
	idset_add(&w->used_stacks, s->stack);
	w->samples[w->nsamples++] = *s;
	return 0;
}

size_t storage_writer__pending(const struct storage_writer *w)
{
	return w->nsamples;
}

/* ---- Flushing. ---- */

/* Writes the dirty rows of one dictionary as one chunk. */
static int write_dirty(struct storage_writer *w, enum dict_kind kind)
{
	struct wdirty *d = &w->dirty[kind];
	size_t size[DICT__MAX] = { sizeof(struct dict_string), sizeof(struct dict_frame),
				   sizeof(struct dict_stack), sizeof(struct dict_process),
				   sizeof(struct dict_thread) };
	int64_t *frames = NULL;
	size_t nframes = 0;
	void *rows;
	int err;

	if (!d->n)
		return 0;
	rows = calloc(d->n, size[kind]);
	if (!rows)
		return -ENOMEM;
	if (kind == DICT_STACK) {
		for (size_t i = 0; i < d->n; i++)
			nframes += ((struct wstack *)d->v[i])->depth;
		frames = malloc((nframes + 1) * sizeof(*frames));
		if (!frames) {
			free(rows);
			return -ENOMEM;
		}
		nframes = 0;
	}
	for (size_t i = 0; i < d->n; i++) {
		switch (kind) {
		case DICT_STRING: {
			struct wstring *e = d->v[i];

			((struct dict_string *)rows)[i] =
			    (struct dict_string){ .id = e->id, .str = e->str, .len = e->len };
			break;
		}
		case DICT_FRAME: {
			struct wframe *e = d->v[i];

			((struct dict_frame *)rows)[i] = (struct dict_frame){
				.id = e->id,
				.kind = (uint8_t)e->key.kind,
				.inlined = e->key.inlined != 0,
				.line = (uint32_t)e->key.line,
				.name = e->key.name,
				.module = e->key.module,
				.file = e->key.file,
				.build_id = e->key.build_id,
				.offset = e->key.offset,
			};
			break;
		}
		case DICT_STACK: {
			struct wstack *e = d->v[i];
			const uint8_t *p = e->key + 1, *end = e->key + e->len;
			struct dict_stack *r = (struct dict_stack *)rows + i;

			r->id = e->id;
			r->status = e->key[0];
			r->depth = e->depth;
			r->frames = frames + nframes;
			for (uint32_t k = 0; k < e->depth; k++) {
				uint64_t v = 0;

				p += codec_get_varint(p, end, &v);
				frames[nframes++] = (int64_t)v;
			}
			break;
		}
		case DICT_PROCESS:
			((struct dict_process *)rows)[i] = ((struct wprocess *)d->v[i])->row;
			break;
		case DICT_THREAD: {
			struct wthread *e = d->v[i];

			((struct dict_thread *)rows)[i] =
			    (struct dict_thread){ .id = e->id,
						  .process = e->process,
						  .tid = e->key.tid,
						  .comm = e->comm };
			break;
		}
		default:
			break;
		}
	}
	err = dict_write_chunk(w->db, kind, rows, d->n, dict_row_id(kind, rows),
			       dict_row_id(kind, dict_row(kind, rows, d->n - 1)), 0,
			       STORAGE_ZSTD_FAST);
	free(frames);
	free(rows);
	return err;
}

static int cmp_sample_time(const void *a, const void *b)
{
	const struct storage_sample *x = a, *y = b;

	return x->time_ns < y->time_ns ? -1 : x->time_ns > y->time_ns;
}

/* Writes the buffered samples as flush blocks; their rows are noted in *ids (n of them). */
static int write_blocks(struct storage_writer *w, struct wblock *ids, size_t *nids)
{
	int err = 0;

	*nids = 0;
	if (w->nsamples)
		qsort(w->samples, w->nsamples, sizeof(*w->samples), cmp_sample_time);
	for (size_t i = 0; i < w->nsamples && !err; i += WRITER_BLOCK_MAX) {
		size_t n = w->nsamples - i < WRITER_BLOCK_MAX ? w->nsamples - i : WRITER_BLOCK_MAX;
		const struct storage_sample *v = w->samples + i;
		void *data;
		size_t len;

		err = codec_block_encode(v, NULL, n, v[0].time_ns, STORAGE_TIME_UNIT_NS,
					 STORAGE_ZSTD_FAST, &data, &len);
		if (err)
			break;
		sqlite3_bind_int64(w->ins_block, 1,
				   codec_floor(v[0].time_ns, STORAGE_TIME_UNIT_NS));
		sqlite3_bind_int64(w->ins_block, 2,
				   codec_floor(v[n - 1].time_ns, STORAGE_TIME_UNIT_NS));
		sqlite3_bind_int64(w->ins_block, 3, (int64_t)n);
		sqlite3_bind_blob(w->ins_block, 4, data, (int)len, free);
		err = storage_step_done(w->ins_block);
		if (!err)
			ids[(*nids)++] =
			    (struct wblock){ sqlite3_last_insert_rowid(w->db->db),
					     codec_floor(v[0].time_ns, STORAGE_TIME_UNIT_NS),
					     codec_floor(v[n - 1].time_ns, STORAGE_TIME_UNIT_NS),
					     (int64_t)n };
	}
	return err;
}

static int write_recording(struct storage_writer *w, const struct storage_recording *r)
{
	int err;

	if (!w->recording_id) {
		sqlite3_bind_int64(w->ins_recording, 1, r->started_ns);
		sqlite3_bind_int64(w->ins_recording, 2, r->hz);
		sqlite3_bind_int64(w->ins_recording, 3, r->ncpus);
		sqlite3_bind_text(w->ins_recording, 4, r->event ? r->event : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(w->ins_recording, 5, r->hostname, -1, SQLITE_STATIC);
		sqlite3_bind_text(w->ins_recording, 6, r->kernel, -1, SQLITE_STATIC);
		err = storage_step_done(w->ins_recording);
		if (err)
			return err;
		w->recording_id = sqlite3_last_insert_rowid(w->db->db);
	}
	if (r->ended_ns)
		sqlite3_bind_int64(w->upd_recording, 1, r->ended_ns);
	sqlite3_bind_int64(w->upd_recording, 2, (int64_t)r->delivered);
	sqlite3_bind_int64(w->upd_recording, 3, (int64_t)r->stored);
	sqlite3_bind_int64(w->upd_recording, 4, (int64_t)r->filtered);
	sqlite3_bind_int64(w->upd_recording, 5, (int64_t)r->ringbuf_full);
	sqlite3_bind_int64(w->upd_recording, 6, (int64_t)r->bpf_errors);
	sqlite3_bind_int64(w->upd_recording, 7, (int64_t)r->ingest_errors);
	sqlite3_bind_int64(w->upd_recording, 8, (int64_t)r->write_errors);
	sqlite3_bind_int64(w->upd_recording, 9, w->recording_id);
	return storage_step_done(w->upd_recording);
}

int storage_writer__self(struct storage_writer *w, const struct storage_self *s)
{
	if (w->nself == WRITER_SELF_MAX) {
		memmove(w->self, w->self + 1, (WRITER_SELF_MAX - 1) * sizeof(*w->self));
		w->nself--;
	}
	w->self[w->nself++] = *s;
	return 0;
}

/* The queued rows of the collector's own cost, tied to the recording just written. */
static int write_self(struct storage_writer *w)
{
	int err = 0;

	for (size_t i = 0; i < w->nself && !err; i++) {
		const struct storage_self *s = &w->self[i];

		sqlite3_bind_int64(w->ins_self, 1, w->recording_id);
		sqlite3_bind_int64(w->ins_self, 2, s->time_ns);
		sqlite3_bind_int64(w->ins_self, 3, s->span_ns);
		sqlite3_bind_double(w->ins_self, 4, s->cpu_pct);
		sqlite3_bind_int64(w->ins_self, 5, (int64_t)s->rss_kib);
		sqlite3_bind_int64(w->ins_self, 6, (int64_t)s->heap_kib);
		sqlite3_bind_double(w->ins_self, 7, s->samples_per_s);
		sqlite3_bind_int64(w->ins_self, 8, (int64_t)s->dropped);
		sqlite3_bind_int64(w->ins_self, 9, s->hz);
		err = storage_step_done(w->ins_self);
	}
	return err;
}

int storage_writer__flush(struct storage_writer *w, struct storage_recording *rec,
			  size_t max_pending, uint64_t *dropped)
{
	int64_t saved_recording = w->recording_id;
	size_t nsamples = w->nsamples, nblocks = 0;
	struct wblock *blocks;
	bool counted = false;
	int err;

	blocks = malloc((nsamples / WRITER_BLOCK_MAX + 1) * sizeof(*blocks));
	if (!blocks)
		return -ENOMEM;
	err = storage_exec(w->db, "BEGIN IMMEDIATE");
	for (int k = 0; !err && k < DICT__MAX; k++)
		err = write_dirty(w, k);
	for (int k = 0; !err && k < DICT__MAX; k++)
		if (w->next_id[k] != w->written_next[k])
			err = storage_meta_set(w->db, next_key[k], w->next_id[k]);
	if (!err)
		err = write_blocks(w, blocks, &nblocks);
	if (!err && rec) {
		/* The counters committed must include the samples of this very transaction. */
		rec->stored += nsamples;
		counted = true;
		err = write_recording(w, rec);
		if (!err)
			err = write_self(w);
	}
	if (!err)
		err = storage_exec(w->db, "COMMIT");
	if (!err) {
		if (rec)
			w->nself = 0;
		for (size_t i = 0; i < w->dirty[DICT_PROCESS].n; i++)
			((struct wprocess *)w->dirty[DICT_PROCESS].v[i])->written = true;
		w->nflush++;
		expire_pending(w);
		for (int k = 0; k < DICT__MAX; k++) {
			w->dirty[k].n = 0;
			w->written_next[k] = w->next_id[k];
		}
		if (!(w->nflush % WRITER_SWEEP_FLUSHES)) {
			sweep(w);
			sweep_rows(w);
			sweep_strings(w);
		}
		w->nsamples = 0;
		for (size_t i = 0; i < nblocks; i++)
			writer_note_flush(w, blocks[i].id, blocks[i].t_start, blocks[i].t_end,
					  blocks[i].n);
		free(blocks);
		return 0;
	}
	/* SQLite may have rolled back by itself (SQLITE_FULL); then a ROLLBACK would only replace
	 * the error message the caller is about to print. */
	if (!sqlite3_get_autocommit(w->db->db))
		sqlite3_exec(w->db->db, "ROLLBACK", NULL, NULL, NULL);
	free(blocks);
	w->recording_id = saved_recording;
	if (counted)
		rec->stored -= nsamples;
	if (w->nsamples > max_pending) {
		if (dropped)
			*dropped += w->nsamples;
		w->nsamples = 0;
	}
	return err;
}

void storage_writer__stats(const struct storage_writer *w, struct storage_writer_stats *out)
{
	*out = (struct storage_writer_stats){
		.strings = HASH_COUNT(w->strings),
		.frames = HASH_COUNT(w->frames),
		.stacks = HASH_COUNT(w->stacks),
		.processes = HASH_COUNT(w->processes),
		.threads = HASH_COUNT(w->threads),
		.forgotten_strings = w->forgotten_string_rows,
		.forgotten_frames = w->forgotten_frame_rows,
		.forgotten_stacks = w->forgotten_stack_rows,
		.forgotten_processes = w->forgotten_processes,
		.forgotten_threads = w->forgotten_threads,
		.sqlite_bytes = (uint64_t)sqlite3_memory_used(),
	};
}

void storage_writer__free(struct storage_writer *w)
{
	struct wstring *s, *ts;
	struct wframe *f, *tf;
	struct wstack *k, *tk;
	struct wthread *t, *tt;
	struct wprocess *p, *tp;

	if (!w)
		return;
	maint_worker_free(w->worker);
	HASH_ITER (hh, w->strings, s, ts) {
		HASH_DEL(w->strings, s);
		free(s);
	}
	HASH_ITER (hh, w->frames, f, tf) {
		HASH_DEL(w->frames, f);
		free(f);
	}
	HASH_ITER (hh, w->stacks, k, tk) {
		HASH_DEL(w->stacks, k);
		free(k);
	}
	HASH_ITER (hh, w->threads, t, tt) {
		HASH_DEL(w->threads, t);
		free(t);
	}
	HASH_ITER (hh, w->processes, p, tp) {
		HASH_DEL(w->processes, p);
		process_free(p);
	}
	free(w->pending);
	for (int i = 0; i < DICT__MAX; i++) {
		free(w->dirty[i].v);
		idset_free(&w->prune.dead[i]);
	}
	idset_free(&w->prune.ref_stacks);
	idset_free(&w->prune.ref_threads);
	idset_free(&w->forgotten_strings);
	idset_free(&w->forgotten_frames);
	idset_free(&w->used_stacks);
	idset_free(&w->used_frames);
	free(w->samples);
	free(w->flushes);
	sqlite3_finalize(w->ins_block);
	sqlite3_finalize(w->ins_recording);
	sqlite3_finalize(w->upd_recording);
	sqlite3_finalize(w->ins_self);
	free(w);
}
