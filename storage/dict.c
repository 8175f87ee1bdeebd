// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Dictionary chunks (see dict.h). A chunk blob is: varint version, varint kind, varint n, then
 * one zstd frame holding the rows column by column. Ids and string references are deltas from
 * the previous row, so rows created together (a new function's frames, a process's threads)
 * become runs of small numbers. Stacks are sorted root first before encoding and each stores
 * only what differs from the previous one: how many root-side frames it shares with it, then
 * its own frames, each as an index into its parent frame's successors in the chunk's table of
 * call edges, so a call tree costs about a byte per node. Stacks come in segments that decode
 * alone (docs/storage.md, "Dictionaries"); a stack chunk blob also has a zstd frame of the edge
 * table's frame ids.
 */
#include "storage/dict.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/codec.h"
#include "storage/storage_internal.h"

#define DICT_VERSION 1
/* Stacks since version 3: a table of call edges, then segments of DICT_STACK_SEGMENT stacks that
 * decode one without the others. (Version 2 was never released.) */
#define DICT_STACK_VERSION 3
#define DICT_STACK_SEGMENT 256

const char *const dict_table[DICT__MAX] = {
	[DICT_STRING] = "string_chunks", [DICT_FRAME] = "frame_chunks",
	[DICT_STACK] = "stack_chunks",	 [DICT_PROCESS] = "process_chunks",
	[DICT_THREAD] = "thread_chunks",
};

const char *const dict_noun[DICT__MAX] = {
	[DICT_STRING] = "string",   [DICT_FRAME] = "frame",   [DICT_STACK] = "stack",
	[DICT_PROCESS] = "process", [DICT_THREAD] = "thread",
};

static const size_t row_size[DICT__MAX] = {
	[DICT_STRING] = sizeof(struct dict_string), [DICT_FRAME] = sizeof(struct dict_frame),
	[DICT_STACK] = sizeof(struct dict_stack),   [DICT_PROCESS] = sizeof(struct dict_process),
	[DICT_THREAD] = sizeof(struct dict_thread),
};

const void *dict_row(enum dict_kind kind, const void *rows, size_t i)
{
	return (const char *)rows + i * row_size[kind];
}

int64_t dict_row_id(enum dict_kind kind, const void *row)
{
	/* Every row struct starts with its id. */
	(void)kind;
	return *(const int64_t *)row;
}

/* ---- Encoding. ---- */

struct stack_ref {
	const struct dict_stack *s;
};

