#!/usr/bin/env bash
# Builds the VM tests' "hot prefix": a tar of the host files the tests
# exec and import over and over (the commands, their shared libraries and
# loader, python's standard library and PyYAML; not tshark, run a few
# times, with its 110 MB library), which vm-run.sh unpacks into a tmpfs in
# the guest and puts first on PATH and LD_LIBRARY_PATH. A process start
# then reads its binary and libraries from memory instead of asking the 9p
# root (a walk, an open and a clunk per file under TCG): about a quarter
# of an `ip` and half of a `python3` start on the debug kernel
# (Documentation/building-and-testing.rst). Anything not in it still comes
# from the 9p root: the prefix only makes things faster.
# Prints the tar's path. Cached in $CACHE_ROOT, keyed by the files' names,
# sizes and times (a package upgrade builds a new one).
#   build-hotroot.sh
# SPDX-License-Identifier: GPL-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/env.sh"
# The guest's PATH (vng), not the host user's (pyenv shims and the like).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

cmdpaths=()
# The commands the VM tests, their helpers and the harness run (a missing
# one is only slower, not wrong).
cmds=(bash sh env cat echo printf grep sed awk mawk cut tr sort uniq wc head
	tail tee seq sleep date stat mkdir mktemp rm cp mv ln chmod kill pkill
	pgrep timeout split join yes bc dirname basename readlink realpath
	uname id true false test nproc
	ip bridge tc nft sysctl dmesg insmod rmmod lsmod modprobe mount umount
	unshare nsenter setpriv chrt taskset
	python3 tcpdump ucarp keepalived jq arping ndisc6 rdisc6 iperf3
	ping)

libs=() pyfiles=()
for c in "${cmds[@]}"; do
	p=$(type -P "$c") || continue
	cmdpaths+=("$c=$p")
	# The shared libraries and the loader (ldd prints "name => path" and
	# the loader's own path).
	libs+=($(ldd "$p" 2>/dev/null | grep -o '/[^ ]*' || true))
done
# Python: the standard library without the parts no test imports, and
# PyYAML for the kernel's YNL cli.
py=$(/usr/bin/python3 -I -S -c 'import os; print(os.path.dirname(os.__file__))')
for so in $(find "$py/lib-dynload" /usr/lib/python3/dist-packages/_yaml* -name '*.so' 2>/dev/null); do
	libs+=($(ldd "$so" 2>/dev/null | grep -o '/[^ ]*' || true))
done

# The key: every source file's name, size and time.
key=$( { printf '%s\n' "${cmdpaths[@]}" "${libs[@]}" | sed 's/^[^=]*=//' |
	xargs -d '\n' stat -L -c '%n %s %Y'
	find "$py" /usr/lib/python3/dist-packages/yaml -printf '%p %s %T@\n' 2>/dev/null
	cat "$0"; } | sha256sum | cut -c1-16)
tar=$CACHE_ROOT/hotroot-$key.tar
if [ -f "$tar" ]; then
	echo "$tar"
	exit 0
fi
rm -f "$CACHE_ROOT"/hotroot-*.tar
stage=$(mktemp -d)
trap 'rm -rf "$stage" "$stage.tar"' EXIT
# The layout: bin/ (each command a real file under its own name: kmod
# and procps pick their applet by it, python finds its library next to
# it), lib/ (the libraries under the names the loader asks for, found
# through LD_LIBRARY_PATH), lib64/ (the loader itself, bound over
# /usr/lib64 in the guest: the kernel opens it by that path at every
# exec), lib/python3.11 and lib/python3/dist-packages.
mkdir -p "$stage/bin" "$stage/lib" "$stage/lib64" "$stage/lib/python3/dist-packages"
for cp in "${cmdpaths[@]}"; do
	cp -L "${cp#*=}" "$stage/bin/${cp%%=*}"
done
for l in $(printf '%s\n' "${libs[@]}" | sort -u); do
	# (not the few huge ones, libicudata's 31 MB: a process maps a few of
	# their pages, the guest would copy all of them)
	[ "$(stat -L -c %s "$l")" -lt 16000000 ] || continue
	cp -L "$l" "$stage/lib/${l##*/}"
done
cp -L /lib64/ld-linux-x86-64.so.2 "$stage/lib64/"
(cd "$py/.." && find "${py##*/}" \( -name test -o -name tests -o -name idlelib \
	-o -name tkinter -o -name turtledemo -o -name lib2to3 -o -name ensurepip \
	-o -name pydoc_data -o -name 'config-*' -o -name site-packages \
	-o -name dist-packages \) -prune -o -type f -print |
	tar -cf - --no-recursion -T - | tar -xf - -C "$stage/lib")
for d in /usr/lib/python3/dist-packages/yaml /usr/lib/python3/dist-packages/_yaml; do
	[ -d "$d" ] && cp -a "$d" "$stage/lib/python3/dist-packages/"
done
# Python run from the prefix takes its library from the prefix: with site
# imports (no -S), what was left out (tkinter, the stdlib's tests, other
# Debian packages) is still found on the 9p root, after the prefix.
printf '%s\n' "${py%/*}/python3/dist-packages" "$py" \
	>"$stage/lib/python3/dist-packages/zz-carp-host.pth"
# (Readable by all: the tests run commands as unprivileged users too.)
chmod -R a+rX,go-w "$stage"
tar -C "$stage" -cf "$stage.tar" .
mv "$stage.tar" "$tar"
echo "$tar"
