"""Reading the stored history for metrics: releases finished in a window, with the ledger rows that
time them, and counts per person.

Nothing here holds more than one batch of releases: `finished_releases` pages through them by id
(keyset pagination), and the per-person figures are counted by the database (GROUP BY). Instants
that need a look at other rows — a release's first rollback trigger, the first success in its
environment after its failure was detected — are correlated subqueries, so they cost no extra trip.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, case, false, func, null, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.evidence.windows import Target, Window
from bot.ledger.models import Decision, DecisionKind
from bot.release.decision import DecisionKind as Verdict
from bot.release.models import Approval, Release, ReleaseKind

RELEASES: Table = Release.__table__  # type: ignore[attr-defined]
DECISIONS: Table = Decision.__table__  # type: ignore[attr-defined]
APPROVALS: Table = Approval.__table__  # type: ignore[attr-defined]
BATCH = 500
TIMING_KINDS = (DecisionKind.DECISION.value, DecisionKind.OVERRIDE.value)


@dataclass(frozen=True)
class LedgerStep:
    """A ledger row that moves a release between waiting and working: a decision or an override."""

    kind: str
    outcome: str
    at: datetime


@dataclass(frozen=True)
class ReleaseFacts:
    """One finished release: its own instants, and those the ledger and later releases add."""

    id: int
    kind: str
    state: str
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime
    verified_at: datetime | None
    detected_at: datetime | None
    rolled_back_at: datetime | None
    trigger_at: datetime | None  # the first rollback trigger recorded against it
    restored_at: datetime | None  # the first success in its environment after its failure was detected
    steps: tuple[LedgerStep, ...]  # decision and override rows, in ledger order
    first_commit_at: datetime | None = None  # the change's earliest commit, kept at preview (report_scope)
    risk: str | None = None  # the change's risk level, assessed at preview (risk_controls); None: not assessed

    @property
    def went_out(self) -> datetime | None:
        """When its rollout began: the GO decision (there is at most one per release)."""
        return next((s.at for s in self.steps if s.kind == DecisionKind.DECISION and s.outcome == Verdict.GO), None)

    @property
    def detected(self) -> datetime | None:
        """When its failure became known: failed verification, else the first rollback trigger."""
        return self.detected_at or self.trigger_at

    @property
    def overridden(self) -> bool:
        return any(s.kind == DecisionKind.OVERRIDE for s in self.steps)


def in_scope(table: Any, targets: Sequence[Target], window: Window) -> ColumnElement[bool]:
    """Releases to one of `targets` that finished inside `window`."""
    pairs = [and_(table.c.service == t.service, table.c.environment == t.environment) for t in targets]
    return and_(or_(*pairs) if pairs else false(), table.c.finished_at > window.start,
                table.c.finished_at <= window.end)


def _first_trigger(release: Any) -> Any:
    return (select(func.min(DECISIONS.c.decided_at))
            .where(DECISIONS.c.kind == DecisionKind.ROLLBACK_TRIGGER.value, DECISIONS.c.release_id == release.c.id)
            .correlate(release).scalar_subquery())


def _restored(release: Any, trigger: Any) -> Any:
    """The first verification of another release in the same environment once the failure was known.

    Looked for only when there is a failure (CASE), so a healthy release costs no scan of its environment.
    """
    later = RELEASES.alias("later")
    detected = func.coalesce(release.c.detected_at, trigger)
    first_success = (select(func.min(later.c.verified_at))
                     .where(later.c.service == release.c.service, later.c.environment == release.c.environment,
                            later.c.id != release.c.id, later.c.verified_at >= detected,
                            later.c.kind != ReleaseKind.DRILL.value)  # a drill restores nothing
                     .correlate(release).scalar_subquery())
    return case((detected.is_(None), null()), else_=first_success)


async def finished_releases(session: AsyncSession, targets: Sequence[Target], window: Window, *,
                            batch: int = BATCH) -> AsyncIterator[ReleaseFacts]:
    """Every release (deploys, rollbacks and drills) to `targets` finished in `window`, by id, `batch` at a time."""
    release = RELEASES.alias("r")
    trigger = _first_trigger(release)
    # Only the one JSON value is read (json_extract / #>>), not the whole detail with its file list.
    first_commit = release.c.detail[("change", "first_commit_at")].as_string()
    risk = release.c.detail[("risk", "level")].as_string()
    columns = [release.c[name] for name in ("id", "kind", "state", "requested_by", "created_at", "started_at",
                                            "finished_at", "verified_at", "detected_at", "rolled_back_at")]
    connection = await session.connection()
    after = 0
    while True:
        query = (select(*columns, trigger.label("trigger_at"), _restored(release, trigger).label("restored_at"),
                        first_commit.label("first_commit_at"), risk.label("risk"))
                 .where(in_scope(release, targets, window), release.c.id > after)
                 .order_by(release.c.id).limit(batch))
        rows = [dict(row) for row in (await connection.execute(query)).mappings()]
        if not rows:
            return
        steps = await _steps(session, [row["id"] for row in rows])
        for row in rows:
            row["first_commit_at"] = _instant(row["first_commit_at"])
            yield ReleaseFacts(**row, steps=tuple(steps.get(row["id"], ())))
        if len(rows) < batch:
            return
        after = rows[-1]["id"]


def _instant(text: str | None) -> datetime | None:
    """An ISO 8601 instant as stored by `report_scope.change_record` (always with its offset)."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None  # not an instant: no commit time, as if none had been stored


async def _steps(session: AsyncSession, release_ids: list[int]) -> dict[int, list[LedgerStep]]:
    query = (select(DECISIONS.c.release_id, DECISIONS.c.kind, DECISIONS.c.outcome, DECISIONS.c.decided_at)
             .where(DECISIONS.c.release_id.in_(release_ids), DECISIONS.c.kind.in_(TIMING_KINDS))
             .order_by(DECISIONS.c.seq))
    found: dict[int, list[LedgerStep]] = defaultdict(list)
    for row in (await (await session.connection()).execute(query)).mappings():
        found[row["release_id"]].append(LedgerStep(row["kind"], row["outcome"], row["decided_at"]))
    return found


async def deploys_per_requester(session: AsyncSession, targets: Sequence[Target], window: Window) -> dict[str, int]:
    """How many deploys each person requested, of those finished in the window (counted by the database)."""
    query = (select(RELEASES.c.requested_by, func.count())
             .where(in_scope(RELEASES, targets, window), RELEASES.c.kind == ReleaseKind.DEPLOY.value)
             .group_by(RELEASES.c.requested_by))
    return {who: n for who, n in (await (await session.connection()).execute(query)).all()}


async def approvals_per_approver(session: AsyncSession, targets: Sequence[Target], window: Window) -> dict[str, int]:
    """How many approvals each person gave to deploys finished in the window (rejections not counted)."""
    query = (select(APPROVALS.c.approver, func.count())
             .select_from(APPROVALS.join(RELEASES, APPROVALS.c.release_id == RELEASES.c.id))
             .where(in_scope(RELEASES, targets, window), RELEASES.c.kind == ReleaseKind.DEPLOY.value,
                    APPROVALS.c.approved.is_(True))
             .group_by(APPROVALS.c.approver))
    return {who: n for who, n in (await (await session.connection()).execute(query)).all()}
