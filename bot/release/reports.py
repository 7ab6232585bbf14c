"""Answers to `/deploy status`, `/deploy why` and `/deploy history` (§2), as mrkdwn text."""

from __future__ import annotations

from sqlmodel import col, select

from bot.context import AppContext
from bot.release import gating, locks
from bot.release import service as releases
from bot.release.decision import decide
from bot.release.models import EnvironmentState, Lock, Release, ReleaseState
from bot.slack.dates import slack_date
from bot.slack.release_blocks import short, state_text


async def status(ctx: AppContext, service: str | None) -> str:
    names = [service] if service else sorted(ctx.config.services)
    now = ctx.clock.now()
    lines: list[str] = []
    async with ctx.db.session() as session:
        for name in names:
            lines.append(f"*{name}*")
            for env in ctx.config.services[name].environments:
                state = await session.get(EnvironmentState, (name, env))
                running = (f"`{state.current_ref}` (`{short(state.current_sha)}`)" if state and state.current_sha
                           else "nothing deployed through Switchman yet")
                parts = [f"• *{env}*: {running}"]
                active = await releases.active_release(session, service=name, environment=env)
                if active:
                    parts.append(f"in flight: {_link(active)} by <@{active.requested_by}> — {state_text(active.state)}")
                queued = await releases.queued_releases(session, service=name, environment=env)
                if queued:
                    parts.append("queue: " + ", ".join(f"{i}. {_link(r)} by <@{r.requested_by}>"
                                                        for i, r in enumerate(queued, start=2)))
                lock = await locks.active_lock(session, service=name, environment=env, now=now)
                if lock:
                    parts.append(lock_text(lock))
                lines.append(" · ".join(parts))
    return "\n".join(lines)


async def why(ctx: AppContext, service: str, environment: str) -> str:
    """What blocks a deploy to SERVICE ENV right now: lock, release in flight, queue, waiting approvals."""
    now = ctx.clock.now()
    reasons: list[str] = []
    async with ctx.db.session() as session:
        lock = await locks.active_lock(session, service=service, environment=environment, now=now)
        active = await releases.active_release(session, service=service, environment=environment)
        queued = await releases.queued_releases(session, service=service, environment=environment)
        last = (await session.exec(select(Release).where(Release.service == service,
                                                         Release.environment == environment)
                                   .order_by(col(Release.id).desc()))).first()
    if lock:
        reasons.append(lock_text(lock))
    if active:
        reasons.append(f":truck: {_link(active)} by <@{active.requested_by}> is in flight ({state_text(active.state)})")
        if active.state == ReleaseState.AWAITING_APPROVAL:
            async with ctx.db.session() as session:
                decision = decide(await gating.standings(session, active.id or 0))
            reasons += [f":raised_hand: waiting: {w}" for w in decision.waiting_for]
    if queued:
        reasons.append(f":clock3: {len(queued)} release(s) queued: " + ", ".join(_link(r) for r in queued))
    if not reasons and last is not None and last.state == ReleaseState.BLOCKED:
        async with ctx.db.session() as session:
            decision = decide(await gating.standings(session, last.id or 0))
        reasons.append(f":no_entry: the last release, {_link(last)}, was NO-GO: blocked by "
                       + ", ".join(f"`{g}`" for g in decision.blocking) + "; a new deploy re-checks every gate")
    if not reasons:
        return (f"Nothing blocks {service} {environment} right now; "
                f"`/deploy {service} to {environment}` starts a release.")
    return f"*What blocks {service} {environment}:*\n" + "\n".join(reasons)


async def history(ctx: AppContext, service: str, environment: str | None, limit: int = 10) -> str:
    async with ctx.db.session() as session:
        rows = await releases.recent_releases(session, service=service, environment=environment, limit=limit)
    if not rows:
        return f"No releases of {service}{' to ' + environment if environment else ''} yet."
    lines = [f"*Recent releases of {service}{' to ' + environment if environment else ''}:*"]
    for r in rows:
        took = ""
        if r.finished_at and r.started_at:
            took = f" in {int((r.finished_at - r.started_at).total_seconds() // 60)}m"
        lines.append(f"• {_link(r)} `{r.ref}` → {r.environment} by <@{r.requested_by}> — {state_text(r.state)}{took}"
                     f" · {slack_date(r.created_at)}")
    return "\n".join(lines)


def _link(release: Release) -> str:
    permalink = (release.detail or {}).get("permalink")
    return f"<{permalink}|#{release.id}>" if permalink else f"#{release.id}"


def lock_text(lock: Lock) -> str:
    return f":lock: locked by <@{lock.holder}> until {slack_date(lock.expires_at)}: {lock.reason}"


