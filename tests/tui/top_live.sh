#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `ember top` live: following a running collector (the clock moves; pause freezes it; the time
# cursor rewinds into history and L comes back), the window, kernel-only and user-only frames, the
# filter prompt and narrowing with Enter; the collector's own cost on the status line; an
# unprivileged user without any capability reading the collector's database, and told when the
# collector stops; and, with no collector, recording in-process (root) or refusing clearly.
. "$(dirname "$0")/lib_tui.sh"
need_root

# Header time, "LIVE  05:20:34": the newest sample's time of day.
header_clock() { tui_screen | head -1 | grep -oE '[0-9]{2}:[0-9]{2}:[0-9]{2}' | head -1; }

chmod 755 "$WORK"
start_bg "$PROGS/chain" 60
CHAIN=$BG_PID
start_bg "$EMBER" record --db "$WORK/live.db" -F 99 -q
COLLECTOR=$BG_PID
for i in $(seq 1 50); do [ -s "$WORK/live.db-wal" ] && break; sleep 0.1; done

tui_open 100 30
tui_type "export EMBER_TOP_TRACE=$WORK/trace"
tui_send Enter
tui_run_top --db "$WORK/live.db"
tui_wait "LIVE .*collector $COLLECTOR"
tui_wait "^ +$CHAIN +root .* chain +chain_leaf_b" 15
# The status line shows the collector's own cost once it measured it (10 s after its start):
# plausible figures, samples/s near 99 Hz x CPUs (cpu-clock fires on idle CPUs too).
tui_wait 'ember: [0-9.]+% CPU [0-9]+ MiB [0-9]+ samples/s [0-9]+ dropped +F1 help' 20
line=$(tui_screen | tail -1)
read -r cpu mib rate <<<"$(echo "$line" |
	sed -E 's/.*ember: ([0-9.]+)% CPU ([0-9]+) MiB ([0-9]+) samples\/s.*/\1 \2 \3/')"
expect=$((99 * $(nproc)))
awk -v c="$cpu" -v m="$mib" -v r="$rate" -v e="$expect" \
	'BEGIN { exit !(c > 0 && m > 0 && r >= 0.8 * e && r <= 1.1 * e) }' ||
	fail "implausible cost of the collector on the status line: $line"
# The default refresh is a second: about three refreshes in three seconds.
n0=$(grep -c '^refresh' "$WORK/trace")
sleep 3
n=$(($(grep -c '^refresh' "$WORK/trace") - n0))
[ "$n" -ge 2 ] && [ "$n" -le 5 ] || fail "$n refreshes in 3 s at the default delay"
c1=$(header_clock)
sleep 2.5
c2=$(header_clock)
[ "$c1" != "$c2" ] || fail "the clock did not move while live ($c1)"

# Pause freezes the screen; p again follows again.
tui_send p
tui_wait 'PAUSED'
c1=$(header_clock)
sleep 2.5
[ "$(header_clock)" = "$c1" ] || fail "the screen moved while paused"
tui_send p
tui_wait 'LIVE'
sleep 1.5
[ "$(header_clock)" != "$c1" ] || fail "not following after resuming"

# The time cursor: [ rewinds into history, L comes back to live.
tui_send '['
tui_wait 'HISTORY +[0-9:]+ to [0-9:]+'
tui_send '['
tui_wait 'HISTORY'
tui_send L
tui_wait 'LIVE'
# The window: shorter, longer.
tui_send w
tui_wait 'last 5s'
tui_send W W
tui_wait 'last 20s'

# Kernel-only and user-only frames.
tui_send K
tui_wait '\[kernel only\]'
tui_send 2
tui_wait 'SELF%'
tui_screen | grep -E '^ +[0-9.]+% ' | grep -q '\[\.\]' && fail "a user function in kernel-only mode"
tui_send U
tui_wait '\[user only\]'
tui_screen | grep -E '^ +[0-9.]+% ' | grep -q '\[k\]' && fail "a kernel function in user-only mode"
tui_send U 1
tui_wait 'HOTTEST FUNCTION'

