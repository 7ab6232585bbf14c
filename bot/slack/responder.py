"""Answering the person who asked, after the ack: via the request's response_url, or by DM.

Background work raises `UserFacingError`s like listeners do; `answer_errors` turns them into
ephemeral answers, and an unexpected failure into an apology quoting its correlation id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.background import BackgroundTasks
from bot.errors import UserFacingError
from bot.interaction_lane import Admission, InteractionLane
from bot.slack import replies
from bot.slack.errors import reply_for


class Responder(Protocol):
    async def send(self, payload: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class ResponseUrlResponder:
    url: str
    # One HTTP session for all response_url posts (AppContext.webhooks); a session per post costs a
    # new connection each time.
    session: aiohttp.ClientSession | None = None

    async def send(self, payload: dict[str, Any]) -> None:
        await AsyncWebhookClient(self.url, session=self.session).send_dict({"response_type": "ephemeral", **payload})


@dataclass(frozen=True)
class DirectMessageResponder:
    client: AsyncWebClient
    user: str

    async def send(self, payload: dict[str, Any]) -> None:
        opened = await self.client.conversations_open(users=self.user)
        await self.client.chat_postMessage(channel=opened["channel"]["id"], text=payload.get("text", ""),
                                           blocks=payload.get("blocks"))


async def tell(responder: Responder, text: str) -> None:
    await responder.send(replies.ephemeral(text))


async def answer_errors(work: Coroutine[Any, Any, Any], responder: Responder) -> Any:
    """Run `work`; a user-facing error becomes an ephemeral answer instead of a failure."""
    try:
        return await work
    except UserFacingError as exc:
        reply, _ = reply_for(exc)
        await responder.send(reply)
        return None


def apologise_via(responder: Responder) -> Callable[[BaseException, str], Awaitable[None]]:
    """A BackgroundTasks failure hook: tell the person something broke, quoting the correlation id."""
    async def hook(_: BaseException, correlation_id: str) -> None:
        await responder.send(replies.apology(correlation_id))

    return hook


def answer_later(background: BackgroundTasks, work: Coroutine[Any, Any, Any], responder: Responder, *,
                 name: str) -> None:
    """Run `work` after the ack: user-facing errors are answered, anything else apologised for."""
    background.spawn(answer_errors(work, responder), name=name, on_failure=apologise_via(responder))


BUSY = ("Switchman is busy with a burst of clicks and commands, so this one was not acted on. "
        "Nothing changed: try again in a moment.")


def answer_in_lane(lane: InteractionLane, work: Callable[[], Coroutine[Any, Any, Any]], responder: Responder, *,
                   name: str, merge_key: str | None = None) -> Admission:
    """Like `answer_later`, for short interaction work: in the bounded lane, merged with an identical
    unit still in it, and answered "busy" instead of started when the lane's queue is full.

    `work` answers its responder itself and returns the text it told; a copy merged into it is told
    the same text (nothing, when the work answered with an error).
    """
    async def follow(answer: Any) -> None:
        if isinstance(answer, str):
            await tell(responder, answer)

    return lane.submit(lambda: answer_errors(work(), responder), name=name, merge_key=merge_key,
                       on_failure=apologise_via(responder), on_refused=lambda: tell(responder, BUSY),
                       follow=follow)


async def ack_in_lane(ack: AsyncAck, lane: InteractionLane, work: Callable[[], Coroutine[Any, Any, Any]],
                      responder: Responder, *, name: str, merge_key: str | None = None) -> Admission:
    """`answer_in_lane` for a slash command that has not acked yet: when the lane would refuse the work,
    the busy answer goes in the ack (Slack shows it to the person, ephemeral), which costs no Slack call;
    otherwise the ack is empty and the work goes to the lane."""
    if lane.would_refuse(merge_key):
        lane.refuse(name)
        await ack(**replies.ephemeral(BUSY))
        return Admission.REFUSED
    await ack()
    return answer_in_lane(lane, work, responder, name=name, merge_key=merge_key)
