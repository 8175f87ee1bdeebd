#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Bytes per sample of an ember database beside what else could hold the same samples: the
# folded text of them (`ember export`, one line per distinct stack), gzip -9'd, and the perf.data
# that `perf record -a -g` wrote over the same period (raw, and zstd -19'd).
#
#   bench/storage_size.sh DB [PERF.DATA]
#
# A real recording, an hour of it, with perf beside ember (both sample every CPU):
#   ember record --db real.db -F 99 --duration 1h &
#   perf record -a -g -F 99 -o perf.data -- sleep 3600
#   bench/storage_size.sh real.db perf.data
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
EMBER=${EMBER:-$HERE/build/ember}
DB=$1
PERF=${2:-}
TMP=$(mktemp -d /tmp/ember-size-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

"$EMBER" db info --db "$DB" >"$TMP/info"
samples=$(awk '/^samples/ { sub(":", "", $2); print $2 }' "$TMP/info")
db_bytes=$(stat -c %s "$DB")
"$EMBER" export --db "$DB" -o "$TMP/all.folded"
folded=$(stat -c %s "$TMP/all.folded")
gz=$(gzip -9 -c "$TMP/all.folded" | wc -c)
per() { awk -v b="$1" -v n="$samples" 'BEGIN { printf "%.2f", b / n }'; }
printf '%-28s %12s %10s\n' "" bytes "per sample"
printf '%-28s %12d %10s\n' "ember database" "$db_bytes" "$(per "$db_bytes")"
printf '%-28s %12d %10s\n' "folded text" "$folded" "$(per "$folded")"
printf '%-28s %12d %10s\n' "folded text, gzip -9" "$gz" "$(per "$gz")"
if [ -n "$PERF" ]; then
	perf_bytes=$(stat -c %s "$PERF")
	zst=$(zstd -19 -T0 -c "$PERF" 2>/dev/null | wc -c)
	psamples=$(perf report -i "$PERF" --stats 2>/dev/null | awk '/SAMPLE events:/ { print $3 }')
	printf '%-28s %12d %10s   (%s samples in it)\n' "perf.data" "$perf_bytes" \
		"$(awk -v b="$perf_bytes" -v n="${psamples:-0}" 'BEGIN { if (n) printf "%.1f", b / n; else print "?" }')" \
		"${psamples:-?}"
	printf '%-28s %12d %10s\n' "perf.data, zstd -19" "$zst" \
		"$(awk -v b="$zst" -v n="${psamples:-0}" 'BEGIN { if (n) printf "%.1f", b / n; else print "?" }')"
fi
echo "($samples samples in the database; perf.data per sample is per its own samples)"
grep -E '^(history|  )' "$TMP/info"
