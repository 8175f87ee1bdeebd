/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The key map: which key does what in which view, as one table of const data that both the
 * dispatcher and the help screen read, so the help can never disagree with the keys. Keys follow
 * htop (F-keys, F6 sort, H threads), less and vim (hjkl, g/G, /, n/N, q) and FlameScope.
 */
#ifndef EMBER_TUI_KEYMAP_H
#define EMBER_TUI_KEYMAP_H

#include <stddef.h>

/* Where a binding applies: everywhere, or in one view. */
enum keymap_scope {
	KEYMAP_GLOBAL,
	KEYMAP_PROCS,
	KEYMAP_FUNCS,
	KEYMAP_FLAME,
	KEYMAP_HEATMAP,
	KEYMAP__NSCOPES,
};

enum tui_action {
	ACT_NONE = 0,
	/* movement, read by every view in its own way */
	ACT_UP,
	ACT_DOWN,
	ACT_LEFT,
	ACT_RIGHT,
	ACT_PAGE_UP,
	ACT_PAGE_DOWN,
	ACT_HOME,
	ACT_END,
	ACT_ENTER, /* open, zoom, narrow */
	ACT_BACK,  /* Esc, Backspace: close, zoom out, widen */
	ACT_SEARCH,
	ACT_NEXT_MATCH,
	ACT_PREV_MATCH,
	/* global */
	ACT_QUIT,
	ACT_HELP,
	ACT_VIEW_NEXT,
	ACT_VIEW_PREV,
	ACT_VIEW_PROCS,
	ACT_VIEW_FUNCS,
	ACT_VIEW_FLAME,
	ACT_VIEW_HEATMAP,
	ACT_PAUSE,
	ACT_TIME_BACK,
	ACT_TIME_FORWARD,
	ACT_TIME_BACK_MORE,
	ACT_TIME_FORWARD_MORE,
	ACT_LIVE,
	ACT_WINDOW_SHORTER,
	ACT_WINDOW_LONGER,
	ACT_KERNEL_ONLY,
	ACT_USER_ONLY,
	ACT_IDLE,
	ACT_FILTER,
	ACT_REDRAW,
	/* processes */
	ACT_THREADS,
	ACT_SORT_NEXT,
	ACT_SORT_PREV,
	ACT_SORT_INVERT,
	ACT_SORT_CPU,
	ACT_SORT_PID,
	/* functions */
	ACT_SORT_SELF_TOTAL,
	/* flame */
	ACT_FLAME_REVERSE,
	ACT_FLAME_ICICLE,
	ACT_FLAME_RESET,
	/* heatmap */
	ACT_MARK,
};

struct keymap_entry {
	int key; /* a character, a control character or an ncurses KEY_* code */
	enum keymap_scope scope;
	enum tui_action action;
	const char *help; /* starts a line of the help; NULL: this key joins the line above */
};

/* The action of `key` in view `scope`: the view's own binding first, then the global one.
 * ACT_NONE for an unbound key. */
enum tui_action keymap_lookup(enum keymap_scope scope, int key);

/* The whole table, for the help screen: entries grouped by scope, in display order; an entry
 * without help text adds its key to the help line of the entry before it. */
const struct keymap_entry *keymap_entries(size_t *n);

/* How a key is written in the help ("F6", "^L", "PgUp", "q"): a constant, or buf. */
const char *keymap_key_name(int key, char *buf, size_t len);

/* A title for a scope's section of the help ("Everywhere", "Flame graph", ...). */
const char *keymap_scope_title(enum keymap_scope scope);

#endif
