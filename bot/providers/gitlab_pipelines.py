"""GitLab pipelines: start one per stage, find it again after a restart, follow it, cancel it.

A stage starts a pipeline on `target.run_from` with the SWITCHMAN_* variables, either through
`POST /projects/:id/pipeline` (the token's user starts it) or, when the provider has a
`trigger_token_env`, through the pipeline trigger API (`POST /projects/:id/trigger/pipeline`, the
trigger token in the body and no PRIVATE-TOKEN). Both answer 201 with the pipeline they created,
so the run is known at once.

Finding an interrupted dispatch. The contract has no endpoint for a pipeline's variables, so a
pipeline cannot be asked which release it belongs to. Pipelines can carry a name, though: with
`workflow: name: "deploy $SWITCHMAN_ENVIRONMENT release $SWITCHMAN_RELEASE_ID stage $SWITCHMAN_STAGE"`
in .gitlab-ci.yml, a pipeline so named is matched on its release and stage. Any other pipeline is
matched on ref, commit, source (api or trigger) and creation time; since every stage of a release
runs the same commit from the same ref, only a pipeline that has not finished is taken (the
previous stage's pipeline had finished before the next dispatch began). A finished unnamed pipeline
cannot be told apart from an earlier stage's, so the stage is started again: a repeated stage is
safer than a skipped one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.errors import ProviderError
from bot.providers.base import DeployTarget, PipelineRun, RunState
from bot.providers.github_runs import names_release, parse_time
from bot.providers.gitlab_api import as_dict, as_list, not_found, project_path, segment, short, validation_message
from bot.providers.http import ProviderHttp
from bot.structured_log import scrubber

RUN_STATES: dict[str, RunState] = {
    "created": RunState.QUEUED, "waiting_for_resource": RunState.QUEUED, "preparing": RunState.QUEUED,
    "waiting_for_callback": RunState.QUEUED, "pending": RunState.QUEUED, "scheduled": RunState.QUEUED,
    "manual": RunState.QUEUED,  # blocked on a manual job: nothing deploys until someone plays it
    "running": RunState.RUNNING, "canceling": RunState.RUNNING,  # jobs are still being stopped
    "success": RunState.SUCCEEDED,
    "failed": RunState.FAILED,
    "canceled": RunState.CANCELLED, "skipped": RunState.CANCELLED,  # nothing ran: not deployed, not broken
}
WAITING_WORDS = {
    "created": "created", "waiting_for_resource": "waiting for a resource (another deploy holds it)",
    "preparing": "preparing a runner", "waiting_for_callback": "waiting for an external callback",
    "pending": "pending: waiting for a runner", "scheduled": "scheduled to start later",
    "manual": "waiting for someone to play a manual job in GitLab",
}
PIPELINE_SOURCES = ("api", "trigger")
NAMES_A_RELEASE = re.compile(r"\brelease\s*#?\d+\b", re.IGNORECASE)
MAX_JOB_NAMES = 5


def run_state(status: str | None) -> RunState:
    # A status GitLab adds later is taken as still waiting; polling goes on until a known end.
    return RUN_STATES.get(str(status), RunState.QUEUED)


def variables(target: DeployTarget) -> dict[str, str]:
    """What the pipeline receives (as CI/CD variables), spelt as a .gitlab-ci.yml `rules:` reads them."""
    return {
        "SWITCHMAN_ENVIRONMENT": target.environment,
        "SWITCHMAN_STRATEGY": target.strategy,
        "SWITCHMAN_STAGE": str(target.stage),
        "SWITCHMAN_RELEASE_ID": str(target.release_id),
        "SWITCHMAN_ROLLBACK": "true" if target.rollback else "false",
        "SWITCHMAN_SHA": target.sha,
    }


@dataclass
class Pipelines:
    """The pipeline half of the GitLab provider; `trigger` is set when pipelines start by trigger token."""

    http: ProviderHttp
    trigger: ProviderHttp | None = None
    trigger_token: str | None = None
    missing_trigger_env: str | None = None  # trigger_token_env names an unset variable
    claimed: set[int] = field(default_factory=set)

    async def dispatch(self, target: DeployTarget) -> PipelineRun:
        base = project_path(target.repo)
        operation = f"start a pipeline on {target.repo} at {target.run_from}"
        if self.missing_trigger_env:
            raise ProviderError(f"GitLab pipelines start with a trigger token, but none is set: set the environment "
                                f"variable {self.missing_trigger_env} (named by trigger_token_env)")
        if self.trigger is not None and self.trigger_token is not None:
            body: dict[str, Any] = {"ref": target.run_from, "token": self.trigger_token,
                                    "variables": variables(target)}
            response = await self.trigger.request("POST", f"{base}/trigger/pipeline", operation=operation,
                                                  json=body, allow=(400, 404))
            if response.status_code == 404:  # GitLab says 404 alike for an unknown project and a wrong token
                raise ProviderError(f"GitLab refused to {operation}: 404 Not Found — the trigger token is not "
                                    f"valid for {target.repo}, or the project does not exist")
        else:
            body = {"ref": target.run_from,
                    "variables": [{"key": k, "value": v} for k, v in variables(target).items()]}
            response = await self.http.request("POST", f"{base}/pipeline", operation=operation, json=body,
                                               allow=(400, 404))
            if response.status_code == 404:
                raise not_found(target.repo, "the project", response)
        if response.status_code == 400:
            raise ProviderError(scrubber.scrub(f"GitLab refused to {operation}: {validation_message(response)}"))
        data = as_dict(self.http.json_of(response, operation))
        if not isinstance(data.get("id"), int):
            raise ProviderError(f"GitLab answered {response.status_code} to {operation} without the pipeline it "
                                "created; check GitLab before trying again")
        self.claimed.add(data["id"])
        return PipelineRun(str(data["id"]), run_state(data.get("status")), url=data.get("web_url"),
                           detail=f"pipeline {data['id']} created")

    async def find(self, target: DeployTarget, *, since: datetime) -> PipelineRun | None:
        """The pipeline an interrupted dispatch of `target` created, if one can be told (module docstring)."""
        operation = f"list pipelines on {target.repo} at {target.run_from}"
        params = {"ref": target.run_from, "created_after": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "order_by": "id", "sort": "desc", "per_page": 50}
        response = await self.http.request("GET", f"{project_path(target.repo)}/pipelines", operation=operation,
                                           params=params)
        picked = self.pick(as_list(self.http.json_of(response, operation)), target, since)
        if picked is None:
            return None
        self.claimed.add(int(picked["id"]))
        return _run(picked, target)

    def pick(self, pipelines: list[dict[str, Any]], target: DeployTarget, since: datetime) -> dict[str, Any] | None:
        for pipeline in pipelines:  # newest first
            if not isinstance(pipeline.get("id"), int) or pipeline["id"] in self.claimed:
                continue
            created = parse_time(pipeline.get("created_at"))
            if pipeline.get("source") not in PIPELINE_SOURCES or created is None or created < since \
                    or pipeline.get("ref") != target.run_from:
                continue
            name = str(pipeline.get("name") or "")
            if NAMES_A_RELEASE.search(name):
                if names_release(name, target):
                    return pipeline
            elif pipeline.get("sha") == target.sha and not run_state(pipeline.get("status")).finished:
                return pipeline
        return None

    async def poll(self, target: DeployTarget, run: PipelineRun) -> PipelineRun:
        base = f"{project_path(target.repo)}/pipelines/{segment(run.id)}"
        operation = f"get the state of pipeline {run.id} on {target.repo}"
        response = await self.http.request("GET", base, operation=operation, allow=(404,))
        if response.status_code == 404:
            raise not_found(target.repo, f"pipeline {run.id}", response)
        data = as_dict(self.http.json_of(response, operation))
        polled = _run(data, target)
        if polled.state in (RunState.FAILED, RunState.CANCELLED):
            detail = await self._jobs_detail(base, data, target)
            polled = PipelineRun(polled.id, polled.state, polled.url, detail + _moved_note(data, target))
        return polled

    async def _jobs_detail(self, base: str, data: Mapping[str, Any], target: DeployTarget) -> str:
        """Which jobs failed and why (GitLab's failure_reason), for the release thread."""
        status = str(data.get("status"))
        operation = f"list the jobs of pipeline {data.get('id')} on {target.repo}"
        try:
            response = await self.http.request("GET", f"{base}/jobs", operation=operation, params={"per_page": 100})
            jobs = as_list(self.http.json_of(response, operation))
        except ProviderError:
            jobs = []  # the pipeline's own status is still worth reporting
        failed = [j for j in jobs if j.get("status") == "failed" and not j.get("allow_failure")]
        if status == "failed" and failed:
            words = [f"{j.get('name')} (stage {j.get('stage')}) failed: {j.get('failure_reason') or 'no reason given'}"
                     for j in failed[:MAX_JOB_NAMES]]
            more = f" and {len(failed) - MAX_JOB_NAMES} more" if len(failed) > MAX_JOB_NAMES else ""
            return f"pipeline {data.get('id')} failed: job {'; job '.join(words)}{more}"
        if status == "failed":
            return f"pipeline {data.get('id')} failed"
        return f"pipeline {data.get('id')} was {'skipped' if status == 'skipped' else 'canceled'} in GitLab"

    async def cancel(self, target: DeployTarget, run: PipelineRun) -> None:
        # GitLab answers 200 (docs) or 201 (spec) whatever state the pipeline is in; cancelling twice is harmless.
        path = f"{project_path(target.repo)}/pipelines/{segment(run.id)}/cancel"
        operation = f"cancel pipeline {run.id} on {target.repo}"
        response = await self.http.request("POST", path, operation=operation, allow=(404,), idempotent=True)
        if response.status_code == 404:
            raise not_found(target.repo, f"pipeline {run.id}", response)


def _run(data: Mapping[str, Any], target: DeployTarget) -> PipelineRun:
    status = str(data.get("status"))
    state = run_state(status)
    detail = {
        RunState.QUEUED: WAITING_WORDS.get(status, status),
        RunState.RUNNING: "canceling" if status == "canceling" else "running",
        RunState.SUCCEEDED: "succeeded",
        RunState.FAILED: "failed",
        RunState.CANCELLED: status,
    }[state]
    return PipelineRun(str(data.get("id")), state, url=data.get("web_url"), detail=detail + _moved_note(data, target))


def _moved_note(data: Mapping[str, Any], target: DeployTarget) -> str:
    """A pipeline runs the ref's tip; say so when that is no longer the release's commit."""
    sha = data.get("sha")
    if sha and target.sha and sha != target.sha:
        return f" (ran on {short(str(sha))}, not {short(target.sha)}: {target.run_from} moved since the release)"
    return ""
