/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Exports: a slice of history written in a format another tool reads (flamegraph.pl, pprof,
 * speedscope, a browser, FlameScope). One small interface, one module per format; the formats
 * read through storage/'s query API only, so this folder depends on storage/ and libraries and
 * nothing else. Every format streams: memory grows with the number of distinct stacks and
 * threads in the slice, never with the number of samples.
 */
#ifndef EMBER_EXPORT_H
#define EMBER_EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "storage/query.h"

/* Called now and then with the share of the export done, from 0 to 1. */
typedef void (*export_progress_fn)(double fraction, void *ctx);

/* What a format may be asked to do besides writing the slice. Zero means the default. */
struct export_options {
	bool show_pid;	    /* folded/svg: first frame "comm-PID" */
	bool show_tid;	    /* folded/svg: first frame "comm-PID/TID" */
	bool mark_inlined;  /* folded/svg: inlined frames end in "_[i]" (flamegraph.pl's mark) */
	const char *title;  /* svg: the title (default "Flame Graph", "Differential Flame Graph") */
	unsigned int width; /* svg: pixels (default 1200) */
	const char *colors; /* svg: palette, see export_svg_palettes (default "hot") */
	bool reverse;	    /* svg: icicle, the root at the top */
	const char *command; /* the command line that made the export, for metadata; may be NULL */
};

/* One export: the slice, how to report progress, and what was written. */
struct export_job {
	struct storage_reader *reader;	     /* borrowed */
	const struct storage_filter *filter; /* the slice */
	const struct storage_filter *base; /* differential: the slice to compare against; else NULL
					    */
	const struct export_options *opt;  /* never NULL */
	export_progress_fn progress;	   /* may be NULL */
	void *progress_ctx;
	uint64_t nsamples;	/* out: samples in the slice */
	uint64_t base_nsamples; /* out: samples in the base slice (differential) */
};

struct export_format {
	const char *name;
	const char *summary;
	bool diff; /* can draw job->base against the slice */
	/*
	 * Writes the slice to `out` (a regular file or a pipe; it need not be seekable). Returns 0,
	 * -ENODATA when no sample matched (what was written is then not a profile), -EIO when
	 * writing failed, or another -errno from the reader.
	 */
	int (*write)(FILE *out, struct export_job *job);
};

/* The formats, in the order `ember export --help` lists them; NULL-terminated. */
extern const struct export_format *const export_formats[];

/* The format called `name`, or NULL. */
const struct export_format *export_format_find(const char *name);

/*
 * A frame's name in text formats, into buf: the function, or "module+0xOFFSET" (module's base
 * name) when unknown; kernel frames end in "_[k]", and with mark_inlined inlined ones in "_[i]".
 * Characters that would break the folded format (';', control bytes) become '_'. Returns buf.
 */
char *export_frame_name(const struct storage_frame *f, bool mark_inlined, char *buf, size_t len);

#endif
