#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Bytes per sample of an ember database beside what else could hold the same samples:
#  - folded text (`ember export`), gzip -9'd, twice: the whole range in one profile (one line per
#    distinct comm+stack: it keeps no time, no thread, no CPU: the smallest text there is), and
#    one profile per minute with the thread in the first frame (comm-PID/TID), which keeps the
#    samples' threads and their time to the minute;
#  - the perf.data that `perf record -a -g` wrote over the same period (raw, and zstd -19'd),
#    per its own samples.
#
#   bench/storage_size.sh DB [PERF.DATA]           the report, on databases that exist
#   bench/storage_size.sh record DIR [T] [HZ] [PIDS]
#                                                  ember record and perf record -a -g side by side
#                                                  for T (default 1h) at HZ (default 499), into
#                                                  DIR/real.db and DIR/perf.data; then the report.
#                                                  PIDS (comma-separated): only those processes
#                                                  (ember record --pid, perf record -g -p)
#   bench/storage_size.sh gen DIR [T]              gen-history (64 CPUs at 19 Hz, T of history,
#                                                  default 1h) into DIR/gen.db; then the report
#
# Run as root for `record` (linux-perf installed). Environment: EMBER, GEN_HISTORY.
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
EMBER=${EMBER:-$HERE/build/ember}
GEN_HISTORY=${GEN_HISTORY:-$HERE/build/bench/gen-history}

if [ "${1:-}" = record ]; then
	DIR=$2
	T=${3:-1h}
	HZ=${4:-499}
	PIDS=${5:-}
	mkdir -p "$DIR"
	rm -f "$DIR/real.db" "$DIR/real.db-wal" "$DIR/real.db-shm" "$DIR/perf.data"
	secs=$(awk -v t="$T" 'BEGIN { n = t + 0; u = substr(t, length(t));
		print (u == "h") ? n * 3600 : (u == "m") ? n * 60 : n }')
	if [ -n "$PIDS" ]; then
		perf_who=(-p "$PIDS")
		ember_who=(--pid "$PIDS")
	else
		perf_who=(-a)
		ember_who=()
	fi
	echo "$(date -u +%FT%TZ) recording $secs s at $HZ Hz: ember and perf record -g ${perf_who[*]}"
	# Non-interactive shells start background jobs with SIGINT ignored (pitfalls.md).
	env --default-signal=INT perf record "${perf_who[@]}" -g -F "$HZ" -q -o "$DIR/perf.data" \
		-- sleep "$secs" 2>"$DIR/perf.log" &
	perf_pid=$!
	"$EMBER" record --no-config --db "$DIR/real.db" -F "$HZ" --duration "$secs" \
		"${ember_who[@]}" 2>"$DIR/ember.log"
	wait "$perf_pid"
	echo "$(date -u +%FT%TZ) done"
	cat "$DIR/ember.log"
	exec "$0" "$DIR/real.db" "$DIR/perf.data"
fi
if [ "${1:-}" = gen ]; then
	DIR=$2
	T=${3:-1h}
	mkdir -p "$DIR"
	rm -f "$DIR/gen.db" "$DIR/gen.db-wal" "$DIR/gen.db-shm"
	"$GEN_HISTORY" --db "$DIR/gen.db" --duration "$T" --cpus 64 -F 19 --seed 1 --stats
	exec "$0" "$DIR/gen.db"
fi

DB=$1
PERF=${2:-}
TMP=$(mktemp -d /tmp/ember-size-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

"$EMBER" db info --db "$DB" >"$TMP/info"
samples=$(awk '/^samples/ { sub(":", "", $2); print $2 }' "$TMP/info")
# The file and its WAL: what the database takes on disk right now.
db_bytes=$(($(stat -c %s "$DB") + $(stat -c %s "$DB-wal" 2>/dev/null || echo 0)))
"$EMBER" export --db "$DB" -o "$TMP/all.folded"
folded=$(stat -c %s "$TMP/all.folded")
gz=$(gzip -9 -c "$TMP/all.folded" | wc -c)
# One profile a minute, threads kept: from the first sample's minute to the last one's.
first=$(sqlite3 -readonly "$DB" 'SELECT min(t_start) / 1000000000 FROM blocks' 2>/dev/null || echo)
last=$(sqlite3 -readonly "$DB" 'SELECT max(t_end) / 1000000000 + 1 FROM blocks' 2>/dev/null || echo)
: >"$TMP/minutes.folded"
if [ -n "$first" ] && [ -n "$last" ]; then
	for ((m = first - first % 60; m < last; m += 60)); do
		"$EMBER" export --db "$DB" --show-tid --from "@$m" --to "@$((m + 60))" |
			sed "s/^/$m;/" >>"$TMP/minutes.folded"
	done
fi
mfolded=$(stat -c %s "$TMP/minutes.folded")
mgz=$(gzip -9 -c "$TMP/minutes.folded" | wc -c)
msamples=$(awk '{ n += $NF } END { print n + 0 }' "$TMP/minutes.folded")
per() { awk -v b="$1" -v n="$samples" 'BEGIN { printf "%.2f", b / n }'; }
ratio() { awk -v b="$1" -v e="$db_bytes" 'BEGIN { printf "%.1fx", b / e }'; }
printf '%-40s %14s %10s %10s\n' "" bytes "per sample" "vs ember"
printf '%-40s %14d %10s\n' "ember database (file + WAL)" "$db_bytes" "$(per "$db_bytes")"
printf '%-40s %14d %10s %10s\n' "folded, whole range" "$folded" "$(per "$folded")" \
	"$(ratio "$folded")"
printf '%-40s %14d %10s %10s\n' "folded, whole range, gzip -9" "$gz" "$(per "$gz")" "$(ratio "$gz")"
printf '%-40s %14d %10s %10s\n' "folded, per minute and thread" "$mfolded" "$(per "$mfolded")" \
	"$(ratio "$mfolded")"
printf '%-40s %14d %10s %10s\n' "folded, per minute and thread, gzip -9" "$mgz" "$(per "$mgz")" \
	"$(ratio "$mgz")"
if [ -n "$PERF" ]; then
	perf_bytes=$(stat -c %s "$PERF")
	zst=$(zstd -19 -T0 -c "$PERF" 2>/dev/null | wc -c)
	psamples=$(perf report -i "$PERF" --stats 2>/dev/null | awk '/SAMPLE events:/ { print $3; exit }')
	pper() { awk -v b="$1" -v n="${psamples:-0}" 'BEGIN { if (n) printf "%.1f", b / n; else print "?" }'; }
	# Per sample against per sample: perf's samples are not exactly ember's.
	pratio() {
		awk -v b="$1" -v n="${psamples:-0}" -v e="$db_bytes" -v s="$samples" \
			'BEGIN { if (n) printf "%.0fx", (b / n) / (e / s); else print "?" }'
	}
	printf '%-40s %14d %10s %10s   (%s samples in it)\n' "perf.data" "$perf_bytes" \
		"$(pper "$perf_bytes")" "$(pratio "$perf_bytes")" "${psamples:-?}"
	printf '%-40s %14d %10s %10s\n' "perf.data, zstd -19" "$zst" "$(pper "$zst")" "$(pratio "$zst")"
fi
echo "($samples samples in the database, $msamples in the per-minute folded text;" \
	"perf.data per sample is per its own samples, its ratio per sample too)"
cat "$TMP/info"
