#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# dlopen, then exit before ember looked: processes that burn 20 ms in main_spin(), dlopen a library
# of their own (each its own copy, so no other process ever maps that file and no cache knows it),
# burn 60 ms in its dlburn_spin() and exit. The collector is starved as in short_lived_starved.sh
# (confined to CPU 0 beside a busy loop of a higher priority, the workload on CPU 1), so most of
# them are gone before any thread of ember reads their maps: the library is known only from the
# kernel's exit-time maps, which must name its path. At least 90 % of the samples in the library
# must name main;dlburn_spin.
. "$(dirname "$0")/lib.sh"
need_root
[ "$(nproc)" -ge 2 ] || skip "needs two CPUs"

mkdir -p "$WORK/lib"
for i in $(seq 60); do
	cp "$PROGS/libdlburn.so" "$WORK/lib/libdlburn$i.so"
done
taskset -c 0 nice -n -5 bash -c 'while :; do :; done' &
HOG=$!
PIDS_TO_KILL="$PIDS_TO_KILL $HOG"
start_bg taskset -c 0 "$EMBER" record --db "$WORK/e.db" -F 99 --duration 9 -q
REC=$BG_PID
sleep 1.5 # the sampler is attached
for i in $(seq 60); do
	taskset -c 1 "$PROGS/dlburn" "$WORK/lib/libdlburn$i.so" 20 60 &
	sleep 0.1
done
wait "$REC" || fail "ember record failed"
kill "$HOG"
"$EMBER" export --db "$WORK/e.db" --comm dlburn -o "$WORK/d.folded" || fail "export failed"

main=$(folded_count ';main;main_spin( |;)' "$WORK/d.folded")
good=$(folded_count ';main;dlburn_spin( |;)' "$WORK/d.folded")
# The library's samples that did not resolve: the file unknown, or known but unread.
bad=$(awk '$0 !~ /;main;(dlburn_spin|main_spin)( |;)/ && /\[unknown\]|libdlburn/ { n += $NF }
	END { print n + 0 }' "$WORK/d.folded")
echo "dlopen, exited: $main samples in main_spin, $good in main;dlburn_spin, $bad unresolved"
grep -v ';main;\(dlburn\|main\)_spin' "$WORK/d.folded" | sort -t' ' -k2 -rn | head -5 | cut -c1-300
# 60 processes x 60 ms at 99 Hz is about 360 samples in the library; a loaded VM delivers fewer.
[ "$good" -ge 60 ] || fail "only $good samples name main;dlburn_spin (expected about 360)"
[ $((good * 100)) -ge $(((good + bad) * 90)) ] || fail "$bad of $((good + bad)) samples in the library unresolved"
exit 0
