// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The scrolling list: cursor and scroll arithmetic. */
#include "tui/list.h"

void list_clamp(struct list *l, size_t n, int page)
{
	size_t p = page > 0 ? (size_t)page : 1;

	if (!n) {
		l->cursor = l->top = 0;
		return;
	}
	if (l->cursor >= n)
		l->cursor = n - 1;
	if (l->cursor < l->top)
		l->top = l->cursor;
	if (l->cursor >= l->top + p)
		l->top = l->cursor - p + 1;
	/* No empty space below the last row when the list could fill the page. */
	if (l->top + p > n)
		l->top = n > p ? n - p : 0;
}

bool list_move(struct list *l, size_t n, int page, enum tui_action act)
{
	size_t p = page > 1 ? (size_t)page - 1 : 1;

	switch (act) {
	case ACT_UP:
		if (l->cursor)
			l->cursor--;
		break;
	case ACT_DOWN:
		l->cursor++;
		break;
	case ACT_PAGE_UP:
		l->cursor = l->cursor > p ? l->cursor - p : 0;
		if (l->top > p)
			l->top -= p;
		else
			l->top = 0;
		break;
	case ACT_PAGE_DOWN:
		l->cursor += p;
		l->top += p;
		break;
	case ACT_HOME:
		l->cursor = 0;
		break;
	case ACT_END:
		l->cursor = n ? n - 1 : 0;
		break;
	default:
		return false;
	}
	list_clamp(l, n, page);
	return true;
}
