"""--sysctl: which kernel parameters a container may set (only those that live
in a namespace of its own, as docker allows), and setting them from the init."""

from __future__ import annotations

# docker's list (opts.ValidateSysctl): IPC-namespaced keys and prefixes, and net.*
NAMESPACED = frozenset({"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                        "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"})
PREFIXES = ("net.", "fs.mqueue.")


def allowed(key: str) -> bool:
    return key in NAMESPACED or key.startswith(PREFIXES)


def path_of(key: str) -> str:
    return "/proc/sys/" + key.replace(".", "/")


def apply(sysctls: dict[str, str]) -> None:
    """Run in the init after its namespaces exist and before pivot_root: /proc/sys
    answers for the namespaces of whoever writes, so the host's /proc reaches ours."""
    for key, value in sysctls.items():
        if ".." in key or "/" in key:  # checked at create; a key is never a path
            raise ValueError(f"invalid sysctl key {key!r}")
        try:
            with open(path_of(key), "w") as f:
                f.write(value)
        except OSError as exc:
            raise OSError(exc.errno, f"write sysctl key {key}: {exc.strerror}") from None
