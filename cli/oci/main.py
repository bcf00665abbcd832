"""mydocker-runc: runc's command line, as conmon and containerd's shim call it.

    mydocker-runc [--root DIR] [--log FILE] [--log-format text|json] [--debug]
                  [--events-root DIR] COMMAND [OPTIONS] ID

Errors are one line on stderr and, with --log, a line in the log file (a JSON
object {"level","msg","time"} with --log-format json, which the shim parses);
exit status 1. `run` and `exec` exit with the process's status.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from typing import Any, NoReturn

from mydocker.cli.errors import one_line

VERSION = "0.1.0"


class Log:
    def __init__(self, path: str | None, fmt: str) -> None:
        self.path = path
        self.fmt = fmt

    def write(self, level: str, message: str) -> None:
        message = one_line(message)
        if level == "error" or level == "warning":
            sys.stderr.write(f"{message}\n" if level == "error" else f"WARN: {message}\n")
        if not self.path:
            return
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if self.fmt == "json":
            line = json.dumps({"level": level, "msg": message, "time": now})
        else:
            line = f'time="{now}" level={level} msg="{message}"'
        try:
            with open(self.path, "a") as f:
                f.write(line + "\n")
        except OSError:
            pass


class Usage(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise Usage(message)


def _parser() -> Parser:
    p = Parser(prog="mydocker-runc", add_help=True)
    p.add_argument("--root", default=os.environ.get("MYDOCKER_RUNC_ROOT") or "/run/mydocker-runc")
    p.add_argument("--log", default=None)
    p.add_argument("--log-format", default="text", choices=["text", "json"])
    p.add_argument("--debug", action="store_true")
    p.add_argument("--systemd-cgroup", action="store_true")
    p.add_argument("--rootless", default=None)
    p.add_argument("--criu", default=None)
    p.add_argument("--events-root", default=None,
                   help="the mydocker state root whose event log records these containers "
                        "(default $MYDOCKER_ROOT or /var/lib/mydocker)")
    p.add_argument("-v", "--version", action="store_true")
    sub = p.add_subparsers(dest="command")

    def command(name: str, *, with_id: bool = True) -> Parser:
        c = sub.add_parser(name)
        if with_id:
            c.add_argument("id")
        return c  # type: ignore[return-value]

    for name in ("create", "run"):
        c = command(name)
        c.add_argument("-b", "--bundle", default=".")
        c.add_argument("--pid-file")
        c.add_argument("--console-socket")
        c.add_argument("--no-pivot", action="store_true")
        c.add_argument("--no-new-keyring", action="store_true")
        c.add_argument("--preserve-fds", type=int, default=0)
        if name == "run":
            c.add_argument("-d", "--detach", action="store_true")
    command("start")
    c = command("state")
    c = command("kill")
    c.add_argument("signal", nargs="?", default="SIGTERM")
    c.add_argument("-a", "--all", action="store_true")
    c = command("delete")
    c.add_argument("-f", "--force", action="store_true")
    c = command("ps")
    c.add_argument("-f", "--format", default="table", choices=["table", "json"])
    c.add_argument("ps_args", nargs="*")
    c = command("list", with_id=False)
    c.add_argument("-f", "--format", default="table", choices=["table", "json"])
    c.add_argument("-q", "--quiet", action="store_true")
    command("features", with_id=False)
    command("pause")
    command("resume")
    c = command("update")
    c.add_argument("-r", "--resources", help="the spec's linux.resources as JSON, from a file or - for stdin")
    c.add_argument("--memory", type=int)
    c.add_argument("--memory-swap", type=int)
    c.add_argument("--cpu-quota", type=int)
    c.add_argument("--cpu-period", type=int)
    c.add_argument("--cpu-share", type=int)
    c.add_argument("--cpuset-cpus")
    c.add_argument("--pids-limit", type=int)
    c = command("exec")
    c.add_argument("--process", "-p")
    c.add_argument("-d", "--detach", action="store_true")
    c.add_argument("--pid-file")
    c.add_argument("--console-socket")
    c.add_argument("-t", "--tty", action="store_true")
    c.add_argument("--cwd")
    c.add_argument("-e", "--env", action="append", default=[])
    c.add_argument("-u", "--user")
    c.add_argument("--preserve-fds", type=int, default=0)
    c.add_argument("command_args", nargs=argparse.REMAINDER)
    return p


def parse_signal(text: str) -> int:
    raw = text.strip().upper()
    if raw.isdigit():
        number = int(raw)
        if 0 < number < signal.NSIG:
            return number
        raise Usage(f"invalid signal: {text}")
    name = raw if raw.startswith("SIG") else "SIG" + raw
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise Usage(f"invalid signal: {text}") from None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    log = Log(None, "text")
    debug = "--debug" in argv
    try:
        args = _parser().parse_args(argv)
        log = Log(args.log, args.log_format)
        if args.version:
            import platform

            sys.stdout.write(f"mydocker-runc version {VERSION}\nspec: 1.0.2\npython: {platform.python_version()}\n")
            return 0
        if args.systemd_cgroup:
            raise Usage("--systemd-cgroup is not supported: mydocker-runc manages cgroupfs paths only "
                        "(use the caller's cgroupfs manager, e.g. podman --cgroup-manager cgroupfs)")
        if not args.command:
            raise Usage("a command is required (create, start, run, state, kill, delete, exec, ps, list, "
                        "pause, resume, update, features)")
        return _dispatch(args, log)
    except Usage as exc:
        log.write("error", str(exc))
        return 1
    except Exception as exc:  # noqa: BLE001 - one line for the caller, never a traceback
        from mydocker.statemachine.errors import UserError

        if debug and not isinstance(exc, UserError):
            import traceback

            traceback.print_exc()
        log.write("error", str(exc) or type(exc).__name__)
        return 1


def _runtime(args: argparse.Namespace, log: Log) -> Any:
    from mydocker.statemachine import oci
    from mydocker.statemachine.context import default_root

    return oci.Runtime(args.root, args.events_root or default_root(), lambda m: log.write("warning", m))


def _dispatch(args: argparse.Namespace, log: Log) -> int:
    from mydocker.statemachine import oci

    command = args.command
    if command == "features":
        from mydocker.cli.oci.features import features

        sys.stdout.write(json.dumps(features(), indent=2) + "\n")
        return 0
    runtime = _runtime(args, log)
    if command == "create":
        oci.create(runtime, oci.CreateOptions(args.id, args.bundle, args.pid_file, args.console_socket,
                                              args.no_pivot))
    elif command == "run":
        return _run(runtime, args)
    elif command == "start":
        oci.start(runtime, args.id)
    elif command == "state":
        sys.stdout.write(json.dumps(oci.state(runtime, args.id), indent=2) + "\n")
    elif command == "kill":
        oci.kill(runtime, args.id, parse_signal(args.signal), args.all)
    elif command == "delete":
        oci.delete(runtime, args.id, args.force)
    elif command == "pause":
        oci.pause(runtime, args.id)
    elif command == "resume":
        oci.resume(runtime, args.id)
    elif command == "update":
        oci.update(runtime, args.id, _resources(args))
    elif command == "ps":
        _ps(runtime, args)
    elif command == "list":
        _list(runtime, args)
    elif command == "exec":
        return _exec(runtime, args)
    return 0


def _run(runtime: Any, args: argparse.Namespace) -> int:
    """create + start, and unless --detach wait for the init as its subreaper
    (it is reparented to us when create's intermediate exits), then delete."""
    from mydocker.statemachine import oci

    if not args.detach:
        from mydocker.core import syscalls

        syscalls.prctl(syscalls.PR_SET_CHILD_SUBREAPER, 1)
    record = oci.create(runtime, oci.CreateOptions(args.id, args.bundle, args.pid_file, args.console_socket,
                                                   args.no_pivot, None if args.detach else os.getpid()))
    try:
        oci.start(runtime, args.id)
    except Exception:
        oci.delete(runtime, args.id, force=True)
        raise
    if args.detach:
        return 0
    while True:
        try:
            _, status = os.waitpid(record.pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            status = 255 << 8
            break
    code = os.waitstatus_to_exitcode(status)
    code = code if code >= 0 else 128 - code
    oci.delete(runtime, args.id, force=True, exit_code=code)
    return code


def _resources(args: argparse.Namespace) -> dict[str, Any]:
    """runc's update: --resources FILE (or -) first, then each flag over it."""
    resources: dict[str, Any] = {}
    if args.resources:
        try:
            if args.resources == "-":
                resources = json.load(sys.stdin)
            else:
                with open(args.resources) as f:
                    resources = json.load(f)
        except (OSError, ValueError) as exc:
            raise Usage(f"cannot read resources {args.resources}: {exc}") from None
        if not isinstance(resources, dict):
            raise Usage(f"resources {args.resources}: not a JSON object")
    flags = {("memory", "limit"): args.memory, ("memory", "swap"): args.memory_swap,
             ("cpu", "quota"): args.cpu_quota, ("cpu", "period"): args.cpu_period,
             ("cpu", "shares"): args.cpu_share, ("cpu", "cpus"): args.cpuset_cpus,
             ("pids", "limit"): args.pids_limit}
    for (section, key), value in flags.items():
        if value is not None:
            resources.setdefault(section, {})[key] = value
    if not resources:
        raise Usage("update needs --resources FILE or a resource flag (--memory, --pids-limit, ...)")
    return resources


def _ps(runtime: Any, args: argparse.Namespace) -> None:
    from mydocker.statemachine import oci

    pids = oci.processes(runtime, args.id)
    if args.format == "json":
        sys.stdout.write(json.dumps(pids) + "\n")
        return
    sys.stdout.write("PID\tCMD\n")
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = " ".join(p.decode(errors="replace") for p in f.read().split(b"\0") if p)
        except OSError:
            continue
        sys.stdout.write(f"{pid}\t{cmd}\n")


def _list(runtime: Any, args: argparse.Namespace) -> None:
    from mydocker.statemachine import oci

    states = oci.list_all(runtime)
    if args.quiet:
        sys.stdout.write("".join(f"{s['id']}\n" for s in states))
    elif args.format == "json":
        sys.stdout.write(json.dumps(states) + "\n")
    else:
        sys.stdout.write(f"{'ID':<20}{'PID':<10}{'STATUS':<10}{'BUNDLE':<40}{'CREATED':<32}OWNER\n")
        for s in states:
            sys.stdout.write(f"{s['id']:<20}{s['pid']:<10}{s['status']:<10}{s['bundle']:<40}"
                             f"{s['created']:<32}{s['owner']}\n")


def _exec(runtime: Any, args: argparse.Namespace) -> int:
    from mydocker.statemachine import oci

    if args.process:
        try:
            with open(args.process) as f:
                process = json.load(f)
        except (OSError, ValueError) as exc:
            raise Usage(f"cannot read process {args.process}: {exc}") from None
    else:
        command = [a for a in args.command_args if a != "--"]
        if not command:
            raise Usage("exec needs --process FILE or a command after the id")
        process = _process_from_bundle(runtime, args.id)
        process["args"] = command
    if args.tty:
        process["terminal"] = True
    if args.cwd:
        process["cwd"] = args.cwd
    if args.env:
        process["env"] = list(process.get("env") or []) + args.env
    if args.user:
        uid, _, gid = args.user.partition(":")
        process["user"] = {"uid": int(uid), "gid": int(gid or 0)}
    return oci.exec_process(runtime, oci.ExecOptions(args.id, process, args.detach, args.pid_file,
                                                     args.console_socket))


def _process_from_bundle(runtime: Any, container_id: str) -> dict[str, Any]:
    """runc's default for `exec ID cmd`: the container's own process settings."""
    from mydocker.core import ocispec
    from mydocker.statemachine import oci

    record = oci.Record.load(runtime, container_id)
    try:
        process = dict(ocispec.load(record.bundle).get("process") or {})
    except ocispec.SpecError:
        process = {"cwd": "/", "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}
    process["terminal"] = False
    return process


if __name__ == "__main__":
    sys.exit(main())
