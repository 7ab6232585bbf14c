"""Undoing a release (§2 `/rollback`, §5): manual or automatic, recorded like any release.

A rollback is a release of kind `rollback` with its own thread, linked both ways with the release
it undoes. It takes the environment at once: in the same transaction the release in flight is
stopped and the rollback inserted as the environment's one active release, so nothing queued can
slip in between. It skips the slow gates (see `flow.ROLLBACK_SKIPS`) but never authorization.
When it succeeds the undone commit is quarantined in that environment until a newer one deploys.
A person's `/rollback` claims its Slack request key first, so a retried one starts nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.commands.rollback import RollbackRequest
from bot.context import AppContext
from bot.errors import BadInput, Blocked, ProviderError
from bot.ledger import service as ledger
from bot.ledger.models import DecisionKind as LedgerKind
from bot.oncall.roster import current_shift
from bot.providers.base import PipelineRun, RunState
from bot.release import service as releases
from bot.release.models import IN_FLIGHT, EnvironmentState, Release, ReleaseKind, ReleaseState
from bot.release.requests import check_deployer, check_target
from bot.slack import release_blocks as blocks
from bot.storage import handled_requests as handled

if TYPE_CHECKING:
    from bot.release.flow import ReleaseFlow

SYSTEM = "switchman"


@dataclass(frozen=True)
class RollbackTarget:
    ref: str
    sha: str
    release_id: int | None  # the verified release whose commit comes back, when there is one


async def request_rollback(ctx: AppContext, request: RollbackRequest, *, user: str, request_key: str | None,
                           usage: str) -> int:
    """A person's `/rollback`: authorise, choose the target, start; returns the rollback's release id."""
    from bot.release.flow import ReleaseFlow

    service, env = check_target(ctx.config, request.service, request.environment, usage)
    await check_deployer(ctx, env, request.environment, user)
    async with ctx.db.session() as session:
        if request_key is not None:
            again = await releases.release_by_request_key(session, request_key)
            if again is not None:
                return again.id or 0
        bad = await _release_to_undo(session, request.service, request.environment)
        if bad is None:
            raise Blocked(f"nothing has been deployed to {request.environment} through Switchman, so there is "
                          "nothing to roll back")
        target = await _choose_target(ctx, session, request, bad, service.repo, usage)
    flow = ReleaseFlow(ctx)
    return await _begin(flow, bad.id or 0, target, actor=user, reason=request.reason or "rollback requested",
                        request_key=request_key)


async def start_automatic_rollback(flow: ReleaseFlow, bad_id: int, evidence: str, *, actor: str | None = None) -> None:
    """Verification failed (or a person aborted): roll back to the last verified commit at once."""
    async with flow.ctx.db.session() as session:
        bad = await session.get(Release, bad_id)
        assert bad is not None
        previous = await releases.last_verified(session, service=bad.service, environment=bad.environment,
                                                excluding_sha=bad.sha)
    if previous is None:
        if await flow._transition(bad_id, ReleaseState.FAILED, set(IN_FLIGHT)):  # once, however many asked
            await flow.thread.reply(bad, blocks.note_reply(
                f":rotating_light: {evidence}\nThere is no earlier verified release to roll back to; stopping here."))
            await flow.finish(bad_id, ReleaseState.FAILED, "verification failed; nothing to roll back to")
        return
    target = RollbackTarget(previous.ref, previous.sha or previous.ref, previous.id)
    await _begin(flow, bad_id, target, actor=actor or SYSTEM, reason=evidence, request_key=None,
                 automatic=actor is None)


async def rollback_succeeded(flow: ReleaseFlow, rollback: Release) -> None:
    """Mark the undone release rolled back, quarantine its commit, and say so in its thread."""
    now = flow.ctx.clock.now()
    async with flow.ctx.db.session() as session:
        bad = await session.get(Release, rollback.rollback_of)
        assert bad is not None
        bad.state, bad.rolled_back_at, bad.updated_at = ReleaseState.ROLLED_BACK, now, now
        session.add(bad)
        state = await session.get(EnvironmentState, (bad.service, bad.environment))
        if state is not None and bad.sha and bad.sha != rollback.sha:
            state.quarantined_sha, state.updated_at = bad.sha, now
            session.add(state)
    await flow.thread.refresh(bad)
    link = (rollback.detail or {}).get("permalink")
    await flow.thread.reply(bad, blocks.note_reply(
        f":leftwards_arrow_with_hook: Rolled back by {_linked(rollback.id, link)}"
        f"; `{(bad.sha or '')[:10]}` is quarantined in {bad.environment} until a newer commit is deployed."))


async def _begin(flow: ReleaseFlow, bad_id: int, target: RollbackTarget, *, actor: str, reason: str,
                 request_key: str | None, automatic: bool = False) -> int:
    ctx = flow.ctx
    now = ctx.clock.now()
    async with ctx.db.session() as session:
        # A copy of the same /rollback must not stop the rollback its twin just started (nor post,
        # record or start anything): the claim comes before anything this transaction changes.
        claim = await handled.claim(session, key=request_key, kind="rollback", now=now)
        if claim.repeat and request_key is not None:
            again = await releases.release_by_request_key(session, request_key)
            assert again is not None and again.id is not None  # claimed in the transaction that created it
            return again.id
        # One rollback of a release at a time: the row lock makes a second one (a retried Roll back
        # click, a check failing twice) wait for the first, then find it rather than cancel it.
        bad = (await session.exec(select(Release).where(Release.id == bad_id).with_for_update()
                                  .execution_options(populate_existing=True))).one()
        underway = await _rollback_underway(session, bad_id)
        if underway is not None and underway.id is not None:
            return underway.id
        stopped = await releases.active_release(session, service=bad.service, environment=bad.environment)
        if stopped is not None:
            await releases.set_state(session, stopped, ReleaseState.FAILED if stopped.id == bad_id
                                     else ReleaseState.CANCELLED, now)
        created = await releases.create_release(
            session, service=bad.service, environment=bad.environment, ref=target.ref, sha=target.sha,
            strategy="rolling", requested_by=actor, reason=reason, request_key=request_key, now=now,
            kind=ReleaseKind.ROLLBACK, rollback_of=bad_id)
    rollback_id = created.release.id or 0
    if stopped is not None and stopped.provider_run_id:
        try:
            await flow.provider(stopped.service).cancel(flow._target(stopped, 100), _run_of(stopped))
        except ProviderError as exc:
            await flow.thread.reply(stopped, blocks.note_reply(f":warning: Could not cancel its pipeline run: {exc}"))
    rollback = await flow.open_thread(rollback_id)
    pair = await _oncall_mentions(ctx, bad.service) if automatic else ""
    trigger = await flow.thread.reply(rollback, blocks.note_reply(
        f":leftwards_arrow_with_hook: {'Automatic rollback' if automatic else f'<@{actor}> rolls back'} "
        f"#{bad_id} to `{target.ref}`" + (f" (release #{target.release_id})" if target.release_id else "")
        + f".\n*Why:* {reason}" + (f"\n{pair}" if pair else "")))
    rollback_link = trigger.permalink or (rollback.detail or {}).get("permalink")
    await flow.thread.reply(bad, blocks.note_reply(
        f":rotating_light: Rolling back: {_linked(rollback_id, rollback_link)}"
        f" — {reason}" + (f"\n{pair}" if pair else "")))
    async with ctx.db.session() as session:
        await ledger.record(session, kind=LedgerKind.ROLLBACK_TRIGGER, actor=actor, decided_at=now,
                            subject=flow.subject(bad), outcome="rollback", release_id=bad_id,
                            permalink=trigger.permalink,
                            evidence={"reason": reason, "rollback_release": rollback_id, "to_ref": target.ref,
                                      "to_sha": target.sha, "automatic": automatic})
    if stopped is not None and stopped.id is not None:
        await flow.finish(stopped.id, ReleaseState.FAILED if stopped.id == bad_id else ReleaseState.CANCELLED,
                          f"stopped for rollback #{rollback_id}")
    ctx.background.spawn(flow.start(rollback_id), name=f"rollback-{rollback_id}")
    return rollback_id


async def _rollback_underway(session: AsyncSession, bad_id: int) -> Release | None:
    query = select(Release).where(Release.kind == ReleaseKind.ROLLBACK, Release.rollback_of == bad_id,
                                  col(Release.state).in_([s.value for s in (*IN_FLIGHT, ReleaseState.QUEUED)]))
    return (await session.exec(query)).first()


async def _release_to_undo(session: AsyncSession, service: str, environment: str) -> Release | None:
    """What a rollback undoes: the release in flight, else what runs now."""
    active = await releases.active_release(session, service=service, environment=environment)
    if active is not None:
        return active
    state = await session.get(EnvironmentState, (service, environment))
    if state is None or state.current_release_id is None:
        return None
    current: Release | None = await session.get(Release, state.current_release_id)
    return current


async def _choose_target(ctx: AppContext, session: AsyncSession, request: RollbackRequest, bad: Release,
                         repo: str | None, usage: str) -> RollbackTarget:
    if request.to_release is not None:
        chosen: Release | None = await session.get(Release, request.to_release)
        if (chosen is None or chosen.service != request.service or chosen.environment != request.environment
                or chosen.verified_at is None):
            raise BadInput(f"#{request.to_release} is not a verified release of {request.service} in "
                           f"{request.environment}", usage=usage)
        target = RollbackTarget(chosen.ref, chosen.sha or chosen.ref, chosen.id)
    elif request.to_ref is not None:
        provider = ctx.providers[ctx.config.services[request.service].provider]
        try:
            sha = await provider.resolve_ref(repo, request.to_ref)
        except ProviderError as exc:
            raise BadInput(f"I could not find `{request.to_ref}`: {exc}", usage=usage) from None
        target = RollbackTarget(request.to_ref, sha, None)
    else:
        previous = await releases.last_verified(session, service=request.service,
                                                environment=request.environment, excluding_sha=bad.sha)
        if previous is None:
            raise Blocked(f"there is no verified release of {request.service} in {request.environment} other than "
                          f"`{(bad.sha or '')[:10]}` to roll back to; name one with `to REF`")
        target = RollbackTarget(previous.ref, previous.sha or previous.ref, previous.id)
    if target.sha == bad.sha:
        raise Blocked(f"`{target.ref}` is the commit being rolled back; choose an earlier one")
    return target


async def _oncall_mentions(ctx: AppContext, service: str) -> str:
    names = ctx.config.rotations_for_service(service)
    if not names:
        return ""
    shift = await current_shift(ctx, names[0], ctx.clock.now())
    people = [p for p in (shift.primary, shift.shadow) if p] if shift else []
    return ("On call: " + " and ".join(f"<@{p}>" for p in people)) if people else ""


def _run_of(release: Release) -> PipelineRun:
    return PipelineRun(release.provider_run_id or "", RunState.RUNNING, release.provider_run_url)


def _linked(release_id: int | None, permalink: str | None) -> str:
    return f"<{permalink}|release #{release_id}>" if permalink else f"release #{release_id}"
