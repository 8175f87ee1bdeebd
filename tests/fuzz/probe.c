/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Compiled by CMake to check that clang's libFuzzer is installed. */
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return data && size ? 0 : 0;
}
