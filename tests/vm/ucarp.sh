#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Interoperability with Debian's ucarp: one cluster of our carp device and
# ucarp (same vhid, pass and address), each side master in turn.

UCARP_LOG=/tmp/ucarp-$$.log
UCARP_PID=

ucarp_start() {	# ADVSKEW
	: > "$UCARP_LOG"
	ip netns exec b ucarp -i eth0 -s 192.0.2.12 -v 1 -p secret -a 192.0.2.1 \
		-k "$1" -u /bin/true -d /bin/true >"$UCARP_LOG" 2>&1 &
	UCARP_PID=$!
}
ucarp_stop() {
	[ -n "$UCARP_PID" ] && kill "$UCARP_PID" 2>/dev/null && wait "$UCARP_PID" 2>/dev/null
	UCARP_PID=
}
ucarp_master() {
	grep -q 'MASTER' "$UCARP_LOG" && ! tail -1 "$UCARP_LOG" | grep -q 'BACKUP'
}
# ucarp_backup: running, and BACKUP since it started (never MASTER).
ucarp_backup() {
	kill -0 "$UCARP_PID" 2>/dev/null && grep -q 'Switching to state: BACKUP' "$UCARP_LOG" &&
		! grep -q 'Switching to state: MASTER' "$UCARP_LOG"
}

tap_plan 8
if ! command -v ucarp >/dev/null; then
	echo "not ok - ucarp: ucarp is not installed"
	return 0 2>/dev/null || exit 0
fi

lan_setup a b
ucarp_start 0
check "ucarp (advskew 0) becomes MASTER" wait_for 15 ucarp_master
check "our carp0 (advskew 100) joins" carp_setup a carp0 1 100
nap 5
check "ucarp master: we stay BACKUP (its HMAC verifies)" state_is a carp0 backup
t0=$(now_ms)
ucarp_stop
check "ucarp killed: we take over" wait_for 15 state_is a carp0 master
echo "# takeover from ucarp: $(( $(now_ms) - t0 )) ms"

# Our MASTER with advskew 0, ucarp joins with advskew 100: it stays BACKUP.
cctl a carp0 advskew 0
check "we are MASTER again after the restart" wait_for 15 state_is a carp0 master
ucarp_start 100
nap 6
check "ucarp (advskew 100) runs and stays BACKUP under our MASTER" ucarp_backup
check "we stay MASTER with ucarp present" state_is a carp0 master
# We go down: the bow-out makes ucarp take over.
ip -n a link set carp0 down
check "ucarp takes over when we go down" wait_for 15 ucarp_master
ucarp_stop
sed 's/^/#   ucarp: /' "$UCARP_LOG" | tail -8
rm -f "$UCARP_LOG"
