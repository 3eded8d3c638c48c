#!/usr/bin/env bash
# make deb-test: carp's Debian packages installed, rebooted, failed over,
# upgraded and purged on Debian 12 machines booted from their own disks
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
mkfs.ext4 -q -L carp-repo -d "$work/repo" "$work/repo.img" 256M
echo "== deb-test: the Debian 12 image"
image=$("$here/deb-image.sh")
echo "== deb-test: the machines"
start=$SECONDS
set +e
python3 "$top/tests/deb/deb-test.py" "$work/machines" "$image" "$work/repo.img" \
	"$DEB_ABI-amd64" "$v1" "$v2" | tee "$work/deb-test.tap"
rc=${PIPESTATUS[0]}
set -e
pass=$(grep -c '^ok ' "$work/deb-test.tap" || true)
fail=$(grep -c '^not ok ' "$work/deb-test.tap" || true)
echo "deb-test: machines $((SECONDS - start)) s; consoles and the LAN's capture in $work/machines"
echo "$pass passed, $fail failed"
[ "$rc" = 0 ] && [ "$fail" = 0 ]
