#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-cpus: 2
# The RCU window of a carpdev change: a receive path walking a carpdev's
# list of carp devices is held at the device that moves (the test kernels'
# hook, carp_helpers.c: test_walk_delay_ms) while the device is re-linked
# into another carpdev's list. Without a grace period between the unlink
# and the re-link, the walker would follow the moved device's next pointer
# into the other list and take its head for a carp device (KASAN reports
# it, the walk never ends). With it, the change waits for the walker: it
# takes at least the time the walker is held. Needs two vCPUs (the walker
# busy-waits in softirq on one, the change runs on the other) and the test
# kernels' hook (the debug kernel: CONFIG_PROVE_RCU).

carp_load
hook=/sys/module/carp/parameters/test_walk_delay_ms
# Two environment checks, three per round (3 rounds), two at the end; a
# kernel without the hook runs the four outside the rounds.
tap_plan $([ -w "$hook" ] && echo 13 || echo 4)
setup_ns rm
# No IPv6 in the namespace: p0's own traffic (DAD, router and MLD
# solicitations after it comes up) would reach e0's receive path and
# consume the hook before the test's ARP request, holding the walker from
# an earlier moment than the move's start (a round-1 failure, 389 ms).
ip netns exec rm sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n rm link add e0 type veth peer name p0
ip -n rm link add e1 type veth peer name p1
for i in e0 e1 p0 p1; do ip -n rm link set "$i" up; done
ip -n rm addr add 192.0.2.10/24 dev e0
ip -n rm addr add 198.51.100.10/24 dev e1
# m0 first on e0 (where the walker is held), k0 after it (so that e0's
# port stays when m0 leaves: the last device's departure unregisters the
# rx_handler, which waits for readers by itself), s1 waiting on e1.
ip -n rm link add m0 link e0 type carp
cctl rm m0 vhid 10 pass secret
ip -n rm addr add 192.0.2.1/24 dev m0
ip -n rm link set m0 up
k0() {
	ip -n rm link add k0 link e0 type carp && cctl rm k0 vhid 12 pass secret &&
		ip -n rm link set k0 up
}
k0
ip -n rm link add s1 link e1 type carp
cctl rm s1 vhid 11 pass secret
ip -n rm addr add 198.51.100.1/24 dev s1
ip -n rm link set s1 up

check "the guest has two CPUs" [ "$(grep -c ^processor /proc/cpuinfo)" -ge 2 ]
check "the test kernel has the walk hook" [ -w "$hook" ]
if [ -w "$hook" ]; then
	for round in 1 2 3; do
		# m0 first on e0 again, k0 after it (untimed: no walker is held).
		if [ "$round" != 1 ]; then
			cctl rm m0 carpdev e0 && ip -n rm link del k0 && k0
		fi
		echo 2000 >"$hook"
		# A broadcast ARP request arriving on e0: the rx_handler walks
		# e0's list for the target address, held at m0 for 2 s. (An
		# address no device has: the walk goes on past m0, as it would
		# into the other list.)
		ip netns exec rm arping -c 1 -w 1 -I p0 192.0.2.99 >/dev/null 2>&1 &
		ap=$!
		check "round $round: the walker is held at m0 (the hook was consumed)" \
			wait_for 5 grep -qx 0 "$hook"
		t0=$(now_ms)
		check "round $round: m0 moves to e1" cctl rm m0 carpdev e1
		took=$(($(now_ms) - t0))
		check "round $round: the move waited for the walker ($took ms >= 800)" \
			[ "$took" -ge 800 ]
		wait "$ap" 2>/dev/null
	done
fi
check_ok_output "m0 ended on e1" 'm0@e1' ip -n rm link show m0
check_ok_output "s1 is untouched on e1, k0 on e0" 'k0@e0' bash -c 'ip -n rm link show s1 | grep -q s1@e1 && ip -n rm link show k0'
cleanup_ns
