"""mydocker system check | prune | reset | restore: the log against the kernel.

check: what is running as the log says, what died unseen or is half done
(reconcile's findings), and host objects of this root that the log does not
know (cgroups, container directories, mounts, links, rules, partial downloads);
--fix removes those leaks and nothing else. prune: docker's `system prune`
(stopped containers, unused networks, dangling or with -a unused images, with
--volumes unused volumes: the four prune commands' own functions), then the
same leak repair: what this root left behind is garbage of this root too. With
--orphans, check and prune look instead at the whole host for objects whose
root tag names only roots that no longer exist. reset: removes this root and
everything it put on the host (podman's `system reset`). restore: at boot,
starts the containers whose restart policy says so (statemachine.restore)."""

from __future__ import annotations

import argparse
import sys

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context

RESET_WARNING = """WARNING! This will remove:
        - all containers
        - all networks
        - all volumes
        - all images
        - the state root {root} and everything of it on this host
"""
ORPHANS_WARNING = """WARNING! This will remove every process, cgroup, veth, iptables rule and bridge
on this host that carries the tag of a mydocker state root that no longer exists.
"""


def parser() -> Parser:
    p = Parser("system", "Compare the log with the kernel, remove unused data, reset the root")
    p.add_argument("action", choices=["check", "prune", "reset", "restore"])
    p.add_argument("--orphans", action="store_true",
                   help="check/prune: what roots that no longer exist left on the host")
    p.add_argument("-f", "--force", action="store_true", help="do not prompt for confirmation")
    p.add_argument("-a", "--all", action="store_true", help="prune: remove all unused images, not just dangling ones")
    p.add_argument("--volumes", action="store_true", help="prune: prune volumes")
    p.add_argument("--fix", action="store_true", help="check: remove the leaks it finds (containers and images stay)")
    p.add_argument("--filter", action="append", default=[], metavar="until=|label=|root=PATH|tag=TAG",
                   help="prune: docker's until=/label=; with --orphans: only what that (deleted) root left")
    p.add_argument("--format", choices=["text", "json"], default="text")
    return p


def reconciles(args: argparse.Namespace) -> bool:
    """--orphans looks at the host, not at this root: opening the root would make
    it, and a deleted default root made anew would make its leftovers look live."""
    return not args.orphans


def frees_space(args: argparse.Namespace) -> bool:
    return (args.action in ("prune", "reset") or args.fix) and not args.orphans


