#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Bad usage exits 2 with a message; missing privileges or BTF, and unwritable databases, exit 1
# with one sentence naming the problem.
. "$(dirname "$0")/lib.sh"

expect_exit 2 "$EMBER" record --bogus
expect_stderr "unknown option '--bogus'"
expect_exit 2 "$EMBER" record -F 0
expect_stderr "not a frequency from 1 to 1000"
expect_exit 2 "$EMBER" record -F 1001
expect_exit 2 "$EMBER" record -F abc
expect_exit 2 "$EMBER" record --duration -3
expect_stderr "not a duration"
expect_exit 2 "$EMBER" record --pid x
expect_exit 2 "$EMBER" record --db
expect_stderr "needs a value"
expect_exit 2 "$EMBER" record extra
expect_exit 2 "$EMBER" frobnicate
expect_stderr "not an ember command"
expect_exit 2 "$EMBER"
expect_exit 2 "$EMBER" export --format nope
expect_stderr "unknown format 'nope'"
expect_exit 2 "$EMBER" export --from yesterday
expect_stderr "not a time"
expect_exit 2 "$EMBER" export --from -1m --to -2m
expect_stderr "range is empty"
expect_exit 0 "$EMBER" record --help
expect_exit 0 "$EMBER" export --help

# A missing database, a file that is not one, an empty range.
expect_exit 1 "$EMBER" export --db "$WORK/missing.db"
expect_stderr "cannot open the database .*missing.db"
echo "not a database" >"$WORK/text.db"
expect_exit 1 "$EMBER" export --db "$WORK/text.db"
expect_stderr "not an ember database"
[ -e "$WORK/out.folded" ] && fail "output exists before the test"

if [ "$(id -u)" = 0 ]; then
	# No BTF.
	EMBER_BTF_PATH=/nonexistent/vmlinux expect_exit 1 "$EMBER" record --no-config --db "$WORK/x.db" -d 1
	expect_stderr "no BTF type information"
	# Not root: run as nobody.
	expect_exit 1 setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
		"$EMBER" record --no-config --db /tmp/ember-nobody.db -d 1
	expect_stderr "needs root, or the capabilities CAP_BPF and CAP_PERFMON"
	# Unwritable database paths.
	expect_exit 1 "$EMBER" record --db /proc/ember.db -d 1
	expect_stderr "cannot open the database /proc/ember.db"
	touch "$WORK/file"
	expect_exit 1 "$EMBER" record --db "$WORK/file/sub/e.db" -d 1
	expect_stderr "cannot open the database .*: Not a directory"
	# Another collector already writes the database: the second refuses, exit 1.
	start_bg "$EMBER" record --no-config --db "$WORK/busy.db" -q 2>"$WORK/busy.log"
	FIRST=$BG_PID
	for _ in $(seq 100); do
		[ -s "$WORK/busy.db" ] && break
		sleep 0.1
	done
	expect_exit 1 "$EMBER" record --no-config --db "$WORK/busy.db" -d 1
	expect_stderr "cannot open the database .*busy.db: another ember collector is writing to this database"
	kill -INT "$FIRST"
	wait "$FIRST" || fail "the first collector exited $? after the second one was refused"
	# A database the user may not write: an unprivileged user with the recording capabilities.
	mkdir -m 755 "$WORK/ro" && touch "$WORK/ro/e.db" && chmod 644 "$WORK/ro/e.db"
	chmod 755 "$WORK"
	expect_exit 1 setpriv --reuid=nobody --regid=nogroup --clear-groups \
		--inh-caps=-all,+bpf,+perfmon --ambient-caps=-all,+bpf,+perfmon \
		"$EMBER" record --no-config --db "$WORK/ro/e.db" -d 1
	expect_stderr "cannot open the database .*ro/e.db: Permission denied"
	# An invalid config file (tests/e2e/config.sh checks every kind): exit 2, nothing recorded.
	printf '[record]\nfreq = fast\n' >"$WORK/bad.conf"
	expect_exit 2 "$EMBER" record --config "$WORK/bad.conf" --db "$WORK/bad.db" -d 1
	expect_stderr "bad.conf:2: freq: 'fast' is not a frequency"
	[ -e "$WORK/bad.db" ] && fail "a bad config still created the database"
	# An empty range in a real recording: a message, exit 1, no output file left behind.
	expect_exit 0 "$EMBER" record --db "$WORK/e.db" -d 1
	expect_exit 1 "$EMBER" export --db "$WORK/e.db" --from 2000-01-01 --to 2000-01-02 -o "$WORK/out.folded"
	expect_stderr "no samples match"
	[ -e "$WORK/out.folded" ] && fail "a failed export left its output file"
	ls "$WORK" | grep -q 'out.folded.tmp' && fail "a failed export left its temporary file"
	# Devices and FIFOs are written in place, never replaced; a symlink keeps pointing at its file.
	expect_exit 0 "$EMBER" export --db "$WORK/e.db" -o /dev/null
	[ -c /dev/null ] || fail "exporting to /dev/null replaced the device"
	mkfifo "$WORK/fifo"
	cat "$WORK/fifo" >"$WORK/from-fifo" &
	expect_exit 0 "$EMBER" export --db "$WORK/e.db" -o "$WORK/fifo"
	wait $!
	[ -p "$WORK/fifo" ] && [ -s "$WORK/from-fifo" ] || fail "exporting to a FIFO did not write through it"
	touch "$WORK/target.folded"
	ln -s "$WORK/target.folded" "$WORK/link.folded"
	expect_exit 0 "$EMBER" export --db "$WORK/e.db" -o "$WORK/link.folded"
	[ -L "$WORK/link.folded" ] && [ -s "$WORK/target.folded" ] || fail "exporting through a symlink replaced the link"
	# Export to an unwritable place.
	expect_exit 1 "$EMBER" export --db "$WORK/e.db" -o /proc/out.folded
	expect_stderr "cannot write /proc/out.folded"
else
	skip "the privilege, BTF and database checks need root"
fi
exit 0
