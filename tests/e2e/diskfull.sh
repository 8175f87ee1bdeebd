#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# A full disk: `ember record` into a 4 MiB tmpfs, then fill it. The collector says so once, keeps
# samples to retry, drops (and counts) those beyond --max-pending, and goes on by itself when
# space returns; the database passes `ember db check` and holds the samples after the return.
. "$(dirname "$0")/lib.sh"
need_root

M="$WORK/small"
mkdir "$M"
mount -t tmpfs -o size=4m,mode=0750 tmpfs "$M" || skip "cannot mount a tmpfs here"
trap 'umount -l "$M" 2>/dev/null; cleanup' EXIT
DB="$M/e.db"

# 999 Hz on every CPU: thousands of samples a second, so --max-pending 3000 overflows quickly.
env --default-signal=INT "$EMBER" record --db "$DB" -F 999 --max-pending 3000 2>"$WORK/rec.err" &
REC=$!
PIDS_TO_KILL="$PIDS_TO_KILL $REC"
for _ in $(seq 50); do
	"$EMBER" db info --db "$DB" 2>/dev/null | grep -Eq '^samples +[1-9]' && break
	sleep 0.2
done
"$EMBER" db info --db "$DB" >/dev/null || fail "no database before the disk filled"

# Fill the disk, and keep it full for a while.
dd if=/dev/zero of="$M/filler" bs=64k status=none 2>/dev/null
sleep 5
grep -q 'cannot write to the database .*no space left on the device' "$WORK/rec.err" ||
	fail "no clear message about the full disk: $(cat "$WORK/rec.err")"
grep -q 'dropped [0-9]* samples' "$WORK/rec.err" ||
	fail "no samples dropped beyond --max-pending: $(cat "$WORK/rec.err")"
[ "$(grep -c 'cannot write to the database' "$WORK/rec.err")" = 1 ] ||
	fail "the message about the full disk repeats: $(cat "$WORK/rec.err")"

# Give the space back: writing resumes by itself.
rm -f "$M/filler"
back=$(date +%s)
sleep 4
grep -q 'writing to the database works again' "$WORK/rec.err" ||
	fail "no word that writing works again: $(cat "$WORK/rec.err")"
kill -INT "$REC"
wait "$REC" || fail "ember record did not end cleanly: $(cat "$WORK/rec.err")"

# The summary counts what was dropped.
summary=$(grep '^ember: .* samples in ' "$WORK/rec.err")
werr=$(echo "$summary" | sed -n 's/.*write errors \([0-9]*\)).*/\1/p')
[ "${werr:-0}" -gt 0 ] || fail "no write errors counted: $summary"
echo "$summary"
grep -v '^ember: .* samples in ' "$WORK/rec.err"

# Sound, and the samples after the disk came back are in it.
expect_exit 0 "$EMBER" db check --db "$DB"
expect_exit 0 "$EMBER" export --db "$DB" --from "@$((back + 1))" -o "$WORK/after.folded"
[ -s "$WORK/after.folded" ] || fail "no samples after the space came back"
exit 0
