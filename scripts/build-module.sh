#!/usr/bin/env bash
# Build carp.ko against our kernel (variant base|debug), warnings as errors.
#   build-module.sh [base|debug|debian]   build
#   build-module.sh lint [variant]    clippy build (CLIPPY=1) + rustfmt check
#   build-module.sh clean
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/env.sh"
mode=build
case ${1:-} in lint|clean) mode=$1; shift;; esac
variant=${1:-${KVARIANT:-base}}

if [ "$mode" = clean ]; then
	rm -rf "$CACHE_ROOT"/module-* "$top"/carp-*.ko "$top"/carp-debian-src.tar
	exit 0
fi
kdir=$("$here/build-kernel.sh" "$variant")
# Each kernel gets its own build directory: the generated bindings and the
# objects depend on the kernel's configuration (spinlock_t grows with
# lockdep, for one), and kbuild would not notice a switch of kernels.
# 6.12 has no MO=, so the sources are mirrored there.
bdir=$CACHE_ROOT/module-$(basename "$kdir")
# Clippy builds in a directory of its own: it needs a full rebuild of the
# crate, which in the module's directory would leave objects built by
# clippy-driver, and the next build would redo them all.
[ "$mode" = lint ] && bdir=$bdir-clippy
mkdir -p "$bdir"
# Content compared (-c), times not copied: a file whose content changed gets
# a new mtime even when the source is older than the objects (switching
# trees), so kbuild rebuilds exactly what changed. The build's own files
# are protected first (rules match in order: after the includes, /*.rs
# and /*.c would delete the generated bindings and carp.mod.c, and every
# build would run bindgen again).
rsync -rlpc --delete \
	--filter='P *.o' --filter='P *.ko' --filter='P .*.cmd' --filter='P *.mod*' \
	--filter='P *.d' --filter='P modules.order' --filter='P Module.symvers' \
	--filter='P *_generated.rs' --filter='P .module-common.o' \
	--exclude='*_generated.rs' --exclude='*.mod.c' \
	--include='/Kbuild' --include='/*.rs' --include='/*.c' --include='/*.h' \
	--include='/include/***' --exclude='/*' \
	"$top/" "$bdir/"
# CARP_EXTRA_RUSTFLAGS: added after -Dwarnings (make mutants allows the
# dead code a one-line mutant leaves behind, so it builds).
kmake() {
	make -C "$kdir" M="$bdir" "${KMAKE_FLAGS[@]}" W=1 KCFLAGS=-Werror \
		KRUSTFLAGS="-Dwarnings ${CARP_EXTRA_RUSTFLAGS:-}" "$@"
}
# Debian's kernel (no CONFIG_RUST): the crate is compiled in the shadow
# tree (Debian's config plus Rust: the stock code-generation flags, plus the
# hardening rustc leaves out in 6.12, scripts/debian/rustflags), made
# self-contained and linked in Debian's headers tree (debian-link.sh).
ko=$bdir/carp.ko
build_modules() {
	if [ "$variant" != debian ]; then
		kmake modules
		return
	fi
	make -C "$kdir/src" O="$kdir/obj" M="$bdir" "${DEB_KMAKE_FLAGS[@]}" W=1 \
		KRUSTFLAGS="$(cat "$here/debian/rustflags") -Dwarnings ${CARP_EXTRA_RUSTFLAGS:-}" \
		carp_rs.o &&
		"$here/debian-link.sh" "$kdir" "$bdir" "$top" "$bdir/debian"
}
[ "$variant" = debian ] && ko=$bdir/debian/carp.ko
case $mode in
build)
	# objtool's "falls through" warnings flag functions ending in a call to
	# a Rust panic: the module must have no panic path, so they fail it.
	log=$(mktemp)
	build_modules 2>&1 | tee "$log"
	if grep -q 'objtool:.*falls through' "$log"; then
		rm -f "$log"
		echo "build-module: objtool found a panic path (see above)" >&2
		exit 1
	fi
	rm -f "$log"
	# The pure protocol core must have no panic path: no function of
	# carp_proto/carp_balance/carp_sha1 may call into core's panicking
	# functions. (Glue code inlines library code such as UTF-8 validation
	# or KVec growth whose overflow checks cannot fire; that is not
	# flagged.)
	bad=$(llvm-objdump-19 -dr "$ko" | awk '
		/^[0-9a-f]+ <.*>:$/ { fn = $2 }
		# panic_nounwind: debug checks in core of unsafe preconditions
		# (debug kernel, RUST_DEBUG_ASSERTIONS), not reachable without UB.
		/panic_nounwind/ { next }
		# The stack protector'"'"'s (Debian'"'"'s kernel: scripts/debian/rustflags).
		/__stack_chk_fail/ { next }
		/R_X86_64_PLT32.*(panicking|_fail|slice_(start|end)_index|unwrap_failed|expect_failed)/ {
			if (fn ~ /carp_proto|carp_balance|carp_sha1/) print fn, $NF
		}' | sort -u)
	if [ -n "$bad" ]; then
		echo "$bad" >&2
		echo "build-module: a panic path in the protocol core (see above)" >&2
		exit 1
	fi
	cp "$ko" "$top/carp-$variant.ko"
	# Debian's kernel: the module's source for carp-dkms (make deb), what
	# kbuild needs in the headers tree of a kernel of the kind, with the
	# Rust side prebuilt (debian-link.sh).
	if [ "$variant" = debian ]; then
		tar -C "$bdir/debian" --sort=name --owner=0 --group=0 --mtime=@0 \
			-cf "$top/carp-debian-src.tar" Kbuild carp_helpers.c carp_nl.c carp_nl_gen.c \
			carp_nl_gen.h carp_rust_helpers.c carp_rust.o_shipped .carp_rust.o.cmd \
			include rust_helpers dkms
	fi
	echo "build-module: $top/carp-$variant.ko ($variant kernel)" >&2
	;;
lint)
	[ "$variant" = debian ] && { echo "build-module: lint runs on our kernels (base|debug)" >&2; exit 2; }
	# Clippy needs a full rebuild of the crate to run its lints.
	touch "$bdir/carp.rs"
	kmake CLIPPY=1 modules
	"$here/rustfmt-check.sh"
	# A shared reference turned into a write pointer (the aliasing the
	# review found): what changes under readers is Opaque<T> or atomic.
	if grep -n 'addr_of!([^)]*)\.cast_mut()\|as \*const [A-Za-z_:]* as \*mut' "$top"/*.rs; then
		echo "build-module: write through a pointer from a shared reference (use Opaque<T>)" >&2
		exit 1
	fi
	# One-way dependencies between the module's files (no import cycle).
	"$here/deps-check.sh"
	;;
esac
