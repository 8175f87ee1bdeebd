// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * perf-script output: one pass over the slice in time order. The text of each distinct stack and
 * the header of each thread are formatted once and cached, so memory is bound by the distinct
 * stacks and threads, and each sample costs two lookups and a few writes.
 *
 * Frames: perf prints "ADDRESS SYMBOL (DSO)". ember keeps an address (the file offset) only for
 * frames it could not name: those print as "[unknown]", as perf prints them, and tools then name
 * them after the DSO; named frames print address 0. Inlined frames are lines of their own, as
 * perf prints them, without perf's " (inlined)" suffix, which FlameScope and stackcollapse-perf.pl
 * would read as part of the DSO.
 */
#include "export/perfscript.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "export/export_internal.h"

struct cached {
	int64_t id;
	UT_hash_handle hh;
	size_t len;
	char text[];
};

struct ps {
	struct export_job *job;
	FILE *out;
	struct export_rates rates;
	struct cached *threads, *stacks;
	uint64_t n;
};

/* Control bytes (a newline in a name) would break the layout. */
static void clean(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static struct cached *cache_put(struct cached **h, int64_t id, const struct export_buf *b)
{
	struct cached *c = malloc(sizeof(*c) + b->len + 1);

	if (!c)
		return NULL;
	c->id = id;
	c->len = b->len;
	memcpy(c->text, b->s ? b->s : "", b->len + 1);
	HASH_ADD(hh, *h, id, sizeof(c->id), c);
	return c;
}

static struct cached *thread_text(struct ps *p, int64_t id)
{
	const struct storage_thread *t;
	struct export_buf b = { 0 };
	struct cached *c;
	char comm[64];

	HASH_FIND(hh, p->threads, &id, sizeof(id), c);
	if (c)
		return c;
	t = storage_reader__thread(p->job->reader, id);
	if (!t)
		return NULL;
	/* perf prints ":PID" for a thread without a name; the tools want a name first. */
	snprintf(comm, sizeof(comm), "%s", t->comm[0] ? t->comm : "[unknown]");
	clean(comm);
	if (export_buf__printf(&b, "%s %u/%u", comm, t->pid, t->tid)) {
		errno = ENOMEM;
		return NULL;
	}
	c = cache_put(&p->threads, id, &b);
	export_buf__free(&b);
	if (!c)
		errno = ENOMEM;
	return c;
}

static struct cached *stack_text(struct ps *p, int64_t id)
{
	struct storage_reader *r = p->job->reader;
	struct export_buf b = { 0 };
	const int64_t *frames;
	struct cached *c;
	size_t n;
	int err;

	HASH_FIND(hh, p->stacks, &id, sizeof(id), c);
	if (c)
		return c;
	err = storage_reader__stack(r, id, &frames, &n, NULL);
	for (size_t i = 0; !err && i < n; i++) {
		const struct storage_frame *f = storage_reader__frame(r, frames[i]);
		char sym[1024], dso[1024];

		if (!f) {
			err = -errno;
			break;
		}
		snprintf(sym, sizeof(sym), "%s", f->name ? f->name : "[unknown]");
		snprintf(dso, sizeof(dso), "%s", f->module ? f->module : "[unknown]");
		clean(sym);
		clean(dso);
		err = export_buf__printf(&b, "\t%16" PRIx64 " %s (%s)\n", f->name ? 0 : f->offset,
					 sym, dso);
	}
	if (!err)
		err = export_buf__append(&b, "\n", 1);
	c = err ? NULL : cache_put(&p->stacks, id, &b);
	export_buf__free(&b);
	if (!c)
		errno = err ? -err : ENOMEM;
	return c;
}

static int one(const struct storage_sample *s, void *ctx)
{
	struct ps *p = ctx;
	struct cached *t = thread_text(p, s->thread), *st;
	int64_t sec = s->time_ns / 1000000000, us = s->time_ns % 1000000000 / 1000;

	if (!t)
		return -errno;
	st = stack_text(p, s->stack);
	if (!st)
		return -errno;
	if (fprintf(p->out, "%s [%03u] %" PRId64 ".%06" PRId64 ": %" PRIu64 " %s:\n", t->text,
		    s->cpu, sec, us, export_rates__period_ns(&p->rates, s->time_ns),
		    export_rates__event(&p->rates, s->time_ns)) < 0 ||
	    fwrite(st->text, 1, st->len, p->out) != st->len)
		return -EIO;
	p->n++;
	return 0;
}

static void free_cache(struct cached **h)
{
	struct cached *c, *tmp;

	HASH_ITER (hh, *h, c, tmp) {
		HASH_DEL(*h, c);
		free(c);
	}
}

static int perfscript_write(FILE *out, struct export_job *job)
{
	struct ps p = { .job = job, .out = out };
	int err;

	err = export_rates__load(&p.rates, job->reader, job->filter);
	if (!err)
		err = export_walk(job, job->filter, 0, 1, one, &p);
	if (!err && !p.n)
		err = -ENODATA;
	job->nsamples = p.n;
	free_cache(&p.threads);
	free_cache(&p.stacks);
	export_rates__free(&p.rates);
	return err;
}

const struct export_format export_perfscript_format = {
	.name = "perf-script",
	.summary = "perf script text, with times: FlameScope, stackcollapse-perf.pl",
	.write = perfscript_write,
};
