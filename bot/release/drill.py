"""Starting a rollback drill (§2 `/rollback drill SERVICE ENV`): evidence that rollback works.

A drill is a release of kind `drill` that the engine moves like any other (`engine.advance`): it is
authorised and gated as `/rollback` is (deployers; the slow gates skipped, see `gating.ROLLBACK_SKIPS`),
then rolls back to the previous verified release and forward again to what ran before, verifying
after each step (`rollout.py`, `drill_steps.py`). It starts only in a quiet environment — nothing in
flight or queued — so both its targets stay what they were when it was asked for. Its outcome is
recorded as a drill (ledger rows of kind `drill`), is evidence for the `rollback_tested` gate, and is
kept out of the delivery metrics (docs/metrics.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.context import AppContext
from bot.errors import Blocked
from bot.ledger.models import DecisionKind as LedgerKind
from bot.release import service as releases
from bot.release.access import check_deployer, check_target
from bot.release.gating import thread_of
from bot.release.models import EnvironmentState, Release, ReleaseKind
from bot.release.rollback import rollback_targets
from bot.storage import handled_requests as handled


@dataclass(frozen=True)
class DrillRequest:
    service: str
    environment: str


async def request_drill(ctx: AppContext, request: DrillRequest, *, user: str, request_key: str | None,
                        usage: str) -> int:
    """Authorise, pick the two targets, create the drill with its thread; returns the drill's id (not yet kicked)."""
    _, env = check_target(ctx.config, request.service, request.environment, usage)
    await check_deployer(ctx, env, request.environment, user)
    service, environment = request.service, request.environment
    now, thread = ctx.clock.now(), thread_of(ctx)
    async with ctx.db.session() as session:
        if request_key is not None:
            again = await releases.release_by_request_key(session, request_key)
            if again is not None:
                return again.id or 0
        active = await releases.active_release(session, service=service, environment=environment)
        queued = await releases.queued_releases(session, service=service, environment=environment)
        busy = active or (queued[0] if queued else None)
        if busy is not None:
            raise Blocked(f"release #{busy.id} of {service} is {busy.state.replace('_', ' ')} in {environment}; a "
                          f"drill needs a quiet environment. Run `/rollback drill {service} {environment}` once "
                          "it has finished (`/deploy status` shows what is in flight).")
        state = await session.get(EnvironmentState, (service, environment))
        if state is None or state.current_sha is None:
            raise Blocked(f"nothing has been released to {environment} through Switchman, so there is nothing to "
                          f"drill with; a drill needs two verified releases of {service} there.")
        targets = await rollback_targets(session, service=service, environment=environment,
                                         undoing_sha=state.current_sha)
        if not targets:
            raise Blocked(f"there is no earlier verified release of {service} in {environment} (other than what "
                          f"runs now, `{state.current_sha[:10]}`, and not quarantined) to roll back to, so there is "
                          f"nothing to drill with yet. Deploy once more (`/deploy {service} REF to {environment}`), "
                          "then drill.")
        back = targets[0]
        forward = {"ref": state.current_ref or state.current_sha, "sha": state.current_sha,
                   "release_id": state.current_release_id}
        claim = await handled.claim(session, key=request_key, kind="rollback_drill", now=now)
        if claim.repeat and request_key is not None:
            again = await releases.release_by_request_key(session, request_key)
            assert again is not None and again.id is not None
            return again.id
        created = await releases.create_release(
            session, service=service, environment=environment, ref=str(forward["ref"]), sha=state.current_sha,
            strategy="rolling", requested_by=user, reason="rollback drill", request_key=request_key, now=now,
            kind=ReleaseKind.DRILL)
        drill: Release = created.release
        if created.duplicate:
            return drill.id or 0
        if created.queued:  # another release took the environment in between: nothing starts
            raise Blocked(f"another release took {environment} just now; run the drill once it has finished")
        drill.detail = {**(drill.detail or {}), "drill": {
            "back": {"ref": back.ref, "sha": back.sha, "release_id": back.id}, "forward": forward}}
        session.add(drill)
        thread.open(session, drill, now=now)
        text = (f":fire_extinguisher: <@{user}> starts a rollback drill of {service} in {environment}: roll back to "
                f"`{back.ref}` (release #{back.id}) and verify, then roll forward to `{forward['ref']}`"
                + (f" (release #{forward['release_id']})" if forward["release_id"] else "")
                + " and verify. A drill is evidence for `rollback_tested` and does not count as a failure.")
        await thread.record(session, drill, kind=LedgerKind.DRILL, actor=user, outcome="started", now=now,
                            evidence={"back": drill.detail["drill"]["back"], "forward": forward},
                            message=ctx.release_view.note(text))
    return drill.id or 0
