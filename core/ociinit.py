"""The OCI runtime's processes: a container's init from a bundle, and exec.

`create` (runc's shape, with Python's fork in place of clone):

  runtime --fork--> A: joins or unshares the pid namespace, forks B, reports
                       B's pid and exits (only children enter a pid namespace)
                    B: joins the cgroups, joins/unshares the other namespaces,
                       says "ns"; the runtime runs prestart/createRuntime hooks
                       and says "G"; B builds the rootfs from config.json's
                       mounts, pivots, checks the command can be executed, says
                       "ready" and blocks opening exec.fifo for writing.
  `start` opens the fifo's other end: B's open returns, it drops privileges,
  loads seccomp and execs. B's parent is then the caller's subreaper (conmon,
  containerd's shim), which reaps it and knows its exit status.

Messages go child -> runtime as JSON lines on one pipe; a failure is
{"error": ...} and the runtime reports it as runc would.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import socket
import stat
import struct
import termios
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from mydocker.core import cgroups, finalize, hooks, ociseccomp, ocispec, rootfs, securejoin, security
from mydocker.core import syscalls as sc
from mydocker.core.users import SetupError

FIFO = ocispec.EXEC_FIFO


class InitError(Exception):
    pass


@dataclass
class CreateRequest:
    id: str
    bundle: str
    config: dict[str, Any]
    state_dir: str
    cgroups: dict[str, str]
    console_socket: str | None = None
    no_pivot: bool = False
    # called in the runtime once the namespaces exist, before the rootfs is built
    on_namespaces: Callable[[int], None] = field(default=lambda pid: None)


def hierarchy_mounts(root: Path = cgroups.CGROUP_ROOT) -> dict[str, Path]:
    """{controller or 'unified': mount point} of the hierarchies a container joins."""
    if cgroups.detect_mode(root) == "v2":
        return {"unified": root}
    found: dict[str, Path] = {}
    seen: set[Path] = set()
    for controller in cgroups.V1_CONTROLLERS:
        for candidate in (root / controller, root / "cpu,cpuacct", root / "cpuacct,cpu"):
            if controller in candidate.name.split(",") and candidate.is_dir():
                if candidate not in seen:
                    seen.add(candidate)
                    found[controller] = candidate
                break
    return found


def own_cgroups() -> dict[str, str]:
    return cgroups.own_paths()


def _send(fd: int, message: dict[str, Any]) -> None:
    os.write(fd, json.dumps(message).encode() + b"\n")


def create(req: CreateRequest) -> int:
    """Start the container's init and leave it waiting on exec.fifo; its host pid."""
    config = req.config
    plan = ocispec.namespace_plan(config)
    if (config.get("linux") or {}).get("seccomp"):
        # libseccomp is found with ldconfig, in the runtime's world, before any fork
        security.preload(security.Profile(seccomp=True))
    ns_fds: list[tuple[str, int]] = []
    opened: list[int] = []
    try:
        for kind, path in plan.join:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            opened.append(fd)
            ns_fds.append((kind, fd))
        pid_fd = os.open(plan.join_pid, os.O_RDONLY | os.O_CLOEXEC) if plan.join_pid else None
        if pid_fd is not None:
            opened.append(pid_fd)
        fifo_fd = os.open(os.path.join(req.state_dir, FIFO), os.O_PATH | os.O_CLOEXEC)
        opened.append(fifo_fd)
        console = None
        if (config.get("process") or {}).get("terminal"):
            if not req.console_socket:
                raise InitError("cannot allocate tty if runc will detach without setting console socket")
            console = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                console.connect(req.console_socket)
            except OSError as exc:
                console.close()
                raise InitError(f"console socket {req.console_socket}: {exc.strerror}") from None
        up_r, up_w = os.pipe()
        down_r, down_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(up_r)
                os.close(down_w)
                if pid_fd is not None:
                    sc.setns(pid_fd, sc.CLONE_NEWPID)
                elif plan.new_pid:
                    sc.unshare(sc.CLONE_NEWPID)
                # Only what the init needs: a lock's fd or the caller's pipes kept
                # open in the container would outlive this command.
                keep = {fifo_fd, up_w, down_r, *(fd for _, fd in ns_fds)}
                if console is not None:
                    keep.add(console.fileno())
                _close_all_but(keep)
                child = os.fork()
                if child == 0:
                    _init(req, plan, ns_fds, fifo_fd, console, up_w, down_r)
                _send(up_w, {"pid": child})
                code = 0
            except BaseException as exc:  # noqa: BLE001 - a forked child must not unwind into the runtime
                try:
                    _send(up_w, {"error": f"container init: {exc}"})
                except OSError:
                    pass
            finally:
                os._exit(code)
        os.close(up_w)
        os.close(down_r)
        if console is not None:
            console.close()
        try:
            return _supervise(req, pid, up_r, down_w)
        finally:
            os.close(up_r)
            os.close(down_w)
    finally:
        for fd in opened:
            os.close(fd)


