#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Each check of debian-ko-check.py can fail: one-byte (or one-field)
mutations of a good carp.ko, each of which must fail the check it names
(and the unmutated module passes them all: the control).

    debian-ko-check-test.py CARP_KO HEADERS_DIR SHIPPED_MODULE

Prints TAP-like lines; exits 1 if a mutation went unnoticed.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import importlib.util  # noqa: E402

spec = importlib.util.spec_from_file_location(
    "kocheck", os.path.join(os.path.dirname(os.path.abspath(__file__)), "debian-ko-check.py"))
kocheck = importlib.util.module_from_spec(spec)
spec.loader.exec_module(kocheck)

ko, hdr, shipped = sys.argv[1:4]
elf = kocheck.Elf(ko)
sec = {s["name"]: (i, s) for i, s in enumerate(elf.sh)}
sym = {s["name"]: s for s in elf.syms if s["name"]}
execs = [i for i, s in enumerate(elf.sh) if s["flags"] & 4 and s["type"] == 1]


def file_off(shndx, off):
    return elf.sh[shndx]["off"] + off


def reloc_sites(target):
    """(section index, offset) of each code relocation against target."""
    for i in execs:
        for off, typ, s, addend in elf.relas(i):
            if s["name"] == target:
                yield i, off


def func(name):
    s = sym[name]
    return s["shndx"], s["value"]


def padding_of(name):
    shndx, value = func(name)
    return file_off(shndx, value - 16)


def strtab_name(name):
    """File offset of a symbol's name in the string table (may be shared
    with the tail of another name: the mutation then hits both)."""
    for s in elf.sh:
        if s["type"] != 2:  # SHT_SYMTAB
            continue
        stroff = elf.sh[s["link"]]["off"]
        for j in range(s["size"] // 24):
            st_name, = struct.unpack_from("<I", elf.data, s["off"] + j * 24)
            if elf.cstr(stroff + st_name) == name:
                return stroff + st_name
    raise KeyError(name)


def shstr(name):
    i, st = next((i, s) for i, s in enumerate(elf.sh) if s["type"] == 3 and
                 elf.data[s["off"]:s["off"] + s["size"]].find(b"\0.note.Linux\0") >= 0)
    return st["off"] + elf.data[st["off"]:st["off"] + st["size"]].index(b"\0" + name.encode() + b"\0") + 1


def shdr_size_off(name):
    shoff, = struct.unpack_from("<Q", elf.data, 0x28)
    shentsize, = struct.unpack_from("<H", elf.data, 0x3A)
    return shoff + sec[name][0] * shentsize + 0x20


ret_site = next(reloc_sites("__x86_return_thunk"))
thunk_site = next((i, o) for i, o in reloc_sites("__x86_indirect_thunk_r11")
                  if elf.bytes(i)[o - 2:o] == b"\x2e\xe8")
modinfo_off = elf.data.index(b"vermagic=") + len("vermagic=")
msg_off = elf.data.index(b"Common Address Redundancy Protocol loaded")
versions_off = sec["__versions"][1]["off"]
# A C function: its padding takes the planted instructions.
plain_fn = next(s["name"] for s in elf.syms if s["type"] == 2 and s["shndx"] in execs and
                s["size"] > 0 and s["name"].startswith("carp_"))


def symidx(name):
    """Index of a symbol in the symbol table."""
    return next(j for j, s in enumerate(elf.syms) if s["name"] == name)


def seal(name):
    """The first .ibt_endbr_seal entry, made to point at function name."""
    i, rela = sec[".rela.ibt_endbr_seal"]
    typ = struct.unpack_from("<Q", elf.data, rela["off"] + 8)[0] & 0xFFFFFFFF
    return [(rela["off"] + 8, struct.pack("<Qq", (symidx(name) << 32) | typ, 0))]


def rela_entries(name):
    return sec[".rela" + name][1]["size"] // 24


# (the check that must fail, [(file offset, bytes)])
mutations = [
    ("vermagic is the kernel's", [(modinfo_off, b"5")]),
    ("all .* imports are exported by the kernel", [(strtab_name("_printk"), b"_prin_k")]),
    ("no Rust symbol is imported", [(strtab_name("kfree"), b"_Rfre")]),
    ("every import carries the kernel's CRC", [(versions_off, bytes([elf.data[versions_off] ^ 1]))]),
    ("exports nothing", [(shstr(".note.Linux"), b"__ksymtab_x")]),
    ("no %pA format", [(msg_off, b"%pA")]),
    ("no bare return", [(file_off(ret_site[0], ret_site[1] - 1), b"\xc3")]),
    ("every return-thunk jump .* is in .return_sites",
     [(shdr_size_off(".rela.return_sites"), struct.pack("<Q", (rela_entries(".return_sites") - 1) * 24))]),
    ("no indirect call or jump",
     [(file_off(thunk_site[0], thunk_site[1] - 2), b"\x41\xff\xd3\x90\x90\x90")]),
    ("every indirect-thunk call .* is in .retpoline_sites",
     [(shdr_size_off(".rela.retpoline_sites"), struct.pack("<Q", (rela_entries(".retpoline_sites") - 1) * 24))]),
    ("indirect-thunk calls carry the cs prefix", [(file_off(thunk_site[0], thunk_site[1] - 2), b"\x90")]),
    ("no SSE, AVX, MMX or x87 register", [(padding_of(plain_fn), b"\x0f\x28\xc1")]),
    ("nothing below %rsp", [(padding_of(plain_fn), b"\x48\x89\x44\x24\xf8")]),
    ("no %fs:", [(padding_of(plain_fn), b"\x64\x48\x8b\x04\x25\x28\x00\x00\x00")]),
    ("stack protector", [(padding_of(plain_fn), b"\x65\x48\x8b\x04\x25\x28\x00\x00\x00")]),
    ("every function .* NOP padding", [(padding_of(plain_fn) + 15, b"\xcc")]),
    ("no function whose address is taken is sealed", seal("init_module")),
    ("every function whose address is taken .* starts with endbr64",
     [(file_off(*func("init_module")), b"\x0f\x1f\x40\x00")]),
]


def run(path):
    out = subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                       "debian-ko-check.py"), path, hdr, shipped],
                         capture_output=True, text=True)
    return out.returncode, out.stdout


failed = 0
rc, out = run(ko)
checks = [line[5:] for line in out.split("\n") if line.startswith("ok - ")]
if rc == 0 and "not ok" not in out and len(checks) >= len(mutations):
    print(f"ok - the unmutated module passes all {len(checks)} checks")
else:
    print("not ok - the unmutated module passes all checks")
    print(out)
    failed += 1
with tempfile.TemporaryDirectory() as tmp:
    for want, patches in mutations:
        path = os.path.join(tmp, "carp.ko")
        shutil.copy(ko, path)
        with open(path, "r+b") as f:
            for off, data in patches:
                f.seek(off)
                f.write(data)
        rc, out = run(path)
        caught = [line for line in out.split("\n")
                  if line.startswith("not ok - ") and re.match(want, line[9:])]
        if rc != 0 and caught:
            print(f"ok - caught: {caught[0][9:]}")
        else:
            print(f"not ok - a mutation for '{want}' went unnoticed (exit {rc})")
            print("\n".join("#   " + line for line in out.split("\n") if line))
            failed += 1
print(f"# {len(mutations) + 1 - failed} of {len(mutations) + 1} passed")
sys.exit(1 if failed else 0)
