"""The Argo CD provider (§7): sync an application to the release's commit, follow it, roll it back.

Talks to Argo CD's REST API (`api_url`, e.g. https://argocd.example.com; paths under `/api/v1`)
with the bearer token from `token_env`, through `ProviderHttp`; shapes follow
`../shared/contracts/argocd/argocd_api_subset.json` (Argo CD v3.5.1). The configured `project`
goes out as the `project` query parameter on reads and terminations and as the body's `project`
on sync and rollback (the contract declares no query parameters there), so Argo CD answers 404
rather than 403 for an application the project lacks.

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
removed from git stay until pruned in Argo CD) and use the application's own sync strategy.

`report` does nothing: Argo CD keeps its own history of every sync and rollback.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from bot.clock import Clock, SystemClock
from bot.config.models import Provider as ProviderConfig
from bot.errors import ProviderError
from bot.providers.argocd_app import (
    RELEASE_INFO,
    RUNNING_PHASES,
    STAGE_INFO,
    AppView,
    Operation,
    as_dict,
    iso,
    parse_time,
    short,
)
from bot.providers.base import ChangePreview, CiStatus, DeployTarget, PipelineRun, RunState
from bot.providers.http import ProviderHttp, Sleep

SYSTEM = "Argo CD"
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
        assert config.api_url is not None
        self.api_url = config.api_url.rstrip("/")
        self.project = config.project
        self.token_env = token_env or config.token_env or "the token_env variable"
        self._clock = clock or SystemClock()
        self.http = ProviderHttp(client, system=SYSTEM, base_url=self.api_url,
                                 headers={"Authorization": f"Bearer {token}", "Accept": "application/json",
                                          "User-Agent": "switchman"},
                                 timeout=config.timeout.total_seconds(), retries=config.retries, sleep=sleep,
                                 clock=self._clock)
        self.notes: dict[str, str] = {}  # run id → what the thread should know about how it was started

    # --- what Argo CD does not know ---------------------------------------------------------------
    async def resolve_ref(self, repo: str | None, ref: str) -> str:
        raise ProviderError(NO_CODE.format(what=f"resolve {ref}"))

    async def ci_status(self, repo: str | None, sha: str) -> CiStatus:
        raise ProviderError(NO_CODE.format(what=f"tell whether CI passed for {short(sha)}"))

    async def compare(self, repo: str | None, base: str | None, head: str) -> ChangePreview:
        raise ProviderError(NO_CODE.format(what="list the commits a release brings"))

    # --- the wire ---------------------------------------------------------------------------------
    def _path(self, app: str, tail: str = "") -> str:
        return f"/api/v1/applications/{quote(app, safe='')}{tail}"

    def _query(self) -> dict[str, str] | None:
        return {"project": self.project} if self.project else None

    def _body(self, app: str, **fields: Any) -> dict[str, Any]:
        return {"name": app, **({"project": self.project} if self.project else {}), **fields}

    async def _call(self, method: str, app: str, tail: str, *, operation: str, action: str,
                    json: Any = None, allow: tuple[int, ...] = ()) -> httpx.Response:
        """One call about `app`; 401, 403 and 404 become messages that say what to fix."""
        response = await self.http.request(method, self._path(app, tail), operation=operation, json=json,
                                           params=self._query() if method != "POST" else None,
                                           allow=(401, 403, 404, *allow))
        status = response.status_code
        if status == 401:
            raise ProviderError(f"Argo CD refused Switchman's credentials to {operation} (401 Unauthorized): "
                                f"the token in {self.token_env} is invalid or has expired")
        if status == 403:
            where = f"{self.project}/{app}" if self.project else app
            raise ProviderError(f"Argo CD denied permission to {operation} (403 Forbidden{_said(response)}): "
                                f"the token's account needs `applications, {action}` on {where} in Argo CD's RBAC "
                                f"(Argo CD also answers 403 for an application that does not exist)")
        if status == 404:
            in_project = f" in project {self.project}" if self.project else ""
            raise ProviderError(f"Argo CD has no application {app}{in_project} (404 while trying to {operation}"
                                f"{_said(response)}); check the environment's application: in switchman.yml")
        return response

    async def application(self, app: str, *, operation: str | None = None) -> AppView:
        operation = operation or f"read application {app}"
        response = await self._call("GET", app, "", operation=operation, action="get")
        return AppView.of(app, as_dict(self.http.json_of(response, operation)))

    def web_url(self, app: str) -> str:
        return f"{self.api_url}/applications/{quote(app, safe='')}"

    # --- runs -------------------------------------------------------------------------------------
    async def dispatch(self, target: DeployTarget) -> PipelineRun:
        app = _application(target)
        view = await self.application(app)
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
        return PipelineRun(run_id, RunState.QUEUED, url=self.web_url(app), detail=self.notes.get(run_id, ""))

    def _synced_for_release(self, view: AppView, target: DeployTarget) -> PipelineRun | None:
        """A later canary stage: the release's sync already ran; follow it instead of syncing again."""
        op = view.current
        if op is None or op.revision != target.sha or op.for_release(target.release_id) is not True:
            return None
        if op.phase in ("Failed", "Error") or op.started_at is None:
            return None
        run_id = f"{view.name}@{iso(op.started_at)}"
        self.notes[run_id] = f"already synced to {short(target.sha)} by an earlier stage of this release"
        return PipelineRun(run_id, RunState.RUNNING, url=self.web_url(view.name), detail=self.notes[run_id])

    async def _sync(self, app: str, target: DeployTarget) -> None:
        operation = f"sync application {app} to {short(target.sha)}"
        infos = [{"name": RELEASE_INFO, "value": str(target.release_id)},
                 {"name": STAGE_INFO, "value": str(target.stage)}]
        body = self._body(app, revision=target.sha, prune=False, infos=infos)
        response = await self._call("POST", app, "/sync", operation=operation, action="sync", json=body,
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
        response = await self._call("POST", app, "/rollback", operation=operation, action="sync",
                                    json=self._body(app, id=entry.id, prune=False), allow=(400, 409))
        if response.status_code in (400, 409):
            raise self._refusal(app, operation, response, target)
        self.notes[run_id] = f"rolled back to Argo CD history entry {entry.id} ({short(target.sha)})"

    def _refusal(self, app: str, operation: str, response: httpx.Response, target: DeployTarget) -> ProviderError:
        said = _said(response).lower()
        if "auto-sync" in said or "automated" in said:
            template = AUTO_SYNC_ROLLBACK if "rollback" in operation or "roll back" in operation else AUTO_SYNC_DEPLOY
            return ProviderError(template.format(app=app, target="its targetRevision", sha=short(target.sha)))
        if "another operation" in said:
            return ProviderError(f"Argo CD is already running an operation on application {app}; wait for it to "
                                 f"finish or terminate it in Argo CD, then try again")
        return self.http.refused(operation, response)

    async def find_run(self, target: DeployTarget, *, since: datetime) -> PipelineRun | None:
        """After a restart that interrupted a dispatch: the application's operation, if it is ours."""
        app = _application(target)
        view = await self.application(app)
        earliest = since - CLOCK_SKEW
        op = view.current
        if op is not None and self._ours(op, target) and op.started_at is not None and op.started_at >= earliest:
            return self._run(view, target, f"{app}@{iso(op.started_at)}")
        pending = view.pending
        started = op is not None and op.phase in RUNNING_PHASES  # then the requested operation is that one
        if pending is not None and not started and self._ours(pending, target):
            return PipelineRun(f"{app}@{iso(since)}", RunState.QUEUED, url=self.web_url(app),
                               detail="sync requested; waiting for Argo CD's controller to start it")
        return None

    def _ours(self, op: Operation, target: DeployTarget) -> bool:
        return bool(op.revision == target.sha and op.for_release(target.release_id) is not False)

    async def poll(self, target: DeployTarget, run: PipelineRun) -> PipelineRun:
        app, asked = _run_parts(run.id)
        view = await self.application(app, operation=f"read the sync of application {app}")
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
        detail = "; ".join(part for part in (detail, note, _stage_note(target)) if part)
        return PipelineRun(run_id, state, url=self.web_url(view.name), detail=detail)

    async def cancel(self, target: DeployTarget, run: PipelineRun) -> None:
        app, _ = _run_parts(run.id)
        operation = f"terminate the operation on application {app}"
        response = await self._call("DELETE", app, "/operation", operation=operation, action="sync", allow=(400,))
        if response.status_code == 400 and "no operation is in progress" not in _said(response).lower():
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


def _said(response: httpx.Response) -> str:
    """Argo CD's own words: the runtimeError body's `message` (or `error`)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    body = as_dict(body)
    message = body.get("message") or body.get("error")
    return f": {str(message)[:200]}" if message else ""
