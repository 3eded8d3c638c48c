#!/usr/bin/env bash
# carp support for ip(8), from tools/iproute2/iplink_carp.c, built against
# the source of the exact iproute2 installed (fetched by scripts/setup.sh):
# - lib/link_carp.so: the plugin the installed ip loads for `type carp`
#   from $IP_LIB_DIR (or ip's library directory with --install);
# - bin/ip: a complete ip from that tree with iplink_carp.c built in, as an
#   upstream patch would give.
# Refuses when the installed ip is not the version of the fetched source:
# the plugin uses iproute2's internal interfaces (struct link_util, its
# helpers), so headers of another version could crash ip.
# Prints the output directory.
#   build-iproute2.sh [--install]
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/env.sh"
die() { printf 'build-iproute2: %s\n' "$*" >&2; exit 1; }

ver=$(dpkg-query -W -f='${Version}' iproute2)
upstream=${ver%%-*}
upstream=${upstream#*:}
base=$CACHE_ROOT/iproute2
src=$base/iproute2-$upstream
[ -f "$base/iproute2_$ver.dsc" ] && [ -d "$src" ] ||
	die "no source of iproute2 $ver in $base (run scripts/setup.sh)"
have=$(ip -V 2>/dev/null || true)
case $have in
*"iproute2-$upstream,"* | *"iproute2-$upstream") ;;
*) die "the installed ip ($have) is not iproute2 $upstream, whose headers were fetched: refusing to build a plugin that could crash it" ;;
esac

# libmnl gives ip its extack messages: part of what is built.
key=$( { echo "$ver"; pkg-config --modversion libmnl 2>/dev/null || true
	cat "$top/tools/iproute2/iplink_carp.c" "$top/include/uapi/linux/carp.h"; } |
	sha256sum | cut -c1-16)
out=$base/out-$key
if [ -f "$out/.built" ]; then
	[ "${1:-}" = --install ] || { echo "$out"; exit 0; }
else
	rm -rf "$out"
	mkdir -p "$out/lib" "$out/bin"
	tree=$out/tree
	cp -a "$src" "$tree"
	cp "$top/include/uapi/linux/carp.h" "$tree/include/uapi/linux/carp.h"
	cp "$top/tools/iproute2/iplink_carp.c" "$tree/ip/iplink_carp.c"
	log=$out/build.log
	{
		cd "$tree" &&
		# A complete ip with carp built in; -fPIC so that the same
		# object also makes the plugin.
		sed -i 's/^IPOBJ=ip.o /IPOBJ=ip.o iplink_carp.o /' ip/Makefile &&
		./configure &&
		make SUBDIRS="lib ip" CCOPTS="-O2 -pipe -fPIC" &&
		cp ip/ip "$out/bin/ip" &&
		# The plugin: ip resolves its references at dlopen time (it is
		# linked with -export-dynamic).
		cc -shared -o "$out/lib/link_carp.so" ip/iplink_carp.o
	} >"$log" 2>&1 || { tail -30 "$log" >&2; die "build failed (log: $log)"; }
	touch "$out/.built"
	echo "build-iproute2: $out/lib/link_carp.so and $out/bin/ip for iproute2 $ver" >&2
fi
if [ "${1:-}" = --install ]; then
	libdir=$(strings "$(command -v ip)" | grep -m1 '^/usr/lib.*/ip$' || echo /usr/lib/ip)
	install -D -m 0644 "$out/lib/link_carp.so" "$libdir/link_carp.so"
	echo "build-iproute2: installed $libdir/link_carp.so" >&2
fi
echo "$out"
