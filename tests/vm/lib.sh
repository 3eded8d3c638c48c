#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Helpers for carp's VM tests, in the style of tools/testing/selftests/net:
# every test builds its own topology from network namespaces, veth pairs and
# bridges, using documentation address ranges only, and removes it again.
#
# A test file is sourced by vm-run.sh in a subshell; it declares how many
# checks it runs (tap_plan N, near its top) and calls `check` (or one of
# its variants) for every assertion. Output is TAP: "ok - T: ..." /
# "not ok - T: ...".

CARP_TEST_NS=()

# tap_plan N: this file runs N checks (its "ok"/"not ok" lines, not counting
# setup failures); vm-run.sh fails the file when it ran another number. A
# count that depends on the kernel or the environment says so in N
# (tap_plan $((have_x ? 17 : 1))), so a check that does not run cannot pass
# unnoticed.
tap_plan() {
	if [[ ${1:-} =~ ^[0-9]+$ ]]; then
		echo "# tap_plan $CARP_TEST $1"
	else
		tap_fail "tap_plan: '${1:-}' is not a count of checks"
	fi
}

# check DESCRIPTION COMMAND...: run COMMAND, report ok/not ok.
check() {
	local desc=$1; shift
	local out
	if out=$("$@" 2>&1); then
		tap_ok "$desc"
	else
		tap_fail "$desc" "$out"
	fi
}

# check_fail DESCRIPTION COMMAND...: COMMAND must fail.
check_fail() {
	local desc=$1; shift
	local out
	if out=$("$@" 2>&1); then
		tap_fail "$desc" "unexpectedly succeeded: $out"
	else
		tap_ok "$desc"
	fi
}

# check_output DESCRIPTION PATTERN COMMAND...: COMMAND succeeds or fails,
# and its output (stdout+stderr) matches the extended regex PATTERN. Only
# where the exit status says nothing; otherwise check_ok_output or
# check_fail_output, so that the status is never ignored.
check_output() {
	local desc=$1 pat=$2; shift 2
	local out
	out=$("$@" 2>&1)
	if grep -Eq -- "$pat" <<<"$out"; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "output did not match /$pat/: $out"
	fi
}

# check_ok_output DESCRIPTION PATTERN COMMAND...: COMMAND succeeds (exit 0)
# and its output matches PATTERN: where the command's success is part of
# the claim (a read-back, or a checker such as lbcheck.py that exits 1 on
# a mismatch and prints a summary line either way).
check_ok_output() {
	local desc=$1 pat=$2; shift 2
	local out rc
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" != 0 ]; then
		tap_fail "$desc" "the command failed (exit $rc): $out"
	elif grep -Eq -- "$pat" <<<"$out"; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "output did not match /$pat/: $out"
	fi
}

# check_fail_output DESCRIPTION PATTERN COMMAND...: COMMAND fails (non-zero
# exit) with output matching PATTERN: a refusal, with its message.
check_fail_output() {
	local desc=$1 pat=$2; shift 2
	local out
	if out=$("$@" 2>&1); then
		tap_fail "$desc" "unexpectedly succeeded: $out"
	elif grep -Eq -- "$pat" <<<"$out"; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "output did not match /$pat/: $out"
	fi
}

# replay RC WORDS...: prints WORDS (joined by spaces, as echo) and returns
# RC: a command's saved output and exit status, for the checks above
# (out=$(cmd); rc=$?; check_ok_output DESC PAT replay "$rc" "$out"). A
# function: no process start.
replay() {
	local rc=$1
	shift
	printf '%s\n' "$*"
	return "$rc"
}

# check_absent DESCRIPTION PATTERN COMMAND...: COMMAND succeeds and its
# output does not match the extended regex PATTERN (a negative check that
# cannot pass because the command failed).
check_absent() {
	local desc=$1 pat=$2; shift 2
	local out
	if ! out=$("$@" 2>&1); then
		tap_fail "$desc" "the command failed: $out"
	elif grep -Eq -- "$pat" <<<"$out"; then
		tap_fail "$desc" "output matched /$pat/: $out"
	else
		tap_ok "$desc"
	fi
}

