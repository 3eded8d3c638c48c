# SPDX-License-Identifier: GPL-2.0
"""Minimal netlink for the stress helpers (rtnetlink and the carp
genetlink family), with extack messages and per-request fault injection
(fail-nth). No dependency beyond the standard library."""
import os
import socket
import struct

NETLINK_GENERIC = 16
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300
NLM_F_CREATE, NLM_F_EXCL = 0x400, 0x200
NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR = 20, 21
IFLA_IFNAME, IFLA_LINK, IFLA_LINKINFO = 3, 5, 18
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
IFA_ADDRESS, IFA_LOCAL, IFA_FLAGS = 1, 2, 8
IFA_F_NODAD = 0x02
NLA_F_NESTED = 0x8000
GENL_ID_CTRL, CTRL_CMD_GETFAMILY = 0x10, 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_MCAST_GROUPS = 1, 2, 7
CTRL_ATTR_MCAST_GRP_NAME, CTRL_ATTR_MCAST_GRP_ID = 1, 2
SOL_NETLINK, NETLINK_ADD_MEMBERSHIP = 270, 1
NLMSGERR_ATTR_MSG = 1

# carp genetlink (include/uapi/linux/carp_genl.h)
CARP_CMD_DEV_GET, CARP_CMD_DEV_SET, CARP_CMD_STATE_NTF = 1, 2, 4
A_IFINDEX, A_CARPDEV, A_VHID, A_ADVSKEW, A_ADVBASE, A_PASS = 1, 3, 4, 5, 6, 7
A_NODE, A_BALANCING, A_PEER, A_STATE, A_OLD_STATE, A_PEER6 = 9, 10, 11, 12, 14, 17
STATE_BACKUP, STATE_MASTER = 1, 2
# carp IFLA_INFO_DATA (include/uapi/linux/carp.h)
IFLA_CARP_VHID, IFLA_CARP_ADVSKEW, IFLA_CARP_ADVBASE, IFLA_CARP_PASS = 1, 2, 3, 5
IFLA_CARP_CARPNODES, IFLA_CARP_BALANCING = 6, 7


def attr(t, payload):
    a = struct.pack("=HH", 4 + len(payload), t) + payload
    return a + b"\0" * ((4 - len(a) % 4) % 4)


def u32(v):
    return struct.pack("=I", v & 0xFFFFFFFF)


def parse_attrs(buf):
    """{type: [payload, ...]} of a TLV stream (every occurrence kept)."""
    out = {}
    while len(buf) >= 4:
        ln, t = struct.unpack_from("=HH", buf)
        if ln < 4:
            break
        out.setdefault(t & 0x3FFF, []).append(buf[4:ln])
        buf = buf[(ln + 3) & ~3:]
    return out


def ifinfo(index=0):
    return struct.pack("=BxHiII", 0, 0, index, 0, 0)


class FailNth:
    """The calling thread's fail-nth (Documentation/fault-injection):
    `arm(n)` makes the n-th fault point of what follows fail; `disarm()`
    says whether it was reached (then the fault was injected)."""

    def __init__(self):
        self.fd = os.open("/proc/thread-self/fail-nth", os.O_RDWR)

    def arm(self, n):
        os.pwrite(self.fd, b"%d" % n, 0)

    def disarm(self):
        left = int(os.pread(self.fd, 32, 0) or b"0")
        os.pwrite(self.fd, b"0", 0)
        return left == 0


