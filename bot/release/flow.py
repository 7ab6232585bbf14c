"""Driving one release through its life (§3, §4, §7): preview, gates, decision, rollout, outcome.

Every step records itself: the parent message is updated in place, each result is a thread
reply, and each decision is a ledger row carrying that reply's permalink. State changes that
start work (GO, promotion from the queue) are conditional updates, so two clicks or two
processes cannot both start the same rollout.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from bot.config.gates import GateOptions, NotQuarantined
from bot.context import AppContext
from bot.errors import ProviderError
from bot.ledger import service as ledger
from bot.ledger.models import DecisionKind as LedgerKind
from bot.providers.base import DeployTarget, PipelineRun, Provider
from bot.release import service as releases
from bot.release.decision import Decision, DecisionKind, GateStanding, decide
from bot.release.gates.runner import run_gates
from bot.release.gates.types import GateDeps, GateInput
from bot.release.models import (
    EnvironmentState,
    GateOverride,
    GateResult,
    Release,
    ReleaseKind,
    ReleaseState,
    Verdict,
)
from bot.release.rollout import Rollout
from bot.slack import release_blocks as blocks
from bot.slack.release_thread import Posted, ReleaseThread

log = logging.getLogger(__name__)
SYSTEM = "switchman"
# Rollback skips the slow gates — CI, approval, freeze — and promotion and locks, which guard
# releasing new code, not undoing it; authorization is checked when the rollback is requested.
ROLLBACK_SKIPS = {"ci_green", "approval", "freeze_window", "promoted_from", "not_locked"}


@dataclass
class ReleaseFlow:
    ctx: AppContext

    @property
    def thread(self) -> ReleaseThread:
        return ReleaseThread(self.ctx.slack)

    def provider(self, service: str) -> Provider:
        return self.ctx.providers[self.ctx.config.services[service].provider]

    def gate_deps(self, service: str) -> GateDeps:
        assert self.ctx.http is not None
        return GateDeps(self.ctx.config, self.ctx.db, self.provider(service), self.ctx.clock, self.ctx.directory,
                        self.ctx.sleep, self.ctx.http)

    # --- opening ----------------------------------------------------------------------------------
    async def open_thread(self, release_id: int, ahead: list[Release] | None = None) -> Release:
        release = await self._load(release_id)
        if release.message_ts is None:
            channel = release.channel_id or self.ctx.config.services[release.service].channel
            posted = await self.thread.open(release, channel, position=len(ahead) + 1 if ahead else None)
            release = await self._save(release_id, channel_id=posted.channel, message_ts=posted.ts,
                                       detail={**release.detail, "permalink": posted.permalink})
        if ahead:
            await self.thread.reply(release, blocks.queued_reply(release, ahead))
        return release

    # --- gating -------------------------------------------------------------------------------------
    async def start(self, release_id: int) -> None:
        """Preview and gates for a release that is now the one in flight to its environment."""
        release = await self.open_thread(release_id)
        await self.thread.refresh(release)
        await self._preview(release)
        deps = self.gate_deps(release.service)
        inp = GateInput(release.id or 0, release.service, release.environment, release.ref, release.sha or "",
                        release.requested_by)
        async for result in run_gates(self.gates_for(release), inp, deps):
            outcome = result.outcome
            posted = await self.thread.reply(release, blocks.gate_reply(
                result.gate, outcome.verdict, outcome.evidence, outcome.link, result.seconds))
            now = self.ctx.clock.now()
            async with self.ctx.db.session() as session:
                attempt = await releases.next_gate_attempt(session, release_id, result.gate)
                session.add(GateResult(release_id=release_id, gate=result.gate, attempt=attempt,
                                       verdict=outcome.verdict, evidence=outcome.evidence[:3000], link=outcome.link,
                                       overridable=result.overridable, started_at=now, finished_at=now,
                                       message_ts=posted.ts))
                await ledger.record(session, kind=LedgerKind.GATE_VERDICT, actor=f"gate:{result.gate}",
                                    decided_at=now, subject=_subject(release), outcome=outcome.verdict.value,
                                    release_id=release_id, permalink=posted.permalink,
                                    evidence={"gate": result.gate, "evidence": outcome.evidence,
                                              "link": outcome.link, "seconds": round(result.seconds, 3)})
        await self.decide(release_id)

    async def _preview(self, release: Release) -> None:
        """Commits between what runs now and the new commit; a failure here never blocks the release."""
        service = self.ctx.config.services[release.service]
        async with self.ctx.db.session() as session:
            state = await session.get(EnvironmentState, (release.service, release.environment))
        base = state.current_sha if state else None
        try:
            preview = await self.provider(release.service).compare(service.repo, base, release.sha or release.ref)
        except ProviderError as exc:
            await self.thread.reply(release, blocks.note_reply(f":grey_question: No change preview: {exc}"))
            return
        await self.thread.reply(release, blocks.preview_reply(preview, service))

    async def decide(self, release_id: int, *, actor: str = SYSTEM) -> Decision:
        release = await self._load(release_id)
        decision = decide(await self.standings(release_id))
        posted = await self.thread.reply(release, blocks.decision_reply(release, decision))
        now = self.ctx.clock.now()
        async with self.ctx.db.session() as session:
            await ledger.record(session, kind=LedgerKind.DECISION, actor=actor, decided_at=now,
                                subject=_subject(release), outcome=decision.kind.value, release_id=release_id,
                                permalink=posted.permalink,
                                evidence={"blocking": decision.blocking, "waiting_for": decision.waiting_for,
                                          "overridden": decision.overridden})
        if decision.kind == DecisionKind.GO:
            if await self._transition(release_id, ReleaseState.ROLLING_OUT,
                                      {ReleaseState.GATING, ReleaseState.AWAITING_APPROVAL}):
                await self.thread.refresh(await self._load(release_id))
                await Rollout(self).continue_from_current_stage(release_id)
        elif decision.kind == DecisionKind.WAITING:
            await self._transition(release_id, ReleaseState.AWAITING_APPROVAL, {ReleaseState.GATING})
            await self.thread.refresh(await self._load(release_id))
        else:
            rejected = any(g == "approval" for g in decision.blocking)
            state = ReleaseState.REJECTED if rejected else ReleaseState.BLOCKED
            if await self._transition(release_id, state, {ReleaseState.GATING, ReleaseState.AWAITING_APPROVAL}):
                await self.finish(release_id, state, f"NO-GO: blocked by {', '.join(decision.blocking)}")
        return decision

    def gates_for(self, release: Release) -> list[GateOptions]:
        """A deploy meets its environment's gates and the quarantine; a rollback skips the slow ones (§2)."""
        env = self.ctx.config.services[release.service].environments[release.environment]
        if release.kind == ReleaseKind.ROLLBACK:
            return [g for g in env.gates if g.kind not in ROLLBACK_SKIPS]
        return [NotQuarantined(), *env.gates]

    async def standings(self, release_id: int) -> list[GateStanding]:
        async with self.ctx.db.session() as session:
            rows = (await session.exec(select(GateResult).where(GateResult.release_id == release_id)
                                       .order_by(col(GateResult.attempt)))).all()
            overridden = {o.gate for o in (await session.exec(
                select(GateOverride).where(GateOverride.release_id == release_id))).all()}
        latest: dict[str, GateResult] = {}
        for row in rows:
            latest[row.gate] = row
        return [GateStanding(g.gate, Verdict(g.verdict), g.evidence, g.overridable, g.gate in overridden)
                for g in latest.values()]

    # --- the end ------------------------------------------------------------------------------------
    async def finish(self, release_id: int, state: ReleaseState, summary: str) -> None:
        release = await self._load(release_id)
        await self.thread.refresh(release)
        posted = await self.thread.reply(release, blocks.note_reply(f"{blocks.state_text(state)} — {summary}"))
        async with self.ctx.db.session() as session:
            await ledger.record(session, kind=LedgerKind.OUTCOME, actor=SYSTEM, decided_at=self.ctx.clock.now(),
                                subject=_subject(release), outcome=state.value, release_id=release_id,
                                permalink=posted.permalink, evidence={"summary": summary})
        await self.start_next(release.service, release.environment)

    async def start_next(self, service: str, environment: str) -> None:
        async with self.ctx.db.session() as session:
            promoted = await releases.promote_next(session, service=service, environment=environment,
                                                   now=self.ctx.clock.now())
        if promoted is not None and promoted.id is not None:
            await self.thread.reply(promoted, blocks.note_reply(
                f":arrow_forward: {environment} is free; release #{promoted.id} starts now."))
            self.ctx.background.spawn(self.start(promoted.id), name=f"release-{promoted.id}")

    # --- helpers ------------------------------------------------------------------------------------
    def subject(self, release: Release) -> str:
        return _subject(release)

    async def mirror(self, target: DeployTarget, run: PipelineRun | None, state: str, description: str) -> None:
        """Mirror the release into the provider's deployment history; never breaks the release itself."""
        try:
            await self.provider(target.service).report(target, run, state, description)
        except ProviderError as exc:
            log.warning("could not mirror release state to the provider", extra={"error": str(exc)})

    def _target(self, release: Release, stage: int) -> DeployTarget:
        service = self.ctx.config.services[release.service]
        sha = release.sha or release.ref
        names_commit = re.fullmatch(r"[0-9a-f]{7,40}", release.ref) is not None and sha.startswith(release.ref)
        branch = service.environments[release.environment].branch
        rollback = release.kind == ReleaseKind.ROLLBACK
        workflow = service.rollback_workflow if rollback and service.rollback_workflow else service.workflow
        return DeployTarget(repo=service.repo, workflow=workflow, service=release.service,
                            environment=release.environment, ref=release.ref, sha=sha,
                            strategy=release.strategy, stage=stage, release_id=release.id or 0,
                            rollback=rollback, dispatch_ref=branch if names_commit else None)

    async def _load(self, release_id: int) -> Release:
        async with self.ctx.db.session() as session:
            release = await session.get(Release, release_id)
        if release is None:
            raise LookupError(f"release {release_id} does not exist")
        return release

    async def _save(self, release_id: int, **changes: Any) -> Release:
        async with self.ctx.db.session() as session:
            release = await session.get(Release, release_id)
            assert release is not None
            for name, value in changes.items():
                setattr(release, name, value)
            release.updated_at = self.ctx.clock.now()
            session.add(release)
        return release

    async def _transition(self, release_id: int, to: ReleaseState, allowed_from: set[ReleaseState]) -> bool:
        """Move a release on only if it is still in one of `allowed_from`; True for the one caller that won."""
        async with self.ctx.db.session() as session:
            result = await session.exec(
                update(Release).where(col(Release.id) == release_id,
                                      col(Release.state).in_([s.value for s in allowed_from]))
                .values(state=to.value, updated_at=self.ctx.clock.now()))
            return bool(result.rowcount == 1)


def _subject(release: Release) -> str:
    return f"{release.service}/{release.environment}@{release.ref}"


__all__ = ["Posted", "ReleaseFlow"]
