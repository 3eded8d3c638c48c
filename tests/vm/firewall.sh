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

tap_plan 14
LB="$(dirname "${BASH_SOURCE[0]}")/lbcheck.py"
carp_load
clients=()
for i in $(seq 1 8); do clients+=("k$i"); done
# One ip per namespace (ip -batch): a process start costs about half a
# second under KASAN and TCG.
{ for ns in lan1 lan2 fa fb s1 s2 "${clients[@]}"; do echo "netns add $ns"; done; } | ip -b - ||
	setup_fail "the namespaces"
CARP_TEST_NS+=(lan1 lan2 fa fb s1 s2 "${clients[@]}")
# The bridges: LAN 1 (clients, the firewalls' eth0), LAN 2 (servers as
# eth0, the firewalls' eth1).
{
	echo "link set lo up"
	echo "link add br1 type bridge"
	echo "link set br1 up"
	for h in "${clients[@]}" fa fb; do
		echo "link add p${h}eth0 type veth peer name eth0 netns $h"
		echo "link set p${h}eth0 master br1 up"
	done
} | ip -n lan1 -b - || setup_fail "LAN 1"
{
	echo "link set lo up"
	echo "link add br2 type bridge"
	echo "link set br2 up"
	for h in s1 s2 fa fb; do
		d=eth0; case $h in f*) d=eth1 ;; esac
		echo "link add p$h$d type veth peer name $d netns $h"
		echo "link set p$h$d master br2 up"
	done
} | ip -n lan2 -b - || setup_fail "LAN 2"
# host NS DEV ADDR4 ADDR6 [GW4 GW6]: the batch lines of one interface.
host() {
	echo "addr add $3 dev $2"
	echo "addr add $4 dev $2 nodad"
	echo "link set $2 up"
	if [ -n "${5:-}" ]; then
		echo "route add default via $5"
		echo "route add ::/0 via $6"
	fi
}
specs=()
i=30
for c in "${clients[@]}"; do
	{ echo "link set lo up"; host "$c" eth0 192.0.2.$i/24 2001:db8:1::$i/64 192.0.2.1 2001:db8:1::1; } |
		ip -n "$c" -b - || setup_fail "client $c"
	specs+=("$c:192.0.2.$i:2001:db8:1::$i")
	i=$((i + 1))
done
for n in 1 2; do
	{ echo "link set lo up"; host "s$n" eth0 198.51.100.2$n/24 2001:db8:2::2$n/64 198.51.100.1 2001:db8:2::1; } |
		ip -n "s$n" -b - || setup_fail "server s$n"
done
fw() {	# HOST N SKEW1 SKEW2
	local h=$1 n=$2
	{
		echo "link set lo up"
		host "$h" eth0 192.0.2.1$n/24 2001:db8:1::1$n/64
		host "$h" eth1 198.51.100.1$n/24 2001:db8:2::1$n/64
		echo "link add carp0 link eth0 type carp"
		echo "link add carp1 link eth1 type carp"
	} | ip -n "$h" -b - &&
	cctl "$h" carp0 carpnodes "1:$3,2:$4" balancing ip pass fw &&
	cctl "$h" carp1 carpnodes "1:$3,2:$4" balancing ip pass fw &&
	nsenter --net="/run/netns/$h" sh -c 'sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1 net.inet.carp.preempt=1 && nft -f -' <<-'NFT' &&
		table inet fw {
			chain forward {
				type filter hook forward priority 0; policy drop;
				ct state established,related accept
				iifname "carp0" ct state new accept
				counter
			}
		}
	NFT
	ip -n "$h" -b - <<-EOF
		addr add 192.0.2.1/24 dev carp0
		addr add 2001:db8:1::1/64 dev carp0 nodad
		addr add 198.51.100.1/24 dev carp1
		addr add 2001:db8:2::1/64 dev carp1 nodad
		link set carp0 up
		link set carp1 up
	EOF
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
servers_up() { listening s1 9000 2 && listening s2 9000 2; }
check "the servers listen (port 9000, IPv4 and IPv6)" wait_for 20 servers_up
servers=198.51.100.21,198.51.100.22,2001:db8:2::21,2001:db8:2::22
check "every client's TCP sessions to every server work (IPv4 and IPv6)" \
	python3 -I -S "$LB" connect 9000 "$servers" "${specs[@]}"
accepted() {	# HOST DEV VHID
	cctl "$1" -j stats "$2" | jq -e --argjson v "$3" '.nodes[] | select(.vhid == $v) | .accepted'
}
both_pos() { [ "$1" -gt 0 ] && [ "$2" -gt 0 ]; }
check "fa took its share in both directions (carp0 and carp1, vhid 1)" \
	both_pos "$(accepted fa carp0 1)" "$(accepted fa carp1 1)"
check "fb took its share in both directions (carp0 and carp1, vhid 2)" \
	both_pos "$(accepted fb carp0 2)" "$(accepted fb carp1 2)"
check "... and none of the other's" \
	[ "$(accepted fa carp0 2)$(accepted fa carp1 2)$(accepted fb carp0 1)$(accepted fb carp1 1)" = 0000 ]
# The ruleset is effective: new connections from LAN 2 are dropped. The
# control first: k1's server listens and answers its LAN 1 neighbour k2
# (no firewall between them), so the failure from s1 can only be the
# firewall's drop: a timeout (a server not yet listening would refuse).
ip netns exec k1 python3 -I -S "$LB" serve k1 9001 192.0.2.30 2001:db8:1::30 &
check "k1's server listens (port 9001)" wait_for 20 listening k1 9001 2
check_ok_output "the control: k2 opens a session to k1's server (same LAN)" '^k2 -> 192\.0\.2\.30: k1$' \
	python3 -I -S "$LB" connect 9001 192.0.2.30 "${specs[1]}"
check_fail_output "a server cannot open a session to a client (stateful ruleset: its SYN is dropped)" \
	'^s1 -> 192\.0\.2\.30: FAILED \(timed out\)$' \
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
