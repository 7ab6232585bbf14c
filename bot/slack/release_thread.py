"""The release thread in Slack (§3): one parent message per release, updated in place, and replies.

The release flow talks to Slack only through this adapter, in Switchman's terms (a release, a
reply); Block Kit comes from `release_blocks`, the Web API call from the injected client.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.release.models import Release
from bot.slack.release_blocks import Reply, parent_message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str
    permalink: str | None


@dataclass
class ReleaseThread:
    client: AsyncWebClient

    async def open(self, release: Release, channel: str, *, position: int | None = None) -> Posted:
        text, blocks = parent_message(release, position=position)
        response = await self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        posted_channel, ts = response["channel"], response["ts"]
        return Posted(posted_channel, ts, await self.permalink(posted_channel, ts))

    async def refresh(self, release: Release, *, position: int | None = None) -> None:
        if release.channel_id is None or release.message_ts is None:
            return
        text, blocks = parent_message(release, position=position)
        await self.client.chat_update(channel=release.channel_id, ts=release.message_ts, text=text, blocks=blocks)

    async def reply(self, release: Release, reply: Reply) -> Posted:
        assert release.channel_id is not None and release.message_ts is not None, "open the thread first"
        text, blocks = reply
        response = await self.client.chat_postMessage(channel=release.channel_id, thread_ts=release.message_ts,
                                                      text=text, blocks=blocks)
        return Posted(response["channel"], response["ts"], await self.permalink(response["channel"], response["ts"]))

    async def post(self, channel: str, reply: Reply) -> Posted:
        text, blocks = reply
        response = await self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
        return Posted(response["channel"], response["ts"], await self.permalink(response["channel"], response["ts"]))

    async def permalink(self, channel: str, ts: str) -> str | None:
        try:
            response = await self.client.chat_getPermalink(channel=channel, message_ts=ts)
        except SlackApiError as exc:
            log.warning("no permalink", extra={"channel": channel, "error": exc.response.get("error")})
            return None
        link: str | None = response.get("permalink")
        return link
