// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Opening, creating and checking ember's SQLite database. The file is created by us with mode
 * 0640 before SQLite sees it, because SQLite gives its -wal and -shm files the mode of the main
 * file. A writer holds flock(LOCK_EX) on the file for its whole life; flock locks do not interact
 * with the POSIX locks SQLite uses, but closing any fd of the file drops those POSIX locks, so our
 * fd is closed only after sqlite3_close.
 */
#include "storage/storage_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The WAL is truncated back to this size after a checkpoint that emptied it. */
#define STORAGE_WAL_LIMIT 4194304 /* 4 MiB, a plain number: it is pasted into SQL */
/* Pages of 4 KiB: blobs larger than a page go to overflow pages, 4 bytes of each are a link. */
#define STORAGE_PAGE_SIZE 4096
/* The busy timeout: how long an open waits for another process's WAL recovery. */
#define STORAGE_BUSY_MS 5000

const char storage_schema_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    /* Dictionary chunks (storage/dict.h): rows with ids [id, last], n of them, in data; tier
     * counts how many times its rows were merged (-1: full size, never merged again). */
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
    /* Samples in time windows (storage/codec.h): t_start/t_end in ns since the epoch, level
     * as enum storage_level, window: the start of the window a level 1 block holds. */
    "CREATE TABLE blocks(id INTEGER PRIMARY KEY, t_start INTEGER NOT NULL,"
    " t_end INTEGER NOT NULL, nsamples INTEGER NOT NULL, level INTEGER NOT NULL,"
    " window INTEGER NOT NULL DEFAULT 0, data BLOB NOT NULL);"
    "CREATE INDEX blocks_time ON blocks(t_start);"
    /* One row per `ember record` run, with its accounting, updated at every flush. */
    "CREATE TABLE recordings(id INTEGER PRIMARY KEY, started_ns INTEGER NOT NULL,"
    " ended_ns INTEGER, hz INTEGER NOT NULL, ncpus INTEGER NOT NULL, event TEXT NOT NULL,"
    " hostname TEXT, kernel TEXT, delivered INTEGER NOT NULL DEFAULT 0,"
    " stored INTEGER NOT NULL DEFAULT 0, filtered INTEGER NOT NULL DEFAULT 0,"
    " ringbuf_full INTEGER NOT NULL DEFAULT 0, bpf_errors INTEGER NOT NULL DEFAULT 0,"
    " ingest_errors INTEGER NOT NULL DEFAULT 0, write_errors INTEGER NOT NULL DEFAULT 0);"
    /* The collector's own cost, one row per interval of a recording (struct storage_self). */
    "CREATE TABLE collector_self(recording INTEGER NOT NULL REFERENCES recordings(id),"
    " t_ns INTEGER NOT NULL, span_ns INTEGER NOT NULL, cpu_pct REAL NOT NULL,"
    " rss_kib INTEGER NOT NULL, heap_kib INTEGER NOT NULL, samples_per_s REAL NOT NULL,"
    " dropped INTEGER NOT NULL, hz INTEGER NOT NULL, PRIMARY KEY(recording, t_ns))"
    " WITHOUT ROWID;"
    "CREATE INDEX collector_self_time ON collector_self(t_ns);";

int storage_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
	case SQLITE_FORMAT:
	case SQLITE_MISMATCH:
		return -EBADMSG;
	case SQLITE_TOOBIG:
		return -E2BIG;
	default:
		return -EIO;
	}
}

const char *storage_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case EBADMSG:
		return "not an ember database, or it is corrupt";
	case EPROTONOSUPPORT:
		return "written by a newer version of ember";
	case EPROTO:
		return "written by an older version of ember: open it for writing once "
		       "(`ember db check` or `ember record` as its owner) to upgrade it";
	case EBUSY:
		return "another ember collector is writing to this database";
	case ENOSPC:
		return "no space left on the device";
	case EROFS:
		return "read-only: its -wal and -shm files are missing and may not be created here "
		       "(open it once for writing: `ember db check` as its owner)";
	default:
		return strerror(err);
	}
}