/* Root-first lexicographic order of the frames: neighbours share the longest root paths. */
static int cmp_stack_root_first(const void *a, const void *b)
{
	const struct dict_stack *x = ((const struct stack_ref *)a)->s;
	const struct dict_stack *y = ((const struct stack_ref *)b)->s;
	uint32_t n = x->depth < y->depth ? x->depth : y->depth;

	for (uint32_t i = 1; i <= n; i++) {
		int64_t fx = x->frames[x->depth - i], fy = y->frames[y->depth - i];

		if (fx != fy)
			return fx < fy ? -1 : 1;
	}
	if (x->depth != y->depth)
		return x->depth < y->depth ? -1 : 1;
	if (x->status != y->status)
		return x->status < y->status ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void put_zz(struct codec_buf *b, int64_t v, int64_t *prev)
{
	codec_buf_varint(b, codec_zigzag(v - *prev));
	*prev = v;
}

/*
 * Version 1's successor model of stack frames (read, no longer written): for each frame, the
 * frames seen right after it (one level deeper) so far in the chunk, most recent first; a frame is
 * its rank in its parent's list, or an escape with its id. It can only be decoded from the start
 * of the chunk.
 */
#define DICT_SUCC 16

struct succ_map {
	int64_t *keys; /* frame ids; 0: an empty slot (the root's parent, 0, lives apart) */
	uint32_t *len; /* per slot */
	int64_t (*items)[DICT_SUCC]; /* per slot, most recent first */
	size_t mask;
	size_t used;
	uint32_t root_len;
	int64_t root_items[DICT_SUCC];
};

static int succ_alloc(struct succ_map *m, size_t cap)
{
	m->keys = calloc(cap, sizeof(*m->keys));
	m->len = calloc(cap, sizeof(*m->len));
	m->items = malloc(cap * sizeof(*m->items));
	m->mask = cap - 1;
	m->used = 0;
	return m->keys && m->len && m->items ? 0 : -ENOMEM;
}

static int succ_init(struct succ_map *m)
{
	memset(m, 0, sizeof(*m));
	return succ_alloc(m, 256);
}

static void succ_free(struct succ_map *m)
{
	free(m->keys);
	free(m->len);
	free(m->items);
}

/* Empties the map, keeping its table. */
static void succ_reset(struct succ_map *m)
{
	memset(m->keys, 0, (m->mask + 1) * sizeof(*m->keys));
	m->used = 0;
	m->root_len = 0;
}

static size_t succ_slot(const struct succ_map *m, int64_t parent)
{
	size_t j = ((uint64_t)parent * 0x9e3779b97f4a7c15ull >> 20) & m->mask;

	while (m->keys[j] && m->keys[j] != parent)
		j = (j + 1) & m->mask;
	return j;
}

/* Doubles the table. 0 or -ENOMEM (the old table is kept). */
static int succ_grow(struct succ_map *m)
{
	struct succ_map old = *m;

	if (succ_alloc(m, (old.mask + 1) * 2)) {
		succ_free(m);
		*m = old;
		return -ENOMEM;
	}
	for (size_t i = 0; i <= old.mask; i++) {
		size_t j;

		if (!old.keys[i])
			continue;
		j = succ_slot(m, old.keys[i]);
		m->keys[j] = old.keys[i];
		m->len[j] = old.len[i];
		memcpy(m->items[j], old.items[i], sizeof(old.items[i]));
		m->used++;
	}
	succ_free(&old);
	return 0;
}

/* The successor list of `parent` (created empty), and its length. NULL without memory. */
static int64_t *succ_list(struct succ_map *m, int64_t parent, uint32_t **len)
{
	size_t j;

	if (!parent) {
		*len = &m->root_len;
		return m->root_items;
	}
	j = succ_slot(m, parent);
	if (!m->keys[j]) {
		if ((m->used + 1) * 2 > m->mask + 1) {
			if (succ_grow(m))
				return NULL;
			j = succ_slot(m, parent);
		}
		m->keys[j] = parent;
		m->len[j] = 0;
		m->used++;
	}
	*len = &m->len[j];
	return m->items[j];
}

/* Moves item i of list to the front. */
static void succ_front(int64_t *list, uint32_t i)
{
	int64_t x = list[i];

	memmove(list + 1, list, i * sizeof(*list));
	list[0] = x;
}

static void succ_push(int64_t *list, uint32_t *len, int64_t x)
{
	if (*len < DICT_SUCC)
		(*len)++;
	memmove(list + 1, list, (*len - 1) * sizeof(*list));
	list[0] = x;
}

/*
 * The call edges of a chunk (parent frame, frame), counted: version 3 stores each parent's
 * successors once, most used first, and a frame as its index among its parent's successors.
 * Open addressing on (parent, child); child 0 marks an empty slot (frame ids are positive).
 */
struct edge {
	int64_t parent, child;
	uint32_t count, index;
};

struct edge_map {
	struct edge *slots;
	size_t mask, used;
};

static size_t edge_slot(const struct edge_map *m, int64_t parent, int64_t child)
{
	uint64_t h = ((uint64_t)parent * 0x9e3779b97f4a7c15ull) ^ (uint64_t)child;
	size_t j = (h * 0xbf58476d1ce4e5b9ull >> 20) & m->mask;

	while (m->slots[j].child && (m->slots[j].parent != parent || m->slots[j].child != child))
		j = (j + 1) & m->mask;
	return j;
}

/* The edge (parent, child), added with count 0 if new. NULL without memory. */
static struct edge *edge_get(struct edge_map *m, int64_t parent, int64_t child)
{
	size_t j;

	if ((m->used + 1) * 2 > m->mask + 1) {
		struct edge_map g = { calloc((m->mask + 1) * 2, sizeof(struct edge)),
				      (m->mask + 1) * 2 - 1, m->used };

		if (!g.slots)
			return NULL;
		for (size_t i = 0; i <= m->mask; i++)
			if (m->slots[i].child)
				g.slots[edge_slot(&g, m->slots[i].parent, m->slots[i].child)] =
				    m->slots[i];
		free(m->slots);
		*m = g;
	}
	j = edge_slot(m, parent, child);
	if (!m->slots[j].child) {
		m->slots[j].parent = parent;
		m->slots[j].child = child;
		m->used++;
	}
	return &m->slots[j];
}

/* By parent, then most used first, then by id. */
static int cmp_edge(const void *a, const void *b)
{
	const struct edge *x = *(const struct edge *const *)a, *y = *(const struct edge *const *)b;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->child < y->child ? -1 : x->child > y->child;
}

/* How many root-side frames stack i of a segment starting at `from` shares with the one before. */
static uint32_t shared_frames(const struct stack_ref *order, size_t from, size_t i)
{
	const struct dict_stack *s = order[i].s, *p = i > from ? order[i - 1].s : NULL;
	uint32_t shared = 0;

	while (p && shared < s->depth && shared < p->depth &&
	       s->frames[s->depth - 1 - shared] == p->frames[p->depth - 1 - shared])
		shared++;
	return shared;
}

/* Counts (index == false) or writes (index == true) the new frames of every stack, segment by
 * segment: the edges they take, then each stack's shared count, new count and edge indices. */
static int walk_edges(const struct stack_ref *order, size_t n, struct edge_map *m, bool write,
		      struct codec_buf *lens, struct codec_buf *bodies)
{
	for (size_t from = 0; from < n; from += DICT_STACK_SEGMENT) {
		size_t to = n - from < DICT_STACK_SEGMENT ? n : from + DICT_STACK_SEGMENT;
		size_t body0 = write ? bodies->len : 0;

		for (size_t i = from; i < to; i++) {
			const struct dict_stack *s = order[i].s;
			uint32_t shared = shared_frames(order, from, i);

			if (write) {
				codec_buf_varint(bodies, shared);
				codec_buf_varint(bodies, s->depth - shared);
			}
			/* Root first. */
			for (uint32_t d = shared; d < s->depth; d++) {
				int64_t parent = d ? s->frames[s->depth - d] : 0;
				struct edge *e = edge_get(m, parent, s->frames[s->depth - 1 - d]);

				if (!e)
					return -ENOMEM;
				if (write)
					codec_buf_varint(bodies, e->index);
				else
					e->count++;
			}
		}
		if (write)
			codec_buf_varint(lens, bodies->len - body0);
	}
	return 0;
}

static int encode_stacks(const struct dict_stack *v, size_t n, struct codec_buf *cols,
			 struct codec_buf *esc)
{
	struct stack_ref *order = malloc((n ? n : 1) * sizeof(*order));
	struct edge_map m = { calloc(1024, sizeof(struct edge)), 1023, 0 };
	struct codec_buf bodies = { 0 };
	struct edge **edges = NULL;
	size_t ne = 0, nparents = 0;
	int64_t prev_id = 0, prev_parent = 0;
	int err = 0;

	if (!order || !m.slots) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].depth > DICT_MAX_DEPTH) {
			err = -EINVAL;
			goto out;
		}
		order[i].s = &v[i];
	}
	qsort(order, n, sizeof(*order), cmp_stack_root_first);
	for (size_t i = 0; i < n; i++)
		put_zz(cols, order[i].s->id, &prev_id);
	for (size_t i = 0; i < n; i++)
		codec_buf_varint(cols, order[i].s->status);
	err = walk_edges(order, n, &m, false, NULL, NULL);
	edges = err ? NULL : malloc((m.used + 1) * sizeof(*edges));
	if (!err && !edges)
		err = -ENOMEM;
	if (err)
		goto out;
	for (size_t j = 0; j <= m.mask; j++)
		if (m.slots[j].child)
			edges[ne++] = &m.slots[j];
	qsort(edges, ne, sizeof(*edges), cmp_edge);
	for (size_t i = 0; i < ne; i++)
		nparents += !i || edges[i]->parent != edges[i - 1]->parent;
	/* The edge table: each parent (ascending, as a difference from the one before; the root
	 * is 0) with its number of successors, then the successors in the escape stream as
	 * differences from their parent: the frames of a new path are interned one after the
	 * other. */
	codec_buf_varint(cols, nparents);
	for (size_t i = 0, k; i < ne; i += k) {
		for (k = 1; i + k < ne && edges[i + k]->parent == edges[i]->parent; k++)
			;
		codec_buf_varint(cols, (uint64_t)(edges[i]->parent - prev_parent));
		codec_buf_varint(cols, k);
		prev_parent = edges[i]->parent;
		for (size_t j = 0; j < k; j++) {
			edges[i + j]->index = (uint32_t)j;
			codec_buf_varint(esc, codec_zigzag(edges[i + j]->child - edges[i]->parent));
		}
	}
	/* The segments: their size, each one's length, then their bodies. */
	codec_buf_varint(cols, DICT_STACK_SEGMENT);
	err = walk_edges(order, n, &m, true, cols, &bodies);
	if (!err)
		codec_buf_bytes(cols, bodies.p, bodies.len);
	if (!err && bodies.err)
		err = bodies.err;
