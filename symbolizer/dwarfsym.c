// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Per-unit tables built from the DIE tree. A unit's functions (DW_TAG_subprogram with code) are
 * kept sorted by address; each function owns a run of inlined-call nodes in depth-first order,
 * where every node knows the end of its subtree. Finding the inline chain of an address walks that
 * run once, skipping every subtree that does not contain the address, so it costs the depth of the
 * chain times the siblings at each level, not the size of the function. Only DIEs that can hold
 * code are descended into (subprograms, inlined calls, lexical blocks, namespaces and classes);
 * types and variables, most of the tree, are skipped whole.
 *
 * A unit's tables (functions, inlined calls, ranges, line rows) are one allocation, copied out at
 * their final size from vectors that walking grows and that are reused from unit to unit (malloc,
 * realloc and free per table were a sixth of a run over libc). A long-lived caller frees the units
 * no lookup touched for a while (dwarfsym__forget): otherwise every new address of a binary in use
 * builds one more unit, and the tables grow toward the binary's whole debug info. What answers
 * point to stays: function names are in the section data or the demangled names, and file paths
 * (joined on first use) come from an arena of large chunks, freed with the whole.
 */
#include "symbolizer/dwarfsym.h"

#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libdeflate.h>
#include <stdio.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>

#include "symbolizer/demangle.h"
#include "symbolizer/dwarfread.h"
#include "symbolizer/symbolizer_internal.h"

/* Hostile input: deeper DIE nesting is not descended into, and no DIE may claim more ranges. */
#define DWARFSYM_MAX_DEPTH 96
#define DWARFSYM_MAX_RANGES 4096
#define DWARFSYM_MAX_UNIT_RANGES (1u << 22)
/* Line rows kept reserved between units (24 bytes each); more are given back after the unit. */
#define DWARFSYM_KEEP_ROWS (1u << 15)

struct drange {
	uint64_t lo, hi;
};

struct dfunc {
	uint64_t lo, hi;
	uint64_t max_hi; /* the largest hi of this and every earlier entry: bounds the look-back */
	const char *name;
	uint32_t inl_begin, inl_end;
	uint32_t order; /* DIE order: among functions at one address the first DIE wins */
	/* The unit's line rows that can answer an address in [lo, hi): the row in force at lo and
	 * every row below hi. A lookup searches these few instead of the whole unit's table. */
	uint32_t line_begin, line_end;
};

struct dinl {
	uint64_t lo, hi; /* bounding box of the ranges */
	uint32_t range_begin, nranges;
	uint32_t subtree_end; /* index after the last descendant */
	uint32_t call_line;
	const char *name;
	uint32_t call_file; /* 1 + index into the unit's paths, 0 when none */
};

enum { CU_NEW = 0, CU_BUILT, CU_BAD };

/*
 * A row of a unit's line table, compacted from dwarfread's (sorted as libdw sorts). Its address
 * lives apart, in dcu.laddr, as an offset from the unit's first row: the binary search reads only
 * those 4-byte keys, 16 to a cache line, and touches one row at the end.
 */
struct dline {
	uint32_t line;
	uint32_t file : 31; /* index into the unit's paths */
	uint32_t end : 1;   /* end of a sequence: no line from here */
};

/*
 * A file of a unit: the parts of its name, joined on first use (most of a unit's files never are
 * printed: joining them all was megabytes of libc's tables).
 */
struct dpath {
	const char *path; /* as printed (joined to comp_dir); NULL until first asked */
	const char *dir, *name;
};

/* dline.file of a row whose file the unit does not name */
#define DLINE_NOFILE (UINT32_MAX >> 1)

/*
 * A unit. Aligned to a cache line, with everything a lookup inside a function reads in the first
 * one: lookups land on random units, and each cache line touched is a miss.
 */
struct dcu {
	struct dfunc *funcs;
	uint32_t *laddr; /* per row: its address - line_base */
	struct dline *lines;
	struct dpath *paths; /* per file index (see path_of) */
	struct dinl *inls;
	struct drange *ranges;
	uint64_t line_base; /* address of the first row */
	uint32_t nfuncs;
	int state;
	/* Cold: building, lookups outside every function, freeing. */
	uint32_t nlines, npaths, ninls, nranges;
	const char *comp_dir; /* DW_AT_comp_dir, NULL when absent */
	struct dwarfread_unit *unit;
	void *tables;	    /* the one allocation of funcs, inls, ranges, lines and laddr */
	size_t tables_size; /* its bytes */
	uint64_t used;	    /* the caller's clock at the last lookup in this unit */
} __attribute__((aligned(64)));

struct cu_range {
	uint64_t lo, hi;
	uint64_t max_hi;
	uint32_t cu;
};

/* Demangled names, keyed by the address of the mangled string in the section data. */
struct dname {
	const char *mangled;
	char *demangled;
	UT_hash_handle hh;
};

/* Growable vectors while a unit is walked, kept from one unit to the next. */
struct walk {
	struct dwarfsym *d;
	struct dcu *cu;
	struct dfunc *funcs;
	size_t nfuncs, cfuncs;
	struct dinl *inls;
	size_t ninls, cinls;
	struct drange *ranges;
	size_t nranges, cranges;
	int nr; /* ranges of the DIE being read */
	int err;
};

/* A chunk of the arena the units' file names come from. */
struct chunk {
	struct chunk *next;
	size_t used, size;
	char data[]; /* 8-aligned: after three 8-byte fields */
};

/* Chunks grow from 16 KiB (most binaries' names are few, and the cache budget counts chunks) to
 * 512 KiB. */
#define DWARFSYM_CHUNK_FIRST (16u << 10)
#define DWARFSYM_CHUNK (512u << 10)

struct dwarfsym {
	int fd;
	Elf *elf;
	struct dwarfread *rd;
	void **pads; /* NUL-terminated copies of debug sections (see harden_sections) */
	size_t npads;
	void *inflated; /* the compressed debug sections, inflated (see inflate_sections) */
	size_t inflated_size;
	struct dcu *cus;
	size_t ncus;
	struct cu_range *cur;
	size_t ncur;
	/* Buckets over [cur[0].lo, the last lo]: bkt[p] is the number of ranges starting below
	 * bkt_base + (p << bkt_shift), so a lookup searches only the ranges of its bucket. */
	uint32_t *bkt;
	size_t nbkt;
	uint64_t bkt_base;
	unsigned int bkt_shift;
	struct dname *names;
	struct chunk *arena; /* the newest chunk first */
	size_t chunk_next;   /* size of the next chunk, DWARFSYM_CHUNK_FIRST..DWARFSYM_CHUNK */
	struct walk scratch; /* its vectors only */
	struct dwarfread_lines lines; /* the vectors the line tables are read into */
	/* The last lookup that found a function: the next one, in a batch sorted by address, is
	 * most often in the same function a row or two on (see dwarfsym__lookup). */
	struct {
		uint64_t addr;
		size_t range; /* index in cur */
		const struct dfunc *f;
		uint32_t row;
	} last;
	size_t bytes;
	unsigned long bad_units;
};

