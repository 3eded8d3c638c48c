#!/bin/bash
# Runs inside the VM: loads carp.ko, runs the given VM test files, and
# reports in TAP:
# - every check of a file ("ok - T: ..." / "not ok - T: ...");
# - a file that does not reach its end (an unset variable, an error under
#   `set -u`, a crash of the shell) or exceeds its time budget:
#   "not ok - T: aborted" / "not ok - T: over the budget";
# - a kernel splat during a file (BUG, WARNING, Oops, KASAN, UBSAN,
#   lockdep, RCU, refcount, a device reference leak): "not ok - T: no
#   kernel splat";
# - a file that ran another number of checks than its tap_plan declares
#   (or declares none): "not ok - T: ran K of N declared checks";
# - kmemleak (debug kernel): cleared after insmod, scanned before and after
#   rmmod; any new unreferenced object fails (nothing with kmemleak=off,
#   CARP_KMEMLEAK=0: make check's debug-kernel run).
#   vm-run.sh KO TEST...     (CARP_TEST_BUDGET: seconds per file; a TEST
#   is a file of tests/vm or of tests/stress)
# SPDX-License-Identifier: GPL-2.0
set -u
export CARP_KO=$1
shift
top=$(cd "$(dirname "$0")/.." && pwd)
tdir=$top/tests/vm
# The hardening tests (tests/stress) run in the same harness: a slice in
# make check, the full runs with CARP_STRESS=1 (make stress).
export CARP_STRESS_DIR=$top/tests/stress CARP_STRESS=${CARP_STRESS:-0}
export PATH=$top/tools/target/release:$PATH
budget=${CARP_TEST_BUDGET:-300}

# CARP_SPLAT_RE, shared with vm-test.sh's check of the consoles. (Exported:
# tests that consume the log themselves check it with it.)
. "$top/scripts/vm-lib.sh"
export CARP_SPLAT_RE
splat_re=$CARP_SPLAT_RE

# (The harness between files uses shell builtins where it can: a process
# start costs about half a second under KASAN and TCG.)
dmesg_check() {
	local name=$1 log
	log=$(dmesg -c 2>/dev/null)
	if [[ $log =~ $splat_re ]]; then
		echo "not ok - $name: no kernel splat"
		grep -E -B2 -A30 "$splat_re" <<<"$log" | head -80 | sed 's/^/#   /'
	else
		echo "ok - $name: no kernel splat"
	fi
}

# plan_check NAME OUTPUT: the file's checks in OUTPUT (its "ok - NAME:" and
# "not ok - NAME:" lines, without its setup failures; the harness's own
# lines are not in it) against the count its tap_plan declared: a check
# that did not run fails the file, as one too many (a stale plan would
# hide the next one that stops running). (Shell builtins.)
plan_check() {
	local name=$1 line n= k=0
	while IFS= read -r line; do
		case $line in
		"# tap_plan $name "*) n=${line##* } ;;
		"not ok - $name: setup: "*) ;;
		"ok - $name: "* | "not ok - $name: "*) k=$((k + 1)) ;;
		esac
	done <"$2"
	if [ -z "$n" ]; then
		echo "not ok - $name: declares its checks (no tap_plan; ran $k)"
	elif [ "$k" != "$n" ]; then
		echo "not ok - $name: ran $k of $n declared checks"
	else
		echo "ok - $name: ran its $n declared checks"
	fi
}

# cpu_busy: the CPU's busy jiffies and all jiffies so far (/proc/stat;
# shell builtins).
cpu_busy() {
	local cpu user nice sys idle iowait irq softirq rest
	read -r cpu user nice sys idle iowait irq softirq rest </proc/stat
	local busy=$((user + nice + sys + irq + softirq))
	echo "$busy $((busy + idle + iowait))"
}

# mem_low: the least MemAvailable (MB) seen by a sampler that runs during
# the test files (every 0.5 s; shell builtins), since the last call.
memlow=/run/carp-memlow
mem_sampler() {
	local k v u least= fd
	exec {fd}<> <(:)
	while :; do
		while read -r k v u; do [ "$k" = MemAvailable: ] && break; done </proc/meminfo
		if [ -z "$least" ] || [ "$v" -lt "$least" ] || [ -e $memlow.reset ]; then
			[ -e $memlow.reset ] && rm -f $memlow.reset
			least=$v
			echo "$least" >$memlow
		fi
		read -rt 0.5 -u $fd _ || :
	done
}
mem_low() {
	local v=0
	[ -e $memlow ] && read -r v <$memlow
	: >$memlow.reset
	echo $((v / 1024))
}

