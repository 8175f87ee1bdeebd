// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The TUI's pure parts: sparkline, heatmap geometry, key map, list scrolling, the line editor. */
#include <curses.h>

#include "tests/harness.h"
#include "tui/heatmap.h"
#include "tui/keymap.h"
#include "tui/list.h"
#include "tui/prompt.h"
#include "tui/sparkline.h"

static enum test_result test_sparkline(void)
{
	uint64_t v[] = { 0, 1, 5, 10, 20 };
	char buf[64];

	if (!ASSERT_EQ(sparkline_level(0, 10), 0, "zero is blank") ||
	    !ASSERT_EQ(sparkline_level(1, 10), 1, "any activity shows") ||
	    !ASSERT_EQ(sparkline_level(5, 10), 4, "half") ||
	    !ASSERT_EQ(sparkline_level(10, 10), 8, "full") ||
	    !ASSERT_EQ(sparkline_level(20, 10), 8, "clamped") ||
	    !ASSERT_EQ(sparkline_level(3, 0), 8, "no scale: full"))
		return TEST_FAIL;
	if (!ASSERT_EQ(sparkline_render(v, 5, 10, false, buf, sizeof(buf)), 5, "ascii cells") ||
	    !ASSERT_STREQ(buf, " _-##", "ascii ramp"))
		return TEST_FAIL;
	if (!ASSERT_EQ(sparkline_render(v, 5, 10, true, buf, sizeof(buf)), 5, "utf-8 cells") ||
	    !ASSERT_STREQ(buf, " \u2581\u2584\u2588\u2588", "block elements"))
		return TEST_FAIL;
	/* Only whole cells fit: 3 bytes each plus the NUL. */
	if (!ASSERT_EQ(sparkline_render(v + 1, 4, 10, true, buf, 8), 2, "cut to whole cells") ||
	    !ASSERT_EQ(strlen(buf), 6, "two cells"))
		return TEST_FAIL;
	return TEST_PASS;
}

static enum test_result test_heatmap(void)
{
	struct heatmap_geom g = { .t0_ns = 1000 * HEATMAP_NS_PER_S, .cols = 60, .rows = 20 };
	int64_t from, to;
	int c, r;

	if (!ASSERT_EQ(heatmap_rows_for(24), 20, "rows for 24 lines") ||
	    !ASSERT_EQ(heatmap_rows_for(60), 50, "50 at most") ||
	    !ASSERT_EQ(heatmap_rows_for(3), 2, "2 in 3 lines") ||
	    !ASSERT_EQ(heatmap_cell_start(&g, 2, 5), 1002250000000ll, "cell start"))
		return TEST_FAIL;
	if (!ASSERT_OK(heatmap_cell_of(&g, 1002260000000ll, &c, &r), "cell of") ||
	    !ASSERT_EQ(c, 2, "column") || !ASSERT_EQ(r, 5, "row") ||
	    !ASSERT_EQ(heatmap_cell_of(&g, 999 * HEATMAP_NS_PER_S, &c, &r), -ERANGE, "before") ||
	    !ASSERT_EQ(heatmap_cell_of(&g, 1060 * HEATMAP_NS_PER_S, &c, &r), -ERANGE, "after"))
		return TEST_FAIL;
	/* From (3, 18) back to (2, 5): 2.25 s to 3.95 s, both cells included, either order. */
	heatmap_selection(&g, 3, 18, 2, 5, &from, &to);
	if (!ASSERT_EQ(from, 1002250000000ll, "from") || !ASSERT_EQ(to, 1003950000000ll, "to"))
		return TEST_FAIL;
	heatmap_selection(&g, 4, 0, 4, 0, &from, &to);
	if (!ASSERT_EQ(to - from, 50000000, "one cell: 50 ms"))
		return TEST_FAIL;
	if (!ASSERT_EQ(heatmap_shade(0, 10, 9), 0, "empty") ||
	    !ASSERT_EQ(heatmap_shade(1, 100, 9), 1, "one sample shows") ||
	    !ASSERT_EQ(heatmap_shade(100, 100, 9), 8, "the busiest") ||
	    !ASSERT_EQ(heatmap_shade(50, 100, 9), 4, "half"))
		return TEST_FAIL;
	return TEST_PASS;
}

static enum test_result test_keymap(void)
{
	size_t n;
	const struct keymap_entry *e = keymap_entries(&n);

