// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The export interface and what its formats share: the format table, a slice aggregated per
 * (thread, stack[, cgroup]) in an open-addressing table (one probe per sample in the common case,
 * no allocation per sample), the time-ordered walk with progress, the sampling period of each
 * sample, and frame names.
 */
#include "export/export.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "export/export_internal.h"
#include "export/folded.h"
#include "export/perfscript.h"
#include "export/pprof.h"
#include "export/speedscope.h"
#include "export/svg.h"

const struct export_format *const export_formats[] = {
	&export_folded_format, &export_pprof_format,	  &export_speedscope_format,
	&export_svg_format,    &export_perfscript_format, NULL,
};

const struct export_format *export_format_find(const char *name)
{
	for (size_t i = 0; export_formats[i]; i++)
		if (!strcmp(export_formats[i]->name, name))
			return export_formats[i];
	return NULL;
}

int export_rates__load(struct export_rates *r, struct storage_reader *rd,
		       const struct storage_filter *f)
{
	memset(r, 0, sizeof(*r));
	return storage_reader__recordings(rd, f->from_ns, f->to_ns, &r->recs, &r->n);
}

static const struct storage_recording *rate_at(struct export_rates *r, int64_t t)
{
	size_t lo = 0, hi;

	if (!r->n)
		return NULL;
	/* Samples come in time order: the last answer, or the next one, is nearly always right. */
	for (size_t c = r->cursor; c < r->n && c <= r->cursor + 1; c++)
		if (r->recs[c].started_ns <= t &&
		    (c + 1 == r->n || r->recs[c + 1].started_ns > t)) {
			r->cursor = c;
			return &r->recs[c];
		}
	/* The latest recording started at or before t. */
	hi = r->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->recs[mid].started_ns <= t)
			lo = mid;
		else
			hi = mid;
	}
	r->cursor = lo;
	return &r->recs[lo];
}

uint64_t export_rates__period_ns(struct export_rates *r, int64_t t)
{
	const struct storage_recording *rec = rate_at(r, t);
	uint32_t hz = rec && rec->hz ? rec->hz : EXPORT_DEFAULT_HZ;

	return (1000000000ull + hz / 2) / hz;
}

const char *export_rates__event(struct export_rates *r, int64_t t)
{
	const struct storage_recording *rec = rate_at(r, t);

	return rec && rec->event ? rec->event : "cpu-clock";
}

void export_rates__free(struct export_rates *r)
{
	free(r->recs);
	memset(r, 0, sizeof(*r));
}

/* Progress: the slice's time range maps onto [pfrom, pto]. */
struct progress {
	struct export_job *job;
	double pfrom, pto;
	int64_t from, span;
	unsigned int tick;
};

static void progress_init(struct progress *p, struct export_job *job,
			  const struct storage_filter *f, double pfrom, double pto)
{
	int64_t first = 0, last = 0;

	memset(p, 0, sizeof(*p));
	p->job = job;
	p->pfrom = pfrom;
	p->pto = pto;
	if (!job->progress || storage_reader__span(job->reader, &first, &last))
		return;
	if (f->from_ns > first)
		first = f->from_ns;
	if (f->to_ns && f->to_ns < last)
		last = f->to_ns;
	p->from = first;
	p->span = last > first ? last - first : 0;
	job->progress(pfrom, job->progress_ctx);
}

static inline void progress_tick(struct progress *p, int64_t t)
{
	double x;

	/* Every 64 Ki samples: the callback is cheap, but not free. */
	if (!p->job->progress || (++p->tick & 0xffff) || !p->span)
		return;
	x = (double)(t - p->from) / (double)p->span;
	x = x < 0 ? 0 : x > 1 ? 1 : x;
	p->job->progress(p->pfrom + (p->pto - p->pfrom) * x, p->job->progress_ctx);
}

static void progress_done(struct progress *p)
{
	if (p->job->progress)
		p->job->progress(p->pto, p->job->progress_ctx);
}

