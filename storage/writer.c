// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The database writer. Every interned row lives in an in-memory hash table (uthash) with its id;
 * rows created since the last successful flush are also on a dirty list and are inserted in the
 * flush transaction. Ids come from max(id) + 1 at open: there is one writer per database (the
 * flock in storage.c), so nobody else hands out ids.
 */
#include "storage/writer.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <xxhash.h>

#include "storage/storage_internal.h"

/* Samples per block: bounds the memory a reader needs to decode one block. */
#define WRITER_BLOCK_MAX 65536
#define WRITER_COMM_LEN 16

struct wstring {
	int64_t id;
	bool dirty;
	UT_hash_handle hh;
	char str[]; /* key */
};

struct wframe_key {
	int64_t kind, name, module;
	uint64_t offset;
	int64_t file, line, inlined, build_id;
};

struct wframe {
	struct wframe_key key;
	int64_t id;
	UT_hash_handle hh;
};

struct wstack {
	int64_t id;
	uint64_t hash;
	uint32_t depth;
	uint32_t len;
	UT_hash_handle hh;
	uint8_t key[]; /* the status byte, then the frame ids as varints (the stored blob) */
};

struct wthread_key {
	uint32_t pid, tid;
	int64_t proc_start;
	char comm[WRITER_COMM_LEN];
};

struct wthread {
	struct wthread_key key;
	int64_t id;
	UT_hash_handle hh;
};

struct wprocess_key {
	uint32_t pid;
	uint32_t pad;
	int64_t proc_start;
};

struct wprocess {
	struct wprocess_key key;
	char *comm, *exe;
	int64_t seen_ns, started_ns;
	uint32_t uid;
	UT_hash_handle hh;
};

/* A list of rows to insert at the next flush. */
struct dirty {
	void **v;
	size_t n, cap;
};

struct storage_writer {
	struct storage *db;
	struct wstring *strings;
	struct wframe *frames;
	struct wstack *stacks;
	struct wthread *threads;
	struct wprocess *processes;
	struct dirty d_strings, d_frames, d_stacks, d_threads, d_processes;
	int64_t next_string, next_frame, next_stack, next_thread;
	struct storage_sample *samples;
	size_t nsamples, samples_cap;
	int64_t recording_id;
	bool reading; /* the lookups' read transaction is open (see begin_lookups) */

	sqlite3_stmt *find_string, *find_frame, *find_stack, *find_thread;
	sqlite3_stmt *ins_string, *ins_frame, *ins_stack, *ins_thread, *ins_process, *ins_block;
	sqlite3_stmt *ins_recording, *upd_recording;
};

static int dirty_push(struct dirty *d, void *row)
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

static int64_t max_id(struct storage *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t id = -EIO;

	if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return id;
}

/*
 * Why one read transaction for all the lookups between two flushes: outside a transaction every
 * SELECT is a transaction of its own, and in WAL mode each one takes and drops POSIX locks on the
 * database and its -shm file (about four fcntl calls), which cost far more than the lookup itself
 * (bench/writer_intern.c: a new frame cost 200-400 us that way). The snapshot cannot miss rows:
 * this writer is the only one (the flock in storage.c). end_lookups() runs before the flush's
 * write transaction and when the writer is freed.
 */
static int begin_lookups(struct storage_writer *w)
{
	int err;

	if (w->reading)
		return 0;
	err = storage_exec(w->db, "BEGIN");
	w->reading = !err;
	return err;
}

static void end_lookups(struct storage_writer *w)
{
	if (!w->reading)
		return;
	/* Ending a transaction that wrote nothing: a failure leaves nothing to undo, and
	 * sqlite3_close_v2 would roll it back anyway. */
	sqlite3_exec(w->db->db, "COMMIT", NULL, NULL, NULL);
	w->reading = false;
}

