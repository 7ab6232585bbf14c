"""The one HTTP mechanism every provider shares: timeouts, retries, backoff and thread-ready errors (§7).

`ProviderHttp` wraps an injected `httpx.AsyncClient` (shared by all providers; the base URL and
auth headers live here, not on the client). Each request has its own timeout. Transport errors
(connect errors, timeouts, dropped connections), 5xx and 429 are retried with exponential
backoff and jitter; a server that says how long to wait (`Retry-After` in seconds or as an HTTP
date, or GitHub's `x-ratelimit-reset` with `x-ratelimit-remaining: 0`) is believed, up to
`max_wait`. Requests that are not safe to repeat (a POST that starts a pipeline) are retried only
when the server surely did not act: the connection never opened, or it answered 429.

Credentials that expire (a GitHub App's installation tokens) come from an optional `Credentials`
source asked before every request instead of the fixed headers; a 401 tells it the value was
refused and, when it says a retry may help, the request is sent once more with the new value.

Whatever goes wrong ends as a `ProviderError` whose message names the system, what Switchman was
trying to do and what happened — fit to post in a release thread. Tokens never appear in those
messages or in the retry log lines; only the method, URL path and outcome are logged.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from bot.clock import Clock, SystemClock
from bot.errors import ProviderError
from bot.structured_log import scrubber

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class Credentials(Protocol):
    """The Authorization value of each request, for credentials that are renewed while Switchman runs."""

    async def authorization(self) -> str:
        """The header value to send now (e.g. `Bearer <token>`); may fetch or renew it first."""
        ...

    async def rejected(self, authorization: str) -> bool:
        """The server answered 401 to `authorization`: renew it; True when sending again may succeed."""
        ...


class ProviderHttp:
    """Requests to one provider's API: absolute URLs from `base_url`, fixed headers, bounded retries."""

    def __init__(self, client: httpx.AsyncClient, *, system: str, base_url: str, headers: Mapping[str, str],
                 timeout: float = 10.0, retries: int = 3, sleep: Sleep = asyncio.sleep,
                 clock: Clock | None = None, backoff: float = 0.5, max_backoff: float = 30.0,
                 max_wait: float = 120.0, jitter: Callable[[], float] = random.random,
                 credentials: Credentials | None = None) -> None:
        self.client = client
        self.credentials = credentials
        self.system = system
        self.base_url = base_url.rstrip("/")
        self._headers = dict(headers)
        # Whatever credential the headers carry must never reach a log line or a thread message.
        scrubber.register([v.split(" ", 1)[-1] for k, v in headers.items() if k.lower() == "authorization"])
        self.timeout = timeout
        self.retries = retries
        self._sleep = sleep
        self._clock = clock or SystemClock()
        self._backoff = backoff
        self._max_backoff = max_backoff
        self.max_wait = max_wait
        self._jitter = jitter

    @property
    def attempts(self) -> int:
        return self.retries + 1

    async def request(self, method: str, path: str, *, operation: str, params: Mapping[str, Any] | None = None,
                      json: Any = None, data: Mapping[str, str] | None = None,
                      headers: Mapping[str, str] | None = None, allow: Collection[int] = (),
                      idempotent: bool | None = None) -> httpx.Response:
        """Send `method path` and return a 2xx answer, or one whose status is in `allow`.

        `operation` is a verb phrase for messages ("start workflow deploy.yml on acme/api").
        `idempotent` defaults to the HTTP method's nature; pass True for a POST that is safe to repeat.
        `data` is sent as a form body (Jenkins' buildWithParameters); `headers` add to the fixed ones for
        this request only (Jenkins' CSRF crumb and its session cookie). Redirects are never followed:
        a caller that expects one lists its status in `allow` and reads `Location` itself.
        """
        method = method.upper()
        repeatable = method in SAFE_METHODS if idempotent is None else idempotent
        url = self.base_url + path
        renewed = False
        attempt = 0
        while attempt < self.attempts:
            attempt += 1
            last = attempt == self.attempts
            sent_headers = {**self._headers, **(headers or {})}
            if self.credentials is not None:
                sent_headers["Authorization"] = await self.credentials.authorization()
            try:
                response = await self.client.request(method, url, params=params, json=json, data=data,
                                                     headers=sent_headers, timeout=self.timeout,
                                                     follow_redirects=False)
            except httpx.TransportError as exc:
                what = describe_transport_error(exc, self.timeout)
                may_repeat = repeatable or _never_sent(exc)
                if last or not may_repeat:
                    raise self._unreachable(operation, attempt, what, maybe_acted=not may_repeat) from None
                await self._pause(attempt, operation, method, path, what, self._backoff_delay(attempt))
                continue
            if response.is_success or response.status_code in allow:
                return response
            if response.status_code == 401 and self.credentials is not None and not renewed:
                # A refused credential is not a try at the operation, and the server did not act on it.
                renewed = True
                if await self.credentials.rejected(sent_headers["Authorization"]):
                    attempt -= 1
                    continue
            if not _retryable(response):
                raise self.refused(operation, response)
            may_repeat = repeatable or _rate_limited(response)
            if last or not may_repeat:
                raise self._failed(operation, response, attempt, maybe_acted=not may_repeat)
            wait = self._server_wait(response)
            if wait is not None and wait > self.max_wait:
                raise self._failed(operation, response, attempt, wait=wait)
            delay = wait if wait is not None else self._backoff_delay(attempt)
            await self._pause(attempt, operation, method, path, _status_text(response), delay)
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises

    def json_of(self, response: httpx.Response, operation: str) -> Any:
        """The decoded JSON body, or a ProviderError saying the answer could not be read."""
        try:
            return response.json()
        except ValueError:
            raise ProviderError(f"{self.system} gave an answer Switchman cannot read to {operation}: "
                                f"{_status_text(response)} without a JSON body") from None

    # --- waiting ----------------------------------------------------------------------------------
    def _backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with 'equal jitter': half fixed, half random, capped."""
        ceiling = min(self._max_backoff, self._backoff * 2 ** (attempt - 1))
        return ceiling / 2 + ceiling / 2 * self._jitter()

    def _server_wait(self, response: httpx.Response) -> float | None:
        """Seconds the server asked us to wait, if it said so."""
        now = self._clock.now()
        retry_after = response.headers.get("retry-after")
        if retry_after is not None:
            return parse_retry_after(retry_after, now)
        if response.headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in response.headers:
            try:
                reset = float(response.headers["x-ratelimit-reset"])
            except ValueError:
                return None
            return max(0.0, reset - now.timestamp()) + 1.0  # the reset second itself may still be limited
        return None

    async def _pause(self, attempt: int, operation: str, method: str, path: str, what: str, delay: float) -> None:
        log.warning("provider request retried", extra={
            "provider": self.system, "operation": operation, "method": method, "path": path,
            "attempt": attempt, "max_attempts": self.attempts, "outcome": what, "delay_s": round(delay, 3)})
        await self._sleep(delay)

    # --- errors -----------------------------------------------------------------------------------
    def _tries(self, attempt: int) -> str:
        return "1 try" if attempt == 1 else f"{attempt} tries"

    def _unreachable(self, operation: str, attempt: int, what: str, *, maybe_acted: bool) -> ProviderError:
        message = f"{self.system} could not be reached at {self.base_url} after {self._tries(attempt)} " \
                  f"to {operation}: {what}"
        if maybe_acted:
            message += f"; it may have acted on the request, check {self.system} before trying again"
        return ProviderError(scrubber.scrub(message))

    def refused(self, operation: str, response: httpx.Response) -> ProviderError:
        """The error for an answer the caller cannot accept (also used for statuses it let through)."""
        message = f"{self.system} refused to {operation}: {_status_text(response)}{_detail(response)}"
        if response.status_code == 401:
            message += " (check the provider token)"
        return ProviderError(scrubber.scrub(message))

    def _failed(self, operation: str, response: httpx.Response, attempt: int, *, wait: float | None = None,
                maybe_acted: bool = False) -> ProviderError:
        message = f"{self.system} failed to {operation} after {self._tries(attempt)}: " \
                  f"{_status_text(response)}{_detail(response)}"
        if wait is not None:
            until = datetime.fromtimestamp(self._clock.now().timestamp() + wait, UTC)
            message = f"{self.system} is rate limiting Switchman and cannot {operation} until " \
                      f"{until:%H:%M} UTC ({_status_text(response)})"
        elif maybe_acted:
            message += f"; it may have acted on the request, check {self.system} before trying again"
        return ProviderError(scrubber.scrub(message))


def _retryable(response: httpx.Response) -> bool:
    return response.status_code in RETRY_STATUSES or _rate_limited(response)


def _rate_limited(response: httpx.Response) -> bool:
    """429, or GitHub's answer to an exhausted primary rate limit: 403 with no requests remaining."""
    if response.status_code == 429:
        return True
    return response.status_code == 403 and response.headers.get("x-ratelimit-remaining") == "0"


def _never_sent(exc: httpx.TransportError) -> bool:
    """The request cannot have reached the server: the connection was never established."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def parse_retry_after(value: str, now: datetime) -> float | None:
    """`Retry-After` as seconds from `now`: either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def describe_transport_error(exc: httpx.TransportError, timeout: float) -> str:
    """A few words for a thread: 'connection refused', 'no answer within 10s', ..."""
    text = str(exc).lower()
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout:g}s"
    if "refused" in text or "all connection attempts failed" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "host name not found"
    if "certificate" in text or "ssl" in text:
        return "TLS handshake failed"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return "the connection was dropped"
    return type(exc).__name__


def _status_text(response: httpx.Response) -> str:
    return f"{response.status_code} {response.reason_phrase}".strip()


def _detail(response: httpx.Response) -> str:
    """The server's own short explanation, when it gave one as JSON `message`.

    Scrubbed before it is cut short, so a token the server echoed is not cut into an unrecognisable piece.
    """
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return f" — {scrubber.scrub(str(message))[:200]}" if message else ""
