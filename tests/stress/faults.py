#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Fault injection over carp's configuration paths (fail-nth: failslab and
fail_page_alloc).

    faults.py PATH [--stride N] [--max N] [--ko CARP_KO]

PATH is one of: newlink, dev-set, carpnodes, addr4, addr6, subnet,
modinit, state-ntf. Each runs its operation with fail-nth = 1, 1 + N, 1 + 2N, ...
(N = --stride, 1 for every point) until one run completes without
reaching its fault point; every run is then checked:
- a refused operation (an error to userspace) left nothing behind: the
  configuration before it, or no device at all;
- an accepted one (the fault hit a path that recovers, e.g. a
  notification) has its whole effect;
- nothing else: no half-configured device.
state-ntf (a forced state change, MASTER -> BACKUP, while a listener is
subscribed to the events group): a change that happened reached the
listener, as a state-ntf or as an overrun (ENOBUFS: it then reads the
states again); never lost in silence.
The topology is set up by the caller (faults.sh): carp0 on eth0 (vhid 1),
carp1 on eth0 (carpnodes 2:0,3:100), eth1 in 198.51.100.0/24.
Prints "faults: PATH: P fault points, H hit, V violations"; exits 1 on
violations.
"""
import argparse
import ctypes
import errno
import os
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nl import (A_ADVBASE, A_ADVSKEW, A_CARPDEV, A_IFINDEX, A_NODE, A_PASS,  # noqa: E402
                A_PEER, A_STATE, A_VHID, CARP_CMD_DEV_SET, CARP_CMD_STATE_NTF,
                STATE_BACKUP, STATE_MASTER, IFA_F_NODAD, IFA_FLAGS,
                IFA_LOCAL, IFA_ADDRESS, IFLA_CARP_BALANCING, IFLA_CARP_CARPNODES,
                IFLA_CARP_PASS, IFLA_CARP_VHID, IFLA_IFNAME, IFLA_INFO_DATA,
                IFLA_INFO_KIND, IFLA_LINK, IFLA_LINKINFO, NLA_F_NESTED,
                NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST,
                RTM_DELADDR, RTM_DELLINK, RTM_NEWADDR, RTM_NEWLINK, FailNth,
                Genl, Sock, attr, ifindex, ifinfo, parse_attrs, u32)

RT = Sock(socket.NETLINK_ROUTE)
FAIL = FailNth()


def genl():
    try:
        return Genl("carp")
    except OSError:
        return None


def cfg(g, dev):
    """What a carp device's configuration is, as dev-get reports it (no
    state, no demotion), or None when it does not exist."""
    i = ifindex(dev)
    if not i:
        return None
    a = g.dev(i)
    if a is None:
        return None
    keep = (A_CARPDEV, A_VHID, A_ADVSKEW, A_ADVBASE, A_PASS, A_PEER, 10)
    c = {k: a.get(k) for k in keep}
    # The entries' vhid and skew (their states follow the election).
    c[A_NODE] = [(n.get(1), n.get(2)) for n in map(parse_attrs, a.get(A_NODE, []))]
    return c


def addrs(dev):
    """The addresses of `dev` (`ip -j` would start a process per check)."""
    out = set()
    with open("/proc/net/if_inet6") as f:
        for line in f:
            p = line.split()
            if p[5] == dev:
                out.add(p[0])
    import fcntl
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        r = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("16s16x", dev.encode()))  # SIOCGIFADDR
        out.add(socket.inet_ntoa(r[20:24]))
    except OSError:
        pass
    s.close()
    return out


def linkinfo(data):
    return attr(IFLA_LINKINFO | NLA_F_NESTED, attr(IFLA_INFO_KIND, b"carp\0") + attr(IFLA_INFO_DATA | NLA_F_NESTED, data))


def ifaddr(family, plen, index, addr, flags=0):
    body = struct.pack("=BBBBi", family, plen, 0, 0, index)
    raw = socket.inet_pton(family, addr)
    body += attr(IFA_LOCAL, raw) + attr(IFA_ADDRESS, raw)
    if flags:
        body += attr(IFA_FLAGS, u32(flags))
    return body


class Path:
    """One configuration path: `prepare` (no fault), `run(nth)` -> (hit,
    errno or None when the answer was lost), `state()` to compare, and
    `undo` after an accepted run."""

    def __init__(self, g):
        self.g = g

    def prepare(self):
        pass

    def undo(self):
        pass


class NewLink(Path):
    """Device creation by rtnetlink, with every setting at once."""
    name = "fi0"

    def run(self, nth):
        data = attr(IFLA_CARP_VHID, u32(7)) + attr(IFLA_CARP_PASS, b"secret")
        body = ifinfo() + attr(IFLA_IFNAME, self.name.encode() + b"\0")
        body += attr(IFLA_LINK, u32(ifindex("eth0"))) + linkinfo(data)
        err, _, _, hit = RT.request(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                                    body, FAIL, nth)
        return hit, err

    def state(self):
        c = cfg(self.g, self.name)
        return None if c is None else (c[A_VHID], c[A_CARPDEV])

    def before(self):
        return None

    def after(self):
        return ([u32(7)], [u32(ifindex("eth0"))])

    def undo(self):
        RT.request(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, ifinfo() + attr(IFLA_IFNAME, self.name.encode() + b"\0"))


class DevSet(Path):
    """genetlink dev-set of several settings on a running device."""
    dev = "carp0"
    new = {A_ADVSKEW: 50, A_ADVBASE: 2, A_PASS: b"newpass", A_PEER: 0x4D6433C6}

    def prepare(self):
        self.old = cfg(self.g, self.dev)

    def request(self, values):
        a = attr(A_IFINDEX, u32(ifindex(self.dev)))
        for k, v in values.items():
            a += attr(k, v if isinstance(v, bytes) else u32(v))
        return a

    def run(self, nth):
        err, _, _, hit = self.g.cmd(CARP_CMD_DEV_SET, NLM_F_ACK, self.request(self.new), FAIL, nth)
        return hit, err

    def state(self):
        return cfg(self.g, self.dev)

    def before(self):
        return self.old

    def matches_after(self, s):
        return all(s.get(k) == [v if isinstance(v, bytes) else u32(v)] for k, v in self.new.items())

    def undo(self):
        old = {A_ADVSKEW: 0, A_ADVBASE: 1, A_PASS: b"secret", A_PEER: 0}
        self.g.cmd(CARP_CMD_DEV_SET, NLM_F_ACK, self.request(old))


class CarpNodes(Path):
    """A carpnodes change (rtnetlink changelink): a third entry and a new
    balancing mode."""
    dev = "carp1"

    def prepare(self):
        self.old = cfg(self.g, self.dev)

    def change(self, nodes, mode, nth=0):
        data = attr(IFLA_CARP_CARPNODES, nodes) + attr(IFLA_CARP_BALANCING, u32(mode))
        body = ifinfo(ifindex(self.dev)) + linkinfo(data)
        err, _, _, hit = RT.request(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, body, FAIL if nth else None, nth)
        return hit, err

    def run(self, nth):
        return self.change(bytes([2, 0, 3, 100, 4, 50]), 4, nth)

    def state(self):
        return cfg(self.g, self.dev)

    def before(self):
        return self.old

    def matches_after(self, s):
        return s is not None and len(s.get(A_NODE) or []) == 3 and s.get(A_NODE) != self.old.get(A_NODE)

    def undo(self):
        self.change(bytes([2, 0, 3, 100]), 1)


class Addr(Path):
    """An address added to a carp device with a carpdev."""

    def __init__(self, g, family, addr, plen, key, dev="carp0"):
        super().__init__(g)
        self.family, self.addr, self.plen, self.key, self.dev = family, addr, plen, key, dev

    def run(self, nth):
        body = ifaddr(self.family, self.plen, ifindex(self.dev), self.addr,
                      IFA_F_NODAD if self.family == socket.AF_INET6 else 0)
        err, _, _, hit = RT.request(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
                                    body, FAIL, nth)
        return hit, err

    def state(self):
        return (self.key in addrs(self.dev), cfg(self.g, self.dev))

    def prepare(self):
        self.old = self.state()

    def before(self):
        return self.old

    def matches_after(self, s):
        return s[0] and s[1] == self.old[1]

    def undo(self):
        RT.request(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK,
                   ifaddr(self.family, self.plen, ifindex(self.dev), self.addr))


class Subnet(Addr):
    """The first address of a carp device without carpdev, in eth1's
    subnet: it picks eth1."""

    def __init__(self, g):
        super().__init__(g, socket.AF_INET, "198.51.100.50", 24, "198.51.100.50", "fs0")

    def prepare(self):
        if not ifindex(self.dev):
            body = ifinfo() + attr(IFLA_IFNAME, b"fs0\0") + linkinfo(attr(IFLA_CARP_VHID, u32(9)))
            RT.request(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, body)
        super().prepare()

    def matches_after(self, s):
        return s[0] and s[1] is not None and s[1][A_CARPDEV] == [u32(ifindex("eth1"))]

    def undo(self):
        RT.request(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, ifinfo(ifindex(self.dev)))


class StateNtf(Path):
    """A state change (dev-set state backup on a MASTER) with a listener
    on the events group: it is told, by a state-ntf or an overrun."""
    dev = "carp0"

    def set_state(self, state, nth=0):
        a = attr(A_IFINDEX, u32(ifindex(self.dev))) + attr(A_STATE, u32(state))
        err, _, _, hit = self.g.cmd(CARP_CMD_DEV_SET, NLM_F_ACK, a, FAIL if nth else None, nth)
        return hit, err

    def prepare(self):
        # An address: a carp device without one stays INIT.
        if not getattr(self, "addressed", False):
            RT.request(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE,
                       ifaddr(socket.AF_INET, 24, ifindex(self.dev), "192.0.2.50"))
            self.addressed = True
        self.set_state(STATE_MASTER)
        self.listen = self.g.listener("events")
        self.listen.setblocking(False)

    def run(self, nth):
        return self.set_state(STATE_BACKUP, nth)

    def state(self):
        a = self.g.dev(ifindex(self.dev))
        return None if a is None else struct.unpack("=I", a[A_STATE][0][:4])[0]

    def before(self):
        return STATE_MASTER

    def matches_after(self, s):
        return s == STATE_BACKUP

    def told(self, before, now):
        """None, or why the listener was not told of a change that happened."""
        seen = []
        try:
            while True:
                try:
                    data = self.listen.recv(1 << 16)
                except BlockingIOError:
                    break
                except OSError as e:
                    if e.errno == errno.ENOBUFS:
                        seen.append("overrun")
                        continue
                    raise
                off = 0
                while off + 20 <= len(data):
                    ln, t = struct.unpack_from("=IH", data, off)
                    if ln < 20:
                        break
                    if data[off + 16] == CARP_CMD_STATE_NTF:
                        a = parse_attrs(data[off + 20:off + ln])
                        if a.get(A_IFINDEX, [b""])[0][:4] == u32(ifindex(self.dev)):
                            seen.append(struct.unpack("=I", a[A_STATE][0][:4])[0])
                    off += (ln + 3) & ~3
        finally:
            self.listen.close()
        if now == before or "overrun" in seen or STATE_BACKUP in seen:
            return None
        return f"changed {before} -> {now}, the listener saw neither the state-ntf nor an overrun ({seen})"

    def undo(self):
        self.set_state(STATE_MASTER)


class ModInit(Path):
    """Loading the module (finit_module): its init registers everything."""

    def __init__(self, g, ko):
        super().__init__(g)
        self.ko = ko
        self.libc = ctypes.CDLL(None, use_errno=True)

    def run(self, nth):
        fd = os.open(self.ko, os.O_RDONLY)
        FAIL.arm(nth)
        r = self.libc.syscall(313, fd, b"", 0)  # finit_module
        hit = FAIL.disarm()
        e = ctypes.get_errno() if r else 0
        os.close(fd)
        return hit, e

    def state(self):
        return (os.path.exists("/sys/module/carp"), genl() is not None)

    def before(self):
        return (False, False)

    def matches_after(self, s):
        return s == (True, True)

    def undo(self):
        if self.libc.syscall(176, b"carp", os.O_NONBLOCK):  # delete_module
            raise OSError(ctypes.get_errno(), "rmmod carp")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--stride", type=int, default=1)
    ap.add_argument("--max", type=int, default=2000)
    ap.add_argument("--ko")
    a = ap.parse_args()
    g = genl()
    paths = {
        "newlink": lambda: NewLink(g),
        "dev-set": lambda: DevSet(g),
        "carpnodes": lambda: CarpNodes(g),
        "addr4": lambda: Addr(g, socket.AF_INET, "192.0.2.77", 24, "192.0.2.77"),
        "addr6": lambda: Addr(g, socket.AF_INET6, "2001:db8::77", 64, "20010db8000000000000000000000077"),
        "subnet": lambda: Subnet(g),
        "modinit": lambda: ModInit(g, a.ko),
        "state-ntf": lambda: StateNtf(g),
    }
    p = paths[a.path]()
    violations = hits = runs = 0
    nth = 1
    points = None
    while nth <= a.max:
        p.prepare()
        before = p.state()
        hit, err = p.run(nth)
        if isinstance(p, ModInit):
            p.g = genl()
        now = p.state()
        runs += 1
        accepted = now != before
        if hasattr(p, "matches_after"):
            complete = p.matches_after(now)
        else:
            complete = now == p.after()
        bad = None
        if err:  # refused: nothing changed
            if now != before:
                bad = f"refused ({os.strerror(err)}) but changed: {before} -> {now}"
        elif err == 0:  # accepted: all of it
            if not complete:
                bad = f"accepted but incomplete: {before} -> {now}"
        elif now != before and not complete:  # answer lost: old or new
            bad = f"answer lost and half done: {before} -> {now}"
        if not bad and hasattr(p, "told"):
            bad = p.told(before, now)
        elif hasattr(p, "told"):
            p.told(before, now)
        if bad:
            violations += 1
            print(f"# violation: {a.path} fail-nth {nth}: {bad}")
        if accepted or complete:
            p.undo()
        if not hit:
            points = nth - 1 if a.stride == 1 else max(nth - a.stride, 0)
            break
        hits += 1
        nth += a.stride
    if points is None:
        print(f"faults: {a.path}: more than {a.max} fault points (not all hit)")
        sys.exit(1)
    exact = "" if a.stride == 1 else "at least "
    print(f"faults: {a.path}: {exact}{points} fault points, {hits} hit (stride {a.stride}), "
          f"{runs} runs, {violations} violations")
    if g is None and a.path != "modinit":
        sys.exit(1)
    sys.exit(1 if violations else 0)


main()
