#!/usr/bin/env bash
# `make demo`: build the base kernel and carp.ko, boot a VM and run the demo
# in it (scripts/demo-vm.sh). KVARIANT=debug runs it on the debug kernel.
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
cd "$top"
exec vng --run "$kdir/arch/x86/boot/bzImage" "${kvm[@]}" --force-9p --user root \
	--cpus 2 --memory 2G --append no5lvl \
	--exec "$top/scripts/demo-vm.sh $top/carp-$variant.ko"
