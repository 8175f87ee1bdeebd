#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The soak test's workload: new processes without pause, each living 50-200 ms, of five binaries
# (so new maps and files all the time). Runs until killed.
#
# Usage: bench/churn.sh [BUILD_DIR]     (default ./build; its tests/progs are used)
set -eu
PROGS=$(realpath "${1:-build}/tests/progs")
while :; do
	"$PROGS/chain" 0.2 >/dev/null
	"$PROGS/syscall_spin" 0.05 >/dev/null 2>&1 || true
	/usr/bin/python3 -c 'sum(range(200000))'
	sh -c 'i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done'
	ls -R /usr/share/doc >/dev/null 2>&1 || true
done