/* n bytes, 8-aligned, for the life of d; NULL when out of memory. */
static void *arena_alloc(struct dwarfsym *d, size_t n)
{
	struct chunk *c = d->arena;
	void *p;

	n = (n + 7) & ~(size_t)7;
	if (!c || c->size - c->used < n) {
		size_t whole = d->chunk_next ? d->chunk_next : DWARFSYM_CHUNK_FIRST;
		bool own = n > whole / 4; /* a large table gets a chunk of its own */
		size_t size = own ? n : whole - sizeof(*c);

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->used = 0;
		c->size = size;
		d->bytes += sizeof(*c) + size;
		/* A chunk of its own goes behind the current one, which has room left still. */
		if (d->arena && own) {
			c->next = d->arena->next;
			d->arena->next = c;
		} else {
			c->next = d->arena;
			d->arena = c;
			if (!own)
				d->chunk_next = whole < DWARFSYM_CHUNK ? whole * 2 : DWARFSYM_CHUNK;
		}
	}
	p = c->data + c->used;
	c->used += n;
	return p;
}

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
	return symbolizer_grow(v, cap, need, elem, UINT32_MAX);
}

/* Looks a mangled name up in the demangled names, demangling it the first time. */
static const char *demangled(struct dwarfsym *d, const char *mangled)
{
	struct dname *n;

	HASH_FIND_PTR(d->names, &mangled, n);
	if (n)
		return n->demangled ? n->demangled : mangled;
	n = calloc(1, sizeof(*n));
	if (!n)
		return mangled;
	n->mangled = mangled;
	n->demangled = demangle(mangled);
	d->bytes += sizeof(*n) + (n->demangled ? strlen(n->demangled) + 1 : 0);
	HASH_ADD_PTR(d->names, mangled, n);
	return n->demangled ? n->demangled : mangled;
}

/* dwarf_attr_integrate's bound: a chain of abstract origins and specifications. */
#define DWARFSYM_MAX_CHAIN 16

/*
 * The name of a function: its linkage name, demangled when mangled, else its DW_AT_name, looking
 * through abstract origins and specifications, as eu-addr2line names it (glibc's internal aliases
 * such as __GI_memcpy are linkage names given by asm labels). As libdw's dwarf_attr_integrate,
 * each attribute is the first found along the chain (at most 16 DIEs), and a linkage name found
 * wins even when its string cannot be read.
 */
static const char *die_name(struct walk *w, struct dwarfread_unit *u,
			    const struct dwarfread_die *die)
{
	static const unsigned int want[3] = { DWARFREAD_AT_LINKAGE_NAME,
					      DWARFREAD_AT_MIPS_LINKAGE_NAME, DWARFREAD_AT_NAME };
	struct dwarfread *rd = w->d->rd;
	const struct dwarfread_die *cur = die;
	struct dwarfread_val found[3];
	struct dwarfread_unit *fu[3] = { NULL, NULL, NULL };
	struct dwarfread_die next;
	const char *mangled = NULL;

	for (int i = 0; i < DWARFSYM_MAX_CHAIN; i++) {
		const struct dwarfread_val *ref = NULL;
		struct dwarfread_unit *tu;
		uint64_t off;

		for (int k = 0; k < 3; k++)
			if (!fu[k] && (cur->have & (1u << want[k]))) {
				fu[k] = u;
				found[k] = cur->at[want[k]];
			}
		if (fu[0])
			break; /* nothing found later can change the answer */
		if (cur->have & (1u << DWARFREAD_AT_ABSTRACT_ORIGIN))
			ref = &cur->at[DWARFREAD_AT_ABSTRACT_ORIGIN];
		else if (cur->have & (1u << DWARFREAD_AT_SPECIFICATION))
			ref = &cur->at[DWARFREAD_AT_SPECIFICATION];
		if (!ref || dwarfread__ref(rd, u, ref, &tu, &off) ||
		    dwarfread__die(rd, tu, off, &next) || !next.tag)
			break;
		u = tu;
		cur = &next;
	}
	if (fu[0] || fu[1]) {
		int k = fu[0] ? 0 : 1;

		mangled = dwarfread__string(rd, fu[k], &found[k]);
		if (mangled)
			return demangled(w->d, mangled);
	}
	return fu[2] ? dwarfread__string(rd, fu[2], &found[2]) : NULL;
}

/*
 * The unit's file names, kept as parts: joined by path_of. Made once, when the unit is first built,
 * and kept when its tables are forgotten: answers handed out point to the joined paths. Returns 0
 * or -errno.
 */
static int build_paths(struct dwarfsym *d, struct dcu *cu, const struct dwarfread_lines *l)
{
	size_t nfiles = l->nfiles;

	if (!nfiles || cu->paths)
		return 0;
	if (nfiles > (1u << 30))
		return -E2BIG;
	cu->paths = arena_alloc(d, nfiles * sizeof(*cu->paths));
	if (!cu->paths)
		return -ENOMEM;
	cu->npaths = (uint32_t)nfiles;
	for (size_t i = 0; i < nfiles; i++)
		cu->paths[i] = (struct dpath){ NULL, l->files[i].dir, l->files[i].name };
	return 0;
}

/*
 * File `i` of the unit (i < npaths) as eu-addr2line and llvm-symbolizer print it: libdw's name,
 * dir "/" name (dir NULL for an absolute name), joined to the unit's compilation directory when
 * relative (DWARF 5 directory entries are relative to it). NULL only when out of memory.
 */
static const char *path_of(struct dwarfsym *d, struct dcu *cu, uint32_t i)
{
	struct dpath *p = &cu->paths[i];
	const char *cd = cu->comp_dir, *dir = p->dir, *f = p->name;
	bool join, rel = dir ? dir[0] != '/' : f[0] != '/';
	size_t lcd, ld, lf;
	char *j, *at;

	if (p->path)
		return p->path;
	join = rel && cd && *cd;
	if (!dir && !join)
		return p->path = f;
	lcd = join ? strlen(cd) : 0;
	ld = dir ? strlen(dir) : 0;
	lf = strlen(f);
	j = arena_alloc(d, lcd + 1 + ld + 1 + lf + 1);
	if (!j)
		return NULL;
	at = j;
	if (join) {
		memcpy(at, cd, lcd);
		at += lcd;
		*at++ = '/';
	}
	if (dir) {
		memcpy(at, dir, ld);
		at += ld;
		*at++ = '/';
	}
	memcpy(at, f, lf + 1);
	return p->path = j;
}

