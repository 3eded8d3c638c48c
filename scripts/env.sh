# Shared settings for the project's scripts; source it, do not run it.
# SPDX-License-Identifier: GPL-2.0
KVER_DEB=6.12.117-1~deb12u1
# The ABI of that version's Debian kernel packages (KVARIANT=debian):
# linux-image-$DEB_ABI-amd64 and its headers.
DEB_ABI=6.12.117+deb12
# A newer upload of Debian 12's kernel of the same kind: make deb-test
# installs it on a machine with carp-dkms, which must build carp.ko for it.
KVER_DEB_NEXT=6.12.118-1~deb12u1
DEB_ABI_NEXT=6.12.118+deb12
RUSTC_WEB_VER=1.96.0+dfsg1-1~deb12u2
LLVM_VER=1:19.1.7-3~deb12u1
BINDGEN_VER=0.69.5
VNG_VER=1.42
CARGO_FUZZ_VER=0.13.2

CACHE_ROOT=${CARP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/carp-linux}
TOOLS_DIR=$CACHE_ROOT/tools
KSRC=$CACHE_ROOT/src/linux-$KVER_DEB
export LIBCLANG_PATH=/usr/lib/llvm-19/lib
export PATH=$TOOLS_DIR/bin:$TOOLS_DIR/venv/bin:$PATH
# The kernel is built with Debian's rustc-web, never the rustup one on PATH.
KRUSTC=/usr/bin/rustc
KRUSTDOC=/usr/bin/rustdoc
KMAKE_FLAGS=(LLVM=-19 RUSTC=$KRUSTC RUSTDOC=$KRUSTDOC CLIPPY_DRIVER=/usr/bin/clippy-driver
	BINDGEN=$TOOLS_DIR/bin/bindgen)
# Debian's kernel is built with gcc-12 (its CONFIG_CC_VERSION_TEXT): the
# shadow tree that compiles carp's Rust side for it uses the same compiler
# (scripts/debian-kernel.sh), rustc and bindgen as ours.
DEB_KMAKE_FLAGS=(CC=x86_64-linux-gnu-gcc-12 HOSTCC=gcc RUSTC=$KRUSTC RUSTDOC=$KRUSTDOC
	CLIPPY_DRIVER=/usr/bin/clippy-driver BINDGEN=$TOOLS_DIR/bin/bindgen)

# Cargo's build directories (tools/target, tools/fuzz/target) live in the
# cache, one per checkout path, linked from the checkout: a fresh clone at
# the same path (CI's, or `rm -rf && git clone`) starts with its
# dependencies built, as it starts with the kernel built. Cargo still
# rebuilds whatever the clone's sources change. The tests' paths
# (tools/target/release/carpctl) stay the same.
carp_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
carp_cargo=$CACHE_ROOT/cargo/$(printf %s "$carp_top" | sha256sum | cut -c1-12)
for carp_d in tools tools/fuzz; do
	if [ -d "$carp_top/$carp_d" ] && [ ! -e "$carp_top/$carp_d/target" ] &&
		[ ! -L "$carp_top/$carp_d/target" ]; then
		mkdir -p "$carp_cargo/${carp_d//\//-}" &&
			ln -s "$carp_cargo/${carp_d//\//-}" "$carp_top/$carp_d/target"
	fi
done
unset carp_d

# The packages' version (make deb, make deb-test): 0.1.<commits>+g<hash>,
# with +dirty<time> for a tree with changes. Run in the checkout.
carp_deb_version() {
	local v
	v=0.1.$(git rev-list --count HEAD)+g$(git rev-parse --short=7 HEAD)
	[ -z "$(git status --porcelain --untracked-files=no)" ] || v+=+dirty$(date +%Y%m%d%H%M%S)
	echo "$v"
}
