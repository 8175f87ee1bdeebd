// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * pprof output. The slice is aggregated per (thread, stack, cgroup); each aggregate becomes one
 * Sample whose values are [samples, cpu ns] (the ns summed from each sample's own period, so
 * recordings at different rates add up right). Strings, mappings, functions and locations are
 * interned as the stacks are resolved; ids are dense from 1, as Parca's validation requires. The
 * message is packed straight into a gzip stream: nothing the size of the output is held in memory.
 *
 * Addresses: ember keeps a frame's file offset only when it has no name. Each module becomes a
 * mapping that starts at 0 with file offset 0, so an unnamed frame's address is its file offset,
 * which is what symbolizers keyed by build-id (Parca's) expect. Named frames get address 0 and
 * their names in line entries; a mapping whose frames are all named says has_functions so that
 * `go tool pprof` does not try to symbolize it again.
 */
#include "export/pprof.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <zlib.h>

#include "export/export_internal.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Label pb_label;
typedef Perftools__Profiles__Mapping pb_mapping;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Function pb_function;
typedef Perftools__Profiles__ValueType pb_value_type;

#define PPROF_LABELS 4 /* pid, tid, comm, cgroup */

struct str_entry {
	int64_t idx;
	UT_hash_handle hh;
	char s[];
};

struct map_entry {
	int64_t filename, build_id; /* the key: string indexes */
	pb_mapping *m;
	UT_hash_handle hh;
};

struct fn_entry {
	int64_t key[2]; /* name, file */
	pb_function *f;
	UT_hash_handle hh;
};

struct loc_entry {
	UT_hash_handle hh;
	pb_location *l;
	size_t n;
	int64_t frames[]; /* the key: frame ids (storage_reader__frame_same), innermost first */
};

struct stack_entry {
	int64_t stack;
	uint64_t *locs;
	size_t n;
	UT_hash_handle hh;
};

/* A growing array of pointers. */
struct ptrs {
	void **v;
	size_t n, cap;
};

struct pprof {
	struct export_job *job;
	struct str_entry *strs;
	struct ptrs strtab, maps, fns, locs;
	struct map_entry *map_index;
	struct fn_entry *fn_index;
	struct loc_entry *loc_index;
	struct stack_entry *stacks;
	int64_t s_pid, s_tid, s_comm, s_cgroup;
};

static int ptrs_push(struct ptrs *p, void *x)
{
	if (p->n == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 64;
		void **nv = realloc(p->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		p->v = nv;
		p->cap = ncap;
	}
	p->v[p->n++] = x;
	return 0;
}

/* The string's index in the table; -ENOMEM (negative) on failure. "" is always 0. */
static int64_t intern(struct pprof *p, const char *s)
{
	struct str_entry *e;
	size_t len;

	if (!s)
		s = "";
	len = strlen(s);
	HASH_FIND(hh, p->strs, s, len, e);
	if (e)
		return e->idx;
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return -ENOMEM;
	memcpy(e->s, s, len + 1);
	e->idx = (int64_t)p->strtab.n;
	if (ptrs_push(&p->strtab, e->s)) {
		free(e);
		return -ENOMEM;
	}
	HASH_ADD(hh, p->strs, s, len, e);
	return e->idx;
}

static pb_mapping *mapping_of(struct pprof *p, const struct storage_frame *f)
{
	const char *file = f->module ? f->module : "[unknown]";
	int64_t key[2] = { intern(p, file), intern(p, f->build_id) };
	struct map_entry *e;

	if (key[0] < 0 || key[1] < 0)
		return NULL;
	HASH_FIND(hh, p->map_index, key, sizeof(key), e);
	if (e)
		return e->m;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->m = malloc(sizeof(*e->m))) || ptrs_push(&p->maps, e->m)) {
		if (e)
			free(e->m);
		free(e);
		return NULL;
	}
	perftools__profiles__mapping__init(e->m);
	e->m->id = p->maps.n;
	e->m->filename = key[0];
	e->m->build_id = key[1];
	e->m->memory_limit = 1;
	/* Until a frame without a name turns up. */
	e->m->has_functions = e->m->has_filenames = e->m->has_line_numbers = true;
	e->filename = key[0];
	e->build_id = key[1];
	HASH_ADD(hh, p->map_index, filename, 2 * sizeof(int64_t), e);
	return e->m;
}

