#!/usr/bin/env bash
# Where the VM tests' time goes: boots the base and the debug kernel with
# the options that can be switched at boot, and times a VM boot and the
# process starts the tests are made of. Prints an rst table (the one in
# Documentation/building-and-testing.rst). One VM at a time, one vCPU, as
# the test shards run.
#   vm-cost.sh [ROUNDS]     (COST_ROWS=REGEX: only the matching rows)
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/env.sh"
. "$here/vm-lib.sh"
rounds=${1:-5}
base=$("$here/build-kernel.sh" base)
debug=$("$here/build-kernel.sh" debug)
"$here/build-tools.sh" >&2
hotroot=$("$here/build-hotroot.sh")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The guest side: median of ROUNDS runs of each command, in ms.
cat >"$tmp/guest.sh" <<'EOF'
rounds=$1
export PATH=$2:$PATH
ip netns add cost
med() {
	local i s t=()
	for i in $(seq "$rounds"); do
		s=$(date +%s%N); "$@" >/dev/null 2>&1; t+=($(( ($(date +%s%N) - s) / 1000000 )))
	done
	printf '%s\n' "${t[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
echo "ip $(med ip link show)"
echo "netns $(med ip netns exec cost true)"
echo "bash $(med bash -c true)"
echo "python $(med python3 -I -S -c pass)"
echo "carpctl $(med carpctl --version)"
echo "tcpdump $(med tcpdump --version)"
EOF

# The same commands with the root in a tmpfs (what an initramfs or a root
# disk image in the guest's memory would give): the commands' binaries,
# their libraries and python's standard library copied into a tmpfs, the
# guest script run chrooted there.
cat >"$tmp/tmpfs-root.sh" <<'EOF'
set -e
r=/tmp/croot
mkdir -p "$r" && mount -t tmpfs -o size=1G none "$r"
files=()
for b in ip bash sh true date sort awk seq python3 tcpdump "$2/carpctl"; do
	p=$(type -P "$b")
	files+=("$p")
	files+=($(ldd "$p" 2>/dev/null | grep -o '/[^ ]*' || true))
done
cp -L --parents $(printf '%s\n' "${files[@]}" | sort -u) "$r"
py=$(python3 -I -S -c 'import os; print(os.path.dirname(os.__file__))')
# (python finds its library next to its binary: /bin/python3, /lib/...)
cp -a "$py" "$r/lib/"
cp "$3" "$r/guest.sh"
mkdir -p "$r/proc" "$r/sys" "$r/run/netns" "$r/tmp" "$r/dev" "$r/etc"
mount -t proc proc "$r/proc"
mount -t sysfs sys "$r/sys"
mount --bind /dev "$r/dev"
chroot "$r" bash /guest.sh "$1" "$(dirname "$2/carpctl")"
EOF

# The same commands with the hot prefix of make check's VMs.
cat >"$tmp/hot.sh" <<EOF
. $top/scripts/vm-hotprefix.sh
hot_prefix "\$2" $top
bash "\$3" "\$1" /run/carp-hot/bin
EOF

# row NAME KDIR APPEND...: one configuration.
row() {
	local name=$1 kdir=$2; shift 2
	[[ $name =~ ${COST_ROWS:-.} ]] || return 0
	local saved=("${VM_APPEND[@]}") t0 t1
	VM_APPEND+=("$@")
	t0=$(date +%s%N)
	vm_run "$kdir" 1 2G 600 /dev/null true >/dev/null 2>&1 || true
	t1=$(date +%s%N)
	local cmd="bash $tmp/guest.sh $rounds $top/tools/target/release"
	[ "${ROW_ROOT:-}" = tmpfs ] &&
		cmd="bash $tmp/tmpfs-root.sh $rounds $top/tools/target/release $tmp/guest.sh"
	[ "${ROW_ROOT:-}" = hot ] &&
		cmd="bash $tmp/hot.sh $rounds $hotroot $tmp/guest.sh"
	vm_run "$kdir" 1 2G 900 /dev/null "$cmd" >"$tmp/out" 2>/dev/null || true
	VM_APPEND=("${saved[@]}")
	local v=()
	for k in ip netns bash python carpctl tcpdump; do
		v+=("$(awk -v k="$k" '$1 == k { print $2 }' "$tmp/out")")
	done
	printf '%-44s %6s %6s %6s %6s %6s %7s %7s\n' "$name" \
		"$(( (t1 - t0) / 1000000000 ))" "${v[@]}"
}

cfg_none=(--append "rootflags=version=9p2000.L,trans=virtio,access=any,msize=524288,cache=none")
echo "median ms per command ($rounds runs), boot in s; one vCPU, TCG"
printf '%-44s %6s %6s %6s %6s %6s %7s %7s\n' configuration boot ip netns bash python3 carpctl tcpdump
row "base, 9p cache=none (vng's default)" "$base" "${cfg_none[@]}"
row "base" "$base"
ROW_ROOT=tmpfs row "base, root in a tmpfs (an initramfs)" "$base"
ROW_ROOT=hot row "base, hot prefix (make check)" "$base"
row "debug, 9p cache=none" "$debug" "${cfg_none[@]}"
row "debug (all checkers)" "$debug"
ROW_ROOT=tmpfs row "debug, root in a tmpfs (an initramfs)" "$debug"
ROW_ROOT=hot row "debug, hot prefix (make check)" "$debug"
row "debug, kmemleak off" "$debug" --append kmemleak=off
row "debug, kmemleak and debug objects off" "$debug" --append "kmemleak=off debug_objects=0 no_debug_objects"
row "debug, also lockdep proving off" "$debug" \
	--append "kmemleak=off no_debug_objects lockdep.prove_locking=0"
