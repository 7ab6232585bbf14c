"""Workflow runs on GitHub Actions: start one with workflow_dispatch, find it, follow it, cancel it.

How the run is found. Switchman asks GitHub for the run's id (`return_run_details: true`); GitHub
answers 200 with `workflow_run_id`. Older GitHub Enterprise Server versions answer 204 without a
body, so Switchman lists the workflow's recent `workflow_dispatch` runs on the dispatched ref and
takes the newest one that (a) was created no earlier than the dispatch minus `CLOCK_SKEW`, (b) has
`release <release_id>` in its `display_title` or `name`, with `stage <n>` matching too when the
title names a stage, and (c) has not already been claimed by an earlier dispatch. It searches a few
times (`SEARCH_DELAYS`, with the injected sleep) and otherwise says it could not find the run — it
never guesses. For that to work the deploy workflow must name its runs, e.g.::

    on:
      workflow_dispatch:
        inputs: {environment: {}, strategy: {}, stage: {}, release_id: {}, rollback: {}}
    run-name: "deploy ${{ inputs.environment }} release ${{ inputs.release_id }} stage ${{ inputs.stage }}"

The workflow must declare all five inputs: GitHub refuses a dispatch with undeclared inputs (422).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.errors import ProviderError
from bot.providers.base import DeployTarget, PipelineRun, RunState
from bot.providers.github_api import as_dict, repo_path, segment, short
from bot.providers.http import ProviderHttp, Sleep

CLOCK_SKEW = timedelta(seconds=60)
SEARCH_DELAYS = (1.0, 2.0, 3.0, 5.0, 8.0)  # six searches over about 19 s
QUEUED_STATUSES = frozenset({"queued", "waiting", "requested", "pending"})
FAILED_JOB_CONCLUSIONS = frozenset({"failure", "timed_out", "cancelled", "action_required", "startup_failure"})


def dispatch_inputs(target: DeployTarget) -> dict[str, str]:
    """workflow_dispatch inputs are strings; booleans are spelt as the workflow reads them."""
    return {
        "environment": target.environment,
        "strategy": target.strategy,
        "stage": str(target.stage),
        "release_id": str(target.release_id),
        "rollback": "true" if target.rollback else "false",
        "sha": target.sha,
    }


def run_state(status: str | None, conclusion: str | None) -> RunState:
    if status == "completed":
        if conclusion == "success":
            return RunState.SUCCEEDED
        return RunState.CANCELLED if conclusion == "cancelled" else RunState.FAILED
    if status == "in_progress":
        return RunState.RUNNING
    return RunState.QUEUED  # queued, waiting, requested, pending, or a status GitHub adds later


def names_release(title: str, target: DeployTarget) -> bool:
    """Whether a run title carries this release's marker (and this stage's, if it names a stage)."""
    if not re.search(rf"\brelease\s*#?{target.release_id}\b", title, re.IGNORECASE):
        return False
    stage = re.search(r"\bstage\s*(\d+)\b", title, re.IGNORECASE)
    return stage is None or int(stage.group(1)) == target.stage


def parse_time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass
class WorkflowRuns:
    """The run half of the GitHub Actions provider; `claimed` remembers runs already handed out."""

    http: ProviderHttp
    sleep: Sleep
    search_delays: tuple[float, ...] = SEARCH_DELAYS
    claimed: set[int] = field(default_factory=set)

    async def dispatch(self, target: DeployTarget, *, now: datetime) -> PipelineRun:
        workflow = _workflow(target)
        path = f"{repo_path(target.repo)}/actions/workflows/{segment(workflow)}/dispatches"
        operation = f"start workflow {workflow} on {target.repo} at {target.ref}"
        body: dict[str, Any] = {"ref": target.run_from, "inputs": dispatch_inputs(target),
                                "return_run_details": True}
        response = await self.http.request("POST", path, operation=operation, json=body, allow=(422,))
        if response.status_code == 422 and "return_run_details" in response.text:
            # A GitHub Enterprise Server that predates the flag rejects it; it never started anything.
            del body["return_run_details"]
            response = await self.http.request("POST", path, operation=operation, json=body)
        elif response.status_code == 422:
            raise self.http.refused(operation, response)
        if response.status_code == 200:
            data = as_dict(self.http.json_of(response, operation))
            run_id = int(data["workflow_run_id"])
            self.claimed.add(run_id)
            return PipelineRun(str(run_id), RunState.QUEUED, url=data.get("html_url"),
                               detail=f"workflow run {run_id} started")
        return await self.find(target, since=now - CLOCK_SKEW)

    async def find(self, target: DeployTarget, *, since: datetime) -> PipelineRun:
        """The run a 204 dispatch started, found by its title (see the module docstring)."""
        workflow = _workflow(target)
        path = f"{repo_path(target.repo)}/actions/workflows/{segment(workflow)}/runs"
        params = {"event": "workflow_dispatch", "branch": target.run_from, "per_page": 20}
        operation = f"list runs of workflow {workflow} on {target.repo}"
        for attempt in range(len(self.search_delays) + 1):
            if attempt:
                await self.sleep(self.search_delays[attempt - 1])
            data = as_dict(self.http.json_of(await self.http.request("GET", path, operation=operation,
                                                                         params=params), operation))
            run = self._pick(data.get("workflow_runs") or [], target, since)
            if run is not None:
                self.claimed.add(int(run["id"]))
                return _pipeline_run(run, target)
        waited = sum(self.search_delays)
        raise ProviderError(
            f"GitHub started workflow {workflow} on {target.repo} but no run titled "
            f"'release {target.release_id}' appeared within {waited:g}s; give the workflow a run-name "
            f"such as \"deploy ${{{{ inputs.environment }}}} release ${{{{ inputs.release_id }}}} "
            f"stage ${{{{ inputs.stage }}}}\" so Switchman can follow it")

    async def find_once(self, target: DeployTarget, *, since: datetime) -> PipelineRun | None:
        """One look for a run of `target` started since `since` (no waiting): None when there is none."""
        workflow = _workflow(target)
        path = f"{repo_path(target.repo)}/actions/workflows/{segment(workflow)}/runs"
        params = {"event": "workflow_dispatch", "branch": target.run_from, "per_page": 20}
        operation = f"list runs of workflow {workflow} on {target.repo}"
        data = as_dict(self.http.json_of(await self.http.request("GET", path, operation=operation, params=params),
                                         operation))
        run = self._pick(data.get("workflow_runs") or [], target, since)
        if run is None:
            return None
        self.claimed.add(int(run["id"]))
        return _pipeline_run(run, target)

    def _pick(self, runs: list[Any], target: DeployTarget, since: datetime) -> dict[str, Any] | None:
        candidates = []
        for run in runs:
            if not isinstance(run, Mapping) or int(run.get("id", 0)) in self.claimed:
                continue
            created = parse_time(run.get("created_at"))
            title = f"{run.get('display_title') or ''} {run.get('name') or ''}"
            if created is not None and created >= since and names_release(title, target):
                candidates.append((created, int(run["id"]), dict(run)))
        return max(candidates, key=lambda c: (c[0], c[1]))[2] if candidates else None

    async def poll(self, target: DeployTarget, run: PipelineRun) -> PipelineRun:
        base = f"{repo_path(target.repo)}/actions/runs/{segment(run.id)}"
        operation = f"get the state of workflow run {run.id} on {target.repo}"
        data = as_dict(self.http.json_of(await self.http.request("GET", base, operation=operation), operation))
        polled = _pipeline_run(data, target)
        if polled.state is RunState.FAILED:
            detail = await self._failure_detail(base, data, target) + _moved_note(data, target)
            polled = PipelineRun(polled.id, polled.state, polled.url, detail)
        return polled

    async def _failure_detail(self, base: str, data: Mapping[str, Any], target: DeployTarget) -> str:
        conclusion = data.get("conclusion") or "failure"
        operation = f"list the jobs of workflow run {data.get('id')} on {target.repo}"
        try:
            response = await self.http.request("GET", f"{base}/jobs", operation=operation,
                                               params={"filter": "latest", "per_page": 100})
            jobs = as_dict(self.http.json_of(response, operation)).get("jobs") or []
        except ProviderError:
            jobs = []  # the run's own conclusion is still worth reporting
        failed = [str(j.get("name")) for j in jobs if isinstance(j, Mapping)
                  and j.get("conclusion") in FAILED_JOB_CONCLUSIONS]
        if failed:
            return f"{conclusion}: job {', '.join(failed)} failed" if len(failed) == 1 else \
                f"{conclusion}: jobs {', '.join(failed)} failed"
        return f"workflow run concluded {conclusion}"

    async def cancel(self, target: DeployTarget, run: PipelineRun) -> None:
        path = f"{repo_path(target.repo)}/actions/runs/{segment(run.id)}/cancel"
        operation = f"cancel workflow run {run.id} on {target.repo}"
        response = await self.http.request("POST", path, operation=operation, allow=(409,), idempotent=True)
        if response.status_code == 409 and not (await self.poll(target, run)).state.finished:
            raise self.http.refused(operation, response)


def _workflow(target: DeployTarget) -> str:
    if not target.workflow:
        raise ProviderError(f"service {target.service} has no workflow configured; "
                            "GitHub Actions needs workflow: <file name>, e.g. deploy.yml")
    return target.workflow


def _pipeline_run(data: Mapping[str, Any], target: DeployTarget) -> PipelineRun:
    status, conclusion = data.get("status"), data.get("conclusion")
    state = run_state(status, conclusion)
    detail = {
        RunState.QUEUED: "waiting for approval of a protected environment" if status == "waiting" else "queued",
        RunState.RUNNING: "in progress",
        RunState.SUCCEEDED: "succeeded",
        RunState.CANCELLED: "cancelled",
        RunState.FAILED: f"workflow run concluded {conclusion}",
    }[state]
    return PipelineRun(str(data.get("id")), state, url=data.get("html_url"), detail=detail + _moved_note(data, target))


def _moved_note(data: Mapping[str, Any], target: DeployTarget) -> str:
    """workflow_dispatch runs the ref's tip; say so when that is no longer the release's commit."""
    head = data.get("head_sha")
    if head and target.sha and head != target.sha:
        return f" (ran on {short(str(head))}, not {short(target.sha)}: {target.run_from} moved since the release)"
    return ""
