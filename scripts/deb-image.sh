#!/usr/bin/env bash
# The Debian 12 machine make deb-test boots: a root file system made by
# debootstrap from the Debian archive (the default, "important" package
# set of a fresh server install, with systemd as init and ifupdown),
# Debian's own kernel linux-image-$DEB_ABI-amd64 (the one carp-modules is
# built for) and qemu-guest-agent (how the test runs commands in it), in
# an ext4 disk image. Cached: built once per version of this script.
#   deb-image.sh      prints the image's path, building it if needed
# The image has no apt source: the machines it boots have no network but
# the test's LAN, and install carp from the local repository (a second
# disk, labelled carp-repo, that the test mounts at /srv/carp-repo). The image has no boot loader: the
# test boots each machine with the kernel and initrd it reads from that
# machine's own disk (debugfs), as a boot loader would. Interface names: net.ifnames=0 on the kernel command
# line (eth0, as in the project's other tests).
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
die() { echo "deb-image: $*" >&2; exit 1; }

abi=$DEB_ABI-amd64
key=$( (cat "$0"; echo "$abi $KVER_DEB") | sha256sum | cut -c1-12)
dir=$CACHE_ROOT/deb-test
img=$dir/bookworm-$key.img
if [ -f "$img" ]; then
	echo "$img"
	exit 0
fi
[ "$(id -u)" = 0 ] || die "debootstrap needs root"
mkdir -p "$dir"
log=$dir/image.log
: >"$log"

# Debian's kernel package as make deb's module was built for (cached by
# debian-kernel.sh; downloaded here otherwise).
kdebs=$CACHE_ROOT/debian/$DEB_ABI/debs
mkdir -p "$kdebs"
kdeb=$kdebs/linux-image-${abi}_${KVER_DEB/:/%3a}_amd64.deb
if ! [ -f "$kdeb" ]; then
	(cd "$kdebs" && apt-get download -q "linux-image-$abi=$KVER_DEB") >>"$log" 2>&1 ||
		die "apt-get download linux-image-$abi=$KVER_DEB failed (see $log)"
fi
[ -f "$kdeb" ] || die "no $kdeb after the download"

root=$dir/root.tmp
# (--one-file-system: a debootstrap that was stopped may have left /dev,
# /proc or /sys mounted in it.)
rm -rf --one-file-system "$root" "$dir"/bookworm-*.img
echo "deb-image: debootstrap bookworm (a few minutes, once)" >&2
debootstrap --include=qemu-guest-agent,initramfs-tools,linux-base,zstd \
	bookworm "$root" http://deb.debian.org/debian >>"$log" 2>&1 ||
	{ tail -20 "$log" >&2; die "debootstrap failed (log: $log)"; }

# Small initramfs: the modules the root disk needs (no host detection in
# a chroot).
echo 'MODULES=list' >"$root/etc/initramfs-tools/conf.d/carp-test"
printf '%s\n' virtio_pci virtio_blk ext4 >>"$root/etc/initramfs-tools/modules"
cp "$kdeb" "$root/tmp/"
cat >"$root/tmp/setup" <<EOF
set -e
export DEBIAN_FRONTEND=noninteractive
dpkg -i /tmp/$(basename "$kdeb")
# Security updates for the kernel from the same place (none here: offline).
rm -f /etc/apt/sources.list /tmp/*.deb
apt-get clean
rm -rf /var/lib/apt/lists/*
# Timers that would run during a test and slow it under emulation.
systemctl disable apt-daily.timer apt-daily-upgrade.timer man-db.timer \
	e2scrub_all.timer fstrim.timer logrotate.timer 2>/dev/null || true
passwd -d root
mkdir -p /srv/carp-repo /var/log/journal
EOF
unshare -m sh -c "mount -t proc proc '$root/proc' && mount --rbind /dev '$root/dev' &&
	mount -t sysfs sys '$root/sys' && chroot '$root' sh -e /tmp/setup" >>"$log" 2>&1 ||
	{ tail -20 "$log" >&2; die "setting up the image failed (log: $log)"; }
rm -f "$root/tmp/setup"
cat >"$root/etc/fstab" <<'EOF'
/dev/vda / ext4 errors=remount-ro 0 1
EOF
echo debian >"$root/etc/hostname"
: >"$root/etc/machine-id"
cat >"$root/etc/network/interfaces" <<'EOF'
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback
EOF

[ -f "$root/boot/vmlinuz-$abi" ] && [ -f "$root/boot/initrd.img-$abi" ] ||
	die "no kernel or initrd in the image"
mkfs.ext4 -q -F -L carp-root -d "$root" "$img.tmp" 3G >>"$log" 2>&1 ||
	{ tail -20 "$log" >&2; die "mkfs.ext4 failed (log: $log)"; }
rm -rf --one-file-system "$root"
mv "$img.tmp" "$img"
echo "deb-image: $img" >&2
echo "$img"
