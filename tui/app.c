// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The app loop. One thread: wait for a key, the recorder's pipe, a signal or the next refresh;
 * handle every pending key; refresh the model when due (never while paused); then draw one frame
 * if anything changed: erase(), the header, the tabs, the view, the status line, and a single
 * refresh() that sends only the cells that differ. clear() is never called (it repaints the whole
 * terminal and flickers), except on ^L, which asks for exactly that.
 */
#include "tui/app.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage/storage.h"
#include "tui/keymap.h"
#include "tui/list.h"
#include "tui/prompt.h"
#include "tui/screen.h"
#include "tui/tui_internal.h"
#include "tui/view_flame.h"
#include "tui/view_funcs.h"
#include "tui/view_heatmap.h"
#include "tui/view_procs.h"

#define NS_PER_S 1000000000ll
#define MESSAGE_NS (4 * NS_PER_S)
#define DOUBLE_CLICK_NS 400000000ll
#define WINDOW_MIN_NS NS_PER_S
#define WINDOW_MAX_NS (7 * 86400 * NS_PER_S)
#define FILTER_MAX 64
#define WRITER_CHECK_NS (3 * NS_PER_S)

static const struct view_ops *const views[TUI_VIEW__COUNT] = {
	[TUI_VIEW_PROCS] = &view_procs_ops,
	[TUI_VIEW_FUNCS] = &view_funcs_ops,
	[TUI_VIEW_FLAME] = &view_flame_ops,
	[TUI_VIEW_HEATMAP] = &view_heatmap_ops,
};

enum prompt_kind { PROMPT_NONE, PROMPT_SEARCH, PROMPT_FILTER };

