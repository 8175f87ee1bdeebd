#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `ember db info`, `check` and `prune` on an hour of synthetic history (bench/gen-history), and
# every command given a database that is not one: truncated, damaged, foreign, text, empty, from
# a newer ember, a directory. Each gets one clear sentence and exit 1 (2 for bad usage), never a
# crash.
. "$(dirname "$0")/lib.sh"
: "${GEN_HISTORY:?GEN_HISTORY must name bench/gen-history}"

cd "$WORK" || fail "no work directory"
"$GEN_HISTORY" --db h.db --duration 1h --cpus 8 -F 19 --start @1733550000 -q ||
	fail "gen-history failed"

# info: the span, the samples, the size and what it costs per sample.
expect_exit 0 "$EMBER" db info --db h.db
grep -Eq '^history .*\((1h 0m|59m 59s)\)' "$WORK/stdout" || fail "db info: no hour of history: $(cat "$WORK/stdout")"
grep -Eq '^samples +547200:' "$WORK/stdout" || fail "db info: not 547200 samples: $(cat "$WORK/stdout")"
grep -Eq 'bytes per sample' "$WORK/stdout" || fail "db info: no bytes per sample"
expect_exit 0 "$EMBER" db check --db h.db
grep -q ': ok$' "$WORK/stdout" || fail "db check: not ok: $(cat "$WORK/stdout")"

# prune: on an hour that ends now, a retention of 20 minutes leaves about 20 minutes, in a
# smaller file, still sound.
"$GEN_HISTORY" --db p.db --duration 1h --cpus 8 -F 19 -q || fail "gen-history failed"
before=$(stat -c %s p.db)
expect_exit 0 "$EMBER" db prune --db p.db --retention 20m
grep -q 'blocks deleted' "$WORK/stdout" || fail "db prune said: $(cat "$WORK/stdout")"
after=$(stat -c %s p.db)
[ "$after" -lt $((before * 85 / 100)) ] || fail "db prune: $before bytes before, $after after"
grep -Eq "[1-9][0-9]* rows pruned" "$WORK/stdout" || fail "db prune pruned no rows: $(cat "$WORK/stdout")"
expect_exit 0 "$EMBER" db info --db p.db
# (The hour ends when gen-history ends and the 20 minutes when prune runs: seconds later on a
# slow run, so the span left can be 19 minutes and some seconds.)
grep -Eq '^history .*\((19|2[0-9]|3[0-9])m' "$WORK/stdout" ||
	fail "db prune: not about 20 minutes left: $(cat "$WORK/stdout")"
expect_exit 0 "$EMBER" db check --db p.db

# Usage errors.
expect_exit 2 "$EMBER" db
expect_exit 2 "$EMBER" db frobnicate
expect_stderr "unknown command 'frobnicate'"
expect_exit 2 "$EMBER" db info --retention 1h --db h.db
expect_stderr "options of prune"
expect_exit 2 "$EMBER" db prune --db h.db --max-db-size lots
expect_stderr "not a size"
expect_exit 0 "$EMBER" db --help

# A damaged copy: four bytes changed inside a block of samples (SQLite sees nothing wrong),
# and a stack chunk gone (blocks now refer to stacks that do not exist). check finds both.
cp h.db dmg.db
sqlite3 dmg.db "UPDATE blocks SET data = substr(data, 1, 40) || X'ff00ff00' || substr(data, 45)
	WHERE id = (SELECT min(id) FROM blocks); DELETE FROM stack_chunks WHERE id = 1;" ||
	fail "cannot damage the copy"
expect_exit 1 "$EMBER" db check --db dmg.db
grep -q 'does not decode' "$WORK/stdout" || fail "db check: the damaged block: $(cat "$WORK/stdout")"
grep -q 'refers to stack .* which does not exist' "$WORK/stdout" ||
	fail "db check: the missing stacks: $(cat "$WORK/stdout")"
grep -q '^problem: ' "$WORK/stdout" || fail "db check: no problem named: $(cat "$WORK/stdout")"
expect_stderr "problem"

# Files that are not ember databases: every reader says so.
head -c $(($(stat -c %s h.db) / 2)) h.db >truncated.db
sqlite3 foreign.db 'CREATE TABLE t(x); INSERT INTO t VALUES(1);'
echo "just some text, not a database at all, not even close" >text.db
: >empty.db
cp h.db newer.db
sqlite3 newer.db 'PRAGMA user_version = 99'
mkdir dir.db
for f in truncated foreign text empty newer dir; do
	for cmd in "db info" "db check" "export" "report"; do
		# shellcheck disable=SC2086
		expect_exit 1 "$EMBER" $cmd --db "$f.db"
		case $f in
		newer) expect_stderr "newer version of ember" ;;
		dir) expect_stderr "Is a directory" ;;
		*) expect_stderr "not an ember database, or it is corrupt" ;;
		esac
		grep -qi 'segmentation\|assert\|abort' "$WORK/stderr" && fail "$cmd on $f crashed"
	done
done
# The writers too (db prune, and ember record as root): the same sentence, and the file is left
# exactly as it was (ember record once switched a foreign database to WAL and made it 0640).
writers=("db prune")
[ "$(id -u)" = 0 ] && writers+=("record --no-config -d 1")
for f in truncated foreign text newer; do
	for cmd in "${writers[@]}"; do
		cp -p "$f.db" "w-$f.db"
		chmod 0644 "w-$f.db"
		# shellcheck disable=SC2086
		expect_exit 1 "$EMBER" $cmd --db "w-$f.db"
		case $f in
		newer) expect_stderr "newer version of ember" ;;
		*) expect_stderr "not an ember database, or it is corrupt" ;;
		esac
		cmp -s "$f.db" "w-$f.db" || fail "$cmd changed $f.db"
		[ "$(stat -c %a "w-$f.db")" = 644 ] || fail "$cmd changed the mode of $f.db"
		rm -f "w-$f.db" "w-$f.db-wal" "w-$f.db-shm"
	done
done
expect_exit 1 "$EMBER" db info --db missing.db
expect_stderr "No such file"
exit 0
