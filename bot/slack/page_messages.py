"""The Web API calls pages make: DM a person, post in a channel or thread, update a message.

A thin adapter in Switchman's terms so the paging domain never builds a Slack call itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.page_blocks import Message


@dataclass(frozen=True)
class Sent:
    channel: str
    ts: str


@dataclass
class PageMessages:
    client: AsyncWebClient

    async def dm(self, user: str, message: Message) -> Sent:
        opened = await self.client.conversations_open(users=user)
        return await self.post(opened["channel"]["id"], message)

    async def post(self, channel: str, message: Message, *, thread_ts: str | None = None) -> Sent:
        text, blocks = message
        response = await self.client.chat_postMessage(channel=channel, text=text, blocks=blocks, thread_ts=thread_ts)
        return Sent(response["channel"], response["ts"])

    async def update(self, sent: Sent, message: Message) -> None:
        text, blocks = message
        await self.client.chat_update(channel=sent.channel, ts=sent.ts, text=text, blocks=blocks)
