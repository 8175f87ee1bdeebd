// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The key bindings of `ember top`, one table for dispatch and help. */
#include "tui/keymap.h"

#include <curses.h>
#include <stdio.h>

#define CTRL(c) ((c)&0x1f)
#define ESC 27

/* A binding that starts a line of the help, and one that adds its key to the line above. */
#define B(k, s, a)                                      \
	{                                               \
		.key = (k), .scope = (s), .action = (a) \
	}
#define H(k, s, a, h)                                                \
	{                                                            \
		.key = (k), .scope = (s), .action = (a), .help = (h) \
	}

/* clang-format off */
static const struct keymap_entry entries[] = {
	/* Everywhere */
	H('q', KEYMAP_GLOBAL, ACT_QUIT, "quit"),
	B(KEY_F(10), KEYMAP_GLOBAL, ACT_QUIT),
	H('?', KEYMAP_GLOBAL, ACT_HELP, "this help"),
	B(KEY_F(1), KEYMAP_GLOBAL, ACT_HELP),
	H('\t', KEYMAP_GLOBAL, ACT_VIEW_NEXT, "next / previous view"),
	B(KEY_BTAB, KEYMAP_GLOBAL, ACT_VIEW_PREV),
	H('1', KEYMAP_GLOBAL, ACT_VIEW_PROCS, "processes, functions, flame graph, heatmap"),
	B('2', KEYMAP_GLOBAL, ACT_VIEW_FUNCS),
	B('3', KEYMAP_GLOBAL, ACT_VIEW_FLAME),
	B('4', KEYMAP_GLOBAL, ACT_VIEW_HEATMAP),
	H(KEY_UP, KEYMAP_GLOBAL, ACT_UP, "move"),
	B('k', KEYMAP_GLOBAL, ACT_UP),
	B(KEY_DOWN, KEYMAP_GLOBAL, ACT_DOWN),
	B('j', KEYMAP_GLOBAL, ACT_DOWN),
	B(KEY_LEFT, KEYMAP_GLOBAL, ACT_LEFT),
	B('h', KEYMAP_GLOBAL, ACT_LEFT),
	B(KEY_RIGHT, KEYMAP_GLOBAL, ACT_RIGHT),
	B('l', KEYMAP_GLOBAL, ACT_RIGHT),
	H(KEY_PPAGE, KEYMAP_GLOBAL, ACT_PAGE_UP, "page up / down"),
	B(CTRL('b'), KEYMAP_GLOBAL, ACT_PAGE_UP),
	B(KEY_NPAGE, KEYMAP_GLOBAL, ACT_PAGE_DOWN),
	B(CTRL('f'), KEYMAP_GLOBAL, ACT_PAGE_DOWN),
	B(' ', KEYMAP_GLOBAL, ACT_PAGE_DOWN),
	H(KEY_HOME, KEYMAP_GLOBAL, ACT_HOME, "first / last"),
	B('g', KEYMAP_GLOBAL, ACT_HOME),
	B(KEY_END, KEYMAP_GLOBAL, ACT_END),
	B('G', KEYMAP_GLOBAL, ACT_END),
	H('\n', KEYMAP_GLOBAL, ACT_ENTER, "open / zoom / narrow to"),
	B('\r', KEYMAP_GLOBAL, ACT_ENTER),
	B(KEY_ENTER, KEYMAP_GLOBAL, ACT_ENTER),
	H(ESC, KEYMAP_GLOBAL, ACT_BACK, "back / zoom out / widen"),
	B(KEY_BACKSPACE, KEYMAP_GLOBAL, ACT_BACK),
	B(127, KEYMAP_GLOBAL, ACT_BACK),
	B(CTRL('h'), KEYMAP_GLOBAL, ACT_BACK),
	H('/', KEYMAP_GLOBAL, ACT_SEARCH, "search (a regular expression)"),
	B(KEY_F(3), KEYMAP_GLOBAL, ACT_SEARCH),
	H('n', KEYMAP_GLOBAL, ACT_NEXT_MATCH, "next / previous match"),
	B('N', KEYMAP_GLOBAL, ACT_PREV_MATCH),
	H('\\', KEYMAP_GLOBAL, ACT_FILTER, "filter: pid:N comm:NAME cgroup:PATH|ID exe:NAME"),
	B(KEY_F(4), KEYMAP_GLOBAL, ACT_FILTER),
	H('p', KEYMAP_GLOBAL, ACT_PAUSE, "pause / resume"),
	B('Z', KEYMAP_GLOBAL, ACT_PAUSE),
	H('[', KEYMAP_GLOBAL, ACT_TIME_BACK, "rewind / advance by half a window"),
	B(']', KEYMAP_GLOBAL, ACT_TIME_FORWARD),
	H('{', KEYMAP_GLOBAL, ACT_TIME_BACK_MORE, "rewind / advance by ten windows"),
	B('}', KEYMAP_GLOBAL, ACT_TIME_FORWARD_MORE),
	H('L', KEYMAP_GLOBAL, ACT_LIVE, "back to live"),
	H('w', KEYMAP_GLOBAL, ACT_WINDOW_SHORTER, "shorter / longer window"),
	B('W', KEYMAP_GLOBAL, ACT_WINDOW_LONGER),
	H('K', KEYMAP_GLOBAL, ACT_KERNEL_ONLY, "kernel frames only (toggle)"),
	H('U', KEYMAP_GLOBAL, ACT_USER_ONLY, "user frames only (toggle)"),
	H('a', KEYMAP_GLOBAL, ACT_IDLE, "include idle CPUs (toggle)"),
	H(CTRL('l'), KEYMAP_GLOBAL, ACT_REDRAW, "redraw the screen"),

	/* Processes */
	H('H', KEYMAP_PROCS, ACT_THREADS, "threads / processes"),
	H(KEY_F(6), KEYMAP_PROCS, ACT_SORT_NEXT, "sort by the next / previous column"),
	B('>', KEYMAP_PROCS, ACT_SORT_NEXT),
	B('.', KEYMAP_PROCS, ACT_SORT_NEXT),
	B('<', KEYMAP_PROCS, ACT_SORT_PREV),
	B(',', KEYMAP_PROCS, ACT_SORT_PREV),
	H('I', KEYMAP_PROCS, ACT_SORT_INVERT, "invert the sort order"),
	H('P', KEYMAP_PROCS, ACT_SORT_CPU, "sort by CPU / by PID"),
	B('N', KEYMAP_PROCS, ACT_SORT_PID),

	/* Functions */
	H(KEY_F(6), KEYMAP_FUNCS, ACT_SORT_SELF_TOTAL, "sort by self / total"),
	B('>', KEYMAP_FUNCS, ACT_SORT_SELF_TOTAL),
	B('<', KEYMAP_FUNCS, ACT_SORT_SELF_TOTAL),

	/* Flame graph */
	H(KEY_END, KEYMAP_FLAME, ACT_END, "follow the hottest path"),
	B('G', KEYMAP_FLAME, ACT_END),
	H('r', KEYMAP_FLAME, ACT_FLAME_REVERSE, "reverse: callers of the leaves"),
	H('i', KEYMAP_FLAME, ACT_FLAME_ICICLE, "icicle (root on top) / flame"),
	H('u', KEYMAP_FLAME, ACT_FLAME_RESET, "zoom all the way out"),

	/* Heatmap */
	H('m', KEYMAP_HEATMAP, ACT_MARK, "mark the start of a range (Enter: its end)"),
	B('v', KEYMAP_HEATMAP, ACT_MARK),
	B(' ', KEYMAP_HEATMAP, ACT_MARK),
};
/* clang-format on */

