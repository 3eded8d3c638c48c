# Booting our kernel with virtme-ng: one place for the qemu/vng settings
# that the tests (vm-test.sh), the demo and the benchmarks share. Source it.
# SPDX-License-Identifier: GPL-2.0

# Kernel command line:
# - rootflags: vng's 9p root with cache=loose: the guest keeps what it read
#   from the host (binaries, libraries) in its page cache instead of asking
#   the host again at every exec; the host's files do not change during a
#   run (measured: a process start costs about 40 % less on the debug
#   kernel, see Documentation/building-and-testing.rst).
# - loglevel=5: warnings and worse reach the console (kept in a file per
#   VM), ordinary messages stay in the kernel log.
# - oops=panic (vng adds panic=-1 and -no-reboot): a crash ends the VM at
#   once, with the oops on the console, instead of hanging the run.
# - log_buf_len=16M: the kernel's own ring is 128 KiB (LOG_BUF_SHIFT=17);
#   a test file's log (fault injection's stack dumps, log=7 floods) can
#   exceed that between two of vm-run.sh's `dmesg -c`, and a splat that the
#   ring overwrote would pass its check.
VM_APPEND=(
	--append no5lvl
	--append "loglevel=5 oops=panic log_buf_len=16M"
	--append "rootflags=version=9p2000.L,trans=virtio,access=any,msize=524288,cache=loose"
)
# CARP_KMEMLEAK=0: the debug kernel without kmemleak (kmemleak=off: the
# same kernel, every other checker on; vm-run.sh's leak checks then have
# nothing to read and say so).
[ "${CARP_KMEMLEAK:-1}" = 0 ] && VM_APPEND+=(--append kmemleak=off)

# What counts as a kernel splat in a kernel log or on a console (BUG,
# WARNING, Oops, KASAN, UBSAN, lockdep, RCU, refcount, a device reference
# leak, ...): vm-run.sh's check of the guest's log, the tests that consume
# the log themselves (exported there), and vm-test.sh's check of the
# consoles share it.
CARP_SPLAT_RE='BUG:|WARNING:|Oops|KASAN|UBSAN|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|refcount_t:|unreferenced object|general protection fault|Call Trace:|kernel BUG|list_add corruption|list_del corruption|scheduling while atomic|sleeping function called from invalid context|unregister_netdevice: waiting for'

# vm_run KDIR CPUS MEM TIMEOUT CONSOLE CMD: boots KDIR's kernel, runs CMD
# (a shell command line) in the guest as root with the host's root
# filesystem; CMD's output goes to stdout, the kernel console to the file
# CONSOLE. TCG: /dev/kvm on our machines is a nested PVM host on which
# qemu's KVM mode aborts or crawls; CARP_VM_KVM=1 opts in to KVM.
vm_run() {
	local kdir=$1 cpus=$2 mem=$3 tmo=$4 console=$5 cmd=$6
	local kvm=(--disable-kvm)
	local img=$kdir/arch/x86/boot/bzImage
	# Debian's kernel (debian-kernel.sh): its vmlinuz, and vng takes the
	# modules from the lib/modules beside it (the real path, not a link).
	[ -f "$img" ] || img=$(readlink -f "$kdir"/image/boot/vmlinuz-*)
	[ "${CARP_VM_KVM:-0}" = 1 ] && kvm=()
	# Not --foreground: on timeout the whole process group (vng and its
	# qemu) is signalled. PYTHONUNBUFFERED: vng passes the guest's output
	# on as it comes.
	PYTHONUNBUFFERED=1 timeout -k 20 "$tmo" \
		vng -v --run "$img" "${kvm[@]}" --force-9p \
			--user root --cpus "$cpus" --memory "$mem" "${VM_APPEND[@]}" \
			--exec "$cmd" 2>"$console"
}

# vm_install_module KDIR KO: on Debian's kernel, carp.ko goes where a
# package puts it (lib/modules/REL/updates) with depmod run, so the guest's
# modprobe finds it and the kernel autoloads it (ip link add ... type carp,
# the genetlink family). A no-op for our kernels (the tests insmod KO).
vm_install_module() {
	local kdir=$1 ko=$2 moddir
	[ -d "$kdir/image" ] || return 0
	moddir=$(readlink -f "$kdir"/image/lib/modules/*)
	install -D -m 644 "$ko" "$moddir/updates/carp.ko"
	depmod -b "$(readlink -f "$kdir/image")" "$(basename "$moddir")"
}