/*
 * Copies the unit's line table (sorted by address) into compact rows at cu->lines and cu->laddr
 * (room for every row). A unit whose rows span 4 GiB or more (no real unit does) fails as a bad
 * unit.
 */
static int build_lines(struct dcu *cu, const struct dwarfread_lines *l)
{
	size_t n = l->nrows;
	uint64_t prev = 0;

	if (!n)
		return 0;
	cu->line_base = l->rows[0].addr;
	for (size_t i = 0; i < n; i++) {
		const struct dwarfread_row *row = &l->rows[i];
		uint64_t a = row->addr;
		uint32_t idx = row->file < cu->npaths ? row->file : DLINE_NOFILE;

		if (row->line < 0)
			return -ENOEXEC;
		/* dwarfread sorts by address; anything else must not break the search. */
		if (i && a < prev)
			return -ENOEXEC;
		if (a - cu->line_base > UINT32_MAX)
			return -E2BIG;
		prev = a;
		cu->laddr[i] = (uint32_t)(a - cu->line_base);
		cu->lines[i] = (struct dline){ (uint32_t)row->line, idx, row->end != 0 };
	}
	cu->nlines = (uint32_t)n;
	return 0;
}

/*
 * The first row in [begin, end) of `cu` above `addr` (end when none): the row before it is the one
 * in force at addr. Branch-free halving, so that the loads do not wait on mispredictions.
 */
static uint32_t rows_above(const struct dcu *cu, uint32_t begin, uint32_t end, uint64_t addr)
{
	uint32_t n = end - begin, key;
	const uint32_t *base;

	/* A unit without rows has no laddr at all: no arithmetic on it. */
	if (!n || addr < cu->line_base)
		return begin;
	if (addr - cu->line_base > UINT32_MAX)
		return end;
	base = cu->laddr + begin;
	key = (uint32_t)(addr - cu->line_base);
	while (n > 1) {
		uint32_t half = n / 2;

		base = base[half] <= key ? base + half : base;
		n -= half;
	}
	return (uint32_t)(base - cu->laddr) + (*base <= key);
}

/* Appends one range of a DIE to w->ranges (dwarfread__ranges' callback); counts in w->nr. */
static int add_range(void *ctx, uint64_t lo, uint64_t hi)
{
	struct walk *w = ctx;

	if (hi <= lo)
		return 0;
	if (++w->nr > DWARFSYM_MAX_RANGES || w->nranges >= DWARFSYM_MAX_UNIT_RANGES)
		return -E2BIG;
	if (grow((void **)&w->ranges, &w->cranges, w->nranges + 1, sizeof(*w->ranges)))
		return -ENOMEM;
	w->ranges[w->nranges++] = (struct drange){ lo, hi };
	return 0;
}

/*
 * rows_above from row `from`, whose rows below all lie at or below addr: a few steps forward
 * first (the next address of a sorted batch is mostly a row or two on), then halving.
 */
static uint32_t rows_from(const struct dcu *cu, uint32_t from, uint32_t end, uint64_t addr)
{
	if (addr >= cu->line_base && addr - cu->line_base <= UINT32_MAX) {
		uint32_t key = (uint32_t)(addr - cu->line_base);

		for (int k = 0; k < 8 && from < end; k++, from++)
			if (cu->laddr[from] > key)
				return from;
	}
	return rows_above(cu, from, end, addr);
}

/* Appends the code ranges of `die` to w->ranges; returns how many, or -errno. A list that does
 * not parse ends where it stops parsing (as dwarf_ranges' callers see it). */
static int die_ranges(struct walk *w, struct dwarfread_unit *u, const struct dwarfread_die *die)
{
	int err;

	w->nr = 0;
	err = dwarfread__ranges(w->d->rd, u, die, add_range, w);
	if (err == -E2BIG || err == -ENOMEM)
		return err;
	return w->nr;
}

static uint64_t walk_children(struct walk *w, struct dwarfread_unit *u,
			      const struct dwarfread_die *parent, int depth, int in_func);

/* Adds an inlined call; returns where its subtree ends (0 when not known, see walk_children). */
static uint64_t add_inline(struct walk *w, struct dwarfread_unit *u,
			   const struct dwarfread_die *die, int depth)
{
	size_t idx = w->ninls, rb = w->nranges;
	uint64_t v, end;
	struct dinl *n;
	int nr = die_ranges(w, u, die);

	if (nr < 0) {
		w->err = nr;
		return 0;
	}
	if (!nr)
		return 0; /* optimized out entirely: nothing of it, or below it, holds code */
	if (grow((void **)&w->inls, &w->cinls, w->ninls + 1, sizeof(*w->inls))) {
		w->err = -ENOMEM;
		return 0;
	}
	n = &w->inls[w->ninls++];
	memset(n, 0, sizeof(*n));
	n->range_begin = (uint32_t)rb;
	n->nranges = (uint32_t)nr;
	n->lo = UINT64_MAX;
	for (size_t i = rb; i < rb + (size_t)nr; i++) {
		n->lo = w->ranges[i].lo < n->lo ? w->ranges[i].lo : n->lo;
		n->hi = w->ranges[i].hi > n->hi ? w->ranges[i].hi : n->hi;
	}
	n->name = die_name(w, u, die);
	if ((die->have & (1u << DWARFREAD_AT_CALL_FILE)) &&
	    !dwarfread__udata(u, &die->at[DWARFREAD_AT_CALL_FILE], &v) && v < w->cu->npaths)
		n->call_file = (uint32_t)v + 1;
	if ((die->have & (1u << DWARFREAD_AT_CALL_LINE)) &&
	    !dwarfread__udata(u, &die->at[DWARFREAD_AT_CALL_LINE], &v) && v <= UINT32_MAX)
		n->call_line = (uint32_t)v;
	end = walk_children(w, u, die, depth + 1, 1);
	/* w->inls may have moved while the children were walked: index again. */
	w->inls[idx].subtree_end = (uint32_t)w->ninls;
	return end;
}

