#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# carppeer: advertisements to a unicast peer, routed out of the carpdev
# (neighbour resolution by the stack), for LANs that drop CARP multicast.
# The bridge drops 224.0.0.18 and ff02::12: without a peer both hosts
# become MASTER (the control), with carppeer (IPv4) and an IPv6 carppeer
# they elect one and fail over.

tap_plan 30
carp_load
lan_setup a b c
ip netns exec lan nft -f - <<-'EOF' || setup_fail "the bridge's multicast filter"
	table bridge nomcast {
		chain forward {
			type filter hook forward priority 0; policy accept;
			ip daddr 224.0.0.18 counter drop
			ip6 daddr ff02::12 counter drop
		}
	}
EOF
mac_b=$(ip -n b -j link show eth0 | jq -r '.[0].address')
# Demotion changes are logged from level 3 (err).
ip netns exec a sysctl -qw net.inet.carp.log=3

# IPv4. The control: multicast is blocked, so both become MASTER.
carp_setup a carp0 1 0
carp_setup b carp0 1 100
check "control: a becomes MASTER" wait_for 10 state_is a carp0 master
check "control: without carppeer b becomes MASTER too (multicast blocked)" \
	wait_for 10 state_is b carp0 master
check_ok_output "control: the bridge dropped the multicast advertisements" \
	'ip daddr 224.0.0.18 counter packets [1-9]' ip netns exec lan nft list table bridge nomcast

# advbase 5 for the handover: a MASTER advertises to a new carppeer at
# once, so b hears a within a moment of a's carppeer, not at a's next
# periodic advertisement (up to 5 s later).
cctl a carp0 advbase 5
cctl b carp0 advbase 5
cctl b carp0 carppeer 192.0.2.11
t0=$(now_ms)
cctl a carp0 carppeer 192.0.2.12
check "with carppeer b steps down: one MASTER" wait_for 10 state_is b carp0 backup
took=$(($(now_ms) - t0))
check "... at once: a advertised to its new peer ($took ms < 2500, advbase 5)" [ "$took" -lt 2500 ]
check "a stays MASTER" state_is a carp0 master
cctl a carp0 advbase 1
cctl b carp0 advbase 1
nap 4
check "b stays BACKUP for longer than a master-down interval (4 s)" state_is b carp0 backup
check_ok_output "the client reaches the VIP" '1 received' ip netns exec c ping -c 1 -W 2 192.0.2.1
ip netns exec b tcpdump -i eth0 -U -n -e -w /tmp/peer-$$.pcap 'ip proto 112' 2>/dev/null &
dump=$!
check "tcpdump captures on b's eth0" wait_for 10 capturing b eth0
nap 3
kill "$dump"; wait "$dump" 2>/dev/null
ads=$(carp_adverts /tmp/peer-$$.pcap | grep ' 192.0.2.11 ')
echo "$ads" | tail -3 | sed 's/^/# /'
check "a's advertisements reached b" [ "$(grep -c . <<<"$ads")" -ge 3 ]
check "... all of them unicast to b's address and MAC, TTL 255, vhid 1" \
	all_match "$mac_b 192.0.2.11 192.0.2.12 255 1" "$ads"
ip -n a link set eth0 down
check "a's link goes down: b takes over" wait_for 10 state_is b carp0 master
ip -n a link set eth0 up
check "a comes back: b hears it again and a is BACKUP (no preempt)" wait_for 10 state_is a carp0 backup
check "one MASTER" state_is b carp0 master
check "carpctl shows the peer" [ "$(cctl a -j carp0 | jq -r .carppeer)" = 192.0.2.12 ]
cctl a carp0 -carppeer
cctl b carp0 -carppeer
check "-carppeer: back to multicast, which the bridge drops: a takes over too" \
	wait_for 10 state_is a carp0 master
# A peer behind a gateway: with TTL 255 it can never be reached, so
# every advertisement is a send error.
demote_is() { [ "$(cctl "$1" -j "$2" | jq .demote)" = "$3" ]; }
ip -n a route add 198.51.100.0/24 via 192.0.2.100 dev eth0
m=$(log_mark)
cctl a carp0 carppeer 198.51.100.7
d0=$(ip -n a -s -j link show carp0 | jq '.[0].stats64.tx.dropped')
check "a peer behind a gateway: advertisements fail (tx dropped)" \
	wait_for 10 bash -c "[ \$(ip -n a -s -j link show carp0 | jq '.[0].stats64.tx.dropped') -ge $((d0 + 3)) ]"
check "... and the send errors demote a's group" wait_for 5 demote_is a carp0 1
check "the log says why" [ "$(since "$m" 'carp0: advertisements cannot be sent: demoting')" = 1 ]
cctl a carp0 carppeer 192.0.2.12
check "the peer is reachable again: the demotion ends" wait_for 10 demote_is a carp0 0
ip -n a link del carp0
ip -n b link del carp0

# IPv6: an IPv6-only device, peers by global address (a's eth0 lost its
# global address when its link went down above).
ip -n a addr replace 2001:db8::11/64 dev eth0 nodad
carp6_pair 6 2001:db8::1
ip -n a link set carp6 up
ip -n b link set carp6 up
both_master() { state_is a carp6 master && state_is b carp6 master; }
check "IPv6 control: both become MASTER (ff02::12 blocked)" wait_for 15 both_master
cctl b carp6 carppeer 2001:db8::11
cctl a carp6 carppeer 2001:db8::12
check "IPv6 carppeer: b steps down" wait_for 10 state_is b carp6 backup
ip netns exec b tcpdump -i eth0 -U -n -w /tmp/peer6-$$.pcap 'ip6 and ip6[6] == 112' 2>/dev/null &
dump=$!
check "IPv6: tcpdump captures on b's eth0" wait_for 10 capturing b eth0
nap 4
check "... and stays BACKUP for longer than a master-down interval" state_is b carp6 backup
kill "$dump"; wait "$dump" 2>/dev/null
ads=$(carp_adverts /tmp/peer6-$$.pcap | awk '$2 != "2001:db8::12" { print $2, $3, $4, $5 }')
echo "$ads" | tail -3 | sed 's/^/# /'
check "a's IPv6 advertisements reached b" [ "$(grep -c . <<<"$ads")" -ge 3 ]
check "... unicast to 2001:db8::12 from a's address, hop limit 255, vhid 6" \
	all_match '2001:db8::11 2001:db8::12 255 6' "$ads"
m=$(log_mark)
ip -n a link set carp6 down
check "a goes down (bow-out to the peer): b takes over" wait_for 5 state_is b carp6 master
check "... at once, by the bow-out" [ "$(since "$m" 'vhid 6): BACKUP -> MASTER (master bowed out)')" = 1 ]
dmesg | tail -n +$((m + 1)) | grep 'vhid 6' | sed 's/^/# /'
check_fail_output "carppeer must be unicast (the kernel says)" 'unicast IPv6' cctl a carp6 carppeer ff02::1
peer6_of() { cctl a carp6 carppeer fe80::1 && cctl a -j carp6 | jq -r .carppeer6; }
check_ok_output "a link-local peer is accepted" '^fe80::1$' peer6_of
rm -f /tmp/peer-$$.pcap /tmp/peer6-$$.pcap
cleanup_ns
