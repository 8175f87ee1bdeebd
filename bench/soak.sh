#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Soak test: days of recording compressed. `ember record` samples every CPU at 999 Hz (52 times
# the default 19 Hz: an hour here holds about as many samples as 52 hours at 19 Hz) while a churn
# loop (bench/churn.sh) starts new short-lived processes of several binaries without pause.
# Every 10 s it reads the collector's RSS and open fds. After the warm-up it fits a line to RSS
# over time: the growth extrapolated to an hour must stay under 1 MiB, and the fd count must not
# grow (it moves with the processes alive: the most open in the last quarter after the warm-up
# may exceed the most open in the first quarter after it by a quarter at most).
#
# The warm-up is 20 minutes: twice the longest time the collector keeps what it no longer uses.
# The writer forgets a process none of whose threads ran for 10 minutes, frames and stacks unused
# for 5; the symbolizer frees answers and DWARF units idle for 2^19 resolutions (about 4 minutes
# at 999 Hz). Each of these fills for one such time and turns over in the next. Runs 17-19
# (docs/benchmarks.md) rose in steps until minute 13-20 and were flat after; a warm-up of the
# first quarter of 30 minutes (7.5 minutes, before any process is forgotten as idle) fitted the
# warm-up itself.
#
# Run it on a quiet machine and start nothing new beside it: every binary the collector meets adds
# its tables in one step (a `python3` that is pyenv's, built with DWARF, added 33 MB: soak run 16).
#
# Usage: bench/soak.sh [SECONDS] [BUILD_DIR]     (as root; default 3600 s and ./build)
#        bench/soak.sh --fit CSV                 (the summary of an earlier run, from its files)
#   EMBER_ARGS="-v" adds options to `ember record` (-v logs the collector's own cost, heap and
#   binaries parsed once a minute). WARMUP=SECONDS sets the warm-up (default 1200).
# Writes bench/results/soak-DATE.csv (with its .log and .db beside it) and prints the summary
# that goes to docs/benchmarks.md.
set -eu
WARMUP=${WARMUP:-1200}

# summary CSV: the verdict, from the CSV and, when -v was given, the log beside it.
summary() {
	local csv=$1 log=${1%.csv}.log db=${1%.csv}.db heap dbsize=0

	[ -e "$db" ] && dbsize=$(du -k "$db" | cut -f1)
	# With -v: the heap in use (mallinfo2, KiB) from the collector's `self:` lines, each at the
	# sum of the intervals so far, fitted the same way: growth of what is allocated, without what
	# malloc keeps resident (the RSS figure is the target's; this one says which of the two grew).
	[ -e "$log" ] || log=/dev/null
	heap=$(grep -o '([0-9]* KiB of heap in use.*dropped in the last [0-9.]* s' "$log" |
		awk -v warm="$WARMUP" '{
			t += $(NF - 1); h = substr($1, 2) + 0
			if (t >= warm) { m++; st += t; sh += h; stt += t * t; sth += t * h }
		} END {
			if (m < 3) { print "-"; exit }
			printf "%.3f", (m * sth - st * sh) / (m * stt - st * st) * 3600 / 1024
		}')
	# Fit RSS (KiB) = a + b t over the rows after the warm-up; b * 3600 / 1024 is MiB per hour.
	# Rows taken while the collector exited (its ring buffer unmapped: file-backed RSS under half
	# its most) are left out.
	awk -F, -v warm="$WARMUP" -v db="$dbsize" -v csv="$csv" -v heap="${heap:--}" 'NR > 1 {
		t[n] = $1; r[n] = $2; f[n] = $3; p[n] = $4; file[n] = $6; n++
		if ($6 > fmost) fmost = $6
	} END {
		while (n > 0 && file[n - 1] < fmost / 2) n--
		if (n < 2 || t[n - 1] < warm + 600) {
			printf "soak: %s: %d s recorded, too short for a warm-up of %d s and 10 minutes after it\n", csv, n ? t[n - 1] : 0, warm
			exit 2
		}
		end = t[n - 1]; q = (end - warm) / 4
		for (i = 0; i < n; i++) if (t[i] >= warm) {
			m++; st += t[i]; sr += r[i]; stt += t[i] * t[i]; str += t[i] * r[i]
			if (!fmin || f[i] < fmin) fmin = f[i]; if (f[i] > fmax) fmax = f[i]
			if (t[i] < warm + q) { if (f[i] > fq1) fq1 = f[i] } else if (t[i] >= end - q && f[i] > fq4) fq4 = f[i]
			if (!first) first = i
		}
		b = (m * str - st * sr) / (m * stt - st * st)
		mib_h = b * 3600 / 1024
		procs = p[n - 1] - p[0]
		printf "soak: %d s at 999 Hz, %d processes started (%.1f/s); RSS %d KiB at the end of the warm-up (%d s), %d KiB at the end (max %d)\n", \
			end, procs, procs / end, r[first], warm, r[n - 1], rmax(r, n)
		printf "soak: RSS growth after the warm-up %.3f MiB/hour (fit over %d points); fds %d..%d (most %d in the first quarter after the warm-up, %d in the last); database %.1f MiB\n", \
			mib_h, m, fmin, fmax, fq1, fq4, db / 1024
		printf "soak: heap in use growth after the warm-up %s MiB/hour (from the -v self: lines; not the target)\n", heap
		printf "soak: %s\n", csv
		ok = mib_h < 1 && fq4 <= fq1 * 1.25
		printf "soak: %s\n", ok ? "PASS" : "FAIL"
		exit !ok
	}
	function rmax(a, k,   i, x) { for (i = 0; i < k; i++) if (a[i] > x) x = a[i]; return x }' "$csv"
}