static uint64_t add_function(struct walk *w, struct dwarfread_unit *u,
			     const struct dwarfread_die *die, int depth)
{
	size_t rb = w->nranges, inl_begin = w->ninls;
	const char *name;
	uint64_t end;
	int nr = die_ranges(w, u, die);

	if (nr <= 0) {
		if (nr < 0)
			w->err = nr;
		return 0; /* a declaration, or an abstract instance that only inlined copies use */
	}
	name = die_name(w, u, die);
	end = walk_children(w, u, die, depth + 1, 1);
	if (w->err)
		return 0;
	if (grow((void **)&w->funcs, &w->cfuncs, w->nfuncs + (size_t)nr, sizeof(*w->funcs))) {
		w->err = -ENOMEM;
		return 0;
	}
	for (size_t i = rb; i < rb + (size_t)nr; i++, w->nfuncs++)
		w->funcs[w->nfuncs] = (struct dfunc){ .lo = w->ranges[i].lo,
						      .hi = w->ranges[i].hi,
						      .name = name,
						      .inl_begin = (uint32_t)inl_begin,
						      .inl_end = (uint32_t)w->ninls,
						      .order = (uint32_t)w->nfuncs };
	return end;
}

/* The attributes read of a DIE walked into, and of one skipped. */
#define WALK_ATTRS                                                                              \
	(DWARFREAD_ALL & ~(1u << DWARFREAD_AT_COMP_DIR | 1u << DWARFREAD_AT_STMT_LIST |         \
			   1u << DWARFREAD_AT_STR_OFFSETS_BASE | 1u << DWARFREAD_AT_ADDR_BASE | \
			   1u << DWARFREAD_AT_RNGLISTS_BASE | 1u << DWARFREAD_AT_ENTRY_PC))
#define SKIP_ATTRS (1u << DWARFREAD_AT_SIBLING)

/* What walk_children does with a child DIE. */
enum walk_kind {
	WALK_SKIP,     /* types, variables, parameters: no code below */
	WALK_FUNCTION, /* a function, outside functions (nested ones count as their parent) */
	WALK_INLINE,   /* an inlined call, inside a function */
	WALK_BLOCK,    /* a block inside a function: its children */
	WALK_SCOPE,    /* a namespace, class or module outside functions: its children */
};

static enum walk_kind walk_kind(uint32_t tag, int in_func)
{
	switch (tag) {
	case DW_TAG_subprogram:
		return in_func ? WALK_SKIP : WALK_FUNCTION;
	case DW_TAG_inlined_subroutine:
		return in_func ? WALK_INLINE : WALK_SKIP;
	case DW_TAG_lexical_block:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
		return in_func ? WALK_BLOCK : WALK_SKIP;
	case DW_TAG_namespace:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_interface_type:
	case DW_TAG_module:
		return in_func ? WALK_SKIP : WALK_SCOPE;
	default:
		return WALK_SKIP;
	}
}

/*
 * Walks the children of `parent` as dwarf_child and dwarf_siblingof would. Returns the offset
 * after the null entry that ends them when the walk reached it, else 0 (an error, the depth
 * bound, no children): the caller then finds the next sibling itself.
 */
static uint64_t walk_children(struct walk *w, struct dwarfread_unit *u,
			      const struct dwarfread_die *parent, int depth, int in_func)
{
	struct dwarfread *rd = w->d->rd;
	struct dwarfread_die child;
	uint64_t pos = parent->next;

	if (depth > DWARFSYM_MAX_DEPTH || !parent->children)
		return 0;
	for (;;) {
		enum walk_kind kind;
		uint64_t end = 0;

		if (w->err || dwarfread__die_head(rd, u, pos, &child))
			return 0;
		if (!child.tag)
			return child.next;
		kind = walk_kind(child.tag, in_func);
		/* Only the DIEs walked into are decoded; the others only for their size and link.
		 */
		if (dwarfread__die_attrs(rd, u, &child,
					 kind == WALK_SKIP ? SKIP_ATTRS : WALK_ATTRS))
			return 0;
		switch (kind) {
		case WALK_FUNCTION:
			end = add_function(w, u, &child, depth);
			break;
		case WALK_INLINE:
			end = add_inline(w, u, &child, depth);
			break;
		case WALK_BLOCK:
			end = walk_children(w, u, &child, depth + 1, 1);
			break;
		case WALK_SCOPE:
			end = walk_children(w, u, &child, depth + 1, 0);
			break;
		case WALK_SKIP:
			break;
		}
		/* A DW_AT_sibling link wins, as in dwarf_siblingof; else past the subtree just
		 * walked, or skipped. */
		if ((child.have & (1u << DWARFREAD_AT_SIBLING)) || !end)
			end = dwarfread__sibling(rd, u, &child);
		if (!end)
			return 0;
		pos = end;
	}
}

static int cmp_func(const void *a, const void *b)
{
	const struct dfunc *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	/* The lookup takes the last candidate at an address: put the first DIE last. GNU as emits
	 * one subprogram per alias (__sigsetjmp, __GI___sigsetjmp), eu-addr2line names the first.
	 */
	return x->order > y->order ? -1 : x->order < y->order;
}

/* Whether the functions are in cmp_func's order already (the DIEs often are): no sort then. */
static bool funcs_sorted(const struct dfunc *f, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (cmp_func(&f[i - 1], &f[i]) > 0)
			return false;
	return true;
}

/* Frees what build_unit allocated for the unit (not its paths): it is built again on its next
 * lookup. */
static void unit_forget(struct dwarfsym *d, struct dcu *cu)
{
	d->bytes -= cu->tables_size;
	free(cu->tables);
	cu->tables = NULL;
	cu->tables_size = 0;
	cu->funcs = NULL;
	cu->inls = NULL;
	cu->ranges = NULL;
	cu->lines = NULL;
	cu->laddr = NULL;
	cu->nfuncs = cu->ninls = cu->nranges = cu->nlines = 0;
	cu->state = CU_NEW;
}

/*
 * Places the unit's tables in one allocation, in order of alignment: functions, inlined calls and
 * ranges (8 bytes), line rows and their addresses (4). Returns 0 or -ENOMEM.
 */
