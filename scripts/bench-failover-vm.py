#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Runs inside the VM (scripts/bench.sh): failover measured side by side
for carp.ko, ucarp and keepalived (VRRPv2, VRRPv3) on the same network.

    bench-failover-vm.py KO [--failovers N] [--load-seconds S] [--smoke] ...

Topology: a bridge (namespace "lan"), the master m (192.0.2.11), the
backup b (.12) and a client c (.13). The contenders of a measurement run
side by side on that one LAN, each with its own vhid/VRID k and virtual
address 192.0.2.k, so they see the same failovers, the same loads and the
same moments. A sniffer on the bridge records every IP protocol 112 packet
(CARP and VRRP) with its kernel timestamp, its source and its vhid/VRID:
only a master advertises, so the sources tell who is master of what.

1. Takeover precision: the master fails N times silently, its wire cut
   at the switch ("cut": its bridge port set down; it can send nothing, as
   at a power loss or a crash), and N times by its own link set down
   ("link": an admin's action; carp bows out as its carpdev goes down, so
   its backup takes over at once; the daemons cannot send on a down link),
   restored in between. Figure: the gap between the master's last advertisement and
   the backup's first, minus the nominal master-down interval
   (carp/ucarp: 3 x advbase + advskew/256; VRRPv2: 3 x advert_int +
   (256 - priority)/256; VRRPv3: 3 x advert_int + (256 - priority) x
   advert_int/256), as median, p99 and max.
2. Client-visible outage: the client pings each virtual address every
   10 ms through each failover: probes lost per failover (median, max)
   and duplicates.
3. Sub-second intervals (carp advbase 0 at about 40 and 12 ms; keepalived
   VRRPv3 advert_int 0.04 and 0.01; ucarp has whole seconds only):
   precision and loss as above (silent failures, "cut"), and false takeovers (the
   backup advertising while the master lives) during S seconds under each
   load: (a) a busy loop per CPU, (b) a SCHED_FIFO busy loop per CPU, (c)
   a pktgen flood at the master's carpdev, (d) all three.
4. Scale: 32, 64, 128 and 255 carp devices (vhids 1..N) on one carpdev
   between two hosts, at the shortest interval of a ladder that gives no
   false takeover in the window; softirq time per vhid per second, memory
   per device; keepalived with as many VRRP instances at that interval
   (CPU time of its processes per instance per second, memory per
   instance, false takeovers).
