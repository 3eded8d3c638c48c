#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Neighbour resolution around the virtual addresses, without any sysctl
# tuning (arp_announce stays at Linux's default 0):
# - the MASTER resolves neighbours through carp0 (ARP replies to the
#   virtual MAC reach carp0);
# - the MASTER's own ARP requests and neighbour solicitations never
#   announce a virtual address with another MAC than the virtual one, so a
#   client's entry for the VIP is always the virtual MAC;
# - a BACKUP never sends from the virtual MAC;
# - carp0's multicast groups (the solicited-node group of an IPv6 VIP) and
#   ALLMULTI/PROMISC reach the carpdev's filter.

tap_plan 27
carp_load
lan_setup a b c
for h in a b; do
	skew=0; [ "$h" = b ] && skew=100
	carp_setup "$h" carp0 1 "$skew"
	ip -n "$h" addr add 2001:db8::1/64 dev carp0 nodad || setup_fail "2001:db8::1 on $h"
done
check "a becomes MASTER" wait_for 15 state_is a carp0 master
check "b is BACKUP" wait_for 10 state_is b carp0 backup

check "the MASTER pings a client through carp0 (ARP reply to the virtual MAC)" \
	ip netns exec a ping -c 1 -W 3 -I carp0 192.0.2.13
check_ok_output "... and resolved it on carp0" 'lladdr .* REACHABLE|lladdr .* STALE|lladdr .* DELAY' \
	ip -n a neigh show 192.0.2.13 dev carp0

# The client c resolves the VIP and a answers; a resolves c for its reply
# (a route through eth0, the VIP as source). Captured on c.
pcap=/tmp/neigh-$$.pcap
ip netns exec c tcpdump -i eth0 -U -w "$pcap" 'arp or icmp6' 2>/dev/null &
dump=$!
check "tcpdump captures on c's eth0" wait_for 10 capturing c eth0
ip -n a neigh flush all
ip -n c neigh flush all
check "c pings the IPv4 VIP" ip netns exec c ping -c 2 -W 3 192.0.2.1
check "c pings the IPv6 VIP" ip netns exec c ping -6 -c 2 -W 3 2001:db8::1
nap 1
ip -n a neigh flush dev eth0
check "a's own ping from the VIP through eth0 resolves c" \
	ip netns exec a ping -c 1 -W 3 -I 192.0.2.1 192.0.2.13
nap 1
kill "$dump"; wait "$dump" 2>/dev/null
check_ok_output "c's entry for the IPv4 VIP is the virtual MAC" '192\.0\.2\.1 .*lladdr 00:00:5e:00:01:01' \
	ip -n c neigh show 192.0.2.1
check_ok_output "c's entry for the IPv6 VIP is the virtual MAC" 'lladdr 00:00:5e:00:01:01' \
	ip -n c -6 neigh show 2001:db8::1
# Every ARP frame with a VIP as sender, every NS/NA with a VIP as source or
# target, carries the virtual MAC.
frames=$(frames "$pcap")
rm -f "$pcap"
arps=$(awk '$4 == "arp" { print $7, $6 }' <<<"$frames")
nds=$(awk '$4 == "icmp6" && ($5 == 135 || $5 == 136) { print $6, $5, $8, $9 }' <<<"$frames")
echo "$arps" | sed 's/^/# ARP (sender IP, MAC): /'
echo "$nds" | sed 's/^/# NS\/NA (source, type, target, link-layer address): /'
check "the capture saw ARP from the VIP" grep -q '^192\.0\.2\.1 ' <<<"$arps"
check_fail "no ARP frame announces the IPv4 VIP with another MAC" \
	grep -Ev '^192\.0\.2\.1 00:00:5e:00:01:01$|^(192\.0\.2\.1[0-9]+|0\.0\.0\.0) ' <<<"$arps"
check "the capture saw an NA for the IPv6 VIP" grep -q '^[^ ]* 136 2001:db8::1 ' <<<"$nds"
check_fail "no NS/NA for the IPv6 VIP carries another MAC" bash -c \
	"grep -E '^2001:db8::1 13[56] |^[^ ]* 136 2001:db8::1 ' | grep -v ' 00:00:5e:00:01:01\$'" <<<"$nds"

# A BACKUP never sends from the virtual MAC: b's ping through carp0 is
# dropped (tx_dropped), and the bridge learns the virtual MAC on a's port
# only.
drops() { ip -n b -s -j link show carp0 | grep -o '"tx":{[^}]*' | grep -o '"dropped":[0-9]*' | cut -d: -f2; }
before=$(drops)
check_fail "the BACKUP's ping through carp0 goes nowhere" ip netns exec b ping -c 2 -W 1 -I carp0 192.0.2.13
check "... its frames are dropped on carp0" [ "$(drops)" -gt "$before" ]
check_ok_output "the bridge learned the virtual MAC on a's port only" '^00:00:5e:00:01:01 dev va ' \
	bridge -n lan fdb show br br0
check_absent "... not on b's" '^00:00:5e:00:01:01 dev vb ' bridge -n lan fdb show br br0

# rx mode: carp0's MAC, groups and flags reach eth0's filter.
check_ok_output "the virtual MAC is in eth0's unicast filter" '^00:00:5e:00:01:01 self permanent' \
	bridge -n a fdb show dev eth0
check_ok_output "the VIP's solicited-node group is on eth0" '33:33:ff:00:00:01' ip -n a maddr show dev eth0
ip -n a addr del 2001:db8::1/64 dev carp0
check_absent "... and leaves with the VIP" '33:33:ff:00:00:01' ip -n a maddr show dev eth0
# (ip link shows only the flags set on a device itself; -d shows the
# counts that uppers contribute.)
ip -n a link set carp0 allmulticast on
check_ok_output "ALLMULTI on carp0 reaches eth0" ' allmulti 1 ' ip -n a -d link show eth0
ip -n a link set carp0 allmulticast off
check_ok_output "... and goes" ' allmulti 0 ' ip -n a -d link show eth0
# (A veth has no unicast filter: the virtual MAC in its list already makes
# it promiscuous once.)
promisc() { ip -n a -d link show eth0 | grep -o 'promiscuity [0-9]*' | cut -d' ' -f2; }
p0=$(promisc)
ip -n a link set carp0 promisc on
check "PROMISC on carp0 reaches eth0 ($p0 -> $(promisc))" [ "$(promisc)" = $((p0 + 1)) ]
ip -n a link set carp0 down
check "carp0 down releases all it added to eth0 ($(promisc))" [ "$(promisc)" = 0 ]
check_absent "... and the virtual MAC" '^00:00:5e:00:01:01 ' bridge -n a fdb show dev eth0
ip -n a link set carp0 up
check_ok_output "up again: the virtual MAC is back" '^00:00:5e:00:01:01 self permanent' \
	bridge -n a fdb show dev eth0
cleanup_ns