static pb_function *function_of(struct pprof *p, const struct storage_frame *f)
{
	int64_t key[2] = { intern(p, f->name), intern(p, f->file) };
	struct fn_entry *e;

	if (key[0] < 0 || key[1] < 0)
		return NULL;
	HASH_FIND(hh, p->fn_index, key, sizeof(key), e);
	if (e)
		return e->f;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->f = malloc(sizeof(*e->f))) || ptrs_push(&p->fns, e->f)) {
		if (e)
			free(e->f);
		free(e);
		return NULL;
	}
	perftools__profiles__function__init(e->f);
	e->f->id = p->fns.n;
	e->f->name = key[0];
	e->f->system_name = key[0];
	e->f->filename = key[1];
	memcpy(e->key, key, sizeof(key));
	HASH_ADD(hh, p->fn_index, key, sizeof(e->key), e);
	return e->f;
}

/* The location of an inline group: frames[0..n) innermost first, the last one not inlined. */
static int location_of(struct pprof *p, const int64_t *frames, size_t n, uint64_t *id)
{
	struct storage_reader *r = p->job->reader;
	const struct storage_frame *outer;
	struct loc_entry *e;
	pb_mapping *m;
	pb_location *l;

	HASH_FIND(hh, p->loc_index, frames, n * sizeof(*frames), e);
	if (e) {
		*id = e->l->id;
		return 0;
	}
	outer = storage_reader__frame(r, frames[n - 1]);
	if (!outer)
		return -errno;
	m = mapping_of(p, outer);
	e = calloc(1, sizeof(*e) + n * sizeof(*frames));
	l = calloc(1, sizeof(*l));
	if (!m || !e || !l)
		goto nomem;
	perftools__profiles__location__init(l);
	memcpy(e->frames, frames, n * sizeof(*frames));
	e->n = n;
	e->l = l;
	l->mapping_id = m->id;
	if (outer->name) {
		l->line = calloc(n, sizeof(*l->line));
		if (!l->line)
			goto nomem;
		for (size_t i = 0; i < n; i++) {
			const struct storage_frame *f = storage_reader__frame(r, frames[i]);
			pb_function *fn;
			pb_line *ln;

			if (!f)
				goto nomem;
			fn = f->name ? function_of(p, f) : NULL;
			if (!fn)
				continue; /* an unnamed inlined frame says nothing: skip it */
			ln = malloc(sizeof(*ln));
			if (!ln)
				goto nomem;
			perftools__profiles__line__init(ln);
			ln->function_id = fn->id;
			ln->line = f->line;
			l->line[l->n_line++] = ln;
			if (!f->file)
				m->has_filenames = false;
			if (!f->line)
				m->has_line_numbers = false;
			if (i + 1 < n)
				m->has_inline_frames = true;
		}
	} else {
		l->address = outer->offset;
		if (outer->offset >= m->memory_limit)
			m->memory_limit = outer->offset + 1;
		m->has_functions = m->has_filenames = m->has_line_numbers = false;
	}
	if (ptrs_push(&p->locs, l))
		goto nomem;
	l->id = p->locs.n;
	HASH_ADD(hh, p->loc_index, frames, n * sizeof(*frames), e);
	*id = l->id;
	return 0;
nomem:
	if (l) {
		for (size_t i = 0; i < l->n_line; i++)
			free(l->line[i]);
		free(l->line);
	}
	free(l);
	free(e);
	return -ENOMEM;
}

/* The location ids of a stack, leaf first, cached per stack id. */
static int stack_locations(struct pprof *p, int64_t stack, struct stack_entry **out)
{
	struct storage_reader *r = p->job->reader;
	struct stack_entry *e;
	const int64_t *frames;
	int64_t *same = NULL;
	size_t n, start = 0;
	int err;

	HASH_FIND(hh, p->stacks, &stack, sizeof(stack), e);
	if (e)
		goto found;
	err = storage_reader__stack(r, stack, &frames, &n, NULL);
	if (err)
		return err;
	e = calloc(1, sizeof(*e));
	same = malloc((n + 1) * sizeof(*same));
	if (!e || !same || !(e->locs = calloc(n + 1, sizeof(*e->locs)))) {
		free(e);
		free(same);
		return -ENOMEM;
	}
	e->stack = stack;
	HASH_ADD(hh, p->stacks, stack, sizeof(stack), e);
	/* Locations are keyed by frame content: equal frames stored under two ids are one. */
	for (size_t i = 0; i < n; i++) {
		same[i] = storage_reader__frame_same(r, frames[i]);
		if (same[i] < 0) {
			err = (int)same[i];
			goto out;
		}
	}
	/* Group each run of inlined frames with the frame they were inlined into. */
	for (size_t i = 0; i < n; i++) {
		const struct storage_frame *f = storage_reader__frame(r, same[i]);

		if (!f) {
			err = -errno;
			goto out;
		}
		if (f->inlined && i + 1 < n)
			continue;
		err = location_of(p, same + start, i + 1 - start, &e->locs[e->n]);
		if (err)
			goto out;
		e->n++;
		start = i + 1;
	}
	free(same);
found:
	*out = e;
	return 0;
out:
	free(same);
	return err;
}

