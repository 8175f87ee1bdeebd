// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A thin layer over libiberty's cplus_demangle. DMGL_AUTO recognises the Itanium C++ ABI (which
 * Rust's legacy mangling wraps) and Rust v0 names; its recursion limit stays on, so a hostile
 * symbol cannot exhaust the stack.
 */
#include "symbolizer/demangle.h"

#include <stddef.h>
#include <string.h>

#include <libiberty/demangle.h>

char *demangle(const char *name)
{
	/* Only _Z (C++, Rust legacy) and _R (Rust v0) prefixes are mangled: skip the rest cheaply.
	 */
	if (!name || name[0] != '_' || (name[1] != 'Z' && name[1] != 'R'))
		return NULL;
	return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
}
