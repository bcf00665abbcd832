"""run/create flags for block I/O and device cgroups and the cgroup namespace:
--blkio-weight, --device-read-bps/--device-write-bps/--device-read-iops/
--device-write-iops, --device-cgroup-rule, --cgroupns. Values are checked with
docker's words; what inspect's HostConfig shows of them is read back here too."""

from __future__ import annotations

import argparse
import os
import re
import stat
import sys
from typing import Any

from mydocker.cli.parsing import Parser, UsageError, parse_size

THROTTLES = {"--device-read-bps": "read_bps", "--device-write-bps": "write_bps",
             "--device-read-iops": "read_iops", "--device-write-iops": "write_iops"}
INSPECT_NAMES = {"read_bps": "BlkioDeviceReadBps", "write_bps": "BlkioDeviceWriteBps",
                 "read_iops": "BlkioDeviceReadIOps", "write_iops": "BlkioDeviceWriteIOps"}
_RULE = re.compile(r"([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})", re.ASCII)


def _flag_error(flag: str, value: str, why: str) -> UsageError:
    return UsageError(f'invalid argument "{value}" for "{flag}" flag: {why}')


def _throttle(flag: str):  # type: ignore[no-untyped-def]
    iops = flag.endswith("iops")

    def convert(text: str) -> tuple[str, int]:
        path, sep, rate = text.rpartition(":")
        if not sep or not path.startswith("/dev/") or ":" in path:
            raise _flag_error(flag, text, f"bad format for device path: {text}")
        why = (f"invalid rate for device: {text}. The correct format is <device-path>:<number>. "
               "Number must be a positive integer" if iops else
               f"invalid rate for device: {text}. The correct format is <device-path>:<number>[<unit>]. "
               "Number must be a positive integer. Unit is optional and can be kb, mb, or gb")
        try:
            value = int(rate) if iops and rate.isascii() and rate.isdecimal() else parse_size(rate)
        except UsageError:
            raise _flag_error(flag, text, why) from None
        if iops and not (rate.isascii() and rate.isdecimal()):
            raise _flag_error(flag, text, why)
        return path, value

    return convert


def parse_blkio_weight(text: str) -> int:
    if not (text.isascii() and text.isdecimal()) or int(text) > 65535:
        raise _flag_error("--blkio-weight", text, f'strconv.ParseUint: parsing "{text}": '
                          + ("value out of range" if text.isdecimal() else "invalid syntax"))
    return int(text)


def parse_weight_device(text: str) -> tuple[str, int]:
    """DEVICE:WEIGHT, docker's ValidateWeightDevice: 10..1000, or 0."""
    path, sep, weight = text.rpartition(":")
    if not sep:
        raise _flag_error("--blkio-weight-device", text, f"bad format: {text}")
    if not path.startswith("/dev/"):
        raise _flag_error("--blkio-weight-device", text, f"bad format for device path: {text}")
    if not (weight.isascii() and weight.isdecimal()) or not (int(weight) == 0 or 10 <= int(weight) <= 1000):
        raise _flag_error("--blkio-weight-device", text, f"invalid weight for device: {text}")
    return path, int(weight)


def parse_cgroup_rule(text: str) -> str:
    if not _RULE.fullmatch(text):
        raise _flag_error("--device-cgroup-rule", text, f"invalid device cgroup format '{text}'")
    return text


def parse_cgroupns(text: str) -> str:
    if text not in ("host", "private", ""):
        raise UsageError("--cgroupns: invalid CGROUP mode.")
    return text


def add_flags(p: Parser) -> None:
    p.add_argument("--blkio-weight", type=parse_blkio_weight,
                   help="block IO (relative weight), between 10 and 1000, or 0 to disable")
    p.add_argument("--blkio-weight-device", action="append", default=[], type=parse_weight_device,
                   help="block IO weight (relative device weight): DEVICE:WEIGHT")
    for flag, kind in THROTTLES.items():
        unit = "IO per second" if kind.endswith("iops") else "bytes per second"
        p.add_argument(flag, dest=f"throttle_{kind}", action="append", default=[], type=_throttle(flag),
                       help=f"limit {kind.split('_')[0]} rate ({unit}) from a device: PATH:RATE")
    p.add_argument("--device-cgroup-rule", action="append", default=[], type=parse_cgroup_rule,
                   help="add a rule to the cgroup allowed devices list: 'c|b|a MAJOR|*:MINOR|* rwm'")
    p.add_argument("--cgroupns", type=parse_cgroupns, default="",
                   help="cgroup namespace: host or private (default: private on cgroup v2, host on v1)")
    add_memory_flags(p)