int storage_prepare(struct storage *s, const char *sql, sqlite3_stmt **stmt)
{
	return storage_errno(
	    sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL));
}

int storage_exec(struct storage *s, const char *sql)
{
	return storage_errno(sqlite3_exec(s->db, sql, NULL, NULL, NULL));
}

int storage_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : storage_errno(rc);
}

int storage_query_int(struct storage *s, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return storage_errno(rc);
	rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : storage_errno(rc);
}

int storage_meta_get(struct storage *s, const char *key, int64_t *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return storage_errno(rc);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : storage_errno(rc);
}

int storage_meta_set(struct storage *s, const char *key, int64_t value)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)",
				    -1, &st, NULL);

	if (rc != SQLITE_OK)
		return storage_errno(rc);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, value);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return storage_errno(rc);
}

static int mkdir_parents(const char *path)
{
	char *copy = strdup(path), *dir;
	struct stat st;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	if (stat(dir, &st)) {
		err = mkdir_parents(dir);
		if (!err && mkdir(dir, 0750) && errno != EEXIST)
			err = -errno;
	} else if (!S_ISDIR(st.st_mode)) {
		err = -ENOTDIR;
	}
	free(copy);
	return err;
}

/*
 * Checks the first bytes of the file through SQLite's own file handle (another fd on the file,
 * once closed, would drop the POSIX locks SQLite holds through its own). An empty file is fine
 * (a database to create); anything else must be an SQLite file whose pages are all there. A file
 * shorter than its header says is a truncated copy, unless a WAL still holds the missing pages
 * (a checkpoint interrupted by a crash writes page 1 before it extends the file).
 */
static int check_file(struct storage *s, bool *empty)
{
	static const char magic[16] = "SQLite format 3";
	sqlite3_file *f = NULL;
	sqlite3_int64 size = 0;
	unsigned char h[100];
	struct stat st;
	char *wal;
	uint32_t page, pages;
	bool wal_empty = true;

	if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK || !f ||
	    !f->pMethods)
		return -EIO;
	if (f->pMethods->xFileSize(f, &size) != SQLITE_OK)
		return -EIO;
	*empty = size == 0;
	if (size == 0)
		return 0;
	if (size < (sqlite3_int64)sizeof(h) ||
	    f->pMethods->xRead(f, h, sizeof(h), 0) != SQLITE_OK || memcmp(h, magic, 16))
		return -EBADMSG;
	page = (uint32_t)h[16] << 8 | h[17];
	if (page == 1)
		page = 65536;
	pages = (uint32_t)h[28] << 24 | (uint32_t)h[29] << 16 | (uint32_t)h[30] << 8 | h[31];
	if (page < 512 || (page & (page - 1)))
		return -EBADMSG;
	if (asprintf(&wal, "%s-wal", s->path) < 0)
		return -ENOMEM;
	if (!stat(wal, &st) && st.st_size > 0)
		wal_empty = false;
	free(wal);
	/* The in-header size counts only when the change counter matches "version valid for". */
	if (wal_empty && !memcmp(h + 24, h + 92, 4) && pages && (sqlite3_int64)pages * page > size)
		return -EBADMSG;
	return 0;
}

/*
 * Whose the file is, by reading only: 0 for an ember database of a schema this ember knows, or
 * for an SQLite file with nothing in it (*fresh: a database to create); -EBADMSG for anything
 * else (another program's database), -EPROTONOSUPPORT for a newer ember's. *version is the
 * schema version found.
 */
