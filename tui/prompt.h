/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A one-line editor for the status line (search and filter): printable characters, Backspace,
 * Delete, Left/Right, Home/End (^A/^E), ^U to clear, Up to recall the previous entry, Enter to
 * accept, Esc to cancel. Pure state and key handling; the app draws it.
 */
#ifndef EMBER_TUI_PROMPT_H
#define EMBER_TUI_PROMPT_H

#include <stdbool.h>
#include <stddef.h>

#define PROMPT_MAX 256

enum prompt_result {
	PROMPT_EDITING,
	PROMPT_ACCEPT,
	PROMPT_CANCEL,
};

struct prompt {
	const char *label; /* shown before the text, e.g. "/" */
	char text[PROMPT_MAX];
	size_t len, cursor;	  /* bytes */
	char history[PROMPT_MAX]; /* the last accepted text */
	bool active;
};

/* Starts editing with `label` and `initial` text (may be NULL). */
void prompt_start(struct prompt *p, const char *label, const char *initial);

/* Feeds one key (a byte or an ncurses KEY_* code). */
enum prompt_result prompt_key(struct prompt *p, int key);

#endif
