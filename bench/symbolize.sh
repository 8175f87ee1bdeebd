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
# Reports addresses per second of CPU time (user + sys, the child's rusage: wall time is noise on
# a shared machine) and peak RSS, each the median of ROUNDS interleaved rounds, and ember's speed
# as a multiple of each peer's. A third ember run over the unique list repeated WARM times gives the
# cost of a lookup once the tables are built (100,000 distinct addresses overflow the one-pass
# memo, so these are table lookups, not remembered answers). ember_lru_profile is the profile list
# with --answer-cache, the collector's LRU answer cache, for comparison.
#
# Usage: bench/symbolize.sh [N_ADDRESSES] [ROUNDS]      (needs: a built ember, libc6-dbg,
#        elfutils, llvm, python3; run from the repository root or set EMBER)
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
	# The child's rusage in microseconds (GNU time prints hundredths: 5 % of ember's run).
	/usr/bin/python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.4f %d" % (r.ru_utime + r.ru_stime, r.ru_maxrss), file=sys.stderr)' "$@" \
		<"$input" >"$WORK/out.$name" 2>"$WORK/time"
	read -r cpu m < <(tail -1 "$WORK/time")
	echo "$name $cpu $m $(wc -l <"$WORK/out.$name")" >>"$WORK/results"
}

for r in $(seq "$ROUNDS"); do
	measure ember "$WORK/addrs" "$EMBER" symbolize -e "$LIBC" -i
	measure ember_warm "$WORK/addrs_warm" "$EMBER" symbolize -e "$LIBC" -i
	measure eu "$WORK/addrs" eu-addr2line -i -f -e "$LIBC"
	measure llvm "$WORK/addrs" "$LLVM_SYM" --obj="$LIBC" --inlining
	measure ember_profile "$WORK/profile" "$EMBER" symbolize -e "$LIBC" -i
	measure ember_lru_profile "$WORK/profile" "$EMBER" symbolize -e "$LIBC" -i --answer-cache
	measure eu_profile "$WORK/profile" eu-addr2line -i -f -e "$LIBC"
	measure llvm_profile "$WORK/profile" "$LLVM_SYM" --obj="$LIBC" --inlining
done

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "libc: $LIBC, $N addresses per list, $ROUNDS rounds, $(date -u +%Y-%m-%d)"
cpu_of() { awk -v t="$1" '$1 == t { print $2 }' "$WORK/results" | median; }
printf "%-18s %8s %12s %8s %8s %12s %8s\n" "tool (list)" "CPU s" "addresses/s" "vs eu" "vs llvm" \
	"peak RSS MB" lines
for t in ember eu llvm ember_profile ember_lru_profile eu_profile llvm_profile; do
	cpu=$(cpu_of $t)
	rss=$(awk -v t=$t '$1 == t { print $3 }' "$WORK/results" | median)
	lines=$(awk -v t=$t '$1 == t { print $4 }' "$WORK/results" | median)
	case $t in
	ember*profile) eu=$(cpu_of eu_profile) llvm=$(cpu_of llvm_profile) ;;
	*) eu=$(cpu_of eu) llvm=$(cpu_of llvm) ;;
	esac
	awk -v t="$t" -v c="$cpu" -v n="$N" -v r="$rss" -v l="$lines" -v e="$eu" -v m="$llvm" 'BEGIN {
		vs_e = t ~ /^ember/ ? sprintf("%.1fx", e / (c + 0.0001)) : ""
		vs_m = t ~ /^ember/ ? sprintf("%.1fx", m / (c + 0.0001)) : ""
		printf "%-18s %8s %12.0f %8s %8s %12.1f %8s\n", t, c, n / (c + 0.0001), vs_e, vs_m, r / 1024, l }'
done
cold=$(awk '$1 == "ember" { print $2 }' "$WORK/results" | median)
warm=$(awk '$1 == "ember_warm" { print $2 }' "$WORK/results" | median)
awk -v w="$warm" -v c="$cold" -v n="$N" -v k="$WARM" 'BEGIN {
	printf "ember warm lookup (tables built, incl. reading and printing): %.3f us per address\n",
		(w - c) * 1e6 / (n * (k - 1)) }'
