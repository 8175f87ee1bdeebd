/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The functions view, like `perf top`: self % (samples whose leaf is the function) and total %
 * (samples with the function anywhere in the stack), its kind and module; Enter opens its callers
 * and callees, where Enter follows one of them and Esc goes back.
 */
#ifndef EMBER_TUI_VIEW_FUNCS_H
#define EMBER_TUI_VIEW_FUNCS_H

#include "tui/tui_internal.h"

extern const struct view_ops view_funcs_ops;

#endif
