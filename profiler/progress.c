// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The progress bar: one line on stderr, redrawn in place with a carriage return. */
#include "profiler/progress.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_DELAY_NS 500000000ll
#define PROGRESS_EVERY_NS 100000000ll
#define PROGRESS_WIDTH 40

struct progress {
	const char *what;
	int64_t start, last;
	int64_t delay;
	bool shown;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct progress *progress__new(const char *what)
{
	struct progress *p;

	/* EMBER_PROGRESS=1 forces the bar (tests drive it through a pipe). */
	if (!isatty(STDERR_FILENO) &&
	    !(getenv("EMBER_PROGRESS") && !strcmp(getenv("EMBER_PROGRESS"), "1")))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->what = what;
	p->start = mono_ns();
	return p;
}

void progress__update(double fraction, void *ctx)
{
	struct progress *p = ctx;
	char bar[PROGRESS_WIDTH + 1];
	int64_t now;
	int fill;

	if (!p)
		return;
	now = mono_ns();
	if (now - p->start < p->delay ||
	    (p->shown && now - p->last < PROGRESS_EVERY_NS && fraction < 1))
		return;
	fraction = fraction < 0 ? 0 : fraction > 1 ? 1 : fraction;
	fill = (int)(fraction * PROGRESS_WIDTH);
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(PROGRESS_WIDTH - fill));
	bar[PROGRESS_WIDTH] = '\0';
	fprintf(stderr, "\r%s [%s] %3d%%", p->what, bar, (int)(fraction * 100));
	fflush(stderr);
	p->shown = true;
	p->last = now;
}

void progress__free(struct progress *p)
{
	if (!p)
		return;
	if (p->shown) {
		/* Erase the line so the next message starts clean. */
		fprintf(stderr, "\r%*s\r", (int)strlen(p->what) + PROGRESS_WIDTH + 8, "");
		fflush(stderr);
	}
	free(p);
}
