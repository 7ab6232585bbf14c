"""What people do to a release after it is requested: approve, reject, override, cancel, promote, abort;
and environment locks.

Each action checks who may do it, then records itself — ledger row, the state change it causes and
its thread reply — in one transaction, and hands the release to the engine. A repeated click is
harmless: the database refuses a second vote by the same person, and state changes are conditional.
A repeated delivery of one request (a Slack retry) does nothing at all: each action claims its
`request_key` (`handled_requests`) first in that transaction, and a repeat answers what the first
delivery answered.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from bot.config.gates import Approval as ApprovalGate
from bot.context import AppContext
from bot.errors import Blocked, NotAllowed
from bot.ledger import service as ledger
from bot.ledger.models import DecisionKind as LedgerKind
from bot.outbox import queue as outbox
from bot.release import engine, gating, locks, outcomes, rollback, rollout, store
from bot.release import service as releases
from bot.release.gates.builtin import approval_outcome, approvals_of
from bot.release.machine import Event, allows
from bot.release.models import Approval, GateOverride, GateResult, Release, ReleaseState
from bot.release.promoters import check_promoter
from bot.release.steps import RollBack
from bot.storage import handled_requests as handled


async def _release(ctx: AppContext, release_id: int) -> Release:
    async with ctx.db.session() as session:
        release = await session.get(Release, release_id)
    if release is None:
        raise Blocked(f"release #{release_id} does not exist")
    return release


def _approval_gate(ctx: AppContext, release: Release) -> ApprovalGate | None:
    """The approval the release needs: its environment's, raised or added by its risk level."""
    return next((g for g in gating.gates_for(ctx, release) if isinstance(g, ApprovalGate)), None)


def _state(ctx: AppContext, release: Release) -> str:
    return ctx.release_view.state_text(release.state)


async def vote(ctx: AppContext, release_id: int, *, user: str, approve: bool, comment: str | None = None,
               request_key: str | None = None) -> str:
    """Approve or reject; returns what to tell the voter."""
    release = await _release(ctx, release_id)
    gate = _approval_gate(ctx, release)
    if gate is None:
        raise Blocked(f"release #{release_id} needs no approval")
    if release.state != ReleaseState.AWAITING_APPROVAL:
        raise Blocked(f"release #{release_id} is not waiting for approval; it is {_state(ctx, release)}")
    if user == release.requested_by:
        raise NotAllowed(f"you requested release #{release_id}, so you cannot {'approve' if approve else 'reject'} "
                         f"it; someone else in {gate.group} must.")
    if user not in await ctx.directory.members(gate.group):
        raise NotAllowed(f"only members of {gate.group} can approve or reject release #{release_id}")
    verb = "approved" if approve else "rejected"
    thread = gating.thread_of(ctx)
    try:
        async with ctx.db.session() as session:
            now = ctx.clock.now()
            claim = await handled.claim(session, key=request_key, kind="release-vote", now=now)
            if claim.repeat:
                return claim.earlier
            row = await store.get(session, release_id)
            if row.state != ReleaseState.AWAITING_APPROVAL:
                raise Blocked(f"release #{release_id} is no longer waiting for approval; it is {_state(ctx, row)}")
            session.add(Approval(release_id=release_id, approver=user, approved=approve, comment=comment,
                                 decided_at=now))
            await session.flush()
            standing = approval_outcome(gate, await approvals_of(session, release_id), requested_by=row.requested_by)
            session.add(GateResult(release_id=release_id, gate="approval",
                                   attempt=await gating.next_attempt(session, release_id, "approval"),
                                   verdict=standing.verdict, evidence=standing.evidence, started_at=now,
                                   finished_at=now, overridable=gate.overridable))
            await thread.record(session, row, kind=LedgerKind.APPROVAL if approve else LedgerKind.REJECTION,
                                actor=user, outcome=verb, now=now,
                                evidence={"comment": comment, "gate_now": standing.verdict.value},
                                message=ctx.release_view.note(
                                    f"{':thumbsup:' if approve else ':thumbsdown:'} <@{user}> {verb} release "
                                    f"#{release_id}" + (f": {comment}" if comment else "")))
            answer = claim.answer(f"you {verb} release #{release_id}")
    except IntegrityError:
        return f"you already voted on release #{release_id}; your vote counts once"
    await gating.decide_now(ctx, release_id, actor=user)
    engine.kick(ctx, release_id)
    return answer


