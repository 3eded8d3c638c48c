#!/usr/bin/env bash
# `make stress`: the hardening tests of tests/stress in full (CARP_STRESS=1)
# on the debug kernel (KASAN, lockdep, kmemleak, UBSAN, DEBUG_NET, fault
# injection), sharded over the machine's cores like the VM suite; ends
# with a table of what ran, the splat and leak checks and the run time.
# make check runs a slice of the same files.
# SPDX-License-Identifier: GPL-2.0
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/env.sh"
start=$(date +%s)
log=$CACHE_ROOT/logs/stress.log
mkdir -p "$(dirname "$log")"
# pktfuzz.sh mutates pieces of the core's fuzz corpus: grow one if this
# checkout has none yet (make check's fuzz phase grows it too).
[ -n "$(ls "$top/tools/fuzz/corpus/decode" 2>/dev/null)" ] ||
	"$here/fuzz.sh" 60 >"$CACHE_ROOT/logs/stress-fuzz.log" 2>&1 ||
	echo "stress: could not grow the fuzz corpus (log: $CACHE_ROOT/logs/stress-fuzz.log)" >&2
tests=()
for f in "$top"/tests/stress/*.sh; do tests+=("$(basename "$f" .sh)"); done
KVARIANT=${KVARIANT:-debug} CARP_STRESS=1 CARP_TEST_BUDGET=${CARP_TEST_BUDGET:-2400} \
	CARP_VM_TIMEOUT=${CARP_VM_TIMEOUT:-3000} "$here/vm-test.sh" "${tests[@]}" >"$log" 2>&1
rc=$?
grep -E '^not ok|^#   ' "$log" | head -100
echo "== make stress ($(grep -m1 '^# kernel' "$log" | sed 's/^# //'))"
sed -n 's/^# stress: /    /p' "$log"
echo "    test files:"
awk '/^# test [^ ]+ took/ { printf "      %-10s %6.0f s\n", $3, $5 }' "$log"
splats=$(grep -c '^not ok - .*no kernel splat' "$log")
leaks=$(grep -c '^not ok - kmemleak' "$log")
p=$(grep -c '^ok ' "$log") f=$(grep -c '^not ok ' "$log")
echo "    splats $splats, leaks $leaks, failed checks $f (of $((p + f)))"
echo "    run time $(( $(date +%s) - start )) s (log: $log)"
echo "$p passed, $f failed"
[ "$rc" -eq 0 ] && [ "$f" -eq 0 ] && [ "$p" -gt 0 ]