	/* Global keys everywhere; a view's own binding wins over the global one. */
	if (!ASSERT_EQ(keymap_lookup(KEYMAP_PROCS, 'q'), ACT_QUIT, "q") ||
	    !ASSERT_EQ(keymap_lookup(KEYMAP_FLAME, KEY_F(10)), ACT_QUIT, "F10") ||
	    !ASSERT_EQ(keymap_lookup(KEYMAP_FUNCS, 'j'), ACT_DOWN, "j") ||
	    !ASSERT_EQ(keymap_lookup(KEYMAP_FLAME, 27), ACT_BACK, "Esc") ||
	    !ASSERT_EQ(keymap_lookup(KEYMAP_FLAME, KEY_BACKSPACE), ACT_BACK, "Backspace") ||
	    !ASSERT_EQ(keymap_lookup(KEYMAP_HEATMAP, '/'), ACT_SEARCH, "/") ||
	    !ASSERT_EQ(keymap_lookup(KEYMAP_PROCS, '\t'), ACT_VIEW_NEXT, "Tab") ||
	    !ASSERT_EQ(keymap_lookup(KEYMAP_PROCS, '3'), ACT_VIEW_FLAME, "3") ||
	    !ASSERT_EQ(keymap_lookup(KEYMAP_PROCS, 'N'), ACT_SORT_PID, "N sorts in processes") ||
	    !ASSERT_EQ(keymap_lookup(KEYMAP_FLAME, 'N'), ACT_PREV_MATCH, "N elsewhere") ||
	    !ASSERT_EQ(keymap_lookup(KEYMAP_HEATMAP, ' '), ACT_MARK, "space marks") ||
	    !ASSERT_EQ(keymap_lookup(KEYMAP_PROCS, ' '), ACT_PAGE_DOWN, "space pages") ||
	    !ASSERT_EQ(keymap_lookup(KEYMAP_PROCS, 'r'), ACT_NONE, "r is the flame's"))
		return TEST_FAIL;
	/* Every key shows in the help: each scope's first entry starts a help line, and an
	 * entry without text joins the line above it, of its own scope. */
	for (size_t i = 0; i < n; i++) {
		char buf[16];
		const char *name = keymap_key_name(e[i].key, buf, sizeof(buf));

		if (!ASSERT_TRUE(e[i].help || (i > 0 && e[i - 1].scope == e[i].scope), "a binding "
										       "joins a "
										       "help line "
										       "of its "
										       "scope") ||
		    !ASSERT_TRUE(strncmp(name, "key ", 4), "every key has a name"))
			return TEST_FAIL;
	}
	if (!ASSERT_STREQ(keymap_key_name(KEY_F(10), (char[8]){ 0 }, 8), "F10", "F10") ||
	    !ASSERT_STREQ(keymap_key_name(12, (char[8]){ 0 }, 8), "^L", "^L"))
		return TEST_FAIL;
	return TEST_PASS;
}

static enum test_result test_list(void)
{
	struct list l = { 0 };

	if (!ASSERT_TRUE(list_move(&l, 100, 10, ACT_DOWN), "down") || !ASSERT_EQ(l.cursor, 1, "1"))
		return TEST_FAIL;
	list_move(&l, 100, 10, ACT_PAGE_DOWN);
	if (!ASSERT_EQ(l.cursor, 10, "a page is page - 1 rows") ||
	    !ASSERT_TRUE(l.cursor >= l.top && l.cursor < l.top + 10, "visible"))
		return TEST_FAIL;
	list_move(&l, 100, 10, ACT_END);
	if (!ASSERT_EQ(l.cursor, 99, "end") || !ASSERT_EQ(l.top, 90, "last page"))
		return TEST_FAIL;
	list_move(&l, 100, 10, ACT_DOWN);
	if (!ASSERT_EQ(l.cursor, 99, "stays at the end"))
		return TEST_FAIL;
	list_move(&l, 100, 10, ACT_HOME);
	if (!ASSERT_EQ(l.cursor, 0, "home") || !ASSERT_EQ(l.top, 0, "top"))
		return TEST_FAIL;
	l.cursor = 50;
	list_clamp(&l, 20, 10);
	if (!ASSERT_EQ(l.cursor, 19, "clamped to a shorter list") || !ASSERT_EQ(l.top, 10, "top"))
		return TEST_FAIL;
	list_clamp(&l, 0, 10);
	if (!ASSERT_EQ(l.cursor, 0, "empty") || !ASSERT_TRUE(!list_move(&l, 0, 10, ACT_ENTER), "not"
											       " a "
											       "mov"
											       "eme"
											       "n"
											       "t"))
		return TEST_FAIL;
	return TEST_PASS;
}

static enum test_result test_prompt(void)
{
	struct prompt p = { 0 };
	const char *keys = "lef_a";

	prompt_start(&p, "/", NULL);
	for (const char *k = keys; *k; k++)
		prompt_key(&p, *k);
	prompt_key(&p, KEY_LEFT);
	prompt_key(&p, KEY_LEFT);
	prompt_key(&p, KEY_LEFT);
	prompt_key(&p, 'a');
	if (!ASSERT_STREQ(p.text, "leaf_a", "insert in the middle"))
		return TEST_FAIL;
	prompt_key(&p, KEY_END);
	prompt_key(&p, KEY_BACKSPACE);
	if (!ASSERT_STREQ(p.text, "leaf_", "backspace") ||
	    !ASSERT_EQ(prompt_key(&p, '\n'), PROMPT_ACCEPT, "enter") ||
	    !ASSERT_TRUE(!p.active, "done"))
		return TEST_FAIL;
	prompt_start(&p, "/", "x");
	if (!ASSERT_EQ(prompt_key(&p, 27), PROMPT_CANCEL, "esc cancels"))
		return TEST_FAIL;
	prompt_start(&p, "/", NULL);
	prompt_key(&p, KEY_UP);
	if (!ASSERT_STREQ(p.text, "leaf_", "up recalls the last"))
		return TEST_FAIL;
	/* A two-byte character goes as a whole. */
	prompt_start(&p, "/", "a\xc3\xa9");
	prompt_key(&p, KEY_BACKSPACE);
	if (!ASSERT_STREQ(p.text, "a", "multibyte backspace") ||
	    !ASSERT_EQ(prompt_key(&p, KEY_BACKSPACE), PROMPT_EDITING, "deletes a") ||
	    !ASSERT_EQ(prompt_key(&p, KEY_BACKSPACE), PROMPT_CANCEL, "empty: cancels"))
		return TEST_FAIL;
	return TEST_PASS;
}

TEST_MAIN(TEST(test_sparkline), TEST(test_heatmap), TEST(test_keymap), TEST(test_list),
	  TEST(test_prompt))
