#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Many addresses on one carp device, from an unprivileged user's own
# namespaces (unshare -Urn): the device's lists are sorted when they
# change and each entry's HMAC is computed once per change, so the cost
# of an address change grows with the list (linearly), never per address
# already there squared, and nothing per advertisement. Review round three
# measured 0.95 s for the first 1 500 addresses and 48.7 s for 3 000 more
# (51x) with the selection sort under the state lock. The figures are
# printed (speed belongs in benchmarks); the checks are that every address
# was taken, the device still works and the addresses were announced at
# most once a second (one NA per address each time), not per change. 150
# then 300 by default (CARP_ADDRS_FIRST, CARP_ADDRS_MORE): on the debug
# kernel under TCG the kernel's own per-address work (a solicited-node
# group each, synced to the carpdev's filter) costs seconds per hundred.

tap_plan 4
carp_load
n1=${CARP_ADDRS_FIRST:-150}
n2=${CARP_ADDRS_MORE:-300}
out=/tmp/addrs-$$.out
as_nobody unshare -Urn bash -c "
	set -e
	ip link set lo up
	ip link add veth0 type veth peer name veth1
	ip link set veth0 up; ip link set veth1 up
	ip addr add 198.51.100.2/24 dev veth0
	ip link add carp0 link veth0 type carp
	$(command -v carpctl) carp0 vhid 1 pass secret
	ip link set carp0 up
	batch() { local i h; for ((i = \$1; i <= \$2; i++)); do printf -v h %x \$i; echo \"addr add 2001:db8:1::\$h/64 dev carp0 nodad\"; done; }
	t0=\${EPOCHREALTIME/./}
	batch 1 $n1 | ip -b -
	$(command -v carpctl) -j carp0 >/dev/null
	t1=\${EPOCHREALTIME/./}
	batch $((n1 + 1)) $((n1 + n2)) | ip -b -
	$(command -v carpctl) -j carp0 >/dev/null
	t2=\${EPOCHREALTIME/./}
	echo \"first \$(( (t1 - t0) / 1000 )) more \$(( (t2 - t1) / 1000 ))\"
	echo \"count \$(ip -6 addr show dev carp0 scope global | grep -c inet6)\"
	for i in \$(seq 1 50); do
		$(command -v carpctl) carp0 | grep -q 'carp: MASTER' && { echo master; break; }
		read -rt 0.2 _ <> <(:) || :
	done
	echo \"na \$(awk '/^Icmp6OutNeighborAdvertisements/ { print \$2 }' /proc/net/snmp6) \$(( (\${EPOCHREALTIME/./} - t0) / 1000000 ))\"
" >"$out" 2>&1
rc=$?
check "an unprivileged user adds $((n1 + n2)) addresses to its carp device (exit $rc)" [ "$rc" = 0 ]
check_ok_output "... every one of them is on the device" "^count $((n1 + n2))\$" cat "$out"
check_ok_output "... and the device still elects itself MASTER" '^master$' cat "$out"
# Each announcement of the addresses (gratuitous ARP, unsolicited NA) is
# one NA per address from the kernel: announced per change, N changes
# would cost N * N / 2 frames; at most once a second, the frames stay
# within (seconds + a few) * N.
read -r _ na secs < <(grep '^na ' "$out")
echo "# unsolicited NAs sent: $na in $secs s for $((n1 + n2)) addresses"
check "the addresses were announced (NAs sent: $na) at most once a second ($(( (secs + 3) * (n1 + n2) )) at most)" \
	[ "${na:-0}" -gt 0 -a "${na:-0}" -le $(( (${secs:-0} + 3) * (n1 + n2) )) ]
if read -r _ a _ b < <(grep '^first' "$out"); then
	echo "# addresses: the first $n1 in $a ms, $n2 more in $b ms ($(awk -v a="$a" -v b="$b" -v n1="$n1" -v n2="$n2" \
		'BEGIN { printf "%.1f", (b / n2) / ((a + 1) / n1) }')x the cost per address)"
fi
sed 's/^/#   /' "$out"
rm -f "$out"
