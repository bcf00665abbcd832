"""The flags `run` and `create` share, and turning them into CreateOptions."""

from __future__ import annotations

import argparse
import os
import re
import stat
from dataclasses import asdict
from typing import Any

from mydocker.cli import network_flags, resource_flags, run_flags
from mydocker.cli.parsing import Parser, UsageError, parse_cpus, parse_cpuset, parse_int, parse_memory, parse_size
from mydocker.cli.ports import parse_all


def add_create_flags(p: Parser) -> None:
    p.add_argument("--name", "-name", help="assign a name to the container")
    p.add_argument("-e", "--env", action="append", default=[], help="set environment variables")
    p.add_argument("--env-file", action="append", default=[], help="read in a file of environment variables")
    p.add_argument("-w", "--workdir", help="working directory inside the container")
    p.add_argument("-h", "--hostname", help="container host name")
    p.add_argument("-i", "--interactive", action="store_true", help="keep STDIN open")
    p.add_argument("-t", "--tty", action="store_true", help="allocate a pseudo-TTY")
    p.add_argument("--rm", action="store_true", help="remove the container when it exits")
    p.add_argument("-v", "--volume", action="append", default=[], help="bind mount a volume (HOST:CTR[:ro])")
    p.add_argument("--privileged", action="store_true", help="all capabilities, devices, no seccomp or masks")
    p.add_argument("--cap-add", action="append", default=[], help="add a Linux capability (or ALL)")
    p.add_argument("--cap-drop", action="append", default=[], help="drop a Linux capability (or ALL)")
    p.add_argument("--security-opt", action="append", default=[],
                   help="seccomp=unconfined, no-new-privileges[=true|false]")
    p.add_argument("-u", "--user", default="", help="user: uid[:gid] or name[:group] of the container's /etc")
    p.add_argument("--ulimit", action="append", default=[], help="ulimit: NAME=SOFT[:HARD], e.g. nofile=1024:2048")
    p.add_argument("--read-only", action="store_true", help="mount the root filesystem read-only")
    p.add_argument("--device", action="append", default=[], help="add a host device: HOST[:CTR[:rwm]]")
    p.add_argument("--init", action="store_true", help="run a minimal init (reaps zombies) as PID 1")
    p.add_argument("--entrypoint", help="overwrite the default ENTRYPOINT of the image")
    p.add_argument("-m", "--memory", "-mem", type=parse_memory, help="memory limit (e.g. 32m)")
    p.add_argument("--memory-swap", help="memory plus swap limit; -1 for unlimited")
    p.add_argument("--cpus", "-cpu", type=parse_cpus, help="number of CPUs")
    p.add_argument("--cpu-quota", type=parse_int("--cpu-quota", 1000), help="CPU CFS quota (microseconds)")
    p.add_argument("--cpu-period", type=parse_int("--cpu-period", 1000, 1000000), help="CPU CFS period")
    p.add_argument("-c", "--cpu-shares", "-cpushare", type=parse_int("--cpu-shares", 2, 262144),
                   help="CPU shares (relative weight)")
    p.add_argument("--cpuset-cpus", "-cpuset", type=parse_cpuset, help="CPUs in which to allow execution")
    p.add_argument("--pids-limit", type=parse_int("--pids-limit", -1), help="container pids limit (-1 unlimited)")
    p.add_argument("--cgroup-parent", help="parent cgroup, from each hierarchy's root")
    p.add_argument("--network", "--net", "-net", action="append", default=None,
                   help="bridge (the default), none, host, or a network's name")
    p.add_argument("-p", "--publish", action="append", default=[],
                   help="publish a container's port to the host: [hostip:]hostport:containerport[/tcp|udp]")
    p.add_argument("--ip", help="IPv4 address for the container on its network")
    network_flags.add_flags(p)
    run_flags.add_flags(p)
    resource_flags.add_flags(p)
    p.add_argument("--pull", choices=("missing", "always", "never"), default="missing",
                   help="pull image before running: missing (default), always, never")
    p.add_argument("--platform", help="os/arch[/variant] of the image to pull")
    p.add_argument("--help", action="help", help="show this help")
    p.add_argument("image")
    p.add_argument("command", nargs=argparse.REMAINDER)


def _env_items(args: argparse.Namespace) -> list[str]:
    items: list[str] = []
    for path in args.env_file:
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError as exc:
            raise UsageError(f"open {path}: {exc.strerror.lower() if exc.strerror else exc}") from None
        items += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    items += args.env
    out = []
    for item in items:
        key, eq, _ = item.partition("=")
        if not key or any(c.isspace() for c in key):
            raise UsageError(f"invalid environment variable: {item!r}")
        if eq:
            out.append(item)
        elif key in os.environ:  # docker: `-e KEY` copies the caller's value, or nothing
            out.append(f"{key}={os.environ[key]}")
    return out


