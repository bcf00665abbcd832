"""Resource usage of a container, read as docker reads it: from its cgroups
(CPU time, memory, block I/O, pids, v1 or v2) and from its network namespace
(/proc/PID/net/dev: the namespace of that process, loopback left out)."""

from __future__ import annotations

import os
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Sample:
    cpu_ns: int = 0  # the container's CPU time
    system_ns: int = 0  # the host's, all CPUs (docker's "system_cpu_usage")
    online_cpus: int = 1
    mem_usage: int = 0  # without the inactive page cache, as docker 20.10
    mem_inactive: int = 0  # that inactive page cache (the API reports it beside the raw usage)
    mem_limit: int = 0  # the cgroup's limit, or the host's memory when unlimited
    net_rx: int = 0
    net_tx: int = 0
    blk_read: int = 0
    blk_write: int = 0
    pids: int = 0


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _keyed(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdecimal():
            out[key] = int(value)
    return out


def host_memory() -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def system_cpu_ns() -> tuple[int, int]:
    """(host CPU time in ns summed over CPUs, online CPUs) from /proc/stat."""
    total, cpus = 0, 0
    for line in _read("/proc/stat").splitlines():
        if line.startswith("cpu "):
            total = sum(int(x) for x in line.split()[1:8]) * (1_000_000_000 // CLOCK_TICKS)
        elif line.startswith("cpu"):
            cpus += 1
    return total, max(cpus, 1)


def sample(paths: dict[str, str], pid: int | None) -> Sample:
    s = Sample()
    s.system_ns, s.online_cpus = system_cpu_ns()
    unified = paths.get("unified") if "memory" not in paths else None
    if unified:
        s.cpu_ns = _keyed(_read(f"{unified}/cpu.stat")).get("usage_usec", 0) * 1000
        stat = _keyed(_read(f"{unified}/memory.stat"))
        current = _read(f"{unified}/memory.current").strip()
        s.mem_inactive = min(stat.get("inactive_file", 0), int(current or 0))
        s.mem_usage = int(current or 0) - s.mem_inactive
        limit = _read(f"{unified}/memory.max").strip()
        s.mem_limit = int(limit) if limit.isdecimal() else 0
        for line in _read(f"{unified}/io.stat").splitlines():
            fields = dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)
            s.blk_read += int(fields.get("rbytes", 0))
            s.blk_write += int(fields.get("wbytes", 0))
        s.pids = int(_read(f"{unified}/pids.current").strip() or 0)
    else:
        usage = _read(f"{paths.get('cpuacct', paths.get('cpu', ''))}/cpuacct.usage").strip()
        s.cpu_ns = int(usage or 0)
        if "memory" in paths:
            stat = _keyed(_read(f"{paths['memory']}/memory.stat"))
            usage = _read(f"{paths['memory']}/memory.usage_in_bytes").strip()
            s.mem_inactive = min(stat.get("total_inactive_file", 0), int(usage or 0))
            s.mem_usage = int(usage or 0) - s.mem_inactive
            s.mem_limit = int(_read(f"{paths['memory']}/memory.limit_in_bytes").strip() or 0)
        if "blkio" in paths:
            for line in _read(f"{paths['blkio']}/blkio.throttle.io_service_bytes").splitlines():
                cols = line.split()
                if len(cols) == 3 and cols[1] in ("Read", "Write"):
                    if cols[1] == "Read":
                        s.blk_read += int(cols[2])
                    else:
                        s.blk_write += int(cols[2])
        else:
            s.blk_read, s.blk_write = _proc_io(paths)
        if "pids" in paths:
            s.pids = int(_read(f"{paths['pids']}/pids.current").strip() or 0)
    host = host_memory()
    if not s.mem_limit or s.mem_limit > host:
        s.mem_limit = host
    if pid:
        s.net_rx, s.net_tx = net_bytes(pid)
    return s


def of_container(spec: dict, pid: int | None) -> Sample:
    """A running container's sample: the network bytes of its own namespace only
    (a host-network container's would be the host's)."""
    return sample(spec["cgroups"], pid if spec.get("network") != "host" else None)


def _proc_io(paths: dict[str, str]) -> tuple[int, int]:
    """Without a blkio cgroup: the storage I/O of the processes alive now."""
    from mydocker.core.cgroups import pids

    read = write = 0
    for pid in pids(paths):
        io = _keyed(_read(f"/proc/{pid}/io").replace(":", ""))
        read += io.get("read_bytes", 0)
        write += io.get("write_bytes", 0)
    return read, write


def net_bytes(pid: int) -> tuple[int, int]:
    """(received, sent) over the interfaces of the process's network namespace."""
    rx = tx = 0
    for line in _read(f"/proc/{pid}/net/dev").splitlines()[2:]:
        name, _, rest = line.partition(":")
        if name.strip() == "lo":
            continue
        fields = rest.split()
        if len(fields) >= 9:
            rx += int(fields[0])
            tx += int(fields[8])
    return rx, tx


def cpu_percent(before: Sample, after: Sample) -> float:
    """docker's formula: the container's share of the host's CPU time, times CPUs."""
    cpu = after.cpu_ns - before.cpu_ns
    system = after.system_ns - before.system_ns
    if cpu <= 0 or system <= 0:
        return 0.0
    return cpu / system * after.online_cpus * 100.0
