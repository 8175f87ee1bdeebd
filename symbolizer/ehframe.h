/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A structural check of a binary's .eh_frame and .eh_frame_hdr before they are handed to libdw,
 * which trusts them more than a file from another process deserves. It walks the record framing
 * (lengths, CIE pointers, CIE versions and augmentation strings) and the binary-search table of
 * the header (bounds, order, and that every entry names an FDE): what a corrupted or truncated
 * copy breaks first. The CFA programs inside the records are left to libdw's interpreter.
 */
#ifndef EMBER_EHFRAME_H
#define EMBER_EHFRAME_H

#include <stddef.h>
#include <stdint.h>

/*
 * Checks `eh` (the .eh_frame section, `eh_len` bytes, loaded at virtual address `eh_addr`) and,
 * when `hdr` is not NULL, the .eh_frame_hdr section (`hdr_len` bytes at `hdr_addr`). Returns 0,
 * or -EBADMSG with a sentence in `why` naming the first problem found, or -ENOMEM.
 */
int ehframe_check(const uint8_t *eh, size_t eh_len, uint64_t eh_addr, const uint8_t *hdr,
		  size_t hdr_len, uint64_t hdr_addr, char *why, size_t why_len);

#endif
