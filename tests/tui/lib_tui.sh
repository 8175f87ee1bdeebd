# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Helpers for driving `ember top` in a real terminal: a private tmux server (its own socket, no
# user configuration), one window of a chosen size running a plain shell, keys sent with
# send-keys, the screen read with capture-pane, and the terminal's state (stty and tmux's view of
# the modes the program may leave behind) compared before and after. Sources ../e2e/lib.sh.
. "$(dirname "$0")/../e2e/lib.sh"

command -v tmux >/dev/null || skip "tmux is not installed (scripts/setup.sh installs it)"
TMUX_SOCK="ember-$TEST_NAME-$$"
T="tmux -L $TMUX_SOCK -f /dev/null"
PANE="top:0.0"

tui_cleanup() {
	local sock
	sock=$($T display-message -p '#{socket_path}' 2>/dev/null)
	$T kill-server 2>/dev/null
	# The server leaves its socket behind.
	[ -n "$sock" ] && rm -f "$sock"
	cleanup
}
trap tui_cleanup EXIT

# tui_open COLS ROWS: a detached session with a shell, at that size.
tui_open() {
	$T new-session -d -s top -x "$1" -y "$2" "env PS1='$ ' bash --norc --noprofile" ||
		fail "tmux cannot start"
	$T set -g default-terminal screen-256color >/dev/null
	$T set -g history-limit 0 >/dev/null
	sleep 0.2
}

tui_send() { $T send-keys -t "$PANE" "$@"; }
tui_type() { $T send-keys -t "$PANE" -l "$1"; }
tui_screen() { $T capture-pane -t "$PANE" -p; }
tui_resize() { $T resize-window -t top -x "$1" -y "$2"; }

# The modes a full-screen program changes, as tmux sees them: alternate screen, cursor shown,
# keypad modes, mouse reporting, insert, wrap and origin modes.
tui_modes() {
	$T display-message -p -t "$PANE" \
		'alt=#{alternate_on} cursor=#{cursor_flag} kcursor=#{keypad_cursor_flag} keypad=#{keypad_flag} mouse=#{mouse_any_flag}#{mouse_standard_flag}#{mouse_button_flag}#{mouse_sgr_flag}#{mouse_utf8_flag} insert=#{insert_flag} wrap=#{wrap_flag} origin=#{origin_flag}'
}

# tui_wait REGEX [SECONDS]: waits until the screen matches (extended regex), else fails with it.
tui_wait() {
	local re=$1 limit=${2:-10} i=0
	while [ "$i" -lt $((limit * 10)) ]; do
		tui_screen | grep -Eq -- "$re" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	fail "the screen never showed /$re/ in ${limit}s; it shows:
$(tui_screen)
ember top's stderr: $(cat "$WORK/top.err" 2>/dev/null)"
}

# tui_wait_file FILE [SECONDS]
tui_wait_file() {
	local i=0
	while [ "$i" -lt $((${2:-10} * 10)) ]; do
		[ -s "$1" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	fail "$1 never appeared; the screen shows:
$(tui_screen)"
}

# tui_run_top ARGS...: saves the terminal's state, then runs `ember top ARGS` in the pane's shell;
# its exit status lands in $WORK/exit when it ends, its stderr in $WORK/top.err.
tui_run_top() {
	rm -f "$WORK/exit" "$WORK/stty.before" "$WORK/stty.after"
	tui_type "stty -a > $WORK/stty.before"
	tui_send Enter
	tui_wait_file "$WORK/stty.before" 5
	tui_modes >"$WORK/modes.before"
	tui_type "$EMBER top $* 2>$WORK/top.err; echo \$? > $WORK/exit; stty -a > $WORK/stty.after"
	tui_send Enter
}

# tui_expect_exit CODE: waits for `ember top` to end with CODE, then checks the terminal is as
# it was: the same termios settings and the same modes.
tui_expect_exit() {
	tui_wait_file "$WORK/exit" 10
	tui_wait_file "$WORK/stty.after" 5
	[ "$(cat "$WORK/exit")" = "$1" ] ||
		fail "ember top exited $(cat "$WORK/exit"), expected $1; stderr: $(cat "$WORK/top.err")"
	# The size may differ if the test resized the window meanwhile; everything else may not.
	diff <(sed 's/rows [0-9]*; columns [0-9]*;//' "$WORK/stty.before") \
		<(sed 's/rows [0-9]*; columns [0-9]*;//' "$WORK/stty.after") >&2 ||
		fail "stty -a differs after ember top"
	tui_modes >"$WORK/modes.after"
	diff "$WORK/modes.before" "$WORK/modes.after" >&2 ||
		fail "the terminal's modes differ after ember top"
	grep -q 'alt=0' "$WORK/modes.after" || fail "still on the alternate screen"
}

# tui_click X Y: a left click (press, release) at 0-based column X, row Y, as X10 mouse reports
# (ESC [ M, then 32 + button, 32 + column, 32 + row, 1-based; button 3 is the release). X and Y
# must stay under 95 so every byte is ASCII.
tui_click() {
	local cx cy
	cx=$(printf "\\x%x" $((33 + $1)))
	cy=$(printf "\\x%x" $((33 + $2)))
	tui_type "$(printf "\e[M $cx$cy")"
	tui_type "$(printf "\e[M#$cx$cy")"
}

# tui_drag X1 Y1 X2 Y2 REGEX: presses at one cell, releases at another, until the screen matches
# (up to three times, as tui_click_until).
tui_drag() {
	for _ in 1 2 3; do
		tui_type "$(printf "\e[M $(printf '\\x%x\\x%x' $((33 + $1)) $((33 + $2)))")"
		tui_type "$(printf "\e[M#$(printf '\\x%x\\x%x' $((33 + $3)) $((33 + $4)))")"
		for _ in $(seq 1 20); do
			tui_screen | grep -Eq -- "$5" && return 0
			sleep 0.1
		done
	done
	fail "dragging from $1,$2 to $3,$4 never showed /$5/; the screen shows:
$(tui_screen)"
}

# tui_click_until X Y REGEX: clicks until the screen matches (up to three times: on a loaded
# machine the terminal may deliver a report's escape apart from the rest after ncurses' 25 ms).
tui_click_until() {
	for _ in 1 2 3; do
		tui_click "$1" "$2"
		for _ in $(seq 1 20); do
			tui_screen | grep -Eq -- "$3" && return 0
			sleep 0.1
		done
	done
	fail "clicking at $1,$2 never showed /$3/; the screen shows:
$(tui_screen)"
}

# The pid of the `ember top` running in the pane.
tui_top_pid() {
	pgrep -f -o "^$EMBER top" || fail "ember top is not running"
}

# record_chain DB [SECONDS]: records the chain workload alone into DB (needs root).
record_chain() {
	start_bg "$PROGS/chain" $((${2:-3} + 3))
	CHAIN=$BG_PID
	sleep 0.3
	"$EMBER" record --db "$1" -F 499 --duration "${2:-3}" --pid "$CHAIN" -q ||
		fail "ember record failed"
}
