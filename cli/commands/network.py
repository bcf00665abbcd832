"""mydocker network create|ls|inspect|rm|connect|disconnect"""

from __future__ import annotations

import argparse
from typing import Any

from mydocker.cli.asof import add_flag
from mydocker.cli.errors import exit_code, report
from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context


def parser() -> Parser:
    p = Parser("network", "Manage networks")
    sub = p.add_subparsers(dest="action", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    c = sub.add_parser("create", help="create a network")
    c.add_argument("-d", "--driver", default="bridge", help="driver (bridge)")
    c.add_argument("--subnet", help="subnet in CIDR form, e.g. 192.168.10.0/24")
    c.add_argument("--gateway", help="IPv4 gateway of the subnet (default: its first address)")
    c.add_argument("--label", action="append", default=[], metavar="KEY=VALUE", help="set metadata on a network")
    c.add_argument("name", metavar="NETWORK")
    ls = sub.add_parser("ls", aliases=["list"], help="list networks")
    ls.add_argument("-q", "--quiet", action="store_true", help="only display network IDs")
    ls.add_argument("--no-trunc", action="store_true", help="do not truncate the output")
    ls.add_argument("-f", "--filter", action="append", default=[], metavar="KEY=VALUE",
                    help="driver=, id=, label=, name=, scope=, type=custom|builtin, dangling=")
    ls.add_argument("--format", help="'table', 'table TEMPLATE' or a Go template")
    add_flag(ls)
    i = sub.add_parser("inspect", help="display detailed information on one or more networks")
    i.add_argument("-f", "--format", help="format the output using a Go template")
    i.add_argument("names", nargs="+", metavar="NETWORK")
    add_flag(i)
    r = sub.add_parser("rm", aliases=["remove"], help="remove one or more networks")
    r.add_argument("names", nargs="+", metavar="NETWORK")
    cn = sub.add_parser("connect", help="connect a container to a network")
    cn.add_argument("--alias", action="append", default=[], help="add network-scoped alias for the container")
    cn.add_argument("--ip", help="IPv4 address (e.g., 172.30.100.104)")
    cn.add_argument("network", metavar="NETWORK")
    cn.add_argument("container", metavar="CONTAINER")
    dc = sub.add_parser("disconnect", help="disconnect a container from a network")
    dc.add_argument("-f", "--force", action="store_true", help="force the container to disconnect from a network")
    dc.add_argument("network", metavar="NETWORK")
    dc.add_argument("container", metavar="CONTAINER")
    return p


def run(args: argparse.Namespace, ctx: Context) -> int:
    action = {"list": "ls", "remove": "rm"}.get(args.action, args.action)
    if getattr(args, "at", None):  # ls and inspect
        from mydocker.cli.asof import travel

        travel(ctx.conn, args.at)
    return int(globals()[f"_{action}"](args, ctx))


def _create(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.statemachine import networks

    labels = dict(item.partition("=")[::2] for item in args.label)
    view = networks.create(ctx, args.name, args.subnet, args.gateway, driver=args.driver, labels=labels)
    print(view.id)
    return 0


def _ls(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.network_list import list_networks

    return list_networks(args, ctx)


def inspect_network(conn: Any, view: Any) -> dict[str, Any]:
    names = dict(conn.execute("SELECT id, name FROM containers").fetchall())
    containers = {
        ep["container"]: {"Name": names.get(ep["container"], ""), "EndpointID": ep["veth"],
                          "MacAddress": ep["mac"], "IPv4Address": f"{ip}/{ep['prefixlen']}", "IPv6Address": ""}
        for ip, ep in view.allocations.items()
    }
    return {
        "Name": view.name,
        "Id": view.id,
        "Created": view.row["created_at"],
        "Scope": "local",
        "Driver": view.row["driver"],
        "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": {},
                 "Config": [{"Subnet": view.row["subnet"], "Gateway": view.gateway}] if view.row["subnet"] else []},
        "Internal": False,
        "Containers": containers,
        "Options": {"com.docker.network.bridge.name": view.bridge} if view.bridge else {},
        "Labels": view.labels,
    }


def _inspect(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli import template
    from mydocker.statemachine import networks

    found, code = [], 0
    for ref in args.names:
        view = networks.find_any(ctx, ref)
        if view is None:
            report(f"No such network: {ref}")  # docker's CLI words for the daemon's 404
            code = 1
            continue
        found.append(inspect_network(ctx.conn, view))
    template.print_objects(found, args.format)
    return code


def _rm(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.statemachine import networks
    from mydocker.statemachine.errors import UserError

    code = 0
    for ref in args.names:
        try:
            networks.remove(ctx, ref)
            print(ref)
        except UserError as exc:
            from mydocker.statemachine.network_views import NoSuchNetwork

            report(f"No such network: {ref}" if isinstance(exc, NoSuchNetwork) else exc)  # docker's CLI words
            code = exit_code(exc, "network")
    return code


def _connect(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.statemachine import network_attach

    network_attach.connect_container(ctx, args.network, args.container, aliases=args.alias, ip=args.ip)
    return 0


def _disconnect(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.statemachine import network_attach

    network_attach.disconnect_container(ctx, args.network, args.container, force=args.force)
    return 0
