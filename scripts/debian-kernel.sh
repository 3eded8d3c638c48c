#!/usr/bin/env bash
# Debian's own 6.12 kernel (KVARIANT=debian): what carp.ko needs to be built
# for it and tested on it, all from the Debian archive as shipped.
#   debian-kernel.sh            prints the directory (below), preparing it
# The directory holds:
#   headers/   Debian's linux-headers-$ABI-amd64 tree (with linux-kbuild):
#              the real vermagic, Module.symvers CRCs, objtool, modpost;
#              where carp.ko is linked (build-module.sh debian)
#   shadow/    the same linux-source configured with Debian's .config plus
#              CONFIG_RUST (MODVERSIONS off, nothing else may change), its
#              rust/ built: where the Rust side of carp.ko is compiled with
#              exactly the stock kernel's code-generation flags
#   image/     linux-image-$ABI-amd64 as shipped (signed vmlinuz, modules):
#              the kernel the VM boots (vm-lib.sh), carp.ko under updates/
# CARP_DEBIAN_HEADERS=/usr/src/linux-headers-$(uname -r) builds for the
# installed headers of another Debian 6.12 kernel instead (its source is
# downloaded; no image: image/ is absent).
# See Documentation/building-and-testing.rst, "Debian's stock kernel".
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

die() { printf 'debian-kernel: %s\n' "$*" >&2; exit 1; }

# The kernel: the pinned one (KVER_DEB, DEB_ABI), or the one whose headers
# are installed at CARP_DEBIAN_HEADERS (its Debian version from dpkg, its
# source downloaded: the same upload's linux-source-6.12).
ver=$KVER_DEB abi=$DEB_ABI
if [ -n "${CARP_DEBIAN_HEADERS:-}" ]; then
	hdr=$CARP_DEBIAN_HEADERS
	[ -f "$hdr/include/config/kernel.release" ] || die "no kernel headers in $hdr"
	rel=$(cat "$hdr/include/config/kernel.release")
	abi=${rel%-amd64}
	[ "$abi" != "$rel" ] || die "$hdr: $rel is not a Debian amd64 kernel"
	ver=$(dpkg-query -W -f='${Version}' "linux-headers-$rel" 2>/dev/null) ||
		die "$hdr is not from Debian's linux-headers-$rel package"
fi
rel=$abi-amd64
base=$CACHE_ROOT/debian/$abi
mkdir -p "$base/debs"
download() {
	local p=$1
	compgen -G "$base/debs/${p}_*.deb" >/dev/null && return 0
	echo "debian-kernel: downloading $p $ver" >&2
	(cd "$base/debs" && apt-get download -q "$p=$ver" >&2) ||
		die "apt-get download $p=$ver failed (is bookworm-security in the sources?)"
}
deb() { compgen -G "$base/debs/${1}_*.deb"; }

# 1. Debian's packages as shipped: headers and kbuild (where carp.ko is
# linked), the image (the kernel the VM boots), unless the headers are
# installed (a machine that runs the kernel builds for it).
if [ -z "${CARP_DEBIAN_HEADERS:-}" ]; then
	for p in "linux-headers-$rel" "linux-headers-$abi-common" "linux-kbuild-$abi" "linux-image-$rel"; do
		download "$p"
	done
	if ! [ -f "$base/root/.extracted" ]; then
		rm -rf "$base/root"; mkdir -p "$base/root"
		for p in "linux-headers-$rel" "linux-headers-$abi-common" "linux-kbuild-$abi"; do
			dpkg-deb -x "$(deb "$p")" "$base/root"
		done
		# The flavour's Makefile includes the common tree by absolute path.
		sed -i "s|^include /usr/src/|include $base/root/usr/src/|" \
			"$base/root/usr/src/linux-headers-$rel/Makefile"
		touch "$base/root/.extracted"
	fi
	if ! [ -f "$base/image/.extracted" ]; then
		rm -rf "$base/image"; mkdir -p "$base/image"
		dpkg-deb -x "$(deb "linux-image-$rel")" "$base/image"
		touch "$base/image/.extracted"
	fi
	hdr=$base/root/usr/src/linux-headers-$rel
fi
[ -f "$hdr/.config" ] && [ -f "$hdr/Module.symvers" ] || die "no kernel headers in $hdr"
[ "$(cat "$hdr/include/config/kernel.release")" = "$rel" ] || die "$hdr is not for $rel"

