#!/bin/bash
# Runs inside the VM (scripts/bench.sh): throughput and packet rate to a
# server address held by (a) a macvlan device, (b) a carp device without
# balancing, (c) a carp device with balancing ip (the IP filter on every
# packet; this host MASTER of every entry, so every packet is accepted),
# on the same lower device from the same client. Prints each as a ratio to
# macvlan, and the filter's cost per packet derived from the packet rates.
#   bench-lb-vm.sh KO SECONDS
# SPDX-License-Identifier: GPL-2.0
set -u
ko=$1 secs=${2:-4}
top=$(cd "$(dirname "$0")/.." && pwd)
export PATH=$top/tools/target/release:$PATH
insmod "$ko"
ip netns add s
ip netns add c
ip -n s link set lo up
ip -n c link set lo up
ip -n s link add eth0 type veth peer name eth0 netns c
ip -n s addr add 192.0.2.1/24 dev eth0
ip -n c addr add 192.0.2.100/24 dev eth0
ip -n s link set eth0 up
ip -n c link set eth0 up

# setup_dev KIND: the device under test holds 192.0.2.10.
setup_dev() {
	case $1 in
	macvlan)
		ip -n s link add dut link eth0 type macvlan mode bridge ;;
	carp|carp-ip)
		ip -n s link add dut link eth0 type carp
		if [ "$1" = carp ]; then
			ip netns exec s carpctl dut vhid 1 pass bench
		else
			ip netns exec s carpctl dut carpnodes 1:0,2:0 balancing ip pass bench
		fi ;;
	esac
	ip -n s addr add 192.0.2.10/24 dev dut
	ip -n s link set dut up
	ip -n c neigh flush all
	[ "$1" = macvlan ] && return
	# carp: MASTER of every entry once the master-down time passed (no
	# entry left in INIT or BACKUP).
	for _ in $(seq 100); do
		ip -n s link show dut | grep -q LOWER_UP &&
			! ip netns exec s carpctl dut | grep -qE 'INIT|BACKUP' && break
		sleep 0.1
	done
}

# Until the iperf3 server listens (it daemonizes first).
listening() {
	for _ in $(seq 50); do
		ip netns exec s ss -Hltn 'sport = :5201' | grep -q . && return
		sleep 0.1
	done
}

# udp_pps KIND: received datagrams per second, from iperf3's JSON.
udp_pps() {
	setup_dev "$1"
	ip netns exec s iperf3 -s -B 192.0.2.10 -D -1 >/dev/null 2>&1
	listening
	ip netns exec c iperf3 -c 192.0.2.10 -u -b 0 -l 18 -t "$secs" -J 2>/dev/null |
		python3 -I -S -c '
import json, sys
r = json.load(sys.stdin)["end"]["sum"]
print(int((r["packets"] - r["lost_packets"]) / r["seconds"]))'
	ip -n s link del dut
}

# tcp_mbit KIND: TCP throughput with four parallel flows.
tcp_mbit() {
	setup_dev "$1"
	ip netns exec s iperf3 -s -B 192.0.2.10 -D -1 >/dev/null 2>&1
	listening
	ip netns exec c iperf3 -c 192.0.2.10 -P 4 -t "$secs" -J 2>/dev/null |
		python3 -I -S -c '
import json, sys
print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))'
	ip -n s link del dut
}

# Three rounds, the kinds interleaved (TCG timing drifts): the median.
declare -A tcp pps
rounds=${CARP_BENCH_ROUNDS:-3}
for r in $(seq "$rounds"); do
	for k in macvlan carp carp-ip; do
		tcp[$k]="${tcp[$k]:-} $(tcp_mbit "$k")"
		pps[$k]="${pps[$k]:-} $(udp_pps "$k")"
	done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] + 0 }'; }
for k in macvlan carp carp-ip; do
	tcp[$k]=$(median <<<"${tcp[$k]}")
	pps[$k]=$(median <<<"${pps[$k]}")
done
echo "throughput to 192.0.2.10 through the device, median of $rounds rounds of ${secs} s (qemu TCG: compare ratios, not values)"
printf '  %-28s %10s %8s %12s %8s\n' device "TCP Mbit/s" ratio "UDP pkt/s" ratio
for k in macvlan carp carp-ip; do
	name=$k
	[ "$k" = carp ] && name="carp0, balancing none"
	[ "$k" = carp-ip ] && name="carp0, balancing ip (filter)"
	printf '  %-28s %10s %8s %12s %8s\n' "$name" "${tcp[$k]}" \
		"$(echo "scale=3; ${tcp[$k]} / ${tcp[macvlan]}" | bc)" "${pps[$k]}" \
		"$(echo "scale=3; ${pps[$k]} / ${pps[macvlan]}" | bc)"
done
if [ "${pps[carp]}" -gt 0 ] && [ "${pps[carp-ip]}" -gt 0 ]; then
	echo "  the IP filter under load: $(echo "scale=0; 1000000000 / ${pps[carp-ip]} - 1000000000 / ${pps[carp]}" | bc) ns more per packet than balancing none (TCG; noisy)"
fi
rmmod carp
