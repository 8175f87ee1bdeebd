// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ELF function symbols through libelf. The file is read with ELF_C_READ (pread on demand), not
 * mmap: a file truncated under us must give an error, not SIGBUS. Symbol names are copied into
 * an arena so the Elf handle can be closed right after parsing.
 */
#include "symbolizer/elfsym.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "symbolizer/demangle.h"

/* Larger files are refused: nothing legitimate maps a 4 GiB executable. */
#define ELFSYM_MAX_FILE (4ull << 30)
#define ELFSYM_MAX_SEGMENTS 64

struct elfsym_sym {
	uint64_t addr;
	uint64_t size;
	uint32_t name;	/* offset into names */
	uint32_t index; /* in the symbol table: among equal aliases the first wins, as in libdwfl */
	uint8_t bind;
};

struct elfsym_seg {
	uint64_t offset, vaddr, filesz;
};

struct elfsym {
	struct elfsym_sym *syms;
	size_t n;
	char *names;
	size_t names_len;
	struct elfsym_seg segs[ELFSYM_MAX_SEGMENTS];
	size_t nsegs;
	uint8_t build_id[ELFSYM_BUILD_ID_MAX];
	size_t build_id_len;
	char debuglink[256]; /* .gnu_debuglink file name, "" when none */
};

static int cmp_sym(const void *a, const void *b)
{
	const struct elfsym_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Among aliases the preferred one sorts first: GLOBAL, then WEAK, then LOCAL. */
	static const int rank[] = { [STB_GLOBAL] = 0, [STB_WEAK] = 1, [STB_LOCAL] = 2 };
	int rx = x->bind <= STB_WEAK ? rank[x->bind] : 3,
	    ry = y->bind <= STB_WEAK ? rank[y->bind] : 3;

	if (rx != ry)
		return rx - ry;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void read_build_id(struct elfsym *e, Elf *elf)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;

	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		GElf_Nhdr nhdr;
		size_t off = 0, name_off, desc_off;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		while ((off = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0) {
			if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == 4 &&
			    !memcmp((char *)data->d_buf + name_off, "GNU", 4) && nhdr.n_descsz &&
			    nhdr.n_descsz <= ELFSYM_BUILD_ID_MAX) {
				memcpy(e->build_id, (char *)data->d_buf + desc_off, nhdr.n_descsz);
				e->build_id_len = nhdr.n_descsz;
				return;
			}
		}
	}
}

/* The file name of .gnu_debuglink (a NUL-terminated name, padding, then a CRC32 gdb checks; the
 * build-id, when both files have one, is the stronger check and the one used here). */
static void read_debuglink(struct elfsym *e, Elf *elf)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		const char *name;
		Elf_Data *data;
		size_t len;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_PROGBITS)
			continue;
		name = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (!name || strcmp(name, ".gnu_debuglink"))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf || !data->d_size)
			return;
		len = strnlen(data->d_buf, data->d_size);
		/* A plain file name: no directory part, nothing that could climb out of a
		 * directory. */
		if (len == data->d_size || !len || len >= sizeof(e->debuglink) ||
		    memchr(data->d_buf, '/', len) || !strcmp(data->d_buf, "..") ||
		    !strcmp(data->d_buf, "."))
			return;
		memcpy(e->debuglink, data->d_buf, len + 1);
		return;
	}
}

static int read_segments(struct elfsym *e, Elf *elf)
{
	size_t phnum, i;

	if (elf_getphdrnum(elf, &phnum))
		return -ENOEXEC;
	for (i = 0; i < phnum && e->nsegs < ELFSYM_MAX_SEGMENTS; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, (int)i, &ph))
			return -ENOEXEC;
		if (ph.p_type != PT_LOAD)
			continue;
		e->segs[e->nsegs].offset = ph.p_offset;
		e->segs[e->nsegs].vaddr = ph.p_vaddr;
		e->segs[e->nsegs].filesz = ph.p_filesz;
		e->nsegs++;
	}
	return 0;
}

/* Appends the function symbols of one symbol table section. */
static int read_symtab(struct elfsym *e, Elf *elf, Elf_Scn *scn, const GElf_Shdr *shdr)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t count, i, cap = 0, names_cap = 0;

	if (!data)
		return -ENOEXEC;
	/* Count from the data actually read, not from the header's claim. */
	count = data->d_size / gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
	for (i = 0; i < count; i++) {
		GElf_Sym sym;
		const char *name;
		char *demangled;
		size_t len;
		int type;

		if (!gelf_getsym(data, (int)i, &sym))
			return -ENOEXEC;
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
		    !sym.st_value)
			continue;
		name = elf_strptr(elf, shdr->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		demangled = demangle(name);
		if (demangled)
			name = demangled;
		len = strnlen(name, 4096);
		if (e->n == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			struct elfsym_sym *ns = realloc(e->syms, ncap * sizeof(*ns));

			if (!ns) {
				free(demangled);
				return -ENOMEM;
			}
			e->syms = ns;
			cap = ncap;
		}
		if (e->names_len + len + 1 > names_cap) {
			size_t ncap = names_cap ? names_cap * 2 : 65536;
			char *nn;

			while (ncap < e->names_len + len + 1)
				ncap *= 2;
			if (ncap > UINT32_MAX) {
				free(demangled);
				return -EFBIG;
			}
			nn = realloc(e->names, ncap);
			if (!nn) {
				free(demangled);
				return -ENOMEM;
			}
			e->names = nn;
			names_cap = ncap;
		}
		memcpy(e->names + e->names_len, name, len);
		e->names[e->names_len + len] = '\0';
		free(demangled);
		e->syms[e->n].addr = sym.st_value;
		e->syms[e->n].size = sym.st_size;
		e->syms[e->n].name = (uint32_t)e->names_len;
		e->syms[e->n].bind = (uint8_t)GELF_ST_BIND(sym.st_info);
		e->syms[e->n].index = (uint32_t)i;
		e->names_len += len + 1;
		e->n++;
	}
	return 0;
}

