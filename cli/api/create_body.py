"""POST /containers/create's JSON body, turned into the `create` command's flags so
that the CLI's own checks and its CreateOptions builder (cli/container_flags.py,
cli/run_flags.py) make the statemachine config: one path for both fronts.

Unknown fields are ignored, as dockerd does; a known field of the wrong type is
refused with 400 before anything is made."""

from __future__ import annotations

import csv
import io
from typing import Any

from mydocker.cli.api.errors import bad_request


def typed(body: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) and kind in (int, (int, float)):
        value = "bool"  # a JSON true is not a number
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise bad_request(f"json: cannot unmarshal {type(value).__name__} into Go struct field "
                          f"{where}.{key} of type {names}")
    return value


def strings(body: dict[str, Any], key: str, where: str) -> list[str] | None:
    """docker's StrSlice: a list of strings, or one string."""
    value = typed(body, key, (list, str), where)
    if isinstance(value, str):
        return [value]
    if value is not None and not all(isinstance(v, str) for v in value):
        raise bad_request(f"json: cannot unmarshal into Go struct field {where}.{key} of type []string")
    return value


def _csv(fields: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()


def _mount(m: Any) -> str:
    if not isinstance(m, dict):
        raise bad_request("json: cannot unmarshal into Go struct field HostConfig.Mounts of type mount.Mount")
    fields = [f"type={str(m.get('Type') or 'volume').lower()}", f"target={m.get('Target') or ''}"]
    if m.get("Source"):
        fields.append(f"source={m['Source']}")
    if m.get("ReadOnly"):
        fields.append("readonly")
    tmpfs = m.get("TmpfsOptions") or {}
    if isinstance(tmpfs, dict) and tmpfs.get("SizeBytes"):
        fields.append(f"tmpfs-size={int(tmpfs['SizeBytes'])}")
    if isinstance(tmpfs, dict) and tmpfs.get("Mode"):
        fields.append(f"tmpfs-mode={int(tmpfs['Mode']):o}")
    return _csv(fields)


def _publish(port_bindings: dict[str, Any]) -> list[str]:
    out = []
    for port, bindings in port_bindings.items():
        if not isinstance(port, str) or (bindings is not None and not isinstance(bindings, list)):
            raise bad_request("json: cannot unmarshal into Go struct field HostConfig.PortBindings")
        container = port if "/" in port else f"{port}/tcp"
        for b in bindings or [{}]:
            if not isinstance(b, dict):
                raise bad_request("json: cannot unmarshal into Go struct field HostConfig.PortBindings")
            ip, host_port = b.get("HostIp") or "", str(b.get("HostPort") or "")
            if ip in ("0.0.0.0", "::"):
                ip = ""
            if ip:
                out.append(f"{ip}:{host_port}:{container}")
            elif host_port:
                out.append(f"{host_port}:{container}")
            else:
                out.append(container)
    return out


def create_argv(body: dict[str, Any], name: str | None) -> tuple[list[str], dict[str, Any]]:
    """(flags for `mydocker create`, what to set on CreateOptions afterwards)."""
    argv: list[str] = []
    after: dict[str, Any] = {}
    image = typed(body, "Image", str, "ContainerConfig")
    if not image:
        raise bad_request("Config cannot be empty in order to create a container")
    host = typed(body, "HostConfig", dict, "ContainerCreateConfig") or {}
    if name:
        argv += ["--name", name[1:] if name.startswith("/") else name]
    for item in strings(body, "Env", "ContainerConfig") or []:
        if "=" in item:  # `KEY` alone: the CLI would copy the server's own value
            argv += ["-e", item]
    for flag, key in (("-w", "WorkingDir"), ("-u", "User"), ("-h", "Hostname"), ("--stop-signal", "StopSignal"),
                      ("--domainname", "Domainname")):
        value = typed(body, key, str, "ContainerConfig")
        if value:
            argv += [flag, value]
    for flag, key in (("-t", "Tty"), ("-i", "OpenStdin")):
        if typed(body, key, bool, "ContainerConfig"):
            argv.append(flag)
    stop_timeout = typed(body, "StopTimeout", int, "ContainerConfig")
    if stop_timeout is not None:
        argv += ["--stop-timeout", str(stop_timeout)]
    for key, value in (typed(body, "Labels", dict, "ContainerConfig") or {}).items():
        argv += ["--label", f"{key}={value}"]
    for port in typed(body, "ExposedPorts", dict, "ContainerConfig") or {}:
        argv += ["--expose", str(port)]
    argv += _host_flags(host)
    networking = typed(body, "NetworkingConfig", dict, "ContainerCreateConfig") or {}
    endpoints = typed(networking, "EndpointsConfig", dict, "NetworkingConfig") or {}
    # the NetworkMode's endpoint (else the first) is the container's first network;
    # the others are joined besides, as `network connect` would (eth1...)
    mode = host.get("NetworkMode") if host.get("NetworkMode") in endpoints else next(iter(endpoints), None)
    extra_networks = []
    for net_name, endpoint in endpoints.items():
        if not isinstance(endpoint, dict):
            continue
        aliases = [str(alias) for alias in endpoint.get("Aliases") or []]
        ip = (endpoint.get("IPAMConfig") or {}).get("IPv4Address")
        if net_name != mode:
            extra_networks.append({"name": net_name, "aliases": aliases, "ip": str(ip) if ip else None})
            continue
        argv += [arg for alias in aliases for arg in ("--network-alias", alias)]
        if ip:
            argv += ["--ip", str(ip)]
    if not host.get("NetworkMode") and endpoints:
        argv += ["--network", next(iter(endpoints))]
    entrypoint = strings(body, "Entrypoint", "ContainerConfig")
    if entrypoint is not None:
        after["entrypoint"] = [] if entrypoint == [""] else entrypoint
    argv += ["--", image, *(strings(body, "Cmd", "ContainerConfig") or [])]
    after["config_extra"] = _checked_extras(body, host)
    if extra_networks:
        after["config_extra"]["extra_network_requests"] = extra_networks
    return argv, after


def _host_flags(host: dict[str, Any]) -> list[str]:
    where = "HostConfig"
    argv: list[str] = []
    for bind in strings(host, "Binds", where) or []:
        argv += ["-v", bind]
    for m in typed(host, "Mounts", list, where) or []:
        argv += ["--mount", _mount(m)]
    argv += [f"--publish={p}" for p in _publish(typed(host, "PortBindings", dict, where) or {})]
    if typed(host, "PublishAllPorts", bool, where):
        argv.append("-P")
    mode = typed(host, "NetworkMode", str, where)
    if mode and mode != "default":
        argv += ["--network", mode]
    memory = typed(host, "Memory", int, where)
    if memory:
        argv += ["-m", str(memory)]
    swap = typed(host, "MemorySwap", int, where)
    if swap and memory:
        argv += ["--memory-swap", str(swap)]
    nano = typed(host, "NanoCpus", int, where)
    if nano:
        argv += ["--cpus", repr(nano / 1e9)]
    for flag, key in (("--cpu-quota", "CpuQuota"), ("--cpu-period", "CpuPeriod"), ("-c", "CpuShares")):
        value = typed(host, key, int, where)
        if value:
            argv += [flag, str(value)]
    cpuset = typed(host, "CpusetCpus", str, where)
    if cpuset:
        argv += ["--cpuset-cpus", cpuset]
    pids = typed(host, "PidsLimit", int, where)
    if pids:
        argv += ["--pids-limit", str(pids)]
    for flag, key in (("--privileged", "Privileged"), ("--read-only", "ReadonlyRootfs"), ("--rm", "AutoRemove"),
                      ("--init", "Init")):
        if typed(host, key, bool, where):
            argv.append(flag)
    for flag, key in (("--cap-add", "CapAdd"), ("--cap-drop", "CapDrop"), ("--security-opt", "SecurityOpt"),
                      ("--dns", "Dns"), ("--dns-search", "DnsSearch"), ("--dns-option", "DnsOptions"),
                      ("--add-host", "ExtraHosts")):
        for value in strings(host, key, where) or []:
            argv += [flag, value]
    for path, options in (typed(host, "Tmpfs", dict, where) or {}).items():
        argv += ["--tmpfs", f"{path}:{options}" if options else str(path)]
    for u in typed(host, "Ulimits", list, where) or []:
        if not isinstance(u, dict) or not isinstance(u.get("Name"), str):
            raise bad_request("json: cannot unmarshal into Go struct field HostConfig.Ulimits")
        argv += ["--ulimit", f"{u['Name']}={u.get('Soft', 0)}:{u.get('Hard', u.get('Soft', 0))}"]
    for d in typed(host, "Devices", list, where) or []:
        if isinstance(d, dict) and d.get("PathOnHost"):
            argv += ["--device", ":".join([d["PathOnHost"], d.get("PathInContainer") or d["PathOnHost"],
                                           d.get("CgroupPermissions") or "rwm"])]
    parent = typed(host, "CgroupParent", str, where)
    if parent:
        argv += ["--cgroup-parent", parent]
    return argv + _namespace_and_memory_flags(host, where)


def _namespace_and_memory_flags(host: dict[str, Any], where: str) -> list[str]:
    """--sysctl, --shm-size, --group-add, --ipc/--uts/--pid, OOM and memory knobs."""
    argv: list[str] = []
    for key, value in (typed(host, "Sysctls", dict, where) or {}).items():
        argv += ["--sysctl", f"{key}={value}"]
    for flag, key in (("--shm-size", "ShmSize"), ("--oom-score-adj", "OomScoreAdj"),
                      ("--memory-reservation", "MemoryReservation")):
        value = typed(host, key, int, where)
        if value:
            argv += [flag, str(value)]
    swappiness = typed(host, "MemorySwappiness", int, where)
    if swappiness is not None and swappiness != -1:
        argv += ["--memory-swappiness", str(swappiness)]
    if typed(host, "OomKillDisable", bool, where):
        argv.append("--oom-kill-disable")
    for flag, key in (("--cpuset-mems", "CpusetMems"), ("--ipc", "IpcMode"), ("--uts", "UTSMode"),
                      ("--pid", "PidMode")):
        value = typed(host, key, str, where)
        if value:
            argv += [flag, value]
    for group in strings(host, "GroupAdd", where) or []:
        argv += ["--group-add", group]
    for donor in strings(host, "VolumesFrom", where) or []:  # flags3
        argv += ["--volumes-from", donor]
    for flag, key in (("--runtime", "Runtime"), ("--userns", "UsernsMode")):
        if typed(host, key, str, where):
            argv += [flag, host[key]]
    for item in typed(host, "BlkioWeightDevice", list, where) or []:
        if isinstance(item, dict) and item.get("Path"):
            argv += ["--blkio-weight-device", f"{item['Path']}:{item.get('Weight', 0)}"]
    return argv


def _checked_extras(body: dict[str, Any], host: dict[str, Any]) -> dict[str, Any]:
    """RestartPolicy, LogConfig and Healthcheck in docker's shapes, checked as the
    daemon checks them: the exit path, teardown and the health timer trust them."""
    from mydocker.statemachine.log_options import LogOptionError
    from mydocker.statemachine.log_options import validate as validate_log
    from mydocker.statemachine.restart_policy import PolicyError
    from mydocker.statemachine.restart_policy import validate as validate_policy

    extra: dict[str, Any] = {}
    policy = typed(host, "RestartPolicy", dict, "HostConfig")
    if policy and policy.get("Name"):
        typed(policy, "Name", str, "RestartPolicy")
        typed(policy, "MaximumRetryCount", int, "RestartPolicy")
        try:
            extra["restart_policy"] = validate_policy(policy)
        except PolicyError as exc:
            raise bad_request(str(exc)) from None
        if host.get("AutoRemove") and extra["restart_policy"]["Name"] != "no":
            raise bad_request("can't create 'AutoRemove' container with restart policy")
    logs = typed(host, "LogConfig", dict, "HostConfig")
    if logs and (logs.get("Type") or logs.get("Config")):
        options = typed(logs, "Config", dict, "LogConfig") or {}
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in options.items()):
            raise bad_request("json: cannot unmarshal into Go struct field LogConfig.Config of type string")
        try:
            extra["log_config"] = validate_log(typed(logs, "Type", str, "LogConfig") or "json-file", options)
        except LogOptionError as exc:
            raise bad_request(str(exc)) from None
    check = typed(body, "Healthcheck", dict, "ContainerConfig")
    if check:
        extra["healthcheck"] = _healthcheck(check)
    return extra


def _healthcheck(check: dict[str, Any]) -> dict[str, Any]:
    where = "Healthcheck"
    test = strings(check, "Test", where)
    if test and test[0] not in ("NONE", "CMD", "CMD-SHELL"):
        raise bad_request(f"unknown Healthcheck type {test[0]!r} (want CMD, CMD-SHELL or NONE)")
    if test and test[0] != "NONE" and len(test) < 2:
        raise bad_request(f"Healthcheck {test[0]} needs a command")
    out: dict[str, Any] = {"Test": test or None}
    for key in ("Interval", "Timeout", "StartPeriod"):
        value = typed(check, key, int, where) or 0
        if value < 0:
            raise bad_request(f"{key} in Healthcheck cannot be negative")
        if 0 < value < 10**6:  # nanoseconds, as the daemon says
            raise bad_request(f"{key} in Healthcheck cannot be less than 1ms")
        out[key] = value
    retries = typed(check, "Retries", int, where) or 0
    if retries < 0:
        raise bad_request("Retries in Healthcheck cannot be negative")
    out["Retries"] = retries
    return out
