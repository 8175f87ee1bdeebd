// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The functions view. The list is the model's functions (self descending) or a copy sorted by
 * total; the selection follows its function id across refreshes. The callers and callees panel is
 * one list with two headings that the cursor skips; following a caller or callee pushes the
 * current function on a short history that Esc pops.
 */
#include "tui/view_funcs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/list.h"
#include "tui/screen.h"

#define HISTORY_MAX 32

struct funcs {
	struct list list;
	bool by_total;
	struct model_fcount *rows;
	size_t nrows, cap;
	uint64_t gen;
	bool resort;
	uint32_t sel; /* the selected function id */

	bool detail; /* the callers and callees panel is open */
	uint32_t func;
	struct model_fcount *callers, *callees;
	size_t ncallers, ncallees;
	uint64_t detail_gen;
	struct list dlist;
	uint32_t history[HISTORY_MAX];
	int nhistory;
};

static void *funcs_create(void)
{
	struct funcs *f = calloc(1, sizeof(*f));

	if (f)
		f->sel = MODEL_NO_FUNC;
	return f;
}

static void free_detail(struct funcs *f)
{
	free(f->callers);
	free(f->callees);
	f->callers = f->callees = NULL;
	f->ncallers = f->ncallees = 0;
}

static void funcs_destroy(void *st)
{
	struct funcs *f = st;

	if (!f)
		return;
	free_detail(f);
	free(f->rows);
	free(f);
}

static int cmp_total(const void *x, const void *y)
{
	const struct model_fcount *a = x, *b = y;

	if (a->total != b->total)
		return a->total > b->total ? -1 : 1;
	if (a->self != b->self)
		return a->self > b->self ? -1 : 1;
	return a->func < b->func ? -1 : a->func > b->func;
}

static bool update_rows(struct app *a, struct funcs *f)
{
	const struct model_fcount *v;
	size_t n;

	if (f->gen == a->data_gen && !f->resort && f->rows)
		return true;
	v = model__functions(a->model, &n);
	if (!v) {
		app_model_failed(a, "functions");
		return false;
	}
	if (n + 1 > f->cap) {
		struct model_fcount *nr = realloc(f->rows, (n + 1) * sizeof(*nr));

		if (!nr) {
			app_fail(a, -ENOMEM, "out of memory");
			return false;
		}
		f->rows = nr;
		f->cap = n + 1;
	}
	memcpy(f->rows, v, n * sizeof(*v));
	f->nrows = n;
	if (f->by_total)
		qsort(f->rows, n, sizeof(*f->rows), cmp_total);
	f->gen = a->data_gen;
	f->resort = false;
	for (size_t i = 0; i < n; i++)
		if (f->rows[i].func == f->sel) {
			f->list.cursor = i;
			break;
		}
	return true;
}

/* The kind as perf top writes it. */
static const char *kind_tag(enum model_kind k)
{
	switch (k) {
	case MODEL_KIND_KERNEL:
		return "[k]";
	case MODEL_KIND_INLINED:
		return "[i]";
	case MODEL_KIND_JIT:
		return "[j]";
	case MODEL_KIND_UNKNOWN:
		return "[?]";
	case MODEL_KIND_PROCESS:
		return "[p]";
	default:
		return "[.]";
	}
}

static const char *base_name(const char *path)
{
	const char *b = path ? strrchr(path, '/') : NULL;

	return b ? b + 1 : path ? path : "";
}

/* The name without the "_[k]" that marks kernel frames in folded stacks: the tag column says it. */
static void display_name(const struct model_func *mf, char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "%s", mf ? mf->name : "?");
	n = strlen(buf);
	if (mf && mf->kind == MODEL_KIND_KERNEL && n > 4 && !strcmp(buf + n - 4, "_[k]"))
		buf[n - 4] = '\0';
}

static void draw_row(struct app *a, int y, int w, const struct model_fcount *c, uint64_t total,
		     bool cur, bool show_total, const char *label)
{
	const struct model_func *mf = model__func(a->model, c->func);
	attr_t at = cur ? screen_attr(ROLE_CURSOR) : A_NORMAL;
	char self[16], tot[16], buf[1100], name[1024];
	int name_w = w - 34, mod_w;

	if (cur)
		screen_fill_line(y, 0, w, at);
	app_percent(self, sizeof(self), c->self, total);
	if (show_total)
		app_percent(tot, sizeof(tot), c->total, total);
	else
		snprintf(tot, sizeof(tot), " ");
	snprintf(buf, sizeof(buf), "%7s %7s %9llu %s", self, tot, (unsigned long long)c->self,
		 label ? "   "
		 : mf  ? kind_tag(mf->kind)
		       : "   ");
	screen_put(y, 0, 30, at, buf, false, false);
	if (label) {
		screen_put(y, 30, w - 30, at, label, false, true);
		return;
	}
	display_name(mf, name, sizeof(name));
	mod_w = name_w / 3 < 12 ? 12 : name_w / 3;
	name_w -= mod_w + 1;
	screen_put(y, 30, name_w,
		   cur				 ? at
		   : app_search_matches(a, name) ? screen_attr(ROLE_MATCH)
						 : at,
		   name, false, true);
	screen_put(y, 31 + name_w, mod_w, cur ? at : screen_attr(ROLE_DIM),
		   mf ? base_name(mf->module) : "", false, true);
}

