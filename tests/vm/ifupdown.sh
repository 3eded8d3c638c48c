#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# carp devices from /etc/network/interfaces stanzas with the carp
# package's ifupdown hook (tools/ifupdown/carp, as if-pre-up.d/carp,
# if-up.d/carp, if-down.d/carp and if-post-down.d/carp), run by Debian's
# ifup/ifdown: hosts a and b bring carp0 up from their stanzas (IPv4 and
# IPv6, pass from a 0600 file on a, inline on b), elect, and take it down
# (a MASTER bows out, the device is deleted); the pass is in no command
# line; changed options apply on the next ifup; a host that returns while
# its inet6 stanza is slow (another hook, a DAD wait) is held down between
# its stanzas and comes back as BACKUP; bad options fail ifup with the
# hook's message and leave no device behind.
# Each ifup/ifdown runs in a mount namespace of its own where /etc/network
# has the hook as the package installs it and no other, the host's
# interfaces file as /etc/network/interfaces (where the hook's ifquery
# reads it), and
# /usr/local/sbin, the first directory of the PATH
# ifupdown gives hooks, holds the carp-enabled ip (scripts/
# build-iproute2.sh) and carpctl through a shim that records each
# command line.

tap_plan 31
carp_load
top=$(cd ../.. && pwd)
w=/tmp/ifud
rm -rf "$w"
mkdir -p "$w/bin" "$w/empty" "$w/state-a" "$w/state-b"
if [ ! -x "${CARP_IPROUTE2:-}/bin/ip" ]; then
	setup_fail "the carp-enabled ip (CARP_IPROUTE2=${CARP_IPROUTE2:-})"
fi
ln -s "$CARP_IPROUTE2/bin/ip" "$w/bin/ip"
cat >"$w/bin/carpctl" <<EOS
#!/bin/sh
printf '%s\n' "carpctl \$*" >>$w/cmdlines
exec $(command -v carpctl) "\$@"
EOS
chmod +x "$w/bin/carpctl"

# /etc/network as the carp package makes it: our hook in if-pre-up.d,
# if-up.d, if-down.d (run before the addresses go, PHASE=pre-down) and
# if-post-down.d, no other hook; and a slow hook of the test's, after
# ours, that stands for a slow inet6 stanza when $w/slow exists: it
# records carp0's link between the stanzas and takes 7 s, more than the
# master-down time (advbase 2: 6 s; advbase 2 also keeps the window
# between ifupdown's link up and the hook's hold, seconds on the debug
# kernel with kmemleak, below the master-down time of a host alone).
mkdir -p "$w/etc-network"
: >"$w/etc-network/interfaces"
for d in pre-up up down post-down; do
	mkdir -p "$w/etc-network/if-$d.d"
	cp "$top/tools/ifupdown/carp" "$w/etc-network/if-$d.d/carp"
done
cat >"$w/etc-network/if-pre-up.d/zz-slow" <<EOS
#!/bin/sh
[ "\$ADDRFAM" = inet6 ] && [ -e $w/slow ] || exit 0
ip -o link show dev "\$IFACE" >>$w/between
sleep 7
EOS
chmod +x "$w/etc-network/if-pre-up.d/zz-slow"
# ifud HOST ifup|ifdown ARGS...: ifupdown in HOST's namespace with
# /tmp/ifud/HOST.interfaces as /etc/network/interfaces and its own state
# directory.
ifud() {
	local h=$1; shift
	unshare -m bash -c '
		w=$1 h=$2; shift
		mount --bind "$w/etc-network" /etc/network &&
		mount --bind "$w/$h.interfaces" /etc/network/interfaces &&
		mount --bind "$w/bin" /usr/local/sbin &&
		exec ip netns exec "$@"' _ "$w" "$h" "$@" \
		--state-dir "$w/state-$h"
}

lan_setup a b
install -m 0600 /dev/null "$w/a.pass"
echo 's3cret word' >"$w/a.pass"
# stanza HOST ADVSKEW PASSLINE: the interfaces file of HOST.
stanza() {
	cat >"$w/$1.interfaces" <<-EOS
		iface carp0 inet static
		    address 192.0.2.1/24
		    carp-dev eth0
		    carp-vhid 1
		    carp-advskew $2
		    carp-advbase 2
		    $3

		iface carp0 inet6 static
		    address 2001:db8::1/64
		    dad-attempts 0
		    carp-dev eth0
		    carp-vhid 1
		    carp-advskew $2
		    carp-advbase 2
		    $3
	EOS
}
stanza a 0 "carp-pass-file $w/a.pass"
stanza b 100 "carp-pass s3cret word"
for h in a b; do
	cctl "$h" monitor >"$w/mon-$h" 2>&1 &
done
nap 1
check "a: ifup carp0" ifud a ifup carp0
check "b: ifup carp0" ifud b ifup carp0
# jqn HOST DEV FILTER: carpctl's JSON of DEV in HOST through jq -e.
jqn() { carpctl -n "$1" -j "$2" | jq -e "$3"; }
check "a: carp0 is a carp device with the stanza's carpdev, vhid and advskew" \
	jqn a carp0 '.carpdev == "eth0" and .vhid == 1 and .advskew == 0'
