"""Containers and images in docker's shapes: inspect JSON and ps fields."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from mydocker.cli.humanize import ZERO_TIME, created_at, human_duration, parse_time, since
from mydocker.cli.ports import format_ports
from mydocker.cli.resource_flags import host_config as host_config_of_resources
from mydocker.cli.run_flags import host_config as host_config_of_namespaces
from mydocker.cli.template import Struct
from mydocker.statemachine.queries import ContainerView

DOCKER_STATUS = {"created": "created", "running": "running", "stopped": "exited", "paused": "paused",
                 "restarting": "restarting"}


def status_text(view: ContainerView, config: dict[str, Any] | None = None) -> str:
    """config: the view's, already decoded (ps decodes each row's once)."""
    row = view.row
    if view.state in ("running", "paused") and row.get("started_at"):
        up = "Up " + human_duration(since(row["started_at"]))
        if view.state == "paused":
            return up + " (Paused)"
        config = view.config if config is None else config
        if config.get("healthcheck"):
            from mydocker.statemachine.health import ps_suffix

            up += ps_suffix(config, view.state, json.loads(row["health"]) if row.get("health") else None)
        return up
    if view.state == "stopped":
        return f"Exited ({row['exit_code']}) {human_duration(since(row['finished_at']))} ago"
    if view.state == "restarting":
        return f"Restarting ({row['exit_code']}) {human_duration(since(row['finished_at']))} ago"
    return "Created"


def ps_fields(view: ContainerView, truncate: bool, size: Callable[[], str] | None = None) -> Struct:
    """docker's ContainerContext: fields and the Label method, for ps templates."""
    command = " ".join(view.command)
    if truncate and len(command) > 20:
        command = command[:19] + "…"
    # Decoded and parsed once per row: ps with hundreds of containers pays these per row.
    config = view.config
    labels = dict(config.get("labels") or {})
    mounts = config["spec"].get("mounts", [])
    created = parse_time(view.row["created_at"])
    fields = Struct({
        "ID": view.id[:12] if truncate else view.id,
        "Image": view.row["image"],
        "Command": json.dumps(command, ensure_ascii=False),
        "CreatedAt": created_at(created),
        "RunningFor": human_duration(since(created)) + " ago",
        "Status": status_text(view, config),
        "State": DOCKER_STATUS.get(view.state, view.state),
        "Ports": format_ports(published(view)) if view.state in ("running", "paused") else "",
        "Names": view.name,
        "Networks": "" if _joiner(config) else ",".join(sorted([  # docker's: map order
            config["spec"].get("network", "none"), *(e["name"] for e in config.get("extra_networks") or [])])),
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        "Label": lambda key: labels.get(key, ""),
        "Mounts": ",".join(_mount_name(m, truncate) for m in mounts
                           if m.get("type") != "tmpfs" or m["destination"] not in (config.get("tmpfs") or {})),
        "Size": size or (lambda: ""),
        "LocalVolumes": str(sum(1 for m in mounts if m.get("type") == "volume")),
    })
    fields.go_type = "*formatter.ContainerContext"
    return fields


def _mount_name(mount: dict[str, Any], truncate: bool) -> str:
    """docker's: a volume's name, a bind's source, nothing for a --mount tmpfs (an
    empty entry, as docker prints it; --tmpfs mounts are not listed at all)."""
    name = mount.get("name") or (mount.get("source", "") if mount.get("type") == "bind" else "")
    return name[:14] + "…" if truncate and len(name) > 15 else name


def writable_size(view: ContainerView) -> int:
    """Bytes in the container's writable layer (docker's SizeRw)."""
    from mydocker.core.images import directory_size

    return directory_size(os.path.join(view.config.get("directory", ""), "upper"))


def container_size(view: ContainerView, image_size: int) -> str:
    """ps -s: the writable layer's size, and with the image's (docker's "virtual")."""
    from mydocker.cli.humanize import human_size

    total = writable_size(view)
    return f"{human_size(total)} (virtual {human_size(total + image_size)})"


def _endpoint(view: ContainerView) -> dict[str, Any]:
    raw = view.row.get("endpoint")
    return json.loads(raw) if raw else {}


def published(view: ContainerView) -> list[dict[str, Any]]:
    """The live ports: on whichever endpoint holds them (docker's gateway network,
    which a disconnect of the first network moves to another interface)."""
    ep = _endpoint(view)
    return next((e["ports"] for e in [ep, *ep.get("more", {}).values()] if e.get("ports")), [])


