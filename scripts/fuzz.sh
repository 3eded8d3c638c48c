#!/usr/bin/env bash
# Runs the decoder fuzz target briefly: fuzz.sh [SECONDS]
# cargo fuzz needs nightly features; RUSTC_BOOTSTRAP=1 enables them on the
# machine's stable toolchain.
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
cd "$here/../tools/fuzz"
secs=${1:-20}
mkdir -p corpus/decode
RUSTC_BOOTSTRAP=1 cargo fuzz run decode corpus/decode -- \
	-max_total_time="$secs" -max_len=128 -print_final_stats=1