def _close_all_but(keep: set[int]) -> None:
    low = 3
    for fd in sorted(keep):
        if fd >= low:
            os.closerange(low, fd)
            low = fd + 1
    os.closerange(low, 1 << 16)


def _supervise(req: CreateRequest, intermediate: int, up_r: int, down_w: int) -> int:
    reader = os.fdopen(os.dup(up_r), "rb")
    init_pid: int | None = None
    try:
        stage = "ns"
        while True:
            line = reader.readline()
            if not line:
                raise InitError("container init exited before it was ready")
            message = json.loads(line)
            if "error" in message:
                raise InitError(message["error"])
            if "pid" in message:
                init_pid = message["pid"]
                os.waitpid(intermediate, 0)
                intermediate = 0
            if message.get("ns"):
                stage = "ns-seen"
            if stage == "ns-seen" and init_pid is not None:
                req.on_namespaces(init_pid)
                os.write(down_w, b"G")
                stage = "go"
            if message.get("ready"):
                assert init_pid is not None
                return init_pid
    except BaseException:
        if init_pid:
            try:
                os.kill(init_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        raise
    finally:
        reader.close()
        if intermediate:
            os.waitpid(intermediate, 0)


def _init(req: CreateRequest, plan: ocispec.NamespacePlan, ns_fds: list[tuple[str, int]], fifo_fd: int,
          console: socket.socket | None, up_w: int, down_r: int) -> NoReturn:
    try:
        process = req.config["process"]
        os.setsid()
        for directory in req.cgroups.values():
            with open(os.path.join(directory, "cgroup.procs"), "w") as f:
                f.write("0")
        for kind, fd in ns_fds:
            sc.setns(fd, ocispec.NAMESPACES[kind][0])
        if plan.new_flags:
            sc.unshare(plan.new_flags)
        _send(up_w, {"ns": True})
        if os.read(down_r, 1) != b"G":
            os._exit(1)
        _set_hostname(req.config, plan)
        host_pid = int(os.readlink("/proc/self"))  # the host's /proc, until pivot_root
        _build_rootfs(req, plan, host_pid)
        _oom_score_adj(process)
        os.makedirs(process.get("cwd") or "/", exist_ok=True)
        os.chdir(process.get("cwd") or "/")
        executable = _resolve(process)
        if console is not None:
            _console(console, process.get("consoleSize"))
        seccomp = ociseccomp.compile_rules(req.config["linux"]["seccomp"]) \
            if (req.config.get("linux") or {}).get("seccomp") else None
        _send(up_w, {"ready": True})
        os.close(up_w)
        # Blocks until `start` opens the other end (runc's exec.fifo).
        fifo = os.open(f"/proc/self/fd/{fifo_fd}", os.O_WRONLY | os.O_CLOEXEC)
        try:
            _run_hooks(req, "startContainer", "created", host_pid)
        except hooks.HookError as exc:
            # `start` reads what follows "E" as its error; the container ends here
            os.write(fifo, b"E" + str(exc).encode())
            os.close(fifo)
            os._exit(1)
        os.write(fifo, b"0")
        os.close(fifo)
        exec_process(process, executable, seccomp)
    except BaseException as exc:  # noqa: BLE001 - everything must reach the runtime, not a traceback
        message = str(exc) if isinstance(exc, InitError | ocispec.SpecError | hooks.HookError) \
            else f"container init: {exc}"
        if os.environ.get("MYDOCKER_RUNC_DEBUG"):
            import traceback

            traceback.print_exc()
        try:
            _send(up_w, {"error": message})
        except OSError:
            os.write(2, f"{message}\n".encode())
        os._exit(1)


def _set_hostname(config: dict[str, Any], plan: ocispec.NamespacePlan) -> None:
    hostname = config.get("hostname")
    if hostname:
        if not plan.has("uts"):
            raise InitError("unable to set hostname without a private UTS namespace")
        sc.sethostname(hostname)


def _run_hooks(req: CreateRequest, stage: str, status: str, pid: int) -> None:
    """createContainer and startContainer: run by the init itself, in the
    container's namespaces (before pivot_root and just before exec, as runc)."""
    stage_hooks = (req.config.get("hooks") or {}).get(stage) or []
    if stage_hooks:
        state = ocispec.state(req.id, status, pid, req.bundle, req.config.get("annotations") or {})
        hooks.run(stage_hooks, state, stage)


def _build_rootfs(req: CreateRequest, plan: ocispec.NamespacePlan, host_pid: int) -> None:
    config = req.config
    linux = config.get("linux") or {}
    propagation = ocispec.PROPAGATION.get(linux.get("rootfsPropagation") or "rslave", sc.MS_SLAVE | sc.MS_REC)
    sc.mount(None, "/", None, propagation)
    root = ocispec.rootfs_path(config, req.bundle)
    # A mount point of its own, so pivot_root can move it (runc's bind of the rootfs on itself).
    sc.mount(root, root, None, sc.MS_BIND | sc.MS_REC)
    dev_is_tmpfs = False
    for entry in config.get("mounts") or []:
        mount = ocispec.mount_plan(entry)
        _mount(root, mount, req.cgroups)
        dev_is_tmpfs |= mount.destination == "/dev" and mount.type == "tmpfs"
    if dev_is_tmpfs:
        _default_devices(Path(root) / "dev")
    _devices(root, linux.get("devices") or [])
    _run_hooks(req, "createContainer", "creating", host_pid)
    if req.no_pivot:
        os.chdir(root)
        sc.mount(root, "/", None, sc.MS_MOVE)
        os.chroot(".")
        os.chdir("/")
    else:
        rootfs._pivot(root)  # noqa: SLF001 - the same pivot as the CLI's containers
    _sysctl(config)  # through the container's /proc, before readonlyPaths covers /proc/sys
    for path in linux.get("maskedPaths") or []:
        _mask(path)
    for path in linux.get("readonlyPaths") or []:
        _read_only(path)
    if (config.get("root") or {}).get("readonly"):
        sc.mount(None, "/", None, sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY)
    if linux.get("rootfsPropagation"):
        sc.mount(None, "/", None, propagation)


def _target(root: str, destination: str, kind: str) -> int:
    root_fd = os.open(root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return securejoin.open_in_root(root_fd, destination, create=kind)
    finally:
        os.close(root_fd)


def _mount(root: str, mount: ocispec.MountPlan, cgroup_paths: dict[str, str]) -> None:
    if mount.type == "cgroup" or mount.type == "cgroup2":
        _mount_cgroups(root, mount, cgroup_paths)
        return
    kind = "dir"
    if mount.bind:
        if not os.path.exists(mount.source):
            raise InitError(f"mount {mount.source} to {mount.destination}: no such file or directory")
        kind = "dir" if os.path.isdir(mount.source) else "file"
    fd = _target(root, mount.destination, kind)
    target = f"/proc/self/fd/{fd}"
    try:
        if mount.bind:
            sc.mount(mount.source, target, None, mount.flags & (sc.MS_BIND | sc.MS_REC))
        else:
            try:
                sc.mount(mount.source, target, mount.type, mount.flags, mount.data or None)
            except OSError as exc:
                if mount.type != "sysfs" or exc.errno != errno.EPERM:
                    raise
                # sysfs of the host's network namespace: bind the host's instead (runc does too)
                sc.mount("/sys", target, None, sc.MS_BIND | sc.MS_REC)
                mount.flags |= sc.MS_BIND
    finally:
        os.close(fd)
    if mount.flags & ~(sc.MS_BIND | sc.MS_REC) and mount.flags & sc.MS_BIND:
        fd = _target(root, mount.destination, kind)
        try:
            sc.mount(None, f"/proc/self/fd/{fd}", None, (mount.flags & ~sc.MS_REC) | sc.MS_REMOUNT)
        finally:
            os.close(fd)
    if mount.propagation:
        fd = _target(root, mount.destination, kind)
        try:
            sc.mount(None, f"/proc/self/fd/{fd}", None, mount.propagation)
        finally:
            os.close(fd)


def _mount_cgroups(root: str, mount: ocispec.MountPlan, cgroup_paths: dict[str, str]) -> None:
    """The container's own cgroups at /sys/fs/cgroup: on v2 its directory, on
    v1 a tmpfs with each hierarchy's directory bound under the hierarchy's name."""
    fd = _target(root, mount.destination, "dir")
    readonly = sc.MS_RDONLY if mount.flags & sc.MS_RDONLY else 0
    base = f"/proc/self/fd/{fd}"
    try:
        if "unified" in cgroup_paths and len(cgroup_paths) == 1:
            sc.mount(cgroup_paths["unified"], base, None, sc.MS_BIND)
            sc.mount(None, base, None, sc.MS_BIND | sc.MS_REMOUNT | readonly | sc.MS_NOSUID | sc.MS_NODEV)
            return
        sc.mount("tmpfs", base, "tmpfs", sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC, "mode=755")
        os.close(fd)
        fd = _target(root, mount.destination, "dir")  # the fd above names the directory under the tmpfs
        base = f"/proc/self/fd/{fd}"
        for directory in cgroup_paths.values():
            name = Path(directory).relative_to(cgroups.CGROUP_ROOT).parts[0]
            sub = os.path.join(base, name)
            os.makedirs(sub, exist_ok=True)
            sc.mount(directory, sub, None, sc.MS_BIND)
            sc.mount(None, sub, None, sc.MS_BIND | sc.MS_REMOUNT | readonly | sc.MS_NOSUID | sc.MS_NODEV)
            for alias in name.split(","):
                if alias != name and not os.path.lexists(os.path.join(base, alias)):
                    os.symlink(name, os.path.join(base, alias))
        if readonly:
            sc.mount(None, base, None, sc.MS_REMOUNT | sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC)
    finally:
        os.close(fd)


def _default_devices(dev: Path) -> None:
    """What runc makes in a tmpfs /dev: the standard nodes, ptmx and the fd links."""
    for name, (major, minor) in rootfs.DEVICES.items():
        node = dev / name
        if not node.exists():
            os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(major, minor))
            os.chmod(node, 0o666)
    for name, target in (("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"), ("core", "/proc/kcore")):
        if not os.path.lexists(dev / name):
            os.symlink(target, dev / name)


def _devices(root: str, devices: list[dict[str, Any]]) -> None:
    for device in devices:
        path = device.get("path", "")
        if not path.startswith("/dev/"):
            raise InitError(f"device path {path!r} is not under /dev")
        kinds = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}
        if device.get("type") not in kinds:
            raise InitError(f"device {path}: unknown type {device.get('type')!r}")
        mode = int(device.get("fileMode", 0o666)) & 0o7777
        fd = _target(root, os.path.dirname(path), "dir")
        try:
            node = f"/proc/self/fd/{fd}/{os.path.basename(path)}"
            if os.path.lexists(node):
                os.unlink(node)
            os.mknod(node, kinds[device["type"]] | mode,
                     os.makedev(int(device.get("major", 0)), int(device.get("minor", 0))))
            os.chmod(node, mode)
            os.chown(node, int(device.get("uid", 0)), int(device.get("gid", 0)))
        finally:
            os.close(fd)


