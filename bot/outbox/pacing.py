"""Pacing posts per channel within Slack's limit, on the injected clock.

Slack documents about one `chat.postMessage` per second per channel, short bursts allowed, with
no number for the burst. Switchman stays under that on its own (a small burst, then one a
second) and, when Slack still answers 429, holds the whole channel for `Retry-After`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.clock import Clock


@dataclass
class _Bucket:
    tokens: float
    at: datetime
    held_until: datetime | None = None


@dataclass
class Pacer:
    clock: Clock
    burst: int = 3
    per_second: float = 1.0
    # Off on simulated time: a pacing wait there moves the shared clock by an amount that depends on
    # how tasks interleave, which would make demos and tests differ run to run. 429s are still honoured.
    ahead_of_slack: bool = True
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def _bucket(self, channel: str) -> _Bucket:
        now = self.clock.now()
        bucket = self._buckets.get(channel)
        if bucket is None:
            bucket = self._buckets[channel] = _Bucket(float(self.burst), now)
        elapsed = max((now - bucket.at).total_seconds(), 0.0)
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.per_second)
        bucket.at = now
        return bucket

    def wait(self, channel: str) -> float:
        """Seconds to wait before the next post to `channel` (0 when it may go now)."""
        bucket = self._bucket(channel)
        now = self.clock.now()
        if bucket.held_until is not None and bucket.held_until > now:
            return (bucket.held_until - now).total_seconds()
        if not self.ahead_of_slack or bucket.tokens >= 1.0:
            return 0.0
        return (1.0 - bucket.tokens) / self.per_second

    def take(self, channel: str) -> None:
        bucket = self._bucket(channel)
        bucket.tokens = max(bucket.tokens - 1.0, 0.0)

    def hold(self, channel: str, seconds: float) -> None:
        """Slack said 429: nothing more to this channel for `seconds`, and no burst right after."""
        bucket = self._bucket(channel)
        bucket.held_until = self.clock.now() + timedelta(seconds=seconds)
        bucket.tokens = 0.0
