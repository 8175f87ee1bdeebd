#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# stored + dropped = delivered, and delivered is within 3 % of F x CPUs x seconds; the same
# figures are in the database's recordings table.
. "$(dirname "$0")/lib.sh"
need_root
command -v sqlite3 >/dev/null || fail "sqlite3 is not installed"

F=99
DUR=5
expect_exit 0 "$EMBER" record --db "$WORK/e.db" -F $F --duration $DUR
line=$(grep -E '^ember: [0-9]+ samples in' "$WORK/stderr") || fail "no summary: $(cat "$WORK/stderr")"
echo "$line"
read -r delivered secs cpus stored dropped < <(echo "$line" |
	sed -E 's/^ember: ([0-9]+) samples in ([0-9.]+) s at [0-9]+ Hz on ([0-9]+) CPUs \([a-z-]+\): ([0-9]+) stored, ([0-9]+) dropped.*/\1 \2 \3 \4 \5/')
[ $((stored + dropped)) = "$delivered" ] || fail "stored $stored + dropped $dropped != delivered $delivered"
expected=$(awk -v f=$F -v c="$cpus" -v s="$secs" 'BEGIN { printf "%d", f * c * s }')
dev=$(awk -v d="$delivered" -v e="$expected" 'BEGIN { x = (d - e) / e * 1000; if (x < 0) x = -x; printf "%d", x }')
echo "expected $expected ($F Hz x $cpus CPUs x $secs s), delivered $delivered, off by $dev/1000"
[ "$dev" -le 30 ] || fail "delivered $delivered is more than 3 % away from $expected"

row=$(sqlite3 "$WORK/e.db" 'SELECT delivered, stored, filtered + ringbuf_full + bpf_errors + ingest_errors + write_errors, hz, ncpus, ended_ns > started_ns FROM recordings')
[ "$row" = "$delivered|$stored|$dropped|$F|$cpus|1" ] || fail "recordings row '$row' does not match the summary"
in_blocks=$(sqlite3 "$WORK/e.db" 'SELECT sum(nsamples) FROM blocks')
[ "$in_blocks" = "$stored" ] || fail "blocks hold $in_blocks samples, $stored reported stored"
exit 0
