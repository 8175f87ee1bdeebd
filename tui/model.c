// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The model queries the selection once per refresh, as MODEL_SPARK_CELLS consecutive slices of
 * storage_reader__stack_counts (one walk of the range in all; the slices give the sparklines),
 * merged into one list of (thread, stack, count). Everything else is derived from that list on
 * first use: processes and threads, functions, callers and callees, the flame trees. Threads,
 * stacks and frames are resolved once and cached for the model's life (the reader caches the
 * rows, the model the stacks as function ids), so a refresh costs one walk of the range plus
 * work proportional to the distinct stacks in it.
 */
#include "tui/model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#define NAME_MAX_LEN 1024

struct mfunc_key {
	uint32_t id;
	UT_hash_handle hh;
	char key[];
};

struct mframe {
	int64_t id;
	uint32_t func;
	UT_hash_handle hh;
};

/*
 * A stored stack as function ids, leaf first, with the count of its kernel frames. Frames are
 * resolved to functions on first use (MODEL_NO_FUNC until then): the processes view needs only
 * each stack's leaf, and resolving every frame of every stack would cost it most of its time.
 */
struct mstack {
	int64_t id;
	uint32_t n, nkernel;
	bool resolved;	       /* every entry of funcs is set, and nkernel */
	const int64_t *frames; /* frame ids, borrowed from the reader */
	UT_hash_handle hh;
	uint32_t funcs[];
};

struct mthread {
	int64_t id;
	const struct storage_thread *t; /* borrowed from the reader */
	uint32_t comm_func;
	UT_hash_handle hh;
};

/* One (thread, stack) of the selection. */
struct mentry {
	struct mthread *thread;
	struct mstack *stack;
	uint64_t count;
};

struct mslice {
	struct storage_stack_count *v;
	size_t n;
};

struct task_key {
	uint32_t pid, tid;
	int64_t proc_start;
};

struct mtask_ix {
	struct task_key key;
	size_t index;
	UT_hash_handle hh;
};

struct mleaf {
	struct {
		size_t task;
		uint32_t func;
	} key;
	uint64_t count;
	UT_hash_handle hh;
};

struct model {
	struct storage_reader *r;
	model_frame_name_fn frame_name;

	/* selection */
	bool live;
	int64_t window_ns;
	int64_t from_ns, to_ns;
	struct storage_filter filter;
	uint32_t *filter_pids, *filter_tids;
	uint64_t *filter_cgroups;
	char *filter_comm, *filter_binary;
	uint32_t narrow_pid, narrow_tid;
	enum model_frames frames;
	bool show_idle;
	bool query_dirty; /* the range or the filter changed: query again */
	int lazy_err;	  /* the first failure to resolve a frame on demand */
	bool derive_dirty;

	/* caches for the model's life */
	struct model_func *funcs;
	uint32_t *canon; /* per function: the first function of the same kind and name */
	uint32_t nfuncs, capfuncs;
	struct mfunc_key *func_keys;
	struct mfunc_key *name_keys; /* kind and name -> the first function with them */
	struct mframe *frames_map;
	struct mstack *stacks;
	struct mthread *threads;
	uint32_t max_depth;

	/* the last query */
	struct model_info info;
	int64_t queried_from, queried_to, queried_last;
	struct mslice slices[MODEL_SPARK_CELLS];
	struct mentry *entries; /* the merged slices, idle included */
	size_t nentries;

	/* derived, each valid when its flag is set */
	bool tasks_ok[2];
	struct model_task *tasks[2];
	size_t ntasks[2];
	bool functions_ok;
	struct model_fcount *functions;
	size_t nfunctions;
	bool flame_ok[2];
	struct flame_tree *flame[2];

	uint32_t *scratch; /* max_depth + 2 function ids */
	uint32_t *marks;   /* per function: the last entry (index + 1) that counted it */
	uint32_t capmarks;
};

static void invalidate_derived(struct model *m)
{
	for (int i = 0; i < 2; i++) {
		free(m->tasks[i]);
		m->tasks[i] = NULL;
		m->ntasks[i] = 0;
		m->tasks_ok[i] = false;
		flame_tree__free(m->flame[i]);
		m->flame[i] = NULL;
		m->flame_ok[i] = false;
	}
	free(m->functions);
	m->functions = NULL;
	m->nfunctions = 0;
	m->functions_ok = false;
}

struct model *model__new(struct storage_reader *r, model_frame_name_fn name, int64_t window_ns)
{
	struct model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->r = r;
	m->frame_name = name;
	m->live = true;
	m->window_ns = window_ns > 0 ? window_ns : 10 * 1000000000ll;
	m->query_dirty = true;
	m->derive_dirty = true;
	return m;
}