kml=/sys/kernel/debug/kmemleak
[ -e "$kml" ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
# kmemleak_check WHEN: any object kmemleak finds unreferenced since the
# last clear fails.
kmemleak_check() {
	[ -e "$kml" ] || return 0
	local t0
	t0=$(date +%s.%N)
	# Two scans: an object is reported when a scan finds it unreferenced
	# and unchanged since the previous one (an object that was referenced
	# until now, like one rmmod leaves behind, has no checksum yet). A
	# kernel booted with kmemleak=off refuses them (EPERM): no check, and
	# no "ok" for one.
	if ! { echo scan >"$kml"; } 2>/dev/null; then
		echo "# kmemleak ($1): off (kmemleak=off), no leak check"
		return 0
	fi
	echo scan >"$kml"
	local n
	n=$(grep -c 'unreferenced object' "$kml")
	echo "# kmemleak scans ($1) took $(echo "$(date +%s.%N) - $t0" | bc) s"
	if [ "$n" -gt 0 ]; then
		echo "not ok - kmemleak: no leak ($1: $n unreferenced objects)"
		head -80 "$kml" | sed 's/^/#   /'
	else
		echo "ok - kmemleak: no leak ($1)"
	fi
	echo clear >"$kml"
}

echo "# kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpus, up $(cut -d" " -f1 /proc/uptime) s"

# The hot prefix (scripts/vm-hotprefix.sh): the commands, libraries and
# module from the guest's memory.
. "$top/scripts/vm-hotprefix.sh"
hot_prefix "${CARP_HOTROOT:-}" "$top"
mem_sampler &
memsampler=$!
dmesg -c >/dev/null
sysctl -qw kernel.panic_on_warn=0 2>/dev/null
ip link set lo up
# A modular kernel (Debian's): the device nodes a booted system gets from
# modules.devname (systemd-tmpfiles, autoloading on open) are not made by
# vng's init: load their modules (tun: /dev/net/tun for rxpath.sh).
[ -e /dev/net/tun ] || modprobe -q tun 2>/dev/null
if ! insmod "$CARP_KO"; then
	echo "not ok - load: insmod carp.ko"
	dmesg | tail -20 | sed 's/^/#   /'
	echo "# vm-run done"
	exit 0
fi
echo "ok - load: insmod carp.ko"
[ -e "$kml" ] && echo clear >"$kml"
dmesg_check load

for t in "$@"; do
	f=$tdir/$t.sh
	[ -f "$f" ] || f=$CARP_STRESS_DIR/$t.sh
	if [ ! -f "$f" ]; then
		echo "not ok - $t: no such test ($f)"
		continue
	fi
	echo "# test $t"
	# A file may declare a budget of its own ("# vm-budget: N" seconds),
	# never below the default (CARP_TEST_BUDGET).
	fb=$(sed -n 's/^# vm-budget: \([0-9][0-9]*\)$/\1/p' "$f" | head -n 1)
	fbudget=$budget
	[ -n "$fb" ] && [ "$fb" -gt "$budget" ] && fbudget=$fb
	read -r busy0 all0 <<<"$(cpu_busy)"
	start=${EPOCHREALTIME/./}
	# Each file in its own shell with `set -u`; it must reach its end.
	CARP_TEST=$t CARP_TIMES=${CARP_TIMES:-0} timeout -k 10 "$fbudget" bash -u -c \
		'cd "$1" && . ./lib.sh && . "$2" && cleanup_ns && echo "# end of $CARP_TEST"' \
		vm-test "$tdir" "$f" 2>&1 | tee /tmp/vm-test.out
	rc=${PIPESTATUS[0]}
	took=$((${EPOCHREALTIME/./} - start))
	took=$((took / 1000000)).$(printf %06d $((took % 1000000)))
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		echo "not ok - $t: over the budget of $fbudget s per test file (stopped)"
	elif [ $rc != 0 ] || ! grep -qx "# end of $t" /tmp/vm-test.out; then
		echo "not ok - $t: aborted (exit $rc before the end of the file)"
	fi
	plan_check "$t" /tmp/vm-test.out
	read -r busy1 all1 <<<"$(cpu_busy)"
	echo "# test $t took $took s, CPU busy $(( (busy1 - busy0) * 100 / (all1 - all0 + 1) )) %, $(mem_low) MB available at the least"
	# Leave no namespace or process behind for the next test.
	pkill -x '(carpctl|ucarp|tcpdump|tshark|keepalived|iperf3)' 2>/dev/null
	for ns in /run/netns/*; do [ -e "$ns" ] && ip netns del "${ns##*/}"; done
	[ -d /sys/module/carp ] || insmod "$CARP_KO"
	dmesg_check "$t"
done

kill $memsampler 2>/dev/null
kmemleak_check "before rmmod"
if lsmod | grep -q '^carp '; then
	if rmmod carp; then echo "ok - unload: rmmod carp"; else echo "not ok - unload: rmmod carp"; fi
fi
kmemleak_check "after rmmod"
dmesg_check unload
echo "# vm-run done"
