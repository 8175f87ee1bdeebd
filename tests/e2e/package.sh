#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The .deb: CPack builds it from this build; it declares its Debian dependencies, marks the config
# as a conffile and carries the maintainer scripts; and it installs, upgrades and is removed and
# purged cleanly in a throwaway root (dpkg --root, maintainer scripts run chrootless with
# DPKG_ROOT): the ember user and the state directory are created, a local edit of the config
# survives the upgrade, remove keeps only the config, purge leaves nothing.
. "$(dirname "$0")/lib.sh"
: "${BUILD:?BUILD must name the build directory}"
need_root
command -v dpkg-deb >/dev/null && command -v dpkg-shlibdeps >/dev/null || skip "dpkg-dev is missing"

(cd "$BUILD" && cpack -G DEB -B "$WORK/pkg") >"$WORK/cpack.log" 2>&1 || fail "cpack: $(cat "$WORK/cpack.log")"
DEB=$(ls "$WORK"/pkg/ember_*.deb) || fail "no .deb: $(cat "$WORK/cpack.log")"
dpkg-deb -f "$DEB" Depends >"$WORK/depends"
for lib in libbpf1 libelf1 libdw1 libsqlite3-0 libzstd1 libdeflate0 libinih1 libcap-ng0 libc6; do
	grep -q "$lib" "$WORK/depends" || fail "Depends lacks $lib: $(cat "$WORK/depends")"
done
[ "$(dpkg-deb -f "$DEB" Package)" = ember ] || fail "the package is not named ember"
dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles >"$WORK/conffiles"
grep -qx /etc/ember/ember.conf "$WORK/conffiles" || fail "conffiles: '$(cat "$WORK/conffiles")'"
dpkg-deb -c "$DEB" >"$WORK/contents"
for f in ./usr/bin/ember ./usr/lib/systemd/system/ember.service ./etc/ember/ember.conf \
	./usr/share/man/man1/ember-record.1.gz ./usr/share/man/man5/ember.conf.5.gz \
	./usr/lib/sysusers.d/ember.conf ./usr/share/bash-completion/completions/ember; do
	grep -q " $f\$" "$WORK/contents" || fail "the package lacks $f"
done

# A throwaway root with an empty dpkg database.
R="$WORK/root"
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/triggers" "$R/etc"
touch "$R/var/lib/dpkg/status" "$R/var/lib/dpkg/available"
pkg() { # pkg ARGS...: dpkg on the throwaway root; its dependencies are the host's business
	dpkg --root="$R" --force-script-chrootless --force-depends --force-not-root \
		--log="$WORK/dpkg.log" "$@" >>"$WORK/dpkg.out" 2>&1 || fail "dpkg $*: $(tail -20 "$WORK/dpkg.out")"
}
status() { dpkg-query --root="$R" -W -f='${db:Status-Abbrev}${Version}' ember 2>/dev/null; }

pkg -i "$DEB"
[ "$(status)" = "ii $(dpkg-deb -f "$DEB" Version)" ] || fail "after install: '$(status)'"
grep -q '^ember:' "$R/etc/passwd" || fail "postinst created no ember user"
grep -q '^ember:' "$R/etc/group" || fail "postinst created no ember group"
uid=$(awk -F: '$1 == "ember" { print $3 }' "$R/etc/passwd")
[ "$(stat -c '%a %u' "$R/var/lib/ember")" = "2750 $uid" ] ||
	fail "/var/lib/ember is '$(stat -c '%a %u' "$R/var/lib/ember")', expected '2750 $uid'"
"$R/usr/bin/ember" --version >/dev/null || fail "the installed binary does not run"

# Upgrade to a later version of the same files; the admin's edit of the conffile stays.
echo "# edited by the admin" >>"$R/etc/ember/ember.conf"
mkdir "$WORK/next"
dpkg-deb -R "$DEB" "$WORK/next/tree"
sed -i 's/^Version: .*/&.1/' "$WORK/next/tree/DEBIAN/control"
dpkg-deb -b "$WORK/next/tree" "$WORK/next/ember-next.deb" >/dev/null || fail "cannot repack"
NEXT=$(dpkg-deb -f "$WORK/next/ember-next.deb" Version)
pkg -i "$WORK/next/ember-next.deb"
[ "$(status)" = "ii $NEXT" ] || fail "after the upgrade: '$(status)', expected 'ii $NEXT'"
grep -q "edited by the admin" "$R/etc/ember/ember.conf" || fail "the upgrade lost the admin's edit"
[ "$(grep -c '^ember:' "$R/etc/passwd")" = 1 ] || fail "the upgrade duplicated the ember user"
touch "$R/var/lib/ember/ember.db"

# Remove: the files go, the conffile stays; purge: nothing of ember stays.
pkg -r ember
[ "$(status)" = "rc $NEXT" ] || fail "after remove: '$(status)'"
[ -e "$R/usr/bin/ember" ] && fail "remove left /usr/bin/ember"
[ -e "$R/usr/lib/systemd/system/ember.service" ] && fail "remove left the unit"
[ -e "$R/etc/ember/ember.conf" ] || fail "remove deleted the conffile"
pkg -P ember
[ -z "$(status)" ] || [ "$(status)" = "un$NEXT" ] || [ "$(status)" = "pn$NEXT" ] ||
	fail "after purge: '$(status)'"
[ -e "$R/etc/ember/ember.conf" ] && fail "purge left the conffile"
[ -e "$R/var/lib/ember" ] && fail "purge left /var/lib/ember"
left=$(find "$R" -path "$R/var/lib/dpkg" -prune -o -path "$R/etc" -prune -o -type f -print)
[ -z "$left" ] || fail "purge left files: $left"
echo "package: $(basename "$DEB"), installed, upgraded to $NEXT, removed and purged cleanly"
exit 0
