// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The flame graph view. The model rebuilds its tree when the data changes, so the zoomed node and
 * the cursor are also kept as paths of function ids from the root and found again in each new
 * tree (as far as they still exist). A key press only re-lays out (when the zoom or the width
 * changed) and redraws: tui/flame.c's layout touches only the nodes wide enough to show.
 */
#include "tui/view_flame.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/flame.h"
#include "tui/screen.h"

#define PATH_MAX_DEPTH 1024

struct path {
	uint32_t funcs[PATH_MAX_DEPTH];
	uint32_t n;
};

struct flame {
	bool reversed, icicle;
	const struct flame_tree *tree; /* the model's; valid while gen == app data_gen */
	uint64_t gen;
	uint64_t other_gen; /* data_gen of the other orientation's tree, built ahead */
	uint32_t zoom, cursor;
	struct path zoom_path, cursor_path;

	struct flame_rects rects;
	bool layout_ok;
	int layout_w;
	uint32_t layout_zoom;

	uint8_t *node_match;
	uint32_t node_match_cap;
	uint64_t matched;
	uint64_t match_gen, match_search; /* data_gen and search_gen of node_match */
	bool match_ok;

	int scroll;   /* the depth shown on the first row next to the root side */
	int y0, rows; /* geometry of the last draw, for the mouse */
	uint32_t first_depth;
};

static void *flame_create(void)
{
	struct flame *f = calloc(1, sizeof(*f));

	return f;
}

static void flame_destroy(void *st)
{
	struct flame *f = st;

	if (!f)
		return;
	flame_rects_free(&f->rects);
	free(f->node_match);
	free(f);
}

static void path_of(const struct flame_tree *t, uint32_t node, struct path *p)
{
	uint32_t d = flame_tree__node(t, node)->depth;

	if (d > PATH_MAX_DEPTH)
		d = PATH_MAX_DEPTH;
	p->n = 0;
	for (uint32_t a = node; a != FLAME_ROOT && a != FLAME_NONE;
	     a = flame_tree__node(t, a)->parent) {
		uint32_t depth = flame_tree__node(t, a)->depth;

		if (depth <= PATH_MAX_DEPTH)
			p->funcs[depth - 1] = flame_tree__node(t, a)->func;
	}
	p->n = d;
}

static uint32_t node_of(const struct flame_tree *t, const struct path *p)
{
	uint32_t node = FLAME_ROOT;

	for (uint32_t i = 0; i < p->n; i++) {
		uint32_t c = flame_tree__child(t, node, p->funcs[i]);

		if (c == FLAME_NONE)
			break;
		node = c;
	}
	return node;
}

static void set_cursor(struct flame *f, uint32_t node)
{
	f->cursor = node;
	path_of(f->tree, node, &f->cursor_path);
}

static void set_zoom(struct flame *f, uint32_t node)
{
	f->zoom = node;
	path_of(f->tree, node, &f->zoom_path);
	f->layout_ok = false;
}

/* The model's tree for the current data; re-finds the zoom and the cursor in a new tree. */
static bool load_tree(struct app *a, struct flame *f)
{
	if (f->tree && f->gen == a->data_gen)
		return true;
	f->tree = model__flame(a->model, f->reversed);
	if (!f->tree) {
		app_model_failed(a, "the flame graph");
		return false;
	}
	f->gen = a->data_gen;
	f->zoom = node_of(f->tree, &f->zoom_path);
	f->cursor = node_of(f->tree, &f->cursor_path);
	f->layout_ok = false;
	f->match_ok = false;
	return true;
}

static bool relayout(struct app *a, struct flame *f, int w)
{
	int err;

	if (f->layout_ok && f->layout_w == w && f->layout_zoom == f->zoom)
		return true;
	err = flame_layout(f->tree, f->zoom, w, &f->rects);
	if (err) {
		app_fail(a, err, "cannot lay out the flame graph: %s", strerror(-err));
		return false;
	}
	f->layout_ok = true;
	f->layout_w = w;
	f->layout_zoom = f->zoom;
	/* A cursor too narrow to show moves to its nearest ancestor that shows. */
	while (flame_rects_find(&f->rects, f->cursor) < 0 && f->cursor != FLAME_ROOT)
		f->cursor = flame_tree__node(f->tree, f->cursor)->parent;
	return true;
}

