#!/usr/bin/env bash
# Boots our kernel once with virtme-ng and runs the VM tests in it.
#   vm-test.sh [TEST...]      (KVARIANT=base|debug, default base)
# TCG by default: /dev/kvm on our machines is nested PVM, on which qemu's
# KVM mode aborts or crawls. CARP_VM_KVM=1 opts in to KVM.
# Prints the TAP output; the log is kept in $CARP_VM_LOG if set.
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/env.sh"
variant=${KVARIANT:-base}
kdir=$("$here/build-kernel.sh" "$variant")
"$here/build-module.sh" "$variant" >&2
"$here/build-tools.sh" >&2

kvm=(--disable-kvm)
[ "${CARP_VM_KVM:-0}" = 1 ] && kvm=()
mem=2G
append="no5lvl"
# KASAN under TCG is slow; give the tests room.
timeout=2400
[ "$variant" = debug ] && mem=4G && timeout=3300

# The guest writes its TAP output here as it goes (tail -f to watch).
progress=$CACHE_ROOT/vm-progress
mkdir -p "$progress"
: > "$progress/tap"
cd "$top"
# Not --foreground: on timeout the whole process group (vng and its qemu)
# is signalled. PYTHONUNBUFFERED: vng passes the guest's output on as it
# comes, so a log shows how far a run got.
PYTHONUNBUFFERED=1 timeout -k 20 "${CARP_VM_TIMEOUT:-$timeout}" \
	vng --run "$kdir/arch/x86/boot/bzImage" "${kvm[@]}" --force-9p \
		--user root --cpus 2 --memory "$mem" --append "$append" \
		--rwdir "$progress" \
		--exec "CARP_VM_PROGRESS=$progress/tap $top/scripts/vm-run.sh $top/carp-$variant.ko $*" 2>&1 |
	tee "${CARP_VM_LOG:-/dev/null}"
