#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Load balancing, the seed's LOAD BALANCING example: hosts a and b share
# 192.0.2.10 (and 2001:db8::10) with carpnodes 1:0,2:100 and 1:100,2:0;
# twelve clients send UDP, TCP and ICMP echo over IPv4 and IPv6, and every
# request is answered exactly once by the host the hash names (computed by
# tests/vm/lbcheck.py, not by the module), in each balancing mode, switched
# on the running devices; a changed shared MAC is announced; in ARP mode the
# host's own requests are probes and an entry fails over with its MAC.

tap_plan 49
carp_load
. ./lb-lib.sh
check "a: carpnodes 1:0,2:100 balancing ip" lb_setup a 1:0,2:100 ip
check "b: carpnodes 1:100,2:0 balancing ip" lb_setup b 1:100,2:0 ip
check "a is MASTER of vhid 1" wait_for 15 entry_is a 1 MASTER
check "b is MASTER of vhid 2" wait_for 15 entry_is b 2 MASTER
check "a is BACKUP of vhid 2" wait_for 5 entry_is a 2 BACKUP
check "b is BACKUP of vhid 1" wait_for 5 entry_is b 1 BACKUP
both_up() { state_is a carp0 master && state_is b carp0 master; }
check "carp0 has carrier on both (MASTER of an entry)" both_up
check_ok_output "ip mode: the shared MAC is the multicast 01:00:5e:00:01:01" '01:00:5e:00:01:01' \
	ip -n a link show carp0
for h in a b; do
	ip netns exec "$h" python3 -I -S "$LB" serve "$h" 9000 192.0.2.10 2001:db8::10 &
done
check "the servers on a and b listen" wait_for 20 serving a b

# mode ip (learning bridge; the multicast MAC is flooded).
ip netns exec lan tcpdump -i br0 -e -n -U -w /tmp/lb-$$.pcap 2>/dev/null &
dump=$!
check "ip: tcpdump captures on the bridge" wait_for 10 capturing lan br0
check_ok_output "ip: every client served once, by the host the hash names" '^2 hosts: a=12 b=12$' \
	lbcheck ip a,b
kill "$dump"; wait "$dump" 2>/dev/null
check_absent "ip: no frame left with the multicast MAC as source" '^01:00:5e:00:01' \
	eth_sources /tmp/lb-$$.pcap
check_ok_output "ip: the clients learned the multicast MAC" 'lladdr 01:00:5e:00:01:01' \
	ip -n c01 neigh show 192.0.2.10
check "per-entry counters: a accepted packets for vhid 1" [ "$(counter a 1 accepted)" -gt 0 ]
check "... and dropped none of them" [ "$(counter a 1 dropped)" = 0 ]
check "... and left vhid 2's packets to b" [ "$(counter a 2 dropped)" -gt 0 ]
check "... accepting none of them" [ "$(counter a 2 accepted)" = 0 ]

# mode ip-unicast, on a hub (a bridge that floods every frame). The
# shared MAC changes: the new one is announced (gratuitous ARP, unsolicited
# NA), and the clients' entries move to it without a flush.
ip -n lan link set br0 type bridge ageing_time 0
ip netns exec lan tcpdump -i br0 -n -U -w /tmp/lb-$$.pcap 'arp or icmp6' 2>/dev/null &
dump=$!
check "ip-unicast: tcpdump captures on the bridge" wait_for 10 capturing lan br0
for h in a b; do cctl "$h" carp0 balancing ip-unicast; done
check "ip-unicast: the entries are MASTER again" wait_for 15 split_ready
nap 1
kill "$dump"; wait "$dump" 2>/dev/null
frames=$(frames /tmp/lb-$$.pcap)
sed 's/^/#   frame: /' <<<"$frames" | grep -E ' (arp|icmp6 13[56]) ' | head -20
check "ip-unicast: the new MAC announced by gratuitous ARP for 192.0.2.10" \
	grep -Eq ' arp [12] 00:00:5e:00:01:01 192\.0\.2\.10 [^ ]+ 192\.0\.2\.10$' <<<"$frames"
check "ip-unicast: and by an unsolicited NA for 2001:db8::10 to all nodes" \
	grep -Eq ' icmp6 136 [^ ]+ ff02::1 2001:db8::10 00:00:5e:00:01:01$' <<<"$frames"
