#!/usr/bin/env bash
# Runs the VM tests: boots our kernel with virtme-ng and runs the test
# files of tests/vm and tests/stress (a slice; CARP_STRESS=1: in full) in
# it, sharded over as many VMs as the machine has cores (one vCPU each,
# two where a file needs them; the files are serial scripts), balanced by their last measured
# durations. Prints one merged TAP stream on stdout and
# exits non-zero if anything failed.
#   vm-test.sh [TEST...]      (KVARIANT=base|debug|debian, default base)
# Environment: CARP_VM_SHARDS (VM count), CARP_VM_TIMEOUT (per VM, s),
# CARP_VM_SKIP (files the whole suite leaves out),
# CARP_TEST_BUDGET (per test file, s; 300 by default).
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
# ip(8) with carp support (tests/vm/iproute2.sh).
ipr=$("$here/build-iproute2.sh")
# The commands and libraries the tests run, for the guest's memory
# (CARP_HOTROOT=0: off, everything from the 9p root).
hotroot=
[ "${CARP_HOTROOT:-1}" = 0 ] || hotroot=$("$here/build-hotroot.sh")

tests=("$@")
# CARP_VM_SKIP: files left out of the whole suite (make check runs them
# on the other kernel).
skip=" ${CARP_VM_SKIP:-} "
if [ ${#tests[@]} -eq 0 ]; then
	for f in "$top"/tests/vm/*.sh "$top"/tests/stress/*.sh; do
		n=$(basename "$f" .sh)
		[[ $skip == *" $n "* ]] && continue
		case $n in
		*lib) ;;
		# Fault injection and the receive walker's delay hook are the
		# debug kernel's: on another kernel the file says so as a
		# failure; run it there only by name.
		faults|rcu-move) [ "$variant" = debug ] && tests+=("$n") ;;
		# The module as installed on Debian's own kernel.
		stock) [ "$variant" = debian ] && tests+=("$n") ;;
		*) tests+=("$n") ;;
		esac
	done
fi
shards=${CARP_VM_SHARDS:-$(nproc)}
[ "$shards" -gt ${#tests[@]} ] && shards=${#tests[@]}
[ "$shards" -ge 1 ] || shards=1
# 1G for both kernels: kmemleak's scans cost time in proportion to memory
# (about 6 s per scan at 1G, 9 s at 2G on the debug kernel), and the
# tests need less (at least 530 MB stayed available in every file).
mem=${CARP_VM_MEM:-1G}
budget=${CARP_TEST_BUDGET:-300}
timeout=${CARP_VM_TIMEOUT:-2700}

# Durations of the last runs on this machine (the cache), else the
# checked-in estimates.
# (make stress's full runs keep their own: they take 10 to 50 times the
# slices.)
durs=$CACHE_ROOT/vm-durations.$variant
seed=$top/tests/vm/durations.$variant
if [ "${CARP_STRESS:-0}" = 1 ]; then
	durs=$CACHE_ROOT/vm-durations.$variant-stress
	seed=$top/tests/stress/durations.$variant
fi
[ -f "$durs" ] || cp "$seed" "$durs" 2>/dev/null || : >"$durs"
# Longest first, each to the least loaded shard (LPT).
assign=$(for t in "${tests[@]}"; do
	d=$(awk -v t="$t" '$1 == t { print $2 }' "$durs")
	echo "$t ${d:-60}"
done | sort -k2,2nr | awk -v n="$shards" '
	{ best = 0; for (i = 1; i < n; i++) if (load[i] < load[best]) best = i
	  load[best] += $2; list[best] = list[best] " " $1 }
	END { for (i = 0; i < n; i++) print i ":" list[i] }')

out=$CACHE_ROOT/vm-out
rm -rf "$out"
mkdir -p "$out"
cd "$top"
pids=()
shard_tests=()
while IFS=: read -r i list; do
	echo "# shard $i:$list" >&2
	shard_tests[i]=$list
	# One vCPU, or two for a shard with a file that says it needs them
	# ("# vm-cpus: 2" in its first lines: a race between two contexts).
	cpus=1
	for t in $list; do
		f=$top/tests/vm/$t.sh
		[ -f "$f" ] || f=$top/tests/stress/$t.sh
		head -5 "$f" 2>/dev/null | grep -qx '# vm-cpus: 2' && cpus=2
	done
	vm_run "$kdir" "$cpus" "$mem" "$timeout" "$out/shard$i.console" \
		"CARP_TIMES=${CARP_TIMES:-0} CARP_STRESS=${CARP_STRESS:-0} CARP_TEST_BUDGET=$budget CARP_IPROUTE2=$ipr CARP_HOTROOT=$hotroot $top/scripts/vm-run.sh $top/carp-$variant.ko $list" \
		>"$out/shard$i.tap" 2>/dev/null &
	pids+=($!)
done <<<"$assign"
for p in "${pids[@]}"; do wait "$p" || true; done

# Merge: each shard's TAP; a shard that did not finish names the test it
# was in (a kernel crash or the VM timeout) and shows its console and log.
# A splat on a shard's console fails the shard: the console has the
# warnings and worse of the whole boot (loglevel=5), also those the
# guest's own check between files cannot see (a report a test consumed
# with its own dmesg -c, one printed while the VM went down). The same
# expression as vm-run.sh's (vm-lib.sh), on kernel lines only (the console
# file has vng's own messages too), and a panic.
failed=0
console_splat="^\[ *[0-9.]+\] .*($CARP_SPLAT_RE|Kernel panic)"
# The console without the reports of injected faults (the same filter as
# faults.sh's on the kernel log: they are the test, not a splat).
console_real() {
	awk -f "$top/tests/stress/fault-reports.awk" "$1"
}
for i in $(seq 0 $((shards - 1))); do
	tap=$out/shard$i.tap console=$out/shard$i.console
	grep -E '^(not )?ok |^#' "$tap" || true
	stopped=0
	if ! grep -q '^# vm-run done' "$tap"; then
		stopped=1
		cur=$(awk '/^# test [^ ]+$/ { t = $3 } /^# test [^ ]+ took/ { t = "" } END { print t }' "$tap")
		echo "not ok - ${cur:-vm}: aborted: the VM of shard $i stopped (kernel crash or timeout)"
		echo "#   kernel console of shard $i:"
		tail -80 "$console" | sed 's/^/#   /'
		echo "#   full output of shard $i:"
		sed 's/^/#   /' "$tap"
		failed=1
	fi
	# (grep without -q reads to the end: with -q, awk writing on into the
	# closed pipe would fail the pipeline under pipefail and hide the
	# splat; || true: no match is grep's exit 1.)
	splat=$(console_real "$console" | grep -E -B2 -A30 "$console_splat") || true
	if [ -n "$splat" ]; then
		echo "not ok - shard $i: no kernel splat on the console (files:${shard_tests[i]})"
		# (The console's tail is above when the VM stopped.)
		[ $stopped = 1 ] || head -80 <<<"$splat" | sed 's/^/#   /'
		failed=1
	fi
	grep -q '^not ok' "$tap" && failed=1
	# Remember this run's durations for the next sharding.
	awk '/^# test [^ ]+ took/ { print $3, int($5 + 0.5) }' "$tap" | while read -r t d; do
		{ grep -v "^$t " "$durs" || true; echo "$t $d"; } >"$durs.new" && mv "$durs.new" "$durs"
	done
done
exit $failed
