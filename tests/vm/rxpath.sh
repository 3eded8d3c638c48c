#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The lower device's rx_handler with frames whose headers lie outside the
# skb's linear area (a tap device with a virtio-net header: only the
# Ethernet header is linear), with and without a packet tap holding a
# reference to each skb (tcpdump: shared skbs). Under KASAN a header read
# after a pull moved the skb's head, or a pull on a shared skb, is a splat
# or a kernel BUG (the review's use-after-free in the IPv6 branch).

tap_plan 6
TAPINJECT="$(dirname "${BASH_SOURCE[0]}")/tapinject.py"
carp_load
setup_ns t
ip -n t tuntap add dev tap0 mode tap vnet_hdr &&
ip -n t link set tap0 up &&
ip -n t link add carp0 link tap0 type carp &&
cctl t carp0 vhid 1 pass rx &&
ip -n t addr add 192.0.2.1/24 dev carp0 &&
ip -n t addr add 2001:db8::1/64 dev carp0 nodad &&
ip -n t link set carp0 up || setup_fail "carp0 on tap0"
rx() { ip -n t -s -j link show carp0 | grep -o '"rx":{"bytes":[0-9]*,"packets":[0-9]*' | grep -o '[0-9]*$'; }
before=$(rx)
check "fragmented ARP, NS, IPv4 and IPv6 frames to a MASTER" \
	ip netns exec t python3 -I -S "$TAPINJECT" tap0 carp0 192.0.2.1 2001:db8::1 00:00:5e:00:01:01 20
check "they reached carp0 (100 frames)" [ $(( $(rx) - before )) -ge 100 ]

# Shared skbs: a packet socket on the tap sees every frame first. The run
# only tests shared skbs if tcpdump was capturing through it: it must be
# before the frames are sent, and it must have seen them all (the
# injector's frames: their source MAC).
pcap=/tmp/rxpath-$$.pcap
ip netns exec t tcpdump -i tap0 -U -w "$pcap" 2>/dev/null &
dump=$!
check "tcpdump captures on tap0" wait_for 10 capturing t tap0
before=$(rx)
check "the same frames while tcpdump holds a reference to each" \
	ip netns exec t python3 -I -S "$TAPINJECT" tap0 carp0 192.0.2.1 2001:db8::1 00:00:5e:00:01:01 20
check "they reached carp0 too" [ $(( $(rx) - before )) -ge 100 ]
kill "$dump"
wait "$dump" 2>/dev/null
seen=$(tcpdump -r "$pcap" -n ether src 02:00:00:00:00:77 2>/dev/null | grep -c .)
check "tcpdump saw the 100 frames ($seen)" [ "${seen:-0}" -ge 100 ]
rm -f "$pcap"
cleanup_ns