static int unit_tables(struct dwarfsym *d, struct dcu *cu, const struct walk *w, size_t nrows)
{
	size_t f = w->nfuncs * sizeof(*w->funcs), i = w->ninls * sizeof(*w->inls);
	size_t r = w->nranges * sizeof(*w->ranges), l = nrows * sizeof(*cu->lines);
	size_t size = f + i + r + l + nrows * sizeof(*cu->laddr);
	char *p = malloc(size + 1);

	if (!p)
		return -ENOMEM;
	cu->tables = p;
	cu->tables_size = size;
	cu->funcs = (struct dfunc *)p;
	cu->inls = (struct dinl *)(p + f);
	cu->ranges = (struct drange *)(p + f + i);
	if (f)
		memcpy(cu->funcs, w->funcs, f);
	if (i)
		memcpy(cu->inls, w->inls, i);
	if (r)
		memcpy(cu->ranges, w->ranges, r);
	cu->lines = (struct dline *)(p + f + i + r);
	cu->laddr = (uint32_t *)(p + f + i + r + l);
	cu->nfuncs = (uint32_t)w->nfuncs;
	cu->ninls = (uint32_t)w->ninls;
	cu->nranges = (uint32_t)w->nranges;
	d->bytes += size;
	return 0;
}

static void build_unit(struct dwarfsym *d, struct dcu *cu)
{
	struct walk w = d->scratch;
	struct dwarfread_die cudie;
	int lerr;

	size_t cap_before =
	    w.cfuncs * sizeof(*w.funcs) + w.cinls * sizeof(*w.inls) + w.cranges * sizeof(*w.ranges);

	w.d = d;
	w.cu = cu;
	w.nfuncs = w.ninls = w.nranges = 0;
	w.err = 0;

	cu->state = CU_BAD;
	/* A line table that does not parse leaves the unit without files and lines, as libdw. */
	lerr = dwarfread__lines(d->rd, cu->unit, &d->lines);
	w.err = lerr == -ENOMEM ? lerr : 0;
	if (!w.err && d->lines.nrows > UINT32_MAX / 2)
		w.err = -E2BIG;
	if (!w.err)
		w.err = build_paths(d, cu, &d->lines);
	if (!w.err)
		w.err = dwarfread__die(d->rd, cu->unit, cu->unit->die_off, &cudie);
	if (!w.err)
		walk_children(&w, cu->unit, &cudie, 0, 0);
	if (!w.err && w.nfuncs && !funcs_sorted(w.funcs, w.nfuncs))
		qsort(w.funcs, w.nfuncs, sizeof(*w.funcs), cmp_func);
	/* Copied out at their final size; the vectors stay for the next unit. */
	if (!w.err)
		w.err = unit_tables(d, cu, &w, d->lines.nrows);
	if (!w.err)
		w.err = build_lines(cu, &d->lines);
	d->scratch = w;
	/* The line vectors stay for the next unit too, unless a large program grew them: rows are
	 * reserved by the program's size, three times what it holds. */
	if (d->lines.crows > DWARFSYM_KEEP_ROWS)
		dwarfread_lines_release(&d->lines);
	/* The vectors stay for the next unit: their growth counts. */
	d->bytes += w.cfuncs * sizeof(*w.funcs) + w.cinls * sizeof(*w.inls) +
		    w.cranges * sizeof(*w.ranges) - cap_before;
	if (w.err) {
		unit_forget(d, cu);
		cu->state = CU_BAD;
		d->bad_units++;
		return;
	}
	for (size_t i = 0; i < w.nfuncs; i++) {
		struct dfunc *f = &cu->funcs[i];
		uint32_t first = rows_above(cu, 0, cu->nlines, f->lo);

		f->max_hi = i && cu->funcs[i - 1].max_hi > f->hi ? cu->funcs[i - 1].max_hi : f->hi;
		f->line_begin = first ? first - 1 : 0;
		f->line_end = rows_above(cu, first, cu->nlines, f->hi - 1);
	}
	cu->state = CU_BUILT;
}

static int cmp_cur(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int has_debug_info(Elf *elf)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return 0;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || !sh.sh_size)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && (!strcmp(name, ".debug_info") || !strcmp(name, ".zdebug_info")))
			return 1;
	}
	return 0;
}

/*
 * Buckets over the units' ranges: at most about two per range, of at least 256 bytes of code each
 * (libc: 5,600 buckets, 22 KB, about one range start each). Far-apart ranges make them coarser,
 * never wrong.
 */
static int index_buckets(struct dwarfsym *d)
{
	uint64_t span;
	size_t c = 0;

	if (!d->ncur)
		return 0;
	d->bkt_base = d->cur[0].lo;
	span = d->cur[d->ncur - 1].lo - d->bkt_base;
	d->bkt_shift = 8;
	while (d->bkt_shift < 63 && (span >> d->bkt_shift) >= 2 * d->ncur + 64)
		d->bkt_shift++;
	d->nbkt = (size_t)(span >> d->bkt_shift) + 1;
	d->bkt = malloc((d->nbkt + 1) * sizeof(*d->bkt));
	if (!d->bkt)
		return -ENOMEM;
	for (size_t p = 0; p <= d->nbkt; p++) {
		/* p << shift stays within span + one bucket: no overflow past the last bucket. */
		uint64_t start = p < d->nbkt ? d->bkt_base + ((uint64_t)p << d->bkt_shift)
					     : UINT64_MAX;

		while (c < d->ncur && d->cur[c].lo < start)
			c++;
		d->bkt[p] = (uint32_t)c;
	}
	d->bytes += (d->nbkt + 1) * sizeof(*d->bkt);
	return 0;
}

struct unit_ranges {
	struct dwarfsym *d;
	size_t cap; /* of d->cur */
	int n;	    /* ranges of the unit being read */
};

/* Appends one range of a unit (dwarfread__ranges' callback). */
static int add_unit_range(void *ctx, uint64_t lo, uint64_t hi)
{
	struct unit_ranges *ur = ctx;
	struct dwarfsym *d = ur->d;

	if (hi <= lo)
		return 0;
	if (++ur->n > DWARFSYM_MAX_RANGES * 16)
		return 1; /* stop: the unit keeps the ranges so far */
	if (grow((void **)&d->cur, &ur->cap, d->ncur + 1, sizeof(*d->cur)))
		return -ENOMEM;
	d->cur[d->ncur++] = (struct cu_range){ lo, hi, 0, (uint32_t)d->ncus };
	return 0;
}

