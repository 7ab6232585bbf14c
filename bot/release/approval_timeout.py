"""Time-boxed reviews (§4 `approval_timeout`): a release nobody answers in time is escalated, once.

When a release starts waiting for people (approvals, a pair), the instant is stored on it
(`detail.waiting_since`) in the transaction of the WAITING decision, and a timer is set for
`waiting_since + approval_timeout`. When it fires and the release still waits, the on-call primary of
the service's rotation is asked — mentioned in the thread and sent a DM through the outbox — and the
wait is recorded in the ledger; `detail.escalated`, written in that same transaction under the row
lock, makes a second firing (a restart, another replica) do nothing. Timers live in memory only, so
`plan_jobs` sets them again from the release rows at start and on a takeover.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config.durations import format_duration
from bot.context import AppContext
from bot.ledger.models import DecisionKind as LedgerKind
from bot.oncall.roster import current_shift
from bot.outbox import queue as outbox
from bot.release import store
from bot.release.models import GateResult, Release, ReleaseState, Verdict
from bot.release.thread import ReleaseThread

JOB = "release_approval_timeout"
SYSTEM = "switchman"


def job_id(release_id: int) -> str:
    return f"approval-timeout-{release_id}"


def schedule(ctx: AppContext, release_id: int, at: datetime) -> None:
    ctx.scheduler.schedule(job_id(release_id), at, JOB, release_id=release_id)


def due_at(ctx: AppContext, release: Release) -> datetime | None:
    """When the release's wait escalates: None without `approval_timeout`, or once escalated."""
    env = ctx.config.services[release.service].environments[release.environment]
    detail = release.detail or {}
    if env.approval_timeout is None or detail.get("escalated") or not detail.get("waiting_since"):
        return None
    return datetime.fromisoformat(str(detail["waiting_since"])) + env.approval_timeout


async def start_waiting(session: AsyncSession, ctx: AppContext, release: Release, *, now: datetime) -> datetime | None:
    """In the WAITING decision's transaction: note when the wait began (the first time); returns when it is due."""
    detail = release.detail or {}
    if not detail.get("waiting_since"):
        release.detail = {**detail, "waiting_since": now.isoformat()}
        session.add(release)
    return due_at(ctx, release)


async def escalate(ctx: AppContext, release_id: int) -> bool:
    """Ask the on-call primary about a release still waiting past its timeout; True when this call did."""
    release = await store.load(ctx.db, release_id)
    due, now = due_at(ctx, release), ctx.clock.now()
    if release.state != ReleaseState.AWAITING_APPROVAL or due is None:
        return False
    if due > now:
        schedule(ctx, release_id, due)
        return False
    names = ctx.config.rotations_for_service(release.service)
    shift = await current_shift(ctx, names[0], now) if names else None
    primary = shift.primary if shift else None
    thread = ReleaseThread(ctx.config, ctx.release_view)
    async with ctx.db.session() as session:
        row = await store.hold(session, release_id, fence=ctx.leader.fence())
        if row.state != ReleaseState.AWAITING_APPROVAL or due_at(ctx, row) is None:
            return False  # answered, ended or escalated meanwhile
        waiting_for = await _waiting_for(session, release_id)
        waited = now - datetime.fromisoformat(str((row.detail or {})["waiting_since"]))
        timeout = ctx.config.services[row.service].environments[row.environment].approval_timeout
        assert timeout is not None  # due_at said so
        what = f"release #{row.id} ({row.service} `{row.ref}` → {row.environment})"
        link = (row.detail or {}).get("permalink")
        if primary is not None:
            text = (f":alarm_clock: Nobody answered within {format_duration(timeout)}: "
                    f"<@{primary}>, as on-call primary of {names[0]}, please look at {what}. Waiting for: "
                    + "; ".join(waiting_for))
        else:
            text = (f":alarm_clock: Nobody answered within {format_duration(timeout)}, and "
                    f"nobody is on call as primary for {', '.join(names) or row.service} to escalate to.")
        decision = await thread.record(
            session, row, kind=LedgerKind.ESCALATION, actor=SYSTEM,
            outcome="escalated" if primary else "nobody_on_call", now=now,
            evidence={"waited_seconds": round(waited.total_seconds()), "timeout": format_duration(timeout),
                      "to": primary, "rotation": names[0] if names else None, "waiting_for": waiting_for},
            message=ctx.release_view.note(text))
        await store.save(session, row, now=now, detail={**(row.detail or {}), "escalated": {
            "at": now.isoformat(), "to": primary, "seq": decision.seq}})
        if primary is not None:
            where = f" — <{link}|the thread>" if link else f" in {thread.channel(row)}"
            outbox.direct(session, user=primary, now=now, decision_seq=decision.seq, message=ctx.release_view.note(
                f":alarm_clock: You are on call for {names[0]}: {what} has waited "
                f"{format_duration(waited)} for " + "; ".join(waiting_for) + where))
    return True


async def _waiting_for(session: AsyncSession, release_id: int) -> list[str]:
    """The evidence of each gate still waiting (approvals missing, a pair to join), latest verdicts only."""
    rows = (await session.exec(select(GateResult).where(GateResult.release_id == release_id)
                               .order_by(col(GateResult.attempt)))).all()
    latest = {r.gate: r for r in rows}
    return [r.evidence for r in latest.values() if r.verdict == Verdict.WAITING] or ["a decision"]


def register_jobs(ctx: AppContext) -> None:
    async def escalate_job(release_id: int) -> None:
        await escalate(ctx, release_id)

    ctx.scheduler.register(JOB, escalate_job)


async def plan_jobs(ctx: AppContext) -> None:
    """At start (or on taking leadership): set the timer of every release still waiting for people."""
    async with ctx.db.session() as session:
        waiting = (await session.exec(select(Release).where(Release.state == ReleaseState.AWAITING_APPROVAL))).all()
    for release in waiting:
        due = due_at(ctx, release) if release.service in ctx.config.services else None
        if due is not None and release.id is not None:
            schedule(ctx, release.id, due)