def _port_map(ports: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for p in ports:
        out.setdefault(f"{p['container_port']}/{p['proto']}", []).append(
            {"HostIp": p.get("host_ip") or "0.0.0.0", "HostPort": str(p["host_port"])})
    return out


def network_settings(view: ContainerView) -> dict[str, Any]:
    """docker's NetworkSettings: the live endpoints while connected, empty otherwise;
    the top level is the first network's (eth0), Networks has each of them."""
    configured = view.config.get("network") or {"name": view.config["spec"].get("network", "none")}
    ep = _endpoint(view)
    live_by_id = {e.get("network_id"): e for e in [ep, *ep.get("more", {}).values()] if e}

    def live(e: dict[str, Any]) -> dict[str, Any]:
        return {"IPAddress": e.get("ip", ""), "IPPrefixLen": e.get("prefixlen", 0), "Gateway": e.get("gateway", ""),
                "MacAddress": e.get("mac", "")}

    def entry(network: dict[str, Any], aliases: list[str]) -> dict[str, Any]:
        e = live_by_id.get(network.get("id"), {}) if network.get("id") else {}
        name = network.get("name") or "none"
        return {
            "IPAMConfig": {"IPv4Address": network["ip"]} if network.get("ip") else None,
            "Links": None,
            # docker: user networks alias the short id and --network-alias
            "Aliases": [view.id[:12], *aliases] if name not in ("bridge", "host", "none") else None,
            "NetworkID": network.get("id") or "",
            "EndpointID": e.get("veth", ""),
            **live(e),
        }

    if _joiner(view.config):  # docker's: X's network is X's, nothing is the joiner's own
        return {"Bridge": "", "SandboxKey": "", "Ports": {}, **live({}), "Networks": {}}
    networks = {configured.get("name") or "none": entry(configured, view.config.get("aliases", []))}
    for extra in view.config.get("extra_networks") or []:
        networks[extra["name"]] = entry(extra, extra.get("aliases") or [])
    return {
        "Bridge": ep.get("bridge", ""),
        "SandboxKey": f"/proc/{view.row['pid']}/ns/net" if view.row.get("pid") else "",
        "Ports": _port_map(published(view)),
        **live(ep),
        "Networks": networks,
    }


def _joiner(config: dict[str, Any]) -> bool:
    """--network container:X"""
    return (config.get("network") or {}).get("mode") == "container"


def _etc_directory(config: dict[str, Any], directory: str) -> str:
    """A joiner's /etc files are X's (its own directory holds links to them): docker shows X's paths."""
    donor = config["spec"].get("network", "")[len("container:"):] if _joiner(config) else ""
    return os.path.join(os.path.dirname(directory), donor) if len(donor) == 64 else directory


ETC_PATHS = (("ResolvConfPath", "resolv.conf"), ("HostnamePath", "hostname"), ("HostsPath", "hosts"))


def inspect_container(view: ContainerView, exec_ids: list[str] | None = None) -> dict[str, Any]:
    """exec_ids: its running execs' ids (statemachine.exec_ids), docker's null for none."""
    row, config = view.row, view.config
    spec = config["spec"]
    security = spec.get("security", {})
    limits = spec.get("limits", {})
    quota, period = limits.get("cpu_quota"), limits.get("cpu_period")
    argv = view.command
    directory = config.get("directory", "")
    started = bool(row.get("started_at"))
    return {
        "Id": view.id,
        "Created": row["created_at"],
        "Path": argv[0] if argv else "",
        "Args": argv[1:],
        "State": {
            "Status": DOCKER_STATUS.get(view.state, view.state),
            # docker: a paused or restarting container is running too
            "Running": view.state in ("running", "paused", "restarting"),
            "Paused": view.state == "paused",
            "Restarting": view.state == "restarting",
            "OOMKilled": bool(row["oom_killed"]),
            "Dead": False,
            "Pid": row["pid"] or 0,
            "ExitCode": row["exit_code"] or 0,
            "Error": row["die_reason"] if (row["die_reason"] or "").startswith("start failed") else "",
            "StartedAt": row["started_at"] or ZERO_TIME,
            "FinishedAt": row["finished_at"] or ZERO_TIME,
            **_health(view),
        },
        "Image": row["image_id"],
        # docker: the files a start writes, named once the container has started
        **{key: f"{_etc_directory(config, directory)}/{file}" if started else "" for key, file in ETC_PATHS},
        "LogPath": f"{directory}/container.log" if started and (config.get("log_config") or {}).get("Type") != "none"
        else "",
        "Name": "/" + view.name,
        "RestartCount": row.get("restart_count") or 0,
        "Driver": "overlay",
        "Platform": "linux",
        "ExecIDs": exec_ids or None,
        "HostConfig": {
            "NetworkMode": spec.get("network", "none"),
            "AutoRemove": bool(config.get("autoremove")),
            "CgroupParent": config.get("cgroup_parent") or "",
            "Memory": limits.get("memory") or 0,
            "MemorySwap": limits.get("memory_swap") or (2 * limits["memory"] if limits.get("memory") else 0),
            "NanoCpus": int(quota * 1e9 / (period or 100000)) if quota else 0,
            "CpuShares": limits.get("cpu_shares") or 0,
            "CpuQuota": quota or 0,
            "CpuPeriod": period or 0,
            "CpusetCpus": limits.get("cpuset_cpus") or "",
            "PidsLimit": limits.get("pids_limit"),
            "Privileged": bool(security.get("privileged")),
            "Capabilities": security.get("capabilities"),
            "SecurityOpt": ([] if security.get("seccomp", True) else ["seccomp=unconfined"])
            + ([] if security.get("no_new_privileges", True) else ["no-new-privileges=false"]),
            "ReadonlyRootfs": bool(spec.get("readonly_rootfs")),
            "Ulimits": [{"Name": k, "Soft": v[0], "Hard": v[1]} for k, v in security.get("ulimits", {}).items()],
            "Devices": [{"PathOnHost": d["host"], "PathInContainer": d["path"], "CgroupPermissions": d["perms"]}
                        for d in spec.get("devices", [])],
            "Init": bool(spec.get("init")),
            "PortBindings": _port_map((config.get("network") or {}).get("ports", [])),
            "Links": [f"/{target}:/{view.name}/{alias}" for target, alias in config.get("links") or []] or None,
            **_host_config_extras(config),
            **host_config_of_resources(spec),
            **host_config_of_namespaces(spec),
        },
        "Mounts": mounts_of(config),
        "GraphDriver": {
            "Name": "overlay",
            "Data": {
                "LowerDir": ":".join(reversed(spec.get("layers", []))),
                "UpperDir": f"{directory}/upper",
                "WorkDir": f"{directory}/work",
                "MergedDir": f"{directory}/merged",
            },
        },
        "Config": {
            "Hostname": spec["hostname"],
            "Domainname": spec.get("domainname", ""),
            "Env": spec["env"],
            "Cmd": config.get("cmd") or None,
            "Entrypoint": config.get("entrypoint") or None,
            "Image": row["image"],
            "WorkingDir": spec.get("workdir", "/"),
            "Tty": bool(spec.get("tty")),
            "OpenStdin": bool(spec.get("interactive")),
            "User": spec.get("user", ""),
            "ExposedPorts": {port: {} for port in config.get("exposed_ports", [])} or None,
            "Volumes": {m["destination"]: {} for m in spec.get("mounts", []) if m.get("anonymous")} or None,
            "Labels": dict(config.get("labels") or {}),
            **({"MacAddress": config["mac_address"]} if config.get("mac_address") else {}),
            **({"Healthcheck": _healthcheck(config["healthcheck"])} if config.get("healthcheck") else {}),
            **({"StopSignal": config["stop_signal"]} if config.get("stop_signal") else {}),
            **({"StopTimeout": config["stop_timeout"]} if config.get("stop_timeout") is not None else {}),
        },
        "NetworkSettings": network_settings(view),
        "Mydocker": {
            "Version": row["version"],
            "MonitorPid": row["monitor_pid"] or 0,
            "DieReason": row["die_reason"] or "",
            "Cgroups": spec.get("cgroups", {}),
        },
    }


def _health(view: ContainerView) -> dict[str, Any]:
    if not view.config.get("healthcheck"):
        return {}
    from mydocker.statemachine.health import inspect_health

    state = inspect_health(view)
    return {"Health": state} if state is not None else {}


def _healthcheck(check: dict[str, Any]) -> dict[str, Any]:
    """Config.Healthcheck in docker's field order, unset durations left out (omitempty)."""
    out: dict[str, Any] = {"Test": check.get("Test")}
    for key in ("Interval", "Timeout", "StartPeriod", "Retries"):
        if check.get(key):
            out[key] = check[key]
    return out


def _host_config_extras(config: dict[str, Any]) -> dict[str, Any]:
    etc = config.get("etc") or {}
    return {
        "Binds": [b for b in config.get("binds", []) if ":" in b] or None,
        "VolumesFrom": list(config.get("volumes_from") or []) or None,
        "Runtime": config.get("runtime") or "runc",
        "UsernsMode": config.get("userns_mode") or "",
        "ContainerIDFile": config.get("cidfile", ""),
        # in the field order of docker's structs, which its {{json}} keeps
        "LogConfig": {"Type": (config.get("log_config") or {}).get("Type", "json-file"),
                      "Config": (config.get("log_config") or {}).get("Config", {})},
        "RestartPolicy": {"Name": (config.get("restart_policy") or {}).get("Name", "no"),
                          "MaximumRetryCount": (config.get("restart_policy") or {}).get("MaximumRetryCount", 0)},
        "PublishAllPorts": bool(config.get("publish_all")),
        "Dns": etc.get("dns") or [],
        "DnsOptions": etc.get("dns_options") or [],
        "DnsSearch": etc.get("dns_search") or [],
        "ExtraHosts": etc.get("extra_hosts") or None,
        "Tmpfs": dict(config.get("tmpfs") or {}) or None,
        "Mounts": [_mount_flag(m) for m in config.get("mount_flags", [])] or None,
    }


def _mount_flag(m: dict[str, Any]) -> dict[str, Any]:
    """HostConfig.Mounts: --mount as docker records it."""
    out: dict[str, Any] = {"Type": m["type"]}
    if m.get("source"):
        out["Source"] = m["source"]
    out["Target"] = m["target"]
    if m.get("readonly"):
        out["ReadOnly"] = True
    if m["type"] == "tmpfs" and (m.get("tmpfs_size") or m.get("tmpfs_mode")):
        out["TmpfsOptions"] = {**({"SizeBytes": m["tmpfs_size"]} if m.get("tmpfs_size") else {}),
                               **({"Mode": int(m["tmpfs_mode"], 8)} if m.get("tmpfs_mode") else {})}
    return out


def mounts_of(config: dict[str, Any]) -> list[dict[str, Any]]:
    """inspect's Mounts: volumes, binds and --mount tmpfs (docker leaves --tmpfs out)."""
    from_tmpfs_flag = set(config.get("tmpfs") or {})
    out: list[dict[str, Any]] = []
    for m in config["spec"].get("mounts", []):
        kind = m.get("type", "bind")
        if kind == "volume":
            out.append({"Type": "volume", "Name": m.get("name", ""), "Source": m["source"],
                        "Destination": m["destination"], "Driver": "local", "Mode": "z" if not m.get("readonly")
                        else "ro", "RW": not m.get("readonly"), "Propagation": ""})
        elif kind == "bind":
            out.append({"Type": "bind", "Source": m["source"], "Destination": m["destination"],
                        "Mode": "ro" if m.get("readonly") else "", "RW": not m.get("readonly"),
                        "Propagation": "rprivate"})
        elif kind == "tmpfs" and m["destination"] not in from_tmpfs_flag:
            out.append({"Type": "tmpfs", "Source": "", "Destination": m["destination"], "Mode": "",
                        "RW": not m.get("readonly"), "Propagation": ""})
    return out


# docker's image Config is a struct: every field is there, zero when the image leaves it out
IMAGE_CONFIG_FIELDS: dict[str, Any] = {
    "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
    "AttachStderr": False, "ExposedPorts": None, "Tty": False, "OpenStdin": False, "StdinOnce": False,
    "Env": None, "Cmd": None, "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None,
    "OnBuild": None, "Labels": None,
}


def inspect_image(image: Any, repo_digests: dict[str, str] | None = None) -> dict[str, Any]:
    """repo_digests: {repository: digest} of the image's pulls and pushes."""
    config = image.config
    return {
        "Id": image.id,
        "RepoTags": image.tags,
        "RepoDigests": [f"{repo}@{digest}" for repo, digest in sorted((repo_digests or {}).items())],
        "Created": config.get("created", image.row["created_at"]),
        "Comment": config.get("comment", ""),
        "Author": config.get("author", ""),
        "Container": config.get("container", ""),
        "Size": image.row["size"],
        "Architecture": config.get("architecture", "amd64"),
        "Os": config.get("os", "linux"),
        "Config": {**IMAGE_CONFIG_FIELDS, **(config.get("config") or {})},
        "RootFS": {"Type": "layers", "Layers": config.get("rootfs", {}).get("diff_ids", [])},
    }
