#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The virtual LAN of make deb-test: an Ethernet hub.

    lan.py SOCKET PCAP [TAP]

Listens on the Unix stream socket SOCKET, where each machine's QEMU
connects with `-netdev stream` (frames as a 4-byte big-endian length and
the frame). Every frame goes to every other port, as on a hub; with TAP,
a tap device of that name made here is one more port (the client: run
this in the client's network namespace). Every frame is written to PCAP.
Nothing leaves the hub but to its ports: the LAN reaches no other
network. A port that cannot take a frame at once (its machine stalled)
loses it (whole), as on a congested switch. Ends on SIGTERM.
"""

import fcntl
import os
import select
import signal
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


class Pcap:
    def __init__(self, path):
        self.f = open(path, "wb", buffering=0)
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

    def write(self, frame):
        t = time.time()
        sec = int(t)
        self.f.write(
            struct.pack("<IIII", sec, int((t - sec) * 1e6), len(frame), len(frame))
            + frame
        )


def main():
    path, pcap_path = sys.argv[1], sys.argv[2]
    tap_name = sys.argv[3] if len(sys.argv) > 3 else None
    pcap = Pcap(pcap_path)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(8)
    tap = None
    if tap_name:
        tap = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(
            tap, TUNSETIFF, struct.pack("16sH", tap_name.encode(), IFF_TAP | IFF_NO_PI)
        )
        os.set_blocking(tap, False)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # socket -> bytes received and not yet a whole frame
    ports = {}

    # socket -> bytes to send it (whole frames; at most OUT_MAX)
    out = {}
    OUT_MAX = 1 << 20

    def flush(s):
        try:
            n = s.send(out[s])
            out[s] = out[s][n:]
        except BlockingIOError:
            pass
        except OSError:
            drop(s)

    def forward(frame, src):
        pcap.write(frame)
        data = struct.pack(">I", len(frame)) + frame
        for s in list(ports):
            if s is src or len(out[s]) + len(data) > OUT_MAX:
                continue
            out[s] += data
            flush(s)
        if tap is not None and src is not tap:
            try:
                os.write(tap, frame)
            except OSError:
                pass

    def drop(s):
        ports.pop(s, None)
        out.pop(s, None)
        s.close()

    while True:
        rl = [lsock] + list(ports) + ([tap] if tap is not None else [])
        wl = [s for s in ports if out[s]]
        ready, writable, _ = select.select(rl, wl, [])
        for w in writable:
            if w in ports:
                flush(w)
        for r in ready:
            if r is lsock:
                c, _ = lsock.accept()
                c.setblocking(False)
                ports[c] = b""
                out[c] = b""
            elif r is tap:
                try:
                    frame = os.read(tap, 65536)
                except BlockingIOError:
                    continue
                forward(frame, tap)
            elif r in ports:
                try:
                    got = r.recv(262144)
                except BlockingIOError:
                    continue
                except OSError:
                    got = b""
                if not got:
                    drop(r)
                    continue
                buf = ports[r] + got
                while len(buf) >= 4:
                    n = struct.unpack(">I", buf[:4])[0]
                    if len(buf) < 4 + n:
                        break
                    frame, buf = buf[4 : 4 + n], buf[4 + n :]
                    forward(frame, r)
                if r in ports:
                    ports[r] = buf


if __name__ == "__main__":
    main()
