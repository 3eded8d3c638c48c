#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# net.inet.carp.allow and net.inet.carp.log per namespace; the log is
# rate-limited, so a user with a namespace of its own (unshare -Urn) who
# raises its log level and sends garbage cannot flood the host's log.

INJECT="$(dirname "${BASH_SOURCE[0]}")/carpinject.py"

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

# log: 2 (default) logs state changes but no bad packet; 5 logs a bad TTL.
mark=$(dmesg | wc -l)
ip netns exec x python3 -I -S "$INJECT" eth0 badttl
nap 1
check "log=2: a bad TTL is not logged" [ "$(since "$mark" 'received ttl 64')" = 0 ]
check "log=5 on a" ip netns exec a sysctl -qw net.inet.carp.log=5
ip netns exec x python3 -I -S "$INJECT" eth0 badttl
check "log=5: a bad TTL is logged" wait_for 5 bash -c "dmesg | tail -n +$((mark + 1)) | grep -q 'received ttl 64 != 255 on eth0'"
check "log=0 on b" ip netns exec b sysctl -qw net.inet.carp.log=0
mark=$(dmesg | wc -l)
ip -n a link set carp0 down
check "b takes over" wait_for 10 state_is b carp0 master
check "log=0: b's state change is not logged" [ "$(since "$mark" 'carp0: state transition (vhid 1): BACKUP -> MASTER')" = 0 ]
check "log=2 (a): a's is" [ "$(since "$mark" 'carp0: state transition (vhid 1): MASTER -> INIT')" -ge 1 ]
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