#define AGG_BATCH 16 /* samples whose slots are prefetched before they are counted */

struct agg_ctx {
	struct progress prog;
	struct export_entry *slots; /* open addressing; count 0 marks an empty slot */
	size_t mask, used;
	bool by_cgroup;
	struct export_rates *rates;
	uint64_t total;
	int64_t first, last;
	/* The table outgrows the caches; a sample's slot is a cache miss. Samples wait in a small
	 * batch while their slots are prefetched, so the misses overlap. */
	struct {
		int64_t thread, stack, time;
		uint64_t cgroup;
		size_t hash;
	} batch[AGG_BATCH];
	size_t nbatch;
};

static inline size_t hash_key(int64_t thread, int64_t stack, uint64_t cgroup)
{
	uint64_t h = (uint64_t)thread * 0x9e3779b97f4a7c15ull;

	h ^= (uint64_t)stack * 0xc2b2ae3d27d4eb4full;
	h ^= cgroup * 0x165667b19e3779f9ull;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return (size_t)(h ^ (h >> 32));
}

static int agg_grow(struct agg_ctx *a)
{
	size_t ncap = a->slots ? (a->mask + 1) * 2 : 1024;
	struct export_entry *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; a->slots && i <= a->mask; i++) {
		struct export_entry *e = &a->slots[i];
		size_t j;

		if (!e->count)
			continue;
		j = hash_key(e->thread, e->stack, e->cgroup) & (ncap - 1);
		while (ns[j].count)
			j = (j + 1) & (ncap - 1);
		ns[j] = *e;
	}
	free(a->slots);
	a->slots = ns;
	a->mask = ncap - 1;
	return 0;
}

/* Counts one sample in its slot. */
static int agg_count(struct agg_ctx *a, int64_t thread, int64_t stack, uint64_t cg, int64_t time,
		     size_t hash)
{
	struct export_entry *e;
	size_t j = hash & a->mask;

	for (;;) {
		e = &a->slots[j];
		if (!e->count || (e->thread == thread && e->stack == stack && e->cgroup == cg))
			break;
		j = (j + 1) & a->mask;
	}
	if (!e->count) {
		e->thread = thread;
		e->stack = stack;
		e->cgroup = cg;
	}
	e->count++;
	if (a->rates)
		e->weight_ns += export_rates__period_ns(a->rates, time);
	/* Keep the table at most three quarters full. */
	if (e->count == 1 && ++a->used * 4 > (a->mask + 1) * 3)
		return agg_grow(a);
	return 0;
}

static int agg_drain(struct agg_ctx *a)
{
	int err = 0;

	for (size_t i = 0; !err && i < a->nbatch; i++)
		err = agg_count(a, a->batch[i].thread, a->batch[i].stack, a->batch[i].cgroup,
				a->batch[i].time, a->batch[i].hash);
	a->nbatch = 0;
	return err;
}

static int agg_add(const struct storage_sample *s, void *ctx)
{
	struct agg_ctx *a = ctx;
	uint64_t cg = a->by_cgroup ? s->cgroup : 0;
	size_t h = hash_key(s->thread, s->stack, cg), n = a->nbatch;

	progress_tick(&a->prog, s->time_ns);
	if (!a->total || s->time_ns < a->first)
		a->first = s->time_ns;
	if (!a->total || s->time_ns > a->last)
		a->last = s->time_ns;
	a->total++;
	__builtin_prefetch(&a->slots[h & a->mask]);
	a->batch[n].thread = s->thread;
	a->batch[n].stack = s->stack;
	a->batch[n].cgroup = cg;
	a->batch[n].time = s->time_ns;
	a->batch[n].hash = h;
	a->nbatch = n + 1;
	return a->nbatch == AGG_BATCH ? agg_drain(a) : 0;
}

