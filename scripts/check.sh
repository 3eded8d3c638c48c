#!/usr/bin/env bash
# The test suite. `check.sh all` is `make check`: host tests, fuzzing,
# lints, module builds (ours and Debian's kernel), and the VM tests on the
# $KVARIANT kernel (debug for make check) plus a slice on Debian's. Its last line is "N passed, N failed[, N skipped]" and it
# exits non-zero on any failure.
#   check.sh host | lint | fuzz | vm [TEST...] | all
# SPDX-License-Identifier: GPL-2.0
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/env.sh"
variant=${KVARIANT:-base}
logdir=${CARP_LOG_DIR:-$CACHE_ROOT/logs}
mkdir -p "$logdir"
passed=0 failed=0 skipped=0

pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# step NAME COMMAND...: one pass/fail entry, log kept on failure
# ($logdir/NAME.ok marks a pass for the steps after it).
step() {
	local name=$1; shift
	local log=$logdir/$name.log
	rm -f "$logdir/$name.ok"
	if "$@" >"$log" 2>&1; then
		pass "$name"
		: >"$logdir/$name.ok"
	else
		fail "$name (log: $log)"
		tail -40 "$log" | sed 's/^/    /'
	fi
}

host_tests() {
	local log=$logdir/host-test.log
	echo "== host tests (cargo test)"
	(cd "$top/tools" && cargo test --workspace --release 2>&1) | tee "$log" |
		grep -E '^test result|FAILED|panicked' | sed 's/^/    /'
	local p f
	p=$(grep -Eo '[0-9]+ passed' "$log" | awk '{s+=$1} END {print s+0}')
	f=$(grep -Eo '[0-9]+ failed' "$log" | awk '{s+=$1} END {print s+0}')
	if ! grep -q '^test result' "$log" || grep -q '^error' "$log"; then
		fail "host tests did not build or run (log: $log)"
		tail -30 "$log" | sed 's/^/    /'
	fi
	passed=$((passed + p)); failed=$((failed + f))
	echo "    host tests: $p passed, $f failed"
}

lints() {
	echo "== lints"
	step module-build "$here/build-module.sh" "$variant"
	step module-clippy "$here/build-module.sh" lint "$variant"
	step tools-clippy bash -c "cd '$top/tools' && cargo clippy --workspace --all-targets -- -D warnings"
	step rustfmt "$here/rustfmt-check.sh"
	# The layer order of carp-design.rst (build-module.sh lint checks the
	# tree): the check reports an upward import and an unlisted file.
	step deps-check-faults "$here/deps-check.sh" --self-test
	step frame-size "$here/frame-check.sh"
	step ynl-generated "$here/ynl-regen.sh" --check
	# The systemd units the package ships: systemd-analyze verify.
	step systemd-units "$here/units-check.sh"
	# The alert rules: valid, and each fires on what it should and not on
	# its control (tools/prometheus/carp.rules.test.yml).
	step prometheus-rules bash -c "cd '$top/tools/prometheus' &&
		promtool check rules carp.rules.yml && promtool test rules carp.rules.test.yml"
	# Debian's stock kernel: carp.ko built for it (the build checks struct
	# layouts against its BTF and the result with debian-ko-check.py), and
	# each of those checks can fail.
	step module-debian "$here/build-module.sh" debian
	step debian-ko-check-faults debian_ko_check_faults
	step debian-layout-faults debian_layout_faults
	# The Debian packages (make deb): built, and lintian reports no error.
	step deb "$here/build-deb.sh"
	# carp-dkms's build on the host: it links carp.ko for the next Debian
	# kernel of the kind and refuses one its prebuilt Rust side does not
	# fit (make deb-test runs it on a booted machine).
	step dkms-build "$here/dkms-check.sh"
	# The shell and Python scripts parse (the bench and stress scripts run
	# only in make bench / make stress; their slices in the VM suite).
	step scripts-syntax bash -c "cd '$top' && for f in scripts/*.sh tests/*/*.sh; do bash -n \"\$f\" || exit 1; done &&
		for f in tools/ifupdown/carp tools/systemd/carp-netdevs tools/packaging/carp-reload tools/dkms/carp-dkms-build tools/dkms/kernel-hook debian/*.postinst debian/postinst.*; do sh -n \"\$f\" || exit 1; done &&
		python3 -c 'import ast, sys; [ast.parse(open(f).read(), f) for f in sys.argv[1:]]' scripts/*.py tests/*/*.py"
}

debian_ko_check_faults() {
	local kdir
	kdir=$("$here/build-kernel.sh" debian) &&
		"$here/debian-ko-check-test.py" "$top/carp-debian.ko" "$kdir/headers" \
			"$(find "$kdir/image/lib/modules" -name 'veth.ko*' -print -quit)"
}
debian_layout_faults() {
	local kdir
	kdir=$("$here/build-kernel.sh" debian) &&
		"$here/debian-layout-check.py" "$CACHE_ROOT/module-$(basename "$kdir")/carp_rs.o" \
			"$kdir/headers/vmlinux" --self-test
}

