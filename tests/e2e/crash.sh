#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Crash safety, the short version of bench/crash.sh: bench/gen-history killed (-9) ten times at
# random moments while it flushes, merges and rolls up, and (as root) the real collector three
# times; after every kill the database opens, `ember db check` passes and every acknowledged
# flush is there.
. "$(dirname "$0")/lib.sh"
CRASH="$(cd "$(dirname "$0")/../../bench" && pwd)/crash.sh"

DB="$WORK/gen.db" SEED=7 bash "$CRASH" 10 gen >"$WORK/gen.out" 2>&1 ||
	fail "gen-history: $(tail -5 "$WORK/gen.out")"
tail -1 "$WORK/gen.out"
if [ "$(id -u)" = 0 ]; then
	DB="$WORK/rec.db" SEED=8 bash "$CRASH" 3 record >"$WORK/rec.out" 2>&1 ||
		fail "ember record: $(tail -5 "$WORK/rec.out")"
	tail -1 "$WORK/rec.out"
else
	skip "killing the real collector needs root"
fi
exit 0
