// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The processes view. Rows are a sorted copy of the model's tasks, re-sorted when the data or the
 * sort changes; the cursor follows its process (pid and start, or tid) across refreshes, as in
 * htop. User names come from getpwuid once per uid.
 */
#include "tui/view_procs.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/list.h"
#include "tui/screen.h"
#include "tui/sparkline.h"

enum procs_col { COL_PID, COL_USER, COL_CPU, COL_COMMAND, COL_HOT, COL__COUNT };

static const char *const col_names[COL__COUNT] = { "PID", "USER", "CPU%", "COMMAND",
						   "HOTTEST FUNCTION" };

struct user_name {
	uint32_t uid;
	char name[33];
};

struct procs {
	struct list list;
	enum procs_col sort;
	bool invert;
	struct model_task *rows;
	size_t nrows, cap;
	uint64_t gen;
	bool by_thread;
	bool resort;
	uint32_t sel_pid, sel_tid; /* the selected row's identity, kept across refreshes */
	int64_t sel_start;
	struct user_name users[64];
	size_t nusers;
	int x_col[COL__COUNT], w_col[COL__COUNT]; /* heading layout of the last draw, for clicks */
};

static void *procs_create(void)
{
	struct procs *p = calloc(1, sizeof(*p));

	if (p)
		p->sort = COL_CPU;
	return p;
}

static void procs_destroy(void *st)
{
	struct procs *p = st;

	if (!p)
		return;
	free(p->rows);
	free(p);
}

static const char *user_of(struct procs *p, uint32_t uid, char *buf, size_t len)
{
	struct passwd *pw;
	size_t i;

	if (uid == UINT32_MAX)
		return "?";
	for (i = 0; i < p->nusers; i++)
		if (p->users[i].uid == uid)
			return p->users[i].name;
	pw = getpwuid(uid);
	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "%u", uid);
	if (p->nusers < sizeof(p->users) / sizeof(p->users[0])) {
		p->users[p->nusers].uid = uid;
		snprintf(p->users[p->nusers].name, sizeof(p->users[0].name), "%.32s", buf);
		return p->users[p->nusers++].name;
	}
	return buf;
}

static const char *hot_name(struct app *a, const struct model_task *t)
{
	const struct model_func *f = model__func(a->model, t->hot_func);

	return f ? f->name : "";
}

struct sort_ctx {
	struct procs *p;
	struct app *a;
};

static int cmp_rows(const void *x, const void *y, void *ctx)
{
	const struct model_task *a = x, *b = y;
	struct procs *sorting = ((struct sort_ctx *)ctx)->p;
	struct app *sorting_app = ((struct sort_ctx *)ctx)->a;
	int c = 0;

	switch (sorting->sort) {
	case COL_PID:
		c = a->pid != b->pid ? (a->pid < b->pid ? -1 : 1) : 0;
		if (!c)
			c = a->tid < b->tid ? -1 : a->tid > b->tid;
		break;
	case COL_USER:
		c = a->uid < b->uid ? -1 : a->uid > b->uid;
		break;
	case COL_CPU:
		/* Busiest first unless inverted. */
		c = a->samples > b->samples ? -1 : a->samples < b->samples;
		break;
	case COL_COMMAND:
		c = strcmp(a->comm, b->comm);
		break;
	case COL_HOT:
		c = strcmp(hot_name(sorting_app, a), hot_name(sorting_app, b));
		break;
	default:
		break;
	}
	if (!c)
		c = a->samples > b->samples ? -1 : a->samples < b->samples;
	if (!c)
		c = a->pid < b->pid ? -1 : a->pid > b->pid;
	if (!c)
		c = a->tid < b->tid ? -1 : a->tid > b->tid;
	return sorting->invert ? -c : c;
}

static void select_current(struct procs *p)
{
	if (p->list.cursor < p->nrows) {
		p->sel_pid = p->rows[p->list.cursor].pid;
		p->sel_tid = p->rows[p->list.cursor].tid;
		p->sel_start = p->rows[p->list.cursor].proc_start;
	}
}

/* Copies and sorts the model's tasks when they or the sort changed; keeps the selection. */
static bool update_rows(struct app *a, struct procs *p)
{
	const struct model_task *t;
	size_t n;

	if (p->gen == a->data_gen && p->by_thread == a->by_thread && !p->resort && p->rows)
		return true;
	t = model__tasks(a->model, a->by_thread, &n);
	if (!t) {
		app_model_failed(a, "processes");
		return false;
	}
	if (n > p->cap) {
		struct model_task *nr = realloc(p->rows, n * sizeof(*nr));

		if (!nr) {
			app_fail(a, -ENOMEM, "out of memory");
			return false;
		}
		p->rows = nr;
		p->cap = n;
	}
	if (t && n)
		memcpy(p->rows, t, n * sizeof(*t));
	p->nrows = t ? n : 0;
	/* glibc declares qsort's base non-null, even for no elements. */
	if (p->nrows)
		qsort_r(p->rows, p->nrows, sizeof(*p->rows), cmp_rows,
			&(struct sort_ctx){ .p = p, .a = a });
	p->gen = a->data_gen;
	p->by_thread = a->by_thread;
	p->resort = false;
	for (size_t i = 0; i < p->nrows; i++)
		if (p->rows[i].pid == p->sel_pid && p->rows[i].tid == p->sel_tid &&
		    p->rows[i].proc_start == p->sel_start) {
			p->list.cursor = i;
			break;
		}
	return true;
}