/*
 * The flame graph merges frames by kind and name, as flamegraph.pl merges folded lines: one
 * function in two builds of a program, or in a library reached by two paths (/lib and /usr/lib),
 * is one box. Sets *canon to the first function with this kind and name (`id` if it is the
 * first). 0 or -ENOMEM.
 */
static int canon_of(struct model *m, enum model_kind kind, const char *name, uint32_t id,
		    uint32_t *canon)
{
	char key[NAME_MAX_LEN + 4];
	struct mfunc_key *k;
	size_t klen;

	snprintf(key, sizeof(key), "%c\x1f%s", 'a' + kind, name);
	klen = strlen(key);
	HASH_FIND(hh, m->name_keys, key, klen, k);
	if (k) {
		*canon = k->id;
		return 0;
	}
	k = malloc(sizeof(*k) + klen + 1);
	if (!k)
		return -ENOMEM;
	memcpy(k->key, key, klen + 1);
	k->id = id;
	HASH_ADD(hh, m->name_keys, key, klen, k);
	*canon = id;
	return 0;
}

/* Interns a function; its id, or MODEL_NO_FUNC when out of memory. */
static uint32_t intern_func(struct model *m, enum model_kind kind, const char *name,
			    const char *module, const char *file)
{
	struct mfunc_key *k;
	char key[2 * NAME_MAX_LEN + 8];
	size_t klen;

	/* Truncation only merges functions whose names share their first kilobyte. */
	snprintf(key, sizeof(key), "%c\x1f%s\x1f%s", 'a' + kind, name, module ? module : "");
	klen = strlen(key);
	HASH_FIND(hh, m->func_keys, key, klen, k);
	if (k)
		return k->id;
	if (m->nfuncs == m->capfuncs) {
		uint32_t ncap = m->capfuncs ? m->capfuncs * 2 : 256;
		struct model_func *nf = realloc(m->funcs, ncap * sizeof(*nf));
		uint32_t *nc;

		if (!nf)
			return MODEL_NO_FUNC;
		m->funcs = nf;
		nc = realloc(m->canon, ncap * sizeof(*nc));
		if (!nc)
			return MODEL_NO_FUNC;
		m->canon = nc;
		m->capfuncs = ncap;
	}
	if (canon_of(m, kind, name, m->nfuncs, &m->canon[m->nfuncs]))
		return MODEL_NO_FUNC;
	k = malloc(sizeof(*k) + klen + 1);
	if (!k)
		return MODEL_NO_FUNC;
	memcpy(k->key, key, klen + 1);
	m->funcs[m->nfuncs].name = strdup(name);
	m->funcs[m->nfuncs].module = module;
	m->funcs[m->nfuncs].file = file;
	m->funcs[m->nfuncs].kind = kind;
	if (!m->funcs[m->nfuncs].name) {
		free(k);
		return MODEL_NO_FUNC;
	}
	k->id = m->nfuncs++;
	HASH_ADD(hh, m->func_keys, key, klen, k);
	return k->id;
}

static enum model_kind kind_of(const struct storage_frame *f)
{
	if (f->kind == STORAGE_FRAME_KERNEL)
		return MODEL_KIND_KERNEL;
	if (f->kind == STORAGE_FRAME_JIT)
		return MODEL_KIND_JIT;
	if (!f->name)
		return MODEL_KIND_UNKNOWN;
	return f->inlined ? MODEL_KIND_INLINED : MODEL_KIND_USER;
}

/* The function of frame `id`, or MODEL_NO_FUNC with errno. */
static uint32_t func_of_frame(struct model *m, int64_t id)
{
	const struct storage_frame *f;
	struct mframe *mf;
	char name[NAME_MAX_LEN];
	uint32_t func;

	HASH_FIND(hh, m->frames_map, &id, sizeof(id), mf);
	if (mf)
		return mf->func;
	f = storage_reader__frame(m->r, id);
	if (!f)
		return MODEL_NO_FUNC;
	m->frame_name(f, name, sizeof(name));
	func = intern_func(m, kind_of(f), name, f->module, f->file);
	mf = func == MODEL_NO_FUNC ? NULL : malloc(sizeof(*mf));
	if (!mf) {
		errno = ENOMEM;
		return MODEL_NO_FUNC;
	}
	mf->id = id;
	mf->func = func;
	HASH_ADD(hh, m->frames_map, id, sizeof(mf->id), mf);
	return func;
}

