// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ELF inspection for `ember doctor`. A function "has a frame pointer" when its first
 * instructions are push %rbp; mov %rsp,%rbp (55 48 89 e5), optionally after endbr64
 * (f3 0f 1e fa), as gcc and clang emit with -fno-omit-frame-pointer; a binary has frame pointers
 * when most of its sized functions do. Leaf functions built by gcc 12 lack them even then, so the
 * threshold is a half, not all.
 */
#include "symbolizer/elfcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ELFCHECK_MAX_PROLOGUES 400
#define DEBUG_ROOT "/usr/lib/debug"

static bool has_fp_prologue(const unsigned char *p, size_t n)
{
	static const unsigned char endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	static const unsigned char fp[] = { 0x55, 0x48, 0x89, 0xe5 };

	if (n >= 8 && !memcmp(p, endbr64, 4)) {
		p += 4;
		n -= 4;
	}
	return n >= 4 && !memcmp(p, fp, 4);
}

/* The file offset of a virtual address, through the section that holds it. */
static bool vaddr_to_offset(Elf *elf, GElf_Addr addr, off_t *off)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		if (addr >= sh.sh_addr && addr < sh.sh_addr + sh.sh_size) {
			*off = (off_t)(sh.sh_offset + (addr - sh.sh_addr));
			return true;
		}
	}
	return false;
}

static void check_prologues(int fd, Elf *elf, Elf_Scn *symscn, struct elfcheck *out)
{
	Elf_Data *data = elf_getdata(symscn, NULL);
	GElf_Shdr sh;
	size_t n;

	if (!data || !gelf_getshdr(symscn, &sh) || !sh.sh_entsize)
		return;
	n = sh.sh_size / sh.sh_entsize;
	for (size_t i = 0; i < n && out->prologues_checked < ELFCHECK_MAX_PROLOGUES; i++) {
		unsigned char buf[8];
		GElf_Sym sym;
		off_t off;

		if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    sym.st_shndx == SHN_UNDEF || sym.st_size < 16)
			continue;
		if (!vaddr_to_offset(elf, sym.st_value, &off) ||
		    pread(fd, buf, sizeof(buf), off) != (ssize_t)sizeof(buf))
			continue;
		out->prologues_checked++;
		out->prologues_with_fp += has_fp_prologue(buf, sizeof(buf));
	}
}

static bool exists(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode);
}

/* A separate debug file: /usr/lib/debug/.build-id/xx/yyyy.debug, then the debuglink name. */
static void find_debug_file(Elf *elf, const char *path, struct elfcheck *out)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			continue;
		if (sh.sh_type == SHT_NOTE && !strcmp(name, ".note.gnu.build-id")) {
			GElf_Nhdr nh;
			size_t off = 0, noff, doff;

			while ((off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
				const unsigned char *id = (const unsigned char *)d->d_buf + doff;
				char p[256];
				int len;

				if (nh.n_type != NT_GNU_BUILD_ID || nh.n_descsz < 2 ||
				    nh.n_descsz > 64)
					continue;
				len = snprintf(p, sizeof(p), DEBUG_ROOT "/.build-id/%02x/", id[0]);
				for (size_t i = 1; i < nh.n_descsz && len < (int)sizeof(p) - 8; i++)
					len += snprintf(p + len, sizeof(p) - (size_t)len, "%02x",
							id[i]);
				snprintf(p + len, sizeof(p) - (size_t)len, ".debug");
				if (exists(p)) {
					snprintf(out->debug_file, sizeof(out->debug_file), "%s", p);
					return;
				}
			}
		} else if (!strcmp(name, ".gnu_debuglink")) {
			char p[512], dir[256];
			const char *slash = strrchr(path, '/');
			size_t dlen = slash ? (size_t)(slash - path) : 0;

			if (dlen >= sizeof(dir))
				continue;
			memcpy(dir, path, dlen);
			dir[dlen] = '\0';
			snprintf(p, sizeof(p), DEBUG_ROOT "%s/%.*s", dir,
				 (int)strnlen(d->d_buf, d->d_size), (const char *)d->d_buf);
			if (exists(p)) {
				snprintf(out->debug_file, sizeof(out->debug_file), "%s", p);
				return;
			}
		}
	}
}

int elfcheck_file(const char *path, struct elfcheck *out)
{
	Elf_Scn *scn = NULL, *symtab = NULL, *dynsym = NULL;
	size_t shstrndx;
	struct stat st;
	GElf_Ehdr eh;
	GElf_Shdr sh;
	Elf *elf = NULL;
	int fd, err = 0;

	memset(out, 0, sizeof(*out));
	elf_version(EV_CURRENT);
	/* O_NONBLOCK: a FIFO at the path must not block the doctor. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto out;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    elf_getshdrstrndx(elf, &shstrndx)) {
		err = -ENOEXEC;
		goto out;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if (sh.sh_type == SHT_SYMTAB)
			symtab = scn;
		else if (sh.sh_type == SHT_DYNSYM)
			dynsym = scn;
		else if ((!strcmp(name, ".eh_frame") || !strcmp(name, ".debug_frame")) &&
			 sh.sh_size > 4 && sh.sh_type != SHT_NOBITS)
			out->unwind_tables = true;
		else if (!strcmp(name, ".debug_info") && sh.sh_size && sh.sh_type != SHT_NOBITS)
			out->debug_info = true;
	}
	out->symtab = symtab != NULL;
	if (eh.e_machine == EM_X86_64 && (symtab || dynsym))
		check_prologues(fd, elf, symtab ? symtab : dynsym, out);
	out->frame_pointers = out->prologues_checked &&
			      out->prologues_with_fp * 2 >= out->prologues_checked;
	if (!out->debug_info) {
		find_debug_file(elf, path, out);
		out->debug_info = out->debug_file[0] != '\0';
	}
out:
	elf_end(elf);
	close(fd);
	return err;
}
