#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Teardown: one unregister batch holding a carpdev and its carp devices, in
# either order (namespace deletion builds it newest first, `ip link del
# group` in creation order), also from an unprivileged user namespace; a
# registration that fails after the device state exists; the group
# demotion after deletions. Each must leave no crash, splat or leak.

# barrier: rmmod waits for pending namespace cleanups (pernet_ops_rwsem),
# so a crash in one shows up here; then the module comes back.
barrier() { rmmod carp && insmod "$CARP_KO"; }

# carpdev_by_subnet NS: carp0 created first, its carpdev veth0 after it,
# attached by the subnet of carp0's address (the review's reproducer).
carp_then_lower() {
	local ns=$1
	ip -n "$ns" link add carp0 type carp &&
	ip -n "$ns" link add veth0 type veth peer name veth1 &&
	ip -n "$ns" addr add 192.0.2.1/24 dev veth0 &&
	ip -n "$ns" link set veth0 up &&
	cctl "$ns" carp0 vhid 1 &&
	ip -n "$ns" addr add 192.0.2.100/24 dev carp0 &&
	ip -n "$ns" link set carp0 up
}

tap_plan 27
carp_load
ip netns add x || setup_fail "namespace x"
check "carp0 created before its carpdev, attached by subnet" carp_then_lower x
check_ok_output "carp0 is on veth0" 'carp0@veth0' ip -n x link show carp0
check "the namespace is deleted" ip netns del x
check "its cleanup completes (module unload waits for it)" barrier

ip netns add y &&
ip -n y link add veth0 type veth peer name veth1 &&
ip -n y link add carp0 link veth0 type carp &&
ip -n y link set veth0 up &&
cctl y carp0 vhid 1 &&
ip -n y addr add 192.0.2.100/24 dev carp0 &&
ip -n y link set carp0 up &&
ip -n y link set veth0 group 7 &&
ip -n y link set carp0 group 7 || setup_fail "carp0 on veth0 in y, group 7"
check "ip link del group: carpdev before its carp device" ip -n y link del group 7
check "both are gone" bash -c '! ip -n y link show carp0 2>/dev/null && ! ip -n y link show veth0 2>/dev/null'
check "the same with the carp device created first" carp_then_lower y
ip -n y link set veth0 group 8
ip -n y link set carp0 group 8
check "ip link del group: carp device before its carpdev" ip -n y link del group 8
check "both are gone again" bash -c '! ip -n y link show carp0 2>/dev/null && ! ip -n y link show veth0 2>/dev/null'
ip netns del y
check "no crash after the group deletions" barrier

# The same, unprivileged: a user namespace of its own, deleted on exit.
check "an unprivileged user builds the reproducer in its own namespaces" \
	as_nobody unshare -Urn bash -c "
		ip link set lo up &&
		ip link add carp0 type carp &&
		ip link add veth0 type veth peer name veth1 &&
		ip addr add 192.0.2.1/24 dev veth0 &&
		ip link set veth0 up &&
		$(command -v carpctl) carp0 vhid 1 &&
		ip addr add 192.0.2.100/24 dev carp0 &&
		ip link set carp0 up"
check "its namespaces' cleanup completes" barrier

# advbase 0 (256 advertisements a second per vhid, in softirq) is the
# host administrator's: refused in an unprivileged user's namespace, where
# advbase 1 works; a namespace of the initial user namespace may.
ctl=$(command -v carpctl)
check_fail_output "an unprivileged user's advbase 0 is refused" \
	'advbase 0 needs the initial user namespace' as_nobody unshare -Urn bash -c "
		ip link add carp0 type carp && $ctl carp0 vhid 1 advbase 0"
check "... its advbase 2 is not" as_nobody unshare -Urn bash -c "
		ip link add carp0 type carp && $ctl carp0 vhid 1 advbase 2 &&
		$ctl carp0 | grep -q 'advbase 2 '"
setup_ns adv
check "advbase 0 in a namespace of the initial user namespace" bash -c "
	ip -n adv link add carp0 type carp && carpctl -n adv carp0 vhid 1 advbase 0 &&
	carpctl -n adv carp0 | grep -q 'advbase 0 '"
ip netns del adv

# A registration that fails after the state was built (the index is taken
# in the target namespace only): an error, no device, no double free.
ip netns add z && ip -n z link add d0 index 4242 type dummy || setup_fail "d0 (index 4242) in z"
check_fail_output "index taken in the target namespace: refused" 'errno 16|busy|exists' \
	python3 -I -S "$CARPNL" add carp9 index 4242 netns z vhid 9 advskew 10 pass x
check "no carp9 in either namespace" bash -c '! ip link show carp9 2>/dev/null && ! ip -n z link show carp9 2>/dev/null'
check "a device created with its whole configuration in one request" \
	carpnl z add carp8 link d0 vhid 8 advskew 20 pass x
check_ok_output "... reads back" 'vhid=8' carpnl z show carp8
check_ok_output "... has the virtual MAC at once" '00:00:5e:00:01:08' ip -n z link show carp8
ip netns del z

# Group demotion follows deletions and attaches: carp0 on eth0, carp2 on
# d1; d1 down demotes the group, deleting carp2 (or d1) undoes it.
lan_setup a
carp_setup a carp0 1 0
demote() { cctl a -j carp0 | grep -o '"demote":[0-9]*' | cut -d: -f2; }
ip -n a link add d1 type dummy
ip -n a link set d1 up
ip -n a link add carp2 link d1 type carp
cctl a carp2 vhid 2
ip -n a link set d1 down
check "d1 down demotes the group" wait_for 5 bash -c "[ \$(carpctl -n a -j carp0 | grep -o '\"demote\":[0-9]*' | cut -d: -f2) = 1 ]"
ip -n a link del carp2
check "deleting carp2 ends the demotion" [ "$(demote)" = 0 ]
ip -n a link add carp2 link d1 type carp
cctl a carp2 vhid 2
check "a new carp device on the down d1 demotes again" [ "$(demote)" = 1 ]
ip -n a link del d1
check "deleting d1 (and carp2 with it) ends it" [ "$(demote)" = 0 ]
ip -n a link add d2 type dummy
ip -n a link add carp3 type carp
cctl a carp3 vhid 3
check "a device without carpdev does not demote" [ "$(demote)" = 0 ]
cctl a carp3 carpdev d2
check "attaching it to a down carpdev demotes" [ "$(demote)" = 1 ]
ip -n a link set d2 up
check "the carpdev coming up ends it" wait_for 5 bash -c "[ \$(carpctl -n a -j carp0 | grep -o '\"demote\":[0-9]*' | cut -d: -f2) = 0 ]"
cleanup_ns