def _device_number(path: str) -> str:
    """major:minor of a block device, as the daemon finds it at create time."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise UsageError(f"stat {path}: {(exc.strerror or str(exc)).lower()}") from None
    if not stat.S_ISBLK(st.st_mode):
        raise UsageError(f"{path} is not a block device")
    return f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"


def limits(args: argparse.Namespace) -> dict[str, Any]:
    """The Limits fields these flags set."""
    from mydocker.core import cgroups

    weight = args.blkio_weight or None
    if weight is not None and not _weight_supported(cgroups):
        sys.stderr.write("WARNING: Your kernel does not support Block I/O weight or the cgroup is not mounted. "
                         "Weight discarded.\n")
        weight = None
    if weight is not None and not 10 <= weight <= 1000:
        raise UsageError("Range of blkio weight is from 10 to 1000")
    throttle = [[kind, path, _device_number(path), rate]
                for kind in THROTTLES.values() for path, rate in getattr(args, f"throttle_{kind}")]
    weight_device = []
    if args.blkio_weight_device and not _weight_supported(cgroups, cgroups.weight_device_file):
        sys.stderr.write("WARNING: Your kernel does not support Block I/O weight_device or the cgroup is not "
                         "mounted. Weight-device discarded.\n")
    elif args.blkio_weight_device:
        weight_device = [[path, _device_number(path), value] for path, value in args.blkio_weight_device]
    return {"blkio_weight": weight, "blkio_throttle": throttle, "device_cgroup_rules": list(args.device_cgroup_rule),
            "blkio_weight_device": weight_device, **memory_limits(args)}


def _weight_supported(cgroups: Any, which: Any = None) -> bool:
    which = which or cgroups.blkio_weight_file
    mode = cgroups.detect_mode()
    if mode == "v2":
        own = cgroups.own_paths().get("unified", "/").strip("/")
        return which(str(cgroups.CGROUP_ROOT / own)) is not None
    return which(str(cgroups.CGROUP_ROOT / "blkio")) is not None


def cgroupns(args: argparse.Namespace) -> str:
    """docker's default: a private cgroup namespace on a v2 host, the host's on v1."""
    if args.cgroupns:
        return str(args.cgroupns)
    from mydocker.core.cgroups import detect_mode

    return "private" if detect_mode() == "v2" else "host"


def host_config(spec: dict[str, Any]) -> dict[str, Any]:
    """inspect's HostConfig fields for these flags, from the recorded spec."""
    limits = spec.get("limits") or {}
    out: dict[str, Any] = {name: None for name in INSPECT_NAMES.values()}
    for kind, path, _device, rate in limits.get("blkio_throttle") or []:
        out[INSPECT_NAMES[kind]] = [*(out[INSPECT_NAMES[kind]] or []), {"Path": path, "Rate": rate}]
    return {
        "CgroupnsMode": spec.get("cgroupns") or "host",
        "BlkioWeight": limits.get("blkio_weight") or 0,
        "BlkioWeightDevice": [{"Path": path, "Weight": weight}
                              for path, _device, weight in limits.get("blkio_weight_device") or []],
        **out,
        "DeviceCgroupRules": list(limits.get("device_cgroup_rules") or []) or None,
        **memory_host_config(spec),
    }


# --- OOM and memory knobs, memory nodes (helper flags2) ---------------------------------

_NODES = re.compile(r"\d+(-\d+)?(,\d+(-\d+)?)*", re.ASCII)


def _go_int(flag: str):  # type: ignore[no-untyped-def]
    def convert(text: str) -> int:
        try:
            return int(text, 10)
        except ValueError:
            raise _flag_error(flag, text, f'strconv.ParseInt: parsing "{text}": invalid syntax') from None

    return convert