static int grow_scratch(struct model *m, uint32_t depth)
{
	uint32_t *ns;

	if (m->scratch && depth <= m->max_depth)
		return 0;
	ns = realloc(m->scratch, ((size_t)depth + 2) * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	m->scratch = ns;
	if (depth > m->max_depth)
		m->max_depth = depth;
	return 0;
}

static struct mstack *stack_of(struct model *m, int64_t id, int *err)
{
	const int64_t *frames;
	struct mstack *s;
	size_t n;

	HASH_FIND(hh, m->stacks, &id, sizeof(id), s);
	if (s)
		return s;
	*err = storage_reader__stack(m->r, id, &frames, &n, NULL);
	if (*err)
		return NULL;
	if (n > UINT32_MAX / 2) {
		*err = -EBADMSG;
		return NULL;
	}
	s = malloc(sizeof(*s) + n * sizeof(s->funcs[0]));
	if (!s || (*err = grow_scratch(m, (uint32_t)n))) {
		free(s);
		*err = *err ? *err : -ENOMEM;
		return NULL;
	}
	s->id = id;
	s->n = (uint32_t)n;
	s->nkernel = 0;
	s->resolved = false;
	s->frames = frames;
	for (size_t i = 0; i < n; i++)
		s->funcs[i] = MODEL_NO_FUNC;
	HASH_ADD(hh, m->stacks, id, sizeof(s->id), s);
	return s;
}

/* Resolves frame i of a stack; false (the error in m->lazy_err) on failure. */
static bool resolve_frame(struct model *m, struct mstack *s, uint32_t i)
{
	uint32_t f;

	if (s->funcs[i] != MODEL_NO_FUNC)
		return true;
	f = func_of_frame(m, s->frames[i]);
	if (f == MODEL_NO_FUNC) {
		if (!m->lazy_err)
			m->lazy_err = errno ? -errno : -ENOMEM;
		return false;
	}
	s->funcs[i] = f;
	return true;
}

/* Resolves every frame of a stack; false (the error in m->lazy_err) on failure. */
static bool resolve(struct model *m, struct mstack *s)
{
	if (s->resolved)
		return true;
	s->nkernel = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		if (!resolve_frame(m, s, i))
			return false;
		if (m->funcs[s->funcs[i]].kind == MODEL_KIND_KERNEL)
			s->nkernel++;
	}
	s->resolved = true;
	return true;
}

static struct mthread *thread_of(struct model *m, int64_t id, int *err)
{
	struct mthread *t;
	const struct storage_thread *st;

	HASH_FIND(hh, m->threads, &id, sizeof(id), t);
	if (t)
		return t;
	st = storage_reader__thread(m->r, id);
	if (!st) {
		*err = -errno;
		return NULL;
	}
	t = malloc(sizeof(*t));
	if (!t) {
		*err = -ENOMEM;
		return NULL;
	}
	t->id = id;
	t->t = st;
	t->comm_func = intern_func(m, MODEL_KIND_PROCESS, st->comm, NULL, NULL);
	if (t->comm_func == MODEL_NO_FUNC) {
		free(t);
		*err = -ENOMEM;
		return NULL;
	}
	HASH_ADD(hh, m->threads, id, sizeof(t->id), t);
	return t;
}

/*
 * The stack's functions under the frame mode, leaf first, into m->scratch (or the stack itself).
 * Returns the count; 0 when the mode leaves nothing (the sample is left out, unless the mode is
 * MODEL_FRAMES_ALL, where an empty stack still counts).
 */
static uint32_t visible_funcs(struct model *m, struct mstack *s, const uint32_t **out)
{
	uint32_t k = 0;

	*out = m->scratch;
	if (!resolve(m, s))
		return 0;
	if (m->frames == MODEL_FRAMES_ALL) {
		*out = s->funcs;
		return s->n;
	}
	for (uint32_t i = 0; i < s->n; i++) {
		bool kernel = m->funcs[s->funcs[i]].kind == MODEL_KIND_KERNEL;

		if (kernel == (m->frames == MODEL_FRAMES_KERNEL))
			m->scratch[k++] = s->funcs[i];
	}
	return k;
}

/* The leaf function under the frame mode, MODEL_NO_FUNC when there is none. With every frame
 * shown, only the leaf frame is resolved. */
static uint32_t leaf_func(struct model *m, struct mstack *s)
{
	const uint32_t *funcs;

	if (m->frames == MODEL_FRAMES_ALL)
		return s->n && resolve_frame(m, s, 0) ? s->funcs[0] : MODEL_NO_FUNC;
	return visible_funcs(m, s, &funcs) ? funcs[0] : MODEL_NO_FUNC;
}

static bool entry_counts(struct model *m, const struct mthread *t, struct mstack *s)
{
	if (!m->show_idle && t->t->pid == 0)
		return false;
	if (m->frames == MODEL_FRAMES_ALL)
		return true;
	if (!resolve(m, s))
		return false;
	if (m->frames == MODEL_FRAMES_KERNEL)
		return s->nkernel > 0;
	return s->n > s->nkernel;
}

/*
 * Resolves every frame of the stacks that count, before a pass that sizes arrays by the number
 * of functions: resolving interns new functions.
 */
static int resolve_entries(struct model *m)
{
	for (size_t i = 0; i < m->nentries; i++)
		if (entry_counts(m, m->entries[i].thread, m->entries[i].stack) &&
		    !resolve(m, m->entries[i].stack))
			break;
	return m->lazy_err;
}