def run(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.cli.errors import report

    if args.orphans and args.action == "reset":
        report("--orphans goes with check or prune, not reset")
        return 1
    if args.filter and not (args.orphans or args.action == "prune"):
        report("--filter goes with prune or --orphans")
        return 1
    if args.fix and (args.action != "check" or args.orphans):
        report("--fix goes with check (what gone roots left: system prune --orphans)")
        return 1
    if (args.all or args.volumes) and (args.action != "prune" or args.orphans):
        report(f"{'--all' if args.all else '--volumes'} goes with prune (without --orphans)")
        return 1
    if args.action == "reset":
        return _reset(args, ctx)
    if args.action == "restore":
        return _restore(ctx)
    if args.orphans:
        return _orphans(args)
    if args.action == "prune":
        return _prune(ctx, args.filter, everything=args.all, volumes=args.volumes, force=args.force)
    return _check(args, ctx)


def _restore(ctx: Context) -> int:
    """At boot: start the containers whose restart policy says so (one id a line)."""
    from mydocker.cli.errors import report
    from mydocker.statemachine.restore import restore

    ctx.command = "system restore"
    started, failed = restore(ctx)
    for cid in started:
        print(cid)
    for cid, why in failed:
        report(f"cannot restore {cid[:12]}: {why}")
    return 1 if failed else 0


def _confirmed(warning: str) -> bool:
    """docker's and podman's prompt: anything but y/yes (or no answer) is no."""
    sys.stdout.write(warning + "Are you sure you want to continue? [y/N] ")
    sys.stdout.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def _reset(args: argparse.Namespace, ctx: Context) -> int:
    from mydocker.statemachine import system

    if not args.force and not _confirmed(RESET_WARNING.format(root=ctx.root)):
        return 0
    removed = system.reset(ctx)
    for kind in ("containers", "networks"):
        for name in removed[kind]:
            print(f"removed {kind[:-1]}: {name}")
    for leak in removed["leaks"]:
        print(f"removed: {leak}")
    print(f"removed state root {ctx.root}")
    return 0


def _tags(filters: list[str]) -> set[str] | None:
    """docker's --filter KEY=VALUE, for the roots whose leftovers to look at."""
    import os

    from mydocker.core import roottags
    from mydocker.statemachine.errors import UserError

    if not filters:
        return None
    tags = set()
    for item in filters:
        key, _, value = item.partition("=")
        if key == "root" and value:
            tags.add(roottags.tag_of(os.path.abspath(value)))
        elif key == "tag" and roottags.is_tag(value):
            tags.add(value)
        else:
            raise UserError(f"invalid filter '{item}': use root=PATH or tag=<6 hex digits>")
    return tags


def _orphans(args: argparse.Namespace) -> int:
    import json

    from mydocker.statemachine import system

    tags = _tags(args.filter)
    if args.action == "prune":
        if not args.force and not _confirmed(ORPHANS_WARNING):
            return 0
        items = system.prune_orphans(tags)
    else:
        items = system.orphans(tags)
    if args.format == "json":
        sys.stdout.write(json.dumps(system.orphan_report(items), indent=2) + "\n")
    else:
        unknown: dict[str, int] = {}
        for o in items:
            if o.status == "gone":
                verb = "removed" if args.action == "prune" else "orphan"
                print(f"{verb}: {o.kind} {o.what} (root tag {o.tag}: {', '.join(o.roots)}, gone)")
            else:
                unknown[o.tag] = unknown.get(o.tag, 0) + 1
        for tag, count in unknown.items():  # --format json lists them one by one
            print(f"left alone: {count} object(s) with root tag {tag}, which no registered root explains")
        if not any(o.status == "gone" for o in items):
            print("nothing left behind by roots that no longer exist")
    found = any(o.status == "gone" for o in items)
    return 1 if (args.action == "check" and found) else 0


def _corrupt(ctx: Context, problems: list[str]) -> int:
    sys.stderr.write(f"Error: the database {ctx.root}/mydocker.db is corrupt (PRAGMA integrity_check):\n")
    sys.stderr.write("".join(f"  {line}\n" for line in problems))
    return 1


def _prune(ctx: Context, filters: list[str], everything: bool, volumes: bool, force: bool) -> int:
    """docker's `system prune`: the four prune commands in docker's order, one
    prompt, their "Deleted ...:" blocks, then this root's leftovers (not with a
    filter: a leftover has no label or creation time to match)."""
    from mydocker.cli.commands import container_prune, image_prune, network_prune, volume_prune
    from mydocker.cli.errors import report
    from mydocker.cli.prune import confirm, matcher, section, warning_list
    from mydocker.cli.sizes import human_size
    from mydocker.statemachine import system
    from mydocker.store.db import integrity_problems

    corrupt = integrity_problems(ctx.root)
    if corrupt:  # a damaged log could name what is still in use: remove nothing
        return _corrupt(ctx, corrupt)
    matcher(filters)  # a bad filter is refused before the prompt
    if volumes and any(f.partition("=")[0] == "until" for f in filters):
        report('The "until" filter is not supported with "--volumes"')  # docker's words
        return 1
    items = ["all stopped containers", "all networks not used by at least one container"]
    if volumes:
        items.append("all volumes not used by at least one container")
    items.append("all images without at least one container associated to them" if everything
                 else "all dangling images")
    if not filters:
        items.append("what this root left on the host: cgroups, mounts, links, rules, partial downloads")
    if not confirm(warning_list(items, filters), force):
        return 0
    containers, reclaimed = container_prune.prune(ctx, filters)
    _say(section("Containers", containers))
    _say(section("Networks", network_prune.prune(ctx, filters)))
    if volumes:
        names, space = volume_prune.prune(ctx, filters)
        _say(section("Volumes", names))
        reclaimed += space
    lines, space = image_prune.prune(ctx, filters, everything)
    _say(section("Images", lines))
    reclaimed += space
    if not filters:
        removed, space = system.remove_leaks(ctx)
        _say(section("Leftovers", removed))
        reclaimed += space
    _say(f"Total reclaimed space: {human_size(reclaimed)}\n")
    return 0


def _say(text: str) -> None:
    """Each block as soon as its removals are done, as docker prints them."""
    sys.stdout.write(text)
    sys.stdout.flush()


def _check(args: argparse.Namespace, ctx: Context) -> int:
    import json

    from mydocker.statemachine import system

    report = system.repair(ctx) if args.fix else system.check(ctx)
    if report.get("corrupt"):
        return _corrupt(ctx, report["corrupt"])
    if args.format == "json":
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        print(f"running: {len(report['running'])} (all with a live process and monitor)"
              if not report["findings"] else f"running: {len(report['running'])}")
        for finding in report["findings"]:
            print(f"inconsistent: {finding}")
        for leak in report["leaks"]:
            print(f"{'removed' if args.fix else 'leaked'}: {leak}")
        if not report["findings"] and not report["leaks"]:
            print("the log and the kernel agree")
    return 1 if (not args.fix and (report["findings"] or report["leaks"])) else 0
