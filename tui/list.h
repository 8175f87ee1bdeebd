/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The scrolling list widget shared by the processes and functions views: a cursor and the first
 * visible row over n rows shown `page` at a time, moved by the usual actions (line, page,
 * first, last). Pure arithmetic, unit-tested.
 */
#ifndef EMBER_TUI_LIST_H
#define EMBER_TUI_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "tui/keymap.h"

struct list {
	size_t cursor; /* the selected row, < n (0 when empty) */
	size_t top;    /* the first visible row */
};

/* Moves for ACT_UP, ACT_DOWN, ACT_PAGE_UP, ACT_PAGE_DOWN, ACT_HOME, ACT_END; false for any other
 * action (nothing changes). Keeps the cursor visible. */
bool list_move(struct list *l, size_t n, int page, enum tui_action act);

/* Clamps the cursor to n rows and scrolls so that it is visible in a page of `page` rows. */
void list_clamp(struct list *l, size_t n, int page);

#endif
