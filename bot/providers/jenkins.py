"""The Jenkins provider (§7): buildWithParameters → queue item → build, polled until it has a result.

Jenkins deploys; it does not know the code. A service deployed by Jenkins names a `ci:` provider
(GitHub Actions or GitLab) that resolves refs, gates on CI and previews changes, so this
provider's `resolve_ref`, `ci_status` and `compare` only explain that. The job is the service's
`job:` folder path; it must declare the string parameters of `jenkins_runs.parameters`.

A dispatch POSTs the parameters and follows the `Location` of the 201 (or of the 303 Jenkins
sends when an identical item is already queued) to the queue item; the run is `queue:<id>` until
an executor starts the build, then the build's number (see `jenkins_runs`). Requests go through
`ProviderHttp` (timeouts, retries on 5xx/429 honouring Retry-After) and `JenkinsApi` (the CSRF
crumb, refusals that say what failed). The API token never leaves the Authorization header.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import NoReturn

import httpx

from bot.clock import Clock, SystemClock
from bot.config.models import Provider as ProviderConfig
from bot.errors import ProviderError
from bot.providers import jenkins_runs as runs
from bot.providers.base import ChangePreview, CiStatus, DeployTarget, PipelineRun, RunState
from bot.providers.http import ProviderHttp, Sleep
from bot.providers.jenkins_api import SYSTEM, JenkinsApi, basic_auth, job_path
from bot.structured_log import scrubber


class Jenkins:
    """`Provider` for Jenkins; one instance per configured provider, shared by the services it deploys."""

    kind = "jenkins"

    def __init__(self, config: ProviderConfig, user: str, token: str, client: httpx.AsyncClient, *,
                 sleep: Sleep = asyncio.sleep, clock: Clock | None = None) -> None:
        assert config.api_url is not None  # the config refuses a jenkins provider without it
        scrubber.register([token])
        self.url = config.api_url.rstrip("/")
        self.http = ProviderHttp(client, system=SYSTEM, base_url=self.url, headers=basic_auth(user, token),
                                 timeout=config.timeout.total_seconds(), retries=config.retries, sleep=sleep,
                                 clock=clock or SystemClock())
        self.api = JenkinsApi(self.http, user, config.token_env)

    # --- what Jenkins does not know -----------------------------------------------------------
    def _not_a_code_host(self, what: str) -> NoReturn:
        raise ProviderError(f"Jenkins cannot {what}: it runs the deploy job but does not know the code; "
                            "name the service's CI provider (github_actions or gitlab) as ci: in switchman.yml")

    async def resolve_ref(self, repo: str | None, ref: str) -> str:
        self._not_a_code_host(f"resolve ref {ref}")

    async def ci_status(self, repo: str | None, sha: str) -> CiStatus:
        self._not_a_code_host("report CI for a commit")

    async def compare(self, repo: str | None, base: str | None, head: str) -> ChangePreview:
        self._not_a_code_host("compare commits")

    # --- runs ---------------------------------------------------------------------------------
    async def dispatch(self, target: DeployTarget) -> PipelineRun:
        job = job_path(target.job, target.service)
        operation = f"start job {target.job} for {target.environment} at {target.ref}"
        response = await self.api.post(f"{job}/buildWithParameters", operation=operation,
                                       data=runs.parameters(target), allow=(302, 303))
        self.api.check(response, operation, missing=f"Jenkins has no job {target.job} at {self.url} (404): "
                                                    "check the service's job: folder path")
        item = runs.queue_id(response.headers.get("location")) if response.status_code in (201, 303) else None
        if item is None:
            raise ProviderError(f"Jenkins did not queue a build of {target.job} (it answered "
                                f"{response.status_code} without a queue item); check that the job is enabled "
                                "and declares the SWITCHMAN_* parameters")
        run = runs.waiting(item, None, response.headers.get("location"))
        try:  # one look, so the thread can say why it waits; the build is queued either way
            return await self._poll_queue(target, run, item)
        except ProviderError:
            return run

    async def find_run(self, target: DeployTarget, *, since: datetime) -> PipelineRun | None:
        """The queue item or build a dispatch of `target` started, by its SWITCHMAN_* parameters."""
        job = job_path(target.job, target.service)
        queue = await self.api.get_json("/queue/api/json", params={"tree": runs.QUEUE_TREE},
                                        operation="list the Jenkins queue")
        item = runs.queue_item_for((queue or {}).get("items") or [], target, job)
        if item is not None:
            return runs.waiting(int(item["id"]), item.get("why"), f"{self.url}/queue/item/{item['id']}/")
        build = await self._find_build(target, since)
        return runs.build_run(build) if build is not None else None

    async def _find_build(self, target: DeployTarget, since: datetime | None) -> dict[str, object] | None:
        job = job_path(target.job, target.service)
        data = await self.api.get_json(job + "/api/json", params={"tree": runs.BUILDS_TREE},
                                       operation=f"list the builds of job {target.job}",
                                       missing=f"Jenkins has no job {target.job} at {self.url} (404)")
        return runs.newest_build_for((data or {}).get("builds") or [], target, since)

    async def poll(self, target: DeployTarget, run: PipelineRun) -> PipelineRun:
        item = runs.queued_item(run.id)
        if item is not None:
            return await self._poll_queue(target, run, item)
        return await self._poll_build(target, int(run.id), note=runs.carried_note(run.detail))

    async def _poll_queue(self, target: DeployTarget, run: PipelineRun, item: int) -> PipelineRun:
        data = await self.api.get_json(f"/queue/item/{item}/api/json", operation=f"follow Jenkins queue item {item}")
        if data is None:  # Jenkins forgets left items after a few minutes: find the build by its parameters
            build = await self._find_build(target, None)
            if build is None:
                raise ProviderError(f"Jenkins no longer knows queue item {item} of job {target.job}, and no build "
                                    f"of it carries release {target.release_id} stage {target.stage}")
            return runs.build_run(build, note=runs.carried_note(run.detail))
        if data.get("cancelled"):
            return PipelineRun(run.id, RunState.CANCELLED, run.url, "the Jenkins queue item was cancelled "
                                                                    "before it started" + runs.carried_note(run.detail))
        executable = data.get("executable")
        if isinstance(executable, dict) and isinstance(executable.get("number"), int):
            return await self._poll_build(target, executable["number"], note=runs.carried_note(run.detail))
        return runs.waiting(item, data.get("why"), run.url)

    async def _poll_build(self, target: DeployTarget, number: int, *, note: str) -> PipelineRun:
        job = job_path(target.job, target.service)
        data = await self.api.get_json(f"{job}/{number}/api/json", params={"tree": runs.BUILD_TREE},
                                       operation=f"get build #{number} of job {target.job}",
                                       missing=f"Jenkins has no build #{number} of job {target.job} (404)")
        return runs.build_run(data or {}, note=note)

    async def cancel(self, target: DeployTarget, run: PipelineRun) -> None:
        item = runs.queued_item(run.id)
        if item is None:
            await self._stop(target, int(run.id))
            return
        operation = f"cancel Jenkins queue item {item}"
        response = await self.api.post("/queue/cancelItem", params={"id": item}, operation=operation,
                                       idempotent=True, allow=(302, 303))
        if response.status_code != 404:
            self.api.check(response, operation)
        # It may have left the queue for an executor meanwhile: then stop the build it became.
        now = await self.poll(target, PipelineRun(run.id, RunState.QUEUED, run.url))
        if not now.id.startswith(runs.QUEUE_PREFIX) and not now.state.finished:
            await self._stop(target, int(now.id))

    async def _stop(self, target: DeployTarget, number: int) -> None:
        job = job_path(target.job, target.service)
        operation = f"stop build #{number} of job {target.job}"
        response = await self.api.post(f"{job}/{number}/stop", operation=operation, idempotent=True,
                                       allow=(302, 303))
        self.api.check(response, operation, missing=f"Jenkins has no build #{number} of job {target.job} (404)")

    async def report(self, target: DeployTarget, run: PipelineRun | None, state: str, description: str) -> None:
        """Nothing to mirror: Jenkins keeps no deployment records (the build itself is the record)."""
