"""mydocker logout [SERVER]"""

from __future__ import annotations

import argparse

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("logout", "Log out from a registry")
    p.add_argument("server", nargs="?", help="registry host[:port] (default: Docker Hub)")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.statemachine import login

    key, removed = login.logout(args.server)
    print(f"Removing login credentials for {key}" if removed else f"Not logged in to {key}")
    return 0
