// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * DWARF 2-5 read directly from the section buffers (see dwarfread.h). Every read goes through a
 * cursor that knows the end of what it may read and turns an overrun into an error; values that
 * index or offset anything are checked before use. Where libdw 0.188 has a quirk that decides an
 * answer (the "???" file 0 of DWARF < 5, the end-of-sequence mark on the last row, the order of
 * rows at one address) it is reproduced and said so.
 */
#include "symbolizer/dwarfread.h"

#include <dwarf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "symbolizer/symbolizer_internal.h"

/* Abbreviation tables larger than this many entries or attributes are refused. */
#define DWARFREAD_MAX_ABBREVS (1u << 20)
#define DWARFREAD_NO_SLOT 0xff
#define DWARFREAD_VARIABLE 0xff

struct cursor {
	const uint8_t *p, *end;
	bool bad;
};

static inline uint64_t rd_fixed(struct cursor *c, unsigned int n)
{
	uint64_t v = 0;

	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = true;
		c->p = c->end;
		return 0;
	}
	/* Little-endian only: ember runs on the host whose binaries it reads (x86-64, arm64). Of a
	 * longer value (data16) the low 8 bytes. */
	for (unsigned int i = 0; i < n && i < 8; i++)
		v |= (uint64_t)c->p[i] << (8 * i);
	c->p += n;
	return v;
}

static inline uint64_t rd_uleb(struct cursor *c)
{
	uint64_t v = 0;
	unsigned int shift = 0;

	if (c->p < c->end && *c->p < 0x80) /* the common case: one byte */
		return *c->p++;

	while (c->p < c->end) {
		uint8_t b = *c->p++;

		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

static inline int64_t rd_sleb(struct cursor *c)
{
	uint64_t v = 0;
	unsigned int shift = 0;

	while (c->p < c->end) {
		uint8_t b = *c->p++;

		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			if (shift < 64 && (b & 0x40))
				v |= ~(uint64_t)0 << shift;
			return (int64_t)v;
		}
	}
	c->bad = true;
	return 0;
}

static inline void skip(struct cursor *c, uint64_t n)
{
	if ((uint64_t)(c->end - c->p) < n) {
		c->bad = true;
		c->p = c->end;
	} else {
		c->p += n;
	}
}

/* One attribute of an abbreviation. */
struct aspec {
	int64_t implicit; /* DW_FORM_implicit_const's value */
	uint16_t form;
	uint8_t slot; /* enum dwarfread_attr, DWARFREAD_NO_SLOT for the others */
	uint8_t size; /* fixed size in this unit's encoding, DWARFREAD_VARIABLE when not */
};

struct abbrev {
	uint64_t code;
	uint32_t tag;
	uint32_t first, nattrs; /* its attributes in dwarfread_abbrevs.specs */
	int32_t fixed;		/* size of all its attributes when fixed, else -1 */
	int32_t sib_at;		/* where DW_AT_sibling is when all before it are fixed, else -1 */
	uint32_t slots;		/* the slots it has */
	uint16_t sib_form;
	uint8_t sib_size;
	bool children;
};

struct dwarfread_abbrevs {
	uint64_t key; /* abbrev offset and encoding: see abbrev_key */
	struct abbrev *ab;
	size_t n, cap;
	struct aspec *specs;
	size_t nspecs, cspecs;
	uint32_t *index; /* code -> 1 + position in ab, when the codes are dense */
	size_t nindex, cindex;
	bool sorted; /* ab sorted by code (for the binary search when not indexed) */
};

struct dwarfread {
	struct dwarfread_section s[DWARFREAD_NSECS];
	struct dwarfread_unit *units;
	size_t nunits, cunits;
	/* Tables read, by key (open addressing); units with one table and encoding share it. */
	/* The two tables read last (the unit walked, and one its references lead to), reused: a
	 * table kept per unit was a tenth of a run in allocations and page faults. */
	struct dwarfread_abbrevs tab[2];
	bool valid[2];
	int mru;			  /* the one used last */
	struct dwarfread_abbrevs scratch; /* the unit DIE's abbreviation while listing units */
	uint8_t slot[0x80];		  /* attr_slot of the standard names (those ember reads) */
	uint8_t fsz[DW_FORM_addrx4 + 1];  /* form_size of the standard forms, for fsz_key */
	uint64_t fsz_key;		  /* the encoding of fsz (abbrev_key's low byte), +1 */
	/* Special opcodes of line programs with the parameters special_key names. */
	int16_t special_line[256];
	uint64_t special_adv[256];
	uint32_t special_key;
};

static uint8_t attr_slot(uint64_t name)
{
	switch (name) {
	case DW_AT_sibling:
		return DWARFREAD_AT_SIBLING;
	case DW_AT_low_pc:
		return DWARFREAD_AT_LOW_PC;
	case DW_AT_high_pc:
		return DWARFREAD_AT_HIGH_PC;
	case DW_AT_ranges:
		return DWARFREAD_AT_RANGES;
	case DW_AT_name:
		return DWARFREAD_AT_NAME;
	case DW_AT_linkage_name:
		return DWARFREAD_AT_LINKAGE_NAME;
	case DW_AT_MIPS_linkage_name:
		return DWARFREAD_AT_MIPS_LINKAGE_NAME;
	case DW_AT_abstract_origin:
		return DWARFREAD_AT_ABSTRACT_ORIGIN;
	case DW_AT_specification:
		return DWARFREAD_AT_SPECIFICATION;
	case DW_AT_call_file:
		return DWARFREAD_AT_CALL_FILE;
	case DW_AT_call_line:
		return DWARFREAD_AT_CALL_LINE;
	case DW_AT_comp_dir:
		return DWARFREAD_AT_COMP_DIR;
	case DW_AT_stmt_list:
		return DWARFREAD_AT_STMT_LIST;
	case DW_AT_str_offsets_base:
		return DWARFREAD_AT_STR_OFFSETS_BASE;
	case DW_AT_addr_base:
	case DW_AT_GNU_addr_base:
		return DWARFREAD_AT_ADDR_BASE;
	case DW_AT_rnglists_base:
		return DWARFREAD_AT_RNGLISTS_BASE;
	case DW_AT_entry_pc:
		return DWARFREAD_AT_ENTRY_PC;
	default:
		return DWARFREAD_NO_SLOT;
	}
}

/* The size of a value of `form` when fixed in this unit's encoding, else DWARFREAD_VARIABLE. */
static uint8_t form_size(const struct dwarfread_unit *u, uint64_t form)
{
	switch (form) {
	case DW_FORM_flag_present:
	case DW_FORM_implicit_const:
		return 0;
	case DW_FORM_data1:
	case DW_FORM_ref1:
	case DW_FORM_flag:
	case DW_FORM_strx1:
	case DW_FORM_addrx1:
		return 1;
	case DW_FORM_data2:
	case DW_FORM_ref2:
	case DW_FORM_strx2:
	case DW_FORM_addrx2:
		return 2;
	case DW_FORM_strx3:
	case DW_FORM_addrx3:
		return 3;
	case DW_FORM_data4:
	case DW_FORM_ref4:
	case DW_FORM_strx4:
	case DW_FORM_addrx4:
	case DW_FORM_ref_sup4:
		return 4;
	case DW_FORM_data8:
	case DW_FORM_ref8:
	case DW_FORM_ref_sig8:
	case DW_FORM_ref_sup8:
		return 8;
	case DW_FORM_data16:
		return 16;
	case DW_FORM_addr:
		return u->addr_size;
	case DW_FORM_ref_addr:
		return u->version == 2 ? u->addr_size : u->off_size;
	case DW_FORM_strp:
	case DW_FORM_line_strp:
	case DW_FORM_sec_offset:
	case DW_FORM_strp_sup:
	case DW_FORM_GNU_strp_alt:
	case DW_FORM_GNU_ref_alt:
		return u->off_size;
	default:
		return DWARFREAD_VARIABLE;
	}
}

/* How a value of variable size is encoded (the fixed ones: form_size). */
enum form_kind {
	FORM_UNKNOWN,
	FORM_STRING, /* inline, up to its zero byte */
	FORM_BLOCK1,
	FORM_BLOCK2,
	FORM_BLOCK4,
	FORM_BLOCK, /* a ULEB128 length, then the bytes (exprloc too) */
	FORM_SDATA,
	FORM_ULEB, /* a ULEB128 value or index */
	FORM_INDIRECT,
};

static enum form_kind form_kind(uint64_t form)
{
	switch (form) {
	case DW_FORM_string:
		return FORM_STRING;
	case DW_FORM_block1:
		return FORM_BLOCK1;
	case DW_FORM_block2:
		return FORM_BLOCK2;
	case DW_FORM_block4:
		return FORM_BLOCK4;
	case DW_FORM_block:
	case DW_FORM_exprloc:
		return FORM_BLOCK;
	case DW_FORM_sdata:
		return FORM_SDATA;
	case DW_FORM_udata:
	case DW_FORM_ref_udata:
	case DW_FORM_strx:
	case DW_FORM_addrx:
	case DW_FORM_loclistx:
	case DW_FORM_rnglistx:
	case DW_FORM_GNU_addr_index:
	case DW_FORM_GNU_str_index:
		return FORM_ULEB;
	case DW_FORM_indirect:
		return FORM_INDIRECT;
	default:
		return FORM_UNKNOWN;
	}
}

static bool known_form(uint64_t form)
{
	return form_kind(form) != FORM_UNKNOWN;
}

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
	return symbolizer_grow(v, cap, need, elem, SIZE_MAX);
}

