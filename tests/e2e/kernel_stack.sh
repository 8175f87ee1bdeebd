#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# A program spinning on read(/dev/zero) shows the syscall's kernel path under its user frames.
. "$(dirname "$0")/lib.sh"
need_root

start_bg "$PROGS/syscall_spin" 6
SPIN=$BG_PID
sleep 0.3
expect_exit 0 "$EMBER" record --db "$WORK/e.db" -F 499 --duration 3
"$EMBER" export --db "$WORK/e.db" --pid "$SPIN" >"$WORK/spin.folded" || fail "export failed"
total=$(folded_count '' "$WORK/spin.folded")
kpath=$(folded_count ';main;spin_loop;spin_read;([^ ]*_\[k\];)*(ksys_read|vfs_read)_\[k\];' "$WORK/spin.folded")
echo "syscall_spin: $total samples, $kpath through the read path"
# A whole CPU gives about 1500; under load it may get far less.
[ "$total" -gt 200 ] || fail "only $total samples"
[ "$kpath" -ge $((total * 80 / 100)) ] ||
	fail "only $kpath of $total samples show main;spin_loop;spin_read;...;vfs_read_[k]"
grep -q 'read_zero_\[k\]' "$WORK/spin.folded" || fail "read_zero never seen"
# Kernel frames come after every user frame.
awk '{ sub(/ [0-9]+$/, ""); n = split($0, f, ";"); k = 0
	for (i = 2; i <= n; i++) { if (f[i] ~ /_\[k\]$/) k = 1; else if (k) { print; exit 1 } } }' \
	"$WORK/spin.folded" || fail "a user frame follows a kernel frame"
exit 0
