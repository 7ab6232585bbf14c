"""Gating a release (§3, §4): the change preview, every gate as it resolves, then the decision.

Each gate's verdict is recorded the moment it resolves (result row, ledger row and thread reply in
one transaction). A release resumed while gating evaluates only the gates that have no verdict
yet, so no reply appears twice. The decision — GO, WAITING or NO-GO — commits with the state
change it causes and its reply (with Approve / Reject buttons when waiting), so a click can never
arrive before the release is waiting for it.
"""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.authors import commits as release_commits
from bot.config.gates import GateOptions, NotQuarantined, PairJoined
from bot.context import AppContext
from bot.errors import ProviderError
from bot.ledger.models import DecisionKind as LedgerKind
from bot.providers.base import ChangePreview
from bot.release import approval_timeout, gate_owner, outcomes, risk_controls, store
from bot.release.decision import Decision, DecisionKind, GateStanding, decide
from bot.release.gates.runner import run_gates
from bot.release.gates.types import GateDeps, GateInput
from bot.release.machine import Event, allows
from bot.release.models import (
    EnvironmentState,
    GateOverride,
    GateResult,
    Release,
    ReleaseKind,
    ReleaseState,
    Verdict,
)
from bot.release.report_scope import change_record
from bot.release.steps import Step
from bot.release.thread import ReleaseThread

SYSTEM = "switchman"
# Rollback skips the slow gates — CI, approval, freeze — and promotion and locks, which guard
# releasing new code, not undoing it; authorization is checked when the rollback is requested.
GATHERING = (ReleaseState.REQUESTED, ReleaseState.GATING)  # states in which gate verdicts are taken
ROLLBACK_SKIPS = {"ci_green", "approval", "freeze_window", "promoted_from", "not_locked", "rollback_tested"}
UNDOING = (ReleaseKind.ROLLBACK, ReleaseKind.DRILL)  # releases that bring back what ran before: gated alike


def thread_of(ctx: AppContext) -> ReleaseThread:
    return ReleaseThread(ctx.config, ctx.release_view)


def gate_deps(ctx: AppContext, service: str) -> GateDeps:
    assert ctx.http is not None
    provider = ctx.providers[ctx.config.services[service].code_host]
    return GateDeps(ctx.config, ctx.db, provider, ctx.clock, ctx.directory, ctx.sleep, ctx.http,
                    ctx.release_view.date)


def gates_for(ctx: AppContext, release: Release) -> list[GateOptions]:
    """A deploy meets its environment's gates (stricter where its risk level says so) and the quarantine;
    a rollback and a rollback drill skip the slow ones (§2)."""
    env = ctx.config.services[release.service].environments[release.environment]
    if release.kind in UNDOING:
        return [g for g in env.gates if g.kind not in ROLLBACK_SKIPS]
    pairing = (release.detail or {}).get("pairing")
    paired = [PairJoined(group=str(pairing["with"]))] if isinstance(pairing, dict) and pairing.get("with") else []
    return [NotQuarantined(), *risk_controls.gates(list(env.gates), release), *paired]


async def standings(session: AsyncSession, release_id: int) -> list[GateStanding]:
    """Each gate's latest verdict for the release, and whether it was overridden."""
    rows = (await session.exec(select(GateResult).where(GateResult.release_id == release_id)
                               .order_by(col(GateResult.attempt)))).all()
    overridden = {o.gate for o in (await session.exec(
        select(GateOverride).where(GateOverride.release_id == release_id))).all()}
    latest: dict[str, GateResult] = {}
    for row in rows:
        latest[row.gate] = row
    return [GateStanding(g.gate, Verdict(g.verdict), g.evidence, g.overridable, g.gate in overridden)
            for g in latest.values()]


async def next_attempt(session: AsyncSession, release_id: int, gate: str) -> int:
    """Gate results are appended, never overwritten: each re-evaluation is the next attempt."""
    rows = (await session.exec(select(GateResult).where(GateResult.release_id == release_id,
                                                        GateResult.gate == gate))).all()
    return len(rows) + 1


async def step(ctx: AppContext, release: Release) -> Step:
    """Preview (once), the gates not yet answered, then the decision."""
    assert release.id is not None
    thread = thread_of(ctx)
    if not (release.detail or {}).get("previewed"):
        await _preview(ctx, thread, release)
    async with ctx.db.session() as session:
        answered = {s.gate for s in await standings(session, release.id)}
    todo = [g for g in gates_for(ctx, release) if getattr(g, "kind", None) not in answered]
    inp = GateInput(release.id, release.service, release.environment, release.ref, release.sha or "",
                    release.requested_by)
    owners = {getattr(g, "kind", ""): g.owner for g in todo if g.owner}
    async for result in run_gates(todo, inp, gate_deps(ctx, release.service)):
        outcome, now = result.outcome, ctx.clock.now()
        owned = await gate_owner.mention(ctx, owners.get(result.gate), outcome.verdict)
        async with ctx.db.session() as session:
            row = await store.hold(session, release.id, fence=ctx.leader.fence())
            if row.state not in GATHERING:
                return Step.CONTINUE  # ended meanwhile (cancelled, refused by Slack): no more verdicts
            if result.gate not in answered and result.gate in {s.gate for s in await standings(session, release.id)}:
                continue  # answered meanwhile by another leader (a takeover): one verdict per pass
            session.add(GateResult(release_id=release.id, gate=result.gate,
                                   attempt=await next_attempt(session, release.id, result.gate),
                                   verdict=outcome.verdict, evidence=outcome.evidence[:3000], link=outcome.link,
                                   overridable=result.overridable, started_at=now, finished_at=now))
            await thread.record(session, row, kind=LedgerKind.GATE_VERDICT, actor=f"gate:{result.gate}",
                                outcome=outcome.verdict.value, now=now,
                                evidence={"gate": result.gate, "evidence": outcome.evidence, "link": outcome.link,
                                          "seconds": round(result.seconds, 3),
                                          **({"owner": owners[result.gate]} if owned else {})},
                                message=ctx.release_view.gate(result.gate, outcome.verdict,
                                                              outcome.evidence + owned,
                                                              outcome.link, result.seconds))
        await store.renew_lease(ctx.db, release.id, now=ctx.clock.now(), fence=ctx.leader.fence())
    return await decide_now(ctx, release.id)


