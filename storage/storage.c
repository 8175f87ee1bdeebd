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
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* 'EMBR': PRAGMA application_id, so a foreign SQLite file is told apart from an empty one. */
#define STORAGE_APPLICATION_ID 1162691154 /* 0x454d4252 */
#define STR_(x) #x
#define STR(x) STR_(x)

static const char *const schema_v1 =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    "CREATE TABLE strings(id INTEGER PRIMARY KEY, str TEXT NOT NULL UNIQUE);"
    /* A frame: kind (0 user, 1 kernel), function and module as string ids (0 = none), offset
     * into the module when the function is unknown. */
    "CREATE TABLE frames(id INTEGER PRIMARY KEY, kind INTEGER NOT NULL,"
    " name INTEGER NOT NULL, module INTEGER NOT NULL, offset INTEGER NOT NULL,"
    " file INTEGER NOT NULL, line INTEGER NOT NULL, inlined INTEGER NOT NULL,"
    " build_id INTEGER NOT NULL,"
    " UNIQUE(kind, name, module, offset, file, line, inlined, build_id));"
    /* A stack: frame ids, leaf first, as unsigned LEB128 varints; status is how far its user part
     * was unwound (enum storage_stack_status). */
    "CREATE TABLE stacks(id INTEGER PRIMARY KEY, hash INTEGER NOT NULL, depth INTEGER NOT NULL,"
    " status INTEGER NOT NULL, frames BLOB NOT NULL);"
    "CREATE INDEX stacks_hash ON stacks(hash);"
    "CREATE TABLE threads(id INTEGER PRIMARY KEY, pid INTEGER NOT NULL, tid INTEGER NOT NULL,"
    " proc_start INTEGER NOT NULL, comm TEXT NOT NULL, UNIQUE(pid, tid, proc_start, comm));"
    /* A process is (pid, proc_start): its start in CLOCK_BOOTTIME ns, as threads.proc_start;
     * started_ns is the same instant since the epoch. */
    "CREATE TABLE processes(pid INTEGER NOT NULL, proc_start INTEGER NOT NULL,"
    " started_ns INTEGER NOT NULL, uid INTEGER NOT NULL, comm TEXT NOT NULL, exe TEXT,"
    " first_seen_ns INTEGER NOT NULL, PRIMARY KEY(pid, proc_start)) WITHOUT ROWID;"
    /* Samples in time windows: t_start/t_end in ns since the epoch, data in storage/codec.h's
     * block format. */
    "CREATE TABLE blocks(id INTEGER PRIMARY KEY, t_start INTEGER NOT NULL,"
    " t_end INTEGER NOT NULL, nsamples INTEGER NOT NULL, encoding INTEGER NOT NULL,"
    " data BLOB NOT NULL);"
    "CREATE INDEX blocks_time ON blocks(t_start);"
    /* One row per `ember record` run, with its accounting, updated at every flush. */
    "CREATE TABLE recordings(id INTEGER PRIMARY KEY, started_ns INTEGER NOT NULL,"
    " ended_ns INTEGER, hz INTEGER NOT NULL, ncpus INTEGER NOT NULL, event TEXT NOT NULL,"
    " hostname TEXT, kernel TEXT, delivered INTEGER NOT NULL DEFAULT 0,"
    " stored INTEGER NOT NULL DEFAULT 0, filtered INTEGER NOT NULL DEFAULT 0,"
    " ringbuf_full INTEGER NOT NULL DEFAULT 0, bpf_errors INTEGER NOT NULL DEFAULT 0,"
    " ingest_errors INTEGER NOT NULL DEFAULT 0, write_errors INTEGER NOT NULL DEFAULT 0);";

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
	case EBUSY:
		return "another ember collector is writing to this database";
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

static int pragma_int(struct storage *s, const char *sql, long long *out)
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

/* Creates the schema in an empty database, or checks an existing one. */
static int check_or_create_schema(struct storage *s)
{
	long long app_id, version, tables;
	int err;

	err = pragma_int(s, "PRAGMA application_id", &app_id);
	if (!err)
		err = pragma_int(s, "PRAGMA user_version", &version);
	if (!err)
		err = pragma_int(s, "SELECT count(*) FROM sqlite_schema", &tables);
	if (err)
		return err;
	if (app_id == 0 && version == 0 && tables == 0) {
		if (s->mode == STORAGE_READ)
			return -EBADMSG; /* an empty file: nothing ever recorded into it */
		/* auto_vacuum must be chosen before the first table exists. */
		err = storage_exec(s, "PRAGMA auto_vacuum=INCREMENTAL");
		if (!err)
			err = storage_exec(s, "BEGIN IMMEDIATE");
		if (err)
			return err;
		err = storage_exec(s, schema_v1);
		if (!err)
			err = storage_exec(
			    s,
			    "PRAGMA application_id=" STR(
				STORAGE_APPLICATION_ID) ";"
							"PRAGMA user_version=" STR(
							    STORAGE_SCHEMA_VERSION) ";"
										    "INSERT INTO "
										    "meta "
										    "VALUES('"
										    "created_by','"
										    "ember"
										    " " EMBER_VERSION
										    "');");
		if (err) {
			storage_exec(s, "ROLLBACK");
			return err;
		}
		return storage_exec(s, "COMMIT");
	}
	if (app_id != STORAGE_APPLICATION_ID)
		return -EBADMSG;
	if (version > STORAGE_SCHEMA_VERSION)
		return -EPROTONOSUPPORT;
	if (version < 1)
		return -EBADMSG;
	return 0;
}

struct storage *storage__open(const char *path, enum storage_mode mode)
{
	struct storage *s;
	int err = 0, rc, flags;

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
		if (err)
			goto fail;
		s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (s->lock_fd < 0) {
			err = -errno;
			goto fail;
		}
		if (flock(s->lock_fd, LOCK_EX | LOCK_NB)) {
			err = errno == EWOULDBLOCK ? -EBUSY : -errno;
			goto fail;
		}
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
		flags = SQLITE_OPEN_READONLY;
	}
	rc = sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		err = storage_errno(rc);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, 5000);
	/* Readers look up thousands of scattered rows (stacks, frames, strings) per query: reading
	 * pages through a mapping instead of one pread() copy each cut `ember top`'s first query
	 * from 54 to 34 ms of CPU on an hour of 64-CPU history. SQLite maps only up to the file
	 * size at the start of each read transaction, and in WAL mode a checkpoint never truncates
	 * what an open snapshot still reads. Best effort. */
	if (mode == STORAGE_READ)
		storage_exec(s, "PRAGMA mmap_size=1073741824");
	if (mode == STORAGE_WRITE) {
		err = storage_exec(s, "PRAGMA journal_mode=WAL");
		if (!err)
			err = storage_exec(s, "PRAGMA synchronous=NORMAL");
		if (err)
			goto fail;
	}
	err = check_or_create_schema(s);
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