/* Keys abbreviation tables by offset and by the encoding their fixed sizes were computed for. */
static uint64_t abbrev_key(const struct dwarfread_unit *u)
{
	return u->abbrev_off << 8 | (uint64_t)(u->version == 2) << 7 |
	       (uint64_t)(u->off_size == 8) << 6 | (u->addr_size & 0x3f);
}

/* Skips one abbreviation's attribute specifications (for the entries before the one wanted). */
static void skip_specs(struct cursor *c)
{
	for (;;) {
		uint64_t name = rd_uleb(c), form = rd_uleb(c);

		if (c->bad || (!name && !form))
			return;
		if (form == DW_FORM_implicit_const)
			rd_sleb(c);
	}
}

/*
 * Reads the abbreviation table of `u` into `t` (emptied first); with `stop` non-zero, only the
 * entry of that code (the others are skipped over). 0 or -errno.
 */
static int read_abbrevs(struct dwarfread *r, const struct dwarfread_unit *u,
			struct dwarfread_abbrevs *t, uint64_t stop)
{
	const struct dwarfread_section *s = &r->s[DWARFREAD_ABBREV];
	const uint8_t *fsz = r->fsz, *slot = r->slot;
	struct cursor c;
	uint64_t maxcode = 0;
	bool sorted = true;

	t->n = t->nspecs = 0;
	t->nindex = 0;
	t->key = abbrev_key(u);
	if (!s->buf || u->abbrev_off >= s->size)
		return -ENOEXEC;
	/* The sizes of the common forms in this encoding, looked up rather than switched on. */
	if (r->fsz_key != (abbrev_key(u) & 0xff) + 1) {
		for (unsigned int f = 0; f <= DW_FORM_addrx4; f++)
			r->fsz[f] = form_size(u, f);
		r->fsz_key = (abbrev_key(u) & 0xff) + 1;
	}
	c = (struct cursor){ s->buf + u->abbrev_off, s->buf + s->size, false };
	for (;;) {
		struct abbrev *a;
		uint64_t code = rd_uleb(&c), tag;
		int64_t fixed = 0;

		if (c.bad)
			return -ENOEXEC;
		if (!code)
			break;
		tag = rd_uleb(&c);
		if (c.p >= c.end || t->n >= DWARFREAD_MAX_ABBREVS || tag > UINT32_MAX)
			return -ENOEXEC;
		if (stop && code != stop) {
			c.p++; /* children */
			skip_specs(&c);
			continue;
		}
		if (grow((void **)&t->ab, &t->cap, t->n + 1, sizeof(*t->ab)))
			return -ENOMEM;
		a = &t->ab[t->n++];
		*a = (struct abbrev){
			.code = code, .tag = (uint32_t)tag, .children = *c.p++ != 0, .sib_at = -1
		};
		a->first = (uint32_t)t->nspecs;
		for (;;) {
			uint64_t name = rd_uleb(&c), form = rd_uleb(&c);
			struct aspec *sp;

			if (c.bad)
				return -ENOEXEC;
			if (!name && !form)
				break;
			if (t->nspecs >= DWARFREAD_MAX_ABBREVS)
				return -ENOEXEC;
			if (t->nspecs >= t->cspecs &&
			    grow((void **)&t->specs, &t->cspecs, t->nspecs + 1, sizeof(*t->specs)))
				return -ENOMEM;
			sp = &t->specs[t->nspecs++];
			sp->form = (uint16_t)form;
			sp->implicit = form == DW_FORM_implicit_const ? rd_sleb(&c) : 0;
			if (name < 0x80)
				sp->slot = slot[name];
			else if (name == DW_AT_MIPS_linkage_name || name == DW_AT_GNU_addr_base)
				sp->slot = attr_slot(name);
			else
				sp->slot = DWARFREAD_NO_SLOT;
			sp->size = form <= DW_FORM_addrx4 ? fsz[form] : form_size(u, form);
			if (sp->size == DWARFREAD_VARIABLE && !known_form(form))
				return -ENOEXEC;
			if (sp->slot != DWARFREAD_NO_SLOT) {
				if (sp->slot == DWARFREAD_AT_SIBLING && !(a->slots & 1u) &&
				    fixed >= 0 && fixed <= INT32_MAX &&
				    sp->size != DWARFREAD_VARIABLE) {
					a->sib_at = (int32_t)fixed;
					a->sib_form = sp->form;
					a->sib_size = sp->size;
				}
				a->slots |= 1u << sp->slot;
			}
			if (sp->size == DWARFREAD_VARIABLE || fixed < 0)
				fixed = -1;
			else
				fixed += sp->size;
		}
		a->nattrs = (uint32_t)(t->nspecs - a->first);
		a->fixed = fixed > INT32_MAX ? -1 : (int32_t)fixed;
		if (t->n > 1 && code <= t->ab[t->n - 2].code)
			sorted = false;
		maxcode = code > maxcode ? code : maxcode;
		if (stop)
			break;
	}
	t->sorted = sorted;
	/* Codes are nearly always 1..n: index them directly. */
	if (t->n && maxcode <= 4 * t->n + 1024) {
		if (grow((void **)&t->index, &t->cindex, (size_t)maxcode + 1, sizeof(*t->index)))
			return -ENOMEM;
		memset(t->index, 0, ((size_t)maxcode + 1) * sizeof(*t->index));
		for (size_t i = t->n; i-- > 0;) /* the first entry of a code wins */
			t->index[t->ab[i].code] = (uint32_t)i + 1;
		t->nindex = (size_t)maxcode + 1;
	} else if (!sorted) {
		return -ENOEXEC; /* sparse and unordered: not what any compiler writes */
	}
	return 0;
}

