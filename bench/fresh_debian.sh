#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Proves that the README's two set-up commands work on a fresh Debian 12 machine with nothing
# installed by hand: debootstraps a minimal bookworm (--variant=minbase: Essential packages and
# apt, no git, no ca-certificates, no sudo, no procps, no compiler) into a directory, binds the
# host's /proc, /sys and /dev into it (the BPF sampler needs /sys/kernel/btf and the perf events),
# copies a clean `git clone` of the current commit into it, and runs as root inside the chroot:
#
#   ./scripts/setup.sh && make run RUN_ARGS='--duration 5 ...'   (while `make run` records)
#   ./scripts/setup.sh && make run          (in a pty, Ctrl-C typed 10 s after ember starts)
#   ./scripts/setup.sh && make test          (with CI=1: any skip for lack of privilege fails)
#
# Each step is timed; a summary is printed at the end and written to <root>.log.
# Run as root on a Debian (or Ubuntu) host that has debootstrap; it downloads about 300 MB.
#
# usage: bench/fresh_debian.sh [--root DIR] [--mirror URL] [--keep] [--reuse]
#   --root DIR    where the chroot goes (default /var/tmp/ember-fresh-debian; wiped first)
#   --mirror URL  Debian mirror (default: the first bookworm URI of this host's apt sources,
#                 else http://deb.debian.org/debian)
#   --keep        leave the chroot on disk afterwards (it is deleted by default)
#   --reuse       skip debootstrap when DIR already holds a bootstrapped system (not "fresh":
#                 for re-running after a fix only)
set -euo pipefail

ROOT=/var/tmp/ember-fresh-debian
MIRROR=""
KEEP=0
REUSE=0
while [ $# -gt 0 ]; do
	case "$1" in
	--root) ROOT="$2"; shift 2 ;;
	--mirror) MIRROR="$2"; shift 2 ;;
	--keep) KEEP=1; shift ;;
	--reuse) REUSE=1; KEEP=1; shift ;;
	-h | --help) sed -n '3,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "fresh_debian: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done

if [ "$(id -u)" != 0 ]; then
	echo "fresh_debian: must run as root (debootstrap, mount, chroot)" >&2
	exit 1
fi
for tool in debootstrap git chroot mount; do
	if ! command -v "$tool" >/dev/null; then
		echo "fresh_debian: '$tool' is missing on the host (apt-get install debootstrap git)" >&2
		exit 1
	fi
done

REPO="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "$MIRROR" ]; then
	MIRROR="$(grep -hs -E '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/* |
		grep -m1 -E 'debian/?( |$)' | sed -E 's/^(URIs:|deb( \[[^]]*\])?)[[:space:]]*//; s/[[:space:]].*//' || true)"
	MIRROR="${MIRROR:-http://deb.debian.org/debian}"
fi

LOG=/dev/null
declare -a SUMMARY=()
now() { date +%s; }
step() { # step NAME COMMAND...: runs and times one step, keeps a summary line
	local name="$1" t0 t1 rc
	shift
	echo "=== $name" | tee -a "$LOG" >&2
	t0=$(now)
	set +e
	"$@" 2>&1 | tee -a "$LOG"
	rc=${PIPESTATUS[0]}
	set -e
	t1=$(now)
	SUMMARY+=("$(printf '%-44s exit %d  %4d s' "$name" "$rc" $((t1 - t0)))")
	if [ "$rc" != 0 ]; then
		echo "fresh_debian: step '$name' failed (exit $rc)" | tee -a "$LOG" >&2
		summary
		exit 1
	fi
}
summary() {
	{
		echo "--- fresh Debian 12 check, $(date -u +%Y-%m-%dT%H:%MZ), commit $COMMIT, mirror $MIRROR"
		printf '%s\n' "${SUMMARY[@]}"
	} | tee -a "$LOG" >&2
}

umount_all() {
	local m
	for m in dev sys proc; do
		if mountpoint -q "$ROOT/$m"; then
			umount -R "$ROOT/$m" || umount -lR "$ROOT/$m" || true
		fi
	done
}
cleanup() {
	umount_all
	if [ "$KEEP" = 0 ] && [ -d "$ROOT" ]; then
		# Never rm -rf through a live bind mount of the host.
		if ! grep -qs " $ROOT/" /proc/mounts; then
			rm -rf --one-file-system "$ROOT"
		fi
	fi
}
trap cleanup EXIT

COMMIT="$(git -C "$REPO" rev-parse --short HEAD)"
if [ -n "$(git -C "$REPO" status --porcelain --untracked-files=no)" ]; then
	echo "fresh_debian: note: uncommitted changes in $REPO are NOT tested (a clean clone of $COMMIT is)" >&2
fi

if [ "$REUSE" = 1 ] && [ -x "$ROOT/usr/bin/apt-get" ]; then
	umount_all
else
	umount_all
	rm -rf --one-file-system "$ROOT"
	mkdir -p "$ROOT"
fi
LOG="$ROOT.log"
: >"$LOG"
T_START=$(now)

if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
	step "debootstrap --variant=minbase bookworm" \
		debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR"
fi

# What a freshly installed Debian 12 has: the release, its updates and the security archive.
SECURITY="${MIRROR%/debian}/debian-security"
if [ "$SECURITY" = "$MIRROR/debian-security" ]; then
	SECURITY=http://deb.debian.org/debian-security
