// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The flame tree is built without hashing: stacks sorted root first put every shared path next
 * to each other, so one pass that keeps the current path and the previous stack's common prefix
 * creates each node once, in pre-order (a parent before its children). Totals are then summed
 * from the last node to the first, and each node's children re-sorted by total. The layout walks
 * the zoomed subtree breadth first, so rectangles come out sorted by row and column.
 */
#include "tui/flame.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct flame_tree {
	struct flame_node *nodes;
	uint32_t n, cap;
	uint32_t max_depth;
};

static int cmp_stack(const void *a, const void *b)
{
	const struct flame_stack *x = *(const struct flame_stack *const *)a;
	const struct flame_stack *y = *(const struct flame_stack *const *)b;
	uint32_t n = x->depth < y->depth ? x->depth : y->depth;

	for (uint32_t i = 0; i < n; i++)
		if (x->funcs[i] != y->funcs[i])
			return x->funcs[i] < y->funcs[i] ? -1 : 1;
	return x->depth < y->depth ? -1 : x->depth > y->depth;
}

static uint32_t add_node(struct flame_tree *t, uint32_t func, uint32_t parent, uint32_t depth)
{
	struct flame_node *nd;

	if (t->n == t->cap) {
		uint32_t ncap = t->cap ? (t->cap > UINT32_MAX / 2 ? UINT32_MAX - 1 : t->cap * 2)
				       : 64;
		struct flame_node *nv;

		if (ncap <= t->cap) {
			errno = EOVERFLOW;
			return FLAME_NONE;
		}
		nv = realloc(t->nodes, (size_t)ncap * sizeof(*nv));
		if (!nv) {
			errno = ENOMEM;
			return FLAME_NONE;
		}
		t->nodes = nv;
		t->cap = ncap;
	}
	nd = &t->nodes[t->n];
	nd->func = func;
	nd->parent = parent;
	nd->first_child = FLAME_NONE;
	nd->next_sibling = FLAME_NONE;
	nd->depth = depth;
	nd->total = 0;
	nd->self = 0;
	if (depth > t->max_depth)
		t->max_depth = depth;
	return t->n++;
}

static int cmp_sibling(const void *a, const void *b, void *ctx)
{
	const struct flame_node *nodes = ctx;
	const struct flame_node *x = &nodes[*(const uint32_t *)a],
				*y = &nodes[*(const uint32_t *)b];

	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return x->func < y->func ? -1 : x->func > y->func;
}

/* Re-links every node's children by total descending (then function id). */
static int sort_children(struct flame_tree *t)
{
	uint32_t *tmp = NULL;
	size_t cap = 0;

	for (uint32_t i = 0; i < t->n; i++) {
		size_t k = 0;

		if (t->nodes[i].first_child == FLAME_NONE)
			continue;
		for (uint32_t c = t->nodes[i].first_child; c != FLAME_NONE;
		     c = t->nodes[c].next_sibling) {
			if (k == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				uint32_t *nt = realloc(tmp, ncap * sizeof(*nt));

				if (!nt) {
					free(tmp);
					return -ENOMEM;
				}
				tmp = nt;
				cap = ncap;
			}
			tmp[k++] = c;
		}
		if (k > 1)
			qsort_r(tmp, k, sizeof(*tmp), cmp_sibling, t->nodes);
		t->nodes[i].first_child = tmp[0];
		for (size_t j = 0; j < k; j++)
			t->nodes[tmp[j]].next_sibling = j + 1 < k ? tmp[j + 1] : FLAME_NONE;
	}
	free(tmp);
	return 0;
}

struct flame_tree *flame_tree__new(const struct flame_stack *stacks, size_t n)
{
	const struct flame_stack **sorted = NULL, *prev = NULL;
	struct flame_tree *t = calloc(1, sizeof(*t));
	uint32_t *path = NULL, *last_child = NULL, max_depth = 0;
	int err = -ENOMEM;

	if (!t)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (stacks[i].depth > max_depth)
			max_depth = stacks[i].depth;
	sorted = malloc((n + 1) * sizeof(*sorted));
	/* path[d]: the node at depth d of the current stack; last_child[d]: the last child created
	 * under path[d]. */
	path = malloc(((size_t)max_depth + 2) * sizeof(*path));
	last_child = malloc(((size_t)max_depth + 2) * sizeof(*last_child));
	if (!sorted || !path || !last_child)
		goto fail;
	for (size_t i = 0; i < n; i++)
		sorted[i] = &stacks[i];
	qsort(sorted, n, sizeof(*sorted), cmp_stack);

	if (add_node(t, FLAME_NONE, FLAME_NONE, 0) == FLAME_NONE)
		goto fail_errno;
	path[0] = FLAME_ROOT;
	last_child[0] = FLAME_NONE;
	for (size_t i = 0; i < n; i++) {
		const struct flame_stack *s = sorted[i];
		uint32_t lcp = 0, d;

		if (prev) {
			uint32_t m = prev->depth < s->depth ? prev->depth : s->depth;

			while (lcp < m && prev->funcs[lcp] == s->funcs[lcp])
				lcp++;
		}
		/* path[0..lcp] is shared with the previous stack; a new child of path[lcp] follows
		 * last_child[lcp], which the previous stack left there. */
		for (d = lcp; d < s->depth; d++) {
			uint32_t parent = path[d], node = add_node(t, s->funcs[d], parent, d + 1);

			if (node == FLAME_NONE)
				goto fail_errno;
			if (last_child[d] == FLAME_NONE)
				t->nodes[parent].first_child = node;
			else
				t->nodes[last_child[d]].next_sibling = node;
			last_child[d] = node;
			path[d + 1] = node;
			last_child[d + 1] = FLAME_NONE;
		}
		t->nodes[path[s->depth]].self += s->count;
		prev = s;
	}
	/* Children come after their parents: one backward pass sums the totals. */
	for (uint32_t i = t->n; i-- > 0;) {
		t->nodes[i].total += t->nodes[i].self;
		if (i)
			t->nodes[t->nodes[i].parent].total += t->nodes[i].total;
	}
	err = sort_children(t);
	if (err)
		goto fail;
	t->max_depth = 0;
	for (uint32_t i = 0; i < t->n; i++)
		if (t->nodes[i].depth > t->max_depth)
			t->max_depth = t->nodes[i].depth;
	free(sorted);
	free(path);
	free(last_child);
	return t;
fail_errno:
	err = -errno;
fail:
	free(sorted);
	free(path);
	free(last_child);
	flame_tree__free(t);
	errno = -err;
	return NULL;
}

