"""What goes wrong between the bot and the simulated Slack: rate limits, injected failures, chaos.

Owns the fake's failure modes, apart from the wire: a per-channel token bucket for
chat.postMessage, a queue of failures a test asks for (`InjectedFailure`), and a chaos mode that
fails a seeded-random fraction of calls. `SlackWebApi` asks it, per call, whether and how to fail.
"""

from __future__ import annotations

import math
import random
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RateLimit:
    """chat.postMessage's per-channel limit, as a token bucket.

    Slack documents "about 1 message per second per channel, short bursts allowed" (and a
    workspace-wide limit on top) without numbers; a burst of 4 refilled at 1 per second is our
    reading of it. Over the limit Slack answers HTTP 429 with `Retry-After` (whole seconds).
    """

    burst: int = 4
    per_second: float = 1.0


DEFAULT_RATE_LIMIT = RateLimit()


@dataclass
class _Bucket:
    tokens: float
    updated: float  # seconds since the epoch, from the injected clock


class RateLimiter:
    """One token bucket per key (a channel id); time comes from the caller, in seconds."""

    def __init__(self, limit: RateLimit) -> None:
        if limit.burst < 1 or limit.per_second <= 0:
            raise ValueError(f"a rate limit needs burst >= 1 and per_second > 0, got {limit}")
        self.limit = limit
        self._buckets: dict[str, _Bucket] = {}

    def retry_after(self, key: str, now: float) -> int | None:
        """Take a token for `key`: None if allowed, else the whole seconds to wait (Retry-After)."""
        bucket = self._buckets.setdefault(key, _Bucket(float(self.limit.burst), now))
        if now > bucket.updated:
            refill = (now - bucket.updated) * self.limit.per_second
            bucket.tokens = min(float(self.limit.burst), bucket.tokens + refill)
            bucket.updated = now
        if bucket.tokens >= 1 - 1e-9:
            bucket.tokens -= 1
            return None
        return max(1, math.ceil((1 - bucket.tokens) / self.limit.per_second - 1e-9))


@dataclass(frozen=True)
class InjectedFailure:
    """One way for a call to fail.

    - `error` / `status`: answer `{"ok": false, "error": ...}` with this HTTP status instead of
      doing the call (status 429 answers `ratelimited` with `Retry-After`, default 1 second).
    - `delay`: hold the answer this many real seconds first (a client timeout shorter than this
      sees a timeout). With no error, status or drop_response the call is only slow: it is done,
      and answered normally, after the delay.
    - `drop_response`: do the call (the message is posted), then answer HTTP `status` if it is
      5xx, else 500, after `delay`: the client believes it failed though the call took effect.
    - `match`: only calls whose (decoded) parameters it accepts fail; others pass, and a queued
      failure stays queued for the next call that matches.
    """

    error: str | None = None
    status: int = 200
    retry_after: int | None = None
    delay: float = 0
    match: Callable[[dict[str, Any]], bool] | None = None
    drop_response: bool = False

    @property
    def answers_instead(self) -> bool:
        """Whether the call is refused (not performed) and answered with this failure."""
        return not self.drop_response and (self.error is not None or self.status != 200)

    def accepts(self, params: dict[str, Any]) -> bool:
        return self.match is None or bool(self.match(params))

    def body_and_headers(self) -> tuple[int, dict[str, Any], dict[str, str]]:
        """The HTTP status, JSON body and headers of this failure's answer."""
        if self.drop_response:
            status = self.status if self.status >= 500 else 500
            return status, {"ok": False, "error": self.error or "internal_error"}, {}
        if self.status == 429:
            headers = {"Retry-After": str(self.retry_after if self.retry_after is not None else 1)}
            return 429, {"ok": False, "error": self.error or "ratelimited"}, headers
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        default = "internal_error" if self.status >= 500 else "fatal_error"
        return self.status, {"ok": False, "error": self.error or default}, headers


# What chaos mode picks from unless told otherwise: a rate limit and the two server errors.
DEFAULT_CHAOS_FAILURES: tuple[InjectedFailure, ...] = (
    InjectedFailure(status=429, retry_after=1),
    InjectedFailure(status=500, error="internal_error"),
    InjectedFailure(status=503, error="service_unavailable"),
)


@dataclass
class _Chaos:
    rate: float
    rng: random.Random
    methods: frozenset[str] | None
    failures: tuple[InjectedFailure, ...]


@dataclass
class FailurePlan:
    """Failures queued per method, and chaos; counts what chaos did per method."""

    queued: dict[str, deque[InjectedFailure]] = field(default_factory=dict)
    chaos_failures: Counter[str] = field(default_factory=Counter)
    _chaos: _Chaos | None = None

    def queue(self, method: str, failures: Iterable[InjectedFailure]) -> None:
        self.queued.setdefault(method, deque()).extend(failures)

    def start_chaos(self, rate: float, rng: random.Random, methods: Iterable[str] | None,
                    failures: Sequence[InjectedFailure]) -> None:
        if not 0 <= rate <= 1:
            raise ValueError(f"chaos rate must be between 0 and 1, got {rate}")
        if not failures:
            raise ValueError("chaos needs at least one failure to choose from")
        chosen = frozenset(methods) if methods is not None else None
        self._chaos = _Chaos(rate, rng, chosen, tuple(failures))

    def stop_chaos(self) -> None:
        self._chaos = None

    def next_for(self, method: str, params: dict[str, Any]) -> InjectedFailure | None:
        """The failure this call meets: the first queued one that matches it, else maybe chaos."""
        queue = self.queued.get(method)
        if queue:
            for failure in queue:
                if failure.accepts(params):
                    queue.remove(failure)
                    return failure
        chaos = self._chaos
        if chaos is None or (chaos.methods is not None and method not in chaos.methods):
            return None
        if chaos.rng.random() >= chaos.rate:
            return None
        failure = chaos.rng.choice(chaos.failures)
        if not failure.accepts(params):
            return None
        self.chaos_failures[method] += 1
        return failure
