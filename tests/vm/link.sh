#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The carp link type: create, delete, lower device removal, module unload,
# namespaces, and clear errors on bad requests.

tap_plan 27
carp_load
setup_ns carp-a carp-b
ip -n carp-a link add veth0 type veth peer name veth0 netns carp-b &&
ip -n carp-a link set veth0 up &&
ip -n carp-b link set veth0 up || setup_fail "veth0 between carp-a and carp-b"

check "create carp0 on veth0" ip -n carp-a link add carp0 link veth0 type carp
check "carp0 is of kind carp" carp_kind carp-a carp0
check_ok_output "carp0 is an Ethernet device" 'link/ether' ip -n carp-a link show carp0
check_ok_output "carp0 is stacked on veth0" 'carp0@veth0' ip -n carp-a link show carp0
check "carp0 comes up" ip -n carp-a link set carp0 up
check_ok_output "carp0 has no carrier in INIT" 'NO-CARRIER' ip -n carp-a link show carp0
check "a second carp device shares the lower device" \
	ip -n carp-a link add carp1 link veth0 type carp
check "ip link del removes carp0" ip -n carp-a link del carp0
check "carp0 is gone" link_absent carp-a carp0
check "carp1 is still there" link_exists carp-a carp1

check_fail_output "a loopback lower device is refused" 'Ethernet' \
	ip -n carp-a link add carp9 link lo type carp
check_fail_output "carp on carp is refused" 'carp device on a carp device' \
	ip -n carp-a link add carp9 link carp1 type carp
check_fail_output "a missing lower device is refused (by the kernel)" 'lower device not found' \
	carpnl carp-a add carp9 linkindex 9999

# Deleting the lower device deletes the carp devices on it.
ip -n carp-a link add carp2 link veth0 type carp
check "deleting the lower device succeeds" ip -n carp-a link del veth0
check "carp1 went with its lower device" link_absent carp-a carp1
check "carp2 went with its lower device" link_absent carp-a carp2

# Same names in another namespace: per-namespace devices.
ip -n carp-b link add veth1 type veth peer name veth2
check "carp0 can be created again in a second namespace" \
	ip -n carp-b link add carp0 link veth1 type carp
ip -n carp-b link add dummy0 type dummy
check "carp0 on a dummy lower device in carp-b" \
	ip -n carp-b link add carp7 link dummy0 type carp
check_fail "carp devices cannot move between namespaces" \
	ip -n carp-b link set carp7 netns carp-a

# Deleting a namespace removes its carp devices.
setup_ns carp-c
ip -n carp-c link add dummy0 type dummy
ip -n carp-c link add carp0 link dummy0 type carp
ip -n carp-c link add carp1 link dummy0 type carp
ip netns del carp-c
# rmmod waits for the namespace cleanups under way (pernet_ops_rwsem): a
# crash or a stuck device in the teardown would show here.
check "the namespace's teardown completes" bash -c 'rmmod carp && insmod "$CARP_KO"'


# Unloading the module removes every carp device.
ip -n carp-a link add dummy0 type dummy
ip -n carp-a link add carp3 link dummy0 type carp
ip -n carp-a link set carp3 up
check "rmmod with carp devices present succeeds" rmmod carp
check "carp3 went with the module" link_absent carp-a carp3
check "carp7 went with the module" link_absent carp-b carp7
ip -n carp-a link add br0 type bridge
check "the lower device's rx_handler is free again (bridge port)" \
	ip -n carp-a link set dummy0 master br0
check "the module loads again" insmod "$CARP_KO"
check_fail_output "a bridge port cannot be a carpdev: clear error" 'rx_handler busy' \
	ip -n carp-a link add carp5 link dummy0 type carp
ip -n carp-a link set dummy0 nomaster
check "create works after reload" \
	ip -n carp-a link add carp4 link dummy0 type carp
cleanup_ns
