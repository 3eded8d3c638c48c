#!/usr/bin/env bash
# `make demo`: build carp.ko for a kernel, boot it in a VM and run the demo
# in it (scripts/demo-vm.sh). make demo uses Debian's own kernel
# (KVARIANT=debian: nothing to build but the module); KVARIANT=base|debug
# runs it on ours.
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/env.sh"
. "$here/vm-lib.sh"
variant=${KVARIANT:-base}
kdir=$("$here/build-kernel.sh" "$variant")
"$here/build-module.sh" "$variant" >&2
vm_install_module "$kdir" "$top/carp-$variant.ko"
"$here/build-tools.sh" >&2
ipr=$("$here/build-iproute2.sh")
cd "$top"
vm_run "$kdir" 2 2G 900 /dev/stderr "$top/scripts/demo-vm.sh $top/carp-$variant.ko $ipr"
