"""Reading and changing release rows: loads, field updates, state changes through the machine, leases.

State changes are conditional updates (`… WHERE state = <what we read>`), so of two writers that
read the same state only one moves the release; the other learns it lost and does nothing. Every
function takes its session explicitly and keyword-only arguments after the first two.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, true, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config.models import SwitchmanConfig
from bot.providers.base import DeployTarget
from bot.release import drill_steps, risk_controls
from bot.release.machine import Event, next_state
from bot.release.models import IN_FLIGHT, Release, ReleaseKind, ReleaseState
from bot.storage.database import Database
from bot.storage.leadership import Deposed

Fence = ColumnElement[bool]
TRUE: Fence = true()
LEASE = timedelta(minutes=2)  # renewed on every poll; a crashed holder's lease lapses this soon


async def get(session: AsyncSession, release_id: int) -> Release:
    release = await session.get(Release, release_id)
    if release is None:
        raise LookupError(f"release {release_id} does not exist")
    return release


async def load(db: Database, release_id: int) -> Release:
    async with db.session() as session:
        return await get(session, release_id)


async def save(session: AsyncSession, release: Release, *, now: datetime, **changes: Any) -> Release:
    for name, value in changes.items():
        setattr(release, name, value)
    release.updated_at = now
    session.add(release)
    await session.flush()
    return release


async def apply(session: AsyncSession, release: Release, event: Event, *, now: datetime, **changes: Any) -> bool:
    """Move `release` by `event` if it is still in the state it was read in; False when it was not."""
    to = next_state(release.state, event)
    values: dict[str, Any] = {"state": to.value, "updated_at": now, **changes}
    if to not in IN_FLIGHT and to != ReleaseState.QUEUED and release.finished_at is None:
        values["finished_at"] = now
    if to in IN_FLIGHT and release.started_at is None:
        values["started_at"] = now
    result = await session.exec(update(Release).where(col(Release.id) == release.id,
                                                      col(Release.state) == release.state).values(**values))
    if result.rowcount != 1:
        await session.refresh(release)
        return False
    await session.refresh(release)
    return True


async def take_lease(db: Database, release_id: int, *, now: datetime, fence: Fence = TRUE) -> bool:
    """Become the one task stepping this release, unless another holds a live lease (or, under an
    election, this process no longer leads: `fence`)."""
    async with db.session() as session:
        result = await session.exec(update(Release).where(
            col(Release.id) == release_id, fence,
            or_(col(Release.lease_until).is_(None), col(Release.lease_until) < now)).values(lease_until=now + LEASE))
        return bool(result.rowcount == 1)


async def renew_lease(db: Database, release_id: int, *, now: datetime, fence: Fence = TRUE) -> None:
    """Keep the lease; raises `Deposed` when another replica leads now."""
    async with db.session() as session:
        result = await session.exec(update(Release).where(col(Release.id) == release_id, fence)
                                    .values(lease_until=now + LEASE))
        if result.rowcount != 1:
            raise Deposed(f"release {release_id}: another replica leads now")


async def drop_lease(db: Database, release_id: int, *, fence: Fence = TRUE) -> None:
    async with db.session() as session:
        await session.exec(update(Release).where(col(Release.id) == release_id, fence)
                           .values(lease_until=None))


async def hold(session: AsyncSession, release_id: int, *, fence: Fence = TRUE) -> Release:
    """Lock the release's row for the rest of this transaction and read it afresh, so what the
    transaction decides from it cannot race another writer; raises `Deposed` when, under an election,
    this process no longer leads."""
    row = (await session.exec(select(Release).where(col(Release.id) == release_id, fence)
                              .with_for_update().execution_options(populate_existing=True))).first()
    if row is None:
        raise Deposed(f"release {release_id}: another replica leads now")
    return row


SUBJECT_MAX = 255  # the ledger's subject column


def subject(release: Release) -> str:
    """`service/environment@ref`, shortened to fit the ledger (the full ref is on the release row)."""
    text = f"{release.service}/{release.environment}@{release.ref}"
    return text if len(text) <= SUBJECT_MAX else text[:SUBJECT_MAX - 1] + "…"


def stages_of(config: SwitchmanConfig, release: Release) -> list[int]:
    """A canary's stages (a risk level may have forced the canary and its stages); a drill's two steps,
    back then forward; one stage otherwise."""
    env = config.services[release.service].environments[release.environment]
    if release.kind == ReleaseKind.DRILL:
        return [100, 100]
    if release.kind == ReleaseKind.ROLLBACK or release.strategy != "canary":
        return [100]
    return risk_controls.stages(env, release)


def target(config: SwitchmanConfig, release: Release, stage: int) -> DeployTarget:
    """What the provider is asked to deploy for one stage of `release` (a drill's stage is one of its steps)."""
    service = config.services[release.service]
    ref, sha = release.ref, release.sha or release.ref
    rollback = release.kind == ReleaseKind.ROLLBACK
    if drill_steps.is_drill(release):
        found = drill_steps.step(release, release.stage_index)
        ref, sha = str(found["ref"]), str(found["sha"])
        rollback = release.stage_index == drill_steps.BACK
    names_commit = re.fullmatch(r"[0-9a-f]{7,40}", ref) is not None and sha.startswith(ref)
    branch = service.environments[release.environment].branch
    workflow = service.rollback_workflow if rollback and service.rollback_workflow else service.workflow
    return DeployTarget(repo=service.repo, workflow=workflow, service=release.service,
                        environment=release.environment, ref=ref, sha=sha,
                        strategy=release.strategy, stage=stage, release_id=release.id or 0,
                        rollback=rollback, dispatch_ref=branch if names_commit else None, job=service.job,
                        application=service.environments[release.environment].application)
