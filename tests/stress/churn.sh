#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Churn under traffic: while a and b elect on vhid 1 (advbase 0, skew 20:
# about 12 adverts a second) and a client pings the VIP every 10 ms,
# - carp devices are created, configured, given an address, brought up
#   and deleted (one ip(8) batch per round, with the link_carp.so plugin);
# - carpdevs are deleted under live carp devices, namespaces holding carp
#   devices are deleted, the module is unloaded and loaded with live
#   devices (rmmod deletes them);
# - four processes configure the same devices at once (carpctl, ip link,
#   ip addr, sysctl), with `state master` forced now and then.
# Afterwards the election must still work and every device must go away;
# the harness checks splats (refcount trackers included) and leaks.
# make check: 20 create/delete cycles, 2 of each teardown kind, 10 s of
# concurrent configuration; CARP_STRESS=1: 1000, 100 and 180 s.

# The same checks in both (the counts are inside them).
tap_plan 15
cycles=20 rounds=2 conc=10
[ "${CARP_STRESS:-0}" = 1 ] && cycles=1000 rounds=100 conc=180
ipc() { IP_LIB_DIR="$CARP_IPROUTE2/lib" ip "$@"; }

# The election and the traffic.
lan_setup a b c
carp_setup a carp0 1 20 advbase 0
carp_setup b carp0 1 60 advbase 0
check "the election runs: a is MASTER" wait_for 20 state_is a carp0 master
ip netns exec c ping -q -i 0.01 -W 1 192.0.2.1 >/dev/null 2>&1 &
PING=$!

# 1. create -> configure -> address -> up -> delete, in batches of 10.
t0=$SECONDS
for ((i = 0; i < cycles; i += 10)); do
	for ((j = i; j < i + 10; j++)); do
		v=$((j % 200 + 20))
		echo "link add cc$j link eth0 type carp vhid $v advskew $((j % 250)) pass p$j"
		echo "addr add 203.0.113.$((j % 250 + 1))/24 dev cc$j"
		echo "link set cc$j up"
	done
	for ((j = i; j < i + 10; j++)); do echo "link del cc$j"; done
done | ipc -n a -b - >/tmp/churn.out 2>&1
check "$cycles carp devices created, configured, addressed, up and deleted" \
	[ ! -s /tmp/churn.out ]
echo "# stress: churn: $cycles create/delete cycles in $((SECONDS - t0)) s"
check_absent "none is left" 'cc[0-9]' ip -n a link show type carp

# 2. Teardown kinds with live devices and traffic.
t0=$SECONDS
ok_lower=0 ok_ns=0 ok_mod=0
for ((i = 0; i < rounds; i++)); do
	# A carpdev deleted under two live carp devices.
	ipc -n a -b - <<-EOF && ok_lower=$((ok_lower + 1))
		link add vl type veth peer name vr
		link set vl up
		link set vr up
		link add cl0 link vl type carp vhid 201 pass x
		link add cl1 link vl type carp carpnodes 202:0,203:50 balancing ip pass x
		addr add 198.51.100.1/24 dev cl0
		addr add 198.51.100.2/24 dev cl1
		link set cl0 up
		link set cl1 up
		link del vl
	EOF
	# A namespace deleted with carp devices electing in it.
	ip netns add churn && ipc -n churn -b - <<-EOF && ip netns del churn && ok_ns=$((ok_ns + 1))
		link set lo up
		link add vl type veth peer name vr
		link set vl up
		link set vr up
		link add cn0 link vl type carp vhid 1 advbase 0 advskew 10 pass x
		addr add 198.51.100.1/24 dev cn0
		link set cn0 up
	EOF
done
check "$rounds carpdevs deleted under live carp devices" [ $ok_lower = "$rounds" ]
check "$rounds namespaces deleted with live carp devices" [ $ok_ns = "$rounds" ]
check_absent "no carp device outlived its carpdev" 'cl[01]' ip -n a link show
# rmmod with the election running deletes every carp device; the traffic
# goes on (to nowhere) and the module comes back.
for ((i = 0; i < rounds; i++)); do
	rmmod carp && insmod "$CARP_KO" && ok_mod=$((ok_mod + 1))
done
check "$rounds module unloads and loads with live carp devices and traffic" [ $ok_mod = "$rounds" ]
check "rmmod took the carp devices with it" link_absent a carp0
echo "# stress: churn: $rounds teardowns of each kind (carpdev, namespace, module) in $((SECONDS - t0)) s"
carp_setup a carp0 1 20 advbase 0
carp_setup b carp0 1 60 advbase 0
check "the election resumes after the reloads" wait_for 20 state_is a carp0 master

# 3. Four configurators at once on the same devices, and forced states.
t0=$SECONDS
end=$((SECONDS + conc))
(
	while [ $SECONDS -lt $end ]; do
		carpctl -n b carp0 advskew $((RANDOM % 200 + 30))
		carpctl -n b carp0 state master
		carpctl -n a carp0 pass secret
	done
) >/dev/null 2>&1 &
p1=$!
(
	while [ $SECONDS -lt $end ]; do
		ipc -n b -b - <<-EOF
			link set carp0 down
			link set carp0 up
			link set carp0 type carp advbase 0 advskew $((RANDOM % 200 + 30))
		EOF
	done
) >/dev/null 2>&1 &
p2=$!
(
	while [ $SECONDS -lt $end ]; do
		ip -n b -b - <<-EOF
			addr add 192.0.2.77/24 dev carp0
			addr add 2001:db8::77/64 dev carp0 nodad
			addr del 192.0.2.77/24 dev carp0
			addr del 2001:db8::77/64 dev carp0
		EOF
	done
) >/dev/null 2>&1 &
p3=$!
(
	while [ $SECONDS -lt $end ]; do
		ip netns exec b sh -c 'sysctl -qw net.inet.carp.preempt=1; sysctl -qw net.inet.carp.log=7;
			sysctl -qw net.inet.carp.preempt=0; sysctl -qw net.inet.carp.log=2'
	done
) >/dev/null 2>&1 &
p4=$!
wait $p1 $p2 $p3 $p4
echo "# stress: churn: 4 concurrent configurators for $((SECONDS - t0)) s"
check "b's carp0 still answers carpctl" cctl b carp0
check "b's carp0 has its pass" bash -c "carpctl -n b -j carp0 | grep -q '\"pass_set\":true'"
cctl b carp0 advskew 100
ip -n b link set carp0 up
check "after the storm: a is MASTER again (preempt off, a's skew lower: a takes it when b bows out or b backs off)" \
	wait_for 20 bash -c "carpctl -n b carp0 state backup >/dev/null; ip -n a link show carp0 | grep -q LOWER_UP"
check "the election still works: a MASTER, b BACKUP" \
	bash -c "ip -n a link show carp0 | grep -q LOWER_UP && carpctl -n b carp0 | grep -q 'carp: BACKUP '"
check "the VIP answers" ip netns exec c ping -c 1 -W 2 192.0.2.1
kill $PING 2>/dev/null
wait $PING 2>/dev/null
check "every carp device can be deleted" bash -c \
	"ip -n a link del carp0 && ip -n b link del carp0"
