// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Folded output. The slice is aggregated per (thread, stack); threads of one command with the same
 * stack fold into one line, so lines are merged by their text before printing. Memory is bound by
 * the number of distinct lines, never by the number of samples.
 */
#include "export/folded.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "export/export_internal.h"

struct line {
	unsigned long long count;
	UT_hash_handle hh;
	char text[];
};

/* The first frame: the command, with the pid (and tid) when asked. */
static int append_task(struct export_buf *b, const struct storage_thread *t,
		       const struct export_options *opt)
{
	char comm[64];
	int err;

	snprintf(comm, sizeof(comm), "%s", t && t->comm[0] ? t->comm : "[unknown]");
	export_sanitize(comm);
	err = export_buf__append(b, comm, strlen(comm));
	if (!err && t && opt->show_tid)
		err = export_buf__printf(b, "-%u/%u", t->pid, t->tid);
	else if (!err && t && opt->show_pid)
		err = export_buf__printf(b, "-%u", t->pid);
	return err;
}

/* The frames of a stack as ";root;...;leaf", built once per stack and cached. */
struct suffix {
	int64_t stack;
	UT_hash_handle hh;
	size_t len;
	char text[];
};

static struct suffix *stack_suffix(struct storage_reader *r, struct suffix **cache, int64_t stack,
				   const struct export_options *opt, struct export_buf *b)
{
	const int64_t *frames;
	struct suffix *sf;
	char name[1024];
	size_t n;
	int err;

	HASH_FIND(hh, *cache, &stack, sizeof(stack), sf);
	if (sf)
		return sf;
	b->len = 0;
	err = storage_reader__stack(r, stack, &frames, &n, NULL);
	if (err) {
		errno = -err;
		return NULL;
	}
	/* Stored leaf first (kernel frames, then user frames): print from the root. */
	for (size_t i = n; i-- > 0;) {
		const struct storage_frame *f = storage_reader__frame(r, frames[i]);

		if (!f)
			return NULL;
		export_frame_name(f, opt->mark_inlined, name, sizeof(name));
		if (export_buf__append(b, ";", 1) || export_buf__append(b, name, strlen(name)))
			goto nomem;
	}
	sf = malloc(sizeof(*sf) + b->len + 1);
	if (!sf)
		goto nomem;
	sf->stack = stack;
	sf->len = b->len;
	memcpy(sf->text, b->len ? b->s : "", b->len + 1);
	HASH_ADD(hh, *cache, stack, sizeof(sf->stack), sf);
	return sf;
nomem:
	errno = ENOMEM;
	return NULL;
}

static int build_line(struct storage_reader *r, const struct export_entry *e,
		      const struct export_options *opt, struct suffix **cache,
		      struct export_buf *tmp, struct export_buf *b)
{
	const struct storage_thread *t = storage_reader__thread(r, e->thread);
	struct suffix *sf = stack_suffix(r, cache, e->stack, opt, tmp);
	int err;

	if (!sf)
		return -errno;
	b->len = 0;
	err = append_task(b, t, opt);
	if (!err)
		err = export_buf__append(b, sf->text, sf->len);
	return err;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct export_line *)a)->text, ((const struct export_line *)b)->text);
}

int export_folded_lines(struct export_job *job, const struct storage_filter *f, double pfrom,
			double pto, struct export_lines *out)
{
	struct line *lines = NULL, *l, *tmp;
	struct suffix *cache = NULL, *sf, *sftmp;
	struct export_buf b = { 0 }, scratch = { 0 };
	struct export_agg agg;
	size_t i = 0;
	int err;

	memset(out, 0, sizeof(*out));
	err = export_aggregate(job, f, false, NULL, pfrom, pto, &agg);
	if (err)
		return err;
	for (size_t k = 0; k < agg.n; k++) {
		err = build_line(job->reader, &agg.v[k], job->opt, &cache, &scratch, &b);
		if (err)
			goto out;
		HASH_FIND(hh, lines, b.s, b.len, l);
		if (!l) {
			l = malloc(sizeof(*l) + b.len + 1);
			if (!l) {
				err = -ENOMEM;
				goto out;
			}
			memcpy(l->text, b.s, b.len + 1);
			l->count = 0;
			HASH_ADD(hh, lines, text, b.len, l);
		}
		l->count += agg.v[k].count;
	}
	out->v = calloc(HASH_COUNT(lines) + 1, sizeof(*out->v));
	if (!out->v) {
		err = -ENOMEM;
		goto out;
	}
	/* Each line's text is copied out and its entry freed at once: the lines are the bulk of
	 * the memory, and held twice only one at a time. */
	HASH_ITER (hh, lines, l, tmp) {
		out->v[i].count = l->count;
		out->v[i].text = strdup(l->text);
		if (!out->v[i].text) {
			err = -ENOMEM;
			goto out;
		}
		i++;
		HASH_DEL(lines, l);
		free(l);
	}
	out->n = i;
	qsort(out->v, out->n, sizeof(*out->v), cmp_line);
	out->total = agg.total;
out:
	HASH_ITER (hh, lines, l, tmp) {
		HASH_DEL(lines, l);
		free(l);
	}
	HASH_ITER (hh, cache, sf, sftmp) {
		HASH_DEL(cache, sf);
		free(sf);
	}
	if (err) {
		out->n = i;
		export_lines_free(out);
	}
	export_buf__free(&scratch);
	export_buf__free(&b);
	export_agg_free(&agg);
	return err;
}

void export_lines_free(struct export_lines *l)
{
	for (size_t i = 0; l->v && i < l->n; i++)
		free(l->v[i].text);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int folded_write(FILE *out, struct export_job *job)
{
	struct export_lines lines;
	int err;

	err = export_folded_lines(job, job->filter, 0, 1, &lines);
	if (err)
		return err;
	if (!lines.total)
		err = -ENODATA;
	for (size_t i = 0; !err && i < lines.n; i++)
		if (fprintf(out, "%s %llu\n", lines.v[i].text,
			    (unsigned long long)lines.v[i].count) < 0)
			err = -EIO;
	job->nsamples = lines.total;
	export_lines_free(&lines);
	return err;
}

const struct export_format export_folded_format = {
	.name = "folded",
	.summary = "folded stacks for flamegraph.pl (the default)",
	.write = folded_write,
};
