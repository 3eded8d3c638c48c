#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# carp.ko on Debian's own kernel (KVARIANT=debian: the signed
# linux-image package as shipped, no CONFIG_RUST), installed as a package
# installs it (lib/modules/REL/updates, depmod: vm-lib.sh's
# vm_install_module): modinfo, modprobe, autoload by `ip link add ... type
# carp` and by the generic netlink family, rmmod; the taint it adds (O and
# E, nothing else); the kernel crate's messages printed without %pA, which
# this kernel's vsprintf does not have. vm-test.sh runs it on that kernel
# only; on another it fails with one check that says so.

rel=$(uname -r)
stock=0
[[ $(</proc/version) == *Debian* ]] && [ -f "/lib/modules/$rel/updates/carp.ko" ] && stock=1
tap_plan $((stock ? 24 : 1))
if [ $stock = 0 ]; then
	tap_fail "the kernel is Debian's with carp.ko installed (run this file with KVARIANT=debian)" \
		"$(cat /proc/version)"
	return 0
fi

# The kernel really is the stock one: Debian's signed image, no Rust.
check_ok_output "the kernel is Debian's $rel" 'Debian [0-9.]+-[0-9]+' cat /proc/version
check_ok_output "its own modules are signed (by its build key)" 'kernel key' modinfo -F signer veth
check_fail "it has no Rust support (no rust_fmt_argument: %pA prints '(%pA?)')" \
	grep -qw rust_fmt_argument /proc/kallsyms

# What modinfo and modprobe see: the installed module, for this kernel.
modinfo_is() {
	local got
	got=$(modinfo -F "$1" carp) && [ "$got" = "$2" ] || { echo "modinfo -F $1 carp: '$got'"; return 1; }
}
check "modinfo carp: the installed file" modinfo_is filename "/lib/modules/$rel/updates/carp.ko"
check "modinfo carp: vermagic of this kernel" modinfo_is vermagic "$rel SMP preempt mod_unload modversions "
check_ok_output "modinfo carp: the link kind's alias" '^rtnl-link-carp$' modinfo -F alias carp
check_ok_output "modinfo carp: the genetlink family's alias" '^net-pf-16-proto-16-family-carp$' modinfo -F alias carp
check_ok_output "modinfo carp: not signed (no signer)" '^$' modinfo -F signer carp

# Unload what the harness loaded, then each way in.
check "rmmod carp" rmmod carp
check "carp is gone" bash -c '! [ -d /sys/module/carp ]'
mark=$(log_mark)
check "modprobe carp" modprobe carp
check "carp is loaded" [ -d /sys/module/carp ]
check_ok_output "its message is printed by the kernel crate's pr_info!" \
	'carp: Common Address Redundancy Protocol loaded' bash -c "dmesg | tail -n +$((mark + 1))"
check_ok_output "the module's taint is O and E only (out of tree, unsigned)" '^OE$' cat /sys/module/carp/taint
check "modprobe -r carp" modprobe -r carp
check "carp is gone again" bash -c '! [ -d /sys/module/carp ]'

ip netns add s || setup_fail "namespace s"
check "ip link add ... type carp loads carp" ip -n s link add carp0 type carp
check "carp is loaded by its link kind" [ -d /sys/module/carp ]
ip netns del s
check "rmmod after the namespace is gone" wait_for 10 rmmod carp
check_ok_output "the genetlink family's lookup loads carp" 'Name: carp' genl ctrl get name carp
check "carp is loaded by its family" [ -d /sys/module/carp ]

# The kernel's taint: carp adds O (out-of-tree) and E (unsigned), nothing
# else (no W: no warning such as vsprintf's for %pA; the harness checks the
# log for splats after every file as well).
check_ok_output "the kernel's taint is 12288 (O and E) and nothing else" '^12288$' cat /proc/sys/kernel/tainted
check_absent "no '(%pA?)' and no 'Please remove %pA' in the log" '\(%pA\?\)|Please remove %pA' dmesg
# (The control: formatted messages with arguments reach the log intact:
# sysctl.sh's 'received ttl 64 != 255 on eth0' and badinput.sh's state
# transitions pass on this kernel too.)
mark=$(log_mark)
ip netns add s2 && ip -n s2 link set lo up &&
	ip -n s2 link add veth0 type veth peer name veth1 &&
	ip -n s2 link set veth0 up && ip -n s2 link set veth1 up &&
	ip netns exec s2 sysctl -qw net.inet.carp.log=7 || setup_fail "namespace s2"
ip -n s2 link add carp0 link veth0 type carp && cctl s2 carp0 vhid 7 &&
	ip -n s2 addr add 192.0.2.7/24 dev carp0 && ip -n s2 link set carp0 up ||
	setup_fail "carp0 in s2"
check "a message with arguments: a state transition, formatted" wait_for 10 bash -c \
	"dmesg | tail -n +$((mark + 1)) | grep -q 'carp0: state transition (vhid 7): INIT -> BACKUP'"
ip netns del s2
