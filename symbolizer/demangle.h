/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Demangling of C++ and Rust symbol names through libiberty (the demangler binutils and gdb use),
 * so that ELF and DWARF names read as their source spells them.
 */
#ifndef EMBER_DEMANGLE_H
#define EMBER_DEMANGLE_H

/*
 * Returns the demangled form of `name` as an owned string (free() it), or NULL when the name is
 * not mangled (plain C), cannot be demangled, or memory ran out: the caller then keeps `name`.
 * Rust legacy names lose their trailing hash, as rustfilt prints them.
 */
char *demangle(const char *name);

#endif
