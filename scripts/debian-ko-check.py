#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Proves a carp.ko built for a kernel without CONFIG_RUST (Debian's) is
self-contained and honours the kernel's code-generation choices.

    debian-ko-check.py CARP_KO HEADERS_DIR [SHIPPED_MODULE]

HEADERS_DIR is the kernel's headers tree (.config, Module.symvers,
include/config/kernel.release); SHIPPED_MODULE, a module of the kernel's
own package, gives the vermagic to match. Each check prints one line; any
violation fails (exit 1) with the offending symbol or instruction. The
checks read the .config: a mitigation the kernel does not use is not
required of the module.

What it checks, and why:
- imports: every undefined symbol is exported by the kernel
  (Module.symvers), with the same CRC in __versions (MODVERSIONS); none is
  a Rust symbol (the kernel has no Rust: self-contained); no export.
- no "%pA" format string (vsprintf has it only with CONFIG_RUST).
- returns: no bare `ret` (RETHUNK: every return jumps to the return thunk)
  and every return-thunk jump is in .return_sites, so the kernel patches
  it; no indirect call or jump through a register or memory (RETPOLINE:
  through __x86_indirect_thunk_*, each in .retpoline_sites, each with the
  cs prefix the ITS mitigation needs).
- IBT: every function whose address is taken (from data, or a code
  reference that is not a call or jump, also through a section symbol)
  starts with endbr64, and objtool did not seal it (.ibt_endbr_seal: the
  kernel overwrites those endbr64 at load).
- entries: every function is 16-byte aligned with 16 bytes of padding
  before it (a __pfx_ symbol: CALL_PADDING, call-depth tracking); every
  function whose address is taken starts with endbr64 (X86_KERNEL_IBT).
- no SSE/AVX/x87/MMX register, no access below %rsp (no red zone in the
  kernel), no %fs: (the stack canary is at %gs:40); every canary load is
  checked against __stack_chk_fail, and the Rust code has canaries too.