static int identify(struct storage *s, int64_t *version, bool *fresh)
{
	int64_t app_id, tables;
	int err;

	err = storage_query_int(s, "PRAGMA application_id", &app_id);
	if (!err)
		err = storage_query_int(s, "PRAGMA user_version", version);
	if (!err)
		err = storage_query_int(s, "SELECT count(*) FROM sqlite_schema", &tables);
	if (err)
		return err;
	*fresh = app_id == 0 && *version == 0 && tables == 0;
	if (*fresh)
		return 0;
	if (app_id != STORAGE_APPLICATION_ID)
		return -EBADMSG;
	if (*version > STORAGE_SCHEMA_VERSION)
		return -EPROTONOSUPPORT;
	if (*version < 1)
		return -EBADMSG;
	return 0;
}

/* Creates the schema in an empty database, or checks (and, for a writer, migrates) one. */
static int check_or_create_schema(struct storage *s)
{
	int64_t version;
	bool fresh;
	int err;

	err = identify(s, &version, &fresh);
	if (err)
		return err;
	s->schema_from = (int)version;
	if (fresh) {
		if (s->mode == STORAGE_READ)
			return -EBADMSG; /* an empty file: nothing ever recorded into it */
		s->schema_from = STORAGE_SCHEMA_VERSION;
		err = storage_exec(s, "BEGIN IMMEDIATE");
		if (err)
			return err;
		err = storage_exec(s, storage_schema_sql);
		if (!err)
			err = storage_exec(s, "PRAGMA application_id=" STR(STORAGE_APPLICATION_ID));
		if (!err)
			err = storage_exec(s, "PRAGMA user_version=" STR(STORAGE_SCHEMA_VERSION));
		if (!err)
			err = storage_exec(s, "INSERT INTO meta VALUES('created_by', "
					      "'ember " EMBER_VERSION "')");
		if (err) {
			storage_exec(s, "ROLLBACK");
			return err;
		}
		return storage_exec(s, "COMMIT");
	}
	if (version < STORAGE_SCHEMA_VERSION)
		return s->mode == STORAGE_WRITE ? storage_migrate(s, (int)version) : -EPROTO;
	return 0;
}

/* The writer's file: created 0640 with the group of its directory (so that `chgrp ember
 * /var/lib/ember` is all it takes to share it), never readable by others. */
static int open_lock_fd(struct storage *s, const char *path)
{
	struct stat st, dst;
	char *copy;
	int err = 0;

	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0640);
	if (s->lock_fd < 0)
		return errno == ELOOP ? -EBADMSG : -errno;
	if (fstat(s->lock_fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADMSG;
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB))
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	if (st.st_size == 0 && !stat(dirname(copy), &dst) && dst.st_gid != st.st_gid &&
	    fchown(s->lock_fd, (uid_t)-1, dst.st_gid) == 0)
		st.st_gid = dst.st_gid;
	free(copy);
	return err;
}

/* Whatever made the writer's file world-accessible, it is not shared with everyone. Done once
 * the file is known to be ember's: another program's file is left as it was. */
static int make_private(struct storage *s)
{
	struct stat st;

	if (fstat(s->lock_fd, &st))
		return -errno;
	if ((st.st_mode & 0007) && fchmod(s->lock_fd, st.st_mode & 0770))
		return -errno;
	return 0;
}

