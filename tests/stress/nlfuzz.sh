#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Netlink fuzzing, from an unprivileged user's own namespaces (unshare
# -Urn: what any local user can reach): random dev-set / dev-get /
# stats-get requests of the carp genetlink family and changelink / newlink
# requests with random carp IFLA_INFO_DATA (tests/stress/nlfuzz.py: types
# and ranges from the YNL spec and the uapi header; wrong types and
# lengths, nested garbage, duplicates, unknown attributes, huge messages).
# Every refused request must leave the configuration as it was, every
# accepted one must show what it set; the harness checks splats and leaks.
# At least 5 % of the requests aimed at the device (dev-set and
# changelink: the ones nlfuzz.py counts as accepted or refused) must be
# accepted, or only the parsers were fuzzed (the full run accepted 10 %).
# make check sends 3000 messages; CARP_STRESS=1 sends 100 000.

tap_plan 2
count=3000
[ "${CARP_STRESS:-0}" = 1 ] && count=100000
top=$(cd "$CARP_STRESS_DIR/../.." && pwd)
fuzz() {
	as_nobody unshare -Urn bash -c "
		ip link set lo up &&
		ip link add eth0 type veth peer name peer0 &&
		ip link add eth1 type veth peer name peer1 &&
		for i in eth0 eth1 peer0 peer1; do ip link set \$i up; done &&
		ip addr add 192.0.2.10/24 dev eth0 &&
		ip link add carp0 link eth0 type carp &&
		carpctl carp0 vhid 1 pass secret &&
		ip addr add 192.0.2.1/24 dev carp0 &&
		ip link set carp0 up &&
		python3 -I $CARP_STRESS_DIR/nlfuzz.py --spec $top/Documentation/netlink/specs/carp.yaml \
			--uapi $top/include/uapi/linux/carp.h --dev carp0 --lowers eth0,eth1 \
			--seed $1 --count $2"
}
out=$(fuzz 1 $count 2>&1)
rc=$?
grep '^nlfuzz:' <<<"$out" | sed 's/^/# stress: /'
check_ok_output "netlink fuzzing as an unprivileged user ($count messages)" ', 0 violations$' \
	replay "$rc" "$(tail -30 <<<"$out")"
acc=0 ref=0
[[ $out =~ nlfuzz:.*\ ([0-9]+)\ accepted,\ ([0-9]+)\ refused ]] && acc=${BASH_REMATCH[1]} ref=${BASH_REMATCH[2]}
check "at least 5 % of its requests to carp0 were accepted ($acc of $((acc + ref)))" \
	[ $((acc + ref)) -gt 0 -a $((acc * 20)) -ge $((acc + ref)) ]
