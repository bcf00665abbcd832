"""mydocker's entry point: global options, then one command module, imported lazily
so that each command pays only for what it uses."""

from __future__ import annotations

import importlib
import os
import signal
import sys

from mydocker.cli.errors import report
from mydocker.cli.parsing import UsageError

COMMANDS = {
    "run": "Create and run a new container from an image",
    "create": "Create a new container",
    "start": "Start one or more stopped containers",
    "ps": "List containers",
    "logs": "Fetch the logs of a container",
    "stop": "Stop one or more running containers",
    "kill": "Kill one or more running containers",
    "rm": "Remove one or more containers",
    "inspect": "Return low-level information on containers or images",
    "wait": "Block until one or more containers stop, then print their exit codes",
    "images": "List images",
    "network": "Manage networks: create, ls, inspect, rm",
    "exec": "Execute a command in a running container",
    "volume": "Manage volumes (ls, create, rm, inspect)",
    "build": "Build an image from a Dockerfile",
    "commit": "Create a new image from a container's changes",
    "export": "Export a container's filesystem as a tar archive",
    "import": "Import the contents from a tarball to create a filesystem image",
    "load": "Load an image from a tar archive (docker save or OCI layout)",
    "save": "Save one or more images to a tar archive",
    "rmi": "Remove one or more images",
    "tag": "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
    "replay": "Rebuild the projections from the event log (--check compares)",
    "events": "Show the event log (filters, formats, --follow)",
    "history": "Show a container's whole life, removed ones too",
    "system": "check: compare the log with the kernel; prune: remove leaks; reset: remove the root",
}

# Commands that read container state first make the log and the kernel agree.
RECONCILE_FIRST = {"ps", "inspect", "wait", "logs", "start", "stop", "kill", "rm", "history", "system"}

USAGE = """Usage:  mydocker [--root DIR] [--debug] COMMAND [ARGS...]

A daemonless, event-sourced container runtime.

Global options:
      --root DIR   state root (default $MYDOCKER_ROOT or /var/lib/mydocker)
      --debug      show tracebacks

Commands:
"""


def _usage() -> str:
    return USAGE + "".join(f"  {name:<10}{text}\n" for name, text in COMMANDS.items())


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = False
    root: str | None = None
    while argv and argv[0].startswith("-"):
        flag = argv.pop(0)
        if flag in ("--debug", "-D"):
            debug = True
        elif flag in ("--root", "-root") and argv:
            root = argv.pop(0)
        elif flag.startswith("--root="):
            root = flag.split("=", 1)[1]
        elif flag in ("-h", "--help"):
            sys.stdout.write(_usage())
            return 0
        else:
            report(f"unknown flag: {flag}")
            return 125
    if not argv:
        sys.stderr.write(_usage())
        return 125
    name = argv.pop(0)
    if name not in COMMANDS:
        report(f"unknown command: {name!r} (see 'mydocker --help')")
        return 125
    if os.geteuid() != 0:
        sys.stderr.write("Error: mydocker must run as root\n")
        return 125
    # A caller that ignores SIGCHLD would have the kernel reap our children
    # (monitor, exec helper, iptables) before we could read how they exited.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    module = importlib.import_module(f"mydocker.cli.commands.{name}")
    from mydocker.statemachine.context import Context, default_root
    from mydocker.statemachine.errors import UserError

    ctx = Context(os.path.abspath(root or default_root()), " ".join([name, *argv])[:200])
    try:
        args = module.parser().parse_args(argv)
        if name in RECONCILE_FIRST and getattr(module, "reconciles", lambda _: True)(args):
            from mydocker.statemachine.reconcile import reconcile

            reconcile(ctx.root, ctx.conn)
        return int(module.run(args, ctx) or 0)
    except UsageError as exc:
        report(exc)
        return 125
    except UserError as exc:
        report(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - a traceback in front of a user is a bug
        if debug:
            raise
        report(exc)
        return 125
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