async def override(ctx: AppContext, release_id: int, *, user: str, gates: list[str], reason: str,
                   request_key: str | None = None) -> str:
    release = await _release(ctx, release_id)
    env = ctx.config.services[release.service].environments[release.environment]
    reason = reason.strip()
    if not reason:
        raise Blocked("an override needs a reason; it is recorded as special handling")
    if not env.overriders or not await ctx.directory.is_in_any(user, env.overriders):
        raise NotAllowed(f"you may not override gates in {release.environment}"
                         + (f"; its overriders are {', '.join(env.overriders)}" if env.overriders else
                            "; no one is configured as an overrider there"))
    async with ctx.db.session() as session:
        standings = {s.gate: s for s in await gating.standings(session, release_id)}
    allowed = [g for g in gates if g in standings and standings[g].verdict.blocks and standings[g].overridable]
    if not allowed:
        raise Blocked("none of those gates is failing and overridable: " + ", ".join(f"`{g}`" for g in gates))
    if release.state != ReleaseState.BLOCKED:
        raise Blocked(f"release #{release_id} is {_state(ctx, release)}; only a blocked release can be overridden")
    thread = gating.thread_of(ctx)
    try:
        async with ctx.db.session() as session:
            now = ctx.clock.now()
            claim = await handled.claim(session, key=request_key, kind="release-override", now=now)
            if claim.repeat:
                return claim.earlier
            active = await releases.active_release(session, service=release.service,
                                                   environment=release.environment)
            if active is not None:
                raise Blocked(f"release #{active.id} is in flight to {release.environment}; override again when "
                              "it finishes")
            row = await store.get(session, release_id)
            async with session.begin_nested():
                moved = await store.apply(session, row, Event.OVERRIDE, now=now, finished_at=None)
            if not moved:
                raise Blocked(f"release #{release_id} changed while you were overriding it; look at its thread")
            for gate in allowed:
                session.add(GateOverride(release_id=release_id, gate=gate, actor=user, reason=reason, decided_at=now))
            await thread.record(session, row, kind=LedgerKind.OVERRIDE, actor=user, outcome="overridden", now=now,
                                evidence={"gates": allowed, "reason": reason, "special_handling": True},
                                message=ctx.release_view.note(
                                    f":warning: *Special handling:* <@{user}> overrode "
                                    f"{', '.join(f'`{g}`' for g in allowed)}: {reason}"))
            answer = claim.answer(f"you overrode {', '.join(allowed)} on release #{release_id}")
    except IntegrityError:
        raise Blocked(f"another release just started in {release.environment}; override again later") from None
    engine.kick(ctx, release_id)
    return answer


async def cancel(ctx: AppContext, release_id: int, *, user: str, request_key: str | None = None) -> str:
    release = await _release(ctx, release_id)
    env = ctx.config.services[release.service].environments[release.environment]
    allowed = user == release.requested_by or await ctx.directory.is_in_any(user, env.deployers + env.overriders)
    if not allowed:
        raise NotAllowed(f"only the requester (<@{release.requested_by}>) or {release.environment}'s deployers and "
                         f"overriders can cancel release #{release_id}")
    if not allows(release.state, Event.CANCEL):
        raise Blocked(f"release #{release_id} already ended: {_state(ctx, release)}")
    running = release.provider_run_id and release.state in (ReleaseState.ROLLING_OUT, ReleaseState.VERIFYING)
    async with ctx.db.session() as session:
        claim = await handled.claim(session, key=request_key, kind="release-cancel", now=ctx.clock.now())
        if claim.repeat:
            return claim.earlier
        row = await store.get(session, release_id)
        ended = await outcomes.end(session, gating.thread_of(ctx), row, Event.CANCEL, f"cancelled by <@{user}>",
                                   now=ctx.clock.now(), actor=user)
        if ended is None:
            raise Blocked(f"release #{release_id} ended while you were cancelling it")
        answer = claim.answer(f"release #{release_id} is cancelled")
    if running:  # the release is cancelled already; a run that will not stop must not hold up the queue
        await rollback.cancel_run(ctx, release)
    engine.kick(ctx, release_id)
    return answer


