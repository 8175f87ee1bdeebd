#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Soak test: a day of recording compressed. `ember record` samples every CPU at 999 Hz (52 times
# the default 19 Hz: 30 minutes here hold about as many samples as 26 hours at 19 Hz) while a
# churn loop (bench/churn.sh) starts new short-lived processes of several binaries without pause.
# Every 10 s it reads the collector's RSS and open fds. After the warm-up (the first quarter) it
# fits a line to RSS over time: the growth extrapolated to an hour must stay under 1 MiB, and the
# fd count must not grow (it moves with the processes alive: the most open in the last quarter
# may exceed the most open in the second by a quarter at most).
#
# Run it on a quiet machine and start nothing new beside it: every binary the collector meets adds
# its tables in one step (a `python3` that is pyenv's, built with DWARF, added 33 MB: soak run 16).
#
# Usage: bench/soak.sh [SECONDS] [BUILD_DIR]     (as root; default 1800 s and ./build)
#   EMBER_ARGS="-v" adds options to `ember record` (-v logs the collector's own cost, heap and
#   binaries parsed once a minute).
# Writes bench/results/soak-DATE.csv and prints the summary that goes to docs/benchmarks.md.
set -eu
DURATION=${1:-1800}
BUILD=${2:-build}
EMBER=$(realpath "$BUILD/ember")
HERE=$(cd "$(dirname "$0")" && pwd)
OUT="$HERE/results"
mkdir -p "$OUT"
CSV="$OUT/soak-$(date +%Y%m%d-%H%M).csv"
WORK=$(mktemp -d /tmp/ember-soak-XXXXXX)
[ "$(id -u)" = 0 ] || { echo "soak: needs root" >&2; exit 1; }

"$HERE/churn.sh" "$BUILD" &
CHURN=$!
trap 'kill $CHURN $REC 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

# shellcheck disable=SC2086
"$EMBER" record --no-config --db "$WORK/soak.db" -F 999 -d "$DURATION" ${EMBER_ARGS:-} \
	2>"$WORK/record.log" &
REC=$!
START=$(date +%s)
echo "t_s,rss_kib,fds,procs_started,anon_kib,file_kib" >"$CSV"
while kill -0 "$REC" 2>/dev/null; do
	now=$(($(date +%s) - START))
	rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$REC/status 2>/dev/null) || break
	# Anonymous (the heap, malloc's arenas) and file-backed (mapped binaries) parts of RSS.
	anon=$(awk '/^RssAnon:/ { print $2 }' /proc/$REC/status 2>/dev/null) || break
	file=$(awk '/^RssFile:/ { print $2 }' /proc/$REC/status 2>/dev/null) || break
	fds=$(ls /proc/$REC/fd 2>/dev/null | wc -l)
	procs=$(awk '/^processes/ { print $2 }' /proc/stat)
	[ -n "$rss" ] && echo "$now,$rss,$fds,$procs,$anon,$file" >>"$CSV"
	sleep 10
done
wait "$REC" || { echo "soak: ember record failed: $(grep -v 'libbpf' "$WORK/record.log" | grep -E 'self:|held:|samples in|error|warning' || true)" >&2; exit 1; }
kill $CHURN 2>/dev/null || true
cp "$WORK/record.log" "${CSV%.csv}.log"
# The database too (small): which binaries came when (`ember report`), to tell a jump in the
# symbolizer's tables from what others started on the machine.
cp "$WORK/soak.db" "${CSV%.csv}.db" 2>/dev/null || true
grep -v 'libbpf' "$WORK/record.log" | grep -E 'self:|held:|samples in|error|warning' || true
DBSIZE=$(du -k "$WORK/soak.db" | cut -f1)

# With -v: the heap in use (mallinfo2, KiB) from the collector's `self:` lines, each at the sum
# of the intervals so far, fitted the same way: growth of what is allocated, without what malloc
# keeps resident (the RSS figure above is the target's; this one says which of the two grew).
HEAP=$(grep -o '([0-9]* KiB of heap in use.*dropped in the last [0-9.]* s' "$WORK/record.log" |
	awk -v dur="$DURATION" '{
		t += $(NF - 1); h = substr($1, 2) + 0
		if (t >= dur / 4) { m++; st += t; sh += h; stt += t * t; sth += t * h }
	} END {
		if (m < 3) { print "-"; exit }
		printf "%.3f", (m * sth - st * sh) / (m * stt - st * st) * 3600 / 1024
	}')

# Fit RSS (KiB) = a + b t over the rows after the warm-up; b * 3600 / 1024 is MiB per hour.
awk -F, -v dur="$DURATION" -v db="$DBSIZE" -v csv="$CSV" -v heap="$HEAP" 'NR > 1 {
	t[n] = $1; r[n] = $2; f[n] = $3; p[n] = $4; n++
} END {
	warm = dur / 4
	for (i = 0; i < n; i++) if (t[i] >= warm) {
		m++; st += t[i]; sr += r[i]; stt += t[i] * t[i]; str += t[i] * r[i]
		if (!fmin || f[i] < fmin) fmin = f[i]; if (f[i] > fmax) fmax = f[i]
		if (t[i] < dur / 2) { if (f[i] > fq2) fq2 = f[i] } else if (t[i] >= dur * 3 / 4 && f[i] > fq4) fq4 = f[i]
		if (!first) first = i; last = i
	}
	b = (m * str - st * sr) / (m * stt - st * st)
	mib_h = b * 3600 / 1024
	procs = p[n - 1] - p[0]
	printf "soak: %d s at 999 Hz, %d processes started (%.1f/s); RSS %d KiB after warm-up, %d KiB at the end (max %d)\n", \
		t[n - 1], procs, procs / t[n - 1], r[first], r[n - 1], rmax(r, n)
	printf "soak: RSS growth after warm-up %.3f MiB/hour (fit over %d points); fds %d..%d (most %d in the second quarter, %d in the last); database %.1f MiB\n", \
		mib_h, m, fmin, fmax, fq2, fq4, db / 1024
	printf "soak: heap in use growth after warm-up %s MiB/hour (from the -v self: lines; not the target)\n", heap
	printf "soak: %s\n", csv
	ok = mib_h < 1 && fq4 <= fq2 * 1.25
	printf "soak: %s\n", ok ? "PASS" : "FAIL"
	exit !ok
}
function rmax(a, k,   i, x) { for (i = 0; i < k; i++) if (a[i] > x) x = a[i]; return x }' "$CSV"
