// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Perf-map parser: each line "START SIZE NAME", START and SIZE in hex (an optional 0x), NAME the
 * rest of the line. Entries are sorted by start; among equal starts the one written last wins.
 */
#include "symbolizer/perfmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct pm_entry {
	uint64_t start, size;
	uint32_t name; /* offset into names */
	uint32_t seq;  /* line number: later lines win */
};

struct perfmap {
	struct pm_entry *v;
	size_t n;
	char *names;
	size_t names_len;
	size_t bad;
};

struct perfmap *perfmap__new(void)
{
	return calloc(1, sizeof(struct perfmap));
}

static int parse_hex(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	int digits = 0;

	if (end - *p > 2 && (*p)[0] == '0' && ((*p)[1] == 'x' || (*p)[1] == 'X'))
		*p += 2;
	for (; *p < end; (*p)++) {
		char c = **p;
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;

		if (d < 0)
			break;
		if (++digits > 16)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
	}
	if (!digits)
		return -EINVAL;
	*out = v;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct pm_entry *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int perfmap__parse(struct perfmap *pm, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl;
	struct pm_entry *v = NULL;
	size_t n = 0, cap = 0, names_len = 0, bad = 0, out;
	char *names;

	if (len > PERFMAP_MAX_BYTES)
		len = PERFMAP_MAX_BYTES;
	/* Names are copied into one buffer no larger than the text. */
	names = malloc(len + 1);
	if (!names)
		return -ENOMEM;
	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))); p = nl + 1) {
		uint64_t start, size;
		const char *q = p;
		size_t name_len;

		if (parse_hex(&q, nl, &start) || q >= nl || *q != ' ' ||
		    (++q, parse_hex(&q, nl, &size)) || q >= nl || *q != ' ' || !size ||
		    start + size < start) {
			bad += nl > p;
			continue;
		}
		q++;
		name_len = (size_t)(nl - q);
		if (name_len && q[name_len - 1] == '\r')
			name_len--;
		if (!name_len || memchr(q, '\0', name_len)) {
			bad++;
			continue;
		}
		if (name_len > PERFMAP_NAME_MAX)
			name_len = PERFMAP_NAME_MAX;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct pm_entry *nv;

			if (ncap > UINT32_MAX || !(nv = realloc(v, ncap * sizeof(*nv)))) {
				free(v);
				free(names);
				return -ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		memcpy(names + names_len, q, name_len);
		names[names_len + name_len] = '\0';
		v[n] = (struct pm_entry){ start, size, (uint32_t)names_len, (uint32_t)n };
		names_len += name_len + 1;
		n++;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_entry);
	/* Keep the last-written entry of each start address. */
	for (size_t i = out = 0; i < n; i++) {
		if (i + 1 < n && v[i + 1].start == v[i].start)
			continue;
		v[out++] = v[i];
	}
	free(pm->v);
	free(pm->names);
	pm->v = v;
	pm->n = out;
	pm->names = names;
	pm->names_len = names_len;
	pm->bad = bad;
	return 0;
}

const char *perfmap__find(const struct perfmap *pm, uint64_t addr, uint64_t *offset)
{
	size_t lo = 0, hi;

	if (!pm || !pm->n || addr < pm->v[0].start)
		return NULL;
	hi = pm->n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (pm->v[mid].start <= addr)
			lo = mid;
		else
			hi = mid;
	}
	/* An earlier, longer entry may still cover addr: look back over a few overlapping ones. */
	for (size_t i = lo + 1, k = 0; i-- > 0 && k < 8; k++) {
		const struct pm_entry *e = &pm->v[i];

		if (addr - e->start < e->size) {
			if (offset)
				*offset = addr - e->start;
			return pm->names + e->name;
		}
	}
	return NULL;
}

size_t perfmap__count(const struct perfmap *pm)
{
	return pm ? pm->n : 0;
}

size_t perfmap__bad_lines(const struct perfmap *pm)
{
	return pm ? pm->bad : 0;
}

size_t perfmap__bytes(const struct perfmap *pm)
{
	return pm ? pm->n * sizeof(*pm->v) + pm->names_len : 0;
}

void perfmap__free(struct perfmap *pm)
{
	if (!pm)
		return;
	free(pm->v);
	free(pm->names);
	free(pm);
}
