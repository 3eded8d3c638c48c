#!/usr/bin/env bash
# `make bench`: figures, not assertions (qemu TCG: compare ratios and runs,
# not absolute values).
# - takeover times: master gone -> backup MASTER -> VIP answers, per
#   failure kind (the election and failover tests print them);
# - load balancing: throughput and packet rate through macvlan, carp
#   without balancing and carp with the IP filter, as ratios to macvlan;
#   the filter's decision cost on the host and under load in the kernel.
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/env.sh"
. "$here/vm-lib.sh"
variant=${KVARIANT:-base}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
KVARIANT=$variant CARP_VM_LOG=$log "$here/vm-test.sh" election failover >"$log" 2>&1 || true
echo "takeover times ($(grep -m1 '^# kernel' "$log" | sed 's/^# //'), qemu TCG):"
grep -E '^# takeover' "$log" | sed 's/^# /  /'
echo
kdir=$("$here/build-kernel.sh" "$variant")
vm_run "$kdir" 2 2G 900 /dev/null \
	"$top/scripts/bench-lb-vm.sh $top/carp-$variant.ko ${CARP_BENCH_SECONDS:-5}" 2>/dev/null || true
(cd "$top/tools" && cargo run --release -q -p carp-core --example filter_cost)