check_ok_output "ip-unicast: c01's entry for 192.0.2.10 moved to the new MAC, unflushed" \
	'lladdr 00:00:5e:00:01:01' ip -n c01 neigh show 192.0.2.10
check_ok_output "ip-unicast: and for 2001:db8::10" \
	'lladdr 00:00:5e:00:01:01' ip -n c01 neigh show 2001:db8::10
for n in "${clients[@]}"; do ip -n "$n" neigh flush all; done
check_ok_output "ip-unicast: the shared MAC is 00:00:5e:00:01:01" '00:00:5e:00:01:01' ip -n a link show carp0
check_ok_output "ip-unicast: every client served once, by its host" '^2 hosts: a=12 b=12$' \
	lbcheck ip-unicast a,b

# mode ip-stealth, on a learning bridge: no frame ever carries a virtual
# MAC as source, so the bridge never learns it and floods.
for h in a b; do cctl "$h" carp0 balancing ip-stealth; done
for n in "${clients[@]}"; do ip -n "$n" neigh flush all; done
# As carp(4) warns, a switch that learned the shared MAC while it was a
# source (ip-unicast) keeps it until the entry ages out: remove it, as its
# ageing timer would, then learn again.
for m in $(bridge -n lan fdb show br br0 | awk '/^00:00:5e:00:01/ && !/permanent/ { print $1 "," $3 }'); do
	bridge -n lan fdb del "${m%,*}" dev "${m#*,}" master
done
ip -n lan link set br0 type bridge ageing_time 30000
ip netns exec lan tcpdump -i br0 -e -n -U -w /tmp/lb-$$.pcap 2>/dev/null &
dump=$!
check "ip-stealth: tcpdump captures on the bridge" wait_for 10 capturing lan br0
check "ip-stealth: the entries are MASTER again" wait_for 15 split_ready
check_ok_output "ip-stealth: every client served once, by its host" '^2 hosts: a=12 b=12$' \
	lbcheck ip-stealth a,b
kill "$dump"; wait "$dump" 2>/dev/null
check_absent "ip-stealth: no frame left with a virtual MAC as source (adverts, ARP, IP)" \
	'^0[01]:00:5e:00:01' eth_sources /tmp/lb-$$.pcap
check_absent "ip-stealth: the bridge never learned a virtual MAC" '00:00:5e:00:01' \
	bridge -n lan fdb show br br0

# mode arp: each client's MAC picks the entry (and the MAC) that serves it.
for h in a b; do cctl "$h" carp0 balancing arp; done
for n in "${clients[@]}"; do ip -n "$n" neigh flush all; done
check "arp: the entries are MASTER again" wait_for 15 split_ready
# (The split follows the clients' MACs: lbcheck checks each one.)
check_ok_output "arp: every client served once, by the MASTER of its entry" '^2 hosts: a=[0-9]+ b=[0-9]+$' \
	lbcheck arp a,b
# Each client's entry for the VIP is the MAC of the entry its MAC hashes
# to: both entry MACs are handed out.
want=$(python3 -I -S "$LB" expect arp 2 lb 192.0.2.10 2001:db8::10 "${specs[@]}")
macs_ok=1 seen=""
# (One ip per client, shell matching: a process start costs about 0.4 s
# under KASAN and TCG.)
while read -r n e4 e6; do
	nb=$(ip -n "$n" neigh show)
	got="" got6=""
	[[ $nb =~ (^|$'\n')192\.0\.2\.10\ [^$'\n']*lladdr\ ([0-9a-f:]+) ]] && got=${BASH_REMATCH[2]}
	[[ $nb =~ (^|$'\n')2001:db8::10\ [^$'\n']*lladdr\ ([0-9a-f:]+) ]] && got6=${BASH_REMATCH[2]}
	exp=00:00:5e:00:01:0$((e4 + 1))
	echo "# $n: entry $e4, IPv4 VIP at $got, IPv6 VIP at $got6"
	[ "$got" = "$exp" ] && [ "$got6" = "$exp" ] || macs_ok=0
	seen="$seen $got"