out:
	codec_buf_free(&bodies);
	free(edges);
	free(m.slots);
	free(order);
	return err;
}

int dict_encode(enum dict_kind kind, const void *rows, size_t n, int level, void **out, size_t *len)
{
	struct codec_buf cols = { 0 }, esc = { 0 }, blob = { 0 };
	int64_t prev = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0, p5 = 0;
	int err = 0;

	if (n > DICT_MAX_ROWS || kind >= DICT__MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int64_t id = dict_row_id(kind, dict_row(kind, rows, i));

		if (id <= 0 || (i && id <= dict_row_id(kind, dict_row(kind, rows, i - 1))))
			return -EINVAL;
	}
	switch (kind) {
	case DICT_STRING: {
		const struct dict_string *v = rows;

		for (size_t i = 0; i < n; i++)
			put_zz(&cols, v[i].id, &prev);
		for (size_t i = 0; i < n; i++) {
			if (v[i].len > DICT_MAX_STRING)
				err = -EINVAL;
			codec_buf_varint(&cols, v[i].len);
		}
		for (size_t i = 0; i < n; i++)
			codec_buf_bytes(&cols, v[i].str, v[i].len);
		break;
	}
	case DICT_FRAME: {
		const struct dict_frame *v = rows;

		for (size_t i = 0; i < n; i++)
			put_zz(&cols, v[i].id, &prev);
		for (size_t i = 0; i < n; i++)
			codec_buf_varint(&cols, (uint64_t)v[i].kind | (uint64_t)v[i].inlined << 2);
		for (size_t i = 0; i < n; i++)
			put_zz(&cols, v[i].module, &p1);
		for (size_t i = 0; i < n; i++)
			put_zz(&cols, v[i].name, &p2);
		for (size_t i = 0; i < n; i++)
			put_zz(&cols, v[i].file, &p3);
		for (size_t i = 0; i < n; i++)
			put_zz(&cols, v[i].build_id, &p4);
		for (size_t i = 0; i < n; i++)
			codec_buf_varint(&cols, v[i].line);
		for (size_t i = 0; i < n; i++)
			codec_buf_varint(&cols, v[i].offset);
		break;
	}
	case DICT_STACK:
		err = encode_stacks(rows, n, &cols, &esc);
		break;
	case DICT_PROCESS: {
		const struct dict_process *v = rows;

		for (size_t i = 0; i < n; i++)
			put_zz(&cols, v[i].id, &prev);
		for (size_t i = 0; i < n; i++)
			put_zz(&cols, v[i].pid, &p1);
		for (size_t i = 0; i < n; i++)
			codec_buf_varint(&cols, (uint64_t)v[i].uid + 1);
		for (size_t i = 0; i < n; i++)
			put_zz(&cols, v[i].proc_start, &p2);
		/* started_ns - proc_start is the boot time: the same for every process of a boot.
		 */
		for (size_t i = 0; i < n; i++)
			put_zz(&cols, v[i].started_ns - v[i].proc_start, &p3);
		for (size_t i = 0; i < n; i++)
			codec_buf_varint(&cols, codec_zigzag(v[i].seen_ns - v[i].started_ns));
		for (size_t i = 0; i < n; i++)
			put_zz(&cols, v[i].comm, &p4);
		for (size_t i = 0; i < n; i++)
			put_zz(&cols, v[i].exe, &p5);
		p5 = 0;
		for (size_t i = 0; i < n; i++)
			put_zz(&cols, v[i].cmdline, &p5);
		break;
	}
	case DICT_THREAD: {
		const struct dict_thread *v = rows;

		for (size_t i = 0; i < n; i++)
			put_zz(&cols, v[i].id, &prev);
		for (size_t i = 0; i < n; i++)
			put_zz(&cols, v[i].process, &p1);
		for (size_t i = 0; i < n; i++)
			put_zz(&cols, v[i].tid, &p2);
		for (size_t i = 0; i < n; i++)
			put_zz(&cols, v[i].comm, &p3);
		break;
	}
	default:
		err = -EINVAL;
	}
	if (!err)
		err = cols.err ? cols.err : esc.err;
	if (!err) {
		codec_buf_varint(&blob, kind == DICT_STACK ? DICT_STACK_VERSION : DICT_VERSION);
		codec_buf_varint(&blob, kind);
		codec_buf_varint(&blob, n);
		codec_buf_zstd(&blob, cols.p, cols.len, level);
		/* Stacks keep the frame ids of escapes apart: another distribution entirely. */
		if (kind == DICT_STACK)
			codec_buf_zstd(&blob, esc.p, esc.len, level);
		err = blob.err;
	}
	codec_buf_free(&cols);
	codec_buf_free(&esc);
	if (err) {
		codec_buf_free(&blob);
		return err;
	}
	*out = blob.p;
	*len = blob.len;
	return 0;
}