/* The loop's own state, around the part the views see. */
struct loop {
	struct app a;
	struct prompt prompt;
	enum prompt_kind prompt_kind;
	bool help;
	struct list help_list;
	int recorder_fd;
	char recorder_buf[512];
	size_t recorder_len;
	int tab_x[TUI_VIEW__COUNT + 1];
	int view_y;
	int64_t last_press_ns;
	int last_press_y, last_press_x;
	FILE *trace;
	int64_t next_writer_check;
	bool dirty;
	bool redraw_all;
	/* the filter as typed, and its storage */
	uint32_t pids[FILTER_MAX];
	uint64_t cgroups[FILTER_MAX];
	char comm[64], exe[256];
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static int64_t clock_of(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void vmessage(struct app *a, bool error, const char *fmt, va_list ap)
{
	vsnprintf(a->message, sizeof(a->message), fmt, ap);
	a->message_error = error;
	a->message_until = mono_ns() + MESSAGE_NS;
}

void app_message(struct app *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(a, false, fmt, ap);
	va_end(ap);
}

void app_error_message(struct app *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(a, true, fmt, ap);
	va_end(ap);
}

void app_fail(struct app *a, int err, const char *fmt, ...)
{
	va_list ap;

	if (a->err)
		return;
	a->err = err ? err : -EIO;
	va_start(ap, fmt);
	vsnprintf(a->errmsg, sizeof(a->errmsg), fmt, ap);
	va_end(ap);
}

void app_model_failed(struct app *a, const char *what)
{
	int err = errno ? -errno : -EIO;

	app_fail(a, err, "cannot read %s from %s: %s", what, a->opts->db_path,
		 storage_strerror(err));
}

void app_show(struct app *a, enum tui_view v)
{
	if (v < TUI_VIEW__COUNT)
		a->view = v;
}

bool app_search_matches(struct app *a, const char *s)
{
	if (!a->search_on || !s)
		return false;
	if (a->search_literal)
		return a->search_icase ? strcasestr(s, a->search_text) != NULL
				       : strstr(s, a->search_text) != NULL;
	return !regexec(&a->search_re, s, 0, NULL, 0);
}

const uint8_t *app_func_matches(struct app *a, uint32_t *n)
{
	uint32_t nf = model__nfuncs(a->model);

	*n = 0;
	if (!a->search_on)
		return NULL;
	if (nf > a->func_match_cap) {
		uint32_t cap = nf + nf / 2 + 64;
		uint8_t *m = realloc(a->func_match, cap);

		if (!m)
			return NULL;
		a->func_match = m;
		a->func_match_cap = cap;
	}
	/* Function ids only grow: match the new ones. */
	for (uint32_t f = a->func_match_n; f < nf; f++)
		a->func_match[f] = app_search_matches(a, model__func(a->model, f)->name);
	a->func_match_n = nf;
	*n = nf;
	return a->func_match;
}

void app_percent(char *buf, size_t len, uint64_t part, uint64_t total)
{
	if (!total)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f%%", 100.0 * (double)part / (double)total);
}

double app_cpu_percent(struct app *a, uint64_t samples)
{
	const struct model_info *i = model__info(a->model);
	int64_t from = i->from_ns > i->first_ns ? i->from_ns : i->first_ns;
	int64_t to = i->to_ns < i->last_ns + 1 ? i->to_ns : i->last_ns + 1;
	double secs = (double)(to - from) / 1e9;

	if (!i->hz || secs <= 0)
		return -1;
	/* The newest sample ends a period of 1/hz: count it. */
	secs += 1.0 / i->hz;
	return 100.0 * (double)samples / ((double)i->hz * secs);
}

void app_clock(char *buf, size_t len, int64_t ns, int decimals)
{
	time_t s = (time_t)(ns / NS_PER_S);
	struct tm tm;
	char frac[16] = "";

	localtime_r(&s, &tm);
	if (decimals > 0) {
		long v = (long)(ns % NS_PER_S);

		if (decimals > 9)
			decimals = 9;
		for (int i = decimals; i < 9; i++)
			v /= 10;
		snprintf(frac, sizeof(frac), ".%0*ld", decimals, v % 1000000000);
	}
	snprintf(buf, len, "%02d:%02d:%02d%s", tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

void app_duration(char *buf, size_t len, int64_t ns)
{
	if (ns < NS_PER_S)
		snprintf(buf, len, "%lldms", (long long)(ns / 1000000));
	else if (ns < 120 * NS_PER_S)
		snprintf(buf, len, "%.3gs", (double)ns / 1e9);
	else if (ns < 7200 * NS_PER_S)
		snprintf(buf, len, "%.3gm", (double)ns / 60e9);
	else if (ns < 172800 * NS_PER_S)
		snprintf(buf, len, "%.3gh", (double)ns / 3600e9);
	else
		snprintf(buf, len, "%.3gd", (double)ns / 86400e9);
}

static void trace_line(struct loop *l, const char *fmt, ...)
{
	va_list ap;

	if (!l->trace)
		return;
	va_start(ap, fmt);
	vfprintf(l->trace, fmt, ap);
	va_end(ap);
	fputc('\n', l->trace);
	fflush(l->trace);
}

/* --- drawing --- */

static int put(int y, int x, int maxx, attr_t at, const char *s)
{
	if (x >= maxx)
		return x;
	return x + screen_put(y, x, maxx - x, at, s, false, false);
}

static void draw_header(struct loop *l, int w)
{
	struct app *a = &l->a;
	const struct model_info *i = model__info(a->model);
	const struct storage_filter *f = model__filter(a->model);
	char buf[256], t0[32], t1[32];
	uint32_t npid, ntid;
	int x = 0;

	x = put(0, x, w, screen_attr(ROLE_HEADER), "ember top ");
	if (a->paused)
		x = put(0, x, w, screen_attr(ROLE_HISTORY), " PAUSED ");
	else if (i->live && a->following)
		x = put(0, x, w, screen_attr(ROLE_LIVE), " LIVE ");
	else if (i->live) /* following the newest sample of a database nobody writes */
		x = put(0, x, w, screen_attr(ROLE_HISTORY), " LATEST ");
	else
		x = put(0, x, w, screen_attr(ROLE_HISTORY), " HISTORY ");
	if (i->live) {
		app_clock(t1, sizeof(t1), i->last_ns, 0);
		app_duration(t0, sizeof(t0), i->to_ns - i->from_ns);
		snprintf(buf, sizeof(buf), " %s  last %s", i->last_ns ? t1 : "--:--:--", t0);
	} else {
		app_clock(t0, sizeof(t0), i->from_ns,
			  i->to_ns - i->from_ns < 10 * NS_PER_S ? 2 : 0);
		app_clock(t1, sizeof(t1), i->to_ns, i->to_ns - i->from_ns < 10 * NS_PER_S ? 2 : 0);
		snprintf(buf, sizeof(buf), " %s to %s", t0, t1);
	}
	x = put(0, x, w, A_BOLD, buf);
	if (i->hz) {
		double cpu = app_cpu_percent(a, i->samples);

		snprintf(buf, sizeof(buf), "  CPU %.0f%%", cpu);
		if (i->ncpus)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " of %u",
				 i->ncpus * 100);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "  %u Hz", i->hz);
	} else {
		snprintf(buf, sizeof(buf), "  %llu samples", (unsigned long long)i->samples);
	}
	x = put(0, x, w, A_NORMAL, buf);
	buf[0] = '\0';
	if (model__frames(a->model) == MODEL_FRAMES_KERNEL)
		strcat(buf, "  [kernel only]");
	else if (model__frames(a->model) == MODEL_FRAMES_USER)
		strcat(buf, "  [user only]");
	if (model__idle_shown(a->model))
		strcat(buf, "  [idle shown]");
	model__narrowed(a->model, &npid, &ntid);
	if (ntid)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "  [tid %u]", ntid);
	else if (npid)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "  [pid %u]", npid);
	if (f->npids || f->comm || f->ncgroups || f->binary || f->ntids)
		strcat(buf, "  [filtered]");
	x = put(0, x, w, screen_attr(ROLE_HISTORY) & ~A_REVERSE, buf);
	if (a->opts->source && x + (int)strlen(a->opts->source) + 3 < w)
		screen_put(0, w - (int)strlen(a->opts->source) - 1, (int)strlen(a->opts->source),
			   screen_attr(ROLE_DIM), a->opts->source, false, false);
}

