// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Folded output. The storage aggregates per (thread, stack); threads of one command with the same
 * stack fold into one line, so lines are merged by their text before printing. Memory is bound by
 * the number of distinct lines, never by the number of samples.
 */
#include "profiler/folded.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct line {
	unsigned long long count;
	UT_hash_handle hh;
	char text[];
};

static void sanitize(char *s)
{
	for (; *s; s++)
		if (*s == ';' || (unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '_';
}

char *folded_frame_name(const struct storage_frame *f, char *buf, size_t len)
{
	const char *k = f->kind == STORAGE_FRAME_KERNEL ? "_[k]" : "";

	if (f->name) {
		snprintf(buf, len, "%s%s", f->name, k);
	} else {
		const char *mod = f->module ? f->module : "[unknown]";
		const char *base = strrchr(mod, '/');

		snprintf(buf, len, "%s+0x%llx%s", base ? base + 1 : mod,
			 (unsigned long long)f->offset, k);
	}
	sanitize(buf);
	return buf;
}

/* Appends s to the growing buffer; 0 or -ENOMEM. */
static int append(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);

	if (*len + n + 1 > *cap) {
		size_t ncap = *cap ? *cap : 256;
		char *nb;

		while (*len + n + 1 > ncap)
			ncap *= 2;
		nb = realloc(*buf, ncap);
		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
	return 0;
}

static int build_line(struct storage_reader *r, const struct storage_stack_count *c, char **buf,
		      size_t *cap)
{
	const struct storage_thread *t = storage_reader__thread(r, c->thread);
	char comm[64], name[1024];
	const int64_t *frames;
	size_t n, len = 0;
	int err;

	snprintf(comm, sizeof(comm), "%s", t ? t->comm : "[unknown]");
	sanitize(comm);
	err = append(buf, &len, cap, comm);
	if (err)
		return err;
	err = storage_reader__stack(r, c->stack, &frames, &n, NULL);
	if (err)
		return err;
	/* Stored leaf first (kernel frames, then user frames): print from the root. */
	for (size_t i = n; i-- > 0;) {
		const struct storage_frame *f = storage_reader__frame(r, frames[i]);

		if (!f)
			return -errno;
		err = append(buf, &len, cap, ";");
		if (!err)
			err = append(buf, &len, cap, folded_frame_name(f, name, sizeof(name)));
		if (err)
			return err;
	}
	return 0;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp((*(struct line *const *)a)->text, (*(struct line *const *)b)->text);
}

int folded_write(FILE *out, struct storage_reader *r, const struct storage_filter *filter,
		 unsigned long long *nsamples)
{
	struct storage_stack_count *counts = NULL;
	struct line *lines = NULL, *l, *tmp, **sorted = NULL;
	char *buf = NULL;
	size_t n, cap = 0, nlines, i = 0;
	uint64_t total = 0;
	int err;

	err = storage_reader__stack_counts(r, filter, &counts, &n, &total);
	if (err)
		return err;
	if (!total) {
		err = -ENODATA;
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		err = build_line(r, &counts[k], &buf, &cap);
		if (err)
			goto out;
		HASH_FIND_STR(lines, buf, l);
		if (!l) {
			size_t len = strlen(buf);

			l = malloc(sizeof(*l) + len + 1);
			if (!l) {
				err = -ENOMEM;
				goto out;
			}
			memcpy(l->text, buf, len + 1);
			l->count = 0;
			HASH_ADD_STR(lines, text, l);
		}
		l->count += counts[k].count;
	}
	nlines = HASH_COUNT(lines);
	sorted = malloc((nlines + 1) * sizeof(*sorted));
	if (!sorted) {
		err = -ENOMEM;
		goto out;
	}
	HASH_ITER (hh, lines, l, tmp)
		sorted[i++] = l;
	qsort(sorted, nlines, sizeof(*sorted), cmp_line);
	for (i = 0; i < nlines; i++)
		if (fprintf(out, "%s %llu\n", sorted[i]->text, sorted[i]->count) < 0) {
			err = -EIO;
			goto out;
		}
	*nsamples = total;
out:
	HASH_ITER (hh, lines, l, tmp) {
		HASH_DEL(lines, l);
		free(l);
	}
	free(sorted);
	free(buf);
	free(counts);
	return err;
}