static void free_slices(struct model *m)
{
	for (int i = 0; i < MODEL_SPARK_CELLS; i++) {
		free(m->slices[i].v);
		m->slices[i].v = NULL;
		m->slices[i].n = 0;
	}
	free(m->entries);
	m->entries = NULL;
	m->nentries = 0;
}

/* The storage filter of the selection, narrowing included. */
static struct storage_filter query_filter(const struct model *m, int64_t from, int64_t to)
{
	struct storage_filter f = m->filter;

	f.from_ns = from;
	f.to_ns = to;
	if (m->narrow_tid) {
		f.tids = &m->narrow_tid;
		f.ntids = 1;
	}
	if (m->narrow_pid) {
		f.pids = &m->narrow_pid;
		f.npids = 1;
	}
	return f;
}

struct merge_key {
	int64_t thread, stack;
};

struct merge_entry {
	struct merge_key key;
	size_t index;
	UT_hash_handle hh;
};

static int query(struct model *m)
{
	int64_t span = m->to_ns - m->from_ns, bucket = span / MODEL_SPARK_CELLS;
	struct merge_entry *map = NULL, *e, *tmp;
	size_t cap = 0;
	int err = 0;

	free_slices(m);
	if (bucket < 1)
		bucket = 1;
	m->info.spark_bucket_ns = bucket;
	m->info.all = m->info.idle = 0;
	for (int b = 0; b < MODEL_SPARK_CELLS && !err; b++) {
		int64_t from = m->from_ns + b * bucket;
		int64_t to = b == MODEL_SPARK_CELLS - 1 ? m->to_ns : from + bucket;
		struct storage_filter f = query_filter(m, from, to);
		struct mslice *sl = &m->slices[b];
		uint64_t total;

		if (to <= from)
			continue;
		err = storage_reader__stack_counts(m->r, &f, &sl->v, &sl->n, &total);
		for (size_t i = 0; !err && i < sl->n; i++) {
			struct merge_key k = { sl->v[i].thread, sl->v[i].stack };

			HASH_FIND(hh, map, &k, sizeof(k), e);
			if (!e) {
				struct mthread *t = thread_of(m, k.thread, &err);
				struct mstack *s = t ? stack_of(m, k.stack, &err) : NULL;

				if (!s)
					break;
				if (m->nentries == cap) {
					size_t ncap = cap ? cap * 2 : 256;
					struct mentry *ne = realloc(m->entries, ncap * sizeof(*ne));

					if (!ne) {
						err = -ENOMEM;
						break;
					}
					m->entries = ne;
					cap = ncap;
				}
				e = malloc(sizeof(*e));
				if (!e) {
					err = -ENOMEM;
					break;
				}
				e->key = k;
				e->index = m->nentries++;
				m->entries[e->index] =
				    (struct mentry){ .thread = t, .stack = s, .count = 0 };
				HASH_ADD(hh, map, key, sizeof(k), e);
			}
			m->entries[e->index].count += sl->v[i].count;
			m->info.all += sl->v[i].count;
			if (m->entries[e->index].thread->t->pid == 0)
				m->info.idle += sl->v[i].count;
		}
	}
	HASH_ITER (hh, map, e, tmp) {
		HASH_DEL(map, e);
		free(e);
	}
	if (err)
		free_slices(m);
	m->info.stacks = m->nentries;
	return err;
}

static void derive_totals(struct model *m)
{
	uint64_t samples = 0;

	for (size_t i = 0; i < m->nentries; i++)
		if (entry_counts(m, m->entries[i].thread, m->entries[i].stack))
			samples += m->entries[i].count;
	m->info.samples = samples;
}

int model__refresh(struct model *m)
{
	int64_t first = 0, last = 0;
	bool changed = false;
	int err;

	err = storage_reader__span(m->r, &first, &last);
	if (err == -ENODATA)
		first = last = 0;
	else if (err)
		return err;
	if (m->live) {
		m->to_ns = last + 1;
		m->from_ns = m->to_ns - m->window_ns;
	}
	/* New samples count when they may fall into the range. */
	if (last != m->queried_last && last >= m->from_ns && m->queried_last < m->to_ns)
		m->query_dirty = true;
	if (m->from_ns != m->queried_from || m->to_ns != m->queried_to)
		m->query_dirty = true;
	m->info.first_ns = first;
	m->info.last_ns = last;
	m->info.live = m->live;
	m->info.from_ns = m->from_ns;
	m->info.to_ns = m->to_ns;
	if (m->query_dirty) {
		uint32_t hz = 0, ncpus = 0;

		err = storage_reader__rate(m->r, m->from_ns, m->to_ns, &hz, &ncpus);
		if (err == -ENODATA)
			err = storage_reader__rate(m->r, 0, 0, &hz, &ncpus);
		if (err && err != -ENODATA)
			return err;
		m->info.hz = hz;
		m->info.ncpus = ncpus;
		err = query(m);
		if (err)
			return err;
		m->queried_from = m->from_ns;
		m->queried_to = m->to_ns;
		m->queried_last = last;
		m->query_dirty = false;
		m->derive_dirty = true;
		changed = true;
	}
	if (m->derive_dirty) {
		invalidate_derived(m);
		derive_totals(m);
		if (m->lazy_err)
			return m->lazy_err;
		m->derive_dirty = false;
		changed = true;
	}
	return changed;
}

