#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Stacks that cannot be unwound keep their frames up to the failure, stored with its status: a
# frame without CFI ends DWARF-only unwinding (auto mode steps over it with its frame pointer),
# and a binary with a corrupted .eh_frame is an error for that binary, never a crash. Bad options
# are usage errors.
. "$(dirname "$0")/lib.sh"
need_root
command -v sqlite3 >/dev/null || fail "sqlite3 is not installed"
[ -x /usr/bin/python3 ] || fail "/usr/bin/python3 is missing (scripts/setup.sh installs it)"

expect_exit 2 "$EMBER" record --unwind frames
expect_stderr "unwind: 'frames' is not dwarf, fp or auto"
expect_exit 2 "$EMBER" record --stack-copy 65537
expect_stderr "stack-copy: '65537' is not a size"
expect_exit 2 "$EMBER" record --unwind fp --stack-copy 8k
expect_stderr "needs --unwind dwarf or auto"

start_bg "$PROGS/nocfi" 30
sleep 0.5
record_user_stacks "$WORK/dwarf.db" "$BG_PID" 2 --unwind dwarf
at_least "$US_NOINFO" "$US_TOTAL" 99 "nocfi, dwarf: no unwind info"
"$EMBER" export --db "$WORK/dwarf.db" -o "$WORK/dwarf.folded" || fail "export failed"
at_least "$(folded_count '^nocfi;nocfi_mid;cfi_leaf( |;)' "$WORK/dwarf.folded")" "$US_TOTAL" 99 \
	"nocfi, dwarf: the frames up to the one without CFI"
[ "$(stack_status "$WORK/dwarf.db" 'no unwind info')" -ge 1 ] ||
	fail "no stack stored with the no-unwind-info status"
record_user_stacks "$WORK/auto.db" "$BG_PID" 2 --unwind auto
kill "$BG_PID"
at_least "$US_COMPLETE" "$US_TOTAL" 99 "nocfi, auto: complete"
"$EMBER" export --db "$WORK/auto.db" -o "$WORK/auto.folded" || fail "export failed"
at_least "$(folded_count ';main;cfi_outer;nocfi_mid;cfi_leaf( |;)' "$WORK/auto.folded")" "$US_TOTAL" 99 \
	"nocfi, auto: through the frame without CFI"

# A copy of nofp_chain whose .eh_frame has a record length running past the section.
cp "$PROGS/nofp_chain" "$WORK/nofp_bad"
/usr/bin/python3 - "$WORK/nofp_bad" <<'PY' || fail "cannot corrupt the copy"
import struct, sys
with open(sys.argv[1], "r+b") as f:
    elf = f.read()
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3a)
    def shdr(i):  # name, offset, size
        name, _, _, _, off, size = struct.unpack_from("<IIQQQQ", elf, shoff + i * shentsize)
        return name, off, size
    strtab = shdr(shstrndx)[1]
    for i in range(shnum):
        name, off, size = shdr(i)
        if elf[strtab + name:].split(b"\0", 1)[0] == b".eh_frame":
            break
    else:
        sys.exit("no .eh_frame")
    pos = 0
    while pos < size // 2:  # the record starting nearest the middle
        length, = struct.unpack_from("<I", elf, off + pos)
        if length == 0:
            break
        pos += 4 + length
    f.seek(off + pos)
    f.write(struct.pack("<I", 0x7FFFFFF0))
PY
start_bg "$WORK/nofp_bad" 30
sleep 0.5
record_user_stacks "$WORK/bad.db" "$BG_PID" 2 --unwind dwarf
kill "$BG_PID"
expect_stderr "cannot unwind through .*nofp_bad: malformed \.eh_frame"
at_least "$US_NOINFO" "$US_TOTAL" 99 "corrupted .eh_frame: no unwind info"
exit 0
