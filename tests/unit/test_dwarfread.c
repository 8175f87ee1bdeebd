// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * dwarfread against libdw 0.188 on real debug info: the -O2 -g inline test program (DWARF 5 from
 * gcc 12, inlined calls three deep) and libc's libc6-dbg file (DWARF 5, compressed sections,
 * 2,000 units). For every unit: the same header and unit-DIE attributes, the same ranges, the same
 * line rows in the same order with the same file names, and the same DIE tree (offsets and tags in
 * walking order, with the ranges, call sites and names of every function and inlined call). Then
 * damaged copies of the program's sections must give errors, never a crash (ASan and UBSan run
 * this too).
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbolizer/dwarfread.h"
#include "tests/harness.h"

/* A debug file opened twice over the same inflated sections: by libdw and by dwarfread. */
struct both {
	int fd;
	Elf *elf;
	Dwarf *dw;
	struct dwarfread *rd;
	struct dwarfread_section secs[DWARFREAD_NSECS];
	void *copies[DWARFREAD_NSECS];
};

static const char *const sec_names[DWARFREAD_NSECS] = {
	".debug_info",	   ".debug_abbrev", ".debug_line", ".debug_str",	 ".debug_line_str",
	".debug_rnglists", ".debug_ranges", ".debug_addr", ".debug_str_offsets",
};

static void both_free(struct both *b)
{
	dwarfread__free(b->rd);
	if (b->dw)
		dwarf_end(b->dw);
	if (b->elf)
		elf_end(b->elf);
	for (int i = 0; i < DWARFREAD_NSECS; i++)
		free(b->copies[i]);
	if (b->fd >= 0)
		close(b->fd);
}

/* Opens `path`: sections inflated in place (libdw reads them so), copied with a zero after each. */
static int both_open(struct both *b, const char *path)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	memset(b, 0, sizeof(*b));
	elf_version(EV_CURRENT);
	b->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (b->fd < 0)
		return -errno;
	b->elf = elf_begin(b->fd, ELF_C_READ, NULL);
	if (!b->elf || elf_getshdrstrndx(b->elf, &shstrndx))
		return -ENOEXEC;
	while ((scn = elf_nextscn(b->elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(b->elf, shstrndx, sh.sh_name)))
			continue;
		for (int i = 0; i < DWARFREAD_NSECS; i++) {
			if (strcmp(name, sec_names[i]) || sh.sh_type == SHT_NOBITS)
				continue;
			if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
				return -ENOEXEC;
			d = elf_getdata(scn, NULL);
			if (!d || !d->d_size)
				continue;
			b->copies[i] = calloc(1, d->d_size + 1);
			if (!b->copies[i])
				return -ENOMEM;
			memcpy(b->copies[i], d->d_buf, d->d_size);
			b->secs[i] = (struct dwarfread_section){ b->copies[i], d->d_size };
		}
	}
	b->dw = dwarf_begin_elf(b->elf, DWARF_C_READ, NULL);
	b->rd = dwarfread__new(b->secs);
	return b->dw && b->rd ? 0 : -ENOEXEC;
}

struct ranges {
	uint64_t lo[256], hi[256];
	int n;
};

static int collect(void *ctx, uint64_t lo, uint64_t hi)
{
	struct ranges *r = ctx;

	if (r->n < 256) {
		r->lo[r->n] = lo;
		r->hi[r->n] = hi;
	}
	r->n++;
	return 0;
}

/* libdw's ranges of a DIE against dwarfread's. */
static bool same_ranges(Dwarf_Die *die, const struct ranges *ours, const char *what)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;
	int n = 0;

	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
		if (n >= ours->n || n >= 256)
			return ASSERT_CMP(n, <, ours->n, what);
		if (!ASSERT_EQ(lo, ours->lo[n], what) || !ASSERT_EQ(hi, ours->hi[n], what))
			return false;
		n++;
	}
	return ASSERT_EQ(n, ours->n, what);
}

