// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The heatmap view. The map's right edge follows the newest second until the user scrolls back;
 * counts are fetched again only when the data or the geometry changed. The mark is kept as a
 * time, so it stays on its cell while the map scrolls. The selected range becomes the model's
 * range (history), and the flame graph view opens on it.
 */
#include "tui/view_heatmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/heatmap.h"
#include "tui/screen.h"

#define LABEL_W 6

struct heat {
	bool follow;   /* the last column is the newest second */
	int64_t end_s; /* epoch second after the last column */
	struct heatmap_geom g;
	int cur_col, cur_row;
	bool marked;
	int64_t mark_t;
	bool pressed;
	int press_col, press_row;

	uint64_t *counts;
	uint64_t max;
	uint64_t gen;
	struct heatmap_geom counts_g;
	int y0, x0;
};

static void *heat_create(void)
{
	struct heat *h = calloc(1, sizeof(*h));

	if (h) {
		h->follow = true;
		h->cur_col = -1;
	}
	return h;
}

static void heat_destroy(void *st)
{
	struct heat *h = st;

	if (!h)
		return;
	free(h->counts);
	free(h);
}

static bool load_counts(struct app *a, struct heat *h)
{
	uint64_t *c = NULL;
	int err;

	if (h->counts && h->gen == a->data_gen && !memcmp(&h->counts_g, &h->g, sizeof(h->g)))
		return true;
	err = model__heatmap(a->model, h->g.t0_ns, h->g.cols, h->g.rows, &c);
	if (err) {
		app_model_failed(a, "the heatmap");
		return false;
	}
	free(h->counts);
	h->counts = c;
	h->counts_g = h->g;
	h->gen = a->data_gen;
	h->max = 0;
	for (size_t i = 0; i < (size_t)h->g.cols * (size_t)h->g.rows; i++)
		if (c[i] > h->max)
			h->max = c[i];
	return true;
}

/* The pending selection (mark to cursor) or the model's range, for highlighting. */
static bool selected(const struct heat *h, int64_t t, int64_t from, int64_t to)
{
	return t >= from && t < to;
}

static void pending_range(const struct heat *h, int64_t *from, int64_t *to)
{
	int mc, mr;

	*from = *to = 0;
	if (!h->marked || heatmap_cell_of(&h->g, h->mark_t, &mc, &mr))
		return;
	heatmap_selection(&h->g, mc, mr, h->cur_col, h->cur_row, from, to);
}

static void heat_draw(struct app *a, void *st, int y, int hgt, int w)
{
	struct heat *h = st;
	const struct model_info *info = model__info(a->model);
	int64_t pfrom, pto, last_s = info->last_ns / HEATMAP_NS_PER_S + 1;
	char buf[256], clock[32];
	int rows = heatmap_rows_for(hgt - 3), cols = w - LABEL_W - 2;

	if (cols < 1)
		return;
	if (h->follow || !h->end_s)
		h->end_s = info->last_ns ? last_s : 0;
	h->g.rows = rows;
	h->g.cols = cols;
	h->g.t0_ns = (h->end_s - cols) * HEATMAP_NS_PER_S;
	if (h->cur_col < 0 || h->cur_col >= cols)
		h->cur_col = cols - 1;
	if (h->cur_row >= rows)
		h->cur_row = rows - 1;
	h->y0 = y + 1;
	h->x0 = LABEL_W + 1;
	if (!info->last_ns) {
		screen_put(y + 2, 2, w - 4, screen_attr(ROLE_DIM),
			   "No samples yet: waiting for the collector's first flush.", false, true);
		return;
	}
	if (!load_counts(a, h))
		return;
	pending_range(h, &pfrom, &pto);

	snprintf(buf, sizeof(buf),
		 " Heatmap  a column per second, a row per %d ms  darkest: %llu samples  %s",
		 1000 / rows, (unsigned long long)h->max,
		 h->marked ? "Enter: flame graph of the marked range  Esc: unmark"
			   : "m: mark a start  Enter: flame graph");
	screen_fill_line(y, 0, w, screen_attr(ROLE_HEADING));
	screen_put(y, 0, w, screen_attr(ROLE_HEADING), buf, false, true);
	for (int r = 0; r < rows; r++) {
		int ms = r * 1000 / rows;

		if (ms % 250 == 0 && (r * 1000) % rows == 0) {
			snprintf(buf, sizeof(buf), "%4dms", ms);
			screen_put(h->y0 + r, 0, LABEL_W, screen_attr(ROLE_DIM), buf, false, false);
		}
		for (int c = 0; c < cols; c++) {
			uint64_t n = h->counts[(size_t)c * (size_t)rows + (size_t)r];
			int64_t t = heatmap_cell_start(&h->g, c, r);
			const char *cell;
			attr_t at =
			    screen_heat(heatmap_shade(n, h->max, SCREEN_HEAT_LEVELS), &cell);

			if (c == h->cur_col && r == h->cur_row)
				at = screen_attr(ROLE_CURSOR), cell = "+";
			else if (h->marked && selected(h, t, pfrom, pto))
				at |= A_REVERSE;
			screen_put(h->y0 + r, h->x0 + c, 1, at, cell, false, false);
		}
	}
	/* The model's range under the map, then the time axis. */
	for (int c = 0; c < cols; c++) {
		int64_t t0 = heatmap_cell_start(&h->g, c, 0);
		int64_t t1 = t0 + HEATMAP_NS_PER_S;

		if (t1 > info->from_ns && t0 < info->to_ns)
			screen_put(h->y0 + rows, h->x0 + c, 1, screen_attr(ROLE_SELECTION), "=",
				   false, false);
	}
	screen_put(h->y0 + rows, 0, LABEL_W, screen_attr(ROLE_DIM), "range", false, false);
	for (int c = 0; c + 8 <= cols; c += 10) {
		app_clock(clock, sizeof(clock), heatmap_cell_start(&h->g, c, 0), 0);
		screen_put(h->y0 + rows + 1, h->x0 + c, 9, screen_attr(ROLE_DIM), clock, false,
			   false);
	}
}

