"""Pulling from the CLI: `pull`'s output, and `run`/`create`'s --pull policy."""

from __future__ import annotations

import sys
from typing import TextIO

from mydocker.statemachine.context import Context


def pull_with_progress(ctx: Context, name: str, platform: str | None, out: TextIO, quiet: bool = False) -> str:
    """docker's pull output on `out` (or nothing but the name, quiet); returns the full reference."""
    from mydocker.cli.progress import Printer
    from mydocker.core import registry_names
    from mydocker.statemachine import pull

    ref = pull.parse_reference(name)
    if not quiet:
        given = registry_names.parse(name, default_tag=False)
        if given.tag is None and given.digest is None:
            out.write(f"Using default tag: {ref.tag}\n")

    def pulling_from() -> None:
        if not quiet:
            out.write(f"{ref.tag or ref.digest}: Pulling from {ref.path}\n")
            out.flush()

    printer = None if quiet else Printer(out, out.isatty())
    result = pull.pull(ctx, name, platform, printer, pulling_from)
    if not quiet:
        state = "Image is up to date for" if result.up_to_date else "Downloaded newer image for"
        out.write(f"Digest: {result.digest}\nStatus: {state} {ref.familiar}\n")
    return ref.full


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
