#!/usr/bin/env bash
# Builds the userspace tools (carpctl) into tools/target/release, where the
# VM tests and the demo find them (the VM sees the host's filesystem).
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../tools"
cargo build --release --locked -q -p carpctl
