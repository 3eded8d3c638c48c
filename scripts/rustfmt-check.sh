#!/usr/bin/env bash
# rustfmt check of the module's Rust files (kernel style, the tree's
# .rustfmt.toml) and of the tools workspace. Prints what it would change.
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/env.sh"
cd "$top"
files=$(ls *.rs | grep -v '_generated\.rs$')
rustfmt --check --edition 2021 --config-path "$KSRC/.rustfmt.toml" $files
(cd tools && cargo fmt --all -- --check)
