/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Internals shared by the symbolizer's modules (not part of any module's interface).
 */
#ifndef EMBER_SYMBOLIZER_INTERNAL_H
#define EMBER_SYMBOLIZER_INTERNAL_H

#include <errno.h>
#include <stdlib.h>

/*
 * Grows the vector *v of *cap elements of `elem` bytes to hold `need`, doubling from 64. Returns 0,
 * -EFBIG past `max` elements, or -ENOMEM (the vector is then unchanged).
 */
static inline int symbolizer_grow(void **v, size_t *cap, size_t need, size_t elem, size_t max)
{
	size_t ncap;
	void *nv;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	if (ncap > max)
		return -EFBIG;
	if (ncap > SIZE_MAX / elem)
		return -ENOMEM;
	nv = realloc(*v, ncap * elem);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

#endif