/* The name dwarf_attr_integrate finds, as dwarfread reads it through the same chain. */
static const char *our_name(struct dwarfread *rd, struct dwarfread_unit *u,
			    struct dwarfread_die *die, unsigned int slot)
{
	struct dwarfread_die cur = *die;

	for (int i = 0; i < 16; i++) {
		const struct dwarfread_val *ref = NULL;
		uint64_t off;

		if (cur.have & (1u << slot))
			return dwarfread__string(rd, u, &cur.at[slot]);
		if (cur.have & (1u << DWARFREAD_AT_ABSTRACT_ORIGIN))
			ref = &cur.at[DWARFREAD_AT_ABSTRACT_ORIGIN];
		else if (cur.have & (1u << DWARFREAD_AT_SPECIFICATION))
			ref = &cur.at[DWARFREAD_AT_SPECIFICATION];
		if (!ref || dwarfread__ref(rd, u, ref, &u, &off) ||
		    dwarfread__die(rd, u, off, &cur))
			return NULL;
	}
	return NULL;
}

static bool same_die(struct both *b, struct dwarfread_unit *u, Dwarf_Die *die,
		     struct dwarfread_die *ours, unsigned long *checked)
{
	int tag = dwarf_tag(die);
	Dwarf_Attribute a;
	Dwarf_Word v;
	uint64_t ov;

	if (!ASSERT_EQ(dwarf_dieoffset(die), ours->off, "DIE offset") ||
	    !ASSERT_EQ(tag, ours->tag, "tag") ||
	    !ASSERT_EQ(dwarf_haschildren(die), ours->children, "children"))
		return false;
	if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
	    tag == DW_TAG_lexical_block) {
		struct ranges r = { .n = 0 };

		dwarfread__ranges(b->rd, u, ours, collect, &r);
		if (!same_ranges(die, &r, "DIE ranges"))
			return false;
		if (dwarf_attr(die, DW_AT_call_file, &a) && !dwarf_formudata(&a, &v) &&
		    (!ASSERT_OK(dwarfread__udata(u, &ours->at[DWARFREAD_AT_CALL_FILE], &ov), "call_"
											     "fil"
											     "e") ||
		     !ASSERT_EQ(v, ov, "call_file")))
			return false;
		if (dwarf_attr(die, DW_AT_call_line, &a) && !dwarf_formudata(&a, &v) &&
		    (!ASSERT_OK(dwarfread__udata(u, &ours->at[DWARFREAD_AT_CALL_LINE], &ov), "call_"
											     "lin"
											     "e") ||
		     !ASSERT_EQ(v, ov, "call_line")))
			return false;
		for (unsigned int k = 0; k < 2; k++) {
			unsigned int at = k ? DW_AT_linkage_name : DW_AT_name;
			unsigned int slot = k ? DWARFREAD_AT_LINKAGE_NAME : DWARFREAD_AT_NAME;
			const char *theirs = dwarf_formstring(dwarf_attr_integrate(die, at, &a));
			const char *mine = our_name(b->rd, u, ours, slot);

			if (theirs || mine) {
				if (!ASSERT_STREQ(mine, theirs, "name"))
					return false;
			}
		}
		(*checked)++;
	}
	return true;
}

/* Walks libdw's tree and dwarfread's together, depth first. */
static bool same_tree(struct both *b, struct dwarfread_unit *u, Dwarf_Die *parent,
		      struct dwarfread_die *ours, int depth, unsigned long *checked)
{
	Dwarf_Die child;
	struct dwarfread_die oc;
	uint64_t pos = ours->next;
	int has = dwarf_child(parent, &child);

