"""Serving a fake's one catch-all aiohttp handler on a free port of 127.0.0.1 (the only address tests reach)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Recorded:
    """One request a fake received, as the tests inspect it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    operation_id: str | None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LoopbackSite:
    """Every method and path goes to `handler`; `start` returns the base URL, `stop` closes it (idempotent)."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
