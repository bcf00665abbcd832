"""linux.seccomp of the runtime spec, through libseccomp (pyseccomp).

Split in two: `compile_rules` turns the JSON into plain tuples (checked without
the library, so a bad profile fails `create` with one line), and `load` hands
them to libseccomp in the container's init, just before exec.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any

from mydocker.core.ocispec import SpecError

ACTIONS = ("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
           "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY")
OPERATORS = ("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
             "SCMP_CMP_MASKED_EQ")
ARCHES = {"SCMP_ARCH_X86": "X86", "SCMP_ARCH_X86_64": "X86_64", "SCMP_ARCH_X32": "X32",
          "SCMP_ARCH_ARM": "ARM", "SCMP_ARCH_AARCH64": "AARCH64", "SCMP_ARCH_PPC64LE": "PPC64LE",
          "SCMP_ARCH_S390X": "S390X", "SCMP_ARCH_RISCV64": "RISCV64", "SCMP_ARCH_MIPS": "MIPS",
          "SCMP_ARCH_MIPS64": "MIPS64", "SCMP_ARCH_MIPSEL": "MIPSEL", "SCMP_ARCH_MIPSEL64": "MIPSEL64",
          "SCMP_ARCH_PPC": "PPC", "SCMP_ARCH_PPC64": "PPC64", "SCMP_ARCH_S390": "S390"}


@dataclass
class Rule:
    action: tuple[str, int]
    name: str
    args: list[tuple[int, str, int, int]]  # (index, operator, value, valueTwo)


@dataclass
class Profile:
    default: tuple[str, int]
    arches: list[str]
    rules: list[Rule]


def _action(name: Any, errno_ret: Any, default_errno: int) -> tuple[str, int]:
    if name not in ACTIONS:
        raise SpecError(f"seccomp: unknown action {name!r}")
    if name == "SCMP_ACT_NOTIFY":
        raise SpecError("seccomp: SCMP_ACT_NOTIFY (a listener) is not supported by mydocker-runc")
    return name, int(errno_ret) if errno_ret is not None else default_errno


def compile_rules(seccomp: dict[str, Any]) -> Profile:
    default = _action(seccomp.get("defaultAction"), seccomp.get("defaultErrnoRet"), errno.EPERM)
    arches = []
    for arch in seccomp.get("architectures") or []:
        if arch not in ARCHES:
            raise SpecError(f"seccomp: unknown architecture {arch!r}")
        arches.append(ARCHES[arch])
    if seccomp.get("listenerPath"):
        raise SpecError("seccomp: listenerPath is not supported by mydocker-runc")
    rules = []
    for entry in seccomp.get("syscalls") or []:
        action = _action(entry.get("action"), entry.get("errnoRet"), errno.EPERM)
        args = []
        for arg in entry.get("args") or []:
            if arg.get("op") not in OPERATORS:
                raise SpecError(f"seccomp: unknown operator {arg.get('op')!r}")
            args.append((int(arg["index"]), arg["op"], int(arg.get("value", 0)), int(arg.get("valueTwo", 0))))
        for name in entry.get("names") or []:
            rules.append(Rule(action, name, args))
    return Profile(default, arches, rules)


def _to_action(seccomp: Any, action: tuple[str, int]) -> int:
    name, err = action
    simple = {"SCMP_ACT_KILL": seccomp.KILL, "SCMP_ACT_KILL_THREAD": seccomp.KILL_THREAD,
              "SCMP_ACT_KILL_PROCESS": seccomp.KILL_PROCESS, "SCMP_ACT_TRAP": seccomp.TRAP,
              "SCMP_ACT_ALLOW": seccomp.ALLOW, "SCMP_ACT_LOG": seccomp.LOG}
    if name in simple:
        return simple[name]
    if name == "SCMP_ACT_ERRNO":
        return seccomp.ERRNO(err)
    return seccomp.TRACE(err)  # SCMP_ACT_TRACE


def load(profile: Profile) -> None:
    """Load the filter into this process (after no_new_privs or with CAP_SYS_ADMIN)."""
    import pyseccomp as seccomp

    flt = seccomp.SyscallFilter(_to_action(seccomp, profile.default))
    for arch in profile.arches:
        value = getattr(seccomp.Arch, arch)
        if not flt.exist_arch(value):
            try:
                flt.add_arch(value)
            except (OSError, ValueError, RuntimeError):
                continue
    ops = {"SCMP_CMP_NE": seccomp.NE, "SCMP_CMP_LT": seccomp.LT, "SCMP_CMP_LE": seccomp.LE,
           "SCMP_CMP_EQ": seccomp.EQ, "SCMP_CMP_GE": seccomp.GE, "SCMP_CMP_GT": seccomp.GT,
           "SCMP_CMP_MASKED_EQ": seccomp.MASKED_EQ}
    for rule in profile.rules:
        action = _to_action(seccomp, rule.action)
        if action == _to_action(seccomp, profile.default):
            continue  # libseccomp refuses a rule that repeats the default action
        args = [seccomp.Arg(i, ops[op], a, b) for i, op, a, b in rule.args]
        try:
            flt.add_rule(action, rule.name, *args)
        except (OSError, ValueError, RuntimeError):
            continue  # a system call this architecture or libseccomp does not know: runc skips it too
    flt.load()