# The source of that upload: the pinned one, or linux-source-6.12 of the
# same version from the archive.
src=$KSRC
if [ "$ver" != "$KVER_DEB" ]; then
	src=$CACHE_ROOT/src/linux-$ver
	if ! [ -f "$src/.extracted" ]; then
		download linux-source-6.12
		rm -rf "$src" "$base/linux-source"; mkdir -p "$src"
		dpkg-deb -x "$(deb linux-source-6.12)" "$base/linux-source"
		tar -C "$src" --strip-components=1 -xf "$base/linux-source/usr/src/linux-source-6.12.tar.xz"
		rm -rf "$base/linux-source"
		touch "$src/.extracted"
	fi
fi

# 2. The shadow tree: keyed by everything that goes into the Rust objects.
patches=("$here"/debian/*.patch)
hard=$(cat "$here/debian/rustflags")
key=$( { echo "$ver $hdr"; sha256sum "$hdr/.config"; $KRUSTC --version;
	 "$TOOLS_DIR/bin/bindgen" --version; x86_64-linux-gnu-gcc-12 --version | head -1;
	 pahole --version; cat "${patches[@]}" "$0"; echo "$hard"; } | sha256sum | cut -c1-16)
out=$CACHE_ROOT/kernel/debian-$key
if [ -f "$out/.carp-built" ]; then
	echo "$out"; exit 0
fi
log=$CACHE_ROOT/kernel/debian-$key.log
rm -rf "$out"; mkdir -p "$out/src" "$out/obj"
echo "debian-kernel: preparing the Rust side for $rel in $out (log: $log)" >&2
start=$(date +%s)
(
	set -x
	# A tree of links to the pinned source, with rust/ a patched copy.
	for e in "$src"/* "$src"/.[!.]*; do
		n=${e##*/}
		case $n in rust|.extracted) ;; *) ln -s "$e" "$out/src/$n" ;; esac
	done
	cp -a "$src/rust" "$out/src/rust"
	for p in "${patches[@]}"; do patch -d "$out/src" -p1 --no-backup-if-mismatch <"$p"; done
	cp "$hdr/.config" "$out/obj/.config"
	"$src/scripts/config" --file "$out/obj/.config" --disable MODVERSIONS --enable RUST
	make -C "$out/src" O="$out/obj" "${DEB_KMAKE_FLAGS[@]}" KERNELRELEASE="$rel" olddefconfig
) >"$log" 2>&1 || { tail -30 "$log" >&2; die "failed, see $log"; }
# Debian's config must come out unchanged but for Rust's own options and
# MODVERSIONS (which only adds CRCs to exports; the module's imports get
# theirs from Debian's Module.symvers when it is linked in headers/).
rust_only='^(# )?CONFIG_(RUST|RUST_[A-Z0-9_]+|RUSTC_[A-Z0-9_]+|BINDGEN_VERSION_TEXT|MODVERSIONS|ASM_MODVERSIONS|BLK_DEV_RUST_NULL|HAVE_CFI_ICALL_NORMALIZE_INTEGERS_RUSTC)[ =]'
if ! diff <(grep -vE "$rust_only" "$hdr/.config") <(grep -vE "$rust_only" "$out/obj/.config") >&2; then
	die "the shadow config differs from Debian's beyond Rust's options (above): tools differ from the kernel's build (gcc-12, pahole)?"
fi
grep -qx CONFIG_RUST=y "$out/obj/.config" || die "CONFIG_RUST did not stick in the shadow config (see $log)"
{
	make -C "$out/src" O="$out/obj" "${DEB_KMAKE_FLAGS[@]}" KERNELRELEASE="$rel" \
		KRUSTFLAGS="$hard" -j"$(nproc)" rust/
} >>"$log" 2>&1 || { tail -30 "$log" >&2; die "failed, see $log"; }
# The generated C headers must match Debian's: same layouts, same constants.
for f in include/generated/autoconf.h include/generated/utsrelease.h; do
	if ! diff <(grep -vE '#define CONFIG_(RUST|RUSTC_|BINDGEN_|MODVERSIONS|ASM_MODVERSIONS)' "$hdr/$f") \
		<(grep -vE '#define CONFIG_(RUST|RUSTC_|BINDGEN_|MODVERSIONS|ASM_MODVERSIONS)' "$out/obj/$f") >&2; then
		die "$f of the shadow differs from Debian's"
	fi
done
for f in include/generated/asm-offsets.h include/generated/bounds.h; do
	cmp "$hdr/$f" "$out/obj/$f" >&2 || die "$f of the shadow differs from Debian's"
done
ln -sfn "$hdr" "$out/headers"
[ -n "${CARP_DEBIAN_HEADERS:-}" ] || ln -sfn "$base/image" "$out/image"
touch "$out/.carp-built"
echo "debian-kernel: prepared in $(( $(date +%s) - start )) s" >&2
echo "$out"
