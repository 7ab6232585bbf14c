"""The port the outbox sends through: the few Slack Web API calls it needs, and how they fail.

`bot/slack/outbox_wire.py` implements it over slack_sdk; the outbox itself never imports Slack.
Failures are sorted into three kinds, because each calls for a different reaction:

    WireError
    ├── RateLimited   — 429: wait `retry_after` seconds, then send again (nothing was posted)
    ├── Unavailable   — 5xx, timeout, connection lost: retry with backoff; `maybe_delivered` when
    │                   the request may have reached Slack (look for the message before resending)
    └── Refused       — Slack said no for good (`not_in_channel`, `channel_not_found`, `is_archived`,
                        `invalid_auth`, ...): never retried as is
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

OUTBOX_EVENT = "switchman_outbox"  # message metadata event_type that marks our own messages


class WireError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class RateLimited(WireError):
    def __init__(self, retry_after: float) -> None:
        super().__init__("ratelimited")
        self.retry_after = retry_after


class Unavailable(WireError):
    def __init__(self, code: str, *, maybe_delivered: bool) -> None:
        super().__init__(code)
        self.maybe_delivered = maybe_delivered


class Refused(WireError):
    pass


@dataclass(frozen=True)
class Delivered:
    channel: str
    ts: str


class SlackWire(Protocol):
    async def post(self, channel: str, text: str, blocks: list[dict[str, Any]], *, thread_ts: str | None,
                   outbox_id: int) -> Delivered: ...

    async def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None: ...

    async def open_dm(self, user: str) -> str:
        """The IM channel id with `user`."""
        ...

    async def join(self, channel: str) -> bool:
        """Join a public channel; False when it cannot be joined this way (a name, not an id; no scope)."""
        ...

    async def find(self, channel: str, *, thread_ts: str | None, outbox_id: int) -> Delivered | None:
        """The message posted for `outbox_id`, if an earlier attempt did reach Slack."""
        ...

    async def permalink(self, channel: str, ts: str) -> str | None: ...

    async def set_usergroup(self, group_id: str, users: list[str]) -> None: ...
