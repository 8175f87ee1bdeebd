# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Shared helpers for ember's end-to-end tests. CTest sets EMBER (the binary) and PROGS (the
# test workloads). Each test runs in its own temporary directory, removed at exit.
set -u

: "${EMBER:?EMBER must name the ember binary}"
: "${PROGS:?PROGS must name the test programs directory}"
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "/tmp/ember-e2e-$TEST_NAME-XXXXXX")
PIDS_TO_KILL=""

cleanup() {
	for p in $PIDS_TO_KILL; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	exit 1
}

# Skips (exit 77), or fails when CI is set: CI runs as root and must run every test.
skip() {
	if [ -n "${CI:-}" ]; then
		echo "FAIL (CI must not skip): $TEST_NAME: $*" >&2
		exit 1
	fi
	echo "SKIP: $TEST_NAME: $*" >&2
	exit 77
}

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root to load BPF programs"
}

# Starts a background program with SIGINT at its default (non-interactive shells ignore it).
# (Not niced up: a workload above ember's priority starves the collector, which then meets the
# workload's maps only after it exited.)
start_bg() {
	env --default-signal=INT "$@" &
	PIDS_TO_KILL="$PIDS_TO_KILL $!"
	BG_PID=$!
}

# expect_exit CODE CMD...: runs CMD, captures stderr in $WORK/stderr, checks the exit code.
expect_exit() {
	local want=$1 got
	shift
	"$@" >"$WORK/stdout" 2>"$WORK/stderr"
	got=$?
	[ "$got" = "$want" ] || fail "'$*' exited $got, expected $want; stderr: $(cat "$WORK/stderr")"
}

# expect_stderr REGEX: the last expect_exit's stderr matches.
expect_stderr() {
	grep -Eq "$1" "$WORK/stderr" || fail "stderr does not match /$1/: $(cat "$WORK/stderr")"
}

# Sum of the counts of folded lines matching a regex.
folded_count() {
	awk -v re="$1" '$0 ~ re { n += $NF } END { print n + 0 }' "$2"
}

# record_user_stacks DB PID SECONDS [record options...]: records one process at 499 Hz into DB and
# sets US_TOTAL, US_COMPLETE, US_TRUNCATED, US_NOINFO and US_BAD from the summary's user-stack line.
record_user_stacks() {
	local db=$1 pid=$2 secs=$3 line
	shift 3
	expect_exit 0 "$EMBER" record --db "$db" -F 499 --duration "$secs" --pid "$pid" "$@"
	line=$(grep -E '^ember: [0-9]+ user stacks' "$WORK/stderr") ||
		fail "no user-stack summary: $(cat "$WORK/stderr")"
	echo "$line"
	read -r US_TOTAL US_COMPLETE US_TRUNCATED US_NOINFO US_BAD < <(echo "$line" |
		sed -E 's/^ember: ([0-9]+) user stacks \([^)]*\): ([0-9]+) complete[^,]*, ([0-9]+) truncated[^,]*, ([0-9]+) no unwind info[^,]*, ([0-9]+) bad frame.*/\1 \2 \3 \4 \5/')
	[ -n "$US_BAD" ] || fail "cannot parse '$line'"
}

# stack_status DB STATUS: the distinct stacks `ember db info` counts with that status (complete,
# truncated, no unwind info, bad frame, by frame pointers, kernel only).
stack_status() {
	"$EMBER" db info --db "$1" >"$WORK/dbinfo" || fail "ember db info failed on $1"
	sed -nE "s/^user stacks .*[ ,]([0-9]+) $2(,| \().*/\1/p" "$WORK/dbinfo" | grep . ||
		fail "no '$2' in: $(grep '^user stacks' "$WORK/dbinfo")"
}

# at_least PART WHOLE PERCENT WHAT: fails unless PART >= PERCENT % of WHOLE.
at_least() {
	[ "$(($1 * 100))" -ge "$(($2 * $3))" ] || fail "$4: $1 of $2, below $3 %"
}