# eth_sources PCAP: the Ethernet source of every frame in PCAP, one per
# line; fails on an unreadable or empty capture. (tcpdump: tshark takes
# about ten seconds to start under KASAN and TCG.)
eth_sources() {
	local o
	o=$(tcpdump -r "$1" -e -n 2>/dev/null | awk '{ print $2 }') && [ -n "$o" ] && echo "$o"
}

# carp_adverts PCAP: every CARP advertisement in PCAP (IPv4 and IPv6), one
# per line: "DSTMAC SRC DST TTL VHID" (TTL: the hop limit for IPv6), as
# tcpdump dissects them (-T carp: protocol 112 is VRRP's too). Fails on an
# unreadable capture. (tcpdump: tshark takes about ten seconds to start
# under KASAN and TCG; wire.sh is where tshark dissects our packets.)
carp_adverts() {
	local o
	o=$(tcpdump -r "$1" -e -n -v -T carp 2>/dev/null) || return 1
	awk '
	function flush(  f, g, n, dst, ttl, m, v) {
		if (rec ~ /CARPv2-advertise/) {
			split(rec, f, " ")
			dst = f[4]; sub(/,$/, "", dst)
			ttl = rec; if (!sub(/.*(ttl|hlim) /, "", ttl)) ttl = "?"; sub(/[^0-9].*/, "", ttl)
			m = rec; sub(/: CARPv2-advertise.*/, "", m); n = split(m, g, " ")
			v = rec; sub(/.*vhid=/, "", v); sub(/[^0-9].*/, "", v)
			print dst, g[n - 2], g[n], ttl, v
		}
		rec = ""
	}
	/^[0-9]/ { flush() }
	{ rec = rec " " $0 }
	END { flush() }' <<<"$o"
}

# frames PCAP: the fields of every frame in PCAP the tests check, one line
# per frame (tests/vm/pcapfields.py: "TIME SRCMAC DSTMAC arp OP SHA SPA THA
# TPA", "... carp SRC DST TTL VHID", "... icmp6 TYPE SRC DST TARGET LLADDR",
# ...); fails on an unreadable or empty capture. (Not tshark: it takes
# about ten seconds to start under KASAN and TCG; wire.sh is where tshark
# dissects our packets.)
PCAPFIELDS="$(dirname "${BASH_SOURCE[0]}")/pcapfields.py"
frames() {
	python3 -I -S "$PCAPFIELDS" "$1"
}

# carp_kind NS DEV: DEV exists and is a carp device (ip's JSON).
carp_kind() {
	ip -n "$1" -j -d link show dev "$2" | grep -q '"info_kind":"carp"'
}

# arp_responders NS DEV IP: the distinct MACs answering ARP requests for IP
# sent from DEV (three requests), one per line.
arp_responders() {
	ip netns exec "$1" arping -c 3 -w 4 -I "$2" "$3" 2>/dev/null |
		grep -o '\[[0-9A-Fa-f:]*\]' | tr -d '[]' | tr A-F a-f | sort -u
}

# ndp_responders NS DEV IP6: the distinct MACs in neighbour advertisements
# for IP6 (all of them, not only the first).
ndp_responders() {
	ip netns exec "$1" ndisc6 -m -n -r 3 "$3" "$2" 2>/dev/null |
		grep -io 'Target link-layer address: [0-9a-f:]*' | awk '{print tolower($4)}' | sort -u
}

# one_responder DESC WANT CMD...: exactly one MAC answered, WANT.
one_responder() {
	local desc=$1 want=$2; shift 2
	local got
	got=$("$@")
	if [ "$got" = "$want" ]; then
		tap_ok "$desc"
	else
		tap_fail "$desc" "responders: '${got//$'\n'/, }', want '$want'"
	fi
}

# log_mark: the current kernel log length; since MARK PATTERN counts the
# lines matching PATTERN after it.
# all_match PATTERN TEXT: TEXT has lines and every one matches the
# extended regex PATTERN entirely.
all_match() {
	[ -n "$2" ] && ! grep -Evx -- "$1" <<<"$2"
}

log_mark() { dmesg | wc -l; }
since() { dmesg | tail -n +$(($1 + 1)) | grep -c -- "$2"; }

