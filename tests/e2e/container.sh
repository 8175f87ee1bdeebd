#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# A process in its own mount namespace (unshare -m), running its own copy of a binary from a
# tmpfs the host cannot see: its samples resolve to that copy's symbols. And a binary replaced on
# disk while it runs: its samples keep the symbols of the file it mapped.
. "$(dirname "$0")/lib.sh"
need_root
command -v unshare >/dev/null || skip "unshare (util-linux) is not installed"

mkdir -p "$WORK/mnt" "$WORK/bin"
cp "$PROGS/chain" "$WORK/bin/app"
# The namespace mounts a tmpfs over $WORK/mnt, copies chain there and runs it: on the host the
# path is an empty directory.
start_bg unshare -m --propagation private sh -c \
	"mount -t tmpfs none '$WORK/mnt' && cp '$PROGS/chain' '$WORK/mnt/chain' && exec '$WORK/mnt/chain' 5"
NS=$BG_PID
# Replaced while running: the file at the path becomes syscall_spin.
start_bg "$WORK/bin/app" 5
APP=$BG_PID
sleep 0.5
cp "$PROGS/syscall_spin" "$WORK/bin/app.new" && mv -f "$WORK/bin/app.new" "$WORK/bin/app"
[ -e "$WORK/mnt/chain" ] && fail "the namespace's tmpfs is visible on the host"
expect_exit 0 "$EMBER" record --db "$WORK/e.db" -F 199 --duration 3 -q
"$EMBER" export --db "$WORK/e.db" --pid "$NS" -o "$WORK/ns.folded" || fail "export failed"
"$EMBER" export --db "$WORK/e.db" --pid "$APP" -o "$WORK/app.folded" || fail "export failed"
ns=$(folded_count '' "$WORK/ns.folded")
ns_ok=$(folded_count ';main;chain_run;chain_mid1;chain_mid2;chain_leaf_(a|b)' "$WORK/ns.folded")
app=$(folded_count '' "$WORK/app.folded")
app_ok=$(folded_count ';main;chain_run;chain_mid1;chain_mid2;chain_leaf_(a|b)' "$WORK/app.folded")
echo "namespace: $ns_ok of $ns samples resolved; replaced binary: $app_ok of $app"
[ "$ns" -ge 30 ] && [ "$app" -ge 30 ] || fail "too few samples ($ns, $app)"
[ $((ns_ok * 100)) -ge $((ns * 90)) ] || fail "the namespaced copy resolved only $ns_ok of $ns"
[ $((app_ok * 100)) -ge $((app * 90)) ] || fail "the replaced binary resolved only $app_ok of $app"
grep -qE ';spin_(loop|read)' "$WORK/app.folded" && fail "the replaced binary took the new file's symbols"
exit 0