/* ---- Decoding. ---- */

struct rd {
	const uint8_t *p, *end;
	int bad;
};

static uint64_t rd_u(struct rd *r)
{
	uint64_t v = 0;
	size_t used;

	if (r->bad)
		return 0;
	used = codec_get_varint(r->p, r->end, &v);
	if (!used) {
		r->bad = 1;
		return 0;
	}
	r->p += used;
	return v;
}

static int64_t rd_zz(struct rd *r, int64_t *prev)
{
	*prev += codec_unzigzag(rd_u(r));
	return *prev;
}

/* Reads n ids: in [first, last], and increasing unless `any_order`. */
static int read_ids(struct rd *r, int64_t *ids, size_t n, int64_t first, int64_t last,
		    int any_order)
{
	int64_t prev = 0;

	for (size_t i = 0; i < n; i++) {
		ids[i] = rd_zz(r, &prev);
		if (ids[i] < first || ids[i] > last || (!any_order && i && ids[i] <= ids[i - 1]))
			return -EBADMSG;
	}
	return r->bad ? -EBADMSG : 0;
}

/* ---- Stack chunks, segment by segment. ---- */

struct stack_segment {
	struct rd body, esc; /* esc: version 1 only */
	bool done;
};

/* A parent's successors in the edge table (version 3). */
struct parent_slot {
	int64_t key; /* parent + 1 (the root is 0); 0 marks an empty slot */
	uint32_t off, k;
};

struct dict_stacks {
	int64_t first, last;
	uint64_t version;
	size_t n, seg_rows, nseg;
	uint8_t *raw, *eraw;
	size_t raw_len, eraw_len;
	int64_t *ids; /* root-first order, as stored */
	uint8_t *status;
	struct stack_segment *segs;
	/* id -> row, built at the first lookup: open addressing, key 0 for an empty slot */
	int64_t *hkeys;
	uint32_t *hrows;
	size_t hmask;
	/* version 3: the edge table, successors of every parent in one array; parents indexed by
	 * parent - pmin (pdirect), else hashed */
	struct parent_slot *parents;
	size_t pmask;
	bool pdirect;
	int64_t pmin;
	int64_t *succ_ids;
	size_t nsucc;
	/* version 1: the move-to-front model */
	struct succ_map succ;
};

void dict_stacks_free(struct dict_stacks *c)
{
	if (!c)
		return;
	free(c->raw);
	free(c->eraw);
	free(c->ids);
	free(c->status);
	free(c->segs);
	free(c->hkeys);
	free(c->hrows);
	free(c->parents);
	free(c->succ_ids);
	succ_free(&c->succ);
	free(c);
}

static size_t parent_slot_of(const struct dict_stacks *c, int64_t key)
{
	size_t j = ((uint64_t)key * 0x9e3779b97f4a7c15ull >> 20) & c->pmask;

	while (c->parents[j].key && c->parents[j].key != key)
		j = (j + 1) & c->pmask;
	return j;
}

/* The successors of `parent` in the edge table, or NULL when it has none. */
static const struct parent_slot *parent_list(const struct dict_stacks *c, int64_t parent)
{
	const struct parent_slot *p;

	if (c->pdirect) {
		if (parent < c->pmin || (uint64_t)(parent - c->pmin) > c->pmask)
			return NULL;
		p = &c->parents[parent - c->pmin];
	} else {
		p = &c->parents[parent_slot_of(c, parent + 1)];
	}
	return p->key ? p : NULL;
}

/*
 * Reads the edge table (version 3): parents ascending, each with its successors, which come from
 * the escape stream and must all be used up by it. Parents are frame ids of one database, dense
 * enough to index an array by (the decoder's lookup per frame is then a load, not a probe); a
 * table spread too thin for that is hashed.
 */
static int read_edges(struct dict_stacks *c, struct rd *r)
{
	struct rd esc = { c->eraw, c->eraw + c->eraw_len, 0 }, scan;
	uint64_t np = rd_u(r), span = 0;
	int64_t parent = 0;
	size_t cap = 16;

	/* Every parent takes at least two bytes of the table, every successor one of the
	 * escapes: the sizes are bounded by the input before anything is allocated. */
	if (r->bad || np > (uint64_t)(r->end - r->p) / 2)
		return -EBADMSG;
	/* The first parent and the span of them all, from the deltas. */
	scan = *r;
	for (uint64_t i = 0; i < np && !scan.bad; i++) {
		uint64_t delta = rd_u(&scan);

		rd_u(&scan);
		if (i && delta > UINT64_MAX / 2 - span)
			return -EBADMSG;
		if (i)
			span += delta;
		else if (delta > INT64_MAX / 2)
			return -EBADMSG;
		else
			c->pmin = (int64_t)delta;
	}
	if (scan.bad)
		return -EBADMSG;
	c->pdirect = np && span < 16 * np + 65536;
	if (c->pdirect)
		cap = (size_t)span + 1;
	else
		while (cap < 2 * np)
			cap *= 2;
	c->parents = calloc(cap, sizeof(*c->parents));
	c->succ_ids = malloc((c->eraw_len + 1) * sizeof(*c->succ_ids));
	if (!c->parents || !c->succ_ids)
		return -ENOMEM;
	c->pmask = cap - 1; /* with pdirect: the last index */
	for (uint64_t i = 0; i < np; i++) {
		uint64_t delta = rd_u(r), k = rd_u(r);
		size_t j;

		/* Ascending (the first may be the root, 0), each with successors. */
		if (r->bad || (i && !delta) || delta > (uint64_t)INT64_MAX - (uint64_t)parent - 1 ||
		    !k || k > c->eraw_len - c->nsucc)
			return -EBADMSG;
		parent += (int64_t)delta;
		j = c->pdirect ? (size_t)(parent - c->pmin) : parent_slot_of(c, parent + 1);
		c->parents[j] = (struct parent_slot){ parent + 1, (uint32_t)c->nsucc, (uint32_t)k };
		for (uint64_t e = 0; e < k; e++) {
			int64_t d = codec_unzigzag(rd_u(&esc));

			/* Frame ids are positive: parent + d must be too, without overflow. */
			if (esc.bad || (d > 0 && parent > INT64_MAX - d) || parent + d <= 0)
				return -EBADMSG;
			c->succ_ids[c->nsucc++] = parent + d;
		}
	}
	return esc.p == esc.end ? 0 : -EBADMSG;
}

