#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `ember top` on a recording of the chain workload (main;chain_run;chain_mid1;chain_mid2;
# chain_leaf_a/chain_leaf_b at 1:2), in a real terminal: the hot function in the processes,
# functions and flame views; the flame graph's cursor, zoom and search; view switching by number,
# Tab, Shift-Tab and mouse; the help; resizing down to too small and back; no full-screen clears
# while keys are pressed; q restores the terminal exactly.
. "$(dirname "$0")/lib_tui.sh"
need_root

record_chain "$WORK/chain.db" 3
tui_open 100 30
tui_run_top --db "$WORK/chain.db" --no-record

# Processes: the chain process, its hottest function, and the latest data without a collector.
tui_wait 'LATEST'
tui_wait "^ +$CHAIN +root +[0-9.]+ .*chain +chain_leaf_b"
tui_screen | grep -q 'HOTTEST FUNCTION' || fail "no processes heading"

# Functions: chain_leaf_b first, with about 2/3 of the samples as self.
tui_send 2
tui_wait 'SELF%'
row=$(tui_screen | grep -m1 -E '^ +[0-9.]+% ')
echo "functions: $row"
echo "$row" | grep -q 'chain_leaf_b' || fail "chain_leaf_b is not the top function: $row"
self=$(echo "$row" | awk '{ sub("%", "", $1); print int($1) }')
[ "$self" -ge 55 ] && [ "$self" -le 76 ] || fail "chain_leaf_b self is $self%, expected about 66%"
# Enter: its callers and callees; chain_mid2 calls it.
tui_send Enter
tui_wait 'CALLERS'
tui_screen | grep -A2 CALLERS | grep -q chain_mid2 || fail "chain_mid2 is not a caller:
$(tui_screen)"
tui_send Escape
tui_wait 'SELF%'

# Flame graph: the chain, bottom to top, and the status line under the cursor.
tui_send 3
tui_wait 'Flame graph'
for f in chain_run chain_mid1 chain_mid2 chain_leaf_a chain_leaf_b; do
	tui_screen | grep -q "$f" || fail "$f is not in the flame graph:
$(tui_screen)"
done
# The rows keep the call order: chain_mid2 is drawn above chain_mid1, and the leaves above it.
order=$(tui_screen | grep -n -E 'chain_(mid1|mid2|leaf_b)' | cut -d: -f1 | tr '\n' ' ')
set -- $order
[ "$#" -ge 3 ] && [ "$1" -lt "$2" ] && [ "$2" -lt "$3" ] || fail "rows out of order: $order"
# G follows the widest path to its leaf: chain_leaf_b, with its samples and share.
tui_send G
tui_wait '^chain_leaf_b +[0-9]+ samples +[0-9.]+%'
tui_send Enter
tui_wait 'zoom: chain_leaf_b'
tui_send Escape
tui_wait 'zoom: chain_mid2'
tui_send Down Down
tui_wait '^chain_mid1 +[0-9]+ samples'
tui_send u
sleep 0.3
tui_screen | grep -q 'zoom:' && fail "u did not zoom all the way out"
# Search: chain_leaf_a holds a third of the leaf samples.
tui_send /
tui_type 'leaf_a'
tui_send Enter
tui_wait 'search /leaf_a/: [0-9.]+% matched'
share=$(tui_screen | grep -o 'search /leaf_a/: [0-9.]*%' | grep -o '[0-9.]*%' | tr -d %)
echo "leaf_a matched $share%"
awk -v s="$share" 'BEGIN { exit !(s >= 25 && s <= 42) }' ||
	fail "leaf_a matched $share%, expected about 33%"
tui_send n
tui_wait '^chain_leaf_a +[0-9]+ samples'
# The reversed view starts from the leaves.
tui_send r
tui_wait 'Callers \(reversed\)'
tui_send r i
tui_wait 'Flame graph, icicle'

# View switching: Tab, Shift-Tab (BTab), numbers, and a mouse click on a tab.
tui_send Tab
tui_wait 'Heatmap +a column per second'
tui_send Tab
tui_wait 'HOTTEST FUNCTION'
tui_send BTab
tui_wait 'a column per second'
# A left click on the "2 Functions" tab (0-based column 17 of row 1).
tui_click_until 17 1 'SELF%'
tui_send '?'
tui_wait 'Everywhere'
tui_screen | grep -q 'zoom' || fail "the help does not list the flame graph keys"
tui_send Escape
tui_wait 'SELF%'

# The heatmap: mark a start with m, move, Enter: the flame graph of exactly that range.
tui_send 4
tui_wait 'a column per second'
tui_send h h m l j j Enter
tui_wait 'HISTORY +[0-9:.]+ to [0-9:.]+'
tui_wait 'Flame graph(, icicle)? +[0-9]+ samples'
tui_wait 'chain_leaf_b'
tui_send L
tui_wait 'LATEST'
# The same with the mouse, at 80 columns so X10 reports stay in ASCII: the map starts at column
# 7 and row 3 (0-based), one column per second, 72 columns; a drag from the fourth-last second's
# first row to the last second's fourth row.
tui_resize 80 24
tui_send 4
tui_wait 'a column per second'
tui_drag 75 3 78 6 'HISTORY +[0-9:.]+ to [0-9:.]+'
tui_wait 'Flame graph(, icicle)? +[0-9]+ samples'
tui_send L
tui_wait 'LATEST'
# A resize repaints the whole terminal, rightly: let it happen before watching for clears.
tui_resize 100 30
tui_wait '4 Heatmap'
sleep 0.5

# No flicker: pressing keys never clears the whole screen.
$T pipe-pane -t "$PANE" -o "cat > $WORK/pane.out"
tui_send 1
sleep 0.2
tui_send 3 Left Right Up Down 2 j j k 4 h l 1
sleep 0.5
$T pipe-pane -t "$PANE"
[ -s "$WORK/pane.out" ] || fail "no output captured while pressing keys"
clear_seq=$(TERM=screen-256color tput clear)
if grep -qF "$clear_seq" "$WORK/pane.out"; then
	fail "the screen was cleared while keys were pressed (flicker)"
fi

# Resize: smaller, too small (a message), and back.
tui_resize 80 24
tui_wait 'HOTTEST'
tui_wait '4 Heatmap'
tui_wait "chain +chain_leaf_b"
tui_send 3
tui_wait 'chain_leaf_b'
tui_resize 50 12
tui_wait 'needs 60x16'
tui_resize 100 30
tui_wait 'chain_leaf_b'

tui_send q
tui_expect_exit 0
exit 0
