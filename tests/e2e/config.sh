#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The config file: every `record` option is a key of [record]; the command line overrides the
# file; a bad key, value or line is reported as FILE:LINE and ember refuses to start (exit 2);
# SIGHUP re-reads the file (a bad file keeps the running configuration); under systemd (stderr
# is the journal's stream) every line carries its sd-daemon priority.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CONF="$WORK/ember.conf"

# The shipped file names every option of `ember record --help` and, uncommented, is valid.
"$EMBER" record --help >"$WORK/help"
keys=$(grep -oE -- '--[a-z][a-z-]*' "$WORK/help" | sed 's/^--//' | grep -vxE 'help|config|no-config' | sort -u)
[ -n "$keys" ] || fail "no options in record --help"
for k in $keys; do
	grep -qE "^#?$k = " "$SRC/dist/ember.conf" || fail "dist/ember.conf does not document '$k'"
done
sed -E 's/^#([a-z_-]+ = )/\1/' "$SRC/dist/ember.conf" | grep -vE '^(pid|duration) = ' >"$WORK/shipped.conf"

bad() { # bad LINE-REGEX TEXT...: the file made of TEXT is refused with the message
	local want=$1
	shift
	printf '%s\n' "$@" >"$CONF"
	expect_exit 2 "$EMBER" record --config "$CONF" --db "$WORK/never.db" -d 1
	expect_stderr "$want"
	[ -e "$WORK/never.db" ] && fail "ember started despite a bad config"
	return 0
}
bad "ember.conf:3: unknown key 'frequency' in \[record\]" '[record]' 'freq = 10' 'frequency = 10'
bad "ember.conf:2: freq: '5000' is not a frequency from 1 to 1000 Hz" '[record]' 'freq = 5000'
bad "ember.conf:4: quiet: 'maybe' is not true or false" '# c' '[record]' '' 'quiet = maybe'
bad "ember.conf:2: pid: '1,x' is not a process id" '[record]' 'pid = 1,x'
bad "ember.conf:2: max-cpu: '0' is not a percentage above 0" '[record]' 'max-cpu = 0'
bad "ember.conf:2: duration: no value given" '[record]' 'duration ='
bad "ember.conf:2: expected 'key = value' or '\[section\]'" '[record]' 'freq 10'
bad "ember.conf:1: 'freq' is outside a section \(put it under \[record\]\)" 'freq = 10'
bad "ember.conf:1: unknown section \[recrod\]" '[recrod]' 'freq = 10'
bad "ember.conf:2: the line is too long" '[record]' "db = /$(printf 'x%.0s' $(seq 300))"
bad "ember.conf:2: unknown key 'help'" '[record]' 'help = true'
# A named file that cannot be read: exit 1.
expect_exit 1 "$EMBER" record --config "$WORK/missing.conf" -d 1
expect_stderr "cannot read the config file .*missing.conf: No such file or directory"
# Sections of other commands are not errors.
printf '[top]\nanything = 1\n[record]\nfreq = 10\n' >"$CONF"
"$EMBER" record --config "$CONF" --help >/dev/null || fail "--help failed with a valid config"

if [ "$(id -u)" != 0 ]; then
	skip "recording needs root"
fi
# The shipped file, every key uncommented, is valid (its database overridden).
expect_exit 0 "$EMBER" record --config "$WORK/shipped.conf" --db "$WORK/s.db" -d 1
expect_stderr " at 19 Hz "
# The file's values apply; the command line overrides them; --no-config ignores the file.
printf '[record]\nfreq = 37\nquiet = false\nduration = 1\n' >"$CONF"
expect_exit 0 "$EMBER" record --config "$CONF" --db "$WORK/a.db"
expect_stderr " at 37 Hz "
expect_exit 0 "$EMBER" record --config "$CONF" --db "$WORK/a.db" -F 23
expect_stderr " at 23 Hz "
printf '[record]\nfreq = 37\nquiet = true\nduration = 1\n' >"$CONF"
expect_exit 0 "$EMBER" record --config "$CONF" --db "$WORK/a.db"
[ -s "$WORK/stderr" ] && fail "quiet = true still printed: $(cat "$WORK/stderr")"
expect_exit 0 "$EMBER" record --config "$CONF" --no-config --db "$WORK/a.db" -d 1
expect_stderr " at 19 Hz "
# A list on the command line replaces the file's list: the file's pid is not sampled.
start_bg "$PROGS/chain" 60 >/dev/null
A=$BG_PID
start_bg "$PROGS/chain" 60 >/dev/null
B=$BG_PID
printf '[record]\npid = %s\nduration = 1.5\nfreq = 99\n' "$A" >"$CONF"
expect_exit 0 "$EMBER" record --config "$CONF" --db "$WORK/p.db" --pid "$B"
"$EMBER" export --db "$WORK/p.db" --pid "$A" -o "$WORK/a.folded" 2>/dev/null
[ -s "$WORK/a.folded" ] && fail "the file's pid was sampled though --pid replaced it"
"$EMBER" export --db "$WORK/p.db" --pid "$B" -o "$WORK/b.folded" || fail "--pid $B has no samples"
kill "$A" "$B"