def _sysctl(config: dict[str, Any]) -> None:
    for key, value in ((config.get("linux") or {}).get("sysctl") or {}).items():
        path = "/proc/sys/" + key.replace(".", "/")
        try:
            with open(path, "w") as f:
                f.write(str(value))
        except OSError as exc:
            raise InitError(f"sysctl {key}={value}: {exc.strerror}") from None


def _mask(path: str) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        return
    if stat.S_ISDIR(st.st_mode):
        sc.mount("tmpfs", path, "tmpfs", sc.MS_RDONLY, "size=0")
    else:
        sc.mount("/dev/null", path, None, sc.MS_BIND)


def _read_only(path: str) -> None:
    if not os.path.exists(path) or os.path.islink(path):
        return
    sc.mount(path, path, None, sc.MS_BIND | sc.MS_REC)
    sc.mount(None, path, None, sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY | sc.MS_REC)


def _oom_score_adj(process: dict[str, Any]) -> None:
    if process.get("oomScoreAdj") is not None:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(int(process["oomScoreAdj"])))


def _resolve(process: dict[str, Any]) -> str:
    """args[0] as execve will find it, checked now so `create` fails like runc's
    (podman maps these words to exit codes 127 and 126)."""
    command = process["args"][0]
    env = dict(item.split("=", 1) for item in process.get("env") or [] if "=" in item)
    candidates = [command] if "/" in command else [
        os.path.join(d or ".", command) for d in env.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(":")]
    for path in candidates:
        if os.path.isfile(path):
            if not os.access(path, os.X_OK):
                raise InitError(f'exec: "{command}": permission denied')
            return path
    if "/" in command:
        raise InitError(f'exec: "{command}": stat {command}: no such file or directory')
    raise InitError(f'exec: "{command}": executable file not found in $PATH')


