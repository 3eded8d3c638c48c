#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Configuration changes without disruption: adding and removing a virtual
# address, changing the pass (on both hosts, one after the other), the
# advskew of the MASTER (within its lead) and the advbase keep the MASTER
# MASTER: no state change on either host (carpctl monitor records every
# one) and a client pinging the VIP every 10 ms loses nothing. Entries of a
# balancing device that stay keep their state when carpnodes change.

tap_plan 22
INJECT="$(dirname "${BASH_SOURCE[0]}")/carpinject.py"
carp_load
lan_setup a b c
for h in a b; do
	cctl "$h" monitor >/tmp/rc-$h 2>&1 &
done
carp_setup a carp0 1 0
carp_setup b carp0 1 100
check "a is MASTER" wait_for 15 state_is a carp0 master
check "b is BACKUP" wait_for 10 state_is b carp0 backup
ip netns exec c ping -c 1 -W 2 192.0.2.1 >/dev/null
m_a=$(wc -l </tmp/rc-a) m_b=$(wc -l </tmp/rc-b)
check "the monitors record state changes (a: $m_a, b: $m_b lines)" [ "$m_a" -gt 0 -a "$m_b" -gt 0 ]

ip netns exec c ping -q -c 1500 -i 0.01 -W 2 192.0.2.1 >/tmp/rc-ping 2>&1 &
pinger=$!
nap 1
# Each change is made on both hosts back to back, as a configuration tool
# would: the HMAC covers the addresses and the pass, so the BACKUP ignores
# the MASTER's advertisements between the two (well within its 3.4 s).
ip -n a addr add 192.0.2.2/24 dev carp0; ip -n b addr add 192.0.2.2/24 dev carp0
check_ok_output "an address added on the MASTER answers at once" '1 received' \
	ip netns exec c ping -c 1 -W 2 192.0.2.2
nap 2
ip -n a addr del 192.0.2.2/24 dev carp0; ip -n b addr del 192.0.2.2/24 dev carp0
nap 2
cctl a carp0 pass changed; cctl b carp0 pass changed
nap 2
cctl a carp0 advskew 50
nap 2
cctl a carp0 advbase 2; cctl b carp0 advbase 2
nap 3
cctl a carp0 advbase 1; cctl b carp0 advbase 1
wait "$pinger"
prc=$?
sed 's/^/# /' /tmp/rc-ping
check "no state change on a through every change" [ "$(wc -l </tmp/rc-a)" = "$m_a" ]
check "none on b" [ "$(wc -l </tmp/rc-b)" = "$m_b" ]
check_ok_output "the client lost no ping (1500 at 10 ms)" '1500 packets transmitted, 1500 received' \
	replay "$prc" "$(</tmp/rc-ping)"
check "a is still MASTER" state_is a carp0 master
check "the changes took effect" [ "$(cctl a -j carp0 | jq -c '[.advskew, .advbase]')" = "[50,1]" ]
# The pass change took effect too (the checks above would pass had it
# changed nothing): an advertisement signed with the old pass and advskew
# 0, which would take MASTER from a, is refused (badauth); one signed with
# the new pass verifies (accepted; advskew 200, so a stays MASTER).
auth() { cctl a -j stats carp0 | jq -r '"\(.badauth) \(.accepted)"'; }
read -r bad0 acc0 <<<"$(auth)"
check "inject advertisements signed with the old and with the new pass" \
	ip netns exec c python3 -I -S "$INJECT" eth0 good 1 0 secret 192.0.2.1 good 1 200 changed 192.0.2.1
nap 1
read -r bad1 acc1 <<<"$(auth)"
check "the old pass is refused (badauth $bad0 -> $bad1)" [ $((bad1 - bad0)) = 1 ]
check "the new pass verifies (accepted $acc0 -> $acc1)" [ $((acc1 - acc0)) = 1 ]
# A change that decides the election still does: a's advskew above b's.
ip netns exec b sysctl -qw net.inet.carp.preempt=1
cctl a carp0 advskew 200
check "an advskew that loses the lead hands over (b preempts)" wait_for 10 state_is b carp0 master
check "a steps down" wait_for 5 state_is a carp0 backup
ip -n a link del carp0
ip -n b link del carp0

# Balancing: carpnodes 1 and 2 stay, 3 is added; 1 and 2 do not change.
cctl_nodes() { cctl a carp1 carpnodes "$1" balancing arp pass lb && cctl b carp1 carpnodes "$2" balancing arp pass lb; }
for h in a b; do
	ip -n "$h" link add carp1 link eth0 type carp
	ip -n "$h" addr add 192.0.2.5/24 dev carp1
done
cctl_nodes 1:0,2:100 1:100,2:0
ip -n a link set carp1 up
ip -n b link set carp1 up
nodes_are() { [ "$(cctl "$1" -j carp1 | jq -r '[.carpnodes[] | "\(.vhid)=\(.state)"] | join(",")')" = "$2" ]; }
check "a is MASTER of vhid 1, b of vhid 2" wait_for 15 nodes_are a 1=MASTER,2=BACKUP
check "... b" wait_for 10 nodes_are b 1=BACKUP,2=MASTER
m_a=$(wc -l </tmp/rc-a) m_b=$(wc -l </tmp/rc-b)
check "the monitors record state changes (a: $m_a, b: $m_b lines)" [ "$m_a" -gt 0 -a "$m_b" -gt 0 ]
cctl_nodes 1:0,2:100,3:0 1:100,2:0,3:100
check "vhid 3 added: a is its MASTER, 1 and 2 unchanged" wait_for 10 nodes_are a 1=MASTER,2=BACKUP,3=MASTER
check "... b BACKUP of it" wait_for 10 nodes_are b 1=BACKUP,2=MASTER,3=BACKUP
check_ok_output "the monitor saw vhid 3 start" 'carp1 vhid 3: INIT -> BACKUP' \
	tail -n +$((m_a + 1)) /tmp/rc-a
check_absent "... and no change of vhid 1 or 2" 'vhid (1|2):' \
	tail -n +$((m_a + 1)) /tmp/rc-a
check_absent "... on b too" 'vhid (1|2):' tail -n +$((m_b + 1)) /tmp/rc-b
rm -f /tmp/rc-a /tmp/rc-b /tmp/rc-ping
cleanup_ns
