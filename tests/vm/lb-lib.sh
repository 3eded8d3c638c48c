# SPDX-License-Identifier: GPL-2.0
# Shared by the load-balancing tests (balancing.sh, balance-failover.sh):
# hosts a, b, c and twelve clients (each its own namespace, MAC and
# address) on one bridge; the shared address 192.0.2.10 / 2001:db8::10.

LB="$(dirname "${BASH_SOURCE[0]}")/lbcheck.py"
INJECT="$(dirname "${BASH_SOURCE[0]}")/carpinject.py"
clients=()
specs=()
for i in $(seq 1 12); do
	n=$(printf 'c%02d' "$i")
	clients+=("$n")
done
lan_setup a b c "${clients[@]}"
# Preempt: the entries settle on the hosts with the lowest skew whatever
# the order the hosts come up in (as an admin running a balanced cluster
# sets it).
for h in a b c; do
	ip netns exec "$h" sysctl -qw net.inet.carp.preempt=1 || setup_fail "preempt on $h"
done
# lan_setup numbers the hosts 192.0.2.1N in order: a=.11, b=.12, c=.13,
# the clients .14 to .115.
i=4
for n in "${clients[@]}"; do
	specs+=("$n:192.0.2.1$i:2001:db8::1$i")
	i=$((i + 1))
done

# lb_setup HOST NODES MODE: carp0 with the shared addresses.
lb_setup() {
	ip -n "$1" link add carp0 link eth0 type carp &&
	cctl "$1" carp0 carpnodes "$2" balancing "$3" pass lb &&
	ip -n "$1" addr add 192.0.2.10/24 dev carp0 &&
	ip -n "$1" addr add 2001:db8::10/64 dev carp0 nodad &&
	ip -n "$1" link set carp0 up
}
# node HOST VHID [stats]: the JSON object of entry VHID (carpctl's keys are
# sorted: vhid comes last). With stats it holds the nested transitions
# object: read with jq.
# (Shell builtins only without stats: entry_is is polled.)
node() {
	local j
	j=$(cctl "$1" -j ${3:+stats} carp0) || return 1
	if [ -n "${3:-}" ]; then
		jq -ce --argjson v "$2" '.nodes[] | select(.vhid == $v)' <<<"$j"
		return
	fi
	[[ $j =~ \{[^{}]*\"vhid\":$2\} ]] || return 1
	echo "${BASH_REMATCH[0]}"
}
# entry_is HOST VHID STATE
entry_is() {
	local n
	n=$(node "$1" "$2") && [[ $n == *\"state\":\"$3\"* ]]
}
# counter HOST VHID NAME: a per-entry counter.
counter() {
	local n
	n=$(node "$1" "$2" stats) && [[ $n =~ \"$3\":([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
}
# split_ready: a MASTER of vhid 1, b of vhid 2.
split_ready() { entry_is a 1 MASTER && entry_is b 2 MASTER; }
# lbcheck MODE MASTERS: every client's requests answered once, each by the
# host the hash names (exit 1 otherwise), and the summary "N hosts: a=N
# b=N" (requests per host, IPv4 and IPv6: 24 in all). In the ip modes the
# split is fixed by the addresses: the clients (.14 to .115, 2001:db8::14
# to ::115) fold against the VIP to 12 requests per entry with two
# entries, 8 per entry with three (`lbcheck.py expect ip N ...` lists each
# client's entry); in arp mode it follows the clients' random MACs.
lbcheck() {
	python3 -I -S "$LB" check "$1" "$2" lb 192.0.2.10 2001:db8::10 9000 "${specs[@]}"
}
# serving HOST...: each host's lbcheck server listens (TCP, IPv4 and IPv6):
# a request before would be refused, and a check that a host served
# nothing would pass on it.
serving() {
	local h
	for h in "$@"; do listening "$h" 9000 2 || return 1; done
}
# accepted HOST: the IP filter's accepted packets, all entries.
accepted() {
	# The entries' accepted packets (the top-level "accepted" counts
	# advertisements).
	cctl "$1" -j stats carp0 | jq '[.nodes[].accepted] | add // 0'
}