fi
cat >"$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY bookworm-security main
EOF
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# setup.sh decides whether to run apt-get update from the age of the lists: start with none,
# as a machine fresh from the installer would have stale ones.
rm -rf "$ROOT/var/lib/apt/lists/"*

mount --rbind /proc "$ROOT/proc" && mount --make-rslave "$ROOT/proc"
mount --rbind /sys "$ROOT/sys" && mount --make-rslave "$ROOT/sys"
mount --rbind /dev "$ROOT/dev" && mount --make-rslave "$ROOT/dev"

rm -rf "$ROOT/root/ember"
step "git clone (host) of $COMMIT" git clone -q --no-local "$REPO" "$ROOT/root/ember"
git -C "$ROOT/root/ember" checkout -q "$COMMIT"

in_chroot() { # a login-like root environment, nothing inherited from the host's shell
	chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-xterm}" \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		"$@"
}
# With `make run` on `ember record`, first a run that ends by itself, and its database exported.
if grep -Eq '^[[:space:]]+\./\$\(BUILD\)/ember record' "$ROOT/root/ember/Makefile"; then
	step "chroot: ./scripts/setup.sh && make run (record, --duration 5)" in_chroot /bin/sh -c \
		"cd /root/ember && ./scripts/setup.sh && make run RUN_ARGS='--duration 5 --db /tmp/fresh-run.db'"
	step "chroot: run wrote samples" in_chroot /bin/sh -c \
		"cd /root/ember && ./build/ember export --db /tmp/fresh-run.db | head -3 | cut -c1-160 && \
		 test \$(./build/ember export --db /tmp/fresh-run.db | wc -l) -gt 0"
	RUN_IS_RECORD=1
else
	RUN_IS_RECORD=0
fi
# The README's exact words, `make run` without arguments, in a terminal (a pty from script(1),
# so a TUI works too), stopped 10 s after ember starts by typing Ctrl-C: the terminal sends
# SIGINT to the whole foreground process group, make and ember. It must end within 20 s;
# `ember record` must print its summary with samples stored and none dropped; `ember top` must
# have drawn its screen and counted samples.
ember_running() { # a process of the chroot's build/ember is alive
	local exe
	for exe in /proc/[0-9]*/exe; do
		[ "$(readlink "$exe" 2>/dev/null)" = "$ROOT/root/ember/build/ember" ] && return 0
	done
	return 1
}
ctrl_c_run() {
	local fifo="$ROOT/tmp/ctrl-c.fifo" pid rc=0 waited=0
	rm -f "$fifo"
	mkfifo "$fifo"
	script -qfec "chroot '$ROOT' /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=xterm-256color \
		COLUMNS=120 LINES=40 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/sh -c 'cd /root/ember && ./scripts/setup.sh && make run'" /dev/null \
		<"$fifo" >"$ROOT/tmp/run.out" 2>&1 &
	pid=$!
	exec 3>"$fifo"
	# On a fresh machine make run first installs and builds: type Ctrl-C 10 s after ember starts.
	while kill -0 "$pid" 2>/dev/null && ! ember_running && [ "$waited" -lt 1800 ]; do
		sleep 1
		waited=$((waited + 1))
	done
	if ! ember_running; then
		exec 3>&-
		tr -d '\r' <"$ROOT/tmp/run.out" | tail -20 | cut -c1-200
		echo "ember never started under make run (${waited} s)"
		kill "$pid" 2>/dev/null || true
		return 1
	fi
	echo "(ember running after ${waited} s of set-up and build)"
	waited=0
	sleep 10
	printf '\003' >&3
	while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 20 ]; do
		sleep 1
		waited=$((waited + 1))
	done
	exec 3>&-
	if kill -0 "$pid" 2>/dev/null; then
		echo "make run did not end within 20 s of Ctrl-C"
		kill "$pid"
		return 1
	fi
	wait "$pid" || rc=$?
	rm -f "$fifo"
	tr -d '\r' <"$ROOT/tmp/run.out" | tail -5 | cut -c1-200
	echo "(make run ended $waited s after Ctrl-C, script(1) exit $rc)"
	if [ "$RUN_IS_RECORD" = 1 ]; then
		grep -aEq 'ember: [1-9][0-9]* samples in .* [1-9][0-9]* stored, 0 dropped' "$ROOT/tmp/run.out"
	else
		# The TUI drew its screen, with samples counted (the last count it showed).
		echo "(the screen's last sample count: $(grep -aoE '[0-9][0-9,]* samples' "$ROOT/tmp/run.out" | tail -1))"
		grep -aq 'ember top' "$ROOT/tmp/run.out" &&
			grep -aqE '[1-9][0-9,]* samples' "$ROOT/tmp/run.out"
	fi
}
step "chroot: ./scripts/setup.sh && make run in a terminal, then Ctrl-C" ctrl_c_run
# A second run of setup.sh must install nothing and be quick.
step "chroot: ./scripts/setup.sh again (no-op)" in_chroot /bin/sh -c \
	"cd /root/ember && ./scripts/setup.sh"
step "chroot: make clean, then ./scripts/setup.sh && make test (CI=1)" in_chroot /bin/sh -c \
	"cd /root/ember && make clean && CI=1 ./scripts/setup.sh && CI=1 make test"

SUMMARY+=("$(printf '%-44s         %4d s' "total" $(($(now) - T_START)))")
summary
echo "fresh_debian: OK: both README commands passed in a fresh Debian 12 (log: $LOG)" | tee -a "$LOG" >&2
