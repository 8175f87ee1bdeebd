/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A progress bar on stderr for long commands: drawn only when stderr is a terminal, and only once
 * the work has taken more than half a second, so quick runs and pipes never see it.
 */
#ifndef EMBER_PROGRESS_H
#define EMBER_PROGRESS_H

struct progress;

/* `what` names the work ("ember export"); borrowed for the bar's life. Returns NULL (not an error)
 * when stderr is not a terminal, or on ENOMEM: progress__update then does nothing. */
struct progress *progress__new(const char *what);

/* Shows `fraction` (0..1) done; `p` is a struct progress * (the signature of
 * export_progress_fn). Redraws at most ten times a second. */
void progress__update(double fraction, void *p);

/* Erases the bar and frees it; accepts NULL. */
void progress__free(struct progress *p);

#endif
