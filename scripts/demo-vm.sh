#!/bin/bash
# The demo, run inside the VM: three CARP hosts (network namespaces) on one
# bridge elect a master for 192.0.2.1 and fail over live; then two of them
# share 192.0.2.10 with load balancing while six clients ping it.
# SPDX-License-Identifier: GPL-2.0
set -u
ko=$1
# ip's carp support (scripts/build-iproute2.sh, passed by demo.sh).
export IP_LIB_DIR=$2/lib
top=$(cd "$(dirname "$0")/.." && pwd)
export PATH=$top/tools/target/release:$PATH
# The tests' topology helpers (lan_setup, cctl).
CARP_TEST=demo
. "$top/tests/vm/lib.sh"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
carpctl() { local ns=$1; shift; command carpctl -n "$ns" "$@"; }
states() {
	local dev=$1; shift
	for h in "$@"; do
		printf '   host %s: %s\n' "$h" "$(carpctl "$h" "$dev" 2>/dev/null | sed -n 's/^\t*carp: //p;s/^\t\t*state/state/p' | paste -sd' ')"
	done
}
vip_owner() {
	ip netns exec lan ping -c 1 -W 2 192.0.2.1 >/dev/null 2>&1 &&
		ip -n lan neigh show 192.0.2.1 | awk '{print "   192.0.2.1 answers, at", $5}'
}
shares() {
	for h in a b; do
		carpctl "$h" stats carp1 | sed -n "s/^\tvhid/   host $h: vhid/p"
	done
}

insmod "$ko"
say "Topology: hosts a, b, c, clients k1..k6 and a client on br0 (namespace lan), 192.0.2.0/24"
lan_setup a b c k1 k2 k3 k4 k5 k6

say "Each host: carp0 on eth0, vhid 1, pass secret, VIP 192.0.2.1 (advskew a=0 b=50 c=100)"
skew=(0 50 100); i=0
for h in a b c; do
	run ip -n "$h" link add carp0 link eth0 type carp vhid 1 advskew "${skew[$i]}" pass secret
	run ip -n "$h" addr add 192.0.2.1/24 dev carp0
	run ip -n "$h" link set carp0 up
	i=$((i + 1))
done
# Watch every host's state changes, as an ifstated-like tool would.
for h in a b c; do
	ip netns exec "$h" carpctl monitor | sed -u "s/^/   [monitor $h] /" &
done
sleep 5
say "Election: the lowest advskew is MASTER (carrier up), the others BACKUP"
states carp0 a b c
vip_owner

say "Host a's carp0 goes down: it bows out and b takes over at once"
run ip -n a link set carp0 down
sleep 2
states carp0 a b c
ip -n lan neigh flush dev br0
vip_owner

say "Host b's LAN link fails: the backups time out and c takes over"
run ip -n b link set eth0 down
sleep 5
states carp0 a b c
ip -n lan neigh flush dev br0
vip_owner

say "With net.inet.carp.preempt=1, a comes back and takes over again"
run ip netns exec a sysctl -qw net.inet.carp.preempt=1
run ip -n a link set carp0 up
sleep 6
states carp0 a b c
ip -n lan neigh flush dev br0
vip_owner
run ip -n b link set eth0 up

say "Load balancing: a and b share 192.0.2.10 (carpnodes 11:0,12:100 and 11:100,12:0, balancing ip)"
run ip netns exec b sysctl -qw net.inet.carp.preempt=1
run ip -n a link add carp1 link eth0 type carp carpnodes 11:0,12:100 balancing ip pass share
run ip -n b link add carp1 link eth0 type carp carpnodes 11:100,12:0 balancing ip pass share
for h in a b; do
	run ip -n "$h" addr add 192.0.2.10/24 dev carp1
	run ip -n "$h" link set carp1 up
done
sleep 5
states carp1 a b
run ip -n a -d link show carp1
say "Six clients ping 192.0.2.10; each host accepts the flows of its entry (carpctl stats carp1)"
for k in k1 k2 k3 k4 k5 k6; do
	ip netns exec "$k" ping -q -i 0.2 192.0.2.10 >/dev/null 2>&1 &
done
sleep 3
shares
sleep 3
echo "   three seconds later:"
shares

say "Host b's link fails: a takes over vhid 12 and with it every flow"
run ip -n b link set eth0 down
sleep 5
states carp1 a
sleep 2
shares

say "b comes back (preempt): its share returns"
run ip -n b link set eth0 up
sleep 6
states carp1 a b
sleep 2
shares

say "Host c's counters (carpctl stats, like netstat -s -p carp)"
run carpctl c stats

say "The kernel log"
dmesg | grep 'carp' | tail -12

pkill -x ping
pkill -f "carpctl monitor"; wait 2>/dev/null
say "Unloading the module removes every carp device"
run rmmod carp
cleanup_ns
