#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Readers of a database in a shared directory: an unprivileged user in the database's group reads
# it while `ember record` writes it, after it stopped cleanly, and after it was killed; a user
# outside the group cannot; no file is ever readable by others; the readers create nothing.
. "$(dirname "$0")/lib.sh"
need_root

# The group of the database is nogroup; `nobody` reads as a member of it, and as an outsider
# (group daemon) it must be refused.
member=(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all)
outsider=(setpriv --reuid=nobody --regid=daemon --clear-groups --inh-caps=-all)
chmod 0711 "$WORK"
D="$WORK/shared"
mkdir "$D"
chgrp nogroup "$D"
chmod 0750 "$D"
DB="$D/e.db"

# Reads as the member: db info and an export must work and find samples.
member_reads() {
	local state=$1 n
	expect_exit 0 "${member[@]}" "$EMBER" db info --db "$DB"
	n=$(awk '/^samples/ { sub(":", "", $2); print $2 }' "$WORK/stdout")
	[ "${n:-0}" -gt 0 ] || fail "$state: the group member sees no samples: $(cat "$WORK/stdout")"
	expect_exit 0 "${member[@]}" "$EMBER" export --db "$DB"
	[ -s "$WORK/stdout" ] || fail "$state: the group member's export is empty"
	expect_exit 0 "${member[@]}" "$EMBER" db check --db "$DB"
	expect_exit 1 "${outsider[@]}" "$EMBER" db info --db "$DB"
	expect_stderr "Permission denied"
	echo "$state: the group member reads $n samples; others are refused"
}

no_world_access() {
	local f
	for f in "$D"/*; do
		[ "$(stat -c %A "$f" | cut -c8-10)" = "---" ] || fail "$f is accessible to others: $(stat -c %A "$f")"
		[ "$(stat -c %G "$f")" = nogroup ] || fail "$f has group $(stat -c %G "$f"), not the directory's"
		[ "$(stat -c %U "$f")" = root ] || fail "$f belongs to $(stat -c %U "$f"): a reader made it"
	done
}

# 1. While the collector writes.
start_bg "$EMBER" record --db "$DB" -F 99 -q
REC=$BG_PID
for _ in $(seq 50); do
	[ -s "$DB" ] && "$EMBER" db info --db "$DB" 2>/dev/null | grep -Eq '^samples +[1-9]' && break
	sleep 0.2
done
member_reads "collector running"
no_world_access

# 2. After the collector stopped cleanly.
kill -INT "$REC"
wait "$REC" || fail "ember record did not exit 0 on SIGINT"
member_reads "collector stopped"
no_world_access

# 3. After the collector was killed in the middle of its work.
start_bg "$EMBER" record --db "$DB" -F 99 -q
REC=$BG_PID
sleep 3
kill -KILL "$REC"
wait "$REC" 2>/dev/null
member_reads "collector killed"
no_world_access
[ -s "$DB-wal" ] || echo "(the killed collector's WAL was empty)"
exit 0
