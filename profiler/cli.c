// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Argument helpers shared by the subcommands. */
#include "profiler/cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SYSTEM_DB "/var/lib/ember/ember.db"

const char *cli_default_db(enum cli_db_use use, char *buf, size_t len)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

	if (geteuid() == 0) {
		snprintf(buf, len, "%s", SYSTEM_DB);
		return buf;
	}
	if (state && *state)
		snprintf(buf, len, "%s/ember/ember.db", state);
	else
		snprintf(buf, len, "%s/.local/state/ember/ember.db", home && *home ? home : ".");
	if (use == CLI_DB_READ && access(buf, F_OK) && !access(SYSTEM_DB, F_OK))
		snprintf(buf, len, "%s", SYSTEM_DB);
	return buf;
}

/* "10m" -> seconds; the unit is required to be one of ms, s, m, h, d, w or absent (seconds). */
static int parse_span(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || v < 0 || isinf(v) || v != v)
		return -EINVAL;
	if (!strcmp(end, "") || !strcmp(end, "s"))
		;
	else if (!strcmp(end, "ms"))
		v /= 1000;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		v *= 60;
	else if (!strcmp(end, "h"))
		v *= 3600;
	else if (!strcmp(end, "d"))
		v *= 86400;
	else if (!strcmp(end, "w"))
		v *= 7 * 86400;
	else
		return -EINVAL;
	*out = v;
	return 0;
}

int cli_parse_seconds(const char *s, double *out)
{
	double v;

	if (parse_span(s, &v) || v <= 0 || v > 1e9)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Parses an optional ".123" fraction at *p into nanoseconds. */
static int64_t parse_frac(const char **p)
{
	int64_t ns = 0, scale = 100000000;

	if (**p != '.')
		return 0;
	(*p)++;
	while (isdigit((unsigned char)**p)) {
		ns += (**p - '0') * scale;
		scale /= 10;
		(*p)++;
	}
	return ns;
}

int cli_parse_time(const char *s, int64_t now_ns, int64_t *out_ns)
{
	struct tm tm;
	const char *p;
	double span;
	int64_t frac;
	time_t t;
	bool utc = false;

	if (!s || !*s)
		return -EINVAL;
	if (!strcmp(s, "now")) {
		*out_ns = now_ns;
		return 0;
	}
	if (s[0] == '-') {
		if (parse_span(s + 1, &span))
			return -EINVAL;
		*out_ns = now_ns - (int64_t)(span * 1e9);
		return 0;
	}
	if (s[0] == '@') {
		unsigned long secs;
		char *end;

		/* Integer seconds and a decimal fraction, parsed apart: a double loses nanoseconds.
		 */
		p = s + 1;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		errno = 0;
		secs = strtoul(p, &end, 10);
		if (errno || secs > 100000000000ul)
			return -EINVAL;
		p = end;
		frac = parse_frac(&p);
		if (*p)
			return -EINVAL;
		*out_ns = (int64_t)secs * 1000000000 + frac;
		return 0;
	}

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%d", &tm))) {
		if (*p == 'T' || *p == ' ') {
			const char *q = strptime(p + 1, "%H:%M:%S", &tm);

			if (!q)
				q = strptime(p + 1, "%H:%M", &tm);
			if (!q)
				return -EINVAL;
			p = q;
		}
	} else {
		/* A time of day: today's date. */
		time_t now = (time_t)(now_ns / 1000000000);

		localtime_r(&now, &tm);
		p = strptime(s, "%H:%M:%S", &tm);
		if (!p)
			p = strptime(s, "%H:%M", &tm);
		if (!p)
			return -EINVAL;
	}
	frac = parse_frac(&p);
	if (*p == 'Z') {
		utc = true;
		p++;
	}
	if (*p)
		return -EINVAL;
	tm.tm_isdst = -1;
	t = utc ? timegm(&tm) : mktime(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*out_ns = (int64_t)t * 1000000000 + frac;
	return 0;
}

int cli_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int cli_parse_size(const char *s, int64_t *out)
{
	unsigned long long v;
	int shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		break;
	}
	if (shift)
		end++;
	if (shift && !strcmp(end, "iB"))
		end += 2;
	else if (!strcmp(end, "B"))
		end++;
	if (*end || !v)
		return -EINVAL;
	if (errno || v > (unsigned long long)INT64_MAX >> shift)
		return -ERANGE;
	*out = (int64_t)(v << shift);
	return 0;
}

int cli_parse_bytes(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	int64_t v;
	int err = cli_parse_size(s, &v);

	if (err)
		return err;
	if ((uint64_t)v < min || (uint64_t)v > max)
		return -ERANGE;
	*out = (unsigned long)v;
	return 0;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ember %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'ember %s --help'.\n", cmd);
	return EXIT_USAGE;
}
