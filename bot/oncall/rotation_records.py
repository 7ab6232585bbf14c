"""One database row per configured rotation: its config digest, its calendar secret and its channel id.

Synced at start (`sync_rotations`). The calendar secret is generated once and kept across
restarts and config edits, so a subscribed calendar keeps working; the digest records which
configuration the rotation last ran with. The channel id is learnt from where the outbox's posts
in the rotation's channel land (`on_posted`), since switchman.yml names channels by `#name` and
slash commands carry ids.
"""

from __future__ import annotations

import hashlib
import logging
import secrets

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config.models import Rotation
from bot.context import AppContext
from bot.oncall.models import RotationRecord
from bot.oncall.schedule_models import GraduationProposal, HandoffRun, SwapRequest
from bot.outbox.sender import AnchoredHook
from bot.outbox.wire import Delivered

log = logging.getLogger(__name__)


def config_digest(rotation: Rotation) -> str:
    return hashlib.sha256(rotation.model_dump_json().encode()).hexdigest()


def _configured_channel_id(rotation: Rotation) -> str | None:
    return rotation.channel if not rotation.channel.startswith("#") else None


async def ensure_record(session: AsyncSession, ctx: AppContext, name: str) -> RotationRecord:
    """The rotation's row, created with a fresh calendar secret if missing, updated if its config changed."""
    rotation = ctx.config.rotations[name]
    now = ctx.clock.now()
    record = await session.get(RotationRecord, name)
    if record is None:
        record = RotationRecord(name=name, timezone=rotation.timezone, config_digest=config_digest(rotation),
                                calendar_secret=secrets.token_urlsafe(32),
                                channel_id=_configured_channel_id(rotation), updated_at=now)
        try:
            async with session.begin_nested():
                session.add(record)
        except IntegrityError:  # another replica created it first; theirs wins
            if record in session:
                session.expunge(record)
            found = await session.get(RotationRecord, name)
            assert found is not None
            return found
        return record
    digest = config_digest(rotation)
    if record.config_digest != digest or record.timezone != rotation.timezone:
        record.config_digest, record.timezone, record.updated_at = digest, rotation.timezone, now
        record.channel_id = _configured_channel_id(rotation) or record.channel_id
        session.add(record)
    return record


async def sync_rotations(ctx: AppContext) -> None:
    """A row for every configured rotation (rows of rotations no longer configured are kept, unused).

    One query reads the existing rows (so `ensure_record` finds them in the session, without a query
    each), and the missing ones are inserted together; only if another replica inserted some of them
    meanwhile are they inserted one by one.
    """
    async with ctx.db.session() as session:
        # Held here: the session's identity map keeps rows only while something refers to them.
        rows = list((await session.exec(select(RotationRecord))).all())
        missing = [name for name in ctx.config.rotations if name not in {r.name for r in rows}]
        if missing:
            inserted = await _insert_all(session, ctx, missing)
            rows += inserted if inserted is not None else (await session.exec(select(RotationRecord))).all()
        for name in ctx.config.rotations:
            await ensure_record(session, ctx, name)


async def _insert_all(session: AsyncSession, ctx: AppContext, names: list[str]) -> list[RotationRecord] | None:
    """Insert a fresh row for each of `names` in one go; None (nothing inserted) if any exists already."""
    now = ctx.clock.now()
    rows = [RotationRecord(name=name, timezone=ctx.config.rotations[name].timezone,
                           config_digest=config_digest(ctx.config.rotations[name]),
                           calendar_secret=secrets.token_urlsafe(32),
                           channel_id=_configured_channel_id(ctx.config.rotations[name]), updated_at=now)
            for name in names]
    try:
        async with session.begin_nested():
            session.add_all(rows)
    except IntegrityError:
        for row in rows:
            if row in session:
                session.expunge(row)
        return None
    return rows


async def calendar_secret(ctx: AppContext, name: str) -> str:
    async with ctx.db.session() as session:
        return (await ensure_record(session, ctx, name)).calendar_secret


def channel_thread(name: str) -> str:
    """The outbox thread of the rotation channel's own posts (handoffs, requests, proposals), sent in order."""
    return f"oncall:{name}"


async def remember_channel(session: AsyncSession, ctx: AppContext, name: str, channel_id: str) -> None:
    if name not in ctx.config.rotations:
        return
    record = await ensure_record(session, ctx, name)
    if record.channel_id != channel_id:
        record.channel_id = channel_id
        session.add(record)


PostedRow = HandoffRun | SwapRequest | GraduationProposal


def on_posted(ctx: AppContext, prefix: str, model: type[PostedRow]) -> AnchoredHook:
    """Outbox hook for posts anchored `<prefix><row id>`: store where the row's post landed, and the channel's id."""
    async def posted(session: AsyncSession, anchor: str, delivered: Delivered, _permalink: str | None) -> None:
        tail = anchor.removeprefix(prefix)
        row: PostedRow | None = await session.get(model, int(tail)) if tail.isdigit() else None
        if row is None:
            return
        row.channel_id, row.message_ts = delivered.channel, delivered.ts
        session.add(row)
        await remember_channel(session, ctx, row.rotation, delivered.channel)

    return posted


async def rotations_in_channel(ctx: AppContext, channel_id: str) -> list[str]:
    """Configured rotations whose channel is `channel_id` (as configured, or as learnt from a post)."""
    names = [n for n, r in ctx.config.rotations.items() if r.channel == channel_id]
    async with ctx.db.session() as session:
        rows = (await session.exec(select(RotationRecord.name).where(
            col(RotationRecord.channel_id) == channel_id))).all()
    return [n for n in ctx.config.rotations if n in names or n in rows]