/*
 * Cuts what follows the status column into segments. Version 3: the edge table, the rows per
 * segment, each segment's length, then the bodies. Version 1: one segment of everything.
 */
static int split_segments(struct dict_stacks *c, struct rd *r)
{
	const uint8_t *body;
	uint64_t total = 0;
	struct rd table;
	int err;

	if (c->version == 1) {
		c->seg_rows = c->n ? c->n : 1;
	} else {
		uint64_t rows;

		err = read_edges(c, r);
		if (err)
			return err;
		rows = rd_u(r);
		if (r->bad || !rows || rows > DICT_MAX_ROWS)
			return -EBADMSG;
		c->seg_rows = (size_t)rows;
	}
	c->nseg = (c->n + c->seg_rows - 1) / c->seg_rows;
	c->segs = calloc(c->nseg + 1, sizeof(*c->segs));
	if (!c->segs)
		return -ENOMEM;
	if (c->version == 1) {
		c->segs[0].body = *r;
		c->segs[0].esc = (struct rd){ c->eraw, c->eraw + c->eraw_len, 0 };
		return 0;
	}
	/* Two passes over the lengths: they must add up to the bodies before any is used. */
	table = *r;
	for (size_t i = 0; i < c->nseg && !r->bad; i++) {
		uint64_t len = rd_u(r);

		if (len > c->raw_len)
			return -EBADMSG;
		total += len;
	}
	if (r->bad || total != (uint64_t)(r->end - r->p))
		return -EBADMSG;
	body = r->p;
	for (size_t i = 0; i < c->nseg; i++) {
		size_t len = (size_t)rd_u(&table);

		c->segs[i].body = (struct rd){ body, body + len, 0 };
		body += len;
	}
	return 0;
}

int dict_stacks_open(const void *data, size_t len, int64_t first, int64_t last, size_t n,
		     struct dict_stacks **out)
{
	const uint8_t *p = data, *end = p + len;
	struct dict_stacks *c;
	uint64_t version;
	struct rd r;
	int err;

	if (n > DICT_MAX_ROWS || first <= 0 || last < first)
		return -EBADMSG;
	r = (struct rd){ p, end, 0 };
	version = rd_u(&r);
	if ((version != 1 && version != DICT_STACK_VERSION) || rd_u(&r) != DICT_STACK ||
	    rd_u(&r) != n || r.bad)
		return -EBADMSG;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->first = first;
	c->last = last;
	c->n = n;
	c->version = version;
	p = r.p;
	err = version == 1 ? succ_init(&c->succ) : 0;
	/* Bounds on the decompressed sizes, from what the encoder can write for n stacks of at
	 * most DICT_MAX_DEPTH frames: per stack its id, status, shared and new counts; per frame
	 * its index and at most one parent of the edge table (varints); per segment its length.
	 * (A bound of 96 bytes a stack refused a flush of one deep new stack.) Escaped frame ids:
	 * at most one per frame of the chunk, each a varint. */
	if (!err)
		err = codec_read_zstd(&p, end, n * (48 + (size_t)DICT_MAX_DEPTH * 20) + 64, &c->raw,
				      &c->raw_len);
	if (!err)
		err = codec_read_zstd(&p, end, (size_t)n * DICT_MAX_DEPTH * 10 + 64, &c->eraw,
				      &c->eraw_len);
	if (err)
		goto out;
	err = -EBADMSG;
	if (p != end || (n && !c->raw))
		goto out;
	c->ids = malloc((n + 1) * sizeof(*c->ids));
	c->status = malloc(n + 1);
	if (!c->ids || !c->status) {
		err = -ENOMEM;
		goto out;
	}
	r = (struct rd){ c->raw, c->raw + c->raw_len, 0 };
	err = read_ids(&r, c->ids, n, first, last, 1);
	if (err)
		goto out;
	for (size_t i = 0; i < n; i++) {
		uint64_t st = rd_u(&r);

		if (st > 255)
			r.bad = 1;
		c->status[i] = (uint8_t)st;
	}
	err = r.bad ? -EBADMSG : split_segments(c, &r);
out:
	if (err) {
		dict_stacks_free(c);
		return err;
	}
	*out = c;
	return 0;
}

bool dict_stacks_covers(const struct dict_stacks *c, int64_t id)
{
	return id >= c->first && id <= c->last;
}

static size_t stacks_slot(const struct dict_stacks *c, int64_t id)
{
	size_t j = ((uint64_t)id * 0x9e3779b97f4a7c15ull >> 20) & c->hmask;

	while (c->hkeys[j] && c->hkeys[j] != id)
		j = (j + 1) & c->hmask;
	return j;
}

