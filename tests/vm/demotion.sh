#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Group failover, carp(4)'s first example: hosts a and b each run carp0 on
# LAN 1 (vhid 1) and carp1 on LAN 2 (vhid 2), a preferred, preempt on.
# When a's LAN 2 interface fails, a demotes its group: carp0 advertises the
# demotion (demote byte, advskew 240) and b takes over carp0 as well, so
# both addresses move together; when the link returns, a takes both back.
# The same when a's LAN 2 interface stays up but its advertisements cannot
# be sent (a qdisc that drops everything): repeated send errors demote.
# And from userspace (carpctl demote, OpenBSD's carpdemote): a demotes its
# group by hand and b takes both over; the kernel's own part adds to it;
# undone, a takes both back; refused out of range, for another group, for
# the unprivileged; the root of a user namespace demotes its own only.

tap_plan 45
carp_load
setup_ns lan1 lan2 a b
for l in lan1 lan2; do
	ip -n "$l" link add br0 type bridge &&
	ip -n "$l" link set br0 up || setup_fail "the bridge of $l"
done
ip -n lan1 addr add 192.0.2.100/24 dev br0
ip -n lan2 addr add 198.51.100.100/24 dev br0
n=1
for h in a b; do
	skew=0; [ "$h" = b ] && skew=100
	ip -n lan1 link add "v$h" type veth peer name eth0 netns "$h" &&
	ip -n lan2 link add "v$h" type veth peer name eth1 netns "$h" &&
	ip -n lan1 link set "v$h" master br0 up &&
	ip -n lan2 link set "v$h" master br0 up &&
	ip -n "$h" addr add 192.0.2.1$n/24 dev eth0 &&
	ip -n "$h" addr add 198.51.100.1$n/24 dev eth1 &&
	ip -n "$h" link set eth0 up &&
	ip -n "$h" link set eth1 up &&
	# Demotion changes are logged from level 3 (err).
	ip netns exec "$h" sysctl -qw net.inet.carp.preempt=1 net.inet.carp.log=3 &&
	ip -n "$h" link add carp0 link eth0 type carp &&
	cctl "$h" carp0 vhid 1 advskew $skew pass g &&
	ip -n "$h" link add carp1 link eth1 type carp &&
	cctl "$h" carp1 vhid 2 advskew $skew pass g &&
	ip -n "$h" addr add 192.0.2.1/24 dev carp0 &&
	ip -n "$h" addr add 198.51.100.1/24 dev carp1 &&
	ip -n "$h" link set carp0 up &&
	ip -n "$h" link set carp1 up || setup_fail "host $h"
	n=$((n + 1))
done
both() { state_is "$1" carp0 "$2" && state_is "$1" carp1 "$2"; }
check "a is MASTER of both" wait_for 20 both a master
check "b is BACKUP of both" wait_for 10 both b backup
ip -n a link set eth1 down
check "a's LAN 2 link fails: b takes carp1 (timeout)" wait_for 15 state_is b carp1 master
check "... and carp0 too, because a demoted its group" wait_for 10 state_is b carp0 master
check_ok_output "a advertises the demotion" '"demote":1' cctl a -j carp0
check "a's carp0 is BACKUP" state_is a carp0 backup
check "the LAN 1 address answers via b" bash -c \
	"ip -n lan1 neigh flush dev br0; ip netns exec lan1 ping -c 1 -W 2 192.0.2.1 >/dev/null &&
	 ip -n lan1 neigh show 192.0.2.1 | grep -q 00:00:5e:00:01:01 && bridge -n lan1 fdb show br br0 | grep -q '^00:00:5e:00:01:01 dev vb '"
ip -n a link set eth1 up
check "the link returns: a takes both back (preempt)" wait_for 15 both a master
check_ok_output "the demotion is gone" '"demote":0' cctl a -j carp0
check "b is BACKUP of both again" wait_for 10 both b backup

# Send errors: every frame a sends on LAN 2 is dropped by its qdisc (the
# link keeps its carrier). After 3 failed advertisements a demotes itself.
m=$(log_mark)
tc -n a qdisc add dev eth1 root pfifo limit 0
check "a's advertisements on LAN 2 fail: b takes carp1" wait_for 15 state_is b carp1 master
check "... and carp0, because send errors demoted a's group" wait_for 10 state_is b carp0 master
check_ok_output "a advertises the demotion" '"demote":1' cctl a -j carp0
check "a's carp1 counts the failed sends" \
	[ "$(ip -n a -s -j link show carp1 | jq '.[0].stats64.tx.dropped')" -ge 3 ]
check "the log says why" [ "$(since "$m" 'carp1: advertisements cannot be sent: demoting')" = 1 ]
check_ok_output "... counted as send errors, not as a carpdev down" \
	'demoted group carp to 1 \(0 carpdev down, 1 with send errors, 0 by userspace\)' dmesg
