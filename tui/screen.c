// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Terminal ownership and the palette. Termination signals are blocked outside screen_wait (a
 * ppoll that unblocks them atomically), so their handlers only set a flag that the loop reads
 * between frames and the terminal is restored on the normal path. Crashes cannot take that path:
 * their handler writes reset sequences captured from terminfo at start-up and the saved termios
 * with write() and tcsetattr(), which are async-signal-safe, then re-raises the signal.
 * The handlers are installed before newterm(), because ncurses installs its own SIGINT/SIGTERM
 * handlers (which exit without our cleanup) when it finds them at their defaults; SIGWINCH and
 * SIGTSTP stay with ncurses, which turns a resize into KEY_RESIZE and suspends cleanly on ^Z.
 */
#include "tui/screen.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

static SCREEN *scr;
static bool is_open, colors, utf8;
static struct termios saved_tio;
static int saved_cursor = -1;
static sigset_t saved_mask;
static volatile sig_atomic_t got_signal;
static char reset_seq[256];
static size_t reset_len;
static attr_t roles[ROLE__COUNT];

static const int term_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
static struct sigaction saved_term[4], saved_fatal[5];

/* Flame palettes for 256 colours: background colours, by kind; neighbours differ in shade. */
static const short pal256[PAL__COUNT][6] = {
	[PAL_USER] = { 160, 166, 167, 196, 202, 203 },
	[PAL_KERNEL] = { 178, 184, 214, 220, 221, 227 },
	[PAL_INLINED] = { 37, 44, 73, 80, 116, 43 },
	[PAL_JIT] = { 34, 40, 71, 77, 113, 70 },
	[PAL_UNKNOWN] = { 244, 246, 248, 250, 245, 247 },
	[PAL_PROCESS] = { 68, 74, 110, 67, 73, 111 },
	[PAL_MATCH] = { 165, 171, 201, 207, 164, 170 },
};
static const short pal8[PAL__COUNT] = {
	[PAL_USER] = COLOR_RED,	     [PAL_KERNEL] = COLOR_YELLOW, [PAL_INLINED] = COLOR_CYAN,
	[PAL_JIT] = COLOR_GREEN,     [PAL_UNKNOWN] = COLOR_WHITE, [PAL_PROCESS] = COLOR_BLUE,
	[PAL_MATCH] = COLOR_MAGENTA,
};
/* Heatmap: no samples, then light to dark red (FlameScope's ramp). */
static const short heat256[SCREEN_HEAT_LEVELS] = { -1, 224, 217, 210, 203, 196, 160, 124, 88 };
static const char heat_ascii[SCREEN_HEAT_LEVELS + 1] = " .:-=+*#@";

/* Colour pairs are allocated on first use: (fg, bg) -> pair number. */
static struct {
	short fg, bg;
} pairs[255]; /* COLOR_PAIR() holds 8 bits in an attr_t */
static int npairs;
static short default_bg = -1;

static attr_t pair_attr(short fg, short bg)
{
	for (int i = 0; i < npairs; i++)
		if (pairs[i].fg == fg && pairs[i].bg == bg)
			return COLOR_PAIR(i + 1);
	if (npairs + 1 >= COLOR_PAIRS || npairs >= (int)(sizeof(pairs) / sizeof(pairs[0])))
		return A_NORMAL;
	if (init_pair((short)(npairs + 1), fg, bg) == ERR)
		return A_NORMAL;
	pairs[npairs].fg = fg;
	pairs[npairs].bg = bg;
	npairs++;
	return COLOR_PAIR(npairs);
}

static void on_term_signal(int sig)
{
	got_signal = sig;
}

static void on_fatal_signal(int sig)
{
	/* Only async-signal-safe calls: the saved reset sequences, the saved termios, then the
	 * default action (SA_RESETHAND already restored it) by re-raising. */
	if (reset_len) {
		ssize_t unused = write(STDOUT_FILENO, reset_seq, reset_len);

		(void)unused;
	}
	tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	raise(sig);
}

