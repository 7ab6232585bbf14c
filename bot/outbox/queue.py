"""Putting messages in the outbox, in the caller's transaction, and reading back where they landed.

Callers write the decision or state change and the message that announces it in one session:
either both commit or neither does. After the commit the sender is woken (`Database.on_commit`)
and posts the message when Slack lets it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.outbox.models import OutboxAnchor, OutboxKind, OutboxMessage, OutboxState
from bot.structured_log import scrubber

WAKE_SENDER = "outbox.wake"  # session.info flag: something was queued, wake the sender after commit
Message = tuple[str, list[dict[str, Any]]]


def _queue(session: AsyncSession, *, now: datetime, text: str, blocks: list[dict[str, Any]],
           **fields: Any) -> OutboxMessage:
    # Whatever a provider or a person put in a message, no secret Switchman knows reaches Slack.
    row = OutboxMessage(created_at=now, state=OutboxState.PENDING, text=scrubber.scrub_message(text),
                        blocks=scrubber.scrub_message(blocks), **fields)
    session.add(row)
    session.info[WAKE_SENDER] = True
    return row


def post(session: AsyncSession, *, thread: str, channel: str, message: Message, now: datetime,
         anchor: str | None = None, owner: str | None = None, decision_seq: int | None = None) -> OutboxMessage:
    """A top-level channel message; `anchor` names it so replies and updates can find it."""
    text, blocks = message
    return _queue(session, now=now, thread=thread, owner=owner, kind=OutboxKind.POST, channel=channel,
                  anchor=anchor, text=text, blocks=blocks, decision_seq=decision_seq)


def reply(session: AsyncSession, *, thread: str, reply_to: str, channel: str, message: Message, now: datetime,
          owner: str | None = None, decision_seq: int | None = None) -> OutboxMessage:
    """A message in the thread of the anchored message `reply_to` (queued earlier in the same `thread`)."""
    text, blocks = message
    return _queue(session, now=now, thread=thread, owner=owner, kind=OutboxKind.POST, channel=channel,
                  reply_to=reply_to, text=text, blocks=blocks, decision_seq=decision_seq)


def update(session: AsyncSession, *, thread: str, target: str, channel: str, message: Message, now: datetime,
           owner: str | None = None) -> OutboxMessage:
    """Edit the anchored message `target`; of several queued updates of one message only the last is sent."""
    text, blocks = message
    return _queue(session, now=now, thread=thread, owner=owner, kind=OutboxKind.UPDATE, channel=channel,
                  target=target, text=text, blocks=blocks)


def direct(session: AsyncSession, *, user: str, message: Message, now: datetime, thread: str | None = None,
           owner: str | None = None, anchor: str | None = None, decision_seq: int | None = None) -> OutboxMessage:
    """A DM to `user`; DMs to one person are sent in order unless `thread` groups them otherwise."""
    text, blocks = message
    return _queue(session, now=now, thread=thread or f"dm:{user}", owner=owner, kind=OutboxKind.DM,
                  channel=user, anchor=anchor, text=text, blocks=blocks, decision_seq=decision_seq)


def usergroup(session: AsyncSession, *, group_id: str, users: Sequence[str], now: datetime,
              owner: str | None = None) -> OutboxMessage:
    """Set a user group's members; queued syncs of one group are sent in order."""
    return _queue(session, now=now, thread=f"usergroup:{group_id}", owner=owner, kind=OutboxKind.USERGROUP,
                  channel=group_id, text=",".join(users), blocks=[])


async def anchor_of(session: AsyncSession, name: str) -> OutboxAnchor | None:
    found: OutboxAnchor | None = await session.get(OutboxAnchor, name)
    return found


async def permalinks(session: AsyncSession, seqs: Iterable[int]) -> dict[int, str]:
    """Permalinks of the messages that evidence these ledger rows (those posted so far)."""
    wanted = list(seqs)
    if not wanted:
        return {}
    rows = (await session.exec(select(OutboxMessage).where(col(OutboxMessage.decision_seq).in_(wanted),
                                                           OutboxMessage.state == OutboxState.SENT))).all()
    return {r.decision_seq: r.permalink for r in rows if r.decision_seq is not None and r.permalink}


async def unsent(session: AsyncSession, thread: str | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.state == OutboxState.PENDING)
    if thread is not None:
        query = query.where(OutboxMessage.thread == thread)
    return list((await session.exec(query.order_by(col(OutboxMessage.id)))).all())
