#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Crash safety: kill -9 the writer at random moments, again and again, into one database. After
# every kill the database must open, `ember db check` must pass, and every flush the writer
# acknowledged before the kill must be there.
#
#   bench/crash.sh [RUNS] [record|gen]      (defaults: 200 record)
#
# record: the real collector (`ember record -v -F 499`, root), killed 0.3 to 3 s after it starts;
#         a flush is acknowledged by its "flushed: N samples stored" debug line.
# gen:    bench/gen-history writing simulated time as fast as it can (flushes, window merges,
#         chunk merges, rollups, all in a few ms each), killed 0.05 to 1.5 s after it starts;
#         acknowledged by its "ack FLUSH SAMPLES" lines.
# Environment: EMBER, GEN_HISTORY (default: build/ember, build/bench/gen-history), DB (default:
# a temporary file), SEED (for the kill times).
set -u
RUNS=${1:-200}
MODE=${2:-record}
HERE=$(cd "$(dirname "$0")/.." && pwd)
EMBER=${EMBER:-$HERE/build/ember}
GEN_HISTORY=${GEN_HISTORY:-$HERE/build/bench/gen-history}
TMP=$(mktemp -d /tmp/ember-crash-XXXXXX)
DB=${DB:-$TMP/crash.db}
RANDOM=${SEED:-1}
trap 'rm -rf "$TMP"' EXIT

die() {
	echo "crash: run $run: $*" >&2
	exit 1
}

# The samples the database holds (all of them, per-minute counts included).
db_samples() {
	"$EMBER" db info --db "$DB" 2>"$TMP/info.err" | awk '/^samples/ { sub(":", "", $2); print $2 }'
}

total=0 # what the database held after the previous run
start_s=1700000000
for run in $(seq "$RUNS"); do
	log="$TMP/run.log"
	if [ "$MODE" = record ]; then
		delay_ms=$((300 + RANDOM % 2700))
		"$EMBER" record --db "$DB" -F 499 -v -q 2>"$log" &
	else
		delay_ms=$((50 + RANDOM % 1450))
		# Simulated time goes on from run to run: each run starts 2 hours after the last.
		"$GEN_HISTORY" --db "$DB" --duration 2h --cpus 16 -F 99 --rollup-after 30m \
			--start "@$((start_s + run * 7200))" --seed "$run" --ack -q >"$log" 2>&1 &
	fi
	pid=$!
	sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [ "$MODE" = record ]; then
		acked=$(grep -o 'flushed: [0-9]* samples stored' "$log" | tail -1 | awk '{ print $2 }')
	else
		acked=$(grep '^ack ' "$log" | tail -1 | awk '{ print $3 }')
	fi
	acked=${acked:-0}
	# Killed before the database existed, or before its schema was written: nothing to check.
	if [ "$acked" = 0 ] && [ ! -s "$DB" ]; then
		printf 'run %d: killed at %d ms, before the database was made\n' "$run" "$delay_ms"
		continue
	fi
	"$EMBER" db check --db "$DB" >"$TMP/check.out" 2>&1 ||
		die "db check failed after a kill at $delay_ms ms: $(cat "$TMP/check.out")"
	now=$(db_samples)
	[ -n "$now" ] || die "db info failed: $(cat "$TMP/info.err")"
	# Every acknowledged sample is there; at most the flush being acknowledged is extra.
	[ "$now" -ge $((total + acked)) ] ||
		die "$now samples after the kill, but $total before and $acked acknowledged since"
	printf 'run %d: killed at %d ms, %d samples acknowledged, %d in the database\n' \
		"$run" "$delay_ms" "$acked" "$now"
	total=$now
done
echo "crash: $RUNS runs ($MODE): the database opened, passed ember db check and held every" \
	"acknowledged flush after every kill"
