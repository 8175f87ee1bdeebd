// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * /proc/PID/maps parser: "start-end perms offset major:minor inode   path". Lines are parsed
 * strictly (hex fields bounded, a path of at most PATH_MAX bytes) and entries sorted by address
 * for binary search.
 */
#include "symbolizer/procmaps.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A maps file can be large (JITs map thousands of regions); refuse beyond this. */
#define PROCMAPS_MAX_BYTES (64u << 20)

struct procmaps {
	struct procmaps_entry *v;
	size_t n;
	char *strings; /* every path, NUL-separated; entries point into it */
};

/* Parses a hex number of at most 16 digits; advances *p. */
static int parse_hex(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	int digits = 0;

	while (*p < end) {
		char c = **p;
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if (++digits > 16)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
		(*p)++;
	}
	if (!digits)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_dec(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	int digits = 0;

	while (*p < end && **p >= '0' && **p <= '9') {
		if (++digits > 20)
			return -EINVAL;
		v = v * 10 + (uint64_t)(**p - '0');
		(*p)++;
	}
	if (!digits)
		return -EINVAL;
	*out = v;
	return 0;
}

static int expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

static void skip_spaces(const char **p, const char *end)
{
	while (*p < end && **p == ' ')
		(*p)++;
}

/*
 * Parses one line [p, end). Returns 1 and fills *e (path as [*path, *path_len)) for an executable
 * mapping, 0 for a mapping to skip, -EINVAL for a malformed line.
 */
static int parse_line(const char *p, const char *end, struct procmaps_entry *e, const char **path,
		      size_t *path_len)
{
	uint64_t maj, min;
	char perms[4];
	int i;

	if (parse_hex(&p, end, &e->start) || expect(&p, end, '-') || parse_hex(&p, end, &e->end) ||
	    expect(&p, end, ' '))
		return -EINVAL;
	if (e->end <= e->start)
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		if (p >= end)
			return -EINVAL;
		perms[i] = *p++;
	}
	if (expect(&p, end, ' ') || parse_hex(&p, end, &e->offset) || expect(&p, end, ' ') ||
	    parse_hex(&p, end, &maj) || expect(&p, end, ':') || parse_hex(&p, end, &min) ||
	    expect(&p, end, ' ') || parse_dec(&p, end, &e->inode))
		return -EINVAL;
	if (maj > UINT32_MAX || min > UINT32_MAX)
		return -EINVAL;
	e->dev_major = (uint32_t)maj;
	e->dev_minor = (uint32_t)min;
	if (p < end && *p != ' ')
		return -EINVAL;
	skip_spaces(&p, end);
	*path = p;
	*path_len = (size_t)(end - p);
	if (*path_len > PATH_MAX)
		return -EINVAL;
	return perms[2] == 'x';
}

