"""The OCI runtime's operations (create, start, state, kill, delete, exec, pause,
resume), on the same core as the CLI and recorded in a mydocker event log.

Two records, each for its readers: the runtime's --root holds state.json per
container as the spec requires (callers such as conmon and containerd's shim
read `state`); the event log (ROOT/mydocker.db of the events root) gets every
create/start/kill/delete as a container stream, with the caller as actor, so
`mydocker events` and the SQL views show these containers beside the CLI's.
The container's own process state (alive, waiting on exec.fifo, frozen) is
the truth for the spec's status; the log's transitions go through the same
state machine as the CLI's containers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mydocker.core import cgroups, locks, ocispec, procinfo
from mydocker.statemachine.errors import UserError

if TYPE_CHECKING:
    from mydocker.statemachine.machine import Container
    from mydocker.statemachine.ocicontext import OciContext
    from mydocker.statemachine.queries import ContainerView

# Imported where used: `state` and `list`, which callers run often, read
# state.json only and pay for neither the database, the state machine, the
# init's code nor subprocess (hooks).

DEFAULT_ROOT = "/run/mydocker-runc"
EXIT_FILE = "exit.json"  # written by core.exitwatch when the init exits
ID_RE = re.compile(r"^[\w+\-.]+$")


class OciError(UserError):
    """One line for the caller, exit status 1 (runc's)."""


@dataclass
class Runtime:
    root: str
    events_root: str
    warn: Callable[[str], None] = field(default=lambda message: None)
    command: str = "mydocker-runc"

    def dir(self, container_id: str) -> Path:
        if not ID_RE.match(container_id) or container_id in (".", ".."):
            raise OciError(f"invalid id format: {container_id}")
        return Path(self.root) / container_id

    def context(self, command: str) -> OciContext:
        from mydocker.statemachine.ocicontext import OciContext

        os.makedirs(self.events_root, mode=0o700, exist_ok=True)
        return OciContext(self.events_root, f"{self.command} {command}")


# --- state.json -----------------------------------------------------------------


@dataclass
class Record:
    id: str
    bundle: str
    pid: int
    pid_start: int
    created: str
    annotations: dict[str, str]
    cgroups: dict[str, str]
    stream_id: str
    monitor_pid: int
    monitor_start: int
    hooks: dict[str, list[dict[str, Any]]]
    rootfs: str
    owner: str = ""
    # the core.exitwatch process that learns the init's exit status (0: none)
    exit_watcher: int = 0

    @classmethod
    def load(cls, runtime: Runtime, container_id: str) -> "Record":
        path = runtime.dir(container_id) / "state.json"
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise OciError(f"container does not exist: {container_id}") from None
        except (OSError, ValueError) as exc:
            raise OciError(f"cannot read the state of {container_id}: {exc}") from None
        return cls(**data)

    def save(self, runtime: Runtime) -> None:
        directory = runtime.dir(self.id)
        tmp = directory / "state.json.tmp"
        tmp.write_text(json.dumps(self.__dict__, sort_keys=True))
        os.replace(tmp, directory / "state.json")

    def status(self, runtime: Runtime) -> str:
        if not procinfo.is_same_process(self.pid, self.pid_start):
            return "stopped"
        if (runtime.dir(self.id) / ocispec.EXEC_FIFO).exists():
            return "created"
        if _frozen(self.cgroups):
            return "paused"
        return "running"

    def state(self, runtime: Runtime) -> dict[str, Any]:
        from mydocker.statemachine.machine import oci_has_init

        status = self.status(runtime)
        out = ocispec.state(self.id, status, self.pid if oci_has_init(status) else 0, self.bundle, self.annotations)
        out.update(rootfs=self.rootfs, created=self.created, owner=self.owner)
        return out


def _frozen(paths: dict[str, str]) -> bool:
    try:
        if "freezer" in paths:
            return Path(paths["freezer"], "freezer.state").read_text().strip() in ("FROZEN", "FREEZING")
        if "unified" in paths:
            return "frozen 1" in Path(paths["unified"], "cgroup.events").read_text().splitlines()
    except OSError:
        return False
    return False


@contextmanager
def _lock(runtime: Runtime, container_id: str) -> Iterator[None]:
    runtime.dir(container_id)  # checks the id before it names a file
    Path(runtime.root).mkdir(mode=0o700, parents=True, exist_ok=True)
    with locks.hold(runtime.root, container_id):
        yield


# --- create ---------------------------------------------------------------------


@dataclass
class CreateOptions:
    id: str
    bundle: str
    pid_file: str | None = None
    console_socket: str | None = None
    no_pivot: bool = False
    # who will reap the init and so knows its end: the caller (conmon, the shim),
    # or `run` itself as a subreaper
    monitor: int | None = None


def create(runtime: Runtime, opts: CreateOptions) -> Record:
    from mydocker.core import exitwatch, hooks, ociinit, ociseccomp
    from mydocker.statemachine import naming

    bundle = os.path.abspath(opts.bundle)
    config = ocispec.load(bundle)
    for warning in ocispec.validate(config, bundle):
        runtime.warn(warning)
    seccomp = (config.get("linux") or {}).get("seccomp")
    if seccomp:
        ociseccomp.compile_rules(seccomp)
    with _lock(runtime, opts.id):
        directory = runtime.dir(opts.id)
        if (directory / "state.json").exists():
            raise OciError(f"container with id exists: {opts.id}")
        directory.mkdir(mode=0o711, parents=True, exist_ok=True)
        os.mkfifo(directory / ocispec.EXEC_FIFO, 0o622)
        paths = ocispec.cgroup_paths((config.get("linux") or {}).get("cgroupsPath"), opts.id,
                                     ociinit.own_cgroups(), ociinit.hierarchy_mounts())
        config_hooks = config.get("hooks") or {}
        annotations = config.get("annotations") or {}

        def on_namespaces(pid: int) -> None:
            state = ocispec.state(opts.id, "creating", pid, bundle, annotations)
            hooks.run(config_hooks.get("prestart") or [], state, "prestart")
            hooks.run(config_hooks.get("createRuntime") or [], state, "createRuntime")

        # who learns the exit status when the caller, not us, reaps the init
        watcher = exitwatch.Watcher(str(directory / EXIT_FILE)) if opts.monitor is None else None
        try:
            cgroups.create(paths, ocispec.limits(config))
            request = ociinit.CreateRequest(opts.id, bundle, config, str(directory), paths, opts.console_socket,
                                            opts.no_pivot, on_namespaces)
            pid = ociinit.create(request)
        except (ociinit.InitError, hooks.HookError, cgroups.CgroupError, ocispec.SpecError, OSError) as exc:
            if watcher is not None:
                watcher.cancel()
            _safe_remove(paths)
            shutil.rmtree(directory, ignore_errors=True)
            raise OciError(str(exc)) from None
        monitor = opts.monitor or os.getppid()
        record = Record(
            id=opts.id, bundle=bundle, pid=pid, pid_start=procinfo.start_time(pid) or 0,
            created=_now(), annotations=annotations, cgroups=paths, stream_id=naming.new_id(),
            monitor_pid=monitor, monitor_start=procinfo.start_time(monitor) or 0,
            hooks={k: v for k, v in config_hooks.items() if k in ("poststart", "poststop")},
            rootfs=ocispec.rootfs_path(config, bundle), owner=_owner(),
        )
        if watcher is not None:
            record.exit_watcher = watcher.watch(pid, record.pid_start) or 0
        try:
            _record_create(runtime, record, config)
        except Exception as exc:  # noqa: BLE001 - unrecorded, the container must not exist either
            OciEffects(runtime, record).kill(None)
            _safe_remove(paths)
            shutil.rmtree(directory, ignore_errors=True)
            raise OciError(f"cannot record the container in the event log of {runtime.events_root}: {exc}") from None
        record.save(runtime)
        if opts.pid_file:
            _write_pid_file(opts.pid_file, pid)
        return record


def _safe_remove(paths: dict[str, str]) -> None:
    try:
        cgroups.remove(paths)
    except cgroups.CgroupError:
        pass


def _now() -> str:
    from mydocker.store.events import now_iso

    return now_iso()


def _owner() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def _write_pid_file(path: str, pid: int) -> None:
    # Written whole and renamed into place: conmon reads it as soon as we exit.
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        f.write(str(pid))
    os.replace(tmp, path)


def _record_create(runtime: Runtime, record: Record, config: dict[str, Any]) -> None:
    from mydocker.statemachine import naming
    from mydocker.store.events import Event, NameConflict, append

    process = config["process"]
    ctx = runtime.context("create")
    try:
        spec = {"id": record.stream_id, "root": os.path.abspath(runtime.events_root), "argv": process["args"],
                "env": process.get("env") or [], "hostname": config.get("hostname") or "",
                "workdir": process.get("cwd") or "/", "network": "none",
                # Empty: these cgroups are the OCI runtime's to remove (its delete),
                # so the CLI's recovery never releases a container it did not start.
                "cgroups": {}}
        payload = {
            "name": "", "image": record.rootfs, "image_id": "", "command": process["args"],
            "config": {"spec": spec, "oci": {"id": record.id, "bundle": record.bundle, "runtime_root":
                       os.path.abspath(runtime.root), "cgroups": record.cgroups,
                       "annotations": record.annotations}, "directory": "", "autoremove": False,
                       "network": {"mode": "none"}},
        }
        candidates = [record.id, f"{record.id}-{record.stream_id[:8]}"]
        for name in candidates:
            payload["name"] = name if naming.NAME_RE.match(name) else f"oci-{record.stream_id[:12]}"
            try:
                append(ctx.conn, "container", record.stream_id, 0, [Event("create", payload, ctx.actor())])
                return
            except NameConflict:
                continue
    finally:
        ctx.close()


# --- the state machine's side effects, the OCI way ----------------------------------


class OciEffects:
    """Effects for Container (statemachine.machine) on an OCI runtime's container."""

    def __init__(self, runtime: Runtime, record: Record, all_processes: bool = False) -> None:
        self.runtime = runtime
        self.record = record
        self.all_processes = all_processes

    def launch(self, view: ContainerView | None, attached: bool) -> dict[str, Any]:
        """Open exec.fifo's reading end: the waiting init writes a byte and execs."""
        fifo = self.runtime.dir(self.record.id) / ocispec.EXEC_FIFO
        try:
            fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            raise OciError("cannot start an already running container") from None
        try:
            while True:
                try:
                    first = os.read(fd, 1)
                    if first:
                        break
                except BlockingIOError:
                    pass
                if not procinfo.is_same_process(self.record.pid, self.record.pid_start):
                    raise OciError("cannot start a container that has stopped")
                time.sleep(0.001)
            if first == b"E":  # a startContainer hook failed: the init says why and exits
                raise OciError(_read_to_end(fd).decode(errors="replace") or "startContainer hook failed")
        finally:
            os.close(fd)
            fifo.unlink(missing_ok=True)
        return {"pid": self.record.pid, "pid_start": self.record.pid_start, "boot_id": procinfo.boot_id(),
                "monitor_pid": self.record.monitor_pid, "monitor_start": self.record.monitor_start}

    def signal(self, view: ContainerView | None, sig: int) -> None:
        targets = cgroups.pids(self.record.cgroups) if self.all_processes else set()
        if procinfo.is_same_process(self.record.pid, self.record.pid_start):
            targets.add(self.record.pid)
        for pid in targets:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, view: ContainerView | None, timeout: float) -> dict[str, Any] | None:
        self.signal(view, signal.SIGTERM)
        if not procinfo.wait_exit(self.record.pid, timeout):
            return self.kill(view)
        return None

    def kill(self, view: ContainerView | None) -> dict[str, Any] | None:
        self.signal(view, signal.SIGKILL)
        cgroups.kill_all(self.record.cgroups)
        procinfo.wait_exit(self.record.pid, 5.0)
        return {"exit_code": 137, "oom_killed": False, "reason": "killed by the OCI runtime's delete --force"}

    def freeze(self, view: ContainerView | None) -> None:
        try:
            if not cgroups.freeze(self.record.cgroups):
                raise OciError("no freezer cgroup to pause the container with")
        except cgroups.CgroupError as exc:
            raise OciError(str(exc)) from None

    def thaw(self, view: ContainerView | None) -> None:
        cgroups.thaw(self.record.cgroups)

    def update(self, view: ContainerView | None, limits: dict[str, Any]) -> None:
        try:
            cgroups.update(self.record.cgroups, cgroups.Limits(**limits))
        except (cgroups.CgroupError, OSError) as exc:
            raise OciError(f"unable to set the resources of {self.record.id}: {exc}") from None

    def release(self, view: ContainerView | None) -> None:
        try:
            cgroups.remove(self.record.cgroups)
        except cgroups.CgroupError as exc:
            raise OciError(str(exc)) from None

    def teardown(self, view: ContainerView | None) -> None:
        if procinfo.is_same_process(self.record.pid, self.record.pid_start):
            self.signal(view, signal.SIGKILL)  # a created container's init, waiting on the fifo
            procinfo.wait_exit(self.record.pid, 5.0)
        self.release(view)
        directory = self.runtime.dir(self.record.id)
        for _ in range(50):
            # the exit watcher may write exit.json while the tree goes (seen under load:
            # the directory outlived `delete`); once the directory is gone it cannot
            shutil.rmtree(directory, ignore_errors=True)
            if not directory.exists():
                break
            time.sleep(0.01)
        from mydocker.core import hooks

        state = self.record.state(self.runtime)
        state["status"] = "stopped"
        try:
            hooks.run(self.record.hooks.get("poststop") or [], state, "poststop")
        except hooks.HookError as exc:
            self.runtime.warn(str(exc))


