#!/usr/bin/env bash
# Build (or reuse) our 6.12 kernel: variant base or debug (debian: Debian's
# own, scripts/debian-kernel.sh).
# The build lives outside the checkout, keyed by kernel version, toolchain
# versions and the config fragments, so a rebuild happens only when it must.
# Prints the build directory on stdout.
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
variant=${1:-${KVARIANT:-base}}
case $variant in
base|debug) ;;
# Debian's own kernel, as shipped: nothing to build but the Rust side.
debian) exec "$here/debian-kernel.sh" ;;
*) echo "unknown kernel variant: $variant" >&2; exit 2;;
esac

frags=("$here/kconfig/base.config")
[ "$variant" = debug ] && frags+=("$here/kconfig/debug.config")

key=$( { echo "$KVER_DEB"; $KRUSTC --version; "$TOOLS_DIR/bin/bindgen" --version;
	 clang-19 --version | head -1; cat "${frags[@]}"; } | sha256sum | cut -c1-16)
out=$CACHE_ROOT/kernel/$variant-$key
if [ -f "$out/.carp-built" ]; then
	echo "$out"; exit 0
fi
log=$CACHE_ROOT/kernel/$variant-$key.log
mkdir -p "$out"
echo "build-kernel: building $variant kernel in $out (log: $log)" >&2
start=$(date +%s)
{
	# allnoconfig seeded with our fragments: nothing is built that they do
	# not ask for (directly or through what they select).
	cat "${frags[@]}" > "$out/carp.allconfig"
	make -C "$KSRC" O="$out" "${KMAKE_FLAGS[@]}" KCONFIG_ALLCONFIG="$out/carp.allconfig" allnoconfig
	make -C "$KSRC" O="$out" "${KMAKE_FLAGS[@]}" olddefconfig
	# Every option of our fragments must have survived olddefconfig: a silently
	# dropped CONFIG_RUST would give a kernel that cannot load carp.ko.
	bad=0
	for f in "${frags[@]}"; do
		while IFS= read -r line; do
			case $line in
			CONFIG_*=n) opt=${line%%=*}; grep -q "^$opt=" "$out/.config" && { echo "config: $opt still set" >&2; bad=1; } ;;
			CONFIG_*=*) grep -qxF "$line" "$out/.config" || { echo "config: $line not applied" >&2; bad=1; } ;;
			"# CONFIG_"*" is not set") opt=${line#\# }; opt=${opt%% *}; grep -q "^$opt=" "$out/.config" && { echo "config: $opt still set" >&2; bad=1; } ;;
			esac
		done < "$f"
	done
	[ $bad = 0 ] || { echo "build-kernel: some fragment options did not apply (fix scripts/kconfig/)" >&2; exit 1; }
	grep -qx CONFIG_RUST=y "$out/.config" || { echo "build-kernel: CONFIG_RUST did not stick (rustc/bindgen/libclang not usable?)" >&2; exit 1; }
	make -C "$KSRC" O="$out" "${KMAKE_FLAGS[@]}" -j"$(nproc)" bzImage modules
} > "$log" 2>&1 || { tail -40 "$log" >&2; echo "build-kernel: failed, see $log" >&2; exit 1; }
touch "$out/.carp-built"
echo "build-kernel: $variant kernel built in $(( $(date +%s) - start )) s" >&2
echo "$out"
