/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The FlameScope heatmap as geometry: columns are whole seconds, rows are equal fractions of a
 * second (row 0 the start of each second, at the top), a cell's shade is its sample count against
 * the busiest cell. Maps cells to times and a two-cell selection to a time range; pure, so it is
 * unit-tested without a terminal.
 */
#ifndef EMBER_TUI_HEATMAP_H
#define EMBER_TUI_HEATMAP_H

#include <stdint.h>

#define HEATMAP_NS_PER_S 1000000000ll

struct heatmap_geom {
	int64_t t0_ns; /* the start of column 0, a whole second since the epoch */
	int cols, rows;
};

/* The usual row counts, largest first: the heatmap takes the largest that fits its height. */
int heatmap_rows_for(int height);

/* The first instant of cell (col, row). */
int64_t heatmap_cell_start(const struct heatmap_geom *g, int col, int row);

/* The cell holding time t: 0 with *col and *row set, or -ERANGE when t is outside the map. */
int heatmap_cell_of(const struct heatmap_geom *g, int64_t t, int *col, int *row);

/*
 * The range selected from cell (c0, r0) to cell (c1, r1), in either order, as FlameScope reads it:
 * time runs down each column, then on to the next column; both cells are included. Sets
 * [*from, *to).
 */
void heatmap_selection(const struct heatmap_geom *g, int c0, int r0, int c1, int r1, int64_t *from,
		       int64_t *to);

/* The shade of a count, 0 (none) to levels - 1 (the busiest cell, max). */
int heatmap_shade(uint64_t count, uint64_t max, int levels);

#endif
