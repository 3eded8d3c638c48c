#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The failover benchmark (make bench) runs: one iteration of each of its
# measurements (link kill, the ~40 ms class with every load, 8 devices)
# for carp, so a broken bench script shows here. The figures are not
# checked. (The daemons' rows cost more than the 300 s budget of a file on
# the debug kernel: they run in make bench only.)

top=$(cd "$(dirname "$CARP_KO")" && pwd)
out=$(python3 "$top/scripts/bench-failover-vm.py" "$CARP_KO" --smoke --only carp 2>&1)
sed -n 's/^/#   /p' <<<"$out" | head -40
check_output "the bench ran to its end" '^# failover bench done$' echo "$out"
check_output "takeover measured for carp" "^  carp +link +[0-9.]+s +-?[0-9]" echo "$out"
check_output "a sub-second row for carp, every load" "^  carp +~40 ms +[0-9]+ms +[0-9.]+ ms +[0-9.]+ ms +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+" echo "$out"
check_output "the scale table has a row" '^ +8 +[0-9.-]+ KB' echo "$out"
check_absent "no Python error" 'Traceback' echo "$out"