static void draw_list(struct app *a, struct funcs *f, int y, int h, int w)
{
	const struct model_info *info = model__info(a->model);
	attr_t head = screen_attr(ROLE_HEADING);
	int page = h - 1;

	list_clamp(&f->list, f->nrows, page);
	if (f->list.cursor < f->nrows)
		f->sel = f->rows[f->list.cursor].func;
	screen_fill_line(y, 0, w, head);
	screen_put(y, 0, w, head,
		   f->by_total ? "  SELF% TOTAL%v  SAMPLES     FUNCTION"
			       : " SELF%v  TOTAL%   SAMPLES     FUNCTION",
		   false, false);
	if (!f->nrows) {
		screen_put(y + 2, 2, w - 4, screen_attr(ROLE_DIM),
			   info->last_ns ? "No samples in this window for this filter."
					 : "No samples yet: waiting for the collector's first "
					   "flush.",
			   false, true);
		return;
	}
	for (int r = 0; r < page && f->list.top + (size_t)r < f->nrows; r++) {
		size_t i = f->list.top + (size_t)r;

		draw_row(a, y + 1 + r, w, &f->rows[i], info->samples, i == f->list.cursor, true,
			 NULL);
	}
}

/* Rows of the panel: 0 callers heading, callers, callees heading, callees. */
static size_t detail_rows(const struct funcs *f)
{
	return f->ncallers + f->ncallees + 2;
}

static bool is_heading(const struct funcs *f, size_t row)
{
	return row == 0 || row == f->ncallers + 1;
}

static const struct model_fcount *detail_row(const struct funcs *f, size_t row)
{
	if (row >= 1 && row <= f->ncallers)
		return &f->callers[row - 1];
	if (row >= f->ncallers + 2 && row < detail_rows(f))
		return &f->callees[row - f->ncallers - 2];
	return NULL;
}

static bool load_detail(struct app *a, struct funcs *f)
{
	int err;

	if (f->detail_gen == a->data_gen && (f->callers || f->callees))
		return true;
	free_detail(f);
	err = model__neighbours(a->model, f->func, &f->callers, &f->ncallers, &f->callees,
				&f->ncallees);
	if (err) {
		app_fail(a, err, "out of memory");
		return false;
	}
	f->detail_gen = a->data_gen;
	return true;
}

static void draw_detail(struct app *a, struct funcs *f, int y, int h, int w)
{
	const struct model_func *mf = model__func(a->model, f->func);
	const struct model_fcount *all;
	attr_t head = screen_attr(ROLE_HEADING);
	uint64_t self = 0, total = 0;
	char name[1024], buf[1400], sp[16], tp[16];
	size_t n, rows;
	int page = h - 1;

	if (!load_detail(a, f))
		return;
	all = model__functions(a->model, &n);
	for (size_t i = 0; all && i < n; i++)
		if (all[i].func == f->func) {
			self = all[i].self;
			total = all[i].total;
		}
	rows = detail_rows(f);
	if (is_heading(f, f->dlist.cursor))
		f->dlist.cursor = f->dlist.cursor + 1 < rows ? f->dlist.cursor + 1 : 1;
	list_clamp(&f->dlist, rows, page);
	display_name(mf, name, sizeof(name));
	app_percent(sp, sizeof(sp), self, model__info(a->model)->samples);
	app_percent(tp, sizeof(tp), total, model__info(a->model)->samples);
	snprintf(buf, sizeof(buf), " %s %s  self %s  total %s  %s", mf ? kind_tag(mf->kind) : "",
		 name, sp, tp, mf && mf->module ? mf->module : "");
	screen_fill_line(y, 0, w, head);
	screen_put(y, 0, w, head | A_BOLD, buf, false, true);
	for (int r = 0; r < page && f->dlist.top + (size_t)r < rows; r++) {
		size_t i = f->dlist.top + (size_t)r;
		const struct model_fcount *c = detail_row(f, i);
		int ry = y + 1 + r;

		if (i == 0 || i == f->ncallers + 1) {
			snprintf(buf, sizeof(buf), "  %s (%% of the function's %llu samples)",
				 i == 0 ? "CALLERS" : "CALLEES", (unsigned long long)total);
			screen_put(ry, 0, w, screen_attr(ROLE_HEADER), buf, false, true);
			continue;
		}
		draw_row(a, ry, w, c, total, i == f->dlist.cursor, false,
			 c->func != MODEL_NO_FUNC ? NULL
			 : i <= f->ncallers	  ? "(the root: no caller)"
						  : "(in the function itself)");
	}
}

static void funcs_draw(struct app *a, void *st, int y, int h, int w)
{
	struct funcs *f = st;

	if (!update_rows(a, f))
		return;
	if (f->detail)
		draw_detail(a, f, y, h, w);
	else
		draw_list(a, f, y, h, w);
}

