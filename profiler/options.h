/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A subcommand's options, described once in a table: the table gives getopt_long its long and
 * short options, the config file (/etc/ember/ember.conf, INI, read with libinih) its keys in the
 * command's section, and --help its lines. A new option is one line in its command's table and is
 * at once a flag and a config key. Values are applied config file first, then command line, so
 * the command line wins; a list option given on the command line replaces the file's list.
 */
#ifndef EMBER_OPTIONS_H
#define EMBER_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum option_flags {
	OPTION_CLI_ONLY = 1 << 0, /* not a config key (--help, --config) */
	OPTION_LIST = 1 << 1,	  /* values accumulate; set(ctx, NULL) empties the list */
};

/*
 * Applies one value to ctx. `value` is the text given ("true" or "false" for a flag, whichever
 * way it was spelled in the file), or NULL to empty an OPTION_LIST. Returns 0, or -EINVAL with
 * one phrase in `why` saying what is wrong with the value ("'abc' is not a frequency from 1 to
 * 1000 Hz"); the caller adds where it came from.
 */
typedef int (*option_set_fn)(void *ctx, const char *value, char *why, size_t len);

struct option_spec {
	const char *name;   /* --name, and the config key */
	int short_name;	    /* 0: none */
	const char *arg;    /* the value's name in --help; NULL: a flag (true/false in the file) */
	unsigned int flags; /* enum option_flags */
	option_set_fn set;
	const char *help; /* one line, or several separated by '\n' */
};

struct options {
	const char *cmd;      /* "record": messages say "ember record: ..." */
	const char *synopsis; /* the text --help prints before the options */
	const struct option_spec *specs;
	size_t nspecs;
	/* The config file's section for this command, NULL when the command reads no file. With a
	 * section the parser adds --config PATH and --no-config itself. */
	const char *section;
};

/* The config file read when --config is not given (it may be absent). */
const char *options_default_config(void);

/*
 * Parses argv (argv[0] is the command's name) into ctx: first the config file, then the command
 * line. Returns 0 to go on; 1 when --help was printed (exit 0); -EINVAL after printing a usage
 * error or a config error with its file:line (exit 2); -errno when the named config file cannot
 * be read (exit 1). options_exit_code() maps these. `config_path`, when not NULL, receives the
 * file that was read ("" when none); it is borrowed from argv or static storage.
 */
int options_parse(const struct options *o, int argc, char **argv, void *ctx,
		  const char **config_path);

/*
 * Reads one config file into ctx: every key of o->section, the other sections ignored only if
 * they belong to another ember command. Returns 0, -EINVAL with "PATH:LINE: what is wrong" in why,
 * or -errno when the file cannot be read. An absent file is -ENOENT.
 */
int options_read_config(const struct options *o, const char *path, void *ctx, char *why,
			size_t len);

/* The process exit code for options_parse()'s return value (0, 1 or 2). */
int options_exit_code(int err);

/* Writes the synopsis and one aligned line per option (as --help shows them). */
void options_usage(const struct options *o, FILE *f);

/* Parses true/false, yes/no, on/off, 1/0. 0 or -EINVAL. */
int options_parse_bool(const char *value, bool *out);

#endif
