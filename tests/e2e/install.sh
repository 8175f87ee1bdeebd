#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `cmake --install` puts the binary, a man page per command (and ember.conf(5)), the systemd unit,
# the default config, the sysusers.d entry and bash completion in their places; `ember help CMD`
# prints what man(1) shows for the installed page; the unit passes `systemd-analyze verify`
# (documentation references included) and its sandbox scores "OK" in `systemd-analyze security`;
# completion offers commands and each command's options.
. "$(dirname "$0")/lib.sh"
: "${BUILD:?BUILD must name the build directory}"
D="$WORK/root"
DESTDIR="$D" cmake --install "$BUILD" >"$WORK/install.log" 2>&1 || fail "install: $(cat "$WORK/install.log")"
PREFIX=$(awk -F= '/^CMAKE_INSTALL_PREFIX:/ { print $2 }' "$BUILD/CMakeCache.txt")
CONF=$(strings "$D$PREFIX/bin/ember" | grep -m1 -xE '/[^ ]*/ember/ember.conf')
for f in "$PREFIX/bin/ember" "$PREFIX/lib/systemd/system/ember.service" \
	"$PREFIX/lib/sysusers.d/ember.conf" "$PREFIX/share/bash-completion/completions/ember" \
	"$CONF" "$PREFIX/share/man/man5/ember.conf.5.gz" "$PREFIX/share/man/man1/ember.1.gz"; do
	[ -f "$D$f" ] || fail "$f is not installed"
done
[ "$PREFIX" = /usr ] && [ "$CONF" != /etc/ember/ember.conf ] && fail "with prefix /usr the config is $CONF"

