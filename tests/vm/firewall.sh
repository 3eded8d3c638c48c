#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A firewall pair with IP balancing, as the seed advises: fa and fb route
# between LAN 1 (clients, 192.0.2.0/24) and LAN 2 (servers,
# 198.51.100.0/24) with the same carpnodes on both sides (carp0: 1:0,2:100
# on fa, 1:100,2:0 on fb; carp1 the same), and a stateful nftables ruleset
# (established and related pass; new connections only from LAN 1). A TCP
# session can only work if both of its directions pass through the same
# firewall, the one with its conntrack state: every client's sessions to
# every server must work, while a server cannot open one to a client. When
# fb dies, fa takes its share, and new sessions work again.

LB="$(dirname "${BASH_SOURCE[0]}")/lbcheck.py"
carp_load
setup_ns lan1 lan2 fa fb s1 s2
clients=()
for i in $(seq 1 8); do clients+=("k$i"); done
setup_ns "${clients[@]}"
ip -n lan1 link add br1 type bridge
ip -n lan1 link set br1 up
ip -n lan2 link add br2 type bridge
ip -n lan2 link set br2 up
# plug NS DEV BRNS BR ADDR4 ADDR6 [GW4 GW6]
plug() {
	ip -n "$3" link add "p$1$2" type veth peer name "$2" netns "$1" &&
	ip -n "$3" link set "p$1$2" master "$4" up &&
	ip -n "$1" addr add "$5" dev "$2" &&
	ip -n "$1" addr add "$6" dev "$2" nodad &&
	ip -n "$1" link set "$2" up &&
	if [ -n "${7:-}" ]; then
		ip -n "$1" route add default via "$7" &&
		ip -n "$1" -6 route add default via "$8"
	fi
}
specs=()
i=30
for c in "${clients[@]}"; do
	plug "$c" eth0 lan1 br1 192.0.2.$i/24 2001:db8:1::$i/64 192.0.2.1 2001:db8:1::1
	specs+=("$c:192.0.2.$i:2001:db8:1::$i")
	i=$((i + 1))
done
plug s1 eth0 lan2 br2 198.51.100.21/24 2001:db8:2::21/64 198.51.100.1 2001:db8:2::1
plug s2 eth0 lan2 br2 198.51.100.22/24 2001:db8:2::22/64 198.51.100.1 2001:db8:2::1
fw() {	# HOST N SKEW1 SKEW2
	local h=$1 n=$2
	plug "$h" eth0 lan1 br1 192.0.2.1$n/24 2001:db8:1::1$n/64 &&
	plug "$h" eth1 lan2 br2 198.51.100.1$n/24 2001:db8:2::1$n/64 &&
	ip netns exec "$h" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.inet.carp.preempt=1 &&
	ip -n "$h" link add carp0 link eth0 type carp &&
	ip -n "$h" link add carp1 link eth1 type carp &&
	cctl "$h" carp0 carpnodes "1:$3,2:$4" balancing ip pass fw &&
	cctl "$h" carp1 carpnodes "1:$3,2:$4" balancing ip pass fw &&
	ip -n "$h" addr add 192.0.2.1/24 dev carp0 &&
	ip -n "$h" addr add 2001:db8:1::1/64 dev carp0 nodad &&
	ip -n "$h" addr add 198.51.100.1/24 dev carp1 &&
	ip -n "$h" addr add 2001:db8:2::1/64 dev carp1 nodad &&
	ip -n "$h" link set carp0 up &&
	ip -n "$h" link set carp1 up &&
	ip netns exec "$h" nft -f - <<-'NFT'
		table inet fw {
			chain forward {
				type filter hook forward priority 0; policy drop;
				ct state established,related accept
				iifname "carp0" ct state new accept
				counter
			}
		}
	NFT
}
check "firewall fa (entry 1 preferred) with a stateful ruleset" fw fa 1 0 100
check "firewall fb (entry 2 preferred) with a stateful ruleset" fw fb 2 100 0
node() { cctl "$1" -j "${3:-carp0}" | grep -o "{[^{}]*\"vhid\":$2}"; }
entry_is() { node "$1" "$2" "${4:-carp0}" | grep -q "\"state\":\"$3\""; }
pair_ready() {
	entry_is fa 1 MASTER carp0 && entry_is fa 1 MASTER carp1 &&
	entry_is fb 2 MASTER carp0 && entry_is fb 2 MASTER carp1
}
check "fa is MASTER of vhid 1 and fb of vhid 2, on both sides" wait_for 20 pair_ready
for s in s1 s2; do
	ip netns exec "$s" python3 -I -S "$LB" serve "$s" 9000 \
		"198.51.100.2${s#s}" "2001:db8:2::2${s#s}" &
done
sleep 1
servers=198.51.100.21,198.51.100.22,2001:db8:2::21,2001:db8:2::22
check "every client's TCP sessions to every server work (IPv4 and IPv6)" \
	python3 -I -S "$LB" connect 9000 "$servers" "${specs[@]}"
accepted() {	# HOST DEV VHID
	cctl "$1" -j stats "$2" | grep -o "{[^{}]*\"vhid\":$3}" | grep -o '"accepted":[0-9]*' | cut -d: -f2
}
both_pos() { [ "$1" -gt 0 ] && [ "$2" -gt 0 ]; }
check "fa took its share in both directions (carp0 and carp1, vhid 1)" \
	both_pos "$(accepted fa carp0 1)" "$(accepted fa carp1 1)"
check "fb took its share in both directions (carp0 and carp1, vhid 2)" \
	both_pos "$(accepted fb carp0 2)" "$(accepted fb carp1 2)"
check "... and none of the other's" \
	[ "$(accepted fa carp0 2)$(accepted fa carp1 2)$(accepted fb carp0 1)$(accepted fb carp1 1)" = 0000 ]
# The ruleset is effective: new connections from LAN 2 are dropped.
ip netns exec k1 python3 -I -S "$LB" serve k1 9001 192.0.2.30 2001:db8:1::30 &
check_fail "a server cannot open a session to a client (stateful ruleset)" \
	python3 -I -S "$LB" connect 9001 192.0.2.30 s1:198.51.100.21:2001:db8:2::21

# fb dies (both links down): fa takes vhid 2 on both sides; new sessions
# of fb's share work through fa.
ip -n fb link set eth0 down
ip -n fb link set eth1 down
fa_all() { entry_is fa 2 MASTER carp0 && entry_is fa 2 MASTER carp1; }
check "fa takes vhid 2 on both sides" wait_for 15 fa_all
check "new sessions of every client work through fa alone" \
	python3 -I -S "$LB" connect 9000 "$servers" "${specs[@]}"
check "fa now accepts for vhid 2 on both sides" \
	both_pos "$(accepted fa carp0 2)" "$(accepted fa carp1 2)"
pkill -f "lbcheck.py serve"
cleanup_ns