/* A ProtobufCBuffer that deflates into a FILE in gzip format. */
struct gz_sink {
	ProtobufCBuffer base;
	z_stream z;
	FILE *out;
	int err;
	unsigned char chunk[1 << 16];
};

static void gz_feed(struct gz_sink *g, const uint8_t *data, size_t len, int flush)
{
	g->z.next_in = (Bytef *)data;
	g->z.avail_in = (uInt)len;
	do {
		int rc;

		g->z.next_out = g->chunk;
		g->z.avail_out = sizeof(g->chunk);
		rc = deflate(&g->z, flush);
		if (rc == Z_STREAM_ERROR) {
			g->err = -EINVAL;
			return;
		}
		if (fwrite(g->chunk, 1, sizeof(g->chunk) - g->z.avail_out, g->out) !=
		    sizeof(g->chunk) - g->z.avail_out) {
			g->err = -EIO;
			return;
		}
	} while (g->z.avail_out == 0 || (flush == Z_FINISH && g->z.avail_in));
}

static void gz_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
	struct gz_sink *g = (struct gz_sink *)b;

	/* protobuf-c appends a few bytes at a time: deflate copes, in big enough steps. */
	while (!g->err && len) {
		size_t step = len > (1u << 30) ? (1u << 30) : len;

		gz_feed(g, data, step, Z_NO_FLUSH);
		data += step;
		len -= step;
	}
}

static void free_pprof(struct pprof *p)
{
	struct str_entry *s, *ts;
	struct map_entry *m, *tm;
	struct fn_entry *f, *tf;
	struct loc_entry *l, *tl;
	struct stack_entry *k, *tk;

	HASH_ITER (hh, p->strs, s, ts) {
		HASH_DEL(p->strs, s);
		free(s);
	}
	HASH_ITER (hh, p->map_index, m, tm) {
		HASH_DEL(p->map_index, m);
		free(m->m);
		free(m);
	}
	HASH_ITER (hh, p->fn_index, f, tf) {
		HASH_DEL(p->fn_index, f);
		free(f->f);
		free(f);
	}
	HASH_ITER (hh, p->loc_index, l, tl) {
		HASH_DEL(p->loc_index, l);
		for (size_t i = 0; i < l->l->n_line; i++)
			free(l->l->line[i]);
		free(l->l->line);
		free(l->l);
		free(l);
	}
	HASH_ITER (hh, p->stacks, k, tk) {
		HASH_DEL(p->stacks, k);
		free(k->locs);
		free(k);
	}
	free(p->strtab.v);
	free(p->maps.v);
	free(p->fns.v);
	free(p->locs.v);
}

