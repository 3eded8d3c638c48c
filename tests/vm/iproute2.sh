#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# ip(8) configures and shows carp devices: the installed ip with the
# link_carp.so plugin ($IP_LIB_DIR), and a complete ip built from the same
# iproute2 source with iplink_carp.c built in (scripts/build-iproute2.sh).
# Create and change with ip only, read back in text and JSON and compare
# with carpctl, every invalid value refused with nothing changed, the pass
# never shown, an election and failover configured with ip only, and no
# change by an unprivileged user.

# 55 checks per variant (plugin, built-in ip); without the plugin (a
# failed build) the one below.
tap_plan 110
carp_load
if [ ! -f "${CARP_IPROUTE2:-}/lib/link_carp.so" ]; then
	tap_fail "iproute2: link_carp.so was built" "CARP_IPROUTE2=${CARP_IPROUTE2:-} (scripts/build-iproute2.sh)"
	return 0 2>/dev/null || exit 0
fi

# jq_path KEY: a.1.b as the jq path .a[1].b
jq_path() { sed -E 's/\.([0-9]+)/[\1]/g; s/^/./' <<<"$1"; }
# json_field NS DEV KEY: a value of IFLA_INFO_DATA from ip -j -d, parsed
# (jq: a python start costs seconds under KASAN and TCG).
json_field() {
	ipc -n "$1" -j -d link show "$2" | jq -e -c -r \
		".[0].linkinfo | if .info_kind == \"carp\" then .info_data else error(\"not carp\") end | $(jq_path "$3")"
}
# ctl NS DEV KEY: the same value from carpctl's JSON.
ctl() {
	cctl "$1" -j "$2" | jq -e -c -r "$(jq_path "$3")"
}
# fields NS DEV PATH...: "PATH ip-value carpctl-value" for each path (a.1.b
# is .a[1].b) of IFLA_INFO_DATA, from one ip -j -d, one carpctl -j and one
# jq: a process start costs about half a second under KASAN and TCG.
fields() {
	local ns=$1 dev=$2 ipj cj
	shift 2
	ipj=$(ipc -n "$ns" -j -d link show "$dev") && cj=$(cctl "$ns" -j "$dev") || return 1
	jq -n -r --argjson ip "$ipj" --argjson c "$cj" --args '$ARGS.positional[] as $p |
		($p | split(".") | map(tonumber? // .)) as $k |
		($ip[0].linkinfo | if .info_kind == "carp" then .info_data else error("not carp") end) as $d |
		def val(w): getpath($k) | if . == null then "(missing-in-\(w))" else tostring end;
		"\($p) \($d | val("ip")) \($c | val("carpctl"))"' "$@"
}
# check_fields DESC NS DEV PATH...: each path reads the same in ip's JSON
# and carpctl's (one check per path, and one that all were read).
check_fields() {
	local desc=$1 ns=$2 dev=$3 out k x y
	shift 3
	out=$(fields "$ns" "$dev" "$@")
	check "$desc: ip and carpctl read ($*)" [ "$(grep -c . <<<"$out")" = $# ]
	while read -r k x y; do
		check "$desc: JSON $k equals carpctl's ($y)" [ "$x" = "$y" ]
	done <<<"$out"
}
# config NS DEV: the configuration (carpctl's view, the pass included for
# root), without the state that elections change.
config() { cctl "$1" -j "$2" | sed 's/"state":"[A-Z]*"//g'; }

# ip_outputs NS: everything ip shows about the namespace's links.
ip_outputs() {
	ipc -n "$1" -d link show && ipc -n "$1" -j -d link show && ipc -n "$1" -s -d -j link show
}
# one_line NS DEV: ip -d link show on one line.
one_line() { ipc -n "$1" -d link show "$2" | tr '\n' ' '; }

suite() {	# VARIANT
	local v=$1
	lan_setup a b
	check "$v: ip link add ... type carp vhid 1 advskew 0 advbase 1 pass secret" \
		ipc -n a link add carp0 link eth0 type carp vhid 1 advskew 0 advbase 1 pass secret
	check "$v: the same on b with advskew 100" \
		ipc -n b link add carp0 link eth0 type carp vhid 1 advskew 100 pass secret
	check_ok_output "$v: ip -d link shows the carp line" \
		'carp (INIT|BACKUP|MASTER) vhid 1 advbase 1 advskew 0 balancing none demote 0' \
		ipc -n a -d link show carp0
	check_fields "$v" a carp0 vhid advskew advbase balancing
	check_ok_output "$v: carpctl sees the pass set by ip" '"pass":"secret"' cctl a -j carp0
	for h in a b; do
		ipc -n "$h" addr add 192.0.2.1/24 dev carp0
		ipc -n "$h" link set carp0 up
	done
	check "$v: a becomes MASTER" wait_for 15 state_is a carp0 master
	check "$v: b is BACKUP" wait_for 10 state_is b carp0 backup
	check_fields "$v" a carp0 state
	check_absent "$v: the pass is in no ip output" 'secret' ip_outputs a

	# Changes: only the given attributes change.
	before=$(config a carp0)
	check "$v: ip link set carp0 type carp advskew 20" ipc -n a link set carp0 type carp advskew 20
	check "$v: advskew changed" [ "$(ctl a carp0 advskew)" = 20 ]
	check "$v: nothing else did" [ "$(config a carp0 | sed 's/"advskew":20/"advskew":0/g')" = "$before" ]
	check "$v: carppeer" ipc -n a link set carp0 type carp carppeer 192.0.2.12
	check "$v: carppeer reads back" [ "$(json_field a carp0 carppeer)" = 192.0.2.12 ]
	check "$v: an IPv6 carppeer" ipc -n a link set carp0 type carp carppeer 2001:db8::12
	check "$v: it reads back, the IPv4 one kept" \
		[ "$(json_field a carp0 carppeer6) $(json_field a carp0 carppeer)" = "2001:db8::12 192.0.2.12" ]
	check "$v: carpctl shows it" [ "$(ctl a carp0 carppeer6)" = 2001:db8::12 ]
	check "$v: nocarppeer" ipc -n a link set carp0 type carp nocarppeer
	check_absent "$v: carppeer is gone (both families)" 'carppeer' ipc -n a -d link show carp0
	check "$v: state backup" ipc -n a link set carp0 type carp state backup
	check "$v: a is BACKUP (forced)" wait_for 5 state_is a carp0 backup

	# carpnodes, one line per entry.
	check "$v: carpnodes 5:0,6:100 balancing arp" \
		ipc -n a link add carp1 link eth0 type carp carpnodes 5:0,6:100 balancing arp pass lb
	check_ok_output "$v: one line per carpnode" 'carpnode state [A-Z]+ vhid 5 advskew 0 .*carpnode state [A-Z]+ vhid 6 advskew 100' \
		one_line a carp1
	check_fields "$v" a carp1 carpnodes.0.vhid carpnodes.1.vhid carpnodes.1.advskew balancing
	check "$v: JSON balancing" [ "$(json_field a carp1 balancing)" = arp ]

	# Invalid values: ip's own error before sending, or the kernel's
	# extack message; nothing changes.
	before=$(config a carp0)
	check_fail_output "$v: vhid 0" 'vhid must be 1-255' ipc -n a link set carp0 type carp vhid 0
	check_fail_output "$v: vhid 256" 'vhid must be 1-255' ipc -n a link set carp0 type carp vhid 256
	check_fail_output "$v: advskew 255" 'advskew must be 0-254' ipc -n a link set carp0 type carp advskew 255
	check_fail_output "$v: advbase 255" 'advbase must be 0-254' ipc -n a link set carp0 type carp advbase 255
	check_fail_output "$v: a 20-byte pass" 'at most 19 bytes' ipc -n a link set carp0 type carp pass 01234567890123456789
	check_fail_output "$v: carpnodes syntax" 'VHID:ADVSKEW' ipc -n a link set carp0 type carp carpnodes 1-0
	check_fail_output "$v: 33 carpnodes" 'at most 32' ipc -n a link set carp0 type carp carpnodes \
		"$(seq -s, 1 33 | sed 's/\([0-9]*\)/\1:0/g')"
	check_fail_output "$v: duplicate carpnodes (the kernel says)" 'duplicate vhid' \
		ipc -n a link set carp0 type carp carpnodes 1:0,1:5
	check_fail_output "$v: balancing with one node (the kernel says)" 'at least two carpnodes' \
		ipc -n a link set carp0 type carp balancing ip
	check_fail_output "$v: an unknown mode" 'balancing must be' ipc -n a link set carp0 type carp balancing fair
	check_fail_output "$v: a multicast carppeer" 'must be a unicast address' ipc -n a link set carp0 type carp carppeer 224.0.0.1
	check_fail_output "$v: a multicast IPv6 carppeer" 'must be a unicast address' ipc -n a link set carp0 type carp carppeer ff02::12
	check_fail_output "$v: state init" 'master or backup' ipc -n a link set carp0 type carp state init
	check_fail_output "$v: an unknown word" 'unknown option "bogus"' ipc -n a link set carp0 type carp bogus 1
	check "$v: the configuration is unchanged" [ "$(config a carp0)" = "$before" ]
	check_ok_output "$v: ip link help carp prints the syntax" 'carpnodes VHID:ADVSKEW' ipc link help carp

	# Failover configured with ip only; no change by nobody.
	check "$v: state master on a again" ipc -n a link set carp0 type carp state master advskew 0
	check "$v: a is MASTER" wait_for 10 state_is a carp0 master
	ipc -n a link set carp0 down
	check "$v: b takes over when a goes down" wait_for 10 state_is b carp0 master
	check_fail_output "$v: an unprivileged ip link set is refused" 'not permitted' \
		ip netns exec b setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		env IP_LIB_DIR="$pub/lib" "$ipbin" link set carp0 type carp advskew 7
	check "$v: ... and changed nothing" [ "$(ctl b carp0 advskew)" = 100 ]
	cleanup_ns
}

# A copy the unprivileged user can read (the cache is in root's home).
pub=$(mktemp -d)
cp -r "$CARP_IPROUTE2/lib" "$CARP_IPROUTE2/bin" "$pub/"
chmod -R a+rX "$pub"
ipbin=ip
ipc() { IP_LIB_DIR="$CARP_IPROUTE2/lib" ip "$@"; }
suite plugin
ipbin=$pub/bin/ip
ipc() { "$CARP_IPROUTE2/bin/ip" "$@"; }
suite "built-in ip"
rm -rf "$pub"
