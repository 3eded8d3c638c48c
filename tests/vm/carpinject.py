#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Test helper: inject crafted CARP advertisements as raw Ethernet frames.

    carpinject.py IFACE CASE...

Cases (each sent once, IPv4 to 224.0.0.18 unless it starts with v6):
  badttl badsum badver badlen badauth badvhid   malformed or unauthenticated
  loop          capture one advertisement on IFACE and send it back as is
                (its sender sees its own cookie)
  v6badttl v6badsum v6badlen                    the same over IPv6 (ff02::12)
  good VHID SKEW PASS VIP                       a valid advertisement
  goodll VHID SKEW PASS VIP4 VIP6 LL6           a valid IPv6 advertisement whose
                HMAC includes the link-local address LL6 (scope bytes zero),
                as FreeBSD and older OpenBSD compute it
  flood COUNT   COUNT protocol-112 packets to 127.0.0.1 (raw IP socket:
                works in an unprivileged user namespace), IFACE ignored
  lbbad MAC SRC DST  three times each, to MAC: a truncated IPv4 header, a
                later UDP fragment, a UDP packet with IP options, an ICMP
                error quoting garbage, an ARP frame with hardware length 8
  lbicmp MAC ROUTER4 VIP4 CLIENT4 ROUTER6 VIP6 CLIENT6  three times each, to
                MAC: from ROUTER to VIP, an ICMP "fragmentation needed" with
                the longest outer IPv4 header (40 bytes of options) and an
                ICMPv6 "packet too big", each quoting a packet from VIP to
                CLIENT (the filter's quote buffer is read to its last byte)
  capture COUNT FILE  write the next COUNT advertisements (IPv4 or IPv6)
                      seen on IFACE to FILE (pcap), for tshark -r
The vhid of the crafted packets is 1 (badvhid: 99), advbase 1, advskew 0.
"""
import hmac
import socket
import struct
import sys

ETH_P_ALL, ETH_P_IP, ETH_P_IPV6 = 0x0003, 0x0800, 0x86DD
SRC_MAC = bytes.fromhex("020000000050")


def cksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def carp(vhid=1, skew=0, version=2, md=b"\x11" * 20, counter=b"\x22" * 8, good_sum=True):
    h = struct.pack("!BBBBBBH8s20s", (version << 4) | 1, vhid, skew, 7, 0, 1, 0, counter, md)
    c = cksum(h) if good_sum else 0x1234
    return h[:6] + struct.pack("!H", c) + h[8:]


def ipv4(payload, ttl=255):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), 0, 0, ttl, 112, 0,
                    socket.inet_aton("192.0.2.50"), socket.inet_aton("224.0.0.18"))
    h = h[:10] + struct.pack("!H", cksum(h)) + h[12:]
    return bytes.fromhex("01005e000012") + SRC_MAC + struct.pack("!H", ETH_P_IP) + h + payload


def ipv6(payload, hlim=255):
    h = struct.pack("!IHBB16s16s", 6 << 28, len(payload), 112, hlim,
                    socket.inet_pton(socket.AF_INET6, "2001:db8::50"),
                    socket.inet_pton(socket.AF_INET6, "ff02::12"))
    return bytes.fromhex("333300000012") + SRC_MAC + struct.pack("!H", ETH_P_IPV6) + h + payload


def is_carp(f):
    if len(f) > 34 and f[12:14] == b"\x08\x00":
        return f[23] == 112
    return len(f) > 54 and f[12:14] == b"\x86\xdd" and f[20] == 112


def capture(iface, count=1):
    r = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    r.bind((iface, 0))
    r.settimeout(20)
    frames = []
    while len(frames) < count:
        f = r.recv(2048)
        if is_carp(f):
            frames.append(f)
    return frames


def write_pcap(path, frames):
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, f in enumerate(frames):
            out.write(struct.pack("<IIII", i, 0, len(f), len(f)) + f)


def ip4hdr(src, dst, proto, payload, ihl=5, frag=0, opts=b""):
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload), 0x1234, frag,
                    64, proto, 0, socket.inet_aton(src), socket.inet_aton(dst)) + opts
    return h[:10] + struct.pack("!H", cksum(h)) + h[12:] + payload


def lbbad(mac, src, dst):
    """Unusual packets to the load-balanced VIP (see the docstring)."""
    eth = lambda proto, p: mac + SRC_MAC + struct.pack("!H", proto) + p
    udp = struct.pack("!HHHH", 4000, 9, 16, 0) + b"x" * 8
    trunc = ip4hdr(src, dst, 17, udp)[:10]
    frag = ip4hdr(src, dst, 17, b"y" * 16, frag=100)
    opts = ip4hdr(src, dst, 17, udp, ihl=6, opts=b"\x01\x01\x01\x00")
    icmp = struct.pack("!BBHI", 3, 1, 0, 0) + b"\x99garbage-quote"
    c = cksum(icmp)
    icmp = icmp[:2] + struct.pack("!H", c) + icmp[4:]
    err = ip4hdr(src, dst, 1, icmp)
    arp = struct.pack("!HHBBH8s4s8s4s", 1, 0x0800, 8, 4, 1, b"\x02" * 8,
                      socket.inet_aton(src), b"\0" * 8, socket.inet_aton(dst))
    return [eth(ETH_P_IP, trunc), eth(ETH_P_IP, frag), eth(ETH_P_IP, opts),
            eth(ETH_P_IP, err), eth(0x0806, arp)]


def lbicmp(mac, r4, v4, c4, r6, v6, c6):
    """ICMP errors about a flow VIP -> CLIENT, sent by a router (see the
    docstring)."""
    eth = lambda proto, p: mac + SRC_MAC + struct.pack("!H", proto) + p
    udp = struct.pack("!HHHH", 9000, 4000, 8 + 1400, 0)
    quoted = ip4hdr(v4, c4, 17, udp)
    icmp = struct.pack("!BBHHH", 3, 4, 0, 0, 1280) + quoted
    icmp = icmp[:2] + struct.pack("!H", cksum(icmp)) + icmp[4:]
    # 39 NOPs and an end-of-options: ihl 15, the longest header.
    err4 = ip4hdr(r4, v4, 1, icmp, ihl=15, opts=b"\x01" * 39 + b"\x00")
    a6 = lambda a: socket.inet_pton(socket.AF_INET6, a)
    q6 = struct.pack("!IHBB16s16s", 6 << 28, 8 + 1400, 17, 64, a6(v6), a6(c6)) + udp
    icmp6 = struct.pack("!BBHI", 2, 0, 0, 1280) + q6
    pseudo = a6(r6) + a6(v6) + struct.pack("!IxxxB", len(icmp6), 58)
    icmp6 = icmp6[:2] + struct.pack("!H", cksum(pseudo + icmp6)) + icmp6[4:]
    err6 = struct.pack("!IHBB16s16s", 6 << 28, len(icmp6), 58, 64, a6(r6), a6(v6)) + icmp6
    return [eth(ETH_P_IP, err4), eth(ETH_P_IPV6, err6)]


def main():
    iface, args = sys.argv[1], sys.argv[2:]
    if args[0] == "flood":
        r = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
        for _ in range(int(args[1])):
            r.sendto(carp(), ("127.0.0.1", 0))
        return
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    if args[0] == "lbicmp":
        for f in lbicmp(bytes.fromhex(args[1].replace(":", "")), *args[2:8]) * 3:
            s.send(f)
        return
    if args[0] == "lbbad":
        for f in lbbad(bytes.fromhex(args[1].replace(":", "")), args[2], args[3]) * 3:
            s.send(f)
        return
    while args:
        case = args.pop(0)
        if case == "capture":
            write_pcap(args[1], capture(iface, int(args[0])))
            del args[:2]
            continue
        if case == "good":
            vhid, skew, key, vip = int(args[0]), int(args[1]), args[2].encode(), args[3]
            del args[:4]
            counter = b"\x01" * 8
            msg = bytes([2, 1, vhid]) + socket.inet_aton(vip) + counter
            md = hmac.new(key, msg, "sha1").digest()
            frame = ipv4(carp(vhid, skew, counter=counter, md=md))
        elif case == "goodll":
            vhid, skew, key = int(args[0]), int(args[1]), args[2].encode()
            vip4, vip6, ll = args[3], args[4], args[5]
            del args[:6]
            counter = b"\x03" * 8
            addrs = sorted([socket.inet_pton(socket.AF_INET6, vip6),
                            socket.inet_pton(socket.AF_INET6, ll)])
            msg = bytes([2, 1, vhid]) + socket.inet_aton(vip4) + b"".join(addrs) + counter
            md = hmac.new(key, msg, "sha1").digest()
            frame = ipv6(carp(vhid, skew, counter=counter, md=md))
        else:
            frame = {
                "badttl": lambda: ipv4(carp(), ttl=64),
                "badsum": lambda: ipv4(carp(good_sum=False)),
                "badver": lambda: ipv4(carp(version=3)),
                "badlen": lambda: ipv4(carp()[:10]),
                "badauth": lambda: ipv4(carp()),
                "badvhid": lambda: ipv4(carp(vhid=99)),
                "loop": lambda: capture(iface)[0],
                "v6badttl": lambda: ipv6(carp(), hlim=64),
                "v6badsum": lambda: ipv6(carp(good_sum=False)),
                "v6badlen": lambda: ipv6(carp()[:10]),
            }[case]()
        s.send(frame)


if __name__ == "__main__":
    main()