bool model__stale(const struct model *m)
{
	return m->query_dirty || m->derive_dirty || (!m->live) != (!m->info.live) ||
	       (!m->live && (m->from_ns != m->queried_from || m->to_ns != m->queried_to));
}

const struct model_info *model__info(const struct model *m)
{
	return &m->info;
}

void model__go_live(struct model *m)
{
	m->live = true;
}

void model__set_range(struct model *m, int64_t from_ns, int64_t to_ns)
{
	if (to_ns <= from_ns)
		to_ns = from_ns + 1;
	m->live = false;
	m->from_ns = from_ns;
	m->to_ns = to_ns;
	m->window_ns = to_ns - from_ns;
}

void model__set_window(struct model *m, int64_t window_ns)
{
	if (window_ns < 1)
		window_ns = 1;
	m->window_ns = window_ns;
	if (!m->live)
		m->from_ns = m->to_ns - window_ns;
}

int64_t model__window(const struct model *m)
{
	return m->window_ns;
}

static void clear_filter(struct model *m)
{
	free(m->filter_pids);
	free(m->filter_tids);
	free(m->filter_cgroups);
	free(m->filter_comm);
	free(m->filter_binary);
	m->filter_pids = m->filter_tids = NULL;
	m->filter_cgroups = NULL;
	m->filter_comm = m->filter_binary = NULL;
	memset(&m->filter, 0, sizeof(m->filter));
}

static void *dup_array(const void *v, size_t n, size_t size, int *err)
{
	void *p;

	if (!n)
		return NULL;
	p = malloc(n * size);
	if (!p)
		*err = -ENOMEM;
	else
		memcpy(p, v, n * size);
	return p;
}

int model__set_filter(struct model *m, const struct storage_filter *f)
{
	int err = 0;

	clear_filter(m);
	m->filter_pids = dup_array(f->pids, f->npids, sizeof(*f->pids), &err);
	m->filter_tids = dup_array(f->tids, f->ntids, sizeof(*f->tids), &err);
	m->filter_cgroups = dup_array(f->cgroups, f->ncgroups, sizeof(*f->cgroups), &err);
	if (f->comm && !(m->filter_comm = strdup(f->comm)))
		err = -ENOMEM;
	if (f->binary && !(m->filter_binary = strdup(f->binary)))
		err = -ENOMEM;
	if (err) {
		clear_filter(m);
	} else {
		m->filter.pids = m->filter_pids;
		m->filter.npids = f->npids;
		m->filter.tids = m->filter_tids;
		m->filter.ntids = f->ntids;
		m->filter.cgroups = m->filter_cgroups;
		m->filter.ncgroups = f->ncgroups;
		m->filter.comm = m->filter_comm;
		m->filter.binary = m->filter_binary;
	}
	m->query_dirty = true;
	return err;
}

const struct storage_filter *model__filter(const struct model *m)
{
	return &m->filter;
}

void model__narrow(struct model *m, uint32_t pid, uint32_t tid)
{
	if (pid == m->narrow_pid && tid == m->narrow_tid)
		return;
	m->narrow_pid = pid;
	m->narrow_tid = tid;
	m->query_dirty = true;
}

void model__narrowed(const struct model *m, uint32_t *pid, uint32_t *tid)
{
	*pid = m->narrow_pid;
	*tid = m->narrow_tid;
}

void model__set_frames(struct model *m, enum model_frames frames)
{
	if (frames != m->frames)
		m->derive_dirty = true;
	m->frames = frames;
}

enum model_frames model__frames(const struct model *m)
{
	return m->frames;
}

void model__show_idle(struct model *m, bool show)
{
	if (show != m->show_idle)
		m->derive_dirty = true;
	m->show_idle = show;
}

bool model__idle_shown(const struct model *m)
{
	return m->show_idle;
}

const struct model_func *model__func(const struct model *m, uint32_t id)
{
	return id < m->nfuncs ? &m->funcs[id] : NULL;
}

uint32_t model__nfuncs(const struct model *m)
{
	return m->nfuncs;
}

static struct task_key key_of(const struct storage_thread *t, bool by_thread)
{
	struct task_key k;

