// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target: dwarfread over raw debug sections, without an ELF file around them (fuzz_elf
 * reaches dwarfread through dwarfsym, but rarely past the ELF headers). The input is a list of
 * sections in dwarfread's order (.debug_info, abbrev, line, str, line_str, rnglists, ranges, addr,
 * str_offsets), each a 4-byte little-endian length and its bytes; each is copied into a buffer of
 * its own size plus the zero byte the contract asks for, so ASan sees any read past it. Every unit
 * is read as dwarfsym reads it: its ranges, its line table, and every DIE in order with its ranges,
 * strings, references and siblings.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symbolizer/dwarfread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(void *ctx, uint64_t lo, uint64_t hi)
{
	(void)lo;
	(void)hi;
	return ++*(int *)ctx > 100000; /* a list that long is cut */
}

static void read_unit(struct dwarfread *rd, struct dwarfread_unit *u, struct dwarfread_lines *l)
{
	uint64_t pos = u->die_off;
	int n = 0;

	dwarfread__unit_ranges(rd, u, count, &n);
	dwarfread__lines(rd, u, l);
	/* Every DIE in order, as far as they read; a bounded number of them. */
	for (int k = 0; k < 20000 && pos < u->end; k++) {
		struct dwarfread_die d, t;
		struct dwarfread_unit *tu;
		uint64_t off, v;

		if (dwarfread__die_head(rd, u, pos, &d) ||
		    dwarfread__die_attrs(rd, u, &d, DWARFREAD_ALL))
			return;
		if (!d.tag) {
			pos = d.next;
			continue;
		}
		n = 0;
		dwarfread__ranges(rd, u, &d, count, &n);
		for (int a = 0; a < DWARFREAD_NATTRS; a++) {
			if (!(d.have & (1u << a)))
				continue;
			dwarfread__string(rd, u, &d.at[a]);
			dwarfread__udata(u, &d.at[a], &v);
			if (!dwarfread__ref(rd, u, &d.at[a], &tu, &off))
				dwarfread__die(rd, tu, off, &t);
		}
		/* Half the time past the children by the sibling link (or a walk to their end). */
		if (k % 2) {
			off = dwarfread__sibling(rd, u, &d);
			pos = off ? off : d.next;
		} else {
			pos = d.next;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dwarfread_section secs[DWARFREAD_NSECS];
	struct dwarfread_lines lines = { 0 };
	uint8_t *copy[DWARFREAD_NSECS] = { NULL };
	struct dwarfread *rd;
	size_t at = 0;

	memset(secs, 0, sizeof(secs));
	for (int i = 0; i < DWARFREAD_NSECS && size - at >= 4; i++) {
		uint32_t len = (uint32_t)data[at] | (uint32_t)data[at + 1] << 8 |
			       (uint32_t)data[at + 2] << 16 | (uint32_t)data[at + 3] << 24;

		at += 4;
		if (len > size - at)
			len = (uint32_t)(size - at);
		copy[i] = malloc((size_t)len + 1);
		if (!copy[i])
			goto out;
		memcpy(copy[i], data + at, len);
		copy[i][len] = 0;
		secs[i] = (struct dwarfread_section){ len ? copy[i] : NULL, len };
		at += len;
	}
	rd = dwarfread__new(secs);
	for (size_t u = 0; rd && u < dwarfread__nunits(rd) && u < 64; u++)
		read_unit(rd, dwarfread__unit(rd, u), &lines);
	dwarfread__free(rd);
out:
	dwarfread_lines_release(&lines);
	for (int i = 0; i < DWARFREAD_NSECS; i++)
		free(copy[i]);
	return 0;
}
