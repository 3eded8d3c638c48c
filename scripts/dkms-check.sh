#!/usr/bin/env bash
# make check's slice of carp-dkms (make deb-test installs it on a booted
# Debian machine): its build (tools/dkms/carp-dkms-build) run on the host,
# as DKMS runs it, on build-module.sh debian's carp-debian-src.tar:
#   - for the headers of $DEB_ABI_NEXT, the next Debian 12 kernel of the
#     kind (downloaded once): it links carp.ko, with that kernel's vermagic;
#   - with one value of each record altered (the configuration, an
#     import's CRC, a struct layout): it refuses, says why, links nothing.
# Prints TAP; fails on any "not ok" or fewer checks than planned.
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/env.sh"
rel=$DEB_ABI_NEXT-amd64
base=$CACHE_ROOT/debian/$DEB_ABI_NEXT
hdr=$base/root/usr/src/linux-headers-$rel
if ! [ -f "$base/root/.extracted" ]; then
	mkdir -p "$base/debs"
	for p in "linux-headers-$rel" "linux-headers-$DEB_ABI_NEXT-common" "linux-kbuild-$DEB_ABI_NEXT"; do
		compgen -G "$base/debs/${p}_*.deb" >/dev/null ||
			(cd "$base/debs" && apt-get download -q "$p=$KVER_DEB_NEXT" >&2)
	done
	rm -rf "$base/root"
	for d in "$base"/debs/linux-headers-*.deb "$base"/debs/linux-kbuild-*.deb; do dpkg-deb -x "$d" "$base/root"; done
	sed -i "s|^include /usr/src/|include $base/root/usr/src/|" "$hdr/Makefile"
	touch "$base/root/.extracted"
fi
[ -f "$top/carp-debian-src.tar" ] || { echo "no carp-debian-src.tar: build-module.sh debian first" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src() {
	rm -rf "$tmp/src"; mkdir "$tmp/src"
	tar -C "$tmp/src" -xf "$top/carp-debian-src.tar"
	cp "$top/tools/dkms/carp-dkms-build" "$here/debian-layout-check.py" "$here/debian-ko-check.py" "$tmp/src/dkms/"
}
plan=4 n=0 bad=0
echo "1..$plan"
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok - dkms: $2"; else bad=$((bad + 1)); echo "not ok - dkms: $2"; sed 's/^/#   /' "$tmp/log" | tail -20; fi; }

src
cp -a "$tmp/src" "$tmp/orig"
rc=0; (cd "$tmp/src" && sh dkms/carp-dkms-build "$rel" "$hdr" 0.dkms-check) >"$tmp/log" 2>&1 || rc=$?
[ "$rc" = 0 ] && [ "$(modinfo -F vermagic "$tmp/src/carp.ko" | cut -d' ' -f1)" = "$rel" ] &&
	grep -q "carp.ko 0.dkms-check for $rel: built and checked" "$tmp/log"
ok $? "links carp.ko for $rel, the next kernel of the kind (checked, its vermagic)"

refuses() {
	local what=$1 edit=$2 reason=$3 rc=0
	src
	(cd "$tmp/src" && eval "$edit")
	# (The edit took: the source differs from the one that linked.)
	diff -rq "$tmp/orig" "$tmp/src" >/dev/null && { echo "the edit changed nothing" >"$tmp/log"; ok 1 "$what"; return; }
	(cd "$tmp/src" && sh dkms/carp-dkms-build "$rel" "$hdr" 0.dkms-check) >"$tmp/log" 2>&1 || rc=$?
	[ "$rc" != 0 ] && grep -q "carp-dkms: refusing $rel" "$tmp/log" && grep -q "$reason" "$tmp/log" &&
		! [ -e "$tmp/src/carp.ko" ]
	ok $? "refuses where $what differs, with the reason, linking nothing"
}
refuses "the configuration" "sed -i 's/^CONFIG_HZ=.*/CONFIG_HZ=1000/' dkms/config" "its configuration differs"
refuses "an import's CRC" "sed -i '1s/\t.*/\t0x00c0ffee/' dkms/imports" "kernel functions the Rust side calls changed"
refuses "a struct layout" "python3 -c 'import json; f = \"dkms/layouts.json\"; t = json.load(open(f)); [x.update(size=x[\"size\"] + 8) for x in t if x[\"name\"] == \"net_device\"]; json.dump(t, open(f, \"w\"))'" "struct net_device: size"
[ "$n" = "$plan" ] || { echo "not ok - dkms: $n checks made, $plan planned"; exit 1; }
[ "$bad" = 0 ]