static void open_detail(struct app *a, struct funcs *f, uint32_t func, bool push)
{
	if (func == MODEL_NO_FUNC)
		return;
	if (push && f->detail) {
		if (f->nhistory == HISTORY_MAX) {
			memmove(f->history, f->history + 1,
				(HISTORY_MAX - 1) * sizeof(f->history[0]));
			f->nhistory--;
		}
		f->history[f->nhistory++] = f->func;
	}
	f->detail = true;
	f->func = func;
	f->dlist.cursor = 1;
	f->dlist.top = 0;
	free_detail(f);
	f->detail_gen = 0;
	(void)a;
}

static bool find_match(struct app *a, struct funcs *f, int dir)
{
	char name[1024];

	if (!a->search_on || !f->nrows)
		return false;
	for (size_t k = 1; k <= f->nrows; k++) {
		size_t i = (f->list.cursor + f->nrows + (size_t)dir * k) % f->nrows;

		display_name(model__func(a->model, f->rows[i].func), name, sizeof(name));
		if (app_search_matches(a, name)) {
			f->list.cursor = i;
			f->sel = f->rows[i].func;
			return true;
		}
	}
	app_message(a, "No function matches /%s/", a->search_text);
	return false;
}

static bool funcs_action(struct app *a, void *st, enum tui_action act)
{
	struct funcs *f = st;
	int page = a->view_h - 1;

	if (f->detail) {
		size_t rows = detail_rows(f), before = f->dlist.cursor;

		if (list_move(&f->dlist, rows, page, act)) {
			/* Headings are skipped in the direction of travel. */
			if (is_heading(f, f->dlist.cursor)) {
				bool up = f->dlist.cursor < before;

				if (up && f->dlist.cursor > 0)
					f->dlist.cursor--;
				else if (!up && f->dlist.cursor + 1 < rows)
					f->dlist.cursor++;
				else
					f->dlist.cursor = before;
				if (is_heading(f, f->dlist.cursor))
					f->dlist.cursor = before;
			}
			return true;
		}
		switch (act) {
		case ACT_ENTER: {
			const struct model_fcount *c = detail_row(f, f->dlist.cursor);

			if (c)
				open_detail(a, f, c->func, true);
			return true;
		}
		case ACT_BACK:
			if (f->nhistory)
				open_detail(a, f, f->history[--f->nhistory], false);
			else
				f->detail = false;
			return true;
		default:
			return false;
		}
	}
	if (list_move(&f->list, f->nrows, page, act)) {
		if (f->list.cursor < f->nrows)
			f->sel = f->rows[f->list.cursor].func;
		return true;
	}
	switch (act) {
	case ACT_ENTER:
		if (f->list.cursor < f->nrows) {
			f->nhistory = 0;
			open_detail(a, f, f->rows[f->list.cursor].func, false);
		}
		return true;
	case ACT_SORT_SELF_TOTAL:
		f->by_total = !f->by_total;
		f->resort = true;
		return true;
	case ACT_NEXT_MATCH:
	case ACT_PREV_MATCH:
		find_match(a, f, act == ACT_NEXT_MATCH ? 1 : -1);
		return true;
	default:
		return false;
	}
}

static void funcs_mouse(struct app *a, void *st, int y, int x, enum view_mouse ev)
{
	struct funcs *f = st;
	struct list *l = f->detail ? &f->dlist : &f->list;
	size_t n = f->detail ? detail_rows(f) : f->nrows, row;

	if (ev == VIEW_MOUSE_RELEASE)
		return;
	if (y == 0) {
		if (!f->detail && x < 16) {
			f->by_total = x >= 8;
			f->resort = true;
		}
		return;
	}
	row = l->top + (size_t)(y - 1);
	if (row >= n || (f->detail && is_heading(f, row)))
		return;
	l->cursor = row;
	if (!f->detail)
		f->sel = f->rows[row].func;
	if (ev == VIEW_MOUSE_DOUBLE)
		funcs_action(a, f, ACT_ENTER);
}

static void funcs_status(struct app *a, void *st, char *buf, size_t len)
{
	struct funcs *f = st;
	const struct model_func *mf = NULL;

	if (f->detail) {
		const struct model_fcount *c = detail_row(f, f->dlist.cursor);

		mf = c ? model__func(a->model, c->func) : NULL;
		snprintf(buf, len, "%s   Enter: go to it   Esc: back", mf ? mf->name : "");
		return;
	}
	if (f->list.cursor < f->nrows)
		mf = model__func(a->model, f->rows[f->list.cursor].func);
	if (!mf) {
		snprintf(buf, len, "Enter: callers and callees   F6: sort by self / total");
		return;
	}
	snprintf(buf, len, "%s  %s%s%s   Enter: callers and callees", mf->name,
		 mf->module ? mf->module : "", mf->file ? "  " : "", mf->file ? mf->file : "");
}

const struct view_ops view_funcs_ops = {
	.title = "Functions",
	.scope = KEYMAP_FUNCS,
	.create = funcs_create,
	.destroy = funcs_destroy,
	.draw = funcs_draw,
	.action = funcs_action,
	.mouse = funcs_mouse,
	.status = funcs_status,
};