# SIGHUP: 10 Hz, then 200 Hz from the rewritten file; a broken file then changes nothing.
printf '[record]\nfreq = 10\n' >"$CONF"
start_bg "$EMBER" record --config "$CONF" --db "$WORK/h.db" 2>"$WORK/hup.log"
REC=$BG_PID
sleep 2
printf '[record]\nfreq = 200\n' >"$CONF"
kill -HUP "$REC"
sleep 2
printf '[record]\nfreq = oops\n' >"$CONF"
kill -HUP "$REC"
sleep 0.5
kill -0 "$REC" 2>/dev/null || fail "a bad config on SIGHUP stopped the collector: $(cat "$WORK/hup.log")"
kill -INT "$REC"
wait "$REC" || fail "the collector exited $? after the reloads: $(cat "$WORK/hup.log")"
grep -q "SIGHUP: sampling at 200 Hz (was 10 Hz)" "$WORK/hup.log" || fail "no reload: $(cat "$WORK/hup.log")"
grep -q "ember.conf:2: freq: 'oops' is not a frequency" "$WORK/hup.log" ||
	fail "the bad reload was not reported with its line: $(cat "$WORK/hup.log")"
grep -q "going on with the old one" "$WORK/hup.log" || fail "the bad reload did not say it kept the old config"
n=$(sed -nE 's/^ember: ([0-9]+) samples in .* at 200 Hz .*/\1/p' "$WORK/hup.log")
# About 2 s at 10 Hz and 2.5 s at 200 Hz on every CPU: far above 2 x 4.5 s x 10 Hz.
ncpu=$(nproc)
[ -n "$n" ] && [ "$n" -gt $((ncpu * 400)) ] ||
	fail "'$n' samples after the switch to 200 Hz on $ncpu CPUs (expected > $((ncpu * 400)))"
echo "SIGHUP: $n samples, at 200 Hz after the reload"

# --max-cpu: a limit far below what 999 Hz costs lowers the rate, and says so.
expect_exit 0 "$EMBER" record --no-config --db "$WORK/m.db" -F 999 --max-cpu 0.01 -d 11
expect_stderr "own CPU use is [0-9.]+% of a CPU, above --max-cpu 0.01%: sampling at [0-9]+ Hz \(was 999 Hz\)"
hz=$(sed -nE 's/^ember: [0-9]+ samples in .* at ([0-9]+) Hz .*/\1/p' "$WORK/stderr")
[ -n "$hz" ] && [ "$hz" -lt 999 ] || fail "--max-cpu left the rate at '$hz' Hz"
echo "--max-cpu 0.01: ended at $hz Hz"

# Under systemd: "<N>" priority prefixes instead of "ember: ".
exec 3>&2 2>"$WORK/journal.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/journal.log") \
	"$EMBER" record --no-config --db "$WORK/j.db" -d 1
JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/journal.log") \
	"$EMBER" record --no-config --db /proc/nope.db -d 1
exec 2>&3 3>&-
grep -qE '^<6>[0-9]+ samples in ' "$WORK/journal.log" || fail "no <6> summary: $(cat "$WORK/journal.log")"
grep -qE '^<3>cannot open the database /proc/nope.db' "$WORK/journal.log" ||
	fail "no <3> error: $(cat "$WORK/journal.log")"
grep -q '^ember: ' "$WORK/journal.log" && fail "'ember: ' prefixes on the journal stream"
# Not the journal's stream (a stale JOURNAL_STREAM): plain lines.
JOURNAL_STREAM=1:1 expect_exit 0 "$EMBER" record --no-config --db "$WORK/j.db" -d 1
expect_stderr '^ember: [0-9]+ samples'
exit 0
