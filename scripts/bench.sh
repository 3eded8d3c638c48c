#!/usr/bin/env bash
# `make bench`: takeover times, measured in a VM on the base kernel (qemu
# TCG, so slower than real hardware; compare runs, not absolute values).
# Prints one line per failure kind: master gone -> backup MASTER -> VIP
# answers. The tests assert only generous bounds; the figures are here.
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log=$(mktemp)
KVARIANT=${KVARIANT:-base} CARP_VM_LOG=$log "$here/vm-test.sh" election failover >/dev/null 2>&1 || true
echo "takeover times ($(grep -m1 '^# kernel' "$log" | sed 's/^# //'), qemu TCG):"
grep -E '^# takeover' "$log" | sed 's/^# /  /'
rm -f "$log"
