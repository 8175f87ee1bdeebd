// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * speedscope output in two passes. The first aggregates the slice per (thread, stack): it gives
 * the threads, their sample counts, the distinct stacks and so the frame table, whose JSON is
 * written once per stack and cached. The second walks the samples in time order and spools each
 * one (stack index, time) into its thread's region of an unlinked temporary file, sized from the
 * first pass; each thread's profile is then read back from its region in order. Memory is bound
 * by the distinct stacks and threads; the samples go through the file, never through memory.
 */
#include "export/speedscope.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uthash.h>

#include "export/export_internal.h"

#define SPOOL_BUF 64 /* records buffered per thread before a write */

struct rec {
	int64_t time_ns;
	uint32_t stack; /* index into the stack table */
	uint32_t pad;
};

struct sthread {
	int64_t id;
	const struct storage_thread *t;
	uint64_t count;
	off_t region; /* byte offset of its records in the spool */
	uint64_t written;
	struct rec *buf;
	size_t nbuf;
	UT_hash_handle hh;
};

struct sstack {
	int64_t id;
	uint32_t idx;
	char *json; /* "[root,...,leaf]" frame indexes */
	UT_hash_handle hh;
};

struct sframe {
	UT_hash_handle hh;
	uint32_t idx;
	char key[]; /* the JSON object of the frame */
};

struct ss {
	struct export_job *job;
	struct export_rates rates;
	struct sthread *threads;
	struct sstack *stacks;
	struct sframe *frames;
	struct sframe **frame_list;
	size_t nframes, frame_cap;
	struct sstack **stack_list;
	size_t nstacks;
	FILE *spool;
	int err;
};

/* Writes s as a JSON string body (without quotes). */
static void json_escape(struct export_buf *b, const char *s, int *err)
{
	for (; *s && !*err; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			*err = export_buf__printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			*err = export_buf__printf(b, "\\u%04x", c);
		else
			*err = export_buf__append(b, s, 1);
	}
}

static int frame_index(struct ss *p, const struct storage_frame *f, uint32_t *idx)
{
	struct export_buf b = { 0 };
	struct sframe *e;
	char name[1024];
	int err = 0;

	export_frame_name(f, false, name, sizeof(name));
	err = export_buf__append(&b, "{\"name\":\"", 9);
	json_escape(&b, name, &err);
	if (!err && (f->file || f->module)) {
		err = export_buf__append(&b, "\",\"file\":\"", 10);
		json_escape(&b, f->file ? f->file : f->module, &err);
	}
	if (!err)
		err = f->file && f->line ? export_buf__printf(&b, "\",\"line\":%u}", f->line)
					 : export_buf__append(&b, "\"}", 2);
	if (err)
		goto out;
	HASH_FIND(hh, p->frames, b.s, b.len, e);
	if (!e) {
		if (p->nframes == p->frame_cap) {
			size_t ncap = p->frame_cap ? 2 * p->frame_cap : 256;
			struct sframe **nl = realloc(p->frame_list, ncap * sizeof(*nl));

			if (!nl) {
				err = -ENOMEM;
				goto out;
			}
			p->frame_list = nl;
			p->frame_cap = ncap;
		}
		e = malloc(sizeof(*e) + b.len + 1);
		if (!e) {
			err = -ENOMEM;
			goto out;
		}
		memcpy(e->key, b.s, b.len + 1);
		e->idx = (uint32_t)p->nframes;
		p->frame_list[p->nframes++] = e;
		HASH_ADD(hh, p->frames, key, b.len, e);
	}
	*idx = e->idx;
out:
	export_buf__free(&b);
	return err;
}

static int add_stack(struct ss *p, int64_t id)
{
	struct storage_reader *r = p->job->reader;
	struct export_buf b = { 0 };
	const int64_t *frames;
	struct sstack *s;
	size_t n;
	int err;

	HASH_FIND(hh, p->stacks, &id, sizeof(id), s);
	if (s)
		return 0;
	err = storage_reader__stack(r, id, &frames, &n, NULL);
	if (!err)
		err = export_buf__append(&b, "[", 1);
	/* speedscope wants the root first. */
	for (size_t i = n; !err && i-- > 0;) {
		const struct storage_frame *f = storage_reader__frame(r, frames[i]);
		uint32_t fi;

		if (!f) {
			err = -errno;
			break;
		}
		err = frame_index(p, f, &fi);
		if (!err)
			err = export_buf__printf(&b, i + 1 < n ? ",%u" : "%u", fi);
	}
	if (!err)
		err = export_buf__append(&b, "]", 1);
	if (!err && !(s = calloc(1, sizeof(*s))))
		err = -ENOMEM;
	if (err) {
		export_buf__free(&b);
		return err;
	}
	s->id = id;
	s->idx = (uint32_t)p->nstacks++;
	s->json = b.s;
	HASH_ADD(hh, p->stacks, id, sizeof(id), s);
	return 0;
}

