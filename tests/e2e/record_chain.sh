#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `ember record --duration 5` while the chain workload runs, then `ember export`: the whole chain
# appears root to leaf, in order, and the two leaves carry 1/3 and 2/3 of its samples (+-5 points).
. "$(dirname "$0")/lib.sh"
need_root

start_bg "$PROGS/chain" 8
CHAIN=$BG_PID
sleep 0.5
# 999 Hz: enough samples for +-5 points even when a loaded machine gives the chain a third of a CPU.
expect_exit 0 "$EMBER" record --db "$WORK/e.db" -F 999 --duration 5
"$EMBER" export --db "$WORK/e.db" --pid "$CHAIN" -o "$WORK/chain.folded" ||
	fail "export failed"

total=$(folded_count '' "$WORK/chain.folded")
a=$(folded_count ';main;chain_run;chain_mid1;chain_mid2;chain_leaf_a( |;)' "$WORK/chain.folded")
b=$(folded_count ';main;chain_run;chain_mid1;chain_mid2;chain_leaf_b( |;)' "$WORK/chain.folded")
echo "chain: $total samples, leaf_a $a, leaf_b $b"
# A whole CPU gives about 5000; under load (CI neighbours) it may get far less.
[ "$total" -gt 800 ] || fail "only $total samples of the chain process (expected up to 5000)"
# Nearly every sample of the process is in a leaf, with its full chain.
[ $((a + b)) -ge $((total * 95 / 100)) ] ||
	fail "only $((a + b)) of $total samples show main;chain_run;chain_mid1;chain_mid2;leaf"
# Every line starts with the command name, and frames are never cut out of order.
grep -v '^chain;' "$WORK/chain.folded" && fail "a line does not start with the comm"
grep -E 'chain_mid2;chain_mid1|chain_mid1;chain_run' "$WORK/chain.folded" && fail "reversed frames"
share=$((a * 1000 / (a + b)))
[ "$share" -ge 283 ] && [ "$share" -le 383 ] ||
	fail "leaf_a has $share/1000 of the leaf samples, expected 333 +- 50"
exit 0
