#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Test helper for load balancing: servers that say who they are, and a
client side that sends from many client namespaces in one process and
checks who answered.

    lbcheck.py serve NAME PORT VIP4 VIP6
        UDP and TCP servers on VIP4 and VIP6, port PORT, answering every
        request with NAME (runs in a host's namespace until killed).

    lbcheck.py check MODE MASTERS PASS VIP4 VIP6 PORT CLIENT...
        MODE ip|ip-unicast|ip-stealth|arp; MASTERS: the host of each entry
        in vhid order, comma-separated ("a,b"); PASS: the carp pass (the ARP
        hash key); CLIENT: NS:IPV4:IPV6. From every client: one UDP and one
        TCP request and three ICMP echo requests to each VIP. Each request
        must be answered exactly once (no loss, no duplicate) and the UDP
        and TCP answers must come from the host the balancing hash names,
        computed here independently of the module: carp(4)'s fold of source
        and destination address modulo the entry count for the ip modes;
        for arp mode the hash of the client's MAC (an independent Python
        version of OpenBSD's carp_hash). Prints a line per client and a
        summary "N hosts: a=12 b=12"; exits 1 on any mismatch.

    lbcheck.py expect MODE COUNT PASS VIP4 VIP6 CLIENT...
        Prints the entry index of each client (IPv4 and IPv6), for tests.

    lbcheck.py connect PORT SERVER,... CLIENT...
        From every client namespace (CLIENT: NS:IPV4:IPV6), a TCP
        connection to each server address (IPv4 or IPv6) on PORT, which must
        answer with a name; prints a line per connection and exits 1 if any
        failed.
"""
import ctypes
import fcntl
import hashlib
import os
import select
import socket
import struct
import sys
import threading
import time

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
M = 0xFFFFFFFF


def in_ns(ns, fn):
    """Runs fn() with the calling thread in network namespace ns."""
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
        return fn()
    finally:
        libc.setns(own, CLONE_NEWNET)
        os.close(fd)
        os.close(own)


def mac_of(ifname):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    info = fcntl.ioctl(s.fileno(), 0x8927, struct.pack("256s", ifname.encode()))  # SIOCGIFHWADDR
    s.close()
    return info[18:24]


# ---- the balancing hashes, written from the protocol description ----

def fold4(a, b):
    return struct.unpack("!I", socket.inet_aton(a))[0] ^ struct.unpack("!I", socket.inet_aton(b))[0]


def fold6(a, b):
    f = 0
    for x in (socket.inet_pton(socket.AF_INET6, a), socket.inet_pton(socket.AF_INET6, b)):
        for w in struct.unpack("!4I", x):
            f ^= w
    return f


def mix(a, b, c):
    a = (a - b - c) & M; a ^= c >> 13
    b = (b - c - a) & M; b ^= (a << 8) & M
    c = (c - a - b) & M; c ^= b >> 13
    a = (a - b - c) & M; a ^= c >> 12
    b = (b - c - a) & M; b ^= (a << 16) & M
    c = (c - a - b) & M; c ^= b >> 5
    a = (a - b - c) & M; a ^= c >> 3
    b = (b - c - a) & M; b ^= (a << 10) & M
    c = (c - a - b) & M; c ^= b >> 15
    return c


def arp_hash(key, mac):
    ipad = bytes(x ^ 0x36 for x in key[:20].ljust(64, b"\0"))
    d = hashlib.sha1(ipad + bytes([2, 1])).digest()
    w = [struct.unpack("<I", d[i * 4:i * 4 + 4])[0] for i in range(4)]
    k = key[:4].ljust(4, b"\0")
    a = (0x9E3779B9 + mac[0] + (mac[1] << 8) + (mac[2] << 16) + (mac[3] << 24)) & M
    b = ((w[0] ^ w[1]) + mac[4] + (mac[5] << 8)) & M
    c = ((w[2] ^ w[3]) + k[0] + (k[1] << 8) + (k[2] << 16) + (k[3] << 24)) & M
    return mix(a, b, c)


def entry(mode, n, key, mac, src, dst, v6):
    if mode == "arp":
        return arp_hash(key, mac) % n
    return (fold6(src, dst) if v6 else fold4(src, dst)) % n


# ---- servers ----

def serve(name, port, vip4, vip6):
    name = name.encode()
    socks = []
    for fam, vip in ((socket.AF_INET, vip4), (socket.AF_INET6, vip6)):
        u = socket.socket(fam, socket.SOCK_DGRAM)
        u.setsockopt(socket.SOL_IP, 15, 1)  # IP_FREEBIND: the VIP may not be up yet
        u.bind((vip, port))
        t = socket.socket(fam, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.setsockopt(socket.SOL_IP, 15, 1)
        t.bind((vip, port))
        t.listen(64)
        socks += [u, t]
    while True:
        r, _, _ = select.select(socks, [], [])
        for s in r:
            if s.type == socket.SOCK_DGRAM:
                data, peer = s.recvfrom(512)
                s.sendto(name, peer)
            else:
                c, _ = s.accept()
                c.sendall(name)
                c.close()


# ---- clients ----

def echo_request(fam, ident, seq):
    """An ICMP or ICMPv6 echo request (the kernel fills ICMPv6's checksum)."""
    req_type = 8 if fam == socket.AF_INET else 128
    body = struct.pack("!BBHHH", req_type, 0, 0, ident, seq) + b"lbcheck!"
    if fam == socket.AF_INET:
        c = sum(struct.unpack("!%dH" % (len(body) // 2), body + b"\0" * (len(body) % 2)))
        while c >> 16:
            c = (c & 0xFFFF) + (c >> 16)
        body = body[:2] + struct.pack("!H", ~c & 0xFFFF) + body[4:]
    return body


def why(e):
    """An OSError's message: a timeout has no strerror ("timed out"), and
    tests tell a dropped SYN (a timeout) from a refusal by it."""
    return e.strerror or str(e)


def tcp_name(fam, addr, port, timeout):
    """A TCP request to addr: the server's answer, or "(error)"."""
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.settimeout(timeout)
    try:
        t.connect((addr, port))
        return t.recv(64).decode()
    except OSError as e:
        return f"({why(e)})"
    finally:
        t.close()


def probe(vip4, vip6, port, ident, count=3):
    """From the calling thread's namespace, for each family: a UDP request
    and `count` ICMP echo requests sent at once, every answer collected for
    1.5 s (a duplicate would come within it), then a TCP request. Returns
    {v6: (udp answers, tcp answer, echo replies per sequence)}."""
    socks = {}
    udp = {False: [], True: []}
    echo = {False: {q: 0 for q in range(count)}, True: {q: 0 for q in range(count)}}
    for fam, vip, v6 in ((socket.AF_INET, vip4, False), (socket.AF_INET6, vip6, True)):
        u = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            u.sendto(b"who", (vip, port))
            socks[u] = ("udp", fam, v6)
        except OSError as e:
            udp[v6].append(f"({why(e)})")
            u.close()
        proto = socket.IPPROTO_ICMP if fam == socket.AF_INET else socket.IPPROTO_ICMPV6
        e = socket.socket(fam, socket.SOCK_RAW, proto)
        for seq in range(count):
            try:
                e.sendto(echo_request(fam, ident + v6, seq), (vip, 0))
            except OSError:
                pass
        socks[e] = ("icmp", fam, v6)
    end = time.time() + 1.5
    while socks and time.time() < end:
        r, _, _ = select.select(list(socks), [], [], max(0, end - time.time()))
        for sk in r:
            kind, fam, v6 = socks[sk]
            if kind == "udp":
                try:
                    udp[v6].append(sk.recv(64).decode())
                except OSError as e:
                    udp[v6].append(f"({why(e)})")
                continue
            pkt = sk.recv(2048)
            if fam == socket.AF_INET:
                pkt = pkt[(pkt[0] & 0xF) * 4:]
            t, _, _, i, seq = struct.unpack("!BBHHH", pkt[:8])
            if t == (0 if fam == socket.AF_INET else 129) and i == ident + v6 and seq in echo[v6]:
                echo[v6][seq] += 1
    for sk in socks:
        sk.close()
    return {v6: (udp[v6], tcp_name(fam, vip, port, 3), echo[v6])
            for fam, vip, v6 in ((socket.AF_INET, vip4, False), (socket.AF_INET6, vip6, True))}


def check(mode, masters, key, vip4, vip6, port, clients):
    masters = masters.split(",")
    n = len(masters)
    results = []

    def client(i, spec):
        # Each client in its own thread: setns changes only this thread's
        # namespace, and the clients' waits overlap.
        ns, a4, a6 = spec.split(":", 2)
        own = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        libc.setns(fd, CLONE_NEWNET)
        os.close(fd)
        try:
            mac = mac_of("eth0")
            got = probe(vip4, vip6, port, 0x4000 + i * 2)
            for src, vip, v6 in ((a4, vip4, False), (a6, vip6, True)):
                want = masters[entry(mode, n, key, mac, src, vip, v6)]
                udp, tcp, echo = got[v6]
                ok = udp == [want] and tcp == want and all(c == 1 for c in echo.values())
                results.append((ns, v6, ok, f"{'ok' if ok else 'BAD'} {ns} {src} -> {vip}: "
                                f"want {want}, udp {udp}, tcp {tcp}, echo replies "
                                f"{list(echo.values())}", tcp))
        finally:
            libc.setns(own, CLONE_NEWNET)
            os.close(own)

    threads = [threading.Thread(target=client, args=(i, c)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    served = {}
    for _, _, _, line, tcp in sorted(results):
        print(line)
        served[tcp] = served.get(tcp, 0) + 1
    print(f"{len(served)} hosts: " + " ".join(f"{h}={c}" for h, c in sorted(served.items())))
    bad = sum(1 for r in results if not r[2])
    return 1 if bad or len(results) != 2 * len(clients) else 0


def expect(mode, count, key, vip4, vip6, clients):
    for spec in clients:
        ns, a4, a6 = spec.split(":", 2)
        mac = in_ns(ns, lambda: mac_of("eth0"))
        print(ns, entry(mode, count, key, mac, a4, vip4, False),
              entry(mode, count, key, mac, a6, vip6, True))


def connect(port, servers, clients):
    results = []

    def client(spec):
        ns = spec.split(":", 1)[0]
        own = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
        libc.setns(fd, CLONE_NEWNET)
        os.close(fd)
        try:
            for srv in servers:
                fam = socket.AF_INET6 if ":" in srv else socket.AF_INET
                name = tcp_name(fam, srv, port, 4)
                if not name or name.startswith("("):
                    name = f"FAILED {name or '(no answer)'}"
                results.append((ns, srv, name))
        finally:
            libc.setns(own, CLONE_NEWNET)
            os.close(own)

    threads = [threading.Thread(target=client, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for ns, srv, name in sorted(results):
        print(f"{ns} -> {srv}: {name}")
    ok = len(results) == len(clients) * len(servers) and not any("FAILED" in r[2] for r in results)
    return 0 if ok else 1


def main():
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif cmd == "check":
        mode, masters, key, vip4, vip6, port = sys.argv[2:8]
        sys.exit(check(mode, masters, key.encode(), vip4, vip6, int(port), sys.argv[8:]))
    elif cmd == "connect":
        sys.exit(connect(int(sys.argv[2]), sys.argv[3].split(","), sys.argv[4:]))
    elif cmd == "expect":
        mode, count, key, vip4, vip6 = sys.argv[2:7]
        expect(mode, int(count), key.encode(), vip4, vip6, sys.argv[7:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