/* The row of `id` in the chunk, or -1. */
static ssize_t stacks_row_of(struct dict_stacks *c, int64_t id)
{
	size_t j;

	if (!c->hkeys) {
		size_t cap = 16;

		while (cap < 2 * c->n)
			cap *= 2;
		c->hkeys = calloc(cap, sizeof(*c->hkeys));
		c->hrows = malloc(cap * sizeof(*c->hrows));
		if (!c->hkeys || !c->hrows) {
			free(c->hkeys);
			free(c->hrows);
			c->hkeys = NULL;
			c->hrows = NULL;
			return -ENOMEM;
		}
		c->hmask = cap - 1;
		for (size_t i = 0; i < c->n; i++) {
			/* A duplicate id keeps its first row. */
			j = stacks_slot(c, c->ids[i]);
			if (!c->hkeys[j]) {
				c->hkeys[j] = c->ids[i];
				c->hrows[j] = (uint32_t)i;
			}
		}
	}
	j = stacks_slot(c, id);
	return c->hkeys[j] ? (ssize_t)c->hrows[j] : -ENOENT;
}

/* Decodes segment `seg` (once): fn for each of its stacks. */
/* The next frame after `parent` (0: the root): its index among the parent's successors in the
 * edge table (version 3), or its rank in the move-to-front model, else an escape (version 1).
 * 0, -EBADMSG or -ENOMEM. */
static int next_frame(struct dict_stacks *c, struct rd *r, struct rd *esc, int64_t parent,
		      int64_t *f)
{
	uint64_t code = rd_u(r);
	uint32_t *len;
	int64_t *list;

	if (c->version != 1) {
		const struct parent_slot *p = parent_list(c, parent);

		if (r->bad || !p || code >= p->k)
			return -EBADMSG;
		*f = c->succ_ids[p->off + code];
		return 0;
	}
	list = succ_list(&c->succ, parent, &len);
	if (!list)
		return -ENOMEM;
	if (code < *len) {
		*f = list[code];
		succ_front(list, (uint32_t)code);
	} else if (code == DICT_SUCC) {
		int64_t d = codec_unzigzag(rd_u(esc));

		/* Frame ids are positive: parent + d must be too, without overflow. */
		if (esc->bad || (d > 0 && parent > INT64_MAX - d) || parent + d <= 0)
			return -EBADMSG;
		*f = parent + d;
		succ_push(list, len, *f);
	} else {
		return -EBADMSG;
	}
	return r->bad ? -EBADMSG : 0;
}

/* Decodes segment `seg` (once): fn for each of its stacks. */
static int decode_segment(struct dict_stacks *c, size_t seg, dict_row_fn fn, void *ctx)
{
	struct stack_segment *sg = &c->segs[seg];
	int64_t root_first[DICT_MAX_DEPTH], leaf_first[DICT_MAX_DEPTH];
	size_t to = seg * c->seg_rows + c->seg_rows;
	struct rd r = sg->body, esc = sg->esc;
	uint32_t depth = 0, prev_depth = 0;
	int err = 0;

	if (sg->done)
		return 0;
	if (c->version == 1)
		succ_reset(&c->succ);
	if (to > c->n)
		to = c->n;
	for (size_t i = seg * c->seg_rows; i < to && !err; i++) {
		struct dict_stack s = { .id = c->ids[i], .status = c->status[i] };
		uint64_t shared = rd_u(&r), nnew = rd_u(&r);

		/* Shares at most the whole previous stack; at most DICT_MAX_DEPTH in all. */
		if (r.bad || shared > prev_depth || nnew > DICT_MAX_DEPTH - shared) {
			err = -EBADMSG;
			break;
		}
		depth = (uint32_t)shared;
		for (uint64_t k = 0; k < nnew && !err; k++) {
			err = next_frame(c, &r, &esc, depth ? root_first[depth - 1] : 0,
					 &root_first[depth]);
			depth++;
		}
		if (err)
			break;
		for (uint32_t k = 0; k < depth; k++)
			leaf_first[k] = root_first[depth - 1 - k];
		s.depth = depth;
		s.frames = leaf_first;
		prev_depth = depth;
		err = fn(DICT_STACK, &s, ctx);
	}
	if (!err && (r.p != r.end || esc.p != esc.end))
		err = -EBADMSG;
	if (!err)
		sg->done = true;
	return err;
}

int dict_stacks_decode_of(struct dict_stacks *c, int64_t id, dict_row_fn fn, void *ctx)
{
	ssize_t row;

	if (!dict_stacks_covers(c, id))
		return -ENOENT;
	row = stacks_row_of(c, id);
	if (row < 0)
		return (int)row;
	return decode_segment(c, (size_t)row / c->seg_rows, fn, ctx);
}

int dict_stacks_decode_all(struct dict_stacks *c, dict_row_fn fn, void *ctx)
{
	int err = 0;

	for (size_t i = 0; i < c->nseg && !err; i++)
		err = decode_segment(c, i, fn, ctx);
	return err;
}

bool dict_stacks_done(const struct dict_stacks *c)
{
	for (size_t i = 0; i < c->nseg; i++)
		if (!c->segs[i].done)
			return false;
	return true;
}

size_t dict_stacks_bytes(const struct dict_stacks *c)
{
	return sizeof(*c) + c->raw_len + c->eraw_len + c->n * (sizeof(*c->ids) + 1) +
	       c->nseg * sizeof(*c->segs) + c->nsucc * sizeof(*c->succ_ids) +
	       (c->parents ? (c->pmask + 1) * sizeof(*c->parents) : 0) +
	       (c->hkeys ? (c->hmask + 1) * (sizeof(*c->hkeys) + sizeof(*c->hrows)) : 0) +
	       (c->succ.keys ? (c->succ.mask + 1) * (sizeof(*c->succ.keys) + sizeof(*c->succ.len) +
						     sizeof(*c->succ.items))
			     : 0);
}

