#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `ember top` when things are not as they should be: not a terminal (exit 2, pointing to report
# and export), an unknown terminal type, a file that is not a database, a database that turns out
# corrupt after the screen is up (exit 1 with the reason), a terminal too small (a message until
# it grows), no colours; and the terminal restored exactly after SIGTERM, ^C, a crash (SIGSEGV),
# and the terminal itself going away (the process must end, not spin).
. "$(dirname "$0")/lib_tui.sh"

# Not a terminal.
expect_exit 2 "$EMBER" top --db "$WORK/none.db" </dev/null
expect_stderr 'must be a terminal'
expect_stderr 'ember report'
expect_stderr 'ember export'
# Bad usage still comes first.
expect_exit 2 "$EMBER" top --view nowhere </dev/null
expect_stderr "not one of processes"

tui_open 100 30

# Not an ember database: the reason, exit 1, and the terminal as it was.
for i in $(seq 1 50); do echo "not a database, line $i"; done >"$WORK/text.db"
tui_run_top --db "$WORK/text.db" --no-record
tui_expect_exit 1
grep -q 'not an ember database' "$WORK/top.err" || fail "no reason given: $(cat "$WORK/top.err")"

# A terminal type terminfo does not know.
tui_type "TERM=no-such-terminal $EMBER top --db $WORK/text.db -n 2>$WORK/term.err; echo \$? > $WORK/term.exit"
tui_send Enter
tui_wait_file "$WORK/term.exit"
[ "$(cat "$WORK/term.exit")" = 1 ] || fail "unknown TERM: exit $(cat "$WORK/term.exit")"

need_root
record_chain "$WORK/chain.db" 2
CHAIN_CG=$(sed -n 's/^0:://p' "/proc/$CHAIN/cgroup")

# Too small at start: a message until the terminal grows.
tui_resize 50 12
tui_run_top --db "$WORK/chain.db" --no-record
tui_wait 'needs 60x16; this terminal is 50x12'
tui_resize 100 30
tui_wait 'HOTTEST FUNCTION'

# SIGTERM ends top as q does (and as it ends `ember record`): the terminal restored, exit 0.
kill -TERM "$(tui_top_pid)"
tui_expect_exit 0

# ^C (SIGINT from the terminal): the same.
tui_run_top --db "$WORK/chain.db" --no-record
tui_wait 'HOTTEST FUNCTION'
tui_send C-c
tui_expect_exit 0

# A crash: the fatal-signal handler restores the terminal before the default action.
tui_run_top --db "$WORK/chain.db" --no-record
tui_wait 'HOTTEST FUNCTION'
kill -SEGV "$(tui_top_pid)"
tui_expect_exit 139

# The cgroup filter: the chain's own cgroup (by path) keeps it; another one leaves nothing.
tui_run_top --db "$WORK/chain.db" --no-record --cgroup "$CHAIN_CG"
tui_wait 'chain +chain_leaf_b'
tui_wait '\[filtered\]'
tui_send '\'
tui_send C-u
tui_type "cgroup:4242424242"
tui_send Enter
tui_wait 'No samples in this window for this filter'
tui_send q
tui_expect_exit 0

# No colours: with NO_COLOR, nothing on screen carries a colour.
tui_type "export NO_COLOR=1"
tui_send Enter
tui_run_top --db "$WORK/chain.db" --no-record --view flame
tui_wait 'chain_leaf_b'
if $T capture-pane -t "$PANE" -p -e | grep -qE $'\e\\[[0-9;]*(3[0-7]|4[0-7]|38;5|48;5)[;m]'; then
	fail "colours shown with NO_COLOR"
fi
tui_send q
tui_expect_exit 0
tui_type "unset NO_COLOR"
tui_send Enter

# A database corrupt beyond its header: the screen is up when reading fails; the reason, exit 1,
# the terminal restored.
cp "$WORK/chain.db" "$WORK/corrupt.db"
sqlite3 "$WORK/corrupt.db" "UPDATE blocks SET data = x'00112233'" || fail "sqlite3 failed"
tui_run_top --db "$WORK/corrupt.db" --no-record
tui_expect_exit 1
grep -q 'corrupt' "$WORK/top.err" || fail "no reason given: $(cat "$WORK/top.err")"

# The terminal goes away (its window closed): ember top ends by itself.
$T new-window -t top -d -n gone "$EMBER top --db $WORK/chain.db --no-record"
sleep 1
pid=$(pgrep -f -n "^$EMBER top --db $WORK/chain.db --no-record$") || fail "top did not start"
$T kill-window -t top:gone
for i in $(seq 1 30); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
	kill -9 "$pid"
	fail "ember top kept running after its terminal went away"
fi
exit 0
