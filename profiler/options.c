// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Option tables -> getopt_long, the INI config file and --help. libinih parses the file; we feed
 * it through our own line reader so that every message carries the line it is about (Debian's
 * libinih is built without INI_HANDLER_LINENO, and its return value only names the first error).
 */
#include "profiler/options.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "profiler/cli.h"
#include "profiler/log.h"

#ifndef EMBER_CONFIG_PATH
#define EMBER_CONFIG_PATH "/etc/ember/ember.conf"
#endif

/* Sections of other ember commands: a file shared by several commands is not an error for any. */
static const char *const known_sections[] = { "record", "top", "export", "report", "doctor", "db" };

/* getopt values for options without a short name, and for --config / --no-config. */
#define OPT_LONG_BASE 256
#define OPT_CONFIG (OPT_LONG_BASE - 2)
#define OPT_NO_CONFIG (OPT_LONG_BASE - 3)
#define OPT_HELP 'h'

const char *options_default_config(void)
{
	return EMBER_CONFIG_PATH;
}

int options_exit_code(int err)
{
	if (err == 1)
		return 0;
	if (err == -EINVAL)
		return EXIT_USAGE;
	return err ? EXIT_RUNTIME : 0;
}

int options_parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") ||
	    !strcmp(v, "1")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
	    !strcmp(v, "0")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

/* ---- the config file ---- */

struct config_reader {
	const struct options *o;
	void *ctx;
	FILE *f;
	const char *path;
	int line;	   /* the line inih is working on */
	int section_line;  /* the line of the last [section] header */
	int too_long_line; /* the last line that did not fit inih's buffer (a comment may) */
	bool *listed;	   /* per spec: a list value was seen in this file */
	char *why;
	size_t len;
	bool failed;
};

/* inih's reader: fgets, counting lines. */
static char *reader_gets(char *str, int num, void *stream)
{
	struct config_reader *r = stream;
	char *s = fgets(str, num, r->f);
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	if (s[strspn(s, " \t")] == '[')
		r->section_line = r->line + 1;
	if (n && s[n - 1] == '\n') {
		r->line++;
	} else if (!feof(r->f)) {
		/* A line longer than inih's buffer would come back as two "lines": refuse it. */
		int c;

		r->line++;
		r->too_long_line = r->line;
		while ((c = fgetc(r->f)) != EOF && c != '\n')
			;
	} else {
		r->line++; /* the last line, without its newline */
	}
	return s;
}

__attribute__((format(printf, 2, 3))) static int config_error(struct config_reader *r,
							      const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (r->failed)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(r->why, r->len, "%s:%d: %s", r->path, r->line, msg);
	r->failed = true;
	return 0; /* inih: an error on this line */
}

static bool section_known(const char *section)
{
	for (size_t i = 0; i < sizeof(known_sections) / sizeof(known_sections[0]); i++)
		if (!strcmp(section, known_sections[i]))
			return true;
	return false;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct config_reader *r = user;
	const struct options *o = r->o;
	const struct option_spec *spec = NULL;
	char why[400] = "";
	size_t i;
	bool b;

	if (r->failed)
		return 0;
	if (r->too_long_line == r->line)
		return config_error(r, "the line is too long");
	if (!*section)
		return config_error(r, "'%s' is outside a section (put it under [%s])", name,
				    o->section);
	if (strcmp(section, o->section)) {
		if (section_known(section))
			return 1;
		r->line = r->section_line; /* name the header, not the key under it */
		return config_error(r, "unknown section [%s]", section);
	}
	for (i = 0; i < o->nspecs; i++) {
		if (!(o->specs[i].flags & OPTION_CLI_ONLY) && !strcmp(o->specs[i].name, name)) {
			spec = &o->specs[i];
			break;
		}
	}
	if (!spec)
		return config_error(r, "unknown key '%s' in [%s]", name, section);
	if (!*value)
		return config_error(r, "%s: no value given", name);
	if (!spec->arg) {
		if (options_parse_bool(value, &b))
			return config_error(r, "%s: '%s' is not true or false", name, value);
		value = b ? "true" : "false";
	}
	if ((spec->flags & OPTION_LIST) && !r->listed[i]) {
		r->listed[i] = true;
		spec->set(r->ctx, NULL, why, sizeof(why));
	}
	if (spec->set(r->ctx, value, why, sizeof(why)))
		return config_error(r, "%s: %s", name, why[0] ? why : "invalid value");
	return 1;
}

