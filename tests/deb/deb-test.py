#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make deb-test: carp's packages on Debian 12 machines booted from their
own disks, as an administrator would use them (scripts/deb-test.sh builds
what this needs and runs it).

    deb-test.py WORKDIR IMAGE REPO_IMG ABI V1 V2 NEXT_ABI

Two machines, A and B, each a QEMU booting its own copy of IMAGE
(debootstrap's Debian 12, systemd as init, Debian's kernel ABI), and a
client (a network namespace here, on the same LAN through the hub
tests/deb/lan.py). REPO_IMG is the local apt repository, two builds of
carp: V1 in /srv/carp-repo/v1, the newer V2 in /srv/carp-repo/v2, and the
Debian packages of dkms and of the newer kernel NEXT_ABI (with their
dependencies) in /srv/carp-repo/debian, as a mirror would have them.

  1. apt installs carp from the local repository (one sources.list line);
     the module loads by itself (ip link add ... type carp, carpctl).
  2. A is configured with ifupdown (/etc/network/interfaces), B with
     systemd-networkd (carp-netdevs.service, .network files), both with
     net.inet.carp.preempt=1 in sysctl.d; reboot: A MASTER, B BACKUP,
     the client reaches the VIP; the pass is nowhere to be read.
  3. A powered off: B takes over (measured on the wire); A boots again,
     demoted until carp-boot-ready.service, and takes the VIP back.
  4. V2 installed on A: carp-reload loads the new module, carp0 comes
     back, no stale device. B purged: no module, hook or unit left.
  5. carp-dkms on B: the newer kernel NEXT_ABI installed, DKMS builds
     carp.ko for it (no network, no Rust toolchain); the build refuses a
     kernel whose configuration, functions or layouts differ; kernels of
     another kind are left alone and their installation succeeds; B
     reboots into NEXT_ABI and carp works with the module DKMS built;
     purged, nothing is left.