static void draw_tabs(struct loop *l, int w)
{
	struct app *a = &l->a;
	char buf[64];
	int x = 0;

	screen_fill_line(1, 0, w, screen_attr(ROLE_TAB));
	for (int v = 0; v < TUI_VIEW__COUNT; v++) {
		attr_t at = v == (int)a->view && !l->help ? screen_attr(ROLE_TAB_ACTIVE)
							  : screen_attr(ROLE_TAB);

		snprintf(buf, sizeof(buf), " %d %s ", v + 1, views[v]->title);
		l->tab_x[v] = x;
		x = put(1, x, w, at, buf);
		x = put(1, x, w, screen_attr(ROLE_TAB), " ");
	}
	l->tab_x[TUI_VIEW__COUNT] = x;
	if (l->help)
		put(1, x, w, screen_attr(ROLE_TAB_ACTIVE), " Help ");
}

/* The help's lines, from the key map: a title per scope, then a line per help entry with the
 * names of its keys. Returns the number of lines; writes line `want` into buf. */
static size_t help_line(size_t want, char *buf, size_t len, bool *title)
{
	size_t n, row = 0;
	const struct keymap_entry *e = keymap_entries(&n);

	for (int scope = 0; scope < KEYMAP__NSCOPES; scope++) {
		if (row++ == want) {
			snprintf(buf, len, "%s", keymap_scope_title(scope));
			*title = true;
		}
		for (size_t i = 0; i < n; i++) {
			char keys[64] = "", name[16];
			size_t k = i;

			if (e[i].scope != (enum keymap_scope)scope || !e[i].help)
				continue;
			do {
				const char *kn = keymap_key_name(e[k].key, name, sizeof(name));
				char word[20];

				/* Two codes with one name (KEY_ENTER and '\n') show once. */
				snprintf(word, sizeof(word), " %s ", kn);
				if (!strstr(keys, word + 1) &&
				    strlen(keys) + strlen(kn) + 2 < sizeof(keys))
					snprintf(keys + strlen(keys), sizeof(keys) - strlen(keys),
						 "%s ", kn);
				k++;
			} while (k < n && !e[k].help && e[k].scope == e[i].scope);
			if (row++ == want) {
				int cells = 0;

				/* Pad by cells: the arrows take three bytes each. */
				for (const char *p = keys; *p; p++)
					cells += ((unsigned char)*p & 0xc0) != 0x80;
				snprintf(buf, len, "  %s%*s %s", keys, cells < 20 ? 20 - cells : 0,
					 "", e[i].help);
				*title = false;
			}
		}
		row++; /* a blank line between scopes */
	}
	return row;
}

static void draw_help(struct loop *l, int y, int h, int w)
{
	size_t rows = help_line(SIZE_MAX, NULL, 0, NULL);

	if (l->help_list.top + (size_t)h > rows)
		l->help_list.top = rows > (size_t)h ? rows - (size_t)h : 0;
	for (int r = 0; r < h; r++) {
		char buf[256] = "";
		bool title = false;

		if (l->help_list.top + (size_t)r >= rows)
			break;
		help_line(l->help_list.top + (size_t)r, buf, sizeof(buf), &title);
		screen_put(y + r, 1, w - 2, title ? screen_attr(ROLE_HEADING) : A_NORMAL, buf,
			   false, true);
	}
}

static void draw_status(struct loop *l, int y, int w)
{
	struct app *a = &l->a;
	char buf[1024];

	if (l->prompt.active) {
		int x = put(y, 0, w, screen_attr(ROLE_KEY), l->prompt.label);
		int cx;

		screen_put(y, x, w - x, A_NORMAL, l->prompt.text, true, false);
		/* The cursor sits after the bytes before it (multibyte text makes this
		 * approximate). */
		cx = x + (int)l->prompt.cursor;
		move(y, cx < w ? cx : w - 1);
		return;
	}
	if (a->message[0] && mono_ns() < a->message_until) {
		screen_put(y, 0, w, a->message_error ? screen_attr(ROLE_ERROR) : A_BOLD, a->message,
			   true, true);
		return;
	}
	a->message[0] = '\0';
	if (l->help) {
		screen_put(y, 0, w, A_NORMAL, "\u2191\u2193 scroll   Esc, q, ?: close the help",
			   true, true);
		return;
	}
	buf[0] = '\0';
	views[a->view]->status(a, a->state[a->view], buf, sizeof(buf));
	{
		static const char hint[] = " F1 help  q quit";
		int hw = (int)sizeof(hint) - 1, x, sw = 0;
		char self[128];

		/* The profiler's own cost, always in front of the operator while it records. */
		if (a->following && a->self_known) {
			snprintf(self, sizeof(self),
				 " ember: %.1f%% CPU %.0f MiB %.0f samples/s %llu dropped ",
				 a->self.cpu_pct, (double)a->self.rss_kib / 1024,
				 a->self.samples_per_s, (unsigned long long)a->self.dropped);
			sw = (int)strlen(self);
			if (w < hw + sw + 20)
				sw = 0; /* too narrow: the view's line first */
		}
		x = screen_put(y, 0, w > hw + sw + 10 ? w - hw - sw - 1 : w, A_NORMAL, buf, true,
			       true);
		if (sw)
			x += screen_put(y, x, sw, screen_attr(ROLE_DIM), self, false, false);
		if (w > hw + 10)
			screen_put(y, x + 1, hw, screen_attr(ROLE_DIM), hint, false, false);
	}
}

