#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The "carp" generic netlink family driven by the kernel tree's YNL cli
# (tools/net/ynl/cli.py) with our spec: set, dump, a policy error and the
# events group. (Few calls: each python start is slow under TCG.)

carp_load
lan_setup h1
carp_setup h1 carp0 7 50

check "dev-set advskew/advbase/pass/state" \
	ynl h1 --do dev-set --json '{"ifname": "carp0", "advskew": 100, "advbase": 2, "pass": "6f74686572", "state": "master"}'
out=$(ynl h1 --dump dev-get | tr -d '\n')
check_output "dump shows vhid, advskew, advbase" "'advbase': 2, +'advskew': 100.*'vhid': 7" echo "$out"
check_output "dump shows the pass to root" "'pass': b'other'" echo "$out"
check_output "dump shows the forced state" "'state': 'master'" echo "$out"
check_output "vhid 256 is refused by the policy" 'out of range' \
	ynl h1 --do dev-set --json '{"ifname": "carp0", "vhid": 256}'
# Events: listen for 60 s while the device goes down and up every 4 s,
# until the listener exits (its start-up time under TCG is unknown).
ynl h1 --subscribe events --sleep 60 >/tmp/ynl-events 2>&1 &
pid=$!
while kill -0 $pid 2>/dev/null; do
	sleep 4
	ip -n h1 link set carp0 down
	ip -n h1 link set carp0 up
done
wait $pid
check_output "events carry state changes with their reason" "'reason': '(stopped|start)'" \
	cat /tmp/ynl-events
rm -f /tmp/ynl-events
cleanup_ns
