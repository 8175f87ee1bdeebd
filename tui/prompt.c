// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The status-line editor. UTF-8 text is kept as bytes; the cursor moves over whole characters. */
#include "tui/prompt.h"

#include <curses.h>
#include <string.h>

#define CTRL(c) ((c)&0x1f)

void prompt_start(struct prompt *p, const char *label, const char *initial)
{
	p->label = label;
	p->len = 0;
	if (initial) {
		p->len = strlen(initial);
		if (p->len >= PROMPT_MAX)
			p->len = PROMPT_MAX - 1;
		memcpy(p->text, initial, p->len);
	}
	p->text[p->len] = '\0';
	p->cursor = p->len;
	p->active = true;
}

static bool continuation(char c)
{
	return ((unsigned char)c & 0xc0) == 0x80;
}

static void delete_at(struct prompt *p, size_t at)
{
	size_t end = at + 1;

	if (at >= p->len)
		return;
	while (end < p->len && continuation(p->text[end]))
		end++;
	memmove(p->text + at, p->text + end, p->len - end + 1);
	p->len -= end - at;
}

enum prompt_result prompt_key(struct prompt *p, int key)
{
	switch (key) {
	case '\n':
	case '\r':
	case KEY_ENTER:
		p->active = false;
		memcpy(p->history, p->text, p->len + 1);
		return PROMPT_ACCEPT;
	case 27: /* Esc */
	case CTRL('c'):
	case CTRL('g'):
		p->active = false;
		return PROMPT_CANCEL;
	case KEY_BACKSPACE:
	case 127:
	case CTRL('h'):
		if (!p->cursor) {
			if (!p->len) { /* Backspace on an empty line cancels, as in less */
				p->active = false;
				return PROMPT_CANCEL;
			}
			break;
		}
		do
			p->cursor--;
		while (p->cursor && continuation(p->text[p->cursor]));
		delete_at(p, p->cursor);
		break;
	case KEY_DC:
	case CTRL('d'):
		delete_at(p, p->cursor);
		break;
	case KEY_LEFT:
	case CTRL('b'):
		while (p->cursor && continuation(p->text[--p->cursor]))
			;
		break;
	case KEY_RIGHT:
	case CTRL('f'):
		if (p->cursor < p->len)
			do
				p->cursor++;
			while (p->cursor < p->len && continuation(p->text[p->cursor]));
		break;
	case KEY_HOME:
	case CTRL('a'):
		p->cursor = 0;
		break;
	case KEY_END:
	case CTRL('e'):
		p->cursor = p->len;
		break;
	case CTRL('u'):
		p->len = p->cursor = 0;
		p->text[0] = '\0';
		break;
	case KEY_UP:
		prompt_start(p, p->label, p->history);
		break;
	default:
		if (key >= 0x20 && key < 0x100 && key != 0x7f && p->len + 1 < PROMPT_MAX) {
			memmove(p->text + p->cursor + 1, p->text + p->cursor,
				p->len - p->cursor + 1);
			p->text[p->cursor++] = (char)key;
			p->len++;
		}
		break;
	}
	return PROMPT_EDITING;
}
