#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# dlopen: a process first sampled before it loads libz, then spinning in libz's adler32(): the
# address outside every mapping of the first snapshot re-reads the maps, and the samples name
# adler32 in libz. The process stays alive until the recording ends; a library dlopen'ed by a
# process that exits before the collector reads its maps is dlopen_exited.sh.
. "$(dirname "$0")/lib.sh"
need_root
[ -e /lib/x86_64-linux-gnu/libz.so.1 ] || [ -e /usr/lib/x86_64-linux-gnu/libz.so.1 ] ||
	skip "libz.so.1 is not installed"

start_bg "$EMBER" record --db "$WORK/e.db" -F 199 --duration 5 -q
REC=$BG_PID
sleep 1
"$PROGS/dlopen_spin" 1.5 2 4 >/dev/null &
P=$!
PIDS_TO_KILL="$PIDS_TO_KILL $P"
wait "$REC" || fail "ember record failed"
wait "$P" || fail "dlopen_spin failed"
"$EMBER" export --db "$WORK/e.db" --pid "$P" -o "$WORK/p.folded" || fail "export failed"
before=$(folded_count ';main(;| )' "$WORK/p.folded")
adler=$(folded_count ';adler32' "$WORK/p.folded")
unknown=$(folded_count '\[unknown\]' "$WORK/p.folded")
echo "dlopen: $before samples in main before, $adler in adler32 after, $unknown with unknown frames"
[ "$before" -ge 10 ] || fail "the process was not sampled before its dlopen ($before)"
[ "$adler" -ge 10 ] || fail "only $adler samples name adler32 after the dlopen"
[ $((unknown * 10)) -le "$adler" ] || fail "$unknown samples kept unknown frames"
exit 0
