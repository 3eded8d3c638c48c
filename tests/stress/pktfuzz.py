#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Packet fuzzer: mutated CARP advertisements, IPv4 and IPv6, as raw
Ethernet frames as fast as the socket takes them.

    pktfuzz.py IFACE --count N [--seed S] [--corpus DIR]

Each frame starts from a validly signed advertisement (vhid 1, VIP
192.0.2.1, pass "secret" over IPv4; vhid 2, VIP 2001:db8::1, pass "six"
over IPv6) or from a 36-byte piece of the core's fuzz corpus, and is
mutated: flipped bytes, truncated or extended payloads, a random version,
type, vhid, advbase, advskew, demotion, counter or HMAC, a TTL or hop
limit other than 255, a wrong checksum. The IP header stays valid, so the
IP stack delivers every frame to carp. A frame that could still pass
every check of a receiver (the signed fields untouched, checksum and TTL
right) gets one HMAC bit flipped: every frame sent is invalid, so none may
change a state, and each receiver must count each frame in exactly one
drop counter.
Prints "pktfuzz: ..." with the count per mutation kind.
"""
import argparse
import hmac
import os
import random
import socket
import struct
import sys

# The Internet checksum of the VM tests' injector (tests/vm/carpinject.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vm"))
from carpinject import cksum  # noqa: E402

ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD
SRC_MAC = bytes.fromhex("020000000051")
VIP4 = socket.inet_aton("192.0.2.1")
VIP6 = socket.inet_pton(socket.AF_INET6, "2001:db8::1")
KEYS = {1: (b"secret", VIP4), 2: (b"six", VIP6)}


def signed(vhid, counter, skew=0, advbase=1):
    key, addr = KEYS[vhid]
    md = hmac.new(key, bytes([2, 1, vhid]) + addr + counter, "sha1").digest()
    h = struct.pack("!BBBBBBH8s20s", 0x21, vhid, skew, 7, 0, advbase, 0, counter, md)
    return h[:6] + struct.pack("!H", cksum(h)) + h[8:]


def could_pass(p, ttl):
    """Whether a receiver could accept payload `p` (the checks carp makes,
    HMAC included). The type nibble is not checked, as on OpenBSD: the
    HMAC covers the constant version and type, not the packet's."""
    if ttl != 255 or len(p) < 36 or p[0] >> 4 != 2 or p[1] not in KEYS:
        return False
    if cksum(p[:36]) != 0:  # over the header only, trailing bytes ignored (OpenBSD)
        return False
    key, addr = KEYS[p[1]]
    return hmac.compare_digest(hmac.new(key, bytes([2, 1, p[1]]) + addr + p[8:16], "sha1").digest(), p[16:36])


def frame4(p, ttl):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(p), 0, 0, ttl, 112, 0,
                    socket.inet_aton("192.0.2.50"), socket.inet_aton("224.0.0.18"))
    h = h[:10] + struct.pack("!H", cksum(h)) + h[12:]
    return bytes.fromhex("01005e000012") + SRC_MAC + struct.pack("!H", ETH_P_IP) + h + p


def frame6(p, hlim):
    h = struct.pack("!IHBB16s16s", 6 << 28, len(p), 112, hlim,
                    socket.inet_pton(socket.AF_INET6, "2001:db8::50"),
                    socket.inet_pton(socket.AF_INET6, "ff02::12"))
    return bytes.fromhex("333300000012") + SRC_MAC + struct.pack("!H", ETH_P_IPV6) + h + p


def corpus_pieces(path):
    out = []
    if not path or not os.path.isdir(path):
        return out
    for name in sorted(os.listdir(path)):
        with open(os.path.join(path, name), "rb") as f:
            data = f.read()
        out += [data[i:i + 36] for i in range(73, len(data) - 35, 36)]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus")
    a = ap.parse_args()
    r = random.Random(a.seed)
    pieces = corpus_pieces(a.corpus)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    kinds = {}
    n4 = n6 = forced = 0
    for _ in range(a.count):
        v6 = r.random() < 0.4
        vhid = 2 if v6 else 1
        ttl = 255
        fix_sum = r.random() < 0.7
        if pieces and r.random() < 0.15:
            kind = "corpus"
            p = bytearray(r.choice(pieces))
        else:
            p = bytearray(signed(vhid, r.randbytes(8), r.randrange(256), r.randrange(256)))
            kind = r.choice(["flip", "truncate", "extend", "version", "type", "vhid",
                             "counter", "hmac", "ttl", "checksum", "fields"])
            if kind == "flip":
                for _ in range(r.randint(1, 4)):
                    p[r.randrange(len(p))] ^= 1 << r.randrange(8)
            elif kind == "truncate":
                p = p[:r.randrange(36)]
            elif kind == "extend":
                p += r.randbytes(r.randint(1, 200))
            elif kind == "version":
                p[0] = (r.choice([0, 1, 3, 15]) << 4) | (p[0] & 15)
            elif kind == "type":
                p[0] = (p[0] & 0xF0) | r.choice([0, 2, 15])
            elif kind == "vhid":
                p[1] = r.choice([0, 3, 99, 255, 2 if vhid == 1 else 1])
            elif kind == "counter":
                p[8 + r.randrange(8)] ^= 1 << r.randrange(8)
            elif kind == "hmac":
                p[16:36] = r.randbytes(20)
            elif kind == "ttl":
                ttl = r.choice([0, 1, 64, 128, 254])
            elif kind == "checksum":
                fix_sum = False
                p[6:8] = struct.pack("!H", (cksum(p[:6] + b"\0\0" + p[8:]) + r.randint(1, 0xFFFE)) & 0xFFFF)
            else:  # the unauthenticated fields alone
                p[2], p[3], p[5] = r.randrange(256), r.randrange(256), r.randrange(256)
        if fix_sum and len(p) >= 8:
            p[6:8] = b"\0\0"
            p[6:8] = struct.pack("!H", cksum(bytes(p[:36])))
        if could_pass(bytes(p), ttl):
            p[16 + r.randrange(20)] ^= 1 << r.randrange(8)
            forced += 1
        frame = frame6(bytes(p), ttl) if v6 else frame4(bytes(p), ttl)
        s.send(frame)
        kinds[kind] = kinds.get(kind, 0) + 1
        if v6:
            n6 += 1
        else:
            n4 += 1
    per = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    print(f"pktfuzz: seed {a.seed}: {a.count} packets ({n4} IPv4, {n6} IPv6; {forced} made "
          f"invalid by an HMAC bit; {len(pieces)} corpus pieces); {per}")


main()
