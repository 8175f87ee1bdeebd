#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Short-lived processes on a starved host: the workload of tests/e2e/short_lived.sh (20 processes
# a second, each burning 50 ms in burn_spin, under `ember record -F 99`) with HOGS busy loops at
# the collector's priority beside it, ROUNDS times. With BASE set to another ember binary, each
# round runs that one too (interleaved, the order alternating), so both meet the same load.
# Prints one line per run (samples of burn, the share resolved in their own mappings, the share
# in main;burn_spin, the collector's prefetch counters) and a summary per binary.
#
# Usage: sudo bench/short_lived.sh [ROUNDS [HOGS]]   (default 5 rounds, 4 hogs)
#   env: EMBER (default build/ember), PROGS (default build/tests/progs), BASE (optional peer)
set -u
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
HOGS=${2:-4}
EMBER=${EMBER:-$PWD/build/ember}
PROGS=${PROGS:-$PWD/build/tests/progs}
BASE=${BASE:-}
WORK=$(mktemp -d /tmp/ember-bench-short-lived-XXXXXX)
HOG_PIDS=""
trap 'for h in $HOG_PIDS; do kill "$h" 2>/dev/null; done; rm -rf "$WORK"' EXIT

[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 2; }
for h in $(seq "$HOGS"); do
	(while :; do :; done) &
	HOG_PIDS="$HOG_PIDS $!"
done

# run NAME BINARY: one run; appends "NAME total resolved func" to $WORK/results.
run() {
	local name=$1 bin=$2 db="$WORK/$1.db" rec total unknown func
	rm -f "$db"*
	env --default-signal=INT "$bin" record --db "$db" -F 99 --duration 9 -v 2>"$WORK/log" &
	rec=$!
	sleep 1.5
	for _ in $(seq 100); do
		"$PROGS/burn" 50 &
		sleep 0.05
	done
	wait "$rec"
	"$bin" export --db "$db" --comm burn -o "$WORK/all.folded" || return
	grep -v '__x64_sys_execve' "$WORK/all.folded" >"$WORK/burn.folded"
	total=$(awk '{ n += $NF } END { print n + 0 }' "$WORK/burn.folded")
	unknown=$(awk '/\[unknown\]/ { n += $NF } END { print n + 0 }' "$WORK/burn.folded")
	func=$(awk '/;main;burn_spin( |;)/ { n += $NF } END { print n + 0 }' "$WORK/burn.folded")
	echo "$name $total $((total - unknown)) $func" >>"$WORK/results"
	printf '%-5s %4d samples, %5.1f %% resolved, %5.1f %% main;burn_spin; %s\n' "$name" \
		"$total" "$(echo "100 * ($total - $unknown) / ($total + ($total == 0))" | bc -l)" \
		"$(echo "100 * $func / ($total + ($total == 0))" | bc -l)" \
		"$(grep -o 'prefetched maps.*' "$WORK/log")"
}

echo "$(date -u +%FT%TZ) $ROUNDS rounds, $HOGS hogs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
	if [ -n "$BASE" ] && [ $((r % 2)) = 0 ]; then
		run base "$BASE"
		run new "$EMBER"
	else
		run new "$EMBER"
		[ -z "$BASE" ] || run base "$BASE"
	fi
done
# Per binary: runs, runs below 95 % resolved, worst run, pooled shares.
awk '{ t[$1] += $2; b[$1] += $3; f[$1] += $4; n[$1]++
       p = $2 ? 100 * $3 / $2 : 0; if (p < 95) low[$1]++
       if (!($1 in w) || p < w[$1]) w[$1] = p }
     END { for (k in n) printf "%-5s %d runs, %d below 95 %%, worst %.1f %%; pooled %d samples: %.1f %% resolved, %.1f %% main;burn_spin\n",
           k, n[k], low[k], w[k], t[k], 100 * b[k] / t[k], 100 * f[k] / t[k] }' "$WORK/results"
