#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Test helper: set and show a carp device's IFLA_INFO_DATA over rtnetlink.

    carpnl.py set DEV [link LOWER] [vhid N] [advskew N] [advbase N] [pass P]
                      [carpnodes V:S,...] [balancing MODE] [peer A.B.C.D]
                      [state master|backup]
    carpnl.py add DEV [link LOWER|linkindex N] [index N] [netns NAME] [SETTINGS]
                              creates a carp device in one request
    carpnl.py show DEV        prints key=value lines
    carpnl.py flip DEV N      N times: state master, then state backup (one
                              process, so the changes come faster than any
                              rate limit's interval)

Errors print the kernel's extack message and exit 1. (carpctl, with a real
netlink library, is the user tool; this keeps the VM tests independent.)
"""
import os
import socket
import struct
import sys

RTM_NEWLINK, RTM_GETLINK = 16, 18
NLM_F_REQUEST, NLM_F_ACK = 1, 4
IFLA_IFNAME, IFLA_LINK, IFLA_LINKINFO, IFLA_NET_NS_FD = 3, 5, 18, 28
NLM_F_CREATE, NLM_F_EXCL = 0x400, 0x200
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
NLMSG_ERROR = 2
NLMSGERR_ATTR_MSG = 1
ATTRS = {"vhid": 1, "advskew": 2, "advbase": 3, "state": 4, "pass": 5,
         "carpnodes": 6, "balancing": 7, "peer": 8, "demote": 9,
         "node_states": 10}
MODES = ["none", "ip", "ip-stealth", "ip-unicast", "arp"]
STATES = ["init", "backup", "master"]


def attr(t, payload):
    a = struct.pack("=HH", 4 + len(payload), t) + payload
    return a + b"\0" * ((4 - len(a) % 4) % 4)


def parse_attrs(buf):
    out = {}
    while len(buf) >= 4:
        ln, t = struct.unpack_from("=HH", buf)
        if ln < 4:
            break
        out[t & 0x3fff] = buf[4:ln]
        buf = buf[(ln + 3) & ~3:]
    return out


def talk(msg_type, flags, body):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.setsockopt(270, 11, 1)  # SOL_NETLINK, NETLINK_EXT_ACK
    s.setsockopt(270, 10, 1)  # NETLINK_CAP_ACK: only the header comes back
    s.bind((0, 0))
    hdr = struct.pack("=IHHII", 16 + len(body), msg_type, flags, 1, 0)
    s.send(hdr + body)
    data = s.recv(65536)
    s.close()
    return data


def ifinfo(dev):
    return struct.pack("=BxHiII", 0, 0, socket.if_nametoindex(dev), 0, 0)


def info_data(args):
    data = b""
    it = iter(args)
    for key in it:
        val = next(it)
        if key in ("vhid", "advskew", "advbase"):
            data += attr(ATTRS[key], struct.pack("=I", int(val)))
        elif key == "balancing":
            mode = MODES.index(val) if val in MODES else 99
            data += attr(ATTRS[key], struct.pack("=I", mode))
        elif key == "state":
            st = STATES.index(val) if val in STATES else 99
            data += attr(ATTRS[key], struct.pack("=I", st))
        elif key == "pass":
            data += attr(ATTRS[key], val.encode())
        elif key == "peer":
            data += attr(ATTRS[key], socket.inet_aton(val))
        elif key == "carpnodes":
            raw = b""
            for item in val.split(","):
                v, s = item.split(":")
                raw += bytes([int(v) & 0xff, int(s) & 0xff])
            data += attr(ATTRS[key], raw)
        else:
            sys.exit(f"carpnl: unknown key {key}")
    return attr(IFLA_INFO_KIND, b"carp\0") + attr(IFLA_INFO_DATA, data)


def do_set(dev, args):
    extra, rest = b"", []
    it = iter(args)
    for key in it:
        val = next(it)
        if key == "link":
            extra += attr(IFLA_LINK, struct.pack("=I", socket.if_nametoindex(val)))
        else:
            rest += [key, val]
    body = ifinfo(dev) + extra + attr(IFLA_LINKINFO | 0x8000, info_data(rest))
    check_reply(talk(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, body))


def do_add(dev, args):
    index, extra, rest = 0, b"", []
    it = iter(args)
    for key in it:
        val = next(it)
        if key == "link":
            extra += attr(IFLA_LINK, struct.pack("=I", socket.if_nametoindex(val)))
        elif key == "linkindex":
            extra += attr(IFLA_LINK, struct.pack("=I", int(val)))
        elif key == "index":
            index = int(val)
        elif key == "netns":
            fd = os.open(f"/run/netns/{val}", os.O_RDONLY)
            extra += attr(IFLA_NET_NS_FD, struct.pack("=I", fd))
        else:
            rest += [key, val]
    body = struct.pack("=BxHiII", 0, 0, index, 0, 0) + attr(IFLA_IFNAME, dev.encode() + b"\0")
    body += extra + attr(IFLA_LINKINFO | 0x8000, info_data(rest))
    check_reply(talk(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, body))


def check_reply(reply):
    _, t, flags, _, _ = struct.unpack_from("=IHHII", reply)
    if t == NLMSG_ERROR:
        err = struct.unpack_from("=i", reply, 16)[0]
        if err:
            # Capped ack: the original header follows, then the TLVs.
            tlvs = parse_attrs(reply[16 + 4 + 16:])
            msg = tlvs.get(NLMSGERR_ATTR_MSG, b"").rstrip(b"\0").decode()
            print(f"Error: {msg or 'errno ' + str(-err)}", file=sys.stderr)
            sys.exit(1)


def do_show(dev):
    reply = talk(RTM_GETLINK, NLM_F_REQUEST, ifinfo(dev))
    attrs = parse_attrs(reply[16 + 16:])
    info = parse_attrs(attrs.get(IFLA_LINKINFO, b""))
    data = parse_attrs(info.get(IFLA_INFO_DATA, b""))
    names = {v: k for k, v in ATTRS.items()}
    for t, v in sorted(data.items()):
        k = names.get(t, str(t))
        if k in ("carpnodes",):
            print(k + "=" + ",".join(f"{v[i]}:{v[i+1]}" for i in range(0, len(v), 2)))
        elif k == "node_states":
            print(k + "=" + ",".join(STATES[b] for b in v))
        elif k == "peer":
            print(k + "=" + socket.inet_ntoa(v))
        elif k == "state":
            print(k + "=" + STATES[struct.unpack("=I", v)[0]])
        elif k == "balancing":
            print(k + "=" + MODES[struct.unpack("=I", v)[0]])
        else:
            print(f"{k}={struct.unpack('=I', v)[0]}")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, dev = sys.argv[1], sys.argv[2]
    if cmd == "set":
        do_set(dev, sys.argv[3:])
    elif cmd == "add":
        do_add(dev, sys.argv[3:])
    elif cmd == "flip":
        for _ in range(int(sys.argv[3])):
            do_set(dev, ["state", "master"])
            do_set(dev, ["state", "backup"])
    elif cmd == "show":
        do_show(dev)
    else:
        sys.exit(__doc__)


main()