static void draw(struct loop *l)
{
	struct app *a = &l->a;
	int w = COLS, h = LINES;

	if (l->redraw_all) {
		/* ^L: the user asked for a full repaint. */
		clearok(curscr, TRUE);
		l->redraw_all = false;
	}
	erase();
	curs_set(0);
	if (w < SCREEN_MIN_COLS || h < SCREEN_MIN_ROWS) {
		char buf[128];

		snprintf(buf, sizeof(buf), "ember top needs %dx%d; this terminal is %dx%d.",
			 SCREEN_MIN_COLS, SCREEN_MIN_ROWS, w, h);
		screen_put(h / 2 - 1 > 0 ? h / 2 - 1 : 0, 0, w, A_BOLD, buf, false, true);
		screen_put(h / 2 > 0 ? h / 2 : 0, 0, w, A_NORMAL, "Enlarge it, or press q to quit.",
			   false, true);
		refresh();
		return;
	}
	draw_header(l, w);
	draw_tabs(l, w);
	l->view_y = 2;
	a->view_h = h - 3;
	if (l->help)
		draw_help(l, l->view_y, a->view_h, w);
	else
		views[a->view]->draw(a, a->state[a->view], l->view_y, a->view_h, w);
	draw_status(l, h - 1, w);
	if (l->prompt.active)
		curs_set(1);
	refresh();
}

/* --- input --- */

/* The collector's newest row of its own cost: shown while following, when it is recent (the
 * collector writes one 10 s after it starts, then every minute). */
static void refresh_self(struct loop *l)
{
	struct app *a = &l->a;
	struct storage_self s;
	struct timespec now;
	bool known;

	if (!a->following) {
		l->dirty |= a->self_known;
		a->self_known = false;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	known = !storage_reader__self_latest(a->opts->reader, &s) &&
		s.time_ns > (int64_t)now.tv_sec * NS_PER_S + now.tv_nsec - 150 * NS_PER_S;
	if (known != a->self_known || (known && s.time_ns != a->self.time_ns))
		l->dirty = true;
	a->self_known = known;
	if (known)
		a->self = s;
}

static int do_refresh(struct loop *l)
{
	struct app *a = &l->a;
	int64_t w0 = mono_ns(), c0 = clock_of(CLOCK_THREAD_CPUTIME_ID);
	int r = model__refresh(a->model);

	if (r == -EBUSY) {
		app_error_message(a, "The database is busy; retrying");
		return 0;
	}
	if (r < 0) {
		app_fail(a, r, "cannot read %s: %s", a->opts->db_path, storage_strerror(r));
		return r;
	}
	if (r > 0) {
		a->data_gen++;
		l->dirty = true;
	}
	refresh_self(l);
	trace_line(l, "refresh wall_ns=%lld cpu_ns=%lld changed=%d stacks=%zu samples=%llu",
		   (long long)(mono_ns() - w0), (long long)(clock_of(CLOCK_THREAD_CPUTIME_ID) - c0),
		   r, model__info(a->model)->stacks,
		   (unsigned long long)model__info(a->model)->all);
	return 0;
}

static void set_search(struct loop *l, const char *text)
{
	struct app *a = &l->a;
	bool lower = true;
	int rc;

	if (a->search_on)
		regfree(&a->search_re);
	a->search_on = false;
	a->search_gen++;
	a->func_match_n = 0;
	if (!text[0]) {
		app_message(a, "Search off");
		return;
	}
	/* Smart case, as in vim and less -i: lower case matches either case. */
	for (const char *p = text; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			lower = false;
	rc = regcomp(&a->search_re, text, REG_EXTENDED | REG_NOSUB | (lower ? REG_ICASE : 0));
	if (rc) {
		char err[128];

		regerror(rc, &a->search_re, err, sizeof(err));
		app_error_message(a, "Not a regular expression: %s", err);
		return;
	}
	snprintf(a->search_text, sizeof(a->search_text), "%s", text);
	a->search_literal = !strpbrk(text, ".[]()*+?{}|^$\\");
	a->search_icase = lower;
	a->search_on = true;
	if (a->view == TUI_VIEW_PROCS || a->view == TUI_VIEW_FUNCS)
		views[a->view]->action(a, a->state[a->view], ACT_NEXT_MATCH);
	else if (a->view == TUI_VIEW_HEATMAP)
		app_message(a, "/%s/ applies to the processes, functions and flame graph views",
			    text);
}

/* Where the cgroup2 hierarchy is mounted, from /proc/self/mounts; /sys/fs/cgroup if unseen. */
static const char *cgroup2_root(char *buf, size_t len)
{
	char line[1024], dir[512], type[64];
	FILE *f = fopen("/proc/self/mounts", "re");

	snprintf(buf, len, "/sys/fs/cgroup");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %511s %63s", dir, type) == 2 && !strcmp(type, "cgroup2")) {
			snprintf(buf, len, "%s", dir);
			break;
		}
	if (f)
		fclose(f);
	return buf;
}

int tui_cgroup_id(const char *s, uint64_t *id)
{
	char path[4096], root[512], *end;
	struct stat st;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s && !*end && !errno) {
		*id = v;
		return 0;
	}
	/* A full path, or as /proc/PID/cgroup writes it ("/system.slice/x.service"): relative to
	 * the cgroup2 mount (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts). */
	if (!strncmp(s, "/sys/fs/cgroup", 14) && (!s[14] || s[14] == '/'))
		snprintf(path, sizeof(path), "%s", s);
	else
		snprintf(path, sizeof(path), "%s/%s", cgroup2_root(root, sizeof(root)),
			 s[0] == '/' ? s + 1 : s);
	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return -ENOENT;
	*id = st.st_ino;
	return 0;
}

