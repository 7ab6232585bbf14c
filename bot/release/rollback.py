"""Undoing a release (§2 `/rollback`, §5): manual or automatic, recorded like any release.

A rollback is a release of kind `rollback` with its own thread, linked both ways with the release
it undoes. It takes the environment at once: in one transaction the release in flight is stopped
(with its outcome), the rollback is inserted as the environment's one active release, both threads
are told and the trigger is recorded, so nothing queued can slip in between and nothing is lost
if Slack is down. It skips the slow gates (see `gating.ROLLBACK_SKIPS`) but never authorization.
When it succeeds the undone commit is quarantined (`quarantine.py`). One rollback of a release
runs at a time (the release's row is locked while a rollback of it begins), and a person's
`/rollback` claims its Slack request key first, so retries and double clicks start nothing more.

What it may go back to is one rule (`rollback_targets`): a release that succeeded in that
environment, of a commit neither being undone nor quarantined there. `to REF` must name such a
release (its ref, or 7+ hex digits of its commit) and is never resolved through the provider: a
new commit goes through `/deploy` and its gates.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.commands.rollback import RollbackRequest
from bot.context import AppContext
from bot.errors import BadInput, Blocked, ProviderError
from bot.ledger import service as ledger
from bot.ledger.models import DecisionKind as LedgerKind
from bot.oncall.roster import current_shift
from bot.providers.base import PipelineRun, RunState
from bot.release import outcomes, store, trust
from bot.release import service as releases
from bot.release.access import check_rollback_right, check_target
from bot.release.gating import thread_of
from bot.release.machine import Event, allows
from bot.release.models import IN_FLIGHT, EnvironmentState, Release, ReleaseKind, ReleaseState
from bot.storage import handled_requests as handled

log = logging.getLogger(__name__)
SYSTEM = "switchman"
MAX_LISTED = 5  # valid targets named in a refusal
HEX_PREFIX = re.compile(r"[0-9a-fA-F]{7,64}")


@dataclass(frozen=True)
class RollbackTarget:
    ref: str
    sha: str
    release_id: int | None  # the verified release whose commit comes back, when there is one


async def request_rollback(ctx: AppContext, request: RollbackRequest, *, user: str, request_key: str | None,
                           usage: str) -> int:
    """A person's `/rollback`: authorise, choose the target, take the environment; returns the rollback's id."""
    _, env = check_target(ctx.config, request.service, request.environment, usage)
    await check_rollback_right(ctx, request.service, env, request.environment, user)
    async with ctx.db.session() as session:
        if request_key is not None:
            again = await releases.release_by_request_key(session, request_key)
            if again is not None:
                return again.id or 0
        bad = await _release_to_undo(session, request.service, request.environment)
        if bad is None:
            raise Blocked(f"nothing has been deployed to {request.environment} through Switchman, so there is "
                          "nothing to roll back")
        target = await _choose_target(session, request, bad, usage)
    started = await begin(ctx, bad.id or 0, target, actor=user, reason=request.reason or "rollback requested",
                          request_key=request_key)
    assert started is not None  # a person's rollback also undoes a finished release
    return started


async def start_automatic(ctx: AppContext, bad_id: int, evidence: str, *, actor: str | None = None) -> int | None:
    """Verification failed (or a person aborted): roll back to the last verified commit at once.

    Returns the rollback's id, or None when there was nothing to roll back to (the release fails).
    """
    async with ctx.db.session() as session:
        bad = await _locked(session, bad_id)
        targets = await rollback_targets(session, service=bad.service, environment=bad.environment,
                                         undoing_sha=bad.sha)
        previous = targets[0] if targets else None
        if previous is None:
            if not allows(bad.state, Event.FAIL):  # a copy of the same abort got here first
                return None
            now, thread = ctx.clock.now(), thread_of(ctx)
            thread.note(session, bad, f":rotating_light: {evidence}\nThere is no earlier verified release that is "
                                      "not quarantined to roll back to; stopping here.", now=now)
            await outcomes.end(session, thread, bad, Event.FAIL, "verification failed; nothing to roll back to",
                               now=now)
            return None
    target = RollbackTarget(previous.ref, previous.sha or previous.ref, previous.id)
    return await begin(ctx, bad_id, target, actor=actor or SYSTEM, reason=evidence, request_key=None,
                       automatic=actor is None, while_unfinished=True)


async def begin(ctx: AppContext, bad_id: int, target: RollbackTarget, *, actor: str, reason: str,
                request_key: str | None, automatic: bool = False, while_unfinished: bool = False) -> int | None:
    """Stop what is in flight, insert the rollback as the active release, tell both threads, record why.

    `while_unfinished`: only if the release to undo is still unfinished (a failed check or an abort
    click); a copy that arrives after it ended — a rollback already ran — changes nothing (None).
    """
    now, thread = ctx.clock.now(), thread_of(ctx)
    pair = await _oncall_mentions(ctx, bad_id) if automatic else ""
    async with ctx.db.session() as session:
        # A copy of the same /rollback must not stop the rollback its twin just started (nor tell or
        # record anything): the claim comes before anything this transaction changes.
        claim = await handled.claim(session, key=request_key, kind="rollback", now=now)
        if claim.repeat and request_key is not None:
            again = await releases.release_by_request_key(session, request_key)
            assert again is not None and again.id is not None  # claimed in the transaction that created it
            return again.id
        bad = await _locked(session, bad_id)
        underway = await _rollback_underway(session, bad_id)
        if underway is not None and underway.id is not None:  # a retried Roll back click, a second failing check
            return underway.id
        if while_unfinished and not allows(bad.state, Event.FAIL):
            return None  # it ended meanwhile (its rollback may even have finished already)
        stopped = await releases.active_release(session, service=bad.service, environment=bad.environment)
        if stopped is not None:
            own = stopped.id == bad_id  # its report waits for the rollback, to say how that went
            await outcomes.end(session, thread, stopped, Event.FAIL if own else Event.CANCEL,
                               "stopped for a rollback", now=now, settled=not own)
        created = await releases.create_release(
            session, service=bad.service, environment=bad.environment, ref=target.ref, sha=target.sha,
            strategy="rolling", requested_by=actor, reason=reason, request_key=request_key, now=now,
            kind=ReleaseKind.ROLLBACK, rollback_of=bad_id)
        rollback = created.release
        if created.duplicate:
            return rollback.id or 0
        thread.open(session, rollback, now=now)
        trigger = (f":leftwards_arrow_with_hook: {'Automatic rollback of' if automatic else f'<@{actor}> rolls back'} "
                   f"#{bad_id} to `{target.ref}`" + (f" (release #{target.release_id})" if target.release_id else "")
                   + f".\n*Why:* {reason}" + (f"\n{pair}" if pair else ""))
        row = await ledger.record(session, kind=LedgerKind.ROLLBACK_TRIGGER, actor=actor, decided_at=now,
                                  subject=store.subject(bad), outcome="rollback", release_id=bad_id,
                                  evidence={"reason": reason, "rollback_release": rollback.id, "to_ref": target.ref,
                                            "to_sha": target.sha, "automatic": automatic})
        thread.say(session, rollback, ctx.release_view.note(trigger), now=now, decision_seq=row.seq)
        paged = trust.page_pair_on_rollback(session, ctx, bad, rollback_id=rollback.id, reason=reason, now=now)
        thread.note(session, bad, f":rotating_light: Rolling back: release #{rollback.id} — {reason}"
                                  + (f"\n{pair}" if pair else "") + (f"\n{paged}" if paged else ""), now=now)
    if stopped is not None and stopped.provider_run_id:
        await cancel_run(ctx, stopped)
    return rollback.id or 0


async def _locked(session: AsyncSession, release_id: int) -> Release:
    """The release, its row locked until commit: rollbacks of one release begin one after another."""
    query = select(Release).where(Release.id == release_id).with_for_update().execution_options(
        populate_existing=True)
    return (await session.exec(query)).one()


async def _rollback_underway(session: AsyncSession, bad_id: int) -> Release | None:
    query = select(Release).where(Release.kind == ReleaseKind.ROLLBACK, Release.rollback_of == bad_id,
                                  col(Release.state).in_([s.value for s in (*IN_FLIGHT, ReleaseState.QUEUED)]))
    return (await session.exec(query)).first()


async def cancel_run(ctx: AppContext, stopped: Release) -> None:
    """Cancel the pipeline run of a release that was stopped; a failure is noted in its thread, not raised."""
    provider = ctx.providers[ctx.config.services[stopped.service].provider]
    run = PipelineRun(stopped.provider_run_id or "", RunState.RUNNING, stopped.provider_run_url)
    try:
        await provider.cancel(store.target(ctx.config, stopped, 100), run)
    except ProviderError as exc:
        async with ctx.db.session() as session:
            row = await store.get(session, stopped.id or 0)
            thread_of(ctx).note(session, row, f":warning: Could not cancel its pipeline run: {exc}",
                                now=ctx.clock.now())


async def _oncall_mentions(ctx: AppContext, release_id: int) -> str:
    release = await store.load(ctx.db, release_id)
    names = ctx.config.rotations_for_service(release.service)
    if not names:
        return ""
    shift = await current_shift(ctx, names[0], ctx.clock.now())
    people = [p for p in (shift.primary, shift.shadow) if p] if shift else []
    return ("On call: " + " and ".join(f"<@{p}>" for p in people)) if people else ""


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


async def rollback_targets(session: AsyncSession, *, service: str, environment: str,
                           undoing_sha: str | None) -> list[Release]:
    """What a rollback may go back to (§2), latest verified first: releases that succeeded in that
    environment, of a commit that is neither the one being undone nor quarantined there.

    The one rule for `/rollback` (default, `to #ID`, `to REF`), the automatic rollback and the form.
    """
    quarantined = await releases.quarantined_shas(session, service=service, environment=environment)
    return [r for r in await releases.succeeded_releases(session, service=service, environment=environment)
            if r.sha and r.sha != undoing_sha and r.sha not in quarantined]


async def rollback_choices(ctx: AppContext) -> list[Release]:
    """For the rollback form: the valid targets of each environment that has something to undo."""
    choices: list[Release] = []
    async with ctx.db.session() as session:
        for name in sorted(ctx.config.services):
            for environment in ctx.config.services[name].environments:
                bad = await _release_to_undo(session, name, environment)
                if bad is not None:
                    choices += distinct_commits(await rollback_targets(
                        session, service=name, environment=environment, undoing_sha=bad.sha))
    return choices


def distinct_commits(targets: list[Release], limit: int = MAX_LISTED) -> list[Release]:
    """The latest release of each commit among `targets`, in order, at most `limit`."""
    seen: set[str] = set()
    listed: list[Release] = []
    for release in targets:
        if release.sha not in seen and len(listed) < limit:
            seen.add(release.sha or "")
            listed.append(release)
    return listed


async def _choose_target(session: AsyncSession, request: RollbackRequest, bad: Release, usage: str) -> RollbackTarget:
    targets = await rollback_targets(session, service=request.service, environment=request.environment,
                                     undoing_sha=bad.sha)
    if request.to_release is None and request.to_ref is None:
        if not targets:
            raise Blocked(f"there is no verified release of {request.service} in {request.environment} other than "
                          f"`{(bad.sha or '')[:10]}` that is not quarantined, so there is nothing to roll back to; "
                          f"{_deploy_hint(request)}")
        chosen = targets[0]
    elif request.to_release is not None:
        found = next((r for r in targets if r.id == request.to_release), None)
        if found is None:
            why = await _not_a_target(session, request, request.to_release, bad)
            raise BadInput(f"#{request.to_release} {why}. {_valid_targets(request, targets)}", usage=usage)
        chosen = found
    else:
        ref = request.to_ref or ""
        found = next((r for r in targets if _names(ref, r)), None)
        if found is None:
            named = next((r for r in await releases.recent_releases(
                session, service=request.service, environment=request.environment, limit=200) if _names(ref, r)), None)
            why = (f"names release #{named.id}, which {await _not_a_target(session, request, named.id or 0, bad)}"
                   if named else f"names no release of {request.service} in {request.environment}")
            raise BadInput(f"`{ref}` {why}. {_valid_targets(request, targets)}", usage=usage)
        chosen = found
    return RollbackTarget(chosen.ref, chosen.sha or chosen.ref, chosen.id)


def _names(ref: str, release: Release) -> bool:
    """`ref` is the release's ref, or an abbreviation (7+ hex digits) of its commit; never resolved anew."""
    if ref == release.ref:
        return True
    return HEX_PREFIX.fullmatch(ref) is not None and (release.sha or "").startswith(ref.lower())


