"""mydocker's entry point: global options, then one command module, imported lazily
so that each command pays only for what it uses."""

from __future__ import annotations

import importlib
import os
import signal
import sqlite3
import sys

from mydocker.cli.errors import exit_code, report
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
    "network": "Manage networks: create, ls, inspect, rm, connect, disconnect",
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
    "pull": "Download an image from a registry",
    "push": "Upload an image to a registry",
    "login": "Log in to a registry",
    "logout": "Log out from a registry",
    "replay": "Rebuild the projections from the event log (--check compares)",
    "events": "Show the event log (filters, formats, --follow)",
    "audit": "serve: the log read-only in datasette (views, queries, timeline); export: jsonl or csv",
    "history": "Show the history of an image",
    "system": "check [--fix]: compare the log with the kernel; prune: docker's; reset: remove the root; df: disk usage",
    "restart": "Restart one or more containers",
    "pause": "Pause all processes within one or more containers",
    "unpause": "Unpause all processes within one or more containers",
    "rename": "Rename a container",
    "update": "Update configuration of one or more containers",
    "top": "Display the running processes of a container",
    "port": "List port mappings or a specific mapping for the container",
    "diff": "Inspect changes to files or directories on a container's filesystem",
    "cp": "Copy files/folders between a container and the local filesystem",
    "stats": "Display a live stream of container(s) resource usage statistics",
    "version": "Show the mydocker version information",
    "info": "Display system-wide information",
    "attach": "Attach local standard output and error streams to a running container",
    "completion": "Output shell completion code for bash or zsh",
    "container": "Manage containers (ls, run, rm, prune, history: a container's whole life...)",
    "image": "Manage images (ls, build, inspect, rm, tag, save, load, import, prune, history, pull, push)",
}

# docker's management groups: `container ls` is `ps`, with the same flags.
GROUPS: dict[str, dict[str, str]] = {
    "container": {
        "ls": "ps", "ps": "ps", "list": "ps", "rm": "rm", "remove": "rm", "prune": "container_prune",
        "history": "container_history",
        **{c: c for c in ("run", "create", "start", "stop", "restart", "inspect", "logs", "kill", "wait", "exec",
                          "commit", "export", "pause", "unpause", "rename", "update", "top", "port", "diff", "cp",
                          "stats", "attach")},
    },
    "image": {
        "ls": "images", "list": "images", "rm": "rmi", "remove": "rmi", "prune": "image_prune",
        **{c: c for c in ("inspect", "tag", "save", "load", "import", "history", "pull", "push",
                                        "build")},
    },
    # subcommands of other groups that live in modules of their own
    "volume": {"prune": "volume_prune"},
    "network": {"prune": "network_prune"},
    "system": {"df": "system_df", "service": "system_service", "compact": "system_compact"},
}

# What the group usage says of modules that are not top-level commands.
SUBCOMMAND_HELP = {
    "container_prune": "Remove all stopped containers",
    "container_history": "Show a container's whole life from the event log, removed ones too",
    "image_prune": "Remove unused images",
    "volume_prune": "Remove all unused local volumes",
    "network_prune": "Remove all unused networks",
    "system_df": "Show disk usage",
    "system_service": "Serve the Docker Engine API on a socket",
    "system_compact": "Fold the events of long-removed containers into summary rows",
}

# Commands that read container state first make the log and the kernel agree.
RECONCILE_FIRST = {"ps", "inspect", "wait", "logs", "start", "stop", "kill", "rm", "container_history", "system",
                   "restart", "pause", "unpause", "rename", "update", "top", "port", "diff", "cp", "stats",
                   "container_prune", "system_df", "info", "attach"}

USAGE = """Usage:  mydocker [--root DIR] [--debug] COMMAND [ARGS...]

A daemonless, event-sourced container runtime.

Global options:
      --root DIR   state root (default $MYDOCKER_ROOT or /var/lib/mydocker)
      --debug      show tracebacks

Commands:
"""


def _usage() -> str:
    return USAGE + "".join(f"  {name:<10}{text}\n" for name, text in COMMANDS.items())


def _group_usage(group: str) -> str:
    """docker's layout: one line per command (aliases such as ls/list once), sorted."""
    first: dict[str, str] = {}
    for sub, module in GROUPS[group].items():
        first.setdefault(module, sub)
    described = {sub: COMMANDS.get(module) or SUBCOMMAND_HELP.get(module, "") for module, sub in first.items()}
    width = max(len(sub) for sub in described) + 3
    title = COMMANDS[group].split(" (", 1)[0]
    lines = [f"\nUsage:  mydocker {group} COMMAND\n\n{title}\n\nCommands:\n"]
    lines += [f"  {sub:<{width}}{text}\n" for sub, text in sorted(described.items())]
    lines.append(f"\nRun 'mydocker {group} COMMAND --help' for more information on a command.\n")
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    code = _command(argv)
    if argv is None:  # the program itself, not a caller running commands in-process
        _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    """Leave without the interpreter's teardown, which frees every module a command
    loaded (10-20 ms of each `run`) for a process that is about to vanish anyway.
    Our threads are all daemons and nothing of ours registers atexit work; if the
    streams cannot be flushed, the ordinary exit reports that as it always did."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    if "logging" in sys.modules:  # the API server's handlers
        sys.modules["logging"].shutdown()
    os._exit(code & 0xFF)


def _command(argv: list[str] | None) -> int:
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
    group = GROUPS.get(name, {})
    if argv and argv[0] in group:
        from mydocker.cli import parsing

        parsing.invoked_as = f"{name} {argv[0]}"
        name = group[argv.pop(0)]
    elif name in ("container", "image"):
        if not argv or argv[0] in ("-h", "--help"):
            sys.stdout.write(_group_usage(name))
            return 0
        report(f"unknown command: \"mydocker {name} {argv[0]}\" (see 'mydocker {name} --help')")
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
        if getattr(module, "frees_space", None) and module.frees_space(args):
            from mydocker.statemachine.diskspace import before_freeing

            before_freeing(ctx.root)  # before anything opens the database
        if name in RECONCILE_FIRST and getattr(module, "reconciles", lambda _: True)(args):
            from mydocker.statemachine.reconcile import reconcile

            try:
                reconcile(ctx.root, ctx.conn)
            except sqlite3.DatabaseError as exc:
                from mydocker.statemachine.diskspace import is_disk_full

                # A full disk must not silence reading commands (what reconcile could not
                # record, a later command will); system check says what ails a damaged file.
                if not (is_disk_full(exc) or name == "system"):
                    raise
        return int(module.run(args, ctx) or 0)
    except UsageError as exc:
        report(exc)
        return exc.exit_code
    except UserError as exc:
        report(exc)
        return exit_code(exc, name)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - a traceback in front of a user is a bug
        if debug:
            raise
        from mydocker.statemachine.diskspace import is_disk_full

        if is_disk_full(exc):  # not the user's input: docker's 1, except where run/create fail
            report(exc if not isinstance(exc, OSError) else f"no space left on the disk under {ctx.root}: {exc}")
            return 125 if name in ("run", "create") else 1
        report(exc)
        return 125
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