	memset(&k, 0, sizeof(k));
	k.pid = t->pid;
	k.tid = by_thread ? t->tid : 0;
	k.proc_start = t->proc_start;
	return k;
}

static int cmp_task(const void *x, const void *y)
{
	const struct model_task *a = x, *b = y;

	if (a->samples != b->samples)
		return a->samples > b->samples ? -1 : 1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

static int build_tasks(struct model *m, bool by_thread)
{
	struct mtask_ix *ix = NULL, *x, *xt;
	struct mleaf *leaves = NULL, *l, *lt;
	struct model_task *v = NULL;
	size_t n = 0, cap = 0;
	uint64_t *hot = NULL;
	int err = 0;

	for (size_t i = 0; i < m->nentries && !err; i++) {
		const struct mentry *e = &m->entries[i];
		const struct storage_thread *t = e->thread->t;
		struct task_key k;
		uint32_t leaf;

		if (!entry_counts(m, e->thread, e->stack))
			continue;
		k = key_of(t, by_thread);
		HASH_FIND(hh, ix, &k, sizeof(k), x);
		if (!x) {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				struct model_task *nv = realloc(v, ncap * sizeof(*nv));

				if (!nv) {
					err = -ENOMEM;
					break;
				}
				v = nv;
				cap = ncap;
			}
			x = malloc(sizeof(*x));
			if (!x) {
				err = -ENOMEM;
				break;
			}
			x->key = k;
			x->index = n;
			HASH_ADD(hh, ix, key, sizeof(k), x);
			memset(&v[n], 0, sizeof(v[n]));
			v[n].pid = t->pid;
			v[n].tid = k.tid;
			v[n].proc_start = t->proc_start;
			v[n].comm = t->comm;
			v[n].exe = t->exe;
			v[n].uid = t->uid;
			v[n].hot_func = MODEL_NO_FUNC;
			n++;
		}
		/* A process is named after its main thread when that thread was sampled. */
		if (!by_thread && t->tid == t->pid)
			v[x->index].comm = t->comm;
		v[x->index].samples += e->count;
		leaf = leaf_func(m, e->stack);
		if (leaf != MODEL_NO_FUNC) {
			struct mleaf key;

			memset(&key, 0, sizeof(key));
			key.key.task = x->index;
			key.key.func = leaf;
			HASH_FIND(hh, leaves, &key.key, sizeof(key.key), l);
			if (!l) {
				l = calloc(1, sizeof(*l));
				if (!l) {
					err = -ENOMEM;
					break;
				}
				l->key = key.key;
				HASH_ADD(hh, leaves, key, sizeof(l->key), l);
			}
			l->count += e->count;
		}
	}
	if (!err && n) {
		hot = calloc(n, sizeof(*hot));
		if (!hot)
			err = -ENOMEM;
	}
	HASH_ITER (hh, leaves, l, lt) {
		if (!err) {
			struct model_task *tk = &v[l->key.task];

			if (l->count > hot[l->key.task] ||
			    (l->count == hot[l->key.task] && l->key.func < tk->hot_func)) {
				hot[l->key.task] = l->count;
				tk->hot_func = l->key.func;
			}
		}
		HASH_DEL(leaves, l);
		free(l);
	}
	/* Sparklines: each slice's counts, per task. */
	for (int b = 0; b < MODEL_SPARK_CELLS && !err; b++) {
		const struct mslice *sl = &m->slices[b];

		for (size_t i = 0; i < sl->n; i++) {
			struct mthread *t;
			struct mstack *s;
			struct task_key k;

			HASH_FIND(hh, m->threads, &sl->v[i].thread, sizeof(int64_t), t);
			HASH_FIND(hh, m->stacks, &sl->v[i].stack, sizeof(int64_t), s);
			if (!t || !s || !entry_counts(m, t, s))
				continue;
			k = key_of(t->t, by_thread);
			HASH_FIND(hh, ix, &k, sizeof(k), x);
			if (x)
				v[x->index].spark[b] += sl->v[i].count;
		}
	}
	HASH_ITER (hh, ix, x, xt) {
		HASH_DEL(ix, x);
		free(x);
	}
	free(hot);
	if (!err)
		err = m->lazy_err;
	if (err) {
		free(v);
		return err;
	}
	/* Non-NULL even when empty: NULL means failure to the caller. */
	if (!v && !(v = calloc(1, sizeof(*v))))
		return -ENOMEM;
	qsort(v, n, sizeof(*v), cmp_task);
	m->tasks[by_thread] = v;
	m->ntasks[by_thread] = n;
	m->tasks_ok[by_thread] = true;
	return 0;
}

const struct model_task *model__tasks(struct model *m, bool by_thread, size_t *n)
{
	int err;

	*n = 0;
	if (!m->tasks_ok[by_thread] && (err = build_tasks(m, by_thread))) {
		errno = -err;
		return NULL;
	}
	*n = m->ntasks[by_thread];
	return m->tasks[by_thread];
}

