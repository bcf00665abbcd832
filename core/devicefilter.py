"""The devices allow-list on cgroup v2: a BPF_PROG_TYPE_CGROUP_DEVICE program.

v2 has no devices.allow file; the kernel asks a program attached to the cgroup
instead, once per open or mknod of a device node, with
struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major; u32 minor; }.
The program is assembled here as runc's devicefilter does: load the fields into
registers, then one block per allow rule ("c 1:3 rwm", "a *:* rwm", ...) that
answers 1 when every field matches, and 0 (denied) after the last block.
"""

from __future__ import annotations

import os
import re
import struct

from mydocker.core import syscalls as sc

_RULE = re.compile(r"([acb]) (\d+|\*):(\d+|\*) ([rwm]{1,3})", re.ASCII)
_TYPES = {"b": 1, "c": 2}  # BPF_DEVCG_DEV_BLOCK, BPF_DEVCG_DEV_CHAR
_ACCESS = {"m": 1, "r": 2, "w": 4}  # BPF_DEVCG_ACC_MKNOD, _READ, _WRITE

# eBPF opcodes used (linux/bpf.h, linux/bpf_common.h)
_LDX_W = 0x61  # BPF_LDX | BPF_MEM | BPF_W: dst = *(u32 *)(src + off)
_AND_K = 0x54  # BPF_ALU | BPF_AND | BPF_K (32-bit)
_RSH_K = 0x74  # BPF_ALU | BPF_RSH | BPF_K
_MOV_X = 0xBC  # BPF_ALU | BPF_MOV | BPF_X
_MOV64_K = 0xB7  # BPF_ALU64 | BPF_MOV | BPF_K
_JNE_K = 0x55  # BPF_JMP | BPF_JNE | BPF_K: if dst != imm: pc += off
_JNE_X = 0x5D  # BPF_JMP | BPF_JNE | BPF_X
_EXIT = 0x95  # BPF_JMP | BPF_EXIT


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def assemble(rules: list[str]) -> bytes:
    """The program's instructions for these allow rules (ValueError for a bad one)."""
    out = [
        _insn(_LDX_W, 2, 1, 0),  # r2 = access_type
        _insn(_AND_K, 2, imm=0xFFFF),  # r2 = type
        _insn(_LDX_W, 3, 1, 0),
        _insn(_RSH_K, 3, imm=16),  # r3 = access requested
        _insn(_LDX_W, 4, 1, 4),  # r4 = major
        _insn(_LDX_W, 5, 1, 8),  # r5 = minor
    ]
    for rule in rules:
        m = _RULE.fullmatch(rule.strip())
        if not m:
            raise ValueError(f"invalid device rule {rule!r}")
        kind, major, minor, access = m.groups()
        # each check (code, dst, src, imm) jumps over the rest of its block when it fails
        body: list[bytes | tuple[int, int, int, int]] = []
        if kind != "a":
            body.append((_JNE_K, 2, 0, _TYPES[kind]))
        allowed = sum(_ACCESS[c] for c in set(access))
        if allowed != 7:  # every requested bit must be allowed: (r3 & allowed) == r3
            body += [_insn(_MOV_X, 1, 3), _insn(_AND_K, 1, imm=allowed), (_JNE_X, 1, 3, 0)]
        if major != "*":
            body.append((_JNE_K, 4, 0, int(major)))
        if minor != "*":
            body.append((_JNE_K, 5, 0, int(minor)))
        body += [_insn(_MOV64_K, 0, imm=1), _insn(_EXIT)]
        for index, item in enumerate(body):
            if isinstance(item, tuple):
                code, dst, src, imm = item
                out.append(_insn(code, dst, src, len(body) - index - 1, imm))
            else:
                out.append(item)
        if not any(isinstance(item, tuple) for item in body):
            # "a *:* rwm" allows all: what follows is unreachable, which the verifier refuses
            return b"".join(out)
    out += [_insn(_MOV64_K, 0, imm=0), _insn(_EXIT)]
    return b"".join(out)


def attach(cgroup_dir: str, rules: list[str]) -> None:
    """Load the program for rules and attach it to the v2 cgroup. The attachment
    lives as long as the cgroup: nothing to detach at teardown. ALLOW_MULTI, so a
    parent's own program (systemd's, a nesting runtime's) still applies too."""
    program = sc.bpf_prog_load(sc.BPF_PROG_TYPE_CGROUP_DEVICE, assemble(rules), "Apache")
    try:
        target = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            sc.bpf_prog_attach(target, program, sc.BPF_CGROUP_DEVICE, sc.BPF_F_ALLOW_MULTI)
        finally:
            os.close(target)
    finally:
        os.close(program)
