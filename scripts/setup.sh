#!/usr/bin/env bash
# Install everything the project needs on a fresh Debian 12 machine.
# Idempotent and quick when everything is already there.
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

# Pinned Debian packages: the kernel and the Rust toolchain must be one exact
# version, because the kernel build cache is keyed by them.
PINNED=(
	"linux-source-6.12=$KVER_DEB"
	"rustc-web=$RUSTC_WEB_VER"
	"rust-web-src=$RUSTC_WEB_VER"
	"libstd-rust-web-dev=$RUSTC_WEB_VER"
	"rust-web-clippy=$RUSTC_WEB_VER"
	"clang-19=$LLVM_VER" "lld-19=$LLVM_VER" "llvm-19=$LLVM_VER"
	"libclang-19-dev=$LLVM_VER"
)
# Unpinned tools (any bookworm version works).
PLAIN=(flex bison bc libelf-dev libssl-dev cpio kmod zstd xz-utils make
       qemu-system-x86 iproute2 iputils-ping tshark ucarp python3-venv
       python3-yaml python3-jsonschema procps util-linux bridge-utils
       libpcap0.8 tcpdump ethtool rsync iputils-arping ndisc6 nftables iperf3
       keepalived dpkg-dev libmnl-dev libcap-dev libelf-dev pkg-config jq
       linux-perf dwarves busybox-static debhelper lintian python3-docutils
       ifupdown prometheus prometheus-node-exporter debootstrap e2fsprogs dh-dkms)

need_pkgs=()
for p in "${PINNED[@]}"; do
	name=${p%%=*} ver=${p#*=}
	have=$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true)
	[ "$have" = "install ok installed $ver" ] || need_pkgs+=("$p")
done
for name in "${PLAIN[@]}"; do
	dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q '^install ok installed' ||
		need_pkgs+=("$name")
done
# vng --exec needs udev; pin it to the installed libudev1 so apt does not
# upgrade systemd underneath the machine.
if ! dpkg-query -W -f='${Status}' udev 2>/dev/null | grep -q '^install ok installed'; then
	udev_ver=$(dpkg-query -W -f='${Version}' libudev1 2>/dev/null || true)
	if [ -n "$udev_ver" ]; then need_pkgs+=("udev=$udev_ver"); else need_pkgs+=(udev); fi
fi

apt_install() {
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q \
		--no-install-recommends "$@"
}
if [ ${#need_pkgs[@]} -gt 0 ]; then
	log "installing Debian packages: ${need_pkgs[*]}"
	echo 'wireshark-common wireshark-common/install-setuid boolean false' |
		$SUDO debconf-set-selections
	$SUDO apt-get update -q >/dev/null
	for p in "${need_pkgs[@]}"; do
		case $p in *=*)
			name=${p%%=*} ver=${p#*=}
			apt-cache madison "$name" | awk -F'|' '{gsub(/ /,"",$2); print $2}' |
				grep -qxF "$ver" ||
				die "pinned package $name=$ver is no longer in the archive; update scripts/env.sh"
		esac
	done
	# apt sometimes fails once on a .deb that vanished from a mirror: retry once.
	apt_install "${need_pkgs[@]}" || { $SUDO apt-get update -q >/dev/null; apt_install "${need_pkgs[@]}"; }
fi

# bindgen-cli: the kernel needs >= 0.69.5 with libclang 19.
bindgen_have=$("$TOOLS_DIR/bin/bindgen" --version 2>/dev/null || true)
if [ "$bindgen_have" != "bindgen $BINDGEN_VER" ]; then
	log "installing bindgen-cli $BINDGEN_VER"
	command -v cargo >/dev/null || die "cargo not found (needed to install bindgen-cli)"
	cargo install --locked --root "$TOOLS_DIR" --version "$BINDGEN_VER" bindgen-cli
fi

# cargo-fuzz for the decoder fuzz target (run with RUSTC_BOOTSTRAP=1 on the
# stable toolchain: no nightly can be fetched here).
fuzz_have=$("$TOOLS_DIR/bin/cargo-fuzz" --version 2>/dev/null || true)
if [ "$fuzz_have" != "cargo-fuzz $CARGO_FUZZ_VER" ]; then
	log "installing cargo-fuzz $CARGO_FUZZ_VER"
	cargo install --locked --root "$TOOLS_DIR" --version "$CARGO_FUZZ_VER" cargo-fuzz
fi

# virtme-ng from PyPI, in its own venv.
# (Outputs are captured first: with pipefail, `grep -q` closing the pipe
# early would make a healthy install look broken.)
vng_have=$("$TOOLS_DIR/venv/bin/pip" show virtme-ng 2>/dev/null | sed -n 's/^Version: //p' || true)
if ! [ -x "$TOOLS_DIR/venv/bin/vng" ] || [ "$vng_have" != "$VNG_VER" ]; then
	log "installing virtme-ng $VNG_VER"
	python3 -m venv "$TOOLS_DIR/venv"
	"$TOOLS_DIR/venv/bin/pip" install -q "virtme-ng==$VNG_VER" pyyaml jsonschema
fi

# The source of the installed iproute2 (its exact Debian version): the
# headers link_carp.so is built against, and the tree a complete ip with
# carp support is built from (scripts/build-iproute2.sh). apt-get source
# needs a deb-src entry for the same archive as the installed packages.
ipr_ver=$(dpkg-query -W -f='${Version}' iproute2)
ipr_dir=$CACHE_ROOT/iproute2
if ! [ -f "$ipr_dir/iproute2_$ipr_ver.dsc" ]; then
	if ! apt-get source --print-uris -q "iproute2=$ipr_ver" >/dev/null 2>&1; then
		log "adding deb-src entries for the Debian archive (apt-get source)"
		src=/etc/apt/sources.list.d/debian.sources
		[ -f "$src" ] || die "no $src to derive a deb-src entry from"
		sed 's/^Types: deb$/Types: deb-src/' "$src" |
			$SUDO tee /etc/apt/sources.list.d/carp-deb-src.sources >/dev/null
		$SUDO apt-get update -q >/dev/null
	fi
	log "fetching the source of iproute2 $ipr_ver"
	rm -rf "$ipr_dir"; mkdir -p "$ipr_dir"
	(cd "$ipr_dir" && apt-get source -q "iproute2=$ipr_ver" >/dev/null 2>&1) ||
		die "apt-get source iproute2=$ipr_ver failed"
fi

# The kernel source tree (extracted once, read-only input for the builds).
if ! [ -f "$KSRC/.extracted" ]; then
	log "extracting linux-source $KVER_DEB"
	rm -rf "$KSRC"; mkdir -p "$KSRC"
	tar -C "$KSRC" --strip-components=1 -xf /usr/src/linux-source-6.12.tar.xz
	touch "$KSRC/.extracted"
fi
log "toolchain ready"
