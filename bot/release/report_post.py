"""Storing and posting a release's report, in the transaction of the outcome that makes it due.

A report is due when a release that left the queue has finished and something ended it since its
last report: its first outcome, a new outcome (blocked again after an override), or a rollback of it
that succeeded (state `rolled_back`). Releases that never left the queue (superseded, cancelled
while queued) get none: nothing was checked or changed, and their outcome line says why.

A release stopped for its own rollback waits for that rollback to end (`settled=False` in
`outcomes`): its report then says whether it was rolled back, and its thread gets one report, last.

Each report is one `release_reports` row (JSON and the posted text), one ledger row of kind
`report` carrying the SHA-256 of that JSON (so the chain vouches for the stored report), and one
thread reply queued in the outbox after the outcome's — all in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.authors import notices as author_notices
from bot.ledger import service as ledger
from bot.ledger.models import Decision, DecisionKind
from bot.release.models import IN_FLIGHT, Release, ReleaseReport, ReleaseState
from bot.release.report import build
from bot.release.store import subject
from bot.release.thread import ReleaseThread

log = logging.getLogger(__name__)
SYSTEM = "switchman"


def digest(data: dict[str, object]) -> str:
    """SHA-256 of the report's JSON in canonical form (sorted keys, no spaces)."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


async def latest_report(session: AsyncSession, release_id: int) -> ReleaseReport | None:
    return (await session.exec(select(ReleaseReport).where(ReleaseReport.release_id == release_id)
                               .order_by(col(ReleaseReport.id).desc()).limit(1))).first()


async def due(session: AsyncSession, release: Release) -> bool:
    if release.state in IN_FLIGHT or release.state == ReleaseState.QUEUED or release.started_at is None:
        return False
    last = await latest_report(session, release.id or 0)
    if last is None:
        return True
    if last.state != release.state:
        return True
    newer = (await session.exec(select(Decision.seq).where(
        Decision.release_id == release.id, Decision.kind == DecisionKind.OUTCOME,
        col(Decision.seq) > last.decision_seq).limit(1))).first()
    return newer is not None


async def post_if_due(session: AsyncSession, thread: ReleaseThread, release: Release, *,
                      now: datetime) -> ReleaseReport | None:
    """Compose, store, chain and queue the release's report when one is due; None when none is."""
    if not await due(session, release):
        return None
    await author_notices.record(session, release, now=now)  # the authors hear of the outcome the report tells
    try:
        async with session.begin_nested():  # a failed query must not spoil the outcome's transaction
            report = await build(session, thread.config, release, now=now)
    except Exception:  # a report must never stop a release from ending: log it, say so, carry on
        error_id = uuid.uuid4().hex[:12]
        log.exception("could not compose a release report", extra={"release": release.id, "correlation_id": error_id})
        thread.note(session, release, f":warning: The post-release report could not be composed (error id "
                                      f"`{error_id}`); every decision above is recorded.", now=now)
        return None
    data = report.as_json()
    message = thread.view.report(report)
    row = await ledger.record(session, kind=DecisionKind.REPORT, actor=SYSTEM, decided_at=now,
                              subject=subject(release), outcome=release.state, release_id=release.id,
                              evidence={"report_sha256": digest(data), "risk": report.scope.risk,
                                        "follow_ups": len(report.follow_ups)})
    stored = ReleaseReport(release_id=release.id or 0, state=release.state, decision_seq=row.seq,
                           risk=report.scope.risk, data=data, text=message[0], created_at=now)
    session.add(stored)
    thread.say(session, release, message, now=now, decision_seq=row.seq)
    return stored
