"""Where images came from and went to: the digests their pulls and pushes recorded.

Kept apart from pull.py so `images --digests` and `inspect` do not import the
HTTP stack."""

from __future__ import annotations

import json

from mydocker.core import registry_names
from mydocker.statemachine.context import Context


def repo_digests(ctx: Context) -> dict[str, dict[str, str]]:
    """{image id: {familiar repository: digest}} from the pulls and pushes in the log."""
    out: dict[str, dict[str, str]] = {}
    for sid, payload in ctx.conn.execute(
        "SELECT stream_id, payload FROM events WHERE stream_type = 'image' AND type IN ('pull', 'push') ORDER BY seq"
    ):
        p = json.loads(payload)
        if p.get("repository") and p.get("digest"):
            try:
                repo = registry_names.parse(p["repository"]).familiar_repository
            except registry_names.BadReference:
                continue
            out.setdefault(sid, {})[repo] = p["digest"]
    return out