static int cmp_entry(const void *a, const void *b)
{
	const struct procmaps_entry *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

struct procmaps *procmaps__parse(const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl, *path;
	struct procmaps *m;
	size_t cap = 0, strings_len = 0, path_len;
	size_t *path_off = NULL;
	int err = 0, r;

	m = calloc(1, sizeof(*m));
	/* Paths are copied into one buffer no larger than the input, plus a NUL per line. */
	if (m)
		m->strings = malloc(len + 1);
	if (!m || !m->strings) {
		err = -ENOMEM;
		goto fail;
	}
	for (; p < end; p = nl + 1) {
		struct procmaps_entry e = { 0 };

		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (nl == p)
			continue;
		r = parse_line(p, nl, &e, &path, &path_len);
		if (r < 0) {
			err = r;
			goto fail;
		}
		if (!r)
			continue;
		if (memchr(path, '\0', path_len)) {
			err = -EINVAL;
			goto fail;
		}
		if (m->n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct procmaps_entry *nv = realloc(m->v, ncap * sizeof(*nv));
			size_t *noff = realloc(path_off, ncap * sizeof(*noff));

			if (nv)
				m->v = nv;
			if (noff)
				path_off = noff;
			if (!nv || !noff) {
				err = -ENOMEM;
				goto fail;
			}
			cap = ncap;
		}
		memcpy(m->strings + strings_len, path, path_len);
		m->strings[strings_len + path_len] = '\0';
		path_off[m->n] = strings_len;
		strings_len += path_len + 1;
		m->v[m->n++] = e;
	}
	/* Pointers are set only now: m->strings no longer moves. */
	for (size_t i = 0; i < m->n; i++)
		m->v[i].path = m->strings + path_off[i];
	free(path_off);
	if (m->n)
		qsort(m->v, m->n, sizeof(*m->v), cmp_entry);
	return m;
fail:
	free(path_off);
	procmaps__free(m);
	errno = -err;
	return NULL;
}

struct procmaps *procmaps__read(int pid)
{
	char path[64], *buf = NULL;
	size_t len = 0, cap = 0;
	struct procmaps *m = NULL;
	int fd, err = 0;
	ssize_t r;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		if (len == cap) {
			char *nb;

			if (cap >= PROCMAPS_MAX_BYTES) {
				err = -EFBIG;
				goto out;
			}
			cap = cap ? cap * 2 : 16384;
			nb = realloc(buf, cap);
			if (!nb) {
				err = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* A process that exited between open and read reads as ESRCH. */
			err = errno == ESRCH ? -ENOENT : -errno;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	m = procmaps__parse(buf, len);
	if (!m)
		err = -errno;
out:
	free(buf);
	close(fd);
	if (err)
		errno = -err;
	return m;
}

struct procmaps *procmaps__new(const struct procmaps_entry *v, size_t n)
{
	struct procmaps *m = calloc(1, sizeof(*m));
	size_t strings_len = 0, off = 0;
	int err = 0;

	if (!m)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (v[i].end <= v[i].start) {
			err = -EINVAL;
			goto fail;
		}
		strings_len += (v[i].path ? strlen(v[i].path) : 0) + 1;
	}
	m->strings = malloc(strings_len ? strings_len : 1);
	m->v = n ? malloc(n * sizeof(*m->v)) : NULL;
	if (!m->strings || (n && !m->v)) {
		err = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		const char *path = v[i].path ? v[i].path : "";
		size_t len = strlen(path) + 1;

		m->v[i] = v[i];
		m->v[i].path = memcpy(m->strings + off, path, len);
		off += len;
	}
	m->n = n;
	if (n)
		qsort(m->v, n, sizeof(*m->v), cmp_entry);
	return m;
fail:
	procmaps__free(m);
	errno = -err;
	return NULL;
}

struct procmaps *procmaps__named(const struct procmaps *m, const struct procmaps *names)
{
	struct procmaps_entry *v = m && m->n ? malloc(m->n * sizeof(*v)) : NULL;
	struct procmaps *out;

	if (m && m->n && !v)
		return NULL;
	for (size_t i = 0; m && i < m->n; i++) {
		v[i] = m->v[i];
		if (!v[i].inode || v[i].path[0])
			continue;
		for (size_t j = 0; names && j < names->n; j++) {
			const struct procmaps_entry *o = &names->v[j];

			if (o->inode == v[i].inode && o->dev_major == v[i].dev_major &&
			    o->dev_minor == v[i].dev_minor && o->path[0] == '/') {
				v[i].path = o->path;
				break;
			}
		}
	}
	out = procmaps__new(v, m ? m->n : 0);
	free(v);
	return out;
}

const struct procmaps_entry *procmaps__find(const struct procmaps *m, uint64_t addr)
{
	size_t lo = 0, hi;

	if (!m)
		return NULL;
	hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < m->v[mid].start)
			hi = mid;
		else if (addr >= m->v[mid].end)
			lo = mid + 1;
		else
			return &m->v[mid];
	}
	return NULL;
}

size_t procmaps__count(const struct procmaps *m)
{
	return m ? m->n : 0;
}

const struct procmaps_entry *procmaps__entry(const struct procmaps *m, size_t i)
{
	return m && i < m->n ? &m->v[i] : NULL;
}

void procmaps__free(struct procmaps *m)
{
	if (!m)
		return;
	free(m->v);
	free(m->strings);
	free(m);
}
