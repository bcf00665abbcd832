"""Pulling from the CLI: `pull`'s output, and `run`/`create`'s --pull policy."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from mydocker.statemachine.context import Context

if TYPE_CHECKING:
    from mydocker.core.registry_names import Reference


def _pull_one(ctx: Context, name: str, platform: str | None, out: TextIO, quiet: bool,
              default_tag_line: bool) -> tuple[Reference, str, bool]:
    """One reference with docker's lines up to `Digest:`; (reference, digest, up to date)."""
    from mydocker.cli.progress import Printer
    from mydocker.core import registry_names
    from mydocker.statemachine import pull_uptodate

    warm = pull_uptodate.check(ctx, name, platform)
    if warm is not None:
        ref = warm.ref
    else:
        from mydocker.statemachine import pull

        ref = pull.parse_reference(name)
    if not quiet and default_tag_line:
        given = registry_names.parse(name, default_tag=False)
        if given.tag is None and given.digest is None:
            out.write(f"Using default tag: {ref.tag}\n")

    def pulling_from() -> None:
        if not quiet:
            out.write(f"{ref.tag or ref.digest}: Pulling from {ref.path}\n")
            out.flush()

    if warm is not None:
        pulling_from()
        digest, up_to_date = warm.digest, True
    else:
        printer = None if quiet else Printer(out, out.isatty())
        result = pull.pull(ctx, name, platform, printer, pulling_from)
        digest, up_to_date = result.digest, result.up_to_date
    if not quiet:
        out.write(f"Digest: {digest}\n")
    return ref, digest, up_to_date


def pull_with_progress(ctx: Context, name: str, platform: str | None, out: TextIO, quiet: bool = False) -> str:
    """docker's pull output on `out` (or nothing but the name, quiet); returns the full reference."""
    ref, _, up_to_date = _pull_one(ctx, name, platform, out, quiet, True)
    if not quiet:
        _status(out, up_to_date, ref.familiar)
    return ref.full


def pull_all_tags(ctx: Context, name: str, platform: str | None, out: TextIO, quiet: bool = False) -> str:
    """`pull -a`: every tag of the repository, one after the other as docker does,
    and one Status line for the repository; returns the repository's full name."""
    from mydocker.statemachine import pull

    ref, tags = pull.list_tags(name)
    if not tags:
        from mydocker.statemachine.errors import UserError

        raise UserError(f"no tags found for {ref.familiar_repository}")
    fresh = [_pull_one(ctx, f"{ref.repository}:{tag}", platform, out, quiet, False)[2] for tag in tags]
    if not quiet:
        _status(out, all(fresh), ref.familiar_repository)
    return ref.repository


def _status(out: TextIO, up_to_date: bool, name: str) -> None:
    state = "Image is up to date for" if up_to_date else "Downloaded newer image for"
    out.write(f"Status: {state} {name}\n")


def ensure_image(ctx: Context, image: str, policy: str, platform: str | None) -> None:
    """--pull missing (docker's default): pull when no local image has the name;
    always: pull every time; never: leave it to create's "No such image".
    Progress goes to stderr (stdout is the container's); a failure exits 125."""
    from mydocker.statemachine import images
    from mydocker.statemachine.errors import UserError

    if policy == "never":
        return
    if policy == "missing":
        if images.find(ctx.conn, image) is not None or images.normalize(image) == images.DEFAULT_IMAGE:
            return
        sys.stderr.write(f"Unable to find image '{images.normalize(image)}' locally\n")
    try:
        pull_with_progress(ctx, image, platform, sys.stderr)
    except UserError as exc:
        from mydocker.cli.errors import CliError

        raise CliError(str(exc), 125) from None  # docker: run's pull failed
