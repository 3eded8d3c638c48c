#!/usr/bin/env bash
# `make bench`: figures, not assertions (qemu TCG: compare ratios and runs,
# not absolute values), on the base kernel:
# - failover side by side with ucarp and keepalived (VRRPv2, VRRPv3):
#   takeover precision, probes lost, sub-second intervals under load,
#   scale to 255 vhids (scripts/bench-failover-vm.py);
# - load balancing: throughput and packet rate through macvlan, carp
#   without balancing and carp with the IP filter, as ratios to macvlan;
#   the filter's decision cost on the host and under load in the kernel.
# KVARIANT=debian runs it on Debian's own kernel.
# CARP_BENCH_ARGS passes options to the failover bench (e.g.
# "--failovers 20 --load-seconds 60"); Documentation/benchmarks.rst holds
# the figures of a run.
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/env.sh"
. "$here/vm-lib.sh"
variant=${KVARIANT:-base}
kdir=$("$here/build-kernel.sh" "$variant")
vm_install_module "$kdir" "$top/carp-$variant.ko"
ipr=$("$here/build-iproute2.sh")
start=$(date +%s)
# python3 -u: the figures stream out (and survive a timeout).
# (| cat: qemu reopens its stdout through /proc/self/fd, which truncates
# a file; `make bench >log` lost the first VM's output to the second.)
vm_run "$kdir" 2 2G ${CARP_BENCH_TIMEOUT:-1500} /dev/null \
	"CARP_IPROUTE2=$ipr python3 -u $top/scripts/bench-failover-vm.py $top/carp-$variant.ko ${CARP_BENCH_ARGS:-}" |
	cat || echo "bench: the failover bench did not finish" >&2
# CARP_BENCH_LB=0: the failover part only (comparing kernels).
[ "${CARP_BENCH_LB:-1}" = 0 ] && exit 0
echo
vm_run "$kdir" 2 2G 900 /dev/null \
	"$top/scripts/bench-lb-vm.sh $top/carp-$variant.ko ${CARP_BENCH_SECONDS:-4}" 2>/dev/null | cat || true
(cd "$top/tools" && cargo run --release -q -p carp-core --example filter_cost &&
	cargo run --release -q -p carp-core --example hmac_cost &&
	cargo run --release -q -p carp-core --example addr_cost)
echo "# make bench took $(( $(date +%s) - start )) s"