/* Lists the units and the address ranges each covers, without reading their DIE trees. */
static int index_units(struct dwarfsym *d)
{
	size_t ccus = 0, n = dwarfread__nunits(d->rd);
	struct unit_ranges ur = { d, 0, 0 };

	for (size_t i = 0; i < n; i++) {
		struct dwarfread_unit *u = dwarfread__unit(d->rd, i);

		if (u->unit_type != DW_UT_compile && u->unit_type != DW_UT_partial)
			continue;
		if (grow((void **)&d->cus, &ccus, d->ncus + 1, sizeof(*d->cus)))
			return -ENOMEM;
		memset(&d->cus[d->ncus], 0, sizeof(d->cus[0]));
		d->cus[d->ncus].unit = u;
		d->cus[d->ncus].comp_dir = u->comp_dir;
		ur.n = 0;
		if (dwarfread__unit_ranges(d->rd, u, add_unit_range, &ur) == -ENOMEM)
			return -ENOMEM;
		d->ncus++;
		if (d->ncus > UINT32_MAX / 2)
			return -EFBIG;
	}
	d->bytes += ur.cap * sizeof(*d->cur);
	if (d->ncus) {
		/* realloc does not keep the units' cache-line alignment: move them once. */
		struct dcu *aligned = aligned_alloc(64, d->ncus * sizeof(*d->cus));

		if (!aligned)
			return -ENOMEM;
		memcpy(aligned, d->cus, d->ncus * sizeof(*d->cus));
		free(d->cus);
		d->cus = aligned;
	}
	if (d->ncur)
		qsort(d->cur, d->ncur, sizeof(*d->cur), cmp_cur);
	for (size_t i = 0; i < d->ncur; i++)
		d->cur[i].max_hi = i && d->cur[i - 1].max_hi > d->cur[i].hi ? d->cur[i - 1].max_hi
									    : d->cur[i].hi;
	d->bytes += d->ncus * sizeof(*d->cus);
	return index_buckets(d);
}

/* The debug sections dwarfread reads, by name without ".debug_"; the others are never read. */
static const char *const used_sections[DWARFREAD_NSECS] = {
	[DWARFREAD_INFO] = "info",
	[DWARFREAD_ABBREV] = "abbrev",
	[DWARFREAD_LINE] = "line",
	[DWARFREAD_STR] = "str",
	[DWARFREAD_LINE_STR] = "line_str",
	[DWARFREAD_RNGLISTS] = "rnglists",
	[DWARFREAD_RANGES] = "ranges",
	[DWARFREAD_ADDR] = "addr",
	[DWARFREAD_STR_OFFSETS] = "str_offsets",
};

/* The index of a debug section (".debug_x" or ".zdebug_x") in used_sections, or -1. */
static int used_section(const char *name)
{
	const char *base = name + (name[1] == 'z' ? 8 : 7);

	for (int i = 0; i < DWARFREAD_NSECS; i++)
		if (!strcmp(base, used_sections[i]))
			return i;
	return -1;
}

/* Debug sections inflated to more than this in all are refused. */
#define DWARFSYM_MAX_INFLATED (1ull << 30)
/* Huge pages for the inflated sections: lookups read them at random (names, paths). */
#define DWARFSYM_HUGE_PAGE (2ull << 20)

static bool debug_section(const char *name)
{
	return name && (!strncmp(name, ".debug_", 7) || !strncmp(name, ".zdebug_", 8));
}

/*
 * Inflates the zlib-compressed (SHF_COMPRESSED) debug sections that dwarfread will read, with
 * libdeflate (about twice as fast as zlib's inflate, which libelf's elf_compress uses: start-up was
 * a sixth of a one-shot run over libc), into one buffer in huge pages, each section followed by a
 * zero byte (see harden_sections). The sections then look uncompressed through libelf. Sections
 * of other compression types are left to libelf.
 */
/* Is `scn` a zlib-compressed debug section to read? Fills *sh and *ch when it is. */
static bool zlib_debug_section(Elf *elf, size_t shstrndx, Elf_Scn *scn, GElf_Shdr *sh,
			       GElf_Chdr *ch)
{
	return gelf_getshdr(scn, sh) && sh->sh_type != SHT_NOBITS &&
	       (sh->sh_flags & SHF_COMPRESSED) &&
	       debug_section(elf_strptr(elf, shstrndx, sh->sh_name)) && gelf_getchdr(scn, ch) &&
	       ch->ch_type == ELFCOMPRESS_ZLIB;
}

static int inflate_sections(struct dwarfsym *d, size_t shstrndx)
{
	struct libdeflate_decompressor *dec = NULL;
	Elf_Scn *scn = NULL;
	size_t total = 0, at = 0;
	int err = 0;

	while ((scn = elf_nextscn(d->elf, scn))) {
		GElf_Shdr sh;
		GElf_Chdr ch;

		if (!zlib_debug_section(d->elf, shstrndx, scn, &sh, &ch))
			continue;
		/* zlib inflates at most 1032:1; a header claiming more is forged. */
		if (ch.ch_size / 1032 > sh.sh_size)
			return -ENOEXEC;
		total += ((size_t)ch.ch_size + 1 + 63) & ~(size_t)63;
		if (total > DWARFSYM_MAX_INFLATED)
			return -E2BIG;
	}
	if (!total)
		return 0;
	total = (total + DWARFSYM_HUGE_PAGE - 1) & ~(DWARFSYM_HUGE_PAGE - 1);
	d->inflated = aligned_alloc(DWARFSYM_HUGE_PAGE, total);
	dec = libdeflate_alloc_decompressor();
	if (!d->inflated || !dec) {
		err = -ENOMEM;
		goto out;
	}
	d->inflated_size = total;
	madvise(d->inflated, total, MADV_HUGEPAGE); /* a hint: without THP it changes nothing */
	while ((scn = elf_nextscn(d->elf, scn))) {
		size_t hdr = gelf_getclass(d->elf) == ELFCLASS32 ? sizeof(Elf32_Chdr)
								 : sizeof(Elf64_Chdr);
		char *out = (char *)d->inflated + at;
		Elf_Data *data;
		size_t got = 0;
		GElf_Shdr sh;
		GElf_Chdr ch;

		if (!zlib_debug_section(d->elf, shstrndx, scn, &sh, &ch))
			continue;
		data = elf_getdata(scn, NULL); /* ELF_T_CHDR: the header, then the zlib stream */
		if (!data || !data->d_buf || data->d_size < hdr || at + ch.ch_size + 1 > total ||
		    libdeflate_zlib_decompress(dec, (const char *)data->d_buf + hdr,
					       data->d_size - hdr, out, ch.ch_size,
					       &got) != LIBDEFLATE_SUCCESS ||
		    got != ch.ch_size) {
			err = -ENOEXEC;
			goto out;
		}
		out[ch.ch_size] = '\0';
		at += ((size_t)ch.ch_size + 1 + 63) & ~(size_t)63;
		/* What elf_compress(scn, 0, 0) leaves behind, but in our buffer: the header says
		 * uncompressed and the data is the inflated bytes. libelf still frees its own
		 * buffer; this one is ours. */
		data->d_buf = out;
		data->d_size = ch.ch_size;
		data->d_type = ELF_T_BYTE;
		data->d_align = ch.ch_addralign ? ch.ch_addralign : 1;
		data->d_off = 0;
		sh.sh_flags &= ~(GElf_Xword)SHF_COMPRESSED;
		sh.sh_size = ch.ch_size;
		sh.sh_addralign = ch.ch_addralign;
		if (!gelf_update_shdr(scn, &sh)) {
			err = -ENOEXEC;
			goto out;
		}
	}
	d->bytes += total;
out:
	libdeflate_free_decompressor(dec);
	return err;
}

