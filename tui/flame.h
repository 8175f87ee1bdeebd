/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The flame graph as data: a tree of call paths merged from aggregated stacks, and its layout into
 * terminal cells. The layout is a pure function of the tree, a zoomed node and a width, so it is
 * unit-tested and benchmarked without a terminal. Functions are small integer ids chosen by the
 * caller; nothing here knows their names.
 */
#ifndef EMBER_TUI_FLAME_H
#define EMBER_TUI_FLAME_H

#include <stddef.h>
#include <stdint.h>

#define FLAME_ROOT 0u	      /* the root node ("all samples") */
#define FLAME_NONE UINT32_MAX /* no node; also the root's function id */

/* One aggregated stack: function ids from the root to the leaf, and its samples. */
struct flame_stack {
	const uint32_t *funcs;
	uint32_t depth;
	uint64_t count;
};

struct flame_node {
	uint32_t func;	      /* FLAME_NONE for the root */
	uint32_t parent;      /* FLAME_NONE for the root; always a lower index than the node */
	uint32_t first_child; /* FLAME_NONE for a leaf; siblings by total descending, then func */
	uint32_t next_sibling;
	uint32_t depth; /* the root is 0 */
	uint64_t total; /* samples in this node and below */
	uint64_t self;	/* samples whose stack ends here */
};

struct flame_tree;

/*
 * Merges `n` stacks into a tree: stacks sharing a path from the root share its nodes. Stacks may
 * repeat (their counts add up) and may have depth 0 (they count at the root). Returns an owned
 * tree, or NULL with errno ENOMEM (or EOVERFLOW beyond 2^32 - 2 nodes).
 */
struct flame_tree *flame_tree__new(const struct flame_stack *stacks, size_t n);

/* Nodes in the tree, the root included. */
uint32_t flame_tree__count(const struct flame_tree *t);

/* Node `idx` (< flame_tree__count), borrowed until flame_tree__free. */
const struct flame_node *flame_tree__node(const struct flame_tree *t, uint32_t idx);

/* The deepest node's depth (0 for a tree with only the root). */
uint32_t flame_tree__max_depth(const struct flame_tree *t);

/* The child of `parent` for function `func`, or FLAME_NONE. */
uint32_t flame_tree__child(const struct flame_tree *t, uint32_t parent, uint32_t func);

void flame_tree__free(struct flame_tree *t);

/* A node laid out on its row (the node's depth), cells [x, x + w). */
struct flame_rect {
	uint32_t node;
	uint32_t depth;
	int x, w;
};

/* A caller-owned, reusable array of rectangles. Zero-initialize; release with flame_rects_free. */
struct flame_rects {
	struct flame_rect *v;
	size_t n, cap;
};

/*
 * Lays out the tree zoomed on node `zoom` in `width` cells: `zoom` and its ancestors span the whole
 * width; each descendant of `zoom` gets the cells its sample range covers, floor(start * width /
 * zoom.total) to floor(end * width / zoom.total), so widths add up exactly and a node that covers
 * no cell boundary is left out with its subtree. Fills `out` sorted by depth, then x. Returns 0,
 * -EINVAL (width < 1 or zoom not a node) or -ENOMEM.
 */
int flame_layout(const struct flame_tree *t, uint32_t zoom, int width, struct flame_rects *out);

/* The index in `r` of the rectangle of `node`, or -1 when it is not laid out. */
long flame_rects_find(const struct flame_rects *r, uint32_t node);

void flame_rects_free(struct flame_rects *r);

#define FLAME_MATCH 1u	  /* the node's function matches */
#define FLAME_IN_MATCH 2u /* the node or one of its ancestors matches */

/*
 * Marks the nodes whose function matches: func_match[f] is non-zero for matching function ids
 * (ids >= nfuncs never match). Fills node_match (flame_tree__count entries) with FLAME_MATCH and
 * FLAME_IN_MATCH bits, and returns the samples with a matching function anywhere in their stack,
 * each counted once however many of its frames match.
 */
uint64_t flame_match(const struct flame_tree *t, const uint8_t *func_match, size_t nfuncs,
		     uint8_t *node_match);

#endif
