"""The post-release report (§8) as data: what a finished release changed, who decided it was safe
on what evidence, how it went out, how it behaved, whether it was undone, and what to follow up.

`build` reads only what is stored — the release row (with the change kept at preview time), its gate
results, overrides and approvals, its ledger rows, and its environment's other releases — so a
report composed again from the database says the same thing. `bot/slack/report_blocks.py` renders
it; `report_post.py` stores and posts it.

Risk level: the level assessed by the configured risk rules when the change was previewed
(`risk_controls.py`), raised to high when a gate was overridden. A release without an assessment
(a rollback, a drill, one from before risk rules) gets the fixed rule (docs/metrics.md, "Post-release report"):
- *high* when the change flags a migration, brings more than 20 commits, had a gate overridden, or
  comes more than 30 days after the environment's last successful release;
- *medium* when it brings more than 5 commits or more than 30 files, comes more than 7 days after
  the last release, is the environment's first release through Switchman, or its scope is unknown
  (no change preview);
- *low* otherwise.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config.models import SwitchmanConfig
from bot.ledger.models import Decision, DecisionKind
from bot.release import drill_steps, risk_controls, store
from bot.release.models import Approval, GateOverride, GateResult, Release, ReleaseKind, ReleaseState
from bot.release.report_data import Check, GateLine, Report, RollbackStatus, Scope, Stage, Vote
from bot.release.report_followups import follow_ups
from bot.release.report_scope import first_commit_at

HIGH_COMMITS, MEDIUM_COMMITS, MEDIUM_FILES = 20, 5, 30
STALE, QUIET = timedelta(days=30), timedelta(days=7)


async def build(session: AsyncSession, config: SwitchmanConfig, release: Release, *, now: datetime) -> Report:
    assert release.id is not None
    rows = list((await session.exec(select(Decision).where(Decision.release_id == release.id)
                                    .order_by(col(Decision.seq)))).all())
    gates = await _gates(session, release.id)
    overridden = any(g.overridden_by for g in gates)
    scope = await _scope(session, release, overridden=overridden)
    decisions = [d for d in rows if d.kind == DecisionKind.DECISION]
    outcome = next((d for d in reversed(rows) if d.kind == DecisionKind.OUTCOME), None)
    stages = _stages(config, release, rows)
    rollback = await _rollback(session, release, rows)
    report = Report(
        release_id=release.id, kind=release.kind, service=release.service, environment=release.environment,
        ref=release.ref, sha=release.sha, state=release.state,
        outcome=str((outcome.evidence or {}).get("summary", "")) if outcome else "",
        requested_by=release.requested_by, requested_at=release.created_at, finished_at=release.finished_at,
        scope=scope, gates=gates, decided=decisions[-1].outcome if decisions else None,
        decided_by=decisions[-1].actor if decisions else None, approvals=await _votes(session, release.id),
        strategy=release.strategy, stages=stages, rollback=rollback, follow_ups=[])
    env = config.services[release.service].environments[release.environment]
    items = follow_ups(report, verification_configured=bool(env.verify),
                       rollback_exercised=await _rollback_exercised(session, release, now=now))
    return replace(report, follow_ups=items)


async def _gates(session: AsyncSession, release_id: int) -> list[GateLine]:
    results = (await session.exec(select(GateResult).where(GateResult.release_id == release_id)
                                  .order_by(col(GateResult.id)))).all()
    overrides = {o.gate: o for o in (await session.exec(
        select(GateOverride).where(GateOverride.release_id == release_id))).all()}
    latest: dict[str, GateResult] = {}
    for row in results:
        latest[row.gate] = row  # in order of evaluation; a re-evaluation replaces the earlier verdict
    lines = []
    for gate, row in latest.items():
        o = overrides.get(gate)
        lines.append(GateLine(gate, row.verdict, row.evidence, row.link, o.actor if o else None,
                              o.reason if o else None))
    return lines


async def _votes(session: AsyncSession, release_id: int) -> list[Vote]:
    rows = (await session.exec(select(Approval).where(Approval.release_id == release_id)
                               .order_by(col(Approval.id)))).all()
    return [Vote(a.approver, a.approved, a.comment, a.decided_at) for a in rows]


async def _scope(session: AsyncSession, release: Release, *, overridden: bool) -> Scope:
    change = (release.detail or {}).get("change")
    previous = (await session.exec(
        select(Release).where(Release.service == release.service, Release.environment == release.environment,
                              col(Release.id) != release.id, col(Release.verified_at).is_not(None),
                              col(Release.verified_at) <= release.created_at)
        .order_by(col(Release.verified_at).desc()).limit(1))).first()
    since = (release.created_at - previous.verified_at) if previous and previous.verified_at else None
    commits = change.get("commits") if change else None
    files = change.get("files_total") if change else None
    migrations = list(change.get("migrations") or []) if change else []
    high, medium = [], []
    if migrations:
        high.append(f"{len(migrations)} migration file(s) flagged")
    if commits is not None and commits > HIGH_COMMITS:
        high.append(f"{commits} commits (more than {HIGH_COMMITS})")
    elif commits is not None and commits > MEDIUM_COMMITS:
        medium.append(f"{commits} commits (more than {MEDIUM_COMMITS})")
    if files is not None and files > MEDIUM_FILES:
        medium.append(f"{files} files changed (more than {MEDIUM_FILES})")
    if overridden:
        high.append("a gate was overridden")
    if since is not None and since > STALE:
        high.append(f"{since.days} days since the last release (more than {STALE.days})")
    elif since is not None and since > QUIET:
        medium.append(f"{since.days} days since the last release (more than {QUIET.days})")
    if previous is None:
        medium.append("the environment's first release through Switchman")
    if change is None:
        medium.append("scope unknown: no change preview was stored")
    elif commits is None and previous is not None:
        medium.append("scope unknown: nothing to compare the commit with")
    risk = "high" if high else "medium" if medium else "low"
    assessed = risk_controls.assessment_of(release)
    if assessed is not None:  # assessed by the configured rules when it was previewed (§4 "Risk")
        reasons = assessed.reasons + ([assessed.unknown_text] if assessed.unknown_text else [])
        risk = "high" if overridden else assessed.level
        high, medium = (["a gate was overridden"] if overridden else []), reasons
    return Scope(commits, files, migrations, first_commit_at(release.detail), previous.id if previous else None,
                 since.total_seconds() if since is not None else None, risk, high + medium)


def _stages(config: SwitchmanConfig, release: Release, rows: list[Decision]) -> list[Stage]:
    percents = store.stages_of(config, release)
    dispatched = (release.detail or {}).get("dispatched") or {}
    found: list[Stage] = []
    for index, percent in enumerate(percents):
        run = next((d for d in rows if d.kind == DecisionKind.STAGE_RESULT and d.actor.startswith("pipeline:")
                    and (d.evidence or {}).get("stage") == index), None)
        check = next((d for d in rows if d.kind == DecisionKind.STAGE_RESULT and d.actor == "verification"
                      and (d.evidence or {}).get("stage") == index), None)
        promoted = next((d for d in rows if d.kind == DecisionKind.OVERRIDE and d.outcome == "promoted"
                         and (d.evidence or {}).get("stage") == index), None)
        at = dispatched.get(str(index))
        if run is None and at is None:
            break  # never dispatched: the release ended before this stage
        checks = [Check(name, str(c.get("verdict")), str(c.get("evidence", "")))
                  for name, c in ((check.evidence or {}).get("checks") or {}).items()] if check else []
        bake = (check.decided_at - run.decided_at).total_seconds() if check and run else None
        found.append(Stage(_label(release, index, percents), percent, datetime.fromisoformat(at) if at else None,
                           run.actor.removeprefix("pipeline:") if run else None, run.outcome if run else None,
                           run.decided_at if run else None, check.outcome if check else None,
                           check.decided_at if check else None, bake, promoted.actor if promoted else None, checks))
    return found


def _label(release: Release, index: int, percents: list[int]) -> str:
    if drill_steps.is_drill(release):
        return drill_steps.label(release, index)
    if len(percents) == 1:
        return "Rollback" if release.kind == ReleaseKind.ROLLBACK else "Rollout"
    return f"Stage {index + 1}/{len(percents)} ({percents[index]}%)"


async def _rollback(session: AsyncSession, release: Release, rows: list[Decision]) -> RollbackStatus:
    if release.kind == ReleaseKind.ROLLBACK and release.rollback_of is not None:
        undone = await session.get(Release, release.rollback_of)
        trigger = (await session.exec(select(Decision).where(
            Decision.release_id == release.rollback_of, Decision.kind == DecisionKind.ROLLBACK_TRIGGER)
            .order_by(col(Decision.seq).desc()))).all()
        mine = next((d for d in trigger if (d.evidence or {}).get("rollback_release") == release.id), None)
        return RollbackStatus(False, release.rollback_of, undone.state if undone else None,
                              mine.actor if mine else release.requested_by,
                              bool((mine.evidence or {}).get("automatic")) if mine else False,
                              release.reason, mine.decided_at if mine else release.created_at)
    trigger_row = next((d for d in reversed(rows) if d.kind == DecisionKind.ROLLBACK_TRIGGER), None)
    if trigger_row is None:
        return RollbackStatus(release.state == ReleaseState.ROLLED_BACK, None, None, None, False, None,
                              release.rolled_back_at)
    evidence = trigger_row.evidence or {}
    rollback_id = evidence.get("rollback_release")
    rollback = await session.get(Release, rollback_id) if isinstance(rollback_id, int) else None
    return RollbackStatus(release.state == ReleaseState.ROLLED_BACK, rollback_id if isinstance(rollback_id, int)
                          else None, rollback.state if rollback else None, trigger_row.actor,
                          bool(evidence.get("automatic")), str(evidence.get("reason") or "") or None,
                          release.rolled_back_at or trigger_row.decided_at)


ROLLBACK_PRACTICE = timedelta(days=90)


async def _rollback_exercised(session: AsyncSession, release: Release, *, now: datetime) -> bool:
    """Whether a rollback or a rollback drill succeeded in this environment in the last 90 days (this one included)."""
    found = (await session.exec(select(Release.id).where(
        Release.service == release.service, Release.environment == release.environment,
        col(Release.kind).in_([ReleaseKind.ROLLBACK.value, ReleaseKind.DRILL.value]),
        col(Release.verified_at).is_not(None),
        col(Release.verified_at) >= now - ROLLBACK_PRACTICE).limit(1))).first()
    return found is not None