/* Runs a lookup statement with its parameters bound; returns the id found, 0, or -errno. */
static int64_t step_lookup(struct storage_writer *w, sqlite3_stmt *st)
{
	int64_t id = 0;
	int rc;

	rc = begin_lookups(w);
	if (rc) {
		sqlite3_reset(st);
		return rc;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		id = storage_errno(rc);
	sqlite3_reset(st);
	return id;
}

struct storage_writer *storage_writer__new(struct storage *db)
{
	struct storage_writer *w = calloc(1, sizeof(*w));
	int err = 0;

	if (!w)
		return NULL;
	w->db = db;
	w->next_string = max_id(db, "SELECT coalesce(max(id), 0) + 1 FROM strings");
	w->next_frame = max_id(db, "SELECT coalesce(max(id), 0) + 1 FROM frames");
	w->next_stack = max_id(db, "SELECT coalesce(max(id), 0) + 1 FROM stacks");
	w->next_thread = max_id(db, "SELECT coalesce(max(id), 0) + 1 FROM threads");
	if (w->next_string < 0 || w->next_frame < 0 || w->next_stack < 0 || w->next_thread < 0) {
		err = -EIO;
		goto fail;
	}
#define PREP(field, sql)                                   \
	do {                                               \
		err = storage_prepare(db, sql, &w->field); \
		if (err)                                   \
			goto fail;                         \
	} while (0)
	PREP(find_string, "SELECT id FROM strings WHERE str = ?");
	PREP(find_frame, "SELECT id FROM frames WHERE kind = ? AND name = ? AND module = ? AND "
			 "offset = ? AND file = ? AND line = ? AND inlined = ? AND build_id = ?");
	PREP(find_stack, "SELECT id FROM stacks WHERE hash = ? AND frames = ? AND status = ?");
	PREP(find_thread, "SELECT id FROM threads WHERE pid = ? AND tid = ? AND proc_start = ? AND "
			  "comm = ?");
	PREP(ins_string, "INSERT INTO strings(id, str) VALUES(?, ?)");
	PREP(ins_frame, "INSERT INTO frames(id, kind, name, module, offset, file, line, inlined,"
			" build_id) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
	PREP(ins_stack, "INSERT INTO stacks(id, hash, depth, status, frames) VALUES(?, ?, ?, ?, "
			"?)");
	PREP(ins_thread, "INSERT INTO threads(id, pid, tid, proc_start, comm) VALUES(?, ?, ?, ?, "
			 "?)");
	PREP(ins_process, "INSERT OR IGNORE INTO processes(pid, proc_start, started_ns, uid, comm,"
			  " exe, first_seen_ns) VALUES(?, ?, ?, ?, ?, ?, ?)");
	PREP(ins_block, "INSERT INTO blocks(t_start, t_end, nsamples, encoding, data)"
			" VALUES(?, ?, ?, ?, ?)");
	PREP(ins_recording, "INSERT INTO recordings(started_ns, hz, ncpus, event, hostname, kernel)"
			    " VALUES(?, ?, ?, ?, ?, ?)");
	PREP(upd_recording, "UPDATE recordings SET ended_ns = ?, delivered = ?, stored = ?,"
			    " filtered = ?, ringbuf_full = ?, bpf_errors = ?, ingest_errors = ?,"
			    " write_errors = ? WHERE id = ?");
#undef PREP
	return w;
fail:
	storage_writer__free(w);
	errno = -err;
	return NULL;
}

/* Interns a string; returns its id, 0 for NULL, or -errno. */
static int64_t intern_string(struct storage_writer *w, const char *s)
{
	struct wstring *e;
	size_t len;
	int64_t id;

	if (!s)
		return 0;
	HASH_FIND_STR(w->strings, s, e);
	if (e)
		return e->id;
	len = strlen(s);
	sqlite3_bind_text(w->find_string, 1, s, (int)len, SQLITE_STATIC);
	id = step_lookup(w, w->find_string);
	if (id < 0)
		return id;
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	memcpy(e->str, s, len + 1);
	e->dirty = !id;
	e->id = id ? id : w->next_string++;
	if (e->dirty && dirty_push(&w->d_strings, e)) {
		free(e);
		return -ENOMEM;
	}
	HASH_ADD_STR(w->strings, str, e);
	return e->id;
}

int64_t storage_writer__frame(struct storage_writer *w, const struct storage_frame *f)
{
	struct wframe_key key = { 0 };
	struct wframe *e;
	int64_t id;

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
	if (e)
		return e->id;
	sqlite3_bind_int64(w->find_frame, 1, key.kind);
	sqlite3_bind_int64(w->find_frame, 2, key.name);
	sqlite3_bind_int64(w->find_frame, 3, key.module);
	sqlite3_bind_int64(w->find_frame, 4, (int64_t)key.offset);
	sqlite3_bind_int64(w->find_frame, 5, key.file);
	sqlite3_bind_int64(w->find_frame, 6, key.line);
	sqlite3_bind_int64(w->find_frame, 7, key.inlined);
	sqlite3_bind_int64(w->find_frame, 8, key.build_id);
	id = step_lookup(w, w->find_frame);
	if (id < 0)
		return id;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = key;
	e->id = id ? id : w->next_frame++;
	if (!id && dirty_push(&w->d_frames, e)) {
		free(e);
		return -ENOMEM;
	}
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
		id = e->id;
		goto out;
	}
	e = malloc(sizeof(*e) + len);
	if (!e) {
		id = -ENOMEM;
		goto out;
	}
	memcpy(e->key, buf, len);
	e->len = (uint32_t)len;
	e->depth = (uint32_t)n;
	/* The database keys stacks by a 63-bit hash of the frames: SQLite integers are signed. */
	e->hash = XXH3_64bits(buf + 1, len - 1) >> 1;
	sqlite3_bind_int64(w->find_stack, 1, (int64_t)e->hash);
	sqlite3_bind_blob(w->find_stack, 2, buf + 1, (int)len - 1, SQLITE_STATIC);
	sqlite3_bind_int(w->find_stack, 3, status);
	id = step_lookup(w, w->find_stack);
	if (id < 0) {
		free(e);
		goto out;
	}
	e->id = id ? id : w->next_stack++;
	if (!id && dirty_push(&w->d_stacks, e)) {
		free(e);
		id = -ENOMEM;
		goto out;
	}
	HASH_ADD_KEYPTR(hh, w->stacks, e->key, len, e);
	id = e->id;
out:
	if (buf != stackbuf)
		free(buf);
	return id;
}

int64_t storage_writer__thread(struct storage_writer *w, uint32_t pid, uint32_t tid,
			       int64_t proc_start_ns, const char *comm)
{
	struct wthread_key key;
	struct wthread *e;
	int64_t id;

	memset(&key, 0, sizeof(key));
	key.pid = pid;
	key.tid = tid;
	key.proc_start = proc_start_ns;
	strncpy(key.comm, comm, sizeof(key.comm) - 1);
	HASH_FIND(hh, w->threads, &key, sizeof(key), e);
	if (e)
		return e->id;
	sqlite3_bind_int64(w->find_thread, 1, pid);
	sqlite3_bind_int64(w->find_thread, 2, tid);
	sqlite3_bind_int64(w->find_thread, 3, proc_start_ns);
	sqlite3_bind_text(w->find_thread, 4, key.comm, -1, SQLITE_STATIC);
	id = step_lookup(w, w->find_thread);
	if (id < 0)
		return id;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = key;
	e->id = id ? id : w->next_thread++;
	if (!id && dirty_push(&w->d_threads, e)) {
		free(e);
		return -ENOMEM;
	}
	HASH_ADD(hh, w->threads, key, sizeof(key), e);
	return e->id;
}

int storage_writer__process(struct storage_writer *w, uint32_t pid, int64_t proc_start,
			    int64_t started_ns, uint32_t uid, const char *comm, const char *exe,
			    int64_t seen_ns)
{
	struct wprocess_key key = { .pid = pid, .proc_start = proc_start };
	struct wprocess *e;

	HASH_FIND(hh, w->processes, &key, sizeof(key), e);
	if (e)
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->key = key;
	e->comm = strdup(comm ? comm : "");
	e->exe = exe ? strdup(exe) : NULL;
	e->seen_ns = seen_ns;
	e->started_ns = started_ns;
	e->uid = uid;
	if (!e->comm || (exe && !e->exe) || dirty_push(&w->d_processes, e)) {
		free(e->comm);
		free(e->exe);
		free(e);
		return -ENOMEM;
	}
	HASH_ADD(hh, w->processes, key, sizeof(key), e);
	return 0;
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
	w->samples[w->nsamples++] = *s;
	return 0;
}

size_t storage_writer__pending(const struct storage_writer *w)
{
	return w->nsamples;
}

static int step_insert(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : storage_errno(rc);
}

static int write_rows(struct storage_writer *w)
{
	int err = 0;

	for (size_t i = 0; i < w->d_strings.n && !err; i++) {
		struct wstring *e = w->d_strings.v[i];

		sqlite3_bind_int64(w->ins_string, 1, e->id);
		sqlite3_bind_text(w->ins_string, 2, e->str, -1, SQLITE_STATIC);
		err = step_insert(w->ins_string);
	}
	for (size_t i = 0; i < w->d_frames.n && !err; i++) {
		struct wframe *e = w->d_frames.v[i];

		sqlite3_bind_int64(w->ins_frame, 1, e->id);
		sqlite3_bind_int64(w->ins_frame, 2, e->key.kind);
		sqlite3_bind_int64(w->ins_frame, 3, e->key.name);
		sqlite3_bind_int64(w->ins_frame, 4, e->key.module);
		sqlite3_bind_int64(w->ins_frame, 5, (int64_t)e->key.offset);
		sqlite3_bind_int64(w->ins_frame, 6, e->key.file);
		sqlite3_bind_int64(w->ins_frame, 7, e->key.line);
		sqlite3_bind_int64(w->ins_frame, 8, e->key.inlined);
		sqlite3_bind_int64(w->ins_frame, 9, e->key.build_id);
		err = step_insert(w->ins_frame);
	}
	for (size_t i = 0; i < w->d_stacks.n && !err; i++) {
		struct wstack *e = w->d_stacks.v[i];

		sqlite3_bind_int64(w->ins_stack, 1, e->id);
		sqlite3_bind_int64(w->ins_stack, 2, (int64_t)e->hash);
		sqlite3_bind_int64(w->ins_stack, 3, e->depth);
		sqlite3_bind_int(w->ins_stack, 4, e->key[0]);
		sqlite3_bind_blob(w->ins_stack, 5, e->key + 1, (int)e->len - 1, SQLITE_STATIC);
		err = step_insert(w->ins_stack);
	}
	for (size_t i = 0; i < w->d_threads.n && !err; i++) {
		struct wthread *e = w->d_threads.v[i];

		sqlite3_bind_int64(w->ins_thread, 1, e->id);
		sqlite3_bind_int64(w->ins_thread, 2, e->key.pid);
		sqlite3_bind_int64(w->ins_thread, 3, e->key.tid);
		sqlite3_bind_int64(w->ins_thread, 4, e->key.proc_start);
		sqlite3_bind_text(w->ins_thread, 5, e->key.comm, -1, SQLITE_STATIC);
		err = step_insert(w->ins_thread);
	}
	for (size_t i = 0; i < w->d_processes.n && !err; i++) {
		struct wprocess *e = w->d_processes.v[i];

		sqlite3_bind_int64(w->ins_process, 1, e->key.pid);
		sqlite3_bind_int64(w->ins_process, 2, e->key.proc_start);
		sqlite3_bind_int64(w->ins_process, 3, e->started_ns);
		sqlite3_bind_int64(w->ins_process, 4, e->uid);
		sqlite3_bind_text(w->ins_process, 5, e->comm, -1, SQLITE_STATIC);
		if (e->exe)
			sqlite3_bind_text(w->ins_process, 6, e->exe, -1, SQLITE_STATIC);
		sqlite3_bind_int64(w->ins_process, 7, e->seen_ns);
		err = step_insert(w->ins_process);
	}
	return err;
}

static int cmp_sample_time(const void *a, const void *b)
{
	const struct storage_sample *x = a, *y = b;

	return x->time_ns < y->time_ns ? -1 : x->time_ns > y->time_ns;
}

static int write_blocks(struct storage_writer *w)
{
	int err = 0;

	if (w->nsamples)
		qsort(w->samples, w->nsamples, sizeof(*w->samples), cmp_sample_time);
	for (size_t i = 0; i < w->nsamples && !err; i += WRITER_BLOCK_MAX) {
		size_t n = w->nsamples - i < WRITER_BLOCK_MAX ? w->nsamples - i : WRITER_BLOCK_MAX;
		const struct storage_sample *v = w->samples + i;
		void *data;
		size_t len;

		err = codec_encode(v, n, v[0].time_ns, &data, &len);
		if (err)
			break;
		sqlite3_bind_int64(w->ins_block, 1, v[0].time_ns);
		sqlite3_bind_int64(w->ins_block, 2, v[n - 1].time_ns);
		sqlite3_bind_int64(w->ins_block, 3, (int64_t)n);
		sqlite3_bind_int(w->ins_block, 4, CODEC_ENCODING_V1);
		sqlite3_bind_blob(w->ins_block, 5, data, (int)len, free);
		err = step_insert(w->ins_block);
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
		err = step_insert(w->ins_recording);
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
	return step_insert(w->upd_recording);
}

/*
 * The caches only save lookups: every row is in the file, and a miss is looked up there first
 * (processes are inserted OR IGNORE). Under constant process churn they would grow without bound
 * (new threads and processes, and the frames and stacks of code seen once, unnamed ones by
 * offset: about 850 MiB an hour in the soak test at 600 new processes a second). Once
 * everything is written, a cache above its limit is emptied; the hot entries come back at the
 * cost of one indexed lookup each.
 */
#define WRITER_MAX_THREADS 16384
#define WRITER_MAX_PROCESSES 16384
#define WRITER_MAX_STRINGS 65536
#define WRITER_MAX_FRAMES 131072
#define WRITER_MAX_STACKS 131072

static void trim_caches(struct storage_writer *w)
{
	struct wstring *s, *ts;
	struct wframe *f, *tf;
	struct wstack *k, *tk;
	struct wthread *t, *tt;
	struct wprocess *p, *tp;

	if (HASH_COUNT(w->strings) > WRITER_MAX_STRINGS) {
		HASH_ITER (hh, w->strings, s, ts) {
			HASH_DEL(w->strings, s);
			free(s);
		}
	}
	if (HASH_COUNT(w->frames) > WRITER_MAX_FRAMES) {
		HASH_ITER (hh, w->frames, f, tf) {
			HASH_DEL(w->frames, f);
			free(f);
		}
	}
	if (HASH_COUNT(w->stacks) > WRITER_MAX_STACKS) {
		HASH_ITER (hh, w->stacks, k, tk) {
			HASH_DEL(w->stacks, k);
			free(k);
		}
	}
	if (HASH_COUNT(w->threads) > WRITER_MAX_THREADS) {
		HASH_ITER (hh, w->threads, t, tt) {
			HASH_DEL(w->threads, t);
			free(t);
		}
	}
	if (HASH_COUNT(w->processes) > WRITER_MAX_PROCESSES) {
		HASH_ITER (hh, w->processes, p, tp) {
			HASH_DEL(w->processes, p);
			free(p->comm);
			free(p->exe);
			free(p);
		}
	}
}

int storage_writer__flush(struct storage_writer *w, struct storage_recording *rec,
			  size_t max_pending, uint64_t *dropped)
{
	int64_t saved_recording = w->recording_id;
	size_t nsamples = w->nsamples;
	bool counted = false;
	int err;

	end_lookups(w);
	err = storage_exec(w->db, "BEGIN IMMEDIATE");
	if (!err)
		err = write_rows(w);
	if (!err)
		err = write_blocks(w);
	if (!err && rec) {
		/* The counters committed must include the samples of this very transaction. */
		rec->stored += nsamples;
		counted = true;
		err = write_recording(w, rec);
	}
	if (!err)
		err = storage_exec(w->db, "COMMIT");
	if (!err) {
		w->d_strings.n = w->d_frames.n = w->d_stacks.n = w->d_threads.n = 0;
		w->d_processes.n = 0;
		w->nsamples = 0;
		trim_caches(w);
		return 0;
	}
	/* SQLite may have rolled back by itself (SQLITE_FULL): a failing ROLLBACK is harmless. */
	sqlite3_exec(w->db->db, "ROLLBACK", NULL, NULL, NULL);
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

void storage_writer__free(struct storage_writer *w)
{
	struct wstring *s, *ts;
	struct wframe *f, *tf;
	struct wstack *k, *tk;
	struct wthread *t, *tt;
	struct wprocess *p, *tp;

	if (!w)
		return;
	end_lookups(w);
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
		free(p->comm);
		free(p->exe);
		free(p);
	}
	free(w->d_strings.v);
	free(w->d_frames.v);
	free(w->d_stacks.v);
	free(w->d_threads.v);
	free(w->d_processes.v);
	free(w->samples);
	sqlite3_finalize(w->find_string);
	sqlite3_finalize(w->find_frame);
	sqlite3_finalize(w->find_stack);
	sqlite3_finalize(w->find_thread);
	sqlite3_finalize(w->ins_string);
	sqlite3_finalize(w->ins_frame);
	sqlite3_finalize(w->ins_stack);
	sqlite3_finalize(w->ins_thread);
	sqlite3_finalize(w->ins_process);
	sqlite3_finalize(w->ins_block);
	sqlite3_finalize(w->ins_recording);
	sqlite3_finalize(w->upd_recording);
	free(w);
}