# Filter by command with the prompt, then clear it.
tui_send '\'
tui_wait 'Filter \(pid:N'
tui_type 'comm:chain'
tui_send Enter
tui_wait '\[filtered\]'
sleep 1.2
tui_screen | sed -n '4,$p' | grep -E '^ +[0-9]+ ' | grep -v ' chain ' &&
	fail "another command shows through the filter"
tui_send '\'
tui_send C-u Enter
tui_wait 'No filter'
# Enter narrows every view to the selected process; Esc widens again.
# (Colleagues' tests may run other chain processes: find ours by its executable's path.)
tui_send g
tui_type '/'
tui_type "^$PROGS/chain\$"
tui_send Enter
tui_wait "pid $CHAIN: "
tui_send Enter
tui_wait "\[pid $CHAIN\]"
tui_send 3
tui_wait 'chain_mid2'
tui_send 1 Escape
sleep 0.5
tui_screen | head -1 | grep -q '\[pid' && fail "Esc did not widen"
tui_send q
tui_expect_exit 0

# An unprivileged user in the database's group, with no capability at all, follows it live.
chgrp nogroup "$WORK"/live.db*
tui_type "export UNPRIV='setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all'"
tui_send Enter
rm -f "$WORK/exit"
: >"$WORK/trace"
chmod 666 "$WORK/trace" # for the unprivileged top to append to
tui_type "\$UNPRIV $EMBER top --db $WORK/live.db -d 0.25 2>$WORK/top.err; echo \$? > $WORK/exit"
tui_send Enter
tui_wait "LIVE .*collector $COLLECTOR"
tui_wait "chain +chain_leaf_b" 15
# -d 0.25: four refreshes a second.
sleep 2
n=$(grep -c '^refresh' "$WORK/trace")
[ "$n" -ge 5 ] || fail "only $n refreshes in 2 s with -d 0.25"
pid=$(tui_top_pid)
grep -q '^CapEff:[[:space:]]*0000000000000000$' "/proc/$pid/status" || fail "top has capabilities"
[ "$(stat -c %u "/proc/$pid")" = 65534 ] || fail "top does not run as nobody"
# The collector stops: top says so and shows what the database holds.
kill -INT "$COLLECTOR"
wait "$COLLECTOR"
tui_wait 'Nothing writes .* any more'
tui_wait 'LATEST'
tui_send q
tui_wait_file "$WORK/exit"
[ "$(cat "$WORK/exit")" = 0 ] || fail "unprivileged top exited $(cat "$WORK/exit"): $(cat "$WORK/top.err")"

# No collector, no privileges, no database: a clear refusal.
rm -f "$WORK/exit"
tui_type "\$UNPRIV $EMBER top --db $WORK/none.db 2>$WORK/top.err; echo \$? > $WORK/exit"
tui_send Enter
tui_wait_file "$WORK/exit"
[ "$(cat "$WORK/exit")" = 1 ] || fail "exit $(cat "$WORK/exit") without a database"
grep -q 'cannot record' "$WORK/top.err" && grep -q 'CAP_BPF' "$WORK/top.err" ||
	fail "no clear reason: $(cat "$WORK/top.err")"

# No collector, as root: top records in-process, and stops the recorder when it quits.
tui_run_top --db "$WORK/inproc.db"
tui_wait 'LIVE .*recording at 99 Hz' 15
tui_wait "chain +chain_leaf_b" 15
recorder=$(pgrep -P "$(tui_top_pid)" -f "$EMBER top") || fail "no recorder child"
tui_send q
tui_expect_exit 0
kill -0 "$recorder" 2>/dev/null && fail "the recorder outlived top"
grep -q 'recorded [0-9]* samples' "$WORK/top.err" || fail "no recording summary: $(cat "$WORK/top.err")"
"$EMBER" export --db "$WORK/inproc.db" --pid "$CHAIN" -o "$WORK/inproc.folded" ||
	fail "nothing recorded in-process"
grep -q 'chain_leaf_b' "$WORK/inproc.folded" || fail "the chain is not in the recording"
exit 0