Every check prints ok/not ok (TAP); the plan is declared first, and a run
that makes fewer checks fails.
"""

import json
import os
import re
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import GuestError, Machine  # noqa: E402

PLAN = 47
VIP = "192.0.2.1"
VIP6 = "2001:db8::1"
CLIENT = "192.0.2.100"
VMAC = "00:00:5e:00:01:01"
PASS = "deb-test-pass-4c1f"
ADVBASE = 1
B_SKEW = 100

count = 0
failed = 0


lock = threading.Lock()


def check(name, ok, diag=""):
    global count, failed
    with lock:
        count += 1
        if ok:
            print(f"ok - deb: {name}", flush=True)
        else:
            failed += 1
            print(f"not ok - deb: {name}", flush=True)
            for line in str(diag).strip().splitlines()[-25:]:
                print(f"#   {line}", flush=True)
    return ok


def note(msg):
    with lock:
        for line in str(msg).splitlines():
            print(f"# {line}", flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True, **kw)


def wait(pred, timeout, step=0.5):
    end = time.monotonic() + timeout
    while True:
        try:
            v = pred()
        except GuestError:
            v = None
        if v:
            return v
        if time.monotonic() > end:
            return v
        time.sleep(step)


def state(m, dev="carp0"):
    rc, out, _ = m.run(f"carpctl -j {dev}", check=False)
    if rc != 0:
        return None
    try:
        j = json.loads(out)
    except ValueError:
        return None
    if isinstance(j, list):
        j = j[0] if j else {}
    s = j.get("state") or (j.get("entries") or [{}])[0].get("state")
    return s


# -- the wire ------------------------------------------------------------------


def adverts(pcap_path):
    """CARP advertisements (IPv4, protocol 112) in the hub's capture:
    (time, source MAC, advskew, demote)."""
    out = []
    with open(pcap_path, "rb") as f:
        data = f.read()
    off = 24
    while off + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack("<IIII", data[off : off + 16])
        frame = data[off + 16 : off + 16 + incl]
        off += 16 + incl
        if len(frame) < 14 + 20 + 36 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 15) * 4
        if ip[9] != 112:
            continue
        carp = ip[ihl:]
        # version/type, vhid, advskew, authlen, demote, advbase
        out.append(
            (sec + usec / 1e6, frame[6:12].hex(":"), carp[2], carp[4], carp[1])
        )
    return out


def main():
    work, image, repo_img, abi, v1, v2, next_abi = sys.argv[1:8]
    os.makedirs(work, exist_ok=True)
    here = os.path.dirname(os.path.abspath(__file__))
    ns = f"carpdeb{os.getpid()}"
    lan_sock = os.path.join(work, "lan.sock")
    pcap = os.path.join(work, "lan.pcap")
    print(f"1..{PLAN}", flush=True)

    # The client's namespace, holding the hub's tap port.
    subprocess.run(["ip", "netns", "add", ns], check=True)
    hub = subprocess.Popen(
        ["ip", "netns", "exec", ns, sys.executable, os.path.join(here, "lan.py"), lan_sock, pcap, "tap0"]
    )
    machines = []
    try:
        for _ in range(50):
            if os.path.exists(lan_sock) and sh(f"ip -n {ns} link show tap0").returncode == 0:
                break
            time.sleep(0.1)
        for c in (
            f"ip -n {ns} link set lo up",
            f"ip -n {ns} addr add {CLIENT}/24 dev tap0",
            f"ip -n {ns} addr add 2001:db8::100/64 dev tap0 nodad",
            f"ip -n {ns} link set tap0 up",
        ):
            subprocess.run(c, shell=True, check=True)

        a = Machine("a", work, image, repo_img, lan_sock, "52:54:00:00:00:0a", abi)
        b = Machine("b", work, image, repo_img, lan_sock, "52:54:00:00:00:0b", abi)
        machines = [a, b]
        t0 = run(a, b, ns, pcap, abi, v1, v2)
        # A's upgrade and B's purge then carp-dkms build run at once: the
        # machines are independent there, and each has a CPU of its own.
        errors = []

        def on_a():
            try:
                upgrade(a, abi, v2)
            except Exception as e:  # reported after the join
                errors.append(e)
        t = threading.Thread(target=on_a)
        t.start()
        try:
            purge(b, abi)
            dkms_build(b, v1, next_abi)
        finally:
            t.join()
        if errors:
            raise errors[0]
        note(f"make deb-test's machines, to B's purge and DKMS build: {time.monotonic() - t0:.0f} s")
        dkms_boot(a, b, v1, next_abi)
        note(f"make deb-test's machines: {time.monotonic() - t0:.0f} s")
    except Exception as e:  # a machine that does not boot, an agent gone
        check("the test ran to its end", False, f"{type(e).__name__}: {e}")
    finally:
        for m in machines:
            m.power_off()
        hub.terminate()
        hub.wait()
        subprocess.run(["ip", "netns", "del", ns])
        if failed or count != PLAN:
            for m in machines:
                tail = m.consoles().splitlines()[-40:]
                note("\n".join(tail))
    if count != PLAN:
        print(f"not ok - deb: {count} checks made, {PLAN} planned", flush=True)
    sys.exit(1 if failed or count != PLAN else 0)


def client(ns, cmd):
    return sh(f"ip netns exec {ns} {cmd}")


def run(a, b, ns, pcap, abi, v1, v2):
    t0 = time.monotonic()
    a.start()
    b.start()
    for m in (a, b):
        booted(m, "first boot")
    for m in (a, b):
        init = m.out("ps -p 1 -o comm=")
        ver = m.out("cat /etc/debian_version")
        check(f"{m.name}: Debian {ver} booted from its own disk, {init} as init",
              init == "systemd" and ver.startswith("12."), f"init {init}, version {ver}")

    # 1. Installed with apt from the local repository.
    src = "deb [trusted=yes] file:/srv/carp-repo/v1 ./\n"
    check("a: no carp module before the packages (the control for the purge)",
          a.run("modinfo carp", check=False)[0] != 0)
    for m in (a, b):
        m.run(f"hostname {m.name} && echo {m.name} >/etc/hostname")
        mount_repo(m)
        m.write("/etc/apt/sources.list.d/carp.list", src)
        rc, out, err = m.run(
            "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q carp",
            check=False, timeout=600)
        vers = m.out("dpkg-query -W -f='${Package} ${Version}\\n' carp carp-tools " +
                     f"carp-modules-{abi}", check=False)
        check(f"{m.name}: apt install carp (carp, carp-tools, carp-modules-{abi} {v1})",
              rc == 0 and vers.count(f" {v1}") == 3, f"{out}\n{err}\n{vers}")

    # Autoload: ip link add (the rtnl link alias), carpctl (the genl family).
    a.run("modprobe -r carp", check=False)
    rc, out, err = a.run("lsmod | grep -q '^carp ' && exit 9; "
                         "ip link add carptest type carp && lsmod | grep -q '^carp '", check=False)
    check("a: 'ip link add ... type carp' loads the module", rc == 0, f"{rc} {out} {err}")
    a.run("ip link del carptest; modprobe -r carp", check=False)
    rc, out, err = a.run("lsmod | grep -q '^carp ' && exit 9; "
                         "carpctl >/dev/null && lsmod | grep -q '^carp '", check=False)
    check("a: carpctl's first request loads it", rc == 0, f"{rc} {out} {err}")

    # 2. Configuration: A with ifupdown, B with systemd-networkd.
    for m in (a, b):
        m.write("/etc/carp/carp0.pass", PASS + "\n", mode="0600")
        m.write("/etc/sysctl.d/61-carp-preempt.conf", "net.inet.carp.preempt = 1\n")
    # The boot demotion ends 3 s after the system is up (carp-boot-ready).
    a.run("sed -i 's/^CARP_BOOT_DELAY=.*/CARP_BOOT_DELAY=3/' /etc/default/carp && grep -qx CARP_BOOT_DELAY=3 /etc/default/carp")
    a.write("/etc/network/interfaces.d/carp", f"""auto eth0
