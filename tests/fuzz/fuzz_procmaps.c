// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* libFuzzer target: /proc/PID/maps text, as another process's address space may make it. */
#include <stddef.h>
#include <stdint.h>

#include "symbolizer/procmaps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct procmaps *m = procmaps__parse((const char *)data, size);

	for (size_t i = 0; i < procmaps__count(m); i++) {
		const struct procmaps_entry *e = procmaps__entry(m, i);

		if (procmaps__find(m, e->start) == NULL || e->end <= e->start)
			__builtin_trap();
		procmaps__find(m, e->end);
	}
	procmaps__free(m);
	return 0;
}
