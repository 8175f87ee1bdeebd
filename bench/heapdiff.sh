#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Where the collector's heap grows: two collectors under heaptrack beside the soak's churn
# (bench/churn.sh), one after the other; the first is killed (SIGKILL, so nothing is freed) after
# T1 seconds, the second after T2. What each still held when killed is summed by the innermost two
# frames of ember's own code (the owner: e.g. "arena_alloc < dwarfsym__lookup"), and the owners
# are listed by how much more the second held: what grew between T1 and T2. Run it on a quiet
# machine: others' new binaries and stacks are growth too. (Run at once, the two collectors
# sampled each other and inflated the symbolizer's share: docs/benchmarks.md, soak run 14.)
#
# Usage: bench/heapdiff.sh [T1] [T2] [BUILD_DIR]     (as root; default 300 s, 840 s, ./build)
# It takes T1 + T2 seconds and a minute or two more.
# Needs heaptrack (Debian's heaptrack package). Writes bench/results/heapdiff-DATE.txt.
set -eu
T1=${1:-300}
T2=${2:-840}
BUILD=${3:-build}
EMBER=$(realpath "$BUILD/ember")
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$HERE")
OUT="$HERE/results/heapdiff-$(date +%Y%m%d-%H%M).txt"
WORK=$(mktemp -d /tmp/ember-heapdiff-XXXXXX)
[ "$(id -u)" = 0 ] || { echo "heapdiff: needs root" >&2; exit 1; }
command -v heaptrack >/dev/null ||
	{ echo "heapdiff: needs heaptrack (apt-get install heaptrack)" >&2; exit 1; }
[ "$T1" -lt "$T2" ] || { echo "heapdiff: T1 must come before T2" >&2; exit 1; }
mkdir -p "$HERE/results"

"$HERE/churn.sh" "$BUILD" &
CHURN=$!
# On any exit, the collector goes too (it would run on for its -d).
trap 'kill $CHURN 2>/dev/null || true; pkill -9 -f -- "--db $WORK/" || true; rm -rf "$WORK"' EXIT
# heaptrack runs the collector as its child: kill the collector itself, not heaptrack.
collector() {
	local pid=""
	for _ in $(seq 60); do
		pid=$(pgrep -f -x "$EMBER record --no-config --db $WORK/$1.db .*" | head -1) || true
		[ -n "$pid" ] && break
		sleep 1
	done
	[ -n "$pid" ] || { echo "heapdiff: the collector under heaptrack did not start" >&2; exit 1; }
	echo "$pid"
}
# One collector at a time (two at once sample each other's binaries): the first runs for T1 s,
# the second for T2 s, each under the same churn.
for run in a b; do
	secs=$T1
	[ $run = b ] && secs=$T2
	heaptrack -o "$WORK/$run" "$EMBER" record --no-config --db "$WORK/$run.db" -F 999 \
		-d $((secs + 60)) >"$WORK/$run.heaptrack.log" 2>&1 &
	HT=$!
	PID=$(collector $run)
	sleep "$secs"
	kill -9 "$PID"
	wait $HT || true # heaptrack writes its file once the collector dies (it exits non-zero then)
done
for run in a b; do
	heaptrack_print -f "$WORK/$run.zst" -F "$WORK/$run.folded" --flamegraph-cost-type leaked \
		>/dev/null
done
python3 - "$SRC" "$WORK/a.folded" "$WORK/b.folded" "$T1" "$T2" <<'PY' | tee "$OUT"
import collections, os, re, sys

src, fa, fb, t1, t2 = sys.argv[1:]
ours = {f for d in ("profiler", "symbolizer", "storage", "export", "tui")
        for f in os.listdir(os.path.join(src, d)) if f.endswith(".c")}
loc = re.compile(r"^(\S+) \(([^()]+\.c)\)$")

def owners(path):
    held = collections.Counter()
    for line in open(path):
        stack, _, cost = line.rstrip("\n").rpartition(" ")
        mine = [m.group(1) for m in map(loc.match, stack.split(";")) if m and m.group(2) in ours]
        held[" < ".join(reversed(mine[-2:])) if mine else "(not ember's code)"] += int(cost)
    return held

a, b = owners(fa), owners(fb)
print(f"heapdiff: held at {t1} s {sum(a.values()) / 2**20:.1f} MiB, at {t2} s "
      f"{sum(b.values()) / 2**20:.1f} MiB")
print(f"{'at ' + t1 + ' s':>12} {'at ' + t2 + ' s':>12} {'grew':>10}  owner (KiB)")
for k in sorted(set(a) | set(b), key=lambda k: a[k] - b[k])[:25]:
    print(f"{a[k] / 1024:12.0f} {b[k] / 1024:12.0f} {(b[k] - a[k]) / 1024:+10.0f}  {k}")
PY
cp "$WORK/a.zst" "${OUT%.txt}-a.zst" && cp "$WORK/b.zst" "${OUT%.txt}-b.zst"
echo "heapdiff: $OUT (the heaptrack files beside it: heaptrack_print -d A.zst B.zst)"
