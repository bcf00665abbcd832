"""run/create flags about what surrounds the process: labels, /etc/hosts and
resolv.conf entries, --mount and --tmpfs, stop signal and timeout, exposed and
randomly published ports, --cidfile, network aliases. Values are checked here,
with docker's words, before anything is created."""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
from typing import Any

from mydocker.cli.parsing import Parser, UsageError, parse_signal, parse_size


def _flag_error(flag: str, value: str, why: str) -> UsageError:
    return UsageError(f'invalid argument "{value}" for "{flag}" flag: {why}')


def parse_add_host(text: str) -> str:
    """HOST:IP (docker's ValidateExtraHost); the IP may be IPv6, so split on the first colon."""
    host, sep, ip = text.partition(":")
    if not sep or not host or not ip:
        raise _flag_error("--add-host", text, f'bad format for add-host: "{text}"')
    try:
        ipaddress.ip_address(ip.strip("[]"))
    except ValueError:
        raise _flag_error("--add-host", text, f'invalid IP address in add-host: "{ip}"') from None
    return f"{host}:{ip.strip('[]')}"


def parse_dns(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise _flag_error("--dns", text, f"{text} is not an ip address") from None


def parse_label(text: str) -> str:
    if not text or text.startswith("="):
        raise _flag_error("--label", text, f'invalid label format: "{text}"')
    return text


def parse_stop_timeout(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _flag_error("--stop-timeout", text, f'strconv.ParseInt: parsing "{text}": invalid syntax') from None


def add_flags(p: Parser) -> None:
    p.add_argument("-l", "--label", action="append", default=[], type=parse_label, help="set metadata (KEY=VALUE)")
    p.add_argument("--label-file", action="append", default=[], help="read in a line delimited file of labels")
    p.add_argument("--add-host", action="append", default=[], type=parse_add_host,
                   help="add a custom host-to-IP mapping (host:ip)")
    p.add_argument("--dns", action="append", default=[], type=parse_dns, help="set custom DNS servers")
    p.add_argument("--dns-search", action="append", default=[], help="set custom DNS search domains")
    p.add_argument("--dns-option", "--dns-opt", action="append", default=[], help="set DNS options")
    p.add_argument("--mount", action="append", default=[], type=parse_mount,
                   help="attach a filesystem mount: type=bind|volume|tmpfs,source=,target=[,readonly]")
    p.add_argument("--tmpfs", action="append", default=[], type=parse_tmpfs,
                   help="mount a tmpfs directory: PATH[:OPTIONS]")
    p.add_argument("--stop-signal", type=_stop_signal, help="signal to stop the container (default SIGTERM)")
    p.add_argument("--stop-timeout", type=parse_stop_timeout, help="seconds to wait before killing on stop")
    p.add_argument("-P", "--publish-all", action="store_true", help="publish all exposed ports to random ports")
    p.add_argument("--expose", action="append", default=[], type=parse_expose,
                   help="expose a port or a range of ports")
    p.add_argument("--cidfile", help="write the container ID to the file")
    p.add_argument("--network-alias", "--net-alias", action="append", default=[],
                   help="add a network-scoped alias for the container")
    add_restart_health_log_flags(p)
    add_namespace_flags(p)


def _stop_signal(text: str) -> str:
    parse_signal(text)  # refuses what kill would refuse
    return text


# --- restart policy, health check, log options (helper `restart`) ------------------


def parse_restart(text: str) -> dict[str, Any]:
    from mydocker.statemachine.restart_policy import PolicyError, parse

    try:
        return parse(text)
    except PolicyError as exc:
        raise UsageError(str(exc)) from None


def restart_policy_from_api(policy: dict[str, Any]) -> dict[str, Any]:
    """HostConfig.RestartPolicy of the Engine API, checked as the CLI's flag."""
    from mydocker.statemachine.restart_policy import PolicyError, validate

    try:
        return validate(policy)
    except PolicyError as exc:
        raise UsageError(str(exc)) from None


def add_restart_health_log_flags(p: Parser) -> None:
    p.add_argument("--restart", type=parse_restart, help="restart policy: no, always, unless-stopped, on-failure[:N]")
    p.add_argument("--health-cmd", help="command to run to check health")
    for flag, what in (("--health-interval", "time between running the check (ms|s|m|h) (default 0s)"),
                       ("--health-timeout", "maximum time to allow one check to run (ms|s|m|h) (default 0s)"),
                       ("--health-start-period", "start period for the container to initialize before starting "
                                                 "health-retries countdown (ms|s|m|h) (default 0s)")):
        p.add_argument(flag, type=_go_duration(flag), help=what)
    p.add_argument("--health-retries", type=_int_flag("--health-retries"),
                   help="consecutive failures needed to report unhealthy")
    p.add_argument("--no-healthcheck", action="store_true", help="disable any container-specified HEALTHCHECK")
    p.add_argument("--log-driver", help="logging driver for the container: json-file (default) or none")
    p.add_argument("--log-opt", action="append", default=[], help="log driver options: max-size=10k, max-file=3")


def _go_duration(flag: str):  # type: ignore[no-untyped-def]
    def convert(text: str) -> int:
        from mydocker.statemachine.health import parse_go_duration

        try:
            return parse_go_duration(text)
        except ValueError as exc:
            raise _flag_error(flag, text, str(exc)) from None
    return convert


def _int_flag(flag: str):  # type: ignore[no-untyped-def]
    def convert(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise _flag_error(flag, text, f'strconv.ParseInt: parsing "{text}": invalid syntax') from None
    return convert


def healthcheck(args: argparse.Namespace) -> dict[str, Any] | None:
    """Config.Healthcheck from the flags (docker's checks and words), None if none given."""
    durations = {"Interval": args.health_interval, "Timeout": args.health_timeout,
                 "StartPeriod": args.health_start_period}
    given = args.health_cmd is not None or args.health_retries is not None or any(
        v is not None for v in durations.values())
    if args.no_healthcheck:
        if given:
            raise UsageError("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not given:
        return None
    for key, flag in (("Interval", "interval"), ("Timeout", "timeout"), ("StartPeriod", "start-period")):
        if (durations[key] or 0) < 0:
            raise UsageError(f"--health-{flag} cannot be negative")
    if (args.health_retries or 0) < 0:
        raise UsageError("--health-retries cannot be negative")
    for key in ("Interval", "Timeout", "StartPeriod"):  # the daemon's
        if 0 < (durations[key] or 0) < 10**6:
            raise UsageError(f"{key} in Healthcheck cannot be less than 1ms")
    check: dict[str, Any] = {"Test": ["CMD-SHELL", args.health_cmd] if args.health_cmd else None}
    check.update({k: v or 0 for k, v in durations.items()})
    check["Retries"] = args.health_retries or 0
    return check


def log_config(args: argparse.Namespace) -> dict[str, Any] | None:
    """HostConfig.LogConfig, or None for the default (json-file, no options)."""
    from mydocker.statemachine.log_options import LogOptionError, validate

    if args.log_driver is None and not args.log_opt:
        return None
    options: dict[str, str] = {}
    for item in args.log_opt:
        key, _, value = item.partition("=")  # docker: `max-size` alone is max-size=""
        options[key] = value
    try:
        return validate(args.log_driver or "json-file", options)
    except LogOptionError as exc:
        raise UsageError(str(exc)) from None


def restart_health_log_config(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if args.restart is not None:
        if args.rm and args.restart["Name"] != "no":
            raise UsageError("conflicting options: cannot specify both --restart and --rm")
        out["restart_policy"] = args.restart
    check = healthcheck(args)
    if check is not None:
        out["healthcheck"] = check  # merged with the image's HEALTHCHECK at create
    logs = log_config(args)
    if logs is not None:
        out["log_config"] = logs
    return out


# --- labels ---------------------------------------------------------------------


def labels(args: argparse.Namespace) -> dict[str, str]:
    """--label-file lines first, then --label (later wins), as docker's ReadKVStrings;
    `KEY` alone is an empty label."""
    items: list[str] = []
    for path in args.label_file:
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as exc:
            raise UsageError(f"open {path}: {(exc.strerror or str(exc)).lower()}") from None
        items += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    items += args.label
    out: dict[str, str] = {}
    for item in items:
        key, _, value = item.partition("=")
        if not key:
            raise _flag_error("--label", item, f'invalid label format: "{item}"')
        out[key] = value
    return out


# --- ports ------------------------------------------------------------------------


_EXPOSE = re.compile(r"(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?", re.ASCII)


def parse_expose(text: str) -> str:
    """PORT[-PORT][/PROTO], docker's --expose."""
    m = _EXPOSE.fullmatch(text)
    if not m:
        port = text.split("/")[0].split("-")[0]
        raise UsageError(f'invalid range format for --expose: {text}, error: strconv.ParseUint: '
                         f'parsing "{port}": invalid syntax')
    first, last = int(m.group(1)), int(m.group(2) or m.group(1))
    if not 1 <= first <= last <= 65535:
        raise UsageError(f"invalid range format for --expose: {text}")
    return text


def exposed(args: argparse.Namespace, ports: list[dict[str, Any]]) -> list[str]:
    """Config.ExposedPorts: --expose ranges and every published container port."""
    out: list[str] = []
    for text in args.expose:
        m = _EXPOSE.fullmatch(text)
        assert m is not None  # parse_expose checked it
        first, last, proto = int(m.group(1)), int(m.group(2) or m.group(1)), m.group(3) or "tcp"
        out += [f"{port}/{proto}" for port in range(first, last + 1)]
    out += [f"{p['container_port']}/{p['proto']}" for p in ports]
    return sorted(dict.fromkeys(out), key=lambda s: (int(s.split("/")[0]), s))


def publish(ports: list[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    """-p CONTAINERPORT and -P take a free host port now; docker picks at start,
    we pick once at create, so the port is in the log and stays the container's."""
    wanted = list(ports)
    if args.publish_all:
        published = {(p["container_port"], p["proto"]) for p in wanted}
        for key in exposed(args, []):
            port, proto = key.split("/")
            if (int(port), proto) not in published and proto in ("tcp", "udp"):
                wanted.append({"host_ip": "", "host_port": 0, "container_port": int(port), "proto": proto})
    taken: set[tuple[str, int]] = set()
    out = []
    for p in wanted:
        if p["host_port"] == 0:
            p = {**p, "host_port": _free_port(p["proto"], p.get("host_ip") or "", taken)}
        taken.add((p["proto"], p["host_port"]))
        out.append(p)
    return out


def _free_port(proto: str, host_ip: str, taken: set[tuple[str, int]]) -> int:
    import socket  # here: inspect loads this module only for its views

    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind((host_ip or "0.0.0.0", 0))  # the kernel's pick from its ephemeral range
            port = s.getsockname()[1]
        if (proto, port) not in taken:
            return port
    raise UsageError("no free host port left to publish on")


# --- mounts -----------------------------------------------------------------------

_MOUNT_KEYS = {"type", "source", "src", "target", "destination", "dst", "readonly", "ro", "bind-propagation",
               "volume-nocopy", "volume-driver", "volume-label", "volume-opt", "tmpfs-size", "tmpfs-mode",
               "consistency", "bind-nonrecursive"}
_BOOL = {"": True, "1": True, "true": True, "0": False, "false": False}


def parse_mount(text: str) -> dict[str, Any]:
    """docker's --mount CSV: type=bind|volume|tmpfs,source=,target=,readonly,..."""
    import csv

    try:
        fields = next(csv.reader([text]))
    except (csv.Error, StopIteration):
        raise _flag_error("--mount", text, "invalid mount format") from None
    mount: dict[str, Any] = {"type": "volume", "source": "", "target": "", "readonly": False}
    for item in fields:
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if key not in _MOUNT_KEYS:
            raise _flag_error("--mount", text, f"unexpected key '{key}' in '{item}'")
        if key in ("readonly", "ro"):
            if value.lower() not in _BOOL:
                raise _flag_error("--mount", text, f"invalid value for {key}: {value}")
            mount["readonly"] = _BOOL[value.lower()]
        elif not eq:
            raise _flag_error("--mount", text, f"invalid field '{item}' must be a key=value pair")
        elif key == "type":
            mount["type"] = value.lower()
        elif key in ("source", "src"):
            mount["source"] = value
        elif key in ("target", "destination", "dst"):
            mount["target"] = value
        elif key == "tmpfs-size":
            try:
                mount["tmpfs_size"] = parse_size(value)
            except UsageError:
                raise _flag_error("--mount", text, f"invalid value for {key}: {value}") from None
        elif key == "tmpfs-mode":
            if not re.fullmatch(r"[0-7]{1,4}", value):
                raise _flag_error("--mount", text, f"invalid value for {key}: {value}")
            mount["tmpfs_mode"] = value
    kind = mount["type"]
    if kind not in ("bind", "volume", "tmpfs"):
        raise UsageError(f'invalid mount config for type "{kind}": mount type unknown')
    if not mount["target"]:
        raise UsageError(f'invalid mount config for type "{kind}": field Target must not be empty')
    if not mount["target"].startswith("/"):
        raise UsageError(f"invalid mount path: '{mount['target']}' mount path must be absolute")
    if kind == "bind":
        if not mount["source"]:
            raise UsageError('invalid mount config for type "bind": field Source must not be empty')
        if not os.path.exists(mount["source"]):
            raise UsageError(f'invalid mount config for type "bind": bind source path does not exist: '
                             f'{mount["source"]}')
    if kind == "tmpfs" and mount["source"]:
        raise UsageError('invalid mount config for type "tmpfs": field Source must not be specified')
    return mount


def parse_tmpfs(text: str) -> str:
    path, _, options = text.partition(":")
    if not path.startswith("/"):
        raise UsageError(f"invalid mount path: '{path}' mount path must be absolute")
    tmpfs_options(options)
    return text


_TMPFS_DATA = re.compile(r"(size|mode|uid|gid|nr_inodes|nr_blocks)=[0-9A-Za-z%]+", re.ASCII)
_TMPFS_FLAGS = {"rw", "ro", "exec", "noexec", "suid", "nosuid", "dev", "nodev", "atime", "noatime",
                "relatime", "strictatime", "diratime", "nodiratime", "sync", "async"}


def tmpfs_options(options: str) -> str:
    """docker's tmpfs defaults (noexec, nosuid, nodev) then what was asked."""
    asked = [o for o in options.split(",") if o]
    for option in asked:
        if option not in _TMPFS_FLAGS and not _TMPFS_DATA.fullmatch(option):
            raise UsageError(f"invalid tmpfs option {option!r}")
    return ",".join(["rw", "noexec", "nosuid", "nodev", *asked])


def mount_requests(args: argparse.Namespace) -> list[Any]:
    """--mount and --tmpfs as the volume requests the statemachine plans mounts from."""
    from mydocker.statemachine.volumes import VolumeRequest

    out = []
    for m in args.mount:
        destination = os.path.normpath(m["target"])
        if m["type"] == "tmpfs":
            options = [f"size={m['tmpfs_size']}"] if m.get("tmpfs_size") else []
            options += [f"mode={m['tmpfs_mode']}"] if m.get("tmpfs_mode") else []
            options += ["ro"] if m["readonly"] else []
            out.append(VolumeRequest(destination, "", "tmpfs", m["readonly"], tmpfs_options(",".join(options))))
        else:
            source = os.path.abspath(m["source"]) if m["type"] == "bind" else m["source"]
            out.append(VolumeRequest(destination, source, m["type"], m["readonly"]))
    for text in args.tmpfs:
        path, _, options = text.partition(":")
        out.append(VolumeRequest(os.path.normpath(path), "", "tmpfs", "ro" in options.split(","),
                                 tmpfs_options(options)))
    return out


# --- what the container's config records -------------------------------------------


def config_extra(args: argparse.Namespace) -> dict[str, Any]:
    """Fields of the create event's config that inspect, ps filters, stop and the
    /etc files read back."""
    ports = publish_ports_of(args)
    if args.cidfile and os.path.exists(args.cidfile):
        raise UsageError(f"container ID file found, make sure the other container isn't running or "
                         f"delete {args.cidfile}")
    return {
        "labels": labels(args),
        "stop_signal": args.stop_signal,
        "stop_timeout": args.stop_timeout,
        "exposed_ports": exposed(args, ports),
        "publish_all": bool(args.publish_all),
        "binds": list(args.volume),
        "mount_flags": [{k: v for k, v in m.items()} for m in args.mount],
        "tmpfs": {p: o for p, _, o in (t.partition(":") for t in args.tmpfs)},
        "etc": {"extra_hosts": list(args.add_host), "dns": list(args.dns), "dns_search": list(args.dns_search),
                "dns_options": list(args.dns_option)},
        "aliases": list(args.network_alias),
        "cidfile": args.cidfile or "",
        **({"volumes_from": list(args.volumes_from)} if args.volumes_from else {}),
        "runtime": runtime_of(args),
        "userns_mode": args.userns,
        **restart_health_log_config(args),
    }


def publish_ports_of(args: argparse.Namespace) -> list[dict[str, Any]]:
    from mydocker.cli.ports import parse_all

    return parse_all(args.publish)


def write_cidfile(path: str, container_id: str) -> None:
    """docker writes the id once the container exists; O_EXCL so a racing run cannot share it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise UsageError(f"container ID file found, make sure the other container isn't running or "
                         f"delete {path}") from None
    except OSError as exc:
        raise UsageError(f"failed to create the container ID file: {exc}") from None
    with os.fdopen(fd, "w") as f:
        f.write(container_id)


# --- kernel parameters and namespaces: --sysctl, --shm-size, --domainname (helper flags2) ---


def parse_sysctl(text: str) -> tuple[str, str]:
    from mydocker.core.sysctls import allowed

    key, eq, value = text.partition("=")
    if not eq or not allowed(key) or "/" in key or ".." in key:
        raise _flag_error("--sysctl", text, f"sysctl '{text}' is not allowed")
    return key, value


def parse_shm_size(text: str) -> int:
    try:
        return parse_size(text)
    except UsageError:
        raise _flag_error("--shm-size", text, f"invalid size: '{text}'") from None


def add_namespace_flags(p: Parser) -> None:
    p.add_argument("--sysctl", action="append", default=[], type=parse_sysctl, help="sysctl options (KEY=VALUE)")
    p.add_argument("--shm-size", type=parse_shm_size, default=0, help="size of /dev/shm (default 64m)")
    p.add_argument("--domainname", default="", help="container NIS domain name")
    p.add_argument("--group-add", action="append", default=[], help="add additional groups to join")
    p.add_argument("--ipc", default="", help="IPC mode: private (default), shareable, none, host or container:NAME")
    p.add_argument("--uts", type=_host_mode("--uts", "UTS"), default="", help="UTS namespace to use: host")
    p.add_argument("--pid", type=_pid_mode, default="", help="PID namespace to use: host or container:NAME")
    p.add_argument("--volumes-from", action="append", default=[], type=parse_volumes_from,
                   help="mount volumes from the specified container(s): NAME[:ro|rw]")
    p.add_argument("--runtime", default="", help="runtime to use for this container (runc)")
    p.add_argument("--userns", type=_userns_mode, default="", help="user namespace to use: host")


# docker 20.10's runtimes (`docker info`); mydocker runs the container itself the same way for each
RUNTIMES = ("runc", "io.containerd.runc.v2", "io.containerd.runtime.v1.linux")


def _userns_mode(text: str) -> str:
    """Without userns-remap a container shares the host's user namespace: only
    `host` (or nothing) can be asked for, as docker 20.10 answers."""
    if text not in ("", "host"):
        raise UsageError("--userns: invalid USER mode")
    return text


def runtime_of(args: argparse.Namespace) -> str:
    if args.runtime and args.runtime not in RUNTIMES:
        raise UsageError(f"Unknown runtime specified {args.runtime}")
    return str(args.runtime or "runc")


def _pid_mode(text: str) -> str:
    if text.startswith("container:") and text != "container:":
        return text
    return str(_host_mode("--pid", "PID")(text))


def parse_volumes_from(text: str) -> str:
    """NAME[:ro|rw]; the name is looked up at create (statemachine.container_refs)."""
    from mydocker.statemachine.container_refs import split_volumes_from

    try:
        split_volumes_from(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return text


def _host_mode(flag: str, what: str):  # type: ignore[no-untyped-def]
    def convert(text: str) -> str:
        if text not in ("", "host"):
            raise UsageError(f"{flag}: invalid {what} mode")
        return text

    return convert


def uts_hostname(args: argparse.Namespace) -> str | None:
    """--uts host: the container has the host's name, and may not set another."""
    if args.uts != "host":
        return args.hostname
    if args.hostname is not None:
        raise UsageError("conflicting options: hostname and the UTS mode")
    import socket

    return socket.gethostname()


def spec_extra(args: argparse.Namespace, network: str) -> dict[str, Any]:
    """ContainerSpec fields of these flags; what needs the network is checked here,
    before anything exists (docker's runc refuses it only at start)."""
    sysctls = dict(args.sysctl)
    ipc = args.ipc or "private"
    if ipc == "container:":
        raise UsageError('can\'t join IPC of container : invalid name or ID supplied: ""')
    if ipc not in ("private", "shareable", "host", "none") and not ipc.startswith("container:"):
        raise UsageError(f"Invalid IPC mode: {ipc}")
    for key in sysctls:
        if network == "host" and key.startswith("net."):
            raise UsageError(f'sysctl "{key}" not allowed in host network namespace')
        if ipc == "host" and not key.startswith("net."):
            raise UsageError(f'sysctl "{key}" not allowed in host IPC namespace')
    return {"sysctls": sysctls, "shm_size": args.shm_size, "domainname": args.domainname,
            "oom_score_adj": args.oom_score_adj, "group_add": list(args.group_add), "ipc": ipc,
            "uts": args.uts, "pid_mode": args.pid}


def host_config(spec: dict[str, Any]) -> dict[str, Any]:
    """inspect's HostConfig fields for these flags (Sysctls is omitempty in docker)."""
    out: dict[str, Any] = {"ShmSize": spec.get("shm_size") or 64 * 1024 * 1024,
                           "IpcMode": spec.get("ipc") or "private", "UTSMode": spec.get("uts") or "",
                           "PidMode": spec.get("pid_mode") or "", "GroupAdd": list(spec.get("group_add") or []) or None}
    if spec.get("sysctls"):
        out["Sysctls"] = dict(sorted(spec["sysctls"].items()))
    return out
