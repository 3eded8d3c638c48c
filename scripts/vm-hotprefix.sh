# Sourced in the guest (vm-run.sh, vm-cost.sh): sets up the hot prefix
# that scripts/build-hotroot.sh packs on the host.
# SPDX-License-Identifier: GPL-2.0

# hot_prefix TAR TOP: unpacks TAR (the tests' commands, their libraries
# and loader, python's standard library) into a tmpfs and puts it first
# on PATH and LD_LIBRARY_PATH; the loader is bound over /usr/lib64, where
# every binary names it. Copies TOP's tools and $CARP_KO (if set) there
# too and points CARP_KO at the copy. Anything else still comes from the
# 9p root. Without TAR, or if it cannot be set up, nothing changes.
hot_prefix() {
	local tar=$1 top=$2 hot=/run/carp-hot t0 f
	[ -n "$tar" ] && [ -f "$tar" ] || return 0
	t0=${EPOCHREALTIME/./}
	# (Readable by all, whatever the umask: the tests run commands as
	# unprivileged users too.)
	mkdir -p $hot && chmod 755 $hot
	if ! tar -xf "$tar" -C $hot || ! mount --bind $hot/lib64 /usr/lib64; then
		echo "# hot prefix: not set up, the tests run from the 9p root"
		return 0
	fi
	for f in "$top"/tools/target/release/*; do
		[ -f "$f" ] && [ -x "$f" ] && cp "$f" $hot/bin/ && chmod 755 "$hot/bin/${f##*/}"
	done
	export PATH=$hot/bin:$PATH LD_LIBRARY_PATH=$hot/lib
	if [ -n "${CARP_KO:-}" ] && cp "$CARP_KO" $hot/ && chmod 644 "$hot/${CARP_KO##*/}"; then
		CARP_KO=$hot/${CARP_KO##*/}
	fi
	echo "# hot prefix: $(du -sm $hot | cut -f1) MB in memory in $(((${EPOCHREALTIME/./} - t0) / 1000)) ms"
}
