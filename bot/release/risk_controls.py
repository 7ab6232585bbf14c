"""Assessing a deploy's risk when it is previewed, and what its level then requires (§4 "Risk").

`assessment_detail` gathers the facts of one change — the provider's compare (files and commits;
None where the provider could not say), the stored history (time since the service's last release
there, whether the requester released it there before), the request's instant — applies the rules
(`risk.assess`) and returns what is stored on the release: the assessment and the controls its level
brings in this environment (`risk:`). From then on the release reads its controls from what was
stored, so a restart, a click or a config reload mid-release never changes them:
`gates` (a stricter or an added approval gate), `stages_of` (a forced canary), `bake`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config.durations import format_duration
from bot.config.gates import Approval, GateOptions
from bot.config.models import Environment, SwitchmanConfig, risk_rules_of
from bot.providers.base import ChangePreview
from bot.release.models import Release, ReleaseKind, ReleaseState
from bot.release.risk import Assessment, ChangeFacts, assess

ICON = {"low": ":large_green_circle:", "medium": ":large_yellow_circle:", "high": ":red_circle:"}


async def facts_of(session: AsyncSession, release: Release, preview: ChangePreview | None) -> ChangeFacts:
    known = preview is not None and preview.base_sha is not None
    earlier = (await session.exec(
        select(Release).where(Release.service == release.service, Release.environment == release.environment,
                              Release.kind == ReleaseKind.DEPLOY, Release.state.in_(  # type: ignore[attr-defined]
                                  [ReleaseState.SUCCEEDED, ReleaseState.ROLLED_BACK]),
                              col(Release.verified_at).is_not(None), col(Release.id) != release.id,
                              col(Release.verified_at) <= release.created_at)
        .order_by(col(Release.verified_at).desc()).limit(1))).first()
    mine = (await session.exec(
        select(Release.id).where(Release.service == release.service, Release.environment == release.environment,
                                 Release.kind == ReleaseKind.DEPLOY, Release.requested_by == release.requested_by,
                                 col(Release.verified_at).is_not(None), col(Release.id) != release.id)
        .limit(1))).first()
    since = release.created_at - earlier.verified_at if earlier is not None and earlier.verified_at else None
    why = ("the code host did not answer for the change preview" if preview is None else
           f"nothing ran in {release.environment} before, so there is nothing to compare with")
    return ChangeFacts(files=list(preview.files) if known and preview else None,
                       commits=preview.total_commits if known and preview else None,
                       since_last=since, at=release.created_at, first_by_person=mine is None, unknown_why=why)


async def assessment_detail(session: AsyncSession, config: SwitchmanConfig, release: Release,
                            preview: ChangePreview | None) -> dict[str, Any]:
    """`{"risk": …, "controls": …}` for the release's detail (controls empty when the level asks nothing)."""
    assessment = assess(risk_rules_of(config, release.service), await facts_of(session, release, preview))
    env = config.services[release.service].environments[release.environment]
    return {"risk": assessment.as_json(), "controls": controls_for(env, assessment.level, release.strategy)}


def controls_for(env: Environment, level: str, strategy: str) -> dict[str, Any]:
    level_controls = env.risk.for_level(level)
    if level_controls is None:
        return {}
    found: dict[str, Any] = {}
    if level_controls.approvals is not None:
        current = next((g for g in env.gates if isinstance(g, Approval)), None)
        group = level_controls.group or (current.group if current else None)
        if current is None or level_controls.approvals > current.count:
            found["approvals"] = {"count": level_controls.approvals, "group": group}
    if level_controls.strategy is not None and level_controls.strategy != strategy:
        found["strategy"] = level_controls.strategy
        if level_controls.strategy == "canary":
            found["stages"] = list(level_controls.stages or env.stages)
    if level_controls.bake is not None and level_controls.bake > env.bake:
        found["bake_seconds"] = level_controls.bake.total_seconds()
    return found


def assessment_of(release: Release) -> Assessment | None:
    stored = (release.detail or {}).get("risk")
    return Assessment.from_json(stored) if isinstance(stored, dict) else None


def controls_of(release: Release) -> dict[str, Any]:
    stored = (release.detail or {}).get("controls")
    return stored if isinstance(stored, dict) else {}


def gates(env_gates: list[GateOptions], release: Release) -> list[GateOptions]:
    """The environment's gates with the approval its risk level asks for (stricter, or added)."""
    wanted = controls_of(release).get("approvals")
    if not isinstance(wanted, dict):
        return list(env_gates)
    replaced = False
    out: list[GateOptions] = []
    for gate in env_gates:
        if isinstance(gate, Approval):
            out.append(gate.model_copy(update={"count": max(gate.count, int(wanted["count"]))}))
            replaced = True
        else:
            out.append(gate)
    if not replaced:
        out.append(Approval(count=int(wanted["count"]), group=str(wanted["group"])))
    return out


def stages(env: Environment, release: Release) -> list[int]:
    stored = controls_of(release).get("stages")
    return [int(s) for s in stored] if isinstance(stored, list) and stored else list(env.stages)


def bake(env: Environment, release: Release) -> timedelta:
    stored = controls_of(release).get("bake_seconds")
    return max(env.bake, timedelta(seconds=float(stored))) if isinstance(stored, int | float) else env.bake


def summary(assessment: Assessment, controls: dict[str, Any]) -> str:
    """The thread's risk note: level, the rules that fired, those that could not be judged, what it requires."""
    lines = [f"{ICON.get(assessment.level, '')} *Risk: {assessment.level}*"
             + (" — " + "; ".join(assessment.reasons) if assessment.fired else " — no risk rule fired")]
    if assessment.unknown_text:
        lines.append(f"• {assessment.unknown_text}")
    needs = []
    if "approvals" in controls:
        a = controls["approvals"]
        needs.append(f"{a['count']} approvals from {a['group']}")
    if "strategy" in controls:
        stages_text = f" ({' → '.join(f'{s}%' for s in controls['stages'])})" if controls.get("stages") else ""
        needs.append(f"the {controls['strategy']} strategy{stages_text}")
    if "bake_seconds" in controls:
        needs.append(f"a bake of {format_duration(timedelta(seconds=controls['bake_seconds']))} after each stage")
    if needs:
        lines.append(f"A {assessment.level}-risk change here requires " + ", ".join(needs) + ".")
    return "\n".join(lines)
