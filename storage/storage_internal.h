/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Internals shared by the files of storage/: the handle, SQLite helpers, the schema. */
#ifndef EMBER_STORAGE_INTERNAL_H
#define EMBER_STORAGE_INTERNAL_H

#include <sqlite3.h>
#include <stdint.h>

#include "storage/storage.h"

/* A number as SQL text: STR(STORAGE_PAGE_SIZE) pasted into a PRAGMA. */
#define STR_(x) #x
#define STR(x) STR_(x)

/* 'EMBR': PRAGMA application_id, so a foreign SQLite file is told apart from an empty one. */
#define STORAGE_APPLICATION_ID 1162691154 /* 0x454d4252 */

/* Block levels (blocks.level). */
enum storage_level {
	STORAGE_LEVEL_FLUSH = 0,  /* one flush of samples, as written */
	STORAGE_LEVEL_WINDOW = 1, /* flushes merged into a time window */
	STORAGE_LEVEL_ROLLUP = 2, /* per-minute counts of (thread, cgroup, stack) */
};

/* The zstd levels: flushes are written often and soon rewritten; merged data is kept. */
#define STORAGE_ZSTD_FAST 3
#define STORAGE_ZSTD_KEEP 16

/* Times are stored at this resolution (the heatmap needs 10 ms). */
#define STORAGE_TIME_UNIT_NS 1000000ll

struct storage {
	sqlite3 *db;
	enum storage_mode mode;
	int lock_fd; /* writer: holds flock(LOCK_EX); closed only after sqlite3_close */
	char *path;
	int schema_from; /* the schema version the file had when opened (before migrations) */
};

/* Maps an SQLite result code to -errno (SQLITE_FULL -> -ENOSPC, ...). */
int storage_errno(int rc);

/* Prepares `sql` (persistent); returns 0 or -errno. */
int storage_prepare(struct storage *s, const char *sql, sqlite3_stmt **stmt);

/* Runs statements without results; returns 0 or -errno. */
int storage_exec(struct storage *s, const char *sql);

/* Steps a statement that returns no rows, resets it and clears its bindings. 0 or -errno. */
int storage_step_done(sqlite3_stmt *st);

/* The single integer a query returns (0 when it returns no row). 0 or -errno. */
int storage_query_int(struct storage *s, const char *sql, int64_t *out);

/* meta(key, value) as integers: *out untouched when the key is absent. 0 or -errno. */
int storage_meta_get(struct storage *s, const char *key, int64_t *out);
int storage_meta_set(struct storage *s, const char *key, int64_t value);

/* The statements that create the current schema in an empty database. */
extern const char storage_schema_sql[];

/* ---- The writer's state, shared by writer.c and maintain.c. ---- */

#include <stdbool.h>
#include <stddef.h>
#include <uthash.h>

#include "storage/dict.h"
#include "storage/writer.h"

#define WRITER_COMM_LEN 16

struct wstring {
	int64_t id;
	uint64_t used; /* the flush count when last interned */
	uint32_t len;
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
	uint64_t used; /* the flush count when last interned */
	UT_hash_handle hh;
};

struct wstack {
	int64_t id;
	uint64_t used; /* the flush count when last interned */
	uint32_t depth;
	uint32_t len;
	UT_hash_handle hh;
	uint8_t key[]; /* the status byte, then the frame ids, leaf first, as varints */
};

struct wprocess_key {
	uint32_t pid;
	uint32_t pad;
	int64_t proc_start;
};

/*
 * A process. It is written only once a thread of it is (a sample names it): exec events report
 * many processes no sample ever sees (a build runs dozens a second). Until then it has no id,
 * its details are kept as given, and it is forgotten after WRITER_PROCESS_PENDING flushes.
 */
struct wprocess {
	struct wprocess_key key;
	int64_t id; /* 0 until a thread refers to it */
	struct dict_process row;
	char *comm, *exe, *cmdline; /* the details, until id is given */
	uint64_t registered;	    /* the flush count when it was registered */
	uint64_t exited;	    /* the flush count when its exit was noted; 0: running */
	uint64_t used;		    /* sweep: the last flush any of its threads was used in */
	bool written;		    /* in the database: no longer changed */
	UT_hash_handle hh;
};

#define WRITER_PROCESS_PENDING 600

/*
 * Written processes are forgotten in memory, with all their threads, this many flushes after
 * their exit was noted, or when none of their threads was used for WRITER_IDLE_FLUSHES; the
 * sweep runs every WRITER_SWEEP_FLUSHES. Their rows stay in the database; a thread seen again
 * later gets new rows. The strings they name are kept from pruning (forgotten_strings), and the
 * forgotten rows themselves are pruned only by a later writer, which loads them again.
 */
#define WRITER_EXITED_FLUSHES 10
#define WRITER_IDLE_FLUSHES 600
#define WRITER_SWEEP_FLUSHES 10