async def _not_a_target(session: AsyncSession, request: RollbackRequest, release_id: int, bad: Release) -> str:
    """Why release `release_id` cannot be rolled back to, in words for the person who named it."""
    release = await session.get(Release, release_id)
    if release is None:
        return "does not exist"
    if (release.service, release.environment) != (request.service, request.environment):
        return (f"is a release of {release.service} to {release.environment}, not of {request.service} to "
                f"{request.environment}")
    sha = (release.sha or "")[:10]
    if release.sha and release.sha == bad.sha:
        return f"is of `{sha}`, the commit being rolled back"
    if release.sha in await releases.quarantined_shas(session, service=request.service,
                                                      environment=request.environment):
        return f"is of `{sha}`, which was rolled back and is quarantined in {request.environment}"
    return f"did not succeed in {request.environment} (it is {release.state.replace('_', ' ')})"


def _valid_targets(request: RollbackRequest, targets: list[Release]) -> str:
    listed = distinct_commits(targets)
    if not listed:
        valid = (f"No release of {request.service} can be rolled back to in {request.environment}: none other than "
                 "the one being undone succeeded there without being quarantined.")
    else:
        valid = "Valid targets: " + ", ".join(f"#{r.id} `{r.ref}` (`{(r.sha or '')[:10]}`)" for r in listed) + "."
    hint = _deploy_hint(request)
    return f"{valid} {hint[0].upper()}{hint[1:]}."


def _deploy_hint(request: RollbackRequest) -> str:
    return f"to release a new commit use `/deploy {request.service} REF to {request.environment}`"
