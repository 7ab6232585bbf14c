"""Mirror a release into GitHub's own deployment history: one deployment per release, statuses over time.

The first report for a release creates a GitHub deployment of the release's commit to its
environment (`auto_merge: false`, `required_contexts: []` — Switchman's own ci_green gate has
already decided — and `payload: {release_id, stage, strategy}`); every report then adds a
deployment status. The deployment id is kept in memory by release id, and after a restart it is
found again by listing deployments for that commit and environment and matching
`payload.release_id`.

Switchman's states map to GitHub's deployment status states; GitHub's own names pass through.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.errors import ProviderError
from bot.providers.base import DeployTarget, PipelineRun
from bot.providers.github_api import as_dict, repo_path, segment, short
from bot.providers.http import ProviderHttp

DEPLOYMENT_STATES = {
    "queued": "queued", "pending": "pending",
    "in_progress": "in_progress", "running": "in_progress", "deploying": "in_progress",
    "baking": "in_progress", "verifying": "in_progress",
    "success": "success", "succeeded": "success", "done": "success",
    "failure": "failure", "failed": "failure",
    "error": "error", "cancelled": "error",
    "inactive": "inactive", "rolled_back": "inactive", "superseded": "inactive",
}
MAX_DESCRIPTION = 140  # GitHub's limit for a deployment status description


def deployment_state(state: str) -> str:
    try:
        return DEPLOYMENT_STATES[state.lower()]
    except KeyError:
        raise ValueError(f"no GitHub deployment state for {state!r}; known: {', '.join(DEPLOYMENT_STATES)}") from None


def _release_of(deployment: Mapping[str, Any]) -> str | None:
    payload = deployment.get("payload")
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            return None
    release = payload.get("release_id") if isinstance(payload, Mapping) else None
    return None if release is None else str(release)


class DeploymentMirror:
    """Creates at most one GitHub deployment per release and posts its statuses."""

    def __init__(self, http: ProviderHttp) -> None:
        self.http = http
        self.deployment_ids: dict[int, int] = {}  # release id → GitHub deployment id

    async def report(self, target: DeployTarget, run: PipelineRun | None, state: str, description: str) -> None:
        github_state = deployment_state(state)
        deployment_id = await self._deployment(target, description)
        body: dict[str, Any] = {"state": github_state, "description": description[:MAX_DESCRIPTION],
                                "environment": target.environment}
        if run is not None and run.url:
            body["log_url"] = run.url
        await self.http.request(
            "POST", f"{repo_path(target.repo)}/deployments/{segment(deployment_id)}/statuses",
            operation=f"record {github_state} on deployment {deployment_id} of {target.repo}",
            json=body, idempotent=True)

    async def _deployment(self, target: DeployTarget, description: str) -> int:
        known = self.deployment_ids.get(target.release_id)
        if known is None:
            known = await self._find(target) or await self._create(target, description)
            self.deployment_ids[target.release_id] = known
        return known

    async def _find(self, target: DeployTarget) -> int | None:
        operation = f"list deployments of {short(target.sha)} to {target.environment} in {target.repo}"
        response = await self.http.request(
            "GET", f"{repo_path(target.repo)}/deployments", operation=operation,
            params={"sha": target.sha, "environment": target.environment, "per_page": 100})
        deployments = self.http.json_of(response, operation)
        for deployment in deployments if isinstance(deployments, list) else []:
            if isinstance(deployment, Mapping) and _release_of(deployment) == str(target.release_id):
                return int(deployment["id"])
        return None

    async def _create(self, target: DeployTarget, description: str) -> int:
        operation = f"create a deployment of {short(target.sha)} to {target.environment} in {target.repo}"
        body = {
            "ref": target.sha,
            "task": "deploy",
            "environment": target.environment,
            "auto_merge": False,
            "required_contexts": [],
            "description": description[:MAX_DESCRIPTION],
            "payload": {"release_id": target.release_id, "stage": target.stage, "strategy": target.strategy,
                        "service": target.service, "rollback": target.rollback},
            "transient_environment": False,
            "production_environment": target.environment == "production",
        }
        response = await self.http.request("POST", f"{repo_path(target.repo)}/deployments",
                                           operation=operation, json=body)
        data = as_dict(self.http.json_of(response, operation))
        if response.status_code != 201 or "id" not in data:
            raise ProviderError(f"GitHub did not {operation}: {data.get('message') or response.status_code}")
        return int(data["id"])
