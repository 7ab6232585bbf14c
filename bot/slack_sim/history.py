"""Reading messages back from the simulated workspace: conversations.history and conversations.replies.

As on Slack: history lists a channel's own messages newest first (thread replies stay in their
thread); replies lists a thread's parent and then its replies, oldest first, the parent heading
every page. `oldest` / `latest`
bound the window (exclusive unless `inclusive`), `limit` and `cursor` page through it, and
message metadata is shown only with `include_all_metadata`. The bot reads only conversations it
is in (`not_in_channel` otherwise), DMs included.
"""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.slack_sim.shapes import reply_json, thread_parent_json
from bot.slack_sim.workspace import SimChannel, SimMessage, Workspace, ts_key

HISTORY_LIMIT = (100, 999)  # (default, maximum) per the conversations.history docs
REPLIES_LIMIT = (1000, 1000)
TRUE_STRINGS = frozenset({"1", "true"})


class HistoryError(Exception):
    """A Slack error code to answer with."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def conversations_history(workspace: Workspace, p: dict[str, Any]) -> dict[str, Any]:
    try:
        channel = _readable(workspace, p)
        window = _window(p, workspace.channel_history(channel.id))
        page, next_cursor = _page(p, window, _limit(p, HISTORY_LIMIT), newest_first=True)
    except HistoryError as exc:
        return {"ok": False, "error": exc.code}
    metadata = _flag(p.get("include_all_metadata"))
    messages = [thread_parent_json(m, _replies(workspace, m), include_metadata=metadata) for m in page]
    # pin_count / channel_actions_* are legacy fields the 2020 schema still requires; Slack sends them.
    body: dict[str, Any] = {"ok": True, "messages": messages, "has_more": next_cursor is not None,
                            "pin_count": 0, "channel_actions_ts": None, "channel_actions_count": 0}
    if next_cursor is not None:
        body["response_metadata"] = {"next_cursor": next_cursor}
    return body


def conversations_replies(workspace: Workspace, p: dict[str, Any]) -> dict[str, Any]:
    try:
        channel = _readable(workspace, p)
        asked = workspace.messages.get((channel.id, str(p.get("ts", ""))))
        if asked is None:
            raise HistoryError("thread_not_found")
        parent = workspace.messages.get((channel.id, asked.thread_ts or asked.ts), asked)
        replies = _replies(workspace, parent)
        head = _window(p, [parent])
        limit = max(_limit(p, REPLIES_LIMIT) - len(head), 1)
        page, next_cursor = _page(p, _window(p, replies), limit, newest_first=False)
    except HistoryError as exc:
        return {"ok": False, "error": exc.code}
    metadata = _flag(p.get("include_all_metadata"))
    messages = [thread_parent_json(m, replies, include_metadata=metadata) for m in head]
    messages += [reply_json(m, parent, include_metadata=metadata) for m in page]
    body: dict[str, Any] = {"ok": True, "messages": messages, "has_more": next_cursor is not None}
    if next_cursor is not None:
        body["response_metadata"] = {"next_cursor": next_cursor}
    return body


def _readable(workspace: Workspace, p: dict[str, Any]) -> SimChannel:
    channel = workspace.channels.get(str(p.get("channel", "")))  # these methods take ids, not names
    if channel is None:
        raise HistoryError("channel_not_found")
    if not channel.bot_may_post():
        raise HistoryError("not_in_channel")
    return channel


def _replies(workspace: Workspace, parent: SimMessage) -> list[SimMessage]:
    replies = [m for m in workspace.thread(parent.channel, parent.ts) if m.ts != parent.ts]
    return sorted(replies, key=lambda m: ts_key(m.ts))


def _window(p: dict[str, Any], messages: list[SimMessage]) -> list[SimMessage]:
    oldest = _bound(p.get("oldest"), "invalid_ts_oldest")
    latest = _bound(p.get("latest"), "invalid_ts_latest")
    inclusive = _flag(p.get("inclusive"))

    def inside(message: SimMessage) -> bool:
        ts = Decimal(message.ts)
        if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
            return False
        return latest is None or ts < latest or (ts == latest and inclusive)

    return [m for m in messages if inside(m)]


def _limit(p: dict[str, Any], limits: tuple[int, int]) -> int:
    default, maximum = limits
    return min(max(int(p.get("limit") or default), 1), maximum)


def _page(p: dict[str, Any], messages: list[SimMessage], limit: int, *,
          newest_first: bool) -> tuple[list[SimMessage], str | None]:
    """One page from `messages` (already in answer order) and the cursor of the next, if any."""
    cursor = p.get("cursor")
    if cursor:
        start = _cursor_ts(str(cursor))
        messages = [m for m in messages
                    if (ts_key(m.ts) <= start if newest_first else ts_key(m.ts) >= start)]
    page, rest = messages[:limit], messages[limit:]
    return page, _make_cursor(rest[0].ts) if rest else None


def _make_cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _cursor_ts(cursor: str) -> tuple[int, int]:
    try:
        prefix, _, ts = base64.b64decode(cursor, validate=True).decode().partition(":")
        if prefix != "next_ts":
            raise ValueError(prefix)
        return ts_key(ts)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise HistoryError("invalid_cursor") from exc


def _bound(value: Any, error: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise HistoryError(error) from exc


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in TRUE_STRINGS