static int cmp_entry(const void *x, const void *y)
{
	const struct export_entry *a = x, *b = y;

	if (a->thread != b->thread)
		return a->thread < b->thread ? -1 : 1;
	if (a->stack != b->stack)
		return a->stack < b->stack ? -1 : 1;
	return a->cgroup < b->cgroup ? -1 : a->cgroup > b->cgroup;
}

int export_aggregate(struct export_job *job, const struct storage_filter *f, bool by_cgroup,
		     struct export_rates *rates, double pfrom, double pto, struct export_agg *out)
{
	struct agg_ctx a = { .by_cgroup = by_cgroup, .rates = rates };
	size_t k = 0;
	int err;

	memset(out, 0, sizeof(*out));
	progress_init(&a.prog, job, f, pfrom, pto);
	err = agg_grow(&a);
	if (!err)
		err = storage_reader__samples(job->reader, f, agg_add, &a);
	if (!err)
		err = agg_drain(&a);
	if (err) {
		free(a.slots);
		return err;
	}
	/* Compact in place and sort: the caller gets a dense, deterministic array. */
	for (size_t i = 0; i <= a.mask; i++)
		if (a.slots[i].count)
			a.slots[k++] = a.slots[i];
	qsort(a.slots, k, sizeof(*a.slots), cmp_entry);
	out->v = a.slots;
	out->n = k;
	out->total = a.total;
	out->first_ns = a.first;
	out->last_ns = a.last;
	progress_done(&a.prog);
	return 0;
}

void export_agg_free(struct export_agg *a)
{
	free(a->v);
	memset(a, 0, sizeof(*a));
}

struct walk_ctx {
	struct progress prog;
	storage_sample_fn fn;
	void *ctx;
};

static int walk_one(const struct storage_sample *s, void *ctx)
{
	struct walk_ctx *w = ctx;

	progress_tick(&w->prog, s->time_ns);
	return w->fn(s, w->ctx);
}

int export_walk(struct export_job *job, const struct storage_filter *f, double pfrom, double pto,
		storage_sample_fn fn, void *ctx)
{
	struct walk_ctx w = { .fn = fn, .ctx = ctx };
	int err;

	progress_init(&w.prog, job, f, pfrom, pto);
	err = storage_reader__samples(job->reader, f, walk_one, &w);
	if (!err)
		progress_done(&w.prog);
	return err;
}

void export_sanitize(char *s)
{
	for (; *s; s++)
		if (*s == ';' || (unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '_';
}

char *export_frame_name(const struct storage_frame *f, bool mark_inlined, char *buf, size_t len)
{
	const char *k = f->kind == STORAGE_FRAME_KERNEL ? "_[k]"
			: mark_inlined && f->inlined	? "_[i]"
							: "";

	if (f->name) {
		snprintf(buf, len, "%s%s", f->name, k);
	} else {
		const char *mod = f->module ? f->module : "[unknown]";
		const char *base = strrchr(mod, '/');

		snprintf(buf, len, "%s+0x%llx%s", base ? base + 1 : mod,
			 (unsigned long long)f->offset, k);
	}
	export_sanitize(buf);
	return buf;
}

/* Room for n more bytes and a NUL. 0 or -ENOMEM. */
static int reserve(struct export_buf *b, size_t n)
{
	size_t ncap = b->cap ? b->cap : 256;
	char *ns;

	if (b->len + n + 1 <= b->cap)
		return 0;
	while (b->len + n + 1 > ncap)
		ncap *= 2;
	ns = realloc(b->s, ncap);
	if (!ns)
		return -ENOMEM;
	b->s = ns;
	b->cap = ncap;
	return 0;
}

int export_buf__append(struct export_buf *b, const char *s, size_t n)
{
	int err = reserve(b, n);

	if (err)
		return err;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return 0;
}

int export_buf__printf(struct export_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, err;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	err = reserve(b, (size_t)n);
	if (err)
		return err;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void export_buf__free(struct export_buf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}