iface eth0 inet static
    address 192.0.2.11/24

auto carp0
iface carp0 inet static
    address {VIP}/24
    carp-dev eth0
    carp-vhid 1
    carp-advbase {ADVBASE}
    carp-advskew 0
    carp-pass-file /etc/carp/carp0.pass

iface carp0 inet6 static
    address {VIP6}/64
    dad-attempts 0
""")
    b.write("/etc/systemd/network/10-eth0.network",
            "[Match]\nName=eth0\n\n[Network]\nAddress=192.0.2.12/24\nLinkLocalAddressing=ipv6\n")
    b.write("/etc/carp/netdevs",
            f"carp0 carpdev eth0 vhid 1 advbase {ADVBASE} advskew {B_SKEW} passfile /etc/carp/carp0.pass\n")
    b.run("sed -e 's/^Address=192.0.2.1.*/Address=192.0.2.1\\/24/' "
          "/usr/share/doc/carp/examples/carp0.network >/etc/systemd/network/60-carp0.network && "
          "systemctl enable systemd-networkd")
    for m in (a, b):
        m.run("sync")
    boot = reboot_both(a, b)

    for m in (a, b):
        state_, failed_ = boot[m.name]
        check(f"{m.name}: rebooted configured: systemd says {state_}, no unit failed",
              state_ == "running" and not failed_, failed_)
        rel = m.out("uname -r")
        path = m.out("modinfo -n carp", check=False)
        ver = m.out("modinfo -F version carp", check=False)
        loaded = m.run("test -d /sys/module/carp", check=False)[0] == 0
        check(f"{m.name}: after the reboot: kernel {rel}, {path} version {ver} loaded",
              rel == abi and path == f"/lib/modules/{abi}/updates/carp.ko" and ver == v1 and loaded,
              f"{rel} {path} {ver} loaded={loaded}")
    check("a: carp0 (ifupdown) is MASTER", wait(lambda: state(a) == "MASTER", 60),
          a.out("carpctl carp0; journalctl -b -u networking --no-pager | tail -20", check=False))
    check("b: carp0 (systemd-networkd) is BACKUP", wait(lambda: state(b) == "BACKUP", 60),
          b.out("carpctl carp0; journalctl -b -u carp-netdevs -u systemd-networkd --no-pager | tail -20", check=False))
    check("b: a BACKUP without carrier keeps its addresses (networkd)",
          wait(lambda: VIP in b.out("ip -4 addr show dev carp0") and VIP6 in b.out("ip -6 addr show dev carp0"), 30),
          b.out("ip addr show dev carp0; networkctl status carp0 --no-pager", check=False))
    for m in (a, b):
        p = m.out("sysctl -n net.inet.carp.preempt", check=False)
        check(f"{m.name}: sysctl.d's preempt applied at boot", p == "1", p)
    ping = client(ns, f"ping -c 2 -W 2 {VIP}")
    neigh = client(ns, f"ip neigh show {VIP}").stdout
    check("client: the VIP answers, from carp's virtual MAC",
          ping.returncode == 0 and VMAC in neigh, ping.stdout + neigh)
    ping6 = client(ns, f"ping -6 -c 2 -W 2 {VIP6}")
    check("client: the IPv6 VIP answers", ping6.returncode == 0, ping6.stdout + ping6.stderr)
    line = a.out("ip -d link show carp0")
    check("a: Debian's own ip shows the carp details (the plugin)",
          re.search(r"carp MASTER vhid 1 advbase 1 advskew 0", line) is not None, line)

    # Secrets: the pass in the root-only file (the control), nowhere else.
    # The searches read it from a root-only file of their own: on their
    # command lines it would be found (and qemu-guest-agent logs those).
    for m in (a, b):
        m.write("/root/pat", PASS + "\n", mode="0600")
        ctl = m.run("grep -qx -f /root/pat /etc/carp/carp0.pass && "
                    "[ \"$(stat -c %a /etc/carp/carp0.pass)\" = 600 ]", check=False)[0]
        leak = m.out(
            "grep -l -F -f /root/pat /proc/[0-9]*/cmdline 2>/dev/null; "
            "journalctl -b --no-pager | grep -F -c -f /root/pat; "
            "find /etc /run /var/log /tmp -xdev -type f -perm -o+r -print0 2>/dev/null | "
            "xargs -0 grep -l -F -f /root/pat 2>/dev/null; true", check=False)
        check(f"{m.name}: the pass is in the 0600 file only (not in ps, the journal or a readable file)",
              ctl == 0 and leak.strip() == "0", f"control {ctl}; found: {leak}")

    # The boot demotion, on a booted systemd: demoted before the network
    # came up, released by carp-boot-ready.service.
    u = {n: props(a, n, "Result", "InactiveExitTimestampMonotonic", "ActiveEnterTimestampMonotonic")
         for n in ("carp-boot-demote", "carp-boot-ready", "networking")}
    at = lambda n, p: int(u[n].get(p) or 0)  # noqa: E731
    ok = (u["carp-boot-demote"].get("Result") == "success" and u["carp-boot-ready"].get("Result") == "success"
          and 0 < at("carp-boot-demote", "ActiveEnterTimestampMonotonic") <= at("networking", "InactiveExitTimestampMonotonic")
          and 0 < at("networking", "ActiveEnterTimestampMonotonic") <= at("carp-boot-ready", "InactiveExitTimestampMonotonic"))
    check("a: boot: demoted by carp-boot-demote before networking, released by carp-boot-ready after it",
          ok, json.dumps(u))
    d = a.out("carpctl demote", check=False)
    check("a: the demotion is back to 0",
          re.search(r"carp demote count 0 \(userspace 0,", d) is not None, d)

    # 3. Power cut on A: B takes over within the master-down interval.
    cut = time.time()
    a.power_off()
    took = wait(lambda: state(b) == "MASTER", 30)
    check("b: MASTER after A's power cut", took, b.out("carpctl carp0", check=False))
    time.sleep(2)
    ads = adverts(pcap)
    # Only the MASTER advertises: A (advskew 0) until the cut, then B.
    last_a = max((t for t, mac, skew, *_ in ads if skew == 0 and t <= cut + 0.5), default=None)
    b_before = [t for t, mac, skew, *_ in ads if skew == B_SKEW and cut - 20 <= t <= cut]
    first_b = min((t for t, mac, skew, *_ in ads if skew == B_SKEW and last_a and t > last_a), default=None)
    down = 3 * ADVBASE + B_SKEW / 256
    if last_a and first_b:
        gap = first_b - last_a
        note(f"on the wire: A's last advertisement to B's first as MASTER: {gap:.2f} s "
             f"(master-down interval {down:.2f} s)")
        check("b: took over within the master-down interval (on the wire, 0.5 s of slack)",
              gap <= down + 0.5 and not b_before,
              f"{gap:.2f} s; B's advertisements in the 20 s before the cut: {len(b_before)}")
    else:
        check("b: took over within the master-down interval (on the wire, 0.5 s of slack)",
              False, f"advertisements: last of A {last_a}, first of B {first_b}")
    ping = client(ns, f"ping -c 2 -W 2 {VIP}")
    check("client: the VIP answers during A's outage", ping.returncode == 0, ping.stdout)

    # A boots again: demoted until carp-boot-ready, then takes back (preempt).
    a.start()
    booted(a, "booted again")
    check("a: back and MASTER again (preempt from sysctl.d)", wait(lambda: state(a) == "MASTER", 60),
          a.out("carpctl carp0", check=False))
    check("b: BACKUP again", wait(lambda: state(b) == "BACKUP", 30), b.out("carpctl carp0", check=False))
    # The boot demotion kept it BACKUP while it heard B (advertising every
    # second, which preempt would take over from at once): until
    # carp-boot-ready.service's "carpctl demote carp -128" (after
    # CARP_BOOT_DELAY=3, /etc/default/carp).
    log = a.out("journalctl -b -k --no-pager -o short-monotonic | "
                "grep 'carp0: state transition (vhid 1): ' || true")
    at = {}
    for line in log.splitlines():
        mm = re.match(r"\[\s*([0-9.]+)\].*-> ([A-Z]+)", line)
        if mm and mm.group(2) not in at:
            at[mm.group(2)] = float(mm.group(1))
    ready = props(a, "carp-boot-ready", "ExecMainStartTimestampMonotonic").get("ExecMainStartTimestampMonotonic", "")
    ready_s = int(ready) / 1e6 if ready.isdigit() else None
    # carp0 is BACKUP from ifup on (INIT -> BACKUP is not logged at
    # net.inet.carp.log=2): networking.service's end.
    up = props(a, "networking", "ActiveEnterTimestampMonotonic").get("ActiveEnterTimestampMonotonic", "")
    up_s = int(up) / 1e6 if up.isdigit() else None
    check("a: demoted while it booted: BACKUP for 2 s or more after ifup, hearing B, without preempting",
          "MASTER" in at and up_s is not None and at["MASTER"] - up_s >= 2 * ADVBASE,
          f"{log}\nnetworking.service done at {up_s} s")
    check("a: it took over only once carp-boot-ready.service ended the demotion",
          "MASTER" in at and ready_s is not None and at["MASTER"] >= ready_s,
          f"{log}\ncarp-boot-ready's demote -128 at {ready_s} s")

    return t0


def upgrade(a, abi, v2):
    """4. Upgrade on A: V2 reloads the module, carp0 comes back."""
    src = "deb [trusted=yes] file:/srv/carp-repo/v1 ./\n"
    before = a.out("cat /sys/class/net/carp0/ifindex")
    mount_repo(a)
    a.write("/etc/apt/sources.list.d/carp.list", src.replace("/v1 ", "/v2 "))
    rc, out, err = a.run("apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
                         f"carp carp-tools carp-modules-{abi}", check=False, timeout=600)
    vers = a.out("dpkg-query -W -f='${Version}\\n' carp carp-tools " + f"carp-modules-{abi}")
    check(f"a: upgraded to {v2}", rc == 0 and vers.split() == [v2] * 3, f"{out}\n{err}\n{vers}")
    check("a: carp-reload loaded the new module",
          a.out("cat /sys/module/carp/version", check=False) == v2 and "carp-reload: loading the new build" in err + out,
          f"{a.out('cat /sys/module/carp/version', check=False)}\n{out}\n{err}")
    after = a.out("cat /sys/class/net/carp0/ifindex", check=False)
    devs = a.out("ip -o link show type carp | awk -F': ' '{print $2}' | cut -d@ -f1")
    check("a: carp0 made again by ifupdown, no stale device",
          after and after != before and devs.split() == ["carp0"], f"ifindex {before} -> {after}; {devs}")
    # The same build again (a reinstall: carp's configure runs
    # carp-reload): nothing is reloaded, carp0 stays.
    rc, out, err = a.run("DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall "
                         f"carp carp-modules-{abi}", check=False, timeout=600)
    again = a.out("cat /sys/class/net/carp0/ifindex", check=False)
    check("a: a reinstall of the same build reloads nothing (carp0 kept)",
          rc == 0 and again == after and "carp-reload: loading" not in out + err,
          f"ifindex {after} -> {again}\n{out}\n{err}")
    p = a.out("sysctl -n net.inet.carp.preempt", check=False)
    check("a: MASTER again after the upgrade (the new module has sysctl.d's preempt)",
          wait(lambda: state(a) == "MASTER", 60) and p == "1",
          a.out("carpctl carp0", check=False) + f"\npreempt {p}")



def purge(b, abi):
    # Purge on B: no module, hook or unit left; the control: they were there.
    files = ("/lib/modules/{abi}/updates/carp.ko /etc/network/if-pre-up.d/carp /etc/network/if-up.d/carp "
             "/etc/network/if-down.d/carp /etc/network/if-post-down.d/carp /usr/sbin/carpctl /usr/sbin/carp-reload "
             "/lib/systemd/system/carp-netdevs.service /lib/systemd/system/carp-hooks.service "
             "/etc/sysctl.d/60-carp.conf /usr/lib/modules-load.d/carp.conf /etc/default/carp").format(abi=abi)
    links = "find /etc/systemd/system -name 'carp*' | sort"
    present = b.out(f"for f in {files}; do [ -e $f ] && echo $f; done; {links}")
    check("b: before the purge, the packages' files and unit links are there (the control)",
          all(f in present.split() for f in files.split())
          and any(p.startswith("/etc/systemd/system/") for p in present.split()), present)
    rc, out, err = b.run(f"DEBIAN_FRONTEND=noninteractive apt-get purge -y -q carp carp-tools carp-modules-{abi}",
                         check=False, timeout=600)
    left = b.out(f"for f in {files}; do [ -e $f ] && echo $f; done; {links}; "
                 "dpkg -l | awk '/carp/ {print $1, $2}'; ls /etc/carp/hooks.d 2>/dev/null; true")
    check("b: apt purge leaves no module, hook, unit or package behind", rc == 0 and left == "",
          f"{out}\n{err}\nleft: {left}")


def dkms_build(b, v, next_abi):
    """carp-dkms on B (purged of carp by then): the module built by DKMS
    for a newer kernel of the kind, and only for such a kernel."""
    t0 = time.monotonic()
    apt = "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends"
    b.write("/etc/apt/sources.list.d/carp.list",
            "deb [trusted=yes] file:/srv/carp-repo/v1 ./\n"
            "deb [trusted=yes] file:/srv/carp-repo/debian ./\n")
    mount_repo(b)
    rc, out, err = b.run(f"apt-get update -q && {apt} carp carp-dkms", check=False, timeout=900)
    vers = b.out("dpkg-query -W -f='${Package} ${Version}\\n' carp carp-tools carp-dkms", check=False)
    st = b.out("dkms status carp", check=False)
    note(f"b: apt install carp carp-dkms: {time.monotonic() - t0:.0f} s")
    check(f"b: apt install carp carp-dkms (the module from DKMS; {v})",
          rc == 0 and vers.count(f" {v}") == 3 and f"carp/{v}" in st, f"{out}\n{err}\n{vers}\n{st}")

    # The newer kernel: its headers' and image's hooks run DKMS, which
    # builds carp.ko for it. No Rust toolchain on the machine.
    t1 = time.monotonic()
    rc, out, err = b.run(f"{apt} linux-image-{next_abi} linux-headers-{next_abi}", check=False, timeout=1800)
    note(f"b: apt install linux-image-{next_abi} linux-headers-{next_abi} (DKMS's build in it): "
         f"{time.monotonic() - t1:.0f} s")
    st = b.out("dkms status carp", check=False)
    # (carp.ko.xz: DKMS compresses as the kernel's own modules are.)
    ko = b.out(f"modinfo -k {next_abi} -n carp", check=False)
    info = b.out(f"modinfo -F vermagic {ko}; modinfo -F version {ko}", check=False)
    log = b.out(f"cat /var/lib/dkms/carp/{v}/{next_abi}/x86_64/log/make.log", check=False)
    rust = b.out("command -v rustc cargo bindgen; true")
    check(f"b: installing linux-image-{next_abi} builds carp.ko for it with DKMS (checked, no Rust toolchain)",
          rc == 0 and f"{next_abi}, x86_64: installed" in st and info.split()[:1] == [next_abi]
          and ko.startswith(f"/lib/modules/{next_abi}/updates/dkms/carp.ko")
          and info.splitlines()[-1:] == [v] and "carp-dkms: carp.ko" in log and "built and checked" in log
          and rust == "", f"{out[-2000:]}\n{err[-2000:]}\n{st}\n{info}\n{log[-1500:]}\nrust: {rust}")
    note("\n".join(line for line in log.splitlines() if line.startswith(("carp-dkms:", "# debian-ko-check"))))

    # Refusals: the build (dkms.conf's MAKE) on a copy of the source with
    # one of the prebuilt side's facts altered; each must refuse before
    # linking, with its reason. The unaltered source built (above).
    tamper = {
        "configuration": ("sed -i 's/^CONFIG_HZ=.*/CONFIG_HZ=1000/' dkms/config", "its configuration differs"),
        "an import's CRC": ("sed -i '1s/\\t.*/\\t0x00c0ffee/' dkms/imports", "kernel functions the Rust side calls changed"),
        "a struct layout": ("python3 -c 'import json; f = \"dkms/layouts.json\"; t = json.load(open(f)); "
                            "[x.update(size=x[\"size\"] + 8) for x in t if x[\"name\"] == \"net_device\"]; "
                            "json.dump(t, open(f, \"w\"))'", "struct net_device: size"),
    }
    for what, (cmd, reason) in tamper.items():
        rc, out, err = b.run(f"rm -rf /tmp/cd && cp -a /usr/src/carp-{v} /tmp/cd && cd /tmp/cd && {cmd} && "
                             f"! diff -rq . /usr/src/carp-{v} >/dev/null && "
                             f"sh dkms/carp-dkms-build {next_abi} /lib/modules/{next_abi}/build {v}",
                             check=False, timeout=600)
        built = b.run("test -e /tmp/cd/carp.ko", check=False)[0] == 0
        check(f"b: carp-dkms refuses a kernel where {what} differs, with its reason",
              rc != 0 and "carp-dkms: refusing" in err and reason in err and not built,
              f"rc {rc} built {built}\n{out[-1500:]}\n{err[-1500:]}")
    # Kernels of another kind (Debian 12's default 6.1, the cloud flavour):
    # their installation runs the kernel hooks, which must succeed and
    # build nothing (Debian 12's dkms would fail them for a module with
    # AUTOINSTALL that BUILD_EXCLUSIVE skips); dkms build skips them (77).
    res = []
    for k in ("6.1.0-41-amd64", f"{next_abi.replace('-amd64', '-cloud-amd64')}"):
        rc, out, err = b.run(f"/etc/kernel/postinst.d/dkms {k} && /etc/kernel/postinst.d/carp-dkms {k} && "
                             f"/etc/kernel/header_postinst.d/carp-dkms {k}", check=False, timeout=300)
        rc2, out2, err2 = b.run(f"dkms build carp/{v} -k {k}", check=False, timeout=120)
        built = b.out(f"ls /var/lib/dkms/carp/{v}/{k} 2>/dev/null; true")
        res.append((k, rc, rc2, "BUILD_EXCLUSIVE" in out2 + err2, built, (out + err)[-300:]))
    check("b: kernels of another kind (Debian 12's 6.1, the cloud flavour): their kernel hooks succeed, "
          "DKMS skips them (BUILD_EXCLUSIVE)",
          all(rc == 0 and rc2 == 77 and said and not built for _, rc, rc2, said, built, _ in res), res)

    note(f"carp-dkms on b, to the build: {time.monotonic() - t0:.0f} s")


def dkms_boot(a, b, v, next_abi):
    """B boots the newer kernel and runs carp on the module DKMS built;
    carp-dkms purged."""
    t0 = time.monotonic()
    # The newer kernel booted (a boot loader's default: the newest): carp
    # runs on the module DKMS built; carp0 from /etc/carp/netdevs (kept by
    # the purge: the administrator's file) is BACKUP to A.
    b.run("sync")
    t1 = time.monotonic()
    b.shut_down_for_reboot()
    b.release = next_abi
    b.wait_rebooted()
    booted(b, f"rebooted into {next_abi}")
    note(f"b: reboot: {time.monotonic() - t1:.0f} s")
    rel = b.out("uname -r")
    path = b.out("modinfo -n carp", check=False)
    mv = b.out("modinfo -F version carp", check=False)
    check(f"b: running {next_abi} with the DKMS-built carp.ko",
          rel == next_abi and path.startswith(f"/lib/modules/{next_abi}/updates/dkms/carp.ko") and mv == v,
          f"{rel} {path} {mv}")
    before = counter(b, "ipackets")
    time.sleep(4 * ADVBASE)
    after = counter(b, "ipackets")
    check("b: carp0 BACKUP to A on the new kernel, A's advertisements accepted",
          state(b) == "BACKUP" and state(a) == "MASTER" and before is not None and after is not None
          and after >= before + 2, f"b {state(b)} a {state(a)} ipackets {before} -> {after}")

    # Purge: DKMS removes the module from every kernel; nothing is left.
    ko = b.out("modinfo -n carp", check=False)
    files = f"{ko} /usr/src/carp-{v} /var/lib/dkms/carp /etc/kernel/postinst.d/carp-dkms"
    present = b.out(f"for f in {files}; do [ -e $f ] && echo $f; done; true")
    check("b: before the purge, the DKMS-built module, its source, DKMS' tree and the kernel hook are there "
          "(the control)", ko.startswith("/lib/modules/") and present.split() == files.split(), present)
    rc, out, err = b.run("DEBIAN_FRONTEND=noninteractive apt-get purge -y -q carp carp-tools carp-dkms",
                         check=False, timeout=600)
    left = b.out(f"for f in {files}; do [ -e $f ] && echo $f; done; "
                 "find /lib/modules -name 'carp.ko*'; dpkg -l | awk '/carp/ {print $1, $2}'; true")
    check("b: apt purge carp-dkms leaves no module, source or DKMS state", rc == 0 and left == "",
          f"{out}\n{err}\nleft: {left}")
    note(f"carp-dkms on b, boot and purge: {time.monotonic() - t0:.0f} s")


def counter(m, name):
    """A carp0 counter (carpctl -j stats)."""
    rc, out, _ = m.run("carpctl -j stats carp0", check=False)
    if rc != 0:
        return None
    found = []

    def walk(j):
        if isinstance(j, dict):
            for k, x in j.items():
                if k == name and isinstance(x, int):
                    found.append(x)
                else:
                    walk(x)
        elif isinstance(j, list):
            for x in j:
                walk(x)
    try:
        walk(json.loads(out))
    except ValueError:
        return None
    return found[0] if found else None


def mount_repo(m):
    """The local repository's disk, mounted as an administrator would."""
    m.run("mountpoint -q /srv/carp-repo || { udevadm settle -t 60; "
          "n=0; until [ -e /dev/disk/by-label/carp-repo ] || [ $n -ge 60 ]; do sleep 1; n=$((n+1)); done; "
          "mount -o ro LABEL=carp-repo /srv/carp-repo; }", timeout=180)


def booted(m, what):
    took, state, failed = m.wait_booted(300)
    note(f"{m.name}: {what}: systemd {state} after {took:.0f} s" + (f"; failed: {failed}" if failed else ""))
    return state, failed


def props(m, unit, *names):
    """A unit's properties (systemctl show), by name."""
    out = m.out(f"systemctl show -p {','.join(names)} {unit}")
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def reboot_both(a, b):
    for m in (a, b):
        m.shut_down_for_reboot()
    for m in (a, b):
        m.wait_rebooted()
    return {m.name: booted(m, "rebooted") for m in (a, b)}


if __name__ == "__main__":
    main()