static int pprof_write(FILE *out, struct export_job *job)
{
	pb_profile prof = PERFTOOLS__PROFILES__PROFILE__INIT;
	pb_value_type types[2] = { PERFTOOLS__PROFILES__VALUE_TYPE__INIT,
				   PERFTOOLS__PROFILES__VALUE_TYPE__INIT };
	pb_value_type period_type = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	pb_value_type *type_ptrs[2] = { &types[0], &types[1] };
	struct pprof p = { .job = job };
	struct export_rates rates = { 0 };
	struct export_agg agg = { 0 };
	pb_sample *samples = NULL, **sample_ptrs = NULL;
	pb_label *labels = NULL, **label_ptrs = NULL;
	int64_t *values = NULL, comment;
	char(*numbers)[3][24] = NULL;
	struct gz_sink *gz = NULL;
	int err;

	err = export_rates__load(&rates, job->reader, job->filter);
	if (!err)
		err = export_aggregate(job, job->filter, true, &rates, 0, 0.9, &agg);
	if (err)
		goto out;
	job->nsamples = agg.total;
	if (!agg.total) {
		err = -ENODATA;
		goto out;
	}
	err = -ENOMEM;
	if (intern(&p, "") != 0)
		goto out;
	types[0].type = intern(&p, "samples");
	types[0].unit = intern(&p, "count");
	types[1].type = period_type.type = intern(&p, "cpu");
	types[1].unit = period_type.unit = intern(&p, "nanoseconds");
	p.s_pid = intern(&p, "pid");
	p.s_tid = intern(&p, "tid");
	p.s_comm = intern(&p, "comm");
	p.s_cgroup = intern(&p, "cgroup");
	comment = intern(&p, job->opt->command ? job->opt->command : "ember export");
	samples = calloc(agg.n, sizeof(*samples));
	sample_ptrs = calloc(agg.n, sizeof(*sample_ptrs));
	labels = calloc(agg.n * PPROF_LABELS, sizeof(*labels));
	label_ptrs = calloc(agg.n * PPROF_LABELS, sizeof(*label_ptrs));
	values = calloc(agg.n * 2, sizeof(*values));
	numbers = calloc(1, sizeof(*numbers));
	if (!samples || !sample_ptrs || !labels || !label_ptrs || !values || !numbers ||
	    types[1].unit < 0 || p.s_cgroup < 0 || comment < 0)
		goto out;
	for (size_t i = 0; i < agg.n; i++) {
		const struct export_entry *en = &agg.v[i];
		const struct storage_thread *t = storage_reader__thread(job->reader, en->thread);
		pb_sample *s = &samples[i];
		pb_label *lb = &labels[i * PPROF_LABELS];
		struct stack_entry *st = NULL;
		size_t nl = 0;

		if (!t) {
			err = -errno;
			goto out;
		}
		err = stack_locations(&p, en->stack, &st);
		if (err)
			goto out;
		perftools__profiles__sample__init(s);
		s->location_id = st->locs;
		s->n_location_id = st->n;
		s->value = &values[2 * i];
		s->n_value = 2;
		s->value[0] = (int64_t)en->count;
		s->value[1] = (int64_t)en->weight_ns;
		snprintf((*numbers)[0], sizeof((*numbers)[0]), "%u", t->pid);
		snprintf((*numbers)[1], sizeof((*numbers)[1]), "%u", t->tid);
		snprintf((*numbers)[2], sizeof((*numbers)[2]), "%" PRIu64, en->cgroup);
		for (size_t k = 0; k < PPROF_LABELS; k++)
			perftools__profiles__label__init(&lb[k]);
		lb[nl].key = p.s_pid;
		lb[nl++].str = intern(&p, (*numbers)[0]);
		lb[nl].key = p.s_tid;
		lb[nl++].str = intern(&p, (*numbers)[1]);
		lb[nl].key = p.s_comm;
		lb[nl++].str = intern(&p, t->comm[0] ? t->comm : "[unknown]");
		if (en->cgroup) {
			lb[nl].key = p.s_cgroup;
			lb[nl++].str = intern(&p, (*numbers)[2]);
		}
		for (size_t k = 0; k < nl; k++) {
			if (lb[k].str < 0) {
				err = -ENOMEM;
				goto out;
			}
			label_ptrs[i * PPROF_LABELS + k] = &lb[k];
		}
		s->label = &label_ptrs[i * PPROF_LABELS];
		s->n_label = nl;
		sample_ptrs[i] = s;
	}
	prof.n_sample_type = 2;
	prof.sample_type = type_ptrs;
	prof.n_sample = agg.n;
	prof.sample = sample_ptrs;
	prof.n_mapping = p.maps.n;
	prof.mapping = (pb_mapping **)p.maps.v;
	prof.n_location = p.locs.n;
	prof.location = (pb_location **)p.locs.v;
	prof.n_function = p.fns.n;
	prof.function = (pb_function **)p.fns.v;
	prof.n_string_table = p.strtab.n;
	prof.string_table = (char **)p.strtab.v;
	prof.time_nanos = job->filter->from_ns ? job->filter->from_ns : agg.first_ns;
	prof.duration_nanos =
	    (job->filter->to_ns ? job->filter->to_ns : agg.last_ns) - prof.time_nanos;
	prof.period_type = &period_type;
	prof.period = (int64_t)export_rates__period_ns(&rates, agg.first_ns);
	prof.n_comment = 1;
	prof.comment = &comment;
	prof.default_sample_type = types[1].type;

	gz = calloc(1, sizeof(*gz));
	if (!gz)
		goto out;
	gz->base.append = gz_append;
	gz->out = out;
	/* 31: a gzip header; level 1, as Go's runtime/pprof writes its profiles. */
	if (deflateInit2(&gz->z, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(gz);
		gz = NULL;
		goto out;
	}
	perftools__profiles__profile__pack_to_buffer(&prof, &gz->base);
	if (!gz->err)
		gz_feed(gz, NULL, 0, Z_FINISH);
	err = gz->err;
	if (job->progress)
		job->progress(1, job->progress_ctx);
out:
	if (gz)
		deflateEnd(&gz->z);
	free(gz);
	free(numbers);
	free(values);
	free(label_ptrs);
	free(labels);
	free(sample_ptrs);
	free(samples);
	free_pprof(&p);
	export_agg_free(&agg);
	export_rates__free(&rates);
	return err;
}

const struct export_format export_pprof_format = {
	.name = "pprof",
	.summary = "profile.proto, gzip'd: go tool pprof, Pyroscope, Parca",
	.write = pprof_write,
};
