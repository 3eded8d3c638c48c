#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# carpctl over the carp generic netlink family: every setting set and read
# back (carpctl, rtnetlink's IFLA_INFO_DATA, ip -d link), every invalid
# value refused with its message and the config left intact, privileges,
# statistics, and `carpctl monitor` / `ip monitor link` during a failover.

tap_plan 59
carp_load
lan_setup a b
ip -n a link add carp0 link eth0 type carp
check "carpctl sets vhid, advskew, pass and carpdev at once" \
	cctl a carp0 vhid 1 advskew 100 pass secret carpdev eth0
ip -n a addr add 192.0.2.1/24 dev carp0
ip -n a link set carp0 up
check_ok_output "status in ifconfig's words" \
	'carp: (BACKUP|MASTER) carpdev eth0 vhid 1 advbase 1 advskew 100' cctl a carp0
check_ok_output "the listing shows every carp device" '^carp0:' cctl a
check_ok_output "JSON status" '"vhid":1' cctl a -j carp0
check_ok_output "root reads the pass" '"pass":"secret"' cctl a -j carp0
check "advbase 2" cctl a carp0 advbase 2
check_ok_output "advbase reads back" 'advbase 2 ' cctl a carp0
check_ok_output "advbase reads back over rtnetlink" 'advbase=2' carpnl a show carp0
check "state master" cctl a carp0 state master
check_ok_output "the forced state reads back" 'carp: MASTER ' cctl a carp0
check "state backup" cctl a carp0 state backup
check_ok_output "backup reads back" 'carp: BACKUP ' cctl a carp0
check "carppeer 192.0.2.12" cctl a carp0 carppeer 192.0.2.12
check_ok_output "carppeer reads back" 'carppeer 192.0.2.12' cctl a carp0
check_ok_output "carppeer reads back over rtnetlink" 'peer=192.0.2.12' carpnl a show carp0
check "-carppeer" cctl a carp0 -carppeer
check_absent "carppeer is gone" 'carppeer' cctl a carp0
check "carpnodes 1:0,2:100 balancing ip" cctl a carp0 carpnodes 1:0,2:100 balancing ip
out=$(cctl a carp0)
rc=$?
# (Unquoted: the entries' lines on one line, as echo $out.)
check_ok_output "carpnodes read back" 'vhid 1 advskew 0.*vhid 2 advskew 100' \
	replay "$rc" $out
check_ok_output "balancing reads back" 'balancing ip' replay "$rc" "$out"
check_ok_output "carpnodes read back over rtnetlink" 'carpnodes=1:0,2:100' carpnl a show carp0
check "balancing arp over rtnetlink" carpnl a set carp0 balancing arp
check_ok_output "balancing reads back over rtnetlink" 'balancing=arp' carpnl a show carp0
check "carpnodes with balancing none" \
	cctl a carp0 carpnodes 1:0,2:100 balancing none
check_ok_output "... as set" 'balancing none' cctl a carp0
check "ip -d link shows the carp kind" carp_kind a carp0
check "back to a single vhid" cctl a carp0 vhid 1 advskew 100 balancing none

# Invalid values: one-line errors, non-zero exit, nothing changes.
before=$(cctl a -j carp0 | sed 's/"state":"[A-Z]*"//g')
check_fail_output "vhid 0" 'carpctl: vhid must be 1..255' cctl a carp0 vhid 0
check_fail_output "vhid 256" 'carpctl: vhid must be 1..255' cctl a carp0 vhid 256
check_fail_output "advskew 255" 'carpctl: advskew must be 0..254' cctl a carp0 advskew 255
check_fail_output "unknown balancing mode" "unknown balancing mode 'fair'" \
	cctl a carp0 balancing fair
check_fail_output "33 carpnodes (the kernel says)" 'carp0: too many carpnodes' \
	cctl a carp0 carpnodes "$(seq -s, 1 33 | sed 's/\([0-9]*\)/\1:0/g')"
check_fail_output "duplicate vhids (the kernel says)" 'carp0: duplicate vhid' \
	cctl a carp0 carpnodes 3:0,3:5
check_fail_output "a 20-byte pass (the kernel says)" 'carp0: pass is longer than 19 bytes' \
	cctl a carp0 pass 01234567890123456789
check_fail_output "balancing with one node" 'at least two carpnodes' cctl a carp0 balancing arp
check_fail_output "a missing carpdev" 'carpdev eth9: no such interface' cctl a carp0 carpdev eth9
check_fail_output "a loopback carpdev" 'must be an Ethernet device' cctl a carp0 carpdev lo
check_fail_output "an unknown device" 'no such device' cctl a carp7 vhid 3
check_fail_output "not a carp device" 'not a carp device' cctl a eth0 vhid 3
ip -n a link add carp1 link eth0 type carp
check_fail_output "a vhid already used on the carpdev" 'carp1: vhid already used on this carpdev' \
	cctl a carp1 vhid 1
