#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# ember's CPU cost per sample beside `perf record -a -g` and bcc's `profile`, at 19, 99 and
# 999 Hz, in one run on one workload (bench/deep_stack.c on every CPU). Run as root from the
# repository, after `make build` (or it builds):
#
#   bench/run_overhead.sh                       # the full run: 3 rates x 3 rounds x 30 s windows
#   bench/run_overhead.sh --rates 99 --windows 1 --window-s 10     # a quick look
#
# Arguments go to bench/overhead.py (see --help there). It takes about 20 minutes; results land
# in /tmp/ember-overhead/{results.json,summary.md}. The benchmark's own needs, not ember's:
# linux-perf, bpfcc-tools, and kernel headers for bcc (which compiles at start). Debian has no
# headers for a kernel it did not build; Debian 12's 6.1 headers, linked as
# /lib/modules/$(uname -r)/build, serve bcc's profile tool (it uses only stable types). None of
# this goes into scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "run_overhead: must run as root" >&2
	exit 1
fi

need=""
command -v perf >/dev/null || need="$need linux-perf"
[ -x /usr/sbin/profile-bpfcc ] || need="$need bpfcc-tools"
ls -d /usr/src/linux-headers-*-amd64 >/dev/null 2>&1 || need="$need linux-headers-amd64"
command -v clang >/dev/null || need="$need clang"
if [ -n "$need" ]; then
	echo "run_overhead: installing$need (for the benchmark only)" >&2
	# shellcheck disable=SC2086 # a list of package names
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need
fi

KDIR=/lib/modules/$(uname -r)
if [ ! -e "$KDIR/build/include/generated" ] || [ ! -e "$KDIR/source/include/linux/kconfig.h" ]; then
	# build: the arch's generated headers; source: the common tree (include/linux/kconfig.h).
	HDRS=$(ls -d /usr/src/linux-headers-*-amd64 | sort -V | tail -1)
	COMMON=${HDRS%-amd64}-common
	echo "run_overhead: linking $HDRS as $KDIR/build and $COMMON as $KDIR/source for bcc" >&2
	mkdir -p "$KDIR"
	ln -sfn "$HDRS" "$KDIR/build"
	ln -sfn "$COMMON" "$KDIR/source"
fi

if [ ! -x build/ember ]; then
	make build
fi

OUT=${EMBER_BENCH_OUT:-/tmp/ember-overhead}
mkdir -p "$OUT"
clang -O1 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -Wall -Wextra -Werror \
	-o "$OUT/deep_stack" bench/deep_stack.c

exec /usr/bin/python3 bench/overhead.py --ember build/ember --workload "$OUT/deep_stack" \
	--out "$OUT" "$@"