struct storage *storage__open(const char *path, enum storage_mode mode)
{
	struct storage *s;
	int err = 0, rc, flags;
	bool empty = false;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->lock_fd = -1;
	s->mode = mode;
	s->path = strdup(path);
	if (!s->path) {
		err = -ENOMEM;
		goto fail;
	}
	if (mode == STORAGE_WRITE) {
		err = mkdir_parents(path);
		if (!err)
			err = open_lock_fd(s, path);
		if (err)
			goto fail;
		flags = SQLITE_OPEN_READWRITE;
	} else {
		struct stat st;

		if (stat(path, &st)) {
			err = -errno;
			goto fail;
		}
		if (!S_ISREG(st.st_mode)) {
			err = S_ISDIR(st.st_mode) ? -EISDIR : -EBADMSG;
			goto fail;
		}
		if (access(path, R_OK)) {
			err = -errno;
			goto fail;
		}
		flags = SQLITE_OPEN_READONLY;
	}
	rc = sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		err = storage_errno(rc);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORAGE_BUSY_MS);
	err = check_file(s, &empty);
	if (err)
		goto fail;
	/* Readers look up thousands of scattered rows (stacks, frames, strings) per query: reading
	 * pages through a mapping instead of one pread() copy each cut `ember top`'s first query
	 * from 54 to 34 ms of CPU on an hour of 64-CPU history. SQLite maps only up to the file
	 * size at the start of each read transaction, and in WAL mode a checkpoint never truncates
	 * what an open snapshot still reads. Best effort. */
	if (mode == STORAGE_READ)
		storage_exec(s, "PRAGMA mmap_size=1073741824");
	if (mode == STORAGE_WRITE) {
		int persist = 1;
		int64_t version;
		bool fresh;

		/* Whose the file is, before anything below writes to it (switching to WAL does):
		 * another program's database, or a newer ember's, is refused untouched. */
		if (!empty) {
			err = identify(s, &version, &fresh);
			if (err)
				goto fail;
		}
		/* Before anything writes the first page (switching to WAL does): auto_vacuum and
		 * the page size are fixed once the file has content. */
		if (empty)
			err = storage_exec(s, "PRAGMA page_size=" STR(STORAGE_PAGE_SIZE) "; PRAGMA "
											 "auto_"
											 "vacuum="
											 "INCREMENT"
											 "AL");
		if (!err)
			err = storage_exec(s, "PRAGMA journal_mode=WAL");
		if (!err)
			err = storage_exec(s, "PRAGMA synchronous=NORMAL");
		if (!err)
			err = storage_exec(s, "PRAGMA journal_size_limit=" STR(STORAGE_WAL_LIMIT));
		if (err)
			goto fail;
		/* Keep -wal and -shm after the writer closes: a reader that may not write the
		 * directory (a member of the database's group) can open a WAL database read-only
		 * only while both exist; without them it fails with "attempt to write a readonly
		 * database". */
		sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	}
	err = check_or_create_schema(s);
	if (err == -EROFS && mode == STORAGE_READ)
		err = -EROFS; /* -shm missing and not creatable: storage_strerror says what to do */
	if (!err && mode == STORAGE_WRITE)
		err = make_private(s);
	if (err)
		goto fail;
	return s;
fail:
	storage__close(s);
	errno = -err;
	return NULL;
}

const char *storage__errmsg(struct storage *s)
{
	return s && s->db ? sqlite3_errmsg(s->db) : "no database";
}

const char *storage__path(const struct storage *s)
{
	return s->path;
}

int storage_writer_active(const char *path)
{
	unsigned int maj, min;
	unsigned long long ino;
	char line[256], type[16], access[16];
	struct stat st;
	int pid, found = 0;
	FILE *f;

	if (stat(path, &st))
		return -errno;
	f = fopen("/proc/locks", "re");
	if (!f)
		return -errno;
	/* "1: FLOCK  ADVISORY  WRITE 26779 fe:00:1156178 0 EOF"; a waiter has "->" after "1:". */
	while (!found && fgets(line, sizeof(line), f)) {
		const char *p = strchr(line, ':');

		if (!p)
			continue;
		p++;
		while (*p == ' ')
			p++;
		if (!strncmp(p, "->", 2))
			continue;
		if (sscanf(p, "%15s %*s %15s %d %x:%x:%llu", type, access, &pid, &maj, &min,
			   &ino) != 6)
			continue;
		if (!strcmp(type, "FLOCK") && !strcmp(access, "WRITE") && ino == st.st_ino &&
		    maj == major(st.st_dev) && min == minor(st.st_dev))
			found = pid > 0 ? pid : 1;
	}
	fclose(f);
	return found;
}

void storage__close(struct storage *s)
{
	if (!s)
		return;
	sqlite3_close_v2(s->db);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->path);
	free(s);
}
