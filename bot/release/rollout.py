"""Rolling a release out stage by stage (§5): dispatch, watch the run, bake, verify, decide.

Each step leaves the release's database row saying exactly where it is (stage index, the run of
that stage, when the bake ends), so a restarted process resumes it (`resume.py`) without
dispatching a stage twice. The bake is a scheduled job, not a sleeping task. After each stage
the verification checks decide: continue, stop (and roll back when `auto_rollback`), or pause
with Promote / Abort buttons when a check has no data.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bot.errors import ProviderError
from bot.ledger import service as ledger
from bot.ledger.models import DecisionKind as LedgerKind
from bot.providers.base import DeployTarget, PipelineRun, RunState
from bot.release import service as releases
from bot.release.models import EnvironmentState, Release, ReleaseKind, ReleaseState, Verdict
from bot.release.verify import CheckResult, run_checks
from bot.slack import release_blocks as blocks
from bot.slack.dates import slack_date

if TYPE_CHECKING:
    from bot.release.flow import ReleaseFlow

POLL_SECONDS = (2, 4, 8, 15, 30)
BAKE_JOB = "release_bake_end"
PAUSE_JOB = "release_pause_timeout"


def stages_of(flow: ReleaseFlow, release: Release) -> list[int]:
    env = flow.ctx.config.services[release.service].environments[release.environment]
    if release.kind == ReleaseKind.ROLLBACK or release.strategy != "canary":
        return [100]
    return list(env.stages)


class Rollout:
    def __init__(self, flow: ReleaseFlow) -> None:
        self.flow = flow
        self.ctx = flow.ctx

    # --- stages -------------------------------------------------------------------------------------
    async def continue_from_current_stage(self, release_id: int) -> None:
        """Dispatch the current stage, or watch it if its run was already dispatched (a restart)."""
        release = await self.flow._load(release_id)
        stages = stages_of(self.flow, release)
        if release.stage_index >= len(stages):
            await self.succeed(release_id)
            return
        run = (release.detail or {}).get("run")
        if run and run.get("stage") == release.stage_index:
            await self.watch(release_id, PipelineRun(run["id"], RunState.RUNNING, run.get("url")))
            return
        target = self.target(release)
        label = self.label(release)
        try:
            started = await self.flow.provider(release.service).dispatch(target)
        except ProviderError as exc:
            await self.fail(release_id, f"{label}: {exc}")
            return
        release = await self.flow._save(
            release_id, provider_run_id=started.id, provider_run_url=started.url,
            detail={**release.detail, "run": {"stage": release.stage_index, "id": started.id, "url": started.url},
                    "stage_label": label})
        await self.flow.thread.refresh(release)
        link = f" <{started.url}|run {started.id}>" if started.url else f" run {started.id}"
        await self.flow.thread.reply(release, blocks.note_reply(
            f":truck: {label}: dispatched {target.strategy} rollout of `{target.ref}` to {target.environment} —{link}"))
        await self.flow.mirror(target, started, "in_progress", f"{label} running")
        await self.watch(release_id, started)

    async def watch(self, release_id: int, run: PipelineRun) -> None:
        release = await self.flow._load(release_id)
        target, label = self.target(release), self.label(release)
        provider = self.flow.provider(release.service)
        attempt = 0
        try:
            while not run.state.finished:
                await self.ctx.sleep(POLL_SECONDS[min(attempt, len(POLL_SECONDS) - 1)])
                attempt += 1
                run = await provider.poll(target, run)
        except ProviderError as exc:
            await self.fail(release_id, f"{label}: {exc}")
            return
        if (await self.flow._load(release_id)).state != ReleaseState.ROLLING_OUT:
            return  # cancelled or rolled back while the run was going
        ok = run.state == RunState.SUCCEEDED
        await self.flow.thread.reply(release, blocks.note_reply(
            f"{':white_check_mark:' if ok else ':x:'} {label}: pipeline run {run.state.value}"
            + (f" — {run.detail}" if run.detail else "")))
        if not ok:
            await self.fail(release_id, f"{label}: the pipeline run {run.state.value}. {run.detail}".strip(), run)
            return
        await self.after_stage(release_id)

    async def after_stage(self, release_id: int) -> None:
        release = await self.flow._load(release_id)
        env = self.ctx.config.services[release.service].environments[release.environment]
        if release.kind == ReleaseKind.ROLLBACK or (not env.verify and not env.bake):
            await self.next_stage(release_id)
            return
        until = self.ctx.clock.now() + env.bake
        if not await self.flow._transition(release_id, ReleaseState.VERIFYING, {ReleaseState.ROLLING_OUT}):
            return
        release = await self.flow._save(release_id, detail={**release.detail, "bake_until": until.isoformat(),
                                                            "bake_stage": release.stage_index})
        await self.flow.thread.refresh(release)
        await self.flow.thread.reply(release, blocks.note_reply(
            f":hourglass_flowing_sand: {self.label(release)}: baking for {_duration(env.bake)}; verification at "
            f"{slack_date(until)}"))
        self.schedule_bake_end(release_id, release.stage_index, until)

    def schedule_bake_end(self, release_id: int, stage: int, at: object) -> None:
        self.ctx.scheduler.schedule(f"release-bake-{release_id}", at, BAKE_JOB,  # type: ignore[arg-type]
                                    release_id=release_id, stage=stage)

    async def bake_end(self, release_id: int, stage: int) -> None:
        """The bake job: verify, then continue, stop or pause. Does nothing if already handled."""
        release = await self.flow._load(release_id)
        if release.state != ReleaseState.VERIFYING or release.stage_index != stage:
            return
        results = await run_checks(self.ctx, release.service,
                                   self.ctx.config.services[release.service].environments[release.environment].verify)
        for result in results:
            await self.flow.thread.reply(release, blocks.gate_reply(
                result.name, result.outcome.verdict, result.outcome.evidence, result.outcome.link, 0.0))
        failed = [r for r in results if r.outcome.verdict == Verdict.FAIL]
        unsure = [r for r in results if r.outcome.verdict in (Verdict.INCONCLUSIVE, Verdict.ERROR)]
        if failed:
            await self.verification_failed(release_id, failed)
        elif unsure:
            await self.pause(release_id, unsure)
        elif await self.flow._transition(release_id, ReleaseState.ROLLING_OUT, {ReleaseState.VERIFYING}):
            await self.next_stage(release_id)

    async def next_stage(self, release_id: int) -> None:
        release = await self.flow._load(release_id)
        release = await self.flow._save(release_id, stage_index=release.stage_index + 1)
        await self.continue_from_current_stage(release_id)

    # --- when verification says no ----------------------------------------------------------------------
    async def verification_failed(self, release_id: int, failed: list[CheckResult]) -> None:
        from bot.release.rollback import start_automatic_rollback

        release = await self.flow._load(release_id)
        env = self.ctx.config.services[release.service].environments[release.environment]
        evidence = "; ".join(f"{r.name}: {r.outcome.evidence}" for r in failed)
        now = self.ctx.clock.now()
        release = await self.flow._save(release_id, detected_at=now)
        if env.auto_rollback:
            await start_automatic_rollback(self.flow, release_id, evidence)
            return
        if not await self.flow._transition(release_id, ReleaseState.PAUSED, {ReleaseState.VERIFYING}):
            return
        release = await self.flow._save(release_id, detail={**release.detail, "paused_for": "failed"})
        await self.flow.thread.refresh(release)
        await self.flow.thread.reply(release, blocks.paused_reply(release, f"Verification failed — {evidence}",
                                                                  failed=True))

    async def pause(self, release_id: int, unsure: list[CheckResult]) -> None:
        release = await self.flow._load(release_id)
        env = self.ctx.config.services[release.service].environments[release.environment]
        if not await self.flow._transition(release_id, ReleaseState.PAUSED, {ReleaseState.VERIFYING}):
            return
        until = self.ctx.clock.now() + env.inconclusive_timeout
        release = await self.flow._save(release_id, detail={**release.detail, "paused_for": "inconclusive",
                                                            "pause_until": until.isoformat()})
        await self.flow.thread.refresh(release)
        evidence = "; ".join(f"{r.name}: {r.outcome.evidence}" for r in unsure)
        await self.flow.thread.reply(release, blocks.paused_reply(
            release, f"Verification is inconclusive — {evidence}. Promote or abort; without an answer by "
                     f"{slack_date(until)} the release is aborted.", failed=False))
        self.ctx.scheduler.schedule(f"release-pause-{release_id}", until, PAUSE_JOB, release_id=release_id,
                                    stage=release.stage_index)

    async def pause_timeout(self, release_id: int, stage: int) -> None:
        release = await self.flow._load(release_id)
        if release.state == ReleaseState.PAUSED and release.stage_index == stage:
            await self.abort(release_id, "nobody answered in time")

    async def promote(self, release_id: int, *, user: str) -> bool:
        """Carry on past an inconclusive or failed verification; False when the release was not paused."""
        if not await self.flow._transition(release_id, ReleaseState.ROLLING_OUT, {ReleaseState.PAUSED}):
            return False
        self.ctx.scheduler.cancel(f"release-pause-{release_id}")
        release = await self.flow._load(release_id)
        posted = await self.flow.thread.reply(release, blocks.note_reply(
            f":arrow_forward: <@{user}> promoted past the verification of {self.label(release)}"))
        async with self.ctx.db.session() as session:
            await ledger.record(session, kind=LedgerKind.OVERRIDE, actor=user, decided_at=self.ctx.clock.now(),
                                subject=self.flow.subject(release), outcome="promoted", release_id=release_id,
                                permalink=posted.permalink,
                                evidence={"stage": release.stage_index, "special_handling": True,
                                          "paused_for": (release.detail or {}).get("paused_for")})
        await self.next_stage(release_id)
        return True

    async def abort(self, release_id: int, why: str, *, user: str | None = None) -> None:
        from bot.release.rollback import start_automatic_rollback

        self.ctx.scheduler.cancel(f"release-pause-{release_id}")
        release = await self.flow._load(release_id)
        env = self.ctx.config.services[release.service].environments[release.environment]
        who = f"<@{user}>" if user else "Switchman"
        if env.auto_rollback or user is not None:
            await start_automatic_rollback(self.flow, release_id, f"aborted by {who}: {why}", actor=user)
            return
        if await self.flow._transition(release_id, ReleaseState.FAILED, {ReleaseState.PAUSED}):
            await self.flow.finish(release_id, ReleaseState.FAILED, f"aborted by {who}: {why}")

    # --- outcomes -------------------------------------------------------------------------------------
    async def succeed(self, release_id: int) -> None:
        now = self.ctx.clock.now()
        async with self.ctx.db.session() as session:
            row = await session.get(Release, release_id)
            assert row is not None
            await releases.set_state(session, row, ReleaseState.SUCCEEDED, now, verified_at=now)
            state = await session.get(EnvironmentState, (row.service, row.environment))
            state = state or EnvironmentState(service=row.service, environment=row.environment, updated_at=now)
            if state.quarantined_sha and row.sha != state.quarantined_sha and row.kind == ReleaseKind.DEPLOY:
                state.quarantined_sha = None  # a newer commit is deployed: the quarantine has done its job
            state.current_sha, state.current_ref, state.current_release_id = row.sha, row.ref, row.id
            state.updated_at = now
            session.add(state)
        release = await self.flow._load(release_id)
        await self.flow.mirror(self.target(release), None, "success", "released by Switchman")
        if release.kind == ReleaseKind.ROLLBACK and release.rollback_of:
            from bot.release.rollback import rollback_succeeded

            await rollback_succeeded(self.flow, release)
        await self.flow.finish(release_id, ReleaseState.SUCCEEDED,
                               "rolled back and running" if release.kind == ReleaseKind.ROLLBACK
                               else "released and verified")

    async def fail(self, release_id: int, why: str, run: PipelineRun | None = None) -> None:
        release = await self.flow._load(release_id)
        if not await self.flow._transition(release_id, ReleaseState.FAILED, {ReleaseState.ROLLING_OUT}):
            return
        await self.flow.mirror(self.target(release), run, "failure", why[:140])
        await self.flow.finish(release_id, ReleaseState.FAILED, why)

    # --- helpers ------------------------------------------------------------------------------------
    def target(self, release: Release) -> DeployTarget:
        stages = stages_of(self.flow, release)
        return self.flow._target(release, stages[min(release.stage_index, len(stages) - 1)])

    def label(self, release: Release) -> str:
        stages = stages_of(self.flow, release)
        if len(stages) == 1:
            return "Rollback" if release.kind == ReleaseKind.ROLLBACK else "Rollout"
        index = min(release.stage_index, len(stages) - 1)
        return f"Stage {index + 1}/{len(stages)} ({stages[index]}%)"


def _duration(delta: timedelta) -> str:
    from bot.config.durations import format_duration

    return format_duration(delta)
