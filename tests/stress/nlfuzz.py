#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Netlink fuzzer for carp: the `carp` generic netlink family and the carp
IFLA_INFO_DATA of rtnetlink, with random attribute sets derived from the
YNL spec (genetlink) and the uapi header (rtnetlink).

    nlfuzz.py --spec SPEC --uapi CARP_H --dev carp0 --lowers eth0,eth1
              [--seed N] [--count N]

Every message is one of: a dev-set or dev-get/stats-get (do or dump) of the
genetlink family, a changelink of DEV or a newlink creating a scratch carp
device (deleted again when it was created), each with attributes that are
valid-shaped with random values, out of range, of the wrong length, nested
garbage, duplicated, unknown, or huge. After every request that can change
DEV it reads DEV's configuration back (dev-get) and checks:
- a refused request changed nothing (the configuration equals the one
  before it): nothing is half-configured;
- an accepted one shows the values it set (the last of duplicated
  attributes, as nla_parse keeps it), where a value's effect is plain;
- the node list (vhid, advskew pairs) after an accepted request is the
  one a model of the rules computes from the request and the list before
  it (vhid, node / carpnodes, advskew; see Config::apply), and a request
  the model finds invalid must not be accepted.
Prints a summary line and, for each violation, the request (hex) and both
configurations; exits 1 on any violation. Reproducible from the seed.
"""
import argparse
import os
import random
import re
import socket
import struct
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nl import (IFLA_IFNAME, IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINK,  # noqa: E402
                IFLA_LINKINFO, NLA_F_NESTED, NLM_F_ACK,
                NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST,
                RTM_DELLINK, RTM_NEWLINK, Genl, Sock, attr, parse_attrs, u32)


class Spec:
    """The dev attribute set of the YNL spec: name -> (type, number,
    checks, nested set)."""

    def __init__(self, path):
        doc = yaml.safe_load(open(path))
        self.sets = {}
        for s in doc["attribute-sets"]:
            n, attrs = 0, {}
            for a in s["attributes"]:
                n = a.get("value", n + 1)
                attrs[a["name"]] = (a["type"], n, a.get("checks", {}), a.get("nested-attributes"))
            self.sets[s["name"]] = attrs
        self.ops = {}
        n = 0
        for op in doc["operations"]["list"]:
            n = op.get("value", n + 1)
            self.ops[op["name"]] = n
        self.dev_set_attrs = next(o for o in doc["operations"]["list"]
                                  if o["name"] == "dev-set")["do"]["request"]["attributes"]


def uapi_ifla(path):
    """IFLA_CARP_* of the uapi header: [(number, name, kind)], the kind
    from the comment (u32, binary, be32)."""
    out, n = [], -1
    for line in open(path):
        m = re.match(r"\s*(IFLA_CARP_[A-Z0-9_]+),\s*(/\*\s*(\S+))?", line)
        if not m:
            continue
        n += 1
        if m.group(1).startswith("IFLA_CARP_UNSPEC"):
            continue
        kind = (m.group(3) or "binary").rstrip(":")
        out.append((n, m.group(1)[len("IFLA_CARP_"):].lower(), kind))
    return out


class Fuzzer:
    def __init__(self, args):
        self.r = random.Random(args.seed)
        self.spec = Spec(args.spec)
        self.ifla = uapi_ifla(args.uapi)
        self.dev = args.dev
        self.ifindex = socket.if_nametoindex(args.dev)
        self.lowers = [socket.if_nametoindex(n) for n in args.lowers.split(",")]
        self.lo = socket.if_nametoindex("lo")
        self.gen = Genl("carp")
        self.rt = Sock(socket.NETLINK_ROUTE)
        self.counts = {k: 0 for k in ("genl-set", "genl-get", "genl-dump", "rtnl-change",
                                      "rtnl-create", "accepted", "refused", "checks", "node checks", "node changes")}
        self.violations = []
        self.last = self.config()

    def genl(self, cmd, flags, attrs):
        return self.gen.cmd(cmd, flags, attrs)[:3]

    # -- values ---------------------------------------------------------
    def some_ifindex(self):
        return self.r.choice([self.ifindex, self.ifindex, self.lo, 0, self.r.randrange(1 << 32)]
                             + self.lowers)

    def scalar(self, name, kind, checks):
        """(payload, plain value or None): valid-shaped, out of range, or
        of the wrong length."""
        r = self.r
        how = r.random()
        if kind in ("u32", "uint", "be32"):
            lo, hi = checks.get("min", 0), checks.get("max", 0xFFFFFFFF)
            if name in ("ifindex", "carpdev"):
                v = self.some_ifindex()
            elif name == "balancing":
                v = r.choice([0, 1, 2, 3, 4, 5, 255, r.randrange(1 << 32)])
            elif name in ("state",):
                v = r.choice([0, 1, 2, 3, r.randrange(1 << 32)])
            elif name == "peer":
                v = r.choice([0, 0x0A000001, 0xE0000012, 0xFFFFFFFF, r.randrange(1 << 32),
                              struct.unpack("=I", socket.inet_aton("192.0.2.77"))[0]])
            elif how < 0.6:
                v = r.randint(lo, min(hi, lo + 300))
            elif how < 0.8:
                v = r.choice([lo - 1 if lo else 0xFFFFFFFF, hi + 1 if hi < 0xFFFFFFFF else 0])
            else:
                v = r.randrange(1 << 32)
            if r.random() < 0.1:
                return r.randbytes(r.choice([0, 1, 2, 3, 5, 8])), None
            if kind == "uint" and r.random() < 0.5:
                return struct.pack("=Q", v & 0xFFFFFFFF), None
            return u32(v), v & 0xFFFFFFFF
        if kind == "string":
            n = r.choice([0, 1, 5, 15, 16, 40])
            s = bytes(r.choice(b"carp0eth1xyz\0\xff") for _ in range(n))
            return s + (b"\0" if r.random() < 0.8 else b""), None
        if kind == "flag":
            return (b"" if r.random() < 0.8 else b"\1\2\3\4"), None
        # binary
        if name == "peer6":
            choices = [bytes(16), socket.inet_pton(socket.AF_INET6, "2001:db8::77"),
                       socket.inet_pton(socket.AF_INET6, "ff02::12"),
                       socket.inet_pton(socket.AF_INET6, "fe80::1"),
                       r.randbytes(16)]
            if r.random() < 0.85:
                v = r.choice(choices)
                return v, v
            return r.randbytes(r.choice([0, 4, 15, 17, 32])), None
        if name == "pass":
            n = r.choice([0, 1, 8, 19, 19, 20, 64, 300])
            v = bytes(r.choice(b"abcdefghij\0\xff") for _ in range(n))
            return v, v
        if name == "carpnodes" and r.random() < 0.5:  # valid-shaped: distinct vhids
            p = [(v, r.randint(0, 254)) for v in r.sample(range(1, 256), r.choice([1, 2, 3, 5, 32]))]
            return bytes(b for q in p for b in q), p
        if name in ("carpnodes", "node_states"):
            n = r.choice([0, 1, 2, 3, 32, 33, r.randrange(70)])
            v = b"".join(bytes([r.choice([0, 1, 2, 3, 7, 255, r.randrange(256)]),
                                r.choice([0, 5, 100, 254, 255])]) for _ in range(n))
            if r.random() < 0.1:
                v += b"\1"
            if name == "node_states" or len(v) % 2:
                return v, None
            return v, [(v[i], v[i + 1]) for i in range(0, len(v), 2)]
        return r.randbytes(r.randrange(40)), None

    def garbage_nest(self, depth=0):
        r = self.r
        out = b""
        for _ in range(r.randrange(6)):
            t = r.randrange(12) | (NLA_F_NESTED if r.random() < 0.2 else 0)
            if depth < 3 and r.random() < 0.3:
                out += attr(t, self.garbage_nest(depth + 1))
            else:
                out += attr(t, r.randbytes(r.choice([0, 1, 4, 8, 16])))
        if r.random() < 0.1:
            out += struct.pack("=HH", r.choice([0, 3, 200]), r.randrange(12))  # broken TLV
        return out

    def node_nest(self):
        """(payload, (vhid, advskew) or None when its effect is not
        plain)."""
        nset = self.spec.sets["node"]
        if self.r.random() < 0.5:  # valid: lists the kernel may accept
            v, k = self.r.randint(1, 255), self.r.choice([0, self.r.randint(0, 254)])
            return (attr(nset["vhid"][1], u32(v)) + attr(nset["advskew"][1], u32(k))), (v, k)
        out, pair = b"", {"advskew": 0}
        for name in ("vhid", "advskew"):
            if self.r.random() < 0.9:
                kind, num, checks, _ = nset[name]
                payload, value = self.scalar(name, kind, checks)
                out += attr(num, payload)
                pair[name] = value
        if self.r.random() < 0.2:
            out += self.garbage_nest()
            pair = {}
        if None in pair.values() or "vhid" not in pair:
            return out, None
        return out, (pair["vhid"], pair["advskew"])

    # -- messages -------------------------------------------------------
    def genl_attrs(self, names):
        """Random attributes for a genetlink request: (bytes, {name: last
        plain value})."""
        r = self.r
        dset = self.spec.sets["dev"]
        out, plain = b"", {}
        if r.random() < 0.95:
            out += attr(dset["ifindex"][1], u32(self.ifindex if r.random() < 0.85 else self.some_ifindex()))
        for name in r.sample(names, r.randrange(len(names) + 1)):
            kind, num, checks, nested = dset[name]
            if name == "ifindex":
                continue
            for _ in range(2 if r.random() < 0.1 else 1):
                if kind == "nest":
                    # Every node attribute of the request counts (they
                    # are a list, not a duplicate).
                    nests = [self.node_nest() for _ in range(r.choice([1, 1, 2, 3, 33]))]
                    if r.random() < 0.9:
                        out += b"".join(attr(num | NLA_F_NESTED, p) for p, _ in nests)
                        pairs = [q for _, q in nests]
                    else:
                        out += attr(num, self.garbage_nest())
                        pairs = [None]
                    known = plain.get(name, [])
                    plain[name] = None if known is None or None in pairs else known + pairs
                    continue
                payload, value = self.scalar(name, kind, checks)
                out += attr(num, payload)
                plain[name] = value
        if r.random() < 0.1:  # unknown attribute
            out += attr(r.choice([0, len(dset) + 1, r.randrange(len(dset) + 1, 0x3FFF)]),
                        r.randbytes(r.randrange(12)))
        if r.random() < 0.02:  # huge
            out += attr(dset["pass"][1], r.randbytes(60000))
            plain["pass"] = None
        if r.random() < 0.05:
            out += self.garbage_nest()
            plain = {"node": None}  # any attribute may be in the garbage
        return out, plain

    def info_data(self):
        r = self.r
        out, plain = b"", {}
        names = {"peer": "peer", "peer6": "peer6", "pass": "pass", "advbase": "advbase",
                 "vhid": "vhid", "advskew": "advskew", "carpnodes": "node"}
        for num, name, kind in r.sample(self.ifla, r.randrange(len(self.ifla) + 1)):
            checks = {"vhid": {"min": 1, "max": 255}}.get(name, {"max": 254} if name in ("advskew", "advbase") else {})
            for _ in range(2 if r.random() < 0.1 else 1):
                payload, value = self.scalar(name, kind, checks)
                out += attr(num, payload)
                if name in names:
                    plain[names[name]] = value
        if r.random() < 0.1:
            out += attr(r.choice([0, len(self.ifla) + 1, 200]), bytes(r.randrange(8)))
        if r.random() < 0.05:
            out += self.garbage_nest()
            plain = {"node": None}
        return out, plain

    def linkinfo(self, data):
        kind = b"carp\0" if self.r.random() < 0.95 else self.r.choice([b"carp", b"carpx\0", b""])
        return attr(IFLA_LINKINFO | NLA_F_NESTED, attr(IFLA_INFO_KIND, kind) + attr(IFLA_INFO_DATA | NLA_F_NESTED, data))

    def config(self):
        """DEV's configuration as dev-get reports it, without state and
        demotion (they follow the election)."""
        err, text, p = self.genl(self.spec.ops["dev-get"], 0, attr(self.spec.sets["dev"]["ifindex"][1], u32(self.ifindex)))
        if err or not p:
            raise RuntimeError(f"dev-get {self.dev}: {os.strerror(err)} {text}")
        a = parse_attrs(p[0][4:])
        dset = self.spec.sets["dev"]
        keep = {}
        for name in ("carpdev", "vhid", "advskew", "advbase", "pass", "balancing", "peer", "peer6"):
            keep[name] = a.get(dset[name][1], [None])[0]
        nodes = []
        for n in a.get(dset["node"][1], []):
            na = parse_attrs(n)
            nodes.append(tuple(struct.unpack("=I", na[k][0])[0] if len(na.get(k, [b""])[0]) == 4
                               else None for k in (1, 2)))
        keep["node"] = tuple(nodes)
        return keep

    @staticmethod
    def want_nodes(nodes, plain):
        """The node list after an accepted request with PLAIN's vhid, node
        list and advskew, following Config::apply: a tuple, "invalid" when
        the request must be refused, None when its effect is not plain."""
        keys = [k for k in ("vhid", "node", "advskew") if k in plain]
        if any(plain[k] is None for k in keys):
            return None
        nodes = list(nodes)
        if "vhid" in plain and "node" in plain:
            return "invalid"
        if "vhid" in plain:
            if not 1 <= plain["vhid"] <= 255:
                return "invalid"
            nodes = [(plain["vhid"], nodes[0][1] if nodes else 0)]
        if "node" in plain:
            p = plain["node"]
            vhids = [v for v, _ in p]
            if (not 1 <= len(p) <= 32 or len(set(vhids)) != len(p)
                    or any(not 1 <= v <= 255 or not 0 <= k <= 254 for v, k in p)):
                return "invalid"
            nodes = sorted(p)
        if "advskew" in plain:
            if plain["advskew"] > 254 or not nodes:
                return "invalid"
            nodes[0] = (nodes[0][0], plain["advskew"])
        return tuple(nodes)

    def expect(self, before, after, plain):
        """Mismatches between an accepted request's plain values and DEV's
        configuration after it."""
        bad = []
        for name, v in plain.items():
            if v is None:
                continue
            got = after.get(name)
            if name == "carpdev":
                want = u32(v)
            elif name in ("vhid", "advskew", "node"):
                continue  # want_nodes
            elif name in ("advbase", "balancing", "peer"):
                want = u32(v)
                if name == "peer" and v == 0:
                    want = None  # cleared: not reported
            elif name == "peer6":
                want = None if v == bytes(16) else v
            elif name == "pass":
                want = v if v else None
            else:
                continue
            if name == "peer" and got is None and want == u32(0):
                continue
            if got != want:
                bad.append(f"{name}: sent {v!r}, reads {got!r}")
        want = self.want_nodes(before["node"], plain)
        if want == "invalid":
            bad.append("an invalid node list was accepted")
        elif want is not None and after["node"] != want:
            bad.append(f"nodes: expected {want}, reads {after['node']}")
        if want is not None:
            self.counts["node checks"] += 1
            if want != before["node"]:
                self.counts["node changes"] += 1
        return bad

    def one(self):
        r = self.r
        x = r.random()
        # What the last check read (the election changes only states).
        before = self.last
        if x < 0.45:
            self.counts["genl-set"] += 1
            body, plain = self.genl_attrs(self.spec.dev_set_attrs)
            err, text, _ = self.genl(self.spec.ops["dev-set"], NLM_F_ACK, body)
            msg = body
        elif x < 0.55:
            cmd = r.choice([self.spec.ops["dev-get"], self.spec.ops["stats-get"], 0, 99])
            body, _ = self.genl_attrs(["ifindex", "ifname"])
            if r.random() < 0.4:
                self.counts["genl-dump"] += 1
                self.genl(cmd, NLM_F_DUMP, body)
            else:
                self.counts["genl-get"] += 1
                self.genl(cmd, 0, body if r.random() < 0.8 else body + self.garbage_nest())
            err, plain, msg = None, {}, body
        elif x < 0.9:
            self.counts["rtnl-change"] += 1
            data, plain = self.info_data()
            extra = b""
            if r.random() < 0.1:
                v = self.some_ifindex()
                extra = attr(IFLA_LINK, u32(v))
                plain["carpdev"] = v
            msg = struct.pack("=BxHiII", 0, 0, self.ifindex, 0, 0) + extra + self.linkinfo(data)
            err, text, _, _ = self.rt.request(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, msg)
        else:
            self.counts["rtnl-create"] += 1
            data, _ = self.info_data()
            name = b"fz%d" % r.randrange(4)
            extra = attr(IFLA_LINK, u32(r.choice(self.lowers + [self.lo, self.ifindex, 0])))
            msg = struct.pack("=BxHiII", 0, 0, 0, 0, 0) + attr(IFLA_IFNAME, name + b"\0") + extra + self.linkinfo(data)
            err, text, _, _ = self.rt.request(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, msg)
            self.rt.request(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK,
                            struct.pack("=BxHiII", 0, 0, 0, 0, 0) + attr(IFLA_IFNAME, name + b"\0"))
            plain = {}
            err = None  # DEV is not the target
        after = self.last = self.config()
        if err is None:
            if after != before:
                self.fail("a request not aimed at DEV changed it", msg, before, after)
            return
        self.counts["accepted" if err == 0 else "refused"] += 1
        self.counts["checks"] += 1
        if err:
            if after != before:
                self.fail(f"refused ({os.strerror(err)}: {text}) but DEV changed", msg, before, after)
        else:
            bad = self.expect(before, after, plain)
            if bad:
                self.fail("accepted but " + "; ".join(bad), msg, before, after)

    def fail(self, what, msg, before, after):
        self.violations.append(what)
        print(f"# violation: {what}\n#   request {msg.hex()}\n#   before {before}\n#   after  {after}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--uapi", required=True)
    ap.add_argument("--dev", default="carp0")
    ap.add_argument("--lowers", default="eth0")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=1000)
    args = ap.parse_args()
    f = Fuzzer(args)
    for _ in range(args.count):
        f.one()
    c = f.counts
    print(f"nlfuzz: seed {args.seed}: {args.count} messages ({c['genl-set']} dev-set, "
          f"{c['genl-get']} get, {c['genl-dump']} dump, {c['rtnl-change']} changelink, "
          f"{c['rtnl-create']} newlink), {c['accepted']} accepted, {c['refused']} refused, "
          f"{c['checks']} configuration checks ({c['node checks']} of the node list, "
          f"{c['node changes']} of them changing it), "
          f"{len(f.violations)} violations")
    sys.exit(1 if f.violations else 0)


main()
