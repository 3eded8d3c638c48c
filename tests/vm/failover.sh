#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Failover when the master goes away entirely: its namespace is deleted, or
# the carp module is unloaded (the surviving peer is then ucarp, in another
# process). Each prints its takeover time: master gone -> backup MASTER ->
# the VIP answers ping (scripts/bench.sh collects the "# takeover" lines).

# takeover_ms T0 STATE_CMD...: waits for the new master and the VIP; prints
# "master_ms vip_ms" since T0 (ms), or fails.
takeover() {
	local t0=$1 t1 t2; shift
	wait_for 20 "$@" || return 1
	t1=$(now_ms)
	ip -n lan neigh flush dev br0
	wait_for 10 ip netns exec lan ping -c 1 -W 1 192.0.2.1 || return 1
	t2=$(now_ms)
	echo "$((t1 - t0)) $((t2 - t0))"
}

# 4 + 3 with ucarp (setup.sh installs it: its absence is a failure).
tap_plan 7
carp_load
# Namespace deletion: a (advskew 0) is MASTER, b takes over when a's
# namespace goes away.
lan_setup a b
carp_setup a carp0 1 0
check "a becomes MASTER" wait_for 15 state_is a carp0 master
carp_setup b carp0 1 100
check "b is BACKUP" wait_for 10 state_is b carp0 backup
check "the VIP answers" ip netns exec lan ping -c 1 -W 2 192.0.2.1
t0=$(now_ms)
ip netns del a
if r=$(takeover "$t0" state_is b carp0 master); then
	tap_ok "b takes over when a's namespace is deleted"
	echo "# takeover after netns deletion: master ${r% *} ms, VIP answers ${r#* } ms"
else
	tap_fail "b takes over when a's namespace is deleted"
fi
cleanup_ns

# Module unload: our MASTER disappears with the module; ucarp takes over.
if command -v ucarp >/dev/null; then
	lan_setup a b
	up=/tmp/ucarp-up-$$.sh
	printf '#!/bin/sh\nip addr add "$2"/24 dev "$1"\n' >"$up"
	chmod +x "$up"
	ulog=/tmp/ucarp-$$.log
	carp_setup a carp0 1 0
	check "our carp0 becomes MASTER" wait_for 15 state_is a carp0 master
	ip netns exec b ucarp -i eth0 -s 192.0.2.12 -v 1 -p secret -a 192.0.2.1 -k 100 \
		-u "$up" -d /bin/true >"$ulog" 2>&1 &
	upid=$!
	nap 4
	check "ucarp (advskew 100) runs and is BACKUP" bash -c "kill -0 $upid &&
		grep -q 'Switching to state: BACKUP' '$ulog' && ! grep -q 'Switching to state: MASTER' '$ulog'"
	t0=$(now_ms)
	rmmod carp
	if r=$(takeover "$t0" grep -q 'Switching to state: MASTER' "$ulog"); then
		tap_ok "ucarp takes over when carp.ko is unloaded"
		echo "# takeover after module unload: master ${r% *} ms, VIP answers ${r#* } ms"
	else
		tap_fail "ucarp takes over when carp.ko is unloaded" "$(cat "$ulog")"
	fi
	kill "$upid" 2>/dev/null; wait "$upid" 2>/dev/null
	rm -f "$up" "$ulog"
	cleanup_ns
	carp_load
else
	tap_fail "module unload failover" "ucarp is not installed"
fi
