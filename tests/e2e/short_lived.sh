#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Short-lived processes: while `ember record -F 99` runs, a driver starts 20 processes a second,
# each burning 50 ms of CPU in burn_spin() and exiting. Of their samples, at least 95 % must carry
# the right comm and resolve in the right binary, at least 90 % must name burn_spin.
. "$(dirname "$0")/lib.sh"
need_root

start_bg "$EMBER" record --db "$WORK/e.db" -F 99 --duration 9 -q
REC=$BG_PID
sleep 1.5 # the sampler is attached
for i in $(seq 100); do
	"$PROGS/burn" 50 &
	sleep 0.05
done
wait "$REC" || fail "ember record failed"
"$EMBER" export --db "$WORK/e.db" --comm burn -o "$WORK/burn.folded" || fail "export failed"

total=$(folded_count '' "$WORK/burn.folded")
# Resolved in burn's own binary: its main() is on the stack (frame pointers reach it).
binary=$(folded_count '^burn;(.*;)?main(;|$)' "$WORK/burn.folded")
func=$(folded_count '(^|;)burn_spin(;| )' "$WORK/burn.folded")
echo "short-lived: $total samples of burn, $binary in its binary, $func in burn_spin"
# 100 processes x 50 ms at 99 Hz is about 500 samples.
[ "$total" -ge 250 ] || fail "only $total samples of the burn processes (expected about 500)"
[ $((binary * 100)) -ge $((total * 95)) ] || fail "only $binary of $total samples resolved in burn's binary"
[ $((func * 100)) -ge $((total * 90)) ] || fail "only $func of $total samples name burn_spin"
exit 0
