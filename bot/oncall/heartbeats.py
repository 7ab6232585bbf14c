"""Heartbeats (§6): a monitoring pipeline checks in; when it falls silent, the rotation is paged once.

A rotation declares `heartbeats: {NAME: {every: 5m, secret_env: …}}`. A heartbeat is pinged at
`POST /webhooks/heartbeat/NAME/SECRET` (the secret from its `secret_env`, compared in constant
time, never logged) or by its Alertmanager alert (`alertname`, default `Watchdog`) routed to
the rotation. Its last ping is stored in `heartbeats`; its clock starts when Switchman first
sees it configured.

One scheduled job per heartbeat (`heartbeat-ROTATION-NAME`) checks it when it is next due, and
`plan_jobs` re-schedules every one from the table at start, so a restart misses nothing. An
overdue heartbeat opens a page with the dedup key `heartbeat:NAME`: the open-page unique key
makes that once per silence, however often the check runs or how many replicas run it. A ping
records itself, moves the next check, and resolves that page.
"""

from __future__ import annotations

import hmac
import logging
from datetime import datetime

from bot.config.models import Heartbeat
from bot.context import AppContext
from bot.oncall import paging
from bot.oncall.heartbeat_models import HeartbeatRecord

log = logging.getLogger(__name__)
JOB = "heartbeat_check"
SOURCE = "heartbeat"


def job_id(rotation: str, name: str) -> str:
    return f"heartbeat-{rotation}-{name}"


def dedup_key(name: str) -> str:
    return f"heartbeat:{name}"


def find(ctx: AppContext, name: str) -> tuple[str, Heartbeat] | None:
    """The rotation declaring heartbeat `name` (names are unique across rotations), and the heartbeat."""
    for rotation, config in ctx.config.rotations.items():
        if name in config.heartbeats:
            return rotation, config.heartbeats[name]
    return None


def for_alert(ctx: AppContext, rotations: list[str], alertname: str | None) -> list[tuple[str, str]]:
    """The (rotation, heartbeat) pairs an alert named `alertname`, routed to `rotations`, pings."""
    return [(r, name) for r in rotations for name, beat in ctx.config.rotations[r].heartbeats.items()
            if alertname is not None and beat.alertname == alertname]


def register_jobs(ctx: AppContext) -> None:
    async def check_job(rotation: str, heartbeat: str) -> None:
        await check(ctx, rotation=rotation, name=heartbeat)

    ctx.scheduler.register(JOB, check_job)


async def plan_jobs(ctx: AppContext) -> None:
    """Start the clock of heartbeats seen for the first time; schedule each one's next check."""
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        for rotation, config in ctx.config.rotations.items():
            for name in config.heartbeats:
                if await session.get(HeartbeatRecord, (rotation, name)) is None:
                    session.add(HeartbeatRecord(rotation=rotation, name=name, last_seen_at=now))
    for rotation, config in ctx.config.rotations.items():
        for name, beat in config.heartbeats.items():
            async with ctx.db.session() as session:
                record = await session.get(HeartbeatRecord, (rotation, name))
            assert record is not None
            _schedule(ctx, rotation, name, record.last_seen_at + beat.every)


def _schedule(ctx: AppContext, rotation: str, name: str, at: datetime) -> None:
    ctx.scheduler.schedule(job_id(rotation, name), at, JOB, rotation=rotation, heartbeat=name)


async def check(ctx: AppContext, *, rotation: str, name: str) -> None:
    """Page the rotation if the heartbeat is overdue (once: a page already open for it is a duplicate)."""
    config = ctx.config.rotations.get(rotation)
    beat = config.heartbeats.get(name) if config else None
    if beat is None:
        return  # no longer configured
    async with ctx.db.session() as session:
        record = await session.get(HeartbeatRecord, (rotation, name))
    if record is None:
        return
    now, due = ctx.clock.now(), record.last_seen_at + beat.every
    if now < due:  # pinged since this check was scheduled
        _schedule(ctx, rotation, name, due)
        return
    title = (f"monitoring has gone silent: heartbeat {name}, last seen {record.last_seen_at:%Y-%m-%d %H:%M:%S} UTC "
             f"(expected every {_duration(beat.every.total_seconds())})")
    details = {"severity": "critical", "heartbeat": name, "last_seen_at": record.last_seen_at.isoformat(),
               "every_seconds": beat.every.total_seconds(),
               "description": (f"Heartbeat {name} of {rotation} has not checked in since "
                               f"{record.last_seen_at:%Y-%m-%d %H:%M:%S} UTC; the alerting pipeline may be broken, "
                               "so other alerts may not reach anyone. This page resolves when it checks in again.")}
    outcome = await paging.open_page(ctx, rotation=rotation, source=SOURCE, dedup_key=dedup_key(name), title=title,
                                     details=details)
    if not outcome.duplicate:
        log.warning("heartbeat overdue; rotation paged", extra={"rotation": rotation, "heartbeat": name,
                                                                "page": outcome.page.id})


async def ping(ctx: AppContext, *, rotation: str, name: str) -> int | None:
    """Record a check-in, schedule the next check, resolve the silence page; returns the page resolved, if any."""
    beat = ctx.config.rotations[rotation].heartbeats[name]
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        record = await session.get(HeartbeatRecord, (rotation, name), with_for_update=True)
        if record is None:
            record = HeartbeatRecord(rotation=rotation, name=name, last_seen_at=now)
        record.last_seen_at = max(record.last_seen_at, now)
        record.pings += 1
        session.add(record)
    _schedule(ctx, rotation, name, now + beat.every)
    async with ctx.db.session() as session:
        page = await paging.open_page_with_key(session, rotation=rotation, dedup_key=dedup_key(name))
    if page is None or page.id is None:
        return None
    await paging.resolve(ctx, page.id, f"heartbeat {name}", system=True)
    log.info("heartbeat back; its page resolved", extra={"rotation": rotation, "heartbeat": name, "page": page.id})
    return page.id


async def ping_by_secret(ctx: AppContext, *, name: str, secret: str) -> bool:
    """Ping heartbeat `name` if `secret` is its secret; False (nothing changed) otherwise."""
    found = find(ctx, name)
    expected = ctx.settings.secret(found[1].secret_env) if found and found[1].secret_env else None
    # Compare even when there is nothing to compare with, so timing does not tell which names exist.
    matches = hmac.compare_digest(secret.encode(), (expected or "\0" * 32).encode())
    if found is None or expected is None or not matches:
        return False
    await ping(ctx, rotation=found[0], name=name)
    return True


def _duration(seconds: float) -> str:
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"