int options_read_config(const struct options *o, const char *path, void *ctx, char *why, size_t len)
{
	struct config_reader r = { .o = o, .ctx = ctx, .path = path, .why = why, .len = len };
	int err = 0, rc;

	r.f = fopen(path, "re");
	if (!r.f) {
		err = -errno;
		snprintf(why, len, "cannot read the config file %s: %s", path, strerror(-err));
		return err;
	}
	r.listed = calloc(o->nspecs ? o->nspecs : 1, sizeof(*r.listed));
	if (!r.listed) {
		err = -ENOMEM;
		snprintf(why, len, "out of memory reading %s", path);
		goto out;
	}
	rc = ini_parse_stream(reader_gets, &r, on_key, &r);
	if (r.failed) {
		err = -EINVAL;
	} else if (rc < 0) {
		err = -EIO;
		snprintf(why, len, "cannot read the config file %s", path);
	} else if (rc > 0) {
		/* A line inih could not parse: no handler ran for it. */
		err = -EINVAL;
		snprintf(why, len, "%s:%d: %s", path, rc,
			 r.too_long_line == rc ? "the line is too long"
					       : "expected 'key = value' or '[section]'");
	} else if (ferror(r.f)) {
		err = -EIO;
		snprintf(why, len, "cannot read the config file %s", path);
	}
out:
	free(r.listed);
	fclose(r.f);
	return err;
}

/* ---- the command line ---- */

static int spec_val(const struct options *o, size_t i)
{
	return o->specs[i].short_name ? o->specs[i].short_name : OPT_LONG_BASE + (int)i;
}

static struct option *build_longopts(const struct options *o, char *shortopts, size_t slen)
{
	struct option *lo = calloc(o->nspecs + 4, sizeof(*lo));
	size_t n = 0, s = 0;

