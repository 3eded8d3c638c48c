#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A carp device without carpdev: created without `link`, it waits (INIT);
# its carpdev is given later with carpctl, or found by the subnet of its
# first address (the one interface with an address in that subnet); none
# or several is a clear error and the address is not added. With a
# carpdev, an address in another interface's subnet is refused.

tap_plan 40
carp_load
setup_ns cd
# eth0 holds only the lower half of 192.0.2.0/24: the upper half is a
# subnet no interface has (documentation ranges only).
ip -n cd -b - <<-EOF || setup_fail "eth0 and eth1 with their addresses"
	link add eth0 type veth peer name peer0
	link add eth1 type veth peer name peer1
	link set eth0 up
	link set eth1 up
	link set peer0 up
	link set peer1 up
	addr add 192.0.2.10/25 dev eth0
	addr add 2001:db8:1::10/64 dev eth0 nodad
	addr add 198.51.100.10/24 dev eth1
	addr add 203.0.113.10/24 dev eth0
	addr add 203.0.113.11/24 dev eth1
EOF

check "create without carpdev" ip -n cd link add carp0 type carp
check "configure it" cctl cd carp0 vhid 1 pass secret
check_ok_output "it has no carpdev" 'carpdev - ' cctl cd carp0
check "it comes up" ip -n cd link set carp0 up
check_ok_output "it stays INIT without carpdev" 'carp: INIT ' cctl cd carp0
check_fail_output "an address in no interface's subnet is refused" \
	'no interface has an address in this subnet' \
	ip -n cd addr add 192.0.2.200/25 dev carp0
check_absent "the refused address was not added" '192\.0\.2\.200' ip -n cd addr show dev carp0
check_fail_output "an address in two interfaces' subnets is refused" 'several interfaces' \
	ip -n cd addr add 203.0.113.1/24 dev carp0
check "an address in eth0's subnet picks eth0" ip -n cd addr add 192.0.2.1/24 dev carp0
check_ok_output "carp0 is now on eth0" 'carp0@eth0' ip -n cd link show carp0
check_ok_output "carpctl shows carpdev eth0" 'carpdev eth0 ' cctl cd carp0
check "carp0 runs (BACKUP or MASTER)" wait_for 10 bash -c \
	"carpctl -n cd carp0 | grep -Eq 'carp: (BACKUP|MASTER) '"
# Moving to another carpdev: addresses kept, restart from INIT there.
check "the carpdev can be changed" cctl cd carp0 carpdev eth1
check_ok_output "carp0 is now on eth1" 'carp0@eth1' ip -n cd link show carp0
check_ok_output "its address stayed" '192\.0\.2\.1/24' ip -n cd addr show dev carp0
check "it runs on eth1" wait_for 10 bash -c \
	"carpctl -n cd carp0 | grep -Eq 'carp: (BACKUP|MASTER) carpdev eth1 '"
check "and back to eth0 by rtnetlink (changelink with IFLA_LINK)" carpnl cd set carp0 link eth0
check_ok_output "carp0 is on eth0 again" 'carp0@eth0' ip -n cd link show carp0
check_fail_output "a loopback carpdev is refused, by rtnetlink too" 'Ethernet' carpnl cd set carp0 link lo
check_ok_output "carp0 stayed on eth0" 'carp0@eth0' ip -n cd link show carp0

# Attaching by subnet runs the checks of an explicit carpdev: a vhid
# already used on eth0 is refused (the review found a second MASTER).
ip -n cd link add carp4 type carp
cctl cd carp4 vhid 1
check_fail_output "an address picking a carpdev where the vhid is taken is refused" 'already used' \
	ip -n cd addr add 192.0.2.101/24 dev carp4
check_ok_output "carp4 still has no carpdev" 'carpdev - ' cctl cd carp4
check_absent "... nor the address" '192\.0\.2\.101' ip -n cd addr show dev carp4
ip -n cd link del carp4

# IPv6: the subnet of an IPv6 address picks the carpdev too.
ip -n cd link add carp1 type carp
cctl cd carp1 vhid 2
check "an IPv6 address in eth0's prefix picks eth0" \
	ip -n cd addr add 2001:db8:1::1/64 dev carp1 nodad
check_ok_output "carp1 is on eth0" 'carp1@eth0' ip -n cd link show carp1

# carpctl gives the carpdev of a device created without one.
ip -n cd link add carp2 type carp
check "carpctl carp2 vhid 3 carpdev eth1" cctl cd carp2 vhid 3 carpdev eth1
check_ok_output "carp2 is on eth1" 'carp2@eth1' ip -n cd link show carp2
check "an address in no interface's subnet is fine once a carpdev is set" \
	ip -n cd addr add 192.0.2.202/25 dev carp2
# An address in another interface's subnet than the carpdev's is refused,
# as OpenBSD's carp_set_addr does (EADDRNOTAVAIL): its traffic would come
# in on eth0, where carp2 does not listen. Moving is explicit.
check_fail_output "an address in eth0's subnet on carp2 (carpdev eth1) is refused" \
	"another interface's subnet" ip -n cd addr add 192.0.2.20/24 dev carp2
check_absent "... and not added" '192\.0\.2\.20/' ip -n cd addr show dev carp2
check_fail_output "an IPv6 address in eth0's prefix is refused too" \
	"another interface's subnet" ip -n cd addr add 2001:db8:1::20/64 dev carp2 nodad
check_ok_output "carp2 stayed on eth1" 'carp2@eth1' ip -n cd link show carp2
check "an address in both eth0's and eth1's subnets is fine on carp2" \
	ip -n cd addr add 203.0.113.20/24 dev carp2
check "moving carp2 to eth0 explicitly is allowed" cctl cd carp2 carpdev eth0
check "then the eth0-subnet address is accepted" \
	ip -n cd addr add 192.0.2.20/24 dev carp2
check "and back to eth1 for the deletion below" cctl cd carp2 carpdev eth1
ip -n cd link add carp3 type carp
cctl cd carp3 vhid 3
check_fail_output "a vhid already used on the carpdev is refused at attach" 'already used' \
	cctl cd carp3 carpdev eth1
check_ok_output "carp3 still has no carpdev" 'carpdev - ' cctl cd carp3
check_fail_output "carpdev lo is refused" 'Ethernet' cctl cd carp3 carpdev lo
check "deleting eth1 deletes carp2" bash -c "ip -n cd link del eth1 && ! ip -n cd link show carp2"
cleanup_ns
