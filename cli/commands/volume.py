"""mydocker volume ls|create|rm|inspect"""

from __future__ import annotations

import argparse

from mydocker.cli.asof import add_flag
from mydocker.cli.errors import report
from mydocker.cli.parsing import Parser, UsageError
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("volume", "Manage volumes")
    sub = p.add_subparsers(dest="action", metavar="COMMAND", parser_class=Parser)
    ls = sub.add_parser("ls", help="list volumes", aliases=["list"])
    ls.add_argument("-q", "--quiet", action="store_true", help="only display volume names")
    ls.add_argument("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                    help="dangling=true|false, driver=, label=KEY[=VALUE], name=")
    ls.add_argument("--format", help="'table', 'table TEMPLATE' or a Go template")
    add_flag(ls)
    create = sub.add_parser("create", help="create a volume")
    create.add_argument("--label", action="append", default=[], help="KEY=VALUE")
    create.add_argument("-d", "--driver", default="local", help="only 'local'")
    create.add_argument("-o", "--opt", action="append", default=[], metavar="KEY=VALUE",
                        help="the local driver's: type=tmpfs|none|FSTYPE, device=DEVICE|DIR, o=MOUNT OPTIONS")
    create.add_argument("name", nargs="?")
    rm = sub.add_parser("rm", help="remove one or more volumes", aliases=["remove"])
    rm.add_argument("-f", "--force", action="store_true", help="no error if missing")
    rm.add_argument("names", nargs="+", metavar="VOLUME")
    inspect = sub.add_parser("inspect", help="display detailed information")
    inspect.add_argument("-f", "--format", help="format the output using a Go template")
    inspect.add_argument("names", nargs="+", metavar="VOLUME")
    add_flag(inspect)
    return p


def frees_space(args: argparse.Namespace) -> bool:
    return args.action in ("rm", "remove")


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.statemachine import volumes
    from mydocker.statemachine.errors import UserError

    if args.action is None:
        raise UsageError("volume needs a command: ls, create, rm or inspect")
    if getattr(args, "at", None):  # ls and inspect
        from mydocker.cli.asof import travel

        travel(ctx.conn, args.at)
    if args.action in ("ls", "list"):
        from mydocker.cli.volume_list import list_volumes

        return list_volumes(args, ctx)
    if args.action == "create":
        import secrets

        if args.driver != "local":
            raise UsageError(f"volume driver {args.driver!r} is not supported (only 'local')")
        labels = {}
        for item in args.label:
            key, _, value = item.partition("=")
            labels[key] = value
        name = args.name or secrets.token_hex(32)
        if not volumes.NAME_RE.match(name):  # the daemon's words, as docker's CLI relays them
            raise UserError(f'create {name}: "{name}" includes invalid characters for a local volume name, '
                            'only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
                            "directory, use absolute path")
        # docker's CLI sends its options map even when empty: inspect then says {} (null for -v volumes)
        row = volumes.ensure(ctx, name, anonymous=False, labels=labels, options=volumes.parse_options(args.opt))
        print(row["id"])
        return 0
    if args.action in ("rm", "remove"):
        code = 0
        for name in args.names:
            try:
                if volumes.NAME_RE.match(name):
                    volumes.remove(ctx, name, force=args.force)
                elif not args.force:  # no volume has such a name (nor a lock file)
                    raise volumes.NoSuchVolume(name)
                print(name)
            except volumes.NoSuchVolume:
                report(f"No such volume: {name}")  # docker's CLI words for the daemon's 404
                code = 1
            except UserError as exc:
                report(exc)
                code = 1
        return code
    found, code = [], 0
    for name in args.names:
        found_row = volumes.find(ctx.conn, name)
        if found_row is None:
            report(f"No such volume: {name}")
            code = 1
            continue
        found.append(volumes.inspect(found_row))
    from mydocker.cli import template

    template.print_objects(found, args.format)
    return code
