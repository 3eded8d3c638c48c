#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The "carp" generic netlink family driven by the kernel tree's YNL cli
# (tools/net/ynl/cli.py) with our spec: set, dump, a policy error and the
# events group. (Few calls: each python start is slow under TCG.)

tap_plan 14
carp_load
lan_setup h1
carp_setup h1 carp0 7 50

check "dev-set advskew/advbase/pass/state" \
	ynl h1 --do dev-set --json '{"ifname": "carp0", "advskew": 100, "advbase": 2, "pass": "6f74686572", "state": "master"}'
out=$(ynl h1 --dump dev-get)
rc=$?
out=${out//$'\n'/}
check_ok_output "dump shows vhid, advskew, advbase" "'advbase': 2, +'advskew': 100.*'vhid': 7" replay "$rc" "$out"
check_ok_output "dump shows the pass to root" "'pass': b'other'" replay "$rc" "$out"
check_ok_output "dump shows the forced state" "'state': 'master'" replay "$rc" "$out"
check_fail_output "vhid 256 is refused by the policy" 'out of range' \
	ynl h1 --do dev-set --json '{"ifname": "carp0", "vhid": 256}'
# Out-of-range values straight to the kernel (carpctl refuses them before
# sending): each refused by the policy or the core with its message, the
# configuration unchanged.
before=$(cctl h1 -j carp0)
KSRC=$(. "$(dirname "$YNL_SPEC")/../../../scripts/env.sh" && echo "$KSRC")
out=$(ip netns exec h1 python3 "$(dirname "${BASH_SOURCE[0]}")/ynlraw.py" "$KSRC" "$YNL_SPEC" \
	'{"ifname": "carp0", "vhid": 0}' \
	'{"ifname": "carp0", "advskew": 255}' \
	'{"ifname": "carp0", "advbase": 255}' \
	'{"ifname": "carp0", "balancing": 9}' \
	'{"ifname": "carp0", "state": 7}' \
	'{"ifname": "carp0", "state": 0}' \
	'{"ifname": "carp0", "pass": "3031323334353637383930313233343536373839"}' \
	'{"ifname": "carp0", "advskew": 5, "advbase": 300}' \
	'{"ifname": "carp0", "carpdev": 99999}' \
	'{"ifname": "carp0", "vhid": 3, "node": [{"vhid": 4}]}' \
	'{"ifname": "carp0", "peer6": "c0000201"}' \
	'{"ifname": "carp0", "peer6": "ff020000000000000000000000000012"}' 2>&1)
rc=$?
echo "$out" | sed 's/^/# raw: /'
check "all twelve raw requests were refused (ynlraw.py exit $rc)" [ "$rc" = 0 -a "$(grep -c '^error' <<<"$out")" = 12 ]
check_ok_output "... vhid 0 by its range" 'out of range|vhid' sed -n 1p <<<"$out"
check_ok_output "... state init by the core" 'state must be backup or master' sed -n 6p <<<"$out"
check_ok_output "... a 20-byte pass" 'pass|out of range|long' sed -n 7p <<<"$out"
check_ok_output "... a good advskew with a bad advbase: all of it" 'advbase|out of range' sed -n 8p <<<"$out"
check_ok_output "... a 4-byte IPv6 peer by the policy" 'policy|Invalid|length' sed -n 11p <<<"$out"
check_ok_output "... a multicast IPv6 peer by the core" 'carppeer must be a unicast IPv6 address' sed -n 12p <<<"$out"
check "the configuration is unchanged" [ "$(cctl h1 -j carp0)" = "$before" ]
# Events: the listener subscribes, listens for 10 s and prints what it
# got; the device goes down and up every 2 s until the listener exits
# (whenever its start-up under TCG ends, 10 s of toggles follow).
ynl h1 --subscribe events --sleep 10 >/tmp/ynl-events 2>&1 &
pid=$!
while kill -0 $pid 2>/dev/null; do
	nap 2
	ip -n h1 link set carp0 down
	ip -n h1 link set carp0 up
done
wait $pid
rc=$?
check_ok_output "events carry state changes with their reason" "'reason': '(stopped|start)'" \
	replay "$rc" "$(</tmp/ynl-events)"
rm -f /tmp/ynl-events
cleanup_ns
