/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * DWARF symbolization of one debug file: for an address, the function, its file and line, and the
 * full chain of inlined calls, innermost first, each inlined function its own frame. eu-addr2line
 * -i -f gives the same answers; the difference is speed. libdwfl's per-address calls
 * (dwarf_getscopes, dwfl_module_addrinfo) walk the DIE tree or the symbol table on every call;
 * here each compilation unit is walked once, on the first address that falls into it, into sorted
 * tables of functions, inlined calls and line rows. The DWARF is read by dwarfread (ember's own
 * reader, libdw's answers at a fraction of its cost); libelf reads the ELF file. The file is
 * hostile input: it is read without mmap, recursion is bounded, and a unit that does not parse is
 * marked bad and answers nothing.
 */
#ifndef EMBER_DWARFSYM_H
#define EMBER_DWARFSYM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deeper inline chains are cut (the outermost levels are kept). */
#define DWARFSYM_MAX_FRAMES 32

struct dwarfsym_frame {
	const char *name; /* demangled function name; NULL when the DWARF names none */
	const char *file; /* source file, NULL when unknown */
	uint32_t line;	  /* 0 when unknown */
	bool inlined;	  /* inlined into the next frame (toward the root) */
};

struct dwarfsym;

/*
 * Opens the DWARF of the ELF file on `fd` (the object dups it and keeps its own copy open while it
 * lives). NULL with errno: ENODATA when the file has no .debug_info, ENOEXEC when it is not ELF or
 * its DWARF cannot be read, ENOMEM.
 */
struct dwarfsym *dwarfsym__open(int fd);

/*
 * Resolves `vaddr` (an ELF virtual address of the binary the debug file belongs to) into at most
 * `max` frames, innermost first: frames[0] is the code at vaddr (line from the line table), each
 * next frame the function it is inlined into (line of the call site), the last one not inlined.
 * Returns the number of frames, 0 when no unit describes vaddr. Strings are borrowed: valid until
 * dwarfsym__free (dwarfsym__forget keeps them). `now` is the caller's clock (any count that never
 * goes back, 0 when it has none): the unit looked up is marked used at `now`.
 */
int dwarfsym__lookup(struct dwarfsym *d, uint64_t vaddr, uint64_t now,
		     struct dwarfsym_frame *frames, int max);

/*
 * Frees the tables of the units last looked up before `before` (the caller's clock); they are
 * built again if looked up later. The strings answers point to stay. Returns the bytes freed.
 */
size_t dwarfsym__forget(struct dwarfsym *d, uint64_t before);

/* Approximate memory held (tables built so far and the section data libdw read). */
size_t dwarfsym__bytes(const struct dwarfsym *d);
/* Units that failed to parse (counted errors: their addresses resolve through ELF symbols). */
unsigned long dwarfsym__bad_units(const struct dwarfsym *d);

void dwarfsym__free(struct dwarfsym *d);

#endif
