#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Least privilege. After start-up every thread of the collector holds exactly the documented
# capabilities (docs/service.md: cap_dac_read_search, cap_sys_ptrace, cap_syslog,
# cap_checkpoint_restore) in
# its effective, permitted and bounding sets and none inheritable or ambient, whether it starts as
# root or as an unprivileged user given capabilities the way ember.service gives them. The files it
# writes are 0640 and of its group; a member of that group reads them (top, export, report) with
# no capability at all.
# And each kept capability is needed: without it, the stacks of another user's private binary no
# longer resolve.
. "$(dirname "$0")/lib.sh"
need_root
command -v setpriv >/dev/null || skip "setpriv (util-linux) is missing"

# The documented set: CAP_DAC_READ_SEARCH (2), CAP_SYS_PTRACE (19), CAP_SYSLOG (34),
# CAP_CHECKPOINT_RESTORE (40).
KEPT=$(printf '%016x' $(((1 << 2) | (1 << 19) | (1 << 34) | (1 << 40))))
# What ember.service grants before the drop (AmbientCapabilities= and CapabilityBoundingSet=).
# CAP_SYSLOG lets it read kernel symbol addresses from /proc/kallsyms (unless
# perf_event_paranoid <= 1; kept, since kallsyms is read again when modules change); CAP_SETPCAP
# narrows the bounding set and is dropped with CAP_BPF and CAP_PERFMON.
GRANT=bpf,perfmon,syslog,setpcap,sys_ptrace,dac_read_search,checkpoint_restore
U_EMBER=64000 U_READER=64001 U_OTHER=64002

# wait_started LOGFILE: until the collector logs that it samples (after the drop).
wait_started() {
	for _ in $(seq 100); do
		grep -q "sampling at" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "the collector did not start: $(cat "$1")"
}

# check_caps PID: every thread's sets are the documented ones.
check_caps() {
	local n=0 t
	for t in /proc/"$1"/task/*; do
		n=$((n + 1))
		for set in CapEff CapPrm CapBnd; do
			v=$(awk -v s="$set:" '$1 == s { print $2 }' "$t/status")
			[ "$v" = "$KEPT" ] || fail "thread ${t##*/}: $set is $v, documented $KEPT"
		done
		for set in CapInh CapAmb; do
			v=$(awk -v s="$set:" '$1 == s { print $2 }' "$t/status")
			[ "$v" = 0000000000000000 ] || fail "thread ${t##*/}: $set is $v, expected none"
		done
	done
	echo "caps: $n thread(s) of $1 hold exactly $KEPT"
}