check "b: the same, advskew 100" jqn b carp0 '.vhid == 1 and .advskew == 100'
check "a and b have the same pass (from a's file, from b's stanza)" bash -c \
	"carpctl -n a -j carp0 | jq -e '.pass == \"s3cret word\"' &&
	 carpctl -n b -j carp0 | jq -e '.pass == \"s3cret word\"'"
check "a: both stanzas' addresses are on carp0" bash -c \
	"ip -n a addr show dev carp0 | grep -q 'inet 192.0.2.1/24' &&
	 ip -n a addr show dev carp0 | grep -q 'inet6 2001:db8::1/64'"
check "a becomes MASTER" wait_for 15 state_is a carp0 master
check "b is BACKUP" wait_for 10 state_is b carp0 backup
check "the VIP answers on IPv4 and IPv6" bash -c \
	"ip netns exec lan ping -c 1 -W 2 192.0.2.1 && ip netns exec lan ping -c 1 -W 2 2001:db8::1"
# masters HOST: how many times HOST's carp0 went to MASTER.
masters() { grep -c -- '-> MASTER' "$w/mon-$1"; }
# The inet6 stanza (with the same carp options, as a user may write them)
# re-applied the same settings: no restart, one election.
check "a went to MASTER once (the second stanza changed nothing)" [ "$(masters a)" = 1 ]
# The hook ran carpctl (the control), never with the pass.
recorded() {
	[ "$(grep -c '^carpctl carp0 .* passfile' "$w/cmdlines")" = 4 ] || { cat "$w/cmdlines"; return 1; }
}
check "the hook configured through carpctl (4 runs recorded)" recorded
check_fail "the pass is in no carpctl command line" grep -q 's3cret' "$w/cmdlines"

# A changed option applies on the next ifup of a device that is down.
stanza b 50 "carp-pass s3cret word"
check "b: ifdown carp0" ifud b ifdown carp0
verbose_up() { ifud b ifup -v carp0 >"$w/verbose" 2>&1; }
check "b: ifup -v carp0 with advskew 50" verbose_up
# ifup -v prints what the hooks do: the carpctl command (the control),
# not the pass.
check "ifup -v shows the hook's carpctl command" grep -q 'carpctl carp0 .* passfile -' "$w/verbose"
check_fail "... and not the pass" grep -q 's3cret' "$w/verbose"
check "b: advskew 50 in force, BACKUP again" wait_for 10 jqn b carp0 '.advskew == 50 and .state == "BACKUP"'
check "a stayed MASTER throughout" [ "$(state_is a carp0 master && masters a)" = 1 ]

# ifdown on the MASTER: it bows out (b takes over without waiting for the
# master-down timer) and the device is deleted.
check "a: ifdown carp0" ifud a ifdown carp0
bowout() {
	wait_for 10 grep -q 'BACKUP -> MASTER (bow-out)' "$w/mon-b" || { cat "$w/mon-b"; return 1; }
}
check "b takes over after a's bow-out" bowout
check "a: carp0 deleted" link_absent a carp0
# a returns with a slow inet6 stanza: held down between its stanzas (an
# IPv4-only carp0 would refuse b's advertisements, whose HMAC covers both
# addresses, and take over after the master-down time), then BACKUP.
m=$(masters a)
touch "$w/slow"
check "a: ifup carp0 again (its inet6 stanza 7 s late)" ifud a ifup carp0
rm -f "$w/slow"
held() { grep -q 'carp0' "$w/between" && ! grep -q '[<,]UP[,>]' "$w/between"; }
check "between a's stanzas carp0 was down ($(cat "$w/between" 2>/dev/null | grep -o '<[^>]*>'))" held
check "a: BACKUP to b" wait_for 10 state_is a carp0 backup
check "... without a turn as MASTER on the way" [ "$(masters a)" = "$m" ]

# Bad stanzas: ifup fails with the hook's message, no device stays.
bad() {
	cat >"$w/b.interfaces" <<-EOS
		iface carp1 inet static
		    address 198.51.100.1/24
		    carp-dev $1
		    $2
	EOS
	ifud b ifup carp1
}
check_fail_output "a misspelt option is refused by name" 'unknown option carp-vhdi' bad eth0 "carp-vhdi 2"
check_fail_output "an out-of-range vhid is refused with carpctl's reason" 'vhid must be 1..255' bad eth0 "carp-vhid 300"
check_fail_output "a missing carp-dev is refused" 'carp-dev eth7: no such interface' bad eth7 "carp-vhid 2"
check "... and none of them left carp1 behind" link_absent b carp1
check "a good carp1 stanza comes up (the control)" bad eth0 "carp-vhid 2"
check "... as configured" jqn b carp1 '.vhid == 2'

pkill -f "carpctl -n [ab] monitor"