# Every command of `ember --help` has a page, and `ember help CMD` is that page as man shows it.
cmds=$("$EMBER" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }')
[ -n "$cmds" ] || fail "no commands in ember --help"
render() { LC_ALL=C MANWIDTH=80 man -E ascii --warnings -l "$1" 2>"$WORK/man.err" | col -bx | cat -s; }
trim() { sed -e '/./,$!d' | tac | sed -e '/./,$!d' | tac; }
check_page() { # check_page TOPIC PAGE
	local page="$D$PREFIX/share/man/$2.gz"
	[ -f "$page" ] || fail "no man page $2 for '$1'"
	render "$page" | trim >"$WORK/man.txt"
	[ -s "$WORK/man.err" ] && fail "man warns about $2: $(cat "$WORK/man.err")"
	"$EMBER" help "$1" | trim >"$WORK/help.txt" || fail "ember help $1 failed"
	# man adds the footer line (version, date); the rest is the same text.
	diff <(head -n -1 "$WORK/man.txt") <(head -n -1 "$WORK/help.txt") >"$WORK/diff" ||
		fail "ember help $1 differs from man $2: $(head -20 "$WORK/diff")"
	[ "$(wc -l <"$WORK/help.txt")" -gt 10 ] || fail "ember help $1 is nearly empty"
}
check_page ember man1/ember.1
check_page ember.conf man5/ember.conf.5
for c in $cmds; do
	[ "$c" = help ] && continue
	check_page "$c" "man1/ember-$c.1"
	# Every option the command accepts is documented on its page.
	for o in $("$EMBER" "$c" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
		grep -q -- "${o}" <(render "$D$PREFIX/share/man/man1/ember-$c.1.gz" | sed 's/\xe2\x80\x90/-/g') ||
			fail "ember-$c(1) does not document $o"
	done
done
# Every key of the record table is in ember.conf(5).
for o in $("$EMBER" record --help | grep -oE -- '--[a-z][a-z-]*' | sed 's/^--//' | grep -vxE 'help|config|no-config'); do
	render "$D$PREFIX/share/man/man5/ember.conf.5.gz" | grep -qE "^ +$o = " || fail "ember.conf(5) lacks the key $o"
done
expect_exit 2 "$EMBER" help nonsense
expect_stderr "no manual page for 'nonsense'"
expect_exit 0 "$EMBER" help ember-record

# The unit, as installed, with ExecStart pointing into the staging root (verify checks that the
# binary exists) and its man pages found in the staging root.
command -v systemd-analyze >/dev/null || skip "systemd-analyze is missing"
sed "s|$PREFIX/bin/ember|$D$PREFIX/bin/ember|" "$D$PREFIX/lib/systemd/system/ember.service" \
	>"$WORK/ember.service"
MANPATH="$D$PREFIX/share/man" systemd-analyze verify "$WORK/ember.service" >"$WORK/verify" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$WORK/verify")"
[ -s "$WORK/verify" ] && fail "systemd-analyze verify complains: $(cat "$WORK/verify")"
systemd-analyze security --offline=true "$WORK/ember.service" >"$WORK/security" 2>&1
score=$(sed -nE 's/.*exposure level for ember.service: ([0-9.]+) .*/\1/p' "$WORK/security")
echo "systemd-analyze security: exposure $score"
[ -n "$score" ] || fail "no exposure score: $(tail -3 "$WORK/security")"
awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' || fail "the sandbox's exposure is $score (> 2.5)"
for k in ProtectSystem=strict StateDirectory=ember NoNewPrivileges=yes Restart=on-failure \
	User=ember 'ExecReload=/bin/kill -HUP $MAINPID'; do
	grep -qxF "$k" "$WORK/ember.service" || fail "the unit lacks $k"
done
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$WORK/ember.service" | tr ' ' '\n' | sort | tr '\n' ' ')
want="CAP_BPF CAP_CHECKPOINT_RESTORE CAP_DAC_READ_SEARCH CAP_PERFMON CAP_SETPCAP CAP_SYSLOG CAP_SYS_PTRACE "
[ "$caps" = "$want" ] || fail "CapabilityBoundingSet is '$caps', documented '$want'"

# Every system call the collector makes is allowed by the unit's SystemCallFilter.
if [ "$(id -u)" = 0 ]; then
	command -v strace >/dev/null || skip "strace is missing"
	systemd-analyze syscall-filter >"$WORK/groups" 2>/dev/null
	filter=$(sed -n 's/^SystemCallFilter=//p' "$WORK/ember.service" | head -1)
	# Expand the groups named in the filter, recursively, into system call names.
	awk -v want="$filter" '
		/^@/ { g = $1; next }
		g && NF && $1 !~ /^#/ { members[g] = members[g] " " $1 }
		END {
			n = split(want, todo, " ")
			while (n > 0) {
				x = todo[n--]
				if (x in seen) continue
				seen[x] = 1
				if (x ~ /^@/) { m = split(members[x], more, " "); for (i = 1; i <= m; i++) todo[++n] = more[i] }
				else print x
			}
		}' "$WORK/groups" | sort -u >"$WORK/allowed"
	[ "$(wc -l <"$WORK/allowed")" -gt 100 ] || fail "could not expand SystemCallFilter '$filter'"
	strace -f -qq -o "$WORK/strace" "$EMBER" record --no-config --db "$WORK/st.db" -F 99 -d 2 -q ||
		fail "ember record under strace failed"
	awk '{ s = $2; sub(/\(.*/, "", s); if (s ~ /^[a-z_0-9]+$/) print s }' "$WORK/strace" |
		sort -u >"$WORK/used"
	denied=$(comm -23 "$WORK/used" "$WORK/allowed" | tr '\n' ' ')
	[ -z "$denied" ] || fail "the collector calls what SystemCallFilter denies: $denied"
	echo "SystemCallFilter: the collector's $(wc -l <"$WORK/used") system calls are all allowed"
fi

# Bash completion: commands, options from --help, files after --db.
(
	. "$D$PREFIX/share/bash-completion/completions/ember"
	try_complete() { # try_complete WORD...: runs the completion on the words, the last being completed
		COMP_WORDS=("$EMBER" "$@")
		COMP_CWORD=$#
		_ember
	}
	try_complete rec
	[ "${COMPREPLY[*]}" = record ] || { echo "'ember rec<TAB>' gave '${COMPREPLY[*]}'"; exit 1; }
	try_complete record --fr
	[ "${COMPREPLY[*]}" = --freq ] || { echo "'ember record --fr<TAB>' gave '${COMPREPLY[*]}'"; exit 1; }
	try_complete doctor --
	[[ " ${COMPREPLY[*]} " == *" --db "* ]] || { echo "'ember doctor --<TAB>' gave '${COMPREPLY[*]}'"; exit 1; }
	touch "$WORK/some.db"
	try_complete export --db "$WORK/so"
	[ "${COMPREPLY[*]}" = "$WORK/some.db" ] || { echo "'--db <TAB>' gave '${COMPREPLY[*]}'"; exit 1; }
) >"$WORK/complete" 2>&1 || fail "bash completion: $(cat "$WORK/complete")"
exit 0
