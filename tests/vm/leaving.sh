#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A MASTER that stops answering bows out, whichever way it goes: deleted
# (`ip link del`; rmmod and a namespace's exit delete through the same
# dellink), its last address removed, moved to another carpdev, its
# namespace deleted. The backup then takes over at once, by the bow-out,
# not after its master-down interval. advbase 3: master-down is 9.4 s for
# the backup, so a takeover within 3 s can only be the bow-out's; the
# backup's `carpctl monitor` names the reason. The control: a MASTER whose
# carpdev loses its link cannot bow out, and the backup takes over by the
# master-down timer, which the same monitor shows.

tap_plan 18
carp_load

# pair: a fresh LAN, a (advskew 0) forced MASTER, b (advskew 100) BACKUP
# with a monitor writing /tmp/leave-mon.
pair() {
	cleanup_ns
	lan_setup a b || return 1
	ip -n a link add eth1 type veth peer name peer1 &&
		ip -n a link set eth1 up && ip -n a link set peer1 up || return 1
	carp_setup a carp0 1 0 advbase 3 || return 1
	cctl a carp0 state master || return 1
	carp_setup b carp0 1 100 advbase 3 || return 1
	wait_for 10 state_is a carp0 master || return 1
	wait_for 10 state_is b carp0 backup || return 1
	cctl b monitor >/tmp/leave-mon 2>&1 &
	leave_mon=$!
	nap 1
}

# taken_by DESC REASON: b becomes MASTER within 3 s, and the monitor says
# why.
taken_by() {
	local t0
	t0=$(now_ms)
	if wait_for 3 state_is b carp0 master; then
		tap_ok "$1: b takes over within 3 s ($(($(now_ms) - t0)) ms)"
	else
		tap_fail "$1: b takes over within 3 s" "$(cctl b carp0 2>&1)"
	fi
	nap 0.3
	kill "$leave_mon" 2>/dev/null
	wait "$leave_mon" 2>/dev/null
	check_ok_output "$1: ... by the $2" "carp0 vhid 1: BACKUP -> MASTER \\($2\\)" cat /tmp/leave-mon
}

if pair; then tap_ok "pair for ip link del"; else tap_fail "pair for ip link del"; fi
ip -n a link del carp0
taken_by "ip link del on the MASTER" bow-out

if pair; then tap_ok "pair for the last address"; else tap_fail "pair for the last address"; fi
ip -n a addr del 192.0.2.1/24 dev carp0
check_ok_output "a is INIT without addresses" 'carp: INIT ' cctl a carp0
taken_by "the MASTER's last address removed" bow-out

if pair; then tap_ok "pair for a carpdev change"; else tap_fail "pair for a carpdev change"; fi
cctl a carp0 carpdev eth1
check_ok_output "a's carp0 is on eth1" 'carp0@eth1' ip -n a link show carp0
taken_by "the MASTER moved to another carpdev" bow-out

if pair; then tap_ok "pair for the namespace's deletion"; else tap_fail "pair for the namespace's deletion"; fi
ip netns del a
taken_by "the MASTER's namespace deleted" bow-out

# The control: the carpdev loses its link, no bow-out can leave: the
# backup waits for the master-down interval, and the monitor says so.
if pair; then tap_ok "pair for the carpdev's link loss"; else tap_fail "pair for the carpdev's link loss"; fi
ip -n lan link set va down
t0=$(now_ms)
if wait_for 15 state_is b carp0 master; then
	took=$(($(now_ms) - t0))
	tap_ok "the carpdev's link lost: b takes over ($took ms)"
	# (b's timer runs from a's last advertisement, up to one advbase, 3 s,
	# before the link went.)
	check "... not before the master-down interval less one advbase (6.4 s, less 1 s)" \
		[ "$took" -ge 5400 ]
else
	tap_fail "the carpdev's link lost: b takes over"
	tap_fail "... not before the master-down interval less one advbase (6.4 s, less 1 s)"
fi
nap 0.3
kill "$leave_mon" 2>/dev/null
wait "$leave_mon" 2>/dev/null
check_ok_output "... by the master-down timer" 'carp0 vhid 1: BACKUP -> MASTER \(master-down\)' cat /tmp/leave-mon
rm -f /tmp/leave-mon
cleanup_ns
