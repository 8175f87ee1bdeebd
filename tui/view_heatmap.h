/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The heatmap view, FlameScope's sub-second offset heatmap in the terminal: one column per second,
 * rows for fractions of each second, each cell shaded by its samples. A range is selected with the
 * keys (m marks its start, Enter its end) or the mouse (drag, or click its start then its end),
 * and Enter opens the flame graph of exactly that range.
 */
#ifndef EMBER_TUI_VIEW_HEATMAP_H
#define EMBER_TUI_VIEW_HEATMAP_H

#include "tui/tui_internal.h"

extern const struct view_ops view_heatmap_ops;

#endif