static void append_cap(const char *name)
{
	const char *s = tigetstr(name);
	size_t n;

	if (!s || s == (char *)-1)
		return;
	n = strlen(s);
	if (reset_len + n < sizeof(reset_seq)) {
		memcpy(reset_seq + reset_len, s, n);
		reset_len += n;
	}
}

static void setup_roles(void)
{
	for (int i = 0; i < ROLE__COUNT; i++)
		roles[i] = A_NORMAL;
	if (!colors) {
		roles[ROLE_HEADER] = A_BOLD;
		roles[ROLE_TAB_ACTIVE] = A_REVERSE | A_BOLD;
		roles[ROLE_HEADING] = A_UNDERLINE | A_BOLD;
		roles[ROLE_CURSOR] = A_REVERSE;
		roles[ROLE_KEY] = A_REVERSE;
		roles[ROLE_ERROR] = A_BOLD;
		roles[ROLE_DIM] = A_DIM;
		roles[ROLE_MATCH] = A_UNDERLINE | A_BOLD;
		roles[ROLE_LIVE] = A_REVERSE | A_BOLD;
		roles[ROLE_HISTORY] = A_REVERSE | A_BOLD;
		roles[ROLE_SELECTION] = A_REVERSE;
		return;
	}
	roles[ROLE_HEADER] = A_BOLD;
	roles[ROLE_TAB] = pair_attr(COLOR_WHITE, COLOR_BLUE);
	roles[ROLE_TAB_ACTIVE] = pair_attr(COLOR_BLACK, COLOR_CYAN) | A_BOLD;
	roles[ROLE_HEADING] = pair_attr(COLOR_BLACK, COLOR_GREEN);
	roles[ROLE_CURSOR] = pair_attr(COLOR_BLACK, COLOR_CYAN);
	roles[ROLE_KEY] = pair_attr(COLOR_BLACK, COLOR_CYAN);
	roles[ROLE_ERROR] = pair_attr(COLOR_RED, default_bg) | A_BOLD;
	roles[ROLE_DIM] = COLORS >= 256 ? pair_attr(244, default_bg) : A_DIM;
	roles[ROLE_MATCH] = pair_attr(COLOR_BLACK, COLOR_MAGENTA);
	roles[ROLE_SPARK] = pair_attr(COLOR_GREEN, default_bg);
	roles[ROLE_LIVE] = pair_attr(COLOR_BLACK, COLOR_GREEN) | A_BOLD;
	roles[ROLE_HISTORY] = pair_attr(COLOR_BLACK, COLOR_YELLOW) | A_BOLD;
	roles[ROLE_SELECTION] = A_REVERSE;
}