fuzz() {
	echo "== fuzz (brief)"
	step fuzz-decoder "$here/fuzz.sh" "${CARP_FUZZ_SECONDS:-20}"
}

# lints_and_fuzz: the lints, with the brief fuzzing run beside them (it
# keeps one core busy for its time; the lints' builds are mostly one
# rustc at a time). The fuzzing result is reported after the lints'.
lints_and_fuzz() {
	local pid log=$logdir/fuzz-decoder.log
	"$here/fuzz.sh" "${CARP_FUZZ_SECONDS:-20}" >"$log" 2>&1 &
	pid=$!
	lints
	echo "== fuzz (brief, beside the lints)"
	if wait "$pid"; then
		pass fuzz-decoder
	else
		fail "fuzz-decoder (log: $log)"
		tail -40 "$log" | sed 's/^/    /'
	fi
}

vm_tests() {
	vm_tests_on "$variant" "$@"
}

# vm_tests_on VARIANT [TEST...]: the VM suite (or the files named) on a kernel.
vm_tests_on() {
	local variant=$1; shift
	echo "== VM tests ($variant kernel${1:+: $*})"
	local log=$logdir/vm-$variant.log rc
	rm -f "$log"
	KVARIANT=$variant CARP_VM_SKIP=${vm_skip:-} CARP_KMEMLEAK=${kmemleak:-${CARP_KMEMLEAK:-1}} \
		"$here/vm-test.sh" "$@" >"$log" 2>&1
	rc=$?
	grep -E '^(not )?ok |^# test .* took' "$log" | sed 's/^/    /'
	grep -E '^#   ' "$log" | head -150
	local p f
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	passed=$((passed + p)); failed=$((failed + f))
	if [ "$p" -eq 0 ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
		fail "VM tests did not run to the end (exit $rc, log: $log)"
		tail -40 "$log" | sed 's/^/    /'
	fi
	# The suite's cost: its total and the slowest files.
	awk '/^# test [^ ]+ took/ { printf "%s %.0f\n", $3, $5 }' "$log" | sort -k2,2nr >"$logdir/vm-times"
	echo "    VM test files: $(awk '{ s += $2 } END { print s + 0 }' "$logdir/vm-times") s of VM time in all; slowest:"
	head -5 "$logdir/vm-times" | sed 's/^/      /'
}

# setup: scripts/setup.sh, its progress on the terminal; a failure counts
# (everything after it would run on a half-installed machine).
setup() {
	if "$here/setup.sh"; then pass setup; else fail "setup (scripts/setup.sh)"; fi
}

# phase NAME FUNCTION...: runs a phase and records its wall-clock time.
phases=()
phase() {
	local name=$1 t0; shift
	t0=$(date +%s)
	"$@"
	phases+=("$name $(( $(date +%s) - t0 ))")
}

what=${1:-all}; shift || true
case $what in
host) host_tests ;;
lint) lints ;;
fuzz) fuzz ;;
vm) vm_tests "$@" ;;
all)
	start=$(date +%s)
	phase "setup" setup
	phase "kernel ($variant)" step "kernel-$variant" "$here/build-kernel.sh" "$variant"
	phase "host tests" host_tests
	phase "lints and fuzz" lints_and_fuzz
	# Every VM test file runs once, on one of two kernels (each whole
	# suite: make vm-test KVARIANT=debug|debian). The files whose subject
	# is a userspace program driving the module (ip's plugin, YNL's cli,
	# tshark's dissector, ucarp, ifupdown, networkd, the bench scripts)
	# run on Debian's own kernel, in a third of their debug-kernel time,
	# with stock.sh (the module as installed there); every other file on
	# the debug kernel (KASAN, lockdep, UBSAN, debug objects), where the
	# kernel paths those programs reach run too. kmemleak is switched off
	# at boot here (kmemleak=off: about a third of the suite's time);
	# .ci/run runs the whole suite on the debug kernel with it after make
	# check, and make stress runs with it.
	on_debian="stock bench-smoke iproute2 ynl wire ucarp ifupdown netdevs hooks metrics track doctor"
	if [ $# -eq 0 ]; then
		vm_skip=$on_debian kmemleak=0 phase "VM tests ($variant, kmemleak off)" vm_tests
		# shellcheck disable=SC2086 # a list of names
		phase "VM tests (debian: userspace peers)" vm_tests_on debian $on_debian
	else
		phase "VM tests ($variant)" vm_tests "$@"
	fi
	echo "== time per phase (wall clock)"
	for p in "${phases[@]}"; do printf '    %-22s %5s s\n' "${p% *}" "${p##* }"; done
	echo "== done in $(( $(date +%s) - start )) s"
	;;
*) echo "usage: $0 host|lint|fuzz|vm [TEST...]|all" >&2; exit 2 ;;
esac

if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