def _read_to_end(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except BlockingIOError:
            time.sleep(0.001)
            continue
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _transition(runtime: Runtime, record: Record, effects: OciEffects, command: str,
                steps: Callable[[Container | None], Any]) -> Any:
    """Run steps on the log's aggregate through the one writer path
    (aggregate.locked: lock, load, machine.handle, append with retry), or on none
    when the log does not know this container (state made before the log moved, say)."""
    from mydocker.statemachine import aggregate, queries

    ctx = runtime.context(command)
    try:
        if queries.by_id(ctx.conn, record.stream_id) is None:
            return steps(None)
        return aggregate.locked(ctx, record.stream_id, steps, effects)  # type: ignore[arg-type]
    finally:
        ctx.close()


def _record_death(aggregate: Container, runtime: Runtime, record: Record, exit_code: int | None = None) -> None:
    """The log says running but the process is gone: record how it ended. `run`
    reaped it and knows; otherwise the exit watcher wrote what the kernel said,
    or, if there was none, the status is unknown (255)."""
    from mydocker.statemachine.machine import alive

    if alive(aggregate.view) and not procinfo.is_same_process(record.pid, record.pid_start):
        if exit_code is None:
            exit_code = _watched_exit_code(runtime, record)
        reason = "exited" if exit_code is not None else "exited (status reaped by the OCI runtime's caller)"
        aggregate.handle("die", exit={"exit_code": 255 if exit_code is None else exit_code,
                                      "oom_killed": cgroups.oom_killed(record.cgroups), "reason": reason})


def _watched_exit_code(runtime: Runtime, record: Record, patience: float = 2.0) -> int | None:
    """The exit code (128+signal for a signal, as docker) the watcher recorded; it
    may still be writing it when the caller deletes at once, so wait a little
    while it lives."""
    path = runtime.dir(record.id) / EXIT_FILE
    deadline = time.monotonic() + patience
    while True:
        try:
            status = int(json.loads(path.read_text())["status"])
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 128 - code
        except (OSError, ValueError, KeyError, TypeError):
            pass
        if not record.exit_watcher or time.monotonic() > deadline or not _is_watcher(record.exit_watcher):
            return None
        time.sleep(0.01)


def _is_watcher(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"exitwatch" in f.read()
    except OSError:
        return False


# --- start, kill, delete, pause, resume -----------------------------------------------


def _judge(runtime: Runtime, record: Record, verb: str) -> str:
    """The runtime's status of the container, if the verb fits it (machine.OCI_LEGAL);
    OciError with runc's words if not."""
    from mydocker.statemachine.machine import oci_refusal

    status = record.status(runtime)
    refusal = oci_refusal(verb, status, record.id)
    if refusal is not None:
        raise OciError(refusal)
    return status


def start(runtime: Runtime, container_id: str) -> None:
    from mydocker.store.events import Event

    with _lock(runtime, container_id):
        record = Record.load(runtime, container_id)
        _judge(runtime, record, "start")
        effects = OciEffects(runtime, record)

        def steps(aggregate: Container | None) -> None:
            if aggregate is None:
                effects.launch(None, False)
                return
            info = aggregate.handle("start")
            aggregate.pending.append(Event("start", info))

        _transition(runtime, record, effects, "start", steps)
    if record.hooks.get("poststart"):
        from mydocker.core import hooks

        try:
            hooks.run(record.hooks["poststart"], record.state(runtime), "poststart")
        except hooks.HookError as exc:
            runtime.warn(str(exc))


def kill(runtime: Runtime, container_id: str, sig: int, all_processes: bool = False) -> None:
    from mydocker.store.events import Event

    with _lock(runtime, container_id):
        record = Record.load(runtime, container_id)
        _judge(runtime, record, "kill --all" if all_processes else "kill")
        effects = OciEffects(runtime, record, all_processes)

        def steps(aggregate: Container | None) -> None:
            if aggregate is not None:
                _record_death(aggregate, runtime, record)
            if aggregate is not None and aggregate.may_kill(signal=sig):  # type: ignore[attr-defined]
                aggregate.handle("kill", signal=sig)
                return
            if aggregate is not None:
                # created: the init waits on the fifo; the machine has no kill from
                # created, so the signal is recorded as history beside it
                aggregate.pending.append(Event("kill", {"signal": sig}))
            effects.signal(None, sig)

        _transition(runtime, record, effects, "kill", steps)


def delete(runtime: Runtime, container_id: str, force: bool = False, exit_code: int | None = None) -> None:
    with _lock(runtime, container_id):
        try:
            record = Record.load(runtime, container_id)
        except OciError:
            if force:
                return  # runc: deleting what is not there, forcibly, is success
            raise
        from mydocker.statemachine.machine import oci_may

        status = _judge(runtime, record, "delete --force" if force else "delete")
        effects = OciEffects(runtime, record)
        if oci_may("resume", status):  # frozen: thawed, so the kill below is delivered
            cgroups.thaw(record.cgroups)

        def steps(aggregate: Container | None) -> None:
            if aggregate is None:
                if not oci_may("delete", status):  # a live init, forcibly deleted
                    effects.kill(None)
                effects.teardown(None)
                return
            _record_death(aggregate, runtime, record, exit_code)
            aggregate.handle("remove", force=True)

        _transition(runtime, record, effects, "delete", steps)


def pause(runtime: Runtime, container_id: str) -> None:
    _freeze(runtime, container_id, True)


def resume(runtime: Runtime, container_id: str) -> None:
    _freeze(runtime, container_id, False)


def _freeze(runtime: Runtime, container_id: str, frozen: bool) -> None:
    with _lock(runtime, container_id):
        record = Record.load(runtime, container_id)
        _judge(runtime, record, "pause" if frozen else "resume")
        effects = OciEffects(runtime, record)

        def steps(aggregate: Container | None) -> None:
            if aggregate is None:
                (effects.freeze if frozen else effects.thaw)(None)
            else:
                aggregate.handle("pause" if frozen else "unpause")

        _transition(runtime, record, effects, "pause" if frozen else "resume", steps)


def update(runtime: Runtime, container_id: str, resources: dict[str, Any]) -> None:
    """runc update: the spec's linux.resources applied to the live cgroups (the
    fields given only), and an `update` event in the log."""
    if not isinstance(resources, dict):
        raise OciError("resources must be a JSON object (the spec's linux.resources)")
    try:
        wanted = ocispec.limits({"linux": {"resources": resources}})
    except (ValueError, TypeError, AttributeError) as exc:
        raise OciError(f"invalid resources: {exc}") from None
    # only what the caller set: a field left at Limits' default is not an update
    unset = cgroups.Limits()
    limits = {k: v for k, v in wanted.__dict__.items() if v != getattr(unset, k) and k != "devices"}
    with _lock(runtime, container_id):
        record = Record.load(runtime, container_id)
        from mydocker.statemachine.machine import oci_may

        status = _judge(runtime, record, "update")
        effects = OciEffects(runtime, record)

        def steps(aggregate: Container | None) -> None:
            # The machine applies limits to what it calls alive; a created container's
            # init already sits in its cgroups, so runc updates those too.
            if aggregate is not None:
                _record_death(aggregate, runtime, record)
                aggregate.handle("update", limits=limits)
            if aggregate is None or oci_may("start", status):  # created: not yet alive to the log
                effects.update(None, limits)

        _transition(runtime, record, effects, "update", steps)


# --- reads: state, list, ps -------------------------------------------------------------


def state(runtime: Runtime, container_id: str) -> dict[str, Any]:
    return Record.load(runtime, container_id).state(runtime)


def list_all(runtime: Runtime) -> list[dict[str, Any]]:
    out = []
    root = Path(runtime.root)
    for entry in sorted(root.iterdir()) if root.is_dir() else []:
        if (entry / "state.json").exists():
            try:
                out.append(Record.load(runtime, entry.name).state(runtime))
            except OciError:
                continue
    return out


def processes(runtime: Runtime, container_id: str) -> list[int]:
    record = Record.load(runtime, container_id)
    return sorted(cgroups.pids(record.cgroups))


# --- exec --------------------------------------------------------------------------------


@dataclass
class ExecOptions:
    id: str
    process: dict[str, Any]
    detach: bool = False
    pid_file: str | None = None
    console_socket: str | None = None


def exec_process(runtime: Runtime, opts: ExecOptions) -> int:
    """The exit code of the process (0 when detached: it was started)."""
    from mydocker.core import ociinit, ociseccomp
    from mydocker.statemachine import aggregate, queries
    from mydocker.store.events import Event

    with _lock(runtime, opts.id):
        record = Record.load(runtime, opts.id)
        _judge(runtime, record, "exec")
        config = ocispec.load(record.bundle) if os.path.exists(os.path.join(record.bundle, "config.json")) else {}
    process = opts.process
    if not process.get("args"):
        raise OciError("args must not be empty")
    seccomp_json = (config.get("linux") or {}).get("seccomp")
    seccomp = ociseccomp.compile_rules(seccomp_json) if seccomp_json else None
    try:
        pid, code = ociinit.exec_in(record.pid, record.cgroups, process, opts.detach, opts.console_socket, seccomp)
    except ociinit.InitError as exc:
        raise OciError(str(exc)) from None
    if opts.pid_file:
        _write_pid_file(opts.pid_file, pid)
    ctx = runtime.context("exec")
    try:
        view = queries.by_id(ctx.conn, record.stream_id)
        if view is not None:
            aggregate.append(ctx, view.id, [Event("exec_start", {
                "argv": process["args"], "pid": pid, "detach": opts.detach})])
    finally:
        ctx.close()
    return 0 if code is None else code
