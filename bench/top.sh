#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Benchmarks of `ember top`, the real binary in a real terminal (a private tmux server):
#   1. first screen: launch to the first complete frame, on an hour of history of a 64-CPU host
#      at 19 Hz (4.4 M samples, gen-history), against `ember export` of the same window in the
#      same run (the storage work without the TUI);
#   2. key presses in the flame graph of that whole hour (about 190,000 distinct thread+stack
#      pairs, 117,000 distinct stacks): from reading the key to the frame sent to the terminal;
#   3. top's own CPU while live at the default refresh (1 s), for 60 s, following a real
#      `ember record` on this host and following gen-history --realtime simulating 64 CPUs,
#      against procps `top -d 1` running in the same terminal server at the same time.
# Times come from EMBER_TOP_TRACE (CLOCK_REALTIME for the launch, per-thread CPU time for keys)
# and from /proc/PID/schedstat (exact run time) for the live CPU. Run as root (the live part
# records). Usage: bench/top.sh [BUILD_DIR]
#   GEN=path/to/gen-history   the history generator (default BUILD_DIR/bench/gen-history)
#   PARTS=123                 which parts to run
#   RT=1                      run the terminal, top and its peer SCHED_FIFO in parts 1 and 2: on
#                             a shared, loaded machine the wall clock then measures top rather than
#                             the queue for the CPU (nice does not help against other sessions'
#                             autogroups; the CPU times do not depend on it). Short runs, and the
#                             kernel's RT throttling keeps 5 % of each CPU for everyone else.
set -u
BUILD=${1:-build}
EMBER=$(realpath "$BUILD/ember")
GEN=${GEN:-$BUILD/bench/gen-history}
PROGS=$(realpath "$BUILD/tests/progs")
RUNS=${RUNS:-11}
DIR=${DIR:-/tmp/ember-bench-top}
LIVE_S=${LIVE_S:-60}
PARTS=${PARTS:-123}
RT=${RT:-0}
RUN=""
[ "$RT" = 1 ] && RUN="chrt -f 10"
PRIO=$([ "$RT" = 1 ] && echo "SCHED_FIFO" || echo "normal priority")
T="tmux -L ember-bench-top-$$ -f /dev/null"
mkdir -p "$DIR"
BG=""
SOCK=""
trap '$T kill-server 2>/dev/null; [ -n "$SOCK" ] && rm -f "$SOCK"; for p in $BG; do kill "$p" 2>/dev/null; done' EXIT

[ -x "$GEN" ] || { echo "top.sh: gen-history not found at $GEN (set GEN=)" >&2; exit 2; }
command -v tmux >/dev/null || { echo "top.sh: tmux is missing" >&2; exit 2; }

stats() { # median, min and max of numbers on stdin, with a unit
	sort -n | awk -v u="$1" '{ v[NR] = $1 } END {
		printf "median %.1f %s (range %.1f .. %.1f, %d runs)\n", v[int((NR + 1) / 2)], u, v[1], v[NR], NR }'
}

schedstat_ns() { # exact CPU time of a process, all its threads
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'
}

wait_trace() { # FILE PATTERN SECONDS
	for _ in $(seq 1 $(($3 * 10))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	echo "top.sh: '$2' never appeared in $1" >&2
	return 1
}

if [ ! -s "$DIR/hour.db" ]; then
	echo "generating an hour of history on 64 CPUs at 19 Hz into $DIR/hour.db" >&2
	"$GEN" --db "$DIR/hour.db" --duration 1h --cpus 64 -F 19 --seed 1 --stats >&2 || exit 1
fi
# The terminal (the tmux server and its shell) at the same priority: a frame is only on screen
# once the terminal has read it.
$RUN $T new-session -d -s b -x 120 -y 40 "bash --norc --noprofile"
SOCK=$($T display-message -p '#{socket_path}')
sleep 0.3

if [[ $PARTS == *1* ]]; then
echo "== 1. first screen on an hour of history ($(du -h "$DIR/hour.db" | cut -f1)), $PRIO"
last=$(sqlite3 "$DIR/hour.db" 'SELECT max(t_end) FROM blocks')
from="@$(awk -v l="$last" 'BEGIN { printf "%.9f", (l - 10e9 + 1) / 1e9 }')"
: >"$DIR/first.wall"
: >"$DIR/first.cpu"
: >"$DIR/export.wall"
for i in $(seq 1 "$RUNS"); do
	rm -f "$DIR/t0" "$DIR/trace"
	$T send-keys -t b "clear; echo \$EPOCHREALTIME > $DIR/t0; EMBER_TOP_TRACE=$DIR/trace $RUN $EMBER top --db $DIR/hour.db -n" Enter
	wait_trace "$DIR/trace" first_screen 30 || exit 1
	awk -v t0="$(cat "$DIR/t0")" '/^first_screen/ {
		split($2, a, "="); split($3, c, "=");
		printf "%.3f\n", (a[2] / 1e9 - t0) * 1e3 > "/dev/stderr"; printf "%.3f\n", c[2] / 1e6 }' \
		"$DIR/trace" 2>>"$DIR/first.wall" >>"$DIR/first.cpu"
	$T send-keys -t b q
	sleep 0.3
	# The peer, in the same round: the same window through `ember export`.
	s=$EPOCHREALTIME
	$RUN "$EMBER" export --db "$DIR/hour.db" --from "$from" >/dev/null
	awk -v s="$s" -v e="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", (e - s) * 1e3 }' >>"$DIR/export.wall"
