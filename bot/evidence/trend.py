"""The four keys week by week: twelve consecutive 7-day windows ending now, each computed by `metrics.compute`.

A week here is a window of the same kind `/deploy metrics` uses, `(end - 7 days, end]`, so a release
falls in exactly one week and a week's figures are the ones `/deploy metrics --days 7` would have
given at its end. Lead time is the figure `bot/evidence` computes (`lead_time` below is the one
place that picks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.evidence.delivery import DeliveryFigures
from bot.evidence.metrics import compute
from bot.evidence.spread import Spread
from bot.evidence.windows import Target, Window
from bot.storage.database import Database

WEEK = timedelta(days=7)
TREND_WEEKS = 12


@dataclass(frozen=True)
class WeekPoint:
    window: Window
    deploys_per_week: float  # successful production deploys in the week
    lead_time_hours: float | None  # median
    change_failure_rate: float | None  # 0..1
    time_to_restore_hours: float | None  # median
    deploys: int  # finished in the week, whatever their outcome


@dataclass(frozen=True)
class Trend:
    targets: tuple[Target, ...]
    weeks: tuple[WeekPoint, ...]  # oldest first


def lead_time(delivery: DeliveryFigures) -> Spread:
    """The lead time figure the evidence package gives (request → production today)."""
    return delivery.request_to_production


def week_windows(end: datetime, weeks: int = TREND_WEEKS) -> list[Window]:
    if end.tzinfo is None:
        raise ValueError("the trend's end must be timezone-aware")
    if weeks < 1:
        raise ValueError("a trend has at least one week")
    return [Window(end - WEEK * (weeks - i), end - WEEK * (weeks - i - 1)) for i in range(weeks)]


async def weekly_trend(session: AsyncSession, *, targets: Sequence[Target], end: datetime,
                       weeks: int = TREND_WEEKS) -> Trend:
    points = []
    for window in week_windows(end, weeks):
        d = (await compute(session, targets=targets, window=window)).delivery
        points.append(WeekPoint(window, d.per_week, _hours(lead_time(d).median), d.change_failure_rate,
                                _hours(d.time_to_restore.median), d.deploys))
    return Trend(tuple(targets), tuple(points))


def _hours(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds() / 3600


async def trend_for(db: Database, targets: Sequence[Target], *, end: datetime, weeks: int = TREND_WEEKS) -> Trend:
    """`weekly_trend` in a session of its own."""
    async with db.session() as session:
        return await weekly_trend(session, targets=targets, end=end, weeks=weeks)
