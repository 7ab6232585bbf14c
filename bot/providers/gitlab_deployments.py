"""Mirror a release into GitLab's deployment history for its environment.

The first report for a release creates a deployment (`POST /projects/:id/deployments`) of the
release's commit and ref with status `running`, or the reported status; every later report
changes its status (`PUT /projects/:id/deployments/:deployment_id`) when the status changes —
GitLab refuses a transition to the status a deployment already has. The deployment id is kept
in memory by release id; after a restart the newest running deployment of the same commit and ref
to the environment is taken up again. `tag` is true when the ref is one of the project's tags.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.errors import ProviderError
from bot.providers.base import DeployTarget, PipelineRun
from bot.providers.gitlab_api import as_dict, as_list, project_path, segment, short
from bot.providers.http import ProviderHttp

DEPLOYMENT_STATUSES = {
    "queued": "running", "pending": "running", "in_progress": "running", "running": "running",
    "deploying": "running", "baking": "running", "verifying": "running",
    "success": "success", "succeeded": "success", "done": "success",
    "failure": "failed", "failed": "failed", "error": "failed",
    "cancelled": "canceled", "canceled": "canceled", "rolled_back": "canceled", "superseded": "canceled",
}


def deployment_status(state: str) -> str:
    try:
        return DEPLOYMENT_STATUSES[state.lower()]
    except KeyError:
        known = ", ".join(DEPLOYMENT_STATUSES)
        raise ValueError(f"no GitLab deployment status for {state!r}; known: {known}") from None


@dataclass
class Deployments:
    http: ProviderHttp
    known: dict[int, tuple[int, str]] = field(default_factory=dict)  # release id → (deployment id, status)

    async def report(self, target: DeployTarget, run: PipelineRun | None, state: str, description: str) -> None:
        status = deployment_status(state)
        known = self.known.get(target.release_id) or await self._find(target)
        if known is None:
            self.known[target.release_id] = (await self._create(target, status), status)
            return
        deployment_id, current = known
        if current != status:
            await self.http.request(
                "PUT", f"{project_path(target.repo)}/deployments/{segment(deployment_id)}",
                operation=f"mark deployment {deployment_id} of {target.repo} {status}", json={"status": status})
        self.known[target.release_id] = (deployment_id, status)

    def _ref(self, target: DeployTarget) -> str:
        return target.run_from  # a branch or tag: GitLab records deployments of refs, with the commit beside

    async def _find(self, target: DeployTarget) -> tuple[int, str] | None:
        operation = f"list running deployments to {target.environment} in {target.repo}"
        response = await self.http.request(
            "GET", f"{project_path(target.repo)}/deployments", operation=operation,
            params={"environment": target.environment, "status": "running", "order_by": "id", "sort": "desc",
                    "per_page": 20})
        for deployment in as_list(self.http.json_of(response, operation)):
            if deployment.get("sha") == target.sha and deployment.get("ref") == self._ref(target) \
                    and isinstance(deployment.get("id"), int):
                return deployment["id"], "running"
        return None

    async def _is_tag(self, target: DeployTarget) -> bool:
        ref = self._ref(target)
        response = await self.http.request(
            "GET", f"{project_path(target.repo)}/repository/tags/{segment(ref)}",
            operation=f"look up tag {ref} in {target.repo}", allow=(404,))
        return response.status_code == 200

    async def _create(self, target: DeployTarget, status: str) -> int:
        operation = f"record a deployment of {short(target.sha)} to {target.environment} in {target.repo}"
        body = {"environment": target.environment, "sha": target.sha, "ref": self._ref(target),
                "tag": await self._is_tag(target), "status": status}
        response = await self.http.request("POST", f"{project_path(target.repo)}/deployments",
                                           operation=operation, json=body)
        data = as_dict(self.http.json_of(response, operation))
        if not isinstance(data.get("id"), int):
            raise ProviderError(f"GitLab did not {operation}: answered {response.status_code} without a deployment id")
        return int(data["id"])
