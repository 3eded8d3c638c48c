#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Generates the carp family's uapi header and kernel policy/ops tables from
# Documentation/netlink/specs/carp.yaml with the installed kernel tree's
# ynl-gen-c.py (which also validates the spec against the kernel's
# genetlink schema). --check: fail if the committed files differ.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
gen=$KSRC/tools/net/ynl/ynl-gen-c.py
spec=Documentation/netlink/specs/carp.yaml
# The generator looks for the schema next to the spec's directory.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/Documentation/netlink/specs"
# ...and for a MAINTAINERS file at the top of the tree it names paths from.
touch "$work/MAINTAINERS"
cp "$spec" "$work/$spec"
cp "$KSRC/Documentation/netlink/genetlink-legacy.yaml" "$work/Documentation/netlink/"
out=(include/uapi/linux/carp_genl.h carp_nl_gen.h carp_nl_gen.c)
args=("--mode uapi --header" "--mode kernel --header" "--mode kernel --source")
rc=0
for i in 0 1 2; do
	(cd "$work" && timeout 120 python3 "$gen" ${args[$i]} --spec "$work/$spec" -o "$work/${out[$i]##*/}") >/dev/null
	new=$work/${out[$i]##*/}
	if [ "${1:-}" = --check ]; then
		if ! cmp -s "$new" "${out[$i]}"; then
			echo "${out[$i]} is out of date: run scripts/ynl-regen.sh" >&2
			rc=1
		fi
	else
		cp "$new" "${out[$i]}"
	fi
done
exit $rc
