// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer target: an ELF file as a mapped binary or a debug file: ember's own reading of its
 * sections, notes, symbol tables and .gnu_debuglink (elfsym), then the reading of its DWARF
 * (dwarfread) and ember's tables over it (dwarfsym), with lookups across the address space.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "symbolizer/dwarfsym.h"
#include "symbolizer/elfsym.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dwarfsym_frame fr[DWARFSYM_MAX_FRAMES];
	int fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
	struct elfsym *e;
	struct dwarfsym *d;
	uint64_t off, v;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	e = elfsym__read_fd(fd);
	if (e) {
		const uint8_t *id;

		elfsym__build_id(e, &id);
		elfsym__debuglink(e);
		for (uint64_t a = 0; a < 1 << 16; a += 251) {
			elfsym__lookup(e, a, &off);
			if (!elfsym__offset_to_vaddr(e, a, &v))
				elfsym__vaddr_to_offset(e, v, &off);
		}
	}
	d = dwarfsym__open(fd);
	if (d)
		for (uint64_t a = 0; a < 1 << 16; a += 61)
			dwarfsym__lookup(d, a, 0, fr, DWARFSYM_MAX_FRAMES);
	dwarfsym__free(d);
	elfsym__free(e);
	close(fd);
	return 0;
}
