/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A reader of the DWARF (versions 2 to 5) that ember's symbol tables are built from: unit headers,
 * abbreviations, the attributes of one DIE (the few the tables use), address ranges and line
 * programs. libdw reads all of it too, but general-purpose: about 50 ns a DIE through its internal
 * locks, and its line tables are re-sorted with qsort although they come sorted; over libc's
 * million DIEs that was half of a symbolization run. The answers are libdw 0.188's (the same
 * ranges, the same file names, the same line rows in the same order), checked against it in tests.
 *
 * The sections are hostile input: every read is bounds-checked against its section, nothing
 * recurses, and a malformed unit, DIE or line program is an error (-ENOEXEC), never a crash or a
 * read outside the buffers. Each section must end in a zero byte or be followed by one (at
 * buf[size]): strings are returned as pointers into the sections and end there at the latest.
 */
#ifndef EMBER_DWARFREAD_H
#define EMBER_DWARFREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dwarfread_sec {
	DWARFREAD_INFO,
	DWARFREAD_ABBREV,
	DWARFREAD_LINE,
	DWARFREAD_STR,
	DWARFREAD_LINE_STR,
	DWARFREAD_RNGLISTS,
	DWARFREAD_RANGES,
	DWARFREAD_ADDR,
	DWARFREAD_STR_OFFSETS,
	DWARFREAD_NSECS,
};

struct dwarfread_section {
	const uint8_t *buf; /* NULL when absent; ends in a zero byte, or buf[size] is one */
	size_t size;
};

/* The attributes a DIE is read for (the first of each name counts, as in dwarf_attr). */
enum dwarfread_attr {
	DWARFREAD_AT_SIBLING,
	DWARFREAD_AT_LOW_PC,
	DWARFREAD_AT_HIGH_PC,
	DWARFREAD_AT_RANGES,
	DWARFREAD_AT_NAME,
	DWARFREAD_AT_LINKAGE_NAME,
	DWARFREAD_AT_MIPS_LINKAGE_NAME,
	DWARFREAD_AT_ABSTRACT_ORIGIN,
	DWARFREAD_AT_SPECIFICATION,
	DWARFREAD_AT_CALL_FILE,
	DWARFREAD_AT_CALL_LINE,
	DWARFREAD_AT_COMP_DIR,
	DWARFREAD_AT_STMT_LIST,
	DWARFREAD_AT_STR_OFFSETS_BASE,
	DWARFREAD_AT_ADDR_BASE,
	DWARFREAD_AT_RNGLISTS_BASE,
	DWARFREAD_AT_ENTRY_PC,
	DWARFREAD_NATTRS,
};

#define DWARFREAD_ALL ((1u << DWARFREAD_NATTRS) - 1)

struct dwarfread_val {
	uint16_t form;
	uint64_t v; /* the value; for inline strings and blocks their offset in .debug_info */
};

/* One DIE: its tag and the attributes above that it has (bit i of `have` for attribute i). */
struct dwarfread_die {
	uint64_t off;  /* in .debug_info */
	uint64_t next; /* the offset after its attributes: its first child, or next sibling */
	uint32_t tag;  /* 0 for the null entry that ends a list of siblings */
	bool children;
	uint32_t have;
	struct dwarfread_val at[DWARFREAD_NATTRS];
	uint64_t attrs;	    /* where its attributes start */
	const void *abbrev; /* its abbreviation in its unit's table; NULL for the null entry */
	const void *table;  /* that table */
};

/* A unit, and what of its unit DIE the reading of other DIEs needs. */
struct dwarfread_unit {
	uint64_t off, end; /* its header and its end in .debug_info */
	uint64_t die_off;  /* its unit DIE */
	uint64_t abbrev_off;
	uint8_t version, addr_size, off_size, unit_type; /* DW_UT_*, compile for DWARF < 5 */
	int abbrev_err;					 /* its abbreviations did not parse */
	uint64_t str_offsets_base, addr_base, rnglists_base;
	uint64_t base_addr; /* the base of its ranges: DW_AT_low_pc, DW_AT_entry_pc or 0 */
	uint64_t stmt_list; /* valid when has_stmt_list */
	bool has_stmt_list;
	const char *comp_dir; /* NULL when absent */
	/* The unit DIE's code ranges: its DW_AT_low_pc, DW_AT_high_pc, DW_AT_ranges (see have). */
	struct dwarfread_val pc[3];
	uint32_t pc_have; /* 1 << DWARFREAD_AT_LOW_PC... as dwarfread_die.have */
};

/* One row of a line table, as libdw's Dwarf_Line has it. */
struct dwarfread_row {
	uint64_t addr;
	int32_t line;
	uint32_t file;
	uint32_t end; /* end of a sequence */
};

/* A unit's file names, each the two parts libdw joins: dir "/" name (dir NULL: name alone). */
struct dwarfread_file {
	const char *dir;
	const char *name;
};

/* A unit's line table: rows sorted as dwarf_getsrclines sorts them, and its files. */
struct dwarfread_lines {
	struct dwarfread_row *rows;
	size_t nrows, crows;
	struct dwarfread_file *files;
	size_t nfiles, cfiles;
	struct dwarfread_row *tmp; /* for the rare table whose sequences are out of order */
	size_t ctmp;
};