# Stopping the failing device ends its share of the demotion; the log
# says it stopped, not that its sends work again.
m2=$(log_mark)
ip -n a link set carp1 down
check "stopping the failing carp1 ends the demotion" wait_for 10 bash -c \
	"carpctl -n a -j carp0 | grep -q '\"demote\":0'"
check "the log says carp1 stopped" \
	[ "$(since "$m2" 'carp1: stopped: its send errors no longer demote group carp')" = 1 ]
check "... and does not claim its sends work again" \
	[ "$(since "$m2" 'advertisements are sent again')" = 0 ]
ip -n a link set carp1 up
check "up again on the failing link: demoted again" wait_for 15 bash -c \
	"carpctl -n a -j carp0 | grep -q '\"demote\":1'"
tc -n a qdisc del dev eth1 root
check "sends work again: a takes both back" wait_for 15 both a master
check_ok_output "the demotion is gone" '"demote":0' cctl a -j carp0
check "the log says so" [ "$(since "$m" 'carp1: advertisements are sent again')" = 1 ]

# Demotion from userspace (maintenance): a's group by 50 by hand.
m=$(log_mark)
check_ok_output "carpctl demote: a's group is not demoted" \
	'^carp: carp demote count 0 \(userspace 0, carpdev down 0, send errors 0\)$' cctl a demote
check "carpctl demote carp +50 on a" cctl a demote carp +50
check "b takes both over from the demoted a" wait_for 15 both b master
check_ok_output "a advertises demote 50" '"demote":50' cctl a -j carp0
check_ok_output "... all of it set from userspace" \
	'^\{"demote":50,"demote_down":0,"demote_senderr":0,"demote_user":50,"group":"carp"\}$' \
	cctl a -j demote
check "the log names userspace's part" \
	[ "$(since "$m" 'demoted group carp to 50 (0 carpdev down, 0 with send errors, 50 by userspace)')" = 1 ]
# The kernel's own demotion adds to it.
ip -n a link set eth1 down
check_ok_output "a's LAN 2 link fails too: 51, each part shown" \
	'carp demote count 51 \(userspace 50, carpdev down 1, send errors 0\)' cctl a demote
ip -n a link set eth1 up
check "carpctl demote carp -50 undoes userspace's part" cctl a demote carp -50
check "a takes both back (preempt)" wait_for 15 both a master
check_ok_output "the counter is 0 again" '"demote":0' cctl a -j carp0
cctl a demote carp 30
check_ok_output "carpctl demote carp 30 sets it" '"demote_user":30,' cctl a -j demote
# A device made while the group is demoted starts demoted (the boot
# demotion is set before any device exists); carp0 above is the control.
ip -n a link add carp9 link eth0 type carp &&
	cctl a carp9 vhid 9 pass nine && ip -n a link set carp9 up || setup_fail "carp9"
check_ok_output "a device made while the group is demoted (30) advertises it" \
	'"demote":30' cctl a -j carp9
ip -n a link del carp9
cctl a demote carp 0
check_ok_output "... and 0 clears it" '"demote":0,' cctl a -j demote
# Refused: out of range (the kernel's check: carpctl passes any +-255),
# another group, the unprivileged; nothing changes.
cctl a demote carp 200
check_fail_output "+100 on 200 is refused by the kernel (0..255)" 'would leave 0\.\.255' \
	cctl a demote carp +100
check_fail_output "-201 is refused too" 'would leave 0\.\.255' cctl a demote carp -201
check_fail_output "another group is refused by name" 'no such group' cctl a demote mygroup +1
check_fail_output "nobody cannot demote" 'not permitted' \
	ip netns exec a setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	"$(command -v carpctl)" demote carp +1
check_ok_output "nobody can read it" 'carp demote count 200 ' \
	ip netns exec a setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	"$(command -v carpctl)" demote
check_ok_output "nothing changed after the refusals" '"demote_user":200,' cctl a -j demote
cctl a demote carp 0
# The root of a new user namespace owns the network namespace it makes:
# it demotes there, and cannot demote the namespaces it does not own.
check_fail_output "a user namespace's root cannot demote a's group" 'not permitted' \
	ip netns exec a setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	unshare -Ur "$(command -v carpctl)" demote carp +1
userns_demote() {
	as_nobody unshare -Urn bash -c "
		ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up &&
		ip link add carpU link v0 type carp && $(command -v carpctl) carpU vhid 9 &&
		$(command -v carpctl) demote carp +7 &&
		$(command -v carpctl) -j carpU | grep -o '\"demote\":[0-9]*' | tr '\n' ' ' &&
		$(command -v carpctl) demote"
}
check_ok_output "... and demotes its own: its carp device advertises it" \
	'"demote":7.*carp demote count 7 \(userspace 7' userns_demote
check_ok_output "a's group is untouched by it" '"demote":0,' cctl a -j demote
cleanup_ns
