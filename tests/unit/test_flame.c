// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The flame graph's tree and layout, on the shape of tests/progs/chain: main -> run -> mid1 ->
 * mid2 -> leaf_a (100 samples) and leaf_b (200), plus main -> other (50), with a repeated stack,
 * a recursive one and an empty one.
 */
#include "tests/harness.h"
#include "tui/flame.h"

enum { MAIN = 1, RUN, MID1, MID2, LEAF_A, LEAF_B, OTHER, REC };

static const uint32_t chain_a[] = { MAIN, RUN, MID1, MID2, LEAF_A };
static const uint32_t chain_b[] = { MAIN, RUN, MID1, MID2, LEAF_B };
static const uint32_t other[] = { MAIN, OTHER };

static struct flame_tree *chain_tree(void)
{
	const struct flame_stack stacks[] = {
		{ chain_b, 5, 150 },
		{ chain_a, 5, 100 },
		{ other, 2, 50 },
		{ chain_b, 5, 50 },
	};

	return flame_tree__new(stacks, sizeof(stacks) / sizeof(stacks[0]));
}

/* The node reached from the root through `funcs`. */
static uint32_t node_at(const struct flame_tree *t, const uint32_t *funcs, size_t n)
{
	uint32_t node = FLAME_ROOT;

	for (size_t i = 0; i < n && node != FLAME_NONE; i++)
		node = flame_tree__child(t, node, funcs[i]);
	return node;
}

static enum test_result test_tree(void)
{
	struct flame_tree *t = chain_tree();
	const struct flame_node *root, *mid2, *a, *b, *first;
	uint32_t n_mid2, n_a, n_b;

	if (!ASSERT_NONNULL(t, "tree"))
		return TEST_FAIL;
	root = flame_tree__node(t, FLAME_ROOT);
	n_mid2 = node_at(t, chain_a, 4);
	n_a = node_at(t, chain_a, 5);
	n_b = node_at(t, chain_b, 5);
	if (!ASSERT_NEQ(n_mid2, FLAME_NONE, "mid2") || !ASSERT_NEQ(n_a, FLAME_NONE, "leaf_a") ||
	    !ASSERT_NEQ(n_b, FLAME_NONE, "leaf_b"))
		goto fail;
	mid2 = flame_tree__node(t, n_mid2);
	a = flame_tree__node(t, n_a);
	b = flame_tree__node(t, n_b);
	/* root, main, run, mid1, mid2, leaf_a, leaf_b, other: shared paths are shared. */
	if (!ASSERT_EQ(flame_tree__count(t), 8, "nodes") ||
	    !ASSERT_EQ(root->total, 350, "root total") || !ASSERT_EQ(root->self, 0, "root self") ||
	    !ASSERT_EQ(mid2->total, 300, "mid2 total") || !ASSERT_EQ(mid2->self, 0, "mid2 self") ||
	    !ASSERT_EQ(a->total, 100, "leaf_a") || !ASSERT_EQ(b->total, 200, "repeats add up") ||
	    !ASSERT_EQ(b->self, 200, "leaf_b self") || !ASSERT_EQ(b->depth, 5, "depth") ||
	    !ASSERT_EQ(flame_tree__max_depth(t), 5, "max depth") ||
	    !ASSERT_EQ(b->parent, n_mid2, "parent"))
		goto fail;
	/* Children by total, widest first. */
	first = flame_tree__node(t, mid2->first_child);
	if (!ASSERT_EQ(first->func, LEAF_B, "leaf_b first") ||
	    !ASSERT_EQ(flame_tree__node(t, first->next_sibling)->func, LEAF_A, "then leaf_a") ||
	    !ASSERT_EQ(flame_tree__node(t, first->next_sibling)->next_sibling, FLAME_NONE, "end"))
		goto fail;
	for (uint32_t i = 1; i < flame_tree__count(t); i++)
		if (!ASSERT_TRUE(flame_tree__node(t, i)->parent < i, "parents come first"))
			goto fail;
	flame_tree__free(t);
	return TEST_PASS;
fail:
	flame_tree__free(t);
	return TEST_FAIL;
}

