#!/usr/bin/env bash
# Fails when a function of carp.ko has a stack frame larger than the
# kernel's frame-size warning (CONFIG_FRAME_WARN: 2048 bytes on 64-bit).
# rustc has no -Wframe-larger-than, so the frames are read from the
# prologues (`sub $N,%rsp`) of the module built for the base kernel (the
# debug kernel's KASAN red zones make every frame larger, and the kernel
# raises its own limit there too). Prints the five largest frames.
#   frame-check.sh
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
limit=${CARP_FRAME_LIMIT:-2048}
"$here/build-module.sh" base >/dev/null
frames=$(objdump -d --no-show-raw-insn "$top/carp-base.ko" | perl -ne '
	if (/^[0-9a-f]+ <(.*)>:$/) { $fn = $1 }
	if (/\bsub\s+\$0x([0-9a-f]+),%rsp/) { my $v = hex($1); $max{$fn} = $v if $v > ($max{$fn} // 0) }
	END { printf "%d %s\n", $max{$_}, $_ for keys %max }' | sort -nr)
[ -n "$frames" ] || { echo "frame-check: no function frames found in carp-base.ko" >&2; exit 1; }
head -5 <<<"$frames" | sed 's/^/    frame /'
over=$(awk -v l="$limit" '$1 > l' <<<"$frames")
if [ -n "$over" ]; then
	echo "frame-check: stack frames over $limit bytes (build large values in place):" >&2
	sed 's/^/    /' <<<"$over" >&2
	exit 1
fi
