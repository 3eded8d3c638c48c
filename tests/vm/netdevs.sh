#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# carp-netdevs (tools/systemd/carp-netdevs, run by carp-netdevs.service
# before systemd-networkd): the carp devices of a netdevs file are
# created with their settings and set up (the addresses then come from
# networkd, here from ip), a bad line is reported and the others still
# come up, stop deletes them (a MASTER bows out). The carp-enabled ip
# (scripts/build-iproute2.sh) is first on PATH, as Debian's ip with the
# carp-tools plugin is on a host.

tap_plan 11
carp_load
export PATH=${CARP_IPROUTE2:-/nonexistent}/bin:$PATH
nd=$(cd ../.. && pwd)/tools/systemd/carp-netdevs
w=/tmp/netdevs
rm -rf "$w"
mkdir -p "$w"
install -m 0600 /dev/null "$w/pass"
echo 'pass phrase' >"$w/pass"
lan_setup a b
# conf HOST ADVSKEW: HOST's netdevs file (carp0, and carp1 on a missing
# carpdev on b).
conf() {
	cat >"$w/$1" <<-EOF
		# carp devices of $1
		carp0 carpdev eth0 vhid 1 advskew $2 passfile $w/pass   # the VIP
		${3:-}
	EOF
}
conf a 0
conf b 100 "carp1 carpdev eth9 vhid 2"
cctl b monitor >"$w/mon-b" 2>&1 &
nap 1
check "a: carp-netdevs start" ip netns exec a "$nd" start "$w/a"
check_fail_output "b: carp-netdevs start fails on carp1's missing carpdev" \
	'carp1: carpdev eth9 did not appear' ip netns exec b env CARP_NETDEVS_WAIT=2 "$nd" start "$w/b"
check "b: ... and carp0 came up all the same" bash -c \
	"carpctl -n b -j carp0 | jq -e '.vhid == 1 and .advskew == 100 and .pass == \"pass phrase\"'"
check "b: no carp1" link_absent b carp1
check "a: carp0 is up with its settings" bash -c \
	"ip -n a link show carp0 | grep -q '[<,]UP[,>]' && carpctl -n a -j carp0 | jq -e '.vhid == 1 and .advskew == 0 and .carpdev == \"eth0\"'"
ip -n a addr add 192.0.2.1/24 dev carp0
ip -n b addr add 192.0.2.1/24 dev carp0
check "a becomes MASTER" wait_for 15 state_is a carp0 master
check "b is BACKUP" wait_for 10 state_is b carp0 backup
check "a: start again changes nothing (still MASTER)" bash -c \
	"ip netns exec a '$nd' start '$w/a' && [ \"\$(carpctl -n a -j carp0 | jq -r .state)\" = MASTER ]"
check "a: carp-netdevs stop" ip netns exec a "$nd" stop "$w/a"
check "a: carp0 deleted" link_absent a carp0
check "b takes over after a's bow-out" wait_for 10 grep -q 'BACKUP -> MASTER (bow-out)' "$w/mon-b"
pkill -f "carpctl -n b monitor"