	if (depth > 64)
		return true;
	if (ours->children && !has) {
		/* libdw has a child: so must we, at the same place. */
		for (;;) {
			if (!ASSERT_OK(dwarfread__die(b->rd, u, pos, &oc), "read DIE") ||
			    !ASSERT_NEQ(oc.tag, 0, "a child where libdw has one") ||
			    !same_die(b, u, &child, &oc, checked) ||
			    !same_tree(b, u, &child, &oc, depth + 1, checked))
				return false;
			pos = dwarfread__sibling(b->rd, u, &oc);
			has = dwarf_siblingof(&child, &child);
			if (has)
				break;
			if (!ASSERT_NEQ(pos, 0, "a sibling where libdw has one"))
				return false;
		}
		/* After the last: the null entry, or the end of the unit. */
		return !pos || (!dwarfread__die(b->rd, u, pos, &oc) &&
				ASSERT_EQ(oc.tag, 0, "no sibling after libdw's last"));
	}
	return true;
}

/* Every unit of `path`: headers, unit DIEs, ranges, line tables; the DIE trees of every `step`. */
static enum test_result compare_file(const char *path, size_t step, size_t min_units)
{
	Dwarf_CU *cu = NULL, *next;
	struct dwarfread_lines lines = { 0 };
	enum test_result res = TEST_FAIL;
	unsigned long rows = 0, dies = 0;
	struct both b;
	Dwarf_Die cudie;
	Dwarf_Half version;
	uint8_t unit_type;
	size_t i = 0;

	if (!ASSERT_OK(both_open(&b, path), path))
		goto out;
	while (dwarf_get_units(b.dw, cu, &next, &version, &unit_type, &cudie, NULL) == 0) {
		struct dwarfread_unit *u;
		struct dwarfread_die od;
		struct ranges r = { .n = 0 };
		Dwarf_Attribute a;
		Dwarf_Lines *dl;
		size_t n;

		cu = next;
		if (!ASSERT_CMP(i, <, dwarfread__nunits(b.rd), "as many units"))
			goto out;
		u = dwarfread__unit(b.rd, i);
		if (!ASSERT_EQ(dwarf_dieoffset(&cudie), u->die_off, "unit DIE") ||
		    !ASSERT_EQ(version, u->version, "version") ||
		    !ASSERT_EQ(unit_type, u->unit_type, "unit type"))
			goto out;
		{
			const char *cd = dwarf_formstring(dwarf_attr(&cudie, DW_AT_comp_dir, &a));

			if ((cd || u->comp_dir) && !ASSERT_STREQ(u->comp_dir, cd, "comp_dir"))
				goto out;
		}
		dwarfread__unit_ranges(b.rd, u, collect, &r);
		if (!same_ranges(&cudie, &r, "unit ranges"))
			goto out;
		/* The line table: rows in libdw's order, file names as dwarf_filesrc joins them. */
		if (dwarf_getsrclines(&cudie, &dl, &n) == 0) {
			if (!ASSERT_OK(dwarfread__lines(b.rd, u, &lines), "lines") ||
			    !ASSERT_EQ(n, lines.nrows, "rows"))
				goto out;
			for (size_t k = 0; k < n; k++) {
				Dwarf_Line *l = dwarf_onesrcline(dl, k);
				const struct dwarfread_row *o = &lines.rows[k];
				const struct dwarfread_file *f;
				Dwarf_Addr addr;
				Dwarf_Files *files;
				size_t idx;
				bool end;
				int ln;
				char joined[4096];

				dwarf_lineaddr(l, &addr);
				dwarf_lineno(l, &ln);
				dwarf_lineendsequence(l, &end);
				if (!ASSERT_EQ(addr, o->addr, "row address") ||
				    !ASSERT_EQ(ln, o->line, "row line") ||
				    !ASSERT_EQ(end, o->end != 0, "row end"))
					goto out;
				if (dwarf_line_file(l, &files, &idx) || idx >= lines.nfiles)
					continue;
				f = &lines.files[idx];
				snprintf(joined, sizeof(joined), "%s%s%s", f->dir ? f->dir : "",
					 f->dir ? "/" : "", f->name);
				if (!ASSERT_STREQ(joined, dwarf_filesrc(files, idx, NULL, NULL),
						  "file name"))
					goto out;
			}
			rows += n;
		}
		if (i % step == 0) {
			if (!ASSERT_OK(dwarfread__die(b.rd, u, u->die_off, &od), "unit DIE") ||
			    !same_tree(&b, u, &cudie, &od, 0, &dies))
				goto out;
		}
		i++;
	}
	if (!ASSERT_EQ(i, dwarfread__nunits(b.rd), "as many units") ||
	    !ASSERT_GE(i, min_units, "units"))
		goto out;
	fprintf(stderr, "%s: %zu units, %lu line rows, %lu functions and inlined calls: as libdw\n",
		path, i, rows, dies);
	res = TEST_PASS;
out:
	dwarfread_lines_release(&lines);
	both_free(&b);
	return res;
}