int dict_decode(enum dict_kind kind, const void *data, size_t len, int64_t first, int64_t last,
		size_t n, dict_row_fn fn, void *ctx)
{
	const uint8_t *p = data, *end = p + len;
	uint8_t *raw = NULL;
	int64_t *ids = NULL, p1 = 0, p2 = 0, p3 = 0, p4 = 0, p5 = 0;
	size_t raw_len;
	struct rd r;
	int err = -EBADMSG;

	if (n > DICT_MAX_ROWS || first <= 0 || last < first || kind >= DICT__MAX)
		return -EBADMSG;
	if (kind == DICT_STACK) {
		struct dict_stacks *c = NULL;

		err = dict_stacks_open(data, len, first, last, n, &c);
		if (!err)
			err = dict_stacks_decode_all(c, fn, ctx);
		dict_stacks_free(c);
		return err;
	}
	r = (struct rd){ p, end, 0 };
	if (rd_u(&r) != DICT_VERSION || rd_u(&r) != (uint64_t)kind || rd_u(&r) != n || r.bad)
		return -EBADMSG;
	p = r.p;
	/* A generous bound on the decompressed size: strings hold bytes, others varints. */
	err = codec_read_zstd(&p, end, n * 96 + (kind == DICT_STRING ? 64u << 20 : 0) + 64, &raw,
			      &raw_len);
	if (err)
		return err;
	err = -EBADMSG;
	if (p != end || (n && !raw))
		goto out;
	r = (struct rd){ raw, raw + raw_len, 0 };
	ids = malloc((n + 1) * sizeof(*ids));
	if (!ids) {
		err = -ENOMEM;
		goto out;
	}
	err = read_ids(&r, ids, n, first, last, 0);
	if (err)
		goto out;
	switch (kind) {
	case DICT_STRING: {
		uint32_t *lens = malloc((n + 1) * sizeof(*lens));

		if (!lens) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			uint64_t l = rd_u(&r);

			if (l > DICT_MAX_STRING)
				r.bad = 1;
			lens[i] = (uint32_t)l;
		}
		for (size_t i = 0; i < n && !r.bad && !err; i++) {
			struct dict_string s = { .id = ids[i], .len = lens[i] };

			if (lens[i] > (size_t)(r.end - r.p)) {
				r.bad = 1;
				break;
			}
			s.str = (const char *)r.p;
			r.p += lens[i];
			err = fn(kind, &s, ctx);
		}
		free(lens);
		break;
	}
	case DICT_FRAME: {
		struct dict_frame *v = calloc(n + 1, sizeof(*v));

		if (!v) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			uint64_t k = rd_u(&r);

			v[i].id = ids[i];
			v[i].kind = k & 3;
			v[i].inlined = (k >> 2) & 1;
			if (k > 7 || (k & 3) == 3)
				r.bad = 1;
		}
		for (size_t i = 0; i < n; i++)
			v[i].module = rd_zz(&r, &p1);
		for (size_t i = 0; i < n; i++)
			v[i].name = rd_zz(&r, &p2);
		for (size_t i = 0; i < n; i++)
			v[i].file = rd_zz(&r, &p3);
		for (size_t i = 0; i < n; i++)
			v[i].build_id = rd_zz(&r, &p4);
		for (size_t i = 0; i < n; i++) {
			uint64_t l = rd_u(&r);

			v[i].line = l > UINT32_MAX ? (r.bad = 1, 0) : (uint32_t)l;
		}
		for (size_t i = 0; i < n; i++)
			v[i].offset = rd_u(&r);
		for (size_t i = 0; i < n && !r.bad && !err; i++) {
			if (v[i].module < 0 || v[i].name < 0 || v[i].file < 0 || v[i].build_id < 0)
				r.bad = 1;
			else
				err = fn(kind, &v[i], ctx);
		}
		free(v);
		break;
	}
	case DICT_PROCESS: {
		struct dict_process *v = calloc(n + 1, sizeof(*v));

		if (!v) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			v[i].id = ids[i];
			v[i].pid = (uint32_t)rd_zz(&r, &p1);
		}
		for (size_t i = 0; i < n; i++) {
			uint64_t u = rd_u(&r);

			v[i].uid = u ? (uint32_t)(u - 1) : 0;
			if (!u || u > (uint64_t)UINT32_MAX + 1)
				r.bad = 1;
		}
		for (size_t i = 0; i < n; i++)
			v[i].proc_start = rd_zz(&r, &p2);
		for (size_t i = 0; i < n; i++)
			v[i].started_ns = v[i].proc_start + rd_zz(&r, &p3);
		for (size_t i = 0; i < n; i++)
			v[i].seen_ns = v[i].started_ns + codec_unzigzag(rd_u(&r));
		for (size_t i = 0; i < n; i++)
			v[i].comm = rd_zz(&r, &p4);
		for (size_t i = 0; i < n; i++)
			v[i].exe = rd_zz(&r, &p5);
		p5 = 0;
		for (size_t i = 0; i < n; i++)
			v[i].cmdline = rd_zz(&r, &p5);
		for (size_t i = 0; i < n && !r.bad && !err; i++) {
			if (v[i].comm < 0 || v[i].exe < 0 || v[i].cmdline < 0)
				r.bad = 1;
			else
				err = fn(kind, &v[i], ctx);
		}
		free(v);
		break;
	}
	case DICT_THREAD: {
		struct dict_thread *v = calloc(n + 1, sizeof(*v));

		if (!v) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			v[i].id = ids[i];
			v[i].process = rd_zz(&r, &p1);
		}
		for (size_t i = 0; i < n; i++)
			v[i].tid = (uint32_t)rd_zz(&r, &p2);
		for (size_t i = 0; i < n; i++)
			v[i].comm = rd_zz(&r, &p3);
		for (size_t i = 0; i < n && !r.bad && !err; i++) {
			if (v[i].process < 0 || v[i].comm < 0)
				r.bad = 1;
			else
				err = fn(kind, &v[i], ctx);
		}
		free(v);
		break;
	}
	default:
		break;
	}
	if (!err && (r.bad || r.p != r.end))
		err = -EBADMSG;
