#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Open files stay bounded under process churn. 600 processes of 600 distinct executables (copies
# of sleep) start while `ember record -v` runs. The prefetch thread snapshots each one's maps at
# exec; the fds its waiting snapshots hold are counted and capped (PREFETCH_MAX_FILES, 512),
# lowered here to 8 (EMBER_PREFETCH_MAX_FILES) so that the cap is reached.
# Checked: the prefetch never holds more than the cap, and once the processes are gone the
# collector's fds come back near where they started (nothing pinned for them is leaked).
. "$(dirname "$0")/lib.sh"
need_root

N=600
mkdir -p "$WORK/bin"
for i in $(seq $N); do cp /usr/bin/sleep "$WORK/bin/s$i"; done
# A shell's soft limit of open files: the collector raises it to the hard limit itself.
[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -gt 1024 ] && ulimit -Sn 1024
EMBER_PREFETCH_MAX_FILES=8 start_bg "$EMBER" record --no-config --db "$WORK/f.db" -F 19 \
	--duration 60 -v 2>"$WORK/rec.log"
REC=$BG_PID
sleep 2 # the sampler is attached
base=$(ls /proc/$REC/fd | wc -l)
read -r soft hard < <(awk '/^Max open files/ { print $4, $5 }' /proc/$REC/limits)
[ "$soft" = "$hard" ] || fail "the collector left its soft limit of open files at $soft (hard $hard)"
SLEEPERS=""
for i in $(seq $N); do
	"$WORK/bin/s$i" 30 &
	SLEEPERS="$SLEEPERS $!"
done
PIDS_TO_KILL="$PIDS_TO_KILL $SLEEPERS"
max=0
for t in $(seq 12); do
	sleep 0.5
	n=$(ls /proc/$REC/fd 2>/dev/null | wc -l)
	[ "$n" -gt "$max" ] && max=$n
done
# shellcheck disable=SC2086
kill $SLEEPERS 2>/dev/null
# shellcheck disable=SC2086
wait $SLEEPERS 2>/dev/null
# Their exit events are processed within seconds; a loaded machine (a test suite beside) may take
# longer: wait up to 20 s for the fds to come down, a leak never does.
for t in $(seq 40); do
	sleep 0.5
	after=$(ls /proc/$REC/fd | wc -l)
	[ "$t" -ge 6 ] && [ "$after" -le $((base + (max - base) / 4)) ] && break
done
kill -INT "$REC"
wait "$REC" || fail "ember record failed: $(grep -v libbpf "$WORK/rec.log")"
grep -E '^ember: (self|symbolizer):' "$WORK/rec.log" | sed 's/^ember: //'
echo "fd_bound: $base fds before, at most $max with $N new executables running, $after after they exited"
line=$(grep -E 'prefetch fds open [0-9]+ \(at most 8\), files left unopened [0-9]+' "$WORK/rec.log") ||
	fail "no prefetch figures at exit (or a limit other than 8)"
unopened=$(echo "$line" | sed -E 's/.*files left unopened ([0-9]+).*/\1/')
[ "$unopened" -gt 0 ] || fail "the prefetch never reached its limit of 8 with $N new processes"
grep -E '^ember: self:' "$WORK/rec.log" | sed -E 's/.*\(([0-9]+) by prefetch\).*/\1/' |
	while read -r held; do [ "$held" -le 8 ] || fail "the prefetch held $held files (limit 8)"; done || exit 1
# Each running process costs the collector fds of its own (its root, its distinct binary pinned);
# they must go with it. (The machine's other processes come and go meanwhile: a margin.)
[ "$max" -gt $((base + N / 2)) ] || skip "the collector tracked too few of the $N processes ($max fds)"
[ "$after" -le $((base + (max - base) / 4)) ] ||
	fail "$after fds open after the processes exited ($base before, $max with them)"
exit 0
