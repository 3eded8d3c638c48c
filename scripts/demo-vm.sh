#!/bin/bash
# The demo, run inside the VM: three hosts (network namespaces) on one
# bridge, each with carp devices stacked on its LAN interface.
# SPDX-License-Identifier: GPL-2.0
set -eu
ko=$1
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

insmod "$ko"
say "Topology: hosts a, b, c on bridge br0 (namespace lan), 192.0.2.0/24"
ip netns add lan
ip -n lan link add br0 type bridge
ip -n lan link set br0 up
i=1
for h in a b c; do
	ip netns add "$h"
	ip -n "$h" link set lo up
	ip -n "$h" link add eth0 type veth peer name "v$h" netns lan
	ip -n lan link set dev "v$h" master br0 up
	ip -n "$h" addr add "192.0.2.1$i/24" dev eth0
	ip -n "$h" link set eth0 up
	i=$((i + 1))
done

say "Each host gets carp0 on eth0"
for h in a b c; do
	run ip -n "$h" link add carp0 link eth0 type carp
	run ip -n "$h" link set carp0 up
done
for h in a b c; do
	echo "-- host $h"
	ip -n "$h" -d link show carp0
done

say "Host a gets a second carp device on the same LAN interface"
run ip -n a link add carp1 link eth0 type carp
run ip -n a -br link show

say "Deleting eth0 on host c removes its carp device with it"
run ip -n c link del eth0
run ip -n c -br link show

say "Unloading the module removes all carp devices"
run rmmod carp
run ip -n a -br link show
for ns in a b c lan; do ip netns del "$ns"; done
echo
echo "(election, failover and load balancing come with the redundancy issue)"
