#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Bad input: malformed, short, wrong-version, wrong-TTL, wrong-checksum,
# wrong-HMAC, unknown-vhid and looped-back (own cookie) advertisements
# injected from a raw socket are dropped, each counted in its counter,
# and change no state.

# 2 + 9 counters + 12.
tap_plan 23
INJECT="$(dirname "${BASH_SOURCE[0]}")/carpinject.py"
inject() { ip netns exec x python3 -I -S "$INJECT" eth0 "$@"; }
# stat NAME: a namespace counter of host a, from carpctl -j stats.
stat() { cctl a -j stats | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }

carp_load
lan_setup a x
# A looped-back advertisement has one of a's own addresses as source, which
# Linux drops as a martian before carp sees it; accept_local lets it reach
# carp's own loop detection (the cookie), as a bridged loop would.
ip netns exec a sysctl -qw net.ipv4.conf.eth0.accept_local=1
# advskew 100: a better advertisement would take MASTER away from a.
carp_setup a carp0 1 100
check "a becomes MASTER" wait_for 15 state_is a carp0 master
names="ipackets ipackets6 badttl badsum badver badlen badauth badvhid preempt"
declare -A before
for n in $names; do before[$n]=$(stat "$n"); done
opackets=$(stat opackets)
check "inject ten bad advertisements" inject badttl badsum badver badlen badauth badvhid \
	loop v6badttl v6badsum v6badlen
nap 1
declare -A want=([ipackets]=7 [ipackets6]=3 [badttl]=2 [badsum]=2 [badver]=1 [badlen]=2
	[badauth]=2 [badvhid]=1 [preempt]=0)
for n in $names; do
	got=$(( $(stat "$n") - ${before[$n]} ))
	check "$n counted $got (want ${want[$n]})" [ "$got" = "${want[$n]}" ]
done
check "a is still MASTER" state_is a carp0 master
check "a kept advertising" [ "$(stat opackets)" -gt "$opackets" ]
check_absent "no state change was logged" 'state transition \(vhid 1\): MASTER ->' dmesg
check_ok_output "per-device counters saw the device's drops" '"badauth":2' cctl a -j stats carp0

# The control: a valid, better advertisement (advskew 0, right pass) does
# take MASTER away (then a times out and returns, the injector is silent).
check "inject a valid advertisement with advskew 0" inject good 1 0 secret 192.0.2.1
# (Its BACKUP spell lasts one master-down interval, 3.4 s: read from the
# log rather than polled.)
check "a steps down to BACKUP" wait_for 10 bash -c \
	"dmesg | grep -q 'carp0: state transition (vhid 1): MASTER -> BACKUP'"
check "a takes MASTER back when the injector is silent" wait_for 15 state_is a carp0 master

# Peers that hash the carp interface's link-local address (FreeBSD, older
# OpenBSD: fe80::200:5eff:fe00:101 from the virtual MAC) are verified too,
# although a Linux BACKUP has no link-local address on carp0.
ip -n a addr add 2001:db8::1/64 dev carp0 nodad
check "a is MASTER again with an IPv6 VIP" wait_for 15 state_is a carp0 master
bad=$(stat badauth)
mark=$(dmesg | wc -l)
check "inject an advertisement hashed with the wrong link-local address" \
	inject goodll 1 0 secret 192.0.2.1 2001:db8::1 fe80::1
check "it fails authentication" wait_for 5 bash -c "[ \$(carpctl -n a -j stats | grep -o '\"badauth\":[0-9]*' | cut -d: -f2) -gt $bad ]"
check "inject one hashed with the virtual MAC's link-local address" \
	inject goodll 1 0 secret 192.0.2.1 2001:db8::1 fe80::200:5eff:fe00:101
check "it is accepted: a steps down to BACKUP" wait_for 10 bash -c \
	"dmesg | tail -n +$((mark + 1)) | grep -q 'carp0: state transition (vhid 1): MASTER -> BACKUP'"
cleanup_ns
