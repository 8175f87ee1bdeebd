// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The middle of tests/progs/nocfi.c: built with -fno-asynchronous-unwind-tables -fno-unwind-tables
 * and -fno-omit-frame-pointer, and without -g (which would bring .debug_frame), so that this
 * function has a frame pointer and no call-frame information at all.
 */
unsigned long nocfi_mid(unsigned long (*leaf)(unsigned long), unsigned long n);

unsigned long nocfi_mid(unsigned long (*leaf)(unsigned long), unsigned long n)
{
	/* Work after the call: not a tail call. */
	return leaf(n) + 1;
}