static void format_filter(struct loop *l, char *buf, size_t len)
{
	const struct storage_filter *f = model__filter(l->a.model);
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < f->npids && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "pid:%u ", f->pids[i]);
	for (size_t i = 0; i < f->ncgroups && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "cgroup:%llu ",
				      (unsigned long long)f->cgroups[i]);
	if (f->comm && n < len)
		n += (size_t)snprintf(buf + n, len - n, "comm:%s ", f->comm);
	if (f->binary && n < len)
		snprintf(buf + n, len - n, "exe:%s ", f->binary);
}

static void set_filter(struct loop *l, const char *text)
{
	struct app *a = &l->a;
	struct storage_filter f = { .pids = l->pids, .cgroups = l->cgroups };
	char copy[PROMPT_MAX], *tok, *save = NULL;
	int err;

	snprintf(copy, sizeof(copy), "%s", text);
	for (tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		char *colon = strchr(tok, ':'), *end;
		const char *key = colon ? tok : "comm", *val = colon ? colon + 1 : tok;
		unsigned long v;

		if (colon)
			*colon = '\0';
		if (!strcmp(key, "pid")) {
			errno = 0;
			v = strtoul(val, &end, 10);
			if (!*val || *end || errno || v > INT32_MAX || f.npids == FILTER_MAX) {
				app_error_message(a, "pid:%s is not a process id", val);
				return;
			}
			l->pids[f.npids++] = (uint32_t)v;
		} else if (!strcmp(key, "cgroup")) {
			if (f.ncgroups == FILTER_MAX ||
			    tui_cgroup_id(val, &l->cgroups[f.ncgroups])) {
				app_error_message(a,
						  "cgroup:%s is neither a cgroup id nor a cgroup "
						  "directory",
						  val);
				return;
			}
			f.ncgroups++;
		} else if (!strcmp(key, "comm")) {
			snprintf(l->comm, sizeof(l->comm), "%s", val);
			f.comm = l->comm;
		} else if (!strcmp(key, "exe")) {
			snprintf(l->exe, sizeof(l->exe), "%s", val);
			f.binary = l->exe;
		} else {
			app_error_message(
			    a, "Unknown filter '%s': use pid:, comm:, cgroup: or exe:", key);
			return;
		}
	}
	err = model__set_filter(a->model, &f);
	if (err) {
		app_fail(a, err, "out of memory");
		return;
	}
	model__narrow(a->model, 0, 0);
	app_message(a, text[0] ? "Filter: %s" : "No filter%s", text);
}

static void shift_time(struct loop *l, int64_t by)
{
	struct app *a = &l->a;
	const struct model_info *i = model__info(a->model);
	int64_t from = i->from_ns + by, to = i->to_ns + by;

	if (by > 0 && to > i->last_ns + 1) {
		if (i->live)
			app_message(a, "Already live");
		else
			app_message(a, "Live");
		model__go_live(a->model);
		return;
	}
	model__set_range(a->model, from, to);
}

static void set_window(struct loop *l, int64_t w)
{
	char buf[32];

	if (w < WINDOW_MIN_NS)
		w = WINDOW_MIN_NS;
	if (w > WINDOW_MAX_NS)
		w = WINDOW_MAX_NS;
	model__set_window(l->a.model, w);
	app_duration(buf, sizeof(buf), w);
	app_message(&l->a, "Window: %s", buf);
}

