"""datasette hooks of `audit serve`: the timeline page and a menu link to it."""

from __future__ import annotations

from typing import Any

from datasette import hookimpl
from datasette.utils.asgi import Response
from mydocker.cli.audit_site import timeline
from mydocker.cli.audit_site.metadata import DATABASE, TIMELINE_PATH

DEFAULT_LIMIT = 500  # bars; more makes a page nobody reads at a glance


async def timeline_page(datasette: Any, request: Any) -> Response:
    try:
        limit = max(1, int(request.args.get("limit", DEFAULT_LIMIT)))
    except ValueError:
        return Response.text("limit must be a number", status=400)
    db = datasette.get_database(DATABASE)
    rows = [dict(r) for r in (await db.execute(timeline.SQL, {"limit": limit})).rows]
    total = (await db.execute(timeline.COUNT_SQL)).single_value()
    layout = timeline.layout(rows, total)
    context = {"layout": layout, "layout_label_width": timeline.LABEL_WIDTH, "database": DATABASE}
    return Response.html(await datasette.render_template("timeline.html", context, request=request))


@hookimpl
def register_routes(datasette: Any) -> list[tuple[str, Any]]:
    return [(rf"^{TIMELINE_PATH}$", timeline_page)]


@hookimpl
def menu_links(datasette: Any, actor: Any, request: Any) -> list[dict[str, str]]:
    return [{"href": TIMELINE_PATH, "label": "Timeline of container lifetimes"}]