static const struct abbrev *find_abbrev(const struct dwarfread_abbrevs *t, uint64_t code)
{
	size_t lo = 0, hi;

	if (code < t->nindex)
		return t->index[code] ? &t->ab[t->index[code] - 1] : NULL;
	if (t->nindex)
		return NULL;
	hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->ab[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->n && t->ab[lo].code == code ? &t->ab[lo] : NULL;
}

static void abbrevs_free(struct dwarfread_abbrevs *t)
{
	if (!t)
		return;
	free(t->ab);
	free(t->specs);
	free(t->index);
}

/*
 * The unit's abbreviation table: one of the two read last, or read again into the one used less
 * recently. Valid until a third unit's table is asked for.
 */
static int unit_abbrevs(struct dwarfread *r, struct dwarfread_unit *u,
			const struct dwarfread_abbrevs **out)
{
	uint64_t key = abbrev_key(u);
	int i, err;

	if (u->abbrev_err)
		return u->abbrev_err;
	for (i = 0; i < 2; i++)
		if (r->valid[i] && r->tab[i].key == key) {
			r->mru = i;
			*out = &r->tab[i];
			return 0;
		}
	i = !r->mru;
	err = read_abbrevs(r, u, &r->tab[i], 0);
	r->valid[i] = !err;
	if (err) {
		u->abbrev_err = err;
		return err;
	}
	r->mru = i;
	*out = &r->tab[i];
	return 0;
}

/*
 * Reads (or skips) a value of variable size: ULEB128 and SLEB128 values as they are, strings and
 * blocks as their offset from `base` (where the string starts, where the block's bytes start).
 */
static uint64_t read_variable(struct cursor *c, uint64_t form, const uint8_t *base)
{
	uint64_t v = 0;
	const uint8_t *z;

	switch (form_kind(form)) {
	case FORM_STRING:
		z = memchr(c->p, 0, (size_t)(c->end - c->p));
		if (!z) {
			c->bad = true;
			return 0;
		}
		v = (uint64_t)(c->p - base);
		c->p = z + 1;
		return v;
	case FORM_BLOCK1:
		v = rd_fixed(c, 1);
		break;
	case FORM_BLOCK2:
		v = rd_fixed(c, 2);
		break;
	case FORM_BLOCK4:
		v = rd_fixed(c, 4);
		break;
	case FORM_BLOCK:
		v = rd_uleb(c);
		break;
	case FORM_SDATA:
		return (uint64_t)rd_sleb(c);
	case FORM_ULEB:
		return rd_uleb(c);
	default:
		c->bad = true; /* indirect (resolved by the caller) or unknown */
		return 0;
	}
	skip(c, v);
	return (uint64_t)(c->p - base);
}

/* Reads the abbreviation code of the DIE at `off`: its tag and whether it has children. */
static int read_head(const struct dwarfread *r, const struct dwarfread_unit *u,
		     const struct dwarfread_abbrevs *t, uint64_t off, struct dwarfread_die *die)
{
	const uint8_t *info = r->s[DWARFREAD_INFO].buf;
	struct cursor c = { info + off, info + u->end, false };
	const struct abbrev *a;
	uint64_t code;

	if (off < u->die_off || off >= u->end)
		return -ENOEXEC;
	code = rd_uleb(&c);
	if (c.bad)
		return -ENOEXEC;
	die->off = off;
	die->have = 0;
	die->attrs = (uint64_t)(c.p - info);
	die->abbrev = NULL;
	die->table = t;
	if (!code) {
		die->tag = 0;
		die->children = false;
		die->next = die->attrs;
		return 0;
	}
	a = find_abbrev(t, code);
	if (!a)
		return -ENOEXEC;
	die->abbrev = a;
	die->tag = a->tag;
	die->children = a->children;
	return 0;
}

/* Decodes the attributes of a DIE read by read_head, keeping the slots in `want`. */
static int read_attrs(const struct dwarfread *r, const struct dwarfread_unit *u,
		      const struct dwarfread_abbrevs *t, struct dwarfread_die *die, uint32_t want)
{
	const uint8_t *info = r->s[DWARFREAD_INFO].buf;
	struct cursor c = { info + die->attrs, info + u->end, false };
	const struct abbrev *a = die->abbrev;

	if (!a)
		return 0; /* the null entry */
	want &= a->slots;
	if (a->fixed >= 0 && !(want & ~(1u << DWARFREAD_AT_SIBLING))) {
		/* Skipped whole: only its size, and where its sibling is, are needed. */
		if ((want & 1u) && a->sib_at >= 0) {
			/* The DIE may end (hostile) before its abbreviation says: checked first. */
			struct cursor sc = { c.p + (a->sib_at < c.end - c.p ? a->sib_at : 0), c.end,
					     a->sib_at >= c.end - c.p };

			die->at[DWARFREAD_AT_SIBLING] =
			    (struct dwarfread_val){ a->sib_form, rd_fixed(&sc, a->sib_size) };
			if (sc.bad)
				return -ENOEXEC;
			die->have = 1u;
		} else if (want & 1u) {
			goto slow;
		}
		skip(&c, (uint64_t)a->fixed);
		die->next = (uint64_t)(c.p - info);
		return c.bad ? -ENOEXEC : 0;
	}
slow:
	for (uint32_t i = 0; i < a->nattrs; i++) {
		const struct aspec *sp = &t->specs[a->first + i];
		uint64_t form = sp->form, v = 0;
		uint8_t n;

		if (form == DW_FORM_indirect) {
			form = rd_uleb(&c);
			/* An indirect form naming another indirect one is refused (no loop). */
			if (form == DW_FORM_indirect || form == DW_FORM_implicit_const ||
			    (form_size(u, form) == DWARFREAD_VARIABLE && !known_form(form)))
				return -ENOEXEC;
		} else if (sp->size != DWARFREAD_VARIABLE &&
			   (sp->slot == DWARFREAD_NO_SLOT || !(want & (1u << sp->slot)))) {
			skip(&c, sp->size); /* not wanted and of fixed size: not decoded */
			continue;
		}
		n = form == sp->form ? sp->size : form_size(u, form);
		if (form == DW_FORM_implicit_const) {
			v = (uint64_t)sp->implicit;
		} else if (n != DWARFREAD_VARIABLE) {
			/* Fixed forms; 16-byte ones (data16) are only skipped. */
			if (n > 8)
				skip(&c, n);
			else
				v = rd_fixed(&c, n);
		} else {
			v = read_variable(&c, form, info);
			if (c.bad)
				return -ENOEXEC;
		}
		if (sp->slot != DWARFREAD_NO_SLOT && (want & (1u << sp->slot)) &&
		    !(die->have & (1u << sp->slot))) {
			die->have |= 1u << sp->slot;
			die->at[sp->slot] = (struct dwarfread_val){ (uint16_t)form, v };
		}
	}
	if (c.bad)
		return -ENOEXEC;
	die->next = (uint64_t)(c.p - info);
	return 0;
}

/* Decodes the DIE at `off` with the abbreviations `t`, keeping the slots in `want`. */
static int read_die(const struct dwarfread *r, const struct dwarfread_unit *u,
		    const struct dwarfread_abbrevs *t, uint64_t off, struct dwarfread_die *die,
		    uint32_t want)
{
	int err = read_head(r, u, t, off, die);

	return err ? err : read_attrs(r, u, t, die, want);
}

int dwarfread__die_head(struct dwarfread *r, struct dwarfread_unit *u, uint64_t off,
			struct dwarfread_die *die)
{
	const struct dwarfread_abbrevs *t;
	int err = unit_abbrevs(r, u, &t);

	return err ? err : read_head(r, u, t, off, die);
}

int dwarfread__die_attrs(struct dwarfread *r, struct dwarfread_unit *u, struct dwarfread_die *die,
			 uint32_t want)
{
	/* die->abbrev points into die->table: the table stays while no third unit's is read. */
	return read_attrs(r, u, die->table, die, want);
}

int dwarfread__die(struct dwarfread *r, struct dwarfread_unit *u, uint64_t off,
		   struct dwarfread_die *die)
{
	const struct dwarfread_abbrevs *t;
	int err = unit_abbrevs(r, u, &t);

	return err ? err : read_die(r, u, t, off, die, DWARFREAD_ALL);
}

/* A CU-relative or section-relative reference, checked to land on a DIE of the unit `u`. */
static bool ref_in_unit(const struct dwarfread_unit *u, uint64_t off)
{
	return off >= u->die_off && off < u->end;
}

uint64_t dwarfread__sibling(struct dwarfread *r, struct dwarfread_unit *u,
			    const struct dwarfread_die *die)
{
	struct dwarfread_die d;
	uint64_t pos = die->next;
	size_t level;

	if (die->have & (1u << DWARFREAD_AT_SIBLING)) {
		const struct dwarfread_val *a = &die->at[DWARFREAD_AT_SIBLING];
		uint64_t to = a->form == DW_FORM_ref_addr ? a->v : u->off + a->v;

		/* As libdw: forward and inside the unit, else the list ends here. */
		return to > die->off && ref_in_unit(u, to) && to >= u->off ? to : 0;
	}
	if (!die->children)
		return pos < u->end ? pos : 0;
	/* Past the children without a sibling link: a loop with a level count, no recursion. */
	for (level = 1; level;) {
		if (pos >= u->end || dwarfread__die_head(r, u, pos, &d) ||
		    dwarfread__die_attrs(r, u, &d, 1u << DWARFREAD_AT_SIBLING))
			return 0;
		if (!d.tag) {
			level--;
			pos = d.next;
		} else if (d.have & (1u << DWARFREAD_AT_SIBLING)) {
			pos = dwarfread__sibling(r, u, &d); /* one level: it has a link */
			if (!pos)
				return 0;
		} else {
			level += d.children;
			pos = d.next;
		}
	}
	return pos < u->end ? pos : 0;
}

static struct dwarfread_unit *unit_at(struct dwarfread *r, uint64_t off)
{
	size_t lo = 0, hi = r->nunits;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->units[mid].end <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->nunits && r->units[lo].off <= off ? &r->units[lo] : NULL;
}

int dwarfread__ref(struct dwarfread *r, struct dwarfread_unit *u, const struct dwarfread_val *a,
		   struct dwarfread_unit **tu, uint64_t *off)
{
	uint64_t to;

	switch (a->form) {
	case DW_FORM_ref1:
	case DW_FORM_ref2:
	case DW_FORM_ref4:
	case DW_FORM_ref8:
	case DW_FORM_ref_udata:
		if (a->v >= u->end - u->off)
			return -ENOEXEC;
		to = u->off + a->v;
		if (!ref_in_unit(u, to))
			return -ENOEXEC;
		*tu = u;
		*off = to;
		return 0;
	case DW_FORM_ref_addr:
		*tu = unit_at(r, a->v);
		if (!*tu || !ref_in_unit(*tu, a->v))
			return -ENOEXEC;
		*off = a->v;
		return 0;
	default:
		return -ENOEXEC;
	}
}

static const char *str_at(const struct dwarfread_section *s, uint64_t off)
{
	return s->buf && off < s->size ? (const char *)s->buf + off : NULL;
}

/* Reads an offset of off_size bytes at `at` in section `s`. */
static bool sec_offset_at(const struct dwarfread_section *s, uint64_t at, unsigned int size,
			  uint64_t *v)
{
	struct cursor c;

	if (!s->buf || at >= s->size)
		return false;
	c = (struct cursor){ s->buf + at, s->buf + s->size, false };
	*v = rd_fixed(&c, size);
	return !c.bad;
}

const char *dwarfread__string(struct dwarfread *r, const struct dwarfread_unit *u,
			      const struct dwarfread_val *a)
{
	uint64_t off;

	switch (a->form) {
	case DW_FORM_string:
		return str_at(&r->s[DWARFREAD_INFO], a->v);
	case DW_FORM_strp:
		return str_at(&r->s[DWARFREAD_STR], a->v);
	case DW_FORM_line_strp:
		return str_at(&r->s[DWARFREAD_LINE_STR], a->v);
	case DW_FORM_strx:
	case DW_FORM_strx1:
	case DW_FORM_strx2:
	case DW_FORM_strx3:
	case DW_FORM_strx4:
	case DW_FORM_GNU_str_index:
		if (a->v > (UINT64_MAX - u->str_offsets_base) / u->off_size ||
		    !sec_offset_at(&r->s[DWARFREAD_STR_OFFSETS],
				   u->str_offsets_base + a->v * u->off_size, u->off_size, &off))
			return NULL;
		return str_at(&r->s[DWARFREAD_STR], off);
	default:
		return NULL;
	}
}

int dwarfread__udata(const struct dwarfread_unit *u, const struct dwarfread_val *a, uint64_t *v)
{
	(void)u;
	switch (a->form) {
	case DW_FORM_data1:
	case DW_FORM_data2:
	case DW_FORM_data4:
	case DW_FORM_data8:
	case DW_FORM_udata:
	case DW_FORM_sdata:
	case DW_FORM_implicit_const:
		*v = a->v;
		return 0;
	default:
		return -ENOEXEC;
	}
}

/* As dwarf_formaddr: DW_FORM_addr, or an index into .debug_addr. */
static int form_addr(struct dwarfread *r, const struct dwarfread_unit *u,
		     const struct dwarfread_val *a, uint64_t *v)
{
	switch (a->form) {
	case DW_FORM_addr:
		*v = a->v;
		return 0;
	case DW_FORM_addrx:
	case DW_FORM_addrx1:
	case DW_FORM_addrx2:
	case DW_FORM_addrx3:
	case DW_FORM_addrx4:
	case DW_FORM_GNU_addr_index:
		if (!u->addr_size || a->v > (UINT64_MAX - u->addr_base) / u->addr_size ||
		    !sec_offset_at(&r->s[DWARFREAD_ADDR], u->addr_base + a->v * u->addr_size,
				   u->addr_size, v))
			return -ENOEXEC;
		return 0;
	default:
		return -ENOEXEC;
	}
}

/* As dwarf_lowpc and dwarf_highpc together: 0 when the DIE has both. */
static int low_high(struct dwarfread *r, const struct dwarfread_unit *u,
		    const struct dwarfread_die *die, uint64_t *lo, uint64_t *hi)
{
	uint64_t off;

	if ((die->have & (3u << DWARFREAD_AT_LOW_PC)) != (3u << DWARFREAD_AT_LOW_PC) ||
	    form_addr(r, u, &die->at[DWARFREAD_AT_LOW_PC], lo))
		return -1;
	if (!form_addr(r, u, &die->at[DWARFREAD_AT_HIGH_PC], hi))
		return 0;
	/* DWARF 4: high_pc as a constant is an offset from low_pc. */
	if (dwarfread__udata(u, &die->at[DWARFREAD_AT_HIGH_PC], &off))
		return -1;
	*hi = *lo + off;
	return 0;
}

int dwarfread__ranges(struct dwarfread *r, struct dwarfread_unit *u,
		      const struct dwarfread_die *die, dwarfread_range_fn fn, void *ctx)
{
	const struct dwarfread_val *a = &die->at[DWARFREAD_AT_RANGES];
	const struct dwarfread_section *s;
	uint64_t lo, hi, base = u->base_addr, off;
	struct cursor c;

	if (!low_high(r, u, die, &lo, &hi))
		return fn(ctx, lo, hi);
	if (!(die->have & (1u << DWARFREAD_AT_RANGES)))
		return 0;
	s = &r->s[u->version < 5 ? DWARFREAD_RANGES : DWARFREAD_RNGLISTS];
	if (!s->buf)
		return -ENOEXEC;
	if (a->form == DW_FORM_rnglistx) {
		uint64_t rb = u->rnglists_base;

		if (u->off_size > s->size || rb > s->size - u->off_size ||
		    a->v > (s->size - u->off_size - rb) / u->off_size ||
		    !sec_offset_at(s, rb + a->v * u->off_size, u->off_size, &off))
			return -ENOEXEC;
		off += rb;
	} else if (a->form == DW_FORM_sec_offset ||
		   (u->version < 4 && (a->form == DW_FORM_data4 || a->form == DW_FORM_data8))) {
		off = a->v;
	} else {
		return -ENOEXEC;
	}
	if (off >= s->size)
		return -ENOEXEC;
	c = (struct cursor){ s->buf + off, s->buf + s->size, false };
	for (;;) {
		int err;

		if (u->version < 5) {
			uint64_t b = rd_fixed(&c, u->addr_size), e = rd_fixed(&c, u->addr_size);
			uint64_t escape = u->addr_size == 8 ? UINT64_MAX : UINT32_MAX;

			if (c.bad)
				return -ENOEXEC;
			if (b == escape) {
				base = e;
				continue;
			}
			if (!b && !e)
				return 0;
			lo = base + b;
			hi = base + e;
		} else {
			uint8_t kind;
			struct dwarfread_val x = { DW_FORM_addrx, 0 }, y = { DW_FORM_addrx, 0 };

			if (c.p >= c.end)
				return -ENOEXEC;
			kind = *c.p++;
			switch (kind) {
			case DW_RLE_end_of_list:
				return 0;
			case DW_RLE_base_addressx:
				x.v = rd_uleb(&c);
				if (c.bad || form_addr(r, u, &x, &base))
					return -ENOEXEC;
				continue;
			case DW_RLE_startx_endx:
				x.v = rd_uleb(&c);
				y.v = rd_uleb(&c);
				if (c.bad || form_addr(r, u, &x, &lo) || form_addr(r, u, &y, &hi))
					return -ENOEXEC;
				break;
			case DW_RLE_startx_length:
				x.v = rd_uleb(&c);
				hi = rd_uleb(&c);
				if (c.bad || form_addr(r, u, &x, &lo))
					return -ENOEXEC;
				hi += lo;
				break;
			case DW_RLE_offset_pair:
				lo = base + rd_uleb(&c);
				hi = base + rd_uleb(&c);
				break;
			case DW_RLE_base_address:
				base = rd_fixed(&c, u->addr_size);
				if (c.bad)
					return -ENOEXEC;
				continue;
			case DW_RLE_start_end:
				lo = rd_fixed(&c, u->addr_size);
				hi = rd_fixed(&c, u->addr_size);
				break;
			case DW_RLE_start_length:
				lo = rd_fixed(&c, u->addr_size);
				hi = lo + rd_uleb(&c);
				break;
			default:
				return -ENOEXEC;
			}
			if (c.bad)
				return -ENOEXEC;
		}
		err = fn(ctx, lo, hi);
		if (err)
			return err;
	}
}

int dwarfread__unit_die(struct dwarfread *r, struct dwarfread_unit *u, struct dwarfread_die *die)
{
	const uint8_t *info = r->s[DWARFREAD_INFO].buf;
	struct cursor c = { info + u->die_off, info + u->end, false };
	uint64_t code = rd_uleb(&c);

	/* Only the entry of the unit DIE's code is read here (the whole table when the unit is). */
	for (int i = 0; i < 2; i++)
		if (r->valid[i] && r->tab[i].key == abbrev_key(u))
			return read_die(r, u, &r->tab[i], u->die_off, die, DWARFREAD_ALL);
	if (c.bad || !code || read_abbrevs(r, u, &r->scratch, code))
		return -ENOEXEC;
	return read_die(r, u, &r->scratch, u->die_off, die, DWARFREAD_ALL);
}

int dwarfread__unit_ranges(struct dwarfread *r, struct dwarfread_unit *u, dwarfread_range_fn fn,
			   void *ctx)
{
	struct dwarfread_die die;

	die.have = u->pc_have;
	die.at[DWARFREAD_AT_LOW_PC] = u->pc[0];
	die.at[DWARFREAD_AT_HIGH_PC] = u->pc[1];
	die.at[DWARFREAD_AT_RANGES] = u->pc[2];
	return dwarfread__ranges(r, u, &die, fn, ctx);
}

/* The attributes of the unit DIE that reading the rest of the unit needs. */
static void read_unit_die(struct dwarfread *r, struct dwarfread_unit *u)
{
	struct dwarfread_die die;
	uint64_t v;

	/* Defaults as libdw's when the attributes are absent: past the section headers. */
	if (u->version >= 5) {
		u->str_offsets_base = u->off_size == 8 ? 16 : 8;
		u->addr_base = u->off_size == 8 ? 16 : 8;
		u->rnglists_base = u->off_size == 8 ? 20 : 12;
	}
	if (dwarfread__unit_die(r, u, &die))
		return;
	/* Kept for dwarfread__unit_ranges: units are listed by their ranges. */
	u->pc_have = die.have & (1u << DWARFREAD_AT_LOW_PC | 1u << DWARFREAD_AT_HIGH_PC |
				 1u << DWARFREAD_AT_RANGES);
	u->pc[0] = die.at[DWARFREAD_AT_LOW_PC];
	u->pc[1] = die.at[DWARFREAD_AT_HIGH_PC];
	u->pc[2] = die.at[DWARFREAD_AT_RANGES];
	if (u->version < 5 && die.tag == DW_TAG_partial_unit)
		u->unit_type = DW_UT_partial;
	else if (u->version < 5 && die.tag != DW_TAG_compile_unit)
		u->unit_type = DW_UT_type; /* nothing ember reads */
	if ((die.have & (1u << DWARFREAD_AT_STR_OFFSETS_BASE)) &&
	    die.at[DWARFREAD_AT_STR_OFFSETS_BASE].form == DW_FORM_sec_offset)
		u->str_offsets_base = die.at[DWARFREAD_AT_STR_OFFSETS_BASE].v;
	if ((die.have & (1u << DWARFREAD_AT_ADDR_BASE)) &&
	    die.at[DWARFREAD_AT_ADDR_BASE].form == DW_FORM_sec_offset)
		u->addr_base = die.at[DWARFREAD_AT_ADDR_BASE].v;
	if ((die.have & (1u << DWARFREAD_AT_RNGLISTS_BASE)) &&
	    die.at[DWARFREAD_AT_RNGLISTS_BASE].form == DW_FORM_sec_offset)
		u->rnglists_base = die.at[DWARFREAD_AT_RNGLISTS_BASE].v;
	if (die.have & (1u << DWARFREAD_AT_STMT_LIST)) {
		const struct dwarfread_val *a = &die.at[DWARFREAD_AT_STMT_LIST];

		if (a->form == DW_FORM_sec_offset || a->form == DW_FORM_data4 ||
		    a->form == DW_FORM_data8) {
			u->stmt_list = a->v;
			u->has_stmt_list = true;
		}
	}
	if (die.have & (1u << DWARFREAD_AT_COMP_DIR))
		u->comp_dir = dwarfread__string(r, u, &die.at[DWARFREAD_AT_COMP_DIR]);
	/* As __libdw_cu_base_address: low_pc, else entry_pc, else 0. */
	if (!(die.have & (1u << DWARFREAD_AT_LOW_PC)) ||
	    form_addr(r, u, &die.at[DWARFREAD_AT_LOW_PC], &v)) {
		if (!(die.have & (1u << DWARFREAD_AT_ENTRY_PC)) ||
		    form_addr(r, u, &die.at[DWARFREAD_AT_ENTRY_PC], &v))
			v = 0;
	}
	u->base_addr = v;
}

/* Reads the unit header at `off`; false when it does not parse (the listing stops there). */
static bool read_unit_header(const struct dwarfread *r, uint64_t off, struct dwarfread_unit *u)
{
	const struct dwarfread_section *s = &r->s[DWARFREAD_INFO];
	struct cursor c = { s->buf + off, s->buf + s->size, false };
	uint64_t len = rd_fixed(&c, 4);

	memset(u, 0, sizeof(*u));
	u->off = off;
	u->off_size = 4;
	if (len == 0xffffffff) {
		len = rd_fixed(&c, 8);
		u->off_size = 8;
	} else if (len >= 0xfffffff0) {
		return false;
	}
	if (c.bad || len > (uint64_t)(c.end - c.p) || len < 2)
		return false;
	u->end = (uint64_t)(c.p - s->buf) + len;
	c.end = s->buf + u->end;
	u->version = (uint8_t)rd_fixed(&c, 2);
	if (u->version < 2 || u->version > 5)
		return false;
	if (u->version >= 5) {
		u->unit_type = (uint8_t)rd_fixed(&c, 1);
		u->addr_size = (uint8_t)rd_fixed(&c, 1);
		u->abbrev_off = rd_fixed(&c, u->off_size);
		switch (u->unit_type) {
		case DW_UT_skeleton:
		case DW_UT_split_compile:
			skip(&c, 8);
			break;
		case DW_UT_type:
		case DW_UT_split_type:
			skip(&c, 8 + u->off_size);
			break;
		default:
			break;
		}
	} else {
		u->unit_type = DW_UT_compile;
		u->abbrev_off = rd_fixed(&c, u->off_size);
		u->addr_size = (uint8_t)rd_fixed(&c, 1);
	}
	if (c.bad || (u->addr_size != 4 && u->addr_size != 8))
		return false;
	u->die_off = (uint64_t)(c.p - s->buf);
	return u->die_off < u->end;
}

struct dwarfread *dwarfread__new(const struct dwarfread_section secs[DWARFREAD_NSECS])
{
	struct dwarfread *r;
	uint64_t off = 0;

	if (!secs[DWARFREAD_INFO].buf || !secs[DWARFREAD_INFO].size) {
		errno = ENODATA;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	memcpy(r->s, secs, sizeof(r->s));
	/* The names of the standard attributes ember reads are below 0x80; vendor ones from 0x2000.
	 */
	for (unsigned int a = 0; a < 0x80; a++)
		r->slot[a] = attr_slot(a);
	while (off < r->s[DWARFREAD_INFO].size) {
		struct dwarfread_unit u;

		if (!read_unit_header(r, off, &u))
			break;
		if (grow((void **)&r->units, &r->cunits, r->nunits + 1, sizeof(*r->units))) {
			dwarfread__free(r);
			errno = ENOMEM;
			return NULL;
		}
		read_unit_die(r, &u);
		r->units[r->nunits++] = u;
		off = u.end;
	}
	return r;
}

/* The bytes of one table's vectors. */
static size_t abbrevs_bytes(const struct dwarfread_abbrevs *t)
{
	return t->cap * sizeof(*t->ab) + t->cspecs * sizeof(*t->specs) +
	       t->cindex * sizeof(*t->index);
}

size_t dwarfread__bytes(const struct dwarfread *r)
{
	return r ? sizeof(*r) + r->cunits * sizeof(*r->units) + abbrevs_bytes(&r->tab[0]) +
		       abbrevs_bytes(&r->tab[1]) + abbrevs_bytes(&r->scratch)
		 : 0;
}

size_t dwarfread_lines_bytes(const struct dwarfread_lines *l)
{
	return l->crows * sizeof(*l->rows) + l->cfiles * sizeof(*l->files) +
	       l->ctmp * sizeof(*l->tmp);
}

size_t dwarfread__nunits(const struct dwarfread *r)
{
	return r->nunits;
}

struct dwarfread_unit *dwarfread__unit(struct dwarfread *r, size_t i)
{
	return &r->units[i];
}

void dwarfread__free(struct dwarfread *r)
{
	if (!r)
		return;
	abbrevs_free(&r->tab[0]);
	abbrevs_free(&r->tab[1]);
	abbrevs_free(&r->scratch);
	free(r->units);
	free(r);
}

/* ---- line programs ---- */

struct line_header {
	const uint8_t *prog, *end; /* the program */
	uint8_t version, min_len, max_ops, default_stmt, line_range, opcode_base;
	int8_t line_base;
	const uint8_t *std_len; /* std_len[op] for 1 <= op < opcode_base */
};

static int add_file(struct dwarfread_lines *l, const char *dir, const char *name)
{
	if (grow((void **)&l->files, &l->cfiles, l->nfiles + 1, sizeof(*l->files)))
		return -ENOMEM;
	/* libdw joins dir and name unless the name is absolute. */
	l->files[l->nfiles++] = (struct dwarfread_file){ name[0] == '/' ? NULL : dir, name };
	return 0;
}

/* A DWARF 5 directory or file entry's string (the forms GCC and clang write for paths). */
static const char *entry_string(struct dwarfread *r, uint64_t form, struct cursor *c,
				unsigned int off_size)
{
	const uint8_t *z;
	const char *s;

	switch (form) {
	case DW_FORM_string:
		z = memchr(c->p, 0, (size_t)(c->end - c->p));
		if (!z) {
			c->bad = true;
			return NULL;
		}
		s = (const char *)c->p;
		c->p = z + 1;
		return s;
	case DW_FORM_line_strp:
		return str_at(&r->s[DWARFREAD_LINE_STR], rd_fixed(c, off_size));
	case DW_FORM_strp:
		return str_at(&r->s[DWARFREAD_STR], rd_fixed(c, off_size));
	default:
		c->bad = true;
		return NULL;
	}
}

/* Skips a DWARF 5 entry field of a form that is neither a path nor an index. */
static void skip_form(const struct dwarfread_unit *u, uint64_t form, unsigned int off_size,
		      struct cursor *c)
{
	uint8_t n = form_size(u, form);

	/* Offsets in these entries are as long as the line table's, not the unit's. */
	if (form == DW_FORM_line_strp || form == DW_FORM_strp || form == DW_FORM_sec_offset)
		skip(c, off_size);
	else if (n != DWARFREAD_VARIABLE)
		skip(c, n);
	else
		read_variable(c, form, c->p);
}

/* A DWARF 5 directory list, or with `files` the file list (each with its directory index). */
static int read_entries5(struct dwarfread *r, const struct dwarfread_unit *u, struct cursor *c,
			 unsigned int off_size, bool files, const char ***dirs, size_t *ndirs,
			 size_t *cdirs, struct dwarfread_lines *l)
{
	uint64_t forms[256], descs[256], n;
	uint8_t nforms;
	int path = -1, idx = -1;

	if (c->p >= c->end)
		return -ENOEXEC;
	nforms = *c->p++;
	for (int i = 0; i < nforms; i++) {
		descs[i] = rd_uleb(c);
		forms[i] = rd_uleb(c);
		if (descs[i] == DW_LNCT_path)
			path = i;
		else if (files && descs[i] == DW_LNCT_directory_index)
			idx = i;
	}
	n = rd_uleb(c);
	if (c->bad || (nforms && (path < 0 || (files && idx < 0))) || (!nforms && n) ||
	    (nforms && n > (uint64_t)(c->end - c->p) / nforms))
		return -ENOEXEC;
	for (uint64_t k = 0; k < n; k++) {
		const char *s = NULL;
		uint64_t dir = UINT64_MAX;

		for (int i = 0; i < nforms; i++) {
			if (i == path) {
				s = entry_string(r, forms[i], c, off_size);
			} else if (i == idx) {
				switch (forms[i]) {
				case DW_FORM_data1:
					dir = rd_fixed(c, 1);
					break;
				case DW_FORM_data2:
					dir = rd_fixed(c, 2);
					break;
				case DW_FORM_data4:
					dir = rd_fixed(c, 4);
					break;
				case DW_FORM_data8:
					dir = rd_fixed(c, 8);
					break;
				case DW_FORM_udata:
					dir = rd_uleb(c);
					break;
				default:
					return -ENOEXEC;
				}
			} else {
				skip_form(u, forms[i], off_size, c);
			}
			if (c->bad)
				return -ENOEXEC;
		}
		if (!s)
			return -ENOEXEC;
		if (!files) {
			if (grow((void **)dirs, cdirs, *ndirs + 1, sizeof(**dirs)))
				return -ENOMEM;
			(*dirs)[(*ndirs)++] = s;
			continue;
		}
		if (dir >= *ndirs)
			return -ENOEXEC;
		/* Entry 0 is the unit's primary file, in DWARF 5 as listed (libdw's "???" only
		 * stands for it in earlier versions). */
		if (add_file(l, (*dirs)[dir], s))
			return -ENOMEM;
	}
	return 0;
}

static int read_line_header(struct dwarfread *r, const struct dwarfread_unit *u, struct cursor *c,
			    struct line_header *h, struct dwarfread_lines *l, const char ***dirs,
			    size_t *ndirsp, size_t *cdirs)
{
	uint64_t len = rd_fixed(c, 4), hlen;
	unsigned int off_size = 4;
	const uint8_t *hstart;
	size_t ndirs = 0;
	int err;

	if (len == 0xffffffff) {
		len = rd_fixed(c, 8);
		off_size = 8;
	}
	if (c->bad || len > (uint64_t)(c->end - c->p))
		return -ENOEXEC;
	c->end = c->p + len;
	h->end = c->end;
	h->version = (uint8_t)rd_fixed(c, 2);
	if (c->bad || h->version < 2 || h->version > 5)
		return -ENOEXEC;
	if (h->version >= 5) {
		uint8_t asz = (uint8_t)rd_fixed(c, 1), seg = (uint8_t)rd_fixed(c, 1);

		if (asz != u->addr_size || seg)
			return -ENOEXEC;
	}
	hlen = rd_fixed(c, off_size);
	hstart = c->p;
	if (c->bad || hlen > (uint64_t)(c->end - c->p))
		return -ENOEXEC;
	h->prog = hstart + hlen;
	h->min_len = (uint8_t)rd_fixed(c, 1);
	h->max_ops = h->version >= 4 ? (uint8_t)rd_fixed(c, 1) : 1;
	h->default_stmt = (uint8_t)rd_fixed(c, 1);
	h->line_base = (int8_t)rd_fixed(c, 1);
	h->line_range = (uint8_t)rd_fixed(c, 1);
	h->opcode_base = (uint8_t)rd_fixed(c, 1);
	if (c->bad || !h->max_ops || !h->opcode_base)
		return -ENOEXEC;
	h->std_len = c->p - 1;
	skip(c, h->opcode_base - 1u);
	/* The file information ends where the header says. */
	c->end = h->prog;
	if (c->bad)
		return -ENOEXEC;
	if (h->version < 5) {
		/* Directory 0 is the unit's compilation directory; file 0 is libdw's "???". */
		if (grow((void **)dirs, cdirs, 1, sizeof(**dirs)))
			return -ENOMEM;
		(*dirs)[ndirs++] = u->comp_dir;
		while (c->p < c->end && *c->p) {
			const char *s = entry_string(r, DW_FORM_string, c, off_size);

			if (!s)
				return -ENOEXEC;
			if (grow((void **)dirs, cdirs, ndirs + 1, sizeof(**dirs)))
				return -ENOMEM;
			(*dirs)[ndirs++] = s;
		}
		if (c->p >= c->end)
			return -ENOEXEC;
		c->p++;
		if (grow((void **)&l->files, &l->cfiles, 1, sizeof(*l->files)))
			return -ENOMEM;
		l->files[l->nfiles++] = (struct dwarfread_file){ NULL, "???" };
		while (c->p < c->end && *c->p) {
			const char *s = entry_string(r, DW_FORM_string, c, off_size);
			uint64_t dir = rd_uleb(c);

			rd_uleb(c); /* mtime */
			rd_uleb(c); /* length */
			if (c->bad || !s || dir >= ndirs)
				return -ENOEXEC;
			if (add_file(l, (*dirs)[dir], s))
				return -ENOMEM;
		}
		if (c->p >= c->end)
			return -ENOEXEC;
		c->p++;
	} else {
		err = read_entries5(r, u, c, off_size, false, dirs, &ndirs, cdirs, l);
		if (!err)
			err = read_entries5(r, u, c, off_size, true, dirs, &ndirs, cdirs, l);
		if (err)
			return err;
	}
	/* As libdw: 4 bytes left (NVIDIA's CUBIN string offset) are allowed. */
	if (c->p != c->end && c->p != c->end - 4)
		return -ENOEXEC;
	*ndirsp = ndirs; /* the directories stay for DW_LNE_define_file */
	return 0;
}

static int cmp_row(const void *a, const void *b)
{
	const struct dwarfread_row *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* As libdw: an end of sequence before a row at its address, else in program order (the
	 * program order index rides in `file`'s place in tmp: see sort_rows). */
	if (x->end != y->end)
		return x->end ? -1 : 1;
	return 0;
}

/* A stable sort of the rows by cmp_row (glibc's qsort is a merge sort, but not promised). */
static int sort_rows(struct dwarfread_lines *l)
{
	struct dwarfread_row *a = l->rows, *b;
	size_t n = l->nrows;

	if (grow((void **)&l->tmp, &l->ctmp, n, sizeof(*l->tmp)))
		return -ENOMEM;
	b = l->tmp;
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t i = lo, j = mid, k = lo;

			while (i < mid && j < hi)
				b[k++] = cmp_row(&a[j], &a[i]) < 0 ? a[j++] : a[i++];
			while (i < mid)
				b[k++] = a[i++];
			while (j < hi)
				b[k++] = a[j++];
		}
		{
			struct dwarfread_row *t = a;

			a = b;
			b = t;
		}
	}
	if (a != l->rows) {
		l->tmp = l->rows;
		l->rows = a;
		{
			size_t t = l->ctmp;

			l->ctmp = l->crows;
			l->crows = t;
		}
	}
	return 0;
}

/*
 * The line and address advance of each special opcode under the header's parameters (the same in
 * every unit a compiler writes): the division per row was a tenth of reading a program. (With a
 * zero line_range every special opcode is invalid: the reader checks.)
 */
static void special_opcodes(struct dwarfread *r, const struct line_header *h)
{
	uint32_t key = 1u << 24 | (uint32_t)h->opcode_base << 16 |
		       (uint32_t)(uint8_t)h->line_base << 8 | h->line_range;

	if (r->special_key == key)
		return;
	for (unsigned int op = h->opcode_base; op < 256; op++) {
		r->special_line[op] =
		    (int16_t)(h->line_range
				  ? h->line_base + (int)((op - h->opcode_base) % h->line_range)
				  : 0);
		r->special_adv[op] = h->line_range ? (op - h->opcode_base) / h->line_range : 0;
	}
	r->special_key = key;
}

int dwarfread__lines(struct dwarfread *r, struct dwarfread_unit *u, struct dwarfread_lines *l)
{
	const struct dwarfread_section *s = &r->s[DWARFREAD_LINE];
	const char **dirs = NULL;
	size_t cdirs = 0, ndirs = 0;
	struct line_header h;
	struct cursor c;
	uint64_t addr = 0;
	uint32_t op_index = 0, file = 1;
	int64_t line = 1;
	bool sorted = true;
	int err;

	l->nrows = l->nfiles = 0;
	if (!u->has_stmt_list)
		return 0;
	if (!s->buf || u->stmt_list >= s->size)
		return -ENOEXEC;
	c = (struct cursor){ s->buf + u->stmt_list, s->buf + s->size, false };
	err = read_line_header(r, u, &c, &h, l, &dirs, &ndirs, &cdirs);
	if (err)
		goto fail;
	err = -ENOEXEC;
	special_opcodes(r, &h);
	c = (struct cursor){ h.prog, h.end, false };
	/* Every row takes at least one byte of the program: no growing row by row. */
	if (grow((void **)&l->rows, &l->crows, (size_t)(h.end - h.prog) + 1, sizeof(*l->rows))) {
		err = -ENOMEM;
		goto fail;
	}
	while (c.p < c.end) {
		uint8_t op = *c.p++;
		bool row = false, end = false;
		uint64_t adv = UINT64_MAX;

		if (op >= h.opcode_base) {
			/* special_opcodes made the table for this header's parameters. */
			if (!h.line_range)
				goto fail;
			line += r->special_line[op];
			adv = r->special_adv[op];
			row = true;
		} else if (op == 0) {
			uint8_t len, sub;

			/* libdw reads the length as one byte, not ULEB128: so do we. */
			if (c.end - c.p < 2)
				goto fail;
			len = *c.p++;
			if ((size_t)(c.end - c.p) < len)
				goto fail;
			sub = *c.p++;
			switch (sub) {
			case DW_LNE_end_sequence:
				row = end = true;
				break;
			case DW_LNE_set_address:
				op_index = 0;
				addr = rd_fixed(&c, u->addr_size);
				break;
			case DW_LNE_define_file: {
				const char *name = entry_string(r, DW_FORM_string, &c, 4);
				uint64_t dir = rd_uleb(&c);

				rd_uleb(&c);
				rd_uleb(&c);
				if (c.bad || !name || dir >= ndirs)
					goto fail;
				if (add_file(l, dirs[dir], name)) {
					err = -ENOMEM;
					goto fail;
				}
				break;
			}
			case DW_LNE_set_discriminator:
				if (h.opcode_base <= 4 || h.std_len[4] != 1)
					goto fail;
				rd_uleb(&c);
				break;
			default:
				skip(&c, len ? len - 1u : 0);
				if (!len)
					goto fail;
				break;
			}
		} else if (op <= DW_LNS_set_isa) {
			static const uint8_t nargs[] = { 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1 };

			if (h.std_len[op] != nargs[op])
				goto fail;
			switch (op) {
			case DW_LNS_copy:
				row = true;
				break;
			case DW_LNS_advance_pc:
				adv = (uint32_t)rd_uleb(&c); /* libdw's unsigned int */
				break;
			case DW_LNS_advance_line:
				line += (int32_t)rd_sleb(&c); /* libdw's int */
				break;
			case DW_LNS_set_file:
				file = (uint32_t)rd_uleb(&c);
				break;
			case DW_LNS_set_column:
			case DW_LNS_set_isa:
				rd_uleb(&c);
				break;
			case DW_LNS_const_add_pc:
				if (!h.line_range)
					goto fail;
				adv = (uint64_t)((255 - h.opcode_base) / h.line_range);
				break;
			case DW_LNS_fixed_advance_pc:
				addr += rd_fixed(&c, 2);
				op_index = 0;
				break;
			default:
				break; /* negate_stmt, basic_block, prologue_end, epilogue_begin */
			}
		} else {
			for (unsigned int n = h.std_len[op]; n > 0; n--)
				rd_uleb(&c);
		}
		if (c.bad)
			goto fail;
		if (adv != UINT64_MAX) {
			/* libdw's unsigned int arithmetic, wrap-arounds included. */
			uint32_t ops = op_index + (uint32_t)adv;

			addr += (uint32_t)(h.min_len * (ops / h.max_ops));
			op_index = ops % h.max_ops;
		}
		if (!row)
			continue;
		if (line < INT32_MIN || line > INT32_MAX)
			goto fail;
		if (l->nrows && sorted) {
			const struct dwarfread_row *p = &l->rows[l->nrows - 1];

			/* In libdw's order already unless the address goes back, or an end of
			 * sequence follows a row at its own address. */
			if (addr < p->addr || (addr == p->addr && end && !p->end))
				sorted = false;
		}
		l->rows[l->nrows++] = (struct dwarfread_row){ addr, (int32_t)line, file, end };
		if (end) {
			addr = 0;
			op_index = 0;
			file = 1;
			line = 1;
		}
	}
	if (!sorted && sort_rows(l)) {
		err = -ENOMEM;
		goto fail;
	}
	/* As libdw: the last row ends a sequence, whatever the program said. */
	if (l->nrows)
		l->rows[l->nrows - 1].end = 1;
	free(dirs);
	return 0;
fail:
	free(dirs);
	l->nrows = l->nfiles = 0;
	return err;
}

void dwarfread_lines_release(struct dwarfread_lines *l)
{
	if (!l)
		return;
	free(l->rows);
	free(l->files);
	free(l->tmp);
	memset(l, 0, sizeof(*l));
}