static void open_range(struct app *a, struct heat *h, int64_t from, int64_t to)
{
	char f[32], t[32], d[32];

	model__set_range(a->model, from, to);
	app_clock(f, sizeof(f), from, 3);
	app_clock(t, sizeof(t), to, 3);
	app_duration(d, sizeof(d), to - from);
	h->marked = false;
	app_show(a, TUI_VIEW_FLAME);
	app_message(a, "Flame graph of %s to %s (%s); L: back to live", f, t, d);
}

static void select_to(struct app *a, struct heat *h, int col, int row)
{
	int64_t from, to;
	int mc, mr;

	if (h->marked && !heatmap_cell_of(&h->g, h->mark_t, &mc, &mr)) {
		heatmap_selection(&h->g, mc, mr, col, row, &from, &to);
	} else {
		/* No mark: the cursor's whole second. */
		from = heatmap_cell_start(&h->g, col, 0);
		to = from + HEATMAP_NS_PER_S;
	}
	open_range(a, h, from, to);
}

static void scroll_by(struct app *a, struct heat *h, int64_t by_s)
{
	const struct model_info *info = model__info(a->model);
	int64_t last_s = info->last_ns / HEATMAP_NS_PER_S + 1;
	int64_t first_s = info->first_ns / HEATMAP_NS_PER_S;

	h->end_s += by_s;
	if (h->end_s > last_s)
		h->end_s = last_s;
	if (h->end_s - h->g.cols < first_s - h->g.cols / 2)
		h->end_s = first_s + h->g.cols / 2;
	h->follow = h->end_s >= last_s;
}

static bool heat_action(struct app *a, void *st, enum tui_action act)
{
	struct heat *h = st;

	if (!h->g.cols)
		return false;
	switch (act) {
	case ACT_LEFT:
		if (h->cur_col > 0)
			h->cur_col--;
		else
			scroll_by(a, h, -1);
		return true;
	case ACT_RIGHT:
		if (h->cur_col + 1 < h->g.cols)
			h->cur_col++;
		else
			scroll_by(a, h, 1);
		return true;
	case ACT_UP:
		if (h->cur_row > 0)
			h->cur_row--;
		return true;
	case ACT_DOWN:
		if (h->cur_row + 1 < h->g.rows)
			h->cur_row++;
		return true;
	case ACT_PAGE_UP:
		scroll_by(a, h, -h->g.cols / 2);
		return true;
	case ACT_PAGE_DOWN:
		scroll_by(a, h, h->g.cols / 2);
		return true;
	case ACT_HOME:
		scroll_by(a, h, -((int64_t)1 << 40));
		h->cur_col = 0;
		return true;
	case ACT_END:
		h->follow = true;
		h->cur_col = h->g.cols - 1;
		return true;
	case ACT_MARK:
		h->marked = true;
		h->mark_t = heatmap_cell_start(&h->g, h->cur_col, h->cur_row);
		app_message(a, "Marked; move to the end of the range and press Enter");
		return true;
	case ACT_ENTER:
		select_to(a, h, h->cur_col, h->cur_row);
		return true;
	case ACT_BACK:
		if (h->marked)
			h->marked = false;
		return true;
	default:
		return false;
	}
}

static void heat_mouse(struct app *a, void *st, int y, int x, enum view_mouse ev)
{
	struct heat *h = st;
	int col = x - h->x0, row = y - 1;

	if (col < 0 || col >= h->g.cols || row < 0 || row >= h->g.rows) {
		h->pressed = false;
		return;
	}
	if (ev != VIEW_MOUSE_RELEASE) {
		h->pressed = true;
		h->press_col = col;
		h->press_row = row;
		h->cur_col = col;
		h->cur_row = row;
		return;
	}
	if (!h->pressed)
		return;
	h->pressed = false;
	if (col != h->press_col || row != h->press_row) {
		/* A drag selects from the press to the release. */
		h->marked = true;
		h->mark_t = heatmap_cell_start(&h->g, h->press_col, h->press_row);
		select_to(a, h, col, row);
	} else if (h->marked) {
		select_to(a, h, col, row);
	} else {
		h->marked = true;
		h->mark_t = heatmap_cell_start(&h->g, col, row);
		app_message(a, "Marked; click the end of the range");
	}
}

static void heat_status(struct app *a, void *st, char *buf, size_t len)
{
	struct heat *h = st;
	char clock[32];
	uint64_t n = 0;

	if (!h->counts || h->cur_col < 0 || h->cur_col >= h->g.cols) {
		snprintf(buf, len, "m: mark a start   Enter: flame graph of the range");
		return;
	}
	if (!memcmp(&h->counts_g, &h->g, sizeof(h->g)))
		n = h->counts[(size_t)h->cur_col * (size_t)h->g.rows + (size_t)h->cur_row];
	app_clock(clock, sizeof(clock), heatmap_cell_start(&h->g, h->cur_col, h->cur_row), 3);
	snprintf(buf, len, "%s  %llu samples   m: mark   Enter: flame graph   drag: select", clock,
		 (unsigned long long)n);
}

const struct view_ops view_heatmap_ops = {
	.title = "Heatmap",
	.scope = KEYMAP_HEATMAP,
	.create = heat_create,
	.destroy = heat_destroy,
	.draw = heat_draw,
	.action = heat_action,
	.mouse = heat_mouse,
	.status = heat_status,
};