static int flush_thread(struct ss *p, struct sthread *t)
{
	off_t at = t->region + (off_t)(t->written * sizeof(struct rec));

	if (!t->nbuf)
		return 0;
	if (fseeko(p->spool, at, SEEK_SET) ||
	    fwrite(t->buf, sizeof(*t->buf), t->nbuf, p->spool) != t->nbuf)
		return errno ? -errno : -EIO;
	t->written += t->nbuf;
	t->nbuf = 0;
	return 0;
}

static int spool_one(const struct storage_sample *s, void *ctx)
{
	struct ss *p = ctx;
	struct sthread *t;
	struct sstack *st;

	HASH_FIND(hh, p->threads, &s->thread, sizeof(s->thread), t);
	HASH_FIND(hh, p->stacks, &s->stack, sizeof(s->stack), st);
	/* A sample the first pass did not see: written while we read. Leave it out. */
	if (!t || !st || t->written + t->nbuf >= t->count)
		return 0;
	t->buf[t->nbuf++] = (struct rec){ .time_ns = s->time_ns, .stack = st->idx };
	return t->nbuf == SPOOL_BUF ? flush_thread(p, t) : 0;
}

static int cmp_thread(const void *x, const void *y)
{
	const struct sthread *a = *(struct sthread *const *)x, *b = *(struct sthread *const *)y;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	if (a->t->pid != b->t->pid)
		return a->t->pid < b->t->pid ? -1 : 1;
	return a->t->tid < b->t->tid ? -1 : a->t->tid > b->t->tid;
}

/* Reads a thread's records back, calling fn on each. */
static int replay(struct ss *p, struct sthread *t,
		  int (*fn)(struct ss *, const struct rec *, void *), void *ctx)
{
	struct rec buf[256];
	uint64_t done = 0;
	int err = 0;

	if (fseeko(p->spool, t->region, SEEK_SET))
		return -errno;
	while (!err && done < t->written) {
		size_t want = t->written - done < 256 ? (size_t)(t->written - done) : 256;
		size_t got = fread(buf, sizeof(*buf), want, p->spool);

		if (got != want)
			return -EIO;
		for (size_t i = 0; !err && i < got; i++)
			err = fn(p, &buf[i], ctx);
		done += got;
	}
	return err;
}

/* The timeline of one thread: [] for the time it was not sampled. */
struct timeline {
	FILE *out;
	int64_t t0, cursor;
	bool first, weights;
};

static int emit(struct ss *p, const struct rec *r, void *ctx)
{
	struct timeline *tl = ctx;
	int64_t at = r->time_ns - tl->t0;
	int64_t period = (int64_t)export_rates__period_ns(&p->rates, r->time_ns);
	int rc = 0;

	if (tl->first) {
		tl->cursor = at;
	} else if (at > tl->cursor) {
		rc = tl->weights ? fprintf(tl->out, ",%" PRId64, at - tl->cursor)
				 : fprintf(tl->out, ",[]");
		tl->cursor = at;
	}
	if (rc >= 0)
		rc = tl->weights ? fprintf(tl->out, "%s%" PRId64, tl->first ? "" : ",", period)
				 : fprintf(tl->out, "%s%s", tl->first ? "" : ",",
					   p->stack_list[r->stack]->json);
	tl->cursor += period;
	tl->first = false;
	return rc < 0 ? -EIO : 0;
}

