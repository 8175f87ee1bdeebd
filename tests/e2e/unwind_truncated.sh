#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# A 300-deep recursion is truncated, never complete: with large frames the stack copy ends first
# (16 KiB with 256-byte frames, 64 KiB with 1 KiB frames), with small ones the unwinder's limit of
# 127 frames. The frames found up to there are kept, leaf first, and the stacks are stored with
# the truncated status.
. "$(dirname "$0")/lib.sh"
need_root
command -v sqlite3 >/dev/null || fail "sqlite3 is not installed"

run() {
	local name=$1 frame=$2 min_depth=$3 db="$WORK/$1.db" n
	shift 3
	start_bg "$PROGS/recurse" 300 "$frame" 30
	sleep 0.5
	record_user_stacks "$db" "$BG_PID" 2 "$@"
	kill "$BG_PID"
	[ "$US_TOTAL" -ge 100 ] || fail "$name: only $US_TOTAL user stacks"
	[ "$US_COMPLETE" = 0 ] || fail "$name: $US_COMPLETE stacks of a 300-deep recursion complete"
	at_least "$US_TRUNCATED" "$US_TOTAL" 99 "$name: truncated"
	[ "$(stack_status "$db" complete)" = 0 ] ||
		fail "$name: a stack stored as complete"
	"$EMBER" export --db "$db" -o "$WORK/$name.folded" || fail "$name: export failed"
	# Every stack keeps the leaf and the deepest frames.
	n=$(awk -v min="$min_depth" '{ c = gsub(/recurse_down/, "&"); if ($0 !~ /recurse_spin/ || c < min + 0) bad += $NF } END { print bad + 0 }' "$WORK/$name.folded")
	[ "$n" = 0 ] || fail "$name: $n samples lost the frames before the cut"
}

run copy-16k 256 40
run copy-64k 1024 50 --stack-copy 64k
run depth 16 120
exit 0
