"""/containers/{id}/exec and /exec/{id}/...: docker's exec instances."""

from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
