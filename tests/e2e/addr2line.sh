#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Accuracy: for every instruction of work() and main() in the -O2 -g inline program, the function,
# the inline chain and file:line from `ember symbolize -i` agree with `eu-addr2line -i -f`
# (columns and eu's "inlined at ... in ..." decoration aside). Then the same for libc with its
# libc6-dbg debug info, found by build-id, on 2000 addresses spread over its text.
. "$(dirname "$0")/lib.sh"
command -v eu-addr2line >/dev/null || skip "eu-addr2line (elfutils) is not installed"

# eu-addr2line's output without columns and without the decoration of inlined frames.
eu() { eu-addr2line -i -f -e "$@" | sed -E 's/ inlined at .*//; s/:([0-9]+):[0-9]+$/:\1/'; }

prog=$PROGS/inline
objdump -d --no-show-raw-insn "$prog" |
	awk '/^[0-9a-f]+ <(work|main)>:$/ { on = 1; next } /^$/ { on = 0 } on && $1 ~ /:$/ { sub(":", "", $1); print "0x" $1 }' \
		>"$WORK/addrs"
n=$(wc -l <"$WORK/addrs")
[ "$n" -ge 30 ] || fail "only $n instructions found in work() and main()"
"$EMBER" symbolize -e "$prog" -i <"$WORK/addrs" >"$WORK/ember.txt" || fail "ember symbolize failed"
eu "$prog" <"$WORK/addrs" >"$WORK/eu.txt"
diff "$WORK/ember.txt" "$WORK/eu.txt" >"$WORK/diff" || fail "ember and eu-addr2line differ: $(head -20 "$WORK/diff")"
# The test must see real inline chains: mix inside inner inside outer inside work.
grep -A6 -x mix "$WORK/ember.txt" | grep -qx outer || fail "no three-deep inline chain seen"
lines=$(wc -l <"$WORK/ember.txt")
echo "inline: $n addresses, $((lines / 2)) frames, identical to eu-addr2line"

# Addresses are answered in sorted batches, yet a client on a pipe that writes one address and
# waits gets its answer before it writes the next, as from addr2line.
coproc SYM { "$EMBER" symbolize -e "$prog" 2>&1; }
PIDS_TO_KILL="$PIDS_TO_KILL $SYM_PID"
for a in $(sed -n '1p;$p' "$WORK/addrs"); do
	echo "$a" >&"${SYM[1]}"
	read -r -t 10 fn <&"${SYM[0]}" && read -r -t 10 loc <&"${SYM[0]}" ||
		fail "no answer for $a while the input stays open"
	want=$("$EMBER" symbolize -e "$prog" "$a" | tr '\n' ' ')
	[ "$fn $loc " = "$want" ] || fail "answer on a pipe for $a: '$fn $loc', not '$want'"
done
exec {SYM[1]}>&-
wait "$SYM_PID" || fail "ember symbolize on a pipe failed"

# libc, through /usr/lib/debug/.build-id (libc6-dbg), line by line as well.
libc=$(ldd "$prog" | awk '/libc\.so/ { print $3 }')
id=$(readelf -n "$libc" | awk '/Build ID/ { print $3 }')
[ -e "/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug" ] || skip "libc6-dbg is not installed"
read -r start size < <(readelf -SW "$libc" | awk '$2 == ".text" { print $4, $6 }')
awk -v s=$((16#$start)) -v n=$((16#$size)) 'BEGIN { srand(7); for (i = 0; i < 2000; i++) printf "0x%x\n", s + int(rand() * n) }' >"$WORK/libc_addrs"
"$EMBER" symbolize -e "$libc" -i <"$WORK/libc_addrs" >"$WORK/ember_libc.txt" || fail "ember symbolize libc failed"
eu "$libc" <"$WORK/libc_addrs" >"$WORK/eu_libc.txt"
total=$(wc -l <"$WORK/eu_libc.txt")
named=$(grep -cvE '^\?\?' "$WORK/ember_libc.txt")
differ=$(diff "$WORK/ember_libc.txt" "$WORK/eu_libc.txt" | grep -c '^>')
echo "libc: 2000 addresses, $total lines from eu-addr2line, $differ differ, $named named by ember"
# A handful of libc addresses lie in inlined calls that GCC placed outside their function's ranges;
# eu-addr2line still reports the chain, ember the innermost frame only (docs/benchmarks.md):
# allow 0.5 % of the lines.
[ "$differ" -le $((total / 200)) ] || fail "$differ of $total lines differ from eu-addr2line for libc"
exit 0
