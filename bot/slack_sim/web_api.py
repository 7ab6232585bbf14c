"""The simulated Slack Web API: `POST /api/<method>` and the `response_url` endpoint, on loopback.

Every call is handed to an optional contract checker first (the tests plug in one built from
../shared/contracts/slack); a call it rejects is answered `invalid_arguments`, as Slack would,
and recorded in `violations` so the test that caused it fails. Then come the failure modes of
:mod:`bot.slack_sim.failures`: failures a test queued or chaos picked, and chat.postMessage's
per-channel rate limit (HTTP 429 with `Retry-After`, on the injected clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import secrets
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import parse_qsl

from aiohttp import web

from bot.slack_sim.failures import (
    DEFAULT_CHAOS_FAILURES,
    DEFAULT_RATE_LIMIT,
    FailurePlan,
    InjectedFailure,
    RateLimit,
    RateLimiter,
)
from bot.slack_sim.methods import WebApiMethods
from bot.slack_sim.socket_mode import SocketModeEndpoint
from bot.slack_sim.workspace import BOT_USER_ID, Workspace

__all__ = ["DEFAULT_RATE_LIMIT", "ApiCall", "ContractChecker", "InjectedFailure", "RateLimit", "ResponseTarget",
           "SlackWebApi"]

log = logging.getLogger(__name__)
RATE_LIMITED_METHODS = frozenset({"chat.postMessage"})


class ContractChecker(Protocol):
    def check_request(self, method: str, params: dict[str, Any], *, token: str | None) -> list[str]: ...
    def check_response(self, method: str, body: dict[str, Any]) -> list[str]: ...
    def check_message_payload(self, payload: dict[str, Any]) -> list[str]: ...


@dataclass(frozen=True)
class ApiCall:
    method: str
    params: dict[str, Any]


@dataclass
class ResponseTarget:
    """Where a response_url posts land: the channel and user of the interaction that made it."""

    channel: str
    user: str
    message_ts: str | None = None
    thread_ts: str | None = None


class SlackWebApi:
    def __init__(self, workspace: Workspace, *, token: str, checker: ContractChecker | None = None,
                 clock: Callable[[], datetime] | None = None, app_token: str | None = None,
                 rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT) -> None:
        self.workspace = workspace
        self.token = token
        self.checker = checker
        self.calls: list[ApiCall] = []
        self.violations: list[str] = []
        self.plan = FailurePlan()
        self.failures: dict[str, deque[InjectedFailure]] = self.plan.queued
        self.chaos_failures: Counter[str] = self.plan.chaos_failures  # per method
        self.rate_limited: Counter[str] = Counter()  # 429s from the rate limit, per channel id
        self.response_targets: dict[str, ResponseTarget] = {}
        self.trigger_users: dict[str, str] = {}
        self.base_url = ""
        self._clock = clock
        if clock is not None:
            workspace.clock = clock  # message ts follow the time this API answers in
        self._limiter = RateLimiter(rate_limit) if rate_limit is not None else None
        self._closing = asyncio.Event()
        self.socket_mode = SocketModeEndpoint(app_token) if app_token else None
        self._runner: web.AppRunner | None = None
        self._handlers = WebApiMethods(workspace, now=self._now, triggers=self.trigger_users).handlers()

    # --- lifecycle ------------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)
        if self.socket_mode is not None:
            self.socket_mode.attach(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.root_url = f"http://{host}:{bound}/"
        self.base_url = f"{self.root_url}api/"
        self.workspace.files.upload_url = lambda file_id: f"{self.root_url}upload/{file_id}"
        if self.socket_mode is not None:
            self.socket_mode.root_url = self.root_url
        return self.base_url

    async def stop(self) -> None:
        self._closing.set()  # answers still held back by a delay go out now
        if self.socket_mode is not None:
            await self.socket_mode.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- failure modes --------------------------------------------------------------------------
    def inject_failure(self, method: str, failure: InjectedFailure) -> None:
        """The next call of `method` (that `failure.match` accepts) fails this way."""
        self.plan.queue(method, [failure])

    def fail(self, method: str, *, error: str | None = None, status: int = 200, retry_after: int | None = None,
             times: int = 1, delay: float = 0, match: Callable[[dict[str, Any]], bool] | None = None,
             drop_response: bool = False) -> InjectedFailure:
        """Queue `times` identical failures for `method`; see InjectedFailure for what each field does."""
        failure = InjectedFailure(error=error, status=status, retry_after=retry_after, delay=delay, match=match,
                                  drop_response=drop_response)
        self.plan.queue(method, [failure] * times)
        return failure

    def chaos(self, rate: float, rng: random.Random, methods: Iterable[str] | None = None,
              failures: Sequence[InjectedFailure] = DEFAULT_CHAOS_FAILURES) -> None:
        """Fail a `rate` fraction of calls (of `methods`, or all) at random with one of `failures`.

        The seeded `rng` makes a run repeatable; what chaos did is counted in `chaos_failures`.
        Queued failures come first. `calm()` ends it.
        """
        self.plan.start_chaos(rate, rng, methods, failures)

    def calm(self) -> None:
        self.plan.stop_chaos()

    def new_response_url(self, target: ResponseTarget) -> str:
        key = secrets.token_urlsafe(12)
        self.response_targets[key] = target
        return f"{self.root_url}response/{key}"

    def calls_of(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    # --- the wire -------------------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = dict(parse_qsl(request.query_string))
        if request.body_exists:
            raw = await request.text()
            if request.content_type == "application/json":
                params.update(json.loads(raw or "{}"))
            else:
                params.update(parse_qsl(raw))
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else params.pop("token", None)
        self.calls.append(ApiCall(method, params))
        if self.checker is not None:
            problems = self.checker.check_request(method, params, token=token)
            if problems:
                self.violations.extend(f"{method}: {p}" for p in problems)
                return web.json_response({"ok": False, "error": "invalid_arguments",
                                          "response_metadata": {"messages": problems}})
        decoded = _decode_json_fields(params)
        failure = self.plan.next_for(method, decoded)
        if failure is not None and failure.answers_instead:
            await self._hold(failure.delay)
            return _failure_response(failure)
        if failure is not None and not failure.drop_response:
            await self._hold(failure.delay)  # only slow: done and answered after the delay
        response = self._perform(method, decoded, token)
        if failure is not None and failure.drop_response:
            await self._hold(failure.delay)
            return _failure_response(failure)
        return response

    def _perform(self, method: str, params: dict[str, Any], token: str | None) -> web.Response:
        if method == "apps.connections.open" and self.socket_mode is not None:
            return web.json_response(self.socket_mode.open_connection(token))
        if token != self.token:
            return web.json_response({"ok": False, "error": "invalid_auth" if token else "not_authed"})
        handler = self._handlers.get(method)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        limited = self._rate_limit(method, params)
        if limited is not None:
            return limited
        body = handler(params)
        if self.checker is not None:
            problems = self.checker.check_response(method, body)
            if problems:
                self.violations.extend(f"{method} (fake's own response): {p}" for p in problems)
        return web.json_response(body)

    def _rate_limit(self, method: str, params: dict[str, Any]) -> web.Response | None:
        if self._limiter is None or method not in RATE_LIMITED_METHODS:
            return None
        ref = str(params.get("channel") or "")
        key = self._channel(ref) or ref
        wait = self._limiter.retry_after(key, self._now().timestamp())
        if wait is None:
            return None
        self.rate_limited[key] += 1
        return web.json_response({"ok": False, "error": "ratelimited"}, status=429,
                                 headers={"Retry-After": str(wait)})

    async def _hold(self, seconds: float) -> None:
        """Hold an answer back for `seconds` of real time (a client timeout is what is exercised)."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    def _now(self) -> datetime:
        return self._clock() if self._clock else datetime.now(UTC)

    async def _upload(self, request: web.Request) -> web.Response:
        """Step 2 of the files v2 upload: the bytes, POSTed without a token to the URL step 1 gave.

        Failures a test queues for the method name `upload` answer their HTTP status (500 unless set).
        """
        data = await request.read()
        self.calls.append(ApiCall("upload", {"file_id": request.match_info["file_id"], "bytes": len(data)}))
        if "Authorization" in request.headers:  # the URL is the credential: a token sent here leaks it
            self.violations.append("upload: a token was sent to the upload URL (slack_sdk sends none)")
        failure = self.plan.next_for("upload", {})
        if failure is not None:
            await self._hold(failure.delay)
            return web.Response(status=failure.status if failure.status >= 400 else 500, text="upload failed")
        status, text = self.workspace.files.receive(request.match_info["file_id"], data)
        return web.Response(status=status, text=text)

    async def _response_url(self, request: web.Request) -> web.Response:
        target = self.response_targets.get(request.match_info["key"])
        if target is None:
            return web.Response(status=404, text="no_such_response_url")
        payload = await request.json()
        if self.checker is not None:
            problems = self.checker.check_message_payload(payload)
            if problems:
                self.violations.extend(f"response_url: {p}" for p in problems)
                return web.Response(status=400, text="invalid_blocks")
        if self.workspace.files.image_problems(payload.get("blocks")):
            return web.Response(status=400, text="invalid_blocks")
        self.record_reply(target, payload)
        return web.Response(text="ok")

    def record_reply(self, target: ResponseTarget, payload: dict[str, Any]) -> None:
        """Show a slash-command ack body or a response_url post as Slack would."""
        text, blocks = payload.get("text", ""), payload.get("blocks") or []
        if payload.get("delete_original") and target.message_ts:
            self.workspace.update(target.channel, target.message_ts, "(deleted)", [])
        elif payload.get("replace_original") and target.message_ts:
            self.workspace.update(target.channel, target.message_ts, text, blocks)
        elif payload.get("response_type") == "in_channel":
            self.workspace.post(target.channel, text, blocks, BOT_USER_ID, target.thread_ts)
        elif text or blocks:
            self.workspace.ephemeral(target.channel, target.user, text, blocks, target.thread_ts)

    # --- helpers ------------------------------------------------------------------------------
    def workspace_trigger_user(self, trigger_id: Any) -> str | None:
        return self.trigger_users.get(str(trigger_id))

    def register_trigger(self, trigger_id: str, user: str) -> None:
        """Slack hands a trigger_id with each interaction; views.open must name one it issued."""
        self.trigger_users[trigger_id] = user

    def _channel(self, ref: Any) -> str | None:
        channel = self.workspace.resolve_channel(str(ref or ""))
        return channel.id if channel else None


def _decode_json_fields(params: dict[str, Any]) -> dict[str, Any]:
    out = dict(params)
    for key in ("blocks", "view", "attachments", "metadata"):
        if isinstance(out.get(key), str):
            with contextlib.suppress(json.JSONDecodeError):
                out[key] = json.loads(out[key])
    return out


def _failure_response(failure: InjectedFailure) -> web.Response:
    status, body, headers = failure.body_and_headers()
    return web.json_response(body, status=status, headers=headers)