struct dwarfread;

/*
 * Lists the units of `secs` (copied; the buffers are borrowed and must outlive the reader). Units
 * are listed up to the first header that does not parse. NULL with errno ENOMEM, or ENODATA when
 * there is no .debug_info.
 */
struct dwarfread *dwarfread__new(const struct dwarfread_section secs[DWARFREAD_NSECS]);
void dwarfread__free(struct dwarfread *r);

size_t dwarfread__nunits(const struct dwarfread *r);
/* Memory the reader holds (units, abbreviation tables), and a line table's vectors. */
size_t dwarfread__bytes(const struct dwarfread *r);
size_t dwarfread_lines_bytes(const struct dwarfread_lines *l);
/* The i-th unit (i < nunits); borrowed, valid until dwarfread__free. */
struct dwarfread_unit *dwarfread__unit(struct dwarfread *r, size_t i);

/*
 * Reads the DIE at `off` (an offset in .debug_info inside `u`). A null entry reads as tag 0.
 * Returns 0, or -ENOEXEC when the DIE or the unit's abbreviations do not parse, -ENOMEM.
 */
int dwarfread__die(struct dwarfread *r, struct dwarfread_unit *u, uint64_t off,
		   struct dwarfread_die *die);

/*
 * The same in two steps, for a walker that decides by the tag what it needs: the DIE's tag and
 * children first (`have` empty), then its attributes, keeping only those in the mask `want` (bits
 * of enum dwarfread_attr): a DIE skipped needs DW_AT_sibling at most, and one of fixed size is
 * then not decoded at all. Same returns as dwarfread__die. The attributes must be read before
 * DIEs of two other units are: the head borrows its unit's abbreviations until then.
 */
int dwarfread__die_head(struct dwarfread *r, struct dwarfread_unit *u, uint64_t off,
			struct dwarfread_die *die);
int dwarfread__die_attrs(struct dwarfread *r, struct dwarfread_unit *u, struct dwarfread_die *die,
			 uint32_t want);

/* Reads the unit DIE of `u` (without reading the unit's whole abbreviation table): 0 or -ENOEXEC.
 */
int dwarfread__unit_die(struct dwarfread *r, struct dwarfread_unit *u, struct dwarfread_die *die);

/*
 * The offset of the next sibling of `die` (read by dwarfread__die): its DW_AT_sibling when that
 * points forward inside the unit, else past its children. 0 when the unit ends or does not parse.
 */
uint64_t dwarfread__sibling(struct dwarfread *r, struct dwarfread_unit *u,
			    const struct dwarfread_die *die);

/*
 * The DIE an attribute of reference form (DW_AT_abstract_origin, DW_AT_specification) points
 * to: its unit in *tu and its offset in *off. 0, or -ENOEXEC.
 */
int dwarfread__ref(struct dwarfread *r, struct dwarfread_unit *u, const struct dwarfread_val *a,
		   struct dwarfread_unit **tu, uint64_t *off);

/* The string of an attribute of string form (as dwarf_formstring), NULL when it has none. */
const char *dwarfread__string(struct dwarfread *r, const struct dwarfread_unit *u,
			      const struct dwarfread_val *a);

/* The value of an attribute of constant form (as dwarf_formudata): 0, or -ENOEXEC. */
int dwarfread__udata(const struct dwarfread_unit *u, const struct dwarfread_val *a, uint64_t *v);

/* Called for each range of a DIE, in order; a non-zero return stops and is returned. */
typedef int (*dwarfread_range_fn)(void *ctx, uint64_t lo, uint64_t hi);

/* The code ranges of the unit DIE of `u`, as dwarfread__ranges gives those of a DIE. */
int dwarfread__unit_ranges(struct dwarfread *r, struct dwarfread_unit *u, dwarfread_range_fn fn,
			   void *ctx);

/*
 * The code ranges of `die`, as dwarf_ranges gives them: [low_pc, high_pc) when it has both, else
 * its DW_AT_ranges list (.debug_ranges for DWARF < 5, .debug_rnglists). Returns 0 (also with no
 * ranges at all), what `fn` returned, or -ENOEXEC for a list that does not parse (the ranges
 * before the error have been given).
 */
int dwarfread__ranges(struct dwarfread *r, struct dwarfread_unit *u,
		      const struct dwarfread_die *die, dwarfread_range_fn fn, void *ctx);

/*
 * The line table of unit `u` (its DW_AT_stmt_list) into `out`, whose vectors are reused and grown
 * (free them with dwarfread_lines_release). Rows and files are those of dwarf_getsrclines and
 * dwarf_getsrcfiles: files indexed as DW_AT_call_file and the rows' file index them, the rows
 * sorted by address with an end of sequence before a row at its address and the last row marked
 * as an end. Returns 0 (no rows and no files when the unit has no line table), -ENOEXEC when
 * the table does not parse (then nothing of it counts), -ENOMEM.
 */
int dwarfread__lines(struct dwarfread *r, struct dwarfread_unit *u, struct dwarfread_lines *out);
void dwarfread_lines_release(struct dwarfread_lines *l);

#endif