Prints one table per measurement; figures only, no assertions.
"""
import argparse
import ctypes
import os
import re
import signal
import socket
import statistics
import struct
import subprocess
import threading
import time

HOSTS = {"m": "192.0.2.11", "b": "192.0.2.12", "c": "192.0.2.13"}
WORK = "/tmp/bench"
VERBOSE = os.environ.get("BENCH_VERBOSE") == "1"
libc = ctypes.CDLL(None, use_errno=True)
T0 = time.time()


def log(msg):
    """Progress on stderr-like comment lines, with the time into the run."""
    print(f"#   [{time.time() - T0:6.0f} s] {msg}", flush=True)


def run(cmd, check=True, quiet=True):
    r = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE if quiet else None,
                       stderr=subprocess.STDOUT, text=True)
    if check and r.returncode:
        raise RuntimeError(f"{cmd}: {r.stdout}")
    return r.stdout or ""


def batch(ns, lines):
    """ip -b in namespace ns (one process for many commands)."""
    subprocess.run(["ip"] + (["-n", ns] if ns else []) + ["-b", "-"], input="\n".join(lines) + "\n",
                   text=True, check=True, stdout=subprocess.DEVNULL)


def vip(k):
    """The virtual address of vhid/VRID k (1..255), a documentation range."""
    return f"192.0.2.{k}" if k <= 10 else f"198.51.100.{k}" if k <= 254 else "203.0.113.1"


class Sniffer(threading.Thread):
    """Every IPv4 protocol-112 frame on the bridge: (kernel time, source,
    vhid/VRID)."""

    def __init__(self):
        super().__init__(daemon=True)
        own = os.open("/proc/self/ns/net", os.O_RDONLY)
        lan = os.open("/run/netns/lan", os.O_RDONLY)
        libc.setns(lan, 0)
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
        self.s.bind(("br0", 0))
        libc.setns(own, 0)
        os.close(own)
        os.close(lan)
        self.s.setsockopt(socket.SOL_SOCKET, 35, 1)  # SO_TIMESTAMPNS
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
        self.events = []
        self.lock = threading.Lock()

    def run(self):
        while True:
            try:
                data, anc, _, _ = self.s.recvmsg(96, 64)
            except OSError:
                return
            if len(data) < 36 or data[23] != 112:
                continue
            off = 14 + (data[14] & 15) * 4
            if len(data) < off + 2:
                continue
            t = time.time()
            for lvl, typ, val in anc:
                if lvl == socket.SOL_SOCKET and typ == 35:
                    sec, nsec = struct.unpack("qq", val[:16])
                    t = sec + nsec / 1e9
            with self.lock:
                self.events.append((t, socket.inet_ntoa(data[26:30]), data[off + 1]))

    def since(self, t0, src=None, vhid=None):
        with self.lock:
            return [(t, s) for t, s, v in self.events
                    if t >= t0 and (src is None or s == src) and (vhid is None or v == vhid)]

    def last_before(self, t1, src, vhid):
        with self.lock:
            ts = [t for t, s, v in self.events if t < t1 and s == src and v == vhid]
        return ts[-1] if ts else None

    def by_vhid(self, t0, t1=None, src=None):
        """{vhid: [(time, source)]} of the frames in [t0, t1)."""
        out = {}
        with self.lock:
            for t, s, v in self.events:
                if t >= t0 and (t1 is None or t < t1) and (src is None or s == src):
                    out.setdefault(v, []).append((t, s))
        return out

    def catch_up(self, t, timeout=10.0):
        """Waits until a frame sent after t has been read (the thread may
        lag behind its socket buffer after a starved moment)."""
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                if self.events and self.events[-1][0] >= t:
                    return
            time.sleep(0.05)

    def trim(self, before):
        with self.lock:
            self.events = [e for e in self.events if e[0] >= before]


class Lan:
    def __init__(self, sniff=True):
        os.makedirs(WORK, exist_ok=True)
        batch(None, ["netns add lan"])
        batch("lan", ["link set lo up", "link add br0 type bridge", "link set br0 up",
                      "addr add 192.0.2.100/24 dev br0"])
        for h in HOSTS:
            self.add(h)
        self.sniffer = None
        if sniff:
            self.sniffer = Sniffer()
            self.sniffer.start()

    def add(self, h):
        batch(None, [f"netns add {h}"])
        batch("lan", [f"link add v{h} type veth peer name eth0 netns {h}", f"link set dev v{h} master br0 up"])
        batch(h, ["link set lo up", f"addr add {HOSTS[h]}/24 dev eth0", "link set eth0 up"])
        if h == "m":
            # carp's master takes back over when it returns (the daemons:
            # ucarp -P, keepalived's higher priority).
            run("ip netns exec m sysctl -qw net.inet.carp.preempt=1")

    def remove(self, h):
        run(f"ip netns del {h}", check=False)
        run(f"ip -n lan link del v{h}", check=False)

    def close(self):
        if self.sniffer:
            self.sniffer.s.close()
        for h in list(HOSTS) + ["lan"]:
            run(f"ip netns del {h}", check=False)
        time.sleep(0.5)
        log("LAN removed")


class Carp:
    """carp.ko: device carpK, vhid K."""
    daemon = False

    def __init__(self, k, advbase, skew_m, skew_b):
        self.k, self.name = k, "carp"
        self.a, self.skews = advbase, {"m": skew_m, "b": skew_b}
        self.interval = advbase + skew_m / 256
        self.nominal = 3 * advbase + skew_b / 256

    def start(self, h):
        # ip(8) with link_carp.so: one process for the device.
        batch(h, [f"link add carp{self.k} link eth0 type carp vhid {self.k} advbase {self.a} "
                  f"advskew {self.skews[h]} pass secret",
                  f"addr add {vip(self.k)}/24 dev carp{self.k}", f"link set carp{self.k} up"])

    def exited(self, h):
        return False

    def stop_all(self):
        pass


class Daemon:
    daemon = True

    def kill(self, h):
        for p in self.pids(h):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        p = self.procs.pop(h, None)
        if p:
            p.wait()

    def pids(self, h):
        p = self.procs.get(h)
        return [p.pid] if p else []

    def exited(self, h):
        p = self.procs.get(h)
        return p is not None and p.poll() is not None

    def stop_all(self):
        for h in list(self.procs):
            self.kill(h)


class Ucarp(Daemon):
    def __init__(self, k, advbase, skew_m, skew_b):
        self.k, self.name = k, "ucarp"
        self.procs, self.restarts = {}, 0
        self.a, self.skews = advbase, {"m": skew_m, "b": skew_b}
        self.interval = advbase + skew_m / 256
        self.nominal = 3 * advbase + skew_b / 256
        os.makedirs(WORK, exist_ok=True)
        for what, cmd in (("up", "add"), ("down", "del")):
            with open(f"{WORK}/{what}{k}.sh", "w") as f:
                f.write(f"#!/bin/sh\nip addr {cmd} {vip(k)}/24 dev \"$1\" 2>/dev/null\nexit 0\n")
            os.chmod(f"{WORK}/{what}{k}.sh", 0o755)

    def start(self, h):
        pre = ["-P"] if h == "m" else []
        self.procs[h] = subprocess.Popen(
            ["ip", "netns", "exec", h, "ucarp", "-i", "eth0", "-s", HOSTS[h], "-v", str(self.k),
             "-p", "secret", "-a", vip(self.k), "-b", str(self.a), "-k", str(self.skews[h]),
             "-u", f"{WORK}/up{self.k}.sh", "-d", f"{WORK}/down{self.k}.sh", "-n"] + pre,
            stdout=open(f"{WORK}/ucarp{self.k}-{h}.log", "a"), stderr=subprocess.STDOUT)


class Keepalived(Daemon):
    """One keepalived process per host with `count` VRRP instances (VRIDs
    k..k+count-1)."""

    def __init__(self, k, version, advert_int, prio_m=200, prio_b=100, count=1):
        self.k, self.count = k, count
        self.name = f"keepalived VRRPv{version}"
        self.procs, self.restarts = {}, 0
        self.v, self.i, self.prio = version, advert_int, {"m": prio_m, "b": prio_b}
        self.interval = advert_int
        skew = (256 - prio_b) / 256 * (advert_int if version == 3 else 1)
        self.nominal = 3 * advert_int + skew

    def start(self, h):
        tag = f"{self.k}-{h}"
        conf = f"{WORK}/ka{tag}.conf"
        inst = "".join(f"""vrrp_instance V{i} {{
  state BACKUP
  interface eth0
  virtual_router_id {i}
  priority {self.prio[h]}
  advert_int {self.i}
  virtual_ipaddress {{
    {vip(i)}/24
  }}
}}
""" for i in range(self.k, self.k + self.count))
        with open(conf, "w") as f:
            f.write(f"""global_defs {{
  router_id {h}{self.k}
  vrrp_version {self.v}
  vrrp_garp_master_repeat 1
  vrrp_garp_master_refresh 0
}}
{inst}""")
        for p in ("", "-vrrp", "-chk"):
            try:
                os.unlink(f"{WORK}/ka{tag}{p}.pid")
            except OSError:
                pass
        self.procs[h] = subprocess.Popen(
            ["ip", "netns", "exec", h, "keepalived", "-n", "-P", "-f", conf, "-p", f"{WORK}/ka{tag}.pid",
             "-r", f"{WORK}/ka{tag}-vrrp.pid", "-c", f"{WORK}/ka{tag}-chk.pid", "--dont-respawn"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def pids(self, h):
        out = super().pids(h)
        try:
            out.append(int(open(f"{WORK}/ka{self.k}-{h}-vrrp.pid").read()))
        except (OSError, ValueError):
            pass
        return out


def pct(vals, p):
    v = sorted(vals)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def only_master(recent, who, c, now):
    """`who` alone has advertised vhid c.k lately (recent: by_vhid), and
    recently."""
    quiet = max(1.0, 2.5 * c.interval)
    ev = [(t, s) for t, s in recent.get(c.k, ()) if t >= now - quiet]
    return bool(ev) and all(s == HOSTS[who] for _, s in ev) and now - ev[-1][0] < 2 * c.interval + 0.5


def wait_master(lan, who, cs, timeout=20.0):
    """Until `who` is the only master of every contender in cs; returns the
    ones that did not get there."""
    end = time.time() + timeout
    left = list(cs)
    while left and time.time() < end:
        now = time.time()
        recent = lan.sniffer.by_vhid(now - max(1.0, 4 * max(c.interval for c in left)))
        left = [c for c in left if not only_master(recent, who, c, now)]
        if left:
            time.sleep(0.2)
    return left


class Pings:
    """The client pings every contender's virtual address every 10 ms."""

    def __init__(self, cs):
        self.p = {c.k: subprocess.Popen(["ip", "netns", "exec", "c", "ping", "-n", "-q", "-i", "0.01", "-W", "1",
                                         vip(c.k)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                  for c in cs}

    def stop(self):
        """{k: (lost, duplicates)}"""
        for p in self.p.values():
            p.send_signal(signal.SIGINT)
        out = {}
        for k, p in self.p.items():
            tx = rx = dup = 0
            for line in p.communicate()[0].splitlines():
                m = re.search(r"(\d+) packets transmitted, (\d+) received", line)
                if m:
                    tx, rx = int(m.group(1)), int(m.group(2))
                    d = re.search(r"\+(\d+) duplicates", line)
                    dup = int(d.group(1)) if d else 0
            out[k] = (tx - rx, dup)
        return out


def start_all(cs, hosts=("b", "m")):
    for h in hosts:
        for c in cs:
            c.start(h)


def failovers(lan, cs, n, kinds=("cut", "link"), restore_last=True):
    """n failovers of each kind for the contenders cs, side by side;
    returns {c.k: {kind: [(excess s, lost, dup)]}}."""
    res = {c.k: {k: [] for k in kinds} for c in cs}
    late = wait_master(lan, "m", cs, timeout=30)
    for c in late:
        print(f"#   {c.name}: m never became the only master")
    live = [c for c in cs if c not in late]
    for kind in kinds:
        for i in range(n):
            if not live:
                return res
            pings = Pings(live)
            time.sleep(0.3)
            t_kill = time.time()
            if kind == "link":
                batch("m", ["link set eth0 down"])
            else:
                # The switch's side: m notices only its carrier's loss.
                batch("lan", ["link set vm down"])
            deadline = t_kill + max(c.nominal for c in live) * 3 + 5
            first = {}
            while time.time() < deadline and len(first) < len(live):
                for c in live:
                    if c.k not in first:
                        ev = lan.sniffer.since(t_kill - 0.01, HOSTS["b"], c.k)
                        if ev:
                            first[c.k] = ev[0][0]
                time.sleep(0.01)
            if len(first) < len(live):
                # The sniffer's thread may lag behind its socket buffer (a
                # slow VM): once it has read past the deadline, look again.
                lan.sniffer.catch_up(deadline)
                for c in live:
                    ev = lan.sniffer.since(t_kill - 0.01, HOSTS["b"], c.k)
                    if c.k not in first and ev:
                        first[c.k] = ev[0][0]
            time.sleep(max(0.5, 3 * max(c.interval for c in live)))
            lost = pings.stop()
            for c in live:
                f = first.get(c.k)
                last = lan.sniffer.last_before(f, HOSTS["m"], c.k) if f else None
                if VERBOSE:
                    near = [(round(t - t_kill, 3), s) for t, s in lan.sniffer.since(t_kill - 3, vhid=c.k)
                            if t < t_kill + 6]
                    print(f"#   {c.name} {kind}: kill at 0, adverts around it {near}")
                if f and last:
                    res[c.k][kind].append((f - last - c.nominal, *lost[c.k]))
            # Restore the master (not after the last failover if the
            # caller tears the LAN down next).
            if not restore_last and kind == kinds[-1] and i == n - 1:
                break
            if kind == "link":
                batch("m", ["link set eth0 up"])
            else:
                batch("lan", ["link set vm up"])
            # ucarp exits when its interface goes down (POLLERR on its
            # capture): restarted, as a supervisor would.
            for c in live:
                if c.exited("m"):
                    c.restarts += 1
                    c.start("m")
            for c in wait_master(lan, "m", live):
                print(f"#   {c.name}: m did not take back over after {kind} failover {i + 1}")
                if isinstance(c, Ucarp):
                    print(run(f"tail -n 8 {WORK}/ucarp{c.k}-m.log {WORK}/ucarp{c.k}-b.log", check=False))
                live.remove(c)
            lan.sniffer.trim(time.time() - 10)
        log(f"{n} {kind} failovers done")
    return res


def loads(kind, ncpu):
    """Starts a load; returns a function that stops it. (Each load gets its
    scheduling policy explicitly: the caller runs SCHED_FIFO.)"""
    procs = []
    stops = []
    if kind in ("busy", "all"):
        procs += [subprocess.Popen(["chrt", "-o", "0", "sh", "-c", "while :; do :; done"]) for _ in range(ncpu)]
    if kind in ("fifo", "all"):
        procs += [subprocess.Popen(["chrt", "-f", "50", "sh", "-c", "while :; do :; done"]) for _ in range(ncpu)]
    if kind in ("flood", "all"):
        mac = run("ip -n m -br link show eth0").split()[2]
        pg = ("d=/proc/net/pktgen; echo rem_device_all > $d/kpktgend_0; echo add_device eth0 > $d/kpktgend_0; "
              "for c in 'count 0' 'delay 0' 'pkt_size 60' 'dst 192.0.2.11' 'dst_mac " + mac + "' "
              "'udp_dst_min 9' 'udp_dst_max 9'; do echo $c > $d/eth0; done; echo start > $d/pgctrl")
        procs.append(subprocess.Popen(["chrt", "-o", "0", "ip", "netns", "exec", "c", "sh", "-c", pg],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        stops.append(lambda: run("ip netns exec c sh -c 'echo stop > /proc/net/pktgen/pgctrl'", check=False))

    def stop():
        for s in stops:
            s()
        for p in procs:
            p.kill()
            p.wait()
    return stop


def bursts(lan, cs, t0, t1):
    """{c.k: the backup's takeovers of vhid c.k in [t0, t1)}: runs of its
    adverts separated by more than a master-down interval."""
    ev = lan.sniffer.by_vhid(t0, t1, HOSTS["b"])
    out = {}
    for c in cs:
        n, prev = 0, None
        for t, _ in ev.get(c.k, ()):
            if prev is None or t - prev > 3 * c.interval + 0.05:
                n += 1
            prev = t
        out[c.k] = n
    return out


def false_takeovers(lan, cs, secs, kinds, ncpu):
    """{c.k: {load: false takeovers}} for the contenders cs, side by side
    under each load in turn."""
    out = {c.k: {} for c in cs}
    late = wait_master(lan, "m", cs, timeout=30)
    for k in kinds:
        # The bench's own thread above the SCHED_FIFO hogs (priority 50):
        # it must stop them on time. (Linux: this thread only; the
        # sniffer's thread stays SCHED_OTHER and catches up afterwards
        # from its socket buffer, the frames carrying kernel timestamps.)
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(60))
        try:
            t0 = time.time()
            stop = loads(k, ncpu)
            time.sleep(secs)
            stop()
        finally:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        lan.sniffer.catch_up(t0 + secs)
        b = bursts(lan, cs, t0, t0 + secs)
        for c in cs:
            out[c.k][k] = None if c in late else b[c.k]
        log(f"{secs} s under load {k}")
        late = wait_master(lan, "m", cs)
        lan.sniffer.trim(time.time() - 10)
    return out


def mem_kb():
    m = {}
    for line in open("/proc/meminfo"):
        k, v = line.split(":")
        m[k] = int(v.split()[0])
    return m["MemTotal"] - m["MemFree"] - m.get("Cached", 0) - m.get("Buffers", 0)


def proc_cpu_rss(pids):
    """CPU seconds (user + system) and RSS KB of the processes pids and
    their children (keepalived forks its VRRP process)."""
    hz = os.sysconf("SC_CLK_TCK")
    cpu = rss = 0
    for pid in pids:
        try:
            st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            cpu += (int(st[11]) + int(st[12])) / hz
            rss += int(st[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, IndexError, ValueError):
            pass
    return cpu, rss


PERF = "/tmp/bench-carp.perf"


def carp_cpu_window(secs, cnt, hz=int(os.environ.get("BENCH_PERF_HZ", "499"))):
    """Samples every CPU's stack `hz` times a second for `secs` seconds
    (perf record -a -g, cpu-clock) while counting the backup's
    advertisements: (carp's CPU seconds, softirq CPU seconds, the backup's
    advertisements), carp's time being the samples with a frame of the
    carp module anywhere on the stack (its timers, receive path and what
    they call: HMAC, the transmit path), softirq's those inside softirq
    processing. (None, None, n) without perf."""
    _, b0 = cnt.read()
    try:
        rec = subprocess.run(["perf", "record", "-q", "-a", "-g", "-e", "cpu-clock", "-F", str(hz),
                              "-o", PERF, "--", "sleep", str(secs)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        err = rec.stderr.strip()[-200:] if rec.returncode else None
    except OSError as e:  # no perf: the window without it
        time.sleep(secs)
        err = str(e)
    ft = cnt.read()[1] - b0
    if err is not None:
        log(f"perf record failed: {err}")
        return None, None, ft
    out = subprocess.run(["perf", "script", "-i", PERF, "-F", "ip,sym,dso"],
                         capture_output=True, text=True).stdout
    carp = soft = 0
    for sample in out.split("\n\n"):
        if not sample.strip():
            continue
        carp += "[carp]" in sample
        soft += "handle_softirqs" in sample or "__do_softirq" in sample
    keep = os.environ.get("BENCH_KEEP_PERF")
    if keep:  # a directory: the profile of each window, for perf report
        os.rename(PERF, f"{keep}/scale-{time.time():.0f}.perf")
    else:
        os.unlink(PERF)
    return carp / hz, soft / hz, ft


def carp_scale_devices(h, n, advbase, skew):
    # ip(8) with link_carp.so: one process per host.
    batch(h, [f"link add carp{i} link eth0 type carp vhid {i} advbase {advbase} advskew {skew} pass secret"
              for i in range(1, n + 1)] +
          [f"addr add {vip(i)}/32 dev carp{i}" for i in range(1, n + 1)] +
          [f"link set carp{i} up" for i in range(1, n + 1)])


def carp_set_interval(h, n, advbase, skew):
    batch(h, [f"link set carp{i} type carp advbase {advbase} advskew {skew}" for i in range(1, n + 1)])


# Candidate intervals for the scale runs, shortest first: (advbase, the
# master's advskew, the backup's).
LADDER = [(0, 3, 9), (0, 10, 30), (0, 50, 150), (1, 0, 100)]


def interval_name(a, sm):
    return f"{(a + sm / 256) * 1000:.0f}ms"


class AdvertCounters:
    """Kernel counters of the IP protocol 112 frames that reach the bridge
    from m and from b (nftables, bridge prerouting): the scale runs send up
    to 21 000 advertisements per second, more than a Python sniffer
    reads under TCG. A backup host that sends nothing took nothing over."""

    def __init__(self):
        subprocess.run(["ip", "netns", "exec", "lan", "nft", "-f", "-"], check=True, text=True, input="""
table bridge bench {
  counter m { }
  counter b { }
  chain pre {
    type filter hook prerouting priority 0; policy accept;
    ip saddr 192.0.2.11 ip protocol 112 counter name m
    ip saddr 192.0.2.12 ip protocol 112 counter name b
  }
}
""")

    def read(self):
        out = run("ip netns exec lan nft list counters table bridge bench")
        c = dict(re.findall(r"counter (\w+) \{\s*packets (\d+)", out))
        return int(c.get("m", 0)), int(c.get("b", 0))

    def settle(self, n, interval, timeout):
        """Until m advertises (at least n frames in a window) and b is
        silent for max(1 s, 4 intervals); False on timeout."""
        w = max(1.0, 4 * interval)
        end = time.time() + timeout
        while time.time() < end:
            m0, b0 = self.read()
            time.sleep(w)
            m1, b1 = self.read()
            if b1 == b0 and m1 - m0 >= n:
                return True
        return False

    def window(self, secs):
        """The backup host's advertisements during secs seconds."""
        _, b0 = self.read()
        time.sleep(secs)
        return self.read()[1] - b0


def scale(sizes, screen, secs, ka_secs, with_ka, settle_s=15, ladder=LADDER):
    """Per size: the shortest LADDER interval with no advertisement from
    the backup host in a `screen`-second window and then none in the
    `secs`-second window that measures carp's CPU time (a rung that fails
    the long window is left for the next); memory per device; then
    keepalived with as many instances at that interval over `ka_secs`.
    Rows: (n, KB per device, interval, carp us/vhid/s, softirq us/vhid/s,
    carp us per advertisement, the backup's adverts, keepalived figures,
    the rungs that failed the long window)."""
    rows = []
    for n in sizes:
        lan = Lan(sniff=False)
        try:
            cnt = AdvertCounters()
            before = mem_kb()
            a, sm, sb = ladder[0]
            carp_scale_devices("m", n, a, sm)
            carp_scale_devices("b", n, a, sb)
            per_dev = (mem_kb() - before) / (2 * n)
            log(f"scale {n}: {2 * n} devices created")
            chosen, failed = None, []
            for rung, (a, sm, sb) in enumerate(ladder):
                if rung:
                    carp_set_interval("m", n, a, sm)
                    carp_set_interval("b", n, a, sb)
                iv = a + sm / 256
                settled = cnt.settle(n, iv, settle_s + 3 * iv)
                ft = cnt.window(screen) if settled else None
                log(f"scale {n}: {interval_name(a, sm)}: "
                    + (f"the backup sent {ft} adverts in {screen} s" if settled else "did not settle"))
                if ft != 0:
                    continue
                m0 = cnt.read()[0]
                carp_s, soft_s, ft = carp_cpu_window(secs, cnt)
                sent = cnt.read()[0] - m0
                log(f"scale {n}: {interval_name(a, sm)}: the backup sent {ft} adverts in {secs} s")
                if ft == 0:
                    chosen = (a, sm, sb)
                    break
                failed.append(f"{interval_name(a, sm)}: {ft}")
            if chosen is None:
                rows.append((n, per_dev, None, None, None, None, None, None, failed))
                continue
            carp_us = None if carp_s is None else carp_s * 1e6 / secs / n
            soft_us = None if soft_s is None else soft_s * 1e6 / secs / n
            # Each advertisement is sent by m and received by b: carp's
            # time per advertisement covers both ends.
            per_adv = None if carp_s is None or not sent else carp_s * 1e6 / sent
            ka = None
            if with_ka:
                batch("m", [f"link del carp{i}" for i in range(1, n + 1)])
                batch("b", [f"link del carp{i}" for i in range(1, n + 1)])
                # (keepalived either settles within seconds or not at all
                # at that interval: 10 s at most.)
                ka = scale_keepalived(cnt, n, chosen[0] + chosen[1] / 256, ka_secs, min(settle_s, 10))
            rows.append((n, per_dev, interval_name(*chosen[:2]), carp_us, soft_us, per_adv, ft, ka, failed))
            log(f"scale {n} done")
        finally:
            lan.close()
    return rows


def scale_keepalived(cnt, n, interval, secs, settle_s):
    """keepalived VRRPv3 with n instances (VRIDs 1..n) at `interval`
    (rounded to its centiseconds): (CPU us per instance per s, RSS KB per
    instance, the backup's advertisements in secs s, settled)."""
    iv = max(0.01, round(interval, 2))
    ka = Keepalived(1, 3, iv, count=n)
    try:
        start_all([ka])
        settled = cnt.settle(n, iv, settle_s)
        pids = [p for h in ("m", "b") for p in ka.pids(h)]
        c0, _ = proc_cpu_rss(pids)
        t0 = time.time()
        ft = cnt.window(secs)
        t1 = time.time()
        c1, rss = proc_cpu_rss(pids)
        return ((c1 - c0) * 1e6 / (t1 - t0) / n, rss / n, ft, settled)
    finally:
        ka.stop_all()


def ratio(mine, best):
    """`, ratio R` of carp's figure to the best contender's (lower is
    better), when both are positive."""
    return f", ratio {mine / best:.2f}" if mine > 0 and best > 0 else ""


def fmt(v, unit="ms", scale_=1000):
    return "-" if v is None else f"{v * scale_:.1f} {unit}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ko")
    ap.add_argument("--failovers", type=int, default=10, help="per kind (cut, link) at 1 s intervals")
    ap.add_argument("--fast-failovers", type=int, default=20)
    ap.add_argument("--load-seconds", type=int, default=60)
    ap.add_argument("--scale", default="32,64,128,255")
    ap.add_argument("--scale-screen", type=int, default=5)
    ap.add_argument("--scale-seconds", type=int, default=60)
    ap.add_argument("--ka-seconds", type=int, default=15, help="scale: keepalived's window")
    ap.add_argument("--no-scale-keepalived", action="store_true")
    ap.add_argument("--settle", type=int, default=15, help="scale: seconds for an interval to settle")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--only", help="run only the contenders whose name contains this")
    ap.add_argument("--parts", default="1,3,4", help="the measurements to run: 1 (1 s intervals, with 2), "
                    "3 (sub-second), 4 (scale)")
    a = ap.parse_args()
    if a.smoke:
        # One iteration of each measurement (silent failures ("cut") only, one load
        # with every kind of pressure, 8 devices): make check's smoke run,
        # not figures.
        a.failovers, a.fast_failovers, a.load_seconds = 1, 1, 1
        # (The scale part from the ~200 ms rung: on the debug kernel the
        # shorter ones take the single vCPU.)
        a.scale, a.scale_screen, a.scale_seconds, a.ka_seconds, a.settle = "8", 1, 1, 1, 3
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    os.environ["PATH"] = f"{top}/tools/target/release:" + os.environ["PATH"]
    # ip(8) understands `type carp vhid ...` with the link_carp.so plugin.
    if os.environ.get("CARP_IPROUTE2"):
        os.environ["IP_LIB_DIR"] = os.environ["CARP_IPROUTE2"] + "/lib"
    if not os.path.exists("/sys/module/carp"):
        run(f"insmod {a.ko}")
    run("ip link set lo up")
    ncpu = os.cpu_count() or 1
    print(f"# failover bench: kernel {os.uname().release}, {ncpu} CPUs (qemu TCG: compare ratios)")

    def pick(cs):
        return [c for c in cs if not a.only or a.only in c.name]

    # 1 and 2: the classic interval, every contender, side by side.
    parts = a.parts.split(",")
    classic = pick([Carp(1, 1, 0, 100), Ucarp(2, 1, 0, 100), Keepalived(3, 2, 1), Keepalived(4, 3, 1)])
    if "1" not in parts:
        classic = []
    kinds = ("cut",) if a.smoke else ("cut", "link")
    print(f"\n1-2. Takeover at 1 s intervals: gap - nominal master-down (ms), probes lost per failover "
          f"({a.failovers} failovers per kind, contenders side by side)")
    print(f"  {'contender':22} {'kind':5} {'nominal':>8} {'median':>9} {'p99':>9} {'max':>9} "
          f"{'lost med':>8} {'lost max':>8} {'dups':>5}")
    table = []
    if classic:
        lan = Lan()
        try:
            start_all(classic)
            log("contenders started")
            res = failovers(lan, classic, a.failovers, kinds, restore_last=False)
        finally:
            for c in classic:
                c.stop_all()
            lan.close()
        for c in classic:
            for kind, rows in res[c.k].items():
                if not rows:
                    print(f"  {c.name:22} {kind:5} no takeover measured")
                    continue
                ex = [r[0] for r in rows]
                lost = [r[1] for r in rows]
                med = statistics.median(ex)
                table.append((c.name, kind, med))
                print(f"  {c.name:22} {kind:5} {c.nominal:7.3f}s {med * 1000:8.1f} {pct(ex, 99) * 1000:8.1f} "
                      f"{max(ex) * 1000:8.1f} {statistics.median(lost):8.0f} {max(lost):8d} "
                      f"{sum(r[2] for r in rows):5d}")
        for c in classic:
            if getattr(c, "restarts", 0):
                print(f"  {c.name}: exited on its master's link or carrier loss {c.restarts} times (restarted)")
        for name, kind, med in table:
            if name == "carp":
                b = [m for n2, k2, m in table if k2 == kind and n2 != "carp"]
                if b:
                    print(f"  carp vs best other ({kind}): median excess {med * 1000:.1f} ms vs "
                          f"{min(b) * 1000:.1f} ms{ratio(med, min(b))}")

    # 3: sub-second intervals, precision and false takeovers under load.
    fast = [(Carp(5, 0, 10, 30), "~40 ms"), (Keepalived(6, 3, 0.04), "~40 ms"),
            (Carp(7, 0, 3, 9), "~12 ms"), (Keepalived(8, 3, 0.01), "~12 ms")]
    if a.smoke:
        # The ~40 ms class only: four sub-second contenders and their
        # pings are more than the debug kernel's single vCPU keeps up with.
        fast = fast[:2]
    fast = [(c, cls) for c, cls in fast if (not a.only or a.only in c.name) and "3" in parts]
    lkinds = ["all"] if a.smoke else ["busy", "fifo", "flood", "all"]
    print(f"\n3. Sub-second intervals: takeover (wire cut, {a.fast_failovers} failovers) and false "
          f"takeovers in {a.load_seconds} s per load (contenders side by side)")
    print(f"  {'contender':22} {'class':7} {'nominal':>8} {'median':>8} {'p99':>8} {'max':>8} {'lost max':>8} "
          + " ".join(f"{k:>6}" for k in lkinds))
    if fast:
        cs = [c for c, _ in fast]
        lan = Lan()
        try:
            start_all(cs)
            log("contenders started")
            res = failovers(lan, cs, a.fast_failovers, ("cut",))
            ft = false_takeovers(lan, cs, a.load_seconds, lkinds, ncpu)
        finally:
            for c in cs:
                c.stop_all()
            lan.close()
        meds = {}
        for c, cls in fast:
            rows = res[c.k]["cut"]
            if rows:
                meds[(c.name, cls)] = (statistics.median(r[0] for r in rows),
                                       sum(v or 0 for v in ft[c.k].values()))
            ex = [r[0] for r in rows]
            med = fmt(statistics.median(ex)) if ex else "-"
            p99 = fmt(pct(ex, 99)) if ex else "-"
            mx = fmt(max(ex)) if ex else "-"
            lmax = max((r[1] for r in rows), default=0)
            print(f"  {c.name:22} {cls:7} {c.nominal * 1000:6.0f}ms {med:>8} {p99:>8} {mx:>8} {lmax:8d} "
                  + " ".join(f"{'-' if ft[c.k].get(k) is None else ft[c.k][k]:>6}" for k in lkinds))
        for cls in dict.fromkeys(cls for _, cls in fast):
            mine = meds.get(("carp", cls))
            other = [v for (n2, c2), v in meds.items() if c2 == cls and n2 != "carp"]
            if mine and other:
                best = min(other)
                print(f"  carp vs best other ({cls}): median excess {mine[0] * 1000:.1f} ms vs "
                      f"{best[0] * 1000:.1f} ms{ratio(mine[0], best[0])}; false takeovers under all "
                      f"loads {mine[1]} vs {min(o[1] for o in other)}")
    print("  ucarp: whole-second advbase only (no sub-second interval)")

    # 4: scale.
    if (not a.only or a.only in "carp") and "4" in parts:
        sizes = [int(x) for x in a.scale.split(",")]
        with_ka = not a.no_scale_keepalived and not a.only
        print(f"\n4. Scale: N carp devices on one carpdev between two hosts, at the shortest interval of "
              f"{', '.join(interval_name(x, y) for x, y, _ in (LADDER[2:] if a.smoke else LADDER))} "
              f"with no false takeover in a {a.scale_screen} s screen and then in {a.scale_seconds} s "
              f"(the figures' window)"
              + (f"; keepalived VRRPv3 with N instances at that interval over {a.ka_seconds} s"
                 if with_ka else ""))
        print("  (false: advertisements from the backup host in the window, 0 = no false takeover;")
        print("   carp us: CPU time with a carp frame on the stack, perf samples at 499 Hz on every CPU;")
        print("   softirq us: all softirq processing (carp's and the bridge's, veth's, the stack's);")
        print("   both per vhid per second, counting both hosts' devices of that vhid; us/adv: carp's")
        print("   time per advertisement, sent by one host and received by the other)")
        print(f"  {'N':>4} {'interval':>9} {'carp KB/dev':>11} {'carp us/vhid/s':>14} {'softirq us/vhid/s':>17} "
              f"{'us/adv':>6} {'false':>5}"
              + (f" {'ka us/inst/s':>12} {'ka KB/inst':>10} {'ka false':>8} {'ka settled':>10}" if with_ka else ""))
        num = lambda v, w: f"{'-' if v is None else f'{v:.1f}':>{w}}"  # noqa: E731
        for n, mem, iv, own, soft, adv, ftc, ka, failed in scale(
                sizes, a.scale_screen, a.scale_seconds, a.ka_seconds, with_ka, a.settle,
                LADDER[2:] if a.smoke else LADDER):
            if iv is None:
                print(f"  {n:4d} {'none':>9} {mem:11.1f}   (false takeovers at every interval of the ladder)")
                continue
            line = f"  {n:4d} {iv:>9} {mem:11.1f} {num(own, 14)} {num(soft, 17)} {num(adv, 6)} {ftc:5d}"
            if ka:
                line += f" {ka[0]:12.1f} {ka[1]:10.1f} {ka[2]:8d} {'yes' if ka[3] else 'no':>10}"
            print(line)
            if ka and own:
                print(f"       (carp's CPU per vhid vs keepalived's per instance: ratio {own / ka[0]:.2f})")
            if failed:
                print(f"       (backup advertisements in the {a.scale_seconds} s window at shorter intervals: "
                      f"{', '.join(failed)})")
    print(f"\n# failover bench done in {time.time() - T0:.0f} s")


main()
