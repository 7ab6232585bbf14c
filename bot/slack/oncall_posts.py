"""The on-call domain's Web API calls: channel posts, updates, DMs, permalinks and user-group sync.

Callers pass (text, blocks) built by `oncall_blocks`; this module only talks to Slack.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.directory import Directory

log = logging.getLogger(__name__)
Message = tuple[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str


async def post(client: AsyncWebClient, channel: str, message: Message) -> Posted:
    text, blocks = message
    response = await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    return Posted(response["channel"], response["ts"])


async def update(client: AsyncWebClient, channel: str, ts: str, message: Message) -> None:
    text, blocks = message
    await client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)


async def direct_message(client: AsyncWebClient, user: str, message: Message) -> bool:
    """DM `user`; a failure is logged and reported as False, so one person cannot stop the rest."""
    text, blocks = message
    try:
        opened = await client.conversations_open(users=user)
        await client.chat_postMessage(channel=opened["channel"]["id"], text=text, blocks=blocks)
    except SlackApiError as exc:
        log.warning("could not DM", extra={"user": user, "error": exc.response.get("error")})
        return False
    return True


async def permalink(client: AsyncWebClient, channel: str | None, ts: str | None) -> str | None:
    if not channel or not ts:
        return None
    try:
        response = await client.chat_getPermalink(channel=channel, message_ts=ts)
    except SlackApiError as exc:
        log.warning("no permalink", extra={"channel": channel, "error": exc.response.get("error")})
        return None
    link: str | None = response.get("permalink")
    return link


async def sync_usergroup(client: AsyncWebClient, directory: Directory, handle: str | None,
                         users: Sequence[str | None]) -> bool:
    """Make the group's members exactly `users`. Slack cannot empty a group, so nobody leaves it as is."""
    members = [u for u in users if u]
    if handle is None or not members:
        return False
    group_id = await directory.usergroup_id(handle)
    if group_id is None:
        log.warning("user group not found", extra={"usergroup": handle})
        return False
    try:
        await client.usergroups_users_update(usergroup=group_id, users=members)
    except SlackApiError as exc:
        log.warning("could not update user group", extra={"usergroup": handle, "error": exc.response.get("error")})
        return False
    return True
