#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Test helper: frames whose headers are not in the skb's linear area.

    tapinject.py TAP CARPDEV VIP4 VIP6 VMAC COUNT

Attaches to the persistent tap device TAP (created with `ip tuntap add
TAP mode tap vnet_hdr`), which gives it carrier, waits until the carp
device CARPDEV on it has carrier (MASTER), then writes COUNT rounds of:
an ARP request for VIP4, an ARP reply to VMAC, an IPv6 neighbour
solicitation for VIP6, an IPv6 and an IPv4 UDP packet to VMAC. Each frame
is longer than a page and carries a virtio-net header with hdr_len 14, so
the kernel puts only the Ethernet header in the linear area and the rest
in page fragments: every header carp reads must be pulled first.
"""
import fcntl
import os
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x0002, 0x1000, 0x4000
SRC = bytes.fromhex("020000000077")
PAD = 4400  # frame length: more than a page


def vnet_hdr():
    # flags, gso_type, hdr_len, gso_size, csum_start, csum_offset
    return struct.pack("=BBHHHH", 0, 0, 14, 0, 0, 0)


def eth(dst, proto, payload):
    f = dst + SRC + struct.pack("!H", proto) + payload
    return f + b"\0" * max(0, PAD - len(f))


def arp(op, dst, tip):
    p = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, SRC,
                    socket.inet_aton("192.0.2.77"), dst if op == 2 else b"\0" * 6,
                    socket.inet_aton(tip))
    return eth(b"\xff" * 6 if op == 1 else dst, 0x0806, p)


def cksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv6(dst_mac, src, dst, nh, payload):
    h = struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, 255, src, dst)
    return eth(dst_mac, 0x86DD, h + payload)


def ns(vip6):
    src = socket.inet_pton(socket.AF_INET6, "2001:db8::77")
    tgt = socket.inet_pton(socket.AF_INET6, vip6)
    dst = socket.inet_pton(socket.AF_INET6, "ff02::1:ff00:0")[:13] + tgt[13:]
    body = struct.pack("!BBHI16s", 135, 0, 0, 0, tgt) + b"\x01\x01" + SRC
    pseudo = src + dst + struct.pack("!I3xB", len(body), 58)
    body = body[:2] + struct.pack("!H", cksum(pseudo + body)) + body[4:]
    mac = b"\x33\x33\xff" + tgt[13:]
    return ipv6(mac, src, dst, 58, body)


def udp6(vmac, vip6):
    src = socket.inet_pton(socket.AF_INET6, "2001:db8::77")
    dst = socket.inet_pton(socket.AF_INET6, vip6)
    data = b"x" * 64
    body = struct.pack("!HHHH", 4000, 9, 8 + len(data), 0) + data
    pseudo = src + dst + struct.pack("!I3xB", len(body), 17)
    body = body[:6] + struct.pack("!H", cksum(pseudo + body)) + body[8:]
    return ipv6(vmac, src, dst, 17, body)


def udp4(vmac, vip4):
    data = b"y" * 64
    udp = struct.pack("!HHHH", 4000, 9, 8 + len(data), 0) + data
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                    socket.inet_aton("192.0.2.77"), socket.inet_aton(vip4))
    h = h[:10] + struct.pack("!H", cksum(h)) + h[12:]
    return eth(vmac, 0x0800, h + udp)


def main():
    tap, carpdev, vip4, vip6, vmac, count = sys.argv[1:7]
    vmac = bytes.fromhex(vmac.replace(":", ""))
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", tap.encode(), IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
    end = time.time() + 30
    while open(f"/sys/class/net/{carpdev}/carrier").read().strip() != "1":
        if time.time() > end:
            sys.exit(f"{carpdev} did not become MASTER")
        time.sleep(0.2)
    frames = [arp(1, None, vip4), arp(2, vmac, "192.0.2.1"), ns(vip6), udp6(vmac, vip6),
              udp4(vmac, vip4)]
    for _ in range(int(count)):
        for f in frames:
            os.write(fd, vnet_hdr() + f)
    time.sleep(1)
    os.close(fd)


if __name__ == "__main__":
    main()