/* Actions of the app itself; false for those the view handles. */
static bool app_action(struct loop *l, enum tui_action act, bool *requery)
{
	struct app *a = &l->a;
	enum model_frames fr = model__frames(a->model);
	int64_t win = model__window(a->model);

	switch (act) {
	case ACT_QUIT:
		a->err = 1; /* ends the loop; not an error */
		return true;
	case ACT_HELP:
		l->help = !l->help;
		l->help_list.top = l->help_list.cursor = 0;
		return true;
	case ACT_VIEW_NEXT:
	case ACT_VIEW_PREV:
		l->help = false;
		a->view = (enum tui_view)(
		    (a->view + (act == ACT_VIEW_NEXT ? 1 : TUI_VIEW__COUNT - 1)) % TUI_VIEW__COUNT);
		return true;
	case ACT_VIEW_PROCS:
	case ACT_VIEW_FUNCS:
	case ACT_VIEW_FLAME:
	case ACT_VIEW_HEATMAP:
		l->help = false;
		a->view = (enum tui_view)(act - ACT_VIEW_PROCS);
		return true;
	case ACT_PAUSE:
		a->paused = !a->paused;
		app_message(a, a->paused ? "Paused: p resumes" : "Resumed");
		*requery = !a->paused;
		return true;
	case ACT_TIME_BACK:
	case ACT_TIME_FORWARD:
		shift_time(l, act == ACT_TIME_BACK ? -win / 2 : win / 2);
		*requery = true;
		return true;
	case ACT_TIME_BACK_MORE:
	case ACT_TIME_FORWARD_MORE:
		shift_time(l, act == ACT_TIME_BACK_MORE ? -10 * win : 10 * win);
		*requery = true;
		return true;
	case ACT_LIVE:
		model__go_live(a->model);
		app_message(a, "Live");
		*requery = true;
		return true;
	case ACT_WINDOW_SHORTER:
	case ACT_WINDOW_LONGER:
		set_window(l, act == ACT_WINDOW_SHORTER ? win / 2 : win * 2);
		*requery = true;
		return true;
	case ACT_KERNEL_ONLY:
		model__set_frames(a->model, fr == MODEL_FRAMES_KERNEL ? MODEL_FRAMES_ALL
								      : MODEL_FRAMES_KERNEL);
		app_message(a, fr == MODEL_FRAMES_KERNEL ? "All frames" : "Kernel frames only");
		*requery = true;
		return true;
	case ACT_USER_ONLY:
		model__set_frames(a->model,
				  fr == MODEL_FRAMES_USER ? MODEL_FRAMES_ALL : MODEL_FRAMES_USER);
		app_message(a, fr == MODEL_FRAMES_USER ? "All frames" : "User frames only");
		*requery = true;
		return true;
	case ACT_IDLE:
		model__show_idle(a->model, !model__idle_shown(a->model));
		app_message(a,
			    model__idle_shown(a->model) ? "Idle CPUs shown" : "Idle CPUs hidden");
		*requery = true;
		return true;
	case ACT_SEARCH:
		prompt_start(&l->prompt, "/", NULL);
		l->prompt_kind = PROMPT_SEARCH;
		return true;
	case ACT_FILTER: {
		char buf[PROMPT_MAX];

		format_filter(l, buf, sizeof(buf));
		prompt_start(&l->prompt, "Filter (pid:N comm:NAME cgroup:PATH exe:NAME): ", buf);
		l->prompt_kind = PROMPT_FILTER;
		return true;
	}
	case ACT_REDRAW:
		l->redraw_all = true;
		return true;
	default:
		return false;
	}
}

static void help_action(struct loop *l, enum tui_action act)
{
	int page = l->a.view_h;

	switch (act) {
	case ACT_UP:
		if (l->help_list.top)
			l->help_list.top--;
		break;
	case ACT_DOWN:
		l->help_list.top++;
		break;
	case ACT_PAGE_UP:
		l->help_list.top = l->help_list.top > (size_t)page ? l->help_list.top - (size_t)page
								   : 0;
		break;
	case ACT_PAGE_DOWN:
		l->help_list.top += (size_t)page;
		break;
	case ACT_HOME:
		l->help_list.top = 0;
		break;
	default:
		l->help = false;
		break;
	}
}

