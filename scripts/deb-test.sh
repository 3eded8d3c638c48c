#!/usr/bin/env bash
# make deb-test: carp's Debian packages installed, rebooted, failed over,
# upgraded and purged on Debian 12 machines booted from their own disks,
# and carp-dkms building the module for a newer kernel
# (tests/deb/deb-test.py says what it checks). Builds two versions of the
# packages (make deb; the second is the "newer build" of the upgrade),
# the local apt repository as a disk, and the machine image
# (scripts/deb-image.sh, cached), then runs the test. Needs root (the
# client's network namespace, debootstrap). The TAP output is also in
# $CACHE_ROOT/deb-test/run/deb-test.tap; the machines' consoles and the
# LAN's capture beside it.
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/env.sh"
die() { echo "deb-test: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (a network namespace for the client, debootstrap)"

cd "$top"
v1=$(carp_deb_version)
# A newer build (dpkg orders X+1 after X), its module rebuilt with its
# own version: another build-id, which carp-reload must load.
v2=$v1+1

work=$CACHE_ROOT/deb-test/run
rm -rf "$work"
mkdir -p "$work/repo"
echo "== deb-test: packages $v1 and $v2"
CARP_DEB_VERSION=$v1 CARP_DEB_OUT=$work/repo/v1 "$here/build-deb.sh" >/dev/null
CARP_DEB_VERSION=$v2 CARP_DEB_OUT=$work/repo/v2 "$here/build-deb.sh" >/dev/null
echo "== deb-test: the Debian 12 image"
image=$("$here/deb-image.sh")
# What carp-dkms's part installs beside it, from the Debian archive as a
# mirror has them (the machines have no other network): dkms with what it
# brings (the compiler) and the newer kernel of the kind, $DEB_ABI_NEXT,
# with its headers. Resolved against the image's installed packages;
# cached per image and kernel.
next=$DEB_ABI_NEXT-amd64
mirror=$CACHE_ROOT/deb-test/debian-$( (basename "$image"; echo "$next $KVER_DEB_NEXT"; sed -n '/^# What carp-dkms/,/^fi$/p' "$0") | sha256sum | cut -c1-12)
if ! [ -f "$mirror/Packages" ]; then
	echo "== deb-test: dkms and linux-image-$next from the Debian archive (once)"
	rm -rf "$mirror" "$mirror.tmp"; mkdir -p "$mirror.tmp/partial"
	debugfs -R "dump /var/lib/dpkg/status $mirror.tmp/status" "$image" 2>/dev/null
	[ -s "$mirror.tmp/status" ] || die "no dpkg status in $image"
	apt-get -q -y --download-only --no-install-recommends \
		-o Dir::State::status="$mirror.tmp/status" -o Dir::Cache::archives="$mirror.tmp" \
		-o Debug::NoLocking=1 install dkms python3 binutils kmod \
		"linux-image-$next=$KVER_DEB_NEXT" "linux-headers-$next=$KVER_DEB_NEXT" >"$mirror.tmp/log" 2>&1 ||
		{ tail -20 "$mirror.tmp/log" >&2; die "apt-get --download-only failed (log above)"; }
	rm -rf "$mirror.tmp/partial" "$mirror.tmp/status" "$mirror.tmp/lock" "$mirror.tmp/log"
	(cd "$mirror.tmp" && dpkg-scanpackages . /dev/null >Packages 2>/dev/null)
	mv "$mirror.tmp" "$mirror"
fi
cp -r "$mirror" "$work/repo/debian"
mkfs.ext4 -q -L carp-repo -d "$work/repo" "$work/repo.img" 1G
echo "== deb-test: the machines"
start=$SECONDS
set +e
python3 "$top/tests/deb/deb-test.py" "$work/machines" "$image" "$work/repo.img" \
	"$DEB_ABI-amd64" "$v1" "$v2" "$next" | tee "$work/deb-test.tap"
rc=${PIPESTATUS[0]}
set -e
pass=$(grep -c '^ok ' "$work/deb-test.tap" || true)
fail=$(grep -c '^not ok ' "$work/deb-test.tap" || true)
echo "deb-test: machines $((SECONDS - start)) s; consoles and the LAN's capture in $work/machines"
echo "$pass passed, $fail failed"
[ "$rc" = 0 ] && [ "$fail" = 0 ]
