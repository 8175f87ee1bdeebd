#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# A pid reused by another binary: chain runs as pid P and exits, then syscall_spin is started as
# the same pid P (through /proc/sys/kernel/ns_last_pid) while one `ember record` runs. Each
# process's samples must carry its own symbols only: identity is (pid, start time).
. "$(dirname "$0")/lib.sh"
need_root
[ -w /proc/sys/kernel/ns_last_pid ] || skip "cannot set ns_last_pid"

start_bg "$EMBER" record --db "$WORK/e.db" -F 199 --duration 6 -q
REC=$BG_PID
sleep 1.5
"$PROGS/chain" 1.2 >/dev/null &
P=$!
wait "$P"
# Ask for pid P again; another process may take it first on a busy host: retry.
got=""
for try in 1 2 3 4 5 6 7 8; do
	echo $((P - 1)) >/proc/sys/kernel/ns_last_pid
	"$PROGS/syscall_spin" 1.2 >/dev/null &
	got=$!
	[ "$got" = "$P" ] && break
	wait "$got"
	got=""
done
[ -n "$got" ] || fail "could not get pid $P again"
wait "$got"
wait "$REC" || fail "ember record failed"
"$EMBER" export --db "$WORK/e.db" --pid "$P" -o "$WORK/p.folded" || fail "export failed"
chain=$(folded_count '^chain;.*chain_(leaf|mid)' "$WORK/p.folded")
spin=$(folded_count '^syscall_spin;.*spin_' "$WORK/p.folded")
echo "pid $P: $chain samples of chain, $spin of syscall_spin"
[ "$chain" -ge 20 ] && [ "$spin" -ge 20 ] || fail "both processes must be sampled ($chain, $spin)"
# Each program's own functions by name: kernel frames such as _raw_spin_unlock_irqrestore (a
# timer interrupt's softirq in chain) must not count.
grep -E '^chain;(.*;)?(spin_read|spin_loop)(;| )' "$WORK/p.folded" && fail "chain's samples carry syscall_spin's symbols"
grep -E '^syscall_spin;(.*;)?chain_(leaf_a|leaf_b|mid1|mid2|run)(;| )' "$WORK/p.folded" && fail "syscall_spin's samples carry chain's symbols"
exit 0