/*
 * Frames and stacks not interned for WRITER_ROW_IDLE_FLUSHES are forgotten in memory too (new
 * code keeps coming on a busy host: new builds, new tests, each with frames and stacks of its
 * own), and so are strings no row in memory names and nobody interned for as long. Their rows
 * stay in the database; interned again later, they get new rows with new ids, equal in content
 * (readers group by content: functions by the text of name and module, flame graphs by name).
 * What forgotten rows name is kept from pruning: the frames of forgotten stacks
 * (forgotten_frames), the strings of forgotten frames, threads and processes
 * (forgotten_strings). Forgotten rows are never pruned by this writer.
 */
#define WRITER_ROW_IDLE_FLUSHES 300

/* Rows of the collector's own cost kept while flushes fail (an hour of them). */
#define WRITER_SELF_MAX 60

struct wthread_key {
	uint32_t pid, tid;
	int64_t proc_start;
	char comm[WRITER_COMM_LEN];
};

struct wthread {
	struct wthread_key key;
	int64_t id;
	int64_t process, comm; /* ids */
	uint64_t used;	       /* the flush count when a sample last named it */
	UT_hash_handle hh;
};

/* A list of rows to insert at the next flush, in id order. */
struct wdirty {
	void **v;
	size_t n, cap;
};

/* A flush block not merged into a window yet. */
struct wblock {
	int64_t id, t_start, t_end, n;
};

/* A set of ids as a bitmap that grows on demand. */
struct idset {
	uint64_t *bits;
	size_t nwords;
};

int idset_add(struct idset *s, int64_t id);
bool idset_has(const struct idset *s, int64_t id);
void idset_free(struct idset *s);
/* Empties the set, keeping its memory. */
void idset_clear(struct idset *s);
/* Adds every id of `src` to `dst`. 0 or -ENOMEM. */
int idset_union(struct idset *dst, const struct idset *src);

/*
 * Decodes one dictionary chunk (see dict_decode for the arguments) and encodes its rows again, in
 * id order, at zstd `level`: the chunk in the current format. 0 and an owned blob in *out
 * (free()), or -errno.
 */
int storage_recode_chunk(enum dict_kind kind, const void *data, size_t len, int64_t first,
			 int64_t last, size_t n, int level, void **out, size_t *out_len);

/* Pruning in progress: see maintain.c. */
struct wprune {
	bool active;
	int phase;
	int64_t scan_next, scan_end;	      /* block ids still to scan: [scan_next, scan_end] */
	struct idset ref_stacks, ref_threads; /* referenced by a scanned block, or used since */
	struct idset dead[DICT__MAX];	      /* rows to remove */
	int kind;			      /* the dictionary being rewritten */
	int64_t chunk_next;		      /* the next chunk id to look at */
};

struct maint_worker;

/* Stops and frees maintenance's worker thread (NULL is fine). */
void maint_worker_free(struct maint_worker *mw);

struct storage_writer {
	struct storage *db;
	struct maint_worker *worker; /* started by the first merge */
	struct wstring *strings;
	struct wframe *frames;
	struct wstack *stacks;
	struct wthread *threads;
	struct wprocess *processes;
	struct wdirty dirty[DICT__MAX];
	int64_t next_id[DICT__MAX];	 /* the next id of each dictionary */
	int64_t written_next[DICT__MAX]; /* next_id as stored in meta */
	struct storage_sample *samples;
	size_t nsamples, samples_cap;
	int64_t recording_id;
	struct wprocess **pending; /* processes without a thread yet, oldest first */
	size_t npending, pending_cap;
	uint64_t nflush;	/* flushes done */
	struct wblock *flushes; /* flush blocks not merged yet, in id order */
	size_t nflushes, flushes_cap;
	int64_t deleted_since_prune; /* blocks deleted or replaced since the last prune */
	int64_t last_prune_ns;
	struct wprune prune;
	struct idset forgotten_strings; /* named by rows forgotten in memory: never pruned */
	struct idset forgotten_frames;	/* named by stacks forgotten in memory: never pruned */
	/* Stacks samples named since the last sweep, and their frames (filled by the sweep): in
	 * use, though the ingest's own cache spares them the interning that marks them. */
	struct idset used_stacks, used_frames;
	uint64_t forgotten_processes, forgotten_threads, forgotten_frame_rows, forgotten_stack_rows,
	    forgotten_string_rows;
	/* The collector's own cost, waiting for the next flush; the oldest go past the cap. */
	struct storage_self self[WRITER_SELF_MAX];
	size_t nself;

	sqlite3_stmt *ins_block, *ins_recording, *upd_recording, *ins_self;
};

/* Reads the list of flush blocks from the database again. 0 or -errno. */
int writer_load_flushes(struct storage_writer *w);

/* Records a flush block the writer has to merge later. 0 or -ENOMEM. */
int writer_note_flush(struct storage_writer *w, int64_t id, int64_t t_start, int64_t t_end,
		      int64_t n);

/* Migrates the schema from version `from` to STORAGE_SCHEMA_VERSION, one version at a time,
 * each step in its own transaction. 0 or -errno. */
int storage_migrate(struct storage *s, int from);

#endif