static bool update_matches(struct app *a, struct flame *f)
{
	uint32_t count = flame_tree__count(f->tree), nfm;
	const uint8_t *fm;

	if (!a->search_on) {
		f->match_ok = false;
		return true;
	}
	if (f->match_ok && f->match_gen == a->data_gen && f->match_search == a->search_gen)
		return true;
	if (count > f->node_match_cap) {
		uint8_t *nm = realloc(f->node_match, count);

		if (!nm) {
			app_fail(a, -ENOMEM, "out of memory");
			return false;
		}
		f->node_match = nm;
		f->node_match_cap = count;
	}
	fm = app_func_matches(a, &nfm);
	f->matched = fm ? flame_match(f->tree, fm, nfm, f->node_match) : 0;
	f->match_ok = fm != NULL;
	f->match_gen = a->data_gen;
	f->match_search = a->search_gen;
	return true;
}

static bool matches(const struct flame *f, uint32_t node)
{
	return f->match_ok && (f->node_match[node] & FLAME_MATCH);
}

static enum screen_palette palette_of(enum model_kind k)
{
	switch (k) {
	case MODEL_KIND_KERNEL:
		return PAL_KERNEL;
	case MODEL_KIND_INLINED:
		return PAL_INLINED;
	case MODEL_KIND_JIT:
		return PAL_JIT;
	case MODEL_KIND_UNKNOWN:
		return PAL_UNKNOWN;
	case MODEL_KIND_PROCESS:
		return PAL_PROCESS;
	default:
		return PAL_USER;
	}
}

static const char *node_name(struct app *a, const struct flame *f, uint32_t node)
{
	const struct flame_node *n = flame_tree__node(f->tree, node);
	const struct model_func *mf;

	if (node == FLAME_ROOT)
		return f->reversed ? "all (leaves at the root: callers above)" : "all";
	mf = model__func(a->model, n->func);
	return mf ? mf->name : "?";
}

/* The screen row of a depth, or -1 when it is scrolled out. */
static int row_of(const struct flame *f, uint32_t depth)
{
	int d = (int)depth - f->scroll;

	if (d < 0 || d >= f->rows)
		return -1;
	return f->icicle ? f->y0 + d : f->y0 + f->rows - 1 - d;
}

static void keep_cursor_visible(struct flame *f)
{
	int d = (int)flame_tree__node(f->tree, f->cursor)->depth;
	uint32_t deepest = f->rects.n ? f->rects.v[f->rects.n - 1].depth : 0;

	if (d < f->scroll)
		f->scroll = d;
	if (d >= f->scroll + f->rows)
		f->scroll = d - f->rows + 1;
	/* Never leave empty rows at the leaf side while deeper frames are hidden at the root. */
	if (f->scroll > 0 && (int)deepest - f->scroll + 1 < f->rows)
		f->scroll = (int)deepest - f->rows + 1 > 0 ? (int)deepest - f->rows + 1 : 0;
	if (d < f->scroll)
		f->scroll = d;
}

static void draw_rect(struct app *a, struct flame *f, const struct flame_rect *r)
{
	const struct flame_node *n = flame_tree__node(f->tree, r->node);
	const struct model_func *mf = model__func(a->model, n->func);
	bool cur = r->node == f->cursor;
	enum screen_palette pal = r->node == FLAME_ROOT ? PAL_PROCESS
				  : matches(f, r->node) ? PAL_MATCH
				  : mf			? palette_of(mf->kind)
							: PAL_UNKNOWN;
	attr_t at = screen_fill(pal, n->func * 2654435761u >> 7, cur);
	int y = row_of(f, r->depth), w = r->w;

	if (y < 0)
		return;
	/* Frames three cells wide or more end in a gap, so neighbours of one colour stay apart. */
	if (w >= 3) {
		screen_put(y, r->x, w - 1, at, node_name(a, f, r->node), true, true);
		screen_put(y, r->x + w - 1, 1, A_NORMAL, " ", false, false);
	} else {
		screen_put(y, r->x, w, at, w == 2 ? node_name(a, f, r->node) : " ", true, false);
	}
}