static int read_symbols(struct elfsym *e, Elf *elf)
{
	Elf_Scn *scn = NULL, *symtab = NULL, *dynsym = NULL;
	GElf_Shdr shdr, chosen;
	size_t i, out;
	int err;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &shdr))
			return -ENOEXEC;
		if (shdr.sh_type == SHT_SYMTAB && !symtab)
			symtab = scn;
		else if (shdr.sh_type == SHT_DYNSYM && !dynsym)
			dynsym = scn;
	}
	scn = symtab ? symtab : dynsym;
	if (!scn)
		return 0;
	if (!gelf_getshdr(scn, &chosen))
		return -ENOEXEC;
	err = read_symtab(e, elf, scn, &chosen);
	if (err)
		return err;
	if (e->n)
		qsort(e->syms, e->n, sizeof(*e->syms), cmp_sym);
	/* Keep one symbol per address: the preferred alias sorted first. */
	for (i = 0, out = 0; i < e->n; i++) {
		if (out && e->syms[out - 1].addr == e->syms[i].addr)
			continue;
		e->syms[out++] = e->syms[i];
	}
	e->n = out;
	return 0;
}

struct elfsym *elfsym__read_fd(int fd)
{
	struct elfsym *e = NULL;
	Elf *elf = NULL;
	struct stat st;
	int err = 0;

	if (fstat(fd, &st))
		return NULL;
	if (!S_ISREG(st.st_mode)) {
		errno = ENOEXEC;
		return NULL;
	}
	if ((uint64_t)st.st_size > ELFSYM_MAX_FILE) {
		errno = EFBIG;
		return NULL;
	}
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || gelf_getclass(elf) != ELFCLASS64) {
		err = -ENOEXEC;
		goto out;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		err = -ENOMEM;
		goto out;
	}
	err = read_segments(e, elf);
	if (err)
		goto out;
	read_build_id(e, elf);
	read_debuglink(e, elf);
	err = read_symbols(e, elf);
out:
	elf_end(elf);
	if (err) {
		elfsym__free(e);
		errno = -err;
		return NULL;
	}
	return e;
}

int elfsym__offset_to_vaddr(const struct elfsym *e, uint64_t file_offset, uint64_t *vaddr)
{
	for (size_t i = 0; i < e->nsegs; i++) {
		const struct elfsym_seg *s = &e->segs[i];

		if (file_offset >= s->offset && file_offset - s->offset < s->filesz) {
			*vaddr = file_offset - s->offset + s->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

int elfsym__vaddr_to_offset(const struct elfsym *e, uint64_t vaddr, uint64_t *file_offset)
{
	for (size_t i = 0; i < e->nsegs; i++) {
		const struct elfsym_seg *s = &e->segs[i];

		if (vaddr >= s->vaddr && vaddr - s->vaddr < s->filesz) {
			*file_offset = vaddr - s->vaddr + s->offset;
			return 0;
		}
	}
	return -ENOENT;
}

const char *elfsym__lookup(const struct elfsym *e, uint64_t vaddr, uint64_t *sym_offset)
{
	size_t lo = 0, hi = e->n;
	const struct elfsym_sym *s;

	if (!e->n || vaddr < e->syms[0].addr)
		return NULL;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (e->syms[mid].addr <= vaddr)
			lo = mid;
		else
			hi = mid;
	}
	s = &e->syms[lo];
	/* A sized symbol must cover the address; an unsized one covers up to the next symbol. */
	if (s->size && vaddr - s->addr >= s->size)
		return NULL;
	if (sym_offset)
		*sym_offset = vaddr - s->addr;
	return e->names + s->name;
}

size_t elfsym__build_id(const struct elfsym *e, const uint8_t **id)
{
	*id = e->build_id;
	return e->build_id_len;
}

const char *elfsym__debuglink(const struct elfsym *e)
{
	return e->debuglink[0] ? e->debuglink : NULL;
}

size_t elfsym__bytes(const struct elfsym *e)
{
	return e ? sizeof(*e) + e->n * sizeof(*e->syms) + e->names_len : 0;
}

size_t elfsym__count(const struct elfsym *e)
{
	return e ? e->n : 0;
}

void elfsym__free(struct elfsym *e)
{
	if (!e)
		return;
	free(e->syms);
	free(e->names);
	free(e);
}