static enum test_result test_edge_cases(void)
{
	static const uint32_t rec[] = { MAIN, REC, REC, REC };
	const struct flame_stack stacks[] = { { NULL, 0, 7 }, { rec, 4, 3 }, { rec, 2, 1 } };
	struct flame_rects r = { 0 };
	struct flame_tree *t = flame_tree__new(NULL, 0);
	enum test_result res = TEST_FAIL;
	uint8_t match[8], fm[REC + 1] = { 0 };

	if (!ASSERT_NONNULL(t, "empty tree") || !ASSERT_EQ(flame_tree__count(t), 1, "root only") ||
	    !ASSERT_OK(flame_layout(t, FLAME_ROOT, 10, &r), "layout of nothing") ||
	    !ASSERT_EQ(r.n, 1, "the root alone"))
		goto out;
	flame_tree__free(t);
	t = flame_tree__new(stacks, 3);
	if (!ASSERT_NONNULL(t, "tree") ||
	    !ASSERT_EQ(flame_tree__node(t, 0)->self, 7, "empty stack") ||
	    !ASSERT_EQ(flame_tree__node(t, 0)->total, 11, "total") ||
	    !ASSERT_EQ(flame_tree__count(t), 5, "root main rec rec rec"))
		goto out;
	/* Recursion: a sample counts once however many frames match. */
	fm[REC] = 1;
	if (!ASSERT_EQ(flame_match(t, fm, sizeof(fm), match), 4, "recursive match") ||
	    !ASSERT_EQ(match[2], FLAME_MATCH | FLAME_IN_MATCH, "outer rec") ||
	    !ASSERT_EQ(match[1], 0, "main does not match"))
		goto out;
	fm[REC] = 0;
	fm[MAIN] = 1;
	if (!ASSERT_EQ(flame_match(t, fm, 2, match), 4, "ids past nfuncs never match") ||
	    !ASSERT_EQ(match[3], FLAME_IN_MATCH, "inside a match"))
		goto out;
	if (!ASSERT_EQ(flame_layout(t, FLAME_ROOT, 0, &r), -EINVAL, "width 0") ||
	    !ASSERT_EQ(flame_layout(t, 99, 10, &r), -EINVAL, "no such node"))
		goto out;
	res = TEST_PASS;
out:
	flame_rects_free(&r);
	flame_tree__free(t);
	return res;
}

static const struct flame_rect *rect_of(const struct flame_rects *r, uint32_t node)
{
	long i = flame_rects_find(r, node);

	return i < 0 ? NULL : &r->v[i];
}

static enum test_result test_layout(void)
{
	struct flame_tree *t = chain_tree();
	struct flame_rects r = { 0 };
	const struct flame_rect *ra, *rb, *ro, *rm;
	enum test_result res = TEST_FAIL;
	uint32_t n_a, n_b, n_o, n_mid2;

	if (!ASSERT_NONNULL(t, "tree"))
		return TEST_FAIL;
	n_a = node_at(t, chain_a, 5);
	n_b = node_at(t, chain_b, 5);
	n_o = node_at(t, other, 2);
	n_mid2 = node_at(t, chain_a, 4);
	/* 350 samples in 35 cells: 10 samples a cell. */
	if (!ASSERT_OK(flame_layout(t, FLAME_ROOT, 35, &r), "layout"))
		goto out;
	ra = rect_of(&r, n_a);
	rb = rect_of(&r, n_b);
	ro = rect_of(&r, n_o);
	if (!ASSERT_NONNULL(ra, "leaf_a laid out") || !ASSERT_NONNULL(rb, "leaf_b") ||
	    !ASSERT_NONNULL(ro, "other"))
		goto out;
	if (!ASSERT_EQ(rb->x, 0, "leaf_b x") || !ASSERT_EQ(rb->w, 20, "leaf_b w") ||
	    !ASSERT_EQ(ra->x, 20, "leaf_a x") || !ASSERT_EQ(ra->w, 10, "leaf_a w") ||
	    !ASSERT_EQ(ro->x, 30, "other x") || !ASSERT_EQ(ro->w, 5, "other w") ||
	    !ASSERT_EQ(ra->depth, 5, "row"))
		goto out;
	for (size_t i = 1; i < r.n; i++)
		if (!ASSERT_TRUE(r.v[i - 1].depth < r.v[i].depth ||
				     (r.v[i - 1].depth == r.v[i].depth && r.v[i - 1].x < r.v[i].x),
				 "sorted by row, then column"))
			goto out;

