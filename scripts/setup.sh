#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Installs, from Debian's archive by name, whatever ember needs to build, run and test that this
# machine does not have yet. Run as root on Debian 12 (bookworm). Safe to run again: it installs
# nothing when everything is present.
set -eu

# Build: compiler, CMake, BPF toolchain, libraries; pprof's profile.proto
# (golang-github-google-pprof-dev) compiled by protoc-c; libdeflate inflates compressed DWARF.
BUILD="make cmake ninja-build gcc pkg-config clang llvm bpftool
	libbpf-dev libelf-dev libdw-dev libunwind-dev libzstd-dev libsqlite3-dev libncurses-dev
	libxxhash-dev uthash-dev libiberty-dev libdebuginfod-dev libinih-dev libcap-ng-dev groff-base
	protobuf-c-compiler libprotobuf-c-dev golang-github-google-pprof-dev zlib1g-dev libdeflate-dev"
# Tests: sqlite3 to inspect databases, tmux to drive the TUI, util-linux for setpriv and unshare;
# jq, xmllint (libxml2-utils), `go tool pprof` (golang-go), python3 and node (nodejs, for the SVG's
# script) read the exports back; libc6-dbg (libc with full debug info), elfutils (eu-addr2line,
# the reference for symbol accuracy), libclang-rt-14-dev (libFuzzer), time (peak memory in the
# symbolizer benchmark); strace checks the service's system call filter; dpkg-dev, man-db and
# systemd(-analyze) serve the package, man page and unit tests; Debian's own frame-pointer-less
# programs for the unwinding tests (/usr/bin/python3 from python3, xz-utils; gzip and perl are
# essential).
TEST="sqlite3 tmux util-linux procps jq libxml2-utils golang-go python3 nodejs libc6-dbg elfutils
	libclang-rt-14-dev time strace dpkg-dev man-db systemd xz-utils"

missing=""
for p in $BUILD $TEST; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "setup: these Debian packages are missing:$missing" >&2
	echo "setup: run this script as root to install them" >&2
	exit 1
fi
echo "setup: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# An archive index older than a day may name package versions the mirror no longer has.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null)" ]; then
	apt-get update -q
fi
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