static void layout(struct procs *p, int w)
{
	int rest, cmd;

	p->x_col[COL_PID] = 0;
	p->w_col[COL_PID] = 7;
	p->x_col[COL_USER] = 8;
	p->w_col[COL_USER] = 8;
	p->x_col[COL_CPU] = 17;
	p->w_col[COL_CPU] = 6;
	/* The sparkline sits between CPU% and COMMAND, under no heading of its own. */
	p->x_col[COL_COMMAND] = 24 + MODEL_SPARK_CELLS + 1;
	rest = w - p->x_col[COL_COMMAND];
	cmd = rest / 3 < 15 ? 15 : rest / 3 > 32 ? 32 : rest / 3;
	p->w_col[COL_COMMAND] = cmd;
	p->x_col[COL_HOT] = p->x_col[COL_COMMAND] + cmd + 1;
	p->w_col[COL_HOT] = w - p->x_col[COL_HOT];
}

static void procs_draw(struct app *a, void *st, int y, int h, int w)
{
	struct procs *p = st;
	const struct model_info *info = model__info(a->model);
	attr_t head = screen_attr(ROLE_HEADING);
	uint64_t scale = 0;
	int page = h - 1;

	if (!update_rows(a, p))
		return;
	layout(p, w);
	list_clamp(&p->list, p->nrows, page);
	select_current(p);

	screen_fill_line(y, 0, w, head);
	for (int c = 0; c < COL__COUNT; c++) {
		char title[40];
		const char *name = c == COL_PID && a->by_thread ? "TID" : col_names[c];
		const char *mark = (int)p->sort == c ? (p->invert ? "^" : "v") : "";
		attr_t at = (int)p->sort == c ? head | A_BOLD : head;

		if (c == COL_PID || c == COL_CPU)
			snprintf(title, sizeof(title), "%*s%s", p->w_col[c] - (int)strlen(mark),
				 name, mark);
		else
			snprintf(title, sizeof(title), "%s%s", name, mark);
		screen_put(y, p->x_col[c], p->w_col[c], at, title, false, false);
	}
	screen_put(y, 24, MODEL_SPARK_CELLS, head, "RECENT", false, false);

	if (info->hz && info->spark_bucket_ns)
		scale = (uint64_t)((double)info->hz * (double)info->spark_bucket_ns / 1e9 + 0.5);
	if (!p->nrows) {
		screen_put(y + 2, 2, w - 4, screen_attr(ROLE_DIM),
			   info->last_ns ? "No samples in this window for this filter."
					 : "No samples yet: waiting for the collector's first "
					   "flush.",
			   false, true);
		return;
	}
	for (int r = 0; r < page && p->list.top + (size_t)r < p->nrows; r++) {
		size_t i = p->list.top + (size_t)r;
		const struct model_task *t = &p->rows[i];
		bool cur = i == p->list.cursor;
		attr_t at = cur ? screen_attr(ROLE_CURSOR) : A_NORMAL;
		char buf[512], ubuf[40], spark[MODEL_SPARK_CELLS * 4 + 1];
		double cpu = app_cpu_percent(a, t->samples);
		int ry = y + 1 + r;
		bool match = app_search_matches(a, t->comm) ||
			     (t->exe && app_search_matches(a, t->exe));

		if (cur)
			screen_fill_line(ry, 0, w, at);
		snprintf(buf, sizeof(buf), "%7u", a->by_thread ? t->tid : t->pid);
		screen_put(ry, p->x_col[COL_PID], 7, at, buf, false, false);
		screen_put(ry, p->x_col[COL_USER], 8, at, user_of(p, t->uid, ubuf, sizeof(ubuf)),
			   false, true);
		if (cpu >= 0)
			snprintf(buf, sizeof(buf), "%6.1f", cpu);
		else
			snprintf(buf, sizeof(buf), "%6s", "?");
		screen_put(ry, p->x_col[COL_CPU], 6, at, buf, false, false);
		sparkline_render(t->spark, MODEL_SPARK_CELLS, scale, screen_utf8(), spark,
				 sizeof(spark));
		screen_put(ry, 24, MODEL_SPARK_CELLS, cur ? at : screen_attr(ROLE_SPARK), spark,
			   false, false);
		screen_put(ry, p->x_col[COL_COMMAND], p->w_col[COL_COMMAND],
			   match && !cur ? screen_attr(ROLE_MATCH) : at, t->comm, false, true);
		screen_put(ry, p->x_col[COL_HOT], p->w_col[COL_HOT], at, hot_name(a, t), false,
			   true);
	}
}

