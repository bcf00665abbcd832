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
    for flag, kind in THROTTLES.items():
        unit = "IO per second" if kind.endswith("iops") else "bytes per second"
        p.add_argument(flag, dest=f"throttle_{kind}", action="append", default=[], type=_throttle(flag),
                       help=f"limit {kind.split('_')[0]} rate ({unit}) from a device: PATH:RATE")
    p.add_argument("--device-cgroup-rule", action="append", default=[], type=parse_cgroup_rule,
                   help="add a rule to the cgroup allowed devices list: 'c|b|a MAJOR|*:MINOR|* rwm'")
    p.add_argument("--cgroupns", type=parse_cgroupns, default="",
                   help="cgroup namespace: host or private (default: private on cgroup v2, host on v1)")


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
    return {"blkio_weight": weight, "blkio_throttle": throttle, "device_cgroup_rules": list(args.device_cgroup_rule)}


def _weight_supported(cgroups: Any) -> bool:
    mode = cgroups.detect_mode()
    if mode == "v2":
        own = cgroups.own_paths().get("unified", "/").strip("/")
        return cgroups.blkio_weight_file(str(cgroups.CGROUP_ROOT / own)) is not None
    return cgroups.blkio_weight_file(str(cgroups.CGROUP_ROOT / "blkio")) is not None


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
        "BlkioWeightDevice": [],
        **out,
        "DeviceCgroupRules": list(limits.get("device_cgroup_rules") or []) or None,
    }
