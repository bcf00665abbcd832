"""mydocker version [--format]: mydocker's version; no server, as there is no daemon."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context

API_VERSION = "1.41"  # the Engine API docker 20.10 speaks, which mydocker follows


def parser() -> Parser:
    p = Parser("version", "Show the mydocker version information")
    p.add_argument("-f", "--format", help="format the output using the given Go template")
    return p


def info() -> dict[str, Any]:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    try:
        own = version("mydocker")
    except PackageNotFoundError:
        own = "unknown"
    client = {"Platform": {"Name": "mydocker"}, "Version": own, "ApiVersion": API_VERSION,
              "PythonVersion": platform.python_version(), "Os": "linux",
              "Arch": {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine()),
              "KernelVersion": platform.release(), "Daemonless": True}
    return {"Client": client, "Server": None}


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli import template

    data = info()
    if args.format == "json" or args.format == "{{json .}}":
        sys.stdout.write(json.dumps(data) + "\n")
        return 0
    if args.format:
        sys.stdout.write(template.render(template.unescape(args.format), data) + "\n")
        return 0
    c = data["Client"]
    sys.stdout.write(
        "Client: mydocker\n"
        f" Version:           {c['Version']}\n"
        f" API version:       {c['ApiVersion']}\n"
        f" Python version:    {c['PythonVersion']}\n"
        f" OS/Arch:           {c['Os']}/{c['Arch']}\n"
        f" Kernel version:    {c['KernelVersion']}\n"
        "\nServer: none (mydocker has no daemon: every command does its own work)\n")
    return 0
