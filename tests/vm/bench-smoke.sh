#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The failover benchmark (make bench) runs: one iteration of each of its
# measurements with every contender (carp, ucarp, keepalived VRRPv2 and
# v3; link kills, the ~40 ms class), so a broken bench script shows here.
# The figures are not checked.

top=$(cd "$(dirname "$CARP_KO")" && pwd)
out=$(python3 "$top/scripts/bench-failover-vm.py" "$CARP_KO" --smoke 2>&1)
sed -n 's/^/#   /p' <<<"$out" | head -60
check_output "the bench ran to its end" '^# failover bench done$' echo "$out"
for c in carp ucarp 'keepalived VRRPv2' 'keepalived VRRPv3'; do
	check_output "takeover measured for $c" "^  $c +link +[0-9.]+s +-?[0-9]" echo "$out"
done
check_output "sub-second rows for carp and keepalived" "^  keepalived VRRPv3 +~40 ms +[0-9]+ms +[0-9.]+ ms" echo "$out"
check_output "the scale table has a row" '^ +8 +[0-9.-]+ KB' echo "$out"
check_absent "no Python error" 'Traceback' echo "$out"
