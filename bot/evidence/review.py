"""The weekly release confidence review's figures: one week against the four weeks before it.

Each week is a `metrics` window of seven days, `(end - 7 days, end]`, over the team's production
environments; `metrics.compute` gives releases, failures, rollbacks, special handling and
person-dependence. On top of it, from the ledger, the week's *near-misses*: production deploys
that went out (GO) and did not fail (docs/metrics.md's failed change), yet got there only after
- a *pause*: a verification that could not judge (`stage_result` by `verification`, `inconclusive`),
  so a person had to promote it;
- an *inconclusive gate*: a gate that could not answer (`gate_verdict` `error`, e.g. a timeout);
- an *override*: a gate let through or a pause promoted past by a person.
The three counts are of deploys that finished in the week (a deploy may count in several); the
near-miss total counts each deploy once. The baseline of a figure is its mean over the four weeks
before (None when none of them had anything to measure).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.evidence import history
from bot.evidence.history import ReleaseFacts
from bot.evidence.metrics import compute
from bot.evidence.windows import Target, Window
from bot.ledger.models import DecisionKind
from bot.release.models import ReleaseKind, ReleaseState

WEEK = timedelta(days=7)
BASELINE_WEEKS = 4
DECISIONS = history.DECISIONS


@dataclass(frozen=True)
class NearMisses:
    paused: int = 0
    inconclusive: int = 0
    overridden: int = 0
    total: int = 0  # distinct deploys that went out, did not fail, and had any of the three


@dataclass(frozen=True)
class WeekFigures:
    window: Window
    releases: int  # production deploys finished in the week, whatever their outcome
    succeeded: int
    failed_changes: int
    rollbacks: int
    near_misses: NearMisses
    special_handling: int  # deploys with an override
    top_deployer: str | None
    top_deployer_share: float | None
    deployers: int
    top_approver: str | None
    top_approver_share: float | None
    approvers: int

    def number(self, name: str) -> float | None:
        """A figure by name, for baselines: counts and shares alike."""
        if name in ("paused", "inconclusive", "overridden", "near_misses"):
            return float(getattr(self.near_misses, "total" if name == "near_misses" else name))
        value = getattr(self, name)
        return None if value is None else float(value)


@dataclass(frozen=True)
class Review:
    targets: tuple[Target, ...]
    week: WeekFigures
    previous: tuple[WeekFigures, ...] = field(default_factory=tuple)  # oldest first

    def baseline(self, name: str) -> float | None:
        values = [v for v in (w.number(name) for w in self.previous) if v is not None]
        return sum(values) / len(values) if values else None


async def week_figures(session: AsyncSession, *, targets: Sequence[Target], window: Window,
                       operators: frozenset[str] = frozenset()) -> WeekFigures:
    metrics = await compute(session, targets=targets, window=window, operators=operators)
    d, p = metrics.delivery, metrics.people
    return WeekFigures(window, d.deploys, d.succeeded, d.failed_changes, d.rollbacks,
                       await near_misses(session, targets, window), d.special_handling,
                       p.deploys.top, p.deploys.top_share, p.deploys.people,
                       p.approvals.top, p.approvals.top_share, p.approvals.people)


async def weekly_review(session: AsyncSession, *, targets: Sequence[Target], week_end: datetime,
                        operators: frozenset[str] = frozenset()) -> Review:
    windows = [Window(week_end - WEEK * (i + 1), week_end - WEEK * i) for i in range(BASELINE_WEEKS, -1, -1)]
    weeks = [await week_figures(session, targets=targets, window=w, operators=operators) for w in windows]
    return Review(tuple(targets), weeks[-1], tuple(weeks[:-1]))


def _failed(release: ReleaseFacts) -> bool:
    return release.detected is not None or release.state == ReleaseState.ROLLED_BACK


async def near_misses(session: AsyncSession, targets: Sequence[Target], window: Window) -> NearMisses:
    shipped: list[int] = []  # deploys that went out and did not fail
    deploys: list[int] = []
    async for release in history.finished_releases(session, targets, window):
        if release.kind != ReleaseKind.DEPLOY:
            continue
        deploys.append(release.id)
        if release.went_out is not None and not _failed(release):
            shipped.append(release.id)
    signals: dict[int, set[str]] = {}
    connection = await session.connection()
    for start in range(0, len(deploys), history.BATCH):
        ids = deploys[start:start + history.BATCH]
        query = (select(DECISIONS.c.release_id, DECISIONS.c.kind)
                 .where(DECISIONS.c.release_id.in_(ids), or_(
                     and_(DECISIONS.c.kind == DecisionKind.GATE_VERDICT.value, DECISIONS.c.outcome == "error"),
                     and_(DECISIONS.c.kind == DecisionKind.STAGE_RESULT.value, DECISIONS.c.actor == "verification",
                          DECISIONS.c.outcome == "inconclusive"),
                     DECISIONS.c.kind == DecisionKind.OVERRIDE.value)))
        for release_id, kind in (await connection.execute(query)).all():
            signals.setdefault(release_id, set()).add(kind)
    count = {kind: sum(1 for kinds in signals.values() if kind in kinds) for kind in
             (DecisionKind.STAGE_RESULT, DecisionKind.GATE_VERDICT, DecisionKind.OVERRIDE)}
    return NearMisses(paused=count[DecisionKind.STAGE_RESULT], inconclusive=count[DecisionKind.GATE_VERDICT],
                      overridden=count[DecisionKind.OVERRIDE], total=sum(1 for r in shipped if r in signals))