enum tui_action keymap_lookup(enum keymap_scope scope, int key)
{
	enum tui_action global = ACT_NONE;

	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		if (entries[i].key != key)
			continue;
		if (entries[i].scope == scope && scope != KEYMAP_GLOBAL)
			return entries[i].action;
		if (entries[i].scope == KEYMAP_GLOBAL && global == ACT_NONE)
			global = entries[i].action;
	}
	return global;
}

const struct keymap_entry *keymap_entries(size_t *n)
{
	*n = sizeof(entries) / sizeof(entries[0]);
	return entries;
}

const char *keymap_key_name(int key, char *buf, size_t len)
{
	static const struct {
		int key;
		const char *name;
	} names[] = {
		{ KEY_UP, "\u2191" },	   { KEY_DOWN, "\u2193" }, { KEY_LEFT, "\u2190" },
		{ KEY_RIGHT, "\u2192" },   { KEY_PPAGE, "PgUp" },  { KEY_NPAGE, "PgDn" },
		{ KEY_HOME, "Home" },	   { KEY_END, "End" },	   { KEY_ENTER, "Enter" },
		{ '\n', "Enter" },	   { '\r', "Return" },	   { 27, "Esc" },
		{ KEY_BACKSPACE, "Bksp" }, { 127, "Bksp" },	   { '\t', "Tab" },
		{ KEY_BTAB, "S-Tab" },	   { ' ', "Space" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].key == key)
			return names[i].name;
	if (key >= KEY_F(1) && key <= KEY_F(12))
		snprintf(buf, len, "F%d", key - KEY_F(0));
	else if (key > 0 && key < 0x20)
		snprintf(buf, len, "^%c", key + '@');
	else if (key > 0x20 && key < 0x7f)
		snprintf(buf, len, "%c", key);
	else
		snprintf(buf, len, "key %d", key);
	return buf;
}

const char *keymap_scope_title(enum keymap_scope scope)
{
	switch (scope) {
	case KEYMAP_GLOBAL:
		return "Everywhere";
	case KEYMAP_PROCS:
		return "Processes";
	case KEYMAP_FUNCS:
		return "Functions";
	case KEYMAP_FLAME:
		return "Flame graph";
	case KEYMAP_HEATMAP:
		return "Heatmap";
	default:
		return "";
	}
}
