// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Structural check of .eh_frame and .eh_frame_hdr (the LSB's "Exception Frames" layout): a first
 * pass records where every CIE and FDE starts, a second checks that each FDE points back at a CIE
 * and that every table entry of the header names an FDE, in order. Every read is bounds-checked.
 */
#include "symbolizer/ehframe.h"

#include <dwarf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Record starts, sorted by construction (the walk goes forward). */
struct records {
	uint64_t *off; /* offset << 1 | is_fde */
	size_t n, cap;
};

/* Each FDE's offset and the offset of the CIE it points at, checked once all starts are known. */
struct fde_ref {
	uint64_t fde, cie;
};

struct fde_refs {
	struct fde_ref *v;
	size_t n, cap;
};

__attribute__((format(printf, 3, 4))) static int bad(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static int add_ref(struct fde_refs *f, uint64_t fde, uint64_t cie)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 256;
		struct fde_ref *n = realloc(f->v, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		f->v = n;
		f->cap = cap;
	}
	f->v[f->n++] = (struct fde_ref){ fde, cie };
	return 0;
}

static int add_record(struct records *r, uint64_t off, bool fde)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		uint64_t *n = realloc(r->off, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->off = n;
		r->cap = cap;
	}
	r->off[r->n++] = off << 1 | fde;
	return 0;
}

/* 1 for an FDE starting at off, 0 for a CIE, -1 for no record there. */
static int record_kind(const struct records *r, uint64_t off)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t o = r->off[mid] >> 1;

		if (o == off)
			return (int)(r->off[mid] & 1);
		if (o < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Checks a CIE's version and that its augmentation string ends inside the record. */
static int check_cie(const uint8_t *p, size_t len, uint64_t off, char *why, size_t wl)
{
	if (len < 2)
		return bad(why, wl, "the CIE at offset %#llx is too short",
			   (unsigned long long)off);
	if (p[0] != 1 && p[0] != 3 && p[0] != 4)
		return bad(why, wl, "the CIE at offset %#llx has version %u",
			   (unsigned long long)off, p[0]);
	if (!memchr(p + 1, 0, len - 1))
		return bad(why, wl, "the CIE at offset %#llx has an unterminated augmentation",
			   (unsigned long long)off);
	return 0;
}

/* First pass: record framing. FDEs' CIE pointers are kept to check once all starts are known. */
static int walk(const uint8_t *eh, size_t n, struct records *r, struct fde_refs *refs, char *why,
		size_t wl)
{
	size_t off = 0;
	int err;

	while (off + 4 <= n) {
		uint64_t len = rd32(eh + off), body, id_pos;
		size_t hdr = 4;

		if (len == 0)
			return 0; /* terminator: the unwinder stops reading here */
		if (len == 0xffffffffu) {
			if (off + 12 > n)
				return bad(why, wl,
					   "a 64-bit length at offset %#zx runs past the "
					   "section",
					   off);
			len = rd64(eh + off + 4);
			hdr = 12;
		}
		if (len < 4 || len > n - off - hdr)
			return bad(why, wl,
				   "the record at offset %#zx claims %llu bytes, past the end of "
				   "the "
				   "section (%zu bytes)",
				   off, (unsigned long long)len, n);
		id_pos = off + hdr;
		body = id_pos + 4;
		if (rd32(eh + id_pos) == 0) {
			err = check_cie(eh + body, len - 4, off, why, wl);
			if (!err)
				err = add_record(r, off, false);
		} else {
			/* The CIE pointer counts back from its own position. */
			if (rd32(eh + id_pos) > id_pos)
				return bad(why, wl,
					   "the FDE at offset %#zx points before the section start",
					   off);
			err = add_record(r, off, true);
			if (!err)
				err = add_ref(refs, off, id_pos - rd32(eh + id_pos));
		}
		if (err)
			return err;
		off += hdr + len;
	}
	return 0; /* fewer than 4 bytes left: padding */
}

static int check_hdr(const uint8_t *hdr, size_t hn, uint64_t hdr_addr, uint64_t eh_addr,
		     size_t eh_len, const struct records *r, char *why, size_t wl)
{
	uint32_t count;
	int64_t prev = INT64_MIN;

	if (hn < 4)
		return bad(why, wl, ".eh_frame_hdr is too short (%zu bytes)", hn);
	if (hdr[0] != 1)
		return bad(why, wl, ".eh_frame_hdr has version %u", hdr[0]);
	/* Only the encodings every linker writes are checked in depth; libdw takes the rest. */
	if (hdr[1] != (DW_EH_PE_pcrel | DW_EH_PE_sdata4) || hdr[2] != DW_EH_PE_udata4 ||
	    hdr[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
		return 0;
	if (hn < 12)
		return bad(why, wl, ".eh_frame_hdr is too short (%zu bytes)", hn);
	if (hdr_addr + 4 + (int64_t)(int32_t)rd32(hdr + 4) != eh_addr)
		return bad(why, wl, ".eh_frame_hdr does not point at .eh_frame");
	count = rd32(hdr + 8);
	if (count > (hn - 12) / 8)
		return bad(why, wl, ".eh_frame_hdr claims %u entries, room for %zu", count,
			   (hn - 12) / 8);
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *e = hdr + 12 + (size_t)i * 8;
		int64_t loc = (int32_t)rd32(e);
		uint64_t fde = hdr_addr + (int64_t)(int32_t)rd32(e + 4) - eh_addr;

		if (loc < prev)
			return bad(why, wl, ".eh_frame_hdr's table is not sorted at entry %u", i);
		prev = loc;
		if (fde >= eh_len || record_kind(r, fde) != 1)
			return bad(why, wl, ".eh_frame_hdr entry %u names no FDE", i);
	}
	return 0;
}

int ehframe_check(const uint8_t *eh, size_t eh_len, uint64_t eh_addr, const uint8_t *hdr,
		  size_t hdr_len, uint64_t hdr_addr, char *why, size_t why_len)
{
	struct records r = { 0 };
	struct fde_refs refs = { 0 };
	int err;

	err = walk(eh, eh_len, &r, &refs, why, why_len);
	if (err)
		goto out;
	for (size_t i = 0; i < refs.n; i++) {
		if (record_kind(&r, refs.v[i].cie) != 0) {
			err = bad(why, why_len, "the FDE at offset %#llx points at no CIE",
				  (unsigned long long)refs.v[i].fde);
			goto out;
		}
	}
	if (hdr)
		err = check_hdr(hdr, hdr_len, hdr_addr, eh_addr, eh_len, &r, why, why_len);
out:
	free(r.off);
	free(refs.v);
	return err;
}
