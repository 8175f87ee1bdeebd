// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `ember help [TOPIC]`: the man page of ember, of a command, or of ember.conf, as text. */
#include <stdio.h>
#include <string.h>

#include "profiler/cli.h"
#include "profiler/cmd.h"
#include "profiler/help.h"

int cmd_help(int argc, char **argv)
{
	const char *topic = argc > 1 ? argv[1] : "ember";

	if (argc > 2)
		return cli_usage_error("help", "unexpected argument '%s'", argv[2]);
	if (!strcmp(topic, "--help") || !strcmp(topic, "-h"))
		topic = "ember";
	if (!strncmp(topic, "ember-", 6) && topic[6])
		topic += 6; /* "ember help ember-record", as the man page is named */
	if (!strcmp(topic, "config"))
		topic = "ember.conf";
	for (const struct help_page *p = help_pages; p->name; p++) {
		if (!strcmp(p->name, topic)) {
			fputs(p->text, stdout);
			return 0;
		}
	}
	fprintf(stderr, "ember help: no manual page for '%s'; topics:", topic);
	for (const struct help_page *p = help_pages; p->name; p++)
		fprintf(stderr, " %s", p->name);
	fputc('\n', stderr);
	return EXIT_USAGE;
}
