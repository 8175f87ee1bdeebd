/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The subcommands. Each takes argv from its own name on and returns the process exit code. */
#ifndef EMBER_CMD_H
#define EMBER_CMD_H

int cmd_record(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_symbolize(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_help(int argc, char **argv);

#include <stddef.h>

/*
 * Reads a config file as `ember record` would, for `ember doctor`: 0 with the database it names
 * (or the default) in db; -EINVAL with "FILE:LINE: what" in why; -errno when it cannot be read.
 */
int record_check_config(const char *path, char *db, size_t dblen, char *why, size_t len);

#endif