"""
import re
import struct
import subprocess
import sys

failed = []


def check(ok, what, bad=()):
    bad = list(bad)
    if ok and not bad:
        print(f"ok - {what}")
    else:
        print(f"not ok - {what}")
        for b in bad[:20]:
            print(f"#   {b}")
        if len(bad) > 20:
            print(f"#   ... {len(bad) - 20} more")
        failed.append(what)


class Elf:
    """The sections, symbols and relocations of an ELF64 x86-64 object."""

    def __init__(self, path):
        self.data = open(path, "rb").read()
        d = self.data
        assert d[:4] == b"\x7fELF" and d[4] == 2 and d[5] == 1, "not ELF64 LE"
        shoff, = struct.unpack_from("<Q", d, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", d, 0x3A)
        self.sh = []
        for i in range(shnum):
            (name, typ, flags, addr, off, size, link, info, align,
             entsize) = struct.unpack_from("<IIQQQQIIQQ", d, shoff + i * shentsize)
            self.sh.append(dict(name=name, type=typ, flags=flags, off=off,
                                size=size, link=link, info=info, entsize=entsize))
        strtab = self.sh[shstrndx]
        for s in self.sh:
            s["name"] = self.cstr(strtab["off"] + s["name"])
        self.syms = []
        for s in self.sh:
            if s["type"] == 2:  # SHT_SYMTAB
                stroff = self.sh[s["link"]]["off"]
                for j in range(s["size"] // 24):
                    name, info, other, shndx, value, size = struct.unpack_from(
                        "<IBBHQQ", d, s["off"] + j * 24)
                    self.syms.append(dict(name=self.cstr(stroff + name),
                                          bind=info >> 4, type=info & 15,
                                          shndx=shndx, value=value, size=size))

    def cstr(self, off):
        return self.data[off:self.data.index(b"\0", off)].decode()

    def bytes(self, idx):
        s = self.sh[idx]
        return self.data[s["off"]:s["off"] + s["size"]]

    def relas(self, target):
        """(offset, type, symbol, addend) of the relocations of section target."""
        for s in self.sh:
            if s["type"] == 4 and s["info"] == target:  # SHT_RELA
                for j in range(s["size"] // 24):
                    off, info, addend = struct.unpack_from("<QQq", self.data, s["off"] + j * 24)
                    yield off, info & 0xFFFFFFFF, self.syms[info >> 32], addend


def config(hdr):
    cfg = {}
    for line in open(f"{hdr}/.config"):
        m = re.match(r"(CONFIG_\w+)=(.*)", line)
        if m:
            cfg[m.group(1)] = m.group(2)
    return cfg


def main():
    ko, hdr = sys.argv[1], sys.argv[2]
    shipped = sys.argv[3] if len(sys.argv) > 3 else None
    cfg = config(hdr)
    on = lambda o: cfg.get(o) == "y"
    elf = Elf(ko)
    execs = {i for i, s in enumerate(elf.sh) if s["flags"] & 4 and s["type"] == 1}

    # --- What the module is to the loader.
    modinfo = lambda f, m=ko: subprocess.run(["modinfo", "-F", f, m], capture_output=True,
                                             text=True, check=True).stdout.strip("\n")
    if shipped:
        want = modinfo("vermagic", shipped)
    else:
        rel = open(f"{hdr}/include/config/kernel.release").read().strip()
        want = f"{rel} SMP preempt mod_unload modversions"
    got = modinfo("vermagic")
    check(got.strip() == want.strip(), f"vermagic is the kernel's ({want.strip()!r})",
          [] if got.strip() == want.strip() else [f"carp.ko has {got!r}"])

    symvers = {}
    for line in open(f"{hdr}/Module.symvers"):
        crc, sym, *_ = line.split("\t")
        symvers[sym] = int(crc, 16)
    undef = sorted({s["name"] for s in elf.syms if s["shndx"] == 0 and s["name"]})
    check(len(undef) > 50 and all(u in symvers for u in undef),
          f"all {len(undef)} imports are exported by the kernel (Module.symvers)",
          [u for u in undef if u not in symvers])
    check(True, "no Rust symbol is imported (self-contained)",
          [u for u in undef if re.match(r"_R|__rust|rust_", u)])
    vers = subprocess.run(["modprobe", "--dump-modversions", ko], capture_output=True,
                          text=True, check=True).stdout.split("\n")
    crcs = {}
    for line in vers:
        if line:
            crc, sym = line.split("\t")
            crcs[sym] = int(crc, 16)
    if on("CONFIG_MODVERSIONS"):
        check(len(crcs) >= len(undef) and all(crcs.get(u) == symvers.get(u) for u in undef),
              f"every import carries the kernel's CRC ({len(crcs)} in __versions)",
              [f"{u}: {crcs.get(u)} != {symvers.get(u)}" for u in undef
               if crcs.get(u) != symvers.get(u)])
    check(True, "exports nothing", [s["name"] for s in elf.sh if s["name"].startswith("__ksymtab")])
    check(b"%pA" not in elf.data, "no %pA format (the kernel has no Rust to print it)")

    # --- The code, instruction by instruction (GNU objdump: the kernel's binutils).
    dis = subprocess.run(["objdump", "-drw", ko],
                         capture_output=True, text=True, check=True).stdout
    sec = fn = None
    unparsed = []
    rets, indirect, nocs, sse, redzone, fsref = [], [], [], [], [], []
    canary_fns, chk_fns, thunk_jumps, ret_thunks, addr_taken_code = set(), set(), 0, 0, []
    for line in dis.split("\n"):
        m = re.match(r"Disassembly of section (\S+):", line)
        if m:
            sec = m.group(1)
            continue
        m = re.match(r"[0-9a-f]+ <(.+)>:$", line)
        if m:
            fn = m.group(1)
            continue
        # "  addr:<TAB>bytes<TAB>insn[<TAB>off: R_X86_64_type<TAB>target]"
        m = re.match(r"\s+[0-9a-f]+:\t([0-9a-f ]+)\t([^\t]*)(?:\t[0-9a-f]+: R_X86_64_(\w+)\t(\S+))?$", line)
        if not m:
            if re.match(r"\s+[0-9a-f]+:\t[0-9a-f]{2} ", line):
                unparsed.append(line)
            continue
        rel_type, target = m.group(3), m.group(4)
        insn = re.sub(r"\s+", " ", m.group(2).split("#")[0]).strip()
        if re.fullmatch(r"(rep |bnd )?ret[qw]?( \$0x[0-9a-f]+)?|lret[qw]?.*|iret[qd]?", insn):
            rets.append(f"{fn}: {insn}")
        if re.match(r"(cs |notrack |bnd )*(call|jmp)[qw]? +\*", insn):
            indirect.append(f"{fn}: {insn}")
        if re.search(r"%[xyz]mm\d|%mm\d|%st\b|%st\(", insn):
            sse.append(f"{fn}: {insn}")
        if re.search(r"-0x[0-9a-f]+\(%rsp\)", insn):
            redzone.append(f"{fn}: {insn}")
        if "%fs:" in insn:
            fsref.append(f"{fn}: {insn}")
        if "%gs:0x28" in insn:
            canary_fns.add(fn)
        if not rel_type:
            continue
        name = re.sub(r"[-+]0x[0-9a-f]+$", "", target)
        if name == "__stack_chk_fail":
            chk_fns.add(fn)
        if name.startswith("__x86_indirect_thunk_"):
            thunk_jumps += 1
            if not insn.startswith("cs "):
                nocs.append(f"{fn}: {insn}")
        if name == "__x86_return_thunk" and re.match(r"(cs )?jmp", insn):
            ret_thunks += 1
        if not re.match(r"(cs )?(call|jmp|j[a-z]+) ", insn):
            addr_taken_code.append((target, rel_type))

    check(True, "every instruction line of objdump's output was understood", unparsed)
    if on("CONFIG_MITIGATION_RETHUNK"):
        check(True, "no bare return (all through __x86_return_thunk)", rets)
        nsites = sum(1 for _ in elf.relas(elf.sh.index(next(s for s in elf.sh if s["name"] == ".return_sites"))))
        check(ret_thunks > 100 and nsites >= ret_thunks,
              f"every return-thunk jump ({ret_thunks}) is in .return_sites ({nsites})")
    if on("CONFIG_MITIGATION_RETPOLINE"):
        check(True, "no indirect call or jump (all through __x86_indirect_thunk_*)", indirect)
        nsites = sum(1 for _ in elf.relas(elf.sh.index(next(s for s in elf.sh if s["name"] == ".retpoline_sites"))))
        check(thunk_jumps > 0 and nsites >= thunk_jumps,
              f"every indirect-thunk call ({thunk_jumps}) is in .retpoline_sites ({nsites})")
    if on("CONFIG_MITIGATION_ITS"):
        check(thunk_jumps > 0, "indirect-thunk calls carry the cs prefix (ITS)", nocs)
    check(True, "no SSE, AVX, MMX or x87 register", sse)
    check(True, "nothing below %rsp (no red zone)", redzone)
    check(True, "no %fs: (the canary is %gs:40)", fsref)
    if on("CONFIG_STACKPROTECTOR"):
        rust = {f for f in canary_fns if f.startswith("_R")}
        check(len(rust) > 10 and canary_fns <= chk_fns,
              f"stack protector: {len(canary_fns)} functions check the canary, "
              f"{len(rust)} of them Rust, each against __stack_chk_fail",
              sorted(canary_fns - chk_fns))

    # --- Function entries.
    funcs = [s for s in elf.syms if s["type"] == 2 and s["shndx"] in execs and s["size"] > 0
             and not s["name"].startswith("__pfx_")]
    pfx = {(s["shndx"], s["value"]) for s in elf.syms if s["name"].startswith("__pfx_")}
    if on("CONFIG_CALL_PADDING"):
        pad = int(cfg.get("CONFIG_FUNCTION_PADDING_BYTES", "16"))
        align = int(cfg.get("CONFIG_FUNCTION_ALIGNMENT", "16"))
        bad = [f"{s['name']} at {s['value']:#x}" for s in funcs
               if s["value"] % align or (s["shndx"], s["value"] - pad) not in pfx
               or elf.bytes(s["shndx"])[s["value"] - pad:s["value"]] != b"\x90" * pad]
        check(len(funcs) > 100, f"every function ({len(funcs)}) is {align}-byte aligned after "
              f"{pad} bytes of NOP padding (__pfx_)", bad)
    if on("CONFIG_X86_KERNEL_IBT"):
        # Address taken: a relocation from data (not the metadata sections the
        # kernel reads itself) or a code reference that is not a call/jump.
        meta = re.compile(r"^(\.debug|\.orc|\.return_sites|\.retpoline_sites|\.call_sites|"
                          r"\.ibt_endbr_seal|__mcount_loc|__patchable_function_entries|"
                          r"__bug_table|__jump_table|__ex_table|\.altinstr|\.static_call|"
                          r"\.eh_frame|\.BTF|\.discard|\.note)")
        byaddr = {(s["shndx"], s["value"]): s["name"] for s in funcs}
        taken = set()
        for i, s in enumerate(elf.sh):
            if i in execs or s["type"] not in (1, 8) or meta.match(s["name"]):
                continue
            for off, typ, sym, addend in elf.relas(i):
                if sym["shndx"] in execs:
                    key = (sym["shndx"], sym["value"] + (addend if sym["type"] == 3 else 0))
                    if key in byaddr:
                        taken.add(byaddr[key])
        names = {s["name"] for s in funcs}
        # A code reference names a function or a section plus an offset
        # (PC-relative: the addend is the target minus 4).
        secidx = {}
        for i in execs:
            secidx.setdefault(elf.sh[i]["name"], []).append(i)
        for target, typ in addr_taken_code:
            m = re.match(r"(.+?)([-+]0x[0-9a-f]+)?$", target)
            base, off = m.group(1), int(m.group(2) or "0", 16)
            if typ in ("PC32", "PLT32"):
                off += 4
            if base in names and off == 0:
                taken.add(base)
            elif len(secidx.get(base, [])) == 1 and (secidx[base][0], off) in byaddr:
                taken.add(byaddr[(secidx[base][0], off)])
        # objtool seals (the kernel overwrites at load) the endbr64 of
        # functions it found no address-taking reference to.
        sealed = set()
        for i, sh in enumerate(elf.sh):
            if sh["name"] == ".ibt_endbr_seal":
                for off, typ, sym, addend in elf.relas(i):
                    key = (sym["shndx"], sym["value"] + addend)
                    if key in byaddr:
                        sealed.add(byaddr[key])
        check(len(sealed) > 10, f"no function whose address is taken is sealed by objtool "
              f"({len(sealed)} sealed)", sorted(taken & sealed))
        entry = {s["name"]: elf.bytes(s["shndx"])[s["value"]:s["value"] + 4] for s in funcs}
        check(len(taken) > 20 and "init_module" in taken,
              f"every function whose address is taken ({len(taken)}) starts with endbr64",
              sorted(n for n in taken if entry.get(n) != b"\xf3\x0f\x1e\xfa"))

    print(f"# debian-ko-check: {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
