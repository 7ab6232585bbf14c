"""Delivery and confidence metrics for production over a window (§8; definitions in docs/metrics.md).

`compute` is the whole computation: it streams the releases that finished in the window a batch
at a time through the accumulators (`delivery`, `waits`), has the database count per person
(`people`), and returns figures — None wherever there was nothing to measure. `for_service` picks
the production environments and the ops people from the config and opens its own session.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config.models import SwitchmanConfig
from bot.evidence import history
from bot.evidence.delivery import Delivery, DeliveryFigures
from bot.evidence.people import PeopleFigures, people_figures
from bot.evidence.waits import WaitPart, Waits
from bot.evidence.windows import DEFAULT_DAYS, Target, Window, operators, production_targets, window_ending
from bot.storage.database import Database


@dataclass(frozen=True)
class Metrics:
    targets: tuple[Target, ...]
    window: Window
    delivery: DeliveryFigures
    waits: tuple[WaitPart, ...]
    people: PeopleFigures


async def compute(session: AsyncSession, *, targets: Sequence[Target], window: Window,
                  operators: frozenset[str] = frozenset(), batch: int = history.BATCH) -> Metrics:
    delivery, waits = Delivery(), Waits()
    async for release in history.finished_releases(session, targets, window, batch=batch):
        delivery.add(release)
        waits.add(release)
    people = people_figures(await history.deploys_per_requester(session, targets, window),
                            await history.approvals_per_approver(session, targets, window), operators=operators)
    return Metrics(tuple(targets), window, delivery.figures(window), waits.figures(), people)


async def for_service(db: Database, config: SwitchmanConfig, *, service: str | None, now: datetime,
                      days: int = DEFAULT_DAYS) -> Metrics:
    """The metrics of one service's production environment, or of every service's, for `days` before `now`."""
    async with db.session() as session:
        return await compute(session, targets=production_targets(config, service), window=window_ending(now, days),
                             operators=operators(config))
