#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The fields of a capture the VM tests check, one line per frame: a reader
of tcpdump's pcap files (Ethernet) for ARP, CARP and ICMPv6 neighbour
discovery, written from the RFCs' layouts (RFC 826, RFC 4861, carp(4)'s
header), independent of the module. tshark dissects the same fields, but
it takes about ten seconds to start under KASAN and TCG; wire.sh is where
tshark dissects our packets.

    pcapfields.py PCAP

Prints, per frame, "TIME SRCMAC DSTMAC" (TIME: seconds since the first
frame, as tshark's frame.time_relative) and then one of:
    arp OPCODE SENDER_MAC SENDER_IP TARGET_MAC TARGET_IP
    carp SRC DST TTL VHID          (IPv4 or IPv6; TTL: the hop limit)
    icmp6 TYPE SRC DST TARGET LLADDR
                                   (TARGET: an NS's/NA's target, LLADDR:
                                    its link-layer address option, "-"
                                    where there is none)
    ip4 SRC DST PROTO | ip6 SRC DST NEXTHDR | other ETHERTYPE
Exits 1 on a file that is not a pcap capture of Ethernet frames, and on an
empty one (a capture that saw nothing cannot pass a check on its frames).
"""

import ipaddress
import struct
import sys


def mac(b):
    return ":".join(f"{x:02x}" for x in b)


def ip6(b):
    return str(ipaddress.IPv6Address(bytes(b)))


def ip4(b):
    return str(ipaddress.IPv4Address(bytes(b)))


def carp(payload, src, dst, ttl):
    # carp(4): version 2, type 1 (advertisement) in the first byte, then the
    # vhid.
    if len(payload) >= 2 and payload[0] == 0x21:
        return f"carp {src} {dst} {ttl} {payload[1]}"
    return None


def icmp6(payload, src, dst):
    if len(payload) < 4:
        return f"icmp6 - {src} {dst} - -"
    typ = payload[0]
    target = lladdr = "-"
    if typ in (135, 136) and len(payload) >= 24:
        target = ip6(payload[8:24])
        opts = payload[24:]
        # Options (RFC 4861 4.6): type, length in units of 8 bytes; source
        # (1) or target (2) link-layer address.
        while len(opts) >= 8 and opts[1] > 0:
            n = opts[1] * 8
            if opts[0] in (1, 2) and n >= 8:
                lladdr = mac(opts[2:8])
            opts = opts[n:]
    return f"icmp6 {typ} {src} {dst} {target} {lladdr}"


def frame(data):
    if len(data) < 14:
        return "short"
    head = f"{mac(data[6:12])} {mac(data[0:6])}"
    etype = struct.unpack("!H", data[12:14])[0]
    p = data[14:]
    if etype == 0x0806 and len(p) >= 28:
        op = struct.unpack("!H", p[6:8])[0]
        return f"{head} arp {op} {mac(p[8:14])} {ip4(p[14:18])} {mac(p[18:24])} {ip4(p[24:28])}"
    if etype == 0x0800 and len(p) >= 20:
        ihl = (p[0] & 15) * 4
        ttl, proto = p[8], p[9]
        src, dst = ip4(p[12:16]), ip4(p[16:20])
        if proto == 112:
            c = carp(p[ihl:], src, dst, ttl)
            if c:
                return f"{head} {c}"
        return f"{head} ip4 {src} {dst} {proto}"
    if etype == 0x86DD and len(p) >= 40:
        nh, hlim = p[6], p[7]
        src, dst = ip6(p[8:24]), ip6(p[24:40])
        q = p[40:]
        # Hop-by-hop options first (MLD reports carry one).
        if nh == 0 and len(q) >= 8:
            nh, q = q[0], q[(q[1] + 1) * 8:]
        if nh == 58:
            return f"{head} {icmp6(q, src, dst)}"
        if nh == 112:
            c = carp(q, src, dst, hlim)
            if c:
                return f"{head} {c}"
        return f"{head} ip6 {src} {dst} {nh}"
    return f"{head} other {etype:04x}"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    if len(data) < 24:
        sys.exit(f"{sys.argv[1]}: not a pcap file")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        sys.exit(f"{sys.argv[1]}: not a pcap file")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(end + "I", data[20:24])[0] & 0xFFFF
    if linktype != 1:
        sys.exit(f"{sys.argv[1]}: link type {linktype}, not Ethernet")
    off, t0, n = 24, None, 0
    out = []
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        t = sec + frac / (1e9 if nano else 1e6)
        if t0 is None:
            t0 = t
        out.append(f"{t - t0:.6f} {frame(data[off:off + caplen])}")
        off += caplen
        n += 1
    if n == 0:
        sys.exit(f"{sys.argv[1]}: no frames")
    print("\n".join(out))


if __name__ == "__main__":
    main()
