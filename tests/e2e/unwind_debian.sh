#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# DWARF unwinding of Debian's own programs, built without frame pointers: xz -9, python3 in a
# pure-Python loop, gzip -9, perl in a loop. At least 99 % of each one's user stacks are complete
# (the summary's count, and the exported stacks reaching __libc_start_main), and with
# EMBER_UNWIND_VERIFY=1 no stack taken from the unwinder's memo differs from a fresh unwind.
. "$(dirname "$0")/lib.sh"
need_root
for prog in /usr/bin/xz /usr/bin/python3 /usr/bin/gzip /usr/bin/perl; do
	[ -x "$prog" ] || fail "$prog is missing (scripts/setup.sh installs it)"
done

check() {
	local name=$1 db="$WORK/$1.db" all main
	shift
	start_bg "$@"
	sleep 0.5
	EMBER_UNWIND_VERIFY=1 record_user_stacks "$db" "$BG_PID" 3 -v
	kill "$BG_PID"
	grep -Eq 'unwinder: .*\(0 contradicted\)' "$WORK/stderr" ||
		fail "$name: the memo contradicted a fresh unwind: $(grep unwinder: "$WORK/stderr")"
	[ "$US_TOTAL" -ge 200 ] || fail "$name: only $US_TOTAL user stacks"
	at_least "$US_COMPLETE" "$US_TOTAL" 99 "$name: complete user stacks"
	"$EMBER" export --db "$db" -o "$WORK/$name.folded" || fail "$name: export failed"
	all=$(folded_count '' "$WORK/$name.folded")
	main=$(folded_count ';__libc_start_main(_impl)?;' "$WORK/$name.folded")
	at_least "$main" "$all" 99 "$name: exported stacks through __libc_start_main"
}

check xz sh -c 'exec /usr/bin/xz -9 -T1 -c < /dev/urandom > /dev/null'
check gzip sh -c 'exec /usr/bin/gzip -9 -c < /dev/urandom > /dev/null'
check python3 /usr/bin/python3 "$(dirname "$0")/../progs/pyloop.py"
check perl /usr/bin/perl -e 'my $s = 0; while (1) { for my $i (1..100000) { $s += $i * $i % 7 } }'
exit 0
