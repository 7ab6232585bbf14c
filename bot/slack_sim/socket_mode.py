"""Slack's side of Socket Mode: `apps.connections.open` hands out a WebSocket URL, and Slack sends
envelopes over it (`slash_commands`, `interactive`, `events_api`) that the app answers with
`{"envelope_id", "payload"}`. Attached to the simulated Web API's aiohttp application.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web


class SocketModeEndpoint:
    def __init__(self, app_token: str) -> None:
        self.app_token = app_token
        self.connected = asyncio.Event()
        self._sockets: list[web.WebSocketResponse] = []
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tickets: set[str] = set()
        self._ids = itertools.count(1)
        self.root_url = ""

    def attach(self, app: web.Application) -> None:
        app.router.add_get("/link", self._link)

    def open_connection(self, token: str | None) -> dict[str, Any]:
        """The body of apps.connections.open: a one-time WebSocket URL."""
        if token != self.app_token:
            return {"ok": False, "error": "invalid_auth"}
        ticket = secrets.token_hex(8)
        self._tickets.add(ticket)
        return {"ok": True, "url": self.root_url.replace("http://", "ws://") + f"link?ticket={ticket}"}

    async def _link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": len(self._sockets) + 1,
                            "debug_info": {"host": "sim", "approximate_connection_time": 3600},
                            "connection_info": {"app_id": "A0SWITCH"}})
        self._sockets.append(ws)
        self.connected.set()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    reply = json.loads(message.data)
                    future = self._pending.pop(reply.get("envelope_id", ""), None)
                    if future is not None and not future.done():
                        future.set_result(reply.get("payload") or {})
        finally:
            self._sockets.remove(ws)
            if not self._sockets:
                self.connected.clear()
        return ws

    async def send(self, envelope_type: str, payload: dict[str, Any], *, within: float = 10) -> dict[str, Any]:
        """Send one envelope to a connected app and wait for its acknowledgement payload."""
        if not self._sockets:
            raise ConnectionError("no app is connected over Socket Mode")
        envelope_id = f"env-{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[envelope_id] = future
        await self._sockets[-1].send_json({"envelope_id": envelope_id, "type": envelope_type, "payload": payload,
                                           "accepts_response_payload": envelope_type != "events_api",
                                           "retry_attempt": 0, "retry_reason": ""})
        async with asyncio.timeout(within):
            return await future

    async def send_form(self, envelope_type: str, form_body: str) -> dict[str, Any]:
        """An HTTP-style form body (slash command) sent as the dict Socket Mode carries."""
        return await self.send(envelope_type, dict(parse_qsl(form_body)))

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
