/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The subcommands. Each takes argv from its own name on and returns the process exit code. */
#ifndef EMBER_CMD_H
#define EMBER_CMD_H

int cmd_record(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_symbolize(int argc, char **argv);
int cmd_top(int argc, char **argv);

#endif
