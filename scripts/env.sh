# Shared settings for the project's scripts; source it, do not run it.
# SPDX-License-Identifier: GPL-2.0
KVER_DEB=6.12.117-1~deb12u1
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
