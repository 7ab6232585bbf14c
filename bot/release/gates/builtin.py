"""The built-in gates of §4 that decide before a rollout starts.

Each gate is `async (gate_config, input, deps) -> GateOutcome`; the runner adds the timeout and
turns exceptions into `error`, so a gate never passes by failing to answer.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config.durations import format_days
from bot.config.gates import Approval as ApprovalGate
from bot.config.gates import FreezeWindowGate, OncallPresent, PromotedFrom, RollbackTested
from bot.oncall.roster import current_shift
from bot.providers.base import CiVerdict
from bot.release import locks, verify
from bot.release import service as releases
from bot.release.freeze_window import parse_freeze_window
from bot.release.gates.pair import pair_joined
from bot.release.gates.types import GateDeps, GateFunction, GateInput, GateOutcome
from bot.release.models import Approval, Release, ReleaseKind, ReleaseState, Verdict

CI_POLL_SECONDS = (2, 4, 8, 15, 30)


async def ci_green(_: object, inp: GateInput, deps: GateDeps) -> GateOutcome:
    repo = deps.config.services[inp.service].repo
    attempt = 0
    while True:
        status = await deps.provider.ci_status(repo, inp.sha)
        if status.verdict == CiVerdict.PASS:
            return GateOutcome(Verdict.PASS, f"CI passed for `{inp.sha[:10]}`: {status.summary}", status.url)
        if status.verdict == CiVerdict.FAIL:
            return GateOutcome(Verdict.FAIL, f"CI failed for `{inp.sha[:10]}`: {status.summary}", status.url)
        if status.verdict == CiVerdict.NONE:
            return GateOutcome(Verdict.FAIL, f"no CI checks ran for `{inp.sha[:10]}`; a commit without CI "
                                             "is not green", status.url)
        # Pending: wait for it, within the gate's timeout.
        await deps.sleep(CI_POLL_SECONDS[min(attempt, len(CI_POLL_SECONDS) - 1)])
        attempt += 1


async def not_quarantined(_: object, inp: GateInput, deps: GateDeps) -> GateOutcome:
    async with deps.db.session() as session:
        quarantined = await releases.quarantined_shas(session, service=inp.service, environment=inp.environment)
    if inp.sha in quarantined:
        return GateOutcome(Verdict.FAIL, f"`{inp.sha[:10]}` was rolled back from {inp.environment} and is quarantined "
                                         "there until a newer commit is deployed")
    return GateOutcome(Verdict.PASS, f"`{inp.sha[:10]}` is not quarantined in {inp.environment}")


async def not_locked(_: object, inp: GateInput, deps: GateDeps) -> GateOutcome:
    now = deps.clock.now()
    async with deps.db.session() as session:
        lock = await locks.active_lock(session, service=inp.service, environment=inp.environment, now=now)
    if lock is None:
        return GateOutcome(Verdict.PASS, f"{inp.environment} is not locked")
    return GateOutcome(Verdict.FAIL, f"{inp.environment} is locked by <@{lock.holder}> until "
                                     f"{deps.date(lock.expires_at)}: {lock.reason}")


async def no_concurrent_deploy(_: object, inp: GateInput, deps: GateDeps) -> GateOutcome:
    async with deps.db.session() as session:
        release = await session.get(Release, inp.release_id)
    waited = (release.detail or {}).get("queued_behind") if release else None
    if waited:
        return GateOutcome(Verdict.PASS, f"waited in the queue behind #{waited}; now the only release in flight "
                                         f"to {inp.environment}")
    return GateOutcome(Verdict.PASS, f"no other release in flight to {inp.environment}")


async def promoted_from(gate: PromotedFrom, inp: GateInput, deps: GateDeps) -> GateOutcome:
    async with deps.db.session() as session:
        query = (select(Release)
                 .where(Release.service == inp.service, Release.environment == gate.environment,
                        Release.sha == inp.sha, col(Release.verified_at).is_not(None))
                 .order_by(col(Release.verified_at).desc()))
        earlier = (await session.exec(query)).first()
    if earlier is None:
        return GateOutcome(Verdict.FAIL, f"`{inp.sha[:10]}` has not passed verification in {gate.environment}; "
                                         f"deploy it there first: `/deploy {inp.service} {inp.sha[:10]} to "
                                         f"{gate.environment}`")
    return GateOutcome(Verdict.PASS, f"`{inp.sha[:10]}` passed verification in {gate.environment} "
                                     f"(release #{earlier.id}, {deps.date(earlier.verified_at)})")


async def approval(gate: ApprovalGate, inp: GateInput, deps: GateDeps) -> GateOutcome:
    async with deps.db.session() as session:
        rows = await approvals_of(session, inp.release_id)
    return approval_outcome(gate, rows, requested_by=inp.requested_by)


async def approvals_of(session: AsyncSession, release_id: int) -> list[Approval]:
    return list((await session.exec(select(Approval).where(Approval.release_id == release_id)
                                    .order_by(col(Approval.decided_at)))).all())


def approval_outcome(gate: ApprovalGate, rows: list[Approval], *, requested_by: str) -> GateOutcome:
    """The approval gate's verdict from the votes cast so far (the requester's own never counts)."""
    rejected = [r for r in rows if not r.approved]
    if rejected:
        return GateOutcome(Verdict.FAIL, f"rejected by <@{rejected[0].approver}>"
                                         + (f": {rejected[0].comment}" if rejected[0].comment else ""))
    approvers = [r.approver for r in rows if r.approved and r.approver != requested_by]
    if len(approvers) >= gate.count:
        return GateOutcome(Verdict.PASS, "approved by " + ", ".join(f"<@{a}>" for a in approvers))
    missing = gate.count - len(approvers)
    so_far = f" (so far: {', '.join(f'<@{a}>' for a in approvers)})" if approvers else ""
    return GateOutcome(Verdict.WAITING, f"needs {missing} more approval{'s' if missing > 1 else ''} from "
                                        f"{gate.group}{so_far}; the requester cannot approve their own release")


async def freeze_window(gate: FreezeWindowGate, inp: GateInput, deps: GateDeps) -> GateOutcome:
    now = deps.clock.now()
    for text in gate.windows:
        span = parse_freeze_window(text).active_span(now)
        if span is not None:
            return GateOutcome(Verdict.FAIL, f"inside the freeze window `{text}` until {deps.date(span[1])}")
    return GateOutcome(Verdict.PASS, "outside every freeze window (" + "; ".join(f"`{w}`" for w in gate.windows) + ")")


async def oncall_present(gate: OncallPresent, inp: GateInput, deps: GateDeps) -> GateOutcome:
    names = [gate.rotation] if gate.rotation else deps.config.rotations_for_service(inp.service)
    if not names:
        return GateOutcome(Verdict.FAIL, f"no rotation covers {inp.service}; add it to a rotation's `services`")
    now = deps.clock.now()
    for name in names:
        shift = await current_shift(deps, name, now)
        if shift is not None and shift.primary is not None:
            shadow = f" with <@{shift.shadow}> shadowing" if shift.shadow else ""
            return GateOutcome(Verdict.PASS, f"<@{shift.primary}> is on call for {name}{shadow} until "
                                             f"{deps.date(shift.end)}")
    return GateOutcome(Verdict.FAIL, f"nobody is on call as primary for {', '.join(names)} right now")


async def rollback_tested(gate: RollbackTested, inp: GateInput, deps: GateDeps) -> GateOutcome:
    """A drill or a real rollback of the service succeeded in `gate.environment` within `gate.within`."""
    now, where = deps.clock.now(), gate.environment
    async with deps.db.session() as session:
        last = (await session.exec(select(Release).where(
            Release.service == inp.service, Release.environment == where,
            col(Release.kind).in_([ReleaseKind.DRILL.value, ReleaseKind.ROLLBACK.value]),
            Release.state == ReleaseState.SUCCEEDED, col(Release.verified_at).is_not(None))
            .order_by(col(Release.verified_at).desc()).limit(1))).first()
    how = f"run `/rollback drill {inp.service} {where}`"
    window = format_days(gate.within)
    if last is None or last.verified_at is None:
        return GateOutcome(Verdict.FAIL, f"{inp.service} has never had a successful rollback drill or rollback in "
                                         f"{where}; {how} to prove rollback works (needed within {window})")
    what = "rollback drill" if last.kind == ReleaseKind.DRILL else "rollback"
    link = (last.detail or {}).get("permalink")
    if last.verified_at < now - gate.within:
        return GateOutcome(Verdict.FAIL, f"the last successful {what} of {inp.service} in {where} was #{last.id} on "
                                         f"{deps.date(last.verified_at)}, more than {window} ago; {how}",
                           link if isinstance(link, str) else None)
    return GateOutcome(Verdict.PASS, f"{what} #{last.id} of {inp.service} succeeded in {where} on "
                                     f"{deps.date(last.verified_at)} (within {window})",
                       link if isinstance(link, str) else None)


GATES: dict[str, GateFunction] = {
    "ci_green": ci_green,
    "not_locked": not_locked,
    "not_quarantined": not_quarantined,
    "no_concurrent_deploy": no_concurrent_deploy,
    "promoted_from": promoted_from,
    "approval": approval,
    "freeze_window": freeze_window,
    "oncall_present": oncall_present,
    "prometheus": verify.prometheus_gate,
    "http": verify.http_gate,
    "pair": pair_joined,
    "rollback_tested": rollback_tested,
}
