#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Cost of the exit program (on_exit: exit-time maps with their paths) per run, with
# kernel.bpf_stats_enabled: `ember record -F 19` while 300 short processes dlopen a library and
# exit, ROUNDS windows, interleaved with the peer build BASE when given. Reads run_time_ns and
# run_cnt of ember's own on_exit program from /proc/PID/fdinfo (colleagues' samplers are left out).
# Every exiting task of the host runs the program, not only the workload's.
# Usage: [BASE=/path/to/old/ember] bench/exit_maps_cost.sh [ROUNDS]   (root; after ninja -C build)
set -u
ROUNDS=${1:-3}
EMBER=${EMBER:-build/ember}
PROGS=${PROGS:-build/tests/progs}
WORK=$(mktemp -d /tmp/ember-bench-exit-XXXXXX)
was=$(cat /proc/sys/kernel/bpf_stats_enabled)
trap 'echo "$was" >/proc/sys/kernel/bpf_stats_enabled; rm -rf "$WORK"' EXIT
echo 1 >/proc/sys/kernel/bpf_stats_enabled
for r in $(seq "$ROUNDS"); do
	for bin in ${BASE:-} "$EMBER"; do
		"$bin" record --db "$WORK/e.db" -F 19 --duration 14 -q 2>/dev/null &
		rec=$!
		sleep 3
		for i in $(seq 300); do "$PROGS/dlburn" "$PROGS/libdlburn.so" 0 0.1; done
		ids=" $(bpftool prog show | awk '$4 == "on_exit" { sub(":", "", $1); printf "%s ", $1 }')"
		for f in /proc/$rec/fdinfo/*; do
			id=$(awk '/^prog_id:/ { print $2 }' "$f" 2>/dev/null)
			[ -n "$id" ] && [[ "$ids" == *" $id "* ]] || continue
			awk -v b="$bin" '/^run_time_ns:/ { t = $2 } /^run_cnt:/ { c = $2 }
				END { if (c) printf "%s: %.2f us per run, %d runs\n", b, t / c / 1000, c }' "$f"
		done
		wait "$rec"
		rm -f "$WORK"/e.db*
	done
done