def _memory_reservation(text: str) -> int:
    try:
        return parse_size(text)
    except UsageError:
        raise _flag_error("--memory-reservation", text, f"invalid size: '{text}'") from None


def add_memory_flags(p: Parser) -> None:
    p.add_argument("--oom-score-adj", type=_go_int("--oom-score-adj"), default=0,
                   help="tune host's OOM preferences (-1000 to 1000)")
    p.add_argument("--memory-reservation", type=_memory_reservation, help="memory soft limit")
    p.add_argument("--memory-swappiness", type=_go_int("--memory-swappiness"), default=-1,
                   help="tune container memory swappiness (0 to 100) (default -1)")
    p.add_argument("--oom-kill-disable", action="store_true", help="disable OOM Killer")
    p.add_argument("--cpuset-mems", help="memory nodes (MEMs) in which to allow execution (0-3, 0,1)")


def _online_nodes() -> str:
    try:
        with open("/sys/devices/system/node/online") as f:
            return f.read().strip()
    except OSError:
        return "0"  # a kernel without NUMA has node 0 only


def _node_set(text: str) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        low, _, high = part.partition("-")
        out.update(range(int(low), int(high or low) + 1))
    return out


def _check_cpuset_mems(text: str) -> str:
    if not _NODES.fullmatch(text):
        raise UsageError(f"Invalid value {text} for cpuset mems: invalid format: {text}")
    online = _online_nodes()
    if not _node_set(text) <= _node_set(online):
        raise UsageError(f"Requested memory nodes are not available - requested {text}, available: {online}")
    return text


def memory_limits(args: argparse.Namespace) -> dict[str, Any]:
    """The Limits fields of these flags, checked with the daemon's words."""
    if not -1000 <= args.oom_score_adj <= 1000:
        raise UsageError(f"Invalid value {args.oom_score_adj}, range for oom score adj is [-1000, 1000]")
    if not -1 <= args.memory_swappiness <= 100:
        raise UsageError(f"invalid value: {args.memory_swappiness}. Valid memory swappiness range is 0-100")
    reservation = args.memory_reservation or None
    if reservation is not None and reservation < 6 * 1024 * 1024:
        raise UsageError("Minimum memory reservation allowed is 6MB")
    if reservation is not None and args.memory is not None and args.memory < reservation:
        raise UsageError("Minimum memory limit can not be less than memory reservation limit, see usage")
    if args.oom_kill_disable and args.memory is None:
        sys.stderr.write("WARNING: OOM killer is disabled for the container, but no memory limit is set, "
                         "this can result in the system running out of resources.\n")
    swappiness = None if args.memory_swappiness == -1 else args.memory_swappiness
    oom_kill_disable = bool(args.oom_kill_disable)
    if swappiness is not None or oom_kill_disable:
        from mydocker.core.cgroups import detect_mode

        if detect_mode() == "v2":  # v2 has neither file: docker's warnings, and the value dropped
            if swappiness is not None:
                sys.stderr.write("WARNING: Your kernel does not support memory swappiness capabilities or the cgroup "
                                 "is not mounted. Memory swappiness discarded.\n")
            if oom_kill_disable:
                sys.stderr.write("WARNING: Your kernel does not support OomKillDisable. OomKillDisable discarded.\n")
            swappiness, oom_kill_disable = None, False
    return {"memory_reservation": reservation,
            "memory_swappiness": swappiness,
            "oom_kill_disable": oom_kill_disable,
            "cpuset_mems": None if args.cpuset_mems is None else _check_cpuset_mems(args.cpuset_mems)}


def memory_host_config(spec: dict[str, Any]) -> dict[str, Any]:
    limits = spec.get("limits") or {}
    return {"OomScoreAdj": spec.get("oom_score_adj") or 0,
            "MemoryReservation": limits.get("memory_reservation") or 0,
            "MemorySwappiness": limits.get("memory_swappiness"),
            "OomKillDisable": bool(limits.get("oom_kill_disable")),
            "CpusetMems": limits.get("cpuset_mems") or ""}