/*
 * Strings in debug sections (.debug_str, file names in .debug_line) are used where they lie, read
 * with strlen: a section whose last string is unterminated would be read past its buffer (libdw
 * 0.188 did exactly that, found by fuzz_elf, a heap overflow under ASan). Every debug section
 * that does not end in a zero byte is replaced by a copy that has one after its end, so such a
 * read stops there. Compressed sections are decompressed first.
 */
static int harden_sections(struct dwarfsym *d)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	int err;

	if (elf_getshdrstrndx(d->elf, &shstrndx))
		return -ENOEXEC;
	while ((scn = elf_nextscn(d->elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(d->elf, shstrndx, sh.sh_name);
		if (debug_section(name) && used_section(name) < 0) {
			/* As NOBITS, a section is neither inflated nor copied (locations, macros,
			 * CFI, name indexes, aranges). Only our in-memory copy changes. */
			sh.sh_type = SHT_NOBITS;
			if (!gelf_update_shdr(scn, &sh))
				return -ENOEXEC;
		}
	}
	err = inflate_sections(d, shstrndx);
	if (err)
		return err;
	while ((scn = elf_nextscn(d->elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		Elf_Data *data;
		void **np;
		char *copy;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(d->elf, shstrndx, sh.sh_name);
		if (!debug_section(name))
			continue;
		if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
			return -ENOEXEC;
		if (name[1] == 'z' && elf_compress_gnu(scn, 0, 0) < 0)
			return -ENOEXEC;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf || !data->d_size ||
		    !((const char *)data->d_buf)[data->d_size - 1])
			continue;
		if (d->inflated && (char *)data->d_buf >= (char *)d->inflated &&
		    (char *)data->d_buf < (char *)d->inflated + d->inflated_size)
			continue; /* inflate_sections put a zero byte after it */
		np = realloc(d->pads, (d->npads + 1) * sizeof(*np));
		if (!np)
			return -ENOMEM;
		d->pads = np;
		copy = malloc(data->d_size + 1);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data->d_buf, data->d_size);
		copy[data->d_size] = '\0';
		d->pads[d->npads++] = copy;
		data->d_buf = copy; /* libelf still frees its own buffer; this one is ours */
		d->bytes += data->d_size + 1;
	}
	return 0;
}

/* The buffers of the sections dwarfread reads (after harden_sections: each ends in a zero). */
static int open_reader(struct dwarfsym *d)
{
	struct dwarfread_section secs[DWARFREAD_NSECS];
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	const char *ident = elf_getident(d->elf, NULL);

	/* dwarfread reads little-endian DWARF: the byte order of every host ember runs on. */
	if (!ident || ident[EI_DATA] != ELFDATA2LSB || elf_getshdrstrndx(d->elf, &shstrndx))
		return -ENOEXEC;
	memset(secs, 0, sizeof(secs));
	while ((scn = elf_nextscn(d->elf, scn))) {
		const char *name;
		Elf_Data *data;
		GElf_Shdr sh;
		int i;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(d->elf, shstrndx, sh.sh_name);
		if (!debug_section(name) || (i = used_section(name)) < 0 || secs[i].buf)
			continue;
		data = elf_getdata(scn, NULL);
		/* harden_sections made every such section end in a zero byte, or copied it. */
		if (!data || !data->d_buf || !data->d_size)
			continue;
		secs[i] = (struct dwarfread_section){ data->d_buf, data->d_size };
	}
	d->rd = dwarfread__new(secs);
	return d->rd ? 0 : (errno == ENODATA ? -ENODATA : -ENOMEM);
}

struct dwarfsym *dwarfsym__open(int fd)
{
	struct dwarfsym *d = calloc(1, sizeof(*d));
	struct stat st;
	int err = 0;

	if (!d)
		return NULL;
	d->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (d->fd < 0 || fstat(d->fd, &st)) {
		err = -errno;
		goto fail;
	}
	elf_version(EV_CURRENT);
	/* ELF_C_READ, not mmap: a file truncated under us must give errors, not SIGBUS. */
	d->elf = elf_begin(d->fd, ELF_C_READ, NULL);
	if (!d->elf || elf_kind(d->elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto fail;
	}
	if (!has_debug_info(d->elf)) {
		err = -ENODATA;
		goto fail;
	}
	err = harden_sections(d);
	if (err)
		goto fail;
	err = open_reader(d);
	if (err)
		goto fail;
	err = index_units(d);
	if (err)
		goto fail;
	/* libelf reads the file whole (the debug sections inflated apart): count the file. */
	d->bytes += sizeof(*d) + (size_t)st.st_size;
	return d;
fail:
	dwarfsym__free(d);
	errno = -err;
	return NULL;
}

/* The unit of addr: that of the last range starting at or below addr that covers it. */
static struct dcu *find_unit(struct dwarfsym *d, uint64_t addr, size_t *range)
{
	size_t lo, hi, p;

	if (!d->ncur || addr < d->cur[0].lo)
		return NULL;
	/* The last range starting at or below addr is among its bucket's, or just before them. */
	p = (size_t)((addr - d->bkt_base) >> d->bkt_shift);
	if (p >= d->nbkt) {
		lo = d->ncur - 1;
		hi = d->ncur;
	} else {
		lo = d->bkt[p] ? d->bkt[p] - 1 : 0;
		hi = d->bkt[p + 1];
	}
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->cur[mid].lo <= addr)
			lo = mid;
		else
			hi = mid;
	}
	/* Ranges may nest or overlap: look back while an earlier one can still reach addr. */
	for (size_t i = lo + 1; i-- > 0 && d->cur[i].max_hi > addr;)
		if (addr < d->cur[i].hi) {
			*range = i;
			return &d->cus[d->cur[i].cu];
		}
	return NULL;
}

static const struct dfunc *find_func(const struct dcu *cu, uint64_t addr)
{
	size_t lo = 0, hi = cu->nfuncs;

	if (!cu->nfuncs || addr < cu->funcs[0].lo)
		return NULL;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (cu->funcs[mid].lo <= addr)
			lo = mid;
		else
			hi = mid;
	}
	for (size_t i = lo + 1; i-- > 0 && cu->funcs[i].max_hi > addr;)
		if (addr < cu->funcs[i].hi)
			return &cu->funcs[i];
	return NULL;
}

