"""mydocker info [--format]: counts, storage, cgroups and the host, as docker's."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("info", "Display system-wide information")
    p.add_argument("-f", "--format", help="format the output using the given Go template")
    return p


def gather(ctx: Context) -> dict[str, Any]:
    import platform

    from mydocker.cli.commands.version import info as version_info
    from mydocker.core import cgroups, stats

    conn = ctx.conn
    counts = dict(conn.execute("SELECT state, COUNT(*) FROM containers GROUP BY state").fetchall())
    mode = cgroups.detect_mode()
    try:
        with open("/etc/os-release") as f:
            release = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        os_name = release.get("PRETTY_NAME", "Linux").strip('"')
    except OSError:
        os_name = "Linux"
    return {
        "ID": ctx.tag,
        "Containers": sum(counts.values()),
        "ContainersRunning": counts.get("running", 0),
        "ContainersPaused": counts.get("paused", 0),
        "ContainersStopped": counts.get("stopped", 0) + counts.get("created", 0),
        "Images": conn.execute("SELECT COUNT(*) FROM images").fetchone()[0],
        "Driver": "overlay",
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "CgroupVersion": "2" if mode == "v2" else "1",
        "KernelVersion": platform.release(),
        "OperatingSystem": os_name,
        "OSType": "linux",
        "Architecture": platform.machine(),
        "NCPU": os.cpu_count() or 1,
        "MemTotal": stats.host_memory(),
        "Name": platform.node(),
        "DockerRootDir": os.path.abspath(ctx.root),
        "ServerVersion": version_info()["Client"]["Version"],
        "Volumes": conn.execute("SELECT COUNT(*) FROM volumes").fetchone()[0],
        "Networks": conn.execute("SELECT COUNT(*) FROM networks").fetchone()[0],
        "Daemonless": True,
    }


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli import template
    from mydocker.cli.sizes import bytes_size

    data = gather(ctx)
    if args.format in ("json", "{{json .}}"):
        sys.stdout.write(json.dumps(data) + "\n")
        return 0
    if args.format:
        sys.stdout.write(template.render(template.unescape(args.format), data) + "\n")
        return 0
    d = data
    sys.stdout.write(
        "Server: mydocker (no daemon)\n"
        f" Containers: {d['Containers']}\n"
        f"  Running: {d['ContainersRunning']}\n"
        f"  Paused: {d['ContainersPaused']}\n"
        f"  Stopped: {d['ContainersStopped']}\n"
        f" Images: {d['Images']}\n"
        f" Server Version: {d['ServerVersion']}\n"
        f" Storage Driver: {d['Driver']}\n"
        f" Logging Driver: {d['LoggingDriver']}\n"
        f" Cgroup Driver: {d['CgroupDriver']}\n"
        f" Cgroup Version: {d['CgroupVersion']}\n"
        f" Volumes: {d['Volumes']}\n"
        f" Networks: {d['Networks']}\n"
        f" Kernel Version: {d['KernelVersion']}\n"
        f" Operating System: {d['OperatingSystem']}\n"
        f" OSType: {d['OSType']}\n"
        f" Architecture: {d['Architecture']}\n"
        f" CPUs: {d['NCPU']}\n"
        f" Total Memory: {bytes_size(d['MemTotal'])}\n"
        f" Name: {d['Name']}\n"
        f" ID: {d['ID']}\n"
        f" Mydocker Root Dir: {d['DockerRootDir']}\n")
    return 0
