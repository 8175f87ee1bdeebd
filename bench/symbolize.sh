#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Symbolization throughput: the same address lists in libc's text (debug info from libc6-dbg,
# found by build-id by all three tools) resolved with inline chains by
#   ember symbolize -i, eu-addr2line -i -f (elfutils), llvm-symbolizer --inlining (LLVM).
# Two lists of N addresses:
#   unique:  uniformly random over .text, nearly all distinct: every lookup a miss, every unit's
#            tables touched (the worst case: no locality at all);
#   profile: drawn from 5,000 distinct addresses with a heavy-tailed (log-uniform) popularity, as
#            the IPs of sampled stacks repeat (what the collector sees).
# Reports addresses per second of CPU time (user + sys, from /usr/bin/time: wall time is noise on
# a shared machine) and peak RSS, each the median of ROUNDS interleaved rounds. A third ember run
# over the unique list repeated WARM times gives the cost of a warm (cached) lookup.
#
# Usage: bench/symbolize.sh [N_ADDRESSES] [ROUNDS]      (needs: a built ember, libc6-dbg,
#        elfutils, llvm, time; run from the repository root or set EMBER)
set -eu
N=${1:-100000}
ROUNDS=${2:-3}
WARM=10
EMBER=${EMBER:-build/ember}
LIBC=${LIBC:-$(ldd "$EMBER" | awk '/libc\.so/ { print $3 }')}
LLVM_SYM=$(command -v llvm-symbolizer || command -v llvm-symbolizer-14)
WORK=$(mktemp -d /tmp/ember-bench-sym-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

read -r start size < <(readelf -SW "$LIBC" | awk '$2 == ".text" { print $4, $6 }')
awk -v s=$((16#$start)) -v n=$((16#$size)) -v N="$N" \
	'BEGIN { srand(42); for (i = 0; i < N; i++) printf "0x%x\n", s + int(rand() * n) }' >"$WORK/addrs"
for i in $(seq $WARM); do cat "$WORK/addrs"; done >"$WORK/addrs_warm"
awk -v s=$((16#$start)) -v n=$((16#$size)) -v N="$N" 'BEGIN {
	srand(43); for (i = 0; i < 5000; i++) pool[i] = s + int(rand() * n)
	for (i = 0; i < N; i++) printf "0x%x\n", pool[int(exp(rand() * log(5000))) - 1] }' >"$WORK/profile"

# measure NAME INPUT CMD...: appends "NAME cpu_seconds max_rss_kb lines" to $WORK/results.
measure() {
	local name=$1 input=$2
	shift 2
	/usr/bin/time -f "%U %S %M" -o "$WORK/time" "$@" <"$input" >"$WORK/out.$name"
	read -r u s m <"$WORK/time"
	echo "$name $(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }') $m $(wc -l <"$WORK/out.$name")" \
		>>"$WORK/results"
}

for r in $(seq "$ROUNDS"); do
	measure ember "$WORK/addrs" "$EMBER" symbolize -e "$LIBC" -i
	measure ember_warm "$WORK/addrs_warm" "$EMBER" symbolize -e "$LIBC" -i
	measure eu "$WORK/addrs" eu-addr2line -i -f -e "$LIBC"
	measure llvm "$WORK/addrs" "$LLVM_SYM" --obj="$LIBC" --inlining
	measure ember_profile "$WORK/profile" "$EMBER" symbolize -e "$LIBC" -i
	measure eu_profile "$WORK/profile" eu-addr2line -i -f -e "$LIBC"
	measure llvm_profile "$WORK/profile" "$LLVM_SYM" --obj="$LIBC" --inlining
done

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "libc: $LIBC, $N addresses per list, $ROUNDS rounds, $(date -u +%Y-%m-%d)"
printf "%-16s %12s %14s %12s %8s\n" "tool (list)" "CPU s" "addresses/s" "peak RSS MB" lines
for t in ember eu llvm ember_profile eu_profile llvm_profile; do
	cpu=$(awk -v t=$t '$1 == t { print $2 }' "$WORK/results" | median)
	rss=$(awk -v t=$t '$1 == t { print $3 }' "$WORK/results" | median)
	lines=$(awk -v t=$t '$1 == t { print $4 }' "$WORK/results" | median)
	awk -v t="$t" -v c="$cpu" -v n="$N" -v r="$rss" -v l="$lines" \
		'BEGIN { printf "%-16s %12s %14.0f %12.1f %8s\n", t, c, n / (c + 0.0001), r / 1024, l }'
done
cold=$(awk '$1 == "ember" { print $2 }' "$WORK/results" | median)
warm=$(awk '$1 == "ember_warm" { print $2 }' "$WORK/results" | median)
awk -v w="$warm" -v c="$cold" -v n="$N" -v k="$WARM" 'BEGIN {
	printf "ember warm lookup (cache hit, incl. reading and printing): %.3f us per address\n",
		(w - c) * 1e6 / (n * (k - 1)) }'
