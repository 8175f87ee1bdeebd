// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The sparkline widget: counts to cells of eight heights. */
#include "tui/sparkline.h"

#include <string.h>

static const char *const utf8_cells[SPARKLINE_LEVELS + 1] = {
	" ", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588",
};
static const char ascii_cells[SPARKLINE_LEVELS + 2] = " _.,-=+*#";

int sparkline_level(uint64_t v, uint64_t max)
{
	uint64_t level;

	if (!v)
		return 0;
	if (!max || v >= max)
		return SPARKLINE_LEVELS;
	/* Round up: the smallest non-zero value shows as the lowest bar. */
	level = (v * SPARKLINE_LEVELS + max - 1) / max;
	return level < 1 ? 1 : (int)level;
}

size_t sparkline_render(const uint64_t *v, size_t n, uint64_t max, bool utf8, char *buf, size_t len)
{
	size_t used = 0, cells = 0;

	if (!len)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int level = sparkline_level(v[i], max);
		const char *cell = utf8 ? utf8_cells[level]
					: (const char[]){ ascii_cells[level], 0 };
		size_t clen = strlen(cell);

		if (used + clen + 1 > len)
			break;
		memcpy(buf + used, cell, clen);
		used += clen;
		cells++;
	}
	buf[used] = '\0';
	return cells;
}
