#!/usr/bin/env bash
# Build carp.ko against our kernel (variant base|debug), warnings as errors.
#   build-module.sh [base|debug]      build
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

kmake() {
	make -C "$kdir" M="$top" "${KMAKE_FLAGS[@]}" W=1 KCFLAGS=-Werror \
		KRUSTFLAGS=-Dwarnings "$@"
}
if [ "$mode" = clean ]; then
	rm -f "$top"/{*.o,*.ko,*.mod,*.mod.c,*.mod.o,.*.cmd,*.d,modules.order,Module.symvers,carp_bindings_generated.rs}
	rm -rf "$top"/.tmp_versions
	exit 0
fi
kdir=$("$here/build-kernel.sh" "$variant")
case $mode in
build)
	# objtool's "falls through" warnings flag functions ending in a call to
	# a Rust panic: the module must have no panic path, so they fail it.
	log=$(mktemp)
	kmake modules 2>&1 | tee "$log"
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
	bad=$(llvm-objdump-19 -dr "$top/carp.ko" | awk '
		/^[0-9a-f]+ <.*>:$/ { fn = $2 }
		/R_X86_64_PLT32.*(panicking|_fail|slice_(start|end)_index|unwrap_failed|expect_failed)/ {
			if (fn ~ /carp_proto|carp_balance|carp_sha1/) print fn, $NF
		}' | sort -u)
	if [ -n "$bad" ]; then
		echo "$bad" >&2
		echo "build-module: a panic path in the protocol core (see above)" >&2
		exit 1
	fi
	echo "build-module: $top/carp.ko ($variant kernel)" >&2
	;;
lint)
	# Clippy needs a full rebuild of the crate to run its lints.
	touch "$top/carp.rs"
	kmake CLIPPY=1 modules
	"$here/rustfmt-check.sh"
	;;
esac
