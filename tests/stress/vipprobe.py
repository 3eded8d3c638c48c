#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Continuous probe of a virtual IP: an ICMP echo request every INTERVAL
seconds until SIGTERM, then one more second for late replies.

    vipprobe.py ADDRESS INTERVAL OUT

Writes OUT, one line per request: `seq sent replies first_reply` (times
from time.time(), the clock of `carpctl -j monitor` events and of bash's
EPOCHREALTIME; first_reply is - when none came). A request answered twice
is a duplicate: two hosts answered for the address. Raw socket: run as
root (the test's namespace).
"""
import os
import select
import signal
import socket
import struct
import sys
import time


def checksum(b):
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def main():
    addr, interval, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(time.time()))
    sent, replies, first = [], [], []
    nxt = time.time()
    while True:
        now = time.time()
        if stop and now > stop[0] + 1.0:
            break
        wait = 0.05 if stop else max(0.0, nxt - now)
        try:
            r, _, _ = select.select([s], [], [], wait)
        except InterruptedError:
            continue
        if r:
            pkt = s.recv(2048)
            t = time.time()
            ihl = (pkt[0] & 15) * 4
            if len(pkt) >= ihl + 8:
                typ, _, _, pid, seq = struct.unpack_from("!BBHHH", pkt, ihl)
                if typ == 0 and pid == ident and seq < len(sent):
                    replies[seq] += 1
                    if first[seq] is None:
                        first[seq] = t
            continue
        if stop:
            continue
        seq = len(sent)
        if seq > 0xFFFF:
            stop.append(now)
            continue
        body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"carp-vip-probe.."
        body = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
        try:
            s.sendto(body, (addr, 0))
        except OSError:
            pass  # no route or neighbour for a moment: a lost probe
        sent.append(time.time())
        replies.append(0)
        first.append(None)
        nxt += interval
        if nxt < now:  # fell behind (scheduling): no burst to catch up
            nxt = now + interval
    with open(out, "w") as f:
        for i, t in enumerate(sent):
            r = "-" if first[i] is None else f"{first[i]:.6f}"
            f.write(f"{i} {t:.6f} {replies[i]} {r}\n")


main()
