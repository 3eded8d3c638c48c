#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Load balancing under failure: hosts a and b balance with carpnodes
# 1:0,2:100 and 1:100,2:0 (ip mode); b's share moves to a when b's link
# goes down and comes back with preempt; bad input to the shared address
# is accepted by at most one host; ICMP errors reach the flow's owner;
# three hosts split unevenly; the module
# unloads under traffic.

tap_plan 22
carp_load
. ./lb-lib.sh
check "a: carpnodes 1:0,2:100 balancing ip" lb_setup a 1:0,2:100 ip
check "b: carpnodes 1:100,2:0 balancing ip" lb_setup b 1:100,2:0 ip
for h in a b; do
	ip netns exec "$h" python3 -I -S "$LB" serve "$h" 9000 192.0.2.10 2001:db8::10 &
done
check "the servers on a and b listen" wait_for 20 serving a b
# b's share fails over to a when b's link goes down, and comes back with
# preempt.
check "the entries settle: a MASTER of vhid 1, b of vhid 2" wait_for 20 split_ready
ip -n b link set eth0 down
check "b's link down: a takes vhid 2 too" wait_for 10 entry_is a 2 MASTER
check_ok_output "a serves every client alone" '^1 hosts: a=24$' lbcheck ip a,a
ip -n b link set eth0 up
check "b back with preempt: it takes vhid 2 again" wait_for 15 entry_is b 2 MASTER
check "a steps down on vhid 2" wait_for 5 entry_is a 2 BACKUP
check_ok_output "the split is back" '^2 hosts: a=12 b=12$' lbcheck ip a,b

# Bad input to the shared MAC: truncated, fragment, options, ICMP error
# quoting garbage, odd ARP: accepted by exactly one host, or none.
sum_before=$(( $(accepted a) + $(accepted b) ))
check "inject malformed and unusual packets to the VIP" \
	ip netns exec c01 python3 -I -S "$INJECT" eth0 lbbad 01:00:5e:00:01:01 192.0.2.14 192.0.2.10
nap 1
sum_after=$(( $(accepted a) + $(accepted b) ))
# Well-formed among them: a fragment, a packet with options, an ICMP error
# with a garbage quote, each three times: nine, each taken by one host.
check "the filter accepted exactly the 9 well-formed ones, once each ($((sum_after - sum_before)))" \
	[ $((sum_after - sum_before)) = 9 ]
check "both hosts still MASTER of their entry" split_ready

# ICMP errors reach the host that owns the flow they are about: a router
# (c01's addresses, whose own packets to the VIP fold to vhid 1, a's)
# reports on packets from the VIP to c02's addresses (flows of vhid 2,
# b's): the IPv4 error with the longest header and the IPv6 one, each
# quoting to the last byte the filter reads.
want=$(python3 -I -S "$LB" expect ip 2 lb 192.0.2.10 2001:db8::10 \
	c01:192.0.2.14:2001:db8::14 c02:192.0.2.15:2001:db8::15 | tr '\n' ' ')
check "the router's packets fold to vhid 1, the flow to vhid 2 ($want)" [ "$want" = "c01 0 0 c02 1 1 " ]
a1=$(counter a 1 accepted) b2=$(counter b 2 accepted)
check "inject ICMP errors about the flow, from the router" \
	ip netns exec c01 python3 -I -S "$INJECT" eth0 lbicmp 01:00:5e:00:01:01 \
	192.0.2.14 192.0.2.10 192.0.2.15 2001:db8::14 2001:db8::10 2001:db8::15
nap 1
got_b=$(( $(counter b 2 accepted) - b2 )) got_a=$(( $(counter a 1 accepted) - a1 ))
check "the 6 ICMP errors went to the flow's owner, b ($got_b)" [ "$got_b" = 6 ]
check "... and none to a, whose entry the outer addresses fold to ($got_a)" [ "$got_a" = 0 ]

# Three hosts, uneven: a MASTER of vhids 1 and 2, b of 3, c backup of all.
lb3() {
	cctl a carp0 carpnodes 1:0,2:0,3:100 &&
	cctl b carp0 carpnodes 1:100,2:100,3:0 &&
	lb_setup c 1:50,2:50,3:50 ip
}
check "three hosts: a 1:0,2:0,3:100, b 1:100,2:100,3:0, c 1:50,2:50,3:50" lb3
for n in "${clients[@]}"; do ip -n "$n" neigh flush all; done
ip netns exec c python3 -I -S "$LB" serve c 9000 192.0.2.10 2001:db8::10 &
# (c's server too: a request c took by mistake is then answered "c" and
# counted against it, not refused.)
check "c's server listens" wait_for 20 serving c
three_ready() { entry_is a 1 MASTER && entry_is a 2 MASTER && entry_is b 3 MASTER; }
check "a is MASTER of vhids 1 and 2, b of 3" wait_for 15 three_ready
check "c is BACKUP of all" wait_for 10 bash -c \
	"! carpctl -n c -j carp0 | grep -q MASTER"
# Each request answered by its entry's MASTER (lbcheck's exit status), and
# the three entries' equal thirds (lb-lib.sh) make two for a, one for b.
check_ok_output "the split follows the shares (a two entries, b one)" '^2 hosts: a=16 b=8$' \
	lbcheck ip a,a,b

# rmmod under traffic.
ip netns exec c01 ping -q -i 0.02 -w 30 192.0.2.10 >/dev/null 2>&1 &
pinger=$!
nap 2
check "rmmod with balancing devices up and traffic flowing" rmmod carp
kill "$pinger" 2>/dev/null; wait "$pinger" 2>/dev/null
insmod "$CARP_KO"
kill %1 %2 %3 2>/dev/null
pkill -f "lbcheck.py serve"
rm -f /tmp/lb-$$.pcap
cleanup_ns
