"""A release's Slack thread, written through the outbox in the caller's transaction (§3).

`record` is the one way a release decision is made: the ledger row, and the thread reply that
shows it, are added to the caller's session, next to the state change the decision causes; they
commit together or not at all. The outbox posts the parent message first (anchored as
`release:<id>`), then every reply in order, and edits the parent in place as the state moves.
When the parent lands, `on_parent_posted` stores where, so the release row links to its thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config.models import SwitchmanConfig
from bot.ledger import service as ledger
from bot.ledger.models import Decision, DecisionKind
from bot.outbox import queue as outbox
from bot.outbox.wire import Delivered
from bot.release.models import Release
from bot.release.ports import Message, ReleaseView
from bot.release.store import subject

PREFIX = "release:"


def key(release_id: int | None) -> str:
    return f"{PREFIX}{release_id}"


def release_id_of(name: str) -> int | None:
    tail = name.removeprefix(PREFIX)
    return int(tail) if name.startswith(PREFIX) and tail.isdigit() else None


@dataclass(frozen=True)
class ReleaseThread:
    config: SwitchmanConfig
    view: ReleaseView

    def channel(self, release: Release) -> str:
        return self.config.services[release.service].channel

    def open(self, session: AsyncSession, release: Release, *, now: datetime, position: int | None = None) -> None:
        outbox.post(session, thread=key(release.id), anchor=key(release.id), owner=key(release.id),
                    channel=self.channel(release), message=self.view.parent(release, position=position), now=now)

    def refresh(self, session: AsyncSession, release: Release, *, now: datetime, position: int | None = None) -> None:
        outbox.update(session, thread=key(release.id), target=key(release.id), owner=key(release.id),
                      channel=self.channel(release), message=self.view.parent(release, position=position), now=now)

    def say(self, session: AsyncSession, release: Release, message: Message, *, now: datetime,
            decision_seq: int | None = None) -> None:
        outbox.reply(session, thread=key(release.id), reply_to=key(release.id), owner=key(release.id),
                     channel=self.channel(release), message=message, now=now, decision_seq=decision_seq)

    def note(self, session: AsyncSession, release: Release, text: str, *, now: datetime) -> None:
        self.say(session, release, self.view.note(text), now=now)

    async def record(self, session: AsyncSession, release: Release, *, kind: DecisionKind, actor: str,
                     outcome: str, now: datetime, evidence: Mapping[str, Any] | None = None,
                     message: Message | None = None) -> Decision:
        """A decision in the ledger and, when given, the reply that shows it — in the caller's transaction."""
        row = await ledger.record(session, kind=kind, actor=actor, decided_at=now, subject=subject(release),
                                  outcome=outcome, release_id=release.id, evidence=evidence)
        if message is not None:
            self.say(session, release, message, now=now, decision_seq=row.seq)
        return row


async def on_parent_posted(session: AsyncSession, anchor: str, delivered: Delivered, permalink: str | None) -> None:
    """Outbox hook: the parent message landed; link the release row to it (same transaction)."""
    release_id = release_id_of(anchor)
    release = await session.get(Release, release_id) if release_id is not None else None
    if release is None:
        return
    release.channel_id, release.message_ts = delivered.channel, delivered.ts
    release.detail = {**(release.detail or {}), "permalink": permalink}
    session.add(release)