static int write_json(FILE *out, struct ss *p, struct sthread **order, size_t nthreads, int64_t t0)
{
	struct export_buf b = { 0 };
	int err = 0;

	err = export_buf__append(&b, "", 0);
	json_escape(&b, p->job->opt->command ? p->job->opt->command : "ember export", &err);
	if (err)
		return err;
	if (fprintf(out,
		    "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\","
		    "\"exporter\":\"ember\",\"name\":\"%s\",\"activeProfileIndex\":0,"
		    "\"shared\":{\"frames\":[",
		    b.s) < 0)
		err = -EIO;
	export_buf__free(&b);
	for (size_t i = 0; !err && i < p->nframes; i++)
		if (fprintf(out, "%s\n%s", i ? "," : "", p->frame_list[i]->key) < 0)
			err = -EIO;
	if (!err && fputs("]},\"profiles\":[", out) < 0)
		err = -EIO;
	for (size_t i = 0; !err && i < nthreads; i++) {
		struct sthread *t = order[i];
		struct timeline tl = { .out = out, .t0 = t0, .first = true };
		int64_t start;

		struct export_buf name = { 0 };

		b.len = 0;
		err =
		    export_buf__printf(&b, "%s (pid %u, tid %u)", t->t->comm, t->t->pid, t->t->tid);
		if (!err)
			err = export_buf__append(&name, "", 0);
		json_escape(&name, b.s, &err);
		if (!err && fprintf(out, "%s\n{\"type\":\"sampled\",\"name\":\"%s", i ? "," : "",
				    name.s) < 0)
			err = -EIO;
		export_buf__free(&name);
		if (err)
			break;
		if (fputs("\",\"unit\":\"nanoseconds\",\"samples\":[", out) < 0)
			err = -EIO;
		if (!err)
			err = replay(p, t, emit, &tl);
		start = 0;
		if (!err && fputs("],\"weights\":[", out) < 0)
			err = -EIO;
		tl.first = true;
		tl.weights = true;
		if (!err)
			err = replay(p, t, emit, &tl);
		if (!err) {
			struct rec first;

			if (fseeko(p->spool, t->region, SEEK_SET) ||
			    fread(&first, sizeof(first), 1, p->spool) != 1)
				err = -EIO;
			else
				start = first.time_ns - t0;
		}
		if (!err && fprintf(out, "],\"startValue\":%" PRId64 ",\"endValue\":%" PRId64 "}",
				    start, tl.cursor) < 0)
			err = -EIO;
	}
	if (!err && fputs("]}\n", out) < 0)
		err = -EIO;
	export_buf__free(&b);
	return err;
}

static int speedscope_write(FILE *out, struct export_job *job)
{
	struct ss p = { .job = job };
	struct sthread **order = NULL, *t, *tt;
	struct sstack *s, *ts;
	struct export_agg agg = { 0 };
	size_t nthreads = 0, k = 0;
	off_t region = 0;
	int err;

	err = export_rates__load(&p.rates, job->reader, job->filter);
	if (!err)
		err = export_aggregate(job, job->filter, false, NULL, 0, 0.5, &agg);
	if (err)
		goto out;
	job->nsamples = agg.total;
	if (!agg.total) {
		err = -ENODATA;
		goto out;
	}
	for (size_t i = 0; i < agg.n; i++) {
		const struct export_entry *e = &agg.v[i];

		HASH_FIND(hh, p.threads, &e->thread, sizeof(e->thread), t);
		if (!t) {
			t = calloc(1, sizeof(*t));
			if (!t) {
				err = -ENOMEM;
				goto out;
			}
			t->id = e->thread;
			HASH_ADD(hh, p.threads, id, sizeof(t->id), t);
			t->t = storage_reader__thread(job->reader, e->thread);
			if (!t->t) {
				err = -errno;
				goto out;
			}
			nthreads++;
		}
		t->count += e->count;
		err = add_stack(&p, e->stack);
		if (err)
			goto out;
	}
	p.stack_list = calloc(p.nstacks + 1, sizeof(*p.stack_list));
	order = calloc(nthreads + 1, sizeof(*order));
	p.spool = tmpfile();
	if (!p.stack_list || !order || !p.spool) {
		err = p.spool ? -ENOMEM : -errno;
		goto out;
	}
	HASH_ITER (hh, p.stacks, s, ts)
		p.stack_list[s->idx] = s;
	HASH_ITER (hh, p.threads, t, tt) {
		t->region = region;
		region += (off_t)(t->count * sizeof(struct rec));
		t->buf = malloc(SPOOL_BUF * sizeof(*t->buf));
		if (!t->buf) {
			err = -ENOMEM;
			goto out;
		}
		order[k++] = t;
	}
	err = export_walk(job, job->filter, 0.5, 0.9, spool_one, &p);
	for (size_t i = 0; !err && i < nthreads; i++)
		err = flush_thread(&p, order[i]);
	if (err)
		goto out;
	qsort(order, nthreads, sizeof(*order), cmp_thread);
	err = write_json(out, &p, order, nthreads, agg.first_ns);
	if (!err && job->progress)
		job->progress(1, job->progress_ctx);
out:
	HASH_ITER (hh, p.threads, t, tt) {
		HASH_DEL(p.threads, t);
		free(t->buf);
		free(t);
	}
	HASH_ITER (hh, p.stacks, s, ts) {
		HASH_DEL(p.stacks, s);
		free(s->json);
		free(s);
	}
	for (size_t i = 0; i < p.nframes; i++) {
		HASH_DEL(p.frames, p.frame_list[i]);
		free(p.frame_list[i]);
	}
	free(p.frame_list);
	free(p.stack_list);
	free(order);
	if (p.spool)
		fclose(p.spool);
	export_agg_free(&agg);
	export_rates__free(&p.rates);
	return err;
}

const struct export_format export_speedscope_format = {
	.name = "speedscope",
	.summary = "speedscope JSON, one timeline per thread",
	.write = speedscope_write,
};
