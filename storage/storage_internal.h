/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Internals shared by the files of storage/: the handle and SQLite helpers. */
#ifndef EMBER_STORAGE_INTERNAL_H
#define EMBER_STORAGE_INTERNAL_H

#include <sqlite3.h>

#include "storage/storage.h"

struct storage {
	sqlite3 *db;
	enum storage_mode mode;
	int lock_fd; /* writer: holds flock(LOCK_EX); closed only after sqlite3_close */
	char *path;
};

/* Maps an SQLite result code to -errno (SQLITE_FULL -> -ENOSPC, ...). */
int storage_errno(int rc);

/* Prepares `sql`; returns 0 or -errno. */
int storage_prepare(struct storage *s, const char *sql, sqlite3_stmt **stmt);

/* Runs statements without results; returns 0 or -errno. */
int storage_exec(struct storage *s, const char *sql);

#endif
