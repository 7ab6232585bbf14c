"""One key per Slack invocation, the same for every delivery of it; and answering each once.

Slack gives every slash command and interaction a fresh `trigger_id` and, when it retries a
delivery (`X-Slack-Retry-Num`), re-sends the signed body byte for byte. So the team and the
trigger id tell a retry (same key) from a new invocation (new key), across processes and
restarts. A form submission is keyed by its view, so a form submitted twice acts once. Services
claim the key in `handled_requests` with their change; `answer_once` answers a retry that comes
after the first delivery finished without running anything again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.context import AppContext
from bot.errors import UserFacingError
from bot.slack.responder import Responder, ack_in_lane, answer_in_lane, tell
from bot.storage import handled_requests

MAX_KEY = handled_requests.MAX_KEY


def request_key(body: Mapping[str, Any]) -> str:
    """The key of a slash command, block action or view submission body (as Bolt parses it)."""
    team = body.get("team_id") or (body.get("team") or {}).get("id") or ""
    if body.get("type") == "view_submission" and (body.get("view") or {}).get("id"):
        key = f"{team}:{body['view']['id']}"
    elif body.get("trigger_id"):
        key = f"{team}:{body['trigger_id']}"
    elif body.get("actions"):
        action = body["actions"][0]
        user = (body.get("user") or {}).get("id", "")
        key = f"{team}:{user}:{action.get('action_id', '')}:{action.get('action_ts', '')}"
    else:  # no id Slack documents as unique: the body itself, identical on every retry
        key = f"{team}:body:" + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return key if len(key) <= MAX_KEY else f"{team[:40]}:sha256:" + hashlib.sha256(key.encode()).hexdigest()


def click_key(body: Mapping[str, Any]) -> str | None:
    """What makes two clicks the same click: the team, the user, the action id and the button's value.

    Unlike `request_key` it ignores the trigger and the time, so a double click has one key and the
    interaction lane merges its two deliveries into one unit of work. None for anything not a click.
    """
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return None
    action = actions[0]
    team = str(body.get("team_id") or _field(body.get("team"), "id"))
    user = _field(body.get("user"), "id")
    value = action.get("value") or _field(action.get("selected_option"), "value")
    key = f"{team}:{user}:{action.get('action_id', '')}:{value}"
    return key if len(key) <= MAX_KEY else f"{team[:40]}:sha256:" + hashlib.sha256(key.encode()).hexdigest()


def answer_once(ctx: AppContext, key: str, act: Callable[[], Awaitable[str]], responder: Responder, *,
                name: str, merge_key: str | None = None) -> None:
    """After the ack, tell the person what `act()` answers; for a request handled before, what it
    answered then, without acting again.

    `act` claims `key` itself, so copies that arrive at once still act once. A copy refused by its
    checks (say "already taken") may have been refused because the other copy just acted: the claim
    commits with that change, so it is visible by then, and the copy gets the first answer instead.
    The work runs in the interaction lane (`ctx.lane`); `merge_key` (`click_key`) merges a double click.
    """
    answer_in_lane(ctx.lane, _once(ctx, key, act, responder), responder, name=name, merge_key=merge_key)


async def ack_once(ack: AsyncAck, ctx: AppContext, key: str, act: Callable[[], Awaitable[str]],
                   responder: Responder, *, name: str) -> None:
    """`answer_once` for a slash command that has not acked yet: acks empty, or with the busy answer
    when the interaction lane would refuse the work (`ack_in_lane`)."""
    await ack_in_lane(ack, ctx.lane, _once(ctx, key, act, responder), responder, name=name, merge_key=key)


def _once(ctx: AppContext, key: str, act: Callable[[], Awaitable[str]],
          responder: Responder) -> Callable[[], Coroutine[Any, Any, str]]:
    async def work() -> str:
        answer = await handled_requests.answered(ctx.db, key)
        if answer is None:
            try:
                answer = await act()
            except UserFacingError:
                answer = await handled_requests.answered(ctx.db, key)
                if answer is None:
                    raise
        await tell(responder, answer)
        return answer

    return work


def _field(container: object, name: str) -> str:
    """`container[name]` as text when `container` is an object Slack sent, else empty (forged payloads)."""
    return str(container.get(name) or "") if isinstance(container, dict) else ""
