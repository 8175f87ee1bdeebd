/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The terminal: takes it over with ncurses (alternate screen, cbreak, keypad, mouse) and gives it
 * back exactly as found (termios, cursor, mouse and keypad modes, main screen) on every way out:
 * a normal return, an error, a termination signal, and even a crash (a fatal-signal handler that
 * writes the saved reset sequences with async-signal-safe calls, then re-raises). Also the
 * palette: named colour roles with 256-colour, 8-colour and monochrome variants (NO_COLOR or
 * --no-color), and clipped, UTF-8-aware text output.
 */
#ifndef EMBER_TUI_SCREEN_H
#define EMBER_TUI_SCREEN_H

#include <curses.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

/* Below this the views are replaced by a message until the terminal grows. */
#define SCREEN_MIN_COLS 60
#define SCREEN_MIN_ROWS 16

enum screen_role {
	ROLE_NORMAL,
	ROLE_HEADER,	 /* the top line */
	ROLE_TAB,	 /* an inactive view tab */
	ROLE_TAB_ACTIVE, /* the current view's tab */
	ROLE_HEADING,	 /* column headings */
	ROLE_CURSOR,	 /* the selected row */
	ROLE_STATUS,	 /* the bottom line */
	ROLE_KEY,	 /* a key name in a hint */
	ROLE_ERROR,	 /* an error message */
	ROLE_DIM,	 /* secondary text */
	ROLE_MATCH,	 /* a search match in a list */
	ROLE_SPARK,	 /* sparklines */
	ROLE_LIVE,	 /* the LIVE badge */
	ROLE_HISTORY,	 /* the HISTORY / PAUSED badge */
	ROLE_SELECTION,	 /* the selected range in the heatmap */
	ROLE__COUNT,
};

/* Filled cells of the flame graph, by kind of frame. */
enum screen_palette {
	PAL_USER,
	PAL_KERNEL,
	PAL_INLINED,
	PAL_JIT,
	PAL_UNKNOWN,
	PAL_PROCESS,
	PAL_MATCH,
	PAL__COUNT,
};

#define SCREEN_HEAT_LEVELS 9 /* heatmap shades, 0 = no samples */

struct screen_opts {
	bool mono; /* no colours even if the terminal has them */
};

/*
 * Takes over the terminal on stdin/stdout. Returns 0, or -ENOTTY when either is not a terminal,
 * -EINVAL when the terminal type is unknown to terminfo (the terminal is left untouched).
 */
int screen_open(const struct screen_opts *o);

/* Gives the terminal back exactly as screen_open found it. Safe to call twice, or unopened. */
void screen_close(void);

/*
 * The termination signal that arrived (SIGINT, SIGTERM, SIGHUP, SIGQUIT), 0 when none. These
 * signals are blocked except inside screen_wait, so they are seen between two frames.
 */
int screen_signal(void);

/*
 * Waits until stdin or `fd` (-1: none) is readable, a signal arrives (a resize or a termination)
 * or timeout_ms passes (-1: no limit). Returns a bit set: 1 stdin, 2 fd, 0 on timeout or a signal.
 */
int screen_wait(int fd, int timeout_ms);

bool screen_has_colors(void);
bool screen_utf8(void);

attr_t screen_attr(enum screen_role role);

/* The attributes of a filled flame cell: palette `p`, a shade chosen by `hash` so neighbours
 * differ; `cursor` marks the frame under the cursor. */
attr_t screen_fill(enum screen_palette p, uint32_t hash, bool cursor);

/* The attributes and the character of a heatmap cell of shade 0..SCREEN_HEAT_LEVELS-1. */
attr_t screen_heat(int level, const char **cell);

/*
 * Writes `s` at (y, x) in at most `width` cells with `attr`, cutting it (with "…" or "~" in the
 * last cell when cut, if `ellipsis`), and padding with spaces to `width` when `pad`. Control
 * characters show as '?'. Returns the cells written.
 */
int screen_put(int y, int x, int width, attr_t attr, const char *s, bool pad, bool ellipsis);

/* Fills `width` cells at (y, x) with spaces in `attr`. */
void screen_fill_line(int y, int x, int width, attr_t attr);

#endif