int screen_open(const struct screen_opts *o)
{
	struct sigaction sa;
	sigset_t block;
	const char *no_color = getenv("NO_COLOR");

	if (is_open)
		return 0;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return -ENOTTY;
	if (tcgetattr(STDIN_FILENO, &saved_tio))
		return -errno;
	/* Only the character type: LC_NUMERIC would change how numbers print. */
	setlocale(LC_CTYPE, "");
	utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");

	got_signal = 0;
	sigemptyset(&block);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term_signal;
	sigemptyset(&sa.sa_mask);
	for (unsigned int i = 0; i < sizeof(term_signals) / sizeof(term_signals[0]); i++) {
		sigaction(term_signals[i], &sa, &saved_term[i]);
		sigaddset(&block, term_signals[i]);
	}
	sigaddset(&block, SIGWINCH);
	sigprocmask(SIG_BLOCK, &block, &saved_mask);

	scr = newterm(NULL, stdout, stdin);
	if (!scr) {
		for (unsigned int i = 0; i < sizeof(term_signals) / sizeof(term_signals[0]); i++)
			sigaction(term_signals[i], &saved_term[i], NULL);
		sigprocmask(SIG_SETMASK, &saved_mask, NULL);
		return -EINVAL;
	}
	is_open = true;
	set_term(scr);

	/* What a crash handler must write to undo what follows. */
	reset_len = 0;
	append_cap("sgr0");
	append_cap("cnorm");
	append_cap("rmkx");
	if (tigetstr("kmous") && tigetstr("kmous") != (char *)-1) {
		static const char mouse_off[] = "\033[?1006l\033[?1003l\033[?1002l\033[?1000l";

		if (reset_len + sizeof(mouse_off) < sizeof(reset_seq)) {
			memcpy(reset_seq + reset_len, mouse_off, sizeof(mouse_off) - 1);
			reset_len += sizeof(mouse_off) - 1;
		}
	}
	append_cap("rmcup");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal_signal;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (unsigned int i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
		sigaction(fatal_signals[i], &sa, &saved_fatal[i]);

	/* 25 ms tells a lone Esc from an escape sequence on any local or ssh terminal. */
	set_escdelay(25);
	cbreak();
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	saved_cursor = curs_set(0);
	mousemask(BUTTON1_PRESSED | BUTTON1_RELEASED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
	/* Presses and releases come as they are; double clicks are recognised by the app. */
	mouseinterval(0);

	colors = has_colors() && !(o && o->mono) && !(no_color && *no_color);
	npairs = 0;
	if (colors && start_color() == ERR)
		colors = false;
	if (colors)
		default_bg = use_default_colors() == OK ? -1 : COLOR_BLACK;
	setup_roles();
	return 0;
}

void screen_close(void)
{
	if (!is_open)
		return;
	mousemask(0, NULL);
	if (saved_cursor >= 0)
		curs_set(saved_cursor);
	endwin();
	delscreen(scr);
	scr = NULL;
	fflush(stdout);
	/* endwin restores the modes ncurses saved; this makes them exactly ours. */
	tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
	for (unsigned int i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
		sigaction(fatal_signals[i], &saved_fatal[i], NULL);
	for (unsigned int i = 0; i < sizeof(term_signals) / sizeof(term_signals[0]); i++)
		sigaction(term_signals[i], &saved_term[i], NULL);
	sigprocmask(SIG_SETMASK, &saved_mask, NULL);
	is_open = false;
}

int screen_signal(void)
{
	return got_signal;
}

int screen_wait(int fd, int timeout_ms)
{
	struct pollfd p[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
			       { .fd = fd, .events = POLLIN } };
	struct timespec ts, *tsp = NULL;
	sigset_t open_mask = saved_mask;
	int n, res = 0;

	if (got_signal)
		return 0;
	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000;
		tsp = &ts;
	}
	/* Inside the wait, termination signals and SIGWINCH may arrive. */
	for (unsigned int i = 0; i < sizeof(term_signals) / sizeof(term_signals[0]); i++)
		sigdelset(&open_mask, term_signals[i]);
	sigdelset(&open_mask, SIGWINCH);
	n = ppoll(p, fd >= 0 ? 2 : 1, tsp, &open_mask);
	/* When ppoll returns ready descriptors, a signal that arrived meanwhile stays pending
	 * (blocked again): take it here, or a hung-up terminal, always readable, would spin. */
	if (!got_signal) {
		sigset_t term;
		struct timespec zero = { 0, 0 };
		int sig;

		sigemptyset(&term);
		for (unsigned int i = 0; i < sizeof(term_signals) / sizeof(term_signals[0]); i++)
			sigaddset(&term, term_signals[i]);
		sig = sigtimedwait(&term, NULL, &zero);
		if (sig > 0)
			got_signal = sig;
	}
	if (n <= 0)
		return 0;
	/* The terminal went away (its emulator closed, the ssh connection dropped). */
	if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
		if (!got_signal)
			got_signal = SIGHUP;
		return 0;
	}
	if (p[0].revents)
		res |= 1;
	if (fd >= 0 && p[1].revents)
		res |= 2;
	return res;
}

bool screen_has_colors(void)
{
	return colors;
}

bool screen_utf8(void)
{
	return utf8;
}

attr_t screen_attr(enum screen_role role)
{
	return role < ROLE__COUNT ? roles[role] : A_NORMAL;
}

attr_t screen_fill(enum screen_palette p, uint32_t hash, bool cursor)
{
	attr_t a;

	if (p >= PAL__COUNT)
		p = PAL_UNKNOWN;
	if (!colors)
		return cursor		? A_BOLD | A_UNDERLINE
		       : p == PAL_MATCH ? A_REVERSE | A_BOLD | A_UNDERLINE
					: A_REVERSE;
	if (COLORS >= 256)
		a = pair_attr(16, pal256[p][hash % 6]);
	else
		a = pair_attr(COLOR_BLACK, pal8[p]);
	return cursor ? a | A_REVERSE | A_BOLD : a;
}

attr_t screen_heat(int level, const char **cell)
{
	static char ascii[SCREEN_HEAT_LEVELS][2];

	if (level < 0)
		level = 0;
	if (level >= SCREEN_HEAT_LEVELS)
		level = SCREEN_HEAT_LEVELS - 1;
	if (colors && COLORS >= 256) {
		*cell = " ";
		return level ? pair_attr(16, heat256[level]) : A_NORMAL;
	}
	ascii[level][0] = heat_ascii[level];
	ascii[level][1] = '\0';
	*cell = ascii[level];
	if (colors)
		return pair_attr(COLOR_RED, default_bg) |
		       (level > SCREEN_HEAT_LEVELS / 2 ? A_BOLD : 0);
	return level > SCREEN_HEAT_LEVELS / 2 ? A_BOLD : A_NORMAL;
}

int screen_put(int y, int x, int width, attr_t attr, const char *s, bool pad, bool ellipsis)
{
	wchar_t wbuf[512];
	int cells = 0, n = 0;
	bool cut = false;
	mbstate_t st;
	const char *p = s;

	if (width <= 0)
		return 0;
	if (width > (int)(sizeof(wbuf) / sizeof(wbuf[0])) - 1)
		width = (int)(sizeof(wbuf) / sizeof(wbuf[0])) - 1;
	memset(&st, 0, sizeof(st));
	while (*p) {
		wchar_t wc;
		size_t used;
		int w;

		if ((unsigned char)*p < 0x80) {
			wc = (unsigned char)*p < 0x20 || *p == 0x7f ? L'?' : (wchar_t)*p;
			used = 1;
		} else if (utf8) {
			used = mbrtowc(&wc, p, MB_CUR_MAX, &st);
			if (used == (size_t)-1 || used == (size_t)-2 || used == 0) {
				memset(&st, 0, sizeof(st));
				wc = L'?';
				used = 1;
			}
		} else {
			wc = L'?';
			used = 1;
		}
		w = wcwidth(wc);
		if (w < 0) {
			wc = L'?';
			w = 1;
		}
		if (cells + w > width) {
			cut = true;
			break;
		}
		wbuf[n++] = wc;
		cells += w;
		p += used;
	}
	if (cut && ellipsis && n > 0) {
		/* Replace the last cells with one ellipsis cell. */
		while (n > 0 && cells + 1 > width) {
			int w = wcwidth(wbuf[n - 1]);

			cells -= w > 0 ? w : 1;
			n--;
		}
		wbuf[n++] = utf8 ? L'\u2026' : L'~';
		cells++;
	}
	if (pad)
		while (cells < width) {
			wbuf[n++] = L' ';
			cells++;
		}
	wbuf[n] = L'\0';
	attrset(attr);
	mvaddnwstr(y, x, wbuf, n);
	attrset(A_NORMAL);
	return cells;
}

void screen_fill_line(int y, int x, int width, attr_t attr)
{
	if (width <= 0)
		return;
	mvhline(y, x, ' ' | attr, width);
}
