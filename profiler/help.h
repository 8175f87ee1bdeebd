/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The man pages as text, for `ember help`. Generated at build time (cmake/EmbedHelp.cmake) from
 * docs/man, rendered by groff as man(1) renders them at 80 columns, so the two never differ.
 */
#ifndef EMBER_HELP_H
#define EMBER_HELP_H

struct help_page {
	const char *name; /* "ember", a command ("record"), or "ember.conf" */
	const char *text;
};

/* Ends with an entry whose name is NULL. */
extern const struct help_page help_pages[];

#endif
