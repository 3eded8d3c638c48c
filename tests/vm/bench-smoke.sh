#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The failover benchmark (make bench) runs: one iteration of each of its
# measurements (a silent failure, its wire cut, at 1 s intervals for carp, ucarp and
# keepalived VRRPv2/v3 side by side; the ~40 ms class under the combined
# load; 8 devices with the interval ladder and keepalived), so a
# broken bench script shows here. The figures are not checked.

tap_plan 9
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=$(python3 "$top/scripts/bench-failover-vm.py" "$CARP_KO" --smoke 2>&1)
rc=$?
sed -n 's/^/#   /p' <<<"$out" | head -60
# (replay: the bench's exit status goes with its output into every check.)
check_ok_output "the bench ran to its end" '^# failover bench done' replay "$rc" "$out"
for c in carp ucarp "keepalived VRRPv2" "keepalived VRRPv3"; do
	check_ok_output "takeover measured for $c" "^  $c +cut +[0-9.]+s +-?[0-9]" replay "$rc" "$out"
done
check_ok_output "a sub-second row for carp (~40 ms), measured" \
	"^  carp +~40 ms +[0-9]+ms +-?[0-9.]+ ms +-?[0-9.]+ ms +-?[0-9.]+ ms +[0-9]+ +[0-9]+$" replay "$rc" "$out"
# (keepalived may not settle at 40 ms on the debug kernel's single vCPU:
# its row may have no figures.)
check_ok_output "a sub-second row for keepalived VRRPv3 (~40 ms)" \
	"^  keepalived VRRPv3 +~40 ms +[0-9]+ms( +(-|-?[0-9.]+ ms)){3} +[0-9]+ +([0-9]+|-)$" replay "$rc" "$out"
# (N, interval, KB per device, carp's and softirq's us per vhid per second
# and carp's us per advertisement from perf, false takeovers; keepalived's
# columns.)
check_ok_output "the scale table has a row with perf's figures, keepalived's columns too" \
	'^ +8 +[0-9]+ms +-?[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9]+ +(yes|no)$' replay "$rc" "$out"
check_absent "no Python error" 'Traceback' replay "$rc" "$out"
