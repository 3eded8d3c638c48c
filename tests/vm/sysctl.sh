#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# net.inet.carp.allow and net.inet.carp.log per namespace; the log is
# rate-limited, so a user with a namespace of its own (unshare -Urn) who
# raises its log level and sends garbage cannot flood the host's log.

INJECT="$(dirname "${BASH_SOURCE[0]}")/carpinject.py"
tap_plan 29

carp_load
lan_setup a b x
carp_setup a carp0 1 0
carp_setup b carp0 1 100
check "a becomes MASTER" wait_for 15 state_is a carp0 master
check "b is BACKUP" wait_for 10 state_is b carp0 backup

check "allow=0 on b" ip netns exec b sysctl -qw net.inet.carp.allow=0
check "b no longer hears a and takes over" wait_for 10 state_is b carp0 master
check "allow=1 on b" ip netns exec b sysctl -qw net.inet.carp.allow=1
check "b hears a again and steps down" wait_for 10 state_is b carp0 backup

# log: 2 (the default) logs the state changes between BACKUP and MASTER
# (priority crit) but no bad packet; 5 logs a bad TTL (notice). Each "not
# logged" check has its control: the packet arrived (counted), the state
# changed.
badttl() { cctl a -j stats | grep -o '"badttl":[0-9]*' | cut -d: -f2; }
badttl_above() { [ "$(badttl)" -gt "$1" ]; }
check "log is 2 on a (the default)" [ "$(ip netns exec a sysctl -n net.inet.carp.log)" = 2 ]
mark=$(log_mark) n=$(badttl)
check "x sends an advertisement with TTL 64" ip netns exec x python3 -I -S "$INJECT" eth0 badttl
check "a counted its bad TTL" wait_for 5 badttl_above "$n"
check "log=2: a bad TTL is not logged" [ "$(since "$mark" 'received ttl 64')" = 0 ]
check "log=5 on a" ip netns exec a sysctl -qw net.inet.carp.log=5
check "x sends another" ip netns exec x python3 -I -S "$INJECT" eth0 badttl
check "log=5: a bad TTL is logged" wait_for 5 bash -c "dmesg | tail -n +$((mark + 1)) | grep -q 'received ttl 64 != 255 on eth0'"
check "log=2 on a again" ip netns exec a sysctl -qw net.inet.carp.log=2
check "log=0 on b" ip netns exec b sysctl -qw net.inet.carp.log=0
# A handover without INIT (whose transitions are warnings, not logged at
# 2): a's advskew falls behind b's and b preempts; a steps down.
check "preempt on b" ip netns exec b sysctl -qw net.inet.carp.preempt=1
mark=$(log_mark)
check "a's advskew 200 (b's is 100)" cctl a carp0 advskew 200
check "b takes over" wait_for 10 state_is b carp0 master
check "a steps down" wait_for 10 state_is a carp0 backup
check "log=0: b's state change is not logged" [ "$(since "$mark" 'carp0: state transition (vhid 1): BACKUP -> MASTER')" = 0 ]
check "log=2: a's is" [ "$(since "$mark" 'carp0: state transition (vhid 1): MASTER -> BACKUP')" -ge 1 ]
check_fail "log accepts 0..7 only" ip netns exec a sysctl -qw net.inet.carp.log=8
cleanup_ns

# An unprivileged user's own namespaces: it may set log=7 there, but its
# 2000 packets to itself put only a rate-limited few lines in the log.
mark=$(dmesg | wc -l)
check "an unprivileged user sets log=7 and sends 2000 CARP packets to itself" \
	as_nobody unshare -Urn bash -c "ip link set lo up && sysctl -qw net.inet.carp.log=7 &&
		python3 -I -S $INJECT lo flood 2000"
n=$(since "$mark" 'non-carp interface')
echo "# $n log lines for 2000 packets"
check "some are logged" [ "$n" -ge 1 ]
check "at most a rate-limited few ($n <= 30)" [ "$n" -le 30 ]

# Not only packets: every message from an unprivileged user's namespace is
# rate-limited, with a budget of its own. 40 forced state changes there,
# from one process (well within one 5 s interval, or two), leave at most
# two bursts of lines (10 per 5 s); the control, the same 40 in a namespace
# of the initial user namespace, logs each.
flip="python3 -I -S $(readlink -f "$CARPNL") flip carpS 20"
setup_flip() {
	echo "ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up &&
		ip addr add 198.51.100.2/24 dev v0 && ip link add carpS link v0 type carp &&
		C carpS vhid 1 pass x && ip addr add 198.51.100.1/24 dev carpS && ip link set carpS up"
}
ctl=$(command -v carpctl)
setup_ns flip
mark=$(log_mark)
check "40 state changes in a namespace of the initial user namespace" \
	ip netns exec flip bash -c "C() { $ctl \"\$@\"; }; $(setup_flip) && $flip"
nt=$(since "$mark" 'carpS: state transition')
mark=$(log_mark)
check "40 state changes in an unprivileged user's namespace" \
	as_nobody unshare -Urn bash -c "C() { $ctl \"\$@\"; }; $(setup_flip) && $flip"
nu=$(since "$mark" 'carpS: state transition')
echo "# state change lines: $nt trusted, $nu unprivileged"
check "the control: each is logged in the initial user namespace's ($nt >= 40)" [ "$nt" -ge 40 ]
check "an unprivileged user's are rate-limited ($nu <= 20)" [ "$nu" -le 20 ]
cleanup_ns

