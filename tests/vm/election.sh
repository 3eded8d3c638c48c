#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Two and three host election, failover by admin down, by lower link down
# and by module unload, preempt on/off, advskew ordering, auth mismatch.

tap_plan 42
lan_setup a b c
# Every state change of a and b, from the start (carpctl monitor: per
# namespace, unlike the kernel log where all devices are carp0).
cctl a monitor >/tmp/mon-a 2>&1 &
mon_a=$!
cctl b monitor >/tmp/mon-b 2>&1 &
mon_b=$!
nap 1
check "carp0 on host a (advskew 0)" carp_setup a carp0 1 0
check "carp0 on host b (advskew 100)" carp_setup b carp0 1 100
check_ok_output "the configuration reads back over rtnetlink" 'vhid=1' carpnl b show carp0
check_ok_output "advskew reads back over rtnetlink" 'advskew=100' carpnl b show carp0
check_absent "rtnetlink never reports the pass" 'pass' carpnl b show carp0
check_ok_output "the virtual MAC is 00:00:5e:00:01:01" '00:00:5e:00:01:01' ip -n a link show carp0

check "a becomes MASTER" wait_for 10 state_is a carp0 master
check "b stays BACKUP" state_is b carp0 backup
check_ok_output "MASTER has carrier" 'state UP' ip -n a link show carp0
check_ok_output "BACKUP has no carrier" 'NO-CARRIER' ip -n b link show carp0
check "the VIP answers ping" ip netns exec lan ping -c 1 -W 2 192.0.2.1
check_ok_output "the VIP resolves to the virtual MAC" '00:00:5e:00:01:01' ip -n lan neigh show 192.0.2.1
one_responder "only the MASTER answers ARP, with the virtual MAC" 00:00:5e:00:01:01 \
	arp_responders lan br0 192.0.2.1

# No flapping: 8 s (many advertisement intervals) after the election, a
# became MASTER exactly once and b never (the regression: the link-local
# address addrconf adds when the carrier comes up restarted the master).
nap 8
check "a became MASTER exactly once" [ "$(grep -c 'carp0 vhid 1: BACKUP -> MASTER' /tmp/mon-a)" = 1 ]
check "b never became MASTER" [ "$(grep -c -- '-> MASTER' /tmp/mon-b)" = 0 ]
kill $mon_a $mon_b 2>/dev/null
wait $mon_a $mon_b 2>/dev/null
sed 's/^/#   a: /' /tmp/mon-a
rm -f /tmp/mon-a /tmp/mon-b

# A third host with advskew 50 joins as BACKUP.
check "carp0 on host c (advskew 50)" carp_setup c carp0 1 50
nap 4
check "a is still MASTER after c joined" state_is a carp0 master
check "c is BACKUP" state_is c carp0 backup

# Admin down on the master: bow-out, the next best (c, skew 50) takes over
# at once, saying so (not after a master-down timeout).
cctl c monitor >/tmp/mon-c 2>&1 &
mon_c=$!
nap 1
t0=$(now_ms)
ip -n a link set carp0 down
check "c takes over after a's bow-out" wait_for 10 state_is c carp0 master
echo "# takeover after admin down: $(( $(now_ms) - t0 )) ms"
nap 0.5
kill $mon_c 2>/dev/null; wait $mon_c 2>/dev/null
check_ok_output "... because of the bow-out" 'carp0 vhid 1: BACKUP -> MASTER \(bow-out\)' cat /tmp/mon-c
rm -f /tmp/mon-c
check "b stays BACKUP (higher advskew)" state_is b carp0 backup
ip -n lan neigh flush dev br0
check "the VIP answers ping via c" ip netns exec lan ping -c 1 -W 2 192.0.2.1

# Without preempt a comes back as BACKUP.
ip -n a link set carp0 up
nap 4
check "a returns as BACKUP without preempt" state_is a carp0 backup
check "c keeps MASTER without preempt" state_is c carp0 master

# With preempt a takes over again.
check "sysctl net.inet.carp.preempt=1" ip netns exec a sysctl -qw net.inet.carp.preempt=1
check "a preempts c" wait_for 10 state_is a carp0 master
check "c steps down to BACKUP" wait_for 5 state_is c carp0 backup

# Lower device set down on the master: it bows out while the carpdev can
# still send (NETDEV_GOING_DOWN), the next best takes over at once.
t0=$(now_ms)
ip -n a link set eth0 down
check "c takes over when a's carpdev goes down" wait_for 15 state_is c carp0 master
echo "# takeover after carpdev down: $(( $(now_ms) - t0 )) ms"
check "a's carp0 is INIT while its carpdev is down" state_is a carp0 init
ip -n a link set eth0 up
check "a preempts again when its carpdev returns" wait_for 15 state_is a carp0 master

# Auth mismatch: a host with the wrong pass never takes over.
ip -n b link del carp0
ip -n b link add carp0 link eth0 type carp
cctl b carp0 vhid 1 advskew 0 pass wrong
ip -n b addr add 192.0.2.1/24 dev carp0
ip -n b link set carp0 up
nap 5
check "a stays MASTER" state_is a carp0 master
check "b, hearing no valid master, runs as MASTER alone (as OpenBSD)" wait_for 10 state_is b carp0 master
check_ok_output "b counted a's adverts as bad authentication" '"badauth":[1-9]' cctl b -j stats carp0
cctl b carp0 | sed "s/^/# b: /"
ip -n b link show carp0 | sed "s/^/# b: /"
ip -n b link del carp0

# Invalid configuration is refused with a message, nothing changes: over
# rtnetlink (ip link's interface) here, over generic netlink in carpctl.sh.
check_fail_output "vhid 0 is refused" 'vhid must be 1..255' carpnl c set carp0 vhid 0
check_fail_output "vhid 256 is refused" 'vhid must be 1..255' carpnl c set carp0 vhid 256
check_fail_output "advskew 255 is refused" 'advskew must be 0..254' carpnl c set carp0 advskew 255
check_fail_output "a 20-byte pass is refused" 'pass|Numerical result|too long|Invalid' \
	carpnl c set carp0 pass 01234567890123456789
check_fail_output "balancing with one node is refused" 'at least two carpnodes' \
	carpnl c set carp0 balancing ip
check_fail_output "33 carpnodes are refused" 'too many carpnodes' carpnl c set carp0 carpnodes \
	"$(seq -s, 1 33 | sed 's/\([0-9]*\)/\1:0/g')"
check_fail_output "duplicate vhids are refused" 'duplicate vhid' carpnl c set carp0 carpnodes 1:0,1:5
check_ok_output "the config is unchanged after errors" 'advskew=50' carpnl c show carp0
ip -n c link add carp1 link eth0 type carp
check_fail_output "a vhid already used on the carpdev is refused" 'already used' \
	carpnl c set carp1 vhid 1
ip -n c link del carp1


