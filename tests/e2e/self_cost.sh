#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The collector's own cost, stored: a 4-second `ember record -F 99` (shorter than the first
# interval, so only the last, partial one at exit is measured) leaves one row that `ember db info`
# shows: CPU above 0, a resident size above 1 MiB, and samples/s near 99 x CPUs (cpu-clock fires
# on idle CPUs too). A second run adds its own row, tied to its own recording.
. "$(dirname "$0")/lib.sh"
need_root

ncpus=$(nproc)
for run in 1 2; do
	"$EMBER" record --no-config --db "$WORK/s.db" -F 99 --duration 4 -q 2>"$WORK/rec.log" ||
		fail "ember record failed: $(cat "$WORK/rec.log")"
done
"$EMBER" db info --db "$WORK/s.db" >"$WORK/info" || fail "ember db info failed"
line=$(grep '^collector ' "$WORK/info") || fail "no collector line in db info: $(cat "$WORK/info")"
echo "$line"
# collector    4.98% of a CPU, 65.8 MiB resident (60.8 MiB of heap), 37.4 samples/s at 19 Hz, ...
read -r cpu rss unit rate hz rec <<<"$(echo "$line" | sed -E \
	's/^collector +([0-9.]+)% of a CPU, ([0-9.]+) (KiB|MiB|GiB) resident .*, ([0-9.]+) samples\/s at ([0-9]+) Hz, .*\(recording ([0-9]+)\)$/\1 \2 \3 \4 \5 \6/')"
[ -n "${rec:-}" ] || fail "cannot parse: $line"
awk -v c="$cpu" 'BEGIN { exit !(c > 0 && c < 100) }' || fail "CPU $cpu% is not plausible"
[ "$unit" != KiB ] || fail "resident size $rss KiB is not plausible"
expect=$((99 * ncpus))
awk -v r="$rate" -v e="$expect" 'BEGIN { exit !(r >= 0.8 * e && r <= 1.1 * e) }' ||
	fail "$rate samples/s, expected about $expect (99 Hz x $ncpus CPUs)"
[ "$hz" = 99 ] || fail "rate $hz Hz, expected 99"
[ "$rec" = 2 ] || fail "the newest row belongs to recording $rec, expected 2"
exit 0
