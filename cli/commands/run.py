"""mydocker run [OPTIONS] IMAGE [COMMAND] [ARG...]"""

from __future__ import annotations

import argparse
import os
from typing import Any

from mydocker.cli.container_flags import add_create_flags, create_options
from mydocker.cli.errors import CliError, report
from mydocker.cli.parsing import Parser, UsageError
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("run", "Create and run a new container from an image", add_help=False)
    p.add_argument("-d", "--detach", action="store_true", help="run in the background and print its id")
    p.add_argument("--detach-keys", help="override the key sequence for detaching a container (ctrl-p,ctrl-q)")
    p.add_argument("-a", "--attach", action="append", default=[], type=_stream,
                   help="attach to STDIN, STDOUT or STDERR")
    add_create_flags(p)
    return p


def _stream(text: str) -> str:
    if text.lower() not in ("stdin", "stdout", "stderr"):
        raise UsageError(f'invalid argument "{text}" for "-a, --attach" flag: valid streams are STDIN, STDOUT and '
                         "STDERR")
    return text.lower()


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.pulling import ensure_image
    from mydocker.cli.terminal import DETACHED, raw_mode, use_detach_keys, wait_monitor

    use_detach_keys(args.detach_keys)
    if args.attach and args.detach:
        raise CliError("Conflicting options: -a and -d", 1)
    if args.attach:
        from mydocker.core import ptyrelay

        ptyrelay.attach_streams = frozenset(args.attach)
    if args.tty and args.interactive and not args.detach and not os.isatty(0):
        raise CliError("the input device is not a TTY", 1)  # docker's CLI: 1, not run's 125
    options = create_options(args)
    if _bridged(options.network):
        from mydocker.statemachine import netprep

        netprep.start(ctx.root)  # pyroute2's import, on the other core while we do the rest
    from mydocker.statemachine import lifecycle

    ensure_image(ctx, args.image, args.pull, args.platform)
    view = lifecycle.create(ctx, options)
    if args.cidfile:
        from mydocker.cli.run_flags import write_cidfile

        write_cidfile(args.cidfile, view.id)
    if args.detach:
        result = _start(ctx, view.id, args.rm, attached=False)
        assert result is not None
        if not result.started:
            os.waitpid(result.monitor_pid, 0)  # let the monitor record the failure first
            return _failed(ctx, view.id, result)
        print(view.id)
        return 0
    with raw_mode(args.tty and args.interactive):
        result = _start(ctx, view.id, args.rm, attached=True)
        assert result is not None
        code = wait_monitor(result.monitor_pid, result.detach_fd)
    if code == DETACHED:
        return 0  # docker: the container runs on, `run` says nothing
    if not result.started:
        return _failed(ctx, view.id, result) if not result.prepared else _report(result, code)
    return code


def _bridged(network: str) -> bool:
    """Will the container need a veth? A guess: the network is resolved by create,
    and a helper that nobody asks exits when we do."""
    return network not in ("none", "host") and not network.startswith("container:")


def _start(ctx: Context, container_id: str, autoremove: bool, attached: bool) -> Any:
    """lifecycle.start; refused before a monitor exists (a --ipc/--pid donor that
    lends nothing), `run --rm` removes the container, as docker's CLI does."""
    from mydocker.statemachine import lifecycle, netprep
    from mydocker.statemachine.errors import UserError

    try:
        return lifecycle.start(ctx, container_id, attached=attached)
    except UserError as exc:
        if autoremove:
            lifecycle.remove(ctx, container_id, force=True)
        from mydocker.statemachine.volume_mounts import MountFailed

        if isinstance(exc, MountFailed) and "no such file or directory" in str(exc):
            raise CliError(str(exc), 127) from None  # docker's CLI: a start error naming a missing file
        raise
    finally:
        netprep.release()  # the monitor has used the helper, or never will


def _report(result: Any, code: int) -> int:
    report(result.message)
    return result.exit_code or code


def _failed(ctx: Context, container_id: str, result: Any) -> int:
    """Refused before it ran (a host port taken, no address left): `run` leaves
    nothing behind, since the user never had a container to look at."""
    from mydocker.statemachine import lifecycle

    if not result.prepared:
        lifecycle.remove(ctx, container_id, force=True)
    return _report(result, 125)
