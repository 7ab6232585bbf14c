"""What people do to a release after it is requested: approve, reject, override, cancel; and locks.

Each action checks who may do it, records itself in the ledger with the thread reply's
permalink, and moves the release on through `ReleaseFlow`. A repeated click is harmless: the
database refuses a second approval by the same person, and transitions are conditional. A
repeated delivery of one request (a Slack retry) does nothing at all: each action claims its
`request_key` (`handled_requests`) in the transaction that makes its change, before anything is
posted, and a repeat answers what the first delivery answered.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from bot.config.gates import Approval as ApprovalGate
from bot.context import AppContext
from bot.errors import Blocked, NotAllowed
from bot.ledger import service as ledger
from bot.ledger.models import DecisionKind as LedgerKind
from bot.providers.base import PipelineRun, RunState
from bot.release import locks
from bot.release import service as releases
from bot.release.flow import ReleaseFlow
from bot.release.gates.builtin import approval as evaluate_approval
from bot.release.gates.types import GateInput
from bot.release.models import IN_FLIGHT, Approval, GateOverride, GateResult, Release, ReleaseState
from bot.release.rollout import Rollout
from bot.slack import release_blocks as blocks
from bot.slack.dates import slack_date
from bot.storage import handled_requests as handled


async def _release(ctx: AppContext, release_id: int) -> Release:
    async with ctx.db.session() as session:
        release = await session.get(Release, release_id)
    if release is None:
        raise Blocked(f"release #{release_id} does not exist")
    return release


def _approval_gate(ctx: AppContext, release: Release) -> ApprovalGate | None:
    env = ctx.config.services[release.service].environments[release.environment]
    return next((g for g in env.gates if isinstance(g, ApprovalGate)), None)


async def vote(ctx: AppContext, release_id: int, *, user: str, approve: bool, comment: str | None = None,
               request_key: str | None = None) -> str:
    """Approve or reject; returns what to tell the voter."""
    release = await _release(ctx, release_id)
    gate = _approval_gate(ctx, release)
    if gate is None:
        raise Blocked(f"release #{release_id} needs no approval")
    if release.state != ReleaseState.AWAITING_APPROVAL:
        raise Blocked(f"release #{release_id} is not waiting for approval; it is {blocks.state_text(release.state)}")
    if user == release.requested_by:
        raise NotAllowed(f"you requested release #{release_id}, so you cannot {'approve' if approve else 'reject'} "
                         f"it; someone else in {gate.group} must.")
    if user not in await ctx.directory.members(gate.group):
        raise NotAllowed(f"only members of {gate.group} can approve or reject release #{release_id}")
    now = ctx.clock.now()
    flow = ReleaseFlow(ctx)
    verb = "approved" if approve else "rejected"
    try:
        async with ctx.db.session() as session:
            claim = await handled.claim(session, key=request_key, kind="release-vote", now=now)
            if claim.repeat:
                return claim.earlier
            session.add(Approval(release_id=release_id, approver=user, approved=approve, comment=comment,
                                 decided_at=now))
            await session.flush()
            answer = claim.answer(f"you {verb} release #{release_id}")
    except IntegrityError:
        return f"you already voted on release #{release_id}; your vote counts once"
    posted = await flow.thread.reply(release, blocks.note_reply(
        f"{':thumbsup:' if approve else ':thumbsdown:'} <@{user}> {verb} release #{release_id}"
        + (f": {comment}" if comment else "")))
    deps = flow.gate_deps(release.service)
    inp = GateInput(release_id, release.service, release.environment, release.ref, release.sha or "",
                    release.requested_by)
    outcome = await evaluate_approval(gate, inp, deps)
    async with ctx.db.session() as session:
        await ledger.record(session, kind=LedgerKind.APPROVAL if approve else LedgerKind.REJECTION, actor=user,
                            decided_at=now, subject=f"{release.service}/{release.environment}@{release.ref}",
                            outcome=verb, release_id=release_id, permalink=posted.permalink,
                            evidence={"comment": comment, "gate_now": outcome.verdict.value})
        attempt = await releases.next_gate_attempt(session, release_id, "approval")
        session.add(GateResult(release_id=release_id, gate="approval", attempt=attempt,
                               verdict=outcome.verdict, evidence=outcome.evidence, started_at=now, finished_at=now,
                               overridable=gate.overridable, message_ts=posted.ts))
    await flow.decide(release_id, actor=user)
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
    flow = ReleaseFlow(ctx)
    standings = {s.gate: s for s in await flow.standings(release_id)}
    allowed = [g for g in gates if g in standings and standings[g].verdict.blocks and standings[g].overridable]
    if not allowed:
        raise Blocked("none of those gates is failing and overridable: " + ", ".join(f"`{g}`" for g in gates))
    if release.state != ReleaseState.BLOCKED:
        raise Blocked(f"release #{release_id} is {blocks.state_text(release.state)}; only a blocked release can be "
                      "overridden")
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        active = await releases.active_release(session, service=release.service, environment=release.environment)
    if active is not None:
        raise Blocked(f"release #{active.id} is in flight to {release.environment}; override again when it finishes")
    # The override is recorded before it is posted, so a repeated delivery finds it claimed and posts nothing.
    async with ctx.db.session() as session:
        claim = await handled.claim(session, key=request_key, kind="release-override", now=now)
        if claim.repeat:
            return claim.earlier
        for gate in allowed:
            session.add(GateOverride(release_id=release_id, gate=gate, actor=user, reason=reason, decided_at=now))
        row = await session.get(Release, release_id)
        assert row is not None
        try:
            async with session.begin_nested():
                await releases.set_state(session, row, ReleaseState.GATING, now, finished_at=None)
        except IntegrityError:
            raise Blocked(f"another release just started in {release.environment}; override again later") from None
        answer = claim.answer(f"you overrode {', '.join(allowed)} on release #{release_id}")
    posted = await flow.thread.reply(release, blocks.note_reply(
        f":warning: *Special handling:* <@{user}> overrode {', '.join(f'`{g}`' for g in allowed)}: {reason}"))
    async with ctx.db.session() as session:
        await ledger.record(session, kind=LedgerKind.OVERRIDE, actor=user, decided_at=now,
                            subject=f"{release.service}/{release.environment}@{release.ref}", outcome="overridden",
                            release_id=release_id, permalink=posted.permalink,
                            evidence={"gates": allowed, "reason": reason, "special_handling": True})
    await flow.decide(release_id, actor=user)
    return answer


async def cancel(ctx: AppContext, release_id: int, *, user: str, request_key: str | None = None) -> str:
    release = await _release(ctx, release_id)
    env = ctx.config.services[release.service].environments[release.environment]
    allowed = user == release.requested_by or await ctx.directory.is_in_any(user, env.deployers + env.overriders)
    if not allowed:
        raise NotAllowed(f"only the requester (<@{release.requested_by}>) or {release.environment}'s deployers and "
                         f"overriders can cancel release #{release_id}")
    state = ReleaseState(release.state)
    if state not in IN_FLIGHT and state != ReleaseState.QUEUED:
        raise Blocked(f"release #{release_id} already ended: {blocks.state_text(state)}")
    flow = ReleaseFlow(ctx)
    async with ctx.db.session() as session:
        claim = await handled.claim(session, key=request_key, kind="release-cancel", now=ctx.clock.now())
        if claim.repeat:
            return claim.earlier
        if not await releases.transition(session, release_id, ReleaseState.CANCELLED,
                                         set(IN_FLIGHT) | {ReleaseState.QUEUED}, ctx.clock.now()):
            raise Blocked(f"release #{release_id} ended while you were cancelling it")
        answer = claim.answer(f"release #{release_id} is cancelled")
    if release.provider_run_id and state in (ReleaseState.ROLLING_OUT, ReleaseState.VERIFYING):
        provider = flow.provider(release.service)
        await provider.cancel(flow._target(release, 100), PipelineRun(release.provider_run_id, RunState.RUNNING))
    async with ctx.db.session() as session:
        row = await session.get(Release, release_id)
        assert row is not None
        await releases.set_state(session, row, ReleaseState.CANCELLED, ctx.clock.now())
    await flow.finish(release_id, ReleaseState.CANCELLED, f"cancelled by <@{user}>")
    return answer


async def lock(ctx: AppContext, *, service: str, environment: str, user: str, reason: str,
               duration: timedelta, request_key: str | None = None) -> str:
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        claim = await handled.claim(session, key=request_key, kind="lock", now=now)
        if claim.repeat:
            return claim.earlier
        taken, previous = await locks.take_lock(session, service=service, environment=environment, holder=user,
                                                reason=reason, duration=duration, now=now)
        answer = claim.answer(f"{service} {environment} is locked until {slack_date(taken.expires_at)}")
    channel = ctx.config.services[service].channel
    replaced = f" (replacing <@{previous.holder}>'s lock)" if previous else ""
    posted = await ReleaseFlow(ctx).thread.post(channel, blocks.note_reply(
        f":lock: <@{user}> locked {service} {environment} until {slack_date(taken.expires_at)}{replaced}: {reason}"))
    async with ctx.db.session() as session:
        await ledger.record(session, kind=LedgerKind.LOCK, actor=user, decided_at=now,
                            subject=f"{service}/{environment}", outcome="locked", permalink=posted.permalink,
                            evidence={"reason": reason, "expires_at": taken.expires_at.isoformat(),
                                      "replaced": previous.id if previous else None})
    return answer


async def unlock(ctx: AppContext, *, service: str, environment: str, user: str,
                 request_key: str | None = None) -> str:
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        claim = await handled.claim(session, key=request_key, kind="unlock", now=now)
        if claim.repeat:
            return claim.earlier
        released = await locks.release_lock(session, service=service, environment=environment, by=user, now=now)
        if released is None:
            raise Blocked(f"{service} {environment} is not locked")
        answer = claim.answer(f"{service} {environment} is unlocked")
    posted = await ReleaseFlow(ctx).thread.post(ctx.config.services[service].channel, blocks.note_reply(
        f":unlock: <@{user}> unlocked {service} {environment} (locked by <@{released.holder}>: {released.reason})"))
    async with ctx.db.session() as session:
        await ledger.record(session, kind=LedgerKind.UNLOCK, actor=user, decided_at=now,
                            subject=f"{service}/{environment}", outcome="unlocked", permalink=posted.permalink,
                            evidence={"lock": released.id, "holder": released.holder})
    return answer


async def promote(ctx: AppContext, release_id: int, *, user: str) -> str:
    """Carry on past a paused verification (inconclusive or failed): overriders only, special handling."""
    release = await _release(ctx, release_id)
    env = ctx.config.services[release.service].environments[release.environment]
    if not env.overriders or not await ctx.directory.is_in_any(user, env.overriders):
        raise NotAllowed(f"only {release.environment}'s overriders can promote past a verification")
    if not await Rollout(ReleaseFlow(ctx)).promote(release_id, user=user):
        raise Blocked(f"release #{release_id} is not paused; it is {blocks.state_text(release.state)}")
    return f"release #{release_id} continues"


async def abort(ctx: AppContext, release_id: int, *, user: str) -> str:
    """Stop a paused rollout and roll it back: the requester, deployers or overriders."""
    release = await _release(ctx, release_id)
    env = ctx.config.services[release.service].environments[release.environment]
    if user != release.requested_by and not await ctx.directory.is_in_any(user, env.deployers + env.overriders):
        raise NotAllowed(f"only the requester, {release.environment}'s deployers or overriders can abort release "
                         f"#{release_id}")
    if release.state != ReleaseState.PAUSED:
        raise Blocked(f"release #{release_id} is not paused; it is {blocks.state_text(release.state)}")
    await Rollout(ReleaseFlow(ctx)).abort(release_id, "stopped from Slack", user=user)
    return f"release #{release_id} is being rolled back"
