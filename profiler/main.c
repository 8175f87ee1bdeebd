// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* ember: an always-on, whole-system CPU profiler. Dispatches `ember <command>`. */
#include <stdio.h>
#include <string.h>

#include "profiler/cli.h"
#include "profiler/cmd.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "record", cmd_record, "sample every CPU into the database" },
	{ "export", cmd_export, "write a slice of history as a profile (folded, pprof, svg...)" },
	{ "report", cmd_report, "the top functions of a slice, or how two slices differ" },
	{ "top", cmd_top, "the interactive view: processes, functions, flame graph, heatmap" },
	{ "db", cmd_db, "the database: info, check, prune" },
	{ "symbolize", cmd_symbolize, "resolve addresses of an ELF file (as addr2line)" },
	{ "doctor", cmd_doctor, "check what this machine allows, and the fallbacks" },
	{ "help", cmd_help, "show the manual page of ember or of a command" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: ember <command> [options]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'ember <command> --help' lists its options; 'ember help <command>' shows its "
		   "manual.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("ember %s\n", EMBER_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "ember: '%s' is not an ember command.\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
