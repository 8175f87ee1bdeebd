#!/bin/sh
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Builds bench/writer_intern.c against the built storage library and runs it (arguments:
# NSTACKS DEPTH FLUSH, see the source). `make build` first. Prefix VALGRIND='valgrind
# --tool=callgrind' for instruction counts that do not depend on the machine's load.
set -eu
cd "$(dirname "$0")/.."
[ -f build/storage/libstorage.a ] || make build
out=$(mktemp -d /tmp/ember-writer-intern-XXXXXX)
trap 'rm -rf "$out"' EXIT
# shellcheck disable=SC2046
cc -O2 -g -I. -o "$out/writer_intern" bench/writer_intern.c build/storage/libstorage.a \
	$(pkg-config --libs sqlite3 libzstd libxxhash)
${VALGRIND:-} "$out/writer_intern" "$out/w.db" "$@"
