#!/usr/bin/env bash
# make deb: carp's Debian packages and a local apt repository.
#   carp-modules-<ABI>  carp.ko for Debian's own kernel <ABI> (the
#                       self-contained build, KVARIANT=debian), under
#                       /lib/modules/<ABI>/updates, depmod on install
#   carp-tools          carpctl (+ bash completion), ip's carp plugin
#                       (pinned to the iproute2 it was built against), man
#                       pages carp(4) and carpctl(8), modules-load.d,
#                       sysctl.d
#   carp-dkms           carp.ko's source with its Rust side prebuilt: DKMS
#                       links it for each new Debian 12 6.12 kernel, after
#                       checking it fits (tools/dkms/carp-dkms-build)
#   carp                ifupdown hooks, carp-netdevs.service for
#                       systemd-networkd, carp-reload (module upgrades)
# The artifacts are built by the project's scripts (build-module.sh
# debian, build-tools.sh, build-iproute2.sh, rst2man), staged in a copy
# of the tree under prebuilt/, and packaged there by dpkg-buildpackage
# with debian/ (debian/rules). lintian must report no error. The result:
# $CARP_DEB_OUT (default $CACHE_ROOT/deb/repo), a flat repository with a
# Packages index:
#   deb [trusted=yes] file:/path/to/repo ./
# Prints the repository's path.
# Environment: CARP_DEB_VERSION (default 0.1.<commits>+g<hash>, with
# +dirty<time> for a tree with changes).
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/env.sh"
die() { echo "build-deb: $*" >&2; exit 1; }

abi=$DEB_ABI-amd64
cd "$top"
ver=${CARP_DEB_VERSION:-$(carp_deb_version)}

# The artifacts. The module carries the package's version (modinfo's
# version field: only its C side is rebuilt when it changes), so that
# each build of it is told from the others (carp-reload compares
# build-ids).
CARP_VERSION=$ver "$here/build-module.sh" debian >&2
[ "$(modinfo -F version carp-debian.ko)" = "$ver" ] || die "carp-debian.ko is not version $ver"
"$here/build-tools.sh" >&2
ipr=$("$here/build-iproute2.sh")
ipr_ver=$(dpkg-query -W -f='${Version}' iproute2)

work=$CACHE_ROOT/deb/build
out=${CARP_DEB_OUT:-$CACHE_ROOT/deb/repo}
rm -rf "$work"
src=$work/carp-$ver
mkdir -p "$src/prebuilt/modules/$abi"
cp -r --parents debian tools/ifupdown tools/systemd tools/packaging tools/prometheus tools/dkms \
	tools/carpctl/carpctl.bash-completion "$src"
install -m 0644 carp-debian.ko "$src/prebuilt/modules/$abi/carp.ko"
install -m 0755 tools/target/release/carpctl "$src/prebuilt/carpctl"
# carp-dkms: the module's source as kbuild links it in Debian's headers
# tree (build-module.sh debian), the checks its build runs, dkms.conf.
mkdir -p "$src/prebuilt/dkms"
tar -C "$src/prebuilt/dkms" -m -xf carp-debian-src.tar
install -m 0755 tools/dkms/carp-dkms-build "$src/prebuilt/dkms/dkms/carp-dkms-build"
install -m 0755 scripts/debian-layout-check.py scripts/debian-ko-check.py "$src/prebuilt/dkms/dkms/"
cp tools/dkms/dkms.conf "$src/debian/carp-dkms.dkms"
install -m 0644 "$ipr/lib/link_carp.so" "$src/prebuilt/link_carp.so"

# Manual pages from the project's documentation: carp(4) is
# Documentation/networking/carp.rst with a manual page's title block.
mkdir -p "$src/prebuilt/man"
{
	printf '====\ncarp\n====\n\n'
	printf -- '----------------------------------\nCommon Address Redundancy Protocol\n----------------------------------\n\n'
	printf ':Manual section: 4\n:Manual group: carp for Linux\n\n'
	awk 'NR > 1 && /^=+$/ && !seen { t++; if (t == 2) { seen = 1; next } }
	     !seen { next } { print }' Documentation/networking/carp.rst
} >"$work/carp.4.rst"
rst2man --strict "$work/carp.4.rst" >"$src/prebuilt/man/carp.4"
rst2man --strict tools/carpctl/carpctl.8.rst >"$src/prebuilt/man/carpctl.8"
rst2man --strict tools/systemd/carp-netdevs.8.rst >"$src/prebuilt/man/carp-netdevs.8"
rst2man --strict tools/packaging/carp-reload.8.rst >"$src/prebuilt/man/carp-reload.8"
rst2man --strict tools/ifupdown/carp-interfaces.5.rst >"$src/prebuilt/man/carp-interfaces.5"
printf '%s\n' prebuilt/man/carpctl.8 prebuilt/man/carp.4 >"$src/debian/carp-tools.manpages"
printf '%s\n' prebuilt/man/carp-netdevs.8 prebuilt/man/carp-reload.8 \
	prebuilt/man/carp-interfaces.5 >"$src/debian/carp.manpages"

# debian/control: the source and the arch-independent packages, plus one
# carp-modules package per kernel ABI; the modules' maintainer scripts.
sed "s/@IPROUTE2_VERSION@/$ipr_ver/g" debian/control.in >"$src/debian/control"
sed "s/@ABI@/$abi/g" debian/control.modules.in >>"$src/debian/control"
for s in postinst; do
	sed "s/@ABI@/$abi/g" "debian/$s.modules.in" >"$src/debian/carp-modules-$abi.$s"
done
rm -f "$src"/debian/*.in
cat >"$src/debian/changelog" <<EOC
carp ($ver) unstable; urgency=medium

  * Built from $(git rev-parse HEAD)$(case $ver in *dirty*) echo " with local changes" ;; esac).

 -- carp for Linux developers <carp@example.org>  $(date -R)
EOC

log=$work/build.log
(cd "$src" && dpkg-buildpackage -b -uc -us) >"$log" 2>&1 ||
	{ tail -30 "$log" >&2; die "dpkg-buildpackage failed (log: $log)"; }
changes=$(ls "$work"/carp_"$ver"_*.changes)
# lintian: no error (warnings are printed).
lintian --fail-on error --suppress-tags-from-file "$top/debian/lintian-suppress" "$changes" >&2 ||
	die "lintian reports errors on $changes"

rm -rf "$out"
mkdir -p "$out"
cp "$work"/*.deb "$out/"
(cd "$out" && dpkg-scanpackages --multiversion . /dev/null >Packages 2>/dev/null && gzip -9kn Packages)
echo "build-deb: $(ls "$out"/*.deb | wc -l) packages of carp $ver in $out" >&2
echo "$out"
