// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Loads /proc/kallsyms ("addr type name [module]") into one sorted array. Names and module names
 * live in one string arena; module names are interned so each is stored once.
 */
#include "symbolizer/kallsyms.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kallsyms {
	struct ksym *syms;
	unsigned long n;
	char **arena; /* chunks of names */
	size_t n_arena;
	char *chunk;
	size_t chunk_used, chunk_size;
	const char *last_module;
};

static const char *arena_strdup(struct kallsyms *k, const char *s, size_t len)
{
	char *dst;

	if (!k->chunk || k->chunk_used + len + 1 > k->chunk_size) {
		size_t size = len + 1 > 65536 ? len + 1 : 65536;
		char **na = realloc(k->arena, (k->n_arena + 1) * sizeof(*na));

		if (!na)
			return NULL;
		k->arena = na;
		k->chunk = malloc(size);
		if (!k->chunk)
			return NULL;
		k->arena[k->n_arena++] = k->chunk;
		k->chunk_used = 0;
		k->chunk_size = size;
	}
	dst = k->chunk + k->chunk_used;
	memcpy(dst, s, len);
	dst[len] = '\0';
	k->chunk_used += len + 1;
	return dst;
}

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Text symbols only: T/t (text) and W/w (weak, mostly text). */
static int is_text(char type)
{
	return type == 'T' || type == 't' || type == 'W' || type == 'w';
}

struct kallsyms *kallsyms__load(const char *path)
{
	struct kallsyms *k;
	unsigned long cap = 0, nonzero = 0;
	char line[1024];
	FILE *f;
	int err = 0;

	f = fopen(path, "re");
	if (!f)
		return NULL;
	k = calloc(1, sizeof(*k));
	if (!k) {
		err = -ENOMEM;
		goto out;
	}
	while (fgets(line, sizeof(line), f)) {
		char *name, *mod, *end, type;
		unsigned long long addr;
		size_t name_len;

		addr = strtoull(line, &end, 16);
		if (end == line || *end != ' ' || !end[1] || end[2] != ' ')
			continue;
		type = end[1];
		if (!is_text(type))
			continue;
		name = end + 3;
		name_len = strcspn(name, " \t\n");
		if (!name_len || (name_len > 6 && !strncmp(name, "__pfx_", 6)))
			continue;
		mod = strchr(name + name_len, '[');
		if (mod) {
			char *close = strchr(mod, ']');

			mod++;
			if (!close)
				mod = NULL;
			else if (!k->last_module ||
				 strncmp(k->last_module, mod, (size_t)(close - mod)) ||
				 k->last_module[close - mod]) {
				/* Lines of one module are contiguous: intern against the last one.
				 */
				k->last_module = arena_strdup(k, mod, (size_t)(close - mod));
				if (!k->last_module) {
					err = -ENOMEM;
					goto out;
				}
			}
		}
		if (k->n == cap) {
			unsigned long ncap = cap ? cap * 2 : 65536;
			struct ksym *ns = realloc(k->syms, ncap * sizeof(*ns));

			if (!ns) {
				err = -ENOMEM;
				goto out;
			}
			k->syms = ns;
			cap = ncap;
		}
		k->syms[k->n].addr = addr;
		k->syms[k->n].name = arena_strdup(k, name, name_len);
		k->syms[k->n].module = mod ? k->last_module : NULL;
		if (!k->syms[k->n].name) {
			err = -ENOMEM;
			goto out;
		}
		nonzero += addr != 0;
		k->n++;
	}
	if (k->n && !nonzero) {
		err = -EPERM;
		goto out;
	}
	if (k->n)
		qsort(k->syms, k->n, sizeof(*k->syms), cmp_ksym);
out:
	fclose(f);
	if (err) {
		kallsyms__free(k);
		errno = -err;
		return NULL;
	}
	return k;
}

const struct ksym *kallsyms__find(const struct kallsyms *k, uint64_t addr)
{
	unsigned long lo = 0, hi;

	if (!k || !k->n || addr < k->syms[0].addr)
		return NULL;
	hi = k->n;
	/* Find the last symbol with syms[i].addr <= addr. */
	while (hi - lo > 1) {
		unsigned long mid = lo + (hi - lo) / 2;

		if (k->syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return &k->syms[lo];
}

const struct ksym *kallsyms__lookup_name(const struct kallsyms *k, const char *name)
{
	for (unsigned long i = 0; k && i < k->n; i++)
		if (!strcmp(k->syms[i].name, name))
			return &k->syms[i];
	return NULL;
}

unsigned long kallsyms__count(const struct kallsyms *k)
{
	return k ? k->n : 0;
}

void kallsyms__free(struct kallsyms *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->n_arena; i++)
		free(k->arena[i]);
	free(k->arena);
	free(k->syms);
	free(k);
}