async def _preview(ctx: AppContext, thread: ReleaseThread, release: Release) -> None:
    """Commits between what runs now and the new commit; a failure here never blocks the release.

    A drill brings no new commit (its thread opens with the two releases it moves between): nothing to compare.
    """
    service = ctx.config.services[release.service]
    if release.kind == ReleaseKind.DRILL:
        async with ctx.db.session() as session:
            row = await store.hold(session, release.id or 0, fence=ctx.leader.fence())
            if row.state in GATHERING:
                await store.save(session, row, now=ctx.clock.now(), detail={**(row.detail or {}), "previewed": True})
        return
    undone: Release | None = None
    async with ctx.db.session() as session:
        state = await session.get(EnvironmentState, (release.service, release.environment))
        if release.kind == ReleaseKind.ROLLBACK and release.rollback_of is not None:
            undone = await session.get(Release, release.rollback_of)
    base = state.current_sha if state else None
    change: dict[str, object] | None = None
    preview: ChangePreview | None = None
    try:
        if undone is not None and undone.sha and release.sha:
            # A rollback runs what the undone release ran before it: its preview lists the commits it takes out.
            preview = await ctx.providers[service.code_host].compare(service.repo, release.sha, undone.sha)
            message = ctx.release_view.preview(preview, service, undoing=True)
        else:
            preview = await ctx.providers[service.code_host].compare(service.repo, base, release.sha or release.ref)
            message = ctx.release_view.preview(preview, service)
        change = change_record(preview)
    except ProviderError as exc:
        message = ctx.release_view.note(f":grey_question: No change preview: {exc}")
    async with ctx.db.session() as session:
        row = await store.hold(session, release.id or 0, fence=ctx.leader.fence())
        if (row.detail or {}).get("previewed") or row.state not in GATHERING:
            return
        now = ctx.clock.now()
        kept = {"change": change} if change is not None else {}
        assessed = (await risk_controls.assessment_detail(session, ctx.config, row, preview)
                    if row.kind == ReleaseKind.DEPLOY else {})
        forced = assessed.get("controls", {}).get("strategy")
        await store.save(session, row, now=now, detail={**(row.detail or {}), "previewed": True, **kept, **assessed},
                         **({"strategy": forced} if forced else {}))
        if preview is not None and undone is None:  # a rollback brings no commits of its own
            await release_commits.keep(session, row.id or 0, preview)
        thread.refresh(session, row, now=now)
        thread.say(session, row, message, now=now)
        assessment = risk_controls.assessment_of(row)
        if assessment is not None:
            controls = risk_controls.controls_of(row)
            await thread.record(session, row, kind=LedgerKind.RISK, actor=SYSTEM, outcome=assessment.level, now=now,
                                evidence={**assessment.as_json(), "controls": controls},
                                message=ctx.release_view.note(risk_controls.summary(assessment, controls)))


def _event_for(decision: Decision) -> Event:
    if decision.kind == DecisionKind.GO:
        return Event.GO
    if decision.kind == DecisionKind.WAITING:
        return Event.WAIT
    return Event.REJECT if "approval" in decision.blocking else Event.NO_GO


async def decide_now(ctx: AppContext, release_id: int, *, actor: str = SYSTEM) -> Step:
    """Decide from the recorded verdicts; the decision, its state change and its reply commit together."""
    thread = thread_of(ctx)
    async with ctx.db.session() as session:
        release = await store.get(session, release_id)
        decision = decide(await standings(session, release_id))
        event, now, due = _event_for(decision), ctx.clock.now(), None
        if not allows(release.state, event) or not await store.apply(session, release, event, now=now):
            return Step.WAIT  # moved on meanwhile (cancelled, or decided by a concurrent click)
        await thread.record(session, release, kind=LedgerKind.DECISION, actor=actor, outcome=decision.kind.value,
                            now=now, evidence={"blocking": decision.blocking, "waiting_for": decision.waiting_for,
                                               "overridden": decision.overridden},
                            message=ctx.release_view.decision(release, decision))
        if event in (Event.NO_GO, Event.REJECT):
            await outcomes.recorded_end(session, thread, release, f"NO-GO: blocked by {', '.join(decision.blocking)}",
                                        now=now)
        else:
            thread.refresh(session, release, now=now)
        if event == Event.WAIT:
            due = await approval_timeout.start_waiting(session, ctx, release, now=now)
    if event == Event.WAIT and due is not None:
        approval_timeout.schedule(ctx, release_id, due)
    return Step.CONTINUE if event == Event.GO else Step.WAIT
