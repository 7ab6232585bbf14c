"""The outbox's port implemented over slack_sdk: posts, updates, DMs, joins, and finding our own messages.

Every failure is sorted into the outbox's three kinds (see `bot/outbox/wire.py`). Each message is
posted with metadata naming its outbox id, which is how `find` recognises a message an earlier,
interrupted attempt did post; history is read by channel id, so a channel configured as `#name` is
first looked up by name (conversations.list). The client used here has no retry handlers of its
own: retrying a post blindly is exactly what could post it twice, so the outbox decides.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.outbox.wire import OUTBOX_EVENT, Delivered, RateLimited, Refused, Unavailable

log = logging.getLogger(__name__)
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout",
                              "ratelimited"})
LOOKBACK = 200  # messages searched for an interrupted post: a thread or a channel's recent history
LIST_PAGE, MAX_LIST_PAGES = 200, 50  # conversations.list pages read to find a channel's id by its name


def outbox_client(token: str | None, base_url: str, *, timeout: int = 10) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])


class SlackOutboxWire:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._ids: dict[str, str] = {}  # channel name → id, as conversations.list told

    async def post(self, channel: str, text: str, blocks: list[dict[str, Any]], *, thread_ts: str | None,
                   outbox_id: int) -> Delivered:
        metadata = {"event_type": OUTBOX_EVENT, "event_payload": {"outbox_id": outbox_id}}
        response = await _call(self.client.chat_postMessage(channel=channel, text=text, blocks=blocks or None,
                                                            thread_ts=thread_ts, metadata=metadata),
                               may_post=True)
        return Delivered(response["channel"], response["ts"])

    async def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        await _call(self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks), may_post=False)

    async def open_dm(self, user: str) -> str:
        response = await _call(self.client.conversations_open(users=user), may_post=False)
        channel: str = response["channel"]["id"]
        return channel

    async def join(self, channel: str) -> bool:
        if not channel.startswith(("C", "G")):
            return False  # conversations.join takes an id; a #name cannot be joined without looking it up
        try:
            await _call(self.client.conversations_join(channel=channel), may_post=False)
        except Refused as exc:
            log.warning("could not join the channel", extra={"channel": channel, "error": exc.code})
            return False
        return True

    async def find(self, channel: str, *, thread_ts: str | None, outbox_id: int) -> Delivered | None:
        try:
            found = await self._channel_id(channel)
            if found is None:
                log.warning("cannot look for an interrupted post; posting it",
                            extra={"channel": channel, "error": "channel_not_listed"})
                return None
            channel = found
            if thread_ts is not None:
                response = await _call(self.client.conversations_replies(
                    channel=channel, ts=thread_ts, limit=LOOKBACK, include_all_metadata=True), may_post=False)
            else:
                response = await _call(self.client.conversations_history(
                    channel=channel, limit=LOOKBACK, include_all_metadata=True), may_post=False)
        except Refused as exc:
            # Without history access there is no way to tell; posting again is the lesser harm.
            log.warning("cannot look for an interrupted post; posting it", extra={"error": exc.code})
            return None
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == OUTBOX_EVENT and payload.get("outbox_id") == outbox_id:
                return Delivered(str(response.get("channel") or channel), str(message["ts"]))
        return None

    async def _channel_id(self, channel: str) -> str | None:
        """History is read by channel id; a channel configured as `#name` is looked up (once) by name."""
        if not channel.startswith("#"):
            return channel
        name = channel.removeprefix("#")
        if name not in self._ids:
            cursor = None
            for _ in range(MAX_LIST_PAGES):
                response = await _call(self.client.conversations_list(
                    types="public_channel,private_channel", exclude_archived=True, limit=LIST_PAGE, cursor=cursor),
                    may_post=False)
                for listed in response.get("channels") or []:
                    self._ids[str(listed.get("name"))] = str(listed.get("id"))
                cursor = (response.get("response_metadata") or {}).get("next_cursor")
                if name in self._ids or not cursor:
                    break
        return self._ids.get(name)

    async def permalink(self, channel: str, ts: str) -> str | None:
        try:
            response = await _call(self.client.chat_getPermalink(channel=channel, message_ts=ts), may_post=False)
        except (Refused, Unavailable, RateLimited) as exc:
            log.warning("no permalink", extra={"channel": channel, "error": exc.code})
            return None
        link: str | None = response.get("permalink")
        return link

    async def set_usergroup(self, group_id: str, users: list[str]) -> None:
        await _call(self.client.usergroups_users_update(usergroup=group_id, users=users), may_post=False)


async def _call(request: Any, *, may_post: bool) -> Any:
    """Await a Web API call, turning every failure into RateLimited, Unavailable or Refused."""
    try:
        return await request
    except SlackApiError as exc:
        status = exc.response.status_code
        error = str((exc.response.data or {}).get("error") if isinstance(exc.response.data, dict) else "")
        if status == 429 or error == "ratelimited":
            raise RateLimited(_retry_after(exc.response.headers)) from None
        if status >= 500 or error in TRANSIENT_ERRORS:
            raise Unavailable(error or f"http_{status}", maybe_delivered=may_post and status >= 500) from None
        raise Refused(error or f"http_{status}") from None
    except (TimeoutError, aiohttp.ClientError, json.JSONDecodeError) as exc:
        raise Unavailable(type(exc).__name__, maybe_delivered=may_post) from None


def _retry_after(headers: Any) -> float:
    for key in ("Retry-After", "retry-after"):
        value = headers.get(key) if headers else None
        if value is not None:
            try:
                return max(float(value if isinstance(value, str) else value[0]), 0.0)
            except (TypeError, ValueError, IndexError):
                break
    return 1.0
