#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The export benchmark: 10 million samples (bench/export-gen: 64 CPUs at 99 Hz, 400 threads,
# 20,000 stacks) exported to folded (target: under 2 s) and pprof (under 5 s), in CPU seconds
# (user + sys, the median of interleaved rounds: wall time drifts on this shared machine), against
# a peer measured in the same rounds: `ember report -n 1`, which reads the same samples through
# storage's own aggregation (storage_reader__functions). Also the other formats once at 1 million
# samples (their output grows with the samples: perf-script writes about 1.4 KB per sample), and
# the peak RSS at 1 and 10 million samples (memory must follow the distinct stacks, not the
# samples). Readers map the database (mmap_size): its pages count in RSS but are the page cache's,
# shared and reclaimable, so the peak of private memory (RssAnon, polled every 10 ms) is shown
# beside it.
# Usage: bench/export.sh [BUILD_DIR] (default build); WORK=DIR keeps the databases there;
# MEM_SAMPLES="1000000 10000000 100000000" the sizes of the memory check (the last ones are
# generated once: 100 M take about 4 minutes and 300 MB).
set -eu
BUILD=${1:-build}
EMBER=$BUILD/ember
GEN=$BUILD/bench/export-gen
ROUNDS=${ROUNDS:-5}
WORK=${WORK:-/tmp/ember-bench-export}
mkdir -p "$WORK"
[ -x "$EMBER" ] && [ -x "$GEN" ] || { echo "build first: ninja -C $BUILD" >&2; exit 1; }
MEM_SAMPLES=${MEM_SAMPLES:-1000000 10000000}
for n in 1000000 10000000 $MEM_SAMPLES; do
	[ -s "$WORK/h$n.db" ] || "$GEN" --db "$WORK/h$n.db" --samples "$n"
done
DB=$WORK/h10000000.db

# cpu CMD...: prints "user+sys maxrss_kb" of one run.
cpu() {
	/usr/bin/time -f '%U %S %M' -o "$WORK/time" "$@" >/dev/null 2>&1
	awk '{ printf "%.2f %d\n", $1 + $2, $3 }' "$WORK/time"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# anon CMD...: prints the peak private memory (RssAnon, KB, polled every 10 ms) of one run. (A
# zombie's status has no RssAnon line: the loop ends with the process.)
anon() {
	local pid peak=0 a
	"$@" >/dev/null 2>&1 &
	pid=$!
	while a=$(awk '/^RssAnon:/ { print $2 }' /proc/$pid/status 2>/dev/null) && [ -n "$a" ]; do
		[ "$a" -gt "$peak" ] && peak=$a
		sleep 0.01
	done
	wait $pid
	echo "$peak"
}

: >"$WORK/peer" && : >"$WORK/folded" && : >"$WORK/pprof"
for r in $(seq "$ROUNDS"); do
	cpu "$EMBER" report --db "$DB" -n 1 >>"$WORK/peer"
	cpu "$EMBER" export --db "$DB" -f folded -o "$WORK/out.folded" >>"$WORK/folded"
	cpu "$EMBER" export --db "$DB" -f pprof -o "$WORK/out.pb.gz" >>"$WORK/pprof"
done
peer=$(cut -d' ' -f1 "$WORK/peer" | median)
folded=$(cut -d' ' -f1 "$WORK/folded" | median)
pprof=$(cut -d' ' -f1 "$WORK/pprof" | median)
echo "$(date -u +%F) $(nproc) CPUs, $ROUNDS interleaved rounds, 10,000,000 samples,"\
	"$(wc -l <"$WORK/out.folded") folded lines"
echo "peer ember report -n 1 (storage's aggregation): $peer s CPU (median; all: $(cut -d' ' -f1 "$WORK/peer" | tr '\n' ' '))"
for f in folded pprof; do
	v=$(cut -d' ' -f1 "$WORK/$f" | median)
	echo "export $f: $v s CPU (median; all: $(cut -d' ' -f1 "$WORK/$f" | tr '\n' ' ')),"\
		"$(awk -v v="$v" 'BEGIN { printf "%.0f", v * 1e9 / 1e7 }') ns/sample,"\
		"$(awk -v v="$v" -v p="$peer" 'BEGIN { printf "%.1f", v / p }')x the peer,"\
		"peak RSS $(cut -d' ' -f2 "$WORK/$f" | median) KB"
done
echo "export svg, 10,000,000 samples (one run): $(cpu "$EMBER" export --db "$DB" -f svg \
	-o "$WORK/out.svg" | awk '{ printf "%s s CPU, peak RSS %s KB", $1, $2 }')"
for f in speedscope svg perf-script; do
	echo "export $f, 1,000,000 samples (one run): $(cpu "$EMBER" export --db "$WORK/h1000000.db" \
		-f "$f" -o "$WORK/out.$f" | awk '{ printf "%s s CPU, peak RSS %s KB", $1, $2 }'),"\
		"$(stat -c %s "$WORK/out.$f") bytes"
	rm -f "$WORK/out.$f"
done
for n in $MEM_SAMPLES; do
	for f in folded pprof; do
		rss=$(cpu "$EMBER" export --db "$WORK/h$n.db" -f $f -o "$WORK/rss.$f" | cut -d' ' -f2)
		priv=$(anon "$EMBER" export --db "$WORK/h$n.db" -f $f -o "$WORK/rss.$f")
		echo "$f, $n samples ($(du -k "$WORK/h$n.db" | cut -f1) KB of database):"\
			"peak RSS $rss KB, peak private (RssAnon) $priv KB"
	done
done
ok=$(awk -v f="$folded" -v p="$pprof" 'BEGIN { print (f < 2 && p < 5) ? "met" : "MISSED" }')
echo "targets (folded < 2 s, pprof < 5 s): $ok"
[ "$ok" = met ]
