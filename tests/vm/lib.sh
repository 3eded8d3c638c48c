#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Helpers for carp's VM tests, in the style of tools/testing/selftests/net:
# every test builds its own topology from network namespaces, veth pairs and
# bridges, using documentation address ranges only, and removes it again.
#
# A test file is sourced by vm-run.sh in a subshell; it calls `check` for
# every assertion. Output is TAP: "ok N - ..." / "not ok N - ...".

CARP_TEST_NS=()

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
# and its output (stdout+stderr) matches the extended regex PATTERN.
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

tap_ok() {
	echo "ok - $CARP_TEST: $1"
}

tap_fail() {
	echo "not ok - $CARP_TEST: $1"
	[ -n "${2:-}" ] && sed 's/^/#   /' <<<"$2"
	return 0
}

# setup_ns NAME...: create namespaces with lo up; removed by cleanup_ns.
setup_ns() {
	local ns
	for ns in "$@"; do
		ip netns add "$ns" || return 1
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

# wait_for TIMEOUT_S COMMAND...: poll COMMAND every 0.1 s until it succeeds.
wait_for() {
	local t=$1; shift
	local end=$((SECONDS + t))
	while ! "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.1
	done
}

# link_exists NS DEV
link_exists() {
	ip -n "$1" link show dev "$2" >/dev/null 2>&1
}

link_absent() {
	! link_exists "$@"
}

# The module under test.
carp_load() {
	lsmod | grep -q '^carp ' || insmod "$CARP_KO"
}
carp_unload() {
	! lsmod | grep -q '^carp ' || rmmod carp
}