uint32_t flame_tree__count(const struct flame_tree *t)
{
	return t->n;
}

const struct flame_node *flame_tree__node(const struct flame_tree *t, uint32_t idx)
{
	return &t->nodes[idx];
}

uint32_t flame_tree__max_depth(const struct flame_tree *t)
{
	return t->max_depth;
}

uint32_t flame_tree__child(const struct flame_tree *t, uint32_t parent, uint32_t func)
{
	if (parent >= t->n)
		return FLAME_NONE;
	for (uint32_t c = t->nodes[parent].first_child; c != FLAME_NONE;
	     c = t->nodes[c].next_sibling)
		if (t->nodes[c].func == func)
			return c;
	return FLAME_NONE;
}

void flame_tree__free(struct flame_tree *t)
{
	if (!t)
		return;
	free(t->nodes);
	free(t);
}

static int push_rect(struct flame_rects *r, uint32_t node, uint32_t depth, int x, int w)
{
	if (r->n == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 256;
		struct flame_rect *nv = realloc(r->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		r->v = nv;
		r->cap = ncap;
	}
	r->v[r->n++] = (struct flame_rect){ .node = node, .depth = depth, .x = x, .w = w };
	return 0;
}

/* Cell of a sample offset within the zoomed node: floor(off * width / total), without overflow. */
static int cell_of(uint64_t off, int width, uint64_t total)
{
	return (int)((unsigned __int128)off * (unsigned)width / total);
}

int flame_layout(const struct flame_tree *t, uint32_t zoom, int width, struct flame_rects *out)
{
	const struct flame_node *z;
	uint64_t *offset = NULL; /* per rectangle of the zoomed subtree: its first sample */
	size_t head, cap = 0, first;
	uint32_t chain_len = 0;
	int err = 0;

	out->n = 0;
	if (width < 1 || zoom >= t->n)
		return -EINVAL;
	z = &t->nodes[zoom];
	/* The ancestors first, root at depth 0, then the zoomed node itself: full width. */
	for (uint32_t a = zoom; a != FLAME_NONE; a = t->nodes[a].parent)
		chain_len++;
	for (uint32_t i = 0; i < chain_len; i++) {
		uint32_t a = zoom;

		for (uint32_t k = 0; k < chain_len - 1 - i; k++)
			a = t->nodes[a].parent;
		err = push_rect(out, a, t->nodes[a].depth, 0, width);
		if (err)
			return err;
	}
	if (!z->total)
		return 0;
	/* Breadth first below the zoomed node: each row is produced in column order. */
	first = out->n - 1;
	cap = 256;
	offset = malloc(cap * sizeof(*offset));
	if (!offset)
		return -ENOMEM;
	offset[0] = 0;
	for (head = first; head < out->n; head++) {
		const struct flame_rect parent = out->v[head];
		uint64_t off = offset[head - first];

		for (uint32_t c = t->nodes[parent.node].first_child; c != FLAME_NONE;
		     c = t->nodes[c].next_sibling) {
			const struct flame_node *cn = &t->nodes[c];
			int x0 = cell_of(off, width, z->total);
			int x1 = cell_of(off + cn->total, width, z->total);

			if (x1 > x0) {
				if (out->n - first == cap) {
					uint64_t *no = realloc(offset, cap * 2 * sizeof(*no));

					if (!no) {
						err = -ENOMEM;
						goto out;
					}
					offset = no;
					cap *= 2;
				}
				err = push_rect(out, c, cn->depth, x0, x1 - x0);
				if (err)
					goto out;
				offset[out->n - 1 - first] = off;
			}
			off += cn->total;
		}
	}
out:
	free(offset);
	return err;
}

long flame_rects_find(const struct flame_rects *r, uint32_t node)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].node == node)
			return (long)i;
	return -1;
}

void flame_rects_free(struct flame_rects *r)
{
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}

uint64_t flame_match(const struct flame_tree *t, const uint8_t *func_match, size_t nfuncs,
		     uint8_t *node_match)
{
	uint64_t matched = 0;

	node_match[0] = 0;
	/* Parents precede children, so one forward pass sees each parent's marks first. */
	for (uint32_t i = 1; i < t->n; i++) {
		const struct flame_node *nd = &t->nodes[i];
		uint8_t m = nd->func < nfuncs && func_match[nd->func] ? FLAME_MATCH : 0;
		uint8_t above = node_match[nd->parent] & FLAME_IN_MATCH;

		if (m && !above)
			matched += nd->total;
		node_match[i] = m | (m || above ? FLAME_IN_MATCH : 0);
	}
	return matched;
}
