#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Aggregated stacks of a real recording, ember against perf, on the same period: what
# `bench/storage_size.sh record DIR` left in DIR (real.db from `ember record`, perf.data from
# `perf record -a -g`, side by side). In interleaved rounds, CPU seconds (user + sys, from
# /usr/bin/time) of:
#   ember export --db real.db                  folded stacks of the whole recording
#   perf report -i perf.data --stdio -g folded  perf's own aggregation, with callchains
#   perf script -i perf.data                    the samples as text (what stackcollapse reads)
# and the same for one process (the one with the most samples in ember's database, by pid).
#
#   bench/query_peer.sh DIR [ROUNDS]      (default 3 rounds)
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
EMBER=${EMBER:-$HERE/build/ember}
DIR=$1
ROUNDS=${2:-3}
DB=$DIR/real.db
PERF=$DIR/perf.data
TMP=$(mktemp -d /tmp/ember-qpeer-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# The busiest process but the idle one, from ember's per-process totals.
pid=$("$EMBER" report --db "$DB" --by-process --processes 5 -n 1 --json |
	jq -r '[.processes[] | select(.pid != 0)][0].pid')
samples=$("$EMBER" db info --db "$DB" | awk '/^samples/ { sub(":", "", $2); print $2 }')
psamples=$(perf report -i "$PERF" --stats 2>/dev/null | awk '/SAMPLE events:/ { print $3; exit }')
echo "$(date -u +%FT%TZ) $samples samples in $DB, $psamples in $PERF; process $pid; $ROUNDS rounds"

# cpu NAME CMD...: appends "user+sys" of one run to $TMP/NAME.
cpu() {
	local name=$1
	shift
	/usr/bin/time -f '%U %S' -o "$TMP/time" "$@" >/dev/null 2>"$TMP/err" ||
		{ echo "failed: $* $(tail -3 "$TMP/err")" >&2; exit 1; }
	awk '{ printf "%.2f\n", $1 + $2 }' "$TMP/time" >>"$TMP/$name"
}
for r in $(seq "$ROUNDS"); do
	cpu ember_all "$EMBER" export --db "$DB" -o /dev/null
	cpu perf_report_all perf report -i "$PERF" --stdio -g folded --no-children
	cpu perf_script_all perf script -i "$PERF"
	cpu ember_pid "$EMBER" export --db "$DB" --pid "$pid" -o /dev/null
	cpu perf_report_pid perf report -i "$PERF" --stdio -g folded --no-children --pid "$pid"
done
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for q in all pid; do
	e=$(median <"$TMP/ember_$q")
	for p in perf_report perf_script; do
		[ -s "$TMP/${p}_$q" ] || continue
		v=$(median <"$TMP/${p}_$q")
		printf '%-4s ember export %6.2f s (%s)   %-12s %7.2f s (%s)   ember / %s = %s\n' \
			"$q" "$e" "$(tr '\n' ' ' <"$TMP/ember_$q")" "$p" "$v" \
			"$(tr '\n' ' ' <"$TMP/${p}_$q")" "$p" \
			"$(awk -v a="$e" -v b="$v" 'BEGIN { printf "%.3f", b ? a / b : 0 }')"
	done
done
