/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * svg: an interactive flame graph, written by ember (no Perl needed), as people know it from
 * flamegraph.pl: hovering a frame shows its name, samples and share; a click zooms into it;
 * "Search" (or Ctrl-F) highlights the frames matching a regular expression and shows the share of
 * samples they cover; Ctrl-I ignores case. Options: the title, the width, the palette
 * (export_svg_palettes) and an icicle layout (the root at the top).
 *
 * Differential (job->base set): the widths are the slice's samples, the colours the change from
 * the base, normalized as difffolded.pl -n does (the base scaled to the slice's total): red grew,
 * blue shrank, white unchanged; the tooltip gives the change in share.
 */
#ifndef EMBER_EXPORT_SVG_H
#define EMBER_EXPORT_SVG_H

#include "export/export.h"

extern const struct export_format export_svg_format;

/* The palettes --colors accepts, NULL-terminated. */
extern const char *const export_svg_palettes[];

#endif