static void flame_draw(struct app *a, void *st, int y, int h, int w)
{
	struct flame *f = st;
	const struct flame_node *root, *zoom;
	char buf[600], pct[16], zp[16];

	if (!load_tree(a, f) || !relayout(a, f, w) || !update_matches(a, f))
		return;
	f->y0 = y + 1;
	f->rows = h - 1;
	root = flame_tree__node(f->tree, FLAME_ROOT);
	zoom = flame_tree__node(f->tree, f->zoom);
	keep_cursor_visible(f);

	/* The first line: what is shown. */
	app_percent(zp, sizeof(zp), zoom->total, root->total);
	snprintf(buf, sizeof(buf), " %s%s  %llu samples",
		 f->reversed ? "Callers (reversed)" : "Flame graph", f->icicle ? ", icicle" : "",
		 (unsigned long long)root->total);
	if (f->zoom != FLAME_ROOT)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "  zoom: %s (%s)",
			 node_name(a, f, f->zoom), zp);
	if (a->search_on) {
		app_percent(pct, sizeof(pct), f->matched, root->total);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			 "  search /%s/: %s matched (%llu samples)", a->search_text,
			 f->match_ok ? pct : "-", (unsigned long long)f->matched);
	}
	screen_fill_line(y, 0, w, screen_attr(ROLE_HEADING));
	screen_put(y, 0, w, screen_attr(ROLE_HEADING), buf, false, true);
	if (!root->total) {
		screen_put(y + 2, 2, w - 4, screen_attr(ROLE_DIM),
			   model__info(a->model)->last_ns ? "No samples in this window for this "
							    "filter."
							  : "No samples yet: waiting for the "
							    "collector's first flush.",
			   false, true);
		return;
	}
	for (size_t i = 0; i < f->rects.n; i++)
		draw_rect(a, f, &f->rects.v[i]);
}

/* The rectangle of depth `depth` covering column x, or -1. */
static long rect_at(const struct flame *f, uint32_t depth, int x)
{
	for (size_t i = 0; i < f->rects.n; i++) {
		const struct flame_rect *r = &f->rects.v[i];

		if (r->depth == depth && x >= r->x && x < r->x + r->w)
			return (long)i;
	}
	return -1;
}

/* The widest child of the cursor that shows, or FLAME_NONE. */
static uint32_t widest_child(const struct flame *f, uint32_t node)
{
	/* Children are sorted by total: the first one laid out is the widest. */
	for (uint32_t c = flame_tree__node(f->tree, node)->first_child; c != FLAME_NONE;
	     c = flame_tree__node(f->tree, c)->next_sibling)
		if (flame_rects_find(&f->rects, c) >= 0)
			return c;
	return FLAME_NONE;
}

static bool find_match(struct app *a, struct flame *f, int dir)
{
	long ci = flame_rects_find(&f->rects, f->cursor);
	size_t n = f->rects.n;

	if (!a->search_on) {
		app_message(a, "No search: / starts one");
		return false;
	}
	if (!f->match_ok || !n)
		return false;
	for (size_t k = 1; k <= n; k++) {
		size_t i = (size_t)((ci < 0 ? 0 : ci) + (long)n + dir * (long)k) % n;

		if (matches(f, f->rects.v[i].node)) {
			set_cursor(f, f->rects.v[i].node);
			return true;
		}
	}
	app_message(a, "No frame shown matches /%s/ (zoom out with u)", a->search_text);
	return false;
}

static void toward_leaf(struct flame *f)
{
	uint32_t node = widest_child(f, f->cursor);

	if (node != FLAME_NONE)
		set_cursor(f, node);
}

static void toward_root(struct flame *f)
{
	if (f->cursor != FLAME_ROOT)
		set_cursor(f, flame_tree__node(f->tree, f->cursor)->parent);
}

static bool flame_action(struct app *a, void *st, enum tui_action act)
{
	struct flame *f = st;
	uint32_t node;
	long ci;

	switch (act) {
	case ACT_FLAME_REVERSE:
		f->reversed = !f->reversed;
		f->tree = NULL;
		f->zoom = f->cursor = FLAME_ROOT;
		f->zoom_path.n = f->cursor_path.n = 0;
		f->scroll = 0;
		app_message(a, f->reversed ? "Reversed: each leaf at the bottom, its callers above"
					   : "Flame graph: callers below, callees above");
		return true;
	case ACT_FLAME_ICICLE:
		f->icicle = !f->icicle;
		return true;
	default:
		break;
	}
	/* The rest moves over the last layout. */
	if (!f->tree || f->gen != a->data_gen || !f->layout_ok)
		return false;
	ci = flame_rects_find(&f->rects, f->cursor);
	switch (act) {
	case ACT_LEFT:
	case ACT_RIGHT:
		if (ci >= 0) {
			long j = ci + (act == ACT_LEFT ? -1 : 1);

			if (j >= 0 && (size_t)j < f->rects.n &&
			    f->rects.v[j].depth == f->rects.v[ci].depth)
				set_cursor(f, f->rects.v[j].node);
		}
		return true;
	case ACT_UP:
	case ACT_DOWN:
		/* Up the screen goes toward the leaves in a flame graph, the root in an icicle. */
		if ((act == ACT_UP) != f->icicle)
			toward_leaf(f);
		else
			toward_root(f);
		return true;
	case ACT_PAGE_UP:
	case ACT_PAGE_DOWN:
		for (int i = 0; i < (f->rows > 2 ? f->rows / 2 : 1); i++)
			if ((act == ACT_PAGE_UP) != f->icicle)
				toward_leaf(f);
			else
				toward_root(f);
		return true;
	case ACT_HOME:
		set_cursor(f, FLAME_ROOT);
		return true;
	case ACT_END:
		/* The hottest path: down the widest child while it holds more samples than end in
		 * the frame itself. */
		while ((node = widest_child(f, f->cursor)) != FLAME_NONE &&
		       flame_tree__node(f->tree, node)->total >
			   flame_tree__node(f->tree, f->cursor)->self)
			set_cursor(f, node);
		return true;
	case ACT_ENTER:
		set_zoom(f, f->cursor);
		if (f->zoom != FLAME_ROOT)
			app_message(a, "Zoomed into %s; Esc zooms out, u all the way",
				    node_name(a, f, f->zoom));
		return true;
	case ACT_BACK:
		if (f->zoom != FLAME_ROOT)
			set_zoom(f, flame_tree__node(f->tree, f->zoom)->parent);
		else
			app_message(a, "Not zoomed");
		return true;
	case ACT_FLAME_RESET:
		set_zoom(f, FLAME_ROOT);
		return true;
	case ACT_NEXT_MATCH:
	case ACT_PREV_MATCH:
		find_match(a, f, act == ACT_NEXT_MATCH ? 1 : -1);
		return true;
	default:
		return false;
	}
}

