#!/bin/bash
# Runs inside the VM: loads carp.ko, runs the VM tests, and fails a test
# when the kernel log shows a splat (BUG, WARNING, Oops, KASAN, UBSAN,
# lockdep, refcount, kmemleak). Output is TAP, read by scripts/check.sh.
#   vm-run.sh KO [TEST...]
# SPDX-License-Identifier: GPL-2.0
set -u
export CARP_KO=$1; shift
# Progress, written as it happens to a directory the host can read (the
# host's root is read-only in the guest; vm-test.sh shares this one).
if [ -n "${CARP_VM_PROGRESS:-}" ]; then
	exec > >(tee "$CARP_VM_PROGRESS") 2>&1
fi
top=$(cd "$(dirname "$0")/.." && pwd)
tdir=$top/tests/vm
export PATH=$top/tools/target/release:$PATH
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
	for f in "$tdir"/*.sh; do
		n=$(basename "$f" .sh)
		[ "$n" = lib ] || tests+=("$n")
	done
fi

splat_re='BUG:|WARNING:|Oops|KASAN|UBSAN|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|refcount_t:|unreferenced object|general protection fault|Call Trace:|kernel BUG|list_add corruption|list_del corruption|scheduling while atomic|sleeping function called from invalid context'

dmesg_check() {
	local name=$1 log
	log=$(dmesg -c 2>/dev/null)
	if grep -Eq "$splat_re" <<<"$log"; then
		echo "not ok - $name: no kernel splat"
		grep -E -B2 -A30 "$splat_re" <<<"$log" | head -80 | sed 's/^/#   /'
	else
		echo "ok - $name: no kernel splat"
	fi
}

echo "# kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpus"
dmesg -c >/dev/null
sysctl -qw kernel.panic_on_warn=0 2>/dev/null
ip link set lo up
if ! insmod "$CARP_KO"; then
	echo "not ok - load: insmod carp.ko"
	dmesg | tail -20 | sed 's/^/#   /'
	exit 0
fi
echo "ok - load: insmod carp.ko"
dmesg_check load

for t in "${tests[@]}"; do
	f=$tdir/$t.sh
	if [ ! -f "$f" ]; then
		echo "not ok - $t: no such test ($f)"
		continue
	fi
	echo "# test $t"
	start=$(date +%s.%N)
	( export CARP_TEST=$t; cd "$tdir"; . ./lib.sh; . "$f"; cleanup_ns ) 2>&1
	echo "# test $t took $(echo "$(date +%s.%N) - $start" | bc) s"
	# Leave no namespace behind for the next test.
	for ns in $(ip netns list | awk '{print $1}'); do ip netns del "$ns"; done
	dmesg_check "$t"
done

if lsmod | grep -q '^carp '; then
	if rmmod carp; then echo "ok - unload: rmmod carp"; else echo "not ok - unload: rmmod carp"; fi
fi
if [ -e /sys/kernel/debug/kmemleak ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null; then
	if [ -e /sys/kernel/debug/kmemleak ]; then
		echo scan > /sys/kernel/debug/kmemleak; sleep 1
		echo scan > /sys/kernel/debug/kmemleak
		leaks=$(grep -c 'unreferenced object' /sys/kernel/debug/kmemleak)
		if [ "$leaks" -gt 0 ] && grep -q 'carp' /sys/kernel/debug/kmemleak; then
			echo "not ok - kmemleak: no leak from carp"
			head -60 /sys/kernel/debug/kmemleak | sed 's/^/#   /'
		else
			echo "ok - kmemleak: no leak from carp ($leaks unrelated objects)"
		fi
	fi
fi
dmesg_check unload
echo "# vm-run done"