static int inl_contains(const struct dcu *cu, const struct dinl *n, uint64_t addr)
{
	if (addr < n->lo || addr >= n->hi)
		return 0;
	if (n->nranges == 1)
		return 1;
	for (uint32_t i = 0; i < n->nranges; i++) {
		const struct drange *r = &cu->ranges[n->range_begin + i];

		if (addr >= r->lo && addr < r->hi)
			return 1;
	}
	return 0;
}

/* The end of the functions of the unit of range `range`. */
static const struct dfunc *cu_funcs_end(const struct dwarfsym *d, size_t range)
{
	const struct dcu *cu = &d->cus[d->cur[range].cu];

	return cu->funcs + cu->nfuncs;
}

int dwarfsym__lookup(struct dwarfsym *d, uint64_t vaddr, uint64_t now,
		     struct dwarfsym_frame *frames, int max)
{
	const struct dinl *chain[DWARFSYM_MAX_FRAMES];
	const struct dfunc *f;
	const char *file = NULL;
	struct dcu *cu;
	int depth = 0, lineno = 0, n = 0, top;
	size_t range = 0;
	uint32_t r;

	if (max <= 0)
		return 0;
	f = d->last.f;
	if (f && vaddr >= d->last.addr && vaddr < f->hi &&
	    (d->last.range + 1 == d->ncur || d->cur[d->last.range + 1].lo > vaddr) &&
	    (f + 1 == cu_funcs_end(d, d->last.range) || f[1].lo > vaddr)) {
		/* What find_unit and find_func would answer: the last range, and the last
		 * function, starting at or below vaddr still cover it; its row is at or after the
		 * last one. */
		cu = &d->cus[d->cur[d->last.range].cu];
		cu->used = now;
		range = d->last.range;
		r = rows_from(cu, d->last.row, f->line_end, vaddr);
	} else {
		cu = find_unit(d, vaddr, &range);
		if (!cu)
			return 0;
		if (cu->state == CU_NEW)
			build_unit(d, cu);
		if (cu->state != CU_BUILT)
			return 0;
		cu->used = now;
		f = find_func(cu, vaddr);
		/* As dwarf_getsrc_die: the last row at or below vaddr, unless it ends a sequence.
		 * Inside a function only its own rows can be that row. */
		r = f ? rows_above(cu, f->line_begin, f->line_end, vaddr)
		      : rows_above(cu, 0, cu->nlines, vaddr);
	}
	d->last.f = f;
	if (f) {
		d->last.addr = vaddr;
		d->last.range = range;
		d->last.row = r;
	}
	if (r && vaddr >= cu->line_base && vaddr - cu->line_base >= cu->laddr[r - 1] &&
	    !cu->lines[r - 1].end) {
		lineno = (int)cu->lines[r - 1].line;
		/* build_lines made every index valid or DLINE_NOFILE (npaths <= 2^30). */
		file = cu->lines[r - 1].file != DLINE_NOFILE ? path_of(d, cu, cu->lines[r - 1].file)
							     : NULL;
	}
	if (!f) {
		if (!file)
			return 0;
		frames[0] = (struct dwarfsym_frame){ NULL, file, (uint32_t)lineno, false };
		return 1;
	}
	/* inl_end and subtree_end were set by build_unit, never past ninls. */
	for (uint32_t i = f->inl_begin, end = f->inl_end; i < end;) {
		const struct dinl *node = &cu->inls[i];

		if (inl_contains(cu, node, vaddr)) {
			if (depth < DWARFSYM_MAX_FRAMES - 1)
				chain[depth++] = node;
			end = node->subtree_end;
			i++;
		} else {
			/* A subtree end at or before its own node would loop: hostile data. */
			i = node->subtree_end > i ? node->subtree_end : i + 1;
		}
	}
	/* Levels 0 (the function) .. depth (innermost inline); keep the outermost `max`. */
	top = depth < max - 1 ? depth : max - 1;
	for (int lvl = top; lvl >= 0; lvl--) {
		struct dwarfsym_frame *fr = &frames[n++];

		fr->name = lvl ? chain[lvl - 1]->name : f->name;
		fr->inlined = lvl > 0;
		if (lvl == depth) {
			fr->file = file;
			fr->line = (uint32_t)lineno;
		} else {
			/* call_file was checked below npaths when the unit was built. */
			fr->file = chain[lvl]->call_file ? path_of(d, cu, chain[lvl]->call_file - 1)
							 : NULL;
			fr->line = chain[lvl]->call_line;
		}
	}
	return n;
}

size_t dwarfsym__bytes(const struct dwarfsym *d)
{
	/* The reader's units and tables, and the line vectors, grow as units are built. */
	return d ? d->bytes + dwarfread__bytes(d->rd) + dwarfread_lines_bytes(&d->lines) : 0;
}

size_t dwarfsym__forget(struct dwarfsym *d, uint64_t before)
{
	size_t freed = 0;

	if (!d)
		return 0;
	for (size_t i = 0; i < d->ncus; i++) {
		struct dcu *cu = &d->cus[i];

		if (cu->state == CU_BUILT && cu->used < before) {
			freed += cu->tables_size;
			unit_forget(d, cu);
		}
	}
	if (freed)
		d->last.f = NULL; /* it may point into a unit forgotten */
	return freed;
}

unsigned long dwarfsym__bad_units(const struct dwarfsym *d)
{
	return d ? d->bad_units : 0;
}

void dwarfsym__free(struct dwarfsym *d)
{
	struct dname *n, *tmp;

	if (!d)
		return;
	while (d->arena) {
		struct chunk *next = d->arena->next;

		free(d->arena);
		d->arena = next;
	}
	for (size_t i = 0; i < d->ncus; i++)
		free(d->cus[i].tables);
	free(d->scratch.funcs);
	free(d->scratch.inls);
	free(d->scratch.ranges);
	free(d->cus);
	free(d->cur);
	free(d->bkt);
	HASH_ITER (hh, d->names, n, tmp) {
		HASH_DEL(d->names, n);
		free(n->demangled);
		free(n);
	}

	dwarfread__free(d->rd);
	dwarfread_lines_release(&d->lines);
	if (d->elf)
		elf_end(d->elf);
	for (size_t i = 0; i < d->npads; i++)
		free(d->pads[i]);
	free(d->pads);
	free(d->inflated);
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}