static void handle_mouse(struct loop *l)
{
	struct app *a = &l->a;
	MEVENT ev;
	enum view_mouse kind;

	if (getmouse(&ev) != OK) {
		trace_line(l, "mouse unreadable");
		return;
	}
	trace_line(l, "mouse bstate=%#lx y=%d x=%d", (unsigned long)ev.bstate, ev.y, ev.x);
	if (ev.bstate & (BUTTON4_PRESSED | BUTTON5_PRESSED)) {
		enum tui_action act = ev.bstate & BUTTON4_PRESSED ? ACT_UP : ACT_DOWN;

		for (int i = 0; i < 3; i++)
			if (l->help)
				help_action(l, act);
			else
				views[a->view]->action(a, a->state[a->view], act);
		return;
	}
	if (ev.bstate & BUTTON1_PRESSED) {
		int64_t now = mono_ns();

		kind = now - l->last_press_ns < DOUBLE_CLICK_NS && ev.y == l->last_press_y &&
			       ev.x == l->last_press_x
			   ? VIEW_MOUSE_DOUBLE
			   : VIEW_MOUSE_PRESS;
		l->last_press_ns = kind == VIEW_MOUSE_DOUBLE ? 0 : now;
		l->last_press_y = ev.y;
		l->last_press_x = ev.x;
		if (ev.y == 1) {
			for (int v = 0; v < TUI_VIEW__COUNT; v++)
				if (ev.x >= l->tab_x[v] && ev.x < l->tab_x[v + 1]) {
					l->help = false;
					a->view = (enum tui_view)v;
				}
			return;
		}
	} else if (ev.bstate & BUTTON1_RELEASED) {
		kind = VIEW_MOUSE_RELEASE;
	} else {
		return;
	}
	if (l->help || ev.y < l->view_y || ev.y >= l->view_y + a->view_h)
		return;
	views[a->view]->mouse(a, a->state[a->view], ev.y - l->view_y, ev.x, kind);
}

/* Handles one key; sets *requery when the model's selection changed. */
static void handle_key(struct loop *l, int key, bool *requery)
{
	struct app *a = &l->a;
	enum tui_action act;

	if (l->prompt.active) {
		enum prompt_result r = prompt_key(&l->prompt, key);

		if (r == PROMPT_ACCEPT && l->prompt_kind == PROMPT_SEARCH)
			set_search(l, l->prompt.text);
		else if (r == PROMPT_ACCEPT && l->prompt_kind == PROMPT_FILTER) {
			set_filter(l, l->prompt.text);
			*requery = true;
		}
		return;
	}
	if (key == KEY_RESIZE)
		return;
	/* A key replaces the last message, as in less: the status line shows what is current. */
	a->message[0] = '\0';
	if (key == KEY_MOUSE) {
		handle_mouse(l);
		return;
	}
	act = keymap_lookup(l->help ? KEYMAP_GLOBAL : views[a->view]->scope, key);
	if (act == ACT_NONE)
		return;
	if (l->help && act != ACT_QUIT && act != ACT_VIEW_PROCS && act != ACT_VIEW_FUNCS &&
	    act != ACT_VIEW_FLAME && act != ACT_VIEW_HEATMAP && act != ACT_VIEW_NEXT &&
	    act != ACT_VIEW_PREV) {
		if (act == ACT_HELP || act == ACT_BACK)
			l->help = false;
		else
			help_action(l, act);
		return;
	}
	if (l->help && act == ACT_QUIT) {
		l->help = false;
		return;
	}
	if (app_action(l, act, requery))
		return;
	views[a->view]->action(a, a->state[a->view], act);
}

static void read_recorder(struct loop *l)
{
	char *nl;
	ssize_t n;

	n = read(l->recorder_fd, l->recorder_buf + l->recorder_len,
		 sizeof(l->recorder_buf) - 1 - l->recorder_len);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		close(l->recorder_fd);
		l->recorder_fd = -1;
		app_error_message(&l->a, "The recorder stopped%s%s",
				  l->a.recorder_line[0] ? ": " : "", l->a.recorder_line);
		l->dirty = true;
		return;
	}
	l->recorder_len += (size_t)n;
	l->recorder_buf[l->recorder_len] = '\0';
	while ((nl = strchr(l->recorder_buf, '\n'))) {
		*nl = '\0';
		if (l->recorder_buf[0]) {
			snprintf(l->a.recorder_line, sizeof(l->a.recorder_line), "%.255s",
				 l->recorder_buf);
			app_message(&l->a, "%s", l->a.recorder_line);
			l->dirty = true;
		}
		l->recorder_len -= (size_t)(nl + 1 - l->recorder_buf);
		memmove(l->recorder_buf, nl + 1, l->recorder_len + 1);
	}
	if (l->recorder_len == sizeof(l->recorder_buf) - 1)
		l->recorder_len = 0; /* a line too long to show: drop it */
}

/* Every few seconds while following: did the collector stop (its flock is gone)? */
static void check_writer(struct loop *l, int64_t now)
{
	struct app *a = &l->a;

	if (!a->following || now < l->next_writer_check)
		return;
	l->next_writer_check = now + WRITER_CHECK_NS;
	if (storage_writer_active(a->opts->db_path) == 0) {
		a->following = false;
		app_error_message(a, "Nothing writes %s any more: showing what it holds",
				  a->opts->db_path);
		l->dirty = true;
	}
}

static void cleanup(struct loop *l)
{
	struct app *a = &l->a;

	for (int v = 0; v < TUI_VIEW__COUNT; v++)
		if (a->state[v])
			views[v]->destroy(a->state[v]);
	if (a->search_on)
		regfree(&a->search_re);
	free(a->func_match);
	model__free(a->model);
	if (l->trace)
		fclose(l->trace);
}

