#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A carp device's MTU is tied to its carpdev's: never larger (a larger
# frame could not leave), following it down and back up to the MTU it was
# given. And a dip of the carpdev's MTU below IPv6's 1280, which tears the
# carpdev's IPv6 state down with its ff02::12 membership, does not leave
# an IPv6-only pair with two MASTERs: the membership is joined again when
# the MTU comes back, and the carp device keeps its IPv6 addresses.

tap_plan 21
carp_load
lan_setup a b
# IPv6 only: vhid 6, 2001:db8::6.
carp6_pair 6 2001:db8::6
ip -n a link set carp6 up
check "a becomes MASTER" wait_for 15 state_is a carp6 master
ip -n b link set carp6 up
check "b is BACKUP" wait_for 10 state_is b carp6 backup

check_output "carp6 starts with its carpdev's MTU" 'mtu 1500 ' ip -n a link show carp6
check_fail "an MTU above the carpdev's is refused" ip -n a link set carp6 mtu 9000
check_output "... and not taken" 'mtu 1500 ' ip -n a link show carp6
check "an MTU below the carpdev's is fine" ip -n a link set carp6 mtu 1400
check_output "... and taken" 'mtu 1400 ' ip -n a link show carp6
check "back to 1500" ip -n a link set carp6 mtu 1500
ip -n a link set eth0 mtu 1450
check_output "the carpdev at 1450: carp6 follows it down" 'mtu 1450 ' ip -n a link show carp6
ip -n a link set eth0 mtu 1500
check_output "the carpdev back at 1500: carp6 follows it up to the MTU it was given" \
	'mtu 1500 ' ip -n a link show carp6
ip -n a link set carp6 mtu 1400
ip -n a link set eth0 mtu 1450
ip -n a link set eth0 mtu 1500
check_output "given 1400, carp6 stays at 1400 through a carpdev change" 'mtu 1400 ' \
	ip -n a link show carp6
ip -n a link set carp6 mtu 1500

# The dip, on both hosts. carp6 follows its carpdev down, but not below
# 1280 while it has IPv6 addresses: below it the kernel would delete them
# (the HMAC covers them: the hosts would no longer agree). A device
# without IPv6 addresses (carp4, IPv4 only) follows it all the way.
ip -n a link add carp4 link eth0 type carp
cctl a carp4 vhid 4 pass four
ip -n a addr add 192.0.2.4/24 dev carp4
for h in a b; do ip -n "$h" link set eth0 mtu 1200; done
check_ok_output "during the dip carp6 stops at 1280" 'mtu 1280 ' ip -n b link show carp6
check_ok_output "... and keeps its IPv6 address" '2001:db8::6/64' ip -n b addr show dev carp6
check_ok_output "an IPv4-only carp device follows the carpdev to 1200" 'mtu 1200 ' \
	ip -n a link show carp4
for h in a b; do ip -n "$h" link set eth0 mtu 1500; done
check_ok_output "after the dip carp6 is at 1500 again" 'mtu 1500 ' ip -n b link show carp6
check_ok_output "... and carp4 too" 'mtu 1500 ' ip -n a link show carp4
ip -n a link del carp4
check "a is MASTER again" wait_for 15 state_is a carp6 master
check "b is BACKUP" wait_for 10 state_is b carp6 backup
# Twice the master-down interval (3.4 s): b hears a's advertisements on
# ff02::12 again, or it would have become MASTER by now.
v6in() {
	local j
	j=$(cctl b -j stats carp6) && [[ $j =~ \"ipackets6\":([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
}
n1=$(v6in)
nap 7
n2=$(v6in)
check "b is still BACKUP after two master-down intervals (no split brain)" \
	state_is b carp6 backup
check "b received a's IPv6 advertisements meanwhile ($n1 -> $n2)" [ "${n2:-0}" -gt "${n1:-0}" ]
check "a is still MASTER" state_is a carp6 master
cleanup_ns
