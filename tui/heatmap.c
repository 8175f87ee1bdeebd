// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Heatmap geometry: cells to times and back, selections, shades. */
#include "tui/heatmap.h"

#include <errno.h>

int heatmap_rows_for(int height)
{
	/* Divisors of 1000 ms, so every row is a whole number of milliseconds. */
	static const int rows[] = { 50, 40, 25, 20, 10, 8, 5, 4, 2 };

	for (unsigned int i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i] <= height)
			return rows[i];
	return 1;
}

int64_t heatmap_cell_start(const struct heatmap_geom *g, int col, int row)
{
	return g->t0_ns + (int64_t)col * HEATMAP_NS_PER_S +
	       (int64_t)row * HEATMAP_NS_PER_S / g->rows;
}

int heatmap_cell_of(const struct heatmap_geom *g, int64_t t, int *col, int *row)
{
	int64_t off = t - g->t0_ns;

	if (off < 0 || off >= (int64_t)g->cols * HEATMAP_NS_PER_S)
		return -ERANGE;
	*col = (int)(off / HEATMAP_NS_PER_S);
	*row = (int)(off % HEATMAP_NS_PER_S * g->rows / HEATMAP_NS_PER_S);
	return 0;
}

void heatmap_selection(const struct heatmap_geom *g, int c0, int r0, int c1, int r1, int64_t *from,
		       int64_t *to)
{
	int64_t a = heatmap_cell_start(g, c0, r0), b = heatmap_cell_start(g, c1, r1);

	if (b < a) {
		int64_t t = a;

		a = b;
		b = t;
	}
	*from = a;
	*to = b + HEATMAP_NS_PER_S / g->rows;
}

int heatmap_shade(uint64_t count, uint64_t max, int levels)
{
	uint64_t s;

	if (!count || levels < 2)
		return 0;
	if (count >= max)
		return levels - 1;
	/* 1 .. levels - 1, rounding up so a single sample is visible. */
	s = (count * (uint64_t)(levels - 1) + max - 1) / max;
	return s < 1 ? 1 : (int)s;
}