done <<<"$want"
check "arp: each client got the MAC of its entry, IPv4 and IPv6" [ "$macs_ok" = 1 ]
check "arp: both entry MACs were handed out" bash -c \
	"grep -q 00:00:5e:00:01:01 <<<'$seen' && grep -q 00:00:5e:00:01:02 <<<'$seen'"
check "arp: a answered ARP/NDP requests for its entry" [ "$(counter a 1 answered)" -gt 0 ]
check "arp: and left the other entry's to b" [ "$(counter a 2 ignored)" -gt 0 ]
check "arp: b answered for its entry" [ "$(counter b 2 answered)" -gt 0 ]

# The host's own ARP requests through carp0 are probes (sender 0.0.0.0):
# no sender MAC is right for every client.
ip -n a neigh flush dev carp0
ip netns exec lan tcpdump -i br0 -n -U -w /tmp/lb-$$.pcap arp 2>/dev/null &
dump=$!
check "arp: tcpdump captures on the bridge" wait_for 10 capturing lan br0
ip netns exec a ping -c 1 -W 2 -I carp0 192.0.2.14 >/dev/null 2>&1
nap 1
kill "$dump"; wait "$dump" 2>/dev/null
req=$(frames /tmp/lb-$$.pcap | awk '$4 == "arp" && $5 == 1 && $9 == "192.0.2.14" { print $7 }')
echo "# a's ARP requests for 192.0.2.14, senders: $(echo $req)"
check "arp: a resolved c01 through carp0 (its ARP request is on the wire)" [ -n "$req" ]
check "arp: ... as a probe, sender 0.0.0.0 (never the VIP)" bash -c "! grep -qv '^0\.0\.0\.0$' <<<'$req'"

# b (MASTER of vhid 2 only) resolves a client of a's entry through carp0:
# its probe and solicitation carry vhid 2's MAC, so the answers come back
# to b (not to a, the MASTER of the device's own MAC), and they bind no
# virtual address: the client's entry for the VIP stays a's MAC.
cl=$(awk '$2 == 0 && $3 == 0 { print $1; exit }' <<<"$want")
for sp in "${specs[@]}"; do [ "${sp%%:*}" = "$cl" ] && { c4=${sp#*:}; c6=${c4#*:}; c4=${c4%%:*}; }; done
echo "# a's client $cl: $c4, $c6"
ip -n b neigh flush dev carp0
ip netns exec b ping -c 1 -W 2 -I carp0 "$c4" >/dev/null 2>&1
ip netns exec b ping -6 -c 1 -W 2 -I carp0 "$c6" >/dev/null 2>&1
resolved() { ip -n b neigh show "$1" dev carp0 | grep -Eq 'lladdr .* (REACHABLE|STALE|DELAY|PROBE)'; }
check "arp: b resolved a's client $cl through carp0 (IPv4)" wait_for 5 resolved "$c4"
check "arp: ... and IPv6" wait_for 5 resolved "$c6"
check_ok_output "arp: $cl still has the VIP at a's MAC (IPv4)" 'lladdr 00:00:5e:00:01:01' \
	ip -n "$cl" neigh show 192.0.2.10
check_ok_output "arp: ... and IPv6" 'lladdr 00:00:5e:00:01:01' ip -n "$cl" neigh show 2001:db8::10

# A host's entries fail over in ARP mode: the clients of b's entry keep
# the MAC they have, which a's advertisements move to a's port.
ip -n b link set eth0 down
check "arp: b's link down, a takes vhid 2" wait_for 15 entry_is a 2 MASTER
check_ok_output "arp: a serves every client alone (the MACs they have)" '^1 hosts: a=24$' \
	lbcheck arp a,a
check_ok_output "arp: the bridge moved vhid 2's MAC to a's port" '^00:00:5e:00:01:02 dev va ' \
	bridge -n lan fdb show br br0
ip -n b link set eth0 up
check "arp: b back with preempt, it takes vhid 2 again" wait_for 15 split_ready
check_ok_output "arp: the split is back" '^2 hosts: a=[0-9]+ b=[0-9]+$' lbcheck arp a,b

pkill -f "lbcheck.py serve"
rm -f /tmp/lb-$$.pcap
cleanup_ns