# CARP_TIMES=1: each result line gets the seconds since the file started
# (where a test spends its time).
CARP_T0=${EPOCHREALTIME/./}
tap_time() {
	[ "${CARP_TIMES:-0}" = 1 ] || return 0
	local us=$((${EPOCHREALTIME/./} - CARP_T0))
	printf ' (at %d.%d s)' $((us / 1000000)) $((us / 100000 % 10))
}

tap_ok() {
	echo "ok - $CARP_TEST: $1$(tap_time)"
}

tap_fail() {
	echo "not ok - $CARP_TEST: $1$(tap_time)"
	[ -n "${2:-}" ] && sed 's/^/#   /' <<<"$2"
	return 0
}

# setup_fail WHAT: a step of the file's topology failed: "not ok - T:
# setup: WHAT", so a half-built topology cannot pass silently. The checks
# after it still run (and show what the failure broke); vm-run.sh does not
# count setup lines against the plan. Returns 1.
setup_fail() {
	tap_fail "setup: $1"
	return 1
}

# setup_ns NAME...: create namespaces with lo up; removed by cleanup_ns.
setup_ns() {
	local ns
	for ns in "$@"; do
		ip netns add "$ns" || { setup_fail "setup_ns $ns"; return 1; }
		ip -n "$ns" link set lo up
		CARP_TEST_NS+=("$ns")
	done
}

cleanup_ns() {
	local ns
	for ns in "${CARP_TEST_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	CARP_TEST_NS=()
}

# nap SECONDS: sleeps without a process start (read's timeout on a pipe
# that never gets data): sleep(1) is a process, and a process start costs
# about 0.4 s under KASAN and TCG, four times the poll interval.
exec {CARP_NAP_FD}<> <(:)
nap() {
	read -rt "$1" -u "$CARP_NAP_FD" _ || :
}

# capturing NS DEV: a packet socket is bound to DEV in NS: a tcpdump started
# in the background captures now (frames sent before would be missed, and a
# check that a frame is absent would pass on them). (ss -H: without it the
# header line alone matched.)
capturing() {
	local s
	s=$(ip netns exec "$1" ss -H -0 -a) && [[ $s == *":$2"[[:space:]]* ]]
}

# listening NS PORT [COUNT]: at least COUNT (1) TCP sockets listen on PORT
# in NS: a server started in the background is ready. (Shell builtins
# apart from ss: it is polled.)
listening() {
	local s l n=0
	s=$(ip netns exec "$1" ss -H -ltn "sport = :$2") || return 1
	while read -r l; do [ -n "$l" ] && n=$((n + 1)); done <<<"$s"
	[ "$n" -ge "${3:-1}" ]
}

# wait_for TIMEOUT_S COMMAND...: poll COMMAND every 0.1 s until it succeeds.
wait_for() {
	local t=$1; shift
	local end=$((SECONDS + t))
	while ! "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $end ] && return 1
		nap 0.1
	done
}

# link_exists NS DEV
link_exists() {
	ip -n "$1" link show dev "$2" >/dev/null 2>&1
}

link_absent() {
	! link_exists "$@"
}

# as_nobody COMMAND...: runs COMMAND as an unprivileged user (uid and gid
# 65534, no capabilities, no supplementary groups).
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"
}

# The module under test.
carp_load() {
	[ -d /sys/module/carp ] || insmod "$CARP_KO" || setup_fail "insmod $CARP_KO"
}
carp_unload() {
	[ ! -d /sys/module/carp ] || rmmod carp
}

CARPNL="$(dirname "${BASH_SOURCE[0]}")/carpnl.py"

# carpnl NS ARGS...: set / show a carp device's IFLA_INFO_DATA over
# rtnetlink (the `ip link` interface), in namespace NS.
carpnl() {
	local ns=$1; shift
	# -I -S: no site imports; python's start-up dominates under KASAN+TCG.
	ip netns exec "$ns" python3 -I -S "$CARPNL" "$@"
}

# cctl NS ARGS...: carpctl in namespace NS (built by scripts/build-tools.sh,
# on PATH in the VM).
# (carpctl -n enters the namespace itself: no ip netns exec, whose mount
# namespace and sysfs remount cost more than carpctl under KASAN and TCG.)
cctl() {
	local ns=$1; shift
	carpctl -n "$ns" "$@"
}