if [ "${1:-}" = --fit ]; then
	[ -r "${2:-}" ] || { echo "soak: --fit needs the CSV of a run" >&2; exit 2; }
	summary "$2"
	exit
fi

DURATION=${1:-3600}
BUILD=${2:-build}
EMBER=$(realpath "$BUILD/ember")
HERE=$(cd "$(dirname "$0")" && pwd)
OUT="$HERE/results"
[ "$(id -u)" = 0 ] || { echo "soak: needs root" >&2; exit 1; }
[ "$DURATION" -ge $((WARMUP + 600)) ] ||
	{ echo "soak: $DURATION s is too short: the warm-up is $WARMUP s, and the fit needs 10 minutes after it" >&2; exit 2; }
mkdir -p "$OUT"
CSV="$OUT/soak-$(date +%Y%m%d-%H%M).csv"
WORK=$(mktemp -d /tmp/ember-soak-XXXXXX)

"$HERE/churn.sh" "$BUILD" &
CHURN=$!
trap 'kill $CHURN $REC 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

# shellcheck disable=SC2086
"$EMBER" record --no-config --db "$WORK/soak.db" -F 999 -d "$DURATION" ${EMBER_ARGS:-} \
	2>"$WORK/record.log" &
REC=$!
START=$(date +%s)
echo "t_s,rss_kib,fds,procs_started,anon_kib,file_kib,heap_kib" >"$CSV"
while kill -0 "$REC" 2>/dev/null; do
	now=$(($(date +%s) - START))
	rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$REC/status 2>/dev/null) || break
	# Anonymous (the heap, malloc's arenas) and file-backed (the BPF ring buffer, mapped binaries)
	# parts of RSS.
	anon=$(awk '/^RssAnon:/ { print $2 }' /proc/$REC/status 2>/dev/null) || break
	file=$(awk '/^RssFile:/ { print $2 }' /proc/$REC/status 2>/dev/null) || break
	# Of the anonymous part, malloc's brk heap (where its high-water mark stays resident).
	heap=$(awk '/^[0-9a-f]+-[0-9a-f]+ / { h = ($NF == "[heap]") } h && /^Rss:/ { print $2 }' \
		/proc/$REC/smaps 2>/dev/null) || break
	fds=$(ls /proc/$REC/fd 2>/dev/null | wc -l)
	procs=$(awk '/^processes/ { print $2 }' /proc/stat)
	[ -n "$rss" ] && echo "$now,$rss,$fds,$procs,$anon,$file,${heap:-0}" >>"$CSV"
	sleep 10
done
wait "$REC" || { echo "soak: ember record failed: $(grep -v 'libbpf' "$WORK/record.log" | grep -E 'self:|held:|samples in|error|warning' || true)" >&2; exit 1; }
kill $CHURN 2>/dev/null || true
cp "$WORK/record.log" "${CSV%.csv}.log"
# The database too (small): which binaries came when (`ember report`), to tell a jump in the
# symbolizer's tables from what others started on the machine.
cp "$WORK/soak.db" "${CSV%.csv}.db" 2>/dev/null || true
grep -v 'libbpf' "$WORK/record.log" | grep -E 'self:|held:|samples in|error|warning' || true
summary "$CSV"
