"""Answers to `/deploy status`, `/deploy why` and `/deploy history` (§2), as mrkdwn text.

Releases are named as people tell them apart — id, ref, short commit, requester — and states and
dates are worded by the release view (`ctx.release_view`), so this module needs nothing from Slack.
"""

from __future__ import annotations

from sqlmodel import col, select

from bot.context import AppContext
from bot.release import gating, locks
from bot.release import service as releases
from bot.release.decision import decide
from bot.release.models import EnvironmentState, Lock, Release, ReleaseState
from bot.release.ports import ReleaseView

INDENT = "      "
MAX_QUEUE_SHOWN = 10  # a long queue is summarised, so the answer stays within one Block Kit section


async def status(ctx: AppContext, service: str | None) -> str:
    """Per environment: what runs, the release in flight, the queue in order, and any lock."""
    view, now = ctx.release_view, ctx.clock.now()
    names = [service] if service else sorted(ctx.config.services)
    lines: list[str] = []
    async with ctx.db.session() as session:
        for name in names:
            lines.append(f"*{name}*")
            for env in ctx.config.services[name].environments:
                state = await session.get(EnvironmentState, (name, env))
                lines.append(f"• *{env}*: {_running(state)}")
                active = await releases.active_release(session, service=name, environment=env)
                if active:
                    lines.append(f"{INDENT}in flight: {_described(active)} — {view.state_text(active.state)}")
                queued = await releases.queued_releases(session, service=name, environment=env)
                if queued:
                    lines.append(f"{INDENT}queue: " + _queue(queued, first=2 if active else 1))
                lock = await locks.active_lock(session, service=name, environment=env, now=now)
                if lock:
                    lines.append(INDENT + lock_text(view, lock))
    return "\n".join(lines)


async def why(ctx: AppContext, service: str, environment: str) -> str:
    """What blocks a deploy to SERVICE ENV right now: lock, release in flight, queue, waiting approvals."""
    view, now = ctx.release_view, ctx.clock.now()
    reasons: list[str] = []
    async with ctx.db.session() as session:
        lock = await locks.active_lock(session, service=service, environment=environment, now=now)
        active = await releases.active_release(session, service=service, environment=environment)
        queued = await releases.queued_releases(session, service=service, environment=environment)
        last = (await session.exec(select(Release).where(Release.service == service,
                                                         Release.environment == environment)
                                   .order_by(col(Release.id).desc()))).first()
    if lock:
        reasons.append(lock_text(view, lock))
    if active:
        reasons.append(f":truck: {_described(active)} is in flight ({view.state_text(active.state)})")
        if active.state == ReleaseState.AWAITING_APPROVAL:
            async with ctx.db.session() as session:
                decision = decide(await gating.standings(session, active.id or 0))
            reasons += [f":raised_hand: waiting: {w}" for w in decision.waiting_for]
    if queued:
        reasons.append(f":clock3: {len(queued)} release(s) queued: " + _queue(queued, first=2 if active else 1))
    if not reasons and last is not None and last.state == ReleaseState.BLOCKED:
        async with ctx.db.session() as session:
            decision = decide(await gating.standings(session, last.id or 0))
        reasons.append(f":no_entry: the last release, {_link(last)} `{last.ref}` (`{_short(last.sha)}`), was NO-GO: "
                       "blocked by " + ", ".join(f"`{g}`" for g in decision.blocking)
                       + "; a new deploy re-checks every gate")
    if not reasons:
        return (f"Nothing blocks {service} {environment} right now; "
                f"`/deploy {service} to {environment}` starts a release.")
    return f"*What blocks {service} {environment}:*\n" + "\n".join(reasons)


async def history(ctx: AppContext, service: str, environment: str | None, limit: int = 10) -> str:
    view = ctx.release_view
    async with ctx.db.session() as session:
        rows = await releases.recent_releases(session, service=service, environment=environment, limit=limit)
    if not rows:
        return f"No releases of {service}{' to ' + environment if environment else ''} yet."
    lines = [f"*Recent releases of {service}{' to ' + environment if environment else ''}:*"]
    for r in rows:
        took = ""
        if r.finished_at and r.started_at:
            took = f" in {int((r.finished_at - r.started_at).total_seconds() // 60)}m"
        lines.append(f"• {_link(r)} `{r.ref}` → {r.environment} by <@{r.requested_by}> — {view.state_text(r.state)}"
                     f"{took} · {view.date(r.created_at)}")
    return "\n".join(lines)


def _short(sha: str | None) -> str:
    return sha[:10] if sha else "?"


def _running(state: EnvironmentState | None) -> str:
    if state is None or not state.current_sha:
        return "nothing deployed through Switchman yet"
    source = f", release #{state.current_release_id}" if state.current_release_id else ""
    return f"runs `{state.current_ref}` (`{_short(state.current_sha)}`{source})"


def _described(release: Release) -> str:
    """A release as people tell releases apart: id, ref, commit and who asked for it."""
    return f"{_link(release)} `{release.ref}` (`{_short(release.sha)}`) by <@{release.requested_by}>"


def _queue(queued: list[Release], *, first: int) -> str:
    """The queue in order, numbered as in line: the release in flight, when there is one, is number 1."""
    shown = [f"{i}. {_described(r)}" for i, r in enumerate(queued[:MAX_QUEUE_SHOWN], start=first)]
    more = len(queued) - MAX_QUEUE_SHOWN
    return " · ".join(shown) + (f" · …and {more} more" if more > 0 else "")


def _link(release: Release) -> str:
    permalink = (release.detail or {}).get("permalink")
    return f"<{permalink}|#{release.id}>" if permalink else f"#{release.id}"


def lock_text(view: ReleaseView, lock: Lock) -> str:
    return f":lock: locked by <@{lock.holder}> until {view.date(lock.expires_at)}: {lock.reason}"
