/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ember's database: one SQLite file in WAL mode, the one source of truth that the collector writes
 * and `top`, `export` and `report` read. This module opens and creates it, checks that it is an
 * ember database of a schema this build understands, and migrates older schemas. Writing is in
 * storage/writer.h, reading in storage/query.h.
 */
#ifndef EMBER_STORAGE_H
#define EMBER_STORAGE_H

#include <stdbool.h>
#include <stdint.h>

#define STORAGE_SCHEMA_VERSION 4

enum storage_frame_kind {
	STORAGE_FRAME_USER = 0,
	STORAGE_FRAME_KERNEL = 1,
	STORAGE_FRAME_JIT = 2, /* named from a perf map (/tmp/perf-PID.map) */
};

/* A frame as stored: what the writer takes and the reader gives back. Frames with equal fields
 * are one row. */
struct storage_frame {
	enum storage_frame_kind kind;
	const char *name;     /* NULL when unknown */
	const char *module;   /* NULL when unknown */
	uint64_t offset;      /* into the module when name is NULL (else 0), so it can be symbolized
				 later */
	const char *file;     /* source file, NULL when unknown */
	uint32_t line;	      /* source line, 0 when unknown */
	bool inlined;	      /* an inlined call inside the next frame toward the root */
	const char *build_id; /* the module's GNU build-id in hex, NULL when unknown */
};

/* How far a stack's user part could be unwound (stored per stack). */
enum storage_stack_status {
	STORAGE_STACK_UNCLASSIFIED = 0,	  /* not classified (frame-pointer walk) */
	STORAGE_STACK_COMPLETE = 1,	  /* reached a root: _start, __libc_start_main, clone... */
	STORAGE_STACK_TRUNCATED = 2,	  /* the copy of the user stack ended first */
	STORAGE_STACK_NO_UNWIND_INFO = 3, /* a frame without CFI and without a frame pointer */
	STORAGE_STACK_BAD_FRAME = 4,	  /* an unwind step went somewhere impossible */
	STORAGE_STACK_NO_USER = 5,	  /* no user part at all: kernel thread, idle */
};

/* One `ember record` run and its accounting (stored + dropped = delivered). */
struct storage_recording {
	int64_t started_ns, ended_ns; /* ended_ns 0 while running */
	uint32_t hz, ncpus;
	const char *event;	       /* "cpu-clock" or "cycles" */
	const char *hostname, *kernel; /* may be NULL */
	uint64_t delivered;	       /* samples the perf events delivered to the BPF program */
	uint64_t stored;
	uint64_t filtered;
	uint64_t ringbuf_full;
	uint64_t bpf_errors;
	uint64_t ingest_errors; /* malformed records, or no memory to process them */
	uint64_t write_errors;	/* samples lost because the database could not take them */
};

/*
 * The collector's own cost over one interval: a minute, except the first of a run (10 s, so that
 * a collector just started shows its cost soon) and the last (up to its end). Stored once per
 * interval with the recording it belongs to, in the flush transaction that follows.
 */
struct storage_self {
	int64_t time_ns;      /* the end of the interval, ns since the epoch */
	int64_t span_ns;      /* its length */
	double cpu_pct;	      /* CPU time of all the collector's threads, percent of one CPU */
	uint64_t rss_kib;     /* resident memory at the end */
	uint64_t heap_kib;    /* malloc'd and in use at the end */
	double samples_per_s; /* delivered by the sampler over the interval */
	uint64_t dropped;     /* samples lost in the interval, for any reason (--pid filtering is
				 not a loss) */
	uint32_t hz;	      /* the sampling rate at the end */
	int64_t recording;    /* the recording's id: set by the writer, read back by the reader */
};

enum storage_mode {
	STORAGE_READ,  /* read-only; the file must exist */
	STORAGE_WRITE, /* creates the file (mode 0640) and its directory; one writer at a time */
};

struct storage;

/*
 * Opens the database at `path`. Returns an owned handle, or NULL with errno:
 *   ENOENT        the file does not exist (STORAGE_READ)
 *   EACCES/EROFS/ENOTDIR/EISDIR/ENOSPC  from the file system
 *   EBADMSG       not an ember database, or corrupt
 *   EPROTONOSUPPORT  written by a newer ember (a schema above STORAGE_SCHEMA_VERSION)
 *   EBUSY         another writer holds the database (STORAGE_WRITE)
 * storage_strerror() turns these into a sentence.
 */
struct storage *storage__open(const char *path, enum storage_mode mode);

/* A description of an errno value returned by this folder (for EBADMSG, EPROTONOSUPPORT, EBUSY
 * the storage-specific meaning; otherwise strerror). */
const char *storage_strerror(int err);

/* The last SQLite error message on this handle, for logs. Borrowed until the next call. */
const char *storage__errmsg(struct storage *s);

const char *storage__path(const struct storage *s);

/*
 * Whether a writer (`ember record`, or `ember top` recording) holds the database at `path`: the
 * writer's pid (> 0), 0 when none does, or -errno (-ENOENT: no such file; from stat or reading
 * /proc/locks). It reads the writer's flock from /proc/locks and never opens the file: opening
 * and closing it would drop the POSIX locks SQLite holds on it in this process, and probing with
 * flock() could make a writer starting at that moment fail with EBUSY. Where stat() reports
 * another device than the lock's (overlayfs, btrfs subvolumes) it answers 0; a writer that then
 * fails with EBUSY is the sure sign.
 */
int storage_writer_active(const char *path);

void storage__close(struct storage *s);

#endif
