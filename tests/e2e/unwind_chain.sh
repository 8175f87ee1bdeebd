#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Known stacks without frame pointers (clang -O2 -fomit-frame-pointer): every sample of
# nofp_chain shows main and its 20-deep chain in order, through the vdso too, and is complete;
# frame pointers alone cannot do that. Samples in a signal handler unwind through the signal frame
# into the interrupted function and on to _start (and the unwinder's memo agrees with a fresh
# unwind there too).
. "$(dirname "$0")/lib.sh"
need_root

chain='main;nofp_f01;nofp_f02;nofp_f03;nofp_f04;nofp_f05;nofp_f06;nofp_f07;nofp_f08;nofp_f09;nofp_f10;nofp_f11;nofp_f12;nofp_f13;nofp_f14;nofp_f15;nofp_f16;nofp_f17;nofp_f18;nofp_f19;nofp_f20( |;)'

start_bg "$PROGS/nofp_chain" 30
sleep 0.5
record_user_stacks "$WORK/chain.db" "$BG_PID" 3
[ "$US_TOTAL" -ge 200 ] || fail "only $US_TOTAL user stacks of nofp_chain"
[ "$US_COMPLETE" = "$US_TOTAL" ] || fail "$US_COMPLETE of $US_TOTAL stacks complete"
"$EMBER" export --db "$WORK/chain.db" -o "$WORK/chain.folded" || fail "export failed"
all=$(folded_count '' "$WORK/chain.folded")
whole=$(folded_count ";_start;__libc_start_main(_impl)?;[^;]+;$chain" "$WORK/chain.folded")
echo "nofp_chain: $whole of $all samples show _start ... main and the 20 links in order"
[ "$whole" = "$all" ] || fail "$((all - whole)) samples lack the whole chain: $(grep -Ev "$chain" "$WORK/chain.folded" | head -3)"

# The same process by frame pointers: the kernel's walk gets lost at once.
record_user_stacks "$WORK/fp.db" "$BG_PID" 2 --unwind fp
[ "$((US_COMPLETE * 2))" -lt "$US_TOTAL" ] || fail "frame pointers completed $US_COMPLETE of $US_TOTAL?"
kill "$BG_PID"

start_bg "$PROGS/sigframe" 30
sleep 0.5
EMBER_UNWIND_VERIFY=1 record_user_stacks "$WORK/sig.db" "$BG_PID" 3 -v
kill "$BG_PID"
grep -Eq 'unwinder: .*\(0 contradicted\)' "$WORK/stderr" ||
	fail "the memo contradicted a fresh unwind: $(grep unwinder: "$WORK/stderr")"
at_least "$US_COMPLETE" "$US_TOTAL" 99 "sigframe: complete"
"$EMBER" export --db "$WORK/sig.db" -o "$WORK/sig.folded" || fail "export failed"
# In the handler or its work (leaf or not), below the signal frame (glibc's __restore_rt).
sigre=';_start;__libc_start_main(_impl)?;[^;]+;main;sig_outer;sig_spin;[^;]+;sig_handler(;sig_handler_work)?( |;)'
all=$(folded_count ';sig_handler' "$WORK/sig.folded")
through=$(folded_count "$sigre" "$WORK/sig.folded")
total=$(folded_count '' "$WORK/sig.folded")
echo "sigframe: $all of $total samples in the handler, $through of them through the signal frame to _start"
at_least "$all" "$total" 10 "samples in the signal handler"
[ "$through" = "$all" ] || fail "handler samples not unwound through the signal frame: $(grep ';sig_handler' "$WORK/sig.folded" | grep -Ev "$sigre" | head -3)"
exit 0