def _console(sock: socket.socket, size: dict[str, int] | None = None) -> None:
    """A pty on the container's devpts: the master goes to the caller over the
    console socket (SCM_RIGHTS, with the slave's name as runc sends it), the
    slave becomes our stdio and controlling terminal."""
    master, slave = os.openpty()
    if size:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size.get("height", 0), size.get("width", 0), 0, 0))
    try:
        name = os.ttyname(slave)
        sock.sendmsg([name.encode()], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, master.to_bytes(4, "little"))])
    finally:
        os.close(master)
        sock.close()
    for target in (0, 1, 2):
        os.dup2(slave, target)
    os.close(slave)
    sc.set_controlling_tty(0)


def exec_process(process: dict[str, Any], executable: str, seccomp: ociseccomp.Profile | None) -> NoReturn:
    """Drop to the process's user, capabilities and limits, then execve: the
    finish core.finalize gives every process, with the OCI spec's own settings."""
    user = process.get("user") or {}
    if user.get("umask") is not None:
        os.umask(int(user["umask"]))
    sets = ocispec.capability_sets(process)
    profile = security.Profile(capabilities=sets["bounding"], capability_sets=sets, privileged=False, seccomp=False,
                               no_new_privileges=bool(process.get("noNewPrivileges")),
                               ulimits=ocispec.rlimits(process))
    finalize.close_fds(2)  # nothing to keep: a failure is told on stderr
    finalize.reset_signals()
    gids = [int(g) for g in user.get("additionalGids") or []]
    gid = int(user.get("gid", 0))
    confine = (lambda: ociseccomp.load(seccomp)) if seccomp is not None else None
    try:
        finalize.exec_command(list(process["args"]), list(process.get("env") or []), profile,
                              int(user.get("uid", 0)), gid, sorted({gid, *gids}) if gids else [gid],
                              executable=executable, confine=confine)
    except SetupError as exc:
        os.write(2, f"{exc}\n".encode())
        os._exit(exc.code)