static char inline_path[4096];

static enum test_result test_inline_program(void)
{
	const char *progs = getenv("PROGS");

	if (!progs)
		return test_skip("PROGS is not set (run through CTest)");
	snprintf(inline_path, sizeof(inline_path), "%s/inline", progs);
	return compare_file(inline_path, 1, 1);
}

static enum test_result test_libc(void)
{
	char path[256], id[64] = "";
	FILE *f = popen("readelf -n /lib/x86_64-linux-gnu/libc.so.6 2>/dev/null", "r");
	char line[256];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, " Build ID: %63s", id) == 1)
			break;
	if (f)
		pclose(f);
	snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug", id, id + 2);
	if (!*id || access(path, R_OK))
		return test_skip("libc6-dbg is not installed");
	/* Every unit's lines and ranges; the DIE trees of one unit in 7 (the whole takes long
	 * under ASan). */
	return compare_file(path, 7, 1000);
}

/* Damaged copies of the program's sections: truncated, and with bytes flipped. */
static enum test_result test_damaged(void)
{
	struct dwarfread_lines lines = { 0 };
	struct both b;
	enum test_result res = TEST_FAIL;
	uint64_t seed = 42;

	if (!*inline_path)
		return test_skip("the inline program was not found");
	if (!ASSERT_OK(both_open(&b, inline_path), "open"))
		goto out;
	for (int round = 0; round < 400; round++) {
		struct dwarfread_section secs[DWARFREAD_NSECS];
		uint8_t *copy[DWARFREAD_NSECS] = { NULL };
		struct dwarfread *rd;

		for (int i = 0; i < DWARFREAD_NSECS; i++) {
			size_t n = b.secs[i].size;

			secs[i] = b.secs[i];
			if (!n)
				continue;
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			if (round % 2)
				n = (size_t)(seed >> 33) % n; /* truncated */
			copy[i] = calloc(1, n + 1);
			if (!copy[i])
				goto out;
			memcpy(copy[i], b.secs[i].buf, n);
			for (int k = 0; k < 1 + round % 8 && n; k++) {
				seed = seed * 6364136223846793005ull + 1442695040888963407ull;
				copy[i][(seed >> 33) % n] ^= (uint8_t)(seed >> 24) | 1;
			}
			secs[i] = (struct dwarfread_section){ copy[i], n };
		}
		rd = dwarfread__new(secs);
		for (size_t u = 0; rd && u < dwarfread__nunits(rd); u++) {
			struct dwarfread_unit *un = dwarfread__unit(rd, u);
			struct dwarfread_die d;
			struct ranges r = { .n = 0 };
			uint64_t pos = un->die_off;

			dwarfread__lines(rd, un, &lines);
			dwarfread__unit_ranges(rd, un, collect, &r);
			/* Every DIE in order, as far as they read. */
			for (int k = 0; k < 100000 && pos && !dwarfread__die(rd, un, pos, &d);
			     k++) {
				dwarfread__ranges(rd, un, &d, collect, &r);
				pos = d.tag ? d.next : d.next < un->end ? d.next : 0;
			}
		}
		dwarfread__free(rd);
		for (int i = 0; i < DWARFREAD_NSECS; i++)
			free(copy[i]);
	}
	res = TEST_PASS;
out:
	dwarfread_lines_release(&lines);
	both_free(&b);
	return res;
}

TEST_MAIN(TEST(test_inline_program), TEST(test_libc), TEST(test_damaged))
