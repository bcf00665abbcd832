"""mydocker update [--memory --memory-swap --cpus --cpu-quota --cpu-period
--cpu-shares --cpuset-cpus --pids-limit] CONTAINER...: live, as an event."""

from __future__ import annotations

import argparse
from typing import Any

from mydocker.cli.parsing import Parser, UsageError, parse_cpus, parse_cpuset, parse_int, parse_memory, parse_size
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("update", "Update configuration of one or more containers")
    p.add_argument("-m", "--memory", type=parse_size, help="memory limit")
    p.add_argument("--memory-swap", help="swap limit equal to memory plus swap: '-1' to enable unlimited swap")
    p.add_argument("--cpus", type=parse_decimal, help="number of CPUs")
    p.add_argument("--cpu-quota", type=parse_int("--cpu-quota", minimum=-1), help="limit CPU CFS quota")
    p.add_argument("--cpu-period", type=parse_int("--cpu-period", minimum=1000, maximum=1000000),
                   help="limit CPU CFS period")
    p.add_argument("-c", "--cpu-shares", type=parse_int("--cpu-shares", minimum=2, maximum=262144),
                   help="CPU shares (relative weight)")
    p.add_argument("--cpuset-cpus", type=parse_cpuset, help="CPUs in which to allow execution (0-3, 0,1)")
    p.add_argument("--pids-limit", type=parse_int("--pids-limit"), help="tune container pids limit (-1 unlimited)")
    p.add_argument("--restart", help="restart policy to apply when a container exits")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    return p


# docker's CLI checks only that a size or a number parses (125); the daemon checks
# the range per container, after finding it (exit 1): parse here, judge in daemon_checks.
def parse_decimal(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return parse_cpus(text)  # raises the CLI's words for what is not a number


def daemon_checks(args: argparse.Namespace) -> None:
    """What docker's daemon refuses, in its words (exit 1, nothing changed)."""
    from mydocker.statemachine.errors import InvalidArgument

    try:
        if args.memory:
            parse_memory(str(args.memory))
        if args.cpus is not None:
            parse_cpus(str(args.cpus))
    except UsageError as exc:
        words = str(exc)
        raise InvalidArgument(words[:1].upper() + words[1:]) from None


def limits_from(args: argparse.Namespace) -> dict[str, Any]:
    """Only what was asked for: the rest of the container's limits stay."""
    from mydocker.cli.errors import CliError
    from mydocker.cli.parsing import UsageError

    limits: dict[str, Any] = {}
    if args.memory:  # docker: -m 0 leaves the limit as it is
        limits["memory"] = args.memory
    if args.memory_swap is not None:
        swap = -1 if args.memory_swap == "-1" else parse_size(args.memory_swap)
        if args.memory and 0 < swap < args.memory:  # docker's daemon refuses it: exit 1
            raise CliError("Minimum memoryswap limit should be larger than memory limit, see usage", 1)
        if swap:  # docker: --memory-swap 0 leaves it as it is, too
            limits["memory_swap"] = swap
    if args.cpus is not None:
        if args.cpu_quota is not None or args.cpu_period is not None:
            raise UsageError("Conflicting options: Nano CPUs and CPU Period cannot both be set")
        limits["cpu_period"] = 100000
        limits["cpu_quota"] = int(args.cpus * 100000)
    if args.cpu_quota is not None:
        limits["cpu_quota"] = args.cpu_quota
    if args.cpu_period is not None:
        limits["cpu_period"] = args.cpu_period
    if args.cpu_shares is not None:
        limits["cpu_shares"] = args.cpu_shares
    if args.cpuset_cpus is not None:
        limits["cpuset_cpus"] = args.cpuset_cpus
    if args.pids_limit is not None:
        limits["pids_limit"] = args.pids_limit
    return limits


def run(args: argparse.Namespace, ctx: Context) -> int:
    import sys

    from mydocker.cli.each import for_each
    from mydocker.statemachine import lifecycle, queries

    limits = limits_from(args)
    policy = None
    if args.restart is not None:
        from mydocker.cli.errors import CliError
        from mydocker.cli.parsing import UsageError
        from mydocker.cli.run_flags import parse_restart

        try:
            policy = parse_restart(args.restart)
        except UsageError as exc:
            raise CliError(str(exc), 1) from None  # docker: the daemon refuses it, exit 1
    # a flag that changes nothing (-m 0) still counts: docker records the update
    asked = [k for k, v in vars(args).items() if k != "containers" and v is not None]
    if not asked:
        sys.stderr.write("you must provide one or more flags when using this command\n")  # docker's words, as is
        return 1

    def update(ref: str) -> Any:
        queries.get(ctx.conn, ref)  # docker: No such container comes before a bad value
        daemon_checks(args)
        return lifecycle.update(ctx, ref, limits, policy)

    return for_each(args.containers, update)
