"""`GET /files/…`: the signed, expiring links to exported files (`bot.coordinators.links`).

A bad signature, an expired link and a purged file all get the same 404, so an answer never
tells which of the three it was. The file goes out as an attachment under its stored name.
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from bot.clock import Clock
from bot.coordinators import links
from bot.coordinators.filestore import FileStore


def file_routes(key: bytes, store: FileStore, clock: Clock) -> list[web.RouteDef]:
    """The route serving signed file links."""

    async def serve(request: web.Request) -> web.StreamResponse:
        info = request.match_info
        file = links.resolve(
            key,
            store,
            info["file_id"],
            info["expires"],
            info["signature"],
            now=clock.now(),
        )
        if file is None:
            raise web.HTTPNotFound(text="not found")
        return web.FileResponse(
            file.path,
            headers={
                "Content-Type": file.media_type,
                "Content-Disposition": _attachment(file.filename),
                "Cache-Control": "private, no-store",
            },
        )

    return [web.get(links.ROUTE, serve)]


def _attachment(filename: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(filename)}"