static void flame_mouse(struct app *a, void *st, int y, int x, enum view_mouse ev)
{
	struct flame *f = st;
	long i;
	int d;

	if (ev == VIEW_MOUSE_RELEASE || y < 1 || !f->layout_ok || f->gen != a->data_gen)
		return;
	d = f->icicle ? y - 1 : f->rows - y;
	if (d < 0)
		return;
	i = rect_at(f, (uint32_t)(d + f->scroll), x);
	if (i < 0)
		return;
	set_cursor(f, f->rects.v[i].node);
	if (ev == VIEW_MOUSE_DOUBLE)
		flame_action(a, f, ACT_ENTER);
}

static void flame_status(struct app *a, void *st, char *buf, size_t len)
{
	struct flame *f = st;
	const struct flame_node *n, *root, *zoom;
	const struct model_func *mf;
	char all[16], inzoom[16], self[16];
	static const char *const kinds[MODEL_KIND__COUNT] = {
		[MODEL_KIND_USER] = "user",	  [MODEL_KIND_KERNEL] = "kernel",
		[MODEL_KIND_INLINED] = "inlined", [MODEL_KIND_JIT] = "JIT",
		[MODEL_KIND_UNKNOWN] = "unknown", [MODEL_KIND_PROCESS] = "command",
	};

	if (!f->tree || f->gen != a->data_gen) {
		snprintf(buf, len, " ");
		return;
	}
	n = flame_tree__node(f->tree, f->cursor);
	root = flame_tree__node(f->tree, FLAME_ROOT);
	zoom = flame_tree__node(f->tree, f->zoom);
	mf = f->cursor == FLAME_ROOT ? NULL : model__func(a->model, n->func);
	app_percent(all, sizeof(all), n->total, root->total);
	app_percent(inzoom, sizeof(inzoom), n->total, zoom->total);
	app_percent(self, sizeof(self), n->self, root->total);
	snprintf(buf, len, "%s  %llu samples  %s%s%s%s  self %s  %s%s%s",
		 node_name(a, f, f->cursor), (unsigned long long)n->total, all,
		 f->zoom != FLAME_ROOT ? " (" : "", f->zoom != FLAME_ROOT ? inzoom : "",
		 f->zoom != FLAME_ROOT ? " of zoom)" : "", self, mf ? kinds[mf->kind] : "",
		 mf && mf->module ? "  " : "", mf && mf->module ? mf->module : "");
}

/* The other orientation's tree, built while the user looks at this one, so that `r` answers
 * at once even on hundreds of thousands of stacks (a build takes a few hundred ms there). */
static bool flame_idle(struct app *a, void *st)
{
	struct flame *f = st;

	if (!f->tree || f->gen != a->data_gen || f->other_gen == a->data_gen)
		return false;
	f->other_gen = a->data_gen;
	if (!model__flame(a->model, !f->reversed))
		app_model_failed(a, "the flame graph");
	return true;
}

const struct view_ops view_flame_ops = {
	.title = "Flame graph",
	.scope = KEYMAP_FLAME,
	.create = flame_create,
	.destroy = flame_destroy,
	.draw = flame_draw,
	.action = flame_action,
	.mouse = flame_mouse,
	.status = flame_status,
	.idle = flame_idle,
};