done
grep -m1 '^refresh' "$DIR/trace" | sed 's/^/   first refresh: /'
echo "   top, launch to first frame, wall: $(stats ms <"$DIR/first.wall")"
echo "   top, CPU time at first frame:     $(stats ms <"$DIR/first.cpu")"
echo "   ember export of the same 10 s:    $(stats ms <"$DIR/export.wall")"
paste "$DIR/first.wall" "$DIR/export.wall" | awk '{ print $1 / $2 }' >"$DIR/ratio"
echo "   ratio top / export, per round:    $(stats x <"$DIR/ratio")"

fi

if [[ $PARTS == *2* ]]; then
echo "== 2. key presses in the flame graph of the whole hour, $PRIO"
rm -f "$DIR/trace"
$T send-keys -t b "clear; EMBER_TOP_TRACE=$DIR/trace $RUN $EMBER top --db $DIR/hour.db -n -w 2h --view flame" Enter
wait_trace "$DIR/trace" '^idle' 120 || exit 1
grep -m1 '^refresh' "$DIR/trace" | sed 's/^/   load: /'
grep -m1 '^first_screen' "$DIR/trace" | sed 's/^/   /'
sleep 1
for k in Up Up Up Right Right Left Up Enter Right Left Escape Down Down G Enter Escape u \
	Right Right Right Up Up Enter u i i r Up Up Right Enter Escape r Left Left Home End \
	Enter Escape u / l o c k Enter n n N n Right u 1 3; do
	$T send-keys -t b "$k"
	sleep 0.25
done
# Keys handled in the flame view; the last two switch to the processes view and back, which
# loads that view's data for the whole hour: reported apart.
grep '^keys.*view=2' "$DIR/trace" | sed 's/.*wall_ns=\([0-9]*\).*/\1/' | awk '{ print $1 / 1e6 }' >"$DIR/keys.wall"
grep '^keys.*view=2' "$DIR/trace" | sed 's/.*cpu_ns=\([0-9]*\).*/\1/' | awk '{ print $1 / 1e6 }' >"$DIR/keys.cpu"
grep '^keys.*view=0' "$DIR/trace" | sed 's/^/   switching to the processes of the whole hour: /' 
echo "   key to frame, wall: $(stats ms <"$DIR/keys.wall"), max $(sort -n "$DIR/keys.wall" | tail -1) ms"
echo "   key to frame, CPU:  $(stats ms <"$DIR/keys.cpu"), max $(sort -n "$DIR/keys.cpu" | tail -1) ms"
$T send-keys -t b q
sleep 0.5
fi

live() { # NAME: measures the running top ($TOP) and procps top ($PEER) over LIVE_S seconds
	local a0 b0 a1 b1
	sleep 5
	a0=$(schedstat_ns "$TOP")
	b0=$(schedstat_ns "$PEER")
	sleep "$LIVE_S"
	a1=$(schedstat_ns "$TOP")
	b1=$(schedstat_ns "$PEER")
	awk -v n="$1" -v a=$((a1 - a0)) -v b=$((b1 - b0)) -v s="$LIVE_S" 'BEGIN {
		printf "   %s: ember top %.2f %% of a CPU (%.1f ms per refresh), procps top %.2f %%, ratio %.2f\n",
			n, a / s / 1e7, a / s / 1e6, b / s / 1e7, (b ? a / b : 0) }'
}

start_tops() { # DB
	$T send-keys -t b "clear; $EMBER top --db $1" Enter
	$T new-window -d -t b: -n peer "top -d 1"
	sleep 2
	TOP=$(pgrep -f -o "^$EMBER top --db $1")
	PEER=$(pgrep -f -n "^top -d 1$")
}

stop_tops() {
	$T send-keys -t b q
	$T kill-window -t b:peer
	sleep 0.5
}

[[ $PARTS == *3* ]] || exit 0
echo "== 3. top's own CPU, live, default refresh, ${LIVE_S}s"
"$PROGS/chain" $((LIVE_S + 30)) >/dev/null &
BG="$BG $!"
rm -f "$DIR"/live.db*
"$EMBER" record --db "$DIR/live.db" -q &
REC=$!
BG="$BG $REC"
sleep 3
start_tops "$DIR/live.db"
live "ember record on this host ($(nproc) CPUs, 19 Hz)"
stop_tops
kill -INT $REC
wait $REC

rm -f "$DIR"/sim.db*
"$GEN" --db "$DIR/sim.db" --duration $((LIVE_S + 30))s --cpus 64 -F 19 --realtime -q &
BG="$BG $!"
sleep 3
start_tops "$DIR/sim.db"
live "gen-history --realtime, 64 CPUs at 19 Hz"
stop_tops