def create_options(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    # not through lifecycle: `run` forks its network helper before that import
    from mydocker.core.cgroups import Limits
    from mydocker.statemachine.create_options import CreateOptions
    from mydocker.statemachine.volumes import parse as parse_volume

    if args.cpus is not None and args.cpu_quota is not None:
        raise UsageError("conflicting options: --cpus and --cpu-quota")
    quota, period = args.cpu_quota, args.cpu_period
    if args.cpus is not None:
        period = period or 100_000
        quota = int(args.cpus * period)
    swap = None
    if args.memory_swap is not None:
        if args.memory is None:
            raise UsageError("You should always set the Memory limit when using Memoryswap limit")
        swap = -1 if args.memory_swap.strip() == "-1" else parse_size(args.memory_swap)
        if swap != -1 and swap < args.memory:
            raise UsageError("Minimum memoryswap limit should be larger than memory limit")
    network = network_flags.one_network(args.network)
    ports = run_flags.publish(parse_all(args.publish), args)
    network_flags.check_joiner(args, network)
    if ports and network == "host":
        import sys

        sys.stderr.write("WARNING: Published ports are discarded when using host network mode\n")
    if args.workdir is not None and not args.workdir.startswith("/"):
        raise UsageError(f"the working directory '{args.workdir}' is invalid, it needs to be an absolute path")
    if args.hostname is not None and not _valid_hostname(args.hostname):
        raise UsageError(f"invalid hostname: {args.hostname!r}")
    try:
        volume_requests = [parse_volume(text) for text in args.volume]
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    volume_requests += run_flags.mount_requests(args)
    args.hostname = run_flags.uts_hostname(args)
    limits = Limits(memory=args.memory, memory_swap=swap, cpu_quota=quota, cpu_period=period,
                    cpu_shares=args.cpu_shares, cpuset_cpus=args.cpuset_cpus, pids_limit=args.pids_limit,
                    **resource_flags.limits(args))
    return CreateOptions(
        image=args.image,
        command=list(args.command),
        entrypoint=None if args.entrypoint is None else ([args.entrypoint] if args.entrypoint else []),
        name=args.name,
        env=_env_items(args),
        workdir=args.workdir,
        hostname=args.hostname,
        tty=args.tty,
        interactive=args.interactive,
        limits=limits,
        cgroup_parent=args.cgroup_parent,
        network=network,
        ip=args.ip,
        ports=ports,
        autoremove=args.rm,
        volumes=volume_requests,
        **_hardening(args),
        config_extra={**run_flags.config_extra(args), **network_flags.config_extra(args, network)},
        cgroupns=resource_flags.cgroupns(args),
        spec_extra=run_flags.spec_extra(args, network),
    )


def _hardening(args: argparse.Namespace) -> dict[str, Any]:
    """--privileged, --cap-*, --security-opt, --ulimit, --device, -u, --read-only, --init."""
    from mydocker.core import security

    seccomp, no_new_privileges = True, True
    for opt in args.security_opt:
        key, _, value = opt.partition("=") if "=" in opt else opt.partition(":")
        if key == "seccomp" and value == "unconfined":
            seccomp = False
        elif key == "no-new-privileges" and value in ("", "true", "false"):
            no_new_privileges = value != "false"
        else:
            raise UsageError(f"invalid --security-opt: {opt!r} (seccomp=unconfined, no-new-privileges[=false])")
    try:
        profile = security.Profile(
            capabilities=security.capability_set(args.cap_add, args.cap_drop, args.privileged),
            privileged=args.privileged, seccomp=seccomp, no_new_privileges=no_new_privileges,
            ulimits=dict(security.parse_ulimit(text) for text in args.ulimit),
        )
    except security.SecurityError as exc:
        raise UsageError(str(exc)) from None
    if args.user and not re.fullmatch(r"[A-Za-z0-9_.][A-Za-z0-9_.-]*(:[A-Za-z0-9_.][A-Za-z0-9_.-]*)?", args.user):
        raise UsageError(f"invalid user: {args.user!r}")
    return {"security": asdict(profile), "user": args.user, "readonly_rootfs": args.read_only,
            "devices": [_device(text) for text in args.device], "init": args.init}


def _device(text: str) -> dict[str, Any]:
    """HOST[:CONTAINER[:PERMISSIONS]] -> what the container's /dev and cgroup need."""
    parts = text.split(":")
    if not 1 <= len(parts) <= 3 or not parts[0]:
        raise UsageError(f"invalid --device {text!r}: use HOST[:CONTAINER[:rwm]]")
    host = parts[0]
    inside = parts[1] if len(parts) > 1 and parts[1] else host
    perms = parts[2] if len(parts) > 2 else "rwm"
    if not perms or set(perms) - set("rwm"):
        raise UsageError(f"invalid --device permissions {perms!r}: a combination of r, w and m")
    normal = os.path.normpath(inside)
    if not normal.startswith("/dev/") or normal != inside:
        raise UsageError(f"invalid --device {text!r}: the container path must be a plain path under /dev/")
    try:
        st = os.stat(host)
    except OSError as exc:
        raise UsageError(f"error gathering device information for {host!r}: {exc.strerror}") from None
    if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
        raise UsageError(f"{host} is not a device")
    return {"path": inside, "type": "b" if stat.S_ISBLK(st.st_mode) else "c", "major": os.major(st.st_rdev),
            "minor": os.minor(st.st_rdev), "mode": stat.S_IMODE(st.st_mode), "perms": perms, "host": host}


def _valid_hostname(name: str) -> bool:
    return 0 < len(name) <= 64 and all(c.isalnum() or c in "-." for c in name) and not name.startswith("-")
