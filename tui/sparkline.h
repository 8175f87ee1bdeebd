/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The sparkline widget: a series of counts drawn as one cell per value, eight heights of the
 * Unicode block elements (U+2581..U+2588), or an ASCII ramp where the terminal has no UTF-8.
 */
#ifndef EMBER_TUI_SPARKLINE_H
#define EMBER_TUI_SPARKLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPARKLINE_LEVELS 8

/*
 * The height of one value, 0 (blank) to SPARKLINE_LEVELS: 0 only for 0, at least 1 for any
 * non-zero value so activity never disappears, SPARKLINE_LEVELS at or above `max` (the scale,
 * e.g. the samples one busy CPU gives in a bucket). max 0 draws every non-zero value full.
 */
int sparkline_level(uint64_t v, uint64_t max);

/*
 * Writes the sparkline of v[0..n) into buf (NUL-terminated, at most len bytes; cells that do not
 * fit are dropped whole). UTF-8 cells take 3 bytes, ASCII ones 1. Returns the cells written.
 */
size_t sparkline_render(const uint64_t *v, size_t n, uint64_t max, bool utf8, char *buf,
			size_t len);

#endif