int tui_run(const struct tui_opts *o, struct tui_result *res)
{
	struct loop *l = calloc(1, sizeof(*l));
	struct app *a;
	int64_t refresh_ns = o->refresh_ns > 0 ? o->refresh_ns : NS_PER_S, next_refresh;
	bool first = true;
	int err;

	memset(res, 0, sizeof(*res));
	if (!l) {
		snprintf(res->error, sizeof(res->error), "out of memory");
		return -ENOMEM;
	}
	a = &l->a;
	a->opts = o;
	a->following = o->following;
	a->view = o->view < TUI_VIEW__COUNT ? o->view : TUI_VIEW_PROCS;
	l->recorder_fd = o->recorder_fd;
	if (o->trace_path)
		l->trace = fopen(o->trace_path, "ae");
	a->model =
	    model__new(o->reader, o->frame_name, o->window_ns > 0 ? o->window_ns : 10 * NS_PER_S);
	err = a->model ? 0 : -ENOMEM;
	if (!err && o->filter)
		err = model__set_filter(a->model, o->filter);
	if (!err && o->to_ns > o->from_ns)
		model__set_range(a->model, o->from_ns, o->to_ns);
	for (int v = 0; v < TUI_VIEW__COUNT && !err; v++)
		if (!(a->state[v] = views[v]->create()))
			err = -ENOMEM;
	if (err) {
		snprintf(res->error, sizeof(res->error), "out of memory");
		cleanup(l);
		free(l);
		return err;
	}
	if (l->recorder_fd >= 0)
		fcntl(l->recorder_fd, F_SETFL, fcntl(l->recorder_fd, F_GETFL) | O_NONBLOCK);

	err = screen_open(&(struct screen_opts){ .mono = o->mono });
	if (err) {
		snprintf(res->error, sizeof(res->error), "%s",
			 err == -ENOTTY ? "standard input and output must be a terminal"
					: "the terminal type ($TERM) is unknown to terminfo");
		cleanup(l);
		free(l);
		return err;
	}
	if (o->note)
		app_message(a, "%s", o->note);
	do_refresh(l);
	next_refresh = mono_ns() + refresh_ns;
	l->dirty = true;

	while (!a->err) {
		int64_t now = mono_ns(), c0 = 0, w0 = 0;
		int ready, timeout, keys = 0;
		bool requery = false;

		if (l->dirty) {
			draw(l);
			l->dirty = false;
			if (first) {
				trace_line(l, "first_screen realtime_ns=%lld cpu_ns=%lld",
					   (long long)clock_of(CLOCK_REALTIME),
					   (long long)clock_of(CLOCK_PROCESS_CPUTIME_ID));
				first = false;
			}
		}
		/* Nothing to draw: let the view prepare what the next key will likely need. */
		if (!l->help && views[a->view]->idle &&
		    views[a->view]->idle(a, a->state[a->view])) {
			trace_line(l, "idle view=%d", (int)a->view);
			continue;
		}
		timeout = a->paused ? -1 : (int)((next_refresh - now + 999999) / 1000000);
		if (timeout < 0 && !a->paused)
			timeout = 0;
		if (a->message[0]) {
			int until = (int)((a->message_until - now + 999999) / 1000000);

			if (until < 0)
				until = 0;
			if (timeout < 0 || until < timeout)
				timeout = until;
		}
		ready = screen_wait(l->recorder_fd, timeout);
		if (screen_signal()) {
			res->signal = screen_signal();
			break;
		}
		if (ready & 2)
			read_recorder(l);
		/* Keys, and KEY_RESIZE after a SIGWINCH, whether or not stdin looked readable. */
		for (int key; (key = getch()) != ERR && !a->err;) {
			if (!keys++) {
				w0 = mono_ns();
				c0 = clock_of(CLOCK_THREAD_CPUTIME_ID);
			}
			handle_key(l, key, &requery);
			l->dirty = true;
		}
		/* Narrowing, a range from the heatmap, the time keys: the selection moved. */
		if ((requery || model__stale(a->model)) && !a->err)
			do_refresh(l);
		now = mono_ns();
		if (!a->paused && now >= next_refresh && !a->err) {
			do_refresh(l);
			next_refresh = now + refresh_ns;
			check_writer(l, now);
		}
		if (a->message[0] && now >= a->message_until)
			l->dirty = true;
		if (keys && !a->err) {
			draw(l);
			l->dirty = false;
			trace_line(l, "keys n=%d wall_ns=%lld cpu_ns=%lld view=%d", keys,
				   (long long)(mono_ns() - w0),
				   (long long)(clock_of(CLOCK_THREAD_CPUTIME_ID) - c0),
				   (int)a->view);
		}
	}
	screen_close();
	err = a->err == 1 ? 0 : a->err;
	if (err)
		snprintf(res->error, sizeof(res->error), "%s", a->errmsg);
	cleanup(l);
	free(l);
	return err;
}
