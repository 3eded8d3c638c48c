#!/usr/bin/env bash
# The module's files depend on each other one way only, in the layer order
# Documentation/networking/carp-design.rst documents (its "Files" table,
# lowest layer first): every `crate::carp_*` a file names must be listed
# above it, and every carp_*.rs file must be in the table. With -v, prints
# the order. The check itself is checked: a file importing one listed
# below it, or a file missing from the table, must be reported.
#   deps-check.sh [-v] [--self-test]
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
cd "$(dirname "$0")/.."
design=Documentation/networking/carp-design.rst

# The table's first column, in order: ``carp_x.rs``.
order() {
	awk '/^Files$/ { on = 1 } on && /^Objects and lifetimes$/ { exit }
	     on && match($0, /^``carp[a-z0-9_]*\.rs``/) { print substr($0, 3, RLENGTH - 7) }' "$1"
}

# check DESIGN DIR: the violations, one per line, for the files in DIR.
check() {
	local design=$1 dir=$2 layers
	layers=$(order "$design")
	[ "$(wc -l <<<"$layers")" -ge 10 ] || { echo "no Files table in $design"; return; }
	local f m
	for f in "$dir"/carp_*.rs "$dir"/carp.rs; do
		m=$(basename "$f" .rs)
		grep -qx "$m" <<<"$layers" || echo "$m: not in $design's Files table"
	done
	awk 'NR == FNR { rank[$1] = NR; next }
	     FNR == 1 { m = FILENAME; sub(/.*\//, "", m); sub(/\.rs$/, "", m) }
	     {
		s = $0
		while (match(s, /crate::carp_[a-z0-9_]*/)) {
			d = substr(s, RSTART + 7, RLENGTH - 7); s = substr(s, RSTART + RLENGTH)
			if (d != m && (m in rank) && (!(d in rank) || rank[d] > rank[m]))
				print m ": uses " d ", which is listed below it (or not at all)"
		}
	     }' <(echo "$layers") "$dir"/carp_*.rs "$dir"/carp.rs | sort -u
}

if [ "${1:-}" = --self-test ]; then
	# One upward import and one unlisted file, in a copy: both reported.
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	cp carp_*.rs carp.rs "$tmp/"
	echo 'use crate::carp_link;' >>"$tmp/carp_tx.rs"
	: >"$tmp/carp_unlisted.rs"
	out=$(check "$design" "$tmp")
	if grep -q '^carp_tx: uses carp_link' <<<"$out" && grep -q '^carp_unlisted: not in' <<<"$out"; then
		echo "deps-check: self-test: an upward import and an unlisted file are reported"
		exit 0
	fi
	echo "deps-check: self-test failed: $out" >&2
	exit 1
fi
bad=$(check "$design" .)
if [ -n "$bad" ]; then
	echo "deps-check: the module's files break the layer order of $design:" >&2
	sed 's/^/  /' <<<"$bad" >&2
	exit 1
fi
[ "${1:-}" = -v ] && order "$design"
exit 0
