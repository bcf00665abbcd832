"""mydocker login [-u USER] [-p PASSWORD | --password-stdin] [SERVER]"""

from __future__ import annotations

import argparse
import sys

from mydocker.cli.parsing import Parser, UsageError
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("login", "Log in to a registry (credentials kept in docker's config.json)")
    p.add_argument("-u", "--username", help="username")
    p.add_argument("-p", "--password", help="password")
    p.add_argument("--password-stdin", action="store_true", help="take the password from stdin")
    p.add_argument("server", nargs="?", help="registry host[:port] (default: Docker Hub)")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.statemachine import login

    password = args.password
    if args.password_stdin:
        if args.password is not None:
            raise UsageError("--password and --password-stdin are mutually exclusive")
        if not args.username:
            raise UsageError("Must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\r\n")
    elif password is not None:
        sys.stderr.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
    user = args.username
    if not user:
        if not sys.stdin.isatty():
            raise UsageError("Cannot perform an interactive login from a non TTY device")
        user = input("Username: ").strip()
    if password is None:
        import getpass

        if not sys.stdin.isatty():
            raise UsageError("Cannot perform an interactive login from a non TTY device")
        password = getpass.getpass("Password: ")
    if not user:
        raise UsageError("Username cannot be empty")
    if not password:
        raise UsageError("Password Required")
    path = login.login(args.server, user, password)
    sys.stderr.write(f"WARNING! Your password will be stored unencrypted in {path}.\n")
    print("Login Succeeded")
    return 0