static int grow_marks(struct model *m)
{
	uint32_t *nm;

	if (m->capmarks >= m->nfuncs)
		return 0;
	nm = realloc(m->marks, (size_t)m->nfuncs * sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	memset(nm + m->capmarks, 0, (size_t)(m->nfuncs - m->capmarks) * sizeof(*nm));
	m->marks = nm;
	m->capmarks = m->nfuncs;
	return 0;
}

static int cmp_fcount(const void *x, const void *y)
{
	const struct model_fcount *a = x, *b = y;

	if (a->self != b->self)
		return a->self > b->self ? -1 : 1;
	if (a->total != b->total)
		return a->total > b->total ? -1 : 1;
	return a->func < b->func ? -1 : a->func > b->func;
}

static int build_functions(struct model *m)
{
	struct model_fcount *acc, *v;
	size_t n = 0;

	if (resolve_entries(m))
		return m->lazy_err;
	if (grow_marks(m))
		return -ENOMEM;
	memset(m->marks, 0, (size_t)m->capmarks * sizeof(*m->marks));
	acc = calloc((size_t)m->nfuncs + 1, sizeof(*acc));
	if (!acc)
		return -ENOMEM;
	for (size_t i = 0; i < m->nentries; i++) {
		const struct mentry *e = &m->entries[i];
		const uint32_t *funcs;
		uint32_t depth;

		if (!entry_counts(m, e->thread, e->stack))
			continue;
		depth = visible_funcs(m, e->stack, &funcs);
		if (!depth)
			continue;
		acc[funcs[0]].self += e->count;
		for (uint32_t d = 0; d < depth; d++) {
			/* Recursion counts once per stack. */
			if (m->marks[funcs[d]] == i + 1)
				continue;
			m->marks[funcs[d]] = (uint32_t)(i + 1);
			acc[funcs[d]].total += e->count;
		}
	}
	if (m->lazy_err) {
		free(acc);
		return m->lazy_err;
	}
	for (uint32_t f = 0; f < m->nfuncs; f++)
		if (acc[f].total) {
			acc[f].func = f;
			acc[n++] = acc[f];
		}
	v = realloc(acc, (n + 1) * sizeof(*v));
	if (!v)
		v = acc;
	qsort(v, n, sizeof(*v), cmp_fcount);
	m->functions = v;
	m->nfunctions = n;
	m->functions_ok = true;
	return 0;
}

const struct model_fcount *model__functions(struct model *m, size_t *n)
{
	int err;

	*n = 0;
	if (!m->functions_ok && (err = build_functions(m))) {
		errno = -err;
		return NULL;
	}
	*n = m->nfunctions;
	return m->functions;
}

/* Adds count to func's row of a per-function accumulator (index nfuncs: MODEL_NO_FUNC). */
static void acc_add(struct model_fcount *acc, uint32_t nfuncs, uint32_t func, uint64_t count)
{
	acc[func == MODEL_NO_FUNC ? nfuncs : func].self += count;
}

static int compact(struct model_fcount *acc, uint32_t nfuncs, struct model_fcount **out, size_t *n)
{
	size_t k = 0;

	for (uint32_t f = 0; f <= nfuncs; f++)
		if (acc[f].self) {
			acc[k] = acc[f];
			acc[k].func = f == nfuncs ? MODEL_NO_FUNC : f;
			acc[k].total = acc[k].self;
			k++;
		}
	qsort(acc, k, sizeof(*acc), cmp_fcount);
	*out = acc;
	*n = k;
	return 0;
}

int model__neighbours(struct model *m, uint32_t func, struct model_fcount **callers,
		      size_t *ncallers, struct model_fcount **callees, size_t *ncallees)
{
	struct model_fcount *up, *down;

	if (resolve_entries(m))
		return m->lazy_err;
	up = calloc((size_t)m->nfuncs + 1, sizeof(*up));
	down = calloc((size_t)m->nfuncs + 1, sizeof(*down));
	if (!up || !down) {
		free(up);
		free(down);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->nentries; i++) {
		const struct mentry *e = &m->entries[i];
		const uint32_t *funcs;
		uint32_t depth, d;

		if (!entry_counts(m, e->thread, e->stack))
			continue;
		depth = visible_funcs(m, e->stack, &funcs);
		/* The outermost call: the occurrence nearest the root (the end, leaf first). */
		for (d = depth; d-- > 0;)
			if (funcs[d] == func)
				break;
		if (d == UINT32_MAX)
			continue;
		acc_add(up, m->nfuncs, d + 1 < depth ? funcs[d + 1] : MODEL_NO_FUNC, e->count);
		acc_add(down, m->nfuncs, d > 0 ? funcs[d - 1] : MODEL_NO_FUNC, e->count);
	}
	if (m->lazy_err) {
		free(up);
		free(down);
		return m->lazy_err;
	}
	compact(up, m->nfuncs, callers, ncallers);
	compact(down, m->nfuncs, callees, ncallees);
	return 0;
}

static struct flame_tree *build_flame(struct model *m, bool reversed)
{
	struct flame_stack *stacks;
	uint32_t *buf;
	size_t total = 0, n = 0, off = 0;
	struct flame_tree *t;

	for (size_t i = 0; i < m->nentries; i++)
		total += m->entries[i].stack->n + 1;
	stacks = malloc((m->nentries + 1) * sizeof(*stacks));
	buf = malloc((total + 1) * sizeof(*buf));
	if (!stacks || !buf) {
		free(stacks);
		free(buf);
		errno = ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < m->nentries; i++) {
		const struct mentry *e = &m->entries[i];
		const uint32_t *funcs;
		uint32_t depth;
		uint32_t *p = buf + off;

		if (!entry_counts(m, e->thread, e->stack))
			continue;
		depth = visible_funcs(m, e->stack, &funcs);
		if (!reversed) {
			p[0] = e->thread->comm_func;
			for (uint32_t d = 0; d < depth; d++)
				p[1 + d] = m->canon[funcs[depth - 1 - d]];
		} else {
			for (uint32_t d = 0; d < depth; d++)
				p[d] = m->canon[funcs[d]];
			p[depth] = e->thread->comm_func;
		}
		stacks[n].funcs = p;
		stacks[n].depth = depth + 1;
		stacks[n].count = e->count;
		off += depth + 1;
		n++;
	}
	t = m->lazy_err ? NULL : flame_tree__new(stacks, n);
	if (m->lazy_err)
		errno = -m->lazy_err;
	free(stacks);
	free(buf);
	return t;
}

const struct flame_tree *model__flame(struct model *m, bool reversed)
{
	if (!m->flame_ok[reversed]) {
		m->flame[reversed] = build_flame(m, reversed);
		if (!m->flame[reversed])
			return NULL;
		m->flame_ok[reversed] = true;
	}
	return m->flame[reversed];
}

struct heat {
	struct model *m;
	uint64_t *counts;
	int64_t t0, end;
	int rows;
	int err;
};

static int heat_add(const struct storage_sample *s, void *ctx)
{
	struct heat *h = ctx;
	struct mthread *t = thread_of(h->m, s->thread, &h->err);
	struct mstack *st = t ? stack_of(h->m, s->stack, &h->err) : NULL;
	int64_t off = s->time_ns - h->t0;

	if (!st)
		return h->err;
	if (off < 0 || s->time_ns >= h->end || !entry_counts(h->m, t, st))
		return 0;
	h->counts[off / 1000000000ll * h->rows + off % 1000000000ll * h->rows / 1000000000ll]++;
	return 0;
}

int model__heatmap(struct model *m, int64_t t0_ns, int cols, int rows, uint64_t **counts)
{
	struct heat h = { .m = m, .t0 = t0_ns, .rows = rows };
	struct storage_filter f;
	int err;

	if (cols < 1 || rows < 1)
		return -EINVAL;
	h.end = t0_ns + (int64_t)cols * 1000000000ll;
	f = query_filter(m, t0_ns, h.end);
	h.counts = calloc((size_t)cols * (size_t)rows, sizeof(*h.counts));
	if (!h.counts)
		return -ENOMEM;
	err = storage_reader__samples(m->r, &f, heat_add, &h);
	if (!err)
		err = m->lazy_err;
	if (err) {
		free(h.counts);
		return err;
	}
	*counts = h.counts;
	return 0;
}

void model__free(struct model *m)
{
	struct mfunc_key *k, *kt;
	struct mframe *f, *ft;
	struct mstack *s, *st;
	struct mthread *t, *tt;

	if (!m)
		return;
	invalidate_derived(m);
	free_slices(m);
	clear_filter(m);
	HASH_ITER (hh, m->func_keys, k, kt) {
		HASH_DEL(m->func_keys, k);
		free(k);
	}
	HASH_ITER (hh, m->name_keys, k, kt) {
		HASH_DEL(m->name_keys, k);
		free(k);
	}
	HASH_ITER (hh, m->frames_map, f, ft) {
		HASH_DEL(m->frames_map, f);
		free(f);
	}
	HASH_ITER (hh, m->stacks, s, st) {
		HASH_DEL(m->stacks, s);
		free(s);
	}
	HASH_ITER (hh, m->threads, t, tt) {
		HASH_DEL(m->threads, t);
		free(t);
	}
	for (uint32_t i = 0; i < m->nfuncs; i++)
		free((char *)m->funcs[i].name);
	free(m->funcs);
	free(m->canon);
	free(m->scratch);
	free(m->marks);
	free(m);
}