async def lock(ctx: AppContext, *, service: str, environment: str, user: str, reason: str,
               duration: timedelta, request_key: str | None = None) -> str:
    channel = ctx.config.services[service].channel
    async with ctx.db.session() as session:
        now = ctx.clock.now()
        claim = await handled.claim(session, key=request_key, kind="lock", now=now)
        if claim.repeat:
            return claim.earlier
        taken, previous = await locks.take_lock(session, service=service, environment=environment, holder=user,
                                                reason=reason, duration=duration, now=now)
        until = ctx.release_view.date(taken.expires_at)
        replaced = f" (replacing <@{previous.holder}>'s lock)" if previous else ""
        row = await ledger.record(session, kind=LedgerKind.LOCK, actor=user, decided_at=now,
                                  subject=f"{service}/{environment}", outcome="locked",
                                  evidence={"reason": reason, "expires_at": taken.expires_at.isoformat(),
                                            "replaced": previous.id if previous else None})
        outbox.post(session, thread=f"channel:{channel}", channel=channel, now=now, decision_seq=row.seq,
                    message=ctx.release_view.note(f":lock: <@{user}> locked {service} {environment} until {until}"
                                                  f"{replaced}: {reason}"))
        return claim.answer(f"{service} {environment} is locked until {until}")


async def unlock(ctx: AppContext, *, service: str, environment: str, user: str,
                 request_key: str | None = None) -> str:
    channel = ctx.config.services[service].channel
    async with ctx.db.session() as session:
        now = ctx.clock.now()
        claim = await handled.claim(session, key=request_key, kind="unlock", now=now)
        if claim.repeat:
            return claim.earlier
        released = await locks.release_lock(session, service=service, environment=environment, by=user, now=now)
        if released is None:
            raise Blocked(f"{service} {environment} is not locked")
        row = await ledger.record(session, kind=LedgerKind.UNLOCK, actor=user, decided_at=now,
                                  subject=f"{service}/{environment}", outcome="unlocked",
                                  evidence={"lock": released.id, "holder": released.holder})
        outbox.post(session, thread=f"channel:{channel}", channel=channel, now=now, decision_seq=row.seq,
                    message=ctx.release_view.note(f":unlock: <@{user}> unlocked {service} {environment} (locked by "
                                                  f"<@{released.holder}>: {released.reason})"))
        return claim.answer(f"{service} {environment} is unlocked")


async def promote(ctx: AppContext, release_id: int, *, user: str) -> str:
    """Carry on past a paused verification (inconclusive or failed): overriders (else approvers), special handling."""
    release = await _release(ctx, release_id)
    env = ctx.config.services[release.service].environments[release.environment]
    await check_promoter(ctx, release, env, user=user)
    async with ctx.db.session() as session:
        now = ctx.clock.now()
        row = await store.get(session, release_id)
        paused_for = (row.detail or {}).get("paused_for")
        if not allows(row.state, Event.PROMOTE) or not await store.apply(
                session, row, Event.PROMOTE, now=now, stage_index=row.stage_index + 1):
            raise Blocked(f"release #{release_id} is not paused; it is {_state(ctx, row)}")
        await gating.thread_of(ctx).record(
            session, row, kind=LedgerKind.OVERRIDE, actor=user, outcome="promoted", now=now,
            evidence={"stage": row.stage_index - 1, "special_handling": True, "paused_for": paused_for},
            message=ctx.release_view.note(f":arrow_forward: <@{user}> promoted past the verification of "
                                          f"{rollout.label(ctx, release)}"))
    engine.kick(ctx, release_id)
    return f"release #{release_id} continues"


async def abort(ctx: AppContext, release_id: int, *, user: str) -> str:
    """Stop a paused rollout and roll it back: the requester, deployers or overriders."""
    release = await _release(ctx, release_id)
    env = ctx.config.services[release.service].environments[release.environment]
    if user != release.requested_by and not await ctx.directory.is_in_any(user, env.deployers + env.overriders):
        raise NotAllowed(f"only the requester, {release.environment}'s deployers or overriders can abort release "
                         f"#{release_id}")
    if release.state != ReleaseState.PAUSED:
        raise Blocked(f"release #{release_id} is not paused; it is {_state(ctx, release)}")
    result = await rollout.abort(ctx, release_id, "stopped from Slack", user=user)
    if isinstance(result, RollBack):
        await engine.roll_back(ctx, release_id, result)
    engine.kick(ctx, release_id)
    return f"release #{release_id} is being rolled back"