ip -n a link del carp1
check_fail "errors exit non-zero" cctl a carp0 vhid 0
after=$(cctl a -j carp0 | sed 's/"state":"[A-Z]*"//g')
check "the config is unchanged after all errors" [ "$before" = "$after" ]

# Privileges: setting needs CAP_NET_ADMIN over the namespace; the pass is
# only shown to such readers.
check_fail_output "nobody cannot set" 'not permitted' \
	ip netns exec a setpriv --reuid=65534 --regid=65534 --clear-groups carpctl carp0 advskew 5
check_fail_output "root of a new user namespace cannot set" 'not permitted' \
	ip netns exec a unshare -Ur carpctl carp0 advskew 5
check_ok_output "nobody can read the status" 'vhid 1 ' \
	ip netns exec a setpriv --reuid=65534 --regid=65534 --clear-groups carpctl carp0
check_ok_output "nobody sees that a pass is set" '"pass_set":true' \
	ip netns exec a setpriv --reuid=65534 --regid=65534 --clear-groups carpctl -j carp0
check_absent "nobody never sees the pass" 'secret' \
	ip netns exec a setpriv --reuid=65534 --regid=65534 --clear-groups carpctl -j carp0
check_ok_output "advskew still 100" 'advskew 100' cctl a carp0

# Statistics.
check_ok_output "stats in netstat's words" 'packets? sent \(IPv4\)' cctl a stats
check_ok_output "per-device stats as JSON" '"opackets":[0-9]+' cctl a -j stats carp0

# Monitor: carpctl monitor and ip monitor link both see a failover.
# a steps aside while b (advskew 0) starts, so b is MASTER and a BACKUP.
ip -n a link set carp0 down
carp_setup b carp0 1 0
check "b becomes MASTER (advskew 0)" wait_for 15 state_is b carp0 master
ip -n a link set carp0 up
cctl a monitor >/tmp/carpctl-monitor 2>&1 &
mon=$!
ip -n a monitor link >/tmp/ip-monitor 2>&1 &
ipmon=$!
nap 2
check "a is BACKUP" wait_for 10 state_is a carp0 backup
ip -n b link set carp0 down
check "a takes over" wait_for 15 state_is a carp0 master
nap 1
kill $mon $ipmon 2>/dev/null; wait $mon $ipmon 2>/dev/null
check_ok_output "carpctl monitor printed the takeover" 'carp0 vhid 1: BACKUP -> MASTER \([a-z-]+\)' \
	cat /tmp/carpctl-monitor
check_ok_output "ip monitor link saw the carrier come up" 'carp0.*LOWER_UP' cat /tmp/ip-monitor
cat /tmp/carpctl-monitor | sed 's/^/#   monitor: /'
rm -f /tmp/carpctl-monitor /tmp/ip-monitor
cleanup_ns

# The events group needs no privilege, and shows only the subscriber's own
# namespace: an unprivileged user's monitor in its own namespaces sees its
# device's state change, and nothing of a change made meanwhile in another
# namespace (which that namespace's own monitor does see: the control).
ctl=$(command -v carpctl)
d=$(mktemp -d)
chmod 777 "$d"
setup_ns hostside
ip -n hostside link add h0 type veth peer name h1
ip -n hostside link set h0 up; ip -n hostside link set h1 up
ip -n hostside addr add 203.0.113.2/24 dev h0
ip -n hostside link add carpH link h0 type carp
cctl hostside carpH vhid 8 pass x
ip -n hostside addr add 203.0.113.1/24 dev carpH
ip -n hostside link set carpH up
cctl hostside monitor >"$d/host" 2>&1 &
hmon=$!
as_nobody unshare -Urn bash -c "
	ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up &&
	ip addr add 198.51.100.2/24 dev v0 && ip link add carpU link v0 type carp &&
	$ctl carpU vhid 7 pass x && ip addr add 198.51.100.1/24 dev carpU && ip link set carpU up || exit 1
	$ctl monitor >$d/uns 2>&1 &
	m=\$!
	read -rt 1 _ <> <(:)
	: >$d/ready
	for i in \$(seq 100); do [ -e $d/done ] && break; read -rt 0.1 _ <> <(:); done
	$ctl carpU state master
	read -rt 1 _ <> <(:)
	kill \$m" &
upid=$!
check "the unprivileged user's monitor runs" wait_for 20 test -e "$d/ready"
cctl hostside carpH state master
nap 1
: >"$d/done"
wait "$upid"
kill "$hmon" 2>/dev/null; wait "$hmon" 2>/dev/null
check_ok_output "an unprivileged monitor sees its own device's state change" \
	'carpU vhid 7: BACKUP -> MASTER' cat "$d/uns"
check_ok_output "the control: the other namespace's monitor saw its change" \
	'carpH vhid 8: BACKUP -> MASTER' cat "$d/host"
check_absent "... which the unprivileged monitor did not" 'carpH' cat "$d/uns"
sed 's/^/#   unprivileged monitor: /' "$d/uns"
rm -rf "$d"
cleanup_ns
