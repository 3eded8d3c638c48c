#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fault injection: every configuration path (device creation by
# rtnetlink, genetlink dev-set, a carpnodes change, an IPv4 and an IPv6
# address on a carp device, the carpdev found by subnet, module init) runs
# with fail-nth = 1, 2, 3, ... (failslab: every slab allocation of the
# task may fail, sleeping ones included) until it succeeds without reaching
# its fault point; fail_page_alloc too (the page allocator: every order,
# sleeping allocations included), so fail-nth counts both kinds of fault
# point. Each failing run must return an error and leave the
# previous configuration (or no device), each accepted one must be whole;
# the harness checks for splats and kmemleak after the file.
# make check runs every 25th fault point (CARP_STRESS=1: every one).
#
# User pages (GFP_HIGHUSER: a page fault while the syscall copies from
# user memory) are left alone: a failed user page fault calls the OOM
# killer, it does not return an error. The allocator reports each failure
# with a stack dump (warn_alloc); kernel_log_clean takes those reports out
# of the log before the splat check.

stride=25
[ "${CARP_STRESS:-0}" = 1 ] && stride=1
dbg=/sys/kernel/debug
fi_ok=0
[ -e /proc/self/fail-nth ] && [ -d $dbg/failslab ] && [ -d $dbg/fail_page_alloc ] && fi_ok=1
# Six configuration paths and the state notification, each a fault check
# and a splat check; the two devices intact; module init (fault and
# splat) and the module back: 19.
# On a kernel without fault injection (the base kernel: make vm-test runs
# every file there) the one "not ok" below: nothing was tested.
tap_plan $((fi_ok ? 19 : 1))
if [ $fi_ok = 0 ]; then
	tap_fail "fault injection is available (kernel $(uname -r) has no fail-nth, failslab or fail_page_alloc: run this file on the debug kernel, KVARIANT=debug)"
	return 0
fi
echo N >$dbg/failslab/ignore-gfp-wait
echo 0 >$dbg/failslab/verbose
echo 0 >$dbg/fail_page_alloc/min-order
echo N >$dbg/fail_page_alloc/ignore-gfp-wait
echo Y >$dbg/fail_page_alloc/ignore-gfp-highmem
echo 0 >$dbg/fail_page_alloc/verbose
FAULTS="python3 -I -S $CARP_STRESS_DIR/faults.py"

setup_ns fi
ip -n fi -b - <<-EOF || setup_fail "eth0, eth1, carp0 and carp1"
	link add eth0 type veth peer name peer0
	link add eth1 type veth peer name peer1
	link set eth0 up
	link set eth1 up
	link set peer0 up
	link set peer1 up
	addr add 192.0.2.10/24 dev eth0
	addr add 2001:db8::10/64 dev eth0 nodad
	addr add 198.51.100.10/24 dev eth1
	link add carp0 link eth0 type carp
	link add carp1 link eth0 type carp
EOF
cctl fi carp0 vhid 1 pass secret &&
cctl fi carp1 carpnodes 2:0,3:100 balancing ip pass secret &&
ip -n fi link set carp0 up &&
ip -n fi link set carp1 up || setup_fail "carp0 and carp1 configured and up"

# The kernel reports some injected failures itself, with a stack dump and
# the memory state (warn_alloc: "vmalloc error", "page allocation
# failure"): those reports are taken out of the log, anything else that
# looks like a splat fails (the harness checks the rest of the file).
kernel_log_clean() {
	local log
	log=$(dmesg -c | awk -f "$CARP_STRESS_DIR/fault-reports.awk")
	if [[ $log =~ $CARP_SPLAT_RE ]]; then
		tap_fail "no kernel splat during the $1 path" "$(grep -E -B2 -A30 "$CARP_SPLAT_RE" <<<"$log" | head -60)"
	else
		tap_ok "no kernel splat during the $1 path"
	fi
}

# fault_path NAME COMMAND...: one path, its figures as "# stress:" lines.
# It passes when faults.py exits 0 with no violation and at least one
# fault point was hit: a path that never reached a fault (fail-nth not
# armed, an operation that failed before allocating) tested nothing.
fault_path() {
	local name=$1 out rc hit=0 re=', ([0-9]+) hit \(stride'
	shift
	out=$("$@" 2>&1)
	rc=$?
	grep '^faults:' <<<"$out" | sed 's/^/# stress: /'
	[[ $out =~ $re ]] && hit=${BASH_REMATCH[1]}
	if [ $rc != 0 ] || ! grep -q ', 0 violations$' <<<"$out"; then
		tap_fail "fault injection: $name" "exit $rc: $out"
	elif [ "$hit" -lt 1 ]; then
		tap_fail "fault injection: $name" "no fault point was hit: $out"
	else
		tap_ok "fault injection: $name"
	fi
	kernel_log_clean "$name"
}
for path in newlink dev-set carpnodes addr4 addr6 subnet; do
	fault_path "$path" ip netns exec fi $FAULTS "$path" --stride $stride
done
# A state change with a listener on the events group: every fault point
# (a short path; the slice too), the listener told by a state-ntf or an
# overrun, never left with a state it did not learn of.
fault_path state-ntf ip netns exec fi $FAULTS state-ntf --stride 1
check_ok_output "carp0 is intact" '^vhid=1$' carpnl fi show carp0
check_ok_output "carp1 is intact" '^carpnodes=2:0,3:100$' carpnl fi show carp1
cleanup_ns

# Module init: no carp device may exist to unload it.
if rmmod carp; then
	fault_path modinit $FAULTS modinit --stride $stride --ko "$CARP_KO"
	check "the module loads again afterwards" bash -c "lsmod | grep -q '^carp ' || insmod '$CARP_KO'"
else
	check "rmmod carp before the modinit path" false
fi
echo Y >$dbg/failslab/ignore-gfp-wait
echo Y >$dbg/fail_page_alloc/ignore-gfp-wait
echo 1 >$dbg/fail_page_alloc/min-order
