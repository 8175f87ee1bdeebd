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

int cli_parse_bytes(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v, shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end == 'k' || *end == 'K')
		shift = 10;
	else if (*end == 'm' || *end == 'M')
		shift = 20;
	if (shift && (!strcmp(end + 1, "") || !strcmp(end + 1, "iB")))
		end += strlen(end);
	if (*end)
		return -EINVAL;
	if (errno || v > (~0ul >> shift))
		return -ERANGE;
	v <<= shift;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
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