# --- exec: a process in a running container ------------------------------------


def exec_in(pid: int, cgroup_paths: dict[str, str], process: dict[str, Any], detach: bool,
            console_socket: str | None, seccomp: ociseccomp.Profile | None) -> tuple[int, int | None]:
    """Run process in the namespaces of pid; (pid of the new process, its exit code
    unless detached). Like nsenter.py: an intermediate joins, its child execs."""
    if seccomp is not None:
        security.preload(security.Profile(seccomp=True))
    fds = []
    try:
        for name in ("cgroup", "ipc", "uts", "net", "pid", "mnt"):
            path = f"/proc/{pid}/ns/{name}"
            if os.path.exists(path) and os.readlink(path) != os.readlink(f"/proc/self/ns/{name}"):
                fds.append((name, os.open(path, os.O_RDONLY | os.O_CLOEXEC)))
    except OSError:
        for _, fd in fds:
            os.close(fd)
        raise InitError("container is not running") from None
    console = None
    if process.get("terminal"):
        if not console_socket:
            for _, fd in fds:
                os.close(fd)
            raise InitError("cannot allocate tty if runc will detach without setting console socket")
        console = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        console.connect(console_socket)
    up_r, up_w = os.pipe()
    helper = os.fork()
    if helper == 0:
        code = 1
        try:
            os.close(up_r)
            for directory in cgroup_paths.values():
                try:
                    with open(os.path.join(directory, "cgroup.procs"), "w") as f:
                        f.write("0")
                except OSError:
                    pass
            nstypes = {"cgroup": sc.CLONE_NEWCGROUP, **sc.NAMESPACE_TYPES}
            for name, fd in fds:
                sc.setns(fd, nstypes[name])
            child = os.fork()
            if child == 0:
                try:
                    os.setsid()
                    os.makedirs(process.get("cwd") or "/", exist_ok=True)
                    os.chdir(process.get("cwd") or "/")
                    executable = _resolve(process)
                    if console is not None:
                        _console(console, process.get("consoleSize"))
                    _send(up_w, {"ready": True})
                    os.close(up_w)
                    exec_process(process, executable, seccomp)
                except BaseException as exc:  # noqa: BLE001 - the runtime reports it, never a traceback
                    try:
                        _send(up_w, {"error": str(exc)})
                    except OSError:  # after "ready": the caller reads our stderr
                        os.write(2, f"exec: {exc}\n".encode())
                    finally:
                        os._exit(1)
            _send(up_w, {"pid": child})
            os.close(up_w)
            if detach:
                code = 0
            else:
                _, status = os.waitpid(child, 0)
                code = os.waitstatus_to_exitcode(status)
                code = code if code >= 0 else 128 - code
        except BaseException as exc:  # noqa: BLE001
            try:
                _send(up_w, {"error": f"exec: {exc}"})
            except OSError:
                pass
        finally:
            os._exit(code)
    os.close(up_w)
    for _, fd in fds:
        os.close(fd)
    if console is not None:
        console.close()
    with os.fdopen(up_r, "rb") as reader:
        child_pid: int | None = None
        error = None
        ready = False
        for line in reader:
            message = json.loads(line)
            error = message.get("error", error)
            child_pid = message.get("pid", child_pid)
            ready = ready or bool(message.get("ready"))
            if error or (ready and child_pid):
                break
    if detach or error or child_pid is None:
        os.waitpid(helper, 0)
        if error or child_pid is None:
            raise InitError(error or "exec failed")
        return child_pid, None
    _, status = os.waitpid(helper, 0)
    return child_pid, os.waitstatus_to_exitcode(status)
