#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `ember doctor`: one line per check, each ok / degraded / broken; exit 0 when recording can work
# (as root here), 1 when something is broken (no BTF; no privileges), with the fix named. The
# binaries of the busiest processes are read from the database: a frame-pointer build with debug
# info is ok, the same program without its debug info is degraded and says what is lost.
. "$(dirname "$0")/lib.sh"

expect_exit 2 "$EMBER" doctor --bogus
expect_stderr "unknown option '--bogus'"
expect_exit 0 "$EMBER" doctor --help

# Without privileges: the capabilities line is broken with its fix, exit 1; the checks that
# need no privilege still run.
if [ "$(id -u)" = 0 ]; then
	expect_exit 1 setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
		--bounding-set=-all "$EMBER" doctor --db "$WORK/none.db"
	grep -Eq '^broken +capabilities +.*fix: run as root' "$WORK/stdout" ||
		fail "no broken capabilities line as nobody: $(cat "$WORK/stdout")"
	grep -Eq '^ok +kernel ' "$WORK/stdout" || fail "no kernel line as nobody"
	grep -q 'recording cannot work here' "$WORK/stdout" || fail "no verdict as nobody"
fi
need_root

# An invalid config file: broken, with its line.
printf '[record]\nfreq = 5000\n' >"$WORK/bad.conf"
expect_exit 1 "$EMBER" doctor --config "$WORK/bad.conf" --db "$WORK/none.db"
grep -Eq "^broken +config +.*bad.conf:2: freq: '5000' is not a frequency" "$WORK/stdout" ||
	fail "no broken config line: $(cat "$WORK/stdout")"
# A valid one names the database that is checked.
printf '[record]\ndb = %s/named.db\n' "$WORK" >"$WORK/good.conf"
expect_exit 0 "$EMBER" doctor --config "$WORK/good.conf"
grep -Eq "^ok +free space +.* for $WORK/named.db" "$WORK/stdout" ||
	fail "the config's database was not the one checked: $(cat "$WORK/stdout")"

# No BTF: broken, with the fix.
EMBER_BTF_PATH=/nonexistent/vmlinux expect_exit 1 "$EMBER" doctor --db "$WORK/none.db"
grep -Eq '^broken +btf +.*CONFIG_DEBUG_INFO_BTF=y' "$WORK/stdout" || fail "no broken btf line: $(cat "$WORK/stdout")"

# Two busy programs, one with debug info, one stripped of it (both keep frame pointers).
cp "$PROGS/chain" "$WORK/chain_dbg"
cp "$PROGS/chain" "$WORK/chain_nodbg"
strip -g "$WORK/chain_nodbg"
start_bg "$WORK/chain_dbg" 60 >/dev/null
A=$BG_PID
start_bg "$WORK/chain_nodbg" 60 >/dev/null
B=$BG_PID
# Only these two: the machine may be busy with other work.
expect_exit 0 "$EMBER" record --no-config --db "$WORK/e.db" -F 99 -d 2 --pid "$A,$B"
expect_exit 0 "$EMBER" doctor --db "$WORK/e.db"
cat "$WORK/stdout"
for check in config kernel btf perf_event_paranoid kptr_restrict capabilities event 'ring buffer' \
	'free space'; do
	grep -Eq "^(ok|degraded|broken) +$check " "$WORK/stdout" || fail "no '$check' line"
done
grep -Eq '^broken' "$WORK/stdout" && fail "a check is broken as root on this machine"
grep -Eq '^(ok +event +hardware cycles|degraded +event +no hardware cycles.*cpu-clock)' "$WORK/stdout" ||
	fail "the event line names neither cycles nor the cpu-clock fallback"
grep -q "from the database's last 10 minutes" "$WORK/stdout" || fail "the binaries were not read from the database"
grep -Eq "^ok +chain_dbg +.*: frame pointers, unwind tables, debug info" "$WORK/stdout" ||
	fail "chain_dbg (frame pointers, debug info) is not ok"
grep -Eq "^degraded +chain_nodbg +.*: frame pointers; unwind tables; no debug info \(function names only, no file:line" "$WORK/stdout" ||
	fail "chain_nodbg (no debug info) is not degraded with the reason"
grep -q '^recording can work here' "$WORK/stdout" || fail "no verdict"
exit 0