out:
	free(ids);
	free(raw);
	return err;
}

/* ---- SQL. ---- */

int dict_write_chunk(struct storage *db, enum dict_kind kind, const void *rows, size_t n,
		     int64_t first, int64_t last, int tier, int level)
{
	sqlite3_stmt *st = NULL;
	char sql[128];
	void *data;
	size_t len;
	int err;

	if (!n || first > dict_row_id(kind, rows) ||
	    last < dict_row_id(kind, dict_row(kind, rows, n - 1)))
		return -EINVAL;
	err = dict_encode(kind, rows, n, level, &data, &len);
	if (err)
		return err;
	snprintf(sql, sizeof(sql), "INSERT INTO %s(id, last, n, tier, data) VALUES(?, ?, ?, ?, ?)",
		 dict_table[kind]);
	err = storage_errno(sqlite3_prepare_v2(db->db, sql, -1, &st, NULL));
	if (err) {
		free(data);
		return err;
	}
	sqlite3_bind_int64(st, 1, first);
	sqlite3_bind_int64(st, 2, last);
	sqlite3_bind_int64(st, 3, (int64_t)n);
	sqlite3_bind_int(st, 4, tier);
	sqlite3_bind_blob(st, 5, data, (int)len, free);
	err = storage_step_done(st);
	sqlite3_finalize(st);
	return err;
}

/* A chunk row (id, last, n, data) as read by a statement; -EBADMSG when it cannot be one. */
struct chunk_row {
	int64_t first, last;
	size_t n, len;
	const void *data;
};

static int read_chunk_row(sqlite3_stmt *st, struct chunk_row *c)
{
	int64_t n = sqlite3_column_int64(st, 2);

	c->first = sqlite3_column_int64(st, 0);
	c->last = sqlite3_column_int64(st, 1);
	c->data = sqlite3_column_blob(st, 3);
	c->len = (size_t)sqlite3_column_bytes(st, 3);
	c->n = (size_t)n;
	return n < 0 || n > DICT_MAX_ROWS || (n && !c->data) || n > c->last - c->first + 1
		   ? -EBADMSG
		   : 0;
}

static int decode_row(enum dict_kind kind, sqlite3_stmt *st, dict_row_fn fn, void *ctx)
{
	struct chunk_row c;
	int err = read_chunk_row(st, &c);

	return err ? err : dict_decode(kind, c.data, c.len, c.first, c.last, c.n, fn, ctx);
}

int dict_load_all(struct storage *db, enum dict_kind kind, dict_row_fn fn, void *ctx)
{
	sqlite3_stmt *st = NULL;
	int64_t prev_last = 0;
	char sql[128];
	int rc, err;

	snprintf(sql, sizeof(sql), "SELECT id, last, n, data FROM %s ORDER BY id",
		 dict_table[kind]);
	err = storage_errno(sqlite3_prepare_v2(db->db, sql, -1, &st, NULL));
	if (err)
		return err;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* Chunks must not overlap. */
		if (sqlite3_column_int64(st, 0) <= prev_last)
			err = -EBADMSG;
		else
			err = decode_row(kind, st, fn, ctx);
		prev_last = sqlite3_column_int64(st, 1);
	}
	if (!err && rc != SQLITE_DONE)
		err = storage_errno(rc);
	sqlite3_finalize(st);
	return err;
}

/* The row of the chunk of `kind` that may hold `id` (the last one starting at or before it) in
 * *stmt, prepared on first use. SQLITE_ROW, SQLITE_DONE or -errno; the caller resets *stmt. */
static int chunk_row_of(struct storage *db, enum dict_kind kind, int64_t id, void **stmt)
{
	sqlite3_stmt *st = *stmt;
	char sql[128];
	int err;

	if (!st) {
		snprintf(sql, sizeof(sql),
			 "SELECT id, last, n, data FROM %s WHERE id <= ? ORDER BY id DESC LIMIT 1",
			 dict_table[kind]);
		err = storage_prepare(db, sql, &st);
		if (err)
			return err;
		*stmt = st;
	}
	sqlite3_bind_int64(st, 1, id);
	return sqlite3_step(st);
}

int dict_load_chunk_of(struct storage *db, enum dict_kind kind, int64_t id, void **stmt,
		       dict_row_fn fn, void *ctx)
{
	int rc = chunk_row_of(db, kind, id, stmt), err;
	sqlite3_stmt *st = *stmt;

	if (rc < 0)
		return rc;
	if (rc == SQLITE_ROW)
		err = sqlite3_column_int64(st, 1) >= id ? decode_row(kind, st, fn, ctx) : -ENOENT;
	else
		err = rc == SQLITE_DONE ? -ENOENT : storage_errno(rc);
	sqlite3_reset(st);
	return err;
}

int dict_stacks_load(struct storage *db, int64_t id, void **stmt, struct dict_stacks **out)
{
	int rc = chunk_row_of(db, DICT_STACK, id, stmt), err;
	sqlite3_stmt *st = *stmt;

	if (rc < 0)
		return rc;
	if (rc == SQLITE_ROW && sqlite3_column_int64(st, 1) >= id) {
		struct chunk_row c;

		err = read_chunk_row(st, &c);
		if (!err)
			err = dict_stacks_open(c.data, c.len, c.first, c.last, c.n, out);
	} else {
		err = rc == SQLITE_ROW || rc == SQLITE_DONE ? -ENOENT : storage_errno(rc);
	}
	sqlite3_reset(st);
	return err;
}
