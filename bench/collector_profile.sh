#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Where ember's collector spends its CPU: runs the benchmark workload (bench/deep_stack.c on
# every CPU), `ember record -F HZ`, and `perf record --call-graph dwarf` on the collector alone
# for a window, then splits the collector's CPU into per-sample work (ingest: stack-cache hits,
# symbolizing new stacks), the once-a-second flush, first sight of new processes (maps and ELF
# symbol tables) and the rest. Also tells how many samples came from the workload and how many
# from everything else the host ran (a shared machine: other people's compilers are new stacks).
#
# usage: bench/collector_profile.sh [HZ [SECONDS]]     (default 99 Hz, 30 s; as root)
# KEEP=1 keeps the database and perf.data (the directory is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
HZ=${1:-99}
SECS=${2:-30}
[ "$(id -u)" = 0 ] || { echo "collector_profile: must run as root" >&2; exit 1; }
[ -x build/ember ] || make build
OUT=$(mktemp -d /tmp/ember-collector-profile-XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ -n "${KEEP:-}" ]; then echo "kept: $OUT" >&2; else rm -rf "$OUT"; fi
}
trap cleanup EXIT

clang -O1 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -o "$OUT/deep_stack" \
	bench/deep_stack.c
for _ in $(seq "$(nproc)"); do
	"$OUT/deep_stack" 0 24 &
	PIDS="$PIDS $!"
done
env --default-signal=INT build/ember record -F "$HZ" --db "$OUT/e.db" 2>"$OUT/ember.err" &
EMBER=$!
PIDS="$PIDS $EMBER"
sleep 5
perf record -q -e cpu-clock -F 4999 --call-graph dwarf,16384 -p "$EMBER" -o "$OUT/perf.data" \
	-- sleep "$SECS" 2>/dev/null
kill -INT "$EMBER"
wait "$EMBER" || true
cat "$OUT/ember.err"

perf report -i "$OUT/perf.data" --stdio --children -g none --sort sym --percent-limit 0.5 \
	2>/dev/null >"$OUT/children.txt"
share() { # share SYMBOL: the percentage of the collector's CPU spent in it and below
	awk -v s="$1" '$0 ~ "\\] " s "$" { print $1; found = 1; exit } END { if (!found) print "0%" }' \
		"$OUT/children.txt"
}
echo "collector CPU in $SECS s at $HZ Hz, by activity (inclusive; perf, DWARF call graphs):"
for f in ingest__record symbolize_stack storage_writer__frame storage_writer__stack \
	storage_writer__thread proctrack__get symbolizer__user symbolizer__kernel \
	storage_writer__flush write_blocks write_rows codec_encode ring_buffer__consume \
	proctrack__expire epoll_wait; do
	printf '  %-24s %s\n' "$f" "$(share "$f")"
done
echo "samples by command (top 8) in the database:"
build/ember export --db "$OUT/e.db" |
	awk '{ n = $NF; split($0, a, ";"); c[a[1]] += n; t += n }
	     END { for (k in c) printf "  %-20s %6d  %5.1f%%\n", k, c[k], 100 * c[k] / t }' |
	sort -k2 -nr | head -8
