#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# IPv6-only and dual-stack carp devices: election, advertisements of each
# family, only the MASTER answers neighbour solicitations, failover.

tap_plan 18
carp_load
lan_setup a b
# IPv6 only: vhid 3, 2001:db8::3.
carp6_pair 3 2001:db8::3
ip -n a link set carp6 up
check "IPv6 only: a becomes MASTER" wait_for 15 state_is a carp6 master
ip -n b link set carp6 up
check "IPv6 only: b is BACKUP" wait_for 10 state_is b carp6 backup
check "the IPv6 VIP answers ping" ip netns exec lan ping -6 -c 1 -W 2 2001:db8::3
check_ok_output "it resolves to the virtual MAC" '00:00:5e:00:01:03' ip -n lan -6 neigh show 2001:db8::3
one_responder "only the MASTER answers neighbour solicitations, with the virtual MAC" \
	00:00:5e:00:01:03 ndp_responders lan br0 2001:db8::3
check_ok_output "a sends IPv6 advertisements only" '"opackets":0,"opackets6":[1-9]' cctl a -j stats carp6
ip -n a link set carp6 down
check "IPv6 only: b takes over after a's bow-out" wait_for 10 state_is b carp6 master
ip -n lan -6 neigh flush dev br0
check "the IPv6 VIP answers via b" ip netns exec lan ping -6 -c 1 -W 2 2001:db8::3
ip -n a link del carp6
ip -n b link del carp6

# Dual stack: vhid 4 with 192.0.2.4 and 2001:db8::4.
for h in a b; do
	ip -n "$h" link add carp46 link eth0 type carp &&
	ip -n "$h" addr add 192.0.2.4/24 dev carp46 &&
	ip -n "$h" addr add 2001:db8::4/64 dev carp46 nodad || setup_fail "carp46 on $h"
done
cctl a carp46 vhid 4 advskew 0 pass both || setup_fail "carp46 on a: carpctl"
cctl b carp46 vhid 4 advskew 100 pass both || setup_fail "carp46 on b: carpctl"
ip -n a link set carp46 up
check "dual stack: a becomes MASTER" wait_for 15 state_is a carp46 master
ip -n b link set carp46 up
check "dual stack: b is BACKUP" wait_for 10 state_is b carp46 backup
check "the IPv4 VIP answers" ip netns exec lan ping -c 1 -W 2 192.0.2.4
check "the IPv6 VIP answers" ip netns exec lan ping -6 -c 1 -W 2 2001:db8::4
check_ok_output "a advertises over both families" '"opackets":[1-9][0-9]*,"opackets6":[1-9]' \
	cctl a -j stats carp46
# b keeps hearing both families: its device counters rise over more than
# a master-down interval (3.4 s) while it stays BACKUP.
inpkts() { cctl b -j stats carp46 | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }
i4=$(inpkts ipackets) i6=$(inpkts ipackets6)
nap 4
check "b hears IPv4 advertisements ($i4 -> $(inpkts ipackets))" [ "$(inpkts ipackets)" -ge $((i4 + 3)) ]
check "b hears IPv6 advertisements ($i6 -> $(inpkts ipackets6))" [ "$(inpkts ipackets6)" -ge $((i6 + 3)) ]
check "b is still BACKUP after the master-down interval" state_is b carp46 backup
ip -n a link set eth0 down
check "dual stack: b takes over when a's carpdev goes down" wait_for 15 state_is b carp46 master
ip -n lan neigh flush dev br0
ip -n lan -6 neigh flush dev br0
check "both VIPs answer via b" bash -c \
	"ip netns exec lan ping -c 1 -W 2 192.0.2.4 && ip netns exec lan ping -6 -c 1 -W 2 2001:db8::4"
cleanup_ns
