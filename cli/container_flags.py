"""The flags `run` and `create` share, and turning them into CreateOptions."""

from __future__ import annotations

import argparse
import os

from cli.parsing import Parser, UsageError, parse_cpus, parse_cpuset, parse_int, parse_memory, parse_size
from cli.ports import parse_all


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
    p.add_argument("--network", "--net", "-net", default=None,
                   help="bridge (the default), none, host, or a network's name")
    p.add_argument("-p", "--publish", action="append", default=[],
                   help="publish a container's port to the host: [hostip:]hostport:containerport[/tcp|udp]")
    p.add_argument("--ip", help="IPv4 address for the container on its network")
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
    from core.cgroups import Limits
    from statemachine.lifecycle import CreateOptions
    from statemachine.volumes import parse as parse_volume

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
    network = args.network or "bridge"
    ports = parse_all(args.publish)
    if args.workdir is not None and not args.workdir.startswith("/"):
        raise UsageError(f"the working directory '{args.workdir}' is invalid, it needs to be an absolute path")
    if args.hostname is not None and not _valid_hostname(args.hostname):
        raise UsageError(f"invalid hostname: {args.hostname!r}")
    try:
        volume_requests = [parse_volume(text) for text in args.volume]
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    limits = Limits(memory=args.memory, memory_swap=swap, cpu_quota=quota, cpu_period=period,
                    cpu_shares=args.cpu_shares, cpuset_cpus=args.cpuset_cpus, pids_limit=args.pids_limit)
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
    )


def _valid_hostname(name: str) -> bool:
    return 0 < len(name) <= 64 and all(c.isalnum() or c in "-." for c in name) and not name.startswith("-")
