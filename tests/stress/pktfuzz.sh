#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Packet fuzzing while two hosts run an election (IPv4 carp0 vhid 1, IPv6
# carp6 vhid 2): a third host sends mutated advertisements built from
# signed ones and from the core's fuzz corpus (tests/stress/pktfuzz.py;
# every one invalid by construction). On each host every received
# advertisement must be in exactly one counter (accepted or a drop
# counter), every fuzzed one in a drop counter, and no state may change.
# make check sends 1000; CARP_STRESS=1 sends 100 000.

tap_plan 10
count=1000
[ "${CARP_STRESS:-0}" = 1 ] && count=100000
top=$(cd "$CARP_STRESS_DIR/../.." && pwd)
lan_setup a b x
carp_setup a carp0 1 0
carp_setup b carp0 1 100
carp6_pair 2 2001:db8::1
ip -n a link set carp6 up
ip -n b link set carp6 up
both() { state_is "$1" carp0 "$2" && state_is "$1" carp6 "$2"; }
check "a is MASTER of both" wait_for 20 both a master
check "b is BACKUP of both" wait_for 10 both b backup

# counters NS: received, in exactly one counter, dropped, transitions to
# MASTER (namespace totals).
counters() {
	carpctl -n "$1" -j stats | jq -r '(.badif + .badttl + .hdrops + .badsum + .badver +
		.badlen + .badauth + .badvhid) as $bad |
		"\(.ipackets + .ipackets6) \(.accepted + $bad) \($bad) \(.preempt)"'
}
# Frames the kernel dropped before any protocol (backlog overflow).
backlog_drops() {
	local d=0 a b rest
	while read -r a b rest; do d=$((d + 16#$b)); done </proc/net/softnet_stat
	echo $d
}
read -r ra0 ca0 da0 pa0 < <(counters a)
read -r rb0 cb0 db0 pb0 < <(counters b)
drops0=$(backlog_drops)
out=$(ip netns exec x python3 -I -S "$CARP_STRESS_DIR/pktfuzz.py" eth0 --count $count \
	--corpus "$top/tools/fuzz/corpus/decode" 2>&1)
echo "# stress: $out"
nap 0.5
read -r ra1 ca1 da1 pa1 < <(counters a)
read -r rb1 cb1 db1 pb1 < <(counters b)
drops=$(($(backlog_drops) - drops0))
echo "# stress: pktfuzz: a: $((ra1 - ra0)) received, $((da1 - da0)) dropped; b: $((rb1 - rb0)) received, $((db1 - db0)) dropped; $drops lost to the backlog"
check "a: every received advertisement is in exactly one counter" [ $((ra1 - ra0)) = $((ca1 - ca0)) ]
check "b: every received advertisement is in exactly one counter" [ $((rb1 - rb0)) = $((cb1 - cb0)) ]
check "a: every fuzzed packet is counted as dropped" \
	[ $((da1 - da0)) -ge $((count - drops)) -a $((da1 - da0)) -le $count ]
check "b: every fuzzed packet is counted as dropped" \
	[ $((db1 - db0)) -ge $((count - drops)) -a $((db1 - db0)) -le $count ]
check "no transition to MASTER on a" [ "$pa1" = "$pa0" ]
check "no transition to MASTER on b" [ "$pb1" = "$pb0" ]
check "a is still MASTER of both" both a master
check "b is still BACKUP of both" both b backup
