/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The flame graph view: the model's flame tree laid out by tui/flame.c and drawn as coloured,
 * named cells, root at the bottom (flame) or at the top (icicle), one colour family per kind of
 * frame; a cursor moves over frames (the status line names the one under it with its samples
 * and share), Enter zooms into it, Esc/Backspace zooms out; `/` highlights the matching frames and
 * shows their share of all samples; `r` shows the callers of each leaf instead (reversed).
 */
#ifndef EMBER_TUI_VIEW_FLAME_H
#define EMBER_TUI_VIEW_FLAME_H

#include "tui/tui_internal.h"

extern const struct view_ops view_flame_ops;

#endif
