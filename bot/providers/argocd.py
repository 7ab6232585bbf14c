"""The Argo CD provider (§7): sync an application to the release's commit, follow it, roll it back.

Talks to Argo CD's REST API (`api_url`, e.g. https://argocd.example.com; paths under `/api/v1`)
with the bearer token from `token_env`, through `ArgoApi` (`argocd_api.py`: the wire, the project,
refusals); shapes follow `../shared/contracts/argocd/argocd_api_subset.json` (Argo CD v3.5.1).
Reading an application and mapping its operation, sync and health onto a run is `argocd_app.py`.

Argo CD does not know the code: refs, CI and change previews come from the service's `ci:`
provider, and this one's `resolve_ref`, `ci_status` and `compare` say so.

Stages. Argo CD syncs a whole application; it cannot send 50% of traffic to a new version. A
canary release therefore syncs once, at its first stage: later stages find the application
already at the release's commit (the sync carries the release id as operation info) and only
confirm that it is still Synced and Healthy before the next bake and verification. Each stage's
detail says that traffic splitting needs Argo Rollouts (a Rollout resource inside the application,
whose steps Argo Rollouts drives).

A run is `<application>@<instant>`: the instant Switchman asked for the sync (or, for a run found
after a restart, when Argo CD started it). The operation that belongs to it is the application's
operation on the release's commit started no earlier than that instant (less `CLOCK_SKEW`).

Rollback (a release of kind rollback) uses Argo CD's own history: `POST …/rollback` with the id of
the newest history entry at the target commit; with no such entry (history keeps only
`revisionHistoryLimit` syncs) it syncs to the commit instead and says so. Argo CD refuses rollback
while automated sync is on; Switchman says so before asking. Syncs do not prune (resources
removed from git stay until pruned in Argo CD) and use Argo CD's default strategy (apply, with
hooks) and the application's own sync options. `cancel` terminates the operation only while it is
the release's own and still running.

`report` does nothing: Argo CD keeps its own history of every sync and rollback.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx

from bot.clock import Clock, SystemClock
from bot.config.models import Provider as ProviderConfig
from bot.errors import ProviderError
from bot.providers.argocd_api import ArgoApi, said
from bot.providers.argocd_app import (
    RELEASE_INFO,
    RUNNING_PHASES,
    STAGE_INFO,
    AppView,
    Operation,
    iso,
    parse_time,
    short,
)
from bot.providers.base import ChangePreview, CiStatus, DeployTarget, PipelineRun, RunState
from bot.providers.http import Sleep

CLOCK_SKEW = timedelta(seconds=60)
START_WITHIN = timedelta(minutes=5)  # a requested sync that never starts is reported after this long
NO_CODE = ("Argo CD deploys but does not know the code: it cannot {what}. Name the service's GitHub Actions "
           "or GitLab provider as ci: in switchman.yml")
AUTO_SYNC_ROLLBACK = ("Argo CD refuses to roll back application {app} while automated sync is on (it would sync "
                      "straight back to {target}). Disable auto-sync on {app} (argocd app set {app} --sync-policy "
                      "none) and run /rollback again, or revert the change in git and let auto-sync deploy it")
AUTO_SYNC_DEPLOY = ("Argo CD application {app} has automated sync following {target}, so Argo CD refuses to sync "
                    "it to {sha}. Point targetRevision at the release in git, or disable auto-sync on {app}")


class ArgoCD:
    """`Provider` for Argo CD; one instance per configured provider, shared by its services."""

    kind = "argocd"

    def __init__(self, config: ProviderConfig, token: str, client: httpx.AsyncClient, *,
                 sleep: Sleep = asyncio.sleep, clock: Clock | None = None, token_env: str | None = None) -> None:
        self._clock = clock or SystemClock()
        self.api = ArgoApi(config, token, client, sleep=sleep, clock=self._clock, token_env=token_env)
        self.http = self.api.http
        self.notes: dict[str, str] = {}  # run id → what the thread should know about how it was started

    # --- what Argo CD does not know ---------------------------------------------------------------
    async def resolve_ref(self, repo: str | None, ref: str) -> str:
        raise ProviderError(NO_CODE.format(what=f"resolve {ref}"))

    async def ci_status(self, repo: str | None, sha: str) -> CiStatus:
        raise ProviderError(NO_CODE.format(what=f"tell whether CI passed for {short(sha)}"))

    async def compare(self, repo: str | None, base: str | None, head: str) -> ChangePreview:
        raise ProviderError(NO_CODE.format(what="list the commits a release brings"))

    # --- runs -------------------------------------------------------------------------------------
    async def dispatch(self, target: DeployTarget) -> PipelineRun:
        app = _application(target)
        view = await self.api.application(app)
        if view.multi_source:
            raise ProviderError(f"Argo CD application {app} has several sources; Switchman syncs single-source "
                                "applications only (one revision per sync)")
        now = self._clock.now()
        if not target.rollback:
            already = self._synced_for_release(view, target)
            if already is not None:
                return already
        if view.busy:
            op = view.pending or view.current
            assert op is not None
            raise ProviderError(f"Argo CD is already running an operation on application {app} ({op.describe()}); "
                                f"wait for it to finish or terminate it in Argo CD, then try again")
        run_id = f"{app}@{iso(now)}"
        if target.rollback:
            await self._roll_back(view, target, run_id)
        else:
            if view.automated and view.target_revision != target.sha:
                raise ProviderError(AUTO_SYNC_DEPLOY.format(app=app, target=view.target_revision,
                                                            sha=short(target.sha)))
            await self._sync(app, target)
        return PipelineRun(run_id, RunState.QUEUED, url=self.api.web_url(app), detail=self.notes.get(run_id, ""))

    def _synced_for_release(self, view: AppView, target: DeployTarget) -> PipelineRun | None:
        """A later canary stage: the release's sync already ran; follow it instead of syncing again."""
        op = view.current
        if op is None or op.revision != target.sha or op.for_release(target.release_id) is not True:
            return None
        if op.phase in ("Failed", "Error") or op.started_at is None:
            return None
        run_id = f"{view.name}@{iso(op.started_at)}"
        self.notes[run_id] = f"already synced to {short(target.sha)} by an earlier stage of this release"
        return PipelineRun(run_id, RunState.RUNNING, url=self.api.web_url(view.name), detail=self.notes[run_id])

    async def _sync(self, app: str, target: DeployTarget) -> None:
        operation = f"sync application {app} to {short(target.sha)}"
        infos = [{"name": RELEASE_INFO, "value": str(target.release_id)},
                 {"name": STAGE_INFO, "value": str(target.stage)}]
        body = self.api.body(app, revision=target.sha, prune=False, infos=infos)
        response = await self.api.call("POST", app, "/sync", operation=operation, action="sync", json=body,
                                       allow=(400, 409))
        if response.status_code in (400, 409):
            raise self._refusal(app, operation, response, target)

    async def _roll_back(self, view: AppView, target: DeployTarget, run_id: str) -> None:
        app = view.name
        if view.automated:
            raise ProviderError(AUTO_SYNC_ROLLBACK.format(app=app, target=view.target_revision))
        entries = [h for h in view.history if h.revision == target.sha]
        if not entries:
            self.notes[run_id] = (f"Argo CD's history of {app} has no entry for {short(target.sha)} (it keeps only "
                                  f"the last syncs), so Switchman synced to it instead of rolling back")
            await self._sync(app, target)
            return
        entry = max(entries, key=lambda h: h.id)
        operation = f"roll back application {app} to history {entry.id} ({short(target.sha)})"
        response = await self.api.call("POST", app, "/rollback", operation=operation, action="sync",
                                       json=self.api.body(app, id=entry.id, prune=False), allow=(400, 409))
        if response.status_code in (400, 409):
            raise self._refusal(app, operation, response, target)
        self.notes[run_id] = f"rolled back to Argo CD history entry {entry.id} ({short(target.sha)})"

    def _refusal(self, app: str, operation: str, response: httpx.Response, target: DeployTarget) -> ProviderError:
        words = said(response).lower()
        if "auto-sync" in words or "automated" in words:
            template = AUTO_SYNC_ROLLBACK if "rollback" in operation or "roll back" in operation else AUTO_SYNC_DEPLOY
            return ProviderError(template.format(app=app, target="its targetRevision", sha=short(target.sha)))
        if "another operation" in words:
            return ProviderError(f"Argo CD is already running an operation on application {app}; wait for it to "
                                 f"finish or terminate it in Argo CD, then try again")
        return self.http.refused(operation, response)

    async def find_run(self, target: DeployTarget, *, since: datetime) -> PipelineRun | None:
        """After a restart that interrupted a dispatch: the application's operation, if it is ours."""
        app = _application(target)
        view = await self.api.application(app)
        earliest = since - CLOCK_SKEW
        op = view.current
        if op is not None and self._ours(op, target) and op.started_at is not None and op.started_at >= earliest:
            return self._run(view, target, f"{app}@{iso(op.started_at)}")
        pending = view.pending
        started = op is not None and op.phase in RUNNING_PHASES  # then the requested operation is that one
        if pending is not None and not started and self._ours(pending, target):
            return PipelineRun(f"{app}@{iso(since)}", RunState.QUEUED, url=self.api.web_url(app),
                               detail="sync requested; waiting for Argo CD's controller to start it")
        return None

    def _ours(self, op: Operation, target: DeployTarget) -> bool:
        return bool(op.revision == target.sha and op.for_release(target.release_id) is not False)

    async def poll(self, target: DeployTarget, run: PipelineRun) -> PipelineRun:
        app, asked = _run_parts(run.id)
        view = await self.api.application(app, operation=f"read the sync of application {app}")
        return self._run(view, target, run.id, asked=asked)

    def _run(self, view: AppView, target: DeployTarget, run_id: str, *, asked: datetime | None = None) -> PipelineRun:
        op = view.current
        note = self.notes.get(run_id, "")
        started = op.started_at if op is not None else None
        current = op is not None and started is not None and (asked is None or started >= asked - CLOCK_SKEW)
        if op is not None and current and not self._ours(op, target):
            state, detail = RunState.FAILED, (f"Argo CD ran another operation on {view.name} ({op.describe()}) in "
                                              f"place of Switchman's sync to {short(target.sha)}")
        elif op is not None and current:
            state, detail = view.run_state(target.sha)
        elif asked is not None and view.pending is None and self._clock.now() - asked > START_WITHIN:
            state, detail = RunState.FAILED, (f"Argo CD never started the sync of {view.name} Switchman asked for at "
                                              f"{iso(asked)} ({view.summary()})")
        else:
            state, detail = RunState.QUEUED, f"sync requested; waiting for Argo CD to start it ({view.summary()})"
        stage_note = "" if state in (RunState.FAILED, RunState.CANCELLED) else _stage_note(target)
        detail = "; ".join(part for part in (detail, note, stage_note) if part)
        return PipelineRun(run_id, state, url=self.api.web_url(view.name), detail=detail)

    async def cancel(self, target: DeployTarget, run: PipelineRun) -> None:
        """Terminate the run's operation if it is still going; never someone else's operation."""
        app, asked = _run_parts(run.id)
        view = await self.api.application(app, operation=f"read application {app} before terminating its sync")
        op = view.current if view.current is not None and view.current.phase in RUNNING_PHASES else view.pending
        if op is None or not self._ours(op, target):
            return
        if op.started_at is not None and asked is not None and op.started_at < asked - CLOCK_SKEW:
            return
        operation = f"terminate the sync of application {app}"
        response = await self.api.call("DELETE", app, "/operation", operation=operation, action="sync", allow=(400,))
        if response.status_code == 400 and "no operation is in progress" not in said(response).lower():
            raise self.http.refused(operation, response)

    async def report(self, target: DeployTarget, run: PipelineRun | None, state: str, description: str) -> None:
        """Nothing to mirror: Argo CD records every sync and rollback in the application's history."""


def _application(target: DeployTarget) -> str:
    if not target.application:
        raise ProviderError(f"environment {target.environment} of service {target.service} names no Argo CD "
                            f"application; add application: <name> to it in switchman.yml")
    return target.application


def _run_parts(run_id: str) -> tuple[str, datetime | None]:
    app, _, when = run_id.partition("@")
    return app, parse_time(when)


def _stage_note(target: DeployTarget) -> str:
    if target.strategy != "canary" or target.rollback or target.stage >= 100:
        return ""
    return (f"Argo CD syncs the whole application, so stage {target.stage}% is not a traffic split "
            f"(that needs Argo Rollouts)")