# carp_state NS DEV: prints init|backup|master (the first "state" of
# carpctl's JSON, whose keys are sorted: the first entry's). Shell
# builtins only, as it is polled.
carp_state() {
	local j
	j=$(cctl "$1" -j "$2") || return 1
	[[ $j =~ \"state\":\"([A-Z]+)\" ]] || return 1
	echo "${BASH_REMATCH[1],,}"
}

# state_is NS DEV STATE: MASTER is read from the carrier (fast), the
# others from carpctl.
state_is() {
	if [ "$3" = master ]; then
		local l
		l=$(ip -n "$1" link show dev "$2" 2>/dev/null) && [[ $l == *LOWER_UP* ]]
	else
		[ "$(carp_state "$1" "$2")" = "$3" ]
	fi
}

# lan_setup HOST...: a bridge in namespace "lan" (192.0.2.100/24 on br0)
# and one namespace per host with eth0 on the bridge, 192.0.2.1N/24.
# A failure prints "not ok - T: setup: ..." (setup_fail).
lan_setup() {
	# ip -batch: every process start costs seconds under KASAN and TCG.
	local i=1 h
	{
		echo "netns add lan"
		for h in "$@"; do echo "netns add $h"; done
	} | ip -b - || { setup_fail "lan_setup $*: the namespaces"; return 1; }
	CARP_TEST_NS+=(lan "$@")
	{
		echo "link set lo up"
		echo "link add br0 type bridge"
		echo "link set br0 up"
		echo "addr add 192.0.2.100/24 dev br0"
		echo "addr add 2001:db8::100/64 dev br0 nodad"
		for h in "$@"; do
			echo "link add v$h type veth peer name eth0 netns $h"
			echo "link set dev v$h master br0 up"
		done
	} | ip -n lan -b - || { setup_fail "lan_setup $*: the bridge and its ports"; return 1; }
	for h in "$@"; do
		ip -n "$h" -b - <<-EOF || { setup_fail "lan_setup $*: host $h"; return 1; }
			link set lo up
			addr add 192.0.2.1$i/24 dev eth0
			addr add 2001:db8::1$i/64 dev eth0 nodad
			link set eth0 up
		EOF
		i=$((i + 1))
	done
}

# carp_setup HOST DEV VHID ADVSKEW [extra carpctl settings]: carp device on
# eth0 with VIP 192.0.2.1/24, pass "secret". A failure prints "not ok - T:
# setup: ..." (inside a check: in its details).
carp_setup() {
	local h=$1 dev=$2 vhid=$3 skew=$4; shift 4
	ip -n "$h" link add "$dev" link eth0 type carp &&
	cctl "$h" "$dev" vhid "$vhid" advskew "$skew" pass secret "$@" &&
	ip -n "$h" addr add 192.0.2.1/24 dev "$dev" &&
	ip -n "$h" link set "$dev" up ||
	setup_fail "carp_setup $h $dev $vhid $skew $*"
}

# carp6_pair VHID VIP: carp6 on hosts a (advskew 0) and b (advskew 100),
# IPv6 only, pass "six", not yet up.
carp6_pair() {
	local h
	for h in a b; do
		ip -n "$h" link add carp6 link eth0 type carp &&
		ip -n "$h" addr add "$2/64" dev carp6 nodad || { setup_fail "carp6_pair $*: host $h"; return 1; }
	done
	cctl a carp6 vhid "$1" advskew 0 pass six && cctl b carp6 vhid "$1" advskew 100 pass six ||
		setup_fail "carp6_pair $*: carpctl"
}

# now_ms: wall-clock milliseconds (a builtin: no process start).
now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# ynl NS ARGS...: the kernel tree's YNL cli on our spec, in namespace NS.
YNL_SPEC="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/Documentation/netlink/specs/carp.yaml"
ynl() {
	local ns=$1; shift
	(
		. "$(dirname "$YNL_SPEC")/../../../scripts/env.sh"
		# --no-schema: importing jsonschema costs minutes under KASAN;
		# the spec is validated against the schema by make lint.
		ip netns exec "$ns" python3 "$KSRC/tools/net/ynl/cli.py" --spec "$YNL_SPEC" \
			--no-schema "$@"
	)
}
