/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the views share with the app loop: the app's state they read (the model, the search), the
 * services they call (messages, view switching, failure) and the interface each view implements.
 */
#ifndef EMBER_TUI_INTERNAL_H
#define EMBER_TUI_INTERNAL_H

#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tui/app.h"
#include "tui/keymap.h"
#include "tui/model.h"

enum view_mouse {
	VIEW_MOUSE_PRESS,
	VIEW_MOUSE_RELEASE,
	VIEW_MOUSE_DOUBLE, /* a second press on the same cell soon after the first */
};

struct app;

/* A view, as const data. Its state is opaque to the app. */
struct view_ops {
	const char *title;
	enum keymap_scope scope;
	void *(*create)(void);
	void (*destroy)(void *st);
	/* Draws into rows [y, y + h) of the screen, `w` columns. */
	void (*draw)(struct app *a, void *st, int y, int h, int w);
	/* Handles an action; false when the view does not use it. */
	bool (*action)(struct app *a, void *st, enum tui_action act);
	/* A mouse event at (y, x), relative to the view's first row. */
	void (*mouse)(struct app *a, void *st, int y, int x, enum view_mouse ev);
	/* The status line while this view shows. */
	void (*status)(struct app *a, void *st, char *buf, size_t len);
	/* Optional: work worth doing ahead while no key waits (e.g. building what the next key
	 * will likely need). Called once after each frame; returns true when it did some. */
	bool (*idle)(struct app *a, void *st);
};

struct app {
	const struct tui_opts *opts;
	struct model *model;
	enum tui_view view;
	void *state[TUI_VIEW__COUNT];
	int view_h; /* rows of the view area at the last draw */

	/* the search, shared by the views */
	bool search_on;
	uint64_t search_gen; /* bumped whenever the search changes */
	char search_text[256];
	bool search_literal; /* no regex metacharacters: a substring search, far cheaper */
	bool search_icase;
	regex_t search_re;
	uint8_t *func_match; /* per function id: its display name matches */
	uint32_t func_match_n, func_match_cap;

	/* the in-process recorder's last message */
	char recorder_line[256];

	/* a message on the status line until status_until (CLOCK_MONOTONIC ns) */
	char message[256];
	bool message_error;
	int64_t message_until;

	uint64_t data_gen; /* bumped whenever the model's data changed */
	bool by_thread;
	bool paused;
	bool following; /* a writer holds the database (starts as opts->following) */
	/* the collector's own cost, its newest row, while following a collector that wrote one */
	struct storage_self self;
	bool self_known;
	int err; /* set by app_fail: the loop ends */
	char errmsg[512];
};

/* A message on the status line for a few seconds. */
__attribute__((format(printf, 2, 3))) void app_message(struct app *a, const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void app_error_message(struct app *a, const char *fmt, ...);

/* Ends the run with `err` (-errno) and a reason. */
__attribute__((format(printf, 3, 4))) void app_fail(struct app *a, int err, const char *fmt, ...);

/* Switches to another view. */
void app_show(struct app *a, enum tui_view v);

/* Whether the search is on and matches `s`. */
bool app_search_matches(struct app *a, const char *s);

/* Per function id, non-zero when its name matches the search (NULL when the search is off);
 * *n is the number of entries. Valid until the next model refresh or search. */
const uint8_t *app_func_matches(struct app *a, uint32_t *n);

/* Formats a sample count as a share of `total` ("12.3%"), "-" when total is 0. */
void app_percent(char *buf, size_t len, uint64_t part, uint64_t total);

/* CPU use of `samples` over the selection, in % of one CPU; -1 when the rate is unknown. */
double app_cpu_percent(struct app *a, uint64_t samples);

/* Formats a time of day (local) with `decimals` digits of seconds, into buf. */
void app_clock(char *buf, size_t len, int64_t ns, int decimals);

/* Formats a duration compactly ("500ms", "10s", "5m", "2h"). */
void app_duration(char *buf, size_t len, int64_t ns);

/* The model's data, or a failure: a view calls this when the model returns NULL. */
void app_model_failed(struct app *a, const char *what);

#endif
