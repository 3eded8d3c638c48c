#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# systemd-analyze verify on the units the carp package ships (syntax,
# dependencies, ordering), with the programs they run stubbed in a
# temporary root; any message fails.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/units" "$work/bin"
for p in carpctl carp-netdevs; do
	printf '#!/bin/sh\n' >"$work/bin/$p"
	chmod 755 "$work/bin/$p"
done
for u in tools/systemd/*.service tools/systemd/*.timer; do
	sed -e "s|/usr/sbin/carpctl|$work/bin/carpctl|g" \
		-e "s|/usr/sbin/carp-netdevs|$work/bin/carp-netdevs|g" "$u" >"$work/units/${u##*/}"
done
out=$(cd "$work/units" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no ./*.service ./*.timer 2>&1) || {
	echo "$out"
	exit 1
}
if [ -n "$out" ]; then
	echo "$out"
	exit 1
fi
echo "units-check: $(ls "$work/units" | wc -l) units verified"