class Sock:
    def __init__(self, proto):
        self.s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, proto)
        self.s.setsockopt(270, 11, 1)  # NETLINK_EXT_ACK
        self.s.setsockopt(270, 10, 1)  # NETLINK_CAP_ACK
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.s.bind((0, 0))
        self.seq = 0
        # One receive buffer (a fresh 1 MB one per recv costs page faults).
        self.buf = bytearray(1 << 18)

    def send(self, mtype, flags, body, fail=None, nth=0):
        """Sends one message, with fault number `nth` armed around the
        send, which processes it: (whether the fault was hit, errno of the
        send itself or 0)."""
        self.seq += 1
        hdr = struct.pack("=IHHII", 16 + len(body), mtype, flags, self.seq, 0)
        msg = hdr + body
        err = 0
        if fail is not None and nth:
            fail.arm(nth)
        try:
            self.s.send(msg)
        except OSError as e:
            err = e.errno
        hit = fail.disarm() if fail is not None and nth else False
        return hit, err

    def recv(self, flags):
        """Reads the answer to the last message: (errno, extack message,
        payloads); errno None when the answer was lost (ENOBUFS)."""
        payloads = []
        while True:
            try:
                n = self.s.recv_into(self.buf)
            except OSError as e:
                return None, os.strerror(e.errno), payloads
            data = bytes(self.buf[:n])
            off = 0
            while off + 16 <= len(data):
                ln, t, _, seq, _ = struct.unpack_from("=IHHII", data, off)
                if ln < 16:
                    raise RuntimeError("bad netlink reply")
                msg = data[off + 16:off + ln]
                off += (ln + 3) & ~3
                if seq != self.seq:
                    continue
                if t == NLMSG_DONE:
                    return 0, "", payloads
                if t == NLMSG_ERROR:
                    err = struct.unpack_from("=i", msg)[0]
                    text = ""
                    if err:
                        tl = parse_attrs(msg[4 + 16:])
                        text = tl.get(NLMSGERR_ATTR_MSG, [b""])[0].rstrip(b"\0").decode(errors="replace")
                    return -err, text, payloads
                payloads.append(msg)
                if not flags & NLM_F_DUMP and not flags & NLM_F_ACK:
                    return 0, "", payloads

    def request(self, mtype, flags, body, fail=None, nth=0):
        hit, err = self.send(mtype, flags, body, fail, nth)
        if err:
            return err, os.strerror(err), [], hit
        err, text, p = self.recv(flags)
        return err, text, p, hit


class Genl(Sock):
    def __init__(self, family):
        super().__init__(NETLINK_GENERIC)
        body = struct.pack("=BBH", CTRL_CMD_GETFAMILY, 1, 0) + attr(CTRL_ATTR_FAMILY_NAME, family.encode() + b"\0")
        err, text, p, _ = self.request(GENL_ID_CTRL, NLM_F_REQUEST, body)
        if err or not p:
            raise OSError(err or 2, f"no genetlink family {family}: {text}")
        a = parse_attrs(p[0][4:])
        self.family = struct.unpack("=H", a[CTRL_ATTR_FAMILY_ID][0][:2])[0]
        # Multicast groups: {name: id}.
        self.groups = {}
        for groups in a.get(CTRL_ATTR_MCAST_GROUPS, []):
            for g in parse_attrs(groups).values():
                for one in g:
                    ga = parse_attrs(one)
                    name = ga[CTRL_ATTR_MCAST_GRP_NAME][0].rstrip(b"\0").decode()
                    self.groups[name] = struct.unpack("=I", ga[CTRL_ATTR_MCAST_GRP_ID][0][:4])[0]

    def listener(self, group):
        """A socket subscribed to one of the family's multicast groups."""
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        s.bind((0, 0))
        s.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, self.groups[group])
        return s

    def cmd(self, cmd, flags, attrs, fail=None, nth=0):
        body = struct.pack("=BBH", cmd, 1, 0) + attrs
        return self.request(self.family, NLM_F_REQUEST | flags, body, fail, nth)

    def dev(self, ifindex):
        """A carp device's dev-get reply as {type: [payload...]}, or None."""
        err, _, p, _ = self.cmd(CARP_CMD_DEV_GET, 0, attr(A_IFINDEX, u32(ifindex)))
        if err or not p:
            return None
        return parse_attrs(p[0][4:])


def ifindex(name):
    try:
        return socket.if_nametoindex(name)
    except OSError:
        return 0