	/* Widths add up exactly at a width that does not divide: 350 samples in 30 cells. */
	if (!ASSERT_OK(flame_layout(t, FLAME_ROOT, 30, &r), "layout 30"))
		goto out;
	ra = rect_of(&r, n_a);
	rb = rect_of(&r, n_b);
	ro = rect_of(&r, n_o);
	if (!ASSERT_EQ(rb->w + ra->w + ro->w, 30, "widths fill the row") ||
	    !ASSERT_EQ(rb->w, 17, "floor(200*30/350)") || !ASSERT_EQ(ra->x, 17, "leaf_a starts") ||
	    !ASSERT_EQ(ra->w, 8, "floor(300*30/350) - 17"))
		goto out;

	/* Zoom on mid2: ancestors and mid2 full width, leaves by mid2's 300 samples. */
	if (!ASSERT_OK(flame_layout(t, n_mid2, 30, &r), "zoomed"))
		goto out;
	rm = rect_of(&r, n_mid2);
	rb = rect_of(&r, n_b);
	ra = rect_of(&r, n_a);
	if (!ASSERT_NONNULL(rm, "mid2") || !ASSERT_EQ(rm->w, 30, "mid2 full") ||
	    !ASSERT_EQ(rect_of(&r, FLAME_ROOT)->w, 30, "root full") ||
	    !ASSERT_NULL(rect_of(&r, n_o), "other is not in the zoom") ||
	    !ASSERT_EQ(rb->w, 20, "leaf_b 2/3") || !ASSERT_EQ(ra->w, 10, "leaf_a 1/3") ||
	    !ASSERT_EQ(r.n, 7, "root main run mid1 mid2 a b"))
		goto out;

	/* A node that covers no cell boundary is left out. In 2 cells (175 samples each):
	 * leaf_b covers 0..1.14 (cell 0), leaf_a 1.14..1.71 (no boundary), other 1.71..2 (cell 1).
	 */
	if (!ASSERT_OK(flame_layout(t, FLAME_ROOT, 2, &r), "narrow") ||
	    !ASSERT_NULL(rect_of(&r, n_a), "leaf_a covers no boundary") ||
	    !ASSERT_NONNULL(rect_of(&r, n_b), "leaf_b") ||
	    !ASSERT_EQ(rect_of(&r, n_o)->x, 1, "other in the last cell"))
		goto out;
	res = TEST_PASS;
out:
	flame_rects_free(&r);
	flame_tree__free(t);
	return res;
}

static enum test_result test_match(void)
{
	struct flame_tree *t = chain_tree();
	uint8_t fm[REC + 1] = { 0 }, match[8];
	enum test_result res = TEST_FAIL;

	if (!ASSERT_NONNULL(t, "tree"))
		return TEST_FAIL;
	fm[LEAF_A] = 1;
	if (!ASSERT_EQ(flame_match(t, fm, sizeof(fm), match), 100, "leaf_a: a third of the chain"))
		goto out;
	fm[MID1] = 1;
	if (!ASSERT_EQ(flame_match(t, fm, sizeof(fm), match), 300, "mid1 contains leaf_a") ||
	    !ASSERT_EQ(match[node_at(t, chain_a, 5)], FLAME_MATCH | FLAME_IN_MATCH,
		       "leaf_a marks") ||
	    !ASSERT_EQ(match[node_at(t, chain_b, 5)], FLAME_IN_MATCH, "leaf_b under mid1"))
		goto out;
	res = TEST_PASS;
out:
	flame_tree__free(t);
	return res;
}

TEST_MAIN(TEST(test_tree), TEST(test_edge_cases), TEST(test_layout), TEST(test_match))
