#!/usr/bin/env bash
# The module's files depend on each other one way only: lists the
# `crate::carp_*` edges between the top-level .rs files and fails on a
# cycle (tsort finds them). With -v, prints the order, lowest layer first.
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
cd "$(dirname "$0")/.."
edges=$(for f in carp_*.rs; do
	m=${f%.rs}
	[ "$m" = carp_sys ] && continue
	grep -o 'crate::carp_[a-z0-9_]*' "$f" | sed 's/crate:://' | sort -u |
		while read -r d; do [ "$d" != "$m" ] && echo "$d $m"; done
	echo "$m $m"
done)
if ! order=$(tsort <<<"$edges" 2>&1) || grep -q 'input contains a loop' <<<"$order"; then
	echo "deps-check: import cycle between the module's files:" >&2
	grep -v '^carp_' <<<"$order" >&2 || true
	tsort <<<"$edges" 2>&1 >/dev/null | sed 's/^/  /' >&2
	exit 1
fi
[ "${1:-}" = -v ] && echo "$order"
exit 0
