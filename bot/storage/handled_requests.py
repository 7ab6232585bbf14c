"""Requests already acted on (STYLE #14): one row per Slack invocation, claimed with its effect.

Slack re-sends a command or click it believes lost (`X-Slack-Retry-Num`), byte for byte, and
with several replicas the copies may arrive at once. A request that changes anything first
inserts its key here, in the same transaction as the change. The primary key lets exactly one
transaction do that; the others find the row and answer what the first one said instead of
acting again. If the change fails, the claim rolls back with it and a retry may try afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.database import Database
from bot.storage.types import UTCDateTime

MAX_KEY = 255
MAX_RESULT = 4000


class HandledRequest(SQLModel, table=True):
    __tablename__ = "handled_requests"

    key: str = Field(primary_key=True, max_length=MAX_KEY)
    kind: str = Field(max_length=32)  # what the request did (lock, page-ack, …), for whoever reads the table
    # What the first delivery answered, so a repeat answers the same; empty when the caller
    # re-reads its answer from its own record instead.
    result: str = Field(default="", max_length=MAX_RESULT)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


ALREADY_DONE = "That was done already: Slack delivered the request more than once, and it counts once."


@dataclass
class Claim:
    row: HandledRequest | None  # ours, committed with the effect; None without a key or for a repeat
    repeat: bool = False  # the request was handled before: change nothing
    earlier: str = ""  # for a repeat: what the first delivery answered

    def answer(self, text: str) -> str:
        """Store `text` as this request's answer (it commits with the effect) and return it."""
        if self.row is not None:
            self.row.result = text[:MAX_RESULT]
        return text


async def claim(session: AsyncSession, *, key: str | None, kind: str, now: datetime) -> Claim:
    """Claim `key` in the caller's transaction; a repeat (`Claim.repeat`) must change nothing.

    Concurrent claims of one key wait for each other on the primary key: the loser fails to insert
    once the winner commits, and then reads the winner's row.
    """
    if key is None:
        return Claim(None)
    row = HandledRequest(key=key, kind=kind, created_at=now)
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        earlier = (await session.exec(select(HandledRequest.result).where(HandledRequest.key == key))).first()
        return Claim(None, repeat=True, earlier=earlier or ALREADY_DONE)
    return Claim(row)


async def answered(db: Database, key: str | None) -> str | None:
    """What a request already handled answered; None when it is new or stored no answer."""
    if key is None:
        return None
    async with db.session() as session:
        result = (await session.exec(select(HandledRequest.result).where(HandledRequest.key == key))).first()
    return result or None
