#!/bin/bash
# The demo, run inside the VM: three CARP hosts (network namespaces) on one
# bridge elect a master for 192.0.2.1 and fail over live.
# SPDX-License-Identifier: GPL-2.0
set -u
ko=$1
top=$(cd "$(dirname "$0")/.." && pwd)
export PATH=$top/tools/target/release:$PATH
carpctl() { local ns=$1; shift; ip netns exec "$ns" carpctl "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
states() {
	for h in a b c; do
		printf '   host %s: %s\n' "$h" "$(carpctl "$h" carp0 2>/dev/null | sed -n 's/^\tcarp: //p' | paste -sd' ')"
	done
}
vip_owner() {
	ip netns exec lan ping -c 1 -W 2 192.0.2.1 >/dev/null 2>&1 &&
		ip -n lan neigh show 192.0.2.1 | awk '{print "   192.0.2.1 answers, at", $5}'
}

insmod "$ko"
say "Topology: hosts a, b, c and a client (namespace lan, br0) on 192.0.2.0/24"
ip netns add lan
ip -n lan link set lo up
ip -n lan link add br0 type bridge
ip -n lan link set br0 up
ip -n lan addr add 192.0.2.100/24 dev br0
i=1
for h in a b c; do
	ip netns add "$h"
	ip -n "$h" link set lo up
	ip -n "$h" link add eth0 type veth peer name "v$h" netns lan
	ip -n lan link set dev "v$h" master br0 up
	ip netns exec "$h" sysctl -qw net.ipv4.conf.eth0.arp_announce=2
	ip -n "$h" addr add "192.0.2.1$i/24" dev eth0
	ip -n "$h" link set eth0 up
	i=$((i + 1))
done

say "Each host: carp0 on eth0, vhid 1, pass secret, VIP 192.0.2.1 (advskew a=0 b=50 c=100)"
skew=(0 50 100); i=0
for h in a b c; do
	run ip -n "$h" link add carp0 link eth0 type carp
	run carpctl "$h" carp0 vhid 1 advskew "${skew[$i]}" pass secret
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
states
vip_owner

say "Host a's carp0 goes down: it bows out and b takes over at once"
run ip -n a link set carp0 down
sleep 2
states
ip -n lan neigh flush dev br0
vip_owner

say "Host b's LAN link fails: the backups time out and c takes over"
run ip -n b link set eth0 down
sleep 5
states
ip -n lan neigh flush dev br0
vip_owner

say "With net.inet.carp.preempt=1, a comes back and takes over again"
run ip netns exec a sysctl -qw net.inet.carp.preempt=1
run ip -n a link set carp0 up
sleep 6
states
ip -n lan neigh flush dev br0
vip_owner

say "Host c's counters (carpctl stats, like netstat -s -p carp)"
run carpctl c stats

say "The kernel log"
dmesg | grep 'carp' | tail -12

pkill -f "carpctl monitor"; wait 2>/dev/null
say "Unloading the module removes every carp device"
run rmmod carp
for ns in a b c lan; do ip netns del "$ns"; done
echo
echo "(load balancing in the kernel is not done yet: see README)"
