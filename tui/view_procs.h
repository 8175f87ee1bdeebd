/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The processes view: one row per process (or thread, with H) with its PID, user, CPU over the
 * selection, a sparkline of its recent CPU, its command and its hottest function (the function
 * most often at the leaf of its stacks); sortable by any column; Enter narrows every view to the
 * row, Esc widens again.
 */
#ifndef EMBER_TUI_VIEW_PROCS_H
#define EMBER_TUI_VIEW_PROCS_H

#include "tui/tui_internal.h"

extern const struct view_ops view_procs_ops;

#endif
