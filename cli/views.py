"""Containers and images in docker's shapes: inspect JSON and ps fields."""

from __future__ import annotations

import json
from typing import Any

from mydocker.cli.humanize import ZERO_TIME, created_at, human_duration, since
from mydocker.cli.ports import format_ports
from mydocker.statemachine.queries import ContainerView

DOCKER_STATUS = {"created": "created", "running": "running", "paused": "paused", "stopped": "exited"}


def status_text(view: ContainerView) -> str:
    row = view.row
    if view.state in ("running", "paused"):
        up = "Up " + human_duration(since(row["started_at"]))
        return up + " (Paused)" if view.state == "paused" else up
    if view.state == "stopped":
        return f"Exited ({row['exit_code']}) {human_duration(since(row['finished_at']))} ago"
    return "Created"


def ps_fields(view: ContainerView, truncate: bool) -> dict[str, Any]:
    command = " ".join(view.command)
    if truncate and len(command) > 20:
        command = command[:19] + "…"
    return {
        "ID": view.id[:12] if truncate else view.id,
        "Image": view.row["image"],
        "Command": json.dumps(command, ensure_ascii=False),
        "CreatedAt": created_at(view.row["created_at"]),
        "RunningFor": human_duration(since(view.row["created_at"])) + " ago",
        "Status": status_text(view),
        "State": DOCKER_STATUS[view.state],
        "Ports": format_ports(_endpoint(view).get("ports", [])) if view.state in ("running", "paused") else "",
        "Names": view.name,
        "Networks": view.config["spec"].get("network", "none"),
        "Labels": "",
        "Mounts": "",
        "Size": "",
        "LocalVolumes": "0",
    }


def _endpoint(view: ContainerView) -> dict[str, Any]:
    raw = view.row.get("endpoint")
    return json.loads(raw) if raw else {}


def _port_map(ports: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for p in ports:
        out.setdefault(f"{p['container_port']}/{p['proto']}", []).append(
            {"HostIp": p.get("host_ip") or "0.0.0.0", "HostPort": str(p["host_port"])})
    return out


def network_settings(view: ContainerView) -> dict[str, Any]:
    """docker's NetworkSettings: the live endpoint while connected, empty otherwise."""
    configured = view.config.get("network") or {"name": view.config["spec"].get("network", "none")}
    ep = _endpoint(view)
    live = {
        "IPAddress": ep.get("ip", ""),
        "IPPrefixLen": ep.get("prefixlen", 0),
        "Gateway": ep.get("gateway", ""),
        "MacAddress": ep.get("mac", ""),
    }
    name = configured.get("name") or "none"
    return {
        "Bridge": ep.get("bridge", ""),
        "SandboxKey": f"/proc/{view.row['pid']}/ns/net" if view.row.get("pid") else "",
        "Ports": _port_map(ep.get("ports", [])),
        **live,
        "Networks": {name: {
            "IPAMConfig": {"IPv4Address": configured["ip"]} if configured.get("ip") else None,
            "NetworkID": configured.get("id") or "",
            "EndpointID": ep.get("veth", ""),
            **live,
        }},
    }


def inspect_container(view: ContainerView) -> dict[str, Any]:
    row, config = view.row, view.config
    spec = config["spec"]
    security = spec.get("security", {})
    limits = spec.get("limits", {})
    quota, period = limits.get("cpu_quota"), limits.get("cpu_period")
    argv = view.command
    directory = config.get("directory", "")
    return {
        "Id": view.id,
        "Created": row["created_at"],
        "Path": argv[0] if argv else "",
        "Args": argv[1:],
        "State": {
            "Status": DOCKER_STATUS[view.state],
            "Running": view.state in ("running", "paused"),
            "Paused": view.state == "paused",
            "Restarting": False,
            "OOMKilled": bool(row["oom_killed"]),
            "Dead": False,
            "Pid": row["pid"] or 0,
            "ExitCode": row["exit_code"] or 0,
            "Error": row["die_reason"] if (row["die_reason"] or "").startswith("start failed") else "",
            "StartedAt": row["started_at"] or ZERO_TIME,
            "FinishedAt": row["finished_at"] or ZERO_TIME,
        },
        "Image": row["image_id"],
        "ResolvConfPath": "",
        "HostnamePath": "",
        "LogPath": f"{directory}/container.log",
        "Name": "/" + view.name,
        "RestartCount": 0,
        "Driver": "overlay",
        "Platform": "linux",
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
        },
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
            "Env": spec["env"],
            "Cmd": config.get("cmd") or None,
            "Entrypoint": config.get("entrypoint") or None,
            "Image": row["image"],
            "WorkingDir": spec.get("workdir", "/"),
            "Tty": bool(spec.get("tty")),
            "OpenStdin": bool(spec.get("interactive")),
            "User": spec.get("user", ""),
        },
        "NetworkSettings": network_settings(view),
        "Mydocker": {
            "Version": row["version"],
            "MonitorPid": row["monitor_pid"] or 0,
            "DieReason": row["die_reason"] or "",
            "Cgroups": spec.get("cgroups", {}),
        },
    }


def inspect_image(image: Any) -> dict[str, Any]:
    config = image.config
    return {
        "Id": image.id,
        "RepoTags": image.tags,
        "Created": config.get("created", image.row["created_at"]),
        "Comment": config.get("comment", ""),
        "Author": config.get("author", ""),
        "Container": config.get("container", ""),
        "Size": image.row["size"],
        "Architecture": config.get("architecture", "amd64"),
        "Os": config.get("os", "linux"),
        "Config": config.get("config", {}),
        "RootFS": {"Type": "layers", "Layers": config.get("rootfs", {}).get("diff_ids", [])},
    }
