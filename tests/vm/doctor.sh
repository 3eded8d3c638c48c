#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# carpctl doctor on a pair (a preferred), each problem provoked in turn and
# diagnosed in plain words with exit status 1; a healthy pair first (the
# control: no problem, exit 0): a wrong pass (split brain, badauth), an
# address only one host has (named), advbase mismatch, a LAN that drops
# multicast (carppeer suggested), a VRRP router with the same id (the
# shared virtual MAC), a carpdev MTU below IPv6's minimum (IPv6 off on it,
# split brain); the unprivileged told what it needs.

tap_plan 25
carp_load
lan_setup a b c
carp_setup a carp0 1 0
carp_setup b carp0 1 100
check "a is MASTER" wait_for 20 state_is a carp0 master
check "b is BACKUP" wait_for 10 state_is b carp0 backup

# doctor NS: runs carpctl doctor for 3 s; its output in $out, status in $rc.
doctor() { out=$(carpctl -n "$1" doctor -t 3 2>&1); rc=$?; printf '%s\n' "$out" | sed 's/^/#   /'; }

doctor b
check_ok_output "healthy: no problem found, exit 0 (b)" 'no problem found' replay "$rc" "$out"
check_ok_output "... b heard a's advertisements" 'heard: [0-9]+ from 192\.0\.2\.11 \(' replay "$rc" "$out"

# A wrong pass on b: b refuses a's advertisements and becomes MASTER too.
cctl b carp0 pass wrong
check "a wrong pass: b becomes MASTER too" wait_for 15 state_is b carp0 master
doctor b
check_fail_output "b: authentication fails: the pass or the addresses" \
	"192\.0\.2\.11's advertisements for vhid 1 fail authentication \(badauth\): the pass differs" replay "$rc" "$out"
check_output "... and both are MASTER" 'both this host and 192\.0\.2\.11 are MASTER of vhid 1' replay "$rc" "$out"
cctl b carp0 pass secret
check "the pass fixed: b is BACKUP again" wait_for 15 state_is b carp0 backup

# An address only a has: its HMAC covers it, b refuses, b takes over too;
# a hears b and names what b lacks.
ip -n a addr add 192.0.2.5/24 dev carp0
check "an address only on a: b becomes MASTER too" wait_for 15 state_is b carp0 master
doctor a
check_fail_output "a: b's address list lacks 192.0.2.5" \
	'192\.0\.2\.12 advertises vhid 1 with a different address list: it lacks 192\.0\.2\.5' replay "$rc" "$out"
ip -n a addr del 192.0.2.5/24 dev carp0
check "the address removed: b is BACKUP again" wait_for 15 state_is b carp0 backup

# advbase 2 on b, the BACKUP: it hears a's advbase 1.
cctl b carp0 advbase 2
doctor b
check_fail_output "b: the advbase differs" '192\.0\.2\.11 has advbase 1, this host 2' replay "$rc" "$out"
check "... b is still BACKUP (a advertises more often)" state_is b carp0 backup
cctl b carp0 advbase 1

# The LAN drops multicast from a towards b (snooping gone wrong one way):
# b hears nothing and becomes MASTER too; a hears b's advertisements.
ip netns exec lan nft -f - <<-'EOT' || setup_fail "the bridge's multicast filter"
	table bridge nomcast {
		chain forward {
			type filter hook forward priority 0; policy accept;
			iifname "va" ip daddr 224.0.0.18 counter drop
		}
	}
EOT
check "multicast from a dropped: b becomes MASTER too" wait_for 15 bash -c \
	"ip -n b link show carp0 | grep -q LOWER_UP && ip -n a link show carp0 | grep -q LOWER_UP"
doctor a
check_fail_output "a: both MASTER, b does not hear a: carppeer suggested" \
	'both this host and 192\.0\.2\.12 are MASTER of vhid 1: 192\.0\.2\.12 keeps advertising, so it does not hear this host.s advertisements\. The LAN drops multicast from here to it.*carppeer' replay "$rc" "$out"
ip netns exec lan nft delete table bridge nomcast
check "multicast back: b is BACKUP" wait_for 15 state_is b carp0 backup

# A VRRPv2 router (host c) with VRID 1.
ip netns exec c python3 -I -S -c '
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("192.0.2.13"))
p = struct.pack("!BBBBBBH4sII", 0x21, 1, 100, 1, 0, 1, 0, socket.inet_aton("192.0.2.200"), 0, 0)
end = time.time() + 8
while time.time() < end:
    s.sendto(p, ("224.0.0.18", 0))
    time.sleep(0.3)
' &
vr=$!
doctor a
check_fail_output "a: a VRRP router uses VRID 1 (the same virtual MAC)" \
	'a VRRPv2 router \(192\.0\.2\.13\) uses VRID 1 on this LAN: it and vhid 1 share the virtual MAC 00:00:5e:00:01:01' replay "$rc" "$out"
wait "$vr"

# An MTU below IPv6's minimum on b's carpdev: the kernel turns IPv6 off on
# eth0 (carp0 stops at 1280 and keeps its address, mtu.sh), so a's IPv6
# advertisements no longer reach carp0, while its IPv4 ones do (the
# control). (IPv6 only, b would become MASTER: mtu.sh's case.)
# rx FIELD: a counter of b's carp0.
rx() {
	local j
	j=$(cctl b -j stats carp0) && [[ $j =~ \"$1\":([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
}
for h in a b; do ip -n "$h" addr add 2001:db8::1/64 dev carp0 nodad; done
nap 3
check "IPv6 on both, the same address: b is BACKUP (the control)" state_is b carp0 backup
ip -n b link set eth0 mtu 1200
nap 1
v4=$(rx ipackets) v6=$(rx ipackets6)
nap 3
check "b's eth0 at MTU 1200: a's IPv4 advertisements reach b, its IPv6 ones do not" \
	[ "$(rx ipackets)" -gt "${v4:-0}" ] && [ "$(rx ipackets6)" = "${v6:-x}" ]
doctor b
check_fail_output "b: the MTU below IPv6's minimum, and what to do" \
	"eth0's MTU is 1200, below IPv6's minimum of 1280: the kernel turned IPv6 off on eth0, so carp0's IPv6 advertisements are neither sent nor received" replay "$rc" "$out"
# What the doctor says to do.
ip -n b link set eth0 mtu 1500
v6=$(rx ipackets6)
backup_with_v6() {
	state_is b carp0 backup && ip -n b addr show dev carp0 | grep -q 2001:db8::1/64 &&
		[ "$(rx ipackets6)" -gt "${v6:-0}" ]
}
check "the MTU raised, as the doctor says: IPv6 advertisements again, b BACKUP, its address kept" \
	wait_for 15 backup_with_v6
for h in a b; do ip -n "$h" addr del 2001:db8::1/64 dev carp0; done

check_fail_output "unprivileged: told it needs CAP_NET_RAW" 'capturing on eth0 needs CAP_NET_RAW' \
	ip netns exec a setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all carpctl doctor -t 1
check_fail_output "an unknown device" 'doctor: nosuch0: ' cctl a doctor nosuch0
doctor a
check_ok_output "healthy again: no problem found (a)" 'no problem found' replay "$rc" "$out"
check_ok_output "... with the note for a lone MASTER" "no other host's advertisement for vhid 1 seen: normal while the others are BACKUP" replay "$rc" "$out"
