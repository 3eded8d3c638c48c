#!/usr/bin/env bash
# `make demo`: build the base kernel and carp.ko, boot a VM and run the demo
# in it (scripts/demo-vm.sh). KVARIANT=debug runs it on the debug kernel.
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/env.sh"
. "$here/vm-lib.sh"
variant=${KVARIANT:-base}
kdir=$("$here/build-kernel.sh" "$variant")
"$here/build-module.sh" "$variant" >&2
"$here/build-tools.sh" >&2
ipr=$("$here/build-iproute2.sh")
cd "$top"
vm_run "$kdir" 2 2G 900 /dev/stderr "$top/scripts/demo-vm.sh $top/carp-$variant.ko $ipr"
