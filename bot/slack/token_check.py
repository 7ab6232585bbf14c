"""Is the bot token good, and does Slack answer? `auth.test` at start-up and behind `/readyz` (§10).

Start-up (also the app-level token in Socket Mode, with `apps.connections.open`): a token Slack
refuses (`invalid_auth`, `token_revoked`…) is a configuration error and stops the process at
once; a Slack that does not answer (connection refused, timeout, 5xx, 429) is retried
with backoff for a bounded time, then start-up fails too, so a supervisor restarts it later.
Readiness: the answer is cached for a few seconds, so probes every second do not hammer `auth.test`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import SwitchmanError

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

# Slack's answers that mean "this token will not work", as opposed to "try again later".
REFUSED_TOKEN_ERRORS = frozenset({
    "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission",
    "org_login_required", "ekm_access_denied", "not_allowed_token_type", "team_access_not_granted",
})
READY_CACHE_SECONDS = 5.0
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 10.0


class SlackState(StrEnum):
    OK = "ok"
    UNREACHABLE = "unreachable"
    REFUSED = "token refused"


@dataclass(frozen=True)
class SlackCheck:
    state: SlackState
    detail: str  # Slack's error code or the kind of network failure; never the token


class TokenRefused(SwitchmanError):
    """Slack says the bot token is not valid: fix the token, retrying will not help."""


class SlackUnreachable(SwitchmanError):
    """Slack did not answer `auth.test` within the start-up budget."""


@dataclass(frozen=True)
class TokenKind:
    variable: str
    method: str  # a call that needs nothing but the token
    hint: str


BOT_TOKEN = TokenKind("SLACK_BOT_TOKEN", "auth.test", "check that it is the app's current Bot User OAuth Token "
                      "(xoxb-…) and that the app is installed in the workspace")
# Socket Mode: the call Bolt makes to open its connection; the URL it returns is left unused.
APP_TOKEN = TokenKind("SLACK_APP_TOKEN", "apps.connections.open", "check that it is an app-level token (xapp-…) "
                      "with the connections:write scope, and that Socket Mode is enabled for the app")


async def check_token(client: AsyncWebClient, *, answer_within: float = 5.0, method: str = BOT_TOKEN.method
                      ) -> SlackCheck:
    """One call: OK, refused (with Slack's error code) or unreachable (with what went wrong)."""
    try:
        await asyncio.wait_for(client.api_call(method), answer_within)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "")
        if exc.response.status_code < 400 and error in REFUSED_TOKEN_ERRORS:
            return SlackCheck(SlackState.REFUSED, error)
        return SlackCheck(SlackState.UNREACHABLE, error or f"HTTP {exc.response.status_code}")
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return SlackCheck(SlackState.UNREACHABLE, type(exc).__name__)
    return SlackCheck(SlackState.OK, "ok")


async def require_token(client: AsyncWebClient, *, wait_up_to: float, sleep: Sleep = asyncio.sleep,
                        kind: TokenKind = BOT_TOKEN) -> None:
    """Return once Slack accepts the token; raise TokenRefused or, after `wait_up_to` s, SlackUnreachable."""
    waited, backoff = 0.0, FIRST_BACKOFF_SECONDS
    while True:
        check = await check_token(client, method=kind.method)
        if check.state is SlackState.OK:
            return
        if check.state is SlackState.REFUSED:
            raise TokenRefused(f"Slack refused {kind.variable} ({check.detail}): {kind.hint}")
        if waited >= wait_up_to:
            raise SlackUnreachable(f"Slack did not answer {kind.method} for {waited:.0f}s ({check.detail}); check "
                                   "the network path to Slack (or SWITCHMAN_SLACK_API_URL) and start again")
        pause = min(backoff, MAX_BACKOFF_SECONDS, max(wait_up_to - waited, 0.0))
        log.warning("Slack does not answer yet; retrying", extra={"method": kind.method, "error": check.detail,
                                                                  "retry_in": pause})
        await sleep(pause)
        waited += pause
        backoff *= 2


class SlackProbe:
    """`auth.test` for `/readyz`, at most once per `ttl` seconds; concurrent probes share one call."""

    def __init__(self, client: AsyncWebClient, *, ttl: float = READY_CACHE_SECONDS,
                 now: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._ttl = ttl
        self._now = now
        self._last: tuple[float, SlackCheck] | None = None
        self._lock = asyncio.Lock()

    async def check(self) -> SlackCheck:
        async with self._lock:
            if self._last is not None and self._now() - self._last[0] < self._ttl:
                return self._last[1]
            result = await check_token(self._client)
            if result.state is not SlackState.OK:
                log.warning("not ready: Slack check failed", extra={"slack": result.state.value,
                                                                    "error": result.detail})
            self._last = (self._now(), result)
            return result