	if (!lo)
		return NULL;
	shortopts[s++] = ':'; /* report a missing value as ':' */
	for (size_t i = 0; i < o->nspecs; i++) {
		const struct option_spec *sp = &o->specs[i];

		lo[n++] = (struct option){ sp->name, sp->arg ? required_argument : no_argument,
					   NULL, spec_val(o, i) };
		if (sp->short_name && s + 3 < slen) {
			shortopts[s++] = (char)sp->short_name;
			if (sp->arg)
				shortopts[s++] = ':';
		}
	}
	if (o->section) {
		lo[n++] = (struct option){ "config", required_argument, NULL, OPT_CONFIG };
		lo[n++] = (struct option){ "no-config", no_argument, NULL, OPT_NO_CONFIG };
	}
	lo[n++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	if (s + 1 < slen)
		shortopts[s++] = 'h';
	shortopts[s] = '\0';
	return lo;
}

static const char *spelled(const struct options *o, size_t i, char *buf, size_t len)
{
	if (o->specs[i].short_name)
		snprintf(buf, len, "-%c/--%s", o->specs[i].short_name, o->specs[i].name);
	else
		snprintf(buf, len, "--%s", o->specs[i].name);
	return buf;
}

/*
 * One getopt pass. With `apply` false only --config/--no-config/--help are acted on (and every
 * usage error reported); with it true every other option is applied to ctx.
 */
static int parse_argv(const struct options *o, const struct option *lo, const char *shortopts,
		      int argc, char **argv, void *ctx, bool apply, const char **config)
{
	bool *listed = calloc(o->nspecs ? o->nspecs : 1, sizeof(*listed));
	int c, err = 0;

	if (!listed)
		return -ENOMEM;
	optind = 0; /* glibc: 0 re-initialises getopt fully, so a second pass starts afresh */
	opterr = 0;
	while (!err && (c = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
		char why[400] = "", name[80];
		size_t i;

		if (c == OPT_HELP) {
			if (!apply) {
				options_usage(o, stdout);
				err = 1;
			}
			continue;
		}
		if (c == OPT_CONFIG || c == OPT_NO_CONFIG) {
			if (!apply)
				*config = c == OPT_CONFIG ? optarg : "";
			continue;
		}
		if (c == ':') {
			err = -EINVAL;
			cli_usage_error(o->cmd, "option '%s' needs a value", argv[optind - 1]);
			break;
		}
		for (i = 0; i < o->nspecs && spec_val(o, i) != c; i++)
			;
		if (c == '?' || i == o->nspecs) {
			err = -EINVAL;
			cli_usage_error(o->cmd, "unknown option '%s'", argv[optind - 1]);
			break;
		}
		if (!apply)
			continue;
		if ((o->specs[i].flags & OPTION_LIST) && !listed[i]) {
			listed[i] = true; /* the command line replaces the file's list */
			o->specs[i].set(ctx, NULL, why, sizeof(why));
		}
		if (o->specs[i].set(ctx, o->specs[i].arg ? optarg : "true", why, sizeof(why))) {
			err = -EINVAL;
			cli_usage_error(o->cmd, "%s: %s", spelled(o, i, name, sizeof(name)),
					why[0] ? why : "invalid value");
		}
	}
	if (!err && optind < argc) {
		err = -EINVAL;
		cli_usage_error(o->cmd, "unexpected argument '%s'", argv[optind]);
	}
	free(listed);
	return err;
}

int options_parse(const struct options *o, int argc, char **argv, void *ctx,
		  const char **config_path)
{
	char shortopts[128], why[600];
	const char *config = NULL;
	struct option *lo;
	int err;

	lo = build_longopts(o, shortopts, sizeof(shortopts));
	if (!lo)
		return -ENOMEM;
	err = parse_argv(o, lo, shortopts, argc, argv, ctx, false, &config);
	if (err)
		goto out;
	if (o->section) {
		bool named = config != NULL;

		if (!config)
			config = options_default_config();
		if (*config) {
			err = options_read_config(o, config, ctx, why, sizeof(why));
			if (err == -ENOENT && !named) {
				config = ""; /* no file at the default place: defaults */
				err = 0;
			} else if (err) {
				log_error("%s", why);
				goto out;
			}
		}
	}
	err = parse_argv(o, lo, shortopts, argc, argv, ctx, true, &config);
out:
	if (config_path)
		*config_path = config ? config : "";
	free(lo);
	return err;
}

void options_usage(const struct options *o, FILE *f)
{
	fputs(o->synopsis, f);
	fputs("\nOptions:\n", f);
	for (size_t i = 0; i <= o->nspecs + (o->section ? 2 : 0); i++) {
		const char *name, *arg, *help, *nl;
		char left[64];
		int sh;

		if (i < o->nspecs) {
			name = o->specs[i].name;
			sh = o->specs[i].short_name;
			arg = o->specs[i].arg;
			help = o->specs[i].help;
		} else if (o->section && i == o->nspecs) {
			name = "config", sh = 0, arg = "PATH";
			help = "read options from this file (default " EMBER_CONFIG_PATH
			       ",\nif it exists); the command line overrides it";
		} else if (o->section && i == o->nspecs + 1) {
			name = "no-config", sh = 0, arg = NULL;
			help = "read no config file";
		} else {
			name = "help", sh = 'h', arg = NULL, help = "this text";
		}
		if (sh)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", sh, name, arg ? " " : "",
				 arg ? arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", name, arg ? " " : "",
				 arg ? arg : "");
		for (;;) {
			nl = strchr(help, '\n');
			fprintf(f, "  %-24s %.*s\n", left,
				nl ? (int)(nl - help) : (int)strlen(help), help);
			if (!nl)
				break;
			help = nl + 1;
			left[0] = '\0';
		}
	}
}
