// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* libFuzzer target: perf-map text (/tmp/perf-PID.map), written by the profiled process. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "symbolizer/perfmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct perfmap *pm = perfmap__new();
	uint64_t off, probe = 0;

	if (!pm)
		return 0;
	perfmap__parse(pm, (const char *)data, size);
	if (size >= 8)
		memcpy(&probe, data, 8);
	for (int i = 0; i < 64; i++) {
		const char *name = perfmap__find(pm, probe + (uint64_t)i * 977, &off);

		if (name && strlen(name) > PERFMAP_NAME_MAX)
			__builtin_trap();
	}
	perfmap__free(pm);
	return 0;
}
