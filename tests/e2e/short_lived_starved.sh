#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Short-lived processes with the collector starved: the workload of short_lived.sh, with ember
# confined to CPU 0 beside a busy loop of a higher priority (nice -5: ember gets about a quarter
# of that CPU, and waits milliseconds for it after each wake-up), while the 50 ms processes run on
# CPU 1. (Two such loops starve it so far on a loaded CI machine that the ring buffer overflows
# and too few samples remain to judge.) Most of them have exited before any thread of ember reads their maps;
# their samples must still resolve (the kernel's exit-time maps), with short_lived.sh's targets.
. "$(dirname "$0")/lib.sh"
need_root
[ "$(nproc)" -ge 2 ] || skip "needs two CPUs"

taskset -c 0 nice -n -5 bash -c 'while :; do :; done' &
PIDS_TO_KILL="$PIDS_TO_KILL $!"
start_bg taskset -c 0 "$EMBER" record --db "$WORK/e.db" -F 99 --duration 9 -v
REC=$BG_PID
sleep 1.5 # the sampler is attached
for i in $(seq 100); do
	taskset -c 1 "$PROGS/burn" 50 &
	sleep 0.05
done
wait "$REC" || fail "ember record failed"
for p in $PIDS_TO_KILL; do kill "$p" 2>/dev/null; done
"$EMBER" export --db "$WORK/e.db" --comm burn -o "$WORK/burn.folded" || fail "export failed"

# As in short_lived.sh: samples inside execve belong to neither image.
grep -v '__x64_sys_execve' "$WORK/burn.folded" >"$WORK/burn.after_exec"
mv "$WORK/burn.after_exec" "$WORK/burn.folded"
total=$(folded_count '' "$WORK/burn.folded")
unknown=$(folded_count '\[unknown\]' "$WORK/burn.folded")
binary=$((total - unknown))
func=$(folded_count ';main;burn_spin( |;)' "$WORK/burn.folded")
echo "short-lived, collector starved: $total samples of burn, $binary resolved in their mappings, $func in main;burn_spin"
grep '\[unknown\]' "$WORK/burn.folded" | sort -t' ' -k2 -rn | head -5 | cut -c1-300
[ "$total" -ge 100 ] || fail "only $total samples of the burn processes (expected about 500)"
[ $((binary * 100)) -ge $((total * 95)) ] || fail "only $binary of $total samples resolved in their mappings"
[ $((func * 100)) -ge $((total * 90)) ] || fail "only $func of $total samples name main;burn_spin"
exit 0