static void narrow(struct app *a, struct procs *p)
{
	const struct model_task *t;

	if (p->list.cursor >= p->nrows)
		return;
	t = &p->rows[p->list.cursor];
	model__narrow(a->model, t->pid, a->by_thread ? t->tid : 0);
	if (a->by_thread)
		app_message(a, "Every view shows thread %u (%s) of process %u; Esc: all", t->tid,
			    t->comm, t->pid);
	else
		app_message(a, "Every view shows process %u (%s); Esc: all", t->pid, t->comm);
}

static bool find_match(struct app *a, struct procs *p, int dir)
{
	if (!a->search_on || !p->nrows)
		return false;
	for (size_t k = 1; k <= p->nrows; k++) {
		size_t i = (p->list.cursor + p->nrows + (size_t)dir * k) % p->nrows;
		const struct model_task *t = &p->rows[i];

		if (app_search_matches(a, t->comm) || (t->exe && app_search_matches(a, t->exe))) {
			p->list.cursor = i;
			select_current(p);
			return true;
		}
	}
	app_message(a, "No process matches /%s/", a->search_text);
	return false;
}

static bool procs_action(struct app *a, void *st, enum tui_action act)
{
	struct procs *p = st;
	int page = a->view_h - 1;
	uint32_t pid, tid;

	if (list_move(&p->list, p->nrows, page, act)) {
		select_current(p);
		return true;
	}
	switch (act) {
	case ACT_ENTER:
		narrow(a, p);
		return true;
	case ACT_BACK:
		model__narrowed(a->model, &pid, &tid);
		if (tid && a->by_thread) {
			model__narrow(a->model, pid, 0);
			app_message(a, "Every view shows process %u", pid);
		} else if (pid) {
			model__narrow(a->model, 0, 0);
			app_message(a, "Every view shows every process");
		}
		return true;
	case ACT_THREADS:
		a->by_thread = !a->by_thread;
		app_message(a, a->by_thread ? "Threads" : "Processes");
		return true;
	case ACT_SORT_NEXT:
	case ACT_SORT_PREV:
		p->sort = (enum procs_col)((p->sort + (act == ACT_SORT_NEXT ? 1 : COL__COUNT - 1)) %
					   COL__COUNT);
		p->resort = true;
		return true;
	case ACT_SORT_INVERT:
		p->invert = !p->invert;
		p->resort = true;
		return true;
	case ACT_SORT_CPU:
	case ACT_SORT_PID:
		p->sort = act == ACT_SORT_CPU ? COL_CPU : COL_PID;
		p->invert = false;
		p->resort = true;
		return true;
	case ACT_NEXT_MATCH:
	case ACT_PREV_MATCH:
		find_match(a, p, act == ACT_NEXT_MATCH ? 1 : -1);
		return true;
	default:
		return false;
	}
}

static void procs_mouse(struct app *a, void *st, int y, int x, enum view_mouse ev)
{
	struct procs *p = st;

	if (ev == VIEW_MOUSE_RELEASE)
		return;
	if (y == 0) {
		for (int c = COL__COUNT - 1; c >= 0; c--)
			if (x >= p->x_col[c]) {
				if ((int)p->sort == c)
					p->invert = !p->invert;
				p->sort = (enum procs_col)c;
				p->resort = true;
				return;
			}
		return;
	}
	if (p->list.top + (size_t)(y - 1) >= p->nrows)
		return;
	p->list.cursor = p->list.top + (size_t)(y - 1);
	select_current(p);
	if (ev == VIEW_MOUSE_DOUBLE)
		narrow(a, p);
}

static void procs_status(struct app *a, void *st, char *buf, size_t len)
{
	struct procs *p = st;
	const struct model_task *t;

	if (p->list.cursor >= p->nrows) {
		snprintf(buf, len, "Enter: narrow every view to a process   H: threads   F6: sort");
		return;
	}
	t = &p->rows[p->list.cursor];
	snprintf(buf, len, "%s %u: %s  %llu samples   Enter: narrow to it",
		 a->by_thread ? "tid" : "pid", a->by_thread ? t->tid : t->pid,
		 t->exe ? t->exe : t->comm, (unsigned long long)t->samples);
}

const struct view_ops view_procs_ops = {
	.title = "Processes",
	.scope = KEYMAP_PROCS,
	.create = procs_create,
	.destroy = procs_destroy,
	.draw = procs_draw,
	.action = procs_action,
	.mouse = procs_mouse,
	.status = procs_status,
};
