"""datasette hooks of `audit serve`: the timeline page and a menu link to it."""

from __future__ import annotations

from typing import Any

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.utils.asgi import Response
from mydocker.cli.audit_site import timeline
from mydocker.cli.audit_site.metadata import DATABASE, TIMELINE_PATH

DEFAULT_LIMIT = 500  # bars; more makes a page nobody reads at a glance
MAX_LIMIT = 5000  # ~3.5 MB of SVG; 20,000 bars take datasette ~15 s to render


async def timeline_page(datasette: Any, request: Any) -> Response:
    try:
        limit = min(MAX_LIMIT, max(1, int(request.args.get("limit", DEFAULT_LIMIT))))
    except ValueError:
        return Response.text("limit must be a number", status=400)
    db = datasette.get_database(DATABASE)
    try:
        rows = [dict(r) for r in (await db.execute(timeline.SQL, {"limit": limit})).rows]
    except QueryInterrupted:
        return Response.text(f"Drawing {limit} containers took longer than the time limit: ask for fewer "
                             f"({TIMELINE_PATH}?limit=500)", status=503)
    total = (await db.execute(timeline.COUNT_SQL)).single_value()
    layout = timeline.layout(rows, total)
    context = {"layout": layout, "layout_label_width": timeline.LABEL_WIDTH, "database": DATABASE,
               "more": min(total, MAX_LIMIT)}
    return Response.html(await datasette.render_template("timeline.html", context, request=request))


@hookimpl
def register_routes(datasette: Any) -> list[tuple[str, Any]]:
    return [(rf"^{TIMELINE_PATH}$", timeline_page)]


@hookimpl
def menu_links(datasette: Any, actor: Any, request: Any) -> list[dict[str, str]]:
    return [{"href": TIMELINE_PATH, "label": "Timeline of container lifetimes"}]

