#!/usr/bin/env bash
# make mutants: mutation testing.
# 1. The host core (carp_proto.rs, carp_balance.rs, carp_sha1.rs through
#    tools/carp-core) with cargo-mutants (installed into the cache on first
#    use): caught / missed / unviable / timeouts; the missed ones listed.
# 2. The curated one-line mutations of the kernel glue (tests/mutants/
#    glue.tsv): each applied in turn, the module built for the debug kernel
#    and the VM test file that must catch it run; a mutant survives when
#    that file passes.
# Prints both scores; exits non-zero when a glue mutant survives or a core
# mutant survives that tests/mutants/core-equivalent.tsv does not explain
# (equivalent mutants: the same function, no test can tell).
#   mutants.sh [core|glue|all] [TEST...]   (glue: only the mutants of the
#   named VM test files; CARP_MUTANTS_JOBS: cargo-mutants jobs;
#   CARP_MUTANTS_LIST: another list in glue.tsv's format)
# SPDX-License-Identifier: GPL-2.0
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/env.sh"
what=${1:-all}
shift || true
only=" $* "
MUTANTS_VER=27.1.0
rc=0
read -ra CARP_MUTANTS_ARGS <<<"${CARP_MUTANTS_CORE_ARGS:-}"

core() {
	local have
	# (Run as cargo's subcommand, "cargo-mutants mutants --version"; the
	# bare --version depends on how it decides it was started.)
	have=$("$TOOLS_DIR/bin/cargo-mutants" mutants --version 2>/dev/null ||
		"$TOOLS_DIR/bin/cargo-mutants" --version 2>/dev/null || true)
	if [ "$have" != "cargo-mutants $MUTANTS_VER" ]; then
		echo "mutants: installing cargo-mutants $MUTANTS_VER" >&2
		cargo install --locked --root "$TOOLS_DIR" --version "$MUTANTS_VER" cargo-mutants >&2 || return 1
	fi
	local out=$CACHE_ROOT/mutants-core
	rm -rf "$out"
	echo "== core: cargo mutants on carp-core (the module's protocol files)"
	# carp-core includes the module's files from outside the tools
	# workspace, which cargo-mutants skips: mutate a copy laid out the same
	# way under a workspace root of its own.
	local ws=$CACHE_ROOT/mutants-ws
	rm -rf "$ws"
	mkdir -p "$ws/tools"
	cp "$top"/carp_proto.rs "$top"/carp_balance.rs "$top"/carp_sha1.rs "$ws/"
	cp -r "$top/tools/carp-core" "$ws/tools/"
	rm -rf "$ws/tools/carp-core/target"
	cp "$top/tools/Cargo.lock" "$ws/"
	sed 's|^members = .*|members = ["tools/carp-core"]|' "$top/tools/Cargo.toml" >"$ws/Cargo.toml"
	(cd "$ws" && cargo mutants --package carp-core --output "$out" \
		--jobs "${CARP_MUTANTS_JOBS:-2}" --timeout-multiplier 3 --no-shuffle \
		"${CARP_MUTANTS_ARGS[@]}") | tail -5
	local d=$out/mutants.out
	local caught missed unviable timeout
	caught=$(wc -l <"$d/caught.txt" 2>/dev/null || echo 0)
	missed=$(wc -l <"$d/missed.txt" 2>/dev/null || echo 0)
	unviable=$(wc -l <"$d/unviable.txt" 2>/dev/null || echo 0)
	timeout=$(wc -l <"$d/timeout.txt" 2>/dev/null || echo 0)
	echo "core: $caught caught, $missed missed, $timeout timeouts, $unviable unviable" \
		"(score $(awk -v c="$caught" -v m="$missed" 'BEGIN { if (c + m) printf "%.1f %%", 100 * c / (c + m) }'))"
	# Each survivor: equivalent (tests/mutants/core-equivalent.tsv says
	# why) or unexplained, which fails.
	local line what why unexplained=0
	while IFS= read -r line; do
		what=${line#tools/carp-core/src/../../../}
		why=$(awk -F'\t' -v w="$what" '!/^#/ && $1 == w { print $2; exit }' \
			"$top/tests/mutants/core-equivalent.tsv")
		if [ -n "$why" ]; then
			echo "    equivalent: $line"
		else
			echo "    MISSED: $line"
			unexplained=$((unexplained + 1))
		fi
	done <"$d/missed.txt"
	echo "core: $unexplained unexplained survivors"
	# A run that tested nothing is a failure, not a perfect score
	# (cargo-mutants skips the module's files, which carp-core includes
	# from outside the workspace: known, see building-and-testing.rst).
	if [ $((caught + missed)) = 0 ]; then
		echo "core: no mutant was tested" >&2
		return 1
	fi
	[ "$unexplained" = 0 ]
}

glue() {
	echo "== glue: one-line mutations, each with the VM test that must catch it"
	local n=0 caught=0 file test why old new log
	local list=${CARP_MUTANTS_LIST:-$top/tests/mutants/glue.tsv}
	local unviable=0
	while IFS=$'\t' read -r file test why old new; do
		case $file in ''|'#'*) continue ;; esac
		[ "$only" = "  " ] || [[ $only == *" $test "* ]] || continue
		n=$((n + 1))
		log=$CACHE_ROOT/logs/mutant-$n.log
		mkdir -p "$CACHE_ROOT/logs"
		if ! python3 - "$top/$file" "$old" "$new" <<-'PY'
			import sys
			path, old, new = sys.argv[1], sys.argv[2].replace('\\n', '\n'), sys.argv[3].replace('\\n', '\n')
			s = open(path).read()
			if s.count(old) != 1:
			    sys.exit(f"{path}: the mutant's text occurs {s.count(old)} times, not once")
			open(path + ".mutant-orig", "w").write(s)
			open(path, "w").write(s.replace(old, new))
		PY
		then
			echo "  $n: not applied ($file: $why): the list is stale"
			rc=1
			continue
		fi
		# (Dead code and unused bindings a one-line mutant leaves behind
		# are allowed: a mutant that still does not build is unviable, a
		# stale list, not a catch. The VM gets 15 minutes: a mutant that
		# hangs the kernel is caught without waiting for the suite's
		# timeout.)
		if ! CARP_EXTRA_RUSTFLAGS="-Adead_code -Aunused" "$here/build-module.sh" debug >"$log" 2>&1; then
			echo "  $n: UNVIABLE (does not build): $file: $why (log $log)"
			unviable=$((unviable + 1))
			rc=1
		elif CARP_VM_TIMEOUT=${CARP_VM_TIMEOUT:-900} KVARIANT=debug "$here/vm-test.sh" "$test" >>"$log" 2>&1; then
			echo "  $n: SURVIVED: $file: $why ($test passed; log $log)"
			rc=1
		else
			echo "  $n: caught by $test: $file: $why"
			caught=$((caught + 1))
		fi
		mv "$top/$file.mutant-orig" "$top/$file"
	done <"$list"
	"$here/build-module.sh" debug >/dev/null 2>&1
	echo "glue: $caught of $n mutants caught ($unviable unviable)"
	[ "$caught" = "$n" ] || rc=1
}

trap 'for f in "$top"/*.mutant-orig; do [ -e "$f" ] && mv "$f" "${f%.mutant-orig}"; done' EXIT
case $what in
core) core || rc=1 ;;
glue) glue ;;
all) core || rc=1; glue ;;
*) echo "usage: mutants.sh [core|glue|all]" >&2; exit 2 ;;
esac
exit $rc