# record_as LOG DB ARGS...: starts `ember record` as $U_EMBER with the capabilities in $GRANT, as
# systemd starts ember.service (User=, AmbientCapabilities=, CapabilityBoundingSet=).
record_as() {
	local log=$1 db=$2
	shift 2
	start_bg setpriv --reuid=$U_EMBER --regid=$U_EMBER --clear-groups \
		--inh-caps=-all,+${GRANT//,/,+} --ambient-caps=-all,+${GRANT//,/,+} \
		--bounding-set=-all,+${GRANT//,/,+} \
		"$EMBER" record --no-config --db "$db" -v "$@" 2>"$log"
}

stop() {
	kill -INT "$1"
	wait "$1" || fail "the collector exited $? on SIGINT"
}

# 1. Started as root.
start_bg "$EMBER" record --no-config --db "$WORK/root.db" -F 49 -v 2>"$WORK/root.log"
REC=$BG_PID
wait_started "$WORK/root.log"
check_caps "$REC"
stop "$REC"

# 2. Started as an unprivileged user with the service's capabilities, into a state directory
# like systemd's StateDirectory= (owned by the user, 0750).
chmod 755 "$WORK"
mkdir -m 750 "$WORK/state" && chown $U_EMBER:$U_EMBER "$WORK/state"
record_as "$WORK/user.log" "$WORK/state/ember.db" -F 49
REC=$BG_PID
wait_started "$WORK/user.log"
check_caps "$REC"
sleep 1.5 # a flush or two: the -wal and -shm files exist
for f in ember.db ember.db-wal ember.db-shm; do
	[ -e "$WORK/state/$f" ] || fail "$f was not created"
	m=$(stat -c '%a %g' "$WORK/state/$f")
	[ "$m" = "640 $U_EMBER" ] || fail "$f has mode and group '$m', expected '640 $U_EMBER'"
done
# A member of the group reads, with no capability at all, while the collector writes...
reader() {
	setpriv --reuid=$U_READER --regid=$U_READER --groups=$U_EMBER --inh-caps=-all \
		--bounding-set=-all "$EMBER" export --db "$WORK/state/ember.db" -o - \
		>"$WORK/read.folded" 2>"$WORK/read.err"
}
reader || fail "a group member cannot read the live database: $(cat "$WORK/read.err")"
[ -s "$WORK/read.folded" ] || fail "a group member read no samples from the live database"
# Kernel frames are named (kallsyms was read with CAP_SYSLOG before the drop).
grep -qE ';[a-z_][a-z0-9_.]*_\[k\]' "$WORK/read.folded" ||
	fail "no named kernel frame in the unprivileged user's recording"
stop "$REC"
# ... and after it stopped, with export and report.
reader || fail "a group member cannot read the database after the collector stopped: $(cat "$WORK/read.err")"
[ -s "$WORK/read.folded" ] || fail "a group member read no samples after the collector stopped"
setpriv --reuid=$U_READER --regid=$U_READER --groups=$U_EMBER --inh-caps=-all --bounding-set=-all \
	"$EMBER" report --db "$WORK/state/ember.db" >"$WORK/report.txt" 2>"$WORK/read.err" ||
	fail "a group member cannot run ember report: $(cat "$WORK/read.err")"
[ -s "$WORK/report.txt" ] || fail "ember report printed nothing for a group member"
# ... and ember top, in a real terminal (a private tmux server), reading the history.
if command -v tmux >/dev/null; then
	TM="tmux -L ember-privileges-$$ -f /dev/null"
	$TM new-session -d -s top -x 120 -y 30 "setpriv --reuid=$U_READER --regid=$U_READER \
		--groups=$U_EMBER --inh-caps=-all --bounding-set=-all $EMBER top --no-record \
		--db $WORK/state/ember.db 2>$WORK/top.err; sleep 5" || fail "tmux cannot start"
	shown=""
	for _ in $(seq 100); do
		$TM capture-pane -t top -p >"$WORK/top.screen" 2>/dev/null
		grep -q "PID" "$WORK/top.screen" && { shown=1; break; }
		sleep 0.1
	done
	$TM send-keys -t top q 2>/dev/null
	sock=$($TM display-message -p '#{socket_path}' 2>/dev/null)
	$TM kill-server 2>/dev/null
	[ -n "$sock" ] && rm -f "$sock"
	echo "ember top as a group member: $(grep -m1 PID "$WORK/top.screen" | tr -s " ")"
	[ -n "$shown" ] || fail "ember top showed no processes to a group member: $(cat "$WORK/top.screen") $(cat "$WORK/top.err")"
fi
# Someone outside the group cannot.
setpriv --reuid=$U_READER --regid=$U_READER --clear-groups --inh-caps=-all --bounding-set=-all \
	"$EMBER" export --db "$WORK/state/ember.db" -o - >/dev/null 2>&1 &&
	fail "a user outside the group read the database"

# 3. Each kept capability is needed to symbolize another user's private program: its binary is
# mode 0700 in a 0700 directory, owned by a third user.
mkdir -m 700 "$WORK/private"
cp "$PROGS/chain" "$WORK/private/chain"
chmod 700 "$WORK/private/chain"
chown -R $U_OTHER:$U_OTHER "$WORK/private"

# resolves WITHOUT_CAP [deleted]: records the private chain program with $GRANT less one
# capability, prints how many of its samples reached chain_leaf_* by name.
resolves() {
	local saved=$GRANT tag=${1:-all}
	[ -n "$1" ] && GRANT=$(echo ",$GRANT," | sed "s/,$1,/,/; s/^,//; s/,$//")
	# chain prints a line when its 4 s are up: not into this function's output.
	start_bg setpriv --reuid=$U_OTHER --regid=$U_OTHER --clear-groups "$WORK/private/chain" 4 >/dev/null
	local prog=$BG_PID
	sleep 0.3
	[ "${2:-}" = deleted ] && rm -f "$WORK/private/chain.del" &&
		cp "$WORK/private/chain" "$WORK/private/chain.del" &&
		mv "$WORK/private/chain.del" "$WORK/private/chain" # the running file is now deleted
	record_as "$WORK/sym-$tag.log" "$WORK/state/sym-$tag.db" -F 199 -d 2
	wait "$BG_PID" || fail "recording without $tag failed: $(cat "$WORK/sym-$tag.log")"
	kill "$prog" 2>/dev/null
	wait "$prog" 2>/dev/null
	GRANT=$saved
	"$EMBER" export --db "$WORK/state/sym-$tag.db" --pid "$prog" -o "$WORK/sym-$tag.folded" ||
		fail "export of the run without $tag failed"
	folded_count 'chain_leaf_[ab]' "$WORK/sym-$tag.folded"
}
all=$(resolves "")
echo "private program, every kept capability: $all samples resolved"
[ "$all" -gt 20 ] || fail "with every kept capability only $all samples resolved"
for cap in sys_ptrace dac_read_search; do
	n=$(resolves $cap)
	echo "private program without cap_$cap: $n samples resolved"
	[ "$n" -lt $((all / 10)) ] || fail "cap_$cap seems unneeded: $n of $all still resolved"
done
# CAP_CHECKPOINT_RESTORE opens /proc/PID/map_files: the only way to a binary deleted or replaced
# since it started.
all=$(resolves "" deleted)
echo "replaced binary, every kept capability: $all samples resolved"
[ "$all" -gt 20 ] || fail "a replaced binary did not resolve with every kept capability"
n=$(resolves checkpoint_restore deleted)
echo "replaced binary without cap_checkpoint_restore: $n samples resolved"
[ "$n" -lt $((all / 10)) ] || fail "cap_checkpoint_restore seems unneeded: $n of $all resolved"
exit 0
